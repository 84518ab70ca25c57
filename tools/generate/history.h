// The simulated history behind fourkeys-generate: services with a commit
// chain, pushes, merges, deployment attempts and incidents, and what each of
// them means under the linking rules (worker/README.md, "Linking"). Pure: the
// same options always give the same history, so the deliveries and the
// expectations (expect.h) are two views of one history.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fourkeys::generate {

using Millis = std::int64_t;  // since the Unix epoch, UTC; always whole seconds here

constexpr Millis kSecond = 1000;
constexpr Millis kMinute = 60 * kSecond;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;
// FOURKEYS_ATTRIBUTION_WINDOW's default: the histories are built for it.
constexpr Millis kAttributionWindow = 24 * kHour;

// How a service's events reach the receiver; it decides the service's name
// too, since each source names services its own way.
enum class Family {
  github,    // GitHub webhooks + PagerDuty (its service named like the repository)
  gitlab,    // GitLab webhooks
  api,       // the seed's API: POST /events/deployment and /events/incident
  cdevents,  // CDEvents: service.deployed / rolledback, incident.detected / resolved
};
const char* to_string(Family family);

struct Options {
  std::uint64_t seed = 1;
  Millis now = 0;  // end of the window, whole seconds
  int days = 30;
  int services = 4;
  // Four Keys' generator's shapes: GitHub and GitLab only, production only.
  bool four_keys = false;
};

struct Commit {
  std::string sha;
  Millis time = 0;
  std::string author;
  std::string email;
  int utc_offset_minutes = 0;  // the author's zone, as commit timestamps carry it
  std::string message;
};

struct Merge {
  int number = 0;           // pull / merge request number
  std::string branch;       // the source branch
  std::string title;
  Millis opened_at = 0;
};

// Commits chain[first..last] pushed to the default branch at `time`; the
// last one is the new head. `merge` when the push is a merged request whose
// merge commit is the last commit.
struct Push {
  int first = 0;
  int last = 0;
  Millis time = 0;
  std::optional<Merge> merge;
};

enum class AttemptKind { forward, redeploy, rollback };

struct Attempt {
  std::string environment;
  AttemptKind kind = AttemptKind::forward;
  Millis started_at = 0;
  Millis finished_at = 0;
  std::string status;  // "success" or "failure"
  int head = -1;       // index into the chain; -1 for CDEvents (no commit)
  bool flagged_rollback = false;
  bool hotfix = false;
  std::int64_t number = 0;  // the sender's deployment id / job id

  // What the attempt means, filled by the simulation (successes only).
  std::vector<int> changes;  // chain indices it brought to its environment first
  bool rollback = false;     // flagged, or an older commit deployed again after another one
  bool caused_incident = false;
};

enum class IncidentSource { github_issue, pagerduty, gitlab_issue, api, cdevents };

struct Incident {
  IncidentSource source = IncidentSource::api;
  std::string environment;
  std::string id;        // PagerDuty id, API incident id, CDEvents subject id
  int number = 0;        // issue number (GitHub, GitLab)
  std::string title;
  std::string severity;  // "high", "low", "SEV2", ...
  Millis opened_at = 0;
  std::optional<Millis> acknowledged_at;
  std::optional<Millis> first_resolved_at;  // PagerDuty: resolved, then reopened at reopened_at
  std::optional<Millis> reopened_at;
  std::optional<Millis> resolved_at;        // the final resolution; none while open
  int root_cause = -1;          // chain index named as the cause, or -1
  std::string root_cause_text;  // the sha or the prefix of it the sender writes

  // Filled by the simulation.
  int attempt = -1;          // index into Service::attempts it is attributed to
  std::string attribution;   // "root_cause", "window" or empty
};

struct Service {
  std::string name;  // as every source of its family names it
  Family family = Family::github;
  std::vector<std::string> environments;
  std::int64_t project_id = 0;   // GitHub repository / GitLab project id
  std::string pagerduty_service_id;
  std::string pagerduty_policy_id;
  std::vector<Commit> chain;     // the default branch, oldest first
  std::vector<Push> pushes;      // in time order (empty for api and cdevents)
  std::vector<Attempt> attempts;  // every environment, in the order they finished
  std::vector<Incident> incidents;  // in the order they opened
};

struct History {
  Options options;
  Millis from = 0;  // now - days
  Millis to = 0;    // now
  std::vector<Service> services;
};

History simulate(const Options& options);

// Random choices that do not depend on the standard library's distribution
// algorithms (which differ between implementations), so that a seed gives
// the same history wherever the program is built.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() { return engine_(); }
  // In [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi);
  // In [0, 1).
  double unit();
  bool chance(double p) { return unit() < p; }
  std::string hex(std::size_t digits);
  std::string uuid();
  // Upper-case letters and digits, as PagerDuty ids.
  std::string alnum(std::size_t length);
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(items.size()) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace fourkeys::generate

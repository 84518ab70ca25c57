// The service map (FOURKEYS_SERVICE_MAP): which repositories, GitLab
// projects, monorepo paths, PagerDuty services and CDEvents sources make up
// each service, which team owns it, and which environment names mean the
// same environment. examples/service-map.yaml shows the format; each key is
// described where it is read (service_map.cc).
//
// A map is read once, checked whole, and then only read: every lookup is
// const and safe from any thread. Reloading (SIGHUP) builds a new map and
// swaps a shared_ptr, so a delivery sees one map from start to end.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fourkeys::parser {

// A map that cannot be used. what() names the file, the line and column
// (1-based) and what is wrong, e.g.
//   "service map map.yaml line 7, column 5: unknown key \"pagerduty_id\" in
//    service \"checkout\" (allowed: ...)".
class ServiceMapError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a deployment sent for a monorepo names the service it deploys: by the
// sender's environment name, the GitHub deployment task or its payload's
// "service", or the name of the workflow that ran it. Any one match is
// enough.
struct DeploymentMatch {
  std::vector<std::string> environments;
  std::vector<std::string> tasks;
  std::vector<std::string> workflows;
  bool empty() const { return environments.empty() && tasks.empty() && workflows.empty(); }
};

struct MappedService {
  std::string name;
  std::string team;                   // empty: no team
  std::vector<std::string> github;    // "owner/name"
  std::vector<std::string> gitlab;    // project paths "group/sub/project"
  std::vector<std::string> paths;     // path prefixes inside those repositories (monorepo); empty: all
  DeploymentMatch deployments;
  std::vector<std::string> pagerduty; // service ids or names
  std::vector<std::string> cdevents;  // CDEvents context.source values

  // True when a file at `path` (repository-relative) belongs to this
  // service: no paths are given, or one of them is a prefix of it.
  bool owns_path(std::string_view path) const;
};

class ServiceMap {
 public:
  // Reads and checks a YAML file. Throws ServiceMapError.
  static std::shared_ptr<const ServiceMap> load_file(const std::string& path);
  // Checks YAML text; `origin` names it in errors. Throws ServiceMapError.
  static std::shared_ptr<const ServiceMap> parse(std::string_view yaml, const std::string& origin);

  const std::vector<MappedService>& services() const { return services_; }
  const MappedService* find(std::string_view name) const;

  // The services built from a repository: `source` is "github" or
  // "gitlab", `repository` the full name or project path (compared without
  // regard to case, as both hosts do). Several only for a monorepo, and
  // then every one of them has `paths`.
  std::vector<const MappedService*> services_of_repository(std::string_view source,
                                                           std::string_view repository) const;
  // The service a PagerDuty service id or name belongs to, or null.
  const MappedService* service_of_pagerduty(std::string_view id, std::string_view name) const;
  // The service a CDEvents source belongs to, or null.
  const MappedService* service_of_cdevents(std::string_view source) const;

  // The environment's canonical name: an alias's target, else the name
  // as sent.
  std::string environment(std::string_view name) const;
  // Environments whose deployments and incidents count in the metrics.
  const std::vector<std::string>& counted_environments() const { return counted_; }
  bool counted(std::string_view environment) const;

 private:
  ServiceMap() = default;
  friend class ServiceMapReader;

  std::vector<MappedService> services_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_repository_;  // "github:owner/name" lower case
  std::unordered_map<std::string, std::size_t> by_pagerduty_;               // id or lower-case name
  std::unordered_map<std::string, std::size_t> by_cdevents_;
  std::unordered_map<std::string, std::string> aliases_;                    // alias -> canonical
  std::vector<std::string> counted_{"production"};
};

// The map in use, swapped whole when it is reloaded (SIGHUP): a reader
// takes one map and keeps it for a whole delivery. Safe from any thread.
class ServiceMapSlot {
 public:
  std::shared_ptr<const ServiceMap> get() const { return map_.load(); }
  void set(std::shared_ptr<const ServiceMap> map) { map_.store(std::move(map)); }

 private:
  std::atomic<std::shared_ptr<const ServiceMap>> map_;
};

}  // namespace fourkeys::parser

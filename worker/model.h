// The worker's rows, in memory. Two families:
//
// - Base rows: what one envelope says, written by the apply stage, keyed by
//   the envelope id, never changed afterwards (a redelivery writes nothing).
// - Derived rows: what a service's whole history means (which deployment
//   brought which commit, which incident a deployment caused). They are a
//   pure function of the base rows of one service (derive_service in
//   linker.h), so recomputing them after any batch, in any order of
//   arrival, gives the same rows as a full rebuild.
//
// Times are milliseconds since the Unix epoch, UTC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fourkeys::worker {

using Millis = std::int64_t;

// ---- base rows ------------------------------------------------------------

// A commit, or the merge commit of a merged pull/merge request. Table `changes`.
struct ChangeRow {
  std::string change_id;  // the commit sha
  Millis time_created = 0;  // commit time (merged_at for a merge commit)
  std::string source;       // github, gitlab, ...
  std::string event_type;   // push, pull_request, Merge Request Hook, ...
  std::string event_id;     // envelope that told us
  std::string repository;
  std::string author;
  std::string title;
};

// One push: `before` → commits (oldest first) → `after`. Table `pushes`.
struct PushRow {
  std::string event_id;
  std::string repository;
  std::string ref;
  std::string before;  // empty, or all zeros, for a new branch
  std::string after;
  std::vector<std::string> commit_shas;  // oldest first, as senders list them
  Millis time_created = 0;               // the envelope's occurred_at
};

// One deployment status report. Several reports (queued, in_progress,
// success) share a deploy_id. Table `deployment_events`.
struct DeploymentEventRow {
  std::string event_id;
  std::string source;
  std::string event_type;
  std::string environment;  // never empty ("production" by default)
  std::string deploy_id;    // "<source>:<sender's id>", or the envelope id when the sender gave none
  std::string sha;          // may be empty
  std::string status;       // success, failure, error, in_progress, queued, cancelled
  std::optional<Millis> started_at;
  std::optional<Millis> finished_at;
  Millis time_created = 0;  // the envelope's occurred_at
  bool is_rollback = false;
  bool is_hotfix = false;
  std::vector<std::string> additional_shas;
  std::optional<Millis> commit_time;  // the sender's own commit time (seed API bodies)
  std::string repository;
};

// One incident status report. Table `incident_events`.
struct IncidentEventRow {
  std::string event_id;
  std::string source;
  std::string event_type;
  std::string incident_id;  // the sender's id (PagerDuty id, "owner/repo#12", ...)
  std::string status;       // open, acknowledged, resolved
  std::optional<Millis> created_at;
  std::optional<Millis> resolved_at;
  Millis time_created = 0;  // the envelope's occurred_at
  std::string root_cause_sha;
  std::string severity;
  std::string title;
  std::string environment;  // "production" when empty
};

// Everything stored about one service, the input of derive_service.
struct ServiceHistory {
  std::string service;
  std::vector<ChangeRow> changes;
  std::vector<PushRow> pushes;
  std::vector<DeploymentEventRow> deployment_events;
  std::vector<IncidentEventRow> incident_events;
};

// ---- derived rows ---------------------------------------------------------

// One deployment (all reports of a deploy_id folded together). Table
// `deployment_attempts`; the `deployments` view shows the successful ones.
struct DeploymentRow {
  std::string deploy_id;
  std::string source;
  std::string environment;
  std::string status;  // the final status
  std::string main_commit;  // deployed sha, may be empty
  std::string repository;
  Millis deployed_at = 0;  // finish time (the final report's time when the sender gave none)
  std::optional<Millis> started_at;
  std::optional<Millis> commit_time;  // time of main_commit when known
  bool rollback_flagged = false;      // the sender said so
  bool rollback_detected = false;     // main_commit was deployed before, then a newer one
  bool is_hotfix = false;
  bool caused_incident = false;       // an incident is attributed to it
  int change_count = 0;

  bool operator==(const DeploymentRow&) const = default;
};

// A change that a successful deployment brought to its environment for the
// first time. Table `deployment_changes`.
struct DeploymentChangeRow {
  std::string deploy_id;
  std::string environment;
  std::string change_id;
  Millis commit_time = 0;
  Millis deployed_at = 0;
  double lead_time_seconds = 0;  // deployed_at - commit_time; may be negative (clock skew)

  bool operator==(const DeploymentChangeRow&) const = default;
};

// One incident (all reports folded together). Table `incidents`.
struct IncidentRow {
  std::string source;
  std::string incident_id;
  std::string environment;
  std::string status;  // the latest status
  std::string severity;
  std::string title;
  std::string root_cause_sha;
  Millis time_created = 0;
  std::optional<Millis> time_acknowledged;
  std::optional<Millis> time_resolved;  // cleared by a later reopen
  std::string deploy_id;    // the deployment it is attributed to, or empty
  std::string attribution;  // "root_cause", "window", or empty

  bool operator==(const IncidentRow&) const = default;
};

struct DerivedService {
  std::string service;
  std::vector<DeploymentRow> deployments;  // every attempt, any status
  std::vector<DeploymentChangeRow> deployment_changes;
  std::vector<IncidentRow> incidents;
};

struct LinkSettings {
  // An incident without a known root cause is attributed to the last
  // successful deployment of its service and environment that finished at
  // most this long before it opened. 0 turns window attribution off.
  Millis attribution_window = 24LL * 3600 * 1000;
  // What a pruned linking state keeps (ServiceLinker::prune): everything
  // from the UTC midnight at or before this long before the service's
  // latest deployment. Older rows are final: an event that would change
  // them makes the worker read the service from Postgres again. Longer
  // keeps more in memory and declines less often for late events.
  Millis keep_linked = 6LL * 3600 * 1000;
  // prune() forgets nothing until at least this many deployments can go, so
  // its cost (a pass over the state) is paid once per that many.
  std::size_t prune_at_deployments = 8;
};

}  // namespace fourkeys::worker

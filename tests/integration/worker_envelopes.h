// Envelopes for worker tests, built with the receiver's own Envelope type
// and writer, so they are exactly what the receiver publishes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fourkeys::testing {

struct TestCommit {
  std::string sha;
  std::string time;  // RFC 3339
};

std::string push_envelope(const std::string& id, const std::string& service, const std::string& before,
                          const std::string& after, const std::vector<TestCommit>& commits);

// A merged pull request whose merge commit is `merge_sha`.
std::string merge_envelope(const std::string& id, const std::string& service, const std::string& merge_sha,
                           const std::string& merged_at);

struct TestDeployment {
  std::string deploy_id;  // the sender's id ("" = none)
  std::string sha;
  std::string status = "success";
  std::string finished_at;
  std::string environment = "production";
  bool is_rollback = false;
  bool is_hotfix = false;
  std::string commit_time;  // optional
  std::vector<std::string> additional_shas;
};

std::string deployment_envelope(const std::string& id, const std::string& service, const TestDeployment& d);

inline TestDeployment deployed(std::string deploy_id, std::string sha, std::string status, std::string finished_at) {
  TestDeployment d;
  d.deploy_id = std::move(deploy_id);
  d.sha = std::move(sha);
  d.status = std::move(status);
  d.finished_at = std::move(finished_at);
  return d;
}

struct TestIncident {
  std::string incident_id;
  std::string status = "open";  // open, acknowledged, resolved
  std::string created_at;
  std::string resolved_at;      // optional
  std::string occurred_at;      // defaults to resolved_at or created_at
  std::string root_cause_sha;   // optional
  std::string environment = "production";
};

std::string incident_envelope(const std::string& id, const std::string& service, const TestIncident& i);

// `envelope` with its team set (as the receiver does with a service map),
// and its received_at moved by `received_offset_ms` when that is not 0.
std::string with_team(const std::string& envelope, const std::string& team, long long received_offset_ms = 0);

inline TestIncident incident(std::string incident_id, std::string status, std::string created_at,
                             std::string resolved_at = "") {
  TestIncident i;
  i.incident_id = std::move(incident_id);
  i.status = std::move(status);
  i.created_at = std::move(created_at);
  i.resolved_at = std::move(resolved_at);
  return i;
}

}  // namespace fourkeys::testing

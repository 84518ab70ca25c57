#include "tests/integration/worker_envelopes.h"

#include "common/crypto.h"
#include "common/time.h"
#include "parser/envelope.h"

#include <boost/json.hpp>

namespace fourkeys::testing {
namespace {

parser::Envelope base(const std::string& id, const std::string& service, const std::string& source_event,
                      parser::Kind kind, const std::string& occurred_at) {
  parser::Envelope e;
  e.id = id;
  e.source = id.substr(0, id.find(':'));
  e.source_event = source_event;
  e.kind = kind;
  e.service = service;
  e.repository = service;
  e.received_at = format_time(now_millis());
  e.occurred_at = occurred_at;
  e.signature = std::string(40, 'a');
  return e;
}

std::string normalized(const std::string& time) {
  if (time.empty()) return time;
  return format_time(parse_time(time)->millis);
}

}  // namespace

std::string push_envelope(const std::string& id, const std::string& service, const std::string& before,
                          const std::string& after, const std::vector<TestCommit>& commits) {
  parser::Change change;
  change.ref = "refs/heads/main";
  change.before = before;
  change.after = after;
  std::string latest;
  for (const auto& c : commits) {
    change.commits.push_back({c.sha, normalized(c.time), "dev", "change " + c.sha, {}});
    latest = std::max(latest, normalized(c.time));
  }
  auto e = base(id, service, "push", parser::Kind::change, latest.empty() ? format_time(now_millis()) : latest);
  e.change = change;
  return parser::serialize_envelope(e, R"({"test":"push"})");
}

std::string merge_envelope(const std::string& id, const std::string& service, const std::string& merge_sha,
                           const std::string& merged_at) {
  parser::Change change;
  change.number = 7;
  change.merge_sha = merge_sha;
  change.created_at = normalized(merged_at);
  change.merged_at = normalized(merged_at);
  change.base_ref = "main";
  auto e = base(id, service, "pull_request", parser::Kind::change, normalized(merged_at));
  e.change = change;
  return parser::serialize_envelope(e, R"({"test":"merge"})");
}

std::string deployment_envelope(const std::string& id, const std::string& service, const TestDeployment& d) {
  parser::Deployment dep;
  dep.id = d.deploy_id;
  dep.environment = d.environment;
  dep.sha = d.sha;
  dep.status = d.status;
  dep.finished_at = normalized(d.finished_at);
  dep.is_rollback = d.is_rollback;
  dep.is_hotfix = d.is_hotfix;
  dep.commit_time = normalized(d.commit_time);
  dep.additional_shas = d.additional_shas;
  auto e = base(id, service, "deployment_status", parser::Kind::deployment, normalized(d.finished_at));
  e.deployment = dep;
  return parser::serialize_envelope(e, R"({"test":"deployment"})");
}

std::string incident_envelope(const std::string& id, const std::string& service, const TestIncident& i) {
  parser::Incident inc;
  inc.id = i.incident_id;
  inc.status = i.status;
  inc.created_at = normalized(i.created_at);
  inc.resolved_at = normalized(i.resolved_at);
  inc.root_cause_sha = i.root_cause_sha;
  inc.environment = i.environment;
  inc.severity = "SEV1";
  inc.title = "incident " + i.incident_id;
  const std::string occurred =
      !i.occurred_at.empty() ? i.occurred_at : (!i.resolved_at.empty() ? i.resolved_at : i.created_at);
  auto e = base(id, service, "incident." + i.status, parser::Kind::incident, normalized(occurred));
  e.incident = inc;
  return parser::serialize_envelope(e, R"({"test":"incident"})");
}

std::string with_team(const std::string& envelope, const std::string& team, long long received_offset_ms) {
  boost::json::object o = boost::json::parse(envelope).as_object();
  o["team"] = team;
  if (received_offset_ms != 0) {
    o["received_at"] = format_time(parse_time(std::string(o["received_at"].as_string()))->millis + received_offset_ms);
  }
  return boost::json::serialize(o);
}

}  // namespace fourkeys::testing

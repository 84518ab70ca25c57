#include <catch2/catch.hpp>

#include "common/time.h"
#include "worker/linker.h"

#include <algorithm>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using fourkeys::worker::ChangeRow;
using fourkeys::worker::DeploymentChangeRow;
using fourkeys::worker::DeploymentEventRow;
using fourkeys::worker::DeploymentRow;
using fourkeys::worker::derive_service;
using fourkeys::worker::DerivedService;
using fourkeys::worker::IncidentEventRow;
using fourkeys::worker::IncidentRow;
using fourkeys::worker::LinkSettings;
using fourkeys::worker::Millis;
using fourkeys::worker::PushRow;
using fourkeys::worker::ServiceHistory;

namespace {

constexpr Millis kHour = 3600 * 1000;

// ---- building histories ---------------------------------------------------

Millis at(std::string_view text) {
  const auto parsed = fourkeys::parse_time(text);
  REQUIRE(parsed.has_value());
  return parsed->millis;
}

const std::string kNoCommit(40, '0');

ChangeRow change(const std::string& sha, std::string_view time) {
  ChangeRow row;
  row.change_id = sha;
  row.time_created = at(time);
  row.source = "github";
  row.event_type = "push";
  row.event_id = "push-of-" + sha;
  row.repository = "acme/checkout";
  return row;
}

// A push whose head is its last commit, as senders report an ordinary push.
PushRow push(const std::string& event_id, const std::string& before, std::vector<std::string> commits,
             std::string_view time) {
  PushRow row;
  row.event_id = event_id;
  row.repository = "acme/checkout";
  row.ref = "refs/heads/main";
  row.before = before;
  row.after = commits.empty() ? before : commits.back();
  row.commit_shas = std::move(commits);
  row.time_created = at(time);
  return row;
}

DeploymentEventRow report(const std::string& deploy_id, const std::string& status, const std::string& sha,
                          std::string_view time, const std::string& environment = "production") {
  DeploymentEventRow row;
  row.event_id = deploy_id + "/" + status + "@" + std::string(time);
  row.source = "github";
  row.event_type = "deployment_status";
  row.environment = environment;
  row.deploy_id = deploy_id;
  row.sha = sha;
  row.status = status;
  row.time_created = at(time);
  row.repository = "acme/checkout";
  return row;
}

DeploymentEventRow success(const std::string& deploy_id, const std::string& sha, std::string_view time,
                           const std::string& environment = "production") {
  return report(deploy_id, "success", sha, time, environment);
}

IncidentEventRow incident_report(const std::string& incident_id, const std::string& status, std::string_view time) {
  IncidentEventRow row;
  row.event_id = incident_id + "/" + status + "@" + std::string(time);
  row.source = "pagerduty";
  row.event_type = "incident." + status;
  row.incident_id = incident_id;
  row.status = status;
  row.time_created = at(time);
  return row;
}

ServiceHistory history() {
  ServiceHistory h;
  h.service = "checkout";
  return h;
}

LinkSettings window_of(Millis window) {
  LinkSettings settings;
  settings.attribution_window = window;
  return settings;
}

DerivedService derive(const ServiceHistory& h, const LinkSettings& settings = LinkSettings{}) {
  return derive_service(h, settings);
}

// ---- reading results ------------------------------------------------------

const DeploymentRow& deployment(const DerivedService& derived, const std::string& deploy_id) {
  const auto it = std::find_if(derived.deployments.begin(), derived.deployments.end(),
                               [&](const DeploymentRow& row) { return row.deploy_id == deploy_id; });
  REQUIRE(it != derived.deployments.end());
  return *it;
}

// The change ids a deployment brought, sorted.
std::vector<std::string> changes_of(const DerivedService& derived, const std::string& deploy_id) {
  std::vector<std::string> ids;
  for (const DeploymentChangeRow& row : derived.deployment_changes) {
    if (row.deploy_id == deploy_id) ids.push_back(row.change_id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

const DeploymentChangeRow& change_of(const DerivedService& derived, const std::string& deploy_id,
                                     const std::string& change_id) {
  const auto it = std::find_if(
      derived.deployment_changes.begin(), derived.deployment_changes.end(),
      [&](const DeploymentChangeRow& row) { return row.deploy_id == deploy_id && row.change_id == change_id; });
  REQUIRE(it != derived.deployment_changes.end());
  return *it;
}

double lead_time(const DerivedService& derived, const std::string& deploy_id, const std::string& change_id) {
  return change_of(derived, deploy_id, change_id).lead_time_seconds;
}

const IncidentRow& incident(const DerivedService& derived, const std::string& incident_id) {
  const auto it = std::find_if(derived.incidents.begin(), derived.incidents.end(),
                               [&](const IncidentRow& row) { return row.incident_id == incident_id; });
  REQUIRE(it != derived.incidents.end());
  return *it;
}

using Ids = std::vector<std::string>;

// ---- describing results, for whole-output comparisons ---------------------

std::string text_of(const std::optional<Millis>& time) { return time ? std::to_string(*time) : "none"; }

std::string to_string(const DeploymentRow& row) {
  std::ostringstream out;
  out << "deployment " << row.deploy_id << " source=" << row.source << " env=" << row.environment
      << " status=" << row.status << " main=" << row.main_commit << " repo=" << row.repository
      << " deployed_at=" << row.deployed_at << " started_at=" << text_of(row.started_at)
      << " commit_time=" << text_of(row.commit_time) << " rollback_flagged=" << row.rollback_flagged
      << " rollback_detected=" << row.rollback_detected << " hotfix=" << row.is_hotfix
      << " caused_incident=" << row.caused_incident << " changes=" << row.change_count;
  return out.str();
}

std::string to_string(const DeploymentChangeRow& row) {
  std::ostringstream out;
  out << "change " << row.deploy_id << " env=" << row.environment << " id=" << row.change_id
      << " commit_time=" << row.commit_time << " deployed_at=" << row.deployed_at
      << " lead=" << row.lead_time_seconds;
  return out.str();
}

std::string to_string(const IncidentRow& row) {
  std::ostringstream out;
  out << "incident " << row.source << "/" << row.incident_id << " env=" << row.environment
      << " status=" << row.status << " severity=" << row.severity << " title=" << row.title
      << " root_cause=" << row.root_cause_sha << " created=" << row.time_created
      << " acknowledged=" << text_of(row.time_acknowledged) << " resolved=" << text_of(row.time_resolved)
      << " deploy=" << row.deploy_id << " attribution=" << row.attribution;
  return out.str();
}

// Every field of every row, in output order: equal text means equal output.
std::string to_string(const DerivedService& derived) {
  std::ostringstream out;
  out << "service " << derived.service << "\n";
  for (const auto& row : derived.deployments) out << to_string(row) << "\n";
  for (const auto& row : derived.deployment_changes) out << to_string(row) << "\n";
  for (const auto& row : derived.incidents) out << to_string(row) << "\n";
  return out.str();
}

}  // namespace

// ---- changes of a deployment ------------------------------------------------

TEST_CASE("a deployment takes the push chain back to the previous deployment", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:10:00Z"),
               change("c3", "2026-01-05T10:00:00Z"), change("c4", "2026-01-05T10:30:00Z"),
               change("c5", "2026-01-05T10:40:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1", "c2"}, "2026-01-05T09:15:00Z"),
              push("p2", "c2", {"c3"}, "2026-01-05T10:05:00Z"),
              push("p3", "c3", {"c4", "c5"}, "2026-01-05T10:45:00Z")};
  h.deployment_events = {success("D1", "c2", "2026-01-05T09:30:00Z"), success("D2", "c5", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"c1", "c2"});
  CHECK(changes_of(d, "D2") == Ids{"c3", "c4", "c5"});
  CHECK(lead_time(d, "D1", "c1") == 1800);
  CHECK(lead_time(d, "D1", "c2") == 1200);
  CHECK(lead_time(d, "D2", "c3") == 3600);
  CHECK(lead_time(d, "D2", "c4") == 1800);
  CHECK(lead_time(d, "D2", "c5") == 1200);
  CHECK(deployment(d, "D2").change_count == 3);
  CHECK(deployment(d, "D2").commit_time == at("2026-01-05T10:40:00Z"));
  const auto& row = change_of(d, "D2", "c4");
  CHECK(row.environment == "production");
  CHECK(row.commit_time == at("2026-01-05T10:30:00Z"));
  CHECK(row.deployed_at == at("2026-01-05T11:00:00Z"));
}

TEST_CASE("a commit deployed from the middle of a push takes the commits up to it", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:10:00Z"),
               change("c3", "2026-01-05T09:20:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1", "c2", "c3"}, "2026-01-05T09:30:00Z")};
  h.deployment_events = {success("D1", "c2", "2026-01-05T10:00:00Z"), success("D2", "c3", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"c1", "c2"});
  CHECK(changes_of(d, "D2") == Ids{"c3"});
  CHECK(lead_time(d, "D2", "c3") == 6000);
}

TEST_CASE("the first deployment ever takes every reachable commit", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-01T09:00:00Z"), change("c2", "2026-01-02T09:00:00Z"),
               change("c3", "2026-01-03T09:00:00Z"), change("c4", "2026-01-04T09:00:00Z"),
               change("x1", "2026-01-04T10:00:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1"}, "2026-01-01T09:00:00Z"),
              push("p2", "c1", {"c2"}, "2026-01-02T09:00:00Z"),
              push("p3", "c2", {"c3", "c4"}, "2026-01-04T09:00:00Z"),
              // Another branch, never merged: not part of what was deployed.
              push("p4", kNoCommit, {"x1"}, "2026-01-04T10:00:00Z")};
  h.deployment_events = {success("D1", "c4", "2026-01-05T09:00:00Z")};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"c1", "c2", "c3", "c4"});
  CHECK(lead_time(d, "D1", "c1") == 4 * 86400);
  CHECK(deployment(d, "D1").change_count == 4);
}

TEST_CASE("a push's head counts even when its commit list leaves it out", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:10:00Z"),
               change("m1", "2026-01-05T09:20:00Z"), change("c3", "2026-01-05T09:30:00Z")};
  PushRow merge = push("p1", kNoCommit, {"c1", "c2"}, "2026-01-05T09:20:00Z");
  merge.after = "m1";  // a merge commit the sender did not list
  PushRow fast_forward = push("p2", "m1", {}, "2026-01-05T09:40:00Z");
  fast_forward.after = "c3";  // only the branch moved
  h.pushes = {merge, fast_forward};
  h.deployment_events = {success("D1", "c3", "2026-01-05T10:00:00Z")};

  CHECK(changes_of(derive(h), "D1") == Ids{"c1", "c2", "c3", "m1"});
}

TEST_CASE("a commit pushed to two branches keeps both parents", "[linker][changes]") {
  auto h = history();
  h.changes = {change("base", "2026-01-05T08:00:00Z"), change("f1", "2026-01-05T09:00:00Z"),
               change("m1", "2026-01-05T09:05:00Z"), change("x", "2026-01-05T09:10:00Z")};
  h.pushes = {push("p0", kNoCommit, {"base"}, "2026-01-05T08:00:00Z"),
              push("feature", "base", {"f1", "x"}, "2026-01-05T09:10:00Z"),
              push("main", "base", {"m1"}, "2026-01-05T09:05:00Z"),
              push("main-again", "m1", {"x"}, "2026-01-05T09:15:00Z")};
  h.deployment_events = {success("D1", "base", "2026-01-05T08:30:00Z"), success("D2", "x", "2026-01-05T10:00:00Z")};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"base"});
  CHECK(changes_of(d, "D2") == Ids{"f1", "m1", "x"});
}

TEST_CASE("a commit reported twice keeps its earliest time", "[linker][changes]") {
  auto h = history();
  ChangeRow again = change("c1", "2026-01-05T09:30:00Z");
  again.event_id = "a-later-push";
  h.changes = {again, change("c1", "2026-01-05T09:00:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1"}, "2026-01-05T09:00:00Z")};
  h.deployment_events = {success("D1", "c1", "2026-01-05T10:00:00Z")};

  const auto d = derive(h);
  CHECK(lead_time(d, "D1", "c1") == 3600);
  CHECK(deployment(d, "D1").commit_time == at("2026-01-05T09:00:00Z"));
}

TEST_CASE("a merged pull request's merge commit is a change without any push", "[linker][changes]") {
  auto h = history();
  ChangeRow merged = change("merge1", "2026-01-05T10:00:00Z");
  merged.event_type = "pull_request";
  h.changes = {merged};
  h.deployment_events = {success("D1", "merge1", "2026-01-05T12:00:00Z")};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"merge1"});
  CHECK(lead_time(d, "D1", "merge1") == 7200);
  CHECK(deployment(d, "D1").commit_time == at("2026-01-05T10:00:00Z"));
}

TEST_CASE("additional shas are changes unless already brought or unknown", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:30:00Z"),
               change("x", "2026-01-05T08:00:00Z"), change("y", "2026-01-05T08:30:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1"}, "2026-01-05T09:00:00Z"),
              push("p2", "c1", {"c2"}, "2026-01-05T09:30:00Z")};
  DeploymentEventRow first = success("D1", "c1", "2026-01-05T10:00:00Z");
  first.additional_shas = {"y"};
  DeploymentEventRow second = success("D2", "c2", "2026-01-05T11:00:00Z");
  second.additional_shas = {"x", "y", "unknown", "x"};
  h.deployment_events = {first, second};

  const auto d = derive(h);
  CHECK(changes_of(d, "D1") == Ids{"c1", "y"});
  CHECK(changes_of(d, "D2") == Ids{"c2", "x"});
  CHECK(lead_time(d, "D2", "x") == 3 * 3600);
  CHECK(deployment(d, "D2").change_count == 2);
}

TEST_CASE("an API deployment with its own commit time and no pushes counts its commit", "[linker][changes]") {
  auto h = history();
  DeploymentEventRow first = success("api:1", "abc", "2026-01-05T10:00:05Z");
  first.finished_at = at("2026-01-05T10:00:00Z");
  first.commit_time = at("2026-01-05T09:00:00Z");
  DeploymentEventRow second = success("api:2", "def", "2026-01-05T12:00:00Z");
  second.commit_time = at("2026-01-05T11:30:00Z");
  DeploymentEventRow redeploy = success("api:3", "def", "2026-01-05T13:00:00Z");
  redeploy.commit_time = at("2026-01-05T11:30:00Z");
  h.deployment_events = {first, second, redeploy};

  const auto d = derive(h);
  CHECK(changes_of(d, "api:1") == Ids{"abc"});
  CHECK(lead_time(d, "api:1", "abc") == 3600);
  CHECK(deployment(d, "api:1").commit_time == at("2026-01-05T09:00:00Z"));
  CHECK(deployment(d, "api:1").deployed_at == at("2026-01-05T10:00:00Z"));
  CHECK(changes_of(d, "api:2") == Ids{"def"});
  CHECK(lead_time(d, "api:2", "def") == 1800);
  CHECK(changes_of(d, "api:3").empty());
  CHECK(deployment(d, "api:3").change_count == 0);
  CHECK_FALSE(deployment(d, "api:3").rollback_detected);
}

TEST_CASE("a deployment with no known commit counts with no changes", "[linker][changes]") {
  auto h = history();
  h.deployment_events = {success("D1", "", "2026-01-05T10:00:00Z"), success("D2", "unknown", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  REQUIRE(d.deployments.size() == 2);
  CHECK(deployment(d, "D1").change_count == 0);
  CHECK(deployment(d, "D2").change_count == 0);
  CHECK_FALSE(deployment(d, "D2").commit_time.has_value());
  CHECK(d.deployment_changes.empty());
}

TEST_CASE("unsuccessful attempts are kept but bring nothing; the next success takes the commits",
          "[linker][changes][status]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:30:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1", "c2"}, "2026-01-05T09:30:00Z")};
  h.deployment_events = {report("D1", "failure", "c2", "2026-01-05T10:00:00Z"),
                         report("D2", "in_progress", "c2", "2026-01-05T10:30:00Z"),
                         report("D3", "cancelled", "c2", "2026-01-05T10:45:00Z"),
                         success("D4", "c2", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  REQUIRE(d.deployments.size() == 4);
  CHECK(d.deployments[0].deploy_id == "D1");
  CHECK(d.deployments[3].deploy_id == "D4");
  CHECK(deployment(d, "D1").status == "failure");
  CHECK(deployment(d, "D2").status == "in_progress");
  CHECK(deployment(d, "D3").status == "cancelled");
  for (const std::string id : {"D1", "D2", "D3"}) {
    CHECK(deployment(d, id).change_count == 0);
    CHECK(changes_of(d, id).empty());
  }
  CHECK(changes_of(d, "D4") == Ids{"c1", "c2"});
  CHECK(lead_time(d, "D4", "c1") == 7200);
  CHECK_FALSE(deployment(d, "D4").rollback_detected);
}

// ---- folding a deployment's reports -----------------------------------------

TEST_CASE("queued, in_progress and success reports fold into one deployment", "[linker][status]") {
  auto h = history();
  DeploymentEventRow queued = report("D1", "queued", "c1", "2026-01-05T10:00:00Z", "staging");
  queued.source = "gitlab";
  DeploymentEventRow running = report("D1", "in_progress", "", "2026-01-05T10:02:00Z", "staging");
  DeploymentEventRow done = report("D1", "success", "", "2026-01-05T10:10:00Z");
  done.finished_at = at("2026-01-05T10:09:30Z");
  done.repository = "";
  // Reports arrive in any order.
  h.deployment_events = {done, queued, running};

  const auto d = derive(h);
  REQUIRE(d.deployments.size() == 1);
  const auto& row = d.deployments[0];
  CHECK(row.status == "success");
  CHECK(row.source == "gitlab");
  CHECK(row.environment == "production");  // from the report that gave the final status
  CHECK(row.main_commit == "c1");
  CHECK(row.repository == "acme/checkout");
  CHECK(row.started_at == at("2026-01-05T10:00:00Z"));
  CHECK(row.deployed_at == at("2026-01-05T10:09:30Z"));
}

TEST_CASE("a sender's start time wins; without a finish time the final report's time is used", "[linker][status]") {
  auto h = history();
  DeploymentEventRow running = report("D1", "in_progress", "c1", "2026-01-05T10:02:00Z");
  running.started_at = at("2026-01-05T10:01:00Z");
  DeploymentEventRow done = success("D1", "c1", "2026-01-05T10:20:00Z");
  done.started_at = at("2026-01-05T10:01:30Z");
  h.deployment_events = {running, done};

  const auto d = derive(h);
  const auto& row = deployment(d, "D1");
  CHECK(row.started_at == at("2026-01-05T10:01:00Z"));
  CHECK(row.deployed_at == at("2026-01-05T10:20:00Z"));
}

TEST_CASE("a late running report does not undo a final status", "[linker][status]") {
  auto h = history();
  h.deployment_events = {success("D1", "c1", "2026-01-05T11:00:00Z"),
                         report("D1", "in_progress", "c1", "2026-01-05T11:05:00Z"),
                         report("D2", "failure", "c1", "2026-01-05T12:00:00Z")};

  const auto d = derive(h);
  CHECK(deployment(d, "D1").status == "success");
  CHECK(deployment(d, "D1").deployed_at == at("2026-01-05T11:00:00Z"));
  // Only terminal reports: nothing says when it started.
  CHECK_FALSE(deployment(d, "D2").started_at.has_value());
  CHECK(deployment(d, "D2").status == "failure");
}

TEST_CASE("a deployment flagged as rollback by its sender", "[linker][rollback]") {
  auto h = history();
  DeploymentEventRow running = report("D1", "in_progress", "c1", "2026-01-05T10:00:00Z");
  running.is_rollback = true;
  h.deployment_events = {running, success("D1", "c1", "2026-01-05T10:05:00Z"),
                         success("D2", "c2", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  CHECK(deployment(d, "D1").rollback_flagged);
  CHECK_FALSE(deployment(d, "D1").rollback_detected);
  CHECK_FALSE(deployment(d, "D2").rollback_flagged);
}

TEST_CASE("deploying an earlier commit again after a newer one is a detected rollback", "[linker][rollback]") {
  auto h = history();
  h.changes = {change("a", "2026-01-05T09:00:00Z"), change("b", "2026-01-05T09:30:00Z")};
  h.pushes = {push("p1", kNoCommit, {"a"}, "2026-01-05T09:00:00Z"), push("p2", "a", {"b"}, "2026-01-05T09:30:00Z")};

  SECTION("A, B, A: the second A goes back") {
    h.deployment_events = {success("D1", "a", "2026-01-05T10:00:00Z"), success("D2", "b", "2026-01-05T11:00:00Z"),
                           success("D3", "a", "2026-01-05T12:00:00Z")};
    const auto d = derive(h);
    CHECK_FALSE(deployment(d, "D1").rollback_detected);
    CHECK_FALSE(deployment(d, "D2").rollback_detected);
    CHECK(deployment(d, "D3").rollback_detected);
    CHECK_FALSE(deployment(d, "D3").rollback_flagged);
    CHECK(changes_of(d, "D3").empty());
  }
  SECTION("A then A again is a redeploy") {
    h.deployment_events = {success("D1", "a", "2026-01-05T10:00:00Z"), success("D2", "a", "2026-01-05T11:00:00Z")};
    const auto d = derive(h);
    CHECK_FALSE(deployment(d, "D2").rollback_detected);
    CHECK(changes_of(d, "D2").empty());
  }
  SECTION("deploying a commit an earlier deployment brought as a change") {
    h.deployment_events = {success("D1", "b", "2026-01-05T10:00:00Z"), success("D2", "a", "2026-01-05T11:00:00Z")};
    const auto d = derive(h);
    CHECK(changes_of(d, "D1") == Ids{"a", "b"});
    CHECK(deployment(d, "D2").rollback_detected);
  }
  SECTION("a failed attempt in between does not make it a rollback") {
    h.deployment_events = {success("D1", "a", "2026-01-05T10:00:00Z"),
                           report("D2", "failure", "b", "2026-01-05T11:00:00Z"),
                           success("D3", "a", "2026-01-05T12:00:00Z")};
    CHECK_FALSE(deployment(derive(h), "D3").rollback_detected);
  }
}

TEST_CASE("a deployment flagged as hotfix", "[linker]") {
  auto h = history();
  DeploymentEventRow done = success("D1", "c1", "2026-01-05T10:05:00Z");
  done.is_hotfix = true;
  h.deployment_events = {report("D1", "in_progress", "c1", "2026-01-05T10:00:00Z"), done,
                         success("D2", "c2", "2026-01-05T11:00:00Z")};

  const auto d = derive(h);
  CHECK(deployment(d, "D1").is_hotfix);
  CHECK_FALSE(deployment(d, "D2").is_hotfix);
}

TEST_CASE("each environment takes its own changes", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:30:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1", "c2"}, "2026-01-05T09:30:00Z")};
  h.deployment_events = {success("S1", "c2", "2026-01-05T10:00:00Z", "staging"),
                         success("P1", "c2", "2026-01-05T12:00:00Z", "production"),
                         success("S2", "c2", "2026-01-05T13:00:00Z", "staging")};

  const auto d = derive(h);
  CHECK(changes_of(d, "S1") == Ids{"c1", "c2"});
  CHECK(changes_of(d, "P1") == Ids{"c1", "c2"});
  CHECK(changes_of(d, "S2").empty());
  CHECK(lead_time(d, "S1", "c1") == 3600);
  CHECK(lead_time(d, "P1", "c1") == 3 * 3600);
  CHECK(change_of(d, "S1", "c2").environment == "staging");
  CHECK(change_of(d, "P1", "c2").environment == "production");
  CHECK_FALSE(deployment(d, "P1").rollback_detected);
  CHECK_FALSE(deployment(d, "S2").rollback_detected);
}

TEST_CASE("a commit newer than its deployment keeps its negative lead time", "[linker][changes]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T12:00:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1"}, "2026-01-05T12:00:00Z")};
  h.deployment_events = {success("D1", "c1", "2026-01-05T11:00:00Z")};

  CHECK(lead_time(derive(h), "D1", "c1") == -3600);
}

TEST_CASE("a walk stops after ten thousand commits", "[linker][changes]") {
  auto h = history();
  std::vector<std::string> chain;
  for (int i = 0; i < 10'050; ++i) {
    chain.push_back("c" + std::to_string(i));
    h.changes.push_back(change(chain.back(), "2026-01-05T09:00:00Z"));
  }
  h.pushes = {push("p1", kNoCommit, chain, "2026-01-05T09:00:00Z")};
  h.deployment_events = {success("D1", chain.back(), "2026-01-05T10:00:00Z")};

  const auto d = derive(h);
  CHECK(deployment(d, "D1").change_count == 10'000);
  CHECK(d.deployment_changes.size() == 10'000);
}

// ---- incidents ----------------------------------------------------------------

TEST_CASE("an incident's reports fold: opened, acknowledged, resolved", "[linker][incidents]") {
  auto h = history();
  IncidentEventRow opened = incident_report("PD1", "open", "2026-01-05T10:00:00Z");
  opened.created_at = at("2026-01-05T09:58:00Z");
  opened.severity = "sev2";
  opened.title = "checkout errors";
  IncidentEventRow acknowledged = incident_report("PD1", "acknowledged", "2026-01-05T10:05:00Z");
  acknowledged.severity = "sev1";
  IncidentEventRow resolved = incident_report("PD1", "resolved", "2026-01-05T11:00:00Z");
  resolved.resolved_at = at("2026-01-05T10:59:00Z");
  h.incident_events = {opened, acknowledged, resolved,
                       incident_report("PD2", "open", "2026-01-05T12:00:00Z"),
                       incident_report("PD2", "resolved", "2026-01-05T12:30:00Z")};

  const auto d = derive(h);
  REQUIRE(d.incidents.size() == 2);
  const auto& first = incident(d, "PD1");
  CHECK(first.source == "pagerduty");
  CHECK(first.status == "resolved");
  CHECK(first.time_created == at("2026-01-05T09:58:00Z"));
  CHECK(first.time_acknowledged == at("2026-01-05T10:05:00Z"));
  CHECK(first.time_resolved == at("2026-01-05T10:59:00Z"));
  CHECK(first.severity == "sev1");
  CHECK(first.title == "checkout errors");
  CHECK(first.environment == "production");
  const auto& second = incident(d, "PD2");
  CHECK(second.time_created == at("2026-01-05T12:00:00Z"));
  CHECK_FALSE(second.time_acknowledged.has_value());
  CHECK(second.time_resolved == at("2026-01-05T12:30:00Z"));
}

TEST_CASE("reopening an incident clears its resolution", "[linker][incidents]") {
  auto h = history();
  h.incident_events = {incident_report("PD1", "open", "2026-01-05T10:00:00Z"),
                       incident_report("PD1", "resolved", "2026-01-05T11:00:00Z"),
                       incident_report("PD1", "open", "2026-01-05T11:30:00Z"),
                       incident_report("PD2", "open", "2026-01-05T10:00:00Z"),
                       incident_report("PD2", "resolved", "2026-01-05T11:00:00Z"),
                       incident_report("PD2", "acknowledged", "2026-01-05T11:30:00Z"),
                       incident_report("PD2", "resolved", "2026-01-05T13:00:00Z")};

  const auto d = derive(h);
  CHECK(incident(d, "PD1").status == "open");
  CHECK_FALSE(incident(d, "PD1").time_resolved.has_value());
  CHECK(incident(d, "PD2").status == "resolved");
  CHECK(incident(d, "PD2").time_resolved == at("2026-01-05T13:00:00Z"));
  CHECK(incident(d, "PD2").time_acknowledged == at("2026-01-05T11:30:00Z"));
}

TEST_CASE("a resolution that arrives before the trigger is read in time order", "[linker][incidents]") {
  auto h = history();
  h.incident_events = {incident_report("PD1", "resolved", "2026-01-05T11:00:00Z"),
                       incident_report("PD1", "open", "2026-01-05T10:00:00Z")};

  const auto d = derive(h);
  const auto& row = incident(d, "PD1");
  CHECK(row.status == "resolved");
  CHECK(row.time_created == at("2026-01-05T10:00:00Z"));
  CHECK(row.time_resolved == at("2026-01-05T11:00:00Z"));
}

TEST_CASE("incidents of different sources with the same id stay apart", "[linker][incidents]") {
  auto h = history();
  IncidentEventRow github = incident_report("1", "open", "2026-01-05T10:00:00Z");
  github.source = "github";
  h.incident_events = {incident_report("1", "resolved", "2026-01-05T11:00:00Z"), github};

  const auto d = derive(h);
  REQUIRE(d.incidents.size() == 2);
  CHECK(d.incidents[0].source == "github");
  CHECK(d.incidents[0].status == "open");
  CHECK(d.incidents[1].source == "pagerduty");
  CHECK(d.incidents[1].status == "resolved");
}

// ---- attribution ----------------------------------------------------------------

TEST_CASE("an incident is attributed to the deployment that brought its root cause", "[linker][attribution]") {
  const std::string a1 = "a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5";
  const std::string a2 = "a2a2a2a2b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5";
  const std::string b1 = "b1b1b1b1b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5";
  auto h = history();
  h.changes = {change(a1, "2026-01-05T09:00:00Z"), change(a2, "2026-01-05T09:10:00Z"),
               change(b1, "2026-01-05T11:00:00Z")};
  h.pushes = {push("p1", kNoCommit, {a1, a2}, "2026-01-05T09:10:00Z"), push("p2", a2, {b1}, "2026-01-05T11:00:00Z")};
  h.deployment_events = {success("D1", a2, "2026-01-05T10:00:00Z"), success("D2", b1, "2026-01-05T12:00:00Z"),
                         success("D3", a2, "2026-01-05T12:30:00Z")};  // a rollback to a2

  auto caused_by = [&](const std::string& id, const std::string& root_cause) {
    IncidentEventRow row = incident_report(id, "open", "2026-01-05T13:00:00Z");
    row.root_cause_sha = root_cause;
    return row;
  };
  h.incident_events = {caused_by("full", a1), caused_by("short", a1.substr(0, 7)),
                       caused_by("main-commit", b1), caused_by("redeployed", a2),
                       caused_by("too-short", a1.substr(0, 6)), caused_by("unknown", "ffffffff")};

  const auto d = derive(h);
  CHECK(incident(d, "full").deploy_id == "D1");
  CHECK(incident(d, "full").attribution == "root_cause");
  CHECK(incident(d, "short").deploy_id == "D1");
  CHECK(incident(d, "short").attribution == "root_cause");
  CHECK(incident(d, "main-commit").deploy_id == "D2");
  CHECK(incident(d, "main-commit").attribution == "root_cause");
  // The earliest deployment that brought it, not the rollback to it.
  CHECK(incident(d, "redeployed").deploy_id == "D1");
  // No match by root cause: the last deployment within the window instead.
  CHECK(incident(d, "too-short").deploy_id == "D3");
  CHECK(incident(d, "too-short").attribution == "window");
  CHECK(incident(d, "unknown").deploy_id == "D3");
  CHECK(incident(d, "unknown").attribution == "window");
  CHECK(deployment(d, "D1").caused_incident);
  CHECK(deployment(d, "D2").caused_incident);
  CHECK(deployment(d, "D3").caused_incident);
}

TEST_CASE("a root cause only a failed attempt or another environment deployed is not matched",
          "[linker][attribution]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z")};
  h.pushes = {push("p1", kNoCommit, {"c1"}, "2026-01-05T09:00:00Z")};
  h.deployment_events = {report("D1", "failure", "c1", "2026-01-05T10:00:00Z"),
                         success("S1", "c1", "2026-01-05T10:30:00Z", "staging")};
  IncidentEventRow row = incident_report("PD1", "open", "2026-01-05T11:00:00Z");
  row.root_cause_sha = "c1";
  h.incident_events = {row};

  const auto d = derive(h);
  CHECK(incident(d, "PD1").deploy_id.empty());
  CHECK(incident(d, "PD1").attribution.empty());
  CHECK_FALSE(deployment(d, "D1").caused_incident);
  CHECK_FALSE(deployment(d, "S1").caused_incident);
}

TEST_CASE("an incident without a root cause goes to the last deployment within the window", "[linker][attribution]") {
  auto h = history();
  h.deployment_events = {success("D1", "c1", "2026-01-05T10:00:00Z"), success("D2", "c2", "2026-01-05T12:00:00Z"),
                         report("D3", "failure", "c3", "2026-01-05T12:15:00Z"),
                         success("S1", "c3", "2026-01-05T12:20:00Z", "staging")};
  IncidentEventRow in_staging = incident_report("staging", "open", "2026-01-05T12:45:00Z");
  in_staging.environment = "staging";
  h.incident_events = {incident_report("after-d2", "open", "2026-01-05T12:30:00Z"),
                       incident_report("after-d1", "open", "2026-01-05T11:00:00Z"),
                       incident_report("before-any", "open", "2026-01-05T09:00:00Z"),
                       incident_report("at-d2", "open", "2026-01-05T12:00:00Z"),
                       incident_report("an-hour-after", "open", "2026-01-05T13:00:00Z"),
                       incident_report("hours-after", "open", "2026-01-05T14:30:00Z"),
                       in_staging};

  SECTION("with a one-hour window") {
    const auto d = derive(h, window_of(kHour));
    CHECK(incident(d, "after-d2").deploy_id == "D2");  // not the failed D3 nor staging's S1
    CHECK(incident(d, "after-d2").attribution == "window");
    CHECK(incident(d, "after-d1").deploy_id == "D1");
    CHECK(incident(d, "at-d2").deploy_id == "D2");
    CHECK(incident(d, "an-hour-after").deploy_id == "D2");  // the window's edge counts
    CHECK(incident(d, "staging").deploy_id == "S1");
    for (const std::string id : {"before-any", "hours-after"}) {
      CHECK(incident(d, id).deploy_id.empty());
      CHECK(incident(d, id).attribution.empty());
    }
    CHECK(deployment(d, "D1").caused_incident);
    CHECK(deployment(d, "D2").caused_incident);
    CHECK(deployment(d, "S1").caused_incident);
    CHECK_FALSE(deployment(d, "D3").caused_incident);
  }
  SECTION("a window of 0 turns it off") {
    const auto d = derive(h, window_of(0));
    for (const auto& row : d.incidents) {
      CHECK(row.deploy_id.empty());
      CHECK(row.attribution.empty());
    }
    for (const auto& row : d.deployments) CHECK_FALSE(row.caused_incident);
  }
  SECTION("the default window is a day") {
    const auto d = derive(h);
    CHECK(incident(d, "hours-after").deploy_id == "D2");
    CHECK(incident(d, "before-any").deploy_id.empty());
  }
}

TEST_CASE("root cause attribution works with the window off", "[linker][attribution]") {
  auto h = history();
  h.changes = {change("c1", "2026-01-01T09:00:00Z")};
  h.deployment_events = {success("D1", "c1", "2026-01-01T10:00:00Z")};
  IncidentEventRow row = incident_report("PD1", "open", "2026-01-20T10:00:00Z");
  row.root_cause_sha = "c1";
  h.incident_events = {row};

  const auto d = derive(h, window_of(0));
  CHECK(incident(d, "PD1").deploy_id == "D1");
  CHECK(incident(d, "PD1").attribution == "root_cause");
  CHECK(deployment(d, "D1").caused_incident);
}

// ---- determinism ----------------------------------------------------------------

namespace {

// A history that touches every rule, with ties in time broken only by ids.
ServiceHistory busy_history() {
  auto h = history();
  h.changes = {change("c1", "2026-01-05T09:00:00Z"), change("c2", "2026-01-05T09:10:00Z"),
               change("c3", "2026-01-05T10:00:00Z"), change("c4", "2026-01-05T10:30:00Z"),
               change("c5", "2026-01-05T10:40:00Z"), change("f1", "2026-01-05T10:20:00Z"),
               change("x", "2026-01-05T08:00:00Z"), change("merge1", "2026-01-05T13:00:00Z")};
  ChangeRow again = change("c3", "2026-01-05T10:50:00Z");
  again.event_id = "another-push";
  h.changes.push_back(again);
  h.pushes = {push("p1", kNoCommit, {"c1", "c2"}, "2026-01-05T09:15:00Z"),
              push("p2", "c2", {"c3"}, "2026-01-05T10:05:00Z"),
              push("p3", "c3", {"c4", "c5"}, "2026-01-05T10:45:00Z"),
              push("feature", "c2", {"f1", "c5"}, "2026-01-05T10:45:00Z")};

  DeploymentEventRow queued = report("D2", "queued", "c5", "2026-01-05T11:00:00Z");
  DeploymentEventRow running = report("D2", "in_progress", "", "2026-01-05T11:00:00Z");
  DeploymentEventRow done = success("D2", "", "2026-01-05T11:10:00Z");
  done.additional_shas = {"x", "unknown"};
  DeploymentEventRow api = success("api:1", "sha-api", "2026-01-05T14:00:00Z");
  api.commit_time = at("2026-01-05T13:30:00Z");
  DeploymentEventRow hotfix = success("D6", "merge1", "2026-01-05T14:00:00Z");
  hotfix.is_hotfix = true;
  h.deployment_events = {success("D1", "c2", "2026-01-05T09:30:00Z"),
                         queued,
                         running,
                         done,
                         report("D3", "failure", "c5", "2026-01-05T11:30:00Z"),
                         success("D4", "c2", "2026-01-05T12:00:00Z"),
                         success("D5", "c2", "2026-01-05T12:30:00Z"),
                         hotfix,
                         api,
                         success("S1", "c5", "2026-01-05T11:05:00Z", "staging"),
                         success("S2", "c5", "2026-01-05T11:05:00Z", "staging")};

  IncidentEventRow rooted = incident_report("PD1", "open", "2026-01-05T12:40:00Z");
  rooted.root_cause_sha = "c4";
  IncidentEventRow acknowledged = incident_report("PD1", "acknowledged", "2026-01-05T12:40:00Z");
  IncidentEventRow staging = incident_report("PD3", "open", "2026-01-05T11:20:00Z");
  staging.environment = "staging";
  h.incident_events = {rooted,
                       acknowledged,
                       incident_report("PD1", "resolved", "2026-01-05T13:00:00Z"),
                       incident_report("PD2", "open", "2026-01-05T14:10:00Z"),
                       incident_report("PD2", "resolved", "2026-01-05T14:20:00Z"),
                       incident_report("PD2", "open", "2026-01-05T14:30:00Z"),
                       staging};
  return h;
}

bool is_in_output_order(const DerivedService& derived) {
  const auto& deployments = derived.deployments;
  const auto& changes = derived.deployment_changes;
  const auto& incidents = derived.incidents;
  return std::is_sorted(deployments.begin(), deployments.end(),
                        [](const DeploymentRow& a, const DeploymentRow& b) {
                          return std::tie(a.deployed_at, a.deploy_id) < std::tie(b.deployed_at, b.deploy_id);
                        }) &&
         std::is_sorted(changes.begin(), changes.end(),
                        [](const DeploymentChangeRow& a, const DeploymentChangeRow& b) {
                          return std::tie(a.deployed_at, a.deploy_id, a.change_id) <
                                 std::tie(b.deployed_at, b.deploy_id, b.change_id);
                        }) &&
         std::is_sorted(incidents.begin(), incidents.end(), [](const IncidentRow& a, const IncidentRow& b) {
           return std::tie(a.source, a.incident_id) < std::tie(b.source, b.incident_id);
         });
}

template <typename Rows>
void shuffle(Rows& rows, std::mt19937& random) {
  std::shuffle(rows.begin(), rows.end(), random);
}

}  // namespace

TEST_CASE("the result does not depend on the order of the rows", "[linker][determinism]") {
  const ServiceHistory original = busy_history();
  const DerivedService expected = derive(original);
  const std::string expected_text = to_string(expected);

  // The history exercises what it is meant to.
  CHECK(changes_of(expected, "D2") == Ids{"c3", "c4", "c5", "f1", "x"});
  CHECK(deployment(expected, "D5").rollback_detected == false);
  CHECK(deployment(expected, "D4").rollback_detected);
  CHECK(incident(expected, "PD1").deploy_id == "D2");
  CHECK(incident(expected, "PD1").time_acknowledged == at("2026-01-05T12:40:00Z"));
  CHECK(incident(expected, "PD3").deploy_id == "S2");
  CHECK(changes_of(expected, "S1") == Ids{"c1", "c2", "c3", "c4", "c5", "f1"});
  CHECK(changes_of(expected, "S2").empty());
  CHECK(is_in_output_order(expected));

  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 random(seed);
    ServiceHistory shuffled = original;
    shuffle(shuffled.changes, random);
    shuffle(shuffled.pushes, random);
    shuffle(shuffled.deployment_events, random);
    shuffle(shuffled.incident_events, random);
    for (auto& event : shuffled.deployment_events) shuffle(event.additional_shas, random);
    INFO("seed " << seed);
    CHECK(to_string(derive(shuffled)) == expected_text);
  }
}

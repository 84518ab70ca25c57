// Every CDEvents conformance fixture, in binary and in structured mode.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "common/crypto.h"
#include "parser/cdevents/cdevents_test_support.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"

namespace fourkeys::parser {
namespace {

using cdevents_test::run_binary;
using cdevents_test::run_structured;

struct Expected {
  Disposition disposition;
  std::string source_event;
  Kind kind = Kind::other;
  std::string id;
  std::string occurred_at;
  std::string service;
  std::string repository;
};

const std::string kChangeId = "cdevents:271069a8-fc18-44f1-b38f-9d70a1695819";
const std::string kIncidentId = "cdevents:F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708";
const std::string kChangeTime = "2023-03-20T14:27:05.315Z";  // 14:27:05.315384Z, truncated
const std::string kIncidentTime = "2022-11-11T13:52:20.079Z";

const std::map<std::string, Expected>& expectations() {
  static const std::map<std::string, Expected> table = {
      {"cdevents/v0.4.1/change_created.json",
       {Disposition::ignored, "dev.cdevents.change.created.0.3.0", Kind::other, "", "", "", ""}},
      {"cdevents/v0.4.1/change_merged.json",
       {Disposition::publish, "dev.cdevents.change.merged.0.2.0", Kind::change, kChangeId,
        kChangeTime, "TestRepo/TestOrg", "TestRepo/TestOrg"}},
      {"cdevents/v0.4.1/service_deployed.json",
       {Disposition::publish, "dev.cdevents.service.deployed.0.2.0", Kind::deployment, kChangeId,
        kChangeTime, "mySubject123", ""}},
      {"cdevents/v0.4.1/service_upgraded.json",
       {Disposition::publish, "dev.cdevents.service.upgraded.0.2.0", Kind::deployment, kChangeId,
        kChangeTime, "mySubject123", ""}},
      {"cdevents/v0.4.1/service_rolledback.json",
       {Disposition::publish, "dev.cdevents.service.rolledback.0.2.0", Kind::deployment, kChangeId,
        kChangeTime, "mySubject123", ""}},
      {"cdevents/v0.4.1/incident_detected.json",
       {Disposition::publish, "dev.cdevents.incident.detected.0.2.0", Kind::incident, kIncidentId,
        kIncidentTime, "myApp", ""}},
      {"cdevents/v0.4.1/incident_reported.json",
       {Disposition::publish, "dev.cdevents.incident.reported.0.2.0", Kind::incident, kIncidentId,
        kIncidentTime, "myApp", ""}},
      {"cdevents/v0.4.1/incident_resolved.json",
       {Disposition::publish, "dev.cdevents.incident.resolved.0.2.0", Kind::incident, kIncidentId,
        kIncidentTime, "myApp", ""}},
      {"cdevents/v0.4.1/pipelinerun_finished.json",
       {Disposition::publish, "dev.cdevents.pipelinerun.finished.0.2.0", Kind::other, kChangeId,
        kChangeTime, "unknown", ""}},
  };
  return table;
}

bool has_default(const Envelope& env, const std::string& name) {
  return std::find(env.defaults.begin(), env.defaults.end(), name) != env.defaults.end();
}

// The kind-specific fields, which depend on the file.
void check_details(const std::string& path, const Envelope& env) {
  if (path.find("change_merged") != std::string::npos) {
    REQUIRE(env.change);
    CHECK(env.change->merged_at == kChangeTime);
    CHECK(env.change->merge_sha.empty());
    CHECK_FALSE(env.change->number);  // subject.id "mySubject123" is not a number
    CHECK(env.change->commits.empty());
    CHECK(env.defaults.empty());
  } else if (path.find("service_") != std::string::npos) {
    REQUIRE(env.deployment);
    CHECK(env.deployment->id == "271069a8-fc18-44f1-b38f-9d70a1695819");
    CHECK(env.deployment->environment == "test123");
    CHECK(env.deployment->status == "success");
    CHECK(env.deployment->sha.empty());  // an artifact purl, not a commit
    CHECK(env.deployment->finished_at == kChangeTime);
    CHECK(env.deployment->started_at.empty());
    CHECK(env.deployment->is_rollback == (path.find("rolledback") != std::string::npos));
    CHECK_FALSE(env.deployment->is_hotfix);
    CHECK(env.defaults.empty());
  } else if (path.find("incident_") != std::string::npos) {
    REQUIRE(env.incident);
    CHECK(env.incident->id == "incident-123");
    CHECK(env.incident->environment == "prod1");
    CHECK(env.incident->root_cause_sha.empty());
    CHECK(env.defaults.empty());
    if (path.find("resolved") != std::string::npos) {
      CHECK(env.incident->status == "resolved");
      CHECK(env.incident->resolved_at == kIncidentTime);
      CHECK(env.incident->created_at.empty());
      CHECK(env.incident->title == "Response time restored below 100ms");
      CHECK(env.incident->severity.empty());
    } else {
      CHECK(env.incident->status == "open");
      CHECK(env.incident->created_at == kIncidentTime);
      CHECK(env.incident->resolved_at.empty());
      CHECK(env.incident->title == "Response time above threshold of 100ms");
      // Only incident.reported's example names a severity (in customData).
      CHECK(env.incident->severity == (path.find("reported") != std::string::npos ? "medium" : ""));
    }
  } else {
    CHECK_FALSE(env.change);
    CHECK_FALSE(env.deployment);
    CHECK_FALSE(env.incident);
    CHECK(has_default(env, "service"));
  }
}

void check_outcome(const std::string& path, const Outcome& out, const std::string& body) {
  const Expected& want = expectations().at(path);
  REQUIRE(out.disposition == want.disposition);
  CHECK(out.source_event == want.source_event);
  if (want.disposition != Disposition::publish) {
    CHECK(out.reason.find("change.created") != std::string::npos);
    return;
  }
  const Envelope& env = out.envelope;
  CHECK(env.id == want.id);
  CHECK(env.source == "cdevents");
  CHECK(env.source_event == want.source_event);
  CHECK(env.kind == want.kind);
  CHECK(env.service == want.service);
  CHECK(env.repository == want.repository);
  CHECK(env.team.empty());
  CHECK(env.received_at == "2023-11-14T22:13:20.000Z");
  CHECK(env.occurred_at == want.occurred_at);
  CHECK(env.signature == sha1_hex(body));
  CHECK(env.raw.is_object());
  check_details(path, env);
}

}  // namespace

TEST_CASE("every CDEvents fixture in binary mode", "[cdevents][fixtures]") {
  const auto fixtures = testing::list_fixtures("cdevents");
  REQUIRE(fixtures.size() == expectations().size());
  for (const auto& path : fixtures) {
    INFO(path);
    REQUIRE(expectations().count(path) == 1);
    const std::string body = testing::read_fixture(path);
    check_outcome(path, run_binary(body), body);
  }
}

TEST_CASE("every CDEvents fixture in structured mode", "[cdevents][fixtures]") {
  for (const auto& path : testing::list_fixtures("cdevents")) {
    INFO(path);
    REQUIRE(expectations().count(path) == 1);
    std::string body;
    const Outcome out = run_structured(testing::read_fixture(path), &body);
    check_outcome(path, out, body);
    if (out.disposition == Disposition::publish) {
      // raw is the whole CloudEvent, as delivered.
      CHECK(out.envelope.raw.as_object().contains("specversion"));
    }
  }
}

TEST_CASE("every published CDEvents envelope satisfies the schema", "[cdevents][schema]") {
  int published = 0;
  for (const auto& path : testing::list_fixtures("cdevents")) {
    INFO(path);
    const std::string body = testing::read_fixture(path);
    for (const Outcome& out : {run_binary(body), run_structured(body)}) {
      if (out.disposition != Disposition::publish) continue;
      ++published;
      CHECK(testing::schema_errors(to_json(out.envelope)).empty());
    }
  }
  CHECK(published == 16);
}

}  // namespace fourkeys::parser

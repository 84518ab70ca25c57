// /events/incident with bodies modeled on the seed's IncidentEvent.
#include <catch2/catch.hpp>

#include "parser/api/api_test_support.h"

namespace fourkeys::parser {

using api_test::has_default;
using api_test::post;
using api_test::post_published;

TEST_CASE("the seed's IncidentEvent, open", "[api][incident]") {
  const std::string body = R"({"incident_id":"INC-1042","service":"checkout","severity":"high",
                               "detected_at":"2024-05-02T12:10:00+00:00"})";
  const Envelope env = post_published("/events/incident", body);
  CHECK(env.source_event == "incident");
  CHECK(env.kind == Kind::incident);
  CHECK(env.service == "checkout");
  CHECK(env.occurred_at == "2024-05-02T12:10:00.000Z");
  REQUIRE(env.incident);
  const Incident& i = *env.incident;
  CHECK(i.id == "INC-1042");
  CHECK(i.status == "open");
  CHECK(i.created_at == "2024-05-02T12:10:00.000Z");
  CHECK(i.resolved_at.empty());
  CHECK(i.severity == "high");
  CHECK(i.title.empty());
  CHECK(i.environment.empty());
  CHECK(i.root_cause_sha.empty());
  CHECK(env.defaults.empty());
}

TEST_CASE("the seed's IncidentEvent, resolved, with the optional fields", "[api][incident]") {
  // The seed's Python client sends datetime.isoformat() of naive UTC times.
  const std::string body = R"({"incident_id":"INC-1042","service":"checkout","severity":"high",
    "detected_at":"2024-05-02T12:10:00.500000","resolved_at":"2024-05-02T13:40:30.250000",
    "title":"Checkout 500s","root_cause_sha":"9f2c1a7e0b3d4c5e6f708192a3b4c5d6e7f80912",
    "environment":"production","team":"payments"})";
  const Envelope env = post_published("/events/incident", body);
  CHECK(env.occurred_at == "2024-05-02T13:40:30.250Z");
  CHECK(env.team == "payments");
  const Incident& i = *env.incident;
  CHECK(i.status == "resolved");
  CHECK(i.created_at == "2024-05-02T12:10:00.500Z");
  CHECK(i.resolved_at == "2024-05-02T13:40:30.250Z");
  CHECK(i.title == "Checkout 500s");
  CHECK(i.root_cause_sha == "9f2c1a7e0b3d4c5e6f708192a3b4c5d6e7f80912");
  CHECK(i.environment == "production");
  CHECK(env.defaults == std::vector<std::string>{"zone"});
}

TEST_CASE("incident tolerance", "[api][incident][tolerance]") {
  SECTION("resolved_at null is an open incident") {
    const Envelope env = post_published(
        "/events/incident",
        R"({"incident_id":"I-1","service":"s","detected_at":"2024-05-02T12:10:00Z","resolved_at":null})");
    CHECK(env.incident->status == "open");
  }
  SECTION("no service: unknown with the default") {
    const Envelope env = post_published(
        "/events/incident", R"({"incident_id":7,"detected_at":"2024-05-02T12:10:00Z"})");
    CHECK(env.incident->id == "7");
    CHECK(env.service == "unknown");
    CHECK(has_default(env, "service"));
  }
  SECTION("a root cause named in the title") {
    const Envelope env = post_published(
        "/events/incident",
        R"({"incident_id":"I-2","detected_at":"2024-05-02T12:10:00Z","title":"Outage, root cause: abcdef123"})");
    CHECK(env.incident->root_cause_sha == "abcdef123");
  }
}

TEST_CASE("incidents without the signal are dead-lettered", "[api][incident][dead_letter]") {
  SECTION("no incident_id") {
    const Outcome out =
        post("/events/incident", R"({"service":"s","detected_at":"2024-05-02T12:10:00Z"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.source_event == "incident");
    CHECK(out.reason.find("incident_id") != std::string::npos);
    CHECK(out.reason.find("detected_at") == out.reason.rfind("detected_at"));
  }
  SECTION("no detected_at") {
    const Outcome out = post("/events/incident", R"({"incident_id":"I","service":"s"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("missing: detected_at") != std::string::npos);
  }
  SECTION("neither") {
    const Outcome out = post("/events/incident", R"({"service":"s","severity":"low"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("missing: incident_id and detected_at") != std::string::npos);
  }
  SECTION("times that are not times") {
    CHECK(post("/events/incident", R"({"incident_id":"I","detected_at":"soon"})").disposition ==
          Disposition::dead_letter);
    CHECK(post("/events/incident",
               R"({"incident_id":"I","detected_at":"2024-05-02T12:10:00Z","resolved_at":"later"})")
              .disposition == Disposition::dead_letter);
  }
}

}  // namespace fourkeys::parser

// Normalization of every PagerDuty fixture, plus the tolerance cases.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "common/crypto.h"
#include "parser/pagerduty/pagerduty_source.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"

namespace fourkeys::parser {
namespace {

constexpr std::int64_t kReceivedAt = 1700000000000;  // 2023-11-14T22:13:20.000Z
constexpr const char* kReceivedAtText = "2023-11-14T22:13:20.000Z";

NormalizeOptions options() {
  NormalizeOptions o;
  o.received_at_millis = kReceivedAt;
  return o;
}

Outcome run(const std::string& body,
            const Headers& headers = {{"Content-Type", "application/json"}}) {
  return normalize_pagerduty(Delivery{"/webhooks/pagerduty", headers, body}, options());
}

bool has_default(const Envelope& env, const std::string& name) {
  return std::find(env.defaults.begin(), env.defaults.end(), name) != env.defaults.end();
}

// What each fixture must become; values read from the fixture files.
struct Expected {
  Disposition disposition;
  std::string source_event;
  std::string id;
  std::string occurred_at;
  std::string service;
  std::string incident_id;
  std::string status;
  std::string created_at;
  std::string resolved_at;
  std::string severity;
  std::string title;
};

const std::map<std::string, Expected>& expectations() {
  static const std::map<std::string, Expected> table = {
      {"pagerduty/v3/incident.triggered.zulip.json",
       {Disposition::publish, "incident.triggered", "pagerduty:01BZYIL05THJDFF2Y08X9SVMTU",
        "2021-06-04T13:35:29.781Z", "pig208", "PFQZPSY", "open",
        // No data.created_at in the delivery: the trigger time is the creation.
        "2021-06-04T13:35:29.781Z", "", "high", "Test Incident 3"}},
      {"pagerduty/v3/incident.acknowledged.zulip.json",
       {Disposition::publish, "incident.acknowledged", "pagerduty:01BZYK8N47N5JG55J1EEEHPEJI",
        "2021-06-04T13:55:30.394Z", "pig208", "PQ1K5C8", "acknowledged", "", "", "high",
        "Test Incident"}},
      {"pagerduty/v3/incident.resolved.zulip.json",
       {Disposition::publish, "incident.resolved", "pagerduty:01BZYH1JJY09P9LEIST8HG2PMN",
        "2021-06-04T13:16:53.816Z", "pig208", "PCPZE64", "resolved", "", "2021-06-04T13:16:53.816Z",
        "high", "Test Incident"}},
      {"pagerduty/v3/incident.reopened.zulip.json",
       {Disposition::publish, "incident.reopened", "pagerduty:01GI0KHLHVH4YZ44BJY1VLT6F2",
        "2026-04-01T02:15:02.274Z", "Default Service", "Q05XJA8GDXGOB3", "open",
        "2026-03-30T13:37:07.000Z", "", "low", "Test Incident 2"}},
      {"pagerduty/v3/incident.priority_updated.go-pagerduty-signed.json",
       {Disposition::ignored, "incident.priority_updated", "", "", "", "", "", "", "", "", ""}},
      {"pagerduty/v3/incident.priority_updated.pagerduty-docs.json",
       {Disposition::ignored, "incident.priority_updated", "", "", "", "", "", "", "", "", ""}},
      {"pagerduty/v3/service.updated.pagerduty-docs.json",
       {Disposition::ignored, "service.updated", "", "", "", "", "", "", "", "", ""}},
      {"pagerduty/v2/incident.trigger.pagerduty-docs.json",
       {Disposition::publish, "incident.trigger", "pagerduty:69a7ced0-a2cd-11e7-a799-22000a15839c",
        "2017-09-26T15:14:36.000Z", "Production XDB Cluster", "PRORDTY", "open",
        "2017-09-26T15:14:36.000Z", "", "high", "My new incident"}},
      {"pagerduty/v2/incident.acknowledge.pagerduty-docs.json",
       {Disposition::publish, "incident.acknowledge",
        "pagerduty:82a33960-a2cd-11e7-8f69-22000affca53", "2017-09-26T15:15:17.000Z",
        "Production XDB Cluster", "PRORDTY", "acknowledged", "2017-09-26T15:14:36.000Z", "", "high",
        "My new incident"}},
      {"pagerduty/v2/incident.resolve.pagerduty-docs.json",
       {Disposition::publish, "incident.resolve", "pagerduty:e82195c0-a2cd-11e7-8f69-22000affca53",
        "2017-09-26T15:18:09.000Z", "Production XDB Cluster", "PRORDTY", "resolved",
        "2017-09-26T15:14:36.000Z", "2017-09-26T15:18:09.000Z", "high", "My new incident"}},
  };
  return table;
}

}  // namespace

TEST_CASE("every PagerDuty fixture normalizes as expected", "[pagerduty][fixtures]") {
  const auto fixtures = testing::list_fixtures("pagerduty");
  REQUIRE(fixtures.size() == expectations().size());
  for (const auto& path : fixtures) {
    INFO(path);
    const auto expected = expectations().find(path);
    REQUIRE(expected != expectations().end());
    const Expected& want = expected->second;
    const std::string body = testing::read_fixture(path);
    const Outcome out = run(body);
    REQUIRE(out.disposition == want.disposition);
    CHECK(out.source_event == want.source_event);
    if (want.disposition != Disposition::publish) {
      CHECK_FALSE(out.reason.empty());
      continue;
    }
    const Envelope& env = out.envelope;
    CHECK(env.id == want.id);
    CHECK(env.source == "pagerduty");
    CHECK(env.source_event == want.source_event);
    CHECK(env.kind == Kind::incident);
    CHECK(env.service == want.service);
    CHECK(env.repository.empty());
    CHECK(env.team.empty());
    CHECK(env.received_at == kReceivedAtText);
    CHECK(env.occurred_at == want.occurred_at);
    CHECK(env.signature == sha1_hex(body));
    CHECK(env.defaults.empty());
    CHECK_FALSE(env.change);
    CHECK_FALSE(env.deployment);
    REQUIRE(env.incident);
    CHECK(env.incident->id == want.incident_id);
    CHECK(env.incident->status == want.status);
    CHECK(env.incident->created_at == want.created_at);
    CHECK(env.incident->resolved_at == want.resolved_at);
    CHECK(env.incident->severity == want.severity);
    CHECK(env.incident->title == want.title);
    CHECK(env.incident->environment.empty());
    CHECK(env.incident->root_cause_sha.empty());
    CHECK(env.raw.is_object());
  }
}

TEST_CASE("every published PagerDuty envelope satisfies the schema", "[pagerduty][schema]") {
  int published = 0;
  for (const auto& path : testing::list_fixtures("pagerduty")) {
    INFO(path);
    const Outcome out = run(testing::read_fixture(path));
    if (out.disposition != Disposition::publish) continue;
    ++published;
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
  CHECK(published == 7);
}

TEST_CASE("ignored PagerDuty events say why", "[pagerduty]") {
  const Outcome out =
      run(testing::read_fixture("pagerduty/v3/service.updated.pagerduty-docs.json"));
  REQUIRE(out.disposition == Disposition::ignored);
  CHECK(out.reason.find("service.updated") != std::string::npos);
}

TEST_CASE("PagerDuty tolerance: missing ids, services and zones", "[pagerduty][tolerance]") {
  SECTION("no event.id and no X-Webhook-Id: the id falls back to the body's SHA-1") {
    const std::string body =
        R"({"event":{"event_type":"incident.triggered","occurred_at":"2024-03-01T10:00:00Z",)"
        R"("data":{"id":"P1","title":"Checkout down","service":{"summary":"checkout"}}}})";
    const Outcome out = run(body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "pagerduty:sha1:" + sha1_hex(body));
    CHECK(has_default(out.envelope, "id"));
    CHECK(out.envelope.service == "checkout");
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
  SECTION("no event.id: X-Webhook-Id, repeated on retries, is the id") {
    const std::string body =
        R"({"event":{"event_type":"incident.triggered","occurred_at":"2024-03-01T10:00:00Z",)"
        R"("data":{"id":"P1"}}})";
    const Headers headers{{"Content-Type", "application/json"}, {"X-Webhook-Id", "wh-123"}};
    const Outcome out = run(body, headers);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "pagerduty:wh-123");
    CHECK_FALSE(has_default(out.envelope, "id"));
  }
  SECTION("no service: unknown, and the default is listed") {
    const std::string body =
        R"({"event":{"id":"E1","event_type":"incident.resolved","occurred_at":"2024-03-01T11:30:00.5Z",)"
        R"("data":{"id":"P1"}}})";
    const Outcome out = run(body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.service == "unknown");
    CHECK(has_default(out.envelope, "service"));
    CHECK(out.envelope.repository.empty());
    CHECK(out.envelope.incident->resolved_at == "2024-03-01T11:30:00.500Z");
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
  SECTION("a time without a zone is UTC, with the zone default") {
    const std::string body =
        R"({"event":{"id":"E2","event_type":"incident.triggered","occurred_at":"2024-03-01T10:00:00",)"
        R"("data":{"id":"P2","created_at":"2024-03-01T09:59:00+02:00","service":{"summary":"s"}}}})";
    const Outcome out = run(body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.occurred_at == "2024-03-01T10:00:00.000Z");
    CHECK(out.envelope.incident->created_at == "2024-03-01T07:59:00.000Z");
    CHECK(has_default(out.envelope, "zone"));
  }
  SECTION("a trigger without occurred_at takes the incident's created_at") {
    const std::string body = R"({"event":{"id":"E3","event_type":"incident.triggered",)"
                             R"("data":{"id":"P3","created_at":"2024-03-01T09:00:00Z"}}})";
    const Outcome out = run(body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.occurred_at == "2024-03-01T09:00:00.000Z");
    CHECK(out.envelope.incident->created_at == "2024-03-01T09:00:00.000Z");
  }
  SECTION("root cause named in the title or the body details") {
    const std::string in_title =
        R"({"event":{"id":"E4","event_type":"incident.triggered","occurred_at":"2024-03-01T10:00:00Z",)"
        R"("data":{"id":"P4","title":"Errors up. Root cause: 9F2C1A7e0b"}}})";
    CHECK(run(in_title).envelope.incident->root_cause_sha == "9f2c1a7e0b");
    const std::string in_details =
        R"({"event":{"id":"E5","event_type":"incident.resolved","occurred_at":"2024-03-01T10:00:00Z",)"
        R"("data":{"id":"P5","title":"Errors","body":{"type":"incident_body",)"
        R"("details":"rolled back\nroot cause: 0123456789abcdef0123456789abcdef01234567"}}}})";
    CHECK(run(in_details).envelope.incident->root_cause_sha ==
          "0123456789abcdef0123456789abcdef01234567");
  }
  SECTION("a v2 delivery with several messages normalizes its first incident message") {
    const std::string body =
        R"({"messages":[{"id":"m1","event":"incident.assign","created_on":"2017-09-26T15:14:00Z",)"
        R"("incident":{"id":"PX"}},)"
        R"({"id":"m2","event":"incident.resolve","created_on":"2017-09-26T15:20:00Z",)"
        R"("incident":{"id":"PX","trigger_summary_data":{"subject":"Disk full"},)"
        R"("service":{"name":"db"}}}]})";
    const Outcome out = run(body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "pagerduty:m2");
    CHECK(out.envelope.source_event == "incident.resolve");
    CHECK(out.envelope.incident->status == "resolved");
    CHECK(out.envelope.incident->resolved_at == "2017-09-26T15:20:00.000Z");
    CHECK(out.envelope.incident->title == "Disk full");
    CHECK(out.envelope.service == "db");
  }
}

TEST_CASE("PagerDuty deliveries without the signal are dead-lettered", "[pagerduty][dead_letter]") {
  SECTION("Four Keys' own test body: no incident id") {
    const Outcome out =
        run(R"({"event": {"id": "foo", "occurred_at": 0, "event_type": "incident.triggered"}})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.source_event == "incident.triggered");
    CHECK(out.reason.find("data.id") != std::string::npos);
  }
  SECTION("a resolution without a time") {
    const Outcome out =
        run(R"({"event":{"id":"E","event_type":"incident.resolved","data":{"id":"P"}}})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("occurred_at") != std::string::npos);
  }
  SECTION("JSON that is neither v3 nor v2") {
    const Outcome out = run(R"({"hello":"world"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("v3") != std::string::npos);
  }
  SECTION("JSON that is not an object") {
    CHECK(run("[1,2,3]").disposition == Disposition::dead_letter);
  }
  SECTION("v2 with no messages") {
    CHECK(run(R"({"messages":[]})").disposition == Disposition::dead_letter);
  }
  SECTION("v2 with only non-incident messages is ignored") {
    const Outcome out =
        run(R"({"messages":[{"id":"m","event":"incident.annotate","incident":{"id":"P"}}]})");
    REQUIRE(out.disposition == Disposition::ignored);
    CHECK(out.source_event == "incident.annotate");
  }
}

TEST_CASE("PagerDuty bodies that are not JSON or not application/json", "[pagerduty]") {
  SECTION("broken JSON is a bad request that says where") {
    const Outcome out = run(R"({"event": {"id": )");
    REQUIRE(out.disposition == Disposition::bad_request);
    CHECK(out.reason.find("byte") != std::string::npos);
  }
  SECTION("another content type is unsupported") {
    const Outcome out =
        run("event=1", Headers{{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(out.disposition == Disposition::unsupported);
  }
  SECTION("no content type and a charset parameter are fine") {
    const std::string body = testing::read_fixture("pagerduty/v3/incident.triggered.zulip.json");
    CHECK(run(body, Headers{}).disposition == Disposition::publish);
    CHECK(run(body, Headers{{"content-type", "application/json; charset=utf-8"}}).disposition ==
          Disposition::publish);
  }
}

}  // namespace fourkeys::parser

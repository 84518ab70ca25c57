// fourkeys-backfill's pure parts: the incidents query, page parsing, the
// retry policy, the range arguments, the incident -> envelope mapping and the
// paging walk (driven by a fake fetch), on JSON shaped like PagerDuty's
// documented `GET /incidents` answers.

#include "common/log.h"
#include "parser/pagerduty/pagerduty_source.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"
#include "tools/backfill/backfill.h"
#include "tools/backfill/incident_mapping.h"
#include "tools/backfill/pagerduty_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace fourkeys;
using namespace fourkeys::backfill;
using namespace std::chrono_literals;

namespace {

// An entry of `GET /incidents` as PagerDuty documents it (list incidents,
// response example), with a root cause named in the description.
const char* kResolvedIncident = R"json({
  "id": "PT4KHLK",
  "type": "incident",
  "summary": "[#1234] The server is on fire.",
  "self": "https://api.pagerduty.com/incidents/PT4KHLK",
  "html_url": "https://subdomain.pagerduty.com/incidents/PT4KHLK",
  "incident_number": 1234,
  "title": "The server is on fire.",
  "description": "The server is on fire. Root cause: 3f2a9c1 (bad config push)",
  "created_at": "2015-10-06T21:30:42Z",
  "updated_at": "2015-10-06T21:40:23Z",
  "status": "resolved",
  "incident_key": "baf7cf21b1da41b4b0221008339ff357",
  "service": {
    "id": "PIJ90N7",
    "type": "service_reference",
    "summary": "My Mail Service",
    "self": "https://api.pagerduty.com/services/PIJ90N7",
    "html_url": "https://subdomain.pagerduty.com/service-directory/PIJ90N7"
  },
  "assignments": [],
  "assigned_via": "escalation_policy",
  "last_status_change_at": "2015-10-06T21:38:23Z",
  "resolved_at": "2015-10-06T21:38:23Z",
  "first_trigger_log_entry": {
    "id": "Q02JTSNZWHSEKV",
    "type": "trigger_log_entry_reference",
    "summary": "Triggered through the API",
    "self": "https://api.pagerduty.com/log_entries/Q02JTSNZWHSEKV?incident_id=PT4KHLK",
    "html_url": "https://subdomain.pagerduty.com/incidents/PT4KHLK/log_entries/Q02JTSNZWHSEKV"
  },
  "alert_counts": {"all": 2, "triggered": 0, "resolved": 2},
  "is_mergeable": true,
  "escalation_policy": {
    "id": "PT20YPA",
    "type": "escalation_policy_reference",
    "summary": "Another Escalation Policy",
    "self": "https://api.pagerduty.com/escalation_policies/PT20YPA",
    "html_url": "https://subdomain.pagerduty.com/escalation_policies/PT20YPA"
  },
  "teams": [
    {
      "id": "PQ9K7I8",
      "type": "team_reference",
      "summary": "Engineering",
      "self": "https://api.pagerduty.com/teams/PQ9K7I8",
      "html_url": "https://subdomain.pagerduty.com/teams/PQ9K7I8"
    }
  ],
  "pending_actions": [],
  "acknowledgements": [],
  "alert_grouping": null,
  "last_status_change_by": {
    "id": "PXPGF42",
    "type": "user_reference",
    "summary": "Earline Greenholt",
    "self": "https://api.pagerduty.com/users/PXPGF42",
    "html_url": "https://subdomain.pagerduty.com/users/PXPGF42"
  },
  "priority": {
    "id": "P53ZZH5",
    "type": "priority_reference",
    "summary": "P2",
    "self": "https://api.pagerduty.com/priorities/P53ZZH5"
  },
  "resolve_reason": null,
  "conference_bridge": {
    "conference_number": "+1-415-555-1212,,,,1234#",
    "conference_url": "https://example.com/acb-123"
  },
  "incidents_responders": [],
  "responder_requests": [],
  "urgency": "high"
})json";

const char* kAcknowledgedIncident = R"json({
  "id": "PACK123",
  "type": "incident",
  "incident_number": 77,
  "title": "Checkout latency above SLO",
  "created_at": "2024-03-01T10:00:00Z",
  "status": "acknowledged",
  "service": {"id": "PSVC001", "type": "service_reference", "summary": "checkout"},
  "assignments": [
    {"at": "2024-03-01T10:00:05Z",
     "assignee": {"id": "PUSR001", "type": "user_reference", "summary": "Ada"}}
  ],
  "acknowledgements": [
    {"at": "2024-03-01T10:07:30Z", "acknowledger": {"id": "PUSR001", "type": "user_reference"}},
    {"at": "2024-03-01T10:04:10Z", "acknowledger": {"id": "PUSR002", "type": "user_reference"}}
  ],
  "last_status_change_at": "2024-03-01T10:07:30Z",
  "priority": null,
  "urgency": "low"
})json";

boost::json::object incident(const char* text) { return boost::json::parse(text).as_object(); }

std::string page_body(const std::vector<std::string>& incidents, std::int64_t offset, std::int64_t limit, bool more) {
  std::string body = "{\"incidents\":[";
  for (std::size_t i = 0; i < incidents.size(); ++i) body += (i ? "," : "") + incidents[i];
  body += "],\"limit\":" + std::to_string(limit) + ",\"offset\":" + std::to_string(offset) +
          ",\"total\":null,\"more\":" + (more ? "true" : "false") + "}";
  return body;
}

std::string small_incident(const std::string& id, const std::string& created_at) {
  return R"({"id":")" + id + R"(","type":"incident","title":"t","status":"triggered","created_at":")" + created_at +
         R"(","service":{"id":"PS","type":"service_reference","summary":"svc"},"urgency":"high"})";
}

std::multimap<std::string, std::string> query_of(const std::string& target) {
  const auto url = boost::urls::parse_origin_form(target);
  REQUIRE(url);
  std::multimap<std::string, std::string> out;
  for (const auto& p : url->params()) out.emplace(p.key, p.value);
  return out;
}

std::vector<std::string> values(const std::multimap<std::string, std::string>& q, const std::string& key) {
  std::vector<std::string> out;
  const auto [b, e] = q.equal_range(key);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

}  // namespace

TEST_CASE("a documented incidents page is read", "[backfill][page]") {
  std::string error;
  const auto page = parse_incident_page(page_body({kResolvedIncident, kAcknowledgedIncident}, 25, 25, true), error);
  REQUIRE(page);
  CHECK(error.empty());
  REQUIRE(page->incidents.size() == 2);
  CHECK(page->incidents[0].at("id").as_string() == "PT4KHLK");
  CHECK(page->incidents[1].at("status").as_string() == "acknowledged");
  CHECK(page->more);
  CHECK(page->offset == 25);
  CHECK(page->limit == 25);

  const auto last = parse_incident_page(R"({"incidents":[],"limit":100,"offset":0,"more":false})", error);
  REQUIRE(last);
  CHECK(last->incidents.empty());
  CHECK_FALSE(last->more);
  // No `more` at all: nothing to page on to.
  const auto bare = parse_incident_page(R"({"incidents":[]})", error);
  REQUIRE(bare);
  CHECK_FALSE(bare->more);
}

TEST_CASE("what is not a page of incidents is an error that says why", "[backfill][page]") {
  std::string error;
  CHECK_FALSE(parse_incident_page("{\"incidents\": [", error));
  CHECK(error.find("not JSON") != std::string::npos);
  CHECK_FALSE(parse_incident_page("[]", error));
  CHECK(error.find("not a JSON object") != std::string::npos);
  CHECK_FALSE(parse_incident_page(R"({"error":{"message":"x"}})", error));
  CHECK(error.find("no incidents array") != std::string::npos);
  CHECK_FALSE(parse_incident_page(R"({"incidents":[1]})", error));
  CHECK(error.find("not an object") != std::string::npos);

  CHECK(describe_error_body(R"({"error":{"message":"Invalid Input Provided","code":2001,"errors":["Since is invalid."]}})") ==
        "Invalid Input Provided (code 2001); Since is invalid.");
  CHECK(describe_error_body("<html>\nBad gateway</html>") == "<html> Bad gateway</html>");
}

TEST_CASE("the incidents query carries the range, services, statuses and paging, encoded", "[backfill][query]") {
  IncidentQuery q;
  q.service_ids = {"PIJ90N7", "PSVC001"};
  q.statuses = {"resolved", "acknowledged"};
  q.window = {*parse_range_argument("2024-01-01", false), *parse_range_argument("2024-01-31", true)};
  q.offset = 200;
  q.limit = 100;
  const std::string target = incidents_target("/pd/", q);
  CHECK(target.rfind("/pd/incidents?", 0) == 0);
  // Brackets are percent-encoded, as a query component requires.
  CHECK(target.find("service_ids%5B%5D=PIJ90N7&service_ids%5B%5D=PSVC001") != std::string::npos);
  const auto query = query_of(target);
  CHECK(values(query, "since") == std::vector<std::string>{"2024-01-01T00:00:00.000Z"});
  CHECK(values(query, "until") == std::vector<std::string>{"2024-02-01T00:00:00.000Z"});
  CHECK(values(query, "service_ids[]") == std::vector<std::string>{"PIJ90N7", "PSVC001"});
  CHECK(values(query, "statuses[]") == std::vector<std::string>{"resolved", "acknowledged"});
  CHECK(values(query, "offset") == std::vector<std::string>{"200"});
  CHECK(values(query, "limit") == std::vector<std::string>{"100"});
  CHECK(values(query, "time_zone") == std::vector<std::string>{"UTC"});
  CHECK(values(query, "sort_by") == std::vector<std::string>{"created_at:asc"});
  CHECK(incidents_target("", q).rfind("/incidents?", 0) == 0);

  const auto headers = api_headers("s3cr3t");
  CHECK(header_value(headers, "authorization") == "Token token=s3cr3t");
  CHECK(header_value(headers, "Accept") == "application/vnd.pagerduty+json;version=2");
}

TEST_CASE("range arguments, windows and statuses", "[backfill][settings]") {
  CHECK(parse_range_argument("2024-03-01", false) == parse_time("2024-03-01T00:00:00Z")->millis);
  CHECK(parse_range_argument("2024-03-01", true) == parse_time("2024-03-02T00:00:00Z")->millis);
  CHECK(parse_range_argument("2024-03-01T12:00:00+02:00", true) == parse_time("2024-03-01T10:00:00Z")->millis);
  CHECK_FALSE(parse_range_argument("yesterday", false));
  CHECK_FALSE(parse_range_argument("2024-13-01", false));

  const EpochMillis since = *parse_range_argument("2023-01-01", false);
  const EpochMillis until = *parse_range_argument("2024-02-04", false);  // 399 days
  const auto windows = split_windows(since, until);
  REQUIRE(windows.size() == 3);
  CHECK(windows.front().since == since);
  CHECK(windows.back().until == until);
  for (std::size_t i = 0; i < windows.size(); ++i) {
    CHECK(windows[i].until - windows[i].since <= kMaxWindowMillis);
    if (i > 0) CHECK(windows[i].since == windows[i - 1].until);
  }
  CHECK(split_windows(until, since).empty());

  std::string error;
  CHECK(parse_statuses("resolved, triggered,resolved", error) == std::vector<std::string>{"resolved", "triggered"});
  CHECK_FALSE(parse_statuses("resolved,closed", error));
  CHECK(error.find("closed") != std::string::npos);
  CHECK_FALSE(parse_statuses(" , ", error));
}

TEST_CASE("429 and 5xx are retried with the server's wait or an exponential backoff", "[backfill][retry]") {
  RetryPolicy p;
  p.base = 500ms;
  p.cap = 4000ms;
  p.max_attempts = 6;
  const EpochMillis now = parse_time("2024-03-01T10:00:00Z")->millis;
  CHECK(retry_delay(429, {{"Retry-After", "1"}}, 1, p, now) == 1000ms);
  CHECK(retry_delay(429, {{"retry-after", "Fri, 01 Mar 2024 10:00:30 GMT"}}, 1, p, now) == 30000ms);
  CHECK(retry_delay(429, {{"Retry-After", "Fri, 01 Mar 2024 09:00:00 GMT"}}, 1, p, now) == 0ms);
  CHECK(retry_delay(429, {{"ratelimit-limit", "960"}, {"ratelimit-reset", "7"}}, 1, p, now) == 7000ms);
  CHECK(retry_delay(429, {{"Retry-After", "3600000"}}, 1, p, now) == p.header_cap);
  // No hint: 0.5 s doubling, capped.
  CHECK(retry_delay(429, {}, 1, p, now) == 500ms);
  CHECK(retry_delay(429, {}, 2, p, now) == 1000ms);
  CHECK(retry_delay(429, {}, 5, p, now) == 4000ms);
  CHECK(retry_delay(500, {}, 1, p, now) == 500ms);
  CHECK(retry_delay(502, {}, 3, p, now) == 2000ms);
  CHECK(retry_delay(503, {{"Retry-After", "2"}}, 1, p, now) == 2000ms);
  // A 5xx's ratelimit-reset is not about this failure.
  CHECK(retry_delay(500, {{"ratelimit-reset", "50"}}, 1, p, now) == 500ms);
  CHECK(retry_delay(0, {}, 2, p, now) == 1000ms);  // network error
  CHECK_FALSE(retry_delay(500, {}, 6, p, now));    // attempts used up
  CHECK_FALSE(retry_delay(200, {}, 1, p, now));
  CHECK_FALSE(retry_delay(401, {}, 1, p, now));
  CHECK_FALSE(retry_delay(400, {{"Retry-After", "1"}}, 1, p, now));
}

TEST_CASE("a resolved incident becomes the triggered and resolved envelopes a webhook gives", "[backfill][mapping]") {
  const EpochMillis received = parse_time("2024-05-01T00:00:00Z")->millis;
  const auto out = incident_envelopes(incident(kResolvedIncident), received);
  CHECK(out.problems.empty());
  REQUIRE(out.envelopes.size() == 2);
  const auto& opened = out.envelopes[0].envelope;
  const auto& resolved = out.envelopes[1].envelope;

  CHECK(opened.id == "pagerduty:backfill:PT4KHLK:triggered:2015-10-06T21:30:42.000Z");
  CHECK(opened.source == "pagerduty");
  CHECK(opened.source_event == "incident.triggered");
  CHECK(opened.kind == parser::Kind::incident);
  CHECK(opened.service == "My Mail Service");
  CHECK(opened.repository.empty());
  CHECK(opened.occurred_at == "2015-10-06T21:30:42.000Z");
  CHECK(opened.received_at == "2024-05-01T00:00:00.000Z");
  CHECK(opened.defaults.empty());
  REQUIRE(opened.incident);
  CHECK(opened.incident->id == "PT4KHLK");
  CHECK(opened.incident->status == "open");
  CHECK(opened.incident->created_at == "2015-10-06T21:30:42.000Z");
  CHECK(opened.incident->resolved_at.empty());
  CHECK(opened.incident->severity == "high");
  CHECK(opened.incident->title == "The server is on fire.");
  CHECK(opened.incident->root_cause_sha == "3f2a9c1");

  CHECK(resolved.id == "pagerduty:backfill:PT4KHLK:resolved:2015-10-06T21:38:23.000Z");
  CHECK(resolved.source_event == "incident.resolved");
  CHECK(resolved.service == "My Mail Service");
  CHECK(resolved.occurred_at == "2015-10-06T21:38:23.000Z");
  REQUIRE(resolved.incident);
  CHECK(resolved.incident->status == "resolved");
  CHECK(resolved.incident->created_at == "2015-10-06T21:30:42.000Z");
  CHECK(resolved.incident->resolved_at == "2015-10-06T21:38:23.000Z");
  CHECK(resolved.incident->root_cause_sha == "3f2a9c1");

  // The raw body is a v3 webhook of that state.
  const auto& event = resolved.raw.at("event");
  CHECK(event.at("event_type").as_string() == "incident.resolved");
  CHECK(event.at("resource_type").as_string() == "incident");
  CHECK(event.at("data").at("status").as_string() == "resolved");
  CHECK(event.at("data").at("number").as_int64() == 1234);
  CHECK(event.at("data").at("priority").at("summary").as_string() == "P2");
  CHECK(boost::json::parse(out.envelopes[1].body) == resolved.raw);

  for (const auto& e : out.envelopes) {
    INFO(e.envelope.id);
    CHECK(testing::schema_errors(parser::to_json(e.envelope)).empty());
    CHECK(testing::schema_errors(boost::json::parse(parser::serialize_envelope(e.envelope, e.body))).empty());
  }
}

TEST_CASE("the same incident gives the same ids and bodies on every run", "[backfill][mapping]") {
  const auto first = incident_envelopes(incident(kResolvedIncident), 1'700'000'000'000);
  const auto second = incident_envelopes(incident(kResolvedIncident), 1'800'000'000'000);
  REQUIRE(first.envelopes.size() == second.envelopes.size());
  for (std::size_t i = 0; i < first.envelopes.size(); ++i) {
    CHECK(first.envelopes[i].envelope.id == second.envelopes[i].envelope.id);
    CHECK(first.envelopes[i].body == second.envelopes[i].body);
    CHECK(first.envelopes[i].envelope.signature == second.envelopes[i].envelope.signature);
  }
  // A state reached later (a resolution) is a new id; the earlier ones stay.
  auto open = incident(kResolvedIncident);
  open["status"] = "triggered";
  open.erase("resolved_at");
  const auto earlier = incident_envelopes(open, 1'700'000'000'000);
  REQUIRE(earlier.envelopes.size() == 1);
  CHECK(earlier.envelopes[0].envelope.id == first.envelopes[0].envelope.id);
}

TEST_CASE("an acknowledged incident gives its earliest acknowledgement", "[backfill][mapping]") {
  const auto out = incident_envelopes(incident(kAcknowledgedIncident), 0);
  CHECK(out.problems.empty());
  REQUIRE(out.envelopes.size() == 2);
  const auto& ack = out.envelopes[1].envelope;
  CHECK(ack.id == "pagerduty:backfill:PACK123:acknowledged:2024-03-01T10:04:10.000Z");
  CHECK(ack.source_event == "incident.acknowledged");
  CHECK(ack.service == "checkout");
  REQUIRE(ack.incident);
  CHECK(ack.incident->status == "acknowledged");
  CHECK(ack.incident->severity == "low");
  CHECK(ack.incident->created_at == "2024-03-01T10:00:00.000Z");
  CHECK(ack.incident->resolved_at.empty());
  CHECK(ack.raw.at("event").at("data").at("assignees").as_array().size() == 1);

  // Without acknowledgements listed, the last status change is the acknowledgement.
  auto no_list = incident(kAcknowledgedIncident);
  no_list.erase("acknowledgements");
  const auto fallback = incident_envelopes(no_list, 0);
  REQUIRE(fallback.envelopes.size() == 2);
  CHECK(fallback.envelopes[1].envelope.occurred_at == "2024-03-01T10:07:30.000Z");

  // A triggered incident: only the trigger.
  auto triggered = incident(kAcknowledgedIncident);
  triggered["status"] = "triggered";
  triggered["acknowledgements"] = boost::json::array();
  const auto only = incident_envelopes(triggered, 0);
  REQUIRE(only.envelopes.size() == 1);
  CHECK(only.envelopes[0].envelope.incident->status == "open");
}

TEST_CASE("incidents missing what the mapping needs are problems, not guesses", "[backfill][mapping]") {
  auto no_resolved_at = incident(kResolvedIncident);
  no_resolved_at.erase("resolved_at");
  const auto older = incident_envelopes(no_resolved_at, 0);
  REQUIRE(older.envelopes.size() == 2);
  CHECK(older.envelopes[1].envelope.incident->resolved_at == "2015-10-06T21:38:23.000Z");

  no_resolved_at.erase("last_status_change_at");
  const auto unknown = incident_envelopes(no_resolved_at, 0);
  CHECK(unknown.envelopes.size() == 1);
  REQUIRE(unknown.problems.size() == 1);
  CHECK(unknown.problems[0].find("PT4KHLK") != std::string::npos);

  auto no_id = incident(kResolvedIncident);
  no_id.erase("id");
  CHECK(incident_envelopes(no_id, 0).envelopes.empty());
  CHECK(incident_envelopes(no_id, 0).problems.size() == 1);

  auto no_created = incident(kResolvedIncident);
  no_created["created_at"] = "sometime";
  CHECK(incident_envelopes(no_created, 0).envelopes.empty());

  // No service: "unknown", with the default recorded, as for a webhook.
  auto no_service = incident(kResolvedIncident);
  no_service.erase("service");
  const auto unnamed = incident_envelopes(no_service, 0);
  REQUIRE(unnamed.envelopes.size() == 2);
  CHECK(unnamed.envelopes[0].envelope.service == "unknown");
  CHECK(unnamed.envelopes[0].envelope.defaults == std::vector<std::string>{"service"});
}

TEST_CASE("a backfilled incident and its real webhook agree on what keys the incidents row", "[backfill][mapping]") {
  // The resolved webhook of incident PCPZE64 (service pig208), and the same
  // incident as the REST API lists it.
  const std::string body = testing::read_fixture("pagerduty/v3/incident.resolved.zulip.json");
  const parser::Headers headers{{"Content-Type", "application/json"}};
  const auto webhook = parser::normalize_pagerduty(parser::Delivery{"/webhooks/pagerduty", headers, body}, {});
  REQUIRE(webhook.disposition == parser::Disposition::publish);

  auto rest = boost::json::parse(R"({"id":"PCPZE64","type":"incident","incident_number":6,"title":"Test Incident",
    "status":"resolved","created_at":"2021-06-04T13:10:00Z","resolved_at":"2021-06-04T13:16:53Z",
    "service":{"id":"PA2P440","type":"service_reference","summary":"pig208"},"urgency":"high"})").as_object();
  const auto backfilled = incident_envelopes(rest, 0);
  REQUIRE(backfilled.envelopes.size() == 2);
  for (const auto& e : backfilled.envelopes) {
    CHECK(e.envelope.source == webhook.envelope.source);
    CHECK(e.envelope.service == webhook.envelope.service);
    CHECK(e.envelope.incident->id == webhook.envelope.incident->id);
    CHECK(e.envelope.incident->severity == webhook.envelope.incident->severity);
    CHECK(e.envelope.incident->title == webhook.envelope.incident->title);
    CHECK(e.envelope.id != webhook.envelope.id);
  }
}

namespace {

// A scripted API: answers by offset (and since), records every request.
struct FakeApi {
  std::vector<std::string> targets;
  std::vector<std::chrono::milliseconds> sleeps;
  std::function<HttpAnswer(const std::multimap<std::string, std::string>&, int call)> answer;

  IncidentWalker walker(WalkSettings settings) {
    // The walk logs every page; the 10,000-incident case would flood the output.
    log::init("backfill_test", log::Level::error);
    return IncidentWalker(
        std::move(settings),
        [this](const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers) {
          CHECK(header_value(headers, "Authorization") == "Token token=tok");
          targets.push_back(target);
          return answer(query_of(target), static_cast<int>(targets.size()));
        },
        [this](std::chrono::milliseconds d) { sleeps.push_back(d); },
        [] { return parse_time("2024-03-01T00:00:00Z")->millis; });
  }
};

WalkSettings walk_settings() {
  WalkSettings s;
  s.token = "tok";
  s.service_ids = {"PS"};
  s.since = *parse_range_argument("2024-01-01", false);
  s.until = *parse_range_argument("2024-01-31", true);
  s.page_size = 2;
  s.retry.base = 100ms;
  return s;
}

}  // namespace

TEST_CASE("the walk pages on, retries 429 and 5xx and hands each incident on once", "[backfill][walk]") {
  FakeApi api;
  api.answer = [](const std::multimap<std::string, std::string>& q, int call) -> HttpAnswer {
    const std::string offset = q.find("offset")->second;
    if (call == 1) return {429, {{"Retry-After", "1"}}, R"({"error":{"message":"Rate Limit Exceeded","code":2020}})"};
    if (offset == "0")
      return {200, {}, page_body({small_incident("P1", "2024-01-02T00:00:00Z"), small_incident("P2", "2024-01-03T00:00:00Z")}, 0, 2, true)};
    if (offset == "2" && call == 3) return {500, {}, "oops"};
    if (offset == "2")
      // P2 again (an incident created while paging shifts the pages).
      return {200, {}, page_body({small_incident("P2", "2024-01-03T00:00:00Z"), small_incident("P3", "2024-01-04T00:00:00Z")}, 2, 2, true)};
    return {200, {}, page_body({small_incident("P4", "2024-01-05T00:00:00Z")}, 4, 2, false)};
  };
  auto walker = api.walker(walk_settings());
  std::vector<std::string> ids;
  std::string error;
  REQUIRE(walker.run([&](const boost::json::object& i) { ids.push_back(incident_id(i)); }, error));
  CHECK(ids == std::vector<std::string>{"P1", "P2", "P3", "P4"});
  CHECK(api.sleeps == std::vector<std::chrono::milliseconds>{1000ms, 100ms});
  REQUIRE(api.targets.size() == 5);
  CHECK(walker.stats().pages == 3);
  CHECK(walker.stats().retries == 2);
  CHECK(walker.stats().incidents == 4);
  const auto q = query_of(api.targets.back());
  CHECK(values(q, "offset") == std::vector<std::string>{"4"});
  CHECK(values(q, "limit") == std::vector<std::string>{"2"});
  CHECK(values(q, "service_ids[]") == std::vector<std::string>{"PS"});
}

TEST_CASE("the walk stops on a 4xx and when the retries are used up", "[backfill][walk]") {
  FakeApi api;
  api.answer = [](const std::multimap<std::string, std::string>&, int) -> HttpAnswer {
    return {401, {}, R"({"error":{"message":"Unauthorized","code":2006}})"};
  };
  auto walker = api.walker(walk_settings());
  std::string error;
  CHECK_FALSE(walker.run([](const boost::json::object&) {}, error));
  CHECK(error.find("HTTP 401: Unauthorized (code 2006)") != std::string::npos);
  CHECK(error.find("tok") == std::string::npos);
  CHECK(api.targets.size() == 1);

  FakeApi down;
  down.answer = [](const std::multimap<std::string, std::string>&, int) -> HttpAnswer {
    throw std::runtime_error("connection refused");
  };
  auto settings = walk_settings();
  settings.retry.max_attempts = 3;
  auto stubborn = down.walker(settings);
  CHECK_FALSE(stubborn.run([](const boost::json::object&) {}, error));
  CHECK(error.find("connection refused") != std::string::npos);
  CHECK(down.targets.size() == 3);
  CHECK(down.sleeps == std::vector<std::chrono::milliseconds>{100ms, 200ms});
}

TEST_CASE("a long range is asked for in windows of at most six months", "[backfill][walk]") {
  FakeApi api;
  api.answer = [](const std::multimap<std::string, std::string>&, int) -> HttpAnswer {
    return {200, {}, page_body({}, 0, 2, false)};
  };
  auto settings = walk_settings();
  settings.since = *parse_range_argument("2023-01-01", false);
  settings.until = *parse_range_argument("2023-12-31", true);
  auto walker = api.walker(settings);
  std::string error;
  REQUIRE(walker.run([](const boost::json::object&) {}, error));
  REQUIRE(api.targets.size() == 3);
  CHECK(values(query_of(api.targets[0]), "since") == std::vector<std::string>{"2023-01-01T00:00:00.000Z"});
  CHECK(values(query_of(api.targets[1]), "since") == values(query_of(api.targets[0]), "until"));
  CHECK(values(query_of(api.targets[2]), "until") == std::vector<std::string>{"2024-01-01T00:00:00.000Z"});
}

TEST_CASE("past PagerDuty's 10,000 offset limit the window restarts at the last creation time", "[backfill][walk]") {
  // 100 incidents per page, one a minute, always more: the walker must not
  // ask for offset 10,000 but restart the window where it got to.
  FakeApi api;
  const EpochMillis start = *parse_range_argument("2024-01-01", false);
  api.answer = [&](const std::multimap<std::string, std::string>& q, int) -> HttpAnswer {
    const auto since = parse_time(q.find("since")->second)->millis;
    const std::int64_t offset = std::stoll(q.find("offset")->second);
    if (since != start) return {200, {}, page_body({small_incident("LAST", format_time(since))}, 0, 100, false)};
    std::vector<std::string> page;
    for (std::int64_t i = offset; i < offset + 100; ++i) {
      page.push_back(small_incident("P" + std::to_string(i), format_time(start + i * 60'000)));
    }
    return {200, {}, page_body(page, offset, 100, true)};
  };
  auto settings = walk_settings();
  settings.page_size = 100;
  auto walker = api.walker(settings);
  std::size_t handed = 0;
  std::string error;
  REQUIRE(walker.run([&](const boost::json::object&) { ++handed; }, error));
  REQUIRE(api.targets.size() == 101);
  const auto restart = query_of(api.targets.back());
  CHECK(values(restart, "offset") == std::vector<std::string>{"0"});
  CHECK(values(restart, "since") == std::vector<std::string>{format_time(start + 9'999 * 60'000)});
  CHECK(handed == 10'001);
}

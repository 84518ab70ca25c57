// fourkeys-backfill against a fake PagerDuty REST API served from this
// process (plain HTTP on 127.0.0.1), the embedded Kafka and a real
// fourkeys-worker on a fresh database.

#include "common/http_server.h"
#include "tests/support/fixtures.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/schema_check.h"
#include "tests/support/worker_harness.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = kPagerdutyApiToken;

struct SeenRequest {
  std::string path;
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lowercased names
  std::chrono::steady_clock::time_point at;

  std::vector<std::string> values(const std::string& key) const {
    std::vector<std::string> out;
    const auto [b, e] = query.equal_range(key);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
    return out;
  }
  std::string value(const std::string& key) const {
    const auto v = values(key);
    return v.size() == 1 ? v.front() : "<" + std::to_string(v.size()) + " values>";
  }
};

// `GET /incidents` over a fixed list of incidents, paged by offset and limit
// as PagerDuty pages. `fail_once` answers the first request at an offset
// with a status (and headers) instead of the page.
class FakePagerDuty : public http::Handler {
 public:
  struct Failure {
    int status;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  explicit FakePagerDuty(std::vector<std::string> incidents) : incidents_(std::move(incidents)) {
    http::ServerSettings settings;
    settings.listen = "127.0.0.1:0";
    settings.threads = 1;
    settings.server_name = "fake-pagerduty";
    server_ = std::make_unique<http::Server>(settings, *this);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~FakePagerDuty() override {
    server_->stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  void fail_once(std::int64_t offset, Failure failure) {
    std::lock_guard lock(mutex_);
    failures_[offset] = std::move(failure);
  }
  void always(Failure failure) {
    std::lock_guard lock(mutex_);
    always_ = std::move(failure);
  }

  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void clear_requests() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }

  void handle(http::Request request, http::Responder respond) override {
    SeenRequest seen;
    seen.at = std::chrono::steady_clock::now();
    seen.path = request.path;
    if (const auto url = boost::urls::parse_origin_form(request.target)) {
      for (const auto& p : url->params()) seen.query.emplace(p.key, p.value);
    }
    for (const auto& [name, value] : request.headers) {
      std::string lowered;
      for (char c : name) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers.emplace(lowered, value);
    }
    std::lock_guard lock(mutex_);
    requests_.push_back(seen);
    if (always_) return respond(failure(*always_));
    if (request.method != "GET" || request.path != "/incidents") {
      return respond(http::json_error(404, "no such endpoint"));
    }
    const std::int64_t offset = std::stoll(seen.value("offset"));
    const std::int64_t limit = std::stoll(seen.value("limit"));
    if (const auto it = failures_.find(offset); it != failures_.end()) {
      http::Response r = failure(it->second);
      failures_.erase(it);
      return respond(std::move(r));
    }
    std::string body = "{\"incidents\":[";
    const auto size = static_cast<std::int64_t>(incidents_.size());
    for (std::int64_t i = offset; i < std::min(size, offset + limit); ++i) {
      body += (i > offset ? "," : "") + incidents_[static_cast<std::size_t>(i)];
    }
    body += "],\"limit\":" + std::to_string(limit) + ",\"offset\":" + std::to_string(offset) +
            ",\"total\":null,\"more\":" + (offset + limit < size ? "true" : "false") + "}";
    http::Response ok;
    ok.body = std::move(body);
    ok.headers = {{"ratelimit-limit", "960"}, {"ratelimit-remaining", "959"}, {"ratelimit-reset", "60"}};
    respond(std::move(ok));
  }

 private:
  static http::Response failure(const Failure& f) {
    http::Response r;
    r.status = f.status;
    r.headers = f.headers;
    r.body = f.status == 429 ? R"({"error":{"message":"Rate Limit Exceeded","code":2020}})"
                             : R"({"error":{"message":"Internal Server Error","code":2000}})";
    return r;
  }

  std::vector<std::string> incidents_;
  mutable std::mutex mutex_;
  std::map<std::int64_t, Failure> failures_;
  std::optional<Failure> always_;
  std::vector<SeenRequest> requests_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// An entry of `GET /incidents`, shaped as PagerDuty documents it.
std::string rest_incident(const std::string& id, int number, const std::string& service_id,
                          const std::string& service_name, const std::string& status, const std::string& created_at,
                          const std::string& extra_fields) {
  return R"({"id":")" + id + R"(","type":"incident","summary":"[#)" + std::to_string(number) + "] " + id +
         R"(","self":"https://api.pagerduty.com/incidents/)" + id + R"(","html_url":"https://acme.pagerduty.com/incidents/)" +
         id + R"(","incident_number":)" + std::to_string(number) + R"(,"created_at":")" + created_at +
         R"(","updated_at":")" + created_at + R"(","status":")" + status +
         R"(","incident_key":null,"service":{"id":")" + service_id + R"(","type":"service_reference","summary":")" +
         service_name + R"(","self":"https://api.pagerduty.com/services/)" + service_id +
         R"("},"assignments":[],"assigned_via":"escalation_policy","alert_counts":{"all":1,"triggered":0,"resolved":1},)"
         R"("escalation_policy":{"id":"PEP1","type":"escalation_policy_reference","summary":"Default"},"teams":[],)"
         R"("pending_actions":[],"resolve_reason":null,"conference_bridge":null,"incidents_responders":[],)"
         R"("responder_requests":[],)" +
         extra_fields + "}";
}

std::string backfill_binary() { return FOURKEYS_BACKFILL_BINARY; }

struct BackfillRun {
  int exit_code = -1;
  std::string log;
  std::vector<std::string> stdout_lines;
};

BackfillRun run_backfill(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  const std::string log_path = log_file("backfill");
  BackfillRun run;
  {
    ChildProcess p(backfill_binary(), args, env, false, log_path);
    for (;;) {
      try {
        run.stdout_lines.push_back(p.read_line(120s));
      } catch (const std::exception&) {
        break;  // end of stdout: the program is finishing
      }
    }
    run.exit_code = p.wait(120s);
  }
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  run.log = text.str();
  return run;
}

long long count(const TestDatabase& db, const std::string& sql) { return std::stoll(db.scalar(sql)); }

// Times as RFC 3339 UTC text whatever the session's time zone.
std::string utc(const std::string& column) {
  return "coalesce(to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')";
}

std::vector<std::string> incident_rows(const TestDatabase& db) {
  return db.query("SELECT service, source, incident_id, status, environment, " + utc("time_created") + ", " +
                  utc("time_acknowledged") + ", " + utc("time_resolved") +
                  ", coalesce(severity, '-'), coalesce(title, '-'), coalesce(root_cause, '-') "
                  "FROM incidents ORDER BY incident_id");
}

std::vector<std::string> stored_state(const TestDatabase& db) {
  std::vector<std::string> out = incident_rows(db);
  for (auto& row : db.query("SELECT id, signature, " + utc("time_created") + " FROM events_raw ORDER BY id")) {
    out.push_back(std::move(row));
  }
  for (auto& row : db.query("SELECT * FROM metrics_daily ORDER BY 1, 2, 3")) out.push_back(std::move(row));
  return out;
}

bool consumed(const TestDatabase& db, long long messages) {
  try {
    return count(db, "SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets") >= messages;
  } catch (...) {
    return false;  // not migrated yet
  }
}

}  // namespace

TEST_CASE("backfilled incidents end in the worker's tables; a second run changes nothing", "[backfill]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));

  FakePagerDuty api({
      rest_incident("PB1", 101, "PSVC1", "checkout-api", "resolved", "2024-05-02T10:00:00Z",
                    R"("title":"Checkout answers 500","description":"Checkout answers 500. Root cause: abcdef1",)"
                    R"("last_status_change_at":"2024-05-02T11:30:00Z","resolved_at":"2024-05-02T11:30:00Z",)"
                    R"("acknowledgements":[],"priority":null,"urgency":"high")"),
      rest_incident("PB2", 102, "PSVC1", "checkout-api", "acknowledged", "2024-05-03T08:00:00Z",
                    R"("title":"Slow cart","last_status_change_at":"2024-05-03T08:05:00Z",)"
                    R"("acknowledgements":[{"at":"2024-05-03T08:05:00Z","acknowledger":{"id":"PU1","type":"user_reference"}}],)"
                    R"("priority":{"id":"PP1","type":"priority_reference","summary":"P3"},"urgency":"low")"),
      rest_incident("PB3", 103, "PSVC2", "payments", "triggered", "2024-05-04T09:00:00Z",
                    R"("title":"Card declines spike","acknowledgements":[],"priority":null,"urgency":"high")"),
      rest_incident("PB4", 104, "PSVC2", "payments", "resolved", "2024-05-05T12:00:00Z",
                    R"("title":"Refunds stuck","resolved_at":"2024-05-05T12:20:00Z","acknowledgements":[],)"
                    R"("priority":null,"urgency":"high")"),
      // An older answer without resolved_at: the last status change is the resolution.
      rest_incident("PB5", 105, "PSVC2", "payments", "resolved", "2024-05-06T12:00:00+02:00",
                    R"("title":"Webhook backlog","last_status_change_at":"2024-05-06T13:00:00Z",)"
                    R"("acknowledgements":[],"priority":null,"urgency":"low")"),
  });
  api.fail_once(0, {429, {{"Retry-After", "1"}}});
  api.fail_once(2, {500, {}});

  const std::vector<std::string> args = {"--api-url", api.url(), "--service-id", "PSVC1", "--service-id", "PSVC2",
                                         "--since", "2024-05-01", "--until", "2024-05-31", "--page-size", "2",
                                         "--retry-base", "200ms"};
  const std::map<std::string, std::string> env = {{"FOURKEYS_PAGERDUTY_API_TOKEN", kToken},
                                                  {"FOURKEYS_KAFKA_BROKERS", kafka.brokers()}};
  const BackfillRun first = run_backfill(args, env);
  INFO(first.log);
  REQUIRE(first.exit_code == 0);
  CHECK(first.log.find(kToken) == std::string::npos);
  CHECK(first.stdout_lines.empty());

  // What the fake API was asked: three pages, the 429 and the 500 retried.
  const auto requests = api.requests();
  REQUIRE(requests.size() == 5);
  std::vector<std::string> offsets;
  for (const auto& r : requests) {
    offsets.push_back(r.value("offset"));
    CHECK(r.path == "/incidents");
    CHECK(r.headers.at("authorization") == "Token token=" + kToken);
    CHECK(r.headers.at("accept") == "application/vnd.pagerduty+json;version=2");
    CHECK(r.values("service_ids[]") == std::vector<std::string>{"PSVC1", "PSVC2"});
    CHECK(r.values("statuses[]") == std::vector<std::string>{"resolved", "acknowledged", "triggered"});
    CHECK(r.value("since") == "2024-05-01T00:00:00.000Z");
    CHECK(r.value("until") == "2024-06-01T00:00:00.000Z");
    CHECK(r.value("limit") == "2");
  }
  CHECK(offsets == std::vector<std::string>{"0", "0", "2", "2", "4"});
  // Retry-After: 1 was waited for; the 500 was backed off from 200 ms.
  CHECK(requests[1].at - requests[0].at >= 950ms);
  CHECK(requests[3].at - requests[2].at >= 190ms);

  // 2 + 2 + 1 + 2 + 2 envelopes.
  REQUIRE(eventually([&] { return consumed(db, 9) && count(db, "SELECT count(*) FROM incidents") == 5; }, 60s));
  CHECK(count(db, "SELECT count(*) FROM events_raw") == 9);
  CHECK(db.query("SELECT id FROM events_raw WHERE id LIKE '%PB1%' OR id LIKE '%PB2%' ORDER BY id") ==
        std::vector<std::string>{
            "pagerduty:backfill:PB1:resolved:2024-05-02T11:30:00.000Z",
            "pagerduty:backfill:PB1:triggered:2024-05-02T10:00:00.000Z",
            "pagerduty:backfill:PB2:acknowledged:2024-05-03T08:05:00.000Z",
            "pagerduty:backfill:PB2:triggered:2024-05-03T08:00:00.000Z",
        });
  CHECK(incident_rows(db) ==
        std::vector<std::string>{
            "checkout-api|pagerduty|PB1|resolved|production|2024-05-02T10:00:00Z|-|2024-05-02T11:30:00Z|high|"
            "Checkout answers 500|abcdef1",
            "checkout-api|pagerduty|PB2|acknowledged|production|2024-05-03T08:00:00Z|2024-05-03T08:05:00Z|-|low|"
            "Slow cart|-",
            "payments|pagerduty|PB3|open|production|2024-05-04T09:00:00Z|-|-|high|Card declines spike|-",
            "payments|pagerduty|PB4|resolved|production|2024-05-05T12:00:00Z|-|2024-05-05T12:20:00Z|high|"
            "Refunds stuck|-",
            "payments|pagerduty|PB5|resolved|production|2024-05-06T10:00:00Z|-|2024-05-06T13:00:00Z|low|"
            "Webhook backlog|-",
        });
  CHECK(db.query("SELECT service, day, incidents_opened, incidents_resolved FROM metrics_daily "
                 "WHERE incidents_opened > 0 OR incidents_resolved > 0 ORDER BY 1, 2") ==
        std::vector<std::string>{"checkout-api|2024-05-02|1|1", "checkout-api|2024-05-03|1|0",
                                 "payments|2024-05-04|1|0", "payments|2024-05-05|1|1", "payments|2024-05-06|1|1"});
  const auto before = stored_state(db);

  // The same range again: the same envelope ids, all duplicates.
  api.clear_requests();
  const BackfillRun second = run_backfill(args, env);
  INFO(second.log);
  REQUIRE(second.exit_code == 0);
  CHECK(api.requests().size() == 3);
  REQUIRE(eventually([&] {
    const auto m = worker.get("/metrics").second;
    return m.find("fourkeys_worker_events_duplicate_total 9") != std::string::npos;
  }, 60s));
  REQUIRE(eventually([&] { return consumed(db, 18); }, 30s));
  CHECK(count(db, "SELECT count(*) FROM events_raw") == 9);
  CHECK(stored_state(db) == before);
}

TEST_CASE("a backfilled incident and the same incident's webhook end in one incidents row", "[backfill]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  ReceiverProcess receiver(kafka.brokers());
  REQUIRE(receiver.wait_ready(30s));

  // PagerDuty's resolved webhook of incident PCPZE64 (service pig208),
  // through the real receiver.
  const std::string body = read_fixture("pagerduty/v3/incident.resolved.zulip.json");
  const auto reply =
      receiver.client()->request("POST", "/webhooks/pagerduty", pagerduty_headers(body, {kPagerdutyNewSecret}), body);
  REQUIRE(reply.status == 202);

  // The same incident as the REST API lists it, with the creation time the
  // webhook does not carry.
  FakePagerDuty api({rest_incident("PCPZE64", 6, "PA2P440", "pig208", "resolved", "2021-06-04T13:10:00Z",
                                   R"("title":"Test Incident","resolved_at":"2021-06-04T13:16:53Z",)"
                                   R"("last_status_change_at":"2021-06-04T13:16:53Z","acknowledgements":[],)"
                                   R"("priority":null,"urgency":"high")")});
  const std::map<std::string, std::string> env = {{"FOURKEYS_PAGERDUTY_API_TOKEN", kToken},
                                                  {"FOURKEYS_KAFKA_BROKERS", kafka.brokers()}};
  const BackfillRun run = run_backfill({"--api-url", api.url() + "/", "--since", "2021-06-01T00:00:00Z",
                                        "--until", "2021-07-01T00:00:00Z", "--statuses", "resolved"},
                                       env);
  INFO(run.log);
  REQUIRE(run.exit_code == 0);
  const auto requests = api.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].path == "/incidents");
  CHECK(requests[0].values("service_ids[]").empty());
  CHECK(requests[0].values("statuses[]") == std::vector<std::string>{"resolved"});
  CHECK(requests[0].value("until") == "2021-07-01T00:00:00.000Z");

  REQUIRE(eventually([&] { return consumed(db, 3); }, 60s));
  CHECK(count(db, "SELECT count(*) FROM events_raw") == 3);
  CHECK(count(db, "SELECT count(*) FROM incident_events WHERE incident_id = 'PCPZE64'") == 3);
  // One row: created when the REST API says, resolved (the webhook's report
  // is the latest, by its milliseconds).
  CHECK(db.query("SELECT service, source, incident_id, status, " + utc("time_created") + ", " +
                 "to_char(time_resolved AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM incidents") ==
        std::vector<std::string>{"pig208|pagerduty|PCPZE64|resolved|2021-06-04T13:10:00Z|13:16:53.816"});
  CHECK(db.query("SELECT sum(incidents_opened), sum(incidents_resolved) FROM metrics_daily WHERE service = 'pig208'") ==
        std::vector<std::string>{"1|1"});
}

TEST_CASE("--dry-run prints the envelopes; refusals and an unreachable Kafka exit non-zero", "[backfill]") {
  FakePagerDuty api({rest_incident("PDRY1", 1, "PS", "search", "resolved", "2024-02-01T00:00:00Z",
                                   R"("title":"Search down","resolved_at":"2024-02-01T00:45:00Z",)"
                                   R"("acknowledgements":[],"priority":null,"urgency":"high")")});
  const std::map<std::string, std::string> env = {{"FOURKEYS_PAGERDUTY_API_TOKEN", kToken}};
  const std::vector<std::string> range = {"--api-url", api.url(), "--since", "2024-02-01", "--until", "2024-02-01"};

  std::vector<std::string> dry_args = range;
  dry_args.push_back("--dry-run");
  const BackfillRun dry = run_backfill(dry_args, env);
  INFO(dry.log);
  REQUIRE(dry.exit_code == 0);
  REQUIRE(dry.stdout_lines.size() == 2);
  std::vector<std::string> ids;
  for (const auto& line : dry.stdout_lines) {
    const auto envelope = boost::json::parse(line);
    CHECK(schema_errors(envelope).empty());
    ids.emplace_back(envelope.at("id").as_string());
    CHECK(envelope.at("service").as_string() == "search");
  }
  CHECK(ids == std::vector<std::string>{"pagerduty:backfill:PDRY1:triggered:2024-02-01T00:00:00.000Z",
                                        "pagerduty:backfill:PDRY1:resolved:2024-02-01T00:45:00.000Z"});

  // Nothing listens on port 1: nothing can be published.
  std::map<std::string, std::string> no_kafka = env;
  no_kafka["FOURKEYS_KAFKA_BROKERS"] = "127.0.0.1:1";
  const BackfillRun unpublished = run_backfill(range, no_kafka);
  CHECK(unpublished.exit_code == 1);
  CHECK(unpublished.log.find("kafka is not ready") != std::string::npos);

  api.always({401, {}});
  const BackfillRun refused = run_backfill(dry_args, env);
  CHECK(refused.exit_code == 1);
  CHECK(refused.log.find("HTTP 401") != std::string::npos);
  CHECK(refused.log.find(kToken) == std::string::npos);

  const BackfillRun no_token = run_backfill(dry_args, {{"FOURKEYS_PAGERDUTY_API_TOKEN", ""}});
  CHECK(no_token.exit_code == 2);
}

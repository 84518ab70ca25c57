// The receiver end to end: a real fourkeys-parser process and the embedded
// Kafka over TCP. Deliveries are read back from the topics.

#include "common/crypto.h"
#include "common/json.h"
#include "common/kafka_reader.h"
#include "tests/support/fixtures.h"
#include "tests/support/receiver_harness.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <future>
#include <set>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {

const std::string kEvents = "fourkeys.events.v1";
const std::string kDeadLetters = "fourkeys.deadletter.v1";

// One receiver for the tests that do not break anything.
struct Shared {
  EmbeddedKafka kafka;
  ReceiverProcess receiver;
  Shared() : kafka(false), receiver(kafka.brokers()) {
    if (!receiver.wait_ready(20s)) throw std::runtime_error("receiver never became ready");
  }
};

Shared& shared() {
  static Shared instance;
  return instance;
}

boost::json::value parse(const std::string& text) {
  json::ParseError e;
  auto v = json::parse(text, e);
  REQUIRE(v);
  return *v;
}

// The string member `key` of a JSON object, or "" when absent or not a string.
std::string text(const boost::json::value& v, const char* key) {
  const auto* found = v.as_object().if_contains(key);
  return found && found->is_string() ? std::string(found->get_string()) : std::string();
}

std::optional<ReadMessage> find_by_id(TopicReader& reader, const std::string& id,
                                      std::chrono::milliseconds timeout = 10s) {
  return reader.find([&](const ReadMessage& m) { return m.header("ce_id") == id; }, timeout);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

}  // namespace

TEST_CASE("health, readiness and metrics endpoints answer", "[integration]") {
  auto client = shared().receiver.client();
  auto health = client->request("GET", "/healthz");
  CHECK(health.status == 200);
  auto ready = client->request("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(text(parse(ready.body), "status") == "ready");
  client->request("POST", "/webhooks/github", github_headers("ping", "metrics-" + unique_suffix(), "{}"), "{}");
  auto metrics = client->request("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.header("Content-Type").find("text/plain") == 0);
  CHECK(metrics.body.find("fourkeys_receiver_requests_total") != std::string::npos);
  CHECK(metrics.body.find("fourkeys_receiver_request_duration_seconds_bucket") != std::string::npos);
  CHECK(metrics.body.find("fourkeys_kafka_messages_in_flight") != std::string::npos);
}

TEST_CASE("signed deliveries of every source are accepted and land on the events topic", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  TopicReader reader(s.kafka.brokers(), kEvents, TopicReader::Start::end);

  struct Case {
    std::string name, path, body, expected_id, expected_kind, expected_key;
    HeaderList headers;
  };
  std::vector<Case> cases;
  {
    const std::string body = read_fixture("github/push/to-default-branch.drone-go-scm.json");
    const std::string delivery = "gh-push-" + unique_suffix();
    cases.push_back({"github push", "/webhooks/github", body, "github:" + delivery, "change", "",
                     github_headers("push", delivery, body)});
  }
  {
    const std::string body = read_fixture("github/deployment_status/success.octokit.json");
    const std::string delivery = "gh-ds-" + unique_suffix();
    cases.push_back({"github deployment_status via POST /", "/", body, "github:" + delivery, "deployment",
                     "Codertocat/Hello-World", github_headers("deployment_status", delivery, body)});
  }
  {
    const std::string body = read_fixture("gitlab/push/push.go-gitlab.json");
    const std::string uuid = "gl-push-" + unique_suffix();
    cases.push_back({"gitlab push", "/webhooks/gitlab", body, "gitlab:" + uuid, "change", "",
                     gitlab_headers("Push Hook", uuid)});
  }
  {
    std::string body = read_fixture("pagerduty/v3/incident.triggered.zulip.json");
    const auto v = parse(body);
    const std::string event_id(v.at("event").at("id").as_string());
    const std::string fresh = "PDT" + replace_all(unique_suffix(), "-", "");
    body = replace_all(body, event_id, fresh);
    cases.push_back({"pagerduty triggered (signed with the new secret)", "/webhooks/pagerduty", body,
                     "pagerduty:" + fresh, "incident", "", pagerduty_headers(body, {kPagerdutyNewSecret})});
  }
  {
    const std::string service = "svc-" + unique_suffix();
    const std::string body = R"({"service":")" + service +
                             R"(","environment":"production","commit_sha":"0123456789abcdef0123456789abcdef01234567",)"
                             R"("commit_timestamp":"2025-05-02T10:00:00Z","deployed_at":"2025-05-02T11:00:00+02:00"})";
    cases.push_back({"api deployment", "/events/deployment", body, "", "deployment", service, bearer_headers()});
  }
  {
    const std::string service = "svc-" + unique_suffix();
    const std::string body = R"({"incident_id":"INC-)" + unique_suffix() + R"(","service":")" + service +
                             R"(","severity":"high","detected_at":"2025-05-02T10:00:00Z"})";
    cases.push_back({"api incident", "/events/incident", body, "", "incident", service, bearer_headers()});
  }
  {
    const std::string service = "ci-" + unique_suffix();
    const std::string body = R"({"service":")" + service +
                             R"(","environment":"production","commit_sha":"89abcdef0123456789abcdef0123456789abcdef",)"
                             R"("deployed_at":"2025-05-02T11:00:00+02:00","pipeline_id":"4242"})";
    // The seed's GitLab CI snippet posts with curl -d and no Content-Type.
    cases.push_back({"ci snippet form-encoded", "/deployments", body, "", "deployment", service,
                     bearer_headers(kApiToken, "application/x-www-form-urlencoded")});
  }
  {
    std::string body = read_fixture("cdevents/v0.4.1/service_deployed.json");
    const auto v = parse(body);
    const std::string ce_id(v.at("context").at("id").as_string());
    const std::string fresh = "ce-" + unique_suffix();
    body = replace_all(body, ce_id, fresh);
    HeaderList h = bearer_headers();
    h.push_back({"ce-specversion", "1.0"});
    h.push_back({"ce-id", fresh});
    h.push_back({"ce-type", std::string(v.at("context").at("type").as_string())});
    h.push_back({"ce-source", std::string(v.at("context").at("source").as_string())});
    cases.push_back({"cdevents binary mode", "/webhooks/cdevents", body, "cdevents:" + fresh, "deployment", "", h});
  }

  for (const auto& c : cases) {
    INFO(c.name);
    auto reply = client->request("POST", c.path, c.headers, c.body);
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    const auto answer = parse(reply.body);
    CHECK(text(answer, "status") == "accepted");
    const std::string id(answer.at("id").as_string());
    if (!c.expected_id.empty()) CHECK(id == c.expected_id);
    if (c.path != "/webhooks/cdevents" && c.path.rfind("/webhooks", 0) != 0 && c.path != "/") {
      CHECK(id == "api:" + sha256_hex(json::canonical(parse(c.body))));
    }
    auto message = find_by_id(reader, id);
    REQUIRE(message);
    const auto envelope = parse(message->value);
    CHECK(text(envelope, "id") == id);
    CHECK(text(envelope, "kind") == c.expected_kind);
    CHECK(message->key == text(envelope, "service"));
    if (!c.expected_key.empty()) CHECK(message->key == c.expected_key);
    CHECK(message->header("ce_specversion") == "1.0");
    CHECK(message->header("ce_type") == "dev.fourkeys." + c.expected_kind + ".v1");
    CHECK(message->header("ce_time") == text(envelope, "occurred_at"));
    CHECK(message->header("content-type") == "application/json");
    CHECK(text(envelope, "signature") == sha1_hex(c.body));
    // `raw` is the body exactly as sent, not a re-serialization.
    std::string_view trimmed = c.body;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.remove_suffix(1);
    CHECK(message->value.find(std::string(",\"raw\":") + std::string(trimmed) + "}") != std::string::npos);
    CHECK(envelope.at("raw") == parse(c.body));
  }
}

TEST_CASE("a GitHub delivery sent form-encoded is accepted like a JSON one", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  TopicReader reader(s.kafka.brokers(), kEvents, TopicReader::Start::end);
  const std::string json_body = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  std::string form = "payload=";
  for (unsigned char c : json_body) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      form += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      form += buf;
    }
  }
  const std::string delivery = "gh-form-" + unique_suffix();
  auto headers = github_headers("push", delivery, form);
  headers[0].second = "application/x-www-form-urlencoded";
  auto reply = client->request("POST", "/webhooks/github", headers, form);
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  auto message = find_by_id(reader, "github:" + delivery);
  REQUIRE(message);
  const auto envelope = parse(message->value);
  CHECK(text(envelope, "kind") == "change");
  CHECK(envelope.at("raw") == parse(json_body));
}

TEST_CASE("bad input gets its status and nothing is published", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  TopicReader events(s.kafka.brokers(), kEvents, TopicReader::Start::end);
  TopicReader dead(s.kafka.brokers(), kDeadLetters, TopicReader::Start::end);
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  std::vector<std::string> rejected_ids;

  {
    const std::string d = "bad-sig-" + unique_suffix();
    auto r = client->request("POST", "/webhooks/github", github_headers("push", d, push, "wrong-secret"), push);
    CHECK(r.status == 401);
    CHECK(r.body.find(kGithubSecret) == std::string::npos);
    rejected_ids.push_back("github:" + d);
  }
  {
    const std::string d = "no-sig-" + unique_suffix();
    auto h = github_headers("push", d, push);
    h.pop_back();
    auto r = client->request("POST", "/webhooks/github", h, push);
    CHECK(r.status == 401);
    CHECK(r.body.find("X-Hub-Signature-256") != std::string::npos);
    rejected_ids.push_back("github:" + d);
  }
  {
    // A PagerDuty secret that is not (or no longer) configured.
    const std::string body = read_fixture("pagerduty/v3/incident.resolved.zulip.json");
    auto r = client->request("POST", "/webhooks/pagerduty", pagerduty_headers(body, {"retired-secret"}), body);
    CHECK(r.status == 401);
    // During rotation PagerDuty sends one signature per secret: any match is enough.
    auto ok = client->request("POST", "/webhooks/pagerduty",
                              pagerduty_headers(body, {"retired-secret", kPagerdutyOldSecret}), body);
    CHECK(ok.status == 202);
  }
  {
    const std::string d = "truncated-" + unique_suffix();
    const std::string body = push.substr(0, push.size() / 2);
    auto r = client->request("POST", "/webhooks/github", github_headers("push", d, body), body);
    CHECK(r.status == 400);
    CHECK(r.body.find("byte") != std::string::npos);
    rejected_ids.push_back("github:" + d);
  }
  {
    const std::string d = "xml-" + unique_suffix();
    auto h = github_headers("push", d, push);
    h[0].second = "application/xml";
    auto r = client->request("POST", "/webhooks/github", h, push);
    CHECK(r.status == 415);
    rejected_ids.push_back("github:" + d);
  }
  {
    auto r = client->request("POST", "/webhooks/nowhere", bearer_headers(), "{}");
    CHECK(r.status == 404);
  }
  {
    auto r = client->request("GET", "/webhooks/github");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "POST");
  }
  {
    // Announces a body over the 25 MiB default: refused before the body is sent.
    const std::string d = "huge-" + unique_suffix();
    auto r = client->request_header_only("POST", "/webhooks/github", github_headers("push", d, push),
                                         26u * 1024 * 1024);
    CHECK(r.status == 413);
    rejected_ids.push_back("github:" + d);
  }
  {
    // A POST that says nothing about its body length.
    const std::string d = "nolength-" + unique_suffix();
    auto r = client->request_header_only("POST", "/webhooks/github", github_headers("push", d, push),
                                         HttpClient::kNoLength);
    CHECK(r.status == 411);
    rejected_ids.push_back("github:" + d);
  }
  {
    // Ignored events answer 200 and are not published.
    const std::string d = "ping-" + unique_suffix();
    const std::string body = read_fixture("github/ping/ping.octokit.json");
    auto r = client->request("POST", "/webhooks/github", github_headers("ping", d, body), body);
    CHECK(r.status == 200);
    CHECK(text(parse(r.body), "status") == "ignored");
    rejected_ids.push_back("github:" + d);
  }

  // A delivery accepted after all of the above, with the same key as the
  // pushes: once it is on the topic, anything published before it would be too.
  const std::string sentinel = "sentinel-" + unique_suffix();
  auto ok = client->request("POST", "/webhooks/github", github_headers("push", sentinel, push), push);
  REQUIRE(ok.status == 202);
  REQUIRE(find_by_id(events, "github:" + sentinel));
  for (const auto& id : rejected_ids) {
    INFO(id);
    CHECK_FALSE(find_by_id(events, id, 100ms));
  }
  CHECK_FALSE(dead.next(500ms));
}

TEST_CASE("a source without a secret answers 401 naming the setting", "[integration]") {
  auto& s = shared();
  ReceiverProcess bare(s.kafka.brokers(), {{"FOURKEYS_GITLAB_TOKEN", ""}, {"FOURKEYS_API_TOKEN", ""}});
  REQUIRE(bare.wait_ready(20s));
  auto client = bare.client();
  auto r = client->request("POST", "/webhooks/gitlab", gitlab_headers("Push Hook", "x"),
                           read_fixture("gitlab/push/push.go-gitlab.json"));
  CHECK(r.status == 401);
  CHECK(r.body.find("FOURKEYS_GITLAB_TOKEN") != std::string::npos);
  auto api = client->request("POST", "/events/deployment", bearer_headers(), "{}");
  CHECK(api.status == 401);
  CHECK(api.body.find("FOURKEYS_API_TOKEN") != std::string::npos);
}

TEST_CASE("authenticated JSON without a DORA signal goes to the dead-letter topic byte for byte", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  TopicReader dead(s.kafka.brokers(), kDeadLetters, TopicReader::Start::end);
  const std::string body = R"({"service":"dl-)" + unique_suffix() + R"(","note":"no sha, no time"})";
  auto r = client->request("POST", "/events/deployment", bearer_headers(), body);
  INFO(r.body);
  REQUIRE(r.status == 202);
  CHECK(text(parse(r.body), "status") == "dead_lettered");
  auto m = dead.find([&](const ReadMessage& msg) { return msg.value == body; }, 10s);
  REQUIRE(m);
  CHECK(m->header("fourkeys_reason").value_or("").size() > 0);
  CHECK(m->header("fourkeys_source") == "api");
  CHECK(m->header("http_authorization") == "[redacted]");
  CHECK(m->header("http_content-type") == "application/json");
}

TEST_CASE("broker down: 503 with Retry-After within the bound, then deliveries succeed again", "[integration][faults]") {
  EmbeddedKafka kafka(true, true);
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_KAFKA_ACK_TIMEOUT", "2s"}});
  REQUIRE(receiver.wait_ready(20s));
  auto client = receiver.client();
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");

  auto warm = client->request("POST", "/webhooks/github", github_headers("push", "warm-" + unique_suffix(), push), push);
  REQUIRE(warm.status == 202);

  REQUIRE(kafka.command("down").rfind("ok", 0) == 0);
  const auto started = std::chrono::steady_clock::now();
  auto r = client->request("POST", "/webhooks/github", github_headers("push", "down-" + unique_suffix(), push), push);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.status == 503);
  CHECK_FALSE(r.header("Retry-After").empty());
  CHECK(took < 4s);  // the 2 s bound plus scheduling slack, far under PagerDuty's 5 s

  // /readyz follows the broker: not ready while metadata cannot be fetched.
  int readyz = 0;
  for (auto until = std::chrono::steady_clock::now() + 15s; std::chrono::steady_clock::now() < until;) {
    readyz = client->request("GET", "/readyz").status;
    if (readyz == 503) break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(readyz == 503);

  REQUIRE(kafka.command("up").rfind("ok", 0) == 0);
  CHECK(receiver.wait_ready(20s));
  const std::string after = "after-" + unique_suffix();
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    status = client->request("POST", "/webhooks/github", github_headers("push", after, push), push).status;
    if (status == 202) break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(status == 202);
  TopicReader reader(kafka.brokers(), kEvents);
  CHECK(find_by_id(reader, "github:" + after));
}

TEST_CASE("a fatal idempotent-producer error gives 503 until a new producer is built", "[integration][faults]") {
  EmbeddedKafka kafka(true, true);
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_KAFKA_ACK_TIMEOUT", "3s"}});
  REQUIRE(receiver.wait_ready(20s));
  auto client = receiver.client();
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  REQUIRE(client->request("POST", "/webhooks/github", github_headers("push", "w-" + unique_suffix(), push), push)
              .status == 202);

  REQUIRE(kafka.command("produce-errors OUT_OF_ORDER_SEQUENCE_NUMBER 1").rfind("ok", 0) == 0);
  auto failed = client->request("POST", "/webhooks/github", github_headers("push", "f-" + unique_suffix(), push), push);
  CHECK(failed.status == 503);
  CHECK_FALSE(failed.header("Retry-After").empty());

  const std::string after = "recovered-" + unique_suffix();
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    status = client->request("POST", "/webhooks/github", github_headers("push", after, push), push).status;
    if (status == 202) break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(status == 202);
  auto metrics = client->request("GET", "/metrics");
  CHECK(metrics.body.find("fourkeys_kafka_producer_rebuilds 1") != std::string::npos);
}

TEST_CASE("SIGTERM with requests in flight loses none that were answered 2xx", "[integration][faults]") {
  EmbeddedKafka kafka(true, true);
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_KAFKA_ACK_TIMEOUT", "5s"}});
  REQUIRE(receiver.wait_ready(20s));
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  // Slow acknowledgements keep requests in flight when the signal arrives.
  REQUIRE(kafka.command("rtt 300").rfind("ok", 0) == 0);

  constexpr int kClients = 8;
  std::vector<std::future<std::vector<std::pair<std::string, int>>>> futures;
  std::atomic<bool> stop{false};
  for (int i = 0; i < kClients; ++i) {
    futures.push_back(std::async(std::launch::async, [&, i] {
      std::vector<std::pair<std::string, int>> results;
      auto client = receiver.client();
      for (int n = 0; !stop.load() && n < 50; ++n) {
        const std::string d = "term-" + std::to_string(i) + "-" + std::to_string(n) + "-" + unique_suffix();
        try {
          results.emplace_back("github:" + d,
                               client->request("POST", "/webhooks/github", github_headers("push", d, push), push).status);
        } catch (const std::exception&) {
          break;  // the listener is gone
        }
      }
      return results;
    }));
  }
  std::this_thread::sleep_for(700ms);
  receiver.process().signal(SIGTERM);
  const int exit_status = receiver.process().wait(20s);
  stop = true;
  std::vector<std::string> acknowledged;
  for (auto& f : futures) {
    for (const auto& [id, status] : f.get()) {
      if (status >= 200 && status < 300) acknowledged.push_back(id);
    }
  }
  CHECK(exit_status == 0);
  REQUIRE_FALSE(acknowledged.empty());
  TopicReader reader(kafka.brokers(), kEvents);
  std::set<std::string> on_topic;
  while (auto m = reader.next(1500ms)) on_topic.insert(m->header("ce_id").value_or(""));
  for (const auto& id : acknowledged) {
    INFO(id);
    CHECK(on_topic.count(id) == 1);
  }
}

TEST_CASE("logs are JSON lines with request fields and never hold a secret or a signature", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  const auto headers = github_headers("push", "log-" + unique_suffix(), push);
  REQUIRE(client->request("POST", "/webhooks/github", headers, push).status == 202);
  const auto wrong = github_headers("push", "log-bad-" + unique_suffix(), push, "not-the-secret");
  REQUIRE(client->request("POST", "/webhooks/github", wrong, push).status == 401);
  std::this_thread::sleep_for(200ms);  // the log line is written after the answer

  std::ifstream in(s.receiver.log_path());
  REQUIRE(in);
  std::string line;
  int request_lines = 0;
  const std::string signature = hmac_sha256_hex(kGithubSecret, push);
  const std::string wrong_signature = hmac_sha256_hex("not-the-secret", push);
  while (std::getline(in, line)) {
    INFO(line);
    json::ParseError e;
    const auto v = json::parse(line, e);
    REQUIRE(v);
    REQUIRE(v->is_object());
    for (const auto& secret : {kGithubSecret, kGitlabToken, kPagerdutyOldSecret, kPagerdutyNewSecret, kApiToken,
                               signature, wrong_signature}) {
      CHECK(line.find(secret) == std::string::npos);
    }
    if (text(*v, "msg") == "request") {
      ++request_lines;
      CHECK_FALSE(text(*v, "request_id").empty());
      CHECK(v->as_object().contains("status"));
      CHECK(v->as_object().contains("latency_ms"));
    }
  }
  CHECK(request_lines >= 2);
}

TEST_CASE("an event larger than Kafka accepts is refused with 413, not retried forever", "[integration]") {
  auto& s = shared();
  ReceiverProcess small(s.kafka.brokers(),
                        {{"FOURKEYS_KAFKA_PROPERTIES", "reconnect.backoff.max.ms=1000,message.max.bytes=20000"}});
  REQUIRE(small.wait_ready(20s));
  auto client = small.client();
  const std::string service = "big-" + unique_suffix();
  const std::string body = R"({"service":")" + service +
                           R"(","environment":"production","commit_sha":"0123456789abcdef0123456789abcdef01234567",)"
                           R"("deployed_at":"2025-05-02T11:00:00Z","note":")" + std::string(30000, 'x') + R"("})";
  auto r = client->request("POST", "/events/deployment", bearer_headers(), body);
  INFO(r.body);
  CHECK(r.status == 413);
  CHECK(r.header("Retry-After").empty());
  // A small one still goes through.
  const std::string ok = R"({"service":")" + service +
                         R"(","commit_sha":"0123456789abcdef0123456789abcdef01234567","deployed_at":"2025-05-02T11:00:00Z"})";
  CHECK(client->request("POST", "/events/deployment", bearer_headers(), ok).status == 202);
}

TEST_CASE("CDEvents in structured mode are accepted; batch mode is 415", "[integration]") {
  auto& s = shared();
  auto client = s.receiver.client();
  TopicReader reader(s.kafka.brokers(), kEvents, TopicReader::Start::end);
  const auto cdevent = parse(read_fixture("cdevents/v0.4.1/incident_detected.json"));
  const std::string fresh = "ce-structured-" + unique_suffix();
  boost::json::value data = cdevent;
  data.as_object()["context"].as_object()["id"] = fresh;
  boost::json::object cloud_event{{"specversion", "1.0"},
                                  {"id", fresh},
                                  {"type", data.at("context").at("type")},
                                  {"source", data.at("context").at("source")},
                                  {"time", data.at("context").at("timestamp")},
                                  {"datacontenttype", "application/json"},
                                  {"data", data}};
  const std::string body = boost::json::serialize(cloud_event);
  auto r = client->request("POST", "/webhooks/cdevents", bearer_headers(kApiToken, "application/cloudevents+json"),
                           body);
  INFO(r.body);
  REQUIRE(r.status == 202);
  auto message = find_by_id(reader, "cdevents:" + fresh);
  REQUIRE(message);
  CHECK(text(parse(message->value), "kind") == "incident");

  auto batch = client->request("POST", "/webhooks/cdevents",
                               bearer_headers(kApiToken, "application/cloudevents-batch+json"), "[" + body + "]");
  CHECK(batch.status == 415);
}

TEST_CASE("bodies in pieces, chunked bodies and pipelined requests are all answered", "[integration]") {
  auto& s = shared();
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), s.receiver.port()});
  auto head = [&](const std::string& delivery, const std::string& framing) {
    std::string h = "POST /webhooks/github HTTP/1.1\r\nHost: test\r\n";
    for (const auto& [k, v] : github_headers("push", delivery, push)) h += k + ": " + v + "\r\n";
    return h + framing + "\r\n";
  };
  const std::string length = "Content-Length: " + std::to_string(push.size()) + "\r\n";
  // 1: the body in three pieces with pauses between them.
  const std::string first = head("piece-" + unique_suffix(), length);
  boost::asio::write(socket, boost::asio::buffer(first + push.substr(0, 100)));
  std::this_thread::sleep_for(100ms);
  boost::asio::write(socket, boost::asio::buffer(push.substr(100, 3000)));
  std::this_thread::sleep_for(100ms);
  boost::asio::write(socket, boost::asio::buffer(push.substr(3100)));
  // 2: chunked; 3 and 4: pipelined behind it in the same write.
  char size[16];
  std::snprintf(size, sizeof size, "%zx", push.size());
  const std::string chunked = head("chunked-" + unique_suffix(), "Transfer-Encoding: chunked\r\n") + size + "\r\n" +
                              push + "\r\n0\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(chunked + head("pipe1-" + unique_suffix(), length) + push +
                                                 head("pipe2-" + unique_suffix(), length) + push));
  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto count = [&] {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = received.find("HTTP/1.1 202", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  while (count() < 4 && std::chrono::steady_clock::now() < deadline) {
    char buf[8192];
    boost::system::error_code ec;
    socket.non_blocking(true);
    const std::size_t n = socket.read_some(boost::asio::buffer(buf), ec);
    if (ec == boost::asio::error::would_block) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    REQUIRE_FALSE(ec);
    received.append(buf, n);
  }
  CHECK(count() == 4);
}

TEST_CASE("FOURKEYS_PARSERS and PARSERS limit the sources served; an unknown name is refused", "[integration]") {
  auto& s = shared();
  const std::string push = read_fixture("github/push/to-default-branch.drone-go-scm.json");
  const std::string gitlab_push = read_fixture("gitlab/push/push.go-gitlab.json");
  const std::string api_body = R"({"service":"parsers-)" + unique_suffix() +
                               R"(","environment":"production","commit_sha":"0123456789abcdef0123456789abcdef01234567",)"
                               R"("deployed_at":"2025-05-02T11:00:00Z"})";
  auto pagerduty_body = [] {
    std::string body = read_fixture("pagerduty/v3/incident.triggered.zulip.json");
    const std::string event_id(parse(body).at("event").at("id").as_string());
    return replace_all(body, event_id, "PDP" + replace_all(unique_suffix(), "-", ""));
  };
  auto post_github = [&](HttpClient& client, const std::string& path) {
    return client.request("POST", path, github_headers("push", "parsers-" + unique_suffix(), push), push);
  };
  auto post_gitlab = [&](HttpClient& client, const std::string& path) {
    return client.request("POST", path, gitlab_headers("Push Hook", "parsers-" + unique_suffix()), gitlab_push);
  };

  SECTION("FOURKEYS_PARSERS=github,pagerduty: GitLab, CDEvents and the API routes are 404") {
    ReceiverProcess limited(s.kafka.brokers(), {{"FOURKEYS_PARSERS", "github,pagerduty"}});
    REQUIRE(limited.wait_ready(20s));
    auto client = limited.client();
    CHECK(post_gitlab(*client, "/webhooks/gitlab").status == 404);
    for (const std::string path : {"/events/deployment", "/events/incident", "/deployments", "/webhooks/cdevents"}) {
      INFO(path);
      CHECK(client->request("POST", path, bearer_headers(), api_body).status == 404);
    }
    // `POST /` must not hand a GitLab delivery to an unlisted source.
    CHECK(post_gitlab(*client, "/").status == 400);
    CHECK(post_github(*client, "/webhooks/github").status == 202);
    CHECK(post_github(*client, "/").status == 202);
    const std::string pd = pagerduty_body();
    CHECK(client->request("POST", "/webhooks/pagerduty", pagerduty_headers(pd, {kPagerdutyNewSecret}), pd).status == 202);
  }

  SECTION("PARSERS=gitlab (Four Keys' name): only GitLab is served") {
    ReceiverProcess limited(s.kafka.brokers(), {{"PARSERS", "gitlab"}});
    REQUIRE(limited.wait_ready(20s));
    auto client = limited.client();
    CHECK(post_github(*client, "/webhooks/github").status == 404);
    CHECK(post_github(*client, "/").status == 400);
    const std::string pd = pagerduty_body();
    CHECK(client->request("POST", "/webhooks/pagerduty", pagerduty_headers(pd, {kPagerdutyNewSecret}), pd).status == 404);
    CHECK(client->request("POST", "/events/deployment", bearer_headers(), api_body).status == 404);
    CHECK(post_gitlab(*client, "/webhooks/gitlab").status == 202);
    CHECK(post_gitlab(*client, "/").status == 202);
  }

  SECTION("FOURKEYS_PARSERS wins over PARSERS") {
    ReceiverProcess limited(s.kafka.brokers(), {{"FOURKEYS_PARSERS", " API "}, {"PARSERS", "gitlab"}});
    REQUIRE(limited.wait_ready(20s));
    auto client = limited.client();
    CHECK(post_gitlab(*client, "/webhooks/gitlab").status == 404);
    CHECK(client->request("POST", "/events/deployment", bearer_headers(), api_body).status == 202);
  }

  SECTION("an unknown source name stops the receiver at start, naming it") {
    for (const auto& [setting, value] : {std::pair{"FOURKEYS_PARSERS", "github,bitbucket"},
                                         std::pair{"PARSERS", "bitbucket"}}) {
      INFO(setting);
      const std::string log_path = log_file("parser-unknown");
      ChildProcess bad(parser_binary(), {},
                       {{"FOURKEYS_KAFKA_BROKERS", s.kafka.brokers()}, {"FOURKEYS_PARSER_LISTEN", "127.0.0.1:0"},
                        {setting, value}},
                       false, log_path);
      const int status = bad.wait(15s);
      CHECK(status != 0);
      CHECK(status != -1);
      std::ifstream in(log_path);
      const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      INFO(log);
      CHECK(log.find("unknown source 'bitbucket'") != std::string::npos);
      CHECK(log.find(setting) != std::string::npos);
      CHECK(log.find("github, gitlab, pagerduty, cdevents, api") != std::string::npos);
    }
  }
}

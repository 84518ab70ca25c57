// The receiver with a service map (FOURKEYS_SERVICE_MAP): real GitHub and
// PagerDuty deliveries come out on the events topic under the mapped
// service, with its team, its canonical environment and the service as the
// Kafka key; SIGHUP or a change of the file reloads the map, a bad file is refused with the place
// and the reason (at start: the receiver exits; on reload: the old map
// stays). Then the whole pipeline with a map of two teams and a monorepo of
// three services, and a changed map applied to the history by
// `fourkeys-worker --rebuild`.

#include "common/kafka_reader.h"
#include "common/time.h"
#include "tests/support/fixtures.h"
#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <fstream>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {

const std::string kEvents = "fourkeys.events.v1";

std::string map_text(const std::string& team, const std::string& repository_service = "hello") {
  return "services:\n"
         "  - name: " + repository_service + "\n"
         "    team: " + team + "\n"
         "    github: codertocat/hello-world\n"
         "  - name: pig\n"
         "    team: oncall\n"
         "    pagerduty: [PA2P440]\n"
         "environments:\n"
         "  aliases:\n"
         "    production: [prd]\n"
         "    live: [production-eu]\n";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

struct Published {
  std::string key;
  boost::json::object envelope;
};

// Posts a GitHub deployment_status (repository Codertocat/Hello-World, its
// environment renamed to `environment`) and reads its envelope back.
Published deployment(ReceiverProcess& receiver, TopicReader& reader, const std::string& environment) {
  const std::string body = replace_all(read_fixture("github/deployment_status/success.octokit.json"),
                                       "\"environment\": \"production\"", "\"environment\": \"" + environment + "\"");
  const std::string delivery = "map-ds-" + unique_suffix();
  const auto reply = receiver.client()->request("POST", "/webhooks/github",
                                                github_headers("deployment_status", delivery, body), body);
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  const auto m = reader.find([&](const ReadMessage& r) { return r.header("ce_id") == "github:" + delivery; }, 10s);
  REQUIRE(m);
  return {m->key, boost::json::parse(m->value).as_object()};
}

std::string text(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

TEST_CASE("the receiver names services, teams and environments by the service map, and reloads it on SIGHUP",
          "[integration][service-map]") {
  EmbeddedKafka kafka(true);
  const std::string path = temp_path("service-map") + ".yaml";
  write(path, map_text("payments"));
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_SERVICE_MAP", path}});
  REQUIRE(receiver.wait_ready(30s));
  TopicReader reader(kafka.brokers(), kEvents, TopicReader::Start::end);

  // A GitHub deployment of the mapped repository (the map writes it in
  // lower case; GitHub sends Codertocat/Hello-World), to an aliased
  // environment.
  auto d = deployment(receiver, reader, "prd");
  CHECK(text(d.envelope, "service") == "hello");
  CHECK(text(d.envelope, "team") == "payments");
  CHECK(text(d.envelope, "repository") == "Codertocat/Hello-World");
  CHECK(text(d.envelope.at("deployment").as_object(), "environment") == "production");
  CHECK(d.key == "hello");

  // A PagerDuty incident on the mapped PagerDuty service id.
  {
    std::string body = read_fixture("pagerduty/v3/incident.triggered.zulip.json");
    const std::string fresh = "PDMAP" + replace_all(unique_suffix(), "-", "");
    body = replace_all(body, "01BZYIL05THJDFF2Y08X9SVMTU", fresh);
    const auto reply = receiver.client()->request("POST", "/webhooks/pagerduty",
                                                  pagerduty_headers(body, {kPagerdutyNewSecret}), body);
    REQUIRE(reply.status == 202);
    const auto m = reader.find([&](const ReadMessage& r) { return r.header("ce_id") == "pagerduty:" + fresh; }, 10s);
    REQUIRE(m);
    const auto e = boost::json::parse(m->value).as_object();
    CHECK(text(e, "service") == "pig");
    CHECK(text(e, "team") == "oncall");
    CHECK(m->key == "pig");
  }

  // SIGHUP: the new map is used from the next delivery on.
  write(path, map_text("platform", "hello-web"));
  receiver.process().signal(SIGHUP);
  Published after;
  for (int attempt = 0; attempt < 50; ++attempt) {
    after = deployment(receiver, reader, "production-eu");
    if (text(after.envelope, "team") == "platform") break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(text(after.envelope, "service") == "hello-web");
  CHECK(text(after.envelope, "team") == "platform");
  CHECK(text(after.envelope.at("deployment").as_object(), "environment") == "live");

  // A bad file on reload is refused, saying where; the map in use stays.
  write(path, "services:\n  - name: hello\n    githbu: codertocat/hello-world\n");
  receiver.process().signal(SIGHUP);
  std::string log;
  for (int attempt = 0; attempt < 50 && log.find("not reloaded") == std::string::npos; ++attempt) {
    std::this_thread::sleep_for(100ms);
    std::ifstream in(receiver.log_path());
    log.assign(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(log.find("service map not reloaded") != std::string::npos);
  CHECK(log.find("line 3, column 5: unknown key \\\"githbu\\\" in service \\\"hello\\\"") != std::string::npos);
  const auto still = deployment(receiver, reader, "production");
  CHECK(text(still.envelope, "service") == "hello-web");
  CHECK(receiver.process().running());

  // A changed file is reloaded without a signal (as a Kubernetes ConfigMap
  // or an editor replaces it).
  write(path, map_text("search", "hello-files"));
  Published watched;
  for (int attempt = 0; attempt < 100; ++attempt) {
    watched = deployment(receiver, reader, "production");
    if (text(watched.envelope, "service") == "hello-files") break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(text(watched.envelope, "service") == "hello-files");
  CHECK(text(watched.envelope, "team") == "search");
}

TEST_CASE("a bad service map is refused at start with the place and the reason", "[integration][service-map]") {
  EmbeddedKafka kafka(true);
  const std::string path = temp_path("bad-map") + ".yaml";
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"services:\n  - name: a\n    github: acme/shop\n  - name: b\n    github: acme/shop\n",
            "line 4, column 5: GitHub repository \\\"acme/shop\\\" is claimed by services \\\"a\\\" and \\\"b\\\""},
           {"services:\n  - name: a\n  - name: a\n", "line 3, column 11: service \\\"a\\\" is declared twice"},
           {"services: [\n", "not valid YAML"}}) {
    INFO(text);
    write(path, text);
    const std::string log_path = log_file("parser-bad-map");
    ChildProcess bad(parser_binary(), {},
                     {{"FOURKEYS_KAFKA_BROKERS", kafka.brokers()}, {"FOURKEYS_PARSER_LISTEN", "127.0.0.1:0"},
                      {"FOURKEYS_SERVICE_MAP", path}},
                     false, log_path);
    CHECK(bad.wait(20s) == 2);
    std::ifstream in(log_path);
    const std::string log((std::istreambuf_iterator<char>(in)), {});
    CHECK(log.find("service map refused") != std::string::npos);
    CHECK(log.find(expected) != std::string::npos);
  }
}

namespace {

// Two teams; a monorepo of three services told apart by paths, whose
// deployments say which service by their task; a PagerDuty service; `prod`
// meaning production.
const std::string kMonorepoMap = R"(services:
  - name: checkout
    team: payments
    github: acme/shop
    paths: [services/checkout/]
    deployments: {tasks: [deploy:checkout]}
    pagerduty: [PCHECKOUT]
  - name: cart
    team: payments
    github: acme/shop
    paths: [services/cart]
    deployments: {tasks: [deploy:cart]}
  - name: search
    team: discovery
    github: acme/shop
    paths: [services/search/]
    deployments: {tasks: [deploy:search]}
environments:
  aliases:
    production: [prod]
)";

// The same repository reorganised: cart folded into checkout, search moved
// to another team.
const std::string kReorganisedMap = R"(services:
  - name: checkout
    team: payments
    github: acme/shop
    paths: [services/checkout/, services/cart/]
    deployments: {tasks: [deploy:checkout, deploy:cart]}
    pagerduty: [PCHECKOUT]
  - name: search
    team: platform
    github: acme/shop
    paths: [services/search/]
    deployments: {tasks: [deploy:search]}
environments:
  aliases:
    production: [prod]
)";

std::string at(const std::string& hhmm) {
  // Yesterday, so that every metric window holds it.
  const EpochMillis day = (now_millis() / 86'400'000 - 1) * 86'400'000;
  return format_time(day).substr(0, 11) + hhmm + ":00.000Z";
}

struct CommitSpec {
  std::string sha;
  std::string time;
  std::vector<std::string> files;
};

std::string push_body(const std::string& before, const std::vector<CommitSpec>& commits) {
  boost::json::array list;
  for (const auto& c : commits) {
    boost::json::array files;
    for (const auto& f : c.files) files.emplace_back(f);
    list.push_back(boost::json::object{{"id", c.sha}, {"timestamp", c.time}, {"message", "change " + c.sha},
                                       {"author", {{"name", "dev"}}}, {"added", boost::json::array{}},
                                       {"modified", files}, {"removed", boost::json::array{}}});
  }
  boost::json::object body{{"ref", "refs/heads/main"}, {"before", before}, {"after", commits.back().sha},
                           {"repository", {{"full_name", "acme/shop"}}}, {"commits", list},
                           {"head_commit", list.back()}};
  return boost::json::serialize(body);
}

std::string deployment_body(long long id, const std::string& task, const std::string& sha, const std::string& time) {
  auto body = boost::json::parse(read_fixture("github/deployment_status/success.octokit.json")).as_object();
  auto& d = body["deployment"].as_object();
  d["id"] = id;
  d["task"] = task;
  d["sha"] = sha;
  d["environment"] = "prod";
  d["created_at"] = time;
  d["updated_at"] = time;
  auto& s = body["deployment_status"].as_object();
  s["id"] = id * 10;
  s["environment"] = "prod";
  s["created_at"] = time;
  s["updated_at"] = time;
  body["repository"].as_object()["full_name"] = "acme/shop";
  return boost::json::serialize(body);
}

std::string incident_body(const std::string& id, const std::string& service_id, const std::string& time) {
  auto body = boost::json::parse(read_fixture("pagerduty/v3/incident.triggered.zulip.json")).as_object();
  auto& event = body["event"].as_object();
  event["id"] = "ev-" + id;
  event["occurred_at"] = time;
  auto& data = event["data"].as_object();
  data["id"] = id;
  data["service"].as_object()["id"] = service_id;
  data["service"].as_object()["summary"] = "Checkout API";
  return boost::json::serialize(body);
}

// The deliveries of one morning in the monorepo, each with its delivery id:
// two pushes, a deployment of each service, an incident on checkout.
void send_morning(ReceiverProcess& receiver, const std::string& tag) {
  auto client = receiver.client();
  auto post_github = [&](const std::string& event, const std::string& id, const std::string& body) {
    const auto reply = client->request("POST", "/webhooks/github", github_headers(event, tag + id, body), body);
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    return reply.body;
  };
  const std::string zero(40, '0');
  const std::string first = post_github(
      "push", "push-1",
      push_body(zero, {{"s1", at("10:00"), {"services/checkout/pay.go"}},
                       {"s2", at("10:10"), {"services/cart/cart.go", "services/checkout/api.go"}},
                       {"s3", at("10:20"), {"services/search/index.go", "README.md"}}}));
  // The split delivery lists its parts, one per service.
  CHECK(first.find("\"parts\":[") != std::string::npos);
  CHECK(first.find(tag + "push-1#search") != std::string::npos);
  post_github("push", "push-2", push_body("s3", {{"s4", at("11:00"), {"services/cart/total.go"}}}));
  post_github("deployment_status", "dep-checkout", deployment_body(901, "deploy:checkout", "s4", at("12:00")));
  post_github("deployment_status", "dep-cart", deployment_body(902, "deploy:cart", "s4", at("12:05")));
  post_github("deployment_status", "dep-search", deployment_body(903, "deploy:search", "s3", at("12:10")));
  const std::string incident = incident_body("PINC" + tag, "PCHECKOUT", at("12:30"));
  const auto reply = client->request("POST", "/webhooks/pagerduty", pagerduty_headers(incident, {kPagerdutyNewSecret}),
                                     incident);
  REQUIRE(reply.status == 202);
}

// A pipeline of its own: Kafka, Postgres, the receiver with `map`, a worker.
struct Pipeline {
  explicit Pipeline(const std::string& map_file)
      : kafka(true), receiver(kafka.brokers(), {{"FOURKEYS_SERVICE_MAP", map_file}}),
        worker(kafka.brokers(), db.url()) {
    REQUIRE(receiver.wait_ready(30s));
    REQUIRE(worker.wait_ready(60s));
  }
  // Waits until the worker has stored `events` envelopes and committed them.
  void drain(long long events) {
    REQUIRE(eventually([&] {
      try {
        return std::stoll(db.scalar("SELECT count(*) FROM events_raw")) == events &&
               std::stoll(db.scalar("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets")) >= events;
      } catch (...) {
        return false;
      }
    }, 60s));
  }
  EmbeddedKafka kafka;
  TestDatabase db;
  ReceiverProcess receiver;
  WorkerProcess worker;
};

// Everything the map decides, as text in a stable order: the stored
// events' services and teams, the teams, and every derived table.
std::vector<std::string> mapped_tables(const TestDatabase& db) {
  std::vector<std::string> out;
  for (const char* sql : {
           "SELECT id, service, team, environment FROM events_raw ORDER BY 1",
           "SELECT service, team FROM service_teams ORDER BY 1",
           "SELECT service, change_id, time_created, source, event_type, event_id FROM changes ORDER BY 1, 2",
           "SELECT service, event_id, before_sha, after_sha, commit_shas FROM pushes ORDER BY 1, 2",
           "SELECT service, environment, deploy_id, source, status, main_commit, time_created, "
           "commit_timestamp, rollback_detected, caused_incident, change_count FROM deployment_attempts ORDER BY 1, 3",
           "SELECT service, environment, deploy_id, change_id, lead_time_seconds FROM deployment_changes "
           "ORDER BY 1, 3, 4",
           "SELECT service, environment, source, incident_id, deploy_id, attribution FROM incidents ORDER BY 1, 3, 4",
           "SELECT * FROM metrics_daily ORDER BY 1, 2, 3",
       }) {
    out.push_back(std::string("-- ") + sql);
    for (auto& row : db.query(sql)) out.push_back(std::move(row));
  }
  return out;
}

void require_same(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("row " << i);
    REQUIRE(a[i] == b[i]);
  }
}

}  // namespace

TEST_CASE("with a service map, a monorepo's services, teams, lead times and change failure rates come out right",
          "[integration][service-map][pipeline]") {
  const std::string path = temp_path("monorepo-map") + ".yaml";
  write(path, kMonorepoMap);
  Pipeline p(path);
  send_morning(p.receiver, "a-");
  // push-1 in 3 parts, push-2 in 3, three deployments, one incident.
  p.drain(10);
  const TestDatabase& db = p.db;

  // A commit touching two services belongs to both; README.md to none.
  CHECK(db.query("SELECT service, string_agg(change_id, ',' ORDER BY change_id) FROM changes GROUP BY 1 ORDER BY 1") ==
        std::vector<std::string>{"cart|s2,s4", "checkout|s1,s2", "search|s3"});
  // Each service's deployment brings only its own commits, behind pushes
  // that touched only others.
  CHECK(db.query("SELECT service, environment, change_id, lead_time_seconds FROM deployment_changes ORDER BY 1, 3") ==
        std::vector<std::string>{"cart|production|s2|6900", "cart|production|s4|3900",
                                 "checkout|production|s1|7200", "checkout|production|s2|6600",
                                 "search|production|s3|6600"});
  // prod is production; the PagerDuty incident is checkout's, caused by its
  // deployment, and counts in its change failure rate only.
  CHECK(db.query("SELECT DISTINCT environment FROM deployment_attempts") == std::vector<std::string>{"production"});
  CHECK(db.query("SELECT service, incident_id, deploy_id, attribution FROM incidents") ==
        std::vector<std::string>{"checkout|PINCa-|github:901|window"});
  CHECK(db.query("SELECT service, deployments, failed_deployments FROM metrics_daily "
                 "WHERE environment = 'production' AND deployments > 0 ORDER BY 1") ==
        std::vector<std::string>{"cart|1|0", "checkout|1|1", "search|1|0"});
  CHECK(db.query("SELECT service, team FROM service_teams ORDER BY 1") ==
        std::vector<std::string>{"cart|payments", "checkout|payments", "search|discovery"});
  // The read side groups by team: payments is checkout and cart, two
  // deployments of which one failed.
  const auto [status, body] = p.worker.get("/api/v1/dora?team=payments&days=30");
  INFO(body);
  CHECK(status == 200);
  CHECK(body.find(R"("deployment_frequency":{"deployments":2,)") != std::string::npos);
  CHECK(body.find(R"("lead_time":{"sample_size":4,)") != std::string::npos);
}

TEST_CASE("a changed map and --rebuild give the tables of a pipeline that had the new map from the start",
          "[integration][service-map][pipeline]") {
  const std::string old_path = temp_path("map-before") + ".yaml";
  const std::string new_path = temp_path("map-after") + ".yaml";
  write(old_path, kMonorepoMap);
  write(new_path, kReorganisedMap);

  std::vector<std::string> rebuilt;
  {
    Pipeline before(old_path);
    send_morning(before.receiver, "r-");
    before.drain(10);
    const auto old_tables = mapped_tables(before.db);
    ChildProcess rebuild(worker_binary(), {"--rebuild"},
                         {{"FOURKEYS_KAFKA_BROKERS", before.kafka.brokers()},
                          {"FOURKEYS_DATABASE_URL", before.db.url()},
                          {"FOURKEYS_SERVICE_MAP", new_path}},
                         false, log_file("worker-rebuild-map"));
    REQUIRE(rebuild.wait(120s) == 0);
    rebuilt = mapped_tables(before.db);
    CHECK(rebuilt != old_tables);
  }
  std::vector<std::string> fresh;
  {
    Pipeline after(new_path);
    send_morning(after.receiver, "r-");
    // push-1 and push-2 in 2 parts each now.
    after.drain(8);
    fresh = mapped_tables(after.db);
  }
  require_same(rebuilt, fresh);
  // And what the new map says holds: cart's commits are checkout's now.
  CHECK(std::find(fresh.begin(), fresh.end(), "checkout|platform") == fresh.end());
  CHECK(std::find(fresh.begin(), fresh.end(), "search|platform") != fresh.end());
}

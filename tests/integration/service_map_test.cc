// The receiver with a service map (FOURKEYS_SERVICE_MAP): real GitHub and
// PagerDuty deliveries come out on the events topic under the mapped
// service, with its team, its canonical environment and the service as the
// Kafka key; SIGHUP reloads the map, a bad file is refused with the place
// and the reason (at start: the receiver exits; on reload: the old map
// stays).

#include "common/kafka_reader.h"
#include "tests/support/fixtures.h"
#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"

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

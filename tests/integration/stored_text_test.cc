// Text that looks like SQL, quoting or escapes goes from a webhook to the
// tables and back out of the read side unchanged: a service name, an
// environment, an incident id and title full of quotes, backslashes,
// `'; drop table`, placeholders and non-ASCII. Nothing is ever spliced
// into SQL, and every writer (COPY text, array literals, JSON, Prometheus
// labels) escapes what its format needs.

#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string url_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A Prometheus label value as the text format writes it.
std::string label_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

TEST_CASE("names, environments and titles full of quotes, backslashes and SQL come back unchanged", "[sql]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  ReceiverProcess receiver(kafka.brokers());
  REQUIRE(receiver.wait_ready(30s));
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));

  const std::string suffix = unique_suffix();
  const std::string service = "o'brien\"; DROP TABLE deployments; -- \\x27 \\\\ {\"a\",\"b\"} $1 %s ünïcødé 🚀 a/b " + suffix;
  const std::string environment = "prod'uction\\\"; DELETE FROM incidents WHERE '1'='1'; --";
  const std::string incident_id = "INC-'1'); TRUNCATE events_raw; --\\";
  const std::string title = "it's down: \"quotes\", \\backslashes\\, \ttab, {braces}, E'\\x00'; DROP TABLE incidents; --";
  const std::string sha(40, 'e');

  auto client = receiver.client();
  json::object deployment{{"service", service},
                          {"environment", environment},
                          {"commit_sha", sha},
                          {"commit_timestamp", "2026-01-01T10:00:00Z"},
                          {"deployed_at", "2026-01-01T12:00:00Z"}};
  auto reply = client->request("POST", "/events/deployment", bearer_headers(), json::serialize(deployment));
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  json::object incident{{"incident_id", incident_id}, {"service", service},   {"environment", environment},
                        {"title", title},             {"severity", "SEV'1"}, {"detected_at", "2026-01-01T12:30:00Z"}};
  reply = client->request("POST", "/events/incident", bearer_headers(), json::serialize(incident));
  INFO(reply.body);
  REQUIRE(reply.status == 202);

  REQUIRE(eventually([&] { return db.scalar("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets") == "2"; }, 30s));
  REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM incidents") == "1"; }, 30s));

  // The tables are all there, and hold the text as sent.
  CHECK(db.scalar("SELECT count(*) FROM events_raw") == "2");
  CHECK(db.scalar("SELECT count(*) FROM deployments") == "1");
  CHECK(db.scalar("SELECT service FROM deployments") == service);
  CHECK(db.scalar("SELECT environment FROM deployments") == environment);
  CHECK(db.scalar("SELECT count(*) FROM deployment_changes WHERE service = (SELECT service FROM deployments)") == "1");
  CHECK(db.scalar("SELECT incident_id FROM incidents") == incident_id);
  CHECK(db.scalar("SELECT title FROM incidents") == title);
  CHECK(db.scalar("SELECT environment FROM incidents") == environment);
  CHECK(db.scalar("SELECT severity FROM incidents") == "SEV'1");
  CHECK(db.scalar("SELECT count(*) FROM metrics_daily WHERE service = (SELECT service FROM deployments)") == "1");
  CHECK(db.scalar("SELECT envelope->>'service' FROM events_raw LIMIT 1") == service);

  // The read side gives the same text back, selected by it.
  const auto services = json::parse(worker.get("/api/v1/services").second);
  bool listed = false;
  for (const auto& s : services.at("services").as_array()) {
    if (s.at("service").as_string() == service) {
      listed = true;
      CHECK(s.at("environments").at(0).at("environment").as_string() == environment);
    }
  }
  CHECK(listed);
  const std::string selection = "service=" + url_encoded(service) + "&environment=" + url_encoded(environment) +
                                "&from=2025-12-01&to=2026-01-31";
  const auto [status, body] = worker.get("/api/v1/incidents?" + selection);
  INFO(body);
  REQUIRE(status == 200);
  const auto incidents = json::parse(body).at("incidents").as_array();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].at("incident_id").as_string() == incident_id);
  CHECK(incidents[0].at("title").as_string() == title);
  CHECK(incidents[0].at("service").as_string() == service);
  const auto dora = json::parse(worker.get("/api/v1/dora?" + selection).second);
  CHECK(dora.at("service").as_string() == service);
  CHECK(dora.at("deployment_frequency").at("deployments").as_int64() == 1);
  CHECK(dora.at("lead_time").at("median_seconds").to_number<double>() == 7200);

  // The seed's endpoint takes the name in the path.
  const auto seed = worker.get("/metrics/dora/" + url_encoded(service) + "?days=365");
  INFO(seed.second);
  CHECK(seed.first == 200);
  CHECK(json::parse(seed.second).at("service").as_string() == service);

  // The DORA series carry them as label values, escaped as the text format
  // says.
  const std::string series = "deployments_total{service=\"" + label_escaped(service) + "\",environment=\"" +
                             label_escaped(environment) + "\"} 1";
  std::string exposition;
  const bool exposed = eventually(
      [&] {
        exposition = worker.get("/metrics").second;
        return exposition.find(series) != std::string::npos;
      },
      30s);
  std::string ours;
  for (std::size_t at = exposition.find("deployments_total{"); at != std::string::npos;
       at = exposition.find("deployments_total{", at + 1)) {
    ours += exposition.substr(at, exposition.find('\n', at) - at) + "\n";
  }
  INFO("expected " << series << "\nexposed:\n" << ours);
  CHECK(exposed);
}

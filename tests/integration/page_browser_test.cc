// The worker's built-in dashboard page (GET /) in Debian's Chromium: a real
// fourkeys-worker fills a fresh database from Kafka, then
// tests/browser/page_test.mjs opens the page, picks a service and checks
// what it shows against the worker's /api/v1 answers.

#include "common/time.h"
#include "tests/integration/worker_envelopes.h"
#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {

const std::string kBrowserDir = FOURKEYS_BROWSER_TEST_DIR;
const std::string kScreenshot = FOURKEYS_PAGE_SCREENSHOT;
const char* kChromium = "/usr/bin/chromium";

// posix_spawn does not search PATH; the test finds node itself.
std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string day_time(int days_ago, const std::string& hhmmss) {
  const EpochMillis day = (now_millis() / 86'400'000 - days_ago) * 86'400'000;
  return format_time(day).substr(0, 11) + hhmmss + ".000Z";
}

std::string hours_ago(int hours) { return format_time(now_millis() - hours * 3'600'000LL); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha(char c) { return std::string(40, c); }

// Two services over the last days: pushes, deployments (one unsuccessful
// attempt, one detected rollback), incidents attributed by root cause and
// by window, one still open.
std::vector<std::pair<std::string, std::string>> history() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string co = "acme/checkout", se = "acme/search";
  const std::string zero(40, '0');
  auto add = [&](const std::string& service, std::string envelope) { out.emplace_back(service, std::move(envelope)); };

  add(co, push_envelope("github:co-p1", co, zero, sha('2'),
                        {{sha('1'), day_time(5, "09:00:00")}, {sha('2'), day_time(5, "10:30:00")}}));
  add(co, deployment_envelope("github:co-d1", co, deployed("101", sha('2'), "success", day_time(5, "12:00:00"))));
  add(co, push_envelope("github:co-p2", co, sha('2'), sha('3'), {{sha('3'), day_time(3, "08:00:00")}}));
  add(co, deployment_envelope("github:co-d2", co, deployed("102", sha('3'), "failure", day_time(3, "09:00:00"))));
  add(co, deployment_envelope("github:co-d3", co, deployed("103", sha('3'), "success", day_time(3, "10:00:00"))));
  add(co, incident_envelope("pagerduty:co-i1a", co, incident("PCO1", "open", day_time(3, "10:30:00"))));
  add(co, incident_envelope("pagerduty:co-i1b", co,
                            incident("PCO1", "resolved", day_time(3, "10:30:00"), day_time(3, "11:15:00"))));
  add(co, push_envelope("github:co-p3", co, sha('3'), sha('5'),
                        {{sha('4'), day_time(2, "13:00:00")}, {sha('5'), day_time(2, "14:00:00")}}));
  add(co, deployment_envelope("github:co-d4", co, deployed("104", sha('5'), "success", day_time(2, "15:00:00"))));
  TestIncident root_caused = incident("PCO2", "resolved", day_time(1, "09:00:00"), day_time(1, "12:00:00"));
  root_caused.root_cause_sha = sha('4');
  add(co, incident_envelope("pagerduty:co-i2", co, root_caused));
  // sha 2 again after sha 5: a rollback the worker detects.
  // The latest events name each service's team, as a service map would.
  add(co, with_team(deployment_envelope("github:co-d5", co, deployed("105", sha('2'), "success", day_time(1, "16:00:00"))),
                    "payments"));
  add(co, incident_envelope("pagerduty:co-i3", co, incident("PCO3", "open", hours_ago(2))));

  add(se, push_envelope("github:se-p1", se, zero, sha('b'),
                        {{sha('a'), day_time(4, "07:00:00")}, {sha('b'), day_time(4, "08:00:00")}}));
  add(se, deployment_envelope("github:se-d1", se, deployed("201", sha('b'), "success", day_time(4, "09:30:00"))));
  add(se, push_envelope("github:se-p2", se, sha('b'), sha('c'), {{sha('c'), day_time(2, "10:00:00")}}));
  add(se, with_team(deployment_envelope("github:se-d2", se, deployed("202", sha('c'), "success", day_time(2, "18:00:00"))),
                    "discovery"));
  add(se, incident_envelope("pagerduty:se-i1", se,
                            incident("PSE1", "resolved", day_time(2, "19:00:00"), day_time(2, "19:40:00"))));
  return out;
}

}  // namespace

TEST_CASE("the dashboard page shows the API's numbers in a real browser", "[page][browser]") {
  if (!std::filesystem::exists(kBrowserDir + "/node_modules/playwright-core")) {
    FAIL(kBrowserDir + "/node_modules is missing: run `npm ci` in tests/browser (scripts/test does that)");
  }
  const std::string node = find_node();
  if (node.empty()) FAIL("node is not on PATH: the browser test needs Node.js 20 or later and npm");
  if (::access(kChromium, X_OK) != 0) FAIL("no /usr/bin/chromium: install Debian's chromium package");

  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const auto messages = history();
  publisher.publish_all(messages);

  // Every offset stored: the last batch's rows are committed with them.
  REQUIRE(eventually(
      [&] {
        try {
          return std::stoll(db.scalar("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets")) >=
                 static_cast<long long>(messages.size());
        } catch (...) {
          return false;
        }
      },
      30s));
  REQUIRE(db.scalar("SELECT count(*) FROM events_raw") == std::to_string(messages.size()));
  REQUIRE(db.query("SELECT incident_id, attribution FROM incidents WHERE incident_id IN ('PCO1', 'PCO2') "
                   "ORDER BY 1") == std::vector<std::string>{"PCO1|window", "PCO2|root_cause"});

  {
    const auto [status, body] = worker.get("/api/v1/services");
    INFO("GET /api/v1/services: " << body);
    REQUIRE(status == 200);
  }
  {
    const auto [status, body] = worker.get("/");
    INFO("GET /: " << body.substr(0, 300));
    REQUIRE(status == 200);
    REQUIRE(body.find("page/app.js") != std::string::npos);
  }

  std::filesystem::create_directories(std::filesystem::path(kScreenshot).parent_path());
  std::filesystem::remove(kScreenshot);
  const std::string log_path = log_file("page-test");
  const std::string base = "http://127.0.0.1:" + std::to_string(worker.port());
  ChildProcess browser(node, {kBrowserDir + "/page_test.mjs", base, "acme/checkout", kScreenshot}, {}, false, log_path);
  std::string out;
  try {
    for (;;) out += browser.read_line(90s) + "\n";
  } catch (const std::exception&) {
    // End of its output: it exited (or hung, which wait() reports).
  }
  const int rc = browser.wait(30s);
  const std::string worker_log = worker.log();
  INFO("page_test.mjs stdout:\n" << out << "stderr:\n" << read_file(log_path) << "screenshot: " << kScreenshot
                                 << "\nworker log tail:\n"
                                 << worker_log.substr(worker_log.size() > 4000 ? worker_log.size() - 4000 : 0));
  CHECK(rc == 0);
  CHECK(std::filesystem::exists(kScreenshot));
  std::filesystem::remove(log_path);
}

// fourkeys-generate end to end: its deliveries through the real receiver,
// the embedded Kafka and the real worker, then every number its --expect
// prints compared with GET /api/v1/dora for that service and environment.

#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <sstream>

using namespace fourkeys::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string generate_binary() { return FOURKEYS_GENERATE_BINARY; }

std::map<std::string, std::string> secrets_env() {
  return {{"FOURKEYS_GITHUB_SECRET", kGithubSecret},
          {"FOURKEYS_GITLAB_TOKEN", kGitlabToken},
          {"FOURKEYS_PAGERDUTY_SECRET", kPagerdutyOldSecret + "," + kPagerdutyNewSecret},
          {"FOURKEYS_API_TOKEN", kApiToken}};
}

// Runs fourkeys-generate to its end; returns its exit status and stdout.
std::pair<int, std::string> run_generate(const std::vector<std::string>& args) {
  ChildProcess p(generate_binary(), args, secrets_env(), false, log_file("generate"));
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      out += p.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      out += '\n';
    } catch (const std::runtime_error&) {
      break;  // stdout closed: the program ended
    }
  }
  return {p.wait(10s), out};
}

// Every field of `expected` (recursively) equals the one in `actual`: same
// kind (integer, float, null, string) and same value. Both sides write
// floats as Python's repr does, so equal values are equal texts and parse to
// the same double.
void compare(const json::value& expected, const json::value& actual, const std::string& path,
             std::vector<std::string>& mismatches) {
  auto differ = [&] {
    mismatches.push_back(path + ": expected " + json::serialize(expected) + ", got " + json::serialize(actual));
  };
  switch (expected.kind()) {
    case json::kind::object: {
      if (!actual.is_object()) return differ();
      for (const auto& [key, value] : expected.as_object()) {
        const auto* found = actual.as_object().if_contains(key);
        if (!found) {
          mismatches.push_back(path + "." + std::string(key) + ": missing in the answer");
          continue;
        }
        compare(value, *found, path + "." + std::string(key), mismatches);
      }
      return;
    }
    case json::kind::array: {
      if (!actual.is_array() || actual.as_array().size() != expected.as_array().size()) return differ();
      for (std::size_t i = 0; i < expected.as_array().size(); ++i) {
        compare(expected.as_array()[i], actual.as_array()[i], path + "[" + std::to_string(i) + "]", mismatches);
      }
      return;
    }
    case json::kind::int64:
    case json::kind::uint64:
      if (!(actual.is_int64() || actual.is_uint64()) || json::value_to<std::int64_t>(actual) != json::value_to<std::int64_t>(expected)) {
        differ();
      }
      return;
    case json::kind::double_:
      if (!actual.is_double() || actual.as_double() != expected.as_double()) differ();
      return;
    default:
      if (expected != actual) differ();
  }
}

json::value parse_last_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return json::parse(last);
}

long long events_stored(const TestDatabase& db) {
  try {
    return std::stoll(db.scalar("SELECT count(*) FROM events_raw"));
  } catch (...) {
    return -1;  // not migrated yet
  }
}

struct Pipeline {
  EmbeddedKafka kafka{true};
  TestDatabase db;
  WorkerProcess worker{kafka.brokers(), db.url()};
  ReceiverProcess receiver;

  explicit Pipeline(const std::map<std::string, std::string>& receiver_env = {})
      : receiver(kafka.brokers(), receiver_env) {
    REQUIRE(worker.wait_ready(30s));
    REQUIRE(receiver.wait_ready(30s));
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(receiver.port()); }

  // Sends the history; waits until the worker stored every accepted delivery.
  json::object send(std::vector<std::string> args) {
    args.insert(args.end(), {"--url", url(), "--concurrency", "4", "--quiet"});
    const auto [status, out] = run_generate(args);
    INFO(out);
    REQUIRE(status == 0);
    json::object summary = parse_last_line(out).as_object();
    REQUIRE(summary.at("failed").as_int64() == 0);
    const long long accepted = summary.at("accepted").as_int64();
    REQUIRE(accepted > 0);
    INFO("accepted " << accepted << ", stored " << events_stored(db));
    REQUIRE(eventually([&] { return events_stored(db) == accepted; }, 60s));
    return summary;
  }

  // Each expectation compared with /api/v1/dora; `only` limits the
  // comparison to those sections of the answer.
  void check(const std::vector<std::string>& args, const std::vector<std::string>& only = {}) {
    std::vector<std::string> expect_args = args;
    expect_args.push_back("--expect");
    const auto [status, out] = run_generate(expect_args);
    REQUIRE(status == 0);
    const json::value expected = json::parse(out);
    const auto& all = expected.at("expectations").as_array();
    REQUIRE(all.size() >= 2);
    for (const auto& e : all) {
      const std::string request(e.at("request").as_string());
      const auto [http_status, body] = worker.get(request);
      INFO(request << " -> " << body.substr(0, 400));
      REQUIRE(http_status == 200);
      const json::value actual = json::parse(body);
      std::vector<std::string> mismatches;
      if (only.empty()) {
        compare(e.at("dora"), actual, "dora", mismatches);
      } else {
        for (const std::string& section : only) {
          compare(e.at("dora").at(section), actual.at(section), section, mismatches);
        }
      }
      std::string listed;
      for (std::size_t i = 0; i < mismatches.size() && i < 40; ++i) listed += mismatches[i] + "\n";
      INFO(e.at("service").as_string() << " " << e.at("environment").as_string() << ": " << mismatches.size()
                                        << " mismatches\n" << listed);
      CHECK(mismatches.empty());
    }
  }
};

}  // namespace

TEST_CASE("a generated history gives exactly the numbers --expect prints, for every service and environment",
          "[generate][integration]") {
  Pipeline pipeline;
  const std::vector<std::string> history = {"--seed", "20250314", "--now", "2025-03-14T09:30:00Z",
                                            "--days", "10",       "--services", "4"};
  const json::object summary = pipeline.send(history);
  // Every delivery was answered as the generator meant it: stored, or
  // (ping, in-progress states) ignored.
  CHECK(summary.at("unexpected").as_int64() == 0);
  CHECK(summary.at("dead_lettered").as_int64() == 0);
  CHECK(summary.at("ignored").as_int64() > 0);
  pipeline.check(history);
}

TEST_CASE("Four Keys' generator's shapes through POST / give the numbers --expect prints",
          "[generate][integration]") {
  Pipeline pipeline(std::map<std::string, std::string>{{"FOURKEYS_GITHUB_ALLOW_SHA1", "1"}});
  const std::vector<std::string> history = {"--four-keys", "--seed", "7", "--now", "2025-03-14T09:30:00Z",
                                            "--days",      "6",      "--services", "2"};
  pipeline.send(history);
  pipeline.check(history);
}

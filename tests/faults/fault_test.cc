// Loss accounting under faults. A driver sends a steady stream of signed
// deliveries of every source (fourkeys-generate's histories) to a receiver
// and a worker, and records every delivery answered 2xx; deliveries answered
// 5xx or not at all are sent again, as senders do. While it runs, one fault
// is injected (Kafka down, produce errors, latency; Postgres restarted, its
// connections killed; the worker SIGKILLed, SIGTERMed in a rebalance; the
// receiver SIGTERMed and restarted), then all of them in one run. After
// each run: every delivery answered 202 accepted is in events_raw exactly
// once, nothing else is, and the metric tables equal `--rebuild`'s. The
// table of runs is printed and written to test-artifacts/faults.md.
//
// A last run goes past the embedded broker's retention on purpose (worker
// stopped, load kept on): the worker must report the gap, naming the
// partition and the offsets lost.

#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"
#include "tools/generate/deliveries.h"
#include "tools/generate/history.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {


std::string sql_text_array(const std::set<std::string>& values) {
  std::string out = "ARRAY[";
  bool first = true;
  for (const auto& v : values) {
    std::string quoted = "'";
    for (char c : v) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    out += (first ? "" : ",") + quoted + "'";
    first = false;
  }
  return out + "]::text[]";
}

// The deliveries of one run: a fresh history (its own seed, so its own ids
// and shas) of every source.
std::vector<generate::Delivery> deliveries(std::uint64_t seed, int services, int days) {
  generate::Options options;
  options.seed = seed;
  options.now = (std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count()) * 1000;
  options.days = days;
  options.services = services;
  generate::Secrets secrets;
  secrets.github = {kGithubSecret};
  secrets.gitlab = {kGitlabToken};
  secrets.pagerduty = {kPagerdutyNewSecret};
  secrets.api = {kApiToken};
  return generate::render(generate::simulate(options), secrets);
}

// Sends deliveries at a steady rate on one keep-alive connection, again and
// again until each is answered 2xx (a 4xx is a lost delivery and fails the
// test); counts what it was answered.
class Driver {
 public:
  Driver(unsigned short port, std::vector<generate::Delivery> list, double rate)
      : port_(port), list_(std::move(list)), rate_(rate) {}

  void start() { thread_ = std::thread([this] { run(); }); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  std::size_t sent = 0;           // deliveries
  std::size_t answered_2xx = 0;   // deliveries that ended in a 2xx
  std::size_t answered_503 = 0;   // attempts answered 503
  std::size_t failed_attempts = 0;  // attempts with no answer, or another 5xx
  std::vector<std::string> lost;  // answered 4xx, or never 2xx
  std::set<std::string> accepted;  // envelope ids answered 202 accepted

 private:
  void run() {
    const auto started = std::chrono::steady_clock::now();
    std::unique_ptr<HttpClient> client;
    for (std::size_t i = 0; i < list_.size(); ++i) {
      std::this_thread::sleep_until(started + std::chrono::microseconds(static_cast<long long>(i * 1e6 / rate_)));
      const generate::Delivery& d = list_[i];
      ++sent;
      const auto give_up = std::chrono::steady_clock::now() + 90s;
      auto backoff = 100ms;
      for (;;) {
        int status = 0;
        std::string body;
        try {
          if (!client) client = std::make_unique<HttpClient>("127.0.0.1", port_);
          const auto reply = client->request("POST", d.path, d.headers, d.body);
          status = reply.status;
          body = reply.body;
        } catch (const std::exception&) {
          client.reset();
        }
        if (status >= 200 && status < 300) {
          ++answered_2xx;
          const auto answer = boost::json::parse(body).as_object();
          if (status == 202 && answer.at("status").as_string() == "accepted") {
            accepted.insert(std::string(answer.at("id").as_string()));
          }
          break;
        }
        if (status >= 400 && status < 500) {
          lost.push_back(d.source + " " + d.event + " answered " + std::to_string(status) + ": " + body);
          break;
        }
        if (status == 503) ++answered_503;
        else ++failed_attempts;
        if (std::chrono::steady_clock::now() > give_up) {
          lost.push_back(d.source + " " + d.event + ": never answered 2xx");
          break;
        }
        std::this_thread::sleep_for(backoff);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
      }
    }
  }

  unsigned short port_;
  std::vector<generate::Delivery> list_;
  double rate_;
  std::thread thread_;
};

// Text lz4 cannot shrink much (Kafka's batches are compressed, and the
// broker's limit counts compressed bytes).
std::string noise(std::size_t n, unsigned seed) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = kHex[x & 15];
  }
  return out;
}

void signal_and_wait(ChildProcess& p, int sig) {
  p.signal(sig);
  p.wait(30s);
}

// The receiver, one or two workers, Kafka and a Postgres cluster of the
// test's own, each of which a fault may stop and start again.
struct Pipeline {
  EmbeddedKafka kafka{true, true};
  PostgresCluster cluster;
  TestDatabase db{&cluster};
  unsigned short port = free_port();
  std::unique_ptr<ReceiverProcess> receiver;
  std::vector<std::unique_ptr<WorkerProcess>> workers;

  Pipeline() {
    start_receiver();
    add_worker();
    REQUIRE(workers.front()->wait_ready(60s));
  }

  void start_receiver() {
    receiver = std::make_unique<ReceiverProcess>(
        kafka.brokers(), std::map<std::string, std::string>{{"FOURKEYS_PARSER_LISTEN", "127.0.0.1:" + std::to_string(port)}});
  }
  // The combined run injects its faults from several threads at once: the
  // list of workers changes only under this lock.
  std::mutex workers_mutex;
  void add_worker() {
    std::lock_guard lock(workers_mutex);
    workers.push_back(std::make_unique<WorkerProcess>(kafka.brokers(), db.url()));
  }
  // Stops the oldest worker with `sig`, waits for it to end, and starts
  // another in its place.
  void replace_oldest_worker(int sig) {
    std::lock_guard lock(workers_mutex);
    signal_and_wait(workers.front()->process(), sig);
    workers.erase(workers.begin());
    workers.push_back(std::make_unique<WorkerProcess>(kafka.brokers(), db.url()));
  }

  std::string scalar(const std::string& sql) const {
    for (int attempt = 0;; ++attempt) {
      try {
        return db.scalar(sql);
      } catch (const std::exception&) {
        if (attempt > 100) throw;
        std::this_thread::sleep_for(200ms);  // Postgres restarting
      }
    }
  }

  // One text per derived table: its rows in a fixed order.
  std::vector<std::string> derived() const {
    std::vector<std::string> out;
    for (const char* table : {"deployment_attempts", "deployment_changes", "incidents", "metrics_daily", "service_teams"}) {
      out.push_back(scalar(std::string("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ") +
                           table + " t"));
    }
    return out;
  }

  bool rebuild_equal() {
    const auto before = derived();
    ChildProcess rebuild(worker_binary(), {"--rebuild"},
                         {{"FOURKEYS_KAFKA_BROKERS", kafka.brokers()}, {"FOURKEYS_DATABASE_URL", db.url()}}, false,
                         log_file("worker-rebuild"));
    REQUIRE(rebuild.wait(180s) == 0);
    return derived() == before;
  }
};

struct RunRow {
  std::string fault;
  std::size_t sent = 0, answered_2xx = 0, answered_503 = 0, failed_attempts = 0, accepted = 0, stored = 0;
  long long duplicates = 0;
  bool equal = false;
};

std::string table(const std::vector<RunRow>& rows) {
  std::ostringstream out;
  out << "| fault | deliveries sent | answered 2xx | attempts answered 503 | attempts unanswered | accepted | stored "
         "| duplicates | tables equal to rebuild |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    out << "| " << r.fault << " | " << r.sent << " | " << r.answered_2xx << " | " << r.answered_503 << " | "
        << r.failed_attempts << " | " << r.accepted << " | " << r.stored << " | " << r.duplicates << " | "
        << (r.equal ? "yes" : "NO") << " |\n";
  }
  return out.str();
}

}  // namespace

TEST_CASE("no delivery answered 2xx is lost or doubled under faults, and the tables equal a rebuild", "[faults]") {
  Pipeline p;
  std::set<std::string> all_accepted;
  std::vector<RunRow> rows;
  std::uint64_t seed = 1000;

  const std::vector<std::pair<std::string, std::function<void()>>> faults = {
      {"none", [] {}},
      {"Kafka down for 10 s",
       [&] {
         p.kafka.command("down");
         std::this_thread::sleep_for(10s);
         p.kafka.command("up");
       }},
      {"Kafka produce errors (NOT_ENOUGH_REPLICAS x 200)",
       [&] { p.kafka.command("produce-errors NOT_ENOUGH_REPLICAS 200"); }},
      {"Kafka 300 ms added latency for 6 s",
       [&] {
         p.kafka.command("rtt 300");
         std::this_thread::sleep_for(6s);
         p.kafka.command("rtt 0");
       }},
      {"Postgres stopped for 5 s and restarted",
       [&] {
         std::this_thread::sleep_for(2s);
         p.cluster.stop();
         std::this_thread::sleep_for(5s);
         p.cluster.start();
       }},
      {"Postgres connections killed (pg_terminate_backend) x 6",
       [&] {
         for (int i = 0; i < 6; ++i) {
           std::this_thread::sleep_for(1s);
           p.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()");
         }
       }},
      {"worker SIGKILLed x 3",
       [&] {
         for (int i = 0; i < 3; ++i) {
           std::this_thread::sleep_for(2s);
           p.replace_oldest_worker(SIGKILL);
         }
       }},
      {"two workers, one SIGTERMed during the rebalance",
       [&] {
         std::this_thread::sleep_for(1s);
         p.add_worker();
         std::this_thread::sleep_for(300ms);
         p.replace_oldest_worker(SIGTERM);
       }},
      {"receiver SIGTERMed with requests in flight, restarted",
       [&] {
         std::this_thread::sleep_for(2s);
         signal_and_wait(p.receiver->process(), SIGTERM);
         p.start_receiver();
       }},
  };

  auto run = [&](const std::string& name, const std::vector<std::function<void()>>& injected) {
    INFO(name);
    Driver driver(p.port, deliveries(++seed, 4, 6), 40);
    driver.start();
    std::vector<std::thread> threads;
    for (const auto& f : injected) threads.emplace_back(f);
    for (auto& t : threads) t.join();
    driver.join();
    CHECK(driver.lost.empty());
    for (const auto& l : driver.lost) UNSCOPED_INFO(l);
    all_accepted.insert(driver.accepted.begin(), driver.accepted.end());

    // Every accepted delivery reaches events_raw once the worker catches up.
    const std::string ids = sql_text_array(driver.accepted);
    REQUIRE(eventually([&] { return p.scalar("SELECT count(*) FROM events_raw WHERE id = ANY(" + ids + ")") ==
                                    std::to_string(driver.accepted.size()); },
                       90s));
    // And the workers have read everything Kafka holds, on every partition
    // between them: the derived rows of the last batch are in.
    REQUIRE(eventually([&] {
      double lag = 0;
      std::size_t partitions = 0;
      for (const auto& worker : p.workers) {
        for (const auto& [labels, value] : metric_samples(worker->get("/metrics").second, "fourkeys_worker_consumer_lag")) {
          lag += value;
          ++partitions;
        }
      }
      return lag == 0 && partitions == 6;
    }, 60s));

    RunRow row;
    row.fault = name;
    row.sent = driver.sent;
    row.answered_2xx = driver.answered_2xx;
    row.answered_503 = driver.answered_503;
    row.failed_attempts = driver.failed_attempts;
    row.accepted = driver.accepted.size();
    row.stored = std::stoul(p.scalar("SELECT count(*) FROM events_raw WHERE id = ANY(" + ids + ")"));
    // Rows beyond those accepted (over every run so far): an event stored
    // twice under two ids, or one never answered 2xx.
    row.duplicates = std::stoll(p.scalar("SELECT count(*) FROM events_raw")) - static_cast<long long>(all_accepted.size());
    row.equal = p.rebuild_equal();
    CHECK(row.sent == row.answered_2xx);
    CHECK(row.stored == row.accepted);
    CHECK(row.duplicates == 0);
    CHECK(row.equal);
    rows.push_back(row);
  };

  const char* only = std::getenv("FOURKEYS_FAULTS");  // "combined": only the run with every fault
  if (!only || std::string(only) != "combined") {
    for (const auto& [name, fault] : faults) run(name, {fault});
  }
  std::vector<std::function<void()>> every;
  for (std::size_t i = 1; i < faults.size(); ++i) {
    every.push_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(700 * static_cast<int>(i)));
      faults[i].second();
    });
  }
  run("all of the above in one run", every);

  const std::string text = table(rows);
  std::cout << "\n" << text << std::endl;
  std::ofstream(test_log_dir() + "/../faults.md") << "# Fault runs (tests/faults/fault_test.cc)\n\n" << text;
}

TEST_CASE("past the broker's retention, the worker reports the gap: partition and offsets lost", "[faults][gap]") {
  EmbeddedKafka kafka{true, true};
  TestDatabase db;
  const unsigned short port = free_port();
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_PARSER_LISTEN", "127.0.0.1:" + std::to_string(port)}});
  REQUIRE(receiver.wait_ready(30s));
  const std::string service = "gap-" + unique_suffix();
  auto deployment = [&](int i, std::size_t padding) {
    generate::Delivery d;
    d.source = "api";
    d.event = "deployment";
    d.path = "/events/deployment";
    d.headers = bearer_headers();
    std::ostringstream sha;
    sha << std::hex << std::setw(40) << std::setfill('0') << (i + 1);
    d.body = R"({"service":")" + service + R"(","commit_sha":")" + sha.str() +
             R"(","deployed_at":"2026-01-01T12:00:00Z","notes":")" + noise(padding, static_cast<unsigned>(i)) + R"("})";
    return d;
  };

  // The worker stores the first deployment, then stops.
  {
    WorkerProcess worker(kafka.brokers(), db.url());
    REQUIRE(worker.wait_ready(60s));
    Driver first(port, {deployment(0, 10)}, 10);
    first.start();
    first.join();
    REQUIRE(first.accepted.size() == 1);
    REQUIRE(eventually([&] { return db.scalar("SELECT count(*) FROM events_raw") == "1"; }, 30s));
    worker.process().signal(SIGTERM);
    REQUIRE(worker.process().wait(30s) == 0);
  }
  // Load goes on while no worker runs: 7 MiB into the service's partition,
  // beyond the embedded broker's 5 MiB.
  std::vector<generate::Delivery> more;
  for (int i = 1; i <= 28; ++i) more.push_back(deployment(i, 256 * 1024));
  Driver load(port, more, 20);
  load.start();
  load.join();
  REQUIRE(load.accepted.size() == 28);

  WorkerProcess worker(kafka.brokers(), db.url());
  const std::string partition = db.scalar("SELECT kafka_partition FROM events_raw");
  REQUIRE(eventually([&] { return worker.get("/readyz").second.find("halted at a gap") != std::string::npos; }, 60s));
  const auto ready = worker.get("/readyz");
  CHECK(ready.first == 503);
  CHECK(ready.second.find("partition " + partition + " halted at a gap: offsets 1 to ") != std::string::npos);
  CHECK(db.scalar("SELECT count(*) FROM ingest_gaps WHERE partition = " + partition + " AND from_offset = 1") == "1");
  const long long lost_to = std::stoll(db.scalar("SELECT to_offset FROM ingest_gaps WHERE partition = " + partition));
  CHECK(lost_to > 1);
  CHECK(lost_to < 29);  // some of the 28 are still there: only what Kafka dropped is reported lost
  std::string log;
  REQUIRE(eventually([&] { log = worker.log(); return log.find("events lost") != std::string::npos; }, 10s));
  CHECK(log.find("\"partition\":" + partition) != std::string::npos);
  CHECK(log.find("\"from_offset\":1") != std::string::npos);
  CHECK(log.find("\"to_offset\":" + std::to_string(lost_to)) != std::string::npos);
  // Nothing was skipped quietly: no event past the gap was stored.
  CHECK(db.scalar("SELECT count(*) FROM events_raw") == "1");
}

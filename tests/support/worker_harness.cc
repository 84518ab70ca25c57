#include "tests/support/worker_harness.h"

#include "common/kafka_producer.h"
#include "tests/support/http_client.h"
#include "tests/support/receiver_harness.h"

#include <pqxx/pqxx>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fourkeys::testing {
namespace {

const char* pg_bin() {
  const char* b = std::getenv("PG_BIN");
  return b && *b ? b : "/usr/lib/postgresql/15/bin";
}


int run(const std::vector<std::string>& args) {
  std::string cmd;
  for (const auto& a : args) cmd += "'" + a + "' ";
  cmd += ">/dev/null 2>&1";
  return std::system(cmd.c_str());
}

}  // namespace

PostgresCluster::PostgresCluster() {
  dir_ = temp_path("pgcluster");
  std::filesystem::create_directories(dir_);
  if (geteuid() == 0) run({"chown", "postgres:postgres", dir_});
  port_ = free_port();
  run_as_owner({std::string(pg_bin()) + "/initdb", "-D", dir_ + "/data", "-U", "fourkeys", "-A", "trust",
                "--no-sync"});
  start();
}

PostgresCluster::~PostgresCluster() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PostgresCluster::run_as_owner(const std::vector<std::string>& args) {
  std::vector<std::string> full;
  if (geteuid() == 0) full = {"runuser", "-u", "postgres", "--"};
  full.insert(full.end(), args.begin(), args.end());
  if (run(full) != 0) {
    std::string text;
    for (const auto& a : args) text += a + " ";
    throw std::runtime_error("command failed: " + text);
  }
}

void PostgresCluster::start() {
  run_as_owner({std::string(pg_bin()) + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/postgres.log", "-w", "-o",
                "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off",
                "start"});
}

void PostgresCluster::stop() {
  if (!std::filesystem::exists(dir_ + "/data/postmaster.pid")) return;
  run_as_owner({std::string(pg_bin()) + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"});
}

std::string worker_binary() { return FOURKEYS_WORKER_BINARY; }

std::string PostgresCluster::url(const std::string& database) const {
  return "postgresql://fourkeys@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresCluster::create_database(const std::string& name) {
  pqxx::connection c(url());
  pqxx::nontransaction tx(c);
  tx.exec("CREATE DATABASE " + tx.quote_name(name));
}

TestDatabase::TestDatabase(PostgresCluster* cluster) {
  if (cluster) {
    admin_url_ = cluster->url();
  } else if (const char* u = std::getenv("FOURKEYS_DATABASE_URL"); u && *u) {
    admin_url_ = u;
  } else {
    own_cluster_ = std::make_unique<PostgresCluster>();
    admin_url_ = own_cluster_->url();
  }
  name_ = "fk_test_" + unique_suffix();
  for (auto& c : name_) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  }
  // Same server and credentials, the new database.
  const auto slash = admin_url_.rfind('/');
  const auto query = admin_url_.find('?', slash);
  url_ = admin_url_.substr(0, slash + 1) + name_ + (query == std::string::npos ? "" : admin_url_.substr(query));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
  }
}

std::vector<std::string> TestDatabase::query(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::work tx(c);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) line += '|';
      line += row[static_cast<int>(i)].is_null() ? "NULL" : row[static_cast<int>(i)].c_str();
    }
    out.push_back(std::move(line));
  }
  tx.commit();
  return out;
}

std::string TestDatabase::scalar(const std::string& sql) const {
  const auto rows = query(sql);
  if (rows.empty()) throw std::runtime_error("no rows: " + sql);
  return rows.front().substr(0, rows.front().find('|'));
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::work tx(c);
  tx.exec(sql);
  tx.commit();
}

WorkerProcess::WorkerProcess(const std::string& brokers, const std::string& database_url,
                             const std::vector<std::string>& extra_args) {
  const std::string port_file = temp_path("worker-port");
  log_path_ = log_file("worker");
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--port-file", port_file};
  if (std::find(extra_args.begin(), extra_args.end(), "--batch-wait") == extra_args.end()) {
    args.insert(args.end(), {"--batch-wait", "50ms"});
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::map<std::string, std::string> env = {{"FOURKEYS_KAFKA_BROKERS", brokers},
                                            {"FOURKEYS_DATABASE_URL", database_url}};
  process_ = std::make_unique<ChildProcess>(worker_binary(), args, env, false, log_path_);
  port_ = static_cast<unsigned short>(std::stoi(wait_for_file_line(port_file, std::chrono::seconds(30))));
  std::remove(port_file.c_str());
}

WorkerProcess::~WorkerProcess() = default;

std::string WorkerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::pair<int, std::string> WorkerProcess::get(const std::string& path) const {
  HttpClient client("127.0.0.1", port_);
  auto r = client.request("GET", path, {}, "");
  return {r.status, r.body};
}

bool WorkerProcess::wait_ready(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        try {
          return get("/readyz").first == 200;
        } catch (...) {
          return false;
        }
      },
      timeout);
}

EnvelopePublisher::EnvelopePublisher(const std::string& brokers, std::string topic) : topic_(std::move(topic)) {
  ProducerSettings s;
  s.brokers = brokers;
  s.ack_timeout = std::chrono::seconds(10);
  producer_ = std::make_unique<EventProducer>(s);
}

EnvelopePublisher::~EnvelopePublisher() { producer_->shutdown(); }

void EnvelopePublisher::publish(const std::string& service, const std::string& envelope_json) {
  publish_all({{service, envelope_json}});
}

void EnvelopePublisher::publish_all(const std::vector<std::pair<std::string, std::string>>& items) {
  std::mutex m;
  std::condition_variable cv;
  std::size_t pending = items.size();
  std::string error;
  for (const auto& [service, body] : items) {
    producer_->produce(KafkaMessage{topic_, service, body, {}}, [&](const DeliveryResult& r) {
      std::lock_guard lock(m);
      if (r.status != DeliveryStatus::delivered && error.empty()) error = r.error.empty() ? "failed" : r.error;
      if (--pending == 0) cv.notify_all();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return pending == 0; });
  if (!error.empty()) throw std::runtime_error("publish: " + error);
}

std::map<std::string, double> metric_samples(const std::string& metrics, const std::string& name) {
  std::map<std::string, double> out;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, name.size(), name) != 0 || line.size() <= name.size()) continue;
    std::string labels;
    std::size_t value_at = name.size();
    if (line[name.size()] == '{') {
      const std::size_t close = line.find('}', name.size());
      if (close == std::string::npos) continue;
      labels = line.substr(name.size() + 1, close - name.size() - 1);
      value_at = close + 1;
    }
    if (value_at >= line.size() || line[value_at] != ' ') continue;  // another metric with this prefix
    out[labels] = std::stod(line.substr(value_at + 1));
  }
  return out;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

}  // namespace fourkeys::testing

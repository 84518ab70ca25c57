// Real Postgres and a real fourkeys-worker for integration tests.
//
// TestDatabase gives each test a fresh database on the cluster scripts/test
// started (FOURKEYS_DATABASE_URL); PostgresCluster starts a cluster of the
// test's own when the test must stop and restart Postgres.
#pragma once

#include "tests/support/process.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fourkeys {
class EventProducer;
}

namespace fourkeys::testing {

// A throwaway Postgres cluster in a temporary folder, on a free port.
class PostgresCluster {
 public:
  PostgresCluster();
  ~PostgresCluster();  // stops it and removes the folder
  void stop();         // fast shutdown
  void start();
  // A URL for `database` on this cluster (created by create_database).
  std::string url(const std::string& database = "postgres") const;
  void create_database(const std::string& name);
  int port() const { return port_; }

 private:
  void run_as_owner(const std::vector<std::string>& args);
  std::string dir_;
  int port_ = 0;
};

// A database of its own for one test.
class TestDatabase {
 public:
  // On FOURKEYS_DATABASE_URL's cluster, or on `cluster` when given (or on a
  // cluster started for this test when neither exists).
  explicit TestDatabase(PostgresCluster* cluster = nullptr);
  ~TestDatabase();
  const std::string& url() const { return url_; }

  // Runs `sql` and returns every row, each field as text ("NULL" for null),
  // fields joined by '|'.
  std::vector<std::string> query(const std::string& sql) const;
  // The first field of the first row.
  std::string scalar(const std::string& sql) const;
  void exec(const std::string& sql) const;

 private:
  std::unique_ptr<PostgresCluster> own_cluster_;
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

std::string worker_binary();

class WorkerProcess {
 public:
  WorkerProcess(const std::string& brokers, const std::string& database_url,
                const std::vector<std::string>& extra_args = {});
  ~WorkerProcess();
  unsigned short port() const { return port_; }
  ChildProcess& process() { return *process_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const;
  // GET on the worker's HTTP side: status and body.
  std::pair<int, std::string> get(const std::string& path) const;
  bool wait_ready(std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<ChildProcess> process_;
  unsigned short port_ = 0;
  std::string log_path_;
};

// Publishes envelopes on the events topic as the receiver does (key =
// service), waiting for Kafka's acknowledgement.
class EnvelopePublisher {
 public:
  explicit EnvelopePublisher(const std::string& brokers, std::string topic = "fourkeys.events.v1");
  ~EnvelopePublisher();
  void publish(const std::string& service, const std::string& envelope_json);
  void publish_all(const std::vector<std::pair<std::string, std::string>>& service_and_envelope);

 private:
  std::unique_ptr<EventProducer> producer_;
  std::string topic_;
};

// The samples of metric `name` in a Prometheus text (what /metrics answers):
// the labels as written (`partition="3"`; empty for none) to the value.
std::map<std::string, double> metric_samples(const std::string& metrics, const std::string& name);

// Polls `condition` every 100 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace fourkeys::testing

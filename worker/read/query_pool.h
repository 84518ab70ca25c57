// Runs the read side's Postgres queries off the HTTP threads: a few threads,
// each with its own connection, fed by a bounded queue. An HTTP handler
// submits a query and returns at once; the answer is sent from the pool
// thread when the query is done.
#pragma once

#include "common/http_server.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

class QueryPool {
 public:
  struct Settings {
    std::string database_url;  // may hold a password; never logged
    int connections = 2;
    std::size_t queue_limit = 256;  // queries waiting; beyond it 503 at once
    std::chrono::milliseconds statement_timeout{10000};
  };

  // A query: reads what it needs through the connection (in a transaction
  // of its own) and builds the answer. Runs on a pool thread.
  using Query = std::function<http::Response(pqxx::connection_base&)>;

  explicit QueryPool(Settings settings);
  // Runs what is queued, then stops the threads.
  ~QueryPool();
  QueryPool(const QueryPool&) = delete;
  QueryPool& operator=(const QueryPool&) = delete;

  // Queues `query`; `respond` gets its answer, or 503 with Retry-After when
  // the queue is full or Postgres cannot be reached, or 500 when the query
  // fails otherwise (the reason is logged, not sent).
  void submit(Query query, http::Responder respond);

 private:
  struct Job {
    Query query;
    http::Responder respond;
  };
  void run_thread();

  Settings settings_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fourkeys::worker

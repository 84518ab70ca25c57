#include "worker/read/query_pool.h"

#include "common/log.h"
#include "worker/database.h"

#include <pqxx/pqxx>

namespace fourkeys::worker {

namespace {

http::Response unavailable(std::string_view message) {
  auto response = http::json_error(503, message);
  response.headers.emplace_back("Retry-After", "5");
  return response;
}

}  // namespace

QueryPool::QueryPool(Settings settings) : settings_(std::move(settings)) {
  const int n = settings_.connections > 0 ? settings_.connections : 1;
  threads_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { run_thread(); });
}

QueryPool::~QueryPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void QueryPool::submit(Query query, http::Responder respond) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < settings_.queue_limit) {
      queue_.push_back(Job{std::move(query), std::move(respond)});
      ready_.notify_one();
      return;
    }
  }
  respond(unavailable("too many queries waiting; retry later"));
}

void QueryPool::run_thread() {
  Database database(settings_.database_url);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    http::Response response;
    try {
      const bool fresh = !database.connected();
      pqxx::connection_base& connection = database.get();
      if (fresh) {
        pqxx::nontransaction tx(connection);
        tx.exec("SET statement_timeout = " + std::to_string(settings_.statement_timeout.count()));
        tx.exec("SET application_name = 'fourkeys-worker read side'");
      }
      response = job.query(connection);
    } catch (const std::exception& e) {
      if (classify_database_error(e) == DatabaseErrorKind::unavailable) {
        database.reset();
        log::warn("read query: database unavailable", {{"error", describe_database_error(e)}});
        response = unavailable("the database is unavailable; retry later");
      } else {
        log::error("read query failed", {{"error", describe_database_error(e)}});
        response = http::json_error(500, "the query failed; see the worker's log");
        // A failed statement may leave the connection in an odd state.
        database.reset();
      }
    }
    job.respond(std::move(response));
  }
}

}  // namespace fourkeys::worker

// The worker's Postgres connection, and how its errors are told apart:
// the database going away (pause and retry), a conflict with another
// transaction (retry the batch), or something about the data (find the
// event and dead-letter it).
#pragma once

#include <exception>
#include <memory>
#include <string>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

class Database {
 public:
  // Does not connect yet. `url` is a libpq URI or key=value string; it may
  // hold a password and is never logged.
  explicit Database(std::string url);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The open connection, connecting first when there is none. Throws
  // pqxx::broken_connection when Postgres cannot be reached.
  pqxx::connection_base& get();
  // Drops the connection, after an error that may have left it unusable.
  void reset();
  bool connected() const;

 private:
  std::string url_;
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

enum class DatabaseErrorKind {
  unavailable,  // connection lost, server shutting down or starting: retry later
  conflict,     // deadlock or serialization failure: retry the batch now
  data,         // the statement cannot succeed with this data
};

DatabaseErrorKind classify_database_error(const std::exception& error);

// The error's text without anything from the connection string.
std::string describe_database_error(const std::exception& error);

}  // namespace fourkeys::worker

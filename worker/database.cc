#include "worker/database.h"

#include <pqxx/pqxx>

namespace fourkeys::worker {

struct Database::Connection {
  pqxx::connection connection;
  explicit Connection(const std::string& url) : connection(url) {}
};

Database::Database(std::string url) : url_(std::move(url)) {}
Database::~Database() = default;

pqxx::connection_base& Database::get() {
  if (connection_ && !connection_->connection.is_open()) connection_.reset();
  if (!connection_) {
    auto c = std::make_unique<Connection>(url_);
    // Quiet the NOTICEs of CREATE ... IF NOT EXISTS on temporary tables.
    pqxx::nontransaction tx(c->connection);
    tx.exec("SET client_min_messages = warning");
    tx.commit();
    connection_ = std::move(c);
  }
  return connection_->connection;
}

void Database::reset() { connection_.reset(); }

bool Database::connected() const { return connection_ && connection_->connection.is_open(); }

DatabaseErrorKind classify_database_error(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) || dynamic_cast<const pqxx::in_doubt_error*>(&error)) {
    return DatabaseErrorKind::unavailable;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    const std::string state = sql->sqlstate();
    // 08: connection exception; 57P0x: admin shutdown, crash shutdown,
    // cannot connect now; 53: insufficient resources (disk full, too many
    // connections); 58: system error.
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state.rfind("53", 0) == 0 ||
        state.rfind("58", 0) == 0 || state.empty()) {
      return DatabaseErrorKind::unavailable;
    }
    // 23505: another worker stored the same event id in the same moment.
    if (state == "40001" || state == "40P01" || state == "23505") return DatabaseErrorKind::conflict;
    return DatabaseErrorKind::data;
  }
  return DatabaseErrorKind::data;
}

std::string describe_database_error(const std::exception& error) {
  // libpq's messages name host and port at most, never the password; keep
  // the first line only (the rest repeats the statement).
  std::string text = error.what();
  const auto nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    if (!sql->sqlstate().empty()) text = sql->sqlstate() + ": " + text;
  }
  return text;
}

}  // namespace fourkeys::worker

#include "worker/migrations.h"

#include "common/log.h"

#include <pqxx/pqxx>

#include <set>
#include <stdexcept>

namespace fourkeys::worker {
namespace {

// Any fixed number; shared by every fourkeys worker on the database.
constexpr long long kMigrationLockKey = 0x666f75726b657973LL;  // "fourkeys"

struct SessionLock {
  pqxx::connection_base& connection;
  explicit SessionLock(pqxx::connection_base& c) : connection(c) {
    pqxx::nontransaction tx(connection);
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }
  ~SessionLock() {
    try {
      pqxx::nontransaction tx(connection);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    } catch (...) {
      // The lock goes with the session anyway.
    }
  }
};

}  // namespace

std::string newer_schema_reason(pqxx::transaction_base& tx) {
  static const int newest_known = bundled_migrations().empty() ? 0 : bundled_migrations().back().version;
  const int newest = tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
  if (newest <= newest_known) return {};
  return "a newer worker migrated the database (schema version " + std::to_string(newest) + ", this worker knows " +
         std::to_string(newest_known) + "); nothing is stored until this worker is upgraded";
}

std::vector<int> apply_migrations(pqxx::connection_base& connection) {
  SessionLock lock(connection);
  {
    pqxx::work tx(connection);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::set<int> applied;
  {
    pqxx::work tx(connection);
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
      applied.insert(row[0].as<int>());
    }
    tx.commit();
  }
  std::set<int> known;
  for (const auto& m : bundled_migrations()) known.insert(m.version);
  for (int version : applied) {
    if (!known.count(version)) {
      throw std::runtime_error("the database has schema version " + std::to_string(version) +
                               ", which this worker does not know: a newer worker migrated it");
    }
  }
  std::vector<int> done;
  for (const auto& m : bundled_migrations()) {
    if (applied.count(m.version)) continue;
    pqxx::work tx(connection);
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name);
    tx.commit();
    log::info("migration applied", {{"version", m.version}, {"name", m.name}});
    done.push_back(m.version);
  }
  return done;
}

}  // namespace fourkeys::worker

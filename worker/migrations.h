// Versioned schema migrations (schemas/sql/NNN_name.sql, compiled into the
// program). Applied in order at start; each migration and its row in
// `schema_migrations` commit together, so a crash never leaves one half done.
#pragma once

#include <string>
#include <vector>

namespace pqxx {
class connection_base;
class transaction_base;
}

namespace fourkeys::worker {

struct Migration {
  int version = 0;
  std::string name;  // file name
  std::string sql;
};

// The migrations compiled into this program, by version.
const std::vector<Migration>& bundled_migrations();

// Applies every bundled migration `connection`'s database does not have yet,
// under a session-level advisory lock, so that several workers starting at
// once apply each migration exactly once (the others wait, then find nothing
// to do). Returns the versions applied by this call. Throws pqxx exceptions
// on database errors and std::runtime_error when the database has a version
// this program does not know (a newer worker migrated it).
std::vector<int> apply_migrations(pqxx::connection_base& connection);

// Empty when `tx`'s database has no migration newer than this program's;
// otherwise why this worker must not write to it (a newer worker migrated it
// while this one ran: its tables may no longer be what this worker writes).
// Safe to log. One indexed read of schema_migrations.
std::string newer_schema_reason(pqxx::transaction_base& tx);

}  // namespace fourkeys::worker

// Versioned schema migrations (schemas/sql/NNN_name.sql, compiled into the
// program). Applied in order at start; each migration and its row in
// `schema_migrations` commit together, so a crash never leaves one half done.
#pragma once

#include <string>
#include <vector>

namespace pqxx {
class connection_base;
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

}  // namespace fourkeys::worker

// Access to the shared webhook fixtures (../shared/fixtures beside the
// clone, or FOURKEYS_FIXTURES_DIR). Tests read them in place; they are never
// copied into the repository.
#pragma once

#include <string>
#include <vector>

namespace fourkeys::testing {

// The fixtures root directory.
std::string fixtures_dir();

// Bytes of `relative` (e.g. "github/push/to-default-branch.drone-go-scm.json")
// under the fixtures root, exactly as stored. Throws when missing.
std::string read_fixture(const std::string& relative);

// Every *.json under `relative_dir`, as paths relative to the root, sorted.
std::vector<std::string> list_fixtures(const std::string& relative_dir);

// The schema file schemas/event.v1.schema.json of this checkout.
std::string schema_path();

}  // namespace fourkeys::testing

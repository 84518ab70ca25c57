#include "tests/support/fixtures.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fourkeys::testing {

std::string fixtures_dir() {
  if (const char* dir = std::getenv("FOURKEYS_FIXTURES_DIR")) return dir;
  return FOURKEYS_DEFAULT_FIXTURES_DIR;
}

std::string read_fixture(const std::string& relative) {
  const std::string path = fixtures_dir() + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("fixture not found: " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string> list_fixtures(const std::string& relative_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const fs::path root(fixtures_dir());
  for (const auto& entry : fs::recursive_directory_iterator(root / relative_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      out.push_back(fs::relative(entry.path(), root).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string schema_path() { return FOURKEYS_SCHEMA_PATH; }

}  // namespace fourkeys::testing

// Runs after every other test of the suite (a CTest fixture cleanup): no
// configured secret or token may appear in any log a program wrote or any
// answer a test received during the run (FOURKEYS_TEST_LOG_DIR). A secret is
// reported by its name and the file and line it was found on, never by value.

#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using namespace fourkeys::testing;
namespace fs = std::filesystem;

TEST_CASE("no secret or token appears in the suite's logs and answers", "[secrets]") {
  const fs::path dir = test_log_dir();
  REQUIRE(std::getenv("FOURKEYS_TEST_LOG_DIR"));  // run by CTest after the suite, not on its own
  const std::map<std::string, std::string> names = {
      {kGithubSecret, "FOURKEYS_GITHUB_SECRET"},         {kGitlabToken, "FOURKEYS_GITLAB_TOKEN"},
      {kPagerdutyOldSecret, "FOURKEYS_PAGERDUTY_SECRET (old)"}, {kPagerdutyNewSecret, "FOURKEYS_PAGERDUTY_SECRET (new)"},
      {kApiToken, "FOURKEYS_API_TOKEN"},                 {kPagerdutyApiToken, "FOURKEYS_PAGERDUTY_API_TOKEN"}};
  REQUIRE(names.size() == kAllTestSecrets.size());

  std::size_t files = 0, lines = 0;
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      ++lines;
      for (const auto& [secret, name] : names) {
        if (line.find(secret) != std::string::npos) {
          found.push_back(name + " in " + entry.path().filename().string() + " line " + std::to_string(n));
        }
      }
    }
  }
  INFO(files << " files, " << lines << " lines searched in " << dir.string());
  // Something was written: the logs and answers are being captured at all.
  CHECK(files > 0);
  CHECK(lines > 0);
  for (const auto& f : found) FAIL_CHECK(f);
  CHECK(found.empty());
}

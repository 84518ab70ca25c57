#include <catch2/catch.hpp>

#include "common/settings.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fourkeys::is_truthy;
using fourkeys::load_secrets;
using fourkeys::parse_duration;
using fourkeys::parse_size;
using Strings = std::vector<std::string>;

namespace {

// A scratch directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("fourkeys-settings-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `content` byte for byte to a file in the directory; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out << content;
    out.close();
    REQUIRE(std::filesystem::file_size(p) == content.size());
    return p.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string dir() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("parse_duration reads numbers with units", "[settings]") {
  CHECK(parse_duration("5s") == std::chrono::milliseconds(5000));
  CHECK(parse_duration("250ms") == std::chrono::milliseconds(250));
  CHECK(parse_duration("2m") == std::chrono::milliseconds(120'000));
  CHECK(parse_duration("2min") == std::chrono::milliseconds(120'000));
  CHECK(parse_duration("24h") == std::chrono::milliseconds(86'400'000));
  CHECK(parse_duration("1d") == std::chrono::milliseconds(86'400'000));
  CHECK(parse_duration("0s") == std::chrono::milliseconds(0));
  CHECK(parse_duration("1.5s") == std::chrono::milliseconds(1500));
  CHECK(parse_duration("0.5h") == std::chrono::milliseconds(1'800'000));
  // "m" is minutes, never milliseconds.
  CHECK(parse_duration("1m") != std::chrono::milliseconds(1));
}

TEST_CASE("parse_duration reads a bare number as milliseconds", "[settings]") {
  CHECK(parse_duration("1500") == std::chrono::milliseconds(1500));
  CHECK(parse_duration("0") == std::chrono::milliseconds(0));
  CHECK(parse_duration("30000") == 30s);
}

TEST_CASE("parse_duration tolerates case and spaces", "[settings]") {
  CHECK(parse_duration("5S") == 5s);
  CHECK(parse_duration("250MS") == 250ms);
  CHECK(parse_duration("24H") == 24h);
  CHECK(parse_duration(" 5s ") == 5s);
  CHECK(parse_duration("5 s") == 5s);
  CHECK(parse_duration("\t10m\n") == 10min);
}

TEST_CASE("parse_duration rejects malformed text and unknown units", "[settings]") {
  for (const char* text : {"", " ", "s", "ms", "abc", "5x", "5sec", "5seconds", "5 hours", "5w",
                           "5y", "-5s", "+5s", "5s5", "5s 5", "1.2.3s", ".", ".s", "5,5s", "1e3",
                           "five seconds", "0x10", "5 m s"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

// Guards against this: the value is computed in double and cast to long long without a
// range check; on x86-64 "100000000000000000000000s" (1e26 ms) comes back as
// INT64_MIN, a negative timeout (the cast is undefined behaviour). The code therefore: return
// nullopt when !(ms < 9.2e18) before the cast.
TEST_CASE("parse_duration rejects values that do not fit", "[settings]") {
  const auto d = parse_duration("100000000000000000000000s");
  CHECK_FALSE(d.has_value());
  if (d) CHECK(d->count() > 0);
}

TEST_CASE("parse_size reads binary and decimal units", "[settings]") {
  CHECK(parse_size("25MiB") == std::size_t{26'214'400});
  CHECK(parse_size("1024") == std::size_t{1024});
  CHECK(parse_size("64KiB") == std::size_t{65'536});
  CHECK(parse_size("1MB") == std::size_t{1'000'000});
  CHECK(parse_size("1kB") == std::size_t{1000});
  CHECK(parse_size("2GB") == std::size_t{2'000'000'000});
  CHECK(parse_size("1GiB") == std::size_t{1'073'741'824});
  CHECK(parse_size("4GiB") == std::size_t{4'294'967'296});  // above 32 bits
  CHECK(parse_size("10b") == std::size_t{10});
  CHECK(parse_size("2k") == std::size_t{2048});
  CHECK(parse_size("3m") == std::size_t{3 * 1024 * 1024});
  CHECK(parse_size("1.5KiB") == std::size_t{1536});
  CHECK(parse_size("0") == std::size_t{0});
  // Case and spaces.
  CHECK(parse_size("25mib") == std::size_t{26'214'400});
  CHECK(parse_size(" 25 MiB ") == std::size_t{26'214'400});
  // MiB and MB differ.
  CHECK(parse_size("1MiB") != parse_size("1MB"));
}

TEST_CASE("parse_size rejects malformed text and unknown units", "[settings]") {
  for (const char* text : {"", "MiB", "abc", "25XB", "25 MiBs", "1TiB", "1TB", "-1", "-1KiB",
                           "1.2.3", "25MiB5", "1e6", "0x400", "ten"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_size(text).has_value());
  }
}

// Guards against this: as parse_duration, no range check before the double -> size_t
// cast; "100000000000GiB" (1.07e20 bytes) comes back as 0 on x86-64, which
// would make a body limit of zero. The code therefore: nullopt when !(bytes < 1.8e19).
TEST_CASE("parse_size rejects values that do not fit", "[settings]") {
  const auto s = parse_size("100000000000GiB");
  CHECK_FALSE(s.has_value());
  if (s) CHECK(*s > 0);
}

TEST_CASE("is_truthy accepts 1, true, yes and on in any case", "[settings]") {
  for (const char* text : {"1", "true", "TRUE", "True", "yes", "YES", "Yes", "on", "ON", "On",
                           " true ", "yes\n"}) {
    CAPTURE(text);
    CHECK(is_truthy(text));
  }
  for (const char* text : {"", "0", "false", "no", "off", "2", "t", "y", "yes please", "truee",
                           "enabled", "1.0", "o n"}) {
    CAPTURE(text);
    CHECK_FALSE(is_truthy(text));
  }
}

TEST_CASE("env reads environment variables", "[settings]") {
  const std::string name = "FOURKEYS_SETTINGS_TEST_" + std::to_string(::getpid());
  ::unsetenv(name.c_str());
  CHECK_FALSE(fourkeys::env(name.c_str()).has_value());
  ::setenv(name.c_str(), "value with spaces", 1);
  CHECK(fourkeys::env(name.c_str()) == std::optional<std::string>("value with spaces"));
  ::setenv(name.c_str(), "", 1);
  const auto empty = fourkeys::env(name.c_str());
  REQUIRE(empty.has_value());  // set but empty is not unset
  CHECK(empty->empty());
  ::unsetenv(name.c_str());
  CHECK_FALSE(fourkeys::env(name.c_str()).has_value());
}

TEST_CASE("load_secrets splits an inline list", "[settings]") {
  const auto one = load_secrets("s3cret", "", "FOURKEYS_GITHUB_SECRET");
  CHECK(one.values == Strings{"s3cret"});
  CHECK(one.origin == "FOURKEYS_GITHUB_SECRET");
  CHECK_FALSE(one.empty());

  CHECK(load_secrets("old,new", "", "X").values == Strings{"old", "new"});
  CHECK(load_secrets("old\nnew", "", "X").values == Strings{"old", "new"});
  // Trimmed, empty entries dropped, CRLF handled, inner spaces kept.
  CHECK(load_secrets("  a , b ,\n c\n,,\r\n d \r\n", "", "X").values == Strings{"a", "b", "c", "d"});
  CHECK(load_secrets("pass phrase, other", "", "X").values == Strings{"pass phrase", "other"});
  // Order is kept and duplicates are not an error.
  CHECK(load_secrets("b,a,b", "", "X").values == Strings{"b", "a", "b"});
}

TEST_CASE("load_secrets with nothing configured is empty", "[settings]") {
  const auto none = load_secrets("", "", "FOURKEYS_API_TOKEN");
  CHECK(none.empty());
  CHECK(none.values.empty());
  CHECK(none.origin == "FOURKEYS_API_TOKEN");

  CHECK(load_secrets(",\n, ", "", "X").empty());
}

TEST_CASE("load_secrets falls back to the file", "[settings]") {
  TempDir dir;
  const std::string path = dir.write("github-secret", "file-one\nfile-two, file-three\r\n\n");
  const auto set = load_secrets("", path, "FOURKEYS_GITHUB_SECRET");
  CHECK(set.values == Strings{"file-one", "file-two", "file-three"});
  CHECK(set.origin == "FOURKEYS_GITHUB_SECRET_FILE");

  // A file without a trailing newline, as `printf %s` writes it.
  const std::string bare = dir.write("bare", "only-one");
  CHECK(load_secrets("", bare, "X").values == Strings{"only-one"});

  // An empty file is an empty set, not an error.
  const std::string empty = dir.write("empty", "");
  CHECK(load_secrets("", empty, "X").empty());
}

TEST_CASE("load_secrets prefers the inline value over the file", "[settings]") {
  TempDir dir;
  const std::string path = dir.write("secret", "from-file");
  const auto set = load_secrets("from-env", path, "FOURKEYS_GITLAB_TOKEN");
  CHECK(set.values == Strings{"from-env"});
  CHECK(set.origin == "FOURKEYS_GITLAB_TOKEN");
}

TEST_CASE("load_secrets names the setting and the path of a missing file", "[settings]") {
  TempDir dir;
  const std::string missing = dir.path("does-not-exist");
  try {
    (void)load_secrets("", missing, "FOURKEYS_PAGERDUTY_SECRET");
    FAIL("expected std::runtime_error for " << missing);
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("FOURKEYS_PAGERDUTY_SECRET"));
    CHECK_THAT(what, Catch::Contains(missing));
  }
}

TEST_CASE("load_secrets never puts a secret in an error message", "[settings]") {
  TempDir dir;
  const std::string missing = dir.path("missing-secret-file");
  const std::string secret = "hunter2-inline-value";

  // An inline value with a missing file: the inline value is used, and if
  // anything is thrown it must not carry the secret.
  try {
    const auto set = load_secrets(secret, missing, "FOURKEYS_API_TOKEN");
    CHECK(set.values == Strings{secret});
  } catch (const std::exception& e) {
    const std::string what = e.what();
    CHECK_THAT(what, !Catch::Contains("hunter2"));
    FAIL("load_secrets threw although an inline value was given: " << what);
  }

  // A missing file: the message is exactly the setting and the path.
  try {
    (void)load_secrets("", missing, "FOURKEYS_API_TOKEN");
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, !Catch::Contains("hunter2"));
    CHECK(what == "FOURKEYS_API_TOKEN_FILE: cannot read " + missing);
  }
}

// Guards against this: a path that opens but cannot be read (a directory, e.g. a
// Kubernetes secret volume mounted where a file was expected) gives an empty
// set instead of the documented exception: std::ifstream opens a directory
// and the failed read is not checked. The source then reports "not
// configured" at request time instead of failing at start-up. The code therefore: throw when
// std::filesystem::is_directory(path), and check in.bad() after reading.
TEST_CASE("load_secrets throws for a path that cannot be read as a file", "[settings]") {
  TempDir dir;
  CHECK_THROWS_AS(load_secrets("", dir.dir(), "FOURKEYS_GITHUB_SECRET"), std::runtime_error);
}

#include "parser/root_cause.h"

#include <catch2/catch.hpp>

namespace fourkeys::parser {

TEST_CASE("root cause shas in free text", "[root_cause]") {
  CHECK(find_root_cause_sha("root cause: abcdef1") == "abcdef1");
  CHECK(find_root_cause_sha("Outage.\nRoot Cause: ABCDEF12 (bad config)") == "abcdef12");
  CHECK(find_root_cause_sha("root cause : 0123456789abcdef0123456789abcdef01234567.") ==
        "0123456789abcdef0123456789abcdef01234567");
  CHECK(find_root_cause_sha("root cause - deadbeef") == "deadbeef");
  CHECK(find_root_cause_sha("root cause unknown; root cause: cafebabe1") == "cafebabe1");
  // Too short, too long, a word that merely starts with hex digits, nothing after the marker.
  CHECK(find_root_cause_sha("root cause: abc12").empty());
  CHECK(find_root_cause_sha("root cause: 0123456789abcdef0123456789abcdef012345678").empty());
  CHECK(find_root_cause_sha("root cause: deadbeefzz").empty());
  CHECK(find_root_cause_sha("root cause:").empty());
  CHECK(find_root_cause_sha("root").empty());
  CHECK(find_root_cause_sha("").empty());
}

}  // namespace fourkeys::parser

TEST_CASE("root cause forms written in GitLab issue descriptions") {
  using fourkeys::parser::find_root_cause_sha;
  CHECK(find_root_cause_sha("root cause: 58793660b22d6ceacbdc23b28a0562bca339702c") ==
        "58793660b22d6ceacbdc23b28a0562bca339702c");
  CHECK(find_root_cause_sha("ROOT CAUSE:abc1234.") == "abc1234");
  CHECK(find_root_cause_sha("Root cause: `ABC1234`") == "abc1234");
  CHECK(find_root_cause_sha("root cause:\tabc1234_x").empty());  // a word, not a sha
  CHECK(find_root_cause_sha("root cause: abc12").empty());       // too short for a sha
  CHECK(find_root_cause_sha("root cause: deadbeefcafez").empty());
  CHECK(find_root_cause_sha("no cause named").empty());
}

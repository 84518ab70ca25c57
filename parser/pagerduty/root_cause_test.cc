#include "parser/pagerduty/root_cause.h"

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

#include <catch2/catch.hpp>

#include "common/time.h"

#include <string>
#include <string_view>

using fourkeys::epoch_number_to_millis;
using fourkeys::EpochMillis;
using fourkeys::format_time;
using fourkeys::now_millis;
using fourkeys::parse_time;

namespace {

// 2025-05-02T11:55:16Z, checked against Python's datetime.
constexpr EpochMillis kMay2 = 1746186916000;

// The millis of `text`, or a sentinel that no test expects when it does not parse.
EpochMillis millis_of(std::string_view text) {
  const auto parsed = parse_time(text);
  return parsed ? parsed->millis : -999'999'999'999'999;
}

}  // namespace

TEST_CASE("parse_time reads RFC 3339 UTC with Z", "[time]") {
  const auto t = parse_time("2025-05-02T11:55:16Z");
  REQUIRE(t.has_value());
  CHECK(t->millis == kMay2);
  CHECK(t->had_zone);

  // Lowercase separators are allowed by RFC 3339.
  CHECK(millis_of("2025-05-02t11:55:16z") == kMay2);
  // Space instead of T.
  CHECK(millis_of("2025-05-02 11:55:16Z") == kMay2);
  // Seconds may be left out.
  CHECK(millis_of("2025-05-02T11:55Z") == kMay2 - 16'000);
  CHECK(millis_of("1970-01-01T00:00:00Z") == 0);
  CHECK(millis_of("2000-01-01T00:00:00Z") == 946684800000);
}

TEST_CASE("parse_time applies numeric offsets in every spelling", "[time]") {
  // The same instant, written in several zones.
  CHECK(millis_of("2025-05-02T13:55:16+02:00") == kMay2);
  CHECK(millis_of("2025-05-02T13:55:16+0200") == kMay2);
  CHECK(millis_of("2025-05-02T13:55:16+02") == kMay2);
  CHECK(millis_of("2025-05-02T04:55:16-07:00") == kMay2);
  CHECK(millis_of("2025-05-02T04:55:16-0700") == kMay2);
  CHECK(millis_of("2025-05-02T04:55:16-07") == kMay2);
  CHECK(millis_of("2025-05-02T17:25:16+05:30") == kMay2);
  CHECK(millis_of("2025-05-02T06:10:16-05:45") == kMay2);
  CHECK(millis_of("2025-05-02T11:55:16+00:00") == kMay2);
  CHECK(millis_of("2025-05-02T11:55:16-00:00") == kMay2);
  // An offset that crosses midnight and a month boundary.
  CHECK(millis_of("2025-05-01T23:00:00-13:00") == millis_of("2025-05-02T12:00:00Z"));
  CHECK(millis_of("2025-06-01T01:00:00+02:00") == millis_of("2025-05-31T23:00:00Z"));

  const auto t = parse_time("2025-05-02T13:55:16+02:00");
  REQUIRE(t.has_value());
  CHECK(t->had_zone);
}

TEST_CASE("parse_time reads GitLab's formats", "[time]") {
  const auto plus = parse_time("2025-05-02 11:55:16 +0000");
  REQUIRE(plus.has_value());
  CHECK(plus->millis == kMay2);
  CHECK(plus->had_zone);

  const auto utc = parse_time("2025-05-02 11:55:16 UTC");
  REQUIRE(utc.has_value());
  CHECK(utc->millis == kMay2);
  CHECK(utc->had_zone);

  CHECK(millis_of("2025-05-02 13:55:16 +0200") == kMay2);
  CHECK(millis_of("2025-05-02 04:55:16 -0700") == kMay2);
}

TEST_CASE("parse_time reads a time without a zone as UTC and says so", "[time]") {
  for (const char* text : {"2025-05-02T11:55:16", "2025-05-02 11:55:16"}) {
    CAPTURE(text);
    const auto t = parse_time(text);
    REQUIRE(t.has_value());
    CHECK(t->millis == kMay2);
    CHECK_FALSE(t->had_zone);
  }
  const auto frac = parse_time("2025-05-02T11:55:16.250");
  REQUIRE(frac.has_value());
  CHECK(frac->millis == kMay2 + 250);
  CHECK_FALSE(frac->had_zone);
}

TEST_CASE("parse_time truncates fractional seconds to milliseconds", "[time]") {
  CHECK(millis_of("2025-05-02T11:55:16.1Z") == kMay2 + 100);
  CHECK(millis_of("2025-05-02T11:55:16.12Z") == kMay2 + 120);
  CHECK(millis_of("2025-05-02T11:55:16.123Z") == kMay2 + 123);
  CHECK(millis_of("2025-05-02T11:55:16.000Z") == kMay2);
  CHECK(millis_of("2025-05-02T11:55:16.123456Z") == kMay2 + 123);
  CHECK(millis_of("2025-05-02T11:55:16.123456789Z") == kMay2 + 123);
  // Truncated, not rounded.
  CHECK(millis_of("2025-05-02T11:55:16.9999Z") == kMay2 + 999);
  CHECK(millis_of("2025-05-02T11:55:16.0009Z") == kMay2);
  // Fraction followed by an offset.
  CHECK(millis_of("2025-05-02T13:55:16.5+02:00") == kMay2 + 500);
  CHECK(millis_of("2025-05-02 11:55:16.042 +0000") == kMay2 + 42);
  // A dot with no digits is not a fraction.
  CHECK_FALSE(parse_time("2025-05-02T11:55:16.Z").has_value());
}

TEST_CASE("parse_time handles times before 1970", "[time]") {
  CHECK(millis_of("1969-12-31T23:59:59Z") == -1000);
  CHECK(millis_of("1969-12-31T23:59:59.500Z") == -500);
  CHECK(millis_of("1969-12-31T23:59:59.999Z") == -1);
  CHECK(millis_of("1900-01-01T00:00:00Z") == -2208988800000);
  CHECK(millis_of("1600-03-01T00:00:00Z") == -11670912000000);
  CHECK(millis_of("0001-01-01T00:00:00Z") == -62135596800000);
  CHECK(millis_of("1970-01-01T01:00:00+02:00") == -3'600'000);
}

TEST_CASE("parse_time accepts leap days only in leap years", "[time]") {
  CHECK(millis_of("2024-02-29T00:00:00Z") == 1709164800000);
  CHECK(parse_time("2000-02-29T00:00:00Z").has_value());  // divisible by 400
  CHECK_FALSE(parse_time("1900-02-29T00:00:00Z").has_value());  // divisible by 100
  CHECK_FALSE(parse_time("2025-02-29T00:00:00Z").has_value());
  CHECK_FALSE(parse_time("2024-02-30T00:00:00Z").has_value());
  CHECK_FALSE(parse_time("2025-02-30T00:00:00Z").has_value());
}

TEST_CASE("parse_time rejects out-of-range fields", "[time]") {
  for (const char* text : {
           "2025-04-31T00:00:00Z",       // April has 30 days
           "2025-06-31T00:00:00Z",
           "2025-13-01T00:00:00Z",
           "2025-00-10T00:00:00Z",
           "2025-05-00T00:00:00Z",
           "2025-05-32T00:00:00Z",
           "2025-05-02T24:00:00Z",       // hour 24
           "2025-05-02T23:60:00Z",
           "2025-05-02T23:59:61Z",
           "2025-05-02T11:55:16+24:00",  // offset hours
           "2025-05-02T11:55:16+05:60",  // offset minutes
       }) {
    CAPTURE(text);
    CHECK_FALSE(parse_time(text).has_value());
  }
}

TEST_CASE("parse_time folds a leap second into the next second", "[time]") {
  CHECK(millis_of("2016-12-31T23:59:60Z") == millis_of("2017-01-01T00:00:00Z"));
  CHECK(millis_of("2016-12-31T23:59:60Z") == 1483228800000);
}

TEST_CASE("parse_time rejects garbage and partial times", "[time]") {
  for (const char* text : {
           "",
           " ",
           "garbage",
           "1746186916",                  // an epoch number is not a time string
           "2025-05-02",                  // date only
           "2025-05-02T",
           "2025-05-02T11",
           "2025-05-02T11:",
           "2025-5-2T11:55:16Z",          // fields must be two digits
           "25-05-02T11:55:16Z",
           "2025/05/02 11:55:16",
           "2025-05-02X11:55:16Z",
           "2025-05-02T11:55:16+",
           "2025-05-02T11:55:16+2",
           "2025-05-02T11:55:16+02:",
           "2025-05-02T11:55:16+02:0",
           "2025-05-02T11:55:16+02:00:00",
           "2025-05-02T11:55:16ZZ",
           "2025-05-02T11:55:16Z junk",
           "2025-05-02 11:55:16 PST",
           "2025-05-02 11:55:16 UTCX",
           "Fri, 02 May 2025 11:55:16 GMT",
       }) {
    CAPTURE(text);
    CHECK_FALSE(parse_time(text).has_value());
  }
}

TEST_CASE("parse_time ignores surrounding spaces and a trailing newline", "[time]") {
  CHECK(millis_of(" 2025-05-02T11:55:16Z") == kMay2);
  CHECK(millis_of("2025-05-02T11:55:16Z \n") == kMay2);
}

TEST_CASE("format_time writes RFC 3339 UTC with milliseconds", "[time]") {
  CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time(kMay2) == "2025-05-02T11:55:16.000Z");
  CHECK(format_time(kMay2 + 7) == "2025-05-02T11:55:16.007Z");
  CHECK(format_time(kMay2 + 123) == "2025-05-02T11:55:16.123Z");
  CHECK(format_time(1709164800000) == "2024-02-29T00:00:00.000Z");
  CHECK(format_time(1709164799999) == "2024-02-28T23:59:59.999Z");
  CHECK(format_time(253402300799999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("format_time handles negative epochs", "[time]") {
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_time(-500) == "1969-12-31T23:59:59.500Z");
  CHECK(format_time(-999) == "1969-12-31T23:59:59.001Z");
  CHECK(format_time(-1000) == "1969-12-31T23:59:59.000Z");
  CHECK(format_time(-1001) == "1969-12-31T23:59:58.999Z");
  CHECK(format_time(-86'400'000) == "1969-12-31T00:00:00.000Z");
  CHECK(format_time(-86'400'001) == "1969-12-30T23:59:59.999Z");
  CHECK(format_time(-2208988800000) == "1900-01-01T00:00:00.000Z");
  CHECK(format_time(-11670912000000) == "1600-03-01T00:00:00.000Z");
  CHECK(format_time(-11670912000001) == "1600-02-29T23:59:59.999Z");
  CHECK(format_time(-62135596800000) == "0001-01-01T00:00:00.000Z");
}

TEST_CASE("format_time and parse_time round-trip across centuries", "[time]") {
  // Steps of about 3.4 days (an odd number of milliseconds, so the time of
  // day and the millisecond part keep changing) from 1600 to 2400: both sides
  // of 1970, through the century and 400-year leap rules.
  constexpr EpochMillis kFrom = -11670912000000;  // 1600-03-01
  constexpr EpochMillis kTo = 13574649600000;     // 2400-03-01
  std::size_t checked = 0;
  std::size_t mismatches = 0;
  for (EpochMillis m = kFrom; m < kTo; m += 7'919'000 * 37 + 13) {
    const std::string text = format_time(m);
    const auto back = parse_time(text);
    if (!back || back->millis != m || !back->had_zone || text.size() != 24) {
      ++mismatches;
      if (mismatches < 5) {
        FAIL_CHECK("round trip failed for " << m << " -> " << text);
      }
    }
    ++checked;
  }
  CHECK(checked > 80'000);
  CHECK(mismatches == 0);
}

TEST_CASE("epoch_number_to_millis tells seconds from milliseconds", "[time]") {
  CHECK(epoch_number_to_millis(0) == 0);
  CHECK(epoch_number_to_millis(1746186916) == kMay2);
  CHECK(epoch_number_to_millis(1746186916.5) == kMay2 + 500);
  CHECK(epoch_number_to_millis(1746186916.123) == kMay2 + 123);
  // Milliseconds are passed through.
  CHECK(epoch_number_to_millis(1746186916123.0) == kMay2 + 123);
  CHECK(epoch_number_to_millis(static_cast<double>(kMay2)) == kMay2);
  // The boundary: 1e11 is still seconds (year 5138), just above it is milliseconds.
  CHECK(epoch_number_to_millis(1e11) == 100'000'000'000'000);
  CHECK(epoch_number_to_millis(100'000'000'001.0) == 100'000'000'001);
  // Before 1970.
  CHECK(epoch_number_to_millis(-1) == -1000);
  CHECK(epoch_number_to_millis(-1.5) == -1500);
  CHECK(epoch_number_to_millis(-2208988800.0) == -2208988800000);
  CHECK(format_time(epoch_number_to_millis(1746186916)) == "2025-05-02T11:55:16.000Z");
}

// Guards against this: the conversion truncates `value * 1000.0`, and for many decimal
// fractions the product lands just below the integer (1.001 * 1000.0 is
// 1000.9999999999999), so a millisecond is lost. The code therefore: std::llround.
TEST_CASE("epoch_number_to_millis keeps the milliseconds a sender wrote", "[time]") {
  CHECK(epoch_number_to_millis(1.001) == 1001);
  CHECK(epoch_number_to_millis(1082083438.317) == 1082083438317);
  CHECK(format_time(epoch_number_to_millis(1082083438.317)) == "2004-04-16T02:43:58.317Z");
}

TEST_CASE("now_millis reads the wall clock", "[time]") {
  const EpochMillis before = now_millis();
  CHECK(before > 1'704'067'200'000);  // after 2024-01-01
  CHECK(before < 4'102'444'800'000);  // before 2100-01-01
  CHECK(now_millis() >= before);
}

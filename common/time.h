// Time handling shared by every source: senders write times in many shapes,
// the envelope carries one (RFC 3339, UTC, milliseconds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fourkeys {

// Milliseconds since the Unix epoch, UTC.
using EpochMillis = std::int64_t;

struct ParsedTime {
  EpochMillis millis = 0;
  // False when the text carried no zone and was read as UTC (a default the
  // caller may want to count).
  bool had_zone = true;
};

// Parses the time formats senders use:
//   RFC 3339 / ISO 8601 with `Z` or `±hh:mm` / `±hhmm` / `±hh` offsets, `T` or space
//   between date and time, any number of fractional digits (truncated to ms);
//   GitLab's `2025-05-02 11:55:16 +0000` and `2025-05-02 11:55:16 UTC`;
//   a time with no zone (read as UTC, had_zone = false).
// Returns nullopt for anything else, including out-of-range fields and
// instants (after the offset) outside the years 0000-9999.
std::optional<ParsedTime> parse_time(std::string_view text);

// Epoch seconds (or milliseconds when `value` is above 1e11, as no sender
// writes seconds that far in the future) to EpochMillis.
EpochMillis epoch_number_to_millis(double value);

// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
std::string format_time(EpochMillis millis);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day
// 1-31; not checked against the month's length).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

// The wall clock now, for received_at.
EpochMillis now_millis();

}  // namespace fourkeys

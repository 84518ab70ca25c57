#include "common/time.h"

#include <chrono>
#include <cmath>

#include <fmt/compile.h>

namespace fourkeys {

// Howard Hinnant's days_from_civil: proleptic Gregorian date to days since 1970-01-01.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Reads exactly n digits.
  bool digits(int n, int& out) {
    out = 0;
    for (int k = 0; k < n; ++k) {
      const char c = peek();
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
      ++i_;
    }
    return true;
  }
  void skip_spaces() {
    while (peek() == ' ') ++i_;
  }
  std::string_view rest() const { return s_.substr(i_); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace


std::optional<ParsedTime> parse_time(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  Cursor c(text);
  int year, month, day, hour, minute, second = 0;
  if (!c.digits(4, year) || !c.eat('-') || !c.digits(2, month) || !c.eat('-') ||
      !c.digits(2, day)) {
    return std::nullopt;
  }
  if (!(c.eat('T') || c.eat('t') || c.eat(' '))) return std::nullopt;
  if (!c.digits(2, hour) || !c.eat(':') || !c.digits(2, minute)) return std::nullopt;
  if (c.eat(':') && !c.digits(2, second)) return std::nullopt;
  int millis = 0;
  if (c.eat('.') || c.eat(',')) {
    int scale = 100;
    bool any = false;
    while (c.peek() >= '0' && c.peek() <= '9') {
      millis += (c.peek() - '0') * scale;
      scale /= 10;
      any = true;
      int ignored;
      c.digits(1, ignored);
    }
    if (!any) return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(days_in_month(year, month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  c.skip_spaces();
  int offset_minutes = 0;
  bool had_zone = true;
  if (c.done()) {
    had_zone = false;
  } else if (c.eat('Z') || c.eat('z')) {
  } else if (c.rest() == "UTC" || c.rest() == "GMT") {
    c = Cursor("");
  } else if (c.peek() == '+' || c.peek() == '-') {
    const int sign = c.peek() == '-' ? -1 : 1;
    c.eat(c.peek());
    int oh, om = 0;
    if (!c.digits(2, oh)) return std::nullopt;
    if (c.eat(':')) {
      if (!c.digits(2, om)) return std::nullopt;
    } else if (!c.done()) {
      if (!c.digits(2, om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  // A leap second (":60") folds into the next second, as most systems do.
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second -
                            static_cast<std::int64_t>(offset_minutes) * 60;
  // Envelopes write four-digit years (the schema's `time`): an offset that
  // moves 0000-01-01 or 9999-12-31 across the year boundary gives an instant
  // format_time cannot write in that shape, so it is out of range too.
  constexpr std::int64_t kFirstSecond = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kEndSecond = 253402300800;    // 10000-01-01T00:00:00Z
  if (secs < kFirstSecond || secs >= kEndSecond) return std::nullopt;
  return ParsedTime{secs * 1000 + millis, had_zone};
}

EpochMillis epoch_number_to_millis(double value) {
  if (value > 1e11 || value < -1e11) return static_cast<EpochMillis>(std::llround(value));
  return static_cast<EpochMillis>(std::llround(value * 1000.0));
}

std::string format_time(EpochMillis millis) {
  std::int64_t secs = millis / 1000;
  std::int64_t ms = millis % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  // fmt with the format compiled in: the receiver formats several times per
  // request, and snprintf parses its format string each time.
  char buf[64];
  char* end = fmt::format_to(buf, FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z"), y, m, d,
                                   rem / 3600, rem % 3600 / 60, rem % 60, ms);
  return std::string(buf, static_cast<std::size_t>(end - buf));
}

EpochMillis now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace fourkeys

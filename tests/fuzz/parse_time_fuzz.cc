// Fuzz target: parse_time (common/time.h) on any text. A time it accepts must
// come back out of format_time in the envelope's shape
// (YYYY-MM-DDTHH:MM:SS.mmmZ, the schema's `time` pattern) and parse again to
// the same instant; otherwise a normalizer would publish a time the worker
// rejects or reads differently.
#include "common/time.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstring>

namespace {

bool envelope_time_shape(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (s.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != kShape[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const std::string_view text = fuzz::as_text(data, size);
  if (const auto parsed = parse_time(text)) {
    const std::string formatted = format_time(parsed->millis);
    fuzz::check(envelope_time_shape(formatted), "an accepted time formats outside the envelope's shape",
                std::string(text) + " -> " + formatted);
    const auto again = parse_time(formatted);
    fuzz::check(again && again->millis == parsed->millis && again->had_zone,
                "a formatted time does not parse back to the same instant",
                std::string(text) + " -> " + formatted);
  }
  // format_time on any instant, and the epoch-number reading senders'
  // numeric times go through: no overflow or out-of-bounds write.
  if (size >= sizeof(std::int64_t)) {
    std::int64_t millis;
    std::memcpy(&millis, data, sizeof millis);
    (void)format_time(millis);
    double number;
    std::memcpy(&number, data, sizeof number);
    (void)epoch_number_to_millis(number);
  }
  return 0;
}

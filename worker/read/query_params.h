// Query strings of the read side's GET requests, read as the seed's FastAPI
// service reads them: form decoding ('+' is a space), the last of repeated
// parameters wins, integers as Python's int() accepts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fourkeys::worker {

class QueryParams {
 public:
  explicit QueryParams(std::string_view query);
  // The decoded value of the last `name=` in the query ("" for a bare
  // `name`); nullopt when absent.
  std::optional<std::string> get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Percent-decoding; a '%' not followed by two hex digits is kept as it is,
// and bytes that are not UTF-8 become U+FFFD (as Python's unquote does).
// Query strings take '+' as a space, paths do not.
std::string percent_decode(std::string_view text, bool plus_is_space = true);

// Python's int() on a str: surrounding whitespace, an optional sign, ASCII
// digits with single underscores between them, at most 4300 digits. nullopt
// otherwise or when it does not fit in 64 bits. (Python also takes non-ASCII
// decimal digits; these do not.)
std::optional<std::int64_t> parse_python_int(std::string_view text);

// The sign (-1, 0, 1) of what Python's int() makes of `text`, however large;
// nullopt when int() refuses it.
std::optional<int> python_int_sign(std::string_view text);

}  // namespace fourkeys::worker

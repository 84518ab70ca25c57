// JSON helpers over Boost.JSON, shared by the parser and the worker.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fourkeys::json {

struct ParseError {
  std::size_t offset = 0;  // byte offset in the input where parsing stopped
  std::string message;     // what was wrong there
};

// Parses a complete JSON text. On failure fills `error` (offset and message)
// and returns nullopt. Trailing non-space bytes after the value are an error,
// as are numbers beyond the range of a double. The value owns its storage
// (one arena per document, released when the last copy sharing it goes).
// Nesting limits: a delivery body may nest 64 levels; an envelope holds a
// body one level down, so it may nest one more.
enum class Nesting { body, envelope };
std::optional<boost::json::value> parse(std::string_view text, ParseError& error, Nesting nesting = Nesting::body);

// For readers that run a Boost.JSON basic_parser of their own instead of
// building a tree (they read a few fields of a large body in one pass):
// the options parse() uses for `nesting`,
boost::json::parse_options parse_options(Nesting nesting);
// whether `text` held exactly one JSON value once write_some(false, ...) over
// all of it returned `consumed` and `ec`, with `error` filled as parse()
// fills it when not,
bool complete_value(std::string_view text, std::size_t consumed, const boost::system::error_code& ec,
                    ParseError& error);
// and the error parse() reports when a number is beyond the range of a double.
ParseError number_too_large();

// Moves `source` into `target`, keeping source's storage. Boost.JSON's move
// assignment copies the whole tree when the two use different storage (a
// parsed body lives in its own arena), so normalizers use this instead.
inline void move_into(boost::json::value& target, boost::json::value&& source) noexcept {
  std::destroy_at(&target);
  std::construct_at(&target, std::move(source));
}

// Appends `text` to `out` as a JSON string literal, escaped as
// boost::json::serialize escapes it (quotes, backslashes, control
// characters), without allocating a string per call. Bytes are copied as
// they are: text that may not be valid UTF-8 must be repaired first when the
// result must be valid JSON.
void append_string(std::string& out, std::string_view text);

// Walks a path of object keys ("a", "b", "c" means v["a"]["b"]["c"]).
// Returns nullptr when any step is missing or not an object.
const boost::json::value* find(const boost::json::value& v, std::initializer_list<std::string_view> path);

// The string at `path`, or nullopt when missing, null or not a string.
std::optional<std::string> get_string(const boost::json::value& v,
                                      std::initializer_list<std::string_view> path);

// The string at `path`; numbers are written in decimal (ids that some
// senders send as numbers and others as strings). Empty when absent.
std::string get_id(const boost::json::value& v, std::initializer_list<std::string_view> path);

std::optional<std::int64_t> get_int(const boost::json::value& v,
                                    std::initializer_list<std::string_view> path);

// True only when the value at `path` is the boolean true.
bool get_bool(const boost::json::value& v, std::initializer_list<std::string_view> path);

// Serializes with object keys sorted at every level and no whitespace, so two
// bodies that differ only in key order or spacing give the same text.
std::string canonical(const boost::json::value& v);

}  // namespace fourkeys::json

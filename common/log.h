// Structured logs: one JSON object per line on stderr, so that log shippers
// can index fields (request id, source, event, status, latency) without
// parsing prose. Never pass secrets or signature values as fields.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace fourkeys::log {

enum class Level { debug, info, warn, error };

// Sets the program name written on every line and the lowest level shown.
// Safe to call once at start, before other threads log. Lines are written
// by a background thread a few milliseconds later, several in one write: a
// line logged just before a crash may be lost, one logged before a normal
// exit (return from main, std::exit) is not.
void init(std::string_view program, Level level = Level::info);

// Parses "debug", "info", "warn", "error"; unknown text gives info.
Level parse_level(std::string_view text);

// Thread-safe. `fields` are merged into the line after ts, level, program, msg.
void write(Level level, std::string_view msg, const boost::json::object& fields = {});

// A line's fields written as JSON text while they are added, for lines
// logged on every request: no object is built and copied per line. Keys
// are the caller's own (plain ASCII, not escaped); values are escaped.
class Fields {
 public:
  Fields& add(std::string_view key, std::string_view value);
  Fields& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Fields& add(std::string_view key, std::int64_t value);
  Fields& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  Fields& add(std::string_view key, double value);
  // `,"key":value` for each field, in the order added.
  const std::string& text() const { return text_; }

 private:
  void key(std::string_view name);
  std::string text_;
};

// True when a line of `level` is written: callers skip building fields for
// lines that would be dropped.
bool enabled(Level level);

// As write() above, with fields already written as text.
void write(Level level, std::string_view msg, const Fields& fields);

inline void debug(std::string_view msg, const boost::json::object& f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, const boost::json::object& f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, const boost::json::object& f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, const boost::json::object& f = {}) { write(Level::error, msg, f); }

}  // namespace fourkeys::log

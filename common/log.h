// Structured logs: one JSON object per line on stderr, so that log shippers
// can index fields (request id, source, event, status, latency) without
// parsing prose. Never pass secrets or signature values as fields.
#pragma once

#include <boost/json/object.hpp>

#include <string_view>

namespace fourkeys::log {

enum class Level { debug, info, warn, error };

// Sets the program name written on every line and the lowest level shown.
// Safe to call once at start, before other threads log.
void init(std::string_view program, Level level = Level::info);

// Parses "debug", "info", "warn", "error"; unknown text gives info.
Level parse_level(std::string_view text);

// Thread-safe. `fields` are merged into the line after ts, level, program, msg.
void write(Level level, std::string_view msg, const boost::json::object& fields = {});

inline void debug(std::string_view msg, const boost::json::object& f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, const boost::json::object& f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, const boost::json::object& f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, const boost::json::object& f = {}) { write(Level::error, msg, f); }

}  // namespace fourkeys::log

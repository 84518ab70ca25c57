// Internal to the api source: reading the fields of the bodies CI jobs and
// scripts post, which are hand-written JSON (strings where numbers are
// expected and the other way round, empty strings for "unset").
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "parser/envelope.h"

namespace fourkeys::parser::api {

// `body[key]` as text: strings as they are, integers in decimal (ids and
// pipeline numbers arrive both ways). Empty when absent, null or another type.
std::string text_field(const boost::json::value& body, std::string_view key);

// True for JSON true and for the strings shell scripts write ("true", "1",
// "yes", "on", any case).
bool flag_field(const boost::json::value& body, std::string_view key);

// A time field. `given` is true when the sender wrote something (not absent,
// null or ""); `value` is the envelope time, empty when what was written is
// not a time. Adds "zone" to env.defaults for a time without a zone.
struct TimeField {
  bool given = false;
  std::string value;
  bool unreadable() const { return given && value.empty(); }
};
TimeField time_field(const boost::json::value& body, std::string_view key, Envelope& env);

// service, repository and team from the body: service defaults to the
// repository, then to "unknown" (adding the "service" default).
void set_owner_fields(Envelope& env, const boost::json::value& body);

// Joins names for a reason text: "commit_sha and deployed_at".
std::string join_names(const std::vector<std::string>& names);

}  // namespace fourkeys::parser::api

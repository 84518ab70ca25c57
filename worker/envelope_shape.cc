#include "worker/envelope_shape.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace fourkeys::worker {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

// A member's rule: its name, whether it must be there, and its check.
struct Member {
  std::string_view name;
  bool required;
  bool (*check)(const value&);
};

// "additionalProperties": false with "properties" and "required": every
// member is named in `members` and passes its check; every required one is
// there.
bool object_of(const value& v, std::initializer_list<Member> members) {
  const object* o = v.if_object();
  if (!o) return false;
  std::size_t required_seen = 0;
  for (const auto& kv : *o) {
    const std::string_view key(kv.key().data(), kv.key().size());
    const auto rule = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.name == key; });
    if (rule == members.end() || !rule->check(kv.value())) return false;
    if (rule->required) ++required_seen;
  }
  const auto required = std::count_if(members.begin(), members.end(), [](const Member& m) { return m.required; });
  // Object keys are unique in a parsed tree, so counting is enough.
  return required_seen == static_cast<std::size_t>(required);
}

template <bool (*Item)(const value&)>
bool array_of(const value& v) {
  const array* a = v.if_array();
  return a && std::all_of(a->begin(), a->end(), [](const value& item) { return Item(item); });
}

std::string_view text_of(const boost::json::string& s) { return {s.data(), s.size()}; }

bool one_of(const value& v, std::initializer_list<std::string_view> allowed) {
  const auto* s = v.if_string();
  return s && std::find(allowed.begin(), allowed.end(), text_of(*s)) != allowed.end();
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$
bool time_text(std::string_view t) {
  static constexpr std::string_view shape = "0000-00-00T00:00:00.000Z";
  if (t.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == '0' ? !digit(t[i]) : t[i] != shape[i]) return false;
  }
  return true;
}

bool nonempty_string(const value& v) { return v.is_string() && !v.get_string().empty(); }
bool string_or_null(const value& v) { return v.is_string() || v.is_null(); }
// "optional_string": a string of at least one character, or null.
bool optional_string(const value& v) { return v.is_null() || nonempty_string(v); }
bool boolean(const value& v) { return v.is_bool(); }
bool time(const value& v) { return v.is_string() && time_text(text_of(v.get_string())); }
bool optional_time(const value& v) { return v.is_null() || time(v); }
bool integer_or_null(const value& v) { return v.is_int64() || v.is_null(); }

// ^(github|gitlab|pagerduty|api|cdevents):.+$ as ECMAScript reads it: "."
// is any character but a line terminator.
bool envelope_id(const value& v) {
  const auto* s = v.if_string();
  if (!s) return false;
  const std::string_view id = text_of(*s);
  const auto colon = id.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view source = id.substr(0, colon), rest = id.substr(colon + 1);
  const bool known = source == "github" || source == "gitlab" || source == "pagerduty" || source == "api" ||
                     source == "cdevents";
  return known && !rest.empty() && rest.find_first_of("\n\r") == std::string_view::npos;
}

// ^[0-9a-f]{40}$
bool signature(const value& v) {
  const auto* s = v.if_string();
  return s && s->size() == 40 &&
         std::all_of(s->begin(), s->end(), [](char c) { return digit(c) || (c >= 'a' && c <= 'f'); });
}

bool schema_name(const value& v) { return one_of(v, {"fourkeys.event.v1"}); }
bool source(const value& v) { return one_of(v, {"github", "gitlab", "pagerduty", "api", "cdevents"}); }
bool kind(const value& v) { return one_of(v, {"change", "deployment", "incident", "other"}); }
bool default_name(const value& v) {
  return one_of(v, {"id", "service", "environment", "zone", "occurred_at", "status"});
}
bool deployment_status(const value& v) {
  return one_of(v, {"success", "failure", "error", "in_progress", "queued", "cancelled"});
}
bool incident_status(const value& v) { return one_of(v, {"open", "acknowledged", "resolved"}); }

bool commit(const value& v) {
  return object_of(v, {{"sha", true, nonempty_string},
                       {"time", true, optional_time},
                       {"author", true, string_or_null},
                       {"title", true, string_or_null}});
}

bool change(const value& v) {
  return object_of(v, {{"ref", true, optional_string},
                       {"before", true, optional_string},
                       {"after", true, optional_string},
                       {"commits", true, array_of<commit>},
                       {"number", true, integer_or_null},
                       {"merge_sha", true, optional_string},
                       {"created_at", true, optional_time},
                       {"merged_at", true, optional_time},
                       {"base_ref", true, optional_string},
                       {"chain", false, array_of<nonempty_string>}});
}

bool deployment(const value& v) {
  return object_of(v, {{"id", true, optional_string},
                       {"environment", true, nonempty_string},
                       {"sha", true, optional_string},
                       {"status", true, deployment_status},
                       {"started_at", true, optional_time},
                       {"finished_at", true, optional_time},
                       {"is_rollback", true, boolean},
                       {"is_hotfix", true, boolean},
                       {"additional_shas", true, array_of<nonempty_string>},
                       {"commit_time", true, optional_time}});
}

bool incident(const value& v) {
  return object_of(v, {{"id", true, nonempty_string},
                       {"status", true, incident_status},
                       {"created_at", true, optional_time},
                       {"resolved_at", true, optional_time},
                       {"root_cause_sha", true, optional_string},
                       {"severity", true, optional_string},
                       {"title", true, string_or_null},
                       {"environment", true, optional_string}});
}

bool headers(const value& v) {
  const object* o = v.if_object();
  return o && std::all_of(o->begin(), o->end(), [](const auto& kv) { return kv.value().is_string(); });
}

bool delivery(const value& v) {
  return object_of(v, {{"path", true, nonempty_string}, {"headers", true, headers}});
}

bool anything(const value&) { return true; }

}  // namespace

bool has_envelope_shape(const value& envelope) {
  const bool members = object_of(envelope, {{"schema", true, schema_name},
                                            {"id", true, envelope_id},
                                            {"source", true, source},
                                            {"source_event", true, nonempty_string},
                                            {"kind", true, kind},
                                            {"service", true, nonempty_string},
                                            {"team", true, optional_string},
                                            {"repository", true, optional_string},
                                            {"received_at", true, time},
                                            {"occurred_at", true, time},
                                            {"signature", true, signature},
                                            {"defaults", true, array_of<default_name>},
                                            {"change", false, change},
                                            {"deployment", false, deployment},
                                            {"incident", false, incident},
                                            {"part_of", false, nonempty_string},
                                            {"delivery", false, delivery},
                                            {"raw", true, anything}});
  if (!members) return false;
  // allOf: a kind's own member must be there.
  const object& o = envelope.get_object();
  const std::string_view k = text_of(o.at("kind").get_string());
  const char* needs = k == "change" ? "change" : k == "deployment" ? "deployment" : k == "incident" ? "incident" : nullptr;
  return needs == nullptr || o.contains(needs);
}

}  // namespace fourkeys::worker

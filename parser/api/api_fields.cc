#include "parser/api/api_fields.h"

#include "common/json.h"
#include "common/settings.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser::api {

std::string text_field(const boost::json::value& body, std::string_view key) {
  return json::get_id(body, {key});
}

bool flag_field(const boost::json::value& body, std::string_view key) {
  const auto* v = json::find(body, {key});
  if (!v) return false;
  if (const auto* b = v->if_bool()) return *b;
  if (const auto* s = v->if_string()) return is_truthy(*s);
  return false;
}

TimeField time_field(const boost::json::value& body, std::string_view key, Envelope& env) {
  TimeField field;
  const auto* v = json::find(body, {key});
  if (!v || v->is_null()) return field;
  if (const auto* s = v->if_string(); s && s->empty()) return field;
  field.given = true;
  field.value = envelope_time(v, env);
  return field;
}

void set_owner_fields(Envelope& env, const boost::json::value& body) {
  const std::string service = text_field(body, "service");
  const std::string repository = text_field(body, "repository");
  if (service.empty()) {
    set_repository(env, repository);
  } else {
    env.repository = repository;
    env.service = service;
  }
  env.team = text_field(body, "team");
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace fourkeys::parser::api

#include "parser/github/github_events.h"

#include "common/json.h"
#include "parser/normalize_support.h"

#include <string>

namespace fourkeys::parser {

Envelope GithubDeliveryContext::start(const boost::json::value& payload, Kind kind) const {
  return start(json::get_string(payload, {"repository", "full_name"}).value_or(""), kind);
}

Envelope GithubDeliveryContext::start(std::string_view repository_full_name, Kind kind) const {
  Envelope env = start_envelope("github", event, delivery_id, raw_body, nullptr, options);
  env.kind = kind;
  set_repository(env, repository_full_name);
  return env;
}

Outcome map_release(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  // A missing action is read as "published": scripts replaying releases omit it.
  const auto action = json::get_string(payload, {"action"});
  if (action && *action != "published") {
    return ignored(event, "release action '" + *action + "' is not a publication");
  }
  if (!json::find(payload, {"release"}) || !json::find(payload, {"release"})->is_object()) {
    return dead_letter(event, "release event without a release object");
  }
  Envelope env = ctx.start(payload, Kind::other);
  std::string published = envelope_time(json::find(payload, {"release", "published_at"}), env);
  if (published.empty()) published = envelope_time(json::find(payload, {"release", "created_at"}), env);
  set_occurred_at(env, published);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser

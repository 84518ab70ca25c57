// Issue and work item hooks (incidents) and release hooks.
#include "common/json.h"
#include "parser/gitlab/gitlab_events.h"
#include "parser/root_cause.h"
#include "parser/gitlab/gitlab_fields.h"
#include "parser/normalize_support.h"

#include <boost/json/array.hpp>

namespace fourkeys::parser::gitlab {
namespace {

bool has_label(const boost::json::value* labels, std::string_view wanted) {
  const auto* array = labels ? labels->if_array() : nullptr;
  if (!array || wanted.empty()) return false;
  for (const auto& label : *array) {
    if (iequals(text_at(label, {"title"}), wanted)) return true;
  }
  return false;
}

// GitLab marks incidents by type: `issue_type: "incident"` on issues,
// `type: "Incident"` on newer issues and work items. Projects that track
// incidents as labelled issues use the configured label instead.
bool is_incident(const boost::json::value& body, const NormalizeOptions& options) {
  if (iequals(text_at(body, {"object_attributes", "issue_type"}), "incident")) return true;
  if (iequals(text_at(body, {"object_attributes", "type"}), "incident")) return true;
  return has_label(json::find(body, {"labels"}), options.incident_label) ||
         has_label(json::find(body, {"object_attributes", "labels"}), options.incident_label);
}

}  // namespace

Outcome issue(Envelope env, const NormalizeOptions& options) {
  if (!is_incident(env.raw, options)) {
    return ignored(env.source_event, "issue is not an incident (no incident type, no '" +
                                         options.incident_label + "' label)");
  }
  std::string number = json::get_id(env.raw, {"object_attributes", "iid"});
  if (number.empty()) number = json::get_id(env.raw, {"object_attributes", "id"});
  if (number.empty()) return dead_letter(env.source_event, "incident issue without iid or id");

  Incident incident;
  // iid is unique only within its project.
  incident.id = (env.repository.empty() ? std::string("unknown") : env.repository) + "#" + number;
  incident.title = text_at(env.raw, {"object_attributes", "title"});
  incident.severity = text_at(env.raw, {"object_attributes", "severity"});
  incident.root_cause_sha =
      find_root_cause_sha(text_at(env.raw, {"object_attributes", "description"}));
  incident.created_at =
      envelope_time(json::find(env.raw, {"object_attributes", "created_at"}), env);
  const std::string updated_at =
      envelope_time(json::find(env.raw, {"object_attributes", "updated_at"}), env);

  const std::string state = text_at(env.raw, {"object_attributes", "state"});
  const auto* closed_at = json::find(env.raw, {"object_attributes", "closed_at"});
  // No state (scripts, Four Keys' generator): a closed_at closes it.
  const bool closed = state == "closed" || (state.empty() && closed_at != nullptr && !closed_at->is_null());
  std::string occurred_at;
  if (closed) {
    incident.status = "resolved";
    incident.resolved_at = envelope_time(closed_at, env);
    if (incident.resolved_at.empty()) incident.resolved_at = updated_at;
    if (state.empty()) env.defaults.push_back("status");
    occurred_at = incident.resolved_at;
  } else {
    // "opened" (also after a reopen); a body without state is taken as open.
    if (state.empty()) env.defaults.push_back("status");
    incident.status = "open";
    occurred_at = updated_at.empty() ? incident.created_at : updated_at;
  }
  if (occurred_at.empty()) occurred_at = incident.created_at;
  if (occurred_at.empty()) {
    return dead_letter(env.source_event,
                       "incident issue without created_at, updated_at or closed_at");
  }
  set_occurred_at(env, occurred_at);
  env.kind = Kind::incident;
  env.incident = std::move(incident);
  return publish(std::move(env));
}

Outcome release(Envelope env) {
  std::string when = envelope_time(json::find(env.raw, {"released_at"}), env);
  if (when.empty()) when = envelope_time(json::find(env.raw, {"created_at"}), env);
  set_occurred_at(env, when);
  env.kind = Kind::other;
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::gitlab

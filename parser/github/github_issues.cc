// issues: GitHub has no incident object, so (as in Four Keys) an issue that
// carries the incident label is the incident.
#include "parser/github/github_events.h"
#include "parser/root_cause.h"

#include "common/json.h"
#include "parser/normalize_support.h"

#include <cctype>
#include <string>

namespace fourkeys::parser {
namespace {

std::string string_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  return json::get_string(v, path).value_or("");
}

bool has_label(const boost::json::value& issue, std::string_view label) {
  const auto* labels = json::find(issue, {"labels"});
  if (!labels || !labels->is_array()) return false;
  for (const auto& l : labels->get_array()) {
    if (const auto name = json::get_string(l, {"name"}); name && iequals(*name, label)) return true;
  }
  return false;
}

// open or resolved for the actions that open, keep or close an incident;
// empty for the others. No action (scripts) is read from the issue's state,
// and with no state either (Four Keys' generator) from closed_at.
std::string incident_status(const std::optional<std::string>& action, const boost::json::value& issue) {
  const std::string state = string_at(issue, {"state"});
  if (!action || *action == "edited") {
    if (state == "closed") return "resolved";
    if (state == "open") return "open";
    if (!action && state.empty()) {
      const auto* closed = json::find(issue, {"closed_at"});
      return closed != nullptr && !closed->is_null() ? "resolved" : "open";
    }
    return {};
  }
  if (*action == "opened" || *action == "labeled" || *action == "reopened") return "open";
  if (*action == "closed") return "resolved";
  return {};
}

}  // namespace

Outcome map_issues(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  const auto* issue = json::find(payload, {"issue"});
  if (!issue || !issue->is_object()) return dead_letter(event, "issues event without an issue object");
  const std::string& label = ctx.options.incident_label;
  if (!has_label(*issue, label)) return ignored(event, "issue without the '" + label + "' label");

  const auto action = json::get_string(payload, {"action"});
  const std::string status = incident_status(action, *issue);
  if (status.empty()) {
    if (!action) return ignored(event, "issues event without action and without issue.state open or closed");
    return ignored(event, "issues action '" + *action + "' neither opens nor resolves an incident");
  }

  Envelope env = ctx.start(payload, Kind::incident);
  Incident incident;
  // "<repo>#<number>" is the same for every delivery about one issue, so the
  // open and the close join; the global issue id stands in without a repository.
  const auto number = json::get_int(*issue, {"number"});
  if (!env.repository.empty() && number) {
    incident.id = env.repository + "#" + std::to_string(*number);
  } else if (std::string id = json::get_id(*issue, {"id"}); !id.empty()) {
    incident.id = std::move(id);
  } else if (number) {
    incident.id = "#" + std::to_string(*number);
  } else {
    return dead_letter(event, "incident issue without number or id");
  }
  incident.status = status;
  incident.created_at = envelope_time(json::find(*issue, {"created_at"}), env);
  if (status == "resolved") incident.resolved_at = envelope_time(json::find(*issue, {"closed_at"}), env);
  const std::string updated_at = envelope_time(json::find(*issue, {"updated_at"}), env);
  if (incident.created_at.empty() && incident.resolved_at.empty() && updated_at.empty()) {
    return dead_letter(event, "incident issue without created_at, closed_at or updated_at");
  }
  incident.root_cause_sha = find_root_cause_sha(string_at(*issue, {"body"}));
  incident.title = string_at(*issue, {"title"});

  // The time of this change to the incident: its opening, its closing, or
  // for a label or reopen the issue's last update.
  std::string occurred;
  if (status == "resolved") occurred = incident.resolved_at;
  else if (action && *action == "opened") occurred = incident.created_at;
  if (occurred.empty()) occurred = updated_at;
  if (occurred.empty()) occurred = incident.created_at;
  set_occurred_at(env, occurred);
  env.incident = std::move(incident);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser

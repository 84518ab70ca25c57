#include "parser/api/api_fields.h"
#include "parser/api/api_routes.h"
#include "parser/normalize_support.h"
#include "parser/root_cause.h"

namespace fourkeys::parser::api {

Outcome map_incident(const boost::json::value& body, Envelope env) {
  const std::string& event = env.source_event;
  Incident incident;
  incident.id = text_field(body, "incident_id");
  const TimeField detected = time_field(body, "detected_at", env);
  std::vector<std::string> missing;
  if (incident.id.empty()) missing.push_back("incident_id");
  if (!detected.given) missing.push_back("detected_at");
  if (!missing.empty()) {
    return dead_letter(
        event, "an incident needs incident_id and detected_at; missing: " + join_names(missing));
  }
  if (detected.unreadable()) return dead_letter(event, "detected_at is not a time");
  const TimeField resolved = time_field(body, "resolved_at", env);
  if (resolved.unreadable()) return dead_letter(event, "resolved_at is not a time");

  incident.created_at = detected.value;
  incident.resolved_at = resolved.value;
  incident.status = resolved.given ? "resolved" : "open";
  incident.severity = text_field(body, "severity");
  incident.title = text_field(body, "title");
  incident.environment = text_field(body, "environment");
  incident.root_cause_sha = text_field(body, "root_cause_sha");
  if (incident.root_cause_sha.empty())
    incident.root_cause_sha = find_root_cause_sha(incident.title);

  env.kind = Kind::incident;
  set_owner_fields(env, body);
  set_occurred_at(env, resolved.given ? resolved.value : detected.value);
  env.incident = std::move(incident);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::api

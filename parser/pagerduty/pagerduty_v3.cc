#include <optional>

#include "common/json.h"
#include "parser/normalize_support.h"
#include "parser/pagerduty/pagerduty_events.h"
#include "parser/root_cause.h"

namespace fourkeys::parser::pagerduty {
namespace {

// The incident status each lifecycle event leaves the incident in; nullopt
// for the events that carry no DORA signal (priority_updated, annotated,
// service.*, ...).
std::optional<std::string> v3_status(std::string_view event_type) {
  if (event_type == "incident.triggered") return "open";
  if (event_type == "incident.acknowledged") return "acknowledged";
  if (event_type == "incident.resolved") return "resolved";
  if (event_type == "incident.reopened") return "open";
  return std::nullopt;
}

}  // namespace

Outcome normalize_v3(boost::json::value body, const Delivery& delivery,
                     const NormalizeOptions& options) {
  const boost::json::value& event = *json::find(body, {"event"});
  const std::string event_type = json::get_string(event, {"event_type"}).value_or("");
  if (event_type.empty()) return dead_letter("", "event.event_type is missing");
  const auto status = v3_status(event_type);
  if (!status) {
    return ignored(event_type,
                   "PagerDuty " + event_type +
                       " carries no DORA signal (only incident.triggered, acknowledged, "
                       "resolved and reopened do)");
  }

  const boost::json::value& data = member(event, "data");
  const std::string incident_id = json::get_id(data, {"id"});
  if (incident_id.empty())
    return dead_letter(event_type, "event.data.id (the incident id) is missing");

  // X-Webhook-Id is repeated on every retry of a delivery, so it is the next
  // best id when an older or hand-made sender leaves event.id out.
  std::string delivery_id = json::get_id(event, {"id"});
  if (delivery_id.empty()) delivery_id = std::string(delivery.headers.get("X-Webhook-Id"));
  Envelope env = start_envelope("pagerduty", event_type, delivery_id, delivery.body,
                                boost::json::value(), options);

  const std::string occurred = envelope_time(json::find(event, {"occurred_at"}), env);
  std::string created = envelope_time(json::find(data, {"created_at"}), env);
  if (created.empty() && event_type == "incident.triggered") created = occurred;
  if (occurred.empty() && !(event_type == "incident.triggered" && !created.empty())) {
    return dead_letter(event_type, "event.occurred_at is missing or not a time");
  }

  env.kind = Kind::incident;
  set_service(env, first_string(member(data, "service"), {"summary", "name"}));
  env.origin.pagerduty_service_id = first_string(member(data, "service"), {"id"});
  set_occurred_at(env, occurred.empty() ? created : occurred);

  Incident incident;
  incident.id = incident_id;
  incident.status = *status;
  incident.created_at = created;
  // A reopened incident is open again: its earlier resolution no longer counts.
  if (*status == "resolved") incident.resolved_at = occurred;
  incident.severity = first_string(data, {"urgency"});
  incident.title = first_string(data, {"title", "summary"});
  incident.root_cause_sha = root_cause_in(data, {"title", "description"});
  if (incident.root_cause_sha.empty()) {
    incident.root_cause_sha = root_cause_in(member(data, "body"), {"details"});
  }
  env.incident = std::move(incident);
  json::move_into(env.raw, std::move(body));
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::pagerduty

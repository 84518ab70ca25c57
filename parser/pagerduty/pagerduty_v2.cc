#include <boost/json/array.hpp>
#include <optional>

#include "common/json.h"
#include "parser/normalize_support.h"
#include "parser/pagerduty/pagerduty_events.h"

namespace fourkeys::parser::pagerduty {
namespace {

std::optional<std::string> v2_status(std::string_view event) {
  if (event == "incident.trigger") return "open";
  if (event == "incident.acknowledge") return "acknowledged";
  if (event == "incident.resolve") return "resolved";
  return std::nullopt;
}

// The first time among `keys` of `object` that reads as a time.
std::string first_time(const boost::json::value& object,
                       std::initializer_list<std::string_view> keys, Envelope& env) {
  for (std::string_view key : keys) {
    std::string t = envelope_time(json::find(object, {key}), env);
    if (!t.empty()) return t;
  }
  return {};
}

}  // namespace

// A v2 delivery may batch several messages. Only the first one with an
// incident lifecycle event is normalized: v2 reached end of support in 2022
// and sends one message per delivery in practice; the whole body stays in
// `raw` for the rest.
Outcome normalize_v2(boost::json::value body, const Delivery& delivery,
                     const NormalizeOptions& options) {
  const auto* messages = member(body, "messages").if_array();
  if (!messages || messages->empty()) return dead_letter("", "messages is empty or not an array");

  const boost::json::value* message = nullptr;
  std::string first_event;
  for (const auto& m : *messages) {
    const std::string event = json::get_string(m, {"event"}).value_or("");
    if (first_event.empty()) first_event = event;
    if (v2_status(event)) {
      message = &m;
      break;
    }
  }
  if (!message) {
    if (first_event.empty()) return dead_letter("", "messages[0].event is missing");
    return ignored(first_event, "PagerDuty v2 " + first_event +
                                    " carries no DORA signal (only incident.trigger, acknowledge "
                                    "and resolve do)");
  }

  const std::string event = json::get_string(*message, {"event"}).value_or("");
  const std::string status = *v2_status(event);
  const boost::json::value& incident_json = member(*message, "incident");
  const std::string incident_id = json::get_id(incident_json, {"id"});
  if (incident_id.empty()) return dead_letter(event, "messages[].incident.id is missing");

  Envelope env = start_envelope("pagerduty", event, json::get_id(*message, {"id"}), delivery.body,
                                boost::json::value(), options);
  // Older v2 payloads wrote *_on, newer ones *_at.
  const std::string status_changed =
      first_time(incident_json, {"last_status_change_at", "last_status_change_on"}, env);
  std::string occurred = first_time(*message, {"created_on", "created_at"}, env);
  if (occurred.empty()) occurred = status_changed;
  if (occurred.empty()) return dead_letter(event, "messages[].created_on is missing or not a time");

  env.kind = Kind::incident;
  set_service(env, first_string(member(incident_json, "service"), {"name", "summary"}));
  env.origin.pagerduty_service_id = first_string(member(incident_json, "service"), {"id"});
  set_occurred_at(env, occurred);

  Incident incident;
  incident.id = incident_id;
  incident.status = status;
  incident.created_at = first_time(incident_json, {"created_at", "created_on"}, env);
  if (incident.created_at.empty() && status == "open") incident.created_at = occurred;
  if (status == "resolved")
    incident.resolved_at = status_changed.empty() ? occurred : status_changed;
  incident.severity = first_string(incident_json, {"urgency"});
  incident.title = first_string(incident_json, {"title"});
  if (incident.title.empty()) {
    incident.title = first_string(member(incident_json, "trigger_summary_data"), {"subject"});
  }
  if (incident.title.empty()) incident.title = first_string(incident_json, {"summary"});
  incident.root_cause_sha = root_cause_in(incident_json, {"title", "description"});
  env.incident = std::move(incident);
  json::move_into(env.raw, std::move(body));
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::pagerduty

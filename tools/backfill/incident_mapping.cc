#include "tools/backfill/incident_mapping.h"

#include "common/json.h"
#include "parser/delivery.h"
#include "parser/pagerduty/pagerduty_source.h"
#include "tools/backfill/pagerduty_api.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <optional>

namespace fourkeys::backfill {

namespace {

boost::json::value copy_or_null(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? *v : boost::json::value(nullptr);
}

// The earliest acknowledgement PagerDuty still lists. The API keeps them only
// while the incident is acknowledged, so a resolved incident usually has none
// and its acknowledgement is simply not known.
std::optional<EpochMillis> first_acknowledgement(const boost::json::object& incident) {
  std::optional<EpochMillis> first;
  const auto* acks = incident.if_contains("acknowledgements");
  if (!acks || !acks->is_array()) return first;
  for (const auto& ack : acks->get_array()) {
    if (!ack.is_object()) continue;
    const auto at = time_member(ack.get_object(), "at");
    if (at && (!first || *at < *first)) first = at;
  }
  return first;
}

// A webhook's `assignees` are user references; the REST incident has them
// under `assignments[].assignee`.
boost::json::array assignees(const boost::json::object& incident) {
  boost::json::array out;
  const auto* assignments = incident.if_contains("assignments");
  if (!assignments || !assignments->is_array()) return out;
  for (const auto& a : assignments->get_array()) {
    if (const auto* who = json::find(a, {"assignee"})) out.push_back(*who);
  }
  return out;
}

// The `data` of a v3 incident webhook (the fields PagerDuty sends there),
// taken from the REST incident, in the state `status`. `description` and
// `body` are added when the API gave them: the normalizer looks for
// "root cause: <sha>" there as it does in a webhook.
boost::json::object webhook_data(const boost::json::object& incident, const std::string& id,
                                 std::string_view status) {
  boost::json::object data;
  data["id"] = id;
  data["type"] = "incident";
  data["self"] = copy_or_null(incident, "self");
  data["html_url"] = copy_or_null(incident, "html_url");
  data["number"] = copy_or_null(incident, "incident_number");
  data["status"] = status;
  data["incident_key"] = copy_or_null(incident, "incident_key");
  data["created_at"] = copy_or_null(incident, "created_at");
  data["title"] = copy_or_null(incident, "title");
  data["service"] = copy_or_null(incident, "service");
  data["assignees"] = status == "resolved" ? boost::json::array() : assignees(incident);
  data["escalation_policy"] = copy_or_null(incident, "escalation_policy");
  const auto* teams = incident.if_contains("teams");
  data["teams"] = teams ? *teams : boost::json::array();
  data["priority"] = copy_or_null(incident, "priority");
  data["urgency"] = copy_or_null(incident, "urgency");
  data["conference_bridge"] = copy_or_null(incident, "conference_bridge");
  data["resolve_reason"] = status == "resolved" ? copy_or_null(incident, "resolve_reason") : nullptr;
  if (const auto* d = incident.if_contains("description"); d && !d->is_null()) data["description"] = *d;
  if (const auto* b = incident.if_contains("body"); b && b->is_object()) data["body"] = *b;
  return data;
}

SyntheticWebhook make_webhook(const boost::json::object& incident, const std::string& id,
                              std::string_view state, EpochMillis at) {
  const std::string occurred = format_time(at);
  SyntheticWebhook w;
  w.event_type = "incident." + std::string(state);
  // Derived from what the event says, never from the clock or a counter, so
  // re-running the backfill re-sends the same ids and the worker drops them.
  w.event_id = "backfill:" + id + ":" + std::string(state) + ":" + occurred;
  boost::json::object event;
  event["id"] = w.event_id;
  event["event_type"] = w.event_type;
  event["resource_type"] = "incident";
  event["occurred_at"] = occurred;
  event["agent"] = nullptr;
  event["client"] = nullptr;
  event["data"] = webhook_data(incident, id, state);
  boost::json::object body;
  body["event"] = std::move(event);
  w.body = boost::json::serialize(body);
  return w;
}

}  // namespace

IncidentWebhooks incident_webhooks(const boost::json::object& incident) {
  IncidentWebhooks out;
  const std::string id = incident_id(incident);
  if (id.empty()) {
    out.problems.push_back("an incident without an id");
    return out;
  }
  const auto created = time_member(incident, "created_at");
  if (!created) {
    out.problems.push_back("incident " + id + " has no readable created_at");
    return out;
  }
  const auto* status_value = incident.if_contains("status");
  const std::string status =
      status_value && status_value->is_string() ? std::string(status_value->get_string()) : std::string();
  out.webhooks.push_back(make_webhook(incident, id, "triggered", *created));

  std::optional<EpochMillis> resolved;
  if (status == "resolved") {
    resolved = time_member(incident, "resolved_at");
    // Older answers have no resolved_at; for a resolved incident its last
    // status change is the resolution.
    if (!resolved) resolved = time_member(incident, "last_status_change_at");
    if (!resolved) out.problems.push_back("incident " + id + " is resolved but gives no resolved_at");
  }

  std::optional<EpochMillis> acknowledged = first_acknowledgement(incident);
  if (!acknowledged && status == "acknowledged") acknowledged = time_member(incident, "last_status_change_at");
  if (acknowledged && (*acknowledged < *created || (resolved && *acknowledged > *resolved))) acknowledged.reset();
  if (acknowledged) out.webhooks.push_back(make_webhook(incident, id, "acknowledged", *acknowledged));

  if (resolved) out.webhooks.push_back(make_webhook(incident, id, "resolved", *resolved));
  return out;
}

IncidentEnvelopes incident_envelopes(const boost::json::object& incident, EpochMillis received_at) {
  IncidentEnvelopes out;
  IncidentWebhooks webhooks = incident_webhooks(incident);
  out.problems = std::move(webhooks.problems);
  parser::NormalizeOptions options;
  options.received_at_millis = received_at;
  const parser::Headers headers{{"Content-Type", "application/json"}};
  for (SyntheticWebhook& w : webhooks.webhooks) {
    parser::Outcome outcome =
        parser::normalize_pagerduty(parser::Delivery{"/webhooks/pagerduty", headers, w.body}, options);
    if (outcome.disposition != parser::Disposition::publish) {
      out.problems.push_back(w.event_type + " " + w.event_id + " was not normalized: " + outcome.reason);
      continue;
    }
    out.envelopes.push_back({std::move(outcome.envelope), std::move(w.body)});
  }
  return out;
}

}  // namespace fourkeys::backfill

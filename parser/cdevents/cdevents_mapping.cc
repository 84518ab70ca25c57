#include "parser/cdevents/cdevents_mapping.h"

#include "common/json.h"
#include "parser/normalize_support.h"
#include "parser/root_cause.h"

namespace fourkeys::parser::cdevents {
namespace {

constexpr std::string_view kTypePrefix = "dev.cdevents.";

const boost::json::value& member(const boost::json::value& object, std::string_view key) {
  static const boost::json::value kNull;
  const auto* found = json::find(object, {key});
  return found ? *found : kNull;
}

std::string string_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  return json::get_string(v, path).value_or("");
}

// "dev.cdevents.service.deployed.0.2.0" -> "service.deployed": the version
// does not change what the event means.
std::string subject_and_predicate(std::string_view type) {
  type.remove_prefix(kTypePrefix.size());
  const auto first = type.find('.');
  if (first == std::string_view::npos) return {};
  const auto second = type.find('.', first + 1);
  return std::string(type.substr(0, second));
}

// A reference such as `repository` or `environment` is an object with an
// `id` in the spec; a bare string is taken too, as hand-written events send.
std::string reference_id(const boost::json::value& reference) {
  if (const auto* s = reference.if_string()) return std::string(*s);
  std::string id = string_at(reference, {"id"});
  return id.empty() ? string_at(reference, {"name"}) : id;
}

void set_service_or_unknown(Envelope& env, std::string service) {
  if (service.empty()) {
    env.service = "unknown";
    env.defaults.push_back("service");
  } else {
    env.service = std::move(service);
  }
}

void fill_change(Envelope& env, const boost::json::value& subject, const std::string& time) {
  env.kind = Kind::change;
  const boost::json::value& content = member(subject, "content");
  set_repository(env, reference_id(member(content, "repository")));
  Change change;
  change.merged_at = time;
  // The spec's change subject carries no commit: a change id that is a plain
  // number is the pull/merge request number, anything else stays in `raw`.
  const std::string id = string_at(subject, {"id"});
  if (!id.empty() && id.size() < 19 && id.find_first_not_of("0123456789") == std::string::npos) {
    change.number = std::stoll(id);
  }
  env.change = std::move(change);
}

// CDEvents identify what was deployed by artifact (a purl), not by commit,
// so the deployment carries no sha: it still counts for deployment
// frequency, and the service map or an API call can tie it to commits.
void fill_deployment(Envelope& env, const boost::json::value& subject, const std::string& time,
                     const std::string& event_id, bool is_rollback) {
  env.kind = Kind::deployment;
  set_service_or_unknown(env, string_at(subject, {"id"}));
  Deployment deployment;
  deployment.id = event_id;
  deployment.environment = reference_id(member(member(subject, "content"), "environment"));
  if (deployment.environment.empty()) {
    deployment.environment = "production";
    env.defaults.push_back("environment");
  }
  deployment.status = "success";
  deployment.finished_at = time;
  deployment.is_rollback = is_rollback;
  env.deployment = std::move(deployment);
}

void fill_incident(Envelope& env, const boost::json::value& cdevent, const std::string& time,
                   bool resolved) {
  env.kind = Kind::incident;
  const boost::json::value& subject = member(cdevent, "subject");
  const boost::json::value& content = member(subject, "content");
  set_service_or_unknown(env, reference_id(member(content, "service")));
  Incident incident;
  incident.id = json::get_id(subject, {"id"});
  incident.status = resolved ? "resolved" : "open";
  if (resolved)
    incident.resolved_at = time;
  else
    incident.created_at = time;
  incident.title = string_at(content, {"description"});
  incident.environment = reference_id(member(content, "environment"));
  // Not in the spec; incident.reported's own example puts it in customData.
  incident.severity = string_at(cdevent, {"customData", "severity"});
  incident.root_cause_sha = find_root_cause_sha(incident.title);
  env.incident = std::move(incident);
}

}  // namespace

Outcome map_cdevent(const boost::json::value& cdevent, const CloudEventAttributes& attributes,
                    std::string_view raw_body, boost::json::value&& raw,
                    const NormalizeOptions& options) {
  std::string type = string_at(cdevent, {"context", "type"});
  if (type.empty()) type = attributes.type;
  if (type.empty()) return dead_letter("", "context.type (or ce-type) is missing");
  if (type.compare(0, kTypePrefix.size(), kTypePrefix) != 0) {
    return ignored(type, "not a CDEvent (the type does not start with dev.cdevents.)");
  }
  const std::string event = subject_and_predicate(type);
  const bool is_change = event == "change.merged";
  const bool is_deployment =
      event == "service.deployed" || event == "service.upgraded" || event == "service.rolledback";
  const bool is_incident =
      event == "incident.detected" || event == "incident.reported" || event == "incident.resolved";
  const bool is_other = event == "pipelinerun.finished";
  if (!is_change && !is_deployment && !is_incident && !is_other) {
    return ignored(type, "CDEvent " + event + " carries no DORA signal");
  }

  std::string event_id = json::get_id(cdevent, {"context", "id"});
  if (event_id.empty()) event_id = attributes.id;
  Envelope env =
      start_envelope("cdevents", type, event_id, raw_body, boost::json::value(), options);
  std::string time = envelope_time(json::find(cdevent, {"context", "timestamp"}), env);
  if (time.empty()) time = envelope_time(attributes.time, env);
  if (time.empty())
    return dead_letter(type, "context.timestamp (or ce-time) is missing or not a time");
  set_occurred_at(env, time);
  env.origin.cdevents_source = string_at(cdevent, {"context", "source"});
  if (env.origin.cdevents_source.empty()) env.origin.cdevents_source = attributes.source;

  const boost::json::value& subject = member(cdevent, "subject");
  if (is_change) {
    fill_change(env, subject, time);
  } else if (is_deployment) {
    fill_deployment(env, subject, time, event_id, event == "service.rolledback");
  } else if (is_incident) {
    if (json::get_id(subject, {"id"}).empty()) {
      return dead_letter(type, "subject.id (the incident id) is missing");
    }
    fill_incident(env, cdevent, time, event == "incident.resolved");
  } else {
    env.kind = Kind::other;
    set_service_or_unknown(env, "");
  }
  json::move_into(env.raw, std::move(raw));
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::cdevents

// deployment (a start) and deployment_status (a finish). Both carry the
// deployment's own id so the worker can join a start to its outcome.
#include "parser/github/github_events.h"

#include "common/json.h"
#include "parser/normalize_support.h"

#include <algorithm>
#include <optional>
#include <string>

namespace fourkeys::parser {
namespace {

std::string string_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  return json::get_string(v, path).value_or("");
}

bool flag(const boost::json::value& object, std::string_view a, std::string_view b) {
  return json::get_bool(object, {a}) || json::get_bool(object, {b});
}

// Rollback and hotfix markers: deployment.payload flags (`rollback` /
// `is_rollback`, `hotfix` / `is_hotfix`) as deploy tooling sets them, and
// task "rollback". The API lets `payload` be an object or a JSON string.
void read_markers(const boost::json::value& deployment, Deployment& out) {
  out.is_rollback = string_at(deployment, {"task"}) == "rollback";
  const auto* payload = json::find(deployment, {"payload"});
  if (!payload) return;
  std::optional<boost::json::value> parsed;
  if (payload->is_string()) {
    json::ParseError ignored_error;
    parsed = json::parse(payload->get_string(), ignored_error);
    if (!parsed) return;
    payload = &*parsed;
  }
  out.is_rollback = out.is_rollback || flag(*payload, "rollback", "is_rollback");
  out.is_hotfix = flag(*payload, "hotfix", "is_hotfix");
}

// The "service" a deploy tool names in deployment.payload (an object or a
// JSON string), for the service map's monorepo deployments.
std::string payload_service(const boost::json::value& deployment) {
  const auto* payload = json::find(deployment, {"payload"});
  if (!payload) return {};
  if (payload->is_string()) {
    json::ParseError ignored_error;
    const auto parsed = json::parse(payload->get_string(), ignored_error);
    return parsed ? string_at(*parsed, {"service"}) : std::string();
  }
  return string_at(*payload, {"service"});
}

// Fields shared by both events, read from the payload's `deployment` object
// (all empty when it is missing).
Deployment read_deployment(const boost::json::value& payload, Envelope& env) {
  Deployment d;
  const auto* found = json::find(payload, {"deployment"});
  if (!found) return d;
  const boost::json::value& deployment = *found;
  d.id = json::get_id(deployment, {"id"});
  d.sha = string_at(deployment, {"sha"});
  d.environment = string_at(deployment, {"environment"});
  d.started_at = envelope_time(json::find(deployment, {"created_at"}), env);
  read_markers(deployment, d);
  env.origin.deployment_task = string_at(deployment, {"task"});
  env.origin.deployment_service = payload_service(deployment);
  return d;
}

void default_environment(Deployment& d, Envelope& env) {
  if (!d.environment.empty()) return;
  d.environment = "production";
  env.defaults.push_back("environment");
}

}  // namespace

Outcome map_deployment(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  const auto action = json::get_string(payload, {"action"});
  if (action && *action != "created") {
    return ignored(event, "deployment action '" + *action + "' does not start a deployment");
  }
  Envelope env = ctx.start(payload, Kind::deployment);
  Deployment d = read_deployment(payload, env);
  if (d.sha.empty() && d.started_at.empty()) {
    return dead_letter(event, "deployment without sha and created_at");
  }
  // GitHub has no state on the deployment itself: created means queued.
  d.status = "queued";
  default_environment(d, env);
  set_occurred_at(env, d.started_at);
  env.deployment = std::move(d);
  return publish(std::move(env));
}

Outcome map_deployment_status(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  // Old deliveries (and the zulip fixture) have no top-level action, so the
  // state alone decides.
  const std::string state = string_at(payload, {"deployment_status", "state"});
  if (state.empty()) return dead_letter(event, "deployment_status without deployment_status.state");
  if (state == "inactive") {
    return ignored(event, "deployment_status 'inactive' marks a superseded deployment, not an outcome");
  }
  if (state != "success" && state != "failure" && state != "error") {
    return ignored(event, "deployment_status '" + state + "' is not a terminal state");
  }

  Envelope env = ctx.start(payload, Kind::deployment);
  Deployment d = read_deployment(payload, env);
  d.status = state;  // GitHub's terminal words are the envelope's words
  const auto* status = json::find(payload, {"deployment_status"});
  d.finished_at = envelope_time(json::find(*status, {"updated_at"}), env);
  if (d.finished_at.empty()) d.finished_at = envelope_time(json::find(*status, {"created_at"}), env);
  if (d.sha.empty() && d.finished_at.empty() && d.started_at.empty()) {
    return dead_letter(event, "deployment_status without deployment.sha and without any time");
  }
  // The status names the environment it reports on; older payloads only
  // have it on the deployment.
  if (std::string env_name = string_at(*status, {"environment"}); !env_name.empty()) {
    d.environment = std::move(env_name);
  }
  default_environment(d, env);
  set_occurred_at(env, d.finished_at.empty() ? d.started_at : d.finished_at);
  env.deployment = std::move(d);
  return publish(std::move(env));
}

namespace {
// GitHub's conclusions, in the envelope's words; nullopt for those that say
// nothing about a deployment (skipped, neutral, stale, action_required).
std::optional<std::string> run_status(std::string_view conclusion) {
  if (conclusion == "success") return "success";
  if (conclusion == "failure" || conclusion == "timed_out" || conclusion == "startup_failure") return "failure";
  if (conclusion == "cancelled") return "cancelled";
  return std::nullopt;
}
}  // namespace

Outcome map_deploy_run(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  // workflow_run and check_run name the same things differently.
  const bool workflow = event == "workflow_run";
  const std::string_view object_key = workflow ? "workflow_run" : "check_run";
  const auto* run = json::find(payload, {object_key});
  if (!run || !run->is_object()) return dead_letter(event, event + " without a " + std::string(object_key) + " object");
  const std::string name = string_at(*run, {"name"});
  const auto configured = std::find_if(ctx.options.deploy_workflows.begin(), ctx.options.deploy_workflows.end(),
                                       [&](const auto& entry) { return entry.first == name; });
  if (configured == ctx.options.deploy_workflows.end()) {
    return ignored(event, "'" + name + "' is not a deploy workflow (FOURKEYS_GITHUB_DEPLOY_WORKFLOWS)");
  }
  const auto action = json::get_string(payload, {"action"});
  if ((action && *action != "completed") || string_at(*run, {"status"}) != "completed") {
    return ignored(event, "'" + name + "' has not completed");
  }
  const std::string conclusion = string_at(*run, {"conclusion"});
  const auto status = run_status(conclusion);
  if (!status) return ignored(event, "conclusion '" + conclusion + "' is not a deployment outcome");

  Envelope env = ctx.start(payload, Kind::deployment);
  Deployment d;
  d.id = std::string(object_key) + ":" + json::get_id(*run, {"id"});
  d.sha = string_at(*run, {"head_sha"});
  d.status = *status;
  d.environment = configured->second;
  env.origin.workflow = name;
  d.started_at = envelope_time(json::find(*run, {workflow ? "run_started_at" : "started_at"}), env);
  if (d.started_at.empty()) d.started_at = envelope_time(json::find(*run, {"created_at"}), env);
  d.finished_at = envelope_time(json::find(*run, {workflow ? "updated_at" : "completed_at"}), env);
  if (d.sha.empty()) return dead_letter(event, std::string(object_key) + " without head_sha");
  default_environment(d, env);
  set_occurred_at(env, d.finished_at.empty() ? d.started_at : d.finished_at);
  env.deployment = std::move(d);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser

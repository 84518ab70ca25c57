// Deployment, job and pipeline hooks: the deployment signal.
#include "common/json.h"
#include "parser/gitlab/gitlab_events.h"
#include "parser/gitlab/gitlab_fields.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser::gitlab {
namespace {

void set_environment(Envelope& env, Deployment& deployment, std::string name) {
  if (name.empty()) {
    name = "production";
    env.defaults.push_back("environment");
  }
  deployment.environment = std::move(name);
}

// The Deployment Hook has only `short_sha`; the full sha is the last segment
// of `commit_url`. A `sha` field (scripts imitating the hook) wins.
std::string deployment_sha(const boost::json::value& body) {
  if (auto sha = text_at(body, {"sha"}); !sha.empty()) return sha;
  const std::string short_sha = text_at(body, {"short_sha"});
  const std::string tail = last_path_segment(text_at(body, {"commit_url"}));
  if (looks_like_sha(tail) && tail.compare(0, short_sha.size(), short_sha) == 0) return tail;
  return short_sha;
}

Outcome publish_deployment(Envelope env, Deployment deployment, const std::string& occurred_at) {
  set_occurred_at(env, occurred_at);
  env.kind = Kind::deployment;
  env.deployment = std::move(deployment);
  return publish(std::move(env));
}

}  // namespace

Outcome deployment(Envelope env) {
  Deployment d;
  const std::string status = text_at(env.raw, {"status"});
  if (status.empty()) {
    // Scripts that imitate the hook may leave the status out; a hook is
    // sent for a deployment that happened.
    d.status = "success";
    env.defaults.push_back("status");
  } else if (auto mapped = final_deployment_status(status)) {
    d.status = *mapped;
  } else {
    return ignored(env.source_event, "deployment status '" + status + "' is not final");
  }
  // GitLab sends a Deployment Hook and a Job Hook for the same deploy job;
  // naming both by the job ("job:<id>") lets the worker see one deployment.
  const std::string job = json::get_id(env.raw, {"deployable_id"});
  d.id = job.empty() ? "deployment:" + json::get_id(env.raw, {"deployment_id"}) : "job:" + job;
  set_environment(env, d, text_at(env.raw, {"environment"}));
  d.sha = deployment_sha(env.raw);
  d.finished_at = envelope_time(json::find(env.raw, {"status_changed_at"}), env);
  if (d.sha.empty() && d.finished_at.empty()) {
    return dead_letter(env.source_event,
                       "deployment without sha (short_sha, commit_url) and without "
                       "status_changed_at");
  }
  const std::string occurred_at = d.finished_at;
  return publish_deployment(std::move(env), std::move(d), occurred_at);
}

Outcome job(Envelope env) {
  const auto* environment = json::find(env.raw, {"environment"});
  std::string name;
  std::string action;
  if (environment && environment->is_object()) {
    name = text_at(*environment, {"name"});
    action = text_at(*environment, {"action"});
  } else if (environment && environment->is_string()) {
    name = std::string(environment->get_string());
  } else {
    return ignored(env.source_event, "job without an environment does not deploy");
  }
  // "stop", "prepare", "verify" and "access" jobs touch an environment
  // without deploying to it.
  if (!action.empty() && action != "start") {
    return ignored(env.source_event, "job environment action '" + action + "' does not deploy");
  }
  const std::string status = text_at(env.raw, {"build_status"});
  const auto mapped = final_deployment_status(status);
  if (!mapped) return ignored(env.source_event, "job status '" + status + "' is not final");

  Deployment d;
  d.status = *mapped;
  d.id = "job:" + json::get_id(env.raw, {"build_id"});
  set_environment(env, d, std::move(name));
  d.sha = text_at(env.raw, {"sha"});
  if (d.sha.empty()) d.sha = text_at(env.raw, {"commit", "sha"});
  d.started_at = envelope_time(json::find(env.raw, {"build_started_at"}), env);
  d.finished_at = envelope_time(json::find(env.raw, {"build_finished_at"}), env);
  const std::string occurred_at = d.finished_at.empty() ? d.started_at : d.finished_at;
  if (d.sha.empty() && occurred_at.empty()) {
    return dead_letter(env.source_event, "deploy job without sha and without build times");
  }
  return publish_deployment(std::move(env), std::move(d), occurred_at);
}

Outcome pipeline(Envelope env) {
  const std::string status = text_at(env.raw, {"object_attributes", "status"});
  if (!final_deployment_status(status)) {
    return ignored(env.source_event, "pipeline status '" + status + "' is not final");
  }
  std::string finished =
      envelope_time(json::find(env.raw, {"object_attributes", "finished_at"}), env);
  if (finished.empty()) {
    finished = envelope_time(json::find(env.raw, {"object_attributes", "created_at"}), env);
  }
  set_occurred_at(env, finished);
  env.kind = Kind::other;
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::gitlab

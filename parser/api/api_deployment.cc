#include <boost/json/array.hpp>
#include <cctype>
#include <optional>

#include "common/json.h"
#include "parser/api/api_fields.h"
#include "parser/api/api_routes.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser::api {
namespace {

std::string lowercase(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The envelope status for the words CI systems write (GitHub's "success" /
// "failure", GitLab's "failed" / "canceled" / "running", and the like);
// nullopt for a word none of them uses.
std::optional<std::string> deployment_status(std::string_view word) {
  const std::string w = lowercase(word);
  if (w == "success" || w == "succeeded" || w == "successful" || w == "passed" || w == "ok" ||
      w == "deployed" || w == "completed" || w == "done") {
    return "success";
  }
  if (w == "failure" || w == "failed" || w == "fail") return "failure";
  if (w == "error" || w == "errored") return "error";
  if (w == "cancelled" || w == "canceled" || w == "skipped" || w == "aborted") return "cancelled";
  if (w == "in_progress" || w == "running" || w == "started" || w == "deploying") {
    return "in_progress";
  }
  if (w == "queued" || w == "pending" || w == "created" || w == "waiting") return "queued";
  return std::nullopt;
}

std::string first_text(const boost::json::value& body,
                       std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    std::string text = text_field(body, key);
    if (!text.empty()) return text;
  }
  return {};
}

std::vector<std::string> sha_list(const boost::json::value& body, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = json::find(body, {key});
  const auto* items = v ? v->if_array() : nullptr;
  if (!items) return out;
  for (const auto& item : *items) {
    if (const auto* s = item.if_string(); s && !s->empty()) out.emplace_back(*s);
  }
  return out;
}

}  // namespace

Outcome map_deployment(const boost::json::value& body, Envelope env, DeploymentRoute route) {
  const std::string& event = env.source_event;
  Deployment deployment;
  deployment.sha = text_field(body, "commit_sha");

  const std::string status_word = text_field(body, "status");
  if (status_word.empty()) {
    deployment.status = "success";
    env.defaults.push_back("status");
  } else if (auto status = deployment_status(status_word)) {
    deployment.status = *status;
  } else {
    return dead_letter(event, "status \"" + status_word +
                                  "\" is not a deployment status (success, failure, error, "
                                  "cancelled, in_progress, queued)");
  }
  if (deployment.status == "in_progress" || deployment.status == "queued") {
    return ignored(
        event, "a deployment that is " + deployment.status + " is not counted until it finishes");
  }

  const TimeField deployed = time_field(body, "deployed_at", env);
  if (deployed.unreadable()) return dead_letter(event, "deployed_at is not a time");
  if (deployment.sha.empty() && !deployed.given) {
    return dead_letter(event, "a deployment needs commit_sha or deployed_at; both are missing");
  }
  // The CI snippets send the deployment when it happens, so the receiver's
  // clock is a fair stand-in for a missing deployed_at (GitHub's snippet
  // sends "" when the run has no head commit).
  set_occurred_at(env, deployed.value);
  deployment.finished_at = env.occurred_at;

  const TimeField started = time_field(body, "started_at", env);
  deployment.started_at = started.value;
  const TimeField commit_time = time_field(body, "commit_timestamp", env);
  deployment.commit_time = commit_time.value;

  deployment.id = route == DeploymentRoute::deployments
                      ? first_text(body, {"pipeline_id", "deployment_id", "id"})
                      : first_text(body, {"deployment_id", "id", "pipeline_id"});
  deployment.environment = text_field(body, "environment");
  if (deployment.environment.empty()) {
    deployment.environment = "production";
    env.defaults.push_back("environment");
  }
  deployment.is_rollback = flag_field(body, "is_rollback");
  deployment.is_hotfix = flag_field(body, "is_hotfix");
  deployment.additional_shas = sha_list(body, "additional_shas");

  env.kind = Kind::deployment;
  set_owner_fields(env, body);
  env.deployment = std::move(deployment);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser::api

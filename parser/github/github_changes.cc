// push and pull_request: the change events. Four Keys reads lead time from
// the commits of a push, so a push keeps every commit it lists.
#include "parser/github/github_events.h"

#include "common/json.h"
#include "parser/normalize_support.h"

#include <string>

namespace fourkeys::parser {
namespace {

std::string string_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  return json::get_string(v, path).value_or("");
}

// GitHub writes 40 zeros as `after` when a push deletes the ref.
bool is_zero_sha(std::string_view sha) {
  return !sha.empty() && sha.find_first_not_of('0') == std::string_view::npos;
}

// A commit object of a push (`commits[]` or `head_commit`); nullopt without an id.
std::optional<Commit> read_commit(const PushCommitFields& c, Envelope& env) {
  if (c.id.empty()) return std::nullopt;
  Commit commit;
  commit.sha = c.id;
  commit.time = envelope_time(&c.timestamp, env);
  commit.author = c.author_name.empty() ? c.author_username : c.author_name;
  commit.title = first_line(c.message);
  for (const auto* list : {&c.added, &c.modified, &c.removed}) {
    commit.files.insert(commit.files.end(), list->begin(), list->end());
  }
  return commit;
}

}  // namespace

Outcome map_push(const PushFields& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  const std::string& ref = payload.ref;
  if (payload.deleted || is_zero_sha(payload.after)) {
    return ignored(event, "push deletes " + (ref.empty() ? std::string("a ref") : ref));
  }

  Envelope env = ctx.start(payload.repository_full_name, Kind::change);
  Change change;
  change.ref = ref;
  change.before = payload.before;
  change.after = payload.after;
  for (const auto& c : payload.commits) {
    if (auto commit = read_commit(c, env)) change.commits.push_back(std::move(*commit));
  }
  const auto& head = payload.head_commit;
  if (change.commits.empty()) {
    // A new tag points at a commit that its branch push already counted.
    if (ref.starts_with("refs/tags/")) return ignored(event, "tag push without new commits");
    // A branch created at, or forced to, an existing commit lists no commits
    // but still names the commit it now points at.
    if (head) {
      if (auto commit = read_commit(*head, env)) change.commits.push_back(std::move(*commit));
    }
  }
  if (change.commits.empty()) {
    return dead_letter(event, "push without any commit sha (no commits[].id and no head_commit.id)");
  }

  // The head commit's time is what Four Keys records for a push; pushed_at
  // (epoch seconds in push payloads) is the fallback for senders without it.
  std::string occurred = head ? envelope_time(&head->timestamp, env) : std::string();
  if (occurred.empty()) occurred = envelope_time(&payload.repository_pushed_at, env);
  if (occurred.empty()) occurred = change.commits.back().time;
  set_occurred_at(env, occurred);
  env.change = std::move(change);
  return publish(std::move(env));
}

Outcome map_pull_request(const boost::json::value& payload, const GithubDeliveryContext& ctx) {
  const std::string event(ctx.event);
  const auto* pr = json::find(payload, {"pull_request"});
  if (!pr || !pr->is_object()) return dead_letter(event, "pull_request event without a pull_request object");
  // No action (scripts) is read from the pull request itself.
  const auto action = json::get_string(payload, {"action"});
  if (action && *action != "closed") {
    return ignored(event, "pull_request action '" + *action + "' is not a merge");
  }
  const bool merged = json::get_bool(*pr, {"merged"}) ||
                      (!json::find(*pr, {"merged"}) && json::get_string(*pr, {"merged_at"}));
  if (!merged) return ignored(event, "pull_request closed without merging");

  Envelope env = ctx.start(payload, Kind::change);
  Change change;
  change.merge_sha = string_at(*pr, {"merge_commit_sha"});
  if (change.merge_sha.empty()) return dead_letter(event, "merged pull_request without merge_commit_sha");
  change.number = json::get_int(*pr, {"number"});
  if (!change.number) change.number = json::get_int(payload, {"number"});
  change.created_at = envelope_time(json::find(*pr, {"created_at"}), env);
  change.merged_at = envelope_time(json::find(*pr, {"merged_at"}), env);
  change.base_ref = string_at(*pr, {"base", "ref"});
  set_occurred_at(env, change.merged_at);
  env.change = std::move(change);
  return publish(std::move(env));
}

}  // namespace fourkeys::parser

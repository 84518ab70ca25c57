// Push, tag push and merge request hooks: the change signal.
#include "common/json.h"
#include "parser/gitlab/gitlab_events.h"
#include "parser/gitlab/gitlab_fields.h"
#include "parser/normalize_support.h"

#include <boost/json/array.hpp>

namespace fourkeys::parser::gitlab {
namespace {

// GitLab lists at most 20 commits per push (total_commits_count says how
// many there were); the worker follows before/after for the rest.
std::vector<Commit> read_commits(Envelope& env) {
  std::vector<Commit> commits;
  const auto* list = json::find(env.raw, {"commits"});
  const auto* array = list ? list->if_array() : nullptr;
  if (!array) return commits;
  for (const auto& item : *array) {
    Commit commit;
    commit.sha = json::get_id(item, {"id"});
    if (commit.sha.empty()) continue;  // a commit without a sha says nothing to the worker
    commit.time = envelope_time(json::find(item, {"timestamp"}), env);
    commit.author = text_at(item, {"author", "name"});
    commit.title = text_at(item, {"title"});
    if (commit.title.empty()) commit.title = first_line(text_at(item, {"message"}));
    for (const char* key : {"added", "modified", "removed"}) {
      const auto* files = json::find(item, {key});
      if (!files || !files->is_array()) continue;
      for (const auto& path : files->get_array()) {
        if (path.is_string()) commit.files.emplace_back(path.get_string());
      }
    }
    commits.push_back(std::move(commit));
  }
  return commits;
}

// Envelope times share one format, so the text order is the time order.
std::string latest_commit_time(const std::vector<Commit>& commits) {
  std::string latest;
  for (const auto& c : commits) {
    if (c.time > latest) latest = c.time;
  }
  return latest;
}

Outcome publish_change(Envelope env, Change change, const std::string& occurred_at) {
  set_occurred_at(env, occurred_at);
  env.kind = Kind::change;
  env.change = std::move(change);
  return publish(std::move(env));
}

}  // namespace

Outcome push(Envelope env) {
  Change change;
  change.ref = text_at(env.raw, {"ref"});
  change.before = text_at(env.raw, {"before"});
  change.after = text_at(env.raw, {"after"});
  if (change.after.empty()) change.after = text_at(env.raw, {"checkout_sha"});
  if (is_zero_sha(change.after)) {
    return ignored(env.source_event, "branch deletion: `after` is all zeros");
  }
  change.commits = read_commits(env);
  if (change.after.empty() && change.commits.empty()) {
    return dead_letter(env.source_event, "push without `after`, `checkout_sha` or commits");
  }
  const std::string occurred_at = latest_commit_time(change.commits);
  return publish_change(std::move(env), std::move(change), occurred_at);
}

// A tag push is published as a change: tagging is how many GitLab projects
// release, and the tagged commit is what a later deployment of the tag
// ships. `after` is the tag's newrev, which for an annotated tag is the tag
// object and not a commit, so the change's `after` is `checkout_sha` (the
// commit the tag points at) when GitLab gives it. The commits array may be
// empty (a tag on an already pushed commit): the change still names the
// commit.
Outcome tag_push(Envelope env) {
  const std::string newrev = text_at(env.raw, {"after"});
  if (is_zero_sha(newrev)) return ignored(env.source_event, "tag deletion: `after` is all zeros");
  Change change;
  change.ref = text_at(env.raw, {"ref"});
  change.before = text_at(env.raw, {"before"});
  change.after = text_at(env.raw, {"checkout_sha"});
  if (change.after.empty()) change.after = newrev;
  change.commits = read_commits(env);
  if (change.after.empty() && change.commits.empty()) {
    return dead_letter(env.source_event, "tag push without `after`, `checkout_sha` or commits");
  }
  const std::string occurred_at = latest_commit_time(change.commits);
  return publish_change(std::move(env), std::move(change), occurred_at);
}

Outcome merge_request(Envelope env) {
  const std::string action = text_at(env.raw, {"object_attributes", "action"});
  const std::string state = text_at(env.raw, {"object_attributes", "state"});
  // Older GitLab sends no action; state "merged" then says it. With an
  // action, only the merge itself counts: later updates of a merged request
  // would otherwise publish the change again with a later time.
  if (action.empty() ? state != "merged" : action != "merge") {
    return ignored(env.source_event, "merge request not merged (action '" + action + "', state '" +
                                         state + "')");
  }
  Change change;
  change.number = json::get_int(env.raw, {"object_attributes", "iid"});
  change.merge_sha = text_at(env.raw, {"object_attributes", "merge_commit_sha"});
  // A fast-forward merge creates no merge commit: the source branch's last
  // commit is what lands on the target branch.
  if (change.merge_sha.empty()) {
    change.merge_sha = text_at(env.raw, {"object_attributes", "last_commit", "id"});
  }
  change.created_at = envelope_time(json::find(env.raw, {"object_attributes", "created_at"}), env);
  change.merged_at = envelope_time(json::find(env.raw, {"object_attributes", "merged_at"}), env);
  // GitLab's hook carries no merged_at; the merge is the update that sent it.
  if (change.merged_at.empty()) {
    change.merged_at = envelope_time(json::find(env.raw, {"object_attributes", "updated_at"}), env);
  }
  change.base_ref = text_at(env.raw, {"object_attributes", "target_branch"});
  if (change.merge_sha.empty() && change.merged_at.empty()) {
    return dead_letter(env.source_event,
                       "merged merge request without merge_commit_sha and without a merge time");
  }
  const std::string occurred_at = change.merged_at;
  return publish_change(std::move(env), std::move(change), occurred_at);
}

}  // namespace fourkeys::parser::gitlab

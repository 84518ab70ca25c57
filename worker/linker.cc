#include "worker/linker.h"

#include "worker/memory_estimate.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace fourkeys::worker {
namespace {

// A walk that finds this many commits is following a broken or hostile
// history (a force push onto an unrelated branch, a huge import); stopping
// bounds the cost of a rebuild, which reruns every walk.
constexpr std::size_t kMaxWalkedCommits = 10'000;

// Issue text often names a commit by a short sha; seven characters is git's
// own shortest abbreviation, below that a prefix would match too much.
constexpr std::size_t kShortestShaPrefix = 7;

const std::string kDefaultEnvironment = "production";

// ---- small helpers --------------------------------------------------------

// A report after which the sender does not change its mind about the
// attempt; a late in_progress report must not undo a success.
bool is_terminal(std::string_view status) {
  return status == "success" || status == "failure" || status == "error" || status == "cancelled";
}

// Git writes forty zeros for "no commit" (a new or deleted branch); empty
// means the sender did not say.
bool is_null_sha(std::string_view sha) {
  return sha.find_first_not_of('0') == std::string_view::npos;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Rows of a group in the order they happened; the envelope id breaks ties so
// the order never depends on how the rows arrived.
template <typename Row>
std::vector<const Row*> in_time_order(std::vector<const Row*> rows) {
  std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) {
    return std::tie(a->time_created, a->event_id) < std::tie(b->time_created, b->event_id);
  });
  return rows;
}

// Later reports may leave a field empty that an earlier one filled in.
template <typename Row>
std::string last_non_empty(const std::vector<const Row*>& rows, std::string Row::*field) {
  std::string value;
  for (const Row* row : rows) {
    if (!(row->*field).empty()) value = row->*field;
  }
  return value;
}

// The earliest of the times the reports give, if any gives one.
template <typename Row>
std::optional<Millis> earliest_given(const std::vector<const Row*>& rows, std::optional<Millis> Row::*field) {
  std::optional<Millis> earliest;
  for (const Row* row : rows) {
    if (const auto& time = row->*field) earliest = std::min(earliest.value_or(*time), *time);
  }
  return earliest;
}

double lead_time_seconds(Millis deployed_at, Millis commit_time) {
  return static_cast<double>(deployed_at - commit_time) / 1000.0;
}

// ---- commit graph ---------------------------------------------------------

// What the pushes and changes say about commits: each sha's parents (a sha
// pushed to several branches has several) and each known change's time.
class CommitGraph {
 public:

  std::optional<Millis> change_time(const std::string& sha) const {
    const auto it = change_times_.find(sha);
    if (it == change_times_.end()) return std::nullopt;
    return it->second;
  }

  bool is_known_change(const std::string& sha) const { return change_times_.count(sha) > 0; }

  // Sorted, so a walk visits parents in one order whatever the push order.
  const std::set<std::string>& parents(const std::string& sha) const {
    static const std::set<std::string> kNone;
    const auto it = parents_.find(sha);
    return it == parents_.end() ? kNone : it->second;
  }

  void add_push(const PushRow& push) {
    std::optional<std::string> previous;
    if (!is_null_sha(push.before)) previous = push.before;
    for (const std::string& sha : push.commit_shas) {
      if (sha.empty()) continue;
      add_parent(sha, previous);
      previous = sha;
    }
    // `after` is the branch head; senders leave it out of the commit list
    // when it is a merge commit or the push only moved the branch.
    if (!is_null_sha(push.after)) add_parent(push.after, previous);
  }

  void add_parent(const std::string& sha, const std::optional<std::string>& parent) {
    if (!parent || *parent == sha) return;
    const auto [it, new_sha] = parents_.try_emplace(sha);
    if (new_sha) bytes_ += memory::node_of(*it);
    const auto [p, new_parent] = it->second.insert(*parent);
    if (new_parent) bytes_ += memory::node_of(*p);
  }

  // The earliest time wins: the same commit seen again in a later push
  // (another branch, a rebase) was not committed again.
  void add_change(const ChangeRow& change) {
    if (change.change_id.empty()) return;
    const auto [it, inserted] = change_times_.emplace(change.change_id, change.time_created);
    if (inserted) {
      bytes_ += memory::node_of(*it);
    } else {
      it->second = std::min(it->second, change.time_created);
    }
  }

  // The heap both maps hold (memory_estimate.h).
  std::size_t memory_bytes() const { return bytes_; }

 private:
  std::size_t bytes_ = 0;

  std::map<std::string, std::set<std::string>> parents_;
  std::map<std::string, Millis> change_times_;
};

// ---- deployments ----------------------------------------------------------

// One deploy_id's reports folded, plus what linking needs and the row does
// not carry.
struct Deployment {
  DeploymentRow row;
  std::set<std::string> additional_shas;
  std::optional<Millis> sender_commit_time;
  std::map<std::string, Millis> changes;  // change_id → commit time
};

// The heap one linked Deployment takes, itself included. Depends only on
// fields that stay as they are once the deployment is linked.
std::size_t memory_of(const Deployment& d) {
  std::size_t total = memory::allocation(sizeof(Deployment)) + memory::heap_of(d.row);
  for (const std::string& sha : d.additional_shas) total += memory::node_of(sha);
  for (const auto& change : d.changes) total += memory::node_of(change);
  return total;
}

// The report whose status is final: the last terminal one, or the latest
// report while the attempt is still running.
const DeploymentEventRow& final_report(const std::vector<const DeploymentEventRow*>& reports) {
  for (auto it = reports.rbegin(); it != reports.rend(); ++it) {
    if (is_terminal((*it)->status)) return **it;
  }
  return *reports.back();
}

// The sender's start time when it gave one; otherwise the first report
// saying the attempt was queued or running.
std::optional<Millis> started_at(const std::vector<const DeploymentEventRow*>& reports) {
  if (const auto given = earliest_given(reports, &DeploymentEventRow::started_at)) return given;
  for (const DeploymentEventRow* report : reports) {
    if (!is_terminal(report->status)) return report->time_created;
  }
  return std::nullopt;
}

Deployment fold_deployment(const std::vector<const DeploymentEventRow*>& reports) {
  const DeploymentEventRow& final = final_report(reports);
  Deployment deployment;
  DeploymentRow& row = deployment.row;
  row.deploy_id = final.deploy_id;
  row.source = reports.front()->source;
  row.environment = final.environment.empty() ? kDefaultEnvironment : final.environment;
  row.status = final.status;
  row.main_commit = last_non_empty(reports, &DeploymentEventRow::sha);
  row.repository = last_non_empty(reports, &DeploymentEventRow::repository);
  row.deployed_at = final.finished_at.value_or(final.time_created);
  row.started_at = started_at(reports);
  for (const DeploymentEventRow* report : reports) {
    row.rollback_flagged = row.rollback_flagged || report->is_rollback;
    row.is_hotfix = row.is_hotfix || report->is_hotfix;
    for (const std::string& sha : report->additional_shas) {
      if (!sha.empty()) deployment.additional_shas.insert(sha);
    }
    if (report->commit_time) deployment.sender_commit_time = report->commit_time;
  }
  return deployment;
}

std::vector<Deployment> fold_deployments(const std::vector<DeploymentEventRow>& events) {
  std::map<std::string, std::vector<const DeploymentEventRow*>> by_deploy_id;
  for (const DeploymentEventRow& event : events) by_deploy_id[event.deploy_id].push_back(&event);
  std::vector<Deployment> deployments;
  deployments.reserve(by_deploy_id.size());
  for (const auto& [deploy_id, reports] : by_deploy_id) {
    deployments.push_back(fold_deployment(in_time_order(reports)));
  }
  std::sort(deployments.begin(), deployments.end(), [](const Deployment& a, const Deployment& b) {
    return std::tie(a.row.deployed_at, a.row.deploy_id) < std::tie(b.row.deployed_at, b.row.deploy_id);
  });
  return deployments;
}

// ---- changes of a deployment ----------------------------------------------

// The known changes reachable from `head` without passing a commit the
// environment already has: the commits this deployment brings.
std::map<std::string, Millis> walk_new_changes(const CommitGraph& graph, const std::string& head,
                                               const std::set<std::string>& in_env) {
  std::map<std::string, Millis> found;
  if (head.empty() || in_env.count(head) > 0) return found;
  std::set<std::string> visited{head};
  std::deque<std::string> queue{head};
  while (!queue.empty()) {
    const std::string sha = std::move(queue.front());
    queue.pop_front();
    if (const auto time = graph.change_time(sha)) found.emplace(sha, *time);
    for (const std::string& parent : graph.parents(sha)) {
      if (visited.size() >= kMaxWalkedCommits) break;
      if (in_env.count(parent) > 0 || !visited.insert(parent).second) continue;
      queue.push_back(parent);
    }
  }
  return found;
}

void collect_changes(const CommitGraph& graph, const std::set<std::string>& in_env, Deployment& deployment) {
  const std::string& head = deployment.row.main_commit;
  deployment.changes = walk_new_changes(graph, head, in_env);
  // An API sender reports its commit's time itself and sends no pushes.
  if (!head.empty() && in_env.count(head) == 0 && !graph.is_known_change(head) && deployment.sender_commit_time) {
    deployment.changes.emplace(head, *deployment.sender_commit_time);
  }
  for (const std::string& sha : deployment.additional_shas) {
    if (in_env.count(sha) > 0) continue;
    if (const auto time = graph.change_time(sha)) deployment.changes.emplace(sha, *time);
  }
  deployment.row.change_count = static_cast<int>(deployment.changes.size());
}

std::optional<Millis> main_commit_time(const CommitGraph& graph, const Deployment& deployment) {
  if (const auto known = graph.change_time(deployment.row.main_commit)) return known;
  return deployment.sender_commit_time;
}

// ---- incidents ------------------------------------------------------------

std::optional<Millis> acknowledged_at(const std::vector<const IncidentEventRow*>& reports) {
  for (const IncidentEventRow* report : reports) {
    if (report->status == "acknowledged") return report->time_created;
  }
  return std::nullopt;
}

// Only the latest report decides: an open or acknowledged report after a
// resolution reopens the incident and clears it.
std::optional<Millis> resolved_at(const std::vector<const IncidentEventRow*>& reports) {
  const IncidentEventRow& last = *reports.back();
  if (last.status != "resolved") return std::nullopt;
  return last.resolved_at.value_or(last.time_created);
}

IncidentRow fold_incident(const std::vector<const IncidentEventRow*>& reports) {
  const IncidentEventRow& first = *reports.front();
  IncidentRow row;
  row.source = first.source;
  row.incident_id = first.incident_id;
  row.status = reports.back()->status;
  row.time_created = earliest_given(reports, &IncidentEventRow::created_at).value_or(first.time_created);
  row.time_acknowledged = acknowledged_at(reports);
  row.time_resolved = resolved_at(reports);
  row.severity = last_non_empty(reports, &IncidentEventRow::severity);
  row.title = last_non_empty(reports, &IncidentEventRow::title);
  row.root_cause_sha = last_non_empty(reports, &IncidentEventRow::root_cause_sha);
  row.environment = last_non_empty(reports, &IncidentEventRow::environment);
  if (row.environment.empty()) row.environment = kDefaultEnvironment;
  return row;
}

std::vector<IncidentRow> fold_incidents(const std::vector<IncidentEventRow>& events) {
  std::map<std::pair<std::string, std::string>, std::vector<const IncidentEventRow*>> by_incident;
  for (const IncidentEventRow& event : events) by_incident[{event.source, event.incident_id}].push_back(&event);
  std::vector<IncidentRow> incidents;
  incidents.reserve(by_incident.size());
  // The map's order is (source, incident_id), the output order.
  for (const auto& [key, reports] : by_incident) incidents.push_back(fold_incident(in_time_order(reports)));
  return incidents;
}

// ---- attribution ----------------------------------------------------------

// The successful deployments of one environment, linked, in the order they
// finished, and which of them first brought each sha.
class EnvironmentAttributor {
 public:
  // Deployments come in the order they finished.
  void add(Deployment* deployment) {
    const std::size_t position = deployments_.size();
    deployments_.push_back(deployment);
    // emplace keeps the first, so each sha maps to the earliest deployment.
    if (!deployment->row.main_commit.empty()) remember(deployment->row.main_commit, position);
    for (const auto& [sha, time] : deployment->changes) remember(sha, position);
  }

  // The heap it holds (memory_estimate.h).
  std::size_t memory_bytes() const { return memory::vector_heap(deployments_) + sha_bytes_; }

  // The earliest deployment that brought the root-cause commit, named in
  // full or by a short sha.
  Deployment* by_root_cause(const std::string& sha) const {
    if (sha.empty()) return nullptr;
    const bool may_be_short = sha.size() >= kShortestShaPrefix;
    std::optional<std::size_t> earliest;
    // The map is sorted, so every stored sha that starts with `sha` follows
    // its lower bound: `sha` itself first, then the longer ones.
    for (auto it = first_with_sha_.lower_bound(sha); it != first_with_sha_.end(); ++it) {
      const auto& [stored, position] = *it;
      if (!starts_with(stored, sha)) break;
      if (stored.size() == sha.size() || may_be_short) earliest = std::min(earliest.value_or(position), position);
    }
    return earliest ? deployments_[*earliest] : nullptr;
  }

  // The last deployment that finished at most `window` before the incident
  // opened.
  Deployment* by_window(Millis opened_at, Millis window) const {
    if (window <= 0) return nullptr;
    const auto after = std::upper_bound(deployments_.begin(), deployments_.end(), opened_at,
                                        [](Millis time, const Deployment* d) { return time < d->row.deployed_at; });
    if (after == deployments_.begin()) return nullptr;
    Deployment* latest = *std::prev(after);
    return opened_at - latest->row.deployed_at <= window ? latest : nullptr;
  }

 private:
  void remember(const std::string& sha, std::size_t position) {
    const auto [it, inserted] = first_with_sha_.emplace(sha, position);
    if (inserted) sha_bytes_ += memory::node_of(*it);
  }

  std::vector<Deployment*> deployments_;
  std::map<std::string, std::size_t> first_with_sha_;  // sha → position in deployments_
  std::size_t sha_bytes_ = 0;  // what first_with_sha_ holds
};

// The rows of one deployment's changes, in change_id order.
void append_change_rows(const Deployment& deployment, std::vector<DeploymentChangeRow>& rows) {
  for (const auto& [sha, commit_time] : deployment.changes) {
    DeploymentChangeRow row;
    row.deploy_id = deployment.row.deploy_id;
    row.environment = deployment.row.environment;
    row.change_id = sha;
    row.commit_time = commit_time;
    row.deployed_at = deployment.row.deployed_at;
    row.lead_time_seconds = lead_time_seconds(deployment.row.deployed_at, commit_time);
    rows.push_back(std::move(row));
  }
}

bool sorts_before(const DeploymentRow& a, const DeploymentRow& b) {
  return std::tie(a.deployed_at, a.deploy_id) < std::tie(b.deployed_at, b.deploy_id);
}

}  // namespace

// What linking has built so far: enough to link later deployments without
// looking at the earlier ones again.
struct ServiceLinker::State {
  struct Environment {
    std::set<std::string> in_env;  // shas the environment has
    const Deployment* previous = nullptr;
    EnvironmentAttributor attributor;
  };

  CommitGraph graph;
  // In the order they finished; each on the heap, so pointers to it stay
  // valid when others are removed.
  std::vector<std::unique_ptr<Deployment>> deployments;
  std::map<std::string, const Deployment*> by_deploy_id;
  std::map<std::string, Environment> environments;
  // Every sha a push, a change or a deployment names. A batch that gives one
  // of them new parents or a time may change what earlier deployments
  // brought; one that names only new shas cannot.
  std::set<std::string> mentioned;
  // The heap of the members above except `graph` and the attributors, and
  // of `deployments`' elements (memory_estimate.h).
  std::size_t bytes = 0;

  std::size_t memory_bytes() const {
    std::size_t total = memory::allocation(sizeof(State)) + bytes + graph.memory_bytes() +
                        memory::vector_heap(deployments);
    for (const auto& [name, env] : environments) total += env.attributor.memory_bytes();
    return total;
  }

  void mention(const std::string& sha) {
    const auto [it, inserted] = mentioned.insert(sha);
    if (inserted) bytes += memory::node_of(*it);
  }

  void add_push(const PushRow& push) {
    graph.add_push(push);
    if (!is_null_sha(push.before)) mention(push.before);
    for (const auto& sha : push.commit_shas) {
      if (!sha.empty()) mention(sha);
    }
    if (!is_null_sha(push.after)) mention(push.after);
  }

  void add_change(const ChangeRow& change) {
    graph.add_change(change);
    if (!change.change_id.empty()) mention(change.change_id);
  }

  // Appends a deployment that finished after every one so far.
  void add_deployment(Deployment deployment) {
    Deployment& d = *deployments.emplace_back(std::make_unique<Deployment>(std::move(deployment)));
    const auto [by_id, new_id] = by_deploy_id.insert_or_assign(d.row.deploy_id, &d);
    if (new_id) bytes += memory::node_of(*by_id);
    if (!d.row.main_commit.empty()) mention(d.row.main_commit);
    for (const std::string& sha : d.additional_shas) mention(sha);
    if (d.row.status == "success") {
      const auto [env_it, new_env] = environments.try_emplace(d.row.environment);
      if (new_env) bytes += memory::node_of(*env_it);
      Environment& env = env_it->second;
      const std::string& head = d.row.main_commit;
      // Deploying again what an earlier deployment brought, after something
      // else, goes back in history; deploying the same sha twice in a row is
      // a redeploy.
      d.row.rollback_detected =
          !head.empty() && env.in_env.count(head) > 0 && env.previous != nullptr && env.previous->row.main_commit != head;
      collect_changes(graph, env.in_env, d);
      if (!head.empty()) add_to(env, head);
      for (const auto& [sha, time] : d.changes) add_to(env, sha);
      env.previous = &d;
      env.attributor.add(&d);
    }
    d.row.commit_time = main_commit_time(graph, d);
    bytes += memory_of(d);
  }

  void add_to(Environment& env, const std::string& sha) {
    const auto [it, inserted] = env.in_env.insert(sha);
    if (inserted) bytes += memory::node_of(*it);
  }

  // Destroys the deployment at `position`, one that did not succeed (so no
  // environment refers to it), leaving its slot empty.
  void remove_unsuccessful(std::size_t position) {
    const std::unique_ptr<Deployment> d = std::move(deployments[position]);
    const auto by_id = by_deploy_id.find(d->row.deploy_id);
    bytes -= memory::node_of(*by_id) + memory_of(*d);
    by_deploy_id.erase(by_id);
  }

  // Folds every incident and attributes it; sets caused_incident on every
  // deployment accordingly.
  std::vector<IncidentRow> incidents(const std::vector<IncidentEventRow>& events, const LinkSettings& settings) {
    std::vector<IncidentRow> rows = fold_incidents(events);
    std::set<const Deployment*> caused;
    for (IncidentRow& incident : rows) {
      const auto it = environments.find(incident.environment);
      if (it == environments.end()) continue;
      const EnvironmentAttributor& attributor = it->second.attributor;
      if (Deployment* cause = attributor.by_root_cause(incident.root_cause_sha)) {
        incident.deploy_id = cause->row.deploy_id;
        incident.attribution = "root_cause";
        caused.insert(cause);
      } else if (Deployment* last = attributor.by_window(incident.time_created, settings.attribution_window)) {
        incident.deploy_id = last->row.deploy_id;
        incident.attribution = "window";
        caused.insert(last);
      }
    }
    for (auto& d : deployments) d->row.caused_incident = caused.count(d.get()) > 0;
    return rows;
  }
};

ServiceLinker::ServiceLinker(LinkSettings settings) : settings_(settings) {}
ServiceLinker::~ServiceLinker() = default;

DerivedService ServiceLinker::derive(const ServiceHistory& history) {
  state_ = std::make_unique<State>();
  for (const PushRow& push : history.pushes) state_->add_push(push);
  for (const ChangeRow& change : history.changes) state_->add_change(change);
  for (Deployment& deployment : fold_deployments(history.deployment_events)) {
    state_->add_deployment(std::move(deployment));
  }
  DerivedService derived;
  derived.service = history.service;
  derived.incidents = state_->incidents(history.incident_events, settings_);
  derived.deployments.reserve(state_->deployments.size());
  for (const auto& d : state_->deployments) {
    derived.deployments.push_back(d->row);
    append_change_rows(*d, derived.deployment_changes);
  }
  return derived;
}

bool ServiceLinker::extend(const ServiceHistory& history, const ServiceHistory& added, DerivedService& derived,
                           LinkChanges& changes) {
  if (!state_) return false;
  State& state = *state_;
  // Only shas nobody named before may get parents or times.
  for (const PushRow& push : added.pushes) {
    for (const auto& sha : push.commit_shas) {
      if (state.mentioned.count(sha)) return false;
    }
    if (!is_null_sha(push.after) && state.mentioned.count(push.after)) return false;
  }
  for (const ChangeRow& change : added.changes) {
    if (state.mentioned.count(change.change_id)) return false;
  }
  // Deployments: new ids, or new reports of an attempt that has not
  // succeeded yet (it brought nothing, so taking it out changes no other
  // deployment); either way finishing after every other deployment.
  std::set<std::string> ids;
  for (const DeploymentEventRow& r : added.deployment_events) ids.insert(r.deploy_id);
  std::vector<DeploymentEventRow> reports;
  std::set<const Deployment*> updated;
  for (const std::string& id : ids) {
    const auto it = state.by_deploy_id.find(id);
    if (it == state.by_deploy_id.end()) continue;
    if (it->second->row.status == "success") return false;
    updated.insert(it->second);
  }
  if (updated.empty()) {
    reports = added.deployment_events;
  } else {
    for (const DeploymentEventRow& r : history.deployment_events) {
      if (ids.count(r.deploy_id)) reports.push_back(r);
    }
  }
  std::vector<Deployment> fresh = fold_deployments(reports);
  if (!fresh.empty()) {
    for (auto it = state.deployments.rbegin(); it != state.deployments.rend(); ++it) {
      if (updated.count(it->get())) continue;
      if (!sorts_before((*it)->row, fresh.front().row)) return false;
      break;
    }
  }

  for (const PushRow& push : added.pushes) state.add_push(push);
  for (const ChangeRow& change : added.changes) state.add_change(change);
  changes.replaced_deployments.clear();
  if (!updated.empty()) {
    std::vector<std::unique_ptr<Deployment>> kept;
    std::vector<DeploymentRow> kept_rows;
    for (std::size_t i = 0; i < state.deployments.size(); ++i) {
      if (updated.count(state.deployments[i].get())) {
        changes.replaced_deployments.push_back(derived.deployments[i]);
        state.remove_unsuccessful(i);
        continue;
      }
      kept.push_back(std::move(state.deployments[i]));
      kept_rows.push_back(std::move(derived.deployments[i]));
    }
    state.deployments = std::move(kept);
    derived.deployments = std::move(kept_rows);
  }
  changes.new_deployments_from = derived.deployments.size();
  changes.new_changes_from = derived.deployment_changes.size();
  for (Deployment& d : fresh) {
    state.add_deployment(std::move(d));
    derived.deployments.push_back(state.deployments.back()->row);
    append_change_rows(*state.deployments.back(), derived.deployment_changes);
  }
  changes.old_incidents = std::move(derived.incidents);
  derived.incidents = state.incidents(history.incident_events, settings_);
  changes.changed_deployments.clear();
  for (std::size_t i = 0; i < state.deployments.size(); ++i) {
    const bool caused = state.deployments[i]->row.caused_incident;
    if (derived.deployments[i].caused_incident == caused) continue;
    derived.deployments[i].caused_incident = caused;
    if (i < changes.new_deployments_from) changes.changed_deployments.push_back(i);
  }
  return true;
}

std::size_t ServiceLinker::memory_bytes() const { return state_ ? state_->memory_bytes() : 0; }

DerivedService derive_service(const ServiceHistory& history, const LinkSettings& settings) {
  ServiceLinker linker(settings);
  return linker.derive(history);
}

}  // namespace fourkeys::worker

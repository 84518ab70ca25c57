#include "worker/linker.h"

#include "worker/daily_metrics.h"
#include "worker/memory_estimate.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
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

// ---- shas -------------------------------------------------------------------

// Every sha linking has been told of (by a push, a change or a deployment),
// each held once; the containers below name them by a 4-byte id. A service's
// state holds each of its commits in several of them (its parents, its time,
// each environment that has it, the deployment that brought it there), so
// the shas themselves would otherwise be most of what the state takes.
using ShaId = std::uint32_t;
constexpr ShaId kNoSha = std::numeric_limits<ShaId>::max();

class ShaTable {
 public:
  ShaId intern(std::string_view sha) {
    if (const ShaId known = find(sha); known != kNoSha) return known;
    if (arena_.size() + sha.size() > std::numeric_limits<std::uint32_t>::max()) {
      throw std::length_error("a service's shas exceed 4 GB");
    }
    const auto id = static_cast<ShaId>(ends_.size());
    arena_.append(sha);
    ends_.push_back(static_cast<std::uint32_t>(arena_.size()));
    if ((ends_.size() + 1) * 2 > slots_.size()) {
      rehash(std::max<std::size_t>(16, slots_.size() * 2));
    } else {
      place(id);
    }
    return id;
  }
  // kNoSha for a sha nobody named.
  ShaId find(std::string_view sha) const {
    if (slots_.empty()) return kNoSha;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = std::hash<std::string_view>{}(sha) & mask;; i = (i + 1) & mask) {
      const ShaId id = slots_[i];
      if (id == kNoSha || text(id) == sha) return id;
    }
  }
  // Valid until the next intern().
  std::string_view text(ShaId id) const {
    const std::uint32_t start = id == 0 ? 0 : ends_[id - 1];
    return {arena_.data() + start, ends_[id] - start};
  }
  std::size_t size() const { return ends_.size(); }

  // The heap it holds (memory_estimate.h): the texts end to end, where each
  // ends, and the open-addressing slots (at most half full).
  std::size_t memory_bytes() const {
    return memory::string_heap(arena_) + memory::vector_heap(ends_) + memory::vector_heap(slots_);
  }

 private:
  void place(ShaId id) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = std::hash<std::string_view>{}(text(id)) & mask;
    while (slots_[i] != kNoSha) i = (i + 1) & mask;
    slots_[i] = id;
  }
  void rehash(std::size_t slots) {
    slots_.assign(slots, kNoSha);
    for (ShaId id = 0; id < ends_.size(); ++id) place(id);
  }

  // Each sha's text once, end to end (a 40-character sha takes 40 bytes
  // and a 4-byte end, instead of a string, its heap block and a hash node:
  // the table was most of a state's linking bytes).
  std::string arena_;
  std::vector<std::uint32_t> ends_;  // by id: where its text ends in arena_
  std::vector<ShaId> slots_;         // a power of two in size; kNoSha: empty
};

// The element for `id` of a vector indexed by sha id, growing it (at least
// doubling, filled with `none`) when `id` is past its end.
template <typename T>
typename std::vector<T>::reference slot(std::vector<T>& by_id, ShaId id, T none) {
  if (id >= by_id.size()) by_id.resize(std::max<std::size_t>(id + 1, by_id.size() * 2), none);
  return by_id[id];
}

// A set of shas, one bit per id of the table.
class ShaSet {
 public:
  bool contains(ShaId id) const { return id < bits_.size() && bits_[id]; }
  bool insert(ShaId id) {
    auto bit = slot(bits_, id, false);
    if (bit) return false;
    bit = true;
    return true;
  }
  std::size_t memory_bytes() const { return memory::allocation((bits_.capacity() + 63) / 64 * 8); }

 private:
  std::vector<bool> bits_;
};

// Texts a pruned state forgot, each as a 4-byte hash, so that a batch naming
// one again is seen. A hash can collide: a text never seen may look
// forgotten, which only makes extend() decline (the service is read again
// from Postgres), never gives a wrong row.
class Fingerprints {
 public:
  static std::uint32_t of(std::string_view text) {
    const std::uint64_t h = std::hash<std::string_view>{}(text);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }
  bool may_contain(std::string_view text) const {
    return std::binary_search(sorted_.begin(), sorted_.end(), of(text));
  }
  void add(std::string_view text) { pending_.push_back(of(text)); }
  // Merges what add() gave since the last call into the sorted set.
  void settle() {
    if (pending_.empty()) return;
    std::sort(pending_.begin(), pending_.end());
    std::vector<std::uint32_t> merged;
    merged.reserve(sorted_.size() + pending_.size());
    std::merge(sorted_.begin(), sorted_.end(), pending_.begin(), pending_.end(), std::back_inserter(merged));
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    merged.shrink_to_fit();
    sorted_ = std::move(merged);
    std::vector<std::uint32_t>().swap(pending_);
  }
  std::size_t memory_bytes() const { return memory::vector_heap(sorted_) + memory::vector_heap(pending_); }

 private:
  std::vector<std::uint32_t> sorted_;
  std::vector<std::uint32_t> pending_;
};

// ---- commit graph ---------------------------------------------------------

// What the pushes and changes say about commits: each sha's parents (a sha
// pushed to several branches has several) and each known change's time.
class CommitGraph {
 public:
  std::optional<Millis> change_time(ShaId sha) const {
    if (sha >= times_.size() || times_[sha] == kNoTime) return std::nullopt;
    return times_[sha];
  }

  bool is_known_change(ShaId sha) const { return change_time(sha).has_value(); }

  // In the order of their text, so a walk visits parents in one order
  // whatever the push order.
  void parents(ShaId sha, const ShaTable& shas, std::vector<ShaId>& out) const {
    out.clear();
    if (sha >= first_parent_.size() || first_parent_[sha] == kNoSha) return;
    out.push_back(first_parent_[sha]);
    const auto more = more_parents_.find(sha);
    if (more == more_parents_.end()) return;
    out.insert(out.end(), more->second.begin(), more->second.end());
    std::sort(out.begin(), out.end(), [&](ShaId a, ShaId b) { return shas.text(a) < shas.text(b); });
  }

  void add_push(const PushRow& push, ShaTable& shas) {
    ShaId previous = is_null_sha(push.before) ? kNoSha : shas.intern(push.before);
    for (const std::string& sha : push.commit_shas) {
      if (sha.empty()) continue;
      const ShaId id = shas.intern(sha);
      add_parent(id, previous);
      previous = id;
    }
    // `after` is the branch head; senders leave it out of the commit list
    // when it is a merge commit or the push only moved the branch.
    if (!is_null_sha(push.after)) add_parent(shas.intern(push.after), previous);
  }

  // Whether some commit was ever given `sha` as a parent (a branch's tip has
  // no child). Kept by remapped() even where the child's parents are not.
  bool has_child(ShaId sha) const { return has_child_.contains(sha); }

  void add_parent(ShaId sha, ShaId parent) {
    if (parent == kNoSha || parent == sha) return;
    has_child_.insert(parent);
    ShaId& first = slot(first_parent_, sha, kNoSha);
    if (first == kNoSha) {
      first = parent;
      return;
    }
    if (first == parent) return;
    auto [it, inserted] = more_parents_.try_emplace(sha);
    std::vector<ShaId>& more = it->second;
    if (std::find(more.begin(), more.end(), parent) != more.end()) return;
    more_bytes_ -= memory::vector_heap(more);
    more.push_back(parent);
    more_bytes_ += memory::vector_heap(more) + (inserted ? memory::tree_node(sizeof(*it)) : 0);
  }

  // The earliest time wins: the same commit seen again in a later push
  // (another branch, a rebase) was not committed again.
  void add_change(const ChangeRow& change, ShaTable& shas) {
    if (change.change_id.empty()) return;
    const ShaId id = shas.intern(change.change_id);
    Millis& time = slot(times_, id, kNoTime);
    time = time == kNoTime ? change.time_created : std::min(time, change.time_created);
  }

  // The heap it holds (memory_estimate.h).
  std::size_t memory_bytes() const {
    return memory::vector_heap(first_parent_) + memory::vector_heap(times_) + more_bytes_ + has_child_.memory_bytes();
  }

  // The graph with every sha renamed by `new_id` (kNoSha: forgotten): the
  // times of the shas kept, and the parents of those `keep_parents` names.
  // Requires every parent of those to be kept.
  CommitGraph remapped(const std::vector<ShaId>& new_id, const std::vector<char>& keep_parents,
                       const ShaTable& shas) const {
    CommitGraph out;
    std::vector<ShaId> parents_of;
    for (ShaId id = 0; id < new_id.size(); ++id) {
      const ShaId to = new_id[id];
      if (to == kNoSha) continue;
      if (const auto time = change_time(id)) slot(out.times_, to, kNoTime) = *time;
      if (has_child(id)) out.has_child_.insert(to);
      if (!keep_parents[id]) continue;
      parents(id, shas, parents_of);
      for (const ShaId parent : parents_of) out.add_parent(to, new_id.at(parent));
    }
    out.first_parent_.shrink_to_fit();
    out.times_.shrink_to_fit();
    return out;
  }

 private:
  static constexpr Millis kNoTime = std::numeric_limits<Millis>::min();
  std::vector<ShaId> first_parent_;                 // by id; kNoSha: none known
  std::map<ShaId, std::vector<ShaId>> more_parents_;  // the rare second and later parents
  std::vector<Millis> times_;                       // by id; kNoTime: not a known change
  ShaSet has_child_;
  std::size_t more_bytes_ = 0;
};

// ---- deployments ----------------------------------------------------------

// One deploy_id's reports folded, plus what linking needs and the row does
// not carry.
struct FoldedDeployment {
  DeploymentRow row;
  std::set<std::string> additional_shas;
  std::optional<Millis> sender_commit_time;
};

// A deployment once linked.
struct Deployment {
  DeploymentRow row;
  ShaId head = kNoSha;  // main_commit
  std::vector<ShaId> additional_shas;
  std::optional<Millis> sender_commit_time;
  std::vector<std::pair<ShaId, Millis>> changes;  // with their commit times, in the order of the shas' text
};

// The heap one linked Deployment takes, itself included. Depends only on
// fields that stay as they are once the deployment is linked.
std::size_t memory_of(const Deployment& d) {
  return memory::allocation(sizeof(Deployment)) + memory::heap_of(d.row) + memory::vector_heap(d.additional_shas) +
         memory::vector_heap(d.changes);
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

FoldedDeployment fold_deployment(const std::vector<const DeploymentEventRow*>& reports) {
  const DeploymentEventRow& final = final_report(reports);
  FoldedDeployment deployment;
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

std::vector<FoldedDeployment> fold_deployments(const std::vector<DeploymentEventRow>& events) {
  std::map<std::string, std::vector<const DeploymentEventRow*>> by_deploy_id;
  for (const DeploymentEventRow& event : events) by_deploy_id[event.deploy_id].push_back(&event);
  std::vector<FoldedDeployment> deployments;
  deployments.reserve(by_deploy_id.size());
  for (const auto& [deploy_id, reports] : by_deploy_id) {
    deployments.push_back(fold_deployment(in_time_order(reports)));
  }
  std::sort(deployments.begin(), deployments.end(), [](const FoldedDeployment& a, const FoldedDeployment& b) {
    return std::tie(a.row.deployed_at, a.row.deploy_id) < std::tie(b.row.deployed_at, b.row.deploy_id);
  });
  return deployments;
}

// ---- changes of a deployment ----------------------------------------------

// The known changes reachable from `head` without passing a commit the
// environment already has: the commits this deployment brings.
std::vector<std::pair<ShaId, Millis>> walk_new_changes(const CommitGraph& graph, const ShaTable& shas, ShaId head,
                                                       const ShaSet& in_env) {
  std::vector<std::pair<ShaId, Millis>> found;
  if (head == kNoSha || in_env.contains(head)) return found;
  std::unordered_set<ShaId> visited{head};
  std::deque<ShaId> queue{head};
  std::vector<ShaId> parents;
  while (!queue.empty()) {
    const ShaId sha = queue.front();
    queue.pop_front();
    if (const auto time = graph.change_time(sha)) found.emplace_back(sha, *time);
    graph.parents(sha, shas, parents);
    for (const ShaId parent : parents) {
      if (visited.size() >= kMaxWalkedCommits) break;
      if (in_env.contains(parent) || !visited.insert(parent).second) continue;
      queue.push_back(parent);
    }
  }
  return found;
}

void collect_changes(const CommitGraph& graph, const ShaTable& shas, const ShaSet& in_env, Deployment& deployment) {
  const ShaId head = deployment.head;
  std::vector<std::pair<ShaId, Millis>> changes = walk_new_changes(graph, shas, head, in_env);
  // An API sender reports its commit's time itself and sends no pushes.
  if (head != kNoSha && !in_env.contains(head) && !graph.is_known_change(head) && deployment.sender_commit_time) {
    changes.emplace_back(head, *deployment.sender_commit_time);
  }
  for (const ShaId sha : deployment.additional_shas) {
    if (in_env.contains(sha)) continue;
    if (const auto time = graph.change_time(sha)) changes.emplace_back(sha, *time);
  }
  // Each sha once (the first found keeps its time), in the order of the
  // shas' text: the order of the change rows.
  std::stable_sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  changes.erase(std::unique(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                changes.end());
  std::sort(changes.begin(), changes.end(),
            [&](const auto& a, const auto& b) { return shas.text(a.first) < shas.text(b.first); });
  changes.shrink_to_fit();
  deployment.changes = std::move(changes);
  deployment.row.change_count = static_cast<int>(deployment.changes.size());
}

std::optional<Millis> main_commit_time(const CommitGraph& graph, const Deployment& deployment) {
  if (const auto known = graph.change_time(deployment.head)) return known;
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
  explicit EnvironmentAttributor(const ShaTable& shas) : shas_(&shas) {}

  // Deployments come in the order they finished.
  void add(Deployment* deployment) {
    const auto position = static_cast<std::uint32_t>(deployments_.size());
    deployments_.push_back(deployment);
    // The first kept, so each sha maps to the earliest deployment.
    if (deployment->head != kNoSha) remember(deployment->head, position);
    for (const auto& [sha, time] : deployment->changes) remember(sha, position);
  }

  // The heap it holds (memory_estimate.h).
  std::size_t memory_bytes() const {
    return memory::vector_heap(deployments_) + memory::vector_heap(first_) + memory::vector_heap(by_text_);
  }

  // The earliest deployment that brought the root-cause commit, named in
  // full or by a short sha.
  Deployment* by_root_cause(const std::string& sha) const {
    if (sha.empty()) return nullptr;
    std::optional<std::uint32_t> earliest;
    const ShaId exact = shas_->find(sha);
    if (exact != kNoSha && exact < first_.size() && first_[exact] != kNone) earliest = first_[exact];
    if (sha.size() >= kShortestShaPrefix) {
      // Every sha brought here that starts with `sha`, in the order of their
      // text: they follow its lower bound.
      sort_by_text();
      const auto from = std::lower_bound(by_text_.begin(), by_text_.end(), sha,
                                         [&](ShaId id, const std::string& key) { return shas_->text(id) < key; });
      for (auto it = from; it != by_text_.end() && starts_with(shas_->text(*it), sha); ++it) {
        earliest = std::min(earliest.value_or(first_[*it]), first_[*it]);
      }
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
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  void remember(ShaId sha, std::uint32_t position) {
    std::uint32_t& first = slot(first_, sha, kNone);
    if (first != kNone) return;
    first = position;
    sorted_ = false;
  }

  // Short shas are rare (issue text naming a commit): the shas brought here
  // are sorted by their text only when one is looked up.
  void sort_by_text() const {
    if (sorted_) return;
    by_text_.clear();
    for (ShaId id = 0; id < first_.size(); ++id) {
      if (first_[id] != kNone) by_text_.push_back(id);
    }
    std::sort(by_text_.begin(), by_text_.end(), [&](ShaId a, ShaId b) { return shas_->text(a) < shas_->text(b); });
    sorted_ = true;
  }

  const ShaTable* shas_;
  std::vector<Deployment*> deployments_;
  std::vector<std::uint32_t> first_;  // by sha id: position in deployments_, kNone when not brought here
  mutable std::vector<ShaId> by_text_;
  mutable bool sorted_ = true;
};

// The rows of one deployment's changes, in change_id order; without
// deploy_id and change_id when `ids` is false (ServiceLinker::lead_time_rows).
void append_change_rows(const Deployment& deployment, const ShaTable& shas, std::vector<DeploymentChangeRow>& rows,
                        bool ids = true) {
  for (const auto& [sha, commit_time] : deployment.changes) {
    DeploymentChangeRow row;
    if (ids) {
      row.deploy_id = deployment.row.deploy_id;
      row.change_id = shas.text(sha);
    }
    row.environment = deployment.row.environment;
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
    explicit Environment(const ShaTable& shas) : attributor(shas) {}
    ShaSet in_env;  // shas the environment has
    ShaSet forgotten_in_env;  // of those, the ones forgotten deployments brought (after prune())
    // The last successful deployment's commit: deploying it again is a
    // redeploy, not a rollback.
    std::optional<std::string> previous_commit;
    // The environment's last successful deployment before the cut (after
    // prune()): window attribution may take an incident to it (which
    // changes no row of it when it had caused one already), and linking the
    // kept deployments again starts from its commit.
    struct ForgottenSuccess {
      Millis finished = 0;
      std::string deploy_id, commit;
      bool caused_incident = false;
    };
    std::optional<ForgottenSuccess> last_forgotten_success;
    EnvironmentAttributor attributor;  // of the deployments kept
  };

  // An incident kept by prune(), with what its attribution was computed
  // from then. While those stay the same, its attribution is what the kept
  // deployments give (or, when it went to a forgotten deployment, that one:
  // `fixed_deploy_id`), whatever the forgotten rows were.
  struct KeptIncident {
    Millis time_created = 0;
    std::string environment, root_cause_sha;
    std::string fixed_deploy_id, fixed_attribution;
    // For one that opened before the cut, its row: its metrics day is final,
    // so the row must stay as it is.
    std::optional<IncidentRow> row_before_cut;

    // Its heap, with its node in Forgotten::kept_incidents under that key.
    std::size_t memory_bytes(const std::string& source, const std::string& incident_id) const {
      return memory::tree_node(sizeof(std::pair<const std::pair<std::string, std::string>, KeptIncident>)) +
             memory::string_heap(source) + memory::string_heap(incident_id) + memory::string_heap(environment) +
             memory::string_heap(root_cause_sha) + memory::string_heap(fixed_deploy_id) +
             memory::string_heap(fixed_attribution) +
             (row_before_cut ? memory::allocation(sizeof(IncidentRow)) + memory::heap_of(*row_before_cut) : 0);
    }
  };

  // What prune() forgot, for extend() to decline on.
  struct Forgotten {
    Millis cut = 0;      // deployments finished and incidents opened before it are gone
    Millis horizon = 0;  // an incident first seen later must open at or after it
    Fingerprints shas, deploy_ids, incidents;
    std::size_t longest_sha = 0;  // of the shas forgotten deployments brought
    std::map<std::pair<std::string, std::string>, KeptIncident> kept_incidents;  // by (source, incident_id)
    std::size_t kept_incident_bytes = 0;
  };

  // Every sha a push, a change or a deployment names. A batch that gives one
  // of them new parents or a time may change what earlier deployments
  // brought; one that names only new shas cannot.
  ShaTable shas;
  CommitGraph graph;
  // In the order they finished; each on the heap, so pointers to it stay
  // valid when others are removed.
  std::vector<std::unique_ptr<Deployment>> deployments;
  std::map<std::string, const Deployment*> by_deploy_id;
  std::map<std::string, Environment> environments;
  std::optional<Forgotten> forgotten;  // set by prune()
  // The heap of `by_deploy_id`'s and `environments`' nodes and of
  // `deployments`' elements (memory_estimate.h).
  std::size_t bytes = 0;

  std::size_t memory_bytes() const {
    std::size_t total = memory::allocation(sizeof(State)) + bytes + shas.memory_bytes() + graph.memory_bytes() +
                        memory::vector_heap(deployments);
    for (const auto& [name, env] : environments) {
      total += env.in_env.memory_bytes() + env.forgotten_in_env.memory_bytes() + env.attributor.memory_bytes();
    }
    if (forgotten) {
      total += forgotten->shas.memory_bytes() + forgotten->deploy_ids.memory_bytes() +
               forgotten->incidents.memory_bytes() + forgotten->kept_incident_bytes;
    }
    return total;
  }

  // A sha a batch names that prune() may have forgotten.
  bool maybe_forgotten(const std::string& sha) const {
    return forgotten && !sha.empty() && !mentioned(sha) && forgotten->shas.may_contain(sha);
  }

  bool mentioned(const std::string& sha) const { return shas.find(sha) != kNoSha; }

  void add_push(const PushRow& push) { graph.add_push(push, shas); }
  void add_change(const ChangeRow& change) { graph.add_change(change, shas); }

  // Appends a deployment that finished after every one so far.
  void add_deployment(FoldedDeployment folded) {
    Deployment& d = *deployments.emplace_back(std::make_unique<Deployment>());
    d.row = std::move(folded.row);
    d.sender_commit_time = folded.sender_commit_time;
    const auto [by_id, new_id] = by_deploy_id.insert_or_assign(d.row.deploy_id, &d);
    if (new_id) bytes += memory::node_of(*by_id);
    if (!d.row.main_commit.empty()) d.head = shas.intern(d.row.main_commit);
    d.additional_shas.reserve(folded.additional_shas.size());
    for (const std::string& sha : folded.additional_shas) d.additional_shas.push_back(shas.intern(sha));
    if (d.row.status == "success") {
      const auto [env_it, new_env] = environments.try_emplace(d.row.environment, shas);
      if (new_env) bytes += memory::node_of(*env_it);
      Environment& env = env_it->second;
      // Deploying again what an earlier deployment brought, after something
      // else, goes back in history; deploying the same sha twice in a row is
      // a redeploy.
      d.row.rollback_detected = d.head != kNoSha && env.in_env.contains(d.head) && env.previous_commit &&
                                *env.previous_commit != d.row.main_commit;
      collect_changes(graph, shas, env.in_env, d);
      if (d.head != kNoSha) env.in_env.insert(d.head);
      for (const auto& [sha, time] : d.changes) env.in_env.insert(sha);
      env.previous_commit = d.row.main_commit;
      env.attributor.add(&d);
    }
    d.row.commit_time = main_commit_time(graph, d);
    bytes += memory_of(d);
  }

  // Forgets every deployment (and so every environment), keeping the shas
  // and the commit graph.
  void forget_deployments() {
    environments.clear();
    by_deploy_id.clear();
    deployments.clear();
    deployments.shrink_to_fit();
    bytes = 0;
  }

  // Destroys the deployment at `position`, one that did not succeed (so no
  // environment refers to it), leaving its slot empty.
  void remove_unsuccessful(std::size_t position) {
    const std::unique_ptr<Deployment> d = std::move(deployments[position]);
    const auto by_id = by_deploy_id.find(d->row.deploy_id);
    bytes -= memory::node_of(*by_id) + memory_of(*d);
    by_deploy_id.erase(by_id);
  }

  // Whether the kept deployments alone attribute `incident` as all of them
  // would, forgotten ones included: it opened inside the kept window, and no
  // forgotten deployment can have brought its root cause.
  bool attributable_from_kept(const IncidentRow& incident) const {
    if (incident.time_created < forgotten->horizon) return false;
    const std::string& root = incident.root_cause_sha;
    if (root.empty()) return true;
    // A shorter name could be a prefix of a forgotten sha.
    if (root.size() < forgotten->longest_sha) return false;
    if (forgotten->shas.may_contain(root)) return false;
    const auto env = environments.find(incident.environment);
    const ShaId id = shas.find(root);
    return env == environments.end() || id == kNoSha || !env->second.forgotten_in_env.contains(id);
  }

  std::optional<Millis> prune(const LinkSettings& settings, DerivedService& derived, ServiceHistory& reports);

  // Folds every incident and attributes it; sets caused_incident on every
  // deployment accordingly. After prune(), nullopt when an incident's
  // attribution could depend on what was forgotten.
  std::optional<std::vector<IncidentRow>> incidents(const std::vector<IncidentEventRow>& events,
                                                    const LinkSettings& settings) {
    std::vector<IncidentRow> rows = fold_incidents(events);
    std::set<const Deployment*> caused;
    for (IncidentRow& incident : rows) {
      if (forgotten) {
        const auto kept = forgotten->kept_incidents.find({incident.source, incident.incident_id});
        const bool same_inputs = kept != forgotten->kept_incidents.end() &&
                                 kept->second.time_created == incident.time_created &&
                                 kept->second.environment == incident.environment &&
                                 kept->second.root_cause_sha == incident.root_cause_sha;
        if (!same_inputs && !attributable_from_kept(incident)) return std::nullopt;
        // Attributed to a forgotten deployment by what it said then: any
        // other attribution now would change that deployment's row.
        if (!same_inputs && kept != forgotten->kept_incidents.end() && !kept->second.fixed_deploy_id.empty()) {
          return std::nullopt;
        }
        if (same_inputs && !kept->second.fixed_deploy_id.empty()) {
          // A forgotten deployment's: by root cause it stays the earliest;
          // by window, until a kept deployment brings the root cause or
          // finishes between it and the incident (an attempt that was
          // running at the prune succeeding): then the forgotten
          // deployment's row would change.
          if (kept->second.fixed_attribution != "root_cause") {
            const auto env = environments.find(incident.environment);
            if (env != environments.end() &&
                (env->second.attributor.by_root_cause(incident.root_cause_sha) ||
                 env->second.attributor.by_window(incident.time_created, settings.attribution_window))) {
              return std::nullopt;
            }
          }
          incident.deploy_id = kept->second.fixed_deploy_id;
          incident.attribution = kept->second.fixed_attribution;
          continue;
        }
      }
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
      } else if (const auto& forgotten_last = it->second.last_forgotten_success;
                 forgotten_last && settings.attribution_window > 0 && incident.time_created >= forgotten_last->finished &&
                 incident.time_created - forgotten_last->finished <= settings.attribution_window) {
        // Only an incident prune() did not see gets here (one it saw keeps
        // its attribution above): the window takes it to a forgotten
        // deployment. Its row (on a final day) stays as it is only when it
        // already caused an incident; caused_incident is all an incident
        // changes of it.
        if (!forgotten_last->caused_incident) return std::nullopt;
        incident.deploy_id = forgotten_last->deploy_id;
        incident.attribution = "window";
      }
    }
    if (forgotten) {
      for (const IncidentRow& incident : rows) {
        const auto kept = forgotten->kept_incidents.find({incident.source, incident.incident_id});
        if (kept != forgotten->kept_incidents.end() && kept->second.row_before_cut &&
            !(*kept->second.row_before_cut == incident)) {
          return std::nullopt;
        }
      }
    }
    for (auto& d : deployments) d->row.caused_incident = caused.count(d.get()) > 0;
    return rows;
  }
};

namespace {
constexpr Millis kDay = 86'400'000;
}  // namespace

std::optional<Millis> ServiceLinker::State::prune(const LinkSettings& settings, DerivedService& derived,
                                                  ServiceHistory& reports) {
  const std::size_t n = deployments.size();
  if (n == 0) return std::nullopt;
  // Where to cut: at the UTC midnight that starts the horizon's day (a
  // metrics day is either wholly kept or wholly final).
  const Millis horizon = deployments.back()->row.deployed_at - settings.keep_linked;
  const Millis cut = utc_day_number(horizon) * kDay;
  const auto k = static_cast<std::size_t>(
      std::lower_bound(deployments.begin(), deployments.end(), cut,
                       [](const std::unique_ptr<Deployment>& d, Millis t) { return d->row.deployed_at < t; }) -
      deployments.begin());
  if (k == 0 || k < settings.prune_at_deployments) return std::nullopt;
  Forgotten next = forgotten ? std::move(*forgotten) : Forgotten{};
  next.cut = cut;
  next.horizon = horizon;

  // Incidents: gone when they opened before the cut, are attributed to no
  // deployment kept, and cannot be attributed anew (no unresolved root
  // cause). Those kept remember what their attribution was computed from.
  std::map<const Deployment*, std::size_t> position;
  for (std::size_t i = 0; i < n; ++i) position[deployments[i].get()] = i;
  auto attributed_to = [&](const IncidentRow& incident) -> std::optional<std::size_t> {
    if (incident.deploy_id.empty()) return std::nullopt;
    const auto it = by_deploy_id.find(incident.deploy_id);
    return it == by_deploy_id.end() ? 0 : position.at(it->second);  // gone earlier: before any kept
  };
  next.kept_incidents.clear();
  next.kept_incident_bytes = 0;
  std::set<std::pair<std::string, std::string>> gone_incidents;
  std::vector<IncidentRow> kept_incidents;
  for (IncidentRow& incident : derived.incidents) {
    const auto to = attributed_to(incident);
    const bool to_kept = to && *to >= k;
    const bool may_change = !incident.root_cause_sha.empty() && incident.attribution != "root_cause";
    if (incident.time_created < cut && !to_kept && !may_change) {
      next.incidents.add(incident.source + '\0' + incident.incident_id);
      gone_incidents.emplace(incident.source, incident.incident_id);
      continue;
    }
    KeptIncident kept{incident.time_created, incident.environment, incident.root_cause_sha, {}, {}, {}};
    if (to && !to_kept) {
      kept.fixed_deploy_id = incident.deploy_id;
      kept.fixed_attribution = incident.attribution;
    }
    if (incident.time_created < cut) kept.row_before_cut = incident;
    next.kept_incident_bytes += kept.memory_bytes(incident.source, incident.incident_id);
    next.kept_incidents.emplace(std::make_pair(incident.source, incident.incident_id), std::move(kept));
    kept_incidents.push_back(std::move(incident));
  }
  derived.incidents = std::move(kept_incidents);
  std::erase_if(reports.incident_events, [&](const IncidentEventRow& r) {
    return gone_incidents.count({r.source, r.incident_id}) > 0;
  });

  // Deployments before the cut: their ids and what they brought.
  std::set<std::string> gone_ids;
  for (std::size_t i = 0; i < k; ++i) {
    const Deployment& d = *deployments[i];
    next.deploy_ids.add(d.row.deploy_id);
    gone_ids.insert(d.row.deploy_id);
    if (d.row.status != "success") continue;
    Environment& env = environments.at(d.row.environment);
    // In the order they finished: the last one stays.
    env.last_forgotten_success = Environment::ForgottenSuccess{d.row.deployed_at, d.row.deploy_id, d.row.main_commit,
                                                               d.row.caused_incident};
    auto brought = [&](ShaId sha) {
      env.forgotten_in_env.insert(sha);
      next.longest_sha = std::max(next.longest_sha, shas.text(sha).size());
    };
    if (d.head != kNoSha) brought(d.head);
    for (const auto& [sha, time] : d.changes) brought(sha);
  }
  std::erase_if(reports.deployment_events,
                [&](const DeploymentEventRow& r) { return gone_ids.count(r.deploy_id) > 0; });
  derived.deployments.erase(derived.deployments.begin(), derived.deployments.begin() + static_cast<std::ptrdiff_t>(k));
  for (const std::string& id : gone_ids) by_deploy_id.erase(id);
  deployments.erase(deployments.begin(), deployments.begin() + static_cast<std::ptrdiff_t>(k));

  // Commits: kept with their parents when some environment lacked them at
  // the cut (a walk of a kept deployment, linked again, or of a new one may
  // pass them); kept alone as a walk's stop when a kept commit's parent, a
  // branch's tip (the `before` of a push to come) or named by a kept
  // deployment. The rest forgotten deployments brought to every
  // environment, and nothing kept reaches them.
  const std::size_t count = shas.size();
  std::vector<char> keep(count, 0), walkable(count, 0);
  std::vector<ShaId> parents;
  for (ShaId id = 0; id < count; ++id) {
    bool everywhere = !environments.empty();
    for (const auto& [name, env] : environments) everywhere = everywhere && env.forgotten_in_env.contains(id);
    if (everywhere) continue;
    walkable[id] = keep[id] = 1;
    graph.parents(id, shas, parents);
    for (const ShaId parent : parents) keep[parent] = 1;
  }
  for (ShaId id = 0; id < count; ++id) {
    if (!graph.has_child(id)) keep[id] = 1;
  }
  for (const auto& d : deployments) {
    if (d->head != kNoSha) keep[d->head] = 1;
    for (const ShaId sha : d->additional_shas) keep[sha] = 1;
    for (const auto& [sha, time] : d->changes) keep[sha] = 1;
  }
  ShaTable kept_shas;
  std::vector<ShaId> new_id(count, kNoSha);
  for (ShaId id = 0; id < count; ++id) {
    if (keep[id]) {
      new_id[id] = kept_shas.intern(shas.text(id));
    } else {
      next.shas.add(shas.text(id));
    }
  }
  graph = graph.remapped(new_id, walkable, shas);
  auto remap_set = [&](const ShaSet& set) {
    ShaSet out;
    for (ShaId id = 0; id < count; ++id) {
      if (new_id[id] != kNoSha && set.contains(id)) out.insert(new_id[id]);
    }
    return out;
  };
  for (auto& [name, env] : environments) {
    env.in_env = remap_set(env.in_env);
    env.forgotten_in_env = remap_set(env.forgotten_in_env);
  }
  shas = std::move(kept_shas);
  for (auto& d : deployments) {
    if (d->head != kNoSha) d->head = new_id[d->head];
    for (ShaId& sha : d->additional_shas) sha = new_id[sha];
    for (auto& [sha, time] : d->changes) sha = new_id[sha];
  }
  for (auto& [name, env] : environments) env.attributor = EnvironmentAttributor(shas);
  for (auto& d : deployments) {
    if (d->row.status == "success") environments.at(d->row.environment).attributor.add(d.get());
  }
  deployments.shrink_to_fit();
  // What went was most of each vector: give its room back.
  derived.deployments.shrink_to_fit();
  derived.incidents.shrink_to_fit();
  reports.deployment_events.shrink_to_fit();
  reports.incident_events.shrink_to_fit();
  next.shas.settle();
  next.deploy_ids.settle();
  next.incidents.settle();
  forgotten = std::move(next);

  bytes = 0;
  for (const auto& entry : by_deploy_id) bytes += memory::node_of(entry);
  for (const auto& entry : environments) bytes += memory::node_of(entry);
  for (const auto& d : deployments) bytes += memory_of(*d);
  return cut;
}

ServiceLinker::ServiceLinker(LinkSettings settings) : settings_(settings) {}
ServiceLinker::~ServiceLinker() = default;

DerivedService ServiceLinker::derive(const ServiceHistory& history) {
  state_ = std::make_unique<State>();
  for (const PushRow& push : history.pushes) state_->add_push(push);
  for (const ChangeRow& change : history.changes) state_->add_change(change);
  return link_all(history);
}

std::optional<DerivedService> ServiceLinker::relink(const ServiceHistory& history, const ServiceHistory& added) {
  State& state = *state_;
  if (!state.forgotten) {
    for (const PushRow& push : added.pushes) state.add_push(push);
    for (const ChangeRow& change : added.changes) state.add_change(change);
    state.forget_deployments();
    return link_all(history);
  }
  // Pruned: the kept deployments are linked again from the state at the
  // cut, which needs every commit the batch tells of to be one no
  // forgotten deployment brought (its parents or time could change that
  // deployment's row), and every report to be of a kept or new deployment
  // or incident.
  const State::Forgotten& forgotten = *state.forgotten;
  // A known commit without a time may be one a forgotten deployment's walk
  // passed without taking (only changes are taken), the head of a forgotten
  // attempt that did not succeed, or a forgotten additional sha: nothing
  // records which, so any of them declines.
  auto reaches_forgotten = [&](const std::string& sha) {
    if (sha.empty() || is_null_sha(sha)) return false;
    if (state.maybe_forgotten(sha)) return true;
    const ShaId id = state.shas.find(sha);
    if (id == kNoSha) return false;
    if (!state.graph.is_known_change(id)) return true;
    for (const auto& [name, env] : state.environments) {
      if (env.forgotten_in_env.contains(id)) return true;
    }
    return false;
  };
  for (const PushRow& push : added.pushes) {
    for (const auto& sha : push.commit_shas) {
      if (reaches_forgotten(sha)) return std::nullopt;
    }
    if (reaches_forgotten(push.after)) return std::nullopt;
    if (!is_null_sha(push.before) && state.maybe_forgotten(push.before)) return std::nullopt;
  }
  for (const ChangeRow& change : added.changes) {
    if (reaches_forgotten(change.change_id)) return std::nullopt;
  }
  for (const DeploymentEventRow& r : added.deployment_events) {
    if (!state.by_deploy_id.count(r.deploy_id) && forgotten.deploy_ids.may_contain(r.deploy_id)) return std::nullopt;
  }
  for (const IncidentEventRow& r : added.incident_events) {
    if (!forgotten.kept_incidents.count({r.source, r.incident_id}) &&
        forgotten.incidents.may_contain(r.source + '\0' + r.incident_id)) {
      return std::nullopt;
    }
  }
  std::vector<FoldedDeployment> folded = fold_deployments(history.deployment_events);
  if (!folded.empty() && folded.front().row.deployed_at < forgotten.cut) return std::nullopt;
  for (const FoldedDeployment& d : folded) {
    if (d.row.status == "success" && !state.environments.count(d.row.environment)) return std::nullopt;
    if (state.maybe_forgotten(d.row.main_commit)) return std::nullopt;
    for (const std::string& sha : d.additional_shas) {
      if (state.maybe_forgotten(sha)) return std::nullopt;
    }
  }
  for (const PushRow& push : added.pushes) state.add_push(push);
  for (const ChangeRow& change : added.changes) state.add_change(change);
  // Back to the cut: what each environment had then.
  state.by_deploy_id.clear();
  state.deployments.clear();
  for (auto& [name, env] : state.environments) {
    env.in_env = env.forgotten_in_env;
    env.previous_commit.reset();
    if (env.last_forgotten_success) env.previous_commit = env.last_forgotten_success->commit;
    env.attributor = EnvironmentAttributor(state.shas);
  }
  state.bytes = 0;
  for (const auto& entry : state.environments) state.bytes += memory::node_of(entry);
  for (FoldedDeployment& deployment : folded) state.add_deployment(std::move(deployment));
  auto incidents = state.incidents(history.incident_events, settings_);
  if (!incidents) return std::nullopt;
  DerivedService derived;
  derived.service = history.service;
  derived.incidents = std::move(*incidents);
  derived.deployments.reserve(state.deployments.size());
  for (const auto& d : state.deployments) {
    derived.deployments.push_back(d->row);
    append_change_rows(*d, state.shas, derived.deployment_changes);
  }
  return derived;
}

std::optional<Millis> ServiceLinker::cut() const {
  if (!state_ || !state_->forgotten) return std::nullopt;
  return state_->forgotten->cut;
}

DerivedService ServiceLinker::link_all(const ServiceHistory& history) {
  for (FoldedDeployment& deployment : fold_deployments(history.deployment_events)) {
    state_->add_deployment(std::move(deployment));
  }
  DerivedService derived;
  derived.service = history.service;
  derived.incidents = *state_->incidents(history.incident_events, settings_);
  derived.deployments.reserve(state_->deployments.size());
  for (const auto& d : state_->deployments) {
    derived.deployments.push_back(d->row);
    append_change_rows(*d, state_->shas, derived.deployment_changes);
  }
  return derived;
}

bool ServiceLinker::extend(const ServiceHistory& history, const ServiceHistory& added, DerivedService& derived,
                           LinkChanges& changes) {
  if (!state_) return false;
  State& state = *state_;
  // Only shas nobody named before may get parents or times.
  // After prune(), neither may a sha that was forgotten (the `before` of a
  // push included: it may have been walked past).
  for (const PushRow& push : added.pushes) {
    for (const auto& sha : push.commit_shas) {
      if (state.mentioned(sha) || state.maybe_forgotten(sha)) return false;
    }
    if (!is_null_sha(push.after) && (state.mentioned(push.after) || state.maybe_forgotten(push.after))) return false;
    if (!is_null_sha(push.before) && state.maybe_forgotten(push.before)) return false;
  }
  for (const ChangeRow& change : added.changes) {
    if (state.mentioned(change.change_id) || state.maybe_forgotten(change.change_id)) return false;
  }
  if (state.forgotten) {
    for (const IncidentEventRow& r : added.incident_events) {
      const auto key = std::make_pair(r.source, r.incident_id);
      if (!state.forgotten->kept_incidents.count(key) && state.forgotten->incidents.may_contain(r.source + '\0' + r.incident_id)) {
        return false;
      }
    }
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
    if (it == state.by_deploy_id.end()) {
      if (state.forgotten && state.forgotten->deploy_ids.may_contain(id)) return false;
      continue;
    }
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
  std::vector<FoldedDeployment> fresh = fold_deployments(reports);
  if (state.forgotten && !fresh.empty() && fresh.front().row.deployed_at < state.forgotten->cut) return false;
  if (state.forgotten) {
    // A new environment's first deployment would bring every commit, the
    // forgotten ones too; a forgotten head or additional sha had a time and
    // environments that were forgotten with it.
    for (const FoldedDeployment& d : fresh) {
      if (d.row.status == "success" && !state.environments.count(d.row.environment)) return false;
      if (state.maybe_forgotten(d.row.main_commit)) return false;
      for (const std::string& sha : d.additional_shas) {
        if (state.maybe_forgotten(sha)) return false;
      }
    }
  }
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
  for (FoldedDeployment& d : fresh) {
    state.add_deployment(std::move(d));
    derived.deployments.push_back(state.deployments.back()->row);
    append_change_rows(*state.deployments.back(), state.shas, derived.deployment_changes);
  }
  changes.old_incidents = std::move(derived.incidents);
  auto incidents = state.incidents(history.incident_events, settings_);
  if (!incidents) return false;
  derived.incidents = std::move(*incidents);
  changes.changed_deployments.clear();
  for (std::size_t i = 0; i < state.deployments.size(); ++i) {
    const bool caused = state.deployments[i]->row.caused_incident;
    if (derived.deployments[i].caused_incident == caused) continue;
    derived.deployments[i].caused_incident = caused;
    if (i < changes.new_deployments_from) changes.changed_deployments.push_back(i);
  }
  return true;
}

namespace {

std::vector<DeploymentChangeRow> rows_between(const std::vector<std::unique_ptr<Deployment>>& deployments,
                                              const ShaTable& shas, Millis from, Millis to, bool ids) {
  std::vector<DeploymentChangeRow> rows;
  const auto first = std::lower_bound(deployments.begin(), deployments.end(), from, [](const auto& d, Millis t) {
    return d->row.deployed_at < t;
  });
  auto last = first;
  std::size_t n = 0;
  for (; last != deployments.end() && (*last)->row.deployed_at < to; ++last) n += (*last)->changes.size();
  rows.reserve(n);
  for (auto it = first; it != last; ++it) append_change_rows(**it, shas, rows, ids);
  return rows;
}

}  // namespace

std::vector<DeploymentChangeRow> ServiceLinker::change_rows(Millis from, Millis to) const {
  if (!state_) return {};
  return rows_between(state_->deployments, state_->shas, from, to, true);
}

std::vector<DeploymentChangeRow> ServiceLinker::lead_time_rows(Millis from, Millis to) const {
  if (!state_) return {};
  return rows_between(state_->deployments, state_->shas, from, to, false);
}

std::vector<DeploymentChangeRow> ServiceLinker::change_rows() const {
  return change_rows(std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max());
}

std::size_t ServiceLinker::memory_bytes() const { return state_ ? state_->memory_bytes() : 0; }

std::optional<Millis> ServiceLinker::prune(DerivedService& derived, ServiceHistory& reports) {
  if (!state_) return std::nullopt;
  return state_->prune(settings_, derived, reports);
}

bool ServiceLinker::pruned() const { return state_ && state_->forgotten; }

DerivedService derive_service(const ServiceHistory& history, const LinkSettings& settings) {
  ServiceLinker linker(settings);
  return linker.derive(history);
}

}  // namespace fourkeys::worker

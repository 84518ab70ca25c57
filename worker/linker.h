// Linking: what a service's base rows mean. A pure function, the single
// definition of the metrics' semantics (DESIGN.md "What the metrics mean");
// the materialize stage and --rebuild both call it, so an incremental result
// always equals a rebuild.
#pragma once

#include "worker/model.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace fourkeys::worker {

// Derives deployments (every attempt), their changes with lead times, and
// incidents with their attributed deployment, from everything stored about
// one service. The result depends only on the rows, not on their order in
// the vectors (ties are broken by ids), so any arrival order of the same
// events gives the same rows.
//
// Rows come sorted: deployments by (deployed_at, deploy_id); their changes in
// that order of deployments, then by change_id; incidents by (source,
// incident_id).
DerivedService derive_service(const ServiceHistory& history, const LinkSettings& settings);

// What extend() changed in a DerivedService.
struct LinkChanges {
  std::size_t new_deployments_from = 0;  // deployments[i] for i >= this are new
  // deployment_changes[i] for i >= this are new: all the rows of the new
  // deployments, none of an earlier one (whose changes never change).
  std::size_t new_changes_from = 0;
  std::vector<std::size_t> changed_deployments;  // earlier deployments whose caused_incident changed
  // Rows of unfinished attempts that new reports moved: taken out of
  // `deployments` (their new rows are among the new ones).
  std::vector<DeploymentRow> replaced_deployments;
  std::vector<IncidentRow> old_incidents;        // the incidents before (derived.incidents holds the new)
};

// derive_service() that remembers its linking state, so that a history that
// only grows forward can be linked without going over it again.
class ServiceLinker {
 public:
  explicit ServiceLinker(LinkSettings settings);
  ~ServiceLinker();
  ServiceLinker(const ServiceLinker&) = delete;
  ServiceLinker& operator=(const ServiceLinker&) = delete;

  // Everything from scratch, as derive_service().
  DerivedService derive(const ServiceHistory& history);

  // `added`: rows new since the last derive()/extend()/relink();
  // `history`: the whole history with them (only its deployment and incident
  // reports are read); `derived`: the last result, brought up to date in
  // place. Returns true when that gives exactly derive(history): the added
  // rows are reports of new deployments or of attempts that had not
  // succeeded, all finishing after every other deployment, and pushes and
  // changes that give parents or times only to shas nothing named before.
  // Otherwise returns false and changes nothing; call relink() (or
  // derive() with the whole history).
  //
  // After prune() it also returns false when the added rows reach what was
  // forgotten (a commit, deployment or incident from before the cut, a new
  // environment, an incident that opened before the kept window or names a
  // root cause a forgotten deployment may have brought or that the window
  // attributes to a forgotten deployment, a change to a day before the
  // cut). Then the state may be half changed: derive() from the
  // whole history is the only way on.
  bool extend(const ServiceHistory& history, const ServiceHistory& added, DerivedService& derived,
              LinkChanges& changes);

  // What to do when extend() declined: adds `added`'s pushes and changes to
  // what is remembered of the commits, then links every deployment again.
  // `history` as for extend(): only its reports are read, so a remembered
  // history can leave its pushes and changes out. Gives derive() of the
  // whole history: what is known of commits (parents, earliest times) does
  // not depend on the order it was learnt in. Requires a derive() before.
  //
  // After prune(), links the kept deployments again from what each
  // environment had at the cut, and gives the rows from the cut on (as
  // derive() of the whole history gives them); nullopt when the batch
  // reaches what was forgotten (as extend() declines, and a commit a
  // forgotten deployment brought, pushed or reported again, too). Then, as
  // after extend() declined, derive() from the whole history is the only
  // way on.
  std::optional<DerivedService> relink(const ServiceHistory& history, const ServiceHistory& added);

  // The cut of the last prune(), if any.
  std::optional<Millis> cut() const;

  // Forgets what linking forward no longer needs, when at least
  // settings.prune_at_deployments deployments can go: every deployment that
  // finished before a cut (a UTC midnight at or before settings.keep_linked
  // before the latest deployment), the incidents that opened before it
  // and whose attribution can no longer change, and the commits every
  // environment has that nothing kept refers to. Takes the same deployments
  // and incidents out of `derived` (rows) and `reports` (their reports), so
  // the three stay in step. Returns the cut, or nullopt when nothing went.
  //
  // The rows that went are final: any batch that would change them makes
  // extend() decline. What stays gives the rows derive_service() gives of
  // the whole history for every deployment finishing and incident opening
  // from the cut on, and every metrics day from the cut's day on may be
  // recomputed from them; days before it may not. The state then grows with
  // the recent past, not with the history (a few bytes per forgotten commit,
  // deployment and incident remain, so that a batch reaching them is seen).
  std::optional<Millis> prune(DerivedService& derived, ServiceHistory& reports);
  bool pruned() const;

  // The deployment_changes rows of the deployments linked so far that
  // finished in [from, to), or of all of them (since the cut, when
  // pruned), in derive()'s order: what
  // the last derive()/extend()/relink() gave, without keeping the rows (the
  // linker holds each deployment's changes as sha ids and times, a fraction
  // of the rows' size).
  std::vector<DeploymentChangeRow> change_rows(Millis from, Millis to) const;
  std::vector<DeploymentChangeRow> change_rows() const;
  // change_rows(from, to) with only what daily_metrics() reads: environment,
  // deployed_at, commit_time and lead_time_seconds; deploy_id and change_id
  // are left empty. The metrics of the days a batch touches are computed
  // from these at every batch, and copying two ids per change into rows that
  // are dropped at once cost more than the metrics themselves.
  std::vector<DeploymentChangeRow> lead_time_rows(Millis from, Millis to) const;

  // The heap the remembered linking state takes (every sha once, the commit
  // graph, each environment's commits, the linked deployments), estimated as
  // memory_estimate.h does; 0 before the first derive(). Sums a few
  // counters and capacities, so asking costs next to nothing.
  std::size_t memory_bytes() const;

 private:
  // Links the deployments and incidents of `history` onto the commits
  // remembered; the state has no deployments yet.
  DerivedService link_all(const ServiceHistory& history);

  struct State;
  LinkSettings settings_;
  std::unique_ptr<State> state_;
};

}  // namespace fourkeys::worker

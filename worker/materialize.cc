#include "worker/materialize.h"

#include "worker/daily_metrics.h"
#include "worker/linker.h"
#include "worker/pg_copy.h"
#include "worker/pg_text.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>

namespace fourkeys::worker {
namespace {

constexpr Millis kDay = 86'400'000;

// Milliseconds since the epoch, computed by Postgres so no timestamp text
// needs parsing here.
std::string ms(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000)::bigint";
}

std::string text_of(const pqxx::field& f) { return f.is_null() ? std::string() : std::string(f.c_str()); }

std::optional<Millis> time_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<long long>();
}

std::vector<ServiceHistory> group_histories(const std::vector<std::string>& services,
                                            std::map<std::string, ServiceHistory>& by_service) {
  std::vector<ServiceHistory> out;
  out.reserve(services.size());
  for (const auto& s : services) {
    ServiceHistory h = std::move(by_service[s]);
    h.service = s;
    out.push_back(std::move(h));
  }
  return out;
}

void lock_services(pqxx::transaction_base& tx, const std::vector<std::string>& services) {
  // One statement, locks taken in array order (the caller's name order).
  tx.exec_params(
      "SELECT pg_advisory_xact_lock(hashtextextended(s, 7)) FROM unnest($1::text[]) WITH ORDINALITY AS t(s, n) "
      "ORDER BY n",
      array_literal(services));
}

// Everything linking reads about `services`, in a few statements: of a
// commit its sha and time, of a push its id and shas (the other columns are
// the read side's), deployment and incident reports whole.
std::vector<ServiceHistory> load_histories(pqxx::transaction_base& tx, const std::vector<std::string>& services) {
  std::map<std::string, ServiceHistory> by_service;
  const std::string list = array_literal(services);

  // Every report of each commit, with its event: the caller takes the
  // earliest of each (earliest_reports()) once it knows which events count.
  for (const auto& r : tx.exec_params(
           "SELECT r.service, r.event_id, c.change_id, " + ms("c.time_created") +
               " FROM change_reports r CROSS JOIN LATERAL unnest(r.change_ids, r.times_created) "
               "AS c(change_id, time_created) WHERE r.service = ANY($1::text[])",
           list)) {
    ChangeRow c;
    c.event_id = r[1].c_str();
    c.change_id = r[2].c_str();
    c.time_created = r[3].as<long long>();
    by_service[r[0].c_str()].changes.push_back(std::move(c));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, before_sha, after_sha, commit_shas, " + ms("time_created") +
               " FROM pushes WHERE service = ANY($1::text[])",
           list)) {
    PushRow p;
    p.event_id = r[1].c_str();
    p.before = text_of(r[2]);
    p.after = text_of(r[3]);
    p.commit_shas = parse_text_array(r[4].c_str());
    p.time_created = r[5].as<long long>();
    by_service[r[0].c_str()].pushes.push_back(std::move(p));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, source, event_type, environment, deploy_id, sha, status, " +
               ms("started_at") + ", " + ms("finished_at") + ", " + ms("time_created") +
               ", is_rollback, is_hotfix, additional_shas, " + ms("commit_time") +
               ", repository FROM deployment_events WHERE service = ANY($1::text[])",
           list)) {
    DeploymentEventRow d;
    d.event_id = r[1].c_str();
    d.source = r[2].c_str();
    d.event_type = r[3].c_str();
    d.environment = r[4].c_str();
    d.deploy_id = r[5].c_str();
    d.sha = text_of(r[6]);
    d.status = r[7].c_str();
    d.started_at = time_of(r[8]);
    d.finished_at = time_of(r[9]);
    d.time_created = r[10].as<long long>();
    d.is_rollback = r[11].as<bool>();
    d.is_hotfix = r[12].as<bool>();
    d.additional_shas = parse_text_array(r[13].c_str());
    d.commit_time = time_of(r[14]);
    d.repository = text_of(r[15]);
    by_service[r[0].c_str()].deployment_events.push_back(std::move(d));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, source, event_type, incident_id, status, " + ms("created_at") + ", " +
               ms("resolved_at") + ", " + ms("time_created") +
               ", root_cause_sha, severity, title, environment "
               "FROM incident_events WHERE service = ANY($1::text[])",
           list)) {
    IncidentEventRow i;
    i.event_id = r[1].c_str();
    i.source = r[2].c_str();
    i.event_type = r[3].c_str();
    i.incident_id = r[4].c_str();
    i.status = r[5].c_str();
    i.created_at = time_of(r[6]);
    i.resolved_at = time_of(r[7]);
    i.time_created = r[8].as<long long>();
    i.root_cause_sha = text_of(r[9]);
    i.severity = text_of(r[10]);
    i.title = text_of(r[11]);
    i.environment = r[12].c_str();
    by_service[r[0].c_str()].incident_events.push_back(std::move(i));
  }
  return group_histories(services, by_service);
}

// A remembered history keeps only the reports: the linker reads them again
// at every batch (extend, relink), while what the pushes and changes say
// about commits it remembers itself.
void append_reports(ServiceHistory& history, const ServiceHistory& rows) {
  history.deployment_events.insert(history.deployment_events.end(), rows.deployment_events.begin(),
                                   rows.deployment_events.end());
  history.incident_events.insert(history.incident_events.end(), rows.incident_events.begin(),
                                 rows.incident_events.end());
}

void keep_reports(ServiceHistory& history) {
  std::vector<ChangeRow>().swap(history.changes);
  std::vector<PushRow>().swap(history.pushes);
}

// Of the reports of each commit (load_histories() reads them all), the
// earliest (time_created, event_id): what the `changes` view shows.
void earliest_reports(std::vector<ChangeRow>& changes) {
  std::sort(changes.begin(), changes.end(), [](const ChangeRow& a, const ChangeRow& b) {
    return std::tie(a.change_id, a.time_created, a.event_id) < std::tie(b.change_id, b.time_created, b.event_id);
  });
  changes.erase(std::unique(changes.begin(), changes.end(),
                            [](const ChangeRow& a, const ChangeRow& b) { return a.change_id == b.change_id; }),
                changes.end());
}

// `history` as it was before `added` was written: every row less those of
// `added`'s events, the earliest report of each commit among the rest.
ServiceHistory without_added(ServiceHistory history, const ServiceHistory& added) {
  std::set<std::string> events;
  for (const PushRow& p : added.pushes) events.insert(p.event_id);
  for (const DeploymentEventRow& d : added.deployment_events) events.insert(d.event_id);
  for (const IncidentEventRow& i : added.incident_events) events.insert(i.event_id);
  for (const ChangeRow& c : added.changes) events.insert(c.event_id);
  std::erase_if(history.pushes, [&](const PushRow& p) { return events.count(p.event_id) > 0; });
  std::erase_if(history.deployment_events, [&](const DeploymentEventRow& d) { return events.count(d.event_id) > 0; });
  std::erase_if(history.incident_events, [&](const IncidentEventRow& i) { return events.count(i.event_id) > 0; });
  std::erase_if(history.changes, [&](const ChangeRow& c) { return events.count(c.event_id) > 0; });
  earliest_reports(history.changes);
  return history;
}

ServiceHistory rows_of(const std::vector<const DecodedEvent*>& events) {
  ServiceHistory rows;
  for (const DecodedEvent* e : events) {
    if (e->push) rows.pushes.push_back(*e->push);
    rows.changes.insert(rows.changes.end(), e->changes.begin(), e->changes.end());
    if (e->deployment) rows.deployment_events.push_back(*e->deployment);
    if (e->incident) rows.incident_events.push_back(*e->incident);
  }
  return rows;
}

ServiceHistory rows_of_service(const std::map<std::string, std::vector<const DecodedEvent*>>& added,
                               const std::string& service) {
  const auto it = added.find(service);
  return it != added.end() ? rows_of(it->second) : ServiceHistory{};
}

using ChangeRowIt = std::vector<DeploymentChangeRow>::const_iterator;

// The change rows of one deployment: the rows from `first` on that share
// its deployment (rows sorted by key_of keep them together).
ChangeRowIt end_of_set(ChangeRowIt first, ChangeRowIt end) {
  return std::find_if(first, end, [&](const DeploymentChangeRow& c) {
    return c.deployed_at != first->deployed_at || c.deploy_id != first->deploy_id;
  });
}

// The rows of every derived table, in COPY form, plus the keys to delete.
// A deployment's changes are one row of deployment_change_sets (migration
// 013), written and deleted whole.
struct Writes {
  CopyRows deployments, change_sets, incidents, metrics;
  std::vector<std::string> del_deploy_service, del_deploy_id;
  std::vector<std::string> del_set_service, del_set_env, del_set_at, del_set_deploy;
  std::vector<std::string> del_incident_service, del_incident_source, del_incident_id;
  std::vector<std::string> del_metric_service, del_metric_env, del_metric_day;
  std::vector<std::string> replace_all;  // services whose rows are all rewritten

  void add(const std::string& service, const DeploymentRow& d) {
    deployments.text(service).text(d.environment).text(d.deploy_id).text(d.source).text(d.status)
        .text_or_null(d.main_commit).text_or_null(d.repository).time(d.deployed_at).time(d.started_at)
        .time(d.commit_time).boolean(d.rollback_flagged).boolean(d.rollback_detected).boolean(d.is_hotfix)
        .boolean(d.caused_incident).int4(d.change_count);
    deployments.end_row();
  }
  // The rows [first, last) of one deployment, in change_id order.
  void add_set(const std::string& service, ChangeRowIt first, ChangeRowIt last) {
    const std::size_t n = static_cast<std::size_t>(last - first);
    change_sets.text(service).text(first->environment).time(first->deployed_at).text(first->deploy_id)
        .text_array(n, [&](std::size_t i) -> const std::string& { return first[i].change_id; })
        .time_array(n, [&](std::size_t i) { return first[i].commit_time; })
        .float8_array(n, [&](std::size_t i) { return first[i].lead_time_seconds; });
    change_sets.end_row();
  }
  void add(const std::string& service, const IncidentRow& i) {
    incidents.text(service).text(i.environment).text(i.source).text(i.incident_id).text(i.status)
        .text_or_null(i.severity).text_or_null(i.title).text_or_null(i.root_cause_sha).time(i.time_created)
        .time(i.time_acknowledged).time(i.time_resolved).text_or_null(i.deploy_id).text_or_null(i.attribution);
    incidents.end_row();
  }
  void add(const std::string& service, const MetricsDay& m) {
    metrics.text(service).text(m.environment).date(m.day).int4(m.deployments).int4(m.failed_deployments)
        .int4(m.rework_deployments).int4(m.rollbacks).int4(m.hotfixes).int4(m.unsuccessful_attempts)
        .int4(m.changes_deployed).int4(m.lead_time_count).float8(m.lead_time_sum_seconds)
        .float8(m.lead_time_median_seconds).float8(m.lead_time_p90_seconds).int4(m.negative_lead_times)
        .int4_array(m.lead_time_buckets).int4(m.incidents_opened).int4(m.incidents_resolved)
        .float8(m.restore_sum_seconds).float8(m.restore_median_seconds).float8(m.restore_p90_seconds);
    metrics.end_row();
  }
  void remove(const std::string& service, const DeploymentRow& d) {
    del_deploy_service.push_back(service);
    del_deploy_id.push_back(d.deploy_id);
  }
  // The set of the deployment `c` belongs to.
  void remove_set(const std::string& service, const DeploymentChangeRow& c) {
    del_set_service.push_back(service);
    del_set_env.push_back(c.environment);
    del_set_at.push_back(std::to_string(c.deployed_at));
    del_set_deploy.push_back(c.deploy_id);
  }
  void remove(const std::string& service, const IncidentRow& i) {
    del_incident_service.push_back(service);
    del_incident_source.push_back(i.source);
    del_incident_id.push_back(i.incident_id);
  }
  void remove(const std::string& service, const MetricsDay& m) {
    del_metric_service.push_back(service);
    del_metric_env.push_back(m.environment);
    del_metric_day.push_back(m.day);
  }
};

// Adds the time since the last lap to one of the stats' clocks.
class Laps {
 public:
  void to(double& clock) {
    const auto now = std::chrono::steady_clock::now();
    clock += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Keys in the order derive_service() and daily_metrics() sort their rows,
// so two results diff in one merge pass, without building an index.
auto key_of(const DeploymentRow& d) { return std::tie(d.deployed_at, d.deploy_id); }
auto key_of(const IncidentRow& i) { return std::tie(i.source, i.incident_id); }
auto key_of(const MetricsDay& m) { return std::tie(m.environment, m.day); }

// Rows of `before` that are gone or changed are deleted; rows of `after`
// that are new or changed are written. Both are sorted by key_of.
template <typename Row>
std::pair<std::size_t, std::size_t> diff(const std::string& service, const std::vector<Row>& before,
                                         const std::vector<Row>& after, Writes& writes) {
  std::size_t written = 0, deleted = 0;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && key_of(*b) < key_of(*a))) {
      writes.remove(service, *b++);
      ++deleted;
    } else if (b == before.end() || key_of(*a) < key_of(*b)) {
      writes.add(service, *a++);
      ++written;
    } else {
      if (!(*a == *b)) {
        writes.remove(service, *b);
        writes.add(service, *a);
        ++deleted;
        ++written;
      }
      ++a;
      ++b;
    }
  }
  return {written, deleted};
}

// diff() for change rows, by deployment: a deployment whose changes differ
// at all has its set deleted and written again. Counts sets.
std::pair<std::size_t, std::size_t> diff(const std::string& service, const std::vector<DeploymentChangeRow>& before,
                                         const std::vector<DeploymentChangeRow>& after, Writes& writes) {
  std::size_t written = 0, deleted = 0;
  auto set_key = [](const DeploymentChangeRow& c) { return std::tie(c.deployed_at, c.deploy_id); };
  auto b = before.cbegin();
  auto a = after.cbegin();
  while (b != before.cend() || a != after.cend()) {
    const auto b_end = b == before.cend() ? b : end_of_set(b, before.cend());
    const auto a_end = a == after.cend() ? a : end_of_set(a, after.cend());
    if (a == after.cend() || (b != before.cend() && set_key(*b) < set_key(*a))) {
      writes.remove_set(service, *b);
      ++deleted;
      b = b_end;
    } else if (b == before.cend() || set_key(*a) < set_key(*b)) {
      writes.add_set(service, a, a_end);
      ++written;
      a = a_end;
    } else {
      if (!std::equal(b, b_end, a, a_end)) {
        writes.remove_set(service, *b);
        writes.add_set(service, a, a_end);
        ++deleted;
        ++written;
      }
      a = a_end;
      b = b_end;
    }
  }
  return {written, deleted};
}

// One column of a key to delete by: its name, and how the text the worker
// sends becomes the column's type ("{}" stands for the text).
struct KeyColumn {
  std::string name;
  std::string from_text = "{}";
};

// Deletes the rows whose key is one of `values` (one text array per column,
// the same length), in one statement.
void delete_keys(pqxx::transaction_base& tx, const std::string& table, const std::vector<KeyColumn>& columns,
                 const std::vector<const std::vector<std::string>*>& values) {
  if (values.front()->empty()) return;
  std::string names, selected, arrays, aliases;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string sep = i ? ", " : "", alias = "k" + std::to_string(i + 1);
    names += sep + columns[i].name;
    std::string expression = columns[i].from_text;
    expression.replace(expression.find("{}"), 2, alias);
    selected += sep + expression;
    arrays += sep + "$" + std::to_string(i + 1) + "::text[]";
    aliases += sep + alias;
    params.push_back(array_literal(*values[i]));
  }
  tx.exec_params("DELETE FROM " + table + " WHERE (" + names + ") IN (SELECT " + selected + " FROM unnest(" + arrays +
                     ") AS u(" + aliases + "))",
                 pqxx::prepare::make_dynamic_params(params));
}

void apply_writes(pqxx::transaction_base& tx, Writes& w) {
  if (!w.replace_all.empty()) {
    const std::string list = array_literal(w.replace_all);
    for (const char* table : {"deployment_attempts", "deployment_change_sets", "incidents", "metrics_daily"}) {
      tx.exec_params(std::string("DELETE FROM ") + table + " WHERE service = ANY($1::text[])", list);
    }
  }
  delete_keys(tx, "deployment_attempts", {{"service"}, {"deploy_id"}}, {&w.del_deploy_service, &w.del_deploy_id});
  // By the whole primary key (migration 013), deployed_at sent as milliseconds.
  delete_keys(tx, "deployment_change_sets",
              {{"service"}, {"environment"}, {"deployed_at", "timestamptz 'epoch' + {}::bigint * interval '1 millisecond'"},
               {"deploy_id"}},
              {&w.del_set_service, &w.del_set_env, &w.del_set_at, &w.del_set_deploy});
  delete_keys(tx, "incidents", {{"service"}, {"source"}, {"incident_id"}},
              {&w.del_incident_service, &w.del_incident_source, &w.del_incident_id});
  delete_keys(tx, "metrics_daily", {{"service"}, {"environment"}, {"day", "{}::date"}},
              {&w.del_metric_service, &w.del_metric_env, &w.del_metric_day});
  copy_into(tx, "deployment_attempts",
            {"service", "environment", "deploy_id", "source", "status", "main_commit", "repository",
             "time_created", "started_at", "commit_timestamp", "rollback_flagged", "rollback_detected",
             "is_hotfix", "caused_incident", "change_count"},
            w.deployments);
  copy_into(tx, "deployment_change_sets",
            {"service", "environment", "deployed_at", "deploy_id", "change_ids", "times_created",
             "lead_times_seconds"},
            w.change_sets);
  copy_into(tx, "incidents",
            {"service", "environment", "source", "incident_id", "status", "severity", "title", "root_cause",
             "time_created", "time_acknowledged", "time_resolved", "deploy_id", "attribution"},
            w.incidents);
  copy_into(tx, "metrics_daily",
            {"service", "environment", "day", "deployments", "failed_deployments", "rework_deployments",
             "rollbacks", "hotfixes", "unsuccessful_attempts", "changes_deployed", "lead_time_count",
             "lead_time_sum_seconds", "lead_time_median_seconds", "lead_time_p90_seconds", "negative_lead_times",
             "lead_time_buckets", "incidents_opened", "incidents_resolved", "restore_sum_seconds", "restore_median_seconds",
             "restore_p90_seconds"},
            w.metrics);
}

// The rows of `rows` (deployments or their changes, sorted by deployed_at,
// as the linker gives them) that finished on one of `days` (UTC day
// numbers, ascending) and that `in_days` takes, in their order: one range
// per day, found by bisection, rather than a walk over the whole history.
template <typename Row, typename Filter>
void rows_of_days(const std::vector<Row>& rows, const std::set<std::int64_t>& days, const Filter& in_days,
                  std::vector<Row>& out) {
  for (const std::int64_t day : days) {
    const Millis from = day * kDay, to = from + kDay;
    auto it = std::lower_bound(rows.begin(), rows.end(), from,
                               [](const Row& row, Millis t) { return row.deployed_at < t; });
    for (; it != rows.end() && it->deployed_at < to; ++it) {
      if (in_days(it->environment, it->deployed_at)) out.push_back(*it);
    }
  }
}

// Writes what ServiceLinker::extend() changed, and the metrics_daily rows
// of the days it touched (recomputed from the derived rows of those days).
std::pair<std::size_t, std::size_t> write_extension(const std::string& service, ServiceState& state,
                                                    const LinkChanges& changes, Writes& writes) {
  const DerivedService& derived = state.derived;
  std::size_t written = 0, deleted = 0;
  std::set<std::pair<std::string, std::int64_t>> days;
  auto touch = [&](const std::string& environment, Millis t) { days.emplace(environment, utc_day_number(t)); };
  for (const DeploymentRow& old : changes.replaced_deployments) {
    writes.remove(service, old);
    ++deleted;
    touch(old.environment, old.deployed_at);
  }
  for (std::size_t i : changes.changed_deployments) {
    writes.remove(service, derived.deployments[i]);
    writes.add(service, derived.deployments[i]);
    ++deleted;
    ++written;
    touch(derived.deployments[i].environment, derived.deployments[i].deployed_at);
  }
  for (std::size_t i = changes.new_deployments_from; i < derived.deployments.size(); ++i) {
    writes.add(service, derived.deployments[i]);
    ++written;
    touch(derived.deployments[i].environment, derived.deployments[i].deployed_at);
  }
  // Each new deployment's changes are new together (LinkChanges).
  const auto new_changes = derived.deployment_changes.cbegin() + static_cast<std::ptrdiff_t>(changes.new_changes_from);
  for (auto first = new_changes; first != derived.deployment_changes.cend();) {
    const auto last = end_of_set(first, derived.deployment_changes.cend());
    writes.add_set(service, first, last);
    ++written;
    touch(first->environment, first->deployed_at);
    first = last;
  }
  {
    const auto [w, d] = diff(service, changes.old_incidents, derived.incidents, writes);
    written += w;
    deleted += d;
    // Days of incidents that changed, before and after.
    std::map<std::pair<std::string, std::string>, const IncidentRow*> before;
    for (const IncidentRow& i : changes.old_incidents) before.emplace(std::make_pair(i.source, i.incident_id), &i);
    for (const IncidentRow& i : derived.incidents) {
      auto it = before.find({i.source, i.incident_id});
      if (it != before.end()) {
        if (*it->second == i) {
          before.erase(it);
          continue;
        }
        touch(it->second->environment, it->second->time_created);
        before.erase(it);
      }
      touch(i.environment, i.time_created);
    }
    for (const auto& [key, i] : before) touch(i->environment, i->time_created);
  }
  if (days.empty()) return {written, deleted};

  // The rows of the touched days, and their metrics.
  DerivedService subset;
  auto in_days = [&](const std::string& environment, Millis t) {
    return days.count({environment, utc_day_number(t)}) > 0;
  };
  std::set<std::int64_t> day_numbers;
  for (const auto& [environment, day] : days) day_numbers.insert(day);
  rows_of_days(derived.deployments, day_numbers, in_days, subset.deployments);
  for (const std::int64_t day : day_numbers) {
    for (DeploymentChangeRow& row : state.linker->lead_time_rows(day * kDay, (day + 1) * kDay)) {
      if (in_days(row.environment, row.deployed_at)) subset.deployment_changes.push_back(std::move(row));
    }
  }
  for (const auto& i : derived.incidents) {
    if (in_days(i.environment, i.time_created)) subset.incidents.push_back(i);
  }
  std::vector<MetricsDay> fresh = daily_metrics(subset);
  std::set<std::pair<std::string, std::string>> day_keys;
  for (const auto& [environment, day] : days) day_keys.emplace(environment, utc_day_text(day));
  std::vector<MetricsDay> old_days, kept;
  for (MetricsDay& m : state.metrics) {
    (day_keys.count({m.environment, m.day}) ? old_days : kept).push_back(std::move(m));
  }
  const auto [w, d] = diff(service, old_days, fresh, writes);
  written += w;
  deleted += d;
  std::vector<MetricsDay> merged;
  merged.reserve(kept.size() + fresh.size());
  std::merge(std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()),
             std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()), std::back_inserter(merged),
             [](const MetricsDay& a, const MetricsDay& b) { return key_of(a) < key_of(b); });
  state.metrics = std::move(merged);
  return {written, deleted};
}

// The derived and metric rows the database holds for some services, in the
// order derive_service() and daily_metrics() give them.
struct StoredRows {
  DerivedService derived;
  std::vector<MetricsDay> metrics;
};

// Writes what turns `before` into `after`, for every derived table and
// metrics_daily of one service.
void diff_all(const std::string& service, const StoredRows& before, const DerivedService& after_derived,
              const std::vector<MetricsDay>& after_metrics, Writes& writes, MaterializeStats& stats) {
  for (auto [w, d] : {diff(service, before.derived.deployments, after_derived.deployments, writes),
                      diff(service, before.derived.deployment_changes, after_derived.deployment_changes, writes),
                      diff(service, before.derived.incidents, after_derived.incidents, writes),
                      diff(service, before.metrics, after_metrics, writes)}) {
    stats.rows_written += w;
    stats.rows_deleted += d;
  }
}

enum class Linked { forward, again, needs_history };

// Metrics days before a pruned state's cut are final: the state's rows are
// not all of theirs, so they are neither kept nor written again.
void drop_days_before(std::vector<MetricsDay>& metrics, Millis cut) {
  const std::string first_kept = utc_day_text(utc_day_number(cut));
  std::erase_if(metrics, [&](const MetricsDay& m) { return m.day < first_kept; });
}

// Brings `state`, which equals the rows the database holds for `service`
// (a cached state, or one derived from the history before this batch), up
// to date with the batch's rows: linked forward when extend() can, linked
// again from the remembered commits otherwise; writes what changed. When
// the batch reaches what a pruned state forgot, nothing is written and the
// state is of no further use (needs_history: read the service from
// Postgres).
Linked link_forward(const std::string& service, ServiceState& state, const ServiceHistory& new_rows, Writes& writes,
                    MaterializeStats& stats) {
  append_reports(state.history, new_rows);
  LinkChanges changes;
  if (state.linker->extend(state.history, new_rows, state.derived, changes)) {
    const auto [w, d] = write_extension(service, state, changes, writes);
    stats.rows_written += w;
    stats.rows_deleted += d;
    return Linked::forward;
  }
  // What the database holds: the rows before this batch (extend() changed
  // nothing), the change rows from the linker as the state keeps none.
  StoredRows before{std::move(state.derived), std::move(state.metrics)};
  before.derived.deployment_changes = state.linker->change_rows();
  auto relinked = state.linker->relink(state.history, new_rows);
  if (!relinked) return Linked::needs_history;
  state.derived = std::move(*relinked);
  state.metrics = daily_metrics(state.derived);
  if (const auto cut = state.linker->cut()) drop_days_before(state.metrics, *cut);
  diff_all(service, before, state.derived, state.metrics, writes, stats);
  return Linked::again;
}

// Between batches a state keeps only what linking forward needs: the rows
// before its linker's cut are final, and so are the metrics days before it.
void prune(ServiceState& state, MaterializeStats& stats) {
  const auto cut = state.linker->prune(state.derived, state.history);
  if (!cut) return;
  ++stats.states_pruned;
  drop_days_before(state.metrics, *cut);
  state.metrics.shrink_to_fit();
}


}  // namespace

std::vector<std::vector<std::string>> Materializer::load_chunks(const std::vector<std::string>& services) const {
  std::vector<std::vector<std::string>> chunks;
  std::size_t chunk_bytes = 0;
  for (const std::string& service : services) {
    const std::size_t hint = cache_ ? std::max(cache_->load_size_hint(service), cache_->size_hint(service)) : 0;
    const std::size_t size = hint > 0 ? hint : kUnknownServiceBytes;
    if (chunks.empty() || chunk_bytes + size > kLoadChunkBytes) {
      chunks.emplace_back();
      chunk_bytes = 0;
    }
    chunks.back().push_back(service);
    chunk_bytes += size;
  }
  return chunks;
}

// Kept for the cache only while this batch's states fit its budget together
// (the cached ones first: they are linked forward cheaply), the cache
// forgetting older states now to make room for it; the others are dropped
// now rather than held until the commit.
void Materializer::keep(const std::string& service, std::unique_ptr<ServiceState> state, std::size_t& kept_bytes,
                        MaterializeStats& stats) {
  state->forget_change_rows();
  cache_->note_load_size(service, state->bytes());
  prune(*state, stats);
  const std::size_t size = state->bytes();
  if (kept_bytes + size <= cache_->budget()) {
    kept_bytes += size;
    cache_->make_room(kept_bytes);
    pending_.emplace_back(service, std::move(state));
  } else {
    cache_->note_size(service, size);
  }
}

Materializer::Materializer(LinkSettings settings, ServiceCache* cache) : settings_(settings), cache_(cache) {}

MaterializeStats Materializer::run(pqxx::transaction_base& tx, const std::vector<std::string>& services,
                                   const std::map<std::string, std::vector<const DecodedEvent*>>& added,
                                   ServiceLocks locks) {
  MaterializeStats stats;
  if (services.empty()) return stats;
  Laps laps;
  if (locks == ServiceLocks::take) lock_services(tx, services);
  const std::string list = array_literal(services);

  // Which cached states still match the database.
  std::map<std::string, std::unique_ptr<ServiceState>> states;
  std::size_t kept_bytes = 0;  // what the states this batch will give the cache take
  std::vector<std::string> to_load;
  if (cache_) {
    std::map<std::string, std::int64_t> versions;
    for (const auto& r : tx.exec_params("SELECT service, version FROM service_versions WHERE service = ANY($1::text[])",
                                        list)) {
      versions[r[0].c_str()] = r[1].as<std::int64_t>();
    }
    for (const auto& s : services) {
      // Its size when put (the hint outlives take()).
      const std::size_t size = cache_->size_hint(s);
      std::unique_ptr<ServiceState> state = cache_->take(s);
      auto v = versions.find(s);
      if (state && v != versions.end() && state->version == v->second) {
        states[s] = std::move(state);
        kept_bytes += size;
      } else {
        to_load.push_back(s);
      }
    }
  } else {
    to_load = services;
  }

  Writes writes;
  // The cached states first: one that was pruned and cannot link this batch
  // forward is read from Postgres with the others.
  laps.to(stats.read_seconds);
  for (auto& [service, state] : states) {
    const std::size_t size = cache_->size_hint(service);
    switch (link_forward(service, *state, rows_of_service(added, service), writes, stats)) {
      case Linked::forward:
        ++stats.services_extended;
        break;
      case Linked::again:
        break;
      case Linked::needs_history:
        to_load.push_back(service);
        ++stats.pruned_read_again;
        kept_bytes -= std::min(kept_bytes, size);
        state.reset();
        continue;
    }
    state->forget_change_rows();
    prune(*state, stats);
    pending_.emplace_back(service, std::move(state));
  }
  laps.to(stats.link_seconds);
  stats.services_loaded = to_load.size();

  // A few services at a time, so that reading many services the cache does
  // not hold (after a restart, or when their states outgrew the budget)
  // holds only a chunk's histories and stored rows in memory at once.
  for (const std::vector<std::string>& chunk : load_chunks(to_load)) {
    std::vector<ServiceHistory> loaded = load_histories(tx, chunk);
    laps.to(stats.read_seconds);
    if (!cache_) {
      for (ServiceHistory& history : loaded) {
        // A rebuild: every row is written anew, after the service's rows
        // are deleted.
        earliest_reports(history.changes);
        const DerivedService derived = derive_service(history, settings_);
        writes.replace_all.push_back(history.service);
        diff_all(history.service, StoredRows{}, derived, daily_metrics(derived), writes, stats);
      }
      laps.to(stats.link_seconds);
      continue;
    }
    for (ServiceHistory& history : loaded) {
      // The history before this batch, whose rows the database holds
      // (every report is kept by its event, so it is exact): link this
      // batch's rows forward from it, as from a cached state.
      auto state = std::make_unique<ServiceState>();
      state->linker = std::make_unique<ServiceLinker>(settings_);
      const std::string service = history.service;
      ServiceHistory new_rows = rows_of_service(added, service);
      state->history = without_added(std::move(history), new_rows);
      state->derived = state->linker->derive(state->history);
      state->metrics = daily_metrics(state->derived);
      keep_reports(state->history);
      link_forward(service, *state, new_rows, writes, stats);
      keep(service, std::move(state), kept_bytes, stats);
    }
    laps.to(stats.link_seconds);
  }
  laps.to(stats.link_seconds);
  apply_writes(tx, writes);

  // A new version for every service written, read back for the cache.
  std::map<std::string, std::int64_t> versions;
  for (const auto& r : tx.exec_params(
           "INSERT INTO service_versions (service, version) "
           "SELECT s, nextval('service_version_seq') FROM unnest($1::text[]) AS t(s) "
           "ON CONFLICT (service) DO UPDATE SET version = EXCLUDED.version RETURNING service, version",
           list)) {
    versions[r[0].c_str()] = r[1].as<std::int64_t>();
  }
  for (auto& [service, state] : pending_) state->version = versions[service];
  stats.services = services.size();
  laps.to(stats.write_seconds);
  return stats;
}

void Materializer::committed() {
  if (cache_) {
    for (auto& [service, state] : pending_) cache_->put(service, std::move(state));
  }
  pending_.clear();
}

void Materializer::discard() { pending_.clear(); }

}  // namespace fourkeys::worker

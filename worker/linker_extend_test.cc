// ServiceLinker::extend must give exactly derive_service() of the whole
// history, or decline.

#include "worker/history_batches_for_tests.h"
#include "worker/daily_metrics.h"
#include "worker/linker.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>

using namespace fourkeys::worker;
using fourkeys::worker::testing::append_rows;
using fourkeys::worker::testing::history_batches;


TEST_CASE("extending a linked history gives what deriving it whole gives", "[linker][extend]") {
  LinkSettings settings;
  int extended = 0, declined = 0;
  std::size_t replaced = 0;
  for (std::uint32_t seed = 1; seed <= 15; ++seed) {
    INFO("seed " << seed);
    ServiceLinker linker(settings);
    ServiceHistory history;
    history.service = "svc";
    DerivedService derived = linker.derive(history);
    // Some batches arrive late: linking forward must then decline.
    testing::HistoryShape shape;
    shape.late_percent = 10;
    const auto batches = history_batches(seed, shape);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      INFO("batch " << b);
      append_rows(history, batches[b]);
      const DerivedService before = derived;
      LinkChanges changes;
      if (linker.extend(history, batches[b], derived, changes)) {
        ++extended;
        // What extend() says it changed is all that changed.
        std::map<std::string, DeploymentRow> was;
        for (const auto& d : before.deployments) was[d.deploy_id] = d;
        for (const auto& r : changes.replaced_deployments) {
          CHECK(was.count(r.deploy_id) == 1);
          CHECK(r.status != "success");
          was.erase(r.deploy_id);
        }
        CHECK(changes.new_deployments_from == was.size());
        for (std::size_t i = 0; i < changes.new_deployments_from; ++i) {
          const bool listed = std::find(changes.changed_deployments.begin(), changes.changed_deployments.end(), i) !=
                              changes.changed_deployments.end();
          CHECK((derived.deployments[i] == was.at(derived.deployments[i].deploy_id)) != listed);
        }
        if (changes.replaced_deployments.empty()) {
          CHECK(std::equal(before.deployment_changes.begin(), before.deployment_changes.end(),
                           derived.deployment_changes.begin()));
        }
        replaced += changes.replaced_deployments.size();
        CHECK(changes.old_incidents == before.incidents);
      } else {
        ++declined;
        derived = linker.derive(history);
      }
      const DerivedService whole = derive_service(history, settings);
      REQUIRE(derived.deployments == whole.deployments);
      REQUIRE(derived.deployment_changes == whole.deployment_changes);
      REQUIRE(derived.incidents == whole.incidents);
      // The rows the linker gives again, whole and of a window.
      REQUIRE(linker.change_rows() == whole.deployment_changes);
      if (!whole.deployments.empty()) {
        const Millis from = whole.deployments[whole.deployments.size() / 2].deployed_at, to = from + 86'400'000;
        std::vector<DeploymentChangeRow> window;
        for (const auto& row : whole.deployment_changes) {
          if (row.deployed_at >= from && row.deployed_at < to) window.push_back(row);
        }
        REQUIRE(linker.change_rows(from, to) == window);
        // The same rows for the metrics, without their ids.
        for (auto& row : window) {
          row.deploy_id.clear();
          row.change_id.clear();
        }
        REQUIRE(linker.lead_time_rows(from, to) == window);
      }
    }
  }
  // Both paths ran.
  CHECK(extended > 100);
  CHECK(declined > 5);
  CHECK(replaced > 20);  // running attempts finished in a later batch
}

TEST_CASE("linking again from the remembered commits gives what deriving the whole history gives",
          "[linker][extend]") {
  LinkSettings settings;
  int relinked = 0;
  for (std::uint32_t seed = 1; seed <= 10; ++seed) {
    INFO("seed " << seed);
    ServiceLinker linker(settings);
    ServiceHistory history;  // everything, for the reference
    history.service = "svc";
    ServiceHistory reports;  // only the deployment and incident reports, as the cache keeps them
    reports.service = "svc";
    DerivedService derived = linker.derive(reports);
    testing::HistoryShape shape;
    shape.late_percent = 15;
    shape.rollback_percent = 25;
    const auto batches = history_batches(seed, shape);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      INFO("batch " << b);
      append_rows(history, batches[b]);
      reports.deployment_events.insert(reports.deployment_events.end(), batches[b].deployment_events.begin(),
                                       batches[b].deployment_events.end());
      reports.incident_events.insert(reports.incident_events.end(), batches[b].incident_events.begin(),
                                     batches[b].incident_events.end());
      LinkChanges changes;
      if (!linker.extend(reports, batches[b], derived, changes)) {
        ++relinked;
        derived = *linker.relink(reports, batches[b]);
      }
      const DerivedService whole = derive_service(history, settings);
      REQUIRE(derived.deployments == whole.deployments);
      REQUIRE(derived.deployment_changes == whole.deployment_changes);
      REQUIRE(derived.incidents == whole.incidents);
      REQUIRE(linker.change_rows() == whole.deployment_changes);
    }
  }
  CHECK(relinked > 10);  // late batches made extend decline, and relinking was exercised
}

namespace {

template <typename Row, typename Key>
std::vector<Row> sorted_by(std::vector<Row> rows, Key key) {
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return key(a) < key(b); });
  return rows;
}

std::vector<MetricsDay> days_from(const std::vector<MetricsDay>& days, Millis cut) {
  std::vector<MetricsDay> out;
  const std::string first = utc_day_text(utc_day_number(cut));
  for (const MetricsDay& m : days) {
    if (m.day >= first) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE("a pruned linker gives what deriving the whole history gives, from its cut on, or declines",
          "[linker][prune]") {
  LinkSettings settings;
  settings.keep_linked = 3 * 3'600'000;
  settings.prune_at_deployments = 1;
  int pruned = 0, extended = 0, relinked_pruned = 0, declined = 0;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    testing::HistoryShape shape;
    shape.steps = 160;
    shape.minutes_between_steps = 40;
    shape.late_percent = 4;
    shape.rollback_percent = 10;
    const auto batches = history_batches(seed, shape);
    ServiceLinker linker(settings);
    ServiceHistory history;  // everything: what Postgres holds
    history.service = "svc";
    ServiceHistory reports = history;  // what a cached state keeps
    DerivedService derived = linker.derive(reports);
    // Rows that went with a prune, as Postgres keeps them.
    std::vector<DeploymentRow> final_deployments;
    std::vector<DeploymentChangeRow> final_changes;
    std::vector<IncidentRow> final_incidents;
    std::optional<Millis> cut;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      INFO("batch " << b);
      append_rows(history, batches[b]);
      reports.deployment_events.insert(reports.deployment_events.end(), batches[b].deployment_events.begin(),
                                       batches[b].deployment_events.end());
      reports.incident_events.insert(reports.incident_events.end(), batches[b].incident_events.begin(),
                                     batches[b].incident_events.end());
      LinkChanges changes;
      const bool was_pruned = linker.pruned();
      if (linker.extend(reports, batches[b], derived, changes)) {
        extended += was_pruned;
      } else if (auto again = linker.relink(reports, batches[b])) {
        relinked_pruned += was_pruned;
        derived = std::move(*again);
      } else {
        // Read from Postgres again, as the worker does.
        REQUIRE(was_pruned);
        ++declined;
        derived = linker.derive(history);
        reports = history;
        reports.changes.clear();
        reports.pushes.clear();
        final_deployments.clear();
        final_changes.clear();
        final_incidents.clear();
        cut.reset();
      }
      const DerivedService whole = derive_service(history, settings);
      const std::vector<DeploymentChangeRow> change_rows = linker.change_rows();

      // What was final and what is kept, together, are the whole history's rows.
      std::vector<DeploymentRow> deployments = final_deployments;
      deployments.insert(deployments.end(), derived.deployments.begin(), derived.deployments.end());
      REQUIRE(deployments == whole.deployments);
      std::vector<DeploymentChangeRow> all_changes = final_changes;
      all_changes.insert(all_changes.end(), change_rows.begin(), change_rows.end());
      REQUIRE(all_changes == whole.deployment_changes);
      std::vector<IncidentRow> incidents = final_incidents;
      incidents.insert(incidents.end(), derived.incidents.begin(), derived.incidents.end());
      auto incident_key = [](const IncidentRow& i) { return std::tie(i.source, i.incident_id); };
      REQUIRE(sorted_by(incidents, incident_key) == whole.incidents);
      // Every metrics day from the cut on can be recomputed from what is kept.
      if (cut) {
        DerivedService kept = derived;
        kept.deployment_changes = change_rows;
        REQUIRE(days_from(daily_metrics(kept), *cut) == days_from(daily_metrics(whole), *cut));
      }

      // Prune as the worker does after every batch.
      const DerivedService before = derived;
      if (const auto now_cut = linker.prune(derived, reports)) {
        ++pruned;
        CHECK(linker.pruned());
        CHECK((!cut || *now_cut >= *cut));
        cut = now_cut;
        const std::size_t gone = before.deployments.size() - derived.deployments.size();
        REQUIRE(gone > 0);
        CHECK(std::equal(derived.deployments.begin(), derived.deployments.end(), before.deployments.begin() + gone));
        for (std::size_t i = 0; i < gone; ++i) {
          CHECK(before.deployments[i].deployed_at < *cut);
          final_deployments.push_back(before.deployments[i]);
        }
        for (const DeploymentRow& d : derived.deployments) CHECK(d.deployed_at >= *cut);
        std::vector<DeploymentChangeRow> kept_changes;
        for (const DeploymentChangeRow& c : change_rows) {
          (c.deployed_at < *cut ? final_changes : kept_changes).push_back(c);
        }
        REQUIRE(linker.change_rows() == kept_changes);
        for (const IncidentRow& i : before.incidents) {
          if (!std::binary_search(derived.incidents.begin(), derived.incidents.end(), i,
                                  [&](const IncidentRow& a, const IncidentRow& x) {
                                    return incident_key(a) < incident_key(x);
                                  })) {
            CHECK(i.time_created < *cut);
            final_incidents.push_back(i);
          }
        }
      }
    }
    // What is kept grows with the recent past, not with the history.
    ServiceLinker whole_linker(settings);
    whole_linker.derive(history);
    INFO("pruned " << linker.memory_bytes() << " bytes, whole " << whole_linker.memory_bytes());
    CHECK(linker.memory_bytes() * 3 < whole_linker.memory_bytes());
  }
  // Every path ran.
  CHECK(pruned > 100);
  CHECK(extended > 500);
  CHECK(relinked_pruned > 20);
  CHECK(declined > 10);
}

TEST_CASE("a pruned state takes about the same memory however long the history grows", "[linker][prune]") {
  LinkSettings settings;
  settings.keep_linked = 3 * 3'600'000;
  settings.prune_at_deployments = 4;
  testing::HistoryShape shape;
  shape.steps = 900;
  shape.minutes_between_steps = 40;
  shape.incident_percent = 10;
  shape.rollback_percent = 0;  // a redeploy of an old commit declines; this test is about the steady state
  // Staging after every production deployment: the commits a kept
  // deployment names are in every environment, so their parents go while
  // they stay.
  shape.staging_percent = 100;
  const auto batches = history_batches(7, shape);
  ServiceLinker linker(settings);
  ServiceHistory history, reports;
  history.service = reports.service = "svc";
  DerivedService derived = linker.derive(reports);
  // The mean size of the state after a prune, in each third of the history.
  double total[3] = {0, 0, 0};
  int prunes[3] = {0, 0, 0};
  int declined = 0;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    append_rows(history, batches[b]);
    append_rows(reports, batches[b]);
    reports.changes.clear();
    reports.pushes.clear();
    LinkChanges changes;
    if (!linker.extend(reports, batches[b], derived, changes)) {
      // An incident naming its root cause by a short sha: read again.
      ++declined;
      derived = linker.derive(history);
      reports = history;
      reports.changes.clear();
      reports.pushes.clear();
    }
    if (linker.prune(derived, reports)) {
      const std::size_t third = b * 3 / batches.size();
      total[third] += static_cast<double>(linker.memory_bytes());
      ++prunes[third];
    }
  }
  REQUIRE(prunes[1] > 5);
  REQUIRE(prunes[2] > 5);
  const double middle = total[1] / prunes[1], last = total[2] / prunes[2];
  INFO("mean pruned state, second and last third: " << middle << ", " << last << " bytes; " << declined
                                                    << " declined");
  // What grows with the history is the hashes of what was forgotten, 4
  // bytes each: allow twice that for what a third of the history adds.
  std::size_t items = 0;
  for (const auto& batch : batches) items += batch.changes.size() + batch.deployment_events.size() + batch.incident_events.size();
  CHECK(last < middle + 8.0 * static_cast<double>(items) / 3);
  CHECK(declined < 40);
  ServiceLinker whole(settings);
  whole.derive(history);
  CHECK(last * 10 < static_cast<double>(whole.memory_bytes()));
}

TEST_CASE("an attempt that was running at a prune and succeeds before a kept incident takes it, or the linker declines",
          "[linker][prune]") {
  LinkSettings settings;
  settings.keep_linked = 3'600'000;
  settings.prune_at_deployments = 1;
  const Millis day0 = 1'700'006'400'000;  // a UTC midnight
  const Millis hour = 3'600'000;
  auto commit = [](const std::string& sha, Millis t) {
    ChangeRow c;
    c.change_id = sha;
    c.time_created = t;
    return c;
  };
  auto push = [](const std::string& id, const std::string& before, const std::string& sha, Millis t) {
    PushRow p;
    p.event_id = id;
    p.before = before;
    p.after = sha;
    p.commit_shas = {sha};
    p.time_created = t;
    return p;
  };
  auto report = [](const std::string& id, const std::string& deploy_id, const std::string& sha,
                   const std::string& status, Millis t) {
    DeploymentEventRow r;
    r.event_id = id;
    r.source = "github";
    r.environment = "production";
    r.deploy_id = deploy_id;
    r.sha = sha;
    r.status = status;
    r.time_created = t;
    return r;
  };
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c'), zero(40, '0');
  std::vector<ServiceHistory> batches(3);
  batches[0].changes = {commit(a, day0 + 9 * hour), commit(b, day0 + 22 * hour)};
  batches[0].pushes = {push("p1", zero, a, day0 + 9 * hour), push("p2", a, b, day0 + 22 * hour)};
  batches[0].deployment_events = {report("d1", "github:1", a, "success", day0 + 10 * hour),
                                  report("d2", "github:2", b, "success", day0 + 23 * hour)};
  batches[1].changes = {commit(c, day0 + 30 * hour)};
  batches[1].pushes = {push("p3", b, c, day0 + 30 * hour)};
  batches[1].deployment_events = {report("d3", "github:3", c, "in_progress", day0 + 30 * hour + 15 * 60'000)};
  IncidentEventRow incident;
  incident.event_id = "i1";
  incident.source = "pagerduty";
  incident.incident_id = "INC-1";
  incident.status = "open";
  incident.time_created = day0 + 30 * hour + 24 * 60'000;
  incident.environment = "production";
  batches[1].incident_events = {incident};
  batches[2].deployment_events = {report("d4", "github:3", c, "success", day0 + 30 * hour + 16 * 60'000)};

  ServiceLinker linker(settings);
  ServiceHistory history, reports;
  history.service = reports.service = "svc";
  DerivedService derived = linker.derive(reports);
  for (int b = 0; b < 2; ++b) {
    append_rows(history, batches[b]);
    append_rows(reports, batches[b]);
    LinkChanges changes;
    REQUIRE(linker.extend(reports, batches[b], derived, changes));
  }
  // The incident goes to the last success before it, on the day before.
  REQUIRE(derived.incidents.size() == 1);
  CHECK(derived.incidents[0].deploy_id == "github:2");
  // The cut is the second day's midnight: both successes go, the running
  // attempt and the incident stay.
  const auto cut = linker.prune(derived, reports);
  REQUIRE(cut);
  CHECK(*cut == day0 + 24 * hour);
  REQUIRE(derived.deployments.size() == 1);

  // The attempt succeeds, before the incident opened: the incident is its.
  append_rows(history, batches[2]);
  append_rows(reports, batches[2]);
  LinkChanges changes;
  const bool extended = linker.extend(reports, batches[2], derived, changes);
  const DerivedService whole = derive_service(history, settings);
  REQUIRE(whole.incidents.size() == 1);
  CHECK(whole.incidents[0].deploy_id == "github:3");
  // github:2's caused_incident changes: a forgotten row, so declining is
  // the only right answer.
  CHECK_FALSE(extended);
}

// Pruned states against hand-made histories: each batch either declines or
// gives exactly the whole history's rows (those before the cut unchanged).

namespace prune_cases {
constexpr Millis H = 3'600'000, DAY = 24 * H;
const Millis D = 100 * DAY;  // midnight of day D
std::string sha(int n) { char b[41]; snprintf(b, sizeof b, "%040d", n); std::string s(b); s[0] = 'a'; return s; }
int evid = 0;
DeploymentEventRow dep(const std::string& id, const std::string& env, const std::string& s, const std::string& status, Millis t,
                       std::optional<Millis> finished = std::nullopt) {
  DeploymentEventRow r; r.event_id = "e" + std::to_string(++evid); r.source = "github"; r.event_type = "deployment_status";
  r.environment = env; r.deploy_id = id; r.sha = s; r.status = status; r.time_created = t; r.finished_at = finished; return r;
}
IncidentEventRow inc(const std::string& id, const std::string& status, Millis t, const std::string& env = "production",
                     const std::string& root = "") {
  IncidentEventRow r; r.event_id = "i" + std::to_string(++evid); r.source = "pd"; r.event_type = "incident"; r.incident_id = id;
  r.status = status; r.time_created = t; r.environment = env; r.root_cause_sha = root; return r;
}
void change(ServiceHistory& h, int n, Millis t) {
  ChangeRow c;
  c.change_id = sha(n);
  c.time_created = t;
  c.source = "github";
  c.event_type = "push";
  c.event_id = "c" + std::to_string(++evid);
  h.changes.push_back(c);
}
void push(ServiceHistory& h, int before, std::vector<int> commits, int after, Millis t) {
  PushRow p;
  p.event_id = "p" + std::to_string(++evid);
  p.ref = "refs/heads/main";
  p.before = before ? sha(before) : std::string(40, '0');
  for (int c : commits) p.commit_shas.push_back(sha(c));
  p.after = sha(after);
  p.time_created = t;
  h.pushes.push_back(p);
}
// A commit pushed on its own onto `parent` (0: the first).
void commit(ServiceHistory& h, int n, int parent, Millis t) {
  change(h, n, t);
  push(h, parent, {n}, n, t);
}
void append(ServiceHistory& h, const ServiceHistory& b) {
  h.changes.insert(h.changes.end(), b.changes.begin(), b.changes.end());
  h.pushes.insert(h.pushes.end(), b.pushes.begin(), b.pushes.end());
  h.deployment_events.insert(h.deployment_events.end(), b.deployment_events.begin(), b.deployment_events.end());
  h.incident_events.insert(h.incident_events.end(), b.incident_events.begin(), b.incident_events.end());
}
// Derives batches[0] and prunes it, then extends by the rest (or links
// again from the cut when extending declines), pruning after each, as the
// worker does. True when an accepted extend() or relink() gave deployment,
// change or incident rows other than derive_service() of the whole history.
bool differs_from_whole(const std::vector<ServiceHistory>& batches, LinkSettings settings) {
  ServiceLinker linker(settings);
  ServiceHistory history = batches[0];
  ServiceHistory reports = history;
  DerivedService derived = linker.derive(history);
  std::vector<DeploymentRow> final_d; std::vector<IncidentRow> final_i; std::vector<DeploymentChangeRow> final_c;
  auto do_prune = [&] {
    const DerivedService before = derived;
    const auto rows = linker.change_rows();
    if (auto cut = linker.prune(derived, reports)) {
      const std::size_t gone = before.deployments.size() - derived.deployments.size();
      final_d.insert(final_d.end(), before.deployments.begin(), before.deployments.begin() + gone);
      for (auto& c : rows) if (c.deployed_at < *cut) final_c.push_back(c);
      for (const auto& i : before.incidents) {
        bool kept = false; for (const auto& k : derived.incidents) kept = kept || (k.incident_id == i.incident_id);
        if (!kept) final_i.push_back(i);
      }
    }
  };
  do_prune();
  REQUIRE(linker.pruned());
  for (std::size_t b = 1; b < batches.size(); ++b) {
    append(history, batches[b]);
    append(reports, batches[b]);
    LinkChanges changes;
    if (!linker.extend(reports, batches[b], derived, changes)) {
      auto again = linker.relink(reports, batches[b]);
      if (!again) return false;
      derived = std::move(*again);
    }
    const DerivedService whole = derive_service(history, settings);
    std::vector<DeploymentRow> all = final_d; all.insert(all.end(), derived.deployments.begin(), derived.deployments.end());
    std::vector<IncidentRow> inc = final_i; inc.insert(inc.end(), derived.incidents.begin(), derived.incidents.end());
    std::sort(inc.begin(), inc.end(), [](auto& a, auto& c) { return std::tie(a.source, a.incident_id) < std::tie(c.source, c.incident_id); });
    std::vector<DeploymentChangeRow> ch = final_c; auto kc = linker.change_rows(); ch.insert(ch.end(), kc.begin(), kc.end());
    if (all != whole.deployments || ch != whole.deployment_changes || inc != whole.incidents) return true;
    do_prune();
  }
  return false;
}
// Nine production deployments on day D-1 (the last at 22:00: F = d9).
ServiceHistory base() {
  ServiceHistory h; h.service = "svc";
  for (int i = 1; i <= 9; ++i) {
    commit(h, i, i - 1, D - DAY + (i * 2 + 2) * H - 30 * 60000);
    h.deployment_events.push_back(dep("d" + std::to_string(i), "production", sha(i), "success", D - DAY + (i * 2 + 4) * H));
  }
  return h;
}
}  // namespace prune_cases
using namespace prune_cases;

TEST_CASE("pruned: a deployment reported after a kept incident, nearer to it than the forgotten one it had, declines", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  // staging exists and is the only deployment on day D (at 09:00)
  b0.deployment_events.push_back(dep("s1", "staging", sha(9), "success", D + 9 * H));
  b0.incident_events.push_back(inc("I1", "open", D + 10 * H));  // window -> d9 (22:00 the day before)
  ServiceHistory b1; b1.service = "svc";
  commit(b1, 10, 9, D + 9 * H);
  b1.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H + 30 * 60000));
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned: a kept incident that opened before the cut and changes declines, as its metrics day is final", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H));
  // Opened at 23:00 before the cut (midnight of D), caused by d10, which is kept.
  b0.incident_events.push_back(inc("I1", "open", D - H, "production", sha(10)));
  ServiceLinker linker(s);
  ServiceHistory reports = b0;
  DerivedService derived = linker.derive(b0);
  REQUIRE(derived.incidents.size() == 1);
  REQUIRE(derived.incidents[0].deploy_id == "d10");
  REQUIRE(linker.prune(derived, reports) == std::optional<Millis>(D));
  REQUIRE(derived.incidents.size() == 1);  // kept: its deployment is

  ServiceHistory b1; b1.service = "svc";
  IncidentEventRow resolved = inc("I1", "resolved", D + 10 * H, "production", sha(10));
  resolved.created_at = D - H;
  resolved.resolved_at = D + 10 * H;
  b1.incident_events.push_back(resolved);
  append(reports, b1);
  LinkChanges changes;
  CHECK_FALSE(linker.extend(reports, b1, derived, changes));
  CHECK_FALSE(linker.relink(reports, b1).has_value());
}

TEST_CASE("pruned: an incident the window gives to a forgotten deployment links forward when that one had caused an incident", "[linker][prune]") {
  for (const bool caused_before : {true, false}) {
    INFO((caused_before ? "d9 caused an incident before the cut" : "d9 caused none"));
    LinkSettings s;
    ServiceHistory b0 = base();  // d9 at 22:00 the day before the cut
    if (caused_before) b0.incident_events.push_back(inc("I0", "open", D - 90 * 60000));  // -> d9, forgotten with it
    b0.deployment_events.push_back(dep("s1", "staging", sha(9), "success", D + 9 * H));  // the cut: midnight of D
    ServiceLinker linker(s);
    ServiceHistory history = b0, reports = b0;
    DerivedService derived = linker.derive(b0);
    REQUIRE(linker.prune(derived, reports) == std::optional<Millis>(D));
    REQUIRE(derived.deployments.size() == 1);  // s1

    ServiceHistory b1; b1.service = "svc";
    b1.incident_events.push_back(inc("I1", "open", D + 10 * H));  // production's last success is d9, 12 h before
    append(history, b1);
    append(reports, b1);
    LinkChanges changes;
    const bool extended = linker.extend(reports, b1, derived, changes);
    CHECK(extended == caused_before);
    if (!extended) {
      CHECK_FALSE(linker.relink(reports, b1).has_value());
      continue;
    }
    const DerivedService whole = derive_service(history, s);
    const auto i1 = std::find_if(whole.incidents.begin(), whole.incidents.end(),
                                 [](const IncidentRow& i) { return i.incident_id == "I1"; });
    REQUIRE(i1 != whole.incidents.end());
    REQUIRE(i1->deploy_id == "d9");
    const auto kept = std::find_if(derived.incidents.begin(), derived.incidents.end(),
                                   [](const IncidentRow& i) { return i.incident_id == "I1"; });
    REQUIRE(kept != derived.incidents.end());
    CHECK(*kept == *i1);
    // Every kept row is the whole history's.
    for (const DeploymentRow& d : derived.deployments) {
      const auto w = std::find_if(whole.deployments.begin(), whole.deployments.end(),
                                  [&](const DeploymentRow& r) { return r.deploy_id == d.deploy_id; });
      REQUIRE(w != whole.deployments.end());
      CHECK(*w == d);
    }
    CHECK_FALSE(differs_from_whole({b0, b1}, s));
  }
}

TEST_CASE("pruned: a running attempt succeeding between a forgotten deployment and its kept incident declines", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "in_progress", D + 9 * H));
  b0.incident_events.push_back(inc("I1", "open", D + 10 * H));
  ServiceHistory b1; b1.service = "svc";
  b1.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 10 * H + 5 * 60000, D + 9 * H + 50 * 60000));
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned: a late deployment from before the cut declines, even when every kept one is updated", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "in_progress", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  b1.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H + 20 * 60000));
  // late report of a deployment that finished at D-1 07:00, redeploying sha(9)? use a new commit on a branch
  b0.incident_events.push_back(inc("I0", "open", D - DAY + 7 * H + 30 * 60000));  // window -> d1 (06:00)
  b1.deployment_events.push_back(dep("late", "production", sha(20), "success", D - DAY + 7 * H));  // no push: an unseen sha
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned: a kept incident of a forgotten deployment that changes environment declines", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  b0.deployment_events.push_back(dep("s1", "staging", sha(9), "success", D + 9 * H));
  b0.incident_events.push_back(inc("I1", "open", D + 10 * H, ""));  // production by default -> d9 by window
  ServiceHistory b1; b1.service = "svc";
  b1.incident_events.push_back(inc("I1", "acknowledged", D + 11 * H, "staging"));
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}
TEST_CASE("pruned: a kept incident of a forgotten deployment whose opening time moves declines", "[linker][prune]") {
  LinkSettings s;
  ServiceHistory b0 = base();
  b0.deployment_events.push_back(dep("s1", "staging", sha(9), "success", D + 9 * H));
  b0.incident_events.push_back(inc("I1", "open", D + 10 * H));  // -> d9 by window (12h)
  ServiceHistory b1; b1.service = "svc";
  auto r = inc("I1", "acknowledged", D + 23 * H);
  r.created_at = D + 22 * H + 30 * 60000;  // 24.5h after d9: outside the window
  b1.incident_events.push_back(r);
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

// Linking again (relink) from the cut: commits the batch tells of that a
// forgotten deployment depended on must decline.

// Nine production deployments on day D-1, as base(), where commit 50 is
// known only as the first push's `before` (no time): the walk of d1, which
// will be forgotten, passed it without taking it.
ServiceHistory walked_past_base() {
  ServiceHistory h; h.service = "svc";
  change(h, 1, D - DAY + 3 * H);
  push(h, 50, {1}, 1, D - DAY + 3 * H);
  h.deployment_events.push_back(dep("d1", "production", sha(1), "success", D - DAY + 4 * H));
  for (int i = 2; i <= 9; ++i) {
    commit(h, i, i - 1, D - DAY + (i * 2 + 2) * H - 30 * 60000);
    h.deployment_events.push_back(dep("d" + std::to_string(i), "production", sha(i), "success", D - DAY + (i * 2 + 4) * H));
  }
  return h;
}

TEST_CASE("pruned, linked again: A1 late push of a walked-past commit (kept row)", "[linker][prune]") {
  // A1: commit 50 known only as a push's before (no time); forgotten d1 walked past it. A late push lists it.
  LinkSettings s;
  ServiceHistory b0 = walked_past_base();
  // a kept deployment of a branch from 50
  commit(b0, 60, 50, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(60), "success", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  commit(b1, 50, 49, D - 2 * DAY);  // the late push of 50
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned, linked again: A2 late change of a walked-past commit (forgotten row)", "[linker][prune]") {
  // A2: only the forgotten row changes
  LinkSettings s;
  ServiceHistory b0 = walked_past_base();
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  change(b1, 50, D - 2 * DAY);  // just a time for 50
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned, linked again: B additional sha gets a time", "[linker][prune]") {
  // B: additional sha without time on a forgotten deployment gets a time
  LinkSettings s;
  ServiceHistory b0 = base();
  auto r = dep("d0", "production", sha(70), "success", D - DAY + 1 * H); r.additional_shas = {sha(71)};
  b0.deployment_events.push_back(r);
  commit(b0, 10, 9, D + 8 * H);
  auto r2 = dep("d10", "production", sha(10), "success", D + 9 * H); r2.additional_shas = {sha(71)};
  b0.deployment_events.push_back(r2);
  ServiceHistory b1; b1.service = "svc";
  change(b1, 71, D - 2 * DAY);
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned, linked again: P failed forgotten deployment's head gets a time", "[linker][prune]") {
  // P: failed forgotten deployment's commit gets a time
  LinkSettings s;
  ServiceHistory b0 = base();
  b0.deployment_events.push_back(dep("f0", "production", sha(80), "failure", D - DAY + 1 * H));
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  commit(b1, 80, 0, D - DAY + 30 * 60000);
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned, linked again: I incident root cause on a walked-past commit", "[linker][prune]") {
  // I: incident names a walked-past commit that later gets a time
  LinkSettings s;
  ServiceHistory b0 = walked_past_base();
  commit(b0, 60, 50, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(60), "success", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  commit(b1, 50, 49, D - 2 * DAY);
  b1.incident_events.push_back(inc("I1", "open", D + 10 * H, "production", sha(50)));
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

TEST_CASE("pruned, linked again: R rollback after cut via relink", "[linker][prune]") {
  // R: rollback right after the cut
  LinkSettings s;
  ServiceHistory b0 = base();
  commit(b0, 10, 9, D + 8 * H);
  b0.deployment_events.push_back(dep("d10", "production", sha(10), "success", D + 9 * H));
  ServiceHistory b1; b1.service = "svc";
  b1.deployment_events.push_back(dep("d11", "production", sha(9), "success", D + 1 * H));  // redeploy of forgotten prev
  b1.deployment_events.push_back(dep("d12", "production", sha(9), "success", D + 10 * H));  // rollback after d10
  commit(b1, 11, 10, D + 9 * H);  // forces relink (mentioned? no: new) 
  push(b1, 9, {}, 10, D + 9 * H);  // a push naming 10 again: extend declines
  CHECK_FALSE(differs_from_whole({b0, b1}, s));
}

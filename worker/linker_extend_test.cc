// ServiceLinker::extend must give exactly derive_service() of the whole
// history, or decline.

#include "worker/linker.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <random>

using namespace fourkeys::worker;

namespace {

constexpr Millis kMinute = 60'000;

std::string sha_of(int n) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%040d", n + 1);
  return buf;
}

// One service's events in the order they happened, with some delivered late.
std::vector<ServiceHistory> arrivals(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  std::vector<ServiceHistory> out;
  Millis t = 1'700'000'000'000;
  int next_sha = 0, next_event = 0;
  std::string head = std::string(40, '0');
  std::vector<std::string> deployed;
  for (int step = 0; step < 60; ++step) {
    ServiceHistory a;
    PushRow push;
    push.event_id = "e" + std::to_string(next_event++);
    push.before = head;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      t += kMinute;
      head = sha_of(next_sha++);
      push.commit_shas.push_back(head);
      ChangeRow c;
      c.change_id = head;
      c.time_created = t;
      c.event_id = push.event_id;
      c.source = "github";
      c.event_type = "push";
      a.changes.push_back(c);
    }
    push.after = head;
    push.time_created = t;
    a.pushes.push_back(push);
    out.push_back(a);
    if (chance(60)) {
      ServiceHistory d;
      for (const char* env : {"production", "staging"}) {
        if (std::string(env) == "staging" && !chance(40)) continue;
        t += 5 * kMinute;
        DeploymentEventRow r;
        r.event_id = "e" + std::to_string(next_event++);
        r.source = "github";
        r.environment = env;
        r.deploy_id = "github:" + std::to_string(step) + env;
        const bool rollback = !deployed.empty() && chance(15);
        r.sha = rollback ? deployed[rng() % deployed.size()] : head;
        r.status = chance(85) ? "success" : "failure";
        r.time_created = t;
        r.finished_at = t;
        r.is_hotfix = chance(5);
        if (chance(40)) {
          // The attempt is reported running first, in a batch of its own.
          DeploymentEventRow running = r;
          running.event_id = "e" + std::to_string(next_event++);
          running.status = "in_progress";
          running.time_created = t - kMinute;
          running.finished_at.reset();
          ServiceHistory first;
          first.deployment_events.push_back(running);
          out.push_back(first);
        }
        d.deployment_events.push_back(r);
        if (r.status == "success") deployed.push_back(r.sha);
      }
      if (chance(25)) {
        IncidentEventRow i;
        i.event_id = "e" + std::to_string(next_event++);
        i.source = "pagerduty";
        i.incident_id = "I" + std::to_string(step);
        i.status = chance(50) ? "resolved" : "open";
        i.created_at = t + 10 * kMinute;
        if (i.status == "resolved") i.resolved_at = t + 70 * kMinute;
        i.time_created = t + 10 * kMinute;
        i.environment = "production";
        if (chance(30)) i.root_cause_sha = head.substr(0, 12);
        d.incident_events.push_back(i);
      }
      out.push_back(d);
    }
  }
  // Some arrive late: swap a few neighbours.
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (chance(10)) std::swap(out[i - 1], out[i]);
  }
  return out;
}

void append(ServiceHistory& to, const ServiceHistory& rows) {
  to.changes.insert(to.changes.end(), rows.changes.begin(), rows.changes.end());
  to.pushes.insert(to.pushes.end(), rows.pushes.begin(), rows.pushes.end());
  to.deployment_events.insert(to.deployment_events.end(), rows.deployment_events.begin(), rows.deployment_events.end());
  to.incident_events.insert(to.incident_events.end(), rows.incident_events.begin(), rows.incident_events.end());
}

}  // namespace

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
    const auto batches = arrivals(seed);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      INFO("batch " << b);
      append(history, batches[b]);
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
    }
  }
  // Both paths ran.
  CHECK(extended > 100);
  CHECK(declined > 5);
  CHECK(replaced > 20);  // running attempts finished in a later batch
}

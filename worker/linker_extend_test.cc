// ServiceLinker::extend must give exactly derive_service() of the whole
// history, or decline.

#include "worker/history_batches_for_tests.h"
#include "worker/linker.h"

#include <catch2/catch.hpp>

#include <map>

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
        derived = linker.relink(reports, batches[b]);
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

// Random DORA histories with their expected results computed by
// construction (a reference model written independently of the worker's
// linker): linear push chains, merged pull requests for some heads,
// deployments of chain heads to staging and production (some failed, some
// preceded by in_progress reports), rollbacks to the previous production
// commit, incidents after deployments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fourkeys::testing {

struct HistoryEvent {
  std::string service;
  std::string id;
  std::string envelope;
};

struct ExpectedHistory {
  // (service, deploy_id, change_id) -> lead time in seconds
  std::map<std::tuple<std::string, std::string, std::string>, long long> lead_times;
  // service -> successful deployments (all environments), and rollbacks among them
  std::map<std::string, int> deployments;
  std::map<std::string, int> rollbacks;
  // (service, incident_id) -> attributed deploy_id
  std::map<std::pair<std::string, std::string>, std::string> attributions;
  std::size_t unique_events = 0;
};

struct History {
  std::vector<HistoryEvent> events;  // in delivery order (shuffled, with duplicates)
  ExpectedHistory expected;
};

// `services` services with `steps` pushes each; `seed` makes it repeatable.
// `duplicate_share` of the events are delivered twice. `shuffled`: in random
// order; otherwise in the order they happened (each redelivery right after
// its original), as a healthy pipeline sees them.
History random_history(int services, int steps, std::uint32_t seed, double duplicate_share = 0.1,
                       bool shuffled = true);

}  // namespace fourkeys::testing

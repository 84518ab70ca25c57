#include "tests/integration/worker_history.h"

#include "common/time.h"
#include "tests/integration/worker_envelopes.h"

#include <algorithm>
#include <map>
#include <random>

namespace fourkeys::testing {

History random_history(int services, int steps, std::uint32_t seed, double duplicate_share, bool shuffled) {
  History h;
  std::mt19937 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const EpochMillis start = now_millis() - 20LL * 24 * 3600 * 1000;
  int sequence = 0;
  auto next_id = [&](const std::string& source) { return source + ":h" + std::to_string(seed) + "-" + std::to_string(sequence++); };

  for (int s = 0; s < services; ++s) {
    const std::string service = "acme/svc-" + std::to_string(seed) + "-" + std::to_string(s);
    EpochMillis t = start + s * 60'000LL;
    std::string head = std::string(40, '0');
    // Commits not yet brought to each environment.
    std::map<std::string, std::vector<std::pair<std::string, EpochMillis>>> pending;
    std::vector<std::string> production_shas;  // successful production deployments, in order
    for (int step = 0; step < steps; ++step) {
      std::vector<TestCommit> commits;
      const int n = std::uniform_int_distribution<int>(1, 5)(rng);
      std::string before = head;
      for (int i = 0; i < n; ++i) {
        t += 60'000;
        char sha[41];
        std::snprintf(sha, sizeof sha, "%08x%032x", static_cast<unsigned>(s * 100000 + step * 10 + i), seed);
        commits.push_back({sha, format_time(t)});
        for (const char* env : {"production", "staging"}) pending[env].emplace_back(sha, t);
        head = sha;
      }
      h.events.push_back({service, "", push_envelope(next_id("github"), service, before, head, commits)});
      if (chance(0.3)) {
        // The head is also a pull request's merge commit, reported later: the
        // commit keeps its earlier push time.
        h.events.push_back({service, "", merge_envelope(next_id("github"), service, head, format_time(t + 120'000))});
      }
      t += 10 * 60'000;
      auto deploy = [&](const std::string& environment, const std::string& deploy_id, const std::string& sha,
                        EpochMillis at, bool ok) {
        TestDeployment done = deployed(deploy_id, sha, ok ? "success" : "failure", format_time(at));
        done.environment = environment;
        h.events.push_back({service, "", deployment_envelope(next_id("github"), service, done)});
        if (!ok) return;
        ++h.expected.deployments[service];
        for (const auto& [commit, commit_time] : pending[environment]) {
          h.expected.lead_times[{service, "github:" + deploy_id, commit}] = (at - commit_time) / 1000;
        }
        pending[environment].clear();
      };
      if (chance(0.4)) deploy("staging", "stg-" + std::to_string(s) + "-" + std::to_string(step), head, t - 300'000, true);
      if (!chance(0.5)) continue;
      const std::string deploy_id = "dep-" + std::to_string(s) + "-" + std::to_string(step);
      if (chance(0.5)) {
        TestDeployment started = deployed(deploy_id, head, "in_progress", format_time(t - 60'000));
        h.events.push_back({service, "", deployment_envelope(next_id("github"), service, started)});
      }
      const bool ok = chance(0.8);
      deploy("production", deploy_id, head, t, ok);
      if (!ok) continue;
      production_shas.push_back(head);
      if (chance(0.3)) {
        const std::string incident_id = "INC-" + std::to_string(s) + "-" + std::to_string(step);
        TestIncident open = incident(incident_id, "open", format_time(t + 30 * 60'000));
        h.events.push_back({service, "", incident_envelope(next_id("pagerduty"), service, open)});
        TestIncident resolved = incident(incident_id, "resolved", format_time(t + 30 * 60'000), format_time(t + 90 * 60'000));
        h.events.push_back({service, "", incident_envelope(next_id("pagerduty"), service, resolved)});
        h.expected.attributions[{service, incident_id}] = "github:" + deploy_id;
      }
      t += 2 * 3600'000LL;  // the next deployment comes after the incident opened
      if (production_shas.size() >= 2 && chance(0.2)) {
        // Back to the previous production commit: a detected rollback that
        // brings nothing new.
        const std::string previous = production_shas[production_shas.size() - 2];
        deploy("production", "rb-" + std::to_string(s) + "-" + std::to_string(step), previous, t, true);
        ++h.expected.rollbacks[service];
        production_shas.push_back(previous);
        t += 10 * 60'000;
      }
    }
  }
  h.expected.unique_events = h.events.size();
  if (shuffled) {
    const std::size_t originals = h.events.size();
    for (std::size_t i = 0; i < originals; ++i) {
      if (chance(duplicate_share)) h.events.push_back(h.events[i]);
    }
    std::shuffle(h.events.begin(), h.events.end(), rng);
  } else {
    std::vector<HistoryEvent> in_order;
    for (const auto& e : h.events) {
      in_order.push_back(e);
      if (chance(duplicate_share)) in_order.push_back(e);
    }
    h.events = std::move(in_order);
  }
  for (auto& e : h.events) {
    const auto pos = e.envelope.find("\"id\":\"");
    e.id = e.envelope.substr(pos + 6, e.envelope.find('"', pos + 6) - pos - 6);
  }
  return h;
}

}  // namespace fourkeys::testing

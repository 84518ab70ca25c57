#include "tests/integration/worker_history.h"

#include "common/time.h"
#include "tests/integration/worker_envelopes.h"

#include <algorithm>
#include <random>

namespace fourkeys::testing {

History random_history(int services, int steps, std::uint32_t seed, double duplicate_share) {
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
    std::vector<std::pair<std::string, EpochMillis>> pending;  // commits not yet deployed
    for (int step = 0; step < steps; ++step) {
      std::vector<TestCommit> commits;
      const int n = std::uniform_int_distribution<int>(1, 5)(rng);
      std::string before = head;
      for (int i = 0; i < n; ++i) {
        t += 60'000;
        char sha[41];
        std::snprintf(sha, sizeof sha, "%08x%032x", static_cast<unsigned>(s * 100000 + step * 10 + i), seed);
        commits.push_back({sha, format_time(t)});
        pending.emplace_back(sha, t);
        head = sha;
      }
      h.events.push_back({service, "", push_envelope(next_id("github"), service, before, head, commits)});
      t += 10 * 60'000;
      if (!chance(0.5)) continue;
      const std::string deploy_id = "dep-" + std::to_string(s) + "-" + std::to_string(step);
      if (chance(0.5)) {
        TestDeployment started = deployed(deploy_id, head, "in_progress", format_time(t - 60'000));
        h.events.push_back({service, "", deployment_envelope(next_id("github"), service, started)});
      }
      const bool ok = chance(0.8);
      TestDeployment done = deployed(deploy_id, head, ok ? "success" : "failure", format_time(t));
      h.events.push_back({service, "", deployment_envelope(next_id("github"), service, done)});
      if (!ok) continue;
      ++h.expected.deployments[service];
      for (const auto& [sha, commit_time] : pending) {
        h.expected.lead_times[{service, "github:" + deploy_id, sha}] = (t - commit_time) / 1000;
      }
      pending.clear();
      if (chance(0.3)) {
        const std::string incident_id = "INC-" + std::to_string(s) + "-" + std::to_string(step);
        TestIncident open = incident(incident_id, "open", format_time(t + 30 * 60'000));
        h.events.push_back({service, "", incident_envelope(next_id("pagerduty"), service, open)});
        TestIncident resolved = incident(incident_id, "resolved", format_time(t + 30 * 60'000), format_time(t + 90 * 60'000));
        h.events.push_back({service, "", incident_envelope(next_id("pagerduty"), service, resolved)});
        h.expected.attributions[{service, incident_id}] = "github:" + deploy_id;
      }
      t += 2 * 3600'000LL;  // the next deployment comes after the incident opened
    }
  }
  h.expected.unique_events = h.events.size();
  const std::size_t originals = h.events.size();
  for (std::size_t i = 0; i < originals; ++i) {
    if (chance(duplicate_share)) h.events.push_back(h.events[i]);
  }
  std::shuffle(h.events.begin(), h.events.end(), rng);
  for (auto& e : h.events) {
    const auto pos = e.envelope.find("\"id\":\"");
    e.id = e.envelope.substr(pos + 6, e.envelope.find('"', pos + 6) - pos - 6);
  }
  return h;
}

}  // namespace fourkeys::testing

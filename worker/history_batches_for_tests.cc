#include "worker/history_batches_for_tests.h"

#include <cstdio>
#include <random>
#include <utility>

namespace fourkeys::worker::testing {
namespace {

constexpr Millis kMinute = 60'000;

std::string sha_of(int n) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%040d", n + 1);
  return buf;
}

}  // namespace

std::vector<ServiceHistory> history_batches(std::uint32_t seed, const HistoryShape& shape) {
  std::mt19937 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  const std::string id_prefix = shape.heap_texts ? "delivery-event-" : "e";
  const std::string staging = shape.heap_texts ? "staging-environment" : "staging";
  std::vector<ServiceHistory> out;
  Millis t = 1'700'000'000'000;
  int next_sha = 0, next_event = 0;
  auto event_id = [&] { return id_prefix + std::to_string(next_event++); };
  std::string head(40, '0');
  std::vector<std::string> deployed;
  for (int step = 0; step < shape.steps; ++step) {
    t += shape.minutes_between_steps * kMinute;
    ServiceHistory a;
    PushRow push;
    push.event_id = event_id();
    if (shape.heap_texts) {
      push.repository = "acme/service-with-a-long-name";
      push.ref = "refs/heads/main";
    }
    push.before = head;
    const int n = 1 + static_cast<int>(rng() % static_cast<unsigned>(shape.most_commits_per_push));
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
      if (shape.heap_texts) c.title = "a commit title long enough to be on the heap";
      a.changes.push_back(c);
    }
    push.after = head;
    push.time_created = t;
    a.pushes.push_back(push);
    out.push_back(a);
    if (!chance(shape.deploy_percent)) continue;
    ServiceHistory d;
    for (const std::string& env : {std::string("production"), staging}) {
      if (env == staging && !chance(shape.staging_percent)) continue;
      t += 5 * kMinute;
      DeploymentEventRow r;
      r.event_id = event_id();
      r.source = "github";
      r.event_type = "deployment_status";
      r.environment = env;
      r.deploy_id = "github:deployment-" + std::to_string(step) + "-" + env;
      r.sha = !deployed.empty() && chance(shape.rollback_percent) ? deployed[rng() % deployed.size()] : head;
      r.status = chance(shape.failure_percent) ? "failure" : "success";
      r.time_created = t;
      r.finished_at = t;
      r.is_hotfix = chance(shape.hotfix_percent);
      if (chance(shape.running_first_percent)) {
        DeploymentEventRow running = r;
        running.event_id = event_id();
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
    if (chance(shape.incident_percent)) {
      IncidentEventRow i;
      i.event_id = event_id();
      i.source = "pagerduty";
      i.incident_id = "incident-" + std::to_string(step);
      i.status = chance(shape.resolved_percent) ? "resolved" : "open";
      i.created_at = t + 10 * kMinute;
      if (i.status == "resolved") i.resolved_at = t + 70 * kMinute;
      i.time_created = t + 10 * kMinute;
      i.environment = "production";
      if (chance(30)) i.root_cause_sha = head.substr(0, 12);
      d.incident_events.push_back(i);
    }
    out.push_back(d);
  }
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (chance(shape.late_percent)) std::swap(out[i - 1], out[i]);
  }
  return out;
}

void append_rows(ServiceHistory& to, const ServiceHistory& rows) {
  to.changes.insert(to.changes.end(), rows.changes.begin(), rows.changes.end());
  to.pushes.insert(to.pushes.end(), rows.pushes.begin(), rows.pushes.end());
  to.deployment_events.insert(to.deployment_events.end(), rows.deployment_events.begin(), rows.deployment_events.end());
  to.incident_events.insert(to.incident_events.end(), rows.incident_events.begin(), rows.incident_events.end());
}

}  // namespace fourkeys::worker::testing

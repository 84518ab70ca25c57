#include "worker/daily_metrics.h"

#include "common/time.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace fourkeys::worker {
namespace {


struct DayInputs {
  MetricsDay row;
  std::vector<double> lead_times;
  std::vector<double> restores;
};

}  // namespace

std::int64_t utc_day_number(Millis t) { return t >= 0 ? t / 86'400'000 : -((-t + 86'399'999) / 86'400'000); }

std::string utc_day_text(std::int64_t day_number) { return format_time(day_number * 86'400'000).substr(0, 10); }

std::optional<double> percentile_cont(std::vector<double>& values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double position = p * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(position));
  const auto upper = static_cast<std::size_t>(std::ceil(position));
  const double fraction = position - static_cast<double>(lower);
  return values[lower] + fraction * (values[upper] - values[lower]);
}

std::vector<MetricsDay> daily_metrics(const DerivedService& derived) {
  std::map<std::string, std::map<std::int64_t, DayInputs>> days;
  auto day_of = [&](const std::string& environment, Millis t) -> DayInputs& {
    return days[environment][utc_day_number(t)];
  };
  for (const DeploymentRow& d : derived.deployments) {
    MetricsDay& m = day_of(d.environment, d.deployed_at).row;
    if (d.status == "success") {
      const bool rollback = d.rollback_flagged || d.rollback_detected;
      ++m.deployments;
      if (rollback || d.is_hotfix || d.caused_incident) ++m.failed_deployments;
      if (rollback || d.is_hotfix) ++m.rework_deployments;
      if (rollback) ++m.rollbacks;
      if (d.is_hotfix) ++m.hotfixes;
    } else if (d.status == "failure" || d.status == "error" || d.status == "cancelled") {
      ++m.unsuccessful_attempts;
    }
  }
  for (const DeploymentChangeRow& c : derived.deployment_changes) {
    DayInputs& d = day_of(c.environment, c.deployed_at);
    ++d.row.changes_deployed;
    if (c.lead_time_seconds >= 0) {
      ++d.row.lead_time_count;
      d.row.lead_time_sum_seconds += c.lead_time_seconds;
      d.lead_times.push_back(c.lead_time_seconds);
      const auto bucket = std::lower_bound(kLeadTimeBucketBounds.begin(), kLeadTimeBucketBounds.end(),
                                           c.lead_time_seconds) - kLeadTimeBucketBounds.begin();
      if (bucket < static_cast<std::ptrdiff_t>(kLeadTimeBucketBounds.size())) {
        ++d.row.lead_time_buckets[static_cast<std::size_t>(bucket)];
      }
    } else {
      ++d.row.negative_lead_times;
    }
  }
  for (const IncidentRow& i : derived.incidents) {
    DayInputs& d = day_of(i.environment, i.time_created);
    ++d.row.incidents_opened;
    if (i.time_resolved) {
      ++d.row.incidents_resolved;
      const double seconds = static_cast<double>(*i.time_resolved - i.time_created) / 1000.0;
      d.row.restore_sum_seconds += seconds;
      d.restores.push_back(seconds);
    }
  }
  std::vector<MetricsDay> out;
  out.reserve(days.size());
  for (auto& [environment, by_day] : days) {
    for (auto& [day, d] : by_day) {
      d.row.environment = environment;
      d.row.day = utc_day_text(day);
      d.row.lead_time_median_seconds = percentile_cont(d.lead_times, 0.5);
    d.row.lead_time_p90_seconds = percentile_cont(d.lead_times, 0.9);
    d.row.restore_median_seconds = percentile_cont(d.restores, 0.5);
      d.row.restore_p90_seconds = percentile_cont(d.restores, 0.9);
      out.push_back(std::move(d.row));
    }
  }
  return out;
}

}  // namespace fourkeys::worker

// metrics_daily rows of one service, computed from its derived rows. Pure;
// the worker and --rebuild both use it, so the table never depends on which
// of them wrote it. Medians and p90s interpolate linearly between the
// closest ranks, as Postgres' percentile_cont does.
#pragma once

#include "worker/model.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fourkeys::worker {

// Upper bounds (seconds, inclusive) of the lead-time histogram kept per day
// for Prometheus' lead_time_seconds: the rating thresholds (1 h, 1 week, 30
// days, 6 months) and steps between. schemas/sql/006_lead_time_buckets.sql
// has the same bounds.
inline constexpr std::array<double, 14> kLeadTimeBucketBounds = {
    300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800, 1209600, 2592000, 7776000, 15552000};

struct MetricsDay {
  std::string environment;
  std::string day;  // YYYY-MM-DD, UTC
  int deployments = 0;
  int failed_deployments = 0;
  int rework_deployments = 0;
  int rollbacks = 0;
  int hotfixes = 0;
  int unsuccessful_attempts = 0;
  int changes_deployed = 0;
  int lead_time_count = 0;
  double lead_time_sum_seconds = 0;
  std::optional<double> lead_time_median_seconds;
  std::optional<double> lead_time_p90_seconds;
  int negative_lead_times = 0;
  // Changes with a lead time >= 0 per bucket of kLeadTimeBucketBounds (not
  // cumulative; those above the last bound are only in lead_time_count).
  std::vector<int> lead_time_buckets = std::vector<int>(kLeadTimeBucketBounds.size(), 0);
  int incidents_opened = 0;
  int incidents_resolved = 0;
  double restore_sum_seconds = 0;
  std::optional<double> restore_median_seconds;
  std::optional<double> restore_p90_seconds;

  bool operator==(const MetricsDay&) const = default;
};

// Sorted by (environment, day).
std::vector<MetricsDay> daily_metrics(const DerivedService& derived);

// Days since the epoch of a time (UTC), and the YYYY-MM-DD of such a day.
std::int64_t utc_day_number(Millis t);
std::string utc_day_text(std::int64_t day_number);

// percentile_cont(p) of `values` (sorted in place); nullopt when empty.
std::optional<double> percentile_cont(std::vector<double>& values, double p);

}  // namespace fourkeys::worker

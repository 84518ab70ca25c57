// The DORA series of the seed's PromQL and Grafana panels, in Prometheus
// text format, labelled service and environment:
//   deployments_total, deployments_failed_total (counters),
//   lead_time_seconds (histogram, bounds kLeadTimeBucketBounds),
//   incident_resolution_time_seconds,
//   deployment_timestamp and commit_timestamp (gauges).
// They are read from the metric tables, so they never go down when a worker
// restarts. With several workers exactly one exposes them: the one holding
// a session-level Postgres advisory lock on its own connection. The others
// expose only their pipeline series, so the seed's sum() queries never count
// twice. When the exposing worker dies its connection closes, the lock is
// released and another worker takes over at its next refresh.
#pragma once

#include "worker/daily_metrics.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fourkeys::worker {

struct DoraSeriesRow {
  std::string service;
  std::string environment;
  std::int64_t deployments = 0;
  std::int64_t failed_deployments = 0;
  std::vector<std::int64_t> lead_time_buckets;  // per kLeadTimeBucketBounds, not cumulative
  std::int64_t lead_time_count = 0;             // includes those above the last bound
  double lead_time_sum = 0;
  std::optional<double> restore_mean_seconds;   // incidents opened in the last 30 days
  std::optional<double> last_deployment_time;   // epoch seconds
  std::optional<double> last_deployment_commit_time;
};

// Prometheus text (version 0.0.4) of the rows, HELP and TYPE once per family.
std::string render_dora_series(const std::vector<DoraSeriesRow>& rows);

class DoraSeriesExposer {
 public:
  // Starts a thread that, every `refresh`, takes the lock if it can and, when
  // it holds it, reads the series. `database_url` may hold a password.
  DoraSeriesExposer(std::string database_url, std::chrono::milliseconds refresh);
  ~DoraSeriesExposer();
  DoraSeriesExposer(const DoraSeriesExposer&) = delete;
  DoraSeriesExposer& operator=(const DoraSeriesExposer&) = delete;

  // The series when this worker exposes them, plus the gauge
  // fourkeys_worker_dora_series_exposed (1 or 0) either way.
  std::string text() const;

 private:
  void run();

  std::string url_;
  std::chrono::milliseconds refresh_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool exposing_ = false;
  std::string text_;
  std::thread thread_;
};

}  // namespace fourkeys::worker

#include "worker/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace fourkeys::worker {

struct WorkerMetrics::Families {
  prometheus::Family<prometheus::Counter>& applied;
  prometheus::Counter& duplicates;
  prometheus::Family<prometheus::Counter>& dead_letters;
  prometheus::Histogram& batch_size;
  prometheus::Histogram& batch_seconds;
  prometheus::Counter& batches_failed;
  prometheus::Counter& batches_pipelined;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Counter>& gaps;
  prometheus::Gauge& database_up;
  prometheus::Gauge& assigned;
  prometheus::Gauge& rebuild_progress;
  prometheus::Family<prometheus::Counter>& linked;
  prometheus::Family<prometheus::Counter>& stage_seconds;
  prometheus::Gauge& cache_bytes;
  prometheus::Gauge& cache_services;
  prometheus::Family<prometheus::Counter>& pruned;
  std::mutex lag_mutex;
  std::vector<std::int32_t> lag_partitions;
};

WorkerMetrics::WorkerMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  f_.reset(new Families{
      prometheus::BuildCounter().Name("fourkeys_worker_events_applied_total")
          .Help("Events stored for the first time, by kind").Register(r),
      prometheus::BuildCounter().Name("fourkeys_worker_events_duplicate_total")
          .Help("Events consumed again that were already stored (redeliveries, replays)").Register(r).Add({}),
      prometheus::BuildCounter().Name("fourkeys_worker_dead_letters_total")
          .Help("Messages sent to the dead-letter topic, by stage").Register(r),
      prometheus::BuildHistogram().Name("fourkeys_worker_batch_size")
          .Help("Messages per committed batch").Register(r)
          .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000}),
      prometheus::BuildHistogram().Name("fourkeys_worker_batch_duration_seconds")
          .Help("Time to decode, apply, materialize and commit one batch").Register(r)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      prometheus::BuildCounter().Name("fourkeys_worker_batches_failed_total")
          .Help("Batches not stored because Postgres or Kafka was unavailable (retried)").Register(r).Add({}),
      prometheus::BuildCounter().Name("fourkeys_worker_batches_pipelined_total")
          .Help("Batches stored pipelined: applied on a second connection while the batch before them was "
                "linked and written, because Kafka held more (FOURKEYS_WORKER_PIPELINE)").Register(r).Add({}),
      prometheus::BuildGauge().Name("fourkeys_worker_consumer_lag")
          .Help("Messages on the events topic not yet read, per assigned partition").Register(r),
      prometheus::BuildCounter().Name("fourkeys_worker_offset_gaps_total")
          .Help("Times Kafka no longer had offsets the database had not stored (events lost)").Register(r),
      prometheus::BuildGauge().Name("fourkeys_worker_database_up")
          .Help("1 when the last database operation succeeded").Register(r).Add({}),
      prometheus::BuildGauge().Name("fourkeys_worker_assigned_partitions")
          .Help("Partitions of the events topic assigned to this worker").Register(r).Add({}),
      prometheus::BuildGauge().Name("fourkeys_worker_rebuild_progress_ratio")
          .Help("Progress of a running --rebuild (0 to 1)").Register(r).Add({}),
      prometheus::BuildCounter().Name("fourkeys_worker_services_linked_total")
          .Help("Services brought up to date by a batch: extended (linked forward from memory), "
                "derived (whole history linked again) or loaded (read from Postgres first)").Register(r),
      prometheus::BuildCounter().Name("fourkeys_worker_stage_seconds_total")
          .Help("Time spent per batch stage: decode, apply (events_raw and base rows), read, link and write "
                "(the materialize stage), commit").Register(r),
      prometheus::BuildGauge().Name("fourkeys_worker_cache_bytes")
          .Help("Estimated heap bytes of the service states remembered between batches "
                "(bounded by FOURKEYS_WORKER_CACHE_MB)").Register(r).Add({}),
      prometheus::BuildGauge().Name("fourkeys_worker_cache_services")
          .Help("Services whose state is remembered between batches").Register(r).Add({}),
      prometheus::BuildCounter().Name("fourkeys_worker_pruned_states_total")
          .Help("Remembered service states that forgot their final rows (event=\"pruned\"), and pruned states "
                "a batch reached past their cut, so that the service was read from Postgres "
                "(event=\"read_again\")")
          .Register(r),
      {},
      {},
  });
}

WorkerMetrics::~WorkerMetrics() = default;

void WorkerMetrics::batch_done(const BatchOutcome& outcome, double seconds) {
  for (const auto& [kind, n] : outcome.stored_by_kind) {
    f_->applied.Add({{"kind", kind}}).Increment(static_cast<double>(n));
  }
  f_->duplicates.Increment(static_cast<double>(outcome.duplicates));
  for (const auto& letter : outcome.dead_letters) f_->dead_letters.Add({{"stage", letter.stage}}).Increment();
  const auto& m = outcome.materialized;
  f_->linked.Add({{"how", "extended"}}).Increment(static_cast<double>(m.services_extended));
  f_->linked.Add({{"how", "loaded"}}).Increment(static_cast<double>(m.services_loaded));
  f_->linked.Add({{"how", "derived"}})
      .Increment(static_cast<double>(m.services - m.services_extended - m.services_loaded));
  f_->pruned.Add({{"event", "pruned"}}).Increment(static_cast<double>(m.states_pruned));
  f_->pruned.Add({{"event", "read_again"}}).Increment(static_cast<double>(m.pruned_read_again));
  const StageSeconds& t = outcome.seconds;
  for (const auto& [stage, value] : {std::pair{"decode", t.decode}, {"apply", t.apply}, {"read", t.read},
                                     {"link", t.link}, {"write", t.write}, {"commit", t.commit}}) {
    f_->stage_seconds.Add({{"stage", stage}}).Increment(value);
  }
  f_->cache_bytes.Set(static_cast<double>(outcome.cache_bytes));
  f_->cache_services.Set(static_cast<double>(outcome.cache_services));
  f_->batch_size.Observe(static_cast<double>(outcome.messages));
  f_->batch_seconds.Observe(seconds);
  if (outcome.pipelined) f_->batches_pipelined.Increment();
  f_->database_up.Set(1);
}

void WorkerMetrics::batch_failed() { f_->batches_failed.Increment(); }

void WorkerMetrics::set_lag(const std::vector<PartitionLag>& lag) {
  std::lock_guard lock(f_->lag_mutex);
  for (auto p : f_->lag_partitions) f_->lag.Remove(&f_->lag.Add({{"partition", std::to_string(p)}}));
  f_->lag_partitions.clear();
  for (const auto& l : lag) {
    if (l.lag < 0) continue;
    f_->lag.Add({{"partition", std::to_string(l.partition)}}).Set(static_cast<double>(l.lag));
    f_->lag_partitions.push_back(l.partition);
  }
}

void WorkerMetrics::offset_gap(const OffsetGap& gap) {
  f_->gaps.Add({{"partition", std::to_string(gap.partition)}}).Increment();
}

void WorkerMetrics::set_database_up(bool up) { f_->database_up.Set(up ? 1 : 0); }
void WorkerMetrics::set_assigned_partitions(std::size_t n) { f_->assigned.Set(static_cast<double>(n)); }
void WorkerMetrics::set_rebuild_progress(double ratio) { f_->rebuild_progress.Set(ratio); }

std::string WorkerMetrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace fourkeys::worker

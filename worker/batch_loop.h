// The worker's main loop: poll a batch, process it, commit the Kafka hint,
// repeat; on Postgres or Kafka trouble, pause consumption, back off, and
// resume from the offsets stored in Postgres. Runs on the calling thread;
// stop() may be called from any thread and lets the current batch finish.
//
// Under a backlog (Kafka holds more than was polled) batches are pipelined:
// a batch is decoded and applied in a transaction of its own, then
// materialized and committed while the next one is decoded and applied on
// a second connection. Batches still commit one after another, in the
// order polled, each with its offsets; a batch that fails is rolled back
// with the one applied after it, and both are stored again in order.
// `database` (readiness checks) must not be one the processor writes with:
// the consumer's callbacks use it between batches, while a pipelined
// batch's transaction is open.
#pragma once

#include "worker/batch_processor.h"
#include "worker/consume.h"
#include "worker/worker_metrics.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace fourkeys::worker {

class Database;

struct LoopSettings {
  std::size_t batch_size = 2000;
  std::chrono::milliseconds batch_wait{200};
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{10000};
};

// What /readyz reports.
struct Readiness {
  bool ready = false;
  std::string detail;
};

// The allocator the program runs on, as the library its malloc comes from:
// "tcmalloc" (linked by worker/CMakeLists.txt), "asan" (the sanitizer
// builds) or "glibc". The loop gives freed pages back to the system the way
// that allocator can.
const char* heap_allocator();

class BatchLoop {
 public:
  // Everything passed in must outlive the loop.
  BatchLoop(LoopSettings settings, Database& database, GroupConsumer& consumer, BatchProcessor& processor,
            WorkerMetrics& metrics);

  // Returns after stop(), once the batch in progress is stored.
  void run();
  void stop();

  Readiness readiness() const;
  // Called by the consumer's gap reporter.
  void gap_found(const OffsetGap& gap, bool halted);

 private:
  void set_state(bool database_ok, const std::string& detail);
  // Asks Postgres for `SELECT 1` and records the answer for /readyz.
  void check_database();
  // A stored batch: metrics, the Kafka commit hint, readiness, a log line.
  void record(const BatchOutcome& outcome, double seconds);
  // Gives freed heap pages back at most every kTrimInterval, when a batch
  // ran since the last time.
  void trim_heap_now_and_then();
  void process(const std::vector<ConsumedMessage>& batch);
  void finish(AppliedBatch& applied);
  // After processor_.finish(applied): records the outcome, or, when it
  // failed, rolls back `next` (the batch applied after it, if any) and
  // stores `applied`'s messages again with process().
  void record_or_redo(const std::optional<BatchOutcome>& outcome, std::chrono::steady_clock::time_point finish_started,
                      AppliedBatch& applied, AppliedBatch* next);
  // Finishes `ahead` while `batch` is applied on another thread; the
  // applied batch becomes `ahead` when `more` are waiting in Kafka, else it
  // is finished too. Throws StageUnavailable with nothing held.
  void finish_with_next(std::unique_ptr<AppliedBatch>& ahead, std::vector<ConsumedMessage> batch, bool more);

  LoopSettings settings_;
  Database& database_;
  GroupConsumer& consumer_;
  BatchProcessor& processor_;
  WorkerMetrics& metrics_;
  std::atomic<bool> stopping_{false};
  std::uint64_t rebalances_seen_ = 0;
  double poll_seconds_ = 0;  // waiting for Kafka since the last stored batch
  bool trim_pending_ = false;  // a batch ran since the heap was last trimmed
  std::chrono::steady_clock::time_point last_trim_{};
  mutable std::mutex state_mutex_;
  bool database_ok_ = false;
  std::string database_detail_ = "starting";
  std::string gap_detail_;
};

}  // namespace fourkeys::worker

#include "worker/batch_loop.h"

#include "common/log.h"
#include "worker/database.h"
#include "worker/migrations.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <future>
#include <optional>
#include <string_view>
#include <malloc.h>
#include <thread>

// tcmalloc's way to give its free pages back, when the program is linked
// with it (worker/CMakeLists.txt); null with glibc's malloc, whose pages
// malloc_trim gives back instead.
extern "C" void MallocExtension_ReleaseFreeMemory() __attribute__((weak));

namespace fourkeys::worker {
namespace {
constexpr std::chrono::milliseconds kAheadPollWait{20};
// How often, at most, freed heap pages go back to the system.
constexpr std::chrono::seconds kTrimInterval{10};

void release_free_heap_pages() {
  if (MallocExtension_ReleaseFreeMemory) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    malloc_trim(0);
  }
}
}  // namespace

const char* heap_allocator() {
  // Named by the library that holds the malloc this program's calls reach:
  // the first definition in load order, so a linked (or preloaded) tcmalloc
  // comes before the C library.
  void* (*reached)(std::size_t) = &std::malloc;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(reached), &info) != 0 && info.dli_fname != nullptr) {
    const std::string_view file = info.dli_fname;
    if (file.find("tcmalloc") != std::string_view::npos) return "tcmalloc";
    if (file.find("asan") != std::string_view::npos) return "asan";
  }
  return "glibc";
}

BatchLoop::BatchLoop(LoopSettings settings, Database& database, GroupConsumer& consumer, BatchProcessor& processor,
                     WorkerMetrics& metrics)
    : settings_(settings), database_(database), consumer_(consumer), processor_(processor), metrics_(metrics) {}

void BatchLoop::stop() { stopping_ = true; }

void BatchLoop::set_state(bool database_ok, const std::string& detail) {
  std::lock_guard lock(state_mutex_);
  database_ok_ = database_ok;
  database_detail_ = detail;
  metrics_.set_database_up(database_ok);
}

void BatchLoop::gap_found(const OffsetGap& gap, bool halted) {
  metrics_.offset_gap(gap);
  if (!halted) return;
  std::lock_guard lock(state_mutex_);
  gap_detail_ = "partition " + std::to_string(gap.partition) + " halted at a gap: offsets " +
                std::to_string(gap.from_offset) + " to " + std::to_string(gap.to_offset) +
                " are no longer in Kafka (see --on-gap)";
}

Readiness BatchLoop::readiness() const {
  std::lock_guard lock(state_mutex_);
  if (!database_ok_) return {false, "postgres: " + database_detail_};
  if (!gap_detail_.empty()) return {false, gap_detail_};
  return {true, "ok"};
}

void BatchLoop::check_database() {
  try {
    pqxx::nontransaction tx(database_.get());
    // Reachable is not enough: a database a newer worker migrated is not
    // one this worker may write (BatchProcessor stores nothing then).
    const std::string newer = newer_schema_reason(tx);
    set_state(newer.empty(), newer.empty() ? "ok" : "postgres: " + newer);
  } catch (const std::exception& e) {
    database_.reset();
    set_state(false, describe_database_error(e));
  }
}

void BatchLoop::record(const BatchOutcome& outcome, double seconds) {
  trim_pending_ = true;
  trim_heap_now_and_then();
  metrics_.batch_done(outcome, seconds);
  consumer_.commit_hint(outcome.next_offsets);
  set_state(true, "ok");
  log::debug("batch stored", {{"messages", static_cast<int>(outcome.messages)},
                              {"stored", static_cast<int>(outcome.stored)},
                              {"duplicates", static_cast<int>(outcome.duplicates)},
                              {"services", static_cast<int>(outcome.materialized.services)},
                              {"seconds", seconds},
                              {"polled", poll_seconds_},
                              {"decode", outcome.seconds.decode},
                              {"apply", outcome.seconds.apply},
                              {"read", outcome.seconds.read},
                              {"link", outcome.seconds.link},
                              {"write", outcome.seconds.write},
                              {"commit", outcome.seconds.commit}});
  poll_seconds_ = 0;
}

void BatchLoop::trim_heap_now_and_then() {
  // Batches build and drop large buffers and histories; the pages they
  // freed go back to the system, so memory stays flat. Not after every
  // batch: trimming returns the pages the next batch's buffers would reuse,
  // and faulting them in again cost a tenth of the worker's time under a
  // backlog. An idle loop trims what the last batches left.
  const auto now = std::chrono::steady_clock::now();
  if (!trim_pending_ || now - last_trim_ < kTrimInterval) return;
  release_free_heap_pages();
  trim_pending_ = false;
  last_trim_ = now;
}

void BatchLoop::process(const std::vector<ConsumedMessage>& batch) {
  const auto started = std::chrono::steady_clock::now();
  const BatchOutcome outcome = processor_.process(batch);
  record(outcome, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void BatchLoop::finish(AppliedBatch& applied) {
  const auto started = std::chrono::steady_clock::now();
  record_or_redo(processor_.finish(applied), started, applied, nullptr);
}

void BatchLoop::record_or_redo(const std::optional<BatchOutcome>& outcome,
                               std::chrono::steady_clock::time_point finish_started, AppliedBatch& applied,
                               AppliedBatch* next) {
  if (outcome) {
    const double finishing =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - finish_started).count();
    record(*outcome, finishing + outcome->seconds.decode + outcome->seconds.apply);
    return;
  }
  // Stored again from the start, in order. The next batch is rolled back
  // first: its transaction could hold rows (a redelivered id) that this
  // one's retry would wait for.
  if (next) next->roll_back();
  process(applied.messages());
}

void BatchLoop::finish_with_next(std::unique_ptr<AppliedBatch>& ahead, std::vector<ConsumedMessage> batch,
                                 bool more) {
  // The next batch is decoded and its events_raw rows written on the other
  // connection while this one writes its base rows, links and writes:
  // Postgres takes one lane's rows on one core while the worker links on
  // the other.
  std::future<std::unique_ptr<AppliedBatch>> next;
  if (!batch.empty()) {
    next = std::async(std::launch::async, [this, &batch, busy = ahead.get()] {
      return processor_.apply_ahead(std::move(batch), busy);
    });
  }
  const auto started = std::chrono::steady_clock::now();
  std::optional<BatchOutcome> outcome;
  try {
    outcome = processor_.finish(*ahead);
  } catch (...) {
    // The next batch is rolled back with it; the resync reads it again.
    if (next.valid()) {
      try {
        next.get();
      } catch (...) {  // this batch's error is the one to report
      }
    }
    throw;
  }
  std::unique_ptr<AppliedBatch> applied = next.valid() ? next.get() : nullptr;
  record_or_redo(outcome, started, *ahead, applied.get());
  ahead.reset();
  if (!applied) return;
  if (more && applied->ready()) {
    ahead = std::move(applied);  // finished with the batch after it
  } else {
    finish(*applied);
  }
}

void BatchLoop::run() {
  check_database();
  auto backoff = settings_.backoff_min;
  auto last_lag = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  // Under a backlog, a batch already applied in its own
  // transaction, finished while the next one is applied.
  std::unique_ptr<AppliedBatch> ahead;
  while (!stopping_) {
    const auto poll_started = std::chrono::steady_clock::now();
    // With a batch applied and waiting, the next poll must not hold it back
    // long when the backlog has just run out.
    const auto wait = ahead ? std::min(settings_.batch_wait, kAheadPollWait) : settings_.batch_wait;
    std::vector<ConsumedMessage> batch = consumer_.poll_batch(settings_.batch_size, wait);
    poll_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - poll_started).count();
    if (consumer_.resync_pending()) {
      // Still waiting for Postgres: poll_batch kept the group membership
      // alive; try the database now and then. An applied batch is dropped:
      // the resync reads it again from the stored offsets.
      ahead.reset();
      check_database();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(settings_.backoff_max, backoff * 2);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_lag > std::chrono::seconds(1)) {
      metrics_.set_lag(consumer_.lag());
      metrics_.set_assigned_partitions(consumer_.assignment().size());
      last_lag = now;
      check_database();
    }
    if (consumer_.rebalances() != rebalances_seen_) {
      rebalances_seen_ = consumer_.rebalances();
      processor_.forget_services();
    }
    if (batch.empty() && !ahead) {
      trim_heap_now_and_then();
      continue;
    }
    // More messages waiting in Kafka: pipeline this batch with the next.
    const bool more = processor_.pipelining() && !batch.empty() && consumer_.backlog() > 0;
    try {
      if (ahead) {
        finish_with_next(ahead, std::move(batch), more);
      } else if (more) {
        ahead = processor_.apply_ahead(std::move(batch), nullptr);
        if (!ahead->ready()) {
          process(ahead->messages());
          ahead.reset();
        }
      } else {
        process(batch);
      }
      backoff = settings_.backoff_min;
    } catch (const StageUnavailable& e) {
      ahead.reset();
      metrics_.batch_failed();
      processor_.forget_services();
      set_state(false, e.what());
      log::warn("batch not stored; pausing and retrying from the stored offsets",
                {{"error", e.what()}, {"retry_in_ms", static_cast<int>(backoff.count())}});
      consumer_.request_resync();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(settings_.backoff_max, backoff * 2);
    }
  }
  // Stopping: the batch already applied is finished, as the current one.
  if (ahead) {
    try {
      finish(*ahead);
    } catch (const StageUnavailable& e) {
      log::warn("the last batch was not stored; it is read again at the next start", {{"error", e.what()}});
    }
  }
}

}  // namespace fourkeys::worker

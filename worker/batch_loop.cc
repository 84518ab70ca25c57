#include "worker/batch_loop.h"

#include "common/log.h"
#include "worker/database.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <malloc.h>
#include <thread>

namespace fourkeys::worker {

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
    tx.exec("SELECT 1");
    set_state(true, "ok");
  } catch (const std::exception& e) {
    database_.reset();
    set_state(false, describe_database_error(e));
  }
}

void BatchLoop::run() {
  check_database();
  auto backoff = settings_.backoff_min;
  auto last_lag = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  while (!stopping_) {
    const auto poll_started = std::chrono::steady_clock::now();
    std::vector<ConsumedMessage> batch = consumer_.poll_batch(settings_.batch_size, settings_.batch_wait);
    poll_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - poll_started).count();
    if (consumer_.resync_pending()) {
      // Still waiting for Postgres: poll_batch kept the group membership
      // alive; try the database now and then.
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
    if (batch.empty()) continue;
    const auto started = std::chrono::steady_clock::now();
    try {
      const BatchOutcome outcome = processor_.process(batch);
      // A batch that read services from Postgres built and dropped large
      // histories; give the freed pages back rather than let the heap keep
      // its high-water mark.
      if (outcome.materialized.services_loaded > 0) malloc_trim(0);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics_.batch_done(outcome, seconds);
      consumer_.commit_hint(outcome.next_offsets);
      set_state(true, "ok");
      backoff = settings_.backoff_min;
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
    } catch (const StageUnavailable& e) {
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
}

}  // namespace fourkeys::worker

#include "worker/batch_processor.h"

#include "common/log.h"
#include "worker/apply.h"
#include "worker/commit.h"
#include "worker/database.h"

#include <pqxx/pqxx>

#include <algorithm>

namespace fourkeys::worker {
namespace {

constexpr int kConflictRetries = 5;

struct Decoded {
  std::vector<BatchEvent> events;
  std::vector<DeadLetter> dead_letters;
};

Decoded decode_batch(const std::vector<ConsumedMessage>& batch) {
  Decoded out;
  out.events.reserve(batch.size());
  for (const ConsumedMessage& m : batch) {
    auto result = decode_envelope(m.value);
    if (auto* error = std::get_if<DecodeError>(&result)) {
      out.dead_letters.push_back({&m, "decode", error->reason});
    } else {
      out.events.push_back({&m, std::move(std::get<DecodedEvent>(result))});
    }
  }
  return out;
}

[[noreturn]] void unavailable(Database& database, const std::exception& e) {
  database.reset();
  throw StageUnavailable("postgres: " + describe_database_error(e));
}

}  // namespace

BatchProcessor::BatchProcessor(Database& database, DeadLetterSink& dead_letters, LinkSettings settings,
                               ServiceCache* cache)
    : database_(database), dead_letters_(dead_letters), cache_(cache), materializer_(settings, cache) {}

void BatchProcessor::forget_services() {
  if (cache_) cache_->clear();
}

void BatchProcessor::store(const std::vector<BatchEvent>& events, const std::string& topic,
                           const std::map<std::int32_t, std::int64_t>* offsets, BatchOutcome& outcome) {
  try {
    pqxx::work tx(database_.get());
    ApplyResult applied = apply_events(tx, events);
    MaterializeStats stats = materializer_.run(tx, applied.services, applied.added);
    if (offsets) {
      store_offsets(tx, topic, *offsets);
      dead_letters_.send(outcome.dead_letters);
    }
    tx.commit();
    materializer_.committed();
    outcome.stored += applied.stored;
    outcome.duplicates += applied.duplicates;
    for (const auto& [kind, n] : applied.stored_by_kind) outcome.stored_by_kind[kind] += n;
    outcome.materialized.services += stats.services;
    outcome.materialized.services_loaded += stats.services_loaded;
    outcome.materialized.services_extended += stats.services_extended;
    outcome.materialized.rows_written += stats.rows_written;
    outcome.materialized.rows_deleted += stats.rows_deleted;
  } catch (...) {
    materializer_.discard();
    throw;
  }
}

BatchOutcome BatchProcessor::process(const std::vector<ConsumedMessage>& batch) {
  Decoded decoded = decode_batch(batch);
  const auto offsets = next_offsets(batch);
  const std::string topic = batch.empty() ? std::string() : batch.front().topic;

  for (int attempt = 0;; ++attempt) {
    BatchOutcome outcome;
    outcome.messages = batch.size();
    outcome.next_offsets = offsets;
    outcome.dead_letters = decoded.dead_letters;
    outcome.conflicts_retried = attempt;
    try {
      store(decoded.events, topic, &offsets, outcome);
      return outcome;
    } catch (const StageUnavailable&) {
      throw;
    } catch (const std::exception& e) {
      switch (classify_database_error(e)) {
        case DatabaseErrorKind::unavailable:
          unavailable(database_, e);
        case DatabaseErrorKind::conflict:
          if (attempt < kConflictRetries) continue;
          [[fallthrough]];  // the same conflict again and again: look for the event causing it
        case DatabaseErrorKind::data:
          log::warn("a batch statement failed; storing the batch event by event to find the cause",
                    {{"error", describe_database_error(e)}, {"events", static_cast<int>(decoded.events.size())}});
          break;
      }
    }
    break;
  }

  // Event by event: each in its own transaction (idempotent, so a crash
  // here replays harmlessly), then the offsets and dead letters together.
  BatchOutcome outcome;
  outcome.messages = batch.size();
  outcome.next_offsets = offsets;
  outcome.dead_letters = decoded.dead_letters;
  outcome.isolated = true;
  for (const BatchEvent& event : decoded.events) {
    for (int attempt = 0;; ++attempt) {
      try {
        store({event}, topic, nullptr, outcome);
      } catch (const std::exception& e) {
        const auto kind = classify_database_error(e);
        if (kind == DatabaseErrorKind::unavailable) unavailable(database_, e);
        if (kind == DatabaseErrorKind::conflict && attempt < kConflictRetries) continue;
        outcome.dead_letters.push_back({event.message, "apply", describe_database_error(e)});
        log::error("event cannot be stored; sent to the dead-letter topic",
                   {{"id", event.event.id}, {"error", describe_database_error(e)}});
      }
      break;
    }
  }
  try {
    pqxx::work tx(database_.get());
    store_offsets(tx, topic, offsets);
    dead_letters_.send(outcome.dead_letters);
    tx.commit();
  } catch (const StageUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    unavailable(database_, e);
  }
  return outcome;
}

}  // namespace fourkeys::worker

#include "worker/batch_processor.h"

#include "common/log.h"
#include "worker/apply.h"
#include "worker/commit.h"
#include "worker/database.h"
#include "worker/migrations.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <optional>
#include <thread>
#include <chrono>

namespace fourkeys::worker {
namespace {

constexpr int kConflictRetries = 5;

// Every batch transaction starts here. A newer worker may have migrated the
// database while this one ran (an upgrade that did not stop it first);
// writing on would fail on tables that changed, and a statement that fails
// sends the batch's events to the dead-letter topic. Instead nothing is
// stored: the batch is retried from the stored offsets, /readyz says why,
// and the events wait in Kafka for a worker that knows the schema.
void require_known_schema(pqxx::transaction_base& tx) {
  if (std::string reason = newer_schema_reason(tx); !reason.empty()) throw StageUnavailable("postgres: " + reason);
}

double seconds_since(std::chrono::steady_clock::time_point& last) {
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - last).count();
  last = now;
  return s;
}

struct Decoded {
  std::vector<BatchEvent> events;
  std::vector<DeadLetter> dead_letters;
};

// Decoding is pure and costs tens of microseconds per envelope (JSON parse
// and schema check), while Postgres waits for the batch: spread it over the
// machine's cores. Order is kept.
Decoded decode_batch(const std::vector<ConsumedMessage>& batch) {
  constexpr std::size_t kPerThreadAtLeast = 64;
  const std::size_t cores = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  const std::size_t threads = std::min(cores, std::max<std::size_t>(1, batch.size() / kPerThreadAtLeast));
  std::vector<std::optional<DecodeResult>> results(batch.size());
  auto decode_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) results[i].emplace(decode_envelope(batch[i].value));
  };
  if (threads <= 1) {
    decode_range(0, batch.size());
  } else {
    std::vector<std::thread> helpers;
    const std::size_t per = (batch.size() + threads - 1) / threads;
    for (std::size_t t = 1; t < threads; ++t) {
      helpers.emplace_back(decode_range, std::min(batch.size(), t * per), std::min(batch.size(), (t + 1) * per));
    }
    decode_range(0, std::min(batch.size(), per));
    for (auto& h : helpers) h.join();
  }

  Decoded out;
  out.events.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    DecodeResult& result = *results[i];
    if (auto* error = std::get_if<DecodeError>(&result)) {
      out.dead_letters.push_back({&batch[i], "decode", error->reason});
    } else {
      out.events.push_back({&batch[i], std::move(std::get<DecodedEvent>(result))});
    }
  }
  return out;
}

// What every outcome of a decoded batch starts with.
BatchOutcome outcome_of(const std::vector<ConsumedMessage>& batch, const std::map<std::int32_t, std::int64_t>& offsets,
                        const Decoded& decoded, double decode_seconds) {
  BatchOutcome outcome;
  outcome.messages = batch.size();
  outcome.next_offsets = offsets;
  outcome.dead_letters = decoded.dead_letters;
  outcome.seconds.decode = decode_seconds;
  return outcome;
}

[[noreturn]] void unavailable(Database& database, const std::exception& e) {
  database.reset();
  throw StageUnavailable("postgres: " + describe_database_error(e));
}

}  // namespace

struct AppliedBatch::Parts {
  std::vector<ConsumedMessage> messages;
  Decoded decoded;  // its events point into `messages`
  std::map<std::int32_t, std::int64_t> offsets;
  std::string topic;
  double decode_seconds = 0;
  double apply_seconds = 0;
  Database* database = nullptr;
  std::unique_ptr<pqxx::work> tx;  // null once committed or rolled back
  ApplyResult applied;
};

AppliedBatch::AppliedBatch() : parts_(std::make_unique<Parts>()) {}
AppliedBatch::~AppliedBatch() = default;
const std::vector<ConsumedMessage>& AppliedBatch::messages() const { return parts_->messages; }
bool AppliedBatch::ready() const { return parts_->tx != nullptr; }
void AppliedBatch::roll_back() { parts_->tx.reset(); }

BatchProcessor::BatchProcessor(Database& database, DeadLetterSink& dead_letters, LinkSettings settings,
                               ServiceCache* cache, Database* ahead_database)
    : database_(database),
      dead_letters_(dead_letters),
      cache_(cache),
      ahead_database_(ahead_database),
      materializer_(settings, cache) {}

std::unique_ptr<AppliedBatch> BatchProcessor::apply_ahead(std::vector<ConsumedMessage> batch,
                                                          const AppliedBatch* busy) {
  std::unique_ptr<AppliedBatch> applied(new AppliedBatch);
  AppliedBatch::Parts& p = *applied->parts_;
  p.messages = std::move(batch);
  if (!ahead_database_ || p.messages.empty()) return applied;
  auto last = std::chrono::steady_clock::now();
  p.decoded = decode_batch(p.messages);
  p.decode_seconds = seconds_since(last);
  p.offsets = next_offsets(p.messages);
  p.topic = p.messages.front().topic;
  p.database = busy && busy->parts_->database == &database_ ? ahead_database_ : &database_;
  try {
    p.tx = std::make_unique<pqxx::work>(p.database->get());
    require_known_schema(*p.tx);
    p.applied = store_raw_events(*p.tx, p.decoded.events);
    p.apply_seconds = seconds_since(last);
  } catch (const std::exception& e) {
    // process() will meet the same trouble, if any, and say what it is.
    p.tx.reset();
    if (classify_database_error(e) == DatabaseErrorKind::unavailable) p.database->reset();
  }
  return applied;
}

std::optional<BatchOutcome> BatchProcessor::finish(AppliedBatch& applied) {
  AppliedBatch::Parts& p = *applied.parts_;
  if (!p.tx) return std::nullopt;
  BatchOutcome outcome = outcome_of(p.messages, p.offsets, p.decoded, p.decode_seconds);
  outcome.seconds.apply = p.apply_seconds;
  outcome.pipelined = true;
  try {
    auto started = std::chrono::steady_clock::now();
    write_base_rows(*p.tx, p.applied);
    outcome.seconds.apply += seconds_since(started);
    materialize_and_commit(*p.tx, p.applied, p.topic, &p.offsets, outcome);
    p.tx.reset();
    return outcome;
  } catch (const StageUnavailable&) {
    p.tx.reset();
    throw;
  } catch (const std::exception& e) {
    p.tx.reset();
    if (classify_database_error(e) == DatabaseErrorKind::unavailable) unavailable(*p.database, e);
    log::debug("an applied batch failed; storing it again from the start", {{"error", describe_database_error(e)}});
    return std::nullopt;
  }
}

void BatchProcessor::materialize_and_commit(pqxx::transaction_base& tx, const ApplyResult& applied,
                                            const std::string& topic,
                                            const std::map<std::int32_t, std::int64_t>* offsets,
                                            BatchOutcome& outcome) {
  try {
    auto last = std::chrono::steady_clock::now();
    const MaterializeStats stats = materializer_.run(tx, applied.services, applied.added);
    seconds_since(last);
    if (offsets) {
      store_offsets(tx, topic, *offsets);
      dead_letters_.send(outcome.dead_letters);
    }
    tx.commit();
    outcome.seconds.commit += seconds_since(last);
    outcome.seconds.read += stats.read_seconds;
    outcome.seconds.link += stats.link_seconds;
    outcome.seconds.write += stats.write_seconds;
    materializer_.committed();
    if (cache_) {
      outcome.cache_bytes = cache_->bytes();
      outcome.cache_services = cache_->services();
    }
    outcome.stored += applied.stored;
    outcome.duplicates += applied.duplicates;
    for (const auto& [kind, n] : applied.stored_by_kind) outcome.stored_by_kind[kind] += n;
    outcome.materialized.services += stats.services;
    outcome.materialized.services_loaded += stats.services_loaded;
    outcome.materialized.services_extended += stats.services_extended;
    outcome.materialized.states_pruned += stats.states_pruned;
    outcome.materialized.pruned_read_again += stats.pruned_read_again;
    outcome.materialized.rows_written += stats.rows_written;
    outcome.materialized.rows_deleted += stats.rows_deleted;
  } catch (...) {
    materializer_.discard();
    throw;
  }
}

void BatchProcessor::forget_services() {
  if (cache_) cache_->clear();
}

void BatchProcessor::store(const std::vector<BatchEvent>& events, const std::string& topic,
                           const std::map<std::int32_t, std::int64_t>* offsets, BatchOutcome& outcome) {
  auto last = std::chrono::steady_clock::now();
  pqxx::work tx(database_.get());
  require_known_schema(tx);
  const ApplyResult applied = apply_events(tx, events);
  outcome.seconds.apply += seconds_since(last);
  materialize_and_commit(tx, applied, topic, offsets, outcome);
}

BatchOutcome BatchProcessor::process(const std::vector<ConsumedMessage>& batch) {
  auto started = std::chrono::steady_clock::now();
  Decoded decoded = decode_batch(batch);
  const double decode_seconds = seconds_since(started);
  const auto offsets = next_offsets(batch);
  const std::string topic = batch.empty() ? std::string() : batch.front().topic;

  for (int attempt = 0;; ++attempt) {
    BatchOutcome outcome = outcome_of(batch, offsets, decoded, decode_seconds);
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
  BatchOutcome outcome = outcome_of(batch, offsets, decoded, decode_seconds);
  outcome.isolated = true;
  for (const BatchEvent& event : decoded.events) {
    for (int attempt = 0;; ++attempt) {
      try {
        store({event}, topic, nullptr, outcome);
      } catch (const StageUnavailable&) {
        throw;
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
    require_known_schema(tx);
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

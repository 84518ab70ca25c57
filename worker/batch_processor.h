// Runs one consumed batch through decode → apply → materialize → commit, in
// one Postgres transaction. Either the whole batch (its events, base rows,
// derived rows, metric rows and offsets) is stored, or none of it.
//
// Events that cannot be stored go to the dead-letter topic with the reason,
// and the batch goes on: envelopes that fail decoding at once, and events
// that make a statement fail (found by retrying the batch one event per
// transaction). Dead letters are sent, and acknowledged by Kafka, before the
// transaction commits; a batch replayed after a crash may send one again
// (dead letters are at-least-once; stored events are exactly-once).
#pragma once

#include "worker/batch.h"
#include "worker/materialize.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

class Database;
struct ApplyResult;

struct DeadLetter {
  const ConsumedMessage* message = nullptr;
  std::string stage;   // decode, apply
  std::string reason;  // safe to log
};

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Returns once Kafka has every letter; throws StageUnavailable otherwise.
  virtual void send(const std::vector<DeadLetter>& letters) = 0;
};

// Postgres or Kafka cannot take the batch now; nothing of it was stored.
// The caller waits, seeks back to the stored offsets and tries again.
class StageUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Seconds a batch spent in each stage (materialize split into reading,
// linking in memory and writing), for the stage-time metric and profiling.
struct StageSeconds {
  double decode = 0;
  double apply = 0;       // events_raw and base rows (for a pipelined batch, in two parts)
  double read = 0;        // locks, versions, histories and stored rows
  double link = 0;        // linking and diffing in memory
  double write = 0;       // derived and metric rows
  double commit = 0;      // offsets, dead letters, COMMIT
};

struct BatchOutcome {
  std::size_t messages = 0;
  std::size_t stored = 0;
  std::size_t duplicates = 0;
  std::map<std::string, std::size_t> stored_by_kind;
  std::vector<DeadLetter> dead_letters;
  MaterializeStats materialized;
  StageSeconds seconds;
  std::map<std::int32_t, std::int64_t> next_offsets;
  int conflicts_retried = 0;
  bool isolated = false;  // a statement failed and the batch was replayed event by event
  bool pipelined = false;  // applied ahead, while the batch before it was finished (finish())
  // The service cache after the batch (both 0 without a cache).
  std::size_t cache_bytes = 0;
  std::size_t cache_services = 0;
};

// A batch decoded and applied in a transaction of its own, waiting to be
// materialized and committed (BatchProcessor::apply_ahead). Owns its
// messages. Destroying it rolls its transaction back: nothing of it stays.
class AppliedBatch {
 public:
  ~AppliedBatch();
  AppliedBatch(const AppliedBatch&) = delete;
  AppliedBatch& operator=(const AppliedBatch&) = delete;

  const std::vector<ConsumedMessage>& messages() const;
  // False when applying failed; finish() then stores nothing.
  bool ready() const;
  // Rolls the transaction back now, keeping the messages.
  void roll_back();

 private:
  friend class BatchProcessor;
  AppliedBatch();
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

class BatchProcessor {
 public:
  // `database`, `dead_letters`, `cache` (may be null) and `ahead_database`
  // (may be null: no pipelining) must outlive the processor. The two
  // databases are two connections to the same Postgres.
  BatchProcessor(Database& database, DeadLetterSink& dead_letters, LinkSettings settings,
                 ServiceCache* cache = nullptr, Database* ahead_database = nullptr);

  // Throws StageUnavailable when Postgres or the dead-letter topic cannot be
  // reached. Requires that no AppliedBatch holds a transaction: it could
  // wait for rows this one writes (a redelivered id).
  BatchOutcome process(const std::vector<ConsumedMessage>& batch);

  // Pipelining, for a backlog: the next batch's decoding and its events_raw
  // rows (store_raw_events; its base rows go in with finish()) run
  // on another thread, in a transaction on the connection that `busy` (the
  // applied batch being finished meanwhile, or null) does not hold. Safe to
  // call while finish(*busy) runs: touches neither the cache nor the
  // materializer. Never throws; a failed apply gives a batch not ready().
  bool pipelining() const { return ahead_database_ != nullptr; }
  std::unique_ptr<AppliedBatch> apply_ahead(std::vector<ConsumedMessage> batch, const AppliedBatch* busy);

  // Writes the base rows of, materializes, stores the offsets and dead
  // letters of, and commits an
  // applied batch, after every batch before it committed (so it links from
  // what they wrote). Returns nullopt when that failed for a reason other
  // than Postgres being unavailable, or the batch was not ready(): it is
  // rolled back, and the caller, once no applied batch holds a transaction,
  // runs process() on its messages (which retries and isolates). Throws
  // StageUnavailable as process() does.
  std::optional<BatchOutcome> finish(AppliedBatch& applied);

  // Partitions moved: forget the services remembered (they may now be
  // another worker's; versions would catch that, this frees the memory).
  void forget_services();

 private:
  // One transaction: apply, materialize, and with `offsets`, store them and
  // send the dead letters. Commits; on any error the cache keeps nothing of it.
  void store(const std::vector<BatchEvent>& events, const std::string& topic,
             const std::map<std::int32_t, std::int64_t>* offsets, BatchOutcome& outcome);

  // After the apply stage in `tx`: materialize, with `offsets` store them
  // and send the dead letters, commit, and add what was stored to
  // `outcome`. On any error the cache keeps nothing of it.
  void materialize_and_commit(pqxx::transaction_base& tx, const ApplyResult& applied, const std::string& topic,
                              const std::map<std::int32_t, std::int64_t>* offsets, BatchOutcome& outcome);

  Database& database_;
  DeadLetterSink& dead_letters_;
  ServiceCache* cache_;
  Database* ahead_database_;
  Materializer materializer_;
};

}  // namespace fourkeys::worker

// Apply stage: stores a batch's events and their base rows, inside the
// batch's transaction. Idempotent by envelope id: an event already stored
// (a redelivery, a re-publish, a batch replayed after a crash) writes nothing
// and touches no service.
#pragma once

#include "worker/batch.h"

#include <cstddef>
#include <map>
#include <string>
#include "worker/decode.h"
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

struct ApplyResult {
  std::vector<std::string> services;        // services with new rows, sorted, unique
  std::size_t stored = 0;                   // events new to the database
  std::size_t duplicates = 0;               // already stored (or twice in the batch)
  std::map<std::string, std::size_t> stored_by_kind;
  // The new events by service (pointing into the events given), for the
  // materialize stage to extend what it remembers of each service.
  std::map<std::string, std::vector<const DecodedEvent*>> added;
  // The new events in batch order (pointing into the events given): the
  // ones whose base rows are written.
  std::vector<const DecodedEvent*> stored_events;
};

// Writes `events` (any order; duplicates allowed) and their base rows with a
// few COPY and INSERT ... SELECT statements, not one round trip per row:
// store_raw_events() then write_base_rows(). Throws pqxx exceptions; the
// caller owns the transaction and rolls it back on error.
ApplyResult apply_events(pqxx::transaction_base& tx, const std::vector<BatchEvent>& events);

// The first half of apply_events(): the events new to events_raw, stored
// there. A pipelined batch writes its base rows later, in the same
// transaction, with its materialize stage (BatchProcessor::finish): the
// lane that applies the next batch meanwhile carries only events_raw, and
// the two lanes take about as long.
ApplyResult store_raw_events(pqxx::transaction_base& tx, const std::vector<BatchEvent>& events);

// Writes the base rows (change_reports, pushes, deployment_events,
// incident_events, and the services' teams in service_teams) of events
// known to be absent from them: the new events of a batch, or every event
// during a rebuild.
void write_base_rows(pqxx::transaction_base& tx, const std::vector<const DecodedEvent*>& events);

// The second half of apply_events(): the base rows of `result`'s stored
// events.
void write_base_rows(pqxx::transaction_base& tx, ApplyResult& result);

}  // namespace fourkeys::worker

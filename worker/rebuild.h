// `fourkeys-worker --rebuild`: recomputes every base and derived table from
// events_raw, in one transaction, so readers see the old tables until the
// new ones are complete. Safe while workers run: it first takes a lock on
// events_raw that waits for batches in flight and holds new ones back until
// it commits (workers then go on where they were).
//
// With a DeliveryRenormalizer (a changed service map), events_raw itself is
// rewritten first: every stored delivery is normalized again and replaced by
// the envelopes a receiver with the new settings would have published
// (Kafka positions kept), so services, teams, environments and monorepo
// splits follow the new map for the whole history.
#pragma once

#include "worker/model.h"
#include "worker/renormalize.h"

#include <cstddef>
#include <functional>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

struct RebuildStats {
  std::size_t events = 0;        // stored events the derived tables were computed from
  std::size_t renormalized = 0;  // deliveries normalized again (with a renormalizer)
  std::size_t kept = 0;          // stored envelopes without their delivery, kept as they were
  std::size_t dropped = 0;       // deliveries that would no longer be published (logged)
  std::size_t undecodable = 0;  // stored envelopes this version cannot read (logged)
  std::size_t services = 0;
};

// Called now and then with (events done, events in all).
using RebuildProgress = std::function<void(std::size_t done, std::size_t total)>;

RebuildStats rebuild_all(pqxx::connection_base& connection, const LinkSettings& settings,
                         const RebuildProgress& progress = {},
                         const DeliveryRenormalizer* renormalizer = nullptr);

}  // namespace fourkeys::worker

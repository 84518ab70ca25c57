// `fourkeys-worker --rebuild`: recomputes every base and derived table from
// events_raw, in one transaction, so readers see the old tables until the
// new ones are complete. Safe while workers run: it first takes a SHARE
// lock on events_raw, which waits for batches in flight and holds new ones
// back until it commits (workers then go on where they were).
#pragma once

#include "worker/model.h"

#include <cstddef>
#include <functional>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

struct RebuildStats {
  std::size_t events = 0;
  std::size_t undecodable = 0;  // stored envelopes this version cannot read (logged)
  std::size_t services = 0;
};

// Called now and then with (events done, events in all).
using RebuildProgress = std::function<void(std::size_t done, std::size_t total)>;

RebuildStats rebuild_all(pqxx::connection_base& connection, const LinkSettings& settings,
                         const RebuildProgress& progress = {});

}  // namespace fourkeys::worker

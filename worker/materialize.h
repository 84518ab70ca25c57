// Materialize stage: brings the derived rows (deployment_attempts,
// deployment_changes, incidents) and metrics_daily of the services a batch
// touched up to date with their base rows, inside the batch's transaction.
//
// The rows are always derive_service() of the service's whole base history
// (never patched), which is what makes late and out-of-order events
// harmless: the rows are those of a full rebuild. The history comes from the
// ServiceCache when its version matches the database's, extended with the
// rows this batch added; otherwise from Postgres. Only rows that differ from
// what the database holds are deleted and written.
//
// Two workers never lose each other's updates: each service is locked (a
// transaction-scoped advisory lock, taken in name order so two batches
// cannot deadlock) after this transaction wrote its base rows and before
// anything of the service is read, so whichever transaction locks last sees
// everything the other committed.
#pragma once

#include "worker/decode.h"
#include "worker/model.h"
#include "worker/service_cache.h"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

struct MaterializeStats {
  std::size_t services = 0;
  std::size_t services_loaded = 0;  // read from Postgres (not cached, stale, or pruned and declined)
  std::size_t services_extended = 0;  // linked forward from what was remembered
  std::size_t states_pruned = 0;      // states that forgot their final rows (ServiceLinker::prune)
  std::size_t pruned_read_again = 0;  // pruned states the batch reached past the cut of (among the loaded)
  // Derived and metric rows inserted and deleted; a deployment's changes
  // count as one row (deployment_change_sets).
  std::size_t rows_written = 0;
  std::size_t rows_deleted = 0;
  // Where the time went: reading (locks, versions, histories), linking and
  // diffing in memory, and writing the rows.
  double read_seconds = 0;
  double link_seconds = 0;
  double write_seconds = 0;
};

enum class ServiceLocks { take, held_elsewhere };

class Materializer {
 public:
  // `cache` may be null (every service is read from Postgres and its rows
  // rewritten: --rebuild). It must outlive the materializer.
  Materializer(LinkSettings settings, ServiceCache* cache);

  // `services`: sorted, unique. `added`: the base rows this transaction
  // wrote, by service. `held_elsewhere`: the caller already excludes
  // concurrent writers (the rebuild holds a table lock).
  //
  // A service the cache does not hold is read from Postgres. The history
  // before this batch is what was read less `added`'s events (every report
  // is kept by its event), and the rows stored for it are derive_service()
  // of that (every writer keeps them so): the state derived from it is
  // linked forward like a cached one, and the stored rows are not read.
  // Without a cache (the rebuild) the whole history is derived and every
  // row written anew.
  MaterializeStats run(pqxx::transaction_base& tx, const std::vector<std::string>& services,
                       const std::map<std::string, std::vector<const DecodedEvent*>>& added,
                       ServiceLocks locks = ServiceLocks::take);

  // Call after the transaction committed: the states run() wrote go into the
  // cache. Without this call (the transaction failed) they are dropped, and
  // the services are read from Postgres next time.
  void committed();
  void discard();

 private:
  // Services read from Postgres go in chunks of about this many bytes of
  // state (by the cache's size hints; an unknown service counts as
  // kUnknownServiceBytes), so that the memory a batch needs beside the cache
  // is about one chunk, whatever the number of services it touches.
  static constexpr std::size_t kLoadChunkBytes = 8 << 20;
  static constexpr std::size_t kUnknownServiceBytes = 1 << 20;
  std::vector<std::vector<std::string>> load_chunks(const std::vector<std::string>& services) const;
  // Keeps a state this batch wrote for the cache while the batch's states
  // fit its budget; `kept_bytes` counts them.
  // Prunes it first (ServiceLinker::prune), counting in `stats`.
  void keep(const std::string& service, std::unique_ptr<ServiceState> state, std::size_t& kept_bytes,
            MaterializeStats& stats);

  LinkSettings settings_;
  ServiceCache* cache_;
  std::vector<std::pair<std::string, std::unique_ptr<ServiceState>>> pending_;
};

}  // namespace fourkeys::worker

// Materialize stage: recomputes the derived rows (deployment_attempts,
// deployment_changes, incidents) and metrics_daily of the services a batch
// touched, from their base rows, inside the batch's transaction.
//
// Recomputing from the base rows (not patching the old result) is what makes
// late and out-of-order events harmless: the rows are always those of a
// full rebuild. Two workers never lose each other's updates: each service is
// locked (a transaction-scoped advisory lock, taken in name order so two
// batches cannot deadlock) before its base rows are read, and the lock is
// taken after this transaction wrote its own base rows, so whichever
// transaction locks last sees everything the other committed.
#pragma once

#include "worker/model.h"

#include <cstddef>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

struct MaterializeStats {
  std::size_t services = 0;
  std::size_t deployments = 0;
  std::size_t deployment_changes = 0;
  std::size_t incidents = 0;
};

// Everything stored about `services`, read in a few statements.
std::vector<ServiceHistory> load_histories(pqxx::transaction_base& tx, const std::vector<std::string>& services);

enum class ServiceLocks { take, held_elsewhere };

// `services` must be sorted and unique (ApplyResult::services is).
// `held_elsewhere`: the caller already excludes concurrent writers (the
// rebuild holds a table lock), so no per-service locks are taken.
MaterializeStats materialize_services(pqxx::transaction_base& tx, const std::vector<std::string>& services,
                                      const LinkSettings& settings, ServiceLocks locks = ServiceLocks::take);

}  // namespace fourkeys::worker

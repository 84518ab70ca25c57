// Random service histories for the linker's and the service cache's tests:
// one service's rows in the batches a worker would see them in. Test code
// only (linked into the worker's unit tests, never into the worker).
#pragma once

#include "worker/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fourkeys::worker::testing {

// What a history holds, in percent chances per step. A step is a push of
// new commits, then maybe deployments (some reported running first, in a
// batch of their own; some failing; some redeploying an older commit) and
// maybe an incident.
struct HistoryShape {
  int steps = 60;
  int most_commits_per_push = 4;
  int deploy_percent = 60;
  int staging_percent = 40;  // a deployment to staging too, after production
  int running_first_percent = 40;
  int failure_percent = 15;
  int rollback_percent = 15;  // redeploys a commit deployed before
  int hotfix_percent = 5;
  int incident_percent = 25;
  int resolved_percent = 50;
  int late_percent = 0;  // batches swapped with the one before: delivered late
  int minutes_between_steps = 0;  // quiet time before each step (longer histories cross more days)
  // Names, titles and ids longer than the short-string buffer, so that they
  // take heap as real ones do (the memory estimate tests need that).
  bool heap_texts = false;
};

// The batches, in delivery order. Same seed and shape, same batches.
std::vector<ServiceHistory> history_batches(std::uint32_t seed, const HistoryShape& shape);

// Appends every row of `rows` to `to`.
void append_rows(ServiceHistory& to, const ServiceHistory& rows);

}  // namespace fourkeys::worker::testing

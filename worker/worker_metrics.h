// The worker's own Prometheus series (pipeline health). Thread-safe: the
// batch loop writes, the HTTP thread renders.
#pragma once

#include "worker/batch_processor.h"
#include "worker/consume.h"

#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace fourkeys::worker {

class WorkerMetrics {
 public:
  WorkerMetrics();
  ~WorkerMetrics();

  void batch_done(const BatchOutcome& outcome, double seconds);
  void batch_failed();
  void set_lag(const std::vector<PartitionLag>& lag);
  void offset_gap(const OffsetGap& gap);
  void set_database_up(bool up);
  void set_assigned_partitions(std::size_t n);
  void set_rebuild_progress(double ratio);

  std::string render() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace fourkeys::worker

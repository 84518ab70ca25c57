// What the worker last derived for each service it handles, kept between
// batches so that a batch only appends its new base rows, derives again in
// memory and writes the rows that changed, instead of reading a service's
// whole history from Postgres and rewriting all its derived rows.
//
// Never trusted blindly: every write of a service's derived rows bumps its
// row in `service_versions` (and a rebuild empties that table), and a batch
// uses an entry only when its version equals the database's, read under the
// service's lock. Anything else (another worker took the partition, a
// rebuild ran, a batch failed) makes the worker read the service from
// Postgres again. Bounded: when the entries hold more base rows than the
// budget, the least recently used services are dropped.
#pragma once

#include "worker/daily_metrics.h"
#include "worker/linker.h"
#include "worker/model.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fourkeys::worker {

struct ServiceState {
  std::int64_t version = 0;  // service_versions.version this state was written with
  ServiceHistory history;
  std::unique_ptr<ServiceLinker> linker;  // links what the next batch adds
  DerivedService derived;
  std::vector<MetricsDay> metrics;
  std::size_t rows() const;
};

class ServiceCache {
 public:
  explicit ServiceCache(std::size_t row_budget) : budget_(row_budget) {}

  // Removes and returns the state of `service`, or null. A batch takes the
  // states it works on and puts back the new ones once it has committed, so
  // a failed batch leaves nothing stale behind.
  std::unique_ptr<ServiceState> take(const std::string& service);
  void put(const std::string& service, std::unique_ptr<ServiceState> state);
  void erase(const std::string& service);
  void clear();
  std::size_t rows() const { return rows_; }
  std::size_t services() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<ServiceState> state;
    std::list<std::string>::iterator position;  // in recency_, most recent first
  };
  void evict();

  std::size_t budget_;
  std::size_t rows_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;
};

}  // namespace fourkeys::worker

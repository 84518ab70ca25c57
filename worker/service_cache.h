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
// Postgres again.
//
// Bounded in bytes: each state's size (its history, its derived and metric
// rows and the linker's state, as memory_estimate.h estimates them) counts
// against a budget, and the least recently used services are forgotten when
// the states together exceed it. A state larger than the whole budget is not
// kept at all; its service is read from Postgres at every batch, which gives
// the same rows, only slower.
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
  ServiceHistory history;  // its deployment and incident reports (the linker remembers the commits)
  std::unique_ptr<ServiceLinker> linker;  // links what the next batch adds
  // Its deployment and incident rows. Between batches deployment_changes is
  // empty (forget_change_rows()): the linker gives those rows when a batch
  // needs them (ServiceLinker::change_rows), and kept as rows they were
  // close to half of a state. A batch's extend() appends the new ones.
  DerivedService derived;
  std::vector<MetricsDay> metrics;

  void forget_change_rows() { std::vector<DeploymentChangeRow>().swap(derived.deployment_changes); }

  // The heap this state takes, itself included (memory_estimate.h). Walks
  // the rows, so costs about what a batch's diff of them costs.
  std::size_t bytes() const;
};

class ServiceCache {
 public:
  // `byte_budget`: the most the states kept may take together.
  explicit ServiceCache(std::size_t byte_budget) : budget_(byte_budget) {}

  // Removes and returns the state of `service`, or null. A batch takes the
  // states it works on and puts back the new ones once it has committed, so
  // a failed batch leaves nothing stale behind.
  std::unique_ptr<ServiceState> take(const std::string& service);

  // Keeps `state` as the most recently used, then forgets the least recently
  // used states until the rest fit the budget. A state larger than the
  // budget alone is dropped (only its size is remembered).
  void put(const std::string& service, std::unique_ptr<ServiceState> state);

  // How many bytes the state of `service` took when it was last put or
  // noted, whether or not it is still kept; 0 for a service never seen. The
  // materializer uses it to read few large services at a time.
  std::size_t size_hint(const std::string& service) const;

  // Forgets the least recently used states until `bytes` more would fit the
  // budget: room for states a batch is making, so that they and the states
  // kept never take more than the budget together, not even before put().
  void make_room(std::size_t bytes);
  void note_size(const std::string& service, std::size_t bytes) { sizes_[service] = bytes; }

  // What reading `service` from Postgres took when it was last read: its
  // state linked from the whole history, before ServiceLinker::prune()
  // made it smaller (0 when never read). A remembered state's size says
  // little about that once it is pruned, and the materializer sizes its
  // load chunks by it.
  std::size_t load_size_hint(const std::string& service) const;
  void note_load_size(const std::string& service, std::size_t bytes) { load_sizes_[service] = bytes; }

  void erase(const std::string& service);
  void clear();  // forgets the states (their sizes stay as hints)
  std::size_t bytes() const { return bytes_; }
  std::size_t budget() const { return budget_; }
  std::size_t services() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<ServiceState> state;
    std::size_t bytes = 0;                       // state->bytes() when put
    std::list<std::string>::iterator position;  // in recency_, most recent first
  };

  std::size_t budget_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;
  // Last known size of every service seen: one number per service, so it
  // grows with the number of services, not with their events.
  std::unordered_map<std::string, std::size_t> sizes_;
  std::unordered_map<std::string, std::size_t> load_sizes_;
};

}  // namespace fourkeys::worker

#include "worker/service_cache.h"

namespace fourkeys::worker {

std::size_t ServiceState::rows() const {
  return history.changes.size() + history.pushes.size() + history.deployment_events.size() +
         history.incident_events.size() + derived.deployments.size() + derived.deployment_changes.size() +
         derived.incidents.size() + metrics.size();
}

std::unique_ptr<ServiceState> ServiceCache::take(const std::string& service) {
  auto it = entries_.find(service);
  if (it == entries_.end()) return nullptr;
  std::unique_ptr<ServiceState> state = std::move(it->second.state);
  rows_ -= state->rows();
  recency_.erase(it->second.position);
  entries_.erase(it);
  return state;
}

void ServiceCache::put(const std::string& service, std::unique_ptr<ServiceState> state) {
  erase(service);
  rows_ += state->rows();
  recency_.push_front(service);
  entries_.emplace(service, Entry{std::move(state), recency_.begin()});
  evict();
}

void ServiceCache::erase(const std::string& service) {
  auto it = entries_.find(service);
  if (it == entries_.end()) return;
  rows_ -= it->second.state->rows();
  recency_.erase(it->second.position);
  entries_.erase(it);
}

void ServiceCache::clear() {
  entries_.clear();
  recency_.clear();
  rows_ = 0;
}

void ServiceCache::evict() {
  // Keep at least the entry just put, even when it alone is over budget.
  while (rows_ > budget_ && entries_.size() > 1) erase(recency_.back());
}

}  // namespace fourkeys::worker

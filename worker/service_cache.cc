#include "worker/service_cache.h"

#include "worker/memory_estimate.h"

namespace fourkeys::worker {

std::size_t ServiceState::bytes() const {
  std::size_t total = memory::allocation(sizeof(ServiceState)) + memory::heap_of(history) + memory::heap_of(derived) +
                      memory::heap_of(metrics);
  if (linker) total += memory::allocation(sizeof(ServiceLinker)) + linker->memory_bytes();
  return total;
}

std::unique_ptr<ServiceState> ServiceCache::take(const std::string& service) {
  auto it = entries_.find(service);
  if (it == entries_.end()) return nullptr;
  std::unique_ptr<ServiceState> state = std::move(it->second.state);
  bytes_ -= it->second.bytes;
  recency_.erase(it->second.position);
  entries_.erase(it);
  return state;
}

void ServiceCache::put(const std::string& service, std::unique_ptr<ServiceState> state) {
  erase(service);
  const std::size_t size = state->bytes();
  sizes_[service] = size;
  if (size > budget_) return;
  make_room(size);
  bytes_ += size;
  recency_.push_front(service);
  entries_.emplace(service, Entry{std::move(state), size, recency_.begin()});
}

void ServiceCache::make_room(std::size_t bytes) {
  // Oldest first.
  while (bytes_ + bytes > budget_ && !recency_.empty()) erase(recency_.back());
}

std::size_t ServiceCache::load_size_hint(const std::string& service) const {
  const auto it = load_sizes_.find(service);
  return it == load_sizes_.end() ? 0 : it->second;
}

std::size_t ServiceCache::size_hint(const std::string& service) const {
  const auto it = sizes_.find(service);
  return it == sizes_.end() ? 0 : it->second;
}

void ServiceCache::erase(const std::string& service) {
  auto it = entries_.find(service);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  recency_.erase(it->second.position);
  entries_.erase(it);
}

void ServiceCache::clear() {
  entries_.clear();
  recency_.clear();
  bytes_ = 0;
}

}  // namespace fourkeys::worker

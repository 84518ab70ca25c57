// Estimates of the heap memory the worker's in-memory rows and linking state
// hold, for the ServiceCache's budget in bytes. They model what libstdc++ and
// glibc's malloc really allocate (each allocation rounded up to malloc's
// 16-byte chunks with its 8-byte header; a std::map/std::set node carries 32
// bytes of links before its value; strings of up to 15 characters live inside
// the std::string), so the estimate follows the process' real use rather
// than counting rows, whose size varies tenfold. The release build runs on
// tcmalloc (worker/README.md), which rounds differently: no header and no
// 32-byte minimum, so small allocations (most of a state's) take up to 16
// bytes less than modelled; classes about an eighth of a power of two apart
// above 256 bytes, so larger ones take up to ~12% more. There the budget is
// an estimate of the same order, not the exact heap.
#pragma once

#include "worker/daily_metrics.h"
#include "worker/model.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::worker::memory {

// The bytes malloc takes for a request of `n` bytes (0 for none).
constexpr std::size_t allocation(std::size_t n) {
  return n == 0 ? 0 : std::max<std::size_t>(32, (n + 8 + 15) / 16 * 16);
}

// What a std::string holds beyond its own object.
inline std::size_t string_heap(const std::string& s) {
  return s.capacity() > std::string().capacity() ? allocation(s.capacity() + 1) : 0;
}

// One node of a std::map or std::set whose value_type is `value_size` bytes.
constexpr std::size_t tree_node(std::size_t value_size) { return allocation(32 + value_size); }

// One node of a std::set<std::string> holding `key`, with the key's heap.
inline std::size_t node_of(const std::string& key) { return tree_node(sizeof(key)) + string_heap(key); }

// One node of a std::map keyed by a string, with the key's heap (not what
// the mapped value holds beyond its own object).
template <typename Value>
std::size_t node_of(const std::pair<const std::string, Value>& entry) {
  return tree_node(sizeof(entry)) + string_heap(entry.first);
}

// A vector's own buffer (not what its elements hold).
template <typename T>
std::size_t vector_heap(const std::vector<T>& v) {
  return allocation(v.capacity() * sizeof(T));
}

// What one row holds beyond its own object (its strings and vectors).
std::size_t heap_of(const ChangeRow& row);
std::size_t heap_of(const PushRow& row);
std::size_t heap_of(const DeploymentEventRow& row);
std::size_t heap_of(const IncidentEventRow& row);
std::size_t heap_of(const DeploymentRow& row);
std::size_t heap_of(const DeploymentChangeRow& row);
std::size_t heap_of(const IncidentRow& row);
std::size_t heap_of(const MetricsDay& row);

// Everything the vectors of rows hold: their buffers and each row's heap.
std::size_t heap_of(const ServiceHistory& history);
std::size_t heap_of(const DerivedService& derived);
std::size_t heap_of(const std::vector<MetricsDay>& metrics);

}  // namespace fourkeys::worker::memory

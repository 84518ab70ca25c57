// The service cache's byte accounting against what the heap really holds,
// and its eviction. This binary counts every allocation (operator new below),
// which is why these tests live apart from the other worker tests.

#include "worker/daily_metrics.h"
#include "worker/history_batches_for_tests.h"
#include "worker/linker.h"
#include "worker/memory_estimate.h"
#include "worker/service_cache.h"

#include <catch2/catch.hpp>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

// What the program holds through operator new, each allocation counted as
// memory::allocation() of its size (glibc's chunk; the test below checks
// that model against glibc). Counted from the requested size rather than
// malloc_usable_size so the count is the same under the sanitizers, whose
// malloc rounds differently.
std::atomic<long long> g_live_bytes{0};

long long live_bytes() { return g_live_bytes.load(); }

// Each block starts with its requested size, for operator delete.
constexpr std::size_t kHeader = alignof(std::max_align_t);

}  // namespace

void* operator new(std::size_t n) {
  void* block = std::malloc(n + kHeader);
  if (!block) throw std::bad_alloc();
  *static_cast<std::size_t*>(block) = n;
  g_live_bytes += static_cast<long long>(fourkeys::worker::memory::allocation(n));
  return static_cast<char*>(block) + kHeader;
}

void operator delete(void* p) noexcept {
  if (!p) return;
  void* block = static_cast<char*>(p) - kHeader;
  g_live_bytes -= static_cast<long long>(fourkeys::worker::memory::allocation(*static_cast<std::size_t*>(block)));
  std::free(block);
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

// Every other form goes through the two above, so that each block carries
// the header: the sanitizers' runtime defines these forms on its own (Catch
// allocates its test cases with the nothrow one), and a block from it would
// reach operator delete above without one.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return operator new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }

using namespace fourkeys::worker;

namespace {

// One service's history in batches, in the order it happened, with texts
// long enough to be on the heap. Linking forward extends most batches.
std::vector<ServiceHistory> batches(std::uint32_t seed, int steps) {
  testing::HistoryShape shape;
  shape.steps = steps;
  shape.most_commits_per_push = 5;
  shape.deploy_percent = 70;
  shape.staging_percent = 100;
  shape.rollback_percent = 10;
  shape.hotfix_percent = 0;
  shape.incident_percent = 30;
  shape.resolved_percent = 100;
  shape.heap_texts = true;
  return testing::history_batches(seed, shape);
}

ServiceHistory whole(const std::vector<ServiceHistory>& parts) {
  ServiceHistory h;
  h.service = "svc";
  for (const auto& p : parts) testing::append_rows(h, p);
  return h;
}

// A state as the materializer makes it from a history read whole.
std::unique_ptr<ServiceState> derived_state(const ServiceHistory& history) {
  auto state = std::make_unique<ServiceState>();
  state->linker = std::make_unique<ServiceLinker>(LinkSettings{});
  state->history = history;
  state->derived = state->linker->derive(state->history);
  state->metrics = daily_metrics(state->derived);
  state->forget_change_rows();
  return state;
}

// Links `state` forward by `rows` as the materializer does: extend, or
// derive the whole history again when extend declines.
bool link_forward(ServiceState& state, const ServiceHistory& rows) {
  testing::append_rows(state.history, rows);
  LinkChanges changes;
  const bool extended = state.linker->extend(state.history, rows, state.derived, changes);
  if (!extended) state.derived = state.linker->derive(state.history);
  state.derived.deployment_changes = state.linker->change_rows();
  state.metrics = daily_metrics(state.derived);
  state.forget_change_rows();
  return extended;
}

// The estimate against the heap really held: within 10 %, either way.
void check_estimate(std::size_t estimate, long long measured) {
  INFO("estimated " << estimate << " bytes, measured " << measured);
  CHECK(static_cast<double>(estimate) >= 0.9 * static_cast<double>(measured));
  CHECK(static_cast<double>(estimate) <= 1.1 * static_cast<double>(measured));
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define FOURKEYS_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FOURKEYS_OWN_MALLOC 1
#endif
#endif

TEST_CASE("memory::allocation is the chunk glibc's malloc takes for a request", "[memory]") {
#ifdef FOURKEYS_OWN_MALLOC
  WARN("the sanitizer's malloc is not glibc's; nothing to compare");
#else
  for (std::size_t n : {1, 8, 24, 25, 40, 41, 100, 1000, 4000, 100000}) {
    void* p = std::malloc(n);
    INFO(n << " bytes");
    CHECK(malloc_usable_size(p) + 8 == memory::allocation(n));
    std::free(p);
  }
#endif
}

TEST_CASE("a state's estimated bytes are what it holds on the heap, derived whole", "[cache][memory]") {
  for (int steps : {1, 20, 400}) {
    INFO(steps << " steps");
    const ServiceHistory history = whole(batches(3, steps));
    const long long before = live_bytes();
    auto state = derived_state(history);
    const long long held = live_bytes() - before;
    check_estimate(state->bytes(), held);
  }
}

TEST_CASE("a state's estimated bytes stay what it holds while it is linked forward", "[cache][memory]") {
  const auto parts = batches(5, 300);
  const long long before = live_bytes();
  auto state = derived_state(whole({}));
  int extended = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (link_forward(*state, parts[i])) ++extended;
    if (i % 50 == 49) {
      const long long held = live_bytes() - before;
      INFO("batch " << i);
      check_estimate(state->bytes(), held);
    }
  }
  const long long held = live_bytes() - before;
  CHECK(extended > 200);  // the linker's own accounting was exercised, not only derive()
  check_estimate(state->bytes(), held);
}

TEST_CASE("the service cache gives a state back once and keeps to its byte budget", "[cache]") {
  auto state = [](std::size_t changes) {
    auto s = std::make_unique<ServiceState>();
    s->history.changes.resize(changes);
    return s;
  };
  const std::size_t one = state(4)->bytes();
  ServiceCache cache(2 * one + one / 2);
  cache.put("a", state(4));
  cache.put("b", state(4));
  CHECK(cache.bytes() == 2 * one);
  CHECK(cache.size_hint("a") == one);
  CHECK(cache.take("a") != nullptr);
  CHECK(cache.take("a") == nullptr);  // taken: a failed batch cannot leave it behind
  CHECK(cache.bytes() == one);
  cache.put("a", state(4));
  cache.put("c", state(4));  // over budget: the least recently used (b) goes
  CHECK(cache.services() == 2);
  CHECK(cache.take("b") == nullptr);
  CHECK(cache.size_hint("b") == one);  // forgotten, but its size is known
  CHECK(cache.take("c") != nullptr);
  cache.put("huge", state(50));  // larger than the budget alone: not kept, the others stay
  CHECK(cache.services() == 1);
  CHECK(cache.take("huge") == nullptr);
  CHECK(cache.size_hint("huge") > cache.budget());
  CHECK(cache.take("a") != nullptr);
  CHECK(cache.bytes() == 0);
  CHECK(cache.size_hint("never") == 0);
  // Room for states still being made: the oldest go first, and only as
  // many as needed.
  cache.put("a", state(4));
  cache.put("b", state(4));
  cache.make_room(one / 2);
  CHECK(cache.services() == 2);
  cache.make_room(one);
  CHECK(cache.services() == 1);
  CHECK(cache.take("a") == nullptr);
  CHECK(cache.take("b") != nullptr);
}

TEST_CASE("what the cache holds on the heap stays within its budget", "[cache][memory]") {
  constexpr std::size_t kBudget = 2 << 20;
  std::vector<std::vector<ServiceHistory>> services;
  for (std::uint32_t s = 0; s < 12; ++s) services.push_back(batches(100 + s, 150));
  const long long before = live_bytes();
  {
    ServiceCache cache(kBudget);
    long long most = 0;
    std::size_t most_accounted = 0;
    // Every service keeps growing, so what was kept must keep being
    // forgotten to stay within the budget.
    for (std::size_t round = 0; round < 6; ++round) {
      for (std::size_t s = 0; s < services.size(); ++s) {
        std::unique_ptr<ServiceState> state;
        {
          const std::vector<ServiceHistory> upto(services[s].begin(),
                                                 services[s].begin() + static_cast<std::ptrdiff_t>(25 * (round + 1)));
          state = derived_state(whole(upto));
        }
        cache.put("svc-" + std::to_string(s), std::move(state));
        most = std::max(most, live_bytes() - before);
        most_accounted = std::max(most_accounted, cache.bytes());
      }
    }
    CHECK(most_accounted <= kBudget);
    CHECK(cache.services() < services.size());  // something was forgotten
    // The cache's own books (its maps and list) come on top of the states.
    INFO("most held " << most);
    CHECK(most <= static_cast<long long>(kBudget + kBudget / 10));
    CHECK(most > static_cast<long long>(kBudget / 2));  // the budget was what bounded it
  }
}

TEST_CASE("services forgotten and derived again give what deriving the whole history gives", "[cache][extend]") {
  // Five services that each grow by a batch per round, with room for about
  // two: most rounds take some states from the cache and derive others.
  std::vector<std::vector<ServiceHistory>> services;
  for (std::uint32_t s = 0; s < 5; ++s) services.push_back(batches(200 + s, 60));
  std::size_t rounds = 0;
  for (const auto& parts : services) rounds = std::max(rounds, parts.size());
  const std::size_t budget = 2 * derived_state(whole(services[0]))->bytes();
  ServiceCache cache(budget);
  std::vector<ServiceHistory> histories(services.size());
  int remembered = 0, forgotten = 0;
  std::mt19937 rng(9);
  for (std::size_t round = 0; round < rounds; ++round) {
    std::vector<std::size_t> order(services.size());
    for (std::size_t s = 0; s < order.size(); ++s) order[s] = s;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t s : order) {
      if (round >= services[s].size()) continue;
      const std::string name = "svc-" + std::to_string(s);
      const ServiceHistory& rows = services[s][round];
      testing::append_rows(histories[s], rows);
      histories[s].service = "svc";
      std::unique_ptr<ServiceState> state = cache.take(name);
      if (state) {
        ++remembered;
        link_forward(*state, rows);
      } else {
        ++forgotten;
        state = derived_state(histories[s]);  // read whole, as from Postgres
      }
      const DerivedService expected = derive_service(histories[s], LinkSettings{});
      INFO(name << " round " << round);
      REQUIRE(state->derived.deployments == expected.deployments);
      REQUIRE(state->derived.deployment_changes.empty());
      REQUIRE(state->linker->change_rows() == expected.deployment_changes);
      REQUIRE(state->derived.incidents == expected.incidents);
      REQUIRE(state->metrics == daily_metrics(expected));
      cache.put(name, std::move(state));
    }
  }
  CHECK(remembered > 50);
  CHECK(forgotten > 50);
}

// Hidden by default: ./worker_cache_test "[.size]". Bytes per commit of a
// state, by part, on the shape of history the memory tests use.
TEST_CASE("state size per commit, by part", "[.size]") {
  const ServiceHistory history = whole(batches(3, 400));
  auto state = derived_state(history);
  const double commits = static_cast<double>(history.changes.size());
  const auto per_commit = [&](std::size_t bytes) { return static_cast<double>(bytes) / commits; };
  WARN("commits " << history.changes.size() << ", bytes per commit: whole state "
                  << per_commit(state->bytes()) << ", history " << per_commit(memory::heap_of(state->history))
                  << ", derived rows " << per_commit(memory::heap_of(state->derived)) << ", metric rows "
                  << per_commit(memory::heap_of(state->metrics)) << ", linking state "
                  << per_commit(state->linker->memory_bytes()));
  CHECK(state->bytes() > 0);
}

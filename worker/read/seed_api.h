// The seed service's two metric endpoints, answered from the metric tables:
//   GET /metrics/dora/{service}?days=30
//   GET /metrics/change-failure-rate?service=&days=30
// Same JSON keys, nesting, units, rounding (Python's round(x, 2)), nulls,
// rating thresholds and FastAPI 422 bodies as the seed. Where the numbers go
// further than the seed's (lead time per change, incident-linked failures,
// rollbacks of a commit deployed before bringing no new change), worker/README.md
// says so.
#pragma once

#include "common/http_server.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

struct SeedQuery {
  std::string service;
  std::int64_t days = 30;
};

// `path_service` is the percent-encoded rest of the path after
// /metrics/dora/ (service names with '/' are allowed, unlike the seed's
// route). A parse error is FastAPI's 422 (or 404 for an empty service).
std::variant<SeedQuery, http::Response> parse_seed_dora_request(std::string_view path_service,
                                                                std::string_view query);
std::variant<SeedQuery, http::Response> parse_seed_cfr_request(std::string_view query);

// What both endpoints are computed from, over the last `days` × 24 h, in
// environment 'production' (incidents of every environment, as the seed).
struct SeedFigures {
  std::int64_t deployments = 0;         // successful
  std::int64_t failed_deployments = 0;  // rollback, hotfix or caused an incident
  std::optional<double> lead_time_mean_seconds;
  std::optional<double> lead_time_median_seconds;
  std::optional<double> restore_mean_minutes;
};

// One read-only snapshot; `with_times` false skips lead and restore times.
SeedFigures read_seed_figures(pqxx::connection_base& connection, const SeedQuery& query, bool with_times);

std::string render_seed_dora(const SeedQuery& query, const SeedFigures& figures);
std::string render_seed_cfr(const SeedQuery& query, const SeedFigures& figures);

}  // namespace fourkeys::worker

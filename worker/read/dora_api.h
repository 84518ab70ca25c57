// GET /api/v1/*: the full DORA read API, from the metric tables
// (deployment_attempts, deployment_changes, incidents, metrics_daily; never
// events_raw). Request parsing and rendering are pure; the read functions
// take one read-only snapshot each. Contract: worker/read/openapi.json.
#pragma once

#include "common/http_server.h"
#include "common/time.h"
#include "worker/read/ratings.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pqxx {
class connection_base;
}

namespace fourkeys::worker {

// The selection every /api/v1 endpoint takes.
struct ApiSelection {
  std::optional<std::string> service;  // nullopt: every service
  std::optional<std::string> team;     // only the team's services (service_teams)
  std::string environment = "production";
  EpochMillis from = 0;  // inclusive
  EpochMillis to = 0;    // exclusive
  RatingProfile profile = RatingProfile::seed;
  int limit = 100;  // deployments and incidents lists
};

// Parameters: service, team, environment, from / to (YYYY-MM-DD, a whole UTC day:
// `to` includes its day; or RFC 3339), days (instead of from; 1..3660),
// profile (seed | dora-2023), limit (1..1000). Defaults: to = now,
// from = to - 30 days. A bad value is 400 naming the field.
std::variant<ApiSelection, http::Response> parse_api_selection(std::string_view query, EpochMillis now);

// The answers' JSON texts; each reads one snapshot.
std::string read_dora(pqxx::connection_base& connection, const ApiSelection& selection);
std::string read_services(pqxx::connection_base& connection);
std::string read_deployments(pqxx::connection_base& connection, const ApiSelection& selection);
std::string read_incidents(pqxx::connection_base& connection, const ApiSelection& selection);

// Four Keys' deployment frequency category over days with their deployment
// counts (oldest first), in whole weeks and 30-day months counted back from
// the latest day: "daily" when the median week has deployments on 3 or more
// days, "weekly" when the median week has one, "monthly" when the median
// month has one, "yearly" otherwise.
std::string_view deployment_frequency_category(const std::vector<std::int64_t>& deployments_per_day);

}  // namespace fourkeys::worker

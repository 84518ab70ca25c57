// The PagerDuty REST API as fourkeys-backfill speaks it: the `GET /incidents`
// query, its pages, the retry policy for 429 and 5xx answers, and the time
// range arguments. Pure functions (no I/O, no clock), unit-tested on JSON
// shaped like PagerDuty's documented answers.
#pragma once

#include "common/time.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fourkeys::backfill {

// The incident states the API filters on (`statuses[]`).
inline const std::vector<std::string> kIncidentStatuses = {"resolved", "acknowledged", "triggered"};

// PagerDuty answers `since`/`until` ranges of at most six months; longer
// ranges are asked for in windows of this length.
constexpr EpochMillis kMaxWindowMillis = 180LL * 86'400'000;

// Classic offset paging stops at offset + limit = 10,000; a window that holds
// more is split in two and each half asked for again.
constexpr std::int64_t kMaxOffsetPlusLimit = 10'000;

struct TimeWindow {
  EpochMillis since = 0;  // inclusive
  EpochMillis until = 0;  // exclusive
};

// `--since` / `--until`: RFC 3339 (a time without a zone is UTC) or
// YYYY-MM-DD. A date as `until` means the end of that UTC day, so
// `--since 2024-01-01 --until 2024-01-31` covers all of January.
std::optional<EpochMillis> parse_range_argument(std::string_view text, bool is_until);

// [since, until) cut into consecutive windows of at most `max_window`.
std::vector<TimeWindow> split_windows(EpochMillis since, EpochMillis until,
                                      EpochMillis max_window = kMaxWindowMillis);

// Splits "resolved, acknowledged" on commas; nullopt with `error` naming the
// first word that is not a PagerDuty incident status.
std::optional<std::vector<std::string>> parse_statuses(std::string_view text, std::string& error);

struct IncidentQuery {
  std::vector<std::string> service_ids;  // empty: every service the token sees
  std::vector<std::string> statuses;
  TimeWindow window;
  std::int64_t offset = 0;
  std::int64_t limit = 100;
};

// The request target for `query` under `base_path` (the --api-url path, "" or
// "/prefix"): `<base_path>/incidents?since=...&until=...&service_ids[]=...
// &statuses[]=...&time_zone=UTC&sort_by=created_at:asc&offset=...&limit=...`,
// percent-encoded. The sort keeps offset paging stable while new incidents
// are created during the run.
std::string incidents_target(std::string_view base_path, const IncidentQuery& query);

// Headers every API request carries. The token goes only here.
std::vector<std::pair<std::string, std::string>> api_headers(const std::string& token);

struct IncidentPage {
  std::vector<boost::json::object> incidents;
  bool more = false;
  std::int64_t offset = 0;
  std::int64_t limit = 0;
};

// Reads a `GET /incidents` answer: `{"incidents": [...], "limit", "offset",
// "more", "total"}`. nullopt with `error` when the body is not JSON, has no
// `incidents` array, or an entry is not an object. A missing `more` counts as
// the last page.
std::optional<IncidentPage> parse_incident_page(std::string_view body, std::string& error);

// The incident's `id` (a string; a number is written in decimal), or empty.
std::string incident_id(const boost::json::object& incident);

// The incident's `created_at`, when it is a time.
std::optional<EpochMillis> time_member(const boost::json::object& object, std::string_view key);

// PagerDuty's error answer `{"error": {"message", "code", "errors": [...]}}`
// as one line for logs; the body's first 200 bytes when it is not that.
std::string describe_error_body(std::string_view body);

struct RetryPolicy {
  std::chrono::milliseconds base{1000};  // first exponential backoff
  std::chrono::milliseconds cap{60000};  // longest exponential backoff
  // Longest wait a server's Retry-After / ratelimit-reset may ask for.
  std::chrono::milliseconds header_cap{std::chrono::minutes(15)};
  int max_attempts = 8;  // requests per page, the first included
};

// How long to wait before attempt `attempt + 1` after attempt `attempt`
// (1-based) answered `status` (0: no answer, a network or TLS error).
// nullopt: do not retry (a success, a 4xx other than 429, or the attempts
// are used up). 429 and 5xx follow `Retry-After` (seconds or an HTTP date,
// measured from `now`), then `ratelimit-reset` (seconds), else back off
// exponentially from `policy.base`.
using HeaderLookup = std::vector<std::pair<std::string, std::string>>;
std::optional<std::chrono::milliseconds> retry_delay(int status, const HeaderLookup& headers, int attempt,
                                                     const RetryPolicy& policy, EpochMillis now);

// The first value of header `name` (case-insensitive), or empty.
std::string header_value(const HeaderLookup& headers, std::string_view name);

}  // namespace fourkeys::backfill

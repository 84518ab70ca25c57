// fourkeys-backfill's run: walk PagerDuty's incident pages over a time range
// (with retries), map each incident to envelopes, and publish them on the
// events topic as the receiver does, or print them (--dry-run).
#pragma once

#include "common/kafka_producer.h"
#include "tools/backfill/http_get.h"
#include "tools/backfill/incident_mapping.h"
#include "tools/backfill/pagerduty_api.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

namespace fourkeys::backfill {

struct WalkSettings {
  std::string base_path;  // the API URL's path ("" for https://api.pagerduty.com)
  std::string token;
  std::vector<std::string> service_ids;
  std::vector<std::string> statuses = kIncidentStatuses;
  EpochMillis since = 0;
  EpochMillis until = 0;
  std::int64_t page_size = 100;  // PagerDuty's largest
  RetryPolicy retry;
};

struct WalkStats {
  std::uint64_t pages = 0;
  std::uint64_t retries = 0;
  std::uint64_t incidents = 0;  // distinct incidents handed on
};

// Pages through `GET /incidents` for every window of the range. The fetch,
// sleep and clock are parameters so that tests can drive the paging and the
// retries without a network or real waits.
class IncidentWalker {
 public:
  using Fetch = std::function<HttpAnswer(const std::string& target,
                                         const std::vector<std::pair<std::string, std::string>>& headers)>;
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  using Clock = std::function<EpochMillis()>;

  IncidentWalker(WalkSettings settings, Fetch fetch, Sleep sleep, Clock clock);

  // Calls `on_incident` once per incident id (an incident met again in a
  // later window or page is skipped). False with `error` when a page could
  // not be had after the retries or was not a page of incidents; the
  // incidents handed on before stay handed on.
  bool run(const std::function<void(const boost::json::object&)>& on_incident, std::string& error);

  const WalkStats& stats() const { return stats_; }

 private:
  bool walk_window(TimeWindow window, const std::function<void(const boost::json::object&)>& on_incident,
                   std::string& error);
  bool fetch_page(const IncidentQuery& query, IncidentPage& page, std::string& error);

  WalkSettings settings_;
  Fetch fetch_;
  Sleep sleep_;
  Clock clock_;
  WalkStats stats_;
  std::set<std::string> seen_;
};

struct RunSettings {
  WalkSettings walk;
  Endpoint endpoint;
  std::chrono::milliseconds http_timeout{30000};
  bool dry_run = false;
  std::string topic = "fourkeys.events.v1";
  ProducerSettings producer;
};

// The whole program after its settings are read: 0 when every incident was
// fetched and every envelope acknowledged by Kafka (or printed); 1 otherwise.
// Progress and problems are log lines on stderr; --dry-run envelopes are JSON
// lines on `out`.
int run_backfill(const RunSettings& settings, std::ostream& out);

}  // namespace fourkeys::backfill

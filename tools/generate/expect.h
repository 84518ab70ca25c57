// What GET /api/v1/dora must answer for a generated history, per service and
// environment, worked out from the history itself (never by asking the
// pipeline): counts from the simulation's own bookkeeping, percentiles as
// Postgres' percentile_cont, percents as Python's round(x, 2).
#pragma once

#include "tools/generate/history.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fourkeys::generate {

struct Distribution {
  std::int64_t sample_size = 0;
  std::optional<double> median, p90, p95, mean, min, max;
};

struct DayExpectation {
  std::int64_t day = 0;  // days since 1970-01-01
  std::int64_t deployments = 0, failed = 0, rework = 0, unsuccessful = 0, changes = 0, opened = 0, resolved = 0;
  std::optional<double> lead_median, restore_median;
};

struct Expectation {
  std::string service;
  std::string environment;
  Millis from = 0, to = 0;
  std::int64_t deployments = 0, unsuccessful = 0, failed = 0, rollbacks = 0, hotfixes = 0, incident_linked = 0,
               rework = 0;
  Distribution lead_time;
  std::int64_t incidents = 0, open_incidents = 0;
  Distribution restore;
  std::vector<DayExpectation> daily;
};

// One per service and environment that has a deployment attempt or an
// incident, in the history's service order, production first.
std::vector<Expectation> expectations(const History& history);

// The JSON --expect prints: the window, and per expectation the request to
// make and, under "dora", the fields of /api/v1/dora's answer it pins down.
std::string expectations_json(const History& history, const std::vector<Expectation>& all);

// Postgres' percentile_cont over `values` (sorted here); nullopt when empty.
std::optional<double> percentile_cont(std::vector<double> values, double p);
// Python's round(x, 2).
double python_round2(double value);
// Python's repr of a float, which the read side writes too.
std::string python_float_text(double value);
// `from`/`to` as /api/v1/dora takes them, percent-encoding the service.
std::string dora_request(const Expectation& e);

}  // namespace fourkeys::generate

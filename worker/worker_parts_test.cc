// The worker's small pure parts: metrics_daily rows, percentiles, COPY text,
// array literals and the service cache's budget.

#include "worker/daily_metrics.h"
#include "worker/pg_text.h"

#include "common/time.h"

#include <catch2/catch.hpp>

using namespace fourkeys;
using namespace fourkeys::worker;

namespace {

Millis at(const char* text) { return parse_time(text)->millis; }

DeploymentRow deployment(const char* id, const char* env, const char* time, const char* status = "success") {
  DeploymentRow d;
  d.deploy_id = id;
  d.environment = env;
  d.deployed_at = at(time);
  d.status = status;
  return d;
}

DeploymentChangeRow change(const char* deploy, const char* env, const char* deployed, double lead) {
  DeploymentChangeRow c;
  c.deploy_id = deploy;
  c.environment = env;
  c.change_id = std::string(deploy) + "-" + std::to_string(lead);
  c.deployed_at = at(deployed);
  c.lead_time_seconds = lead;
  return c;
}

}  // namespace

TEST_CASE("percentile_cont interpolates between ranks as Postgres does", "[metrics]") {
  std::vector<double> empty;
  CHECK_FALSE(percentile_cont(empty, 0.5));
  std::vector<double> one{7};
  CHECK(*percentile_cont(one, 0.9) == 7);
  std::vector<double> four{40, 10, 30, 20};
  CHECK(*percentile_cont(four, 0.5) == Approx(25));
  CHECK(*percentile_cont(four, 0.9) == Approx(37));  // 30 + 0.7 * (40 - 30)
}

TEST_CASE("metrics_daily rows per environment and UTC day", "[metrics]") {
  DerivedService d;
  d.deployments = {deployment("a", "production", "2026-03-01T23:30:00Z"),
                   deployment("b", "production", "2026-03-02T00:30:00Z"),
                   deployment("c", "production", "2026-03-02T10:00:00Z", "failure"),
                   deployment("s", "staging", "2026-03-02T09:00:00Z")};
  d.deployments[1].rollback_detected = true;
  d.deployments[0].caused_incident = true;
  d.deployment_changes = {change("a", "production", "2026-03-01T23:30:00Z", 3600),
                          change("a", "production", "2026-03-01T23:30:00Z", 7200),
                          change("b", "production", "2026-03-02T00:30:00Z", -5)};
  IncidentRow open, resolved;
  open.environment = resolved.environment = "production";
  open.source = resolved.source = "pagerduty";
  open.incident_id = "1";
  resolved.incident_id = "2";
  open.time_created = at("2026-03-02T01:00:00Z");
  resolved.time_created = at("2026-03-02T02:00:00Z");
  resolved.time_resolved = at("2026-03-02T02:30:00Z");
  d.incidents = {open, resolved};

  const auto days = daily_metrics(d);
  REQUIRE(days.size() == 3);
  const MetricsDay& first = days[0];
  CHECK(first.environment == "production");
  CHECK(first.day == "2026-03-01");
  CHECK(first.deployments == 1);
  CHECK(first.failed_deployments == 1);  // caused an incident
  CHECK(first.rework_deployments == 0);
  CHECK(first.changes_deployed == 2);
  CHECK(first.lead_time_count == 2);
  CHECK(*first.lead_time_median_seconds == Approx(5400));
  const MetricsDay& second = days[1];
  CHECK(second.day == "2026-03-02");
  CHECK(second.deployments == 1);
  CHECK(second.rollbacks == 1);
  CHECK(second.rework_deployments == 1);
  CHECK(second.unsuccessful_attempts == 1);
  CHECK(second.negative_lead_times == 1);
  CHECK(second.lead_time_count == 0);
  CHECK_FALSE(second.lead_time_median_seconds);
  CHECK(second.incidents_opened == 2);
  CHECK(second.incidents_resolved == 1);
  CHECK(*second.restore_median_seconds == Approx(1800));
  CHECK(days[2].environment == "staging");
  CHECK(days[2].deployments == 1);
}

TEST_CASE("COPY text escapes what COPY reads specially and writes NULL for empty", "[pg]") {
  CopyRows rows;
  rows.text("a\tb\\c\nd\re").text_or_null("").integer(-3).boolean(true).time(at("2026-01-02T03:04:05.678Z"));
  rows.end_row();
  rows.text_array({"x", "y\"z", "w\\v"}).null().time(std::optional<Millis>());
  rows.end_row();
  CHECK(rows.rows() == 2);
  CHECK(rows.data() ==
        "a\\tb\\\\c\\nd\\re\t\\N\t-3\tt\t2026-01-02T03:04:05.678Z\n"
        "{\"x\",\"y\\\\\"z\",\"w\\\\\\\\v\"}\t\\N\t\\N\n");
}

TEST_CASE("COPY times and reals are written as format_time and as round-tripping doubles", "[pg]") {
  // Before the epoch, leap days, century rules, the last millisecond of a
  // day, and years outside 0000-9999 (written by format_time itself).
  std::vector<Millis> times{0, -1, 1, 951'782'400'000, 951'868'799'999, 4'107'542'400'000, -62'135'596'800'000,
                            253'402'300'799'999, 253'402'300'800'000, -62'167'219'200'001};
  for (Millis t = -5'000'000'000'000; t < 5'000'000'000'000; t += 7'777'777'777) times.push_back(t);
  for (Millis t : times) {
    CopyRows rows;
    rows.time(t);
    INFO(t);
    CHECK(rows.data() == format_time(t));
  }
  for (double v : {0.0, -0.5, 1e-300, 123456.789, 0.1 + 0.2, 86400.0 * 365}) {
    CopyRows rows;
    rows.real(v);
    CHECK(std::stod(rows.data()) == v);
  }
}

TEST_CASE("array literals round-trip through Postgres' text form", "[pg]") {
  const std::vector<std::string> values{"plain", "with,comma", "quote\"d", "back\\slash", ""};
  CHECK(parse_text_array(array_literal(values)) == values);
  CHECK(parse_text_array("{}").empty());
  CHECK(parse_text_array("{a,b}") == std::vector<std::string>{"a", "b"});
  CHECK_THROWS(parse_text_array("not an array"));
}

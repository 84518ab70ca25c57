// The worker's small pure parts: metrics_daily rows, percentiles, COPY text,
// array literals and the service cache's budget.

#include "worker/daily_metrics.h"
#include "worker/pg_copy.h"
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

TEST_CASE("binary COPY tuples: a field count, then each field's length and bytes, NULL as length -1", "[pg]") {
  using namespace std::string_literals;
  CopyRows rows;
  rows.int4(-2).null().text("a\tb").boolean(true);
  rows.end_row();
  rows.time(at("2000-01-01T00:00:00.001Z")).date("1999-12-31").text_or_null("");
  rows.end_row();
  CHECK(rows.rows() == 2);
  CHECK(rows.data() == "\0\4"s
                       "\0\0\0\4\xff\xff\xff\xfe"s   // int4 -2
                       "\xff\xff\xff\xff"s               // NULL
                       "\0\0\0\3a\tb"s                 // text, unescaped
                       "\0\0\0\1\1"s                   // true
                       "\0\3"s
                       "\0\0\0\x08\0\0\0\0\0\0\x03\xe8"s  // 1000 µs after 2000-01-01
                       "\0\0\0\4\xff\xff\xff\xff"s   // the day before 2000-01-01
                       "\xff\xff\xff\xff"s);             // empty text: NULL
  CHECK_THROWS_AS(CopyRows().date("2026-13-01"), std::invalid_argument);
  CHECK_THROWS_AS(CopyRows().date("2026-1-01"), std::invalid_argument);
}

TEST_CASE("array literals round-trip through Postgres' text form", "[pg]") {
  const std::vector<std::string> values{"plain", "with,comma", "quote\"d", "back\\slash", ""};
  CHECK(parse_text_array(array_literal(values)) == values);
  CHECK(parse_text_array("{}").empty());
  CHECK(parse_text_array("{a,b}") == std::vector<std::string>{"a", "b"});
  CHECK_THROWS(parse_text_array("not an array"));
}

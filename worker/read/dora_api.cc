#include "worker/read/dora_api.h"

#include "worker/daily_metrics.h"
#include "worker/pg_text.h"
#include "worker/read/json_writer.h"
#include "worker/read/query_params.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <vector>

namespace fourkeys::worker {

namespace {

constexpr EpochMillis kDay = 86'400'000;
using ReadTx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

http::Response bad_parameter(std::string_view field, std::string_view message) {
  JsonWriter w;
  w.begin_object().field("error", "Bad Request").field("field", field);
  w.field("message", std::string(field) + ": " + std::string(message)).end_object();
  http::Response r;
  r.status = 400;
  r.body = w.take();
  return r;
}

bool is_date_only(std::string_view text) {
  return text.size() == 10 && text[4] == '-' && text[7] == '-' &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
}

// A date is the start of its UTC day; `end_of_day` moves it to the next.
std::optional<EpochMillis> parse_instant(std::string_view text, bool end_of_day) {
  if (is_date_only(text)) {
    const auto t = parse_time(std::string(text) + "T00:00:00Z");
    if (!t) return std::nullopt;
    return t->millis + (end_of_day ? kDay : 0);
  }
  const auto t = parse_time(text);
  if (!t) return std::nullopt;
  return t->millis;
}

// The services the selection covers, as a text[] literal for `$1`, read in
// the caller's snapshot: NULL for every service, the one service asked for,
// or the services service_teams gives the team (empty when it has none, or
// when the service asked for is not the team's).
std::optional<std::string> service_param(ReadTx& tx, const ApiSelection& s) {
  if (!s.team) {
    if (!s.service) return std::nullopt;
    return array_literal({*s.service});
  }
  std::vector<std::string> services;
  for (const auto& row : tx.exec_params("SELECT service FROM service_teams WHERE team = $1 ORDER BY service", *s.team)) {
    std::string service = row[0].as<std::string>();
    if (!s.service || *s.service == service) services.push_back(std::move(service));
  }
  return array_literal(services);
}

// Milliseconds since the epoch of a timestamptz column, for format_time.
std::optional<EpochMillis> millis_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<EpochMillis>();
}

std::optional<double> double_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}

std::optional<std::string> text_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

void time_field(JsonWriter& w, std::string_view name, const std::optional<EpochMillis>& t) {
  if (t) w.field(name, format_time(*t)); else w.field(name, nullptr);
}

std::optional<double> percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return python_round2(static_cast<double>(part) / static_cast<double>(whole) * 100);
}

template <typename Rate>
void rating_field(JsonWriter& w, const std::optional<double>& value, Rate rate, RatingProfile profile) {
  if (value) w.field("rating", rate(*value, profile)); else w.field("rating", nullptr);
}

std::optional<double> scaled(const std::optional<double>& v, double divisor) {
  if (!v) return std::nullopt;
  return *v / divisor;
}

// The selection's filter, on a table with service, environment and the
// given time column. `$1` the services (text[], NULL for all), `$2` environment, `$3`
// and `$4` the window in ms. Unnamed statements are planned with their
// values, so `$1 IS NULL` folds away and the window index is used.
std::string where_window(std::string_view alias, std::string_view time_column) {
  const std::string a(alias);
  return " WHERE ($1::text[] IS NULL OR " + a + ".service = ANY($1::text[])) AND " + a + ".environment = $2 AND " + a + "." +
         std::string(time_column) + " >= to_timestamp($3::bigint / 1000.0) AND " + a + "." +
         std::string(time_column) + " < to_timestamp($4::bigint / 1000.0) ";
}

// The lead times of the deployments `c` (deployment_change_sets, the table
// under the deployment_changes view), one row `l` each: only the array the
// query reads is unpacked, not the shas and commit times the view unpacks too.
constexpr const char* kLeadTimes =
    "deployment_change_sets c CROSS JOIN LATERAL unnest(c.lead_times_seconds) AS l(lead_time_seconds)";

constexpr const char* kMillis = "(extract(epoch FROM %s) * 1000)::bigint";

std::string millis_sql(std::string_view column) {
  std::string out = kMillis;
  out.replace(out.find("%s"), 2, column);
  return out;
}

void write_distribution(JsonWriter& w, const pqxx::row& row, int first) {
  // count, p50, p90, p95, mean, min, max from `first` on.
  w.field("sample_size", row[first].as<std::int64_t>());
  w.field("median_seconds", double_of(row[first + 1]));
  w.field("p90_seconds", double_of(row[first + 2]));
  w.field("p95_seconds", double_of(row[first + 3]));
  w.field("mean_seconds", double_of(row[first + 4]));
  w.field("min_seconds", double_of(row[first + 5]));
  w.field("max_seconds", double_of(row[first + 6]));
}

std::string distribution_sql(const std::string& value, const std::string& filter) {
  const std::string f = " FILTER (WHERE " + filter + ")";
  return "count(*)" + f + ", percentile_cont(0.5) WITHIN GROUP (ORDER BY " + value + ")" + f +
         ", percentile_cont(0.9) WITHIN GROUP (ORDER BY " + value + ")" + f +
         ", percentile_cont(0.95) WITHIN GROUP (ORDER BY " + value + ")" + f + ", avg(" + value + ")" + f +
         ", min(" + value + ")" + f + ", max(" + value + ")" + f;
}

std::int64_t day_number(EpochMillis t) { return t >= 0 ? t / kDay : -((-t + kDay - 1) / kDay); }

}  // namespace

std::variant<ApiSelection, http::Response> parse_api_selection(std::string_view query, EpochMillis now) {
  const QueryParams params(query);
  ApiSelection s;
  if (auto v = params.get("service"); v && !v->empty()) s.service = *v;
  if (auto v = params.get("team"); v && !v->empty()) s.team = *v;
  if (auto v = params.get("environment")) {
    if (v->empty()) return bad_parameter("environment", "must not be empty");
    s.environment = *v;
  }
  if (auto v = params.get("profile")) {
    const auto p = parse_rating_profile(*v);
    if (!p) return bad_parameter("profile", "expected 'seed' or 'dora-2023'");
    s.profile = *p;
  }
  if (auto v = params.get("limit")) {
    const auto n = parse_python_int(*v);
    if (!n || *n < 1 || *n > 1000) return bad_parameter("limit", "expected an integer from 1 to 1000");
    s.limit = static_cast<int>(*n);
  }
  s.to = now;
  if (auto v = params.get("to")) {
    const auto t = parse_instant(*v, /*end_of_day=*/true);
    if (!t) return bad_parameter("to", "expected a date (YYYY-MM-DD) or an RFC 3339 time");
    s.to = *t;
  }
  std::int64_t days = 30;
  const auto days_text = params.get("days");
  const auto from_text = params.get("from");
  if (days_text && from_text) return bad_parameter("days", "give either days or from, not both");
  if (days_text) {
    const auto n = parse_python_int(*days_text);
    if (!n || *n < 1 || *n > 3660) return bad_parameter("days", "expected an integer from 1 to 3660");
    days = *n;
  }
  s.from = s.to - days * kDay;
  if (from_text) {
    const auto t = parse_instant(*from_text, /*end_of_day=*/false);
    if (!t) return bad_parameter("from", "expected a date (YYYY-MM-DD) or an RFC 3339 time");
    s.from = *t;
  }
  if (s.from >= s.to) return bad_parameter("from", "must be before to");
  if (s.to - s.from > 3660 * kDay) return bad_parameter("from", "the range may span at most 3660 days");
  return s;
}

std::string_view deployment_frequency_category(const std::vector<std::int64_t>& per_day) {
  // Whole chunks counted back from the latest day; a window shorter than
  // one chunk is one chunk.
  auto median_of_chunks = [&](std::size_t chunk, auto value_of) {
    std::vector<double> values;
    std::size_t end = per_day.size();
    while (end >= chunk) {
      values.push_back(value_of(end - chunk, end));
      end -= chunk;
    }
    if (values.empty() && !per_day.empty()) values.push_back(value_of(0, per_day.size()));
    return percentile_cont(values, 0.5).value_or(0);
  };
  auto days_with = [&](std::size_t a, std::size_t b) {
    return static_cast<double>(std::count_if(per_day.begin() + static_cast<std::ptrdiff_t>(a),
                                             per_day.begin() + static_cast<std::ptrdiff_t>(b),
                                             [](std::int64_t n) { return n > 0; }));
  };
  auto any_in = [&](std::size_t a, std::size_t b) { return days_with(a, b) > 0 ? 1.0 : 0.0; };
  if (median_of_chunks(7, days_with) >= 3) return "daily";
  if (median_of_chunks(7, any_in) >= 1) return "weekly";
  if (median_of_chunks(30, any_in) >= 1) return "monthly";
  return "yearly";
}

std::string read_dora(pqxx::connection_base& connection, const ApiSelection& s) {
  ReadTx tx(connection);
  const auto service = service_param(tx, s);
  // One service: its metrics_daily rows' medians are the day's medians.
  const bool one_service = s.service.has_value();
  const auto deploys = tx.exec_params1(
      "SELECT count(*) FILTER (WHERE d.status = 'success'), "
      " count(*) FILTER (WHERE d.status = 'success' AND (d.is_rollback OR d.is_hotfix OR d.caused_incident)), "
      " count(*) FILTER (WHERE d.status = 'success' AND d.is_rollback), "
      " count(*) FILTER (WHERE d.status = 'success' AND d.is_hotfix), "
      " count(*) FILTER (WHERE d.status = 'success' AND d.caused_incident), "
      " count(*) FILTER (WHERE d.status = 'success' AND (d.is_rollback OR d.is_hotfix)), "
      " count(*) FILTER (WHERE d.status IN ('failure', 'error', 'cancelled')) "
      "FROM deployment_attempts d" + where_window("d", "time_created"),
      service, s.environment, s.from, s.to);
  const auto leads = tx.exec_params1(
      "SELECT " + distribution_sql("l.lead_time_seconds", "l.lead_time_seconds >= 0") +
          ", count(*) FILTER (WHERE l.lead_time_seconds < 0) FROM " + kLeadTimes +
          where_window("c", "deployed_at"),
      service, s.environment, s.from, s.to);
  const std::string restore = "date_part('epoch', i.time_resolved - i.time_created)";
  const auto restores = tx.exec_params1(
      "SELECT count(*), count(*) FILTER (WHERE i.time_resolved IS NULL), " +
          distribution_sql(restore, "i.time_resolved IS NOT NULL") + " FROM incidents i" +
          where_window("i", "time_created"),
      service, s.environment, s.from, s.to);

  // The daily series: every UTC day the window touches.
  const std::int64_t first_day = day_number(s.from);
  const std::int64_t last_day = day_number(s.to - 1);
  struct Day {
    std::int64_t deployments = 0, failed = 0, rework = 0, unsuccessful = 0, changes = 0, opened = 0, resolved = 0;
    std::optional<double> lead_median, restore_median;
  };
  std::vector<Day> days(static_cast<std::size_t>(last_day - first_day + 1));
  auto day_at = [&](std::int64_t n) -> Day* {
    if (n < first_day || n > last_day) return nullptr;
    return &days[static_cast<std::size_t>(n - first_day)];
  };
  for (const auto& row : tx.exec_params(
           "SELECT (m.day - date '1970-01-01')::bigint AS n, sum(m.deployments), sum(m.failed_deployments), "
           " sum(m.rework_deployments), sum(m.unsuccessful_attempts), sum(m.changes_deployed), "
           " sum(m.incidents_opened), sum(m.incidents_resolved), "
           " max(m.lead_time_median_seconds), max(m.restore_median_seconds) "
           "FROM metrics_daily m "
           "WHERE ($1::text[] IS NULL OR m.service = ANY($1::text[])) AND m.environment = $2 "
           "  AND m.day >= date '1970-01-01' + $3::integer AND m.day <= date '1970-01-01' + $4::integer "
           "GROUP BY m.day",
           service, s.environment, first_day, last_day)) {
    if (Day* d = day_at(row[0].as<std::int64_t>())) {
      d->deployments = row[1].as<std::int64_t>();
      d->failed = row[2].as<std::int64_t>();
      d->rework = row[3].as<std::int64_t>();
      d->unsuccessful = row[4].as<std::int64_t>();
      d->changes = row[5].as<std::int64_t>();
      d->opened = row[6].as<std::int64_t>();
      d->resolved = row[7].as<std::int64_t>();
      // One service: its row's medians are the day's (several services'
      // medians do not combine; they are computed below).
      if (one_service) {
        d->lead_median = double_of(row[8]);
        d->restore_median = double_of(row[9]);
      }
    }
  }
  if (!one_service) {
    for (const auto& row : tx.exec_params(
             "SELECT ((c.deployed_at AT TIME ZONE 'UTC')::date - date '1970-01-01')::bigint AS n, "
             " percentile_cont(0.5) WITHIN GROUP (ORDER BY l.lead_time_seconds) "
             "FROM " + std::string(kLeadTimes) +
             " WHERE ($1::text[] IS NULL OR c.service = ANY($1::text[])) AND c.environment = $2 AND l.lead_time_seconds >= 0 "
             "  AND c.deployed_at >= to_timestamp($3::bigint * 86400) AND c.deployed_at < to_timestamp(($4::bigint + 1) * 86400) "
             "GROUP BY 1",
             service, s.environment, first_day, last_day)) {
      if (Day* d = day_at(row[0].as<std::int64_t>())) d->lead_median = double_of(row[1]);
    }
    for (const auto& row : tx.exec_params(
             "SELECT ((i.time_created AT TIME ZONE 'UTC')::date - date '1970-01-01')::bigint AS n, "
             " percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', i.time_resolved - i.time_created)) "
             "FROM incidents i "
             "WHERE ($1::text[] IS NULL OR i.service = ANY($1::text[])) AND i.environment = $2 AND i.time_resolved IS NOT NULL "
             "  AND i.time_created >= to_timestamp($3::bigint * 86400) AND i.time_created < to_timestamp(($4::bigint + 1) * 86400) "
             "GROUP BY 1",
             service, s.environment, first_day, last_day)) {
      if (Day* d = day_at(row[0].as<std::int64_t>())) d->restore_median = double_of(row[1]);
    }
  }
  tx.commit();

  const double window_days = static_cast<double>(s.to - s.from) / static_cast<double>(kDay);
  const std::int64_t deployments = deploys[0].as<std::int64_t>();
  const std::int64_t failed = deploys[1].as<std::int64_t>();
  const std::int64_t rework = deploys[5].as<std::int64_t>();
  std::vector<std::int64_t> per_day;
  per_day.reserve(days.size());
  for (const Day& d : days) per_day.push_back(d.deployments);

  JsonWriter w;
  w.begin_object();
  w.field("service", s.service).field("team", s.team).field("environment", s.environment);
  w.field("from", format_time(s.from)).field("to", format_time(s.to)).field("days", window_days);
  w.field("profile", profile_name(s.profile));

  const double frequency = static_cast<double>(deployments) / window_days;
  w.key("deployment_frequency").begin_object();
  w.field("deployments", deployments).field("unsuccessful_attempts", deploys[6].as<std::int64_t>());
  w.field("per_day", frequency).field("per_week", frequency * 7);
  w.field("category", deployment_frequency_category(per_day));
  w.field("rating", rate_deployment_frequency(frequency, s.profile));
  w.end_object();

  w.key("lead_time").begin_object();
  write_distribution(w, leads, 0);
  w.field("negative_excluded", leads[7].as<std::int64_t>());
  rating_field(w, scaled(double_of(leads[1]), 3600), rate_lead_time, s.profile);
  w.end_object();

  const auto cfr = percent(failed, deployments);
  w.key("change_failure_rate").begin_object();
  w.field("deployments", deployments).field("failed_deployments", failed);
  w.field("rollbacks", deploys[2].as<std::int64_t>()).field("hotfixes", deploys[3].as<std::int64_t>());
  w.field("incident_linked", deploys[4].as<std::int64_t>());
  w.field("percent", cfr);
  rating_field(w, cfr, rate_change_failure_rate, s.profile);
  w.end_object();

  w.key("time_to_restore").begin_object();
  w.field("incidents", restores[0].as<std::int64_t>()).field("open_incidents", restores[1].as<std::int64_t>());
  write_distribution(w, restores, 2);
  rating_field(w, scaled(double_of(restores[3]), 60), rate_time_to_restore, s.profile);
  w.end_object();

  w.key("rework_rate").begin_object();
  w.field("deployments", deployments).field("rework_deployments", rework);
  w.field("percent", percent(rework, deployments));
  // DORA publishes no rework-rate clusters to rate against.
  w.field("rating", nullptr);
  w.end_object();

  w.key("daily").begin_array();
  for (std::size_t i = 0; i < days.size(); ++i) {
    const Day& d = days[i];
    w.begin_object();
    w.field("day", utc_day_text(first_day + static_cast<std::int64_t>(i)));
    w.field("deployments", d.deployments).field("failed_deployments", d.failed);
    w.field("rework_deployments", d.rework).field("unsuccessful_attempts", d.unsuccessful);
    w.field("changes_deployed", d.changes).field("lead_time_median_seconds", d.lead_median);
    w.field("incidents_opened", d.opened).field("incidents_resolved", d.resolved);
    w.field("restore_median_seconds", d.restore_median);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::string read_services(pqxx::connection_base& connection) {
  ReadTx tx(connection);
  const auto rows = tx.exec(
      "SELECT m.service, m.environment, sum(m.deployments), sum(m.incidents_opened), min(m.day)::text, "
      " max(m.day)::text, t.team "
      "FROM metrics_daily m LEFT JOIN service_teams t USING (service) "
      "GROUP BY m.service, m.environment, t.team ORDER BY m.service, m.environment");
  tx.commit();
  JsonWriter w;
  w.begin_object().key("services").begin_array();
  std::optional<std::string> current;
  for (const auto& row : rows) {
    const std::string service = row[0].as<std::string>();
    if (current != service) {
      if (current) w.end_array().end_object();
      current = service;
      w.begin_object().field("service", service).field("team", text_of(row[6])).key("environments").begin_array();
    }
    w.begin_object().field("environment", row[1].as<std::string>());
    w.field("deployments", row[2].as<std::int64_t>()).field("incidents", row[3].as<std::int64_t>());
    w.field("first_day", row[4].as<std::string>()).field("last_day", row[5].as<std::string>());
    w.end_object();
  }
  if (current) w.end_array().end_object();
  w.end_array().end_object();
  return w.take();
}

std::string read_deployments(pqxx::connection_base& connection, const ApiSelection& s) {
  ReadTx tx(connection);
  const auto rows = tx.exec_params(
      "SELECT d.service, d.environment, d.deploy_id, d.source, d.status, d.main_commit, " +
          millis_sql("d.time_created") + ", " + millis_sql("d.started_at") +
          ", d.is_rollback, d.rollback_detected, d.is_hotfix, d.caused_incident, d.change_count "
          "FROM deployment_attempts d" +
          where_window("d", "time_created") + "ORDER BY d.time_created DESC, d.service, d.deploy_id LIMIT $5",
      service_param(tx, s), s.environment, s.from, s.to, s.limit + 1);
  const bool truncated = rows.size() > static_cast<std::size_t>(s.limit);
  const std::size_t count = std::min(rows.size(), static_cast<std::size_t>(s.limit));
  std::vector<std::string> services, ids;
  for (std::size_t i = 0; i < count; ++i) {
    services.push_back(rows[static_cast<pqxx::result::size_type>(i)][0].as<std::string>());
    ids.push_back(rows[static_cast<pqxx::result::size_type>(i)][2].as<std::string>());
  }
  struct Change {
    std::string id;
    EpochMillis time;
    double lead;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Change>> changes;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> incidents;
  if (count > 0) {
    const std::string keys = "unnest($1::text[], $2::text[]) AS k(service, deploy_id)";
    for (const auto& row : tx.exec_params(
             "SELECT c.service, c.deploy_id, c.change_id, " + millis_sql("c.time_created") +
                 ", c.lead_time_seconds FROM " + keys +
                 " JOIN deployment_changes c USING (service, deploy_id) ORDER BY c.time_created, c.change_id",
             array_literal(services), array_literal(ids))) {
      changes[{row[0].as<std::string>(), row[1].as<std::string>()}].push_back(
          Change{row[2].as<std::string>(), row[3].as<EpochMillis>(), row[4].as<double>()});
    }
    for (const auto& row : tx.exec_params(
             "SELECT i.service, i.deploy_id, i.incident_id FROM " + keys +
                 " JOIN incidents i USING (service, deploy_id) ORDER BY i.time_created, i.incident_id",
             array_literal(services), array_literal(ids))) {
      incidents[{row[0].as<std::string>(), row[1].as<std::string>()}].push_back(row[2].as<std::string>());
    }
  }
  tx.commit();

  JsonWriter w;
  w.begin_object().key("deployments").begin_array();
  for (std::size_t i = 0; i < count; ++i) {
    const auto row = rows[static_cast<pqxx::result::size_type>(i)];
    const std::pair<std::string, std::string> key{row[0].as<std::string>(), row[2].as<std::string>()};
    const auto& own_changes = changes[key];
    std::vector<double> leads;
    for (const Change& c : own_changes) {
      if (c.lead >= 0) leads.push_back(c.lead);
    }
    w.begin_object();
    w.field("deploy_id", key.second).field("service", key.first).field("environment", row[1].as<std::string>());
    w.field("source", row[3].as<std::string>()).field("status", row[4].as<std::string>());
    w.field("commit_sha", text_of(row[5]));
    time_field(w, "deployed_at", millis_of(row[6]));
    time_field(w, "started_at", millis_of(row[7]));
    w.field("is_rollback", row[8].as<bool>()).field("rollback_detected", row[9].as<bool>());
    w.field("is_hotfix", row[10].as<bool>()).field("caused_incident", row[11].as<bool>());
    w.field("change_count", row[12].as<std::int64_t>());
    w.field("lead_time_median_seconds", percentile_cont(leads, 0.5));
    w.key("changes").begin_array();
    for (const Change& c : own_changes) {
      w.begin_object().field("change_id", c.id).field("time_created", format_time(c.time));
      w.field("lead_time_seconds", c.lead).end_object();
    }
    w.end_array();
    w.key("incidents").begin_array();
    for (const std::string& id : incidents[key]) w.string(id);
    w.end_array();
    w.end_object();
  }
  w.end_array().field("truncated", truncated).end_object();
  return w.take();
}

std::string read_incidents(pqxx::connection_base& connection, const ApiSelection& s) {
  ReadTx tx(connection);
  const auto rows = tx.exec_params(
      "SELECT i.incident_id, i.source, i.service, i.environment, i.status, i.severity, i.title, " +
          millis_sql("i.time_created") + ", " + millis_sql("i.time_acknowledged") + ", " +
          millis_sql("i.time_resolved") + ", i.root_cause, i.deploy_id, i.attribution, d.main_commit, " +
          millis_sql("d.time_created") +
          " FROM incidents i LEFT JOIN deployment_attempts d ON d.service = i.service AND d.deploy_id = i.deploy_id" +
          where_window("i", "time_created") + "ORDER BY i.time_created DESC, i.service, i.source, i.incident_id LIMIT $5",
      service_param(tx, s), s.environment, s.from, s.to, s.limit + 1);
  tx.commit();
  const bool truncated = rows.size() > static_cast<std::size_t>(s.limit);
  const std::size_t count = std::min(rows.size(), static_cast<std::size_t>(s.limit));
  JsonWriter w;
  w.begin_object().key("incidents").begin_array();
  for (std::size_t i = 0; i < count; ++i) {
    const auto row = rows[static_cast<pqxx::result::size_type>(i)];
    const auto created = millis_of(row[7]);
    const auto resolved = millis_of(row[9]);
    w.begin_object();
    w.field("incident_id", row[0].as<std::string>()).field("source", row[1].as<std::string>());
    w.field("service", row[2].as<std::string>()).field("environment", row[3].as<std::string>());
    w.field("status", row[4].as<std::string>()).field("severity", text_of(row[5])).field("title", text_of(row[6]));
    time_field(w, "time_created", created);
    time_field(w, "time_acknowledged", millis_of(row[8]));
    time_field(w, "time_resolved", resolved);
    if (created && resolved) {
      w.field("restore_seconds", static_cast<double>(*resolved - *created) / 1000);
    } else {
      w.field("restore_seconds", nullptr);
    }
    w.field("root_cause", text_of(row[10])).field("deploy_id", text_of(row[11])).field("attribution", text_of(row[12]));
    if (row[11].is_null() || row[14].is_null()) {
      w.field("deployment", nullptr);
    } else {
      w.key("deployment").begin_object();
      w.field("deploy_id", row[11].as<std::string>()).field("commit_sha", text_of(row[13]));
      time_field(w, "deployed_at", millis_of(row[14]));
      w.end_object();
    }
    w.end_object();
  }
  w.end_array().field("truncated", truncated).end_object();
  return w.take();
}

}  // namespace fourkeys::worker

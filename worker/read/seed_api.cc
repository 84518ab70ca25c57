#include "worker/read/seed_api.h"

#include "worker/read/json_writer.h"
#include "worker/read/query_params.h"
#include "worker/read/ratings.h"

#include <pqxx/pqxx>

#include <cstdlib>

namespace fourkeys::worker {

namespace {

// FastAPI (pydantic 1) validation errors, byte for byte.
http::Response validation_error(std::string_view field, std::string_view msg, std::string_view type,
                                std::optional<std::int64_t> limit = std::nullopt) {
  JsonWriter w;
  w.begin_object().key("detail").begin_array().begin_object();
  w.key("loc").begin_array().string("query").string(field).end_array();
  w.field("msg", msg).field("type", type);
  if (limit) w.key("ctx").begin_object().field("limit_value", *limit).end_object();
  w.end_object().end_array().end_object();
  http::Response response;
  response.status = 422;
  response.body = w.take();
  return response;
}

std::variant<std::int64_t, http::Response> parse_days(const QueryParams& params) {
  const auto text = params.get("days");
  if (!text) return std::int64_t{30};
  const auto sign = python_int_sign(*text);
  if (!sign) return validation_error("days", "value is not a valid integer", "type_error.integer");
  // Beyond 64 bits Python still has an int, which then fails a bound.
  const auto days = parse_python_int(*text);
  if (!days || *days < 1) {
    if (!days && *sign > 0) {
      return validation_error("days", "ensure this value is less than or equal to 365", "value_error.number.not_le", 365);
    }
    return validation_error("days", "ensure this value is greater than or equal to 1", "value_error.number.not_ge", 1);
  }
  if (*days > 365) {
    return validation_error("days", "ensure this value is less than or equal to 365", "value_error.number.not_le", 365);
  }
  return *days;
}

std::optional<double> numeric_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  // Postgres numeric as text, read as Python's float(Decimal) reads it.
  return std::strtod(f.c_str(), nullptr);
}

// Python truthiness of the seed's `x if avg_s else None`: 0.0 is falsy too.
bool truthy(const std::optional<double>& v) { return v && *v != 0; }

}  // namespace

std::variant<SeedQuery, http::Response> parse_seed_dora_request(std::string_view path_service,
                                                                std::string_view query) {
  SeedQuery q;
  q.service = percent_decode(path_service, /*plus_is_space=*/false);
  if (q.service.empty()) {
    http::Response r;
    r.status = 404;
    r.body = R"({"detail":"Not Found"})";
    return r;
  }
  auto days = parse_days(QueryParams(query));
  if (auto* error = std::get_if<http::Response>(&days)) return std::move(*error);
  q.days = std::get<std::int64_t>(days);
  return q;
}

std::variant<SeedQuery, http::Response> parse_seed_cfr_request(std::string_view query) {
  const QueryParams params(query);
  const auto service = params.get("service");
  if (!service) return validation_error("service", "field required", "value_error.missing");
  auto days = parse_days(params);
  if (auto* error = std::get_if<http::Response>(&days)) return std::move(*error);
  return SeedQuery{*service, std::get<std::int64_t>(days)};
}

SeedFigures read_seed_figures(pqxx::connection_base& connection, const SeedQuery& query, bool with_times) {
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection);
  // Whole 24-hour days back from now, as the seed's utcnow() - timedelta(days).
  // Lead times: the seed averages deployed_at - commit_timestamp per
  // deployment; here each change of a deployment counts, which is the same
  // on the seed's bodies (one new commit per deployment). The mean is the
  // numeric average the seed's EXTRACT(EPOCH ...) gives (lead times are whole
  // milliseconds: summed as integers, then divided as numeric, which is what
  // avg(numeric) does, without converting each value), so the rounding agrees.
  const auto row = tx.exec_params1(
      "WITH since AS (SELECT now() - $2::bigint * interval '86400 seconds' AS t), "
      "d AS (SELECT count(*) AS total, "
      "        count(*) FILTER (WHERE d.is_rollback OR d.is_hotfix OR d.caused_incident) AS failed "
      "      FROM deployment_attempts d, since "
      "      WHERE d.service = $1 AND d.environment = 'production' AND d.time_created >= since.t "
      "        AND d.status = 'success'), "
      // Lead times straight from deployment_change_sets (the table under
      // the deployment_changes view), unpacking only their array.
      "l AS (SELECT (round(sum(round(l.lead_time_seconds * 1000)::bigint)::numeric / 1000, 3) / count(*))::text AS mean, "
      "        percentile_cont(0.5) WITHIN GROUP (ORDER BY l.lead_time_seconds) AS median "
      "      FROM since, deployment_change_sets c "
      "      CROSS JOIN LATERAL unnest(c.lead_times_seconds) AS l(lead_time_seconds) "
      "      WHERE $3 AND c.service = $1 AND c.environment = 'production' AND c.deployed_at >= since.t "
      "        AND l.lead_time_seconds >= 0), "
      "r AS (SELECT (avg(extract(epoch FROM (i.time_resolved - i.time_created))) / 60)::text AS minutes "
      "      FROM incidents i, since "
      "      WHERE $3 AND i.service = $1 AND i.time_resolved IS NOT NULL AND i.time_created >= since.t) "
      "SELECT d.total, d.failed, l.mean, l.median, r.minutes FROM d, l, r",
      query.service, query.days, with_times);
  tx.commit();
  SeedFigures f;
  f.deployments = row[0].as<std::int64_t>();
  f.failed_deployments = row[1].as<std::int64_t>();
  f.lead_time_mean_seconds = numeric_text(row[2]);
  if (!row[3].is_null()) f.lead_time_median_seconds = row[3].as<double>();
  f.restore_mean_minutes = numeric_text(row[4]);
  return f;
}

std::string render_seed_dora(const SeedQuery& q, const SeedFigures& f) {
  const double frequency = static_cast<double>(f.deployments) / static_cast<double>(q.days);
  JsonWriter w;
  w.begin_object().field("service", q.service).field("period_days", q.days);
  w.key("metrics").begin_object();

  w.key("deployment_frequency").begin_object();
  w.field("value", python_round2(frequency)).field("unit", "per_day");
  w.field("rating", rate_deployment_frequency(frequency)).end_object();

  w.key("lead_time").begin_object();
  const auto& mean = f.lead_time_mean_seconds;
  const auto& median = f.lead_time_median_seconds;
  if (truthy(mean)) w.field("mean_hours", python_round2(*mean / 3600)); else w.field("mean_hours", nullptr);
  if (truthy(median)) w.field("median_hours", python_round2(*median / 3600)); else w.field("median_hours", nullptr);
  if (truthy(mean)) w.field("rating", rate_lead_time(*mean / 3600)); else w.field("rating", nullptr);
  w.end_object();

  w.key("change_failure_rate").begin_object();
  if (f.deployments > 0) {
    const double cfr = static_cast<double>(f.failed_deployments) / static_cast<double>(f.deployments) * 100;
    w.field("value", python_round2(cfr)).field("unit", "percent").field("rating", rate_change_failure_rate(cfr));
  } else {
    // The seed's `else 0` is an int.
    w.field("value", 0).field("unit", "percent").field("rating", rate_change_failure_rate(0));
  }
  w.end_object();

  w.key("mttr").begin_object();
  const auto& mttr = f.restore_mean_minutes;
  if (truthy(mttr)) w.field("value", python_round2(*mttr)); else w.field("value", nullptr);
  w.field("unit", "minutes");
  if (truthy(mttr)) w.field("rating", rate_time_to_restore(*mttr)); else w.field("rating", nullptr);
  w.end_object();

  w.end_object().end_object();
  return w.take();
}

std::string render_seed_cfr(const SeedQuery& q, const SeedFigures& f) {
  JsonWriter w;
  w.begin_object().field("service", q.service).field("period_days", q.days);
  w.field("total_deployments", f.deployments).field("failed_deployments", f.failed_deployments);
  if (f.deployments > 0) {
    const double rate = static_cast<double>(f.failed_deployments) / static_cast<double>(f.deployments) * 100;
    w.field("change_failure_rate", python_round2(rate)).field("rating", rate_change_failure_rate(rate));
  } else {
    w.field("change_failure_rate", 0).field("rating", rate_change_failure_rate(0));
  }
  w.end_object();
  return w.take();
}

}  // namespace fourkeys::worker

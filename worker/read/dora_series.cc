#include "worker/read/dora_series.h"

#include "common/log.h"
#include "worker/database.h"
#include "worker/read/json_writer.h"

#include <pqxx/pqxx>

#include <map>

namespace fourkeys::worker {

namespace {

// "fourkeys.dora_series" as a lock key, apart from the migrations' key.
constexpr std::int64_t kExposerLockKey = 0x666b646f72610001;

std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string labels(const DoraSeriesRow& r, const std::string& extra = {}) {
  std::string out = "{service=\"" + label_value(r.service) + "\",environment=\"" + label_value(r.environment) + "\"";
  if (!extra.empty()) out += "," + extra;
  return out + "}";
}

std::string number(double v) {
  // Prometheus reads Go float syntax; Python-style repr is a subset of it.
  return python_float_text(v);
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::vector<DoraSeriesRow> read_rows(pqxx::connection_base& connection) {
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection);
  std::map<std::pair<std::string, std::string>, DoraSeriesRow> rows;
  auto row_of = [&](const pqxx::row& r) -> DoraSeriesRow& {
    auto& row = rows[{r[0].as<std::string>(), r[1].as<std::string>()}];
    row.service = r[0].as<std::string>();
    row.environment = r[1].as<std::string>();
    if (row.lead_time_buckets.empty()) row.lead_time_buckets.assign(kLeadTimeBucketBounds.size(), 0);
    return row;
  };
  // The histogram is kept per day in metrics_daily: summing it reads one
  // row per service, environment and day, not every change.
  std::string bucket_sums;
  for (std::size_t i = 1; i <= kLeadTimeBucketBounds.size(); ++i) {
    bucket_sums += ", sum(lead_time_buckets[" + std::to_string(i) + "])";
  }
  for (const auto& r : tx.exec(
           "SELECT service, environment, sum(deployments), sum(failed_deployments), "
           " sum(restore_sum_seconds) FILTER (WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30), "
           " sum(incidents_resolved) FILTER (WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30), "
           " sum(lead_time_count), sum(lead_time_sum_seconds)" + bucket_sums +
           " FROM metrics_daily GROUP BY service, environment")) {
    DoraSeriesRow& row = row_of(r);
    row.deployments = r[2].as<std::int64_t>();
    row.failed_deployments = r[3].as<std::int64_t>();
    if (!r[5].is_null() && r[5].as<std::int64_t>() > 0) {
      row.restore_mean_seconds = r[4].as<double>() / static_cast<double>(r[5].as<std::int64_t>());
    }
    row.lead_time_count = r[6].as<std::int64_t>();
    row.lead_time_sum = r[7].as<double>();
    for (std::size_t i = 0; i < kLeadTimeBucketBounds.size(); ++i) {
      row.lead_time_buckets[i] = r[static_cast<pqxx::row::size_type>(8 + i)].as<std::int64_t>();
    }
  }
  // The latest successful deployment of each service and environment, by
  // the window index rather than a scan of every deployment.
  for (const auto& r : tx.exec(
           "SELECT k.service, k.environment, extract(epoch FROM d.time_created)::double precision, "
           " extract(epoch FROM d.commit_timestamp)::double precision "
           "FROM (SELECT DISTINCT service, environment FROM metrics_daily) k "
           "CROSS JOIN LATERAL (SELECT a.time_created, a.commit_timestamp FROM deployment_attempts a "
           "  WHERE a.service = k.service AND a.environment = k.environment AND a.status = 'success' "
           "  ORDER BY a.time_created DESC LIMIT 1) d")) {
    DoraSeriesRow& row = row_of(r);
    row.last_deployment_time = r[2].as<double>();
    if (!r[3].is_null()) row.last_deployment_commit_time = r[3].as<double>();
  }
  tx.commit();
  std::vector<DoraSeriesRow> out;
  out.reserve(rows.size());
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  return out;
}

}  // namespace

std::string render_dora_series(const std::vector<DoraSeriesRow>& rows) {
  std::string out;
  family(out, "deployments_total", "counter", "Successful deployments.");
  for (const auto& r : rows) out += "deployments_total" + labels(r) + " " + std::to_string(r.deployments) + "\n";
  family(out, "deployments_failed_total", "counter",
         "Successful deployments that failed in production: rollback, hotfix or an incident attributed to them.");
  for (const auto& r : rows) {
    out += "deployments_failed_total" + labels(r) + " " + std::to_string(r.failed_deployments) + "\n";
  }
  family(out, "lead_time_seconds", "histogram",
         "Lead time for changes: deployment finish minus commit time, per change (negative ones left out).");
  for (const auto& r : rows) {
    std::int64_t cumulative = 0;
    for (std::size_t i = 0; i < kLeadTimeBucketBounds.size() && i < r.lead_time_buckets.size(); ++i) {
      cumulative += r.lead_time_buckets[i];
      out += "lead_time_seconds_bucket" + labels(r, "le=\"" + number(kLeadTimeBucketBounds[i]) + "\"") + " " +
             std::to_string(cumulative) + "\n";
    }
    out += "lead_time_seconds_bucket" + labels(r, "le=\"+Inf\"") + " " + std::to_string(r.lead_time_count) + "\n";
    out += "lead_time_seconds_sum" + labels(r) + " " + number(r.lead_time_sum) + "\n";
    out += "lead_time_seconds_count" + labels(r) + " " + std::to_string(r.lead_time_count) + "\n";
  }
  family(out, "incident_resolution_time_seconds", "gauge",
         "Mean time to restore of the incidents opened in the last 30 days and resolved.");
  for (const auto& r : rows) {
    if (r.restore_mean_seconds) {
      out += "incident_resolution_time_seconds" + labels(r) + " " + number(*r.restore_mean_seconds) + "\n";
    }
  }
  family(out, "deployment_timestamp", "gauge", "Finish time of the latest successful deployment (Unix seconds).");
  for (const auto& r : rows) {
    if (r.last_deployment_time) out += "deployment_timestamp" + labels(r) + " " + number(*r.last_deployment_time) + "\n";
  }
  family(out, "commit_timestamp", "gauge",
         "Time of the commit the latest successful deployment deployed (Unix seconds), when known.");
  for (const auto& r : rows) {
    if (r.last_deployment_time && r.last_deployment_commit_time) {
      out += "commit_timestamp" + labels(r) + " " + number(*r.last_deployment_commit_time) + "\n";
    }
  }
  return out;
}

DoraSeriesExposer::DoraSeriesExposer(std::string database_url, std::chrono::milliseconds refresh)
    : url_(std::move(database_url)), refresh_(refresh), thread_([this] { run(); }) {}

DoraSeriesExposer::~DoraSeriesExposer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string DoraSeriesExposer::text() const {
  std::lock_guard lock(mutex_);
  std::string out = "# HELP fourkeys_worker_dora_series_exposed 1 when this worker exposes the DORA series "
                    "(it holds the lock), 0 when another one does.\n"
                    "# TYPE fourkeys_worker_dora_series_exposed gauge\n";
  out += exposing_ ? "fourkeys_worker_dora_series_exposed 1\n" : "fourkeys_worker_dora_series_exposed 0\n";
  if (exposing_) out += text_;
  return out;
}

void DoraSeriesExposer::run() {
  Database database(url_);
  bool holding = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
    }
    std::string text;
    try {
      pqxx::connection_base& connection = database.get();
      if (!holding) {
        pqxx::nontransaction tx(connection);
        holding = tx.exec_params1("SELECT pg_try_advisory_lock($1)", kExposerLockKey)[0].as<bool>();
        if (holding) log::info("this worker now exposes the DORA series on /metrics");
      }
      if (holding) text = render_dora_series(read_rows(connection));
    } catch (const std::exception& e) {
      if (holding) log::warn("stopped exposing the DORA series", {{"error", describe_database_error(e)}});
      // A new connection starts without the lock; another worker may take it.
      database.reset();
      holding = false;
    }
    std::unique_lock lock(mutex_);
    exposing_ = holding;
    text_ = std::move(text);
    wake_.wait_for(lock, refresh_, [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace fourkeys::worker

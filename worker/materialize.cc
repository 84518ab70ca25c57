#include "worker/materialize.h"

#include "worker/linker.h"
#include "worker/pg_text.h"

#include <pqxx/pqxx>

#include <map>

namespace fourkeys::worker {
namespace {

// Milliseconds since the epoch, computed by Postgres so no timestamp text
// needs parsing here.
std::string ms(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000)::bigint";
}

std::string text_of(const pqxx::field& f) { return f.is_null() ? std::string() : std::string(f.c_str()); }

std::optional<Millis> time_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<long long>();
}

std::vector<ServiceHistory> group_histories(const std::vector<std::string>& services,
                                            std::map<std::string, ServiceHistory>& by_service) {
  std::vector<ServiceHistory> out;
  out.reserve(services.size());
  for (const auto& s : services) {
    ServiceHistory h = std::move(by_service[s]);
    h.service = s;
    out.push_back(std::move(h));
  }
  return out;
}

void lock_services(pqxx::transaction_base& tx, const std::vector<std::string>& services) {
  // One statement, locks taken in array order (the caller's name order).
  tx.exec_params(
      "SELECT pg_advisory_xact_lock(hashtextextended(s, 7)) FROM unnest($1::text[]) WITH ORDINALITY AS t(s, n) "
      "ORDER BY n",
      array_literal(services));
}

}  // namespace

std::vector<ServiceHistory> load_histories(pqxx::transaction_base& tx, const std::vector<std::string>& services) {
  std::map<std::string, ServiceHistory> by_service;
  const std::string list = array_literal(services);

  for (const auto& r : tx.exec_params(
           "SELECT service, change_id, " + ms("time_created") +
               ", source, event_type, event_id, repository, author, title "
               "FROM changes WHERE service = ANY($1::text[])",
           list)) {
    ChangeRow c;
    c.change_id = r[1].c_str();
    c.time_created = r[2].as<long long>();
    c.source = r[3].c_str();
    c.event_type = r[4].c_str();
    c.event_id = r[5].c_str();
    c.repository = text_of(r[6]);
    c.author = text_of(r[7]);
    c.title = text_of(r[8]);
    by_service[r[0].c_str()].changes.push_back(std::move(c));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, repository, ref, before_sha, after_sha, commit_shas, " +
               ms("time_created") + " FROM pushes WHERE service = ANY($1::text[])",
           list)) {
    PushRow p;
    p.event_id = r[1].c_str();
    p.repository = text_of(r[2]);
    p.ref = text_of(r[3]);
    p.before = text_of(r[4]);
    p.after = text_of(r[5]);
    p.commit_shas = parse_text_array(r[6].c_str());
    p.time_created = r[7].as<long long>();
    by_service[r[0].c_str()].pushes.push_back(std::move(p));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, source, event_type, environment, deploy_id, sha, status, " +
               ms("started_at") + ", " + ms("finished_at") + ", " + ms("time_created") +
               ", is_rollback, is_hotfix, additional_shas, " + ms("commit_time") +
               ", repository FROM deployment_events WHERE service = ANY($1::text[])",
           list)) {
    DeploymentEventRow d;
    d.event_id = r[1].c_str();
    d.source = r[2].c_str();
    d.event_type = r[3].c_str();
    d.environment = r[4].c_str();
    d.deploy_id = r[5].c_str();
    d.sha = text_of(r[6]);
    d.status = r[7].c_str();
    d.started_at = time_of(r[8]);
    d.finished_at = time_of(r[9]);
    d.time_created = r[10].as<long long>();
    d.is_rollback = r[11].as<bool>();
    d.is_hotfix = r[12].as<bool>();
    d.additional_shas = parse_text_array(r[13].c_str());
    d.commit_time = time_of(r[14]);
    d.repository = text_of(r[15]);
    by_service[r[0].c_str()].deployment_events.push_back(std::move(d));
  }

  for (const auto& r : tx.exec_params(
           "SELECT service, event_id, source, event_type, incident_id, status, " + ms("created_at") + ", " +
               ms("resolved_at") + ", " + ms("time_created") +
               ", root_cause_sha, severity, title, environment "
               "FROM incident_events WHERE service = ANY($1::text[])",
           list)) {
    IncidentEventRow i;
    i.event_id = r[1].c_str();
    i.source = r[2].c_str();
    i.event_type = r[3].c_str();
    i.incident_id = r[4].c_str();
    i.status = r[5].c_str();
    i.created_at = time_of(r[6]);
    i.resolved_at = time_of(r[7]);
    i.time_created = r[8].as<long long>();
    i.root_cause_sha = text_of(r[9]);
    i.severity = text_of(r[10]);
    i.title = text_of(r[11]);
    i.environment = r[12].c_str();
    by_service[r[0].c_str()].incident_events.push_back(std::move(i));
  }
  return group_histories(services, by_service);
}

MaterializeStats materialize_services(pqxx::transaction_base& tx, const std::vector<std::string>& services,
                                      const LinkSettings& settings, ServiceLocks locks) {
  MaterializeStats stats;
  if (services.empty()) return stats;
  if (locks == ServiceLocks::take) lock_services(tx, services);
  const std::vector<ServiceHistory> histories = load_histories(tx, services);

  CopyRows deployments, changes, incidents;
  for (const ServiceHistory& history : histories) {
    const DerivedService derived = derive_service(history, settings);
    for (const DeploymentRow& d : derived.deployments) {
      deployments.text(history.service).text(d.environment).text(d.deploy_id).text(d.source).text(d.status)
          .text_or_null(d.main_commit).text_or_null(d.repository).time(d.deployed_at).time(d.started_at)
          .time(d.commit_time).boolean(d.rollback_flagged).boolean(d.rollback_detected).boolean(d.is_hotfix)
          .boolean(d.caused_incident).integer(d.change_count);
      deployments.end_row();
    }
    for (const DeploymentChangeRow& c : derived.deployment_changes) {
      changes.text(history.service).text(c.environment).text(c.deploy_id).text(c.change_id)
          .time(c.commit_time).time(c.deployed_at).real(c.lead_time_seconds);
      changes.end_row();
    }
    for (const IncidentRow& i : derived.incidents) {
      incidents.text(history.service).text(i.environment).text(i.source).text(i.incident_id).text(i.status)
          .text_or_null(i.severity).text_or_null(i.title).text_or_null(i.root_cause_sha).time(i.time_created)
          .time(i.time_acknowledged).time(i.time_resolved).text_or_null(i.deploy_id)
          .text_or_null(i.attribution);
      incidents.end_row();
    }
    ++stats.services;
  }
  stats.deployments = deployments.rows();
  stats.deployment_changes = changes.rows();
  stats.incidents = incidents.rows();

  const std::string list = array_literal(services);
  for (const char* table : {"deployment_attempts", "deployment_changes", "incidents", "metrics_daily"}) {
    tx.exec_params(std::string("DELETE FROM ") + table + " WHERE service = ANY($1::text[])", list);
  }
  copy_into(tx, "deployment_attempts",
            {"service", "environment", "deploy_id", "source", "status", "main_commit", "repository",
             "time_created", "started_at", "commit_timestamp", "rollback_flagged", "rollback_detected",
             "is_hotfix", "caused_incident", "change_count"},
            deployments);
  copy_into(tx, "deployment_changes",
            {"service", "environment", "deploy_id", "change_id", "time_created", "deployed_at",
             "lead_time_seconds"},
            changes);
  copy_into(tx, "incidents",
            {"service", "environment", "source", "incident_id", "status", "severity", "title", "root_cause",
             "time_created", "time_acknowledged", "time_resolved", "deploy_id", "attribution"},
            incidents);
  tx.exec_params(R"sql(
INSERT INTO metrics_daily
WITH d AS (
  SELECT service, environment, (time_created AT TIME ZONE 'UTC')::date AS day,
         count(*) FILTER (WHERE status = 'success') AS deployments,
         count(*) FILTER (WHERE status = 'success' AND (is_rollback OR is_hotfix OR caused_incident)) AS failed,
         count(*) FILTER (WHERE status = 'success' AND (is_rollback OR is_hotfix)) AS rework,
         count(*) FILTER (WHERE status = 'success' AND is_rollback) AS rollbacks,
         count(*) FILTER (WHERE status = 'success' AND is_hotfix) AS hotfixes,
         count(*) FILTER (WHERE status IN ('failure', 'error', 'cancelled')) AS unsuccessful
  FROM deployment_attempts WHERE service = ANY($1::text[])
  GROUP BY 1, 2, 3
), c AS (
  SELECT service, environment, (deployed_at AT TIME ZONE 'UTC')::date AS day,
         count(*) AS changes,
         count(*) FILTER (WHERE lead_time_seconds >= 0) AS lt_count,
         coalesce(sum(lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0), 0) AS lt_sum,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0) AS lt_median,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0) AS lt_p90,
         count(*) FILTER (WHERE lead_time_seconds < 0) AS lt_negative
  FROM deployment_changes WHERE service = ANY($1::text[])
  GROUP BY 1, 2, 3
), i AS (
  SELECT service, environment, (time_created AT TIME ZONE 'UTC')::date AS day,
         count(*) AS opened,
         count(time_resolved) AS resolved,
         coalesce(sum(extract(epoch FROM time_resolved - time_created)), 0)::double precision AS restore_sum,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_resolved - time_created)) AS restore_median,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM time_resolved - time_created)) AS restore_p90
  FROM incidents WHERE service = ANY($1::text[])
  GROUP BY 1, 2, 3
)
SELECT service, environment, day,
       coalesce(d.deployments, 0), coalesce(d.failed, 0), coalesce(d.rework, 0),
       coalesce(d.rollbacks, 0), coalesce(d.hotfixes, 0), coalesce(d.unsuccessful, 0),
       coalesce(c.changes, 0), coalesce(c.lt_count, 0), coalesce(c.lt_sum, 0), c.lt_median, c.lt_p90,
       coalesce(c.lt_negative, 0),
       coalesce(i.opened, 0), coalesce(i.resolved, 0), coalesce(i.restore_sum, 0), i.restore_median, i.restore_p90
FROM d FULL JOIN c USING (service, environment, day) FULL JOIN i USING (service, environment, day)
)sql",
                 list);
  return stats;
}

}  // namespace fourkeys::worker

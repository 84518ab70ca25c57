#include "worker/apply.h"

#include "worker/pg_copy.h"
#include "worker/pg_text.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace fourkeys::worker {
namespace {

const std::vector<std::string> kRawColumns{
    "id", "source", "event_type", "kind", "service", "team", "repository", "environment", "signature",
    "time_created", "received_at", "envelope", "kafka_topic", "kafka_partition", "kafka_offset"};

const std::vector<std::string> kReportColumns{"event_id", "service",       "source",  "event_type", "repository",
                                              "change_ids", "times_created", "authors", "titles"};

void add_raw_row(CopyWriter& writer, const BatchEvent& e) {
  CopyRows& rows = writer.rows();
  const DecodedEvent& d = e.event;
  rows.text(d.id).text(d.source).text(d.source_event).text(d.kind).text(d.service)
      .text_or_null(d.team).text_or_null(d.repository).text_or_null(d.environment).text(d.signature)
      .time(d.occurred_at).time(d.received_at).text(e.message->value)
      .text(e.message->topic).int4(e.message->partition).int8(e.message->offset);
  rows.end_row();
  writer.row_done();
}

void add_base_rows(const DecodedEvent& d, CopyRows& pushes, CopyRows& deployments, CopyRows& incidents) {
  if (d.push) {
    const PushRow& p = *d.push;
    pushes.text(p.event_id).text(d.service).text_or_null(p.repository).text_or_null(p.ref)
        .text_or_null(p.before).text_or_null(p.after).text_array(p.commit_shas).time(p.time_created);
    pushes.end_row();
  }
  if (d.deployment) {
    const DeploymentEventRow& r = *d.deployment;
    deployments.text(r.event_id).text(d.service).text(r.environment).text(r.deploy_id).text(r.source)
        .text(r.event_type).text_or_null(r.sha).text(r.status).time(r.started_at).time(r.finished_at)
        .time(r.time_created).boolean(r.is_rollback).boolean(r.is_hotfix).text_array(r.additional_shas)
        .time(r.commit_time).text_or_null(r.repository);
    deployments.end_row();
  }
  if (d.incident) {
    const IncidentEventRow& r = *d.incident;
    incidents.text(r.event_id).text(d.service).text(r.source).text(r.event_type).text(r.incident_id)
        .text(r.status).time(r.created_at).time(r.resolved_at).time(r.time_created)
        .text_or_null(r.root_cause_sha).text_or_null(r.severity).text_or_null(r.title).text(r.environment);
    incidents.end_row();
  }
}

// One change_reports row per event that reports changes (a push's commits,
// a merged request's merge commit), written once with the event: the
// `changes` view picks each commit's earliest report, so nothing here
// depends on what the table already holds or on the order reports come in.
void add_change_report(const DecodedEvent& d, CopyRows& rows) {
  const std::vector<ChangeRow>& c = d.changes;
  if (c.empty()) return;
  rows.text(d.id).text(d.service).text(d.source).text(d.source_event).text_or_null(d.repository)
      .text_array(c.size(), [&](std::size_t i) -> const std::string& { return c[i].change_id; })
      .time_array(c.size(), [&](std::size_t i) { return c[i].time_created; })
      .text_or_null_array(c.size(), [&](std::size_t i) -> const std::string& { return c[i].author; })
      .text_or_null_array(c.size(), [&](std::size_t i) -> const std::string& { return c[i].title; });
  rows.end_row();
}

// The latest team each service was received with; an older event (a
// redelivery, a late one) never overwrites a newer one's team.
void write_service_teams(pqxx::transaction_base& tx, const std::vector<const DecodedEvent*>& events) {
  std::map<std::string, const DecodedEvent*> latest;
  for (const DecodedEvent* e : events) {
    if (e->team.empty()) continue;
    auto [at, fresh] = latest.emplace(e->service, e);
    if (!fresh && std::tie(e->received_at, e->id) > std::tie(at->second->received_at, at->second->id)) at->second = e;
  }
  if (latest.empty()) return;
  std::vector<std::string> services, teams, times;
  for (const auto& [service, e] : latest) {
    services.push_back(service);
    teams.push_back(e->team);
    times.push_back(std::to_string(e->received_at));
  }
  tx.exec_params(
      "INSERT INTO service_teams (service, team, received_at) "
      "SELECT s, t, to_timestamp(r::bigint / 1000.0) FROM unnest($1::text[], $2::text[], $3::text[]) AS u(s, t, r) "
      "ON CONFLICT (service) DO UPDATE SET team = EXCLUDED.team, received_at = EXCLUDED.received_at "
      "WHERE EXCLUDED.received_at >= service_teams.received_at",
      array_literal(services), array_literal(teams), array_literal(times));
}

}  // namespace

void write_base_rows(pqxx::transaction_base& tx, const std::vector<const DecodedEvent*>& events) {
  CopyRows pushes, deployments, incidents, reports;
  for (const DecodedEvent* e : events) {
    add_base_rows(*e, pushes, deployments, incidents);
    add_change_report(*e, reports);
  }
  copy_into(tx, "pushes",
            {"event_id", "service", "repository", "ref", "before_sha", "after_sha", "commit_shas", "time_created"},
            pushes);
  copy_into(tx, "deployment_events",
            {"event_id", "service", "environment", "deploy_id", "source", "event_type", "sha", "status",
             "started_at", "finished_at", "time_created", "is_rollback", "is_hotfix", "additional_shas",
             "commit_time", "repository"},
            deployments);
  copy_into(tx, "incident_events",
            {"event_id", "service", "source", "event_type", "incident_id", "status", "created_at", "resolved_at",
             "time_created", "root_cause_sha", "severity", "title", "environment"},
            incidents);
  copy_into(tx, "change_reports", kReportColumns, reports);
  write_service_teams(tx, events);
}

ApplyResult apply_events(pqxx::transaction_base& tx, const std::vector<BatchEvent>& events) {
  ApplyResult result = store_raw_events(tx, events);
  write_base_rows(tx, result);
  return result;
}

void write_base_rows(pqxx::transaction_base& tx, ApplyResult& result) { write_base_rows(tx, result.stored_events); }

ApplyResult store_raw_events(pqxx::transaction_base& tx, const std::vector<BatchEvent>& events) {
  ApplyResult result;
  if (events.empty()) return result;

  // The batch's ids already stored (redeliveries, a replay after a crash):
  // one index lookup, so the rest can go straight into events_raw by COPY.
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const BatchEvent& e : events) ids.push_back(e.event.id);
  std::unordered_set<std::string> known;
  for (const auto& row : tx.exec_params("SELECT id FROM events_raw WHERE id = ANY($1::text[])", array_literal(ids))) {
    known.insert(row[0].c_str());
  }

  std::unordered_set<std::string> seen;
  std::vector<const BatchEvent*> unique;
  unique.reserve(events.size());
  // Another worker storing one of these ids at the same moment (a rebalance)
  // makes this fail with a unique violation; the batch is then retried and
  // the lookup above finds the id.
  CopyWriter raw(tx, "events_raw", kRawColumns);
  for (const BatchEvent& e : events) {
    if (known.count(e.event.id) || !seen.insert(e.event.id).second) {
      ++result.duplicates;
      continue;
    }
    unique.push_back(&e);
    add_raw_row(raw, e);
  }
  raw.complete();
  result.stored = unique.size();

  std::set<std::string> services;
  result.stored_events.reserve(unique.size());
  for (const BatchEvent* e : unique) {
    services.insert(e->event.service);
    ++result.stored_by_kind[e->event.kind];
    result.stored_events.push_back(&e->event);
    result.added[e->event.service].push_back(&e->event);
  }
  result.services.assign(services.begin(), services.end());
  return result;
}

}  // namespace fourkeys::worker

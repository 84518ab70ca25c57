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

const std::vector<std::string> kChangeColumns{"service", "change_id", "time_created", "source", "event_type",
                                              "event_id", "repository", "author", "title"};

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

// One report per (service, change_id): the earliest (time_created,
// event_id), which is what the table keeps whatever order reports arrive in.
std::vector<std::pair<const std::string*, const ChangeRow*>> earliest_changes(
    const std::vector<const DecodedEvent*>& events) {
  std::vector<std::pair<const std::string*, const ChangeRow*>> all;
  for (const DecodedEvent* e : events) {
    for (const ChangeRow& c : e->changes) all.emplace_back(&e->service, &c);
  }
  auto key = [](const std::pair<const std::string*, const ChangeRow*>& r) {
    return std::tie(*r.first, r.second->change_id, r.second->time_created, r.second->event_id);
  };
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  auto same_change = [](const auto& a, const auto& b) {
    return *a.first == *b.first && a.second->change_id == b.second->change_id;
  };
  all.erase(std::unique(all.begin(), all.end(), same_change), all.end());
  return all;
}

// Writes the batch's commits into `changes`. Most commits are new to the
// table, so they go in by a plain COPY; one the table already has (a commit
// in a second push, a replay) fails that COPY, and a savepoint takes it back
// for the upsert that keeps the earliest report. The plain COPY costs about
// half the upsert's staging table, sort and conflict checks. Returns true
// when the plain COPY took every row.
bool write_changes(pqxx::transaction_base& tx, const std::vector<const DecodedEvent*>& events) {
  CopyRows rows;
  for (const auto& [service, c] : earliest_changes(events)) {
    rows.text(*service).text(c->change_id).time(c->time_created).text(c->source).text(c->event_type)
        .text(c->event_id).text_or_null(c->repository).text_or_null(c->author).text_or_null(c->title);
    rows.end_row();
  }
  if (rows.rows() == 0) return true;
  tx.exec("SAVEPOINT fourkeys_changes");
  try {
    copy_into(tx, "changes", kChangeColumns, rows);
    tx.exec("RELEASE SAVEPOINT fourkeys_changes");
    return true;
  } catch (const pqxx::unique_violation&) {
    tx.exec("ROLLBACK TO SAVEPOINT fourkeys_changes");
  }
  tx.exec("CREATE TEMP TABLE IF NOT EXISTS incoming_changes (LIKE changes) ON COMMIT DELETE ROWS");
  copy_into(tx, "incoming_changes", kChangeColumns, rows);
  tx.exec(
      "INSERT INTO changes SELECT * FROM incoming_changes "
      "ON CONFLICT (service, change_id) DO UPDATE SET "
      " time_created = EXCLUDED.time_created, source = EXCLUDED.source, event_type = EXCLUDED.event_type,"
      " event_id = EXCLUDED.event_id, repository = EXCLUDED.repository, author = EXCLUDED.author,"
      " title = EXCLUDED.title "
      "WHERE (EXCLUDED.time_created, EXCLUDED.event_id) < (changes.time_created, changes.event_id)");
  tx.exec("TRUNCATE incoming_changes");
  return false;
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

bool write_base_rows(pqxx::transaction_base& tx, const std::vector<const DecodedEvent*>& events) {
  CopyRows pushes, deployments, incidents;
  for (const DecodedEvent* e : events) add_base_rows(*e, pushes, deployments, incidents);
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
  write_service_teams(tx, events);
  return write_changes(tx, events);
}

ApplyResult apply_events(pqxx::transaction_base& tx, const std::vector<BatchEvent>& events) {
  ApplyResult result = store_raw_events(tx, events);
  write_base_rows(tx, result);
  return result;
}

void write_base_rows(pqxx::transaction_base& tx, ApplyResult& result) {
  result.changes_all_new = write_base_rows(tx, result.stored_events);
}

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

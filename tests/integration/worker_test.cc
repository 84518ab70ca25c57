// fourkeys-worker against a real Postgres and the embedded Kafka over TCP.

#include "common/kafka_reader.h"
#include "common/time.h"
#include "tests/integration/worker_envelopes.h"
#include "tests/integration/worker_history.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <future>
#include <random>
#include <set>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {

// Every derived table, as text, in a stable order.
std::vector<std::string> derived_tables(const TestDatabase& db) {
  std::vector<std::string> out;
  for (const char* sql : {
           "SELECT service, change_id, time_created, source, event_type, event_id FROM changes ORDER BY 1, 2",
           "SELECT service, environment, deploy_id, source, status, main_commit, time_created, started_at, "
           "commit_timestamp, rollback_flagged, rollback_detected, is_hotfix, caused_incident, change_count "
           "FROM deployment_attempts ORDER BY 1, 3",
           "SELECT service, environment, deploy_id, change_id, time_created, deployed_at, lead_time_seconds "
           "FROM deployment_changes ORDER BY 1, 3, 4",
           "SELECT service, environment, source, incident_id, status, time_created, time_acknowledged, "
           "time_resolved, deploy_id, attribution FROM incidents ORDER BY 1, 3, 4",
           "SELECT * FROM metrics_daily ORDER BY 1, 2, 3",
       }) {
    out.push_back(std::string("-- ") + sql);
    for (auto& row : db.query(sql)) out.push_back(std::move(row));
  }
  return out;
}

long long count(const TestDatabase& db, const std::string& sql) { return std::stoll(db.scalar(sql)); }

bool all_stored(const TestDatabase& db, std::size_t expected) {
  try {
    return count(db, "SELECT count(*) FROM events_raw") == static_cast<long long>(expected);
  } catch (...) {
    return false;  // not migrated yet
  }
}

// True once the worker has committed every message of a history (all
// offsets stored): its last batch's derived rows are in too.
bool all_consumed(const TestDatabase& db, std::size_t messages) {
  return count(db, "SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets") >= static_cast<long long>(messages);
}

std::string day_time(int days_ago, const std::string& hhmmss) {
  const EpochMillis day = (now_millis() / 86'400'000 - days_ago) * 86'400'000;
  return format_time(day).substr(0, 11) + hhmmss + ".000Z";
}

int run_worker_once(const std::string& brokers, const std::string& url, const std::vector<std::string>& args) {
  std::vector<std::string> full = args;
  ChildProcess p(worker_binary(), full, {{"FOURKEYS_KAFKA_BROKERS", brokers}, {"FOURKEYS_DATABASE_URL", url}}, false,
                 log_file("worker-once"));
  return p.wait(120s);
}

void rebuild_equals_incremental(const std::string& brokers, const TestDatabase& db) {
  const auto incremental = derived_tables(db);
  REQUIRE(run_worker_once(brokers, db.url(), {"--rebuild"}) == 0);
  const auto rebuilt = derived_tables(db);
  REQUIRE(incremental.size() == rebuilt.size());
  for (std::size_t i = 0; i < incremental.size(); ++i) {
    INFO("row " << i);
    REQUIRE(incremental[i] == rebuilt[i]);
  }
}

void check_against_reference(const TestDatabase& db, const ExpectedHistory& expected) {
  std::map<std::tuple<std::string, std::string, std::string>, long long> actual;
  for (const auto& row : db.query("SELECT service, deploy_id, change_id, round(lead_time_seconds)::bigint "
                                  "FROM deployment_changes")) {
    std::vector<std::string> f;
    std::size_t start = 0, bar;
    while ((bar = row.find('|', start)) != std::string::npos) {
      f.push_back(row.substr(start, bar - start));
      start = bar + 1;
    }
    f.push_back(row.substr(start));
    actual[{f[0], f[1], f[2]}] = std::stoll(f[3]);
  }
  CHECK(actual == expected.lead_times);
  for (const auto& [service, n] : expected.deployments) {
    INFO(service);
    CHECK(count(db, "SELECT count(*) FROM deployments WHERE service = '" + service + "'") == n);
  }
  for (const auto& [service, n] : expected.deployments) {
    INFO(service);
    const auto it = expected.rollbacks.find(service);
    CHECK(count(db, "SELECT count(*) FROM deployments WHERE is_rollback AND service = '" + service + "'") ==
          (it == expected.rollbacks.end() ? 0 : it->second));
  }
  for (const auto& [key, deploy_id] : expected.attributions) {
    INFO(key.first << " " << key.second);
    CHECK(db.scalar("SELECT deploy_id FROM incidents WHERE service = '" + key.first + "' AND incident_id = '" +
                    key.second + "'") == deploy_id);
  }
}

std::vector<std::pair<std::string, std::string>> as_messages(const std::vector<HistoryEvent>& events) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : events) out.emplace_back(e.service, e.envelope);
  return out;
}

// Waits until a worker running on `db` has stored and committed every
// event of `h`, then checks the tables against the reference and against a
// rebuild.
void wait_and_check(const std::string& brokers, const TestDatabase& db, const History& h) {
  REQUIRE(eventually([&] { return all_stored(db, h.expected.unique_events); }, 60s));
  // The last batch may still be committing its derived rows: the offsets
  // say when every message is done.
  REQUIRE(eventually([&] { return all_consumed(db, h.events.size()); }, 30s));
  check_against_reference(db, h.expected);
  rebuild_equals_incremental(brokers, db);
}

// Publishes a history at once (in the history's own order, which may be
// shuffled) to a worker already running on `db`, then checks it.
void publish_all_and_check(const std::string& brokers, const TestDatabase& db, const History& h) {
  EnvelopePublisher publisher(brokers);
  publisher.publish_all(as_messages(h.events));
  wait_and_check(brokers, db, h);
}

// Publishes a history 40 messages at a time, in the order it happened, then
// checks it.
void publish_in_order_and_check(const std::string& brokers, const TestDatabase& db, const History& h) {
  EnvelopePublisher publisher(brokers);
  const auto messages = as_messages(h.events);
  for (std::size_t i = 0; i < messages.size(); i += 40) {
    publisher.publish_all({messages.begin() + static_cast<std::ptrdiff_t>(i),
                           messages.begin() + static_cast<std::ptrdiff_t>(std::min(i + 40, messages.size()))});
  }
  wait_and_check(brokers, db, h);
}

}  // namespace

TEST_CASE("several workers starting at once apply each migration exactly once", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  std::vector<std::future<int>> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(std::async(std::launch::async,
                              [&] { return run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}); }));
  }
  for (auto& r : runs) CHECK(r.get() == 0);
  const long long versions = count(db, "SELECT count(*) FROM schema_migrations");
  CHECK(versions >= 4);
  CHECK(count(db, "SELECT count(DISTINCT version) FROM schema_migrations") == versions);
  // Running again changes nothing.
  CHECK(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  CHECK(count(db, "SELECT count(*) FROM schema_migrations") == versions);
  CHECK(count(db, "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                  "('events_raw','changes','deployments','deployment_changes','incidents','metrics_daily',"
                  "'dora_summary','ingest_offsets','deployment_attempts')") == 9);
  // Migration 011: the text columns compare as bytes.
  CHECK(count(db, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                  "AND table_name IN ('deployment_changes', 'changes', 'events_raw') AND data_type = 'text' "
                  "AND collation_name IS DISTINCT FROM 'C'") == 0);
  // Migration 015: commit arrays long enough to be compressed are compressed
  // with lz4, not pglz.
  db.exec(R"sql(
    INSERT INTO change_reports (event_id, service, source, event_type, change_ids, times_created, authors, titles)
    SELECT 'github:lz4', 'svc', 'github', 'push', array_agg(md5(i::text) || md5(i::text)),
           array_agg('2026-01-01Z'::timestamptz + i * interval '1 minute'), array_agg('dev'::text),
           array_agg('commit number ' || i) FROM generate_series(1, 200) AS i)sql");
  CHECK(db.query("SELECT pg_column_compression(change_ids), pg_column_compression(titles) FROM change_reports "
                 "WHERE event_id = 'github:lz4'") == std::vector<std::string>{"lz4|lz4"});
  CHECK(count(db, "SELECT count(*) FROM pg_attribute WHERE attrelid IN ('change_reports'::regclass, "
                  "'deployment_change_sets'::regclass, 'pushes'::regclass, 'deployment_events'::regclass) "
                  "AND attcompression = 'l'") == 9);
}

TEST_CASE("the collation migration leaves views it does not own, and the columns under them, alone", "[worker]") {
  // Two shapes of a database before migration 011: one where someone built
  // on fourkeys' views (a grant and a view over dora_summary), one where
  // only tables are built on. Either way the migration succeeds and nothing
  // of theirs changes.
  const bool built_on_our_views = GENERATE(false, true);
  INFO("built on fourkeys' views: " << built_on_our_views);
  EmbeddedKafka kafka(true);
  TestDatabase db;
  REQUIRE(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  // As a database looks before migration 011 with an extension's views in
  // its public schema and a BI view of its own over incidents.
  db.query(
      "ALTER TABLE incidents ALTER COLUMN deploy_id TYPE text COLLATE \"default\";"
      "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
      "CREATE VIEW team_incidents AS SELECT deploy_id, time_created FROM incidents;"
      "DELETE FROM schema_migrations WHERE version = 11;"
      "SELECT 1");
  if (built_on_our_views) {
    db.query(
        "GRANT SELECT ON dora_summary TO PUBLIC;"
        "CREATE VIEW weekly_board AS SELECT service, environment FROM dora_summary;"
        "SELECT 1");
  }
  REQUIRE(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  CHECK(count(db, "SELECT count(*) FROM schema_migrations WHERE version = 11") == 1);
  CHECK(count(db, "SELECT count(*) FROM information_schema.views WHERE table_name IN "
                  "('team_incidents', 'pg_stat_statements', 'deployments', 'dora_summary')") == 4);
  if (built_on_our_views) {
    CHECK(count(db, "SELECT count(*) FROM weekly_board") == 0);
    CHECK(db.scalar("SELECT has_table_privilege('public', 'dora_summary', 'SELECT')") == "t");
  }
  CHECK(db.scalar("SELECT coalesce(collation_name, 'default') FROM information_schema.columns "
                  "WHERE table_name = 'incidents' AND column_name = 'deploy_id'") == "default");
  CHECK(db.scalar("SELECT collation_name FROM information_schema.columns "
                  "WHERE table_name = 'incidents' AND column_name = 'incident_id'") == "C");
  CHECK(count(db, "SELECT count(*) FROM team_incidents") == 0);
}

TEST_CASE("migration 013 keeps deployment_changes' rows, and the views, grants and comments built on it", "[worker]") {
  // A database before migration 013: deployment_changes a table with rows,
  // a role reading it, a BI view with options, a comment and a grant, views
  // on top of that one. Or, instead, what the migration cannot carry over
  // (a materialized view, a view WITH CHECK OPTION): it must stop and
  // change nothing.
  const int blocker = GENERATE(0, 1, 2);
  INFO("0: views it carries over; 1: a materialized view; 2: a view WITH CHECK OPTION: " << blocker);
  const bool blocked = blocker != 0;
  EmbeddedKafka kafka(true);
  TestDatabase db;
  REQUIRE(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  db.exec(R"sql(
    DO $$
    DECLARE summary text := pg_get_viewdef('dora_summary');
    BEGIN
      DROP VIEW dora_summary;
      DROP VIEW deployment_changes;
      DROP TABLE deployment_change_sets;
      CREATE TABLE deployment_changes (
        service text COLLATE "C" NOT NULL, environment text COLLATE "C" NOT NULL,
        deploy_id text COLLATE "C" NOT NULL, change_id text COLLATE "C" NOT NULL,
        time_created timestamptz NOT NULL, deployed_at timestamptz NOT NULL,
        lead_time_seconds double precision NOT NULL,
        PRIMARY KEY (service, environment, deployed_at, deploy_id, change_id) INCLUDE (lead_time_seconds));
      EXECUTE 'CREATE VIEW dora_summary AS ' || summary;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fourkeys_test_bi_reader') THEN
        CREATE ROLE fourkeys_test_bi_reader;
      END IF;
    END
    $$;
    DELETE FROM schema_migrations WHERE version = 13;
    INSERT INTO deployment_changes VALUES
      ('svc', 'production', 'd1', 'bbb', '2026-01-01 10:00Z', '2026-01-01 12:00Z', 7200),
      ('svc', 'production', 'd1', 'aaa', '2026-01-01 11:00Z', '2026-01-01 12:00Z', 3600),
      ('svc', 'staging', 'd2', 'ccc', '2026-01-01 11:00Z', '2026-01-02 12:00Z', 90000),
      ('other', 'production', 'd1', 'aaa', '2026-01-03 11:00Z', '2026-01-03 11:00Z', -5);
    GRANT SELECT ON deployment_changes TO fourkeys_test_bi_reader;)sql");
  if (blocker == 1) {
    db.exec("CREATE MATERIALIZED VIEW lead_board AS SELECT service, avg(lead_time_seconds) FROM deployment_changes "
            "GROUP BY service");
  } else if (blocker == 2) {
    db.exec("CREATE VIEW lead_board AS SELECT service, deploy_id FROM deployment_changes "
            "WHERE lead_time_seconds >= 0 WITH CHECK OPTION");
  } else {
    db.exec(R"sql(
      CREATE VIEW team_lead_times WITH (security_barrier) AS
        SELECT deploy_id, change_id, lead_time_seconds FROM deployment_changes WHERE environment = 'production';
      COMMENT ON VIEW team_lead_times IS 'production lead times';
      COMMENT ON COLUMN team_lead_times.change_id IS 'the commit';
      GRANT SELECT ON team_lead_times TO fourkeys_test_bi_reader;
      CREATE VIEW team_lead_count AS SELECT count(*) AS n FROM team_lead_times;
      CREATE VIEW both_ways AS
        SELECT t.change_id FROM team_lead_times t JOIN deployment_changes c USING (deploy_id, change_id);)sql");
  }
  const std::vector<std::string> rows = {
      "other|production|d1|aaa|2026-01-03 11:00:00+00|2026-01-03 11:00:00+00|-5",
      "svc|production|d1|aaa|2026-01-01 11:00:00+00|2026-01-01 12:00:00+00|3600",
      "svc|production|d1|bbb|2026-01-01 10:00:00+00|2026-01-01 12:00:00+00|7200",
      "svc|staging|d2|ccc|2026-01-01 11:00:00+00|2026-01-02 12:00:00+00|90000"};
  const std::string all_rows =
      "SET TIME ZONE 'UTC'; SELECT service, environment, deploy_id, change_id, time_created, deployed_at, "
      "lead_time_seconds FROM deployment_changes ORDER BY 1, 2, 3, 4";
  const int migrated = run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"});
  CHECK(db.query(all_rows) == rows);
  if (blocked) {
    CHECK(migrated != 0);
    CHECK(count(db, "SELECT count(*) FROM schema_migrations WHERE version = 13") == 0);
    CHECK(db.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'deployment_changes'") ==
          "BASE TABLE");
    CHECK(count(db, "SELECT count(*) FROM lead_board") == (blocker == 1 ? 2 : 3));
    return;
  }
  REQUIRE(migrated == 0);
  CHECK(count(db, "SELECT count(*) FROM schema_migrations WHERE version = 13") == 1);
  CHECK(db.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'deployment_changes'") ==
        "VIEW");
  // One row per deployment, the changes in byte order.
  CHECK(db.query("SELECT service, deploy_id, change_ids, lead_times_seconds FROM deployment_change_sets "
                 "ORDER BY 1, 2") ==
        std::vector<std::string>{"other|d1|{aaa}|{-5}", "svc|d1|{aaa,bbb}|{3600,7200}", "svc|d2|{ccc}|{90000}"});
  CHECK(db.query("SELECT deploy_id, change_id, lead_time_seconds FROM team_lead_times ORDER BY 2, 3") ==
        std::vector<std::string>{"d1|aaa|-5", "d1|aaa|3600", "d1|bbb|7200"});
  CHECK(db.scalar("SELECT n FROM team_lead_count") == "3");
  // The join matches d1/aaa of both services both ways: 2 x 2, plus bbb.
  CHECK(db.scalar("SELECT count(*) FROM both_ways") == "5");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'deployment_changes', 'SELECT')") == "t");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'deployment_change_sets', 'SELECT')") == "t");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'team_lead_times', 'SELECT')") == "t");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'team_lead_count', 'SELECT')") == "f");
  CHECK(db.scalar("SELECT obj_description('team_lead_times'::regclass, 'pg_class')") == "production lead times");
  CHECK(db.scalar("SELECT col_description('team_lead_times'::regclass, 2)") == "the commit");
  CHECK(db.scalar("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'team_lead_times'::regclass") ==
        "security_barrier=true");
  CHECK(count(db, "SELECT count(*) FROM dora_summary") == 0);
}

TEST_CASE("migration 014 keeps changes' rows and what was built on it; the view shows each commit's earliest report",
          "[worker]") {
  // A database before migration 014: changes a table with rows (two of one
  // push, a merge commit without author or title), a role reading it, a BI
  // view with a comment. Or a materialized view on it instead, which the
  // migration cannot carry over: it must stop and change nothing.
  const bool blocked = GENERATE(false, true);
  INFO("a materialized view on changes: " << blocked);
  EmbeddedKafka kafka(true);
  TestDatabase db;
  REQUIRE(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  db.exec(R"sql(
    DROP VIEW changes;
    DROP TABLE change_reports;
    CREATE TABLE changes (
      service text COLLATE "C" NOT NULL, change_id text COLLATE "C" NOT NULL, time_created timestamptz NOT NULL,
      source text COLLATE "C" NOT NULL, event_type text COLLATE "C" NOT NULL, event_id text COLLATE "C" NOT NULL,
      repository text COLLATE "C", author text COLLATE "C", title text COLLATE "C",
      PRIMARY KEY (service, change_id) INCLUDE (time_created));
    DELETE FROM schema_migrations WHERE version = 14;
    INSERT INTO changes VALUES
      ('svc', 'bbb', '2026-01-01 10:00Z', 'github', 'push', 'github:p1', 'acme/svc', 'Ada', 'second'),
      ('svc', 'aaa', '2026-01-01 09:00Z', 'github', 'push', 'github:p1', 'acme/svc', 'Ada', 'first'),
      ('other', 'ccc', '2026-01-02 11:00Z', 'gitlab', 'merge_request', 'gitlab:m1', NULL, NULL, NULL);
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fourkeys_test_bi_reader') THEN
        CREATE ROLE fourkeys_test_bi_reader;
      END IF;
    END $$;
    GRANT SELECT ON changes TO fourkeys_test_bi_reader;)sql");
  if (blocked) {
    db.exec("CREATE MATERIALIZED VIEW commit_board AS SELECT service, count(*) FROM changes GROUP BY service");
  } else {
    db.exec("CREATE VIEW commit_board AS SELECT service, change_id, author FROM changes WHERE source = 'github';"
            "COMMENT ON VIEW commit_board IS 'commits by author';");
  }
  const std::vector<std::string> rows = {
      "other|ccc|2026-01-02 11:00:00+00|gitlab|merge_request|gitlab:m1|NULL|NULL|NULL",
      "svc|aaa|2026-01-01 09:00:00+00|github|push|github:p1|acme/svc|Ada|first",
      "svc|bbb|2026-01-01 10:00:00+00|github|push|github:p1|acme/svc|Ada|second"};
  const std::string all_rows =
      "SET TIME ZONE 'UTC'; SELECT service, change_id, time_created, source, event_type, event_id, repository, "
      "author, title FROM changes ORDER BY 1, 2";
  const int migrated = run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"});
  CHECK(db.query(all_rows) == rows);
  if (blocked) {
    CHECK(migrated != 0);
    CHECK(count(db, "SELECT count(*) FROM schema_migrations WHERE version = 14") == 0);
    CHECK(db.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'changes'") == "BASE TABLE");
    CHECK(count(db, "SELECT count(*) FROM commit_board") == 2);
    return;
  }
  REQUIRE(migrated == 0);
  CHECK(db.scalar("SELECT table_type FROM information_schema.tables WHERE table_name = 'changes'") == "VIEW");
  // One report per event, its commits in byte order.
  CHECK(db.query("SELECT event_id, service, change_ids, authors, titles FROM change_reports ORDER BY 1") ==
        std::vector<std::string>{"github:p1|svc|{aaa,bbb}|{Ada,Ada}|{first,second}",
                                 "gitlab:m1|other|{ccc}|{NULL}|{NULL}"});
  CHECK(db.query("SELECT change_id, author FROM commit_board ORDER BY 1") ==
        std::vector<std::string>{"aaa|Ada", "bbb|Ada"});
  CHECK(db.scalar("SELECT obj_description('commit_board'::regclass, 'pg_class')") == "commits by author");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'changes', 'SELECT')") == "t");
  CHECK(db.scalar("SELECT has_table_privilege('fourkeys_test_bi_reader', 'change_reports', 'SELECT')") == "t");
  // Later reports of a commit: an earlier one takes its place whatever
  // order they come in, a later one (or a tie lost on event id) does not;
  // of an event naming a commit twice at one time, the first counts.
  db.exec(R"sql(
    INSERT INTO change_reports VALUES
      ('github:p3', 'svc', 'github', 'push', 'acme/svc', '{bbb,ddd}',
       '{2026-01-01 08:00Z,2026-01-03 08:00Z}', '{Bo,NULL}', '{again,new}'),
      ('github:p0', 'svc', 'github', 'push', 'acme/svc', '{aaa}', '{2026-01-01 09:00Z}', '{Cy}', '{tie}'),
      ('github:p9', 'svc', 'github', 'push', 'acme/svc', '{aaa}', '{2026-01-05 09:00Z}', '{Di}', '{late}'),
      ('github:p4', 'svc', 'github', 'push', 'acme/svc', '{eee,eee}', '{2026-01-04 08:00Z,2026-01-04 08:00Z}',
       '{First,Second}', '{one,two}'))sql");
  CHECK(db.query("SET TIME ZONE 'UTC'; SELECT change_id, time_created, event_id, author, title FROM changes "
                 "WHERE service = 'svc' ORDER BY 1") ==
        std::vector<std::string>{"aaa|2026-01-01 09:00:00+00|github:p0|Cy|tie",
                                 "bbb|2026-01-01 08:00:00+00|github:p3|Bo|again",
                                 "ddd|2026-01-03 08:00:00+00|github:p3|NULL|new",
                                 "eee|2026-01-04 08:00:00+00|github:p4|First|one"});
  // A NULL commit time or sha is refused, as the table's columns refused it.
  CHECK_THROWS(db.exec("INSERT INTO change_reports VALUES ('github:p5', 'svc', 'github', 'push', NULL, "
                       "'{fff}', ARRAY[NULL]::timestamptz[], '{x}', '{y}')"));
}

TEST_CASE("a push, a deployment and an incident end in the metric tables, to the second", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const std::string svc = "acme/checkout";
  const std::string c1(40, '1'), c2(40, '2');
  publisher.publish(svc, push_envelope("github:p1", svc, std::string(40, '0'), c2,
                                       {{c1, day_time(2, "10:00:00")}, {c2, day_time(2, "11:00:00")}}));
  publisher.publish(svc, deployment_envelope("github:d1", svc, deployed("555", c2, "success", day_time(2, "12:00:00"))));
  publisher.publish(svc, incident_envelope("pagerduty:i1", svc,
                                           incident("PINC1", "open", day_time(2, "12:30:00"))));
  publisher.publish(svc, incident_envelope("pagerduty:i2", svc,
                                           incident("PINC1", "resolved", day_time(2, "12:30:00"), day_time(2, "13:30:00"))));

  REQUIRE(eventually([&] { return all_stored(db, 4) && count(db, "SELECT count(*) FROM incidents WHERE time_resolved IS NOT NULL") == 1; }, 30s));
  CHECK(db.query("SELECT change_id, lead_time_seconds FROM deployment_changes ORDER BY change_id") ==
        std::vector<std::string>{c1 + "|7200", c2 + "|3600"});
  CHECK(db.query("SELECT deploy_id, commit_sha, status, is_rollback, is_hotfix, caused_incident FROM deployments") ==
        std::vector<std::string>{"github:555|" + c2 + "|success|f|f|t"});
  CHECK(db.query("SELECT incident_id, deploy_id, attribution, extract(epoch FROM resolved_at - detected_at) "
                 "FROM incidents") == std::vector<std::string>{"PINC1|github:555|window|3600.000000"});
  CHECK(db.query("SELECT deployments, failed_deployments, changes_deployed, lead_time_median_seconds, "
                 "incidents_opened, incidents_resolved, restore_median_seconds FROM metrics_daily") ==
        std::vector<std::string>{"1|1|2|5400|1|1|3600"});
  CHECK(db.query("SELECT deployments, change_failure_rate, lead_time_median_seconds, restore_median_seconds, "
                 "change_failure_rate_rating FROM dora_summary WHERE window_days = 7") ==
        std::vector<std::string>{"1|100|5400|3600|low"});
  // The seed's weekly change-failure-rate SQL runs unchanged.
  CHECK(db.query("SELECT count(*) FROM deployments WHERE environment = 'production' "
                 "AND deployed_at >= NOW() - INTERVAL '30 days'") == std::vector<std::string>{"1"});
  CHECK(count(db, "SELECT count(*) FROM ingest_offsets") >= 1);
  rebuild_equals_incremental(kafka.brokers(), db);
}

TEST_CASE("a commit reported again keeps its earliest report, whichever batch brings which", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const std::string svc = "acme/merges";
  const std::string x(40, 'c'), y(40, 'd');
  auto change_of = [&](const std::string& sha) {
    return db.query("SELECT to_char(time_created AT TIME ZONE 'UTC', 'HH24:MI'), event_id FROM changes "
                    "WHERE change_id = '" + sha + "'");
  };
  // A merge commit reported first, by its pull request.
  publisher.publish(svc, merge_envelope("github:m1", svc, x, day_time(1, "12:00:00")));
  REQUIRE(eventually([&] { return all_stored(db, 1); }, 30s));
  CHECK(change_of(x) == std::vector<std::string>{"12:00|github:m1"});
  // Its push, earlier, and a later report of it, in one batch: the push wins
  // over the row already stored and over the other report.
  publisher.publish_all({{svc, merge_envelope("github:m2", svc, x, day_time(1, "13:00:00"))},
                         {svc, push_envelope("github:p1", svc, std::string(40, '0'), x, {{x, day_time(1, "10:00:00")}})}});
  REQUIRE(eventually([&] { return all_stored(db, 3); }, 30s));
  CHECK(change_of(x) == std::vector<std::string>{"10:00|github:p1"});
  // A later report of a stored commit beside a new commit: the stored one
  // stays, the new one is stored.
  publisher.publish_all({{svc, merge_envelope("github:m3", svc, x, day_time(1, "11:00:00"))},
                         {svc, push_envelope("github:p2", svc, x, y, {{y, day_time(1, "14:00:00")}})}});
  REQUIRE(eventually([&] { return all_stored(db, 5); }, 30s));
  CHECK(change_of(x) == std::vector<std::string>{"10:00|github:p1"});
  CHECK(change_of(y) == std::vector<std::string>{"14:00|github:p2"});
  CHECK(count(db, "SELECT count(*) FROM changes") == 2);
  rebuild_equals_incremental(kafka.brokers(), db);
}

TEST_CASE("late pushes, redeliveries and re-publishes change nothing twice", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const std::string svc = "acme/late";
  const std::string c1(40, 'a'), c2(40, 'b');
  // The deployment arrives before the push that explains it.
  const auto deploy = deployment_envelope("github:d1", svc, deployed("77", c2, "success", day_time(1, "12:00:00")));
  publisher.publish(svc, deploy);
  REQUIRE(eventually([&] { return count(db, "SELECT count(*) FROM deployments") == 1; }, 30s));
  CHECK(count(db, "SELECT count(*) FROM deployment_changes") == 0);
  const auto push = push_envelope("github:p1", svc, std::string(40, '0'), c2,
                                  {{c1, day_time(1, "09:00:00")}, {c2, day_time(1, "11:30:00")}});
  publisher.publish(svc, push);
  REQUIRE(eventually([&] { return count(db, "SELECT count(*) FROM deployment_changes") == 2; }, 30s));
  CHECK(db.query("SELECT lead_time_seconds FROM deployment_changes ORDER BY change_id") ==
        std::vector<std::string>{"10800", "1800"});
  const auto before = derived_tables(db);

  // The same envelopes again, several times, in one batch and across batches.
  publisher.publish_all({{svc, push}, {svc, deploy}, {svc, push}, {svc, deploy}});
  publisher.publish(svc, deploy);
  const std::string marker = deployment_envelope("github:marker", "acme/marker", deployed("1", c1, "success", day_time(0, "00:00:01")));
  publisher.publish("acme/marker", marker);
  REQUIRE(eventually([&] { return all_stored(db, 3); }, 30s));
  CHECK(count(db, "SELECT count(*) FROM events_raw WHERE service = 'acme/late'") == 2);
  CHECK(count(db, "SELECT count(*) FROM pushes") == 1);
  CHECK(count(db, "SELECT count(*) FROM deployment_events WHERE service = 'acme/late'") == 1);
  auto after = derived_tables(db);
  // Only the marker service's rows are new.
  std::vector<std::string> after_without_marker;
  for (auto& row : after) {
    if (row.find("acme/marker") == std::string::npos) after_without_marker.push_back(row);
  }
  CHECK(after_without_marker == before);
  REQUIRE(eventually([&] {
    const auto m = worker.get("/metrics").second;
    return m.find("fourkeys_worker_events_duplicate_total 5") != std::string::npos;
  }, 10s));
}

TEST_CASE("random histories in random order with duplicates give the reference result and the rebuild", "[worker][property]") {
  for (std::uint32_t seed : {11u, 23u, 42u}) {
    INFO("seed " << seed);
    EmbeddedKafka kafka(true);  // a topic of its own per history
    TestDatabase db;
    WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "37"});
    REQUIRE(worker.wait_ready(30s));
    publish_all_and_check(kafka.brokers(), db, random_history(6, 12, seed, 0.15));
    // The whole history was waiting in Kafka: batches were applied ahead,
    // on the second connection, while the batch before them was finished
    // (redeliveries among them wait for, or conflict with, that batch).
    const auto pipelined = metric_samples(worker.get("/metrics").second, "fourkeys_worker_batches_pipelined_total");
    REQUIRE(pipelined.count(""));
    CHECK(pipelined.at("") > 0);
  }
}

TEST_CASE("histories delivered in the order they happened (the worker links forward) give the same result",
          "[worker][property]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "23"});
  REQUIRE(worker.wait_ready(30s));
  publish_in_order_and_check(kafka.brokers(), db, random_history(5, 20, 77, 0.1, false));
  // Most batches were linked forward from memory.
  const auto linked = metric_samples(worker.get("/metrics").second, "fourkeys_worker_services_linked_total");
  REQUIRE(linked.count("how=\"extended\""));
  CHECK(linked.at("how=\"extended\"") > 10);
}

TEST_CASE("a cache too small for every service forgets some and still gives the same result", "[worker][property]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  // A twentieth of a MiB: a few of these services' states, so most batches
  // take some services from memory and read the others from Postgres. (It
  // shrinks with the states: at 0.1 MiB, once states were smaller, the
  // sanitizer build's run counted only 8 reads.)
  WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "23", "--cache-mb", "0.05"});
  REQUIRE(worker.wait_ready(30s));
  publish_in_order_and_check(kafka.brokers(), db, random_history(5, 40, 78, 0.1, false));
  const auto samples = metric_samples(worker.get("/metrics").second, "fourkeys_worker_services_linked_total");
  const auto linked = [&](const std::string& how) {
    const std::string labels = "how=\"" + how + "\"";
    REQUIRE(samples.count(labels));
    return samples.at(labels);
  };
  // Both happened: services read again after being forgotten (more reads
  // than the 5 services' first ones), and services taken from memory.
  const double loaded = linked("loaded"), remembered = linked("extended") + linked("derived");
  INFO("loaded " << loaded << ", remembered " << remembered);
  // (Exactly more than the first reads: how many more depends on how the
  // batches fell, which the machine's load changes; a run under ctest -j2
  // counted 8.)
  CHECK(loaded > 5);
  CHECK(remembered > 5);
}

TEST_CASE("states pruned to their last hour (rows before it final) still give the reference result and the rebuild",
          "[worker][property]") {
  for (const bool shuffled : {false, true}) {
    INFO((shuffled ? "random order, duplicates" : "in order"));
    EmbeddedKafka kafka(true);
    TestDatabase db;
    // Each service's state keeps an hour before its latest deployment and
    // forgets the rest as soon as a deployment can go: these histories
    // span days, so most batches link forward from pruned states, and the
    // merges, rollbacks and late events among them reach past the cut.
    WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "23", "--keep-linked", "1h", "--prune-at", "1"});
    REQUIRE(worker.wait_ready(30s));
    const History h = random_history(4, 60, shuffled ? 91 : 90, 0.1, shuffled);
    if (shuffled) {
      publish_all_and_check(kafka.brokers(), db, h);
    } else {
      publish_in_order_and_check(kafka.brokers(), db, h);
    }
    const auto metrics = worker.get("/metrics").second;
    const auto pruned = metric_samples(metrics, "fourkeys_worker_pruned_states_total");
    const auto linked = metric_samples(metrics, "fourkeys_worker_services_linked_total");
    REQUIRE(pruned.count("event=\"pruned\""));
    REQUIRE(linked.count("how=\"extended\""));
    INFO("pruned " << pruned.at("event=\"pruned\"") << ", read again " << pruned.at("event=\"read_again\"")
                   << ", extended " << linked.at("how=\"extended\"") << ", linked again "
                   << (linked.count("how=\"derived\"") ? linked.at("how=\"derived\"") : 0.0));
    CHECK(pruned.at("event=\"pruned\"") > 8);
    if (shuffled) {
      // Events from before a cut arrive: services are read again.
      CHECK(pruned.at("event=\"read_again\"") > 0);
    } else {
      // Merges report commits pushed before: pruned states are linked
      // again from their cut, and the rest forward.
      REQUIRE(linked.count("how=\"derived\""));
      CHECK(linked.at("how=\"derived\"") > 0);
      CHECK(linked.at("how=\"extended\"") > 10);
    }
  }
}

TEST_CASE("a worker killed 20 times mid-stream stores every event exactly once", "[worker][faults]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  const History h = random_history(20, 15, 7, 0.1);
  EnvelopePublisher publisher(kafka.brokers());
  std::atomic<bool> done{false};
  std::thread producer([&] {
    const auto messages = as_messages(h.events);
    for (std::size_t i = 0; i < messages.size(); i += 50) {
      publisher.publish_all({messages.begin() + static_cast<std::ptrdiff_t>(i),
                             messages.begin() + static_cast<std::ptrdiff_t>(std::min(i + 50, messages.size()))});
      std::this_thread::sleep_for(20ms);
    }
    done = true;
  });
  std::mt19937 rng(99);
  int kills = 0;
  while (kills < 20) {
    WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "25"});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 1500)(rng)));
    worker.process().signal(SIGKILL);
    worker.process().wait(10s);
    ++kills;
  }
  producer.join();
  REQUIRE(done);
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(eventually([&] { return all_stored(db, h.expected.unique_events); }, 120s));
  REQUIRE(eventually([&] { return all_consumed(db, h.events.size()); }, 60s));
  CHECK(kills == 20);
  // Each event is one push, one merged pull request (a change row only), one
  // deployment report or one incident report: none stored twice, none lost.
  CHECK(count(db, "SELECT count(*) FROM pushes") + count(db, "SELECT count(*) FROM deployment_events") +
            count(db, "SELECT count(*) FROM incident_events") +
            count(db, "SELECT count(*) FROM events_raw WHERE event_type = 'pull_request'") ==
        static_cast<long long>(h.expected.unique_events));
  check_against_reference(db, h.expected);
  rebuild_equals_incremental(kafka.brokers(), db);
}

TEST_CASE("Postgres stopped and restarted mid-stream: nothing lost or doubled", "[worker][faults]") {
  EmbeddedKafka kafka(true);
  PostgresCluster cluster;
  TestDatabase db(&cluster);
  WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-size", "20"});
  REQUIRE(worker.wait_ready(30s));
  const History h = random_history(8, 12, 5, 0.1);
  const auto messages = as_messages(h.events);
  const std::size_t half = messages.size() / 2;
  EnvelopePublisher publisher(kafka.brokers());
  publisher.publish_all({messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(half)});
  std::this_thread::sleep_for(300ms);
  cluster.stop();
  publisher.publish_all({messages.begin() + static_cast<std::ptrdiff_t>(half), messages.end()});
  REQUIRE(eventually([&] { return worker.get("/readyz").first == 503; }, 20s));
  std::this_thread::sleep_for(2s);
  cluster.start();
  REQUIRE(eventually([&] { return all_stored(db, h.expected.unique_events); }, 60s));
  REQUIRE(worker.wait_ready(30s));
  REQUIRE(eventually([&] { return all_consumed(db, h.events.size()); }, 30s));
  check_against_reference(db, h.expected);
  rebuild_equals_incremental(kafka.brokers(), db);
}

TEST_CASE("two workers in one group give the same tables as one worker", "[worker][scale]") {
  EmbeddedKafka kafka(true);
  const History h = random_history(24, 8, 31, 0.1);
  EnvelopePublisher publisher(kafka.brokers());
  publisher.publish_all(as_messages(h.events));

  TestDatabase pair_db, single_db;
  {
    WorkerProcess a(kafka.brokers(), pair_db.url(), {"--group-id", "pair"});
    WorkerProcess b(kafka.brokers(), pair_db.url(), {"--group-id", "pair"});
    WorkerProcess single(kafka.brokers(), single_db.url(), {"--group-id", "single"});
    REQUIRE(eventually([&] { return all_stored(pair_db, h.expected.unique_events) && all_stored(single_db, h.expected.unique_events); }, 90s));
    REQUIRE(eventually([&] {
      return all_consumed(pair_db, h.events.size()) && all_consumed(single_db, h.events.size());
    }, 60s));
    // Both members of the pair took part.
    CHECK(count(pair_db, "SELECT count(DISTINCT kafka_partition) FROM events_raw") > 1);
  }
  CHECK(derived_tables(pair_db) == derived_tables(single_db));
  check_against_reference(pair_db, h.expected);
}

TEST_CASE("a worker that starts on a caught-up topic reports lag 0 for every partition", "[worker][lag]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  const History h = random_history(6, 4, 7, 0);
  EnvelopePublisher publisher(kafka.brokers());
  publisher.publish_all(as_messages(h.events));
  {
    WorkerProcess first(kafka.brokers(), db.url());
    REQUIRE(eventually([&] { return all_consumed(db, h.events.size()); }, 60s));
  }
  // Nothing new: the second worker reads no message, and still knows where
  // it stands on each partition (from the offsets stored in Postgres).
  WorkerProcess second(kafka.brokers(), db.url());
  std::map<std::string, double> lag;
  REQUIRE(eventually([&] {
    lag = metric_samples(second.get("/metrics").second, "fourkeys_worker_consumer_lag");
    return lag.size() == 6;
  }, 30s));
  for (const auto& [partition, value] : lag) {
    INFO(partition);
    CHECK(value == 0);
  }
}

TEST_CASE("events that cannot be stored go to the dead-letter topic and the batch goes on", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-wait", "500ms"});
  REQUIRE(worker.wait_ready(30s));
  TopicReader dead_letters(kafka.brokers(), "fourkeys.deadletter.v1", TopicReader::Start::end);
  EnvelopePublisher publisher(kafka.brokers());
  // Too long for a btree index entry (and random, so compression cannot
  // shrink it): passes the schema, fails the insert.
  std::string huge_service;
  std::mt19937 rng(1);
  for (int i = 0; i < 9000; ++i) huge_service += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  const std::string c1(40, 'c');
  publisher.publish_all({
      {"acme/ok", deployment_envelope("github:ok1", "acme/ok", deployed("1", c1, "success", day_time(1, "10:00:00")))},
      {"acme/ok", "this is not an envelope"},
      {"acme/ok", deployment_envelope("github:bad1", huge_service, deployed("2", c1, "success", day_time(1, "10:00:00")))},
      {"acme/ok", deployment_envelope("github:ok2", "acme/ok", deployed("3", c1, "success", day_time(1, "11:00:00")))},
  });
  REQUIRE(eventually([&] { return all_stored(db, 2); }, 30s));
  auto decode = dead_letters.find([](const ReadMessage& m) { return m.header("fourkeys_stage") == "decode"; }, 20s);
  REQUIRE(decode);
  CHECK(decode->value == "this is not an envelope");
  CHECK(decode->header("fourkeys_reason")->find("not JSON") != std::string::npos);
  auto apply = dead_letters.find([](const ReadMessage& m) { return m.header("fourkeys_stage") == "apply"; }, 20s);
  REQUIRE(apply);
  CHECK(apply->value.find("github:bad1") != std::string::npos);
  CHECK(count(db, "SELECT count(*) FROM deployments WHERE service = 'acme/ok'") == 2);
  const auto metrics = worker.get("/metrics").second;
  CHECK(metrics.find("fourkeys_worker_dead_letters_total{stage=\"apply\"} 1") != std::string::npos);
  CHECK(metrics.find("fourkeys_worker_dead_letters_total{stage=\"decode\"} 1") != std::string::npos);
}

TEST_CASE("a worker whose database a newer worker migrated stores nothing and dead-letters nothing", "[worker]") {
  // An upgrade that did not stop this worker first: the database now has a
  // migration this worker does not know, so its tables may not be what it
  // writes. It must neither write nor send the events to the dead-letter
  // topic (as a failing statement would), say so on /readyz, and store the
  // events once the schema is one it knows.
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url(), {"--batch-wait", "200ms"});
  REQUIRE(worker.wait_ready(30s));
  TopicReader dead_letters(kafka.brokers(), "fourkeys.deadletter.v1", TopicReader::Start::end);
  EnvelopePublisher publisher(kafka.brokers());
  const std::string svc = "acme/upgrade", c1(40, '1');
  publisher.publish(svc, push_envelope("github:u1", svc, std::string(40, '0'), c1, {{c1, day_time(2, "10:00:00")}}));
  REQUIRE(eventually([&] { return all_stored(db, 1); }, 30s));

  db.exec("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_a_newer_workers.sql')");
  publisher.publish(svc, deployment_envelope("github:u2", svc, deployed("7", c1, "success", day_time(2, "12:00:00"))));
  REQUIRE(eventually(
      [&] {
        const auto [status, body] = worker.get("/readyz");
        return status == 503 && body.find("newer worker") != std::string::npos;
      },
      30s));
  std::this_thread::sleep_for(2s);  // retries meanwhile
  CHECK(count(db, "SELECT count(*) FROM events_raw") == 1);
  CHECK_FALSE(dead_letters.find([](const ReadMessage&) { return true; }, 1s));

  db.exec("DELETE FROM schema_migrations WHERE version = 9999");
  REQUIRE(eventually([&] { return all_stored(db, 2); }, 30s));
  CHECK(db.query("SELECT change_id, lead_time_seconds FROM deployment_changes") ==
        std::vector<std::string>{c1 + "|7200"});
  CHECK(worker.wait_ready(30s));
  CHECK_FALSE(dead_letters.find([](const ReadMessage&) { return true; }, 1s));
}

TEST_CASE("a partition emptied and started again (the embedded broker after a restart) is read from its start",
          "[worker][gap]") {
  // The database kept the offsets of a broker that has since lost its log:
  // every partition now ends before them. What arrives now was never stored
  // and must be, not skipped until the partition passes the old offsets.
  EmbeddedKafka kafka(true);
  TestDatabase db;
  REQUIRE(run_worker_once(kafka.brokers(), db.url(), {"--migrate-only"}) == 0);
  db.exec("INSERT INTO ingest_offsets (topic, partition, next_offset) "
          "SELECT 'fourkeys.events.v1', p, 500 FROM generate_series(0, 5) AS p");
  EnvelopePublisher publisher(kafka.brokers());
  std::vector<std::pair<std::string, std::string>> messages;
  for (int i = 0; i < 24; ++i) {  // services spread over the partitions
    const std::string svc = "acme/reset-" + std::to_string(i);
    messages.emplace_back(svc, deployment_envelope("github:r" + std::to_string(i), svc,
                                                   deployed(std::to_string(i), std::string(40, 'a'), "success",
                                                            day_time(2, "10:00:00"))));
  }
  publisher.publish_all(messages);
  const long long partitions_used = [&] {
    WorkerProcess worker(kafka.brokers(), db.url());
    REQUIRE(eventually([&] { return all_stored(db, 24); }, 30s));
    CHECK(worker.log().find("ends before the offset the database stored") != std::string::npos);
    worker.process().signal(SIGTERM);
    REQUIRE(worker.process().wait(20s) == 0);
    return count(db, "SELECT count(DISTINCT kafka_partition) FROM events_raw");
  }();
  CHECK(partitions_used > 1);
  // The stored offsets are this broker's now, so the next start neither
  // skips what comes next nor reads anything twice.
  CHECK(count(db, "SELECT count(*) FROM ingest_offsets WHERE next_offset >= 500") == 0);
  CHECK(count(db, "SELECT sum(next_offset) FROM ingest_offsets") == 24);
  publisher.publish("acme/reset-0", deployment_envelope("github:r24", "acme/reset-0",
                                                        deployed("24", std::string(40, 'b'), "success",
                                                                 day_time(2, "11:00:00"))));
  WorkerProcess again(kafka.brokers(), db.url());
  REQUIRE(eventually([&] { return all_stored(db, 25); }, 30s));
  rebuild_equals_incremental(kafka.brokers(), db);
}

TEST_CASE("SIGTERM finishes the current batch and exits cleanly", "[worker]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const History h = random_history(3, 4, 3, 0);
  publisher.publish_all(as_messages(h.events));
  REQUIRE(eventually([&] { return all_stored(db, h.expected.unique_events); }, 30s));
  worker.process().signal(SIGTERM);
  CHECK(worker.process().wait(20s) == 0);
  CHECK(worker.log().find("\"msg\":\"stopped\"") != std::string::npos);
  // The allocator the build linked (tcmalloc; ASan's in the sanitizer
  // builds) is the one the running program's malloc comes from.
  CHECK(worker.log().find("\"heap\":\"" FOURKEYS_WORKER_HEAP "\"") != std::string::npos);
}

TEST_CASE("offsets Kafka no longer has are a reported gap, never a silent jump", "[worker][gap]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  const std::string svc = "acme/gap";
  EnvelopePublisher publisher(kafka.brokers());
  {
    WorkerProcess worker(kafka.brokers(), db.url());
    REQUIRE(worker.wait_ready(30s));
    publisher.publish(svc, deployment_envelope("github:g0", svc, deployed("0", std::string(40, 'e'), "success",
                                                                          day_time(3, "10:00:00"))));
    REQUIRE(eventually([&] { return all_stored(db, 1); }, 30s));
    worker.process().signal(SIGTERM);
    REQUIRE(worker.process().wait(20s) == 0);
  }
  const std::string partition = db.scalar("SELECT kafka_partition FROM events_raw");
  // While no worker runs, more than the embedded broker keeps (5 MiB per
  // partition) arrives for the same service, so the oldest unread messages
  // are dropped.
  // Random, so that the producer's compression cannot shrink it.
  std::mt19937 rng(5);
  std::string padding;
  for (int i = 0; i < 100'000; ++i) padding += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  for (int chunk = 0; chunk < 8; ++chunk) {
    std::vector<std::pair<std::string, std::string>> messages;
    for (int i = 0; i < 10; ++i) {
      const int n = chunk * 10 + i + 1;
      auto env = deployment_envelope("github:g" + std::to_string(n), svc,
                                     deployed(std::to_string(n), std::string(40, 'e'), "success", day_time(2, "10:00:00")));
      // A large raw body: the envelope's raw is the last field.
      env.insert(env.rfind('}', env.size() - 2), ",\"padding\":\"" + padding + "\"");
      messages.emplace_back(svc, env);
    }
    publisher.publish_all(messages);
  }

  {
    WorkerProcess halted(kafka.brokers(), db.url());
    REQUIRE(eventually([&] { return halted.log().find("events lost") != std::string::npos; }, 30s));
    const auto ready = halted.get("/readyz");
    CHECK(ready.first == 503);
    CHECK(ready.second.find("partition " + partition + " halted at a gap") != std::string::npos);
    CHECK(halted.get("/metrics").second.find("fourkeys_worker_offset_gaps_total{partition=\"" + partition + "\"} 1") !=
          std::string::npos);
    CHECK(count(db, "SELECT count(*) FROM ingest_gaps WHERE partition = " + partition + " AND from_offset = 1") == 1);
    std::this_thread::sleep_for(1s);
    CHECK(count(db, "SELECT count(*) FROM events_raw") == 1);  // nothing read past the gap
  }
  {
    WorkerProcess going_on(kafka.brokers(), db.url(), {"--on-gap", "continue"});
    REQUIRE(going_on.wait_ready(30s));
    REQUIRE(eventually([&] { return count(db, "SELECT count(*) FROM events_raw") > 1; }, 30s));
    const long long to = std::stoll(db.scalar("SELECT to_offset FROM ingest_gaps"));
    CHECK(to > 1);
    // Every message Kafka still had is stored, and only those.
    REQUIRE(eventually([&] { return count(db, "SELECT count(*) FROM events_raw") == 1 + (81 - to); }, 30s));
  }
}

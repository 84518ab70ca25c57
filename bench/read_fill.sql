-- bench/read_fill.sql: fills a freshly migrated fourkeys database with a year
-- of history for the read-side benchmark (bench/read.sh), straight into the
-- derived tables the read API and the DORA series read: deployment_attempts,
-- deployment_changes, incidents, metrics_daily (and service_versions). The
-- base tables (events_raw, changes, ...) stay empty, so `--rebuild` on this
-- database would empty it again; the benchmark is about reading.
--
--   psql -v services=500 -v deploys=2000 -v changes=10 -v incidents_per_week=3 \
--        -f bench/read_fill.sql "$FOURKEYS_DATABASE_URL"
--
-- Everything is production (the environment every seed query and the API's
-- default read), so each service's windows hold as many rows as the sizes
-- allow. Rows are written in time order across services, as a worker
-- following the event stream writes them: one service's rows are spread over
-- the whole table, not packed together, which is what the indexes face in
-- production. Deterministic for given sizes (setseed), relative to now().

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
-- The load is thrown away with the cluster; nothing to wait for.
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET work_mem = '1GB';
-- A synchronized scan may start mid-table and break the time order the
-- INSERTs below rely on.
SET synchronize_seqscans = off;
SET TIME ZONE 'UTC';

SELECT count(*) > 0 AS not_empty FROM deployment_attempts \gset
\if :not_empty
  \echo 'read_fill.sql: deployment_attempts is not empty; use a fresh database'
  \quit
\endif

SELECT now() AS anchor \gset
SELECT setseed(0.4242) AS seeded \gset

DROP SCHEMA IF EXISTS bench_fill CASCADE;
CREATE SCHEMA bench_fill;

-- Standard normal (Box-Muller).
CREATE FUNCTION bench_fill.normal() RETURNS double precision LANGUAGE sql VOLATILE AS
$$ SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) $$;

-- A lead time in seconds: log-normal around 6 hours (95 % between ~15 minutes
-- and ~5 days, a tail of weeks), and 0.5 % slightly negative (a committer's
-- clock ahead of the deployer's), which the metrics must leave out.
-- Milliseconds, as the worker keeps times.
CREATE FUNCTION bench_fill.lead() RETURNS double precision LANGUAGE sql VOLATILE AS
$$ SELECT round(1000 * CASE WHEN random() < 0.005 THEN -600 * random()
                            ELSE exp(ln(21600) + 1.6 * bench_fill.normal()) END) / 1000 $$;

-- 40 random hex digits, a commit sha's shape (sha256() and md5() cost
-- microseconds a call in Postgres 15, too many for ten million rows).
CREATE FUNCTION bench_fill.hex40() RETURNS text LANGUAGE sql VOLATILE AS
$$ SELECT lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || lpad(to_hex((random() * 4294967295)::bigint), 8, '0')
       || lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || lpad(to_hex((random() * 4294967295)::bigint), 8, '0')
       || lpad(to_hex((random() * 4294967295)::bigint), 8, '0') $$;

-- Indexes and keys are dropped for the load and built once at the end: far
-- cheaper than keeping them up to date row by row. Taken from the catalog, so
-- that whatever the migrations define is what gets rebuilt.
CREATE TABLE bench_fill.saved_indexes AS
SELECT CASE WHEN con.oid IS NOT NULL
            THEN format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, con.conname, pg_get_constraintdef(con.oid))
            ELSE pg_get_indexdef(i.indexrelid) END AS create_sql,
       CASE WHEN con.oid IS NOT NULL
            THEN format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, con.conname)
            ELSE format('DROP INDEX %s', i.indexrelid::regclass) END AS drop_sql
FROM pg_index i
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid IN ('deployment_attempts'::regclass, 'deployment_change_sets'::regclass,
                     'incidents'::regclass, 'metrics_daily'::regclass);
SELECT drop_sql FROM bench_fill.saved_indexes \gexec

-- Deployments: per service, `deploys` successful ones and a tenth as many
-- unsuccessful attempts, at uniformly random times over the last 365 days.
-- deploy_id grows with time within a service (as CI systems number them).
-- head_lead is the lead time of the deployed commit (the last of its changes).
-- A deployment's change ids are the rotations of one random sha (distinct
-- within the deployment, all the primary key needs), the deployed commit
-- (main_commit) being rotation number `changes`.
CREATE UNLOGGED TABLE bench_fill.raw_deploys AS
SELECT s, n <= :deploys AS ok,
       date_trunc('milliseconds', :'anchor'::timestamptz - random() * interval '365 days') AS t,
       bench_fill.hex40() AS sha
FROM generate_series(1, :services) s, generate_series(1, :deploys + :deploys / 10) n;

CREATE UNLOGGED TABLE bench_fill.deploys AS
SELECT s, 'svc-' || s AS service,
       (s::bigint * 10000000 + row_number() OVER (PARTITION BY s ORDER BY t))::text AS deploy_id,
       t,
       CASE WHEN ok THEN 'success'
            ELSE (ARRAY['failure', 'failure', 'failure', 'failure', 'failure', 'failure', 'failure',
                        'error', 'cancelled', 'cancelled'])[1 + floor(random() * 10)::int] END AS status,
       date_trunc('milliseconds', t - (120 + 600 * random()) * interval '1 second') AS started_at,
       ok AND random() < 0.02 AS rollback_flagged,
       ok AND random() < 0.01 AS rollback_detected,
       ok AND random() < 0.03 AS is_hotfix,
       bench_fill.lead() AS head_lead,
       sha, substr(sha, :changes + 1) || left(sha, :changes) AS main_commit,
       CASE WHEN ok THEN :changes ELSE 0 END AS change_count
FROM bench_fill.raw_deploys
ORDER BY t;
CREATE INDEX ON bench_fill.deploys (service, t) WHERE status = 'success';
DROP TABLE bench_fill.raw_deploys;

-- Changes: `changes` per successful deployment, each a commit with its own
-- lead time; the last one is the deployed head (main_commit, head_lead).
-- One row of deployment_change_sets per deployment, its changes in byte
-- order, as the worker writes them. The deployments are the outer scan, in
-- time order, so the rows go in in time order. The innermost query,
-- volatile, is not flattened: one lead time per change, used twice.
INSERT INTO deployment_change_sets (service, environment, deployed_at, deploy_id, change_ids, times_created,
                                    lead_times_seconds)
SELECT d.service, 'production', d.t, d.deploy_id, c.change_ids, c.times_created, c.leads
FROM bench_fill.deploys d
CROSS JOIN LATERAL (
  SELECT array_agg(x.change_id ORDER BY x.change_id COLLATE "C") AS change_ids,
         array_agg(d.t - x.lead * interval '1 second' ORDER BY x.change_id COLLATE "C") AS times_created,
         array_agg(x.lead ORDER BY x.change_id COLLATE "C") AS leads
  FROM (SELECT substr(d.sha, j + 1) || left(d.sha, j) AS change_id,
               CASE WHEN j = d.change_count THEN d.head_lead ELSE bench_fill.lead() END AS lead
        FROM generate_series(1, d.change_count) j) x) c
WHERE d.change_count > 0;

-- Incidents: `incidents_per_week` per service on average, at random times;
-- time to restore log-normal around 90 minutes (minutes to days). Those not
-- restored by now are still open. Each is attributed as the worker does by
-- default: to the service's last successful deployment in the 24 hours
-- before it (window), or, for 30 % of them, to the deployment of the root
-- cause commit PagerDuty names (root_cause, here that deployment's head).
CREATE UNLOGGED TABLE bench_fill.raw_incidents AS
SELECT s, 'svc-' || s AS service, 'inc-' || s || '-' || n AS incident_id,
       date_trunc('milliseconds', :'anchor'::timestamptz - random() * interval '365 days') AS created,
       round(1000 * exp(ln(5400) + 1.2 * bench_fill.normal())) / 1000 AS restore_seconds,
       60 + 540 * random() AS ack_seconds,
       random() < 0.3 AS names_root_cause,
       (ARRAY['critical', 'high', 'high', 'low', 'low', 'low'])[1 + floor(random() * 6)::int] AS severity
FROM generate_series(1, :services) s,
     generate_series(1, greatest(1, round(:incidents_per_week * 365 / 7.0)::int)) n;

CREATE UNLOGGED TABLE bench_fill.incidents AS
SELECT i.*, d.deploy_id, d.main_commit
FROM bench_fill.raw_incidents i
LEFT JOIN LATERAL (
  SELECT deploy_id, main_commit FROM bench_fill.deploys d
  WHERE d.service = i.service AND d.status = 'success'
    AND d.t <= i.created AND d.t > i.created - interval '24 hours'
  ORDER BY d.t DESC LIMIT 1) d ON true
ORDER BY i.created;
DROP TABLE bench_fill.raw_incidents;

INSERT INTO incidents (service, environment, source, incident_id, status, severity, title, root_cause,
                       time_created, time_acknowledged, time_resolved, deploy_id, attribution)
SELECT i.service, 'production', 'pagerduty', i.incident_id,
       CASE WHEN resolved <= :'anchor'::timestamptz THEN 'resolved'
            WHEN acknowledged <= :'anchor'::timestamptz THEN 'acknowledged'
            ELSE 'triggered' END,
       i.severity, 'Elevated error rate on ' || i.service,
       CASE WHEN i.names_root_cause AND i.deploy_id IS NOT NULL THEN i.main_commit END,
       i.created,
       CASE WHEN acknowledged <= :'anchor'::timestamptz THEN acknowledged END,
       CASE WHEN resolved <= :'anchor'::timestamptz THEN resolved END,
       i.deploy_id,
       CASE WHEN i.deploy_id IS NULL THEN NULL WHEN i.names_root_cause THEN 'root_cause' ELSE 'window' END
FROM bench_fill.incidents i,
     LATERAL (SELECT date_trunc('milliseconds', i.created + i.restore_seconds * interval '1 second') AS resolved,
                     date_trunc('milliseconds', i.created + least(i.ack_seconds, i.restore_seconds) * interval '1 second') AS acknowledged) x;

INSERT INTO deployment_attempts (service, environment, deploy_id, source, status, main_commit, repository,
                                 time_created, started_at, commit_timestamp, rollback_flagged, rollback_detected,
                                 is_hotfix, caused_incident, change_count)
SELECT d.service, 'production', d.deploy_id, 'github', d.status, d.main_commit, 'acme/' || d.service,
       d.t, d.started_at, d.t - d.head_lead * interval '1 second',
       d.rollback_flagged, d.rollback_detected, d.is_hotfix,
       d.deploy_id IN (SELECT deploy_id FROM bench_fill.incidents WHERE deploy_id IS NOT NULL),
       d.change_count
FROM bench_fill.deploys d;

-- metrics_daily from the rows above, as worker/daily_metrics.cc computes it:
-- per UTC day of the deployment's finish (attempts and their changes) and of
-- the incident's opening; a day row wherever any of them falls. The ten
-- million changes are grouped by the service number in their deploy_id
-- (see above): an integer sorts several times faster than the service's
-- name under the database's collation.
-- The lead-time histogram per day (lead_time_buckets): the bounds of
-- kLeadTimeBucketBounds in worker/daily_metrics.h and migration 006, each
-- bucket counting the lead times >= 0 above the previous bound and up to
-- its own. bench/read.sh compares a sample against the migration's
-- fourkeys_lead_time_buckets().
\set lead_time_bounds '{300,900,1800,3600,7200,14400,28800,86400,172800,604800,1209600,2592000,7776000,15552000}'
SELECT 'ARRAY[' || string_agg(format('count(*) FILTER (WHERE lead_time_seconds %s AND lead_time_seconds <= %s)',
                                     coalesce('> ' || previous, '>= 0'), bound), ', ' ORDER BY n) || ']::integer[]'
       AS bucket_counts
FROM (SELECT bound, n, lag(bound) OVER (ORDER BY n) AS previous
      FROM unnest(:'lead_time_bounds'::float8[]) WITH ORDINALITY AS u(bound, n)) b \gset

INSERT INTO metrics_daily (service, environment, day, deployments, failed_deployments, rework_deployments,
                           rollbacks, hotfixes, unsuccessful_attempts, changes_deployed, lead_time_count,
                           lead_time_sum_seconds, lead_time_median_seconds, lead_time_p90_seconds,
                           negative_lead_times, incidents_opened, incidents_resolved, restore_sum_seconds,
                           restore_median_seconds, restore_p90_seconds, lead_time_buckets)
WITH d AS (
  SELECT service, environment, time_created::date AS day,
         count(*) FILTER (WHERE status = 'success') AS deployments,
         count(*) FILTER (WHERE status = 'success' AND (is_rollback OR is_hotfix OR caused_incident)) AS failed_deployments,
         count(*) FILTER (WHERE status = 'success' AND (is_rollback OR is_hotfix)) AS rework_deployments,
         count(*) FILTER (WHERE status = 'success' AND is_rollback) AS rollbacks,
         count(*) FILTER (WHERE status = 'success' AND is_hotfix) AS hotfixes,
         count(*) FILTER (WHERE status IN ('failure', 'error', 'cancelled')) AS unsuccessful_attempts
  FROM deployment_attempts GROUP BY 1, 2, 3
), c AS (
  SELECT 'svc-' || (deploy_id::bigint / 10000000) AS service, environment, deployed_at::date AS day,
         count(*) AS changes_deployed,
         count(*) FILTER (WHERE lead_time_seconds >= 0) AS lead_time_count,
         coalesce(sum(lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0), 0) AS lead_time_sum_seconds,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0) AS lead_time_median_seconds,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time_seconds) FILTER (WHERE lead_time_seconds >= 0) AS lead_time_p90_seconds,
         count(*) FILTER (WHERE lead_time_seconds < 0) AS negative_lead_times,
         :bucket_counts AS lead_time_buckets
  FROM deployment_changes GROUP BY deploy_id::bigint / 10000000, environment, deployed_at::date
), i AS (
  SELECT service, environment, time_created::date AS day,
         count(*) AS incidents_opened,
         count(time_resolved) AS incidents_resolved,
         coalesce(sum(extract(epoch FROM time_resolved - time_created)::double precision), 0) AS restore_sum_seconds,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_resolved - time_created)::double precision) AS restore_median_seconds,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM time_resolved - time_created)::double precision) AS restore_p90_seconds
  FROM incidents GROUP BY 1, 2, 3
)
SELECT service, environment, day,
       coalesce(d.deployments, 0), coalesce(d.failed_deployments, 0), coalesce(d.rework_deployments, 0),
       coalesce(d.rollbacks, 0), coalesce(d.hotfixes, 0), coalesce(d.unsuccessful_attempts, 0),
       coalesce(c.changes_deployed, 0), coalesce(c.lead_time_count, 0), coalesce(c.lead_time_sum_seconds, 0),
       c.lead_time_median_seconds, c.lead_time_p90_seconds, coalesce(c.negative_lead_times, 0),
       coalesce(i.incidents_opened, 0), coalesce(i.incidents_resolved, 0), coalesce(i.restore_sum_seconds, 0),
       i.restore_median_seconds, i.restore_p90_seconds,
       coalesce(c.lead_time_buckets, array_fill(0, ARRAY[cardinality(:'lead_time_bounds'::float8[])]))
FROM d FULL JOIN c USING (service, environment, day) FULL JOIN i USING (service, environment, day)
ORDER BY day, service;

INSERT INTO service_versions (service, version)
SELECT service, nextval('service_version_seq') FROM (SELECT DISTINCT service FROM bench_fill.deploys) s
ON CONFLICT (service) DO NOTHING;

SELECT create_sql FROM bench_fill.saved_indexes \gexec
DROP SCHEMA bench_fill CASCADE;

-- Statistics for the planner and the visibility map for index-only scans,
-- as autovacuum would have them on a database that grew over a year.
VACUUM ANALYZE deployment_attempts, deployment_change_sets, incidents, metrics_daily, service_versions;

-- Derived rows: what a service's history means. The worker recomputes a
-- service's rows from its base rows whenever a batch touches it, so these
-- always equal `fourkeys-worker --rebuild`. Never write them by hand.

-- Every deployment attempt, one row per deploy_id with its final status.
-- Four Keys' names (deploy_id, time_created, main_commit) and the seed's
-- (see the `deployments` view).
CREATE TABLE deployment_attempts (
  service            text        NOT NULL,
  environment        text        NOT NULL,
  deploy_id          text        NOT NULL,
  source             text        NOT NULL,
  status             text        NOT NULL,
  main_commit        text,
  repository         text,
  time_created       timestamptz NOT NULL,  -- when it finished
  started_at         timestamptz,
  commit_timestamp   timestamptz,           -- time of main_commit, when known
  rollback_flagged   boolean     NOT NULL,
  rollback_detected  boolean     NOT NULL,
  is_rollback        boolean     GENERATED ALWAYS AS (rollback_flagged OR rollback_detected) STORED,
  is_hotfix          boolean     NOT NULL,
  caused_incident    boolean     NOT NULL,
  change_count       integer     NOT NULL,
  PRIMARY KEY (service, deploy_id)
);
CREATE INDEX deployment_attempts_window_idx
  ON deployment_attempts (service, environment, time_created);

-- Successful deployments: what every metric counts. The seed's column names
-- (commit_sha, deployed_at, status, is_rollback, is_hotfix) stand beside
-- Four Keys' (deploy_id, main_commit, time_created), so both families of
-- queries run unchanged.
CREATE VIEW deployments AS
SELECT service, environment, deploy_id, source, status,
       main_commit, main_commit AS commit_sha,
       time_created, time_created AS deployed_at,
       started_at, commit_timestamp,
       is_rollback, rollback_flagged, rollback_detected, is_hotfix, caused_incident,
       change_count, repository
FROM deployment_attempts
WHERE status = 'success';

-- The changes each successful deployment brought to its environment for the
-- first time, with their lead time.
CREATE TABLE deployment_changes (
  service            text             NOT NULL,
  environment        text             NOT NULL,
  deploy_id          text             NOT NULL,
  change_id          text             NOT NULL,
  time_created       timestamptz      NOT NULL,  -- commit time
  deployed_at        timestamptz      NOT NULL,
  lead_time_seconds  double precision NOT NULL,  -- negative: clock skew, excluded from metrics
  PRIMARY KEY (service, deploy_id, change_id)
);
CREATE INDEX deployment_changes_window_idx
  ON deployment_changes (service, environment, deployed_at);

-- Incidents, one row per (source, incident id), with the deployment each is
-- attributed to and why. Four Keys' names (incident_id, time_created,
-- time_resolved) and the seed's (detected_at, resolved_at, severity).
CREATE TABLE incidents (
  service            text        NOT NULL,
  environment        text        NOT NULL,
  source             text        NOT NULL,
  incident_id        text        NOT NULL,
  status             text        NOT NULL,
  severity           text,
  title              text,
  root_cause         text,
  time_created       timestamptz NOT NULL,
  time_acknowledged  timestamptz,
  time_resolved      timestamptz,
  deploy_id          text,       -- attributed deployment
  attribution        text,       -- root_cause, window, or NULL
  detected_at        timestamptz GENERATED ALWAYS AS (time_created) STORED,
  resolved_at        timestamptz GENERATED ALWAYS AS (time_resolved) STORED,
  PRIMARY KEY (service, source, incident_id)
);
CREATE INDEX incidents_window_idx ON incidents (service, environment, time_created);

-- Per service, environment and UTC day. Medians and p90s are of that day
-- alone; windows are computed from the rows above, not by adding days up.
CREATE TABLE metrics_daily (
  service                   text             NOT NULL,
  environment               text             NOT NULL,
  day                       date             NOT NULL,
  deployments               integer          NOT NULL,  -- successful
  failed_deployments        integer          NOT NULL,  -- rollback, hotfix or caused an incident
  rework_deployments        integer          NOT NULL,  -- rollback or hotfix
  rollbacks                 integer          NOT NULL,
  hotfixes                  integer          NOT NULL,
  unsuccessful_attempts     integer          NOT NULL,  -- failure, error, cancelled
  changes_deployed          integer          NOT NULL,
  lead_time_count           integer          NOT NULL,  -- changes with a lead time >= 0
  lead_time_sum_seconds     double precision NOT NULL,
  lead_time_median_seconds  double precision,
  lead_time_p90_seconds     double precision,
  negative_lead_times       integer          NOT NULL,
  incidents_opened          integer          NOT NULL,
  incidents_resolved        integer          NOT NULL,  -- of those opened that day
  restore_sum_seconds       double precision NOT NULL,
  restore_median_seconds    double precision,
  restore_p90_seconds       double precision,
  PRIMARY KEY (service, environment, day)
);
CREATE INDEX metrics_daily_day_idx ON metrics_daily (day);

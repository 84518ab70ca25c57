-- Base rows: what each event says, written once per event (apply stage).

-- Commits and merge commits, one row per (service, change_id); when several
-- events name the same commit the earliest (time_created, event_id) wins, so
-- the row does not depend on arrival order. Four Keys' `changes` columns.
CREATE TABLE changes (
  service       text        NOT NULL,
  change_id     text        NOT NULL,   -- commit sha
  time_created  timestamptz NOT NULL,   -- commit time
  source        text        NOT NULL,
  event_type    text        NOT NULL,
  event_id      text        NOT NULL,
  repository    text,
  author        text,
  title         text,
  PRIMARY KEY (service, change_id)
);

-- Pushes: the `before` → commits → `after` chain the linker walks.
CREATE TABLE pushes (
  event_id      text        PRIMARY KEY,
  service       text        NOT NULL,
  repository    text,
  ref           text,
  before_sha    text,
  after_sha     text,
  commit_shas   text[]      NOT NULL,   -- oldest first
  time_created  timestamptz NOT NULL
);
CREATE INDEX pushes_service_idx ON pushes (service);

-- Every deployment status report (queued, in_progress, success, failure, ...).
CREATE TABLE deployment_events (
  event_id         text        PRIMARY KEY,
  service          text        NOT NULL,
  environment      text        NOT NULL,
  deploy_id        text        NOT NULL,
  source           text        NOT NULL,
  event_type       text        NOT NULL,
  sha              text,
  status           text        NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz,
  time_created     timestamptz NOT NULL,
  is_rollback      boolean     NOT NULL,
  is_hotfix        boolean     NOT NULL,
  additional_shas  text[]      NOT NULL,
  commit_time      timestamptz,
  repository       text
);
CREATE INDEX deployment_events_service_idx ON deployment_events (service);

-- Every incident status report (open, acknowledged, resolved).
CREATE TABLE incident_events (
  event_id        text        PRIMARY KEY,
  service         text        NOT NULL,
  source          text        NOT NULL,
  event_type      text        NOT NULL,
  incident_id     text        NOT NULL,
  status          text        NOT NULL,
  created_at      timestamptz,
  resolved_at     timestamptz,
  time_created    timestamptz NOT NULL,
  root_cause_sha  text,
  severity        text,
  title           text,
  environment     text        NOT NULL
);
CREATE INDEX incident_events_service_idx ON incident_events (service);

-- The read side's window queries (one service and environment over a range
-- of days) answered from the indexes alone: each index carries the columns
-- those queries aggregate, so Postgres reads no table rows for pages the
-- visibility map marks all-visible (autovacuum keeps it current on these
-- insert-mostly tables).
CREATE INDEX deployment_changes_read_idx
  ON deployment_changes (service, environment, deployed_at) INCLUDE (lead_time_seconds);
DROP INDEX deployment_changes_window_idx;

CREATE INDEX deployment_attempts_read_idx
  ON deployment_attempts (service, environment, time_created)
  INCLUDE (status, is_rollback, is_hotfix, caused_incident);
DROP INDEX deployment_attempts_window_idx;

CREATE INDEX incidents_read_idx
  ON incidents (service, environment, time_created) INCLUDE (time_resolved);
DROP INDEX incidents_window_idx;

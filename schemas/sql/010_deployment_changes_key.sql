-- deployment_changes: one index instead of two. The primary key leads with
-- the read side's columns (service, environment, deployed_at), so it answers
-- the window queries as deployment_changes_read_idx did, with
-- lead_time_seconds carried in the index for index-only scans; deploy_id and
-- change_id after them keep a row unique (a deployment has one environment
-- and one finish time). Every row inserted now updates one B-tree instead
-- of two: the worker writes several rows of this table per event.
ALTER TABLE deployment_changes DROP CONSTRAINT deployment_changes_pkey;
DROP INDEX deployment_changes_read_idx;
ALTER TABLE deployment_changes
  ADD PRIMARY KEY (service, environment, deployed_at, deploy_id, change_id) INCLUDE (lead_time_seconds);

-- The commit arrays of change_reports, deployment_change_sets, pushes and
-- deployment_events are compressed with lz4, as events_raw.envelope is,
-- instead of Postgres' default pglz.
--
-- Why: a push's or a deployment's arrays of shas, times and titles often
-- pass the 2 KB at which Postgres compresses a row, and pglz_compress took
-- about 4% of Postgres' work while the worker ran (bench/RESULTS.md,
-- "Worker notes"); lz4 compresses several times faster for about the same
-- size. Only values written from now on are compressed with lz4; rows
-- already stored keep pglz and read as before. Nothing is rewritten.
--
-- Each ALTER takes its table's ACCESS EXCLUSIVE lock for a moment. They come
-- in the order a worker's batch writes these tables (pushes,
-- deployment_events, change_reports, deployment_change_sets), so a worker
-- of the previous version still storing batches while this one migrates
-- waits for the lock or makes the migration wait, and never deadlocks with it.
ALTER TABLE pushes ALTER COLUMN commit_shas SET COMPRESSION lz4;
ALTER TABLE deployment_events ALTER COLUMN additional_shas SET COMPRESSION lz4;
ALTER TABLE change_reports
  ALTER COLUMN change_ids SET COMPRESSION lz4,
  ALTER COLUMN times_created SET COMPRESSION lz4,
  ALTER COLUMN authors SET COMPRESSION lz4,
  ALTER COLUMN titles SET COMPRESSION lz4;
ALTER TABLE deployment_change_sets
  ALTER COLUMN change_ids SET COMPRESSION lz4,
  ALTER COLUMN times_created SET COMPRESSION lz4,
  ALTER COLUMN lead_times_seconds SET COMPRESSION lz4;

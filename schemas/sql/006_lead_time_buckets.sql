-- A lead-time histogram per service, environment and UTC day, so that the
-- Prometheus series lead_time_seconds is summed from metrics_daily instead
-- of counted from every row of deployment_changes at each refresh.
-- Upper bounds (seconds, inclusive), as kLeadTimeBucketBounds in
-- worker/daily_metrics.h: 300, 900, 1800, 3600, 7200, 14400, 28800, 86400,
-- 172800, 604800, 1209600, 2592000, 7776000, 15552000. Each element counts
-- the changes (lead time >= 0) above the previous bound and up to its own.

CREATE FUNCTION fourkeys_lead_time_buckets(p_service text, p_environment text, p_day date)
RETURNS integer[] LANGUAGE sql STABLE AS $$
  SELECT ARRAY[
    count(*) FILTER (WHERE lead_time_seconds >= 0 AND lead_time_seconds <= 300),
    count(*) FILTER (WHERE lead_time_seconds > 300 AND lead_time_seconds <= 900),
    count(*) FILTER (WHERE lead_time_seconds > 900 AND lead_time_seconds <= 1800),
    count(*) FILTER (WHERE lead_time_seconds > 1800 AND lead_time_seconds <= 3600),
    count(*) FILTER (WHERE lead_time_seconds > 3600 AND lead_time_seconds <= 7200),
    count(*) FILTER (WHERE lead_time_seconds > 7200 AND lead_time_seconds <= 14400),
    count(*) FILTER (WHERE lead_time_seconds > 14400 AND lead_time_seconds <= 28800),
    count(*) FILTER (WHERE lead_time_seconds > 28800 AND lead_time_seconds <= 86400),
    count(*) FILTER (WHERE lead_time_seconds > 86400 AND lead_time_seconds <= 172800),
    count(*) FILTER (WHERE lead_time_seconds > 172800 AND lead_time_seconds <= 604800),
    count(*) FILTER (WHERE lead_time_seconds > 604800 AND lead_time_seconds <= 1209600),
    count(*) FILTER (WHERE lead_time_seconds > 1209600 AND lead_time_seconds <= 2592000),
    count(*) FILTER (WHERE lead_time_seconds > 2592000 AND lead_time_seconds <= 7776000),
    count(*) FILTER (WHERE lead_time_seconds > 7776000 AND lead_time_seconds <= 15552000)
  ]::integer[]
  FROM deployment_changes
  WHERE service = p_service AND environment = p_environment
    AND deployed_at >= p_day::timestamp AT TIME ZONE 'UTC'
    AND deployed_at < (p_day + 1)::timestamp AT TIME ZONE 'UTC'
$$;

ALTER TABLE metrics_daily
  ADD COLUMN lead_time_buckets integer[] NOT NULL DEFAULT array_fill(0, ARRAY[14]);

UPDATE metrics_daily
SET lead_time_buckets = fourkeys_lead_time_buckets(service, environment, day)
WHERE lead_time_count > 0;

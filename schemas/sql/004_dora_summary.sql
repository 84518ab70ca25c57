-- Ratings and the per-window summary BI tools read.

-- Ratings. Profile 'seed' uses the thresholds of the seed service's
-- classify_df / classify_lt / classify_cfr / classify_mttr; 'dora-2023' the
-- 2023 State of DevOps report's clusters.
CREATE FUNCTION fourkeys_rate_deployment_frequency(per_day double precision, profile text DEFAULT 'seed')
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN per_day IS NULL THEN NULL
              WHEN per_day >= 1 THEN 'elite'
              WHEN per_day >= 1.0 / 7 THEN 'high'
              WHEN per_day >= 1.0 / 30 THEN 'medium'
              ELSE 'low' END
$$;

CREATE FUNCTION fourkeys_rate_lead_time(hours double precision, profile text DEFAULT 'seed')
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN hours IS NULL THEN NULL
              WHEN profile = 'dora-2023' THEN
                CASE WHEN hours < 24 THEN 'elite'
                     WHEN hours < 24 * 7 THEN 'high'
                     WHEN hours < 24 * 30 THEN 'medium'
                     ELSE 'low' END
              WHEN hours < 1 THEN 'elite'
              WHEN hours < 24 * 7 THEN 'high'
              WHEN hours < 24 * 30 * 6 THEN 'medium'
              ELSE 'low' END
$$;

CREATE FUNCTION fourkeys_rate_change_failure_rate(percent double precision, profile text DEFAULT 'seed')
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN percent IS NULL THEN NULL
              WHEN profile = 'dora-2023' THEN
                CASE WHEN percent <= 5 THEN 'elite'
                     WHEN percent <= 10 THEN 'high'
                     WHEN percent <= 15 THEN 'medium'
                     ELSE 'low' END
              WHEN percent <= 15 THEN 'elite'
              WHEN percent <= 30 THEN 'high'
              WHEN percent <= 45 THEN 'medium'
              ELSE 'low' END
$$;

CREATE FUNCTION fourkeys_rate_time_to_restore(minutes double precision, profile text DEFAULT 'seed')
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN minutes IS NULL THEN NULL
              WHEN minutes < 60 THEN 'elite'
              WHEN minutes < 60 * 24 THEN 'high'
              WHEN minutes < 60 * 24 * 7 THEN 'medium'
              ELSE 'low' END
$$;

-- Per service and environment, for the last 7, 30 and 90 days. Lead time
-- and time to restore are rated on their medians (the headline, as Four
-- Keys); negative lead times (clock skew) are left out.
CREATE VIEW dora_summary AS
WITH windows(window_days) AS (VALUES (7), (30), (90)),
keys AS (
  SELECT DISTINCT service, environment FROM metrics_daily
),
deploys AS (
  SELECT k.service, k.environment, w.window_days,
         count(d.deploy_id) AS deployments,
         count(d.deploy_id) FILTER (WHERE d.is_rollback OR d.is_hotfix OR d.caused_incident) AS failed_deployments,
         count(d.deploy_id) FILTER (WHERE d.is_rollback OR d.is_hotfix) AS rework_deployments
  FROM keys k CROSS JOIN windows w
  LEFT JOIN deployments d
    ON d.service = k.service AND d.environment = k.environment
   AND d.time_created >= now() - make_interval(days => w.window_days)
  GROUP BY 1, 2, 3
),
leads AS (
  SELECT k.service, k.environment, w.window_days,
         count(c.lead_time_seconds) AS lead_time_samples,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY c.lead_time_seconds) AS lead_time_median_seconds,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY c.lead_time_seconds) AS lead_time_p90_seconds,
         avg(c.lead_time_seconds) AS lead_time_mean_seconds
  FROM keys k CROSS JOIN windows w
  LEFT JOIN deployment_changes c
    ON c.service = k.service AND c.environment = k.environment
   AND c.deployed_at >= now() - make_interval(days => w.window_days)
   AND c.lead_time_seconds >= 0
  GROUP BY 1, 2, 3
),
restores AS (
  SELECT k.service, k.environment, w.window_days,
         count(i.incident_id) AS incidents,
         count(i.incident_id) FILTER (WHERE i.time_resolved IS NULL) AS open_incidents,
         count(i.time_resolved) AS restore_samples,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.time_resolved - i.time_created)) AS restore_median_seconds,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i.time_resolved - i.time_created)) AS restore_p90_seconds,
         avg(extract(epoch FROM i.time_resolved - i.time_created)) AS restore_mean_seconds
  FROM keys k CROSS JOIN windows w
  LEFT JOIN incidents i
    ON i.service = k.service AND i.environment = k.environment
   AND i.time_created >= now() - make_interval(days => w.window_days)
  GROUP BY 1, 2, 3
),
joined AS (
  SELECT d.service, d.environment, d.window_days,
         d.deployments, d.failed_deployments, d.rework_deployments,
         d.deployments::double precision / d.window_days AS deployments_per_day,
         CASE WHEN d.deployments > 0 THEN (100.0 * d.failed_deployments / d.deployments)::double precision END AS change_failure_rate,
         CASE WHEN d.deployments > 0 THEN (100.0 * d.rework_deployments / d.deployments)::double precision END AS rework_rate,
         l.lead_time_samples, l.lead_time_median_seconds, l.lead_time_p90_seconds, l.lead_time_mean_seconds,
         r.incidents, r.open_incidents, r.restore_samples,
         r.restore_median_seconds, r.restore_p90_seconds, r.restore_mean_seconds
  FROM deploys d
  JOIN leads l USING (service, environment, window_days)
  JOIN restores r USING (service, environment, window_days)
)
SELECT j.*,
       fourkeys_rate_deployment_frequency(j.deployments_per_day) AS deployment_frequency_rating,
       fourkeys_rate_lead_time(j.lead_time_median_seconds / 3600) AS lead_time_rating,
       fourkeys_rate_change_failure_rate(j.change_failure_rate) AS change_failure_rate_rating,
       fourkeys_rate_time_to_restore(j.restore_median_seconds / 60) AS time_to_restore_rating,
       fourkeys_rate_deployment_frequency(j.deployments_per_day, 'dora-2023') AS deployment_frequency_rating_dora2023,
       fourkeys_rate_lead_time(j.lead_time_median_seconds / 3600, 'dora-2023') AS lead_time_rating_dora2023,
       fourkeys_rate_change_failure_rate(j.change_failure_rate, 'dora-2023') AS change_failure_rate_rating_dora2023,
       fourkeys_rate_time_to_restore(j.restore_median_seconds / 60, 'dora-2023') AS time_to_restore_rating_dora2023
FROM joined j;

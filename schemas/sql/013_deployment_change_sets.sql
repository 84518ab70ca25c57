-- deployment_changes becomes a view over deployment_change_sets, which
-- holds one row per successful deployment with its changes in three
-- parallel arrays (sha, commit time, lead time, in the order of the shas).
--
-- Why: the worker wrote about nine deployment_changes rows per event, each
-- a heap tuple and a primary-key entry nearly as wide, and that COPY was the
-- largest part of Postgres' work per batch. The same changes as one row per
-- deployment take a tenth of the server's time to write and a quarter of
-- the space (bench/RESULTS.md, "Worker notes"). Readers see the same
-- columns, one row per change, through the view; a deployment's changes are
-- written together and never change one by one, so nothing is lost by
-- storing them together.
--
-- Views built on deployment_changes (fourkeys' dora_summary, a BI tool's)
-- are made again over the new view from their own definitions, with their
-- owners, privileges, options, comments and triggers; the table's owner and
-- privileges pass to both the view and the new table (a role that could
-- write the table can write the sets). The migrating role must own those
-- views or be a member of their owners' roles. The migration stops, and
-- nothing changes, with a message saying why, on what it cannot carry over:
-- a materialized view or rule on the table, a view it may not drop, a
-- view WITH CHECK OPTION (the new view cannot be written through), or
-- anything else Postgres names as depending on the table. Column-level
-- grants, and indexes, triggers or policies someone added to the table,
-- are not carried over.
--
-- Upgrading: stop every older worker first. One still running after this
-- migration would find deployment_changes no longer a table and send the
-- events of its batches to the dead-letter topic.

-- Writers wait until the migration commits: no row is written between the
-- copy below and the table's drop.
LOCK TABLE public.deployment_changes IN ACCESS EXCLUSIVE MODE;

CREATE TABLE public.deployment_change_sets (
  service            text COLLATE "C"   NOT NULL,
  environment        text COLLATE "C"   NOT NULL,
  deployed_at        timestamptz        NOT NULL,
  deploy_id          text COLLATE "C"   NOT NULL,
  change_ids         text[] COLLATE "C" NOT NULL,  -- in byte order
  times_created      timestamptz[]      NOT NULL,  -- commit times
  lead_times_seconds double precision[] NOT NULL,  -- negative: clock skew, excluded from metrics
  -- The read side's window queries lead with these columns.
  PRIMARY KEY (service, environment, deployed_at, deploy_id),
  CHECK (cardinality(change_ids) > 0
         AND cardinality(times_created) = cardinality(change_ids)
         AND cardinality(lead_times_seconds) = cardinality(change_ids))
);

INSERT INTO public.deployment_change_sets
SELECT service, environment, deployed_at, deploy_id,
       array_agg(change_id ORDER BY change_id COLLATE "C"),
       array_agg(time_created ORDER BY change_id COLLATE "C"),
       array_agg(lead_time_seconds ORDER BY change_id COLLATE "C")
FROM public.deployment_changes
GROUP BY service, environment, deployed_at, deploy_id;

DO $$
DECLARE
  v record;
  t record;
  table_acl aclitem[];
  table_owner oid;
  detail text;
BEGIN
  -- Every view on deployment_changes, directly or through other views, with
  -- what makes it what it is; made again shallowest first.
  CREATE TEMPORARY TABLE fourkeys_views_013 ON COMMIT DROP AS
  WITH RECURSIVE on_top(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = 'public.deployment_changes'::regclass AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, o.depth + 1
    FROM on_top o
    JOIN pg_depend d ON d.refobjid = o.oid AND d.classid = 'pg_rewrite'::regclass
                    AND d.refclassid = 'pg_class'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> o.oid
  )
  SELECT cl.oid, o.depth, cl.relkind,
         format('%I.%I', n.nspname, cl.relname) AS name,
         pg_get_viewdef(cl.oid) AS definition,
         pg_get_userbyid(cl.relowner) AS owner,
         cl.relacl AS acl,
         cl.reloptions AS options
  FROM (SELECT on_top.oid, max(on_top.depth) AS depth FROM on_top GROUP BY on_top.oid) o
  JOIN pg_class cl ON cl.oid = o.oid
  JOIN pg_namespace n ON n.oid = cl.relnamespace
  WHERE cl.oid <> 'public.deployment_changes'::regclass;

  FOR v IN SELECT * FROM fourkeys_views_013
           WHERE relkind <> 'v' OR options::text LIKE '%check_option%' LOOP
    RAISE EXCEPTION 'fourkeys migration 013: % (%) is built on deployment_changes, which becomes a view it cannot be made again on; drop it, migrate, and make it again',
      v.name, CASE v.relkind WHEN 'm' THEN 'a materialized view' WHEN 'v' THEN 'a view WITH CHECK OPTION'
                  ELSE 'a rule of a table' END;
  END LOOP;

  CREATE TEMPORARY TABLE fourkeys_view_parts_013 ON COMMIT DROP AS
  SELECT w.oid, format('COMMENT ON %s %s IS %L', CASE WHEN ds.objsubid = 0 THEN 'VIEW' ELSE 'COLUMN' END,
                       CASE WHEN ds.objsubid = 0 THEN w.name
                            ELSE w.name || '.' || quote_ident(a.attname) END,
                       ds.description) AS statement
  FROM fourkeys_views_013 w
  JOIN pg_description ds ON ds.objoid = w.oid AND ds.classoid = 'pg_class'::regclass
  LEFT JOIN pg_attribute a ON a.attrelid = w.oid AND a.attnum = ds.objsubid
  UNION ALL
  SELECT w.oid, pg_get_triggerdef(tg.oid)
  FROM fourkeys_views_013 w JOIN pg_trigger tg ON tg.tgrelid = w.oid
  UNION ALL
  SELECT w.oid, pg_get_ruledef(r.oid)
  FROM fourkeys_views_013 w JOIN pg_rewrite r ON r.ev_class = w.oid AND r.rulename <> '_RETURN';

  FOR v IN SELECT * FROM fourkeys_views_013 ORDER BY depth DESC, oid DESC LOOP
    BEGIN
      EXECUTE format('DROP VIEW %s', v.name);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'fourkeys migration 013: view % (owned by %) is built on deployment_changes and must be made again over the new view; run the migration as % or a member of that role',
        v.name, v.owner, v.owner;
    END;
  END LOOP;

  SELECT relacl, relowner INTO table_acl, table_owner FROM pg_class WHERE oid = 'public.deployment_changes'::regclass;
  BEGIN
    DROP TABLE public.deployment_changes;
  EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE EXCEPTION 'fourkeys migration 013: deployment_changes becomes a view, but other objects depend on the table; drop them, migrate, and make them again'
      USING DETAIL = detail;
  END;

  CREATE VIEW public.deployment_changes AS
  SELECT s.service, s.environment, s.deploy_id, c.change_id, c.time_created, s.deployed_at, c.lead_time_seconds
  FROM public.deployment_change_sets s
  CROSS JOIN LATERAL unnest(s.change_ids, s.times_created, s.lead_times_seconds)
    AS c(change_id, time_created, lead_time_seconds);
  FOR t IN SELECT a.privilege_type, a.is_grantable,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
           FROM aclexplode(table_acl) a
           WHERE a.grantee <> table_owner LOOP
    EXECUTE format('GRANT %s ON public.deployment_changes, public.deployment_change_sets TO %s%s',
                   t.privilege_type, t.grantee, CASE WHEN t.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF table_owner <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('ALTER TABLE public.deployment_change_sets OWNER TO %I', pg_get_userbyid(table_owner));
    EXECUTE format('ALTER VIEW public.deployment_changes OWNER TO %I', pg_get_userbyid(table_owner));
  END IF;

  FOR v IN SELECT * FROM fourkeys_views_013 ORDER BY depth, oid LOOP
    EXECUTE format('CREATE VIEW %s%s AS %s', v.name,
                   CASE WHEN v.options IS NULL THEN ''
                        ELSE ' WITH (' || array_to_string(v.options, ', ') || ')' END,
                   v.definition);
    FOR t IN SELECT a.privilege_type, a.is_grantable,
                    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
             FROM aclexplode(v.acl) a
             WHERE pg_get_userbyid(a.grantee) <> v.owner LOOP
      EXECUTE format('GRANT %s ON %s TO %s%s', t.privilege_type, v.name, t.grantee,
                     CASE WHEN t.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    FOR t IN SELECT statement FROM fourkeys_view_parts_013 p WHERE p.oid = v.oid LOOP
      EXECUTE t.statement;
    END LOOP;
    IF v.owner <> current_user THEN
      EXECUTE format('ALTER VIEW %s OWNER TO %I', v.name, v.owner);
    END IF;
  END LOOP;
END
$$;

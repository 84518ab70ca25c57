-- changes becomes a view over change_reports, which holds one row per
-- event that reported changes (a push's commits, a merged pull or merge
-- request's merge commit) with its commits in four parallel arrays (sha,
-- commit time, author, title; in the event's order, in byte order for the
-- rows this migration carries over).
--
-- Why: the worker wrote about six changes rows per event, each a heap tuple
-- and a primary-key entry, and after events_raw that COPY was the largest
-- part of Postgres' work per batch (bench/RESULTS.md, "Worker notes"). A
-- report is written once, with the event, and never changes. Readers see
-- the same columns as before, one row per (service, change_id) with the
-- earliest report of it (time_created, then event_id, then its place in the
-- event), through the view; from now on every report is kept, so none is
-- thrown away on the way in, whatever order reports arrive in (the rows
-- carried over are the earliest reports the table had kept; --rebuild
-- restores the others from events_raw, which changes nothing the view or
-- the metrics show).
--
-- The view filters by service through the table's service index; other
-- filters (a time range, a commit, a join on service and change_id) read
-- every report of the services they reach.
--
-- Views built on changes are made again over the new view, and the table's
-- owner and privileges pass to the view and the new table, as migration 013
-- does for deployment_changes. As there, the migration stops, and nothing
-- changes, on a materialized view, a rule, a view WITH CHECK OPTION or
-- anything else Postgres names as depending on the table; column-level
-- grants, comments on the table, and indexes, triggers or policies someone
-- added to it are not carried over.
--
-- Upgrading: stop every older worker first. One still running after this
-- migration finds the schema newer than it knows and holds its batches back
-- until it is replaced (a worker from before that check would send them to
-- the dead-letter topic instead).

-- Writers wait until the migration commits: no row is written between the
-- copy below and the table's drop.
LOCK TABLE public.changes IN ACCESS EXCLUSIVE MODE;

CREATE TABLE public.change_reports (
  event_id       text COLLATE "C"   PRIMARY KEY,
  service        text COLLATE "C"   NOT NULL,
  source         text COLLATE "C"   NOT NULL,
  event_type     text COLLATE "C"   NOT NULL,
  repository     text COLLATE "C",
  change_ids     text[] COLLATE "C" NOT NULL,  -- commit shas
  times_created  timestamptz[]      NOT NULL,  -- commit times
  authors        text[] COLLATE "C" NOT NULL,  -- elements may be NULL
  titles         text[] COLLATE "C" NOT NULL,  -- elements may be NULL
  CHECK (cardinality(change_ids) > 0
         AND cardinality(times_created) = cardinality(change_ids)
         AND cardinality(authors) = cardinality(change_ids)
         AND cardinality(titles) = cardinality(change_ids)
         AND array_position(change_ids, NULL) IS NULL
         AND array_position(times_created, NULL) IS NULL)
);
-- The worker reads a service's reports when it links the service anew.
CREATE INDEX change_reports_service_idx ON public.change_reports (service);

-- The table held the earliest report of each commit; an event's rows come
-- together as its report.
INSERT INTO public.change_reports
SELECT event_id, service, min(source), min(event_type), min(repository),
       array_agg(change_id ORDER BY change_id COLLATE "C"),
       array_agg(time_created ORDER BY change_id COLLATE "C"),
       array_agg(author ORDER BY change_id COLLATE "C"),
       array_agg(title ORDER BY change_id COLLATE "C")
FROM public.changes
GROUP BY event_id, service;
ANALYZE public.change_reports;

DO $$
DECLARE
  v record;
  t record;
  table_acl aclitem[];
  table_owner oid;
  detail text;
BEGIN
  -- Every view on changes, directly or through other views, with
  -- what makes it what it is; made again shallowest first.
  CREATE TEMPORARY TABLE fourkeys_views_014 ON COMMIT DROP AS
  WITH RECURSIVE on_top(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = 'public.changes'::regclass AND r.ev_class <> d.refobjid
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
  WHERE cl.oid <> 'public.changes'::regclass;

  FOR v IN SELECT * FROM fourkeys_views_014
           WHERE relkind <> 'v' OR options::text LIKE '%check_option%' LOOP
    RAISE EXCEPTION 'fourkeys migration 014: % (%) is built on changes, which becomes a view it cannot be made again on; drop it, migrate, and make it again',
      v.name, CASE v.relkind WHEN 'm' THEN 'a materialized view' WHEN 'v' THEN 'a view WITH CHECK OPTION'
                  ELSE 'a rule of a table' END;
  END LOOP;

  CREATE TEMPORARY TABLE fourkeys_view_parts_014 ON COMMIT DROP AS
  SELECT w.oid, format('COMMENT ON %s %s IS %L', CASE WHEN ds.objsubid = 0 THEN 'VIEW' ELSE 'COLUMN' END,
                       CASE WHEN ds.objsubid = 0 THEN w.name
                            ELSE w.name || '.' || quote_ident(a.attname) END,
                       ds.description) AS statement
  FROM fourkeys_views_014 w
  JOIN pg_description ds ON ds.objoid = w.oid AND ds.classoid = 'pg_class'::regclass
  LEFT JOIN pg_attribute a ON a.attrelid = w.oid AND a.attnum = ds.objsubid
  UNION ALL
  SELECT w.oid, pg_get_triggerdef(tg.oid)
  FROM fourkeys_views_014 w JOIN pg_trigger tg ON tg.tgrelid = w.oid
  UNION ALL
  SELECT w.oid, pg_get_ruledef(r.oid)
  FROM fourkeys_views_014 w JOIN pg_rewrite r ON r.ev_class = w.oid AND r.rulename <> '_RETURN';

  FOR v IN SELECT * FROM fourkeys_views_014 ORDER BY depth DESC, oid DESC LOOP
    BEGIN
      EXECUTE format('DROP VIEW %s', v.name);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'fourkeys migration 014: view % (owned by %) is built on changes and must be made again over the new view; run the migration as % or a member of that role',
        v.name, v.owner, v.owner;
    END;
  END LOOP;

  SELECT relacl, relowner INTO table_acl, table_owner FROM pg_class WHERE oid = 'public.changes'::regclass;
  BEGIN
    DROP TABLE public.changes;
  EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE EXCEPTION 'fourkeys migration 014: changes becomes a view, but other objects depend on the table; drop them, migrate, and make them again'
      USING DETAIL = detail;
  END;

  -- Of the reports of one commit of a service, the earliest (time_created,
  -- event_id; the first of an event that names it twice), as the table kept
  -- whatever order the reports came in.
  CREATE VIEW public.changes AS
  SELECT DISTINCT ON (r.service, c.change_id)
         r.service, c.change_id, c.time_created, r.source, r.event_type, r.event_id, r.repository, c.author, c.title
  FROM public.change_reports r
  CROSS JOIN LATERAL unnest(r.change_ids, r.times_created, r.authors, r.titles) WITH ORDINALITY
    AS c(change_id, time_created, author, title, place)
  ORDER BY r.service, c.change_id, c.time_created, r.event_id, c.place;
  FOR t IN SELECT a.privilege_type, a.is_grantable,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
           FROM aclexplode(table_acl) a
           WHERE a.grantee <> table_owner LOOP
    EXECUTE format('GRANT %s ON public.changes, public.change_reports TO %s%s',
                   t.privilege_type, t.grantee, CASE WHEN t.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF table_owner <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('ALTER TABLE public.change_reports OWNER TO %I', pg_get_userbyid(table_owner));
    EXECUTE format('ALTER VIEW public.changes OWNER TO %I', pg_get_userbyid(table_owner));
  END IF;

  FOR v IN SELECT * FROM fourkeys_views_014 ORDER BY depth, oid LOOP
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
    FOR t IN SELECT statement FROM fourkeys_view_parts_014 p WHERE p.oid = v.oid LOOP
      EXECUTE t.statement;
    END LOOP;
    IF v.owner <> current_user THEN
      EXECUTE format('ALTER VIEW %s OWNER TO %I', v.name, v.owner);
    END IF;
  END LOOP;
END
$$;

-- Reports for BI tools (doc/forecasts.md, "Reports for BI"): views over set-returning functions
-- that read the managed tables as the caller, so that row-level security decides what a report
-- counts.  The views are security_invoker; the functions behind them are SECURITY INVOKER, and
-- the configuration the caller may not read itself (memberships, sales users, targets) comes
-- through small SECURITY DEFINER helpers that return it only for the territories the caller may
-- see (territory._report_territories).

-- ---------------------------------------------------------------- the managed tables as SQL

-- Internal: the template formatted for every managed table of the kinds, joined with UNION ALL
-- (in the order of the tables' oids); with none, formatted once over an empty relation.  The
-- template's arguments: %1$s the table (a FROM item, aliased r by the template), %2$s the table's
-- name as a text value (a regclass made on a Citus worker would come back as its OID), %3$s its kind as a value, %4$s the record's territories as an int4[] ('{}'
-- for none; a deal's one territory as a one-element array), %5$s the owner as text, %6$s the
-- amount as numeric, %7$s the close date as stored, %8$s the creation time as stored, %9$s the
-- stage as text: column expressions of r, or typed NULLs where the table has no such column.
CREATE FUNCTION territory._report_union(kinds text[], template text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT coalesce(
        string_agg(format(template,
                          m.tbl,
                          quote_literal(m.tbl::text) || '::text',
                          quote_literal(m.kind),
                          CASE m.kind
                               WHEN 'deal' THEN format('CASE WHEN r.%1$I IS NULL THEN ''{}''::int4[] ELSE ARRAY[r.%1$I] END',
                                                       m.territory_column)
                               ELSE 'r.' || quote_ident(m.territory_column) END,
                          coalesce('r.' || quote_ident(m.owner_column) || '::text', 'NULL::text'),
                          coalesce('r.' || quote_ident(m.amount_column) || '::numeric', 'NULL::numeric'),
                          coalesce('r.' || quote_ident(m.close_date_column), 'NULL::date'),
                          coalesce('r.' || quote_ident(m.created_column), 'NULL::date'),
                          coalesce('r.' || quote_ident(m.stage_column) || '::text', 'NULL::text')),
                   ' UNION ALL ' ORDER BY m.tbl::oid),
        format(template, '(SELECT WHERE false)', 'NULL::text', 'NULL::text', 'NULL::int4[]', 'NULL::text',
               'NULL::numeric', 'NULL::date', 'NULL::date', 'NULL::text'))
      FROM territory.managed_tables m
     WHERE m.kind = ANY (kinds);
END;
COMMENT ON FUNCTION territory._report_union(text[], text) IS
    'Internal: a query template formatted for every managed table of the kinds (their own column names filled in), joined with UNION ALL';

-- Internal: one row per record of the managed tables of the kinds, with the same columns
-- whatever the tables call theirs: tbl text (the name), kind text, territories int4[], owner text,
-- amount numeric (to the cent, as the forecast rounds it), close_date date, stage text, category
-- text (NULL: a stage that territory.stages does not know, or no stage), created date.  Dates
-- are taken in the session's time zone; a date outside the years 0001 to 9999 (an infinite one
-- included) belongs to no period and is NULL.
CREATE FUNCTION territory._report_records(kinds text[]) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN territory._report_union(kinds,
        'SELECT %2$s AS tbl, %3$s::text AS kind, %4$s AS territories, %5$s AS owner, round(%6$s, 2) AS amount,'
        '       CASE WHEN %7$s::date BETWEEN ''0001-01-01'' AND ''9999-12-31'' THEN %7$s::date END AS close_date,'
        '       %9$s AS stage, s.category,'
        '       CASE WHEN %8$s::date BETWEEN ''0001-01-01'' AND ''9999-12-31'' THEN %8$s::date END AS created'
        '  FROM %1$s r LEFT JOIN territory.stages s ON s.stage = %9$s');
COMMENT ON FUNCTION territory._report_records(text[]) IS
    'Internal: a query over the records of the managed tables of the kinds, with uniform columns (tbl, kind, territories, owner, amount, close_date, stage, category, created)';

-- Internal: the closed-won deals that count, as the forecast counts them: a stage of the
-- category closed_won, an amount and a close date.
CREATE FUNCTION territory._report_won_deals() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN format('SELECT * FROM (%s) w'
                  ' WHERE w.category = ''closed_won'' AND w.amount IS NOT NULL AND w.close_date IS NOT NULL',
                  territory._report_records('{deal}'));
COMMENT ON FUNCTION territory._report_won_deals() IS
    'Internal: a query over the closed-won deals of every managed deal table that have an amount and a close date';

-- Internal: the subtrees of the active model: every territory paired with itself and with every
-- territory above it, the territories whose figures a record in it adds to when they are rolled
-- up over subtrees.  One call of ancestors() per territory, whatever the number of records.
CREATE FUNCTION territory._report_subtrees() RETURNS TABLE (territory_id int4, subtree_of int4)
    LANGUAGE sql STABLE ROWS 1000
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT t.id, u.id
      FROM territory.territories t
      JOIN territory.models mo ON mo.id = t.model_id
     CROSS JOIN LATERAL (SELECT t.id UNION ALL SELECT territory.ancestors(t.id)) AS u(id)
     WHERE mo.state = 'active';
END;
COMMENT ON FUNCTION territory._report_subtrees() IS
    'Internal: each territory of the active model with itself and each of its ancestors (the subtrees it lies in)';

-- ---------------------------------------------------------------- what the caller may see

-- Internal: whether nothing restricts what the calling role reads of the records: it bypasses
-- row-level security (a superuser, BYPASSRLS), or it may read some managed table and row-level
-- security applies to it on none of those it may read (decided as PostgreSQL decides it: the
-- table has it enabled, and the role does not own the table, or the table forces it).  Run
-- inside the SECURITY DEFINER helpers, about the role that called them.
CREATE FUNCTION territory._report_unrestricted() RETURNS bool
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL keeps the plan for the session (a SQL function's body is planned at every call)
    RETURN (SELECT r.rolsuper OR r.rolbypassrls
                   OR coalesce(bool_and(NOT c.relrowsecurity
                                        OR (NOT c.relforcerowsecurity AND pg_has_role(r.oid, c.relowner, 'USAGE'))), false)
              FROM pg_roles r
              LEFT JOIN (territory.managed_tables m JOIN pg_class c ON c.oid = m.tbl)
                     ON has_table_privilege(r.oid, m.tbl, 'SELECT')
             WHERE r.rolname = territory._caller()
             GROUP BY r.oid, r.rolsuper, r.rolbypassrls);
END
$$;
COMMENT ON FUNCTION territory._report_unrestricted() IS
    'Internal: whether the calling role reads every record of the managed tables it may read (row-level security restricts it on none)';

-- Internal: the territories of the active model the caller may see in reports: every one when
-- nothing restricts what the caller reads (territory._report_unrestricted), else those whose
-- records of some kind the current sales user reads (territory.visible_territories); with no
-- identity, none.  SECURITY DEFINER to learn about the calling role; territories are public.
CREATE FUNCTION territory._report_territories() RETURNS SETOF int4
    LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT t.id
      FROM territory.territories t
      JOIN territory.models mo ON mo.id = t.model_id
     WHERE mo.state = 'active' AND territory._report_unrestricted()
    UNION
    SELECT v.id
      FROM unnest(territory.visible_territories('account') || territory.visible_territories('lead')
                  || territory.visible_territories('contact') || territory.visible_territories('deal')) AS v(id);
END;
COMMENT ON FUNCTION territory._report_territories() IS
    'Internal: the territories of the active model the caller may see in reports (all, when row-level security restricts it nowhere)';

-- Internal: the territories of the active model the caller may see, with their path and depth,
-- in pre-order: the territory rows of the reports.
CREATE FUNCTION territory._report_tree() RETURNS TABLE (id int4, path text, depth int4)
    LANGUAGE sql STABLE ROWS 100
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT t.id, t.path, t.depth
      FROM territory.tree() t
     WHERE t.id IN (SELECT territory._report_territories());
END;
COMMENT ON FUNCTION territory._report_tree() IS
    'Internal: id, path and depth of the territories of the active model the caller may see, in pre-order';

-- Internal: the current memberships (valid today, of active sales users) of the territories the
-- caller may see, counted per territory.
CREATE FUNCTION territory._report_members() RETURNS TABLE (territory_id int4, members int8)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT m.territory_id, count(*)
      FROM territory.members m
      JOIN territory.sales_users u ON u.id = m.user_id
     WHERE u.active
       AND (m.valid_from IS NULL OR m.valid_from <= current_date)
       AND (m.valid_to IS NULL OR m.valid_to >= current_date)
       AND m.territory_id IN (SELECT territory._report_territories())
     GROUP BY m.territory_id;
END;
COMMENT ON FUNCTION territory._report_members() IS
    'Internal: how many current members each territory the caller may see has (memberships valid today, of active users)';

-- Internal: the names of the sales users the caller may see: every one when nothing restricts
-- what the caller reads; else the current sales user and the users below them (the owners whose
-- records they see), and the members of the territories the caller may see.
CREATE FUNCTION territory._report_user_names() RETURNS TABLE (user_key text, user_name text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT u.key, u.name FROM territory.sales_users u WHERE territory._report_unrestricted()
    UNION
    SELECT u.key, u.name FROM territory.sales_users u WHERE u.key = ANY (territory.visible_owners())
    UNION
    SELECT u.key, u.name
      FROM territory.sales_users u
      JOIN territory.members m ON m.user_id = u.id
     WHERE m.territory_id IN (SELECT territory._report_territories());
END;
COMMENT ON FUNCTION territory._report_user_names() IS
    'Internal: key and name of the sales users the caller may see (themselves, the users below them, the members of the territories they may see)';

-- Internal: the periods that have a target (of a territory or of a member) in a territory the
-- caller may see: every period with a target when nothing restricts the caller, found by skipping
-- through the targets' index on the period (a DISTINCT read every target of the organisation),
-- else those of its territories, found through the targets' unique index (a join with
-- _report_territories() read every target for a rep of one leaf).  PL/pgSQL, so that whether the
-- caller is restricted is decided once.
CREATE FUNCTION territory._report_target_periods() RETURNS SETOF territory.period
    LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 20
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF territory._report_unrestricted() THEN
        RETURN QUERY
            WITH RECURSIVE p(period) AS (
                SELECT min(t.period) FROM territory.targets t
                UNION ALL
                SELECT (SELECT min(t.period) FROM territory.targets t WHERE t.period > p.period)
                  FROM p
                 WHERE p.period IS NOT NULL)
            SELECT p.period FROM p WHERE p.period IS NOT NULL;
    ELSE
        RETURN QUERY
            SELECT DISTINCT t.period
              FROM territory.targets t
             WHERE t.territory_id = ANY (territory.visible_territories('account') || territory.visible_territories('lead')
                                         || territory.visible_territories('contact') || territory.visible_territories('deal'));
    END IF;
END
$$;
COMMENT ON FUNCTION territory._report_target_periods() IS
    'Internal: the periods with a target in a territory the caller may see';

-- ---------------------------------------------------------------- forecast_summary

-- Internal: the periods of territory.forecast_summary, in order: those with a target, and every
-- calendar month and quarter from the earliest to the latest close date of the deals the caller
-- reads (the smallest and largest close date of each table: an index on it serves them).  A
-- caller whom row-level security restricts to a small part of the tree reads its deals first
-- (the policies' index arms) and takes their smallest and largest date: walking the close-date
-- index in order would read every deal it may not see before one it may, all of them when it
-- sees none.
CREATE FUNCTION territory._report_forecast_periods() RETURNS SETOF territory.period
    LANGUAGE plpgsql STABLE ROWS 50
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    first_day date;
    last_day date;
    few bool;
    bound int8;
BEGIN
    -- few: the caller's deal territories are under 5 % of the model's (counted only that far)
    bound := cardinality(territory.visible_territories('deal')) * 20;
    few := NOT territory.sees_all()
           AND EXISTS (SELECT FROM territory.managed_tables m WHERE m.kind = 'deal' AND row_security_active(m.tbl))
           AND bound < (SELECT count(*)
                          FROM (SELECT FROM territory.territories t
                                 WHERE t.model_id = territory.active_model()
                                 ORDER BY t.model_id, t.id    -- the index (model_id, id), read as far as needed
                                 LIMIT bound + 1) s);
    EXECUTE format('SELECT min(b.first_day), max(b.last_day) FROM (%s) b',
                   territory._report_union('{deal}',
                       CASE WHEN few
                            THEN 'SELECT min(d)::date AS first_day, max(d)::date AS last_day'
                                 ' FROM (SELECT %7$s AS d FROM %1$s r'
                                 ' WHERE %7$s >= ''0001-01-01'' AND %7$s < ''10000-01-01'' OFFSET 0) s'
                            ELSE 'SELECT min(%7$s)::date AS first_day, max(%7$s)::date AS last_day FROM %1$s r'
                                 ' WHERE %7$s >= ''0001-01-01'' AND %7$s < ''10000-01-01''' END))
       INTO first_day, last_day;
    RETURN QUERY
        SELECT p.period FROM territory._report_target_periods() AS p(period)
        UNION
        SELECT territory.periods(territory.period_of(first_day, k.kind), territory.period_of(last_day, k.kind))
          FROM unnest('{month,quarter}'::text[]) AS k(kind)
         WHERE first_day IS NOT NULL
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION territory._report_forecast_periods() IS
    'Internal: the periods of forecast_summary: those with a target, and the months and quarters from the first to the last close date of the deals the caller reads';

-- One call of forecast_periods per period, joined laterally: a condition on the period (or its
-- text, its kind, its first or last day) filters the list of periods before any forecast is computed.
CREATE VIEW territory.forecast_summary WITH (security_invoker = true) AS
    SELECT p.period, p.period::text AS period_text, territory.kind(p.period) AS kind,
           f.territory_id, f.parent_id, f.user_key, f.depth, territory.path(f.territory_id) AS path, f.target, f.closed_won, f.commit, f.best_case,
           f.pipeline, f.weighted_pipeline, f.adjusted_commit, f.adjusted_best_case, f.adjusted_pipeline,
           f.attainment, f.gap, lower(p.period) AS first_day, upper(p.period) - 1 AS last_day
      FROM territory._report_forecast_periods() AS p(period)
     CROSS JOIN LATERAL territory.forecast_periods(ARRAY[p.period]) AS f;
COMMENT ON VIEW territory.forecast_summary IS
    'The forecast of every period with a target and of every month and quarter with deals: the rows of territory.forecast() per period (filter on period or period_text: only those periods are computed)';
COMMENT ON COLUMN territory.forecast_summary.period IS 'The period';
COMMENT ON COLUMN territory.forecast_summary.period_text IS 'The period as text (2026-11, 2026-Q4, 2026, FY2027, FY2027-Q1)';
COMMENT ON COLUMN territory.forecast_summary.kind IS 'Kind of the period: month, quarter, year, fiscal_quarter or fiscal_year';
COMMENT ON COLUMN territory.forecast_summary.territory_id IS 'The territory';
COMMENT ON COLUMN territory.forecast_summary.parent_id IS 'The territory''s parent; NULL for a root';
COMMENT ON COLUMN territory.forecast_summary.user_key IS 'The member''s user key on a member row; NULL on the territory''s row';
COMMENT ON COLUMN territory.forecast_summary.depth IS 'Depth of the territory (0 for a root)';
COMMENT ON COLUMN territory.forecast_summary.path IS 'Path of the territory (Global / EMEA / Germany)';
COMMENT ON COLUMN territory.forecast_summary.target IS
    'The target: the territory''s own, else the sum of its children''s; the member''s own on a member row; NULL when none';
COMMENT ON COLUMN territory.forecast_summary.closed_won IS 'Closed won in the period, over the subtree (the member''s deals on a member row)';
COMMENT ON COLUMN territory.forecast_summary.commit IS 'Open deals of the category commit, over the subtree';
COMMENT ON COLUMN territory.forecast_summary.best_case IS 'Open deals of the category best_case, over the subtree';
COMMENT ON COLUMN territory.forecast_summary.pipeline IS 'Open deals of the category pipeline (and of unknown stages), over the subtree';
COMMENT ON COLUMN territory.forecast_summary.weighted_pipeline IS 'The open deals, each weighted by its stage''s probability';
COMMENT ON COLUMN territory.forecast_summary.adjusted_commit IS 'Commit, with the managers'' adjustments in force';
COMMENT ON COLUMN territory.forecast_summary.adjusted_best_case IS 'Best case, with the managers'' adjustments in force';
COMMENT ON COLUMN territory.forecast_summary.adjusted_pipeline IS 'Pipeline, with the managers'' adjustments in force';
COMMENT ON COLUMN territory.forecast_summary.attainment IS 'closed_won / target, to four decimals; NULL without a target or with a target of 0';
COMMENT ON COLUMN territory.forecast_summary.gap IS 'target - closed_won: what is left to close; NULL without a target';
COMMENT ON COLUMN territory.forecast_summary.first_day IS 'The first day of the period';
COMMENT ON COLUMN territory.forecast_summary.last_day IS 'The last day of the period (included)';

-- ---------------------------------------------------------------- revenue_by_territory

CREATE FUNCTION territory._report_revenue()
    RETURNS TABLE (territory_id int4, path text, depth int4, period territory.period, period_text text,
                   won_deals int8, revenue numeric, own_revenue numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($sql$
        WITH own AS (SELECT w.territories[1] AS territory_id, territory.period_of(w.close_date, 'month') AS period,
                            count(*) AS won_deals, sum(w.amount) AS revenue
                       FROM (%s) w
                      GROUP BY 1, 2)
        SELECT t.id, t.path, t.depth, o.period, o.period::text, sum(o.won_deals)::int8, sum(o.revenue),
               coalesce(sum(o.revenue) FILTER (WHERE o.territory_id = t.id), 0.00)
          FROM own o
          JOIN territory._report_subtrees() s ON s.territory_id = o.territory_id
          JOIN territory._report_tree() t ON t.id = s.subtree_of
         GROUP BY t.id, t.path, t.depth, o.period
        $sql$, territory._report_won_deals());
END
$$;
COMMENT ON FUNCTION territory._report_revenue() IS 'Internal: the rows of territory.revenue_by_territory';

CREATE VIEW territory.revenue_by_territory WITH (security_invoker = true) AS
    SELECT r.territory_id, r.path, r.depth, r.period, r.period_text, r.won_deals, r.revenue, r.own_revenue,
           lower(r.period) AS first_day, upper(r.period) - 1 AS last_day
      FROM territory._report_revenue() r;
COMMENT ON VIEW territory.revenue_by_territory IS
    'Closed-won revenue per territory of the active model and calendar month, rolled up over the subtree: one row per month with won deals in the subtree';
COMMENT ON COLUMN territory.revenue_by_territory.territory_id IS 'The territory';
COMMENT ON COLUMN territory.revenue_by_territory.path IS 'Path of the territory (Global / EMEA / Germany)';
COMMENT ON COLUMN territory.revenue_by_territory.depth IS 'Depth of the territory (0 for a root)';
COMMENT ON COLUMN territory.revenue_by_territory.period IS 'The month of the close dates';
COMMENT ON COLUMN territory.revenue_by_territory.period_text IS 'The month as text (2026-11)';
COMMENT ON COLUMN territory.revenue_by_territory.won_deals IS 'Closed-won deals of the month in the territory and below it';
COMMENT ON COLUMN territory.revenue_by_territory.revenue IS 'Their amount (each deal to the cent)';
COMMENT ON COLUMN territory.revenue_by_territory.own_revenue IS 'The amount of the closed-won deals of the month directly in the territory';
COMMENT ON COLUMN territory.revenue_by_territory.first_day IS 'The first day of the month';
COMMENT ON COLUMN territory.revenue_by_territory.last_day IS 'The last day of the month';

-- ---------------------------------------------------------------- star_performers

CREATE FUNCTION territory._report_star_performers()
    RETURNS TABLE (period territory.period, period_text text, kind text, user_key text, user_name text,
                   won_deals int8, closed_won numeric, rank int8, share numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($sql$
        WITH per AS (
            SELECT p.period, w.owner, count(*) AS won_deals, sum(w.amount) AS closed_won
              FROM (%s) w
             CROSS JOIN LATERAL unnest(ARRAY[territory.period_of(w.close_date, 'month'),
                                             territory.period_of(w.close_date, 'quarter'),
                                             territory.period_of(w.close_date, 'year')]) AS p(period)
             WHERE w.owner IS NOT NULL
             GROUP BY 1, 2)
        SELECT p.period, p.period::text, territory.kind(p.period), p.owner, n.user_name, p.won_deals, p.closed_won,
               rank() OVER (PARTITION BY p.period ORDER BY p.closed_won DESC),
               round(p.closed_won / nullif(sum(p.closed_won) OVER (PARTITION BY p.period), 0), 4)
          FROM per p
          LEFT JOIN territory._report_user_names() n ON n.user_key = p.owner
        $sql$, territory._report_won_deals());
END
$$;
COMMENT ON FUNCTION territory._report_star_performers() IS 'Internal: the rows of territory.star_performers';

CREATE VIEW territory.star_performers WITH (security_invoker = true) AS
    SELECT s.period, s.period_text, s.kind, s.user_key, s.user_name, s.won_deals, s.closed_won, s.rank, s.share,
           lower(s.period) AS first_day, upper(s.period) - 1 AS last_day
      FROM territory._report_star_performers() s;
COMMENT ON VIEW territory.star_performers IS
    'Deal owners ranked by closed won per calendar month, quarter and year of the close dates, over all their deals';
COMMENT ON COLUMN territory.star_performers.period IS 'The month, quarter or year';
COMMENT ON COLUMN territory.star_performers.period_text IS 'The period as text (2026-11, 2026-Q4, 2026)';
COMMENT ON COLUMN territory.star_performers.kind IS 'month, quarter or year';
COMMENT ON COLUMN territory.star_performers.user_key IS 'The owner of the deals (the owner column: a sales user''s key)';
COMMENT ON COLUMN territory.star_performers.user_name IS 'The sales user''s name; NULL for an owner who is not a sales user, or whom the reader may not see';
COMMENT ON COLUMN territory.star_performers.won_deals IS 'Closed-won deals of the owner in the period';
COMMENT ON COLUMN territory.star_performers.closed_won IS 'Their amount (each deal to the cent)';
COMMENT ON COLUMN territory.star_performers.rank IS 'Rank by closed won within the period, 1 the highest (ties share a rank)';
COMMENT ON COLUMN territory.star_performers.share IS 'closed_won / the period''s closed won over all owners, to four decimals';
COMMENT ON COLUMN territory.star_performers.first_day IS 'The first day of the period';
COMMENT ON COLUMN territory.star_performers.last_day IS 'The last day of the period (included)';

-- ---------------------------------------------------------------- sales_cycle

CREATE FUNCTION territory._report_sales_cycle()
    RETURNS TABLE (territory_id int4, path text, depth int4, won_deals int8, avg_days numeric,
                   median_days numeric, min_days int4, max_days int4)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($sql$
        WITH won AS (SELECT s.subtree_of AS id, w.close_date - w.created AS days
                       FROM (%s) w
                       JOIN territory._report_subtrees() s ON s.territory_id = w.territories[1]
                      WHERE w.created IS NOT NULL)
        SELECT t.id, t.path, t.depth, count(w.days), round(avg(w.days), 2),
               (percentile_cont(0.5) WITHIN GROUP (ORDER BY w.days))::numeric, min(w.days), max(w.days)
          FROM territory._report_tree() t
          LEFT JOIN won w ON w.id = t.id
         GROUP BY t.id, t.path, t.depth
        $sql$, territory._report_won_deals());
END
$$;
COMMENT ON FUNCTION territory._report_sales_cycle() IS 'Internal: the rows of territory.sales_cycle';

CREATE VIEW territory.sales_cycle WITH (security_invoker = true) AS
    SELECT s.territory_id, s.path, s.depth, s.won_deals, s.avg_days, s.median_days, s.min_days, s.max_days
      FROM territory._report_sales_cycle() s;
COMMENT ON VIEW territory.sales_cycle IS
    'Days from creation to close of the closed-won deals, per territory of the active model over its subtree';
COMMENT ON COLUMN territory.sales_cycle.territory_id IS 'The territory';
COMMENT ON COLUMN territory.sales_cycle.path IS 'Path of the territory (Global / EMEA / Germany)';
COMMENT ON COLUMN territory.sales_cycle.depth IS 'Depth of the territory (0 for a root)';
COMMENT ON COLUMN territory.sales_cycle.won_deals IS 'Closed-won deals in the territory and below it with a creation time (0: none)';
COMMENT ON COLUMN territory.sales_cycle.avg_days IS 'Their average days from creation to close, to two decimals';
COMMENT ON COLUMN territory.sales_cycle.median_days IS 'Their median days from creation to close';
COMMENT ON COLUMN territory.sales_cycle.min_days IS 'The fewest days from creation to close';
COMMENT ON COLUMN territory.sales_cycle.max_days IS 'The most days from creation to close';

-- ---------------------------------------------------------------- coverage

CREATE FUNCTION territory._report_coverage()
    RETURNS TABLE (issue text, tbl regclass, territory_id int4, path text, stage text, records int8)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl_name text;
BEGIN
    -- the table's name comes back as text and is resolved here: a regclass made where Citus runs
    -- the query would come back as the OID of that node
    FOR issue, tbl_name, territory_id, path, stage, records IN EXECUTE format($sql$
        WITH records AS (%s),
        seen AS (SELECT t.id, t.path FROM territory._report_tree() t),
        occupied AS (SELECT s.subtree_of AS id
                       FROM (SELECT DISTINCT x.id FROM records r CROSS JOIN LATERAL unnest(r.territories) AS x(id)) o
                       JOIN territory._report_subtrees() s ON s.territory_id = o.id)
        SELECT 'record without territory'::text, r.tbl, NULL::int4, NULL::text, NULL::text, count(*)
          FROM records r WHERE r.territories = '{}' GROUP BY r.tbl
        UNION ALL
        SELECT 'territory without members', NULL, s.id, s.path, NULL, NULL
          FROM seen s WHERE s.id NOT IN (SELECT m.territory_id FROM territory._report_members() m)
        UNION ALL
        SELECT 'territory without rules', NULL, s.id, s.path, NULL, NULL
          FROM seen s WHERE NOT EXISTS (SELECT FROM territory.rules ru WHERE ru.territory_id = s.id AND ru.active)
        UNION ALL
        SELECT 'territory without records', NULL, s.id, s.path, NULL, NULL
          FROM seen s WHERE s.id NOT IN (SELECT o.id FROM occupied o)
        UNION ALL
        SELECT 'deal stage not in territory.stages', r.tbl, NULL, NULL, r.stage, count(*)
          FROM records r WHERE r.kind = 'deal' AND r.category IS NULL GROUP BY r.tbl, r.stage
        $sql$, territory._report_records('{account,lead,contact,deal}')) LOOP
        tbl := tbl_name::regclass;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory._report_coverage() IS 'Internal: the rows of territory.coverage';

CREATE VIEW territory.coverage WITH (security_invoker = true) AS
    SELECT c.issue, c.tbl, c.territory_id, c.path, c.stage, c.records
      FROM territory._report_coverage() c;
COMMENT ON VIEW territory.coverage IS
    'The gaps of the active model, one row each: records without territory, territories without members, rules or records, deal stages territory.stages does not know';
COMMENT ON COLUMN territory.coverage.issue IS
    'record without territory, territory without members, territory without rules, territory without records, or deal stage not in territory.stages';
COMMENT ON COLUMN territory.coverage.tbl IS 'The managed table, for the record and stage issues; NULL otherwise';
COMMENT ON COLUMN territory.coverage.territory_id IS 'The territory, for the territory issues; NULL otherwise';
COMMENT ON COLUMN territory.coverage.path IS 'Path of the territory, for the territory issues; NULL otherwise';
COMMENT ON COLUMN territory.coverage.stage IS 'The unknown stage, for the stage issue (NULL there: deals without a stage); NULL otherwise';
COMMENT ON COLUMN territory.coverage.records IS 'How many records have the issue, for the record and stage issues; NULL otherwise';

-- ---------------------------------------------------------------- balance

CREATE FUNCTION territory._report_balance()
    RETURNS TABLE (model_id int4, territory_id int4, path text, accounts int8, open_pipeline numeric, members int8,
                   accounts_per_member numeric, deviation numeric, gini numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($sql$
        WITH accounts AS (SELECT x.id, count(*) AS n
                            FROM (%s) r CROSS JOIN LATERAL unnest(r.territories) AS x(id)
                           GROUP BY x.id),
        pipeline AS (SELECT r.territories[1] AS id, sum(r.amount) AS amount
                       FROM (%s) r
                      WHERE coalesce(r.category, 'pipeline') IN ('pipeline', 'best_case', 'commit')
                      GROUP BY 1),
        loads AS (SELECT t.id, t.path, coalesce(a.n, 0) AS accounts, coalesce(p.amount, 0.00) AS open_pipeline,
                         m.members, coalesce(a.n, 0)::numeric / m.members AS per_member
                    FROM territory._report_tree() t
                    JOIN territory._report_members() m ON m.territory_id = t.id
                    LEFT JOIN accounts a ON a.id = t.id
                    LEFT JOIN pipeline p ON p.id = t.id),
        ranked AS (SELECT l.*, row_number() OVER (ORDER BY l.per_member) AS i,
                          count(*) OVER () AS n, sum(l.per_member) OVER () AS total
                     FROM loads l)
        SELECT (SELECT mo.id FROM territory.models mo WHERE mo.state = 'active'), r.id, r.path, r.accounts,
               r.open_pipeline, r.members, round(r.per_member, 4),
               round(r.per_member / nullif(r.total / r.n, 0) - 1, 4),
               -- Gini over the values sorted ascending: 2 * sum(i * x_i) / (n * sum(x)) - (n + 1) / n
               round(CASE WHEN r.total = 0 THEN 0
                          ELSE 2 * sum(r.i * r.per_member) OVER () / (r.n * r.total) - (r.n + 1)::numeric / r.n END, 4)
          FROM ranked r
        $sql$, territory._report_records('{account}'), territory._report_records('{deal}'));
END
$$;
COMMENT ON FUNCTION territory._report_balance() IS 'Internal: the rows of territory.balance';

CREATE VIEW territory.balance WITH (security_invoker = true) AS
    SELECT b.model_id, b.territory_id, b.path, b.accounts, b.open_pipeline, b.members, b.accounts_per_member,
           b.deviation, b.gini
      FROM territory._report_balance() b;
COMMENT ON VIEW territory.balance IS
    'How evenly the accounts are spread over the people: per territory of the active model with current members, its accounts and open pipeline per member, and the model''s inequality index';
COMMENT ON COLUMN territory.balance.model_id IS 'The active model';
COMMENT ON COLUMN territory.balance.territory_id IS 'The territory';
COMMENT ON COLUMN territory.balance.path IS 'Path of the territory (Global / EMEA / Germany)';
COMMENT ON COLUMN territory.balance.accounts IS 'Records of the account tables directly in the territory';
COMMENT ON COLUMN territory.balance.open_pipeline IS
    'Amount of the open deals (categories pipeline, best_case, commit; unknown stages count as pipeline) directly in the territory, any close date';
COMMENT ON COLUMN territory.balance.members IS 'Current memberships: valid today, of active sales users';
COMMENT ON COLUMN territory.balance.accounts_per_member IS 'accounts / members, to four decimals';
COMMENT ON COLUMN territory.balance.deviation IS
    'accounts_per_member / its mean over the rows - 1, to four decimals: 0 is the mean, 0.5 half again as many; NULL when the mean is 0';
COMMENT ON COLUMN territory.balance.gini IS
    'Gini index of accounts_per_member over the rows, the same on every row, to four decimals: 0 perfectly balanced, towards 1 concentrated';

-- ---------------------------------------------------------------- privileges

-- The views read as their reader; everyone may query them and call what they call.  What the
-- SECURITY DEFINER helpers return is limited to the territories the caller may see.
GRANT SELECT ON territory.forecast_summary, territory.revenue_by_territory, territory.star_performers,
    territory.sales_cycle, territory.coverage, territory.balance TO PUBLIC;
REVOKE ALL ON FUNCTION territory._report_unrestricted() FROM PUBLIC;

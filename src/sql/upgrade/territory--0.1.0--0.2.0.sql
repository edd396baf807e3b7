-- territory: upgrade from 0.1.0 to 0.2.0.
-- Every change made to src/sql for 0.2.0 must be made here too, so that an updated 0.1.0 install
-- equals a fresh 0.2.0 install: test/upgrade/run checks it.

\echo Use "ALTER EXTENSION territory UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------- configuration access
-- Configuration access (src/config.c): the relation that holds the rows of a configuration
-- table on this server, the table itself, or on a Citus cluster its placement on this node.
-- The triggers read and write the configuration through it: on a cluster they fire on the
-- placements, where a query on another configuration table would be a distributed query from
-- a shard's (doc/citus.md).
CREATE FUNCTION territory._config_table(name text) RETURNS regclass
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_config_table';
COMMENT ON FUNCTION territory._config_table(text) IS
    'Internal: the relation holding a configuration table''s rows on this server (the table, or its Citus placement)';

-- The triggers' lookups: a column (as text) of the row whose key columns equal the values
-- given as pairs (column, value, ...), through an index; NULL when there is none.
CREATE FUNCTION territory._config_value(tbl text, col text, VARIADIC key text[]) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_config_value';
COMMENT ON FUNCTION territory._config_value(text, text, text[]) IS
    'Internal: a column of the configuration row with the given key, read where _config_table() says';


-- ---------------------------------------------------------------- models: dumped whole
-- Every model is dumped, the install's `default` too: a restore replaces the one CREATE EXTENSION
-- made with it (territory._models_before_write), so its state, policy and version survive.

SELECT pg_catalog.pg_extension_config_dump('territory.models', '');

CREATE OR REPLACE FUNCTION territory._models_before_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the id of territory model % cannot change', OLD.id USING ERRCODE = 'feature_not_supported';
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- a model of the same id replaces the install's `default` while that has no territories:
        -- how a restore brings back the dumped `default` over the one CREATE EXTENSION made
        EXECUTE format('DELETE FROM %s m WHERE m.id = $1 AND m.name = ''default'' AND NOT EXISTS (SELECT FROM %s t WHERE t.model_id = m.id)',
                       territory._config_table('models'), territory._config_table('territories'))
          USING NEW.id;
        -- stamps given (a restore) are kept
        IF NEW.state = 'active' THEN
            NEW.activated_at := coalesce(NEW.activated_at, now());
        ELSIF NEW.state = 'archived' THEN
            NEW.archived_at := coalesce(NEW.archived_at, now());
        END IF;
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NEW.state = 'active' THEN
            NEW.activated_at := now();
        ELSIF NEW.state = 'archived' THEN
            NEW.archived_at := now();
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION territory._models_before_write() IS
    'Internal trigger: stamps model state changes; a restored model replaces the empty default model of the same id';

-- ---------------------------------------------------------------- archived models: restorable
-- Internal: refuse a new row in an archived model, unless it is dated before the model was
-- archived: a restore brings back the territories and rules of archived models.
CREATE FUNCTION territory._check_model_insertable(model int4, created timestamptz) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT coalesce(territory._config_value('models', 'state', 'id', model::text) = 'archived'
                    AND created < territory._config_value('models', 'archived_at', 'id', model::text)::timestamptz,
                    false) THEN
        PERFORM territory._check_model_writable(model);
    END IF;
END
$$;
COMMENT ON FUNCTION territory._check_model_insertable(int4, timestamptz) IS
    'Internal: error when a model is archived, unless the new row is dated before it was archived (a restore)';
REVOKE ALL ON FUNCTION territory._check_model_insertable(int4, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION territory._territories_before_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL THEN
        NEW.model_id := territory._parent_model(NEW.parent_id, NEW.model_id, NEW.model_id IS NULL);
    END IF;
    IF NEW.model_id IS NULL THEN
        NEW.model_id := territory.active_model();
        IF NEW.model_id IS NULL THEN
            RAISE EXCEPTION 'no territory model is active'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Name the model of the new territory.';
        END IF;
    END IF;
    PERFORM territory._check_model_insertable(NEW.model_id, NEW.created_at);
    IF NEW.code IS NULL THEN
        NEW.code := territory._new_code(NEW.model_id, NEW.name, NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION territory._rule_checked(r territory.rules) RETURNS territory.rules
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables;
BEGIN
    IF r.tbl IS NULL THEN
        RAISE EXCEPTION 'the table of a rule must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    mt := territory._managed(r.tbl);
    IF mt.kind = 'contact' THEN
        RAISE EXCEPTION 'contacts take their territories from their accounts; rules cannot read %', r.tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Write the rule against the account table.';
    END IF;
    IF r.territory_id IS NULL THEN
        RAISE EXCEPTION 'the territory of a rule must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    r.name := coalesce(nullif(btrim(r.name), ''), 'rule ' || r.id);
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION territory._rules_before_write() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    -- NEW is a row of the table, or on a Citus cluster of its placement: as the table's type
    NEW := territory._rule_checked(ROW(NEW.*)::territory.rules);
    IF TG_OP = 'INSERT' THEN
        PERFORM territory._check_model_insertable(territory._territory_model(NEW.territory_id), NEW.created_at);
    ELSE
        PERFORM territory._check_model_writable(territory._territory_model(NEW.territory_id));
    END IF;
    NEW.expr := territory._compile_rule(NEW.tbl, NEW.criteria,
                                        territory._config_value('managed_tables', 'territory_column', 'tbl', NEW.tbl::oid::text));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION territory._rules_before_write() IS 'Internal trigger: validates and compiles rules';

-- ---------------------------------------------------------------- installed stages
-- Internal: the stages the extension installs.
CREATE FUNCTION territory._default_stages()
    RETURNS TABLE (stage text, category text, probability numeric, "position" int4)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('Prospecting',       'pipeline',     10, 10),
           ('Qualification',     'pipeline',     20, 20),
           ('Needs Analysis',    'pipeline',     30, 30),
           ('Value Proposition', 'best_case',    40, 40),
           ('Proposal',          'best_case',    60, 50),
           ('Negotiation',       'commit',       80, 60),
           ('Closed Won',        'closed_won',  100, 70),
           ('Closed Lost',       'closed_lost',   0, 80)
$$;
COMMENT ON FUNCTION territory._default_stages() IS 'Internal: the stages the extension installs';

-- stages edited under 0.1.0 are no longer as installed; installed stages missing were removed
UPDATE territory.stages s SET seeded = false
  FROM territory._default_stages() d
 WHERE s.stage = d.stage AND s.seeded
   AND (s.category, s.probability, s.position) IS DISTINCT FROM (d.category, d.probability, d.position);

-- The installed stages removed (or renamed) since: a restore, after CREATE EXTENSION installed
-- them again, removes them once more.
CREATE TABLE territory.removed_stages (
    stage  text PRIMARY KEY
);
COMMENT ON TABLE territory.removed_stages IS
    'Installed stages that were deleted or renamed (kept by the stages triggers): a restore removes them again after CREATE EXTENSION installed them';
COMMENT ON COLUMN territory.removed_stages.stage IS 'The installed stage';
INSERT INTO territory.removed_stages
    SELECT d.stage FROM territory._default_stages() d
     WHERE NOT EXISTS (SELECT FROM territory.stages s WHERE s.stage = d.stage);
COMMENT ON COLUMN territory.stages.seeded IS
    'Installed by the extension and unchanged since (not dumped by pg_dump: CREATE EXTENSION installs it again); an edit clears it';
SELECT pg_catalog.pg_extension_config_dump('territory.removed_stages', '');

-- Internal: the installed stages survive a dump and restore as the user left them.  An edit of
-- an installed stage clears `seeded`, so the row is dumped; a new row (a restore's) replaces the
-- installed, unedited stage of the same name; deleting or renaming an installed stage records it
-- in territory.removed_stages, whose rows (a restore's) remove the installed stage again.  A
-- stage inserted without a position goes after the last one.  The bookkeeping is skipped for the changes these triggers make themselves.
CREATE FUNCTION territory._stages_before_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF pg_trigger_depth() = 1 THEN
            NEW.seeded := false;
        END IF;
        EXECUTE format('DELETE FROM %s s WHERE s.stage = $1 AND s.seeded', territory._config_table('stages'))
          USING NEW.stage;
        EXECUTE format('DELETE FROM %s r WHERE r.stage = $1', territory._config_table('removed_stages'))
          USING NEW.stage;
        -- written by hand without a position: after the last stage
        IF NEW.position IS NULL THEN
            EXECUTE format('SELECT coalesce(max(s.position), 0) + 1 FROM %s s', territory._config_table('stages'))
               INTO NEW.position;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.stage, NEW.category, NEW.probability, NEW.position)
           IS DISTINCT FROM (OLD.stage, OLD.category, OLD.probability, OLD.position) THEN
            NEW.seeded := false;
        END IF;
        IF NEW.stage <> OLD.stage THEN
            EXECUTE format('DELETE FROM %s r WHERE r.stage = $1', territory._config_table('removed_stages'))
              USING NEW.stage;
        END IF;
    END IF;
    IF pg_trigger_depth() = 1 AND (TG_OP = 'DELETE' OR NEW.stage <> OLD.stage)
       AND EXISTS (SELECT FROM territory._default_stages() d WHERE d.stage = OLD.stage) THEN
        EXECUTE format('INSERT INTO %s VALUES ($1) ON CONFLICT DO NOTHING', territory._config_table('removed_stages'))
          USING OLD.stage;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION territory._stages_before_write() IS
    'Internal trigger: keeps the installed stages right through a dump and restore (seeded, removed_stages)';
CREATE TRIGGER stages_before_write BEFORE INSERT OR UPDATE OR DELETE ON territory.stages
    FOR EACH ROW EXECUTE FUNCTION territory._stages_before_write();

-- Internal: a removed installed stage (a restore's row, not one the stages trigger writes) is
-- removed again.
CREATE FUNCTION territory._removed_stages_before_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        EXECUTE format('DELETE FROM %s s WHERE s.stage = $1 AND s.seeded', territory._config_table('stages'))
          USING NEW.stage;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION territory._removed_stages_before_insert() IS
    'Internal trigger: removes an installed stage recorded as removed (a restore)';
CREATE TRIGGER removed_stages_before_insert BEFORE INSERT ON territory.removed_stages
    FOR EACH ROW EXECUTE FUNCTION territory._removed_stages_before_insert();

REVOKE ALL ON FUNCTION
    territory._default_stages(),
    territory._stages_before_write(),
    territory._removed_stages_before_insert()
FROM PUBLIC;

-- ---------------------------------------------------------------- periods from any search_path
-- The operators, lower, upper, min and max of territory.period move to pg_catalog (doc/periods.md,
-- "Names and the search path"); moved, not re-created, so that what users built on them (indexes,
-- views, constraints) keeps them.  territory.lower/upper/min/max stay, as the names of 0.1.0.
ALTER OPERATOR territory.= (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.<> (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.< (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.<= (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.> (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.>= (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.@> (territory.period, date) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.<@ (date, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.@> (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.<@ (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER OPERATOR territory.&& (territory.period, territory.period) SET SCHEMA pg_catalog;
ALTER FUNCTION territory.lower(territory.period) SET SCHEMA pg_catalog;
ALTER FUNCTION territory.upper(territory.period) SET SCHEMA pg_catalog;
ALTER AGGREGATE territory.min(territory.period) SET SCHEMA pg_catalog;
ALTER AGGREGATE territory.max(territory.period) SET SCHEMA pg_catalog;
CREATE FUNCTION territory.lower(p territory.period) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.lower(p);
COMMENT ON FUNCTION territory.lower(territory.period) IS 'First day of the period (the same as pg_catalog.lower)';

CREATE FUNCTION territory.upper(p territory.period) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.upper(p);
COMMENT ON FUNCTION territory.upper(territory.period) IS
    'First day after the period (the same as pg_catalog.upper)';
COMMENT ON FUNCTION territory.period_smaller(territory.period, territory.period) IS
    'The smaller of two periods (transition function of min)';
COMMENT ON FUNCTION territory.period_larger(territory.period, territory.period) IS
    'The larger of two periods (transition function of max)';

COMMENT ON AGGREGATE pg_catalog.min(territory.period) IS 'The first period in the order of periods';
COMMENT ON AGGREGATE pg_catalog.max(territory.period) IS 'The last period in the order of periods';

CREATE AGGREGATE territory.min(territory.period) (
    SFUNC = territory.period_smaller, STYPE = territory.period,
    COMBINEFUNC = territory.period_smaller, SORTOP = OPERATOR(pg_catalog.<), PARALLEL = SAFE
);
COMMENT ON AGGREGATE territory.min(territory.period) IS 'The first period (the same as pg_catalog.min)';

CREATE AGGREGATE territory.max(territory.period) (
    SFUNC = territory.period_larger, STYPE = territory.period,
    COMBINEFUNC = territory.period_larger, SORTOP = OPERATOR(pg_catalog.>), PARALLEL = SAFE
);
COMMENT ON AGGREGATE territory.max(territory.period) IS 'The last period (the same as pg_catalog.max)';

-- PL/pgSQL bodies that named the operators or functions by their old schema

CREATE OR REPLACE FUNCTION territory._target_user(territory int4, period territory.period, user_key text) RETURNS int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid int4;
BEGIN
    IF user_key IS NULL THEN
        RETURN NULL;
    END IF;
    uid := territory._user_id(user_key);
    IF NOT EXISTS (
        SELECT FROM territory.members m
         WHERE m.territory_id = _target_user.territory AND m.user_id = uid
           AND (m.valid_from IS NULL OR m.valid_from < pg_catalog.upper(_target_user.period))
           AND (m.valid_to IS NULL OR m.valid_to >= pg_catalog.lower(_target_user.period))) THEN
        RAISE EXCEPTION 'sales user "%" is not a member of territory % in %', user_key, _target_user.territory,
                _target_user.period
            USING ERRCODE = 'undefined_object',
                  DETAIL = 'A user''s target belongs to a territory the user is a member of during the period.',
                  HINT = 'Add the membership with territory.add_member().';
    END IF;
    RETURN uid;
END
$$;

CREATE OR REPLACE FUNCTION territory.remove_target(territory int4, period territory.period, user_key text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    own bool;
BEGIN
    PERFORM territory._check_territory(remove_target.territory);
    PERFORM territory._check_not_null('period', remove_target.period);
    own := user_key IS NULL OR EXISTS (SELECT FROM territory.sales_users u
                                        WHERE u.key = user_key AND u.id = territory.current_user_id());
    PERFORM territory._check_planner(remove_target.territory, NOT own, 'territory.targets', 'set the targets of');
    DELETE FROM territory.targets t
     WHERE t.territory_id = remove_target.territory
       AND t.period OPERATOR(pg_catalog.=) remove_target.period
       AND t.user_id IS NOT DISTINCT FROM (CASE WHEN user_key IS NOT NULL THEN territory._user_id(user_key) END);
    IF NOT FOUND THEN
        IF user_key IS NULL THEN
            RAISE EXCEPTION 'territory % has no target for %', remove_target.territory, remove_target.period
                USING ERRCODE = 'undefined_object';
        END IF;
        RAISE EXCEPTION 'sales user "%" has no target in territory % for %', user_key, remove_target.territory,
                remove_target.period
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION territory.split_target(territory int4, period territory.period, method text DEFAULT 'even')
    RETURNS TABLE (territory_id int4, amount numeric)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    how text := lower(btrim(split_target.method));
    weighed territory.period;
    total numeric;
    kids int4[];
    weights numeric[];
BEGIN
    PERFORM territory._check_territory(split_target.territory);
    PERFORM territory._check_not_null('period', split_target.period);
    IF how IS NULL OR how NOT IN ('even', 'history', 'pipeline') THEN
        RAISE EXCEPTION 'unknown split method: %', coalesce(split_target.method, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The methods are even, history and pipeline.';
    END IF;
    PERFORM territory._check_planner(split_target.territory, true, 'territory.targets', 'split the target of');
    -- the parent's target stays as it is until the split commits
    SELECT t.amount INTO total
      FROM territory.targets t
     WHERE t.territory_id = split_target.territory AND t.period OPERATOR(pg_catalog.=) split_target.period
       AND t.user_id IS NULL
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'territory % has no target for %', split_target.territory, split_target.period
            USING ERRCODE = 'no_data_found', HINT = 'Set it with territory.set_target() first.';
    END IF;
    kids := ARRAY(SELECT k.child FROM territory.children(split_target.territory) WITH ORDINALITY AS k(child, n)
                   ORDER BY k.n);
    IF cardinality(kids) = 0 THEN
        RAISE EXCEPTION 'territory % has no children to split its target among', split_target.territory
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF how <> 'even' THEN
        -- history: last period's closed won; pipeline: the open deals of the period
        weighed := CASE how WHEN 'history' THEN territory.next(split_target.period, -1) ELSE split_target.period END;
        -- each child's figure of the forecast (its subtree, every deal to the cent; this function
        -- runs as the extension's owner, so every deal counts)
        weights := ARRAY(SELECT coalesce(greatest(CASE how WHEN 'history' THEN f.closed_won
                                                           ELSE f.commit + f.best_case + f.pipeline END, 0), 0)
                           FROM unnest(kids) WITH ORDINALITY AS k(child, n)
                           LEFT JOIN territory.forecast(weighed, split_target.territory) f
                                  ON f.territory_id = k.child AND f.user_key IS NULL
                          ORDER BY k.n);
        IF NOT EXISTS (SELECT FROM unnest(weights) w WHERE w > 0) THEN
            RAISE NOTICE 'the children of territory % have no % in %: its target is split evenly',
                split_target.territory, CASE how WHEN 'history' THEN 'closed won deals' ELSE 'open deals' END, weighed;
            how := 'even';
        END IF;
    END IF;
    IF how = 'even' THEN
        weights := array_fill(1::numeric, ARRAY[cardinality(kids)]);
    END IF;
    FOR split_target.territory_id, split_target.amount IN
        SELECT s.id, s.amount
          FROM territory._largest_remainder(total, kids, weights) s
          JOIN unnest(kids) WITH ORDINALITY AS k(child, n) ON k.child = s.id
         ORDER BY k.n
    LOOP
        PERFORM territory._write_target(split_target.territory_id, split_target.period, NULL,
                                        split_target.amount, how);
        RETURN NEXT;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------- report views: first_day, last_day

CREATE OR REPLACE VIEW territory.forecast_summary WITH (security_invoker = true) AS
    SELECT p.period, p.period::text AS period_text, territory.kind(p.period) AS kind,
           f.territory_id, f.parent_id, f.user_key, f.depth, territory.path(f.territory_id) AS path, f.target, f.closed_won, f.commit, f.best_case,
           f.pipeline, f.weighted_pipeline, f.adjusted_commit, f.adjusted_best_case, f.adjusted_pipeline,
           f.attainment, f.gap, lower(p.period) AS first_day, upper(p.period) - 1 AS last_day
      FROM territory._report_forecast_periods() AS p(period)
     CROSS JOIN LATERAL territory.forecast_periods(ARRAY[p.period]) AS f;
COMMENT ON COLUMN territory.forecast_summary.first_day IS 'The first day of the period';
COMMENT ON COLUMN territory.forecast_summary.last_day IS 'The last day of the period (included)';

CREATE OR REPLACE VIEW territory.revenue_by_territory WITH (security_invoker = true) AS
    SELECT r.territory_id, r.path, r.depth, r.period, r.period_text, r.won_deals, r.revenue, r.own_revenue,
           lower(r.period) AS first_day, upper(r.period) - 1 AS last_day
      FROM territory._report_revenue() r;
COMMENT ON COLUMN territory.revenue_by_territory.first_day IS 'The first day of the month';
COMMENT ON COLUMN territory.revenue_by_territory.last_day IS 'The last day of the month';

CREATE OR REPLACE VIEW territory.star_performers WITH (security_invoker = true) AS
    SELECT s.period, s.period_text, s.kind, s.user_key, s.user_name, s.won_deals, s.closed_won, s.rank, s.share,
           lower(s.period) AS first_day, upper(s.period) - 1 AS last_day
      FROM territory._report_star_performers() s;
COMMENT ON COLUMN territory.star_performers.first_day IS 'The first day of the period';
COMMENT ON COLUMN territory.star_performers.last_day IS 'The last day of the period (included)';

-- ---------------------------------------------------------------- deals: the unassigned arm without reading
-- unassigned_visible(int4) becomes SQL, inlined into the policies (they keep it: they name it by
-- its oid), served by a partial index that enable_visibility() now creates; the deal tables whose
-- visibility is on get it here.
CREATE OR REPLACE FUNCTION territory.unassigned_visible(territory int4) RETURNS bool
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN territory IS NULL AND (territory IS NULL) = NULLIF(territory.sees_all(), false);
COMMENT ON FUNCTION territory.unassigned_visible(int4) IS
    'Whether a deal without territory is visible: to a user who sees everything (the deal policies write this body out; a partial index on (territory_id IS NULL) serves it)';

-- The policies of a deal table write the unassigned arm out (planning it costs less).
-- Internal: the USING / WITH CHECK expression of a managed table's policies.
CREATE OR REPLACE FUNCTION territory._policy_expr(tbl regclass, access text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT format('territory.in_visible(%1$I, %2$L, %3$L)', m.territory_column, m.kind, access)
               || CASE WHEN m.owner_column IS NOT NULL
                       THEN format(' OR territory.owner_visible(%I)', m.owner_column) ELSE '' END
               || CASE WHEN m.kind = 'deal'
                       -- unassigned_visible(int4)'s body, written out: inlining it costs more planning
                       THEN format(' OR (%1$I IS NULL AND (%1$I IS NULL) = NULLIF(territory.sees_all(), false))',
                                   m.territory_column)
                       ELSE format(' OR territory.unassigned_visible(%I)', m.territory_column) END
          FROM territory.managed_tables m
         WHERE m.tbl = _policy_expr.tbl;
    END;
COMMENT ON FUNCTION territory._policy_expr(regclass, text) IS
    'Internal: the condition of a managed table''s visibility policies for an access level';

CREATE OR REPLACE FUNCTION territory.enable_visibility(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables;
    rd text;
    ed text;
BEGIN
    mt := territory._managed(tbl);
    -- the unassigned arm of a deal table needs its partial index (unassigned_visible(int4))
    IF mt.kind = 'deal' AND NOT EXISTS (
        SELECT FROM pg_index i
         WHERE i.indrelid = tbl
           AND pg_get_expr(i.indexprs, i.indrelid) = format('(%I IS NULL)', mt.territory_column)
           AND pg_get_expr(i.indpred, i.indrelid) = format('(%I IS NULL)', mt.territory_column)) THEN
        EXECUTE format('CREATE INDEX %I ON %s ((%I IS NULL)) WHERE %I IS NULL',
                       left((SELECT c.relname FROM pg_class c WHERE c.oid = tbl), 40) || '_unassigned_idx', tbl,
                       mt.territory_column, mt.territory_column);
    END IF;
    -- the owner arm needs an index on the owner column
    IF mt.owner_column IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_index i
         WHERE i.indrelid = tbl
           AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = mt.owner_column)) THEN
        EXECUTE format('CREATE INDEX %I ON %s (%I)',
                       left((SELECT c.relname FROM pg_class c WHERE c.oid = tbl), 40) || '_' || left(mt.owner_column, 10)
                       || '_owner_idx', tbl, mt.owner_column);
    END IF;
    rd := territory._policy_expr(tbl, 'read');
    ed := territory._policy_expr(tbl, 'edit');
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    PERFORM territory._drop_policies(tbl);
    EXECUTE format('CREATE POLICY territory_select ON %s FOR SELECT USING (%s)', tbl, rd);
    EXECUTE format('CREATE POLICY territory_insert ON %s FOR INSERT WITH CHECK (%s)', tbl, ed);
    EXECUTE format('CREATE POLICY territory_update ON %s FOR UPDATE USING (%s) WITH CHECK (%s)', tbl, ed, ed);
    EXECUTE format('CREATE POLICY territory_delete ON %s FOR DELETE USING (%s)', tbl, ed);
END
$$;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT m.tbl FROM territory.managed_tables m
              WHERE m.kind = 'deal'
                AND EXISTS (SELECT FROM pg_catalog.pg_policy p
                             WHERE p.polrelid = m.tbl AND p.polname = 'territory_select')
              ORDER BY m.tbl::oid LOOP
        PERFORM territory.enable_visibility(t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------- contacts and deals before their account
-- An account inserted after contacts or deals that name it gives them its territories: a third
-- cascade trigger, zz_territory_cascade_insert, made (like the other two) by one function, and
-- given here to the account table of an install that has contacts or deals managed.

CREATE FUNCTION territory._create_cascade_triggers(acct territory.managed_tables) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trg record;
BEGIN
    FOR trg IN SELECT * FROM (VALUES
            ('zz_territory_cascade_insert', 'INSERT', format('NEW.%I OPERATOR(pg_catalog.<>) ''{}''', acct.territory_column)),
            ('zz_territory_cascade_update', 'UPDATE',
             format('OLD.%1$I IS DISTINCT FROM NEW.%1$I OR OLD.%2$I IS DISTINCT FROM NEW.%2$I',
                    acct.territory_column, acct.key_column)),
            ('zz_territory_cascade_delete', 'DELETE', NULL)) t(name, event, condition)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = acct.tbl AND t.tgname = trg.name) THEN
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW %s EXECUTE FUNCTION territory.cascade_trigger()',
                           trg.name, trg.event, acct.tbl,
                           CASE WHEN trg.condition IS NOT NULL THEN format('WHEN (%s)', trg.condition) ELSE '' END);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory._create_cascade_triggers(territory.managed_tables) IS
    'Internal: create the cascade triggers of the account table that are missing';

CREATE FUNCTION territory._drop_cascade_triggers(acct regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trg name;
BEGIN
    FOR trg IN SELECT t.tgname FROM pg_trigger t
                WHERE t.tgrelid = acct AND t.tgname LIKE 'zz\_territory\_cascade\_%' ORDER BY t.tgname LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trg, acct);
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory._drop_cascade_triggers(regclass) IS
    'Internal: drop the cascade triggers of the account table';

REVOKE ALL ON FUNCTION
    territory._create_cascade_triggers(territory.managed_tables),
    territory._drop_cascade_triggers(regclass)
FROM PUBLIC;

CREATE OR REPLACE FUNCTION territory.manage_table(tbl regclass, kind text, key name DEFAULT 'id',
                                       owner name DEFAULT 'owner_id', account name DEFAULT 'account_id',
                                       amount name DEFAULT 'amount', close_date name DEFAULT 'close_date',
                                       stage name DEFAULT 'stage', created name DEFAULT 'created_at',
                                       phone name DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text := lower(btrim(manage_table.kind));
    col name := 'territories';
    acct territory.managed_tables;
    n int8;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF k IS NULL OR k NOT IN ('account', 'lead', 'contact', 'deal') THEN
        RAISE EXCEPTION 'unknown kind of managed table: %', coalesce(manage_table.kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The kinds are account, lead, contact and deal.';
    END IF;
    IF EXISTS (SELECT FROM territory.managed_tables m WHERE m.tbl = manage_table.tbl) THEN
        RAISE EXCEPTION 'table % is already managed', tbl USING ERRCODE = 'duplicate_object';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    IF EXISTS (SELECT FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = tbl AND d.deptype = 'e') THEN
        RAISE EXCEPTION 'table % belongs to an extension', tbl
            USING ERRCODE = 'wrong_object_type', HINT = 'Manage the application''s own tables.';
    END IF;
    PERFORM territory._check_column(tbl, 'key', key);
    IF owner IS NOT NULL THEN
        PERFORM territory._check_column(tbl, 'owner', owner);
    END IF;
    IF phone IS NOT NULL THEN
        PERFORM territory._check_column(tbl, 'phone', phone, '{text,varchar}');
    END IF;
    IF k IN ('contact', 'deal') THEN
        SELECT m.* INTO acct FROM territory.managed_tables m WHERE m.kind = 'account';
        IF NOT FOUND THEN
            RAISE EXCEPTION '% tables take their territories from an account table, and none is managed', k
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Manage the account table first with territory.manage_table(..., ''account'').';
        ELSIF (SELECT count(*) FROM territory.managed_tables m WHERE m.kind = 'account') > 1 THEN
            RAISE EXCEPTION 'several account tables are managed; % tables need exactly one', k
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        PERFORM territory._check_column(tbl, 'account', account);
        IF NOT EXISTS (
            SELECT FROM pg_operator o, pg_attribute a, pg_attribute ak
             WHERE a.attrelid = tbl AND a.attname = account
               AND ak.attrelid = acct.tbl AND ak.attname = acct.key_column
               AND o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = ak.atttypid
               AND o.oprnamespace = 'pg_catalog'::regnamespace) THEN
            RAISE EXCEPTION 'column "%" of table % cannot be compared with the key of %', account, tbl, acct.tbl
                USING ERRCODE = 'datatype_mismatch', DETAIL = 'It was given as the account column.';
        END IF;
    END IF;
    IF k = 'deal' THEN
        PERFORM territory._check_column(tbl, 'amount', amount, '{numeric,int4,int8,float8,float4,money}');
        PERFORM territory._check_column(tbl, 'close date', close_date, '{date,timestamp,timestamptz}');
        PERFORM territory._check_column(tbl, 'stage', stage, '{text,varchar}');
        PERFORM territory._check_column(tbl, 'created', created, '{date,timestamp,timestamptz}');
        col := 'territory_id';
    END IF;
    IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column "%"', tbl, col
            USING ERRCODE = 'duplicate_column',
                  HINT = 'The extension adds and maintains that column; rename yours first.';
    END IF;
    PERFORM territory._citus_check_managed(tbl, k, key, account, acct);

    INSERT INTO territory.managed_tables (tbl, kind, key_column, owner_column, account_column, amount_column,
                                          close_date_column, stage_column, created_column, phone_column,
                                          territory_column)
        VALUES (tbl, k, key, owner,
                CASE WHEN k IN ('contact', 'deal') THEN account END,
                CASE WHEN k = 'deal' THEN amount END, CASE WHEN k = 'deal' THEN close_date END,
                CASE WHEN k = 'deal' THEN stage END, CASE WHEN k = 'deal' THEN created END,
                phone, col);

    IF k = 'deal' THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I int4', tbl, col);
        EXECUTE format('CREATE INDEX %I ON %s (%I)',
                       left((SELECT c.relname FROM pg_class c WHERE c.oid = tbl), 48) || '_territory_id_idx', tbl, col);
    ELSE
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I int4[] NOT NULL DEFAULT ''{}''', tbl, col);
        EXECUTE format('CREATE INDEX %I ON %s USING gin (%I)',
                       left((SELECT c.relname FROM pg_class c WHERE c.oid = tbl), 48) || '_territories_idx', tbl, col);
    END IF;
    IF k IN ('contact', 'deal') THEN
        -- contacts and deals are found by account when the account's territories change
        IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = tbl
                          AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = account)) THEN
            EXECUTE format('CREATE INDEX %I ON %s (%I)',
                           left((SELECT c.relname FROM pg_class c WHERE c.oid = tbl), 40) || '_' || left(account, 10)
                           || '_territory_idx', tbl, account);
        END IF;
        PERFORM territory._create_cascade_triggers(acct);
    END IF;
    -- named to fire after the application's own BEFORE triggers (they fire in name order)
    EXECUTE format('CREATE TRIGGER zz_territory_assign BEFORE INSERT OR UPDATE ON %s
                    FOR EACH ROW EXECUTE FUNCTION territory.assign_trigger()', tbl);
    EXECUTE format('CREATE TRIGGER zz_territory_history_delete AFTER DELETE ON %s
                    FOR EACH ROW WHEN (%s)
                    EXECUTE FUNCTION territory.history_trigger()', tbl,
                   CASE WHEN k = 'deal' THEN format('OLD.%I IS NOT NULL', col)
                        ELSE format('OLD.%I OPERATOR(pg_catalog.<>) ''{}''', col) END);

    -- assign the rows already there
    EXECUTE format('UPDATE %s SET %s', tbl, territory._reassigning(col, k));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        RAISE NOTICE 'territory: assigned % existing rows of %', n, tbl;
    END IF;
END
$$;
COMMENT ON FUNCTION territory.manage_table(regclass, text, name, name, name, name, name, name, name, name) IS
    'Attach the extension to a table of accounts, leads, contacts or deals: adds the territories column (deals: territory_id), its index and the assignment triggers, and assigns the existing rows';

CREATE OR REPLACE FUNCTION territory.unmanage_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables := territory._managed(tbl);
    acct territory.managed_tables;
    trg text;
BEGIN
    IF mt.kind = 'account' AND EXISTS (SELECT FROM territory.managed_tables m WHERE m.kind IN ('contact', 'deal')) THEN
        RAISE EXCEPTION 'contacts or deals take their territories from %', tbl
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Unmanage the contact and deal tables first.';
    END IF;
    IF mt.kind IN ('contact', 'deal')
       AND NOT EXISTS (SELECT FROM territory.managed_tables m
                        WHERE m.kind IN ('contact', 'deal') AND m.tbl <> unmanage_table.tbl) THEN
        SELECT m.* INTO acct FROM territory.managed_tables m WHERE m.kind = 'account';
        IF FOUND THEN
            PERFORM territory._drop_cascade_triggers(acct.tbl);
        END IF;
    END IF;
    FOREACH trg IN ARRAY ARRAY['zz_territory_assign', 'zz_territory_history_delete'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', trg, tbl);
    END LOOP;
    EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', tbl, mt.territory_column);
    -- rules and manual assignments of the table go with it; its history stays
    DELETE FROM territory.managed_tables m WHERE m.tbl = unmanage_table.tbl;
END
$$;
COMMENT ON FUNCTION territory.unmanage_table(regclass) IS
    'Detach the extension from a table: drops the territories column, its index and triggers, the table''s rules and manual assignments (history stays)';

CREATE OR REPLACE FUNCTION territory._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct regclass;
BEGIN
    -- nothing to do while the extension itself is being dropped
    IF to_regclass('territory.managed_tables') IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM territory.managed_tables m
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = m.tbl::oid;
    IF NOT FOUND THEN
        RETURN;     -- no managed table went (this also ends the recursion of the drops below)
    END IF;
    -- the account table's cascade triggers go with the last contact or deal table
    IF NOT EXISTS (SELECT FROM territory.managed_tables m WHERE m.kind IN ('contact', 'deal')) THEN
        FOR acct IN SELECT m.tbl FROM territory.managed_tables m WHERE m.kind = 'account' LOOP
            PERFORM territory._drop_cascade_triggers(acct);
        END LOOP;
    END IF;
END
$$;
COMMENT ON FUNCTION territory._on_sql_drop() IS
    'Internal event trigger: forgets managed tables that are dropped';

SELECT territory._create_cascade_triggers(m)
  FROM territory.managed_tables m
 WHERE m.kind = 'account'
   AND EXISTS (SELECT FROM territory.managed_tables d WHERE d.kind IN ('contact', 'deal'));

-- ---------------------------------------------------------------- forecast_summary for a reader who sees little
-- active_model() reads the hierarchy's cache: as SQL its body was planned at every call.
CREATE OR REPLACE FUNCTION territory.active_model() RETURNS int4
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_active_model';

-- Internal: whether nothing restricts what the calling role reads of the records: it bypasses
-- row-level security (a superuser, BYPASSRLS), or it may read some managed table and row-level
-- security applies to it on none of those it may read (decided as PostgreSQL decides it: the
-- table has it enabled, and the role does not own the table, or the table forces it).  Run
-- inside the SECURITY DEFINER helpers, about the role that called them.
CREATE OR REPLACE FUNCTION territory._report_unrestricted() RETURNS bool
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

-- Internal: the periods of territory.forecast_summary, in order: those with a target, and every
-- calendar month and quarter from the earliest to the latest close date of the deals the caller
-- reads (the smallest and largest close date of each table: an index on it serves them).  A
-- caller whom row-level security restricts to a small part of the tree reads its deals first
-- (the policies' index arms) and takes their smallest and largest date: walking the close-date
-- index in order would read every deal it may not see before one it may, all of them when it
-- sees none.
CREATE OR REPLACE FUNCTION territory._report_forecast_periods() RETURNS SETOF territory.period
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

-- Internal: the periods that have a target (of a territory or of a member) in a territory the
-- caller may see: every period with a target when nothing restricts the caller, found by skipping
-- through the targets' index on the period (a DISTINCT read every target of the organisation),
-- else those of its territories, found through the targets' unique index (a join with
-- _report_territories() read every target for a rep of one leaf).  PL/pgSQL, so that whether the
-- caller is restricted is decided once.
CREATE OR REPLACE FUNCTION territory._report_target_periods() RETURNS SETOF territory.period
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

-- ---------------------------------------------------------------- Citus: the configuration on every node
-- add_user() looks the manager up before its INSERT (Citus evaluates functions in a write's values first).
CREATE OR REPLACE FUNCTION territory.add_user(key text, name text, login name DEFAULT NULL, manager text DEFAULT NULL,
                                   sees_all bool DEFAULT false) RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid int4;
    mgr int4;
BEGIN
    IF add_user.key IS NULL OR add_user.name IS NULL THEN
        RAISE EXCEPTION 'a sales user needs a key and a name' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF add_user.key = '' OR add_user.key <> btrim(add_user.key) OR octet_length(add_user.key) >= 128 THEN
        RAISE EXCEPTION 'invalid sales user key: "%"', add_user.key
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A key is not empty, has no surrounding spaces and is shorter than 128 bytes.';
    END IF;
    IF EXISTS (SELECT FROM territory.sales_users u WHERE u.key = add_user.key) THEN
        RAISE EXCEPTION 'sales user "%" already exists', add_user.key USING ERRCODE = 'duplicate_object';
    END IF;
    IF add_user.login IS NOT NULL AND EXISTS (SELECT FROM territory.sales_users u WHERE u.login = add_user.login) THEN
        RAISE EXCEPTION 'login "%" is already mapped to a sales user', add_user.login USING ERRCODE = 'duplicate_object';
    END IF;
    -- looked up before the INSERT: Citus evaluates a function in the values of a write to a
    -- reference table before it sends it, a CASE around it notwithstanding
    IF manager IS NOT NULL THEN
        mgr := territory._user_id(manager);
    END IF;
    INSERT INTO territory.sales_users (key, name, login, manager_id, sees_all)
        VALUES (add_user.key, add_user.name, add_user.login, mgr, coalesce(add_user.sees_all, false))
        RETURNING id INTO uid;
    RETURN uid;
END
$$;


-- The tables of the configuration that every node reads, in the order they become reference
-- tables (a table before those whose foreign keys point at it).
CREATE FUNCTION territory._citus_tables() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['models', 'territory_types', 'territories', 'managed_tables', 'rules', 'manual_assignments',
                 'sales_users', 'members', 'territory_access', 'stages', 'removed_stages',
                 'targets', 'forecast_adjustments', 'phone_numbers'];
COMMENT ON FUNCTION territory._citus_tables() IS
    'Internal: the configuration tables that enable_citus() makes reference tables, in order';

-- Makes the configuration tables reference tables, so that every node of the cluster holds the
-- configuration and a change made through the coordinator reaches every node in its
-- transaction.  Run on the coordinator, after citus_add_node(); idempotent.  Citus refuses a
-- table with triggers, or one that foreign keys join to local tables: the foreign keys among
-- these tables are dropped and made again once all are reference tables, and the triggers are
-- off while each table's rows are copied (they were checked when written).
CREATE FUNCTION territory.enable_citus() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    names text[] := territory._citus_tables();
    rels oid[];
    fk record;
    fks text[] := '{}';
    t text;
    failed text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'CREATE EXTENSION citus first.';
    END IF;
    IF NOT citus_is_coordinator() THEN
        RAISE EXCEPTION 'enable_citus() runs on the coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF current_setting('citus.enable_binary_protocol', true) IS DISTINCT FROM 'off' THEN
        RAISE WARNING 'citus.enable_binary_protocol is on: the history read through the coordinator shows the workers'' OIDs of its tables'
            USING HINT = 'Set citus.enable_binary_protocol = off on every node (doc/citus.md, Deployment).';
    END IF;
    SELECT array_agg(c.oid) INTO rels
      FROM unnest(names) n JOIN pg_class c ON c.relname = n AND c.relnamespace = 'territory'::regnamespace;
    IF (SELECT count(*) FROM pg_dist_partition p WHERE p.logicalrelid = ANY (rels)) = cardinality(rels) THEN
        RETURN;     -- done before
    END IF;
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    FOR fk IN SELECT co.conrelid::regclass AS tbl, co.conname, pg_get_constraintdef(co.oid) AS def
                FROM pg_constraint co
               WHERE co.contype = 'f' AND (co.conrelid = ANY (rels) OR co.confrelid = ANY (rels))
               ORDER BY co.conrelid, co.conname LOOP
        -- territory.rotations stays a local table, the coordinator's (the turns of owner
        -- assignment are taken there, src/remote.c): Citus joins no local table to a reference
        -- table by a foreign key, so its foreign key goes
        IF fk.tbl <> 'territory.rotations'::regclass THEN
            fks := fks || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
        END IF;
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
        -- the workers' copies of the tables (made by CREATE EXTENSION there) have the same
        -- foreign key, which Citus does not drop for a table it does not distribute yet, and
        -- would make again on them
        SELECT string_agg(format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ') INTO failed
          FROM run_command_on_workers(format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.tbl, fk.conname)) w
         WHERE NOT w.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not drop the foreign key % of % on the workers: %', fk.conname, fk.tbl, failed
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END LOOP;
    FOREACH t IN ARRAY names LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = format('territory.%I', t)::regclass);
        EXECUTE format('ALTER TABLE territory.%I DISABLE TRIGGER USER', t);
        PERFORM create_reference_table(format('territory.%I', t)::regclass);
        EXECUTE format('ALTER TABLE territory.%I ENABLE TRIGGER USER', t);
        -- the coordinator's own copy now lives in its placement: the shell keeps no rows
        PERFORM truncate_local_data_after_distributing_table(format('territory.%I', t)::regclass);
    END LOOP;
    FOREACH t IN ARRAY fks LOOP
        EXECUTE t;
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory.enable_citus() IS
    'Makes the configuration tables reference tables, so that every node of a Citus cluster holds the configuration (on the coordinator; idempotent)';
REVOKE ALL ON FUNCTION territory.enable_citus() FROM PUBLIC;

CREATE OR REPLACE FUNCTION territory._model_state(model int4) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text;
BEGIN
    st := territory._config_value('models', 'state', 'id', model::text);
    IF st IS NULL THEN
        RAISE EXCEPTION 'territory model % does not exist', model USING ERRCODE = 'undefined_object';
    END IF;
    RETURN st;
END
$$;

CREATE OR REPLACE FUNCTION territory._territory_model(t int4) RETURNS int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m int4;
BEGIN
    m := territory._config_value('territories', 'model_id', 'id', t::text);
    IF m IS NULL THEN
        RAISE EXCEPTION 'territory % does not exist', t USING ERRCODE = 'undefined_object';
    END IF;
    RETURN m;
END
$$;

CREATE OR REPLACE FUNCTION territory._managed(tbl regclass) RETURNS territory.managed_tables
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables;
BEGIN
    EXECUTE format('SELECT * FROM %s m WHERE m.tbl = $1', territory._config_table('managed_tables'))
       INTO mt USING tbl;
    IF mt.tbl IS NULL THEN
        RAISE EXCEPTION 'table % is not managed by territory', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Manage it first with territory.manage_table().';
    END IF;
    RETURN mt;
END
$$;

CREATE OR REPLACE FUNCTION territory._new_code(model int4, name text, id int4) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c text := btrim(regexp_replace(upper(_new_code.name), '[^[:alnum:]]+', '_', 'g'), '_');
BEGIN
    IF c = '' THEN
        c := 'T';
    END IF;
    IF c = 'T' OR territory._config_value('territories', 'id', 'model_id', model::text, 'code', c) IS NOT NULL THEN
        c := c || '_' || _new_code.id;
    END IF;
    RETURN c;
END
$$;

CREATE OR REPLACE FUNCTION territory._parent_model(parent int4, model int4, must_exist bool) RETURNS int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m int4;
BEGIN
    m := territory._config_value('territories', 'model_id', 'id', parent::text);
    IF m IS NULL THEN
        IF must_exist THEN
            RAISE EXCEPTION 'territory % does not exist', parent USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN model;
    ELSIF model IS NOT NULL AND m <> model THEN
        RAISE EXCEPTION 'parent territory % belongs to model %, not to model %', parent, m, model
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN m;
END
$$;

CREATE OR REPLACE FUNCTION territory._territories_before_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the id of territory % cannot change', OLD.id USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NEW.model_id <> OLD.model_id THEN
        RAISE EXCEPTION 'territory % cannot move to another model', OLD.id
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Clone the model with territory.clone_model() to work on a copy.';
    END IF;
    PERFORM territory._check_model_writable(OLD.model_id);
    IF NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
        -- Every transaction that moves territories of a model updates the model's row once:
        -- concurrent moves queue behind it, and at REPEATABLE READ or SERIALIZABLE the later one
        -- fails with a serialization error instead of checking for cycles against a snapshot that
        -- misses the earlier move.  (A row this transaction already updated is locked already.)
        EXECUTE format('UPDATE %s m SET version = m.version + 1 WHERE m.id = $1 AND m.xmin <> pg_current_xact_id()::xid',
                       territory._config_table('models'))
          USING NEW.model_id;
        IF NEW.parent_id IS NOT NULL THEN
            PERFORM territory._parent_model(NEW.parent_id, NEW.model_id, true);
        END IF;
    END IF;
    IF NEW.code IS NULL THEN
        NEW.code := territory._new_code(NEW.model_id, NEW.name, NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION territory._rules_before_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m int4;
BEGIN
    -- a rule whose territory is being deleted goes with it; otherwise its model must be writable
    m := territory._config_value('territories', 'model_id', 'id', OLD.territory_id::text);
    IF m IS NOT NULL THEN
        PERFORM territory._check_model_writable(m);
    END IF;
    RETURN OLD;
END
$$;

CREATE OR REPLACE FUNCTION territory._sales_users_before_write() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur int4 := NEW.manager_id;
    users regclass := territory._config_table('sales_users');
    manager text;
BEGIN
    IF NEW.manager_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.manager_id IS NOT DISTINCT FROM OLD.manager_id) THEN
        RETURN NEW;
    END IF;
    WHILE cur IS NOT NULL LOOP
        IF cur = NEW.id THEN
            EXECUTE format('SELECT u.key FROM %s u WHERE u.id = $1', users) INTO manager USING NEW.manager_id;
            RAISE EXCEPTION 'sales user "%" cannot be managed by "%": that would make a cycle', NEW.key, manager
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        EXECUTE format('SELECT u.manager_id FROM %s u WHERE u.id = $1 FOR SHARE', users) INTO cur USING cur;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION territory._key_type(tbl regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = _key_type.tbl
               AND a.attname = territory._config_value('managed_tables', 'key_column', 'tbl', _key_type.tbl::oid::text));
COMMENT ON FUNCTION territory._key_type(regclass) IS 'Internal: the SQL type of a managed table''s key';

CREATE OR REPLACE FUNCTION territory._manual(tbl regclass, key text, territory int4, action text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables := territory._managed(tbl);
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM territory._territory_model(territory);
    IF mt.kind = 'contact' THEN
        RAISE EXCEPTION 'contacts carry their account''s territories; % cannot be assigned by hand', tbl
            USING ERRCODE = 'wrong_object_type', HINT = 'Assign the account.';
    END IF;
    -- the new values are in the row (Citus computes them once, for every node's copy)
    INSERT INTO territory.manual_assignments AS ma (tbl, key, territory_id, action, created_at, created_by)
        VALUES (tbl, key, _manual.territory, _manual.action, now(), CURRENT_USER)
        ON CONFLICT ON CONSTRAINT manual_assignments_pkey
        DO UPDATE SET action = excluded.action, created_at = excluded.created_at, created_by = excluded.created_by;
    -- fails, and so undoes the above, when there is no such record
    PERFORM territory._reassign(tbl, key, true);
END
$$;
COMMENT ON FUNCTION territory._manual(regclass, text, int4, text) IS 'Internal: record a manual assignment or exclusion';

CREATE OR REPLACE FUNCTION territory._reassign(tbl regclass, key text, must_exist bool) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables := territory._managed(tbl);
    n int8;
BEGIN
    EXECUTE format('UPDATE %s SET %s WHERE %I = $1::%s', tbl, territory._reassigning(mt.territory_column, mt.kind),
                   mt.key_column, territory._key_type(tbl))
        USING key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 AND must_exist THEN
        RAISE EXCEPTION 'no record of % has key %', tbl, key USING ERRCODE = 'no_data_found';
    END IF;
END
$$;
COMMENT ON FUNCTION territory._reassign(regclass, text, bool) IS 'Internal: recompute one record''s territories';

CREATE FUNCTION territory._reassigning(col name, kind text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    RETURN format('%I = %s', col, CASE WHEN kind = 'deal' THEN '0' ELSE '''{0}''' END);
COMMENT ON FUNCTION territory._reassigning(name, text) IS
    'Internal: SET clause that makes the assignment trigger recompute the rows an UPDATE writes';

CREATE OR REPLACE FUNCTION territory.explain(tbl regclass, key text)
    RETURNS TABLE (territory_id int4, path text, depth int4, matched_rules int4[], failed_inherited int4[],
                   matches bool, assigned bool, reason text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables := territory._managed(tbl);
    row_text text;
    computed int4[];
    policy text;
    rule_ids int4[];
    rule_holds bool[];
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the row as text, evaluated here by queries planned for this call (its type is the table's;
    -- on a Citus cluster the row comes from its shard)
    EXECUTE format('SELECT t::text FROM %s t WHERE %I = $1::%s', tbl, mt.key_column, territory._key_type(tbl))
        INTO row_text USING key;
    IF row_text IS NULL THEN
        RAISE EXCEPTION 'no record of % has key %', tbl, key USING ERRCODE = 'no_data_found';
    END IF;
    EXECUTE format('SELECT territory.compute_territories($1, s.r),'
                   ' (SELECT array_agg(x.rule_id ORDER BY x.rule_id) FROM territory._rule_results($1, s.r) x),'
                   ' (SELECT array_agg(x.holds ORDER BY x.rule_id) FROM territory._rule_results($1, s.r) x)'
                   ' FROM (SELECT $2::%s AS r) s', tbl)
        INTO computed, rule_ids, rule_holds USING tbl, row_text;
    SELECT m.assignment_policy INTO policy FROM territory.models m WHERE m.state = 'active';

    RETURN QUERY
    WITH results AS (
        SELECT r.rule_id, r.holds FROM unnest(rule_ids, rule_holds) AS r(rule_id, holds)
    ), rules AS (
        SELECT ru.id, ru.territory_id, ru.apply_to_children, res.holds
          FROM territory.rules ru JOIN results res ON res.rule_id = ru.id
    ), manual AS (
        SELECT ma.territory_id, ma.action FROM territory.manual_assignments ma
         WHERE ma.tbl = explain.tbl AND ma.key = explain.key
    ), candidates AS (
        SELECT r.territory_id FROM rules r
        UNION SELECT m.territory_id FROM manual m
        UNION SELECT unnest(computed)
    ), facts AS (
        SELECT c.territory_id,
               (SELECT array_agg(r.id ORDER BY r.id) FROM rules r WHERE r.territory_id = c.territory_id AND r.holds) AS own,
               (SELECT array_agg(r.id ORDER BY r.id) FROM territory.ancestors(c.territory_id) a
                  JOIN rules r ON r.territory_id = a AND r.apply_to_children AND NOT r.holds) AS inherited,
               (SELECT m.action FROM manual m WHERE m.territory_id = c.territory_id) AS manual
          FROM candidates c
    ), judged AS (
        SELECT f.*, f.own IS NOT NULL AND f.inherited IS NULL AS m, f.territory_id = ANY (computed) AS a
          FROM facts f
    )
    SELECT j.territory_id, territory.path(j.territory_id), territory.depth(j.territory_id),
           coalesce(j.own, '{}'), coalesce(j.inherited, '{}'), j.m, j.a,
           CASE
             WHEN j.manual = 'assign' THEN 'assigned by hand'
             WHEN j.manual = 'exclude' THEN 'excluded by hand'
             WHEN j.m AND j.a THEN format('rule %s matches', j.own[1])
             WHEN j.m AND policy = 'deepest' THEN
                 format('a deeper territory matches: %s',
                        (SELECT string_agg(territory.path(d.territory_id), ', ' ORDER BY d.territory_id)
                           FROM judged d WHERE d.m AND territory.is_ancestor(j.territory_id, d.territory_id)))
             WHEN j.m THEN 'a territory of a more important type matches'
             WHEN j.own IS NOT NULL THEN format('inherited rule %s does not match', j.inherited[1])
             ELSE 'no rule matches'
           END
      FROM judged j
     ORDER BY territory.path(j.territory_id);
END
$$;
COMMENT ON FUNCTION territory.explain(regclass, text) IS
    'Why a record is where it is: for every territory with rules, manual decisions or the record, which rules match, whether it is assigned and why';

CREATE FUNCTION territory._citus_check_managed(tbl regclass, kind text, key name, account name,
                                               acct territory.managed_tables)
    RETURNS bool
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q text := 'SELECT p.partmethod::text, p.colocationid, column_to_column_name(p.logicalrelid, p.partkey)
                 FROM pg_dist_partition p WHERE p.logicalrelid = $1';
    d_method text;
    d_group int4;
    d_col text;
    a_method text;
    a_group int4;
    local_tbl regclass;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE q INTO d_method, d_group, d_col USING tbl;
    IF acct.tbl IS NOT NULL THEN
        EXECUTE q INTO a_method, a_group USING acct.tbl;
    END IF;
    -- the managed tables are all distributed or all not: the history is one table
    EXECUTE 'SELECT m.tbl FROM territory.managed_tables m
              WHERE (m.tbl = ANY (SELECT p.logicalrelid FROM pg_dist_partition p)) <> $1 LIMIT 1'
       INTO local_tbl USING d_method IS NOT NULL;
    IF local_tbl IS NOT NULL THEN
        RAISE EXCEPTION '% is %distributed, and the managed table % is %', tbl,
            CASE WHEN d_method IS NULL THEN 'not ' ELSE '' END, local_tbl,
            CASE WHEN d_method IS NULL THEN 'distributed' ELSE 'not' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'On a cluster, every managed table is distributed, co-located with the others.';
    END IF;
    IF d_method IS NULL THEN
        IF a_method IS NOT NULL THEN
            RAISE EXCEPTION '% is not distributed, and the account table % is', tbl, acct.tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Distribute it first: SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                                    tbl, account, acct.tbl);
        END IF;
        RETURN false;
    END IF;
    IF d_method <> 'h' THEN
        RAISE EXCEPTION 'territory manages distributed tables, not % tables like %',
            CASE d_method WHEN 'n' THEN 'reference or local' ELSE 'range or append' END, tbl
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Distribute the table by hash with create_distributed_table().';
    END IF;
    IF kind = 'account' AND d_col <> key THEN
        RAISE EXCEPTION 'the account table % is distributed by "%", not by its key "%"', tbl, d_col, key
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Contacts and deals find their account on their own node.',
                  HINT = 'Distribute the account table by its key.';
    END IF;
    IF kind IN ('contact', 'deal') THEN
        IF a_method IS DISTINCT FROM 'h' THEN
            RAISE EXCEPTION '% is distributed, and the account table % is not', tbl, acct.tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Distribute the account table by its key, and this one by its account column, co-located with it.';
        END IF;
        IF d_col <> account OR d_group <> a_group THEN
            RAISE EXCEPTION '% must be distributed by its account column "%" and co-located with %', tbl, account, acct.tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('It is distributed by "%s"%s.', d_col,
                                      CASE WHEN d_group <> a_group THEN ', in another co-location group' ELSE '' END),
                      HINT = format('SELECT undistribute_table(%L); SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                                    tbl, tbl, account, acct.tbl);
        END IF;
    END IF;
    PERFORM territory._citus_distribute_history(tbl, d_col, d_group);
    -- Citus creates the triggers on the shards only when told that they are safe
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    RETURN true;
END
$$;
COMMENT ON FUNCTION territory._citus_check_managed(regclass, text, name, name, territory.managed_tables) IS
    'Internal: checks how Citus distributes a table to be managed (by key, contacts and deals co-located with accounts)';
REVOKE ALL ON FUNCTION
    territory._reassigning(name, text),
    territory._citus_check_managed(regclass, text, name, name, territory.managed_tables)
FROM PUBLIC;

CREATE FUNCTION territory._citus_distribute_history(tbl regclass, col text, grp int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h_group int4;
    coltype text;
    failed text;
BEGIN
    EXECUTE 'SELECT p.colocationid FROM pg_dist_partition p WHERE p.logicalrelid = ''territory.assignment_log''::regclass'
       INTO h_group;
    IF h_group IS NOT NULL THEN
        IF h_group <> grp THEN
            RAISE EXCEPTION '% is not co-located with the distributed managed tables', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'Their history is one distributed table, co-located with them.',
                      HINT = format('Distribute it with colocate_with => %L.',
                                    (SELECT min(m.tbl::text) FROM territory.managed_tables m));
        END IF;
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM territory.assignment_log) THEN
        RAISE EXCEPTION 'the history holds changes of tables that are not distributed'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Distributed managed tables write their history to a distributed table, which starts empty.',
                  HINT = 'Manage distributed tables in a database whose territory.assignment_log is empty.';
    END IF;
    SELECT format_type(a.atttypid, a.atttypmod) INTO coltype
      FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col;
    EXECUTE format('ALTER TABLE territory.assignment_log ADD COLUMN dist_value %s', coltype);
    -- the workers' copies (their CREATE EXTENSION made them) become the table's shells there
    SELECT string_agg(format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ') INTO failed
      FROM run_command_on_workers(format('ALTER TABLE territory.assignment_log ADD COLUMN IF NOT EXISTS dist_value %s',
                                         coltype)) w
     WHERE NOT w.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'could not add the history''s distribution column on the workers: %', failed
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- one connection per node for the rest of the transaction: manage_table() writes the
    -- configuration's reference tables, which Citus refuses after a parallel operation
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    PERFORM create_distributed_table('territory.assignment_log', 'dist_value', colocate_with => tbl::text);
END
$$;
COMMENT ON FUNCTION territory._citus_distribute_history(regclass, text, int4) IS
    'Internal: distributes the history, co-located with the distributed managed tables';

CREATE OR REPLACE FUNCTION territory.territories_at(tbl regclass, key text, at timestamptz) RETURNS int4[]
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl_name text := tbl::text;
BEGIN
    -- this transaction's own changes too
    PERFORM territory._flush_history();
    RETURN coalesce((SELECT l.territories
                       FROM territory.assignment_log l
                      WHERE l.tbl = tbl_name::regclass AND l.key = territories_at.key
                        AND l.at <= territories_at.at
                      ORDER BY l.id DESC
                      LIMIT 1), '{}');
END
$$;
COMMENT ON FUNCTION territory.territories_at(regclass, text, timestamptz) IS
    'The territories a record was in at a point in time, from the assignment history';

-- the history view without UNION (Citus pushes it down to a distributed history)
CREATE OR REPLACE VIEW territory.assignment_history AS
    SELECT l.id, l.tbl, l.key, c.territory_id, c.action,
           CASE WHEN c.cause > 0 OR c.cause = -2 THEN 'rule'
                WHEN c.cause = 0 THEN 'manual'
                WHEN c.cause = -1 THEN 'inherited'
                WHEN c.cause = -4 THEN 'model'
                ELSE 'deleted' END AS cause,
           CASE WHEN c.cause > 0 THEN c.cause END AS rule_id,
           l.at, l.xid
      FROM territory.assignment_log l
     -- one unnest of both lists (no UNION: Citus pushes this down to the shards of a distributed history)
     CROSS JOIN LATERAL (SELECT u.territory_id,
                                CASE WHEN u.n <= pg_catalog.cardinality(l.added) THEN 'added' ELSE 'removed' END::text AS action,
                                u.cause
                           FROM ROWS FROM (pg_catalog.unnest(l.added OPERATOR(pg_catalog.||) l.removed),
                                           pg_catalog.unnest(l.added_causes OPERATOR(pg_catalog.||) l.removed_causes))
                                WITH ORDINALITY AS u(territory_id, cause, n)) c;
COMMENT ON COLUMN territory.assignment_history.cause IS 'rule, manual, inherited (contacts, deals), model (the same territory, by its code, in the model activated) or deleted (the record went away)';
COMMENT ON COLUMN territory.assignment_log.added_causes IS 'Why each was added: the rule id, 0 manual, -1 inherited, -4 the same territory in the model activated';
COMMENT ON COLUMN territory.assignment_log.removed_causes IS 'Why each was removed: 0 manual, -1 inherited, -2 no rule gives it, -3 deleted, -4 the same territory in the model activated';
REVOKE ALL ON FUNCTION territory._citus_distribute_history(regclass, text, int4) FROM PUBLIC;

CREATE FUNCTION territory._run_rows(rel regclass, tbl regclass, first_block int8, end_block int8,
                                    OUT n int8, OUT nchanged int8, OUT pending text[])
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables := territory._managed(tbl);
    keytype text := territory._key_type(tbl);
    keys text[];
    news text[];
BEGIN
    EXECUTE format($q$
        SELECT count(*),
               array_agg(s.k::text) FILTER (WHERE s.cur IS DISTINCT FROM s.new),
               array_agg(s.new::text) FILTER (WHERE s.cur IS DISTINCT FROM s.new)
          FROM (SELECT t.%1$I AS k, t.%2$I AS cur, (territory.compute_territories(%3$L::regclass, t))%4$s AS new
                  FROM %5$s t
                 WHERE t.ctid >= $1::pg_catalog.tid AND t.ctid < $2::pg_catalog.tid
                OFFSET 0) s$q$,   -- not flattened: the territories are computed once per record
        mt.key_column, mt.territory_column, tbl,
        CASE WHEN mt.kind = 'deal' THEN '[1]' ELSE '' END, rel)
        INTO n, keys, news
        USING format('(%s,0)', first_block), format('(%s,0)', end_block);
    nchanged := 0;
    IF keys IS NOT NULL THEN
        EXECUTE format($q$
            WITH batch AS (
                SELECT b.k::%4$s AS k, b.new::%5$s AS new FROM unnest($1::text[], $2::text[]) AS b(k, new)
            ), locked AS MATERIALIZED (
                SELECT t.%1$I AS k FROM %3$s t
                 WHERE t.%1$I IN (SELECT b.k FROM batch b)
                   FOR UPDATE OF t SKIP LOCKED
            ), upd AS (
                UPDATE %3$s t SET %2$I = b.new
                  FROM batch b JOIN locked l ON l.k = b.k
                 WHERE t.%1$I = b.k
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM upd),
                   (SELECT array_agg(b.k::text) FROM batch b WHERE b.k NOT IN (SELECT l.k FROM locked l))$q$,
            mt.key_column, mt.territory_column, rel, keytype,
            CASE WHEN mt.kind = 'deal' THEN 'pg_catalog.int4' ELSE 'pg_catalog.int4[]' END)
            INTO nchanged, pending
            USING keys, news;
        nchanged := nchanged + coalesce(cardinality(pending), 0);
    END IF;
END
$$;
COMMENT ON FUNCTION territory._run_rows(regclass, regclass, int8, int8) IS
    'Internal: assigns the rows of a range of blocks of a table (or of a Citus shard of it) again';

CREATE OR REPLACE FUNCTION territory._run_batch(run_id int8) RETURNS bool
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k int4[] := territory._config_lock_key();
    run territory.rule_runs;
    n int8;
    nchanged int8;
    pending text[];
    size record;
    step int8;
BEGIN
    -- no configuration change commits while this batch runs
    PERFORM pg_advisory_xact_lock_shared(k[1], k[2]);
    SELECT * INTO run FROM territory.rule_runs r WHERE r.id = run_id FOR UPDATE;
    IF run.restart THEN
        RAISE NOTICE 'territory: %: the configuration changed during the run; starting pass %', run.tbl, run.passes + 1;
        UPDATE territory.rule_runs r
           SET restart = false, passes = r.passes + 1, processed = 0, next_block = 0, scanned = false,
               total = (territory._table_size(run.tbl)).reltuples
         WHERE r.id = run_id
        RETURNING * INTO run;
        DELETE FROM territory.rule_run_pending p WHERE p.run_id = _run_batch.run_id;
    END IF;
    IF run.scanned THEN
        RETURN true;
    END IF;
    -- blocks per batch, from the table's rows per block (the statistics, else a guess)
    size := territory._table_size(run.tbl);
    step := greatest(1, ceil(run.batch_size / coalesce(size.rows_per_block, 50)))::int8;
    IF size.distributed THEN
        SELECT * INTO n, nchanged, pending FROM territory._citus_run_rows(run.tbl, run.next_block, run.next_block + step);
    ELSE
        SELECT * INTO n, nchanged, pending FROM territory._run_rows(run.tbl, run.tbl, run.next_block, run.next_block + step);
    END IF;
    INSERT INTO territory.rule_run_pending (run_id, key) SELECT run_id, p FROM unnest(pending) p;

    UPDATE territory.rule_runs r
       SET processed = r.processed + n, changed = r.changed + coalesce(nchanged, 0),
           next_block = r.next_block + step, updated_at = clock_timestamp(),
           scanned = r.next_block + step >= size.blocks
     WHERE r.id = run_id
    RETURNING * INTO run;
    RAISE NOTICE '%', format('territory: %s: %s of about %s records (%s%%), %s changed', run.tbl, run.processed,
        greatest(run.total, run.processed),
        CASE WHEN greatest(run.total, run.processed) = 0 THEN 100
             ELSE round(100.0 * run.processed / greatest(run.total, run.processed)) END,
        run.changed);
    RETURN run.scanned;
END
$$;
COMMENT ON FUNCTION territory._run_batch(int8) IS 'Internal: one batch of a rule run; true when the pass has scanned every record';

CREATE FUNCTION territory._table_size(tbl regclass, OUT distributed bool, OUT blocks int8,
                                      OUT rows_per_block float8, OUT reltuples int8)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF territory._citus_distributed(tbl) THEN
        SELECT true, s.* INTO distributed, blocks, rows_per_block, reltuples FROM territory._citus_table_size(tbl) s;
        RETURN;
    END IF;
    distributed := false;
    blocks := pg_relation_size(tbl) / current_setting('block_size')::int8;
    SELECT c.reltuples / c.relpages INTO rows_per_block
      FROM pg_class c WHERE c.oid = tbl AND c.relpages > 0 AND c.reltuples > 0;
    reltuples := greatest((SELECT c.reltuples FROM pg_class c WHERE c.oid = tbl), 0)::int8;
END
$$;
COMMENT ON FUNCTION territory._table_size(regclass) IS 'Internal: blocks and rows of a table, for a rule run';

CREATE OR REPLACE FUNCTION territory._run_start(tbl regclass, batch_size int4) RETURNS int8
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run territory.rule_runs;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive number' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one run per table at a time: a second CALL fails at once.  A run of this session that
    -- failed earlier may still hold the session lock: let it go first.
    IF EXISTS (SELECT FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 2
                  AND l.classid = (territory._config_lock_key())[1]::oid AND l.objid = tbl::oid) THEN
        PERFORM pg_advisory_unlock((territory._config_lock_key())[1], tbl::oid::int4);
    END IF;
    IF NOT pg_try_advisory_lock((territory._config_lock_key())[1], tbl::oid::int4) THEN
        RAISE EXCEPTION 'territory.run_rules() is already running on %', tbl
            USING ERRCODE = 'lock_not_available';
    END IF;
    SELECT * INTO run FROM territory.rule_runs r WHERE r.tbl = _run_start.tbl AND r.state = 'running';
    IF FOUND THEN
        UPDATE territory.rule_runs r SET batch_size = _run_start.batch_size WHERE r.id = run.id;
        RAISE NOTICE 'territory: %: resuming run % at block %', tbl, run.id, run.next_block;
        RETURN run.id;
    END IF;
    INSERT INTO territory.rule_runs (tbl, batch_size, total)
        VALUES (tbl, batch_size, (territory._table_size(tbl)).reltuples)
        RETURNING * INTO run;
    RETURN run.id;
END
$$;
COMMENT ON FUNCTION territory._run_start(regclass, int4) IS 'Internal: starts or resumes the rule run of a table';

CREATE FUNCTION territory._citus_distributed(tbl regclass) RETURNS bool
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found bool;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = $1 AND p.partmethod = ''h'')'
       INTO found USING tbl;
    RETURN found;
END
$$;
COMMENT ON FUNCTION territory._citus_distributed(regclass) IS 'Internal: whether Citus distributes a table by hash';

CREATE FUNCTION territory._citus_table_size(tbl regclass, OUT blocks int8, OUT rows_per_block float8,
                                            OUT reltuples int8)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE $q$
        SELECT coalesce(max((r.result::json ->> 'blocks')::int8), 0),
               sum((r.result::json ->> 'tuples')::float8) / nullif(sum((r.result::json ->> 'pages')::float8), 0),
               coalesce(sum(greatest((r.result::json ->> 'tuples')::float8, 0)), 0)::int8
          FROM run_command_on_shards($1,
                 $c$SELECT json_build_object('blocks', pg_relation_size('%s') / current_setting('block_size')::int8,
                                             'tuples', c.reltuples, 'pages', c.relpages)
                      FROM pg_class c WHERE c.oid = '%1$s'::regclass$c$) r$q$
       INTO blocks, rows_per_block, reltuples USING tbl;
END
$$;
COMMENT ON FUNCTION territory._citus_table_size(regclass) IS
    'Internal: blocks and rows of a distributed table''s shards, for a rule run';

CREATE FUNCTION territory._citus_run_rows(tbl regclass, first_block int8, end_block int8,
                                          OUT n int8, OUT nchanged int8, OUT pending text[])
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    failed text;
BEGIN
    n := 0;
    nchanged := 0;
    pending := '{}';
    FOR r IN EXECUTE 'SELECT s.shardid, s.success, s.result FROM run_command_on_shards($1, $2) s'
        USING tbl, format('SELECT to_json(b) FROM territory._run_rows(''%%s'', %L, %s, %s) b', tbl, first_block, end_block)
    LOOP
        IF NOT r.success THEN
            failed := coalesce(failed || '; ', '') || format('shard %s: %s', r.shardid, r.result);
            CONTINUE;
        END IF;
        n := n + (r.result::json ->> 'n')::int8;
        nchanged := nchanged + (r.result::json ->> 'nchanged')::int8;
        IF json_typeof(r.result::json -> 'pending') = 'array' THEN
            pending := pending || ARRAY(SELECT json_array_elements_text(r.result::json -> 'pending'));
        END IF;
    END LOOP;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'a batch of the rule run of % failed on shards: %', tbl, failed
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'CALL territory.run_rules() again: it resumes the run.';
    END IF;
END
$$;
COMMENT ON FUNCTION territory._citus_run_rows(regclass, int8, int8) IS
    'Internal: a batch of a rule run on every shard of a distributed table';
REVOKE ALL ON FUNCTION
    territory._run_rows(regclass, regclass, int8, int8),
    territory._table_size(regclass),
    territory._citus_distributed(regclass),
    territory._citus_table_size(regclass),
    territory._citus_run_rows(regclass, int8, int8)
FROM PUBLIC;

CREATE OR REPLACE FUNCTION territory.clone_model(source int4, name text) RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    clone_id int4;
    c record;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'source model must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM territory._model_state(source);
    clone_id := territory.create_model(clone_model.name);
    -- new ids first, so that every row can name its new parent in one statement
    INSERT INTO territory.territories (id, model_id, parent_id, name, code, type_id, description, owner_assignment)
    WITH map AS MATERIALIZED (
        -- new ids in the order of the old ones, whatever order the rows are stored in
        SELECT o.id AS old_id, nextval('territory.territories_id_seq')::int4 AS new_id
          FROM (SELECT t.id FROM territory.territories t WHERE t.model_id = clone_model.source
                 ORDER BY t.id OFFSET 0) o
    )
    SELECT m.new_id, clone_id, pm.new_id, t.name, t.code, t.type_id, t.description, t.owner_assignment
      FROM territory.territories t
      JOIN map m ON m.old_id = t.id
      LEFT JOIN map pm ON pm.old_id = t.parent_id
     ORDER BY m.new_id;
    -- rules and manual assignments follow their territories (same codes in the new model); the
    -- criteria are printed back schema-qualified where needed, so they resolve as they did.  One
    -- row per INSERT: their table (regclass) is then sent to a Citus cluster's nodes by name,
    -- where INSERT ... SELECT would send this node's OID
    FOR c IN SELECT n.id AS territory_id, r.tbl, r.name, territory._rule_source(r.tbl, r.expr) AS criteria,
                    r.apply_to_children, r.active
               FROM territory.rules r
               JOIN territory.territories o ON o.id = r.territory_id AND o.model_id = clone_model.source
               JOIN territory.territories n ON n.model_id = clone_id AND n.code = o.code
              ORDER BY r.id LOOP
        INSERT INTO territory.rules (territory_id, tbl, name, criteria, expr, apply_to_children, active)
            VALUES (c.territory_id, c.tbl, c.name, c.criteria, '', c.apply_to_children, c.active);
    END LOOP;
    FOR c IN SELECT m.tbl, m.key, n.id AS territory_id, m.action
               FROM territory.manual_assignments m
               JOIN territory.territories o ON o.id = m.territory_id AND o.model_id = clone_model.source
               JOIN territory.territories n ON n.model_id = clone_id AND n.code = o.code LOOP
        INSERT INTO territory.manual_assignments (tbl, key, territory_id, action)
            VALUES (c.tbl, c.key, c.territory_id, c.action);
    END LOOP;
    -- and so do memberships and access levels
    INSERT INTO territory.members (territory_id, user_id, role, rotation, valid_from, valid_to)
    SELECT n.id, m.user_id, m.role, m.rotation, m.valid_from, m.valid_to
      FROM territory.members m
      JOIN territory.territories o ON o.id = m.territory_id AND o.model_id = clone_model.source
      JOIN territory.territories n ON n.model_id = clone_id AND n.code = o.code
     ORDER BY m.id;
    INSERT INTO territory.territory_access (territory_id, kind, access)
    SELECT n.id, a.kind, a.access
      FROM territory.territory_access a
      JOIN territory.territories o ON o.id = a.territory_id AND o.model_id = clone_model.source
      JOIN territory.territories n ON n.model_id = clone_id AND n.code = o.code;
    -- and targets: the new plan starts from the current one
    INSERT INTO territory.targets (territory_id, period, user_id, amount, method)
    SELECT n.id, t.period, t.user_id, t.amount, t.method
      FROM territory.targets t
      JOIN territory.territories o ON o.id = t.territory_id AND o.model_id = clone_model.source
      JOIN territory.territories n ON n.model_id = clone_id AND n.code = o.code
     ORDER BY t.id;
    RETURN clone_id;
END
$$;
COMMENT ON FUNCTION territory.clone_model(int4, text) IS
    'Copy a model (hierarchy, rules, manual assignments, memberships, access levels) into a new planning model; returns its id';

-- 0.2.0 says which territories a record leaves and enters: a new result type, so the function
-- is made again (grants made on it since 0.1.0 are to be made again)
DROP FUNCTION territory.preview_model(int4);
CREATE FUNCTION territory.preview_model(model int4)
    RETURNS TABLE (tbl regclass, key text, current int4[], proposed int4[],
                   leaving_codes text[], leaving_names text[], entering_codes text[], entering_names text[])
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mt territory.managed_tables;
BEGIN
    IF territory._model_state(model) = 'archived' THEN
        RAISE EXCEPTION 'territory model % is archived', model
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR mt IN SELECT * FROM territory.managed_tables m WHERE m.kind IN ('account', 'lead') ORDER BY m.tbl::oid LOOP
        -- the table named here: a regclass computed where Citus runs the query would come back
        -- as the OID of that node
        tbl := mt.tbl;
        -- a territory is the same across models when its code is: a record moves when the codes
        -- of its territories change, and leaves the codes it has only now, enters those it will
        -- have only then (each named as in its own model)
        FOR key, current, proposed, leaving_codes, leaving_names, entering_codes, entering_names IN EXECUTE format($q$
            SELECT x.k::text, x.cur, x.new, d.leaving_codes, d.leaving_names, d.entering_codes, d.entering_names
              FROM (SELECT t.%2$I AS k, t.%3$I AS cur,
                           territory._compute_territories_in(%1$L::regclass, t, $1) AS new
                      FROM %1$s t) x
             CROSS JOIN LATERAL (
                   SELECT coalesce(array_agg(c.code ORDER BY c.code) FILTER (WHERE c.side < 0), '{}') AS leaving_codes,
                          coalesce(array_agg(c.name ORDER BY c.code) FILTER (WHERE c.side < 0), '{}') AS leaving_names,
                          coalesce(array_agg(c.code ORDER BY c.code) FILTER (WHERE c.side > 0), '{}') AS entering_codes,
                          coalesce(array_agg(c.name ORDER BY c.code) FILTER (WHERE c.side > 0), '{}') AS entering_names
                     FROM (SELECT tt.code, min(tt.name) AS name,
                                  sum(CASE WHEN u.n <= cardinality(x.cur) THEN -1 ELSE 1 END) AS side
                             -- one unnest of both lists (Citus pushes no UNION of table functions down)
                             FROM ROWS FROM (unnest(coalesce(x.cur, '{}') || coalesce(x.new, '{}'))) WITH ORDINALITY AS u(id, n)
                             JOIN territory.territories tt ON tt.id = u.id
                            GROUP BY tt.code) c) d
             WHERE x.cur IS DISTINCT FROM x.new
               AND cardinality(d.leaving_codes) + cardinality(d.entering_codes) > 0
             ORDER BY x.k$q$, mt.tbl, mt.key_column, mt.territory_column)
            USING model LOOP
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory.preview_model(int4) IS
    'Every record of the managed tables that the model would move if it were activated: the territories it would leave and enter, by code (a territory is the same across models when its code is) and name';
REVOKE ALL ON FUNCTION territory.preview_model(int4) FROM PUBLIC;

CREATE OR REPLACE FUNCTION territory.activate_model(model int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text := territory._model_state(model);
    mt territory.managed_tables;
    n int8;
BEGIN
    IF st = 'active' THEN
        RETURN;
    ELSIF st = 'archived' THEN
        RAISE EXCEPTION 'territory model % is archived', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Clone it with territory.clone_model() and activate the clone.';
    END IF;
    -- one transaction: the previous model is archived, this one active, every record reassigned
    -- (on a Citus cluster over one connection per node, which sees the change of the models)
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    UPDATE territory.models m SET state = 'archived' WHERE m.state = 'active';
    UPDATE territory.models m SET state = 'active' WHERE m.id = activate_model.model;
    -- accounts and leads; contacts and deals follow their accounts, deals without one their rules
    FOR mt IN SELECT * FROM territory.managed_tables m WHERE m.kind IN ('account', 'lead', 'deal')
               ORDER BY array_position('{account,lead,deal}'::text[], m.kind), m.tbl::oid LOOP
        -- the rows the new model moves, recomputed by the assignment trigger.  Citus refuses a
        -- function of the row in an UPDATE: a distributed table's rows are all recomputed there
        -- (on its shards, where the trigger sees the model activated above over the one
        -- connection per node), and those that do not move are left as they are
        IF territory._citus_distributed(mt.tbl) THEN
            EXECUTE format('UPDATE %s t SET %s', mt.tbl, territory._reassigning(mt.territory_column, mt.kind));
            GET DIAGNOSTICS n = ROW_COUNT;
            RAISE NOTICE 'territory: %: % records assigned again', mt.tbl, n;
            CONTINUE;
        END IF;
        EXECUTE format($q$
            UPDATE %1$s t SET %2$s
             WHERE t.%3$I IS DISTINCT FROM (territory.compute_territories(%4$L::regclass, t))%5$s$q$,
            mt.tbl, territory._reassigning(mt.territory_column, mt.kind), mt.territory_column, mt.tbl,
            CASE WHEN mt.kind = 'deal' THEN '[1]' ELSE '' END);
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE NOTICE 'territory: %: % records changed territories', mt.tbl, n;
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory.activate_model(int4) IS
    'Make a planning model the active one in one transaction: the previous active model is archived and every managed record reassigned';

CREATE OR REPLACE FUNCTION territory.add_rule(territory int4, criteria text, name text DEFAULT NULL,
                                   tbl regclass DEFAULT NULL, apply_to_children bool DEFAULT false)
    RETURNS int4
    LANGUAGE plpgsql
AS $$
DECLARE
    new_id int4;
    rule_tbl regclass := add_rule.tbl;
BEGIN
    -- looked up first: Citus evaluates the functions in the values of a write to a reference
    -- table, the ones coalesce() would skip too
    IF rule_tbl IS NULL THEN
        rule_tbl := territory._account_table();
    END IF;
    INSERT INTO territory.rules (territory_id, tbl, name, criteria, expr, apply_to_children)
        VALUES (add_rule.territory, rule_tbl, add_rule.name,
                add_rule.criteria, '', coalesce(add_rule.apply_to_children, false))
        RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION territory.add_rule(int4, text, text, regclass, bool) IS
    'Add an assignment rule to a territory: SQL criteria over the columns of tbl (default: the managed account table); returns its id';

CREATE OR REPLACE FUNCTION territory._report_union(kinds text[], template text) RETURNS text
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

CREATE OR REPLACE FUNCTION territory._report_coverage()
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

CREATE FUNCTION territory._take_turn(territory int4, user_ids int4[]) RETURNS int8
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'territory_take_turn';
COMMENT ON FUNCTION territory._take_turn(int4, int4[]) IS
    'Internal: the next owner assignment turn of a territory whose members in rotation are user_ids, taken on the coordinator of a Citus cluster for a worker';
REVOKE ALL ON FUNCTION territory._take_turn(int4, int4[]) FROM PUBLIC;

-- Load balancing on a Citus cluster: a worker picks the owner of a new record on the coordinator,
-- which counts the cluster's records (src/owners.c, src/inflight.c, doc/citus.md).
CREATE FUNCTION territory._pick_fewest(territory int4, tbl text, record text, user_ids int4[], keys text[], xact text) RETURNS int4
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'territory_pick_fewest';
COMMENT ON FUNCTION territory._pick_fewest(int4, text, text, int4[], text[], text) IS
    'Internal: the member with the fewest open records of a distributed table, picked by load balancing on the coordinator of a Citus cluster for a worker''s new record';
REVOKE ALL ON FUNCTION territory._pick_fewest(int4, text, text, int4[], text[], text) FROM PUBLIC;

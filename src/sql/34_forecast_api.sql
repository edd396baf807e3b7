-- Forecast API: targets and their splits, forecast adjustments, snapshots (doc/forecasts.md).
-- The functions that plan are SECURITY DEFINER and executable by everyone, so that the managers
-- of a territory can plan the territories below it without privileges on the tables; each
-- checks its caller first (territory._check_planner).  snapshot_forecast() is for the roles
-- the DBA grants it to.

-- Internal: the role that called the function, also from inside a SECURITY DEFINER function
-- (where current_user is the function's owner): the role of SET ROLE, else the session user.
-- It is the role territory.current_user_id() maps to a sales user's login.
CREATE FUNCTION territory._caller() RETURNS name
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN CASE WHEN pg_catalog.current_setting('role') = 'none' THEN SESSION_USER
                ELSE pg_catalog.current_setting('role')::name END;
COMMENT ON FUNCTION territory._caller() IS
    'Internal: the calling role, also inside a SECURITY DEFINER function (the role of SET ROLE, else the session user)';

-- Internal: refuse a NULL argument, naming it.
CREATE FUNCTION territory._check_not_null(what text, value anyelement) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
END
$$;
COMMENT ON FUNCTION territory._check_not_null(text, anyelement) IS 'Internal: an error naming the argument when it is NULL';

-- Internal: an amount of money checked (at least 0, finite, to the cent) and given two decimals.
CREATE FUNCTION territory._check_amount(what text, amount numeric) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM territory._check_not_null(what, amount);
    -- NaN sorts above infinity: one comparison refuses both
    IF NOT (amount >= 0 AND amount < 'Infinity'::numeric AND amount = round(amount, 2)) THEN
        RAISE EXCEPTION 'invalid %: %', what, amount
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'An amount is a finite number, at least 0, with no fraction of a cent.';
    END IF;
    RETURN round(amount, 2);
END
$$;
COMMENT ON FUNCTION territory._check_amount(text, numeric) IS
    'Internal: an amount rounded to two decimals; an error unless it is finite, at least 0 and to the cent';

-- Internal: an error unless the caller may plan the territory: a role with INSERT on admin_table
-- (an administrator), or the current sales user as a manager, valid today, of a territory above
-- it (or of the territory itself when include_self).
CREATE FUNCTION territory._check_planner(territory int4, include_self bool, admin_table regclass, action text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid int4;
BEGIN
    IF has_table_privilege(territory._caller(), admin_table, 'INSERT') THEN
        RETURN;
    END IF;
    uid := territory.current_user_id();
    IF uid IS NOT NULL AND EXISTS (
        SELECT FROM territory.members m
         WHERE m.user_id = uid
           AND m.role = 'manager'
           AND (m.valid_from IS NULL OR m.valid_from <= current_date)
           AND (m.valid_to IS NULL OR m.valid_to >= current_date)
           AND ((include_self AND m.territory_id = _check_planner.territory)
                OR territory.is_ancestor(m.territory_id, _check_planner.territory))) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied to % territory %', action, _check_planner.territory
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('Only roles with INSERT on %s and the managers of %s may.', admin_table,
                              CASE WHEN include_self THEN 'the territory or of a territory above it'
                                   ELSE 'a territory above it' END);
END
$$;
COMMENT ON FUNCTION territory._check_planner(int4, bool, regclass, text) IS
    'Internal: an error unless the caller administers admin_table or manages a territory above this one (or this one, when include_self)';

-- Internal: the id of the sales user a target is for (NULL for the territory's own target); an
-- error unless the user is a member of the territory during some of the period.
CREATE FUNCTION territory._target_user(territory int4, period territory.period, user_key text) RETURNS int4
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
COMMENT ON FUNCTION territory._target_user(int4, territory.period, text) IS
    'Internal: the sales user of a target by key (NULL key: none); an error unless a member of the territory during the period';

-- Internal: insert or replace a target; returns its id.
CREATE FUNCTION territory._write_target(territory int4, period territory.period, user_id int4, amount numeric,
                                        method text) RETURNS int8
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO territory.targets AS t (territory_id, period, user_id, amount, method, updated_at, updated_by)
        VALUES (_write_target.territory, _write_target.period, _write_target.user_id, _write_target.amount,
                _write_target.method, pg_catalog.now(), territory._caller())
        ON CONFLICT ON CONSTRAINT targets_territory_period_user_key DO UPDATE
           SET amount = excluded.amount, method = excluded.method,
               updated_at = excluded.updated_at, updated_by = excluded.updated_by
        RETURNING t.id;
END;
COMMENT ON FUNCTION territory._write_target(int4, territory.period, int4, numeric, text) IS
    'Internal: insert or replace a target, noting the method, the time and the calling role; returns its id';

CREATE FUNCTION territory.set_target(territory int4, period territory.period, amount numeric,
                                     user_key text DEFAULT NULL) RETURNS int8
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    amt numeric;
    own bool;
BEGIN
    PERFORM territory._check_territory(set_target.territory);
    PERFORM territory._check_not_null('period', set_target.period);
    IF set_target.amount IS NULL THEN
        RAISE EXCEPTION 'target amount must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Remove a target with territory.remove_target().';
    END IF;
    amt := territory._check_amount('target amount', set_target.amount);
    -- the managers of a territory set the targets of its other members; the territory's own
    -- target, and their own, come from above
    own := user_key IS NULL OR EXISTS (SELECT FROM territory.sales_users u
                                        WHERE u.key = user_key AND u.id = territory.current_user_id());
    PERFORM territory._check_planner(set_target.territory, NOT own, 'territory.targets', 'set the targets of');
    RETURN territory._write_target(set_target.territory, set_target.period,
                                   territory._target_user(set_target.territory, set_target.period, user_key),
                                   amt, 'manual');
END
$$;
COMMENT ON FUNCTION territory.set_target(int4, territory.period, numeric, text) IS
    'Set the target of a territory for a period (with user_key: of a member of the territory), replacing the one there was; returns its id';

CREATE FUNCTION territory.remove_target(territory int4, period territory.period, user_key text DEFAULT NULL)
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
COMMENT ON FUNCTION territory.remove_target(int4, territory.period, text) IS
    'Remove the target of a territory for a period (with user_key: of that member)';

-- Internal: total split into shares proportional to the weights, to the cent, summing exactly
-- to total: every share gets its whole cents, and the cents left over go to the largest
-- remainders, ties to the lowest id.  Exact: the remainders are compared as integers over the
-- same denominator.  The weights are at least 0 and not all 0.
CREATE FUNCTION territory._largest_remainder(total numeric, ids int4[], weights numeric[])
    RETURNS TABLE (id int4, amount numeric)
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH shares AS (
        SELECT w.id,
               div(c.cents * w.weight, sum(w.weight) OVER ()) AS whole,
               mod(c.cents * w.weight, sum(w.weight) OVER ()) AS remainder,
               c.cents
          FROM unnest(_largest_remainder.ids, _largest_remainder.weights) AS w(id, weight),
               (SELECT round(_largest_remainder.total * 100) AS cents) c
    )
    SELECT s.id,
           (s.whole + CASE WHEN row_number() OVER (ORDER BY s.remainder DESC, s.id)
                                <= s.cents - sum(s.whole) OVER () THEN 1 ELSE 0 END) * 0.01
      FROM shares s;
END;
COMMENT ON FUNCTION territory._largest_remainder(numeric, int4[], numeric[]) IS
    'Internal: an amount split to the cent in proportion to weights (largest remainder, ties to the lowest id), summing exactly to it';

CREATE FUNCTION territory.split_target(territory int4, period territory.period, method text DEFAULT 'even')
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
COMMENT ON FUNCTION territory.split_target(int4, territory.period, text) IS
    'Set the targets of a territory''s children so that they sum exactly to its own: even, history (last period''s closed won) or pipeline (the period''s open deals)';

CREATE FUNCTION territory.adjust_forecast(territory int4, period territory.period, category text, amount numeric,
                                          note text DEFAULT NULL) RETURNS int8
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cat text := lower(btrim(adjust_forecast.category));
    amt numeric;
    adjustment_id int8;
BEGIN
    PERFORM territory._check_territory(adjust_forecast.territory);
    PERFORM territory._check_not_null('period', adjust_forecast.period);
    IF cat IS NULL OR cat NOT IN ('commit', 'best_case', 'pipeline') THEN
        RAISE EXCEPTION 'unknown forecast category: %', coalesce(adjust_forecast.category, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The categories that can be adjusted are commit, best_case and pipeline.';
    END IF;
    amt := territory._check_amount('forecast amount', adjust_forecast.amount);
    PERFORM territory._check_planner(adjust_forecast.territory, true, 'territory.forecast_adjustments',
                                     'adjust the forecast of');
    INSERT INTO territory.forecast_adjustments AS a (territory_id, period, category, amount, note, user_id,
                                                     created_at, created_by)
        VALUES (adjust_forecast.territory, adjust_forecast.period, cat, amt, adjust_forecast.note,
                territory.current_user_id(), now(), territory._caller())
        RETURNING a.id INTO adjustment_id;
    RETURN adjustment_id;
END
$$;
COMMENT ON FUNCTION territory.adjust_forecast(int4, territory.period, text, numeric, text) IS
    'Replace a category (commit, best_case, pipeline) of a territory''s forecast for a period by a figure of your own; returns the adjustment id';

CREATE FUNCTION territory.snapshot_forecast(period territory.period) RETURNS int8
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored int8;
BEGIN
    PERFORM territory._check_not_null('period', snapshot_forecast.period);
    INSERT INTO territory.forecast_snapshots (taken_at, period, territory_id, user_key, depth, path, target,
                                              closed_won, commit, best_case, pipeline, weighted_pipeline,
                                              adjusted_commit, attainment, gap)
    SELECT now(), snapshot_forecast.period, f.territory_id, f.user_key, f.depth, f.path, f.target,
           f.closed_won, f.commit, f.best_case, f.pipeline, f.weighted_pipeline,
           f.adjusted_commit, f.attainment, f.gap
      FROM territory.forecast(snapshot_forecast.period) f;
    GET DIAGNOSTICS stored = ROW_COUNT;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION territory.snapshot_forecast(territory.period) IS
    'Store the forecast of a period (every row of territory.forecast()) in territory.forecast_snapshots; returns the rows stored';

CREATE VIEW territory.target_gaps WITH (security_invoker = true) AS
    WITH own AS (
        SELECT t.territory_id, t.period, t.amount FROM territory.targets t WHERE t.user_id IS NULL
    ), planned AS (
        -- a parent with a target, and the parent of a territory with a target
        SELECT o.territory_id, o.period
          FROM own o
         WHERE EXISTS (SELECT FROM territory.territories c WHERE c.parent_id = o.territory_id)
        UNION
        SELECT c.parent_id, o.period
          FROM own o
          JOIN territory.territories c ON c.id = o.territory_id
         WHERE c.parent_id IS NOT NULL
    )
    SELECT p.territory_id, p.period, pt.amount AS target, k.children_total,
           k.children_total - pt.amount AS difference, k.children, k.children_with_target
      FROM planned p
      LEFT JOIN own pt ON pt.territory_id = p.territory_id AND pt.period = p.period
     CROSS JOIN LATERAL (
        SELECT count(*) AS children, count(ct.amount) AS children_with_target,
               coalesce(sum(ct.amount), 0) AS children_total
          FROM territory.territories c
          LEFT JOIN own ct ON ct.territory_id = c.id AND ct.period = p.period
         WHERE c.parent_id = p.territory_id) k
     WHERE k.children_total IS DISTINCT FROM pt.amount;
COMMENT ON VIEW territory.target_gaps IS
    'Territories whose children''s targets (missing ones count 0) do not add up to their own target (or that have none) for a period';
COMMENT ON COLUMN territory.target_gaps.territory_id IS 'The parent territory';
COMMENT ON COLUMN territory.target_gaps.period IS 'The period';
COMMENT ON COLUMN territory.target_gaps.target IS 'The parent''s own target; NULL when it has none';
COMMENT ON COLUMN territory.target_gaps.children_total IS 'The sum of the children''s own targets (missing ones count 0)';
COMMENT ON COLUMN territory.target_gaps.difference IS
    'children_total - target: positive when the children are asked for more than the parent; NULL without a parent target';
COMMENT ON COLUMN territory.target_gaps.children IS 'How many children the parent has';
COMMENT ON COLUMN territory.target_gaps.children_with_target IS 'How many of them have a target for the period';

-- Re-running the rules: CALL territory.run_rules().
--
-- One pass over each table in key order, a batch per transaction.  A batch computes the
-- territories of its records with territory.compute_territories() and writes only the records
-- whose territories change.  Configuration changes and batches exclude each other (an advisory
-- lock, shared by batches, exclusive for a change until it commits), and a change marks every
-- running run to start a new pass: every record of a finished run was assigned under the one
-- configuration in force at its end, never a mix.

CREATE FUNCTION territory.compute_territories(tbl regclass, rec record) RETURNS int4[]
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'territory_compute_territories';
COMMENT ON FUNCTION territory.compute_territories(regclass, record) IS
    'The territories the rules and manual assignments give a row of a managed table now (nothing is written)';

-- Internal: the advisory lock key of the rule configuration (classid-like pair).
CREATE FUNCTION territory._config_lock_key() RETURNS int4[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[1952805748, 1];
COMMENT ON FUNCTION territory._config_lock_key() IS 'Internal: the advisory lock pair guarding the assignment configuration';

-- Statement trigger on every table the assignment depends on.
CREATE FUNCTION territory._config_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k int4[] := territory._config_lock_key();
BEGIN
    PERFORM pg_advisory_xact_lock(k[1], k[2]);
    UPDATE territory.rule_runs r SET restart = true WHERE r.state = 'running' AND NOT r.restart;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION territory._config_guard() IS
    'Internal trigger: a configuration change waits for the batch of a rule run and makes the run start a new pass';

-- Internal: the managed tables a run covers, in a fixed order.
CREATE FUNCTION territory._run_tables(tbl regclass) RETURNS regclass[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NOT NULL THEN
        PERFORM territory._managed(tbl);
        RETURN ARRAY[tbl];
    END IF;
    -- accounts first: contacts and deals follow them
    RETURN (SELECT coalesce(array_agg(m.tbl ORDER BY array_position('{account,lead,contact,deal}'::text[], m.kind),
                                      m.tbl::oid), '{}')
              FROM territory.managed_tables m);
END
$$;
COMMENT ON FUNCTION territory._run_tables(regclass) IS 'Internal: the tables a rule run covers';

-- Internal: the run of a table, resumed when one was interrupted, else a new one.
CREATE FUNCTION territory._run_start(tbl regclass, batch_size int4) RETURNS int8
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

-- Internal: the rows of blocks [first_block, end_block) of rel, the table tbl or on a Citus
-- cluster one of its shards, assigned again: n rows read, nchanged of them with new territories,
-- pending the keys of those locked by another transaction (not waited for).
--
-- The rows are read in physical order (a TID range scan: no index) in one pass that keeps only
-- the records whose territories change; those are written next.  A record written since (by a
-- writer, or by this run) may move to a later block and be read again: it is then found
-- unchanged.  Rows another transaction has locked are skipped, never waited for (a batch holds
-- the locks of the rows it wrote: waiting could deadlock with a writer); the run assigns them one
-- by one at the end of the pass.  A row that changed since the batch read it is recomputed by the
-- assignment trigger, which sees the write.
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

-- Internal: one batch of a run; true when the run is finished.  A batch is the next blocks of
-- the table, about batch_size records; of a table that Citus distributes, the same blocks of
-- every shard, each on its node (territory._citus_run_rows()).
CREATE FUNCTION territory._run_batch(run_id int8) RETURNS bool
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

-- Internal: a table's size for a rule run: its blocks, rows per block (NULL before statistics)
-- and estimated rows; of a table that Citus distributes, the largest shard's blocks and the
-- shards' statistics (territory._citus_table_size()).
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

-- Internal: assign one record a batch had to skip (locked by a writer then); waits for it now,
-- holding no other row lock.  False when none is left, or when a configuration change asks for
-- a new pass.
CREATE FUNCTION territory._run_pending(run_id int8) RETURNS bool
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k int4[] := territory._config_lock_key();
    run territory.rule_runs;
    pkey text;
BEGIN
    SELECT p.key INTO pkey FROM territory.rule_run_pending p WHERE p.run_id = _run_pending.run_id
     ORDER BY p.key LIMIT 1;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT * INTO run FROM territory.rule_runs r WHERE r.id = run_id;
    IF run.restart THEN
        RETURN false;
    END IF;
    -- the row first (this may wait for its writer), then the configuration
    PERFORM territory._reassign(run.tbl, pkey, false);
    PERFORM pg_advisory_xact_lock_shared(k[1], k[2]);
    DELETE FROM territory.rule_run_pending p WHERE p.run_id = _run_pending.run_id AND p.key = pkey;
    RETURN true;
END
$$;
COMMENT ON FUNCTION territory._run_pending(int8) IS 'Internal: assigns one record a batch skipped';

-- Internal: ends a run when its pass is complete and no configuration change asked for another.
CREATE FUNCTION territory._run_finish(run_id int8) RETURNS bool
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k int4[] := territory._config_lock_key();
    run territory.rule_runs;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(k[1], k[2]);
    SELECT * INTO run FROM territory.rule_runs r WHERE r.id = run_id FOR UPDATE;
    IF run.restart OR EXISTS (SELECT FROM territory.rule_run_pending p WHERE p.run_id = _run_finish.run_id) THEN
        RETURN false;
    END IF;
    UPDATE territory.rule_runs r SET state = 'finished', finished_at = clock_timestamp()
     WHERE r.id = run_id;
    PERFORM pg_advisory_unlock(k[1], run.tbl::oid::int4);
    RETURN true;
END
$$;
COMMENT ON FUNCTION territory._run_finish(int8) IS 'Internal: finishes a rule run';

-- Not pinned to a search_path: a procedure with SET cannot commit.  It only calls pinned functions.
CREATE PROCEDURE territory.run_rules(tbl regclass DEFAULT NULL, batch_size int4 DEFAULT 10000)
    LANGUAGE plpgsql
AS $$
DECLARE
    t regclass;
    run_id int8;
    done bool;
BEGIN
    FOREACH t IN ARRAY territory._run_tables(run_rules.tbl) LOOP
        run_id := territory._run_start(t, run_rules.batch_size);
        COMMIT;
        LOOP
            -- a pass: the batches, then the records they had to skip
            LOOP
                done := territory._run_batch(run_id);
                COMMIT;
                EXIT WHEN done;
            END LOOP;
            LOOP
                done := NOT territory._run_pending(run_id);
                COMMIT;
                EXIT WHEN done;
            END LOOP;
            done := territory._run_finish(run_id);
            COMMIT;
            EXIT WHEN done;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE territory.run_rules(regclass, int4) IS
    'Assign every record of the managed tables (or of tbl) again under the current rules, in batches committed one by one; resumes an interrupted run';

-- ---------------------------------------------------------------- explain

CREATE FUNCTION territory._rule_results(tbl regclass, rec record) RETURNS TABLE (rule_id int4, holds bool)
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'territory_rule_results';
COMMENT ON FUNCTION territory._rule_results(regclass, record) IS
    'Internal: every active rule of a managed table evaluated for one row';

CREATE FUNCTION territory.explain(tbl regclass, key text)
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

-- ---------------------------------------------------------------- models: preview and activation

CREATE FUNCTION territory._compute_territories_in(tbl regclass, rec record, model int4) RETURNS int4[]
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'territory_compute_territories_in';
COMMENT ON FUNCTION territory._compute_territories_in(regclass, record, int4) IS
    'Internal: the territories the rules and manual assignments of a model would give a row';

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

CREATE FUNCTION territory.activate_model(model int4) RETURNS void
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

-- Citus (doc/citus.md): the configuration on every node of a cluster.

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

-- Internal: what territory.manage_table() needs of a table that Citus distributes (doc/citus.md,
-- "Managed tables"): hash-distributed, an account table by its key, and a contact or deal table
-- by its account column, co-located with the account table, so that a record and its account
-- are on the same node.  True when tbl is distributed (its triggers then fire on its shards).
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

-- Internal: the history of distributed managed tables is distributed too, co-located with them
-- by the records' distribution values (column dist_value, of the distribution column's type,
-- added to territory.assignment_log on every node): a change goes to the history shard on the
-- node of the record's shard, in the record's transaction (src/history.c).  Done with the first
-- distributed managed table; the others must be in its co-location group.
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

-- Internal: whether Citus distributes the table (by hash: the managed tables of a cluster).
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

-- Internal: the size of a distributed table for a rule run: the largest shard's blocks, the
-- rows per block and the rows of all shards (from each shard's statistics).
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

-- Internal: a batch of a rule run on a distributed table: the blocks [first_block, end_block)
-- of every shard, assigned again on the shard's node (territory._run_rows() on the shard, run by
-- run_command_on_shards(): in the node's own transaction, committed before the batch's; a
-- batch run again after a failure finds its rows unchanged).
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

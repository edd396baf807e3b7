-- Citus (doc/citus.md): the configuration on every node of a cluster.

-- The tables of the configuration that every node reads, in the order they become reference
-- tables (a table before those whose foreign keys point at it).
CREATE FUNCTION territory._citus_tables() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['models', 'territory_types', 'territories', 'managed_tables', 'rules', 'manual_assignments',
                 'sales_users', 'members', 'territory_access', 'rotations', 'stages', 'removed_stages',
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
        fks := fks || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
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

-- The assignment API: managed tables, rules, manual assignments, history.

-- Internal: what territory.managed_tables says of a table, or an error when it is not managed.
CREATE FUNCTION territory._managed(tbl regclass) RETURNS territory.managed_tables
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
COMMENT ON FUNCTION territory._managed(regclass) IS 'Internal: the managed_tables row of a table; error when not managed';

-- Internal: the type of a managed table's key column, as SQL (to cast a key given as text).
CREATE FUNCTION territory._key_type(tbl regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = _key_type.tbl
               AND a.attname = territory._config_value('managed_tables', 'key_column', 'tbl', _key_type.tbl::oid::text));
COMMENT ON FUNCTION territory._key_type(regclass) IS 'Internal: the SQL type of a managed table''s key';

-- Internal: a mapped column of a table, checked: it must exist and, when types are given, have
-- one of them.
CREATE FUNCTION territory._check_column(tbl regclass, what text, col name, types regtype[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regtype;
BEGIN
    SELECT a.atttypid::regtype INTO t FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of table % does not exist', col, tbl
            USING ERRCODE = 'undefined_column',
                  DETAIL = format('It was given as the %s column.', what),
                  HINT = format('Name the %s column with the %s parameter of territory.manage_table().', what,
                                replace(what, ' ', '_'));
    END IF;
    IF types IS NOT NULL AND NOT t = ANY (types) THEN
        RAISE EXCEPTION 'column "%" of table % has type %, not %', col, tbl, t, array_to_string(types, ' or ')
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = format('It was given as the %s column.', what);
    END IF;
END
$$;
COMMENT ON FUNCTION territory._check_column(regclass, text, name, regtype[]) IS 'Internal: checks a mapped column';

-- Internal: the triggers by which the contacts and deals follow their account (created with
-- the first contact or deal table, each one that is missing): an account inserted after records
-- that name it, one whose territories or key change, one deleted.
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

-- Internal: drop them (with the last contact or deal table).
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

CREATE FUNCTION territory.manage_table(tbl regclass, kind text, key name DEFAULT 'id',
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

CREATE FUNCTION territory.unmanage_table(tbl regclass) RETURNS void
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

-- Internal: the default table of rules, the managed account table.
CREATE FUNCTION territory._account_table() RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass[];
BEGIN
    SELECT array_agg(m.tbl) INTO t FROM territory.managed_tables m WHERE m.kind = 'account';
    IF t IS NULL THEN
        RAISE EXCEPTION 'no account table is managed'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Name the table of the rule, or manage an account table with territory.manage_table().';
    ELSIF cardinality(t) > 1 THEN
        RAISE EXCEPTION 'several account tables are managed' USING ERRCODE = 'ambiguous_parameter',
            HINT = 'Name the table of the rule.';
    END IF;
    RETURN t[1];
END
$$;
COMMENT ON FUNCTION territory._account_table() IS 'Internal: the managed account table';

-- Not pinned to a search_path on purpose: rule criteria resolve their functions, operators and
-- types with the caller's search_path, as an index predicate would; they are stored resolved.
CREATE FUNCTION territory.add_rule(territory int4, criteria text, name text DEFAULT NULL,
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

CREATE FUNCTION territory.remove_rule(rule int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM territory.rules r WHERE r.id = remove_rule.rule;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rule % does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION territory.remove_rule(int4) IS
    'Remove a rule; records keep their territories until territory.run_rules() or their next change';

CREATE FUNCTION territory.set_rule_active(rule int4, active bool) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF active IS NULL THEN
        RAISE EXCEPTION 'active must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE territory.rules r SET active = set_rule_active.active WHERE r.id = set_rule_active.rule;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rule % does not exist', rule USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION territory.set_rule_active(int4, bool) IS 'Switch a rule on or off';

-- Internal: the SET clause of an UPDATE that makes the assignment trigger recompute the rows it
-- updates: it writes their territories column with a value no assignment has.  (A setting of
-- this session would not reach the shards where Citus runs the UPDATE.)
CREATE FUNCTION territory._reassigning(col name, kind text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    RETURN format('%I = %s', col, CASE WHEN kind = 'deal' THEN '0' ELSE '''{0}''' END);
COMMENT ON FUNCTION territory._reassigning(name, text) IS
    'Internal: SET clause that makes the assignment trigger recompute the rows an UPDATE writes';

-- Internal: recompute the territories of one record now (after a manual change).
CREATE FUNCTION territory._reassign(tbl regclass, key text, must_exist bool) RETURNS void
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

-- Internal: record a manual decision and apply it to the record at once.
CREATE FUNCTION territory._manual(tbl regclass, key text, territory int4, action text) RETURNS void
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

CREATE FUNCTION territory.assign(tbl regclass, key text, territory int4) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT territory._manual(tbl, key, territory, 'assign');
    END;
COMMENT ON FUNCTION territory.assign(regclass, text, int4) IS
    'Put a record in a territory by hand, whatever the rules say; survives every re-run';

CREATE FUNCTION territory.exclude(tbl regclass, key text, territory int4) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT territory._manual(tbl, key, territory, 'exclude');
    END;
COMMENT ON FUNCTION territory.exclude(regclass, text, int4) IS
    'Keep a record out of a territory by hand, whatever the rules say; survives every re-run';

CREATE FUNCTION territory.unassign(tbl regclass, key text, territory int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM territory._managed(tbl);
    DELETE FROM territory.manual_assignments m
     WHERE m.tbl = unassign.tbl AND m.key = unassign.key AND m.territory_id = unassign.territory;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'record % of % has no manual assignment or exclusion for territory %', key, tbl, territory
            USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM territory._reassign(tbl, key, false);
END
$$;
COMMENT ON FUNCTION territory.unassign(regclass, text, int4) IS
    'Withdraw a manual assignment or exclusion: the record goes back to what the rules say';

-- PL/pgSQL: Citus plans its query on a distributed history, which it cannot in an SQL function.
-- The table is compared by name: each node of a Citus cluster writes its own OID of it.
CREATE FUNCTION territory.territories_at(tbl regclass, key text, at timestamptz) RETURNS int4[]
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

-- Visibility: sales users, memberships, access levels, and the row-level security policies.

CREATE FUNCTION territory._user_id(user_key text) RETURNS int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid int4;
BEGIN
    IF user_key IS NULL THEN
        RAISE EXCEPTION 'sales user key must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT u.id INTO uid FROM territory.sales_users u WHERE u.key = user_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sales user "%" does not exist', user_key
            USING ERRCODE = 'undefined_object', HINT = 'Add it with territory.add_user().';
    END IF;
    RETURN uid;
END
$$;
COMMENT ON FUNCTION territory._user_id(text) IS 'Internal: the id of a sales user by key; an error if unknown';

CREATE FUNCTION territory._check_territory(territory int4) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF territory IS NULL THEN
        RAISE EXCEPTION 'territory must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM territory.territories t WHERE t.id = territory) THEN
        RAISE EXCEPTION 'territory % does not exist', territory USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION territory._check_territory(int4) IS 'Internal: an error unless the territory exists';

CREATE FUNCTION territory.add_user(key text, name text, login name DEFAULT NULL, manager text DEFAULT NULL,
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
COMMENT ON FUNCTION territory.add_user(text, text, name, text, bool) IS
    'Add a sales user (key: the application''s user key; manager: the manager''s key); returns its id';

CREATE FUNCTION territory.add_member(territory int4, user_key text, role text DEFAULT 'member', rotation bool DEFAULT true,
                                     valid_from date DEFAULT NULL, valid_to date DEFAULT NULL) RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid int4 := territory._user_id(user_key);
    mid int4;
BEGIN
    PERFORM territory._check_territory(add_member.territory);
    IF add_member.valid_from > add_member.valid_to THEN
        RAISE EXCEPTION 'a membership cannot end (%) before it starts (%)', add_member.valid_to, add_member.valid_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM territory.members m WHERE m.territory_id = add_member.territory AND m.user_id = uid) THEN
        RAISE EXCEPTION 'sales user "%" is already a member of territory %', user_key, add_member.territory
            USING ERRCODE = 'duplicate_object', HINT = 'Remove the membership first to change it.';
    END IF;
    INSERT INTO territory.members (territory_id, user_id, role, rotation, valid_from, valid_to)
        VALUES (add_member.territory, uid, coalesce(btrim(add_member.role), 'member'), coalesce(add_member.rotation, true),
                add_member.valid_from, add_member.valid_to)
        RETURNING id INTO mid;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION territory.add_member(int4, text, text, bool, date, date) IS
    'Make a sales user a member of a territory (role member, manager or your own label; optional validity period); returns the membership id';

CREATE FUNCTION territory.remove_member(territory int4, user_key text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM territory.members m
     WHERE m.territory_id = remove_member.territory AND m.user_id = territory._user_id(user_key);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sales user "%" is not a member of territory %', user_key, remove_member.territory
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION territory.remove_member(int4, text) IS 'End a sales user''s membership of a territory';

CREATE FUNCTION territory.set_access(territory int4, kind text, access text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text := lower(btrim(set_access.kind));
    a text := lower(btrim(set_access.access));
BEGIN
    PERFORM territory._check_territory(set_access.territory);
    IF k IS NULL OR k NOT IN ('account', 'lead', 'contact', 'deal') THEN
        RAISE EXCEPTION 'unknown kind of record: %', coalesce(set_access.kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The kinds are account, lead, contact and deal.';
    END IF;
    IF a IS NULL OR a NOT IN ('none', 'read', 'edit') THEN
        RAISE EXCEPTION 'unknown access level: %', coalesce(set_access.access, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The levels are none, read and edit.';
    END IF;
    INSERT INTO territory.territory_access (territory_id, kind, access)
        VALUES (set_access.territory, k, a)
        ON CONFLICT ON CONSTRAINT territory_access_pkey DO UPDATE SET access = excluded.access;
END
$$;
COMMENT ON FUNCTION territory.set_access(int4, text, text) IS
    'Set the access level (none, read, edit) of a territory''s members, and of members above it, to its records of a kind';

-- The unassigned arm of a deal table's policies, which _policy_expr() writes out (inlining
-- a function costs each statement's planning a few microseconds): for a user who sees
-- everything, the deals whose territory_id IS NULL; for anyone else none, and without reading
-- them: the partial index enable_visibility() creates, on (territory_id IS NULL) WHERE
-- territory_id IS NULL, is probed with = NULL, which matches nothing (a btree index on
-- territory_id could only be read for IS NULL, every unassigned deal, to be thrown away).
CREATE FUNCTION territory.unassigned_visible(territory int4) RETURNS bool
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN territory IS NULL AND (territory IS NULL) = NULLIF(territory.sees_all(), false);
COMMENT ON FUNCTION territory.unassigned_visible(int4) IS
    'Whether a deal without territory is visible: to a user who sees everything (the deal policies write this body out; a partial index on (territory_id IS NULL) serves it)';

-- Internal: the USING / WITH CHECK expression of a managed table's policies.
CREATE FUNCTION territory._policy_expr(tbl regclass, access text) RETURNS text
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

-- Internal: drop the extension's policies of a table, those that exist.
CREATE FUNCTION territory._drop_policies(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol name;
BEGIN
    FOR pol IN SELECT p.polname FROM pg_policy p
                WHERE p.polrelid = tbl
                  AND p.polname IN ('territory_select', 'territory_insert', 'territory_update', 'territory_delete') LOOP
        EXECUTE format('DROP POLICY %I ON %s', pol, tbl);
    END LOOP;
END
$$;
COMMENT ON FUNCTION territory._drop_policies(regclass) IS 'Internal: drops the visibility policies of a table';

CREATE FUNCTION territory.enable_visibility(tbl regclass) RETURNS void
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
COMMENT ON FUNCTION territory.enable_visibility(regclass) IS
    'Switch on territory-based row-level security for a managed table (enabled and forced; SELECT, INSERT, UPDATE and DELETE policies); idempotent';

CREATE FUNCTION territory.disable_visibility(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM territory._managed(tbl);
    PERFORM territory._drop_policies(tbl);
    IF NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tbl) THEN
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION territory.disable_visibility(regclass) IS
    'Switch territory-based row-level security off for a managed table (its own other policies stay, and with them row-level security)';

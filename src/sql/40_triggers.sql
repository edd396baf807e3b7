-- Triggers on the configuration tables.  They validate direct changes exactly as the API's, and
-- tell the per-backend caches about every change (territory.config_changed).  Trigger functions
-- are SECURITY DEFINER so that their bookkeeping works for any role allowed to change the table.

-- Internal: a code for a new territory: its name in upper case with runs of other characters
-- replaced by '_', made unique within the model with the territory id when taken.
CREATE FUNCTION territory._new_code(model int4, name text, id int4) RETURNS text
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
COMMENT ON FUNCTION territory._new_code(int4, text, int4) IS 'Internal: generated territory code';

-- Internal: refuse changes to the territories of an archived model.
CREATE FUNCTION territory._check_model_writable(model int4) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF territory._model_state(model) = 'archived' THEN
        RAISE EXCEPTION 'territory model % is archived', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The territories of an archived model cannot change.',
                  HINT = 'Clone the model to change a copy.';
    END IF;
END
$$;
COMMENT ON FUNCTION territory._check_model_writable(int4) IS 'Internal: error when a model is archived';

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

-- Internal: the model of a new parent, checked against the model the child is in (when known).
-- A missing parent is an error when must_exist, else left to the foreign key (a parent inserted
-- later in the same statement).
CREATE FUNCTION territory._parent_model(parent int4, model int4, must_exist bool) RETURNS int4
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
COMMENT ON FUNCTION territory._parent_model(int4, int4, bool) IS
    'Internal: model of a parent territory; error when it is missing or in another model';

CREATE FUNCTION territory._territories_before_insert() RETURNS trigger
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

CREATE FUNCTION territory._territories_before_update() RETURNS trigger
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

CREATE FUNCTION territory._territories_before_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM territory._check_model_writable(OLD.model_id);
    RETURN OLD;
END
$$;

CREATE FUNCTION territory._models_before_write() RETURNS trigger
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

COMMENT ON FUNCTION territory._territories_before_insert() IS 'Internal trigger: completes and validates new territories';
COMMENT ON FUNCTION territory._territories_before_update() IS 'Internal trigger: validates changed territories and serializes moves per model';
COMMENT ON FUNCTION territory._territories_before_delete() IS 'Internal trigger: refuses deletes in archived models';
COMMENT ON FUNCTION territory._models_before_write() IS
    'Internal trigger: stamps model state changes; a restored model replaces the empty default model of the same id';

CREATE TRIGGER territories_before_insert BEFORE INSERT ON territory.territories
    FOR EACH ROW EXECUTE FUNCTION territory._territories_before_insert();
CREATE TRIGGER territories_before_update BEFORE UPDATE ON territory.territories
    FOR EACH ROW EXECUTE FUNCTION territory._territories_before_update();
-- After the whole statement (and, under concurrency, after the model lock): no cycles (src/cycles.c).
CREATE TRIGGER territories_check_cycles AFTER UPDATE ON territory.territories
    REFERENCING OLD TABLE AS territory_old NEW TABLE AS territory_new
    FOR EACH STATEMENT EXECUTE FUNCTION territory.check_cycles();
CREATE TRIGGER territories_before_delete BEFORE DELETE ON territory.territories
    FOR EACH ROW EXECUTE FUNCTION territory._territories_before_delete();
CREATE TRIGGER models_before_write BEFORE INSERT OR UPDATE ON territory.models
    FOR EACH ROW EXECUTE FUNCTION territory._models_before_write();

-- Cache invalidation: every change of these tables reaches every backend's hierarchy cache.
CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.models
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('hierarchy_signal');
CREATE TRIGGER territory_types_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.territory_types
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('hierarchy_signal');
CREATE TRIGGER territories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.territories
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('hierarchy_signal');

-- ---------------------------------------------------------------- rules and manual assignments

-- Internal: a rule row completed and checked (everything but its criteria).
CREATE FUNCTION territory._rule_checked(r territory.rules) RETURNS territory.rules
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
COMMENT ON FUNCTION territory._rule_checked(territory.rules) IS 'Internal: completes and checks a rule row';

-- Not pinned to a search_path on purpose: the criteria resolve with the writer's search_path
-- (stored resolved, like an index predicate); everything else is done by pinned functions.
CREATE FUNCTION territory._rules_before_write() RETURNS trigger
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

CREATE FUNCTION territory._rules_before_delete() RETURNS trigger
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
COMMENT ON FUNCTION territory._rules_before_delete() IS 'Internal trigger: refuses rule deletes in archived models';

CREATE TRIGGER rules_before_write BEFORE INSERT OR UPDATE ON territory.rules
    FOR EACH ROW EXECUTE FUNCTION territory._rules_before_write();
CREATE TRIGGER rules_before_delete BEFORE DELETE ON territory.rules
    FOR EACH ROW EXECUTE FUNCTION territory._rules_before_delete();

CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.rules
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('matcher_signal');
CREATE TRIGGER managed_tables_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.managed_tables
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('matcher_signal', 'manual_signal');
CREATE TRIGGER manual_assignments_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.manual_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('manual_signal');

-- Configuration changes and rule runs exclude each other (src/sql/32_run_rules.sql).
CREATE TRIGGER zz_rules_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.rules
    FOR EACH STATEMENT EXECUTE FUNCTION territory._config_guard();
CREATE TRIGGER zz_territories_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.territories
    FOR EACH STATEMENT EXECUTE FUNCTION territory._config_guard();
CREATE TRIGGER zz_models_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.models
    FOR EACH STATEMENT EXECUTE FUNCTION territory._config_guard();
CREATE TRIGGER zz_managed_tables_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.managed_tables
    FOR EACH STATEMENT EXECUTE FUNCTION territory._config_guard();
CREATE TRIGGER zz_manual_assignments_guard AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.manual_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION territory._config_guard();

-- A managed table that is dropped leaves the configuration with it (its rules and manual
-- assignments go by cascade); its history stays.
CREATE FUNCTION territory._on_sql_drop() RETURNS event_trigger
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
CREATE EVENT TRIGGER territory_sql_drop ON sql_drop EXECUTE FUNCTION territory._on_sql_drop();

-- ---------------------------------------------------------------- visibility

-- The manager hierarchy stays a forest: walking up from the new manager must not reach the user.
-- The walk locks the rows it passes (FOR SHARE), so that two crossing changes either see each
-- other (READ COMMITTED) or fail to serialize, and never commit a cycle together.
CREATE FUNCTION territory._sales_users_before_write() RETURNS trigger
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
COMMENT ON FUNCTION territory._sales_users_before_write() IS
    'Internal: refuses a manager that would make the manager hierarchy a cycle';
CREATE TRIGGER sales_users_before_write BEFORE INSERT OR UPDATE ON territory.sales_users
    FOR EACH ROW EXECUTE FUNCTION territory._sales_users_before_write();

CREATE TRIGGER sales_users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.sales_users
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('visibility_signal');
CREATE TRIGGER members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.members
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('membership_signal');
CREATE TRIGGER territory_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON territory.territory_access
    FOR EACH STATEMENT EXECUTE FUNCTION territory.config_changed('membership_signal');

-- ---------------------------------------------------------------- stages

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

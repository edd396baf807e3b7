-- The configuration API: models, territory types, territories.  SECURITY INVOKER: the caller
-- needs the privileges the DBA granted (doc/reference.md, "Privileges").  Every check a direct
-- change of the tables also needs lives in the triggers (40_triggers.sql); the functions add the
-- checks that give a clearer message than a constraint would.

-- From the hierarchy's cache (C): a SQL function's body would be planned at every call.
CREATE FUNCTION territory.active_model() RETURNS int4
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_active_model';
COMMENT ON FUNCTION territory.active_model() IS 'Id of the active model, NULL when none is active';

-- Internal: the state of a model, or an error naming it when it does not exist.
CREATE FUNCTION territory._model_state(model int4) RETURNS text
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
COMMENT ON FUNCTION territory._model_state(int4) IS 'Internal: state of a model; error when it does not exist';

-- Internal: the model of a territory, or an error naming it when it does not exist.
CREATE FUNCTION territory._territory_model(t int4) RETURNS int4
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
COMMENT ON FUNCTION territory._territory_model(int4) IS 'Internal: model of a territory; error when it does not exist';

-- Internal: refuse an empty or padded name.
CREATE FUNCTION territory._check_name(what text, name text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION '% name must not be empty', what USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN btrim(name);
END
$$;
COMMENT ON FUNCTION territory._check_name(text, text) IS 'Internal: a trimmed name; error when empty';

CREATE FUNCTION territory.create_model(name text) RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := territory._check_name('model', create_model.name);
    new_id int4;
BEGIN
    IF EXISTS (SELECT FROM territory.models m WHERE m.name = n) THEN
        RAISE EXCEPTION 'territory model "%" already exists', n USING ERRCODE = 'duplicate_object';
    END IF;
    INSERT INTO territory.models (name, state) VALUES (n, 'planning') RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION territory.create_model(text) IS
    'Create an empty territory model in state planning; returns its id';

CREATE FUNCTION territory.clone_model(source int4, name text) RETURNS int4
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

CREATE FUNCTION territory.archive_model(model int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text;
BEGIN
    SELECT m.state INTO st FROM territory.models m WHERE m.id = archive_model.model FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'territory model % does not exist', model USING ERRCODE = 'undefined_object';
    ELSIF st = 'active' THEN
        RAISE EXCEPTION 'territory model % is active', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Exactly one model is active at a time.',
                  HINT = 'Activate another model first; that archives nothing by itself.';
    ELSIF st = 'planning' THEN
        UPDATE territory.models m SET state = 'archived' WHERE m.id = archive_model.model;
    END IF;
END
$$;
COMMENT ON FUNCTION territory.archive_model(int4) IS
    'Archive a planning model (read-only from then on); the active model cannot be archived';

CREATE FUNCTION territory.add_type(name text, priority int4) RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := territory._check_name('territory type', add_type.name);
    other text;
    new_id int4;
BEGIN
    IF priority IS NULL OR priority < 1 THEN
        RAISE EXCEPTION 'territory type priority must be a positive integer'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Priority 1 is the most important.';
    END IF;
    IF EXISTS (SELECT FROM territory.territory_types t WHERE t.name = n) THEN
        RAISE EXCEPTION 'territory type "%" already exists', n USING ERRCODE = 'duplicate_object';
    END IF;
    SELECT t.name INTO other FROM territory.territory_types t WHERE t.priority = add_type.priority;
    IF FOUND THEN
        RAISE EXCEPTION 'priority % is already used by territory type "%"', priority, other
            USING ERRCODE = 'duplicate_object', HINT = 'Every territory type has its own priority.';
    END IF;
    INSERT INTO territory.territory_types (name, priority) VALUES (n, add_type.priority)
        RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION territory.add_type(text, int4) IS
    'Create a territory type with a unique priority (1 = most important); returns its id';

CREATE FUNCTION territory.add_territory(name text, parent int4 DEFAULT NULL, code text DEFAULT NULL,
                                        type int4 DEFAULT NULL, model int4 DEFAULT NULL)
    RETURNS int4
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := territory._check_name('territory', add_territory.name);
    c text := nullif(btrim(add_territory.code), '');
    m int4 := add_territory.model;
    new_id int4;
BEGIN
    IF parent IS NOT NULL THEN
        m := territory._territory_model(parent);
        IF add_territory.model IS NOT NULL AND add_territory.model <> m THEN
            RAISE EXCEPTION 'parent territory % belongs to model %, not to model %', parent, m, add_territory.model
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSIF m IS NULL THEN
        m := territory.active_model();
        IF m IS NULL THEN
            RAISE EXCEPTION 'no territory model is active'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Name the model of the new territory.';
        END IF;
    END IF;
    IF type IS NOT NULL AND NOT EXISTS (SELECT FROM territory.territory_types tt WHERE tt.id = add_territory.type) THEN
        RAISE EXCEPTION 'territory type % does not exist', type USING ERRCODE = 'undefined_object';
    END IF;
    IF c IS NOT NULL AND EXISTS (SELECT FROM territory.territories t WHERE t.model_id = m AND t.code = c) THEN
        RAISE EXCEPTION 'territory code "%" is already used in model %', c, m USING ERRCODE = 'duplicate_object';
    END IF;
    INSERT INTO territory.territories (model_id, parent_id, name, code, type_id)
        VALUES (m, parent, n, c, add_territory.type)
        RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION territory.add_territory(text, int4, text, int4, int4) IS
    'Add a territory under parent (NULL: a root) in the parent''s model, else the given or the active model; returns its id';

CREATE FUNCTION territory.move_territory(territory int4, new_parent int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM territory._territory_model(move_territory.territory);
    IF new_parent IS NOT NULL THEN
        PERFORM territory._territory_model(new_parent);
        IF new_parent = move_territory.territory THEN
            RAISE EXCEPTION 'territory % cannot be its own parent', new_parent
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- the triggers check the model, serialize the move and refuse cycles
    UPDATE territory.territories t SET parent_id = new_parent WHERE t.id = move_territory.territory;
END
$$;
COMMENT ON FUNCTION territory.move_territory(int4, int4) IS
    'Move a territory and its subtree under new_parent (NULL: make it a root); refuses cycles';

CREATE FUNCTION territory.rename_territory(territory int4, name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n text := territory._check_name('territory', rename_territory.name);
BEGIN
    PERFORM territory._territory_model(rename_territory.territory);
    UPDATE territory.territories t SET name = n WHERE t.id = rename_territory.territory;
END
$$;
COMMENT ON FUNCTION territory.rename_territory(int4, text) IS 'Rename a territory (its code stays)';

CREATE FUNCTION territory.remove_territory(territory int4) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nchildren int8;
BEGIN
    PERFORM territory._territory_model(remove_territory.territory);
    SELECT count(*) INTO nchildren FROM territory.territories t WHERE t.parent_id = remove_territory.territory;
    IF nchildren > 0 THEN
        RAISE EXCEPTION 'territory % has % %', remove_territory.territory, nchildren,
                CASE WHEN nchildren = 1 THEN 'child' ELSE 'children' END
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Move or remove its children first.';
    END IF;
    DELETE FROM territory.territories t WHERE t.id = remove_territory.territory;
END
$$;
COMMENT ON FUNCTION territory.remove_territory(int4) IS 'Remove a territory that has no children';

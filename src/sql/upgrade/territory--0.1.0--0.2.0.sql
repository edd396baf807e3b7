-- territory: upgrade from 0.1.0 to 0.2.0.
-- Every change made to src/sql for 0.2.0 must be made here too, so that an updated 0.1.0 install
-- equals a fresh 0.2.0 install: test/upgrade/run checks it.

\echo Use "ALTER EXTENSION territory UPDATE TO '0.2.0'" to load this file. \quit

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
        DELETE FROM territory.models m
         WHERE m.id = NEW.id AND m.name = 'default'
           AND NOT EXISTS (SELECT FROM territory.territories t WHERE t.model_id = m.id);
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
    IF NOT EXISTS (SELECT FROM territory.models m
                    WHERE m.id = _check_model_insertable.model AND m.state = 'archived'
                      AND _check_model_insertable.created < m.archived_at) THEN
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
    NEW := territory._rule_checked(NEW);
    IF TG_OP = 'INSERT' THEN
        PERFORM territory._check_model_insertable(territory._territory_model(NEW.territory_id), NEW.created_at);
    ELSE
        PERFORM territory._check_model_writable(territory._territory_model(NEW.territory_id));
    END IF;
    NEW.expr := territory._compile_rule(NEW.tbl, NEW.criteria, (territory._managed(NEW.tbl)).territory_column);
    RETURN NEW;
END
$$;

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
        DELETE FROM territory.stages s WHERE s.stage = NEW.stage AND s.seeded;
        DELETE FROM territory.removed_stages r WHERE r.stage = NEW.stage;
        -- written by hand without a position: after the last stage
        IF NEW.position IS NULL THEN
            NEW.position := coalesce((SELECT max(s.position) FROM territory.stages s), 0) + 1;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.stage, NEW.category, NEW.probability, NEW.position)
           IS DISTINCT FROM (OLD.stage, OLD.category, OLD.probability, OLD.position) THEN
            NEW.seeded := false;
        END IF;
        IF NEW.stage <> OLD.stage THEN
            DELETE FROM territory.removed_stages r WHERE r.stage = NEW.stage;
        END IF;
    END IF;
    IF pg_trigger_depth() = 1 AND (TG_OP = 'DELETE' OR NEW.stage <> OLD.stage)
       AND EXISTS (SELECT FROM territory._default_stages() d WHERE d.stage = OLD.stage) THEN
        INSERT INTO territory.removed_stages VALUES (OLD.stage) ON CONFLICT DO NOTHING;
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
        DELETE FROM territory.stages s WHERE s.stage = NEW.stage AND s.seeded;
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

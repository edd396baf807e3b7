-- Privileges and security: who may read, who may change, and search_path hijacking.
BEGIN;
CREATE EXTENSION territory;
SELECT plan(40);

CREATE ROLE tap_nobody NOLOGIN;
CREATE ROLE tap_admin NOLOGIN;
-- the documented admin grant (doc/reference.md, "Privileges")
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA territory TO tap_admin;
GRANT INSERT, UPDATE, DELETE ON territory.models, territory.territory_types, territory.territories,
    territory.managed_tables, territory.rules, territory.manual_assignments, territory.rule_runs,
    territory.rule_run_pending, territory.sales_users, territory.members, territory.territory_access,
    territory.stages, territory.targets, territory.forecast_adjustments, territory.forecast_snapshots,
    territory.phone_numbers TO tap_admin;
GRANT SELECT ON territory.manual_assignments, territory.assignment_history, territory.assignment_log,
    territory.sales_users, territory.members, territory.territory_access, territory.targets,
    territory.forecast_adjustments, territory.forecast_snapshots, territory.phone_numbers,
    territory.rotations TO tap_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA territory TO tap_admin;

SELECT territory.add_territory('Global', code => 'G') AS g \gset

-- everybody may read the plan and use the hierarchy functions
SELECT ok(has_function_privilege('tap_nobody', p, 'EXECUTE'), 'PUBLIC may call ' || p)
  FROM unnest(ARRAY['territory.ancestors(int4)', 'territory.descendants(int4)', 'territory.subtree(int4)',
                    'territory.children(int4)', 'territory.is_ancestor(int4, int4)', 'territory.depth(int4)',
                    'territory.path(int4)', 'territory.tree(int4)', 'territory.to_dot(int4)',
                    'territory.active_model()']) p;
SELECT ok(has_table_privilege('tap_nobody', 'territory.territories', 'SELECT'), 'PUBLIC may read territories');
-- nobody else may change it
SELECT ok(NOT has_function_privilege('tap_nobody', p, 'EXECUTE'), 'PUBLIC may not call ' || p)
  FROM unnest(ARRAY['territory.create_model(text)', 'territory.clone_model(int4, text)',
                    'territory.archive_model(int4)', 'territory.add_type(text, int4)',
                    'territory.add_territory(text, int4, text, int4, int4)',
                    'territory.move_territory(int4, int4)', 'territory.rename_territory(int4, text)',
                    'territory.remove_territory(int4)']) p;
SELECT ok(NOT has_table_privilege('tap_nobody', 'territory.territories', 'INSERT, UPDATE, DELETE'),
          'PUBLIC may not write territories');

SET LOCAL ROLE tap_nobody;
SELECT throws_ok($$SELECT territory.add_territory('Hacked')$$, '42501', NULL,
                 'a role without the grant cannot add territories');
SELECT throws_ok($$UPDATE territory.territories SET name = 'Hacked'$$, '42501', NULL,
                 'a role without the grant cannot update territories directly');
SELECT is(territory.path(:g), 'Global', 'a role without the grant reads the hierarchy');
-- the configuration lookup of the triggers (public, for the functions everyone may call) reads
-- only what the caller may read, and says what is wrong with its arguments
SELECT is(territory._config_value('territories', 'name', 'id', :g::text), 'Global',
          'the configuration lookup reads a table the role may read');
SELECT throws_ok($$SELECT territory._config_value('sales_users', 'key', 'id', '1')$$, '42501', NULL,
                 'the configuration lookup refuses a table the role may not read');
SELECT throws_ok($$SELECT territory._config_value('territories', 'name', 'id')$$, '22023', NULL,
                 'the configuration lookup wants pairs of a column and a value');
SELECT throws_ok($$SELECT territory._config_value('territories', 'nosuch', 'id', '1')$$, '42703', NULL,
                 'the configuration lookup names an unknown column');
SELECT throws_ok($$SELECT territory._config_value('territories', 'name', 'name', 'Global')$$, '42704', NULL,
                 'the configuration lookup needs an index on the key columns');
SELECT throws_ok($$SELECT territory._config_table('nosuch')$$, '42P01', NULL,
                 'the configuration relation of an unknown table is an error');
RESET ROLE;

-- SECURITY DEFINER functions are pinned to a safe search_path
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'territory' AND p.prosecdef
         AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']$$,
    'every SECURITY DEFINER function sets search_path = pg_catalog, pg_temp');

-- search_path hijack: an admin whose search_path starts with a schema holding look-alike
-- functions and operators still gets the real ones inside the extension
CREATE SCHEMA tap_evil;
CREATE TABLE tap_evil.calls (what text);
GRANT ALL ON SCHEMA tap_evil TO PUBLIC;
GRANT ALL ON tap_evil.calls TO PUBLIC;
CREATE FUNCTION tap_evil.upper(text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES ('upper') RETURNING 'EVIL' $$;
CREATE FUNCTION tap_evil.btrim(text) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES ('btrim') RETURNING 'EVIL' $$;
CREATE FUNCTION tap_evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES ('now') RETURNING 'epoch'::timestamptz $$;
CREATE FUNCTION tap_evil.int4eq_evil(int4, int4) RETURNS bool LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES ('=') RETURNING true $$;
CREATE OPERATOR tap_evil.= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = tap_evil.int4eq_evil);
SET LOCAL ROLE tap_admin;
SET LOCAL search_path = tap_evil, public, pg_catalog;
-- plain statements: pgTAP's own functions are not hijack-proof, ours must be
SELECT territory.add_territory('Hijack Test') AS hijack \gset
SELECT territory.move_territory(:hijack, NULL);
SELECT territory.rename_territory(:hijack, 'Hijack Test');
SELECT territory.create_model('Hijack model') AS hijack_model \gset
SELECT territory.clone_model(:hijack_model, 'Hijack clone') IS NOT NULL AS cloned;
SELECT territory.archive_model(:hijack_model);
SELECT territory.add_type('Hijack type', 99) IS NOT NULL AS typed;
UPDATE territory.territories SET parent_id = :g WHERE id OPERATOR(pg_catalog.=) :hijack;
SELECT territory.path(:hijack), territory.depth(:hijack), territory.is_ancestor(:g, :hijack);
SELECT territory.remove_territory(:hijack);
SELECT territory.add_territory('Hijack Test') AS hijack \gset
RESET search_path;
RESET ROLE;
SELECT is((SELECT code FROM territory.territories WHERE name = 'Hijack Test'), 'HIJACK_TEST',
          'the generated code used the real upper()');
SELECT is_empty($$SELECT * FROM tap_evil.calls$$, 'no hostile function or operator was called');

-- an application role with rights on its own tables only: the assignment triggers still work
-- (they read the configuration and write the history as the extension's owner)
CREATE ROLE tap_app NOLOGIN;
CREATE TABLE public.tap_accounts (id int PRIMARY KEY, country text, owner_id text);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tap_accounts TO tap_app;
SELECT territory.manage_table('public.tap_accounts', 'account');
SELECT territory.add_rule(:g, $$country = 'DE'$$, tbl => 'public.tap_accounts');
SET LOCAL ROLE tap_app;
SELECT lives_ok($$INSERT INTO public.tap_accounts VALUES (1, 'DE', 'x'), (2, 'FR', 'y')$$,
                'an application role inserts into a managed table without any grant on the extension');
SELECT lives_ok($$UPDATE public.tap_accounts SET country = 'DE' WHERE id = 2$$,
                'and updates it');
SELECT results_eq($$SELECT id, territories FROM public.tap_accounts ORDER BY id$$,
                  format($$VALUES (1, ARRAY[%s]), (2, ARRAY[%s])$$, :g, :g),
                  'its records are assigned');
SELECT throws_ok($$SELECT count(*) FROM territory.assignment_history$$, '42501', NULL,
                 'but it cannot read the history');
SELECT throws_ok($$SELECT territory.add_rule(1, 'true', tbl => 'public.tap_accounts')$$, '42501', NULL,
                 'nor add rules');
SELECT throws_ok($$CALL territory.run_rules()$$, '42501', NULL, 'nor run the rules');
SELECT throws_ok($$SELECT territory.assign('public.tap_accounts', '1', 1)$$, '42501', NULL,
                 'nor assign by hand');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM territory.assignment_history WHERE tbl = 'public.tap_accounts'::regclass),
          2, 'the history was written for it');

SELECT * FROM finish();
ROLLBACK;

-- The installed objects: tables, constraints, config dump, function properties and comments.
BEGIN;
CREATE EXTENSION territory;
SELECT plan(35);

SELECT has_schema('territory');
SELECT tables_are('territory', ARRAY['models', 'territory_types', 'territories', 'managed_tables', 'rules',
                                   'manual_assignments', 'assignment_log', 'rule_runs', 'rule_run_pending',
                                   'sales_users', 'members', 'territory_access', 'stages', 'removed_stages', 'targets',
                                   'forecast_adjustments', 'forecast_snapshots', 'rotations', 'phone_numbers']);
SELECT has_pk('territory', 'models', 'models has a primary key');
SELECT has_pk('territory', 'territory_types', 'territory_types has a primary key');
SELECT has_pk('territory', 'territories', 'territories has a primary key');
SELECT col_not_null('territory', 'territories', 'model_id', 'every territory has a model');
SELECT col_not_null('territory', 'territories', 'code', 'every territory has a code');
SELECT fk_ok('territory', 'territories', ARRAY['model_id', 'parent_id'],
             'territory', 'territories', ARRAY['model_id', 'id']);
SELECT index_is_unique('territory', 'models', 'models_one_active', 'one active model at most');
SELECT has_index('territory', 'territories', 'territories_parent_idx', 'children are found by index');
SELECT has_view('territory', 'assignment_history', 'the history is read through a view');

-- every configuration table and its sequence is kept by pg_dump
SELECT set_eq(
    $$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'territory'$$,
    ARRAY['territory.models', 'territory.models_id_seq', 'territory.territory_types',
          'territory.territory_types_id_seq', 'territory.territories', 'territory.territories_id_seq',
          'territory.managed_tables', 'territory.rules', 'territory.rules_id_seq', 'territory.manual_assignments',
          'territory.assignment_log', 'territory.assignment_log_id_seq', 'territory.rule_runs',
          'territory.rule_runs_id_seq', 'territory.rule_run_pending', 'territory.sales_users',
          'territory.sales_users_id_seq', 'territory.members', 'territory.members_id_seq', 'territory.territory_access',
          'territory.stages', 'territory.removed_stages', 'territory.targets', 'territory.targets_id_seq', 'territory.forecast_adjustments',
          'territory.forecast_adjustments_id_seq', 'territory.forecast_snapshots', 'territory.forecast_snapshots_id_seq',
          'territory.rotations', 'territory.phone_numbers'],
    'configuration tables and sequences are registered with pg_extension_config_dump');

-- fresh install: one active model called default
SELECT results_eq($$SELECT name, state FROM territory.models$$,
                  $$VALUES ('default', 'active')$$, 'a fresh install has the active model default');

-- C functions: volatility, strictness and parallel safety as documented
SELECT volatility_is('territory', f, ARRAY['integer'], 'stable', f || ' is STABLE')
  FROM unnest(ARRAY['ancestors', 'descendants', 'subtree', 'children', 'depth', 'path', 'tree', 'to_dot']) f;
SELECT volatility_is('territory', 'is_ancestor', ARRAY['integer', 'integer'], 'stable', 'is_ancestor is STABLE');
SELECT is_strict('territory', f, ARRAY['integer'], f || ' is STRICT')
  FROM unnest(ARRAY['ancestors', 'descendants', 'subtree', 'children', 'depth', 'path']) f;
SELECT is(
    (SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'territory' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
        AND p.prorettype <> 'trigger'::regtype AND p.proparallel <> 's' AND p.proname !~ '^_'
        AND p.proname NOT IN ('compute_territories', 'forecast', 'forecast_periods')),
    0, 'every public C function but the triggers, compute_territories and the forecasts is PARALLEL SAFE');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'territory.compute_territories'::regproc), 'r',
          'compute_territories compiles matchers with SPI: PARALLEL RESTRICTED');
SELECT set_eq($$SELECT DISTINCT proparallel::text FROM pg_proc WHERE proname IN ('forecast', 'forecast_periods')
                  AND pronamespace = 'territory'::regnamespace$$, ARRAY['r'],
              'the forecasts read the deals with SPI: PARALLEL RESTRICTED');
-- the stage table ships with its defaults, which pg_dump leaves to CREATE EXTENSION
SELECT results_eq($$SELECT count(*)::int FROM territory.stages WHERE seeded$$, ARRAY[8],
                  'eight default stages are installed');

-- every public object is described (psql \dx+ and BI catalogs show it)
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'territory' AND obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every function has a comment');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'territory' AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table and view has a comment');
SELECT is_empty(
    $$SELECT c.relname || '.' || a.attname FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'territory' AND c.relkind = 'r' AND col_description(c.oid, a.attnum) IS NULL$$,
    'every column of a table has a comment');

SELECT * FROM finish();
ROLLBACK;

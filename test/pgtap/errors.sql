-- Every error a user can cause has a specific SQLSTATE, and leaves nothing changed.
BEGIN;
CREATE EXTENSION territory;
SELECT plan(50);

SELECT territory.add_type('Region', 1) AS region \gset
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g) AS emea \gset
SELECT territory.create_model('next') AS next \gset
SELECT territory.create_model('old') AS old \gset
SELECT territory.add_territory('Old root', model => :old) AS old_root \gset
SELECT territory.archive_model(:old);
CREATE TEMP TABLE before AS SELECT * FROM territory.territories;

-- unknown objects: 42704 undefined_object
SELECT throws_ok(format('SELECT territory.%s', q), '42704', NULL, q || ': unknown object')
  FROM unnest(ARRAY['depth(999)', 'path(999)', 'is_ancestor(999, 1)', 'is_ancestor(1, 999)',
                    'ancestors(999)', 'descendants(999)', 'subtree(999)', 'children(999)',
                    'tree(999)', 'to_dot(999)', 'add_territory(''X'', 999)',
                    'add_territory(''X'', type => 999)', 'add_territory(''X'', model => 999)',
                    'move_territory(999, NULL)', 'move_territory(1, 999)', 'rename_territory(999, ''x'')',
                    'remove_territory(999)', 'clone_model(999, ''x'')', 'archive_model(999)']) q;

-- invalid values: 22023 invalid_parameter_value, 22004 null_value_not_allowed
SELECT throws_ok($$SELECT territory.add_territory('')$$, '22023', 'territory name must not be empty');
SELECT throws_ok($$SELECT territory.create_model('  ')$$, '22023', 'model name must not be empty');
SELECT throws_ok($$SELECT territory.add_type('Overlay', 0)$$, '22023', NULL, 'priority must be positive');
SELECT throws_ok(format('SELECT territory.add_territory(%L, %s, model => %s)', 'X', :g, :next),
                 '22023', NULL, 'parent in another model');
SELECT throws_ok($$SELECT territory.clone_model(NULL, 'x')$$, '22004', NULL, 'clone of NULL');

-- duplicates: 42710 duplicate_object
SELECT throws_ok($$SELECT territory.create_model('next')$$, '42710', NULL, 'duplicate model name');
SELECT throws_ok($$SELECT territory.add_type('Region', 2)$$, '42710', NULL, 'duplicate type name');
SELECT throws_ok($$SELECT territory.add_type('Other', 1)$$, '42710', NULL, 'duplicate type priority');
SELECT throws_ok(format('SELECT territory.add_territory(%L, code => %L)', 'X', 'G'), '42710', NULL,
                 'duplicate code in the model');

-- structure: 23514 check_violation for cycles, 2BP01 for children, 55000 for states
SELECT throws_ok(format('SELECT territory.move_territory(%s, %s)', :g, :emea), '23514', NULL, 'cycle');
SELECT throws_ok(format('SELECT territory.move_territory(%s, %s)', :g, :g), '23514', NULL, 'own parent');
SELECT throws_ok(format('UPDATE territory.territories SET parent_id = %s WHERE id = %s', :emea, :g),
                 '23514', NULL, 'cycle by direct update');
SELECT throws_ok(format('SELECT territory.remove_territory(%s)', :g), '2BP01', NULL, 'children');
SELECT throws_ok(format('SELECT territory.archive_model(%s)', 1), '55000', NULL, 'archive the active model');
SELECT throws_ok(format('SELECT territory.add_territory(%L, model => %s)', 'X', :old), '55000', NULL,
                 'add to an archived model');
SELECT throws_ok(format('SELECT territory.rename_territory(%s, %L)', :old_root, 'X'), '55000', NULL,
                 'rename in an archived model');
SELECT throws_ok(format('UPDATE territory.territories SET model_id = %s WHERE id = %s', :next, :emea),
                 '0A000', NULL, 'change of model');
SELECT throws_ok(format('INSERT INTO territory.territories (parent_id, name) VALUES (%s, %L)', 999, 'X'),
                 '23503', NULL, 'direct insert under a missing parent');

-- visibility: every user error with its SQLSTATE, and nothing changed
SELECT territory.add_user('vis_err_a', 'A');
CREATE TEMP TABLE users_before AS SELECT * FROM territory.sales_users;
SELECT throws_ok($$SELECT territory.add_user('vis_err_a', 'Again')$$, '42710', NULL, 'duplicate sales user');
SELECT throws_ok($$SELECT territory.add_user(' x ', 'X')$$, '22023', NULL, 'invalid sales user key');
SELECT throws_ok($$SELECT territory.add_user(NULL, 'X')$$, '22004', NULL, 'NULL sales user key');
SELECT throws_ok($$SELECT territory.add_user('x', 'X', manager => 'nobody')$$, '42704', NULL, 'unknown manager');
SELECT throws_ok(format('SELECT territory.add_member(%s, %L)', :g, 'nobody'), '42704', NULL, 'unknown member');
SELECT throws_ok(format('SELECT territory.add_member(%s, %L, valid_from => %L, valid_to => %L)', :g, 'vis_err_a',
                        '2026-12-31', '2026-01-01'), '22023', NULL, 'membership ending before it starts');
SELECT throws_ok(format('SELECT territory.remove_member(%s, %L)', :g, 'vis_err_a'), '42704', NULL, 'not a member');
SELECT throws_ok(format('SELECT territory.set_access(%s, %L, %L)', :g, 'opportunity', 'read'), '22023', NULL,
                 'unknown kind of record');
SELECT throws_ok(format('SELECT territory.set_access(%s, %L, %L)', :g, 'deal', 'write'), '22023', NULL,
                 'unknown access level');
SELECT throws_ok($$SELECT territory.can_read(ARRAY[1, NULL]::int4[], NULL)$$, '42804', NULL,
                 'territories with a NULL');
SELECT throws_ok($$SELECT territory.enable_visibility('territory.models')$$, '55000', NULL,
                 'visibility on a table that is not managed');
SELECT results_eq($$SELECT * FROM territory.sales_users ORDER BY id$$, $$SELECT * FROM users_before ORDER BY id$$,
                  'no failed visibility call changed the sales users');

SELECT results_eq($$SELECT * FROM territory.territories ORDER BY id$$,
                  $$SELECT * FROM before ORDER BY id$$, 'no failed call changed anything');

SELECT * FROM finish();
ROLLBACK;

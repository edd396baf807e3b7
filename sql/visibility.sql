-- Visibility configuration: sales users, memberships, access levels, policies; exact errors.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT territory.add_territory('World', code => 'W') AS w \gset
SELECT territory.add_territory('EMEA', :w, 'EMEA') AS emea \gset

-- sales users
SELECT territory.add_user('emma', 'Emma') > 0 AS added;
SELECT territory.add_user('dave', 'Dave', login => 'dave_login', manager => 'emma') > 0 AS added;
SELECT territory.add_user('emma', 'Another Emma');
SELECT territory.add_user('x', 'X', login => 'dave_login');
SELECT territory.add_user('y', 'Y', manager => 'nobody');
SELECT territory.add_user(NULL, 'Z');
SELECT territory.add_user(' padded ', 'P');
-- the manager hierarchy stays a forest
UPDATE territory.sales_users SET manager_id = (SELECT id FROM territory.sales_users WHERE key = 'dave')
 WHERE key = 'emma';
UPDATE territory.sales_users SET manager_id = id WHERE key = 'emma';
SELECT key, name, login, (SELECT m.key FROM territory.sales_users m WHERE m.id = u.manager_id) AS manager, sees_all, active
  FROM territory.sales_users u ORDER BY id;

-- memberships
SELECT territory.add_member(:emea, 'emma', 'manager') > 0 AS added;
SELECT territory.add_member(:emea, 'dave', valid_from => '2026-01-01', valid_to => '2026-12-31') > 0 AS added;
SELECT territory.add_member(:emea, 'emma');
SELECT territory.add_member(:emea, 'nobody');
SELECT territory.add_member(999999, 'emma');
SELECT territory.add_member(:w, 'dave', valid_from => '2026-12-31', valid_to => '2026-01-01');
SELECT territory_id = :emea AS emea, (SELECT key FROM territory.sales_users u WHERE u.id = user_id) AS member, role,
       rotation, valid_from, valid_to
  FROM territory.members ORDER BY id;
SELECT territory.remove_member(:emea, 'dave');
SELECT territory.remove_member(:emea, 'dave');

-- access levels
SELECT territory.set_access(:emea, 'deal', 'none');
SELECT territory.set_access(:emea, 'deal', 'READ');
SELECT territory.set_access(:emea, 'opportunity', 'read');
SELECT territory.set_access(:emea, 'deal', 'write');
SELECT territory.set_access(999999, 'deal', 'read');
SELECT territory_id = :emea AS emea, kind, access FROM territory.territory_access;

-- helpers without an identity: nobody
SELECT territory.current_user_id(), territory.visible_territories(), territory.visible_owners(), territory.sees_all();
SELECT territory.visible_territories('opportunity');
SELECT territory.visible_territories('account', 'write');
SELECT territory.can_read(ARRAY[1, NULL]::int4[], NULL);
SELECT territory.in_visible(ARRAY[[1, 2], [3, 4]]::int4[], 'account');
SELECT territory.in_visible('{1}'::int4[], 'opportunity');
SET territory."user" = 'emma';
SELECT territory.current_user_id() > 0 AS known, territory.visible_territories() = ARRAY[:emea] AS emea_only,
       territory.visible_owners() AS owners;
RESET territory."user";

-- policies
CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
SELECT territory.enable_visibility('accounts');
SELECT territory.manage_table('accounts', 'account');
SELECT territory.enable_visibility('accounts');
SELECT polname, polcmd, pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS with_check
  FROM pg_policy WHERE polrelid = 'accounts'::regclass ORDER BY polname;
SELECT indexdef FROM pg_indexes WHERE tablename = 'accounts' ORDER BY indexname;
SELECT territory.disable_visibility('accounts');
SELECT relrowsecurity, relforcerowsecurity, (SELECT count(*) FROM pg_policy WHERE polrelid = 'accounts'::regclass) AS policies
  FROM pg_class WHERE oid = 'accounts'::regclass;

DROP TABLE accounts;
DROP EXTENSION territory;

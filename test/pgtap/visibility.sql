-- Visibility semantics of product.md, as real, different users: a rep, a regional manager, an
-- admin who sees everything, a user outside their membership period, an inactive user, nobody;
-- through the policies of accounts, contacts and deals, as an application role that sets
-- territory.user, and as a person logged in with their own role.  Then the security points:
-- impersonation without the SET privilege, table owners under the policies, search_path
-- hijacking, and functions that would leak hidden rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS territory CASCADE;
DROP TABLE IF EXISTS vis_accounts, vis_contacts, vis_deals;
SET tap.role_prefix = 'vis_';
\ir lib/drop_roles.psql
CREATE EXTENSION territory;
RESET client_min_messages;

CREATE ROLE vis_owner NOLOGIN;          -- owns the tables (the DBA's application schema owner)
CREATE ROLE vis_app NOLOGIN;            -- the pooled application: sets territory.user
CREATE ROLE vis_carol NOLOGIN;          -- a person with her own login
CREATE ROLE vis_nobody NOLOGIN;         -- a role mapped to no sales user
GRANT SET ON PARAMETER "territory.user" TO vis_app;
GRANT CREATE ON SCHEMA public TO vis_owner;

SET ROLE vis_owner;
CREATE TABLE vis_accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE vis_contacts (id int PRIMARY KEY, account_id int, owner_id text);
CREATE TABLE vis_deals (id int PRIMARY KEY, account_id int, owner_id text, amount numeric, close_date date,
                        stage text, created_at timestamptz);
GRANT SELECT, INSERT, UPDATE, DELETE ON vis_accounts, vis_contacts, vis_deals TO vis_app, vis_carol, vis_nobody;
RESET ROLE;

-- World / EMEA / {DE, FR}; Americas / US
SELECT territory.add_territory('World', code => 'W') AS w \gset
SELECT territory.add_territory('EMEA', :w, 'EMEA') AS emea \gset
SELECT territory.add_territory('Germany', :emea, 'DE') AS de \gset
SELECT territory.add_territory('France', :emea, 'FR') AS fr \gset
SELECT territory.add_territory('Americas', :w, 'AM') AS am \gset
SELECT territory.add_territory('United States', :am, 'US') AS us \gset
SELECT territory.manage_table('vis_accounts', 'account');
SELECT territory.manage_table('vis_contacts', 'contact');
SELECT territory.manage_table('vis_deals', 'deal');
SELECT territory.add_rule(:de, $$country = 'DE'$$), territory.add_rule(:fr, $$country = 'FR'$$),
       territory.add_rule(:us, $$country = 'US'$$);
SELECT territory.add_user('boss', 'The Boss', sees_all => true);
SELECT territory.add_user('emma', 'Emma (EMEA manager)');
SELECT territory.add_user('dave', 'Dave (DE rep)', manager => 'emma');
SELECT territory.add_user('fred', 'Fred (FR rep)', manager => 'emma');
SELECT territory.add_user('sam', 'Sam (US rep)');
SELECT territory.add_user('carol', 'Carol (logs in)', login => 'vis_carol');
SELECT territory.add_user('old', 'Old (membership ended)');
SELECT territory.add_user('gone', 'Gone (inactive)');
SELECT territory.add_member(:emea, 'emma', 'manager');
SELECT territory.add_member(:de, 'dave');
SELECT territory.add_member(:fr, 'fred');
SELECT territory.add_member(:us, 'sam');
SELECT territory.add_member(:fr, 'carol');
SELECT territory.add_member(:de, 'old', valid_to => current_date - 1);
SELECT territory.add_member(:us, 'gone');
UPDATE territory.sales_users SET active = false WHERE key = 'gone';
-- France: members read its accounts, do not see its deals
SELECT territory.set_access(:fr, 'account', 'read');
SELECT territory.set_access(:fr, 'deal', 'none');

INSERT INTO vis_accounts VALUES
    (1, 'DE', 'dave'), (2, 'DE', 'x'), (3, 'FR', 'x'), (4, 'US', 'sam'), (5, 'JP', 'fred'), (6, 'JP', NULL);
INSERT INTO vis_contacts VALUES (10, 1, NULL), (11, 3, NULL), (12, 4, NULL), (13, 6, 'dave');
INSERT INTO vis_deals VALUES (100, 1, 'x', 1, NULL, 'open', now()), (101, 3, 'x', 1, NULL, 'open', now()),
                             (102, 4, 'x', 1, NULL, 'open', now()), (103, NULL, NULL, 1, NULL, 'open', now());
SELECT territory.enable_visibility('vis_accounts');
SELECT territory.enable_visibility('vis_accounts');   -- idempotent
SELECT territory.enable_visibility('vis_contacts');
SELECT territory.enable_visibility('vis_deals');

SELECT plan(34);

SELECT policies_are('public', 'vis_accounts',
                    ARRAY['territory_select', 'territory_insert', 'territory_update', 'territory_delete'],
                    'enable_visibility creates the four policies (once, however often it runs)');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'vis_accounts'::regclass),
          'row-level security is enabled and forced');

-- who sees what, as the pooled application
CREATE FUNCTION pg_temp.seen(who text, q text) RETURNS int[]
    LANGUAGE plpgsql AS $$
DECLARE
    r int[];
BEGIN
    PERFORM set_config('territory.user', who, true);
    EXECUTE format('WITH s AS (%s) SELECT coalesce(array_agg(id ORDER BY id), ''{}'') FROM s', q) INTO r;
    RETURN r;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.seen(text, text) TO vis_app;

SET ROLE vis_app;
SELECT is(pg_temp.seen('dave', 'SELECT id FROM vis_accounts'), '{1,2}',
          'a rep sees the accounts of his territory and those he owns');
SELECT is(pg_temp.seen('sam', 'SELECT id FROM vis_accounts'), '{4}', 'another rep, another territory');
SELECT is(pg_temp.seen('fred', 'SELECT id FROM vis_accounts'), '{3,5}',
          'a member of a read-only territory reads its accounts; owners see what they own anywhere');
SELECT is(pg_temp.seen('emma', 'SELECT id FROM vis_accounts'), '{1,2,3,5}',
          'a manager sees the territories below hers and what the people below her own');
SELECT is(pg_temp.seen('boss', 'SELECT id FROM vis_accounts'), '{1,2,3,4,5,6}',
          'a user marked sees_all sees everything, records without territory or owner too');
SELECT is(pg_temp.seen('old', 'SELECT id FROM vis_accounts'), '{}', 'a membership outside its validity grants nothing');
SELECT is(pg_temp.seen('gone', 'SELECT id FROM vis_accounts'), '{}', 'an inactive user sees nothing');
SELECT is(pg_temp.seen('nobody-such', 'SELECT id FROM vis_accounts'), '{}', 'an unknown user sees nothing');
SELECT is(pg_temp.seen('', 'SELECT id FROM vis_accounts'), '{}', 'no identity sees nothing (fails closed)');
-- contacts and deals follow their own territories and owners
SELECT is(pg_temp.seen('dave', 'SELECT id FROM vis_contacts'), '{10,13}',
          'contacts: those of the rep''s territory, and those he owns');
SELECT is(pg_temp.seen('fred', 'SELECT id FROM vis_deals'), '{}',
          'deals: a territory whose deal access is none shows none');
SELECT is(pg_temp.seen('emma', 'SELECT id FROM vis_deals'), '{100,101}',
          'deals: a manager role edits (and reads) everything below, whatever the access levels');
SELECT is(pg_temp.seen('boss', 'SELECT id FROM vis_deals'), '{100,101,102,103}',
          'deals: sees_all sees deals without territory');

-- editing: read-only territories cannot be edited, owners can edit theirs
SELECT is(pg_temp.seen('fred', 'UPDATE vis_accounts SET country = country RETURNING id'), '{5}',
          'UPDATE: a read-only territory''s accounts are not updated; owned ones are');
SELECT is(pg_temp.seen('emma', 'UPDATE vis_accounts SET country = country WHERE id = 3 RETURNING id'), '{3}',
          'UPDATE: a manager edits below her, read-only or not');
SELECT is(pg_temp.seen('dave', 'DELETE FROM vis_accounts WHERE id IN (3, 4) RETURNING id'), '{}',
          'DELETE: records one cannot see are not deleted');
SELECT throws_ok($$SELECT pg_temp.seen('dave', 'INSERT INTO vis_accounts VALUES (7, ''US'', ''sam'') RETURNING id')$$,
                 '42501', NULL, 'INSERT: a record that would land outside what one may edit is refused');
SELECT is(pg_temp.seen('dave', 'INSERT INTO vis_accounts VALUES (8, ''DE'', NULL) RETURNING id'), '{8}',
          'INSERT: into one''s own territory');
RESET ROLE;

-- one login per person
SELECT id AS carol_id FROM territory.sales_users WHERE key = 'carol' \gset
SET ROLE vis_carol;
SELECT is((SELECT array_agg(id ORDER BY id) FROM vis_accounts), '{3}', 'a person logged in as herself sees her territory');
SELECT is(territory.current_user_id(), :carol_id,
          'current_user_id() follows the login');
SELECT throws_ok($$SET territory."user" = 'boss'$$, '42501', NULL,
                 'a role without SET on territory.user cannot impersonate');
RESET ROLE;
SET ROLE vis_nobody;
SELECT is((SELECT count(*)::int FROM vis_accounts), 0, 'a role mapped to no sales user sees nothing');
SELECT is(territory.visible_territories(), '{}'::int4[], 'and has no visible territory');
RESET ROLE;

-- the table owner is under the policies too (FORCE ROW LEVEL SECURITY)
SET ROLE vis_owner;
SELECT is((SELECT count(*)::int FROM vis_accounts), 0, 'the table owner without identity sees nothing');
RESET ROLE;

-- the helpers
SET ROLE vis_app;
SET territory."user" = 'emma';
SELECT set_eq($$SELECT unnest(territory.visible_territories())$$, ARRAY[:emea, :de, :fr],
              'visible_territories: the manager''s subtree');
SELECT set_eq($$SELECT unnest(territory.visible_owners())$$, ARRAY['emma', 'dave', 'fred'],
              'visible_owners: herself and the people below her');
SELECT ok(territory.can_read(ARRAY[:fr], NULL) AND territory.can_edit(ARRAY[:fr], NULL)
          AND NOT territory.can_read(ARRAY[:us], 'sam') AND territory.can_read(ARRAY[:us], 'dave'),
          'can_read / can_edit answer for a record''s territories and owner');
SET territory."user" = 'fred';
SELECT ok(territory.can_read(ARRAY[:fr], NULL) AND NOT territory.can_edit(ARRAY[:fr], NULL),
          'read access is not edit access');
-- a change committed elsewhere is seen by the next statement
RESET ROLE;
SELECT territory.add_member(:us, 'fred');
SET ROLE vis_app;
SELECT ok(territory.can_read(ARRAY[:us], NULL), 'a new membership is seen at once');
RESET territory."user";
RESET ROLE;

-- security: hostile search_path against the functions the policies call
CREATE SCHEMA vis_evil;
CREATE FUNCTION vis_evil.btrim(text) RETURNS text LANGUAGE sql AS $$SELECT 'hijacked'$$;
CREATE FUNCTION vis_evil.always(int4[], int4[]) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR vis_evil.= (FUNCTION = vis_evil.always, LEFTARG = int4[], RIGHTARG = int4[]);
CREATE FUNCTION vis_evil.overlaps(int4[], int4[]) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR vis_evil.&& (FUNCTION = vis_evil.overlaps, LEFTARG = int4[], RIGHTARG = int4[]);
GRANT USAGE ON SCHEMA vis_evil TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA vis_evil TO PUBLIC;
SET ROLE vis_app;
SET search_path = vis_evil, public;
SELECT is(pg_temp.seen('dave', 'SELECT id FROM vis_accounts'), '{1,2,8}',
          'a hostile search_path changes nothing the policies see');
RESET search_path;
RESET ROLE;
SELECT ok(NOT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = 'territory' AND p.prosecdef
                         AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
          'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
-- nothing leaks through the extension's functions: explain and compute_territories are not public
SELECT ok(NOT has_function_privilege('vis_app', 'territory.explain(regclass, text)', 'EXECUTE')
          AND NOT has_function_privilege('vis_app', 'territory.territories_at(regclass, text, timestamptz)', 'EXECUTE')
          AND NOT has_table_privilege('vis_app', 'territory.sales_users', 'SELECT')
          AND NOT has_table_privilege('vis_app', 'territory.members', 'SELECT'),
          'functions and tables that name records or people are not public');
DROP SCHEMA vis_evil CASCADE;

SELECT * FROM finish();

SET client_min_messages = warning;
DROP TABLE vis_accounts, vis_contacts, vis_deals;
DROP EXTENSION territory CASCADE;
SET tap.role_prefix = 'vis_';
\ir lib/drop_roles.psql

-- Assignment semantics of product.md, point by point, with the roles a deployment has: an
-- administrator granted the documented admin privileges configures territories and rules, an
-- application role with nothing but its own tables' privileges writes the records.  Not one
-- transaction: run_rules commits, so this file cleans up after itself.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS territory CASCADE;
DROP TABLE IF EXISTS sem_accounts, sem_contacts, sem_deals;
SET tap.role_prefix = 'sem_';
\ir lib/drop_roles.psql
CREATE EXTENSION territory;
RESET client_min_messages;

CREATE ROLE sem_admin NOLOGIN;
CREATE ROLE sem_app NOLOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA territory TO sem_admin;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA territory TO sem_admin;
GRANT INSERT, UPDATE, DELETE ON territory.models, territory.territory_types, territory.territories,
    territory.managed_tables, territory.rules, territory.manual_assignments, territory.rule_runs,
    territory.rule_run_pending, territory.sales_users, territory.members, territory.territory_access TO sem_admin;
GRANT SELECT ON territory.manual_assignments, territory.assignment_history, territory.assignment_log,
    territory.sales_users, territory.members, territory.territory_access TO sem_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA territory TO sem_admin;

CREATE TABLE sem_accounts (id int PRIMARY KEY, country text, state text, industry text, revenue numeric,
                           owner_id text);
CREATE TABLE sem_contacts (id int PRIMARY KEY, account_id int, owner_id text);
CREATE TABLE sem_deals (id int PRIMARY KEY, account_id int, segment text, owner_id text, amount numeric,
                        close_date date, stage text, created_at timestamptz);
ALTER TABLE sem_accounts OWNER TO sem_admin;
ALTER TABLE sem_contacts OWNER TO sem_admin;
ALTER TABLE sem_deals OWNER TO sem_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON sem_accounts, sem_contacts, sem_deals TO sem_app;
-- manage_table() adds an index: the table's owner needs CREATE on its schema
GRANT CREATE ON SCHEMA public TO sem_admin;

SELECT plan(29);

-- the administrator configures
SET ROLE sem_admin;
SELECT territory.manage_table('sem_accounts', 'account');
SELECT territory.manage_table('sem_contacts', 'contact');
SELECT territory.manage_table('sem_deals', 'deal');
SELECT territory.add_type('Named', 1) AS named, territory.add_type('Region', 2) AS region \gset
SELECT territory.add_territory('World', code => 'W', type => :region) AS w \gset
SELECT territory.add_territory('North America', :w, 'NA', :region) AS na \gset
SELECT territory.add_territory('West', :na, 'NA-W', :region) AS west \gset
SELECT territory.add_territory('Retail', code => 'RT', type => :region) AS retail \gset
SELECT territory.add_territory('Big retail', :retail, 'RT-BIG', :region) AS bigretail \gset
SELECT territory.add_territory('Key accounts', code => 'KEY', type => :named) AS key \gset
SELECT territory.add_territory('Deal desk', code => 'DD', type => :named) AS desk \gset
SELECT territory.add_rule(:na, $$country IN ('US', 'CA')$$, apply_to_children => true) AS r_na \gset
SELECT territory.add_rule(:west, $$state IN ('CA', 'WA')$$) AS r_west1 \gset
SELECT territory.add_rule(:west, $$state = 'OR'$$) AS r_west2 \gset
SELECT territory.add_rule(:retail, $$industry = 'Retail'$$, apply_to_children => true) AS r_retail \gset
SELECT territory.add_rule(:bigretail, $$revenue >= 1000000$$) AS r_big \gset
SELECT territory.add_rule(:desk, $$segment = 'enterprise'$$, tbl => 'sem_deals') AS r_desk \gset
RESET ROLE;

-- the application writes
SET ROLE sem_app;
INSERT INTO sem_accounts VALUES
    (1, 'US', 'CA', 'Retail', 5e6, 'ann'),   -- West (deepest of NA) and Big retail (deepest of Retail)
    (2, 'US', 'OR', 'Tech', 1e5, 'bob'),     -- West by its second rule
    (3, 'MX', 'CA', 'Retail', 10, 'ann'),    -- state CA but not NA: the inherited rule fails
    (4, 'CA', NULL, NULL, NULL, 'bob');      -- North America only
RESET ROLE;

-- 1. any of a territory's rules, AND every apply_to_children rule of its ancestors
SELECT is((SELECT territories FROM sem_accounts WHERE id = 2), ARRAY[:west],
          '1. a record matching any of a territory''s rules is in it (second rule of West)');
SELECT ok(NOT (SELECT territories FROM sem_accounts WHERE id = 3) && ARRAY[:west, :na],
          '1. a rule of West holds but the inherited rule of North America does not: not in West');
-- 2. deepest per branch, every branch
SELECT is((SELECT territories FROM sem_accounts WHERE id = 1), ARRAY[:west, :bigretail],
          '2. the deepest match of each branch, on two branches');
SELECT is((SELECT territories FROM sem_accounts WHERE id = 4), ARRAY[:na],
          '2. a record matching only the parent stays in the parent');

-- 3. manual assignments on top, exclusions removed, both survive re-runs
SET ROLE sem_admin;
SELECT territory.assign('sem_accounts', '2', :key);
SELECT territory.exclude('sem_accounts', '1', :bigretail);
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 2), ARRAY[:west, :key],
          '3. a manual assignment is added to the rule territories');
SELECT is((SELECT territories FROM sem_accounts WHERE id = 1), ARRAY[:west],
          '3. a manual exclusion removes a rule territory');
SET ROLE sem_admin;
CALL territory.run_rules('sem_accounts');
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 2), ARRAY[:west, :key],
          '3. the manual assignment survives run_rules');
SELECT is((SELECT territories FROM sem_accounts WHERE id = 1), ARRAY[:west],
          '3. the exclusion survives run_rules');
SET ROLE sem_app;
UPDATE sem_accounts SET state = 'WA' WHERE id = 1;
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 1), ARRAY[:west],
          '3. and the assignment trigger');

-- 4. contacts carry exactly their account's territories; a deal carries one
SET ROLE sem_app;
INSERT INTO sem_contacts VALUES (10, 1, 'ann'), (11, 2, 'bob'), (12, NULL, 'bob');
INSERT INTO sem_deals VALUES
    (100, 2, NULL, 'bob', 10, NULL, 'open', now()),          -- West (Region) vs Key accounts (Named): Named wins
    (101, 4, NULL, 'bob', 10, NULL, 'open', now()),          -- one candidate
    (102, NULL, 'enterprise', 'ann', 10, NULL, 'open', now()),  -- no account: deal rules
    (103, NULL, 'smb', 'ann', 10, NULL, 'open', now());      -- no account, no deal rule
RESET ROLE;
SELECT is((SELECT territories FROM sem_contacts WHERE id = 10), (SELECT territories FROM sem_accounts WHERE id = 1),
          '4. a contact carries its account''s territories');
SELECT is((SELECT territories FROM sem_contacts WHERE id = 12), '{}'::int4[], '4. a contact without account has none');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 100), :key,
          '4. a deal takes the account territory of the best type priority');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 101), :na, '4. a deal with one candidate takes it');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 102), :desk, '4. a deal without account uses deal-level rules');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 103), NULL::int4, '4. else none');
-- tie on type priority: the deepest, then the lowest id
SET ROLE sem_admin;
SELECT territory.unassign('sem_accounts', '1', :bigretail);
RESET ROLE;
SET ROLE sem_app;
INSERT INTO sem_deals VALUES (104, 1, NULL, 'ann', 10, NULL, 'open', now());
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 1), ARRAY[:west, :bigretail],
          '4. (the account is in West and Big retail, both of type Region)');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 104), :west,
          '4. a tie on type priority goes to the deepest territory');
-- the account moves: its contacts and deals follow in the same statement
SET ROLE sem_app;
UPDATE sem_accounts SET country = 'DE', state = NULL, industry = NULL WHERE id = 2;
RESET ROLE;
SELECT is((SELECT territories FROM sem_contacts WHERE id = 11), ARRAY[:key], '4. contacts follow their account at once');
SELECT is((SELECT territory_id FROM sem_deals WHERE id = 100), :key, '4. so do deals');

-- 5. every assignment knows its cause, and is in the history
SELECT bag_eq($$SELECT territory_id, cause, rule_id FROM territory.assignment_history
                WHERE tbl = 'sem_accounts'::regclass AND key = '1' AND action = 'added'$$,
              format($$VALUES (%s, 'rule', %s), (%s, 'rule', %s), (%s, 'rule', %s)$$,
                     :west, :r_west1, :bigretail, :r_big, :bigretail, :r_big),
              '5. rule assignments name their rule (Big retail twice: before the exclusion and after the unassign)');
SELECT set_eq($$SELECT territory_id, action, cause FROM territory.assignment_history
                WHERE tbl = 'sem_accounts'::regclass AND key IN ('1', '2') AND cause = 'manual'$$,
              format($$VALUES (%s, 'added', 'manual'), (%s, 'removed', 'manual')$$, :key, :bigretail),
              '5. manual assignments and exclusions are recorded as manual');
SELECT set_eq($$SELECT tbl::text, key, territory_id, cause FROM territory.assignment_history
                WHERE tbl IN ('sem_contacts'::regclass, 'sem_deals'::regclass) AND action = 'added'$$,
              format($$VALUES ('sem_contacts', '10', %1$s, 'inherited'), ('sem_contacts', '10', %2$s, 'inherited'),
                              ('sem_contacts', '11', %1$s, 'inherited'), ('sem_contacts', '11', %3$s, 'inherited'),
                              ('sem_deals', '100', %3$s, 'inherited'), ('sem_deals', '101', %4$s, 'inherited'),
                              ('sem_deals', '102', %5$s, 'rule'), ('sem_deals', '104', %1$s, 'inherited')$$,
                     :west, :bigretail, :key, :na, :desk),
              '5. contacts and deals record inherited territories (deal rules: rule)');
SELECT is(territory.territories_at('sem_accounts', '2', now() - interval '1 minute'), '{}'::int4[],
          '5. territories_at before the record existed: none');
SELECT is(territory.territories_at('sem_accounts', '2', now()), ARRAY[:key], '5. territories_at now');

-- 6. a rule change does not rewrite records until run_rules; new and changed ones at once;
-- explain says why a record is where it is
SET ROLE sem_app;
INSERT INTO sem_accounts VALUES (6, 'US', 'NV', NULL, NULL, 'ann'), (7, 'US', 'NV', NULL, NULL, 'ann');
RESET ROLE;
SET ROLE sem_admin;
SELECT territory.add_rule(:west, $$state = 'NV'$$) AS r_west3 \gset
RESET ROLE;
SET ROLE sem_app;
INSERT INTO sem_accounts VALUES (5, 'US', 'NV', NULL, NULL, 'ann');
UPDATE sem_accounts SET owner_id = 'bob' WHERE id = 7;
UPDATE sem_accounts SET state = state WHERE id = 4;
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 6), ARRAY[:na],
          '6. a rule change leaves existing records as they are');
SELECT is((SELECT territories FROM sem_accounts WHERE id = 7), ARRAY[:na],
          '6. an update of a column no rule reads does not reassign either');
SELECT is((SELECT territories FROM sem_accounts WHERE id = 5), ARRAY[:west],
          '6. a new record gets the new rule at once');
SET ROLE sem_admin;
CALL territory.run_rules('sem_accounts');
RESET ROLE;
SELECT is((SELECT territories FROM sem_accounts WHERE id = 6), ARRAY[:west], '6. run_rules applies it');
SELECT results_eq(format($$SELECT matched_rules, failed_inherited, matches, assigned
                             FROM territory.explain('sem_accounts', '3') WHERE territory_id = %s$$, :west),
                  format($$VALUES (ARRAY[%s]::int4[], ARRAY[%s]::int4[], false, false)$$, :r_west1, :r_na),
                  '6. explain: West''s rule matches, North America''s inherited rule fails, not assigned');

SELECT * FROM finish();

SET client_min_messages = warning;
DROP EXTENSION territory CASCADE;
DROP TABLE sem_accounts, sem_contacts, sem_deals;
\ir lib/drop_roles.psql

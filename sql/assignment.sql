-- Assignment: managed tables, rules and their validation, the triggers on INSERT, UPDATE and
-- COPY, the semantics of product.md (any rule, inherited rules AND-ed, deepest per branch,
-- manual assignments and exclusions, history), and any key type.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE accounts (
    id bigint PRIMARY KEY, name text, country text, postal text, industry text,
    revenue numeric, owner_id text);
INSERT INTO accounts VALUES (1, 'Before', 'DE', '10115', 'Retail', 5e6, 'ann');

SELECT territory.add_type('Named', 1) AS named \gset
SELECT territory.add_type('Region', 2) AS region \gset
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, 'EMEA', :region) AS emea \gset
SELECT territory.add_territory('Germany', :emea, 'DE', :region) AS de \gset
SELECT territory.add_territory('Berlin', :de, 'BER', :region) AS ber \gset
SELECT territory.add_territory('France', :emea, 'FR', :region) AS fr \gset
SELECT territory.add_territory('Retail', :g, 'RETAIL', :named) AS retail \gset
SELECT territory.add_territory('Big Retail', :retail, 'BIGRETAIL', :named) AS bigretail \gset

-- managing: errors name the column; nothing changes
SELECT territory.manage_table('accounts', 'account', key => 'account_id');
SELECT territory.manage_table('accounts', 'account', owner => 'owner');
SELECT territory.manage_table('accounts', 'prospect');
SELECT territory.manage_table('accounts', 'contact');
SELECT territory.manage_table('territory.models', 'account', owner => NULL);
CREATE VIEW account_view AS SELECT * FROM accounts;
SELECT territory.manage_table('account_view', 'account');
SELECT territory.manage_table('accounts', 'account', phone => 'revenue');
SELECT count(*) AS managed FROM territory.managed_tables;
-- the existing row is assigned (no rules yet: no territory)
SELECT territory.manage_table('accounts', 'account');
SELECT tbl, kind, key_column, owner_column, territory_column FROM territory.managed_tables;
SELECT territory.manage_table('accounts', 'account');
\d accounts

-- rules are validated like index predicates; refused rules leave nothing behind
SELECT territory.add_rule(:emea, $$country IN ('DE', 'FR', 'GB')$$, 'EMEA countries');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:ber, $$country = 'DE' AND postal LIKE '10%'$$, apply_to_children => false);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:retail, $$industry = 'Retail'$$, 'Retail', apply_to_children => true);
SELECT territory.add_rule(:bigretail, $$revenue >= 1e6$$, 'Big');
SELECT territory.add_rule(:ber, $$random() > 0.5$$);
SELECT territory.add_rule(:ber, $$now() > '2020-01-01'$$);
SELECT territory.add_rule(:ber, $$country = (SELECT 'DE')$$);
SELECT territory.add_rule(:ber, $$EXISTS (SELECT 1)$$);
SELECT territory.add_rule(:ber, $$count(*) > 1$$);
SELECT territory.add_rule(:ber, $$row_number() OVER () = 1$$);
SELECT territory.add_rule(:ber, $$generate_series(1, 2) = 1$$);
SELECT territory.add_rule(:ber, $$accounts IS NULL$$);
SELECT territory.add_rule(:ber, $$ctid = '(0,1)'$$);
SELECT territory.add_rule(:ber, $$territories = '{}'$$);
SELECT territory.add_rule(:ber, $$region = 'x'$$);
SELECT territory.add_rule(:ber, $$revenue + 1$$);
SELECT territory.add_rule(:ber, $$country = 'DE'; DROP TABLE accounts$$);
SELECT territory.add_rule(:ber, $$true) UNION SELECT 1 WHERE (true$$);
SELECT territory.add_rule(:ber, $$  $$);
SELECT territory.add_rule(:ber, $$country = 'DE'$$, tbl => 'territory.models');
SELECT territory.add_rule(999, $$country = 'DE'$$);
SELECT id, territory_id, name, criteria, apply_to_children, active,
       territory._rule_columns(tbl, expr) AS reads
  FROM territory.rules ORDER BY id;

-- 6. rules do not rewrite existing records until they are re-run
SELECT id, territories FROM accounts;

-- new records are assigned as they are written: multi-row INSERT and COPY
INSERT INTO accounts VALUES
    (2, 'Berlin retail, big', 'DE', '10117', 'Retail', 2e6, 'ann'),
    (3, 'Munich retail, small', 'DE', '80331', 'Retail', 5e5, 'bob'),
    (4, 'Paris tech', 'FR', '75001', 'Tech', 9e6, 'bob'),
    (5, 'New York', 'US', '10001', NULL, NULL, 'cat'),
    (6, 'US retail, big', 'US', '94105', 'Retail', 3e6, 'cat');
COPY accounts (id, name, country, postal, industry, revenue, owner_id) FROM stdin;
7	Copied Berlin	DE	10999	Tech	1	dan
8	Copied nowhere	JP	100-0001	\N	\N	dan
\.
-- 1. any own rule; inherited (apply_to_children) rules AND-ed: Big Retail needs Retail too
-- 2. deepest per branch (Berlin, not Germany or EMEA); other branches kept (Retail)
SELECT a.id, a.name, a.territories,
       (SELECT string_agg(t.code, ', ' ORDER BY t.code) FROM unnest(a.territories) x JOIN territory.territories t ON t.id = x) AS codes
  FROM accounts a ORDER BY a.id;

-- UPDATE: a column no rule reads keeps the row as it is; a column a rule reads reassigns
UPDATE accounts SET name = 'Renamed' WHERE id = 2;
UPDATE accounts SET country = 'FR', postal = '69001' WHERE id = 3;
UPDATE accounts SET revenue = 5e6 WHERE id = 6;
-- writing the territories column by hand does not stick: it is recomputed
UPDATE accounts SET territories = '{999}' WHERE id = 4;
SELECT id, territories FROM accounts WHERE id IN (2, 3, 4, 6) ORDER BY id;

-- 3. manual assignments and exclusions, on top of the rules, surviving every change
SELECT territory.assign('accounts', '5', :fr);
SELECT territory.exclude('accounts', '2', :bigretail);
SELECT id, territories FROM accounts WHERE id IN (2, 5) ORDER BY id;
UPDATE accounts SET revenue = revenue + 1, country = country WHERE id IN (2, 5);
SET territory.force_assign = on;
UPDATE accounts SET id = id;
RESET territory.force_assign;
SELECT id, territories FROM accounts WHERE id IN (2, 5) ORDER BY id;
SELECT tbl, key, territory_id, action FROM territory.manual_assignments ORDER BY key;
-- an exclusion replaces an assignment of the same territory and the other way round
SELECT territory.exclude('accounts', '5', :fr);
SELECT territories FROM accounts WHERE id = 5;
SELECT territory.unassign('accounts', '5', :fr);
SELECT territory.unassign('accounts', '2', :bigretail);
SELECT id, territories FROM accounts WHERE id IN (2, 5) ORDER BY id;
-- errors
SELECT territory.assign('accounts', '999', :fr);
SELECT territory.assign('accounts', '5', 999);
SELECT territory.assign('accounts', NULL, :fr);
SELECT territory.assign('account_view', '5', :fr);
SELECT territory.unassign('accounts', '5', :fr);
SELECT territory.assign('accounts', 'not a number', :fr);

-- policies: all, then priority (Named beats Region)
UPDATE territory.models SET assignment_policy = 'all' WHERE id = 1;
SET territory.force_assign = on;
UPDATE accounts SET id = id WHERE id IN (2, 7);
SELECT id, territories FROM accounts WHERE id IN (2, 7) ORDER BY id;
UPDATE territory.models SET assignment_policy = 'priority' WHERE id = 1;
UPDATE accounts SET id = id WHERE id IN (2, 7);
SELECT id, territories FROM accounts WHERE id IN (2, 7) ORDER BY id;
UPDATE territory.models SET assignment_policy = 'deepest' WHERE id = 1;
UPDATE accounts SET id = id WHERE id IN (2, 7);
RESET territory.force_assign;

-- switching a rule off and removing one
SELECT territory.set_rule_active(3, false);
UPDATE accounts SET postal = postal || '' WHERE id = 7;
SELECT territories FROM accounts WHERE id = 7;
SELECT territory.remove_rule(3);
SELECT territory.remove_rule(3);
SELECT territory.set_rule_active(3, true);

-- 5. the history: every change, with its cause; territories at a point in time
SELECT key, territory_id, action, cause, rule_id
  FROM territory.assignment_history WHERE key IN ('2', '3', '5') ORDER BY id;
SELECT territory.territories_at('accounts', '3', now()) AS now,
       territory.territories_at('accounts', '3', now() - interval '1 day') AS yesterday;
-- a deleted record's territories end
DELETE FROM accounts WHERE id = 8 OR id = 4;
SELECT key, territory_id, action, cause FROM territory.assignment_history WHERE key IN ('4', '8') ORDER BY id;
-- a failed statement leaves no history behind, nor does a rolled-back savepoint
BEGIN;
INSERT INTO accounts VALUES (20, 'Failing', 'DE', '10115', NULL, NULL, 'x'), (1, 'Duplicate', 'DE', NULL, NULL, NULL, 'x');
ROLLBACK;
BEGIN;
SAVEPOINT s;
INSERT INTO accounts VALUES (21, 'Undone', 'DE', '10115', NULL, NULL, 'x');
ROLLBACK TO SAVEPOINT s;
INSERT INTO accounts VALUES (22, 'Kept', 'FR', '75002', NULL, NULL, 'x');
COMMIT;
SELECT key, territory_id, action FROM territory.assignment_history WHERE key IN ('20', '21', '22') ORDER BY id;
-- INSERT ... ON CONFLICT: a skipped row leaves no history; DO UPDATE is recorded as the update
-- it is; a change made before a savepoint survives a rollback to it
BEGIN;
INSERT INTO accounts VALUES (23, 'Upsert', 'DE', '10115', NULL, NULL, 'x') ON CONFLICT DO NOTHING;
INSERT INTO accounts VALUES (23, 'Skipped', 'FR', '75002', NULL, NULL, 'x') ON CONFLICT DO NOTHING;
INSERT INTO accounts VALUES (23, 'Moved', 'FR', '75002', NULL, NULL, 'x'), (24, 'New', 'FR', '75002', NULL, NULL, 'x')
    ON CONFLICT (id) DO UPDATE SET country = excluded.country, postal = excluded.postal;
WITH ins AS (INSERT INTO accounts VALUES (24, 'Skipped', 'DE', NULL, NULL, NULL, 'x'), (25, 'Via CTE', 'DE', NULL, NULL, NULL, 'x')
             ON CONFLICT DO NOTHING RETURNING id)
SELECT id FROM ins;
SAVEPOINT s;
UPDATE accounts SET country = 'DE', postal = '10115' WHERE id = 24;
ROLLBACK TO SAVEPOINT s;
-- this transaction's changes are in the history once each top-level statement ends
SELECT key, territory_id, action, cause FROM territory.assignment_history WHERE key IN ('23', '24', '25') ORDER BY id, territory_id;
SELECT territory.territories_at('accounts', '23', now()) AS upsert, (SELECT territories FROM accounts WHERE id = 23) AS now;
COMMIT;
-- a function's changes are written when the statement that called it ends; territories_at sees
-- them at once
CREATE FUNCTION move_and_look(k int) RETURNS int4[] LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET country = 'DE', postal = '10115' WHERE id = k;
    RETURN territory.territories_at('accounts', k::text, now());
END
$$;
SELECT move_and_look(24) AS seen_inside;
SELECT territories FROM accounts WHERE id = 24;
SELECT key, territory_id, action, cause FROM territory.assignment_history WHERE key = '24' ORDER BY id, territory_id;
DROP FUNCTION move_and_look(int);

-- explain: which rules match, what is kept, and why
SELECT territory.exclude('accounts', '6', :bigretail);
SELECT * FROM territory.explain('accounts', '2');
SELECT path, matched_rules, failed_inherited, matches, assigned, reason FROM territory.explain('accounts', '6');
SELECT path, matches, assigned, reason FROM territory.explain('accounts', '5');
SELECT * FROM territory.explain('accounts', '999');
SELECT * FROM territory.explain('accounts', NULL);

-- any key type: uuid and text
CREATE TABLE leads (lead_key uuid PRIMARY KEY, country text, owner_id text);
SELECT territory.manage_table('leads', 'lead', key => 'lead_key');
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads');
INSERT INTO leads VALUES ('6f1c0a52-5b7e-4c1e-9d1a-2c4b8e7f0a11', 'FR', NULL);
SELECT territory.assign('leads', '6f1c0a52-5b7e-4c1e-9d1a-2c4b8e7f0a11', :ber);
SELECT lead_key, territories FROM leads;
-- explain() of another table's record in the same session (the row's type differs)
SELECT path, matched_rules, matches, assigned, reason FROM territory.explain('leads', '6f1c0a52-5b7e-4c1e-9d1a-2c4b8e7f0a11');
SELECT path, matches, assigned, reason FROM territory.explain('accounts', '5');
CREATE TABLE partners (code text PRIMARY KEY, country text);
SELECT territory.manage_table('partners', 'account', key => 'code', owner => NULL);
SELECT territory.add_rule(:de, $$country = 'DE'$$, tbl => 'partners');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
INSERT INTO partners VALUES ('P-1', 'DE');
SELECT * FROM partners;

-- unmanaging removes what managing added, and the table's rules and manual assignments
SELECT territory.unmanage_table('leads');
\d leads
SELECT count(*) AS lead_rules FROM territory.rules WHERE criteria = $$country = 'FR'$$ AND territory_id = :fr AND tbl::text = 'leads';
SELECT territory.unmanage_table('leads');
INSERT INTO leads VALUES ('00000000-0000-0000-0000-000000000001', 'FR', NULL);

DROP EXTENSION territory CASCADE;
DROP VIEW account_view;
DROP TABLE accounts, leads, partners;

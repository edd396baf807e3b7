-- A small but complete territory setup shared by the server tests (standby.pl, dump_restore.pl):
-- models (the active one, a clone that was archived, a planning clone), types, a hierarchy,
-- rules on all four kinds of managed tables, manual assignments, sales users and members with
-- access levels, edited, renamed, deleted and added stages, targets of every period kind, adjustments and a
-- snapshot, phone numbers, owner assignment (round robin and load balancing), visibility.
-- It runs in a fresh database as a superuser; with the psql variable no_archive set, the clone
-- 'FY2026 plan' stays in planning instead of being archived.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION territory;
-- fiscal years start in July in this database (set for the session as well: ALTER DATABASE
-- only applies to new sessions)
SET territory.fiscal_year_start_month = 7;
ALTER DATABASE :"DBNAME" SET territory.fiscal_year_start_month = 7;

SELECT territory.add_type('Named', 1) AS named \gset
SELECT territory.add_type('Region', 2) AS region \gset
SELECT territory.add_type('Country', 3) AS country \gset

SELECT territory.add_territory('Global', code => 'G', type => :region) AS g \gset
SELECT territory.add_territory('EMEA', :g, 'EMEA', :region) AS emea \gset
SELECT territory.add_territory('DACH', :emea, 'DACH', :country) AS dach \gset
SELECT territory.add_territory('France', :emea, 'FR', :country) AS fr \gset
SELECT territory.add_territory('UK & Ireland', :emea, 'UKI', :country) AS uki \gset
SELECT territory.add_territory('Americas', :g, 'AMER', :region) AS amer \gset
SELECT territory.add_territory('USA', :amer, 'US', :country) AS us \gset
SELECT territory.add_territory('USA West', :us, 'USW') AS usw \gset
SELECT territory.add_territory('USA East', :us, 'USE') AS use \gset
SELECT territory.add_territory('Brazil', :amer, 'BR', :country) AS br \gset
SELECT territory.add_territory('APAC', :g, 'APAC', :region) AS apac \gset
SELECT territory.add_territory('Key accounts', code => 'KEY', type => :named) AS key \gset

CREATE TABLE accounts (id int PRIMARY KEY, name text, country text, state text, revenue numeric,
                       phone text, owner_id text);
CREATE TABLE leads (id bigint PRIMARY KEY, country text, source text, owner_id text);
CREATE TABLE contacts (id int PRIMARY KEY, account_id int, name text, phone text, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric(12,2), close_date date,
                    stage text, created_at timestamptz DEFAULT '2026-01-15 10:00+00', owner_id text);
SELECT territory.manage_table('accounts', 'account', phone => 'phone');
SELECT territory.manage_table('leads', 'lead');
SELECT territory.manage_table('contacts', 'contact', phone => 'phone');
SELECT territory.manage_table('deals', 'deal');

SELECT territory.add_rule(:emea, $$country IN ('DE','AT','CH','FR','GB','IE','IT','ES')$$, 'EMEA countries', apply_to_children => true);
SELECT territory.add_rule(:dach, $$country IN ('DE','AT','CH')$$, 'DACH');
SELECT territory.add_rule(:fr, $$country = 'FR'$$, 'France');
SELECT territory.add_rule(:uki, $$country IN ('GB','IE')$$);
SELECT territory.add_rule(:us, $$country = 'US'$$, 'USA');
SELECT territory.add_rule(:usw, $$country = 'US' AND state IN ('CA','WA','OR')$$, 'West coast');
SELECT territory.add_rule(:use, $$country = 'US' AND state IN ('NY','MA')$$, 'East coast');
SELECT territory.add_rule(:br, $$country = 'BR'$$);
SELECT territory.add_rule(:apac, $$country IN ('JP','AU','SG')$$);
SELECT territory.add_rule(:key, $$revenue >= 5000000$$, 'Key by revenue');
SELECT territory.add_rule(:dach, $$country IN ('DE','AT','CH')$$, 'DACH leads', tbl => 'leads');
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads');
SELECT territory.add_rule(:us, $$country = 'US'$$, tbl => 'leads');
SELECT territory.add_rule(:apac, $$source = 'webinar'$$, tbl => 'leads');
SELECT territory.add_rule(:br, $$amount > 100000$$, 'big deals', tbl => 'deals');
SELECT territory.add_rule(:br, $$country = 'XX'$$, 'inactive rule') AS inactive_rule \gset
SELECT territory.set_rule_active(:inactive_rule, false);

SELECT territory.add_user('olga', 'Olga Ops', sees_all => true);
SELECT territory.add_user('vera', 'Vera VP');
SELECT territory.add_user('emma', 'Emma Schmidt', manager => 'vera');
SELECT territory.add_user('dave', 'Dave Weber', manager => 'emma');
SELECT territory.add_user('dina', 'Dina Roth', manager => 'emma');
SELECT territory.add_user('fred', 'Fred Martin', manager => 'emma');
SELECT territory.add_user('ulla', 'Ulla Byrne', manager => 'emma');
SELECT territory.add_user('adam', 'Adam Stone', manager => 'vera');
SELECT territory.add_user('wes', 'Wes Brown', manager => 'adam');
SELECT territory.add_user('will', 'Will Green', manager => 'adam');
SELECT territory.add_user('eric', 'Eric Hale', manager => 'adam');
SELECT territory.add_user('kim', 'Kim Lee');
SELECT territory.add_user('gone', 'Gone Away');
UPDATE territory.sales_users SET active = false WHERE key = 'gone';
SELECT territory.add_user('carol', 'Carol Login', login => 'carol');

SELECT territory.add_member(:emea, 'emma', 'manager');
SELECT territory.add_member(:dach, 'dave');
SELECT territory.add_member(:dach, 'dina');
SELECT territory.add_member(:dach, 'gone');
SELECT territory.add_member(:fr, 'fred');
SELECT territory.add_member(:uki, 'ulla', valid_from => '2026-01-01', valid_to => '2099-12-31');
SELECT territory.add_member(:amer, 'adam', 'manager');
SELECT territory.add_member(:usw, 'wes');
SELECT territory.add_member(:usw, 'will');
SELECT territory.add_member(:usw, 'carol');
SELECT territory.add_member(:use, 'eric');
SELECT territory.add_member(:use, 'kim', valid_to => '2020-12-31');          -- expired
SELECT territory.add_member(:key, 'kim');
SELECT territory.add_member(:br, 'will', rotation => false);
SELECT territory.set_access(:fr, 'deal', 'none');
SELECT territory.set_access(:dach, 'lead', 'read');
SELECT territory.set_access(:uki, 'contact', 'none');

SELECT territory.set_owner_assignment(:usw, 'round_robin');
SELECT territory.set_owner_assignment(:dach, 'load_balanced');

-- stages: one installed stage edited, one renamed, one deleted, one of our own added
UPDATE territory.stages SET probability = 70, position = 55 WHERE stage = 'Negotiation';
UPDATE territory.stages SET stage = 'Discovery' WHERE stage = 'Qualification';
DELETE FROM territory.stages WHERE stage = 'Value Proposition';
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Verbal', 'commit', 90, 62);

-- records (deterministic), with owners given or left to owner assignment
INSERT INTO accounts (id, name, country, state, revenue, phone, owner_id)
SELECT i, 'Account ' || i,
       (ARRAY['DE','AT','CH','FR','GB','IE','US','US','US','BR','JP','AU','CN','IT'])[1 + i % 14],
       (ARRAY['CA','WA','NY','MA','TX',NULL])[1 + i % 6],
       (i * 37937) % 9000000,
       CASE WHEN i % 5 = 0 THEN '+49 711 400 ' || (40000 + i) ELSE NULL END,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE (ARRAY['dave','dina','fred','ulla','wes','will','eric','kim','carol','emma'])[1 + i % 10] END
  FROM generate_series(1, 400) i;
INSERT INTO leads (id, country, source, owner_id)
SELECT i, (ARRAY['DE','FR','US','JP','BR'])[1 + i % 5], CASE WHEN i % 3 = 0 THEN 'webinar' ELSE 'web' END,
       CASE WHEN i % 2 = 0 THEN NULL ELSE 'dave' END
  FROM generate_series(1, 200) i;
INSERT INTO contacts (id, account_id, name, phone, owner_id)
SELECT i, 1 + (i * 7) % 400, 'Contact ' || i,
       CASE WHEN i % 3 = 0 THEN '+33 6 12 34 ' || lpad((i % 100)::text, 2, '0') || ' ' || lpad((i / 100)::text, 2, '0') ELSE NULL END,
       (ARRAY['dave','fred','wes',NULL])[1 + i % 4]
  FROM generate_series(1, 300) i;
INSERT INTO deals (id, account_id, amount, close_date, stage, owner_id)
SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE 1 + (i * 13) % 400 END,
       ((i * 7919) % 200000) + 0.25,
       date '2026-07-01' + (i * 3) % 365,
       (ARRAY['Prospecting','Qualification','Needs Analysis','Value Proposition','Proposal',
              'Negotiation','Verbal','Closed Won','Closed Lost','Stalled'])[1 + i % 10],
       CASE WHEN i % 3 = 0 THEN NULL ELSE (ARRAY['dave','dina','fred','wes','eric'])[1 + i % 5] END
  FROM generate_series(1, 500) i;

-- manual decisions
SELECT territory.assign('accounts', '13', :key);
SELECT territory.exclude('accounts', '2', :dach);
SELECT territory.assign('deals', '7', :apac);
SELECT territory.assign('leads', '4', :br);
-- changes that leave history: a record moves, one is deleted
UPDATE accounts SET country = 'FR' WHERE id = 1;
DELETE FROM leads WHERE id = 200;

-- targets of every period kind, splits, a member's quota
SELECT territory.set_target(:g, '2026-Q4', 2000000);
SELECT territory.set_target(:emea, '2026-Q4', 750000);
SELECT count(*) FROM territory.split_target(:emea, '2026-Q4', 'history');
SELECT territory.set_target(:dach, '2026-Q4', 150000, 'dave');
SELECT territory.set_target(:amer, '2026-11', 90000);
SELECT territory.set_target(:amer, '2026', 1000000);
SELECT territory.set_target(:g, 'FY2027', 8000000);
SELECT territory.set_target(:emea, 'FY2027-Q2', 700000);
SELECT territory.adjust_forecast(:emea, '2026-Q4', 'commit', 400000, 'renewal slips');
SELECT territory.adjust_forecast(:emea, '2026-Q4', 'commit', 420000, 'renewal back');
SELECT territory.adjust_forecast(:usw, 'FY2027-Q2', 'best_case', 55000.50);
SELECT territory.snapshot_forecast('2026-Q4');
SELECT territory.snapshot_forecast('FY2027');

-- telephony
SELECT territory.add_phone_number('+49 (0)30 123 45 67', :dach, kind => 'main');
SELECT territory.add_phone_number('0049 30 1234568', :dach, 'dave');
SELECT territory.add_phone_number('+33 1 23 45 67 89', :fr);
SELECT territory.add_phone_number('+1 415 555 0100', :usw, kind => 'main');

-- visibility on every managed table
SELECT territory.enable_visibility('accounts');
SELECT territory.enable_visibility('leads');
SELECT territory.enable_visibility('contacts');
SELECT territory.enable_visibility('deals');

-- models: the active one cloned twice; one clone archived, one still planning with a change
SELECT territory.active_model() AS active \gset
SELECT territory.clone_model(:active, 'FY2026 plan') AS old_plan \gset
\if :{?no_archive}
\else
SELECT territory.archive_model(:old_plan);
\endif
SELECT territory.clone_model(:active, 'FY2027 plan') AS new_plan \gset
SELECT id AS plan_apac FROM territory.territories WHERE model_id = :new_plan AND code = 'APAC' \gset
SELECT territory.add_territory('Japan', :plan_apac, 'JP', :country) AS plan_jp \gset
-- the plan moves the Japanese accounts from APAC to Japan (its preview lists them)
SELECT territory.add_rule(:plan_jp, $$country = 'JP'$$, 'Japan');

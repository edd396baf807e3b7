-- The setup of crash.pl: a hierarchy, rules, and :rows accounts loaded with the assignment
-- trigger disabled (a bulk load), so that run_rules() has every record to assign.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION territory;
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, 'EMEA') AS emea \gset
SELECT territory.add_territory('DACH', :emea, 'DACH') AS dach \gset
SELECT territory.add_territory('France', :emea, 'FR') AS fr \gset
SELECT territory.add_territory('Americas', :g, 'AMER') AS amer \gset
SELECT territory.add_territory('USA West', :amer, 'USW') AS usw \gset
SELECT territory.add_territory('Key', code => 'KEY') AS key \gset
CREATE TABLE accounts (id int PRIMARY KEY, country text, state text, revenue numeric, owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.add_rule(:emea, $$country IN ('DE','AT','CH','FR','IT')$$, apply_to_children => true);
SELECT territory.add_rule(:dach, $$country IN ('DE','AT','CH')$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:amer, $$country IN ('US','BR','CA')$$);
SELECT territory.add_rule(:usw, $$country = 'US' AND state IN ('CA','WA')$$);
SELECT territory.add_rule(:key, $$revenue >= 900000$$);
ALTER TABLE accounts DISABLE TRIGGER zz_territory_assign;
INSERT INTO accounts SELECT i, (ARRAY['DE','AT','CH','FR','IT','US','US','BR','CA','JP','CN'])[1 + i % 11],
       (ARRAY['CA','WA','NY',NULL])[1 + i % 4], (i * 7919) % 1000000, NULL
  FROM generate_series(1, :rows) i;
ALTER TABLE accounts ENABLE TRIGGER zz_territory_assign;
SELECT territory.assign('accounts', '5', :key);
SELECT territory.exclude('accounts', '12', :dach);

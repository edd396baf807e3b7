-- The organisation sqlsmith fuzzes (scripts/run-sqlsmith loads it as the superuser into a fresh
-- database): 37 territories of five types, the four kinds of managed table with rules and a few
-- hundred rows, sales users and members, visibility on every table, this quarter's targets and a
-- forecast adjustment, phone numbers and round robin; then the roles: crm_owner owns the tables
-- and administers territories (the concurrent writer), fuzzer is a CRM login mapped to a sales
-- user, with the privileges of an application user.
\set ON_ERROR_STOP on
\set QUIET on

CREATE EXTENSION territory;

SELECT territory.add_type('Named Accounts', 1) AS t_named, territory.add_type('City', 2) AS t_city,
       territory.add_type('Country', 3) AS t_country, territory.add_type('Region', 4) AS t_region,
       territory.add_type('Global', 5) AS t_global \gset
SELECT territory.add_territory('Global', code => 'GLOBAL', type => :t_global) AS global \gset

CREATE TEMP TABLE geo (region text, iso text, country text, cities text[]);
INSERT INTO geo VALUES
 ('EMEA', 'DE', 'Germany', '{Berlin,Hamburg,Munich}'),
 ('EMEA', 'FR', 'France', '{Paris,Lyon,Marseille}'),
 ('EMEA', 'GB', 'United Kingdom', '{London,Manchester}'),
 ('AMER', 'US', 'United States', '{New York,Boston,Chicago}'),
 ('AMER', 'CA', 'Canada', '{Toronto,Montréal}'),
 ('AMER', 'BR', 'Brazil', '{São Paulo}'),
 ('APAC', 'JP', 'Japan', '{Tokyo,Osaka}'),
 ('APAC', 'AU', 'Australia', '{Sydney,Melbourne}');

CREATE TEMP TABLE region AS
SELECT r, territory.add_territory(r, :global, r, :t_region) AS id
  FROM (SELECT DISTINCT region FROM geo ORDER BY 1) x(r);
CREATE TEMP TABLE country AS
SELECT g.iso, g.cities, g.region, territory.add_territory(g.country, r.id, g.region || '-' || g.iso, :t_country) AS id
  FROM geo g JOIN region r ON r.r = g.region ORDER BY g.region, g.iso;
CREATE TEMP TABLE city AS
SELECT c.iso, name, territory.add_territory(name, c.id, c.region || '-' || c.iso || '-' || upper(left(name, 3)), :t_city) AS id
  FROM country c, unnest(c.cities) name;
SELECT territory.add_territory('Strategic Accounts', :global, 'NAMED', :t_named) AS named \gset
SELECT count(territory.add_territory(a, :named, 'NAMED-' || upper(a), :t_named))
  FROM unnest('{Acme,Globex,Initech,Umbrella}'::text[]) a;

-- The application's tables, all four kinds; contacts and leads have phone numbers.
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, billing_country text, billing_city text,
                       industry text, annual_revenue numeric, phone text, owner_id text);
CREATE TABLE leads (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), company text, country text, city text,
                    phone text, owner_id text);
CREATE TABLE contacts (id bigint PRIMARY KEY, account_id bigint, full_name text, phone text, owner_id text);
CREATE TABLE deals (id bigint PRIMARY KEY, account_id bigint, name text, amount numeric, close_date date,
                    stage text, created_at timestamptz DEFAULT now(), owner_id text);
SELECT territory.manage_table('accounts', 'account', phone => 'phone');
SELECT territory.manage_table('leads', 'lead', phone => 'phone');
SELECT territory.manage_table('contacts', 'contact', phone => 'phone');
SELECT territory.manage_table('deals', 'deal');

SELECT count(territory.add_rule(id, format('billing_country = %L', iso), 'country ' || iso)) FROM country;
SELECT count(territory.add_rule(id, format('billing_city = %L', name), 'city ' || name)) FROM city;
SELECT count(territory.add_rule(id, format('country = %L', iso), 'lead country ' || iso, 'leads')) FROM country;
SELECT count(territory.add_rule(id, format('country = %L AND city = %L', iso, name), 'lead city ' || name, 'leads')) FROM city;
SELECT territory.add_rule(:named, 'annual_revenue >= 50e6', 'strategic', apply_to_children => true);
SELECT count(territory.add_rule(t.id, format('name = %L', t.name), 'named ' || t.name))
  FROM territory.territories t WHERE t.code LIKE 'NAMED-%';
SELECT territory.add_rule(id, 'amount >= 400000', 'big deals without account', 'deals') FROM region WHERE r = 'EMEA';

-- People: an admin who sees all, a manager per region, 16 reps, and the fuzzer's own user.
SELECT territory.add_user('admin', 'Ada Admin', sees_all => true);
SELECT territory.add_user('mgr-' || lower(r), 'Manager of ' || r), territory.add_member(id, 'mgr-' || lower(r), 'manager')
  FROM region;
SELECT territory.add_user('rep' || n, 'Rep ' || n, manager => 'mgr-' || lower(c.region)),
       territory.add_member(c.id, 'rep' || n, valid_from => CASE WHEN n % 5 = 0 THEN current_date + 30 END)
  FROM generate_series(1, 16) n JOIN (SELECT *, row_number() OVER (ORDER BY iso) AS k FROM country) c ON c.k = 1 + n % 8;
SELECT territory.add_user('fuzz', 'Fuzz Tester', login => 'fuzzer', manager => 'mgr-emea');
SELECT territory.add_member(id, 'fuzz') FROM country WHERE iso IN ('DE', 'FR');
SELECT territory.add_member(id, 'fuzz', 'manager') FROM city WHERE name = 'Tokyo';
SELECT territory.set_access(id, 'deal', 'read') FROM country WHERE iso = 'FR';
SELECT territory.set_access(id, 'contact', 'none') FROM city WHERE name = 'Lyon';

-- Data: owners given, except some leads and accounts that round robin hands out in Germany.
SELECT territory.set_owner_assignment(id, 'round_robin') FROM country WHERE iso = 'DE';
SELECT territory.set_owner_assignment(id, 'load_balanced') FROM country WHERE iso = 'FR';
SELECT setseed(0.42);
INSERT INTO accounts
SELECT n, CASE WHEN n <= 4 THEN (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella'])[n] ELSE 'Customer ' || n END,
       c.iso, c.name, (ARRAY['Retail', 'Finance', 'Health'])[1 + n % 3],
       CASE WHEN n <= 3 THEN 80e6 ELSE round((random() * 60e6)::numeric, -3) END,
       CASE WHEN n % 3 = 0 THEN '+49 30 ' || (5550000 + n) END,
       CASE WHEN n % 4 = 0 THEN NULL ELSE 'rep' || (1 + n % 16) END
  FROM generate_series(1, 300) n, LATERAL (SELECT iso, name FROM city WHERE n > 0 ORDER BY random() LIMIT 1) c;
INSERT INTO leads (company, country, city, phone, owner_id)
SELECT 'Lead ' || n, (ARRAY['DE', 'FR', 'US', 'JP', 'ZZ'])[1 + n % 5], (ARRAY['Berlin', 'Paris', NULL])[1 + n % 3],
       (ARRAY['+1 416 555 ' || (1000 + n), '0049 89 ' || (100000 + n), 'garbage', NULL])[1 + n % 4],
       CASE WHEN n % 2 = 0 THEN 'rep' || (1 + n % 16) END
  FROM generate_series(1, 120) n;
INSERT INTO contacts SELECT n, 1 + n % 320, 'Contact ' || n, '+33 1 ' || (40000000 + n), 'rep' || (1 + n % 16)
  FROM generate_series(1, 400) n;
INSERT INTO deals (id, account_id, name, amount, close_date, stage, owner_id)
SELECT n, CASE WHEN n % 10 <> 0 THEN 1 + n % 300 END, 'Deal ' || n, round((random() * 500000)::numeric, -2),
       date_trunc('quarter', current_date)::date + (n % 120),
       (ARRAY['Prospecting', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost', 'Mystery'])[1 + n % 6],
       'rep' || (1 + n % 16)
  FROM generate_series(1, 250) n;

SELECT territory.enable_visibility('accounts'), territory.enable_visibility('leads'),
       territory.enable_visibility('contacts'), territory.enable_visibility('deals');

-- Forecast: this quarter's and next quarter's targets, EMEA split to its countries, an adjustment.
SELECT territory.period_of(current_date, 'quarter') AS quarter \gset
SELECT territory.set_target(t.id, p, amount)
  FROM (VALUES ('GLOBAL', 60000000), ('EMEA', 25000000), ('AMER', 12000000), ('APAC', 10000000)) v(code, amount)
  JOIN territory.territories t USING (code),
       (VALUES (:'quarter'::territory.period), (territory.next(:'quarter'::territory.period))) q(p);
SELECT count(*) FROM territory.split_target((SELECT id FROM region WHERE r = 'EMEA'), :'quarter', 'pipeline');
SELECT territory.adjust_forecast(id, :'quarter', 'commit', 700000, 'two renewals') FROM country WHERE iso = 'DE';
SELECT territory.snapshot_forecast(:'quarter');

-- Telephony: lines of territories and of members.
SELECT territory.add_phone_number('+49 30 1234567', id, kind => 'main') FROM country WHERE iso = 'DE';
SELECT territory.add_phone_number('+33 (0)1 23 45 67 89', id) FROM country WHERE iso = 'FR';
SELECT territory.add_phone_number('+1 212 555 0100', id) FROM city WHERE name = 'New York';
SELECT territory.add_phone_number('+49 30 12345' || lpad(m.user_id::text, 2, '0'), m.territory_id, u.key)
  FROM territory.members m JOIN territory.sales_users u ON u.id = m.user_id
 WHERE m.territory_id = (SELECT id FROM country WHERE iso = 'DE') AND u.key LIKE 'rep%';

-- The owner of the application's tables, who also administers territories (the writer).
CREATE ROLE crm_owner LOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA territory TO crm_owner;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA territory TO crm_owner;
GRANT INSERT, UPDATE, DELETE ON territory.models, territory.territory_types, territory.territories,
    territory.managed_tables, territory.rules, territory.manual_assignments, territory.rule_runs,
    territory.rule_run_pending, territory.sales_users, territory.members, territory.territory_access,
    territory.stages, territory.targets, territory.forecast_adjustments, territory.forecast_snapshots,
    territory.phone_numbers TO crm_owner;
GRANT SELECT ON territory.manual_assignments, territory.assignment_history, territory.assignment_log,
    territory.sales_users, territory.members, territory.territory_access, territory.targets,
    territory.forecast_adjustments, territory.forecast_snapshots, territory.phone_numbers,
    territory.rotations TO crm_owner;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA territory TO crm_owner;
GRANT SET ON PARAMETER "territory.user" TO crm_owner;
ALTER TABLE accounts OWNER TO crm_owner;
ALTER TABLE leads OWNER TO crm_owner;
ALTER TABLE contacts OWNER TO crm_owner;
ALTER TABLE deals OWNER TO crm_owner;

-- The fuzzer: a login of a sales user, an application user's privileges, the telephony grant.
CREATE ROLE telephony NOLOGIN;
GRANT EXECUTE ON FUNCTION territory.route_call(text, text) TO telephony;
CREATE ROLE fuzzer LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE telephony;
GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, leads, contacts, deals TO fuzzer;
ALTER ROLE fuzzer SET search_path = territory, public;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ANALYZE;

-- What sqlsmith sees of pg_proc: it reads the catalogs unqualified, and scripts/run-sqlsmith puts
-- this schema before pg_catalog in the search path of its connections, so that the functions it
-- draws from are every function of the extension the fuzzer may call and a tenth of the others
-- (rather than 60 among 3,000).  Its queries name their functions and tables with their schema,
-- so nothing else changes.
CREATE SCHEMA sqlsmith_catalog;
CREATE VIEW sqlsmith_catalog.pg_proc AS
SELECT * FROM pg_catalog.pg_proc p
 WHERE (p.pronamespace = 'territory'::regnamespace AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE'))
    OR (p.pronamespace = 'pg_catalog'::regnamespace AND (p.oid::int8 % 10 = 0 OR p.prokind = 'a'));
GRANT USAGE ON SCHEMA sqlsmith_catalog TO fuzzer;
GRANT SELECT ON sqlsmith_catalog.pg_proc TO fuzzer;

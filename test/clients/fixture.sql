-- The pooled-client suite's data (test/clients/run loads it as a superuser into a fresh database
-- whose roles it made: territory_clients_owner owns the CRM tables, territory_clients_app is the
-- pooled application, territory_clients_carol a person with her own login).
--
-- Global / EMEA, Americas, Asia Pacific / 13 countries / 6 cities, and a second root Strategic /
-- Strategic EMEA, Strategic Americas; accounts assigned by country (cities: country and city;
-- Strategic: tier 'key', its children also by region); about 40 sales users: reps in leaves,
-- managers with the role manager in the regions, a chain of managers, a user who sees all,
-- memberships that end or start around today, inactive users, odd and long keys; access levels
-- below edit in a few places; 3000 accounts, contacts and deals, some unassigned.  Random with a
-- fixed seed: the same data every run.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION territory;
SELECT setseed(0.2026);

-- The hierarchy and the rules as this suite states them: oracle.sql derives the expected
-- territories of a record from these tables, the extension gets them through its API.
CREATE SCHEMA oracle;
CREATE TABLE oracle.territory_spec (code text PRIMARY KEY, name text NOT NULL, parent text, type text NOT NULL,
                                    ord serial);
INSERT INTO oracle.territory_spec (code, name, parent, type) VALUES
    ('GLOBAL', 'Global', NULL, 'area'),
    ('EMEA', 'EMEA', 'GLOBAL', 'area'),
    ('DE', 'Germany', 'EMEA', 'country'), ('DE_BER', 'Berlin', 'DE', 'city'), ('DE_MUC', 'Munich', 'DE', 'city'),
    ('FR', 'France', 'EMEA', 'country'), ('FR_PAR', 'Paris', 'FR', 'city'),
    ('UK', 'United Kingdom', 'EMEA', 'country'), ('ES', 'Spain', 'EMEA', 'country'), ('IT', 'Italy', 'EMEA', 'country'),
    ('AMER', 'Americas', 'GLOBAL', 'area'),
    ('US', 'United States', 'AMER', 'country'), ('US_NYC', 'New York', 'US', 'city'),
    ('US_SFO', 'San Francisco', 'US', 'city'),
    ('CA', 'Canada', 'AMER', 'country'), ('BR', 'Brazil', 'AMER', 'country'), ('MX', 'Mexico', 'AMER', 'country'),
    ('APAC', 'Asia Pacific', 'GLOBAL', 'area'),
    ('JP', 'Japan', 'APAC', 'country'), ('JP_TYO', 'Tokyo', 'JP', 'city'),
    ('AU', 'Australia', 'APAC', 'country'), ('IN', 'India', 'APAC', 'country'), ('SG', 'Singapore', 'APAC', 'country'),
    ('STRAT', 'Strategic', NULL, 'overlay'),
    ('STRAT_EMEA', 'Strategic EMEA', 'STRAT', 'overlay'), ('STRAT_AMER', 'Strategic Americas', 'STRAT', 'overlay');

-- A rule: the record's columns equal the non-NULL ones (a territory's rules are OR-ed).
CREATE TABLE oracle.rule_spec (code text NOT NULL REFERENCES oracle.territory_spec, country text, city text, tier text);
INSERT INTO oracle.rule_spec (code, country) SELECT code, code FROM oracle.territory_spec WHERE type = 'country';
INSERT INTO oracle.rule_spec (code, country, city) VALUES
    ('DE_BER', 'DE', 'Berlin'), ('DE_MUC', 'DE', 'Munich'), ('FR_PAR', 'FR', 'Paris'),
    ('US_NYC', 'US', 'New York'), ('US_SFO', 'US', 'San Francisco'), ('JP_TYO', 'JP', 'Tokyo');
INSERT INTO oracle.rule_spec (code, tier) VALUES ('STRAT', 'key');
INSERT INTO oracle.rule_spec (code, country, tier)
    SELECT CASE s.parent WHEN 'EMEA' THEN 'STRAT_EMEA' ELSE 'STRAT_AMER' END, s.code, 'key'
      FROM oracle.territory_spec s WHERE s.type = 'country' AND s.parent IN ('EMEA', 'AMER');

-- Deals take the territory of the best type priority: cities, then Strategic, then countries.
SELECT territory.add_type('city', 1), territory.add_type('overlay', 2), territory.add_type('country', 3),
       territory.add_type('area', 4);
-- one statement each (a statement does not see the parents its own earlier calls added)
DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT * FROM oracle.territory_spec ORDER BY ord LOOP
        PERFORM territory.add_territory(s.name, (SELECT t.id FROM territory.territories t WHERE t.code = s.parent),
                                        s.code, (SELECT y.id FROM territory.territory_types y WHERE y.name = s.type));
    END LOOP;
END
$$;

CREATE SCHEMA crm AUTHORIZATION territory_clients_owner;
SET ROLE territory_clients_owner;
CREATE TABLE crm.accounts (id serial PRIMARY KEY, name text NOT NULL, country text, city text, tier text,
                           owner_id text);
CREATE TABLE crm.contacts (id serial PRIMARY KEY, account_id int, name text NOT NULL, owner_id text);
CREATE TABLE crm.deals (id serial PRIMARY KEY, account_id int, owner_id text, amount numeric NOT NULL,
                        close_date date, stage text, created_at timestamptz NOT NULL DEFAULT now());
-- what can_read() and can_edit() are asked about (crm.probe)
CREATE TABLE crm.probes (id serial PRIMARY KEY, territories int4[], owner text);
RESET ROLE;
SELECT territory.manage_table('crm.accounts', 'account');
SELECT territory.manage_table('crm.contacts', 'contact');
SELECT territory.manage_table('crm.deals', 'deal');
SELECT count(territory.add_rule(t.id, concat_ws(' AND ', 'country = ' || quote_literal(r.country),
                                                'city = ' || quote_literal(r.city),
                                                'tier = ' || quote_literal(r.tier))))
  FROM oracle.rule_spec r JOIN territory.territories t ON t.code = r.code;

-- Sales users: key, manager's key, sees_all, active, login; then their memberships.
CREATE TEMP TABLE users (ord serial, key text, manager text, sees_all bool DEFAULT false, active bool DEFAULT true,
                         login name);
INSERT INTO users (key, manager, sees_all, active, login) VALUES
    ('admin', NULL, true, true, NULL),
    ('ops_inactive', NULL, true, false, NULL),          -- sees_all, but inactive: nothing
    ('vp', NULL, false, true, NULL),                    -- no membership: sees through the manager chain
    ('mgr_emea', 'vp', false, true, NULL), ('mgr_amer', 'vp', false, true, NULL), ('mgr_apac', 'vp', false, true, NULL),
    ('emea_analyst', 'mgr_emea', false, true, NULL),
    ('dave', 'mgr_emea', false, true, NULL), ('dana', 'dave', false, true, NULL), ('dirk', 'dave', false, true, NULL),
    ('lead_label', 'dave', false, true, NULL),
    ('fred', 'mgr_emea', false, true, NULL), ('fiona', 'fred', false, true, NULL),
    ('uma', 'mgr_emea', false, true, NULL), ('ulla', 'mgr_emea', false, true, NULL),
    ('eva', 'mgr_emea', false, true, NULL), ('enzo', 'mgr_emea', false, true, NULL),
    ('ines', 'mgr_emea', false, true, NULL), ('ivan', 'mgr_emea', false, true, NULL),
    ('carol', 'mgr_emea', false, true, 'territory_clients_carol'),
    ('sam', 'mgr_amer', false, true, NULL), ('nina', 'sam', false, true, NULL), ('sid', 'sam', false, true, NULL),
    ('cat', 'mgr_amer', false, true, NULL), ('bruno', 'mgr_amer', false, true, NULL),
    ('max', 'mgr_amer', false, true, NULL),
    ('ex_rep', 'mgr_amer', false, false, NULL),         -- inactive; their manager still sees what they own
    ('gone', NULL, false, false, NULL), ('orphan', 'gone', false, true, NULL),
    ('jun', 'mgr_apac', false, true, NULL), ('taro', 'jun', false, true, NULL), ('amy', 'mgr_apac', false, true, NULL),
    ('ravi', 'mgr_apac', false, true, NULL), ('sara', 'mgr_apac', false, true, NULL),
    ('strat', NULL, false, true, NULL), ('strat_emea', 'strat', false, true, NULL), ('kam', 'strat', false, true, NULL),
    ('solo', NULL, false, true, NULL),
    ('o''brien', 'mgr_emea', false, true, NULL), ('Zoë Ünal', 'fred', false, true, NULL),
    ('long_' || repeat('x', 121) || 'z', 'amy', false, true, NULL);   -- 127 bytes, the longest key
DO $$
DECLARE
    u record;
BEGIN
    FOR u IN SELECT * FROM users ORDER BY ord LOOP
        PERFORM territory.add_user(u.key, initcap(u.key), u.login, u.manager, u.sees_all);
    END LOOP;
END
$$;
UPDATE territory.sales_users s SET active = false FROM users u WHERE u.key = s.key AND NOT u.active;

-- valid_from / valid_to in days from today (NULL: open)
CREATE TEMP TABLE memberships (key text, code text, role text DEFAULT 'member', valid_from int, valid_to int);
INSERT INTO memberships VALUES
    ('mgr_emea', 'EMEA', 'manager', NULL, NULL), ('mgr_amer', 'AMER', 'manager', -400, NULL),
    ('mgr_apac', 'APAC', 'manager', NULL, 30),
    ('emea_analyst', 'EMEA', 'member', NULL, NULL),
    ('dave', 'DE', 'member', NULL, NULL), ('dana', 'DE_BER', 'member', NULL, NULL),
    ('dirk', 'DE_MUC', 'member', -10, NULL), ('lead_label', 'DE', 'lead', NULL, NULL),
    ('fred', 'FR', 'member', NULL, NULL), ('fiona', 'FR_PAR', 'manager', NULL, NULL),
    ('uma', 'UK', 'member', NULL, NULL), ('ulla', 'UK', 'manager', NULL, NULL),
    ('eva', 'ES', 'member', 0, NULL),                  -- starts today: current
    ('enzo', 'ES', 'member', NULL, 0),                 -- ends today: current
    ('ines', 'IT', 'member', NULL, -1),                -- ended yesterday
    ('ivan', 'IT', 'member', 1, NULL),                 -- starts tomorrow
    ('carol', 'IT', 'member', NULL, NULL),
    ('sam', 'US', 'member', NULL, NULL), ('nina', 'US_NYC', 'member', NULL, NULL),
    ('sid', 'US_SFO', 'member', -365, 365),
    ('cat', 'CA', 'member', NULL, NULL), ('bruno', 'BR', 'member', NULL, NULL),
    ('max', 'MX', 'member', NULL, NULL), ('max', 'BR', 'member', -5, 5),
    ('ex_rep', 'US', 'member', NULL, NULL), ('gone', 'CA', 'manager', NULL, NULL),
    ('orphan', 'CA', 'member', NULL, NULL),
    ('jun', 'JP', 'member', NULL, NULL), ('taro', 'JP_TYO', 'member', NULL, NULL), ('amy', 'AU', 'member', NULL, NULL),
    ('ravi', 'IN', 'member', -100, -50),               -- a period in the past
    ('sara', 'SG', 'member', NULL, NULL),
    ('strat', 'STRAT', 'member', NULL, NULL), ('strat_emea', 'STRAT_EMEA', 'manager', NULL, NULL),
    ('kam', 'STRAT_AMER', 'member', NULL, NULL), ('kam', 'US', 'member', -30, -2),
    ('o''brien', 'UK', 'member', NULL, NULL), ('Zoë Ünal', 'FR', 'member', NULL, NULL),
    ('long_' || repeat('x', 121) || 'z', 'AU', 'member', NULL, NULL);
SELECT count(territory.add_member(t.id, m.key, m.role, valid_from => current_date + m.valid_from,
                                  valid_to => current_date + m.valid_to))
  FROM memberships m JOIN territory.territories t ON t.code = m.code;

-- Access levels below edit
SELECT territory.set_access(t.id, a.kind, a.access)
  FROM (VALUES ('FR', 'deal', 'none'), ('UK', 'account', 'read'), ('DE_BER', 'contact', 'read'),
               ('US', 'deal', 'read'), ('STRAT', 'account', 'none'), ('JP', 'contact', 'none')) a(code, kind, access)
  JOIN territory.territories t ON t.code = a.code;

-- Records: countries with a rule and without (XX, none), cities with a rule and without,
-- a tenth of key accounts; owners among the users (inactive ones too), unknown, or none.
CREATE TEMP TABLE pick AS
SELECT ARRAY['DE', 'DE', 'FR', 'UK', 'ES', 'IT', 'US', 'US', 'CA', 'BR', 'MX', 'JP', 'AU', 'IN', 'SG', 'XX', NULL]
           AS countries,
       (SELECT array_agg(key ORDER BY ord) FROM users) || ARRAY['legacy_owner', NULL, NULL, NULL] AS owners;
CREATE FUNCTION pg_temp.one(a anyarray) RETURNS anyelement LANGUAGE sql VOLATILE
    AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;
CREATE FUNCTION pg_temp.city(country text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT pg_temp.one(CASE country WHEN 'DE' THEN ARRAY['Berlin', 'Munich', 'Hamburg', NULL]
                                    WHEN 'FR' THEN ARRAY['Paris', 'Lyon', NULL]
                                    WHEN 'US' THEN ARRAY['New York', 'San Francisco', 'Chicago', NULL]
                                    WHEN 'JP' THEN ARRAY['Tokyo', 'Osaka']
                                    ELSE ARRAY[NULL, NULL, 'Berlin'] END)
$$;

INSERT INTO crm.accounts (name, country, city, tier, owner_id)
SELECT 'account ' || i, c, pg_temp.city(c), CASE WHEN random() < 0.1 THEN 'key' END, pg_temp.one(p.owners)
  FROM pick p, generate_series(1, 3000) i,
       LATERAL (SELECT pg_temp.one(p.countries) AS c WHERE i > 0 OFFSET 0) x;   -- one country per account
-- some point at no account (NULL, or an id that is not there)
INSERT INTO crm.contacts (account_id, name, owner_id)
SELECT CASE WHEN random() < 0.05 THEN NULL ELSE 1 + floor(random() * 3100)::int END, 'contact ' || i,
       pg_temp.one(p.owners)
  FROM pick p, generate_series(1, 3000) i;
INSERT INTO crm.deals (account_id, owner_id, amount, close_date, stage)
SELECT CASE WHEN random() < 0.05 THEN NULL ELSE 1 + floor(random() * 3100)::int END, pg_temp.one(p.owners),
       round((1000 + random() * 99000)::numeric, 2), current_date + floor(random() * 180)::int,
       pg_temp.one(ARRAY['pipeline', 'best_case', 'commit', 'closed_won', 'closed_lost'])
  FROM pick p, generate_series(1, 3000) i;

-- Probes: every territory alone, some pairs, none with every owner, a territory that does not
-- exist, NULL territories, unknown and NULL owners.
INSERT INTO crm.probes (territories, owner)
SELECT ARRAY[t.id], NULL FROM territory.territories t
UNION ALL SELECT ARRAY[a.id, b.id], pg_temp.one(p.owners) FROM territory.territories a, territory.territories b, pick p
           WHERE a.id < b.id AND random() < 0.08
UNION ALL SELECT '{}', key FROM users
UNION ALL SELECT NULL, key FROM users WHERE ord % 4 = 0
UNION ALL VALUES ('{}'::int4[], NULL::text), (NULL, NULL), ('{999999}', NULL), ('{}', 'legacy_owner'),
                 ('{}', 'Admin'), ('{}', 'admin ');

SELECT territory.enable_visibility('crm.accounts');
SELECT territory.enable_visibility('crm.contacts');
SELECT territory.enable_visibility('crm.deals');

-- can_read() and can_edit() from PL/pgSQL: the probes the current user may read (or edit).
CREATE FUNCTION crm.probe(kind text, access text) RETURNS int[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    p record;
    ok bool;
    r int[] := '{}';
BEGIN
    FOR p IN SELECT id, territories, owner FROM crm.probes ORDER BY id LOOP
        IF access = 'read' THEN
            ok := territory.can_read(p.territories, p.owner, kind);
        ELSE
            ok := territory.can_edit(p.territories, p.owner, kind);
        END IF;
        IF ok THEN
            r := r || p.id;
        END IF;
    END LOOP;
    RETURN r;
END
$$;
-- A function's SET clause switches the identity for its call.
CREATE FUNCTION crm.accounts_as_admin() RETURNS int[] LANGUAGE sql STABLE SET territory."user" = 'admin'
    AS $$ SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM crm.accounts $$;
ALTER FUNCTION crm.probe(text, text) OWNER TO territory_clients_owner;
ALTER FUNCTION crm.accounts_as_admin() OWNER TO territory_clients_owner;

-- The application roles: the tables and SET on territory.user (the person: no SET).
GRANT USAGE ON SCHEMA crm, oracle TO territory_clients_app, territory_clients_carol;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.accounts, crm.contacts, crm.deals TO territory_clients_app,
    territory_clients_carol;
GRANT SELECT ON crm.probes TO territory_clients_app, territory_clients_carol;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crm TO territory_clients_app, territory_clients_carol;
GRANT SET ON PARAMETER "territory.user" TO territory_clients_app;
ANALYZE crm.accounts, crm.contacts, crm.deals;

-- The demo's accounts and leads, assigned by rules: a rule per country and per city, named
-- account rules, and a revenue band that every child of Strategic Accounts inherits.
\set ON_ERROR_STOP on
\set QUIET on

CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    billing_country text,
    billing_city text,
    industry text,
    annual_revenue numeric,
    owner_id text);
CREATE TABLE leads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company text,
    country text,
    city text,
    owner_id text);

SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('leads', 'lead');

-- a rule per country and per city, from the territory codes (EMEA-DE, EMEA-DE-BERLIN)
SELECT count(territory.add_rule(c.id, format('billing_country = %L', g.iso), 'country ' || g.iso))
  FROM country c JOIN geo g USING (iso);
SELECT count(territory.add_rule(t.id, format('billing_city = %L', t.name), 'city ' || t.name))
  FROM territory.tree() t WHERE t.depth = 3 AND t.code NOT LIKE 'NAMED%';
SELECT count(territory.add_rule(c.id, format('country = %L', g.iso), 'lead country ' || g.iso, 'leads'))
  FROM country c JOIN geo g USING (iso);
-- named accounts: only big ones (an apply_to_children rule on Strategic Accounts)
SELECT territory.add_rule(:named, 'annual_revenue >= 50e6', 'strategic: revenue of 50 million or more',
                          apply_to_children => true);
SELECT count(territory.add_rule(t.id, format('name = %L', t.name), 'named ' || t.name))
  FROM territory.tree() t WHERE t.code LIKE 'NAMED-%';

-- 2,000 accounts in the demo cities, a few of them the named customers
SELECT setseed(0.2026);
INSERT INTO accounts (id, name, billing_country, billing_city, industry, annual_revenue, owner_id)
SELECT n,
       CASE WHEN n <= 8 THEN (ARRAY['Acme Corporation', 'Globex', 'Initech', 'Umbrella Group', 'Stark Industries',
                                    'Wayne Enterprises', 'Tyrell', 'Cyberdyne'])[n]
            ELSE 'Customer ' || n END,
       c.iso, c.city,
       (ARRAY['Retail', 'Manufacturing', 'Finance', 'Health', 'Technology'])[1 + floor(random() * 5)::int],
       CASE WHEN n <= 6 THEN 80e6 ELSE round((random() * 60e6)::numeric, -3) END,
       'rep' || (1 + n % 40)
  FROM generate_series(1, 2000) n,
       LATERAL (SELECT g.iso, city FROM geo g, unnest(g.cities) city
                 WHERE n > 0 ORDER BY random() LIMIT 1) c;
INSERT INTO leads (company, country, city, owner_id)
SELECT 'Lead ' || n, (ARRAY['DE', 'FR', 'US', 'JP', 'BR', 'ZZ'])[1 + n % 6], NULL, NULL
  FROM generate_series(1, 300) n;

-- contacts carry their account's territories; a deal carries one: the account territory of the
-- most important type (Named Accounts before City), then the deepest, then the lowest id
CREATE TABLE contacts (id bigint PRIMARY KEY, account_id bigint, full_name text, owner_id text);
CREATE TABLE deals (id bigint PRIMARY KEY, account_id bigint, name text, amount numeric, close_date date,
                    stage text, created_at timestamptz DEFAULT now(), owner_id text);
SELECT territory.manage_table('contacts', 'contact');
SELECT territory.manage_table('deals', 'deal');
INSERT INTO contacts SELECT n, 1 + (n % 2000), 'Contact ' || n, 'rep' || (1 + n % 40) FROM generate_series(1, 4000) n;
INSERT INTO deals (id, account_id, name, amount, close_date, stage, owner_id)
SELECT n, 1 + (n % 2000), 'Deal ' || n, round((random() * 500000)::numeric, -2),
       date_trunc('quarter', current_date)::date + (n % 90), (ARRAY['Prospecting', 'Proposal', 'Negotiation', 'Closed Won'])[1 + n % 4],
       'rep' || (1 + n % 40)
  FROM generate_series(1, 3000) n;

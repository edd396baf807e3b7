-- Contacts and deals (product.md, assignment point 4): a contact carries exactly its account's
-- territories; a deal carries one territory: its manual choice, else the account territory of
-- the best type priority, then the deepest, then the lowest id; a deal without an account uses
-- deal-level rules.  Account changes cascade in the same transaction.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE accounts (id bigint PRIMARY KEY, country text, industry text, owner_id text);
CREATE TABLE contacts (id int PRIMARY KEY, account_id int, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id bigint, amount numeric, close_date date, stage text,
                    created_at timestamptz DEFAULT now(), owner_id text, region text);
CREATE TABLE odd_deals (id int PRIMARY KEY, account_id uuid, amount text, close_date date, stage text,
                        created_at timestamptz, owner_id text);

-- errors: accounts first; mapped columns checked and named
SELECT territory.manage_table('contacts', 'contact');
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('contacts', 'contact', account => 'acct');
SELECT territory.manage_table('deals', 'deal', stage => 'phase');
SELECT territory.manage_table('odd_deals', 'deal');
SELECT territory.manage_table('odd_deals', 'deal', account => 'id');
SELECT territory.manage_table('contacts', 'contact');
SELECT territory.manage_table('deals', 'deal');
SELECT tbl, kind, account_column, amount_column, close_date_column, stage_column, created_column, territory_column
  FROM territory.managed_tables ORDER BY kind;

SELECT territory.add_type('Named', 1) AS named \gset
SELECT territory.add_type('Region', 2) AS region \gset
SELECT territory.add_territory('EMEA', type => :region, code => 'EMEA') AS emea \gset
SELECT territory.add_territory('Germany', :emea, type => :region, code => 'DE') AS de \gset
SELECT territory.add_territory('France', :emea, type => :region, code => 'FR') AS fr \gset
SELECT territory.add_territory('Retail', type => :named, code => 'RETAIL') AS retail \gset
SELECT territory.add_territory('Central Europe', type => :region, code => 'CE') AS ce \gset
SELECT territory.add_territory('Western Europe', type => :region, code => 'WE') AS we \gset
SELECT territory.add_territory('Americas deals', type => :region, code => 'AMER') AS amer \gset
SELECT territory.add_rule(:emea, $$country IN ('DE', 'FR', 'CH')$$);
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:retail, $$industry = 'Retail'$$);
SELECT territory.add_rule(:ce, $$country IN ('DE', 'CH')$$);
SELECT territory.add_rule(:we, $$country IN ('FR', 'CH')$$);
SELECT territory.add_rule(:amer, $$region = 'AMER'$$, tbl => 'deals');
SELECT territory.add_rule(:amer, $$stage = 'x'$$, tbl => 'contacts');

INSERT INTO accounts VALUES
    (1, 'DE', 'Retail', 'a'),   -- Germany, Central Europe, Retail: Retail (Named beats Region)
    (2, 'FR', 'Tech', 'b'),     -- France (depth 1) beats Western Europe (depth 0)
    (3, 'CH', NULL, 'c'),       -- EMEA, Central Europe, Western Europe: all Region, depth 0: lowest id
    (4, 'US', NULL, 'd');       -- nowhere
INSERT INTO contacts VALUES (10, 1, 'a'), (11, 2, 'b'), (12, NULL, 'c'), (13, 99, 'd'), (14, 3, 'c');
INSERT INTO deals VALUES
    (100, 1, 10, '2026-12-01', 'won', now(), 'a', NULL),
    (101, 2, 5, '2026-12-01', 'open', now(), 'b', NULL),
    (102, NULL, 7, '2026-12-01', 'open', now(), 'c', 'AMER'),   -- no account: deal rules
    (103, 4, 1, '2026-12-01', 'open', now(), 'd', 'AMER'),      -- an account, in no territory
    (104, 3, 2, '2026-12-01', 'open', now(), 'c', NULL);
SELECT a.id, (SELECT array_agg(t.code ORDER BY t.code) FROM unnest(a.territories) x
                JOIN territory.territories t ON t.id = x) AS territories FROM accounts a ORDER BY a.id;
SELECT c.id, c.account_id, (SELECT array_agg(t.code ORDER BY t.code) FROM unnest(c.territories) x
                JOIN territory.territories t ON t.id = x) AS territories FROM contacts c ORDER BY c.id;
SELECT d.id, d.account_id, t.code FROM deals d LEFT JOIN territory.territories t ON t.id = d.territory_id ORDER BY d.id;

-- an account that changes takes its contacts and deals along, in the same statement
UPDATE accounts SET country = 'FR', industry = NULL WHERE id = 1;
SELECT id, territories FROM contacts WHERE account_id = 1;
SELECT id, territory_id FROM deals WHERE account_id = 1;
-- a contact or deal that moves to another account follows it
UPDATE contacts SET account_id = 3 WHERE id = 11;
UPDATE deals SET account_id = NULL WHERE id = 101;
SELECT id, territories FROM contacts WHERE id = 11;
SELECT id, territory_id FROM deals WHERE id = 101;
-- an update of a column no rule reads keeps the territory (deals of an account, of no account)
UPDATE deals SET amount = amount + 1, stage = 'won' WHERE id IN (100, 101, 102);
SELECT id, amount, territory_id IS NOT NULL AS assigned FROM deals WHERE id IN (100, 101, 102) ORDER BY id;
-- a manual choice wins for a deal; contacts cannot be assigned by hand
SELECT territory.assign('deals', '104', :retail);
SELECT territory_id = :retail AS manual FROM deals WHERE id = 104;
SELECT territory.assign('contacts', '11', :retail);
-- a deleted account leaves its contacts in no territory, its deals to their rules or nothing
DELETE FROM accounts WHERE id = 3;
SELECT id, territories FROM contacts WHERE id IN (11, 14) ORDER BY id;
SELECT id, territory_id = :retail AS still_manual FROM deals WHERE id = 104;
-- the history says inherited
SELECT tbl, key, territory_id, action, cause FROM territory.assignment_history
 WHERE tbl IN ('contacts'::regclass, 'deals'::regclass) ORDER BY id;
-- re-runs cover every table, accounts first
CALL territory.run_rules();
SELECT tbl, state, processed, changed FROM territory.rule_runs ORDER BY id;
-- contacts and deals written before their account take its territories when it is inserted
-- (in the same statement or later, with COPY too); an account without territory changes nothing
INSERT INTO contacts VALUES (40, 900, NULL), (41, 901, NULL);
INSERT INTO deals (id, account_id, amount, close_date, stage) VALUES (140, 900, 1, '2026-11-01', 'Proposal');
SELECT id, territories FROM contacts WHERE id IN (40, 41) ORDER BY id;
INSERT INTO accounts VALUES (900, 'DE', 'Retail', NULL), (901, 'JP', 'Wholesale', NULL);
SELECT c.id, c.territories = a.territories AS follows, c.territories <> '{}' AS assigned
  FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.id IN (40, 41) ORDER BY c.id;
SELECT d.id, d.territory_id = ANY (a.territories) AS follows FROM deals d JOIN accounts a ON a.id = d.account_id
 WHERE d.id = 140;
COPY contacts (id, account_id, owner_id) FROM STDIN;
42	902	\N
\.
COPY accounts (id, country, industry, owner_id) FROM STDIN;
902	DE	Retail	\N
\.
SELECT c.id, c.territories = a.territories AS follows, c.territories <> '{}' AS assigned
  FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.id = 42;
SELECT tbl, key, count(*) AS added, min(cause) AS cause FROM territory.assignment_history
 WHERE (tbl, key) IN (('contacts'::regclass, '40'), ('contacts'::regclass, '41'), ('deals'::regclass, '140'),
                      ('contacts'::regclass, '42')) AND action = 'added'
 GROUP BY tbl, key ORDER BY tbl, key;
DELETE FROM contacts WHERE id IN (40, 41, 42);
DELETE FROM deals WHERE id = 140;
DELETE FROM accounts WHERE id IN (900, 901, 902);
-- unmanaging: dependents first
SELECT territory.unmanage_table('accounts');
SELECT territory.unmanage_table('deals');
SELECT territory.unmanage_table('contacts');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'accounts'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT territory.unmanage_table('accounts');

-- a dropped table is forgotten, with its rules; the cascade goes with the last dependent
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('contacts', 'contact');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
DROP TABLE contacts;
SELECT tbl, kind FROM territory.managed_tables;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'accounts'::regclass AND NOT tgisinternal ORDER BY 1;
DROP TABLE accounts;
SELECT count(*) AS managed, (SELECT count(*) FROM territory.rules) AS rules FROM territory.managed_tables;

DROP EXTENSION territory CASCADE;
DROP TABLE deals, odd_deals;

-- Owner assignment (issue 6): a new account, lead or deal without an owner that lands in a
-- territory assigning owners gets one in the same statement: round robin over the members in
-- rotation (current, rotation on, active users, in key order) or the member with the fewest open
-- records; the territory is the one a deal would get among those assigning owners.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT territory.add_type('Named', 1) AS named \gset
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('Germany', :g, code => 'DE') AS de \gset
SELECT territory.add_territory('France', :g, code => 'FR') AS fr \gset
SELECT territory.add_territory('Key accounts', code => 'KEY', type => :named) AS key \gset
CREATE TABLE accounts (id int PRIMARY KEY, country text, revenue numeric, owner_id text);
CREATE TABLE leads (id int PRIMARY KEY, country text, owner_id varchar(20));
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric, close_date date, stage text,
                    created_at timestamptz, owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('leads', 'lead');
SELECT territory.manage_table('deals', 'deal');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:key, $$revenue >= 1000000$$);
SELECT territory.add_rule(:de, $$country = 'DE'$$, tbl => 'leads');
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads');

SELECT territory.add_user(k, initcap(k)) FROM unnest('{ana,bob,cy,dee,eve,fay,gus}'::text[]) k;
UPDATE territory.sales_users SET active = false WHERE key = 'gus';
SELECT territory.add_member(:de, 'bob');
SELECT territory.add_member(:de, 'ana');
SELECT territory.add_member(:de, 'cy', rotation => false);                  -- out of rotation
SELECT territory.add_member(:de, 'gus');                                     -- inactive user
SELECT territory.add_member(:de, 'eve', valid_from => current_date + 1);     -- not yet
SELECT territory.add_member(:fr, 'dee');
SELECT territory.add_member(:fr, 'eve');
SELECT territory.add_member(:key, 'fay');

-- errors; nothing changes
SELECT territory.set_owner_assignment(:de, 'random');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_owner_assignment(NULL, 'round_robin');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_owner_assignment(999999, 'round_robin');
\echo :LAST_ERROR_SQLSTATE
SELECT owner_assignment, count(*) FROM territory.territories GROUP BY 1;

-- round robin: ana and bob in turn (key order), the others skipped; an owner given is kept
SELECT territory.set_owner_assignment(:de, 'Round_Robin ');
SELECT territory.set_owner_assignment(:fr, 'load_balanced');
INSERT INTO leads VALUES (1, 'DE', NULL), (2, 'DE', NULL), (3, 'DE', 'zed'), (4, 'DE', NULL), (5, 'DE', NULL);
INSERT INTO leads VALUES (6, 'DE', NULL);
COPY leads (id, country, owner_id) FROM STDIN;
7	DE	\N
8	US	\N
\.
SELECT id, owner_id FROM leads ORDER BY id;
SELECT t.code, r.turn, u.key FROM territory.rotations r
  JOIN territory.territories t ON t.id = r.territory_id JOIN territory.sales_users u ON u.id = r.user_id
 ORDER BY 1, 2;

-- a rolled-back insert gives its turn back; so does one rolled back to a savepoint
BEGIN;
INSERT INTO leads VALUES (9, 'DE', NULL) RETURNING owner_id;
ROLLBACK;
BEGIN;
SAVEPOINT s;
INSERT INTO leads VALUES (9, 'DE', NULL) RETURNING owner_id;
ROLLBACK TO s;
INSERT INTO leads VALUES (9, 'DE', NULL) RETURNING owner_id;
COMMIT;

-- load balancing: the member with the fewest open records (deals: open stages only), ties in key
-- order; the records of the same statement count
INSERT INTO leads VALUES (20, 'FR', 'dee'), (21, 'FR', 'dee');
INSERT INTO leads SELECT i, 'FR', NULL FROM generate_series(22, 26) i;
SELECT id, owner_id FROM leads WHERE country = 'FR' ORDER BY id;

-- accounts: the territory is the one a deal would get among those assigning owners (Key accounts
-- does not assign: Germany does); once Key accounts does, it wins (type priority)
INSERT INTO accounts VALUES (1, 'DE', 5000000, NULL) RETURNING id, owner_id;
SELECT territory.set_owner_assignment(:key, 'round_robin');
INSERT INTO accounts VALUES (2, 'DE', 5000000, NULL), (3, 'DE', 10, NULL) RETURNING id, owner_id;

-- deals: their one territory (the account's best); open deals count for load balancing
SELECT territory.add_member(:key, 'ana');
SELECT territory.set_owner_assignment(:key, 'load_balanced');
INSERT INTO deals VALUES (1, 1, 10, '2026-12-01', 'Closed Won', now(), 'ana'),
                         (2, 1, 10, '2026-12-01', 'Closed Won', now(), 'ana'),
                         (3, 1, 10, '2026-12-01', 'Proposal', now(), 'fay');
INSERT INTO deals VALUES (4, 1, 10, '2026-12-01', 'Proposal', now(), NULL) RETURNING id, owner_id;
INSERT INTO deals VALUES (5, 1, 10, '2026-12-01', 'Proposal', now(), NULL) RETURNING id, owner_id;

-- contacts are not assigned; an UPDATE never assigns; nobody in rotation: no owner
CREATE TABLE contacts (id int PRIMARY KEY, account_id int, owner_id text);
SELECT territory.manage_table('contacts', 'contact');
INSERT INTO contacts VALUES (1, 1, NULL) RETURNING owner_id;
UPDATE leads SET owner_id = NULL WHERE id = 1;
SELECT owner_id FROM leads WHERE id = 1;
UPDATE territory.members SET rotation = false WHERE territory_id = :de;
INSERT INTO leads VALUES (30, 'DE', NULL) RETURNING owner_id;
-- a table without an owner column is left alone
CREATE TABLE leads2 (id int PRIMARY KEY, country text);
SELECT territory.manage_table('leads2', 'lead', owner => NULL);
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads2');
INSERT INTO leads2 VALUES (1, 'FR') RETURNING territories = ARRAY[:fr] AS in_france;
-- an owner value the column cannot hold is an error of the insert, with the column's message
CREATE TABLE leads3 (id int PRIMARY KEY, country text, owner_id varchar(2));
SELECT territory.manage_table('leads3', 'lead');
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads3');
INSERT INTO leads3 VALUES (1, 'FR', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM leads3;
-- a rolled-back multi-row insert gives every turn back: the next insert takes the first again
SELECT territory.set_owner_assignment(:fr, 'round_robin');
INSERT INTO leads VALUES (40, 'FR', NULL) RETURNING owner_id;
BEGIN;
INSERT INTO leads SELECT i, 'FR', NULL FROM generate_series(41, 45) i;
ROLLBACK;
INSERT INTO leads VALUES (41, 'FR', NULL), (42, 'FR', NULL) RETURNING id, owner_id;
-- a subtransaction rolled back gives back its turns, and those of the subtransactions it contains
BEGIN;
INSERT INTO leads VALUES (43, 'FR', NULL) RETURNING owner_id;
SAVEPOINT s;
INSERT INTO leads VALUES (44, 'FR', NULL) RETURNING owner_id;
SAVEPOINT t;
INSERT INTO leads VALUES (45, 'FR', NULL) RETURNING owner_id;
RELEASE t;
ROLLBACK TO s;
COMMIT;
INSERT INTO leads VALUES (44, 'FR', NULL), (45, 'FR', NULL), (46, 'FR', NULL) RETURNING id, owner_id;
SELECT r.turn, u.key FROM territory.rotations r JOIN territory.sales_users u ON u.id = r.user_id
 WHERE r.territory_id = :fr AND r.turn > 6 ORDER BY 1;
-- more territories assigning at once than the counters kept in shared memory (512): counters are
-- evicted and reloaded from their last rows, and every territory goes on in turn
CREATE TABLE leads5 (id int PRIMARY KEY, n int, owner_id text);
SELECT territory.manage_table('leads5', 'lead');
SELECT count(territory.add_rule(territory.add_territory('Cell ' || i, :g, code => 'CELL' || i),
                                'n = ' || i, tbl => 'leads5'))
  FROM generate_series(1, 700) i;
SELECT count(territory.add_member(id, k)), count(territory.set_owner_assignment(id, 'round_robin'))
  FROM territory.territories, unnest('{ana,bob}'::text[]) k WHERE code LIKE 'CELL%';
INSERT INTO leads5 SELECT i, i, NULL FROM generate_series(1, 700) i;
INSERT INTO leads5 SELECT 1000 + i, i, NULL FROM generate_series(1, 700) i;
INSERT INTO leads5 SELECT 2000 + i, i, NULL FROM generate_series(1, 700) i;
SELECT id / 1000 AS round, owner_id, count(*) FROM leads5 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS turns, count(DISTINCT territory_id) AS territories, max(turn)
  FROM territory.rotations r JOIN territory.territories t ON t.id = r.territory_id WHERE t.code LIKE 'CELL%';
-- clone_model copies the modes
SELECT territory.clone_model(1, 'Next') AS next \gset
SELECT code, owner_assignment FROM territory.territories WHERE model_id = :next AND code NOT LIKE 'CELL%' ORDER BY code;

DROP TABLE contacts, deals, leads, leads2, leads3, leads5, accounts;
DROP EXTENSION territory;

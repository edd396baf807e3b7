-- Forecast configuration (doc/forecasts.md): stages, targets and their splits, target gaps,
-- forecast adjustments, snapshots; who may plan what.  Every error is followed by its SQLSTATE.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- ---------------------------------------------------------------- stages
SELECT stage, category, probability, position, seeded FROM territory.stages ORDER BY position;
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('On Hold', 'omitted', 0, 65);
-- won is certain, lost and omitted count for nothing; categories and percentages are checked
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Signed', 'closed_won', 90, 75);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Parked', 'omitted', 5, 66);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Likely', 'likely', 50, 55);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Sure', 'commit', 100.5, 55);
\echo :LAST_ERROR_SQLSTATE
-- installed stages: an edit clears seeded (so pg_dump keeps it), a delete or a rename is noted in
-- removed_stages (so a restore removes it again), a new row replaces an unedited installed stage of
-- its name (how a restore brings back an edited one), re-adding a removed one forgets the removal,
-- and a row of removed_stages (a restore's) removes the unedited installed stage
BEGIN;
UPDATE territory.stages SET probability = 15 WHERE stage = 'Prospecting';
DELETE FROM territory.stages WHERE stage = 'Needs Analysis';
UPDATE territory.stages SET stage = 'Discovery' WHERE stage = 'Qualification';
INSERT INTO territory.stages VALUES ('Proposal', 'commit', 70, 50, true);
SELECT stage, category, probability, seeded FROM territory.stages ORDER BY position, stage;
SELECT stage FROM territory.removed_stages ORDER BY 1;
INSERT INTO territory.stages VALUES ('Needs Analysis', 'pipeline', 35, 30);
INSERT INTO territory.removed_stages VALUES ('Negotiation');
SELECT stage, probability, seeded FROM territory.stages ORDER BY position, stage;
SELECT stage FROM territory.removed_stages ORDER BY 1;
ROLLBACK;
-- a stage written by hand without a position goes after the last one (two in one statement too)
BEGIN;
INSERT INTO territory.stages (stage, category, probability) VALUES ('Parked by hand', 'omitted', 0);
INSERT INTO territory.stages (stage, category, probability) VALUES ('Pilot', 'best_case', 60), ('Pilot 2', 'commit', 80);
SELECT max(position) AS last_installed FROM territory.stages WHERE seeded;
SELECT stage, position FROM territory.stages WHERE stage IN ('Parked by hand', 'Pilot', 'Pilot 2') ORDER BY position;
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Given', 'pipeline', 5, 3);
SELECT position FROM territory.stages WHERE stage = 'Given';
ROLLBACK;
-- pg_dump keeps the stages of your own, the targets, adjustments and snapshots
SELECT c.relname, x.condition
  FROM pg_extension e
 CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(config, condition)
  JOIN pg_class c ON c.oid = x.config
 WHERE e.extname = 'territory'
   AND c.relname IN ('stages', 'removed_stages', 'targets', 'targets_id_seq', 'forecast_adjustments', 'forecast_adjustments_id_seq',
                     'forecast_snapshots', 'forecast_snapshots_id_seq')
 ORDER BY c.relname;

-- ---------------------------------------------------------------- the model
-- EMEA's children are made out of name order, so that a tie (to the lowest id) is not simply
-- the first child shown (children are shown by name: DACH, France, Nordics).
SELECT territory.add_territory('World', code => 'W') AS w \gset
SELECT territory.add_territory('EMEA', :w, 'EMEA') AS emea \gset
SELECT territory.add_territory('Nordics', :emea, 'NORDICS') AS nordics \gset
SELECT territory.add_territory('France', :emea, 'FR') AS fr \gset
SELECT territory.add_territory('DACH', :emea, 'DACH') AS dach \gset
SELECT territory.add_territory('Berlin', :dach, 'BERLIN') AS berlin \gset
SELECT territory.add_territory('Americas', :w, 'AMER') AS amer \gset
SELECT id, code, path FROM territory.tree() ORDER BY id;

SELECT territory.add_user('wanda', 'Wanda') IS NOT NULL AS added;                          -- manages World
SELECT territory.add_user('erik', 'Erik', login => 'regress_erik') IS NOT NULL AS added;   -- manages EMEA
SELECT territory.add_user('otto', 'Otto') IS NOT NULL AS added;                            -- managed EMEA, long ago
SELECT territory.add_user('fritz', 'Fritz') IS NOT NULL AS added;                          -- manages France
SELECT territory.add_user('fiona', 'Fiona') IS NOT NULL AS added;                          -- sells in France
SELECT territory.add_user('nora', 'Nora') IS NOT NULL AS added;                            -- sells in the Nordics
SELECT territory.add_user('dora', 'Dora') IS NOT NULL AS added;                            -- sold in DACH in Q1
SELECT territory.add_member(:w, 'wanda', 'manager') IS NOT NULL AS added;
SELECT territory.add_member(:emea, 'erik', 'manager') IS NOT NULL AS added;
SELECT territory.add_member(:emea, 'otto', 'manager', valid_to => '2000-12-31') IS NOT NULL AS added;
SELECT territory.add_member(:fr, 'fritz', 'manager') IS NOT NULL AS added;
SELECT territory.add_member(:fr, 'fiona') IS NOT NULL AS added;
SELECT territory.add_member(:nordics, 'nora') IS NOT NULL AS added;
SELECT territory.add_member(:dach, 'dora', valid_from => '2026-01-01', valid_to => '2026-03-31') IS NOT NULL AS added;

CREATE TEMP VIEW targets_shown AS
    SELECT tt.code, t.period, u.key AS user_key, t.amount, t.method, t.updated_by
      FROM territory.targets t
      JOIN territory.territories tt ON tt.id = t.territory_id
      LEFT JOIN territory.sales_users u ON u.id = t.user_id
     ORDER BY t.period, tt.code, u.key NULLS FIRST;

-- ---------------------------------------------------------------- set_target, remove_target
SELECT territory.set_target(:w, '2026', 1000000) AS world_2026 \gset
SELECT territory.set_target(:emea, '2026-Q2', 100) AS emea_q2 \gset
-- setting it again replaces it: same row, new amount
SELECT territory.set_target(:emea, '2026-Q2', 120.5) = :emea_q2 AS same_target;
-- members' targets: during the period, the member of the territory
SELECT territory.set_target(:nordics, '2026-Q2', 40, 'nora') IS NOT NULL AS set;
SELECT territory.set_target(:dach, '2026-Q1', 15, 'dora') IS NOT NULL AS set;
SELECT territory.set_target(:dach, '2026', 15, 'dora') IS NOT NULL AS set;
SELECT * FROM targets_shown;
SELECT territory.set_target(:dach, '2026-Q2', 15, 'dora');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:fr, '2026-Q2', 40, 'nora');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:fr, '2026-Q2', 40, 'nobody');
\echo :LAST_ERROR_SQLSTATE
-- bad arguments
SELECT territory.set_target(999999, '2026-Q2', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(NULL, '2026-Q2', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, '2026-Q2', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, '2026-Q2', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, '2026-Q2', 12.345);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, '2026-Q2', 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:emea, '2026-Q2', 'Infinity');
\echo :LAST_ERROR_SQLSTATE
-- direct SQL gets the same checks from the constraints; one territory target per period (terse:
-- the failing row holds the time)
\set VERBOSITY terse
INSERT INTO territory.targets (territory_id, period, amount) VALUES (:emea, '2026-Q3', 0.001);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.targets (territory_id, period, amount) VALUES (:emea, '2026-Q3', 'NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.targets (territory_id, period, amount, method) VALUES (:emea, '2026-Q3', 1, 'guess');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.targets (territory_id, period, amount) VALUES (:emea, '2026-Q2', 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- removing
SELECT territory.remove_target(:dach, '2026', 'dora');
SELECT territory.remove_target(:dach, '2026', 'dora');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.remove_target(:dach, '2026');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.remove_target(:dach, '2026', 'nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM targets_shown;

-- ---------------------------------------------------------------- target_gaps
-- World's children have no 2026 targets, nor EMEA's for 2026-Q2 (a member's target is not a
-- territory's); EMEA has one for 2026-Q2, World none
CREATE TEMP VIEW gaps_shown AS
    SELECT tt.code, g.period, g.target, g.children_total, g.difference, g.children, g.children_with_target
      FROM territory.target_gaps g JOIN territory.territories tt ON tt.id = g.territory_id
     ORDER BY g.period, tt.code;
SELECT * FROM gaps_shown;

-- ---------------------------------------------------------------- split_target: even
-- 120.50 over 3: 4,016.67 cents each; the 2 cents left over go to the lowest ids, the Nordics
-- and France
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q2') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- EMEA is no gap any more; DACH is one now (Berlin has no target), World still is
SELECT * FROM gaps_shown;
-- editing a child opens the gap again: 33.33 more than planned
SELECT territory.set_target(:fr, '2026-Q2', 73.5) IS NOT NULL AS set;
SELECT * FROM gaps_shown WHERE code = 'EMEA';
-- children with targets under a parent without one: listed, the difference unknown
SELECT territory.set_target(:amer, '2026-Q3', 10) IS NOT NULL AS set;
SELECT * FROM gaps_shown WHERE period = '2026-Q3';
SELECT territory.remove_target(:amer, '2026-Q3');

-- 100.00: 33.34 (Nordics, lowest id), 33.33, 33.33
SELECT territory.set_target(:emea, '2026-Q2', 100) = :emea_q2 AS same_target;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q2', 'even') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- 0.05: 1 cent each, the 2 left over to the lowest ids, Nordics and France
SELECT territory.set_target(:emea, '2026-Q3', 0.05) IS NOT NULL AS set;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q3', ' Even ') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- 1,000.01: 33,333 cents each, 2 left over
SELECT territory.set_target(:emea, '2026-Q4', 1000.01) IS NOT NULL AS set;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q4') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- 0: nothing for anybody
SELECT territory.set_target(:emea, '2027-Q1', 0) IS NOT NULL AS set;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2027-Q1') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- a year of 2,000,000.00 for the world's two children
SELECT tt.code, s.amount FROM territory.split_target(:w, '2026') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- each split sums exactly to its parent
SELECT p.period, p.amount AS parent, sum(c.amount) AS children, sum(c.amount) = p.amount AS exact
  FROM territory.targets p
  JOIN territory.targets c ON c.period = p.period AND c.user_id IS NULL
                          AND c.territory_id IN (SELECT territory.children(p.territory_id))
 WHERE p.territory_id IN (:w, :emea) AND p.user_id IS NULL AND c.method <> 'manual'
 GROUP BY p.period, p.amount ORDER BY p.period;
-- errors
SELECT territory.split_target(:emea, '2026-Q2', 'random');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(:emea, '2026-Q2', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(:emea, '2030-Q1');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:berlin, '2026-Q2', 10) IS NOT NULL AS set;
SELECT territory.split_target(:berlin, '2026-Q2');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(999999, '2026-Q2');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(:emea, NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------- split_target: history, pipeline
-- Two deal tables with their own column names; accounts in the Nordics, France, Berlin (in
-- DACH), EMEA itself and the Americas.
CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric, close_date date, stage text,
                    created_at timestamptz DEFAULT now(), owner_id text);
CREATE TABLE renewals (ref text PRIMARY KEY, account int, value numeric(12,2), closes timestamp, phase text,
                       created timestamptz DEFAULT now(), owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('deals', 'deal');
SELECT territory.manage_table('renewals', 'deal', key => 'ref', account => 'account', amount => 'value',
                              close_date => 'closes', stage => 'phase', created => 'created');
SELECT territory.add_rule(:nordics, $$country = 'SE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:fr, $$country = 'FR'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:berlin, $$country = 'DE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:emea, $$country = 'GB'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:amer, $$country = 'US'$$) IS NOT NULL AS added;
INSERT INTO accounts VALUES (1, 'SE'), (2, 'FR'), (3, 'DE'), (4, 'GB'), (5, 'US');
INSERT INTO deals (id, account_id, amount, close_date, stage) VALUES
    -- closed won in 2026-Q1: Nordics 100, France 150 (+ 50 renewed: 200), DACH 400 (in Berlin)
    (1, 1, 100, '2026-02-10', 'Closed Won'),
    (2, 2, 150, '2026-03-31', 'Closed Won'),
    (3, 3, 400, '2026-01-15', 'Closed Won'),
    -- not closed won in 2026-Q1 by a child of EMEA
    (4, 3, 999, '2026-04-01', 'Closed Won'),      -- 2026-Q2
    (5, 1, 999, '2026-02-01', 'Closed Lost'),
    (6, 4, 999, '2026-02-01', 'Closed Won'),      -- EMEA itself
    (7, 5, 999, '2026-02-01', 'Closed Won'),      -- Americas
    -- 2025-Q4: France 999; the Nordics' credit note makes them -50 (a weight of 0)
    (8, 2, 999, '2025-12-31', 'Closed Won'),
    (9, 1, -50, '2025-11-01', 'Closed Won'),
    -- open in 2026-Q2: Nordics 50 (pipeline), France 150 (best case) + 100 (renewal, stage
    -- unknown: pipeline) = 250, DACH 300 (commit)
    (10, 1, 50, '2026-04-15', 'Prospecting'),
    (11, 2, 150, '2026-05-01', 'Proposal'),
    (12, 3, 300, '2026-06-30', 'Negotiation'),
    -- not open in 2026-Q2
    (13, 3, 5000, '2026-05-05', 'On Hold'),       -- omitted
    (14, 1, 777, '2026-07-01', 'Prospecting'),    -- 2026-Q3
    (15, 1, NULL, '2026-05-01', 'Prospecting');   -- no amount
INSERT INTO renewals (ref, account, value, closes, phase) VALUES
    ('R1', 2, 50, '2026-01-01 00:00', 'Closed Won'),
    ('R2', 3, 999, '2026-04-01 00:00', 'Closed Won'),       -- 2026-Q2: the upper bound is exclusive
    ('R3', 2, 100, '2026-06-30 23:59:59', 'Renewal pending');
SELECT d.id, tt.code FROM deals d LEFT JOIN territory.territories tt ON tt.id = d.territory_id WHERE d.id <= 3 ORDER BY d.id;
-- the weights, per child of EMEA: its forecast's closed won of 2026-Q1, open deals of 2026-Q2
SELECT tt.code, f.closed_won FROM territory.forecast('2026-Q1', :emea) f
  JOIN territory.territories tt ON tt.id = f.territory_id
 WHERE f.user_key IS NULL AND tt.parent_id = :emea ORDER BY tt.code;
SELECT tt.code, f.commit + f.best_case + f.pipeline AS open FROM territory.forecast('2026-Q2', :emea) f
  JOIN territory.territories tt ON tt.id = f.territory_id
 WHERE f.user_key IS NULL AND tt.parent_id = :emea ORDER BY tt.code;

-- history for 2026-Q2 weighs 2026-Q1's closed won, 100 : 200 : 400 of 10,000 cents:
-- Nordics 1,428.57, France 2,857.14, DACH 5,714.29 cents; 9,999 whole, the cent left over to
-- the largest remainder (Nordics, .57): 14.29, 28.57, 57.14
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q2', 'history') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- pipeline for 2026-Q2 weighs 50 : 250 : 300 of 99.99 (9,999 cents): Nordics 833.25, France
-- 4,166.25, DACH 4,999.5 cents; the cent left over to DACH: 8.33, 41.66, 50.00
SELECT territory.set_target(:emea, '2026-Q2', 99.99) = :emea_q2 AS same_target;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q2', 'pipeline') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- 100.02 (10,002 cents): Nordics 833.5, France 4,167.5, DACH 5,001 cents; one cent left, the
-- Nordics and France tie: the lowest id, the Nordics, gets it: 8.34, 41.67, 50.01
SELECT territory.set_target(:emea, '2026-Q2', 100.02) = :emea_q2 AS same_target;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q2', 'pipeline') s JOIN territory.territories tt ON tt.id = s.territory_id;
SELECT * FROM targets_shown WHERE period = '2026-Q2';
-- history for 2026-Q1 weighs 2025-Q4: only France has a positive weight
SELECT territory.set_target(:emea, '2026-Q1', 10) IS NOT NULL AS set;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q1', 'history') s JOIN territory.territories tt ON tt.id = s.territory_id;
-- nothing to weigh: split evenly, and said so (2026-Q3 had no closed won deal; nothing is open
-- in 2027-Q1), the method noted is even
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q4', 'history') s JOIN territory.territories tt ON tt.id = s.territory_id;
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2027-Q1', 'pipeline') s JOIN territory.territories tt ON tt.id = s.territory_id;
SELECT DISTINCT period, method FROM targets_shown WHERE code <> 'EMEA' AND period >= '2026-Q4'
 ORDER BY period;

-- ---------------------------------------------------------------- adjust_forecast
SELECT territory.adjust_forecast(:emea, '2026-Q2', 'commit', 250) IS NOT NULL AS adjusted;
SELECT territory.adjust_forecast(:emea, '2026-Q2', ' Commit ', 200, 'the Berlin deal slips') IS NOT NULL AS adjusted;
SELECT territory.adjust_forecast(:fr, '2026-Q2', 'best_case', 0) IS NOT NULL AS adjusted;
SELECT territory.adjust_forecast(:emea, '2026-Q2', 'closed_won', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(:emea, '2026-Q2', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(:emea, '2026-Q2', 'commit', -5);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(:emea, '2026-Q2', 'commit', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(999999, '2026-Q2', 'commit', 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO territory.forecast_adjustments (territory_id, period, category, amount) VALUES (:emea, '2026-Q2', 'commit', 1.005);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- ---------------------------------------------------------------- who may plan
-- An administrator is a role with INSERT on the table the function writes; a manager plans
-- below their territories (splits and adjusts their own too) and sets the targets of the other
-- members of their territories.
CREATE ROLE regress_planner;
GRANT SELECT, INSERT, UPDATE, DELETE ON territory.targets TO regress_planner;
CREATE ROLE regress_erik;
CREATE ROLE regress_app;

-- erik, by his login: EMEA's manager
SET ROLE regress_erik;
SELECT territory.current_user_id() IS NOT NULL AS known;
SELECT territory.set_target(:fr, '2026-Q3', 30) IS NOT NULL AS below;
SELECT territory.set_target(:berlin, '2026-Q3', 5) IS NOT NULL AS below;
SELECT territory.set_target(:nordics, '2026-Q3', 5, 'nora') IS NOT NULL AS below;
SELECT territory.remove_target(:berlin, '2026-Q3');
SELECT tt.code, s.amount FROM territory.split_target(:emea, '2026-Q3') s JOIN territory.territories tt ON tt.id = s.territory_id;
SELECT territory.adjust_forecast(:emea, '2026-Q3', 'pipeline', 42, 'own territory') IS NOT NULL AS adjusted;
SELECT territory.set_target(:emea, '2026-Q3', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.remove_target(:emea, '2026-Q3');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:amer, '2026-Q3', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(:w, '2026');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(:amer, '2026-Q3', 'commit', 1);
\echo :LAST_ERROR_SQLSTATE
-- the tables stay closed to him
SELECT count(*) FROM territory.targets;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM territory.target_gaps;
\echo :LAST_ERROR_SQLSTATE
SELECT territory._write_target(:emea, '2026-Q1', NULL, 1, 'manual');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- an application role that sets the sales user
SET territory."user" = 'fritz';
SET ROLE regress_app;
SELECT territory.set_target(:fr, '2026-Q3', 12, 'fiona') IS NOT NULL AS other_member;
SELECT territory.set_target(:fr, '2026-Q3', 12, 'fritz');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.set_target(:fr, '2026-Q3', 12);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.adjust_forecast(:fr, '2026-Q3', 'commit', 12) IS NOT NULL AS adjusted;
RESET ROLE;
SET territory."user" = 'wanda';
SET ROLE regress_app;
SELECT territory.set_target(:emea, '2026-Q3', 30.01) IS NOT NULL AS below;
SELECT territory.set_target(:w, '2026-Q3', 100);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a manager no longer, a member who manages nothing, nobody
SET territory."user" = 'otto';
SET ROLE regress_app;
SELECT territory.set_target(:fr, '2026-Q3', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET territory."user" = 'nora';
SET ROLE regress_app;
SELECT territory.set_target(:nordics, '2026-Q3', 1, 'nora');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.split_target(:nordics, '2026-Q3');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET territory."user";
SET ROLE regress_app;
SELECT territory.current_user_id();
SELECT territory.set_target(:fr, '2026-Q3', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the administrator: anywhere, without a sales user; adjustments need INSERT on their table
SET ROLE regress_planner;
SELECT territory.set_target(:w, '2026-Q3', 100) IS NOT NULL AS admin;
SELECT territory.adjust_forecast(:w, '2026-Q3', 'commit', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.snapshot_forecast('2026-Q2');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- who did what: the calling role, not the functions' owner
SELECT * FROM targets_shown WHERE period = '2026-Q3';
SELECT tt.code, a.period, a.category, a.amount, a.note, u.key AS user_key, a.created_by
  FROM territory.forecast_adjustments a
  JOIN territory.territories tt ON tt.id = a.territory_id
  LEFT JOIN territory.sales_users u ON u.id = a.user_id
 ORDER BY a.id;
-- the one in force: the latest of its territory, period and category
SELECT DISTINCT ON (a.territory_id, a.period, a.category) tt.code, a.period, a.category, a.amount
  FROM territory.forecast_adjustments a JOIN territory.territories tt ON tt.id = a.territory_id
 ORDER BY a.territory_id, a.period, a.category, a.id DESC;

-- ---------------------------------------------------------------- snapshot_forecast
BEGIN;
SELECT territory.snapshot_forecast('2026-Q2') AS stored \gset
SELECT :stored > 0 AS some, :stored = (SELECT count(*) FROM territory.forecast('2026-Q2')) AS every_row;
SELECT count(*) AS differences
  FROM (SELECT s.territory_id, s.user_key, s.depth, s.path, s.target, s.closed_won, s.commit, s.best_case,
               s.pipeline, s.weighted_pipeline, s.adjusted_commit, s.attainment, s.gap
          FROM territory.forecast_snapshots s
        EXCEPT ALL
        SELECT * FROM territory.forecast('2026-Q2')) d;
SELECT count(DISTINCT taken_at) AS snapshots, bool_and(taken_at = now()) AS now,
       bool_and(period = '2026-Q2') AS period
  FROM territory.forecast_snapshots;
COMMIT;
SELECT territory.snapshot_forecast(NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------- removals
-- a removed user's targets go, their adjustments stay without them; a removed territory's
-- targets and adjustments go
DELETE FROM territory.sales_users WHERE key = 'fiona';
SELECT count(*) AS fiona_targets FROM territory.targets t WHERE t.user_id IS NOT NULL AND t.territory_id = :fr;
DELETE FROM territory.members WHERE user_id = (SELECT id FROM territory.sales_users WHERE key = 'erik');
DELETE FROM territory.sales_users WHERE key = 'erik';
SELECT count(*) FILTER (WHERE user_id IS NULL) AS without_user, count(*) AS adjustments FROM territory.forecast_adjustments;
SELECT territory.remove_territory(:fr);
SELECT (SELECT count(*) FROM territory.targets WHERE territory_id = :fr) AS targets,
       (SELECT count(*) FROM territory.forecast_adjustments WHERE territory_id = :fr) AS adjustments;

DROP VIEW targets_shown, gaps_shown;
DROP EXTENSION territory CASCADE;
DROP TABLE accounts, deals, renewals;
DROP ROLE regress_planner, regress_erik, regress_app;

-- The reports for BI (territory.forecast_summary, revenue_by_territory, star_performers,
-- sales_cycle, coverage, balance): every figure checked by hand, a filter on the period computing
-- one forecast, and what an unprivileged reader sees as different sales users and as nobody.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- Global (1) > EMEA (2) > Germany (3), France (4); Global > Americas (5) > Brazil (6)
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, code => 'EMEA') AS emea \gset
SELECT territory.add_territory('Germany', :emea, code => 'DE') AS de \gset
SELECT territory.add_territory('France', :emea, code => 'FR') AS fr \gset
SELECT territory.add_territory('Americas', :g, code => 'AMER') AS amer \gset
SELECT territory.add_territory('Brazil', :amer, code => 'BR') AS br \gset

CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE leads (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric, close_date date, stage text,
                    created_at timestamptz, owner_id text);
-- a second deal table: money amounts, timestamptz close dates, varchar stages, and no creation
-- column in the configuration (its deals have no sales cycle)
CREATE TABLE orders (id int PRIMARY KEY, account_id int, amount money, close_date timestamptz,
                     stage varchar(40), created_at timestamptz, owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('leads', 'lead');
SELECT territory.manage_table('deals', 'deal');
SELECT territory.manage_table('orders', 'deal');
UPDATE territory.managed_tables SET created_column = NULL WHERE tbl = 'orders'::regclass;
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:amer, $$country = 'US'$$);

SELECT territory.add_user('ana', 'Ana');
SELECT territory.add_user('dan', 'Dan');
SELECT territory.add_user('bob', 'Bob');
SELECT territory.add_user('cy', 'Cy');
SELECT territory.add_user('dee', 'Dee');
SELECT territory.add_user('zed', 'Zed');
SELECT territory.add_member(:de, 'ana');
SELECT territory.add_member(:de, 'dan');
SELECT territory.add_member(:br, 'dan', valid_to => '2000-12-31');      -- long over
SELECT territory.add_member(:fr, 'bob');
SELECT territory.add_member(:fr, 'ana', valid_from => '2999-01-01');    -- not yet
SELECT territory.add_member(:amer, 'cy');
SELECT territory.add_member(:amer, 'zed');
UPDATE territory.sales_users SET active = false WHERE key = 'zed';     -- zed left: not counted
SELECT territory.add_member(:emea, 'dee', 'manager');

-- accounts: Germany 1, 2, 3; France 4; Americas 5, 7; none 6.  Leads: no rules, no territory.
INSERT INTO accounts VALUES (1, 'DE', 'ana'), (2, 'DE', 'dan'), (3, 'DE', 'bob'), (4, 'FR', 'bob'),
                            (5, 'US', 'cy'), (6, 'JP', 'cy'), (7, 'US', 'cy');
INSERT INTO leads VALUES (1, 'DE', 'bob'), (2, 'FR', 'cy');
INSERT INTO deals VALUES
    (1, 1, 1000, '2026-10-05', 'Closed Won', '2026-09-05 10:00+00', 'ana'),     -- DE, 30 days
    (2, 2, 500.555, '2026-11-10', 'Closed Won', '2026-10-01 23:00+00', 'dan'),  -- DE, 500.56, 40 days
    (3, 4, 2000, '2026-10-20', 'Closed Won', '2026-08-21 00:00+00', 'bob'),     -- FR, 60 days
    (4, 5, 300, '2026-12-01', 'Closed Won', '2026-11-21 12:00+00', 'cy'),       -- AMER, 10 days
    (5, 1, 4000, '2026-11-15', 'Negotiation', '2026-10-01 00:00+00', 'ana'),    -- DE, open: commit
    (6, 4, 700, '2027-01-10', 'Proposal', '2026-11-01 00:00+00', 'bob'),        -- FR, open: best case
    (7, 5, 100, '2026-12-20', 'Stalled', '2026-11-01 00:00+00', 'cy'),          -- AMER, unknown stage
    (8, 6, 800, '2026-10-07', 'Closed Won', '2026-10-01 00:00+00', 'cy'),       -- no territory
    (9, 1, 250, '2026-12-05', 'Closed Lost', '2026-11-01 00:00+00', 'ana'),     -- DE, lost
    (10, 5, 50, '2027-02-03', NULL, '2027-01-01 00:00+00', 'cy'),               -- AMER, no stage
    (11, 2, NULL, '2026-11-11', 'Closed Won', '2026-11-01 00:00+00', 'ana'),    -- no amount: not counted
    (12, 3, 300, '2026-12-15', 'Closed Won', '2026-12-01 08:00+00', 'ana');     -- DE, 14 days
INSERT INTO orders VALUES
    (1, 4, '150', '2026-11-30 23:30+00', 'Closed Won', '2026-01-01 00:00+00', 'bob'),  -- FR
    (2, 5, '75.50', '2026-10-02 12:00+00', 'Stalled', NULL, 'cy');                      -- AMER, unknown stage
SELECT tbl, key, territory_id FROM (SELECT 'deals' AS tbl, id AS key, territory_id FROM deals
                                    UNION ALL SELECT 'orders', id, territory_id FROM orders) d ORDER BY 1, 2;

SELECT territory.set_target(:g, '2026-Q4', 10000);
SELECT territory.set_target(:de, '2026-Q4', 2000);
SELECT territory.set_target(:de, '2026-Q4', 1500, 'ana');
SELECT territory.set_target(:fr, '2027', 5000);
SELECT territory.adjust_forecast(:de, '2026-Q4', 'commit', 3500, 'deal 5 shrinks');

-- ---------------------------------------------------------------- forecast_summary
-- The periods: 2026-Q4 and 2027 (targets), and the months and quarters from the first close
-- date (order 2, 2026-10-02) to the last (deal 10, 2027-02-03): 2026-10 .. 2027-02, 2026-Q4,
-- 2027-Q1.  Six territories in every period, and the members valid in it: ana and dan in
-- Germany, bob in France, cy in the Americas (zed is inactive, dan's Brazil ended in 2000), dee
-- in EMEA; ana's France membership starts in 2999.
SELECT period_text, kind, count(*) AS "rows", count(user_key) AS member_rows
  FROM territory.forecast_summary GROUP BY period, period_text, kind ORDER BY period;

-- 2026-Q4, by hand (targets: Global 10000, Germany 2000, ana 1500; EMEA takes its children's):
--   Germany: won 1000 + 500.56 + 300 = 1800.56; commit 4000 (weighted 80 %: 3200.00);
--            attainment 1800.56 / 2000 = 0.9003, gap 199.44
--     ana 1000 + 300 = 1300, commit 4000 (3200.00): 1300 / 1500 = 0.8667, gap 200.00; dan 500.56
--   France: won 2000 + 150 (order 1) = 2150.00, all bob's
--   EMEA: won 1800.56 + 2150 = 3950.56, commit 4000; target 2000: 1.9753, gap -1950.56
--   Americas: won 300 (cy); pipeline 100 + 75.50 (unknown stages, 0 %) = 175.50
--   Global: won 3950.56 + 300 = 4250.56 (deal 8 has no territory), commit 4000, pipeline 175.50;
--           4250.56 / 10000 = 0.4251, gap 5749.44
--   adjusted commit: Germany's adjustment 3500, and so 3500 for EMEA and Global (a member row
--   keeps the member's commit)
SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
       weighted_pipeline, adjusted_commit, attainment, gap
  FROM territory.forecast_summary WHERE period_text = '2026-Q4';
-- the same rows as territory.forecast_periods computes them
WITH v AS (SELECT territory_id, parent_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                  weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline, attainment, gap
             FROM territory.forecast_summary WHERE period_text = '2026-Q4'),
     f AS (SELECT territory_id, parent_id, user_key, depth, territory.path(territory_id), target, closed_won, commit, best_case, pipeline,
                  weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline, attainment, gap
             FROM territory.forecast_periods('{2026-Q4}'))
SELECT (SELECT count(*) FROM v) AS "rows",
       (SELECT count(*) FROM ((TABLE v EXCEPT ALL TABLE f) UNION ALL (TABLE f EXCEPT ALL TABLE v)) d) AS differences;
-- the year target of France: 5000, which EMEA takes as its own; nothing won in 2027 yet; France's
-- open deal 6 (700, best case, bob's)
SELECT period_text, kind, territory_id, user_key, target, closed_won, best_case, attainment, gap
  FROM territory.forecast_summary WHERE period_text = '2027' AND territory_id IN (:emea, :fr);

-- A filter on the period is applied to the list of periods: forecast_periods runs once (loops=1)
-- for the one period left, not once per period.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT * FROM territory.forecast_summary WHERE period_text = '2026-Q4';
EXPLAIN (COSTS OFF)
SELECT * FROM territory.forecast_summary WHERE period = '2026-11' AND user_key IS NULL;
EXPLAIN (COSTS OFF)
SELECT * FROM territory.forecast_summary WHERE kind = 'quarter';
-- As a BI tool writes it, with the default search_path: the period compared with a literal, and
-- its first and last days (the last included) as dates; a filter on them is applied to the list
-- of periods too.
SET search_path = "$user", public;
SET datestyle = 'ISO, YMD';
SELECT period, period_text, first_day, last_day, territory_id, target, closed_won
  FROM territory.forecast_summary
 WHERE period = '2026-Q4' AND territory_id = :emea AND user_key IS NULL;
SELECT DISTINCT period_text, kind, first_day, last_day
  FROM territory.forecast_summary
 WHERE first_day >= date '2026-10-01' AND last_day <= date '2026-12-31' ORDER BY first_day, last_day;
EXPLAIN (COSTS OFF)
SELECT * FROM territory.forecast_summary WHERE first_day = date '2026-10-01';
SELECT max(period) AS last_period, min(first_day) AS first_day, max(last_day) AS last_day
  FROM territory.forecast_summary;
RESET search_path;
RESET datestyle;

-- ---------------------------------------------------------------- revenue_by_territory
-- Won deals by month and territory: Germany 2026-10 1000 (deal 1), 2026-11 500.56 (deal 2; deal
-- 11 has no amount), 2026-12 300 (deal 12); France 2026-10 2000 (deal 3), 2026-11 150 (order 1,
-- 23:30 UTC on the 30th); Americas 2026-12 300 (deal 4); deal 8 has no territory.  Rolled up:
--   EMEA 2026-10: 2 deals, 3000.00; 2026-11: 2, 650.56; 2026-12: 1, 300.00 (none of its own)
--   Global 2026-10: 3000.00; 2026-11: 650.56; 2026-12: 300 + 300 = 600.00 (2 deals)
SELECT territory_id, path, depth, period, period_text, won_deals, revenue, own_revenue
  FROM territory.revenue_by_territory ORDER BY territory_id, period;

-- ---------------------------------------------------------------- star_performers
-- Won deals with an amount, by owner, whatever their territory (cy's deal 8 counts):
--   2026-10: bob 2000, ana 1000, cy 800 of 3800: 0.5263, 0.2632, 0.2105
--   2026-11: dan 500.56, bob 150 (order 1) of 650.56: 0.7694, 0.2306
--   2026-12: ana 300 (deal 12) and cy 300 (deal 4): a tie, both rank 1, 0.5000 each
--   2026-Q4 and 2026: bob 2150, ana 1300, cy 1100, dan 500.56 of 5050.56:
--     2150 / 5050.56 = 0.42569, 1300 / 5050.56 = 0.25739, 1100 / 5050.56 = 0.21779,
--     500.56 / 5050.56 = 0.09911
SELECT period, period_text, kind, user_key, user_name, won_deals, closed_won, rank, share
  FROM territory.star_performers ORDER BY period, rank, user_key;
-- from the default search_path, by the period and by its days
SET search_path = "$user", public;
SET datestyle = 'ISO, YMD';
SELECT territory_id, period, first_day, last_day, revenue
  FROM territory.revenue_by_territory WHERE period >= '2026-11' AND territory_id = :emea ORDER BY period;
SELECT period, kind, first_day, last_day, user_key, rank
  FROM territory.star_performers
 WHERE date '2026-11-15' BETWEEN first_day AND last_day AND rank = 1 ORDER BY first_day, user_key;
RESET search_path;
RESET datestyle;

-- ---------------------------------------------------------------- sales_cycle
-- Days from created_at (as a UTC date: deal 2 was created on 2026-10-01 at 23:00) to the close
-- date of the won deals in a territory:
--   Germany: 30 (deal 1), 40 (deal 2), 14 (deal 12): avg 28.00, median 30
--   France: 60 (deal 3; order 1 is skipped: orders has no creation column configured)
--   Americas: 10 (deal 4);  EMEA: 14, 30, 40, 60: avg 36.00, median (30 + 40) / 2 = 35
--   Global: 10, 14, 30, 40, 60: avg 154 / 5 = 30.80, median 30;  Brazil: none
SELECT territory_id, path, depth, won_deals, avg_days, median_days, min_days, max_days
  FROM territory.sales_cycle ORDER BY territory_id;

-- ---------------------------------------------------------------- coverage
-- records without territory: account 6 (JP), both leads (no lead rules), deal 8 (account 6);
-- without current members: Global, Brazil (dan's membership ended); without rules of their own:
-- Global, EMEA, Brazil; without records in or below them: Brazil; unknown stages: deal 7
-- (Stalled), deal 10 (no stage), order 2 (Stalled)
SELECT issue, tbl, territory_id, path, stage, records
  FROM territory.coverage ORDER BY issue, tbl::text, territory_id, stage;

-- ---------------------------------------------------------------- balance
-- Territories with current members: EMEA (dee), Germany (ana, dan), France (bob), Americas (cy;
-- zed inactive).  Accounts directly in them: 0, 3, 1, 2; per member 0, 1.5, 1, 2; their mean
-- 4.5 / 4 = 1.125, deviations -1, 1.5 / 1.125 - 1 = 0.3333, 1 / 1.125 - 1 = -0.1111,
-- 2 / 1.125 - 1 = 0.7778.  Gini of (0, 1, 1.5, 2): the sum of |x_i - x_j| over the 12 ordered
-- pairs is 13, over 2 * 4^2 * 1.125 = 36: 0.3611.  Open pipeline: Germany 4000 (deal 5; deal 9
-- is lost), France 700 (deal 6), Americas 100 + 50 + 75.50 = 225.50 (unknown and no stage).
SELECT model_id, territory_id, path, accounts, open_pipeline, members, accounts_per_member, deviation, gini
  FROM territory.balance ORDER BY territory_id;

-- ---------------------------------------------------------------- what a reader sees
-- With the visibility policies on, an unprivileged reader counts what its sales user reads and
-- sees the territories that user may see (and their members and names); nobody, nothing.
SELECT territory.enable_visibility('accounts');
SELECT territory.enable_visibility('leads');
SELECT territory.enable_visibility('deals');
SELECT territory.enable_visibility('orders');
CREATE ROLE report_reader;
GRANT SELECT ON accounts, leads, deals, orders TO report_reader;
GRANT SET ON PARAMETER "territory.user" TO report_reader;
-- the rows of every report, counted as whoever queries (security_invoker, as the reports)
CREATE TEMP VIEW report_rows WITH (security_invoker = true) AS
SELECT (SELECT count(*) FROM territory.forecast_summary) AS forecast_summary,
       (SELECT count(*) FROM territory.revenue_by_territory) AS revenue_by_territory,
       (SELECT count(*) FROM territory.star_performers) AS star_performers,
       (SELECT count(*) FROM territory.sales_cycle) AS sales_cycle,
       (SELECT count(*) FROM territory.coverage) AS coverage,
       (SELECT count(*) FROM territory.balance) AS balance;
GRANT SELECT ON report_rows TO report_reader;
SET ROLE report_reader;

-- no identity: no rows anywhere, and the configuration helpers give nothing away
SELECT * FROM report_rows;
SELECT (SELECT count(*) FROM territory._report_territories()) AS territories,
       (SELECT count(*) FROM territory._report_members()) AS members,
       (SELECT count(*) FROM territory._report_user_names()) AS user_names,
       (SELECT count(*) FROM territory._report_target_periods()) AS target_periods;
SELECT count(*) FROM territory.members;
SELECT territory._report_unrestricted();

-- bob, a member of France: France's figures, from the deals and accounts bob reads (France's,
-- and those he owns: account 3 in Germany, lead 1 without territory)
SET territory."user" = 'bob';
-- periods: France's 2027 target; close dates 2026-10-20 (deal 3) to 2027-01-10 (deal 6)
SELECT period_text, kind, count(*) AS "rows", sum(closed_won) FILTER (WHERE user_key IS NULL) AS closed_won
  FROM territory.forecast_summary GROUP BY period, period_text, kind ORDER BY period;
SELECT territory_id, user_key, path, target, closed_won, best_case
  FROM territory.forecast_summary WHERE period_text = '2027-Q1';
SELECT territory_id, path, period_text, won_deals, revenue, own_revenue
  FROM territory.revenue_by_territory ORDER BY territory_id, period;
SELECT period_text, user_key, user_name, won_deals, closed_won, rank, share
  FROM territory.star_performers ORDER BY period, rank;
SELECT territory_id, won_deals, avg_days, median_days, min_days, max_days FROM territory.sales_cycle;
-- France is covered; of the records without territory bob reads lead 1 only
SELECT issue, tbl, territory_id, stage, records FROM territory.coverage;
-- France: account 4 (account 3 is Germany's), deal 6 open; alone, it is the mean
SELECT territory_id, accounts, open_pipeline, members, accounts_per_member, deviation, gini FROM territory.balance;
-- the names bob may see: his own, and those of France's members (ana's membership is to come)
SELECT user_key, user_name FROM territory._report_user_names() ORDER BY user_key;

-- dee, manager of EMEA: EMEA, Germany and France.  Balance over these three: per member 0, 1.5,
-- 1, mean 2.5 / 3; deviations -1, 0.8, 0.2; Gini of (0, 1, 1.5): 2 * (0 + 2 + 4.5) / (3 * 2.5)
-- - 4 / 3 = 0.4
SET territory."user" = 'dee';
SELECT territory_id, accounts, open_pipeline, members, accounts_per_member, deviation, gini
  FROM territory.balance ORDER BY territory_id;
-- EMEA's revenue from its own subtree; Global is not dee's
SELECT territory_id, period_text, won_deals, revenue, own_revenue
  FROM territory.revenue_by_territory ORDER BY territory_id, period;
-- the stars dee sees, from the deals of EMEA (cy's are not among them): bob 2150, ana 1300,
-- dan 500.56 of 3950.56: 0.5442, 0.3291, 0.1267
SELECT period_text, user_key, user_name, closed_won, rank, share
  FROM territory.star_performers WHERE kind = 'quarter' ORDER BY rank;
-- of dee's part only EMEA's lack of rules of its own; the records without territory are not dee's
SELECT issue, tbl, territory_id, stage, records FROM territory.coverage ORDER BY issue, territory_id;
RESET territory."user";
RESET ROLE;

-- Without the visibility policies nothing restricts the reader: every territory and every
-- record, even with no identity, as for the owner above.
SELECT territory.disable_visibility('accounts');
SELECT territory.disable_visibility('leads');
SELECT territory.disable_visibility('deals');
SELECT territory.disable_visibility('orders');
CREATE TEMP TABLE owner_rows AS SELECT * FROM report_rows;
GRANT SELECT ON owner_rows TO report_reader;
SET ROLE report_reader;
SELECT 'owner' AS who, * FROM owner_rows
UNION ALL
SELECT 'reader', * FROM report_rows;
-- and every sales user's name, zed's included
SELECT count(*) FROM territory._report_user_names();
RESET ROLE;
-- a managed table the reader may not read is an error, not a silent zero
REVOKE SELECT ON orders FROM report_reader;
SET ROLE report_reader;
SELECT count(*) FROM territory.revenue_by_territory;
RESET ROLE;

DROP OWNED BY report_reader;
DROP ROLE report_reader;
DROP VIEW report_rows;
DROP TABLE owner_rows, accounts, leads, deals, orders;
DROP EXTENSION territory;

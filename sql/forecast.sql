-- Forecasts (territory.forecast, territory.forecast_periods): categories from the stages, exact
-- sums in cents, the rollup over the subtree, targets (own or the children's), member rows,
-- adjustments, several deal tables and amount types, periods that overlap, errors.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, code => 'EMEA') AS emea \gset
SELECT territory.add_territory('Germany', :emea, code => 'DE') AS de \gset
SELECT territory.add_territory('France', :emea, code => 'FR') AS fr \gset
SELECT territory.add_territory('Americas', :g, code => 'AMER') AS amer \gset

CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric, close_date date, stage text,
                    created_at timestamptz DEFAULT now(), owner_id text);
-- a second deal table: money amounts, timestamptz close dates, varchar stages
CREATE TABLE orders (id int PRIMARY KEY, account_id int, amount money, close_date timestamptz,
                     stage varchar(40), created_at timestamptz, owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('deals', 'deal');
SELECT territory.manage_table('orders', 'deal');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:amer, $$country = 'US'$$);
INSERT INTO accounts VALUES (1, 'DE', 'ana'), (2, 'FR', 'bob'), (3, 'US', 'cy'), (4, 'JP', 'cy');

SELECT territory.add_user('ana', 'Ana');
SELECT territory.add_user('bob', 'Bob');
SELECT territory.add_user('cy', 'Cy');
SELECT territory.add_user('dee', 'Dee');
SELECT territory.add_member(:de, 'ana');
SELECT territory.add_member(:fr, 'bob', valid_from => '2026-11-15');    -- joins during the quarter
SELECT territory.add_member(:emea, 'dee', 'manager');
SELECT territory.add_member(:de, 'dee', valid_to => '2026-09-30');      -- left before the quarter
SELECT territory.add_member(:amer, 'cy');

-- Deals of 2026-Q4 (and two outside it).  Germany: the amounts test the rounding to the cent
-- (half away from zero, per deal) and the numeric forms (short and long, negative, large).
INSERT INTO deals (id, account_id, amount, close_date, stage, owner_id) VALUES
    (1, 1, 1000, '2026-10-01', 'Closed Won', 'ana'),
    (2, 1, 0.005, '2026-10-02', 'Closed Won', 'ana'),           -- 0.01
    (3, 1, 0.004, '2026-10-03', 'Closed Won', 'ana'),           -- 0.00
    (4, 1, -0.005, '2026-10-04', 'Closed Won', 'ana'),          -- -0.01 (a refund)
    (5, 1, 1234.5678, '2026-11-05', 'Negotiation', 'ana'),      -- 1234.57, commit, 80 %: 987.66
    (6, 1, 10000, '2026-11-06', 'Proposal', 'dee'),             -- best case, 60 %: 6000.00
    (7, 1, 123456789012.34, '2026-12-31', 'Prospecting', 'ana'),-- pipeline, 10 %: 12345678901.23
    (8, 1, 0.0001, '2026-12-07', 'Qualification', 'ana'),       -- 0.00
    (9, 1, 99.995, '2026-12-08', 'Closed Lost', 'ana'),         -- not counted
    (10, 2, 250.10, '2026-11-01', 'Proposal', 'bob'),           -- France, before bob joined
    (11, 2, 49.90, '2026-11-20', 'Value Proposition', 'bob'),   -- best case, 40 %: 19.96
    (12, 2, 7, '2026-12-01', 'Stalled', 'bob'),                 -- unknown stage: pipeline, 0 %
    (13, 2, 3, '2026-12-02', NULL, 'bob'),                      -- no stage: the same
    (14, 3, 500, '2026-10-15', 'Closed Won', 'cy'),
    (15, 4, 999, '2026-10-15', 'Closed Won', 'cy'),             -- an account in no territory
    (16, 1, 1, '2026-09-30', 'Closed Won', 'ana'),              -- Q3
    (17, 1, 2, '2027-01-01', 'Closed Won', 'ana'),              -- 2027
    (18, 1, NULL, '2026-10-20', 'Closed Won', 'ana'),           -- no amount
    (19, 1, 5, NULL, 'Closed Won', 'ana');                      -- no close date
INSERT INTO orders VALUES
    (1, 3, '12.345', '2026-12-31 23:30:00+00', 'Closed Won', now(), 'cy'),   -- $12.35 (money rounds)
    (2, 3, '20', '2027-01-01 00:00:00+00', 'Closed Won', now(), 'cy');       -- 2027 in UTC
SELECT id, territory_id FROM deals ORDER BY id;

-- the quarter: every territory, rolled up, and every member valid in it
SET timezone = 'UTC';
SELECT * FROM territory.forecast('2026-Q4');

-- the same figures computed independently in SQL, per territory (its subtree) and category
WITH d AS (
    SELECT territory_id, round(amount, 2) AS amount, coalesce(s.category, 'pipeline') AS category,
           coalesce(s.probability, 0) AS probability
      FROM deals LEFT JOIN territory.stages s USING (stage)
     WHERE close_date >= '2026-10-01' AND close_date < '2027-01-01' AND amount IS NOT NULL
    UNION ALL
    SELECT territory_id, amount::numeric, s.category, s.probability
      FROM orders JOIN territory.stages s USING (stage)
     WHERE close_date >= '2026-10-01' AND close_date < '2027-01-01')
SELECT t.id AS territory_id,
       coalesce(sum(amount) FILTER (WHERE category = 'closed_won'), 0) AS closed_won,
       coalesce(sum(amount) FILTER (WHERE category = 'commit'), 0) AS commit,
       coalesce(sum(amount) FILTER (WHERE category = 'best_case'), 0) AS best_case,
       coalesce(sum(amount) FILTER (WHERE category = 'pipeline'), 0) AS pipeline,
       coalesce(sum(round(amount * probability / 100, 2))
                    FILTER (WHERE category IN ('commit', 'best_case', 'pipeline')), 0) AS weighted_pipeline
  FROM territory.territories t LEFT JOIN d ON d.territory_id IN (SELECT territory.subtree(t.id))
 GROUP BY t.id ORDER BY t.id;

-- targets: a territory's own, else the sum of its children's; members' own; attainment and gap
SELECT territory.set_target(:g, '2026-Q4', 100000);
SELECT territory.set_target(:de, '2026-Q4', 800.00);
SELECT territory.set_target(:fr, '2026-Q4', 200.50);
SELECT territory.set_target(:de, '2026-Q4', 2000, 'ana');
SELECT territory.set_target(:amer, '2026-Q4', 0);
SELECT territory_id, user_key, target, closed_won, attainment, gap FROM territory.forecast('2026-Q4');

-- adjustments: the latest of a territory, period and category replaces the computed figure, and
-- the territory above adds the adjusted figure
SELECT territory.adjust_forecast(:de, '2026-Q4', 'commit', 5000, 'big renewal expected');
SELECT territory.adjust_forecast(:de, '2026-Q4', 'commit', 1500, 'renewal slipped');
SELECT territory.adjust_forecast(:fr, '2026-Q4', 'best_case', 10);
SELECT territory_id, user_key, commit, adjusted_commit FROM territory.forecast('2026-Q4');
SELECT period, territory_id, user_key, best_case, adjusted_best_case, pipeline, adjusted_pipeline
  FROM territory.forecast_periods('{2026-Q4}', :emea);

-- one subtree; months and their quarter in one call (periods may overlap; each counts its deals)
SELECT * FROM territory.forecast('2026-11', :emea);
SELECT period, territory_id, user_key, closed_won, commit, best_case, pipeline
  FROM territory.forecast_periods('{2026-Q4,2026-10,2026-11,2026-12,2027-01}', :de)
 WHERE user_key IS NULL;
-- fiscal periods and years work the same (the deals of FY2027 with a February start)
SET territory.fiscal_year_start_month = 2;
SELECT period, territory_id, closed_won, pipeline
  FROM territory.forecast_periods(ARRAY['FY2027'::territory.period, '2026'], :g) WHERE user_key IS NULL;
RESET territory.fiscal_year_start_month;

-- a territory with no deals and no target reports zeros
SELECT territory.add_territory('Brazil', :amer, code => 'BR') AS br \gset
SELECT * FROM territory.forecast('2026-Q4', :br);
-- an archived or planning model's territories can be reported too (their deals: none)
SELECT territory.clone_model(1, 'Next year') AS next_model \gset
-- (clone_model copies the targets along with the territories)
SELECT tt.code, t.period, t.user_id IS NOT NULL AS member, t.amount FROM territory.targets t
  JOIN territory.territories tt ON tt.id = t.territory_id WHERE tt.model_id = :next_model ORDER BY 1, 3;
SELECT count(*), sum(closed_won) FROM territory.forecast('2026-Q4', (SELECT id FROM territory.territories
                                                                      WHERE model_id = :next_model AND code = 'G'));

-- errors
SELECT * FROM territory.forecast('2026-Q4', 999999);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM territory.forecast(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM territory.forecast_periods(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM territory.forecast_periods('{}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM territory.forecast_periods('{2026-Q4,NULL}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO deals (id, account_id, amount, close_date, stage) VALUES (90, 1, 'NaN', '2026-10-01', 'Closed Won');
SELECT * FROM territory.forecast('2026-Q4', :de);
\echo :LAST_ERROR_SQLSTATE
UPDATE deals SET amount = 'Infinity' WHERE id = 90;
SELECT * FROM territory.forecast('2026-Q4', :de);
\echo :LAST_ERROR_SQLSTATE
UPDATE deals SET amount = 100000000000000000 WHERE id = 90;        -- 10^19 cents: too large
SELECT * FROM territory.forecast('2026-Q4', :de);
\echo :LAST_ERROR_SQLSTATE
UPDATE deals SET amount = 50000000000000000 WHERE id IN (90, 1);   -- each fits, their sum does not
SELECT * FROM territory.forecast('2026-Q4', :de);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM deals WHERE id = 90;
UPDATE deals SET amount = 1000 WHERE id = 1;

-- row-level security: a sales user sees the forecast of the territories whose deals they read,
-- computed from the deals they see; no identity, no rows
SELECT territory.enable_visibility('deals');
SELECT territory.enable_visibility('orders');
CREATE ROLE forecast_reader;
GRANT SELECT ON deals, orders TO forecast_reader;
GRANT SET ON PARAMETER "territory.user" TO forecast_reader;
SET ROLE forecast_reader;
SELECT territory_id, user_key, closed_won, commit, best_case, pipeline FROM territory.forecast('2026-Q4');
SET territory."user" = 'bob';      -- France, since 2026-11-15
SELECT territory_id, user_key, closed_won, commit, best_case, pipeline FROM territory.forecast('2026-Q4');
SET territory."user" = 'dee';      -- manager of EMEA: EMEA, Germany and France
SELECT territory_id, user_key, closed_won, commit, best_case, pipeline FROM territory.forecast('2026-Q4');
RESET territory."user";
RESET ROLE;
DROP OWNED BY forecast_reader;
DROP ROLE forecast_reader;
DROP TABLE deals, orders, accounts;
DROP EXTENSION territory;

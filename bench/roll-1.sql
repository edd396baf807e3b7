-- roll-1: the full forecast rollup, 1M deals × categories × 12 months to every territory, targets
-- joined, against the floor (one scan of the deals grouped by territory, month and stage) and the
-- best SQL formulation (group by territory and month, then roll up through a closure table).
-- Targets (shared/design/benchmarks.md): ≤ 1.15× the floor; ≥ 3× faster than the SQL formulation.

SELECT bench.start('roll-1', 'the forecast rolled up to every territory for 12 months',
    'The tree and accounts of rls-1; as many deals (fixed seed: a random account, its first territory, '
    || 'one of 10,000 owners, an amount up to 100,000.00, one of the eight default stages, a close date in 2026), '
    || 'an index on the close date; 10,000 members (one per sales user, in random territories of depth 3 or more); '
    || 'monthly targets for 2026 for the territories of depth 4 or less and for every member. '
    || 'Our way: `territory.forecast_periods(<the 12 months of 2026>)`, the forecast of every territory of the model '
    || '(rolled up over its subtree, targets joined, the territories without deals included) and of every member, '
    || 'for each month, in one scan of the deals. The floor: the deals of 2026 grouped by territory, month and stage '
    || '(one scan, one hash aggregate, no rollup). The SQL formulation: the same grouped by territory and month with '
    || 'the categories as `sum(amount) FILTER (...)` (stages joined), then rolled up through a closure table '
    || '(ancestor, descendant) and joined with the targets; it lists only territories with deals and no members. '
    || 'Run as a superuser (no row-level security), work_mem = 256MB for every method. The result is the number '
    || 'of rows; the closed-won total of 2026 of the root is checked equal between our way and the SQL formulation.',
    to_char(bench.accounts(), 'FM999,999,999') || ' deals');

SELECT bench.say('building the tree, the accounts, the deals and the targets');
SELECT bench.make_rls_data();
SELECT bench.make_deal_data();
VACUUM ANALYZE deals;
SET work_mem = '256MB';

CREATE FUNCTION bench.months() RETURNS territory.period[]
    LANGUAGE sql STABLE
AS $$ SELECT ARRAY(SELECT territory.periods('2026-01', '2026-12')) $$;

CREATE VIEW bench.sql_rollup AS
WITH g AS (
    SELECT d.territory_id, date_trunc('month', d.close_date)::date AS month,
           sum(d.amount) FILTER (WHERE s.category = 'closed_won') AS closed_won,
           sum(d.amount) FILTER (WHERE s.category = 'commit') AS commit,
           sum(d.amount) FILTER (WHERE s.category = 'best_case') AS best_case,
           sum(d.amount) FILTER (WHERE coalesce(s.category, 'pipeline') = 'pipeline') AS pipeline,
           sum(round(d.amount * coalesce(s.probability, 0) / 100, 2))
               FILTER (WHERE coalesce(s.category, 'pipeline') IN ('pipeline', 'best_case', 'commit')) AS weighted
      FROM deals d LEFT JOIN territory.stages s ON s.stage = d.stage
     WHERE d.close_date >= '2026-01-01' AND d.close_date < '2027-01-01'
     GROUP BY 1, 2),
r AS (
    SELECT c.ancestor AS territory_id, g.month, sum(g.closed_won) AS closed_won, sum(g.commit) AS commit,
           sum(g.best_case) AS best_case, sum(g.pipeline) AS pipeline, sum(g.weighted) AS weighted
      FROM g JOIN bench.closure c ON c.descendant = g.territory_id
     GROUP BY 1, 2)
SELECT r.*, t.amount AS target
  FROM r LEFT JOIN territory.targets t
    ON t.territory_id = r.territory_id AND t.period OPERATOR(pg_catalog.=) territory.period_of(r.month, 'month') AND t.user_id IS NULL;


CREATE PROCEDURE bench.roll1()
    LANGUAGE plpgsql
AS $$
DECLARE
    lbl text := format('forecast of every territory, 12 months, %s deals', to_char(bench.accounts(), 'FM999,999,999'));
    floor_m text := 'the floor: deals grouped by territory, month and stage (no rollup)';
    ours text := 'territory.forecast_periods (rollup, targets, members)';
    sql_m text := 'SQL: grouped by territory and month, rolled up through a closure table, targets joined';
BEGIN
    CALL bench.measure('roll-1', lbl, floor_m,
        $q$SELECT count(*) FROM (SELECT territory_id, date_trunc('month', close_date), stage, sum(amount)
                                   FROM deals WHERE close_date >= '2026-01-01' AND close_date < '2027-01-01'
                                  GROUP BY 1, 2, 3) g$q$, compare => false);
    CALL bench.measure('roll-1', lbl, ours,
        'SELECT count(*) FROM territory.forecast_periods(bench.months())', compare => false);
    CALL bench.measure('roll-1', lbl, sql_m, 'SELECT count(*) FROM bench.sql_rollup', compare => false);
    CALL bench.check('roll-1', lbl, 'check: closed won of 2026 at the root, ours = SQL formulation',
        $q$SELECT (SELECT sum(closed_won) FROM territory.forecast_periods(bench.months(), 1) WHERE territory_id = 1 AND user_key IS NULL)
                = (SELECT sum(closed_won) FROM bench.sql_rollup WHERE territory_id = 1)$q$, 'true');
    CALL bench.check('roll-1', lbl, 'check: weighted pipeline of 2026 at the root, ours = SQL formulation',
        $q$SELECT (SELECT sum(weighted_pipeline) FROM territory.forecast_periods(bench.months(), 1) WHERE territory_id = 1 AND user_key IS NULL)
                = (SELECT sum(weighted) FROM bench.sql_rollup WHERE territory_id = 1)$q$, 'true');
    PERFORM bench.target('roll-1', 'our rollup ≤ 1.15× the floor', lbl, ours, lbl, floor_m, '<=', 1.15);
    PERFORM bench.target('roll-1', 'the SQL formulation ≥ 3× our time', lbl, sql_m, lbl, ours, '>=', 3.0);
END
$$;
CALL bench.roll1();

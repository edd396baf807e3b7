-- roll-2: one region manager's quarterly forecast through row-level security, against the
-- explicit query for that subtree without row-level security.
-- Target (shared/design/benchmarks.md): ≤ 1.1× the explicit query.

SELECT bench.start('roll-2', 'a region manager''s forecast through row-level security',
    'The data of roll-1 (deals with row-level security on, and the same rows in `deals_plain` without it). '
    || 'A sales user is made manager of the first region (a territory of depth 1: about a quarter of the tree and '
    || 'of the deals). Our way, run as the role the policies apply to with `territory.user` set to the manager: '
    || '`territory.forecast(''2026-Q4'', <region>)`, every territory of the region rolled up with its members, from '
    || 'the deals the manager sees. The explicit query, run as the same role on `deals_plain`: the deals of the quarter '
    || 'whose territory is in `territory.subtree(<region>)`, grouped by territory and stage (no rollup). The result is '
    || 'the number of rows; the closed-won total of the region is checked equal between the two.',
    to_char(bench.accounts(), 'FM999,999,999') || ' deals');

SELECT bench.say('building the tree, the accounts, the deals and the targets');
SELECT bench.make_rls_data();
SELECT bench.make_deal_data();
VACUUM ANALYZE deals, deals_plain;
SELECT bench.rls_ready();
INSERT INTO territory.sales_users (key, name) VALUES ('region_manager', 'Region manager');
INSERT INTO territory.members (territory_id, user_id, role)
SELECT (SELECT min(id) FROM bench.node WHERE depth = 1), id, 'manager' FROM territory.sales_users WHERE key = 'region_manager';

CREATE PROCEDURE bench.roll2()
    LANGUAGE plpgsql
AS $$
DECLARE
    region int := (SELECT min(id) FROM bench.node WHERE depth = 1);
    lbl text := format('2026-Q4, region %s (%s territories)', region,
                       to_char((SELECT count(*) FROM territory.subtree(region)), 'FM999,999'));
    explicit_m text := 'explicit query on the subtree, no row-level security (grouped by territory and stage)';
    ours text := 'territory.forecast through the policies (rollup, targets, members)';
BEGIN
    CALL bench.measure('roll-2', lbl, explicit_m,
        format('SELECT bench.as_reader(%L, %L)', 'region_manager',
               format($q$SELECT count(*) FROM (SELECT territory_id, stage, sum(amount) FROM deals_plain
                          WHERE close_date >= '2026-10-01' AND close_date < '2027-01-01'
                            AND territory_id IN (SELECT territory.subtree(%s)) GROUP BY 1, 2) g$q$, region)),
        compare => false);
    CALL bench.measure('roll-2', lbl, ours,
        format('SELECT bench.as_reader(%L, %L)', 'region_manager',
               format($q$SELECT count(*) FROM territory.forecast('2026-Q4', %s)$q$, region)),
        compare => false);
    CALL bench.check('roll-2', lbl, 'check: closed won of the region, ours = the explicit query',
        format('SELECT bench.as_reader(%L, %L)', 'region_manager',
               format($q$SELECT (SELECT closed_won FROM territory.forecast('2026-Q4', %1$s) WHERE territory_id = %1$s AND user_key IS NULL)
                          = (SELECT coalesce(sum(round(amount, 2)), 0) FROM deals_plain d JOIN territory.stages s USING (stage)
                              WHERE s.category = 'closed_won' AND close_date >= '2026-10-01' AND close_date < '2027-01-01'
                                AND territory_id IN (SELECT territory.subtree(%1$s)))$q$, region)),
        'true');
    PERFORM bench.target('roll-2', 'our forecast through the policies ≤ 1.1× the explicit query', lbl, ours, lbl, explicit_m, '<=', 1.1);
END
$$;
CALL bench.roll2();

-- forecast_summary for readers who see few or no deals: the view first finds its periods (the
-- smallest and largest close date the reader reads); walking the close-date index in order read
-- every deal the reader may not see before one it may (all of them for one who sees none). The
-- reference is the forecast of the same period called directly, which needs no period list.
INSERT INTO territory.sales_users (key, name) VALUES ('leaf_rep', 'Leaf rep'), ('no_deals', 'Sees no deal');
INSERT INTO territory.members (territory_id, user_id)
SELECT (SELECT territory_id FROM deals_plain WHERE territory_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1), id
  FROM territory.sales_users WHERE key = 'leaf_rep';
CREATE PROCEDURE bench.roll2_summary()
    LANGUAGE plpgsql
AS $$
DECLARE
    who text;
    lbl text;
    direct text := 'territory.forecast(''2026-Q4'') through the policies';
    ours text := 'territory.forecast_summary WHERE period_text = ''2026-Q4'' through the policies';
BEGIN
    FOREACH who IN ARRAY ARRAY['leaf_rep', 'no_deals'] LOOP
        lbl := format('forecast_summary, a reader %s', CASE who WHEN 'leaf_rep' THEN 'of one leaf' ELSE 'who sees no deal' END);
        CALL bench.measure('roll-2', lbl, direct,
            format('SELECT bench.as_reader(%L, %L)', who,
                   $q$SELECT count(*) FROM territory.forecast('2026-Q4')$q$));
        CALL bench.measure('roll-2', lbl, ours,
            format('SELECT bench.as_reader(%L, %L)', who,
                   $q$SELECT count(*) FROM territory.forecast_summary WHERE period_text = '2026-Q4'$q$));
        PERFORM bench.target('roll-2', 'forecast_summary of one period ≤ 1.5× the forecast called directly', lbl, ours,
                             lbl, direct, '<=', 1.5);
    END LOOP;
END
$$;
CALL bench.roll2_summary();

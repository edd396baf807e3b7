-- rls-4: building the visible set of a user high in the tree (a member of the root: every
-- territory), cold after a membership change and warm, against the recursive CTE that computes
-- the same set from the territories table.
-- Target (shared/design/benchmarks.md): ≤ 1 ms per 20,000 visible territories.

SELECT bench.start('rls-4', 'building the visible set',
    'The tree of hier-1 (fixed seed) and the sales users of rls-1 (10,000, plus the readers). Each of 200 '
    || 'timed iterations (after a warm-up) is one transaction that adds or removes an unrelated membership '
    || '(which invalidates every backend''s visibility cache) and commits; then '
    || '`SELECT cardinality(territory.visible_territories())` for the member of the root is timed twice: the '
    || 'first rebuilds the cache (users, memberships, access levels) and the visible set, the second is served '
    || 'from them. The recursive CTE walks `territory.territories` from the root through `parent_id` (indexed). '
    || 'Medians; the visible set has every territory of the model.',
    to_char(bench.territories(), 'FM999,999,999') || ' territories');

SELECT bench.say('building the tree, the accounts and the readers');
SELECT bench.make_rls_data();
VACUUM ANALYZE territory.territories, territory.members, territory.sales_users;
SELECT set_config('territory.user', 'v100 %', false);
SELECT format($q$SELECT CASE WHEN $1 %% 2 = 0 THEN territory.add_member(%1$s, 'u1') ELSE 0 END,
                        CASE WHEN $1 %% 2 = 1 THEN territory.remove_member(%1$s, 'u1') END$q$,
              (SELECT territory FROM bench.rls_user WHERE level = '0.1 %')) AS change \gset

CALL bench.measure_changes('rls-4', 'member of the root (every territory visible)', 200, :'change',
    'membership change (commit included)',
    'SELECT cardinality(territory.visible_territories())',
    'visible set, cold (rebuilds the cache after the change)',
    'visible set, warm (from the cache)');
CALL bench.measure('rls-4', 'member of the root (every territory visible)', 'recursive CTE over territory.territories',
    $q$WITH RECURSIVE sub AS (SELECT id FROM territory.territories WHERE id = 1
                              UNION ALL
                              SELECT t.id FROM territory.territories t JOIN sub ON t.parent_id = sub.id)
       SELECT count(*) FROM sub$q$, compare => false);
SELECT count(*) AS nterritories FROM territory.territories \gset
CALL bench.check('rls-4', 'member of the root (every territory visible)', 'visible territories',
    'SELECT cardinality(territory.visible_territories())', :'nterritories');

-- ≤ 1 ms per 20,000 visible territories: the cold build against n / 20,000 ms
INSERT INTO bench.result (bench, label, method, ms, runs, compare, note)
VALUES ('rls-4', 'member of the root (every territory visible)', 'budget: 1 ms per 20,000 visible territories',
        (SELECT count(*) FROM territory.territories) / 20000.0, 0, false, NULL);
SELECT bench.target('rls-4', 'cold build ≤ 1 ms per 20,000 visible territories',
                    'member of the root (every territory visible)', 'visible set, cold (rebuilds the cache after the change)',
                    'member of the root (every territory visible)', 'budget: 1 ms per 20,000 visible territories', '<=', 1.0);
SELECT bench.target('rls-4', 'cold build faster than the recursive CTE',
                    'member of the root (every territory visible)', 'visible set, cold (rebuilds the cache after the change)',
                    'member of the root (every territory visible)', 'recursive CTE over territory.territories', '<=', 1.0);

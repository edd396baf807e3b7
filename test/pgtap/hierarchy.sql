-- The C hierarchy functions agree with a plain recursive query over parent_id on a random forest
-- of 3,000 territories in two models, before and after 300 random moves made in the same
-- transaction (the cache must follow every one of them).
BEGIN;
CREATE EXTENSION territory;
SELECT plan(17);

SELECT setseed(0.42);
SELECT territory.create_model('second') AS second \gset
-- a random forest: each new territory hangs under a random earlier one, or is a root
DO $$
DECLARE
    ids int4[] := '{}';
    m int4;
    p int4;
BEGIN
    FOR i IN 1..3000 LOOP
        m := CASE WHEN i % 3 = 0 THEN 2 ELSE 1 END;
        SELECT t.id INTO p FROM territory.territories t
         WHERE t.model_id = m AND random() < 0.97
         ORDER BY random() LIMIT 1;
        PERFORM territory.add_territory('T' || i, p, model => m);
    END LOOP;
END $$;

CREATE TEMP VIEW expected_paths AS
WITH RECURSIVE up (id, anc, dist) AS (
    SELECT id, parent_id, 1 FROM territory.territories WHERE parent_id IS NOT NULL
    UNION ALL
    SELECT up.id, t.parent_id, up.dist + 1 FROM up JOIN territory.territories t ON t.id = up.anc
     WHERE t.parent_id IS NOT NULL)
SELECT id, anc, dist FROM up;

CREATE FUNCTION pg_temp.check_all(label text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
    RETURN NEXT set_eq(
        'SELECT a.id, d FROM territory.territories a, territory.descendants(a.id) d',
        'SELECT anc, id FROM expected_paths',
        label || ': descendants() of every territory');
    RETURN NEXT results_eq(
        'SELECT a.id, array_agg(x ORDER BY n) FROM territory.territories a,
                territory.ancestors(a.id) WITH ORDINALITY s(x, n) GROUP BY a.id ORDER BY a.id',
        'SELECT id, array_agg(anc ORDER BY dist) FROM expected_paths GROUP BY id ORDER BY id',
        label || ': ancestors() of every territory, nearest first');
    RETURN NEXT results_eq(
        'SELECT t.id, territory.depth(t.id) FROM territory.territories t ORDER BY t.id',
        'SELECT t.id, (SELECT count(*)::int FROM expected_paths e WHERE e.id = t.id) FROM territory.territories t ORDER BY t.id',
        label || ': depth() of every territory');
    RETURN NEXT is(
        (SELECT count(*)::int FROM territory.territories a, territory.territories b
          WHERE (a.id * 7919 + b.id) % 97 = 0
            AND territory.is_ancestor(a.id, b.id)
                IS DISTINCT FROM EXISTS (SELECT FROM expected_paths e WHERE e.anc = a.id AND e.id = b.id)),
        0, label || ': is_ancestor() on ~90,000 pairs');
    RETURN NEXT set_eq(
        'SELECT p.id, c FROM territory.territories p, territory.children(p.id) c',
        'SELECT parent_id, id FROM territory.territories WHERE parent_id IS NOT NULL',
        label || ': children() of every territory');
    -- pre-order: every subtree is contiguous in tree(), parents come first
    RETURN NEXT is(
        (SELECT count(*)::int FROM (
            SELECT t.id, t.n, (SELECT min(n) FROM (SELECT row_number() OVER () n, id FROM territory.tree(t.m)) o
                                WHERE o.id IN (SELECT territory.subtree(t.id))) AS first,
                   (SELECT count(*) FROM territory.subtree(t.id)) AS size,
                   (SELECT max(n) FROM (SELECT row_number() OVER () n, id FROM territory.tree(t.m)) o
                     WHERE o.id IN (SELECT territory.subtree(t.id))) AS last
              FROM (SELECT row_number() OVER () n, id, 1 AS m FROM territory.tree(1)) t
             WHERE t.id % 50 = 0) x
          WHERE first <> n OR last - first + 1 <> size),
        0, label || ': tree() is a pre-order (sampled subtrees are contiguous and start at their root)');
    RETURN NEXT results_eq(
        'SELECT count(*)::int FROM territory.tree(1) UNION ALL SELECT count(*)::int FROM territory.tree(2)',
        'SELECT count(*)::int FROM territory.territories WHERE model_id = 1 UNION ALL
         SELECT count(*)::int FROM territory.territories WHERE model_id = 2',
        label || ': tree() lists every territory of its model once');
END
$f$;

SELECT * FROM pg_temp.check_all('fresh');

-- 300 random moves, each under a random territory of the same model outside its own subtree
DO $$
DECLARE
    t record;
    p int4;
BEGIN
    FOR i IN 1..300 LOOP
        SELECT * INTO t FROM territory.territories ORDER BY random() LIMIT 1;
        SELECT x.id INTO p FROM territory.territories x
         WHERE x.model_id = t.model_id AND x.id <> t.id AND NOT territory.is_ancestor(t.id, x.id)
         ORDER BY random() LIMIT 1;
        PERFORM territory.move_territory(t.id, CASE WHEN random() < 0.05 THEN NULL ELSE p END);
    END LOOP;
END $$;

SELECT * FROM pg_temp.check_all('after 300 moves');

-- active_model() (C, the hierarchy's cache) follows activation in the same transaction, and
-- agrees with the models table
SELECT is(territory.active_model(), (SELECT id FROM territory.models WHERE state = 'active'),
          'active_model() is the active model');
SELECT territory.activate_model(:second);
SELECT is(territory.active_model(), :second, 'active_model() follows an activation in the same transaction');
UPDATE territory.models SET state = 'archived' WHERE id = :second;
SELECT is(territory.active_model(), NULL, 'active_model() is NULL when no model is active');

SELECT * FROM finish();
ROLLBACK;

-- hier-1: descendants, ancestors, depth and is_ancestor from the hierarchy cache, against the
-- three ways a user would otherwise keep a hierarchy in SQL, on the same random tree:
--   a plain parent_id table read by recursive CTEs, a closure table (ancestor, descendant, depth)
--   and an ltree path column with a GiST index.
-- Targets (shared/design/benchmarks.md): descendants at least as fast as the closure table and
-- ≥ 10× faster than the recursive CTE; is_ancestor over a 1M-row join ≤ 1.1× the bare join.

SELECT bench.start('hier-1', 'hierarchy reads',
    'A random tree of depth 6 (fixed seed; level sizes ' || array_to_string(bench.level_sizes(bench.territories()), ', ')
    || ') in `territory.territories` and, on the same nodes, a plain `parent_id` table read by recursive CTEs, '
    || 'a closure table (ancestor, descendant, depth; primary key (ancestor, descendant), index (descendant, ancestor)) '
    || 'and an `ltree` path column with a GiST index. Each line counts the rows (or sums the depths) its query produces; '
    || 'every method of a case gives the same result. Ratios are a method''s median over the first line''s, '
    || 'so above 1 means slower than `territory`.');

-- ---------------------------------------------------------------- the data

SELECT bench.say('building the tree and the baselines');
SELECT bench.make_tree(bench.territories());
SELECT bench.load_territories();

-- the plain parent_id table
CREATE TABLE bench.adj (id int PRIMARY KEY, parent_id int);
INSERT INTO bench.adj SELECT id, parent_id FROM bench.node ORDER BY id;
CREATE INDEX ON bench.adj (parent_id);

-- the closure table, a row for each node itself (depth 0) included
CREATE TABLE bench.closure (ancestor int NOT NULL, descendant int NOT NULL, depth int NOT NULL);
INSERT INTO bench.closure
WITH RECURSIVE c (ancestor, descendant, depth) AS (
    SELECT id, id, 0 FROM bench.adj
    UNION ALL
    SELECT a.parent_id, c.descendant, c.depth + 1
      FROM c JOIN bench.adj a ON a.id = c.ancestor
     WHERE a.parent_id IS NOT NULL
)
SELECT * FROM c ORDER BY ancestor, descendant;
ALTER TABLE bench.closure ADD PRIMARY KEY (ancestor, descendant);
CREATE INDEX ON bench.closure (descendant, ancestor);

-- ltree: the path of ids from the root, e.g. 1.3.27.140
CREATE TABLE bench.lt (id int PRIMARY KEY, path ltree NOT NULL);
INSERT INTO bench.lt
WITH RECURSIVE p (id, path) AS (
    SELECT id, text2ltree(id::text) FROM bench.adj WHERE parent_id IS NULL
    UNION ALL
    SELECT a.id, p.path || a.id::text FROM p JOIN bench.adj a ON a.parent_id = p.id
)
SELECT * FROM p ORDER BY id;
CREATE INDEX ON bench.lt USING gist (path);

-- samples, fixed by the seed: nodes at depths 1 .. 5, 1,000 leaves, and the is_ancestor pairs
SELECT setseed(0.17);
CREATE TABLE bench.picked AS
SELECT n.depth, n.id
  FROM (SELECT n.*, row_number() OVER (PARTITION BY n.depth ORDER BY random()) AS k FROM bench.node n) n
  JOIN (VALUES (1, 4), (2, 5), (3, 10), (4, 50), (5, 200)) AS want (depth, k) ON want.depth = n.depth
 WHERE n.k <= want.k
 ORDER BY n.depth, n.id;

SELECT setseed(0.23);
CREATE TABLE bench.leaf AS
SELECT n.id FROM bench.node n
 WHERE n.depth = 6 AND NOT EXISTS (SELECT FROM bench.node c WHERE c.parent_id = n.id)
 ORDER BY random() LIMIT 1000;

-- (a, b) pairs, ten per territory (1M at M): b a random node, a one of its strict ancestors half
-- of the time (or b itself when b is the root), otherwise a random node
SELECT setseed(0.31);
CREATE TABLE bench.pairs AS
WITH draw AS MATERIALIZED (
    SELECT g, 1 + floor(random() * bench.territories())::int AS b, random() AS coin, random() AS up,
           1 + floor(random() * bench.territories())::int AS other
      FROM generate_series(1, 10 * bench.territories()) g
)
SELECT CASE WHEN d.coin < 0.5
            THEN (string_to_array(ltree2text(l.path), '.'))[1 + floor(d.up * (nlevel(l.path) - 1))::int]::int
            ELSE d.other END AS a,
       d.b
  FROM draw d JOIN bench.lt l ON l.id = d.b
 ORDER BY d.g;

VACUUM ANALYZE territory.territories, bench.node, bench.adj, bench.closure, bench.lt, bench.picked,
    bench.leaf, bench.pairs;

SELECT bench.say(format('tree: %s territories, %s closure rows, %s pairs, %s sampled nodes, %s leaves',
    (SELECT count(*) FROM territory.territories), (SELECT count(*) FROM bench.closure),
    (SELECT count(*) FROM bench.pairs), (SELECT count(*) FROM bench.picked), (SELECT count(*) FROM bench.leaf)));

-- ---------------------------------------------------------------- descendants

-- One case per depth of the sampled nodes; territory.descendants first, so ratios are to it.
CREATE FUNCTION pg_temp.descendants_case(d int) RETURNS text LANGUAGE sql
RETURN format('descendants of %s nodes at depth %s', (SELECT count(*) FROM bench.picked s WHERE s.depth = d), d);

SELECT format($q$CALL bench.measure('hier-1', %1$L, 'territory.descendants',
    'SELECT count(*) FROM bench.picked s, territory.descendants(s.id) WHERE s.depth = %2$s')$q$,
              pg_temp.descendants_case(d), d),
       format($q$CALL bench.measure('hier-1', %1$L, 'recursive CTE',
    'WITH RECURSIVE down (id) AS (
         SELECT a.id FROM bench.picked s JOIN bench.adj a ON a.parent_id = s.id WHERE s.depth = %2$s
         UNION ALL
         SELECT a.id FROM down JOIN bench.adj a ON a.parent_id = down.id)
     SELECT count(*) FROM down')$q$, pg_temp.descendants_case(d), d),
       format($q$CALL bench.measure('hier-1', %1$L, 'closure table',
    'SELECT count(*) FROM bench.picked s JOIN bench.closure c ON c.ancestor = s.id AND c.descendant <> s.id
      WHERE s.depth = %2$s')$q$, pg_temp.descendants_case(d), d),
       format($q$CALL bench.measure('hier-1', %1$L, 'ltree <@ (GiST)',
    'SELECT count(*) FROM bench.picked s JOIN bench.lt a ON a.id = s.id
       JOIN bench.lt d ON d.path <@ a.path AND d.id <> a.id
      WHERE s.depth = %2$s')$q$, pg_temp.descendants_case(d), d),
       format($q$SELECT bench.target('hier-1', %1$L, %2$L, 'territory.descendants', %2$L, 'closure table', '<=', 1.0)$q$,
              format('descendants at depth %s: at least as fast as the closure table (territory / closure)', d),
              pg_temp.descendants_case(d)),
       format($q$SELECT bench.target('hier-1', %1$L, %2$L, 'recursive CTE', %2$L, 'territory.descendants', '>=', 10)$q$,
              format('descendants at depth %s: ≥ 10× faster than the recursive CTE (CTE / territory)', d),
              pg_temp.descendants_case(d))
  FROM generate_series(1, 5) d
\gexec

-- ---------------------------------------------------------------- ancestors

CALL bench.measure('hier-1', 'ancestors of 1,000 leaves', 'territory.ancestors',
    'SELECT count(*) FROM bench.leaf s, territory.ancestors(s.id)');
CALL bench.measure('hier-1', 'ancestors of 1,000 leaves', 'recursive CTE',
    'WITH RECURSIVE up (id) AS (
         SELECT a.parent_id FROM bench.leaf s JOIN bench.adj a ON a.id = s.id WHERE a.parent_id IS NOT NULL
         UNION ALL
         SELECT a.parent_id FROM up JOIN bench.adj a ON a.id = up.id WHERE a.parent_id IS NOT NULL)
     SELECT count(*) FROM up');
CALL bench.measure('hier-1', 'ancestors of 1,000 leaves', 'closure table',
    'SELECT count(*) FROM bench.leaf s JOIN bench.closure c ON c.descendant = s.id AND c.ancestor <> s.id');
CALL bench.measure('hier-1', 'ancestors of 1,000 leaves', 'ltree @> (GiST)',
    'SELECT count(*) FROM bench.leaf s JOIN bench.lt l ON l.id = s.id
       JOIN bench.lt a ON a.path @> l.path AND a.id <> l.id');
CALL bench.measure('hier-1', 'ancestors of 1,000 leaves', 'ltree, ids split from the path',
    'SELECT count(*) FROM bench.leaf s JOIN bench.lt l ON l.id = s.id,
            unnest(string_to_array(ltree2text(subpath(l.path, 0, nlevel(l.path) - 1)), ''.'')) x');

-- ---------------------------------------------------------------- depth

CALL bench.measure('hier-1', 'depth of every node (sum)', 'territory.depth',
    'SELECT sum(territory.depth(id)) FROM bench.adj');
CALL bench.measure('hier-1', 'depth of every node (sum)', 'recursive CTE',
    'WITH RECURSIVE down (id, depth) AS (
         SELECT id, 0 FROM bench.adj WHERE parent_id IS NULL
         UNION ALL
         SELECT a.id, down.depth + 1 FROM down JOIN bench.adj a ON a.parent_id = down.id)
     SELECT sum(depth) FROM down');
CALL bench.measure('hier-1', 'depth of every node (sum)', 'closure table',
    'SELECT sum(depth) FROM (SELECT max(depth) AS depth FROM bench.closure GROUP BY descendant) x');
CALL bench.measure('hier-1', 'depth of every node (sum)', 'ltree nlevel',
    'SELECT sum(nlevel(path) - 1) FROM bench.lt');

-- ---------------------------------------------------------------- is_ancestor

-- Over the pairs table as it is (the target's "bare join" read literally: a count(*) scan that
-- does not even read the columns), and over a real join of the same rows: pairs joined to the
-- parent_id table on b, with and without the is_ancestor filter.
SELECT format($q$CALL bench.measure('hier-1', %1$L, 'territory.is_ancestor',
    'SELECT count(*) FROM bench.pairs WHERE territory.is_ancestor(a, b)')$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'closure table',
    'SELECT count(*) FROM bench.pairs p
      WHERE p.a <> p.b AND EXISTS (SELECT FROM bench.closure c WHERE c.ancestor = p.a AND c.descendant = p.b)')$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'ltree @>',
    'SELECT count(*) FROM bench.pairs p JOIN bench.lt la ON la.id = p.a JOIN bench.lt lb ON lb.id = p.b
      WHERE la.path @> lb.path AND p.a <> p.b')$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'recursive CTE (walk up from b)',
    'WITH RECURSIVE up (a, cur) AS (
         SELECT a, b FROM bench.pairs WHERE a <> b
         UNION ALL
         SELECT up.a, x.parent_id FROM up JOIN bench.adj x ON x.id = up.cur
          WHERE up.cur <> up.a AND x.parent_id IS NOT NULL)
     SELECT count(*) FROM up WHERE cur = a')$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'bare scan: SELECT count(*) FROM pairs',
    'SELECT count(*) FROM bench.pairs', compare => false)$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'scan reading both columns: count(*) WHERE a < b',
    'SELECT count(*) FROM bench.pairs WHERE a < b', compare => false)$q$, c),
       format($q$CALL bench.measure('hier-1', %1$L, 'territory.is_ancestor',
    'SELECT count(*) FROM bench.pairs p JOIN bench.adj t ON t.id = p.b WHERE territory.is_ancestor(p.a, t.id)')$q$, j),
       format($q$CALL bench.measure('hier-1', %1$L, 'bare join: no filter',
    'SELECT count(*) FROM bench.pairs p JOIN bench.adj t ON t.id = p.b', compare => false)$q$, j),
       format($q$SELECT bench.target('hier-1', %1$L, %2$L, 'territory.is_ancestor', %2$L, 'bare scan: SELECT count(*) FROM pairs', '<=', 1.1)$q$,
              format('is_ancestor over %s pairs ≤ 1.1× the bare count(*) scan (territory / bare)', n), c),
       format($q$SELECT bench.target('hier-1', %1$L, %2$L, 'territory.is_ancestor', %2$L, 'bare join: no filter', '<=', 1.1)$q$,
              format('is_ancestor over the %s-row join ≤ 1.1× the bare join (territory / bare)', n), j)
  FROM (SELECT to_char((SELECT count(*) FROM bench.pairs), 'FM999,999,999')) AS x (n),
       LATERAL (SELECT format('is_ancestor(a, b) over %s (a, b) pairs', n),
                       format('the same pairs joined to the parent_id table on b (a %s-row hash join), filtered by is_ancestor(a, id)', n)) AS y (c, j)
\gexec

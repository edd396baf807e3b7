-- Hierarchy functions: traversal, order, paths, pictures, errors, and the cache staying true
-- within the transaction that changes the hierarchy, after rollbacks and across models.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT territory.add_type('Region', 1) AS region \gset
SELECT territory.add_type('Country', 2) AS country \gset
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, 'EMEA', :region) AS emea \gset
SELECT territory.add_territory('APAC', :g, 'APAC', :region) AS apac \gset
SELECT territory.add_territory('Americas', :g, 'AMER', :region) AS amer \gset
SELECT territory.add_territory('DACH', :emea, 'DACH', :country) AS dach \gset
SELECT territory.add_territory('France', :emea, 'FR', :country) AS fr \gset
SELECT territory.add_territory('Berlin', :dach, 'BER') AS ber \gset
SELECT territory.add_territory('Munich', :dach, 'MUC') AS muc \gset
SELECT territory.add_territory('Zurich', :dach, 'ZRH') AS zrh \gset
SELECT territory.add_territory('Japan', :apac, 'JP', :country) AS jp \gset
SELECT territory.add_territory('Partners', code => 'P') AS partners \gset
SELECT territory.add_territory('Reseller "A" \ Co', :partners, 'RA') AS ra \gset

-- pre-order; siblings by name, roots by name
SELECT * FROM territory.tree();
SELECT * FROM territory.tree(1) WHERE depth = 1;

SELECT array_agg(d) AS descendants_of_global FROM territory.descendants(:g) d;
SELECT array_agg(d) AS subtree_of_emea FROM territory.subtree(:emea) d;
SELECT array_agg(d) AS descendants_of_leaf FROM territory.descendants(:ber) d;
SELECT array_agg(c) AS children_of_global FROM territory.children(:g) c;
SELECT count(*) AS children_of_leaf FROM territory.children(:muc);
SELECT array_agg(a) AS ancestors_of_berlin FROM territory.ancestors(:ber) a;
SELECT count(*) AS ancestors_of_root FROM territory.ancestors(:g);

SELECT t.code, territory.depth(t.id), territory.path(t.id)
  FROM territory.territories t ORDER BY t.id;

-- is_ancestor is strict and agrees with ancestors() for every pair
SELECT territory.is_ancestor(:g, :ber) AS g_ber, territory.is_ancestor(:ber, :g) AS ber_g,
       territory.is_ancestor(:ber, :ber) AS self, territory.is_ancestor(:emea, :jp) AS emea_jp,
       territory.is_ancestor(:g, :partners) AS g_partners;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE territory.is_ancestor(a.id, b.id)
                        IS DISTINCT FROM (a.id IN (SELECT territory.ancestors(b.id)))) AS disagreements,
       count(*) FILTER (WHERE territory.is_ancestor(a.id, b.id)) AS ancestor_pairs
  FROM territory.territories a, territory.territories b;
SELECT count(*) AS disagreements
  FROM territory.territories a, territory.territories b
 WHERE territory.is_ancestor(a.id, b.id)
       IS DISTINCT FROM (b.id IN (SELECT territory.descendants(a.id)));

-- the picture
SELECT territory.to_dot();

-- unknown ids are errors, NULLs give NULL
SELECT territory.depth(999);
SELECT territory.path(-1);
SELECT territory.is_ancestor(:g, 999);
SELECT territory.is_ancestor(999, :g);
SELECT * FROM territory.descendants(999);
SELECT * FROM territory.ancestors(999);
SELECT * FROM territory.children(999);
SELECT * FROM territory.subtree(999);
SELECT territory.to_dot(999);
SELECT territory.depth(NULL), territory.path(NULL), territory.is_ancestor(NULL, :g);
SELECT count(*) FROM territory.descendants(NULL);

-- the cache follows changes in the same transaction, and forgets them on rollback
BEGIN;
SELECT territory.move_territory(:dach, :apac);
SELECT territory.path(:ber), territory.is_ancestor(:apac, :ber), territory.is_ancestor(:emea, :ber);
SELECT territory.add_territory('Hamburg', :dach, 'HAM') AS ham \gset
SELECT territory.path(:ham), territory.depth(:ham);
SAVEPOINT s;
SELECT territory.rename_territory(:apac, 'Asia Pacific');
SELECT territory.path(:ham);
ROLLBACK TO SAVEPOINT s;
SELECT territory.path(:ham);
ROLLBACK;
SELECT territory.path(:ber), territory.is_ancestor(:apac, :ber), territory.is_ancestor(:emea, :ber);
SELECT territory.path(:ham);
-- a move made by an earlier statement of the same transaction is seen at once
BEGIN;
SELECT territory.move_territory(:dach, :amer);
SELECT territory.path(:ber), territory.is_ancestor(:amer, :ber);
COMMIT;
SELECT territory.move_territory(:dach, :emea);

-- models are separate forests; tree() and to_dot() take a model
SELECT territory.clone_model(1, 'next year') AS next \gset
SELECT count(*) AS territories, count(*) FILTER (WHERE depth = 0) AS roots FROM territory.tree(:next);
SELECT territory.is_ancestor(:g, t.id) AS across_models
  FROM territory.territories t WHERE t.model_id = :next AND t.code = 'BER';
SELECT count(*) AS descendants FROM territory.descendants(
    (SELECT id FROM territory.territories WHERE model_id = :next AND code = 'G'));
SELECT count(*) FROM territory.tree(territory.create_model('empty'));

-- ids far apart switch the id map from a dense array to a sorted one: same answers
INSERT INTO territory.territories (id, parent_id, name, code) VALUES (2000000000, :ber, 'Far away', 'FAR');
SELECT territory.path(2000000000), territory.depth(2000000000), territory.is_ancestor(:dach, 2000000000),
       territory.is_ancestor(2000000000, :dach);
SELECT count(*) AS disagreements
  FROM territory.territories a, territory.territories b
 WHERE a.model_id = 1 AND b.model_id = 1
   AND territory.is_ancestor(a.id, b.id)
       IS DISTINCT FROM (a.id IN (SELECT territory.ancestors(b.id)));
SELECT territory.depth(1999999999);
DELETE FROM territory.territories WHERE id = 2000000000;

-- type changes reach the picture
UPDATE territory.territory_types SET name = 'Sub-region' WHERE id = :country;
SELECT line FROM regexp_split_to_table(territory.to_dot(), E'\n') line WHERE line LIKE '%Sub-region%';

-- a deep chain (10,000 levels) is no problem for any function
SELECT territory.add_territory('Chain 0', code => 'C0') AS c0 \gset
SELECT max(x.id) AS bottom FROM (
    SELECT territory.add_territory('Chain ' || i, NULL, 'C' || i) AS id FROM generate_series(1, 10000) i) x \gset
-- one statement links them all; its cycle check is linear in the rows it passes
UPDATE territory.territories t SET parent_id = t.id - 1 WHERE t.id > :c0 AND t.id <= :bottom;
SELECT territory.depth(:bottom), territory.is_ancestor(:c0, :bottom),
       (SELECT count(*) FROM territory.ancestors(:bottom)) AS ancestors,
       (SELECT count(*) FROM territory.descendants(:c0)) AS descendants,
       length(territory.path(:bottom)) AS path_length;
SELECT territory.move_territory(:c0, :bottom);

DROP EXTENSION territory;

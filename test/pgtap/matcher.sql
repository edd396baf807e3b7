-- The C matcher agrees with plain SQL: 400 random rules of every indexable shape and some that
-- are not (sharing subexpressions such as lower(state)), and the multi-conjunct rules people
-- write (country, industry IN, a revenue range, a postal prefix), on a random hierarchy with apply_to_children rules, under the three policies, for
-- 3,000 random accounts inserted in one statement, then updated.
BEGIN;
CREATE EXTENSION territory;
SELECT plan(9);
SELECT setseed(0.77);

CREATE TABLE acc (
    id int PRIMARY KEY,
    country text, state text, postal text, industry text,
    revenue numeric, employees int, founded date, rating char(1), vip bool,
    owner_id text);

-- a hierarchy of 200 territories, 3 levels under 4 roots
SELECT territory.add_type('Named', 1), territory.add_type('Region', 2), territory.add_type('Overlay', 3);
DO $$
DECLARE
    p int4;
BEGIN
    FOR i IN 1..200 LOOP
        SELECT t.id INTO p FROM territory.territories t WHERE i > 4 AND random() < 0.9
         ORDER BY random() LIMIT 1;
        PERFORM territory.add_territory('T' || i, p, type => 1 + (i % 3));
    END LOOP;
END $$;
SELECT territory.manage_table('acc', 'account', owner => 'owner_id');

-- random rules
CREATE FUNCTION pg_temp.pick(a text[]) RETURNS text LANGUAGE sql AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;
CREATE TEMP TABLE shapes AS
SELECT g,
       CASE floor(random() * 18)::int
         WHEN 0 THEN format('country = %L', pg_temp.pick('{DE,FR,US,GB,JP,BR}'))
         WHEN 1 THEN format('country IN (%L, %L)', pg_temp.pick('{DE,FR,US}'), pg_temp.pick('{GB,JP,BR}'))
         WHEN 2 THEN format('postal LIKE %L', pg_temp.pick('{1,2,10,12,3,45,9}') || '%')
         WHEN 3 THEN format('revenue >= %s', (random() * 1e7)::int)
         WHEN 4 THEN format('revenue BETWEEN %s AND %s', (random() * 5e6)::int, 5e6 + (random() * 5e6)::int)
         WHEN 5 THEN format('employees < %s', (random() * 5000)::int)
         WHEN 6 THEN format('industry IS NULL')
         WHEN 7 THEN format('industry = %L AND revenue > %s', pg_temp.pick('{Retail,Tech,Health}'), (random() * 5e6)::int)
         WHEN 8 THEN format('country = %L OR postal LIKE %L', pg_temp.pick('{DE,FR}'), pg_temp.pick('{1,2}') || '%')
         WHEN 9 THEN format('lower(state) = %L', pg_temp.pick('{ca,ny,by,be}'))
         WHEN 10 THEN format('founded > %L::date', date '2000-01-01' + (random() * 8000)::int)
         WHEN 11 THEN format('%s <= employees AND vip', (random() * 3000)::int)
         WHEN 12 THEN format('rating = %L', pg_temp.pick('{A,B,C}'))
         WHEN 13 THEN format('lower(country) LIKE %L', '%' || pg_temp.pick('{e,r,u,d}') || '%')
         WHEN 14 THEN format('postal LIKE %L AND lower(state) <> %L', pg_temp.pick('{1,2,3}') || '_%', pg_temp.pick('{ca,ny}'))
         -- the rules people write: a few low-cardinality conjuncts, none selective alone
         WHEN 15 THEN format('country = %L AND industry IN (%L, %L) AND revenue BETWEEN %s AND %s AND postal LIKE %L',
                             pg_temp.pick('{DE,FR,US,GB}'), pg_temp.pick('{Retail,Tech}'), pg_temp.pick('{Health,Tech}'),
                             (random() * 2e6)::int, 2e6 + (random() * 8e6)::int, pg_temp.pick('{1,2,3,4,5,6,7,8,9}') || '%')
         WHEN 16 THEN format('country IN (%L, %L) AND industry = %L AND revenue >= %s AND postal LIKE %L AND employees < %s',
                             pg_temp.pick('{DE,FR,US}'), pg_temp.pick('{GB,JP,IT}'), pg_temp.pick('{Retail,Tech,Health}'),
                             (random() * 5e6)::int, pg_temp.pick('{1,2,3,4,5}') || '%', 1000 + (random() * 5000)::int)
         ELSE format('%L = country AND NOT vip', pg_temp.pick('{DE,US}'))
       END AS criteria,
       random() < 0.15 AS inherit
  FROM generate_series(1, 400) g;
SELECT count(territory.add_rule(t.id, s.criteria, apply_to_children => s.inherit))
  FROM shapes s
  JOIN LATERAL (SELECT id FROM territory.territories WHERE s.g > 0 ORDER BY random() LIMIT 1) t ON true;

-- the expected answer, in SQL: rule -> accounts it matches
CREATE TEMP TABLE rule_match (rule_id int, acc_id int, PRIMARY KEY (rule_id, acc_id));
CREATE TEMP TABLE required (territory_id int, rule_id int);
CREATE TEMP TABLE matched (acc_id int, territory_id int, priority int);
CREATE INDEX ON matched (acc_id);
CREATE TEMP TABLE expected (id int, territories int4[]);
-- the expected territories of every account, computed in plain SQL step by step
CREATE FUNCTION pg_temp.expect() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rl record;
BEGIN
    TRUNCATE rule_match, required, matched, expected;
    FOR rl IN SELECT id, criteria FROM territory.rules WHERE active LOOP
        EXECUTE format($f$INSERT INTO rule_match SELECT %s, id FROM acc WHERE %s$f$, rl.id, rl.criteria);
    END LOOP;
    -- for each territory, the apply_to_children rules of its ancestors
    INSERT INTO required
    SELECT t.id, r.id FROM territory.territories t, territory.ancestors(t.id) anc
      JOIN territory.rules r ON r.territory_id = anc AND r.apply_to_children AND r.active;
    ANALYZE rule_match, required;
    -- a territory matches when one of its rules does and all its required rules do
    INSERT INTO matched
    SELECT DISTINCT m.acc_id, r.territory_id, ty.priority
      FROM rule_match m
      JOIN territory.rules r ON r.id = m.rule_id
      JOIN territory.territories t ON t.id = r.territory_id
      JOIN territory.territory_types ty ON ty.id = t.type_id
     WHERE NOT EXISTS (SELECT FROM required q
                        WHERE q.territory_id = r.territory_id
                          AND NOT EXISTS (SELECT FROM rule_match x WHERE x.rule_id = q.rule_id AND x.acc_id = m.acc_id));
    ANALYZE matched;
    INSERT INTO expected
    SELECT a.id, coalesce((
        SELECT array_agg(m.territory_id ORDER BY m.territory_id)
          FROM matched m, territory.models mo
         WHERE m.acc_id = a.id AND mo.state = 'active'
           AND CASE mo.assignment_policy
                 WHEN 'all' THEN true
                 WHEN 'deepest' THEN NOT EXISTS (SELECT FROM matched d WHERE d.acc_id = a.id
                                                   AND territory.is_ancestor(m.territory_id, d.territory_id))
                 ELSE m.priority = (SELECT min(d.priority) FROM matched d WHERE d.acc_id = a.id)
               END), '{}')
      FROM acc a;
END $$;

INSERT INTO acc
SELECT g, pg_temp.pick('{DE,FR,US,GB,JP,BR,IT}'), pg_temp.pick('{CA,NY,BY,BE,TX,Ca}'),
       (floor(random() * 99999))::text, CASE WHEN random() < 0.2 THEN NULL ELSE pg_temp.pick('{Retail,Tech,Health}') END,
       CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 1e7)::numeric, 2) END,
       (random() * 6000)::int, date '1990-01-01' + (random() * 12000)::int,
       pg_temp.pick('{A,B,C,D}'), random() < 0.3, 'u' || (g % 10)
  FROM generate_series(1, 3000) g;
SELECT pg_temp.expect();
SELECT is((SELECT count(*)::int FROM shapes), 400, '400 rules');
SELECT ok((SELECT count(*) FROM acc WHERE territories <> '{}') > 1000, 'most accounts are in a territory');
SELECT ok((SELECT count(DISTINCT m.rule_id) FROM rule_match m JOIN territory.rules r ON r.id = m.rule_id
            WHERE r.criteria LIKE '% AND industry %' AND r.criteria LIKE '% AND postal LIKE %') >= 10,
          'at least ten multi-conjunct rules match accounts');
SELECT set_eq('SELECT id, territories FROM acc', 'SELECT id, territories FROM expected', 'policy deepest: INSERT of 3,000 accounts');

UPDATE acc SET country = pg_temp.pick('{DE,FR,US}'), revenue = revenue * 2, postal = reverse(postal) WHERE id % 3 = 0;
SELECT pg_temp.expect();
SELECT set_eq('SELECT id, territories FROM acc', 'SELECT id, territories FROM expected', 'policy deepest: UPDATE of 1,000 accounts');

UPDATE territory.models SET assignment_policy = 'all' WHERE state = 'active';
SET LOCAL territory.force_assign = on;
UPDATE acc SET id = id;
SELECT pg_temp.expect();
SELECT set_eq('SELECT id, territories FROM acc', 'SELECT id, territories FROM expected', 'policy all');

UPDATE territory.models SET assignment_policy = 'priority' WHERE state = 'active';
UPDATE acc SET id = id;
SELECT pg_temp.expect();
SELECT set_eq('SELECT id, territories FROM acc', 'SELECT id, territories FROM expected', 'policy priority');

-- switching rules off
UPDATE territory.models SET assignment_policy = 'deepest' WHERE state = 'active';
UPDATE territory.rules SET active = false WHERE id % 4 = 0;
UPDATE acc SET id = id;
SELECT pg_temp.expect();
SELECT set_eq('SELECT id, territories FROM acc', 'SELECT id, territories FROM expected', 'a quarter of the rules switched off');
RESET territory.force_assign;

-- every rule territory in the history has its cause
SELECT is((SELECT count(*)::int FROM territory.assignment_history WHERE cause = 'rule' AND action = 'added' AND rule_id IS NULL),
          0, 'every rule assignment in the history names its rule');

SELECT * FROM finish();
ROLLBACK;

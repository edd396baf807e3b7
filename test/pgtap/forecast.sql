-- territory.forecast and territory.forecast_periods against an independent SQL computation, on
-- generated data (fixed seed): a random hierarchy of a few hundred territories five levels deep
-- (and a second root), an account table assigned by rules, two managed deal tables (numeric
-- amounts of every shape in one, money amounts and timestamptz close dates in the other), every
-- stage category, unknown and NULL stages, close dates over 2026 and around it, owners among the
-- sales users, memberships with validity periods, targets of territories and members,
-- adjustments.  The reference computation walks territory.territories.parent_id with recursive
-- queries (never the C hierarchy functions) and reads the deals through a security_invoker view,
-- so that, run as a sales user, row-level security filters it exactly as it filters the forecast.
-- Then: no double counting (roots, children, months), split_target to the cent with every
-- method, and the forecast as a rep, a regional manager, an admin who sees everything, a member
-- of a territory one of whose children hides its deals, and nobody.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET tap.role_prefix = 'fc_';
\ir lib/drop_roles.psql
RESET client_min_messages;

BEGIN;
CREATE EXTENSION territory;
SELECT plan(47);

-- a timestamptz close date is a date in the session's time zone: one far from UTC
SET LOCAL timezone = 'Asia/Kolkata';
SELECT setseed(0.2026);

-- ---------------------------------------------------------------- generated data

-- World / 5 regions / 3-6 countries / 2-8 areas / 0-4 leaves; and a small second root
DO $$
DECLARE
    w int4 := territory.add_territory('World', code => 'W');
    r int4;
    c int4;
    a int4;
    p int4;
BEGIN
    FOR i IN 1..5 LOOP
        r := territory.add_territory(format('R%s', i), w, format('R%s', i));
        FOR j IN 1..3 + floor(random() * 4)::int LOOP
            c := territory.add_territory(format('R%s-C%s', i, j), r, format('R%s-C%s', i, j));
            FOR k IN 1..2 + floor(random() * 7)::int LOOP
                a := territory.add_territory(format('R%s-C%s-A%s', i, j, k), c, format('R%s-C%s-A%s', i, j, k));
                FOR l IN 1..floor(random() * 5)::int LOOP
                    PERFORM territory.add_territory(format('R%s-C%s-A%s-L%s', i, j, k, l), a,
                                                    format('R%s-C%s-A%s-L%s', i, j, k, l));
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
    p := territory.add_territory('Partners', code => 'P');
    PERFORM territory.add_territory('P-1', territory.add_territory('P1', p, 'P1'), 'P-1');
    PERFORM territory.add_territory('P2', p, 'P2');
END $$;

CREATE TABLE fc_accounts (id int PRIMARY KEY, zone text, owner_id text);
CREATE TABLE fc_deals (id int PRIMARY KEY, account_id int, owner_id text, amount numeric, stage text,
                       close_date date, created_at timestamptz DEFAULT now());
-- a second deal table, with columns of other names and types
CREATE TABLE fc_orders (ref int PRIMARY KEY, acct int, rep text, value money, phase varchar(30),
                        closes timestamptz, created timestamptz DEFAULT now());
SELECT territory.manage_table('fc_accounts', 'account');
SELECT territory.manage_table('fc_deals', 'deal');
SELECT territory.manage_table('fc_orders', 'deal', key => 'ref', owner => 'rep', account => 'acct',
                              amount => 'value', close_date => 'closes', stage => 'phase', created => 'created');
-- one rule per territory: an account's zone is the code of its territory
SELECT count(territory.add_rule(id, format('zone = %L', code)))
  FROM territory.territories WHERE model_id = territory.active_model();

SELECT territory.add_user('boss', 'Boss (manages R2)');
SELECT territory.add_user('ops', 'Ops (sees all)', sees_all => true);
SELECT territory.add_user('rep', 'Rep (one leaf)');
SELECT territory.add_user('mid', 'Mid (member of a country)');
SELECT count(territory.add_user(format('u%s', lpad(i::text, 2, '0')), format('User %s', i),
                                manager => CASE WHEN i <= 5 THEN 'boss' END))
  FROM generate_series(1, 30) i;

-- stages of our own: a commit and a pipeline stage with fractional probabilities, an omitted one
INSERT INTO territory.stages (stage, category, probability, position)
VALUES ('Verbal', 'commit', 87.5, 62), ('Demo', 'pipeline', 33.33, 25), ('On Hold', 'omitted', 0, 90);

CREATE TEMP TABLE gen AS
SELECT ARRAY(SELECT code FROM territory.territories WHERE model_id = territory.active_model() ORDER BY id) AS codes,
       ARRAY['boss', 'ops', 'rep', 'mid', 'ghost', NULL]
           || ARRAY(SELECT format('u%s', lpad(i::text, 2, '0')) FROM generate_series(1, 30) i) AS owners,
       ARRAY['Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Proposal', 'Negotiation',
             'Closed Won', 'Closed Lost', 'Stalled', NULL, 'closed won', 'Verbal', 'Demo', 'On Hold'] AS stages,
       ARRAY[0.005, -0.005, 12.3456, 0.004, 99.995, 1234.5678, -12.345, 0.0049999, -0.0051, 1e-20, 0.0050,
             -0.00, 123456789012.345]::numeric[] AS odd_amounts,
       ARRAY['2025-12-31', '2026-01-01', '2026-09-30', '2026-10-01', '2026-11-30', '2026-12-01', '2026-12-31',
             '2027-01-01']::date[] AS edge_days;

INSERT INTO fc_accounts (id, zone, owner_id)
SELECT s.g, CASE WHEN s.x < 0.04 THEN NULL WHEN s.x < 0.08 THEN 'nowhere'
                 ELSE gen.codes[1 + floor(s.y * cardinality(gen.codes))::int] END,
       gen.owners[1 + floor(s.z * cardinality(gen.owners))::int]
  FROM (SELECT g, random() AS x, random() AS y, random() AS z FROM generate_series(1, 1500) g) s, gen;

INSERT INTO fc_deals (id, account_id, owner_id, amount, stage, close_date)
SELECT s.g,
       CASE WHEN s.a < 0.03 THEN NULL ELSE 1 + floor(s.a * 1500)::int END,
       gen.owners[1 + floor(s.o * cardinality(gen.owners))::int],
       CASE floor(s.k * 9)::int
           WHEN 0 THEN floor(s.m * 100000)::numeric                          -- whole
           WHEN 1 THEN round((s.m * 100000)::numeric, 2)                     -- cents
           WHEN 2 THEN gen.odd_amounts[1 + floor(s.m * cardinality(gen.odd_amounts))::int]
           WHEN 3 THEN round((s.m * 1000)::numeric, 4)                       -- fractions of a cent
           WHEN 4 THEN -round((s.m * 5000)::numeric, 2)                      -- credit notes
           WHEN 5 THEN round((s.m * 1000000)::numeric, 3)
           WHEN 6 THEN round((s.m * 50000)::numeric) / 3                     -- 16 decimals
           WHEN 7 THEN round((s.m * 1e11)::numeric, 2)                       -- large
           ELSE CASE WHEN s.m < 0.3 THEN NULL ELSE round((s.m * 10)::numeric, 5) END
       END,
       gen.stages[1 + floor(s.st * cardinality(gen.stages))::int],
       CASE WHEN s.d < 0.03 THEN NULL
            WHEN s.d < 0.06 THEN gen.edge_days[1 + floor(s.e * cardinality(gen.edge_days))::int]
            WHEN s.d < 0.08 THEN date '2025-11-01' + floor(s.e * 120)::int
            WHEN s.d < 0.10 THEN date '2027-01-01' + floor(s.e * 60)::int
            ELSE date '2026-01-01' + floor(s.e * 365)::int END
  FROM (SELECT g, random() AS a, random() AS o, random() AS k, random() AS m, random() AS st, random() AS d,
               random() AS e
          FROM generate_series(1, 3000) g) s, gen;

INSERT INTO fc_orders (ref, acct, rep, value, phase, closes)
SELECT s.g, 1 + floor(s.a * 1500)::int, gen.owners[1 + floor(s.o * cardinality(gen.owners))::int],
       round((s.m * 20000 - 3000)::numeric, 2)::money,
       gen.stages[1 + floor(s.st * cardinality(gen.stages))::int],
       timestamptz '2025-12-25 00:00:00+00' + s.d * interval '380 days'
  FROM (SELECT g, random() AS a, random() AS o, random() AS m, random() AS st, random() AS d
          FROM generate_series(1, 500) g) s, gen;
-- around midnight in Kolkata (UTC+05:30): in or out of the quarter by the local date
INSERT INTO fc_orders (ref, acct, rep, value, phase, closes)
SELECT o.ref, CASE WHEN o.ref < 506 THEN a.id END, 'u01', o.value, o.phase, o.closes
  FROM (VALUES (501, 100::money, 'Closed Won', '2026-09-30 18:29:59+00'::timestamptz),  -- 2026-09-30 23:59:59 local: Q3
               (502, 200::money, 'Closed Won', '2026-09-30 18:30:00+00'),               -- 2026-10-01 00:00 local: Q4
               (503, 400::money, 'Negotiation', '2026-12-31 18:29:59+00'),              -- 2026-12-31 local: Q4
               (504, 800::money, 'Negotiation', '2026-12-31 18:30:00+00'),              -- 2027-01-01 local: out
               (505, 1600::money, 'Proposal', NULL),                                    -- no close date
               (506, 3200::money, 'Proposal', '2026-11-11 11:11:11+00')) o (ref, value, phase, closes), -- no account
       (SELECT min(id) AS id FROM fc_accounts WHERE territories <> '{}') a;

-- the reference computation reads the hierarchy through these (built with parent_id only)
CREATE SCHEMA fc;
CREATE TABLE fc.tree AS                    -- the active model: depth and path of each territory
WITH RECURSIVE t (id, parent_id, depth, path) AS (
    SELECT id, parent_id, 0, name FROM territory.territories WHERE parent_id IS NULL AND model_id = territory.active_model()
    UNION ALL
    SELECT c.id, c.parent_id, t.depth + 1, t.path || ' / ' || c.name FROM t JOIN territory.territories c ON c.parent_id = t.id)
SELECT * FROM t;
CREATE TABLE fc.below AS                   -- (anc, des): des is anc or below it, dist levels down
WITH RECURSIVE b (anc, des, dist) AS (
    SELECT id, id, 0 FROM fc.tree
    UNION ALL
    SELECT b.anc, c.id, b.dist + 1 FROM b JOIN territory.territories c ON c.parent_id = b.des)
SELECT * FROM b;
CREATE INDEX ON fc.below (anc, des);
CREATE INDEX ON fc.below (des);
ANALYZE fc.tree, fc.below;

-- the people the visibility checks sign in as, and where they are
SELECT id AS r2 FROM territory.territories WHERE code = 'R2' \gset
SELECT t.id AS leaf, t.parent_id AS leaf_area, a.parent_id AS leaf_country
  FROM territory.territories t JOIN territory.territories a ON a.id = t.parent_id
  JOIN fc.tree x ON x.id = t.id AND x.depth = 4
 ORDER BY (SELECT count(*) FROM fc_deals d WHERE d.territory_id = t.id
                                             AND d.close_date BETWEEN '2026-10-01' AND '2026-12-31') DESC, t.id
 LIMIT 1 \gset
-- mid: a country of R3 with the most areas; its area with the most deals of its own in the quarter
-- hides its deals from the members above it
SELECT c.id AS mid_country
  FROM territory.territories c JOIN territory.territories r ON r.id = c.parent_id AND r.code = 'R3'
 ORDER BY (SELECT count(*) FROM territory.territories WHERE parent_id = c.id) DESC, c.id LIMIT 1 \gset
SELECT a.id AS hidden
  FROM territory.territories a WHERE a.parent_id = :mid_country
 ORDER BY (SELECT count(*) FROM fc_deals d WHERE d.territory_id = a.id AND d.amount IS NOT NULL
                                             AND d.close_date BETWEEN '2026-10-01' AND '2026-12-31') DESC, a.id
 LIMIT 1 \gset
-- the node whose target is split: a country of R4 with the most areas
SELECT c.id AS split_node, (SELECT count(*) FROM territory.territories WHERE parent_id = c.id) AS split_kids
  FROM territory.territories c JOIN territory.territories r ON r.id = c.parent_id AND r.code = 'R4'
 ORDER BY 2 DESC, c.id LIMIT 1 \gset
SELECT territory.add_member(:leaf, 'rep');
SELECT territory.add_member(:r2, 'boss', 'manager');
SELECT territory.add_member(:mid_country, 'mid');
SELECT territory.set_access(:hidden, 'deal', 'none');
-- mid owns a few deals of the hidden area: he sees those, not the others
UPDATE fc_deals SET owner_id = 'mid'
 WHERE id IN (SELECT d.id FROM fc_deals d
               WHERE d.territory_id = :hidden AND d.close_date >= '2026-10-01' AND d.close_date < '2027-01-01' AND d.amount IS NOT NULL
               ORDER BY d.id LIMIT 2);

-- memberships of u01 .. u30: open, starting or ending within the quarter, outside it, in spring
INSERT INTO territory.members (territory_id, user_id, role, valid_from, valid_to)
SELECT s.territory_id, s.user_id, CASE WHEN s.r < 0.2 THEN 'manager' ELSE 'member' END, v.valid_from, v.valid_to
  FROM (SELECT t.id AS territory_id, u.id AS user_id, random() AS x, random() AS r, random() AS y
          FROM fc.tree t CROSS JOIN territory.sales_users u WHERE u.key ~ '^u\d+$' ORDER BY t.id, u.id) s
  JOIN (VALUES (0, NULL::date, NULL::date), (1, '2026-11-15', NULL), (2, NULL, '2026-10-15'),
               (3, NULL, '2026-09-30'), (4, '2027-01-01', NULL), (5, '2026-03-10', '2026-05-20'),
               (6, '2026-10-01', '2026-12-31'), (7, '2025-01-01', '2025-12-31')) v (n, valid_from, valid_to)
    ON v.n = floor(s.y * 8)::int
 WHERE s.x < 0.05;

-- targets: some territories (never World: its target is the sum of the nearest ones below), some
-- members, in the quarter, the quarter before, every month and the year; some of 0
INSERT INTO territory.targets (territory_id, period, amount)
SELECT s.id, s.p::territory.period, CASE WHEN s.z < 0.08 THEN 0 ELSE round((s.a * 500000)::numeric, 2) END
  FROM (SELECT t.id, p, random() AS x, random() AS z, random() AS a
          FROM fc.tree t CROSS JOIN unnest(ARRAY['2026-Q4', '2026-Q3', '2026'] || ARRAY(SELECT format('2026-%s', lpad(m::text, 2, '0'))
                                                                                      FROM generate_series(1, 12) m)) p
         WHERE t.depth > 0 ORDER BY t.id, p) s
 WHERE s.x < 0.3;
INSERT INTO territory.targets (territory_id, period, user_id, amount)
SELECT s.territory_id, s.p::territory.period, s.user_id, CASE WHEN s.z < 0.08 THEN 0 ELSE round((s.a * 50000)::numeric, 2) END
  FROM (SELECT m.territory_id, m.user_id, p, random() AS x, random() AS z, random() AS a
          FROM territory.members m CROSS JOIN unnest(ARRAY['2026-Q4', '2026-10', '2026-11', '2026-12', '2026-04']) p
         ORDER BY m.id, p) s
 WHERE s.x < 0.4;
-- the hidden area and one other area of mid's country have targets, the country none
DELETE FROM territory.targets WHERE territory_id = :mid_country AND period::text = '2026-Q4';
SELECT territory.set_target(:hidden, '2026-Q4', 1000.01);
SELECT territory.set_target(max(id), '2026-Q4', 2000.02) FROM territory.territories WHERE parent_id = :mid_country AND id <> :hidden;

-- adjustments: the latest of a territory, period and category is in force
SELECT territory.adjust_forecast(:leaf, '2026-Q4', 'commit', 1000, 'first');
SELECT territory.adjust_forecast(:leaf, '2026-Q4', 'commit', 250.50, 'second: in force');
SELECT territory.adjust_forecast(:leaf_area, '2026-Q4', 'best_case', 7777.77);
SELECT territory.adjust_forecast(:leaf_country, '2026-Q4', 'commit', 123456.78, 'replaces the leaf''s below it');
SELECT territory.adjust_forecast(id, '2026-Q4', 'pipeline', 0) FROM territory.territories WHERE code = 'R4';
SELECT territory.adjust_forecast(id, '2026-11', 'commit', 5000) FROM territory.territories WHERE code = 'R1';
SELECT territory.adjust_forecast(id, '2026-12', 'best_case', 42) FROM territory.territories WHERE code = 'R1-C1';
SELECT territory.adjust_forecast(id, '2026-Q3', 'commit', 1) FROM territory.territories WHERE code = 'W';
SELECT territory.adjust_forecast(:hidden, '2026-Q4', 'commit', 999.99);

-- a planning model: its territories are not in the forecast of the active one
SELECT territory.clone_model(territory.active_model(), 'Next year') AS next_model \gset
SELECT territory.set_target(id, '2026-Q4', 5) FROM territory.territories WHERE model_id = :next_model AND code = 'W';

SELECT ok((SELECT count(*) FROM fc.tree) BETWEEN 250 AND 600 AND (SELECT max(depth) FROM fc.tree) = 4
          AND NOT EXISTS (SELECT FROM fc_deals d JOIN fc_accounts a ON a.id = d.account_id
                           WHERE d.territory_id IS DISTINCT FROM a.territories[1] OR cardinality(a.territories) > 1)
          AND (SELECT count(DISTINCT coalesce(stage, '-')) FROM fc_deals
                WHERE close_date >= '2026-10-01' AND close_date < '2027-01-01' AND territory_id IS NOT NULL) = 14
          AND EXISTS (SELECT FROM fc_deals WHERE amount < 0 AND territory_id IS NOT NULL)
          AND EXISTS (SELECT FROM fc_deals WHERE amount <> round(amount, 2) AND territory_id IS NOT NULL)
          AND EXISTS (SELECT FROM fc_deals WHERE close_date >= '2027-01-01' AND territory_id IS NOT NULL)
          AND EXISTS (SELECT FROM fc_deals WHERE territory_id IS NULL)
          AND EXISTS (SELECT FROM fc_deals d JOIN fc.tree t ON t.id = d.territory_id AND t.depth < 4),
          'generated data: a tree of depth 4, deals in their account''s one territory, every stage, odd amounts');

-- ---------------------------------------------------------------- the reference computation

-- the bounds of a period, by hand
CREATE FUNCTION fc.bounds(p text, OUT lo date, OUT hi date)
    LANGUAGE sql IMMUTABLE
AS $$
SELECT b.lo, (b.lo + CASE WHEN p ~ '^\d{4}$' THEN interval '1 year'
                          WHEN p ~ 'Q' THEN interval '3 months' ELSE interval '1 month' END)::date
  FROM (SELECT CASE WHEN p ~ '^\d{4}$' THEN make_date(p::int, 1, 1)
                    WHEN p ~ 'Q' THEN make_date(left(p, 4)::int, 3 * right(p, 1)::int - 2, 1)
                    ELSE make_date(left(p, 4)::int, right(p, 2)::int, 1) END) b (lo)
$$;

-- every deal of both tables, as the reader sees them (row-level security applies to the reader)
CREATE VIEW fc.deals WITH (security_invoker) AS
SELECT territory_id, owner_id AS owner, amount, stage, close_date AS day FROM public.fc_deals
UNION ALL
SELECT territory_id, rep, value::numeric, phase::text, closes::date FROM public.fc_orders;
-- the configuration, whoever reads it
CREATE VIEW fc.targets AS
SELECT t.territory_id, t.period::text AS period, u.key AS user_key, t.amount
  FROM territory.targets t LEFT JOIN territory.sales_users u ON u.id = t.user_id;
CREATE VIEW fc.members AS
SELECT m.territory_id, u.key, m.valid_from, m.valid_to
  FROM territory.members m JOIN territory.sales_users u ON u.id = m.user_id;
CREATE VIEW fc.adjustments AS
SELECT DISTINCT ON (territory_id, period, category) territory_id, period::text AS period, category, amount
  FROM territory.forecast_adjustments ORDER BY territory_id, period, category, id DESC;

-- The forecast of doc/forecasts.md, row for row.  visible: the territories whose targets and
-- adjustments may be read (NULL: all).
CREATE FUNCTION fc.expected(periods text[], visible int4[] DEFAULT NULL)
    RETURNS TABLE (period text, territory_id int4, parent_id int4, user_key text, depth int4, path text, target numeric,
                   closed_won numeric, commit numeric, best_case numeric, pipeline numeric,
                   weighted_pipeline numeric, adjusted_commit numeric, adjusted_best_case numeric,
                   adjusted_pipeline numeric, attainment numeric, gap numeric)
    LANGUAGE sql STABLE
AS $$
WITH p AS (
    SELECT u.ord, u.name, b.lo, b.hi
      FROM unnest(periods) WITH ORDINALITY u (name, ord) CROSS JOIN LATERAL fc.bounds(u.name) b
), d AS (              -- the deals counted, per period: to the cent, by category
    SELECT p.ord, x.territory_id, x.owner, round(x.amount, 2) AS amount, coalesce(s.category, 'pipeline') AS category,
           round(round(x.amount, 2) * coalesce(s.probability, 0) / 100, 2) AS weighted
      FROM fc.deals x
      LEFT JOIN territory.stages s ON s.stage = x.stage
      JOIN p ON x.day >= p.lo AND x.day < p.hi
     WHERE x.territory_id IS NOT NULL AND x.amount IS NOT NULL
       AND coalesce(s.category, 'pipeline') IN ('closed_won', 'commit', 'best_case', 'pipeline')
), own AS (            -- each territory's own deals
    SELECT p.ord, t.id AS territory_id,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'closed_won'), 0) AS closed_won,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'commit'), 0) AS commit,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'best_case'), 0) AS best_case,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'pipeline'), 0) AS pipeline,
           coalesce(sum(d.weighted) FILTER (WHERE d.category <> 'closed_won'), 0) AS weighted
      FROM fc.tree t CROSS JOIN p LEFT JOIN d ON d.territory_id = t.id AND d.ord = p.ord
     GROUP BY p.ord, t.id
), rolled AS (         -- the subtree's deals
    SELECT o.ord, b.anc AS territory_id, sum(o.closed_won) AS closed_won, sum(o.commit) AS commit,
           sum(o.best_case) AS best_case, sum(o.pipeline) AS pipeline, sum(o.weighted) AS weighted
      FROM fc.below b JOIN own o ON o.territory_id = b.des
     GROUP BY o.ord, b.anc
), tg AS (
    SELECT p.ord, x.territory_id, x.amount
      FROM fc.targets x JOIN p ON x.period = p.name
     WHERE x.user_key IS NULL AND (visible IS NULL OR x.territory_id = ANY (visible))
), target AS (         -- own target, else the sum of the nearest own targets below (none between)
    SELECT tg.ord, b.anc AS territory_id, sum(tg.amount) AS amount
      FROM fc.below b JOIN tg ON tg.territory_id = b.des
     WHERE NOT EXISTS (SELECT FROM fc.below up JOIN fc.below down ON down.des = up.anc
                         JOIN tg m ON m.territory_id = up.anc AND m.ord = tg.ord
                        WHERE up.des = b.des AND up.dist > 0 AND down.anc = b.anc)
     GROUP BY tg.ord, b.anc
), adj AS (
    SELECT p.ord, x.territory_id, x.category, x.amount
      FROM fc.adjustments x JOIN p ON x.period = p.name
     WHERE visible IS NULL OR x.territory_id = ANY (visible)
), adjusted AS (       -- own deals of the territories with no adjustment on the way, and the nearest adjustments
    SELECT o.ord, b.anc AS territory_id, c.category,
           sum(coalesce(a.amount, CASE c.category WHEN 'commit' THEN o.commit WHEN 'best_case' THEN o.best_case
                                                  ELSE o.pipeline END)) AS amount
      FROM fc.below b JOIN own o ON o.territory_id = b.des
     CROSS JOIN (VALUES ('commit'), ('best_case'), ('pipeline')) c (category)
      LEFT JOIN adj a ON a.territory_id = b.des AND a.ord = o.ord AND a.category = c.category
     WHERE NOT EXISTS (SELECT FROM fc.below up JOIN fc.below down ON down.des = up.anc
                         JOIN adj m ON m.territory_id = up.anc AND m.ord = o.ord AND m.category = c.category
                        WHERE up.des = b.des AND up.dist > 0 AND down.anc = b.anc)
     GROUP BY o.ord, b.anc, c.category
), mem AS (            -- the memberships overlapping each period, and the deals below them their user owns
    SELECT p.ord, m.territory_id, m.key,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'closed_won'), 0) AS closed_won,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'commit'), 0) AS commit,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'best_case'), 0) AS best_case,
           coalesce(sum(d.amount) FILTER (WHERE d.category = 'pipeline'), 0) AS pipeline,
           coalesce(sum(d.weighted) FILTER (WHERE d.category <> 'closed_won'), 0) AS weighted
      FROM fc.members m
      JOIN fc.tree t ON t.id = m.territory_id
      JOIN p ON (m.valid_from IS NULL OR m.valid_from < p.hi) AND (m.valid_to IS NULL OR m.valid_to >= p.lo)
      JOIN fc.below b ON b.anc = m.territory_id
      LEFT JOIN d ON d.territory_id = b.des AND d.ord = p.ord AND d.owner = m.key
     GROUP BY p.ord, m.territory_id, m.key
), r AS (
    SELECT p.ord, p.name, t.id AS territory_id, t.parent_id, NULL::text AS user_key, t.depth, t.path, tt.amount AS target,
           f.closed_won, f.commit, f.best_case, f.pipeline, f.weighted,
           ac.amount AS adjusted_commit, ab.amount AS adjusted_best_case, ap.amount AS adjusted_pipeline
      FROM fc.tree t CROSS JOIN p
      JOIN rolled f ON f.territory_id = t.id AND f.ord = p.ord
      JOIN adjusted ac ON ac.territory_id = t.id AND ac.ord = p.ord AND ac.category = 'commit'
      JOIN adjusted ab ON ab.territory_id = t.id AND ab.ord = p.ord AND ab.category = 'best_case'
      JOIN adjusted ap ON ap.territory_id = t.id AND ap.ord = p.ord AND ap.category = 'pipeline'
      LEFT JOIN target tt ON tt.territory_id = t.id AND tt.ord = p.ord
    UNION ALL
    SELECT p.ord, p.name, t.id, t.parent_id, m.key, t.depth, t.path, x.amount,
           m.closed_won, m.commit, m.best_case, m.pipeline, m.weighted, m.commit, m.best_case, m.pipeline
      FROM mem m JOIN p ON p.ord = m.ord JOIN fc.tree t ON t.id = m.territory_id
      LEFT JOIN fc.targets x ON x.territory_id = m.territory_id AND x.period = p.name AND x.user_key = m.key
)
SELECT r.name, r.territory_id, r.parent_id, r.user_key, r.depth, r.path, r.target, r.closed_won, r.commit, r.best_case,
       r.pipeline, r.weighted, r.adjusted_commit, r.adjusted_best_case, r.adjusted_pipeline,
       CASE WHEN r.target <> 0 THEN round(r.closed_won / r.target, 4) END, r.target - r.closed_won
  FROM r
$$;

-- the figures of each territory's own deals (no hierarchy at all)
CREATE FUNCTION fc.own(period text)
    RETURNS TABLE (territory_id int4, closed_won numeric, commit numeric, best_case numeric, pipeline numeric,
                   weighted_pipeline numeric)
    LANGUAGE sql STABLE
AS $$
SELECT x.territory_id,
       coalesce(sum(round(x.amount, 2)) FILTER (WHERE s.category = 'closed_won'), 0),
       coalesce(sum(round(x.amount, 2)) FILTER (WHERE s.category = 'commit'), 0),
       coalesce(sum(round(x.amount, 2)) FILTER (WHERE s.category = 'best_case'), 0),
       coalesce(sum(round(x.amount, 2)) FILTER (WHERE s.category = 'pipeline' OR s.category IS NULL), 0),
       coalesce(sum(round(round(x.amount, 2) * s.probability / 100, 2))
                    FILTER (WHERE s.category IN ('commit', 'best_case', 'pipeline')), 0)
  FROM fc.deals x LEFT JOIN territory.stages s ON s.stage = x.stage, fc.bounds(period) p
 WHERE x.day >= p.lo AND x.day < p.hi AND x.territory_id IS NOT NULL AND x.amount IS NOT NULL
 GROUP BY x.territory_id
$$;

-- ---------------------------------------------------------------- the forecast, as a superuser

CREATE TEMP TABLE f_q4 AS
SELECT f.ordinality AS n, f.territory_id, f.user_key, f.depth, f.path, f.target, f.closed_won, f.commit,
       f.best_case, f.pipeline, f.weighted_pipeline, f.adjusted_commit, f.attainment, f.gap
  FROM territory.forecast('2026-Q4') WITH ORDINALITY f;

SELECT set_eq($$SELECT territory_id, user_key FROM f_q4$$,
              $$SELECT id, NULL FROM fc.tree
                UNION ALL
                SELECT m.territory_id, m.key FROM fc.members m JOIN fc.tree t ON t.id = m.territory_id
                 WHERE (m.valid_from IS NULL OR m.valid_from <= '2026-12-31')
                   AND (m.valid_to IS NULL OR m.valid_to >= '2026-10-01')$$,
              'forecast: a row for every territory of the active model and every membership overlapping the period');
SELECT bag_eq($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap FROM f_q4$$,
              $$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap FROM fc.expected('{2026-Q4}')$$,
              'forecast(2026-Q4): every territory and member row equals the SQL computation');
SELECT bag_eq($$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM territory.forecast_periods('{2026-07,2026-02,2026-12,2026-01,2026-10,2026-05,2026-09,2026-03,2026-11,2026-06,2026-04,2026-08}')$$,
              $$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM fc.expected('{2026-07,2026-02,2026-12,2026-01,2026-10,2026-05,2026-09,2026-03,2026-11,2026-06,2026-04,2026-08}')$$,
              'forecast_periods(12 months, shuffled): every row of every month equals the SQL computation (and names the parent)');
SELECT is_empty($$SELECT n FROM (SELECT n, k, lag(k) OVER (ORDER BY n) AS previous
                                   FROM (SELECT f.ordinality AS n,
                                                array_position('{2026-07,2026-02,2026-12,2026-01,2026-10,2026-05,2026-09,2026-03,2026-11,2026-06,2026-04,2026-08}'::text[],
                                                               f.period::text) AS k
                                           FROM territory.forecast_periods('{2026-07,2026-02,2026-12,2026-01,2026-10,2026-05,2026-09,2026-03,2026-11,2026-06,2026-04,2026-08}')
                                                WITH ORDINALITY f) x) y
                  WHERE previous > k$$,
                'forecast_periods: the rows of each period together, in the order of the array');
SELECT bag_eq($$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM territory.forecast_periods('{2026,2026-Q4,2026-11,2026-Q3}')$$,
              $$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM fc.expected('{2026,2026-Q4,2026-11,2026-Q3}')$$,
              'forecast_periods(overlapping periods): a deal counts in every period containing its close date');
SELECT bag_eq($$SELECT period::text, territory_id, user_key, target, closed_won, commit, adjusted_commit,
                       adjusted_best_case, attainment, gap
                  FROM territory.forecast_periods('{2026-Q4,2026-11,2026-Q4}')$$,
              $$SELECT period, territory_id, user_key, target, closed_won, commit, adjusted_commit,
                       adjusted_best_case, attainment, gap FROM fc.expected('{2026-Q4,2026-11,2026-Q4}')$$,
              'forecast_periods(a period twice): both sets of rows have the targets and adjustments');
SELECT bag_eq(format($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                              weighted_pipeline, adjusted_commit, attainment, gap
                         FROM territory.forecast('2026-Q4', %s)$$, :leaf_country),
              format($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                              weighted_pipeline, adjusted_commit, attainment, gap
                         FROM fc.expected('{2026-Q4}') e
                        WHERE territory_id IN (SELECT des FROM fc.below WHERE anc = %s)$$, :leaf_country),
              'forecast(period, territory): the rows of its subtree, the same figures, depths and paths');
-- a few figures by hand, in case the reference computation shared a misreading
SELECT results_eq(format($$SELECT adjusted_commit, commit <> 250.50 FROM f_q4 WHERE territory_id = %s AND user_key IS NULL
                           UNION ALL SELECT adjusted_commit, commit <> 123456.78 FROM f_q4 WHERE territory_id = %s AND user_key IS NULL$$,
                         :leaf, :leaf_country),
                  $$VALUES (250.50, true), (123456.78, true)$$,
                  'the latest adjustment is in force, and replaces the adjusted figures below it');
SELECT results_eq($$SELECT target IS NOT NULL, target = (SELECT sum(target) FROM f_q4
                                                          WHERE depth = 1 AND path LIKE 'World / %' AND user_key IS NULL)
                      FROM f_q4 WHERE depth = 0 AND path = 'World' AND user_key IS NULL$$,
                  $$VALUES (true, true)$$,
                  'World has no target of its own: its target is its regions''');

-- order: pre-order, each territory followed by its members ordered by key
SELECT is_empty($$WITH r AS (SELECT n, territory_id, user_key,
                                    max(n) FILTER (WHERE user_key IS NULL) OVER (ORDER BY n) AS head FROM f_q4)
                  SELECT r.n FROM r JOIN f_q4 h ON h.n = r.head
                   WHERE r.user_key IS NOT NULL
                     AND (h.territory_id <> r.territory_id
                          OR r.user_key <= coalesce((SELECT max(x.user_key) FROM f_q4 x WHERE x.n > r.head AND x.n < r.n), ''))$$,
                'forecast: the member rows follow their territory''s row, ordered by key');
SELECT is_empty($$WITH t AS (SELECT territory_id, row_number() OVER (ORDER BY n) AS r FROM f_q4 WHERE user_key IS NULL)
                  SELECT b.anc FROM fc.below b JOIN t ta ON ta.territory_id = b.anc JOIN t td ON td.territory_id = b.des
                   GROUP BY b.anc, ta.r HAVING min(td.r) <> ta.r OR max(td.r) <> ta.r + count(*) - 1$$,
                'forecast: pre-order, every territory followed by its whole subtree');

-- ---------------------------------------------------------------- no double counting

SELECT results_eq($$SELECT sum(closed_won), sum(commit), sum(best_case), sum(pipeline), sum(weighted_pipeline)
                      FROM f_q4 WHERE depth = 0 AND user_key IS NULL$$,
                  $$SELECT sum(closed_won), sum(commit), sum(best_case), sum(pipeline), sum(weighted_pipeline)
                      FROM fc.own('2026-Q4')$$,
                  'the roots together count every deal with a territory, each once');
SELECT bag_eq($$SELECT territory_id, closed_won, commit, best_case, pipeline, weighted_pipeline
                  FROM f_q4 WHERE user_key IS NULL$$,
              $$SELECT t.id, coalesce(o.closed_won, 0) + coalesce(sum(c.closed_won), 0) AS closed_won,
                       coalesce(o.commit, 0) + coalesce(sum(c.commit), 0) AS commit,
                       coalesce(o.best_case, 0) + coalesce(sum(c.best_case), 0) AS best_case,
                       coalesce(o.pipeline, 0) + coalesce(sum(c.pipeline), 0) AS pipeline,
                       coalesce(o.weighted_pipeline, 0) + coalesce(sum(c.weighted_pipeline), 0) AS weighted
                  FROM fc.tree t
                  LEFT JOIN fc.own('2026-Q4') o ON o.territory_id = t.id
                  LEFT JOIN territory.territories k ON k.parent_id = t.id
                  LEFT JOIN f_q4 c ON c.territory_id = k.id AND c.user_key IS NULL
                 GROUP BY t.id, o.closed_won, o.commit, o.best_case, o.pipeline, o.weighted_pipeline$$,
              'every territory: its own deals plus its children''s rows, nothing more');
SELECT bag_eq($$SELECT territory_id, user_key, sum(closed_won) AS closed_won, sum(commit) AS commit,
                       sum(best_case) AS best_case, sum(pipeline) AS pipeline, sum(weighted_pipeline) AS weighted
                  FROM territory.forecast_periods(ARRAY(SELECT format('2026-%s', lpad(m::text, 2, '0'))::territory.period
                                                          FROM generate_series(1, 12) m))
                 WHERE user_key IS NULL GROUP BY territory_id, user_key$$,
              $$SELECT territory_id, user_key, closed_won, commit, best_case, pipeline, weighted_pipeline
                  FROM territory.forecast('2026') WHERE user_key IS NULL$$,
              'the twelve months of every territory add up to its year');

-- ---------------------------------------------------------------- split_target, to the cent

-- the split of doc/forecasts.md, by hand: whole cents in proportion, the cents left over to the
-- largest remainders (ties: lowest id); every weight 0: evenly
CREATE FUNCTION fc.split(parent int4, total numeric, weighed text, categories text[])
    RETURNS TABLE (territory_id int4, amount numeric)
    LANGUAGE sql STABLE
AS $$
WITH w AS (
    SELECT k.id, k.name,
           CASE WHEN categories IS NULL THEN 1
                ELSE greatest(coalesce((SELECT sum(round(x.amount, 2))
                                          FROM fc.below b JOIN fc.deals x ON x.territory_id = b.des
                                          LEFT JOIN territory.stages s ON s.stage = x.stage, fc.bounds(weighed) pb
                                         WHERE b.anc = k.id AND x.day >= pb.lo AND x.day < pb.hi
                                           AND coalesce(s.category, 'pipeline') = ANY (categories)), 0), 0) END AS weight
      FROM territory.territories k WHERE k.parent_id = parent
), v AS (
    SELECT id, name, CASE WHEN sum(weight) OVER () = 0 THEN 1 ELSE weight END AS weight, total * 100 AS cents FROM w
), s AS (
    SELECT id, name, cents, div(cents * weight, sum(weight) OVER ()) AS whole, mod(cents * weight, sum(weight) OVER ()) AS rest
      FROM v
), g AS (
    SELECT id, name, whole, row_number() OVER (ORDER BY rest DESC, id) <= cents - sum(whole) OVER () AS extra FROM s
)
SELECT id, round((whole + CASE WHEN extra THEN 1 ELSE 0 END) / 100, 2) FROM g ORDER BY name
$$;

SELECT territory.set_target(:split_node, '2026-Q4', 123456.79);

CREATE TEMP TABLE split_even AS
SELECT s.territory_id, s.amount, s.ordinality AS n FROM territory.split_target(:split_node, '2026-Q4', 'even') WITH ORDINALITY s;
SELECT results_eq($$SELECT sum(amount) AS total, count(*) AS n, bool_and(amount >= 0 AND amount = round(amount, 2)) AS cents FROM split_even$$,
                  format($$VALUES (123456.79, %s::bigint, true)$$, :split_kids),
                  'split even: one target per child, to the cent, adding up exactly to the parent''s');
SELECT results_eq($$SELECT territory_id, amount FROM split_even ORDER BY n$$,
                  format($$SELECT * FROM fc.split(%s, 123456.79, NULL, NULL)$$, :split_node),
                  'split even: the cents left over go to the lowest ids; children by name');
SELECT set_eq(format($$SELECT territory_id, amount, method FROM territory.targets WHERE period::text = '2026-Q4'
                        AND user_id IS NULL AND territory_id IN (SELECT id FROM territory.territories WHERE parent_id = %s)$$,
                     :split_node),
              $$SELECT territory_id, amount, 'even' FROM split_even$$,
              'split even: the children''s own targets are the split, method even');
SELECT bag_eq(format($$SELECT territory_id, target FROM territory.forecast('2026-Q4', %s)
                        WHERE user_key IS NULL AND depth <= 3$$, :split_node),
              format($$SELECT %s AS territory_id, 123456.79 AS amount UNION ALL SELECT territory_id, amount FROM split_even$$, :split_node),
              'split even: the forecast''s target of the parent is its own, of the children theirs');

CREATE TEMP TABLE split_history AS
SELECT s.territory_id, s.amount, s.ordinality AS n FROM territory.split_target(:split_node, '2026-Q4', 'history') WITH ORDINALITY s;
SELECT results_eq($$SELECT sum(amount) AS total, count(*) AS n, bool_and(amount >= 0 AND amount = round(amount, 2)) AS cents FROM split_history$$,
                  format($$VALUES (123456.79, %s::bigint, true)$$, :split_kids),
                  'split history: adds up exactly to the parent''s target');
SELECT results_eq($$SELECT territory_id, amount FROM split_history ORDER BY n$$,
                  format($$SELECT * FROM fc.split(%s, 123456.79, '2026-Q3', '{closed_won}')$$, :split_node),
                  'split history: in proportion to each child''s closed won of 2026-Q3 (largest remainders)');
SELECT set_eq(format($$SELECT territory_id, amount, method FROM territory.targets WHERE period::text = '2026-Q4'
                        AND user_id IS NULL AND territory_id IN (SELECT id FROM territory.territories WHERE parent_id = %s)$$,
                     :split_node),
              $$SELECT territory_id, amount, 'history' FROM split_history$$,
              'split history: the children''s own targets are the split, method history');
SELECT bag_eq(format($$SELECT territory_id, target FROM territory.forecast('2026-Q4', %s)
                        WHERE user_key IS NULL AND depth <= 3$$, :split_node),
              format($$SELECT %s AS territory_id, 123456.79 AS amount UNION ALL SELECT territory_id, amount FROM split_history$$, :split_node),
              'split history: the forecast''s target of the parent is its own, of the children theirs');

CREATE TEMP TABLE split_pipeline AS
SELECT s.territory_id, s.amount, s.ordinality AS n FROM territory.split_target(:split_node, '2026-Q4', 'pipeline') WITH ORDINALITY s;
SELECT results_eq($$SELECT sum(amount) AS total, count(*) AS n, bool_and(amount >= 0 AND amount = round(amount, 2)) AS cents FROM split_pipeline$$,
                  format($$VALUES (123456.79, %s::bigint, true)$$, :split_kids),
                  'split pipeline: adds up exactly to the parent''s target');
SELECT results_eq($$SELECT territory_id, amount FROM split_pipeline ORDER BY n$$,
                  format($$SELECT * FROM fc.split(%s, 123456.79, '2026-Q4', '{pipeline,best_case,commit}')$$, :split_node),
                  'split pipeline: in proportion to each child''s open deals of the quarter, unweighted');
SELECT set_eq(format($$SELECT territory_id, amount, method FROM territory.targets WHERE period::text = '2026-Q4'
                        AND user_id IS NULL AND territory_id IN (SELECT id FROM territory.territories WHERE parent_id = %s)$$,
                     :split_node),
              $$SELECT territory_id, amount, 'pipeline' FROM split_pipeline$$,
              'split pipeline: the children''s own targets are the split, method pipeline');
SELECT bag_eq(format($$SELECT territory_id, target FROM territory.forecast('2026-Q4', %s)
                        WHERE user_key IS NULL AND depth <= 3$$, :split_node),
              format($$SELECT %s AS territory_id, 123456.79 AS amount UNION ALL SELECT territory_id, amount FROM split_pipeline$$, :split_node),
              'split pipeline: the forecast''s target of the parent is its own, of the children theirs');

SELECT bag_eq($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap FROM fc.expected('{2026-Q4}')$$,
              'after the splits: every row still equals the SQL computation');

-- ---------------------------------------------------------------- as different users

SELECT territory.enable_visibility('fc_accounts');
SELECT territory.enable_visibility('fc_deals');
SELECT territory.enable_visibility('fc_orders');
CREATE ROLE fc_app NOLOGIN;        -- the pooled application: sets territory.user
GRANT SET ON PARAMETER "territory.user" TO fc_app;
-- PostgreSQL's parallel workers check the role's right to set territory.user against committed
-- grants only, and this file is one transaction: what fc_app asks runs in the leader (in the
-- parallel pass of run-suites too; sql/parallel.sql runs the forecast as users in real workers)
SET LOCAL max_parallel_workers = 0;
GRANT SELECT ON fc_accounts, fc_deals, fc_orders TO fc_app;
GRANT USAGE ON SCHEMA fc TO fc_app;
GRANT SELECT ON ALL TABLES IN SCHEMA fc TO fc_app;
-- the whole forecast of the quarter, for the comparisons
CREATE TEMP TABLE f_all AS SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline, weighted_pipeline, adjusted_commit, attainment, gap
  FROM territory.forecast('2026-Q4');
GRANT SELECT ON f_all TO fc_app;

SET ROLE fc_app;

-- (a) a rep, member of one leaf
SET territory."user" = 'rep';
SELECT set_eq($$SELECT unnest(territory.visible_territories('deal'))$$, ARRAY[:leaf],
              'rep: reads the deals of his leaf');
SELECT set_eq($$SELECT territory_id FROM territory.forecast('2026-Q4') WHERE user_key IS NULL$$,
              $$SELECT unnest(territory.visible_territories('deal'))$$,
              'rep: the forecast lists the territories whose deals he reads');
SELECT bag_eq($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline, weighted_pipeline, adjusted_commit, attainment, gap
                  FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap
                  FROM fc.expected('{2026-Q4}', territory.visible_territories('deal'))
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'rep: every row equals the SQL computation over the deals he sees');

-- (b) a manager of a region
SET territory."user" = 'boss';
SELECT set_eq($$SELECT unnest(territory.visible_territories('deal'))$$,
              format('SELECT des FROM fc.below WHERE anc = %s', :r2),
              'boss: reads the deals of his region''s subtree');
SELECT set_eq($$SELECT territory_id FROM territory.forecast('2026-Q4') WHERE user_key IS NULL$$,
              $$SELECT unnest(territory.visible_territories('deal'))$$,
              'boss: the forecast lists the territories whose deals he reads');
SELECT bag_eq($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline, weighted_pipeline, adjusted_commit, attainment, gap
                  FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline,
                       weighted_pipeline, adjusted_commit, attainment, gap
                  FROM fc.expected('{2026-Q4}', territory.visible_territories('deal'))
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'boss: every row equals the SQL computation over the deals he sees');
SELECT bag_eq($$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM territory.forecast_periods('{2026-12,2026-11,2026-10,2026-Q4}')$$,
              $$SELECT period::text, territory_id, parent_id, user_key, depth, target, closed_won, commit, best_case,
                       pipeline, weighted_pipeline, adjusted_commit, adjusted_best_case, adjusted_pipeline,
                       attainment, gap
                  FROM fc.expected('{2026-12,2026-11,2026-10,2026-Q4}', territory.visible_territories('deal'))
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'boss: forecast_periods too');
SELECT ok((SELECT count(*) FROM fc_deals) > (SELECT count(*) FROM fc_deals
                                               WHERE territory_id IN (SELECT des FROM fc.below WHERE anc = :r2)),
          'boss: (he also sees deals of his reps outside his region: not in the rows)');

-- (c) an admin who sees everything
SET territory."user" = 'ops';
SELECT set_eq($$SELECT unnest(territory.visible_territories('deal'))$$, $$SELECT id FROM fc.tree$$,
              'ops: reads the deals of every territory');
SELECT bag_eq($$SELECT territory_id, user_key, depth, path, target, closed_won, commit, best_case, pipeline, weighted_pipeline, adjusted_commit, attainment, gap
                  FROM territory.forecast('2026-Q4')$$,
              $$SELECT * FROM f_all$$,
              'ops: the whole forecast, as a superuser sees it');

-- (d) a member of a country one of whose areas hides its deals; he owns a few of them
SET territory."user" = 'mid';
SELECT ok(:mid_country = ANY (territory.visible_territories('deal'))
          AND NOT :hidden = ANY (territory.visible_territories('deal')),
          'mid: reads his country''s deals, not those of the hidden area');
SELECT set_eq($$SELECT territory_id FROM territory.forecast('2026-Q4') WHERE user_key IS NULL$$,
              $$SELECT unnest(territory.visible_territories('deal'))$$,
              'mid: the forecast lists the territories whose deals he reads');
SELECT bag_eq($$SELECT territory_id, user_key, depth, path, closed_won, commit, best_case, pipeline, weighted_pipeline
                  FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, depth, path, closed_won, commit, best_case, pipeline, weighted_pipeline
                  FROM fc.expected('{2026-Q4}', territory.visible_territories('deal'))
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'mid: the figures are those of the deals he sees (his own deals of the hidden area count above it)');
SELECT ok((SELECT (m.closed_won, m.commit, m.best_case, m.pipeline) IS DISTINCT FROM (a.closed_won, a.commit, a.best_case, a.pipeline)
             FROM territory.forecast('2026-Q4') m JOIN f_all a USING (territory_id)
            WHERE m.territory_id = :mid_country AND m.user_key IS NULL AND a.user_key IS NULL),
          'mid: (his country''s figures are not everyone''s)');
-- targets and adjustments are the plan, the same for every caller: the hidden area's own target
-- and adjustment count in his country's figures (doc/forecasts.md)
SELECT bag_eq($$SELECT territory_id, user_key, target, attainment, gap FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, target, attainment, gap
                  FROM fc.expected('{2026-Q4}')
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'mid: targets are the plan, the hidden area''s included in his country''s');
SELECT bag_eq($$SELECT territory_id, user_key, adjusted_commit FROM territory.forecast('2026-Q4')$$,
              $$SELECT territory_id, user_key, adjusted_commit
                  FROM fc.expected('{2026-Q4}')
                 WHERE territory_id = ANY (territory.visible_territories('deal'))$$,
              'mid: adjustments are the plan, the hidden area''s included in his country''s');

-- (e) nobody
SET territory."user" = '';
SELECT is((SELECT count(*) FROM territory.forecast('2026-Q4')), 0::bigint, 'no identity: no rows');
SELECT is((SELECT count(*) FROM territory.forecast_periods('{2026-10,2026-Q4}')), 0::bigint,
          'no identity: no rows from forecast_periods either');
SET territory."user" = 'nobody-such';
SELECT is((SELECT count(*) FROM territory.forecast('2026-Q4', :r2)), 0::bigint, 'an unknown user: no rows');
RESET territory."user";
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

SET client_min_messages = warning;
SET tap.role_prefix = 'fc_';
\ir lib/drop_roles.psql

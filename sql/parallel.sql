-- Parallel query on tables large enough for real parallel plans: the policies, the visibility
-- functions, the forecast and the report views, for every kind of reader, through an application
-- role with SET LOCAL territory.user, with parallel plans made cheap (two workers).  Every answer
-- is compared with an oracle in plain SQL over the configuration tables (doc/securing.md, "Who
-- sees what"), computed as the superuser without the extension's visibility functions.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Global / 4 regions / 5 countries each; a rule per country (below)
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT count(territory.add_territory('Region ' || r, :g, code => 'R' || r)) AS regions FROM generate_series(1, 4) r;
SELECT count(*) AS countries FROM (
    SELECT territory.add_territory('Country ' || r || c,
                                   (SELECT id FROM territory.territories WHERE code = 'R' || r),
                                   code => 'C' || r || c)
      FROM generate_series(1, 4) r, generate_series(1, 5) c) t;

-- readers: an admin, a region manager, a country rep, a rep with a manager, an owner without
-- territory, a member whose membership ended, nobody
SELECT territory.add_user('admin', 'Admin', sees_all => true) > 0 AS added;
SELECT territory.add_user('boss', 'Boss') > 0 AS added;
SELECT territory.add_user('rep', 'Rep', manager => 'boss') > 0 AS added;
SELECT territory.add_user('solo', 'Solo') > 0 AS added;
SELECT territory.add_user('gone', 'Gone') > 0 AS added;
SELECT territory.add_member((SELECT id FROM territory.territories WHERE code = 'R2'), 'boss', 'manager') > 0 AS added;
SELECT territory.add_member((SELECT id FROM territory.territories WHERE code = 'C13'), 'rep') > 0 AS added;
SELECT territory.add_member((SELECT id FROM territory.territories WHERE code = 'C31'), 'gone',
                            valid_from => '2020-01-01', valid_to => '2020-12-31') > 0 AS added;
SELECT territory.set_access((SELECT id FROM territory.territories WHERE code = 'C22'), 'deal', 'none');

CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE deals (id int PRIMARY KEY, account_id int, amount numeric(12, 2), close_date date, stage text,
                    created_at timestamptz DEFAULT now(), owner_id text);
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('deals', 'deal');
SELECT count(territory.add_rule(id, format('country = %L', code))) AS rules
  FROM territory.territories WHERE code LIKE 'C%';
-- 40,000 accounts: 21 countries (one with no territory), owners among the readers and others
INSERT INTO accounts
SELECT g, 'C' || (1 + g % 4) || (1 + g / 4 % 6),
       (ARRAY['rep', 'solo', 'gone', 'other', NULL])[1 + g % 7 % 5]
  FROM generate_series(1, 40000) g;
-- 40,000 deals, their accounts' territories; stages and close dates over 2026
INSERT INTO deals (id, account_id, amount, close_date, stage, owner_id)
SELECT g, 1 + g % 40000, (g % 997) + 0.25, date '2026-01-01' + g % 365,
       (ARRAY['Prospecting', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost'])[1 + g % 5],
       (ARRAY['rep', 'boss', NULL, 'solo'])[1 + g % 11 % 4]
  FROM generate_series(1, 40000) g;
SELECT territory.enable_visibility('accounts');
SELECT territory.enable_visibility('deals');
ANALYZE accounts, deals;

-- ---------------------------------------------------------------- the oracle
-- The territories whose records of a kind a user reads: the subtrees of their current
-- memberships, where the access level of the territory (or, for a manager, any) allows it.
CREATE FUNCTION oracle_territories(who text, kind text) RETURNS int4[]
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE me AS (
        SELECT u.id, u.sees_all FROM territory.sales_users u WHERE u.key = who AND u.active
    ), sub(id, manager) AS (
        SELECT m.territory_id, m.role = 'manager'
          FROM territory.members m JOIN me ON me.id = m.user_id
         WHERE (m.valid_from IS NULL OR m.valid_from <= current_date)
           AND (m.valid_to IS NULL OR m.valid_to >= current_date)
        UNION
        SELECT t.id, s.manager FROM territory.territories t JOIN sub s ON t.parent_id = s.id
    )
    SELECT coalesce(array_agg(DISTINCT t.id ORDER BY t.id), '{}')
      FROM territory.territories t
     WHERE (SELECT sees_all FROM me)
        OR EXISTS (SELECT FROM sub s
                    WHERE s.id = t.id
                      AND (s.manager OR NOT EXISTS (SELECT FROM territory.territory_access a
                                                     WHERE a.territory_id = t.id AND a.kind = oracle_territories.kind
                                                       AND a.access = 'none')))
$$;
-- The owner keys whose records a user sees: their own and those of everyone below them.
CREATE FUNCTION oracle_owners(who text) RETURNS text[]
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE below(id, key) AS (
        SELECT u.id, u.key FROM territory.sales_users u WHERE u.key = who AND u.active
        UNION
        SELECT u.id, u.key FROM territory.sales_users u JOIN below b ON u.manager_id = b.id
    )
    SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM below
$$;
CREATE FUNCTION oracle_sees_all(who text) RETURNS bool
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT sees_all AND active FROM territory.sales_users WHERE key = who), false)
$$;
CREATE TABLE oracle (reader text, accounts int8, deals int8, deal_amount numeric, won_q4 numeric,
                     won_q4_reported numeric);
INSERT INTO oracle
WITH readers AS MATERIALIZED (   -- each reader's sets computed once
    SELECT r, oracle_sees_all(r) AS sa, oracle_territories(r, 'account') AS ta,
           oracle_territories(r, 'deal') AS td, oracle_owners(r) AS ow
      FROM unnest(ARRAY['admin', 'boss', 'rep', 'solo', 'gone', 'nobody']) r)
SELECT r,
       (SELECT count(*) FROM accounts a WHERE o.sa OR a.territories && o.ta OR a.owner_id = ANY (o.ow)),
       (SELECT count(*) FROM deals d WHERE o.sa OR d.territory_id = ANY (o.td) OR d.owner_id = ANY (o.ow)),
       (SELECT sum(amount) FROM deals d WHERE o.sa OR d.territory_id = ANY (o.td) OR d.owner_id = ANY (o.ow)),
       -- won in 2026-Q4, the forecast's territories: those whose deals the reader reads
       (SELECT coalesce(sum(amount), 0) FROM deals d
         WHERE (o.sa OR d.territory_id = ANY (o.td))
           AND d.territory_id IS NOT NULL AND d.stage = 'Closed Won'
           AND d.close_date >= date '2026-10-01' AND d.close_date < date '2027-01-01'),
       -- the reports' territories: those whose records of some kind the reader reads; deals seen
       -- through the owner arm count in them too
       (SELECT coalesce(sum(amount), 0) FROM deals d
         WHERE (o.sa OR d.territory_id = ANY (o.td) OR d.owner_id = ANY (o.ow))
           AND (o.sa OR d.territory_id = ANY (o.td || o.ta))
           AND d.territory_id IS NOT NULL AND d.stage = 'Closed Won'
           AND d.close_date >= date '2026-10-01' AND d.close_date < date '2027-01-01')
  FROM readers o;
-- the readers differ: each sees a different share
SELECT reader, accounts, deals, won_q4, won_q4_reported FROM oracle ORDER BY reader;

-- ---------------------------------------------------------------- parallel plans, as the application
CREATE ROLE regress_par_app;
GRANT SET ON PARAMETER "territory.user" TO regress_par_app;
GRANT SELECT ON accounts, deals, oracle TO regress_par_app;
CREATE FUNCTION par_plan_has(q text, node text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF position(node IN line) > 0 THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;
-- what a reader sees through the policies, the functions and the reports, in one transaction
CREATE FUNCTION par_seen(reader text, OUT accounts int8, OUT deals int8, OUT deal_amount numeric, OUT readable int8,
                         OUT in_visible int8, OUT won_q4 numeric, OUT revenue_q4 numeric, OUT summary_q4 numeric,
                         OUT parallel_plans bool)
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('territory.user', reader, true);
    parallel_plans := par_plan_has('SELECT count(*) FROM accounts', 'Gather')
                  AND par_plan_has('SELECT count(*) FROM deals', 'Gather');
    SELECT count(*) INTO accounts FROM accounts;
    SELECT count(*), sum(amount) INTO deals, deal_amount FROM deals;
    SELECT count(*) INTO readable FROM accounts a WHERE territory.can_read(a.territories, a.owner_id);
    SELECT count(*) INTO in_visible FROM accounts a
     WHERE territory.in_visible(a.territories, 'account') OR territory.owner_visible(a.owner_id)
        OR territory.unassigned_visible(a.territories);
    -- closed won in 2026-Q4: the countries' rows (every deal is in a country or in none)
    SELECT coalesce(sum(f.closed_won), 0) INTO won_q4 FROM territory.forecast('2026-Q4') f
     WHERE f.depth = 2 AND f.user_key IS NULL;
    SELECT coalesce(sum(r.own_revenue), 0) INTO revenue_q4 FROM territory.revenue_by_territory r
     WHERE r.first_day >= date '2026-10-01' AND r.last_day <= date '2026-12-31';
    SELECT coalesce(sum(s.closed_won), 0) INTO summary_q4 FROM territory.forecast_summary s
     WHERE s.period_text = '2026-Q4' AND s.depth = 2 AND s.user_key IS NULL;
END $$;
GRANT EXECUTE ON FUNCTION par_plan_has(text, text), par_seen(text) TO regress_par_app;
-- a rep's deals: the unassigned arm's partial index is probed for nothing (before 0.2.0 a btree
-- territory_id IS NULL read every unassigned deal, to be thrown away); for a user who sees
-- everything it reads them
-- par_index_rows(q, index[, cond]): the rows q's plan reads by a scan of the index (whose index
-- condition contains cond, when given), or 'not used'
CREATE FUNCTION par_index_rows(q text, index text, cond text DEFAULT '') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    scan text;
    found text := 'not used';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
        IF position('Index Scan on ' || index IN line) > 0 OR position('Index Scan using ' || index IN line) > 0 THEN
            scan := substring(line FROM 'rows=[0-9]+');
            IF cond = '' THEN
                found := scan;
            END IF;
        ELSIF scan IS NOT NULL AND cond <> '' AND position('Index Cond: ' IN line) > 0 THEN
            IF position(cond IN line) > 0 THEN
                found := scan;
            END IF;
            scan := NULL;
        END IF;
    END LOOP;
    RETURN found;
END $$;
GRANT EXECUTE ON FUNCTION par_index_rows(text, text, text) TO regress_par_app;
SELECT indexdef FROM pg_indexes WHERE indexname = 'deals_unassigned_idx';
SET ROLE regress_par_app;
SET max_parallel_workers_per_gather = 0;
BEGIN;
SET LOCAL territory."user" = 'rep';
SELECT par_index_rows('SELECT count(*) FROM deals', 'deals_unassigned_idx') AS rep_reads_unassigned;
-- the policies' bitmap scan, which a plan reused for everyone would be (from 17 on, a full index
-- scan is preferred to it once sequential scans are off); the unassigned arm reads them from its
-- partial index, or (17 on, at the same cost for this user) from the btree on territory_id with
-- IS NULL, the rest of the arm rechecked
SET LOCAL enable_seqscan = off;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_indexonlyscan = off;
SET LOCAL territory."user" = 'admin';
SELECT coalesce(nullif(par_index_rows('SELECT count(*) FROM deals', 'deals_unassigned_idx'), 'not used'),
                par_index_rows('SELECT count(*) FROM deals', 'deals_territory_id_idx', '(territory_id IS NULL)'))
           AS admin_reads_unassigned,
       (SELECT count(*) FROM deals WHERE territory_id IS NULL) AS unassigned_deals;
COMMIT;
RESET max_parallel_workers_per_gather;
RESET ROLE;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET ROLE regress_par_app;
-- each reader in turn (set_config in the function), in one transaction: the answers equal the oracle's
BEGIN;
SELECT r AS reader, s.parallel_plans,
       s.accounts = o.accounts AS accounts, s.readable = o.accounts AS can_read,
       s.in_visible = o.accounts AS in_visible, s.deals = o.deals AS deals,
       s.deal_amount IS NOT DISTINCT FROM o.deal_amount AS deal_amount,
       s.won_q4 = o.won_q4 AS forecast, s.revenue_q4 = o.won_q4_reported AS revenue,
       s.summary_q4 = o.won_q4 AS summary
  FROM unnest(ARRAY['admin', 'boss', 'rep', 'solo', 'gone', 'nobody']) r
 CROSS JOIN LATERAL par_seen(r) s
  JOIN oracle o ON o.reader = r
 ORDER BY r;
COMMIT;
-- the same with SET LOCAL, statement by statement, and a parallel join of both tables
BEGIN;
SET LOCAL territory."user" = 'boss';
SELECT (SELECT count(*) FROM accounts) = (SELECT accounts FROM oracle WHERE reader = 'boss') AS boss_accounts,
       (SELECT count(*) FROM deals d JOIN accounts a ON a.id = d.account_id)
         <= (SELECT deals FROM oracle WHERE reader = 'boss') AS boss_join;
SET LOCAL territory."user" = 'rep';
SELECT (SELECT count(*) FROM accounts) = (SELECT accounts FROM oracle WHERE reader = 'rep') AS rep_accounts,
       (SELECT count(*) FROM deals) = (SELECT deals FROM oracle WHERE reader = 'rep') AS rep_deals;
RESET territory."user";
SELECT count(*) AS nobody_accounts FROM accounts;
COMMIT;
RESET ROLE;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET min_parallel_index_scan_size;
RESET max_parallel_workers_per_gather;

DROP TABLE deals, accounts, oracle;
DROP FUNCTION par_plan_has(text, text), par_index_rows(text, text, text), par_seen(text), oracle_territories(text, text), oracle_owners(text),
              oracle_sees_all(text);
REVOKE SET ON PARAMETER "territory.user" FROM regress_par_app;
DROP ROLE regress_par_app;
DROP EXTENSION territory;

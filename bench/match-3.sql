-- match-3: CALL territory.run_rules() over the accounts with 1,000 rules, when nothing changes and
-- when 10 % of the accounts change territory, against (a) a read-only scan that evaluates the same
-- matcher on every account and (b) the set-based SQL a user would write without the extension:
-- one UPDATE … FROM a join of the accounts and the rules written as SQL.
-- Targets (shared/design/benchmarks.md): ≤ 1.2× the read-only scan when nothing changes, ≤ 3× at
-- 10 %; ≥ 10× faster than the SQL alternative.

SELECT bench.start('match-3', 'rule re-runs',
    'The accounts and the 1,000-rule set of match-1 (fixed seed), assigned by the C trigger as they were loaded. '
    || '`CALL territory.run_rules(''accounts'', 10000)` runs at the top level (it commits per batch), timed '
    || 'from psql around the CALL, one warm-up, median of the runs. "10 % change": before each run (untimed) '
    || 'every tenth account''s territories are emptied with the assignment trigger disabled, so the run '
    || 'finds and rewrites 10 % of the accounts (with their history). The read-only scan counts the accounts '
    || 'whose stored territories differ from `territory.compute_territories()`. The SQL alternative joins a '
    || 'copy of the accounts (no trigger) with the rules as rows of columns (match-1''s PL/pgSQL matcher''s '
    || 'table) and updates the accounts whose deepest-per-branch result differs; it is too slow for the '
    || 'whole table and runs on a 1 % sample (every 100th account), extrapolated per row (× 100).',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

SELECT bench.say('generating the accounts and the rules');
SELECT bench.make_accounts('bench.staging', bench.accounts());
SELECT bench.make_rule_set(1000);
SELECT bench.load_rule_territories();
CREATE TABLE accounts (LIKE bench.staging INCLUDING ALL);
SELECT territory.manage_table('accounts', 'account');
SELECT bench.use_rule_set(1000, 'accounts');
INSERT INTO accounts SELECT * FROM bench.staging;
TRUNCATE territory.assignment_log;

-- the SQL alternative: rules as rows of columns, the accounts copied without trigger
CREATE TABLE sql_rules AS
SELECT territory_id, countries, states, postal_prefix, industry, min_revenue, name_pattern,
       coalesce(ancestors, '{}') AS ancestors
  FROM bench.mrule WHERE rule_set = 1000 ORDER BY id;
CREATE TABLE accounts_sql AS SELECT * FROM accounts WHERE id % 100 = 0 ORDER BY id;
ALTER TABLE accounts_sql ADD PRIMARY KEY (id);
VACUUM ANALYZE accounts, accounts_sql, sql_rules, territory.rules;

CREATE TABLE bench.mark (label text, method text, i int, at timestamptz, what text);

-- psql runs each generated statement at the top level, so the CALL may commit
CREATE FUNCTION bench.time_run_rules(label text, method text, setup text) RETURNS SETOF text
    LANGUAGE sql
AS $$
    SELECT s FROM generate_series(0, bench.runs()) i,
           LATERAL (VALUES (1, setup),
                           (2, format('INSERT INTO bench.mark VALUES (%L, %L, %s, clock_timestamp(), %L)', label, method, i, 'start')),
                           (3, 'CALL territory.run_rules(''accounts'', 10000)'),
                           (4, format('INSERT INTO bench.mark VALUES (%L, %L, %s, clock_timestamp(), %L)', label, method, i, 'end'))) v(o, s)
     WHERE s IS NOT NULL
     ORDER BY i, o
$$;
CREATE FUNCTION bench.record_runs(label text, method text) RETURNS void
    LANGUAGE sql
AS $$
    INSERT INTO bench.result (bench, label, method, ms, runs, value, compare, note)
    SELECT 'match-3', record_runs.label, record_runs.method,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.at - s.at) * 1000), count(*),
           (SELECT count(*) FROM accounts a WHERE a.territories IS DISTINCT FROM territory.compute_territories('accounts', a))::text
               || ' stale after the run', false, NULL
      FROM bench.mark s JOIN bench.mark e USING (label, method, i)
     WHERE s.what = 'start' AND e.what = 'end' AND s.label = record_runs.label AND s.method = record_runs.method
       AND s.i > 0
$$;

SET client_min_messages = warning;
-- nothing changes
CALL bench.measure('match-3', 'nothing changes', 'read-only scan evaluating the matcher',
    $q$SELECT count(*) FROM accounts a WHERE a.territories IS DISTINCT FROM territory.compute_territories('accounts', a)$q$);
SELECT s FROM bench.time_run_rules('nothing changes', 'CALL territory.run_rules()', NULL) s \gexec
SELECT bench.record_runs('nothing changes', 'CALL territory.run_rules()');

-- 10 % change
SELECT format($s$ALTER TABLE accounts DISABLE TRIGGER zz_territory_assign;
                 UPDATE accounts SET territories = '{}' WHERE id %% 10 = 0;
                 ALTER TABLE accounts ENABLE TRIGGER zz_territory_assign;$s$) AS reset10 \gset
CALL bench.measure('match-3', '10 % of the accounts change', 'read-only scan evaluating the matcher',
    $q$SELECT count(*) FROM accounts a WHERE a.territories IS DISTINCT FROM territory.compute_territories('accounts', a)$q$,
    setup => :'reset10', compare => false);
SELECT s FROM bench.time_run_rules('10 % of the accounts change', 'CALL territory.run_rules()', :'reset10') s \gexec
SELECT bench.record_runs('10 % of the accounts change', 'CALL territory.run_rules()');
CALL bench.measure('match-3', '10 % of the accounts change', 'set-based SQL: UPDATE … FROM accounts joined with the rules',
    $q$WITH m AS MATERIALIZED (
           SELECT a.id, r.territory_id, r.ancestors
             FROM accounts_sql a JOIN sql_rules r
               ON (r.countries IS NULL OR a.billing_country = ANY (r.countries))
              AND (r.states IS NULL OR a.billing_state = ANY (r.states))
              AND (r.postal_prefix IS NULL OR a.billing_postal_code LIKE r.postal_prefix || '%')
              AND (r.industry IS NULL OR a.industry = r.industry)
              AND (r.min_revenue IS NULL OR a.annual_revenue >= r.min_revenue)
              AND (r.name_pattern IS NULL OR lower(a.name) LIKE r.name_pattern)
       ), kept AS (
           SELECT m.id, array_agg(DISTINCT m.territory_id ORDER BY m.territory_id) AS t FROM m
            WHERE NOT EXISTS (SELECT FROM m d WHERE d.id = m.id AND m.territory_id = ANY (d.ancestors))
            GROUP BY m.id
       ), upd AS (
           UPDATE accounts_sql a SET territories = coalesce(k.t, '{}')
             FROM accounts_sql x LEFT JOIN kept k ON k.id = x.id
            WHERE a.id = x.id AND a.territories IS DISTINCT FROM coalesce(k.t, '{}')
           RETURNING 1)
       SELECT count(*) FROM upd$q$,
    setup => $s$UPDATE accounts_sql SET territories = '{}' WHERE id % 1000 = 0$s$,
    compare => false, note => '1 % sample, extrapolated', extrapolate => 100);
RESET client_min_messages;

SELECT bench.target('match-3', 'nothing changes: run_rules ≤ 1.2× the read-only scan', 'nothing changes',
                    'CALL territory.run_rules()', 'nothing changes', 'read-only scan evaluating the matcher', '<=', 1.2),
       bench.target('match-3', '10 % change: run_rules ≤ 3× the read-only scan', '10 % of the accounts change',
                    'CALL territory.run_rules()', '10 % of the accounts change', 'read-only scan evaluating the matcher', '<=', 3),
       bench.target('match-3', '10 % change: the SQL alternative ≥ 10× slower than run_rules', '10 % of the accounts change',
                    'set-based SQL: UPDATE … FROM accounts joined with the rules', '10 % of the accounts change',
                    'CALL territory.run_rules()', '>=', 10);

-- match-1: bulk loads into a managed account table, with 1,000 and with 5,000 rules (of the
-- territory tree, and of four conjuncts each: bench.make_conjunct_rule_set): INSERT …
-- SELECT and COPY FROM a file into (a) the same table with no trigger (the bare load), (b) the
-- managed table (the C assignment trigger, history included) and (c) the same table with the
-- matcher a user would write without the extension: a PL/pgSQL BEFORE trigger running one SQL
-- query over a table of rules per row.
-- Targets (shared/design/benchmarks.md): time added by the trigger ≤ 1.0× the bare load at 1,000
-- rules, ≤ 1.5× at 5,000; ≥ 20× faster than the PL/pgSQL matcher; matching cost growing
-- sublinearly with the rule count (added time at 5,000 rules < 5× the added time at 1,000).

SELECT bench.start('match-1', 'bulk loads through the assignment trigger',
    'Accounts generated with a fixed seed (62 countries in 10 regions, by weight; postal codes of 4 to 6 digits; '
    || 'states for US, CA, MX, BR, IN and AU, following the postal code; 20 industries; revenue from 100 k to 100 G) '
    || 'are loaded from a staging table with `INSERT INTO accounts SELECT * FROM staging` and from a server-side file '
    || 'with `COPY accounts (...) FROM ''/tmp/...''`, each run in its own transaction with its commit, the table '
    || '(and `territory.assignment_log`) truncated before each run, untimed. '
    || 'The territories: Global / 10 regions (`billing_country IN (...)`) / 62 countries (`billing_country = ''US''`, '
    || 'apply_to_children) / districts (`billing_state IN (...)` or `billing_postal_code LIKE ''7%''`, apply_to_children) '
    || '/ postal areas (`billing_postal_code LIKE ''941%''`), with the district and area rules shared among the countries '
    || 'by weight; industry overlays in three nested tiers (`industry = ''Banking''`, `… AND annual_revenue >= 50000000`, '
    || '`… >= 1000000000`); 8 named-account rules no index serves (`lower(name) LIKE ''%bank%''`). '
    || 'A record gets 1 to 3 territories (the deepest match of each branch). '
    || 'The same loads again with 1,000 and 5,000 rules of the shape people write, four low-cardinality '
    || 'conjuncts none selective alone (`billing_country = ''DE'' AND industry IN (three of 20) AND annual_revenue '
    || 'BETWEEN 1000000 AND 50000000 AND billing_postal_code LIKE ''7%''`, the country by weight), on territories '
    || 'Global / Segments / one per rule (lines labelled "rules of four conjuncts"). '
    || 'Lines: the bare load into the table without trigger (PK only); the managed table (`territory.manage_table`: '
    || 'territories column, GIN index, C trigger, history of every assignment); the time the extension adds; '
    || 'the PL/pgSQL matcher a user would write (rules as rows of columns, flattened with their apply_to_children '
    || 'ancestors, one `SELECT array_agg(...)` per row keeping the deepest match per branch, same territories column '
    || 'and GIN index, no history), too slow for the whole load: run on a 1 % sample (every 100th account) and '
    || 'extrapolated per row (× 100); it gives the same territories as the C trigger on every sampled account (checked). '
    || 'Two more INSERT lines say where the time goes: the managed table with `territory.history = off` '
    || '(matching, territories column and GIN index) and the territories precomputed into the same table '
    || 'without any trigger (storing them: column and GIN index); their difference is the trigger''s matching alone. '
    || 'The history is one `territory.assignment_log` row per account (its territories, what was added and why), '
    || 'written from the trigger''s buffer with `heap_multi_insert`.',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

-- ---------------------------------------------------------------- the data

SELECT bench.say('generating the accounts and the rule sets');
SELECT bench.make_accounts('bench.staging', bench.accounts());
CREATE TABLE bench.staging_sample AS SELECT * FROM bench.staging WHERE id % 100 = 0 ORDER BY id;
SELECT bench.rows(format('COPY bench.staging TO %L', bench.copy_file('all')));
SELECT bench.rows(format('COPY bench.staging_sample TO %L', bench.copy_file('sample')));

SELECT bench.make_rule_set(1000);
SELECT bench.make_rule_set(5000);
SELECT bench.make_conjunct_rule_set(1000);
SELECT bench.make_conjunct_rule_set(5000);
SELECT bench.load_rule_territories();

-- (a) no trigger
CREATE TABLE accounts_bare (LIKE bench.staging INCLUDING ALL);

-- (b) managed
CREATE TABLE accounts (LIKE bench.staging INCLUDING ALL);
SELECT territory.manage_table('accounts', 'account');

-- the territories stored without trigger (where the time goes)
CREATE TABLE accounts_stored (LIKE accounts INCLUDING ALL);

-- (c) the PL/pgSQL matcher: each rule a row, its conditions and those of the apply_to_children
-- rules above it as columns (NULL: no condition), the strict ancestors of its territory for
-- "deepest match per branch"
CREATE TABLE sql_rules (
    territory_id   int NOT NULL,
    countries      text[],
    states         text[],
    postal_prefix  text,
    industry       text,
    industries     text[],
    min_revenue    numeric,
    max_revenue    numeric,
    name_pattern   text,
    ancestors      int[] NOT NULL
);

CREATE FUNCTION sql_assign() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.territories := (
        WITH m AS (
            SELECT r.territory_id, r.ancestors
              FROM sql_rules r
             WHERE (r.countries IS NULL OR NEW.billing_country = ANY (r.countries))
               AND (r.states IS NULL OR NEW.billing_state = ANY (r.states))
               AND (r.postal_prefix IS NULL OR NEW.billing_postal_code LIKE r.postal_prefix || '%')
               AND (r.industry IS NULL OR NEW.industry = r.industry)
               AND (r.industries IS NULL OR NEW.industry = ANY (r.industries))
               AND (r.min_revenue IS NULL OR NEW.annual_revenue >= r.min_revenue)
               AND (r.max_revenue IS NULL OR NEW.annual_revenue <= r.max_revenue)
               AND (r.name_pattern IS NULL OR lower(NEW.name) LIKE r.name_pattern)
        )
        SELECT coalesce(array_agg(DISTINCT m.territory_id ORDER BY m.territory_id), '{}')
          FROM m
         WHERE NOT EXISTS (SELECT FROM m d WHERE m.territory_id = ANY (d.ancestors)));
    RETURN NEW;
END
$$;

CREATE TABLE accounts_plpgsql (LIKE bench.staging INCLUDING ALL);
ALTER TABLE accounts_plpgsql ADD COLUMN territories int4[] NOT NULL DEFAULT '{}';
CREATE INDEX ON accounts_plpgsql USING gin (territories);
CREATE TRIGGER assign BEFORE INSERT ON accounts_plpgsql FOR EACH ROW EXECUTE FUNCTION sql_assign();

VACUUM ANALYZE bench.staging, bench.staging_sample, territory.territories, territory.rules;

-- ---------------------------------------------------------------- the loads

-- Every line of one rule count: the INSERT case, then the COPY case.
-- rule_set: the rule set (nrules when NULL: bench.make_rule_set's); shape: said after the rule
-- count in the lines' labels.
CREATE PROCEDURE bench.match1(nrules int, rule_set int DEFAULT NULL, shape text DEFAULT '')
    LANGUAGE plpgsql
AS $$
DECLARE
    cols text := 'id, name, billing_country, billing_state, billing_postal_code, industry, annual_revenue, employees, owner_id';
    n text := to_char(bench.accounts(), 'FM999,999,999');
    r text := to_char(nrules, 'FM999,999');
    rs int := coalesce(rule_set, nrules);
    ins text := format('INSERT … SELECT of %s accounts, %s rules%s', n, r, shape);
    cpy text := format('COPY FROM a file of %s accounts, %s rules%s', n, r, shape);
    bare text := 'plain table, no trigger (the bare load)';
    managed text := 'managed table: C trigger, history included';
    added text := 'time the extension adds (managed − bare)';
    plpgsql text := 'PL/pgSQL trigger, one SQL query over the rules per row';
    sample_note text := '1 % sample, extrapolated';
    lbl text;
    load text;
    sample_load text;
    nsample bigint := (SELECT count(*) FROM bench.staging_sample);
BEGIN
    PERFORM bench.say(format('rule set of %s rules%s', r, shape));
    PERFORM bench.use_rule_set(rs, 'accounts');
    TRUNCATE sql_rules;
    INSERT INTO sql_rules
    SELECT territory_id, countries, states, postal_prefix, industry, industries, min_revenue, max_revenue, name_pattern,
           coalesce(ancestors, '{}')
      FROM bench.mrule m WHERE m.rule_set = rs ORDER BY id;
    ANALYZE sql_rules;
    COMMIT;

    FOR k IN 1 .. 2 LOOP
        lbl := CASE k WHEN 1 THEN ins ELSE cpy END;
        -- %1$s: the table; %2$s: the columns
        load := CASE k WHEN 1 THEN format('INSERT INTO %%1$s (%s) SELECT * FROM bench.staging', cols)
                              ELSE format('COPY %%1$s (%s) FROM %L', cols, bench.copy_file('all')) END;
        sample_load := CASE k WHEN 1 THEN format('INSERT INTO %%1$s (%s) SELECT * FROM bench.staging_sample', cols)
                                     ELSE format('COPY %%1$s (%s) FROM %L', cols, bench.copy_file('sample')) END;

        CALL bench.measure('match-1', lbl, bare,
            format('SELECT bench.rows(%L)', format(load, 'accounts_bare')),
            setup => 'TRUNCATE accounts_bare');
        CALL bench.measure('match-1', lbl, managed,
            format('SELECT bench.rows(%L)', format(load, 'accounts')),
            setup => 'TRUNCATE accounts, territory.assignment_log');
        PERFORM bench.difference('match-1', lbl, added, managed, bare);
        CALL bench.measure('match-1', lbl, plpgsql,
            format('SELECT bench.rows(%L)', format(sample_load, 'accounts_plpgsql')),
            setup => 'TRUNCATE accounts_plpgsql', compare => false, note => sample_note, extrapolate => 100);
        CALL bench.check('match-1', lbl,
            'check: sampled accounts whose territories differ between the C trigger and the PL/pgSQL matcher',
            $q$SELECT format('%s of %s', count(*) FILTER (WHERE a.territories IS DISTINCT FROM p.territories), count(*))
                 FROM accounts_plpgsql p JOIN accounts a USING (id)$q$,
            format('0 of %s', nsample));

        IF k = 1 THEN
            -- where the time goes: storing the territories, and matching without the history
            CREATE TABLE bench.staging_stored AS SELECT * FROM accounts ORDER BY id;
            COMMIT;
            CALL bench.measure('match-1', lbl, 'territories precomputed, column + GIN index, no trigger (storing them)',
                format('SELECT bench.rows(%L)', 'INSERT INTO accounts_stored SELECT * FROM bench.staging_stored'),
                setup => 'TRUNCATE accounts_stored');
            DROP TABLE bench.staging_stored;
            TRUNCATE accounts_stored;
            COMMIT;
            SET territory.history = off;
            CALL bench.measure('match-1', lbl, 'managed table with the history off (matching and storing)',
                format('SELECT bench.rows(%L)', format(load, 'accounts')),
                setup => 'TRUNCATE accounts, territory.assignment_log');
            PERFORM bench.difference('match-1', lbl, 'the trigger''s matching alone (history off − storing)',
                'managed table with the history off (matching and storing)',
                'territories precomputed, column + GIN index, no trigger (storing them)');
            RESET territory.history;
        END IF;
    END LOOP;
    TRUNCATE accounts, accounts_bare, accounts_plpgsql, territory.assignment_log;
    COMMIT;
END
$$;

CALL bench.match1(1000);
CALL bench.match1(5000);
CALL bench.match1(1000, 101000, ' of four conjuncts');
CALL bench.match1(5000, 105000, ' of four conjuncts');
SELECT bench.remove_files();

-- µs per account beside each timed line
UPDATE bench.result
   SET note = concat_ws('; ', note, to_char(1000 * ms / bench.accounts(), 'FM999,990.00') || ' µs per account')
 WHERE bench = 'match-1' AND ms IS NOT NULL;

-- ---------------------------------------------------------------- targets

SELECT bench.target('match-1', format('%s at 1,000 rules: time added ≤ 1.0× the bare load', l), c1, 'time the extension adds (managed − bare)',
                    c1, 'plain table, no trigger (the bare load)', '<=', 1.0),
       bench.target('match-1', format('%s at 5,000 rules: time added ≤ 1.5× the bare load', l), c5, 'time the extension adds (managed − bare)',
                    c5, 'plain table, no trigger (the bare load)', '<=', 1.5),
       bench.target('match-1', format('%s at 1,000 rules: the PL/pgSQL matcher''s time ≥ 20× ours', l), c1, 'PL/pgSQL trigger, one SQL query over the rules per row',
                    c1, 'managed table: C trigger, history included', '>=', 20),
       bench.target('match-1', format('%s at 5,000 rules: the PL/pgSQL matcher''s time ≥ 20× ours', l), c5, 'PL/pgSQL trigger, one SQL query over the rules per row',
                    c5, 'managed table: C trigger, history included', '>=', 20),
       bench.target('match-1', format('%s: time added at 5,000 rules < 5× the time added at 1,000 (sublinear)', l),
                    c5, 'time the extension adds (managed − bare)', c1, 'time the extension adds (managed − bare)', '<=', 5)
  FROM (VALUES ('INSERT … SELECT', 'INSERT … SELECT of %s accounts, %s rules'),
               ('COPY', 'COPY FROM a file of %s accounts, %s rules')) AS v0 (l0, f),
       (VALUES ('', ''), (' of four conjuncts', ' (rules of four conjuncts)')) AS s (shape, said),
       LATERAL (SELECT v0.l0 || s.said AS l) AS v,
       LATERAL (SELECT format(v0.f, to_char(bench.accounts(), 'FM999,999,999'), '1,000') || s.shape AS c1,
                       format(v0.f, to_char(bench.accounts(), 'FM999,999,999'), '5,000') || s.shape AS c5) AS c;
SELECT bench.target('match-1', 'INSERT … SELECT: the trigger''s matching alone (history off − storing) at 5,000 rules < 5× at 1,000 (sublinear)',
                    format('INSERT … SELECT of %s accounts, 5,000 rules', n), 'the trigger''s matching alone (history off − storing)',
                    format('INSERT … SELECT of %s accounts, 1,000 rules', n), 'the trigger''s matching alone (history off − storing)',
                    '<=', 5)
  FROM to_char(bench.accounts(), 'FM999,999,999') AS n;

-- match-2: single-row INSERT and UPDATE statements through a server-side loop (PL/pgSQL, one
-- statement per row, 100,000 at M), into the managed account table of match-1 with its 1,000
-- rules and into the same table without the extension.
-- Targets (shared/design/benchmarks.md): ≤ +1 µs per statement; an UPDATE of a column no rule
-- reads costs nothing measurable.

SELECT bench.start('match-2', 'single-row statements through the assignment trigger',
    'The accounts and the 1,000-rule territory set of match-1 (fixed seed). Three tables hold the same '
    || to_char(bench.accounts(), 'FM999,999,999') || ' accounts: the plain table (primary key only, no trigger: '
    || 'the reference), the same with the `territories` column and its GIN index filled but no trigger (what storing '
    || 'the territories costs), and the managed table (`territory.manage_table`: C trigger, history). Each line is one '
    || 'PL/pgSQL function call running ' || to_char(bench.accounts() / 10, 'FM999,999,999') || ' single-row statements '
    || '(static SQL, plans cached) in one transaction, commit included: INSERTs of new accounts (copies of existing ones '
    || 'under new ids, the table growing by as many rows per run), or UPDATEs by primary key of every tenth account '
    || 'of a column no rule reads (`employees`), of a column rules read whose change rarely moves the account '
    || '(`annual_revenue`, read by the industry tiers), and of one that moves it (`billing_postal_code` reversed, '
    || 'toggling between runs: new postal area, history written). Per-statement figures are the line''s median over '
    || 'the number of statements.',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts, ' || to_char(bench.accounts() / 10, 'FM999,999,999') || ' statements per line');

-- ---------------------------------------------------------------- the data

SELECT bench.say('generating the accounts and the rules');
SELECT bench.make_accounts('bench.staging', bench.accounts());
SELECT bench.make_rule_set(1000);
SELECT bench.load_rule_territories();

CREATE TABLE accounts_plain (LIKE bench.staging INCLUDING ALL);
INSERT INTO accounts_plain SELECT * FROM bench.staging;

CREATE TABLE accounts (LIKE bench.staging INCLUDING ALL);
SELECT territory.manage_table('accounts', 'account');
SELECT bench.use_rule_set(1000, 'accounts');
INSERT INTO accounts SELECT * FROM bench.staging;

CREATE TABLE accounts_stored (LIKE accounts INCLUDING ALL);
INSERT INTO accounts_stored SELECT * FROM accounts ORDER BY id;

-- the rows the INSERT loops insert (under new ids), with their territories for accounts_stored
CREATE TABLE bench.new_accounts AS SELECT * FROM accounts WHERE id <= bench.accounts() / 10 ORDER BY id;

VACUUM ANALYZE accounts_plain, accounts, accounts_stored, bench.new_accounts, territory.territories, territory.rules;

-- ---------------------------------------------------------------- the loops

-- For table tbl: bench.<tbl>_insert() and bench.<tbl>_update_<column>(), each returning the
-- number of statements run.
CREATE FUNCTION bench.make_loops(tbl text, with_territories bool) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    cols text := 'id, name, billing_country, billing_state, billing_postal_code, industry, annual_revenue, employees, owner_id'
                 || CASE WHEN with_territories THEN ', territories' ELSE '' END;
    vals text := 'r.id + off, r.name, r.billing_country, r.billing_state, r.billing_postal_code, r.industry, '
                 || 'r.annual_revenue, r.employees, r.owner_id' || CASE WHEN with_territories THEN ', r.territories' ELSE '' END;
    upd record;
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION bench.%1$s_insert() RETURNS bigint
            LANGUAGE plpgsql
        AS $b$
        DECLARE
            r bench.new_accounts;
            off bigint := (SELECT max(id) FROM %1$s);
            n bigint := 0;
        BEGIN
            FOR r IN SELECT * FROM bench.new_accounts ORDER BY id LOOP
                INSERT INTO %1$s (%2$s) VALUES (%3$s);
                n := n + 1;
            END LOOP;
            RETURN n;
        END
        $b$;$f$, tbl, cols, vals);
    FOR upd IN
        SELECT * FROM (VALUES ('employees', 'employees + 1'),
                              ('annual_revenue', 'annual_revenue + 1'),
                              ('billing_postal_code', 'reverse(billing_postal_code)')) AS v (col, expr)
    LOOP
        EXECUTE format($f$
            CREATE FUNCTION bench.%1$s_update_%2$s() RETURNS bigint
                LANGUAGE plpgsql
            AS $b$
            DECLARE
                n bigint := 0;
            BEGIN
                FOR i IN 1 .. %4$s LOOP
                    UPDATE %1$s SET %2$s = %3$s WHERE id = i * 10;
                    n := n + 1;
                END LOOP;
                RETURN n;
            END
            $b$;$f$, tbl, upd.col, upd.expr, bench.accounts() / 10);
    END LOOP;
END
$$;

SELECT bench.make_loops('accounts_plain', false);
SELECT bench.make_loops('accounts_stored', true);
SELECT bench.make_loops('accounts', false);

-- ---------------------------------------------------------------- measures

SELECT bench.say(format('%s single-row statements per line', to_char(bench.accounts() / 10, 'FM999,999,999')));

CREATE PROCEDURE bench.match2(label text, fn text)
    LANGUAGE plpgsql
AS $$
BEGIN
    CALL bench.measure('match-2', label, 'plain table, no trigger', format('SELECT bench.accounts_plain_%s()', fn));
    CALL bench.measure('match-2', label, 'territories column + GIN index, no trigger',
                       format('SELECT bench.accounts_stored_%s()', fn));
    CALL bench.measure('match-2', label, 'managed table: C trigger, history included',
                       format('SELECT bench.accounts_%s()', fn));
    PERFORM bench.difference('match-2', label, 'added by the extension (managed − plain)',
                             'managed table: C trigger, history included', 'plain table, no trigger');
    PERFORM bench.difference('match-2', label, 'added by the triggers alone (managed − column + GIN index)',
                             'managed table: C trigger, history included', 'territories column + GIN index, no trigger');
END
$$;

CALL bench.match2('INSERT one new account per statement', 'insert');
CALL bench.match2('UPDATE employees (no rule reads it)', 'update_employees');
CALL bench.match2('UPDATE annual_revenue + 1 (rules read it; the territories rarely change)', 'update_annual_revenue');
CALL bench.match2('UPDATE billing_postal_code (rules read it; the account moves, history written)', 'update_billing_postal_code');

-- µs per statement beside each line
UPDATE bench.result
   SET note = concat_ws('; ', note, to_char(1000 * ms / (bench.accounts() / 10), 'FM999,990.00') || ' µs per statement')
 WHERE bench = 'match-2' AND ms IS NOT NULL;

-- the territories the statements left must be those the rules give (the managed table)
CALL bench.check('match-2', 'UPDATE billing_postal_code (rules read it; the account moves, history written)',
    'check: accounts whose territories are not what the rules give now',
    $q$SELECT count(*) FROM accounts a WHERE a.territories IS DISTINCT FROM territory.compute_territories('accounts', a)$q$, '0');

-- ---------------------------------------------------------------- targets

SELECT bench.target('match-2', format('%s: ≤ +1 µs per statement (≤ %s ms over %s statements)', label,
                                      to_char(bench.accounts() / 10 / 1000.0, 'FM999,990.##'),
                                      to_char(bench.accounts() / 10, 'FM999,999,999')),
                    label, 'added by the extension (managed − plain)', NULL, NULL, '<=', bench.accounts() / 10 / 1000.0)
  FROM (VALUES ('INSERT one new account per statement'),
               ('UPDATE annual_revenue + 1 (rules read it; the territories rarely change)'),
               ('UPDATE billing_postal_code (rules read it; the account moves, history written)')) AS v (label);
SELECT bench.target('match-2', 'UPDATE of a column no rule reads: nothing measurable (managed ≤ 1.05× plain)',
                    'UPDATE employees (no rule reads it)', 'managed table: C trigger, history included',
                    'UPDATE employees (no rule reads it)', 'plain table, no trigger', '<=', 1.05);
SELECT bench.target('match-2', format('UPDATE of a column no rule reads: ≤ +1 µs per statement (≤ %s ms over %s statements)',
                                      to_char(bench.accounts() / 10 / 1000.0, 'FM999,990.##'),
                                      to_char(bench.accounts() / 10, 'FM999,999,999')),
                    'UPDATE employees (no rule reads it)', 'added by the extension (managed − plain)', NULL, NULL, '<=',
                    bench.accounts() / 10 / 1000.0);

-- rls-2: 10,000 primary-key lookups through the visibility policies, one statement each, against
-- the same lookups without row-level security.
-- Target (shared/design/benchmarks.md): ≤ 1.3× the lookups without row-level security.

SELECT bench.start('rls-2', 'primary-key lookups through row-level security',
    'The data and readers of rls-1. One PL/pgSQL call (run as the role the policies apply to, '
    || '`territory.user` set) makes 10,000 single-row statements `SELECT amount FROM accounts WHERE id = $1` '
    || '(static SQL: the plan is cached, the policy checked for the row found) for ids spread over the table, '
    || 'against the same statements on `accounts_plain` (no row-level security). The result counts the rows '
    || 'each reader sees.',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

SELECT bench.say('building the tree, the accounts and the readers');
SELECT bench.make_rls_data();
VACUUM ANALYZE accounts, accounts_plain;
SELECT bench.rls_ready();

CREATE FUNCTION bench.lookups(protected bool, n int) RETURNS int
    LANGUAGE plpgsql
AS $$
DECLARE
    total int := bench.accounts();
    v numeric;
    found_rows int := 0;
    k int;
BEGIN
    FOR i IN 1 .. n LOOP
        k := 1 + (i * 7919) % total;
        IF protected THEN
            SELECT amount INTO v FROM accounts WHERE id = k;
        ELSE
            SELECT amount INTO v FROM accounts_plain WHERE id = k;
        END IF;
        IF FOUND THEN
            found_rows := found_rows + 1;
        END IF;
    END LOOP;
    RETURN found_rows;
END
$$;

CREATE PROCEDURE bench.rls2()
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    lbl text;
BEGIN
    FOR r IN SELECT * FROM bench.rls_user WHERE level IN ('1 %', '100 %', 'all (sees_all)') ORDER BY target, key LOOP
        lbl := format('10,000 lookups: reader seeing %s', r.level);
        CALL bench.measure('rls-2', lbl, 'without row-level security',
            format('SELECT bench.as_reader(%L, %L)', r.key, 'SELECT bench.lookups(false, 10000)'), compare => false);
        CALL bench.measure('rls-2', lbl, 'through the policies',
            format('SELECT bench.as_reader(%L, %L)', r.key, 'SELECT bench.lookups(true, 10000)'), compare => false);
        PERFORM bench.target('rls-2', format('%s: ≤ 1.3× without row-level security', lbl), lbl, 'through the policies',
                             lbl, 'without row-level security', '<=', 1.3);
    END LOOP;
END
$$;
CALL bench.rls2();

-- rr-1: round-robin owner assignment with 4 concurrent clients inserting leads, one lead per
-- transaction, against the same inserts with the owners given.
-- Target (shared/design/benchmarks.md): ≤ 1.5× the inserts with owners given; owners per member
-- differ by at most one.

SELECT bench.start('rr-1', 'round-robin owner assignment under 4 concurrent clients',
    'A managed lead table (key, country, owner), 10 country territories with a rule each, 5 members in '
    || 'rotation per country; 4 clients (dblink connections to the same database) insert the leads, one '
    || 'INSERT and COMMIT per lead from a procedure (`synchronous_commit = off`), client c inserting leads '
    || 'c, c + 4, ... with a country drawn from a fixed seed. Our way: the owner left NULL, the territory in '
    || '`round_robin` (each lead takes the next turn of its country from the counter in shared memory and '
    || 'writes it to territory.rotations). '
    || 'The baseline: the same inserts with the owner given (no assignment; the territory trigger still '
    || 'runs). A second case puts every lead in one territory (all four clients take turns from one counter: the '
    || 'worst case). The result is the number of leads; the check counts, per territory, the spread '
    || 'between the members with the most and the fewest leads.',
    to_char(bench.accounts() / 10, 'FM999,999,999') || ' leads');

CREATE EXTENSION IF NOT EXISTS dblink;

SELECT bench.say('building the territories and the members');
INSERT INTO territory.territories (id, model_id, parent_id, name, code)
VALUES (1, 1, NULL, 'World', 'WORLD'), (2, 1, 1, 'All leads', 'ALL');
INSERT INTO territory.territories (id, model_id, parent_id, name, code)
SELECT 10 + c, 1, 1, 'Country ' || c, 'C' || c FROM generate_series(1, 10) c;
SELECT setval(pg_get_serial_sequence('territory.territories', 'id'), 100);
CREATE TABLE leads (id int PRIMARY KEY, country int NOT NULL, scope text NOT NULL, owner_id text);
SELECT territory.manage_table('leads', 'lead');
SELECT territory.add_rule(10 + c, format('scope = ''country'' AND country = %s', c), tbl => 'leads')
  FROM generate_series(1, 10) c;
SELECT territory.add_rule(2, $$scope = 'one'$$, tbl => 'leads');
INSERT INTO territory.sales_users (key, name) SELECT 'rep' || i, 'Rep ' || i FROM generate_series(1, 50) i;
INSERT INTO territory.members (territory_id, user_id)
SELECT 10 + (i - 1) / 5 + 1, u.id FROM generate_series(1, 50) i JOIN territory.sales_users u ON u.key = 'rep' || i;
INSERT INTO territory.members (territory_id, user_id)
SELECT 2, u.id FROM generate_series(1, 5) i JOIN territory.sales_users u ON u.key = 'rep' || i;
UPDATE territory.territories SET owner_assignment = 'round_robin' WHERE id = 2 OR id > 10;

-- One client: the leads c, c + 4, ... up to n, one per transaction.
CREATE PROCEDURE bench.rr_client(c int, n int, scope text, with_owner bool)
    LANGUAGE plpgsql
AS $$
BEGIN
    SET synchronous_commit = off;
    FOR i IN 0 .. (n - c) / 4 LOOP
        INSERT INTO leads VALUES (c + 4 * i, 1 + (hashint4(c + 4 * i) & 1023) % 10, scope,
                                  CASE WHEN with_owner THEN 'rep' || (1 + (c + 4 * i) % 50) END);
        COMMIT;
    END LOOP;
END
$$;

-- Four clients at once; returns the leads inserted.
CREATE FUNCTION bench.rr_run(scope text, with_owner bool) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n int := bench.accounts() / 10;
    conn text := format('dbname=%s port=%s host=%s user=%s', current_database(), current_setting('port'),
                        split_part(current_setting('unix_socket_directories'), ',', 1), current_user);
    r record;
BEGIN
    FOR c IN 1 .. 4 LOOP
        PERFORM dblink_connect('rr' || c, conn);
    END LOOP;
    FOR c IN 1 .. 4 LOOP
        PERFORM dblink_send_query('rr' || c, format('CALL bench.rr_client(%s, %s, %L, %L)', c, n, scope, with_owner));
    END LOOP;
    FOR c IN 1 .. 4 LOOP
        -- wait for the client; its error, if any, is raised here
        FOR r IN SELECT * FROM dblink_get_result('rr' || c, true) AS t(status text) LOOP
        END LOOP;
        PERFORM dblink_disconnect('rr' || c);
    END LOOP;
    RETURN (SELECT count(*) FROM leads);
END
$$;

CREATE PROCEDURE bench.rr1()
    LANGUAGE plpgsql
AS $$
DECLARE
    n text := to_char(bench.accounts() / 10, 'FM999,999,999');
    setup text := 'TRUNCATE leads, territory.assignment_log; DELETE FROM territory.rotations';
    given text := 'owners given (no assignment)';
    rr text := 'owners left NULL: round robin';
    spread text := $q$SELECT max(spread) <= 1 FROM (SELECT max(c) - min(c) AS spread
                        FROM (SELECT t, owner_id, count(*) AS c FROM leads, unnest(territories) t GROUP BY 1, 2) x
                       GROUP BY t) y$q$;
    lbl text;
BEGIN
    FOR k IN 1 .. 2 LOOP
        lbl := format('%s leads, 4 clients, ', n) || CASE k WHEN 1 THEN '10 territories of 5 members'
                                                            ELSE 'one territory of 5 members' END;
        CALL bench.measure('rr-1', lbl, given,
            format('SELECT bench.rr_run(%L, true)', CASE k WHEN 1 THEN 'country' ELSE 'one' END), setup => setup);
        CALL bench.measure('rr-1', lbl, rr,
            format('SELECT bench.rr_run(%L, false)', CASE k WHEN 1 THEN 'country' ELSE 'one' END), setup => setup);
        CALL bench.check('rr-1', lbl, 'check: leads without an owner', 'SELECT count(*) FROM leads WHERE owner_id IS NULL', '0');
        CALL bench.check('rr-1', lbl, 'check: members of a territory differ by at most one lead', spread, 'true');
        IF k = 1 THEN
            PERFORM bench.target('rr-1', format('%s: round robin ≤ 1.5× owners given', lbl), lbl, rr, lbl, given, '<=', 1.5);
        END IF;
    END LOOP;
END
$$;
CALL bench.rr1();

-- The input driver of scripts/run-sqlsmith: seeded random strings, as the fuzzer, into the text
-- parsers that only the server reaches: normalize_phone, try_normalize_phone, parse_phone,
-- route_call and the input of territory.period.  Every call's outcome is counted by SQLSTATE;
-- besides expected errors only, the answers must agree with each other (a number is valid for
-- normalize_phone exactly when try_normalize_phone and parse_phone take it, and then all three
-- give the same E.164 form, which normalises to itself; route_call answers with one row; a
-- period's output reads back as the same period).  psql variables: seed, inputs (per parser).
\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;

CREATE TEMP TABLE outcomes (fn text, state text, input text);
CREATE TEMP TABLE expected_states (state text PRIMARY KEY);
INSERT INTO expected_states VALUES ('ok'), ('22023'), ('22P02'), ('22008'), ('22003'), ('22004'), ('22007');

-- A random input: usually a valid one mutated a few times, sometimes one built of parser atoms.
CREATE FUNCTION pg_temp.rand_input(kind text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    seeds text[] := CASE kind
        WHEN 'phone' THEN ARRAY['+49 30 1234567', '+1 (416) 555-0100 ext. 12', '0049 89 123456', '+7 495 123 45 67',
                                '+800 1234 5678', '+1 800 555 0199 x123', '+383 44 123 456', '+44 (0)20 7946 0018',
                                '00 1 212 555 0100 #45', '+33 (0)1 23 45 67 89', '+1 212 555 0100', '+49 30 1234501',
                                '+7 700 123 4567', '+1 684 555 0100', '+979 123456789', '+1-869-555-0100;ext=7']
        ELSE ARRAY['2026-11', '2026-Q4', ' 2026 ', 'fy2027', 'FY2027-Q1', '0001', '9999-12', 'FY9999-q4', '2026-q1',
                   'FY0001', '0001-01', E'\t2027-Q2\n'] END;
    atoms text[] := ARRAY['+', '0', '1', '7', '9', '00', ' ', '  ', '(', ')', '-', '.', '/', 'x', 'ext', 'ext.', '#',
                          ';ext=', 'FY', 'fy', 'Q', 'q', '-Q', E'\t', E'\n', '٣', '１', '+1', '+7', '+800', '+44',
                          '99999999999999999999', 'e', 'Ä', U&'\00A0', '''', '\', '%', ',', '-0', '13', '00', '10000'];
    s text;
    pos int;
BEGIN
    IF random() < 0.2 THEN
        s := '';
        FOR i IN 1 .. floor(random() * 14)::int LOOP
            s := s || atoms[1 + floor(random() * array_length(atoms, 1))::int];
        END LOOP;
    ELSE
        s := seeds[1 + floor(random() * array_length(seeds, 1))::int];
        FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
            pos := 1 + floor(random() * (length(s) + 1))::int;
            CASE floor(random() * 6)::int
                WHEN 0 THEN s := overlay(s PLACING atoms[1 + floor(random() * array_length(atoms, 1))::int] FROM pos FOR 0);
                WHEN 1 THEN s := overlay(s PLACING '' FROM pos FOR 1 + floor(random() * 3)::int);
                WHEN 2 THEN s := overlay(s PLACING floor(random() * 10)::int::text FROM pos FOR 1);
                WHEN 3 THEN s := left(s, pos) || substr(s, pos, 1 + floor(random() * 6)::int) || substr(s, pos + 1);
                WHEN 4 THEN s := overlay(s PLACING chr(32 + floor(random() * 55000)::int) FROM pos FOR 1);
                ELSE s := overlay(s PLACING chr(48 + floor(random() * 80)::int) FROM pos FOR 0);
            END CASE;
        END LOOP;
    END IF;
    IF random() < 0.01 THEN
        s := repeat(s, 1 + floor(random() * 2000)::int);
    END IF;
    RETURN s;
END
$f$;

-- n inputs per parser; every outcome goes to outcomes, every disagreement too (state 'WRONG: ...').
CREATE FUNCTION pg_temp.fuzz_chunk(n int) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    s text;
    caller text;
    norm text;
    norm_state text;
    try text;
    parsed record;
    parse_state text;
    p territory.period;
    rows int;
    st text;
BEGIN
    FOR i IN 1 .. n LOOP
        s := pg_temp.rand_input('phone');
        BEGIN
            norm := territory.normalize_phone(s);
            norm_state := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS norm_state = RETURNED_SQLSTATE;
            norm := NULL;
        END;
        INSERT INTO outcomes VALUES ('normalize_phone', norm_state, s);
        BEGIN
            try := territory.try_normalize_phone(s);
            st := 'ok';
            IF try IS DISTINCT FROM norm THEN
                st := format('WRONG: try_normalize_phone gives %L, normalize_phone %L (%s)', try, norm, norm_state);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcomes VALUES ('try_normalize_phone', st, s);
        BEGIN
            SELECT * INTO parsed FROM territory.parse_phone(s);
            parse_state := 'ok';
            IF norm_state <> 'ok' OR parsed.number IS DISTINCT FROM norm THEN
                parse_state := format('WRONG: parse_phone gives %L, normalize_phone %L (%s)', parsed.number, norm, norm_state);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS parse_state = RETURNED_SQLSTATE;
            IF norm_state = 'ok' THEN
                parse_state := format('WRONG: parse_phone fails (%s), normalize_phone gives %L', parse_state, norm);
            END IF;
        END;
        INSERT INTO outcomes VALUES ('parse_phone', parse_state, s);
        IF norm_state = 'ok' THEN
            BEGIN
                st := 'ok';
                IF territory.normalize_phone(norm) IS DISTINCT FROM norm THEN
                    st := format('WRONG: normalize_phone(%L) gives %L', norm, territory.normalize_phone(norm));
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
                st := format('WRONG: normalize_phone fails on its own output %L (%s)', norm, st);
            END;
            INSERT INTO outcomes VALUES ('normalize_phone(normalize_phone)', st, s);
        END IF;

        -- route_call: the dialed number strict, the caller lenient; NULL now and then
        caller := CASE WHEN random() < 0.1 THEN NULL ELSE pg_temp.rand_input('phone') END;
        IF random() < 0.02 THEN s := NULL; END IF;
        BEGIN
            SELECT count(*) INTO rows FROM territory.route_call(s, caller);
            st := CASE WHEN rows = 1 THEN 'ok' ELSE format('WRONG: route_call gives %s rows', rows) END;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcomes VALUES ('route_call', st, s || ' / ' || coalesce(caller, 'NULL'));

        s := pg_temp.rand_input('period');
        BEGIN
            p := s::territory.period;
            st := 'ok';
            IF NOT (p::text::territory.period OPERATOR(pg_catalog.=) p) OR p::text::territory.period::text <> p::text THEN
                st := format('WRONG: period %L reads back as %L', p::text, p::text::territory.period::text);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        END;
        INSERT INTO outcomes VALUES ('period input', st, s);
    END LOOP;
END
$f$;

\o /dev/null
SELECT setseed(((:seed % 1000000) / 1000000.0)::float8);
SET statement_timeout = '120s';
SELECT format('SELECT pg_temp.fuzz_chunk(%s)', least(250, :inputs - c)) FROM generate_series(0, :inputs - 1, 250) c
\gexec
\o

\pset footer off
\pset tuples_only on
\pset format unaligned
\echo 'input driver: outcomes by function and SQLSTATE'
SELECT format('  %-34s %-6s %6s  e.g. %s', fn, state, count(*),
              quote_literal(left(regexp_replace(min(input) FILTER (WHERE input <> ''), '[[:cntrl:]]', '?', 'g'), 50)))
  FROM outcomes WHERE state NOT LIKE 'WRONG%' GROUP BY fn, state ORDER BY fn, state;
SELECT format('input driver: %s calls on %s inputs, %s unexpected', count(*),
              count(*) FILTER (WHERE fn IN ('normalize_phone', 'route_call', 'period input')),
              count(*) FILTER (WHERE state NOT IN (SELECT state FROM expected_states)))
  FROM outcomes;
\echo 'input driver: unexpected outcomes (first 20):'
SELECT format('  UNEXPECTED %s %s on %L', fn, state, left(input, 300))
  FROM outcomes WHERE state NOT IN (SELECT state FROM expected_states) LIMIT 20;

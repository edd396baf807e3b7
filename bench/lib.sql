-- bench/lib.sql: helpers shared by every benchmark (loaded by bench/run into each benchmark's
-- fresh database before the benchmark's own file).
--
-- A benchmark calls, in order:
--   SELECT bench.start('hier-1', 'title', 'one paragraph on what is measured');
--   CALL bench.measure('hier-1', 'case', 'method', 'SELECT count(*) FROM ...');  -- one per line
--   SELECT bench.target('hier-1', 'what the target says', 'case', 'method', 'case', 'method', '<=', 1.1);
-- and bench/run then calls bench.verify() (every method of a case gave the same result) and
-- bench.report() (the markdown table written to bench/results/<name>.md and the terminal).
--
-- Settings come from bench/run through PGOPTIONS: bench.size (S, M or L), bench.runs (timed runs,
-- default 5), max_parallel_workers_per_gather = 0 and jit = off (checked by bench.begin).

CREATE SCHEMA bench;

CREATE TABLE bench.benchmark (
    name     text PRIMARY KEY,
    title    text NOT NULL,
    about    text NOT NULL,
    scale    text,                     -- what SIZE means here (default: the number of territories)
    started  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One line of a results table: the median of a method on a case.
CREATE TABLE bench.result (
    seq      serial PRIMARY KEY,
    bench    text NOT NULL REFERENCES bench.benchmark,
    label    text NOT NULL,            -- the case
    method   text NOT NULL,            -- the first method of a case is the reference for ratios
    ms       float8,                   -- median (NULL: a check, bench.check)
    runs     int NOT NULL,
    value    text,                     -- the query's result (first column of the first row)
    compare  bool NOT NULL DEFAULT true,  -- value must equal the other compared values of the case
    note     text
);

-- Every timed sample, for medians of many single operations (bench.measure_changes).
CREATE TABLE bench.sample (
    seq      serial PRIMARY KEY,
    bench    text NOT NULL,
    label    text NOT NULL,
    method   text NOT NULL,
    i        int NOT NULL,
    ms       float8 NOT NULL
);

-- A target: ms(num) / ms(den) compared with lim by op; with no den, ms(num) itself (in ms).
CREATE TABLE bench.target (
    seq         serial PRIMARY KEY,
    bench       text NOT NULL REFERENCES bench.benchmark,
    label       text NOT NULL,
    num_label   text NOT NULL,
    num_method  text NOT NULL,
    den_label   text,
    den_method  text,
    op          text NOT NULL CHECK (op IN ('<=', '>=')),
    lim         float8 NOT NULL
);

CREATE FUNCTION bench.size() RETURNS text
    LANGUAGE sql STABLE
    RETURN coalesce(nullif(current_setting('bench.size', true), ''), 'M');

-- Territories at each size: S 10,000; M 100,000; L 1,000,000 (by hand).
CREATE FUNCTION bench.territories() RETURNS int
    LANGUAGE sql STABLE
    RETURN CASE bench.size() WHEN 'S' THEN 10000 WHEN 'M' THEN 100000 WHEN 'L' THEN 1000000 END;

-- Accounts at each size: S 100,000; M 1,000,000; L 10,000,000.
CREATE FUNCTION bench.accounts() RETURNS int
    LANGUAGE sql STABLE
    RETURN CASE bench.size() WHEN 'S' THEN 100000 WHEN 'M' THEN 1000000 WHEN 'L' THEN 10000000 END;

CREATE FUNCTION bench.runs() RETURNS int
    LANGUAGE sql STABLE
    RETURN greatest(coalesce(nullif(current_setting('bench.runs', true), '')::int, 5), 1);

-- scale says what SIZE means for the benchmark (e.g. '1,000,000 accounts'); by default the
-- number of territories.
CREATE FUNCTION bench.start(name text, title text, about text, scale text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF bench.territories() IS NULL THEN
        RAISE EXCEPTION 'bench.size must be S, M or L, not "%"', bench.size();
    END IF;
    IF current_setting('max_parallel_workers_per_gather') <> '0' OR current_setting('jit') <> 'off' THEN
        RAISE EXCEPTION 'benchmarks run with max_parallel_workers_per_gather = 0 and jit = off (got %, %)',
            current_setting('max_parallel_workers_per_gather'), current_setting('jit');
    END IF;
    INSERT INTO bench.benchmark (name, title, about, scale) VALUES (start.name, start.title, start.about, start.scale);
    RAISE NOTICE '% at SIZE=% (%), % timed runs per line', name, bench.size(),
        coalesce(scale, bench.territories() || ' territories'), bench.runs();
END
$$;

-- A progress line on the terminal.
CREATE FUNCTION bench.say(msg text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE NOTICE '%', msg;
END
$$;

CREATE FUNCTION bench.fmt_ms(ms float8) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN ms IS NULL THEN '–'
        WHEN ms < 1 THEN to_char(ms, 'FM0.000')
        WHEN ms < 100 THEN to_char(ms, 'FM990.00')
        ELSE to_char(ms, 'FM999,999,990.0')
    END;

CREATE FUNCTION bench.fmt_ratio(r float8) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN r IS NULL THEN '–'
        WHEN r < 10 THEN to_char(r, 'FM990.00') || '×'
        ELSE to_char(r, 'FM999,999,990.0') || '×'
    END;

CREATE FUNCTION bench.fmt_value(v text) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN v ~ '^-?[0-9]+$' THEN to_char(v::numeric, 'FM999,999,999,999,990') ELSE coalesce(v, '') END;

/*
 * bench.measure: run query one untimed warm-up time and then runs times, each run in its own
 * transaction, timed with clock_timestamp() around EXECUTE and COMMIT; record the median.  setup,
 * when given, runs (and commits) before every run, untimed.  Called with CALL outside a
 * transaction block, as psql does in autocommit mode.  extrapolate, when given, multiplies the
 * median recorded (a query run on a sample of the data, too slow on all of it); the note then
 * says so.
 */
CREATE PROCEDURE bench.measure(bench text, label text, method text, query text,
                               setup text DEFAULT NULL, runs int DEFAULT NULL,
                               compare bool DEFAULT true, note text DEFAULT NULL,
                               extrapolate float8 DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    n int := coalesce(runs, bench.runs());
    t0 timestamptz;
    times float8[] := '{}';
    v text;
    first_v text;
    med float8;
BEGIN
    FOR i IN 0 .. n LOOP
        IF setup IS NOT NULL THEN
            EXECUTE setup;
            COMMIT;
        END IF;
        t0 := clock_timestamp();
        EXECUTE query INTO v;
        COMMIT;
        IF i > 0 THEN       -- run 0 is the warm-up
            times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
        END IF;
        IF i = 0 THEN
            first_v := v;
        ELSIF v IS DISTINCT FROM first_v AND compare THEN
            RAISE EXCEPTION '%: % / %: the result changed between runs (% then %)',
                bench, label, method, first_v, v;
        END IF;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) INTO med FROM unnest(times) t;
    IF extrapolate IS NOT NULL THEN
        note := concat_ws('; ', note, format('median %s ms on the sample × %s', bench.fmt_ms(med), extrapolate));
        med := med * extrapolate;
    END IF;
    INSERT INTO bench.result (bench, label, method, ms, runs, value, compare, note)
        VALUES (bench, label, method, med, n, first_v, compare, note);
    COMMIT;
    RAISE NOTICE '  % | % | %: % ms (result %)%', bench, label, method, bench.fmt_ms(med), first_v,
        CASE WHEN extrapolate IS NOT NULL THEN ' (' || note || ')' ELSE '' END;
END
$$;

/*
 * bench.measure_changes: n + 1 single operations, each in its own transaction: change (a query
 * with $1 = the iteration number 0 .. n) and its COMMIT, timed together; then, when given, after
 * (a hierarchy query) timed twice: the first time right after the change, the second time again.
 * Iteration 0 is the warm-up.  Records the medians as methods change_method, after_method and
 * again_method of the case label (and, with total_method, the median of change + first query), and
 * every sample in bench.sample.
 */
CREATE PROCEDURE bench.measure_changes(bench text, label text, n int, change text,
                                       change_method text, after text DEFAULT NULL,
                                       after_method text DEFAULT NULL, again_method text DEFAULT NULL,
                                       total_method text DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    t0 timestamptz;
    v text;
    m text;
BEGIN
    FOR i IN 0 .. n LOOP
        t0 := clock_timestamp();
        EXECUTE change USING i;
        COMMIT;
        IF i > 0 THEN
            INSERT INTO bench.sample (bench, label, method, i, ms) VALUES (bench, label, change_method, i,
                extract(epoch FROM clock_timestamp() - t0) * 1000);
        END IF;
        IF after IS NOT NULL THEN
            -- the query after the change, twice: first (after_method), then again (again_method)
            FOREACH m IN ARRAY ARRAY[after_method, again_method] LOOP
                t0 := clock_timestamp();
                EXECUTE after INTO v;
                IF i > 0 THEN
                    INSERT INTO bench.sample (bench, label, method, i, ms) VALUES (bench, label, m, i,
                        extract(epoch FROM clock_timestamp() - t0) * 1000);
                END IF;
            END LOOP;
        END IF;
        COMMIT;
    END LOOP;
    IF after IS NOT NULL AND total_method IS NOT NULL THEN
        INSERT INTO bench.sample (bench, label, method, i, ms)
        SELECT c.bench, c.label, total_method, c.i, c.ms + a.ms
          FROM bench.sample c
          JOIN bench.sample a ON a.bench = c.bench AND a.label = c.label AND a.i = c.i AND a.method = after_method
         WHERE c.bench = measure_changes.bench AND c.label = measure_changes.label AND c.method = change_method
         ORDER BY c.i;
    END IF;
    INSERT INTO bench.result (bench, label, method, ms, runs, compare, note)
    SELECT s.bench, s.label, s.method,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.ms), count(*), false,
           format('mean %s, p95 %s ms', bench.fmt_ms(avg(s.ms)),
                  bench.fmt_ms(percentile_cont(0.95) WITHIN GROUP (ORDER BY s.ms)))
      FROM bench.sample s
     WHERE s.bench = measure_changes.bench AND s.label = measure_changes.label
     GROUP BY s.bench, s.label, s.method
     ORDER BY min(s.seq);
    COMMIT;
    FOR v IN
        SELECT format('  %s | %s | %s: median %s ms, %s', r.bench, r.label, r.method, bench.fmt_ms(r.ms), r.note)
          FROM bench.result r
         WHERE r.bench = measure_changes.bench AND r.label = measure_changes.label
         ORDER BY r.seq
    LOOP
        RAISE NOTICE '%', v;
    END LOOP;
END
$$;

/*
 * bench.difference: a line computed from two measured lines of the case: the median of minuend
 * less the median of subtrahend (e.g. the time a trigger adds to a load), as method.
 */
CREATE FUNCTION bench.difference(bench text, label text, method text, minuend text, subtrahend text,
                                 note text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    d float8;
BEGIN
    SELECT a.ms - b.ms INTO STRICT d
      FROM bench.result a, bench.result b
     WHERE a.bench = difference.bench AND a.label = difference.label AND a.method = minuend
       AND b.bench = difference.bench AND b.label = difference.label AND b.method = subtrahend;
    INSERT INTO bench.result (bench, label, method, ms, runs, compare, note)
        VALUES (bench, label, method, d, 0, false, note);
    RAISE NOTICE '  % | % | %: % ms', bench, label, method, bench.fmt_ms(d);
END
$$;

/*
 * bench.check: run query once (untimed) and record its result as a line of the table (method,
 * in case label); an error when it is not expected.
 */
CREATE PROCEDURE bench.check(bench text, label text, method text, query text, expected text)
    LANGUAGE plpgsql
AS $$
DECLARE
    v text;
BEGIN
    EXECUTE query INTO v;
    IF v IS DISTINCT FROM expected THEN
        RAISE EXCEPTION '%: % / %: got %, expected %', bench, label, method, v, expected;
    END IF;
    INSERT INTO bench.result (bench, label, method, ms, runs, value, compare)
        VALUES (bench, label, method, NULL, 1, v, false);
    COMMIT;
    RAISE NOTICE '  % | % | %: % (as expected)', bench, label, method, v;
END
$$;

/*
 * bench.record: a line measured outside the database (by a bench/<name>.sh, with pgbench...): the
 * median of samples (ms, one a timed run), with its result and note as bench.measure records
 * them; not compared with the other lines of the case.
 */
CREATE FUNCTION bench.record(bench text, label text, method text, samples float8[],
                             value text DEFAULT NULL, note text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    med float8 := (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(samples) t);
BEGIN
    INSERT INTO bench.result (bench, label, method, ms, runs, value, compare, note)
        VALUES (bench, label, method, med, cardinality(samples), value, false, note);
    RAISE NOTICE '  % | % | %: % ms (result %)', bench, label, method, bench.fmt_ms(med), value;
END
$$;

CREATE FUNCTION bench.target(bench text, label text, num_label text, num_method text,
                             den_label text, den_method text, op text, lim float8) RETURNS void
    LANGUAGE sql
AS $$
    INSERT INTO bench.target (bench, label, num_label, num_method, den_label, den_method, op, lim)
    VALUES (bench, label, num_label, num_method, den_label, den_method, op, lim);
$$;

-- Every compared method of a case must have given the same result: else an error.
CREATE FUNCTION bench.verify(bench text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT x.label, string_agg(format('%s = %s', x.method, x.value), ', ' ORDER BY x.seq) AS got
          FROM bench.result x
         WHERE x.bench = verify.bench AND x.compare
         GROUP BY x.label
        HAVING count(DISTINCT coalesce(x.value, '<null>')) > 1
    LOOP
        RAISE EXCEPTION '%: the methods of "%" disagree: %', bench, r.label, r.got;
    END LOOP;
    -- every target must name measured lines
    FOR r IN
        SELECT t.label FROM bench.target t
         WHERE t.bench = verify.bench
           AND (NOT EXISTS (SELECT FROM bench.result x WHERE x.bench = t.bench AND x.label = t.num_label AND x.method = t.num_method)
                OR (t.den_label IS NOT NULL AND NOT EXISTS (
                    SELECT FROM bench.result x WHERE x.bench = t.bench AND x.label = t.den_label AND x.method = t.den_method)))
    LOOP
        RAISE EXCEPTION '%: target "%" names a line that was not measured', bench, r.label;
    END LOOP;
END
$$;

-- The markdown report of a benchmark.
CREATE FUNCTION bench.report(bench text, machine text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql
AS $$
DECLARE
    b bench.benchmark;
    out text;
    r record;
    prev text := NULL;
BEGIN
    SELECT * INTO STRICT b FROM bench.benchmark WHERE name = report.bench;
    out := format(E'# %s: %s\n\n', b.name, b.title)
        || format(E'SIZE=%s (%s) · %s · PostgreSQL %s · %s · %s\n\n',
                  bench.size(), coalesce(b.scale, to_char(bench.territories(), 'FM999,999,999') || ' territories'),
                  to_char(b.started, 'YYYY-MM-DD'), split_part(current_setting('server_version'), ' ', 1),
                  coalesce(machine, 'machine not given'), 'max_parallel_workers_per_gather = 0, jit = off')
        || b.about || E'\n\n'
        || E'| case | method | median ms | runs | result | ratio to the first line of the case |\n'
        || E'|---|---|---:|---:|---:|---:|\n';
    FOR r IN
        SELECT x.*, x.ms / first_value(x.ms) OVER (PARTITION BY x.label ORDER BY x.seq) AS ratio,
               min(x.seq) OVER (PARTITION BY x.label) AS case_seq
          FROM bench.result x
         WHERE x.bench = report.bench
         ORDER BY case_seq, x.seq
    LOOP
        out := out || format(E'| %s | %s | %s | %s | %s | %s |\n',
            CASE WHEN r.label IS DISTINCT FROM prev THEN r.label ELSE '' END,
            r.method || coalesce(' (' || r.note || ')', ''),
            bench.fmt_ms(r.ms), r.runs, bench.fmt_value(r.value),
            CASE WHEN r.label IS DISTINCT FROM prev THEN 'ref' ELSE bench.fmt_ratio(r.ratio) END);
        prev := r.label;
    END LOOP;
    IF EXISTS (SELECT FROM bench.target t WHERE t.bench = report.bench) THEN
        out := out || E'\n## Targets\n\n| target | measured | target | status |\n|---|---:|---:|---|\n';
        FOR r IN
            SELECT t.*, n.ms / coalesce(d.ms, 1) AS measured
              FROM bench.target t
              JOIN bench.result n ON n.bench = t.bench AND n.label = t.num_label AND n.method = t.num_method
              LEFT JOIN bench.result d ON d.bench = t.bench AND d.label = t.den_label AND d.method = t.den_method
             WHERE t.bench = report.bench
             ORDER BY t.seq
        LOOP
            out := out || format(E'| %s | %s | %s %s | %s |\n', r.label,
                CASE WHEN r.den_label IS NULL THEN bench.fmt_ms(r.measured) || ' ms'
                     WHEN r.measured < 10 THEN to_char(r.measured, 'FM990.000') || '×'
                     ELSE bench.fmt_ratio(r.measured) END,
                r.op,
                CASE WHEN r.den_label IS NULL THEN bench.fmt_ms(r.lim) || ' ms' ELSE bench.fmt_ratio(r.lim) END,
                CASE WHEN (r.op = '<=' AND r.measured <= r.lim) OR (r.op = '>=' AND r.measured >= r.lim)
                     THEN 'met' ELSE '**MISSED**' END);
        END LOOP;
    END IF;
    RETURN out;
END
$$;

-- ---------------------------------------------------------------- data

/*
 * Sizes of the levels of the benchmark tree (depth 0 .. 6) for n territories: the last level
 * takes the rest.
 */
CREATE FUNCTION bench.level_sizes(n int) RETURNS int[]
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT s || (n - (SELECT sum(x) FROM unnest(s) x))::int
      FROM (SELECT CASE
                WHEN n >= 1000000 THEN '{1,10,100,1000,10000,100000}'::int[]
                WHEN n >= 100000 THEN '{1,4,20,100,1000,10000}'::int[]
                ELSE '{1,4,10,50,200,1000}'::int[]
            END) AS l(s);
$$;

/*
 * bench.make_tree: the benchmark's random tree of n territories and depth 6 with a fixed seed, as
 * bench.node (id, parent_id, depth): ids 1 .. n level by level, each node's parent drawn at random
 * from the level above.
 */
CREATE FUNCTION bench.make_tree(n int, seed float8 DEFAULT 0.42) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    sizes int[] := bench.level_sizes(n);
    start int := 2;
    prev_start int := 1;
BEGIN
    PERFORM setseed(seed);
    CREATE TABLE bench.node (id int PRIMARY KEY, parent_id int, depth int NOT NULL);
    INSERT INTO bench.node VALUES (1, NULL, 0);
    FOR d IN 2 .. array_length(sizes, 1) LOOP
        INSERT INTO bench.node
        SELECT start + i, prev_start + floor(random() * sizes[d - 1])::int, d - 1
          FROM generate_series(0, sizes[d] - 1) i;
        prev_start := start;
        start := start + sizes[d];
    END LOOP;
    ANALYZE bench.node;
END
$$;

-- Load bench.node into territory.territories of model 1 with one INSERT … SELECT (row triggers
-- included); ids are kept, and the identity sequence moved past them.
CREATE FUNCTION bench.load_territories() RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO territory.territories (id, model_id, parent_id, name, code)
    SELECT id, 1, parent_id, 'Territory ' || id, 'T' || id FROM bench.node ORDER BY id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM setval(pg_get_serial_sequence('territory.territories', 'id'),
                   (SELECT max(id) FROM territory.territories));
    RETURN n;
END
$$;

-- ---------------------------------------------------------------- accounts and rules (match-*)

/*
 * bench.country: 62 countries in 10 regions, with a share of the accounts (weight), the number
 * of digits of their postal codes, and for six of them states (a state owns a contiguous range
 * of the first three postal digits, as US states own ZIP prefixes).
 */
CREATE TABLE bench.country (
    code        text PRIMARY KEY,
    region      text NOT NULL,
    weight      float8 NOT NULL,
    postal_len  int NOT NULL,
    states      text[]
);
INSERT INTO bench.country (code, region, weight, postal_len, states) VALUES
    ('US', 'North America', 30, 5, '{AL,AK,AZ,AR,CA,CO,CT,DE,DC,FL,GA,HI,ID,IL,IN,IA,KS,KY,LA,ME,MD,MA,MI,MN,MS,MO,MT,NE,NV,NH,NJ,NM,NY,NC,ND,OH,OK,OR,PA,RI,SC,SD,TN,TX,UT,VT,VA,WA,WV,WI,WY}'),
    ('CA', 'North America', 3.5, 6, '{AB,BC,MB,NB,NL,NS,NT,NU,ON,PE,QC,SK,YT}'),
    ('MX', 'Latin America', 2, 5, '{AGU,BCN,BCS,CAM,CHP,CHH,CMX,COA,COL,DUR,GUA,GRO,HID,JAL,MEX,MIC,MOR,NAY,NLE,OAX,PUE,QUE,ROO,SLP,SIN,SON,TAB,TAM,TLA,VER,YUC,ZAC}'),
    ('BR', 'Latin America', 2.5, 5, '{AC,AL,AP,AM,BA,CE,DF,ES,GO,MA,MT,MS,MG,PA,PB,PR,PE,PI,RJ,RN,RS,RO,RR,SC,SP,SE,TO}'),
    ('AR', 'Latin America', 0.8, 4, NULL), ('CL', 'Latin America', 0.5, 5, NULL),
    ('CO', 'Latin America', 0.5, 6, NULL), ('PE', 'Latin America', 0.3, 5, NULL),
    ('UY', 'Latin America', 0.1, 5, NULL), ('EC', 'Latin America', 0.2, 6, NULL),
    ('GB', 'Western Europe', 5, 6, NULL), ('IE', 'Western Europe', 0.8, 5, NULL),
    ('FR', 'Western Europe', 4, 5, NULL), ('BE', 'Western Europe', 0.8, 4, NULL),
    ('NL', 'Western Europe', 1.5, 4, NULL), ('LU', 'Western Europe', 0.1, 4, NULL),
    ('DE', 'DACH', 5.5, 5, NULL), ('AT', 'DACH', 0.7, 4, NULL), ('CH', 'DACH', 1.2, 4, NULL),
    ('SE', 'Nordics', 0.9, 5, NULL), ('NO', 'Nordics', 0.7, 4, NULL), ('DK', 'Nordics', 0.6, 4, NULL),
    ('FI', 'Nordics', 0.4, 5, NULL), ('IS', 'Nordics', 0.05, 4, NULL),
    ('IT', 'Southern Europe', 2.8, 5, NULL), ('ES', 'Southern Europe', 2, 5, NULL),
    ('PT', 'Southern Europe', 0.4, 4, NULL), ('GR', 'Southern Europe', 0.3, 5, NULL),
    ('MT', 'Southern Europe', 0.05, 4, NULL), ('CY', 'Southern Europe', 0.05, 4, NULL),
    ('PL', 'Central & Eastern Europe', 1, 5, NULL), ('CZ', 'Central & Eastern Europe', 0.4, 5, NULL),
    ('SK', 'Central & Eastern Europe', 0.15, 5, NULL), ('HU', 'Central & Eastern Europe', 0.25, 4, NULL),
    ('RO', 'Central & Eastern Europe', 0.4, 6, NULL), ('BG', 'Central & Eastern Europe', 0.1, 4, NULL),
    ('HR', 'Central & Eastern Europe', 0.1, 5, NULL), ('SI', 'Central & Eastern Europe', 0.08, 4, NULL),
    ('AE', 'Middle East & Africa', 0.6, 5, NULL), ('SA', 'Middle East & Africa', 0.8, 5, NULL),
    ('IL', 'Middle East & Africa', 0.6, 5, NULL), ('TR', 'Middle East & Africa', 1.1, 5, NULL),
    ('ZA', 'Middle East & Africa', 0.5, 4, NULL), ('EG', 'Middle East & Africa', 0.4, 5, NULL),
    ('NG', 'Middle East & Africa', 0.4, 6, NULL), ('KE', 'Middle East & Africa', 0.1, 5, NULL),
    ('QA', 'Middle East & Africa', 0.2, 5, NULL), ('MA', 'Middle East & Africa', 0.15, 5, NULL),
    ('JP', 'Asia', 6, 6, NULL), ('CN', 'Asia', 8, 6, NULL), ('KR', 'Asia', 2, 5, NULL),
    ('IN', 'Asia', 3.5, 6, '{AN,AP,AR,AS,BR,CH,CT,DN,DL,GA,GJ,HR,HP,JK,JH,KA,KL,LA,LD,MP,MH,MN,ML,MZ,NL,OR,PY,PB,RJ,SK,TN,TG,TR,UP,UT,WB}'),
    ('SG', 'Asia', 0.6, 6, NULL), ('HK', 'Asia', 0.5, 6, NULL), ('TW', 'Asia', 0.9, 5, NULL),
    ('ID', 'Asia', 1, 5, NULL), ('MY', 'Asia', 0.5, 5, NULL), ('TH', 'Asia', 0.6, 5, NULL),
    ('PH', 'Asia', 0.4, 4, NULL), ('VN', 'Asia', 0.4, 6, NULL),
    ('AU', 'Oceania', 2.2, 4, '{ACT,NSW,NT,QLD,SA,TAS,VIC,WA}'), ('NZ', 'Oceania', 0.3, 4, NULL);

CREATE FUNCTION bench.industries() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN '{Banking,Insurance,Capital Markets,Healthcare,Pharma,Retail,Consumer Goods,Manufacturing,Automotive,Energy,Utilities,Telecom,Media,Technology,Software,Public Sector,Education,Transportation,Hospitality,Real Estate}'::text[];

-- The words the named-account rules look for in names (lower(name) LIKE '%word%').
CREATE FUNCTION bench.name_words() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN '{bank,university,hospital,holdings,insurance,capital,pharma,energy}'::text[];

/*
 * bench.make_accounts: n accounts with a fixed seed in the table tbl (created; id bigint primary
 * key, name, billing_country, billing_state, billing_postal_code, industry, annual_revenue,
 * employees, owner_id), ids 1 .. n in order.  Countries by weight; postal codes uniform over the
 * country's digits (2 % NULL); the state follows from the postal code where the country has
 * states; industry uniform over 20 (3 % NULL); revenue log-uniform-ish from 100 k to 100 G;
 * names from two word lists, the second of which holds the named-account words at a few percent.
 */
CREATE FUNCTION bench.make_accounts(tbl text, n int, seed float8 DEFAULT 0.61) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    k bigint;
BEGIN
    PERFORM setseed(seed);
    EXECUTE format('CREATE TABLE %s (
        id bigint PRIMARY KEY,
        name text NOT NULL,
        billing_country text,
        billing_state text,
        billing_postal_code text,
        industry text,
        annual_revenue numeric,
        employees int,
        owner_id text)', tbl);
    EXECUTE format($q$
    WITH c AS MATERIALIZED (
        SELECT array_agg(code ORDER BY code) AS codes,
               array_agg(postal_len ORDER BY code) AS lens,
               array_agg(coalesce(array_to_string(states, ','), '') ORDER BY code) AS states,
               array_agg(lo ORDER BY code) AS lo
          FROM (SELECT code, postal_len, states,
                       coalesce(sum(weight) OVER (ORDER BY code ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                       / sum(weight) OVER () AS lo
                  FROM bench.country) x
    ), d AS MATERIALIZED (
        SELECT g AS id, random() AS rc, random() AS rp, random() AS rpn, random() AS ri, random() AS rin,
               random() AS rr, random() AS re, random() AS rn1, random() AS rn2, random() AS ro
          FROM generate_series(1, %2$s) g
    ), e AS (
        SELECT d.*, width_bucket(d.rc, c.lo) AS ci, c.*
          FROM d, c
    ), f AS (
        SELECT e.*, e.codes[e.ci] AS country, e.lens[e.ci] AS len,
               nullif(e.states[e.ci], '') AS st
          FROM e
    )
    INSERT INTO %1$s
    SELECT f.id,
           (ARRAY['Acme','Northwind','Contoso','Globex','Initech','Umbrella','Stark','Wayne','Tyrell','Cyberdyne',
                  'Soylent','Hooli','Vandelay','Wonka','Gringotts','Oceanic','Aperture','Massive','Monarch','Sterling',
                  'Pioneer','Summit','Evergreen','Atlas','Zenith'])[1 + floor(f.rn1 * 25)::int]
           || ' ' ||
           (ARRAY['Bank','University','Hospital','Holdings','Insurance','Capital','Pharma','Energy',
                  'Inc','Ltd','GmbH','SA','Group','Systems','Labs','Partners','Foods','Motors','Logistics','Media',
                  'Industries','Solutions','Retail','Software','Services','Consulting','Trading','Works','Co','AG',
                  'Corp','LLC','Plc','BV','AB','Oy','SpA','SL','KK','Pty'])[1 + floor(power(f.rn2, 0.6) * 40)::int]
           || ' ' || f.id,
           f.country,
           CASE WHEN f.st IS NOT NULL THEN
               (string_to_array(f.st, ','))[1 + floor(floor(f.rp * 1000) * cardinality(string_to_array(f.st, ',')) / 1000)::int]
           END,
           CASE WHEN f.rpn >= 0.02 THEN lpad(floor(f.rp * 10 ^ f.len)::bigint::text, f.len, '0') END,
           CASE WHEN f.rin >= 0.03 THEN (bench.industries())[1 + floor(f.ri * 20)::int] END,
           round(10 ^ (5 + 6 * power(f.rr, 1.5)))::numeric,
           greatest(1, round(10 ^ (5 + 6 * power(f.rr, 1.5)) / (100000 + 300000 * f.re)))::int,
           'user' || (1 + floor(f.ro * 500)::int)
      FROM f
     ORDER BY f.id
    $q$, tbl, n);
    GET DIAGNOSTICS k = ROW_COUNT;
    EXECUTE format('ANALYZE %s', tbl);
    RETURN k;
END
$$;

/*
 * The territories and rules of rule sets (bench.make_rule_set): bench.mterritory, a tree per set
 * (Global / 10 regions / 62 countries / districts / postal areas, plus industry overlays and
 * named accounts), and bench.mrule, each rule as criteria for territory.rules and, flattened with
 * the apply_to_children rules of its ancestors, as the columns a hand-written SQL matcher reads.
 */
CREATE TABLE bench.mterritory (
    id         int PRIMARY KEY,
    rule_set   int NOT NULL,
    parent_id  int REFERENCES bench.mterritory,
    name       text NOT NULL,
    code       text NOT NULL
);
CREATE SEQUENCE bench.mterritory_id;

CREATE TABLE bench.mrule (
    id                 serial PRIMARY KEY,
    rule_set           int NOT NULL,
    territory_id       int NOT NULL REFERENCES bench.mterritory,
    criteria           text NOT NULL,
    apply_to_children  bool NOT NULL DEFAULT false,
    -- the same rule, flattened (own and inherited conditions), for the SQL matcher
    countries          text[],
    states             text[],
    postal_prefix      text,
    industry           text,
    industries         text[],
    min_revenue        numeric,
    max_revenue        numeric,
    name_pattern       text,
    ancestors          int[]     -- strict ancestors of the territory (for "deepest per branch")
);

CREATE FUNCTION bench.add_mterritory(rule_set int, parent int, name text) RETURNS int
    LANGUAGE sql
AS $$
    INSERT INTO bench.mterritory (id, rule_set, parent_id, name, code)
    SELECT i, rule_set, parent, name, 'S' || rule_set || '_' || i
      FROM nextval('bench.mterritory_id') AS i
    RETURNING id;
$$;

-- A text[] as an SQL IN list: ('a', 'b').
CREATE FUNCTION bench.in_list(v text[]) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN '(' || (SELECT string_agg(quote_literal(x), ', ' ORDER BY o) FROM unnest(v) WITH ORDINALITY AS u (x, o)) || ')';

/*
 * bench.make_rule_set: a tree of territories with exactly nrules rules, as rule set nrules:
 *   Global / region (billing_country IN (...)) / country (billing_country = 'XX', applies to
 *   children) / district (billing_state IN (...) or billing_postal_code LIKE 'D%', applies to
 *   children) / postal area (billing_postal_code LIKE '941%'): 10 region and 62 country rules,
 *   and nrules - 140 district and area rules shared among countries by weight;
 *   Global / Industry overlays / industry (industry = 'X') / >= 50M (industry = 'X' AND
 *   annual_revenue >= 50000000) / >= 1G (... >= 1000000000): 60 rules;
 *   Global / Named accounts / 8 territories whose rule no index serves (lower(name) LIKE '%bank%').
 * Returns the number of rules.
 */
CREATE FUNCTION bench.make_rule_set(nrules int) RETURNS int
    LANGUAGE plpgsql
AS $$
DECLARE
    rs int := nrules;
    budget int := nrules - 140;
    root int;
    region_id int;
    country_id int;
    district_id int;
    t int;
    c record;
    r text;
    g int;
    nareas int;
    k int;
    lo int;
    hi int;
    w int;
    len int;
    width int;
    base int;
    sts text[];
    digit int;
    pfx text;
    ind text;
    tier int;
BEGIN
    IF budget < 0 THEN
        RAISE EXCEPTION 'a rule set has at least 140 rules';
    END IF;
    root := bench.add_mterritory(rs, NULL, 'Global (' || rs || ' rules)');
    -- regions
    FOR r IN SELECT DISTINCT region FROM bench.country ORDER BY 1 LOOP
        region_id := bench.add_mterritory(rs, root, r);
        INSERT INTO bench.mrule (rule_set, territory_id, criteria, countries)
        SELECT rs, region_id, 'billing_country IN ' || bench.in_list(array_agg(code ORDER BY code)),
               array_agg(code ORDER BY code)
          FROM bench.country WHERE region = r;
        -- countries, with their share of the district and area rules (largest remainder)
        FOR c IN
            WITH share AS (
                SELECT code, weight, states, postal_len, budget * weight / sum(weight) OVER () AS exact
                  FROM bench.country
            ), ranked AS (
                SELECT s.*, floor(exact)::int AS whole,
                       row_number() OVER (ORDER BY exact - floor(exact) DESC, code) AS rk,
                       budget - sum(floor(exact)::int) OVER () AS rest
                  FROM share s
            )
            SELECT code, states, postal_len, whole + (rk <= rest)::int AS n
              FROM ranked
             WHERE code IN (SELECT code FROM bench.country WHERE region = r)
             ORDER BY code
        LOOP
            country_id := bench.add_mterritory(rs, region_id, c.code);
            INSERT INTO bench.mrule (rule_set, territory_id, criteria, apply_to_children, countries)
                VALUES (rs, country_id, format('billing_country = %L', c.code), true, ARRAY[c.code]);
            CONTINUE WHEN c.n = 0;
            -- districts: groups of states, or first postal digits
            g := least(coalesce(cardinality(c.states), 10), greatest(1, ceil(c.n / 6.0)::int));
            nareas := c.n - g;
            FOR j IN 0 .. g - 1 LOOP
                IF c.states IS NOT NULL THEN
                    k := cardinality(c.states);
                    sts := c.states[floor(j * k / g)::int + 1 : floor((j + 1) * k / g)::int];
                    lo := ceil((floor(j * k / g)) * 1000.0 / k)::int;
                    hi := ceil((floor((j + 1) * k / g)) * 1000.0 / k)::int;
                    district_id := bench.add_mterritory(rs, country_id, c.code || ' ' || array_to_string(sts, '/'));
                    INSERT INTO bench.mrule (rule_set, territory_id, criteria, apply_to_children, countries, states)
                        VALUES (rs, district_id, 'billing_state IN ' || bench.in_list(sts), true, ARRAY[c.code], sts);
                    pfx := NULL;
                ELSE
                    digit := floor(j * 10 / g)::int;
                    lo := digit * 100;
                    hi := lo + 100;
                    pfx := digit::text;
                    sts := NULL;
                    district_id := bench.add_mterritory(rs, country_id, c.code || ' ' || pfx);
                    INSERT INTO bench.mrule (rule_set, territory_id, criteria, apply_to_children, countries, postal_prefix)
                        VALUES (rs, district_id, format('billing_postal_code LIKE %L', pfx || '%'), true, ARRAY[c.code], pfx);
                END IF;
                -- areas of this district: postal prefixes in its range of the first three digits,
                -- of two digits when they are enough and the range allows, else three or four
                k := nareas / g + (j < nareas % g)::int;
                CONTINUE WHEN k = 0;
                w := hi - lo;
                IF lo % 10 = 0 AND hi % 10 = 0 AND k <= w / 10 THEN
                    len := 2; base := lo / 10; width := w / 10;
                ELSIF k <= w THEN
                    len := 3; base := lo; width := w;
                ELSE
                    len := 4; base := lo * 10; width := w * 10;
                END IF;
                FOR i IN 0 .. least(k, width) - 1 LOOP
                    pfx := lpad((base + floor(i * width / k::numeric))::int::text, len, '0');
                    t := bench.add_mterritory(rs, district_id, c.code || ' ' || pfx);
                    INSERT INTO bench.mrule (rule_set, territory_id, criteria, countries, states, postal_prefix)
                        VALUES (rs, t, format('billing_postal_code LIKE %L', pfx || '%'), ARRAY[c.code], sts, pfx);
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
    -- industry overlays: three nested tiers per industry
    region_id := bench.add_mterritory(rs, root, 'Industry overlays');
    FOREACH ind IN ARRAY bench.industries() LOOP
        t := region_id;
        FOR tier IN 0 .. 2 LOOP
            t := bench.add_mterritory(rs, t, ind || (ARRAY['', ' ≥ 50M', ' ≥ 1G'])[tier + 1]);
            INSERT INTO bench.mrule (rule_set, territory_id, criteria, industry, min_revenue)
                VALUES (rs, t, format('industry = %L', ind)
                               || (ARRAY['', ' AND annual_revenue >= 50000000', ' AND annual_revenue >= 1000000000'])[tier + 1],
                        ind, (ARRAY[NULL, 50000000, 1000000000])[tier + 1]);
        END LOOP;
    END LOOP;
    -- named accounts: rules no index serves
    region_id := bench.add_mterritory(rs, root, 'Named accounts');
    FOREACH ind IN ARRAY bench.name_words() LOOP
        t := bench.add_mterritory(rs, region_id, 'Named: ' || ind);
        INSERT INTO bench.mrule (rule_set, territory_id, criteria, name_pattern)
            VALUES (rs, t, format('lower(name) LIKE %L', '%' || ind || '%'), '%' || ind || '%');
    END LOOP;
    -- strict ancestors, for the SQL matcher's "deepest per branch"
    UPDATE bench.mrule m
       SET ancestors = a.ids
      FROM (WITH RECURSIVE up (id, anc) AS (
                SELECT id, parent_id FROM bench.mterritory WHERE rule_set = rs
                UNION ALL
                SELECT up.id, p.parent_id FROM up JOIN bench.mterritory p ON p.id = up.anc WHERE p.parent_id IS NOT NULL
            )
            SELECT id, array_agg(anc ORDER BY anc) FILTER (WHERE anc IS NOT NULL) AS ids FROM up GROUP BY id) a
     WHERE a.id = m.territory_id AND m.rule_set = rs;
    SELECT count(*) INTO k FROM bench.mrule WHERE rule_set = rs;
    IF k <> nrules THEN
        RAISE EXCEPTION 'rule set %: % rules made, not %', rs, k, nrules;
    END IF;
    RETURN k;
END
$$;

/*
 * bench.make_conjunct_rule_set: nrules rules of the shape people write, as rule set
 * 100000 + nrules: Global / Segments / nrules territories, each with one rule of four
 * low-cardinality conjuncts, none selective alone (issue 16):
 *   billing_country = 'DE' AND industry IN ('Retail', 'Energy', 'Media')
 *   AND annual_revenue BETWEEN 1000000 AND 50000000 AND billing_postal_code LIKE '7%'
 * the country by weight, three of the twenty industries, a revenue band of one or two of five
 * steps (100 k, 1 M, 10 M, 50 M, 1 G, 100 G), one first postal digit; fixed seed.  Returns the
 * rule set's id.
 */
CREATE FUNCTION bench.make_conjunct_rule_set(nrules int) RETURNS int
    LANGUAGE plpgsql
AS $$
DECLARE
    rs int := 100000 + nrules;
    steps numeric[] := '{100000,1000000,10000000,50000000,1000000000,100000000000}';
    root int;
    seg int;
    t int;
    x float8;
    cc text;
    inds text[];
    lo int;
    hi int;
    digit text;
BEGIN
    PERFORM setseed(0.37);
    root := bench.add_mterritory(rs, NULL, 'Global (' || nrules || ' rules of four conjuncts)');
    seg := bench.add_mterritory(rs, root, 'Segments');
    FOR i IN 1 .. nrules LOOP
        x := random();
        SELECT w.code INTO cc
          FROM (SELECT code, sum(weight) OVER (ORDER BY code) AS upto, sum(weight) OVER () AS total FROM bench.country) w
         WHERE w.upto >= x * w.total ORDER BY w.upto LIMIT 1;
        SELECT array_agg(v ORDER BY v) INTO inds
          FROM (SELECT v FROM unnest(bench.industries()) v ORDER BY random() LIMIT 3) s;
        lo := 1 + floor(random() * 5)::int;
        hi := least(6, lo + 1 + floor(random() * 2)::int);
        digit := floor(random() * 10)::int::text;
        t := bench.add_mterritory(rs, seg, 'Segment ' || i);
        INSERT INTO bench.mrule (rule_set, territory_id, criteria, countries, industries, min_revenue, max_revenue,
                                 postal_prefix, ancestors)
        VALUES (rs, t, format('billing_country = %L AND industry IN %s AND annual_revenue BETWEEN %s AND %s'
                              ' AND billing_postal_code LIKE %L', cc, bench.in_list(inds), steps[lo], steps[hi], digit || '%'),
                ARRAY[cc], inds, steps[lo], steps[hi], digit, ARRAY[root, seg]);
    END LOOP;
    RETURN rs;
END
$$;

-- Load the territories of every rule set made into territory.territories (model 1; ids kept).
CREATE FUNCTION bench.load_rule_territories() RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO territory.territories (id, model_id, parent_id, name, code)
    SELECT id, 1, parent_id, name, code FROM bench.mterritory ORDER BY id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM setval(pg_get_serial_sequence('territory.territories', 'id'), (SELECT max(id) FROM territory.territories));
    RETURN n;
END
$$;

-- Make rule set rule_set the rules of the managed table tbl (the others removed).
CREATE FUNCTION bench.use_rule_set(rule_set int, tbl regclass) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM territory.rules r WHERE r.tbl = use_rule_set.tbl;
    INSERT INTO territory.rules (territory_id, tbl, name, criteria, expr, apply_to_children)
    SELECT m.territory_id, use_rule_set.tbl, 'rule ' || m.id, m.criteria, '', m.apply_to_children
      FROM bench.mrule m WHERE m.rule_set = use_rule_set.rule_set ORDER BY m.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The number of rows a statement (INSERT, UPDATE, COPY...) processed.
CREATE FUNCTION bench.rows(query text) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE query;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- A server-side file for COPY, private to this database and server (the server writes and
-- reads it); bench.remove_files() deletes them.
CREATE FUNCTION bench.copy_file(name text) RETURNS text
    LANGUAGE sql STABLE
    RETURN format('/tmp/territory-bench-%s-%s-%s.copy', current_setting('port'), current_database(), name);

CREATE FUNCTION bench.remove_files() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('COPY (SELECT WHERE false) TO PROGRAM %L',
                   format('rm -f /tmp/territory-bench-%s-%s-*.copy', current_setting('port'), current_database()));
END
$$;

-- ---------------------------------------------------------------- visibility (rls-*)

/*
 * bench.make_account_tables: tbl, a managed account table (id, owner_id, amount and the
 * extension's territories) with row-level security on, and tbl_plain, the same rows and indexes
 * (and a btree on the owner) without row-level security: n accounts, each owned by one of the
 * sales users u1 .. u10000 and with an amount up to 100,000.00 (both random from the current
 * seed), in the territories the SQL expression territories gives (of g, the account's number
 * 1 .. n; evaluated after the owner and the amount), given directly: no rule runs.
 */
CREATE FUNCTION bench.make_account_tables(tbl text, n int, territories text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, owner_id text, amount numeric)', tbl);
    PERFORM territory.manage_table(tbl::regclass, 'account');
    EXECUTE format('ALTER TABLE %I DISABLE TRIGGER zz_territory_assign', tbl);    -- territories given below
    EXECUTE format($q$
        INSERT INTO %I (id, owner_id, amount, territories)
        SELECT g, 'u' || (1 + floor(random() * 10000)::int), round((random() * 100000)::numeric, 2), %s
          FROM generate_series(1, %s) g$q$, tbl, territories, n);
    EXECUTE format('ALTER TABLE %I ENABLE TRIGGER zz_territory_assign', tbl);
    PERFORM territory.enable_visibility(tbl::regclass);
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL)', tbl || '_plain', tbl);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl || '_plain', tbl);
    EXECUTE format('CREATE INDEX ON %I (owner_id)', tbl || '_plain');
END
$$;

/*
 * bench.make_rls_data: the tree of hier-1 (SIZE territories) and bench.accounts() accounts, each
 * in 1 to 3 random leaves (territories given directly, fixed seed), owned by one of 10,000 sales
 * users; accounts (managed, row-level security on) and accounts_plain (the same rows and indexes,
 * no row-level security); the role bench_reader that queries them; and the users whose visible
 * share is nearest to 0.1 %, 1 %, 20 % and 100 % of the accounts (members of one territory), plus
 * 'admin' (sees_all).  bench.rls_user lists them with their visible territories and owners.
 */
CREATE FUNCTION bench.make_rls_data() RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    first_leaf int;
    nleaves int;
BEGIN
    PERFORM bench.make_tree(bench.territories());
    PERFORM bench.load_territories();
    SELECT min(id), count(*) INTO first_leaf, nleaves FROM bench.node WHERE depth = (SELECT max(depth) FROM bench.node);
    PERFORM setseed(0.73);
    INSERT INTO territory.sales_users (key, name) SELECT 'u' || i, 'User ' || i FROM generate_series(1, 10000) i;
    PERFORM bench.make_account_tables('accounts', bench.accounts(),
        format('ARRAY(SELECT DISTINCT %s + floor(random() * %s)::int FROM generate_series(1, 1 + (g %% 3)) ORDER BY 1)',
               first_leaf, nleaves));
    -- the share of the accounts below each territory (an account counted once per territory)
    CREATE TABLE bench.node_share AS
    WITH leaf AS (SELECT t, count(*) AS c FROM accounts, unnest(territories) t GROUP BY t)
    SELECT a AS id, sum(leaf.c)::float8 / (SELECT sum(c) FROM leaf) AS share
      FROM leaf, LATERAL (SELECT leaf.t UNION ALL SELECT territory.ancestors(leaf.t)) x(a)
     GROUP BY a;
    CREATE TABLE bench.rls_user (key text PRIMARY KEY, level text, territory int, target float8);
    INSERT INTO bench.rls_user
    -- an account is in about two leaves: a subtree holding a share p of the assignments holds
    -- about 1 - (1 - p)^2 of the accounts, so the subtree for a level has p = 1 - sqrt(1 - level)
    SELECT 'v' || lvl.name, lvl.name,
           (SELECT s.id FROM bench.node_share s ORDER BY abs(s.share - (1 - sqrt(1 - lvl.target))), s.id LIMIT 1),
           lvl.target
      FROM (VALUES ('0.1 %', 0.001), ('1 %', 0.01), ('20 %', 0.2), ('100 %', 1.0)) lvl(name, target);
    INSERT INTO territory.sales_users (key, name) SELECT key, 'Reader ' || level FROM bench.rls_user;
    INSERT INTO territory.members (territory_id, user_id)
    SELECT r.territory, u.id FROM bench.rls_user r JOIN territory.sales_users u ON u.key = r.key;
    INSERT INTO territory.sales_users (key, name, sees_all) VALUES ('admin', 'Admin', true);
    INSERT INTO bench.rls_user VALUES ('admin', 'all (sees_all)', NULL, 1.0);
    -- the reader: subject to the policies
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_reader') THEN
        CREATE ROLE bench_reader NOLOGIN;    -- roles outlive the benchmark's database
    END IF;
    GRANT SET ON PARAMETER "territory.user" TO bench_reader;
    GRANT USAGE ON SCHEMA bench TO bench_reader;
    GRANT SELECT ON accounts, accounts_plain, bench.rls_user TO bench_reader;
    ANALYZE accounts, accounts_plain;
END
$$;

/*
 * bench.as_reader(user, query): run query as bench_reader with territory.user = user, return its
 * one value as text: the policies apply.  The role is set (SET LOCAL ROLE, as an application's
 * pooled role acts for a user) rather than taken by a SECURITY DEFINER function: inside one the
 * calling role is the session's, a superuser, which the report views would take as unrestricted.
 */
CREATE FUNCTION bench.as_reader(who text, query text) RETURNS text
    LANGUAGE plpgsql
AS $$
DECLARE
    v text;
BEGIN
    PERFORM set_config('role', 'bench_reader', true);
    PERFORM set_config('territory.user', who, true);
    EXECUTE query INTO v;
    PERFORM set_config('role', 'none', true);
    RETURN v;
END
$$;

-- After make_rls_data: the readers' visible sets.
CREATE FUNCTION bench.rls_ready() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    -- the visible territories and owners of each reader, as literals for the hand-written filters
    ALTER TABLE bench.rls_user ADD COLUMN territories int4[], ADD COLUMN owners text[];
    UPDATE bench.rls_user r
       SET territories = bench.as_reader(r.key, 'SELECT territory.visible_territories()')::int4[],
           owners = bench.as_reader(r.key, 'SELECT territory.visible_owners()')::text[];
END
$$;

-- ---------------------------------------------------------------- forecasts (roll-*)

/*
 * bench.make_deal_data: after make_rls_data, bench.accounts() deals (fixed seed), each of a random
 * account and in its first territory, owned by one of the 10,000 sales users, with an amount up to
 * 100,000.00, one of the eight default stages and a close date in 2026; deals (managed, row-level
 * security on) and deals_plain (the same rows and indexes, no row-level security).  A share
 * unassigned of the deals has no territory (of every 1,000 consecutive ids, the first
 * unassigned × 1,000).  Users u1 .. u10000 become members of a random territory of depth 3 or more;
 * territories of depth 4 or less get a monthly target for 2026, and so does every member.
 */
CREATE FUNCTION bench.make_deal_data(unassigned float8 DEFAULT 0) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    n int := bench.accounts();
    stages text[] := ARRAY(SELECT stage FROM territory.stages ORDER BY position);
BEGIN
    SET LOCAL work_mem = '256MB';
    PERFORM setseed(0.37);
    CREATE TABLE deals (id int PRIMARY KEY, account_id int NOT NULL, owner_id text, amount numeric(12, 2),
                        stage text, close_date date, created_at timestamptz);
    PERFORM territory.manage_table('deals', 'deal');
    ALTER TABLE deals DISABLE TRIGGER zz_territory_assign;    -- territories given below
    INSERT INTO deals (id, account_id, owner_id, amount, stage, close_date, created_at, territory_id)
    SELECT d.id, d.account_id, d.owner_id, d.amount, d.stage, d.close_date,
           d.close_date - (1 + floor(random() * 180)::int),
           CASE WHEN (d.id - 1) % 1000 >= unassigned * 1000 THEN a.territories[1] END
      FROM (SELECT g AS id, 1 + floor(random() * n)::int AS account_id,
                   'u' || (1 + floor(random() * 10000)::int) AS owner_id,
                   round((random() * 100000)::numeric, 2) AS amount,
                   stages[1 + floor(random() * array_length(stages, 1))::int] AS stage,
                   date '2026-01-01' + floor(random() * 365)::int AS close_date
              FROM generate_series(1, n) g) d
      JOIN accounts a ON a.id = d.account_id;
    ALTER TABLE deals ENABLE TRIGGER zz_territory_assign;
    CREATE INDEX ON deals (close_date);
    PERFORM territory.enable_visibility('deals');
    CREATE TABLE deals_plain (LIKE deals INCLUDING ALL);
    INSERT INTO deals_plain SELECT * FROM deals;
    GRANT SELECT ON deals, deals_plain TO bench_reader;

    INSERT INTO territory.members (territory_id, user_id)
    SELECT deep[1 + floor(random() * array_length(deep, 1))::int], u.id
      FROM territory.sales_users u, (SELECT ARRAY(SELECT id FROM bench.node WHERE depth >= 3) AS deep) d
     WHERE u.key ~ '^u[0-9]+$';
    INSERT INTO territory.targets (territory_id, period, amount)
    SELECT n.id, p, round((random() * 1000000)::numeric, 2)
      FROM bench.node n, territory.periods('2026-01', '2026-12') p
     WHERE n.depth <= 4;
    INSERT INTO territory.targets (territory_id, period, user_id, amount)
    SELECT m.territory_id, p, m.user_id, round((random() * 100000)::numeric, 2)
      FROM territory.members m, territory.periods('2026-01', '2026-12') p;
    -- the closure table of the SQL formulation: (ancestor, descendant), every node its own too
    CREATE TABLE bench.closure AS
    SELECT a AS ancestor, n.id AS descendant
      FROM bench.node n, LATERAL (SELECT n.id UNION ALL SELECT territory.ancestors(n.id)) x(a);
    CREATE INDEX ON bench.closure (descendant);
    ANALYZE deals, deals_plain, bench.closure, territory.targets, territory.members;
END
$$;

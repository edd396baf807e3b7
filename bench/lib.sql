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
    started  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One line of a results table: the median of a method on a case.
CREATE TABLE bench.result (
    seq      serial PRIMARY KEY,
    bench    text NOT NULL REFERENCES bench.benchmark,
    label    text NOT NULL,            -- the case
    method   text NOT NULL,            -- the first method of a case is the reference for ratios
    ms       float8 NOT NULL,          -- median
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

CREATE FUNCTION bench.runs() RETURNS int
    LANGUAGE sql STABLE
    RETURN greatest(coalesce(nullif(current_setting('bench.runs', true), '')::int, 5), 1);

CREATE FUNCTION bench.start(name text, title text, about text) RETURNS void
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
    INSERT INTO bench.benchmark (name, title, about) VALUES (start.name, start.title, start.about);
    RAISE NOTICE '% at SIZE=% (% territories), % timed runs per line', name, bench.size(),
        bench.territories(), bench.runs();
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
 * transaction block, as psql does in autocommit mode.
 */
CREATE PROCEDURE bench.measure(bench text, label text, method text, query text,
                               setup text DEFAULT NULL, runs int DEFAULT NULL,
                               compare bool DEFAULT true, note text DEFAULT NULL)
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
    INSERT INTO bench.result (bench, label, method, ms, runs, value, compare, note)
        VALUES (bench, label, method, med, n, first_v, compare, note);
    COMMIT;
    RAISE NOTICE '  % | % | %: % ms (result %)', bench, label, method, bench.fmt_ms(med), first_v;
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
        || format(E'SIZE=%s (%s territories) · %s · PostgreSQL %s · %s · %s\n\n',
                  bench.size(), to_char(bench.territories(), 'FM999,999,999'),
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

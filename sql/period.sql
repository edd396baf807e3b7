-- The type territory.period: every text form in and out, every input error, the fiscal setting
-- and values that keep their meaning when it changes, period_of, next, periods, order, equality
-- and hashing, containment and overlap, casts, the binary format, min and max, NULLs, the
-- catalog (volatility, comments) and use by a role with nothing but USAGE on the schema.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET datestyle = 'ISO, YMD';
SET search_path = public, territory;

-- The exact errors and their SQLSTATE, for tables of bad values.
CREATE FUNCTION pg_temp.try_period(s text, OUT result text, OUT code text, OUT message text,
                                   OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    result := s::territory.period::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- ---------------------------------------------------------------- the setting
SHOW territory.fiscal_year_start_month;
SET territory.fiscal_year_start_month = 0;
SET territory.fiscal_year_start_month = 13;
SET territory.fiscal_year_start_month = 'July';
SELECT short_desc, extra_desc, context, vartype, min_val, max_val, boot_val
FROM pg_settings WHERE name = 'territory.fiscal_year_start_month';

-- ---------------------------------------------------------------- input and output
-- every form, in upper and lower case, with surrounding whitespace
SELECT to_json(s) AS input, p AS output, kind(p), lower(p), upper(p)
FROM (VALUES ('2026-11'), ('2026-01'), ('2026-12'), (' 2026-11 '), (E'\t2026-11\n'),
             ('2026-Q4'), ('2026-q4'), ('2026-Q1'), ('  2026-q1'), ('2026-Q2'), ('2026-Q3'),
             ('2026'), (' 2026 '), (E'2026\r\n'),
             ('FY2027'), ('fy2027'), ('Fy2027'), ('fY2027'), ('  FY2027  '),
             ('FY2027-Q1'), ('fy2027-q4'), ('FY2027-q2 '), ('Fy2027-Q3'),
             ('0001'), ('0001-01'), ('0001-Q1'), ('0026-03'), ('9999'), ('9999-12'), ('9999-Q4'),
             ('FY0001'), ('FY0001-Q1'), ('FY9999'), ('FY9999-Q4')) v(s),
     LATERAL (SELECT s::territory.period AS p) x;

-- text casts both ways
SELECT '2026-Q4'::territory.period AS literal, CAST('FY2027-Q1' AS territory.period) AS cast,
       'fy2027'::text::territory.period AS from_text, '2026-q4'::territory.period::text AS to_text,
       pg_typeof('2026-11'::territory.period::text) AS text_type;

-- errors, as psql shows them
SELECT ''::territory.period;
SELECT 'garbage'::territory.period;
SELECT '2026-13'::territory.period;
SELECT '2026-Q5'::territory.period;
SELECT '10000'::territory.period;
SELECT 'FY0000'::territory.period;

-- every kind of bad input, with its SQLSTATE
SELECT to_json(s) AS input, t.code, t.message, t.detail
FROM (VALUES (''), (' '), (E'\t'), ('garbage'), ('x2026'), ('2026x'), ('2026-11x'), ('2026-11 x'),
             ('2026 -11'), ('2026- 11'), ('2026 11'), ('2026-1'), ('2026-011'), ('2026-'),
             ('2026--11'), ('2026-11-01'), ('2026/11'), ('2026.11'), ('11-2026'), ('2026-M11'),
             ('2026-00'), ('2026-13'), ('2026-99'),
             ('2026-Q'), ('2026-Q0'), ('2026-Q5'), ('2026-Q9'), ('2026-Q10'), ('2026-Q04'),
             ('2026-QQ1'), ('2026Q4'), ('2026-Q4-1'), ('2026-Q 4'), ('2026 Q4'), ('Q4-2026'),
             ('Q4'), ('2026-q'), ('2026-K4'),
             ('0'), ('1'), ('26'), ('202'), ('0000'), ('0000-01'), ('0000-Q1'), ('10000'),
             ('99999-12'), ('10000-Q1'), ('123456789012345678901234567890'), ('02026'),
             ('-2026'), ('+2026'), ('-0001'), ('2026.0'), ('2,026'), ('two thousand'),
             ('FY'), ('fy'), ('FY-2027'), ('FY 2027'), ('F Y2027'), ('FY2027 -Q1'), ('FY27'),
             ('FY0000'), ('FY10000'), ('FY0000-Q1'), ('FY2027-11'), ('FY2027-01'), ('FY2027-'),
             ('FY2027-Q0'), ('FY2027-Q5'), ('fy2027-q0'), ('FY2027Q1'), ('FYY2027'), ('F2027'),
             ('CY2026'), ('Y2026'), ('FY-Q1'), ('FY2027-Q1-Q2'), ('FY2027 FY2028'), ('2026 2027'),
             ('2026-Q5x'), ('0000-13'), ('10000-00')) v(s),
     LATERAL pg_temp.try_period(s) t;
-- the hint every syntax error gives
SELECT DISTINCT t.hint
FROM (VALUES (''), ('garbage'), ('2026-1'), ('FY2027-11'), ('2026-Q'), ('26')) v(s),
     LATERAL pg_temp.try_period(s) t;

-- NULL in, NULL out
SELECT NULL::territory.period AS p, kind(NULL), lower(NULL::territory.period),
       upper(NULL::territory.period), next(NULL), next('2026-11', NULL),
       period_of(NULL, 'month'), period_of('2026-11-05', NULL);

-- ---------------------------------------------------------------- fiscal years
-- start month 1: FY2027 is calendar 2027
SET territory.fiscal_year_start_month = 1;
SELECT p, kind(p), lower(p), upper(p)
FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY2027-Q2', 'FY2027-Q3', 'FY2027-Q4']::territory.period[]) p;
-- start month 2: FY2027 runs from 2026-02-01 to 2027-01-31
SET territory.fiscal_year_start_month = 2;
SELECT p, kind(p), lower(p), upper(p)
FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY2027-Q2', 'FY2027-Q3', 'FY2027-Q4']::territory.period[]) p;
-- start month 7: FY2027 runs from 2026-07-01 to 2027-06-30
SET territory.fiscal_year_start_month = 7;
SELECT p, kind(p), lower(p), upper(p)
FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY2027-Q2', 'FY2027-Q3', 'FY2027-Q4']::territory.period[]) p;
-- the first fiscal year starts in 1 BC, the last ends in June 9999
SELECT p, lower(p), upper(p)
FROM unnest(ARRAY['FY0001', 'FY0001-Q1', 'FY9999', 'FY9999-Q4']::territory.period[]) p;
-- start month 12: FY2027 runs from 2026-12-01 to 2027-11-30
SET territory.fiscal_year_start_month = 12;
SELECT p, kind(p), lower(p), upper(p)
FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY2027-Q2', 'FY2027-Q3', 'FY2027-Q4']::territory.period[]) p;
-- calendar forms do not depend on the setting
SELECT p, lower(p), upper(p) FROM unnest(ARRAY['2027', '2027-Q1', '2027-01']::territory.period[]) p;

-- ---------------------------------------------------------------- stored values keep their meaning
CREATE TEMP TABLE stored (made_with int4, p territory.period);
SET territory.fiscal_year_start_month = 1;
INSERT INTO stored SELECT 1, p FROM unnest(ARRAY['FY2027', 'FY2027-Q1', '2026-Q4', '2026-11']::territory.period[]) p;
SET territory.fiscal_year_start_month = 2;
INSERT INTO stored SELECT 2, p FROM unnest(ARRAY['FY2027', 'FY2027-Q1']::territory.period[]) p;
SET territory.fiscal_year_start_month = 7;
INSERT INTO stored SELECT 7, p FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY2027-Q4']::territory.period[]) p;
SET territory.fiscal_year_start_month = 12;
INSERT INTO stored SELECT 12, p FROM unnest(ARRAY['FY2027', 'FY2027-Q1']::territory.period[]) p;
-- now under 4: the same labels and dates as when they were made
SET territory.fiscal_year_start_month = 4;
SELECT made_with, p, kind(p), lower(p), upper(p), p::daterange AS days FROM stored ORDER BY p;
-- the same label made under two settings: two different values
SELECT a.made_with AS a, b.made_with AS b, a.p AS label, a.p = b.p AS equal, a.p < b.p AS less
FROM stored a JOIN stored b ON a.p::text = b.p::text AND a.made_with < b.made_with
ORDER BY a.p::text, a.made_with, b.made_with;
-- a value typed now is made with 4
SELECT 'FY2027'::territory.period AS p, lower('FY2027'::territory.period),
       'FY2027'::territory.period IN (SELECT p FROM stored) AS stored_already;
-- arithmetic keeps the value's own start month, not the setting's
SELECT made_with, p, next(p) AS next, lower(next(p)) AS next_lower, next(p, -1) AS previous,
       lower(next(p, -1)) AS previous_lower
FROM stored WHERE kind(p) LIKE 'fiscal%' ORDER BY p;
RESET territory.fiscal_year_start_month;

-- ---------------------------------------------------------------- period_of
SELECT d, period_of(d, 'month') AS month, period_of(d, 'quarter') AS quarter,
       period_of(d, 'year') AS year, period_of(d, 'fiscal_quarter') AS fiscal_quarter,
       period_of(d, 'fiscal_year') AS fiscal_year
FROM unnest(ARRAY['2026-01-01', '2026-01-31', '2026-02-28', '2026-03-31', '2026-04-01',
                  '2026-06-30', '2026-07-01', '2026-09-30', '2026-10-01', '2026-12-31',
                  '2027-01-01', '2024-02-29', '0001-01-01', '9999-12-31']::date[]) d;
SET territory.fiscal_year_start_month = 7;
SELECT d, period_of(d, 'fiscal_quarter') AS fiscal_quarter, period_of(d, 'fiscal_year') AS fiscal_year,
       lower(period_of(d, 'fiscal_year')) AS fy_lower, upper(period_of(d, 'fiscal_year')) AS fy_upper
FROM unnest(ARRAY['2026-06-30', '2026-07-01', '2026-09-30', '2026-10-01', '2026-12-31',
                  '2027-01-01', '2027-03-31', '2027-04-01', '2027-06-30', '2027-07-01',
                  '0001-06-30', '0001-07-01 BC', '9999-06-30']::date[]) d;
SET territory.fiscal_year_start_month = 2;
SELECT d, period_of(d, 'fiscal_quarter') AS fiscal_quarter, period_of(d, 'fiscal_year') AS fiscal_year
FROM unnest(ARRAY['2026-01-31', '2026-02-01', '2026-04-30', '2026-05-01', '2027-01-31',
                  '2027-02-01']::date[]) d;
SET territory.fiscal_year_start_month = 12;
SELECT d, period_of(d, 'fiscal_quarter') AS fiscal_quarter, period_of(d, 'fiscal_year') AS fiscal_year
FROM unnest(ARRAY['2026-11-30', '2026-12-01', '2027-02-28', '2027-03-01', '2027-11-30',
                  '2027-12-01', '9999-11-30']::date[]) d;
-- out of range, infinite dates, unknown kinds
SELECT period_of('9999-12-01', 'fiscal_year');
SELECT period_of('9999-12-01', 'fiscal_quarter');
SET territory.fiscal_year_start_month = 7;
SELECT period_of('9999-07-01', 'fiscal_year');
SELECT period_of('0001-06-30 BC', 'fiscal_year');
RESET territory.fiscal_year_start_month;
SELECT period_of('0001-12-31 BC', 'month');
SELECT period_of('10000-01-01', 'year');
SELECT period_of('infinity', 'month');
SELECT period_of('-infinity', 'year');
SELECT period_of('2026-11-05', 'week');
SELECT period_of('2026-11-05', 'Month');
SELECT period_of('2026-11-05', '');

-- Every day of four years, for every start month and kind: the period contains the day, is the
-- period of its first and last days, reads back as itself, and its neighbours touch it.
CREATE TEMP TABLE checked (start_month int4, kind text, days int8, contains bool, ends bool,
                           round_trip bool, touches bool, kind_ok bool);
CREATE TEMP TABLE fiscal_years (start_month int4, fy_of_2026_12_31 territory.period, first_day date,
                                last_day date);
DO $$
DECLARE
    m int4;
BEGIN
    FOR m IN 1 .. 12 LOOP
        PERFORM set_config('territory.fiscal_year_start_month', m::text, true);
        INSERT INTO checked
        SELECT m, k, count(*), bool_and(p @> d AND d <@ p AND lower(p) <= d AND d < upper(p)),
               bool_and(period_of(lower(p), k) = p AND period_of(upper(p) - 1, k) = p),
               bool_and(p::text::territory.period = p),
               bool_and(upper(next(p, -1)) = lower(p) AND lower(next(p)) = upper(p)),
               bool_and(territory.kind(p) = k)
        FROM (SELECT g::date AS d FROM generate_series(date '2025-01-01', date '2028-12-31',
                                                       interval '1 day') g) days,
             unnest(ARRAY['month', 'quarter', 'year', 'fiscal_quarter', 'fiscal_year']) k,
             LATERAL (SELECT period_of(d, k) AS p) x
        GROUP BY k;
        INSERT INTO fiscal_years
        SELECT m, p, lower(p), upper(p) - 1 FROM period_of('2026-12-31', 'fiscal_year') p;
    END LOOP;
END $$;
SELECT kind, count(*) AS start_months, sum(days) AS days, bool_and(contains) AS contains,
       bool_and(ends) AS ends, bool_and(round_trip) AS round_trip, bool_and(touches) AS touches, bool_and(kind_ok) AS kind_ok
FROM checked GROUP BY kind ORDER BY kind;
-- fiscal years start in the set month and end in the year they are named after
SELECT * FROM fiscal_years ORDER BY start_month;
RESET territory.fiscal_year_start_month;

-- ---------------------------------------------------------------- next
SELECT p, n, next(p, n) AS next, lower(next(p, n))
FROM (VALUES ('2026-11', 1), ('2026-12', 1), ('2026-11', -11), ('2026-01', -1), ('2026-11', 0),
             ('2026-11', 14), ('2026-Q4', 1), ('2026-Q1', -1), ('2026-Q2', 0), ('2026-Q3', 6),
             ('2026', 10), ('2026', -2025), ('2026', 0), ('FY2027-Q4', 1), ('FY2027-Q1', -1),
             ('FY2027', -1), ('FY2027', 3), ('0001-01', 119987), ('9999-12', -119987)) v(s, n),
     LATERAL (SELECT s::territory.period AS p) x;
SELECT next('2026-11') AS default_step, next('FY2027-Q4') AS default_fiscal;
SELECT next('9999-12');
SELECT next('0001-01', -1);
SELECT next('9999-Q4', 1);
SELECT next('FY9999');
SELECT next('FY0001', -1);
SELECT next('2026', 2147483647);
SELECT next('2026-11', -2147483648);
SET territory.fiscal_year_start_month = 7;
SELECT next('FY0001-Q1', -1);
RESET territory.fiscal_year_start_month;

-- ---------------------------------------------------------------- periods
SELECT array_agg(p) AS months FROM periods('2026-11', '2027-02') p;
SELECT array_agg(p) AS quarters FROM periods('2025-Q3', '2026-Q2') p;
SELECT array_agg(p) AS years FROM periods('2020', '2026') p;
SELECT array_agg(p) AS fiscal_quarters FROM periods('FY2027-Q3', 'FY2028-Q2') p;
SELECT array_agg(p) AS fiscal_years FROM periods('FY2025', 'FY2028') p;
SELECT array_agg(p) AS one FROM periods('2026-Q1', '2026-Q1') p;
SELECT count(*) AS backwards FROM periods('2026-Q3', '2026-Q1');
SELECT count(*) AS all_months, min(p), max(p) FROM periods('0001-01', '9999-12') p;
SELECT count(*) AS null_bound FROM periods(NULL, '2026-Q1');
SELECT p, ordinality FROM periods('2026-Q3', '2027-Q1') WITH ORDINALITY p;
-- values made under another setting enumerate with their own start month
SELECT q, lower(q) FROM stored s, periods(s.p, next(s.p, 2)) q WHERE s.made_with = 7 AND kind(s.p) = 'fiscal_year';
SELECT periods('2026-Q1', '2026');
SELECT periods('2026-01', 'FY2026');
SELECT periods('2026-Q1', 'FY2026-Q2');
SELECT periods(a.p, b.p) FROM stored a, stored b
WHERE a.made_with = 1 AND b.made_with = 7 AND kind(a.p) = 'fiscal_year' AND kind(b.p) = 'fiscal_year';

-- ---------------------------------------------------------------- order
CREATE TEMP TABLE mixed (p territory.period, made_with int4);
INSERT INTO mixed SELECT p, 0 FROM unnest(ARRAY['2026', '2026-Q1', '2026-01', '2025-12', '2026-02',
    '2027-Q2', '2026-Q2', '2025', '2027']::territory.period[]) p;
SET territory.fiscal_year_start_month = 1;
INSERT INTO mixed SELECT p, 1 FROM unnest(ARRAY['FY2026', 'FY2026-Q1', 'FY2027-Q2']::territory.period[]) p;
SET territory.fiscal_year_start_month = 4;
INSERT INTO mixed SELECT p, 4 FROM unnest(ARRAY['FY2028-Q1', 'FY2027']::territory.period[]) p;
SET territory.fiscal_year_start_month = 7;
INSERT INTO mixed SELECT p, 7 FROM unnest(ARRAY['FY2026', 'FY2027-Q4']::territory.period[]) p;
RESET territory.fiscal_year_start_month;
-- by first month, then length, then calendar before fiscal, then fiscal start month
SELECT p, kind(p), made_with, lower(p), upper(p) FROM mixed ORDER BY p;
SELECT p, made_with FROM mixed ORDER BY p DESC;
SELECT array_agg(p ORDER BY p) AS sorted FROM mixed;
-- the comparison operators and the btree function agree
SELECT '2026-01'::territory.period < '2026-Q1' AS month_before_quarter,
       '2026-Q1'::territory.period < '2026' AS quarter_before_year,
       '2026'::territory.period < 'FY2026' AS year_before_fiscal_year,
       '2025-12'::territory.period < '2026' AS earlier_first_month,
       '2026-Q1'::territory.period <= '2026-Q1' AS le, '2026'::territory.period >= '2026-Q4' AS ge,
       '2026'::territory.period > '2026-12' AS gt, '2026'::territory.period <> 'FY2026' AS ne,
       '2026'::territory.period = 'FY2026' AS eq, '2026-Q4'::territory.period = ' 2026-q4' AS eq_same;
SELECT a.p AS a, a.made_with AS a_made, b.p AS b, b.made_with AS b_made, period_cmp(a.p, b.p) AS cmp
FROM mixed a, mixed b
WHERE (period_cmp(a.p, b.p) < 0) <> (a.p < b.p) OR (period_cmp(a.p, b.p) = 0) <> (a.p = b.p)
   OR (period_cmp(a.p, b.p) > 0) <> (a.p > b.p) OR (a.p <= b.p) <> NOT (a.p > b.p)
   OR (a.p >= b.p) <> NOT (a.p < b.p) OR (a.p <> b.p) <> NOT (a.p = b.p)
   OR period_cmp(a.p, b.p) <> -period_cmp(b.p, a.p);
SELECT count(*) AS pairs, count(*) FILTER (WHERE a.p = b.p) AS equal_pairs FROM mixed a, mixed b;

-- an index follows the same order
CREATE INDEX mixed_p ON mixed (p);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT p FROM mixed WHERE p >= '2026-Q1' AND p < '2027' ORDER BY p;
SELECT p, made_with FROM mixed WHERE p >= '2026-Q1' AND p < '2027' ORDER BY p;
EXPLAIN (COSTS OFF) SELECT min(p), max(p) FROM mixed;
SELECT min(p), max(p) FROM mixed;
RESET enable_seqscan;
-- the btree opclass allows deduplication: many rows of one period make a small index
SELECT amprocnum, amproc::regprocedure FROM pg_amproc
WHERE amprocfamily = (SELECT opcfamily FROM pg_opclass WHERE opcname = 'period_ops'
                      AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree'))
ORDER BY amprocnum;
CREATE TEMP TABLE facts AS SELECT p FROM periods('2026-01', '2026-12') p, generate_series(1, 1000);
CREATE INDEX facts_p ON facts (p);
CREATE INDEX facts_p_plain ON facts (p) WITH (deduplicate_items = off);
SELECT pg_relation_size('facts_p') * 2 < pg_relation_size('facts_p_plain') AS deduplicated;
DROP TABLE facts;
-- an index on an expression (the functions are immutable)
CREATE INDEX mixed_lower ON mixed (lower(p));

-- ---------------------------------------------------------------- equality and hashing
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT p::text, count(*) FROM mixed GROUP BY p;
SELECT p, count(*) FROM (SELECT p FROM mixed UNION ALL SELECT p FROM mixed WHERE made_with > 0) m
GROUP BY p ORDER BY p;
EXPLAIN (COSTS OFF) SELECT DISTINCT p FROM mixed;
SELECT count(*) AS distinct_periods FROM (SELECT DISTINCT p FROM (SELECT p FROM mixed UNION ALL SELECT p FROM mixed) u) d;
RESET enable_sort;
-- joins: every value finds itself and nothing else, though some labels print alike
CREATE TEMP TABLE others AS SELECT p, made_with FROM stored UNION ALL SELECT p, made_with FROM mixed;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT a.p, b.made_with FROM mixed a JOIN others b ON a.p = b.p;
SELECT a.p, a.made_with AS a_made, b.made_with AS b_made, lower(a.p)
FROM mixed a JOIN others b ON a.p = b.p ORDER BY a.p;
RESET enable_mergejoin;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT a.p, b.made_with FROM mixed a JOIN others b ON a.p = b.p;
SELECT count(*) AS merge_joined, count(*) FILTER (WHERE a.made_with = b.made_with) AS same_made_with
FROM mixed a JOIN others b ON a.p = b.p;
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT count(*) AS joined_by_label FROM mixed a JOIN others b ON a.p::text = b.p::text;
-- hash index, hash partitioning (the extended hash)
CREATE INDEX mixed_p_hash ON mixed USING hash (p);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT made_with FROM mixed WHERE p = 'FY2026';
SELECT made_with FROM mixed WHERE p = 'FY2026';
RESET enable_bitmapscan;
RESET enable_seqscan;
CREATE TEMP TABLE by_hash (p territory.period) PARTITION BY HASH (p);
CREATE TEMP TABLE by_hash_0 PARTITION OF by_hash FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TEMP TABLE by_hash_1 PARTITION OF by_hash FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TEMP TABLE by_hash_2 PARTITION OF by_hash FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO by_hash SELECT p FROM periods('2020-01', '2029-12') p;
SELECT tableoid::regclass AS partition, count(*) FROM by_hash GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rows_found FROM periods('2020-01', '2029-12') p WHERE EXISTS (SELECT FROM by_hash h WHERE h.p = p);
-- equal values hash alike; the extended hash with seed 0 agrees with the 32-bit hash
SELECT count(*) AS values, count(DISTINCT period_hash(p)) AS hashes,
       bool_and(period_hash_extended(p, 0) & 4294967295 = period_hash(p)::int8 & 4294967295) AS seed_0_agrees,
       bool_and(period_hash(p) = period_hash(p::text::territory.period)) AS stable,
       count(DISTINCT period_hash_extended(p, 42)) AS seeded_hashes
FROM mixed WHERE made_with = 0;
SELECT count(DISTINCT p) AS distinct_values, count(DISTINCT period_hash(p)) AS distinct_hashes FROM mixed;

-- ---------------------------------------------------------------- containment and overlap
SELECT p, d, p @> d AS contains, d <@ p AS contained
FROM (VALUES ('2026-11', '2026-11-01'), ('2026-11', '2026-11-30'), ('2026-11', '2026-12-01'),
             ('2026-11', '2026-10-31'), ('2026-Q4', '2026-10-01'), ('2026-Q4', '2026-12-31'),
             ('2026-Q4', '2027-01-01'), ('2026', '2026-01-01'), ('2026', '2025-12-31'),
             ('FY2027', '2027-12-31'), ('2026', 'infinity'), ('2026', '-infinity'),
             ('9999-12', '9999-12-31'), ('0001', '0001-01-01')) v(s, t),
     LATERAL (SELECT s::territory.period AS p, t::date AS d) x;
SET territory.fiscal_year_start_month = 2;
SELECT a, b, a @> b AS contains, a <@ b AS contained, b @> a AS contains_rev,
       b <@ a AS contained_rev, a && b AS overlaps, b && a AS overlaps_rev
FROM (VALUES ('2026', '2026-Q4'), ('2026-Q4', '2026-11'), ('2026', '2026'), ('2026', 'FY2026'),
             ('2026-Q4', '2027-Q1'), ('2026', '2027'), ('2026-Q1', 'FY2026-Q4'),
             ('2026-Q1', 'FY2027-Q1'), ('2026', 'FY2027-Q1'), ('FY2027', '2026-03'),
             ('FY2027', '2027-01'), ('FY2027', '2027-02'), ('FY2027', '2026-Q2'),
             ('FY2027', '2026-Q1'), ('2026-01', '2026-02')) v(s, t),
     LATERAL (SELECT s::territory.period AS a, t::territory.period AS b) x;
RESET territory.fiscal_year_start_month;
-- the same value made under two settings: containment is by days
SELECT a.made_with AS a, b.made_with AS b, a.p @> b.p AS contains, a.p && b.p AS overlaps
FROM stored a, stored b
WHERE kind(a.p) = 'fiscal_year' AND kind(b.p) = 'fiscal_year' AND a.made_with < b.made_with
ORDER BY 1, 2;
-- the selectivity estimators work with statistics
ANALYZE mixed;
EXPLAIN (COSTS OFF) SELECT * FROM mixed WHERE p @> date '2026-05-01';
EXPLAIN (COSTS OFF) SELECT * FROM mixed a JOIN mixed b ON a.p && b.p;
SELECT count(*) AS containing_2026_05_01 FROM mixed WHERE p @> date '2026-05-01';
SELECT count(*) AS overlapping_pairs FROM mixed a JOIN mixed b ON a.p && b.p;
SELECT count(*) AS within_2026 FROM mixed WHERE p <@ '2026'::territory.period;
SELECT count(*) AS q2_2026_within FROM mixed WHERE '2026-Q2'::territory.period <@ p;
-- without the schema on the search path (a BI tool, an application with the default
-- search_path): the operators, lower, upper, min and max are found in pg_catalog
SET search_path = public;
SELECT '2026-Q4'::territory.period @> date '2026-11-05' AS contains,
       '2026-Q4'::territory.period = '2026-q4' AS equal,
       '2026-Q4'::territory.period <> '2026-Q3' AS different,
       '2026-Q3'::territory.period < '2026-Q4' AS less,
       '2026-Q3'::territory.period <= '2026-Q3' AS less_equal,
       '2027'::territory.period > '2026-Q4' AS greater,
       '2026-Q4'::territory.period >= '2026-Q4' AS greater_equal,
       date '2026-11-05' <@ '2026-Q4'::territory.period AS contained,
       '2026'::territory.period @> '2026-Q4'::territory.period AS contains_period,
       '2026-Q4'::territory.period <@ '2026'::territory.period AS within,
       '2026'::territory.period && 'FY2027'::territory.period AS overlaps,
       lower('2026-Q4'::territory.period), upper('2026-Q4'::territory.period),
       territory.next('2026-Q4');
-- the names of 0.1.0 still answer, inlined into the above
SELECT territory.lower('2026-Q4'), territory.upper('2026-Q4'),
       (SELECT territory.min(p) FROM mixed) AS min, (SELECT territory.max(p) FROM mixed) AS max;
EXPLAIN (COSTS OFF, VERBOSE) SELECT territory.lower(p) FROM mixed;
-- an unknown literal on either side; min, max, ORDER BY, GROUP BY, DISTINCT
SELECT count(*) FILTER (WHERE p = '2026-Q2') AS q2, count(*) FILTER (WHERE '2026-Q2' = p) AS q2_flipped,
       count(*) FILTER (WHERE p < '2026') AS before_2026, count(*) FILTER (WHERE p @> date '2026-05-01') AS may,
       min(p), max(p), min(lower(p)), max(upper(p))
FROM mixed;
SELECT p FROM mixed ORDER BY p LIMIT 3;
SELECT p, count(*) FROM mixed GROUP BY p ORDER BY p DESC LIMIT 2;
SELECT count(DISTINCT p) AS distinct_periods FROM mixed;
-- the btree, hash and expression indexes serve the operators and functions as written
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM mixed WHERE p >= '2026-Q2' AND p < '2026-Q3';
EXPLAIN (COSTS OFF) SELECT * FROM mixed WHERE lower(p) = date '2026-04-01';
SELECT p FROM mixed WHERE lower(p) = date '2026-04-01' ORDER BY p;
RESET enable_bitmapscan;
RESET enable_seqscan;
-- a period's text and days are other ways in (the report views expose both)
SELECT count(*) FILTER (WHERE p::text = '2026-Q2') AS by_text,
       count(*) FILTER (WHERE p::daterange @> date '2026-05-01') AS by_range
FROM mixed;
-- the operators are not in the schema territory: one operator, one opclass (OPERATOR(pg_catalog.=) qualifies)
SELECT '2026-Q4'::territory.period OPERATOR(pg_catalog.=) '2026-Q4' AS qualified;
SELECT '2026-Q4'::territory.period OPERATOR(territory.=) '2026-Q4';
SELECT count(*) AS operators_in_territory FROM pg_operator WHERE oprnamespace = 'territory'::regnamespace;
SELECT count(*) AS period_operators_in_pg_catalog FROM pg_operator
WHERE oprnamespace = 'pg_catalog'::regnamespace
  AND 'territory.period'::regtype IN (oprleft, oprright);
SET search_path = public, territory;
-- lower and upper of pg_catalog still serve other types
SELECT lower('ABC') AS text_lower, upper('abc') AS text_upper,
       lower(daterange('2026-01-01', '2026-02-01')) AS range_lower,
       upper(daterange('2026-01-01', '2026-02-01')) AS range_upper;

-- ---------------------------------------------------------------- casts to daterange
SELECT p, p::daterange AS days, CAST(p AS daterange) = daterange(lower(p), upper(p)) AS same,
       daterange(p) AS by_function
FROM unnest(ARRAY['2026-11', '2026-Q4', '2026', 'FY2027', 'FY2027-Q1', '0001-01', '9999-12',
                  '9999']::territory.period[]) p;
SET territory.fiscal_year_start_month = 7;
SELECT p, p::daterange AS days FROM unnest(ARRAY['FY0001', 'FY2027', 'FY2027-Q3']::territory.period[]) p;
RESET territory.fiscal_year_start_month;
SELECT '2026-Q4'::territory.period::daterange @> date '2026-11-05' AS range_contains,
       '[2026-01-01,2026-04-01)'::daterange = '2026-Q1'::territory.period::daterange AS range_equal;
-- no cast the other way, and none to date
SELECT '[2026-01-01,2026-04-01)'::daterange::territory.period;
SELECT '2026-Q1'::territory.period::date;
SELECT castcontext, castmethod FROM pg_cast
WHERE castsource = 'territory.period'::regtype AND casttarget = 'daterange'::regtype;

-- ---------------------------------------------------------------- binary format
SELECT p, kind(p), period_send(p)
FROM unnest(ARRAY['2026-11', '2026-Q4', '2026', '0001-01', '9999-12']::territory.period[]) p;
SET territory.fiscal_year_start_month = 7;
SELECT p, kind(p), period_send(p) FROM unnest(ARRAY['FY2027', 'FY2027-Q1', 'FY0001']::territory.period[]) p;
RESET territory.fiscal_year_start_month;
-- round trip through COPY ... (FORMAT binary), periods and arrays of periods: send, then recv,
-- under another setting
SELECT '/tmp/territory_period_' || pg_backend_pid() || '.bin' AS binfile \gset
CREATE TEMP VIEW originals AS
    SELECT p, made_with, ARRAY[p, next(p), NULL] AS arr FROM mixed
    UNION ALL SELECT p, made_with, ARRAY[p] FROM stored;
COPY (SELECT * FROM originals) TO :'binfile' (FORMAT binary);
SET territory.fiscal_year_start_month = 9;
CREATE TEMP TABLE copied (p territory.period, made_with int4, arr territory.period[]);
COPY copied FROM :'binfile' (FORMAT binary);
SELECT count(*) AS copied,
       (SELECT count(*) FROM (SELECT * FROM originals EXCEPT ALL SELECT * FROM copied) e) AS missing
FROM copied;
SELECT p, made_with, lower(p), upper(p), arr FROM copied WHERE kind(p) LIKE 'fiscal%' ORDER BY p, made_with;
RESET territory.fiscal_year_start_month;
SELECT ARRAY['2026-11', ' 2026-q4', 'fy2027']::territory.period[] AS arr;

-- Binary input checked as strictly as text: each value is written as a bytea field and read
-- back as a period, so the raw bytes reach territory.period_recv.
CREATE TEMP TABLE recv_in (p territory.period);
CREATE FUNCTION pg_temp.try_recv(b bytea, f text, OUT result text, OUT code text,
                                 OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, f);
    TRUNCATE recv_in;
    EXECUTE format('COPY recv_in FROM %L (FORMAT binary)', f);
    SELECT format('%s %s [%s,%s)', p, territory.kind(p), territory.lower(p), territory.upper(p))
    INTO result FROM recv_in;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL;
END $$;
SELECT what, t.*
FROM (VALUES ('month 2026-11', '\x01010000005f02'),
             ('quarter 2026-Q4', '\x01020000005f01'),
             ('year 2026', '\x01030000005ef8'),
             ('fiscal year, start 7', '\x01050700005efe'),
             ('FY0001, start 7 (1 BC)', '\x01050700000006'),
             ('fiscal quarter, start 12', '\x01040c00005ef7'),
             ('version 0', '\x00010000005f02'),
             ('version 2', '\x02010000005f02'),
             ('kind 0', '\x01000000005f02'),
             ('kind 6', '\x01060000005f02'),
             ('kind 255', '\x01ff0000005f02'),
             ('fiscal start 0', '\x01050000005ef8'),
             ('fiscal start 13', '\x01050d00005ef8'),
             ('calendar with fiscal start', '\x01030100005ef8'),
             ('quarter starting in February', '\x01020000005ef9'),
             ('year starting in July', '\x01030000005efe'),
             ('fiscal year, start 7, from January', '\x01050700005ef8'),
             ('fiscal quarter, start 2, from January', '\x01040200005ef8'),
             ('month in year 0', '\x01010000000000'),
             ('month in year 10000', '\x0101000001d4c0'),
             ('negative month', '\x010100ffffffff'),
             ('FY10000, start 7', '\x0105070001d4ba'),
             ('FY0000, start 7', '\x010507fffffffa'),
             ('six bytes', '\x01010000005f'),
             ('one byte', '\x01'),
             ('empty', '\x'),
             ('eight bytes', '\x01010000005f0200')) v(what, b),
     LATERAL pg_temp.try_recv(b::bytea, :'binfile') t;

-- ---------------------------------------------------------------- min and max
SELECT min(p), max(p) FROM mixed;
SELECT min(p), max(p) FROM stored WHERE made_with = 7;
SELECT min(p) IS NULL AS min_null, max(p) IS NULL AS max_null FROM mixed WHERE false;
SELECT min(p), max(p), count(p) AS non_null, count(*) AS all_rows
FROM (SELECT p FROM mixed UNION ALL SELECT NULL) m;
SELECT kind(p), min(p), max(p) FROM mixed GROUP BY kind(p) ORDER BY kind(p);
SELECT period_smaller('2026', '2026-Q1'), period_larger('2026', '2026-Q1');
-- partial aggregation combines
-- (a plain table: parallel workers cannot read temporary ones)
CREATE TABLE period_many AS SELECT p FROM periods('0001-01', '9999-12') p;
ANALYZE period_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT min(p), max(p) FROM period_many;
SELECT min(p), max(p) FROM period_many;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
DROP TABLE period_many;

-- ---------------------------------------------------------------- the catalog
-- The functions of the type (other components have functions that take periods too).
CREATE TEMP VIEW period_functions AS
SELECT unnest(ARRAY[
    'territory.period_in(cstring)', 'territory.period_out(territory.period)',
    'territory.period_recv(internal)', 'territory.period_send(territory.period)',
    'territory.period_cmp(territory.period, territory.period)', 'territory.period_sortsupport(internal)',
    'territory.period_eq(territory.period, territory.period)', 'territory.period_ne(territory.period, territory.period)',
    'territory.period_lt(territory.period, territory.period)', 'territory.period_le(territory.period, territory.period)',
    'territory.period_gt(territory.period, territory.period)', 'territory.period_ge(territory.period, territory.period)',
    'territory.period_hash(territory.period)', 'territory.period_hash_extended(territory.period, int8)',
    'pg_catalog.lower(territory.period)', 'pg_catalog.upper(territory.period)',
    'territory.lower(territory.period)', 'territory.upper(territory.period)',
    'territory.period_contains_date(territory.period, date)', 'territory.date_contained_by_period(date, territory.period)',
    'territory.period_contains(territory.period, territory.period)',
    'territory.period_contained_by(territory.period, territory.period)',
    'territory.period_overlaps(territory.period, territory.period)', 'territory.daterange(territory.period)',
    'territory.kind(territory.period)', 'territory.period_of(date, text)', 'territory.next(territory.period, int4)',
    'territory.periods(territory.period, territory.period)',
    'territory.period_smaller(territory.period, territory.period)',
    'territory.period_larger(territory.period, territory.period)',
    'pg_catalog.min(territory.period)', 'pg_catalog.max(territory.period)',
    'territory.min(territory.period)', 'territory.max(territory.period)']::regprocedure[]) AS fn;
-- volatility: only the input function and period_of depend on the setting
SELECT fn AS function, provolatile AS volatile, proisstrict AS strict, proparallel AS parallel,
       prokind AS kind, pg_get_function_result(fn) AS result
FROM period_functions JOIN pg_proc p ON p.oid = fn ORDER BY proname, fn::text;
-- every C function of period.c is in the list
SELECT count(*) AS c_functions, count(*) FILTER (WHERE oid NOT IN (SELECT fn FROM period_functions)) AS missing
FROM pg_proc
WHERE probin = '$libdir/territory'
  AND (prosrc LIKE 'territory\_period%' OR prosrc = 'territory_date_contained_by_period');
SELECT typname, typlen, typbyval, typalign, typstorage, typcategory FROM pg_type
WHERE oid = 'territory.period'::regtype;
-- every function, operator, operator class, cast and the type have a comment
SELECT 'function' AS object, fn::text AS name FROM period_functions
WHERE obj_description(fn, 'pg_proc') IS NULL
UNION ALL
SELECT 'operator', oid::regoperator::text FROM pg_operator
WHERE 'territory.period'::regtype IN (oprleft, oprright) AND obj_description(oid, 'pg_operator') IS NULL
UNION ALL
SELECT 'operator class', opcname FROM pg_opclass
WHERE opcintype = 'territory.period'::regtype AND obj_description(oid, 'pg_opclass') IS NULL
UNION ALL
SELECT 'cast', castsource::regtype || ' AS ' || casttarget::regtype FROM pg_cast
WHERE 'territory.period'::regtype IN (castsource, casttarget) AND obj_description(oid, 'pg_cast') IS NULL
UNION ALL
SELECT 'type', 'territory.period' WHERE obj_description('territory.period'::regtype, 'pg_type') IS NULL;
SELECT oid::regoperator AS operator, oprcom::regoperator AS commutator, oprnegate::regoperator AS negator,
       oprrest AS restrict, oprjoin AS join, oprcanhash AS hashes, oprcanmerge AS merges
FROM pg_operator WHERE 'territory.period'::regtype IN (oprleft, oprright) ORDER BY oprname, oid::regoperator::text;

-- ---------------------------------------------------------------- a role with only USAGE on the schema
CREATE ROLE regress_period_user;
SELECT has_schema_privilege('regress_period_user', 'territory', 'USAGE') AS usage,
       has_schema_privilege('regress_period_user', 'territory', 'CREATE') AS "create",
       has_type_privilege('regress_period_user', 'territory.period', 'USAGE') AS type_usage;
SET ROLE regress_period_user;
SET search_path = public;
SET territory.fiscal_year_start_month = 7;
SELECT 'FY2027-Q1'::territory.period AS p, territory.kind('FY2027-Q1'), territory.lower('FY2027'),
       territory.upper('FY2027'), territory.next('FY2027'), territory.period_of('2026-11-05', 'fiscal_year'),
       '2026-Q4'::territory.period::daterange AS days, territory.period_send('2026-11');
SELECT count(*), territory.min(p), territory.max(p) FROM territory.periods('2026-01', '2026-12') p;
SELECT '2026'::territory.period @> '2026-Q4'::territory.period AS contains,
       '2026'::territory.period && 'FY2027'::territory.period AS overlaps,
       date '2026-03-01' <@ '2026-Q1'::territory.period AS contained,
       '2026-Q1'::territory.period < '2026' AS less, min(p), max(p)
FROM territory.periods('2026-01', '2026-12') p;
SELECT p, count(*) FROM territory.periods('2026-Q1', '2026-Q4') p GROUP BY p ORDER BY p;
CREATE TEMP TABLE quotas (period territory.period PRIMARY KEY, amount numeric);
INSERT INTO quotas SELECT p, 100 FROM territory.periods('FY2027-Q1', 'FY2027-Q4') p;
SELECT period, lower(period), upper(period) - 1 AS last_day, amount FROM quotas
WHERE period <@ 'FY2027'::territory.period ORDER BY period;
SELECT * FROM quotas WHERE period = 'FY2027-Q2';
DROP TABLE quotas;
RESET territory.fiscal_year_start_month;
RESET ROLE;
SET search_path = public, territory;
DROP ROLE regress_period_user;

DROP VIEW originals, period_functions;
DROP TABLE stored, checked, fiscal_years, mixed, others, by_hash, copied, recv_in;
DROP EXTENSION territory;

-- The type territory.period (src/period.c): a month (2026-11), a quarter (2026-Q4), a year
-- (2026), a fiscal year (FY2027) or a fiscal quarter (FY2027-Q1).  Fiscal years start in the
-- month territory.fiscal_year_start_month; a fiscal value keeps the start month it was made with.
-- Only the input function depends on that setting (STABLE); everything else is IMMUTABLE.
-- Every function here is executable by PUBLIC (the default): anyone may use the type.
-- The operators, lower, upper, min and max live in pg_catalog (doc/periods.md, "Names and the
-- search path"): `period = '2026-Q4'`, `lower(period)` and `max(period)` work for every client
-- whatever its search_path, like the operators of a built-in type; the rest of the API stays in
-- the schema territory.

CREATE TYPE territory.period;

CREATE FUNCTION territory.period_in(cstring) RETURNS territory.period
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_in';
COMMENT ON FUNCTION territory.period_in(cstring) IS
    'Input of territory.period; the fiscal forms use territory.fiscal_year_start_month';

CREATE FUNCTION territory.period_out(territory.period) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_out';
COMMENT ON FUNCTION territory.period_out(territory.period) IS 'Output of territory.period';

CREATE FUNCTION territory.period_recv(internal) RETURNS territory.period
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_recv';
COMMENT ON FUNCTION territory.period_recv(internal) IS
    'Binary input of territory.period (checked as strictly as the text input)';

CREATE FUNCTION territory.period_send(territory.period) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_send';
COMMENT ON FUNCTION territory.period_send(territory.period) IS
    'Binary output of territory.period: version byte 1, kind, fiscal start month, start month';

CREATE TYPE territory.period (
    INPUT = territory.period_in,
    OUTPUT = territory.period_out,
    RECEIVE = territory.period_recv,
    SEND = territory.period_send,
    INTERNALLENGTH = 8,
    ALIGNMENT = int4,
    STORAGE = plain
);
COMMENT ON TYPE territory.period IS
    'A month (2026-11), quarter (2026-Q4), year (2026), fiscal year (FY2027) or fiscal quarter (FY2027-Q1)';

-- Comparison: by first month, then length (2026-01 < 2026-Q1 < 2026), then kind (calendar
-- before fiscal), then fiscal start month.

CREATE FUNCTION territory.period_cmp(territory.period, territory.period) RETURNS int4
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_cmp';
COMMENT ON FUNCTION territory.period_cmp(territory.period, territory.period) IS
    'Btree comparison of periods: -1, 0 or 1';

CREATE FUNCTION territory.period_sortsupport(internal) RETURNS void
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_sortsupport';
COMMENT ON FUNCTION territory.period_sortsupport(internal) IS 'Sort support of periods';

CREATE FUNCTION territory.period_eq(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_eq';
COMMENT ON FUNCTION territory.period_eq(territory.period, territory.period) IS 'Implementation of = for periods';

CREATE FUNCTION territory.period_ne(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_ne';
COMMENT ON FUNCTION territory.period_ne(territory.period, territory.period) IS 'Implementation of <> for periods';

CREATE FUNCTION territory.period_lt(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_lt';
COMMENT ON FUNCTION territory.period_lt(territory.period, territory.period) IS 'Implementation of < for periods';

CREATE FUNCTION territory.period_le(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_le';
COMMENT ON FUNCTION territory.period_le(territory.period, territory.period) IS 'Implementation of <= for periods';

CREATE FUNCTION territory.period_gt(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_gt';
COMMENT ON FUNCTION territory.period_gt(territory.period, territory.period) IS 'Implementation of > for periods';

CREATE FUNCTION territory.period_ge(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_ge';
COMMENT ON FUNCTION territory.period_ge(territory.period, territory.period) IS 'Implementation of >= for periods';

CREATE FUNCTION territory.period_hash(territory.period) RETURNS int4
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_hash';
COMMENT ON FUNCTION territory.period_hash(territory.period) IS 'Hash of a period';

CREATE FUNCTION territory.period_hash_extended(territory.period, int8) RETURNS int8
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_hash_extended';
COMMENT ON FUNCTION territory.period_hash_extended(territory.period, int8) IS 'Hash of a period, with a seed';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (territory.period, territory.period) IS
    'Same period: same kind, first month and fiscal start month';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (territory.period, territory.period) IS 'Different periods';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (territory.period, territory.period) IS 'Period sorts before';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (territory.period, territory.period) IS 'Period sorts before or is the same';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (territory.period, territory.period) IS 'Period sorts after';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (territory.period, territory.period) IS 'Period sorts after or is the same';

CREATE OPERATOR CLASS territory.period_ops
    DEFAULT FOR TYPE territory.period USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 territory.period_cmp(territory.period, territory.period),
        FUNCTION 2 territory.period_sortsupport(internal),
        -- equal periods are equal bytes (the unused bytes are always zero): deduplication is safe
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS territory.period_ops USING btree IS
    'Order of periods: by first month, then length, then calendar before fiscal, then fiscal start month';

CREATE OPERATOR CLASS territory.period_ops
    DEFAULT FOR TYPE territory.period USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 territory.period_hash(territory.period),
        FUNCTION 2 territory.period_hash_extended(territory.period, int8);
COMMENT ON OPERATOR CLASS territory.period_ops USING hash IS 'Hashing of periods, consistent with =';

-- Dates and spans.

CREATE FUNCTION pg_catalog.lower(p territory.period) RETURNS date
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_lower';
COMMENT ON FUNCTION pg_catalog.lower(territory.period) IS 'First day of the period';

CREATE FUNCTION pg_catalog.upper(p territory.period) RETURNS date
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_upper';
COMMENT ON FUNCTION pg_catalog.upper(territory.period) IS
    'First day after the period (exclusive, like the upper bound of a range)';

-- The names of 0.1.0, for callers that qualify them (territory.lower(p)): inlined into the above.
CREATE FUNCTION territory.lower(p territory.period) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.lower(p);
COMMENT ON FUNCTION territory.lower(territory.period) IS 'First day of the period (the same as pg_catalog.lower)';

CREATE FUNCTION territory.upper(p territory.period) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.upper(p);
COMMENT ON FUNCTION territory.upper(territory.period) IS
    'First day after the period (the same as pg_catalog.upper)';

CREATE FUNCTION territory.period_contains_date(territory.period, date) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_contains_date';
COMMENT ON FUNCTION territory.period_contains_date(territory.period, date) IS
    'Implementation of @> (period, date): whether the date lies in the period';

CREATE FUNCTION territory.date_contained_by_period(date, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_date_contained_by_period';
COMMENT ON FUNCTION territory.date_contained_by_period(date, territory.period) IS
    'Implementation of <@ (date, period): whether the date lies in the period';

CREATE FUNCTION territory.period_contains(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_contains';
COMMENT ON FUNCTION territory.period_contains(territory.period, territory.period) IS
    'Implementation of @> (period, period): whether every day of the second period lies in the first';

CREATE FUNCTION territory.period_contained_by(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_contained_by';
COMMENT ON FUNCTION territory.period_contained_by(territory.period, territory.period) IS
    'Implementation of <@ (period, period): whether every day of the first period lies in the second';

CREATE FUNCTION territory.period_overlaps(territory.period, territory.period) RETURNS bool
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_overlaps';
COMMENT ON FUNCTION territory.period_overlaps(territory.period, territory.period) IS
    'Implementation of && (period, period): whether the periods share a day';

CREATE OPERATOR pg_catalog.@> (
    LEFTARG = territory.period, RIGHTARG = date, FUNCTION = territory.period_contains_date,
    COMMUTATOR = OPERATOR(pg_catalog.<@), RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR pg_catalog.@> (territory.period, date) IS 'Period contains the date';

CREATE OPERATOR pg_catalog.<@ (
    LEFTARG = date, RIGHTARG = territory.period, FUNCTION = territory.date_contained_by_period,
    COMMUTATOR = OPERATOR(pg_catalog.@>), RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR pg_catalog.<@ (date, territory.period) IS 'Date lies in the period';

CREATE OPERATOR pg_catalog.@> (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_contains,
    COMMUTATOR = OPERATOR(pg_catalog.<@), RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR pg_catalog.@> (territory.period, territory.period) IS
    'First period contains every day of the second';

CREATE OPERATOR pg_catalog.<@ (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_contained_by,
    COMMUTATOR = OPERATOR(pg_catalog.@>), RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR pg_catalog.<@ (territory.period, territory.period) IS
    'Every day of the first period lies in the second';

CREATE OPERATOR pg_catalog.&& (
    LEFTARG = territory.period, RIGHTARG = territory.period, FUNCTION = territory.period_overlaps,
    COMMUTATOR = OPERATOR(pg_catalog.&&), RESTRICT = areasel, JOIN = areajoinsel
);
COMMENT ON OPERATOR pg_catalog.&& (territory.period, territory.period) IS 'Periods share a day';

CREATE FUNCTION territory.daterange(p territory.period) RETURNS daterange
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.daterange(pg_catalog.lower(p), pg_catalog.upper(p));
COMMENT ON FUNCTION territory.daterange(territory.period) IS
    'The days of the period as a date range [lower, upper)';

CREATE CAST (territory.period AS daterange) WITH FUNCTION territory.daterange(territory.period);
COMMENT ON CAST (territory.period AS daterange) IS 'The days of the period, [lower, upper)';

-- Functions.

CREATE FUNCTION territory.kind(p territory.period) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_kind';
COMMENT ON FUNCTION territory.kind(territory.period) IS
    'Kind of the period: month, quarter, year, fiscal_quarter or fiscal_year';

CREATE FUNCTION territory.period_of(d date, kind text) RETURNS territory.period
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_of';
COMMENT ON FUNCTION territory.period_of(date, text) IS
    'The period of the kind (month, quarter, year, fiscal_quarter, fiscal_year) that contains the date; fiscal kinds use territory.fiscal_year_start_month';

CREATE FUNCTION territory.next(p territory.period, n int4 DEFAULT 1) RETURNS territory.period
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_next';
COMMENT ON FUNCTION territory.next(territory.period, int4) IS
    'The period n steps after p (before it when n is negative), of the same kind and fiscal start month';

CREATE FUNCTION territory.periods("from" territory.period, "to" territory.period)
    RETURNS SETOF territory.period
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 12
    AS 'MODULE_PATHNAME', 'territory_periods';
COMMENT ON FUNCTION territory.periods(territory.period, territory.period) IS
    'Every period from "from" to "to", both included, of their kind; none when "to" comes first';

-- min and max, parallel (the transition function combines partial results); also under the
-- names of 0.1.0 in the schema territory.

CREATE FUNCTION territory.period_smaller(territory.period, territory.period) RETURNS territory.period
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_smaller';
COMMENT ON FUNCTION territory.period_smaller(territory.period, territory.period) IS
    'The smaller of two periods (transition function of min)';

CREATE FUNCTION territory.period_larger(territory.period, territory.period) RETURNS territory.period
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_period_larger';
COMMENT ON FUNCTION territory.period_larger(territory.period, territory.period) IS
    'The larger of two periods (transition function of max)';

CREATE AGGREGATE pg_catalog.min(territory.period) (
    SFUNC = territory.period_smaller, STYPE = territory.period,
    COMBINEFUNC = territory.period_smaller, SORTOP = OPERATOR(pg_catalog.<), PARALLEL = SAFE
);
COMMENT ON AGGREGATE pg_catalog.min(territory.period) IS 'The first period in the order of periods';

CREATE AGGREGATE pg_catalog.max(territory.period) (
    SFUNC = territory.period_larger, STYPE = territory.period,
    COMBINEFUNC = territory.period_larger, SORTOP = OPERATOR(pg_catalog.>), PARALLEL = SAFE
);
COMMENT ON AGGREGATE pg_catalog.max(territory.period) IS 'The last period in the order of periods';

CREATE AGGREGATE territory.min(territory.period) (
    SFUNC = territory.period_smaller, STYPE = territory.period,
    COMBINEFUNC = territory.period_smaller, SORTOP = OPERATOR(pg_catalog.<), PARALLEL = SAFE
);
COMMENT ON AGGREGATE territory.min(territory.period) IS 'The first period (the same as pg_catalog.min)';

CREATE AGGREGATE territory.max(territory.period) (
    SFUNC = territory.period_larger, STYPE = territory.period,
    COMBINEFUNC = territory.period_larger, SORTOP = OPERATOR(pg_catalog.>), PARALLEL = SAFE
);
COMMENT ON AGGREGATE territory.max(territory.period) IS 'The last period (the same as pg_catalog.max)';

-- C functions of the assignment engine (src/rules.c, src/matcher.c, src/assign.c).

CREATE FUNCTION territory._compile_rule(tbl regclass, criteria text, managed_column name) RETURNS text
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'territory_compile_rule';
COMMENT ON FUNCTION territory._compile_rule(regclass, text, name) IS
    'Internal: validates rule criteria for a table and returns their stored form';

CREATE FUNCTION territory._rule_columns(tbl regclass, expr text) RETURNS name[]
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_rule_columns';
COMMENT ON FUNCTION territory._rule_columns(regclass, text) IS 'Internal: the columns a stored rule reads';

CREATE FUNCTION territory.assign_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'territory_assign_trigger';
COMMENT ON FUNCTION territory.assign_trigger() IS
    'BEFORE INSERT OR UPDATE row trigger of managed tables: computes the territories of the record';

CREATE FUNCTION territory.history_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'territory_history_trigger';
COMMENT ON FUNCTION territory.history_trigger() IS
    'AFTER DELETE row trigger of managed tables: records the end of a deleted record''s territories';

CREATE FUNCTION territory._flush_history() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'territory_flush_history';
COMMENT ON FUNCTION territory._flush_history() IS
    'Internal: writes the changes this transaction noted to territory.assignment_log now (they are written at the end of each top-level statement anyway)';

CREATE FUNCTION territory._rule_source(tbl regclass, expr text) RETURNS text
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'territory_rule_source';
COMMENT ON FUNCTION territory._rule_source(regclass, text) IS
    'Internal: a stored rule printed back as criteria that resolve the same objects anywhere';

CREATE FUNCTION territory.cascade_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'territory_cascade_trigger';
COMMENT ON FUNCTION territory.cascade_trigger() IS
    'AFTER UPDATE or DELETE row trigger of the account table: reassigns its contacts and deals';

-- Configuration access (src/config.c): the relation that holds the rows of a configuration
-- table on this server, the table itself, or on a Citus cluster its placement on this node.
-- The triggers read and write the configuration through it: on a cluster they fire on the
-- placements, where a query on another configuration table would be a distributed query from
-- a shard's (doc/citus.md).
CREATE FUNCTION territory._config_table(name text) RETURNS regclass
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_config_table';
COMMENT ON FUNCTION territory._config_table(text) IS
    'Internal: the relation holding a configuration table''s rows on this server (the table, or its Citus placement)';

-- The triggers' lookups: a column (as text) of the row whose key columns equal the values
-- given as pairs (column, value, ...), through an index; NULL when there is none.
CREATE FUNCTION territory._config_value(tbl text, col text, VARIADIC key text[]) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_config_value';
COMMENT ON FUNCTION territory._config_value(text, text, text[]) IS
    'Internal: a column of the configuration row with the given key, read where _config_table() says';

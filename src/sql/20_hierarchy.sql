-- Hierarchy functions, in C, served from the per-backend hierarchy cache (src/hierarchy.c).
-- STABLE: they read the configuration tables; an unknown territory is an error (42704).

CREATE FUNCTION territory.ancestors(t int4) RETURNS SETOF int4
    LANGUAGE c STABLE STRICT PARALLEL SAFE ROWS 6
    AS 'MODULE_PATHNAME', 'territory_ancestors';
COMMENT ON FUNCTION territory.ancestors(int4) IS
    'Ancestors of a territory, nearest first, without the territory itself';

CREATE FUNCTION territory.descendants(t int4) RETURNS SETOF int4
    LANGUAGE c STABLE STRICT PARALLEL SAFE ROWS 100
    AS 'MODULE_PATHNAME', 'territory_descendants';
COMMENT ON FUNCTION territory.descendants(int4) IS
    'Descendants of a territory in pre-order, without the territory itself';

CREATE FUNCTION territory.subtree(t int4) RETURNS SETOF int4
    LANGUAGE c STABLE STRICT PARALLEL SAFE ROWS 100
    AS 'MODULE_PATHNAME', 'territory_subtree';
COMMENT ON FUNCTION territory.subtree(int4) IS
    'A territory and its descendants, in pre-order';

CREATE FUNCTION territory.children(t int4) RETURNS SETOF int4
    LANGUAGE c STABLE STRICT PARALLEL SAFE ROWS 10
    AS 'MODULE_PATHNAME', 'territory_children';
COMMENT ON FUNCTION territory.children(int4) IS
    'Direct children of a territory, ordered by name';

CREATE FUNCTION territory.is_ancestor(a int4, b int4) RETURNS bool
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_is_ancestor';
COMMENT ON FUNCTION territory.is_ancestor(int4, int4) IS
    'True when territory a is a strict ancestor of territory b (O(1), pre-order intervals)';

CREATE FUNCTION territory.depth(t int4) RETURNS int4
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_depth';
COMMENT ON FUNCTION territory.depth(int4) IS 'Depth of a territory; roots are 0';

CREATE FUNCTION territory.path(t int4) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_path';
COMMENT ON FUNCTION territory.path(int4) IS
    'Names from the root down to the territory, joined by '' / '' (Global / EMEA / DACH)';

CREATE FUNCTION territory.tree(model int4 DEFAULT NULL)
    RETURNS TABLE (id int4, parent_id int4, depth int4, name text, code text, path text)
    LANGUAGE c STABLE PARALLEL SAFE ROWS 1000
    AS 'MODULE_PATHNAME', 'territory_tree';
COMMENT ON FUNCTION territory.tree(int4) IS
    'Territories of a model (default: the active one) in pre-order, with depth and path';

CREATE FUNCTION territory.to_dot(model int4 DEFAULT NULL) RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_to_dot';
COMMENT ON FUNCTION territory.to_dot(int4) IS
    'Graphviz (dot) picture of a model''s hierarchy (default: the active model)';

CREATE FUNCTION territory.config_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'territory_config_changed';
COMMENT ON FUNCTION territory.config_changed() IS
    'Internal statement trigger: tells every backend''s caches named by its arguments that the configuration changed';

CREATE FUNCTION territory.check_cycles() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp   -- its queries must not meet the caller's operators
    AS 'MODULE_PATHNAME', 'territory_check_cycles';
COMMENT ON FUNCTION territory.check_cycles() IS
    'Internal statement trigger: refuses changes of parents that would make a cycle';

-- C functions of visibility (src/visibility.c).

CREATE FUNCTION territory.current_user_id() RETURNS int4
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_current_user_id';
COMMENT ON FUNCTION territory.current_user_id() IS
    'The current sales user: territory.user, else the user whose login is the current role; NULL for nobody';

CREATE FUNCTION territory.sees_all() RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_sees_all';
COMMENT ON FUNCTION territory.sees_all() IS 'Whether the current sales user sees every record';

CREATE FUNCTION territory.visible_territories(kind text DEFAULT 'account', access text DEFAULT 'read') RETURNS int4[]
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_visible_territories';
COMMENT ON FUNCTION territory.visible_territories(text, text) IS
    'The territories of the active model whose records of this kind the current sales user may read (or edit)';

CREATE FUNCTION territory.visible_owners() RETURNS text[]
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_visible_owners';
COMMENT ON FUNCTION territory.visible_owners() IS
    'The owner keys whose records the current sales user sees: their own and those of everyone below them';

CREATE FUNCTION territory._visibility_support(internal) RETURNS internal
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'territory_visibility_support';
COMMENT ON FUNCTION territory._visibility_support(internal) IS
    'Internal: planner support of in_visible() and owner_visible() (index conditions, selectivity)';

CREATE FUNCTION territory.in_visible(territories int4[], kind text, access text DEFAULT 'read') RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE SUPPORT territory._visibility_support
    AS 'MODULE_PATHNAME', 'territory_in_visible';
COMMENT ON FUNCTION territory.in_visible(int4[], text, text) IS
    'Whether one of these territories is visible to the current sales user for the kind and access (a policy arm; a GIN index serves it)';

CREATE FUNCTION territory.in_visible(territory int4, kind text, access text DEFAULT 'read') RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE SUPPORT territory._visibility_support
    AS 'MODULE_PATHNAME', 'territory_in_visible_one';
COMMENT ON FUNCTION territory.in_visible(int4, text, text) IS
    'Whether a deal''s territory is visible to the current sales user (a policy arm; a btree index serves it)';

CREATE FUNCTION territory.owner_visible(owner anyelement) RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE SUPPORT territory._visibility_support
    AS 'MODULE_PATHNAME', 'territory_owner_visible';
COMMENT ON FUNCTION territory.owner_visible(anyelement) IS
    'Whether the owner is the current sales user or someone below them (a policy arm; a btree index serves it)';

CREATE FUNCTION territory._unassigned_probe() RETURNS int4[]
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_unassigned_probe';
COMMENT ON FUNCTION territory._unassigned_probe() IS
    'Internal: the array an unassigned record''s territories equal for the current user (''{}'' when they see everything)';

CREATE FUNCTION territory.unassigned_visible(territories int4[]) RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE SUPPORT territory._visibility_support
    AS 'MODULE_PATHNAME', 'territory_unassigned_visible';
COMMENT ON FUNCTION territory.unassigned_visible(int4[]) IS
    'Whether a record without territory is visible: to a user who sees everything (a policy arm; GIN serves territories = ''{}'')';


CREATE FUNCTION territory.can_read(territories int4[], owner text, kind text DEFAULT 'account') RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_can_read';
COMMENT ON FUNCTION territory.can_read(int4[], text, text) IS
    'Whether the current sales user may read a record with these territories and owner';

CREATE FUNCTION territory.can_edit(territories int4[], owner text, kind text DEFAULT 'account') RETURNS bool
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'territory_can_edit';
COMMENT ON FUNCTION territory.can_edit(int4[], text, text) IS
    'Whether the current sales user may edit a record with these territories and owner';

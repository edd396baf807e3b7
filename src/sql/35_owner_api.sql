
-- ---------------------------------------------------------------- owner assignment

CREATE FUNCTION territory.set_owner_assignment(territory int4, mode text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text := lower(btrim(set_owner_assignment.mode));
BEGIN
    PERFORM territory._check_territory(set_owner_assignment.territory);
    IF m IS NULL OR m NOT IN ('none', 'round_robin', 'load_balanced') THEN
        RAISE EXCEPTION 'unknown owner assignment: %', coalesce(set_owner_assignment.mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The modes are none, round_robin and load_balanced.';
    END IF;
    UPDATE territory.territories t SET owner_assignment = m
     WHERE t.id = set_owner_assignment.territory AND t.owner_assignment <> m;
END
$$;
COMMENT ON FUNCTION territory.set_owner_assignment(int4, text) IS
    'How new accounts, leads and deals without an owner landing in the territory get one: none, round_robin or load_balanced';

-- The turns of a Citus cluster are the coordinator's: a worker takes them there with this
-- function, connected as the extension's owner (src/remote.c, doc/citus.md).
CREATE FUNCTION territory._take_turn(territory int4, user_ids int4[]) RETURNS int8
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'territory_take_turn';
COMMENT ON FUNCTION territory._take_turn(int4, int4[]) IS
    'Internal: the next owner assignment turn of a territory whose members in rotation are user_ids, taken on the coordinator of a Citus cluster for a worker';

-- Load balancing on a Citus cluster: a worker picks the owner of a new record on the coordinator,
-- which counts the cluster's records (src/owners.c, src/inflight.c, doc/citus.md).
CREATE FUNCTION territory._pick_fewest(territory int4, tbl text, record text, user_ids int4[], keys text[], xact text) RETURNS int4
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'territory_pick_fewest';
COMMENT ON FUNCTION territory._pick_fewest(int4, text, text, int4[], text[], text) IS
    'Internal: the member with the fewest open records of a distributed table, picked by load balancing on the coordinator of a Citus cluster for a worker''s new record';

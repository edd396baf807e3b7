-- Privileges.  Everyone may read the plan and call the read-only hierarchy functions; changing
-- the configuration is for the roles the DBA grants (doc/reference.md, "Privileges").

GRANT USAGE ON SCHEMA territory TO PUBLIC;
GRANT SELECT ON territory.models, territory.territory_types, territory.territories TO PUBLIC;

REVOKE ALL ON FUNCTION
    territory.create_model(text),
    territory.clone_model(int4, text),
    territory.archive_model(int4),
    territory.add_type(text, int4),
    territory.add_territory(text, int4, text, int4, int4),
    territory.move_territory(int4, int4),
    territory.rename_territory(int4, text),
    territory.remove_territory(int4),
    territory.config_changed(),
    territory._new_code(int4, text, int4),
    territory._check_model_writable(int4),
    territory._parent_model(int4, int4, bool),
    territory._territories_before_insert(),
    territory._territories_before_update(),
    territory.check_cycles(),
    territory._territories_before_delete(),
    territory._models_before_write()
FROM PUBLIC;

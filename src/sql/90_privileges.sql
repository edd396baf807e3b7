-- Privileges.  Everyone may read the plan and call the read-only hierarchy functions; changing
-- the configuration is for the roles the DBA grants (doc/reference.md, "Privileges").

GRANT USAGE ON SCHEMA territory TO PUBLIC;
GRANT SELECT ON territory.models, territory.territory_types, territory.territories,
    territory.managed_tables, territory.rules TO PUBLIC;

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
    territory._check_model_insertable(int4, timestamptz),
    territory._territories_before_insert(),
    territory._territories_before_update(),
    territory.check_cycles(),
    territory._territories_before_delete(),
    territory._models_before_write(),
    territory._managed(regclass),
    territory._key_type(regclass),
    territory._check_column(regclass, text, name, regtype[]),
    territory._create_cascade_triggers(territory.managed_tables),
    territory._drop_cascade_triggers(regclass),
    territory.manage_table(regclass, text, name, name, name, name, name, name, name, name),
    territory.unmanage_table(regclass),
    territory._account_table(),
    territory.add_rule(int4, text, text, regclass, bool),
    territory.remove_rule(int4),
    territory.set_rule_active(int4, bool),
    territory._reassign(regclass, text, bool),
    territory._reassigning(name, text),
    territory._manual(regclass, text, int4, text),
    territory.assign(regclass, text, int4),
    territory.exclude(regclass, text, int4),
    territory.unassign(regclass, text, int4),
    territory.territories_at(regclass, text, timestamptz),
    territory._compile_rule(regclass, text, name),
    territory._rule_columns(regclass, text),
    territory._rule_checked(territory.rules),
    territory._rules_before_write(),
    territory._rules_before_delete(),
    territory._parent_model(int4, int4, bool),
    territory._on_sql_drop(),
    territory._config_guard(),
    territory._run_tables(regclass),
    territory._run_start(regclass, int4),
    territory._run_batch(int8),
    territory._run_rows(regclass, regclass, int8, int8),
    territory._table_size(regclass),
    territory._run_pending(int8),
    territory._run_finish(int8),
    territory.compute_territories(regclass, record),
    territory._rule_results(regclass, record),
    territory.explain(regclass, text),
    territory._rule_source(regclass, text),
    territory._compute_territories_in(regclass, record, int4),
    territory.preview_model(int4),
    territory.activate_model(int4),
    territory._user_id(text),
    territory._check_territory(int4),
    territory.add_user(text, text, name, text, bool),
    territory.add_member(int4, text, text, bool, date, date),
    territory.remove_member(int4, text),
    territory.set_access(int4, text, text),
    territory._policy_expr(regclass, text),
    territory._drop_policies(regclass),
    territory.enable_visibility(regclass),
    territory.disable_visibility(regclass),
    territory._sales_users_before_write(),
    territory.set_owner_assignment(int4, text),
    territory._take_turn(int4, int4[]),
    territory._pick_fewest(int4, text, text, int4[], text[], text),
    territory.enable_citus(),
    territory._citus_check_managed(regclass, text, name, name, territory.managed_tables),
    territory._citus_distribute_history(regclass, text, int4),
    territory._citus_distributed(regclass),
    territory._citus_table_size(regclass),
    territory._citus_run_rows(regclass, int8, int8)
FROM PUBLIC;
REVOKE ALL ON PROCEDURE territory.run_rules(regclass, int4) FROM PUBLIC;
GRANT SELECT ON territory.rule_runs, territory.rule_run_pending TO PUBLIC;

-- The triggers that managed tables get run for every role that writes those tables.
GRANT EXECUTE ON FUNCTION territory.assign_trigger(), territory.history_trigger(),
    territory.cascade_trigger() TO PUBLIC;

-- The row checks of the policies run as whoever queries a protected table; they answer for the
-- current sales user only.
GRANT EXECUTE ON FUNCTION territory.current_user_id(), territory.sees_all(), territory.visible_territories(text, text),
    territory.visible_owners(), territory.in_visible(int4[], text, text), territory.in_visible(int4, text, text),
    territory.owner_visible(anyelement), territory.unassigned_visible(int4[]), territory._unassigned_probe(), territory.unassigned_visible(int4),
    territory.can_read(int4[], text, text), territory.can_edit(int4[], text, text)
    TO PUBLIC;

-- ---------------------------------------------------------------- forecasts (34_forecast_api.sql)
-- Everyone may call the planning functions: they let through administrators (INSERT on the
-- table they write) and the managers above the territory, and refuse everyone else.  Targets,
-- adjustments and snapshots name people and quotas: not public.  target_gaps is a security
-- invoker view: it shows what the reader may read of territory.targets.
REVOKE ALL ON FUNCTION
    territory._caller(),
    territory._check_not_null(text, anyelement),
    territory._check_amount(text, numeric),
    territory._check_planner(int4, bool, regclass, text),
    territory._target_user(int4, territory.period, text),
    territory._write_target(int4, territory.period, int4, numeric, text),
    territory._largest_remainder(numeric, int4[], numeric[]),
    territory.snapshot_forecast(territory.period),
    territory._default_stages(),
    territory._stages_before_write(),
    territory._removed_stages_before_insert()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    territory.set_target(int4, territory.period, numeric, text),
    territory.remove_target(int4, territory.period, text),
    territory.split_target(int4, territory.period, text),
    territory.adjust_forecast(int4, territory.period, text, numeric, text)
TO PUBLIC;
GRANT SELECT ON territory.stages, territory.target_gaps TO PUBLIC;
-- ---------------------------------------------------------------- end of forecasts

-- ---------------------------------------------------------------- telephony (36_phone_api.sql)
-- The parsing functions are pure and public: index expressions on application tables call them
-- with the privileges of whoever writes those tables.  Phone numbers name people's lines: the
-- table is not public, nor are the functions that change it.  route_call() is SECURITY DEFINER
-- (it reads the managed tables whoever asks): for the telephony role the DBA grants it to.
REVOKE ALL ON FUNCTION
    territory._phone_numbers_before_write(),
    territory._line_label(text, int4, int4),
    territory.add_phone_number(text, int4, text, text),
    territory.remove_phone_number(text),
    territory._best_territory(int4[]),
    territory._territory_line(int4, int4),
    territory._caller_records(text),
    territory.route_call(text, text)
FROM PUBLIC;
GRANT SELECT ON territory.calling_codes TO PUBLIC;
-- ---------------------------------------------------------------- end of telephony

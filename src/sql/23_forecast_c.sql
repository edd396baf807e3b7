
-- ---------------------------------------------------------------- forecasts (src/forecast.c)

CREATE FUNCTION territory.forecast(period territory.period, territory int4 DEFAULT NULL)
    RETURNS TABLE (territory_id int4, user_key text, depth int4, path text, target numeric,
                   closed_won numeric, commit numeric, best_case numeric, pipeline numeric,
                   weighted_pipeline numeric, adjusted_commit numeric, attainment numeric,
                   gap numeric)
    LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED ROWS 1000
    AS 'MODULE_PATHNAME', 'territory_forecast';
COMMENT ON FUNCTION territory.forecast(territory.period, int4) IS
    'The forecast of a period: one row per territory of the subtree (the active model when territory is NULL), rolled up over its descendants, and one per member';

CREATE FUNCTION territory.forecast_periods(periods territory.period[], territory int4 DEFAULT NULL)
    RETURNS TABLE (period territory.period, territory_id int4, parent_id int4, user_key text,
                   depth int4, target numeric, closed_won numeric, commit numeric,
                   best_case numeric, pipeline numeric, weighted_pipeline numeric,
                   adjusted_commit numeric, adjusted_best_case numeric, adjusted_pipeline numeric,
                   attainment numeric, gap numeric)
    LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED ROWS 10000
    AS 'MODULE_PATHNAME', 'territory_forecast_periods';
COMMENT ON FUNCTION territory.forecast_periods(territory.period[], int4) IS
    'The forecast of every period given in one scan of the deals: per territory of the subtree (rolled up over its descendants, with its parent; no path: join territory.tree() once) and per member';

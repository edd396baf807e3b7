-- rls-3: our policy beside the policies people write by hand, as filters for a reader who sees
-- 1 % and one who sees 20 % of the accounts: = ANY((SELECT array)), IN (subquery), a correlated
-- EXISTS, && with a GIN index.
-- Targets (shared/design/benchmarks.md): never slower than the best hand-written one; ≥ 30× faster
-- than IN (subquery) at 1 %.

SELECT bench.start('rls-3', 'our policy beside hand-written ones',
    'The data and readers of rls-1. The hand-written policies read the reader''s visible territories from '
    || 'a table a DBA would keep (`bench.visible_map(user_key, territory_id)`, indexed, filled with the same '
    || 'sets the extension computes) and the owners from `bench.rls_user`; they run as filters on '
    || '`accounts_plain` (the same rows and indexes, no row-level security) for the role the policies apply to, '
    || 'with `territory.user` set; ours is the extension''s policy on `accounts`. Query: '
    || '`SELECT count(*)`. Every form gives the same count (checked).',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

SELECT bench.say('building the tree, the accounts and the readers');
SELECT bench.make_rls_data();
VACUUM ANALYZE accounts, accounts_plain;
SELECT bench.rls_ready();
CREATE TABLE bench.visible_map AS
SELECT u.key AS user_key, t AS territory_id FROM bench.rls_user u, unnest(u.territories) t;
CREATE INDEX ON bench.visible_map (user_key, territory_id);
ANALYZE bench.visible_map;
GRANT SELECT ON bench.visible_map TO bench_reader;

CREATE PROCEDURE bench.rls3()
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    f record;
    lbl text;
    me text := $m$current_setting('territory.user')$m$;
    owners text;
BEGIN
    owners := format('owner_id = ANY ((SELECT u.owners FROM bench.rls_user u WHERE u.key = %s)::text[])', me);
    FOR r IN SELECT * FROM bench.rls_user WHERE level IN ('1 %', '20 %') ORDER BY target LOOP
        lbl := format('reader seeing %s', r.level);
        CALL bench.measure('rls-3', lbl, 'ours: territory.enable_visibility()',
            format('SELECT bench.as_reader(%L, %L)', r.key, 'SELECT count(*) FROM accounts'));
        FOR f IN SELECT * FROM (VALUES
            ('= ANY ((SELECT array))',
             format('EXISTS (SELECT FROM unnest(territories) t WHERE t = ANY ((SELECT array_agg(v.territory_id) FROM bench.visible_map v WHERE v.user_key = %s)::int4[]))', me)),
            ('IN (subquery)',
             format('EXISTS (SELECT FROM unnest(territories) t WHERE t IN (SELECT v.territory_id FROM bench.visible_map v WHERE v.user_key = %s))', me)),
            ('correlated EXISTS',
             format('EXISTS (SELECT FROM bench.visible_map v WHERE v.user_key = %s AND v.territory_id = ANY (territories))', me)),
            ('&& with GIN',
             format('territories && (SELECT array_agg(v.territory_id) FROM bench.visible_map v WHERE v.user_key = %s)', me))
        ) x(name, cond) LOOP
            -- beyond 1 % the slow forms take minutes a run at M: one timed run is enough to rank them
            CALL bench.measure('rls-3', lbl, 'hand-written: ' || f.name,
                format('SELECT bench.as_reader(%L, %L)', r.key,
                       format('SELECT count(*) FROM accounts_plain WHERE %s OR %s', f.cond, owners)),
                runs => CASE WHEN r.level <> '1 %' AND f.name <> 'IN (subquery)' AND f.name <> 'correlated EXISTS'
                             THEN 1 END);
        END LOOP;
        INSERT INTO bench.target (bench, label, num_label, num_method, den_label, den_method, op, lim)
        SELECT 'rls-3', format('%s: ours ≤ 1.0× the best hand-written policy', lbl), lbl, 'ours: territory.enable_visibility()',
               lbl, (SELECT h.method FROM bench.result h WHERE h.bench = 'rls-3' AND h.label = lbl
                       AND h.method LIKE 'hand-written%' ORDER BY h.ms LIMIT 1), '<=', 1.0;
        IF r.level = '1 %' THEN
            PERFORM bench.target('rls-3', format('%s: IN (subquery) ≥ 30× slower than ours', lbl),
                                 lbl, 'hand-written: IN (subquery)', lbl, 'ours: territory.enable_visibility()', '>=', 30);
        END IF;
    END LOOP;
END
$$;
CALL bench.rls3();

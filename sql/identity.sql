-- Identity and the visibility functions as clients really call them: whole user keys at every
-- length boundary, PL/pgSQL variables and simple expressions, identity switched inside one
-- transaction and one statement, parallel workers, and the cascade of an account delete by a rep.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS territory;
RESET client_min_messages;
CREATE TABLE id_accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE id_contacts (id int PRIMARY KEY, account_id int, owner_id text);
SELECT territory.manage_table('id_accounts', 'account') IS NULL AS managed;
SELECT territory.manage_table('id_contacts', 'contact') IS NULL AS managed;
SELECT territory.add_territory('Root', code => 'R') AS r \gset
SELECT territory.add_territory('DE', :r, 'DE') AS de \gset
SELECT territory.add_territory('FR', :r, 'FR') AS fr \gset
SELECT territory.add_rule(:de, $$country = 'DE'$$) > 0 AS rule, territory.add_rule(:fr, $$country = 'FR'$$) > 0 AS rule;

-- 2. keys are compared whole: two users sharing a 125-byte prefix, and every length boundary
SELECT territory.add_user(repeat('L', 125) || 'A', 'A') > 0 AS a, territory.add_user(repeat('L', 125) || 'B', 'B') > 0 AS b;
SELECT territory.add_member(:de, repeat('L', 125) || 'A') > 0 AS m, territory.add_member(:fr, repeat('L', 125) || 'B') > 0 AS m;
SELECT repeat('L', 125) || 'A' AS key_a, repeat('L', 125) || 'B' AS key_b \gset
BEGIN;
SET LOCAL territory."user" = :'key_a';
SELECT u.key = repeat('L', 125) || 'A' AS is_a FROM territory.sales_users u WHERE u.id = territory.current_user_id();
SELECT territory.visible_territories() = ARRAY[:de] AS sees_de_only;
COMMIT;
-- an unknown key sharing the prefix of a real one is nobody, also when longer than any key
SELECT n, territory.current_user_id() IS NULL AS nobody
  FROM (VALUES (125), (126), (127), (128), (200), (4000)) v(n),
       LATERAL (SELECT set_config('territory.user', repeat('L', n), false)) s;
SELECT set_config('territory.user', repeat('L', 125) || 'AX', false) IS NOT NULL AS set,
       territory.current_user_id() IS NULL AS nobody;
SELECT set_config('territory.user', repeat('L', 125) || 'A', false) IS NOT NULL AS set,
       territory.current_user_id() IS NOT NULL AS someone;
RESET territory."user";
-- every length boundary, multibyte included: each key finds exactly its own user
CREATE TEMP TABLE id_keys AS
SELECT k FROM (VALUES ('x'), (repeat('y', 63)), (repeat('y', 64)), (repeat('z', 124)), (repeat('z', 125)),
                      (repeat('z', 126)), (repeat('z', 127)), (repeat('é', 63)), ('ä' || repeat('w', 125)),
                      (repeat('€', 42))) v(k);
SELECT octet_length(k) AS bytes, territory.add_user(k, 'k' || octet_length(k)) > 0 AS added FROM id_keys ORDER BY 1, 2;
SELECT octet_length(k) AS bytes,
       (SELECT u.key FROM territory.sales_users u
         WHERE u.id = (SELECT territory.current_user_id() FROM (SELECT set_config('territory.user', k, false)) s)) = k AS found_itself
  FROM id_keys ORDER BY 1, 2;
RESET territory."user";
SELECT territory.add_user(repeat('z', 128), 'too long');
SELECT territory.add_user('', 'empty');

-- 3. PL/pgSQL: the identity is never cached across SET LOCAL, set_config or call sites
SELECT territory.add_user('vp', 'VP', sees_all => true) > 0 AS vp, territory.add_user('nobody', 'No member') > 0 AS nobody;
INSERT INTO id_accounts VALUES (1, 'DE', NULL), (2, 'FR', NULL), (3, 'US', NULL);
CREATE FUNCTION id_can_read(acc int) RETURNS bool LANGUAGE plpgsql STABLE AS $$
DECLARE
    t int4[];
BEGIN
    SELECT a.territories INTO t FROM id_accounts a WHERE a.id = acc;
    RETURN territory.can_read(t, NULL);   -- 4. a PL/pgSQL variable: an expanded array
END $$;
CREATE FUNCTION id_can_read_simple(t int4[]) RETURNS bool LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN territory.can_read(t, NULL) AND territory.can_edit(t, NULL);
END $$;
BEGIN;
SET LOCAL territory."user" = 'vp';
SELECT id_can_read(1) AS vp_reads, id_can_read_simple((SELECT territories FROM id_accounts WHERE id = 1)) AS vp_reads;
SET LOCAL territory."user" = 'nobody';
SELECT id_can_read(1) AS nobody_reads, id_can_read_simple((SELECT territories FROM id_accounts WHERE id = 1)) AS nobody_reads;
SET LOCAL territory."user" = :'key_a';
SELECT id_can_read(1) AS a_reads_de, id_can_read(2) AS a_reads_fr;
COMMIT;
-- one DO block, one identity after another: every function follows
DO $$
DECLARE
    who text;
    t int4[];
BEGIN
    SELECT a.territories INTO t FROM id_accounts a WHERE a.id = 1;
    FOREACH who IN ARRAY ARRAY['vp', 'nobody', repeat('L', 125) || 'B', repeat('L', 125) || 'A', 'vp'] LOOP
        PERFORM set_config('territory.user', who, true);
        RAISE NOTICE '%: user %, territories %, owners %, reads DE %, accounts %', left(who, 6),
            (SELECT key = who FROM territory.sales_users WHERE id = territory.current_user_id()),
            cardinality(territory.visible_territories()), cardinality(territory.visible_owners()),
            territory.can_read(t, NULL), (SELECT count(*) FROM id_accounts);
    END LOOP;
END $$;
RESET territory."user";
-- one statement that changes the identity row by row
SELECT who, territory.current_user_id() IS NOT NULL AS someone, cardinality(territory.visible_territories()) AS n
  FROM (VALUES (1, 'vp'), (2, 'nobody'), (3, 'vp')) v(i, who),
       LATERAL (SELECT set_config('territory.user', who, true)) s ORDER BY i;
RESET territory."user";
-- a plan cached across calls (prepared statement) follows the identity
PREPARE id_vis AS SELECT cardinality(territory.visible_territories()) AS n, territory.can_read(ARRAY[1, 2, 3]::int4[] || :de, NULL) AS reads;
BEGIN; SET LOCAL territory."user" = 'vp'; EXECUTE id_vis; EXECUTE id_vis; SET LOCAL territory."user" = 'nobody'; EXECUTE id_vis; COMMIT;
DEALLOCATE id_vis;

-- 4. every representation of an int4[]: expanded (PL/pgSQL), toasted (a long array), short header
BEGIN;
SET LOCAL territory."user" = 'nobody';
DO $$
DECLARE
    t int4[] := ARRAY[]::int4[];
BEGIN
    t := t || (SELECT territories FROM id_accounts WHERE id = 1);
    RAISE NOTICE 'nobody reads an expanded array: %', territory.can_read(t, NULL);
END $$;
SET LOCAL territory."user" = 'vp';
DO $$
DECLARE
    t int4[] := ARRAY[]::int4[];
BEGIN
    RAISE NOTICE 'vp, empty expanded array: can_read %', territory.can_read(t, NULL);
END $$;
COMMIT;

-- 1. parallel workers build the visible set from the snapshot the leader gave them
INSERT INTO id_accounts SELECT g, CASE g % 3 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' ELSE 'US' END, NULL
  FROM generate_series(10, 20009) g;
SELECT territory.enable_visibility('id_accounts') IS NULL AS enabled;
ANALYZE id_accounts;
CREATE ROLE id_app;
GRANT SET ON PARAMETER "territory.user" TO id_app;
GRANT SELECT, DELETE ON id_accounts, id_contacts TO id_app;
GRANT UPDATE ON id_accounts, id_contacts TO id_app;
CREATE FUNCTION id_plan_has(q text, node text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF position(node IN line) > 0 THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;
GRANT EXECUTE ON FUNCTION id_plan_has(text, text) TO id_app;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET ROLE id_app;
BEGIN;
SET LOCAL territory."user" = 'vp';
SELECT id_plan_has('SELECT count(*) FROM id_accounts', 'Parallel Seq Scan') AS parallel_plan;
SELECT count(*) AS vp_sees FROM id_accounts;
SET LOCAL territory."user" = :'key_a';
SELECT count(*) AS a_sees FROM id_accounts;
SELECT count(*) AS a_reads FROM id_accounts WHERE territory.can_read(territories, owner_id);
COMMIT;
RESET ROLE;
-- the oracle: plain SQL over the rows
SELECT count(*) FILTER (WHERE country IN ('DE', 'FR')) + count(*) FILTER (WHERE country = 'US') AS all_rows,
       count(*) FILTER (WHERE country = 'DE') AS de_rows FROM id_accounts;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- 7. a rep deletes an account that has contacts: the contacts follow, outside the rep's policies
SELECT territory.enable_visibility('id_contacts') IS NULL AS enabled;
INSERT INTO id_contacts VALUES (1, 1, NULL), (2, 1, NULL);
SET ROLE id_app;
BEGIN;
SET LOCAL territory."user" = :'key_a';
SELECT count(*) AS contacts_seen FROM id_contacts;
DELETE FROM id_accounts WHERE id = 1;
SELECT count(*) AS contacts_seen FROM id_contacts;
-- the rep still cannot write what it could not write directly
UPDATE id_contacts SET owner_id = 'x' WHERE id = 1;
COMMIT;
RESET ROLE;
SELECT id, territories FROM id_contacts ORDER BY id;

-- 3b. the kind and access from PL/pgSQL variables: each call answers for its own (PL/pgSQL keeps
-- a simple expression's call state for the transaction while the variables change)
SELECT territory.set_access(:fr, 'deal', 'none');
SELECT territory.set_access(:de, 'contact', 'read');
CREATE FUNCTION id_readable(t int4, kind text) RETURNS bool LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN territory.can_read(ARRAY[t], NULL, kind);
END $$;
CREATE FUNCTION id_editable(t int4, kind text) RETURNS bool LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN territory.can_edit(ARRAY[t], NULL, kind);
END $$;
CREATE FUNCTION id_visible(kind text, access text) RETURNS int4[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN territory.visible_territories(kind, access);
END $$;
CREATE FUNCTION id_in_visible(t int4, kind text, access text) RETURNS bool LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN territory.in_visible(t, kind, access);
END $$;
BEGIN;
SET LOCAL territory."user" = :'key_b';
SELECT id_readable(:fr, 'account') AS fr_account, id_readable(:fr, 'deal') AS fr_deal,
       id_readable(:fr, 'account') AS fr_account_again, territory.can_read(ARRAY[:fr], NULL, 'deal') AS fr_deal_direct;
SELECT id_visible('account', 'read') = ARRAY[:fr] AS account_fr, id_visible('deal', 'read') AS deal,
       id_in_visible(:fr, 'account', 'edit') AS fr_account_edit, id_in_visible(:fr, 'deal', 'read') AS fr_deal_read;
SET LOCAL territory."user" = :'key_a';
SELECT id_editable(:de, 'account') AS de_account_edit, id_editable(:de, 'contact') AS de_contact_edit,
       id_readable(:de, 'contact') AS de_contact_read, id_visible('contact', 'edit') AS contact_edit,
       id_visible('contact', 'read') = ARRAY[:de] AS contact_read;
COMMIT;

DROP TABLE id_accounts, id_contacts;
DROP FUNCTION id_readable(int4, text), id_editable(int4, text), id_visible(text, text),
              id_in_visible(int4, text, text);
DROP FUNCTION id_can_read(int), id_can_read_simple(int4[]), id_plan_has(text, text);
REVOKE SET ON PARAMETER "territory.user" FROM id_app;
DROP ROLE id_app;
DROP EXTENSION territory CASCADE;

-- The oracle of the pooled-client suite: doc/securing.md's visibility rules and the rules of
-- fixture.sql (oracle.rule_spec), in plain SQL over the configuration tables
-- (territory.territories, models, members, territory_access, sales_users, territory_types) and the
-- records' territories and owner columns.  It calls none of the extension's functions: not the
-- visibility functions, not the hierarchy functions, not the matcher.
--
-- The functions are SECURITY DEFINER, owned by the superuser that loads this file (who is not
-- subject to row-level security), and STABLE: a client calls them in the same statement as the
-- read they check, so that both see one snapshot, its own uncommitted writes included.  They are
-- PL/pgSQL for its plans cached per session (a pooled server connection lives long).
\set ON_ERROR_STOP 1

-- The active model's territories, with their depth (0: a root).
CREATE FUNCTION oracle.tree() RETURNS TABLE (id int4, parent_id int4, depth int4)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        WITH RECURSIVE t AS (
            SELECT r.id, r.parent_id, 0 AS depth FROM territory.territories r
              JOIN territory.models m ON m.id = r.model_id AND m.state = 'active'
             WHERE r.parent_id IS NULL
            UNION ALL
            SELECT c.id, c.parent_id, t.depth + 1 FROM territory.territories c JOIN t ON c.parent_id = t.id)
        SELECT * FROM t;
END
$$;

-- The current sales user an identity names: the key when territory.user is set and not empty
-- (compared whole), else the user whose login is the role; an active user, or NULL for nobody.
CREATE FUNCTION oracle.who(key text, role name) RETURNS int4
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT u.id FROM territory.sales_users u
         WHERE u.active AND CASE WHEN coalesce(who.key, '') <> '' THEN u.key = who.key ELSE u.login = who.role END);
END
$$;

CREATE FUNCTION oracle.sees_all(uid int4) RETURNS bool
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT coalesce((SELECT u.sees_all FROM territory.sales_users u WHERE u.id = uid AND u.active), false));
END
$$;

-- The owner keys whose records the user sees: their own and those of everyone below them in the
-- manager hierarchy (whether or not those are active).
CREATE FUNCTION oracle.owners(uid int4) RETURNS text[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH RECURSIVE down AS (
            SELECT u.id, u.key FROM territory.sales_users u WHERE u.id = uid AND u.active
            UNION
            SELECT r.id, r.key FROM territory.sales_users r JOIN down d ON r.manager_id = d.id)
        SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM down);
END
$$;

-- The territories whose records of the kind the user reads (access 'read') or edits ('edit'),
-- ascending: with sees_all every territory; else every territory at or below one of the user's
-- current memberships, at that territory's own level for the kind (edit where none is set),
-- and at edit for a membership with the role manager.
CREATE FUNCTION oracle.territories(uid int4, kind text, access text) RETURNS int4[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH RECURSIVE tree AS (SELECT * FROM oracle.tree()),
        mem AS (
            SELECT m.territory_id AS id, m.role = 'manager' AS manages
              FROM territory.members m JOIN territory.sales_users u ON u.id = m.user_id AND u.active
             WHERE m.user_id = uid
               AND (m.valid_from IS NULL OR m.valid_from <= current_date)
               AND (m.valid_to IS NULL OR current_date <= m.valid_to)),
        below AS (
            SELECT tree.id, mem.manages FROM mem JOIN tree ON tree.id = mem.id
            UNION
            SELECT t.id, b.manages FROM below b JOIN tree t ON t.parent_id = b.id)
        SELECT coalesce(array_agg(DISTINCT x.id ORDER BY x.id), '{}')
          FROM (SELECT t.id FROM tree t WHERE oracle.sees_all(uid)
                UNION ALL
                SELECT b.id FROM below b
                  LEFT JOIN territory.territory_access a ON a.territory_id = b.id AND a.kind = territories.kind
                 WHERE b.manages OR coalesce(a.access, 'edit') = 'edit'
                    OR (a.access = 'read' AND territories.access = 'read')) x);
END
$$;

-- What the user may read (or edit) of a kind, once: everything, or these territories and owners.
CREATE TYPE oracle.grant_set AS (everything bool, territories int4[], owners text[]);
CREATE FUNCTION oracle.grants(uid int4, kind text, access text) RETURNS oracle.grant_set
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT ROW(oracle.sees_all(uid), oracle.territories(uid, kind, access), oracle.owners(uid))::oracle.grant_set);
END
$$;

-- Whether a record with these territories and owner passes the grants.
CREATE FUNCTION oracle.passes(g oracle.grant_set, terrs int4[], owner text) RETURNS bool
    LANGUAGE sql IMMUTABLE AS $$   -- inlined: no SET clause
    SELECT g.everything OR coalesce(terrs && g.territories, false) OR coalesce(owner = ANY (g.owners), false)
$$;

CREATE FUNCTION oracle.can(uid int4, kind text, access text, terrs int4[], owner text) RETURNS bool
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT oracle.passes(oracle.grants(uid, kind, access), terrs, owner));
END
$$;

-- The ids of a table ('accounts', 'contacts', 'deals') the user reads (or edits), ascending; of
-- the probes (crm.probes) as records of a kind.
CREATE FUNCTION oracle.visible_ids(tbl text, uid int4, access text DEFAULT 'read', kind text DEFAULT NULL)
    RETURNS int[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH g AS MATERIALIZED (SELECT oracle.grants(uid, coalesce(kind, rtrim(tbl, 's')), access) AS g)
        SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}')
          FROM g, (SELECT a.id, a.territories, a.owner_id FROM crm.accounts a WHERE tbl = 'accounts'
                   UNION ALL
                   SELECT c.id, c.territories, c.owner_id FROM crm.contacts c WHERE tbl = 'contacts'
                   UNION ALL
                   SELECT d.id, CASE WHEN d.territory_id IS NULL THEN '{}' ELSE ARRAY[d.territory_id] END, d.owner_id
                     FROM crm.deals d WHERE tbl = 'deals'
                   UNION ALL
                   SELECT p.id, p.territories, p.owner FROM crm.probes p WHERE tbl = 'probes') r
         WHERE oracle.passes(g.g, r.territories, r.owner_id));
END
$$;

-- The territories the rules give an account: those with a rule whose every non-NULL column
-- equals the record's, minus any that is an ancestor of another (assignment_policy deepest).
CREATE FUNCTION oracle.rule_territories(country text, city text, tier text) RETURNS int4[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH RECURSIVE tree AS (SELECT * FROM oracle.tree()),
        hit AS (
            SELECT DISTINCT tree.id
              FROM oracle.rule_spec r JOIN territory.territories t ON t.code = r.code JOIN tree ON tree.id = t.id
             WHERE (r.country IS NULL OR r.country = rule_territories.country)
               AND (r.city IS NULL OR r.city = rule_territories.city)
               AND (r.tier IS NULL OR r.tier = rule_territories.tier)),
        up AS (
            SELECT tree.parent_id AS id FROM hit JOIN tree ON tree.id = hit.id
            UNION
            SELECT tree.parent_id FROM up JOIN tree ON tree.id = up.id)
        SELECT coalesce(array_agg(h.id ORDER BY h.id), '{}') FROM hit h
         WHERE h.id NOT IN (SELECT id FROM up WHERE id IS NOT NULL));
END
$$;

-- A deal's territory among its account's: the best type priority, then the deepest, then the lowest id.
CREATE FUNCTION oracle.deal_territory(terrs int4[]) RETURNS int4
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT t.id FROM oracle.tree() t
          JOIN territory.territories r ON r.id = t.id JOIN territory.territory_types y ON y.id = r.type_id
         WHERE t.id = ANY (terrs)
         ORDER BY y.priority, t.depth DESC, t.id
         LIMIT 1);
END
$$;

-- What an UPDATE of an account's country, city and tier (or its DELETE) by the user must do:
-- 'none' (it changes no row: the account is not there or the user may not edit it), 'done', or
-- 'refused' (42501: the changed account would land outside what the user may edit).
CREATE FUNCTION oracle.write_outcome(uid int4, account int, deleting bool, country text DEFAULT NULL,
                                     city text DEFAULT NULL, tier text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT CASE WHEN a.id IS NULL OR NOT oracle.can(uid, 'account', 'edit', a.territories, a.owner_id) THEN 'none'
                    WHEN deleting OR oracle.can(uid, 'account', 'edit',
                                                oracle.rule_territories(write_outcome.country, write_outcome.city,
                                                                        write_outcome.tier),
                                                a.owner_id) THEN 'done'
                    ELSE 'refused' END
          FROM (SELECT) one LEFT JOIN crm.accounts a ON a.id = write_outcome.account);
END
$$;

-- As the superuser, before and after the run: the records whose territories differ from what the
-- rules give (contacts: their account's; deals: the choice among their account's), once per place.
CREATE FUNCTION oracle.sorted(a int4[]) RETURNS int4[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM unnest(a) x
$$;
CREATE VIEW oracle.misassigned AS
WITH place AS MATERIALIZED (
    SELECT w.*, oracle.deal_territory(w.want) AS deal
      FROM (SELECT p.*, oracle.rule_territories(p.country, p.city, p.tier) AS want
              FROM (SELECT DISTINCT country, city, tier FROM crm.accounts) p OFFSET 0) w),
acc AS (
    SELECT a.id, a.territories, p.want, p.deal
      FROM crm.accounts a JOIN place p ON (p.country, p.city, p.tier) IS NOT DISTINCT FROM (a.country, a.city, a.tier))
SELECT 'account' AS kind, id, NULL::int AS account_id, oracle.sorted(territories)::text AS got, want::text AS want
  FROM acc WHERE oracle.sorted(territories) <> want
UNION ALL
SELECT 'contact', c.id, c.account_id, oracle.sorted(c.territories)::text, coalesce(acc.want, '{}')::text
  FROM crm.contacts c LEFT JOIN acc ON acc.id = c.account_id
 WHERE oracle.sorted(c.territories) <> coalesce(acc.want, '{}')
UNION ALL
SELECT 'deal', d.id, d.account_id, d.territory_id::text, acc.deal::text
  FROM crm.deals d LEFT JOIN acc ON acc.id = d.account_id
 WHERE d.territory_id IS DISTINCT FROM acc.deal;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oracle FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA oracle TO territory_clients_app, territory_clients_carol;

-- rls-1: count(*) and an aggregate through the visibility policies for users who see 0.1 %, 1 %,
-- 20 % and 100 % of the accounts (and an admin who sees everything), against the same query
-- without row-level security with the equivalent filter written by hand; then two cases seen on
-- the way (issue 13): a reader of one leaf of a tree of 1,000 leaves, and a rep on a deal table
-- of which 30 % is unassigned.
-- Target (shared/design/benchmarks.md): ≤ 1.10× the hand-written filter at every level.

SELECT bench.start('rls-1', 'queries through row-level security',
    'The tree of hier-1 (fixed seed) and accounts in 1 to 3 random leaf territories each, owned by one of 10,000 '
    || 'sales users (fixed seed). `accounts` has the extension''s policies (`territory.enable_visibility`); '
    || '`accounts_plain` holds the same rows and indexes (primary key, GIN on territories, btree on the owner) '
    || 'without row-level security. Each reader is a member of the territory whose subtree holds the share of '
    || 'the accounts nearest to the level; the admin sees everything (`sees_all`). Queries run as a role subject '
    || 'to the policies with `territory.user` set. The hand-written filters say the same as the policy with the '
    || 'reader''s visible territories and owners as literal arrays (computed beforehand, untimed): '
    || '`territories && ARRAY[...] OR owner_id = ANY (ARRAY[...])`, the form a GIN index serves, and '
    || '`EXISTS (SELECT FROM unnest(territories) t WHERE t = ANY (ARRAY[...])) OR owner_id = ANY (ARRAY[...])`, '
    || 'which PostgreSQL evaluates with a hashed array (`&&` compares every pair: beyond 5,000 visible '
    || 'territories it is not run); the admin''s hand-written query has no filter. The ratio target is against '
    || 'the faster hand-written form. '
    || 'Two cases follow, each on tables of its own. *A reader of one leaf*: a second tree in the active model '
    || '(a root, 10, 100 and 1,000 leaves) and `leaf_accounts` / `leaf_accounts_plain`, half as many accounts as '
    || '`accounts`, each in one random leaf (fixed seed) and owned as above; the reader is a member of the leaf '
    || 'holding nearest to 1 in 1,000 of them and owns none (at M: 500 of 500,000). *A rep on deals*: the deals '
    || 'of roll-1 (`deals` with the policies, `deals_plain` without), of which 30 % have no territory '
    || '(`territory_id` NULL: only a user who `sees_all` reads them, and their owners); the rep is the first of '
    || 'the 10,000 sales users who is a member of a leaf, and reads the deals of the leaf and their own; '
    || 'the hand-written filter is `territory_id = ANY (ARRAY[...]) OR owner_id = ANY (ARRAY[...])` (btree '
    || 'indexes on both).',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

SELECT bench.say('building the tree, the accounts and the readers');
SELECT bench.make_rls_data();
-- merges the GIN indexes' pending lists, as autovacuum would soon after a load
VACUUM ANALYZE accounts, accounts_plain;
SELECT bench.rls_ready();

/*
 * bench.rls1_lines: the lines of one reader on the table tbl: count(*) and sum(amount) through the
 * policies, then on tbl_plain (no row-level security) with each hand-written form of forms (rows
 * of a method and its filter: a format of the visible territories %1$s and owners %2$s as literal
 * arrays; NULL, no filter).  The count through the policies notes the reader's share of records.
 */
CREATE PROCEDURE bench.rls1_lines(reader text, who text, territories int4[], owners text[], tbl text,
                                  records text, forms text[])
    LANGUAGE plpgsql
AS $$
DECLARE
    q record;
    f text[];
    lbl text;
    plain text := tbl || '_plain';
    total bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I', plain) INTO total;
    FOR q IN SELECT * FROM (VALUES ('count(*)', 'count(*)'), ('sum(amount)', 'sum(amount)')) q(name, expr) LOOP
        lbl := format('%s: %s', q.name, reader);
        CALL bench.measure('rls-1', lbl, 'through the policies',
            format('SELECT bench.as_reader(%L, %L)', who, format('SELECT %s FROM %I', q.expr, tbl)));
        IF q.name = 'count(*)' THEN
            UPDATE bench.result x
               SET note = format('%s visible territories, %s %% of the %s', cardinality(territories),
                                 round(100.0 * x.value::numeric / total, 2), records)
             WHERE x.bench = 'rls-1' AND x.label = lbl AND x.method = 'through the policies';
            COMMIT;
        END IF;
        FOREACH f SLICE 1 IN ARRAY forms LOOP
            CALL bench.measure('rls-1', lbl, f[1],
                format('SELECT bench.as_reader(%L, %L)', who,
                       format('SELECT %s FROM %I', q.expr, plain)
                       || coalesce(' WHERE ' || format(f[2], quote_literal(territories::text) || '::int4[]',
                                                       quote_literal(owners::text) || '::text[]'), '')));
        END LOOP;
    END LOOP;
END
$$;

-- the hand-written forms on a table of accounts
CREATE FUNCTION bench.overlap_form() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['hand-written: territories && ARRAY[...] OR owner = ANY (...)',
                 'territories && %1$s OR owner_id = ANY (%2$s)'];
CREATE FUNCTION bench.hashed_form() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['hand-written: EXISTS (unnest … = ANY (ARRAY[...])) OR owner = ANY (...)',
                 'EXISTS (SELECT FROM unnest(territories) t WHERE t = ANY (%1$s)) OR owner_id = ANY (%2$s)'];

CREATE PROCEDURE bench.rls1()
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM bench.rls_user ORDER BY target, key LOOP
        CALL bench.rls1_lines('reader seeing ' || r.level, r.key, r.territories, r.owners, 'accounts', 'accounts',
            CASE WHEN r.key = 'admin' THEN ARRAY[ARRAY['hand-written: no filter (sees everything)', NULL]]
                 WHEN cardinality(r.territories) <= 5000 THEN ARRAY[bench.overlap_form(), bench.hashed_form()]
                 ELSE ARRAY[bench.hashed_form()] END);
    END LOOP;
END
$$;
SET client_min_messages = notice;
CALL bench.rls1();

-- ---------------------------------------------------------------- the reader of one leaf

/*
 * bench.make_leaf_data: a second tree in the active model (a root, 10 regions, 100 districts and
 * 1,000 leaves, ids after the first tree's); leaf_accounts and leaf_accounts_plain, half as many
 * accounts as accounts, each in one random leaf of it (fixed seed); and the sales user 'vleaf', a
 * member of the leaf holding nearest to 1 in 1,000 of them.
 */
CREATE FUNCTION bench.make_leaf_data() RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    base int := (SELECT max(id) FROM territory.territories);
    n int := bench.accounts() / 2;
BEGIN
    INSERT INTO territory.territories (id, model_id, parent_id, name, code)
    SELECT base + i, 1,
           CASE WHEN i = 1 THEN NULL
                WHEN i <= 11 THEN base + 1                       -- regions 2 .. 11
                WHEN i <= 111 THEN base + 2 + (i - 12) / 10      -- districts 12 .. 111
                ELSE base + 12 + (i - 112) / 10 END,             -- leaves 112 .. 1111
           'Second tree ' || i, 'S' || i
      FROM generate_series(1, 1111) i ORDER BY i;
    PERFORM setval(pg_get_serial_sequence('territory.territories', 'id'), base + 1111);
    PERFORM setseed(0.29);
    PERFORM bench.make_account_tables('leaf_accounts', n, format('ARRAY[%s + floor(random() * 1000)::int]', base + 112));
    INSERT INTO territory.sales_users (key, name) VALUES ('vleaf', 'Reader of one leaf');
    INSERT INTO territory.members (territory_id, user_id)
    SELECT (SELECT a.territories[1] FROM leaf_accounts a GROUP BY 1 ORDER BY abs(count(*) - n / 1000.0), 1 LIMIT 1), u.id
      FROM territory.sales_users u
     WHERE u.key = 'vleaf';
    GRANT SELECT ON leaf_accounts, leaf_accounts_plain TO bench_reader;
END
$$;

SELECT bench.say('the reader of one leaf: a second tree of 1,000 leaves and its accounts');
SELECT bench.make_leaf_data();
VACUUM ANALYZE leaf_accounts, leaf_accounts_plain;
CALL bench.rls1_lines('reader of one leaf of 1,000', 'vleaf',
    bench.as_reader('vleaf', 'SELECT territory.visible_territories()')::int4[],
    bench.as_reader('vleaf', 'SELECT territory.visible_owners()')::text[],
    'leaf_accounts', 'accounts of the second tree', ARRAY[bench.overlap_form(), bench.hashed_form()]);
-- deal tables need exactly one managed account table: the second goes before the deals come
DROP TABLE leaf_accounts, leaf_accounts_plain;

-- ---------------------------------------------------------------- a rep on deals, 30 % unassigned

SELECT bench.say('a rep on deals: the deals of roll-1, 30 % without territory');
SELECT bench.make_deal_data(unassigned => 0.3);
VACUUM ANALYZE deals, deals_plain;
SELECT u.key AS rep
  FROM territory.sales_users u
  JOIN territory.members m ON m.user_id = u.id
  JOIN bench.node n ON n.id = m.territory_id
 WHERE u.key ~ '^u[0-9]+$' AND n.depth = (SELECT max(depth) FROM bench.node)
 ORDER BY u.id
 LIMIT 1 \gset
CALL bench.rls1_lines('rep on deals, 30 % unassigned', :'rep',
    bench.as_reader(:'rep', $$SELECT territory.visible_territories('deal')$$)::int4[],
    bench.as_reader(:'rep', 'SELECT territory.visible_owners()')::text[],
    'deals', 'deals',
    ARRAY[ARRAY['hand-written: territory_id = ANY (ARRAY[...]) OR owner = ANY (...)',
                'territory_id = ANY (%1$s) OR owner_id = ANY (%2$s)']]);

-- targets: ≤ 1.10× the faster hand-written form, for every reader (the admin, who sees
-- everything without any filter by hand, is shown beside them without a target)
INSERT INTO bench.target (bench, label, num_label, num_method, den_label, den_method, op, lim)
SELECT 'rls-1', format('%s: ≤ 1.10× the hand-written filter', x.label), x.label, 'through the policies',
       x.label, (SELECT h.method FROM bench.result h WHERE h.bench = 'rls-1' AND h.label = x.label
                   AND h.method LIKE 'hand-written%' ORDER BY h.ms LIMIT 1), '<=', 1.10
  FROM bench.result x
 WHERE x.bench = 'rls-1' AND x.method = 'through the policies' AND x.label NOT LIKE '%sees_all%'
 ORDER BY x.seq;

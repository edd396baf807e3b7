-- rls-1: count(*) and an aggregate through the visibility policies for users who see 0.1 %, 1 %,
-- 20 % and 100 % of the accounts (and an admin who sees everything), against the same query
-- without row-level security with the equivalent filter written by hand.
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
    || 'the faster hand-written form.',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts');

SELECT bench.say('building the tree, the accounts and the readers');
SELECT bench.make_rls_data();
-- merges the GIN indexes' pending lists, as autovacuum would soon after a load
VACUUM ANALYZE accounts, accounts_plain;
SELECT bench.rls_ready();

CREATE PROCEDURE bench.rls1()
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    q record;
    lbl text;
    terr text;
    own text;
BEGIN
    FOR r IN SELECT * FROM bench.rls_user ORDER BY target, key LOOP
        terr := quote_literal(r.territories::text) || '::int4[]';
        own := quote_literal(r.owners::text) || '::text[]';
        FOR q IN SELECT * FROM (VALUES ('count(*)', 'count(*)'), ('sum(amount)', 'sum(amount)')) q(name, expr) LOOP
            lbl := format('%s: reader seeing %s', q.name, r.level);
            CALL bench.measure('rls-1', lbl, 'through the policies',
                format('SELECT bench.as_reader(%L, %L)', r.key, format('SELECT %s FROM accounts', q.expr)));
            IF r.key = 'admin' THEN
                CALL bench.measure('rls-1', lbl, 'hand-written: no filter (sees everything)',
                    format('SELECT bench.as_reader(%L, %L)', r.key, format('SELECT %s FROM accounts_plain', q.expr)));
                CONTINUE;
            END IF;
            IF cardinality(r.territories) <= 5000 THEN
                CALL bench.measure('rls-1', lbl, 'hand-written: territories && ARRAY[...] OR owner = ANY (...)',
                    format('SELECT bench.as_reader(%L, %L)', r.key,
                           format('SELECT %s FROM accounts_plain WHERE territories && %s OR owner_id = ANY (%s)',
                                  q.expr, terr, own)));
            END IF;
            CALL bench.measure('rls-1', lbl, 'hand-written: EXISTS (unnest … = ANY (ARRAY[...])) OR owner = ANY (...)',
                format('SELECT bench.as_reader(%L, %L)', r.key,
                       format('SELECT %s FROM accounts_plain WHERE EXISTS (SELECT FROM unnest(territories) t WHERE t = ANY (%s)) OR owner_id = ANY (%s)',
                              q.expr, terr, own)));
        END LOOP;
    END LOOP;
END
$$;
SET client_min_messages = notice;
CALL bench.rls1();

-- the share each reader sees, beside the level
UPDATE bench.result x
   SET note = concat_ws('; ', note, format('%s visible territories, %s %% of the accounts', cardinality(u.territories),
                                           round(100.0 * x.value::numeric / (SELECT count(*) FROM accounts_plain), 2)))
  FROM bench.rls_user u
 WHERE x.bench = 'rls-1' AND x.method = 'through the policies' AND x.label = 'count(*): reader seeing ' || u.level;

-- targets: ≤ 1.10× the faster hand-written form, at every level of visibility (the admin, who
-- sees everything without any filter by hand, is shown beside them without a target)
INSERT INTO bench.target (bench, label, num_label, num_method, den_label, den_method, op, lim)
SELECT 'rls-1', format('%s: ≤ 1.10× the hand-written filter', x.label), x.label, 'through the policies',
       x.label, (SELECT h.method FROM bench.result h WHERE h.bench = 'rls-1' AND h.label = x.label
                   AND h.method LIKE 'hand-written%' ORDER BY h.ms LIMIT 1), '<=', 1.10
  FROM bench.result x
 WHERE x.bench = 'rls-1' AND x.method = 'through the policies' AND x.label NOT LIKE '%sees_all%'
 ORDER BY x.seq;


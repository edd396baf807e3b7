-- After ALTER EXTENSION territory UPDATE of the database data-before.sql filled: the extension is
-- at the version of this tree, the data is still there, and the triggers, the caches, the
-- policies and run_rules still work on it.  psql variables: rep, version.
\set ON_ERROR_STOP 1
\set QUIET on
\ir expect.sql

SELECT pg_temp.expect('extension version', extversion, :'version') FROM pg_extension WHERE extname = 'territory';
SELECT t.id AS de FROM territory.territories t WHERE t.model_id = territory.active_model() AND t.code = 'DE' \gset
SELECT t.id AS ber FROM territory.territories t WHERE t.model_id = territory.active_model() AND t.code = 'BER' \gset
SELECT t.id AS fr FROM territory.territories t WHERE t.model_id = territory.active_model() AND t.code = 'FR' \gset
SELECT t.id AS emea FROM territory.territories t WHERE t.model_id = territory.active_model() AND t.code = 'EMEA' \gset

-- configuration kept
SELECT pg_temp.expect('models', string_agg(name || ':' || state, ', ' ORDER BY id), 'default:active, FY2027:planning')
  FROM territory.models;
SELECT pg_temp.expect('territories of FY2027', count(*)::text, '5')
  FROM territory.territories t JOIN territory.models m ON m.id = t.model_id WHERE m.name = 'FY2027';
SELECT pg_temp.expect('path', territory.path(:ber), 'Global / EMEA / Germany / Berlin');
SELECT pg_temp.expect('managed tables', string_agg(tbl::text || ':' || kind, ', ' ORDER BY tbl::text),
                      'accounts:account, deals:deal, leads:lead')
  FROM territory.managed_tables;
SELECT pg_temp.expect('rules (4 and their copies in FY2027)', count(*)::text, '8') FROM territory.rules;
SELECT pg_temp.expect('target', amount::text, '1000.00') FROM territory.targets WHERE territory_id = :de;
SELECT pg_temp.expect('custom stage', category || ' ' || probability, 'best_case 50.00')
  FROM territory.stages WHERE stage = 'Pilot';
SELECT pg_temp.expect('seeded stages', count(*)::text, '8') FROM territory.stages WHERE seeded;

-- rows kept as they were
SELECT pg_temp.expect('account 1', territories::text, format('{%s}', :ber)) FROM public.accounts WHERE id = 1;
SELECT pg_temp.expect('account 2', territories::text, format('{%s}', :fr)) FROM public.accounts WHERE id = 2;
SELECT pg_temp.expect('deal 1', territory_id::text, :'ber') FROM public.deals WHERE id = 1;
SELECT pg_temp.expect('lead 1', owner_id, 'ann') FROM public.leads WHERE id = 1;

-- the assignment triggers still assign: inserts, updates, deals following their account
INSERT INTO public.accounts VALUES (3, 'Brezel', 'DE', 'Munich', 'bob'), (4, 'Spree', 'DE', 'Berlin', 'ann'),
                                   (5, 'Vin', 'FR', 'Lyon', 'cy');
SELECT pg_temp.expect('new account 3', territories::text, format('{%s}', :de)) FROM public.accounts WHERE id = 3;
SELECT pg_temp.expect('new account 4', territories::text, format('{%s}', :ber)) FROM public.accounts WHERE id = 4;
SELECT pg_temp.expect('new account 5', territories::text, format('{%s}', :fr)) FROM public.accounts WHERE id = 5;
UPDATE public.accounts SET country = 'DE', city = 'Berlin' WHERE id = 2;
SELECT pg_temp.expect('updated account 2', territories::text, format('{%s}', :ber)) FROM public.accounts WHERE id = 2;
INSERT INTO public.deals (id, account_id, amount, close_date, stage, owner_id)
VALUES (2, 3, 700, '2026-12-01', 'Negotiation', 'bob');
SELECT pg_temp.expect('new deal 2', territory_id::text, :'de') FROM public.deals WHERE id = 2;
UPDATE public.accounts SET city = 'Berlin' WHERE id = 3;
SELECT pg_temp.expect('deal 2 follows its account', territory_id::text, :'ber') FROM public.deals WHERE id = 2;
SELECT pg_temp.expect('history of account 2', count(*)::text, '2')
  FROM territory.assignment_log WHERE tbl = 'public.accounts'::regclass AND key = '2';

-- round robin goes on where it was
INSERT INTO public.leads VALUES (2, 'DE', NULL), (3, 'DE', NULL);
SELECT pg_temp.expect('round robin', string_agg(owner_id, ',' ORDER BY id), 'ann,bob,ann') FROM public.leads;

-- a rule added after the update, applied to existing rows by run_rules
SELECT territory.add_territory('Switzerland', :emea, 'CH') AS ch \gset
SELECT territory.add_rule(:ch, $$country = 'CH'$$);
SELECT pg_temp.expect('account 6 before run_rules', territories::text, '{}') FROM public.accounts WHERE id = 6;
CALL territory.run_rules('public.accounts');
SELECT pg_temp.expect('account 6 after run_rules', territories::text, format('{%s}', :ch)) FROM public.accounts WHERE id = 6;

-- row-level security: a member sees the records of their territories and the ones they own (cy
-- owns account 2, moved to Berlin above)
SET territory."user" = 'cy';
SET ROLE :"rep";
SELECT string_agg(id::text, ',' ORDER BY id) AS seen FROM public.accounts \gset
RESET ROLE;
SELECT pg_temp.expect('cy sees', :'seen', '2,5');
SET territory."user" = 'bob';
SET ROLE :"rep";
SELECT string_agg(id::text, ',' ORDER BY id) AS seen FROM public.accounts \gset
RESET ROLE;
SELECT pg_temp.expect('bob sees', :'seen', '1,2,3,4');
-- deals: the update gave the deal table the partial index of the unassigned arm (not a member
-- of the extension: dumped with the table); an unassigned deal is seen only by who sees all
SELECT pg_temp.expect('unassigned deals index', string_agg(c.relname || ' ' || pg_get_expr(i.indpred, i.indrelid), ', '),
                      'deals_unassigned_idx (territory_id IS NULL)')
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'public.deals'::regclass AND i.indpred IS NOT NULL;
SELECT pg_temp.expect('index outside the extension', count(*)::text, '0')
  FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = 'public.deals_unassigned_idx'::regclass
   AND deptype = 'e';
INSERT INTO public.accounts VALUES (7, 'Sakura', 'JP', 'Tokyo', NULL);
INSERT INTO public.deals (id, account_id, amount, close_date, stage, owner_id)
VALUES (4, 7, 10, '2026-12-02', 'Proposal', NULL);
SET ROLE :"rep";
SELECT string_agg(id::text, ',' ORDER BY id) AS seen FROM public.deals \gset
RESET ROLE;
SELECT pg_temp.expect('bob sees deals', :'seen', '1,2');
SELECT territory.add_user('ops', 'Ops', sees_all => true) > 0 AS added \gset
SET territory."user" = 'ops';
SET ROLE :"rep";
SELECT string_agg(id::text, ',' ORDER BY id) AS seen FROM public.deals \gset
RESET ROLE;
SELECT pg_temp.expect('ops sees deals', :'seen', '1,2,4');
RESET territory."user";

-- forecast views over the kept configuration
SELECT pg_temp.expect('target gaps of Germany', count(*)::text, '1')
  FROM territory.target_gaps WHERE territory_id = :de;

-- Data in an install of a released version, before ALTER EXTENSION territory UPDATE: a hierarchy,
-- types, rules, managed tables with rows, sales users, memberships, round robin, row-level
-- security, a target, a custom stage, a planning model.  Written against the API of 0.1.0.
-- psql variables: rep (a role to read as, created by test/upgrade/run).
\set ON_ERROR_STOP 1
\set QUIET on
\ir expect.sql

CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text, country text, city text, owner_id text);
CREATE TABLE public.deals (id int PRIMARY KEY, account_id bigint, amount numeric, close_date date, stage text,
                           created_at timestamptz DEFAULT now(), owner_id text);
CREATE TABLE public.leads (id int PRIMARY KEY, country text, owner_id text);

SELECT territory.add_type('Region', 2) AS region, territory.add_type('Country', 3) AS country \gset
SELECT territory.add_territory('Global', code => 'GLOBAL') AS global \gset
SELECT territory.add_territory('EMEA', :global, 'EMEA', :region) AS emea \gset
SELECT territory.add_territory('Germany', :emea, 'DE', :country) AS de \gset
SELECT territory.add_territory('Berlin', :de, 'BER') AS ber \gset
SELECT territory.add_territory('France', :emea, 'FR', :country) AS fr \gset

SELECT territory.manage_table('public.accounts', 'account');
SELECT territory.manage_table('public.deals', 'deal');
SELECT territory.manage_table('public.leads', 'lead');
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:ber, $$country = 'DE' AND city = 'Berlin'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$);
SELECT territory.add_rule(:de, $$country = 'DE'$$, tbl => 'public.leads');

SELECT territory.add_user(k, initcap(k)) FROM unnest('{ann,bob,cy}'::text[]) k;
SELECT territory.add_member(:de, 'ann'), territory.add_member(:de, 'bob'), territory.add_member(:fr, 'cy');
SELECT territory.set_owner_assignment(:de, 'round_robin');
SELECT territory.set_target(:de, '2026-Q4', 1000);
INSERT INTO territory.stages (stage, category, probability, position, seeded)
VALUES ('Pilot', 'best_case', 50, 45, false);

INSERT INTO public.accounts VALUES (1, 'Acme', 'DE', 'Berlin', 'ann'), (2, 'Bistro', 'FR', 'Paris', 'cy'),
                                   (6, 'Uhren', 'CH', 'Basel', NULL);
INSERT INTO public.deals (id, account_id, amount, close_date, stage, owner_id)
VALUES (1, 1, 500, '2026-11-15', 'Proposal', 'ann');
INSERT INTO public.leads VALUES (1, 'DE', NULL);
SELECT territory.enable_visibility('public.accounts');
SELECT territory.enable_visibility('public.deals');
GRANT SELECT ON public.accounts, public.deals TO :"rep";
SELECT territory.clone_model(territory.active_model(), 'FY2027') AS next \gset

-- what the released version did: the scenario is valid before the update
SELECT pg_temp.expect('before: account 1', territories::text, format('{%s}', :ber))
  FROM public.accounts WHERE id = 1;
SELECT pg_temp.expect('before: account 2', territories::text, format('{%s}', :fr))
  FROM public.accounts WHERE id = 2;
SELECT pg_temp.expect('before: account 6', territories::text, '{}')
  FROM public.accounts WHERE id = 6;
SELECT pg_temp.expect('before: deal 1', territory_id::text, :'ber') FROM public.deals WHERE id = 1;
SELECT pg_temp.expect('before: lead 1', owner_id, 'ann') FROM public.leads WHERE id = 1;

-- The scenario of test/citus/rotation.pl: two territories giving their new leads owners by round
-- robin, over three and two members, and a lead table distributed on the cluster (psql variable
-- cluster: on or off).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('Inbound', :g, 'IN') AS inbound \gset
SELECT territory.add_territory('Partners', :g, 'PA') AS partners \gset
SELECT territory.add_user(u, initcap(u)) FROM unnest(ARRAY['ann', 'bob', 'cyd', 'pia', 'pat']) u;
SELECT territory.add_member(:inbound, u) FROM unnest(ARRAY['ann', 'bob', 'cyd']) u;
SELECT territory.add_member(:partners, u) FROM unnest(ARRAY['pia', 'pat']) u;
SELECT territory.set_owner_assignment(:inbound, 'round_robin');
SELECT territory.set_owner_assignment(:partners, 'round_robin');
CREATE TABLE leads (id bigint PRIMARY KEY, source text, owner_id text);
\if :cluster
SELECT territory.enable_citus();
SELECT create_distributed_table('leads', 'id');
\endif
SELECT territory.manage_table('leads', 'lead');
SELECT territory.add_rule(:inbound, $$source = 'web'$$, 'web leads', 'leads');
SELECT territory.add_rule(:partners, $$source = 'partner'$$, 'partner leads', 'leads');

-- The application's tables of the Citus suite's managed-table test (test/citus/managed.pl): on
-- the cluster (psql variable distributed = on) accounts and leads distributed by their key,
-- contacts and deals by account_id and co-located with the accounts, as Citus asks of every
-- user; on one server the same tables, plain.  Some rows are there before the tables are
-- managed.  Then the tables are managed and rules written.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, country text, state text,
                       industry text, annual_revenue numeric, billing_postal_code text);
CREATE TABLE contacts (account_id bigint NOT NULL, id bigint NOT NULL, name text, PRIMARY KEY (account_id, id));
CREATE TABLE deals (account_id bigint NOT NULL, id bigint NOT NULL, amount numeric, close_date date,
                    stage text, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account_id, id));
CREATE TABLE leads (id bigint PRIMARY KEY, country text, state text, company text);
\if :distributed
SELECT create_distributed_table('accounts', 'id');
SELECT create_distributed_table('contacts', 'account_id', colocate_with => 'accounts');
SELECT create_distributed_table('deals', 'account_id', colocate_with => 'accounts');
SELECT create_distributed_table('leads', 'id');
\endif
INSERT INTO accounts
SELECT g, 'Account ' || g, (ARRAY['DE', 'FR', 'US', 'BR', 'AT', 'GB', 'JP'])[1 + g % 7],
       CASE WHEN g % 7 = 2 THEN (ARRAY['CA', 'NY', 'WA', 'TX'])[1 + g % 4] END,
       (ARRAY['Retail', 'Wholesale', 'Logistics', 'Software'])[1 + g % 4], (g % 50) * 1e6,
       lpad(((g * 7919) % 100000)::text, 5, '0')
  FROM generate_series(1, 300) g;
INSERT INTO contacts SELECT 1 + g % 300, g, 'Contact ' || g FROM generate_series(1, 400) g;

SELECT territory.manage_table('accounts', 'account', owner => NULL);
SELECT territory.manage_table('contacts', 'contact', owner => NULL);
SELECT territory.manage_table('deals', 'deal', owner => NULL);
SELECT territory.manage_table('leads', 'lead', owner => NULL);

SELECT territory.add_rule(t.id, $$country IN ('DE', 'FR', 'AT', 'GB')$$, 'EMEA countries', apply_to_children => true)
  FROM territory.territories t WHERE t.code = 'EMEA' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country IN ('DE', 'AT') AND industry IN ('Retail', 'Wholesale')$$, 'DACH trade')
  FROM territory.territories t WHERE t.code = 'DACH' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country = 'FR' AND annual_revenue BETWEEN 1e6 AND 3e7$$, 'France mid')
  FROM territory.territories t WHERE t.code = 'FR' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country = 'US'$$, 'USA')
  FROM territory.territories t WHERE t.code = 'US' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country = 'US' AND state IN ('CA', 'WA') AND billing_postal_code LIKE '9%'$$, 'West coast')
  FROM territory.territories t WHERE t.code = 'USW' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country = 'BR'$$, 'Brazil')
  FROM territory.territories t WHERE t.code = 'BR' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country = 'US'$$, 'US leads', 'leads')
  FROM territory.territories t WHERE t.code = 'US' AND t.model_id = territory.active_model();
SELECT territory.add_rule(t.id, $$country IN ('DE', 'AT')$$, 'DACH leads', 'leads')
  FROM territory.territories t WHERE t.code = 'DACH' AND t.model_id = territory.active_model();

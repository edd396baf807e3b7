-- Writes of the application through the server it runs on (test/citus/managed.pl), the same on
-- one server and through the coordinator: rows inserted one at a time, several at a time, by
-- INSERT ... SELECT and by COPY; updates that move accounts (their contacts and deals follow)
-- and that change nothing the rules read; deals inserted before their account; deletes; manual
-- assignments and exclusions; a rule added and one switched off.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
INSERT INTO accounts (id, name, country, industry, annual_revenue) VALUES (1001, 'Solo GmbH', 'DE', 'Retail', 2e6);
INSERT INTO accounts (id, name, country, state, billing_postal_code) VALUES
    (1002, 'Sunny Inc', 'US', 'CA', '94105'), (1003, 'Rain LLC', 'US', 'WA', '98101'), (1004, 'Cold AB', 'SE', NULL, '11122');
INSERT INTO accounts (id, name, country, state, industry, annual_revenue, billing_postal_code)
SELECT g, 'Bulk ' || g, (ARRAY['DE', 'FR', 'US', 'BR', 'AT'])[1 + g % 5], CASE WHEN g % 5 = 2 THEN 'CA' END,
       (ARRAY['Retail', 'Software'])[1 + g % 2], (g % 40) * 1e6, (90000 + g)::text
  FROM generate_series(2001, 2400) g;
COPY accounts (id, name, country, state, industry, annual_revenue, billing_postal_code) FROM stdin;
3001	Copy One	FR	\N	Retail	5000000	75001
3002	Copy Two	US	WA	Software	1000000	98052
3003	Copy Three	AT	\N	Wholesale	100	1010
3004	Copy Four	JP	\N	Retail	9000000	100-0001
\.
-- deals and contacts, one before its account
INSERT INTO deals (account_id, id, amount, close_date, stage)
SELECT 1 + g % 300, g, g * 100, date '2026-01-01' + g % 365, (ARRAY['Prospecting', 'Proposal', 'Closed Won'])[1 + g % 3]
  FROM generate_series(1, 500) g;
INSERT INTO deals (account_id, id, amount, close_date, stage) VALUES (4001, 501, 500, '2026-06-30', 'Proposal');
INSERT INTO contacts (account_id, id, name) VALUES (4001, 401, 'Early Contact');
INSERT INTO accounts (id, name, country) VALUES (4001, 'Late Account', 'BR');
-- moves: the account's contacts and deals follow it
UPDATE accounts SET country = 'US', state = 'CA', billing_postal_code = '94000' WHERE id IN (1, 8, 15);
UPDATE accounts SET country = 'FR', annual_revenue = 2e6 WHERE id BETWEEN 20 AND 40;
UPDATE accounts SET name = name || ' (renamed)' WHERE id % 10 = 0;
UPDATE deals SET amount = amount + 1 WHERE id % 7 = 0;
DELETE FROM accounts WHERE id IN (5, 6);
DELETE FROM deals WHERE account_id IN (5, 6);
DELETE FROM contacts WHERE account_id IN (5, 6);
-- leads
INSERT INTO leads (id, country, state, company)
SELECT g, (ARRAY['US', 'DE', 'AT', 'FR'])[1 + g % 4], NULL, 'Lead ' || g FROM generate_series(1, 200) g;
-- manual assignments and exclusions
SELECT territory.assign('accounts', '7', t.id) FROM territory.territories t
 WHERE t.code = 'BR' AND t.model_id = territory.active_model();
SELECT territory.exclude('accounts', '2004', t.id) FROM territory.territories t
 WHERE t.code = 'DACH' AND t.model_id = territory.active_model();
SELECT territory.assign('leads', '3', t.id) FROM territory.territories t
 WHERE t.code = 'FR' AND t.model_id = territory.active_model();
UPDATE accounts SET industry = 'Retail' WHERE id = 7;

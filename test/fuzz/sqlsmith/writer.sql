-- One round of the concurrent writer of scripts/run-sqlsmith, as crm_owner (the tables' owner and
-- an administrator of territories), repeated until sqlsmith is done.  Every statement is its own
-- transaction; errors are expected and counted by their SQLSTATE (VERBOSITY sqlstate).
SET territory."user" = 'admin';
SET lock_timeout = '2s';
SET statement_timeout = '10s';
SET client_min_messages = warning;
-- new accounts, leads without owner (round robin in Germany), contacts and deals
INSERT INTO accounts (id, name, billing_country, billing_city, annual_revenue, phone, owner_id)
SELECT 100000 + (random() * 1e6)::int, 'W ' || g, c, (ARRAY['Berlin', 'Paris', 'Tokyo', 'Boston', 'Nowhere'])[1 + (random() * 4)::int],
       round((random() * 90e6)::numeric, -3), '+49 30 ' || (5550000 + g), CASE WHEN random() < 0.5 THEN 'rep' || (1 + g % 16) END
  FROM generate_series(1, 3) g, LATERAL (SELECT (ARRAY['DE', 'FR', 'US', 'JP', 'XX'])[1 + (random() * 4)::int] WHERE g > 0) x(c)
ON CONFLICT (id) DO UPDATE SET billing_country = excluded.billing_country;
INSERT INTO leads (company, country, city, phone)
SELECT 'W lead', (ARRAY['DE', 'DE', 'FR', 'JP'])[1 + (random() * 3)::int], 'Berlin', '+1 416 555 0' || (100 + g)
  FROM generate_series(1, 3) g;
INSERT INTO contacts (id, account_id, full_name, phone)
SELECT 100000 + (random() * 1e6)::int, (SELECT id FROM accounts ORDER BY random() LIMIT 1), 'W contact', '+33 1 40000001'
ON CONFLICT DO NOTHING;
INSERT INTO deals (id, account_id, name, amount, close_date, stage)
SELECT 100000 + (random() * 1e6)::int, (SELECT id FROM accounts ORDER BY random() LIMIT 1), 'W deal',
       round((random() * 600000)::numeric, -2), current_date + (random() * 100)::int, 'Proposal'
ON CONFLICT DO NOTHING;
-- updates that move records between territories, and deletes (the cascade to contacts and deals)
UPDATE accounts SET billing_country = (ARRAY['DE', 'FR', 'GB', 'US', 'JP', NULL])[1 + (random() * 5)::int],
                    billing_city = (ARRAY['Munich', 'Lyon', 'London', 'Osaka', NULL])[1 + (random() * 4)::int]
 WHERE id IN (SELECT id FROM accounts ORDER BY random() LIMIT 5);
UPDATE contacts SET account_id = (SELECT id FROM accounts ORDER BY random() LIMIT 1)
 WHERE id IN (SELECT id FROM contacts ORDER BY random() LIMIT 3);
UPDATE deals SET amount = amount + 1000, stage = (ARRAY['Negotiation', 'Closed Won', 'Closed Lost'])[1 + (random() * 2)::int]
 WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT 3);
DELETE FROM deals WHERE id IN (SELECT id FROM deals WHERE id >= 100000 ORDER BY random() LIMIT 1);
DELETE FROM contacts WHERE id IN (SELECT id FROM contacts WHERE id >= 100000 ORDER BY random() LIMIT 1);
DELETE FROM accounts WHERE id IN (SELECT id FROM accounts WHERE id >= 100000 ORDER BY random() LIMIT 1);
DELETE FROM leads WHERE id IN (SELECT id FROM leads WHERE company = 'W lead' ORDER BY random() LIMIT 2);
-- rules added and removed
SELECT territory.add_rule(id, format('billing_city = %L OR annual_revenue > %s', name, (random() * 90e6)::int), 'writer')
  FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)-..-' ORDER BY random() LIMIT 1;
SELECT territory.add_rule(id, 'country = ''JP''', 'writer', 'leads') FROM territory.territories WHERE code LIKE 'APAC%' ORDER BY random() LIMIT 1;
SELECT territory.set_rule_active(id, random() < 0.5) FROM territory.rules WHERE name LIKE 'country %' ORDER BY random() LIMIT 1;
SELECT territory.remove_rule(id) FROM territory.rules WHERE name = 'writer' ORDER BY random() LIMIT 1;
-- the hierarchy: a city moves to another country (or under itself: 'cycle' errors), a territory comes and goes
SELECT territory.move_territory(c.id, p.id)
  FROM (SELECT id FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)-..-' ORDER BY random() LIMIT 1) c,
       (SELECT id FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)(-..)?$' ORDER BY random() LIMIT 1) p;
SELECT territory.move_territory(p.id, c.id)
  FROM (SELECT id FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)-..-' ORDER BY random() LIMIT 1) c,
       (SELECT id FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)-..$' ORDER BY random() LIMIT 1) p
 WHERE random() < 0.2;
SELECT territory.add_territory('Temp ' || (random() * 1000)::int, id) FROM territory.territories WHERE code = 'EMEA-DE';
SELECT territory.remove_territory(id) FROM territory.territories WHERE name LIKE 'Temp %' ORDER BY random() LIMIT 1;
SELECT territory.rename_territory(id, 'Munich ' || (random() * 10)::int) FROM territory.territories WHERE code = 'EMEA-DE-MUN';
-- people
SELECT territory.add_member(t.id, 'rep' || (1 + (random() * 15)::int), (ARRAY['member', 'manager'])[1 + (random())::int])
  FROM territory.territories t WHERE t.code ~ '^(EMEA|AMER|APAC)-' ORDER BY random() LIMIT 1;
SELECT territory.remove_member(m.territory_id, u.key)
  FROM territory.members m JOIN territory.sales_users u ON u.id = m.user_id WHERE u.key LIKE 'rep%' ORDER BY random() LIMIT 1;
SELECT territory.add_member(t.id, 'fuzz') FROM territory.territories t WHERE t.code ~ '^(AMER|APAC)-..$' ORDER BY random() LIMIT 1;
SELECT territory.remove_member(m.territory_id, 'fuzz') FROM territory.members m
 WHERE m.user_id = territory._user_id('fuzz') AND random() < 0.3 ORDER BY random() LIMIT 1;
SELECT territory.set_access(id, (ARRAY['account', 'contact', 'deal', 'lead'])[1 + (random() * 3)::int],
                            (ARRAY['none', 'read', 'edit'])[1 + (random() * 2)::int])
  FROM territory.territories WHERE code ~ '^EMEA-' ORDER BY random() LIMIT 1;
UPDATE territory.sales_users SET active = random() < 0.8 WHERE key = 'rep' || (1 + (random() * 15)::int);
-- forecasts and telephony
SELECT territory.set_target(id, territory.period_of(current_date, 'quarter'), (random() * 1e7)::int)
  FROM territory.territories WHERE code ~ '^(EMEA|AMER|APAC)-..$' ORDER BY random() LIMIT 1;
SELECT territory.adjust_forecast(id, territory.period_of(current_date, 'quarter'), 'best_case', (random() * 1e6)::int)
  FROM territory.territories WHERE code ~ '^EMEA-..$' ORDER BY random() LIMIT 1;
SELECT territory.add_phone_number('+44 20 7946 ' || (1000 + (random() * 8999)::int), id) FROM territory.territories WHERE code = 'EMEA-GB';
SELECT territory.remove_phone_number(number) FROM territory.phone_numbers WHERE number LIKE '+44207946%' ORDER BY random() LIMIT 1;
SELECT territory.set_owner_assignment(id, (ARRAY['none', 'round_robin', 'load_balanced'])[1 + (random() * 2)::int])
  FROM territory.territories WHERE code ~ '^EMEA-..$' ORDER BY random() LIMIT 1;
-- a bulk re-run now and then (small batches, so that it interleaves with everything else)
SELECT random() < 0.3 AS rerun \gset
\if :rerun
CALL territory.run_rules('accounts', 50);
CALL territory.run_rules(NULL, 200);
\endif

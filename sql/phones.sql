-- Telephony (doc/telephony.md): E.164 parsing and normalisation, the country calling codes, the
-- numbers of territories and users (territory.phone_numbers) and call routing (route_call).
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- ---------------------------------------------------------------- normalisation
-- every usual writing of one number; separators, 00, (0) after the country code, tel:, and
-- the Unicode no-break space and dash
SELECT input, territory.normalize_phone(input)
  FROM (VALUES ('+49 30 1234567'), ('+49-30-1234567'), ('+49.30.1234567'), ('+49 (30) 1234567'),
               ('+49/30/123 45 67'), ('0049 30 1234567'), ('+49 (0)30 1234567'), ('  +49 30 1234567  '),
               ('tel:+49-30-1234567'), (U&'+49\00A030\00A01234567'), (U&'+49 30 123\20134567'),
               (E'+49\t30 1234567')) AS v(input);
-- extensions are split off: normalize_phone drops them, parse_phone returns them
SELECT input, p.*
  FROM (VALUES ('+1 415 555 0100 ext. 23'), ('+1-415-555-0100x23'), ('+1 (415) 555-0100 #23'),
               ('tel:+1-415-555-0100;ext=23'), ('+1 415 555 0100 Extension: 23'), ('+1 415 555 0100 X 23')) AS v(input),
       territory.parse_phone(input) p;
-- country and region: the country of the calling code; for +1 the area code decides (US unless
-- listed; none for toll-free), for +7 the first digit (6 and 7: Kazakhstan); region is the area
-- code of +1 and +7 numbers only
SELECT input, p.number, p.calling_code, p.country, p.region
  FROM (VALUES ('+1 (415) 555-0100'), ('+1 416 555 0100'), ('+1 604 555 0100'), ('+1 876 555 0100'),
               ('+1 787 555 0100'), ('+1 671 555 0100'), ('+1 800 555 0100'), ('+1 888 555 0100'),
               ('+7 495 123-45-67'), ('+7 727 123 4567'), ('+7 701 123 4567'), ('+44 20 7946 0000'),
               ('+44 (0) 20 7946 0000'), ('+33 1 23 45 67 89'), ('+353 1 234 5678'), ('+383 44 123 456'),
               ('+262 262 12 34 56'), ('+599 9 123 4567'), ('+800 1234 5678'), ('+882 1234 5678'),
               ('+683 4002'), ('+86 10 1234 5678 901')) AS v(input),
       territory.parse_phone(input) p;
-- NULL in, NULL out
SELECT territory.normalize_phone(NULL) IS NULL AS n1, territory.try_normalize_phone(NULL) IS NULL AS n2,
       (territory.parse_phone(NULL)).number IS NULL AS n3;

-- every error names the number and says what is wrong (22023)
SELECT territory.normalize_phone('');
SELECT territory.normalize_phone(' - ');
SELECT territory.normalize_phone('+49 30 CALL NOW');
SELECT territory.normalize_phone('+1 800 FLOWERS');
SELECT territory.normalize_phone('+49 30 1234567 ext');
SELECT territory.normalize_phone('+49 30 1234+567');
SELECT territory.normalize_phone('030 1234567');
SELECT territory.normalize_phone('(415) 555-0100');
SELECT territory.normalize_phone('4930123456');
SELECT territory.normalize_phone('+');
SELECT territory.normalize_phone('+049 30 1234567');
SELECT territory.normalize_phone('0000 1234567');
SELECT territory.normalize_phone('+49 123');
SELECT territory.normalize_phone('+49 1234 5678 9012 3456');
SELECT territory.normalize_phone('+28 1234 5678');
SELECT territory.normalize_phone('+1 415 555 010');
SELECT territory.normalize_phone('+1 415 555 01000');
SELECT territory.normalize_phone('+1 115 555 0100');
SELECT territory.normalize_phone('+1 911 555 0100');
SELECT territory.normalize_phone('+1 415 155 0100');
SELECT territory.normalize_phone('+7 495 123 456');
SELECT territory.normalize_phone('030 (0) 1234567');
\echo :LAST_ERROR_SQLSTATE
-- the same inputs give NULL, without an error, to try_normalize_phone
SELECT count(*) AS rejected, count(territory.try_normalize_phone(input)) AS accepted
  FROM (VALUES (''), (' - '), ('+49 30 CALL NOW'), ('+1 800 FLOWERS'), ('+49 30 1234567 ext'), ('+49 30 1234+567'),
               ('030 1234567'), ('(415) 555-0100'), ('4930123456'), ('+'), ('+049 30 1234567'), ('0000 1234567'),
               ('+49 123'), ('+49 1234 5678 9012 3456'), ('+28 1234 5678'), ('+1 415 555 010'), ('+1 415 555 01000'),
               ('+1 115 555 0100'), ('+1 911 555 0100'), ('+1 415 155 0100'), ('+7 495 123 456'),
               ('030 (0) 1234567')) AS v(input);
-- the functions are IMMUTABLE, STRICT and PARALLEL SAFE (an index may use them)
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.oid IN ('territory.normalize_phone(text)'::regprocedure, 'territory.try_normalize_phone(text)'::regprocedure,
                 'territory.parse_phone(text)'::regprocedure)
 ORDER BY 1::text;

-- ---------------------------------------------------------------- the calling codes
-- every 1- and 2-digit code, and no code is the beginning of another (so a number has one)
SELECT count(*) AS codes, count(*) FILTER (WHERE length(code) = 1) AS one_digit,
       count(*) FILTER (WHERE length(code) = 2) AS two_digits, count(*) FILTER (WHERE country IS NULL) AS no_country
  FROM territory.calling_codes;
SELECT string_agg(code, ' ' ORDER BY code) AS short_codes FROM territory.calling_codes WHERE length(code) <= 2;
SELECT a.code, b.code FROM territory.calling_codes a JOIN territory.calling_codes b
    ON a.code <> b.code AND b.code LIKE a.code || '%';
SELECT * FROM territory.calling_codes WHERE code IN ('1', '7', '44', '262', '800') ORDER BY code;

-- ---------------------------------------------------------------- the model
-- Global > EMEA > (DACH > Berlin, France, Nordics); Americas; Key Accounts (type Named, priority 1)
SELECT territory.add_type('Named', 1) AS named \gset
SELECT territory.add_territory('Global', code => 'G') AS g \gset
SELECT territory.add_territory('EMEA', :g, code => 'EMEA') AS emea \gset
SELECT territory.add_territory('DACH', :emea, code => 'DACH') AS dach \gset
SELECT territory.add_territory('Berlin', :dach, code => 'BER') AS ber \gset
SELECT territory.add_territory('France', :emea, code => 'FR') AS fr \gset
SELECT territory.add_territory('Nordics', :emea, code => 'NORDICS') AS nordics \gset
SELECT territory.add_territory('Americas', :g, code => 'AMER') AS amer \gset
SELECT territory.add_territory('Key Accounts', code => 'KEY', type => :named) AS key \gset

SELECT territory.add_user('ana', 'Ana') IS NOT NULL AS added;     -- sells in DACH
SELECT territory.add_user('bob', 'Bob') IS NOT NULL AS added;     -- sells in France
SELECT territory.add_user('dee', 'Dee') IS NOT NULL AS added;     -- joins DACH in the future; left France
SELECT territory.add_user('eve', 'Eve') IS NOT NULL AS added;     -- France, inactive
SELECT territory.add_member(:dach, 'ana') IS NOT NULL AS added;
SELECT territory.add_member(:fr, 'bob') IS NOT NULL AS added;
SELECT territory.add_member(:dach, 'dee', valid_from => '2999-01-01') IS NOT NULL AS added;
SELECT territory.add_member(:fr, 'dee', valid_to => '2000-12-31') IS NOT NULL AS added;
SELECT territory.add_member(:fr, 'eve') IS NOT NULL AS added;
UPDATE territory.sales_users SET active = false WHERE key = 'eve';

-- ---------------------------------------------------------------- phone numbers
-- a territory's line (default kind local), a user's (default kind direct); returned normalised
SELECT territory.add_phone_number('+49 (0)30 123 45 67', :dach, kind => 'main');
SELECT territory.add_phone_number('+49 89 7654321', :dach);
SELECT territory.add_phone_number('0049-30-1234568', :dach, 'ana');
SELECT territory.add_phone_number('+49 30 1234569', :dach, 'dee', 'Mobile');
SELECT territory.add_phone_number('+33 1 23 45 67 89', :fr);
SELECT territory.add_phone_number('+33 1 11 11 11 11', :fr, 'eve');
SELECT territory.add_phone_number('+800 1234 5678', :emea, kind => 'toll_free');
SELECT territory.add_phone_number('+1 (415) 555-0100', :amer, kind => 'main');
SELECT territory.add_phone_number('+44 20 7000 0000', :key, kind => 'main');
SELECT n.number, t.code, u.key AS user_key, n.kind, n.calling_code, n.country, n.region
  FROM territory.phone_numbers n
  JOIN territory.territories t ON t.id = n.territory_id
  LEFT JOIN territory.sales_users u ON u.id = n.user_id
 ORDER BY n.number;

-- errors: a number registered already (in any writing), invalid, with an extension; a user who
-- is not a member (or no longer); unknown user, territory or kind; NULLs; an archived model
SELECT territory.add_phone_number('0049 30 1234567', :fr);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+49 30 1234568', :dach, 'ana');
SELECT territory.add_phone_number('030 1234567', :dach);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+49 30 1234567 ext. 12', :dach);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+33 1 99 99 99 99', :fr, 'ana');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+33 1 99 99 99 99', :fr, 'dee');
SELECT territory.add_phone_number('+33 1 99 99 99 99', :fr, 'zoe');
SELECT territory.add_phone_number('+33 1 99 99 99 99', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+33 1 99 99 99 99', NULL);
SELECT territory.add_phone_number(NULL, :fr);
\echo :LAST_ERROR_SQLSTATE
SELECT territory.add_phone_number('+33 1 99 99 99 99', :fr, kind => 'fax');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.create_model('Old plan') AS old \gset
SELECT territory.add_territory('Old France', code => 'OLDFR', model => :old) AS oldfr \gset
SELECT territory.archive_model(:old);
SELECT territory.add_phone_number('+33 1 99 99 99 99', :oldfr);
\echo :LAST_ERROR_SQLSTATE

-- the table directly: numbers are normalised and checked alike; a user's line needs the membership
INSERT INTO territory.phone_numbers (number, territory_id) VALUES ('0033 (0)4 72 00 00 00', :fr)
    RETURNING number, kind, calling_code, country, region;
UPDATE territory.phone_numbers SET number = '+33 4 72 00 00 01' WHERE number = '+33472000000' RETURNING number;
INSERT INTO territory.phone_numbers (number, territory_id) VALUES ('04 72 00 00 00', :fr);
INSERT INTO territory.phone_numbers (number, territory_id) VALUES ('+33 4 72 00 00 02 x5', :fr);
INSERT INTO territory.phone_numbers (number, territory_id, user_id)
    VALUES ('+33 4 72 00 00 03', :fr, (SELECT id FROM territory.sales_users WHERE key = 'ana'));
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE territory.phone_numbers SET kind = 'fax' WHERE number = '+33472000001';
\set VERBOSITY default
INSERT INTO territory.phone_numbers (number, territory_id) VALUES ('+33 4 72 00 00 01', :dach);
\echo :LAST_ERROR_SQLSTATE

-- remove: in any writing; errors for an unknown or invalid number
SELECT territory.remove_phone_number('0033 4 72 00 00 01');
SELECT territory.remove_phone_number('+33 4 72 00 00 01');
\echo :LAST_ERROR_SQLSTATE
SELECT territory.remove_phone_number('04 72 00 00 01');
\echo :LAST_ERROR_SQLSTATE

-- a user's line outlives the membership as a line of the territory; the territory's removal
-- takes its numbers
SELECT territory.add_user('fay', 'Fay') IS NOT NULL AS added;
SELECT territory.add_territory('Iberia', :emea, code => 'IB') AS ib \gset
SELECT territory.add_member(:ib, 'fay') IS NOT NULL AS added;
SELECT territory.add_phone_number('+34 91 123 45 67', :ib, 'fay');
SELECT territory.add_phone_number('+34 91 123 45 68', :ib);
SELECT territory.remove_member(:ib, 'fay');
SELECT number, user_id, kind FROM territory.phone_numbers WHERE territory_id = :ib ORDER BY number;
SELECT territory.remove_territory(:ib);
SELECT count(*) AS left_over FROM territory.phone_numbers WHERE number LIKE '+34%';

-- pg_dump keeps the numbers
SELECT c.relname, x.condition
  FROM pg_extension e
 CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(config, condition)
  JOIN pg_class c ON c.oid = x.config
 WHERE e.extname = 'territory' AND c.relname = 'phone_numbers';

-- ---------------------------------------------------------------- the callers
-- accounts, contacts and leads with phone numbers, stored as people type them
CREATE TABLE accounts (id int PRIMARY KEY, name text, country text, key_account bool DEFAULT false, phone text);
CREATE TABLE contacts (id int PRIMARY KEY, account_id int, name text, phone varchar(40));
CREATE TABLE leads (id int PRIMARY KEY, name text, country text, phone text);
SELECT territory.manage_table('accounts', 'account', owner => NULL, phone => 'phone');
SELECT territory.manage_table('contacts', 'contact', owner => NULL, phone => 'phone');
SELECT territory.manage_table('leads', 'lead', owner => NULL, phone => 'phone');
SELECT territory.add_rule(:dach, $$country = 'DE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:ber, $$country = 'DE-BE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:dach, $$country = 'DE-BE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:fr, $$country = 'FR'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:nordics, $$country = 'SE'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:emea, $$country = 'EU'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:amer, $$country = 'US'$$) IS NOT NULL AS added;
SELECT territory.add_rule(:key, $$key_account$$) IS NOT NULL AS added;
SELECT territory.add_rule(:amer, $$country = 'US'$$, tbl => 'leads') IS NOT NULL AS added;
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads') IS NOT NULL AS added;
INSERT INTO accounts VALUES
    (1, 'Bosch', 'DE', false, '+49 711 400 40990'),
    (2, 'Spree', 'DE-BE', false, '+49 (0)30 555 1234'),
    (3, 'Renault', 'FR', false, '+33 1 76 84 04 04'),
    (4, 'Volvo', 'SE', false, '+46 31 66 00 00'),
    (5, 'Acme', 'US', false, '+1 650 555 0199'),
    (6, 'Nowhere', 'AU', false, '+61 2 9999 0000'),
    (7, 'Euro Corp', 'EU', false, '+32 2 555 00 00'),
    (8, 'Total', 'FR', true, '+33 1 47 44 45 46'),
    (9, 'Messy', 'DE', false, '0711 / 400 40990');
INSERT INTO contacts VALUES
    (1, 3, 'Claire', '+44 20 7946 0001'),          -- Renault, France; also lead 1 (Americas)
    (2, 1, 'Hans', '0049 711 400 40991'),           -- Bosch, DACH
    (3, 2, 'Greta', '+49 30 555 1234 x12');         -- Spree, Berlin; the account's number too
INSERT INTO leads VALUES
    (1, 'Claire again', 'US', '+44 (0)20 7946 0001');
SELECT id, name, territories FROM accounts ORDER BY id;
SELECT id, territories FROM contacts ORDER BY id;
SELECT id, territories FROM leads ORDER BY id;

-- ---------------------------------------------------------------- routing
-- a user's line rings the user; the number is given in any writing; no caller number
SELECT * FROM territory.route_call('+49 30 1234568', NULL);
SELECT * FROM territory.route_call('0049 (0)30 1234568', '');
-- a territory's line rings the territory (user_key NULL); caller unknown, or not a valid number
SELECT * FROM territory.route_call('+49 30 1234567', '+1 202 555 0111');
SELECT * FROM territory.route_call('+49 30 1234567', 'anonymous');
-- a user's line whose user is not a current member, or is inactive, rings the territory's line
SELECT * FROM territory.route_call('+49 30 1234569', NULL);
SELECT * FROM territory.route_call('+33 1 11 11 11 11', NULL);
-- ... through the nearest ancestor with a line; none at all: nothing to ring
SELECT territory.add_user('gus', 'Gus') IS NOT NULL AS added;
SELECT territory.add_member(:ber, 'gus', valid_from => '2999-01-01') IS NOT NULL AS added;
SELECT territory.add_phone_number('+49 30 9999999', :ber, 'gus');
SELECT * FROM territory.route_call('+49 30 9999999', NULL);
SELECT territory.add_territory('Partners', code => 'PARTNERS') AS partners \gset
SELECT territory.add_member(:partners, 'gus', valid_from => '2999-01-01') IS NOT NULL AS added;
SELECT territory.add_phone_number('+49 30 8888888', :partners, 'gus');
SELECT * FROM territory.route_call('+49 30 8888888', NULL);
-- an extension dialed is not part of the number
SELECT territory_id, user_key, ring FROM territory.route_call('+49 30 1234568 ext. 7', NULL);
-- the caller in the same territory, in a territory below it, above it: no transfer
SELECT * FROM territory.route_call('+49 30 1234567', '+49 711 400 40990');
SELECT * FROM territory.route_call('+49 30 1234567', '+49 30 5551234');
SELECT * FROM territory.route_call('+33 1 23 45 67 89', '+32 2 555 00 00');
-- the caller of another territory: transfer to its line (the main one before the local one)
SELECT * FROM territory.route_call('+49 30 1234567', '+33 1 76 84 04 04');
SELECT * FROM territory.route_call('+33 1 23 45 67 89', '+49 711 400 40990');
-- a contact: named with its account
SELECT * FROM territory.route_call('+33 1 23 45 67 89', '+49 711 400 40991');
-- the caller's territory has no line: the nearest line above it, but not one above the
-- dialed territory too (EMEA's is not a transfer away from France)
SELECT * FROM territory.route_call('+1 415 555 0100', '+46 31 66 00 00');
SELECT * FROM territory.route_call('+33 1 23 45 67 89', '+46 31 66 00 00');
-- the caller in no territory
SELECT * FROM territory.route_call('+49 30 1234567', '+61 2 9999 0000');
-- a record in two territories: the one deals would get (type priority first: Key Accounts)
SELECT * FROM territory.route_call('+49 30 1234567', '+33 1 47 44 45 46');
-- a number in two tables: contacts first, then leads, accounts; a record near the dialed
-- territory keeps the call
SELECT * FROM territory.route_call('+49 30 1234567', '+44 20 7946 0001');
SELECT * FROM territory.route_call('+1 415 555 0100', '+44 20 7946 0001');
SELECT * FROM territory.route_call('+33 1 23 45 67 89', '+49 30 5551234');
-- an unknown dialed number: no territory, nothing to ring; a known caller still gets a transfer
SELECT * FROM territory.route_call('+49 40 999999', '+33 1 76 84 04 04');
SELECT * FROM territory.route_call('+49 40 999999', NULL);
-- errors: the dialed number must be valid
SELECT * FROM territory.route_call('12345', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM territory.route_call(NULL, '+33 1 76 84 04 04');
\echo :LAST_ERROR_SQLSTATE

-- the documented index serves the look-up of callers
CREATE INDEX contacts_phone_idx ON contacts (territory.try_normalize_phone(phone));
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM contacts WHERE territory.try_normalize_phone(phone) = '+442079460001';
RESET enable_seqscan;

-- ---------------------------------------------------------------- privileges
-- route_call is for the roles the DBA grants it to; they need no privilege on the tables, and
-- row-level security of the managed tables does not hide callers from it
CREATE ROLE regress_phone_telephony;
SELECT territory.enable_visibility('contacts');
SET ROLE regress_phone_telephony;
SELECT * FROM territory.route_call('+49 30 1234567', '+44 20 7946 0001');
SELECT territory.normalize_phone('+49 30 1234567') AS everyone_may_normalise;
SELECT territory.add_phone_number('+49 30 7777777', 1);
RESET ROLE;
GRANT EXECUTE ON FUNCTION territory.route_call(text, text) TO regress_phone_telephony;
SET ROLE regress_phone_telephony;
SELECT * FROM territory.route_call('+49 30 1234567', '+44 20 7946 0001');
SELECT count(*) FROM contacts;
RESET ROLE;

-- ---------------------------------------------------------------- another model
-- after a clone of the model is activated, the numbers left on the old territories serve the
-- territories of the same code in the active model: the dialed one and the one to transfer to
BEGIN;
SELECT territory.clone_model(territory.active_model(), 'Next year') AS next \gset
SELECT territory.activate_model(:next);
SELECT t.code, t.model_id = :next AS active_model, r.user_key, r.ring, r.transfer_to
  FROM territory.route_call('+49 30 1234568', '+33 1 76 84 04 04') r
  JOIN territory.territories t ON t.id = r.territory_id;
SELECT reason FROM territory.route_call('+49 30 1234568', '+33 1 76 84 04 04');
-- a number on a territory whose code the active model does not have stays there
SELECT territory.remove_territory(id) FROM territory.territories WHERE model_id = :next AND code = 'KEY';
SELECT territory_id = :key AS old_territory, ring, reason FROM territory.route_call('+44 20 7000 0000', NULL);
ROLLBACK;

DROP TABLE accounts, contacts, leads;
DROP EXTENSION territory;
DROP ROLE regress_phone_telephony;

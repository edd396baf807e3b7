-- The demo's owner assignment and telephony: Germany hands new leads out by round robin over its
-- reps, and has a phone line; one rep has a direct line.

SELECT territory.add_user('rep' || i, 'Rep ' || i, manager => 'mgr-emea') FROM generate_series(41, 42) i;
SELECT territory.add_member(t.id, 'rep' || i) FROM territory.territories t, generate_series(41, 42) i
 WHERE t.code = 'EMEA-DE';
SELECT territory.set_owner_assignment(id, 'round_robin') FROM territory.territories WHERE code = 'EMEA-DE';
SELECT territory.add_phone_number('+49 30 1234567', id, kind => 'main') FROM territory.territories WHERE code = 'EMEA-DE';
SELECT territory.add_phone_number('+33 (0)1 23 45 67 89', id) FROM territory.territories WHERE code = 'EMEA-FR';
SELECT territory.add_phone_number('+49 30 1234599', id, 'rep41') FROM territory.territories WHERE code = 'EMEA-DE';

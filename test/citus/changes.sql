-- Changes made through the coordinator after the configuration is on every node
-- (test/citus/cluster.pl): territories added, renamed and moved, members added and removed, an
-- access level changed, sales users added with and without a manager and a manager changed,
-- stages added without a position, renamed and removed, a model cloned and its copy changed.
-- Their triggers run on every node's placements (doc/citus.md, "What runs where").
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT territory.add_territory('Nordics', id, 'NORD') FROM territory.territories
 WHERE code = 'EMEA' AND model_id = territory.active_model();
UPDATE territory.territories SET name = 'Brasil' WHERE code = 'BR';
SELECT territory.add_member(id, 'kim') FROM territory.territories
 WHERE code = 'NORD' AND model_id = territory.active_model();
DELETE FROM territory.members WHERE user_id = (SELECT id FROM territory.sales_users WHERE key = 'dave');
SELECT territory.set_access(id, 'deal', 'read') FROM territory.territories
 WHERE code = 'DACH' AND model_id = territory.active_model();
SELECT territory.add_user('zed', 'Zed Zero');
SELECT territory.add_member(id, 'zed') FROM territory.territories
 WHERE code = 'FR' AND model_id = territory.active_model();
-- a move bumps the model's version and is checked for cycles
SELECT territory.move_territory(u.id, e.id) FROM territory.territories u, territory.territories e
 WHERE u.code = 'USW' AND e.code = 'EMEA' AND u.model_id = territory.active_model() AND e.model_id = u.model_id;
BEGIN;
UPDATE territory.territories SET parent_id = (SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model())
 WHERE code = 'NORD' AND model_id = territory.active_model();
UPDATE territory.territories SET parent_id = (SELECT id FROM territory.territories WHERE code = 'AMER' AND model_id = territory.active_model())
 WHERE code = 'NORD' AND model_id = territory.active_model();
COMMIT;
-- managers: a new user under one, a manager changed (the walk for cycles reads the users)
SELECT territory.add_user('yan', 'Yan Yu', manager => 'kim');
UPDATE territory.sales_users SET manager_id = (SELECT id FROM territory.sales_users WHERE key = 'adam') WHERE key = 'kim';
UPDATE territory.sales_users SET manager_id = NULL WHERE key = 'fred';
-- stages: one added after the last, an installed one renamed, one removed
INSERT INTO territory.stages (stage, category, probability) VALUES ('Pilot', 'best_case', 65);
UPDATE territory.stages SET stage = 'Proposal sent' WHERE stage = 'Proposal';
DELETE FROM territory.stages WHERE stage = 'Verbal';
-- a model cloned, a territory of the copy added and one removed, then archived
SELECT territory.clone_model(territory.active_model(), 'next year') AS next \gset
SELECT territory.add_territory('Benelux', t.id, 'BNL') FROM territory.territories t WHERE t.model_id = :next AND t.code = 'EMEA';
SELECT territory.remove_territory(t.id) FROM territory.territories t WHERE t.model_id = :next AND t.code = 'BR';
SELECT territory.archive_model(:next);

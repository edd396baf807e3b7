-- Changes made through the coordinator after the configuration is on every node
-- (test/citus/cluster.pl): a territory added and one renamed, a member added and the
-- memberships of a user removed, an access level changed, a user added (without a manager) and
-- made a member.  (What does not work on a cluster yet
-- is in doc/citus.md, "Limits".)
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

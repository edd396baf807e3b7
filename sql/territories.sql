-- Territory types and territories: the API, direct changes of the tables, and their errors.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- types
SELECT territory.add_type('Named Accounts', 1);
SELECT territory.add_type('Region', 2);
SELECT territory.add_type('Region', 3);
SELECT territory.add_type('Overlay', 2);
SELECT territory.add_type('Overlay', 0);
SELECT territory.add_type(' ', 4);
SELECT name, priority FROM territory.territory_types ORDER BY priority;
-- priorities are unique, but may be swapped inside a transaction
BEGIN;
SET CONSTRAINTS territory.territory_types_priority_key DEFERRED;
UPDATE territory.territory_types SET priority = 2 WHERE name = 'Named Accounts';
UPDATE territory.territory_types SET priority = 1 WHERE name = 'Region';
COMMIT;
SELECT name, priority FROM territory.territory_types ORDER BY priority;
UPDATE territory.territory_types SET priority = 1 WHERE name = 'Named Accounts';

-- territories: model from the parent, else the active model; codes generated when omitted
SELECT territory.add_territory('Global') AS g \gset
SELECT territory.add_territory('North America', :g) AS na \gset
SELECT territory.add_territory('Central', :na) AS central \gset
SELECT territory.add_territory('Côte d''Azur', :g) AS azur \gset
SELECT territory.add_territory('  Padded  ', :g, code => '  PAD  ') AS padded \gset
SELECT territory.add_territory('Central', :g) AS central2 \gset
SELECT territory.add_territory('***', :g) AS stars \gset
SELECT model_id, name, code FROM territory.territories ORDER BY id;

-- errors: unknown parent, type or model; parent in another model; duplicate code; empty name
SELECT territory.add_territory('X', 999);
SELECT territory.add_territory('X', :g, type => 999);
SELECT territory.add_territory('X', model => 999);
SELECT territory.create_model('other') AS other \gset
SELECT territory.add_territory('X', :g, model => :other);
SELECT territory.add_territory('X', :g, code => 'GLOBAL');
SELECT territory.add_territory('');
SELECT territory.add_territory(NULL);
SELECT count(*) AS territories FROM territory.territories;

-- the same code may exist in another model
SELECT territory.add_territory('Global', model => :other) IS NOT NULL AS added;
SELECT model_id, code FROM territory.territories WHERE code = 'GLOBAL' ORDER BY model_id;

-- direct inserts are validated and completed like the API's
INSERT INTO territory.territories (parent_id, name) VALUES (:na, 'Mountain')
    RETURNING model_id, name, code;
INSERT INTO territory.territories (parent_id, name) VALUES (999, 'Nowhere');
INSERT INTO territory.territories (model_id, parent_id, name) VALUES (:other, :g, 'Crossed');
INSERT INTO territory.territories (model_id, parent_id, name) VALUES (1, 999, 'Dangling');
\set VERBOSITY terse
INSERT INTO territory.territories (name, code) VALUES ('', 'EMPTY');
\set VERBOSITY default
-- a parent inserted later in the same statement is fine
INSERT INTO territory.territories (id, model_id, parent_id, name)
    VALUES (1001, 1, 1000, 'Child first'), (1000, 1, :g, 'Parent second');
SELECT path FROM territory.tree() WHERE id IN (1000, 1001) ORDER BY id;

-- moves
SELECT territory.move_territory(:central, :g);
SELECT territory.path(:central);
SELECT territory.move_territory(:central, :na);
SELECT territory.move_territory(:na, NULL);
SELECT territory.depth(:na), territory.depth(:central), territory.path(:central);
SELECT territory.move_territory(:na, :g);
-- cycles are refused, whoever tries
SELECT territory.move_territory(:g, :central);
SELECT territory.move_territory(:g, :g);
UPDATE territory.territories SET parent_id = :central WHERE id = :na;
\set VERBOSITY terse
UPDATE territory.territories SET parent_id = id WHERE id = :na;
\set VERBOSITY default
-- two rows that form a cycle only together, in one statement
UPDATE territory.territories
   SET parent_id = CASE id WHEN :na THEN 1000 ELSE :na END
 WHERE id IN (:na, 1000);
SELECT territory.move_territory(999, :g);
SELECT territory.move_territory(:na, 999);
SELECT territory.move_territory(:na, (SELECT id FROM territory.territories WHERE model_id = :other));
UPDATE territory.territories SET model_id = :other WHERE id = :na;
UPDATE territory.territories SET id = 5000 WHERE id = :na;
SELECT path FROM territory.tree() ORDER BY path;
-- every move is recorded against the model (it serializes moves)
SELECT version > 0 AS moved FROM territory.models WHERE id = 1;

-- rename and remove
SELECT territory.rename_territory(:na, 'North America & Caribbean');
SELECT territory.path(:central);
SELECT territory.rename_territory(:na, '');
SELECT territory.rename_territory(999, 'x');
SELECT territory.remove_territory(:na);
SELECT territory.remove_territory(:g);
SELECT territory.remove_territory(999);
SELECT territory.remove_territory(:stars);
SELECT count(*) AS left FROM territory.territories WHERE id = :stars;
DELETE FROM territory.territories WHERE id = :g;
-- a whole subtree may go in one statement
DELETE FROM territory.territories WHERE id IN (1000, 1001);
SELECT count(*) FROM territory.territories WHERE id IN (1000, 1001);
-- types in use stay; unused ones may go
SELECT territory.add_type('Overlay', 3) AS overlay \gset
SELECT territory.add_territory('Typed', :g, type => :overlay) IS NOT NULL AS typed;
DELETE FROM territory.territory_types WHERE id = :overlay;
DELETE FROM territory.territory_types WHERE name = 'Region';
SELECT name FROM territory.territory_types ORDER BY priority;

DROP EXTENSION territory;

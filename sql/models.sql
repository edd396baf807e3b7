-- Models: the default model, at most one active, create, clone and archive.
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT id, name, state, activated_at IS NOT NULL AS activated, archived_at IS NULL AS not_archived
  FROM territory.models;
SELECT territory.active_model();

SELECT territory.create_model('FY2027 plan');
SELECT territory.create_model(' FY2028 ');           -- trimmed
SELECT name, state FROM territory.models ORDER BY id;

-- errors: nothing changes
SELECT territory.create_model('FY2027 plan');
SELECT territory.create_model('');
SELECT territory.create_model(NULL);

-- at most one active model, enforced by the database itself
UPDATE territory.models SET state = 'active' WHERE name = 'FY2027 plan';
INSERT INTO territory.models (name, state) VALUES ('second', 'active');
\set VERBOSITY terse
UPDATE territory.models SET state = 'retired' WHERE id = 1;
\set VERBOSITY default
SELECT count(*) FILTER (WHERE state = 'active') AS active FROM territory.models;

-- clone copies the hierarchy: names, codes, types and structure, with new ids
SELECT territory.add_type('Region', 1) AS region \gset
SELECT territory.add_territory('Global') AS g \gset
SELECT territory.add_territory('EMEA', :g, type => :region) AS emea \gset
SELECT territory.add_territory('DACH', :emea, code => 'DACH') AS dach \gset
SELECT territory.add_territory('Americas', :g, type => :region) AS amer \gset
SELECT territory.add_territory('Partners') AS partners \gset
SELECT territory.clone_model(1, 'FY2027 draft') AS draft \gset
SELECT name, state FROM territory.models WHERE id = :draft;
SELECT depth, name, code, path FROM territory.tree(:draft);
SELECT count(*) AS shared_ids
  FROM territory.territories a JOIN territory.territories b USING (id)
 WHERE a.model_id = 1 AND b.model_id = :draft;
SELECT t.code, ty.name AS type
  FROM territory.territories t LEFT JOIN territory.territory_types ty ON ty.id = t.type_id
 WHERE t.model_id = :draft ORDER BY t.code;
-- the clone is independent of its source
SELECT territory.add_territory('LATAM', (SELECT id FROM territory.territories
                                           WHERE model_id = :draft AND code = 'AMERICAS')) AS latam \gset
SELECT count(*) AS source_territories FROM territory.tree(1);
SELECT count(*) AS clone_territories FROM territory.tree(:draft);
-- cloning an empty model, and errors
SELECT count(*) FROM territory.tree(territory.clone_model(2, 'empty copy'));
SELECT territory.clone_model(999, 'nothing');
SELECT territory.clone_model(1, 'FY2027 draft');
SELECT territory.clone_model(NULL, 'x');

-- archive: the active model cannot be archived; archiving is idempotent; archived is read-only
SELECT territory.archive_model(1);
SELECT territory.archive_model(999);
SELECT territory.archive_model(:draft);
SELECT territory.archive_model(:draft);
SELECT state, archived_at IS NOT NULL AS stamped FROM territory.models WHERE id = :draft;
SELECT territory.add_territory('Late', model => :draft);
SELECT territory.rename_territory(:latam, 'Latin America');
DELETE FROM territory.territories WHERE id = :latam;
SELECT name FROM territory.territories WHERE id = :latam;
-- a row dated before the model was archived may still be inserted (a restore loads the
-- territories and rules of an archived model after its row), a new one not
INSERT INTO territory.territories (model_id, name, code) VALUES (:draft, 'New', 'NEW');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO territory.territories (model_id, name, code, created_at)
    SELECT :draft, 'Restored', 'RESTORED', archived_at - interval '1 day' FROM territory.models WHERE id = :draft
    RETURNING name, code;
BEGIN;
CREATE TABLE arch_accounts (id int PRIMARY KEY, country text, owner_id text);
SELECT territory.manage_table('arch_accounts', 'account');
SAVEPOINT refused;
INSERT INTO territory.rules (territory_id, tbl, name, criteria)
    SELECT id, 'arch_accounts', 'new', $$country = 'BR'$$ FROM territory.territories WHERE code = 'RESTORED';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO refused;
INSERT INTO territory.rules (territory_id, tbl, name, criteria, created_at)
    SELECT t.id, 'arch_accounts', 'restored', $$country = 'BR'$$, m.archived_at - interval '1 day'
      FROM territory.territories t JOIN territory.models m ON m.id = t.model_id WHERE t.code = 'RESTORED'
    RETURNING name, criteria;
SAVEPOINT refused;
UPDATE territory.rules SET criteria = $$country = 'AR'$$ WHERE name = 'restored';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO refused;
ROLLBACK;

-- tree() of the active model when no model is active
BEGIN;
UPDATE territory.models SET state = 'planning' WHERE id = 1;
SELECT * FROM territory.tree();
ROLLBACK;
BEGIN;
UPDATE territory.models SET state = 'planning' WHERE id = 1;
SELECT territory.add_territory('Orphan');
ROLLBACK;
SELECT * FROM territory.tree(999);

-- a restore: every model is dumped, the install's default too; a model inserted with the id of the
-- default replaces it while it has no territories (its state and stamps kept), never otherwise
SELECT c.relname, x.condition FROM pg_extension e
 CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(config, condition)
  JOIN pg_class c ON c.oid = x.config
 WHERE e.extname = 'territory' AND c.relname = 'models';
INSERT INTO territory.models (id, name, state, activated_at) VALUES (1, 'default', 'planning', '2026-01-01');
DELETE FROM territory.territories WHERE model_id = 1;
BEGIN;
INSERT INTO territory.models (id, name, state, activated_at, archived_at)
    VALUES (1, 'default', 'archived', '2026-01-01', '2026-02-01');
SELECT id, name, state, activated_at, archived_at FROM territory.models WHERE id = 1;
ROLLBACK;

DROP EXTENSION territory;

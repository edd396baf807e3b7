-- Re-running the rules: CALL territory.run_rules(), progress in territory.rule_runs, resuming
-- an interrupted run, compute_territories().
CREATE EXTENSION territory;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE accounts (id int PRIMARY KEY, country text, owner_id text);
CREATE TABLE leads (id text PRIMARY KEY, country text, owner_id text);
INSERT INTO accounts SELECT g, (ARRAY['DE', 'FR', 'US'])[1 + g % 3], 'u' FROM generate_series(1, 25) g;
INSERT INTO leads SELECT 'L' || g, (ARRAY['DE', 'FR'])[1 + g % 2], 'u' FROM generate_series(1, 6) g;
SELECT territory.manage_table('accounts', 'account');
SELECT territory.manage_table('leads', 'lead');
SELECT territory.add_territory('Germany', code => 'DE') AS de \gset
SELECT territory.add_territory('France', code => 'FR') AS fr \gset
SELECT territory.add_rule(:de, $$country = 'DE'$$);
SELECT territory.add_rule(:fr, $$country = 'FR'$$, tbl => 'leads');

-- rules added after the records: nothing changes until the rules are run
SELECT count(*) FILTER (WHERE territories <> '{}') AS assigned FROM accounts;
-- what a record would get now, without writing it
SELECT id, country, territory.compute_territories('accounts', a) FROM accounts a WHERE id <= 3 ORDER BY id;
SELECT territory.compute_territories('accounts', l) FROM leads l LIMIT 1;
SELECT territory.compute_territories('territory.models', m) FROM territory.models m;

-- every managed table, in batches; only changed records are written
CALL territory.run_rules(batch_size => 10);
SELECT tbl, state, batch_size, total, processed, changed, next_block, passes
  FROM territory.rule_runs ORDER BY id;
SELECT country, territories, count(*) FROM accounts GROUP BY 1, 2 ORDER BY 1;
SELECT id, territories FROM leads ORDER BY id;
-- a second run changes nothing
CALL territory.run_rules('accounts');
SELECT count(*) AS history_rows FROM territory.assignment_history;

-- an interrupted run (its row still says running) resumes at the block it had reached: a new
-- rule, then a run that had read block 0 (as a crash would leave it) goes on from block 1, past
-- the end of this small table: the records of block 0 are not read again
SELECT territory.add_rule(:de, $$country = 'US'$$) AS us_rule \gset
UPDATE territory.rule_runs SET state = 'running', finished_at = NULL, next_block = 1, processed = 25, scanned = false,
       restart = false
 WHERE id = (SELECT max(id) FROM territory.rule_runs WHERE tbl = 'accounts'::regclass);
CALL territory.run_rules('accounts', 100);
SELECT state, processed, changed, next_block FROM territory.rule_runs
 WHERE id = (SELECT max(id) FROM territory.rule_runs WHERE tbl = 'accounts'::regclass);
SELECT array_agg(id ORDER BY id) AS us_in_germany FROM accounts WHERE country = 'US' AND territories = '{1}';
-- a configuration change marks running runs to start over
UPDATE territory.rule_runs SET state = 'running', finished_at = NULL
 WHERE id = (SELECT max(id) FROM territory.rule_runs WHERE tbl = 'accounts'::regclass);
SELECT territory.set_rule_active(:us_rule, true);
SELECT restart FROM territory.rule_runs WHERE state = 'running';
CALL territory.run_rules('accounts', 100);
SELECT state, passes, processed FROM territory.rule_runs
 WHERE id = (SELECT max(id) FROM territory.rule_runs WHERE tbl = 'accounts'::regclass);
SELECT array_agg(id ORDER BY id) AS us_in_germany FROM accounts WHERE country = 'US' AND territories = '{1}';

-- models: a clone copies rules (printed back) and manual assignments; preview, then activate
SELECT territory.assign('accounts', '1', :fr);
SELECT territory.clone_model(1, 'next year') AS next \gset
SELECT t.code, r.name, r.criteria, r.active FROM territory.rules r JOIN territory.territories t ON t.id = r.territory_id
 WHERE t.model_id = :next ORDER BY r.id;
SELECT m.key, t.code, m.action FROM territory.manual_assignments m JOIN territory.territories t ON t.id = m.territory_id
 WHERE t.model_id = :next;
-- next year, the US go to France instead of Germany
UPDATE territory.rules r SET territory_id = (SELECT id FROM territory.territories WHERE model_id = :next AND code = 'FR')
  FROM territory.territories t
 WHERE t.id = r.territory_id AND t.model_id = :next AND r.criteria LIKE '%US%';
SELECT p.tbl, count(*) AS changes, min(p.key) AS first_key,
       (SELECT array_agg(code ORDER BY code) FROM territory.territories WHERE id = ANY (min(p.proposed))) AS proposed
  FROM territory.preview_model(:next) p GROUP BY p.tbl ORDER BY p.tbl::text;
SELECT key, current, proposed FROM territory.preview_model(:next) WHERE tbl = 'accounts'::regclass ORDER BY key::int LIMIT 3;
-- nothing changed yet
SELECT count(*) AS in_next_year FROM accounts a, unnest(a.territories) t
 WHERE t IN (SELECT id FROM territory.territories WHERE model_id = :next);
SELECT territory.activate_model(:next);
SELECT id, name, state FROM territory.models ORDER BY id;
SELECT t.code, count(*) FROM accounts a, unnest(a.territories) x JOIN territory.territories t ON t.id = x
 GROUP BY t.code ORDER BY t.code;
SELECT count(*) AS stale FROM accounts a WHERE territories IS DISTINCT FROM territory.compute_territories('accounts', a);
SELECT count(*) AS left_to_change FROM territory.preview_model(:next);
SELECT territory.activate_model(:next);
SELECT territory.activate_model(1);
SELECT territory.activate_model(999);

-- errors
CALL territory.run_rules('accounts', 0);
CALL territory.run_rules('territory.models');

DROP EXTENSION territory CASCADE;
DROP TABLE accounts, leads;

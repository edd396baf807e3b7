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
-- the preview lists the records that move (their territories' codes change), not those whose
-- territories only have new ids in the new model, with what they leave and enter
SELECT p.tbl, count(*) AS changes, min(p.key) AS first_key
  FROM territory.preview_model(:next) p GROUP BY p.tbl ORDER BY p.tbl::text;
SELECT key, leaving_codes, leaving_names, entering_codes, entering_names,
       (SELECT array_agg(t.model_id ORDER BY t.code) FROM territory.territories t WHERE t.id = ANY (proposed)) AS proposed_models
  FROM territory.preview_model(:next) ORDER BY tbl::text, key;
-- against plain SQL: the accounts whose codes differ between what they have and what the model gives
SELECT count(*) AS oracle_moves, count(*) = (SELECT count(*) FROM territory.preview_model(:next) p
                                               WHERE p.tbl = 'accounts'::regclass) AS preview_agrees
  FROM accounts a
 WHERE (SELECT array_agg(DISTINCT t.code ORDER BY t.code) FROM territory.territories t WHERE t.id = ANY (a.territories))
       IS DISTINCT FROM
       (SELECT array_agg(DISTINCT t.code ORDER BY t.code) FROM territory.territories t
         WHERE t.id = ANY (territory._compute_territories_in('accounts', a, :next)));
-- a renamed territory is named as in each model
SELECT territory.rename_territory((SELECT id FROM territory.territories WHERE model_id = :next AND code = 'FR'), 'France (2027)');
SELECT DISTINCT entering_codes, entering_names FROM territory.preview_model(:next) WHERE entering_codes = '{FR}';
-- nothing changed yet
SELECT count(*) AS in_next_year FROM accounts a, unnest(a.territories) t
 WHERE t IN (SELECT id FROM territory.territories WHERE model_id = :next);
SELECT coalesce(max(id), 0) AS before_activation FROM territory.assignment_log \gset
SELECT territory.activate_model(:next);
SELECT id, name, state FROM territory.models ORDER BY id;
-- the activation's history: the records that keep their territories get the new model's ids for
-- them (cause model), those that move are moved by the new model's rules
SELECT h.tbl, h.action, h.cause, count(*), count(DISTINCT h.key) AS records
  FROM territory.assignment_history h WHERE h.id > :before_activation GROUP BY 1, 2, 3 ORDER BY h.tbl::text, 2, 3;
SELECT h.key, t.code, t.model_id, h.action, h.cause, h.rule_id IS NOT NULL AS by_a_rule
  FROM territory.assignment_history h JOIN territory.territories t ON t.id = h.territory_id
 WHERE h.id > :before_activation AND h.tbl = 'accounts'::regclass AND h.key IN ('1', '2', '3')
 ORDER BY h.key, h.action, t.code;
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

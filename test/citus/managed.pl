# Managed tables that Citus distributes answer as on one server.  The same configuration
# (config.sql) on one server and through a cluster's coordinator, territory.enable_citus(); the
# application's tables (schema.sql) plain on the server and, on the cluster, accounts and leads
# distributed by their key, contacts and deals by account_id co-located with the accounts; the
# same writes (records.sql) through each.  Every record's territories, and explain(), are the
# same through the coordinator as on the server.  manage_table() refuses, saying why, a contact
# or deal table that is not co-located with the accounts.  Skipped when Citus is not installed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../servers/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TerritoryServer;
use lib "$FindBin::RealBin/lib";
use CitusCluster;

my $db = 'crm';
my ($single, $coordinator, @workers) = citus_servers($db);

my $config = slurp_file("$FindBin::RealBin/config.sql");
my $schema = slurp_file("$FindBin::RealBin/schema.sql");
my $records = slurp_file("$FindBin::RealBin/records.sql");
for my $node ($single, $coordinator)
{
	my ($ret, $out, $err) = run_sql($node, $db, $config);
	is($ret, 0, $node->name . ': the configuration is written') or diag($err);
}
my ($ret, $out, $err) = run_sql($coordinator, $db, 'SET client_min_messages = warning; SELECT territory.enable_citus()');
is($ret, 0, 'enable_citus()') or diag($err);

# contact and deal tables must be distributed by their account, co-located with the accounts
($ret, $out, $err) = run_sql($coordinator, $db, q{
	SET client_min_messages = warning;
	CREATE TABLE wrong_accounts (id bigint NOT NULL, name text, country text);
	SELECT create_distributed_table('wrong_accounts', 'name');
	CREATE TABLE wrong_deals (account_id bigint NOT NULL, id bigint NOT NULL, amount numeric, close_date date,
	                          stage text, created_at date, PRIMARY KEY (account_id, id));
	SELECT create_distributed_table('wrong_deals', 'id');
	CREATE TABLE plain_deals (account_id bigint NOT NULL, id bigint NOT NULL, amount numeric, close_date date,
	                          stage text, created_at date);
});
is($ret, 0, 'tables distributed the wrong way') or diag($err);
is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('wrong_accounts', 'account', owner => NULL)}),
	'55000', 'an account table distributed by another column than its key is refused');
like((run_sql($coordinator, $db, q{SELECT territory.manage_table('wrong_accounts', 'account', owner => NULL)}))[2],
	qr/distributed by "name", not by its key "id"/, 'and the error says why');

($ret, $out, $err) = run_sql($single, $db, "\\set distributed off\n" . $schema);
is($ret, 0, 'single: the tables are made, managed and ruled') or diag($err);
($ret, $out, $err) = run_sql($coordinator, $db, "\\set distributed on\n" . $schema);
is($ret, 0, 'coordinator: the tables are distributed, managed and ruled') or diag($err);
is($coordinator->safe_psql($db, q{SELECT string_agg(logicalrelid::text || ':' || column_to_column_name(logicalrelid, partkey), ' ' ORDER BY logicalrelid::text)
	  FROM pg_dist_partition WHERE logicalrelid::text IN ('accounts', 'contacts', 'deals', 'leads')}),
	'accounts:id contacts:account_id deals:account_id leads:id', 'the managed tables are distributed');

is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('wrong_deals', 'deal', owner => NULL)}),
	'55000', 'a deal table distributed by its own key is refused');
like((run_sql($coordinator, $db, q{SELECT territory.manage_table('wrong_deals', 'deal', owner => NULL)}))[2],
	qr/must be distributed by its account column "account_id" and co-located with (public\.)?accounts/, 'and the error says why');
is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('plain_deals', 'deal', owner => NULL)}),
	'55000', 'a deal table that is not distributed, with distributed accounts, is refused');

my $answers = q{
	SELECT id, territories FROM accounts ORDER BY id;
	SELECT account_id, id, territories FROM contacts ORDER BY account_id, id;
	SELECT account_id, id, territory_id FROM deals ORDER BY account_id, id;
	SELECT id, territories FROM leads ORDER BY id;
};
same_results('the rows there before manage_table() are assigned alike', $single, $db, $coordinator, $db, $answers);

for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, $records);
	is($r, 0, $node->name . ': the records are written') or diag($e);
}
same_results('every record has the territories it has on one server', $single, $db, $coordinator, $db, $answers);
same_results('explain() says the same', $single, $db, $coordinator, $db, q{
	SELECT * FROM territory.explain('accounts', '2004');
	SELECT * FROM territory.explain('accounts', '1002');
	SELECT * FROM territory.explain('deals', '501');
	SELECT * FROM territory.explain('leads', '3');
}, allow_empty => 1);
# the history: every change of every record, in its order, and the as-of answers; its tables read
# through the coordinator as the coordinator's (citus.enable_binary_protocol = off) and filtered by
# a table literal
same_results('the history is the same', $single, $db, $coordinator, $db, q{
	SELECT l.tbl::text, l.key, l.territories, l.added, l.added_causes, l.removed, l.removed_causes
	  FROM territory.assignment_log l ORDER BY l.tbl::text, l.key, l.id;
	SELECT h.tbl::text, h.key, h.territory_id, h.action, h.cause, h.rule_id
	  FROM territory.assignment_history h ORDER BY h.tbl::text, h.key, h.id, h.territory_id, h.action;
	SELECT k, territory.territories_at('accounts', k::text, now()), territory.territories_at('accounts', k::text, '-infinity')
	  FROM unnest('{1, 7, 8, 20, 2004, 3002, 4001}'::int8[]) k ORDER BY k;
	SELECT h.action, h.cause, count(*) FROM territory.assignment_history h
	 WHERE h.tbl = 'deals'::text::regclass GROUP BY 1, 2 ORDER BY 1, 2;
	SELECT h.action, h.cause, count(*) FROM territory.assignment_history h
	 WHERE h.tbl = 'accounts'::regclass GROUP BY 1, 2 ORDER BY 1, 2;
	SELECT h.tbl, h.tbl = 'contacts'::regclass, count(*) FROM territory.assignment_history h GROUP BY 1 ORDER BY h.tbl::text;
	SELECT DISTINCT l.tbl, l.tbl::text FROM territory.assignment_log l ORDER BY 2;
});
# run_rules(): a rule added and one switched off change nothing until the run; a run interrupted
# after its first batch is resumed
my $rerun = q{
	SET client_min_messages = warning;
	SELECT territory.add_rule(t.id, $$country = 'JP' OR billing_postal_code LIKE '1%'$$, 'Asia and ones')
	  FROM territory.territories t WHERE t.code = 'AMER' AND t.model_id = territory.active_model();
	SELECT territory.set_rule_active(r.id, false) FROM territory.rules r WHERE r.name = 'France mid';
	SELECT territory._run_batch(territory._run_start('accounts', 40));
};
for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, $rerun);
	is($r, 0, $node->name . ': rules changed, a run begun') or diag($e);
	($r, $o, $e) = run_sql($node, $db, 'CALL territory.run_rules(batch_size => 40)');
	is($r, 0, $node->name . ': run_rules() resumes and finishes the run') or diag($e);
	like($e, qr/resuming run/, $node->name . ': the interrupted run was resumed');
}
same_results('after run_rules(), every record has the territories it has on one server', $single, $db, $coordinator, $db, $answers);
same_results('the runs and the history after them are the same', $single, $db, $coordinator, $db, q{
	-- (processed counts the rows read, rows rewritten into a later block again: physical)
	SELECT r.tbl::text, r.state, r.changed, r.passes, r.processed >= (SELECT count(*) FROM accounts)
	  FROM territory.rule_runs r ORDER BY r.id;
	SELECT l.tbl::text, l.key, l.territories, l.added, l.added_causes, l.removed, l.removed_causes
	  FROM territory.assignment_log l ORDER BY l.tbl::text, l.key, l.id;
});
# a model cloned and changed, previewed, activated: the records move in the activation's transaction
my $model = q{
	SET client_min_messages = warning;
	SELECT territory.clone_model(territory.active_model(), 'next') AS next \gset
	SELECT territory.add_rule(t.id, $$country = 'BR' OR country = 'JP'$$, 'South and Japan')
	  FROM territory.territories t WHERE t.code = 'BR' AND t.model_id = :next;
	SELECT territory.remove_territory(t.id) FROM territory.territories t WHERE t.code = 'FR' AND t.model_id = :next;
};
for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, $model);
	is($r, 0, $node->name . ': a model cloned and changed') or diag($e);
}
same_results('the preview of the new model', $single, $db, $coordinator, $db, q{
	SELECT p.tbl::text, p.key, p.current, p.proposed FROM territory.preview_model((SELECT id FROM territory.models WHERE name = 'next')) p
	 ORDER BY 1, 2;
});
for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, q{SELECT territory.activate_model(id) FROM territory.models WHERE name = 'next'});
	is($r, 0, $node->name . ': the new model is activated') or diag($e);
}
same_results('after the activation, every record has the territories it has on one server', $single, $db, $coordinator, $db,
	$answers . q{SELECT l.tbl::text, l.key, l.territories, l.added, l.added_causes, l.removed, l.removed_causes
	  FROM territory.assignment_log l ORDER BY l.tbl::text, l.key, l.id;});
# owner assignment on a distributed table: round robin takes the cluster's turns on the
# coordinator, load balancing counts the cluster's records there (test/citus/rotation.pl), and a
# record given its owner is written
($ret, $out, $err) = run_sql($coordinator, $db, q{
	SET client_min_messages = warning;
	CREATE TABLE owned (id bigint PRIMARY KEY, country text, owner_id text);
	SELECT create_distributed_table('owned', 'id', colocate_with => 'accounts');
	SELECT territory.manage_table('owned', 'account');
	SELECT territory.add_rule(t.id, $$country = 'US'$$, 'owned in the US', 'owned')
	  FROM territory.territories t WHERE t.code = 'USW' AND t.model_id = territory.active_model();
	INSERT INTO owned VALUES (2, 'US', 'wes');
});
is($ret, 0, 'a distributed table with an owner column, a record given its owner') or diag($err);
is($coordinator->safe_psql($db, q{INSERT INTO owned VALUES (1, 'US', NULL) RETURNING owner_id}), 'wes',
	'round robin gives a new record of a distributed table its owner');
is($coordinator->safe_psql($db, q{SELECT r.turn, u.key FROM territory.rotations r JOIN territory.sales_users u ON u.id = r.user_id}),
	'1|wes', 'the turn is on the coordinator');
$coordinator->safe_psql($db, q{SELECT territory.set_owner_assignment(t.id, 'load_balanced')
	  FROM territory.territories t WHERE t.code = 'USW' AND t.model_id = territory.active_model()});
is($coordinator->safe_psql($db, q{INSERT INTO owned VALUES (3, 'US', NULL) RETURNING owner_id}), 'wes',
	'load balancing gives a new record of a distributed table its owner (test/citus/rotation.pl)');
# other distributions are refused, saying why: a reference table, a table in another co-location
# group than the managed tables (their history is one table co-located with them), a local one
($ret, $out, $err) = run_sql($coordinator, $db, q{
	SET client_min_messages = warning;
	CREATE TABLE ref_leads (id bigint PRIMARY KEY, country text);
	SELECT create_reference_table('ref_leads');
	CREATE TABLE apart_leads (id bigint PRIMARY KEY, country text);
	SELECT create_distributed_table('apart_leads', 'id', colocate_with => 'none');
	CREATE TABLE local_leads (id bigint PRIMARY KEY, country text);
});
is($ret, 0, 'a reference table, a table distributed apart, a local table') or diag($err);
is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('ref_leads', 'lead', owner => NULL)}), '0A000',
	'a reference table is not managed');
is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('apart_leads', 'lead', owner => NULL)}), '55000',
	'a table distributed apart from the managed tables is not managed');
is(sqlstate_of($coordinator, $db, q{SELECT territory.manage_table('local_leads', 'lead', owner => NULL)}), '55000',
	'a local table is not managed beside distributed ones');
is($coordinator->safe_psql($db, q{SELECT count(*) FROM territory.managed_tables
	WHERE tbl::text IN ('ref_leads', 'apart_leads', 'local_leads')}), '0', 'and nothing of them was recorded');
isnt($coordinator->safe_psql($db, q{SELECT count(*) FROM accounts WHERE territories <> '{}'}), '0',
	'the accounts have territories');

for my $node ($single, $coordinator, @workers)
{
	no_crash_since($node, 0, $node->name . ': no backend crashed');
}
$_->stop for ($coordinator, @workers, $single);
done_testing();

# Comparisons of a database and its restored copy, shared by the dump and restore tests in
# test/servers: on one server (dump_restore.pl) and from PostgreSQL 15 to a later major
# (cross_version.pl).  Each takes the two sides as (node, database) pairs.
package TerritoryDump;

use strict;
use warnings;
use Exporter 'import';
use Test::More;
use TerritoryServer;

our @EXPORT = qw(compare_restored compare_behaviour $fiscal_sql);

my @managed = qw(accounts leads contacts deals);
my $fy = "SET territory.fiscal_year_start_month = 7;\n";

# compare_restored(node_a, db_a, node_b, db_b[, across_versions => 1]): everything that should be
# equal between a database and its restored copy (the sales users' keys, and one no user has,
# taken from the first); across majors, the rules' parsed form is checked against the target's.
sub compare_restored
{
	my ($na, $src, $nb, $dst, %opts) = @_;
	my @keys = split /\n/, $na->safe_psql($src, 'SELECT key FROM territory.sales_users ORDER BY key');
	push @keys, 'nobody-at-all';
	my @tables = split /\n/, $na->safe_psql($src, q{
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'territory' AND c.relkind = 'r' ORDER BY 1});
	cmp_ok(scalar(@tables), '>=', 15, "$src: the territory schema has its tables");
	for my $t (@tables)
	{
		# across majors a rule's parsed form (rules.expr, a node tree) is the target's own: the
		# restore compiles it again from the criteria; compared below
		if ($opts{across_versions} && $t eq 'rules')
		{
			same_results("$dst: territory.rules (every column but the parsed form, every row)",
				$na, $src, $nb, $dst, q{
				SELECT (id, territory_id, tbl, name, criteria, apply_to_children, active, created_at)::text
				  FROM territory.rules ORDER BY id});
			is($nb->safe_psql($dst, q{
				SELECT count(*) FROM territory.rules
				 WHERE expr IS DISTINCT FROM territory._compile_rule(tbl, criteria, (territory._managed(tbl)).territory_column)}),
				'0', "$dst: every rule's parsed form is the one the target compiles from its criteria");
			next;
		}
		same_results("$dst: territory.$t (every column, every row)", $na, $src, $nb, $dst,
			"SELECT t::text FROM territory.$t t ORDER BY 1",
			allow_empty => scalar($t =~ /^(rule_runs|rule_run_pending)$/));
	}
	same_results("$dst: sequences", $na, $src, $nb, $dst, q{
		SELECT schemaname, sequencename, last_value FROM pg_sequences
		 WHERE schemaname IN ('territory', 'public') ORDER BY 1, 2});
	for my $t (@managed)
	{
		same_results("$dst: managed table $t (with its territories)", $na, $src, $nb, $dst,
			"SELECT t::text FROM public.$t t ORDER BY t.id");
	}
	same_results("$dst: assignment_history", $na, $src, $nb, $dst,
		'SELECT h::text FROM territory.assignment_history h ORDER BY id, territory_id, action');
	same_results("$dst: policies", $na, $src, $nb, $dst, q{
		SELECT schemaname, tablename, policyname, permissive, roles, cmd, qual, with_check
		  FROM pg_policies ORDER BY 1, 2, 3});
	same_results("$dst: row-level security enabled and forced", $na, $src, $nb, $dst, q{
		SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
		 WHERE relname IN ('accounts', 'leads', 'contacts', 'deals') ORDER BY 1});
	same_results("$dst: triggers", $na, $src, $nb, $dst, q{
		SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
		 WHERE NOT tgisinternal ORDER BY 1, 2});
	same_results("$dst: event triggers", $na, $src, $nb, $dst,
		'SELECT evtname, evtevent, evtenabled, evtfoid::regproc FROM pg_event_trigger ORDER BY 1');
	same_results("$dst: indexes of the managed tables", $na, $src, $nb, $dst, q{
		SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2});
	same_results("$dst: the extension", $na, $src, $nb, $dst, q{
		SELECT extversion, extconfig::regclass[]::text, extcondition FROM pg_extension WHERE extname = 'territory'});
	same_results("$dst: models (the default model's stamps included)", $na, $src, $nb, $dst,
		'SELECT m::text FROM territory.models m ORDER BY id');
	same_results("$dst: stages (an edited installed stage, an added one)", $na, $src, $nb, $dst,
		'SELECT s::text FROM territory.stages s ORDER BY position');
	same_results("$dst: hierarchy of every model", $na, $src, $nb, $dst,
		'SELECT m.id, t.* FROM territory.models m, territory.tree(m.id) t ORDER BY m.id');
	same_results("$dst: forecast of a quarter", $na, $src, $nb, $dst,
		"SET timezone = UTC; SELECT * FROM territory.forecast('2026-Q4')");
	same_results("$dst: report views", $na, $src, $nb, $dst, q{
		SELECT * FROM territory.forecast_summary WHERE kind <> 'fiscal_year' AND kind <> 'fiscal_quarter'
		 ORDER BY period_text, territory_id, user_key NULLS FIRST;
		SELECT * FROM territory.coverage ORDER BY issue, tbl::text, territory_id, path, stage;
		SELECT * FROM territory.balance ORDER BY 1, 2;
		SELECT * FROM territory.revenue_by_territory ORDER BY 1, 2, 3});
	same_results("$dst: route_call", $na, $src, $nb, $dst, q{
		SELECT * FROM territory.route_call('+49 30 1234568', '+49 711 400 40005')
		UNION ALL SELECT * FROM territory.route_call('+1 415 555 0100', '+33 6 12 34 03 00')});
	for my $k (@keys)
	{
		same_results("$dst: visibility as '$k'", $na, $src, $nb, $dst, qq{
			BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', '$k', true) \\g /dev/null
			SELECT territory.current_user_id(), territory.visible_territories(), territory.visible_owners();
			SELECT 'accounts', count(*), string_agg(id::text, ',' ORDER BY id) FROM accounts;
			SELECT 'leads', count(*), string_agg(id::text, ',' ORDER BY id) FROM leads;
			SELECT 'contacts', count(*), string_agg(id::text, ',' ORDER BY id) FROM contacts;
			SELECT 'deals', count(*), string_agg(id::text, ',' ORDER BY id) FROM deals;
			COMMIT;});
	}
	same_results("$dst: visibility as the login carol", $na, $src, $nb, $dst, q{
		BEGIN; SET LOCAL ROLE carol;
		SELECT territory.current_user_id(), (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals);
		COMMIT;});
}

# Fiscal periods: their dates, wherever they are stored, and the forecast of a fiscal year.
our $fiscal_sql = $fy . q{
	SELECT 'targets', id, period, territory.lower(period), territory.upper(period) FROM territory.targets
	 WHERE territory.kind(period) LIKE 'fiscal%' ORDER BY id;
	SELECT 'adjustments', id, period, territory.lower(period) FROM territory.forecast_adjustments ORDER BY id;
	SELECT 'snapshots', id, period, territory.lower(period) FROM territory.forecast_snapshots
	 WHERE territory.kind(period) LIKE 'fiscal%' ORDER BY id;
	SET timezone = UTC;
	SELECT * FROM territory.forecast('FY2027');
};

# compare_behaviour(node_a, db_a, node_b, db_b): the same changes in a database and in its copy,
# then the results compared.
my $changes = q{
	INSERT INTO accounts (id, name, country, state, revenue, phone, owner_id) VALUES
	    (1001, 'West', 'US', 'CA', 10, NULL, NULL), (1002, 'West 2', 'US', 'WA', 10, NULL, NULL),
	    (1003, 'Big', 'DE', NULL, 9000000, '+49 711 400 99999', NULL), (1004, 'Nowhere', 'NZ', NULL, 1, NULL, 'kim');
	INSERT INTO leads (id, country, source) VALUES (1001, 'DE', 'web'), (1002, 'US', 'webinar'), (1003, 'FR', 'web');
	INSERT INTO contacts (id, account_id, name) VALUES (1001, 1001, 'New contact'), (1002, 1003, 'Other');
	INSERT INTO deals (id, account_id, amount, close_date, stage) VALUES
	    (1001, 1001, 5000, '2026-11-02', 'Verbal'), (1002, 1003, 250000, '2026-12-01', 'Negotiation'),
	    (1003, NULL, 150000, '2026-10-10', 'Closed Won');
	UPDATE accounts SET country = 'FR' WHERE id = 3;
	DELETE FROM accounts WHERE id = 4;
	SELECT territory.add_territory('Nordics', id, 'NORD') FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model();
	SELECT territory.add_rule(id, $$country IN ('SE','NO','NZ')$$) FROM territory.territories WHERE code = 'NORD' AND model_id = territory.active_model();
	CALL territory.run_rules();
	SELECT territory.set_target(id, '2027-Q1', 123) FROM territory.territories WHERE code = 'NORD' AND model_id = territory.active_model();
};
sub compare_behaviour
{
	my ($na, $src, $nb, $dst) = @_;
	for my $side ([ $na, $src ], [ $nb, $dst ])
	{
		my ($node, $db) = @$side;
		my ($ret, $out, $err) = run_sql($node, $db, $changes);
		is($ret, 0, $node->name . "/$db: the same changes apply") or diag($err);
	}
	for my $t (@managed)
	{
		same_results("$dst after the changes: $t", $na, $src, $nb, $dst,
			"SELECT t::text FROM public.$t t ORDER BY t.id");
	}
	same_results("$dst after the changes: history", $na, $src, $nb, $dst, q{
		SELECT id, tbl, key, territories, added, added_causes, removed, removed_causes
		  FROM territory.assignment_log ORDER BY id});
	same_results("$dst after the changes: round-robin and load-balancing turns", $na, $src, $nb, $dst,
		'SELECT territory_id, turn, user_id FROM territory.rotations ORDER BY 1, 2');
	same_results("$dst after the changes: territories and rules", $na, $src, $nb, $dst, q{
		SELECT id, model_id, parent_id, name, code FROM territory.territories ORDER BY id;
		SELECT id, territory_id, tbl, criteria FROM territory.rules ORDER BY id;
		SELECT id, territory_id, period, amount FROM territory.targets ORDER BY id});
	same_results("$dst after the changes: forecast", $na, $src, $nb, $dst,
		"SET timezone = UTC; SELECT * FROM territory.forecast('2026-Q4')");
	same_results("$dst after the changes: visibility", $na, $src, $nb, $dst, q{
		BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'wes';
		SELECT count(*), string_agg(id::text, ',' ORDER BY id) FROM accounts;
		COMMIT;
		BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'emma';
		SELECT count(*), string_agg(id::text, ',' ORDER BY id) FROM deals;
		COMMIT;});
}

1;

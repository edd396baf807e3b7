# pg_dump -Fc / pg_restore into a fresh, empty database keeps the configuration, the managed
# tables with their territories, the history, the policies and triggers, and the behaviour (new
# records are assigned as in the source, visibility and forecasts answer the same).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TerritoryServer;

my $node = PostgreSQL::Test::Cluster->new('dump', port => 55414);
$node->init;
$node->append_conf('postgresql.conf', "log_statement = none\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE ROLE crm_app LOGIN;
	CREATE ROLE carol LOGIN;
	GRANT SET ON PARAMETER "territory.user" TO crm_app;
});

my $grants = q{
	GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, leads, contacts, deals TO crm_app, carol;
};
# 'archived': the fixture as it is, with an archived model; 'plan': the same, the cloned model
# left in planning.
$node->safe_psql('postgres', 'CREATE DATABASE archived');
$node->safe_psql('archived', fixture_sql() . $grants);
$node->safe_psql('postgres', 'CREATE DATABASE plan');
$node->safe_psql('plan', "\\set no_archive 1\n" . fixture_sql() . $grants);
is($node->safe_psql('archived', q{SELECT string_agg(state, ',' ORDER BY id) FROM territory.models}),
	'active,archived,planning', 'the source has an active, an archived and a planning model');

my $tmp = PostgreSQL::Test::Utils::tempdir;
# Dumps a database and restores it into a new empty one; returns pg_restore's exit code and
# messages.
sub dump_restore
{
	my ($src, $dst, %env) = @_;
	my $file = "$tmp/$src.dump";
	unless (-e $file)
	{
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'pg_dump', '-Fc', '-f', $file, '-d', $node->connstr($src) ], '>', \$out, '2>', \$err)
		  or BAIL_OUT("pg_dump $src failed: $err");
	}
	$node->safe_psql('postgres', "CREATE DATABASE $dst TEMPLATE template0");
	local @ENV{ keys %env } = values %env;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_restore', '-d', $node->connstr($dst), $file ], '>', \$out, '2>', \$err);
	return ($? >> 8, $err);
}

my $fy = "SET territory.fiscal_year_start_month = 7;\n";
my @keys = split /\n/, $node->safe_psql('plan', 'SELECT key FROM territory.sales_users ORDER BY key');
push @keys, 'nobody-at-all';
my @managed = qw(accounts leads contacts deals);

# Everything that should be equal between a database and its restored copy.
sub compare_restored
{
	my ($src, $dst) = @_;
	my @tables = split /\n/, $node->safe_psql($src, q{
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'territory' AND c.relkind = 'r' ORDER BY 1});
	cmp_ok(scalar(@tables), '>=', 15, "$src: the territory schema has its tables");
	for my $t (@tables)
	{
		same_results("$dst: territory.$t (every column, every row)", $node, $src, $node, $dst,
			"SELECT t::text FROM territory.$t t ORDER BY 1",
			allow_empty => scalar($t =~ /^(rule_runs|rule_run_pending)$/));
	}
	same_results("$dst: sequences", $node, $src, $node, $dst, q{
		SELECT schemaname, sequencename, last_value FROM pg_sequences
		 WHERE schemaname IN ('territory', 'public') ORDER BY 1, 2});
	for my $t (@managed)
	{
		same_results("$dst: managed table $t (with its territories)", $node, $src, $node, $dst,
			"SELECT t::text FROM public.$t t ORDER BY t.id");
	}
	same_results("$dst: assignment_history", $node, $src, $node, $dst,
		'SELECT h::text FROM territory.assignment_history h ORDER BY id, territory_id, action');
	same_results("$dst: policies", $node, $src, $node, $dst, q{
		SELECT schemaname, tablename, policyname, permissive, roles, cmd, qual, with_check
		  FROM pg_policies ORDER BY 1, 2, 3});
	same_results("$dst: row-level security enabled and forced", $node, $src, $node, $dst, q{
		SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
		 WHERE relname IN ('accounts', 'leads', 'contacts', 'deals') ORDER BY 1});
	same_results("$dst: triggers", $node, $src, $node, $dst, q{
		SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
		 WHERE NOT tgisinternal ORDER BY 1, 2});
	same_results("$dst: event triggers", $node, $src, $node, $dst,
		'SELECT evtname, evtevent, evtenabled, evtfoid::regproc FROM pg_event_trigger ORDER BY 1');
	same_results("$dst: indexes of the managed tables", $node, $src, $node, $dst, q{
		SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2});
	same_results("$dst: the extension", $node, $src, $node, $dst, q{
		SELECT extversion, extconfig::regclass[]::text, extcondition FROM pg_extension WHERE extname = 'territory'});
	same_results("$dst: models (the default model's stamps included)", $node, $src, $node, $dst,
		'SELECT m::text FROM territory.models m ORDER BY id');
	same_results("$dst: stages (an edited installed stage, an added one)", $node, $src, $node, $dst,
		'SELECT s::text FROM territory.stages s ORDER BY position');
	same_results("$dst: hierarchy of every model", $node, $src, $node, $dst,
		'SELECT m.id, t.* FROM territory.models m, territory.tree(m.id) t ORDER BY m.id');
	same_results("$dst: forecast of a quarter", $node, $src, $node, $dst,
		"SET timezone = UTC; SELECT * FROM territory.forecast('2026-Q4')");
	same_results("$dst: report views", $node, $src, $node, $dst, q{
		SELECT * FROM territory.forecast_summary WHERE kind <> 'fiscal_year' AND kind <> 'fiscal_quarter'
		 ORDER BY period_text, territory_id, user_key NULLS FIRST;
		SELECT * FROM territory.coverage ORDER BY issue, tbl::text, territory_id, path, stage;
		SELECT * FROM territory.balance ORDER BY 1, 2;
		SELECT * FROM territory.revenue_by_territory ORDER BY 1, 2, 3});
	same_results("$dst: route_call", $node, $src, $node, $dst, q{
		SELECT * FROM territory.route_call('+49 30 1234568', '+49 711 400 40005')
		UNION ALL SELECT * FROM territory.route_call('+1 415 555 0100', '+33 6 12 34 03 00')});
	for my $k (@keys)
	{
		same_results("$dst: visibility as '$k'", $node, $src, $node, $dst, qq{
			BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', '$k', true) \\g /dev/null
			SELECT territory.current_user_id(), territory.visible_territories(), territory.visible_owners();
			SELECT 'accounts', count(*), string_agg(id::text, ',' ORDER BY id) FROM accounts;
			SELECT 'leads', count(*), string_agg(id::text, ',' ORDER BY id) FROM leads;
			SELECT 'contacts', count(*), string_agg(id::text, ',' ORDER BY id) FROM contacts;
			SELECT 'deals', count(*), string_agg(id::text, ',' ORDER BY id) FROM deals;
			COMMIT;});
	}
	same_results("$dst: visibility as the login carol", $node, $src, $node, $dst, q{
		BEGIN; SET LOCAL ROLE carol;
		SELECT territory.current_user_id(), (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals);
		COMMIT;});
}

# Fiscal periods: their dates, wherever they are stored, and the forecast of a fiscal year.
my $fiscal_sql = $fy . q{
	SELECT 'targets', id, period, territory.lower(period), territory.upper(period) FROM territory.targets
	 WHERE territory.kind(period) LIKE 'fiscal%' ORDER BY id;
	SELECT 'adjustments', id, period, territory.lower(period) FROM territory.forecast_adjustments ORDER BY id;
	SELECT 'snapshots', id, period, territory.lower(period) FROM territory.forecast_snapshots
	 WHERE territory.kind(period) LIKE 'fiscal%' ORDER BY id;
	SET timezone = UTC;
	SELECT * FROM territory.forecast('FY2027');
};

# The same changes in a database and in its copy, then the results compared.
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
	my ($src, $dst) = @_;
	for my $db ($src, $dst)
	{
		my ($ret, $out, $err) = run_sql($node, $db, $changes);
		is($ret, 0, "$db: the same changes apply") or diag($err);
	}
	for my $t (@managed)
	{
		same_results("$dst after the changes: $t", $node, $src, $node, $dst,
			"SELECT t::text FROM public.$t t ORDER BY t.id");
	}
	same_results("$dst after the changes: history", $node, $src, $node, $dst, q{
		SELECT id, tbl, key, territories, added, added_causes, removed, removed_causes
		  FROM territory.assignment_log ORDER BY id});
	same_results("$dst after the changes: round-robin and load-balancing turns", $node, $src, $node, $dst,
		'SELECT territory_id, turn, user_id FROM territory.rotations ORDER BY 1, 2');
	same_results("$dst after the changes: territories and rules", $node, $src, $node, $dst, q{
		SELECT id, model_id, parent_id, name, code FROM territory.territories ORDER BY id;
		SELECT id, territory_id, tbl, criteria FROM territory.rules ORDER BY id;
		SELECT id, territory_id, period, amount FROM territory.targets ORDER BY id});
	same_results("$dst after the changes: forecast", $node, $src, $node, $dst,
		"SET timezone = UTC; SELECT * FROM territory.forecast('2026-Q4')");
	same_results("$dst after the changes: visibility", $node, $src, $node, $dst, q{
		BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'wes';
		SELECT count(*), string_agg(id::text, ',' ORDER BY id) FROM accounts;
		COMMIT;
		BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'emma';
		SELECT count(*), string_agg(id::text, ',' ORDER BY id) FROM deals;
		COMMIT;});
}

# A database with an archived model.
{
	my ($ret, $err) = dump_restore('archived', 'archived_copy');
	is($ret, 0, 'pg_restore of a database with an archived model succeeds');
	is(join("\n", grep { /error/ } split /\n/, $err), '', 'pg_restore of a database with an archived model reports no error');
	compare_restored('archived', 'archived_copy');
	compare_behaviour('archived', 'archived_copy');
}

# The same without the archived model.
my ($ret, $err) = dump_restore('plan', 'plan_copy');
is($ret, 0, 'pg_restore succeeds');
is(join("\n", grep { /error/ } split /\n/, $err), '', 'pg_restore reports no error');
compare_restored('plan', 'plan_copy');

# Fiscal periods: restored under the restoring session's fiscal_year_start_month.  With the
# setting of the source database (as doc/periods.md says to restore) they keep their dates.
my ($ret_fy, $err_fy) = dump_restore('plan', 'plan_copy_fy',
	PGOPTIONS => '-c territory.fiscal_year_start_month=7');
is($ret_fy, 0, 'pg_restore with the fiscal start month of the source succeeds');
same_results('fiscal periods keep their dates when restored with the setting of the source',
	$node, 'plan', $node, 'plan_copy_fy', $fiscal_sql);
{
	local $TODO = 'documented in doc/operations.md: territory.period is dumped in its text form '
	  . '(FY2027), read under the fiscal_year_start_month of the restoring session; a plain '
	  . 'pg_restore into a new database with the default setting (January) reads FY2027 of a July '
	  . 'database as 2027-01-01 .. 2028-01-01';
	same_results('fiscal periods keep their dates after a plain pg_restore', $node, 'plan', $node, 'plan_copy', $fiscal_sql);
}

compare_behaviour('plan', 'plan_copy');

# Edits of the default model (the one CREATE EXTENSION makes).
$node->safe_psql('postgres', 'CREATE DATABASE policy');
$node->safe_psql('policy', q{
	SET client_min_messages = warning;
	CREATE EXTENSION territory;
	UPDATE territory.models SET assignment_policy = 'all' WHERE name = 'default';
	SELECT territory.add_territory('Global');
});
$node->safe_psql('postgres', 'CREATE DATABASE renamed');
$node->safe_psql('renamed', q{
	SET client_min_messages = warning;
	CREATE EXTENSION territory;
	UPDATE territory.models SET name = 'World' WHERE name = 'default';
	SELECT territory.add_territory('Global');
});
my ($r_policy) = dump_restore('policy', 'policy_copy');
is($r_policy, 0, 'pg_restore of a database whose default model has another assignment policy succeeds');
same_results('the assignment policy of the default model survives pg_restore', $node, 'policy', $node,
	'policy_copy', 'SELECT id, name, state, assignment_policy FROM territory.models ORDER BY id');
{
	my ($r, $e) = dump_restore('renamed', 'renamed_copy');
	is($r, 0, 'pg_restore of a database whose default model was renamed succeeds');
	is(join("\n", grep { /error/ } split /\n/, $e), '', 'pg_restore of a renamed default model reports no error');
	same_results('a renamed default model survives pg_restore', $node, 'renamed', $node, 'renamed_copy',
		'SELECT id, name, state, assignment_policy FROM territory.models ORDER BY id');
}

no_crash_since($node, 0, 'no backend crashed');
$node->stop;
done_testing();

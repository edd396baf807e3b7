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
use TerritoryDump;

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


# A database with an archived model.
{
	my ($ret, $err) = dump_restore('archived', 'archived_copy');
	is($ret, 0, 'pg_restore of a database with an archived model succeeds');
	is(join("\n", grep { /error/ } split /\n/, $err), '', 'pg_restore of a database with an archived model reports no error');
	compare_restored($node, 'archived', $node, 'archived_copy');
	compare_behaviour($node, 'archived', $node, 'archived_copy');
}

# The same without the archived model.
my ($ret, $err) = dump_restore('plan', 'plan_copy');
is($ret, 0, 'pg_restore succeeds');
is(join("\n", grep { /error/ } split /\n/, $err), '', 'pg_restore reports no error');
compare_restored($node, 'plan', $node, 'plan_copy');

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

compare_behaviour($node, 'plan', $node, 'plan_copy');

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

# From PostgreSQL 15 to a later major: a database using every feature on a PostgreSQL 15 server,
# dumped with this major's pg_dump over loopback and restored into a server of this major,
# answers every query of the dump and restore test as the source does (TerritoryDump.pm), before
# and after the same changes.  Run by scripts/run-version inside the major's chroot, with the
# PostgreSQL 15 server (territory installed) in TERRITORY_SOURCE_HOST / TERRITORY_SOURCE_PORT
# (user TERRITORY_SOURCE_USER, password TERRITORY_SOURCE_PASSWORD); skipped without it.
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

plan skip_all => 'no PostgreSQL 15 source server (TERRITORY_SOURCE_PORT)'
  unless $ENV{TERRITORY_SOURCE_PORT};

# The source: a node object for a server this test did not start, reached over TCP.
my $src = PostgreSQL::Test::Cluster->new('source15', port => $ENV{TERRITORY_SOURCE_PORT});
$src->{_host} = $ENV{TERRITORY_SOURCE_HOST} // '127.0.0.1';
# (PostgreSQL::Test::Utils clears the PG* variables: these are set after it)
$ENV{PGUSER} = $ENV{TERRITORY_SOURCE_USER} // 'postgres';
$ENV{PGPASSWORD} = $ENV{TERRITORY_SOURCE_PASSWORD} if defined $ENV{TERRITORY_SOURCE_PASSWORD};
like($src->safe_psql('postgres', 'SHOW server_version_num'), qr/^15\d{4}$/, 'the source runs PostgreSQL 15');

my $dst = PostgreSQL::Test::Cluster->new('target', port => 55416);
$dst->init;
$dst->append_conf('postgresql.conf', "log_statement = none\n");
$dst->start;
my $major = $dst->safe_psql('postgres', 'SELECT current_setting(\'server_version_num\')::int / 10000');
cmp_ok($major, '>', 15, "the target runs a later major ($major)");

# The roles of the fixture exist on both servers (pg_dump does not dump roles).
my $roles = q{
	DO $$ BEGIN
	    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') THEN CREATE ROLE crm_app LOGIN; END IF;
	    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'carol') THEN CREATE ROLE carol LOGIN; END IF;
	END $$;
	GRANT SET ON PARAMETER "territory.user" TO crm_app;
};
$src->safe_psql('postgres', $roles);
$dst->safe_psql('postgres', $roles);

my $grants = q{
	GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, leads, contacts, deals TO crm_app, carol;
};
my $db = "territory_cross_$$";
$src->safe_psql('postgres', "DROP DATABASE IF EXISTS $db");
$src->safe_psql('postgres', "CREATE DATABASE $db");
$src->safe_psql($db, fixture_sql() . $grants);

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $file = "$tmp/$db.dump";
my ($out, $err) = ('', '');
ok(IPC::Run::run([ 'pg_dump', '-Fc', '-f', $file, '-d', $src->connstr($db) ], '>', \$out, '2>', \$err),
	"pg_dump $major of the PostgreSQL 15 database succeeds")
  or BAIL_OUT("pg_dump failed: $err");
$dst->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE template0");
# PostgreSQL 15.20 (and 17.12) keep a column's version in its attoptions under the reserved key
# pg_attver, which their pg_dump leaves out; pg_dump 18.6 does not know the key and writes it
# out as ALTER TABLE ... ALTER COLUMN ... SET (pg_attver=...), which 18 refuses ("unrecognized
# parameter"), failing the CREATE TABLE of every table with it.  That is PostgreSQL's, for any
# table; doc/operations.md gives the way round it, taken here: the archive restored as a script
# without those statements.
my $script = '';
IPC::Run::run([ 'pg_restore', '-f', '-', $file ], '>', \$script, '2>', \$err)
  or BAIL_OUT("pg_restore -f - failed: $err");
my $attver = qr/^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);\n/m;
($out, $err) = ('', '');
if ($script =~ $attver)
{
	note("pg_dump $major wrote the 15 server's pg_attver attoptions: restoring without them");
	$script =~ s/$attver//g;
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $dst->connstr($db) ],
		'<', \$script, '>', \$out, '2>', \$err);
}
else
{
	IPC::Run::run([ 'pg_restore', '-d', $dst->connstr($db), $file ], '>', \$out, '2>', \$err);
}
is($? >> 8, 0, "the restore into PostgreSQL $major succeeds");
is(join("\n", grep { /error/i } split /\n/, $err), '', 'the restore reports no error');

compare_restored($src, $db, $dst, $db, across_versions => 1);
compare_behaviour($src, $db, $dst, $db);

$src->safe_psql('postgres', "DROP DATABASE $db");
no_crash_since($dst, 0, 'no backend crashed');
$dst->stop;
done_testing();

# The servers of the Citus suite (test/citus/*.pl): one PostgreSQL 15 server with territory, and
# a Citus cluster of a coordinator and two workers on loopback (shared_preload_libraries =
# 'citus,territory'), each with the database crm, Citus in it on every node and territory
# created through the coordinator.  Ports: the server 55440, the coordinator 55441, the workers
# 55442 and 55443 (from CITUS_TEST_PORT instead of 55440 when it is set, to run beside another
# run).  Skips the test when Citus is not installed (scripts/build-citus).
package CitusCluster;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use TerritoryServer ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(citus_servers load_scenario);

# Returns ($single, $coordinator, @workers), started, the extensions created.
sub citus_servers
{
	my ($db) = @_;
	my $pgshare = `pg_config --sharedir`;
	chomp $pgshare;
	plan skip_all => "Citus is not installed for this PostgreSQL (scripts/build-citus)"
	  unless -f "$pgshare/extension/citus.control";

	my $port = $ENV{CITUS_TEST_PORT} || 55440;
	my $single = PostgreSQL::Test::Cluster->new('single', port => $port);
	$single->init;
	$single->append_conf('postgresql.conf', "shared_preload_libraries = 'territory'\nlog_statement = none\n");
	$single->start;
	$single->safe_psql('postgres', "CREATE DATABASE $db");
	$single->safe_psql($db, 'SET client_min_messages = warning; CREATE EXTENSION territory');

	my @cluster;
	for my $n ([ 'coordinator', $port + 1 ], [ 'worker1', $port + 2 ], [ 'worker2', $port + 3 ])
	{
		my $node = PostgreSQL::Test::Cluster->new($n->[0], port => $n->[1]);
		$node->init;
		$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus,territory'
listen_addresses = '127.0.0.1'
max_prepared_transactions = 20
wal_level = logical
log_statement = none
log_error_verbosity = verbose
# SET LOCAL territory."user" on the coordinator reaches the workers (Citus's documented setting)
citus.propagate_set_commands = 'local'
# results from the workers as text: a regclass column is the table's name, not a worker's OID
citus.enable_binary_protocol = off
});
		# the nodes connect to each other over TCP loopback
		$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
		$node->start;
		# Citus does not propagate CREATE DATABASE: every node gets the database and Citus
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, 'SET client_min_messages = warning; CREATE EXTENSION citus');
		push @cluster, $node;
	}
	my ($coordinator, @workers) = @cluster;
	$coordinator->safe_psql($db, qq{
		SET client_min_messages = warning;
		SELECT citus_set_coordinator_host('127.0.0.1', @{[ $port + 1 ]});
		SELECT citus_add_node('127.0.0.1', @{[ $port + 2 ]});
		SELECT citus_add_node('127.0.0.1', @{[ $port + 3 ]});
	});
	is($coordinator->safe_psql($db, 'SELECT count(*) FROM citus_get_active_worker_nodes()'), '2',
		'the coordinator has two workers');
	$coordinator->safe_psql($db, 'SET client_min_messages = warning; CREATE EXTENSION territory');
	return ($single, $coordinator, @workers);
}

# The scenario of the managed-table tests, on the server and through the coordinator: the
# configuration (config.sql), enable_citus() on the cluster, the application's tables
# (schema.sql: distributed on the cluster) and their records (records.sql).
sub load_scenario
{
	my ($db, $single, $coordinator) = @_;
	my $dir = dirname(__FILE__) . '/..';
	my @steps = (
		[ 'the configuration is written', "$dir/config.sql", '', '' ],
		[ 'the configuration is on every node', undef, '', 'SET client_min_messages = warning; SELECT territory.enable_citus();' ],
		[ 'the tables are made, managed and ruled', "$dir/schema.sql", "\\set distributed off\n", "\\set distributed on\n" ],
		[ 'the records are written', "$dir/records.sql", '', '' ]);
	for my $step (@steps)
	{
		my ($what, $file, $single_pre, $cluster_pre) = @$step;
		my $sql = defined $file ? slurp_file($file) : '';
		for my $node ($single, $coordinator)
		{
			my $text = ($node == $single ? $single_pre : $cluster_pre) . $sql;
			next if $text eq '';
			my ($ret, $out, $err) = TerritoryServer::run_sql($node, $db, $text);
			is($ret, 0, $node->name . ": $what") or diag($err);
		}
	}
}

1;

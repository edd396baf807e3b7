# Visibility on tables that Citus distributes answers as on one server.  The scenario of the
# managed-table tests (config.sql, schema.sql, records.sql: one server, and a cluster whose
# tables are distributed); the policies enabled on every managed table; an application role that
# sets territory."user" with SET LOCAL (citus.propagate_set_commands = 'local' takes it to the
# workers).  For every sales user and one unknown key, what the role sees of each table, the
# hierarchy functions per row in WHERE, GROUP BY and INSERT ... SELECT, and the forecast are the
# same through the coordinator as on the server, and through pgbouncer in transaction pooling in
# front of the coordinator.  Skipped when Citus is not installed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../servers/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use TerritoryServer;
use lib "$FindBin::RealBin/lib";
use CitusCluster;

my $db = 'crm';
# pgbouncer, when started, is stopped however the test ends
my $bouncer_pidfile;
END
{
	if ($bouncer_pidfile && open my $pidf, '<', $bouncer_pidfile)
	{
		my $pid = <$pidf>;
		chomp $pid;
		kill 'TERM', $pid if $pid;
	}
}
my ($single, $coordinator, @workers) = citus_servers($db);
load_scenario($db, $single, $coordinator);

my $roles = q{
	SET client_min_messages = warning;
	CREATE ROLE crm_app LOGIN;
	GRANT USAGE ON SCHEMA public TO crm_app;
	GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, contacts, deals, leads TO crm_app;
	GRANT SET ON PARAMETER "territory.user" TO crm_app;
	SELECT territory.enable_visibility(t) FROM unnest('{accounts,contacts,deals,leads}'::regclass[]) t;
	CREATE TABLE account_paths (id bigint NOT NULL, path text, depth int4);
};
for my $node ($single, $coordinator)
{
	my ($ret, $out, $err) = run_sql($node, $db, $roles
		  . ($node == $coordinator ? q{SELECT create_distributed_table('account_paths', 'id', colocate_with => 'accounts');} : ''));
	is($ret, 0, $node->name . ': the application role, the policies') or diag($err);
}

my $answers = '';
for my $k (qw(olga vera emma dave fred adam wes kim zed nobody))
{
	$answers .= qq{
	BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = '$k';
	SELECT '$k', territory.current_user_id(), (SELECT count(*) FROM accounts), (SELECT coalesce(sum(id), 0) FROM accounts),
	       (SELECT count(*) FROM contacts), (SELECT count(*) FROM deals), (SELECT coalesce(sum(amount), 0) FROM deals),
	       (SELECT count(*) FROM leads);
	SELECT id, territories FROM accounts ORDER BY id;
	SELECT account_id, id, territory_id FROM deals ORDER BY account_id, id;
	SELECT id FROM leads ORDER BY id;
	COMMIT;};
}
same_results('every user sees through the application role what they see on one server', $single, $db, $coordinator, $db, $answers);

# and the answers are not empty: a user sees some accounts but not all, one who sees all sees all
my %seen;
for my $k (qw(olga dave nobody))
{
	$seen{$k} = $coordinator->safe_psql($db, qq{BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = '$k';
		SELECT count(*) FROM accounts; COMMIT;});
}
is($seen{olga}, $coordinator->safe_psql($db, 'SELECT count(*) FROM accounts'), 'a user who sees all sees every account');
ok($seen{dave} > 0 && $seen{dave} < $seen{olga}, "a restricted user sees some accounts ($seen{dave} of $seen{olga})");
is($seen{nobody}, '0', 'an unknown key sees nothing');
isnt($coordinator->safe_psql($db, q{BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'dave';
	SELECT coalesce(sum(f.pipeline + f.best_case + f.commit + f.closed_won), 0) FROM territory.forecast('2026') f; COMMIT;}), '0',
	'a restricted user\'s forecast is not all zeros');

# the same through pgbouncer in transaction pooling in front of the coordinator: the
# application role's transactions share a few server connections, each setting its user
SKIP:
{
	my ($pgbouncer) = grep { -x $_ } map { "$_/pgbouncer" } (split(/:/, $ENV{PATH} // ''), '/usr/sbin');
	skip 'pgbouncer is not installed', 2 unless $pgbouncer;
	my $bdir = PostgreSQL::Test::Utils::tempdir;
	my $bport = 55444;
	PostgreSQL::Test::Utils::append_to_file("$bdir/users.txt", qq{"crm_app" ""\n});
	PostgreSQL::Test::Utils::append_to_file("$bdir/pgbouncer.ini", qq{[databases]
$db = host=127.0.0.1 port=} . $coordinator->port . qq{ dbname=$db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $bdir/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 20
logfile = $bdir/pgbouncer.log
pidfile = $bdir/pgbouncer.pid
});
	system($pgbouncer, '-d', '-q', "$bdir/pgbouncer.ini") == 0 or BAIL_OUT('pgbouncer did not start');
	$bouncer_pidfile = "$bdir/pgbouncer.pid";
	# it forks into the background: wait until it listens
	for (1 .. 100)
	{
		last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $bport, Proto => 'tcp');
		select(undef, undef, undef, 0.1);
	}
	my $pooled = '';
	my $direct = '';
	for my $k (qw(olga emma dave wes nobody))
	{
		my $tx = qq{
	SELECT '$k', territory.current_user_id(), (SELECT count(*) FROM accounts), (SELECT coalesce(sum(id), 0) FROM accounts),
	       (SELECT count(*) FROM deals), (SELECT count(*) FROM leads);
	SELECT id FROM accounts ORDER BY id;
	COMMIT;};
		$pooled .= qq{BEGIN; SET LOCAL territory."user" = '$k';} . $tx;
		$direct .= qq{BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = '$k';} . $tx;
	}
	my ($out, $err);
	my $ret = $coordinator->psql($db, "\\set VERBOSITY verbose\n" . $pooled, stdout => \$out, stderr => \$err,
		on_error_stop => 1, connstr => "host=127.0.0.1 port=$bport user=crm_app dbname=$db");
	is($ret, 0, 'the application role\'s transactions run through pgbouncer') or diag($err);
	my ($r2, $expected) = run_sql($single, $db, $direct);
	is($out, $expected, 'through pgbouncer every user sees what they see on one server');
}

# a PL/pgSQL caller that sets the user for its transaction and counts what the user sees
my $plpgsql = q{
	CREATE FUNCTION seen_by(k text) RETURNS text LANGUAGE plpgsql AS $f$
	BEGIN
	    EXECUTE format('SET LOCAL territory."user" = %L', k);
	    RETURN format('%s: %s accounts, %s deals, %s', k, (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals),
	                  territory.visible_territories('deal'));
	END
	$f$;
	GRANT EXECUTE ON FUNCTION seen_by(text) TO crm_app;
};
for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, $plpgsql);
	is($r, 0, $node->name . ': a PL/pgSQL caller') or diag($e);
}
same_results('a PL/pgSQL function that sets the user sees what it sees on one server', $single, $db, $coordinator, $db,
	join('', map { qq{BEGIN; SET LOCAL ROLE crm_app; SELECT seen_by('$_'); COMMIT;\n} } qw(olga emma dave wes nobody)));

# the hierarchy functions per row of distributed queries
my $functions = q{
	SELECT territory.path(a.territories[1]), territory.depth(a.territories[1]), count(*)
	  FROM accounts a WHERE a.territories <> '{}' GROUP BY 1, 2 ORDER BY 1, 2;
	SELECT a.id FROM accounts a, territory.territories e
	 WHERE e.code = 'EMEA' AND e.model_id = territory.active_model()
	   AND EXISTS (SELECT FROM unnest(a.territories) t WHERE territory.is_ancestor(e.id, t)) ORDER BY a.id;
	SELECT d.territory_id, territory.path(d.territory_id), count(*), sum(d.amount)
	  FROM deals d GROUP BY 1 ORDER BY 1 NULLS LAST;
	INSERT INTO account_paths SELECT a.id, territory.path(a.territories[1]), territory.depth(a.territories[1]) FROM accounts a;
	SELECT path, depth, count(*) FROM account_paths GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2;
};
same_results('the hierarchy functions per row in WHERE, GROUP BY and INSERT ... SELECT', $single, $db, $coordinator, $db, $functions);

my $forecast = '';
for my $k (qw(olga vera emma dave fred nobody))
{
	$forecast .= qq{
	BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = '$k';
	SELECT '$k', f.* FROM territory.forecast('2026') f ORDER BY 2, 3, 4;
	COMMIT;};
}
same_results('the forecast of every user', $single, $db, $coordinator, $db, $forecast);

my $reports = '';
for my $k (qw(olga emma dave nobody))
{
	$reports .= qq{
	BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = '$k';
	SELECT '$k', r.* FROM territory.forecast_summary r ORDER BY 2, 3, 4;
	SELECT '$k', r.* FROM territory.revenue_by_territory r ORDER BY 2, 3, 4;
	SELECT '$k', r.* FROM territory.coverage r ORDER BY 2, 3, 4;
	SELECT '$k', r.* FROM territory.balance r ORDER BY 2, 3, 4;
	COMMIT;};
}
same_results('the report views of every user', $single, $db, $coordinator, $db, $reports);

for my $node ($single, $coordinator, @workers)
{
	no_crash_since($node, 0, $node->name . ': no backend crashed');
}
$_->stop for ($coordinator, @workers, $single);
done_testing();

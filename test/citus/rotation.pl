# Round robin is fair across a Citus cluster: the workers take the turns of a territory on the
# coordinator (src/remote.c), in a transaction there that mirrors the record's, so that concurrent
# inserts through both workers take consecutive turns and a rolled-back insert gives its turn back.
# The same interleaving of two sessions (savepoints, rollbacks, a PL/pgSQL exception block,
# INSERT ... SELECT) runs on one server and through the two workers, and gives every lead the
# same owner; then concurrent clients through both workers (pgbench) leave the owners of each
# territory differing by at most one, and the turns on the coordinator are every committed
# record's; a worker that cannot reach the coordinator refuses the record and changes nothing.
# Skipped when Citus is not installed (scripts/build-citus).
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
my $setup = slurp_file("$FindBin::RealBin/rotation.sql");
for my $node ([ $single, 'off' ], [ $coordinator, 'on' ])
{
	my ($ret, $out, $err) = run_sql($node->[0], $db, "\\set cluster $node->[1]\n$setup");
	is($ret, 0, $node->[0]->name . ': the territories, members and leads') or diag($err);
}

# The leads written one per statement get the same owner as on one server; the rows of a
# statement that writes several take their turns in the order Citus writes them (shard by
# shard), so per statement each member gets as many.
my $owners = q{SELECT id, source, owner_id FROM leads WHERE id IN (1, 5, 14, 17, 45) ORDER BY id};
my $counts = q{SELECT source, owner_id, count(*) FROM leads GROUP BY 1, 2 ORDER BY 1, 2};
my $turns = q{SELECT t.code, r.turn, u.key FROM territory.rotations r
	JOIN territory.territories t ON t.id = r.territory_id JOIN territory.sales_users u ON u.id = r.user_id
	ORDER BY 1, 2};

# Two sessions, one per worker on the cluster, both on the one server; the steps in this order.
my @steps = (
	[ 0, q{BEGIN; INSERT INTO leads VALUES (1, 'web', NULL)} ],
	[ 1, q{BEGIN; INSERT INTO leads VALUES (2, 'web', NULL), (3, 'partner', NULL)} ],
	[ 0, q{SAVEPOINT s; INSERT INTO leads VALUES (4, 'web', NULL); ROLLBACK TO SAVEPOINT s;
		   INSERT INTO leads VALUES (5, 'web', NULL)} ],
	[ 1, q{INSERT INTO leads VALUES (6, 'web', NULL); ROLLBACK} ],
	[ 0, q{COMMIT} ],
	[ 1, q{INSERT INTO leads VALUES (7, 'web', NULL), (8, 'partner', NULL), (9, 'web', NULL)} ],
	[ 0, q{BEGIN; INSERT INTO leads VALUES (10, 'web', NULL); ROLLBACK} ],
	[ 1, q{INSERT INTO leads VALUES (11, 'web', NULL), (12, 'web', 'zed')} ],
	[ 0, q{DO $$ BEGIN
		     BEGIN INSERT INTO leads VALUES (13, 'web', NULL); RAISE EXCEPTION 'undone'; EXCEPTION WHEN raise_exception THEN NULL; END;
		     INSERT INTO leads VALUES (14, 'web', NULL);
		   END $$} ],
	[ 1, q{BEGIN; SAVEPOINT a; INSERT INTO leads VALUES (15, 'partner', NULL); SAVEPOINT b;
		   INSERT INTO leads VALUES (16, 'partner', NULL); RELEASE SAVEPOINT b; ROLLBACK TO SAVEPOINT a;
		   INSERT INTO leads VALUES (17, 'partner', NULL); COMMIT} ],
	[ 0, q{INSERT INTO leads SELECT g, CASE WHEN g % 3 = 0 THEN 'partner' ELSE 'web' END, NULL FROM generate_series(20, 39) g} ],
	[ 1, q{BEGIN; INSERT INTO leads SELECT g, 'web', NULL FROM generate_series(40, 44) g} ],
	[ 0, q{INSERT INTO leads VALUES (45, 'web', NULL)} ],
	[ 1, q{COMMIT} ]);
my %results;
for my $run ([ 'single', $single, $single ], [ 'cluster', @workers ])
{
	my ($name, @nodes) = @$run;
	my @sessions = map { $_->background_psql($db) } @nodes;
	for my $step (@steps)
	{
		my ($s, $sql) = @$step;
		$sessions[$s]->query_safe($sql);
	}
	$_->quit for @sessions;
	my $node = $name eq 'single' ? $single : $coordinator;
	$results{$name} = [ map { $node->safe_psql($db, $_) } ($owners, $counts, $turns) ];
}
is($results{cluster}[0], $results{single}[0], 'through two workers each lead written alone has the owner it has on one server');
is($results{cluster}[1], $results{single}[1], 'every member has as many leads as on one server');
is($results{cluster}[2], $results{single}[2], 'and the turns on the coordinator are those of one server');
is($coordinator->safe_psql($db, 'SELECT owner_id FROM leads WHERE id = 12'), 'zed', 'a lead given its owner keeps it');

# Fair per territory: the owners differ by at most one, the turns are 1 .. n without a gap, one
# per lead that got an owner, each member's as many as its leads.
sub fairness
{
	my ($what) = @_;
	my $check = q{
		WITH leads_of AS (
			SELECT t.code, l.owner_id, count(*) AS n
			  FROM leads l JOIN territory.rules r ON r.name = l.source || ' leads'
			  JOIN territory.territories t ON t.id = r.territory_id
			 WHERE l.owner_id IS DISTINCT FROM 'zed' GROUP BY 1, 2),
		turns_of AS (
			SELECT t.code, u.key AS owner_id, count(*) AS n, max(r.turn) AS last
			  FROM territory.rotations r JOIN territory.territories t ON t.id = r.territory_id
			  JOIN territory.sales_users u ON u.id = r.user_id GROUP BY 1, 2)
		SELECT l.code, max(l.n) - min(l.n), bool_and(l.n = tu.n), sum(l.n) = max(tu.last)
		  FROM leads_of l JOIN turns_of tu USING (code, owner_id) GROUP BY 1 ORDER BY 1};
	my @rows = split /\n/, $coordinator->safe_psql($db, $check);
	is(scalar(@rows), 2, "$what: both territories");
	for my $row (@rows)
	{
		my ($code, $spread, $same, $contiguous) = split /\|/, $row;
		ok($spread <= 1, "$what: the owners of $code differ by at most one ($spread)");
		is($same, 't', "$what: each member of $code has as many turns as leads");
		is($contiguous, 't', "$what: the turns of $code are 1 .. n, one per lead");
	}
}
fairness('after the interleaving');

# Concurrent clients through both workers at once: three per worker, 60 leads each.
my $script = PostgreSQL::Test::Utils::tempdir() . '/lead.sql';
sub burst
{
	my ($rollback) = @_;
	open my $fh, '>', $script or die $!;
	print $fh qq{\\set n :n + 1
\\set r random(1, 10)
BEGIN;
INSERT INTO leads VALUES (:base + :client_id * 10000 + :n, CASE WHEN :r <= 7 THEN 'web' ELSE 'partner' END, NULL);
\\if :r <= $rollback
ROLLBACK;
\\else
COMMIT;
\\endif
};
	close $fh;
	my @runs;
	for my $i (0, 1)
	{
		my $base = (1 + $i) * 1000000 + ($rollback ? 100000 : 0);
		my ($out, $err) = ('', '');
		push @runs, [ IPC::Run::start([ 'pgbench', '-n', '-c', '3', '-j', '3', '-t', '60', '-D', 'n=0', '-D', "base=$base",
				'-f', $script, '-h', $workers[$i]->host, '-p', $workers[$i]->port, $db ], '>', \$out, '2>', \$err), \$out, \$err ];
	}
	for my $r (@runs)
	{
		ok($r->[0]->finish, 'pgbench through a worker') or diag(${ $r->[2] });
		like(${ $r->[1] }, qr/number of failed transactions: 0 /, 'no transaction failed')
		  if ${ $r->[1] } =~ /failed transactions/;
	}
}
use IPC::Run ();
burst(0);
is($coordinator->safe_psql($db, 'SELECT count(*) FROM leads WHERE id > 1000000'), '360', 'the 360 leads of the clients');
fairness('after concurrent inserts through both workers');

# With a rollback in ten: every turn given back is handed out again first; at most one per client
# is still waiting when the clients end, and the next inserts take them.
burst(1);
my $gaps = $coordinator->safe_psql($db, q{SELECT sum(last - n) FROM (SELECT max(turn) AS last, count(*) AS n
	FROM territory.rotations GROUP BY territory_id) g});
ok($gaps <= 6, "at most one turn given back per client is still to hand out ($gaps)");
$workers[0]->safe_psql($db, qq{INSERT INTO leads SELECT 3000000 + g, s, NULL FROM generate_series(1, $gaps) g,
	unnest(ARRAY['web', 'partner']) s});
fairness('after concurrent inserts with rollbacks and as many more as turns were given back');

# A worker that cannot reach the coordinator refuses the record; nothing is written.
$coordinator->stop;
like((run_sql($workers[1], $db, q{INSERT INTO leads VALUES (99, 'web', NULL)}))[2],
	qr/ERROR:\s+08001: could not connect to the coordinator/, 'without the coordinator a new lead is refused (08001)');
is($workers[1]->safe_psql($db, q{SELECT count(*) FROM leads WHERE id = 99}), '0', 'and not written');
is($workers[1]->safe_psql($db, q{INSERT INTO leads VALUES (98, 'web', 'zed') RETURNING owner_id}), 'zed',
	'a lead given its owner needs no turn');
$coordinator->start;
is($workers[1]->safe_psql($db, q{INSERT INTO leads VALUES (99, 'web', NULL) RETURNING owner_id <> ''}), 't',
	'with the coordinator back, the worker connects again');
fairness('after the coordinator came back');

for my $node ($single, $coordinator, @workers)
{
	no_crash_since($node, 0, $node->name . ': no backend crashed');
}
$_->stop for ($coordinator, @workers, $single);
done_testing();

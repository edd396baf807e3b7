# Round robin is fair across a Citus cluster: the workers take the turns of a territory on the
# coordinator (src/remote.c), in a transaction there that mirrors the record's, so that concurrent
# inserts through both workers take consecutive turns and a rolled-back insert gives its turn back.
# The same interleaving of two sessions (savepoints, rollbacks, a PL/pgSQL exception block,
# INSERT ... SELECT) runs on one server and through the two workers, and gives every lead the
# same owner; then concurrent clients through both workers (pgbench) leave the owners of each
# territory differing by at most one, and the turns on the coordinator are every committed
# record's; a worker that cannot reach the coordinator refuses the record and changes nothing.
# Load balancing: the same transactions through the two workers give the owners of one server,
# and concurrent clients through both keep the members within one record (src/inflight.c).
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

# Load balancing across the cluster: the workers pick the member with the fewest open records on
# the coordinator, which counts the cluster's records and the owners it gave to records not
# committed yet (src/inflight.c).  The same transactions, one after the other through the two
# sessions, give every record written alone the owner it gets on one server, and every member as
# many records; then concurrent clients through both workers, writing several records a
# statement over both workers, keep the members of each territory within one record.
my $balanced = q{
	SET client_min_messages = warning;
	SELECT territory.set_owner_assignment(id, 'load_balanced') FROM territory.territories WHERE code IN ('IN', 'PA');
	CREATE TABLE calls (id bigint PRIMARY KEY, source text, owner_id text);
	\if :cluster
	SELECT create_distributed_table('calls', 'id', colocate_with => 'leads');
	\endif
	SELECT territory.manage_table('calls', 'lead');
	SELECT territory.add_rule(t.id, format('source = %L', s), s || ' calls', 'calls')
	  FROM territory.territories t JOIN (VALUES ('IN', 'web'), ('PA', 'partner')) v(code, s) USING (code);
};
for my $node ([ $single, 'off' ], [ $coordinator, 'on' ])
{
	my ($ret, $out, $err) = run_sql($node->[0], $db, "\\set cluster $node->[1]\n$balanced");
	is($ret, 0, $node->[0]->name . ': the territories balance the load of a call table') or diag($err);
}
my @calls = (
	[ 0, q{INSERT INTO calls VALUES (1, 'web', NULL)} ],
	[ 1, q{INSERT INTO calls VALUES (2, 'web', NULL), (3, 'partner', NULL)} ],
	[ 0, q{BEGIN; SAVEPOINT s; INSERT INTO calls VALUES (4, 'web', NULL); ROLLBACK TO SAVEPOINT s;
		   INSERT INTO calls VALUES (5, 'web', NULL); COMMIT} ],
	[ 1, q{BEGIN; INSERT INTO calls VALUES (6, 'web', NULL); ROLLBACK} ],
	[ 0, q{INSERT INTO calls VALUES (7, 'web', 'ann')} ],
	[ 1, q{DO $$ BEGIN
		     BEGIN INSERT INTO calls VALUES (8, 'web', NULL); RAISE EXCEPTION 'undone'; EXCEPTION WHEN raise_exception THEN NULL; END;
		     INSERT INTO calls VALUES (9, 'web', NULL);
		   END $$} ],
	[ 0, q{INSERT INTO calls SELECT g, CASE WHEN g % 3 = 0 THEN 'partner' ELSE 'web' END, NULL FROM generate_series(10, 29) g} ],
	[ 1, q{BEGIN; INSERT INTO calls SELECT g, 'web', NULL FROM generate_series(30, 33) g; INSERT INTO calls VALUES (34, 'web', NULL); COMMIT} ],
	[ 0, q{INSERT INTO calls VALUES (35, 'web', NULL)} ],
	[ 1, q{UPDATE calls SET owner_id = 'cyd' WHERE id = 1} ],
	[ 0, q{INSERT INTO calls VALUES (36, 'web', NULL)} ],
	[ 1, q{DELETE FROM calls WHERE id IN (2, 3)} ],
	[ 0, q{INSERT INTO calls VALUES (37, 'web', NULL), (38, 'partner', NULL)} ],
	[ 1, q{INSERT INTO calls VALUES (39, 'web', NULL)} ]);
my $alone = q{SELECT id, owner_id FROM calls WHERE id IN (1, 5, 9, 34, 35, 36, 39) ORDER BY id};
my $per_member = q{SELECT source, owner_id, count(*) FROM calls GROUP BY 1, 2 ORDER BY 1, 2};
for my $run ([ 'single', $single, $single ], [ 'cluster', @workers ])
{
	my ($name, @nodes) = @$run;
	my @sessions = map { $_->background_psql($db) } @nodes;
	$sessions[ $_->[0] ]->query_safe($_->[1]) for @calls;
	$_->quit for @sessions;
	my $node = $name eq 'single' ? $single : $coordinator;
	$results{$name} = [ map { $node->safe_psql($db, $_) } ($alone, $per_member) ];
}
is($results{cluster}[0], $results{single}[0], 'load balancing: each call written alone has the owner it has on one server');
is($results{cluster}[1], $results{single}[1], 'load balancing: every member has as many calls as on one server');

# Concurrent clients through both workers, three each, a rollback in ten, three calls a statement
# (on shards of both workers): a pick waits for the other transactions that gave owners in its
# territory, as on one server, not for the other backends of its own; no transaction fails, and
# the members of each territory end within one call of each other.
open my $fh, '>', $script or die $!;
print $fh q{\set n :n + 1
\set r random(1, 10)
\set k :base + :client_id * 10000 + :n * 3
BEGIN;
INSERT INTO calls SELECT :k + g, CASE WHEN :r <= 7 THEN 'web' ELSE 'partner' END, NULL FROM generate_series(0, 2) g;
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
};
close $fh;
my @runs;
for my $i (0, 1)
{
	my ($out, $err) = ('', '');
	push @runs, [ IPC::Run::start([ 'pgbench', '-n', '-c', '3', '-j', '3', '-t', '30', '-D', 'n=0', '-D', 'base=' . (1 + $i) * 1000000,
			'-f', $script, '-h', $workers[$i]->host, '-p', $workers[$i]->port, $db ], '>', \$out, '2>', \$err), \$out, \$err ];
}
for my $r (@runs)
{
	ok($r->[0]->finish, 'pgbench through a worker, load balancing') or diag(${ $r->[2] });
	note($1) if ${ $r->[1] } =~ /^(latency average.*)$/m;
	like(${ $r->[1] }, qr/number of failed transactions: 0 /, 'no transaction failed')
	  if ${ $r->[1] } =~ /failed transactions/;
}
my $committed = $coordinator->safe_psql($db, 'SELECT count(*) FROM calls WHERE id > 1000000');
ok($committed >= 300 && $committed % 3 == 0, "the calls of the committed transactions ($committed)");
my @spread = split /\n/, $coordinator->safe_psql($db, q{
	SELECT t.code, max(coalesce(c.n, 0)) - min(coalesce(c.n, 0))
	  FROM territory.territories t JOIN territory.members m ON m.territory_id = t.id
	  JOIN territory.sales_users u ON u.id = m.user_id
	  LEFT JOIN (SELECT owner_id, count(*) AS n FROM calls GROUP BY 1) c ON c.owner_id = u.key
	 WHERE t.code IN ('IN', 'PA') GROUP BY 1 ORDER BY 1});
is(scalar(@spread), 2, 'load balancing: both territories');
for my $row (@spread)
{
	my ($code, $spread) = split /\|/, $row;
	ok($spread <= 1, "load balancing: the members of $code are within one call ($spread)");
}

# Two transactions giving owners in two load-balanced territories in opposite orders deadlock, on
# the cluster as on one server, and the same one fails (40P01): the one that waited first when the
# second closes the cycle within deadlock_timeout (1 s), the second otherwise.
sub deadlock
{
	my ($gap, $base, @nodes) = @_;
	my @sessions = map { $_->background_psql($db, on_error_stop => 0) } @nodes;
	$sessions[0]->query_safe(qq{BEGIN; INSERT INTO calls VALUES ($base, 'web', NULL)});
	$sessions[1]->query_safe(qq{BEGIN; INSERT INTO calls VALUES ($base + 1, 'partner', NULL)});
	$sessions[0]->query_until(qr/waiting/, "\\echo waiting\nINSERT INTO calls VALUES ($base + 2, 'partner', NULL);\n");
	select(undef, undef, undef, $gap);
	$sessions[1]->query(qq{INSERT INTO calls VALUES ($base + 3, 'web', NULL)});
	my $second = $sessions[1]->{stderr};
	$sessions[1]->{stderr} = '';
	$sessions[0]->query('COMMIT');
	my $first = $sessions[0]->{stderr};
	$sessions[1]->query('COMMIT');
	$_->quit for @sessions;
	my $node = $nodes[0] == $single ? $single : $coordinator;
	return join(' / ', ($first =~ /deadlock detected/ ? 'the first fails' : 'the first writes'),
		($second =~ /deadlock detected/ ? 'the second fails' : 'the second writes'),
		$node->safe_psql($db, qq{SELECT string_agg((id - $base) || '', ',' ORDER BY id) FROM calls WHERE id BETWEEN $base AND $base + 3}));
}
for my $case ([ 0.2, 50, 'the first fails / the second writes / 1,3' ], [ 2.5, 60, 'the first writes / the second fails / 0,2' ])
{
	my ($gap, $base, $expected) = @$case;
	is(deadlock($gap, $base, $single, $single), $expected, "one server, the second waiting $gap s after the first: $expected");
	is(deadlock($gap, $base, @workers), $expected, "the cluster: the same");
}

# The coordinator's function for the workers: refused on a worker, with arrays that do not match,
# and for a record key longer than the coordinator remembers; nothing is kept of a refused pick.
my $members = q{(SELECT array_agg(u.id ORDER BY u.key) FROM territory.sales_users u WHERE u.key IN ('pia', 'pat'))};
my $keys = q{'{pat,pia}'::text[]};
my $territory = q{(SELECT id FROM territory.territories WHERE code = 'PA')};
is(sqlstate_of($workers[0], $db, qq{SELECT territory._pick_fewest($territory, 'calls', '1', $members, $keys, '')}), '55000',
	'a worker picks on the coordinator only (55000)');
is(sqlstate_of($coordinator, $db, qq{SELECT territory._pick_fewest($territory, 'calls', '1', $members, '{pat}', '')}), '22023',
	'as many keys as members (22023)');
is(sqlstate_of($coordinator, $db, qq{SELECT territory._pick_fewest($territory, 'calls', '1', '{}', '{}', '')}), '22023',
	'at least one member (22023)');
is(sqlstate_of($coordinator, $db, qq{SELECT territory._pick_fewest($territory, 'calls', repeat('9', 256), $members, $keys, '')}), '0A000',
	'a record key of 256 bytes is refused (0A000)');
is(sqlstate_of($coordinator, $db, qq{SELECT territory._pick_fewest($territory, 'no_such_table', '1', $members, $keys, '')}), '42P01',
	'a table that does not exist (42P01)');
is(sqlstate_of($coordinator, $db, qq{SELECT territory._pick_fewest($territory, 'territory.models', '1', $members, $keys, '')}), '55000',
	'a table that territory does not manage (55000)');
is($coordinator->safe_psql($db, qq{BEGIN; SELECT territory._pick_fewest($territory, 'calls', '99', $members, $keys, '') IS NOT NULL; ROLLBACK}), 't',
	'a pick rolled back on the coordinator');
my $fewest = $coordinator->safe_psql($db, q{SELECT CASE WHEN count(*) FILTER (WHERE owner_id = 'pat') <= count(*) FILTER (WHERE owner_id = 'pia')
	THEN 'pat' ELSE 'pia' END FROM calls});
is($workers[1]->safe_psql($db, q{INSERT INTO calls VALUES (40, 'partner', NULL) RETURNING owner_id}), $fewest,
	'and the next record goes to the member with the fewest calls');

for my $node ($single, $coordinator, @workers)
{
	no_crash_since($node, 0, $node->name . ': no backend crashed');
}
$_->stop for ($coordinator, @workers, $single);
done_testing();

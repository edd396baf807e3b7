# Crash restart: kill -9 of the backend running run_rules() in the middle of the run; after crash
# recovery the data, the history and the progress table agree, and the run resumes and ends
# with exactly the assignments and history of an uninterrupted run.  Round robin continues its
# turns across a crash restart, an immediate shutdown and a restart with the library preloaded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TerritoryServer;

my $rows = 30000;
my $batch = 100;

my $node = PostgreSQL::Test::Cluster->new('crash', port => 55412);
$node->init;
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
log_statement = none
shared_buffers = 64MB
});
$node->start;

my $fixture = slurp_file("$FindBin::RealBin/crash_fixture.sql");
for my $db (qw(killed reference))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "\\set rows $rows\n" . $fixture);
}

# Round robin: a territory with three members in rotation, in its own database.
$node->safe_psql('postgres', 'CREATE DATABASE rr');
$node->safe_psql('rr', q{
	SET client_min_messages = warning;
	CREATE EXTENSION territory;
	CREATE TABLE leads (id int PRIMARY KEY, country text, owner_id text);
	SELECT territory.manage_table('leads', 'lead');
	SELECT territory.add_territory('Germany', code => 'DE') AS de \gset
	SELECT territory.add_rule(:de, $$country = 'DE'$$, tbl => 'leads');
	SELECT territory.add_user(k, initcap(k)) FROM unnest('{ann,bob,cyd}'::text[]) k;
	SELECT territory.add_member(:de, k) FROM unnest('{cyd,ann,bob}'::text[]) k;
	SELECT territory.set_owner_assignment(:de, 'round_robin');
});
my $next_lead = 1;
sub insert_leads
{
	my ($n) = @_;
	# one statement per lead and a multi-row one, so that both kinds take turns
	my $sql = '';
	for (1 .. $n - 3)
	{
		$sql .= "INSERT INTO leads VALUES ($next_lead, 'DE', NULL);\n";
		$next_lead++;
	}
	$sql .= "INSERT INTO leads VALUES ($next_lead, 'DE', NULL), (" . ($next_lead + 1) . ", 'DE', NULL), (" . ($next_lead + 2) . ", 'DE', NULL);\n";
	$next_lead += 3;
	$node->safe_psql('rr', $sql);
}

# The turns so far: contiguous from 1, each the ((n - 1) mod 3)-th member in key order, the
# same owner on the lead, and counts per member at most one apart.
sub check_turns
{
	my ($when) = @_;
	my $n = $next_lead - 1;
	is($node->safe_psql('rr', 'SELECT count(*), count(DISTINCT turn), min(turn), max(turn) FROM territory.rotations'),
		"$n|$n|1|$n", "round robin $when: turns 1..$n, none twice, none missing");
	is($node->safe_psql('rr', q{
		SELECT count(*) FROM territory.rotations r JOIN territory.sales_users u ON u.id = r.user_id
		 WHERE u.key <> (ARRAY['ann','bob','cyd'])[1 + (r.turn - 1) % 3]}), '0',
		"round robin $when: every turn went to the member whose turn it was");
	is($node->safe_psql('rr', q{SELECT count(*) FROM leads WHERE owner_id IS NULL}), '0',
		"round robin $when: every lead has an owner");
	is($node->safe_psql('rr', q{SELECT max(c) - min(c) <= 1 FROM (SELECT owner_id, count(*) c FROM leads GROUP BY 1) s}),
		't', "round robin $when: counts per member at most one apart");
	is($node->safe_psql('rr', q{
		SELECT count(*) FROM (SELECT l.owner_id, count(*) c FROM leads l GROUP BY 1) a
		  FULL JOIN (SELECT u.key, count(*) c FROM territory.rotations r JOIN territory.sales_users u ON u.id = r.user_id GROUP BY 1) b
		    ON a.owner_id = b.key WHERE a.c IS DISTINCT FROM b.c}), '0',
		"round robin $when: the owners of the leads are those of the turns");
}
insert_leads(8);
check_turns('before the crash');

# The uninterrupted run.
$node->safe_psql('reference', "CALL territory.run_rules('accounts', $batch)");
is($node->safe_psql('reference', q{SELECT state, changed > 0 FROM territory.rule_runs}), 'finished|t',
	'the reference run finished and changed records');

# The run to kill, in the background.
my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('killed'), '-c', "CALL territory.run_rules('accounts', $batch)" ],
	'<', \$in, '>', \$out, '2>', \$err);
ok($node->poll_query_until('killed',
		q{SELECT changed >= 3000 FROM territory.rule_runs WHERE state = 'running'}),
	'the run committed some batches');
my $pid = $node->safe_psql('killed',
	q{SELECT pid FROM pg_stat_activity WHERE datname = 'killed' AND query LIKE 'CALL territory.run_rules%'});
like($pid, qr/^\d+$/, 'the backend running run_rules() found');
my $log_before_kill = log_offset($node);
kill 'KILL', $pid;
$h->finish;
like($err, qr/server closed the connection unexpectedly|terminating connection|connection to server was lost/,
	'the run was interrupted by the kill');

# Crash recovery: the postmaster restarts every backend.
ok($node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'), 'the server is back after crash recovery');
my $log = slurp_file($node->logfile, $log_before_kill);
like($log, qr/server process \(PID $pid\) was terminated by signal 9/, 'the log tells of the killed backend');
my @unexpected = grep { !/\(PID $pid\) was terminated by signal 9/ } crash_lines($node, $log_before_kill);
@unexpected = grep { !/all server processes terminated; reinitializing|database system was interrupted/ } @unexpected;
is(join("\n", @unexpected), '', 'no other crash, no PANIC after the kill');

# After the crash: the run is still 'running', and its counters match the committed data.
my ($state, $processed, $changed, $next_block, $total_blocks) = split /\|/, $node->safe_psql('killed', q{
	SELECT state, processed, changed, next_block, pg_relation_size('accounts') / current_setting('block_size')::int
	  FROM territory.rule_runs});
is($state, 'running', 'the interrupted run is still running');
cmp_ok($changed, '>=', 3000, 'its committed progress survived');
cmp_ok($processed, '>=', $changed, 'it processed at least the records it changed');
cmp_ok($next_block, '>', 0, 'it has a block to resume at');
cmp_ok($next_block, '<', $total_blocks, 'it has blocks left');
# Every record with territories was assigned by a committed batch or by hand: its territories
# are what the rules give it, and the last history row of the record says the same; a record
# that the run did not reach yet has none and no history beyond the manual decisions.
is($node->safe_psql('killed', q{
	SELECT count(*) FROM accounts a
	 WHERE territories <> '{}' AND territories <> territory.compute_territories('accounts', a)}), '0',
	'every assigned record has the territories the rules give it');
is($node->safe_psql('killed', q{
	SELECT count(*) FROM accounts a
	  LEFT JOIN LATERAL (SELECT l.territories FROM territory.assignment_log l
	                      WHERE l.tbl = 'accounts'::regclass AND l.key = a.id::text ORDER BY l.id DESC LIMIT 1) h ON true
	 WHERE coalesce(h.territories, '{}') <> a.territories}), '0',
	"every record's territories are those of its last history row");
is($node->safe_psql('killed', q{
	SELECT count(*) FROM accounts a WHERE territories <> '{}' AND id NOT IN (5, 12)}),
	$changed, "the run's changed counter is the number of records its committed batches assigned");
is($node->safe_psql('killed', q{
	SELECT count(DISTINCT key) FROM territory.assignment_log WHERE tbl = 'accounts'::regclass AND key NOT IN ('5', '12')}),
	$changed, 'and the number of records with history');
is($node->safe_psql('killed', 'SELECT count(*) FROM territory.rule_run_pending'), '0', 'nothing pending');
cmp_ok($node->safe_psql('killed', q{SELECT count(*) FROM accounts WHERE territories = '{}'}), '>',
	$node->safe_psql('reference', q{SELECT count(*) FROM accounts WHERE territories = '{}'}),
	'records are left for the resumed run');

# Round robin after the crash restart.
insert_leads(7);
check_turns('after the crash restart');

# Resume.
my ($ret, $rout, $rerr) = run_sql($node, 'killed', "CALL territory.run_rules('accounts', $batch)");
is($ret, 0, 'the resumed run succeeds') or diag($rerr);
like($rerr, qr/resuming run \d+ at block $next_block\b/, 'the run resumes at the block where the committed batches ended');
like($rerr, qr/\(100%\)/, 'the resumed run reports reaching 100%');
is($node->safe_psql('killed', 'SELECT count(*), min(state) FROM territory.rule_runs'), '1|finished',
	'the resumed run finished (the same run row)');

# The result equals the uninterrupted run's.
same_results('assignments equal those of an uninterrupted run', $node, 'reference', $node, 'killed',
	'SELECT id, territories FROM accounts ORDER BY id');
same_results('history equals that of an uninterrupted run', $node, 'reference', $node, 'killed', q{
	SELECT tbl::text, key, territories, added, added_causes, removed, removed_causes
	  FROM territory.assignment_log ORDER BY key COLLATE "C", id});
same_results('one history row per changed record', $node, 'reference', $node, 'killed', q{
	SELECT count(*), count(DISTINCT key) FROM territory.assignment_log});
same_results('the changed counter of the finished run', $node, 'reference', $node, 'killed',
	q{SELECT state, changed FROM territory.rule_runs});

# Round robin across an immediate shutdown (a crash of the whole server) and a restart with the
# library in shared_preload_libraries (the counters then live in memory reserved at start).
$node->stop('immediate');
$node->start;
insert_leads(5);
check_turns('after an immediate shutdown');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'territory'\n");
$node->stop('immediate');
$node->start;
insert_leads(6);
check_turns('after a restart with the library preloaded');
$node->restart;
insert_leads(4);
check_turns('after a clean restart');

my @panics = grep { /PANIC:/ } crash_lines($node, 0);
is(join("\n", @panics), '', 'no PANIC in the server log');
my @signals = grep { /terminated by signal/ && !/\(PID $pid\) was terminated by signal 9/ } crash_lines($node, 0);
is(join("\n", @signals), '', 'no backend killed by a signal but the one we killed');

$node->stop;
done_testing();

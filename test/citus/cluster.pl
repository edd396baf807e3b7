# The configuration on a Citus cluster answers as on one server.  One PostgreSQL 15 server with
# territory, and a Citus cluster of a coordinator and two workers on loopback
# (shared_preload_libraries = 'citus,territory'); the same configuration (config.sql) is written
# to the server and through the coordinator, territory.enable_citus() puts it on every node,
# and the hierarchy, identity and visibility functions answer on the coordinator and on each
# worker what they answer on the server: after the configuration, again after changes made
# through the coordinator (changes.sql), including in a worker session whose caches were filled
# before the change.  Skipped when Citus is not installed (scripts/build-citus).
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
my @cluster = ($coordinator, @workers);
for my $w (@workers)
{
	is($w->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'territory'}),
		$single->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'territory'}),
		$w->name . ': CREATE EXTENSION territory on the coordinator reached it');
}

my $config = slurp_file("$FindBin::RealBin/config.sql");
my $changes = slurp_file("$FindBin::RealBin/changes.sql");
for my $node ($single, $coordinator)
{
	my ($ret, $out, $err) = run_sql($node, $db, $config);
	is($ret, 0, $node->name . ': the configuration is written') or diag($err);
}

# before enable_citus(): each worker has the configuration that CREATE EXTENSION made, not the
# coordinator's
isnt($workers[0]->safe_psql($db, 'SELECT count(*) FROM territory.territories'),
	$coordinator->safe_psql($db, 'SELECT count(*) FROM territory.territories'),
	'before enable_citus() a worker does not have the coordinator\'s territories');
is(sqlstate_of($workers[0], $db, 'SELECT territory.enable_citus()'), '55000', 'enable_citus() refuses to run on a worker');
is(sqlstate_of($single, $db, 'SELECT territory.enable_citus()'), '55000', 'enable_citus() refuses a database without Citus');
my ($ret, $out, $err) = run_sql($coordinator, $db, 'SET client_min_messages = warning; SELECT territory.enable_citus()');
is($ret, 0, 'enable_citus() puts the configuration on every node') or diag($err);
($ret, $out, $err) = run_sql($coordinator, $db, 'SET client_min_messages = warning; SELECT territory.enable_citus()');
is($ret, 0, 'enable_citus() again changes nothing') or diag($err);
is($coordinator->safe_psql($db, q{
	SELECT count(*) FROM pg_dist_partition
	 WHERE logicalrelid::regclass::text = ANY (SELECT 'territory.' || t FROM unnest(territory._citus_tables()) t)
	   AND partmethod = 'n'}),
	$coordinator->safe_psql($db, 'SELECT cardinality(territory._citus_tables())'),
	'the configuration tables are reference tables');

# What every node must answer as the single server does.
my $answers = q{
	SELECT * FROM territory.tree();
	SELECT a.code, d.code FROM territory.territories a, territory.territories d
	 WHERE a.model_id = territory.active_model() AND d.model_id = a.model_id
	   AND territory.is_ancestor(a.id, d.id) ORDER BY 1, 2;
	SELECT t.code, territory.path(t.id), territory.depth(t.id), array(SELECT territory.descendants(t.id) ORDER BY 1)
	  FROM territory.territories t WHERE t.model_id = territory.active_model() ORDER BY t.id;
	SELECT s::text FROM territory.stages s ORDER BY position;
	SELECT r.stage FROM territory.removed_stages r ORDER BY 1;
	SELECT m.id, m.name, m.state, m.version, m.activated_at IS NOT NULL, m.archived_at IS NOT NULL
	  FROM territory.models m ORDER BY m.id;
	SELECT t.id, t.model_id, t.code, t.name, t.parent_id, t.type_id FROM territory.territories t ORDER BY t.id;
	SELECT u.key, u.name, m.key FROM territory.sales_users u LEFT JOIN territory.sales_users m ON m.id = u.manager_id
	 ORDER BY u.id;
};
for my $k (qw(olga vera emma dave fred adam wes kim zed nobody))
{
	$answers .= qq{
	BEGIN; SELECT set_config('territory.user', '$k', true) \\g /dev/null
	SELECT '$k', territory.current_user_id(), territory.visible_territories('account'),
	       territory.visible_territories('deal'), territory.visible_territories('lead', 'edit'),
	       territory.visible_owners(), territory.sees_all();
	COMMIT;};
}

sub compare_all
{
	my ($when) = @_;
	for my $node (@cluster)
	{
		same_results("$when: " . $node->name . ' answers as one server', $single, $db, $node, $db, $answers);
	}
}
compare_all('after enable_citus()');

# A session on a worker that filled its caches before the changes sees them at its next
# statement.
my $session = $workers[1]->background_psql($db);
my $probe = q{SELECT territory.path(id), array(SELECT territory.children(id) ORDER BY 1) FROM territory.territories
	 WHERE code IN ('BR', 'EMEA') AND model_id = territory.active_model() ORDER BY id;
	BEGIN; SELECT set_config('territory.user', 'kim', true) \g /dev/null
	SELECT territory.visible_territories('account'); COMMIT;
	BEGIN; SELECT set_config('territory.user', 'emma', true) \g /dev/null
	SELECT territory.visible_territories('deal'), territory.visible_owners(); COMMIT;};
is($session->query_safe($probe), $single->safe_psql($db, $probe), 'a worker session answers as one server before the changes');
for my $node ($single, $coordinator)
{
	my ($r, $o, $e) = run_sql($node, $db, $changes);
	is($r, 0, $node->name . ': the changes are made') or diag($e);
}
is($session->query_safe($probe), $single->safe_psql($db, $probe),
	'the worker session sees the changes made through the coordinator at its next statement');

# Refused changes are refused alike, and change nothing: a territory under its own descendant,
# a manager cycle, a territory in an archived model.
for my $bad (
	[ 'a territory moved under its descendant', q{SELECT territory.move_territory(e.id, d.id)
		FROM territory.territories e, territory.territories d
		WHERE e.code = 'EMEA' AND d.code = 'DACH' AND e.model_id = territory.active_model() AND d.model_id = e.model_id} ],
	[ 'a manager cycle', q{UPDATE territory.sales_users SET manager_id = (SELECT id FROM territory.sales_users WHERE key = 'dave')
		WHERE key = 'emma'} ],
	[ 'a territory added to an archived model', q{SELECT territory.add_territory('Late', t.id, 'LATE')
		FROM territory.territories t JOIN territory.models m ON m.id = t.model_id
		WHERE m.name = 'next year' AND t.code = 'EMEA'} ])
{
	my ($what, $sql) = @$bad;
	my $expected = sqlstate_of($single, $db, $sql);
	isnt($expected, '', "one server refuses $what");
	is(sqlstate_of($coordinator, $db, $sql), $expected, "the coordinator refuses $what alike");
}
$session->quit;
compare_all('after the changes');

for my $node ($single, @cluster)
{
	no_crash_since($node, 0, $node->name . ': no backend crashed');
}
$_->stop for @cluster;
$single->stop;
done_testing();

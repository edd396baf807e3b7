# Hot standby: every read path of the extension works on a streaming replica and answers as the
# primary does; writes fail cleanly (25006) without crashing anything; configuration changes on
# the primary reach the standby's caches through WAL replay.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TerritoryServer;

my $db = 'crm';
my $primary = PostgreSQL::Test::Cluster->new('primary', port => 55410);
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "fsync = off\n");
$primary->start;
$primary->safe_psql('postgres', "CREATE DATABASE $db");
$primary->safe_psql('postgres', q{
	CREATE ROLE crm_app LOGIN;
	CREATE ROLE carol LOGIN;
	GRANT SET ON PARAMETER "territory.user" TO crm_app;
});
$primary->safe_psql($db, fixture_sql());
$primary->safe_psql($db, q{
	GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, leads, contacts, deals TO crm_app, carol;
	GRANT SELECT ON territory.rotations TO crm_app;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby', port => 55411);
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay');
my $standby_log = log_offset($standby);

is($standby->safe_psql($db, 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# Every read path, as a superuser.  Each query runs on both servers and must answer the same.
my $fy = "SET territory.fiscal_year_start_month = 7;\n";
my @reads = (
	[ 'models', 'SELECT id, name, state, assignment_policy FROM territory.models ORDER BY id' ],
	[ 'active model', 'SELECT territory.active_model()' ],
	[ 'tree', 'SELECT * FROM territory.tree()' ],
	[ 'tree of the planning model',
	  q{SELECT * FROM territory.tree((SELECT id FROM territory.models WHERE name = 'FY2027 plan'))} ],
	[ 'hierarchy functions', q{
	  SELECT id, array(SELECT territory.descendants(id)), array(SELECT territory.ancestors(id)),
	         array(SELECT territory.subtree(id)), array(SELECT territory.children(id)),
	         territory.depth(id), territory.path(id)
	    FROM territory.territories ORDER BY id} ],
	[ 'is_ancestor', q{
	  SELECT string_agg(a.id || '>' || b.id, ',' ORDER BY a.id, b.id)
	    FROM territory.territories a, territory.territories b
	   WHERE territory.is_ancestor(a.id, b.id)} ],
	[ 'to_dot', 'SELECT territory.to_dot()' ],
	[ 'explain', q{
	  SELECT k, e.* FROM unnest('{1,2,13,40,77}'::text[]) k, territory.explain('accounts', k) e
	   ORDER BY k, e.territory_id} ],
	[ 'explain a deal', q{SELECT * FROM territory.explain('deals', '7') ORDER BY territory_id} ],
	[ 'compute_territories agrees with the stored territories', q{
	  SELECT count(*), count(*) FILTER (WHERE territories = territory.compute_territories('accounts', a))
	    FROM accounts a} ],
	[ 'preview_model', q{
	  SELECT * FROM territory.preview_model((SELECT id FROM territory.models WHERE name = 'FY2027 plan'))
	   ORDER BY tbl::text, key} ],
	[ 'territories_at', q{
	  SELECT territory.territories_at('accounts', '1', now()),
	         territory.territories_at('leads', '200', now()),
	         territory.territories_at('accounts', '1', '2000-01-01')} ],
	[ 'assignment history', q{
	  SELECT id, tbl, key, territory_id, action, cause, rule_id FROM territory.assignment_history
	   ORDER BY id, territory_id, action} ],
	[ 'managed tables', q{
	  SELECT (SELECT string_agg(id || ':' || territories::text || ':' || coalesce(owner_id, '-'), ' ' ORDER BY id) FROM accounts),
	         (SELECT string_agg(id || ':' || territories::text || ':' || coalesce(owner_id, '-'), ' ' ORDER BY id) FROM leads),
	         (SELECT string_agg(id || ':' || territories::text, ' ' ORDER BY id) FROM contacts),
	         (SELECT string_agg(id || ':' || coalesce(territory_id::text, '-'), ' ' ORDER BY id) FROM deals)} ],
	[ 'rotations', 'SELECT territory_id, turn, user_id FROM territory.rotations ORDER BY 1, 2' ],
	[ 'forecast (quarter)', "SET timezone = UTC; SELECT * FROM territory.forecast('2026-Q4')" ],
	[ 'forecast (fiscal year)', $fy . "SET timezone = UTC; SELECT * FROM territory.forecast('FY2027')" ],
	[ 'forecast of a subtree', "SELECT * FROM territory.forecast('2026-Q4', (SELECT id FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model()))" ],
	[ 'forecast_periods', $fy . q{SELECT * FROM territory.forecast_periods('{2026-11,2026-Q4,2026,FY2027,FY2027-Q2}')} ],
	[ 'forecast_summary', 'SELECT * FROM territory.forecast_summary ORDER BY period_text, territory_id, user_key NULLS FIRST' ],
	[ 'revenue_by_territory', 'SELECT * FROM territory.revenue_by_territory ORDER BY 1, 2, 3' ],
	[ 'star_performers', 'SELECT * FROM territory.star_performers ORDER BY 1, 2, 3, 4' ],
	[ 'sales_cycle', 'SELECT * FROM territory.sales_cycle ORDER BY 1, 2' ],
	[ 'coverage', 'SELECT * FROM territory.coverage ORDER BY 1, 2, 3, 4, 5' ],
	[ 'balance', 'SELECT * FROM territory.balance ORDER BY 1, 2' ],
	[ 'target_gaps', 'SELECT * FROM territory.target_gaps ORDER BY 1, 2' ],
	[ 'targets', 'SELECT territory_id, period, territory.lower(period), territory.upper(period), user_id, amount, method FROM territory.targets ORDER BY id' ],
	[ 'snapshots', 'SELECT period, territory_id, user_key, path, target, closed_won, adjusted_commit FROM territory.forecast_snapshots ORDER BY id' ],
	[ 'route_call', q{
	  SELECT d, c, r.* FROM (VALUES ('+49 30 1234568', '+49 711 400 40005'), ('+49 30 1234567', '+33 6 12 34 03 00'),
	                                ('+49 30 1234567', NULL), ('+1 415 555 0100', '+1 212 555 0199'),
	                                ('+33 1 23 45 67 89', '+49 711 400 40010')) v(d, c),
	         territory.route_call(d, c) r ORDER BY 1, 2, 3} ],
	[ 'phone functions', q{
	  SELECT territory.normalize_phone('+49 (0)30 123 45 67'), territory.try_normalize_phone('030 1234567'),
	         (territory.parse_phone('+1 415 555 0100 ext. 12')).*} ],
	[ 'periods', $fy . q{
	  SELECT p, territory.kind(p), territory.lower(p), territory.upper(p), territory.next(p, 2)
	    FROM unnest('{2026-11,2026-Q4,2026,FY2027,FY2027-Q1}'::territory.period[]) p} ],
);
for my $r (@reads)
{
	same_results("standby reads: $r->[0]", $primary, $db, $standby, $db, $r->[1]);
}

# Visibility: the helpers and the row-level-security filtered tables, as every sales user, an
# unknown key and nobody, through the pooled role (crm_app, SET territory.user) and as a login
# mapped to a sales user (carol).
my @keys = split /\n/, $primary->safe_psql($db, 'SELECT key FROM territory.sales_users ORDER BY key');
push @keys, 'nobody-at-all', '';
my $visibility_sql = q{
	SELECT territory.current_user_id(), territory.sees_all(), territory.visible_owners();
	SELECT k, territory.visible_territories(k), territory.visible_territories(k, 'edit')
	  FROM unnest('{account,lead,contact,deal}'::text[]) k;
	SELECT 'accounts', count(*), string_agg(id::text, ',' ORDER BY id) FROM accounts;
	SELECT 'leads', count(*), string_agg(id::text, ',' ORDER BY id) FROM leads;
	SELECT 'contacts', count(*), string_agg(id::text, ',' ORDER BY id) FROM contacts;
	SELECT 'deals', count(*), string_agg(id::text, ',' ORDER BY id) FROM deals;
	SELECT count(*) FILTER (WHERE territory.can_read(territories, owner_id)),
	       count(*) FILTER (WHERE territory.can_edit(territories, owner_id)) FROM accounts;
	SELECT period_text, territory_id, user_key, closed_won, commit FROM territory.forecast_summary
	 ORDER BY 1, 2, 3 NULLS FIRST;
	SELECT * FROM territory.balance ORDER BY 1, 2;
};
my %seen;
for my $k (@keys)
{
	my $sql = "BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', '$k', true) \\g /dev/null\n"
	  . $visibility_sql . "COMMIT;";
	same_results("standby visibility as '$k'", $primary, $db, $standby, $db, $sql);
	my ($ret, $out) = run_sql($standby, $db,
		"BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', '$k', true) \\g /dev/null\n"
		  . "SELECT count(*) FROM accounts; COMMIT;");
	$seen{$k} = $out;
}
# the filter filters: the results differ between users as the product says
is($seen{'nobody-at-all'}, '0', 'an unknown sales user sees no account on the standby');
is($seen{''}, '0', 'no identity sees no account on the standby');
is($seen{olga}, '400', 'a user who sees all sees every account on the standby');
cmp_ok($seen{dave}, '>', 0, 'dave sees some accounts on the standby');
cmp_ok($seen{dave}, '<', $seen{emma}, 'dave sees fewer accounts than his manager emma on the standby');
same_results('standby visibility as the login carol', $primary, $db, $standby, $db,
	"BEGIN; SET LOCAL ROLE carol;\n" . $visibility_sql . "COMMIT;");

# Writes fail with 25006 (read-only transaction) and nothing crashes.
my @writes = (
	[ 'INSERT into a managed table', q{INSERT INTO accounts (id, country) VALUES (1000, 'DE')} ],
	[ 'INSERT of a lead that would take a round-robin turn', q{INSERT INTO leads (id, country) VALUES (1000, 'US')} ],
	[ 'UPDATE of a managed table', q{UPDATE accounts SET country = 'FR' WHERE id = 3} ],
	[ 'DELETE from a managed table', q{DELETE FROM deals WHERE id = 3} ],
	[ 'add_territory', q{SELECT territory.add_territory('Nordics', (SELECT id FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model()))} ],
	[ 'move_territory', q{SELECT territory.move_territory((SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()), (SELECT id FROM territory.territories WHERE code = 'G' AND model_id = territory.active_model()))} ],
	[ 'add_rule', q{SELECT territory.add_rule((SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()), $$country = 'BE'$$)} ],
	[ 'add_member', q{SELECT territory.add_member((SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()), 'kim')} ],
	[ 'assign', q{SELECT territory.assign('accounts', '3', (SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()))} ],
	[ 'run_rules', q{CALL territory.run_rules('accounts', 50)} ],
	[ 'run_rules of every table', q{CALL territory.run_rules()} ],
	[ 'set_target', q{SELECT territory.set_target((SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()), '2026-Q4', 1000)} ],
	[ 'split_target', q{SELECT * FROM territory.split_target((SELECT id FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model()), '2026-Q4')} ],
	[ 'adjust_forecast', q{SELECT territory.adjust_forecast((SELECT id FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model()), '2026-Q4', 'commit', 1)} ],
	[ 'snapshot_forecast', q{SELECT territory.snapshot_forecast('2026-Q4')} ],
	[ 'add_phone_number', q{SELECT territory.add_phone_number('+33 1 23 45 67 00', (SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()))} ],
	[ 'clone_model', q{SELECT territory.clone_model(territory.active_model(), 'copy')} ],
	[ 'enable_visibility', q{SELECT territory.enable_visibility('accounts')} ],
	[ 'INSERT as a sales user under row-level security',
	  q{BEGIN; SET LOCAL ROLE crm_app; SET LOCAL territory."user" = 'dave'; INSERT INTO accounts (id, country) VALUES (1001, 'DE'); COMMIT;} ],
);
for my $w (@writes)
{
	is(sqlstate_of($standby, $db, $w->[1]), '25006', "standby refuses $w->[0] with 25006");
}
is($standby->safe_psql($db, 'SELECT 1'), '1', 'the standby still answers after the refused writes');
no_crash_since($standby, $standby_log, 'no backend of the standby crashed');

# Configuration changes on the primary reach the standby, including sessions whose caches were
# filled before the change: keep one session open across the change.
my $session = $standby->background_psql($db);
my $probe = q{
	BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', 'fred', true) \g /dev/null
	SELECT territory.visible_territories('account'), (SELECT count(*) FROM accounts);
	COMMIT;
	SELECT territory.path(id), array(SELECT territory.ancestors(id)) FROM territory.territories
	 WHERE code = 'FR' AND model_id = territory.active_model();
	SELECT territory.is_ancestor((SELECT id FROM territory.territories WHERE code = 'EMEA' AND model_id = territory.active_model()),
	                             (SELECT id FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model()));
	SELECT (territory.route_call('+33 1 23 45 67 89', NULL)).reason;
};
my $before = $session->query_safe($probe);
my ($r0, $before_primary) = run_sql($primary, $db, $probe);
is($before, $before_primary, 'the long-lived standby session answers as the primary before the change');

$primary->safe_psql($db, q{
	SELECT territory.move_territory(f.id, g.id)
	  FROM territory.territories f, territory.territories g
	 WHERE f.code = 'FR' AND g.code = 'G' AND f.model_id = territory.active_model() AND g.model_id = f.model_id;
	SELECT territory.add_member(id, 'fred') FROM territory.territories WHERE code = 'UKI' AND model_id = territory.active_model();
	SELECT territory.add_member(id, 'dave', 'manager') FROM territory.territories WHERE code = 'FR' AND model_id = territory.active_model();
	SELECT territory.set_access(id, 'account', 'none') FROM territory.territories WHERE code = 'USE' AND model_id = territory.active_model();
	UPDATE territory.sales_users SET active = false WHERE key = 'wes';
	SELECT territory.add_rule(id, $$country = 'CN'$$) FROM territory.territories WHERE code = 'APAC' AND model_id = territory.active_model();
	INSERT INTO accounts (id, name, country, owner_id) VALUES (401, 'New', 'CN', NULL), (402, 'Newer', 'US', NULL);
	INSERT INTO leads (id, country) VALUES (201, 'US'), (202, 'US'), (203, 'US');
});
$primary->wait_for_catchup($standby, 'replay');

my $after = $session->query_safe($probe);
my ($r1, $after_primary) = run_sql($primary, $db, $probe);
isnt($after_primary, $before_primary, 'the change is visible on the primary');
is($after, $after_primary, 'the long-lived standby session sees the change (caches invalidated by WAL replay)');
$session->quit;

for my $r (@reads)
{
	same_results("standby reads after the change: $r->[0]", $primary, $db, $standby, $db, $r->[1]);
}
for my $k (@keys)
{
	same_results("standby visibility after the change as '$k'", $primary, $db, $standby, $db,
		"BEGIN; SET LOCAL ROLE crm_app; SELECT set_config('territory.user', '$k', true) \\g /dev/null\n"
		  . $visibility_sql . "COMMIT;");
}

no_crash_since($standby, $standby_log, 'no backend of the standby crashed, at the end');
no_crash_since($primary, 0, 'no backend of the primary crashed');

$standby->stop;
$primary->stop;
done_testing();

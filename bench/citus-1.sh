#!/usr/bin/env bash
# citus-1: territory on a Citus cluster.  Loading the accounts of match-1 through the coordinator
# of a cluster (a coordinator and two workers on loopback, started here) into a managed
# distributed table, against the same load into the same distributed table unmanaged; the same
# two loads into local tables of the benchmark's own server, for the single-server ratio of the
# same run; and a restricted user's count(*) of the distributed accounts through the policies
# (SET LOCAL territory."user" as an application role) against the hand-written filter; and new
# leads, one per transaction, given their owner by round robin and by load balancing against the
# same leads written with their owner, through the coordinator and on one server.
# Targets (issue 15): the time the extension adds to the load, over the bare load, no more on the
# cluster than on one server; the query ≤ 1.10× the hand-written one.
#
# Run by bench/run (bench/run S citus-1) with the benchmark's database, bench/lib.sql loaded, as
# its argument.  Needs Citus for this PostgreSQL (scripts/build-citus builds it from the vendored
# tarball); without it the benchmark records that it was skipped.  The cluster runs as the user
# postgres in a private directory (ports 55450-55452, or the three of BENCH_CITUS_PORTS) and is
# stopped and removed on exit.
set -euo pipefail

db=$1
psql_q=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")
bench=citus-1
runs=${BENCH_RUNS:-5}
queries=20
leads=${BENCH_LEADS:-200}
bin=$(pg_config --bindir)
share=$(pg_config --sharedir)
read -r -a ports <<<"${BENCH_CITUS_PORTS:-55450 55451 55452}"

about="Accounts generated as for match-1 (\`bench.make_accounts\`, fixed seed) with its 1,000-rule set (regions, \
countries, districts, postal areas, industry tiers), written to a file and loaded with psql's client-side \
\`\\copy accounts FROM file\`: through the coordinator of a Citus 13 cluster (a coordinator and two workers on \
loopback, all on this machine; \`accounts\` distributed by \`id\`, 32 shards) into the managed table \
(\`territory.manage_table\`, the triggers on every shard, history distributed with it) and into the same \
distributed table unmanaged; and into the same two tables, local, of the benchmark's own server. Each load \
runs in its own transaction, the tables (and the history) truncated before it, untimed; the methods \
alternate. Then a sales user who is a member of one country territory counts the distributed accounts \
through the policies (an application role, \`SET LOCAL territory.\"user\"\` carried to the workers by \
citus.propagate_set_commands) and with the hand-written filter \`territories && '{...}'\` (the user's visible \
territories, as a role with BYPASSRLS, which the transaction also sets with \`SET LOCAL ROLE\`): ${queries} transactions per timed run in one psql session; the ms column is per transaction. \
Last, ${leads} leads per timed run, one per transaction in one psql session, into a managed lead table \
(distributed on the cluster, co-located with the accounts) landing in a territory of 5 members: written with \
their owner, given one by round robin, and by load balancing (the member with the fewest leads); the ms \
column is per lead."

if [ ! -f "$share/extension/citus.control" ]; then
	echo "citus-1: skipped: Citus is not installed for this PostgreSQL (scripts/build-citus builds it from ../shared/vendor)"
	"${psql_q[@]}" -o /dev/null -v about="$about" -f - <<'SQL'
SELECT bench.start('citus-1', 'territory on a Citus cluster', :'about', 'not run: Citus is not installed');
CALL bench.check('citus-1', 'Citus', 'installed for this PostgreSQL', $$SELECT 'no'$$, 'no');
SQL
	exit 0
fi

dir=$(mktemp -d -t territory-citus-1.XXXXXX)
chmod 755 "$dir"
as_postgres() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
cleanup() {
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "citus-1: the cluster is kept running in $dir (BENCH_KEEP)"
		return
	fi
	for p in "${ports[@]}"; do
		[ -f "$dir/n$p/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$dir/n$p" -m immediate stop >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

# ---------------------------------------------------------------- the data, on the bench server

"${psql_q[@]}" -o /dev/null -v about="$about" -f - <<'SQL'
SELECT bench.start('citus-1', 'territory on a Citus cluster', :'about',
                   to_char(bench.accounts(), 'FM999,999,999') || ' accounts, 1,000 rules');
SELECT bench.say('generating the accounts and the rules');
SELECT bench.make_accounts('bench.staging', bench.accounts());
SELECT bench.make_rule_set(1000);
SELECT bench.load_rule_territories();
CREATE TABLE accounts_one (LIKE bench.staging INCLUDING ALL);
CREATE TABLE accounts_one_bare (LIKE bench.staging INCLUDING ALL);
SELECT territory.manage_table('accounts_one', 'account', owner => NULL);
SELECT bench.use_rule_set(1000, 'accounts_one');
SQL
"${psql_q[@]}" -c "\\copy bench.staging TO '$dir/accounts.copy'"
"${psql_q[@]}" -c "\\copy (SELECT id, parent_id, name, code FROM territory.territories ORDER BY id) TO '$dir/territories.copy'"
"${psql_q[@]}" -c "\\copy (SELECT territory_id, criteria, apply_to_children, name FROM territory.rules WHERE tbl = 'accounts_one'::regclass ORDER BY id) TO '$dir/rules.copy'"
chmod 644 "$dir"/*.copy

# ---------------------------------------------------------------- the cluster

"${psql_q[@]}" -c "SELECT bench.say('starting a Citus cluster: a coordinator and two workers')" -o /dev/null
for p in "${ports[@]}"; do
	as_postgres "$bin/initdb" -D "$dir/n$p" -A trust -U postgres >/dev/null
	cat >>"$dir/n$p/postgresql.conf" <<EOF
port = $p
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus,territory'
max_prepared_transactions = 20
wal_level = logical
fsync = off
synchronous_commit = off
shared_buffers = 256MB
max_parallel_workers_per_gather = 0
jit = off
citus.propagate_set_commands = 'local'
citus.enable_binary_protocol = off
EOF
	as_postgres "$bin/pg_ctl" -D "$dir/n$p" -l "$dir/n$p.log" -w start >/dev/null
	as_postgres "$bin/psql" -X -q -h "$dir" -p "$p" -U postgres -d postgres -c "CREATE DATABASE crm" \
		-c "\\c crm" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus"
done
cq=(psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "${ports[0]}" -U postgres -d crm)
"${cq[@]}" -o /dev/null -f - <<SQL
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]});
SELECT citus_add_node('127.0.0.1', ${ports[1]});
SELECT citus_add_node('127.0.0.1', ${ports[2]});
CREATE EXTENSION territory;
CREATE TEMP TABLE t_in (id int4, parent_id int4, name text, code text);
\\copy t_in FROM '$dir/territories.copy'
INSERT INTO territory.territories (id, model_id, parent_id, name, code)
SELECT id, 1, parent_id, name, code FROM t_in ORDER BY id;
SELECT setval(pg_get_serial_sequence('territory.territories', 'id'), (SELECT max(id) FROM territory.territories));
SELECT territory.enable_citus();
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, billing_country text, billing_state text,
                       billing_postal_code text, industry text, annual_revenue numeric, employees int, owner_id text);
CREATE TABLE accounts_bare (LIKE accounts INCLUDING ALL);
SELECT create_distributed_table('accounts', 'id', shard_count => 32);
SELECT create_distributed_table('accounts_bare', 'id', colocate_with => 'accounts');
SELECT territory.manage_table('accounts', 'account', owner => NULL);
CREATE TEMP TABLE r_in (territory_id int4, criteria text, apply_to_children bool, name text);
\\copy r_in FROM '$dir/rules.copy'
SELECT count(territory.add_rule(territory_id, criteria, name, 'accounts', apply_to_children)) FROM r_in;
SQL

# ---------------------------------------------------------------- loads

now_ms() { echo $(($(date +%s%N) / 1000000)); }
cols="id, name, billing_country, billing_state, billing_postal_code, industry, annual_revenue, employees, owner_id"
declare -A samples
load() { # method-key psql-command... : truncate, then time the \copy
	local key=$1 target=$2
	shift 2
	"$@" -c "TRUNCATE $target, territory.assignment_log" >/dev/null
	local t0 t1
	t0=$(now_ms)
	"$@" -c "\\copy $target ($cols) FROM '$dir/accounts.copy'" >/dev/null
	t1=$(now_ms)
	samples[$key]="${samples[$key]:-}${samples[$key]:+,}$((t1 - t0))"
}
"${psql_q[@]}" -o /dev/null -c "SELECT bench.say('loading: a warm-up, then $runs timed runs of each method')"
for i in $(seq 0 "$runs"); do
	load c_bare accounts_bare "${cq[@]}"
	load c_managed accounts "${cq[@]}"
	load s_bare accounts_one_bare "${psql_q[@]}"
	load s_managed accounts_one "${psql_q[@]}"
	if [ "$i" = 0 ]; then samples=(); fi
done
rows=$("${cq[@]}" -At -c "SELECT count(*) FROM accounts")
assigned=$("${cq[@]}" -At -c "SELECT count(*) FILTER (WHERE territories <> '{}') FROM accounts")
same=$("${psql_q[@]}" -At -c "SELECT count(*) FILTER (WHERE territories <> '{}') FROM accounts_one")
if [ "$assigned" != "$same" ]; then
	echo "citus-1: the cluster assigned $assigned accounts, one server $same" >&2
	exit 1
fi
label="load $rows accounts through the coordinator"
one="load $rows accounts on one server"
"${psql_q[@]}" -o /dev/null -f - <<SQL
SELECT bench.record('$bench', '$label', 'distributed table, unmanaged', '{${samples[c_bare]}}', '$rows');
SELECT bench.record('$bench', '$label', 'managed distributed table', '{${samples[c_managed]}}', '$assigned assigned');
SELECT bench.difference('$bench', '$label', 'added by territory', 'managed distributed table', 'distributed table, unmanaged');
SELECT bench.record('$bench', '$one', 'local table, unmanaged', '{${samples[s_bare]}}', '$rows');
SELECT bench.record('$bench', '$one', 'managed local table', '{${samples[s_managed]}}', '$same assigned');
SELECT bench.difference('$bench', '$one', 'added by territory', 'managed local table', 'local table, unmanaged');
-- the cluster's added time over its bare load, no more than one server's of the same run
SELECT bench.target('$bench', 'cluster: added / bare load ≤ one server''s (' ||
                    to_char(a.ms / b.ms, 'FM990.00') || '×)', '$label', 'added by territory',
                    '$label', 'distributed table, unmanaged', '<=', a.ms / b.ms)
  FROM bench.result a, bench.result b
 WHERE a.bench = '$bench' AND a.label = '$one' AND a.method = 'added by territory'
   AND b.bench = '$bench' AND b.label = '$one' AND b.method = 'local table, unmanaged';
SQL

# ---------------------------------------------------------------- a restricted user's count

"${cq[@]}" -o /dev/null -f - <<'SQL'
SET client_min_messages = warning;
SELECT territory.enable_visibility('accounts');
CREATE ROLE bench_app LOGIN;
CREATE ROLE bench_bypass LOGIN BYPASSRLS;
GRANT SELECT ON accounts TO bench_app, bench_bypass;
GRANT SET ON PARAMETER "territory.user" TO bench_app;
SELECT territory.add_user('rep', 'A rep');
-- of the country with the most accounts (found first: Citus does not write the configuration's
-- reference tables in a statement that read the shards in parallel)
SELECT s.x AS country FROM (SELECT unnest(a.territories) x FROM accounts a) s
 WHERE territory.depth(s.x) = 2 GROUP BY s.x ORDER BY count(*) DESC, s.x LIMIT 1 \gset
SELECT territory.add_member(:country, 'rep');
ANALYZE accounts;
SQL
visible=$("${cq[@]}" -At -c "BEGIN" -c "SET LOCAL territory.\"user\" = 'rep'" -c "SELECT territory.visible_territories()" -c "COMMIT")
policy_sql="BEGIN; SET LOCAL ROLE bench_app; SET LOCAL territory.\"user\" = 'rep'; SELECT count(*) FROM accounts; COMMIT;"
hand_sql="BEGIN; SET LOCAL ROLE bench_bypass; SELECT count(*) FROM accounts WHERE territories && '$visible'::int4[]; COMMIT;"
# (statements one by one, as psql sends a script: Citus passes a SET LOCAL on to the workers as
# the text of the whole message it came in)
by_policy=$(printf '%s\n' "$policy_sql" | "${cq[@]}" -At | grep -E '^[0-9]+$')
by_hand=$(printf '%s\n' "$hand_sql" | "${cq[@]}" -At | grep -E '^[0-9]+$')
if [ "$by_policy" != "$by_hand" ] || [ "$by_policy" = 0 ]; then
	echo "citus-1: the policies count $by_policy accounts, the hand-written filter $by_hand" >&2
	exit 1
fi
declare -A qs
timed_queries() { # key sql
	local key=$1 sql=$2 script="" t0 t1
	for _ in $(seq "$queries"); do script="$script$sql"$'\n'; done
	t0=$(now_ms)
	printf '%s' "$script" | "${cq[@]}" -o /dev/null
	t1=$(now_ms)
	qs[$key]="${qs[$key]:-}${qs[$key]:+,}$(awk -v a="$t0" -v b="$t1" -v n="$queries" 'BEGIN { printf "%.3f", (b - a) / n }')"
}
for i in $(seq 0 "$runs"); do
	timed_queries hand "$hand_sql"
	timed_queries policy "$policy_sql"
	if [ "$i" = 0 ]; then qs=(); fi
done
qlabel="a rep counts the distributed accounts"
"${psql_q[@]}" -o /dev/null -f - <<SQL
SELECT bench.record('$bench', '$qlabel', 'hand-written filter (a BYPASSRLS role)', '{${qs[hand]}}', '$by_hand');
SELECT bench.record('$bench', '$qlabel', 'through the policies (SET LOCAL territory.user)', '{${qs[policy]}}', '$by_policy');
SELECT bench.target('$bench', 'query through the policies ≤ 1.10× the hand-written filter', '$qlabel',
                    'through the policies (SET LOCAL territory.user)', '$qlabel', 'hand-written filter (a BYPASSRLS role)', '<=', 1.10);
SQL

# ---------------------------------------------------------------- owners of new leads

owners_setup="
SET client_min_messages = warning;
SELECT territory.add_territory('Bench inbound', NULL, 'B-RR') AS rr \gset
SELECT territory.add_territory('Bench partners', NULL, 'B-LB') AS lb \gset
SELECT territory.add_user('owner' || g, 'Owner ' || g) FROM generate_series(1, 10) g;
SELECT territory.add_member(:rr, 'owner' || g) FROM generate_series(1, 5) g;
SELECT territory.add_member(:lb, 'owner' || g) FROM generate_series(6, 10) g;
SELECT territory.set_owner_assignment(:rr, 'round_robin');
SELECT territory.set_owner_assignment(:lb, 'load_balanced');
CREATE TABLE bench_leads (id bigint PRIMARY KEY, source text, owner_id text);
\if :cluster
SELECT create_distributed_table('bench_leads', 'id', colocate_with => 'accounts');
\endif
SELECT territory.manage_table('bench_leads', 'lead');
SELECT territory.add_rule(:rr, \$\$source = 'rr'\$\$, 'bench round robin', 'bench_leads');
SELECT territory.add_rule(:lb, \$\$source = 'lb'\$\$, 'bench load balancing', 'bench_leads');
"
printf '\\set cluster on\n%s' "$owners_setup" | "${cq[@]}" -o /dev/null
printf '\\set cluster off\n%s' "$owners_setup" | "${psql_q[@]}" -o /dev/null
declare -A ls
next_id=0
timed_leads() { # key source owner psql-command...
	local key=$1 source=$2 owner=$3 script="" t0 t1 i
	shift 3
	for i in $(seq "$leads"); do
		next_id=$((next_id + 1))
		script="${script}INSERT INTO bench_leads VALUES ($next_id, '$source', $owner);"$'\n'
	done
	t0=$(now_ms)
	printf '%s' "$script" | "$@" -o /dev/null
	t1=$(now_ms)
	ls[$key]="${ls[$key]:-}${ls[$key]:+,}$(awk -v a="$t0" -v b="$t1" -v n="$leads" 'BEGIN { printf "%.3f", (b - a) / n }')"
}
"${psql_q[@]}" -o /dev/null -c "SELECT bench.say('new leads: a warm-up, then $runs timed runs of each method')"
for i in $(seq 0 "$runs"); do
	timed_leads c_given rr "'owner1'" "${cq[@]}"
	timed_leads c_rr rr NULL "${cq[@]}"
	timed_leads c_lb lb NULL "${cq[@]}"
	timed_leads s_given rr "'owner1'" "${psql_q[@]}"
	timed_leads s_rr rr NULL "${psql_q[@]}"
	timed_leads s_lb lb NULL "${psql_q[@]}"
	if [ "$i" = 0 ]; then ls=(); fi
done
spread_sql="SELECT max(n) - min(n) FROM (SELECT count(*) AS n FROM bench_leads WHERE source = 'lb' GROUP BY owner_id) c"
c_spread=$("${cq[@]}" -At -c "$spread_sql")
s_spread=$("${psql_q[@]}" -At -c "$spread_sql")
c_null=$("${cq[@]}" -At -c "SELECT count(*) FROM bench_leads WHERE owner_id IS NULL")
if [ "$c_spread" -gt 1 ] || [ "$s_spread" -gt 1 ] || [ "$c_null" != 0 ]; then
	echo "citus-1: load balancing left members $c_spread (cluster) and $s_spread (one server) apart, $c_null leads without an owner" >&2
	exit 1
fi
clabel="a new lead through the coordinator, one per transaction"
slabel="a new lead on one server, one per transaction"
"${psql_q[@]}" -o /dev/null -f - <<SQL
SELECT bench.record('$bench', '$clabel', 'written with its owner', '{${ls[c_given]}}', 'given');
SELECT bench.record('$bench', '$clabel', 'round robin', '{${ls[c_rr]}}', 'turns on the coordinator');
SELECT bench.record('$bench', '$clabel', 'load balancing', '{${ls[c_lb]}}', 'members within $c_spread');
SELECT bench.record('$bench', '$slabel', 'written with its owner', '{${ls[s_given]}}', 'given');
SELECT bench.record('$bench', '$slabel', 'round robin', '{${ls[s_rr]}}', 'turns');
SELECT bench.record('$bench', '$slabel', 'load balancing', '{${ls[s_lb]}}', 'members within $s_spread');
SQL

#!/usr/bin/env bash
# client-1: pgbench, 16 clients through pgbouncer in transaction pooling mode; each transaction
# sets a random sales user with SET LOCAL and reads accounts, deals and the forecast, against the
# same transactions as a BYPASSRLS role with the hand-written filter for that user.
# Target (shared/design/benchmarks.md): throughput ≥ 0.95× the hand-written one for every mix.
#
# Run by bench/run (bench/run S client-1) with the benchmark's database, bench/lib.sql loaded, as
# its argument.  Needs pgbench and pgbouncer; pgbouncer runs as the user postgres when started by
# root (it refuses root), in a private directory it listens in (a unix socket), and is stopped on
# exit.  It logs in to the server (PGHOST, PGPORT) with a password it is given for the two login
# roles bench_app and bench_bypass (made here, each run with a new random password, which is
# removed on exit).  BENCH_RUNS sets the timed runs of each mix and method (default 5);
# BENCH_CLIENT_SECONDS the length of a run (S 1, M 4, L 10 seconds).
set -euo pipefail

db=$1
psql_q=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")
size=$("${psql_q[@]}" -At -c "SELECT bench.size()")
case $size in
S) secs=1 ;;
M) secs=4 ;;
*) secs=10 ;;
esac
secs=${BENCH_CLIENT_SECONDS:-$secs}
runs=${BENCH_RUNS:-5}
clients=16
pool=8
period=2026-Q4
policy_m='through the policies (role bench_app, SET LOCAL territory.user)'
hand_m='hand-written filter (role with BYPASSRLS, lookup table)'
reps_l='reps only'
all_l='all users: 89 % reps, 10 % managers, 1 % sees_all'

for tool in pgbench pgbouncer; do
	if ! command -v "$tool" >/dev/null; then
		echo "client-1: $tool is not installed (apt-get install -y $tool)" >&2
		exit 1
	fi
done

dir=$(mktemp -d -t territory-client-1.XXXXXX)
pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
cleanup() {
	if [ -f "$dir/pgbouncer.pid" ]; then
		pid=$(cat "$dir/pgbouncer.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	"${psql_q[@]}" -c "ALTER ROLE bench_app NOLOGIN PASSWORD NULL" -c "ALTER ROLE bench_bypass NOLOGIN PASSWORD NULL" \
		>/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---------------------------------------------------------------- data, users, roles

"${psql_q[@]}" -o /dev/null -v pw="$pw" -v secs="$secs" -v runs="$runs" -v clients="$clients" -v pool="$pool" \
	-v period="$period" -f - <<'SQL'
SELECT bench.start('client-1', 'concurrent clients through pgbouncer',
    'The data of roll-1 (the tree of hier-1, the accounts of rls-1 and as many deals, targets for 2026) and 100 '
    || 'managers: `m<i>` manages (`manager_id`) the reps `u<100(i-1)+1>` .. `u<100i>` and is a member (role '
    || '`manager`) of a territory of depth 3; each rep `u1` .. `u10000` is a member of one random territory of '
    || 'depth 3 or more. pgbench runs ' || :'clients' || ' clients (2 threads, simple protocol) through pgbouncer '
    || '(`pool_mode = transaction`, ' || :'pool' || ' server connections) for ' || :'secs' || ' s a run: a warm-up, '
    || 'then ' || :'runs' || ' timed runs of each method, the methods alternating, both with the same random seed '
    || 'in a run. A transaction draws a user (pgbench `random()`) and runs `BEGIN`; `SELECT count(*) FROM accounts`; '
    || '`SELECT count(*), sum(amount) FROM deals`; `SELECT count(*), sum(closed_won), sum(commit) FROM '
    || 'territory.forecast(''' || :'period' || ''')`; `END`. *Through the policies*: the login role `bench_app`, '
    || 'subject to the policies, first runs `SET LOCAL territory."user" = ''<key>''`. *By hand*: the login role '
    || '`bench_bypass` (`BYPASSRLS`) reads the same tables with the filter an application without row-level '
    || 'security would add for that user, its visible territories and owners read by subqueries from a lookup '
    || 'table filled beforehand (untimed: the baseline pays nothing to work out what a user sees, which the '
    || 'policies do in each transaction): `territories && (SELECT ...) OR owner_id = ANY ((SELECT ...))` on '
    || 'accounts (the faster form of rls-1 up to thousands of territories), `territory_id = ANY ((SELECT ...)) '
    || 'OR owner_id = ANY ((SELECT ...))` on deals, and `territory.forecast(''' || :'period' || ''', <the '
    || 'user''s territory>)` for the forecast (the same rows: a rep or manager reads every deal of their subtree, '
    || 'and the rows of the forecast are those of the subtree); the sees_all user''s queries have no filter. '
    || 'Mixes: reps only (uniform over the 10,000); all users (weighted pgbench scripts: 89 % reps, 10 % managers '
    || 'uniform over the 100, 1 % the sees_all user). Every statement gives the same result both ways (checked '
    || 'for sampled users of each kind through pgbouncer). The ms column is 1000 / the throughput (the wall time '
    || 'per transaction of all clients together), the result column the throughput (median of the runs); so the '
    || 'ratio of the hand-written line is the throughput through the policies over the hand-written one''s.',
    to_char(bench.accounts(), 'FM999,999,999') || ' accounts and deals, 10,101 sales users');

SELECT bench.say('building the tree, the accounts, the deals and the targets');
SELECT bench.make_rls_data();
SELECT bench.make_deal_data();
VACUUM ANALYZE accounts, deals;
SELECT bench.rls_ready();

SELECT bench.say('the managers, the lookup table of the hand-written filters, the login roles');
INSERT INTO territory.sales_users (key, name) SELECT 'm' || i, 'Manager ' || i FROM generate_series(1, 100) i;
UPDATE territory.sales_users u
   SET manager_id = m.id
  FROM territory.sales_users m
 WHERE u.key ~ '^u[0-9]+$' AND m.key = 'm' || (1 + (substr(u.key, 2)::int - 1) / 100);
INSERT INTO territory.members (territory_id, user_id, role)
SELECT d.ids[1 + (substr(m.key, 2)::int - 1) % cardinality(d.ids)], m.id, 'manager'
  FROM territory.sales_users m, (SELECT array_agg(id ORDER BY id) AS ids FROM bench.node WHERE depth = 3) d
 WHERE m.key ~ '^m[0-9]+$';
-- what each user sees, and the territory whose forecast is theirs (NULL: every territory)
CREATE TABLE bench.client_user (key text PRIMARY KEY, territories int4[] NOT NULL, owners text[] NOT NULL, root int);
INSERT INTO bench.client_user
SELECT u.key, bench.as_reader(u.key, 'SELECT territory.visible_territories()')::int4[],
       bench.as_reader(u.key, 'SELECT territory.visible_owners()')::text[],
       (SELECT m.territory_id FROM territory.members m WHERE m.user_id = u.id AND NOT u.sees_all)
  FROM territory.sales_users u
 WHERE u.key ~ '^[um][0-9]+$' OR u.key = 'admin';
ANALYZE bench.client_user;

DO $$
BEGIN
    -- roles outlive the benchmark's database
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_app') THEN
        CREATE ROLE bench_app;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_bypass') THEN
        CREATE ROLE bench_bypass;
    END IF;
END
$$;
ALTER ROLE bench_app LOGIN NOBYPASSRLS PASSWORD :'pw';
ALTER ROLE bench_bypass LOGIN BYPASSRLS PASSWORD :'pw';
GRANT SET ON PARAMETER "territory.user" TO bench_app;
GRANT SELECT ON accounts, deals TO bench_app, bench_bypass;
GRANT USAGE ON SCHEMA bench TO bench_bypass;
GRANT SELECT ON bench.client_user TO bench_bypass;
SQL

# ---------------------------------------------------------------- the transactions

# One script a kind of user and method; :id is the user's number, drawn by \set.
script() { # kind (rep, manager, admin) method (policy, hand)
	local key
	case $1 in
	rep) key="u:id" && printf '%s\n' '\set id random(1, 10000)' ;;
	manager) key="m:id" && printf '%s\n' '\set id random(1, 100)' ;;
	admin) key="admin" ;;
	esac
	echo 'BEGIN;'
	if [ "$2" = policy ] || [ "$1" = admin ]; then
		if [ "$2" = policy ]; then
			echo "SET LOCAL territory.\"user\" = '$key';"
		fi
		echo 'SELECT count(*) FROM accounts;'
		echo 'SELECT count(*), sum(amount) FROM deals;'
		echo "SELECT count(*), sum(closed_won), sum(commit) FROM territory.forecast('$period');"
	else
		# (the casts make = ANY ((SELECT ...)) an array expression, not a subquery)
		local t="(SELECT territories FROM bench.client_user WHERE key = '$key')::int4[]"
		local o="(SELECT owners FROM bench.client_user WHERE key = '$key')::text[]"
		echo "SELECT count(*) FROM accounts WHERE territories && $t OR owner_id = ANY ($o);"
		echo "SELECT count(*), sum(amount) FROM deals WHERE territory_id = ANY ($t) OR owner_id = ANY ($o);"
		echo "SELECT count(*), sum(closed_won), sum(commit) FROM territory.forecast('$period', (SELECT root FROM bench.client_user WHERE key = '$key'));"
	fi
	echo 'END;'
}
for kind in rep manager admin; do
	for method in policy hand; do
		script $kind $method >"$dir/$kind-$method.sql"
	done
done

# ---------------------------------------------------------------- pgbouncer

port=6432
# the clients connect to pgbouncer without the server options bench/run gives (pgbouncer refuses
# unknown startup parameters): the benchmark's database has them itself
client_env=(env -u PGOPTIONS -u PGPASSWORD PGHOST="$dir" PGPORT="$port" PGDATABASE=client_1)
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
client_1 = host=${PGHOST:-/var/run/postgresql} port=${PGPORT:-5432} dbname=$db

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 100
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
# trust: the socket is in a directory only its owner (and root) may enter; the passwords are
# those pgbouncer logs in to the server with
printf '"bench_app" "%s"\n"bench_bypass" "%s"\n' "$pw" "$pw" >"$dir/users.txt"
as_bouncer=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres "$dir"
	as_bouncer=(runuser -u postgres --)
fi
"${as_bouncer[@]}" pgbouncer -d -q "$dir/pgbouncer.ini"
for _ in $(seq 100); do
	[ -S "$dir/.s.PGSQL.$port" ] && break
	sleep 0.1
done
if ! "${client_env[@]}" psql -X -q -At -U bench_app -c 'SELECT 1' >/dev/null; then
	echo "client-1: cannot connect through pgbouncer; its log:" >&2
	cat "$dir/pgbouncer.log" >&2
	exit 1
fi

# ---------------------------------------------------------------- the check

# Every statement of a script gives the same result both ways, for users of each kind.
same=0
checked=0
for user in rep:1 rep:2357 rep:5000 rep:7777 rep:10000 manager:1 manager:42 manager:100 admin:0; do
	kind=${user%%:*}
	id=${user#*:}
	policy=$(sed -e '/^\\set /d' -e "s/:id/$id/g" "$dir/$kind-policy.sql" |
		"${client_env[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -U bench_app -f -)
	hand=$(sed -e '/^\\set /d' -e "s/:id/$id/g" "$dir/$kind-hand.sql" |
		"${client_env[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -U bench_bypass -f -)
	checked=$((checked + 1))
	if [ "$policy" = "$hand" ]; then
		same=$((same + 1))
	else
		printf 'client-1: %s %s: through the policies\n%s\nby hand\n%s\n' "$kind" "$id" "$policy" "$hand" >&2
	fi
done
"${psql_q[@]}" -o /dev/null -c "CALL bench.check('client-1', 'the transactions, through pgbouncer',
    'check: users of each kind whose every statement gives the same result both ways', 'SELECT $same', '$checked')"

# ---------------------------------------------------------------- the runs

# pgbench for a mix and method: prints the throughput (transactions per second)
bench_tps() { # mix (reps, all) method (policy, hand) seconds seed
	local role=bench_app files
	[ "$2" = hand ] && role=bench_bypass
	if [ "$1" = reps ]; then
		files=(-f "$dir/rep-$2.sql")
	else
		files=(-f "$dir/rep-$2.sql@89" -f "$dir/manager-$2.sql@10" -f "$dir/admin-$2.sql@1")
	fi
	"${client_env[@]}" pgbench -n -c "$clients" -j 2 -T "$3" --random-seed="$4" -U "$role" "${files[@]}" \
		>"$dir/pgbench.out" 2>&1 || {
		cat "$dir/pgbench.out" >&2
		return 1
	}
	if ! grep -q '^number of failed transactions: 0 ' "$dir/pgbench.out"; then
		cat "$dir/pgbench.out" >&2
		return 1
	fi
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$dir/pgbench.out" | xargs printf '%.1f\n'
}

for mix in reps all; do
	if [ $mix = reps ]; then label=$reps_l; else label=$all_l; fi
	echo "client-1 | $label: warm-up"
	bench_tps $mix policy 1 1 >/dev/null
	bench_tps $mix hand 1 1 >/dev/null
	declare -A tps=([policy]="" [hand]="")
	for i in $(seq "$runs"); do
		# the methods alternate, so that what the machine does besides weighs on both alike
		order=(policy hand)
		[ $((i % 2)) = 0 ] && order=(hand policy)
		for method in "${order[@]}"; do
			t=$(bench_tps $mix "$method" "$secs" $((1000 + i)))
			tps[$method]="${tps[$method]:+${tps[$method]} }$t"
			echo "client-1 | $label | $method, run $i: $t tps"
		done
	done
	for method in policy hand; do
		if [ $method = policy ]; then m=$policy_m; else m=$hand_m; fi
		# ms = 1000 / tps a run; the result: the median throughput
		ms=$(echo "${tps[$method]}" | tr ' ' '\n' | awk 'NF { printf "%s%.6f", sep, 1000 / $1; sep = "," }')
		median=$(echo "${tps[$method]}" | tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
			printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
		"${psql_q[@]}" -o /dev/null -c "SELECT bench.record('client-1', '$label', '$m', '{$ms}',
			'$median tps', 'tps of the runs: ${tps[$method]// /, }')"
	done
	"${psql_q[@]}" -o /dev/null -c "SELECT bench.target('client-1', '$label: throughput ≥ 0.95× the hand-written',
		'$label', '$hand_m', '$label', '$policy_m', '>=', 0.95)"
done

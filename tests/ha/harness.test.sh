#!/bin/sh
# tests/ha/harness.test.sh BUILD — smoke test of the high-availability test
# harness (tests/lib/pg.sh, tests/lib/haproxy.sh), before authd has a
# PostgreSQL backend (issue 13): a PostgreSQL 15 primary and a synchronous
# streaming standby, two authd nodes (each still on its own LMDB store: here
# they only serve /healthz and discovery) behind HAProxy with TLS passed
# through — then, for comparison, terminated and re-encrypted — and the faults
# the HA tests will play: a node killed idle and under traffic, the primary
# paused with SIGSTOP for 3 s, the primary stopped and the standby promoted.
# It also applies the schema draft of docs/decisions/0006. Prints TAP lines, the
# measured timings as "# timing:" comments, and "ha-harness: N passed, N failed".
# Not in `make test` yet. Bounded: every wait has a limit; about 20-30 s.
# Runs as root (servers as the user authd-test) or as any user.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
. "$here/../lib/pg.sh"
. "$here/../lib/haproxy.sh"
authd_paths "${1:-}"
cd "$root" || exit 1

suite=ha-harness
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-ha.XXXXXX") || exit 1
top=$T
n1_pid=
n2_pid=
cleanup() {
	kill_pid "$n1_pid"
	kill_pid "$n2_pid"
	haproxy_cleanup
	pg_cleanup
	rm -rf "$top"
}
on_exit cleanup

authd_bins
[ -x "$AUTHD_BIN" ] && [ -x "$AUTHCTL_BIN" ] || bail "$AUTHD_BIN is missing (make all)"

timing() { echo "# timing: $*"; }

# ---- PostgreSQL: primary a, synchronous standby b ----------------------------

pg_setup || bail "pg: $pg_err"
t0=$(pg_ms)
pg_start_primary a || { pg_log_tail a; bail "pg primary: $pg_err"; }
t1=$(pg_ms)
pg_start_standby b a || { pg_log_tail a; pg_log_tail b; bail "pg standby: $pg_err"; }
t2=$(pg_ms)
timing "primary initdb+start $((t1 - t0)) ms; standby basebackup+start+sync $((t2 - t1)) ms"

ci_a=$(pg_conninfo a)
ci_b=$(pg_target=any pg_conninfo b)
ci_ab=$(pg_conninfo a b)

check "psql connects to the primary as authd's role (scram-sha-256)" \
	test "$(pg_authd_sql "$ci_a" "SELECT current_user || '@' || current_database()")" = "authd@authd"

check "the unix socket in the temporary folder accepts the role too" \
	test "$(pg_authd_sql "host=$pg_sock port=$(pg_port_of a) dbname=$pg_db user=$pg_role" \
		"SELECT inet_server_port() IS NULL")" = t

wrong_pw() {
	out=$(PGPASSWORD=not-the-password PGPASSFILE=/dev/null timeout 10 "$pg_bindir/psql" -X -q -A -t \
		-d "$ci_a" -c "SELECT 1" 2>&1)
	[ $? -ne 0 ] && case "$out" in *"password authentication failed"*) return 0 ;; esac
	echo "# $out"
	return 1
}
check "a wrong password is refused" wrong_pw

check "the servers run as an unprivileged user" \
	test "$(ps -o user= -p "$(pg_pid a)" | tr -d ' ')" != root

check "the standby is synchronous and streaming" \
	test "$(pg_lag a | cut -d'|' -f1-3)" = "b|streaming|sync"

pg_authd_sql "$ci_a" "CREATE TABLE probe (id int PRIMARY KEY, note text NOT NULL)" >/dev/null ||
	bail "create table failed"
pg_authd_sql "$ci_a" "INSERT INTO probe VALUES (1, 'written on a')" >/dev/null ||
	bail "insert failed"
tr0=$(pg_ms)
pg_replay_wait b a 10 || echo "# $pg_err"
timing "replayed on the standby $(($(pg_ms) - tr0)) ms after the commit returned"
check "a write on the primary is read on the standby" \
	test "$(pg_authd_sql "$ci_b" "SELECT note FROM probe WHERE id = 1")" = "written on a"

standby_ro() {
	out=$(pg_authd_sql "$ci_b" "INSERT INTO probe VALUES (2, 'x')" 2>&1)
	[ $? -ne 0 ] && case "$out" in *"read-only transaction"*) return 0 ;; esac
	echo "# $out"
	return 1
}
check "the standby refuses writes" standby_ro

# The schema draft and the statements of docs/decisions/0006 are real SQL for
# this PostgreSQL: every ```sql block, in order, in one session as authd's role.
schema_draft() {
	sed -n '/^```sql$/,/^```$/{/^```/d;p}' "$root/docs/decisions/0006-postgresql-notes.md" \
		>"$T/schema.sql"
	[ -s "$T/schema.sql" ] || { echo "# no sql block found"; return 1; }
	out=$(PGPASSFILE=$pg_passfile timeout 30 "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 \
		-d "$ci_a" -f "$T/schema.sql" 2>&1) || { echo "# $out"; return 1; }
	test "$(pg_authd_sql "$ci_a" "SELECT count(*) FROM pg_tables WHERE schemaname = 'authd'")" -eq 28
}
check "the schema draft of docs/decisions/0006 applies (with its statements)" schema_draft

check "a multi-host read-write string picks the primary while it is up" \
	test "$(pg_authd_sql "$ci_ab" "SELECT inet_server_port()")" = "$(pg_port_of a)"

# ---- two authd nodes behind HAProxy (TLS passthrough) -------------------------

authd_dev_cert
lb_port=$(hap_free_port) || bail "no free port"

# node_start N PORT: an authd in $top/nN on PORT whose issuer is the load
# balancer's address; sets nN_pid. Restarted nodes reuse their folder.
node_start() {
	T=$top/n$1
	if [ ! -f "$T/authd.conf" ]; then
		mkdir -p "$T" && cp -r "$top/certs" "$T/certs" || bail "node $1 folder"
		{
			echo "[server]"
			echo "issuer = https://localhost:$lb_port"
			echo "listen = 127.0.0.1:$2"
			echo "trusted_proxies = 127.0.0.1"
			echo "tls_cert = certs/tls.crt"
			echo "tls_key = certs/tls.key"
			echo "threads = 1"
			echo "workers = 1"
			echo "[store]"
			echo "path = data"
			echo "[password]"
			echo "argon2_memory_kib = 8192"
			echo "argon2_ops = 1"
			echo "breached_list = $root/share/common-passwords.txt"
			echo "[log]"
			echo "level = 2"
		} >"$T/authd.conf"
		authd_init
	fi
	AUTHD_ISSUER=https://127.0.0.1:$2
	authd_launch /healthz
	_ns_rc=$?
	eval "n$1_pid=\$authd_pid"
	T=$top
	[ $_ns_rc -eq 0 ] || { tail -n 5 "$top/n$1/authd.log" | sed 's/^/# /'; bail "node $1 did not start"; }
}
p1=$(hap_free_port) && p2=$(hap_free_port) || bail "no free port"
node_start 1 "$p1"
node_start 2 "$p2"

haproxy_setup || bail "haproxy: $hap_err"
HAPROXY_PORT=$lb_port haproxy_start tcp "$AUTHD_CA" "n1=127.0.0.1:$p1" "n2=127.0.0.1:$p2" ||
	{ haproxy_log_tail; bail "haproxy: $hap_err"; }
for s in n1 n2; do
	haproxy_wait_status "$s" UP 10 || { haproxy_log_tail; bail "haproxy: $hap_err"; }
done
timing "both nodes UP in HAProxy (rise 2, inter 200ms)"

# lb_get N [LOG]: N requests for /healthz through the load balancer, each on a
# new connection; prints how many did not answer 200. With LOG, appends
# "START-MS END-MS CODE" per request to it.
lb_get() {
	_lg_bad=0
	_lg_i=0
	while [ $_lg_i -lt "$1" ]; do
		_lg_i=$((_lg_i + 1))
		_lg_t=$(pg_ms)
		_lg_c=$(curl -s --max-time 3 --cacert "$AUTHD_CA" -o /dev/null -w '%{http_code}' \
			"https://localhost:$lb_port/healthz")
		[ -n "${2:-}" ] && echo "$_lg_t $(pg_ms) $_lg_c" >>"$2"
		[ "$_lg_c" = 200 ] || _lg_bad=$((_lg_bad + 1))
	done
	echo "$_lg_bad"
}

check "20 requests through HAProxy all answered" test "$(lb_get 20)" = 0
s1=$(haproxy_sessions n1)
s2=$(haproxy_sessions n2)
echo "# sessions: n1 $s1, n2 $s2"
check "HAProxy routed to both nodes" test "${s1:-0}" -gt 0 -a "${s2:-0}" -gt 0

# A node killed while idle: only the health checks can see it.
kill -KILL "$n2_pid" 2>/dev/null
tk=$(pg_ms)
wait "$n2_pid" 2>/dev/null
n2_pid=
haproxy_wait_status n2 DOWN 5
check "a killed idle node is marked DOWN by the health checks within 5 s" test $? -eq 0
timing "killed idle node DOWN after $(($(pg_ms) - tk)) ms (checks: inter 200ms fastinter 100ms fall 2)"
s2=$(haproxy_sessions n2)
check "no failure through HAProxy once the node is DOWN" test "$(lb_get 10)" = 0
check "HAProxy no longer routes to the DOWN node" test "$(haproxy_sessions n2)" = "$s2"

tu=$(pg_ms)
node_start 2 "$p2"
haproxy_wait_status n2 UP 10
check "the restarted node is UP again within 10 s" test $? -eq 0
timing "restarted node UP after $(($(pg_ms) - tu)) ms (including authd start)"

# A node killed under traffic: a request in flight on it when it dies is lost
# (TLS passes through: HAProxy cannot replay it); a connection sent to it once
# it is gone is refused, which marks it down at once (observe layer4,
# error-limit 1), and is retried on the other node (retries 2, redispatch 1).
codes=$T/lb-codes
: >"$codes"
(lb_get 60 "$codes" >/dev/null) &
traffic=$!
sleep 0.3
tk=$(pg_ms)
kill -KILL "$n2_pid" 2>/dev/null
wait "$n2_pid" 2>/dev/null
tgone=$(pg_ms)
n2_pid=
haproxy_wait_status n2 DOWN 5
rc=$?
td=$(pg_ms)
timing "killed busy node reaped after $((tgone - tk)) ms, DOWN after $((td - tk)) ms (observe layer4, error-limit 1)"
wait "$traffic"
check "a node killed under traffic is marked DOWN within 5 s" test $rc -eq 0
failed=$(awk '$3 != 200' "$codes" | wc -l)
after=$(awk -v t="$tgone" '$3 != 200 && $1 > t' "$codes" | wc -l)
echo "# $(wc -l <"$codes") requests during the kill, $failed failed:" \
	"$(awk -v tk="$tk" '$3 != 200 { printf "%s from kill%+d to kill%+d ms; ", $3, $1 - tk, $2 - tk }' "$codes")"
check "no request begun after the killed node was gone failed" test "$after" -eq 0
check "at most the one request in flight at the kill failed" test "$failed" -le 1

# What a node sees as the client's address. In TCP mode, without the PROXY
# protocol (authd does not read it yet, docs/decisions/0005), every client is
# HAProxy's address. The client here connects from 127.0.0.2 and asks for the
# discovery document (the health checks ask for /healthz).
disco=/.well-known/openid-configuration
node_peers() { cat "$top/n1/authd.log" "$top/n2/authd.log" 2>/dev/null |
	grep "\"path\":\"$disco\"" | sed -n 's/.*"peer":"\([^"]*\)".*/\1/p' | sort -u | tr '\n' ' '; }
node_start 2 "$p2"
haproxy_wait_status n2 UP 10 || bail "haproxy: $hap_err"
: >"$top/n1/authd.log"
: >"$top/n2/authd.log"
curl -s --max-time 3 --interface 127.0.0.2 --cacert "$AUTHD_CA" -o /dev/null "https://localhost:$lb_port$disco"
echo "# tcp mode: the nodes saw the client as: $(node_peers)(HAProxy; PROXY v2 needed)"

# Option B of 0005, for comparison: TLS terminated by HAProxy and re-encrypted
# to the nodes; the address travels in X-Forwarded-For, which HAProxy sets
# (replacing whatever the client sent, since authd reads the first line).
haproxy_stop
HAPROXY_CERT=$top/certs/tls.crt HAPROXY_KEY=$top/certs/tls.key HAPROXY_PORT=$lb_port \
	haproxy_start http "$AUTHD_CA" "n1=127.0.0.1:$p1" "n2=127.0.0.1:$p2" ||
	{ haproxy_log_tail; bail "haproxy (http): $hap_err"; }
for s in n1 n2; do
	haproxy_wait_status "$s" UP 10 || { haproxy_log_tail; bail "haproxy: $hap_err"; }
done
: >"$top/n1/authd.log"
: >"$top/n2/authd.log"
bad=0
for i in 1 2 3 4; do
	c=$(curl -s --max-time 3 --interface 127.0.0.2 --cacert "$AUTHD_CA" -o /dev/null \
		-w '%{http_code}' -H "X-Forwarded-For: 203.0.113.9" "https://localhost:$lb_port$disco")
	[ "$c" = 200 ] || bad=$((bad + 1))
done
check "TLS terminated and re-encrypted by HAProxy: requests answered" test $bad -eq 0
peers=$(node_peers)
echo "# http mode: the nodes saw the client as: $peers"
check "HAProxy's X-Forwarded-For gives the nodes the client's address, not the forged one" \
	test "$peers" = "127.0.0.2 "
check "both nodes served in http mode" test "$(haproxy_sessions n1)" -gt 0 -a "$(haproxy_sessions n2)" -gt 0

# ---- PostgreSQL faults ----------------------------------------------------------

# The primary stalls for 3 s (SIGSTOP): TCP still connects (the kernel's
# backlog) and nothing answers; connect_timeout bounds a new connection.
pg_pause a || bail "pause: $pg_err"
tp=$(pg_ms)
# Both attempts run at once, so the pause stays 3 s.
(PGCONNECT_TIMEOUT=2 pg_psql_timeout=10 pg_authd_sql "$ci_a" "SELECT 1" >/dev/null 2>&1
	echo "$? $(($(pg_ms) - tp))" >"$T/direct") &
direct=$!
(pg_psql_timeout=10 pg_authd_sql "$ci_ab" "SELECT 1" >/dev/null 2>&1
	echo "$? $(($(pg_ms) - tp))" >"$T/multi") &
multi=$!
tq=$(pg_ms)
check "the standby answers reads while the primary is paused" \
	test "$(pg_authd_sql "$ci_b" "SELECT note FROM probe WHERE id = 1")" = "written on a"
timing "standby read during the pause $(($(pg_ms) - tq)) ms"
wait "$direct" "$multi"
read -r rc tpf <"$T/direct"
check "a connection to the paused primary fails, bounded by connect_timeout (2 s)" \
	test "$rc" -ne 0 -a "$tpf" -lt 4500
timing "connect to the paused primary failed after $tpf ms (connect_timeout=2)"
read -r rc tpm <"$T/multi"
check "no read-write session anywhere while the primary is paused (multi-host fails)" \
	test "$rc" -ne 0
timing "multi-host read-write attempt gave up after $tpm ms (2 s on a, then b is read-only)"
while [ $(($(pg_ms) - tp)) -lt 3000 ]; do sleep 0.05; done
pg_resume a
tr=$(pg_ms)
check "the primary takes writes again after SIGCONT" \
	pg_authd_sql "$ci_a" "INSERT INTO probe VALUES (3, 'after the pause')"
timing "first write after SIGCONT took $(($(pg_ms) - tr)) ms (paused $((tr - tp)) ms)"
check "replication still streams after the pause" pg_wait_streaming b a 10

# The primary dies (immediate stop: a crash) with a write acknowledged just
# before; the synchronous standby has it, and once promoted the multi-host
# string finds it without any change of configuration.
pg_authd_sql "$ci_a" "INSERT INTO probe VALUES (4, 'acknowledged before the crash')" >/dev/null ||
	bail "insert before the crash failed"
ts=$(pg_ms)
pg_stop a immediate || bail "stop: $pg_err"
timing "immediate stop of the primary $(($(pg_ms) - ts)) ms"
no_rw() { ! pg_authd_sql "$ci_ab" "SELECT 1" >/dev/null 2>&1; }
check "with the primary down and the standby not promoted, no read-write session" no_rw
pg_promote b
check "the standby is promoted and takes writes" test $? -eq 0
timing "promote: pg_ctl promote until a write commits $pg_promote_ms ms"
tw=$(pg_ms)
port=$(pg_authd_sql "$ci_ab" "INSERT INTO probe VALUES (5, 'after the promotion') RETURNING inet_server_port()")
timing "multi-host string connected and wrote on the new primary in $(($(pg_ms) - tw)) ms (first host refused)"
check "the multi-host read-write string finds the promoted standby" test "$port" = "$(pg_port_of b)"
timing "primary crash to first write on the new primary $(($(pg_ms) - ts)) ms (promotion by hand, at once)"
check "the write acknowledged before the crash is on the new primary" \
	test "$(pg_authd_sql "$ci_ab" "SELECT note FROM probe WHERE id = 4")" = "acknowledged before the crash"

finish

#!/bin/sh
# tests/crash/run.sh BUILD — crash safety: authd under concurrent logins, code
# and refresh grants and revocations (driver.mjs, bounded concurrency) is killed
# with SIGKILL at random moments CRASH_KILLS times (20) over about CRASH_SECONDS
# (60) and restarted each time on durable storage (nosync = 0). Afterwards,
# everything a client was told succeeded must still be true (driver.mjs verify):
# newest refresh tokens work, revocations stayed, every user signs in; users and
# clients are all there and `authctl audit verify` passes on the hash chain.
# Prints TAP lines and "crash: N passed, N failed"; non-zero exit on failure.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
case "$build" in
/*) ;;
*) build="$root/$build" ;;
esac
kills=${CRASH_KILLS:-20}
seconds=${CRASH_SECONDS:-60}
[ "$kills" -ge 1 ] && [ "$kills" -le 200 ] || { echo "CRASH_KILLS must be 1..200"; exit 2; }
[ "$seconds" -ge 5 ] && [ "$seconds" -le 3600 ] || { echo "CRASH_SECONDS must be 5..3600"; exit 2; }

AUTHD_BIN=$build/bin/authd
AUTHCTL_BIN=$build/bin/authctl
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-crash.XXXXXX") || exit 1
authd_pid=
driver_pid=
pass=0
fail=0
n=0

cleanup() {
	if [ -n "$driver_pid" ]; then
		kill -TERM "$driver_pid" 2>/dev/null
		wait "$driver_pid" 2>/dev/null
	fi
	if [ -n "$authd_pid" ] && kill -0 "$authd_pid" 2>/dev/null; then
		kill -KILL "$authd_pid" 2>/dev/null
		wait "$authd_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() { # check DESC CMD...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
		pass=$((pass + 1))
	else
		echo "not ok $n - $desc"
		fail=$((fail + 1))
	fi
}
finish() {
	if [ "$fail" -ne 0 ] && [ -f "$T/authd.log" ]; then
		echo "# ---- last 30 lines of the authd log ----"
		tail -n 30 "$T/authd.log" | sed 's/^/# /'
	fi
	echo "crash: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}
bail() {
	echo "Bail out! $*"
	fail=$((fail + 1))
	finish
}

for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
[ -d "$root/tests/integration/node_modules" ] || bail "node modules missing (make deps-test)"

sh "$root/certs/dev-cert.sh" "$T/certs" >"$T/dev-cert.log" 2>&1 || bail "certs/dev-cert.sh failed"
export NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"
port=$(node -e 'const s = require("net").createServer();
	s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });') || bail "no port"
# Durable writes (nosync = 0) are the point of the test; fast hashing keeps
# logins cheap so that many writes are in flight at every kill.
{
	echo "[server]"
	echo "issuer = https://127.0.0.1:$port"
	echo "listen = 127.0.0.1:$port"
	echo "tls_cert = certs/tls.crt"
	echo "tls_key = certs/tls.key"
	echo "threads = 2"
	echo "workers = 2"
	echo "[store]"
	echo "path = data"
	echo "nosync = 0"
	echo "[tokens]"
	echo "refresh_ttl = 3600"
	echo "[password]"
	echo "argon2_memory_kib = 8192"
	echo "argon2_ops = 1"
	echo "breached_list = $root/share/common-passwords.txt"
	echo "[throttle]"
	echo "address_free_failures = 100000"
	echo "address_base_delay_ms = 0"
	echo "[log]"
	echo "level = 1"
} >"$T/authd.conf"
ctl() { "$AUTHCTL_BIN" -c "$T/authd.conf" "$@"; }
ctl init >"$T/ctl.log" 2>&1 || bail "authctl init: $(tail -n 2 "$T/ctl.log")"
users='['
for u in ana bo chen dai; do
	pw=$(openssl rand 18 | openssl base64 -A | tr '+/' 'xy')
	printf '%s\n' "$pw" | ctl user add "$u" --password-stdin --email "$u@city.example" \
		>>"$T/ctl.log" 2>&1 || bail "authctl user add $u: $(tail -n 2 "$T/ctl.log")"
	users="$users[\"$u\",\"$pw\"],"
done
users="${users%,}]"
ctl client add crash-rp --redirect-uri https://rp.city.example/cb --grant authorization_code \
	--grant refresh_token --scope openid --scope offline_access \
	--auth-method client_secret_basic >"$T/client.out" 2>>"$T/ctl.log" || bail "authctl client add"
secret=$(sed -n 's/^client_secret: *//p' "$T/client.out")
ctl client add crash-svc --redirect-uri https://svc.city.example/cb --grant client_credentials \
	--scope openid --auth-method client_secret_basic >/dev/null 2>>"$T/ctl.log" ||
	bail "authctl client add crash-svc"
[ -n "$secret" ] || bail "no client secret"
export AUTHD_ISSUER="https://127.0.0.1:$port" CRASH_CLIENT_ID=crash-rp CRASH_CLIENT_SECRET="$secret"
export CRASH_REDIRECT=https://rp.city.example/cb CRASH_USERS="$users"

start() { # start authd and wait (20 s) for /healthz
	"$AUTHD_BIN" -c "$T/authd.conf" >>"$T/authd.out" 2>>"$T/authd.log" &
	authd_pid=$!
	i=0
	while [ $i -lt 200 ]; do
		kill -0 "$authd_pid" 2>/dev/null || return 1
		curl -fsS --max-time 2 --cacert "$T/certs/ca.crt" -o /dev/null \
			"$AUTHD_ISSUER/healthz" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
start || bail "authd would not start"

# ---- the clients, and the kills ---------------------------------------------
node "$here/driver.mjs" run "$T/state.json" >"$T/driver.out" 2>&1 &
driver_pid=$!
# Random pauses averaging seconds/kills; restarts take their own time on top.
gap_ms=$((seconds * 1000 / kills))
k=0
restarts_ok=1
while [ $k -lt "$kills" ]; do
	pause=$(awk -v g="$gap_ms" -v s="$k$$" 'BEGIN { srand(s); printf "%.3f", (0.2 + 1.6 * rand()) * g / 1000 }')
	sleep "$pause"
	kill -KILL "$authd_pid" 2>/dev/null
	wait "$authd_pid" 2>/dev/null
	k=$((k + 1))
	if ! start; then
		restarts_ok=0
		echo "# restart after kill $k failed"
		break
	fi
done
check "authd restarted after each of $k SIGKILLs" [ "$restarts_ok" -eq 1 ]
: >"$T/state.json.stop"
wait "$driver_pid"
drc=$?
driver_pid=
cat "$T/driver.out"
check "no acknowledged write refused while running (no lost rotation, no server error)" [ "$drc" -eq 0 ]

# One more kill, right after the load, then the checks on a fresh process.
kill -KILL "$authd_pid" 2>/dev/null
wait "$authd_pid" 2>/dev/null
start || bail "authd would not start after the last kill"
check "every acknowledged refresh and revocation still holds; all users sign in" \
	node "$here/driver.mjs" verify "$T/state.json"

kill -TERM "$authd_pid"
wait "$authd_pid"
st=$?
authd_pid=
check "authd stops cleanly after the test (exit $st)" [ "$st" -eq 0 ]
nusers=$(ctl user list 2>/dev/null | grep -cE '(^|[^a-z])(ana|bo|chen|dai)([^a-z]|$)')
check "all 4 users intact ($nusers listed)" [ "$nusers" -eq 4 ]
nclients=$(ctl client list 2>/dev/null | grep -cE 'crash-(rp|svc)')
check "both clients intact ($nclients listed)" [ "$nclients" -eq 2 ]
check "authctl audit verify passes" sh -c "'$AUTHCTL_BIN' -c '$T/authd.conf' audit verify >'$T/audit.out' 2>&1"
sed 's/^/# /' "$T/audit.out" | tail -n 3
finish

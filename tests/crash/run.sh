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

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
cd "$root" || exit 1
kills=${CRASH_KILLS:-20}
seconds=${CRASH_SECONDS:-60}
[ "$kills" -ge 1 ] && [ "$kills" -le 200 ] || { echo "CRASH_KILLS must be 1..200"; exit 2; }
[ "$seconds" -ge 5 ] && [ "$seconds" -le 3600 ] || { echo "CRASH_SECONDS must be 5..3600"; exit 2; }

suite=crash
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-crash.XXXXXX") || exit 1
driver_pid=
cleanup() {
	if [ -n "$driver_pid" ]; then
		kill -TERM "$driver_pid" 2>/dev/null
		wait "$driver_pid" 2>/dev/null
	fi
	kill_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
[ -d "$root/tests/integration/node_modules" ] || bail "node modules missing (make deps-test)"

authd_dev_cert
export NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"
# Durable writes (nosync = 0) are the point of the test; fast hashing keeps
# logins cheap so that many writes are in flight at every kill.
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		echo "[store]"
		echo "path = data"
		echo "nosync = 0"
		echo "[tokens]"
		echo "refresh_ttl = 3600"
		# the driver's grants come as fast as the kills allow: no rate limit
		echo "client_rate = 0"
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
}
write_conf 1
authd_init
users='['
for u in ana bo chen dai; do
	pw=$(newpw)
	authd_user "$u" "$pw" --email "$u@city.example"
	users="$users[\"$u\",\"$pw\"],"
done
users="${users%,}]"
authd_client crash-rp --redirect-uri https://rp.city.example/cb --grant authorization_code \
	--grant refresh_token --scope openid --scope offline_access \
	--auth-method client_secret_basic
secret=$client_secret
authd_client crash-svc --redirect-uri https://svc.city.example/cb --grant client_credentials \
	--scope openid --auth-method client_secret_basic
[ -n "$secret" ] || bail "no client secret"
export CRASH_CLIENT_ID=crash-rp CRASH_CLIENT_SECRET="$secret"
export CRASH_REDIRECT=https://rp.city.example/cb CRASH_USERS="$users"

# The first start picks the port (AUTHD_ISSUER); restarts keep it.
authd_start write_conf /healthz || bail "$authd_err"

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
	kill_pid "$authd_pid"
	k=$((k + 1))
	if ! authd_launch /healthz; then
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
kill_pid "$authd_pid"
authd_launch /healthz || bail "authd would not start after the last kill"
check "every acknowledged refresh and revocation still holds; all users sign in" \
	node "$here/driver.mjs" verify "$T/state.json"

# (It waited without a bound before the shared stop; 30 s is far more than a
# clean stop takes.)
authd_stop 30
st=$authd_status
check "authd stops cleanly after the test (exit $st)" [ "$st" -eq 0 ]
nusers=$(ctl user list 2>/dev/null | grep -cE '(^|[^a-z])(ana|bo|chen|dai)([^a-z]|$)')
check "all 4 users intact ($nusers listed)" [ "$nusers" -eq 4 ]
nclients=$(ctl client list 2>/dev/null | grep -cE 'crash-(rp|svc)')
check "both clients intact ($nclients listed)" [ "$nclients" -eq 2 ]
check "authctl audit verify passes" sh -c "'$AUTHCTL_BIN' -c '$T/authd.conf' audit verify >'$T/audit.out' 2>&1"
sed 's/^/# /' "$T/audit.out" | tail -n 3
finish

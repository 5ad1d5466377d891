#!/bin/sh
# tests/integration/run.sh BUILD — the integration harness: one real authd on a
# free loopback port with a fresh store, dev TLS certificate, test users and
# clients made with authctl; then every tests/integration/*.test.sh (given BUILD
# as $1 and the daemon's coordinates in the environment), the node tests
# (openid-client, jose, libjwt) and a graceful-shutdown check. Ends with one line
# "integration: N passed, N failed" and exits non-zero when anything failed.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
case "$build" in
/*) ;;
*) build="$root/$build" ;;
esac

pass=0
fail=0
authd_pid=
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-integ.XXXXXX") || exit 1

cleanup() {
	if [ -n "$authd_pid" ] && kill -0 "$authd_pid" 2>/dev/null; then
		kill -KILL "$authd_pid" 2>/dev/null
		wait "$authd_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count() { # count PASSED FAILED
	pass=$((pass + $1))
	fail=$((fail + $2))
}

# Harness-level checks print TAP lines of their own.
hn=0
hcheck() {
	desc=$1
	shift
	hn=$((hn + 1))
	if "$@"; then
		echo "ok $hn - $desc"
		count 1 0
	else
		echo "not ok $hn - $desc"
		count 0 1
	fi
}

finish() {
	if [ "$fail" -ne 0 ] && [ -f "$T/authd.log" ]; then
		echo "# ---- last 50 lines of the authd log ----"
		tail -n 50 "$T/authd.log" | sed 's/^/# /'
	fi
	echo "integration: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

abort() {
	echo "Bail out! $*"
	count 0 1
	finish
}

# The daemon and authctl: BUILD/NAME, or BUILD/bin/NAME where the object
# folder BUILD/authd/ takes the plain name.
bin_of() {
	if [ -f "$build/$1" ] && [ -x "$build/$1" ]; then
		echo "$build/$1"
	else
		echo "$build/bin/$1"
	fi
}
AUTHD_BIN=$(bin_of authd)
AUTHCTL_BIN=$(bin_of authctl)
for f in "$AUTHD_BIN" "$AUTHCTL_BIN" "$build/tests/libjwt-verify"; do
	[ -x "$f" ] || abort "$f is missing (make all $build/tests/libjwt-verify)"
done
[ -d "$here/node_modules/openid-client" ] || abort "node modules missing (make deps-test)"
[ -f "$root/certs/dev-cert.sh" ] || abort "certs/dev-cert.sh is missing"

# ---- the instance -------------------------------------------------------
sh "$root/certs/dev-cert.sh" "$T/certs" >"$T/dev-cert.log" 2>&1 ||
	abort "certs/dev-cert.sh failed: $(tail -n 3 "$T/dev-cert.log")"
export AUTHD_CA="$T/certs/ca.crt"
export NODE_EXTRA_CA_CERTS="$AUTHD_CA"

# A free port as the kernel hands it out; authd may still lose a race for it,
# so startup below retries with a new port (bounded).
free_port() {
	node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

write_conf() { # write_conf PORT
	cat >"$T/authd.conf" <<EOF
; integration-test instance: fast hashing, short lockout, plenty of address
; failures so that only the per-account throttle is exercised.
[server]
issuer = https://127.0.0.1:$1
listen = 127.0.0.1:$1
tls_cert = certs/tls.crt
tls_key = certs/tls.key
threads = 2
workers = 2

[store]
path = data
nosync = 0

[tokens]
access_ttl = 300
id_ttl = 300
refresh_ttl = 3600
code_ttl = 60
login_ttl = 600
session_ttl = 3600
session_idle = 1800
leeway = 30

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[throttle]
account_max_failures = 5
account_lockout_s = 120
address_free_failures = 1000
address_base_delay_ms = 100

[log]
level = 2
EOF
}

ctl() { "$AUTHCTL_BIN" -c "$T/authd.conf" "$@"; }

write_conf 1 # the port is rewritten before start; authctl needs a config now
ctl init >"$T/init.log" 2>&1 || abort "authctl init failed: $(tail -n 3 "$T/init.log")"

# Passwords are random per run, so nothing in the tests can depend on them.
newpw() { openssl rand 18 | openssl base64 -A | tr '+/' 'xy'; }
AUTHD_PASSWORD=$(newpw) AUTHD_PASSWORD2=$(newpw) AUTHD_PASSWORD3=$(newpw)
export AUTHD_USER=alice AUTHD_PASSWORD
export AUTHD_USER2=bob AUTHD_PASSWORD2
export AUTHD_USER3=carol AUTHD_PASSWORD3
adduser() { # adduser NAME PASSWORD EMAIL DISPLAY
	printf '%s\n' "$2" | ctl user add "$1" --password-stdin --email "$3" \
		--display-name "$4" >"$T/user-$1.log" 2>&1 ||
		abort "authctl user add $1 failed: $(tail -n 3 "$T/user-$1.log")"
}
adduser "$AUTHD_USER" "$AUTHD_PASSWORD" alice@city.example "Alice Chen"
adduser "$AUTHD_USER2" "$AUTHD_PASSWORD2" bob@city.example "Bob Lin"
adduser "$AUTHD_USER3" "$AUTHD_PASSWORD3" carol@city.example "Carol Wang"

# addclient ID ARGS...: prints the generated secret.
addclient() {
	id=$1
	shift
	ctl client add "$id" "$@" >"$T/client-$id.out" 2>"$T/client-$id.err" ||
		abort "authctl client add $id failed: $(tail -n 3 "$T/client-$id.err")"
	sed -n 's/^client_secret: *//p' "$T/client-$id.out"
}
code_client() { # code_client ID REDIRECT
	addclient "$1" --redirect-uri "$2" --grant authorization_code \
		--grant refresh_token --scope openid --scope profile --scope email \
		--scope offline_access --auth-method client_secret_basic
}
export AUTHD_RP=rp-web AUTHD_RP_REDIRECT=https://rp.city.example/cb
export AUTHD_RP2=rp-portal AUTHD_RP2_REDIRECT=https://portal.city.example/cb
export AUTHD_CURL=rp-curl AUTHD_CURL_REDIRECT=https://curl.city.example/cb
export AUTHD_SVC=svc-batch
AUTHD_RP_SECRET=$(code_client "$AUTHD_RP" "$AUTHD_RP_REDIRECT")
AUTHD_RP2_SECRET=$(code_client "$AUTHD_RP2" "$AUTHD_RP2_REDIRECT")
AUTHD_CURL_SECRET=$(code_client "$AUTHD_CURL" "$AUTHD_CURL_REDIRECT")
AUTHD_SVC_SECRET=$(addclient "$AUTHD_SVC" --redirect-uri https://batch.city.example/cb \
	--grant client_credentials --scope openid --auth-method client_secret_basic)
export AUTHD_RP_SECRET AUTHD_RP2_SECRET AUTHD_CURL_SECRET AUTHD_SVC_SECRET
for s in "$AUTHD_RP_SECRET" "$AUTHD_RP2_SECRET" "$AUTHD_CURL_SECRET" "$AUTHD_SVC_SECRET"; do
	[ -n "$s" ] || abort "authctl client add printed no client_secret"
done

# The city's 115 applications, as the operators will load them.
city=${AUTHD_CITY_APPS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data/city-apps.json}
export AUTHD_CITY_SECRETS=
if [ -f "$city" ]; then
	hcheck "authctl client import $(basename "$city")" \
		ctl client import "$city" --secrets-out "$T/city-secrets"
	AUTHD_CITY_SECRETS="$T/city-secrets"
fi

# ---- start and wait for readiness (20 s), on a new port if bind failed ----
started=0
for attempt in 1 2 3 4 5; do
	port=$(free_port) || abort "no free port"
	write_conf "$port"
	export AUTHD_ISSUER="https://127.0.0.1:$port"
	"$AUTHD_BIN" -c "$T/authd.conf" >>"$T/authd.out" 2>>"$T/authd.log" &
	authd_pid=$!
	i=0
	while [ $i -lt 200 ]; do
		if ! kill -0 "$authd_pid" 2>/dev/null; then
			break
		fi
		if curl -fsS --max-time 2 --cacert "$AUTHD_CA" -o /dev/null \
			"$AUTHD_ISSUER/.well-known/openid-configuration" 2>/dev/null; then
			started=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ $started = 1 ] && break
	if kill -0 "$authd_pid" 2>/dev/null; then
		abort "authd did not answer within 20 s (attempt $attempt)"
	fi
	wait "$authd_pid" 2>/dev/null
	authd_pid=
	echo "# authd exited during startup (attempt $attempt); trying another port"
done
[ $started = 1 ] || abort "authd would not start"
echo "# authd pid $authd_pid at $AUTHD_ISSUER"
export AUTHD_BUILD="$build" AUTHD_CONF="$T/authd.conf" AUTHD_LOG="$T/authd.log"
export AUTHD_JWT_VERIFY="$build/tests/libjwt-verify"

# ---- shell tests (TAP) -----------------------------------------------------
for t in "$here"/*.test.sh; do
	[ -f "$t" ] || continue
	echo "# ---- $(basename "$t")"
	mkdir -p "$T/work"
	AUTHD_WORK=$(mktemp -d "$T/work/XXXXXX") sh "$t" "$build" >"$T/tap.out" 2>"$T/tap.err"
	rc=$?
	cat "$T/tap.out"
	sed 's/^/# stderr: /' "$T/tap.err" | tail -n 20
	p=$(grep -c '^ok ' "$T/tap.out")
	f=$(grep -c '^not ok ' "$T/tap.out")
	count "$p" "$f"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "# $(basename "$t") exited $rc without a failing test line"
		count 0 1
	fi
done

# ---- node tests (openid-client, jose, libjwt) -----------------------------
echo "# ---- node --test"
(cd "$here" && node --test --test-reporter=tap --test-timeout=60000 ./*.test.mjs) \
	>"$T/node.out" 2>&1
rc=$?
cat "$T/node.out"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$T/node.out" | tail -n 1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$T/node.out" | tail -n 1)
count "${p:-0}" "${f:-0}"
if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
	echo "# node --test exited $rc without a failing test"
	count 0 1
fi

# ---- the log: JSON lines, and no secret of this run in it -------------------
log_is_json() {
	node -e '
		const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
		let n = 0;
		for (const l of lines) {
			if (l === "") continue;
			const o = JSON.parse(l);
			if (typeof o !== "object" || o === null) throw new Error("not an object: " + l);
			n++;
		}
		if (n === 0) throw new Error("empty log");
	' "$T/authd.log"
}
hcheck "authd logs JSON lines to stderr" log_is_json
log_has_no_secret() {
	for s in "$AUTHD_PASSWORD" "$AUTHD_PASSWORD2" "$AUTHD_PASSWORD3" \
		"$AUTHD_RP_SECRET" "$AUTHD_RP2_SECRET" "$AUTHD_CURL_SECRET" "$AUTHD_SVC_SECRET"; do
		if grep -qF -- "$s" "$T/authd.log"; then
			return 1
		fi
	done
	return 0
}
hcheck "no password or client secret appears in the log" log_has_no_secret

# ---- graceful shutdown: SIGTERM, exit status 0 within 10 s ------------------
stop_graceful() {
	kill -TERM "$authd_pid" || return 1
	i=0
	while kill -0 "$authd_pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$authd_pid" 2>/dev/null; then
		echo "# authd still running 10 s after SIGTERM"
		return 1
	fi
	wait "$authd_pid"
	st=$?
	authd_pid=
	[ $st -eq 0 ] || echo "# authd exited with status $st"
	[ $st -eq 0 ]
}
hcheck "authd exits 0 within 10 s of SIGTERM" stop_graceful

finish

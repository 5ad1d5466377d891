#!/bin/sh
# tests/security/run.sh BUILD — the attack suite: one authd of its own on a free
# loopback port (fresh store, dev TLS certificate, small Argon2 parameters,
# throttling relaxed so that the timing test can repeat failures), users and
# clients made with authctl; then every tests/security/*.test.sh with BUILD as
# $1 and the daemon's coordinates in the environment. hardening.test.sh starts
# instances of its own (as root, to see the privilege drop). Prints TAP and
# ends with "security: N passed, N failed"; exits non-zero when anything failed.
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
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-sec.XXXXXX") || exit 1
chmod 755 "$T"   # hardening.test.sh reads the certificate as another user

cleanup() {
	if [ -n "$authd_pid" ] && kill -0 "$authd_pid" 2>/dev/null; then
		kill -KILL "$authd_pid" 2>/dev/null
		wait "$authd_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count() { pass=$((pass + $1)); fail=$((fail + $2)); }

finish() {
	if [ "$fail" -ne 0 ] && [ -f "$T/authd.log" ]; then
		echo "# ---- last 30 lines of the authd log ----"
		tail -n 30 "$T/authd.log" | sed 's/^/# /'
	fi
	echo "security: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

abort() {
	echo "Bail out! $*"
	count 0 1
	finish
}

bin_of() {
	if [ -f "$build/$1" ] && [ -x "$build/$1" ]; then
		echo "$build/$1"
	else
		echo "$build/bin/$1"
	fi
}
AUTHD_BIN=$(bin_of authd)
AUTHCTL_BIN=$(bin_of authctl)
export AUTHD_BIN AUTHCTL_BIN
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || abort "$f is missing (make all)"
done
[ -d "$root/tests/integration/node_modules/jose" ] || abort "node modules missing (make deps-test)"
for c in mdb_stat mdb_dump oathtool openssl node curl; do
	command -v $c >/dev/null || abort "$c is missing (sh scripts/deps.sh --test)"
done

sh "$root/certs/dev-cert.sh" "$T/certs" >"$T/dev-cert.log" 2>&1 ||
	abort "certs/dev-cert.sh failed: $(tail -n 3 "$T/dev-cert.log")"
chmod 755 "$T/certs"
chmod 644 "$T/certs/tls.crt" "$T/certs/ca.crt"
export AUTHD_CA="$T/certs/ca.crt" AUTHD_CERTS="$T/certs"
export NODE_PATH="$root/tests/integration/node_modules"

free_port() {
	node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Small Argon2 parameters keep the timing test fast; the address throttle and
# the account lockout are out of the way (the throttle has its own tests), so
# that repeated failures measure the password check and nothing else.
write_conf() { # write_conf PORT
	cat >"$T/authd.conf" <<EOF
[server]
issuer = https://127.0.0.1:$1
listen = 127.0.0.1:$1
tls_cert = certs/tls.crt
tls_key = certs/tls.key
threads = 2
workers = 2

[store]
path = data

[tokens]
access_ttl = 300
id_ttl = 300
refresh_ttl = 3600
code_ttl = 60
leeway = 30

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[throttle]
account_max_failures = 1000
account_lockout_s = 60
address_free_failures = 100000
address_base_delay_ms = 100

[log]
level = 2
EOF
}

ctl() { "$AUTHCTL_BIN" -c "$T/authd.conf" "$@"; }

write_conf 1
ctl init >"$T/init.log" 2>&1 || abort "authctl init failed: $(tail -n 3 "$T/init.log")"

newpw() { openssl rand 18 | openssl base64 -A | tr '+/' 'xy'; }
AUTHD_PASSWORD=$(newpw) AUTHD_PASSWORD2=$(newpw) AUTHD_PASSWORD3=$(newpw)
export AUTHD_USER=alice AUTHD_PASSWORD AUTHD_USER2=bob AUTHD_PASSWORD2
export AUTHD_USER3=tina AUTHD_PASSWORD3
for u in "alice:$AUTHD_PASSWORD" "bob:$AUTHD_PASSWORD2" "tina:$AUTHD_PASSWORD3"; do
	printf '%s\n' "${u#*:}" | ctl user add "${u%%:*}" --password-stdin \
		--email "${u%%:*}@city.example" >"$T/user.log" 2>&1 ||
		abort "authctl user add ${u%%:*}: $(tail -n 3 "$T/user.log")"
done

addclient() { # addclient ID ARGS...: prints the generated secret
	id=$1
	shift
	ctl client add "$id" "$@" >"$T/client-$id.out" 2>"$T/client-$id.err" ||
		abort "authctl client add $id: $(tail -n 3 "$T/client-$id.err")"
	sed -n 's/^client_secret: *//p' "$T/client-$id.out"
}
export AUTHD_RP=rp-sec AUTHD_RP_REDIRECT=https://rp.city.example/cb
export AUTHD_RP2=rp-other AUTHD_RP2_REDIRECT=https://other.city.example/cb
AUTHD_RP_SECRET=$(addclient $AUTHD_RP --redirect-uri "$AUTHD_RP_REDIRECT" \
	--redirect-uri "https://rp.city.example:8443/cb2" \
	--grant authorization_code --grant refresh_token --scope openid --scope profile \
	--scope email --scope offline_access --post-logout-redirect-uri https://rp.city.example/bye)
AUTHD_RP2_SECRET=$(addclient $AUTHD_RP2 --redirect-uri "$AUTHD_RP2_REDIRECT" \
	--grant authorization_code --grant refresh_token --scope openid --scope offline_access)
[ -n "$AUTHD_RP_SECRET" ] && [ -n "$AUTHD_RP2_SECRET" ] || abort "no client_secret printed"
addclient tv --public --grant urn:ietf:params:oauth:grant-type:device_code \
	--scope openid >/dev/null
export AUTHD_RP_SECRET AUTHD_RP2_SECRET AUTHD_DEVICE_CLIENT=tv

started=0
for _ in 1 2 3 4 5; do
	port=$(free_port) || abort "no free port"
	write_conf "$port"
	export AUTHD_ISSUER="https://127.0.0.1:$port"
	"$AUTHD_BIN" -c "$T/authd.conf" >>"$T/authd.out" 2>>"$T/authd.log" &
	authd_pid=$!
	i=0
	while [ $i -lt 200 ] && kill -0 "$authd_pid" 2>/dev/null; do
		if curl -fsS --max-time 2 --cacert "$AUTHD_CA" -o /dev/null \
			"$AUTHD_ISSUER/.well-known/openid-configuration" 2>/dev/null; then
			started=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ $started = 1 ] && break
	kill -0 "$authd_pid" 2>/dev/null && abort "authd did not answer within 20 s"
	wait "$authd_pid" 2>/dev/null
	authd_pid=
done
[ $started = 1 ] || abort "authd would not start"
echo "# authd pid $authd_pid at $AUTHD_ISSUER"
export AUTHD_BUILD="$build" AUTHD_CONF="$T/authd.conf" AUTHD_LOG="$T/authd.log"
export AUTHD_DATA="$T/data" AUTHD_PID=$authd_pid

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
	kill -0 "$authd_pid" 2>/dev/null || abort "authd died during $(basename "$t")"
done

finish

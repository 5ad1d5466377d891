#!/bin/sh
# tests/integration/run.sh BUILD — the integration harness: one real authd on a
# free loopback port with a fresh store, dev TLS certificate, test users and
# clients made with authctl; then every tests/integration/*.test.sh (given BUILD
# as $1 and the daemon's coordinates in the environment), the node tests
# (openid-client, jose, libjwt) and a graceful-shutdown check. Ends with one line
# "integration: N passed, N failed" and exits non-zero when anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
cd "$root" || exit 1

suite=integration
finish_log_lines=50
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-integ.XXXXXX") || exit 1
cleanup() {
	kill_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN" "$build/tests/libjwt-verify"; do
	[ -x "$f" ] || bail "$f is missing (make all $build/tests/libjwt-verify)"
done
[ -d "$here/node_modules/openid-client" ] || bail "node modules missing (make deps-test)"
[ -f "$root/certs/dev-cert.sh" ] || bail "certs/dev-cert.sh is missing"

# ---- the instance -------------------------------------------------------
authd_dev_cert
export AUTHD_CA NODE_EXTRA_CA_CERTS="$AUTHD_CA"

# Fast hashing, short lockout, plenty of address failures so that only the
# per-account throttle is exercised.
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF

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
	} >"$T/authd.conf"
}

write_conf 1 # the port is rewritten before start; authctl needs a config now
authd_init

# Passwords are random per run, so nothing in the tests can depend on them.
AUTHD_PASSWORD=$(newpw) AUTHD_PASSWORD2=$(newpw) AUTHD_PASSWORD3=$(newpw)
export AUTHD_USER=alice AUTHD_PASSWORD
export AUTHD_USER2=bob AUTHD_PASSWORD2
export AUTHD_USER3=carol AUTHD_PASSWORD3
adduser() { # adduser NAME PASSWORD EMAIL DISPLAY
	authd_user "$1" "$2" --email "$3" --display-name "$4"
}
adduser "$AUTHD_USER" "$AUTHD_PASSWORD" alice@city.example "Alice Chen"
adduser "$AUTHD_USER2" "$AUTHD_PASSWORD2" bob@city.example "Bob Lin"
adduser "$AUTHD_USER3" "$AUTHD_PASSWORD3" carol@city.example "Carol Wang"

code_client() { # code_client ID REDIRECT: the generated secret in client_secret
	authd_client "$1" --redirect-uri "$2" --grant authorization_code \
		--grant refresh_token --scope openid --scope profile --scope email \
		--scope offline_access --auth-method client_secret_basic
}
export AUTHD_RP=rp-web AUTHD_RP_REDIRECT=https://rp.city.example/cb
export AUTHD_RP2=rp-portal AUTHD_RP2_REDIRECT=https://portal.city.example/cb
export AUTHD_CURL=rp-curl AUTHD_CURL_REDIRECT=https://curl.city.example/cb
export AUTHD_SVC=svc-batch
code_client "$AUTHD_RP" "$AUTHD_RP_REDIRECT"
AUTHD_RP_SECRET=$client_secret
code_client "$AUTHD_RP2" "$AUTHD_RP2_REDIRECT"
AUTHD_RP2_SECRET=$client_secret
code_client "$AUTHD_CURL" "$AUTHD_CURL_REDIRECT"
AUTHD_CURL_SECRET=$client_secret
authd_client "$AUTHD_SVC" --redirect-uri https://batch.city.example/cb \
	--grant client_credentials --scope openid --auth-method client_secret_basic
AUTHD_SVC_SECRET=$client_secret
# Registered with authctl's defaults (secret by Basic or form, PKCE required),
# and an older app let off PKCE (confidential only).
export AUTHD_RPD=rp-default AUTHD_RPD_REDIRECT=https://app.city.example/cb
export AUTHD_RPN=rp-nopkce AUTHD_RPN_REDIRECT=https://old.city.example/cb
authd_client "$AUTHD_RPD" --redirect-uri "$AUTHD_RPD_REDIRECT"
AUTHD_RPD_SECRET=$client_secret
authd_client "$AUTHD_RPN" --redirect-uri "$AUTHD_RPN_REDIRECT" --no-require-pkce
AUTHD_RPN_SECRET=$client_secret
export AUTHD_RP_SECRET AUTHD_RP2_SECRET AUTHD_CURL_SECRET AUTHD_SVC_SECRET
export AUTHD_RPD_SECRET AUTHD_RPN_SECRET
for s in "$AUTHD_RP_SECRET" "$AUTHD_RP2_SECRET" "$AUTHD_CURL_SECRET" "$AUTHD_SVC_SECRET" \
	"$AUTHD_RPD_SECRET" "$AUTHD_RPN_SECRET"; do
	[ -n "$s" ] || bail "authctl client add printed no client_secret"
done

# The city's 115 applications, as the operators will load them.
city=${AUTHD_CITY_APPS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data/city-apps.json}
export AUTHD_CITY_SECRETS=
if [ -f "$city" ]; then
	check "authctl client import $(basename "$city")" \
		ctl client import "$city" --secrets-out "$T/city-secrets"
	AUTHD_CITY_SECRETS="$T/city-secrets"
fi

# ---- start and wait for readiness (20 s), on a new port if bind failed ----
authd_start write_conf || bail "$authd_err"
echo "# authd pid $authd_pid at $AUTHD_ISSUER"
export AUTHD_BUILD="$build" AUTHD_CONF="$T/authd.conf" AUTHD_LOG="$T/authd.log"
export AUTHD_JWT_VERIFY="$build/tests/libjwt-verify"

# ---- shell tests (TAP) -----------------------------------------------------
for t in "$here"/*.test.sh; do
	[ -f "$t" ] || continue
	run_tap_script "$t"
done

# ---- node tests (openid-client, jose, libjwt) -----------------------------
echo "# ---- node --test"
(cd "$here" && node --test --test-reporter=tap --test-timeout=60000 ./*.test.mjs) \
	>"$T/node.out" 2>&1
rc=$?
cat "$T/node.out"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$T/node.out" | tail -n 1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$T/node.out" | tail -n 1)
tap_count "${p:-0}" "${f:-0}"
if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
	echo "# node --test exited $rc without a failing test"
	tap_count 0 1
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
check "authd logs JSON lines to stderr" log_is_json
log_has_no_secret() {
	for s in "$AUTHD_PASSWORD" "$AUTHD_PASSWORD2" "$AUTHD_PASSWORD3" \
		"$AUTHD_RP_SECRET" "$AUTHD_RP2_SECRET" "$AUTHD_CURL_SECRET" "$AUTHD_SVC_SECRET"; do
		if grep -qF -- "$s" "$T/authd.log"; then
			return 1
		fi
	done
	return 0
}
check "no password or client secret appears in the log" log_has_no_secret

# ---- graceful shutdown: SIGTERM, exit status 0 within 10 s ------------------
check "authd exits 0 within 10 s of SIGTERM" authd_stop

finish

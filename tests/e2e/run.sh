#!/bin/sh
# tests/e2e/run.sh BUILD — end-to-end tests in real headless Chromium (Debian
# chromium + playwright-core): an authd of its own on https://localhost:PORT
# (a free loopback port, fresh store, dev certificate whose CA is trusted in a
# throwaway NSS database, since Chromium refuses WebAuthn on a page with a
# certificate error), a test user and an app that requires AAL3; then
# tests/e2e/*.test.mjs with the daemon's coordinates in the environment. TAP.
# No attestation root is trusted at first, so Chromium's virtual authenticator
# (a self-signed attestation certificate) makes passkeys, not hardware;
# webauthn.test.mjs then adds that certificate to attestation_roots and
# restarts authd on the same port to reach AAL3 with it (authd.pid).
# apache.test.mjs starts and stops an Apache of its own (mod_auth_openidc,
# the guide's configuration) in front of this authd.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-e2e.XXXXXX") || exit 1
hicos_pid=
cleanup() {
	[ -n "$hicos_pid" ] && stop_pid "$hicos_pid"
	if [ -f "$T/authd.pid" ]; then
		# webauthn.test.mjs restarted authd (to trust the virtual
		# authenticator's certificate): ours has exited; stop its successor.
		wait "$authd_pid" 2>/dev/null
		stop_pid "$(cat "$T/authd.pid")"
	else
		stop_pid "$authd_pid"
	fi
	rm -rf "$T"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || bail "$CHROMIUM is missing (make deps-test installs Debian chromium)"
command -v certutil >/dev/null || bail "certutil is missing (Debian libnss3-tools)"
[ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_auth_openidc.so ] ||
	bail "apache2 or mod_auth_openidc is missing (make deps-test: Debian apache2 libapache2-mod-auth-openidc)"
command -v oathtool >/dev/null || bail "oathtool is missing (make deps-test)"
nm="$root/tests/integration/node_modules"
[ -d "$nm/playwright-core" ] && [ -d "$nm/@simplewebauthn/server" ] ||
	bail "node modules missing (make deps-test)"

authd_dev_cert
# Chromium on Linux reads trust from $HOME/.pki/nssdb: a throwaway HOME that
# trusts only the test CA (the real user's database is never touched).
mkdir -p "$T/home/.pki/nssdb"
certutil -d "sql:$T/home/.pki/nssdb" -N --empty-password >/dev/null 2>&1 ||
	bail "certutil could not create the NSS database"
certutil -d "sql:$T/home/.pki/nssdb" -A -t "C,," -n "authd e2e CA" -i "$T/certs/ca.crt" ||
	bail "certutil could not add the test CA"

# The citizen-certificate look-alike PKI (x509.test.mjs); keys are cached
# between runs (RSA-4096 is slow), certificates remade.
E2E_PKI=${X509_E2E_PKI_CACHE:-${TMPDIR:-/tmp}/authd-x509-e2e-pki3-$(id -u)}
sh "$root/certs/make-test-pki.sh" "$E2E_PKI" 1 2 3 >"$T/pki.log" 2>&1 ||
	bail "certs/make-test-pki.sh failed: $(tail -n 3 "$T/pki.log")"

# The HiPKI local sign server: tests/sim/hicos.py, a process of its own on a
# free loopback port, without CORS, signing with `openssl cms` (x509.test.mjs
# plays the person at the reader through its control port).
/usr/bin/python3 "$root/tests/sim/hicos.py" --pki "$E2E_PKI" --ready-file "$T/hicos.json" \
	>"$T/hicos.out" 2>"$T/hicos.log" &
hicos_pid=$!
i=0
while [ ! -s "$T/hicos.json" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$T/hicos.json" ] || bail "tests/sim/hicos.py did not start: $(tail -n 3 "$T/hicos.log")"
E2E_HICOS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["service_url"])' "$T/hicos.json")
E2E_HICOS_CONTROL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_url"])' "$T/hicos.json")

# localhost, not 127.0.0.1: a WebAuthn rp id must be a domain name.
authd_host=localhost
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF

[store]
path = data
nosync = 1

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[webauthn]
rp_name = City SSO e2e
user_verification = preferred
attestation = direct

# The card's page script against the HiCOS simulator; revocation is tested
# by tests/integration/x509.test.sh, so none here (fail open).
[x509]
enabled = true
local_sign_origin = $E2E_HICOS
trust_anchors = $E2E_PKI/anchors.pem
intermediates = $E2E_PKI/intermediates.pem
ocsp = false
crl = false
fail_open = true

[log]
level = 2
EOF
	} >"$T/authd.conf"
}

write_conf 1
authd_init
E2E_USER=lin.e2e
E2E_PASSWORD=$(newpw)
authd_user "$E2E_USER" "$E2E_PASSWORD" --display-name "林測試"
ctl x509 bind "$E2E_USER" "$E2E_PKI/good-g2.crt" >"$T/x509.log" 2>&1 ||
	bail "authctl x509 bind: $(tail -n 3 "$T/x509.log")"
# A second person with only a password, for webauthn.test.mjs: the first has a
# card bound, which makes adding a key ask for an AAL3 sign-in first.
E2E_WA_USER=wei.e2e
E2E_WA_PASSWORD=$(newpw)
authd_user "$E2E_WA_USER" "$E2E_WA_PASSWORD" --display-name "王測試"
E2E_REDIRECT=http://127.0.0.1:9/cb
authd_client e2e-aal3 --redirect-uri "$E2E_REDIRECT" --min-aal 3 --name-en "AAL3 app"
E2E_SECRET=$client_secret
[ -n "$E2E_SECRET" ] || bail "authctl client add printed no client_secret"
authd_client e2e-aal2 --redirect-uri "$E2E_REDIRECT" --min-aal 2 --name-en "AAL2 app"
E2E_SECRET2=$client_secret
[ -n "$E2E_SECRET2" ] || bail "authctl client add printed no client_secret"

authd_start write_conf || bail "$authd_err"
echo "# e2e: authd pid $authd_pid at $AUTHD_ISSUER"

export AUTHD_ISSUER E2E_USER E2E_PASSWORD E2E_WA_USER E2E_WA_PASSWORD E2E_REDIRECT E2E_SECRET CHROMIUM
export E2E_ROOT="$root" E2E_SECRET2 E2E_AUTHD="$AUTHD_BIN" E2E_AUTHD_PID="$authd_pid"
export E2E_HOME="$T/home" E2E_TMP="$T" NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"
export E2E_AUTHCTL="$AUTHCTL_BIN" E2E_CONF="$T/authd.conf" E2E_PKI E2E_HICOS E2E_HICOS_CONTROL
# The scripts run from the scratch folder, beside a link to the integration
# suite's node_modules (one package.json and lock for all node tests).
ln -s "$nm" "$T/node_modules"
rc=0
# E2E_ONLY=NAME runs tests/e2e/NAME.test.mjs alone (while working on it).
for t in "$here"/${E2E_ONLY:-*}.test.mjs; do
	echo "# $(basename "$t")"
	cp "$t" "$T/" && timeout 300 node "$T/$(basename "$t")" || rc=1
done
if [ $rc -ne 0 ]; then
	tail -n 15 "$T/authd.log" | sed 's/^/# authd: /'
fi
exit $rc

#!/bin/sh
# tests/security/run.sh BUILD — the attack suite: one authd of its own on a free
# loopback port (fresh store, dev TLS certificate, small Argon2 parameters,
# throttling relaxed so that the timing test can repeat failures), users and
# clients made with authctl; then every tests/security/*.test.sh with BUILD as
# $1 and the daemon's coordinates in the environment. hardening.test.sh starts
# instances of its own (as root, to see the privilege drop). Prints TAP and
# ends with "security: N passed, N failed"; exits non-zero when anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
cd "$root" || exit 1

suite=security
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-sec.XXXXXX") || exit 1
chmod 755 "$T"   # hardening.test.sh reads the certificate as another user
cleanup() {
	kill_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
export AUTHD_BIN AUTHCTL_BIN
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
[ -d "$root/tests/integration/node_modules/jose" ] || bail "node modules missing (make deps-test)"
for c in mdb_stat mdb_dump oathtool openssl node curl; do
	command -v $c >/dev/null || bail "$c is missing (sh scripts/deps.sh build test)"
done

authd_dev_cert
chmod 755 "$T/certs"
chmod 644 "$T/certs/tls.crt" "$T/certs/ca.crt"
export AUTHD_CA AUTHD_CERTS="$T/certs"
export NODE_PATH="$root/tests/integration/node_modules"

# The attestation PKI of review-attestation.test.sh and a FIDO MDS BLOB made
# from it (valid for 30 days): hardware means chaining to vendor-root (in
# attestation_roots) or to a root the BLOB lists for the key's model.
A="$T/attest"
sh "$here/attest-pki.sh" "$A" || bail "tests/security/attest-pki.sh failed"
mds_next=$(node -e 'console.log(new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10))')
node "$here/attest.mjs" blob "$A/mds-signer.key" "$A/mds-signer.pem" "$A/mds-entries.json" \
	"$mds_next" >"$A/mds.jwt" || bail "could not make the MDS BLOB"
export AUTHD_ATTEST="$A" AUTHD_DENIED_AAGUID=5e55a11c5e55a11c5e55a11c5e55a102

# Small Argon2 parameters keep the timing test fast; the address throttle, the
# account and code back-offs and the per-sign-in attempt cap are out of the way
# (review-throttle.test.sh runs its own authd with real limits), so that
# repeated failures measure the password check and nothing else.
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF

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
code_max_failures = 1000
login_max_attempts = 100

[webauthn]
attestation_roots = $A/vendor-root.pem
mds_blob = $A/mds.jwt
mds_root = $A/mds-root.pem
denied_aaguids = $AUTHD_DENIED_AAGUID

[log]
level = 2
EOF
	} >"$T/authd.conf"
}

write_conf 1
authd_init

AUTHD_PASSWORD=$(newpw) AUTHD_PASSWORD2=$(newpw) AUTHD_PASSWORD3=$(newpw)
export AUTHD_USER=alice AUTHD_PASSWORD AUTHD_USER2=bob AUTHD_PASSWORD2
export AUTHD_USER3=tina AUTHD_PASSWORD3
for u in "alice:$AUTHD_PASSWORD" "bob:$AUTHD_PASSWORD2" "tina:$AUTHD_PASSWORD3"; do
	authd_user "${u%%:*}" "${u#*:}" --email "${u%%:*}@city.example"
done

export AUTHD_RP=rp-sec AUTHD_RP_REDIRECT=https://rp.city.example/cb
export AUTHD_RP2=rp-other AUTHD_RP2_REDIRECT=https://other.city.example/cb
authd_client $AUTHD_RP --redirect-uri "$AUTHD_RP_REDIRECT" \
	--redirect-uri "https://rp.city.example:8443/cb2" \
	--grant authorization_code --grant refresh_token --scope openid --scope profile \
	--scope email --scope offline_access --post-logout-redirect-uri https://rp.city.example/bye
AUTHD_RP_SECRET=$client_secret
authd_client $AUTHD_RP2 --redirect-uri "$AUTHD_RP2_REDIRECT" \
	--grant authorization_code --grant refresh_token --scope openid --scope offline_access
AUTHD_RP2_SECRET=$client_secret
[ -n "$AUTHD_RP_SECRET" ] && [ -n "$AUTHD_RP2_SECRET" ] || bail "no client_secret printed"
authd_client tv --public --grant urn:ietf:params:oauth:grant-type:device_code \
	--scope openid
export AUTHD_RP_SECRET AUTHD_RP2_SECRET AUTHD_DEVICE_CLIENT=tv
export AUTHD_RP3=rp-aal3 AUTHD_RP3_REDIRECT=https://aal3.city.example/cb
authd_client $AUTHD_RP3 --redirect-uri "$AUTHD_RP3_REDIRECT" --min-aal 3 --scope openid
AUTHD_RP3_SECRET=$client_secret
[ -n "$AUTHD_RP3_SECRET" ] || bail "no client_secret printed for $AUTHD_RP3"
export AUTHD_RP3_SECRET

authd_start write_conf || bail "$authd_err"
echo "# authd pid $authd_pid at $AUTHD_ISSUER"
export AUTHD_BUILD="$build" AUTHD_CONF="$T/authd.conf" AUTHD_LOG="$T/authd.log"
export AUTHD_DATA="$T/data" AUTHD_PID=$authd_pid

for t in "$here"/*.test.sh; do
	[ -f "$t" ] || continue
	run_tap_script "$t"
	kill -0 "$authd_pid" 2>/dev/null || bail "authd died during $(basename "$t")"
done

finish

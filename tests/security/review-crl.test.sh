#!/bin/sh
# tests/security/review-crl.test.sh BUILD — the security review's item 4 (issue 11):
# a revoked citizen card signing in through a swapped CRL. An authd of its own
# with [x509] on the look-alike MOICA PKI (certs/make-test-pki.sh), OCSP blocked
# (nothing listens at the responders' addresses) and the CRLs served over plain
# HTTP on loopback by a server the attacker controls: at the revoked card's CRL
# address it serves CRLs that are current and genuinely signed by the same CA
# but of another scope — another partition (issuingDistributionPoint), a delta
# CRL, a CRL of CA certificates only, an indirect CRL, a CRL of some reasons
# only — or the other CA generation's CRL, an older CRL of the right partition
# after a newer one was seen, or nothing at all for a long time (and a delta
# address that never answers: then the base decides). Each must leave
# the status unknown: `authctl x509 bind` refused and the sign-in refused with no
# code, audited with the card and the account. The genuine partition CRL says
# revoked; a good card of that partition signs in. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=${AUTHD_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/authd-sec-crl.XXXXXX")} || exit 1
PKI=${X509_SEC_PKI_CACHE:-${TMPDIR:-/tmp}/authd-sec-crl-pki3-$(id -u)}
. "$root/tests/integration/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

crl_pid=
cleanup() {
	stop_pid "$crl_pid"
	stop_pid "$authd_pid"
	[ -n "${AUTHD_WORK:-}" ] || rm -rf "$T"
}
on_exit cleanup

authd_bins
[ -x "$AUTHD_BIN" ] && [ -x "$AUTHCTL_BIN" ] || bail "authd/authctl missing (make all)"
command -v python3 >/dev/null || bail "python3 is missing"

# ---- the PKI and the attacker's CRL server --------------------------------------------
# The responders' ports are taken and released at once: nothing answers there.
OCSP_PORT=$(authd_free_port)
OCSP3_PORT=$(authd_free_port)
CRL_PORT=$(authd_free_port)
sh "$root/certs/make-test-pki.sh" "$PKI" "$OCSP_PORT" "$CRL_PORT" "$OCSP3_PORT" >"$T/pki.log" 2>&1 ||
	bail "make-test-pki.sh: $(tail -n 3 "$T/pki.log")"
# Serves $T/crl/NAME at /NAME; when $T/crl/NAME.stall exists it holds the
# connection open for 60 s first (a path that never answers).
mkdir -p "$T/crl"
cat >"$T/crl.py" <<'PY'
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = os.path.basename(self.path)
        p = os.path.join(root, name)
        if os.path.exists(p + ".stall"):
            time.sleep(60)
        if not os.path.isfile(p):
            self.send_error(404); return
        body = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$T/crl.py" "$T/crl" "$CRL_PORT" >"$T/crl.log" 2>&1 &
crl_pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$CRL_PORT/" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 50 ] || bail "the CRL server did not start"

# ---- the instance ------------------------------------------------------------------
[ -f "$T/certs/tls.crt" ] || authd_dev_cert
AUTHD_CA="$T/certs/ca.crt"
export AUTHD_CA
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

[throttle]
account_max_failures = 1000
address_free_failures = 100000

[x509]
enabled = true
trust_anchors = $PKI/anchors.pem
intermediates = $PKI/intermediates.pem
policy_oids = 2.16.886.101.0.3.3
crl_cache = crl-cache
ocsp_timeout_ms = 1000
crl_timeout_ms = 1500
unbound = refuse
EOF
	} >"$T/authd.conf"
}
write_conf 1
authd_init
SUN_PW=$(newpw)
authd_user lin "$(newpw)"
authd_user zhou "$(newpw)"
authd_client app --redirect-uri https://app.city.example/cb --grant authorization_code \
	--scope openid --scope profile --scope email --scope offline_access
R=https://app.city.example/cb
# The help desk linked both cards before part1-revoked was revoked: authctl with
# revocation checks off sets that scene (only here).
sed -e 's/^ocsp_timeout_ms = .*/ocsp = false\ncrl = false\nfail_open = true/' "$T/authd.conf" \
	>"$T/authd-norev.conf"
"$AUTHCTL_BIN" -c "$T/authd-norev.conf" x509 bind lin "$PKI/part1-revoked.crt" >/dev/null 2>&1 ||
	bail "binding part1-revoked"
"$AUTHCTL_BIN" -c "$T/authd-norev.conf" x509 bind zhou "$PKI/part1-good.crt" >/dev/null 2>&1 ||
	bail "binding part1-good"
authd_start write_conf /healthz || bail "$authd_err"
echo "# authd pid $authd_pid at $AUTHD_ISSUER, CRLs at http://127.0.0.1:$CRL_PORT/, OCSP blocked"

# ---- helpers ------------------------------------------------------------------------
EN="Accept-Language: en"
serve() { cp "$PKI/$1" "$T/crl/$2"; }   # serve FILE AS
code_of() { query_param "$(header "$1" location)" code; }
# card_login NAME CARD: the whole challenge-signing sign-in (authorize, begin,
# the card signs the nonce, POST /login).
card_login() {
	rm -f "$T/$1.jar"
	authorize "$1.az" "$T/$1.jar" app "$R"
	login_page "$1.az" "$T/$1.jar"
	tx=$(hidden_field "$1.az.page" tx)
	csrf=$(hidden_field "$1.az.page" csrf)
	req "$1.begin" -b "$T/$1.jar" -c "$T/$1.jar" --data-urlencode "tx=$tx" \
		--data-urlencode "csrf=$csrf" -d method=x509 "$AUTHD_ISSUER/login/begin"
	json "$1.begin" j.nonce | tr -d '\n' >"$T/$1.tbs"
	openssl cms -sign -binary -nodetach -signer "$PKI/$2.crt" -inkey "$PKI/$2.key" -md sha256 \
		-in "$T/$1.tbs" -outform DER -out "$T/$1.sig" 2>/dev/null
	req "$1" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" --data-urlencode "tx=$tx" \
		--data-urlencode "csrf=$csrf" -d method=x509 -d mode=sign \
		--data-urlencode "pkcs7=$(openssl base64 -A -in "$T/$1.sig")" "$AUTHD_ISSUER/login"
}
unknown_refused() {
	eq "$(status_of "$1")" 401 && has "$(body_of "$1")" "cannot be checked" && eq "$(code_of "$1")" ""
}
revoked_refused() {
	eq "$(status_of "$1")" 401 && has "$(body_of "$1")" "revoked" && eq "$(code_of "$1")" ""
}
# rebind CARD: authctl x509 bind lin CARD (lin's own card: success would only
# refresh the link); output in $T/rebind.out, its exit status returned.
rebind() { "$AUTHCTL_BIN" -c "$T/authd.conf" x509 bind lin "$PKI/$1.crt" >"$T/rebind.out" 2>&1; }
swapped() { # swapped FILE WHAT: FILE served at part1-revoked's CRL address
	serve "$1" g2-part1.crl
	rebind part1-revoked
	rc=$?
	ok "$2 at the revoked card's CRL address: authctl x509 bind refused (rc $rc)" test "$rc" -ne 0
	ok "... with a clear message" has "$(cat "$T/rebind.out")" "revocation status unknown"
	card_login "swap-$1" part1-revoked
	ok "... and the sign-in refused: 401, no code" unknown_refused "swap-$1"
}

# ---- the attack ----------------------------------------------------------------------
swapped g2-part2.crl "the other partition's CRL (same CA, current, genuine)"
swapped g2-part1-delta.crl "a delta CRL served as the full CRL"
swapped g2-part1-onlyca.crl "a CRL of CA certificates only (onlyContainsCACerts)"
swapped g2-part1-indirect.crl "an indirect CRL (indirectCRL)"
swapped g2-part1-reasons.crl "a CRL of some reasons only (onlySomeReasons)"
swapped g3.crl "the other MOICA generation's CRL (same issuer name, other key)"
# The account page's "link my citizen certificate" meets the same swapped CRL:
# refused, and audited for the signed-in account.
authd_user sun "$SUN_PW"
code_flow acct "$T/acct.jar" app "$R" sun "$SUN_PW" || diag "password sign-in of sun failed"
req acct.page -b "$T/acct.jar" -c "$T/acct.jar" "$AUTHD_ISSUER/account"
acsrf=$(hidden_field acct.page csrf)
req acct.begin -b "$T/acct.jar" -c "$T/acct.jar" -H "Origin: $AUTHD_ISSUER" \
	--data-urlencode "csrf=$acsrf" -d action=bind_begin "$AUTHD_ISSUER/account/x509"
json acct.begin j.nonce | tr -d '\n' >"$T/acct.tbs"
openssl cms -sign -binary -nodetach -signer "$PKI/part1-revoked.crt" -inkey "$PKI/part1-revoked.key" \
	-md sha256 -in "$T/acct.tbs" -outform DER -out "$T/acct.sig" 2>/dev/null
req acct.bind -b "$T/acct.jar" -c "$T/acct.jar" -H "$EN" -H "Origin: $AUTHD_ISSUER" \
	--data-urlencode "csrf=$acsrf" -d action=bind \
	--data-urlencode "pkcs7=$(openssl base64 -A -in "$T/acct.sig")" "$AUTHD_ISSUER/account/x509"
ok "the account page's card link with a swapped CRL: refused (503, cannot be checked)" \
	sh -c "[ '$(status_of acct.bind)' = 503 ] && grep -q 'cannot be checked' '$T/acct.bind.body'"
card_login goodswap part1-good
ok "a good card is not let in by a swapped CRL either (fail closed)" unknown_refused goodswap
ok "the swapped CRL was named in the log, with why" grep -q "CRL refused.*covers another partition" "$T/authd.log"

# ---- the genuine partition CRL ------------------------------------------------------------
serve g2-part1.crl g2-part1.crl
rebind part1-revoked
rc=$?
ok "the genuine partition CRL: authctl x509 bind refused (rc $rc) as revoked" \
	sh -c "[ $rc -ne 0 ] && grep -q 'certificate revoked' '$T/rebind.out'"
card_login genuine part1-revoked
ok "... and the sign-in refused as revoked" revoked_refused genuine
card_login good part1-good
ok "a good card of that partition signs in: 303 with a code" \
	sh -c "[ '$(status_of good)' = 303 ] && [ -n '$(code_of good)' ]"

# ---- an older CRL of the right partition after a newer one was seen ---------------------
# A newer part 1 CRL that goes stale 4 s after it is made (made now, with the
# PKI's own CA files, after the restart so that a slow machine does not eat its
# life); once it is stale, the attacker serves g2-part1-old.crl: genuine, still
# current, made before any part 1 card was revoked.
# Nothing cached: authd restarts with an empty crl_cache.
authd_stop >/dev/null
rm -rf "$T/crl-cache"
authd_launch /healthz || bail "authd did not restart"
(cd "$PKI" && BASE_CRL=0 TW_ID=x openssl ca -config g2-part1.cnf -gencrl -crlexts crl_part1 -crlsec 4 \
	-out "$T/short.pem" 2>/dev/null) && openssl crl -in "$T/short.pem" -outform DER -out "$T/crl/g2-part1.crl" ||
	bail "cannot make a short-lived part 1 CRL"
stale_at=$(date -d "$(openssl crl -in "$T/short.pem" -noout -nextupdate | sed 's/^nextUpdate=//')" +%s)
card_login short part1-revoked
ok "a fresh part 1 CRL says revoked" revoked_refused short
# until the short-lived CRL is past its nextUpdate
while [ "$(date +%s)" -le "$stale_at" ]; do
	sleep 0.2
done
serve g2-part1-old.crl g2-part1.crl
card_login rollback part1-revoked
ok "then an older part 1 CRL (still current) is refused: 401, no code" unknown_refused rollback
rebind part1-revoked
rc=$?
ok "... by authctl x509 bind too (rc $rc), from the CRL it finds in the cache" test "$rc" -ne 0
ok "the older CRL was named in the log" grep -q "older than one already seen" "$T/authd.log"

# ---- a CRL server that never answers --------------------------------------------------------
: >"$T/crl/g2-part1.crl.stall"
t0=$(date +%s)
card_login stall part1-revoked
t1=$(date +%s)
ok "a CRL address that never answers: refused, no code" unknown_refused stall
ok "... within the bounded fetch time ($((t1 - t0)) s)" test $((t1 - t0)) -le 6
rm -f "$T/crl/g2-part1.crl.stall"

# ---- a delta CRL address that never answers ---------------------------------------------------
# The base decides alone; the stalled address then rests, so the next sign-in
# does not wait for it again.
serve g2-part1.crl g2-part1.crl
: >"$T/crl/g2-part1-delta.crl.stall"
authd_stop >/dev/null
rm -rf "$T/crl-cache"
authd_launch /healthz || bail "authd did not restart"
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
card_login dstall1 part1-good
t1=$(ms)
card_login dstall2 part1-good
t2=$(ms)
ok "a delta address that never answers: the base CRL decides (303, 303)" \
	eq "$(status_of dstall1) $(status_of dstall2)" "303 303"
ok "... the first sign-in waited at most about crl_timeout_ms ($((t1 - t0)) ms)" test $((t1 - t0)) -le 4000
ok "... and the next one did not wait for it again ($((t2 - t1)) ms)" test $((t2 - t1)) -lt 1200
rm -f "$T/crl/g2-part1-delta.crl.stall"

# ---- the audit record -----------------------------------------------------------------------
ctl user show lin >"$T/lin.json" 2>/dev/null
ctl x509 list lin >"$T/lin-cards.json" 2>/dev/null
LIN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).id)' "$T/lin.json")
CARD=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].id)' \
	"$T/lin-cards.json")
ctl audit show --last 1000000 2>/dev/null | grep '"event":"x509.revocation_unknown"' >"$T/unknown.audit"
CNT=$(grep "\"card\":\"$CARD\"" "$T/unknown.audit" | grep -c "\"user\":\"$LIN\"")
ok "revocation status unknown is audited for each refused sign-in, naming the card and the account ($CNT)" \
	test "$CNT" -ge 8
ok "... and for authctl x509 bind (by the administrator)" grep -q '"by":"admin"' "$T/unknown.audit"
ctl user show sun >"$T/sun.json" 2>/dev/null
SUN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).id)' "$T/sun.json")
ok "... and for the account page, naming the signed-in account" \
	sh -c "grep '\"by\":\"self\"' '$T/unknown.audit' | grep -q '\"user\":\"$SUN\"'"
ok "... with no personal data (holder's name, ID number)" \
	sh -c "! grep -q -e '錢二' -e 'F223456782' '$T/unknown.audit'"
ok "the audit chain verifies" ctl audit verify
tap_end

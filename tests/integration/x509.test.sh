#!/bin/sh
# tests/integration/x509.test.sh BUILD — the citizen certificate end to end
# against an authd of its own: a look-alike MOICA PKI (certs/make-test-pki.sh),
# real `openssl ocsp` responders for G2 and G3 on loopback, the CRLs served by
# python3's http.server, challenge signing with `openssl cms -sign` over the
# nonce from /login/begin, and TLS client authentication with curl --cert on
# the dedicated listener. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-x509.XXXXXX") || exit 1
[ -n "${X509_TEST_KEEP:-}" ] && echo "# scratch: $T"
# Keys are kept between runs (RSA-4096 takes a while); certificates are not.
# ("pki3": the layout with the .3.3 policy; an older checkout keeps its own.)
PKI=${X509_PKI_CACHE:-${TMPDIR:-/tmp}/authd-x509-pki3-$(id -u)}
. "$here/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

pids=
cleanup() {
	for p in $pids $authd_pid; do
		stop_pid "$p"
	done
	rm -rf "$T"
}
if [ -n "${X509_TEST_KEEP:-}" ]; then
	trap 'exit 130' INT TERM
else
	on_exit cleanup
fi

authd_bins
[ -x "$AUTHD_BIN" ] && [ -x "$AUTHCTL_BIN" ] || bail "authd/authctl missing (make all)"
command -v python3 >/dev/null || bail "python3 is missing"
ctlq() { ctl "$@" 2>/dev/null; }
# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
	i=0
	while [ $i -lt 50 ]; do
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$1" \
			2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- the PKI, the responders and the CRL server ------------------------------------
OCSP_PORT=$(authd_free_port)
OCSP3_PORT=$(authd_free_port)
CRL_PORT=$(authd_free_port)
sh "$root/certs/make-test-pki.sh" "$PKI" "$OCSP_PORT" "$CRL_PORT" "$OCSP3_PORT" >"$T/pki.log" 2>&1 ||
	bail "make-test-pki.sh: $(tail -n 3 "$T/pki.log")"

# OpenSSL 3.0's `openssl ocsp -port` takes a bare port and listens on every
# address; tests stay on loopback, so a small python3 server bound to 127.0.0.1
# hands each request to `openssl ocsp` in responder mode (-reqin/-respout):
# the answers are openssl's own, built from the CA's index.txt at every query.
cat >"$T/ocsp.py" <<'PY'
import http.server, subprocess, sys, tempfile, os
pki, ca, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n <= 0 or n > 65536:
            self.send_error(400); return
        body = self.rfile.read(n)
        with tempfile.TemporaryDirectory() as d:
            rq, rs = os.path.join(d, "req.der"), os.path.join(d, "resp.der")
            open(rq, "wb").write(body)
            r = subprocess.run(["openssl", "ocsp", "-index", f"{pki}/{ca}-index.txt",
                "-CA", f"{pki}/{ca}.crt", "-rsigner", f"{pki}/ocsp-{ca}.crt",
                "-rkey", f"{pki}/ocsp-{ca}.key", "-nmin", "5", "-reqin", rq, "-respout", rs],
                capture_output=True)
            if r.returncode != 0 or not os.path.exists(rs):
                self.send_error(500); return
            out = open(rs, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
start_ocsp() { # start_ocsp CA PORT
	python3 "$T/ocsp.py" "$PKI" "$1" "$2" >>"$T/ocsp-$1.log" 2>&1 &
	echo $!
}
OCSP2_PID=$(start_ocsp g2 "$OCSP_PORT")
OCSP3_PID=$(start_ocsp g3 "$OCSP3_PORT")
pids="$OCSP2_PID $OCSP3_PID"
mkdir -p "$T/crl"
cp "$PKI/g2.crl" "$PKI/g3.crl" "$T/crl/"
python3 -m http.server "$CRL_PORT" --bind 127.0.0.1 --directory "$T/crl" >"$T/crl.log" 2>&1 &
CRL_PID=$!
pids="$pids $CRL_PID"
wait_port "$OCSP_PORT" && wait_port "$OCSP3_PORT" && wait_port "$CRL_PORT" ||
	bail "OCSP responders or CRL server did not start"
# (A long-running `openssl ocsp` 3.0 responder reads index.txt one query late;
# a responder run per query, as here, always answers from the current file.)
openssl ocsp -issuer "$PKI/g2.crt" -cert "$PKI/revoked.crt" -url "http://127.0.0.1:$OCSP_PORT/" \
	-CAfile "$PKI/anchors.pem" -verify_other "$PKI/intermediates.pem" >"$T/ocsp-probe.log" 2>&1
grep -q "revoked.crt: revoked" "$T/ocsp-probe.log" || bail "OCSP responder answers wrongly: $(cat "$T/ocsp-probe.log")"

# ---- the instance ----------------------------------------------------------------
authd_dev_cert
export AUTHD_CA

write_conf() { # write_conf PORT CCPORT
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
account_max_failures = 100
address_free_failures = 1000

[x509]
enabled = true
trust_anchors = $PKI/anchors.pem
intermediates = $PKI/intermediates.pem
crl_cache = crl-cache
ocsp_timeout_ms = 1500
unbound = refuse
tls_listen = 127.0.0.1:$2
proxy_header = X-SSL-Client-Cert
EOF
	} >"$T/authd.conf"
}
# conf_ports PORT: the config with a new port for the client-certificate
# listener too (in ccport).
conf_ports() {
	ccport=$(authd_free_port)
	write_conf "$1" "$ccport"
}
write_conf 1 2
authd_init
printf 'Correct-horse-battery-9\n' | ctl user add wang --password-stdin >/dev/null 2>&1 ||
	bail "authctl user add"
printf 'Correct-horse-battery-8\n' | ctl user add chen --password-stdin >/dev/null 2>&1 ||
	bail "authctl user add"
printf 'Correct-horse-battery-7\n' | ctl user add qian --password-stdin >/dev/null 2>&1 ||
	bail "authctl user add"
printf 'Correct-horse-battery-6\n' | ctl user add zhao --password-stdin >/dev/null 2>&1 ||
	bail "authctl user add"
ctl client add app1 --redirect-uri https://app1.city.example/cb --grant authorization_code \
	--grant refresh_token --scope openid --scope profile --scope email --scope offline_access \
	--min-aal 1 >"$T/client.out" 2>&1 || bail "client add"
APP1_S=$(sed -n 's/^client_secret: *//p' "$T/client.out")
# app3 requires AAL3; sun has a password and no card.
ctl client add app3 --redirect-uri https://app3.city.example/cb --grant authorization_code \
	--scope openid --scope profile --scope email --scope offline_access --min-aal 3 >"$T/client3.out" 2>&1 || bail "client add app3"
APP3_S=$(sed -n 's/^client_secret: *//p' "$T/client3.out")
R3=https://app3.city.example/cb
printf 'Correct-horse-battery-4\n' | ctl user add sun --password-stdin >/dev/null 2>&1 ||
	bail "authctl user add sun"
R=https://app1.city.example/cb

# ---- authctl x509 ---------------------------------------------------------------------
ok "authctl x509 bind links a G2 card" ctlq x509 bind wang "$PKI/good-g2.crt"
ok "authctl x509 bind links a G3 card (same issuer DN, other key)" ctlq x509 bind chen "$PKI/good-g3.crt"
ok "authctl x509 bind refuses an expired card" sh -c "! '$AUTHCTL_BIN' -c '$T/authd.conf' x509 bind wang '$PKI/expired.crt' 2>/dev/null"
ok "authctl x509 bind refuses a card of a forged CA" sh -c "! '$AUTHCTL_BIN' -c '$T/authd.conf' x509 bind wang '$PKI/other.crt' 2>/dev/null"
ok "authctl x509 bind refuses a card with another policy than MOICA's (the default policy_oids)" sh -c "! '$AUTHCTL_BIN' -c '$T/authd.conf' x509 bind wang '$PKI/other-policy.crt' 2>/dev/null"
ok "authctl x509 bind refuses a card revoked (OCSP)" sh -c "! '$AUTHCTL_BIN' -c '$T/authd.conf' x509 bind wang '$PKI/revoked.crt' 2>/dev/null"
ok "authctl x509 bind refuses a card bound to someone else" sh -c "! '$AUTHCTL_BIN' -c '$T/authd.conf' x509 bind chen '$PKI/good-g2.crt' 2>/dev/null"
ctl x509 list wang >"$T/list.out" 2>&1
ok "authctl x509 list shows CN and last four digits, never the ID" sh -c \
	"grep -q '6789' '$T/list.out' && ! grep -q 'A123456789' '$T/list.out'"
# The partition cards were linked by the help desk before any of them was
# revoked: authctl with revocation checks off sets that scene (only here).
sed -e 's/^ocsp_timeout_ms = .*/ocsp = false\ncrl = false\nfail_open = true/' "$T/authd.conf" \
	>"$T/authd-norev.conf"
for b in qian:part1-revoked qian:part1-mirror qian:part1-late zhao:part1-good zhao:part2-good; do
	"$AUTHCTL_BIN" -c "$T/authd-norev.conf" x509 bind "${b%%:*}" "$PKI/${b#*:}.crt" >/dev/null 2>&1 ||
		bail "binding ${b#*:} before its revocation"
done

# ---- start ------------------------------------------------------------------------------
authd_start conf_ports /healthz || bail "$authd_err"
I=$AUTHD_ISSUER
CC="https://127.0.0.1:$ccport"
diag "x509: authd pid $authd_pid at $I, client-certificate listener $CC"

audit_count() { ctl audit show --last 1000000 2>/dev/null | grep -c "\"event\":\"$1\""; }

# start NAME: a login transaction (TX, CSRF) in jar $T/NAME.jar.
start() {
	rm -f "$T/$1.jar"
	authorize "$1.az" "$T/$1.jar" app1 "$R"
	login_page "$1.az" "$T/$1.jar"
	TX=$(hidden_field "$1.az.page" tx)
	CSRF=$(hidden_field "$1.az.page" csrf)
}
# nonce NAME: POST /login/begin method=x509; sets NONCE.
nonce() {
	req "$1.begin" -b "$T/$1.jar" -c "$T/$1.jar" --data-urlencode "tx=$TX" \
		--data-urlencode "csrf=$CSRF" -d method=x509 "$I/login/begin"
	NONCE=$(json "$1.begin" j.nonce)
}
# sign WHO DATA [-nodetach|detached]: base64 PKCS#7 by the card WHO over DATA.
sign() {
	printf '%s' "$2" >"$T/tbs"
	if [ "${3:-}" = detached ]; then
		openssl cms -sign -binary -signer "$PKI/$1.crt" -inkey "$PKI/$1.key" -md sha256 \
			-in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null
	else
		openssl cms -sign -binary -nodetach -signer "$PKI/$1.crt" -inkey "$PKI/$1.key" -md sha256 \
			-in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null
	fi
	openssl base64 -A -in "$T/sig.der"
}
# post NAME PKCS7: POST /login with method=x509.
post() {
	req "$1" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" --data-urlencode "tx=$TX" \
		--data-urlencode "csrf=$CSRF" -d method=x509 -d mode=sign \
		--data-urlencode "pkcs7=$2" "$I/login"
}
EN="Accept-Language: en"
# card_login NAME WHO [detached]: the whole challenge-signing sign-in.
card_login() {
	start "$1"
	nonce "$1"
	SIG=$(sign "$2" "$NONCE" "${3:-}")
	post "$1" "$SIG"
}
id_token_amr() { # id_token_amr NAME: amr of the ID token for the code in NAME's Location
	code=$(query_param "$(header "$1" location)" code)
	token "$1.tok" app1 "$APP1_S" -d grant_type=authorization_code --data-urlencode "code=$code" \
		--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$VERIFIER"
	json "$1.tok" 'JSON.parse(Buffer.from(j.id_token.split(".")[1], "base64url")).amr.join(",")'
}

# ---- challenge signing ---------------------------------------------------------------
card_login g2 good-g2
ok "G2 card (RSA-2048 CA) signs in: 303 to the app" eq "$(status_of g2)" 303
AMR=$(id_token_amr g2)
ok "the ID token's amr has sc and pin" has "$AMR" "sc,pin"
ok "challenge signing reaches aal2 (not phishing-resistant)" eq "$(json g2.tok 'JSON.parse(Buffer.from(j.id_token.split(".")[1], "base64url")).acr')" aal2
ok "begin returned the signing parameters" eq "$(json g2.begin j.hashAlgorithm)/$(json g2.begin j.signatureType)" "SHA256/PKCS7"
# replay: the same signature again on the same transaction
post g2.replay "$SIG"
cp "$T/g2.jar" "$T/g2.replay.jar" 2>/dev/null
ok "the same signature a second time is refused" sh -c "[ \"\$(cat '$T/g2.replay.status')\" != 303 ]"

card_login g3 good-g3 detached
ok "G3 card (RSA-4096 CA), detached signature, signs in" eq "$(status_of g3)" 303

# A PKCS#7 without the signer certificate (what HiCOS returns for real cards):
# the certificate comes beside it in certb64.
start nocert
nonce nocert
printf '%s' "$NONCE" >"$T/tbs"
openssl cms -sign -binary -nodetach -nocerts -signer "$PKI/good-g2.crt" -inkey "$PKI/good-g2.key" \
	-md sha256 -in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null
SIG=$(openssl base64 -A -in "$T/sig.der")
CERTB64=$(openssl x509 -in "$PKI/good-g2.crt" -outform DER | openssl base64 -A)
post nocert "$SIG"
ok "a PKCS#7 without its certificate and no certb64 is refused" eq "$(status_of nocert)" 401
start nocert2
nonce nocert2
printf '%s' "$NONCE" >"$T/tbs"
openssl cms -sign -binary -nodetach -nocerts -signer "$PKI/good-g2.crt" -inkey "$PKI/good-g2.key" \
	-md sha256 -in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null
SIG=$(openssl base64 -A -in "$T/sig.der")
req nocert2 -b "$T/nocert2.jar" -c "$T/nocert2.jar" -H "$EN" --data-urlencode "tx=$TX" \
	--data-urlencode "csrf=$CSRF" -d method=x509 -d mode=sign --data-urlencode "pkcs7=$SIG" \
	--data-urlencode "certb64=$(openssl x509 -in "$PKI/good-g3.crt" -outform DER | openssl base64 -A)" "$I/login"
ok "... and with another card's certificate in certb64" eq "$(status_of nocert2)" 401
req nocert3 -b "$T/nocert2.jar" -c "$T/nocert2.jar" -H "$EN" --data-urlencode "tx=$TX" \
	--data-urlencode "csrf=$CSRF" -d method=x509 -d mode=sign --data-urlencode "pkcs7=$SIG" \
	--data-urlencode "certb64=$CERTB64" "$I/login"
ok "... and the nonce is then used up even with the right certb64" sh -c "[ \"\$(cat '$T/nocert3.status')\" != 303 ]"
start nocert4
nonce nocert4
printf '%s' "$NONCE" >"$T/tbs"
openssl cms -sign -binary -nodetach -nocerts -signer "$PKI/good-g2.crt" -inkey "$PKI/good-g2.key" \
	-md sha256 -in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null
SIG=$(openssl base64 -A -in "$T/sig.der")
req nocert4 -b "$T/nocert4.jar" -c "$T/nocert4.jar" -H "$EN" --data-urlencode "tx=$TX" \
	--data-urlencode "csrf=$CSRF" -d method=x509 -d mode=sign --data-urlencode "pkcs7=$SIG" \
	--data-urlencode "certb64=$CERTB64" "$I/login"
ok "a PKCS#7 without its certificate signs in with the card's certificate in certb64" eq "$(status_of nocert4)" 303

# A card-only citizen: an account without a password, then its card.
ok "authctl user add --no-password makes an account without a password" ctlq user add zhou --no-password
ok "... audited with password false" sh -c "'$AUTHCTL_BIN' -c '$T/authd.conf' audit show --last 5 2>/dev/null | grep '\"admin.user.add\"' | grep zhou | grep -q '\"password\":false'"
ok "user add with both --no-password and --password-stdin is a usage error" \
	sh -c "printf 'Correct-horse-battery-5\n' | '$AUTHCTL_BIN' -c '$T/authd.conf' user add zhou2 --no-password --password-stdin 2>/dev/null; [ \$? -eq 2 ]"
ok "user add with neither is a usage error, nothing made" \
	sh -c "'$AUTHCTL_BIN' -c '$T/authd.conf' user add zhou3 </dev/null 2>/dev/null; [ \$? -eq 2 ] && ! '$AUTHCTL_BIN' -c '$T/authd.conf' user show zhou3 >/dev/null 2>&1"
# (the PKI's good cards are all bound: zhao lends part2-good for a moment;
# unbind takes every card of an account)
ctl x509 unbind zhao >/dev/null 2>&1 || diag "could not unbind zhao's cards"
ok "the help desk links the card-only citizen's card" ctlq x509 bind zhou "$PKI/part2-good.crt"
card_login cardonly part2-good
ok "the card-only citizen signs in with the card" eq "$(status_of cardonly)" 303
start cardonlypw
post_login cardonlypw.pw "$T/cardonlypw.jar" "cardonlypw.az.page" zhou "Correct-horse-battery-9"
ok "... and no password signs them in" sh -c "[ \"\$(cat '$T/cardonlypw.pw.status')\" != 303 ]"
ctl x509 unbind zhou >/dev/null 2>&1
for c in part1-good part2-good; do
	ctl x509 bind zhao "$PKI/$c.crt" >/dev/null 2>&1 || diag "could not give $c back to zhao"
done

start other
nonce other
SIG=$(sign good-g2 "not-the-nonce")
post other "$SIG"
ok "a signature over another text is refused" eq "$(status_of other)" 401
ok "... with a message saying so" has "$(body_of other)" "does not match"

start garbage
nonce garbage
post garbage "this is not base64 PKCS#7"
ok "garbage base64 is refused as malformed (400)" eq "$(status_of garbage)" 400
ok "... with a clear message" has "$(body_of garbage)" "malformed"

card_login revoked revoked
ok "a card revoked (OCSP says so) is refused" eq "$(status_of revoked)" 401
ok "... and told it is revoked" has "$(body_of revoked)" "revoked"

card_login expired expired
ok "an expired card is refused" has "$(status_of expired) $(body_of expired)" "expired"

card_login forged other
ok "a card of a forged CA with MOICA's DN is refused" has "$(status_of forged) $(body_of forged)" "not issued by a trusted"

# an unbound, valid card: clear page on how to bind
ctl x509 unbind chen >/dev/null 2>&1
card_login unbound good-g3
ok "an unbound card is refused with how to link it" has "$(body_of unbound)" "not linked to an account"
ctl x509 bind chen "$PKI/good-g3.crt" >/dev/null 2>&1

# ---- OCSP down: the CRL decides; both down: fail closed, audited ------------------
stop_pid "$OCSP2_PID"
pids="$OCSP3_PID $CRL_PID"
card_login crlrev revoked2
ok "responder down, CRL says revoked: refused" has "$(body_of crlrev)" "revoked"

# ---- partitioned CRLs (G2's responder is down from here) -------------------------
# serve FILE AS: the CRL server answers AS with the PKI's FILE.
serve() { cp "$PKI/$1" "$T/crl/$2"; }
code_of() { query_param "$(header "$1" location)" code; }
# unknown_refused NAME: 401 with the reason, and no authorization code.
unknown_refused() {
	eq "$(status_of "$1")" 401 && has "$(body_of "$1")" "cannot be checked" && eq "$(code_of "$1")" ""
}
revoked_refused() {
	eq "$(status_of "$1")" 401 && has "$(body_of "$1")" "revoked" && eq "$(code_of "$1")" ""
}
# rebind CARD: authctl x509 bind qian CARD (the card is qian's: a successful
# bind only refreshes it); its output in $T/rebind.out, its status returned.
rebind() { "$AUTHCTL_BIN" -c "$T/authd.conf" x509 bind qian "$PKI/$1.crt" >"$T/rebind.out" 2>&1; }
# Genuine G2 CRLs of another scope, each served at part 1's address: none of
# them may say anything about a part 1 card. Nothing is cached for that
# address yet (the server never had a part 1 CRL).
for v in "g2-part2.crl:the CRL of another partition" "g2-part1-delta.crl:a delta CRL alone" \
	"g2-part1-onlyca.crl:a CRL of CA certificates only" "g2-part1-indirect.crl:an indirect CRL" \
	"g2-part1-reasons.crl:a CRL of some reasons only"; do
	f=${v%%:*}
	what=${v#*:}
	serve "$f" g2-part1.crl
	rebind part1-revoked
	rc=$?
	ok "$what at the revoked card's CRL address: authctl x509 bind refuses (rc $rc)" test "$rc" -ne 0
	ok "... saying the revocation status is unknown" has "$(cat "$T/rebind.out")" "revocation status unknown"
	card_login "swap-$f" part1-revoked
	ok "... and the card's sign-in is refused: 401, no code" unknown_refused "swap-$f"
done
serve g2-part1.crl g2-part1.crl
rebind part1-revoked
rc=$?
ok "the genuine partition CRL: authctl x509 bind refuses the card (rc $rc)" test "$rc" -ne 0
ok "... as revoked" has "$(cat "$T/rebind.out")" "certificate revoked"
card_login p1rev part1-revoked
ok "... and its sign-in is refused as revoked" revoked_refused p1rev
card_login p1good part1-good
ok "a good card of the same partition signs in: 303 with a code" sh -c \
	"[ '$(status_of p1good)' = 303 ] && [ -n '$(code_of p1good)' ]"
serve g2-part2.crl g2-part2.crl
card_login p2good part2-good
ok "a good card of the other partition signs in with its own CRL" eq "$(status_of p2good)" 303
# part1-mirror's CDP: the mirror URL first, then part 1's. Another partition's
# CRL at the mirror is not used; part 1's CRL at the second URL decides.
serve g2-part2.crl g2-part1-mirror.crl
card_login mirror part1-mirror
ok "two CDP URLs, the first serving another partition's CRL: the second's says revoked" \
	revoked_refused mirror
# part1-late was revoked after part 1's base CRL: only the delta CRL (named by
# the base's freshestCRL) lists it.
serve g2-part1-delta.crl g2-part1-delta.crl
card_login late part1-late
ok "a card revoked after the base CRL: its delta CRL, used with the base, says revoked" \
	revoked_refused late
ctl user show qian >"$T/qian.json" 2>/dev/null
ctl x509 list qian >"$T/qian-cards.json" 2>/dev/null
QIAN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).id)' "$T/qian.json")
CARD=$(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	console.log(l.find((c) => c.cn === "錢二").id)' "$T/qian-cards.json")
ctl audit show --last 1000000 2>/dev/null | grep '"event":"x509.revocation_unknown"' |
	grep "\"card\":\"$CARD\"" >"$T/unknown.audit"
ok "the unknown status is audited with the card (issuer key id:serial) and its account" \
	grep -q "\"user\":\"$QIAN\"" "$T/unknown.audit"
ok "... and no personal data (name, ID)" sh -c "! grep -q -e '錢二' -e 'F223456782' '$T/unknown.audit'"
stop_pid "$CRL_PID"
pids="$OCSP3_PID"
before=$(audit_count x509.revocation_unknown)
# good-g2's OCSP answer is cached in memory until nextUpdate, and the CRL
# parsed from the earlier download is still current (cached until its nextUpdate):
# remove the disk cache and restart authd so nothing is left but the network.
# The CRL parsed from the earlier download is still current (cached until nextUpdate):
# remove the disk cache and restart authd so nothing is left but the network.
rm -rf "$T/crl-cache"
stop_pid "$authd_pid"
authd_launch /healthz
card_login bothdown good-g2
ok "OCSP and CRL both unreachable: refused (fail closed)" eq "$(status_of bothdown)" 401
ok "... with the reason" has "$(body_of bothdown)" "cannot be checked"
ok "... and audited as x509.revocation_unknown" test "$(audit_count x509.revocation_unknown)" -gt "$before"

# ---- TLS client authentication ------------------------------------------------------
# G3's responder still runs: chen's card (G3) is checked by OCSP.
tls_login() { # tls_login NAME CERT-ARGS...
	n=$1
	shift
	rm -f "$T/$n.jar"
	pkce
	req "$n.az" -b "$T/$n.jar" -c "$T/$n.jar" "$@" \
		"$CC/authorize?response_type=code&client_id=app1&redirect_uri=$(urlenc "$R")&scope=openid&state=s&nonce=n&code_challenge=$CHALLENGE&code_challenge_method=S256"
	loc=$(header "$n.az" location)
	req "$n.page" -b "$T/$n.jar" -c "$T/$n.jar" "$@" "$CC$loc"
	req "$n" -b "$T/$n.jar" -c "$T/$n.jar" -H "$EN" "$@" \
		--data-urlencode "tx=$(hidden_field "$n.page" tx)" \
		--data-urlencode "csrf=$(hidden_field "$n.page" csrf)" -d method=x509 -d mode=tls "$CC/login"
}
tls_login tls --cert "$PKI/good-g3.crt" --key "$PKI/good-g3.key"
ok "TLS client certificate (curl --cert) signs in on the dedicated listener" eq "$(status_of tls)" 303
AMR=$(id_token_amr tls)
ok "TLS client auth reaches aal3 (phishing-resistant hardware)" eq "$(json tls.tok 'JSON.parse(Buffer.from(j.id_token.split(".")[1], "base64url")).acr')" aal3
tls_login nocert
ok "no client certificate: refused" eq "$(status_of nocert)" 401
ok "... with a clear message" has "$(body_of nocert)" "No client certificate"
# A certificate header from an address that is not a trusted proxy is ignored.
start hdr
req hdr -b "$T/hdr.jar" -c "$T/hdr.jar" -H "$EN" \
	-H "X-SSL-Client-Cert: $(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$PKI/good-g3.crt")" \
	--data-urlencode "tx=$TX" --data-urlencode "csrf=$CSRF" -d method=x509 -d mode=tls "$I/login"
ok "a certificate header from a non-proxy address is ignored" has "$(status_of hdr) $(body_of hdr)" "No client certificate"
ok "... and logged" grep -q "client certificate header from an untrusted address ignored" "$T/authd.log"

# ---- an AAL3 app: from the password page to the card over TLS (same sign-in) --------
# pw_start NAME USER PASSWORD: app3's sign-in on the main listener, password first.
pw_start() {
	rm -f "$T/$1.jar"
	authorize "$1.az" "$T/$1.jar" app3 "$R3"
	login_page "$1.az" "$T/$1.jar"
	TX=$(hidden_field "$1.az.page" tx)
	req "$1.pw" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" -H "Origin: $I" --data-urlencode "tx=$TX" \
		--data-urlencode "csrf=$(hidden_field "$1.az.page" csrf)" \
		--data-urlencode "username=$2" --data-urlencode "password=$3" "$I/login"
}
before_factor=$(audit_count login.factor)
pw_start lead chen Correct-horse-battery-8
ok "AAL3 app, password of an account with a card: 303 to the next step, same sign-in" \
	eq "$(status_of lead.pw) $(header lead.pw location)" "303 /login?tx=$TX"
req lead.step -b "$T/lead.jar" -c "$T/lead.jar" -H "$EN" "$I/login?tx=$TX"
LINK=$(sed -n 's/.*id="cert-path" href="\([^"]*\)".*/\1/p' "$T/lead.step.body")
ok "... the page leads to the card listener with the same transaction" \
	eq "$(status_of lead.step) $LINK" "200 $CC/login?tx=$TX"
ok "... and says what to do (insert the card; the browser asks for the certificate and PIN)" \
	sh -c "grep -q 'Insert the card' '$T/lead.step.body' && grep -q 'PIN' '$T/lead.step.body'"
req lead.steptw -b "$T/lead.jar" -c "$T/lead.jar" -H "Accept-Language: zh-TW" "$I/login?tx=$TX"
ok "... in zh-TW too" has "$(body_of lead.steptw)" "請將自然人憑證卡插入讀卡機"
ok "... the step is audited (login.factor, next x509)" sh -c \
	"'$AUTHCTL_BIN' -c '$T/authd.conf' audit show --last 20 2>/dev/null | grep '\"event\":\"login.factor\"' | grep -q '\"next\":\"x509\"' && [ $(audit_count login.factor) -gt $before_factor ]"
# The browser follows the link: the login cookie is per host, not per port, so
# the same transaction (and its CSRF token) works on the card listener.
CARD="--cert $PKI/good-g3.crt --key $PKI/good-g3.key"
# shellcheck disable=SC2086
req lead.cc -b "$T/lead.jar" -c "$T/lead.jar" -H "$EN" $CARD "$LINK"
ok "on the card listener the same sign-in shows the card step" sh -c \
	"[ '$(status_of lead.cc)' = 200 ] && grep -q 'id=\"method-x509\"' '$T/lead.cc.body' && [ '$(hidden_field lead.cc tx)' = '$TX' ]"
# shellcheck disable=SC2086
req lead.done -b "$T/lead.jar" -c "$T/lead.jar" -H "$EN" -H "Origin: $CC" $CARD \
	--data-urlencode "tx=$TX" --data-urlencode "csrf=$(hidden_field lead.cc csrf)" \
	-d method=x509 -d mode=tls "$CC/login"
LEADLOC=$(header lead.done location)
ok "the card over TLS completes the sign-in: 303 to app3 with a code" sh -c \
	"[ '$(status_of lead.done)' = 303 ] && case '$LEADLOC' in '$R3?code='*) true;; *) false;; esac"
code=$(query_param "$LEADLOC" code)
token lead.tok app3 "$APP3_S" -d grant_type=authorization_code --data-urlencode "code=$code" \
	--data-urlencode "redirect_uri=$R3" --data-urlencode "code_verifier=$VERIFIER"
claim() { json lead.tok "JSON.parse(Buffer.from(j.id_token.split('.')[1], 'base64url')).$1"; }
ok "... the ID token says acr aal3" eq "$(claim acr)" aal3
ok "... amr: the password, then the card (sc, pin), mfa" eq "$(claim 'amr.join(",")')" "pwd,sc,pin,mfa"
ok "... audited: login.success with acr aal3 for chen" sh -c \
	"'$AUTHCTL_BIN' -c '$T/authd.conf' audit show --last 20 2>/dev/null | grep '\"event\":\"login.success\"' | grep -q '\"acr\":\"aal3\"'"
# "Ask my second factor at every sign-in" is on for chen (a card is bound), but it
# raises only with a step on the page: an AAL1 app does not send chen to the card.
rm -f "$T/aal1c.jar"
authorize aal1c.az "$T/aal1c.jar" app1 "$R"
login_page aal1c.az "$T/aal1c.jar"
req aal1c.pw -b "$T/aal1c.jar" -c "$T/aal1c.jar" -H "$EN" -H "Origin: $I" \
	--data-urlencode "tx=$(hidden_field aal1c.az.page tx)" \
	--data-urlencode "csrf=$(hidden_field aal1c.az.page csrf)" \
	--data-urlencode "username=chen" --data-urlencode "password=Correct-horse-battery-8" "$I/login"
ok "AAL1 app, password of an account with a card over TLS: signed in, not sent to the card listener" \
	has "$(status_of aal1c.pw) $(header aal1c.pw location)" "303 $R?code="
# The same transaction with another browser's cookie, or the card step without a card:
pw_start lead2 chen Correct-horse-battery-8
req lead2.cc -b "$T/lead2.jar" -c "$T/lead2.jar" -H "$EN" "$CC/login?tx=$TX"
req lead2.nocard -b "$T/lead2.jar" -c "$T/lead2.jar" -H "$EN" \
	--data-urlencode "tx=$TX" --data-urlencode "csrf=$(hidden_field lead2.cc csrf)" \
	-d method=x509 -d mode=tls "$CC/login"
ok "the card step without a certificate on the connection: refused, no code" sh -c \
	"[ '$(status_of lead2.nocard)' = 401 ] && [ -z '$(header lead2.nocard location)' ]"
# shellcheck disable=SC2086
req lead2.other -H "$EN" $CARD "$CC/login?tx=$TX"
ok "another browser (no login cookie) cannot use the transaction" eq "$(status_of lead2.other)" 403
# An account without a card: the unmet page, as before, its words true for AAL3.
pw_start nocardu sun Correct-horse-battery-4
ok "AAL3 app, password of an account without a card: the unmet page (403)" \
	eq "$(status_of nocardu.pw)" 403
ok "... which does not offer two-step verification for AAL3 (a security key)" sh -c \
	"grep -q 'security key' '$T/nocardu.pw.body' && ! grep -q 'Set up two-step verification' '$T/nocardu.pw.body' && ! grep -q 'cert-path' '$T/nocardu.pw.body'"
ok "... with the way back to app3 carrying unmet_authentication_requirements" \
	has "$(body_of nocardu.pw)" "unmet_authentication_requirements"

# ---- page script and button ------------------------------------------------------------
req js "$I/static/x509.js"
ok "/static/x509.js is served as JavaScript" has "$(header js content-type)" "text/javascript"
start page
ok "the sign-in page shows the citizen certificate button" has "$(body_of page.az.page)" 'id="method-x509"'
ok "the card page keeps its popup's opener (COOP same-origin-allow-popups)" \
	eq "$(header page.az.page cross-origin-opener-policy)" "same-origin-allow-popups"
ok "the CSP no longer lists the local sign server (the popup bridge needs no connect-src)" \
	sh -c "! printf '%s' '$(header page.az.page content-security-policy)' | grep -q 61161"
req nocard "$I/authorize?client_id=no-such-app"
ok "an HTML page without the card script has no COOP header" \
	sh -c "grep -qi '^content-type: text/html' '$T/nocard.headers' && ! grep -qi '^cross-origin-opener-policy' '$T/nocard.headers'"

# ---- [x509] tls_max_version: the card listener alone stops at TLS 1.2 ----------------
# tls_proto NAME HOST:PORT -tls1_N: the protocol `openssl s_client` agreed ("" when refused).
tls_proto() {
	openssl s_client -connect "$2" "$3" -CAfile "$T/certs/ca.crt" </dev/null >"$T/$1.sclient" 2>&1
	sed -n 's/^ *Protocol *: *//p; s/^New, \(TLSv1\.[23]\),.*/\1/p' "$T/$1.sclient" | head -n 1
}
MAIN=${I#https://}
ok "by default the card listener does TLS 1.3" eq "$(tls_proto cc13 "127.0.0.1:$ccport" -tls1_3)" TLSv1.3
stop_pid "$authd_pid"
sed 's/^\[x509\]$/[x509]\ntls_max_version = 2.0/' "$T/authd.conf" >"$T/authd-badtls.conf"
"$AUTHD_BIN" -c "$T/authd-badtls.conf" >"$T/badtls.out" 2>&1
rc=$?
ok "tls_max_version = 2.0 is refused at start-up (rc $rc)" test "$rc" -ne 0
ok "... saying what is allowed" grep -q "tls_max_version must be 1.2 or 1.3" "$T/badtls.out"
sed -i 's/^\[x509\]$/[x509]\ntls_max_version = 1.2/' "$T/authd.conf"
authd_launch /healthz || bail "authd with tls_max_version = 1.2 did not start"
ok "tls_max_version = 1.2: the card listener refuses TLS 1.3" eq "$(tls_proto cc13b "127.0.0.1:$ccport" -tls1_3)" ""
ok "... and accepts TLS 1.2" eq "$(tls_proto cc12 "127.0.0.1:$ccport" -tls1_2)" TLSv1.2
ok "... while the main listener still does TLS 1.3" eq "$(tls_proto main13 "$MAIN" -tls1_3)" TLSv1.3
tls_login tls12 --tlsv1.2 --cert "$PKI/good-g3.crt" --key "$PKI/good-g3.key"
ok "a card over TLS 1.2 signs in on that listener" eq "$(status_of tls12)" 303

ok "authctl x509 unbind removes the cards" ctlq x509 unbind wang
tap_end

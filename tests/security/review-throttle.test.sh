#!/bin/sh
# tests/security/review-throttle.test.sh BUILD — issue 11, items 2, 6 and 7: the
# throttle against parallel guesses, against being used to lock people out, and
# against address rotation. It runs an authd of its own with the real [throttle]
# defaults (run.sh's relaxes them for the timing test), real Argon2id parameters,
# and [server] trusted_proxies = 127.0.0.1 so that each request can present the
# client address of its choice in X-Forwarded-For over loopback. The parallel
# clients are tests/security/throttle.mjs.
#
# Verifications are counted from the audit log (one login.failure, or one
# device.bad_code, per secret actually checked), never from status codes.
#   1. 40 parallel wrong passwords for one account (browser) -> at most 5 checked
#   2. 40 parallel wrong one-time codes in one sign-in, worker pool busy -> at
#      most 5 checked, and the right code afterwards is refused (sign-in over)
#   3. the same two through host login (POST /token, pam_authd's grants)
#   4. 40 parallel wrong device user codes from one address -> at most 10 looked up
#   5. a 300-request burst from one address: another address signs in < 2 s,
#      with the default throttle and again as behind a big NAT (address limit
#      off), where only the fair worker queue keeps it short
#   6. an attacker's burst from one address does not keep the owner out from another
#   7. IPv6: addresses of one /64 share every per-address limit; another /64 does not
#   8. TOTP enrolment on /account: the confirmation code has a limited number of tries
#   9. a citizen card signs in while the password of its account is backed off,
#      from the very address that is backed off (look-alike PKI from
#      certs/make-test-pki.sh; revocation checks off: not what is tested here)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=${AUTHD_WORK:-$(mktemp -d)}
. "$root/tests/integration/lib.sh"

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
command -v oathtool >/dev/null || bail "oathtool is missing"
# The card PKI is kept between runs (RSA key generation is the slow part); its
# OCSP/CRL addresses are never asked (ocsp = crl = 0 below).
PKI=${THROTTLE_PKI_CACHE:-${TMPDIR:-/tmp}/authd-throttle-pki3-$(id -u)}
sh "$root/certs/make-test-pki.sh" "$PKI" 9 9 9 >"$T/pki.log" 2>&1 ||
	bail "make-test-pki.sh: $(tail -n 3 "$T/pki.log")"
cleanup() { kill_pid "$authd_pid"; }
on_exit cleanup

if [ -n "${AUTHD_CERTS:-}" ] && [ -f "$AUTHD_CERTS/tls.crt" ]; then
	mkdir -p "$T/certs" && cp "$AUTHD_CERTS"/* "$T/certs/" && AUTHD_CA="$T/certs/ca.crt"
else
	authd_dev_cert
fi
export AUTHD_CA NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"

# nat=1: as an operator behind one big NAT would run it, the per-address
# failure limit out of the way (section 5b).
nat=0
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF
trusted_proxies = 127.0.0.1

[store]
path = data
nosync = yes

[password]
breached_list = $root/share/common-passwords.txt

[log]
level = 2

[x509]
enabled = true
trust_anchors = $PKI/anchors.pem
intermediates = $PKI/intermediates.pem
policy_oids = 2.16.886.101.0.3.3
ocsp = 0
crl = 0
fail_open = 1
crl_cache = crl-cache
EOF
		if [ $nat = 1 ]; then
			printf '\n[throttle]\naddress_free_failures = 100000\n'
		fi
	} >"$T/authd.conf"
}
write_conf 1
authd_init

PW=$(newpw)
for u in vic1 vic2 vic3 vic4 own5 own6 vic7 ann8 card9; do
	authd_user $u "$PW" --email "$u@city.example"
done
ctl x509 bind card9 "$PKI/good-g2.crt" >"$T/bind.log" 2>&1 || bail "x509 bind: $(cat "$T/bind.log")"

# enrol NAME: TOTP through authctl with the code of the previous step; keeps
# $T/NAME.secret (as tests/integration/aal.test.sh does).
enrol() {
	rm -f "$T/$1.fifo"
	: >"$T/$1.enrol"
	mkfifo "$T/$1.fifo" || bail "mkfifo"
	ctl totp enrol "$1" --code-stdin <"$T/$1.fifo" >"$T/$1.enrol" 2>"$T/$1.enrol.err" &
	epid=$!
	exec 3>"$T/$1.fifo"
	i=0
	while ! grep -qs 'secret=' "$T/$1.enrol" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/$1.enrol" | head -n 1 >"$T/$1.secret"
	oathtool --totp -b "$(cat "$T/$1.secret")" --now "@$(($(date +%s) - 30))" >&3
	exec 3>&-
	wait $epid || bail "authctl totp enrol $1 failed: $(cat "$T/$1.enrol.err")"
}
enrol vic2
enrol vic4

R=https://rp.city.example/cb
authd_client app1 --redirect-uri $R --grant authorization_code --scope openid --min-aal 1
authd_client app2 --redirect-uri $R --grant authorization_code --scope openid --min-aal 2
authd_client host --grant password --min-aal 2 --scope openid
HOST_S=$client_secret
[ -n "$HOST_S" ] || bail "no client secret for host"

authd_start write_conf || bail "$authd_err"
diag "authd pid $authd_pid at $AUTHD_ISSUER"

burst() { node "$here/throttle.mjs" "$@"; }
# js JSON EXPR: evaluates EXPR on the parsed JSON (as j).
js() { node -e 'const j = JSON.parse(process.argv[1]); const v = eval(process.argv[2]);
	console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1" "$2"; }
# audit_n EVENT FILTER...: audit records of EVENT containing every FILTER.
audit_n() {
	_ev=$1
	shift
	ctl audit show --last 1000000 2>/dev/null | grep "\"event\":\"$_ev\"" >"$T/audit.sel"
	for _f in "$@"; do
		grep -F -- "$_f" "$T/audit.sel" >"$T/audit.sel2"
		mv "$T/audit.sel2" "$T/audit.sel"
	done
	wc -l <"$T/audit.sel" | tr -d ' '
}
le() { [ "$1" -le "$2" ] || { diag "$1 > $2"; return 1; }; }
A1='"client":"app1"'

# ---- 1. parallel wrong passwords for one account (browser) -------------------------
out=$(burst pw-burst '{"client":"app1","redirect":"'$R'","addr":"198.51.100.11","n":40,"user":"vic1","password":"wrong-password"}')
diag "pw-burst vic1: $out"
v=$(audit_n login.failure '"username":"vic1"')
diag "vic1: $v wrong passwords verified"
ok "browser: 40 parallel wrong passwords for one account -> at most 5 verified" le "$v" 5
ok "browser: ... every attempt answered 401 or 429 (refused at once, not queued)" \
	eq "$(js "$out" '(j.codes[401] ?? 0) + (j.codes[429] ?? 0)')" 40
out=$(burst pw-until '{"client":"app1","redirect":"'$R'","addr":"198.51.100.11","user":"vic1","password":"wrong-password"}')
diag "vic1, then one at a time: $out"
v=$(audit_n login.failure '"username":"vic1"')
ok "browser: ... then one at a time until refused: still at most 5 verified in all ($v)" le "$v" 5
ok "browser: ... and the refusal is a back-off of about a minute or more (Retry-After)" \
	sh -c '[ "$1" -ge 55 ]' - "$(js "$out" 'j.retryAfter ?? 0')"
ok "browser: ... the right password from that address waits too (429)" \
	eq "$(js "$(burst pw-seq '{"client":"app1","redirect":"'$R'","attempts":[{"user":"vic1","password":"'$PW'","addr":"198.51.100.11"}]}')" 'j.statuses[0]')" 429

# Other people's sign-ins from 30 addresses keep the two workers busy with
# Argon2id while the codes are checked (the review's "busy pool").
BUSY='{"n":60,"addrs":['$(i=1; while [ $i -le 30 ]; do printf '"203.0.113.%d"' $i; [ $i -lt 30 ] && printf ,; i=$((i + 1)); done)']}'

# ---- 2. parallel wrong one-time codes in one sign-in (browser) ----------------------
out=$(burst otp-burst '{"client":"app2","redirect":"'$R'","addr":"198.51.100.21","user":"vic2","password":"'$PW'","secret":"'"$(cat "$T/vic2.secret")"'","n":40,"seq":10,"busy":'"$BUSY"'}')
diag "otp-burst vic2: $(js "$out" '({codes: j.codes, seq: j.seq, final: [j.final.status, j.final.location, j.final.retryAfter]})')"
v=$(audit_n login.failure '"username":"vic2"' '"method":"totp"')
diag "vic2: $v wrong codes verified"
ok "browser: 40 parallel wrong codes in one sign-in (busy pool) + 10 more -> at most 5 verified" le "$v" 5
ok "browser: ... then the right code is refused: the sign-in is over (400), no code issued" \
	eq "$(js "$out" '[j.final.status, /code=/.test(j.final.location)].join(" ")')" "400 false"

# ---- 3. host login (pam_authd's grants) ---------------------------------------------
out=$(burst host-burst '{"client":"host","secret":"'$HOST_S'","addr":"198.51.100.31","n":40,"user":"vic3","password":"wrong-password"}')
diag "host-burst vic3: $out"
v=$(audit_n login.failure '"username":"vic3"' '"via":"host"')
diag "vic3: $v wrong passwords verified"
ok "host: 40 parallel wrong passwords for one account -> at most 5 verified" le "$v" 5
out=$(burst host-otp-burst '{"client":"host","secret":"'$HOST_S'","bclient":"app1","redirect":"'$R'","addr":"198.51.100.32","user":"vic4","password":"'$PW'","totp":"'"$(cat "$T/vic4.secret")"'","n":40,"seq":10,"busy":'"$BUSY"'}')
diag "host-otp-burst vic4: $out"
v=$(audit_n login.failure '"username":"vic4"' '"method":"totp"')
diag "vic4: $v wrong codes verified"
ok "host: 40 parallel wrong codes with one mfa_token (busy pool) + 10 more -> at most 5 verified" le "$v" 5
ok "host: ... then the right code is refused: the mfa_token is spent (invalid_grant, no Retry-After)" \
	eq "$(js "$out" '[j.final.status, j.final.error, j.final.retryAfter].join(" ")')" "400 invalid_grant "

# ---- 4. parallel wrong device user codes --------------------------------------------
out=$(burst device-codes '{"addr":"198.51.100.41","n":40,"parallel":true}')
diag "device-codes: $out"
v=$(audit_n device.bad_code '"ip":"198.51.100.41"')
diag "device: $v wrong user codes looked up"
ok "device: 40 parallel wrong user codes from one address -> at most 10 looked up" le "$v" 10
ok "device: ... every one answered 400 or 429" eq "$(js "$out" '(j.codes[400] ?? 0) + (j.codes[429] ?? 0)')" 40

# ---- 5. a 300-request burst from one address against a sign-in from another ------------
# dos ADDR OWNER-ADDR: 300 wrong passwords for 300 names from ADDR, all at once;
# own5 signs in from OWNER-ADDR 300 ms into it.
dos() {
	burst dos '{"client":"app1","redirect":"'$R'","addr":"'$1'","n":300,"prefix":"nobody-'$1'-","owner":{"addr":"'$2'","user":"own5","password":"'$PW'","delayMs":300}}'
}
out=$(dos 198.51.100.51 198.51.100.56)
diag "dos (default throttle): $out"
ok "burst: a sign-in from another address completes (303) within 2 s" \
	sh -c '[ "$1" = 303 ] && [ "$2" -lt 2000 ]' - "$(js "$out" 'j.owner.status')" "$(js "$out" 'j.owner.ms')"

# ---- 6. the attacker's burst does not keep the owner out ----------------------------
out=$(burst pw-burst '{"client":"app1","redirect":"'$R'","addr":"198.51.100.61","n":40,"user":"own6","password":"wrong-password"}')
diag "pw-burst own6: $out"
out=$(burst pw-until '{"client":"app1","redirect":"'$R'","addr":"198.51.100.61","user":"own6","password":"wrong-password"}')
diag "own6 attacker, then one at a time until a back-off: $out"
out=$(burst pw-seq '{"client":"app1","redirect":"'$R'","attempts":[{"user":"own6","password":"'$PW'","addr":"198.51.100.66"},{"user":"own6","password":"'$PW'","addr":"198.51.100.61"}]}')
diag "own6: $out"
ok "owner: after 40 wrong passwords from another address, the right password signs in (303)" \
	eq "$(js "$out" 'j.statuses[0]')" 303
ok "owner: ... while the attacker's address still waits, even with the right password (429)" \
	eq "$(js "$out" 'j.statuses[1]')" 429

# ---- 7. IPv6: one /64 is one client -------------------------------------------------
# seq_of JSON-ATTEMPTS: the statuses of pw-seq, space-separated.
pwseq() { js "$(burst pw-seq '{"client":"app1","redirect":"'$R'","attempts":['"$1"']}')" 'j.statuses.join(" ")'; }
# Ten addresses of 2001:db8:7:7::/64, then four more of it spelled otherwise.
att=$(i=1; while [ $i -le 10 ]; do printf '{"user":"spray7-%d","password":"wrong","addr":"2001:db8:7:7::%x"},' $i $i; i=$((i + 1)); done)
att="$att"'{"user":"spray7-11","password":"wrong","addr":"2001:db8:7:7:0:0:0:b"},{"user":"spray7-12","password":"wrong","addr":"2001:DB8:7:7::C"},{"user":"spray7-13","password":"wrong","addr":"2001:0db8:0007:0007:ffff:ffff:ffff:ffff"},{"user":"spray7-14","password":"wrong","addr":"2001:db8:7:7:1:2:3:4"}'
st=$(pwseq "$att")
diag "spraying from 14 addresses of 2001:db8:7:7::/64: $st"
ok "IPv6: password spraying from 14 addresses of one /64 (however written) -> 429 after 10" \
	eq "$st" "401 401 401 401 401 401 401 401 401 401 429 429 429 429"
ok "IPv6: ... the next /64 is another client (401)" \
	eq "$(pwseq '{"user":"spray7-y","password":"wrong","addr":"2001:db8:7:8::1"}')" 401
att=$(i=1; while [ $i -le 8 ]; do printf '{"user":"vic7","password":"wrong","addr":"2001:db8:7:9::%x:%x"}' $i $((i * 7)); [ $i -lt 8 ] && printf ,; i=$((i + 1)); done)
st=$(pwseq "$att")
diag "vic7 from 8 addresses of 2001:db8:7:9::/64: $st"
ok "IPv6: one account from 8 addresses of one /64 -> throttled after 5" \
	sh -c 'set -- $1; [ "$8" = 429 ] && [ "$(printf "%s\n" "$@" | grep -c 401)" -le 5 ]' - "$st"
ok "IPv6: ... the owner from another /64 signs in (303)" \
	eq "$(pwseq '{"user":"vic7","password":"'$PW'","addr":"2001:db8:7:d::1"}')" 303
addrs=$(i=1; while [ $i -le 14 ]; do printf '"2001:db8:7:a::%x"' $i; [ $i -lt 14 ] && printf ,; i=$((i + 1)); done)
out=$(burst device-codes '{"addrs":['"$addrs"'],"n":14}')
diag "device codes from 14 addresses of 2001:db8:7:a::/64: $out"
ok "IPv6: wrong device user codes from 14 addresses of one /64 -> 429 after 10" \
	eq "$(js "$out" '[j.codes[400], j.statuses[13]].join(" ")')" "10 429"
ok "IPv6: ... another /64 may still enter a code (400 for a wrong one)" \
	eq "$(js "$(burst device-codes '{"addr":"2001:db8:7:c::1","n":1}')" 'j.statuses[0]')" 400
ok "IPv4: two addresses are two clients (/32): 198.51.100.71 unaffected by the others (401)" \
	eq "$(pwseq '{"user":"spray4-a","password":"wrong","addr":"198.51.100.71"}')" 401

# ---- 8. TOTP enrolment: the confirmation code has few tries ---------------------------
J="$T/jar.ann8"
: >"$J"
EN="Accept-Language: en"
I=$AUTHD_ISSUER
req a1 -b "$J" -c "$J" -H "$EN" "$I/account"
req a1.page -b "$J" -c "$J" -H "$EN" "$I$(header a1 location)"
post_login a2 "$J" a1.page ann8 "$PW"
req a3 -b "$J" -c "$J" -H "$EN" "$I/account"
ACSRF=$(hidden_field a3 csrf)
req a4 -b "$J" -c "$J" -H "$EN" -H "Origin: $I" -d action=totp_begin --data-urlencode "csrf=$ACSRF" "$I/account"
ASECRET=$(sed -n 's/.*<code class="secret">\([^<]*\)<\/code>.*/\1/p' "$T/a4.body" | tr -d ' ')
ok "account: set-up started (a secret shown)" sh -c 'printf %s "$1" | grep -qE "^[A-Z2-7]{32}$"' - "$ASECRET"
s=$(($(date +%s) / 30))
valid=" $(for d in -2 -1 0 1 2; do oathtool --totp -b "$ASECRET" --now "@$(((s + d) * 30 + 1))"; done | tr '\n' ' ') "
tries=""
w=200000
i=0
while [ $i -lt 6 ]; do
	while case "$valid" in *" $w "*) true ;; *) false ;; esac; do w=$((w + 1)); done
	req a5.$i -b "$J" -c "$J" -H "$EN" -H "Origin: $I" -d action=totp_confirm --data-urlencode "csrf=$ACSRF" \
		-d "otp=$w" "$I/account"
	tries="$tries $(status_of a5.$i)"
	w=$((w + 1))
	i=$((i + 1))
done
diag "six wrong confirmation codes: $tries"
req a6 -b "$J" -c "$J" -H "$EN" -H "Origin: $I" -d action=totp_confirm --data-urlencode "csrf=$ACSRF" \
	-d "otp=$(oathtool --totp -b "$ASECRET")" "$I/account"
ok "account: after 5 wrong confirmation codes the set-up is discarded: the right code is refused" \
	sh -c '[ "$1" != 200 ] && case "$2" in *"\"totp\":\"none\""*) exit 0;; esac; exit 1' - \
	"$(status_of a6)" "$(ctl totp status ann8)"

# ---- 9. a card signs in while the password is backed off ------------------------------
out=$(burst pw-until '{"client":"app1","redirect":"'$R'","addr":"198.51.100.91","user":"card9","password":"wrong-password"}')
diag "card9's password, wrong until a back-off: $out"
ok "card: the password of card9 is backed off at 198.51.100.91 (429, Retry-After about a minute)" \
	sh -c '[ "$1" -ge 55 ]' - "$(js "$out" 'j.retryAfter ?? 0')"
out=$(burst card '{"client":"app1","redirect":"'$R'","addr":"198.51.100.91","cert":"'"$PKI/good-g2.crt"'","key":"'"$PKI/good-g2.key"'"}')
diag "card9's card from 198.51.100.91: $(js "$out" '[j.status, j.location.slice(0, 60), j.text.slice(0, 200)].join(" ")')"
ok "card: ... and from that same address the citizen card signs card9 in (303 with a code)" \
	sh -c '[ "$1" = 303 ] && case "$2" in *code=*) exit 0;; esac; exit 1' - \
	"$(js "$out" 'j.status')" "$(js "$out" 'j.location')"
ok "card: ... which clears the password back-off (the owner proved who she is)" \
	eq "$(pwseq '{"user":"card9","password":"'$PW'","addr":"198.51.100.91"}')" 303

# ---- 5b. the same burst as behind one big NAT: only the fair queue protects -------------
authd_stop || ok "authd stopped cleanly" false
nat=1
authd_start write_conf || bail "$authd_err"
out=$(dos 198.51.100.52 198.51.100.57)
diag "dos (address limit off): $out"
ok "burst, address limit off: a sign-in from another address completes (303) within 2 s" \
	sh -c '[ "$1" = 303 ] && [ "$2" -lt 2000 ]' - "$(js "$out" 'j.owner.status')" "$(js "$out" 'j.owner.ms')"
ok "burst, address limit off: ... the burst was answered at once beyond its share (429), not queued" \
	sh -c '[ "$1" -gt 200 ]' - "$(js "$out" 'j.codes[429] ?? 0')"

tap_end

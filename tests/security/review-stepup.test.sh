#!/bin/sh
# tests/security/review-stepup.test.sh BUILD — issue 11 item 1: a stolen
# password must not change a person's sign-in methods. One rule for every
# change (policy.c): the session must hold, now, the highest level the account
# can reach. Against an authd of its own (it needs the citizen card with a
# client-certificate listener and WebAuthn): a look-alike MOICA PKI
# (certs/make-test-pki.sh; revocation is tests/integration/x509.test.sh's
# business, so none here), passkeys made by a software authenticator
# (softkey.mjs, the real WebAuthn protocol), TOTP codes by oathtool, cards by
# `openssl cms -sign` and `curl --cert`.
#
#   1. the review's attack: pia reaches AAL2 with a passkey and has no TOTP; a
#      thief with her password (AAL1) posts totp_begin and totp_confirm with his
#      own authenticator's code, then signs in to an AAL2 app with them;
#   2. kao reaches AAL3 with his card over TLS: his card is unlinked from a
#      password-only session;
#   3. every credential-changing action from an under-level session: refused
#      (a step-up redirect, or {"step_up":true,"level":N} for scripts), audited
#      account.step_up_required, and nothing changed (the credential and user
#      tables byte for byte, and authctl's listings);
#   4. the same actions from a session at the level: accepted, audited
#      account.<method>.<action>, and shown on /account at the next visit;
#   5. a session past its level's idle limit is under the level again;
#   6. the help desk's changes (authctl) are shown to the person too.
# Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=${AUTHD_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/authd-stepup.XXXXXX")}
. "$root/tests/integration/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
# Keys are kept between runs (RSA-4096 is slow); certificates are remade.
PKI=${STEPUP_PKI_CACHE:-${TMPDIR:-/tmp}/authd-stepup-pki3-$(id -u)}

cleanup() { stop_pid "$authd_pid"; }
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
for c in oathtool openssl node curl mdb_dump; do
	command -v $c >/dev/null || bail "$c is missing"
done
export NODE_PATH="$root/tests/integration/node_modules"

# ---- the instance ------------------------------------------------------------------
sh "$root/certs/make-test-pki.sh" "$PKI" 1 2 3 >"$T/pki.log" 2>&1 ||
	bail "certs/make-test-pki.sh: $(tail -n 3 "$T/pki.log")"
authd_dev_cert
export NODE_EXTRA_CA_CERTS="$AUTHD_CA"
IDLE2=${IDLE2:-1800}
write_conf() { # write_conf PORT CCPORT
	{
		authd_conf_server "$1"
		cat <<EOF

[store]
path = data

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[throttle]
account_max_failures = 1000
address_free_failures = 100000
address_base_delay_ms = 100

[policy]
aal2_idle_s = $IDLE2

[webauthn]
user_verification = preferred

[x509]
enabled = true
trust_anchors = $PKI/anchors.pem
intermediates = $PKI/intermediates.pem
ocsp = false
crl = false
fail_open = true
tls_listen = 127.0.0.1:$2

[log]
level = 2
EOF
	} >"$T/authd.conf"
}
conf_ports() { ccport=$(authd_free_port); write_conf "$1" "$ccport"; }
write_conf 1 2
authd_init
PW_pia=$(newpw) PW_kao=$(newpw) PW_tom=$(newpw)
authd_user pia "$PW_pia" --display-name "Pia"
# The attack below needs a password-only (AAL1) session of an account that
# reaches AAL2. With "ask my second factor at every sign-in" on (the default
# once a passkey is enrolled) the password alone gives none at all; pia has
# turned it off, so the rule for changes is what stands in the thief's way.
ctl user second-factor pia off 2>/dev/null || bail "authctl user second-factor pia off failed"
authd_user kao "$PW_kao" --display-name "Kao"
authd_user tom "$PW_tom" --display-name "Tom"
ctl x509 bind kao "$PKI/good-g2.crt" >"$T/bind.log" 2>&1 || bail "authctl x509 bind: $(cat "$T/bind.log")"
R=https://tax.city.example/cb
authd_client tax --redirect-uri $R --grant authorization_code --grant refresh_token --scope openid \
	--scope profile --scope email --scope offline_access --min-aal 2
TAX_S=$client_secret
authd_start conf_ports /healthz || bail "$authd_err"
I=$AUTHD_ISSUER
CC="https://127.0.0.1:$ccport"
diag "stepup: authd pid $authd_pid at $I, client-certificate listener $CC"
EN="Accept-Language: en"

# ---- helpers -------------------------------------------------------------------------
audit_seq() { ctl audit show --last 1 | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
# audit_since SEQ: the records after SEQ, one per line.
audit_since() {
	n=$(($(audit_seq) - $1))
	[ "$n" -gt 0 ] && ctl audit show --last "$n"
	return 0
}
# audited SEQ EVENT [TEXT]: some record after SEQ is EVENT (and contains TEXT).
audited() {
	audit_since "$1" | grep "\"event\":\"$2\"" | grep -q -- "${3:-}" && return 0
	diag "no $2 ${3:-} since $1: $(audit_since "$1" | cut -c1-200 | tail -n 3)"
	return 1
}
# no_change_events SEQ: no account.* or x509/webauthn/totp change was recorded since SEQ.
no_change_events() {
	bad=$(audit_since "$1" | grep -E '"event":"(account\.(totp|webauthn|x509|recovery|password)\.|x509\.(bound|unbound))' |
		grep -v '"account.webauthn.refused"' | head -n 2)
	[ -z "$bad" ] || { diag "changed: $bad"; return 1; }
}
# The tables a credential change would touch, byte for byte (mdb_dump).
snap() {
	for d in users usernames credentials credential_index; do
		printf '%s %s\n' "$d" "$(mdb_dump -s "$d" "$T/data" 2>/dev/null | sha256sum | cut -c1-16)"
	done >"$T/snap.$1"
}
unchanged() {
	snap now
	cmp -s "$T/snap.$1" "$T/snap.now" && return 0
	diag "tables changed: $(diff "$T/snap.$1" "$T/snap.now" | sed -n 's/^> \([a-z_]*\) .*/\1/p' | tr '\n' ' ')"
	return 1
}
# refused_kept SNAP SEQ: nothing changed since (store and audit), and the refusal was audited.
refused_kept() {
	unchanged "$1" && no_change_events "$2" && audited "$2" account.step_up_required
}
# stepup_redirect NAME: a 303 to the sign-in page (a login transaction).
stepup_redirect() {
	valid_session "$1" && eq "$(status_of "$1")" 303 && has "$(header "$1" location)" "/login?tx="
}
# stepup_json NAME LEVEL: 200 {"step_up":true,"level":LEVEL}.
stepup_json() {
	valid_session "$1" && eq "$(status_of "$1") $(json "$1" '[j.step_up, j.level].join(" ")')" "200 true $2"
}

# pw_session NAME USER PASSWORD: a new cookie jar ($T/NAME.jar) signed in with
# the password only (AAL1), back on /account.
pw_session() {
	: >"$T/$1.jar"
	req "$1.a0" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" "$I/account"
	req "$1.a0.page" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" "$I$(header "$1.a0" location)"
	post_login "$1.pw" "$T/$1.jar" "$1.a0.page" "$2" "$3"
	eq "$(status_of "$1.pw") $(header "$1.pw" location)" "303 /account"
}
# page NAME SESSION: GET /account in the session's cookie jar ($T/SESSION.jar);
# its CSRF token in CSRF.
page() {
	req "$1" -b "$T/$2.jar" -c "$T/$2.jar" -H "$EN" "$I/account"
	CSRF=$(hidden_field "$1" csrf)
}
# post_to NAME SESSION PATH ARGS...: POST PATH with the session's CSRF token,
# read from the account page first (NAME.pg), which must answer 200: a refusal
# is only worth checking for a session that is valid.
post_to() {
	_n=$1 _s=$2 _p=$3
	shift 3
	page "$_n.pg" "$_s"
	[ "$(status_of "$_n.pg")" = 200 ] && [ -n "$CSRF" ] ||
		diag "$_n: the session $_s is not signed in (GET /account: $(status_of "$_n.pg"))"
	req "$_n" -b "$T/$_s.jar" -c "$T/$_s.jar" -H "$EN" -H "Accept: application/json" \
		--data-urlencode "csrf=$CSRF" "$@" "$I$_p"
}
acct() { _a=$1 _b=$2; shift 2; post_to "$_a" "$_b" /account "$@"; }
acct_wa() { _a=$1 _b=$2; shift 2; post_to "$_a" "$_b" /account/webauthn "$@"; }
acct_x509() { _a=$1 _b=$2; shift 2; post_to "$_a" "$_b" /account/x509 "$@"; }
valid_session() { eq "$(status_of "$1.pg")" 200; }
# passkey_answer NAME SESSION LOCATION KEYFILE: the sign-in page at LOCATION
# answered with the passkey (POST /login/begin, the authenticator, POST /login).
passkey_answer() {
	_j="$T/$2.jar"
	req "$1.lp" -b "$_j" -c "$_j" -H "$EN" "$I$3"
	_tx=$(hidden_field "$1.lp" tx) _cs=$(hidden_field "$1.lp" csrf)
	req "$1.bg" -b "$_j" -c "$_j" --data-urlencode "tx=$_tx" --data-urlencode "csrf=$_cs" \
		-d method=webauthn "$I/login/begin"
	node "$here/softkey.mjs" assert "$4" "$I" "$(body_of "$1.bg")" >"$T/$1.as.body" 2>"$T/$1.as.err" ||
		{ diag "softkey: $(cat "$T/$1.as.err") $(body_of "$1.bg" | cut -c1-200)"; return 1; }
	req "$1" -b "$_j" -c "$_j" -H "$EN" --data-urlencode "tx=$_tx" --data-urlencode "csrf=$_cs" \
		-d method=webauthn -d "$(json "$1.as" 'new URLSearchParams(j).toString()')" "$I/login"
}
# card_sign_session NAME CARD: a new jar signed in with the card by challenge
# signing (HiPKI mode: AAL2), back on /account.
card_sign_session() {
	: >"$T/$1.jar"
	req "$1.a0" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" "$I/account"
	req "$1.lp" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" "$I$(header "$1.a0" location)"
	_tx=$(hidden_field "$1.lp" tx) _cs=$(hidden_field "$1.lp" csrf)
	req "$1.bg" -b "$T/$1.jar" -c "$T/$1.jar" --data-urlencode "tx=$_tx" --data-urlencode "csrf=$_cs" \
		-d method=x509 "$I/login/begin"
	_sig=$(card_sign "$2" "$(json "$1.bg" j.nonce)")
	req "$1" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" --data-urlencode "tx=$_tx" --data-urlencode "csrf=$_cs" \
		-d method=x509 -d mode=sign --data-urlencode "pkcs7=$_sig" "$I/login"
	eq "$(status_of "$1") $(header "$1" location)" "303 /account"
}
card_sign() { # card_sign CARD TEXT: base64 PKCS#7 by the card over TEXT
	printf '%s' "$2" >"$T/tbs"
	openssl cms -sign -binary -nodetach -signer "$PKI/$1.crt" -inkey "$PKI/$1.key" -md sha256 \
		-in "$T/tbs" -outform DER -out "$T/sig.der" 2>/dev/null && openssl base64 -A -in "$T/sig.der"
}
# card_tls_session NAME CARD: a new jar signed in with the card over TLS on the
# client-certificate listener (AAL3), back on /account.
card_tls_session() {
	: >"$T/$1.jar"
	_c="--cert $PKI/$2.crt --key $PKI/$2.key"
	# shellcheck disable=SC2086
	req "$1.a0" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" $_c "$CC/account"
	# shellcheck disable=SC2086
	req "$1.lp" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" $_c "$CC$(header "$1.a0" location)"
	# shellcheck disable=SC2086
	req "$1" -b "$T/$1.jar" -c "$T/$1.jar" -H "$EN" $_c --data-urlencode "tx=$(hidden_field "$1.lp" tx)" \
		--data-urlencode "csrf=$(hidden_field "$1.lp" csrf)" -d method=x509 -d mode=tls "$CC/login"
	eq "$(status_of "$1") $(header "$1" location)" "303 /account"
}
step_now() { echo $(($(date +%s) / 30)); }
code_at() { oathtool --totp -b "$1" --now "@$(($2 * 30 + 1))"; }
settle() { while [ $(($(date +%s) % 30)) -ge 27 ]; do sleep 0.5; done; }
# secret_of NAME: the manual key of a TOTP set-up page.
secret_of() { sed -n 's/.*<code class="secret">\([^<]*\)<\/code>.*/\1/p' "$T/$1.body" | tr -d ' '; }
wa_count() { ctl webauthn list "$1" 2>/dev/null | grep -c '"ref"'; }
card_ids() { ctl x509 list "$1" 2>/dev/null | grep -o '"id":"[^"]*"' | sed 's/^"id":"//; s/"$//'; }
card_count() { card_ids "$1" | grep -c .; }

# ---- 0. pia registers a passkey from her password-only session -----------------------------
# An account with only a password reaches AAL1: its first second factor may be
# added from an AAL1 session (the rule allows it; nothing higher to protect).
ok "pia: signed in with the password (AAL1)" pw_session pia "pia" "$PW_pia"
s0=$(audit_seq)
acct_wa pia.b pia -d action=begin
ok "pia (password only, reaches AAL1): adding her first passkey is allowed -> options" \
	eq "$(status_of pia.b) $(json pia.b 'typeof j.publicKey')" "200 object"
node "$here/softkey.mjs" register "$T/pia.key" "$I" "$(body_of pia.b)" >"$T/pia.reg.body" 2>"$T/pia.reg.err" ||
	diag "softkey register: $(cat "$T/pia.reg.err")"
page pia.p1 pia
req pia.f -b "$T/pia.jar" -c "$T/pia.jar" -H "$EN" --data-urlencode "csrf=$CSRF" -d action=finish \
	--data-urlencode "name=Pia phone" -d "$(json pia.reg 'new URLSearchParams(j).toString()')" "$I/account/webauthn"
ok "pia: the passkey is registered (303 /account, listed by authctl)" \
	eq "$(status_of pia.f) $(header pia.f location) $(wa_count pia)" "303 /account 1"
ok "pia: ... and audited account.webauthn.add" audited "$s0" account.webauthn.add '"username":"pia"'
PIA_REF=$(ctl webauthn list pia | sed -n 's/.*"ref":"\([^"]*\)".*/\1/p' | head -n 1)

# ---- 1. the review's attack: the thief knows pia's password only -----------------------------
# (a new browser: the thief's). pia's account reaches AAL2 with her passkey.
ok "thief: signs in to /account with pia's password alone (AAL1)" pw_session thief pia "$PW_pia"
snap atk
s1=$(audit_seq)
acct thief.b thief -d action=totp_begin
ok "thief: totp_begin from an AAL1 session -> step-up (303 to the sign-in), no secret shown" \
	sh -c '[ "$1" = 303 ] && case "$2" in /login\?tx=*) ;; *) exit 1;; esac &&
		! grep -q "class=\"secret\"" "$3"' - "$(status_of thief.b)" "$(header thief.b location)" "$T/thief.b.body"
ok "thief: ... TOTP still none" has "$(ctl totp status pia)" '"totp":"none"'
# Whatever the page said, the thief posts a confirmation with his own app's code
# (if a secret was shown, for that secret).
THIEF_SECRET=$(secret_of thief.b)
settle
if [ -n "$THIEF_SECRET" ]; then
	acct thief.c thief -d action=totp_confirm -d "otp=$(code_at "$THIEF_SECRET" $(($(step_now) - 1)))"
else
	acct thief.c thief -d action=totp_confirm -d "otp=123456"
fi
ok "thief: totp_confirm from the AAL1 session -> step-up, no recovery codes" \
	sh -c '[ "$1" = 303 ] && ! grep -q "<li><code>" "$2"' - "$(status_of thief.c)" "$T/thief.c.body"
ok "thief: ... pia's TOTP is still none" has "$(ctl totp status pia)" '"totp":"none"'
ok "thief: nothing changed (credentials, users: byte for byte), refusal audited" refused_kept atk "$s1"
# The thief goes on to an app that needs AAL2: his code must not get him in.
: >"$T/thief2.jar"
authorize t2.az "$T/thief2.jar" tax $R
login_page t2.az "$T/thief2.jar"
post_login t2.pw "$T/thief2.jar" t2.az.page pia "$PW_pia"
req t2.step -b "$T/thief2.jar" -c "$T/thief2.jar" -H "$EN" "$I$(header t2.pw location)"
ok "thief: the AAL2 app asks for pia's passkey after the password, not a one-time code" \
	sh -c '[ "$1" = 200 ] && grep -q "id=\"method-webauthn\"" "$2" && ! grep -q "name=\"otp\"" "$2"' - \
	"$(status_of t2.step)" "$T/t2.step.body"
if [ -n "$THIEF_SECRET" ]; then
	req t2.otp -b "$T/thief2.jar" -c "$T/thief2.jar" -H "$EN" --data-urlencode "tx=$(hidden_field t2.step tx)" \
		--data-urlencode "csrf=$(hidden_field t2.step csrf)" -d method=totp \
		-d "otp=$(code_at "$THIEF_SECRET" "$(step_now)")" "$I/login"
	ok "thief: password + his own TOTP code gets no code for the AAL2 app" \
		sh -c 'case "$1" in *code=*) exit 1;; esac' - "$(header t2.otp location)"
else
	ok "thief: password + his own TOTP code gets no code for the AAL2 app (he has no TOTP)" true
fi
ok "thief: no login.success for the tax app since the attack" \
	sh -c '! printf "%s\n" "$1" | grep "\"event\":\"login.success\"" | grep -q "\"client\":\"tax\""' - \
	"$(audit_since "$s1")"

# ---- 2. kao reaches AAL3 with his card over TLS; a password session unlinks it --------------------
CARD=$(card_ids kao | head -n 1)
ok "kao: one card bound (authctl x509 list)" eq "$(card_count kao)" 1
ok "kao: signed in with the password (AAL1)" pw_session kao1 kao "$PW_kao"
snap k1
s2=$(audit_seq)
acct_x509 kao1.u kao1 -d action=unbind --data-urlencode "cred=$CARD"
ok "kao (AAL1): unlinking his card -> step-up (303 to the sign-in)" stepup_redirect kao1.u
ok "kao: ... the card is still bound" eq "$(card_count kao)" 1
ok "kao: ... nothing changed, refusal audited" refused_kept k1 "$s2"

# ---- 3. every change from an under-level session: refused, nothing changed ----------------------
# pia (reaches AAL2) from the thief's AAL1 session.
under() { # under DESC NAME SNAP SEQ CHECK...: the refusal CHECK and nothing changed
	_d=$1 _nm=$2 _sn=$3 _sq=$4
	shift 4
	ok "$_d" "$@"
	ok "$_d: nothing changed, refusal audited" refused_kept "$_sn" "$_sq"
}
snap u1; q=$(audit_seq)
acct_wa u1 thief -d action=begin
under "pia AAL1: add a passkey (script) -> {step_up:true, level:2}" u1 u1 "$q" stepup_json u1 2
snap u2; q=$(audit_seq)
acct_wa u2 thief -d action=rename -d "ref=$PIA_REF" -d "name=thief"
under "pia AAL1: rename her passkey -> step-up" u2 u2 "$q" stepup_redirect u2
snap u3; q=$(audit_seq)
acct_wa u3 thief -d action=remove -d "ref=$PIA_REF" -d confirm=1
under "pia AAL1: remove her passkey -> step-up" u3 u3 "$q" stepup_redirect u3
ok "pia: ... her passkey is still there, with its name" \
	has "$(ctl webauthn list pia)" '"name":"Pia phone"'
snap u4; q=$(audit_seq)
acct_x509 u4 thief -d action=bind_begin
under "pia AAL1: link a citizen card (script) -> {step_up:true, level:2}" u4 u4 "$q" stepup_json u4 2
snap u5; q=$(audit_seq)
acct_x509 u5 thief -d action=bind --data-urlencode "pkcs7=$(card_sign good-g3 anything)"
under "pia AAL1: post a card binding -> step-up" u5 u5 "$q" stepup_redirect u5
ok "pia: ... no card bound" eq "$(card_count pia)" 0
# A pending enrolment pia's help desk started (authctl, no code yet): the AAL1
# session may not finish it either.
ctl totp enrol pia --code-stdin </dev/null >"$T/pia.pend" 2>/dev/null
PEND=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/pia.pend" | head -n 1)
ok "pia: a TOTP enrolment is pending (authctl)" has "$(ctl totp status pia)" '"totp":"pending"'
snap u6; q=$(audit_seq)
settle
acct u6 thief -d action=totp_confirm -d "otp=$(code_at "$PEND" "$(step_now)")"
under "pia AAL1: confirm the pending TOTP with its right code -> step-up" u6 u6 "$q" stepup_redirect u6
ok "pia: ... still pending" has "$(ctl totp status pia)" '"totp":"pending"'
snap u7; q=$(audit_seq)
acct u7 thief -d action=recovery_regen -d confirm=1
ok "pia AAL1: new recovery codes without an active TOTP -> nothing to replace (200)" eq "$(status_of u7)" 200
ok "pia AAL1: ... nothing changed" unchanged u7

# kao (reaches AAL3 with the card over TLS) from an AAL2 session (the card by challenge signing).
ok "kao: signed in with the card by challenge signing (AAL2)" card_sign_session kao2 good-g2
snap k2; q=$(audit_seq)
acct_x509 k2u kao2 -d action=unbind --data-urlencode "cred=$CARD"
under "kao AAL2: unlink the card (reaches AAL3) -> step-up" k2u k2 "$q" stepup_redirect k2u
snap k3; q=$(audit_seq)
acct_x509 k3 kao2 -d action=bind_begin
under "kao AAL2: link another card (script) -> {step_up:true, level:3}" k3 k3 "$q" stepup_json k3 3
snap k4; q=$(audit_seq)
acct k4 kao2 -d action=totp_begin
under "kao AAL2: set up TOTP -> step-up" k4 k4 "$q" stepup_redirect k4
snap k5; q=$(audit_seq)
acct_wa k5 kao2 -d action=begin
under "kao AAL2: add a passkey (script) -> {step_up:true, level:3}" k5 k5 "$q" stepup_json k5 3
ok "kao: ... still exactly his one card, no TOTP, no key" \
	eq "$(card_count kao) $(wa_count kao) $(ctl totp status kao | grep -c '"totp":"none"')" "1 0 1"

# tom: password only; sets up TOTP from his AAL1 session (allowed: his first
# second factor), and from then on the same AAL1 session may change nothing.
ok "tom: signed in with the password (AAL1)" pw_session tom tom "$PW_tom"
q=$(audit_seq)
acct tom.b tom -d action=totp_begin
TOM=$(secret_of tom.b)
ok "tom (reaches AAL1): totp_begin -> the set-up page" eq "$(status_of tom.b) ${#TOM}" "200 32"
settle
TOM_STEP=$(($(step_now) - 1))
acct tom.c tom -d action=totp_confirm -d "otp=$(code_at "$TOM" $TOM_STEP)"
ok "tom: totp_confirm -> ten recovery codes" eq "$(status_of tom.c) $(grep -c '<li><code>' "$T/tom.c.body")" "200 10"
ok "tom: ... audited account.totp.add" audited "$q" account.totp.add '"username":"tom"'
snap m1; q=$(audit_seq)
acct m1 tom -d action=totp_remove -d confirm=1
under "tom AAL1 (now reaches AAL2): remove TOTP -> step-up" m1 m1 "$q" stepup_redirect m1
snap m2; q=$(audit_seq)
acct m2 tom -d action=recovery_regen -d confirm=1
under "tom AAL1: new recovery codes -> step-up" m2 m2 "$q" stepup_redirect m2
snap m3; q=$(audit_seq)
acct_wa m3 tom -d action=begin
under "tom AAL1: add a passkey (script) -> {step_up:true, level:2}" m3 m3 "$q" stepup_json m3 2
snap m4; q=$(audit_seq)
acct m4 tom -d action=totp_begin
under "tom AAL1: set up TOTP again -> step-up" m4 m4 "$q" stepup_redirect m4
ok "tom: ... TOTP active with its 10 recovery codes" \
	has "$(ctl totp status tom)" '"totp":"active","recovery_codes_left":10'

# ---- 4. at the level: accepted, audited, shown ----------------------------------------------
# tom steps up with his code (the step-up asks only for it) and changes things.
acct tm.r tom -d action=recovery_regen -d confirm=1
req tm.otp.pg -b "$T/tom.jar" -c "$T/tom.jar" -H "$EN" "$I$(header tm.r location)"
ok "tom: the step-up asks for the one-time code only" \
	sh -c 'grep -q "name=\"otp\"" "$1" && ! grep -q "name=\"password\"" "$1"' - "$T/tm.otp.pg.body"
req tm.otp -b "$T/tom.jar" -c "$T/tom.jar" -H "$EN" --data-urlencode "tx=$(hidden_field tm.otp.pg tx)" \
	--data-urlencode "csrf=$(hidden_field tm.otp.pg csrf)" -d method=totp \
	-d "otp=$(code_at "$TOM" $((TOM_STEP + 1)))" "$I/login"
ok "tom: after the code, back to /account (AAL2)" eq "$(status_of tm.otp) $(header tm.otp location)" "303 /account"
q=$(audit_seq)
acct tm.r2 tom -d action=recovery_regen
ok "tom AAL2: new recovery codes first asks to confirm" \
	sh -c '[ "$1" = 200 ] && grep -q "name=\"confirm\" value=\"1\"" "$2"' - "$(status_of tm.r2)" "$T/tm.r2.body"
OLD_REC=$(grep -oE '[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}' "$T/tom.c.body" | head -n 1)
acct tm.r3 tom -d action=recovery_regen -d confirm=1
ok "tom AAL2: confirmed -> ten new recovery codes, none of the old ones" \
	sh -c '[ "$1" = 200 ] && [ "$(grep -c "<li><code>" "$2")" = 10 ] && ! grep -q "$3" "$2"' - \
	"$(status_of tm.r3)" "$T/tm.r3.body" "$OLD_REC"
ok "tom: ... audited account.recovery.regenerate" audited "$q" account.recovery.regenerate '"username":"tom"'
page tm.home tom
ok "tom: /account says new backup codes were made, when and from where" \
	has "$(body_of tm.home)" "New recovery codes were made on "
ok "tom: ... from this address" has "$(body_of tm.home)" "from 127.0.0.1"
q=$(audit_seq)
acct tm.x tom -d action=totp_remove -d confirm=1
ok "tom AAL2: remove TOTP -> done" sh -c '[ "$1" = 200 ] && case "$2" in *"\"totp\":\"none\""*) ;; *) exit 1;; esac' - \
	"$(status_of tm.x)" "$(ctl totp status tom)"
ok "tom: ... audited account.totp.remove" audited "$q" account.totp.remove '"username":"tom"'
page tm.home2 tom
ok "tom: /account shows the removal" has "$(body_of tm.home2)" "A sign-in method was removed on "

# pia steps up with her passkey (from the thief's-style AAL1 session of her own).
ok "pia: her own password session" pw_session pia2 pia "$PW_pia"
acct_wa p.r pia2 -d action=rename -d "ref=$PIA_REF" -d "name=Pia laptop"
ok "pia AAL1: rename -> step-up" stepup_redirect p.r
passkey_answer p.st pia2 "$(header p.r location)" "$T/pia.key"
ok "pia: the passkey answers the step-up, back to /account" eq "$(status_of p.st) $(header p.st location)" "303 /account"
q=$(audit_seq)
acct_wa p.r2 pia2 -d action=rename -d "ref=$PIA_REF" -d "name=Pia laptop"
ok "pia AAL2: rename -> done" eq "$(status_of p.r2) $(header p.r2 location)" "303 /account"
ok "pia: ... renamed (authctl)" has "$(ctl webauthn list pia)" '"name":"Pia laptop"'
ok "pia: ... audited account.webauthn.rename" audited "$q" account.webauthn.rename '"username":"pia"'
q=$(audit_seq)
acct p.t pia2 -d action=totp_begin
P_SEC=$(secret_of p.t)
ok "pia AAL2: totp_begin -> the set-up page" eq "$(status_of p.t) ${#P_SEC}" "200 32"
settle
acct p.t2 pia2 -d action=totp_confirm -d "otp=$(code_at "$P_SEC" "$(step_now)")"
ok "pia AAL2: totp_confirm -> active with ten recovery codes" \
	eq "$(status_of p.t2) $(grep -c '<li><code>' "$T/p.t2.body")" "200 10"
ok "pia: ... audited account.totp.add" audited "$q" account.totp.add '"username":"pia"'
# The next visit, from any browser of hers (here the other one): what changed.
page p.home pia2
ok "pia: /account says a new sign-in method was added, when and from where" \
	has "$(body_of p.home)" "A new sign-in method was added on "
ok "pia: ... and the renamed key" has "$(body_of p.home)" "Pia laptop"
req p.home.zh -b "$T/pia2.jar" -c "$T/pia2.jar" -H "Accept-Language: zh-TW" "$I/account"
ok "pia: ... in Chinese too" has "$(body_of p.home.zh)" "新增了登入方式"
q=$(audit_seq)
acct p.ack pia2 -d action=events_ack
page p.home2 pia2
ok "pia: acknowledged -> the notice is gone" hasnt "$(body_of p.home2)" 'id="security-notice"'
ok "pia: ... the recent activity list stays" has "$(body_of p.home2)" "A new sign-in method was added on "
ok "pia: ... acknowledgement audited (account.events.ack)" audited "$q" account.events.ack

# kao at AAL3 (card over TLS) links a second card and unlinks it again.
ok "kao: signed in with the card over TLS (AAL3)" card_tls_session kao3 good-g2
q=$(audit_seq)
req k.bb -b "$T/kao3.jar" -c "$T/kao3.jar" -H "$EN" \
	--data-urlencode "csrf=$(page k.bbp kao3; echo "$CSRF")" -d action=bind_begin "$I/account/x509"
ok "kao AAL3: bind_begin -> a nonce" eq "$(status_of k.bb) $(json k.bb 'typeof j.nonce')" "200 string"
acct_x509 k.b kao3 -d action=bind --data-urlencode "pkcs7=$(card_sign good-g3 "$(json k.bb j.nonce)")"
ok "kao AAL3: the second card is linked" eq "$(status_of k.b) $(card_count kao)" "303 2"
ok "kao: ... audited account.x509.add" audited "$q" account.x509.add '"username":"kao"'
CARD3=$(card_ids kao | grep -v "^$CARD$" | head -n 1)
q=$(audit_seq)
acct_x509 k.u kao3 -d action=unbind --data-urlencode "cred=$CARD3"
ok "kao AAL3: unlink the second card -> done" eq "$(status_of k.u) $(card_count kao)" "303 1"
ok "kao: ... audited account.x509.remove" audited "$q" account.x509.remove '"username":"kao"'
# Bad input at the level: refused with a clear status, nothing changed.
snap k6; q=$(audit_seq)
acct_x509 k.bad kao3 -d action=unbind --data-urlencode "cred=../../$CARD"
ok "kao AAL3: unlink with a malformed card id -> 400, nothing changed" \
	sh -c '[ "$1" = 400 ] && [ "$2" = 1 ]' - "$(status_of k.bad)" "$(card_count kao)"
ok "kao: ... the tables are as they were" unchanged k6
acct k.act kao3 -d action=no_such_action
ok "kao: an unknown account action -> 400" eq "$(status_of k.act)" 400
req k.csrf -b "$T/kao3.jar" -c "$T/kao3.jar" -H "$EN" -d action=events_ack -d csrf=0000 "$I/account"
req k.csrf2 -b "$T/kao3.jar" -c "$T/kao3.jar" -H "$EN" -d action=recovery_regen -d confirm=1 \
	-d "csrf=$(printf '%064d' 0)" "$I/account"
ok "kao: events_ack and recovery_regen with a wrong CSRF token -> 403, nothing changed" \
	sh -c '[ "$1 $2" = "403 403" ]' - "$(status_of k.csrf)" "$(status_of k.csrf2)"
ok "kao: ... the tables are as they were" unchanged k6
page k.home kao3
ok "kao: /account lists the card added and removed" \
	sh -c 'case "$1" in *"A new sign-in method was added on "*"citizen certificate"*) ;; *) exit 1;; esac &&
		case "$1" in *"A sign-in method was removed on "*) ;; *) exit 1;; esac' - "$(body_of k.home)"

# ---- 5. the help desk's changes are shown too ------------------------------------------------
ctl webauthn remove pia "$PIA_REF" >/dev/null 2>&1
page p.hd pia2
ok "pia: authctl webauthn remove is shown as the help desk's removal" \
	has "$(body_of p.hd)" "The help desk removed a sign-in method on "
ok "pia: ... audited admin.webauthn.remove" audited "$s0" admin.webauthn.remove

# ---- 6. a level past its idle limit is under the level again --------------------------------
# pia reaches AAL2 (TOTP now); her AAL2 session idles past aal2_idle_s = 5.
authd_stop || ok "authd stops for the restart" false
IDLE2=5
write_conf "$port" "$ccport"
authd_launch /healthz || bail "authd did not restart"
pw_session pia3 pia "$PW_pia"
acct pi.r pia3 -d action=totp_remove -d confirm=1
req pi.o.pg -b "$T/pia3.jar" -c "$T/pia3.jar" -H "$EN" "$I$(header pi.r location)"
settle
req pi.o -b "$T/pia3.jar" -c "$T/pia3.jar" -H "$EN" --data-urlencode "tx=$(hidden_field pi.o.pg tx)" \
	--data-urlencode "csrf=$(hidden_field pi.o.pg csrf)" -d method=totp \
	-d "otp=$(code_at "$P_SEC" $(($(step_now) + 1)))" "$I/login"
ok "pia: password + code -> AAL2 session" eq "$(status_of pi.o) $(header pi.o location)" "303 /account"
sleep 6
snap i1; q=$(audit_seq)
acct pi.r2 pia3 -d action=totp_remove -d confirm=1
under "pia: the AAL2 session 6 s idle (aal2_idle_s = 5): remove TOTP -> step-up" pi.r2 i1 "$q" stepup_redirect pi.r2
ok "pia: ... TOTP still active" has "$(ctl totp status pia)" '"totp":"active"'

ok "authctl audit verify passes" sh -c "'$AUTHCTL_BIN' -c '$T/authd.conf' audit verify >/dev/null 2>&1"
ok "authd exits 0 on SIGTERM" authd_stop
tap_end

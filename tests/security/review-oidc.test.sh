#!/bin/sh
# tests/security/review-oidc.test.sh BUILD — regression tests for the findings of
# the outside review (issue 11) in the OIDC and host-login surface, against
# run.sh's authd. Every attack must get its exact refusal and leave nothing done.
#   5  host login: a wrong credential of any shape (a one-time code that is not
#      6 digits, a recovery-code shape, a password with a control byte or invalid
#      UTF-8, sshd's fixed fake password for non-local names) is invalid_grant,
#      counted and audited; invalid_request stays for a missing parameter.
#   8  device flow for hosts (pam_authd mode=device): no verification_uri_complete,
#      and a link carrying a host's user code never reaches the approval.
#   9  end_session: only an ID token of this issuer is an id_token_hint (not an
#      access token, not one with a broken shape); an expired one still is.
#  10  a used authorization code presented by another client is refused without
#      touching the tokens the first client got.
#  11  POST endpoints read their parameters from the body only; a credential in
#      the query string of a POST is invalid_request and nothing is done.
# TAP output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"

for v in AUTHD_ISSUER AUTHD_CA AUTHD_CONF AUTHD_DATA AUTHD_RP AUTHD_RP_SECRET \
	AUTHD_RP_REDIRECT AUTHD_RP2 AUTHD_RP2_SECRET AUTHD_RP2_REDIRECT AUTHCTL_BIN AUTHD_USER \
	AUTHD_PASSWORD AUTHD_USER2 AUTHD_PASSWORD2 AUTHD_DEVICE_CLIENT; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
I=$AUTHD_ISSUER
C=$AUTHD_RP S=$AUTHD_RP_SECRET R=$AUTHD_RP_REDIRECT
C2=$AUTHD_RP2 S2=$AUTHD_RP2_SECRET R2=$AUTHD_RP2_REDIRECT
export NODE_EXTRA_CA_CERTS="$AUTHD_CA"
ctl() { "$AUTHCTL_BIN" -c "$AUTHD_CONF" "$@"; }
forge() { node "$here/forge.mjs" "$@"; }

# ---- the store, before and after (as attacks.test.sh) ---------------------------
TABLES="users usernames credentials credential_index clients sessions codes families refresh device logins jti"
snap() {
	for d in $TABLES; do
		printf '%s %s\n' "$d" "$(mdb_dump -s "$d" "$AUTHD_DATA" 2>/dev/null | sha256sum | cut -c1-16)"
	done >"$T/snap.$1"
}
unchanged() {
	snap now
	cmp -s "$T/snap.$1" "$T/snap.now" && return 0
	diag "tables changed: $(diff "$T/snap.$1" "$T/snap.now" | sed -n 's/^> \([a-z_]*\) .*/\1/p' | tr '\n' ' ')"
	return 1
}
audit_seq() { ctl audit show --last 1 | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
audit_since() { # audit_since SEQ: the records appended after SEQ
	n=$(($(audit_seq) - $1))
	[ "$n" -gt 0 ] && ctl audit show --last "$n"
}
no_grant() {
	bad=$(audit_since "$1" | grep -E '"event":"(login.success|login.factor|login.sso|token.issue|token.refresh|logout|device.approve)' | head -n 3)
	[ -z "$bad" ] || { diag "granted: $bad"; return 1; }
}
kept() { unchanged "$1" && no_grant "$2"; }
# status_err NAME: "STATUS ERROR" of a JSON answer
status_err() { echo "$(status_of "$1") $(json "$1" j.error)"; }

# ==== 5. host login: every wrong credential is invalid_grant ======================
HU=hoster HP=$(openssl rand 18 | b64url)
printf '%s\n' "$HP" | ctl user add "$HU" --password-stdin >"$T/hu.out" 2>&1 ||
	diag "user add: $(cat "$T/hu.out")"
step_now() { echo $(($(date +%s) / 30)); }
settle() { i=0; while [ $(($(date +%s) % 30)) -ge 25 ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done; }
rm -f "$T/enrol.fifo"
mkfifo "$T/enrol.fifo"
ctl totp enrol "$HU" --code-stdin <"$T/enrol.fifo" >"$T/enrol.out" 2>"$T/enrol.err" &
epid=$!
exec 3>"$T/enrol.fifo"
i=0
while ! grep -qs 'secret=' "$T/enrol.out" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
HSEC=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enrol.out" | head -n 1)
settle
[ -n "$HSEC" ] && oathtool --totp -b "$HSEC" --now "@$((($(step_now) - 1) * 30 + 1))" >&3
exec 3>&-
wait $epid
ok "host: $HU has TOTP (control)" has "$(ctl totp status "$HU")" '"totp":"active"'
ctl client add host-sec --grant password --scope openid --scope profile --min-aal 2 \
	>"$T/hs.out" 2>"$T/hs.err" || diag "client add host-sec: $(cat "$T/hs.err")"
HS=$(sed -n 's/^client_secret: *//p' "$T/hs.out")

hostpw() { # hostpw NAME FORM-ARGS...: POST /token grant_type=password as host-sec
	hn=$1
	shift
	req "$hn" -u "host-sec:$HS" -d grant_type=password -d scope=openid "$@" "$I/token"
}
hostotp() { # hostotp NAME MFA-TOKEN FORM-ARGS...
	hn=$1 hm=$2
	shift 2
	req "$hn" -u "host-sec:$HS" -d grant_type=urn:authd:params:oauth:grant-type:mfa-otp \
		--data-urlencode "mfa_token=$hm" "$@" "$I/token"
}
# refused_failure NAME SEQ: 400 invalid_grant, audited as a failed login, nothing granted.
refused_failure() {
	eq "$(status_err "$1")" "400 invalid_grant" &&
		has "$(audit_since "$2")" '"event":"login.failure"' && no_grant "$2"
}
hostpw h.pw -d "username=$HU" --data-urlencode "password=$HP"
MT=$(json h.pw j.mfa_token)
ok "host: the right password -> 400 mfa_required with an mfa_token (control)" \
	sh -c '[ "$1" = "400 mfa_required" ] && [ ${#2} -eq 43 ]' - "$(status_err h.pw)" "$MT"

hi=0
bad_otp() { # bad_otp DESCRIPTION ENCODED-OTP
	hi=$((hi + 1))
	snap ho$hi
	s0=$(audit_seq)
	hostotp ho$hi "$MT" --data-binary "otp=$2"
	ok "host: one-time code $1 -> 400 invalid_grant, audited, nothing granted" refused_failure ho$hi "$s0"
}
bad_otp "of 7 digits (1234567)" 1234567
bad_otp "of 5 digits" 12345
bad_otp "of letters (abcdef)" abcdef
bad_otp "shaped like a recovery code" abcd-efgh-jkmn
bad_otp "with a control byte" 123%01456
bad_otp "empty" ""
hostotp ho.miss "$MT"
ok "host: no otp parameter at all -> 400 invalid_request (a malformed request)" \
	eq "$(status_err ho.miss)" "400 invalid_request"
settle
hostotp ho.right "$MT" -d "otp=$(oathtool --totp -b "$HSEC")"
ok "host: after those, the right code -> 200 with an access token (control)" \
	sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of ho.right)" "$(json ho.right j.access_token)"

hj=0
bad_pw() { # bad_pw DESCRIPTION USER ENCODED-PASSWORD
	hj=$((hj + 1))
	s0=$(audit_seq)
	hostpw hp$hj -d "username=$2" --data-binary "password=$3"
	ok "host: password $1 -> 400 invalid_grant, audited, nothing granted" refused_failure hp$hj "$s0"
}
bad_pw "with a control byte (U+0001)" "$HU" "$HP%01"
bad_pw "that is sshd's fake password for a non-local name (BS LF CR DEL INCORRECT)" \
	"nobody-$(rand_token)" '%08%0A%0D%7FINCORRECT'
bad_pw "that is sshd's fake password, for an existing name" "$HU" '%08%0A%0D%7FINCORRECT%08%0A%0D%7FINCO'
bad_pw "of invalid UTF-8 (FF FE)" "$HU" '%FF%FEsecret'
bad_pw "of 200 bytes (limit 128)" "$HU" "$(head -c 200 /dev/zero | tr '\0' a)"
bad_pw "empty" "$HU" ""
hostpw hp.miss -d "username=$HU"
ok "host: no password parameter -> 400 invalid_request (a malformed request)" \
	eq "$(status_err hp.miss)" "400 invalid_request"

# ==== 10. a used code presented by another client ==================================
: >"$T/jar.cr"
code_flow cr "$T/jar.cr" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
crcode=$CODE crver=$VERIFIER
token cr.1 "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$crcode" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$crver"
ok "code: first redemption by $C -> 200 (control)" eq "$(status_of cr.1)" 200
crat=$(json cr.1 j.access_token) crrt=$(json cr.1 j.refresh_token)
s0=$(audit_seq)
token cr.other "$C2" "$S2" -d grant_type=authorization_code --data-urlencode "code=$crcode" \
	--data-urlencode "redirect_uri=$R2" --data-urlencode "code_verifier=$crver"
ok "code: the used code presented by $C2 -> 400 invalid_grant" eq "$(status_err cr.other)" "400 invalid_grant"
ok "code: ... audited as a failure, not as a reuse by its client" \
	sh -c 'echo "$1" | grep -q "\"event\":\"token.failure\"" && ! echo "$1" | grep -q code_reuse' - "$(audit_since "$s0")"
active_for() { # active_for NAME TOKEN CLIENT SECRET: introspection says active
	req "$1" -u "$3:$4" --data-urlencode "token=$2" "$I/introspect"
	eq "$(json "$1" j.active)" true
}
ok "code: $C's access token is still active" active_for cr.in "$crat" "$C" "$S"
token cr.rt "$C" "$S" -d grant_type=refresh_token --data-urlencode "refresh_token=$crrt"
ok "code: $C's refresh token still works" eq "$(status_of cr.rt)" 200
crat2=$(json cr.rt j.access_token)
token cr.same "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$crcode" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$crver"
ok "code: reuse by $C itself -> 400 invalid_grant" eq "$(status_err cr.same)" "400 invalid_grant"
req cr.in2 -u "$C:$S" --data-urlencode "token=$crat2" "$I/introspect"
ok "code: ... and that revokes the family (its newest access token is inactive)" \
	eq "$(body_of cr.in2)" '{"active":false}'

# ==== 9. end_session takes only an ID token of ours as id_token_hint =================
# session NAME: a fresh browser session (jar $T/jar.NAME) for $AUTHD_USER and its
# genuine tokens: IDT_<NAME> / AT_<NAME> in the files NAME.idt / NAME.at.
session() {
	: >"$T/jar.$1"
	code_flow "$1" "$T/jar.$1" "$C" "$R" "$AUTHD_USER" "$AUTHD_PASSWORD" || return 1
	token "$1.tok" "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
		--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$VERIFIER"
	json "$1.tok" j.id_token >"$T/$1.idt"
	json "$1.tok" j.access_token >"$T/$1.at"
}
alive() { # alive NAME: the session of jar NAME still opens /account
	req "$1.alive" -b "$T/jar.$1" "$I/account"
	eq "$(status_of "$1.alive")" 200
}
# hint_refused NAME TOKEN: 400 page naming id_token_hint, no redirect, no logout.
hint_refused() {
	s0=$(audit_seq)
	req "$1.lo" -b "$T/jar.$1" -H 'Accept-Language: en' \
		"$I/logout?id_token_hint=$2&post_logout_redirect_uri=$(urlenc https://rp.city.example/bye)"
	eq "$(status_of "$1.lo")" 400 && has "$(body_of "$1.lo")" id_token_hint &&
		eq "$(header "$1.lo" location)" "" && alive "$1" &&
		hasnt "$(audit_since "$s0")" '"event":"logout"'
}
hn=0
hint_case() { # hint_case DESCRIPTION JS: a genuine ID token of a fresh session, edited, re-signed with our key
	hn=$((hn + 1))
	session hc$hn || { ok "$1: session" false; return; }
	tok=$(forge real "$(cat "$T/hc$hn.idt")" "$2") || { ok "$1: forge" false; return; }
	ok "id_token_hint $1 -> 400, session kept, nothing logged out" hint_refused hc$hn "$tok"
}
session ha || diag "session ha failed"
ok "id_token_hint: the session's genuine access token (at+jwt, carries sid) -> 400, session kept" \
	hint_refused ha "$(cat "$T/ha.at")"
hint_case "typed at+jwt" 'h.typ = "at+jwt"'
hint_case "shaped like an access token (client_id, scope, jti)" \
	'p.client_id = p.aud; p.scope = "openid"; p.jti = "x.y"'
hint_case "without exp" 'delete p.exp'
hint_case "with exp as a string" 'p.exp = String(p.exp)'
hint_case "without iat" 'delete p.iat'
hint_case "not valid before an hour from now (nbf)" 'p.nbf = now + 3600'
hint_case "issued an hour in the future (iat)" 'p.iat = now + 3600; p.exp = now + 4000'
hint_case "without sub" 'delete p.sub'
hint_case "without aud" 'delete p.aud'
hint_case "of another issuer (iss)" 'p.iss = "https://idp.evil.example"'
# The control: an expired but otherwise genuine ID token of this session proves it.
session hx || diag "session hx failed"
old=$(forge real "$(cat "$T/hx.idt")" 'p.iat = now - 7200; p.exp = now - 3600')
s0=$(audit_seq)
req hx.lo -b "$T/jar.hx" "$I/logout?id_token_hint=$old&post_logout_redirect_uri=$(urlenc https://rp.city.example/bye)&state=st1"
ok "id_token_hint expired an hour ago, otherwise genuine -> logout without asking, back to the app" \
	sh -c '[ "$1" = 303 ] && [ "$2" = "https://rp.city.example/bye?state=st1" ]' - \
	"$(status_of hx.lo)" "$(header hx.lo location)"
req hx.after -b "$T/jar.hx" "$I/account"
ok "... and the session is gone (audited logout)" \
	sh -c '[ "$1" != 200 ] && echo "$2" | grep -q "\"event\":\"logout\""' - \
	"$(status_of hx.after)" "$(audit_since "$s0")"

# ==== 11. POST parameters come from the body; credentials never from the URL ========
ctl client add post-sec --grant client_credentials --auth-method client_secret_post \
	>"$T/ps.out" 2>"$T/ps.err" || diag "client add post-sec: $(cat "$T/ps.err")"
PS=$(sed -n 's/^client_secret: *//p' "$T/ps.out")
req ps.ok -d grant_type=client_credentials -d client_id=post-sec --data-urlencode "client_secret=$PS" "$I/token"
ok "POST: client_secret_post in the body -> 200 (control)" eq "$(status_of ps.ok)" 200
qn=0
# in_query DESCRIPTION CURL-ARGS... URL: a POST with a credential in its query
# string -> 400 invalid_request naming the URL, the store unchanged, nothing granted.
in_query() {
	qd=$1
	shift
	qn=$((qn + 1))
	snap q$qn
	s0=$(audit_seq)
	req q$qn -H "Origin: $I" "$@"
	ok "POST $qd -> 400 invalid_request" eq "$(status_err q$qn)" "400 invalid_request"
	ok "POST $qd: the refusal says why" has "$(json q$qn j.error_description)" "query"
	ok "POST $qd: store unchanged, nothing granted" kept q$qn "$s0"
}
in_query "/token with client_secret in the query (client_secret_post client)" \
	-d grant_type=client_credentials -d client_id=post-sec "$I/token?client_secret=$PS"
in_query "/token with the whole request in the query, empty body" \
	-d '' "$I/token?grant_type=client_credentials&client_id=post-sec&client_secret=$PS"
in_query "/token with username and password in the query (host login)" \
	-u "host-sec:$HS" -d grant_type=password -d scope=openid \
	"$I/token?username=$HU&password=$(urlenc "$HP")"
: >"$T/jar.q"
code_flow qc "$T/jar.q" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
in_query "/token with the authorization code in the query" \
	-u "$C:$S" -d grant_type=authorization_code --data-urlencode "redirect_uri=$R" \
	--data-urlencode "code_verifier=$VERIFIER" "$I/token?code=$CODE"
token qc.ok "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$VERIFIER"
ok "POST /token: that code was not consumed: in the body it works (control)" eq "$(status_of qc.ok)" 200
qrt=$(json qc.ok j.refresh_token) qat=$(json qc.ok j.access_token)
in_query "/token with the refresh token in the query" \
	-u "$C:$S" -d grant_type=refresh_token "$I/token?refresh_token=$qrt"
in_query "/introspect with the token in the query" -u "$C:$S" -d x=1 "$I/introspect?token=$qat"
in_query "/revoke with the token in the query" -u "$C:$S" -d x=1 "$I/revoke?token=$qrt"
ok "POST /revoke: the refresh token was not revoked (introspection: active)" \
	active_for qc.in "$qrt" "$C" "$S"
in_query "/device_authorization with client_secret in the query" \
	-d client_id=post-sec -d scope=openid "$I/device_authorization?client_secret=$PS"
: >"$T/jar.ql"
authorize ql "$T/jar.ql" "$C" "$R"
login_page ql "$T/jar.ql"
in_query "/login with the password in the query" -b "$T/jar.ql" -c "$T/jar.ql" \
	--data-urlencode "tx=$(hidden_field ql.page tx)" --data-urlencode "csrf=$(hidden_field ql.page csrf)" \
	--data-urlencode "username=$AUTHD_USER2" "$I/login?password=$(urlenc "$AUTHD_PASSWORD2")"
ok "POST /login: no session was set by it" sh -c '! echo "$1" | grep -qx __Host-authd_session' - \
	"$(set_cookie_names q$qn)"
in_query "/login/begin with a one-time code in the query" -b "$T/jar.ql" \
	--data-urlencode "tx=$(hidden_field ql.page tx)" --data-urlencode "csrf=$(hidden_field ql.page csrf)" \
	-d method=webauthn "$I/login/begin?otp=123456"
session qs || diag "session qs failed"
req qs.acc -b "$T/jar.qs" "$I/account"
qcsrf=$(hidden_field qs.acc csrf)
in_query "/account with the CSRF token in the query" -b "$T/jar.qs" -d action=totp_begin \
	"$I/account?csrf=$qcsrf"
in_query "/account with a one-time code in the query" -b "$T/jar.qs" -d action=totp_confirm \
	--data-urlencode "csrf=$qcsrf" "$I/account?otp=123456"
in_query "/account/webauthn with the CSRF token in the query" -b "$T/jar.qs" -d action=begin \
	"$I/account/webauthn?csrf=$qcsrf"
in_query "/account/x509 with the CSRF token in the query" -b "$T/jar.qs" -d action=unbind \
	"$I/account/x509?csrf=$qcsrf"
in_query "/logout with the CSRF token in the query" -b "$T/jar.qs" -d x=1 "$I/logout?csrf=$qcsrf"
ok "POST /logout: the session is still there" alive qs
in_query "/authorize with a password in the query" -b "$T/jar.qs" \
	-d response_type=code -d "client_id=$C" "$I/authorize?password=x"
in_query "/userinfo with an access token in the query" -d x=1 "$I/userinfo?access_token=$qat"
req dq.start -d "client_id=$AUTHD_DEVICE_CLIENT" -d scope=openid "$I/device_authorization"
dq_uc=$(json dq.start j.user_code)
req dq.page -b "$T/jar.qs" "$I/device?user_code=$(urlenc "$dq_uc")"
in_query "/device approving with the CSRF token in the query" -b "$T/jar.qs" \
	--data-urlencode "user_code=$dq_uc" -d action=approve \
	"$I/device?csrf=$(hidden_field dq.page csrf)"
# Body only: parameters in the query of a POST are not read at all.
req bq.token -u "$C:$S" -d x=1 "$I/token?grant_type=client_credentials"
ok "POST /token: grant_type only in the query is not read -> 400 'grant_type missing'" \
	sh -c '[ "$1" = "400 invalid_request" ] && echo "$2" | grep -q "grant_type missing"' - \
	"$(status_err bq.token)" "$(json bq.token j.error_description)"
authorize gq "$T/jar.ql" "$C" "$R"
ok "GET /authorize with its parameters in the query -> 303 (control)" \
	has "$(status_of gq) $(header gq location)" "303 /login?tx="

# ==== 8. device flow for a host: the person types the code ========================
ctl client add hostdev-sec --grant urn:ietf:params:oauth:grant-type:device_code \
	--scope openid --scope profile --host >"$T/hd.out" 2>"$T/hd.err" ||
	diag "client add hostdev-sec --host: $(cat "$T/hd.err")"
HD=$(sed -n 's/^client_secret: *//p' "$T/hd.out")
req hd.start -u "hostdev-sec:$HD" -d scope=openid -d "login_hint=$AUTHD_USER" "$I/device_authorization"
hd_uc=$(json hd.start j.user_code) hd_dc=$(json hd.start j.device_code)
ok "device (host): authorization -> 200 with a user code" \
	sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of hd.start)" "$hd_uc"
ok "device (host): no verification_uri_complete (the person types the code)" \
	eq "$(json hd.start 'typeof j.verification_uri_complete')" undefined
req tv.start -d "client_id=$AUTHD_DEVICE_CLIENT" -d scope=openid "$I/device_authorization"
ok "device (an ordinary app): verification_uri_complete still given (control)" \
	has "$(json tv.start j.verification_uri_complete)" "/device?user_code="
session hd || diag "session hd failed"
snap hdl
s0=$(audit_seq)
nodash=$(printf '%s' "$hd_uc" | tr -d -)
req hd.link -b "$T/jar.hd" -H 'Accept-Language: en' "$I/device?user_code=$(urlenc "$hd_uc")"
ok "device (host): a link with the code, signed in -> no approval form" \
	sh -c '! grep -q "value=\"approve\"" "$1" && ! grep -q "name=\"csrf\"" "$1"' - "$T/hd.link.body"
ok "device (host): ... the code is not filled in (no field carries it), answered as a wrong code" \
	sh -c '[ "$4" = 400 ] && ! grep -q -e "value=\"$2\"" -e "value=\"$3\"" "$1"' - "$T/hd.link.body" \
	"$hd_uc" "$nodash" "$(status_of hd.link)"
# The session's device CSRF token, taken from an ordinary app's confirm page.
req tv.page -b "$T/jar.hd" "$I/device?user_code=$(urlenc "$(json tv.start j.user_code)")"
tvcsrf=$(hidden_field tv.page csrf)
ok "device: the ordinary app's link shows the approval form (control)" \
	sh -c '[ -n "$1" ] && grep -q "value=\"approve\"" "$2"' - "$tvcsrf" "$T/tv.page.body"
req hd.post -b "$T/jar.hd" -H "Origin: $I" --data-urlencode "user_code=$nodash" \
	--data-urlencode "csrf=$tvcsrf" -d action=approve "$I/device"
ok "device (host): approving with the session's CSRF token but without typing the code -> 403" \
	eq "$(status_of hd.post)" 403
ok "device (host): nothing approved" no_grant "$s0"
req hd.poll -u "hostdev-sec:$HD" -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
	--data-urlencode "device_code=$hd_dc" "$I/token"
ok "device (host): the host still gets authorization_pending" \
	eq "$(status_err hd.poll)" "400 authorization_pending"
# The way the person does it: the form at /device, the code typed into it.
req hd.enter -b "$T/jar.hd" -c "$T/jar.hd" -H 'Accept-Language: en' "$I/device"
typed=$(sed -n 's/.*<input type="hidden" name="typed" value="\([^"]*\)".*/\1/p' "$T/hd.enter.body" | head -n 1)
req hd.typed -b "$T/jar.hd" -c "$T/jar.hd" -H 'Accept-Language: en' \
	"$I/device?user_code=$(urlenc "$hd_uc")&typed=$typed"
ok "device (host): the code typed into /device -> the approval form" \
	sh -c '[ "$1" = 200 ] && grep -q "value=\"approve\"" "$2"' - "$(status_of hd.typed)" "$T/hd.typed.body"
ok "device (host): the typed proof of this browser does not work in another browser" \
	sh -c 'curl -sS --cacert "$1" -b "$2" "$3" | grep -q "value=\"approve\"" && exit 1; exit 0' - \
	"$AUTHD_CA" "$T/jar.qs" "$I/device?user_code=$(urlenc "$hd_uc")&typed=$typed"
req hd.ok -b "$T/jar.hd" -H "Origin: $I" --data-urlencode "user_code=$(hidden_field hd.typed user_code)" \
	--data-urlencode "csrf=$(hidden_field hd.typed csrf)" --data-urlencode "typed=$(hidden_field hd.typed typed)" \
	-d action=approve "$I/device"
ok "device (host): approving the typed code -> 200" eq "$(status_of hd.ok)" 200

tap_end

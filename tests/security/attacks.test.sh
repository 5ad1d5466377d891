#!/bin/sh
# tests/security/attacks.test.sh BUILD — the attack suite against run.sh's authd:
# forged and misused tokens, code and refresh reuse, PKCE downgrade,
# redirect_uri tricks, CSRF on every form, session fixation, enumeration by
# message, TOTP replay, oversized and malformed input, JSON nesting bombs, path
# traversal. Each attack must get its exact refusal (status and error code)
# AND leave the store as it was: a digest of every LMDB table (audit excepted:
# refusals are audited) is taken before and compared after. TAP output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"

for v in AUTHD_ISSUER AUTHD_CA AUTHD_CONF AUTHD_DATA AUTHD_RP AUTHD_RP_SECRET \
	AUTHD_RP_REDIRECT AUTHD_RP2 AUTHD_RP2_SECRET AUTHCTL_BIN AUTHD_USER AUTHD_PASSWORD; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
I=$AUTHD_ISSUER
C=$AUTHD_RP S=$AUTHD_RP_SECRET R=$AUTHD_RP_REDIRECT
C2=$AUTHD_RP2 S2=$AUTHD_RP2_SECRET
export NODE_EXTRA_CA_CERTS="$AUTHD_CA"
ctl() { "$AUTHCTL_BIN" -c "$AUTHD_CONF" "$@"; }
forge() { node "$here/forge.mjs" "$@"; }

sessions_set() { set_cookie_names "$1" | grep -qx __Host-authd_session; }

# ---- the store, before and after --------------------------------------------
# One digest per table. audit is left out (refusals are audited, on purpose) and
# so is meta's audit_head, which moves with it; throttle is left out because
# failed sign-ins are meant to count.
TABLES="users usernames credentials credential_index clients sessions codes families refresh device logins jti"
snap() { # snap NAME
	for d in $TABLES; do
		printf '%s %s\n' "$d" "$(mdb_dump -s "$d" "$AUTHD_DATA" 2>/dev/null | sha256sum | cut -c1-16)"
	done >"$T/snap.$1"
	printf 'meta %s\n' "$(mdb_dump -p -s meta "$AUTHD_DATA" | awk 'skip { skip = 0; next }
		$0 == " audit_head" { skip = 1; next } { print }' | sha256sum | cut -c1-16)" >>"$T/snap.$1"
}
unchanged() { # unchanged NAME: the store is as snap NAME saw it
	snap now
	cmp -s "$T/snap.$1" "$T/snap.now" && return 0
	diag "tables changed: $(diff "$T/snap.$1" "$T/snap.now" | sed -n 's/^> \([a-z_]*\) .*/\1/p' | tr '\n' ' ')"
	return 1
}
audit_seq() { ctl audit show --last 1 | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
# no_grant SEQ: nothing granted since audit record SEQ (no sign-in, token,
# logout, approval or enrolment was recorded).
no_grant() {
	n=$(($(audit_seq) - $1))
	[ "$n" -le 0 ] && return 0
	bad=$(ctl audit show --last "$n" | grep -E '"event":"(login.success|login.sso|token.issue|logout|device.approve|totp|admin)' | head -n 3)
	[ -z "$bad" ] || { diag "granted: $bad"; return 1; }
}

# ---- a genuine session and tokens: the templates the forgeries start from ------
: >"$T/jar"
code_flow base "$T/jar" "$C" "$R" "$AUTHD_USER" "$AUTHD_PASSWORD" || { echo "Bail out! login failed"; exit 1; }
token base.tok "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$VERIFIER"
[ "$(status_of base.tok)" = 200 ] || { echo "Bail out! token: $(body_of base.tok)"; exit 1; }
AT=$(json base.tok j.access_token)
IDT=$(json base.tok j.id_token)
req base.ui -H "Authorization: Bearer $AT" "$I/userinfo"
ok "control: the genuine access token works at userinfo" eq "$(status_of base.ui)" 200

# userinfo_refused NAME TOKEN: 401 invalid_token with the Bearer challenge.
userinfo_refused() {
	req "$1.ui" -H "Authorization: Bearer $2" "$I/userinfo"
	eq "$(status_of "$1.ui") $(json "$1.ui" j.error)" "401 invalid_token" &&
		has "$(header "$1.ui" www-authenticate)" 'error="invalid_token"'
}
# introspect_inactive NAME TOKEN [CLIENT SECRET]: 200 {"active":false}, nothing else.
introspect_inactive() {
	req "$1.in" -u "${3:-$C}:${4:-$S}" --data-urlencode "token=$2" "$I/introspect"
	eq "$(status_of "$1.in") $(body_of "$1.in")" '200 {"active":false}'
}
# hint_refused NAME TOKEN: /logout with it as id_token_hint -> 400 page, and
# the session it names is still there.
hint_refused() {
	req "$1.lo" -b "$T/jar" "$I/logout?id_token_hint=$2&post_logout_redirect_uri=$(urlenc https://rp.city.example/bye)"
	eq "$(status_of "$1.lo")" 400 && has "$(body_of "$1.lo")" id_token_hint &&
		eq "$(header "$1.lo" location)" ""
}
# three_refusals NAME TOKEN: the forgery at userinfo, introspection and as a
# logout hint; the store unchanged and nothing granted.
three_refusals() {
	snap "$1"
	s0=$(audit_seq)
	ok "$1: userinfo -> 401 invalid_token" userinfo_refused "$1" "$2"
	ok "$1: introspection -> 200 active:false" introspect_inactive "$1" "$2"
	ok "$1: id_token_hint at /logout -> 400, session kept" hint_refused "$1" "$2"
	ok "$1: store unchanged, nothing granted" kept "$1" "$s0"
}
kept() { unchanged "$1" && no_grant "$2"; } # kept SNAP SEQ

# ---- 1. forged and misused tokens ---------------------------------------------
J="$I/jwks"
# forged NAME MODE [JS] [ARG]: the same forgery of the access token (userinfo,
# introspection) and of the ID token (logout hint).
forged() {
	# lib.sh's req uses $name: keep ours apart
	fn=$1 fmode=$2 fjs=${3:-} farg=${4:-}
	fi=$((fi + 1))
	fat=$(forge "$fmode" "$AT" "$fjs" "$farg") && fid=$(forge "$fmode" "$IDT" "$fjs" "$farg") ||
		{ ok "$fn: forge the token" false; return; }
	snap f$fi
	fs0=$(audit_seq)
	ok "$fn: userinfo -> 401 invalid_token" userinfo_refused f$fi "$fat"
	ok "$fn: introspection -> 200 active:false" introspect_inactive f$fi "$fat"
	[ -n "${NO_HINT:-}" ] ||
		ok "$fn: as id_token_hint at /logout -> 400, no logout" hint_refused f$fi "$fid"
	ok "$fn: store unchanged, nothing granted" kept f$fi "$fs0"
}
fi=0
forged "alg=none" none
forged "HS256 keyed with our ES256 public key (PEM)" hs256-pem "" "$J"
forged "HS256 keyed with our public JWK (bytes as served)" hs256-jwk "" "$J"
forged "another issuer's key under our kid" foreign 'p.iss = "https://idp.evil.example"'
forged "another issuer's key claiming our issuer" foreign
forged "our key, another issuer (iss)" real 'p.iss = "https://idp.evil.example"'
forged "our key, iss with a trailing slash" real 'p.iss += "/"'
# An expired ID token is a valid logout hint (OIDC RP-Initiated Logout §2), so
# exp and nbf are checked at userinfo and introspection only.
NO_HINT=1 forged "expired an hour ago (beyond the 30 s leeway)" real 'p.iat = now - 4000; p.exp = now - 3600'
NO_HINT=1 forged "not valid before an hour from now (nbf)" real 'p.nbf = now + 3600'
NO_HINT=1 forged "issued in the future (iat)" real 'p.iat = now + 3600; p.exp = now + 4000'
NO_HINT=1 forged "no exp at all" real 'delete p.exp'
NO_HINT=1 forged "exp as a string" real 'p.exp = String(now + 300)'
NO_HINT=1 forged "typ JWT instead of at+jwt" real 'h.typ = "JWT"'
# One changed byte in a genuine signature.
flip() {
	node -e 'const t = process.argv[1], i = t.length - 10;
		process.stdout.write(t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1));' "$1"
}
ok "a genuine access token with one signature character changed -> 401" \
	userinfo_refused flip "$(flip "$AT")"

snap aud
s0=$(audit_seq)
ok "aud: an ID token used as an access token at userinfo -> 401 invalid_token" userinfo_refused idt_as_at "$IDT"
ok "aud: another client introspecting $C's access token -> active:false" \
	introspect_inactive aud_other "$AT" "$C2" "$S2"
req aud_hint -b "$T/jar" "$I/logout?id_token_hint=$IDT&client_id=$C2"
ok "aud: id_token_hint for $C with client_id=$C2 -> 400" \
	eq "$(status_of aud_hint) $(header aud_hint location)" "400 "
ok "aud: store unchanged, nothing granted" kept aud "$s0"
# the last forgery really is only a changed payload: the genuine token still works
ok "control: the genuine access token still works" eq "$(curl -s -o /dev/null -w '%{http_code}' \
	--cacert "$AUTHD_CA" -H "Authorization: Bearer $AT" "$I/userinfo")" 200

# ---- 2. authorization code reuse ---------------------------------------------------
: >"$T/jar.cr"
code_flow cr "$T/jar.cr" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
crcode=$CODE crver=$VERIFIER
token cr.1 "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$crcode" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$crver"
ok "code reuse: first redemption -> 200" eq "$(status_of cr.1)" 200
crat=$(json cr.1 j.access_token) crrt=$(json cr.1 j.refresh_token)
token cr.2 "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$crcode" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$crver"
ok "code reuse: second redemption -> 400 invalid_grant" eq "$(status_of cr.2) $(json cr.2 j.error)" "400 invalid_grant"
ok "code reuse: no tokens in the refusal" eq "$(json cr.2 'typeof j.access_token')" undefined
ok "code reuse: the first access token is revoked (introspection)" introspect_inactive cr.at "$crat"
ok "code reuse: the first access token is revoked (userinfo)" userinfo_refused cr.at "$crat"
token cr.rt "$C" "$S" -d grant_type=refresh_token --data-urlencode "refresh_token=$crrt"
ok "code reuse: the first refresh token is revoked" eq "$(status_of cr.rt) $(json cr.rt j.error)" "400 invalid_grant"

# ---- 3. PKCE downgrade -----------------------------------------------------------
# pkce_refused NAME QUERY: authorize answers 303 to the app with
# error=invalid_request and no login transaction is made.
pkce_refused() {
	snap "$1"
	req "$1" -b "$T/jar.p" -c "$T/jar.p" "$I/authorize?response_type=code&client_id=$C&redirect_uri=$(urlenc "$R")&scope=openid&state=st$1&$2"
	loc=$(header "$1" location)
	eq "$(status_of "$1")" 303 && has "$loc" "$R?" &&
		eq "$(query_param "$loc" error) $(query_param "$loc" state) $(query_param "$loc" code)" "invalid_request st$1 " &&
		unchanged "$1"
}
: >"$T/jar.p"
pkce
ok "PKCE: no code_challenge -> 303 error=invalid_request, nothing stored" pkce_refused pk1 ""
ok "PKCE: code_challenge_method=plain -> invalid_request" pkce_refused pk2 "code_challenge=$VERIFIER&code_challenge_method=plain"
ok "PKCE: method omitted (plain by default) -> invalid_request" pkce_refused pk3 "code_challenge=$VERIFIER"
ok "PKCE: method s256 (wrong case) -> invalid_request" pkce_refused pk4 "code_challenge=$CHALLENGE&code_challenge_method=s256"
ok "PKCE: a 10-character challenge -> invalid_request" pkce_refused pk5 "code_challenge=abcdefghij&code_challenge_method=S256"

: >"$T/jar.pk"
code_flow pkA "$T/jar.pk" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
codeA=$CODE verA=$VERIFIER
authorize pkB "$T/jar.pk" "$C" "$R"   # the session answers at once (SSO)
codeB=$(query_param "$(header pkB location)" code) verB=$VERIFIER
snap pkt
s0=$(audit_seq)
token pk.none "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$codeA" \
	--data-urlencode "redirect_uri=$R"
ok "PKCE: code without code_verifier -> 400 invalid_request" eq "$(status_of pk.none) $(json pk.none j.error)" "400 invalid_request"
token pk.other "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$codeA" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$verB"
ok "PKCE: the verifier of another request -> 400 invalid_grant" eq "$(status_of pk.other) $(json pk.other j.error)" "400 invalid_grant"
token pk.plain "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$codeA" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$(printf '%s' "$verA" | openssl dgst -sha256 -binary | b64url)"
ok "PKCE: the challenge itself as verifier (plain) -> 400 invalid_grant" eq "$(status_of pk.plain) $(json pk.plain j.error)" "400 invalid_grant"
ok "PKCE: no token issued by the refusals" kept pkt "$s0"
token pk.b "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$codeB" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$verB"
ok "control: the other request's code with its own verifier -> 200" eq "$(status_of pk.b)" 200

# ---- 4. redirect_uri tricks ------------------------------------------------------
# The registered URIs: $R and https://rp.city.example:8443/cb2. Each variant
# gets the HTML error page, never a redirect, and no login transaction.
ri=0
redirect_refused() { # redirect_refused URI
	ri=$((ri + 1))
	snap ru$ri
	req ru$ri -b "$T/jar.p" -c "$T/jar.p" "$I/authorize?response_type=code&client_id=$C&redirect_uri=$(urlenc "$1")&scope=openid&state=s&code_challenge=$CHALLENGE&code_challenge_method=S256"
	eq "$(status_of ru$ri)" 400 && eq "$(header ru$ri location)" "" &&
		has "$(header ru$ri content-type)" text/html && unchanged ru$ri
}
pkce
for u in "$R/extra" "${R}x" "${R%b}" "$R?next=https://evil.example" "$R#frag" "$R/" \
	"$R/." "$R/../cb" "https://rp.city.example//cb" \
	"https://rp.city.example.evil.example/cb" "https://rp.city.example@evil.example/cb" \
	"https://evil.example@rp.city.example/cb" "https://evil.example/cb?https://rp.city.example/cb" \
	"https://RP.city.example/cb" "HTTPS://rp.city.example/cb" "https://rp.city.example/CB" \
	"https://rp.city.example/%63b" "https://rp.city.example%2fcb" \
	"https://rp.city.example:443/cb" "https://rp.city.example:8443/cb" \
	"https://rp.city.example:8444/cb2" "https://rp.city.example/cb2" \
	"http://rp.city.example/cb" "//rp.city.example/cb" "/cb" " $R" "$R " \
	"https://rp.city.example\\@evil.example/cb" "https://rp.city.example./cb" \
	"javascript:alert(1)//https://rp.city.example/cb"; do
	ok "redirect_uri '$u' -> 400 page, no Location, nothing stored" redirect_refused "$u"
done
authorize ru.good "$T/jar.p" "$C" "https://rp.city.example:8443/cb2"
ok "control: the second registered URI (port 8443) -> 303 to the login page" \
	has "$(status_of ru.good) $(header ru.good location)" "303 /login?tx="

# ---- 5. refresh token reuse ----------------------------------------------------------
: >"$T/jar.rf"
code_flow rf "$T/jar.rf" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
token rf.0 "$C" "$S" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
	--data-urlencode "redirect_uri=$R" --data-urlencode "code_verifier=$VERIFIER"
rt1=$(json rf.0 j.refresh_token)
token rf.1 "$C" "$S" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1"
ok "refresh: first use -> 200 with a new refresh token" \
	sh -c '[ "$1" = 200 ] && [ -n "$2" ] && [ "$2" != "$3" ]' - "$(status_of rf.1)" "$(json rf.1 j.refresh_token)" "$rt1"
rt2=$(json rf.1 j.refresh_token) at2=$(json rf.1 j.access_token)
token rf.2 "$C" "$S" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1"
ok "refresh: the superseded token again -> 400 invalid_grant" eq "$(status_of rf.2) $(json rf.2 j.error)" "400 invalid_grant"
token rf.3 "$C" "$S" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt2"
ok "refresh: ... and the family is revoked: the newest refresh token -> 400 invalid_grant" \
	eq "$(status_of rf.3) $(json rf.3 j.error)" "400 invalid_grant"
ok "refresh: ... its access token is inactive" introspect_inactive rf.at "$at2"
ok "refresh: ... and refused at userinfo" userinfo_refused rf.at "$at2"
snap rfo
token rf.4 "$C2" "$S2" -d grant_type=refresh_token --data-urlencode "refresh_token=$rt2"
ok "refresh: another client presenting it -> 400 invalid_grant, store unchanged" \
	sh -c '[ "$1" = "400 invalid_grant" ] && [ "$2" = 0 ]' - "$(status_of rf.4) $(json rf.4 j.error)" "$(unchanged rfo >/dev/null; echo $?)"

# ---- 6. CSRF on every form ---------------------------------------------------------
# /login: missing and wrong token.
: >"$T/jar.cs"
authorize cs "$T/jar.cs" "$C" "$R"
login_page cs "$T/jar.cs"
snap cs
s0=$(audit_seq)
post_login cs.miss "$T/jar.cs" cs.page "$AUTHD_USER2" "$AUTHD_PASSWORD2" ""
ok "CSRF /login: no token -> 403, no session" sh -c '[ "$1" = 403 ] && ! echo "$2" | grep -qx __Host-authd_session' - \
	"$(status_of cs.miss)" "$(set_cookie_names cs.miss)"
post_login cs.bad "$T/jar.cs" cs.page "$AUTHD_USER2" "$AUTHD_PASSWORD2" "$(rand_token)$(rand_token)"
ok "CSRF /login: wrong token -> 403, no session, no Location" sh -c '[ "$1" = 403 ] && [ -z "$3" ] && ! echo "$2" | grep -qx __Host-authd_session' - \
	"$(status_of cs.bad)" "$(set_cookie_names cs.bad)" "$(header cs.bad location)"
ok "CSRF /login: store unchanged, nothing granted" kept cs "$s0"

# /account: a signed-in browser (jar) posting an action without / with a wrong token.
req acc -b "$T/jar" -H 'Accept-Language: en' "$I/account"
ok "control: /account with the session -> 200 with a csrf field" \
	sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of acc)" "$(hidden_field acc csrf)"
snap acc
s0=$(audit_seq)
req acc.miss -b "$T/jar" -H "Origin: $I" -d action=totp_begin "$I/account"
ok "CSRF /account totp_begin: no token -> 403" eq "$(status_of acc.miss)" 403
req acc.bad -b "$T/jar" -H "Origin: $I" -d action=totp_begin -d "csrf=$(rand_token)" "$I/account"
ok "CSRF /account totp_begin: wrong token -> 403" eq "$(status_of acc.bad)" 403
req acc.rm -b "$T/jar" -H "Origin: $I" -d action=totp_remove -d "csrf=$(hidden_field acc csrf)x" "$I/account"
ok "CSRF /account totp_remove: token with a byte added -> 403" eq "$(status_of acc.rm)" 403
ok "CSRF /account: store unchanged, nothing granted" kept acc "$s0"
ok "CSRF /account: no TOTP set-up was started" has "$(ctl totp status "$AUTHD_USER")" '"totp":"none"'

# /device: approve someone's code without the page's token.
req dv.start -d "client_id=$AUTHD_DEVICE_CLIENT" -d scope=openid "$I/device_authorization"
ucode=$(json dv.start j.user_code) dcode=$(json dv.start j.device_code)
ok "control: device authorization -> 200 with a user code" sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of dv.start)" "$ucode"
req dv.page -b "$T/jar" -H 'Accept-Language: en' "$I/device?user_code=$(urlenc "$ucode")"
ok "control: /device with the session -> 200 confirmation with a csrf field" \
	sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of dv.page)" "$(hidden_field dv.page csrf)"
snap dv
s0=$(audit_seq)
req dv.miss -b "$T/jar" -H "Origin: $I" --data-urlencode "user_code=$ucode" -d action=approve "$I/device"
ok "CSRF /device approve: no token -> 403" eq "$(status_of dv.miss)" 403
req dv.bad -b "$T/jar" -H "Origin: $I" --data-urlencode "user_code=$ucode" -d action=approve \
	-d "csrf=$(rand_token)" "$I/device"
ok "CSRF /device approve: wrong token -> 403" eq "$(status_of dv.bad)" 403
ok "CSRF /device: store unchanged, nothing approved" kept dv "$s0"
req dv.poll -d "client_id=$AUTHD_DEVICE_CLIENT" --data-urlencode "device_code=$dcode" \
	-d grant_type=urn:ietf:params:oauth:grant-type:device_code "$I/token"
ok "CSRF /device: the device still gets authorization_pending" \
	eq "$(status_of dv.poll) $(json dv.poll j.error)" "400 authorization_pending"

# /logout: the confirmation form.
snap lo
s0=$(audit_seq)
req lo.bad -b "$T/jar" -H "Origin: $I" -d "csrf=$(rand_token)" "$I/logout"
ok "CSRF /logout: wrong token -> 403" eq "$(status_of lo.bad)" 403
req lo.miss -b "$T/jar" -H "Origin: $I" -d "x=1" "$I/logout"
ok "CSRF /logout: no token -> the confirmation page again (200), not a logout" \
	sh -c '[ "$1" = 200 ] && case "$2" in *name=\"csrf\"*) exit 0;; esac; exit 1' - \
	"$(status_of lo.miss)" "$(body_of lo.miss)"
req lo.get -b "$T/jar" "$I/logout"
ok "CSRF /logout: GET without id_token_hint -> confirmation page (200)" eq "$(status_of lo.get)" 200
ok "CSRF /logout: store unchanged, nothing granted (session kept)" kept lo "$s0"
req lo.still -b "$T/jar" "$I/account"
ok "CSRF /logout: the session still opens /account" eq "$(status_of lo.still)" 200

# ---- 7. session fixation ---------------------------------------------------------------
sess_value() { tr -d '\r' <"$T/$1.headers" | sed -n 's/^set-cookie: *__Host-authd_session=\([^;]*\).*/\1/Ip' | tail -n 1; }
planted=$(rand_token)$(rand_token)
printf '127.0.0.1\tFALSE\t/\tTRUE\t0\t__Host-authd_session\t%s\n' "$planted" >"$T/jar.fx"
code_flow fx "$T/jar.fx" "$C" "$R" "$AUTHD_USER2" "$AUTHD_PASSWORD2"
new=$(sess_value fx)
ok "fixation: a planted session cookie is replaced at sign-in" \
	sh -c '[ -n "$1" ] && [ "$1" != "$2" ]' - "$new" "$planted"
old=$(awk '$6 == "__Host-authd_session" { print $7 }' "$T/jar")
authorize fx2 "$T/jar" "$C" "$R" "&prompt=login"
login_page fx2 "$T/jar"
post_login fx2.post "$T/jar" fx2.page "$AUTHD_USER" "$AUTHD_PASSWORD"
new2=$(sess_value fx2.post)
ok "fixation: signing in again (prompt=login) issues a new session id" \
	sh -c '[ "$1" = 303 ] && [ -n "$2" ] && [ -n "$3" ] && [ "$2" != "$3" ]' - "$(status_of fx2.post)" "$new2" "$old"
req fx.old -b "__Host-authd_session=$old" "$I/account"
ok "fixation: the session id from before the sign-in no longer opens /account" \
	sh -c '[ "$1" != 200 ]' - "$(status_of fx.old)"
req fx.planted -b "__Host-authd_session=$planted" "$I/account"
ok "fixation: the planted id opens nothing" sh -c '[ "$1" != 200 ]' - "$(status_of fx.planted)"

# ---- 8. username enumeration by message ---------------------------------------------
# The pages for a wrong password and an unknown name are identical once the
# per-transaction values (tx, csrf, the seconds until the sign-in expires) are
# taken out; status and cookies too.
strip_tx() { sed 's/ value="[^"]*"//g; s/tx=[A-Za-z0-9_-]*//g; s/ data-left="[0-9]*"//g' "$T/$1.body"; }
for who in known unknown; do
	: >"$T/jar.en.$who"
	authorize en.$who "$T/jar.en.$who" "$C" "$R"
	login_page en.$who "$T/jar.en.$who"
done
post_login en.known.post "$T/jar.en.known" en.known.page "$AUTHD_USER2" "wrong-password-$(rand_token)"
post_login en.unknown.post "$T/jar.en.unknown" en.unknown.page "nobody-$(rand_token)" "wrong-password-$(rand_token)"
ok "enumeration: wrong password -> 401" eq "$(status_of en.known.post)" 401
ok "enumeration: unknown user -> 401" eq "$(status_of en.unknown.post)" 401
same_body() { [ "$(strip_tx "$1")" = "$(strip_tx "$2")" ] || { diff "$T/$1.body" "$T/$2.body" | head -n 6 | sed 's/^/# /'; return 1; }; }
ok "enumeration: identical page apart from tx/csrf" same_body en.known.post en.unknown.post
hdrs() { tr -d '\r' <"$T/$1.headers" | sed -n 's/^\([A-Za-z-]*\):.*/\1/p' | grep -vi '^date$' | sort | tr '\n' ' '; }
ok "enumeration: the same response header names" eq "$(hdrs en.known.post)" "$(hdrs en.unknown.post)"

# ---- 9. TOTP replay ---------------------------------------------------------------------
# tina enrols with authctl (--code-stdin, a code from oathtool), then signs in
# to an AAL2 application twice with the same code.
U=$AUTHD_USER3 UP=$AUTHD_PASSWORD3
A2=sec-aal2 A2R=https://aal2.city.example/cb
ctl client add $A2 --redirect-uri $A2R --grant authorization_code --grant refresh_token \
	--scope openid --scope profile --scope email --scope offline_access --min-aal 2 >"$T/a2.out" 2>&1 ||
	diag "client add $A2: $(cat "$T/a2.out")"
step_now() { echo $(($(date +%s) / 30)); }
settle() { i=0; while [ $(($(date +%s) % 30)) -ge 25 ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done; }
rm -f "$T/enrol.fifo"
mkfifo "$T/enrol.fifo"
ctl totp enrol "$U" --code-stdin <"$T/enrol.fifo" >"$T/enrol.out" 2>"$T/enrol.err" &
epid=$!
exec 3>"$T/enrol.fifo"
i=0
while ! grep -qs 'secret=' "$T/enrol.out" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
SECRET=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enrol.out" | head -n 1)
settle
# enrol with the previous step's code, so the current one is still unused
[ -n "$SECRET" ] && oathtool --totp -b "$SECRET" --now "@$((($(step_now) - 1) * 30 + 1))" >&3
exec 3>&-
wait $epid
ok "TOTP: authctl totp enrol --code-stdin activates it" has "$(ctl totp status "$U")" '"totp":"active"'
otp_page() { # otp_page NAME JAR: password done, NAME.otp is the code page
	: >"$2"
	authorize "$1.az" "$2" $A2 $A2R
	login_page "$1.az" "$2"
	post_login "$1.pw" "$2" "$1.az.page" "$U" "$UP"
	loc=$(header "$1.pw" location)
	[ "$(status_of "$1.pw")" = 303 ] && case "$loc" in /login\?tx=*) ;; *) return 1 ;; esac
	req "$1.otp" -b "$2" -c "$2" -H 'Accept-Language: en' "$I$loc"
	[ "$(status_of "$1.otp")" = 200 ] && has "$(body_of "$1.otp")" 'value="totp"'
}
post_otp() { # post_otp NAME JAR PAGE CODE
	req "$1" -b "$2" -c "$2" -H 'Accept-Language: en' -H "Origin: $I" \
		--data-urlencode "tx=$(hidden_field "$3" tx)" --data-urlencode "csrf=$(hidden_field "$3" csrf)" \
		--data-urlencode method=totp --data-urlencode "otp=$4" "$I/login"
}
settle
OTP=$(oathtool --totp -b "$SECRET")
ok "TOTP: password leads to the code page" otp_page t1 "$T/jar.t1"
post_otp t1.code "$T/jar.t1" t1.otp "$OTP"
ok "TOTP: the current code completes the sign-in" \
	has "$(status_of t1.code) $(header t1.code location)" "303 $A2R?code="
ok "TOTP: second sign-in reaches the code page" otp_page t2 "$T/jar.t2"
snap totp
s0=$(audit_seq)
post_otp t2.code "$T/jar.t2" t2.otp "$OTP"
ok "TOTP: the same code again -> 401, no session, no redirect" \
	sh -c '[ "$1" = 401 ] && [ -z "$2" ] && ! echo "$3" | grep -qx __Host-authd_session' - \
	"$(status_of t2.code)" "$(header t2.code location)" "$(set_cookie_names t2.code)"
ok "TOTP: replay granted nothing" no_grant "$s0"
ok "TOTP: replay left sessions, codes and credentials as they were" \
	sh -c 'diff "$1" "$2" | grep "^>" | grep -qE "^> (sessions|codes|credentials|families|refresh) " && exit 1; exit 0' - \
	"$T/snap.totp" "$(snap now; echo "$T/snap.now")"

# ---- 10. oversized and malformed input ------------------------------------------------
big() { head -c "$1" /dev/zero | tr '\0' a; }
req ov.hdr -H "X-Padding: $(big 20000)" "$I/healthz"
ok "oversized: a 20 KB header -> 400" eq "$(status_of ov.hdr)" 400
req ov.hdr2 -H "X-Padding: $(big 1000000)" "$I/healthz"
ok "oversized: a 1 MB header -> refused (400 or connection closed), never 2xx" \
	sh -c 'case "$1" in 400|000) exit 0;; esac; exit 1' - "$(status_of ov.hdr2)"
big 70000 >"$T/big.body"
req ov.body -u "$C:$S" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$T/big.body" "$I/token"
ok "oversized: a 70 KB body at /token -> 413" eq "$(status_of ov.body)" 413
: >"$T/jar.ov"
authorize ov "$T/jar.ov" "$C" "$R"
login_page ov "$T/jar.ov"
snap ov
post_login ov.user "$T/jar.ov" ov.page "$(big 9000)" x
ok "oversized: a 9000-byte username field -> 400" eq "$(status_of ov.user)" 400
post_login ov.pw "$T/jar.ov" ov.page "$AUTHD_USER2" "$(big 8100)"
ok "oversized: an 8100-byte password (limit 128) -> 400, no session" \
	sh -c '[ "$1" = 400 ] && ! echo "$2" | grep -qx __Host-authd_session' - "$(status_of ov.pw)" "$(set_cookie_names ov.pw)"
post_login ov.pw2 "$T/jar.ov" ov.page "nobody-$(rand_token)" "$(big 8100)"
ok "oversized: ... the same answer for an unknown user" same_body ov.pw ov.pw2
fields=$(i=0; while [ $i -lt 70 ]; do printf 'f%d=1&' $i; i=$((i + 1)); done)
req ov.many -u "$C:$S" --data-binary "${fields}grant_type=client_credentials" "$I/token"
ok "oversized: 71 form fields -> 400 invalid_request" eq "$(status_of ov.many) $(json ov.many j.error)" "400 invalid_request"
req ov.state "$I/authorize?response_type=code&client_id=$C&redirect_uri=$(urlenc "$R")&scope=openid&code_challenge=$CHALLENGE&code_challenge_method=S256&state=$(big 5000)"
ok "oversized: a 5000-byte state -> refused (400), no login transaction" \
	sh -c '[ "$1" = 400 ] || [ "$1" = 303 ] && case "$2" in *error=*|"") exit 0;; esac; exit 1' - \
	"$(status_of ov.state)" "$(header ov.state location)"

req u8.q "$I/authorize?response_type=code&client_id=$C&state=%C3%28"
ok "invalid UTF-8 in the query -> 400 invalid_request" eq "$(status_of u8.q) $(json u8.q j.error)" "400 invalid_request"
req u8.nul "$I/authorize?response_type=code&client_id=$C&state=a%00b"
ok "NUL in the query -> 400 invalid_request" eq "$(status_of u8.nul) $(json u8.nul j.error)" "400 invalid_request"
req u8.form -b "$T/jar.ov" -H "Origin: $I" --data-binary "tx=$(hidden_field ov.page tx)&csrf=$(hidden_field ov.page csrf)&username=%FF%FEalice&password=x" "$I/login"
ok "invalid UTF-8 in a form field -> 400 invalid_request" eq "$(status_of u8.form) $(json u8.form j.error)" "400 invalid_request"
req u8.over -u "$C:$S" --data-binary 'grant_type=client_credentials&scope=%C0%AF' "$I/token"
ok "overlong UTF-8 (C0 AF) in a form field -> 400 invalid_request" eq "$(status_of u8.over) $(json u8.over j.error)" "400 invalid_request"
req u8.sur -u "$C:$S" --data-binary 'grant_type=client_credentials&scope=%ED%A0%80' "$I/token"
ok "UTF-16 surrogate (ED A0 80) in a form field -> 400 invalid_request" eq "$(status_of u8.sur) $(json u8.sur j.error)" "400 invalid_request"
req u8.raw -u "$C:$S" --data-binary "$(printf 'grant_type=client_credentials&scope=\377')" "$I/token"
ok "a raw 0xFF byte in the body -> 400 invalid_request" eq "$(status_of u8.raw) $(json u8.raw j.error)" "400 invalid_request"
ok "malformed input: store unchanged" unchanged ov

# ---- 11. JSON nesting bombs ----------------------------------------------------------------
snap nest
s0=$(audit_seq)
# Forged (an attacker has no key of ours): refused whatever the nesting.
deep=$(DEPTH=2500 forge foreign "$AT")
ok "JSON bomb: forged access token, 2500 nested arrays, at introspection -> active:false" \
	introspect_inactive nest1 "$deep"
deep=$(DEPTH=1400 forge foreign "$AT")
ok "JSON bomb: forged access token, 1400 nested arrays, at userinfo -> 401 invalid_token" \
	userinfo_refused nest2 "$deep"
deep=$(DEPTH=1400 forge foreign "$IDT")
ok "JSON bomb: forged id_token_hint, 1400 nested arrays -> 400" hint_refused nest3 "$deep"
# Even with a genuine signature, nesting past the parser's depth limit is refused.
deep=$(DEPTH=2500 forge real "$AT")
ok "JSON bomb: genuinely signed access token, 2500 nested arrays -> active:false" \
	introspect_inactive nest4 "$deep"
hdr=$(printf '{"alg":"ES256","kid":%s"x"%s}' "$(big 2500 | tr a '[')" "$(big 2500 | tr a ']')" | b64url)
ok "JSON bomb: 2500 nested arrays in the JOSE header -> 200 active:false" \
	introspect_inactive nesthdr "$hdr.$(printf '%s' "$AT" | cut -d. -f2-)"
ok "JSON bomb: nested tokens: store unchanged, nothing granted" kept nest "$s0"

# private_key_jwt: an assertion signed by the client's real key, deeply nested.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/pkj.key" 2>/dev/null
node -e '
	const c = require("crypto");
	const k = c.createPublicKey(require("fs").readFileSync(process.argv[1]));
	const j = k.export({ format: "jwk" }); j.kid = "k1"; j.alg = "ES256"; j.use = "sig";
	console.log(JSON.stringify({ keys: [j] }));' "$T/pkj.key" >"$T/pkj.jwks"
ctl client add sec-pkj --grant client_credentials --scope openid --auth-method private_key_jwt \
	--jwks-file "$T/pkj.jwks" >"$T/pkj.out" 2>&1
assertion() { # assertion DEPTH: a client assertion for /token, nested DEPTH deep
	node -e '
		const c = require("crypto"), fs = require("fs");
		const [key, aud, depth] = process.argv.slice(1);
		const now = Math.floor(Date.now() / 1000), n = Number(depth);
		const h = Buffer.from(JSON.stringify({ alg: "ES256", kid: "k1", typ: "JWT" })).toString("base64url");
		let p = JSON.stringify({ iss: "sec-pkj", sub: "sec-pkj", aud, iat: now, exp: now + 60,
			jti: c.randomBytes(16).toString("hex") });
		if (n > 0) p = p.slice(0, -1) + ",\"x\":" + "[".repeat(n) + "1" + "]".repeat(n) + "}";
		const input = h + "." + Buffer.from(p).toString("base64url");
		const s = c.sign("sha256", Buffer.from(input), { key: fs.readFileSync(key), dsaEncoding: "ieee-p1363" });
		process.stdout.write(input + "." + s.toString("base64url"));' "$T/pkj.key" "$I/token" "$1"
}
pkj() { # pkj NAME DEPTH
	req "$1" -d grant_type=client_credentials -d client_id=sec-pkj \
		-d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
		--data-urlencode "client_assertion=$(assertion "$2")" "$I/token"
}
pkj pkj.ok 0
ok "control: a plain client assertion -> 200" eq "$(status_of pkj.ok)" 200
# The same assertion twice: its jti is recorded, the second use is a replay.
once=$(assertion 0)
for n in 1 2; do
	req pkj.once$n -d grant_type=client_credentials -d client_id=sec-pkj \
		-d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
		--data-urlencode "client_assertion=$once" "$I/token"
done
ok "a client assertion used once -> 200" eq "$(status_of pkj.once1)" 200
ok "the same client assertion again (replayed jti) -> 401 invalid_client" \
	eq "$(status_of pkj.once2) $(json pkj.once2 j.error)" "401 invalid_client"
snap pkjn
s0=$(audit_seq)
pkj pkj.deep 2500
ok "JSON bomb: client assertion nested 2500 deep -> 401 invalid_client" \
	eq "$(status_of pkj.deep) $(json pkj.deep j.error)" "401 invalid_client"
ok "JSON bomb: store unchanged, nothing granted" kept pkjn "$s0"

printf '{"keys":[{"kty":"EC","crv":"P-256","x":%s1%s}]}' "$(big 100000 | tr a '[')" "$(big 100000 | tr a ']')" >"$T/deep.jwks"
snap jw
ctl client add sec-bomb --grant client_credentials --auth-method private_key_jwt \
	--jwks-file "$T/deep.jwks" >"$T/bomb.out" 2>&1
rc=$?
ok "JSON bomb: authctl client add --jwks-file with 100000 nested arrays -> refused (exit 1)" \
	sh -c '[ "$1" = 1 ] && [ -n "$2" ]' - "$rc" "$(cat "$T/bomb.out")"
ok "JSON bomb: no client was added" unchanged jw

# ---- 12. path traversal on static files ---------------------------------------------------
pt=0
path_refused() { # path_refused PATH STATUS ERROR
	pt=$((pt + 1))
	req pt$pt --path-as-is "$I$1"
	eq "$(status_of pt$pt) $(json pt$pt j.error)" "$2 $3" &&
		! grep -q 'BEGIN\|root:\|\[server\]' "$T/pt$pt.body"
}
for p in /static/../authd.conf /static/../../../../etc/passwd /static/%2e%2e/%2e%2e/etc/passwd \
	/static/%2E%2E/authd.conf /static/..%2fauthd.conf /static/..%2F..%2Fetc%2Fpasswd \
	/static/%252e%252e/authd.conf /static/.%2e/authd.conf "/static/..\\..\\authd.conf" \
	/static/authd.css%00.txt /static/authd.css%2f..%2f..%2fetc%2fpasswd \
	/static/%c0%ae%c0%ae/authd.conf; do
	case "$p" in
	*%252e*) ok "path traversal: $p -> 404 not_found" path_refused "$p" 404 not_found ;;
	*) ok "path traversal: $p -> 400 invalid_request" path_refused "$p" 400 invalid_request ;;
	esac
done
for p in /static/ /static /static/./authd.css /static//authd.css /static/authd.css/ \
	/static/tls.key /static/authd.conf /data/data.mdb /certs/tls.key; do
	ok "no file outside the route table: $p -> 404 not_found" path_refused "$p" 404 not_found
done
req pt.css "$I/static/authd.css"
ok "control: /static/authd.css -> 200 text/css" has "$(status_of pt.css) $(header pt.css content-type)" "200 text/css"

tap_end

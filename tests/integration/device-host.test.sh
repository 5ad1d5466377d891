#!/bin/sh
# tests/integration/device-host.test.sh BUILD — the device flow of a host
# (pam_authd mode=device) against the harness's authd, with curl as the
# person's browser: a client made with `authctl client add --host`, the device
# request naming the account (login_hint) and the connection (remote_addr), no
# verification_uri_complete, the code typed into /device's form, the approval
# page naming server, account, addresses and time in zh-TW and English, the
# host's poll getting tokens for that account; a person signed in as another
# account can only deny; a client without --host keeps the ordinary flow.
# TAP output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# authctl of BUILD, on the harness's store (its config is AUTHD_CONF).
build=${1:-build}
case "$build" in /*) ;; *) build="$here/../../$build" ;; esac
AUTHCTL_BIN=${AUTHCTL_BIN:-$build/bin/authctl}
[ -x "$AUTHCTL_BIN" ] || AUTHCTL_BIN=$build/authctl
for v in AUTHD_ISSUER AUTHD_CA AUTHD_CONF AUTHD_USER AUTHD_PASSWORD AUTHD_USER2 AUTHD_PASSWORD2; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
I=$AUTHD_ISSUER
ctl() { "$AUTHCTL_BIN" -c "$AUTHD_CONF" "$@"; }
DG=urn:ietf:params:oauth:grant-type:device_code

ctl client add web01 --grant "$DG" --scope openid --scope profile --host \
	--name "網頁伺服器 web01" --name-en "Web server web01" >"$T/web01.out" 2>"$T/web01.err"
HS=$(sed -n 's/^client_secret: *//p' "$T/web01.out")
ok "authctl client add --host -> a confidential host client" sh -c '[ -n "$1" ]' - "$HS"
ok "authctl client show: host true" has "$(ctl client show web01 | tr -d ' \n')" '"host":true'

start() { # start NAME FORM-ARGS...: the host's device authorization request
	sn=$1
	shift
	req "$sn" -u "web01:$HS" -d "scope=openid profile" "$@" "$I/device_authorization"
}
poll() { # poll NAME DEVICE_CODE
	req "$1" -u "web01:$HS" -d "grant_type=$DG" --data-urlencode "device_code=$2" "$I/token"
}
start d1 -d "login_hint=$AUTHD_USER" -d remote_addr=198.51.100.7
UC=$(json d1 j.user_code) DC=$(json d1 j.device_code)
ok "host device start -> 200 with a user code and the verification URI" \
	eq "$(status_of d1) $(json d1 j.verification_uri)" "200 $I/device"
ok "host device start: no verification_uri_complete" \
	eq "$(json d1 'typeof j.verification_uri_complete')" undefined
start d.badhint -d "login_hint=al ice"
ok "login_hint that is no user name -> 400 invalid_request" \
	eq "$(status_of d.badhint) $(json d.badhint j.error)" "400 invalid_request"
start d.badaddr --data-urlencode "remote_addr=198.51.100.7 evil"
ok "remote_addr with a space -> 400 invalid_request" \
	eq "$(status_of d.badaddr) $(json d.badaddr j.error)" "400 invalid_request"

# typed_visit NAME JAR CODE: the form at /device, the code typed into it.
typed_visit() {
	req "$1.enter" -b "$2" -c "$2" "$I/device"
	tp=$(hidden_field "$1.enter" typed)
	req "$1" -b "$2" -c "$2" "$I/device?user_code=$(urlenc "$3")&typed=$tp"
}
J="$T/jar.alice"
: >"$J"
typed_visit v1 "$J" "$UC"
ok "/device sets the form's cookie and carries a typed token" \
	sh -c '[ -n "$1" ] && echo "$2" | grep -qx __Host-authd_device' - \
	"$(hidden_field v1.enter typed)" "$(set_cookie_names v1.enter)"
ok "the typed code, not signed in -> 303 to the sign-in page" \
	has "$(status_of v1) $(header v1 location)" "303 /login?tx="
login_page v1 "$J"
post_login v1.post "$J" v1.page "$AUTHD_USER" "$AUTHD_PASSWORD"
back=$(header v1.post location)
ok "after the sign-in, back to /device with the code and the typed token" \
	sh -c 'case "$1" in "/device?user_code="*"&typed="*) exit 0;; esac; exit 1' - "$back"
req v1.zh -b "$J" -c "$J" "$I$back"
req v1.en -b "$J" -c "$J" -H 'Accept-Language: en' "$I$back"
zh=$(body_of v1.zh) en=$(body_of v1.en)
ok "approval page (zh-TW) names the server" has "$zh" "伺服器：<strong>網頁伺服器 web01</strong>"
ok "approval page (zh-TW) names the account" has "$zh" "將登入的帳號：<strong>$AUTHD_USER</strong>"
ok "approval page (zh-TW) names the request's address" has "$zh" "要求來自位址：<strong>127.0.0.1</strong>"
ok "approval page (zh-TW) names the connection the host reported" \
	has "$zh" "伺服器回報的連線來源：<strong>198.51.100.7</strong>"
ok "approval page (zh-TW) gives the time" \
	sh -c 'echo "$1" | grep -q "要求時間：<strong>20[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:]* (UTC[+-][0-9]*)</strong>"' - "$zh"
ok "approval page (zh-TW) warns against approving someone else's login" has "$zh" "請按「拒絕」"
ok "approval page (English) names server, account, addresses, time" \
	sh -c 'for s in "Server: <strong>Web server web01</strong>" "Account to be logged in: <strong>$2</strong>" \
		"Request came from address: <strong>127.0.0.1</strong>" \
		"Connection reported by the server from: <strong>198.51.100.7</strong>" "Requested at: <strong>20"; do
		case "$1" in *"$s"*) ;; *) echo "# missing: $s"; exit 1 ;; esac; done' - "$en" "$AUTHD_USER"
ok "approval page has Allow and Deny" sh -c 'grep -q "value=\"approve\"" "$1" && grep -q "value=\"deny\"" "$1"' - \
	"$T/v1.en.body"
req v1.ok -b "$J" -H "Origin: $I" --data-urlencode "user_code=$(hidden_field v1.en user_code)" \
	--data-urlencode "csrf=$(hidden_field v1.en csrf)" --data-urlencode "typed=$(hidden_field v1.en typed)" \
	-d action=approve "$I/device"
ok "Allow -> 200" eq "$(status_of v1.ok)" 200
poll p1 "$DC"
ok "the host's poll -> 200 with tokens" sh -c '[ "$1" = 200 ] && [ -n "$2" ]' - "$(status_of p1)" "$(json p1 j.id_token)"
ok "... the ID token names the account the host asked for" \
	eq "$(node -e 'const t=process.argv[1].split(".")[1];
		console.log(JSON.parse(Buffer.from(t,"base64url")).preferred_username)' "$(json p1 j.id_token)")" \
	"$AUTHD_USER"

# Signed in as someone else: the page says so and offers only Deny.
start d2 -d "login_hint=$AUTHD_USER"
UC2=$(json d2 j.user_code) DC2=$(json d2 j.device_code)
J2="$T/jar.bob"
: >"$J2"
typed_visit v2 "$J2" "$UC2"
login_page v2 "$J2"
post_login v2.post "$J2" v2.page "$AUTHD_USER2" "$AUTHD_PASSWORD2"
req v2.en -b "$J2" -c "$J2" -H 'Accept-Language: en' "$I$(header v2.post location)"
ok "another account signed in: the page says whom, and has no Allow" \
	sh -c 'grep -q "You are signed in as: <strong>$2</strong>" "$1" && ! grep -q "value=\"approve\"" "$1" &&
		grep -q "value=\"deny\"" "$1"' - "$T/v2.en.body" "$AUTHD_USER2"
req v2.approve -b "$J2" -H "Origin: $I" --data-urlencode "user_code=$(hidden_field v2.en user_code)" \
	--data-urlencode "csrf=$(hidden_field v2.en csrf)" --data-urlencode "typed=$(hidden_field v2.en typed)" \
	-d action=approve "$I/device"
ok "... and posting Allow anyway -> 403" eq "$(status_of v2.approve)" 403
poll p2 "$DC2"
ok "... the host still waits (authorization_pending)" \
	eq "$(status_of p2) $(json p2 j.error)" "400 authorization_pending"
req v2.deny -b "$J2" -H "Origin: $I" --data-urlencode "user_code=$(hidden_field v2.en user_code)" \
	--data-urlencode "csrf=$(hidden_field v2.en csrf)" --data-urlencode "typed=$(hidden_field v2.en typed)" \
	-d action=deny "$I/device"
sleep 5
poll p2b "$DC2"
ok "Deny -> the host's poll gets access_denied" eq "$(status_of v2.deny) $(status_of p2b) $(json p2b j.error)" \
	"200 400 access_denied"

# A link carrying a host's code, in a signed-in browser: treated as a wrong code.
start d3 -d "login_hint=$AUTHD_USER"
req v3 -b "$J" -c "$J" "$I/device?user_code=$(urlenc "$(json d3 j.user_code)")"
ok "a link with a host's code -> 400, the code form, no approval" \
	sh -c '[ "$1" = 400 ] && grep -q "name=\"user_code\"" "$2" && ! grep -q "value=\"approve\"" "$2"' - \
	"$(status_of v3)" "$T/v3.body"

# Without --host the ordinary flow is unchanged.
ctl client update web01 --no-host >"$T/nohost.out" 2>&1
start d4
ok "after client update --no-host: verification_uri_complete is given again" \
	has "$(json d4 j.verification_uri_complete)" "$I/device?user_code="
req v4 -b "$J" -c "$J" -H 'Accept-Language: en' "$I/device?user_code=$(urlenc "$(json d4 j.user_code)")"
ok "... and its link opens the ordinary approval page" \
	sh -c '[ "$1" = 200 ] && grep -q "Application: " "$2" && grep -q "value=\"approve\"" "$2" &&
		! grep -q "Account to be logged in" "$2"' - "$(status_of v4)" "$T/v4.body"
ctl client update web01 --host >"$T/host.out" 2>&1
ok "authctl client update --host marks it again" has "$(ctl client show web01 | tr -d ' \n')" '"host":true'

tap_end

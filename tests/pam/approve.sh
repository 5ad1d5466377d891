#!/bin/sh
# tests/pam/approve.sh USER_CODE USER PASSWORD — the person's side of the device
# flow for a host, with curl and a cookie jar, as a browser would do it: open
# /device, type the code into its form (GET /device?user_code=...&typed=..., the
# form's token bound to the form's cookie; it redirects to the login page), post
# the login form, then read the approval page and post it with action=approve.
# Needs AUTHD_ISSUER and AUTHD_CA. Prints what the approval page names (host,
# account, addresses, time) and "approved CODE" on success.
set -u
code=$1 user=$2 pw=$3
W=$(mktemp -d "${TMPDIR:-/tmp}/authd-approve.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
c() { curl -sS --max-time 20 --cacert "$AUTHD_CA" -b "$W/jar" -c "$W/jar" -H 'Accept-Language: en' "$@"; }
hidden() { # hidden FILE FIELD
	sed -n "s/.*<input type=\"hidden\" name=\"$2\" value=\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}
# fact FILE LABEL: the value after LABEL on the approval page
fact() { sed -n "s/.*<li>$2 *<strong>\([^<]*\)<\/strong>.*/\1/p" "$1" | head -n 1; }
c -o "$W/enter.html" "$AUTHD_ISSUER/device" || exit 1
typed=$(hidden "$W/enter.html" typed)
[ -n "$typed" ] || { echo "no code form at /device"; exit 1; }
c -L --max-redirs 5 -o "$W/login.html" "$AUTHD_ISSUER/device?user_code=$code&typed=$typed" || exit 1
tx=$(hidden "$W/login.html" tx)
csrf=$(hidden "$W/login.html" csrf)
[ -n "$tx" ] && [ -n "$csrf" ] || { echo "no login form after the code"; exit 1; }
# The 303 after the login leads back to /device?user_code=...&typed=..., the approval page.
c -L --max-redirs 5 -H "Origin: $AUTHD_ISSUER" --data-urlencode "tx=$tx" \
	--data-urlencode "csrf=$csrf" --data-urlencode "username=$user" \
	--data-urlencode "password=$pw" -o "$W/confirm.html" "$AUTHD_ISSUER/login" || exit 1
uc=$(hidden "$W/confirm.html" user_code)
csrf=$(hidden "$W/confirm.html" csrf)
typed=$(hidden "$W/confirm.html" typed)
[ -n "$uc" ] && [ -n "$csrf" ] && [ -n "$typed" ] || { echo "no approval form after the login"; exit 1; }
echo "host: $(fact "$W/confirm.html" 'Server:')"
echo "account: $(fact "$W/confirm.html" 'Account to be logged in:')"
echo "from: $(fact "$W/confirm.html" 'Request came from address:')"
echo "remote: $(fact "$W/confirm.html" 'Connection reported by the server from:')"
echo "time: $(fact "$W/confirm.html" 'Requested at:')"
st=$(c -H "Origin: $AUTHD_ISSUER" --data-urlencode "user_code=$uc" \
	--data-urlencode "csrf=$csrf" --data-urlencode "typed=$typed" --data-urlencode "action=approve" \
	-o "$W/done.html" -w '%{http_code}' "$AUTHD_ISSUER/device") || exit 1
[ "$st" = 200 ] || { echo "approve answered $st"; exit 1; }
echo "approved $uc"

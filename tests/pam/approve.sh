#!/bin/sh
# tests/pam/approve.sh USER_CODE USER PASSWORD — the person's side of the device
# flow, with curl and a cookie jar: GET /device?user_code=... (redirects to the
# login page), post the login form, then post the confirm form with
# action=approve. Needs AUTHD_ISSUER and AUTHD_CA. Prints "approved" on success.
set -u
code=$1 user=$2 pw=$3
W=$(mktemp -d "${TMPDIR:-/tmp}/authd-approve.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
c() { curl -sS --max-time 20 --cacert "$AUTHD_CA" -b "$W/jar" -c "$W/jar" "$@"; }
hidden() { # hidden FILE FIELD
	sed -n "s/.*<input type=\"hidden\" name=\"$2\" value=\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}
c -L --max-redirs 5 -o "$W/login.html" "$AUTHD_ISSUER/device?user_code=$code" || exit 1
tx=$(hidden "$W/login.html" tx)
csrf=$(hidden "$W/login.html" csrf)
[ -n "$tx" ] && [ -n "$csrf" ] || { echo "no login form at /device"; exit 1; }
# The 303 after the login leads back to /device?user_code=..., the confirm page.
c -L --max-redirs 5 -H "Origin: $AUTHD_ISSUER" --data-urlencode "tx=$tx" \
	--data-urlencode "csrf=$csrf" --data-urlencode "username=$user" \
	--data-urlencode "password=$pw" -o "$W/confirm.html" "$AUTHD_ISSUER/login" || exit 1
uc=$(hidden "$W/confirm.html" user_code)
csrf=$(hidden "$W/confirm.html" csrf)
[ -n "$uc" ] && [ -n "$csrf" ] || { echo "no confirm form after the login"; exit 1; }
st=$(c -H "Origin: $AUTHD_ISSUER" --data-urlencode "user_code=$uc" \
	--data-urlencode "csrf=$csrf" --data-urlencode "action=approve" \
	-o "$W/done.html" -w '%{http_code}' "$AUTHD_ISSUER/device") || exit 1
[ "$st" = 200 ] || { echo "approve answered $st"; exit 1; }
echo "approved $uc"

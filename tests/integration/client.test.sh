#!/bin/sh
# tests/integration/client.test.sh BUILD — libauthd-client against the real authd
# started by run.sh (AUTHD_ISSUER, AUTHD_CA, AUTHD_CONF, AUTHD_SVC[_SECRET] in the
# environment), driven through BUILD/examples/authd-cli (every command is one
# library call): discovery and its refusals, client_credentials then verification
# of that token, introspection active, revoked with curl, then inactive; the host
# login (password, then TOTP from oathtool, replay refused) and the device flow
# start/poll, and examples/protect-page serving a page only to a valid token.
# Prints TAP; exits non-zero on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
. "$here/lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/client-test.XXXXXX") || exit 1
ppid_=
on_exit '[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null; rm -rf "$T"'

: "${AUTHD_ISSUER:?run by tests/integration/run.sh}" "${AUTHD_CA:?}" "${AUTHD_CONF:?}"
: "${AUTHD_SVC:?}" "${AUTHD_SVC_SECRET:?}"

cli="$build/examples/authd-cli"
(cd "$root" && make --no-print-directory -s BUILD="$build" "$cli") >"$T/make.log" 2>&1 ||
	{ echo "Bail out! cannot build $cli: $(tail -n 3 "$T/make.log")"; exit 1; }
authd_bins
ctl() { "$AUTHCTL_BIN" -c "$AUTHD_CONF" "$@"; } # run.sh's instance

# Secrets go to the library through 0600 files, never the command line.
secret_file() { # secret_file NAME SECRET
	(umask 077 && printf '%s\n' "$2" >"$T/$1.secret")
	echo "$T/$1.secret"
}
svc_secret=$(secret_file svc "$AUTHD_SVC_SECRET")

# as CLIENT SECRETFILE NAME ARGS...: runs authd-cli; NAME.out, NAME.err, NAME.rc.
as() {
	cid=$1 sf=$2 name=$3
	shift 3
	AUTHD_CLIENT_ID=$cid AUTHD_SECRET_FILE=$sf AUTHD_TIMEOUT_MS=5000 \
		"$cli" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
	echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
out_of() { cat "$T/$1.out"; }
err_has() { grep -q -- "$2" "$T/$1.err"; }
out_has() { grep -q -- "$2" "$T/$1.out"; }

# ---- discovery ----------------------------------------------------------------
as "$AUTHD_SVC" "$svc_secret" disc discover
ok "discovery through the library" test "$(rc_of disc)" = 0
ok "discovery names the token endpoint" out_has disc "^token_endpoint $AUTHD_ISSUER/token$"
AUTHD_ISSUER="$AUTHD_ISSUER/" as "$AUTHD_SVC" "$svc_secret" disc2 discover
ok "an issuer that differs by a slash is refused" test "$(rc_of disc2)" = 1
ok "  ... as a protocol error" err_has disc2 "unexpected answer from authd"
env -u AUTHD_CA AUTHD_CLIENT_ID=x "$cli" discover >/dev/null 2>"$T/disc3.err"
echo $? >"$T/disc3.rc"
ok "without the dev CA the TLS certificate is not trusted" err_has disc3 "cannot be reached"
AUTHD_ISSUER="http://127.0.0.1:1" as "$AUTHD_SVC" "$svc_secret" disc4 discover
ok "nothing listening: unavailable, not a hang" err_has disc4 "cannot be reached"

# ---- client_credentials, then verification of that token ---------------------
as "$AUTHD_SVC" "$svc_secret" cc token
ok "client_credentials through the library" test "$(rc_of cc)" = 0
AT=$(out_of cc)
ok "  ... gives a compact JWS" sh -c 'printf "%s" "$1" | grep -qE "^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"' _ "$AT"
as "$AUTHD_SVC" "$svc_secret" ver verify "$AT" "$AUTHD_SVC"
ok "the library verifies authd's access token (JWKS over TLS)" test "$(rc_of ver)" = 0
ok "  ... and returns its claims" out_has ver "\"iss\":\"$AUTHD_ISSUER\""
as "$AUTHD_SVC" "$svc_secret" ver2 verify "$AT" some-other-api
ok "the same token for another audience is refused" err_has ver2 "wrong token audience"
bad=$(printf '%s' "$AT" | sed 's/\.\(.\)/.A\1/2')
as "$AUTHD_SVC" "$svc_secret" ver3 verify "$bad" "$AUTHD_SVC"
ok "a tampered token is refused" test "$(rc_of ver3)" = 1
as "$AUTHD_SVC" "$svc_secret" cc4 token openid
ok "client_credentials with scope openid (no user) is refused" test "$(rc_of cc4)" = 1
wrong=$(secret_file wrong "not-the-secret")
as "$AUTHD_SVC" "$wrong" cc2 token
ok "a wrong client secret is refused as client authentication" err_has cc2 "client authentication refused"
chmod 0644 "$svc_secret"
as "$AUTHD_SVC" "$svc_secret" cc3 token
ok "a secret file others can read is refused before any request" err_has cc3 "not configured"
chmod 0600 "$svc_secret"

# ---- introspection: active, revoked with curl, inactive ------------------------
as "$AUTHD_SVC" "$svc_secret" in1 introspect "$AT"
ok "introspection: active" test "$(rc_of in1)" = 0
ok "  ... with the token's subject" out_has in1 '"active":true'
req revoke -u "$AUTHD_SVC:$AUTHD_SVC_SECRET" --data-urlencode "token=$AT" "$AUTHD_ISSUER/revoke"
ok "revocation with curl answers 200" test "$(status_of revoke)" = 200
as "$AUTHD_SVC" "$svc_secret" in2 introspect "$AT"
ok "introspection after revocation: inactive" test "$(rc_of in2)" = 3

# ---- examples/protect-page: a page served only with a valid bearer token ------
page="$build/examples/protect-page"
(cd "$root" && make --no-print-directory -s BUILD="$build" "$page") >"$T/make2.log" 2>&1
for attempt in 1 2 3; do
	pport=$(authd_free_port)
	"$page" "$AUTHD_ISSUER" "$AUTHD_SVC" "$pport" "$AUTHD_CA" >"$T/page.out" 2>"$T/page.err" &
	ppid_=$!
	i=0
	while [ $i -lt 50 ] && ! grep -q '^protect-page:' "$T/page.out" 2>/dev/null; do
		kill -0 "$ppid_" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^protect-page:' "$T/page.out" && break
	kill "$ppid_" 2>/dev/null
	wait "$ppid_" 2>/dev/null
	ppid_=
done
ok "protect-page starts against authd" test -n "$ppid_"
as "$AUTHD_SVC" "$svc_secret" cc5 token
page_get() { # page_get NAME [TOKEN]
	if [ -n "${2:-}" ]; then
		curl -s --max-time 5 -o "$T/$1.body" -w '%{http_code}' -H "Authorization: Bearer $2" \
			"http://127.0.0.1:$pport/private" >"$T/$1.status"
	else
		curl -s --max-time 5 -o "$T/$1.body" -w '%{http_code}' \
			"http://127.0.0.1:$pport/private" >"$T/$1.status"
	fi
}
page_get p1
ok "protect-page: no token, 401" test "$(cat "$T/p1.status")" = 401
page_get p2 "$(out_of cc5)"
ok "protect-page: authd's token for its audience, 200" test "$(cat "$T/p2.status")" = 200
page_get p3 "$(out_of cc5 | sed 's/\.\(.\)/.A\1/2')"
ok "protect-page: a tampered token, 401" test "$(cat "$T/p3.status")" = 401
if [ -n "$ppid_" ]; then
	kill "$ppid_" 2>/dev/null
	wait "$ppid_" 2>/dev/null
	ppid_=
fi

# ---- host login (password, then OTP) -------------------------------------------
if grep -q 'mfa-otp' "$root/authd/oidc/oidc.h" "$root/authd/oidc/token.c" 2>/dev/null; then
	hostpw=$(openssl rand 18 | openssl base64 -A | tr '+/' 'xy')
	printf '%s\n' "$hostpw" | ctl user add hostuser --password-stdin --email hostuser@city.example \
		--display-name "Host User" >"$T/u.log" 2>&1
	ok "authctl adds a user for the host login" test $? -eq 0
	addhost() { # addhost ID MIN_AAL: a confidential host client; prints its secret
		ctl client add "$1" --grant password --scope openid --min-aal "$2" \
			--auth-method client_secret_basic >"$T/$1.out" 2>"$T/$1.err" &&
			sed -n 's/^client_secret: *//p' "$T/$1.out"
	}
	h1=$(addhost host-aal1 1)
	h2=$(addhost host-aal2 2)
	ok "authctl adds two host clients (min_aal 1 and 2)" test -n "$h1" -a -n "$h2"
	h1f=$(secret_file h1 "$h1")
	h2f=$(secret_file h2 "$h2")
	login() { # login NAME CLIENT SECRETFILE USER LINES...
		n=$1 cid=$2 sf=$3 u=$4
		shift 4
		printf '%s\n' "$@" | AUTHD_CLIENT_ID=$cid AUTHD_SECRET_FILE=$sf \
			"$cli" login "$u" openid >"$T/$n.out" 2>"$T/$n.err"
		echo $? >"$T/$n.rc"
	}
	login l1 host-aal1 "$h1f" hostuser "$hostpw"
	ok "host login with the right password" test "$(rc_of l1)" = 0
	ok "  ... returns verified claims for this host" out_has l1 '"aud":"host-aal1"'
	login l2 host-aal1 "$h1f" hostuser "wrong-password"
	ok "host login with a wrong password: denied" err_has l2 "access denied"
	login l3 host-aal1 "$h1f" nobody-here "$hostpw"
	ok "host login of an unknown user: the same answer" err_has l3 "access denied"
	# Per-account throttling ([throttle] account_max_failures = 5 in run.sh).
	printf '%s\n' "$hostpw" | ctl user add hostuser2 --password-stdin --email hostuser2@city.example \
		--display-name "Host User 2" >"$T/u2.log" 2>&1
	i=0
	while [ $i -lt 8 ]; do
		login lt host-aal1 "$h1f" hostuser2 "wrong-$i"
		err_has lt "too many attempts" && break
		i=$((i + 1))
	done
	ok "repeated wrong passwords: throttled" err_has lt "too many attempts"
	ok "  ... with authd's Retry-After" grep -q "retry after [1-9][0-9]* s" "$T/lt.err"
	login lt2 host-aal1 "$h1f" hostuser2 "$hostpw"
	ok "  ... and the right password is throttled too while locked" err_has lt2 "too many attempts"
	login l4 host-aal2 "$h2f" hostuser "$hostpw"
	ok "an AAL2 host and a password-only account: unmet" err_has l4 "requirements cannot be met"
	if command -v oathtool >/dev/null 2>&1; then
		rm -f "$T/code-in"
		mkfifo "$T/code-in"
		ctl totp enrol hostuser --code-stdin <"$T/code-in" >"$T/enrol.out" 2>"$T/enrol.err" &
		epid=$!
		exec 3>"$T/code-in"
		i=0
		while [ $i -lt 100 ] && ! grep -q '^otpauth://' "$T/enrol.out" 2>/dev/null; do
			sleep 0.05
			i=$((i + 1))
		done
		sec=$(sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enrol.out")
		[ -n "$sec" ] && oathtool --totp -b "$sec" >&3
		exec 3>&-
		wait "$epid"
		ok "TOTP enrolled for the host user (code from oathtool)" test $? -eq 0
		# The enrolment used this period's code; the login uses the next one,
		# which the verification window accepts.
		next=$(oathtool --totp -b "$sec" -N "now + 30 seconds")
		login l5 host-aal2 "$h2f" hostuser "$hostpw" 000000
		ok "password then a wrong code: denied" err_has l5 "access denied"
		ok "  ... after authd asked for a code" err_has l5 "one-time code required"
		login l6 host-aal2 "$h2f" hostuser "$hostpw" "$next"
		ok "password then the right code: logged in" test "$(rc_of l6)" = 0
		ok "  ... claims show two factors" out_has l6 '"amr":\[[^]]*"otp"'
		login l7 host-aal2 "$h2f" hostuser "$hostpw" "$next"
		ok "the same code again (replay): denied" err_has l7 "access denied"
	else
		diag "oathtool not installed: OTP host login not tested here"
	fi
else
	diag "authd has no host login yet: not tested here"
fi

# ---- device flow: start and one poll -------------------------------------------
if grep -q '"/device_authorization"' "$root/authd/routes.c" 2>/dev/null; then
	ctl client add tv-app --public --grant urn:ietf:params:oauth:grant-type:device_code \
		--scope openid >"$T/tv.out" 2>"$T/tv.err"
	ok "authctl adds a public device client" test $? -eq 0
	AUTHD_CLIENT_ID=tv-app "$cli" device openid >"$T/dev.out" 2>"$T/dev.err"
	ok "device authorization through the library gives a user code" \
		grep -q '^user_code [A-Z0-9-]\{6,\}$' "$T/dev.out"
	ok "  ... and the verification page" grep -q "^verification_uri $AUTHD_ISSUER/device$" "$T/dev.out"
	ok "  ... and the first poll is pending" grep -q "authorization pending" "$T/dev.err"
else
	diag "authd has no device authorization endpoint yet: not tested here"
fi

tap_end

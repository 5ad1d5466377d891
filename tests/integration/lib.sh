# tests/integration/lib.sh — helpers shared by the shell integration tests: TAP
# output, one curl wrapper that records status, headers and body, PKCE values,
# and the browser login (authorize -> login form -> code) with a cookie jar.
# Sourced, not run. Expects AUTHD_ISSUER and AUTHD_CA in the environment and
# T (a scratch folder) set by the caller.

tap_n=0
tap_failed=0

# ok DESCRIPTION COMMAND...: one TAP line; the command decides.
ok() {
	desc=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@"; then
		echo "ok $tap_n - $desc"
	else
		echo "not ok $tap_n - $desc"
		tap_failed=$((tap_failed + 1))
	fi
}

# diag MESSAGE: a TAP comment, for the reader of a failure.
diag() {
	echo "# $*"
}

tap_end() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# eq GOT WANT, has TEXT PART, hasnt TEXT PART: assertions for ok that say
# in a TAP comment what they saw when they fail.
eq() { [ "$1" = "$2" ] || { diag "expected '$2', got '$1'"; return 1; }; }
has() { case "$1" in *"$2"*) return 0 ;; esac; diag "'$2' not in '$(printf '%.300s' "$1")'"; return 1; }
hasnt() { case "$1" in *"$2"*) diag "'$2' found"; return 1 ;; esac; return 0; }

# req NAME CURL-ARGS...: one request; keeps $T/NAME.status, .headers, .body.
# Never follows redirects, so every Location can be checked.
req() {
	name=$1
	shift
	curl -sS --max-time 20 --cacert "$AUTHD_CA" -o "$T/$name.body" \
		-D "$T/$name.headers" -w '%{http_code}' "$@" >"$T/$name.status" \
		2>"$T/$name.err" || echo 000 >"$T/$name.status"
}

status_of() { cat "$T/$1.status"; }
body_of() { cat "$T/$1.body"; }

# header NAME HEADER: the value of one response header (last one if repeated).
header() {
	tr -d '\r' <"$T/$1.headers" | sed -n "s/^$2: *//Ip" | tail -n 1
}

has_header() {
	tr -d '\r' <"$T/$1.headers" | grep -qi "^$2:"
}

# set_cookie_names NAME: the cookie names the response set, one per line.
set_cookie_names() {
	tr -d '\r' <"$T/$1.headers" | sed -n 's/^set-cookie: *\([^=]*\)=.*/\1/Ip'
}

# query_param URL NAME: one parameter of a URL's query, still %-encoded.
query_param() {
	printf '%s\n' "$1" | sed -n 's/^[^?]*?//p' | tr '&' '\n' |
		sed -n "s/^$2=//p" | head -n 1
}

# json NAME EXPR: evaluates a JS expression on the parsed JSON body (as "j").
json() {
	node -e '
		const fs = require("fs");
		let j;
		try { j = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); }
		catch (e) { console.log("<not json>"); process.exit(0); }
		const v = eval(process.argv[2]);
		console.log(typeof v === "object" ? JSON.stringify(v) : String(v));
	' "$T/$1.body" "$2"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# pkce: sets VERIFIER (43 chars of base64url) and CHALLENGE (S256 of it).
pkce() {
	VERIFIER=$(openssl rand 32 | b64url)
	CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
}

rand_token() { openssl rand 12 | b64url; }

# hidden_field NAME FIELD: value of <input type="hidden" name="FIELD" value="...">.
hidden_field() {
	sed -n "s/.*<input type=\"hidden\" name=\"$2\" value=\"\([^\"]*\)\".*/\1/p" \
		"$T/$1.body" | head -n 1
}

# authorize NAME JAR CLIENT REDIRECT [EXTRA-QUERY]: GET /authorize with a fresh
# PKCE pair, state and nonce (kept in VERIFIER, STATE, NONCE).
authorize() {
	pkce
	STATE=$(rand_token)
	NONCE=$(rand_token)
	req "$1" -b "$2" -c "$2" \
		"$AUTHD_ISSUER/authorize?response_type=code&client_id=$3&redirect_uri=$(urlenc "$4")&scope=openid%20profile%20email%20offline_access&state=$STATE&nonce=$NONCE&code_challenge=$CHALLENGE&code_challenge_method=S256${5:-}"
}

urldec() {
	node -e 'process.stdout.write(decodeURIComponent(process.argv[1]))' "$1"
}

urlenc() {
	node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"
}

# login_page NAME JAR: follows the /authorize 303 to the login page (NAME.page).
login_page() {
	loc=$(header "$1" location)
	case "$loc" in
	/*) loc="$AUTHD_ISSUER$loc" ;;
	esac
	req "$1.page" -b "$2" -c "$2" "$loc"
}

# post_login NAME JAR PAGE USER PASSWORD [CSRF]: posts the form read from PAGE.
post_login() {
	csrf=${6-$(hidden_field "$3" csrf)}
	req "$1" -b "$2" -c "$2" -H "Origin: $AUTHD_ISSUER" \
		--data-urlencode "tx=$(hidden_field "$3" tx)" \
		--data-urlencode "csrf=$csrf" \
		--data-urlencode "username=$4" --data-urlencode "password=$5" \
		"$AUTHD_ISSUER/login"
}

# code_flow NAME JAR CLIENT REDIRECT USER PASSWORD: the whole browser login;
# sets CODE (empty on failure) and leaves NAME.* for inspection.
code_flow() {
	CODE=
	authorize "$1.az" "$2" "$3" "$4"
	[ "$(status_of "$1.az")" = 303 ] || { diag "$1: authorize gave $(status_of "$1.az")"; return 1; }
	case "$(header "$1.az" location)" in
	"$4?"*) diag "$1: the session answered without a login page"; return 1 ;;
	esac
	login_page "$1.az" "$2"
	[ "$(status_of "$1.az.page")" = 200 ] || { diag "$1: login page gave $(status_of "$1.az.page")"; return 1; }
	post_login "$1" "$2" "$1.az.page" "$5" "$6"
	[ "$(status_of "$1")" = 303 ] || { diag "$1: login gave $(status_of "$1")"; return 1; }
	CODE=$(query_param "$(header "$1" location)" code)
	[ -n "$CODE" ]
}

# token NAME CLIENT SECRET FORM-ARGS...: POST /token with HTTP Basic client auth.
token() {
	name=$1 cid=$2 sec=$3
	shift 3
	req "$name" -u "$cid:$sec" "$@" "$AUTHD_ISSUER/token"
}

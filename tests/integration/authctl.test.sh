#!/bin/sh
# tests/integration/authctl.test.sh BUILD — the admin CLI end to end on a store of
# its own: every command, its refusals (exit 1) and usage errors (exit 2), the
# import of the city's 115 applications, TOTP enrolment (codes from oathtool) and
# help-desk reset, key rotation and the audit chain.
# When run by run.sh (AUTHD_CONF, AUTHD_ISSUER, AUTHD_CA set), it also rotates the
# running daemon's keys and checks the daemon publishes them without a restart.
# Prints TAP; exits non-zero on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
authd_bins
authctl=$AUTHCTL_BIN
city=${AUTHD_CITY_APPS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data/city-apps.json}

T=$(mktemp -d "${TMPDIR:-/tmp}/authctl-test.XXXXXX") || exit 1
on_exit 'rm -rf "$T"'

n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[ -s "$T/err" ] && sed 's/^/#   /' "$T/err" | head -n 5
	return 0
}
check() { # check DESCRIPTION COMMAND...
	desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

cat >"$T/authd.conf" <<EOF
[server]
issuer = https://127.0.0.1:1

[store]
path = $T/data
nosync = 1

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt
EOF

# run WANT-EXIT DESCRIPTION ARGS...: runs authctl with no input; out/err kept.
run() {
	want=$1; desc=$2; shift 2
	"$authctl" -c "$T/authd.conf" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass "$desc"; else fail "$desc (exit $rc, wanted $want)"; fi
}
# runpw WANT-EXIT DESCRIPTION PASSWORD ARGS...: the password on stdin.
runpw() {
	want=$1; desc=$2; pw=$3; shift 3
	printf '%s\n' "$pw" | "$authctl" -c "$T/authd.conf" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass "$desc"; else fail "$desc (exit $rc, wanted $want)"; fi
}
out_has() { grep -q -- "$1" "$T/out"; }
err_has() { grep -q -- "$1" "$T/err"; }
out_lacks() { ! grep -q -- "$1" "$T/out"; }
lines() { wc -l <"$1" | tr -d ' '; }
mode_of() { stat -c '%a' "$1"; }

if [ ! -x "$authctl" ]; then
	echo "Bail out! authctl is missing from $build and $build/bin (make BUILD=$build all)"
	exit 1
fi

# ---- general usage -----------------------------------------------------
"$authctl" --version >"$T/out" 2>"$T/err"
check "--version exits 0 and names the program" test $? -eq 0 -a -n "$(grep '^authctl ' "$T/out")"
"$authctl" --help >"$T/out" 2>"$T/err"
check "--help exits 0 and lists the commands" test $? -eq 0 -a -n "$(grep 'client add' "$T/out")"
run 0 "user --help exits 0" user --help
check "user --help prints the user usage" out_has "user passwd NAME"
run 0 "client add --help exits 0" client add --help
run 2 "no command is a usage error" 
run 2 "an unknown command is a usage error" frobnicate
run 2 "an unknown global option is a usage error" --frob user list
run 2 "-c without a file is a usage error" -c
run 2 "an unknown user action is a usage error" user frob
run 1 "a command before init is refused (no store)" user list
check "the refusal says how to initialise" err_has "init"

# ---- init ----------------------------------------------------------------
run 0 "init creates the store" init
check "the store folder is 0700" test "$(mode_of "$T/data")" = 700
check "the LMDB file is 0600" test "$(mode_of "$T/data/data.mdb")" = 600
run 0 "key list after init" key list
cp "$T/out" "$T/keys-1"
check "the ring holds 6 keys" test "$(lines "$T/keys-1")" -eq 6
check "3 current keys" test "$(grep -c '"state":"current"' "$T/keys-1")" -eq 3
check "3 next keys" test "$(grep -c '"state":"next"' "$T/keys-1")" -eq 3
check "kids carry the alg family" test "$(grep -c '"kid":"es-' "$T/keys-1")" -eq 2 -a \
	"$(grep -c '"kid":"rs-' "$T/keys-1")" -eq 2 -a "$(grep -c '"kid":"ed-' "$T/keys-1")" -eq 2
check "key list shows no private key" test "$(grep -c 'PRIVATE\|"pem"' "$T/keys-1")" -eq 0
run 0 "init again is fine (idempotent)" init
"$authctl" -c "$T/authd.conf" key list >"$T/keys-2" 2>/dev/null
check "a second init keeps the same ring" cmp -s "$T/keys-1" "$T/keys-2"
run 2 "init with an argument is a usage error" init now
check "init created the TOTP key file 0600 beside the config" test "$(mode_of "$T/totp.key")" = 600
check "the TOTP key file holds 64 hex characters" grep -qx '[0-9a-f]\{64\}' "$T/totp.key"

# ---- users ---------------------------------------------------------------
PW='Correct-Horse-Battery-9'
runpw 0 "user add" "$PW" user add alice --email alice@city.example \
	--display-name "陳愛麗 Alice" --password-stdin
check "user add prints the new id" out_has '"id":"[0-9a-f]\{32\}"'
runpw 1 "a duplicate user is refused" "$PW" user add alice --password-stdin
check "the refusal says the user exists" err_has "exists"
runpw 1 "a duplicate differing in case is refused" "$PW" user add ALICE --password-stdin
runpw 1 "a common password is refused" "password123" user add bob --password-stdin
check "the refusal explains the rule" err_has "common"
runpw 1 "a short password is refused" "abc" user add bob --password-stdin
runpw 1 "the username as password is refused" "bob.the.builder" user add bob.the.builder --password-stdin
runpw 1 "an empty password is refused" "" user add bob --password-stdin
head -c 5000 /dev/zero | tr '\0' 'x' >"$T/long"
"$authctl" -c "$T/authd.conf" user add bob --password-stdin <"$T/long" >"$T/out" 2>"$T/err"
check "a password over 4096 bytes is refused" test $? -eq 1
runpw 1 "a bad username is refused" "$PW" user add "bad name" --password-stdin
run 2 "user add without --password-stdin is a usage error" user add bob
run 2 "user add with an unknown option is a usage error" user add bob --frob --password-stdin
run 2 "user add without a name is a usage error" user add --password-stdin
printf 'Bob-Builds-Bridges-4\r\n' | "$authctl" -c "$T/authd.conf" user add bob --password-stdin \
	>"$T/out" 2>"$T/err"
check "user add takes a CRLF-terminated line" test $? -eq 0
run 0 "user list" user list
check "user list has two users" test "$(lines "$T/out")" -eq 2
check "user list shows alice with her display name" out_has '"display_name":"陳愛麗 Alice"'
check "user list shows no credential material" out_lacks 'argon2\|hash\|Correct-Horse'
run 0 "user show" user show alice
check "user show has every documented field" out_has '"id".*"username":"alice".*"display_name".*"email":"alice@city.example".*"disabled":false.*"created":'
run 1 "user show of an unknown user is refused" user show nobody
run 2 "user show without a name is a usage error" user show
run 0 "user disable" user disable alice
run 0 "user show after disable" user show alice
check "alice is disabled" out_has '"disabled":true'
run 0 "user disable twice is fine" user disable alice
run 0 "user enable" user enable alice
"$authctl" -c "$T/authd.conf" user show alice >"$T/out" 2>/dev/null
check "alice is enabled again" out_has '"disabled":false'
run 1 "user disable of an unknown user is refused" user disable nobody
# groups: the "groups" claim that pam_authd's account step checks.
run 0 "user groups sets the list" user groups alice ops web-admins
run 0 "user show after user groups" user show alice
check "user show prints the groups" out_has '"groups":\["ops","web-admins"\]'
run 0 "user groups with no G clears the list" user groups alice
"$authctl" -c "$T/authd.conf" user show alice >"$T/out" 2>/dev/null
check "the cleared list shows as []" out_has '"groups":\[\]'
run 1 "a group name with a space is refused" user groups alice "two words"
run 1 "a group name with a slash is refused" user groups alice ops/admin
run 1 "a duplicate group is refused" user groups alice ops ops
run 1 "a group name over 64 characters is refused" user groups alice \
	"$(printf 'g%.0s' $(seq 65))"
"$authctl" -c "$T/authd.conf" user show alice >"$T/out" 2>/dev/null
check "a refused list leaves the groups unchanged" out_has '"groups":\[\]'
run 1 "user groups of an unknown user is refused" user groups nobody ops
run 2 "user groups without a name is a usage error" user groups
runpw 0 "user add --group" 'Dave-Drives-Diesel-7' user add dave --group ops --group=db \
	--password-stdin
run 0 "user show of a user added with groups" user show dave
check "user add stored the groups in order" out_has '"groups":\["ops","db"\]'
runpw 1 "user add with a bad --group is refused" 'Erin-Eats-Eclairs-8' user add erin \
	--group 'bad!' --password-stdin
run 1 "a refused --group creates no user" user show erin
run 2 "user add --group without a value is a usage error" user add erin --password-stdin --group
runpw 0 "user passwd" 'Another-Long-Passphrase-5' user passwd alice --password-stdin
runpw 1 "user passwd with a common password is refused" "password123" user passwd alice --password-stdin
runpw 1 "user passwd of an unknown user is refused" 'Another-Long-Passphrase-5' user passwd nobody --password-stdin
run 2 "user passwd without --password-stdin is a usage error" user passwd alice
run 0 "user add --no-password (a card-only citizen)" user add gina --display-name '周六' --no-password
check "user add --no-password prints the new id" out_has '"id":"[0-9a-f]\{32\}"'
run 0 "user show of the card-only account" user show gina
check "... which exists, enabled" out_has '"username":"gina".*"disabled":false'
runpw 2 "user add with both --no-password and --password-stdin is a usage error" 'Hank-Has-Hats-9' \
	user add hank --no-password --password-stdin
run 1 "... and made no account" user show hank
run 2 "user passwd --no-password is a usage error (passwd sets one)" user passwd gina --no-password
check "no password is stored in clear" test "$(grep -c 'Correct-Horse\|Another-Long-Passphrase' "$T/data/data.mdb")" -eq 0

# ---- clients ---------------------------------------------------------------
run 0 "client add" client add web --redirect-uri https://web.city.example/cb \
	--post-logout-redirect-uri https://web.city.example/ --name "市政網站" --name-en "City web" --min-aal 2
check "client add prints the secret once" test "$(grep -c '^client_secret: ' "$T/out")" -eq 1
secret=$(sed -n 's/^client_secret: //p' "$T/out")
check "the secret is 43 characters of base64url" test "$(printf '%s' "$secret" | tr -cd 'A-Za-z0-9_-' | wc -c)" -eq 43 -a ${#secret} -eq 43
check "client add prints nothing else on stdout" test "$(lines "$T/out")" -eq 1
run 1 "a duplicate client is refused" client add web --redirect-uri https://web.city.example/cb
run 1 "a plain-http redirect URI is refused" client add evil --redirect-uri http://evil.example/cb
run 1 "a redirect URI with a fragment is refused" client add evil --redirect-uri 'https://evil.example/cb#x'
run 1 "a code client without a redirect URI is refused" client add evil
run 1 "an unknown grant is refused" client add evil --redirect-uri https://e.example/cb --grant implicit
run 2 "--min-aal 4 is a usage error" client add evil --redirect-uri https://e.example/cb --min-aal 4
run 2 "client add without an ID is a usage error" client add --redirect-uri https://e.example/cb
run 2 "--public with a secret method is a usage error" client add evil --public --auth-method client_secret_basic --redirect-uri https://e.example/cb
run 2 "--redirect-uri without a value is a usage error" client add evil --redirect-uri
run 0 "client add --public" client add spa --public --redirect-uri http://127.0.0.1:5173/cb
check "a public client gets no secret" out_lacks 'client_secret'
run 1 "a public client cannot be let off PKCE" client add spa2 --public --no-require-pkce --redirect-uri http://127.0.0.1:5173/cb
check "the refusal says why" err_has 'a public client must use PKCE'
run 1 "nor an existing public client" client update spa --no-require-pkce
"$authctl" -c "$T/authd.conf" client show spa >"$T/out" 2>/dev/null
check "the public client still requires PKCE" out_lacks 'require_pkce'
run 0 "a confidential client may be let off PKCE" client add oldapp --no-require-pkce --redirect-uri https://old.city.example/cb
"$authctl" -c "$T/authd.conf" client show oldapp >"$T/out" 2>/dev/null
check "client show says require_pkce false" out_has '"require_pkce":false'
check "the default method is client_secret (Basic or form)" out_has '"token_endpoint_auth_method":"client_secret"'
run 0 "client show" client show web
check "client show has the settings" out_has '"min_aal":2.*' 
check "client show has the defaults" out_has '"grant_types":\["authorization_code","refresh_token"\]'
check "client show never shows the hash" out_lacks 'secret_hash'
check "client show never shows the secret" out_lacks "$secret"
run 1 "client show of an unknown client is refused" client show nope
run 0 "client update" client update web --scope openid --scope profile --audience staff
"$authctl" -c "$T/authd.conf" client show web >"$T/out" 2>/dev/null
check "client update replaced the scopes" out_has '"scopes":\["openid","profile"\]'
check "client update kept the redirect URIs" out_has '"redirect_uris":\["https://web.city.example/cb"\]'
run 2 "client update with nothing to change is a usage error" client update web
run 1 "client update of an unknown client is refused" client update nope --scope openid
run 1 "client update to an invalid record is refused" client update web --redirect-uri http://evil.example/
run 0 "client update of a public client to a confidential one" client update spa --auth-method client_secret_basic
check "it prints the new client's secret" test "$(grep -c '^client_secret: ' "$T/out")" -eq 1
run 1 "private_key_jwt without keys is refused" client add pkj --redirect-uri https://p.example/cb --auth-method private_key_jwt
# An Ed25519 public JWK made with openssl: the public key is the last 32 bytes
# of its DER SubjectPublicKeyInfo.
if openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null; then
	x=$(openssl pkey -in "$T/ed.pem" -pubout -outform DER | tail -c 32 | basenc --base64url | tr -d '=\n')
	printf '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"%s","kid":"k1","use":"sig"}]}\n' "$x" >"$T/jwks.json"
	run 0 "client add with private_key_jwt and a public JWKS" client add pkj \
		--redirect-uri https://p.example/cb --auth-method private_key_jwt --jwks-file "$T/jwks.json"
	check "a private_key_jwt client gets no secret" out_lacks 'client_secret'
	d=$(openssl pkey -in "$T/ed.pem" -outform DER | tail -c 32 | basenc --base64url | tr -d '=\n')
	printf '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"%s","d":"%s"}]}\n' "$x" "$d" >"$T/jwks-priv.json"
	run 1 "a JWKS holding a private key is refused" client add pkj2 \
		--redirect-uri https://p.example/cb --auth-method private_key_jwt --jwks-file "$T/jwks-priv.json"
fi
run 1 "a missing --jwks-file is refused" client add pkj3 --redirect-uri https://p.example/cb \
	--auth-method private_key_jwt --jwks-file "$T/nope.json"
run 0 "client list" client list
check "client list shows every client" test "$(lines "$T/out")" -ge 3
check "client list never shows a hash" out_lacks 'secret_hash'
run 0 "client remove" client remove spa
run 1 "a removed client is gone" client show spa
run 1 "removing it again is refused" client remove spa
run 2 "client remove without an ID is a usage error" client remove
check "the client secret is not stored in clear" test "$(grep -c -- "$secret" "$T/data/data.mdb")" -eq 0

# ---- import ----------------------------------------------------------------
if [ -f "$city" ]; then
	run 0 "client import of the city's applications" client import "$city" --secrets-out "$T/secrets-1"
	check "summary: 115 new, 0 updated" err_has 'imported 115 new, 0 updated'
	check "the secrets file is 0600" test "$(mode_of "$T/secrets-1")" = 600
	check "the secrets file has 115 lines" test "$(lines "$T/secrets-1")" -eq 115
	check "every secret is 43 characters" test "$(awk -F'\t' 'length($2) != 43' "$T/secrets-1" | wc -l)" -eq 0
	check "nothing secret on stdout with --secrets-out" test ! -s "$T/out"
	cp "$T/data/data.mdb" "$T/before-reimport"
	run 0 "client import again" client import "$city"
	check "summary: 0 new, 115 updated" err_has 'imported 0 new, 115 updated'
	check "a re-import prints no secrets" test ! -s "$T/out"
	run 1 "an existing secrets file is not overwritten" client import "$city" --secrets-out "$T/secrets-1"
	check "the earlier secrets file is intact" test "$(lines "$T/secrets-1")" -eq 115
	run 0 "an imported client is visible" client show rdec-1999
	check "it kept its names" out_has '"name_en":"Research, Development'
fi
# One bad entry among good ones: nothing is written.
cat >"$T/bad.json" <<'EOF'
{"clients": [
 {"client_id": "good-new", "name": "Good", "redirect_uris": ["https://good.example/cb"]},
 {"client_id": "bad-new", "name": "Bad", "redirect_uris": ["http://bad.example/cb"]}
]}
EOF
run 1 "an import with an invalid entry is refused" client import "$T/bad.json"
check "the refusal names the entry" err_has 'bad-new'
run 1 "the valid entry of a refused import was not written" client show good-new
printf '{"clients":[{"client_id":"x","redirect_uris":["https://x.example/cb"],"secret_hash":"00"}]}' >"$T/bad2.json"
run 1 "an import carrying a secret hash is refused" client import "$T/bad2.json"
printf '{"clients":[{"client_id":"x","redirect_uris":["https://x.example/cb"]},{"client_id":"x","redirect_uris":["https://x.example/cb"]}]}' >"$T/bad3.json"
run 1 "an import with a duplicate client_id is refused" client import "$T/bad3.json"
printf 'not json' >"$T/bad4.json"
run 1 "an import of non-JSON is refused" client import "$T/bad4.json"
run 2 "client import without a file is a usage error" client import
cat >"$T/two.json" <<'EOF'
{"clients": [
 {"client_id": "two-a", "name": "Two A", "redirect_uris": ["https://a.example/cb"]},
 {"client_id": "two-b", "name": "Two B", "redirect_uris": ["https://b.example/cb"],
  "token_endpoint_auth_method": "none"}
]}
EOF
run 0 "client import without --secrets-out" client import "$T/two.json"
check "new secrets go to stdout as client_id<TAB>secret" test "$(grep -c "^two-a	[A-Za-z0-9_-]\{43\}\$" "$T/out")" -eq 1
check "a public client in an import gets no secret" test "$(lines "$T/out")" -eq 1
printf '{"clients":[{"client_id":"two-a","name":"Two A","redirect_uris":["https://a.example/cb"],"disabled":true}]}' >"$T/off.json"
run 0 "an import may disable a client" client import "$T/off.json"
run 0 "client import of the original file again" client import "$T/two.json"
"$authctl" -c "$T/authd.conf" client show two-a >"$T/out" 2>/dev/null
check "two-a is still disabled" out_has '"disabled":true'

# ---- totp ------------------------------------------------------------------
# enrol NAME: starts authctl with its stdin on a fifo, waits for the URI, feeds
# the code oathtool computes from the URI's secret (or CODE when given).
totp_enrol() { # totp_enrol NAME [CODE]
	rm -f "$T/code-in" "$T/out"
	mkfifo "$T/code-in"
	"$authctl" -c "$T/authd.conf" totp enrol "$1" --code-stdin <"$T/code-in" >"$T/out" 2>"$T/err" &
	pid=$!
	exec 3>"$T/code-in"
	i=0
	while [ $i -lt 100 ] && ! grep -q '^otpauth://' "$T/out" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	totp_secret=$(sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/out")
	if [ -n "${2:-}" ]; then
		printf '%s\n' "$2" >&3
	elif [ -n "$totp_secret" ]; then
		oathtool --totp -b "$totp_secret" >&3
	fi
	exec 3>&-
	wait "$pid"
}
if command -v oathtool >/dev/null 2>&1; then
	run 0 "totp status of a user without TOTP" totp status alice
	check "status says none" out_has '"totp":"none"'
	totp_enrol alice 000000
	check "totp enrol with a wrong code is refused" test $? -eq 1
	check "the refusal says the code was not valid" err_has "code refused"
	run 0 "totp status after a refused code" totp status alice
	check "a refused code leaves the enrolment pending" out_has '"totp":"pending"'
	totp_enrol alice 12ab56
	check "totp enrol with a non-numeric code is refused" test $? -eq 1
	totp_enrol alice
	check "totp enrol with the code from oathtool exits 0" test $? -eq 0
	check "enrol printed an otpauth URI with issuer and SHA1/6/30" \
		out_has '^otpauth://totp/City%20SSO:alice?secret=[A-Z2-7]\{32\}&issuer=City%20SSO&algorithm=SHA1&digits=6&period=30$'
	check "enrol printed a terminal QR code" out_has '█'
	check "enrol printed ten recovery codes" \
		test "$(grep -c '^[2-9A-HJKMNP-Z]\{4\}-[2-9A-HJKMNP-Z]\{4\}-[2-9A-HJKMNP-Z]\{4\}$' "$T/out")" -eq 10
	run 0 "totp status after enrolment" totp status alice
	check "status says active with 10 recovery codes" out_has '"totp":"active","recovery_codes_left":10'
	check "status shows no secret" out_lacks "$totp_secret"
	enrolled_secret=$totp_secret
	totp_enrol alice
	check "a second enrolment over an active TOTP is refused" test $? -eq 1
	check "the refusal says to reset first" err_has "totp reset"
	check "the store holds no plaintext secret" test -n "$enrolled_secret" -a \
		-z "$(grep -a -l "$enrolled_secret" "$T/data/data.mdb")"
	run 0 "totp reset" totp reset alice
	run 0 "totp status after reset" totp status alice
	check "status says none after reset" out_has '"totp":"none"'
	run 0 "user show after reset" user show alice
	run 1 "a second reset is refused (nothing to reset)" totp reset alice
	run 1 "totp status of an unknown user is refused" totp status nobody
	run 1 "totp reset of an unknown user is refused" totp reset nobody
	run 2 "totp without an action is a usage error" totp
	run 2 "totp with an unknown action is a usage error" totp frob alice
	run 2 "totp status without a name is a usage error" totp status
	run 2 "totp reset with --code-stdin is a usage error" totp reset alice --code-stdin
	totp_events="admin.totp.enrol admin.totp.reset"
else
	echo "# oathtool missing (scripts/deps.sh build test installs it): TOTP checks skipped"
	totp_events=""
fi

# ---- keys --------------------------------------------------------------------
old_current=$(sed -n 's/.*"kid":"\(es-[^"]*\)","alg":"ES256","state":"current".*/\1/p' "$T/keys-1")
old_next=$(sed -n 's/.*"kid":"\(es-[^"]*\)","alg":"ES256","state":"next".*/\1/p' "$T/keys-1")
run 0 "key rotate" key rotate
run 0 "key list after rotation" key list
check "9 keys after one rotation" test "$(lines "$T/out")" -eq 9
check "the old current key is retired" out_has "\"kid\":\"$old_current\",\"alg\":\"ES256\",\"state\":\"retired\""
check "the old next key is current" out_has "\"kid\":\"$old_next\",\"alg\":\"ES256\",\"state\":\"current\""
check "retired keys carry retired_at" test "$(grep -c '"retired_at":[0-9]' "$T/out")" -eq 3
run 2 "key with an unknown action is a usage error" key frob

# ---- audit ---------------------------------------------------------------------
run 0 "audit verify" audit verify
check "audit verify reports an intact chain" out_has '^audit chain ok: [1-9][0-9]* records$'
run 0 "audit show" audit show --last 1000
for ev in admin.store.init admin.user.add admin.user.disable admin.user.enable admin.user.passwd admin.user.groups \
	admin.client.add admin.client.update admin.client.remove admin.client.import admin.key.rotate \
	$totp_events; do
	check "audit show lists $ev" out_has "\"event\":\"$ev\""
done
check "the audit names a client let off PKCE" out_has '"event":"admin.client.add".*"client":"oldapp".*"require_pkce":false'
check "audit records name the actor and unix user" out_has '"actor":"authctl","unix_user":"[^"]*","uid":[0-9]'
check "no secret in the audit log" out_lacks "$secret"
check "no password in the audit log" out_lacks 'Correct-Horse'
run 0 "audit show --last 3" audit show --last 3
check "--last 3 shows three records" test "$(lines "$T/out")" -eq 3
run 2 "audit show --last 0 is a usage error" audit show --last 0
run 2 "audit show --last x is a usage error" audit show --last x
run 2 "audit with an unknown action is a usage error" audit frob

# ---- x509 (the card checks themselves: tests/integration/x509.test.sh)
run 2 "x509 without an action is a usage error" x509
run 2 "x509 bind without CERT is a usage error" x509 bind alice
run 2 "x509 list with an extra argument is a usage error" x509 list alice extra
run 1 "x509 bind is refused while [x509] is not enabled" x509 bind alice /dev/null
check "it says why" err_has "not set up"
run 0 "x509 list of a user without cards" x509 list alice
check "it prints an empty list" out_has '^\[\]$'
run 1 "x509 list of an unknown user is refused" x509 list nobody.here
run 1 "x509 unbind of a user without cards is refused" x509 unbind alice

# ---- webauthn list / remove (registration itself is tested in Chromium: tests/e2e)
run 0 "webauthn list of a user without keys" webauthn list alice
check "a user without keys lists nothing" test "$(lines "$T/out")" -eq 0
run 1 "webauthn list of an unknown user is refused" webauthn list nobody.here
check "it says why" err_has "no such user"
run 1 "webauthn remove of a key the user does not have is refused" webauthn remove alice \
	AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
check "it points to webauthn list" err_has "webauthn list"
run 1 "webauthn remove with a malformed CRED_ID is refused" webauthn remove alice 'not/base64!'
run 1 "webauthn remove with a CRED_ID that is a path is refused" webauthn remove alice \
	../../../../../../../../../../../../../etc/passwd
run 2 "webauthn without an action is a usage error" webauthn
run 2 "webauthn remove without CRED_ID is a usage error" webauthn remove alice
run 2 "webauthn with an unknown action is a usage error" webauthn frob alice

# ---- a running daemon picks up a rotation without restart (run.sh only) ---
if [ -n "${AUTHD_CONF:-}" ] && [ -n "${AUTHD_ISSUER:-}" ] && [ -n "${AUTHD_CA:-}" ]; then
	"$authctl" -c "$AUTHD_CONF" key rotate >"$T/live-keys" 2>"$T/err"
	check "key rotate on the live store" test $? -eq 0
	want=$(sed -n 's/.*"kid":"\([^"]*\)".*"state":"next".*/\1/p' "$T/live-keys")
	seen=0
	i=0
	while [ $i -lt 20 ] && [ $seen -eq 0 ]; do
		curl -fsS --max-time 5 --cacert "$AUTHD_CA" "$AUTHD_ISSUER/jwks" >"$T/jwks" 2>/dev/null ||
			curl -fsS --max-time 5 --cacert "$AUTHD_CA" \
				"$(curl -fsS --max-time 5 --cacert "$AUTHD_CA" "$AUTHD_ISSUER/.well-known/openid-configuration" |
				sed -n 's/.*"jwks_uri": *"\([^"]*\)".*/\1/p')" >"$T/jwks" 2>/dev/null
		seen=1
		for k in $want; do
			grep -q "\"$k\"" "$T/jwks" || seen=0
		done
		[ $seen -eq 1 ] || sleep 0.25
		i=$((i + 1))
	done
	check "the running daemon publishes the new keys without a restart" test $seen -eq 1 -a -n "$want"
fi

echo "1..$n"
[ "$failed" -eq 0 ]

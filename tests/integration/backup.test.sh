#!/bin/sh
# tests/integration/backup.test.sh BUILD — docs/operations.md "Backup and
# restore", done as written: an authd of its own with a person who has TOTP;
# an online backup with mdb_copy plus the files the guide names (totp.key, the
# config, the TLS files); the restore into a fresh folder, where authd starts,
# the audit chain verifies and the person signs in with password and TOTP. A
# restore without totp.key is shown to refuse the codes — why the guide names
# the file. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
top=$(mktemp -d "${TMPDIR:-/tmp}/authd-backup.XXXXXX") || exit 1
T=$top/live
mkdir -p "$T"
. "$here/lib.sh"

cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$top"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
for c in oathtool mdb_copy mdb_stat; do
	command -v $c >/dev/null || bail "$c is missing (scripts/deps.sh build test)"
done
authd_dev_cert
export AUTHD_CA

write_conf() { # write_conf PORT: $T/authd.conf, everything relative to $T
	{
		authd_conf_server "$1"
		cat <<EOF

[store]
path = data

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[log]
level = 2
EOF
	} >"$T/authd.conf"
}
write_conf 1
authd_init
PW=$(newpw)
authd_user tia "$PW"
APP_R=https://app.city.example/cb
authd_client app --redirect-uri $APP_R --min-aal 2 --scope openid --scope profile \
	--scope email --scope offline_access
APP_SECRET=$client_secret

step_now() { echo $(($(date +%s) / 30)); }
code_at() { oathtool --totp -b "$1" --now "@$(($2 * 30 + 1))"; }
settle() { while [ $(($(date +%s) % 30)) -ge 27 ]; do sleep 0.5; done; }

# TOTP for tia with authctl, confirmed with the previous step's code so the
# current one is free for the sign-in.
mkfifo "$T/fifo" || bail "mkfifo"
ctl totp enrol tia --code-stdin <"$T/fifo" >"$T/enrol.out" 2>"$T/enrol.err" &
epid=$!
exec 3>"$T/fifo"
i=0
while ! grep -qs 'secret=' "$T/enrol.out" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
SECRET=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/enrol.out" | head -n 1)
[ -n "$SECRET" ] || { exec 3>&-; bail "authctl totp enrol printed no secret: $(cat "$T/enrol.err")"; }
settle
code_at "$SECRET" $(($(step_now) - 1)) >&3
exec 3>&-
wait $epid || bail "authctl totp enrol failed: $(cat "$T/enrol.err")"
ok "the key file exists where the guide says ([totp] key_file, totp.key beside the config)" \
	test -s "$T/totp.key"

authd_start write_conf || bail "$authd_err"

# ---- the backup, as docs/operations.md writes it, while authd runs ------------
B=$top/backup
install -d -m 0700 "$B"
ok "mdb_copy -c of the running store" mdb_copy -c "$T/data" "$B"
ok "mdb_stat -e of the copy" sh -c 'mdb_stat -e "$1" >/dev/null' - "$B"
ok "the key, the config and the TLS files copied beside it" \
	install -m 0600 "$T/totp.key" "$T/authd.conf" "$B/"
mkdir -p "$B/certs" && cp -p "$T/certs/tls.crt" "$T/certs/tls.key" "$T/certs/ca.crt" "$B/certs/"
ok "the live authd stops (the old host is gone)" authd_stop

# restore_into DIR [no-key]: a fresh folder with the backup's files in place.
restore_into() {
	install -d -m 0700 "$1" "$1/data" "$1/certs"
	install -m 0600 "$B/data.mdb" "$1/data/data.mdb"
	install -m 0600 "$B/authd.conf" "$1/authd.conf"
	cp -p "$B/certs/"* "$1/certs/"
	[ "${2:-}" = no-key ] || install -m 0600 "$B/totp.key" "$1/totp.key"
}

# sign_in NAME: authorize -> password -> the TOTP step with the current code;
# leaves NAME.otp (the answer to the code).
sign_in() {
	: >"$T/$1.jar"
	authorize "$1.az" "$T/$1.jar" app "$APP_R" "" || return 1
	login_page "$1.az" "$T/$1.jar"
	post_login "$1.pw" "$T/$1.jar" "$1.az.page" tia "$PW"
	loc=$(header "$1.pw" location)
	eq "$(status_of "$1.pw")" 303 && has "$loc" "/login?tx=" || return 1
	req "$1.page2" -b "$T/$1.jar" -c "$T/$1.jar" "$AUTHD_ISSUER$loc"
	settle
	req "$1.otp" -b "$T/$1.jar" -c "$T/$1.jar" -H "Origin: $AUTHD_ISSUER" \
		--data-urlencode "tx=$(hidden_field "$1.page2" tx)" \
		--data-urlencode "csrf=$(hidden_field "$1.page2" csrf)" \
		--data-urlencode "method=totp" --data-urlencode "otp=$(code_at "$SECRET" "$(step_now)")" \
		"$AUTHD_ISSUER/login"
}

# ---- restore into a fresh folder (a new host) -------------------------------------
T=$top/restored
restore_into "$T"
ok "authctl audit verify on the restored store" sh -c 'ctl_out=$("$1" -c "$2" audit verify) && \
	echo "$ctl_out" | grep -q "^audit chain ok"' - "$AUTHCTL_BIN" "$T/authd.conf"
if authd_start write_conf; then
	ok "authd starts on the restored folder" true
	sign_in r1
	ok "password then TOTP on the restored host -> 303 back to the app with a code" \
		sh -c '[ "$1" = 303 ] && case "$2" in "$3?code="*) exit 0;; esac; exit 1' - \
		"$(status_of r1.otp)" "$(header r1.otp location)" "$APP_R"
	CODE=$(query_param "$(header r1.otp location)" code)
	token r1.tok app "$APP_SECRET" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
		--data-urlencode "redirect_uri=$APP_R" --data-urlencode "code_verifier=$VERIFIER"
	ok "the code gives tokens from the restored signing keys" eq "$(status_of r1.tok)" 200
	ok "... at AAL2 with TOTP in amr" sh -c 'node -e "
		const t = JSON.parse(require(\"fs\").readFileSync(process.argv[1], \"utf8\"));
		const c = JSON.parse(Buffer.from(t.id_token.split(\".\")[1], \"base64url\"));
		process.exit(c.amr.includes(\"otp\") && c.acr === \"aal2\" ? 0 : 1);" "$1"' - "$T/r1.tok.body"
	ok "the restored authd stops cleanly" authd_stop
else
	ok "authd starts on the restored folder ($authd_err)" false
fi

# ---- the same restore without totp.key: why the guide names it ----------------------
T=$top/nokey
restore_into "$T" no-key
if authd_start write_conf; then
	sign_in r2
	# Today the person gets a server error page (500: the sealed secret does
	# not open), not the wrong-code message: either way, no sign-in.
	ok "without totp.key the right TOTP code signs nobody in (every enrolment broken)" \
		sh -c 'case "$1" in 401|500) ;; *) exit 1;; esac; case "$2" in *code=*) exit 1;; esac' - \
		"$(status_of r2.otp)" "$(header r2.otp location)"
	ok "... and authd made a new key in its place" test -s "$T/totp.key"
	ok "... which is not the backed-up one" sh -c '! cmp -s "$1" "$2"' - "$T/totp.key" "$B/totp.key"
	authd_stop
else
	ok "authd starts on the restore without a key ($authd_err)" false
fi

tap_end

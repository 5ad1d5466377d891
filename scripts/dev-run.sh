#!/bin/sh
# scripts/dev-run.sh BUILD — what `make run` does: a development instance in
# ./dev/ (config, TLS certificate from certs/dev-cert.sh, LMDB data), a demo user
# and a demo client created the first time, then authd in the foreground.
# Re-running reuses dev/ and prints the saved demo credentials again.
set -eu

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
dev=dev
umask 077
mkdir -p "$dev"

for b in "$build/authd" "$build/authctl"; do
	[ -x "$b" ] && [ -f "$b" ] || { echo "dev-run: $b is missing; run make first" >&2; exit 1; }
done

sh certs/dev-cert.sh "$dev/tls"

if [ ! -f "$dev/authd.conf" ]; then
	cat >"$dev/authd.conf" <<CONF
; Development instance written by scripts/dev-run.sh (make run).
; Relative paths are relative to this file's folder. See docs/authd.conf.example.
; The common-password list is the checkout's share/ (docs/operations.md, data files).
[server]
issuer = https://localhost:8443
listen = 127.0.0.1:8443, [::1]:8443
tls_cert = tls/tls.crt
tls_key = tls/tls.key

[store]
path = data

[log]
level = info
CONF
fi

"$build/authd" --check-config -c "$dev/authd.conf" >/dev/null

creds="$dev/demo-credentials.txt"
if [ ! -f "$creds" ]; then
	"$build/authctl" -c "$dev/authd.conf" init >/dev/null
	pw=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
	printf '%s\n' "$pw" | "$build/authctl" -c "$dev/authd.conf" user add demo \
		--display-name "示範使用者 Demo User" --email demo@city.example --password-stdin >/dev/null
	out=$("$build/authctl" -c "$dev/authd.conf" client add demo-app \
		--redirect-uri http://127.0.0.1:9000/callback \
		--scope openid --scope profile --scope email \
		--grant authorization_code --grant refresh_token)
	secret=$(printf '%s\n' "$out" | sed -n 's/^client_secret: *//p' | head -n 1)
	if [ -z "$secret" ]; then
		echo "dev-run: authctl client add printed no client_secret" >&2
		exit 1
	fi
	tmp="$creds.tmp"
	cat >"$tmp" <<CREDS
# Demo credentials for the development instance (dev/). Not for real use.
user:          demo
password:      $pw
client_id:     demo-app
client_secret: $secret
redirect_uri:  http://127.0.0.1:9000/callback
CREDS
	chmod 600 "$tmp"
	mv "$tmp" "$creds"
	unset pw secret out
fi

cat <<INFO

== authd development instance ==
$(sed -n '/^[a-z_]*: /p' "$creds")

Trust the dev CA:   $dev/tls/ca.crt
Discovery:          https://localhost:8443/.well-known/openid-configuration
Try:
  curl --cacert $dev/tls/ca.crt https://localhost:8443/healthz
  curl --cacert $dev/tls/ca.crt https://localhost:8443/.well-known/openid-configuration
Sign in from an app: authorization code flow with PKCE (S256) against the
discovery URL, client demo-app, redirect http://127.0.0.1:9000/callback.
Press Ctrl-C to stop.

INFO
exec "$build/authd" -c "$dev/authd.conf"

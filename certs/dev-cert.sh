#!/bin/sh
# certs/dev-cert.sh OUTDIR [HOST...] — a development TLS certificate: a small
# local CA (ca.crt, ca.key) and a leaf (tls.crt, tls.key) for localhost,
# 127.0.0.1, ::1 and any extra hosts, all EC P-256. Idempotent: existing files
# are kept. Never use these outside development.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [HOST...]" >&2; exit 2; }
out=$1; shift
mkdir -p "$out"
chmod 700 "$out"
umask 077

if [ ! -f "$out/ca.key" ] || [ ! -f "$out/ca.crt" ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$out/ca.key" -sha256 -days 397 \
		-subj "/O=authd development/CN=authd dev CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$out/ca.crt"
	rm -f "$out/tls.crt" "$out/tls.key"   # a new CA needs a new leaf
fi

if [ ! -f "$out/tls.key" ] || [ ! -f "$out/tls.crt" ]; then
	san="DNS:localhost,IP:127.0.0.1,IP:::1"
	for h in "$@"; do
		case $h in
		*[!0-9.]*) case $h in *:*) san="$san,IP:$h";; *) san="$san,DNS:$h";; esac;;
		*) san="$san,IP:$h";;
		esac
	done
	ext=$(mktemp)
	trap 'rm -f "$ext" "$out/tls.csr"' EXIT
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=$san" \
		"subjectKeyIdentifier=hash" \
		"authorityKeyIdentifier=keyid" >"$ext"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/tls.key" 2>/dev/null
	openssl req -new -key "$out/tls.key" -subj "/O=authd development/CN=localhost" \
		-out "$out/tls.csr"
	openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
		-CAcreateserial -days 397 -sha256 -extfile "$ext" -out "$out/tls.crt" 2>/dev/null
	rm -f "$out/ca.srl"
fi
chmod 600 "$out/ca.key" "$out/tls.key"
chmod 644 "$out/ca.crt" "$out/tls.crt"

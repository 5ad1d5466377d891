#!/bin/sh
# tests/security/hardening.test.sh BUILD — what the process and its TLS look like
# from outside:
#   1. TLS of run.sh's authd, by openssl s_client: 1.0/1.1 refused, 1.2 only with
#      forward-secret AEAD suites, 1.3 accepted, no compression, plain HTTP refused;
#   2. the privilege drop (as root only): a second authd started as root with
#      [server] user = a throwaway system user; /proc/PID/status must show no
#      root uid/gid/group and no capabilities, and the store must still work
#      (a full sign-in and token grant), and stop cleanly;
#   3. docs/authd.service: systemd-analyze verify, the sandboxing directives,
#      and the systemd-analyze security exposure score.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"

for v in AUTHD_ISSUER AUTHD_CA AUTHD_CERTS AUTHD_BIN AUTHCTL_BIN; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

# ---- 1. TLS --------------------------------------------------------------------------
hostport=${AUTHD_ISSUER#https://}
# hs NAME ARGS...: one handshake; NAME.out holds what s_client printed.
hs() {
	n=$1
	shift
	echo Q | timeout 10 openssl s_client -connect "$hostport" -servername localhost \
		-CAfile "$AUTHD_CA" "$@" >"$T/$n.out" 2>&1
}
# "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" (or "New, (NONE), Cipher is (NONE)")
proto() { sed -n 's/^New, \([^,]*\), Cipher is .*/\1/p' "$T/$1.out" | head -n 1; }
cipher() { sed -n 's/^New, [^,]*, Cipher is \(.*\)/\1/p' "$T/$1.out" | head -n 1; }
# handshake_ok NAME PROTO: it completed with that protocol and a verified chain
handshake_ok() {
	eq "$(proto "$1")" "$2" && grep -q 'Verify return code: 0 (ok)' "$T/$1.out"
}
# refused NAME: no cipher was agreed
refused() {
	c=$(cipher "$1")
	case "$c" in "" | "0000" | "(NONE)") return 0 ;; esac
	diag "negotiated $(proto "$1") $c"
	return 1
}
hs t13 -tls1_3
ok "TLS 1.3 handshake succeeds" handshake_ok t13 TLSv1.3
ok "TLS 1.3: an AEAD suite" sh -c 'case "$1" in TLS_AES_*_GCM_*|TLS_CHACHA20_POLY1305_*) exit 0;; esac; exit 1' - "$(cipher t13)"
ok "no TLS compression" grep -q '^Compression: NONE' "$T/t13.out"
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
	hs t12$c -tls1_2 -cipher "$c"
	ok "TLS 1.2 with $c succeeds" sh -c '[ "$1" = TLSv1.2 ] && [ "$2" = "$3" ]' - \
		"$(proto t12$c)" "$(cipher t12$c)" "$c"
done
hs t12any -tls1_2
ok "TLS 1.2 offered everything: the server picks an ECDHE AEAD suite" \
	sh -c 'case "$1" in ECDHE-*GCM*|ECDHE-*CHACHA20*) exit 0;; esac; exit 1' - "$(cipher t12any)"
ok "TLS 1.2 without compression" grep -q '^Compression: NONE' "$T/t12any.out"
# SECLEVEL=0 lets our own client offer what a careless or old client would.
hs t11 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
ok "TLS 1.1 refused" refused t11
hs t10 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
ok "TLS 1.0 refused" refused t10
for c in AES128-SHA AES256-GCM-SHA384 ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 \
	ECDHE-ECDSA-AES128-SHA256 DES-CBC3-SHA ECDHE-ECDSA-NULL-SHA AECDH-AES128-SHA \
	ECDHE-ECDSA-ARIA128-GCM-SHA256 ECDHE-ECDSA-CAMELLIA128-SHA256; do
	hs w$c -tls1_2 -cipher "$c:@SECLEVEL=0"
	ok "TLS 1.2 with weak or non-forward-secret $c refused" refused w$c
done
req plain --max-time 5 "http://$hostport/healthz"
ok "plain HTTP on the TLS port gets no answer (not 200)" sh -c '[ "$1" != 200 ]' - "$(status_of plain)"

# ---- 2. the privilege drop -------------------------------------------------------------
P="$T/priv"
u=authd-sec$$
drop_pid=
cleanup() {
	if [ -n "$drop_pid" ] && kill -0 "$drop_pid" 2>/dev/null; then
		kill -KILL "$drop_pid"
		wait "$drop_pid" 2>/dev/null
	fi
	id "$u" >/dev/null 2>&1 && userdel "$u" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	skip "privilege drop: needs root (run make test as root to check it)"
elif ! useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group "$u" 2>"$T/useradd.err"; then
	ok "useradd a throwaway system user" false
	diag "$(cat "$T/useradd.err")"
else
	mkdir -p "$P"
	chmod 711 "$T" "$P"   # so that $u could reach the files, were their modes wrong
	cp "$AUTHD_CERTS/tls.crt" "$AUTHD_CERTS/tls.key" "$P/"
	port=$(node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
	cat >"$P/authd.conf" <<EOF
[server]
issuer = https://127.0.0.1:$port
listen = 127.0.0.1:$port
tls_cert = tls.crt
tls_key = tls.key
threads = 2
workers = 2
user = $u
[store]
path = data
[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt
EOF
	pctl() { "$AUTHCTL_BIN" -c "$P/authd.conf" "$@"; }
	pctl init >"$P/init.log" 2>&1
	ok "authctl init (as root) for the second instance" eq $? 0
	pw=$(openssl rand 18 | openssl base64 -A | tr '+/' 'xy')
	printf '%s\n' "$pw" | pctl user add pat --password-stdin >/dev/null 2>&1
	psec=$(pctl client add rp-priv --redirect-uri https://rp.city.example/cb --grant authorization_code \
		--grant refresh_token --scope openid --scope profile --scope email --scope offline_access 2>/dev/null | sed -n 's/^client_secret: *//p')
	"$AUTHD_BIN" -c "$P/authd.conf" >"$P/authd.out" 2>"$P/authd.log" &
	drop_pid=$!
	PI="https://127.0.0.1:$port"
	i=0
	while [ $i -lt 100 ] && kill -0 "$drop_pid" 2>/dev/null &&
		! curl -fsS --max-time 2 --cacert "$AUTHD_CA" -o /dev/null "$PI/healthz" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	ok "authd started as root with [server] user = $u answers" \
		curl -fsS --max-time 2 --cacert "$AUTHD_CA" -o /dev/null "$PI/healthz"
	st=/proc/$drop_pid/status
	field() { sed -n "s/^$1:[[:space:]]*//p" "$st" | tr -s ' \t' ' '; }
	uid=$(id -u "$u") gid=$(id -g "$u")
	diag "$(grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "$st" | tr '\t' ' ' | tr '\n' ';')"
	ok "Uid: real, effective, saved and fs uid are all $u ($uid)" eq "$(field Uid)" "$uid $uid $uid $uid"
	ok "Gid: all four are $u's group ($gid)" eq "$(field Gid)" "$gid $gid $gid $gid"
	ok "Groups: only $u's group, no root group" eq "$(field Groups | sed 's/ *$//')" "$gid"
	ok "no effective capabilities (CapEff 0)" eq "$(field CapEff)" 0000000000000000
	ok "no permitted capabilities (CapPrm 0)" eq "$(field CapPrm)" 0000000000000000
	ok "no ambient capabilities (CapAmb 0)" eq "$(field CapAmb)" 0000000000000000
	ok "no_new_privs is set (NoNewPrivs 1)" eq "$(field NoNewPrivs)" 1
	ok "the store now belongs to $u" eq "$(stat -c %u "$P/data/data.mdb")" "$uid"
	# Every thread, not just the main one: setuid() in glibc applies to all.
	ok "every thread runs as $u" sh -c 'for s in /proc/$1/task/*/status; do
		grep -q "^Uid:[[:space:]]*$2[[:space:]]*$2[[:space:]]*$2[[:space:]]*$2\$" "$s" || exit 1; done' - "$drop_pid" "$uid"
	ok "the log says privileges were dropped" grep -q '"dropped privileges"' "$P/authd.log"

	# The store opened as root keeps working as $u: sign in and redeem the code.
	AUTHD_ISSUER=$PI
	: >"$P/jar"
	ok "as $u: a browser sign-in writes a session and a code" \
		code_flow pl "$P/jar" rp-priv https://rp.city.example/cb pat "$pw"
	token pl.tok rp-priv "$psec" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
		--data-urlencode "redirect_uri=https://rp.city.example/cb" --data-urlencode "code_verifier=$VERIFIER"
	ok "as $u: the code redeems for tokens (store read and written)" eq "$(status_of pl.tok)" 200
	ok "store folder is 0700, its files 0600" sh -c '[ "$(stat -c %a "$1")" = 700 ] &&
		for f in "$1"/*; do [ "$(stat -c %a "$f")" = 600 ] || exit 1; done' - "$P/data"
	ok "$u cannot read the TLS key it no longer needs" \
		sh -c '! su -s /bin/sh -c "cat $1" "$2" >/dev/null 2>&1' - "$P/tls.key" "$u"
	kill -TERM "$drop_pid"
	i=0
	while kill -0 "$drop_pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	wait "$drop_pid"
	ok "after the drop, SIGTERM still stops authd with status 0" eq $? 0
	drop_pid=
	pctl audit verify >"$P/verify.out" 2>&1
	ok "after the stop, authctl audit verify passes" eq $? 0

	# Refusals: root as the target user, and a user that does not exist.
	for bad in root no-such-user-$$; do
		sed "s/^user = .*/user = $bad/" "$P/authd.conf" >"$P/bad.conf"
		timeout 10 "$AUTHD_BIN" -c "$P/bad.conf" >/dev/null 2>"$P/bad.log"
		ok "[server] user = $bad -> authd refuses to run (exit 1)" eq $? 1
	done
	userdel "$u" 2>/dev/null
fi

# ---- 3. the systemd unit ----------------------------------------------------------------------
unit="$root/docs/authd.service"
for d in User=authd NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/authd \
	PrivateTmp=yes ProtectHome=yes PrivateDevices=yes ProtectKernelTunables=yes \
	ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes \
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" SystemCallFilter=@system-service \
	MemoryDenyWriteExecute=yes LockPersonality=yes CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
	AmbientCapabilities=CAP_NET_BIND_SERVICE RestrictSUIDSGID=yes UMask=0077; do
	ok "authd.service has $d" grep -qx "$d" "$unit"
done
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists: point it at this build.
	mkdir -p "$T/unit"
	sed "s|/usr/local/sbin/authd|$AUTHD_BIN|g" "$unit" >"$T/unit/authd.service"
	systemd-analyze verify "$T/unit/authd.service" >"$T/verify.out" 2>&1
	ok "systemd-analyze verify authd.service: no warnings" \
		sh -c '[ "$1" = 0 ] && [ ! -s "$2" ]' - $? "$T/verify.out"
	sed 's/^/# /' "$T/verify.out"
	if systemd-analyze security --offline=yes "$T/unit/authd.service" >"$T/sec.out" 2>&1; then
		score=$(sed -n 's/.*Overall exposure level for authd.service: \([0-9.]*\).*/\1/p' "$T/sec.out")
		diag "systemd-analyze security --offline: exposure $score (0 = fully sandboxed, 10 = not at all)"
		ok "systemd-analyze security exposure below 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s < 2.0) }'
	else
		skip "systemd-analyze security --offline not supported here"
	fi
else
	skip "systemd-analyze not installed (apt-get install systemd)"
fi

tap_end

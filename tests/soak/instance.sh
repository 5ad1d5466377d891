# tests/soak/instance.sh — sourced by slow.sh and run.sh: one authd on a free
# loopback port with a fresh store, the dev TLS certificate, a user and a
# code client. Sets T, AUTHD_ISSUER, NODE_EXTRA_CA_CERTS, INST_USER,
# INST_PASSWORD, INST_CLIENT, INST_SECRET, INST_REDIRECT; cleans up on exit.
AUTHD_BIN=$build/bin/authd
AUTHCTL_BIN=$build/bin/authctl
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-soak.XXXXXX") || exit 1
authd_pid=
instance_cleanup() {
	if [ -n "$authd_pid" ] && kill -0 "$authd_pid" 2>/dev/null; then
		kill -KILL "$authd_pid" 2>/dev/null
		wait "$authd_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap instance_cleanup EXIT
trap 'exit 130' INT TERM

instance_fail() {
	echo "Bail out! $*"
	[ -f "$T/authd.log" ] && tail -n 20 "$T/authd.log" | sed 's/^/# /'
}

# instance_setup NAME EXTRA-[server]-LINE...
instance_setup() {
	name=$1
	shift
	for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
		[ -x "$f" ] || { instance_fail "$f is missing (make all)"; return 1; }
	done
	sh "$root/certs/dev-cert.sh" "$T/certs" >"$T/dev-cert.log" 2>&1 ||
		{ instance_fail "certs/dev-cert.sh failed"; return 1; }
	export NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"
	port=$(node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });') || return 1
	export AUTHD_ISSUER="https://127.0.0.1:$port"
	{
		echo "[server]"
		echo "issuer = $AUTHD_ISSUER"
		echo "listen = 127.0.0.1:$port"
		echo "tls_cert = certs/tls.crt"
		echo "tls_key = certs/tls.key"
		echo "threads = ${INST_THREADS:-2}"
		echo "workers = ${INST_WORKERS:-2}"
		for l in "$@"; do echo "$l"; done
		echo "[store]"
		echo "path = data"
		echo "[password]"
		echo "argon2_memory_kib = 8192"
		echo "argon2_ops = 1"
		echo "breached_list = $root/share/common-passwords.txt"
		echo "[throttle]"
		echo "address_free_failures = 100000"
		echo "address_base_delay_ms = 0"
		echo "[log]"
		echo "level = 1"
	} >"$T/authd.conf"
	"$AUTHCTL_BIN" -c "$T/authd.conf" init >"$T/ctl.log" 2>&1 ||
		{ instance_fail "authctl init: $(tail -n 3 "$T/ctl.log")"; return 1; }
	INST_USER=soak
	INST_PASSWORD=$(openssl rand 18 | openssl base64 -A | tr '+/' 'xy')
	printf '%s\n' "$INST_PASSWORD" | "$AUTHCTL_BIN" -c "$T/authd.conf" user add "$INST_USER" \
		--password-stdin --email soak@city.example >>"$T/ctl.log" 2>&1 ||
		{ instance_fail "authctl user add"; return 1; }
	INST_CLIENT=soak-rp
	INST_REDIRECT=https://rp.city.example/cb
	"$AUTHCTL_BIN" -c "$T/authd.conf" client add "$INST_CLIENT" --redirect-uri "$INST_REDIRECT" \
		--grant authorization_code --grant refresh_token --grant client_credentials \
		--scope openid --scope offline_access --auth-method client_secret_basic \
		>"$T/client.out" 2>>"$T/ctl.log" || { instance_fail "authctl client add"; return 1; }
	INST_SECRET=$(sed -n 's/^client_secret: *//p' "$T/client.out")
	export INST_USER INST_PASSWORD INST_CLIENT INST_SECRET INST_REDIRECT
	[ -n "$INST_SECRET" ]
}

instance_start() { # start and wait (20 s) for /healthz
	"$AUTHD_BIN" -c "$T/authd.conf" >>"$T/authd.out" 2>>"$T/authd.log" &
	authd_pid=$!
	i=0
	while [ $i -lt 200 ]; do
		kill -0 "$authd_pid" 2>/dev/null || return 1
		curl -fsS --max-time 2 --cacert "$T/certs/ca.crt" -o /dev/null \
			"$AUTHD_ISSUER/healthz" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

instance_stop() { # SIGTERM; returns the exit status
	[ -n "$authd_pid" ] || return 0
	kill -TERM "$authd_pid" 2>/dev/null
	wait "$authd_pid"
	st=$?
	authd_pid=
	return $st
}

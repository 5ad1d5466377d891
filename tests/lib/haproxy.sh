# tests/lib/haproxy.sh — HAProxy (Debian's haproxy 2.6) as the load balancer
# in front of several authd nodes, the way docs/decisions/0005-load-balancer.md
# deploys it: TLS passed through in TCP mode (the default, "tcp"), or TLS
# terminated and re-encrypted to the nodes ("http", for comparison). Health
# checks are HTTPS GET /healthz with the test CA verified, every
# HAPROXY_INTER; a failed connection marks a node down at once (observe layer4,
# error-limit 1, on-error mark-down) and the connection is retried on another
# node (retries + option redispatch 1). No "on-marked-down shutdown-sessions"
# by default: measured here, it also kills the very connection being
# redispatched, so one request per node death failed that would have been
# served. An admin stats socket tells the test which nodes are up and how many
# sessions each served.
#
# Sourced, not run (POSIX sh). Functions return non-zero with hap_err saying
# why; what to do then is the caller's. Call haproxy_cleanup from the exit
# trap. When the caller is root HAProxy runs as the unprivileged user of
# tests/lib/pg.sh (PG_OS_USER, authd-test; created when absent), from its own
# folder with its own copies of the CA and (http mode) the front certificate.
#
# Settings (environment, read when haproxy_start writes the config):
#   HAPROXY_BIN        (/usr/sbin/haproxy)
#   HAPROXY_INTER      check interval while up (200ms); HAPROXY_FASTINTER while
#                      changing state (100ms); HAPROXY_DOWNINTER while down (500ms)
#   HAPROXY_RISE / HAPROXY_FALL   checks to come up / go down (2 / 2)
#   HAPROXY_ON_ERROR   what a failed connection does (mark-down; see "on-error")
#   HAPROXY_ON_MARKED_DOWN  "shutdown-sessions" to cut a DOWN node's sessions
#                      (default: none, see above)
#   HAPROXY_SEND_PROXY 1: send a PROXY protocol v2 header to the nodes (and with
#                      the checks). authd does not read one yet: leave at 0.
#   HAPROXY_WAIT       seconds any one wait may take (20)
#   HAPROXY_PORT       the front port (default: a free one, another on a lost race)
# Results: hap_T (its folder: haproxy.cfg, haproxy.log, stats.sock), hap_port
# (the front port), hap_pid, hap_wait_ms (the last haproxy_wait_status).

hap_T=
hap_pid=
hap_port=
hap_err=
hap_wait_ms=
hap_backend=be_authd

# hap_as CMD...: runs CMD as the unprivileged user when root, in hap_T.
hap_as() {
	if [ -n "$hap_os_user" ]; then
		(cd "$hap_T" && exec setpriv --reuid="$hap_os_user" --regid="$hap_os_group" \
			--init-groups -- "$@")
	else
		(cd "$hap_T" && exec "$@")
	fi
}

# haproxy_setup: the folder, the binary, the user.
haproxy_setup() {
	hap_bin=${HAPROXY_BIN:-/usr/sbin/haproxy}
	hap_wait=${HAPROXY_WAIT:-20}
	[ -x "$hap_bin" ] || { hap_err="$hap_bin missing (sh scripts/deps.sh build test: haproxy)"; return 1; }
	command -v python3 >/dev/null 2>&1 || { hap_err="python3 missing (stats socket client)"; return 1; }
	hap_os_user=
	hap_os_group=
	if [ "$(id -u)" = 0 ]; then
		hap_os_user=${PG_OS_USER:-authd-test}
		if ! id "$hap_os_user" >/dev/null 2>&1; then
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$hap_os_user" >/dev/null 2>&1 ||
				id "$hap_os_user" >/dev/null 2>&1 || {
				hap_err="cannot create user $hap_os_user"
				return 1
			}
		fi
		hap_os_group=$(id -gn "$hap_os_user")
	fi
	hap_T=$(mktemp -d "${TMPDIR:-/tmp}/authd-haproxy.XXXXXX") || { hap_err="mktemp failed"; return 1; }
	chmod 0700 "$hap_T"
	[ -z "$hap_os_user" ] || chown "$hap_os_user:$hap_os_group" "$hap_T"
	hap_as test -w "$hap_T" || { hap_err="$hap_T not writable by ${hap_os_user:-the caller}"; return 1; }
	return 0
}

# hap_copy SRC DST: a private copy (0600) HAProxy's user can read.
hap_copy() {
	hap_as sh -c 'umask 077; cat >"$1"' sh "$hap_T/$2" <"$1"
}

# hap_free_port: a free loopback port as the kernel hands it out.
hap_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# haproxy_config MODE PORT NAME=HOST:PORT...: the configuration on stdout.
haproxy_config() {
	_hc_mode=$1
	_hc_port=$2
	shift 2
	_hc_proxy=
	_hc_down=
	[ -n "${HAPROXY_ON_MARKED_DOWN:-}" ] && _hc_down=" on-marked-down $HAPROXY_ON_MARKED_DOWN"
	[ "${HAPROXY_SEND_PROXY:-0}" = 1 ] && _hc_proxy=" send-proxy-v2 check-send-proxy"
	cat <<EOF
# written by tests/lib/haproxy.sh ($_hc_mode mode)
global
	log stderr format raw local0 info
	stats socket $hap_T/stats.sock mode 600 level admin
	stats timeout 10s
	maxconn 4000
	ssl-default-server-options ssl-min-ver TLSv1.2

defaults
	log global
	mode $_hc_mode
	timeout connect 1s
	timeout client 30s
	timeout server 30s
	timeout check 1s
	# A connection refused by a dead node is tried again, on another node.
	retries 2
	option redispatch 1
EOF
	if [ "$_hc_mode" = http ]; then
		cat <<EOF
	option httplog
	timeout http-request 10s
	timeout http-keep-alive 5s

frontend fe_authd
	bind 127.0.0.1:$_hc_port ssl crt $hap_T/front.pem alpn http/1.1
	# authd believes X-Forwarded-For only from [server] trusted_proxies and reads
	# the first header line: replace whatever the client sent, never append.
	http-request set-header X-Forwarded-For %[src]
	http-request set-header X-Forwarded-Proto https
	default_backend $hap_backend
EOF
	else
		cat <<EOF
	option tcplog

frontend fe_authd
	bind 127.0.0.1:$_hc_port
	default_backend $hap_backend
EOF
	fi
	cat <<EOF

backend $hap_backend
	balance roundrobin
	option httpchk
	http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
	http-check expect status 200
	default-server check check-ssl check-sni localhost verify required ca-file $hap_T/ca.crt verifyhost localhost inter ${HAPROXY_INTER:-200ms} fastinter ${HAPROXY_FASTINTER:-100ms} downinter ${HAPROXY_DOWNINTER:-500ms} rise ${HAPROXY_RISE:-2} fall ${HAPROXY_FALL:-2} observe layer4 error-limit 1 on-error ${HAPROXY_ON_ERROR:-mark-down}$_hc_down$_hc_proxy
EOF
	for _hc_s in "$@"; do
		_hc_ssl=
		[ "$_hc_mode" = http ] && _hc_ssl=" ssl sni str(localhost)"
		echo "	server ${_hc_s%%=*} ${_hc_s#*=}$_hc_ssl"
	done
}

# haproxy_start MODE CA NAME=HOST:PORT... : writes the config for the nodes
# (tcp: TLS passthrough; http: TLS terminated with HAPROXY_CERT and
# HAPROXY_KEY, re-encrypted to the nodes), checks it (haproxy -c), starts
# HAProxy in the foreground (-db) in the background on a free port, and waits
# until its stats socket answers. Up to 5 tries on a port taken meanwhile
# (one only with HAPROXY_PORT).
haproxy_start() {
	_hs_mode=$1
	_hs_ca=$2
	shift 2
	case "$_hs_mode" in tcp | http) ;; *) hap_err="mode must be tcp or http"; return 1 ;; esac
	[ -n "$hap_T" ] || { hap_err="haproxy_setup first"; return 1; }
	hap_copy "$_hs_ca" ca.crt || { hap_err="cannot copy $_hs_ca"; return 1; }
	if [ "$_hs_mode" = http ]; then
		cat "${HAPROXY_CERT:?}" "${HAPROXY_KEY:?}" | hap_as sh -c 'umask 077; cat >front.pem' ||
			{ hap_err="cannot write front.pem"; return 1; }
	fi
	_hs_try=0
	while [ $_hs_try -lt 5 ]; do
		_hs_try=$((_hs_try + 1))
		hap_port=${HAPROXY_PORT:-$(hap_free_port)} || { hap_err="no free port"; return 1; }
		haproxy_config "$_hs_mode" "$hap_port" "$@" | hap_as sh -c 'cat >haproxy.cfg'
		if ! hap_as "$hap_bin" -c -q -f "$hap_T/haproxy.cfg" >"$hap_T/check.log" 2>&1; then
			hap_err="config refused: $(tail -n 5 "$hap_T/check.log" | tr '\n' ' ')"
			return 1
		fi
		# Not hap_as in the background: a function run with & is a subshell of
		# its own, and $! would not be HAProxy's pid.
		if [ -n "$hap_os_user" ]; then
			(cd "$hap_T" && exec setpriv --reuid="$hap_os_user" --regid="$hap_os_group" \
				--init-groups -- "$hap_bin" -db -f "$hap_T/haproxy.cfg") \
				>>"$hap_T/haproxy.log" 2>&1 &
		else
			(cd "$hap_T" && exec "$hap_bin" -db -f "$hap_T/haproxy.cfg") \
				>>"$hap_T/haproxy.log" 2>&1 &
		fi
		hap_pid=$!
		_hs_end=$(($(date +%s) + hap_wait))
		while [ "$(date +%s)" -le $_hs_end ]; do
			kill -0 "$hap_pid" 2>/dev/null || break
			haproxy_cmd "show info" 2>/dev/null | grep -q '^Pid:' && return 0
			sleep 0.05
		done
		if kill -0 "$hap_pid" 2>/dev/null; then
			hap_err="stats socket silent after $hap_wait s"
			return 1
		fi
		wait "$hap_pid" 2>/dev/null
		hap_pid=
		[ -z "${HAPROXY_PORT:-}" ] && grep -q "cannot bind\|Address already in use" \
			"$hap_T/haproxy.log" || break
	done
	hap_err="haproxy did not start: $(tail -n 3 "$hap_T/haproxy.log" | tr '\n' ' ')"
	return 1
}

# haproxy_cmd COMMAND: one command on the admin socket; prints the answer.
haproxy_cmd() {
	timeout -k 1 5 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())' "$hap_T/stats.sock" "$1"
}

# haproxy_field SERVER COLUMN: one column of `show stat` (CSV, columns named in
# its first line) for a server of the backend (or BACKEND for the backend).
haproxy_field() {
	haproxy_cmd "show stat" | awk -F, -v be="$hap_backend" -v sv="$1" -v col="$2" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		$1 == be && $2 == sv && c { print $c; found = 1 }
		END { if (!found) exit 1 }'
}

# haproxy_status SERVER: UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up)...
haproxy_status() { haproxy_field "$1" status; }

# haproxy_sessions SERVER: how many client connections the server was given.
haproxy_sessions() { haproxy_field "$1" stot; }

# haproxy_wait_status SERVER STATUS [SECONDS]: until the server's status is
# exactly STATUS; hap_wait_ms is the time it took. 1 when the time is up.
haproxy_wait_status() {
	_hw_t0=$(date +%s%3N)
	_hw_end=$((_hw_t0 + ${3:-$hap_wait} * 1000))
	while [ "$(date +%s%3N)" -le $_hw_end ]; do
		_hw_s=$(haproxy_status "$1" 2>/dev/null)
		if [ "$_hw_s" = "$2" ]; then
			hap_wait_ms=$(($(date +%s%3N) - _hw_t0))
			return 0
		fi
		sleep 0.02
	done
	hap_err="$1 is '${_hw_s:-?}', not '$2', after ${3:-$hap_wait} s"
	return 1
}

# haproxy_log_tail [LINES]: the end of HAProxy's log as TAP comments.
haproxy_log_tail() {
	[ -f "$hap_T/haproxy.log" ] && tail -n "${1:-15}" "$hap_T/haproxy.log" | sed 's/^/# [haproxy] /'
}

# haproxy_stop: SIGUSR1 (soft stop: finish what is in flight), SIGKILL after
# 5 s, reaped.
haproxy_stop() {
	[ -n "$hap_pid" ] || return 0
	kill -USR1 "$hap_pid" 2>/dev/null
	_hx_i=0
	while kill -0 "$hap_pid" 2>/dev/null && [ $_hx_i -lt 50 ]; do
		sleep 0.1
		_hx_i=$((_hx_i + 1))
	done
	kill -KILL "$hap_pid" 2>/dev/null
	wait "$hap_pid" 2>/dev/null
	hap_pid=
	return 0
}

# haproxy_cleanup: for the exit trap: stops HAProxy, removes its folder.
haproxy_cleanup() {
	haproxy_stop
	[ -n "$hap_T" ] && rm -rf "$hap_T"
	hap_T=
}

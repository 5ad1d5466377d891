# tests/soak/instance.sh — sourced by slow.sh and run.sh after
# tests/lib/authd.sh and authd_paths: one authd on a free loopback port with a
# fresh store, the dev TLS certificate, a user and a code client. Sets T,
# AUTHD_ISSUER, NODE_EXTRA_CA_CERTS, INST_USER, INST_PASSWORD, INST_CLIENT,
# INST_SECRET, INST_REDIRECT; cleans up on exit.
authd_bins
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-soak.XXXXXX") || exit 1
instance_cleanup() {
	kill_pid "$authd_pid"
	rm -rf "$T"
}
on_exit instance_cleanup

# instance_fail MESSAGE: says why, with the end of the authd log; the caller exits.
instance_fail() {
	echo "Bail out! $*"
	authd_log_tail 20
}

# instance_conf PORT: the config; the [server] section takes the extra lines
# given to instance_setup, threads and workers from INST_THREADS, INST_WORKERS.
instance_conf() {
	{
		authd_threads=${INST_THREADS:-2} authd_workers=${INST_WORKERS:-2} \
			authd_conf_server "$1"
		[ -n "$inst_extra" ] && printf '%s\n' "$inst_extra"
		echo "[store]"
		echo "path = data"
		# wrk drives client_credentials from one client at the measured
		# maximum: the per-client rate limit is off here.
		echo "[tokens]"
		echo "client_rate = 0"
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
}

# instance_setup NAME EXTRA-[server]-LINE...: store, user and client (bails on
# failure).
instance_setup() {
	shift
	inst_extra=
	[ $# -gt 0 ] && inst_extra=$(printf '%s\n' "$@")
	for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
		[ -x "$f" ] || bail "$f is missing (make all)"
	done
	authd_dev_cert
	export NODE_EXTRA_CA_CERTS="$T/certs/ca.crt"
	instance_conf 1
	authd_init
	INST_USER=soak
	INST_PASSWORD=$(newpw)
	authd_user "$INST_USER" "$INST_PASSWORD" --email soak@city.example
	INST_CLIENT=soak-rp
	INST_REDIRECT=https://rp.city.example/cb
	authd_client "$INST_CLIENT" --redirect-uri "$INST_REDIRECT" \
		--grant authorization_code --grant refresh_token --grant client_credentials \
		--scope openid --scope offline_access --auth-method client_secret_basic
	INST_SECRET=$client_secret
	export INST_USER INST_PASSWORD INST_CLIENT INST_SECRET INST_REDIRECT
	[ -n "$INST_SECRET" ]
}

# instance_start: on a free port, waits (20 s) for /healthz.
instance_start() {
	authd_start instance_conf /healthz
}

# instance_stop: SIGTERM; 0 for a clean exit 0. (It waited without a bound
# before the shared stop; 30 s is far more than a clean stop takes.)
instance_stop() {
	[ -n "$authd_pid" ] || return 0
	authd_stop 30
}

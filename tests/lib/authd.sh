# tests/lib/authd.sh — the mechanics every shell test runner shares to run an
# authd of its own: paths and binaries, a free loopback port, the dev TLS
# certificate, the [server] section, `authctl init`, users and clients, start
# with a readiness wait (and a new port when authd lost the race for one), stop
# by SIGTERM with its exit status, ending processes in cleanup, and a runner's
# TAP tallies (check, finish, bail, run_tap_script).
#
# Sourced, not run (POSIX sh). Before sourcing, the runner sets `here` (its own
# folder, tests/SUITE); the functions use T (the scratch folder), build and root
# when called. What a runner checks, its config keys, users and clients stay in
# the runner; only how they are made is here.
#
# Two flavours of runner use this: a suite runner sets `suite` (the name in its
# last line "SUITE: N passed, N failed") and tallies with check/finish; a TAP
# test script (with tests/integration/lib.sh's ok/tap_end) leaves `suite` unset.
# bail ends either kind the way it always ended.

. "$here/../lib/node.sh"

n=0
pass=0
fail=0
authd_pid=
authd_status=
authd_err=

# authd_paths [BUILD]: root (the checkout) and build (BUILD, default "build",
# made absolute against root).
authd_paths() {
	build=${1:-build}
	root=$(cd "$here/../.." && pwd) || exit 1
	case "$build" in
	/*) ;;
	*) build="$root/$build" ;;
	esac
}

# authd_bins: AUTHD_BIN and AUTHCTL_BIN, BUILD/NAME or else BUILD/bin/NAME (the
# Makefile puts binaries in bin/ beside the object folder BUILD/authd/).
authd_bins() {
	AUTHD_BIN=$(authd_bin_of authd)
	AUTHCTL_BIN=$(authd_bin_of authctl)
}
authd_bin_of() {
	if [ -f "$build/$1" ] && [ -x "$build/$1" ]; then
		echo "$build/$1"
	else
		echo "$build/bin/$1"
	fi
}

# authd_free_port: a free loopback port as the kernel hands it out. Someone else
# may take it before authd binds it; authd_start then tries another.
authd_free_port() {
	node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# authd_log_tail LINES: the end of this authd's log as TAP comments.
authd_log_tail() {
	[ -f "$T/authd.log" ] && tail -n "$1" "$T/authd.log" | sed 's/^/# /'
}

# bail MESSAGE: gives up. A suite runner counts one failure and finishes; a
# test script shows the end of the authd log and exits 1.
bail() {
	echo "Bail out! $*"
	if [ -n "${suite:-}" ]; then
		fail=$((fail + 1))
		finish
	fi
	authd_log_tail 20
	exit 1
}

# ---- the instance ------------------------------------------------------------

# authd_dev_cert: the dev CA and TLS certificate in $T/certs (certs/dev-cert.sh);
# sets AUTHD_CA to the CA (exporting it is the runner's choice).
authd_dev_cert() {
	sh "$root/certs/dev-cert.sh" "$T/certs" >"$T/dev-cert.log" 2>&1 ||
		bail "certs/dev-cert.sh failed: $(tail -n 3 "$T/dev-cert.log")"
	AUTHD_CA="$T/certs/ca.crt"
}

# authd_conf_server PORT: the [server] section for a test instance on PORT with
# the dev certificate; the issuer's host is authd_host (default 127.0.0.1).
# threads and workers from authd_threads and authd_workers (default 2 each).
authd_conf_server() {
	cat <<EOF
[server]
issuer = https://${authd_host:-127.0.0.1}:$1
listen = 127.0.0.1:$1
tls_cert = certs/tls.crt
tls_key = certs/tls.key
threads = ${authd_threads:-2}
workers = ${authd_workers:-2}
EOF
}

# ctl ARGS...: authctl on this instance's config.
ctl() { "$AUTHCTL_BIN" -c "$T/authd.conf" "$@"; }

# authd_init: `authctl init` on $T/authd.conf (the runner wrote it, with any
# port: authd_start rewrites it before the start).
authd_init() {
	ctl init >"$T/init.log" 2>&1 || bail "authctl init failed: $(tail -n 3 "$T/init.log")"
}

# newpw: a random password, so that nothing can depend on one.
newpw() { openssl rand 18 | openssl base64 -A | tr '+/' 'xy'; }

# authd_user NAME PASSWORD [ARGS...]: `authctl user add NAME --password-stdin
# ARGS...` with PASSWORD on stdin.
authd_user() {
	_au_name=$1
	_au_pw=$2
	shift 2
	printf '%s\n' "$_au_pw" | ctl user add "$_au_name" --password-stdin "$@" \
		>"$T/user-$_au_name.log" 2>&1 ||
		bail "authctl user add $_au_name failed: $(tail -n 3 "$T/user-$_au_name.log")"
}

# authd_client ID ARGS...: `authctl client add ID ARGS...`; sets client_secret
# to the generated secret (empty for a public client). Not in $(...): bail must
# end the script, not a subshell.
authd_client() {
	client_secret=
	_ac_id=$1
	shift
	ctl client add "$_ac_id" "$@" >"$T/client-$_ac_id.out" 2>"$T/client-$_ac_id.err" ||
		bail "authctl client add $_ac_id failed: $(tail -n 3 "$T/client-$_ac_id.err")"
	client_secret=$(sed -n 's/^client_secret: *//p' "$T/client-$_ac_id.out")
}

# authd_launch [PATH]: starts authd on $T/authd.conf in the background
# (authd_pid; stdout to $T/authd.out, its log to $T/authd.log) and waits up to
# 20 s for $AUTHD_ISSUER PATH (default the discovery document) to answer over
# TLS with the dev CA. 0 when it answered; 1 when authd exited (reaped,
# authd_pid empty); 2 when it runs and has not answered.
authd_launch() {
	_al_path=${1:-/.well-known/openid-configuration}
	_al_hp=${AUTHD_ISSUER#https://}
	# A host name (the e2e suite's localhost) is pinned to the loopback address
	# authd listens on.
	set --
	case "$_al_hp" in
	127.0.0.1:*) ;;
	*) set -- --resolve "$_al_hp:127.0.0.1" ;;
	esac
	"$AUTHD_BIN" -c "$T/authd.conf" >>"$T/authd.out" 2>>"$T/authd.log" &
	authd_pid=$!
	_al_i=0
	while [ $_al_i -lt 200 ]; do
		if ! kill -0 "$authd_pid" 2>/dev/null; then
			wait "$authd_pid" 2>/dev/null
			authd_pid=
			return 1
		fi
		if curl -fsS --max-time 2 --cacert "$T/certs/ca.crt" "$@" -o /dev/null \
			"$AUTHD_ISSUER$_al_path" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_al_i=$((_al_i + 1))
	done
	return 2
}

# authd_start CONF-FN [PATH]: up to 5 tries, each on a new free port (in
# `port`): CONF-FN PORT writes $T/authd.conf, AUTHD_ISSUER (exported) becomes
# https://HOST:PORT, then authd_launch PATH. A try is lost when authd exits
# during startup (another process took the port first). 0 when authd answers;
# else 1, with authd_err saying why.
authd_start() {
	_as_conf=$1
	shift
	_as_try=0
	while [ $_as_try -lt 5 ]; do
		_as_try=$((_as_try + 1))
		port=$(authd_free_port) || { authd_err="no free port"; return 1; }
		"$_as_conf" "$port"
		AUTHD_ISSUER="https://${authd_host:-127.0.0.1}:$port"
		export AUTHD_ISSUER
		authd_launch "$@"
		case $? in
		0) return 0 ;;
		2)
			authd_err="authd did not answer within 20 s (attempt $_as_try)"
			return 1
			;;
		esac
		echo "# authd exited during startup (attempt $_as_try); trying another port"
	done
	authd_err="authd would not start"
	return 1
}

# authd_stop [SECONDS]: SIGTERM, then up to SECONDS (10) for authd to exit.
# Sets authd_status to its exit status and empties authd_pid; when authd still
# runs, authd_status stays empty and authd_pid is kept for the cleanup to kill.
# 0 only for exit status 0 (under ASan that also means no leak).
authd_stop() {
	authd_status=
	kill -TERM "$authd_pid" 2>/dev/null || return 1
	_sp_i=0
	while kill -0 "$authd_pid" 2>/dev/null && [ $_sp_i -lt $((${1:-10} * 10)) ]; do
		sleep 0.1
		_sp_i=$((_sp_i + 1))
	done
	if kill -0 "$authd_pid" 2>/dev/null; then
		echo "# authd still running ${1:-10} s after SIGTERM"
		return 1
	fi
	wait "$authd_pid"
	authd_status=$?
	authd_pid=
	[ "$authd_status" -eq 0 ] || echo "# authd exited with status $authd_status"
	[ "$authd_status" -eq 0 ]
}

# ---- processes and cleanup -----------------------------------------------------

# stop_pid PID: ends a process this script started: SIGTERM, SIGKILL after 5 s,
# then reaps it. Nothing when PID is empty or already gone.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	_kp_i=0
	while kill -0 "$1" 2>/dev/null && [ $_kp_i -lt 50 ]; do
		sleep 0.1
		_kp_i=$((_kp_i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# kill_pid PID: SIGKILL at once (a runner's cleanup after its checks), reaped.
kill_pid() {
	[ -n "$1" ] || return 0
	kill -0 "$1" 2>/dev/null || return 0
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# on_exit FN: FN runs on every exit; an interrupt ends the script (130) so
# that it does.
on_exit() {
	trap "$1" EXIT
	trap 'exit 130' INT TERM
}

# ---- a suite runner's tallies ----------------------------------------------------

# tap_count PASSED FAILED: adds to the tally.
tap_count() {
	pass=$((pass + $1))
	fail=$((fail + $2))
}

# tap_pass DESC / tap_fail DESC: one TAP line of the runner's own, counted.
tap_pass() {
	n=$((n + 1))
	pass=$((pass + 1))
	echo "ok $n - $1"
}
tap_fail() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
}

# check DESC COMMAND...: one TAP line; the command decides.
check() {
	_ck_desc=$1
	shift
	if "$@"; then
		tap_pass "$_ck_desc"
	else
		tap_fail "$_ck_desc"
	fi
}

# finish: the end of a suite runner: the last finish_log_lines (30) of the
# authd log when anything failed, "SUITE: N passed, N failed", and exit 0 only
# with passes and no failure.
finish() {
	if [ "$fail" -ne 0 ] && [ -f "$T/authd.log" ]; then
		echo "# ---- last ${finish_log_lines:-30} lines of the authd log ----"
		tail -n "${finish_log_lines:-30}" "$T/authd.log" | sed 's/^/# /'
	fi
	echo "$suite: $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

# run_tap_script FILE: runs a TAP test script with BUILD as $1 and a work
# folder of its own (AUTHD_WORK), shows its lines and the end of its stderr, and
# counts them; an exit other than 0 with no failing line counts as a failure.
run_tap_script() {
	echo "# ---- $(basename "$1")"
	mkdir -p "$T/work"
	AUTHD_WORK=$(mktemp -d "$T/work/XXXXXX") sh "$1" "$build" >"$T/tap.out" 2>"$T/tap.err"
	_rt_rc=$?
	cat "$T/tap.out"
	sed 's/^/# stderr: /' "$T/tap.err" | tail -n 20
	_rt_p=$(grep -c '^ok ' "$T/tap.out")
	_rt_f=$(grep -c '^not ok ' "$T/tap.out")
	tap_count "$_rt_p" "$_rt_f"
	if [ $_rt_rc -ne 0 ] && [ "$_rt_f" -eq 0 ]; then
		echo "# $(basename "$1") exited $_rt_rc without a failing test line"
		tap_count 0 1
	fi
}

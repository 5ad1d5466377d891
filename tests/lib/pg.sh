# tests/lib/pg.sh — a throwaway PostgreSQL 15 cluster for the tests that need
# one: a primary made by initdb in a temporary folder, run as an unprivileged
# user, listening on loopback TCP (a free port) and on a unix socket in that
# folder; a role and database for authd with a scram-sha-256 password; a
# streaming-replication standby (pg_basebackup -R with a replication slot),
# optionally synchronous; and the faults a test plays: stop (fast or
# immediate), promote, pause with SIGSTOP / resume with SIGCONT, replication lag.
#
# Sourced, not run (POSIX sh). Instances have short names ([a-z0-9], e.g. "a"
# and "b"); a name keeps its folder and port when its role changes (after a
# promotion "b" is the primary). Every wait is bounded (PG_WAIT seconds, 30),
# every psql runs under timeout(1). A function that fails returns non-zero with
# pg_err saying why; what to do then (bail, a failing TAP line) is the caller's.
# Call pg_cleanup from the runner's exit trap: it resumes paused servers, stops
# every instance it started (immediate, then SIGKILL) and removes the folder.
#
# Settings (environment, read by pg_setup):
#   PG_BINDIR          PostgreSQL programs (default /usr/lib/postgresql/15/bin)
#   PG_OS_USER         the user the servers run as when the caller is root
#                      (default authd-test, created as a system user if absent);
#                      when not root, the servers run as the caller
#   PG_SHARED_BUFFERS  (32MB)   PG_MAX_CONNECTIONS (60)
#   PG_SYNC_STANDBY    1 (default): pg_start_standby makes the standby
#                      synchronous (no acknowledged commit is lost when the
#                      primary dies); 0: asynchronous
#   PG_WAIT            seconds any one wait may take (30)
#   PG_LOG_STATEMENTS  1: log every statement (debugging)
# Results (shell variables):
#   pg_T               the folder (data folders pg_T/NAME, logs pg_T/NAME.log)
#   pg_sock            the unix socket folder
#   pg_db, pg_role, pg_password   authd's database, role and password
#   pg_passfile        a libpq password file for every role made here (0600)
#   pg_port_NAME       an instance's port (pg_port_of NAME prints it)
#   pg_promote_ms      how long the last pg_promote took until writes worked
# Durability: fsync, synchronous_commit and full_page_writes stay on; the
# numbers a benchmark takes from this cluster are those of a durable one.

pg_T=
pg_err=
pg_instances=
pg_paused=
pg_db=authd
pg_role=authd
pg_password=
pg_admin=postgres
pg_admin_password=
pg_repl=replicator
pg_repl_password=
pg_passfile=
pg_sock=
pg_promote_ms=

# pg_ms: milliseconds since the epoch (GNU date), for timings.
pg_ms() { date +%s%3N; }

# pg_free_port: a free loopback port as the kernel hands it out (someone may
# take it before the server binds it: pg_start_primary then tries another).
pg_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pg_name_ok NAME: instance names are short and safe in variable names.
pg_name_ok() {
	case "$1" in
	'' | *[!a-z0-9]*) pg_err="bad instance name '$1'"; return 1 ;;
	esac
	[ ${#1} -le 16 ] || { pg_err="instance name too long"; return 1; }
}

# pg_port_of NAME: the instance's port.
pg_port_of() { eval "echo \${pg_port_$1:-}"; }

# pg_as CMD...: runs a PostgreSQL program as the server user, in pg_T, with
# HOME there (initdb and the servers refuse to run as root). The servers are
# found by their postmaster.pid, never by $!.
pg_as() {
	if [ -n "$pg_os_user" ]; then
		(cd "$pg_T" && HOME=$pg_T exec setpriv --reuid="$pg_os_user" --regid="$pg_os_group" \
			--init-groups -- "$@")
	else
		(cd "$pg_T" && HOME=$pg_T exec "$@")
	fi
}

# pg_setup: finds the programs, picks the server user (creating it when root
# and absent), makes pg_T, the socket folder, random passwords and the password
# file. 0 or 1 (pg_err).
pg_setup() {
	pg_bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
	pg_wait=${PG_WAIT:-30}
	for _ps_p in initdb pg_ctl pg_basebackup postgres psql; do
		[ -x "$pg_bindir/$_ps_p" ] || {
			pg_err="$pg_bindir/$_ps_p missing (sh scripts/deps.sh build test: postgresql-15)"
			return 1
		}
	done
	command -v setpriv >/dev/null 2>&1 || { pg_err="setpriv missing (util-linux)"; return 1; }
	pg_os_user=
	pg_os_group=
	if [ "$(id -u)" = 0 ]; then
		pg_os_user=${PG_OS_USER:-authd-test}
		if ! id "$pg_os_user" >/dev/null 2>&1; then
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$pg_os_user" >/dev/null 2>&1 ||
				id "$pg_os_user" >/dev/null 2>&1 || {
				pg_err="cannot create user $pg_os_user"
				return 1
			}
		fi
		[ "$(id -u "$pg_os_user")" != 0 ] || { pg_err="$pg_os_user is root"; return 1; }
		pg_os_group=$(id -gn "$pg_os_user")
	fi
	pg_T=$(mktemp -d "${TMPDIR:-/tmp}/authd-pg.XXXXXX") || { pg_err="mktemp failed"; return 1; }
	chmod 0700 "$pg_T"
	[ -z "$pg_os_user" ] || chown "$pg_os_user:$pg_os_group" "$pg_T"
	if ! pg_as test -w "$pg_T"; then
		pg_err="$pg_T is not writable by ${pg_os_user:-the caller} (a parent folder is closed; set TMPDIR)"
		return 1
	fi
	pg_sock=$pg_T/sock
	pg_as mkdir -m 0700 "$pg_sock" || { pg_err="cannot make $pg_sock"; return 1; }
	# sun_path holds 107 bytes: the socket is $pg_sock/.s.PGSQL.<port>.
	[ ${#pg_sock} -le 80 ] || { pg_err="socket path $pg_sock too long (set TMPDIR)"; return 1; }
	pg_password=$(openssl rand -hex 18)
	pg_admin_password=$(openssl rand -hex 18)
	pg_repl_password=$(openssl rand -hex 18)
	pg_passfile=$pg_T/pgpass
	# "replication" in the database field matches replication connections only.
	pg_as sh -c 'umask 077; cat >"$1"' sh "$pg_passfile" <<EOF
*:*:*:$pg_admin:$pg_admin_password
*:*:replication:$pg_repl:$pg_repl_password
*:*:*:$pg_role:$pg_password
EOF
	[ -s "$pg_passfile" ] || { pg_err="cannot write $pg_passfile"; return 1; }
	return 0
}

# pg_log_tail NAME [LINES]: the end of an instance's server log as TAP comments.
pg_log_tail() {
	[ -f "$pg_T/$1.log" ] && tail -n "${2:-15}" "$pg_T/$1.log" | sed "s/^/# [pg $1] /"
}

# pg_psql_as ROLE CONNINFO SQL: one psql (tuples only, unaligned, | between
# fields, stop on the first error) under timeout; the password comes from
# pg_passfile. Prints the result; the exit status is psql's (124: timed out).
pg_psql_as() {
	PGPASSFILE=$pg_passfile PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5} \
		timeout -k 2 "${pg_psql_timeout:-$pg_wait}" "$pg_bindir/psql" -X -q -A -t \
		-v ON_ERROR_STOP=1 -F '|' -U "$1" -d "$2" -c "$3"
}

# pg_sql NAME SQL [DB]: SQL as the superuser on one instance over loopback TCP.
pg_sql() {
	pg_psql_as "$pg_admin" \
		"host=127.0.0.1 port=$(pg_port_of "$1") dbname=${3:-postgres} application_name=pg.sh" "$2"
}

# pg_authd_sql CONNINFO SQL: SQL as authd's role (CONNINFO from pg_conninfo).
pg_authd_sql() { pg_psql_as "$pg_role" "$1" "$2"; }

# pg_conninfo NAME...: the libpq connection string authd's nodes would use:
# every named instance in order (host and port lists), the authd role and
# database, only a read-write session accepted, connect_timeout 2 (libpq's
# minimum; it applies to each host in turn) and TCP keepalives / user timeout
# so a dead peer is noticed in seconds rather than the kernel's minutes.
pg_conninfo() {
	_pc_h=
	_pc_p=
	for _pc_n in "$@"; do
		_pc_h="$_pc_h${_pc_h:+,}127.0.0.1"
		_pc_p="$_pc_p${_pc_p:+,}$(pg_port_of "$_pc_n")"
	done
	echo "host=$_pc_h port=$_pc_p dbname=$pg_db user=$pg_role" \
		"target_session_attrs=${pg_target:-read-write} connect_timeout=2" \
		"keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=2" \
		"tcp_user_timeout=5000 application_name=authd-test"
}

# pg_ctl_as NAME ARGS...: pg_ctl on one instance's data folder.
pg_ctl_as() {
	_pa_n=$1
	shift
	pg_as "$pg_bindir/pg_ctl" -D "$pg_T/$_pa_n" "$@"
}

# pg_pid NAME: the postmaster's pid from postmaster.pid (empty when not running).
pg_pid() {
	[ -f "$pg_T/$1/postmaster.pid" ] || return 1
	_pp=$(head -n 1 "$pg_T/$1/postmaster.pid")
	case "$_pp" in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$_pp" 2>/dev/null || return 1
	echo "$_pp"
}

# pg_conf NAME PORT: the settings both roles share, appended to postgresql.conf
# (a later line wins, so a new port can be appended on a retry).
pg_conf() {
	pg_as sh -c 'cat >>"$1"' sh "$pg_T/$1/postgresql.conf" <<EOF

# ---- tests/lib/pg.sh ----
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$pg_sock'
unix_socket_permissions = 0700
max_connections = ${PG_MAX_CONNECTIONS:-60}
shared_buffers = ${PG_SHARED_BUFFERS:-32MB}
huge_pages = off
password_encryption = 'scram-sha-256'
# Durable, as in production: the benchmark numbers must be honest.
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_senders = 6
max_replication_slots = 6
wal_keep_size = 64MB
hot_standby = on
# Notice a dead peer in seconds (tests kill and pause servers).
wal_sender_timeout = 5s
wal_receiver_timeout = 5s
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 500ms
tcp_keepalives_idle = 5
tcp_keepalives_interval = 2
tcp_keepalives_count = 2
logging_collector = off
log_line_prefix = '%m [%p] %q%a %u@%d '
log_min_messages = warning
log_statement = '$([ "${PG_LOG_STATEMENTS:-0}" = 1 ] && echo all || echo none)'
log_checkpoints = off
EOF
}

# pg_hba NAME: password (scram-sha-256) for everyone, loopback and the socket
# only; replication only for the replication role.
pg_hba() {
	pg_as sh -c 'cat >"$1"' sh "$pg_T/$1/pg_hba.conf" <<EOF
# tests/lib/pg.sh: every connection authenticates with a password.
local   replication  $pg_repl                 scram-sha-256
host    replication  $pg_repl  127.0.0.1/32   scram-sha-256
local   all          all                      scram-sha-256
host    all          all       127.0.0.1/32   scram-sha-256
EOF
}

# pg_launch NAME: pg_ctl start, waiting up to PG_WAIT for connections. On a
# port taken meanwhile, retries on another port (up to 5 tries).
pg_launch() {
	_pl_try=0
	while [ $_pl_try -lt 5 ]; do
		_pl_try=$((_pl_try + 1))
		if pg_ctl_as "$1" -l "$pg_T/$1.log" -w -t "$pg_wait" start >"$pg_T/$1.ctl" 2>&1; then
			return 0
		fi
		if grep -q "could not bind\|could not create any TCP/IP sockets\|Address already in use" \
			"$pg_T/$1.log" 2>/dev/null; then
			_pl_port=$(pg_free_port) || break
			eval "pg_port_$1=\$_pl_port"
			echo "port = $_pl_port" | pg_as sh -c 'cat >>"$1"' sh "$pg_T/$1/postgresql.conf"
			continue
		fi
		break
	done
	pg_err="$1 did not start: $(tail -n 3 "$pg_T/$1.ctl" "$pg_T/$1.log" 2>/dev/null | tr '\n' ' ')"
	return 1
}

# pg_start_primary NAME: initdb (UTF-8, C locale, data checksums so pg_rewind
# can later rejoin a failed primary), the settings above, start, then the
# replication role and authd's role and database.
pg_start_primary() {
	pg_name_ok "$1" || return 1
	[ -n "$pg_T" ] || { pg_err="pg_setup first"; return 1; }
	_sp_pw=$pg_T/.initdb-pw
	printf '%s\n' "$pg_admin_password" | pg_as sh -c 'umask 077; cat >"$1"' sh "$_sp_pw"
	if ! pg_as timeout -k 2 120 "$pg_bindir/initdb" -D "$pg_T/$1" -U "$pg_admin" \
		--pwfile="$_sp_pw" --auth=scram-sha-256 -E UTF8 --no-locale --data-checksums \
		>"$pg_T/$1.initdb" 2>&1; then
		rm -f "$_sp_pw"
		pg_err="initdb failed: $(tail -n 3 "$pg_T/$1.initdb" | tr '\n' ' ')"
		return 1
	fi
	rm -f "$_sp_pw"
	_sp_port=$(pg_free_port) || { pg_err="no free port"; return 1; }
	eval "pg_port_$1=\$_sp_port"
	pg_conf "$1" "$_sp_port" && pg_hba "$1" || { pg_err="cannot write the config of $1"; return 1; }
	pg_instances="$pg_instances $1"
	pg_launch "$1" || return 1
	# Passwords go through psql variables (:'v' quotes them), never pasted into SQL.
	if ! PGPASSFILE=$pg_passfile timeout -k 2 "$pg_wait" "$pg_bindir/psql" -X -q \
		-v ON_ERROR_STOP=1 -v role="$pg_role" -v pw="$pg_password" -v repl="$pg_repl" \
		-v rpw="$pg_repl_password" -v db="$pg_db" -U "$pg_admin" \
		-d "host=127.0.0.1 port=$_sp_port dbname=postgres" >"$pg_T/$1.roles" 2>&1 <<'EOF'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
CREATE ROLE :"repl" LOGIN REPLICATION PASSWORD :'rpw';
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
EOF
	then
		pg_err="roles for $1: $(tail -n 3 "$pg_T/$1.roles" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# pg_wait_streaming NAME FROM [SECONDS]: until FROM's pg_stat_replication shows
# NAME streaming (0), or the time is up (1).
pg_wait_streaming() {
	_pw_end=$(($(date +%s) + ${3:-$pg_wait}))
	while [ "$(date +%s)" -le $_pw_end ]; do
		_pw_s=$(pg_psql_timeout=5 pg_sql "$2" \
			"SELECT state FROM pg_stat_replication WHERE application_name = '$1'" 2>/dev/null)
		[ "$_pw_s" = streaming ] && return 0
		sleep 0.1
	done
	pg_err="$1 not streaming from $2 after ${3:-$pg_wait} s (state '${_pw_s:-none}')"
	return 1
}

# pg_start_standby NAME FROM: a streaming standby of FROM: pg_basebackup -R
# with its own replication slot (-C -S, so FROM keeps the WAL it still needs),
# a primary_conninfo naming it (application_name = NAME), start, wait until it
# streams. With PG_SYNC_STANDBY=1 (default) FROM then waits for NAME's flush at
# every commit (synchronous_standby_names), and this returns once it is "sync".
pg_start_standby() {
	pg_name_ok "$1" && pg_name_ok "$2" || return 1
	_ss_from=$(pg_port_of "$2")
	[ -n "$_ss_from" ] || { pg_err="no instance $2"; return 1; }
	if ! pg_as env PGPASSFILE="$pg_passfile" timeout -k 2 120 \
		"$pg_bindir/pg_basebackup" -h 127.0.0.1 -p "$_ss_from" -U "$pg_repl" -w \
		-D "$pg_T/$1" -R -C -S "slot_$1" -X stream -c fast >"$pg_T/$1.basebackup" 2>&1; then
		pg_err="pg_basebackup failed: $(tail -n 3 "$pg_T/$1.basebackup" | tr '\n' ' ')"
		return 1
	fi
	_ss_port=$(pg_free_port) || { pg_err="no free port"; return 1; }
	eval "pg_port_$1=\$_ss_port"
	# The copied config carries FROM's port: append this one (the last wins).
	pg_conf "$1" "$_ss_port" || { pg_err="cannot write the config of $1"; return 1; }
	# -R wrote a primary_conninfo; this later line in the same file wins.
	printf "primary_conninfo = 'host=127.0.0.1 port=%s user=%s passfile=%s application_name=%s connect_timeout=2 keepalives_idle=5 keepalives_interval=2 keepalives_count=2'\n" \
		"$_ss_from" "$pg_repl" "$pg_passfile" "$1" |
		pg_as sh -c 'cat >>"$1"' sh "$pg_T/$1/postgresql.auto.conf"
	pg_instances="$pg_instances $1"
	pg_launch "$1" || return 1
	pg_wait_streaming "$1" "$2" || return 1
	if [ "${PG_SYNC_STANDBY:-1}" = 1 ]; then
		pg_sql "$2" "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ($1)'" >/dev/null &&
			pg_sql "$2" "SELECT pg_reload_conf()" >/dev/null ||
			{ pg_err="cannot make $1 synchronous"; return 1; }
		_ss_end=$(($(date +%s) + pg_wait))
		while [ "$(date +%s)" -le $_ss_end ]; do
			[ "$(pg_sql "$2" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$1'")" = sync ] &&
				return 0
			sleep 0.1
		done
		pg_err="$1 did not become synchronous"
		return 1
	fi
	return 0
}

# pg_in_recovery NAME: prints t (standby) or f (primary); fails when unreachable.
pg_in_recovery() { pg_psql_timeout=5 pg_sql "$1" "SELECT pg_is_in_recovery()"; }

# pg_stop NAME [fast|immediate|smart]: stops one instance (fast by default),
# resuming it first when paused. fast: clean shutdown (the walsender sends the
# standby everything first); immediate: a crash without a checkpoint.
pg_stop() {
	pg_pid "$1" >/dev/null || return 0
	case " $pg_paused " in *" $1 "*) pg_resume "$1" ;; esac
	pg_ctl_as "$1" -m "${2:-fast}" -w -t "$pg_wait" stop >>"$pg_T/$1.ctl" 2>&1 && return 0
	pg_err="$1 did not stop (${2:-fast})"
	return 1
}

# pg_kill NAME: SIGKILL to the postmaster (the children end on their own: a
# machine losing its database process). Prefer pg_stop NAME immediate.
pg_kill() {
	_pk=$(pg_pid "$1") || return 0
	kill -KILL "$_pk" 2>/dev/null
	return 0
}

# pg_promote NAME [sql]: promotes a standby — pg_ctl promote (waits for the
# end of recovery), or with "sql" SELECT pg_promote() as the superuser, what a
# failover tool without shell access does — then waits until a write commits
# on it; pg_promote_ms is the whole time taken. With PG_SYNC_STANDBY the new
# primary has no synchronous_standby_names (it was set on the old primary only).
pg_promote() {
	_pr_t0=$(pg_ms)
	if [ "${2:-}" = sql ]; then
		[ "$(pg_sql "$1" "SELECT pg_promote(true, $pg_wait)")" = t ] ||
			{ pg_err="pg_promote() on $1 failed"; return 1; }
	else
		pg_ctl_as "$1" -w -t "$pg_wait" promote >>"$pg_T/$1.ctl" 2>&1 ||
			{ pg_err="pg_ctl promote $1 failed"; return 1; }
	fi
	_pr_end=$(($(date +%s) + pg_wait))
	while [ "$(date +%s)" -le $_pr_end ]; do
		if [ "$(pg_in_recovery "$1" 2>/dev/null)" = f ] &&
			pg_psql_timeout=5 pg_sql "$1" "CREATE TEMP TABLE pg_sh_probe (x int)" >/dev/null 2>&1; then
			pg_promote_ms=$(($(pg_ms) - _pr_t0))
			return 0
		fi
		sleep 0.05
	done
	pg_err="$1 not writable ${pg_wait} s after promote"
	return 1
}

# pg_pids_of NAME: the postmaster and its children (the backends, the WAL
# writer, the walsenders...), the processes a stalled machine would stall.
pg_pids_of() {
	_po=$(pg_pid "$1") || return 1
	echo "$_po"
	ps -o pid= --ppid "$_po" 2>/dev/null | tr -d ' '
}

# pg_pause NAME / pg_resume NAME: SIGSTOP / SIGCONT to every process of the
# instance: it accepts TCP connections (the kernel's backlog) and answers
# nothing, like a machine stalled on its disk or a VM paused by its host.
pg_pause() {
	_pz=$(pg_pids_of "$1") || { pg_err="$1 not running"; return 1; }
	# shellcheck disable=SC2086
	kill -STOP $_pz 2>/dev/null
	pg_paused="$pg_paused $1"
}
pg_resume() {
	_pz=$(pg_pids_of "$1") || return 0
	# shellcheck disable=SC2086
	kill -CONT $_pz 2>/dev/null
	pg_paused=$(echo "$pg_paused" | sed "s/ $1\$//; s/ $1 / /")
}

# pg_lag NAME: one line per standby of NAME (a primary): application name,
# state, sync state, bytes not yet replayed, and the write/flush/replay lags.
pg_lag() {
	pg_sql "$1" "SELECT application_name, state, sync_state,
		pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
		coalesce(write_lag::text, '0'), coalesce(flush_lag::text, '0'),
		coalesce(replay_lag::text, '0')
		FROM pg_stat_replication ORDER BY application_name"
}

# pg_replay_wait NAME FROM [SECONDS]: until NAME (a standby) has replayed all
# WAL FROM had written when this was called.
pg_replay_wait() {
	_rw_lsn=$(pg_sql "$2" "SELECT pg_current_wal_lsn()") || { pg_err="$2 unreachable"; return 1; }
	_rw_end=$(($(date +%s) + ${3:-$pg_wait}))
	while [ "$(date +%s)" -le $_rw_end ]; do
		[ "$(pg_psql_timeout=5 pg_sql "$1" \
			"SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$_rw_lsn') >= 0")" = t ] && return 0
		sleep 0.05
	done
	pg_err="$1 did not replay $_rw_lsn within ${3:-$pg_wait} s"
	return 1
}

# pg_cleanup: for the runner's exit trap. Resumes paused instances, stops each
# (immediate, then SIGKILL to the postmaster and its children), removes pg_T.
pg_cleanup() {
	[ -n "$pg_T" ] || return 0
	for _cl_n in $pg_instances; do
		_cl_pids=$(pg_pids_of "$_cl_n") || continue
		# shellcheck disable=SC2086
		kill -CONT $_cl_pids 2>/dev/null
		if ! pg_ctl_as "$_cl_n" -m immediate -w -t 10 stop >/dev/null 2>&1; then
			# shellcheck disable=SC2086
			kill -KILL $_cl_pids 2>/dev/null
		fi
	done
	pg_paused=
	pg_instances=
	rm -rf "$pg_T"
	pg_T=
}

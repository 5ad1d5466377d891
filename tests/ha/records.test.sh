#!/bin/sh
# tests/ha/records.test.sh BUILD — the store's operations (records.h) on a real
# PostgreSQL 15: starts a throwaway primary (tests/lib/pg.sh: initdb in a
# temporary folder, an unprivileged server user, loopback only, scram
# passwords), exports its libpq connection string as AUTHD_TEST_PG_CONNINFO,
# runs BUILD/tests/test_records (the same cmocka tests LMDB passes, and the
# PostgreSQL-only ones: migrations, an unreachable server, a pool of one), then
# `authctl store migrate` against it, and stops the cluster. Prints TAP and
# "ha-records: N passed, N failed". Bounded: every wait has a limit; ~15 s.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
. "$here/../lib/pg.sh"
authd_paths "${1:-}"
cd "$root" || exit 1

suite=ha-records
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-records.XXXXXX") || exit 1
cleanup() {
	pg_cleanup
	rm -rf "$T"
}
on_exit cleanup

authd_bins
bin=$build/tests/test_records
[ -x "$bin" ] || bail "$bin is missing (make unit)"
[ -x "$AUTHCTL_BIN" ] || bail "$AUTHCTL_BIN is missing (make all)"

pg_setup || bail "pg: $pg_err"
pg_start_primary a || { pg_log_tail a; bail "pg primary: $pg_err"; }
ci=$(pg_conninfo a)

# The test binary reads the password from the cluster's password file.
run_records() {
	AUTHD_TEST_PG_CONNINFO="$ci" PGPASSFILE=$pg_passfile timeout -k 5 300 "$bin" >"$T/records.out" 2>&1
	_rr=$?
	sed 's/^/# /' "$T/records.out"
	return $_rr
}
check "the operation tests pass on LMDB and on PostgreSQL (cmocka)" run_records
check "... and both groups ran" test "$(grep -c '^\[==========\] .* test(s) run\.' "$T/records.out")" = 2

check "the schema has its keys and indexes (ids, expiry, refresh family, user, username, credential ids, card issuer+serial)" \
	test "$(pg_authd_sql "$ci" "SELECT count(*) FROM pg_indexes WHERE tablename IN
		('codes','refresh_tokens','families','jtis','txns','counters','users','credentials','cards')
		AND indexname IN ('codes_pkey','codes_expires','refresh_tokens_family','families_user',
		'users_username','credentials_lookup','cards_pkey')")" = 7

# authctl store migrate, with the conninfo in the config file: one line of
# at most 200 bytes (inih's INI_MAX_LINE), so the short form here.
ci_short="host=127.0.0.1 port=$(pg_port_of a) dbname=$pg_db user=$pg_role target_session_attrs=read-write"
conf=$T/authd.conf
cat >"$conf" <<EOC
[server]
issuer = https://localhost:8443

[store]
backend = postgresql
conninfo = $ci_short
EOC
migrate() {
	out=$(PGPASSFILE=$pg_passfile "$AUTHCTL_BIN" -c "$conf" store migrate 2>&1)
	_m=$?
	echo "# $out"
	[ $_m -eq 0 ] || return 1
	case "$out" in *"version $(pg_authd_sql "$ci" "SELECT version FROM authd_schema") is current"*) return 0 ;; esac
	return 1
}
check "authctl store migrate on a current schema says so (the version in the database) and exits 0" migrate

newer() {
	pg_authd_sql "$ci" "UPDATE authd_schema SET version = version + 1" >/dev/null || return 1
	out=$(PGPASSFILE=$pg_passfile "$AUTHCTL_BIN" -c "$conf" store migrate 2>&1)
	_m=$?
	echo "# $out"
	pg_authd_sql "$ci" "UPDATE authd_schema SET version = version - 1" >/dev/null
	[ $_m -ne 0 ] && case "$out" in *newer*) return 0 ;; esac
	return 1
}
check "a schema newer than this build is refused, not touched" newer

finish

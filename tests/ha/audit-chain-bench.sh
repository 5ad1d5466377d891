#!/bin/sh
# tests/ha/audit-chain-bench.sh — the measurements behind the audit-chain
# recommendation in docs/decisions/0006-postgresql-notes.md: how fast can
# several writers rotate refresh tokens on PostgreSQL 15 (durable, with a
# synchronous standby) when every rotation also appends an audit record
#   t1  rotation only (CAS on the family's generation + the new token's row)
#   t2  t1 + an append to ONE hash chain whose head row is locked until commit
#   t3  t1 + an insert into an unchained "pending" audit table
#   t5  per-node batching: 2 writers, 50 chained rotations per transaction
#   seal  one sealer moving pending rows into the chain, batches of 2000
# pgbench (from postgresql-15) drives the load with BENCH_CLIENTS (16)
# connections for BENCH_SECONDS (8) each. Benchmark, not a test: prints
# numbers, exits 0 when everything ran. About 60 s; stops and cleans up on
# any exit. The SQL is a sketch of the load, not authd's schema.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/pg.sh"
trap pg_cleanup EXIT
trap 'exit 130' INT TERM
clients=${BENCH_CLIENTS:-16}
secs=${BENCH_SECONDS:-8}

pg_setup || { echo "pg: $pg_err"; exit 1; }
pg_start_primary a || { echo "pg: $pg_err"; exit 1; }
if [ "${BENCH_STANDBY:-1}" = 1 ]; then
	pg_start_standby b a || { echo "pg: $pg_err"; exit 1; }
fi
ci=$(pg_conninfo a)
W=$pg_T/bench
mkdir -p "$W"

cat >"$W/setup.sql" <<'EOF'
CREATE TABLE fam (id int PRIMARY KEY, gen int NOT NULL, revoked_at bigint,
	expires bigint NOT NULL) WITH (fillfactor = 80);
INSERT INTO fam SELECT g, 1, NULL, 4102444800 FROM generate_series(1, 100000) g;
CREATE TABLE rt (token_hash bytea PRIMARY KEY, family_id int NOT NULL, gen int NOT NULL,
	expires bigint NOT NULL);
CREATE TABLE audit_head (one boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO audit_head VALUES (true, 0, '\x00');
CREATE TABLE audit_log (seq bigint PRIMARY KEY, ts bigint NOT NULL, event text NOT NULL,
	body text NOT NULL, prev bytea NOT NULL);
CREATE TABLE audit_pending (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ts bigint NOT NULL, event text NOT NULL, body text NOT NULL);
CREATE FUNCTION batch(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE f int; s bigint;
BEGIN
	FOR i IN 1..n LOOP
		f := 1 + floor(random() * 100000)::int;
		UPDATE fam SET gen = gen + 1 WHERE id = f AND revoked_at IS NULL;
		INSERT INTO rt VALUES (sha256(convert_to(random()::text || f, 'UTF8')), f, 2, 4102444800);
		UPDATE audit_head SET seq = seq + 1,
			hash = sha256(hash || convert_to('{"family":' || f || '}', 'UTF8')) RETURNING seq INTO s;
		INSERT INTO audit_log VALUES (s, 0, 'token.refresh', '{"family":' || f || '}', '\x00');
	END LOOP;
END $$;
CREATE FUNCTION seal(maxrows int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r record; s bigint; h bytea; k int := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(42);
	SELECT seq, hash INTO s, h FROM audit_head FOR UPDATE;
	FOR r IN DELETE FROM audit_pending WHERE id IN
		(SELECT id FROM audit_pending ORDER BY id LIMIT maxrows) RETURNING * LOOP
		s := s + 1;
		INSERT INTO audit_log VALUES (s, r.ts, r.event, r.body, h);
		h := sha256(h || convert_to(r.body, 'UTF8'));
		k := k + 1;
	END LOOP;
	UPDATE audit_head SET seq = s, hash = h;
	RETURN k;
END $$;
EOF
cat >"$W/t1.sql" <<'EOF'
\set f random(1, 100000)
BEGIN;
UPDATE fam SET gen = gen + 1 WHERE id = :f AND revoked_at IS NULL RETURNING gen;
INSERT INTO rt VALUES (sha256(convert_to(random()::text || :f, 'UTF8')), :f, 2, 4102444800);
COMMIT;
EOF
cat >"$W/t2.sql" <<'EOF'
\set f random(1, 100000)
BEGIN;
UPDATE fam SET gen = gen + 1 WHERE id = :f AND revoked_at IS NULL RETURNING gen;
INSERT INTO rt VALUES (sha256(convert_to(random()::text || :f, 'UTF8')), :f, 2, 4102444800);
SELECT seq, hash FROM audit_head FOR UPDATE;
WITH h AS (UPDATE audit_head SET seq = seq + 1,
	hash = sha256(hash || convert_to('{"family":' || :f || '}', 'UTF8')) RETURNING seq)
INSERT INTO audit_log SELECT seq, 0, 'token.refresh', '{"family":' || :f || '}', '\x00' FROM h;
COMMIT;
EOF
cat >"$W/t3.sql" <<'EOF'
\set f random(1, 100000)
BEGIN;
UPDATE fam SET gen = gen + 1 WHERE id = :f AND revoked_at IS NULL RETURNING gen;
INSERT INTO rt VALUES (sha256(convert_to(random()::text || :f, 'UTF8')), :f, 2, 4102444800);
INSERT INTO audit_pending (ts, event, body) VALUES (0, 'token.refresh', '{"family":' || :f || '}');
COMMIT;
EOF
printf '%s\n' 'SELECT batch(50);' >"$W/t5.sql"

pg_authd_sql "$ci" "$(cat "$W/setup.sql")" >/dev/null || { echo "setup failed"; exit 1; }

# bench NAME CLIENTS FILE: one pgbench run; prints tps and mean latency.
bench() {
	PGPASSFILE=$pg_passfile timeout -k 5 $((secs + 60)) "$pg_bindir/pgbench" -n -c "$2" \
		-j 2 -T "$secs" -M prepared -f "$3" "$ci" >"$W/$1.out" 2>&1 || {
		echo "$1: pgbench failed: $(tail -n 2 "$W/$1.out" | tr '\n' ' ')"
		return 1
	}
	printf '%-6s %3s clients  %8.0f tps  %7.2f ms mean latency\n' "$1" "$2" \
		"$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$W/$1.out")" \
		"$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$W/$1.out")"
}

echo "# durable (fsync, synchronous_commit on), standby: $([ "${BENCH_STANDBY:-1}" = 1 ] && echo synchronous || echo none)"
bench t1 "$clients" "$W/t1.sql" || exit 1
bench t2 "$clients" "$W/t2.sql" || exit 1
bench t3 "$clients" "$W/t3.sql" || exit 1
bench t5 2 "$W/t5.sql" || exit 1
echo "       t5 = $(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$W/t5.out") x 50 chained rotations per second"
n=$(pg_authd_sql "$ci" "SELECT count(*) FROM audit_pending")
s0=$(pg_ms)
while [ "$(pg_authd_sql "$ci" "SELECT seal(2000)")" != 0 ]; do :; done
s1=$(pg_ms)
echo "seal   $n pending rows chained in $((s1 - s0)) ms: $((n * 1000 / (s1 - s0 + 1))) rows/s"
echo "# pg_test_fsync, one 8 kB write + flush:"
"$pg_bindir/pg_test_fsync" -s 2 -f "$W/fsync.test" 2>/dev/null | grep -E '^ +(fdatasync|open_datasync) ' | head -2
exit 0

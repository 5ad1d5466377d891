/* authd/records_pg.c — records.h on PostgreSQL (libpq): a versioned schema
 * with migrations, one row per record with real columns (id, owner, version,
 * expires, spent) and indexes, prepared statements, and a bounded pool of
 * connections each call borrows for the length of one transaction.
 *
 * Invariants:
 *  - Single use, rotation and insert-if-absent are decided by one conditional
 *    statement each (UPDATE … WHERE NOT spent / DELETE … RETURNING, UPDATE …
 *    WHERE version = $n, INSERT … ON CONFLICT): under READ COMMITTED a
 *    concurrent loser waits for the winner's commit and then matches no row,
 *    on whichever node it runs (docs/decisions/0006 §2). The reads after a
 *    refusal only say why.
 *  - Every round trip has this process's own deadline (poll on the socket): a
 *    stalled server (SIGSTOP, a frozen disk) still accepts TCP and would make a
 *    blocking call wait forever. A connection that missed its deadline or lost
 *    its server is closed and made again on next use (the conninfo may name
 *    several hosts with target_session_attrs=read-write: a promoted standby is
 *    found that way).
 *  - A batch is one transaction; a refusal rolls it back whole. A connection
 *    lost during COMMIT leaves the outcome unknown: it is reported as
 *    ST_UNAVAILABLE, and every operation here is safe to run again.
 *  - Audit records are appended unchained (seq from a sequence, node, event,
 *    fields); sealing them into a hash chain is not implemented yet (0011). */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "records.h"

#define PG_DEFAULT_POOL     4
#define PG_MAX_POOL         64
#define PG_DEFAULT_DEADLINE 5000
#define PG_MIGRATE_LOCK     "7433137" /* pg_advisory_xact_lock key of migrations */

/* Tables of the kinds, in enum rec_kind order. */
static const struct pg_kind {
	const char *table;
	int keep_taken; /* take marks spent instead of deleting */
} pg_kinds[RK__COUNT] = {
	[RK_CODE] = { "codes", 1 },
	[RK_REFRESH] = { "refresh_tokens", 0 },
	[RK_FAMILY] = { "families", 0 },
	[RK_JTI] = { "jtis", 0 },
	[RK_TXN] = { "txns", 0 },
};

/* ---- the schema: migration N brings version N-1 to N ---- */

#define RECORD_TABLE(t)                                                                    \
	"CREATE TABLE " t " (id text PRIMARY KEY, owner text NOT NULL DEFAULT '',"         \
	" version bigint NOT NULL CHECK (version > 0), expires bigint NOT NULL DEFAULT 0," \
	" spent boolean NOT NULL DEFAULT false, body jsonb NOT NULL);"                     \
	"CREATE INDEX " t "_expires ON " t " (expires) WHERE expires > 0;"

static const char *const migrations[] = {
	/* 1: the records of the operations interface, counters and the audit log. */
	RECORD_TABLE("codes") RECORD_TABLE("refresh_tokens") RECORD_TABLE("families")
	    RECORD_TABLE("jtis") RECORD_TABLE(
	        "txns") "ALTER TABLE refresh_tokens ADD COLUMN family text GENERATED ALWAYS AS (body->>'family') STORED;"
	                "CREATE INDEX refresh_tokens_family ON refresh_tokens (family);"
	                "ALTER TABLE families ADD COLUMN user_id text GENERATED ALWAYS AS (body->>'user') STORED;"
	                "CREATE INDEX families_user ON families (user_id);"
	                "CREATE INDEX families_owner ON families (owner);"
	                "CREATE TABLE counters (id text PRIMARY KEY, n bigint NOT NULL, expires bigint NOT NULL);"
	                "CREATE INDEX counters_expires ON counters (expires);"
	                "CREATE TABLE audit (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
	                " node text NOT NULL, event text NOT NULL, fields jsonb NOT NULL,"
	                " hash text /* set by the sealer (not implemented yet) */);",
	/* 2: people and their credentials, looked up by what a sign-in presents.
	 * No operation uses them yet: they come with the sign-in flow. */
	"CREATE TABLE users (id text PRIMARY KEY, username text NOT NULL,"
	" version bigint NOT NULL CHECK (version > 0), body jsonb NOT NULL);"
	"CREATE UNIQUE INDEX users_username ON users (lower(username));"
	"CREATE TABLE credentials (user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
	" method text NOT NULL, cred_id text NOT NULL, version bigint NOT NULL, body jsonb NOT NULL,"
	" PRIMARY KEY (user_id, method, cred_id));"
	"CREATE UNIQUE INDEX credentials_lookup ON credentials (method, cred_id);"
	"CREATE TABLE cards (issuer text NOT NULL, serial text NOT NULL,"
	" user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE, PRIMARY KEY (issuer, serial));"
	"CREATE INDEX cards_user ON cards (user_id);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
records_pg_schema_version(void)
{
	return SCHEMA_VERSION;
}

/* ---- connections with deadlines ---- */

struct pgconn {
	PGconn *pg;
	int prepared;
};

struct pg_records {
	char *conninfo;
	int deadline_ms;
	char node[64];
	unsigned n;
	struct pgconn *conns;
	unsigned *idle; /* stack of idle connection indexes */
	unsigned nidle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLSTATE -> status: answers of the data are not failures of the engine. */
static int
map_sqlstate(const char *state)
{
	if (state == NULL)
		return ST_IO;
	if (strcmp(state, "23505") == 0) /* unique_violation */
		return ST_EXISTS;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return ST_CONFLICT; /* serialization failure, deadlock: retry */
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57014") == 0 || strcmp(state, "25006") == 0 ||
	    strcmp(state, "57P03") == 0)
		return ST_UNAVAILABLE; /* connection, shutdown, timeout, a standby */
	if (strcmp(state, "53100") == 0)
		return ST_FULL;
	if (strncmp(state, "22", 2) == 0)
		return ST_INVALID;
	return ST_IO;
}

static void
conn_drop(struct pgconn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->prepared = 0;
}

/* Waits until the socket is ready for ev, or the deadline. 0, or -1. */
static int
wait_sock(PGconn *pg, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = PQsocket(pg), .events = ev };
	int64_t left;
	int rc;

	if (p.fd < 0)
		return -1;
	do {
		if ((left = deadline - mono_ms()) <= 0)
			return -1;
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

/* Collects the results of what was sent, by the deadline. *res gets the last
 * (caller PQclears it). ST_OK, the SQLSTATE's status, or ST_UNAVAILABLE (the
 * connection is dropped: deadline missed or server gone). */
static int
collect(struct pgconn *c, int64_t deadline, PGresult **res)
{
	PGresult *r, *last = NULL;
	int rc = ST_OK;

	*res = NULL;
	for (;;) {
		while (PQflush(c->pg) == 1)
			if (wait_sock(c->pg, POLLOUT | POLLIN, deadline) != 0 ||
			    !PQconsumeInput(c->pg))
				goto broken;
		while (PQisBusy(c->pg))
			if (wait_sock(c->pg, POLLIN, deadline) != 0 || !PQconsumeInput(c->pg))
				goto broken;
		if ((r = PQgetResult(c->pg)) == NULL)
			break;
		PQclear(last);
		last = r;
	}
	if (last == NULL)
		goto broken;
	switch (PQresultStatus(last)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		break;
	default:
		rc = map_sqlstate(PQresultErrorField(last, PG_DIAG_SQLSTATE));
		if (PQstatus(c->pg) != CONNECTION_OK || rc == ST_UNAVAILABLE)
			conn_drop(c);
	}
	*res = last;
	return rc;
broken:
	PQclear(last);
	conn_drop(c);
	return ST_UNAVAILABLE;
}

static int
exec_sql(struct pgconn *c, const char *sql, int64_t deadline, PGresult **res)
{
	*res = NULL;
	if (c->pg == NULL || !PQsendQuery(c->pg, sql)) {
		conn_drop(c);
		return ST_UNAVAILABLE;
	}
	return collect(c, deadline, res);
}

static int
exec_prepared(struct pgconn *c, const char *stmt, int n, const char *const *params,
    int64_t deadline, PGresult **res)
{
	*res = NULL;
	if (c->pg == NULL || !PQsendQueryPrepared(c->pg, stmt, n, params, NULL, NULL, 0)) {
		conn_drop(c);
		return ST_UNAVAILABLE;
	}
	return collect(c, deadline, res);
}

/* Runs sql, dropping its result. */
static int
exec_simple(struct pgconn *c, const char *sql, int64_t deadline)
{
	PGresult *r;
	int rc = exec_sql(c, sql, deadline, &r);

	PQclear(r);
	return rc;
}

/* Server notices ("relation already exists, skipping") are not ours to print. */
static void
notice_drop(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connects with a deadline (libpq's own connect_timeout applies per host too). */
static int
conn_open(struct pgconn *c, const char *conninfo, int64_t deadline)
{
	static const char *const kw[] = { "connect_timeout", "dbname", NULL };
	const char *val[] = { "5", conninfo, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	conn_drop(c);
	if ((c->pg = PQconnectStartParams(kw, val, 1)) == NULL)
		return ST_ERROR;
	if (PQstatus(c->pg) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			goto fail;
		if (wait_sock(c->pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline) != 0)
			goto fail;
		st = PQconnectPoll(c->pg);
	}
	if (PQsetnonblocking(c->pg, 1) != 0)
		goto fail;
	PQsetNoticeProcessor(c->pg, notice_drop, NULL);
	return ST_OK;
fail:
	conn_drop(c);
	return ST_UNAVAILABLE;
}

/* ---- prepared statements ---- */

enum stmt { S_GET, S_INS, S_PUT, S_TAKE, S_DEL, S_EXP, S__KIND };
#define STMT_NAME_MAX 32

static void
stmt_name(char *out, enum stmt s, enum rec_kind k)
{
	snprintf(out, STMT_NAME_MAX, "r%d_%d", (int)s, (int)k);
}

#define COLS "owner, version, expires, spent, body::text"

/* take-once: the one statement that decides who wins. */
#define TAKE_KEEP                                                         \
	"UPDATE %s SET spent = true, version = version + 1 WHERE id = $1" \
	" AND ($2::text IS NULL OR owner = $2) AND NOT spent"             \
	" AND (expires = 0 OR expires > $3::bigint) RETURNING " COLS
#define TAKE_DELETE                                                         \
	"DELETE FROM %s WHERE id = $1 AND ($2::text IS NULL OR owner = $2)" \
	" AND NOT spent AND (expires = 0 OR expires > $3::bigint) RETURNING " COLS

static int
prepare_all(struct pgconn *c, int64_t deadline)
{
	char sql[1024], name[STMT_NAME_MAX];
	PGresult *r;
	int rc;

	for (int k = 0; k < RK__COUNT; k++) {
		const char *t = pg_kinds[k].table;

		for (int s = 0; s < S__KIND; s++) {
			switch (s) {
			case S_GET:
				snprintf(
				    sql, sizeof(sql), "SELECT " COLS " FROM %s WHERE id = $1", t);
				break;
			case S_INS:
				/* An expired record in the way is replaced; versions only grow. */
				snprintf(sql, sizeof(sql),
				    "INSERT INTO %s AS t (id, owner, version, expires, spent, body)"
				    " VALUES ($1, $2, 1, $3::bigint, $4::boolean, $5::jsonb)"
				    " ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner,"
				    " version = t.version + 1, expires = EXCLUDED.expires,"
				    " spent = EXCLUDED.spent, body = EXCLUDED.body"
				    " WHERE t.expires > 0 AND t.expires <= $6::bigint RETURNING version",
				    t);
				break;
			case S_PUT:
				snprintf(sql, sizeof(sql),
				    "UPDATE %s SET owner = $2, version = version + 1,"
				    " expires = $3::bigint, spent = $4::boolean, body = $5::jsonb"
				    " WHERE id = $1 AND version = $6::bigint RETURNING version",
				    t);
				break;
			case S_TAKE:
				if (pg_kinds[k].keep_taken)
					snprintf(sql, sizeof(sql), TAKE_KEEP, t);
				else
					snprintf(sql, sizeof(sql), TAKE_DELETE, t);
				break;
			case S_DEL:
				snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", t);
				break;
			case S_EXP:
				/* Uses <table>_expires; bounded by $2 rows a call. */
				snprintf(sql, sizeof(sql),
				    "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE expires > 0"
				    " AND expires < $1::bigint ORDER BY expires LIMIT $2::bigint)",
				    t, t);
				break;
			}
			stmt_name(name, (enum stmt)s, (enum rec_kind)k);
			if (!PQsendPrepare(c->pg, name, sql, 0, NULL)) {
				conn_drop(c);
				return ST_UNAVAILABLE;
			}
			if ((rc = collect(c, deadline, &r)) != ST_OK) {
				PQclear(r);
				return rc;
			}
			PQclear(r);
		}
	}
	static const char *const other[][2] = {
		{ "audit", "INSERT INTO audit (node, event, fields) VALUES ($1, $2, $3::jsonb)" },
		{ "count",
		    "INSERT INTO counters AS c (id, n, expires) VALUES ($1, 1, $2::bigint + $3::bigint)"
		    " ON CONFLICT (id) DO UPDATE SET"
		    " n = CASE WHEN c.expires <= $2::bigint THEN 1 ELSE c.n + 1 END,"
		    " expires = CASE WHEN c.expires <= $2::bigint THEN $2::bigint + $3::bigint"
		    " ELSE c.expires END RETURNING n" },
		{ "count_get", "SELECT n FROM counters WHERE id = $1 AND expires > $2::bigint" },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		if (!PQsendPrepare(c->pg, other[i][0], other[i][1], 0, NULL)) {
			conn_drop(c);
			return ST_UNAVAILABLE;
		}
		if ((rc = collect(c, deadline, &r)) != ST_OK) {
			PQclear(r);
			return rc;
		}
		PQclear(r);
	}
	c->prepared = 1;
	return ST_OK;
}

/* ---- the pool ---- */

/* Borrows a connection, connected and prepared, by the deadline. ST_BUSY when
 * none came free in time, ST_UNAVAILABLE when the server cannot be reached. */
static int
pool_get(struct pg_records *p, int64_t deadline, struct pgconn **out)
{
	struct timespec until;
	struct pgconn *c;
	int rc;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += p->deadline_ms / 1000;
	until.tv_nsec += (long)(p->deadline_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (p->nidle == 0)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0 && p->nidle == 0) {
			pthread_mutex_unlock(&p->mu);
			return ST_BUSY;
		}
	c = &p->conns[p->idle[--p->nidle]];
	pthread_mutex_unlock(&p->mu);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		if ((rc = conn_open(c, p->conninfo, deadline)) != ST_OK)
			goto fail;
	}
	if (!c->prepared && (rc = prepare_all(c, deadline)) != ST_OK)
		goto fail;
	*out = c;
	return ST_OK;
fail:
	conn_drop(c);
	pthread_mutex_lock(&p->mu);
	p->idle[p->nidle++] = (unsigned)(c - p->conns);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static void
pool_put(struct pg_records *p, struct pgconn *c)
{
	/* A connection left inside a transaction (an error path) is not reused as is. */
	if (c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		conn_drop(c);
	pthread_mutex_lock(&p->mu);
	p->idle[p->nidle++] = (unsigned)(c - p->conns);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ---- rows <-> records ---- */

static int
row_to_rec(PGresult *r, int row, struct rec *out)
{
	const char *owner = PQgetvalue(r, row, 0);

	if (strlen(owner) > REC_OWNER_MAX)
		return ST_CORRUPT;
	memcpy(out->owner, owner, strlen(owner) + 1);
	out->version = strtoull(PQgetvalue(r, row, 1), NULL, 10);
	out->expires = strtoll(PQgetvalue(r, row, 2), NULL, 10);
	out->spent = PQgetvalue(r, row, 3)[0] == 't';
	json_decref(out->body);
	out->body = json_loads(PQgetvalue(r, row, 4), JSON_REJECT_DUPLICATES, NULL);
	return json_is_object(out->body) ? ST_OK : ST_CORRUPT;
}

static int
get_on(struct pgconn *c, enum rec_kind kind, const char *id, int64_t deadline, struct rec *out)
{
	char name[STMT_NAME_MAX];
	const char *params[1] = { id };
	PGresult *r;
	int rc;

	stmt_name(name, S_GET, kind);
	if ((rc = exec_prepared(c, name, 1, params, deadline, &r)) == ST_OK)
		rc = PQntuples(r) == 1 ? row_to_rec(r, 0, out) : ST_NOTFOUND;
	PQclear(r);
	return rc;
}

static int
pg_get(void *impl, enum rec_kind kind, const char *id, struct rec *out)
{
	struct pg_records *p = impl;
	int64_t deadline = mono_ms() + p->deadline_ms;
	struct pgconn *c;
	int rc;

	if ((rc = pool_get(p, deadline, &c)) != ST_OK)
		return rc;
	rc = get_on(c, kind, id, deadline, out);
	pool_put(p, c);
	if (rc == ST_OK && rec_expired(out, now_s()))
		rc = ST_EXPIRED;
	return rc;
}

/* ---- the batch: one transaction ---- */

static int
op_write(
    struct pgconn *c, enum stmt s, struct rec *r, uint64_t expect, int64_t now, int64_t deadline)
{
	char name[STMT_NAME_MAX], exp[24], ver[24], nowb[24];
	char *body = r->body != NULL ? json_dumps(r->body, JSON_COMPACT) : strdup("{}");
	const char *params[6];
	PGresult *res;
	int rc;

	if (body == NULL)
		return ST_ERROR;
	snprintf(exp, sizeof(exp), "%" PRId64, r->expires);
	snprintf(ver, sizeof(ver), "%" PRIu64, expect);
	snprintf(nowb, sizeof(nowb), "%" PRId64, now);
	params[0] = r->id;
	params[1] = r->owner;
	params[2] = exp;
	params[3] = r->spent ? "true" : "false";
	params[4] = body;
	params[5] = s == S_INS ? nowb : ver;
	stmt_name(name, s, r->kind);
	rc = exec_prepared(c, name, 6, params, deadline, &res);
	free_secret_str(body);
	if (rc == ST_OK && PQntuples(res) == 1)
		r->version = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	else if (rc == ST_OK && s == S_INS)
		rc = ST_EXISTS;
	else if (rc == ST_OK) {
		/* Refused: gone, or changed since it was read. */
		struct rec cur;

		rec_init(&cur, r->kind, r->id);
		rc = get_on(c, r->kind, r->id, deadline, &cur);
		if (rc == ST_OK)
			rc = ST_CONFLICT;
		rec_clear(&cur);
	}
	PQclear(res);
	return rc;
}

static int
op_take(struct pgconn *c, struct rec *r, int owner_check, int64_t now, int64_t deadline)
{
	char name[STMT_NAME_MAX], nowb[24], owner[REC_OWNER_MAX + 1];
	const char *params[3];
	PGresult *res;
	int rc;

	memcpy(owner, r->owner, sizeof(owner));
	snprintf(nowb, sizeof(nowb), "%" PRId64, now);
	params[0] = r->id;
	params[1] = owner_check ? owner : NULL;
	params[2] = nowb;
	stmt_name(name, S_TAKE, r->kind);
	if ((rc = exec_prepared(c, name, 3, params, deadline, &res)) != ST_OK) {
		PQclear(res);
		return rc;
	}
	if (PQntuples(res) == 1) {
		rc = row_to_rec(res, 0, r);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	/* Nobody's to take: say why, from what is there now. */
	if ((rc = get_on(c, r->kind, r->id, deadline, r)) != ST_OK)
		return rc;
	if ((rc = rec_take_refusal(r, owner, owner_check, now)) != ST_OK)
		return rc;
	/* Taken between our statement and our look (a non-keeping kind): lost. */
	return ST_NOTFOUND;
}

static int
op_simple(struct pgconn *c, const char *stmt, int n, const char *const *params, int64_t deadline)
{
	PGresult *res;
	int rc = exec_prepared(c, stmt, n, params, deadline, &res);

	PQclear(res);
	return rc;
}

static int
pg_batch(void *impl, struct rec_op *ops, size_t n, size_t *failed)
{
	struct pg_records *p = impl;
	int64_t deadline = mono_ms() + p->deadline_ms, now = now_s();
	struct pgconn *c;
	size_t i;
	int rc;

	if ((rc = pool_get(p, deadline, &c)) != ST_OK)
		return rc;
	if ((rc = exec_simple(c, "BEGIN", deadline)) != ST_OK) {
		pool_put(p, c);
		return rc;
	}
	for (i = 0; i < n && rc == ST_OK; i++) {
		struct rec_op *op = &ops[i];
		char name[STMT_NAME_MAX];

		switch (op->type) {
		case ROP_INSERT:
			rc = op_write(c, S_INS, op->rec, 0, now, deadline);
			break;
		case ROP_PUT_IF_VERSION:
			rc = op_write(c, S_PUT, op->rec, op->expect, now, deadline);
			break;
		case ROP_TAKE:
			rc = op_take(c, op->rec, op->owner_check, now, deadline);
			break;
		case ROP_DELETE: {
			const char *params[1] = { op->rec->id };

			stmt_name(name, S_DEL, op->rec->kind);
			rc = op_simple(c, name, 1, params, deadline);
			break;
		}
		case ROP_AUDIT: {
			char *f = json_dumps(
			    op->fields != NULL ? op->fields : json_object(), JSON_COMPACT);
			const char *params[3] = { p->node, op->event, f };

			rc = f != NULL ? op_simple(c, "audit", 3, params, deadline) : ST_ERROR;
			free(f);
			break;
		}
		default:
			rc = ST_INVALID;
		}
		if (rc != ST_OK && failed != NULL)
			*failed = i;
	}
	if (rc == ST_OK)
		rc = exec_simple(c, "COMMIT", deadline);
	else if (c->pg != NULL)
		exec_simple(c, "ROLLBACK", deadline);
	pool_put(p, c);
	return rc;
}

/* ---- counters and expiry ---- */

static int
pg_count(void *impl, const char *id, int64_t now, int window_s, int64_t *value)
{
	struct pg_records *p = impl;
	int64_t deadline = mono_ms() + p->deadline_ms;
	char nowb[24], win[16];
	const char *params[3] = { id, nowb, win };
	struct pgconn *c;
	PGresult *r;
	int rc;

	snprintf(nowb, sizeof(nowb), "%" PRId64, now);
	snprintf(win, sizeof(win), "%d", window_s);
	if ((rc = pool_get(p, deadline, &c)) != ST_OK)
		return rc;
	if ((rc = exec_prepared(c, "count", 3, params, deadline, &r)) == ST_OK)
		*value = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	pool_put(p, c);
	return rc;
}

static int
pg_count_get(void *impl, const char *id, int64_t now, int64_t *value)
{
	struct pg_records *p = impl;
	int64_t deadline = mono_ms() + p->deadline_ms;
	char nowb[24];
	const char *params[2] = { id, nowb };
	struct pgconn *c;
	PGresult *r;
	int rc;

	snprintf(nowb, sizeof(nowb), "%" PRId64, now);
	if ((rc = pool_get(p, deadline, &c)) != ST_OK)
		return rc;
	if ((rc = exec_prepared(c, "count_get", 2, params, deadline, &r)) == ST_OK)
		*value = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	pool_put(p, c);
	return rc;
}

static int
pg_expire(void *impl, enum rec_kind kind, int64_t cutoff, size_t budget, long *removed)
{
	struct pg_records *p = impl;
	int64_t deadline = mono_ms() + p->deadline_ms;
	char name[STMT_NAME_MAX], cut[24], lim[24];
	const char *params[2] = { cut, lim };
	struct pgconn *c;
	PGresult *r;
	int rc;

	snprintf(cut, sizeof(cut), "%" PRId64, cutoff);
	snprintf(lim, sizeof(lim), "%zu", budget);
	stmt_name(name, S_EXP, kind);
	if ((rc = pool_get(p, deadline, &c)) != ST_OK)
		return rc;
	if ((rc = exec_prepared(c, name, 2, params, deadline, &r)) == ST_OK)
		*removed = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	pool_put(p, c);
	return rc;
}

static void
pg_close(void *impl)
{
	struct pg_records *p = impl;

	for (unsigned i = 0; i < p->n; i++)
		conn_drop(&p->conns[i]);
	free(p->conns);
	free(p->idle);
	free_secret_str(p->conninfo);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

static const struct records_backend pg_backend = {
	.name = "postgresql",
	.get = pg_get,
	.batch = pg_batch,
	.count = pg_count,
	.count_get = pg_count_get,
	.expire = pg_expire,
	.close = pg_close,
};

/* ---- schema version and migrations ---- */

/* The schema version on c: 0 when the database has none yet. */
static int
schema_read(struct pgconn *c, int64_t deadline, int *version)
{
	PGresult *r;
	int rc;

	*version = 0;
	rc = exec_sql(c, "SELECT to_regclass('authd_schema') IS NOT NULL", deadline, &r);
	if (rc == ST_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't') {
		PQclear(r);
		rc = exec_sql(c, "SELECT version FROM authd_schema", deadline, &r);
		if (rc == ST_OK && PQntuples(r) == 1)
			*version = atoi(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return rc;
}

int
records_pg_migrate(const char *conninfo, int *from, int *to)
{
	struct pgconn c = { 0 };
	int64_t deadline = mono_ms() + 60000;
	char sql[160];
	int rc, v;

	*from = *to = 0;
	if (conninfo == NULL)
		return ST_INVALID;
	if ((rc = conn_open(&c, conninfo, deadline)) != ST_OK)
		return rc;
	/* One migrator at a time, however many nodes start together; DDL is
	 * transactional, so a failed step leaves the previous version whole. */
	if ((rc = exec_simple(&c, "BEGIN", deadline)) != ST_OK ||
	    (rc = exec_simple(&c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", deadline)) !=
	        ST_OK ||
	    (rc = exec_simple(&c,
	         "CREATE TABLE IF NOT EXISTS authd_schema (one boolean PRIMARY KEY"
	         " DEFAULT true CHECK (one), version int NOT NULL)",
	         deadline)) != ST_OK ||
	    (rc = schema_read(&c, deadline, &v)) != ST_OK)
		goto out;
	*from = *to = v;
	if (v > SCHEMA_VERSION) {
		rc = ST_CONFLICT; /* a newer authd migrated it: this one must not write it */
		goto out;
	}
	for (; v < SCHEMA_VERSION; v++)
		if ((rc = exec_simple(&c, migrations[v], deadline)) != ST_OK)
			goto out;
	snprintf(sql, sizeof(sql),
	    "INSERT INTO authd_schema (version) VALUES (%d) ON CONFLICT (one) DO UPDATE SET version = %d",
	    v, v);
	if ((rc = exec_simple(&c, sql, deadline)) != ST_OK ||
	    (rc = exec_simple(&c, "COMMIT", deadline)) != ST_OK)
		goto out;
	*to = v;
out:
	conn_drop(&c);
	return rc;
}

int
records_open_pg(const struct records_pg_opts *o, struct records **out)
{
	struct pg_records *p;
	struct pgconn probe = { 0 };
	int64_t deadline;
	int rc, v;

	*out = NULL;
	if (o == NULL || o->conninfo == NULL || o->pool > PG_MAX_POOL || o->deadline_ms < 0)
		return ST_INVALID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ST_ERROR;
	p->n = o->pool ? o->pool : PG_DEFAULT_POOL;
	p->deadline_ms = o->deadline_ms ? o->deadline_ms : PG_DEFAULT_DEADLINE;
	if (gethostname(p->node, sizeof(p->node) - 12) != 0)
		snprintf(p->node, sizeof(p->node), "node");
	snprintf(
	    p->node + strlen(p->node), sizeof(p->node) - strlen(p->node), ":%d", (int)getpid());
	p->conninfo = strdup(o->conninfo);
	p->conns = calloc(p->n, sizeof(*p->conns));
	p->idle = calloc(p->n, sizeof(*p->idle));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (p->conninfo == NULL || p->conns == NULL || p->idle == NULL) {
		pg_close(p);
		return ST_ERROR;
	}
	for (unsigned i = 0; i < p->n; i++)
		p->idle[p->nidle++] = i;
	/* The schema must be this build's: older asks for `authctl store migrate`. */
	deadline = mono_ms() + p->deadline_ms;
	if ((rc = conn_open(&probe, p->conninfo, deadline)) == ST_OK &&
	    (rc = schema_read(&probe, deadline, &v)) == ST_OK && v != SCHEMA_VERSION)
		rc = ST_CONFLICT;
	conn_drop(&probe);
	if (rc != ST_OK) {
		pg_close(p);
		return rc;
	}
	if ((rc = records_wrap(&pg_backend, p, out)) != ST_OK)
		pg_close(p);
	return rc;
}

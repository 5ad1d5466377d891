/* authd/records.h — the store as a set of operations (issue 13, decision 0011):
 * typed records and the few retry-safe things both engines do natively. An engine
 * is a backend behind one vtable: LMDB (records_lmdb.c, on store.h's writer
 * thread and group commit) and PostgreSQL (records_pg.c, libpq with a pool).
 *
 * Every call is synchronous and may block (an fsync, a network round trip):
 * call it on a worker thread (work.h, WORK_STORE class), never on an event loop.
 *
 * Invariants:
 *  - A call either happened completely (durably) or not at all; its status says
 *    which. Statuses are refusals or failures, never both: ST_NOTFOUND,
 *    ST_EXPIRED, ST_EXISTS, ST_CONFLICT, ST_DENIED are answers of the data
 *    (nothing changed); ST_UNAVAILABLE (engine unreachable within its deadline),
 *    ST_IO, ST_FULL, ST_CORRUPT, ST_SHUTDOWN are failures (nothing changed either).
 *  - Every write sets the record's version: 1 on insert, +1 on each change. A
 *    put-if-version with a stale version is refused (ST_CONFLICT), so two nodes
 *    that read the same record can never both write it.
 *  - take-once consumes a record exactly once, however many callers race for it.
 *  - Callers never build keys: a record is named by its kind and its id (the
 *    hex SHA-256 of a bearer secret, rec_secret_id(), for bearer kinds).
 * Ownership: a struct rec's body is owned by the struct (rec_clear drops it);
 * records_* borrow what they are given and fill *out with new references. */
#ifndef AUTHD_RECORDS_H
#define AUTHD_RECORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The kinds of record on the operations interface. More join as their callers
 * move (login transactions, challenges, device codes, sessions: issue 13). */
enum rec_kind {
	RK_CODE,    /* authorization code: id = hex sha256(code), owner = client_id;
	             * take-once keeps it as a spent tombstone until it expires, so a
	             * replay is recognised (RFC 6749 §4.1.2) */
	RK_REFRESH, /* refresh token: id = hex sha256(token); body {family, gen} */
	RK_FAMILY,  /* refresh family: id = family id, owner = client_id; version is
	             * bumped by every rotation and revocation */
	RK_JTI,     /* a used one-time id (client assertion jti, nonce): insert-if-absent */
	RK_TXN,     /* a pending one-time transaction (challenge, MFA or device token):
	             * take-once deletes it */
	RK__COUNT
};

#define REC_ID_MAX    160 /* bytes of an id */
#define REC_OWNER_MAX 128 /* bytes of an owner (a client_id) */

struct rec {
	enum rec_kind kind;
	char id[REC_ID_MAX + 1];
	char owner[REC_OWNER_MAX + 1]; /* "" when the kind has none */
	uint64_t version;              /* 0: not read from the store */
	int64_t expires;               /* unix seconds; 0: never */
	int spent;                     /* taken (RK_CODE tombstones only) */
	json_t *body;                  /* the kind's own fields (a JSON object), owned */
};

/* Sets kind and id ("" owner, no body). ST_INVALID when id is empty or too long. */
int rec_init(struct rec *r, enum rec_kind kind, const char *id);
/* Drops the body and zeroes the struct. */
void rec_clear(struct rec *r);
/* The id of a bearer secret: hex SHA-256 (65 bytes with the NUL). */
void rec_secret_id(const char *secret, char id[65]);
/* The kind's name ("code", "refresh", ...): tables, logs, tests. */
const char *rec_kind_name(enum rec_kind kind);

struct records;

/* ---- single operations ---- */

/* The live record: ST_OK, ST_NOTFOUND, or ST_EXPIRED (past expires; *out is
 * still filled so the caller can say so). A spent code is returned with spent 1. */
int records_get(struct records *s, enum rec_kind kind, const char *id, struct rec *out);
/* insert-if-absent: ST_OK (r->version becomes 1, or one more than that of an
 * expired record it replaced: versions never go back) or ST_EXISTS (nothing
 * written). */
int records_insert(struct records *s, struct rec *r);
/* put-if-version (compare-and-set): writes r when the stored version is still
 * expect: ST_OK (r->version becomes expect + 1), ST_CONFLICT (changed meanwhile),
 * ST_NOTFOUND (gone). */
int records_put_if_version(struct records *s, struct rec *r, uint64_t expect);
/* take-once: consumes the record and returns it. owner non-NULL: the record
 * must be that owner's, else ST_DENIED and nothing changes (a stolen code must
 * not burn its rightful client's). ST_OK: this caller won; ST_CONFLICT: spent
 * before (RK_CODE; *out filled, for reuse handling); ST_NOTFOUND; ST_EXPIRED
 * (nothing consumed, *out filled). */
int records_take(
    struct records *s, enum rec_kind kind, const char *id, const char *owner, struct rec *out);
/* Counter increment with expiry (throttling): adds 1 to counter id, starting a
 * fresh window of window_s seconds when there is none or it ended. *value is
 * the count after this increment. */
int records_count(struct records *s, const char *id, int64_t now, int window_s, int64_t *value);
/* The counter's value (0 when absent or its window ended). */
int records_count_get(struct records *s, const char *id, int64_t now, int64_t *value);
/* Removes up to budget records of kind that expired before cutoff; *removed
 * says how many. PostgreSQL uses its expiry index; LMDB scans (bounded). */
int
records_expire(struct records *s, enum rec_kind kind, int64_t cutoff, size_t budget, long *removed);

/* ---- a small atomic batch ---- */

enum rec_op_type {
	ROP_INSERT,         /* rec: written if absent */
	ROP_PUT_IF_VERSION, /* rec: written if its stored version is expect */
	ROP_TAKE,           /* rec: kind, id (and owner when owner_check) in; the record out */
	ROP_DELETE,         /* rec: kind and id; absent is fine */
	ROP_AUDIT,          /* event and fields: one audit record (hash-chained) */
};

struct rec_op {
	enum rec_op_type type;
	struct rec *rec;
	uint64_t expect;   /* ROP_PUT_IF_VERSION */
	int owner_check;   /* ROP_TAKE: rec->owner must match */
	const char *event; /* ROP_AUDIT */
	const json_t *fields;
};

#define REC_BATCH_MAX 16

/* Runs ops[0..n) in one transaction: all are kept or none. ST_OK, or the status
 * of the first op that refused or failed, whose index goes to *failed (when not
 * NULL); nothing of the batch is then written. n <= REC_BATCH_MAX. */
int records_batch(struct records *s, struct rec_op *ops, size_t n, size_t *failed);
/* One audit record, on its own. */
int records_audit(struct records *s, const char *event, const json_t *fields);

/* ---- engines ---- */

/* The backend vtable: every operation above is one of these. */
struct records_backend {
	const char *name;
	int (*get)(void *impl, enum rec_kind kind, const char *id, struct rec *out);
	int (*batch)(void *impl, struct rec_op *ops, size_t n, size_t *failed);
	int (*count)(void *impl, const char *id, int64_t now, int window_s, int64_t *value);
	int (*count_get)(void *impl, const char *id, int64_t now, int64_t *value);
	int (*expire)(void *impl, enum rec_kind kind, int64_t cutoff, size_t budget, long *removed);
	void (*close)(void *impl);
};

/* For engines: a record past its expiry (expires 0: never). */
int rec_expired(const struct rec *r, int64_t now);
/* For engines: why a take-once of the found record r must be refused, in the
 * order every engine keeps: another owner (when owner_check) is ST_DENIED and
 * r's body and owner are dropped, so a wrong owner learns nothing and burns
 * nothing; then spent (ST_CONFLICT), then expired (ST_EXPIRED); else ST_OK. */
int rec_take_refusal(struct rec *r, const char *owner, int owner_check, int64_t now);

/* Wraps an engine (used by the backends' open functions). */
int records_wrap(const struct records_backend *be, void *impl, struct records **out);
/* Closes the engine (for LMDB: not the struct store it borrows). NULL is fine. */
void records_close(struct records *s);
const char *records_backend_name(const struct records *s);

struct store;
/* The LMDB engine on an open store (borrowed; close the records first). Writes
 * go through store_write_sync: group commit, answered after the fsync. */
int records_open_lmdb(struct store *st, struct records **out);

struct records_pg_opts {
	const char *conninfo; /* libpq connection string; several hosts allowed */
	unsigned pool;        /* connections (0: 4) */
	int deadline_ms; /* how long a call may wait for a connection and its answer (0: 5000) */
};
/* The PostgreSQL engine: checks the schema is current (records_pg_migrate
 * otherwise; ST_CONFLICT when it is older or newer than this build's). */
int records_open_pg(const struct records_pg_opts *o, struct records **out);
/* Brings the schema to this build's version (authctl store migrate); *from and
 * *to say which versions (equal: nothing to do). ST_CONFLICT when the database
 * is newer than this build. */
int records_pg_migrate(const char *conninfo, int *from, int *to);
/* The schema version this build expects. */
int records_pg_schema_version(void);

#endif

/* authd/store.h — the storage interface (LMDB backend in store_lmdb.c).
 *
 * A key/value store of named tables whose values are versioned JSON records.
 * Callers never see LMDB: a PostgreSQL backend can implement this same header.
 *
 * Invariants:
 *  - Exactly one thread per process writes: the writer thread started by
 *    store_open(). Everyone else hands it a write function (store_write_*), which
 *    runs inside a nested transaction of a batch; a failing function is rolled
 *    back alone. The batch is committed with one fsync ("group commit"), and only
 *    then is each caller told the result. After a crash a write either happened
 *    completely or not at all, and no caller was told it succeeded before it was
 *    durable.
 *  - Other processes (authctl) may write at the same time; LMDB serialises them.
 *    Write functions must therefore read what they depend on inside their own
 *    transaction (never decide from an earlier read-only view).
 *  - Reads use a per-thread read-only transaction, renewed by store_read_begin()
 *    so every request sees the latest committed state.
 *  - Values are stored as one version byte (STORE_RECORD_V1) followed by compact JSON.
 *  - Bearer secrets (session ids, codes, refresh tokens) are keyed by their
 *    SHA-256 only; the secret itself is never stored.
 */
#ifndef AUTHD_STORE_H
#define AUTHD_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

enum store_table {
	T_USERS,        /* user id (32 hex) -> {username, display_name, email, disabled, created, ...} */
	T_USERNAMES,    /* lowercased username -> {"id": user id} */
	T_CREDS,        /* "<user id>/<method>/<cred id>" -> method-specific record */
	T_CRED_INDEX,   /* "<method>/<lookup key>" -> {"user": id, "cred": cred id} */
	T_CLIENTS,      /* client_id -> client record */
	T_SESSIONS,     /* hex sha256(session id) -> session record */
	T_CODES,        /* hex sha256(code) -> authorization code record */
	T_REFRESH,      /* hex sha256(refresh token) -> {"family": id, "gen": n} */
	T_FAMILIES,     /* family id -> refresh family record (current gen, revoked, ...) */
	T_DEVICE,       /* device codes (RFC 8628) */
	T_LOGINS,       /* login transaction id -> pending authorization request */
	T_THROTTLE,     /* "u:<username>" / "a:<address>" -> failure counters */
	T_AUDIT,        /* 8-byte big-endian sequence -> audit record (hash-chained) */
	T_META,         /* "schema", "keyring", "secret" ... */
	T_JTI,          /* used one-time ids (client assertion jti, revoked access-token jti) -> {exp} */
	T__COUNT
};

#define STORE_RECORD_V1 1

/* The store returns ST_* (status.h): ST_OK, ST_NOTFOUND (no such key),
 * ST_EXISTS (store_put with STORE_NOOVERWRITE and the key exists), ST_CONFLICT
 * (a write function refused: its own rule failed), ST_FULL (map full),
 * ST_CORRUPT (record with unknown version or bad JSON), ST_IO (any other backend
 * failure), ST_SHUTDOWN (the writer is stopping; nothing was written),
 * ST_INVALID (bad argument: key size, table, value size, reserved name; nothing
 * done). STORE_* are their old names, kept while callers move to ST_*. */
#define STORE_OK       ST_OK
#define STORE_NOTFOUND ST_NOTFOUND
#define STORE_EXISTS   ST_EXISTS
#define STORE_CONFLICT ST_CONFLICT
#define STORE_FULL     ST_FULL
#define STORE_CORRUPT  ST_CORRUPT
#define STORE_IO       ST_IO
#define STORE_SHUTDOWN ST_SHUTDOWN
#define STORE_INVALID  ST_INVALID

struct store;
struct store_txn;   /* a read-only or read-write view */

struct store_opts {
	size_t map_size;        /* bytes; default 1 GiB */
	int nosync;             /* 1: no fsync (tests/benchmarks only) */
	unsigned max_batch;     /* writes per group commit; default 256 */
	int no_writer;          /* 1: do not start the writer thread (authctl: it writes with store_write_sync directly) */
};

/* Opens (creating dir 0700 and the tables if absent) and starts the writer thread. */
int store_open(struct store **out, const char *dir, const struct store_opts *opts);
/* Stops accepting writes, commits what is queued, joins the writer, closes. */
void store_close(struct store *s);

/* Per-thread read view; valid until store_read_end() on the same thread. NULL on
 * failure (reader table full). Calls nest: an inner begin returns the same view.
 * End every view before the thread exits; close the store after its threads stop. */
struct store_txn *store_read_begin(struct store *s);
void store_read_end(struct store_txn *t);

/* Record access. Keys are byte strings (klen bytes). get returns a new reference. */
int store_get(struct store_txn *t, enum store_table tab, const void *key, size_t klen, json_t **out);
#define STORE_NOOVERWRITE 1
int store_put(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
              const json_t *value, unsigned flags);
int store_del(struct store_txn *t, enum store_table tab, const void *key, size_t klen);
/* Convenience for NUL-terminated keys. */
int store_gets(struct store_txn *t, enum store_table tab, const char *key, json_t **out);
int store_puts(struct store_txn *t, enum store_table tab, const char *key, const json_t *v, unsigned flags);
int store_dels(struct store_txn *t, enum store_table tab, const char *key);

/* Iterates keys >= from (all when from is NULL) in key order; stops when cb
 * returns non-zero (which is then returned). value is borrowed. */
typedef int (*store_iter_fn)(const void *key, size_t klen, json_t *value, void *ctx);
int store_iter(struct store_txn *t, enum store_table tab, const void *from, size_t flen,
               store_iter_fn cb, void *ctx);
/* As store_iter, but hands over the exact stored bytes (version byte included);
 * a record that does not parse is not an error here. val is valid only during cb. */
typedef int (*store_iter_raw_fn)(const void *key, size_t klen, const void *val, size_t vlen,
                                 void *ctx);
int store_iter_raw(struct store_txn *t, enum store_table tab, const void *from, size_t flen,
                   store_iter_raw_fn cb, void *ctx);
/* Raw access for the audit chain (which hashes the exact stored bytes). */
int store_get_raw(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
                  const void **val, size_t *vlen);
int store_put_raw(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
                  const void *val, size_t vlen);
/* Last key/value of a table (raw); ST_NOTFOUND when empty. */
int store_last_raw(struct store_txn *t, enum store_table tab, const void **key, size_t *klen,
                   const void **val, size_t *vlen);
/* Number of entries in a table. */
size_t store_count(struct store_txn *t, enum store_table tab);

/* A write function runs on the writer thread inside a read-write txn. It returns
 * ST_OK to keep its changes or any other code to have them rolled back. */
typedef int (*store_write_fn)(struct store_txn *t, void *ctx);
/* Called on the requesting event loop after the batch holding the write is durable
 * (or failed), with the write function's result. */
typedef void (*store_done_fn)(int rc, void *ctx);
/* Posts a completion to the caller's thread. The HTTP layer passes loop_post
 * bound to the request's loop; see http.h. */
typedef void (*store_post_fn)(void *poster, void (*fn)(void *), void *arg);

/* Queues fn; done(rc, ctx) later runs via post(poster, ...). Returns ST_OK when
 * queued, ST_SHUTDOWN when the writer is stopping (done is then not called).
 * post NULL: done runs on the writer thread itself (tests, fire-and-forget); done
 * may be NULL. Without a writer thread (no_writer) fn runs at once on the calling
 * thread and done is still delivered through post. */
int store_write_async(struct store *s, store_write_fn fn, store_done_fn done, void *ctx,
                      store_post_fn post, void *poster);
/* Runs fn in a durable transaction and waits for it. With the writer thread
 * running it is queued like any other write; without one (authctl), it runs
 * in its own transaction on the calling thread. */
int store_write_sync(struct store *s, store_write_fn fn, void *ctx);

/* The store's words for its own results (authctl prints them); "unknown store
 * error" for anything else. st_strerror (status.h) is the general one. */
const char *store_strerror(int rc);
/* Counters for /metrics. failed_writes: rolled back because the storage
 * failed (ST_FULL, ST_CORRUPT, ST_IO, ST_ERROR, or the commit) — alert on it;
 * refused_writes: rolled back by the write's own rule (a wrong code, a record
 * that exists, a lost race) — normal traffic. */
struct store_stats {
	uint64_t commits, writes, failed_writes, refused_writes;
};
void store_get_stats(struct store *s, struct store_stats *out);

#endif

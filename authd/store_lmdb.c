/* authd/store_lmdb.c — the LMDB backend of store.h: the environment and its named
 * tables, per-thread read views, record encoding (version byte + compact JSON) and
 * the writer thread that group-commits queued write functions.
 *
 * Invariants (see also store.h):
 *  - Only the writer thread opens write transactions in a process that runs one;
 *    store_write_sync without a writer (authctl) opens its own, and LMDB's
 *    inter-process writer mutex serialises it against the daemon.
 *  - A write function runs in a nested transaction of the batch; its changes are
 *    kept only when it returns ST_OK. Nobody hears about a write before the
 *    parent commit (the one fsync of the batch) returned.
 *  - Read views live in thread-specific data: one MDB read txn per thread and
 *    store, reset between requests and renewed on the next store_read_begin(). */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/util.h"
#include "store.h"

#define STORE_DEFAULT_MAP    ((size_t)1 << 30)
#define STORE_DEFAULT_BATCH  256u
#define STORE_MAX_BATCH      4096u
#define STORE_MAX_READERS    512u
#define STORE_MAX_KEY        511u          /* LMDB's compiled-in maximum key size */
#define STORE_MAX_VALUE      (1u << 20)    /* no record is near this; refuse runaway values */

/* Table names as they appear in the LMDB file (mdb_stat -a shows them). */
static const char *const table_names[T__COUNT] = {
	[T_USERS] = "users",
	[T_USERNAMES] = "usernames",
	[T_CREDS] = "credentials",
	[T_CRED_INDEX] = "credential_index",
	[T_CLIENTS] = "clients",
	[T_SESSIONS] = "sessions",
	[T_CODES] = "codes",
	[T_REFRESH] = "refresh",
	[T_FAMILIES] = "families",
	[T_DEVICE] = "device",
	[T_LOGINS] = "logins",
	[T_THROTTLE] = "throttle",
	[T_AUDIT] = "audit",
	[T_META] = "meta",
	[T_JTI] = "jti",
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int rw;                    /* 1: a write (or nested write) transaction */
	int depth;                 /* read views: nesting of store_read_begin() */
	struct store_txn *next;    /* read views: the store's list of them */
};

/* One queued write. Sync requests live on the caller's stack; async ones are
 * malloc'd and double as the completion record posted back to the caller. */
struct wreq {
	store_write_fn fn;
	void *ctx;
	store_done_fn done;
	store_post_fn post;
	void *poster;
	int sync;
	int rc;
	int finished;              /* sync: set under s->mu when rc is final */
	struct wreq *next;
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[T__COUNT];
	struct store_opts opts;

	pthread_key_t tls;         /* this thread's read view of this store */
	pthread_mutex_t rd_mu;     /* guards readers */
	struct store_txn *readers;

	pthread_mutex_t mu;        /* guards the queue and stopping */
	pthread_cond_t work_cv;    /* writer waits for work */
	pthread_cond_t done_cv;    /* sync callers wait for their result */
	struct wreq *head, *tail;
	int stopping;
	int writer_running;
	pthread_t writer;

	atomic_uint_fast64_t commits, writes, failed_writes, refused_writes;
};

static int
map_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return ST_OK;
	case MDB_NOTFOUND:
		return ST_NOTFOUND;
	case MDB_KEYEXIST:
		return ST_EXISTS;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return ST_FULL;
	case MDB_BAD_VALSIZE:
	case EACCES:               /* a write on a read-only view */
	case EINVAL:
		return ST_INVALID;
	default:
		return ST_IO;
	}
}

const char *
store_strerror(int rc)
{
	switch (rc) {
	case ST_OK:
		return "ok";
	case ST_NOTFOUND:
		return "not found";
	case ST_EXISTS:
		return "already exists";
	case ST_CONFLICT:
		return "refused by the write's own rule";
	case ST_FULL:
		return "store full (map size reached)";
	case ST_CORRUPT:
		return "corrupt record (unknown version or bad JSON)";
	case ST_IO:
		return "storage backend failure";
	case ST_SHUTDOWN:
		return "store is shutting down";
	case ST_INVALID:
		return "invalid argument";
	default: return "unknown store error";
	}
}

static int
check_args(const struct store_txn *t, enum store_table tab, size_t klen)
{
	if (t == NULL || t->txn == NULL || (unsigned)tab >= T__COUNT)
		return ST_INVALID;
	if (klen == 0 || klen > STORE_MAX_KEY)
		return ST_INVALID;
	return ST_OK;
}

/* ---- record access (read-only and write views alike) ---- */

int
store_get_raw(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
              const void **val, size_t *vlen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v;
	int rc;

	if ((rc = check_args(t, tab, klen)) != ST_OK)
		return rc;
	if ((rc = mdb_get(t->txn, t->s->dbi[tab], &k, &v)) != MDB_SUCCESS)
		return map_err(rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return ST_OK;
}

static int
decode(const void *val, size_t vlen, json_t **out)
{
	const unsigned char *p = val;

	*out = NULL;
	if (vlen < 2 || p[0] != STORE_RECORD_V1)
		return ST_CORRUPT;
	*out = json_loadb((const char *)p + 1, vlen - 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	                  NULL);
	return *out != NULL ? ST_OK : ST_CORRUPT;
}

int
store_get(struct store_txn *t, enum store_table tab, const void *key, size_t klen, json_t **out)
{
	const void *v;
	size_t vlen;
	int rc;

	*out = NULL;
	if ((rc = store_get_raw(t, tab, key, klen, &v, &vlen)) != ST_OK)
		return rc;
	return decode(v, vlen, out);
}

int
store_put_raw(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
              const void *val, size_t vlen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val v = { .mv_size = vlen, .mv_data = (void *)val };
	int rc;

	if ((rc = check_args(t, tab, klen)) != ST_OK)
		return rc;
	if (!t->rw || vlen > STORE_MAX_VALUE)
		return ST_INVALID;
	return map_err(mdb_put(t->txn, t->s->dbi[tab], &k, &v, 0));
}

int
store_put(struct store_txn *t, enum store_table tab, const void *key, size_t klen,
          const json_t *value, unsigned flags)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v;
	char *js;
	size_t n;
	int rc;

	if ((rc = check_args(t, tab, klen)) != ST_OK)
		return rc;
	if (!t->rw || value == NULL || (flags & ~(unsigned)STORE_NOOVERWRITE) != 0)
		return ST_INVALID;
	if ((js = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return ST_INVALID;
	n = strlen(js);
	if (n + 1 > STORE_MAX_VALUE) {
		free_secret_str(js);
		return ST_INVALID;
	}
	/* MDB_RESERVE: write version byte + JSON straight into the page. */
	v.mv_size = n + 1;
	v.mv_data = NULL;
	rc = mdb_put(t->txn, t->s->dbi[tab], &k, &v,
	             MDB_RESERVE | ((flags & STORE_NOOVERWRITE) ? MDB_NOOVERWRITE : 0));
	if (rc == MDB_SUCCESS) {
		((unsigned char *)v.mv_data)[0] = STORE_RECORD_V1;
		memcpy((unsigned char *)v.mv_data + 1, js, n);
	}
	/* Records may hold key material (keyring, server secret): no copy left behind. */
	free_secret_str(js);
	return map_err(rc);
}

int
store_del(struct store_txn *t, enum store_table tab, const void *key, size_t klen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	int rc;

	if ((rc = check_args(t, tab, klen)) != ST_OK)
		return rc;
	if (!t->rw)
		return ST_INVALID;
	return map_err(mdb_del(t->txn, t->s->dbi[tab], &k, NULL));
}

int
store_gets(struct store_txn *t, enum store_table tab, const char *key, json_t **out)
{
	if (key == NULL) {
		*out = NULL;
		return ST_INVALID;
	}
	return store_get(t, tab, key, strlen(key), out);
}

int
store_puts(struct store_txn *t, enum store_table tab, const char *key, const json_t *v,
           unsigned flags)
{
	if (key == NULL)
		return ST_INVALID;
	return store_put(t, tab, key, strlen(key), v, flags);
}

int
store_dels(struct store_txn *t, enum store_table tab, const char *key)
{
	if (key == NULL)
		return ST_INVALID;
	return store_del(t, tab, key, strlen(key));
}

int
store_iter_raw(struct store_txn *t, enum store_table tab, const void *from, size_t flen,
               store_iter_raw_fn cb, void *ctx)
{
	MDB_cursor *c;
	MDB_val k = { .mv_size = flen, .mv_data = (void *)from }, v;
	int rc, ret = ST_OK;

	if (t == NULL || t->txn == NULL || (unsigned)tab >= T__COUNT || cb == NULL)
		return ST_INVALID;
	if (from != NULL && (flen == 0 || flen > STORE_MAX_KEY))
		return ST_INVALID;
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != MDB_SUCCESS)
		return map_err(rc);
	rc = mdb_cursor_get(c, &k, &v, from != NULL ? MDB_SET_RANGE : MDB_FIRST);
	/* Bounded by the number of entries in the table. */
	while (rc == MDB_SUCCESS) {
		if ((ret = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ctx)) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (ret != 0)
		return ret;
	return rc == MDB_NOTFOUND ? ST_OK : map_err(rc);
}

struct iter_json {
	store_iter_fn cb;
	void *ctx;
};

static int
iter_json_cb(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct iter_json *ij = ctx;
	json_t *j;
	int rc;

	if ((rc = decode(val, vlen, &j)) != ST_OK)
		return rc;
	rc = ij->cb(key, klen, j, ij->ctx);
	json_decref(j);
	return rc;
}

int
store_iter(struct store_txn *t, enum store_table tab, const void *from, size_t flen,
           store_iter_fn cb, void *ctx)
{
	struct iter_json ij = { .cb = cb, .ctx = ctx };

	if (cb == NULL)
		return ST_INVALID;
	return store_iter_raw(t, tab, from, flen, iter_json_cb, &ij);
}

int
store_last_raw(struct store_txn *t, enum store_table tab, const void **key, size_t *klen,
               const void **val, size_t *vlen)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (t == NULL || t->txn == NULL || (unsigned)tab >= T__COUNT)
		return ST_INVALID;
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[tab], &c)) != MDB_SUCCESS)
		return map_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc != MDB_SUCCESS)
		return map_err(rc);
	*key = k.mv_data;
	*klen = k.mv_size;
	*val = v.mv_data;
	*vlen = v.mv_size;
	return ST_OK;
}

size_t
store_count(struct store_txn *t, enum store_table tab)
{
	MDB_stat st;

	if (t == NULL || t->txn == NULL || (unsigned)tab >= T__COUNT)
		return 0;
	if (mdb_stat(t->txn, t->s->dbi[tab], &st) != MDB_SUCCESS)
		return 0;
	return st.ms_entries;
}

/* ---- per-thread read views ---- */

/* Thread exit: drop this thread's view. Not called after store_close(), which
 * deletes the key before it frees the views itself. */
static void
read_view_release(void *p)
{
	struct store_txn *t = p, **pp;
	struct store *s = t->s;

	pthread_mutex_lock(&s->rd_mu);
	for (pp = &s->readers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&s->rd_mu);
	mdb_txn_abort(t->txn);
	free(t);
}

struct store_txn *
store_read_begin(struct store *s)
{
	struct store_txn *t;

	if (s == NULL)
		return NULL;
	if ((t = pthread_getspecific(s->tls)) != NULL) {
		if (t->depth > 0) {
			t->depth++;
			return t;
		}
		if (mdb_txn_renew(t->txn) != MDB_SUCCESS)
			return NULL;
		t->depth = 1;
		return t;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->s = s;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn) != MDB_SUCCESS) {
		free(t);
		return NULL;
	}
	if (pthread_setspecific(s->tls, t) != 0) {
		mdb_txn_abort(t->txn);
		free(t);
		return NULL;
	}
	t->depth = 1;
	pthread_mutex_lock(&s->rd_mu);
	t->next = s->readers;
	s->readers = t;
	pthread_mutex_unlock(&s->rd_mu);
	return t;
}

void
store_read_end(struct store_txn *t)
{
	if (t == NULL || t->rw || t->depth <= 0)
		return;
	/* Reset releases the snapshot so the writer can reuse its pages. */
	if (--t->depth == 0)
		mdb_txn_reset(t->txn);
}

/* ---- writes ---- */

/* A write's outcome for the counters: the storage failed it (operators alert
 * on these), or its own rule refused it — a mistyped code, a lost race, a
 * record that exists — which is a person's or a caller's doing, not the
 * store's. */
static int
write_storage_failed(int rc)
{
	return rc == ST_FULL || rc == ST_CORRUPT || rc == ST_IO || rc == ST_ERROR;
}

static void
count_writes(struct store *s, int committed, unsigned n, unsigned failed, unsigned refused)
{
	if (committed)
		atomic_fetch_add_explicit(&s->commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->writes, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->failed_writes, failed, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->refused_writes, refused, memory_order_relaxed);
}

/* A write in its own top-level transaction (no writer thread). */
static int
write_own_txn(struct store *s, store_write_fn fn, void *ctx)
{
	struct store_txn t = { .s = s, .rw = 1 };
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &t.txn)) != MDB_SUCCESS) {
		rc = map_err(rc);
		count_writes(s, 0, 1, 1, 0);
		return rc;
	}
	rc = fn(&t, ctx);
	if (rc == ST_OK) {
		rc = map_err(mdb_txn_commit(t.txn));
		count_writes(s, rc == ST_OK, 1, rc != ST_OK, 0);
	} else {
		mdb_txn_abort(t.txn);
		count_writes(s, 0, 1, write_storage_failed(rc), !write_storage_failed(rc));
	}
	return rc;
}

static void
complete_async(void *arg)
{
	struct wreq *w = arg;
	store_done_fn done = w->done;
	void *ctx = w->ctx;
	int rc = w->rc;

	free(w);
	if (done != NULL)
		done(rc, ctx);
}

static void
deliver(struct store *s, struct wreq *batch)
{
	struct wreq *w, *next;
	int any_sync = 0;

	for (w = batch; w != NULL; w = next) {
		next = w->next;
		if (w->sync) {
			pthread_mutex_lock(&s->mu);
			w->finished = 1;   /* w may vanish once the caller sees this */
			pthread_mutex_unlock(&s->mu);
			any_sync = 1;
		} else if (w->post != NULL) {
			w->post(w->poster, complete_async, w);
		} else {
			complete_async(w);
		}
	}
	if (any_sync) {
		pthread_mutex_lock(&s->mu);
		pthread_cond_broadcast(&s->done_cv);
		pthread_mutex_unlock(&s->mu);
	}
}

/* One group commit: every request in its own nested txn, one parent commit. */
static void
run_batch(struct store *s, struct wreq *batch)
{
	struct store_txn parent = { .s = s, .rw = 1 };
	struct wreq *w;
	unsigned n = 0, failed = 0, refused = 0;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, 0, &parent.txn);
	if (rc != MDB_SUCCESS) {
		rc = map_err(rc);
		for (w = batch; w != NULL; w = w->next, n++)
			w->rc = rc;
		count_writes(s, 0, n, n, 0);
		deliver(s, batch);
		return;
	}
	for (w = batch; w != NULL; w = w->next, n++) {
		struct store_txn child = { .s = s, .rw = 1 };

		if ((rc = mdb_txn_begin(s->env, parent.txn, 0, &child.txn)) != MDB_SUCCESS) {
			w->rc = map_err(rc);
			continue;
		}
		w->rc = w->fn(&child, w->ctx);
		if (w->rc == ST_OK) {
			/* A child commit only merges into the parent; it fails only when
			 * the function ignored an error of its own (txn flagged). */
			if ((rc = mdb_txn_commit(child.txn)) != MDB_SUCCESS)
				w->rc = map_err(rc) == ST_FULL ? ST_FULL : ST_IO;
		} else {
			mdb_txn_abort(child.txn);
		}
	}
	rc = mdb_txn_commit(parent.txn);
	if (rc != MDB_SUCCESS) {
		/* Nothing of the batch is durable: nobody may be told otherwise. */
		rc = map_err(rc) == ST_FULL ? ST_FULL : ST_IO;
		for (w = batch; w != NULL; w = w->next)
			w->rc = rc;
	}
	for (w = batch; w != NULL; w = w->next) {
		failed += w->rc != ST_OK && write_storage_failed(w->rc);
		refused += w->rc != ST_OK && !write_storage_failed(w->rc);
	}
	count_writes(s, rc == MDB_SUCCESS, n, failed, refused);
	deliver(s, batch);
}

static void *
writer_main(void *arg)
{
	struct store *s = arg;

	for (;;) {
		struct wreq *batch, *last;
		unsigned n;

		pthread_mutex_lock(&s->mu);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->work_cv, &s->mu);
		if (s->head == NULL) {
			/* stopping and drained */
			pthread_mutex_unlock(&s->mu);
			break;
		}
		batch = last = s->head;
		for (n = 1; n < s->opts.max_batch && last->next != NULL; n++)
			last = last->next;
		s->head = last->next;
		if (s->head == NULL)
			s->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->mu);
		run_batch(s, batch);
	}
	return NULL;
}

/* Appends w to the queue unless the store is stopping. Caller holds s->mu. */
static int
enqueue_locked(struct store *s, struct wreq *w)
{
	if (s->stopping)
		return ST_SHUTDOWN;
	w->next = NULL;
	if (s->tail != NULL)
		s->tail->next = w;
	else
		s->head = w;
	s->tail = w;
	pthread_cond_signal(&s->work_cv);
	return ST_OK;
}

int
store_write_async(struct store *s, store_write_fn fn, store_done_fn done, void *ctx,
                  store_post_fn post, void *poster)
{
	struct wreq *w;
	int rc;

	if (s == NULL || fn == NULL)
		return ST_INVALID;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ST_IO;
	w->fn = fn;
	w->ctx = ctx;
	w->done = done;
	w->post = post;
	w->poster = poster;
	pthread_mutex_lock(&s->mu);
	if (!s->writer_running) {
		int stopping = s->stopping;

		pthread_mutex_unlock(&s->mu);
		if (stopping) {
			free(w);
			return ST_SHUTDOWN;
		}
		w->rc = write_own_txn(s, fn, ctx);
		w->next = NULL;
		deliver(s, w);
		return ST_OK;
	}
	rc = enqueue_locked(s, w);
	pthread_mutex_unlock(&s->mu);
	if (rc != ST_OK)
		free(w);
	return rc;
}

int
store_write_sync(struct store *s, store_write_fn fn, void *ctx)
{
	struct wreq w = { .fn = fn, .ctx = ctx, .sync = 1 };
	int rc;

	if (s == NULL || fn == NULL)
		return ST_INVALID;
	pthread_mutex_lock(&s->mu);
	if (!s->writer_running) {
		int stopping = s->stopping;

		pthread_mutex_unlock(&s->mu);
		return stopping ? ST_SHUTDOWN : write_own_txn(s, fn, ctx);
	}
	/* The writer waiting on itself would never wake. */
	if (pthread_equal(pthread_self(), s->writer)) {
		pthread_mutex_unlock(&s->mu);
		return ST_INVALID;
	}
	if ((rc = enqueue_locked(s, &w)) == ST_OK) {
		while (!w.finished)
			pthread_cond_wait(&s->done_cv, &s->mu);
		rc = w.rc;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
store_get_stats(struct store *s, struct store_stats *out)
{
	out->commits = atomic_load_explicit(&s->commits, memory_order_relaxed);
	out->writes = atomic_load_explicit(&s->writes, memory_order_relaxed);
	out->failed_writes = atomic_load_explicit(&s->failed_writes, memory_order_relaxed);
	out->refused_writes = atomic_load_explicit(&s->refused_writes, memory_order_relaxed);
}

/* ---- open / close ---- */

/* The store holds password hashes and signing keys: nobody else may read it.
 * Modes are given explicitly (0700 dir, 0600 files) rather than by changing the
 * process umask, which other threads share; an existing folder or file that is
 * more open than that is tightened. */
static int
tighten(const char *path, mode_t want, int must_exist)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return (!must_exist && errno == ENOENT) ? ST_OK : ST_IO;
	if ((st.st_mode & 07777 & ~want) != 0 && chmod(path, want) != 0)
		return ST_IO;
	return ST_OK;
}

static int
prepare_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ST_IO;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ST_IO;
	return tighten(dir, 0700, 1);
}

static int
open_tables(struct store *s)
{
	MDB_txn *txn;
	int rc, i;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != MDB_SUCCESS)
		return map_err(rc);
	for (i = 0; i < T__COUNT; i++)
		if ((rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &s->dbi[i])) != MDB_SUCCESS) {
			mdb_txn_abort(txn);
			return map_err(rc);
		}
	return map_err(mdb_txn_commit(txn));
}

static void
store_free(struct store *s)
{
	struct store_txn *t, *next;

	pthread_key_delete(s->tls);
	/* Views of threads that never ended or exited: abort before the env goes. */
	for (t = s->readers; t != NULL; t = next) {
		next = t->next;
		mdb_txn_abort(t->txn);
		free(t);
	}
	s->readers = NULL;
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->rd_mu);
	free(s);
}

int
store_open(struct store **out, const char *dir, const struct store_opts *opts)
{
	struct store *s;
	char path[PATH_MAX];
	unsigned flags = MDB_NORDAHEAD;
	int rc;

	*out = NULL;
	if (dir == NULL || *dir == '\0' || strlen(dir) > PATH_MAX - 16)
		return ST_INVALID;
	if ((rc = prepare_dir(dir)) != ST_OK)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ST_IO;
	if (opts != NULL)
		s->opts = *opts;
	if (s->opts.map_size == 0)
		s->opts.map_size = STORE_DEFAULT_MAP;
	if (s->opts.max_batch == 0)
		s->opts.max_batch = STORE_DEFAULT_BATCH;
	if (s->opts.max_batch > STORE_MAX_BATCH)
		s->opts.max_batch = STORE_MAX_BATCH;
	if (s->opts.nosync)
		flags |= MDB_NOSYNC;
	if (pthread_key_create(&s->tls, read_view_release) != 0) {
		free(s);
		return ST_IO;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->rd_mu, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);

	rc = ST_IO;
	if (mdb_env_create(&s->env) != MDB_SUCCESS) {
		s->env = NULL;
		goto fail;
	}
	if (mdb_env_set_maxdbs(s->env, T__COUNT) != MDB_SUCCESS ||
	    mdb_env_set_mapsize(s->env, s->opts.map_size) != MDB_SUCCESS ||
	    mdb_env_set_maxreaders(s->env, STORE_MAX_READERS) != MDB_SUCCESS)
		goto fail;
	if (mdb_env_open(s->env, dir, flags, 0600) != MDB_SUCCESS)
		goto fail;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if ((rc = tighten(path, 0600, 1)) != ST_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if ((rc = tighten(path, 0600, 0)) != ST_OK)
		goto fail;
	if ((rc = open_tables(s)) != ST_OK)
		goto fail;
	if (!s->opts.no_writer) {
		if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
			rc = ST_IO;
			goto fail;
		}
		s->writer_running = 1;
	}
	*out = s;
	return ST_OK;
fail:
	store_free(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	/* The writer leaves only once the queue is empty: everything accepted is
	 * committed and answered. */
	if (s->writer_running) {
		pthread_join(s->writer, NULL);
		pthread_mutex_lock(&s->mu);
		s->writer_running = 0;
		pthread_mutex_unlock(&s->mu);
	}
	store_free(s);
}

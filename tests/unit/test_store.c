/* tests/unit/test_store.c — the LMDB store: record round trips on every table,
 * NOOVERWRITE, key order, version-byte refusal, nested-txn isolation inside one
 * batch, group commit, shutdown, no-writer mode and a second process writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../authd/store.h"
#include "fixture.h"

/* ---- fixtures ---- */

static void
tmpdir_make(char dir[FX_DIR_MAX])
{
	assert_int_equal(fx_tmpdir(dir, "store"), 0);
}

/* A store of 64 MiB in dir; flags as fx_store_open(). */
static struct store *
open_store(const char *dir, int flags)
{
	struct store *s = NULL;

	assert_int_equal(fx_store_open(&s, dir, 64, flags), STORE_OK);
	assert_non_null(s);
	return s;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A write function putting {"v": n} under a key, then returning rc. */
struct put_args {
	enum store_table tab;
	char key[32];
	size_t klen;
	int n;
	int rc;                  /* what the function returns after its put */
};

static int
put_fn(struct store_txn *t, void *ctx)
{
	struct put_args *a = ctx;
	json_t *v = json_pack("{s:i}", "v", a->n);
	int rc;

	rc = store_put(t, a->tab, a->key, a->klen ? a->klen : strlen(a->key), v, 0);
	json_decref(v);
	return rc != STORE_OK ? rc : a->rc;
}

static int
put_simple(struct store *s, enum store_table tab, const char *key, int n)
{
	struct put_args a = { .tab = tab, .n = n, .rc = STORE_OK };

	snprintf(a.key, sizeof(a.key), "%s", key);
	return store_write_sync(s, put_fn, &a);
}

static int
get_n(struct store *s, enum store_table tab, const char *key, int *n)
{
	struct store_txn *t = store_read_begin(s);
	json_t *v = NULL;
	int rc;

	assert_non_null(t);
	rc = store_gets(t, tab, key, &v);
	if (rc == STORE_OK)
		*n = (int)json_integer_value(json_object_get(v, "v"));
	json_decref(v);
	store_read_end(t);
	return rc;
}

/* A tiny event loop: posted completions queue here and run on the main thread. */
#define LOOP_MAX 256
struct loop {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn[LOOP_MAX])(void *);
	void *arg[LOOP_MAX];
	int n;
};

static void
loop_post(void *poster, void (*fn)(void *), void *arg)
{
	struct loop *l = poster;

	pthread_mutex_lock(&l->mu);
	assert_true(l->n < LOOP_MAX);
	l->fn[l->n] = fn;
	l->arg[l->n] = arg;
	l->n++;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Runs posted completions until `want` have run (bounded wait of ~10 s). */
static void
loop_run(struct loop *l, int want)
{
	int ran = 0;

	for (int rounds = 0; ran < want && rounds < 1000; rounds++) {
		void (*fn)(void *) = NULL;
		void *arg = NULL;

		pthread_mutex_lock(&l->mu);
		if (l->n == 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&l->cv, &l->mu, &ts);
		}
		if (l->n > 0) {
			fn = l->fn[0];
			arg = l->arg[0];
			memmove(l->fn, l->fn + 1, (size_t)(l->n - 1) * sizeof(l->fn[0]));
			memmove(l->arg, l->arg + 1, (size_t)(l->n - 1) * sizeof(l->arg[0]));
			l->n--;
		}
		pthread_mutex_unlock(&l->mu);
		if (fn != NULL) {
			fn(arg);
			ran++;
			rounds = 0;
		}
	}
	assert_int_equal(ran, want);
}

static void
loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
}

static void
loop_fini(struct loop *l)
{
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
}

/* A write that holds the writer thread until released, so that what is queued
 * meanwhile lands in the next batch together. */
struct done_rec {
	int rc;
	int called;
	pthread_t thread;
};

struct gate {
	atomic_int entered;
	atomic_int release;
	struct done_rec done;
};

static int
gate_fn(struct store_txn *t, void *ctx)
{
	struct gate *g = ctx;

	(void)t;
	atomic_store(&g->entered, 1);
	for (int i = 0; i < 5000 && !atomic_load(&g->release); i++)
		sleep_ms(1);
	return STORE_OK;
}

static void
gate_wait_entered(struct gate *g)
{
	for (int i = 0; i < 5000 && !atomic_load(&g->entered); i++)
		sleep_ms(1);
	assert_true(atomic_load(&g->entered));
}

static void
done_record(struct done_rec *d, int rc)
{
	d->rc = rc;
	d->called++;
	d->thread = pthread_self();
}

static void
gate_done(int rc, void *ctx)
{
	done_record(&((struct gate *)ctx)->done, rc);
}

/* An async put: the write function and the completion share one context. */
struct async_put {
	struct put_args put;       /* first: put_fn takes the same pointer */
	struct done_rec done;
};

static void
async_done(int rc, void *ctx)
{
	done_record(&((struct async_put *)ctx)->done, rc);
}

/* ---- tests ---- */

static void
test_roundtrip_every_table(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	for (int tab = 0; tab < T__COUNT; tab++) {
		struct put_args a = { .tab = tab, .n = 100 + tab, .rc = STORE_OK };
		struct store_txn *t;
		json_t *v;

		/* T_AUDIT is keyed by 8 raw bytes; every table takes binary keys. */
		memcpy(a.key, "\0\0\0\0\0\0\0\x07", 8);
		a.klen = 8;
		assert_int_equal(store_write_sync(s, put_fn, &a), STORE_OK);
		t = store_read_begin(s);
		assert_non_null(t);
		assert_int_equal(store_get(t, tab, a.key, 8, &v), STORE_OK);
		assert_int_equal(json_integer_value(json_object_get(v, "v")), 100 + tab);
		json_decref(v);
		assert_int_equal(store_count(t, tab), 1);
		store_read_end(t);
	}
	for (int tab = 0; tab < T__COUNT; tab++) {
		char key[16];
		int n;

		snprintf(key, sizeof(key), "key-%d", tab);
		assert_int_equal(put_simple(s, tab, key, tab), STORE_OK);
		assert_int_equal(get_n(s, tab, key, &n), STORE_OK);
		assert_int_equal(n, tab);
	}
	store_close(s);

	/* Durable across reopen; then deleted. */
	s = open_store(dir, 0);
	for (int tab = 0; tab < T__COUNT; tab++) {
		char key[16];
		int n = -1;

		snprintf(key, sizeof(key), "key-%d", tab);
		assert_int_equal(get_n(s, tab, key, &n), STORE_OK);
		assert_int_equal(n, tab);
	}
	store_close(s);
	fx_rmtree(dir);
}

struct del_args {
	enum store_table tab;
	const char *key;
};

static int
del_fn(struct store_txn *t, void *ctx)
{
	struct del_args *a = ctx;

	return store_dels(t, a->tab, a->key);
}

static void
test_delete(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;
	int n;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	for (int tab = 0; tab < T__COUNT; tab++) {
		struct del_args d = { .tab = tab, .key = "gone" };

		assert_int_equal(put_simple(s, tab, "gone", 1), STORE_OK);
		assert_int_equal(store_write_sync(s, del_fn, &d), STORE_OK);
		assert_int_equal(get_n(s, tab, "gone", &n), STORE_NOTFOUND);
		/* Deleting what is not there is reported, and the failed write counted. */
		assert_int_equal(store_write_sync(s, del_fn, &d), STORE_NOTFOUND);
	}
	store_close(s);
	fx_rmtree(dir);
}

static int
put_noover_fn(struct store_txn *t, void *ctx)
{
	json_t *v = json_pack("{s:i}", "v", *(int *)ctx);
	int rc = store_puts(t, T_CLIENTS, "only-once", v, STORE_NOOVERWRITE);

	json_decref(v);
	return rc;
}

static void
test_nooverwrite(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;
	int one = 1, two = 2, n = 0;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	assert_int_equal(store_write_sync(s, put_noover_fn, &one), STORE_OK);
	assert_int_equal(store_write_sync(s, put_noover_fn, &two), STORE_EXISTS);
	assert_int_equal(get_n(s, T_CLIENTS, "only-once", &n), STORE_OK);
	assert_int_equal(n, 1);
	/* Without the flag a put replaces. */
	assert_int_equal(put_simple(s, T_CLIENTS, "only-once", 3), STORE_OK);
	assert_int_equal(get_n(s, T_CLIENTS, "only-once", &n), STORE_OK);
	assert_int_equal(n, 3);
	store_close(s);
	fx_rmtree(dir);
}

struct collect {
	char keys[8][8];
	int n;
	int stop_at;
};

static int
collect_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct collect *c = ctx;

	assert_true(json_is_object(value));
	assert_true(klen < 8 && c->n < 8);
	memcpy(c->keys[c->n], key, klen);
	c->keys[c->n][klen] = '\0';
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

static void
test_iteration_order(void **state)
{
	static const char *in[] = { "b", "a", "c", "aa", "ab" };
	char dir[FX_DIR_MAX];
	struct store *s;
	struct store_txn *t;
	struct collect c;
	const void *k, *v;
	size_t kl, vl;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(put_simple(s, T_SESSIONS, in[i], (int)i), STORE_OK);
	t = store_read_begin(s);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_iter(t, T_SESSIONS, NULL, 0, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "a");
	assert_string_equal(c.keys[1], "aa");
	assert_string_equal(c.keys[2], "ab");
	assert_string_equal(c.keys[3], "b");
	assert_string_equal(c.keys[4], "c");
	/* From a key: keys >= from. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_iter(t, T_SESSIONS, "ab", 2, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.keys[0], "ab");
	/* A callback's non-zero return stops and is returned. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(store_iter(t, T_SESSIONS, NULL, 0, collect_cb, &c), 42);
	assert_int_equal(c.n, 2);
	assert_int_equal(store_last_raw(t, T_SESSIONS, &k, &kl, &v, &vl), STORE_OK);
	assert_int_equal(kl, 1);
	assert_memory_equal(k, "c", 1);
	assert_int_equal(((const uint8_t *)v)[0], STORE_RECORD_V1);
	assert_int_equal(store_last_raw(t, T_DEVICE, &k, &kl, &v, &vl), STORE_NOTFOUND);
	store_read_end(t);
	store_close(s);
	fx_rmtree(dir);
}

struct raw_args {
	const char *key;
	const void *val;
	size_t vlen;
};

static int
put_raw_fn(struct store_txn *t, void *ctx)
{
	struct raw_args *a = ctx;

	return store_put_raw(t, T_META, a->key, strlen(a->key), a->val, a->vlen);
}

static void
test_version_byte_refused(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;
	struct store_txn *t;
	struct raw_args v9 = { "v9", "\x09{\"a\":1}", 8 };
	struct raw_args bad = { "badjson", "\x01{\"a\":", 6 };
	struct raw_args empty = { "empty", "", 0 };
	struct raw_args good = { "good", "\x01{\"a\":1}", 8 };
	struct collect c = { .n = 0 };
	json_t *j = NULL;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	assert_int_equal(store_write_sync(s, put_raw_fn, &v9), STORE_OK);
	assert_int_equal(store_write_sync(s, put_raw_fn, &bad), STORE_OK);
	assert_int_equal(store_write_sync(s, put_raw_fn, &empty), STORE_OK);
	assert_int_equal(store_write_sync(s, put_raw_fn, &good), STORE_OK);
	t = store_read_begin(s);
	assert_int_equal(store_gets(t, T_META, "v9", &j), STORE_CORRUPT);
	assert_null(j);
	assert_int_equal(store_gets(t, T_META, "badjson", &j), STORE_CORRUPT);
	assert_int_equal(store_gets(t, T_META, "empty", &j), STORE_CORRUPT);
	assert_int_equal(store_gets(t, T_META, "good", &j), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	/* Iteration meets the bad records and refuses too. */
	assert_int_equal(store_iter(t, T_META, NULL, 0, collect_cb, &c), STORE_CORRUPT);
	store_read_end(t);
	store_close(s);
	fx_rmtree(dir);
}

static int
bounds_fn(struct store_txn *t, void *ctx)
{
	char key[600];
	json_t *v = json_object();
	int ok = 1;

	(void)ctx;
	memset(key, 'k', sizeof(key));
	ok &= store_put(t, T_META, key, 0, v, 0) == STORE_INVALID;
	ok &= store_put(t, T_META, key, 512, v, 0) == STORE_INVALID;
	ok &= store_put(t, T_META, key, 511, v, 0) == STORE_OK;
	ok &= store_put(t, (enum store_table)T__COUNT, key, 4, v, 0) == STORE_INVALID;
	ok &= store_put(t, T_META, key, 4, v, 0x80) == STORE_INVALID;
	ok &= store_put(t, T_META, key, 4, NULL, 0) == STORE_INVALID;
	json_decref(v);
	return ok ? STORE_OK : STORE_CONFLICT;
}

static void
test_bounds_and_readonly(void **state)
{
	char dir[FX_DIR_MAX], key[600];
	struct store *s;
	struct store_txn *t, *t2;
	json_t *v = json_object(), *out = NULL;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	assert_int_equal(store_write_sync(s, bounds_fn, NULL), STORE_OK);
	memset(key, 'k', sizeof(key));
	t = store_read_begin(s);
	assert_non_null(t);
	/* Nested begin hands back the same view; it stays usable until the outer end. */
	t2 = store_read_begin(s);
	assert_ptr_equal(t, t2);
	store_read_end(t2);
	assert_int_equal(store_get(t, T_META, key, 511, &out), STORE_OK);
	json_decref(out);
	assert_int_equal(store_get(t, T_META, key, 512, &out), STORE_INVALID);
	/* A read view cannot write. */
	assert_int_equal(store_put(t, T_META, "x", 1, v, 0), STORE_INVALID);
	assert_int_equal(store_dels(t, T_META, "x"), STORE_INVALID);
	assert_int_equal(store_put_raw(t, T_META, "x", 1, "\x01{}", 3), STORE_INVALID);
	store_read_end(t);
	json_decref(v);
	assert_int_equal(store_write_sync(s, NULL, NULL), STORE_INVALID);
	assert_string_equal(store_strerror(STORE_CORRUPT),
	                    "corrupt record (unknown version or bad JSON)");
	store_close(s);
	fx_rmtree(dir);
}

static void
test_read_view_sees_new_commits(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;
	struct store_txn *t;
	json_t *v = NULL;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	t = store_read_begin(s);
	assert_int_equal(store_gets(t, T_USERS, "later", &v), STORE_NOTFOUND);
	/* While the view is open it keeps its snapshot. */
	assert_int_equal(put_simple(s, T_USERS, "later", 5), STORE_OK);
	assert_int_equal(store_gets(t, T_USERS, "later", &v), STORE_NOTFOUND);
	store_read_end(t);
	/* Renewed: the commit is visible. */
	t = store_read_begin(s);
	assert_int_equal(store_gets(t, T_USERS, "later", &v), STORE_OK);
	json_decref(v);
	store_read_end(t);
	store_close(s);
	fx_rmtree(dir);
}

struct queue_thread_args {
	struct async_put ap;
	struct store *s;
	struct loop *loop;
	int queued_rc;
};

static void *
queue_thread(void *p)
{
	struct queue_thread_args *a = p;

	a->queued_rc = store_write_async(a->s, put_fn, async_done, &a->ap, loop_post, a->loop);
	return NULL;
}

static void
test_nested_txn_isolation(void **state)
{
	enum { N = 8 };
	char dir[FX_DIR_MAX];
	struct store *s;
	struct loop loop;
	struct gate g = { 0 };
	struct queue_thread_args a[N];
	pthread_t th[N];
	struct store_stats before, after;

	(void)state;
	tmpdir_make(dir);
	loop_init(&loop);
	s = open_store(dir, 0);
	store_get_stats(s, &before);
	assert_int_equal(store_write_async(s, gate_fn, gate_done, &g, loop_post, &loop), STORE_OK);
	gate_wait_entered(&g);
	for (int i = 0; i < N; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].s = s;
		a[i].loop = &loop;
		a[i].ap.put.tab = T_CODES;
		a[i].ap.put.n = i;
		/* Every odd write puts its record and then refuses: it must vanish alone. */
		a[i].ap.put.rc = (i % 2) ? STORE_CONFLICT : STORE_OK;
		snprintf(a[i].ap.put.key, sizeof(a[i].ap.put.key), "code-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, queue_thread, &a[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].queued_rc, STORE_OK);
	}
	atomic_store(&g.release, 1);
	loop_run(&loop, N + 1);
	assert_int_equal(g.done.called, 1);
	assert_int_equal(g.done.rc, STORE_OK);
	for (int i = 0; i < N; i++) {
		int n = -1;

		assert_int_equal(a[i].ap.done.called, 1);
		/* Completions run on the caller's loop, never on the writer. */
		assert_true(pthread_equal(a[i].ap.done.thread, pthread_self()));
		if (i % 2) {
			assert_int_equal(a[i].ap.done.rc, STORE_CONFLICT);
			assert_int_equal(get_n(s, T_CODES, a[i].ap.put.key, &n), STORE_NOTFOUND);
		} else {
			assert_int_equal(a[i].ap.done.rc, STORE_OK);
			assert_int_equal(get_n(s, T_CODES, a[i].ap.put.key, &n), STORE_OK);
			assert_int_equal(n, i);
		}
	}
	store_get_stats(s, &after);
	/* The gate's batch, then all eight in one batch with one commit. */
	assert_int_equal(after.commits - before.commits, 2);
	assert_int_equal(after.writes - before.writes, N + 1);
	/* A write's own refusal is not a storage failure (operators alert on those). */
	assert_int_equal(after.failed_writes - before.failed_writes, 0);
	assert_int_equal(after.refused_writes - before.refused_writes, N / 2);
	store_close(s);
	loop_fini(&loop);
	fx_rmtree(dir);
}

struct writer_thread_args {
	struct store *s;
	int id;
	int per;
	int failures;
};

static void *
sync_writer_thread(void *p)
{
	struct writer_thread_args *a = p;

	for (int i = 0; i < a->per; i++) {
		char key[32];

		snprintf(key, sizeof(key), "t%d-%03d", a->id, i);
		if (put_simple(a->s, T_SESSIONS, key, a->id * 1000 + i) != STORE_OK)
			a->failures++;
	}
	return NULL;
}

static void
test_group_commit_batches(void **state)
{
	enum { THREADS = 8, PER = 50 };
	char dir[FX_DIR_MAX];
	struct store *s;
	struct store_txn *t;
	struct writer_thread_args a[THREADS];
	pthread_t th[THREADS];
	struct store_stats st;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, FX_SYNC);     /* real fsync: what group commit is for */
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct writer_thread_args){ .s = s, .id = i, .per = PER };
		assert_int_equal(pthread_create(&th[i], NULL, sync_writer_thread, &a[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	store_get_stats(s, &st);
	assert_int_equal(st.writes, THREADS * PER);
	assert_int_equal(st.failed_writes, 0);
	assert_true(st.commits >= 1);
	assert_true(st.commits < st.writes);
	print_message("group commit: %llu writes in %llu commits\n",
	              (unsigned long long)st.writes, (unsigned long long)st.commits);
	store_close(s);

	s = open_store(dir, FX_SYNC);
	t = store_read_begin(s);
	assert_int_equal(store_count(t, T_SESSIONS), THREADS * PER);
	store_read_end(t);
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER; j++) {
			char key[32];
			int n = -1;

			snprintf(key, sizeof(key), "t%d-%03d", i, j);
			assert_int_equal(get_n(s, T_SESSIONS, key, &n), STORE_OK);
			assert_int_equal(n, i * 1000 + j);
		}
	store_close(s);
	fx_rmtree(dir);
}

static void *
close_thread(void *p)
{
	store_close(p);
	return NULL;
}

static void
test_shutdown(void **state)
{
	enum { MAXQ = 64 };
	char dir[FX_DIR_MAX];
	struct store *s;
	struct loop loop;
	struct gate g = { 0 };
	struct async_put ap[MAXQ];
	pthread_t closer;
	int accepted = 0, refused = 0;

	(void)state;
	tmpdir_make(dir);
	loop_init(&loop);
	s = open_store(dir, 0);
	assert_int_equal(store_write_async(s, gate_fn, gate_done, &g, loop_post, &loop), STORE_OK);
	gate_wait_entered(&g);
	assert_int_equal(pthread_create(&closer, NULL, close_thread, s), 0);
	/* The closer is blocked on the held writer; s stays valid until release. */
	memset(ap, 0, sizeof(ap));
	for (int i = 0; i < MAXQ && !refused; i++) {
		ap[i].put = (struct put_args){ .tab = T_LOGINS, .n = i, .rc = STORE_OK };
		snprintf(ap[i].put.key, sizeof(ap[i].put.key), "l%02d", i);
		switch (store_write_async(s, put_fn, async_done, &ap[i], loop_post, &loop)) {
		case STORE_OK:
			accepted++;
			sleep_ms(2);
			break;
		case STORE_SHUTDOWN:
			refused = 1;
			break;
		default:
			fail();
		}
	}
	assert_true(refused);
	/* Sync writes are refused as well, without waiting. */
	assert_int_equal(put_simple(s, T_LOGINS, "late", 1), STORE_SHUTDOWN);
	atomic_store(&g.release, 1);
	pthread_join(closer, NULL);
	/* Everything accepted before shutdown was committed and answered. */
	loop_run(&loop, accepted + 1);
	for (int i = 0; i < accepted; i++) {
		assert_int_equal(ap[i].done.called, 1);
		assert_int_equal(ap[i].done.rc, STORE_OK);
	}
	assert_int_equal(ap[accepted].done.called, 0);
	s = open_store(dir, 0);
	for (int i = 0; i < accepted; i++) {
		int n = -1;

		assert_int_equal(get_n(s, T_LOGINS, ap[i].put.key, &n), STORE_OK);
		assert_int_equal(n, i);
	}
	assert_int_equal(get_n(s, T_LOGINS, "late", &accepted), STORE_NOTFOUND);
	store_close(s);
	loop_fini(&loop);
	fx_rmtree(dir);
}

static void
test_sync_without_writer(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s;
	struct loop loop;
	struct put_args pa = { .tab = T_THROTTLE, .key = "a:127.0.0.1", .n = 9, .rc = STORE_OK };
	struct put_args refuse = { .tab = T_THROTTLE, .key = "u:x", .n = 1, .rc = STORE_CONFLICT };
	struct put_args wrong = { .tab = T_THROTTLE, .key = "u:y", .n = 1, .rc = -1 };
	struct put_args broken = { .tab = T_THROTTLE, .key = "u:z", .n = 1, .rc = STORE_IO };
	struct async_put ap = { .put = pa };
	struct store_stats st;
	int n = 0;

	(void)state;
	tmpdir_make(dir);
	loop_init(&loop);
	s = open_store(dir, FX_NO_WRITER);
	assert_int_equal(store_write_sync(s, put_fn, &pa), STORE_OK);
	assert_int_equal(store_write_sync(s, put_fn, &refuse), STORE_CONFLICT);
	/* A mistyped code (a write's own "no", as totp_enrol_finish's -1) and a
	 * storage failure are counted apart. */
	assert_int_equal(store_write_sync(s, put_fn, &wrong), -1);
	assert_int_equal(store_write_sync(s, put_fn, &broken), STORE_IO);
	assert_int_equal(get_n(s, T_THROTTLE, "u:z", &n), STORE_NOTFOUND);
	assert_int_equal(get_n(s, T_THROTTLE, "a:127.0.0.1", &n), STORE_OK);
	assert_int_equal(n, 9);
	assert_int_equal(get_n(s, T_THROTTLE, "u:x", &n), STORE_NOTFOUND);
	/* Async without a writer runs at once and still answers through post. */
	ap.put.n = 10;
	assert_int_equal(store_write_async(s, put_fn, async_done, &ap, loop_post, &loop), STORE_OK);
	loop_run(&loop, 1);
	assert_int_equal(ap.done.called, 1);
	assert_int_equal(ap.done.rc, STORE_OK);
	assert_int_equal(get_n(s, T_THROTTLE, "a:127.0.0.1", &n), STORE_OK);
	assert_int_equal(n, 10);
	store_get_stats(s, &st);
	assert_int_equal(st.writes, 5);
	assert_int_equal(st.failed_writes, 1);
	assert_int_equal(st.refused_writes, 2);
	assert_int_equal(st.commits, 2);
	store_close(s);
	loop_fini(&loop);
	fx_rmtree(dir);
}

static struct store *writer_self_store;

static int
reenter_fn(struct store_txn *t, void *ctx)
{
	struct put_args a = { .tab = T_META, .key = "inner", .n = 1, .rc = STORE_OK };

	(void)t;
	/* The writer waiting for itself would deadlock: refused. */
	*(int *)ctx = store_write_sync(writer_self_store, put_fn, &a);
	return STORE_OK;
}

static void
test_sync_from_writer_refused(void **state)
{
	char dir[FX_DIR_MAX];
	int inner = -1, n;

	(void)state;
	tmpdir_make(dir);
	writer_self_store = open_store(dir, 0);
	assert_int_equal(store_write_sync(writer_self_store, reenter_fn, &inner), STORE_OK);
	assert_int_equal(inner, STORE_INVALID);
	assert_int_equal(get_n(writer_self_store, T_META, "inner", &n), STORE_NOTFOUND);
	store_close(writer_self_store);
	fx_rmtree(dir);
}

/* A second handle on the same folder, as authctl would hold: it must be another
 * process (LMDB forbids opening one environment twice in a process, because
 * closing either copy drops the other's file locks). */
static void
test_second_process_writes(void **state)
{
	enum { N = 40 };
	char dir[FX_DIR_MAX];
	struct store *s;
	pid_t pid;
	int status;

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, FX_SYNC);
	assert_int_equal(put_simple(s, T_CLIENTS, "before-fork", 1), STORE_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *c = NULL;
		int bad = 0, n = 0;

		if (fx_store_open(&c, dir, 64, FX_SYNC | FX_NO_WRITER) != STORE_OK)
			_exit(2);
		if (get_n(c, T_CLIENTS, "before-fork", &n) != STORE_OK || n != 1)
			bad = 1;
		for (int i = 0; i < N; i++) {
			char key[32];

			snprintf(key, sizeof(key), "child-%02d", i);
			if (put_simple(c, T_CLIENTS, key, i) != STORE_OK)
				bad = 1;
		}
		store_close(c);
		_exit(bad ? 3 : 0);
	}
	/* Parent writes at the same time through its writer thread. */
	for (int i = 0; i < N; i++) {
		char key[32];

		snprintf(key, sizeof(key), "parent-%02d", i);
		assert_int_equal(put_simple(s, T_CLIENTS, key, i), STORE_OK);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int i = 0; i < N; i++) {
		char key[32];
		int n = -1;

		snprintf(key, sizeof(key), "child-%02d", i);
		assert_int_equal(get_n(s, T_CLIENTS, key, &n), STORE_OK);
		assert_int_equal(n, i);
		snprintf(key, sizeof(key), "parent-%02d", i);
		assert_int_equal(get_n(s, T_CLIENTS, key, &n), STORE_OK);
		assert_int_equal(n, i);
	}
	store_close(s);
	fx_rmtree(dir);
}

static int
big_fn(struct store_txn *t, void *ctx)
{
	size_t n = 200000;
	char *blob = malloc(n + 1);
	json_t *v;
	int rc;

	memset(blob, 'x', n);
	blob[n] = '\0';
	v = json_pack("{s:s}", "blob", blob);
	free(blob);
	rc = store_puts(t, T_META, (const char *)ctx, v, 0);
	json_decref(v);
	return rc;
}

static void
test_map_full(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s = NULL;
	int rc = STORE_OK, i, n;

	(void)state;
	tmpdir_make(dir);
	assert_int_equal(fx_store_open(&s, dir, 1, 0), STORE_OK);
	for (i = 0; i < 20 && rc == STORE_OK; i++) {
		char key[16];

		snprintf(key, sizeof(key), "big%d", i);
		rc = store_write_sync(s, big_fn, key);
	}
	assert_int_equal(rc, STORE_FULL);
	assert_true(i > 1);
	/* The refused write was rolled back alone: small writes still go through. */
	assert_int_equal(put_simple(s, T_META, "small", 7), STORE_OK);
	assert_int_equal(get_n(s, T_META, "small", &n), STORE_OK);
	assert_int_equal(n, 7);
	store_close(s);
	fx_rmtree(dir);
}

static void
test_permissions(void **state)
{
	char dir[FX_DIR_MAX], sub[128], path[160];
	struct store *s;
	struct stat st;

	(void)state;
	tmpdir_make(dir);
	snprintf(sub, sizeof(sub), "%s/data", dir);
	s = open_store(sub, 0);
	store_close(s);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/data.mdb", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A folder left too open is tightened. */
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(chmod(path, 0644), 0);
	s = open_store(sub, 0);
	store_close(s);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Not a folder: refused. */
	assert_int_equal(store_open(&s, path, NULL), STORE_IO);
	assert_null(s);
	fx_rmtree(dir);
}

static void *
reader_thread(void *p)
{
	struct store_txn *t = store_read_begin(p);
	json_t *v = NULL;
	int rc;

	if (t == NULL)
		return (void *)1;
	rc = store_gets(t, T_USERS, "shared", &v);
	json_decref(v);
	store_read_end(t);
	/* Thread exits with its view reset: the destructor releases it. */
	return rc == STORE_OK ? NULL : (void *)1;
}

static void
test_read_views_per_thread(void **state)
{
	enum { N = 6 };
	char dir[FX_DIR_MAX];
	struct store *s;
	pthread_t th[N];

	(void)state;
	tmpdir_make(dir);
	s = open_store(dir, 0);
	assert_int_equal(put_simple(s, T_USERS, "shared", 1), STORE_OK);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_thread, s), 0);
	for (int i = 0; i < N; i++) {
		void *ret = (void *)2;

		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	store_close(s);
	fx_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_table),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_nooverwrite),
		cmocka_unit_test(test_iteration_order),
		cmocka_unit_test(test_version_byte_refused),
		cmocka_unit_test(test_bounds_and_readonly),
		cmocka_unit_test(test_read_view_sees_new_commits),
		cmocka_unit_test(test_nested_txn_isolation),
		cmocka_unit_test(test_group_commit_batches),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_sync_without_writer),
		cmocka_unit_test(test_sync_from_writer_refused),
		cmocka_unit_test(test_second_process_writes),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_read_views_per_thread),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}

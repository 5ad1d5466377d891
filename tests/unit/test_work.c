/* tests/unit/test_work.c — the worker pool (authd/work.c): fair admission per
 * class (ST_BUSY for a source's or an account's share, ST_FULL for the class),
 * places given back by cancel and after a job ran; done posted through the
 * caller's post function, or run on the worker; a STORE-class job (a real
 * durable store write) completes while every CPU thread is busy and more CPU
 * jobs wait (the reason for two classes); stop runs what was queued, refuses
 * what comes after, and free is safe for a stopped pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <cmocka.h>

#include "../../authd/work.h"
#include "fixture.h"

/* A gate the CPU jobs wait on, so the test decides when they end. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static atomic_int cpu_started, cpu_ran, done_ran;

struct job {
	atomic_int ran, done;
	pthread_t done_thread;
	struct store *store; /* store jobs: write here */
	int rc;
};

static void
gate_set(int open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static void
blocked_work(void *arg)
{
	struct job *j = arg;

	atomic_fetch_add(&cpu_started, 1);
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	atomic_store(&j->ran, 1);
	atomic_fetch_add(&cpu_ran, 1);
}

static void
plain_work(void *arg)
{
	struct job *j = arg;

	atomic_store(&j->ran, 1);
}

static void
job_done(void *arg)
{
	struct job *j = arg;

	j->done_thread = pthread_self();
	atomic_store(&j->done, 1);
	atomic_fetch_add(&done_ran, 1);
}

/* A post function standing in for loop_post: runs fn at once and counts. */
static void
count_post(void *poster, void (*fn)(void *), void *arg)
{
	atomic_fetch_add((atomic_int *)poster, 1);
	fn(arg);
}

static int
put_fn(struct store_txn *t, void *ctx)
{
	json_t *v = json_pack("{s:i}", "n", 1);
	int rc = v != NULL ? store_puts(t, T_META, "work-test", v, 0) : ST_IO;

	json_decref(v);
	return rc;
}

static void
store_work(void *arg)
{
	struct job *j = arg;

	j->rc = store_write_sync(j->store, put_fn, NULL);
	atomic_store(&j->ran, 1);
}

/* Waits up to ms for *flag; 1 when it was set. */
static int
wait_flag(atomic_int *flag, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms; i++) {
		if (atomic_load(flag))
			return 1;
		nanosleep(&ts, NULL);
	}
	return atomic_load(flag) != 0;
}

static int
wait_count(atomic_int *n, int want, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms && atomic_load(n) < want; i++)
		nanosleep(&ts, NULL);
	return atomic_load(n) >= want;
}

static struct work_pool *
pool(int cpu, int store, unsigned src, unsigned acct, unsigned total)
{
	struct work_opts o = {
		.threads = { cpu, store }, .per_source = src, .per_account = acct, .total = total
	};
	struct work_pool *p = NULL;

	assert_int_equal(work_pool_start(&p, &o), ST_OK);
	assert_non_null(p);
	return p;
}

static void
test_admission_per_class(void **state)
{
	struct work_pool *p = pool(1, 1, 2, 1, 3);
	struct work_slot *s[8];

	/* Two places per source, one per account, three per class. */
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.0.0/24", NULL, NULL, NULL, &s[0]), ST_OK);
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.0.0/24", "alice", NULL, NULL, &s[1]), ST_OK);
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.0.0/24", NULL, NULL, NULL, &s[2]), ST_BUSY);
	assert_null(s[2]);
	assert_int_equal(
	    work_admit(p, WORK_CPU, "10.0.1.0/24", "alice", NULL, NULL, &s[2]), ST_BUSY);
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.1.0/24", NULL, NULL, NULL, &s[2]), ST_OK);
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.2.0/24", NULL, NULL, NULL, &s[3]), ST_FULL);
	assert_int_equal(work_held(p, WORK_CPU), 3);
	/* The other class has places of its own. */
	assert_int_equal(
	    work_admit(p, WORK_STORE, "10.0.0.0/24", "alice", NULL, NULL, &s[3]), ST_OK);
	assert_int_equal(work_held(p, WORK_STORE), 1);
	/* Cancel gives a place back. */
	work_cancel(s[1]);
	work_cancel(NULL);
	assert_int_equal(work_held(p, WORK_CPU), 2);
	assert_int_equal(work_admit(p, WORK_CPU, "10.0.3.0/24", "alice", NULL, NULL, &s[1]), ST_OK);
	work_cancel(s[0]);
	work_cancel(s[1]);
	work_cancel(s[2]);
	work_cancel(s[3]);
	assert_int_equal(work_held(p, WORK_CPU), 0);
	assert_int_equal(work_held(p, WORK_STORE), 0);
	/* Bad arguments. */
	assert_int_equal(work_admit(p, WORK_CPU, NULL, NULL, NULL, NULL, &s[0]), ST_ERROR);
	assert_int_equal(work_admit(NULL, WORK_CPU, "x", NULL, NULL, NULL, &s[0]), ST_ERROR);
	work_pool_free(p);
}

static void
test_done_is_posted(void **state)
{
	struct work_pool *p = pool(2, 2, 4, 4, 8);
	struct work_slot *s;
	struct job a = { 0 }, b = { 0 };
	atomic_int count = 0;

	done_ran = 0;
	assert_int_equal(work_admit(p, WORK_STORE, "src", NULL, count_post, &count, &s), ST_OK);
	assert_int_equal(work_submit(s, plain_work, job_done, &a), ST_OK);
	/* post NULL: done runs on the worker itself. */
	assert_int_equal(work_admit(p, WORK_CPU, "src", NULL, NULL, NULL, &s), ST_OK);
	assert_int_equal(work_submit(s, plain_work, job_done, &b), ST_OK);
	assert_true(wait_count(&done_ran, 2, 5000));
	assert_int_equal(atomic_load(&count), 1);
	assert_true(atomic_load(&a.ran) && atomic_load(&b.ran));
	assert_false(pthread_equal(b.done_thread, pthread_self()));
	/* The place is given back once the job ran. */
	assert_true(wait_flag(&a.done, 1000));
	work_pool_stop(p);
	assert_int_equal(work_held(p, WORK_CPU), 0);
	assert_int_equal(work_held(p, WORK_STORE), 0);
	work_pool_free(p);
}

/* The reason for two classes: with every CPU thread busy (think Argon2id) and
 * more CPU jobs queued, a store-bound job still runs at once, and its durable
 * write completes. */
static void
test_store_class_not_starved(void **state)
{
	struct work_pool *p = pool(1, 1, 64, 64, 64);
	struct job cpu[6] = { 0 }, st = { 0 };
	struct work_slot *s;
	struct store *store;
	char dir[FX_DIR_MAX];
	size_t i;

	assert_int_equal(fx_tmpdir(dir, "work"), 0);
	assert_int_equal(fx_store_open(&store, dir, 16, FX_SYNC), ST_OK);
	cpu_started = cpu_ran = 0;
	gate_set(0);
	for (i = 0; i < 6; i++) {
		char src[16];

		snprintf(src, sizeof(src), "flood-%zu", i);
		assert_int_equal(work_admit(p, WORK_CPU, src, NULL, NULL, NULL, &s), ST_OK);
		assert_int_equal(work_submit(s, blocked_work, NULL, &cpu[i]), ST_OK);
	}
	assert_true(wait_count(&cpu_started, 1, 5000));
	assert_int_equal(work_queued(p, WORK_CPU), 5);
	st.store = store;
	assert_int_equal(work_admit(p, WORK_STORE, "someone", NULL, NULL, NULL, &s), ST_OK);
	assert_int_equal(work_submit(s, store_work, job_done, &st), ST_OK);
	assert_true(wait_flag(&st.done, 5000));
	assert_int_equal(st.rc, ST_OK);
	/* ... while the CPU class has not moved. */
	assert_int_equal(atomic_load(&cpu_ran), 0);
	assert_int_equal(work_queued(p, WORK_CPU), 5);
	gate_set(1);
	assert_true(wait_count(&cpu_ran, 6, 5000));
	work_pool_free(p);
	store_close(store);
	fx_rmtree(dir);
}

static void
test_stop_runs_queued_and_refuses_new(void **state)
{
	struct work_pool *p = pool(1, 1, 16, 16, 16);
	struct job j[4] = { 0 }, late = { 0 };
	struct work_slot *s, *held;
	atomic_int count = 0;
	size_t i;

	cpu_started = cpu_ran = done_ran = 0;
	gate_set(0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(
		    work_admit(p, WORK_CPU, "src", NULL, count_post, &count, &s), ST_OK);
		assert_int_equal(work_submit(s, blocked_work, job_done, &j[i]), ST_OK);
	}
	assert_int_equal(work_admit(p, WORK_CPU, "other", NULL, NULL, NULL, &held), ST_OK);
	assert_true(wait_count(&cpu_started, 1, 5000));
	gate_set(1);
	work_pool_stop(p);
	/* Everything queued before the stop ran and was posted. */
	assert_int_equal(atomic_load(&cpu_ran), 4);
	assert_int_equal(atomic_load(&count), 4);
	/* After it: refused, and a slot admitted before is given back unrun. */
	assert_int_equal(work_admit(p, WORK_STORE, "src", NULL, NULL, NULL, &s), ST_SHUTDOWN);
	assert_null(s);
	assert_int_equal(work_submit(held, plain_work, job_done, &late), ST_SHUTDOWN);
	assert_false(atomic_load(&late.ran));
	assert_false(atomic_load(&late.done));
	assert_int_equal(work_held(p, WORK_CPU), 0);
	work_pool_stop(p); /* twice is fine */
	work_pool_free(p);
	work_pool_free(NULL);
	work_pool_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admission_per_class),
		cmocka_unit_test(test_done_is_posted),
		cmocka_unit_test(test_store_class_not_starved),
		cmocka_unit_test(test_stop_runs_queued_and_refuses_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

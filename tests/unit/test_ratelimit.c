/* tests/unit/test_ratelimit.c — the per-client request rate (authd/ratelimit.c):
 * the token bucket (a fresh client's burst, refill at the rate, never above the
 * burst, Retry-After rounded up and at least 1, rate 0 = no limit, a clock that
 * goes back), then the table: clients counted apart, one audit record a minute
 * per refused client with the count of refusals, threads sharing the table. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/ratelimit.h"

#define S  ((uint64_t)1000000000) /* one second in ns */
#define T0 (1000 * S)

static void
test_bucket_burst_then_refused(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };
	int i;

	(void)state;
	/* rate 10/s, burst 20: twenty at once, the 21st waits */
	for (i = 0; i < 20; i++)
		assert_int_equal(ratelimit_bucket_take(&b, 10, 20, T0), 0);
	/* one request needs 1/10 s: Retry-After is rounded up to a whole second */
	assert_int_equal(ratelimit_bucket_take(&b, 10, 20, T0), 1);
	assert_int_equal(ratelimit_bucket_take(&b, 10, 20, T0), 1);
}

static void
test_bucket_refills_at_rate(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(ratelimit_bucket_take(&b, 2, 5, T0), 0);
	assert_int_not_equal(ratelimit_bucket_take(&b, 2, 5, T0), 0);
	/* 2/s: after 0.4 s nothing yet, after 0.5 s exactly one */
	assert_int_not_equal(ratelimit_bucket_take(&b, 2, 5, T0 + 4 * S / 10), 0);
	assert_int_equal(ratelimit_bucket_take(&b, 2, 5, T0 + 5 * S / 10), 0);
	assert_int_not_equal(ratelimit_bucket_take(&b, 2, 5, T0 + 5 * S / 10), 0);
	/* 1.5 s later: three more, not four */
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_bucket_take(&b, 2, 5, T0 + 2 * S), 0);
	assert_int_not_equal(ratelimit_bucket_take(&b, 2, 5, T0 + 2 * S), 0);
}

static void
test_bucket_never_above_burst(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };
	int i;

	(void)state;
	assert_int_equal(ratelimit_bucket_take(&b, 100, 3, T0), 0);
	/* an hour idle refills to the burst, not to 360000 */
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_bucket_take(&b, 100, 3, T0 + 3600 * S), 0);
	assert_int_not_equal(ratelimit_bucket_take(&b, 100, 3, T0 + 3600 * S), 0);
}

static void
test_bucket_retry_after(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };

	(void)state;
	/* a slow rate: 1 request per 30 s (rate 1/30), burst 1 */
	assert_int_equal(ratelimit_bucket_take(&b, 1.0 / 30, 1, T0), 0);
	assert_int_equal(ratelimit_bucket_take(&b, 1.0 / 30, 1, T0), 30);
	/* 10.5 s later: 19.5 s to go, rounded up */
	assert_int_equal(ratelimit_bucket_take(&b, 1.0 / 30, 1, T0 + 105 * S / 10), 20);
	/* waiting exactly what Retry-After said is enough */
	assert_int_equal(ratelimit_bucket_take(&b, 1.0 / 30, 1, T0 + 105 * S / 10 + 20 * S), 0);
	/* a refusal took nothing: right after the wait the next one is refused again */
	assert_true(ratelimit_bucket_take(&b, 1.0 / 30, 1, T0 + 105 * S / 10 + 20 * S) >= 1);
}

static void
test_bucket_disabled(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };
	int i;

	(void)state;
	for (i = 0; i < 100000; i++)
		assert_int_equal(ratelimit_bucket_take(&b, 0, 1, T0), 0);
	assert_null(ratelimit_new(0, 100));
	/* no table: every request goes */
	struct ratelimit_verdict v;
	ratelimit_take(NULL, "app", T0, &v);
	assert_int_equal(v.retry_after, 0);
	assert_int_equal(v.audit_due, 0);
}

static void
test_bucket_clock_back(void **state)
{
	struct ratelimit_bucket b = { 0, 0 };

	(void)state;
	assert_int_equal(ratelimit_bucket_take(&b, 1, 1, T0), 0);
	/* the clock went back 10 s: no refill, no negative time, still refused */
	assert_int_equal(ratelimit_bucket_take(&b, 1, 1, T0 - 10 * S), 1);
	assert_int_equal(ratelimit_bucket_take(&b, 1, 1, T0 + S), 0);
}

static void
test_table_clients_apart_and_audit(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 2);
	struct ratelimit_verdict v;
	int i;

	(void)state;
	assert_non_null(rl);
	ratelimit_take(rl, "noisy", T0, &v);
	assert_int_equal(v.retry_after, 0);
	ratelimit_take(rl, "noisy", T0, &v);
	assert_int_equal(v.retry_after, 0);
	/* the first refusal is audited, with a count of one */
	ratelimit_take(rl, "noisy", T0, &v);
	assert_int_equal(v.retry_after, 1);
	assert_int_equal(v.audit_due, 1);
	assert_int_equal(v.refused, 1);
	/* the next ones in the same minute are not */
	for (i = 0; i < 9; i++) {
		ratelimit_take(rl, "noisy", T0 + S / 2, &v);
		assert_int_equal(v.retry_after, 1);
		assert_int_equal(v.audit_due, 0);
	}
	/* another client has its own burst */
	ratelimit_take(rl, "quiet", T0 + S / 2, &v);
	assert_int_equal(v.retry_after, 0);
	ratelimit_take(rl, "quiet", T0 + S / 2, &v);
	assert_int_equal(v.retry_after, 0);
	/* a minute later the noisy client, still over, is audited again with the
	 * refusals in between (9) and this one */
	for (i = 0; i < 2; i++) {
		ratelimit_take(rl, "noisy", T0 + 60 * S, &v);
		assert_int_equal(v.retry_after, 0);
	}
	ratelimit_take(rl, "noisy", T0 + 60 * S, &v);
	assert_int_equal(v.retry_after, 1);
	assert_int_equal(v.audit_due, 1);
	assert_int_equal(v.refused, 10);
	ratelimit_free(rl);
}

static void
test_table_bounded(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1);
	struct ratelimit_verdict v;
	char id[32];
	int i;

	(void)state;
	assert_non_null(rl);
	ratelimit_take(rl, "first", T0, &v);
	assert_int_equal(v.retry_after, 0);
	ratelimit_take(rl, "first", T0, &v);
	assert_int_equal(v.retry_after, 1);
	/* far more clients than slots: the table does not grow, each new client
	 * gets a bucket (the one idle longest is reused) and its own burst */
	for (i = 0; i < 3 * RATELIMIT_STRIPES * RATELIMIT_SLOTS; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		ratelimit_take(rl, id, T0 + S + (uint64_t)i, &v);
		assert_int_equal(v.retry_after, 0);
	}
	/* a reused bucket had been idle long enough to be full: "first" goes again */
	ratelimit_take(rl, "first", T0 + 2 * S, &v);
	assert_int_equal(v.retry_after, 0);
	/* an id longer than a client_id is cut, not overrun */
	char longid[200];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ratelimit_take(rl, longid, T0 + 3 * S, &v);
	assert_int_equal(v.retry_after, 0);
	ratelimit_take(rl, longid, T0 + 3 * S, &v);
	assert_int_equal(v.retry_after, 1);
	ratelimit_free(rl);
}

#define THREADS    4
#define PER_THREAD 5000

struct race {
	struct ratelimit *rl;
	int granted;
};

static void *
race_run(void *arg)
{
	struct race *r = arg;
	struct ratelimit_verdict v;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		ratelimit_take(r->rl, "shared", T0, &v);
		if (v.retry_after == 0)
			r->granted++;
	}
	return NULL;
}

static void
test_table_threads_share_one_bucket(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 100);
	struct race r[THREADS];
	pthread_t th[THREADS];
	int i, total = 0;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i < THREADS; i++) {
		r[i].rl = rl;
		r[i].granted = 0;
		assert_int_equal(pthread_create(&th[i], NULL, race_run, &r[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += r[i].granted;
	}
	/* the same instant on every thread: exactly the burst, whatever the threads */
	assert_int_equal(total, 100);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_then_refused),
		cmocka_unit_test(test_bucket_refills_at_rate),
		cmocka_unit_test(test_bucket_never_above_burst),
		cmocka_unit_test(test_bucket_retry_after),
		cmocka_unit_test(test_bucket_disabled),
		cmocka_unit_test(test_bucket_clock_back),
		cmocka_unit_test(test_table_clients_apart_and_audit),
		cmocka_unit_test(test_table_bounded),
		cmocka_unit_test(test_table_threads_share_one_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

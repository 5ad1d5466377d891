/* tests/unit/test_fairq.c — the worker pool's fair queue (authd/fairq.c):
 * places per source, per account and in all, given back on finish and cancel;
 * round-robin between sources, FIFO within one; a busy source delays another
 * by at most one job; entries vanish when they hold nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/fairq.h"

static int tags[4096];

/* Admits and submits a job whose arg is &tags[tag]. */
static int
push(struct fairq *q, const char *src, const char *acct, int tag)
{
	struct fairq_job *j;
	int rc = fairq_admit(q, src, acct, &j);

	if (rc != FAIRQ_OK)
		return rc;
	tags[tag] = tag;
	j->arg = &tags[tag];
	fairq_submit(q, j);
	return FAIRQ_OK;
}

/* Takes the next job, "runs" it, gives its place back: its tag, or -1. */
static int
pop(struct fairq *q)
{
	struct fairq_job *j = fairq_next(q);
	int tag;

	if (j == NULL)
		return -1;
	tag = *(int *)j->arg;
	fairq_finish(q, j);
	return tag;
}

static void
test_per_source_places(void **state)
{
	struct fairq *q = fairq_new(3, 100, 100);
	struct fairq_job *j, *running;
	int i;

	(void)state;
	assert_non_null(q);
	for (i = 0; i < 3; i++)
		assert_int_equal(push(q, "4:198.51.100.1/32", NULL, i), FAIRQ_OK);
	/* the fourth from that source is refused at once ... */
	assert_int_equal(fairq_admit(q, "4:198.51.100.1/32", NULL, &j), FAIRQ_SOURCE_FULL);
	assert_null(j);
	/* ... another source is not */
	assert_int_equal(push(q, "4:198.51.100.2/32", NULL, 10), FAIRQ_OK);
	/* a running job still holds its place */
	running = fairq_next(q);
	assert_non_null(running);
	assert_int_equal(*(int *)running->arg, 0);
	assert_int_equal(fairq_admit(q, "4:198.51.100.1/32", NULL, &j), FAIRQ_SOURCE_FULL);
	fairq_finish(q, running);
	/* once it ran, there is room again */
	assert_int_equal(push(q, "4:198.51.100.1/32", NULL, 3), FAIRQ_OK);
	assert_int_equal(fairq_held(q), 4);
	fairq_free(q);
}

static void
test_per_account_and_total(void **state)
{
	struct fairq *q = fairq_new(100, 2, 5);
	struct fairq_job *j;
	char src[32];
	int i;

	(void)state;
	/* one account from many sources: at most 2 places */
	assert_int_equal(push(q, "s1", "alice", 0), FAIRQ_OK);
	assert_int_equal(push(q, "s2", "alice", 1), FAIRQ_OK);
	assert_int_equal(fairq_admit(q, "s3", "alice", &j), FAIRQ_ACCOUNT_FULL);
	assert_int_equal(push(q, "s3", "bob", 2), FAIRQ_OK);
	assert_int_equal(push(q, "s3", NULL, 3), FAIRQ_OK);
	assert_int_equal(push(q, "s4", NULL, 4), FAIRQ_OK);
	/* five places in all */
	assert_int_equal(fairq_admit(q, "s5", NULL, &j), FAIRQ_FULL);
	assert_int_equal(pop(q), 0);
	assert_int_equal(push(q, "s5", "alice", 5), FAIRQ_OK);
	for (i = 0; i < 5; i++)
		assert_int_not_equal(pop(q), -1);
	assert_int_equal(pop(q), -1);
	assert_int_equal(fairq_held(q), 0);
	/* many distinct sources come and go without growing anything */
	for (i = 0; i < 1000; i++) {
		snprintf(src, sizeof(src), "6:2001:db8:%x::/64", i);
		assert_int_equal(push(q, src, src, i), FAIRQ_OK);
		assert_int_equal(pop(q), i);
	}
	assert_int_equal(fairq_held(q), 0);
	assert_int_equal(fairq_queued(q), 0);
	fairq_free(q);
}

static void
test_cancel_gives_the_place_back(void **state)
{
	struct fairq *q = fairq_new(1, 1, 10);
	struct fairq_job *j, *k;

	(void)state;
	assert_int_equal(fairq_admit(q, "a", "acct", &j), FAIRQ_OK);
	assert_int_equal(fairq_admit(q, "a", NULL, &k), FAIRQ_SOURCE_FULL);
	assert_int_equal(fairq_admit(q, "b", "acct", &k), FAIRQ_ACCOUNT_FULL);
	/* admitted but not queued: nothing to run */
	assert_null(fairq_next(q));
	fairq_cancel(q, j);
	fairq_cancel(q, NULL);
	assert_int_equal(fairq_held(q), 0);
	assert_int_equal(fairq_admit(q, "a", "acct", &j), FAIRQ_OK);
	fairq_cancel(q, j);
	fairq_free(q);
}

static void
test_round_robin(void **state)
{
	struct fairq *q = fairq_new(100, 100, 1000);
	int i, order[12];

	(void)state;
	/* one address queues 8 jobs, then two others one each */
	for (i = 0; i < 8; i++)
		assert_int_equal(push(q, "attacker", NULL, 100 + i), FAIRQ_OK);
	assert_int_equal(push(q, "owner", NULL, 1), FAIRQ_OK);
	assert_int_equal(push(q, "third", NULL, 2), FAIRQ_OK);
	for (i = 0; i < 10; i++)
		order[i] = pop(q);
	assert_int_equal(pop(q), -1);
	/* the others are served after at most one of the attacker's jobs each */
	assert_int_equal(order[0], 100);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	/* and the attacker's run in their own order */
	for (i = 3; i < 10; i++)
		assert_int_equal(order[i], 100 + i - 2);
	fairq_free(q);
}

static void
test_round_robin_interleaves(void **state)
{
	struct fairq *q = fairq_new(100, 100, 1000);
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(push(q, "a", NULL, 10 + i), FAIRQ_OK);
		assert_int_equal(push(q, "b", NULL, 20 + i), FAIRQ_OK);
	}
	assert_int_equal(pop(q), 10);
	/* a newcomer goes behind the sources already waiting, not behind all jobs */
	assert_int_equal(push(q, "c", NULL, 30), FAIRQ_OK);
	assert_int_equal(pop(q), 20);
	assert_int_equal(pop(q), 11);
	assert_int_equal(pop(q), 30);
	assert_int_equal(pop(q), 21);
	assert_int_equal(pop(q), 12);
	assert_int_equal(pop(q), 22);
	assert_int_equal(pop(q), -1);
	fairq_free(q);
}

static void
test_long_keys_and_free_with_jobs(void **state)
{
	struct fairq *q = fairq_new(2, 2, 10);
	char a[300], b[300];
	struct fairq_job *j;

	(void)state;
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'y';	/* differs beyond the 127 bytes kept: the same source */
	assert_int_equal(push(q, a, NULL, 0), FAIRQ_OK);
	assert_int_equal(push(q, b, NULL, 1), FAIRQ_OK);
	assert_int_equal(fairq_admit(q, a, NULL, &j), FAIRQ_SOURCE_FULL);
	assert_int_equal(fairq_admit(q, NULL, a, &j), FAIRQ_OK);	/* no source: "" */
	fairq_cancel(q, j);
	/* freed with a job still queued (ASan: nothing leaks) */
	fairq_finish(q, fairq_next(q));
	assert_int_equal(fairq_queued(q), 1);
	fairq_free(q);
	fairq_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_source_places),
		cmocka_unit_test(test_per_account_and_total),
		cmocka_unit_test(test_cancel_gives_the_place_back),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_round_robin_interleaves),
		cmocka_unit_test(test_long_keys_and_free_with_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_throttle.c — the lockout and back-off arithmetic at its
 * boundaries (authd/throttle.c), then the counters through a real store. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include <cmocka.h>

#include "../../authd/config.h"
#include "../../authd/store.h"
#include "../../authd/throttle.h"
#include "fixture.h"

static void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->account_max_failures = 5;
	c->account_lockout_s = 900;
	c->address_free_failures = 10;
	c->address_base_delay_ms = 1000;
	c->address_max_delay_s = 900;
	c->address_window_s = 3600;
}

#define T0 ((int64_t)1700000000)

static void
test_account_below_limit_goes(void **state)
{
	struct conf c;
	long f;

	(void)state;
	conf_defaults(&c);
	for (f = 0; f < 5; f++)
		assert_int_equal(throttle_account_wait(&c, f, T0, T0), 0);
	assert_int_equal(throttle_account_wait(&c, -1, T0, T0), 0);
}

static void
test_account_lockout_boundaries(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(throttle_account_wait(&c, 5, T0, T0), 900);
	assert_int_equal(throttle_account_wait(&c, 5, T0, T0 + 1), 899);
	assert_int_equal(throttle_account_wait(&c, 5, T0, T0 + 899), 1);
	assert_int_equal(throttle_account_wait(&c, 5, T0, T0 + 900), 0);
	assert_int_equal(throttle_account_wait(&c, 6, T0, T0 + 100), 800);
	assert_int_equal(throttle_account_wait(&c, LONG_MAX, T0, T0), 900);
}

static void
test_account_clock_back_bounded(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	/* last failure "in the future": lock, but never longer than one period */
	assert_int_equal(throttle_account_wait(&c, 5, T0 + 100000, T0), 900);
}

static void
test_account_lockout_disabled(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	c.account_max_failures = 0;
	assert_int_equal(throttle_account_wait(&c, 100, T0, T0), 0);
}

static void
test_address_free_failures_cost_nothing(void **state)
{
	struct conf c;
	long f;

	(void)state;
	conf_defaults(&c);
	for (f = 0; f <= 10; f++)
		assert_int_equal(throttle_address_wait(&c, f, T0, T0), 0);
}

static void
test_address_doubling(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(throttle_address_wait(&c, 11, T0, T0), 1);
	assert_int_equal(throttle_address_wait(&c, 12, T0, T0), 2);
	assert_int_equal(throttle_address_wait(&c, 13, T0, T0), 4);
	assert_int_equal(throttle_address_wait(&c, 14, T0, T0), 8);
	assert_int_equal(throttle_address_wait(&c, 20, T0, T0), 512);
	/* 1024 s is over the cap */
	assert_int_equal(throttle_address_wait(&c, 21, T0, T0), 900);
	/* time already waited counts */
	assert_int_equal(throttle_address_wait(&c, 13, T0, T0 + 3), 1);
	assert_int_equal(throttle_address_wait(&c, 13, T0, T0 + 4), 0);
	assert_int_equal(throttle_address_wait(&c, 11, T0, T0 + 1), 0);
}

static void
test_address_doubling_never_overflows(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(throttle_address_wait(&c, 74, T0, T0), 900);	/* 2^63 ms */
	assert_int_equal(throttle_address_wait(&c, 1000, T0, T0), 900);
	assert_int_equal(throttle_address_wait(&c, LONG_MAX, T0, T0), 900);
	c.address_base_delay_ms = INT_MAX;
	c.address_max_delay_s = INT_MAX;
	assert_int_equal(throttle_address_wait(&c, 11, T0, T0), (INT_MAX + 999L) / 1000);
	assert_int_equal(throttle_address_wait(&c, LONG_MAX, T0, T0), INT_MAX);
}

static void
test_address_sub_second_base_rounds_up(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	c.address_base_delay_ms = 300;
	assert_int_equal(throttle_address_wait(&c, 11, T0, T0), 1);	/* 300 ms */
	assert_int_equal(throttle_address_wait(&c, 13, T0, T0), 2);	/* 1200 ms */
	assert_int_equal(throttle_address_wait(&c, 14, T0, T0), 3);	/* 2400 ms */
}

static void
test_address_window_expiry(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	c.address_max_delay_s = 7200;	/* a delay longer than the window */
	assert_int_equal(throttle_address_wait(&c, 30, T0, T0 + 3599), 7200 - 3599);
	assert_int_equal(throttle_address_wait(&c, 30, T0, T0 + 3600), 0);
	assert_int_equal(throttle_address_wait(&c, 30, T0, T0 + 100000), 0);
}

static void
test_address_clock_back_bounded(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(throttle_address_wait(&c, 12, T0 + 5000, T0), 2);
}

/* ---- through a real store ---- */

struct fx {
	char dir[FX_DIR_MAX];
	struct store *s;
	struct conf c;
};

struct op {
	struct conf *c;
	const char *name, *ip;
	int64_t now;
	int what;	/* 0 fail, 1 success, 2 put raw json */
	const char *key;
	json_t *val;
	int rc;
};

static int
do_op(struct store_txn *t, void *ctx)
{
	struct op *o = ctx;

	switch (o->what) {
	case 0:
		o->rc = throttle_fail(t, o->c, o->name, o->ip, o->now);
		break;
	case 1:
		o->rc = throttle_success(t, o->name, o->ip);
		break;
	default:
		o->rc = store_puts(t, T_THROTTLE, o->key, o->val, 0);
		break;
	}
	return o->rc;
}

static int
fail_n(struct fx *f, const char *name, const char *ip, int64_t now, int n)
{
	struct op o = { .c = &f->c, .name = name, .ip = ip, .now = now, .what = 0 };
	int i, rc;

	for (i = 0; i < n; i++)
		if ((rc = store_write_sync(f->s, do_op, &o)) != STORE_OK)
			return rc;
	return STORE_OK;
}

static int
succeed(struct fx *f, const char *name, const char *ip)
{
	struct op o = { .c = &f->c, .name = name, .ip = ip, .what = 1 };

	return store_write_sync(f->s, do_op, &o);
}

static long
check(struct fx *f, const char *name, const char *ip, int64_t now)
{
	struct store_txn *t = store_read_begin(f->s);
	long w;

	assert_non_null(t);
	w = throttle_check(t, &f->c, name, ip, now);
	store_read_end(t);
	return w;
}

static long
stored_fails(struct fx *f, const char *key)
{
	struct store_txn *t = store_read_begin(f->s);
	json_t *rec = NULL;
	long n = -1;

	assert_non_null(t);
	if (store_gets(t, T_THROTTLE, key, &rec) == STORE_OK) {
		n = (long)json_integer_value(json_object_get(rec, "fails"));
		json_decref(rec);
	}
	store_read_end(t);
	return n;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_make(f->dir, &f->s, "throttle", 16, 0) != 0) {
		free(f);
		return -1;
	}
	conf_defaults(&f->c);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	return rc;
}

static void
test_store_lockout_after_five(void **state)
{
	struct fx *f = *state;

	assert_int_equal(check(f, "alice", "10.0.0.1", T0), 0);
	assert_int_equal(fail_n(f, "alice", "10.0.0.1", T0, 4), STORE_OK);
	assert_int_equal(check(f, "alice", "10.0.0.1", T0), 0);
	assert_int_equal(fail_n(f, "alice", "10.0.0.1", T0, 1), STORE_OK);
	assert_int_equal(check(f, "alice", "10.0.0.1", T0), 900);
	/* from any address: the lock is on the name */
	assert_int_equal(check(f, "alice", "192.0.2.9", T0 + 10), 890);
	assert_int_equal(check(f, "alice", NULL, T0 + 900), 0);
	/* another name from the same address is not locked */
	assert_int_equal(check(f, "bob", "10.0.0.1", T0), 0);
}

static void
test_store_unknown_name_locks_the_same(void **state)
{
	struct fx *f = *state;

	/* no user table is consulted: a lockout never reveals existence */
	assert_int_equal(fail_n(f, "no.such.user", "10.0.0.2", T0, 5), STORE_OK);
	assert_int_equal(check(f, "no.such.user", NULL, T0), 900);
}

static void
test_store_success_resets_account_only(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fail_n(f, "carol", "10.0.0.3", T0, 5), STORE_OK);
	assert_int_equal(check(f, "carol", NULL, T0), 900);
	assert_int_equal(succeed(f, "carol", "10.0.0.3"), STORE_OK);
	assert_int_equal(check(f, "carol", NULL, T0), 0);
	assert_int_equal(stored_fails(f, "u:carol"), -1);
	/* the address keeps its count: a good login does not launder a run */
	assert_int_equal(stored_fails(f, "a:10.0.0.3"), 5);
	/* success for a name with no counter is fine */
	assert_int_equal(succeed(f, "dave", NULL), STORE_OK);
}

static void
test_store_address_backoff(void **state)
{
	struct fx *f = *state;
	char name[16];
	int i;

	/* a spray: one try each for many names from one address */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(fail_n(f, name, "2001:db8::1", T0, 1), STORE_OK);
	}
	assert_int_equal(check(f, NULL, "2001:db8::1", T0), 0);
	assert_int_equal(fail_n(f, "user10", "2001:db8::1", T0, 1), STORE_OK);
	assert_int_equal(check(f, NULL, "2001:db8::1", T0), 1);
	assert_int_equal(fail_n(f, "user11", "2001:db8::1", T0, 2), STORE_OK);
	assert_int_equal(check(f, "fresh", "2001:db8::1", T0), 4);
	assert_int_equal(check(f, "fresh", "2001:db8::2", T0), 0);
}

static void
test_store_window_forgets(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fail_n(f, "erin", "10.0.0.4", T0, 4), STORE_OK);
	assert_int_equal(stored_fails(f, "u:erin"), 4);
	/* a failure after the window starts a new count for both */
	assert_int_equal(fail_n(f, "erin", "10.0.0.4", T0 + 3600, 1), STORE_OK);
	assert_int_equal(stored_fails(f, "u:erin"), 1);
	assert_int_equal(stored_fails(f, "a:10.0.0.4"), 1);
	assert_int_equal(check(f, "erin", "10.0.0.4", T0 + 3600), 0);
	/* within the window they add up */
	assert_int_equal(fail_n(f, "erin", "10.0.0.4", T0 + 3601, 4), STORE_OK);
	assert_int_equal(check(f, "erin", NULL, T0 + 3601), 900);
}

static void
test_store_refuses_oversized_key(void **state)
{
	struct fx *f = *state;
	char longname[200];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	/* fails closed: the longest configured wait */
	assert_int_equal(check(f, longname, NULL, T0), 900);
	assert_int_not_equal(fail_n(f, longname, NULL, T0, 1), STORE_OK);
	assert_int_equal(check(f, "", NULL, T0), 900);
}

static void
test_store_corrupt_counter_fails_closed(void **state)
{
	struct fx *f = *state;
	struct op o = { .c = &f->c, .what = 2, .key = "u:mallory" };

	o.val = json_pack("{s:s,s:i}", "fails", "many", "last", 0);
	assert_non_null(o.val);
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	json_decref(o.val);
	assert_int_equal(check(f, "mallory", NULL, T0), 900);
	/* the next failure repairs it */
	assert_int_equal(fail_n(f, "mallory", NULL, T0, 1), STORE_OK);
	assert_int_equal(stored_fails(f, "u:mallory"), 1);
	assert_int_equal(check(f, "mallory", NULL, T0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_below_limit_goes),
		cmocka_unit_test(test_account_lockout_boundaries),
		cmocka_unit_test(test_account_clock_back_bounded),
		cmocka_unit_test(test_account_lockout_disabled),
		cmocka_unit_test(test_address_free_failures_cost_nothing),
		cmocka_unit_test(test_address_doubling),
		cmocka_unit_test(test_address_doubling_never_overflows),
		cmocka_unit_test(test_address_sub_second_base_rounds_up),
		cmocka_unit_test(test_address_window_expiry),
		cmocka_unit_test(test_address_clock_back_bounded),
		cmocka_unit_test_setup_teardown(test_store_lockout_after_five, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_unknown_name_locks_the_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_success_resets_account_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_address_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_window_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_refuses_oversized_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_corrupt_counter_fails_closed, setup, teardown),
	};

	return cmocka_run_group_tests_name("throttle", tests, NULL, NULL);
}

/* tests/unit/test_throttle.c — sign-in throttling (authd/throttle.c): the
 * address-prefix key, the back-off and soft-ceiling arithmetic at their
 * boundaries, then reserve / release / succeed through a real store: counted
 * before the check, one in flight per account and per transaction, the
 * transaction's cap, password / code / key counted apart, the owner's own place
 * exempt from the soft ceiling, and device user codes. */
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

#define T0 ((int64_t)1700000000)

static void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->account_max_failures = 5;
	c->account_base_delay_s = 60;
	c->account_lockout_s = 900;
	c->account_window_s = 86400;
	c->account_soft_failures = 100;
	c->account_soft_interval_s = 60;
	c->known_address_days = 30;
	c->code_max_failures = 5;
	c->code_base_delay_s = 30;
	c->code_max_delay_s = 900;
	c->login_max_attempts = 5;
	c->address_free_failures = 10;
	c->address_base_delay_ms = 1000;
	c->address_max_delay_s = 900;
	c->address_window_s = 3600;
	c->ipv4_prefix = 32;
	c->ipv6_prefix = 64;
	c->lease_s = 30;
	c->device_code_max_failures = 10;
	c->device_code_window_s = 600;
	c->login_ttl = 600;
}

/* ---- the prefix key ---- */

static const char *
pk(const char *ip, int v4, int v6)
{
	static char out[THROTTLE_PREFIX_MAX];

	return throttle_prefix(ip, v4, v6, out);
}

static void
test_prefix_ipv4(void **state)
{
	(void)state;
	assert_string_equal(pk("198.51.100.7", 32, 64), "4:198.51.100.7/32");
	assert_string_equal(pk("198.51.100.7", 24, 64), "4:198.51.100.0/24");
	assert_string_equal(pk("198.51.100.7", 20, 64), "4:198.51.96.0/20");
	/* an IPv4-mapped IPv6 address is that IPv4 client */
	assert_string_equal(pk("::ffff:198.51.100.7", 32, 64), "4:198.51.100.7/32");
	assert_string_equal(pk("::FFFF:c633:6407", 24, 64), "4:198.51.100.0/24");
}

static void
test_prefix_ipv6_one_64(void **state)
{
	char a[THROTTLE_PREFIX_MAX];
	const char *same[] = {
		"2001:db8:7:7::1", "2001:db8:7:7::ffff", "2001:DB8:7:7::C",
		"2001:0db8:0007:0007:ffff:ffff:ffff:ffff", "2001:db8:7:7:1:2:3:4",
		"2001:db8:7:7:0:0:0:b",
	};
	size_t i;

	(void)state;
	throttle_prefix("2001:db8:7:7::", 32, 64, a);
	assert_string_equal(a, "6:2001:db8:7:7::/64");
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		assert_string_equal(pk(same[i], 32, 64), a);
	assert_string_not_equal(pk("2001:db8:7:8::1", 32, 64), a);
	assert_string_not_equal(pk("2001:db8:7:6:ffff:ffff:ffff:ffff", 32, 64), a);
	/* other lengths */
	assert_string_equal(pk("2001:db8:7:7::1", 32, 48), "6:2001:db8:7::/48");
	assert_string_equal(pk("2001:db8:7:7::1", 32, 128), "6:2001:db8:7:7::1/128");
	assert_string_equal(pk("2001:db8:7:7:8000::1", 32, 65), "6:2001:db8:7:7:8000::/65");
	assert_string_equal(pk("::1", 32, 64), "6:::/64");
}

static void
test_prefix_defaults_and_bounds(void **state)
{
	(void)state;
	/* 0 (a hand-built conf) means the defaults; out of range is clamped */
	assert_string_equal(pk("198.51.100.7", 0, 0), "4:198.51.100.7/32");
	assert_string_equal(pk("2001:db8::5", 0, 0), "6:2001:db8::/64");
	assert_string_equal(pk("198.51.100.7", 99, 999), "4:198.51.100.7/32");
	assert_string_equal(pk("2001:db8::5", 99, 999), "6:2001:db8::5/128");
}

static void
test_prefix_unparsable_is_its_own(void **state)
{
	char long_in[200], out[THROTTLE_PREFIX_MAX];

	(void)state;
	assert_string_equal(pk("-", 32, 64), "x:-");
	assert_string_equal(pk(NULL, 32, 64), "x:-");
	assert_string_equal(pk("fe80::1%eth0", 32, 64), "x:fe80::1%eth0");
	assert_string_equal(pk("1.2.3", 32, 64), "x:1.2.3");
	memset(long_in, 'a', sizeof(long_in) - 1);
	long_in[sizeof(long_in) - 1] = '\0';
	throttle_prefix(long_in, 32, 64, out);
	assert_int_equal(strlen(out), THROTTLE_PREFIX_MAX - 1);
	assert_memory_equal(out, "x:aaaa", 6);
}

/* ---- back-off ---- */

static void
test_backoff_free_then_base(void **state)
{
	struct throttle_backoff b = { 5, 60000, 900, 86400 };
	long n;

	(void)state;
	for (n = 0; n < 5; n++)
		assert_int_equal(throttle_backoff_wait(&b, n, T0, T0), 0);
	assert_int_equal(throttle_backoff_wait(&b, -1, T0, T0), 0);
	assert_int_equal(throttle_backoff_wait(&b, 5, T0, T0), 60);
	/* whole seconds: one second less than the difference has surely passed */
	assert_int_equal(throttle_backoff_wait(&b, 5, T0, T0 + 1), 60);
	assert_int_equal(throttle_backoff_wait(&b, 5, T0, T0 + 59), 2);
	assert_int_equal(throttle_backoff_wait(&b, 5, T0, T0 + 60), 1);
	assert_int_equal(throttle_backoff_wait(&b, 5, T0, T0 + 61), 0);
	assert_int_equal(throttle_backoff_wait(&b, 6, T0, T0), 120);
	assert_int_equal(throttle_backoff_wait(&b, 7, T0, T0), 240);
	assert_int_equal(throttle_backoff_wait(&b, 8, T0, T0), 480);
	assert_int_equal(throttle_backoff_wait(&b, 9, T0, T0), 900);	/* 960 capped */
	assert_int_equal(throttle_backoff_wait(&b, 50, T0, T0 + 100), 801);
}

static void
test_backoff_never_overflows(void **state)
{
	struct throttle_backoff b = { 10, 1000, 900, 3600 };

	(void)state;
	assert_int_equal(throttle_backoff_wait(&b, 74, T0, T0), 900);
	assert_int_equal(throttle_backoff_wait(&b, LONG_MAX, T0, T0), 900);
	b.base_ms = INT_MAX;
	b.max_s = INT_MAX;
	assert_int_equal(throttle_backoff_wait(&b, 10, T0, T0), (INT_MAX + 999L) / 1000);
	assert_int_equal(throttle_backoff_wait(&b, LONG_MAX, T0, T0), INT_MAX);
}

static void
test_backoff_rounding_window_clock(void **state)
{
	struct throttle_backoff b = { 10, 300, 7200, 3600 };

	(void)state;
	assert_int_equal(throttle_backoff_wait(&b, 10, T0, T0), 1);	/* 300 ms */
	assert_int_equal(throttle_backoff_wait(&b, 12, T0, T0), 2);	/* 1200 ms */
	assert_int_equal(throttle_backoff_wait(&b, 13, T0, T0), 3);	/* 2400 ms */
	/* a wait longer than the window ends with the window */
	assert_int_equal(throttle_backoff_wait(&b, 40, T0, T0 + 3599), 7200 - 3598);
	assert_int_equal(throttle_backoff_wait(&b, 40, T0, T0 + 3600), 0);
	/* a last failure in the future counts from now, never longer than the delay */
	assert_int_equal(throttle_backoff_wait(&b, 12, T0 + 5000, T0), 2);
	/* switched off */
	b.base_ms = 0;
	assert_int_equal(throttle_backoff_wait(&b, 1000, T0, T0), 0);
}

static void
test_soft_ceiling(void **state)
{
	(void)state;
	/* below the ceiling: nothing */
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 99, T0, T0), 0);
	/* from it on: one attempt per interval, counted from the last */
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 100, T0, T0), 60);
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 5000, T0, T0 + 59), 2);
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 5000, T0, T0 + 61), 0);
	/* never more than one interval: slower, not locked */
	assert_int_equal(throttle_soft_wait(100, 60, 86400, LONG_MAX, T0, T0), 60);
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 100, T0 + 99999, T0), 60);
	/* forgotten after the window */
	assert_int_equal(throttle_soft_wait(100, 60, 86400, 100, T0, T0 + 86400), 0);
	assert_int_equal(throttle_soft_wait(0, 60, 86400, 100, T0, T0), 0);
}

static void
test_lease(void **state)
{
	(void)state;
	assert_true(throttle_lease_held(T0 + 30, T0, 30));
	assert_true(throttle_lease_held(T0 + 1, T0, 30));
	assert_false(throttle_lease_held(T0, T0, 30));
	assert_false(throttle_lease_held(0, T0, 30));
	/* claiming more than a lease ahead: the clock stepped back; stale */
	assert_false(throttle_lease_held(T0 + 31, T0, 30));
}

/* ---- through a real store ---- */

struct fx {
	char dir[FX_DIR_MAX];
	struct store *s;
	struct conf c;
};

enum { OP_RESERVE, OP_FAILED, OP_UNDO, OP_SUCCEED, OP_PUT, OP_DEV, OP_DEV_BACK };

struct op {
	struct fx *f;
	struct throttle_attempt *a;
	int what;
	int64_t now;
	const char *key;
	json_t *val;
	long wait;
};

static int
do_op(struct store_txn *t, void *ctx)
{
	struct op *o = ctx;
	const struct conf *c = &o->f->c;

	switch (o->what) {
	case OP_RESERVE:
		return throttle_reserve(t, c, o->a, o->now);
	case OP_FAILED:
		return throttle_release(t, c, o->a, 1, o->now);
	case OP_UNDO:
		return throttle_release(t, c, o->a, 0, o->now);
	case OP_SUCCEED:
		return throttle_succeed(t, c, o->a, o->now);
	case OP_DEV:
		return throttle_device_reserve(t, c, o->key, o->now, &o->wait);
	case OP_DEV_BACK:
		return throttle_device_release(t, c, o->key, o->now);
	default:
		return store_puts(t, T_THROTTLE, o->key, o->val, 0);
	}
}

static void
run(struct fx *f, struct throttle_attempt *a, int what, int64_t now)
{
	struct op o = { .f = f, .a = a, .what = what, .now = now };

	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
}

/* A fresh attempt description (strings borrowed from the caller). */
static struct throttle_attempt
att(enum throttle_kind kind, const char *account, const char *prefix, const char *tx, int later)
{
	struct throttle_attempt a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.account = account;
	a.prefix = prefix;
	a.tx = tx;
	a.later_step = later;
	return a;
}

/* Reserves and returns the verdict (wait in *wait). */
static enum throttle_verdict
reserve(struct fx *f, struct throttle_attempt *a, int64_t now, long *wait)
{
	run(f, a, OP_RESERVE, now);
	if (wait != NULL)
		*wait = a->wait;
	return a->verdict;
}

/* n complete failed attempts (reserve GO, then a failed release). */
static void
fail_n(struct fx *f, enum throttle_kind kind, const char *account, const char *prefix, int n,
       int64_t now)
{
	int i;

	for (i = 0; i < n; i++) {
		struct throttle_attempt a = att(kind, account, prefix, NULL, 0);

		assert_int_equal(reserve(f, &a, now, NULL), THROTTLE_GO);
		run(f, &a, OP_FAILED, now);
	}
}

static long
stored_n(struct fx *f, const char *key)
{
	struct store_txn *t = store_read_begin(f->s);
	json_t *rec = NULL;
	long n = -1;

	assert_non_null(t);
	if (store_gets(t, T_THROTTLE, key, &rec) == STORE_OK) {
		n = (long)json_integer_value(json_object_get(rec, "n"));
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

#define P1 "4:198.51.100.1/32"
#define P2 "4:198.51.100.2/32"
#define P6 "6:2001:db8:7:7::/64"

static void
test_reserve_counts_before_the_check(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "alice", P1, NULL, 0);

	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	/* counted as a failure already, everywhere it applies, before any answer */
	assert_int_equal(stored_n(f, "pa:" P1 "@alice"), 1);
	assert_int_equal(stored_n(f, "pw:alice"), 1);
	assert_int_equal(stored_n(f, "ad:" P1), 1);
	/* a failed check keeps it; the lease goes */
	run(f, &a, OP_FAILED, T0);
	assert_int_equal(stored_n(f, "pa:" P1 "@alice"), 1);
	assert_int_equal(stored_n(f, "ls:alice"), -1);
}

static void
test_one_in_flight_per_account(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "bob", P1, NULL, 0);
	struct throttle_attempt b = att(THROTTLE_PASSWORD, "bob", P2, NULL, 0);
	struct throttle_attempt o = att(THROTTLE_PASSWORD, "other", P1, NULL, 0);
	long w;

	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	/* the same account, anywhere, while that check runs: refused at once, 1 s */
	assert_int_equal(reserve(f, &b, T0, &w), THROTTLE_BUSY);
	assert_int_equal(w, 1);
	/* ... and the refusal counted nothing */
	assert_int_equal(stored_n(f, "pa:" P2 "@bob"), -1);
	assert_int_equal(stored_n(f, "pw:bob"), 1);
	/* another account is not held up */
	assert_int_equal(reserve(f, &o, T0, NULL), THROTTLE_GO);
	run(f, &o, OP_FAILED, T0);
	run(f, &a, OP_FAILED, T0);
	assert_int_equal(reserve(f, &b, T0, NULL), THROTTLE_GO);
	run(f, &b, OP_FAILED, T0);
}

static void
test_lease_of_a_dead_process_expires(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "carl", P1, NULL, 0);
	struct throttle_attempt b = att(THROTTLE_PASSWORD, "carl", P1, NULL, 0);

	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	/* never released (the process died): held for lease_s, then not */
	assert_int_equal(reserve(f, &b, T0 + 29, NULL), THROTTLE_BUSY);
	assert_int_equal(reserve(f, &b, T0 + 30, NULL), THROTTLE_GO);
	run(f, &b, OP_FAILED, T0 + 30);
	/* and the dead attempt stayed counted */
	assert_int_equal(stored_n(f, "pa:" P1 "@carl"), 2);
}

static void
test_pair_backoff_and_other_place(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "dora", P1, NULL, 0);
	struct throttle_attempt b = att(THROTTLE_PASSWORD, "dora", P2, NULL, 0);
	long w;

	fail_n(f, THROTTLE_PASSWORD, "dora", P1, 5, T0);
	/* the attacker's place waits, doubling ... */
	assert_int_equal(reserve(f, &a, T0 + 2, &w), THROTTLE_WAIT);
	assert_int_equal(w, 59);
	assert_int_equal(stored_n(f, "pa:" P1 "@dora"), 5);	/* a refusal counts nothing */
	assert_int_equal(reserve(f, &a, T0 + 60, &w), THROTTLE_WAIT);	/* never early */
	assert_int_equal(w, 1);
	fail_n(f, THROTTLE_PASSWORD, "dora", P1, 1, T0 + 61);
	assert_int_equal(reserve(f, &a, T0 + 61, &w), THROTTLE_WAIT);
	assert_int_equal(w, 120);
	/* ... while the owner elsewhere goes at once (item 6) */
	assert_int_equal(reserve(f, &b, T0 + 61, NULL), THROTTLE_GO);
	run(f, &b, OP_SUCCEED, T0 + 61);
	/* the attacker's place keeps its back-off after the owner's success */
	assert_int_equal(reserve(f, &a, T0 + 63, &w), THROTTLE_WAIT);
	assert_int_equal(w, 119);
}

static void
test_soft_ceiling_slows_but_known_place_goes(void **state)
{
	struct fx *f = *state;
	char pfx[THROTTLE_PREFIX_MAX];
	struct throttle_attempt a, k;
	long w;
	int i;

	f->c.account_soft_failures = 12;
	/* the owner once signed in from P2: a known place */
	k = att(THROTTLE_PASSWORD, "erin", P2, NULL, 0);
	assert_int_equal(reserve(f, &k, T0 - 100, NULL), THROTTLE_GO);
	run(f, &k, OP_SUCCEED, T0 - 100);
	/* a botnet: 3 failures from each of 4 places = the ceiling */
	for (i = 0; i < 4; i++) {
		snprintf(pfx, sizeof(pfx), "4:203.0.113.%d/32", i);
		fail_n(f, THROTTLE_PASSWORD, "erin", pfx, 3, T0);
	}
	/* a fresh place: slower (one per interval), never locked */
	a = att(THROTTLE_PASSWORD, "erin", "4:203.0.113.99/32", NULL, 0);
	assert_int_equal(reserve(f, &a, T0 + 11, &w), THROTTLE_WAIT);
	assert_int_equal(w, 50);
	assert_int_equal(reserve(f, &a, T0 + 61, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0 + 61);
	assert_int_equal(reserve(f, &a, T0 + 63, &w), THROTTLE_WAIT);
	assert_int_equal(w, 59);
	/* the owner's known place is not slowed by the others' failures */
	k = att(THROTTLE_PASSWORD, "erin", P2, NULL, 0);
	assert_int_equal(reserve(f, &k, T0 + 63, NULL), THROTTLE_GO);
	run(f, &k, OP_SUCCEED, T0 + 63);
	/* whose success clears the ceiling for everyone */
	assert_int_equal(stored_n(f, "pw:erin"), -1);
	assert_int_equal(reserve(f, &a, T0 + 64, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0 + 64);
	/* a known place expires after known_address_days */
	f->c.known_address_days = 1;
	f->c.account_soft_failures = 1;
	k = att(THROTTLE_PASSWORD, "erin", P2, NULL, 0);
	assert_int_equal(reserve(f, &k, T0 + 63 + 86400, &w), THROTTLE_GO);
	run(f, &k, OP_FAILED, T0 + 63 + 86400);
	assert_int_equal(reserve(f, &k, T0 + 65 + 86400, &w), THROTTLE_WAIT);
	assert_int_equal(w, 59);
}

static void
test_address_spraying(void **state)
{
	struct fx *f = *state;
	char name[16];
	struct throttle_attempt a;
	long w;
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		fail_n(f, THROTTLE_PASSWORD, name, P6, 1, T0);
	}
	a = att(THROTTLE_PASSWORD, "fresh", P6, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, &w), THROTTLE_WAIT);
	assert_int_equal(w, 1);
	a = att(THROTTLE_PASSWORD, "fresh", "6:2001:db8:7:8::/64", NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0);
}

static void
test_ipv6_rotation_shares_the_count(void **state)
{
	struct fx *f = *state;
	char pfx[THROTTLE_PREFIX_MAX], ip[64];
	struct throttle_attempt a;
	int i;

	/* five addresses of one /64, one failure each: the pair is at its limit */
	for (i = 1; i <= 5; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:9:9::%x:%x", i, i * 7);
		throttle_prefix(ip, 32, 64, pfx);
		fail_n(f, THROTTLE_PASSWORD, "gina", pfx, 1, T0);
	}
	throttle_prefix("2001:db8:9:9:ffff::1", 32, 64, pfx);
	a = att(THROTTLE_PASSWORD, "gina", pfx, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_WAIT);
	throttle_prefix("2001:db8:9:a::1", 32, 64, pfx);
	a = att(THROTTLE_PASSWORD, "gina", pfx, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0);
}

static void
test_release_takes_back_what_was_not_a_failure(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "hank", P1, "tx-hank", 0);

	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	assert_int_equal(stored_n(f, "pw:hank"), 1);
	/* malformed input, or the password was right and a code is due */
	run(f, &a, OP_UNDO, T0);
	assert_int_equal(stored_n(f, "pa:" P1 "@hank"), -1);
	assert_int_equal(stored_n(f, "pw:hank"), -1);
	assert_int_equal(stored_n(f, "ad:" P1), -1);
	assert_int_equal(stored_n(f, "ls:hank"), -1);
	assert_int_equal(stored_n(f, "tx:tx-hank"), -1);
	/* a second release is a no-op */
	run(f, &a, OP_UNDO, T0);
	run(f, &a, OP_FAILED, T0);
	assert_int_equal(stored_n(f, "pw:hank"), -1);
}

static void
test_transaction_cap_and_lease(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a, b;
	int i;

	f->c.code_max_failures = 100;	/* the transaction's cap alone */
	for (i = 0; i < 5; i++) {
		a = att(THROTTLE_CODE, "ivan", P1, "tx1", 1);
		assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
		/* one check in flight per transaction */
		b = att(THROTTLE_CODE, "ivan", P1, "tx1", 1);
		assert_int_equal(reserve(f, &b, T0, NULL), THROTTLE_BUSY);
		run(f, &a, OP_FAILED, T0);
	}
	/* spent: even the right code will not be checked in this transaction */
	a = att(THROTTLE_CODE, "ivan", P1, "tx1", 1);
	assert_int_equal(reserve(f, &a, T0 + 3600, NULL), THROTTLE_SPENT);
	{
		struct store_txn *t = store_read_begin(f->s);

		assert_true(throttle_tx_spent(t, &f->c, "tx1"));
		assert_false(throttle_tx_spent(t, &f->c, "tx2"));
		store_read_end(t);
	}
	/* another transaction starts again */
	a = att(THROTTLE_CODE, "ivan", P1, "tx2", 1);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0);
	/* a usernameless first step takes the transaction's lease only */
	a = att(THROTTLE_PHISHRES, NULL, P1, "tx3", 0);
	b = att(THROTTLE_PHISHRES, NULL, P1, "tx3", 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	assert_int_equal(reserve(f, &b, T0, NULL), THROTTLE_BUSY);
	run(f, &a, OP_FAILED, T0);
}

static void
test_kinds_are_counted_apart(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a;
	long w;

	/* wrong codes back off the codes ... */
	fail_n(f, THROTTLE_CODE, "jane", P1, 5, T0);
	a = att(THROTTLE_CODE, "jane", P2, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, &w), THROTTLE_WAIT);
	assert_int_equal(w, 30);
	/* ... not the password */
	a = att(THROTTLE_PASSWORD, "jane", P1, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0);
	/* a password back-off does not stop a passkey or a card (item 6) */
	fail_n(f, THROTTLE_PASSWORD, "jane", P1, 4, T0);
	a = att(THROTTLE_PASSWORD, "jane", P1, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_WAIT);
	a = att(THROTTLE_PHISHRES, NULL, P1, "tx-key", 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	a.account = "jane";	/* the key named her */
	run(f, &a, OP_SUCCEED, T0);
	/* whose success clears her password and code counters */
	assert_int_equal(stored_n(f, "pw:jane"), -1);
	assert_int_equal(stored_n(f, "cd:jane"), -1);
	assert_int_equal(stored_n(f, "pa:" P1 "@jane"), 0);
	a = att(THROTTLE_CODE, "jane", P1, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0);
}

static void
test_succeed_keeps_the_address_record(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "kate", P1, NULL, 0);

	fail_n(f, THROTTLE_PASSWORD, "sprayed1", P1, 1, T0);
	fail_n(f, THROTTLE_PASSWORD, "sprayed2", P1, 1, T0);
	fail_n(f, THROTTLE_PASSWORD, "kate", P1, 2, T0);
	assert_int_equal(stored_n(f, "ad:" P1), 4);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	assert_int_equal(stored_n(f, "ad:" P1), 5);
	run(f, &a, OP_SUCCEED, T0);
	/* only this attempt's count went back: one valid account does not launder a run */
	assert_int_equal(stored_n(f, "ad:" P1), 4);
	assert_int_equal(stored_n(f, "pa:" P1 "@kate"), 0);
	assert_int_equal(stored_n(f, "pw:kate"), -1);
}

static void
test_corrupt_counter_fails_closed(void **state)
{
	struct fx *f = *state;
	struct op o = { .f = f, .what = OP_PUT, .key = "pw:mallory" };
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "mallory", P1, NULL, 0);
	long w;

	o.val = json_pack("{s:s,s:i}", "n", "many", "last", 0);
	assert_non_null(o.val);
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	json_decref(o.val);
	assert_int_equal(reserve(f, &a, T0, &w), THROTTLE_WAIT);
	assert_int_equal(w, 900);
	assert_int_equal(stored_n(f, "pa:" P1 "@mallory"), -1);	/* nothing counted */
	/* no key can be made: refused too */
	a = att(THROTTLE_PASSWORD, NULL, P1, NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_WAIT);
	a = att(THROTTLE_PASSWORD, "x", "", NULL, 0);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_WAIT);
}

static void
test_window_forgets(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_PASSWORD, "lena", P1, NULL, 0);

	long w;

	fail_n(f, THROTTLE_PASSWORD, "lena", P1, 5, T0);
	fail_n(f, THROTTLE_PASSWORD, "lena", P1, 1, T0 + 100);	/* after the first wait */
	assert_int_equal(reserve(f, &a, T0 + 102, &w), THROTTLE_WAIT);
	assert_int_equal(w, 119);
	assert_int_equal(stored_n(f, "pa:" P1 "@lena"), 6);
	/* a day after the last failure the count starts again */
	assert_int_equal(reserve(f, &a, T0 + 100 + 86400, NULL), THROTTLE_GO);
	run(f, &a, OP_FAILED, T0 + 100 + 86400);
	assert_int_equal(stored_n(f, "pa:" P1 "@lena"), 1);
}

static void
test_device_codes(void **state)
{
	struct fx *f = *state;
	struct op o = { .f = f, .key = P6 };
	int i;

	for (i = 0; i < 10; i++) {
		o.what = OP_DEV;
		o.now = T0;
		assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
		assert_int_equal(o.wait, 0);
	}
	assert_int_equal(stored_n(f, "dv:" P6), 10);
	/* the 11th code is refused before it is looked up, counting nothing */
	o.now = T0 + 10;
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	assert_int_equal(o.wait, 590);
	assert_int_equal(stored_n(f, "dv:" P6), 10);
	/* a right code gives its count back */
	o.what = OP_DEV_BACK;
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	assert_int_equal(stored_n(f, "dv:" P6), 9);
	o.what = OP_DEV;
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	assert_int_equal(o.wait, 0);
	/* the window forgets */
	o.now = T0 + 10 + 600;
	assert_int_equal(store_write_sync(f->s, do_op, &o), STORE_OK);
	assert_int_equal(o.wait, 0);
	assert_int_equal(stored_n(f, "dv:" P6), 1);
}

static int
w_clear(struct store_txn *t, void *ctx)
{
	return throttle_leases_clear(t, T0, ctx);
}

static void
test_leases_cleared_at_start(void **state)
{
	struct fx *f = *state;
	struct throttle_attempt a = att(THROTTLE_CODE, "nina", P1, "tx-nina", 1);
	struct throttle_attempt b = att(THROTTLE_PASSWORD, "omar", P1, NULL, 0);
	char name[16];
	long n = -1;
	int i;

	/* 300 accounts with a check in flight when the process died (more than
	 * one scan round), and a transaction's lease */
	for (i = 0; i < 300; i++) {
		struct throttle_attempt x;
		char pfx[THROTTLE_PREFIX_MAX];

		snprintf(name, sizeof(name), "dead%d", i);
		snprintf(pfx, sizeof(pfx), "4:10.0.%d.%d/32", i / 256, i % 256);
		x = att(THROTTLE_PASSWORD, name, i == 7 ? P2 : pfx, NULL, 0);
		assert_int_equal(reserve(f, &x, T0, NULL), THROTTLE_GO);
	}
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	assert_int_equal(reserve(f, &b, T0, NULL), THROTTLE_GO);
	assert_int_equal(store_write_sync(f->s, w_clear, &n), STORE_OK);
	assert_int_equal(n, 303);
	/* free at once, and the dead attempts stay counted */
	a = att(THROTTLE_CODE, "nina", P1, "tx-nina", 1);
	assert_int_equal(reserve(f, &a, T0, NULL), THROTTLE_GO);
	assert_int_equal(stored_n(f, "tx:tx-nina"), 2);
	assert_int_equal(stored_n(f, "pa:" P2 "@dead7"), 1);
	b = att(THROTTLE_PASSWORD, "dead7", P1, NULL, 0);
	assert_int_equal(reserve(f, &b, T0, NULL), THROTTLE_GO);
	assert_int_equal(store_write_sync(f->s, w_clear, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_write_sync(f->s, w_clear, &n), STORE_OK);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_ipv4),
		cmocka_unit_test(test_prefix_ipv6_one_64),
		cmocka_unit_test(test_prefix_defaults_and_bounds),
		cmocka_unit_test(test_prefix_unparsable_is_its_own),
		cmocka_unit_test(test_backoff_free_then_base),
		cmocka_unit_test(test_backoff_never_overflows),
		cmocka_unit_test(test_backoff_rounding_window_clock),
		cmocka_unit_test(test_soft_ceiling),
		cmocka_unit_test(test_lease),
		cmocka_unit_test_setup_teardown(test_reserve_counts_before_the_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_in_flight_per_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_of_a_dead_process_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_backoff_and_other_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soft_ceiling_slows_but_known_place_goes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_spraying, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_rotation_shares_the_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_takes_back_what_was_not_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_cap_and_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds_are_counted_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_succeed_keeps_the_address_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_counter_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases_cleared_at_start, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

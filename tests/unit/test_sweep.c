/* tests/unit/test_sweep.c — the expiry sweeper removes exactly the expired
 * records, in bounded passes that resume where they stopped. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/store.h"
#include "../../authd/sweep.h"
#include "fixture.h"

#define NOW 1700000000

static int setup(void **state)
{
	return fx_store_setup(state, "sweep", 64, FX_NO_WRITER);
}

struct fill {
	enum store_table tab;
	const char *field;
	int n;
	int64_t exp_old, exp_new;   /* every other record expired */
};

static int fill_fn(struct store_txn *t, void *ctx)
{
	struct fill *fl = ctx;

	for (int i = 0; i < fl->n; i++) {
		char key[32];
		json_t *v = json_pack("{s:I}", fl->field, (json_int_t)(i % 2 ? fl->exp_old : fl->exp_new));
		snprintf(key, sizeof(key), "k%05d", i);
		int rc = store_puts(t, fl->tab, key, v, 0);
		json_decref(v);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

struct pass {
	struct sweep_cursor cur;
	size_t budget;
	long deleted;
};

static int pass_fn(struct store_txn *t, void *ctx)
{
	struct pass *p = ctx;

	p->deleted = sweep_pass(t, &p->cur, NOW, p->budget, 3600);
	return p->deleted < 0 ? STORE_IO : STORE_OK;
}

static size_t count(struct store *s, enum store_table tab)
{
	struct store_txn *t = store_read_begin(s);
	size_t n = store_count(t, tab);

	store_read_end(t);
	return n;
}

static void removes_only_expired(void **state)
{
	struct fx_store *f = *state;
	struct fill codes = { T_CODES, "expires", 10, NOW - 3600, NOW + 60 };
	struct fill jti = { T_JTI, "exp", 10, NOW - 3600, NOW + 3600 };
	struct fill thr = { T_THROTTLE, "last", 10, NOW - 7200, NOW - 10 };
	struct pass p = { .budget = 1000 };

	assert_int_equal(store_write_sync(f->s, fill_fn, &codes), STORE_OK);
	assert_int_equal(store_write_sync(f->s, fill_fn, &jti), STORE_OK);
	assert_int_equal(store_write_sync(f->s, fill_fn, &thr), STORE_OK);
	assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
	assert_int_equal(p.deleted, 15);
	assert_int_equal(count(f->s, T_CODES), 5);
	assert_int_equal(count(f->s, T_JTI), 5);
	assert_int_equal(count(f->s, T_THROTTLE), 5);
	/* A second pass finds nothing more. */
	assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
	assert_int_equal(p.deleted, 0);
}

static void grace_keeps_just_expired(void **state)
{
	struct fx_store *f = *state;
	struct fill fam = { T_FAMILIES, "expires", 4, NOW - 30, NOW - 30 };
	struct pass p = { .budget = 1000 };

	assert_int_equal(store_write_sync(f->s, fill_fn, &fam), STORE_OK);
	assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
	assert_int_equal(p.deleted, 0);
	assert_int_equal(count(f->s, T_FAMILIES), 4);
}

static void bounded_passes_resume(void **state)
{
	struct fx_store *f = *state;
	struct fill sess = { T_SESSIONS, "expires", 100, NOW - 100000, NOW + 100000 };
	struct pass p = { .budget = 10 };
	long total = 0;

	assert_int_equal(store_write_sync(f->s, fill_fn, &sess), STORE_OK);
	/* Each pass looks at 10 records: the first deletes at most 5. */
	assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
	assert_true(p.deleted <= 5);
	total += p.deleted;
	for (int i = 0; i < 30 && total < 50; i++) {
		assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
		total += p.deleted;
	}
	assert_int_equal(total, 50);
	assert_int_equal(count(f->s, T_SESSIONS), 50);
}

static void other_tables_untouched(void **state)
{
	struct fx_store *f = *state;
	struct fill users = { T_USERS, "expires", 6, NOW - 100000, NOW - 100000 };
	struct pass p = { .budget = 1000 };

	assert_int_equal(store_write_sync(f->s, fill_fn, &users), STORE_OK);
	assert_int_equal(store_write_sync(f->s, pass_fn, &p), STORE_OK);
	assert_int_equal(count(f->s, T_USERS), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(removes_only_expired, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(grace_keeps_just_expired, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(bounded_passes_resume, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(other_tables_untouched, setup, fx_store_teardown),
	};
	return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}

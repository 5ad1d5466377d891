/* tests/unit/test_status.c — the one status enum (authd/status.h): fixed
 * numbers (write functions hand them through store_done_fn), a description
 * for each, and the migration aliases STORE_* and METHOD_* naming the same
 * values, while the store keeps its own words (authctl prints them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/status.h"
#include "../../authd/store.h"
#include "../../modules/method.h"

static void
test_numbers_are_fixed(void **state)
{
	/* The store's values never change: completions compare them. */
	assert_int_equal(ST_OK, 0);
	assert_int_equal(ST_NOTFOUND, 1);
	assert_int_equal(ST_EXISTS, 2);
	assert_int_equal(ST_CONFLICT, 3);
	assert_int_equal(ST_FULL, 4);
	assert_int_equal(ST_CORRUPT, 5);
	assert_int_equal(ST_IO, 6);
	assert_int_equal(ST_SHUTDOWN, 7);
	assert_int_equal(ST_INVALID, 8);
	assert_int_equal(ST_FAIL, 9);
	assert_int_equal(ST_ERROR, ST__COUNT - 1);
}

static void
test_every_status_has_its_own_words(void **state)
{
	int i, j;

	for (i = 0; i < ST__COUNT; i++) {
		const char *s = st_strerror(i);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, "unknown status");
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, st_strerror(j));
	}
	assert_string_equal(st_strerror(ST_OK), "ok");
	assert_string_equal(st_strerror(ST_FAIL), "failed (wrong answer or unknown person)");
	assert_string_equal(st_strerror(-1), "unknown status");
	assert_string_equal(st_strerror(ST__COUNT), "unknown status");
	assert_string_equal(st_strerror(-100), "unknown status");
}

static void
test_store_aliases(void **state)
{
	assert_int_equal(STORE_OK, ST_OK);
	assert_int_equal(STORE_NOTFOUND, ST_NOTFOUND);
	assert_int_equal(STORE_EXISTS, ST_EXISTS);
	assert_int_equal(STORE_CONFLICT, ST_CONFLICT);
	assert_int_equal(STORE_FULL, ST_FULL);
	assert_int_equal(STORE_CORRUPT, ST_CORRUPT);
	assert_int_equal(STORE_IO, ST_IO);
	assert_int_equal(STORE_SHUTDOWN, ST_SHUTDOWN);
	assert_int_equal(STORE_INVALID, ST_INVALID);
	/* The store's own words stay what authctl always printed. */
	assert_string_equal(store_strerror(ST_OK), "ok");
	assert_string_equal(store_strerror(ST_NOTFOUND), "not found");
	assert_string_equal(store_strerror(ST_EXISTS), "already exists");
	assert_string_equal(store_strerror(ST_CONFLICT), "refused by the write's own rule");
	assert_string_equal(store_strerror(ST_FULL), "store full (map size reached)");
	assert_string_equal(
	    store_strerror(ST_CORRUPT), "corrupt record (unknown version or bad JSON)");
	assert_string_equal(store_strerror(ST_IO), "storage backend failure");
	assert_string_equal(store_strerror(ST_SHUTDOWN), "store is shutting down");
	assert_string_equal(store_strerror(ST_INVALID), "invalid argument");
	/* Values the store never returns are not its errors. */
	assert_string_equal(store_strerror(ST_FAIL), "unknown store error");
	assert_string_equal(store_strerror(-1), "unknown store error");
}

static void
test_method_aliases(void **state)
{
	assert_int_equal(METHOD_OK, ST_OK);
	assert_int_equal(METHOD_FAIL, ST_FAIL);
	assert_int_equal(METHOD_INVALID, ST_INVALID);
	assert_int_equal(METHOD_ERROR, ST_ERROR);
	/* Distinct from each other, and from the login code's private marker. */
	assert_int_not_equal(METHOD_FAIL, METHOD_INVALID);
	assert_int_not_equal(METHOD_FAIL, METHOD_ERROR);
	assert_int_not_equal(METHOD_INVALID, METHOD_ERROR);
	assert_true(METHOD_FAIL > 0 && METHOD_INVALID > 0 && METHOD_ERROR > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_are_fixed),
		cmocka_unit_test(test_every_status_has_its_own_words),
		cmocka_unit_test(test_store_aliases),
		cmocka_unit_test(test_method_aliases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

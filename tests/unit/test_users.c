/* tests/unit/test_users.c — user accounts: the username rules, creation, lookup
 * by name (case-insensitive) and id, duplicates refused, rename through update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../authd/users.h"
#include "fixture.h"

static int
setup(void **state)
{
	return fx_store_setup(state, "users", 16, 0);
}

static int
update_fn(struct store_txn *t, void *ctx)
{
	return user_update(t, ctx);
}

static void
test_username_rules(void **state)
{
	static const char *good[] = { "alice", "Alice.Chen", "a", "wang_xiaoming-2", "user@city.example",
		"0123456789012345678901234567890123456789012345678901234567890123" };
	static const char *bad[] = { "", "with space", "tab\t", "semi;colon", "slash/x", "名字",
		"01234567890123456789012345678901234567890123456789012345678901234", "quote'",
		"nul\x01", "percent%41" };
	char norm[USERNAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(username_normalise(good[i], norm), 1);
	assert_int_equal(username_normalise("Alice.CHEN@City.Example", norm), 1);
	assert_string_equal(norm, "alice.chen@city.example");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(username_normalise(bad[i], norm), 0);
	assert_int_equal(username_normalise(NULL, norm), 0);
	assert_int_equal(username_normalise("ok", NULL), 1);
}

static void
test_create_and_lookup(void **state)
{
	struct fx_store *f = *state;
	char id[USER_ID_LEN + 1], id2[USER_ID_LEN + 1];
	struct store_txn *t;
	json_t *u, *u2;

	assert_int_equal(fx_user_create(f->s, "Alice", "陳愛麗", "alice@city.example", id), STORE_OK);
	assert_int_equal(strlen(id), USER_ID_LEN);
	assert_int_equal(strspn(id, "0123456789abcdef"), USER_ID_LEN);
	assert_int_equal(fx_user_create(f->s, "bob", NULL, NULL, id2), STORE_OK);
	assert_string_not_equal(id, id2);

	t = store_read_begin(f->s);
	assert_int_equal(user_by_name(t, "ALICE", &u), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(u, "id")), id);
	assert_string_equal(json_string_value(json_object_get(u, "username")), "alice");
	assert_string_equal(json_string_value(json_object_get(u, "display_name")), "陳愛麗");
	assert_string_equal(json_string_value(json_object_get(u, "email")), "alice@city.example");
	assert_true(json_is_false(json_object_get(u, "disabled")));
	assert_true(json_integer_value(json_object_get(u, "created")) > 0);
	assert_int_equal(user_by_id(t, id, &u2), STORE_OK);
	assert_true(json_equal(u, u2));
	json_decref(u);
	json_decref(u2);
	assert_int_equal(user_by_name(t, "bob", &u), STORE_OK);
	assert_null(json_object_get(u, "email"));
	assert_string_equal(json_string_value(json_object_get(u, "display_name")), "bob");
	json_decref(u);
	/* Unknown and malformed lookups are simply not found. */
	assert_int_equal(user_by_name(t, "carol", &u), STORE_NOTFOUND);
	assert_null(u);
	assert_int_equal(user_by_name(t, "bad name", &u), STORE_NOTFOUND);
	assert_int_equal(user_by_id(t, "0123", &u), STORE_NOTFOUND);
	assert_int_equal(user_by_id(t, "0123456789ABCDEF0123456789ABCDEF", &u), STORE_NOTFOUND);
	assert_int_equal(user_by_id(t, "../../../../etc/passwd", &u), STORE_NOTFOUND);
	store_read_end(t);
}

static void
test_duplicate_refused(void **state)
{
	struct fx_store *f = *state;
	struct store_txn *t;
	char id[USER_ID_LEN + 1];

	assert_int_equal(fx_user_create(f->s, "Wang.XiaoMing", NULL, NULL, id), STORE_OK);
	assert_int_equal(fx_user_create(f->s, "wang.xiaoming", NULL, NULL, NULL), STORE_EXISTS);
	assert_int_equal(fx_user_create(f->s, "WANG.XIAOMING", NULL, NULL, NULL), STORE_EXISTS);
	/* The refused writes left nothing behind. */
	t = store_read_begin(f->s);
	assert_int_equal(store_count(t, T_USERS), 1);
	assert_int_equal(store_count(t, T_USERNAMES), 1);
	store_read_end(t);
}

static void
test_bad_input_refused(void **state)
{
	static const char *bad_names[] = { "", "a b", "x/../y", "李小明", "toolong-toolong-toolong-"
		"toolong-toolong-toolong-toolong-toolong-toolong" };
	struct fx_store *f = *state;
	struct store_txn *t;
	char longname[300];

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(fx_user_create(f->s, bad_names[i], NULL, NULL, NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, NULL, NULL, NULL, NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, "eve", NULL, "not-an-address", NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, "eve", NULL, "a@b@c", NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, "eve", NULL, "eve @city.example", NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, "eve", "line\nbreak", NULL, NULL), STORE_INVALID);
	assert_int_equal(fx_user_create(f->s, "eve", "bad \xff utf8", NULL, NULL), STORE_INVALID);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(fx_user_create(f->s, "eve", longname, NULL, NULL), STORE_INVALID);
	t = store_read_begin(f->s);
	assert_int_equal(store_count(t, T_USERS), 0);
	assert_int_equal(store_count(t, T_USERNAMES), 0);
	store_read_end(t);
}

static void
test_update_and_rename(void **state)
{
	struct fx_store *f = *state;
	char id[USER_ID_LEN + 1], other[USER_ID_LEN + 1];
	struct store_txn *t;
	json_t *u, *got;

	assert_int_equal(fx_user_create(f->s, "lin", "Lin", NULL, id), STORE_OK);
	assert_int_equal(fx_user_create(f->s, "chang", NULL, NULL, other), STORE_OK);
	t = store_read_begin(f->s);
	assert_int_equal(user_by_id(t, id, &u), STORE_OK);
	store_read_end(t);

	json_object_set_new(u, "disabled", json_true());
	json_object_set_new(u, "username", json_string("Lin.Mei"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_OK);
	t = store_read_begin(f->s);
	assert_int_equal(user_by_name(t, "lin.mei", &got), STORE_OK);
	assert_true(json_is_true(json_object_get(got, "disabled")));
	assert_string_equal(json_string_value(json_object_get(got, "username")), "lin.mei");
	json_decref(got);
	/* The old name is free again. */
	assert_int_equal(user_by_name(t, "lin", &got), STORE_NOTFOUND);
	store_read_end(t);

	/* Renaming onto a taken name is refused and changes nothing. */
	json_object_set_new(u, "username", json_string("CHANG"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_EXISTS);
	t = store_read_begin(f->s);
	assert_int_equal(user_by_name(t, "lin.mei", &got), STORE_OK);
	json_decref(got);
	assert_int_equal(user_by_name(t, "chang", &got), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(got, "id")), other);
	json_decref(got);
	store_read_end(t);

	/* Shape refused: bad id, bad disabled, unknown user. */
	json_object_set_new(u, "username", json_string("lin.mei"));
	json_object_set_new(u, "disabled", json_string("yes"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_INVALID);
	json_object_set_new(u, "disabled", json_false());
	json_object_set_new(u, "id", json_string("ffffffffffffffffffffffffffffffff"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_NOTFOUND);
	json_object_set_new(u, "id", json_string("not-an-id"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_INVALID);
	json_object_set_new(u, "id", json_string(id));
	json_object_set_new(u, "display_name", json_stringn("Lin\0<script>", 12));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_INVALID);
	json_object_set_new(u, "display_name", json_string("Lin Mei"));
	json_object_set_new(u, "username", json_stringn("lin.mei\0x", 9));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_INVALID);
	json_object_set_new(u, "username", json_string("lin.mei"));
	assert_int_equal(store_write_sync(f->s, update_fn, u), STORE_OK);
	json_decref(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_username_rules),
		cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_refused, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_refused, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_update_and_rename, setup, fx_store_teardown),
	};

	return cmocka_run_group_tests_name("users", tests, NULL, NULL);
}

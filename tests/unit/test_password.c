/* tests/unit/test_password.c — the password method (modules/password.c): each
 * SP 800-63B rule, config refusal, the list loader, hashing and verification
 * through finish() on a real store, equal cost for unknown users, rehash on a
 * parameter change, and the methods table (modules/methods.c). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../authd/authd.h"
#include "../../authd/config.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/password.h"
#include "fixture.h"

/* Small Argon2 parameters keep the suite fast; the code paths are the same. */
#define TEST_MEM_KIB 4096
#define LIST_PATH "share/common-passwords.txt"

static void
conf_test(struct conf *c, unsigned long ops)
{
	memset(c, 0, sizeof(*c));
	c->argon2_ops = ops;
	c->argon2_memory_kib = TEST_MEM_KIB;
	c->min_length = 8;
	c->max_length = 128;
	c->breached_list = (char *)LIST_PATH;
}

static int
init_default(void **state)
{
	struct conf c;

	(void)state;
	conf_test(&c, 1);
	return password_init(&c);
}

static int
fini_all(void **state)
{
	(void)state;
	password_fini();
	return 0;
}

/* ---- rules ---- */

static char *
repeat(const char *unit, int times)
{
	size_t n = strlen(unit);
	char *s = malloc(n * (size_t)times + 1);
	int i;

	assert_non_null(s);
	for (i = 0; i < times; i++)
		memcpy(s + n * (size_t)i, unit, n);
	s[n * (size_t)times] = '\0';
	return s;
}

static void
expect_rule(const char *unit, int times, const char *user, enum pw_rule want)
{
	char *s = repeat(unit, times);

	assert_int_equal(password_check_rules(s, user), want);
	free(s);
}

static void
test_length_rules(void **state)
{
	(void)state;
	assert_int_equal(password_check_rules("Vq7#kpX", NULL), PW_TOO_SHORT);	/* 7 */
	assert_int_equal(password_check_rules("Vq7#kpXz", NULL), PW_OK);	/* 8 */
	assert_int_equal(password_check_rules("", NULL), PW_TOO_SHORT);
	expect_rule("kx", 32, NULL, PW_OK);		/* 64 */
	expect_rule("kx", 64, NULL, PW_OK);		/* 128 */
	{
		char *s = repeat("kx", 64);
		char *t = malloc(strlen(s) + 2);

		assert_non_null(t);
		sprintf(t, "%sq", s);	/* 129 */
		assert_int_equal(password_check_rules(t, NULL), PW_TOO_LONG);
		free(s);
		free(t);
	}
	/* bounded before anything else: 5000 bytes */
	expect_rule("abcde", 1000, NULL, PW_TOO_LONG);
}

static void
test_code_points_not_bytes(void **state)
{
	(void)state;
	/* 8 CJK characters (24 bytes) are 8 code points: fine */
	assert_int_equal(password_check_rules("臺北市政府資訊局", NULL), PW_OK);
	/* 7 CJK characters are 21 bytes but too short */
	assert_int_equal(password_check_rules("臺北市政府資訊", NULL), PW_TOO_SHORT);
	/* 43 four-byte characters: 172 bytes, 43 code points, within 8..128 */
	expect_rule("\xF0\x9F\x94\x91", 43, NULL, PW_OK);
	/* 129 three-byte characters: too long although < 4096 bytes */
	expect_rule("密", 129, NULL, PW_TOO_LONG);
	expect_rule("密", 128, NULL, PW_OK);
}

static void
test_common_refused_any_case(void **state)
{
	(void)state;
	assert_int_equal(password_check_rules("password1", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("PassWord1", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("1qaz2wsx", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("1QAZ2WSX", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("iloveyou1314", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("Taipei101", NULL), PW_COMMON);
	assert_true(password_is_common("A123456789"));
	assert_false(password_is_common("rivet-lantern-mango"));
	assert_false(password_is_common(""));
}

static void
test_username_refused(void **state)
{
	(void)state;
	assert_int_equal(password_check_rules("wang.xiaoming", "wang.xiaoming"), PW_IS_USERNAME);
	assert_int_equal(password_check_rules("Wang.XiaoMing", "wang.xiaoming"), PW_IS_USERNAME);
	assert_int_equal(password_check_rules("wang.xiaoming", "WANG.XIAOMING"), PW_IS_USERNAME);
	assert_int_equal(password_check_rules("wang.xiaoming!", "wang.xiaoming"), PW_OK);
	assert_int_equal(password_check_rules("wang.xiaoming", NULL), PW_OK);
}

static void
test_bad_text_refused(void **state)
{
	(void)state;
	assert_int_equal(password_check_rules("abc\xff" "defghij", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules("abc\xc3(defghij", NULL), PW_BAD_TEXT);	/* bad continuation */
	assert_int_equal(password_check_rules("\xc0\xafverylong", NULL), PW_BAD_TEXT);	/* overlong */
	assert_int_equal(password_check_rules("\xed\xa0\x80surrogate", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules("tab\there-long", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules("line\nbreak-long", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules("bell\x07-long-one", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules("del\x7f-long-one", NULL), PW_BAD_TEXT);
	assert_int_equal(password_check_rules(NULL, NULL), PW_BAD_TEXT);
	/* spaces are fine (passphrases) */
	assert_int_equal(password_check_rules("correct horse battery", NULL), PW_OK);
}

static void
test_messages(void **state)
{
	(void)state;
	assert_string_equal(password_rule_message(PW_TOO_SHORT, "zh-TW"),
	    "密碼至少需要 8 個字元。可以用幾個不相關的詞組成較長又好記的密碼。");
	assert_non_null(strstr(password_rule_message(PW_TOO_SHORT, "en"), "Use at least 8 characters."));
	assert_non_null(strstr(password_rule_message(PW_TOO_LONG, "en"), "at most 128"));
	assert_non_null(strstr(password_rule_message(PW_TOO_LONG, "zh-TW"), "128"));
	assert_string_equal(password_rule_message(PW_IS_USERNAME, "zh-TW"), "密碼不能與帳號相同。");
	assert_non_null(strstr(password_rule_message(PW_COMMON, "en"), "common"));
	assert_non_null(strstr(password_rule_message(PW_BAD_TEXT, "en-US"), "characters"));
	/* any other language: the city's default, zh-TW */
	assert_string_equal(password_rule_message(PW_IS_USERNAME, "fr"), "密碼不能與帳號相同。");
	assert_string_equal(password_rule_message(PW_IS_USERNAME, NULL), "密碼不能與帳號相同。");
	assert_non_null(password_rule_message((enum pw_rule)99, "en"));
}

static void
test_init_refuses_bad_config(void **state)
{
	struct conf c;

	(void)state;
	conf_test(&c, 0);
	assert_int_equal(password_init(&c), -1);		/* ops below libsodium's minimum */
	conf_test(&c, 1);
	c.argon2_memory_kib = 4;				/* 4 KiB < 8 KiB minimum */
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.argon2_memory_kib = (unsigned long)-1;		/* overflows *1024 */
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.min_length = 7;					/* NIST floor is 8 */
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.max_length = 63;					/* must allow 64 */
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.max_length = PASSWORD_MAX_BYTES + 1;			/* beyond the byte bound */
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.min_length = 100;
	c.max_length = 64;
	assert_int_equal(password_init(&c), -1);
	conf_test(&c, 1);
	c.breached_list = (char *)"/nonexistent/list.txt";	/* no silent empty list */
	assert_int_equal(password_init(&c), -1);
	assert_int_equal(password_init(NULL), -1);
	/* a refused reload keeps the previous state */
	assert_int_equal(password_check_rules("password1", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("Vq7#kpXz", NULL), PW_OK);
	/* idempotent */
	conf_test(&c, 1);
	assert_int_equal(password_init(&c), 0);
	assert_int_equal(password_init(&c), 0);
}

static void
test_custom_list_and_limits(void **state)
{
	char dir[FX_DIR_MAX], path[128], text[512];
	struct conf c;
	char *longline;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, "pwlist"), 0);
	snprintf(path, sizeof(path), "%s/list.txt", dir);
	longline = repeat("z", 300);
	snprintf(text, sizeof(text), "Correct-Horse\r\n\n%s\nzebra-zebra\nzebra-zebra\nlast-line-no-newline",
	    longline);
	assert_int_equal(fx_write_file(path, text), 0);
	conf_test(&c, 1);
	c.min_length = 10;
	c.max_length = 64;
	c.dir = dir;
	c.breached_list = (char *)"list.txt";	/* relative to the config folder */
	assert_int_equal(password_init(&c), 0);
	assert_int_equal(password_check_rules("CORRECT-HORSE", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("zebra-zebra", NULL), PW_COMMON);
	assert_int_equal(password_check_rules("last-line-no-newline", NULL), PW_COMMON);
	/* over-long lines are skipped, not truncated into something else */
	longline[64] = '\0';
	assert_int_equal(password_check_rules(longline, NULL), PW_OK);
	/* the shipped list is not loaded now */
	assert_int_equal(password_check_rules("password123", NULL), PW_OK);
	/* the configured numbers are used */
	assert_int_equal(password_check_rules("abcdefghi", NULL), PW_TOO_SHORT);
	assert_non_null(strstr(password_rule_message(PW_TOO_SHORT, "zh-TW"), "至少需要 10 個字元"));
	expect_rule("ab", 33, NULL, PW_TOO_LONG);
	free(longline);
	assert_int_equal(fx_rmtree(dir), 0);
}

/* ---- through a real store ---- */

struct fx {
	char dir[FX_DIR_MAX];
	struct store *s;
	char id[USER_ID_LEN + 1];
};

struct wctx {
	const char *username, *pw;
	char *id;
	int set_rc;
};

static int
w_set_password(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->set_rc = password_set(t, w->id, w->username, w->pw);
	return w->set_rc == 0 ? STORE_OK : STORE_CONFLICT;
}

static int
w_disable(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;
	json_t *u = NULL;
	int rc;

	if ((rc = user_by_id(t, w->id, &u)) != STORE_OK)
		return rc;
	json_object_set_new(u, "disabled", json_true());
	rc = user_update(t, u);
	json_decref(u);
	return rc;
}

static int
teardown_store(void **state)
{
	struct fx *f = *state;
	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	password_fini();
	return rc;
}

static int
setup_store(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || init_default(state) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	if (fx_store_make(f->dir, &f->s, "password", 16, 0) != 0 ||
	    fx_user_create(f->s, "Lin.Meiling", "Lin.Meiling", NULL, f->id) != STORE_OK) {
		teardown_store(state);
		return -1;
	}
	return 0;
}

static int
set_pw(struct fx *f, const char *username, const char *pw)
{
	struct wctx w = { .username = username, .pw = pw, .id = f->id };
	int rc = store_write_sync(f->s, w_set_password, &w);

	return rc == STORE_OK ? 0 : w.set_rc;
}

/* Runs finish() for username (NULL user record when unknown). */
static int
try_login(struct fx *f, const char *username, const char *pw, struct proof *proof)
{
	struct login l = { 0 };
	struct form form = { 0 };
	json_t *user = NULL;
	int rc;

	l.txn = store_read_begin(f->s);
	assert_non_null(l.txn);
	if (user_by_name(l.txn, username, &user) != STORE_OK)
		user = NULL;
	l.username = username;
	l.user = user;
	l.ip = "127.0.0.1";
	if (pw != NULL) {
		form.f[0].key = (char *)"password";
		form.f[0].value = (char *)pw;
		form.n = 1;
	}
	rc = method_password.finish(&l, &form, proof);
	json_decref(user);
	store_read_end(l.txn);
	return rc;
}

static json_t *
get_cred(struct fx *f)
{
	char key[128];
	struct store_txn *t = store_read_begin(f->s);
	json_t *rec = NULL;

	snprintf(key, sizeof(key), "%s/password/0", f->id);
	if (store_gets(t, T_CREDS, key, &rec) != STORE_OK)
		rec = NULL;
	store_read_end(t);
	return rec;
}

static void
test_set_refuses_rules(void **state)
{
	struct fx *f = *state;

	assert_int_equal(set_pw(f, "Lin.Meiling", "short"), PW_TOO_SHORT);
	assert_int_equal(set_pw(f, "Lin.Meiling", "lin.meiling"), PW_IS_USERNAME);
	assert_int_equal(set_pw(f, "Lin.Meiling", "Password1"), PW_COMMON);
	assert_int_equal(set_pw(f, "Lin.Meiling", "bad\x01text-here"), PW_BAD_TEXT);
	/* nothing was stored */
	assert_null(get_cred(f));
}

static void
test_set_and_verify(void **state)
{
	struct fx *f = *state;
	struct proof p;
	json_t *rec;
	const char *hash;

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);
	rec = get_cred(f);
	assert_non_null(rec);
	hash = json_string_value(json_object_get(rec, "hash"));
	assert_non_null(hash);
	assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
	{
		char *dump = json_dumps(rec, 0);	/* no plaintext anywhere in the record */

		assert_non_null(dump);
		assert_null(strstr(dump, "river"));
		free(dump);
	}
	assert_true(json_is_integer(json_object_get(rec, "created")));
	assert_true(json_is_integer(json_object_get(rec, "updated")));
	json_decref(rec);

	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-42", &p), METHOD_OK);
	assert_string_equal(p.user_id, f->id);
	assert_int_equal(p.amr, AMR_PWD);
	assert_int_equal(p.factors, FACTOR_KNOW);
	assert_int_equal(p.props, 0);
	assert_null(p.cred_update);	/* same parameters: no rehash */
	/* username lookup is case-insensitive; the password is not */
	assert_int_equal(try_login(f, "lin.meiling", "river-lantern-42", &p), METHOD_OK);
	assert_int_equal(try_login(f, "Lin.Meiling", "River-lantern-42", &p), METHOD_FAIL);
	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-4", &p), METHOD_FAIL);
	assert_string_equal(p.user_id, "");	/* nothing proved */
}

static void
test_unknown_user_fails(void **state)
{
	struct fx *f = *state;
	struct proof p;

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);
	assert_int_equal(try_login(f, "nobody", "river-lantern-42", &p), METHOD_FAIL);
	assert_int_equal(p.amr, 0);
}

static void
test_no_credential_fails(void **state)
{
	struct fx *f = *state;
	struct proof p;

	/* user exists but never had a password set */
	assert_int_equal(try_login(f, "Lin.Meiling", "anything-at-all", &p), METHOD_FAIL);
}

static void
test_disabled_user_left_to_core(void **state)
{
	struct fx *f = *state;
	struct wctx w = { .id = f->id };
	struct proof p;

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);
	assert_int_equal(store_write_sync(f->s, w_disable, &w), STORE_OK);
	/* The method only checks the password; the sign-in core refuses the
	 * disabled account afterwards, in one place (test_signin.c). */
	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-42", &p), METHOD_OK);
	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-41", &p), METHOD_FAIL);
}

static void
test_malformed_input_invalid(void **state)
{
	struct fx *f = *state;
	struct proof p;
	char *big = repeat("a", PASSWORD_MAX_BYTES + 1);

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);
	assert_int_equal(try_login(f, "Lin.Meiling", NULL, &p), METHOD_INVALID);
	assert_int_equal(try_login(f, "Lin.Meiling", "", &p), METHOD_INVALID);
	assert_int_equal(try_login(f, "Lin.Meiling", big, &p), METHOD_INVALID);
	big[PASSWORD_MAX_BYTES] = '\0';	/* exactly the bound: hashed, wrong */
	assert_int_equal(try_login(f, "Lin.Meiling", big, &p), METHOD_FAIL);
	free(big);
}

static uint64_t
time_login(struct fx *f, const char *user, const char *pw)
{
	struct proof p;
	uint64_t t0 = mono_ns();

	assert_int_equal(try_login(f, user, pw, &p), METHOD_FAIL);
	return mono_ns() - t0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_unknown_user_costs_the_same(void **state)
{
	struct fx *f = *state;
	enum { N = 7 };
	uint64_t known[N], unknown[N], mk, mu, hi, lo;
	int i, attempt;

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);
	/* Interleaved, median of N each; on a busy machine one retry is allowed
	 * before calling the difference real. */
	for (attempt = 0; attempt < 3; attempt++) {
		for (i = 0; i < N; i++) {
			known[i] = time_login(f, "Lin.Meiling", "wrong-password-1");
			unknown[i] = time_login(f, "no.such.person", "wrong-password-1");
		}
		qsort(known, N, sizeof(known[0]), cmp_u64);
		qsort(unknown, N, sizeof(unknown[0]), cmp_u64);
		mk = known[N / 2];
		mu = unknown[N / 2];
		hi = mk > mu ? mk : mu;
		lo = mk > mu ? mu : mk;
		if (hi * 100 <= lo * 125)
			break;
	}
	print_message("median known-wrong %.2f ms, unknown %.2f ms\n", mk / 1e6, mu / 1e6);
	assert_true(hi * 100 <= lo * 125);
	/* and both really ran Argon2 (4 MiB, t=1 is well over 0.3 ms) */
	assert_true(lo > 300000);
}

static void
test_rehash_on_parameter_change(void **state)
{
	struct fx *f = *state;
	struct conf c;
	struct proof p;
	json_t *old;
	const char *hash;
	char key[128];

	assert_int_equal(set_pw(f, "Lin.Meiling", "river-lantern-42"), 0);	/* ops = 1 */
	old = get_cred(f);
	assert_non_null(old);
	conf_test(&c, 2);
	assert_int_equal(password_init(&c), 0);
	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-42", &p), METHOD_OK);
	assert_non_null(p.cred_update);
	snprintf(key, sizeof(key), "%s/password/0", f->id);
	assert_string_equal(p.cred_key, key);
	hash = json_string_value(json_object_get(p.cred_update, "hash"));
	assert_non_null(hash);
	assert_non_null(strstr(hash, "t=2"));
	assert_int_equal(crypto_pwhash_str_verify(hash, "river-lantern-42", 16), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(hash, "river-lantern-43", 16), 0);
	assert_int_equal(crypto_pwhash_str_needs_rehash(hash, 2, TEST_MEM_KIB * 1024), 0);
	assert_int_equal(json_integer_value(json_object_get(p.cred_update, "created")),
	    json_integer_value(json_object_get(old, "created")));
	assert_non_null(p.cred_expect);
	json_decref(p.cred_update);
	json_decref(p.cred_expect);
	json_decref(old);
	/* a wrong password never produces an update */
	assert_int_equal(try_login(f, "Lin.Meiling", "river-lantern-43", &p), METHOD_FAIL);
	assert_null(p.cred_update);
}

static void
test_methods_table(void **state)
{
	char dir[FX_DIR_MAX], path[128], err[256], cwd[512], text[1024];
	struct conf c;
	struct authd a = { 0 };

	(void)state;
	assert_ptr_equal(method_find("password"), &method_password);
	assert_null(method_find("Password"));
	assert_null(method_find("nope"));
	assert_null(method_find(NULL));
	assert_string_equal(method_password.name, "password");
	assert_int_equal(method_password.factors, FACTOR_KNOW);
	assert_int_equal(method_password.props, 0);
	assert_int_equal(method_password.flags, METHOD_FIRST);
	assert_ptr_equal(authd_methods[0], &method_password);

	/* Every method of the table starts from one real configuration file. */
	assert_int_equal(fx_tmpdir(dir, "methods"), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(path, sizeof(path), "%s/authd.conf", dir);
	snprintf(text, sizeof(text), "[server]\nissuer = https://127.0.0.1:8443\n[password]\n"
	    "argon2_memory_kib = %d\nargon2_ops = 1\nbreached_list = %s/%s\n", 8192, cwd, LIST_PATH);
	assert_int_equal(fx_conf_load(&c, path, text, err, sizeof(err)), 0);
	a.conf = &c;
	assert_int_equal(methods_init(&a), 0);
	assert_int_equal(password_check_rules("password1", NULL), PW_COMMON);
	methods_fini();
	c.min_length = 4;	/* a bad config stops start-up */
	assert_int_equal(methods_init(&a), -1);
	a.conf = NULL;
	assert_int_equal(methods_init(&a), -1);
	methods_fini();
	conf_free(&c);
	assert_int_equal(fx_rmtree(dir), 0);	/* authd.conf and the totp.key methods_init made */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_length_rules, init_default, fini_all),
		cmocka_unit_test_setup_teardown(test_code_points_not_bytes, init_default, fini_all),
		cmocka_unit_test_setup_teardown(
		    test_common_refused_any_case, init_default, fini_all),
		cmocka_unit_test_setup_teardown(test_username_refused, init_default, fini_all),
		cmocka_unit_test_setup_teardown(test_bad_text_refused, init_default, fini_all),
		cmocka_unit_test_setup_teardown(test_messages, init_default, fini_all),
		cmocka_unit_test_setup_teardown(
		    test_init_refuses_bad_config, init_default, fini_all),
		cmocka_unit_test_setup_teardown(test_custom_list_and_limits, NULL, fini_all),
		cmocka_unit_test_setup_teardown(
		    test_set_refuses_rules, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_set_and_verify, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_unknown_user_fails, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_no_credential_fails, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_disabled_user_left_to_core, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_malformed_input_invalid, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_unknown_user_costs_the_same, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(
		    test_rehash_on_parameter_change, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_methods_table, NULL, fini_all),
	};

	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}

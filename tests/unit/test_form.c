/* tests/unit/test_form.c — lib/form: decoding rules and every refusal the
 * parser promises (repeats, bad %, bad UTF-8, controls, too many, too long). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/form.h"

static enum form_err
parse_str(const char *s, struct form **f)
{
	return form_parse(s, strlen(s), f);
}

static void
test_basic(void **state)
{
	struct form *f;
	const char *q = "response_type=code&client_id=app-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
	    "&scope=openid+profile&state=a%2Bb&empty=&flag";

	(void)state;
	assert_int_equal(parse_str(q, &f), FORM_OK);
	assert_non_null(f);
	assert_int_equal(f->n, 7);
	assert_string_equal(form_get(f, "response_type"), "code");
	assert_string_equal(form_get(f, "redirect_uri"), "https://app.example/cb");
	assert_string_equal(form_get(f, "scope"), "openid profile");   /* '+' is space */
	assert_string_equal(form_get(f, "state"), "a+b");              /* %2B is '+' */
	assert_string_equal(form_get(f, "empty"), "");
	assert_string_equal(form_get(f, "flag"), "");
	assert_null(form_get(f, "missing"));
	assert_null(form_get(f, "Scope"));                              /* keys are exact */
	assert_null(form_get(NULL, "scope"));
	form_free(f);
}

static void
test_empty_and_separators(void **state)
{
	struct form *f;

	(void)state;
	assert_int_equal(form_parse("", 0, &f), FORM_OK);
	assert_int_equal(f->n, 0);
	form_free(f);
	assert_int_equal(parse_str("a=1&&b=2&", &f), FORM_OK);
	assert_int_equal(f->n, 2);
	assert_string_equal(form_get(f, "b"), "2");
	form_free(f);
	/* '=' inside a value is kept; only the first one splits. */
	assert_int_equal(parse_str("a=b=c", &f), FORM_OK);
	assert_string_equal(form_get(f, "a"), "b=c");
	form_free(f);
	/* Length is what counts, not a NUL. */
	assert_int_equal(form_parse("a=1&b=2", 3, &f), FORM_OK);
	assert_int_equal(f->n, 1);
	assert_null(form_get(f, "b"));
	form_free(f);
	form_free(NULL);
}

static void
test_utf8_values(void **state)
{
	struct form *f;

	(void)state;
	assert_int_equal(parse_str("name=%E5%8F%B0%E5%8C%97&raw=\xe5\x8f\xb0", &f), FORM_OK);
	assert_string_equal(form_get(f, "name"), "\xe5\x8f\xb0\xe5\x8c\x97");
	assert_string_equal(form_get(f, "raw"), "\xe5\x8f\xb0");
	form_free(f);
	/* Multi-line text keeps CR/LF and tab. */
	assert_int_equal(parse_str("t=a%0D%0Ab%09c", &f), FORM_OK);
	assert_string_equal(form_get(f, "t"), "a\r\nb\tc");
	form_free(f);
}

static void
test_refuse_repeated(void **state)
{
	struct form *f = (struct form *)1;

	(void)state;
	assert_int_equal(parse_str("a=1&b=2&a=3", &f), FORM_ERR_REPEATED);
	assert_null(f);
	/* Also when the repeat is disguised by encoding. */
	assert_int_equal(parse_str("client_id=x&client%5Fid=y", &f), FORM_ERR_REPEATED);
	assert_int_equal(parse_str("a&a=", &f), FORM_ERR_REPEATED);
}

static void
test_refuse_bad_percent(void **state)
{
	struct form *f;
	static const char *const bad[] = { "a=%", "a=%4", "a=%zz", "a=%4g", "a=100%", "%=1",
	    "a=%%41", "a=%+1" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_str(bad[i], &f), FORM_ERR_SYNTAX);
		assert_null(f);
	}
}

static void
test_refuse_empty_key(void **state)
{
	struct form *f;

	(void)state;
	assert_int_equal(parse_str("=1", &f), FORM_ERR_SYNTAX);
	assert_int_equal(parse_str("a=1&=2", &f), FORM_ERR_SYNTAX);
	assert_null(f);
}

static void
test_refuse_bad_utf8_and_controls(void **state)
{
	struct form *f;
	static const char *const bad[] = {
		"a=%FF", "a=%C0%AF", "a=%ED%A0%80", "a=%E5%8F", "a=\xff", "a=\xc0\xaf",
		"a=%00", "a=x%00y", "a=%1B%5B31m", "a=%07", "%00=1", "k%FF=1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_str(bad[i], &f), FORM_ERR_UTF8);
		assert_null(f);
	}
	/* A raw NUL byte inside the input. */
	assert_int_equal(form_parse("a=x\0y", 5, &f), FORM_ERR_UTF8);
}

/* Secrets are bytes: controls and invalid UTF-8 are kept as they are, NUL is
 * not; other keys, and the secret keys' own names, follow the strict rule. */
static void
test_secret_values(void **state)
{
	static const char *const secrets[] = { "password", "otp", NULL };
	static const char *const bad[] = {
		"password=a%00b", "password=%00", "user=%01&password=x", "pass%01word=x",
		"password=x&a=%FF",
	};
	struct form *f;
	size_t i;

	(void)state;
	assert_int_equal(form_parse_secrets("password=%08%0A%0D%7FINCORRECT&otp=%FF%FE1",
	    strlen("password=%08%0A%0D%7FINCORRECT&otp=%FF%FE1"), secrets, &f), FORM_OK);
	assert_memory_equal(form_get(f, "password"), "\b\n\r\177INCORRECT", 14);
	assert_memory_equal(form_get(f, "otp"), "\xff\xfe" "1", 4);
	form_free(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(form_parse_secrets(bad[i], strlen(bad[i]), secrets, &f), FORM_ERR_UTF8);
		assert_null(f);
	}
	/* form_parse has no secret keys. */
	assert_int_equal(parse_str("password=%01", &f), FORM_ERR_UTF8);
	assert_int_equal(form_parse_secrets("password=%01", 12, NULL, &f), FORM_ERR_UTF8);
}

static void
test_refuse_too_many(void **state)
{
	char s[FORM_MAX_FIELDS * 8 + 16];
	size_t o = 0, i;
	struct form *f;

	(void)state;
	for (i = 0; i < FORM_MAX_FIELDS; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%sk%zu=v", i ? "&" : "", i);
	assert_int_equal(parse_str(s, &f), FORM_OK);
	assert_int_equal(f->n, FORM_MAX_FIELDS);
	form_free(f);
	snprintf(s + o, sizeof(s) - o, "&one=more");
	assert_int_equal(parse_str(s, &f), FORM_ERR_TOO_MANY);
	assert_null(f);
}

static void
test_refuse_too_long(void **state)
{
	size_t n = 2 + FORM_MAX_VALUE + 1;
	char *s = malloc(3 * (FORM_MAX_VALUE + 1) + 3);
	struct form *f;
	size_t i;

	(void)state;
	memcpy(s, "a=", 2);
	memset(s + 2, 'x', FORM_MAX_VALUE);
	assert_int_equal(form_parse(s, n - 1, &f), FORM_OK);
	assert_int_equal(strlen(form_get(f, "a")), FORM_MAX_VALUE);
	form_free(f);
	s[n - 1] = 'x';
	assert_int_equal(form_parse(s, n, &f), FORM_ERR_TOO_LONG);
	assert_null(f);
	/* The bound is on the decoded value: %41 x MAX is fine, one more is not. */
	for (i = 0; i < FORM_MAX_VALUE + 1; i++)
		memcpy(s + 2 + 3 * i, "%41", 3);
	assert_int_equal(form_parse(s, 2 + 3 * FORM_MAX_VALUE, &f), FORM_OK);
	form_free(f);
	assert_int_equal(form_parse(s, 2 + 3 * (FORM_MAX_VALUE + 1), &f), FORM_ERR_TOO_LONG);
	/* A long key is refused too. */
	memset(s, 'k', FORM_MAX_VALUE + 1);
	s[FORM_MAX_VALUE + 1] = '=';
	assert_int_equal(form_parse(s, FORM_MAX_VALUE + 2, &f), FORM_ERR_TOO_LONG);
	free(s);
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(form_strerror(FORM_OK), "ok");
	assert_string_equal(form_strerror(FORM_ERR_REPEATED), "repeated parameter");
	assert_non_null(form_strerror((enum form_err)99));
	assert_int_equal(form_parse(NULL, 1, &(struct form *){ NULL }), FORM_ERR_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_and_separators),
		cmocka_unit_test(test_utf8_values),
		cmocka_unit_test(test_refuse_repeated),
		cmocka_unit_test(test_refuse_bad_percent),
		cmocka_unit_test(test_refuse_empty_key),
		cmocka_unit_test(test_refuse_bad_utf8_and_controls),
		cmocka_unit_test(test_secret_values),
		cmocka_unit_test(test_refuse_too_many),
		cmocka_unit_test(test_refuse_too_long),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}

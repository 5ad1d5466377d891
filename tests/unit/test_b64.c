/* tests/unit/test_b64.c — lib/b64: RFC 4648 vectors, round trips, and refusal
 * of padding, foreign characters and non-canonical tails in base64url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/b64.h"

/* RFC 4648 §10. */
static const char *const vec_in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const vec_std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *const vec_url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

static void
test_rfc4648_vectors(void **state)
{
	size_t i, n;
	char out[16];
	uint8_t dec[16];

	(void)state;
	for (i = 0; i < 7; i++) {
		size_t len = strlen(vec_in[i]);

		assert_int_equal(b64url_len(len), strlen(vec_url[i]));
		assert_int_equal(b64url_encode(out, (const uint8_t *)vec_in[i], len), strlen(vec_url[i]));
		assert_string_equal(out, vec_url[i]);
		assert_int_equal(b64std_encode(out, (const uint8_t *)vec_in[i], len), strlen(vec_std[i]));
		assert_string_equal(out, vec_std[i]);
		assert_int_equal(b64url_decode(dec, &n, vec_url[i], strlen(vec_url[i])), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, vec_in[i], len);
		assert_int_equal(b64std_decode(dec, &n, vec_std[i], strlen(vec_std[i])), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, vec_in[i], len);
	}
}

static void
test_url_alphabet(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0xbf };
	char out[8];
	uint8_t dec[8];
	size_t n;

	(void)state;
	b64url_encode(out, in, 3);
	assert_string_equal(out, "-_-_");
	b64std_encode(out, in, 3);
	assert_string_equal(out, "+/+/");
	assert_int_equal(b64url_decode(dec, &n, "-_-_", 4), 0);
	assert_memory_equal(dec, in, 3);
	/* Each alphabet refuses the other's characters. */
	assert_int_equal(b64url_decode(dec, &n, "+/+/", 4), -1);
	assert_int_equal(b64std_decode(dec, &n, "-_-_", 4), -1);
}

static void
test_round_trip_all_lengths(void **state)
{
	uint8_t in[300], dec[300];
	size_t len, n, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 131 + 7);
	for (len = 0; len <= sizeof(in); len++) {
		char *e = b64url_encode_alloc(in, len);
		uint8_t *d;

		assert_non_null(e);
		assert_int_equal(strlen(e), b64url_len(len));
		assert_int_equal(b64url_decode(dec, &n, e, strlen(e)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		d = b64url_decode_alloc(e, strlen(e), &n);
		assert_non_null(d);
		assert_int_equal(n, len);
		assert_int_equal(d[n], 0);
		assert_memory_equal(d, in, len);
		free(d);
		free(e);
	}
}

static void
test_url_refuses(void **state)
{
	uint8_t dec[16];
	size_t n, i;
	static const struct { const char *s; size_t len; } bad[] = {
		{ "Zg==", 4 },          /* padding */
		{ "Zm8=", 4 },
		{ "Zg=", 3 },
		{ "Z", 1 },             /* impossible length */
		{ "Zm9vY", 5 },
		{ "Zh", 2 },            /* non-canonical: low bits of the last char set */
		{ "Zm9", 3 },           /* "Zm8" is the one encoding of "fo" */
		{ "Zm 9v", 5 },         /* whitespace */
		{ "Zm9v\n", 5 },
		{ "Zm9v\0Yg", 7 },      /* NUL inside */
		{ "Zm9.", 4 },
		{ "\xc3\xa9\xc3\xa9", 4 },
	};

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(b64url_decode(dec, &n, bad[i].s, bad[i].len), -1);
		assert_null(b64url_decode_alloc(bad[i].s, bad[i].len, &n));
	}
}

static void
test_std_refuses(void **state)
{
	uint8_t dec[32];
	size_t n;

	(void)state;
	assert_int_equal(b64std_decode(dec, &n, "Zg", 2), -1);       /* padding required */
	assert_int_equal(b64std_decode(dec, &n, "Zg=", 3), -1);
	assert_int_equal(b64std_decode(dec, &n, "Z===", 4), -1);
	assert_int_equal(b64std_decode(dec, &n, "====", 4), -1);
	assert_int_equal(b64std_decode(dec, &n, "Zg=a", 4), -1);     /* '=' inside */
	assert_int_equal(b64std_decode(dec, &n, "Z=g=", 4), -1);
	assert_int_equal(b64std_decode(dec, &n, "Zh==", 4), -1);     /* non-canonical */
	assert_int_equal(b64std_decode(dec, &n, "Zm9v Yg==", 9), -1);
	/* HTTP Basic "Aladdin:open sesame" (RFC 7617 §2). */
	assert_int_equal(b64std_decode(dec, &n, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==", 28), 0);
	assert_int_equal(n, 19);
	assert_memory_equal(dec, "Aladdin:open sesame", 19);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_url_refuses),
		cmocka_unit_test(test_std_refuses),
	};

	return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}

/* tests/unit/test_util.c — lib/util (constant-time compare, hex, HMAC, UTF-8
 * validation, random tokens) and lib/buf (growth, HTML and URL escaping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/util.h"

static void
test_ct_equal(void **state)
{
	(void)state;
	assert_true(ct_equal("abcd", "abcd", 4));
	assert_false(ct_equal("abcd", "abce", 4));
	assert_false(ct_equal("\x00\x01", "\x00\x02", 2));
	assert_true(ct_equal("x", "y", 0));
}

static void
test_ct_streq(void **state)
{
	(void)state;
	assert_true(ct_streq("secret", "secret"));
	assert_true(ct_streq("", ""));
	assert_false(ct_streq("secret", "secreT"));
	assert_false(ct_streq("secret", "secre"));     /* prefix */
	assert_false(ct_streq("secret", "secrets"));   /* longer */
	assert_false(ct_streq("secret", ""));
	assert_false(ct_streq("", "x"));
	assert_false(ct_streq(NULL, "x"));
	assert_false(ct_streq("x", NULL));
}

static void
test_hex(void **state)
{
	uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	uint8_t out[5];
	char hex[11];

	(void)state;
	hex_encode(hex, in, sizeof(in));
	assert_string_equal(hex, "0001abff7f");
	assert_int_equal(hex_decode(out, sizeof(out), hex), 0);
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(hex_decode(out, sizeof(out), "0001ABFF7F"), 0);
	assert_memory_equal(out, in, sizeof(in));
	/* Wrong length, non-hex digit, sign characters strtol would accept. */
	assert_int_equal(hex_decode(out, sizeof(out), "0001abff7"), -1);
	assert_int_equal(hex_decode(out, sizeof(out), "0001abff7f0"), -1);
	assert_int_equal(hex_decode(out, sizeof(out), "0001abfg7f"), -1);
	assert_int_equal(hex_decode(out, 1, "+1"), -1);
	assert_int_equal(hex_decode(out, 1, " 1"), -1);
	assert_int_equal(hex_decode(out, 1, NULL), -1);
}

static void
test_sha256_vector(void **state)
{
	uint8_t h[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	(void)state;
	/* FIPS 180-2 "abc". */
	sha256("abc", 3, h);
	hex_encode(hex, h, sizeof(h));
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, h);
	hex_encode(hex, h, sizeof(h));
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_rfc4231_case2(void **state)
{
	uint8_t mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	(void)state;
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231 case 6: a key longer than the block is hashed first. */
static void
test_hmac_rfc4231_case6_long_key(void **state)
{
	uint8_t key[131], mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";

	(void)state;
	memset(key, 0xaa, sizeof(key));
	hmac_sha256(key, sizeof(key), msg, strlen(msg), mac);
	hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	hmac_sha256("", 0, "", 0, mac);
	hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain ascii", 11));
	assert_true(utf8_valid("tab\tcr\rlf\n", 10));
	assert_true(utf8_valid("\xe8\x87\xba\xe5\x8c\x97", 6));           /* 台北 */
	assert_true(utf8_valid("\xc2\x80", 2));                           /* U+0080 */
	assert_true(utf8_valid("\xef\xbf\xbf", 3));                       /* U+FFFF */
	assert_true(utf8_valid("\xf0\x9f\x94\x91", 4));                   /* U+1F511 */
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4));                   /* U+10FFFF */
	assert_true(utf8_valid("\x7f", 1));                               /* DEL */
	/* NUL and C0 controls. */
	assert_false(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("a\x1b[31m", 6));
	assert_false(utf8_valid("\x08", 1));
	/* Overlong forms of '/', NUL and U+0800 boundaries. */
	assert_false(utf8_valid("\xc0\xaf", 2));
	assert_false(utf8_valid("\xc1\xbf", 2));
	assert_false(utf8_valid("\xc0\x80", 2));
	assert_false(utf8_valid("\xe0\x80\xaf", 3));
	assert_false(utf8_valid("\xe0\x9f\xbf", 3));
	assert_false(utf8_valid("\xf0\x8f\xbf\xbf", 4));
	/* Surrogates. */
	assert_false(utf8_valid("\xed\xa0\x80", 3));
	assert_false(utf8_valid("\xed\xbf\xbf", 3));
	/* Beyond U+10FFFF and invalid lead bytes. */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(utf8_valid("\xff", 1));
	/* Lone continuation, truncated sequences, bad continuation. */
	assert_false(utf8_valid("\x80", 1));
	assert_false(utf8_valid("\xe8\x87", 2));
	assert_false(utf8_valid("\xf0\x9f\x94", 3));
	assert_false(utf8_valid("\xe8\x41\xba", 3));
	/* Only n bytes are looked at. */
	assert_true(utf8_valid("ab\xff", 2));
}

static void
test_rand(void **state)
{
	uint8_t a[32], b[32];
	char tok[64], small[10];

	(void)state;
	assert_int_equal(rand_bytes(a, sizeof(a)), 0);
	assert_int_equal(rand_bytes(b, sizeof(b)), 0);
	assert_false(ct_equal(a, b, sizeof(a)));
	assert_int_equal(rand_token(tok, sizeof(tok), 32), 0);
	assert_int_equal(strlen(tok), 43);
	assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	/* Output too small and zero/oversized requests are refused. */
	assert_int_equal(rand_token(small, sizeof(small), 32), -1);
	assert_int_equal(rand_token(tok, sizeof(tok), 0), -1);
	assert_int_equal(rand_token(tok, sizeof(tok), 4096), -1);
}

static void
test_wipe(void **state)
{
	char buf[8] = "secret!";
	char *s = strdup("password");

	(void)state;
	wipe(buf, sizeof(buf));
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	free_secret_str(s);
	free_secret_str(NULL);
	wipe(NULL, 4);
}

static void
test_clocks(void **state)
{
	uint64_t a = mono_ns(), b = mono_ns();

	(void)state;
	assert_true(b >= a);
	assert_true(now_s() > 1700000000);
}

static void
test_buf_basic(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b);
	assert_string_equal(buf_str(&b), "");
	buf_adds(&b, "hello");
	buf_add(&b, ", ", 2);
	buf_printf(&b, "%s %d", "world", 42);
	buf_adds(&b, NULL);
	assert_string_equal(buf_str(&b), "hello, world 42");
	assert_int_equal(b.len, 15);
	/* Growth across many reallocations keeps contents. */
	for (i = 0; i < 10000; i++)
		buf_add(&b, "x", 1);
	assert_int_equal(b.len, 10015);
	assert_false(b.oom);
	assert_int_equal(strlen(buf_str(&b)), 10015);
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void
test_buf_oom_latches(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "a");
	/* An impossible size fails, and the failure sticks. */
	buf_add(&b, "b", SIZE_MAX / 2);
	assert_true(b.oom);
	buf_adds(&b, "c");
	assert_null(buf_str(&b));
	buf_free(&b);
	assert_false(b.oom);
}

static void
test_buf_html(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_add_html(&b, "<script>alert('x')</script> & \"q\"");
	assert_string_equal(buf_str(&b),
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	buf_free(&b);
	buf_init(&b);
	buf_add_html(&b, NULL);
	buf_add_html(&b, "\xe8\x87\xba\xe5\x8c\x97 plain");
	assert_string_equal(buf_str(&b), "\xe8\x87\xba\xe5\x8c\x97 plain");
	buf_free(&b);
}

static void
test_buf_urlenc(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_add_urlenc(&b, "a b&c=d/e?f#g+h~i-j.k_l%");
	assert_string_equal(buf_str(&b), "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh~i-j.k_l%25");
	buf_free(&b);
	buf_init(&b);
	buf_add_urlenc(&b, "\xe5\x8f\xb0");
	assert_string_equal(buf_str(&b), "%E5%8F%B0");
	buf_free(&b);
}

static void
test_cidr(void **state)
{
	(void)state;
	assert_true(cidr_valid("127.0.0.0/8"));
	assert_true(cidr_valid("10.1.2.3"));
	assert_true(cidr_valid("::1/128"));
	assert_true(cidr_valid("fd00::/8"));
	assert_true(cidr_valid("0.0.0.0/0"));
	assert_false(cidr_valid("127.0.0.0/33"));
	assert_false(cidr_valid("::/129"));
	assert_false(cidr_valid("10.0.0.0/"));
	assert_false(cidr_valid("10.0.0.0/-1"));
	assert_false(cidr_valid("10.0.0.0/8x"));
	assert_false(cidr_valid("city.example/24"));
	assert_false(cidr_valid("/8"));
	assert_false(cidr_valid(""));
	assert_false(cidr_valid(NULL));

	assert_true(cidr_contains("127.0.0.0/8", "127.0.0.1"));
	assert_true(cidr_contains("127.0.0.0/8", "127.255.1.2"));
	assert_false(cidr_contains("127.0.0.0/8", "128.0.0.1"));
	assert_true(cidr_contains("10.20.0.0/14", "10.23.255.255"));
	assert_false(cidr_contains("10.20.0.0/14", "10.24.0.0"));
	assert_true(cidr_contains("192.0.2.7", "192.0.2.7"));
	assert_false(cidr_contains("192.0.2.7", "192.0.2.8"));
	assert_true(cidr_contains("0.0.0.0/0", "203.0.113.9"));
	assert_true(cidr_contains("::1/128", "::1"));
	assert_false(cidr_contains("::1/128", "::2"));
	assert_true(cidr_contains("fd00::/8", "fd12:3456::1"));
	assert_false(cidr_contains("fd00::/8", "fe80::1"));
	/* The two families never match each other, except a v4-mapped address. */
	assert_false(cidr_contains("::/0", "127.0.0.1"));
	assert_true(cidr_contains("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_false(cidr_contains("127.0.0.0/8", "::ffff:10.0.0.1"));
	assert_false(cidr_contains("127.0.0.0/8", "localhost"));
	assert_false(cidr_contains("127.0.0.0/8", ""));
	assert_false(cidr_contains("bad", "127.0.0.1"));
	assert_false(cidr_contains(NULL, "127.0.0.1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_ct_streq),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_rfc4231_case6_long_key),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_rand),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_oom_latches),
		cmocka_unit_test(test_buf_html),
		cmocka_unit_test(test_buf_urlenc),
		cmocka_unit_test(test_cidr),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

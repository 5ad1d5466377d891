/* tests/unit/test_mobileid_proto.c — modules/mobileid_proto: IdentifyNo over
 * UTF-16LE against vectors computed independently with Python hashlib
 * (tests/unit/vectors/tw_vectors.py prints M1-M5: CJK, Greek and an astral
 * emoji that needs a surrogate pair; go-twca's mock values), the form fields
 * of Login / the TWCA page / the confirmation, and the checks of answers and
 * of the return POST (forged, altered, another transaction's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../lib/buf.h"
#include "../../lib/form.h"
#include "../../modules/mobileid_proto.h"

#define VN "20260501a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define RP "sess=臺北-α😀"
#define TOKEN "srv0a7b2f24edc34aa1b890a1d25368f86f42547"
#define M1 "2aea89c57ec93e534c3b3b31ccd02e5b4d447f94590dfa57d30009bf2c380b7a"
#define M2 "e8e48d63db5c990c957d1ebcc79fd6d43937fd1462444117927059a9a02e9bf3"
#define M3 "3038a3216fba1e955d90addce0a77d46bdef7b51cfeb73a273989a68e093f225"
#define OUT4 "{\"MemberNo\":\"A123456789\",\"Token\":\"" TOKEN "\",\"TimeStamp\":\"2026-05-01T00:00:00.0000000Z\"}"
#define M4 "5d31ce7415ae53aad4b3e8b80a1b50a8167b0cecbc3bba084694acf056b453be"
#define OUT5 "{\"MemberNo\":\"A123456789\",\"Token\":\"" TOKEN "\",\"TimeStamp\":\"2026-05-01T00:00:10.0000000Z\"," \
	"\"MIDOutputParams\":{\"MIDResp\":\"{\\\"code\\\":\\\"0000\\\",\\\"fullcode\\\":\\\"0\\\",\\\"message\\\":" \
	"\\\"success\\\",\\\"msisdn\\\":\\\"0912345678\\\",\\\"reqSeq\\\":\\\"01170985781802851328466605\\\"," \
	"\\\"rspSeq\\\":\\\"3257407\\\",\\\"rspTime\\\":\\\"2026-05-01T00:00:10Z\\\",\\\"srvCode\\\":\\\"364\\\"," \
	"\\\"result\\\":{}}\",\"VerifyCode\":\"0000\",\"VerifyMsg\":\"success\"}}"
#define M5 "73d4d6fe4408a164970c677eca28e1027e0565090c38ec13f19fc1d5831c94d0"

static const struct mobileid_config cfg = { "42712608", "1.0", "1", "Zx9#hash-key" };

static void
test_identify_vectors(void **state)
{
	const char *m1[] = { "42712608", "1.0", "1", VN, RP,
		"{\"MemberNo\":\"A123456789\",\"Action\":\"Login\"}" };
	const char *m2[] = { "11111111", "1.0", "10", "20240308013436767044", "A123456789",
		"srv8b13776bf752463eab91863cc0b1ff9999008" };
	const char *m3[] = { "", NULL };
	char out[MOBILEID_IDENTIFY_LEN + 1];

	(void)state;
	assert_int_equal(mobileid_identify_no(m1, 6, "Zx9#hash-key", out), 0);
	assert_string_equal(out, M1);
	assert_int_equal(mobileid_identify_no(m2, 6, "1234567890", out), 0);
	assert_string_equal(out, M2);
	assert_int_equal(mobileid_identify_no(m3, 2, "k", out), 0);
	assert_string_equal(out, M3);
	assert_true(mobileid_identify_ok(m1, 6, "Zx9#hash-key", M1));
	assert_false(mobileid_identify_ok(m1, 6, "Zx9#hash-kez", M1));
	assert_false(mobileid_identify_ok(m1, 5, "Zx9#hash-key", M1));
}

static void
test_identify_refuses(void **state)
{
	const char *bad_utf8[] = { "\xff" };
	const char *overlong[] = { "\xc0\xaf" };
	const char *surrogate[] = { "\xed\xa0\x80" };
	const char *truncated[] = { "\xe8\x87" };
	const char *beyond[] = { "\xf4\x90\x80\x80" };
	const char *m3[] = { "", "" };
	char out[MOBILEID_IDENTIFY_LEN + 1], upper[] = M3;
	size_t i;

	(void)state;
	assert_int_equal(mobileid_identify_no(bad_utf8, 1, "k", out), -1);
	assert_int_equal(mobileid_identify_no(overlong, 1, "k", out), -1);
	assert_int_equal(mobileid_identify_no(surrogate, 1, "k", out), -1);
	assert_int_equal(mobileid_identify_no(truncated, 1, "k", out), -1);
	assert_int_equal(mobileid_identify_no(beyond, 1, "k", out), -1);
	assert_int_equal(mobileid_identify_no(m3, 2, NULL, out), -1);
	/* Exactly 64 lower-case hex digits. */
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	assert_false(mobileid_identify_ok(m3, 2, "k", upper));
	assert_false(mobileid_identify_ok(m3, 2, "k", M3 "0"));
	assert_false(mobileid_identify_ok(m3, 2, "k", ""));
	assert_false(mobileid_identify_ok(m3, 2, "k", NULL));
}

static const char *
field(const struct mobileid_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return NULL;
}

static void
test_build_login(void **state)
{
	struct mobileid_form f;
	struct form *parsed;
	char err[128], *body;
	static const char *const order[] = { "BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "ReturnURL",
		"ReturnParams", "InputParams", "IdentifyNo" };
	size_t i;

	(void)state;
	assert_int_equal(mobileid_build_login(&cfg, VN, "https://sso.city.example/login/return/mobileid", RP,
	                                      "A123456789", &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(f.f[i].name, order[i]);
	assert_string_equal(field(&f, "InputParams"), "{\"MemberNo\":\"A123456789\",\"Action\":\"Login\"}");
	/* The IdentifyNo Python computed over the same fields (ReturnURL left out). */
	assert_string_equal(field(&f, "IdentifyNo"), M1);
	body = mobileid_form_encode(&f);
	assert_non_null(body);
	assert_non_null(strstr(body, "ReturnParams=sess%3D%E8%87%BA%E5%8C%97-%CE%B1%F0%9F%98%80&"));
	assert_int_equal(form_parse(body, strlen(body), &parsed), FORM_OK);
	assert_string_equal(form_get(parsed, "ReturnParams"), RP);
	assert_string_equal(form_get(parsed, "IdentifyNo"), M1);
	form_free(parsed);
	free(body);
	mobileid_form_clear(&f);
	assert_int_equal(f.n, 0);
}

static void
test_build_refuses(void **state)
{
	struct mobileid_form f;
	struct mobileid_config c2 = cfg;
	char err[128];

	(void)state;
	assert_int_equal(mobileid_build_login(&cfg, VN, "http://sso.city.example/r", RP, "A123456789", &f, err,
	                                      sizeof(err)), -1);
	assert_int_equal(mobileid_build_login(&cfg, VN, "https://x/\"><script>", RP, "A123456789", &f, err,
	                                      sizeof(err)), -1);
	assert_int_equal(mobileid_build_login(&cfg, "vn with space", "https://x/r", RP, "A123456789", &f, err,
	                                      sizeof(err)), -1);
	assert_int_equal(mobileid_build_login(&cfg, VN "0123456789abc", "https://x/r", RP, "A123456789", &f, err,
	                                      sizeof(err)), -1);
	assert_int_equal(mobileid_build_login(&cfg, VN, "https://x/r", RP, "A12345678\"", &f, err, sizeof(err)), -1);
	assert_int_equal(mobileid_build_login(&cfg, VN, "https://x/r", "\xff", "A123456789", &f, err, sizeof(err)), -1);
	c2.api_version = "2.0";
	assert_int_equal(mobileid_build_login(&c2, VN, "https://x/r", RP, "A123456789", &f, err, sizeof(err)), -1);
	c2 = cfg;
	c2.hash_key = "";
	assert_int_equal(mobileid_build_do(&c2, VN, TOKEN, &f), -1);
	assert_int_equal(mobileid_build_do(&cfg, VN, "tok en", &f), -1);
	assert_int_equal(f.n, 0);
}

static void
test_build_do_confirm(void **state)
{
	struct mobileid_config go = { "11111111", "1.0", "10", "1234567890" };
	struct mobileid_form f;
	const char *dof[] = { "42712608", "1.0", "1", VN, TOKEN };

	(void)state;
	assert_int_equal(mobileid_build_do(&cfg, VN, TOKEN, &f), 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(field(&f, "Token"), TOKEN);
	assert_true(mobileid_identify_ok(dof, 5, cfg.hash_key, field(&f, "IdentifyNo")));
	mobileid_form_clear(&f);
	/* The confirmation with go-twca's mock values gives Python's M2. */
	assert_int_equal(mobileid_build_confirm(&go, "20240308013436767044", "A123456789",
	                                        "srv8b13776bf752463eab91863cc0b1ff9999008", &f), 0);
	assert_string_equal(field(&f, "IdentifyNo"), M2);
	assert_string_equal(f.f[4].name, "MemberNo");
	mobileid_form_clear(&f);
}

static void
test_verify_no(void **state)
{
	char a[41], b[41];

	(void)state;
	assert_int_equal(mobileid_verify_no_new(a), 0);
	assert_int_equal(mobileid_verify_no_new(b), 0);
	assert_int_equal(strlen(a), 40);
	assert_string_not_equal(a, b);
	assert_true(strncmp(a, "20", 2) == 0);
}

static char *
answer(const char *rc, const char *ret, const char *vn, const char *out, const char *idn)
{
	static char buf[4096];
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "BusinessNo", "42712608", "ApiVersion", "1.0",
	                      "HashKeyNo", "1", "VerifyNo", vn, "ResultCode", rc, "ReturnCode", ret, "ReturnCodeDesc",
	                      "成功", "OutputParams", out, "IdentifyNo", idn);
	char *s = json_dumps(o, JSON_COMPACT);

	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	json_decref(o);
	return buf;
}

static void
test_parse_answer(void **state)
{
	struct mobileid_result r;
	char idn[MOBILEID_IDENTIFY_LEN + 1];
	const char *b;

	(void)state;
	b = answer("S", "0", VN, OUT4, M4);
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, "A123456789", &r), MOBILEID_OK);
	assert_string_equal(r.token, TOKEN);
	assert_string_equal(r.member_no, "A123456789");
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_OK);
	/* Another member than the one the caller asked about. */
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, "B200000004", &r), MOBILEID_MISMATCH);
	/* An answer for another VerifyNo (genuine, but not ours). */
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN "x", NULL, &r), MOBILEID_MISMATCH);
	/* Altered in transit: the IdentifyNo no longer matches. */
	b = answer("S", "0", VN, "{\"MemberNo\":\"B200000004\",\"Token\":\"" TOKEN "\"}", M4);
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_BAD_IDENTIFY);
	b = answer("S", "0", VN, OUT4, M3);
	assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_BAD_IDENTIFY);
	/* The carrier says no; other failures. */
	{
		const char *f[7] = { "42712608", "1.0", "1", VN, "F", "3645011", "" };

		assert_int_equal(mobileid_identify_no(f, 7, cfg.hash_key, idn), 0);
		b = answer("F", "3645011", VN, "", idn);
		assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_DENIED);
		assert_string_equal(r.return_code, "3645011");
		f[5] = "2031000";
		assert_int_equal(mobileid_identify_no(f, 7, cfg.hash_key, idn), 0);
		b = answer("F", "2031000", VN, "", idn);
		assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_FAILED);
		/* "S" with a non-zero code is not a success. */
		f[4] = "S";
		assert_int_equal(mobileid_identify_no(f, 7, cfg.hash_key, idn), 0);
		b = answer("S", "2031000", VN, "", idn);
		assert_int_equal(mobileid_parse_answer(200, b, strlen(b), &cfg, VN, NULL, &r), MOBILEID_MALFORMED);
	}
	assert_int_equal(mobileid_parse_answer(502, "", 0, &cfg, VN, NULL, &r), MOBILEID_UNAVAILABLE);
	assert_int_equal(mobileid_parse_answer(200, "<html>", 6, &cfg, VN, NULL, &r), MOBILEID_MALFORMED);
	assert_int_equal(mobileid_parse_answer(200, "{}", 2, &cfg, VN, NULL, &r), MOBILEID_MALFORMED);
}

static struct form *
return_form(const char *vn, const char *rp, const char *out, const char *idn)
{
	const char *k[] = { "BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "ResultCode", "ReturnCode",
		"ReturnCodeDesc", "ReturnParams", "OutputParams", "IdentifyNo" };
	const char *v[] = { "42712608", "1.0", "1", vn, "S", "0", "成功", rp, out, idn };
	struct buf b;
	struct form *f = NULL;
	size_t i;

	buf_init(&b);
	for (i = 0; i < 10; i++) {
		if (i)
			buf_adds(&b, "&");
		buf_adds(&b, k[i]);
		buf_adds(&b, "=");
		buf_add_urlenc(&b, v[i]);
	}
	assert_int_equal(form_parse(buf_str(&b), b.len, &f), FORM_OK);
	buf_free(&b);
	return f;
}

static void
test_parse_return(void **state)
{
	struct mobileid_result r;
	struct form *f;

	(void)state;
	f = return_form(VN, RP, OUT5, M5);
	assert_int_equal(mobileid_parse_return(f, &cfg, VN, RP, &r), MOBILEID_OK);
	assert_string_equal(r.member_no, "A123456789");
	assert_string_equal(r.msisdn, "0912345678");
	assert_string_equal(r.verify_code, "0000");
	/* A genuine return, but this browser started another transaction. */
	assert_int_equal(mobileid_parse_return(f, &cfg, VN "x", RP, &r), MOBILEID_MISMATCH);
	assert_int_equal(mobileid_parse_return(f, &cfg, VN, "sess=other", &r), MOBILEID_MISMATCH);
	form_free(f);
	/* Forged: a success under another key; altered: someone else's member. */
	f = return_form(VN, RP, OUT5, M4);
	assert_int_equal(mobileid_parse_return(f, &cfg, VN, RP, &r), MOBILEID_BAD_IDENTIFY);
	form_free(f);
	f = return_form(VN, RP, "{\"MemberNo\":\"B200000004\"}", M5);
	assert_int_equal(mobileid_parse_return(f, &cfg, VN, RP, &r), MOBILEID_BAD_IDENTIFY);
	form_free(f);
	assert_int_equal(form_parse("VerifyNo=x", 10, &f), FORM_OK);
	assert_int_equal(mobileid_parse_return(f, &cfg, "x", RP, &r), MOBILEID_MALFORMED);
	form_free(f);
	assert_int_equal(mobileid_parse_return(NULL, &cfg, VN, RP, &r), MOBILEID_MALFORMED);
	assert_string_equal(mobileid_status_name(MOBILEID_BAD_IDENTIFY), "bad_identify");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify_vectors),
		cmocka_unit_test(test_identify_refuses),
		cmocka_unit_test(test_build_login),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_build_do_confirm),
		cmocka_unit_test(test_verify_no),
		cmocka_unit_test(test_parse_answer),
		cmocka_unit_test(test_parse_return),
	};

	return cmocka_run_group_tests_name("mobileid_proto", tests, NULL, NULL);
}

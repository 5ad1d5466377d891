/* tests/unit/test_twfido_proto.c — modules/twfido_proto: the sp_checksum /
 * idp_checksum against vectors computed independently (Python hashlib +
 * python3-cryptography AESGCM: tests/unit/vectors/tw_vectors.py prints V1-V5),
 * the request bodies, the answer checks (idp_checksum, sp_ticket, bounds),
 * the result codes, the national-ID check digit and the app-to-app link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/util.h"
#include "../../modules/twfido_proto.h"

static uint8_t key[32];
static const uint8_t iv_zero[12];
static uint8_t iv_a[12];

#define TX "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
#define SID "7b2c7f94-9f7b-481a-89a8-56b883dea695"
#define TID "c5d9f3e0-5c1e-4a7e-9d2f-2b9f3b8e6a41"
#define HASHED "3f2a9c0e8b7d6f5a4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5"
#define SIGNED "MIIBsignedresponse+/="

/* From tests/unit/vectors/tw_vectors.py (key 00..1f). */
static const char V1[] =  /* getSpTicket SIGN I-SCAN, zero IV */
	"0000000000000000000000006ddf86e8d71fb08b399d90512919f4aeb77134604ab90518e5af8ab0f1c63e6f"
	"2a3985854c94da6701f74296f4fc0d78cd6422d44817729634870b407e542fd20baafe938a75fa6e3a1ec72862bee0a4";
static const char V2[] =  /* requestAthOrSignPush ATH, IV a0..ab */
	"a0a1a2a3a4a5a6a7a8a9aaabd47c1e4e73ae33885555e4e73e4af2e913cf3b23a0847b59f83d1fb14f9d1465e3"
	"4424999f11660d6dad65fa6c4fe59a727f722b51e0794b706a6f6b9d49e482425916a8a6ccb84b938d3d5bd787958d";
static const char V3[] =  /* getAthOrSignResult, zero IV */
	"0000000000000000000000006adf80e8d61ebadb3a90cf572c4ef3fbb425613210b2011ab2f881b5fcc83b33"
	"783d858c1991d96556a112cca2ad0f799b3779851a13719567870b1728032882a13f39646a0e05fc9e38cceb44cec64b";
static const char V4_TICKET[] =
	"eyJ0cmFuc2FjdGlvbl9pZCI6IjA0NmI2YzdmLTBiOGEtNDNiOS1iMzVkLTY0ODllNmRhZWU5MSIsIm9wX2NvZGUiOiJTSUdOIiwi"
	"b3BfbW9kZSI6IlBVU0giLCJzcF9zZXJ2aWNlX2lkIjoiN2IyYzdmOTQtOWY3Yi00ODFhLTg5YTgtNTZiODgzZGVhNjk1Iiwic3Bf"
	"dGlja2V0X2lkIjoiYzVkOWYzZTAtNWMxZS00YTdlLTlkMmYtMmI5ZjNiOGU2YTQxIiwic3BfbmFtZSI6IuiHuuWMl-W4guaUv-W6"
	"nCIsImhpbnQiOiLoh7rljJfluILmlL_lupznmbvlhaUiLCJleHBpcmF0aW9uX3RpbWUiOiIyMDI2LTA1LTAxIDEyOjMwOjAwIiwi"
	"aGFzaGVkX2lkX251bSI6IjNmMmE5YzBlOGI3ZDZmNWE0YzNiMmExOTA4ZjdlNmQ1YzRiM2EyOTE4MGY3ZTZkNWM0YjNhMjkxODBm"
	"N2U2ZDUiLCJ2ZXJzaW9uIjoiMS4wIn0.0tf9VeJK0jcx3MOF6F7WTw8CqGcZvo0x4aEyIVhHT2c";
static const char V4_IDP[] =  /* over TX + "0" + V4_TICKET, IV a0..ab */
	"a0a1a2a3a4a5a6a7a8a9aaabd579191d72aa34890453b0e16419f6e8159a3f72ab8f7408fd6a14bf1a9e4563"
	"ea4e21c6cb10600867fd36ab3b4ae298732e727e06e77c4c71686e6f9514bc8787c29b7137b6559349b7196e31a6a12e";
static const char V5[] =  /* over TX + "0" + HASHED + SIGNED, zero IV */
	"0000000000000000000000003dd9d7ed8315e08f699f99062a19a1aeb670653018b25916b5a983e6a19a3b33"
	"286ad28c12c3813e07fa4497a4fd0d7b9b3178d34e487491338759177f057d86b4b22df798e1b94af1165e0bea6cc24b";

static int
setup(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 12; i++)
		iv_a[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static void
test_checksum_vectors(void **state)
{
	const char *f1[] = { TX, SID, "A123456789", "SIGN", "I-SCAN", "待簽署資料", "RE9DX0RJR0VTVF8xMjM0NTY3ODkw" };
	const char *f2[] = { TX, SID, "A123456789", "", "ATH", "臺北市政府登入", NULL };  /* NULL counts as "" */
	const char *f3[] = { TX, SID, TID };
	char out[TWFIDO_CHECKSUM_HEX_LEN + 1];

	(void)state;
	assert_int_equal(sizeof(V1) - 1, TWFIDO_CHECKSUM_HEX_LEN);
	assert_int_equal(twfido_checksum(key, iv_zero, f1, 7, out), 0);
	assert_string_equal(out, V1);
	assert_int_equal(twfido_checksum(key, iv_a, f2, 7, out), 0);
	assert_string_equal(out, V2);
	assert_int_equal(twfido_checksum(key, iv_zero, f3, 3, out), 0);
	assert_string_equal(out, V3);
	assert_true(twfido_checksum_verify(key, f1, 7, V1));
	assert_true(twfido_checksum_verify(key, f2, 7, V2));
	assert_true(twfido_checksum_verify(key, f3, 3, V3));
}

static void
test_checksum_refuses(void **state)
{
	const char *f3[] = { TX, SID, TID };
	const char *other[] = { TX, SID, "c5d9f3e0-5c1e-4a7e-9d2f-2b9f3b8e6a42" };
	const char *split[] = { TX SID, TID };  /* the same concatenation */
	uint8_t key2[32];
	char bad[sizeof(V3)];
	size_t i;

	(void)state;
	memcpy(key2, key, 32);
	key2[31] ^= 1;
	assert_false(twfido_checksum_verify(key2, f3, 3, V3));
	assert_false(twfido_checksum_verify(key, other, 3, V3));
	/* The checksum covers the concatenation, not the field boundaries. */
	assert_true(twfido_checksum_verify(key, split, 2, V3));
	/* Any flipped nibble (IV, ciphertext or tag) fails. */
	for (i = 0; i < TWFIDO_CHECKSUM_HEX_LEN; i += 7) {
		memcpy(bad, V3, sizeof(bad));
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert_false(twfido_checksum_verify(key, f3, 3, bad));
	}
	memcpy(bad, V3, sizeof(bad));
	bad[TWFIDO_CHECKSUM_HEX_LEN - 1] = '\0';
	assert_false(twfido_checksum_verify(key, f3, 3, bad));
	assert_false(twfido_checksum_verify(key, f3, 3, ""));
	assert_false(twfido_checksum_verify(key, f3, 3, NULL));
	memcpy(bad, V3, sizeof(bad));
	bad[5] = 'x';
	assert_false(twfido_checksum_verify(key, f3, 3, bad));
}

static void
test_id_num(void **state)
{
	(void)state;
	assert_true(twfido_id_num_valid("A123456789"));
	assert_true(twfido_id_num_valid("F126574887"));
	assert_true(twfido_id_num_valid("B200000004"));
	assert_true(twfido_id_num_valid("A800000014"));  /* 2021 resident certificate format */
	assert_false(twfido_id_num_valid("A123456788"));  /* check digit */
	assert_false(twfido_id_num_valid("B287654321"));  /* the test PKI's 陳美麗: fails the check digit */
	assert_false(twfido_id_num_valid("a123456789"));
	assert_false(twfido_id_num_valid("A323456789"));
	assert_false(twfido_id_num_valid("A12345678"));
	assert_false(twfido_id_num_valid("A1234567890"));
	assert_false(twfido_id_num_valid("AB23456789"));
	assert_false(twfido_id_num_valid(""));
	assert_false(twfido_id_num_valid(NULL));
}

static struct twfido_request
sign_request(void)
{
	struct twfido_request r = {
		.transaction_id = TX, .sp_service_id = SID, .id_num = "A123456789", .op = TWFIDO_OP_SIGN,
		.mode = TWFIDO_MODE_ISCAN, .hint = "待簽署資料", .time_limit = 120,
		.sign_data = "RE9DX0RJR0VTVF8xMjM0NTY3ODkw", .sign_type = "PKCS#7", .hash_alg = "SHA256",
		.tbs_base64 = 1,
	};
	return r;
}

static void
test_build_ticket_sign(void **state)
{
	struct twfido_request r = sign_request();
	const char *method = NULL;
	char err[128];
	json_t *o, *si;

	(void)state;
	o = twfido_build_auth(&r, key, iv_zero, &method, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(method, "getSpTicket");
	assert_string_equal(json_string_value(json_object_get(o, "sp_checksum")), V1);
	assert_string_equal(json_string_value(json_object_get(o, "op_mode")), "I-SCAN");
	assert_string_equal(json_string_value(json_object_get(o, "op_code")), "SIGN");
	assert_int_equal(json_integer_value(json_object_get(o, "time_limit")), 120);
	assert_null(json_object_get(o, "device_user_def_desc"));
	si = json_object_get(o, "sign_info");
	assert_string_equal(json_string_value(json_object_get(si, "sign_type")), "PKCS#7");
	assert_string_equal(json_string_value(json_object_get(si, "tbs_encoding")), "base64");
	assert_string_equal(json_string_value(json_object_get(si, "hash_algorithm")), "SHA256");
	json_decref(o);
}

static void
test_build_push_ath(void **state)
{
	struct twfido_request r = { .transaction_id = TX, .sp_service_id = SID, .id_num = "A123456789",
		.op = TWFIDO_OP_ATH, .mode = TWFIDO_MODE_PUSH, .hint = "臺北市政府登入", .time_limit = 60 };
	const char *method = NULL;
	char err[128];
	json_t *o;

	(void)state;
	o = twfido_build_auth(&r, key, iv_a, &method, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(method, "requestAthOrSignPush");
	assert_string_equal(json_string_value(json_object_get(o, "sp_checksum")), V2);
	assert_null(json_object_get(o, "op_mode"));
	assert_null(json_object_get(o, "sign_info"));
	json_decref(o);
	/* A device name takes part in the checksum. */
	r.device = "我的手機";
	o = twfido_build_auth(&r, key, iv_a, &method, err, sizeof(err));
	assert_non_null(o);
	assert_string_not_equal(json_string_value(json_object_get(o, "sp_checksum")), V2);
	assert_string_equal(json_string_value(json_object_get(o, "device_user_def_desc")), "我的手機");
	json_decref(o);
}

static void
test_build_refuses(void **state)
{
	struct twfido_request r;
	const char *method;
	char err[128], long_data[1100];
	json_t *o;

	(void)state;
#define REFUSED(setup_stmt)                                                        \
	do {                                                                       \
		r = sign_request();                                                \
		setup_stmt;                                                        \
		err[0] = '\0';                                                     \
		o = twfido_build_auth(&r, key, iv_zero, &method, err, sizeof(err)); \
		assert_null(o);                                                    \
		assert_true(err[0] != '\0');                                       \
	} while (0)
	REFUSED(r.transaction_id = "tx with space");
	REFUSED(r.transaction_id = "");
	REFUSED(r.sp_service_id = "a/b");
	REFUSED(r.id_num = "A123456788");
	REFUSED((r.mode = TWFIDO_MODE_PUSH, r.id_num = NULL));
	REFUSED(r.time_limit = 29);
	REFUSED(r.time_limit = 601);
	memset(long_data, 'A', 1028);
	long_data[1028] = '\0';
	REFUSED(r.sign_data = long_data);
	REFUSED(r.sign_data = "not base64!");
	REFUSED(r.sign_data = "");
	REFUSED(r.sign_type = "PKCS#12");
	REFUSED((r.sign_type = "RAW", r.tbs_base64 = 0, r.sign_data = "text"));
	REFUSED(r.hash_alg = "MD5");
	REFUSED(r.device = "a device outside PUSH");
	REFUSED(r.hint = "\xff\xfe");
#undef REFUSED
	/* A QR ticket may name nobody. */
	r = sign_request();
	r.id_num = NULL;
	o = twfido_build_auth(&r, key, iv_zero, &method, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id_num")), "");
	json_decref(o);
}

static void
test_build_result(void **state)
{
	json_t *o;

	(void)state;
	o = twfido_build_result(TX, SID, TID, key, iv_zero);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "sp_checksum")), V3);
	assert_string_equal(json_string_value(json_object_get(o, "sp_ticket_id")), TID);
	json_decref(o);
	assert_null(twfido_build_result(TX, SID, "bad id!", key, iv_zero));
	assert_null(twfido_build_result(NULL, SID, TID, key, iv_zero));
}

static char *
ticket_answer(const char *code, const char *ticket, const char *idp)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"error_code\":\"%s\",\"error_message\":\"x\",\"result\":{\"sp_ticket\":\"%s\","
	         "\"idp_checksum\":\"%s\"}}", code, ticket, idp);
	return buf;
}

static void
test_parse_ticket(void **state)
{
	struct twfido_ticket t;
	const char *b = ticket_answer("0", V4_TICKET, V4_IDP);
	uint8_t key2[32];

	(void)state;
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_OK);
	assert_string_equal(t.sp_ticket, V4_TICKET);
	assert_string_equal(t.sp_ticket_id, TID);
	assert_string_equal(t.hashed_id_num, HASHED);
	assert_string_equal(t.op_code, "SIGN");
	assert_string_equal(t.error_code, "0");
	twfido_ticket_clear(&t);
	/* The checksum is over OUR transaction id: an answer for another one fails. */
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, "other-tx", SID, &t), TWFIDO_BAD_CHECKSUM);
	memcpy(key2, key, 32);
	key2[0] ^= 0x80;
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key2, TX, SID, &t), TWFIDO_BAD_CHECKSUM);
	b = "{\"error_code\":\"0\",\"result\":{\"sp_ticket\":\"a.b\"}}";
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_BAD_CHECKSUM);
	assert_null(t.sp_ticket);
	/* A right checksum over a ticket that names another service. */
	assert_int_equal(twfido_parse_ticket(200, ticket_answer("0", V4_TICKET, V4_IDP),
	                                     strlen(ticket_answer("0", V4_TICKET, V4_IDP)), key, TX, "other", &t),
	                 TWFIDO_MALFORMED);
	/* Errors and HTTP statuses. */
	b = "{\"error_code\":\"SP-API-ATH-01-INV_SP_CHECKSUM\",\"error_message\":\"SP CHECKSUM 檢驗失敗\"}";
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_REJECTED);
	assert_string_equal(t.error_code, "SP-API-ATH-01-INV_SP_CHECKSUM");
	b = "{\"error_code\":\"SP-API-ATH-03-IDNUM_USERPROF_NF\"}";
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_NOT_ENROLLED);
	b = "{\"error_code\":\"20002\"}";
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_MALFORMED);
	assert_int_equal(twfido_parse_ticket(503, "x", 1, key, TX, SID, &t), TWFIDO_UNAVAILABLE);
	assert_int_equal(twfido_parse_ticket(404, "x", 1, key, TX, SID, &t), TWFIDO_REJECTED);
	assert_int_equal(twfido_parse_ticket(200, "<html>", 6, key, TX, SID, &t), TWFIDO_MALFORMED);
	assert_int_equal(twfido_parse_ticket(200, "[[[[[[[[[[[[]]]]]]]]]]]]", 24, key, TX, SID, &t),
	                 TWFIDO_MALFORMED);
	b = "{\"error_code\":\"0\",\"error_code\":\"1\"}";
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_MALFORMED);
}

/* A ticket whose checksum is right but whose digest segment is not. */
static void
test_parse_ticket_digest(void **state)
{
	char ticket[sizeof(V4_TICKET)], idp[TWFIDO_CHECKSUM_HEX_LEN + 1];
	const char *f[3] = { TX, "0", ticket };
	struct twfido_ticket t;
	const char *b;

	(void)state;
	memcpy(ticket, V4_TICKET, sizeof(ticket));
	ticket[sizeof(ticket) - 2] = ticket[sizeof(ticket) - 2] == 'c' ? 'd' : 'c';
	assert_int_equal(twfido_checksum(key, iv_zero, f, 3, idp), 0);
	b = ticket_answer("0", ticket, idp);
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_MALFORMED);
	/* Two dots. */
	strcpy(ticket, "a.b.c");
	assert_int_equal(twfido_checksum(key, iv_zero, f, 3, idp), 0);
	b = ticket_answer("0", ticket, idp);
	assert_int_equal(twfido_parse_ticket(200, b, strlen(b), key, TX, SID, &t), TWFIDO_MALFORMED);
}

static const char *
result_answer(const char *hashed, const char *signed_resp, const char *idp)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{\"error_code\":\"0\",\"error_message\":\"成功\",\"result\":{\"hashed_id_num\":"
	         "\"%s\",\"signed_response\":\"%s\",\"cert\":\"MIIC\",\"idp_checksum\":\"%s\"}}", hashed, signed_resp,
	         idp);
	return buf;
}

static void
test_parse_result(void **state)
{
	struct twfido_result r;
	const char *b = result_answer(HASHED, SIGNED, V5);
	char idp[TWFIDO_CHECKSUM_HEX_LEN + 1];

	(void)state;
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_OK);
	assert_string_equal(r.hashed_id_num, HASHED);
	assert_string_equal(r.signed_response, SIGNED);
	assert_string_equal(r.cert, "MIIC");
	twfido_result_clear(&r);
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, NULL, &r), TWFIDO_OK);
	twfido_result_clear(&r);
	/* The ticket named someone else. */
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, "00" HASHED, &r), TWFIDO_WRONG_PERSON);
	assert_null(r.signed_response);
	/* A changed signature no longer matches the checksum. */
	b = result_answer(HASHED, "MIIBsignedresponsE+/=", V5);
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_BAD_CHECKSUM);
	b = result_answer(HASHED, SIGNED, V5);
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, "other-tx", HASHED, &r), TWFIDO_BAD_CHECKSUM);
	/* Bad characters, even under a good checksum. */
	{
		const char *f[4] = { TX, "0", "bad hashed", SIGNED };

		assert_int_equal(twfido_checksum(key, iv_zero, f, 4, idp), 0);
		b = result_answer("bad hashed", SIGNED, idp);
		assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, NULL, &r), TWFIDO_MALFORMED);
	}
	b = "{\"error_code\":\"0\",\"result\":{\"idp_checksum\":\"00\"}}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, NULL, &r), TWFIDO_MALFORMED);
	/* The states on the way. */
	b = "{\"error_code\":\"20002\",\"error_message\":\"\"}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_PENDING);
	b = "{\"error_code\":20003}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_PENDING);
	assert_string_equal(r.error_code, "20003");
	b = "{\"error_code\":\"SP-API-ATH-02-SPTKTID_TXNLOG_NF\"}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_PENDING);
	b = "{\"error_code\":\"SP-API-ATH-02-APP_USER_CANCEL\"}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_DENIED);
	b = "{\"error_code\":\"SP-API-ATH-02-SPTKT_OVD\"}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_EXPIRED);
	b = "{\"error_code\":\"SP-API-ATH-02-SPTKTID_SPTKT_RDM\"}";
	assert_int_equal(twfido_parse_result(200, b, strlen(b), key, TX, HASHED, &r), TWFIDO_REPLAYED);
	assert_int_equal(twfido_parse_result(429, "{}", 2, key, TX, HASHED, &r), TWFIDO_SLOW_DOWN);
	assert_int_equal(twfido_parse_result(500, "", 0, key, TX, HASHED, &r), TWFIDO_UNAVAILABLE);
	assert_int_equal(twfido_parse_result(200, "", 0, key, TX, HASHED, &r), TWFIDO_MALFORMED);
	assert_int_equal(twfido_parse_result(200, "{\"result\":{}}", 13, key, TX, HASHED, &r), TWFIDO_MALFORMED);
}

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(twfido_classify("0"), TWFIDO_OK);
	assert_int_equal(twfido_classify("00"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("SP-API-ATH-02-0"), TWFIDO_REJECTED);  /* never success but "0" */
	assert_int_equal(twfido_classify("20002"), TWFIDO_PENDING);
	assert_int_equal(twfido_classify("SPTKTID_TXNLOG_NF"), TWFIDO_PENDING);
	assert_int_equal(twfido_classify("SP-API-ATH-02-APP_SIGN_FAILURE"), TWFIDO_DENIED);
	assert_int_equal(twfido_classify("SP-API-ATH-02-DEVID_SPTKT_MISMATCH"), TWFIDO_DENIED);
	assert_int_equal(twfido_classify("SP-API-ATH-03-PS_FCM_NOT_FOUND"), TWFIDO_NOT_ENROLLED);
	assert_int_equal(twfido_classify("SP-API-ATH-03-PS_CONNECT_500"), TWFIDO_UNAVAILABLE);
	assert_int_equal(twfido_classify("SP-API-ATH-01-DB_CONN_ERR"), TWFIDO_UNAVAILABLE);
	assert_int_equal(twfido_classify("SP-API-ATH-01-USERPROF_INS_ERR"), TWFIDO_UNAVAILABLE);
	assert_int_equal(twfido_classify("SP-API-ATH-01-TXNLOG_INS_ERR"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("SP-API-ATH-01-SPSVCID_NF"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("SP-API-ATH-01-SPTKT_TIME_ORV"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("SP-API-LF-01-INV_SP_CHECKSUM"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("SP-API-"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify("something new"), TWFIDO_REJECTED);
	assert_int_equal(twfido_classify(""), TWFIDO_MALFORMED);
	assert_int_equal(twfido_classify(NULL), TWFIDO_MALFORMED);
	assert_string_equal(twfido_status_name(TWFIDO_WRONG_PERSON), "wrong_person");
}

static void
test_app_link(void **state)
{
	char *s;

	(void)state;
	/* rtn_url / rtn_val are base64url (the spec's samples, not its prose's
	 * "Base64"): python3 -c 'import base64;print(base64.urlsafe_b64encode(b"…"))' */
	s = twfido_app_link(0, "eyJhIjoxfQ.abc_-", "https://sso.city.example/r", "x=1");
	assert_non_null(s);
	assert_string_equal(s, "mobilemoica://moica.moi.gov.tw/a2a/verifySign?sp_ticket=eyJhIjoxfQ.abc_-"
	                       "&rtn_url=aHR0cHM6Ly9zc28uY2l0eS5leGFtcGxlL3I&rtn_val=eD0x");
	free(s);
	s = twfido_app_link(1, "eyJhIjoxfQ.abc_-", "https://sso.city.example/r?a=1", NULL);
	assert_non_null(s);
	assert_string_equal(s, "mobilemoica://moica.moi.gov.tw/w2a/verifySign?sp_ticket=eyJhIjoxfQ.abc_-"
	                       "&rtn_url=aHR0cHM6Ly9zc28uY2l0eS5leGFtcGxlL3I_YT0x&rtn_val=");
	free(s);
	assert_null(twfido_app_link(1, NULL, "https://x", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_vectors),
		cmocka_unit_test(test_checksum_refuses),
		cmocka_unit_test(test_id_num),
		cmocka_unit_test(test_build_ticket_sign),
		cmocka_unit_test(test_build_push_ath),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_build_result),
		cmocka_unit_test(test_parse_ticket),
		cmocka_unit_test(test_parse_ticket_digest),
		cmocka_unit_test(test_parse_result),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_app_link),
	};

	return cmocka_run_group_tests_name("twfido_proto", tests, setup, NULL);
}

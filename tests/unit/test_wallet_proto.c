/* tests/unit/test_wallet_proto.c — modules/wallet_proto: the requests of the
 * 數位憑證皮夾 verifier API and the bounded parsing of its answers. The
 * answers are the samples of 數位發展部's published specification
 * (TWDIW_API_Specification.md, DWVP-01-101 / DWVP-01-201) plus the shapes the
 * simulator and integrators show (a wrapped 4002, holderDid), and what must be
 * refused: another transaction's answer, a hostile authUri, over-long claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../modules/wallet_proto.h"

#define TX "129e6f5d-6e2a-4e9b-99e8-8ded5f2886c6"

static void
test_requests(void **state)
{
	char id[37], id2[37];
	char *s;

	(void)state;
	assert_int_equal(wallet_transaction_id_new(id), 0);
	assert_int_equal(wallet_transaction_id_new(id2), 0);
	assert_int_equal(strlen(id), 36);
	assert_true(id[8] == '-' && id[13] == '-' && id[14] == '4' && id[18] == '-' && id[23] == '-');
	assert_true(strchr("89ab", id[19]) != NULL);
	assert_string_not_equal(id, id2);
	s = wallet_qrcode_path("00000000_authd_test.vp", TX);
	assert_string_equal(s, "/api/oidvp/qrcode?ref=00000000_authd_test.vp&transactionId=" TX);
	free(s);
	assert_null(wallet_qrcode_path("a&b", TX));
	assert_null(wallet_qrcode_path("ref", "x/y"));
	assert_null(wallet_qrcode_path("ref", "012345678901234567890123456789012345678901234567890"));
	s = wallet_result_body(TX);
	assert_string_equal(s, "{\"transactionId\":\"" TX "\"}");
	free(s);
	assert_null(wallet_result_body("a\"b"));
}

#define QR_OK "{\"transactionId\":\"" TX "\",\"qrcodeImage\":\"data:image/png;base64,iVBORw0KGgo=\"," \
	"\"authUri\":\"modadigitalwallet://authorize?client_id=redirect%3Ahttps&request_uri=x\",\"code\":\"0\"," \
	"\"message\":\"SUCCESS\"}"

static void
test_parse_qrcode(void **state)
{
	struct wallet_qrcode q;
	const char *b;

	(void)state;
	assert_int_equal(wallet_parse_qrcode(200, QR_OK, strlen(QR_OK), TX, &q), WALLET_OK);
	assert_string_equal(q.qrcode_image, "data:image/png;base64,iVBORw0KGgo=");
	assert_string_equal(q.auth_uri, "modadigitalwallet://authorize?client_id=redirect%3Ahttps&request_uri=x");
	assert_string_equal(q.code, "0");
	wallet_qrcode_clear(&q);
	assert_int_equal(wallet_parse_qrcode(200, QR_OK, strlen(QR_OK), "another-tx", &q), WALLET_MALFORMED);
	assert_null(q.auth_uri);
	b = "{\"qrcodeImage\":\"data:image/png;base64,AA==\",\"authUri\":\"openid4vp://authorize?x=1\"}";
	assert_int_equal(wallet_parse_qrcode(200, b, strlen(b), TX, &q), WALLET_OK);
	wallet_qrcode_clear(&q);
	b = "{\"qrcodeImage\":\"data:image/png;base64,AA==\",\"authUri\":\"javascript:alert(1)\"}";
	assert_int_equal(wallet_parse_qrcode(200, b, strlen(b), TX, &q), WALLET_MALFORMED);
	b = "{\"qrcodeImage\":\"data:image/png;base64,AA==\",\"authUri\":\"https://x/\\\"onload=\"}";
	assert_int_equal(wallet_parse_qrcode(200, b, strlen(b), TX, &q), WALLET_MALFORMED);
	b = "{\"qrcodeImage\":\"data:image/svg+xml;base64,AA==\",\"authUri\":\"https://x/\"}";
	assert_int_equal(wallet_parse_qrcode(200, b, strlen(b), TX, &q), WALLET_MALFORMED);
	b = "{\"qrcodeImage\":\"data:image/png;base64,AA==\",\"authUri\":\"https://x/\",\"code\":\"3000\"}";
	assert_int_equal(wallet_parse_qrcode(200, b, strlen(b), TX, &q), WALLET_MALFORMED);
	b = "{\"code\":\"2011\",\"message\":\"無效的presentation_definition\"}";
	assert_int_equal(wallet_parse_qrcode(400, b, strlen(b), TX, &q), WALLET_REJECTED);
	assert_string_equal(q.code, "2011");
	b = "{\"code\":\"35116\",\"message\":\"AccessToken權限不足，請聯繫系統管理員。\"}";
	assert_int_equal(wallet_parse_qrcode(403, b, strlen(b), TX, &q), WALLET_REJECTED);
	b = "{\"code\":\"4002\",\"message\":\"x\"}";
	assert_int_equal(wallet_parse_qrcode(400, b, strlen(b), TX, &q), WALLET_REJECTED);
	b = "{\"code\":\"5001\",\"message\":\"資料庫異常\"}";
	assert_int_equal(wallet_parse_qrcode(500, b, strlen(b), TX, &q), WALLET_UNAVAILABLE);
	assert_int_equal(wallet_parse_qrcode(502, "<html>", 6, TX, &q), WALLET_UNAVAILABLE);
	assert_int_equal(wallet_parse_qrcode(200, "<html>", 6, TX, &q), WALLET_MALFORMED);
	assert_int_equal(wallet_parse_qrcode(302, "", 0, TX, &q), WALLET_MALFORMED);
}

#define RESULT_OK "{\"code\":\"0\",\"message\":\"SUCCESS\",\"verifyResult\":true,\"resultDescription\":\"success\"," \
	"\"transactionId\":\"" TX "\",\"data\":[{\"credentialType\":\"VirtualCardCredential\",\"claims\":[" \
	"{\"ename\":\"name\",\"cname\":\"姓名\",\"value\":\"黃ＯＯ\"}]}]}"

static void
test_parse_result(void **state)
{
	struct wallet_result r;
	const char *b;

	(void)state;
	assert_int_equal(wallet_parse_result(200, RESULT_OK, strlen(RESULT_OK), TX, &r), WALLET_OK);
	assert_int_equal(r.nclaims, 1);
	assert_string_equal(r.claims[0].credential_type, "VirtualCardCredential");
	assert_string_equal(r.claims[0].cname, "姓名");
	assert_string_equal(wallet_claim(&r, NULL, "name"), "黃ＯＯ");
	assert_string_equal(wallet_claim(&r, "VirtualCardCredential", "name"), "黃ＯＯ");
	assert_null(wallet_claim(&r, "Other", "name"));
	assert_null(wallet_claim(&r, NULL, "email"));
	assert_string_equal(r.description, "success");
	wallet_result_clear(&r);
	/* Somebody else's transaction. */
	assert_int_equal(wallet_parse_result(200, RESULT_OK, strlen(RESULT_OK), "another-tx", &r), WALLET_MALFORMED);
	assert_null(r.claims);
	/* Pending, expired, failed, refused. */
	b = "{\"code\":\"4002\",\"message\":\"查無驗證結果\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_PENDING);
	b = "{\"title\":\"Bad Request\",\"status\":400,\"params\":\"{\\\"code\\\":4002,\\\"message\\\":\\\"x\\\"}\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_PENDING);
	assert_string_equal(r.code, "4002");
	b = "{\"code\":4003,\"message\":\"invalid session\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_EXPIRED);
	b = "{\"code\":\"2008\",\"message\":\"x\",\"verifyResult\":false,\"resultDescription\":\"vc claim is not "
	    "matched\",\"transactionId\":\"" TX "\"}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_FAILED);
	assert_string_equal(r.code, "2008");
	assert_string_equal(r.description, "vc claim is not matched");
	wallet_result_clear(&r);
	/* The module's handler maps 4002 to 404 and vp-validation failures to
	 * 400/500 (OidvpErrorCode.java): still pending / failed, not an outage. */
	b = "{\"code\":4002,\"message\":\"result not found\"}";
	assert_int_equal(wallet_parse_result(404, b, strlen(b), TX, &r), WALLET_PENDING);
	b = "{\"code\":2004,\"message\":\"vp validate fail\"}";
	assert_int_equal(wallet_parse_result(500, b, strlen(b), TX, &r), WALLET_FAILED);
	assert_string_equal(r.code, "2004");
	b = "{\"code\":2008,\"message\":\"vc claim is not matched the requirement of filter\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_FAILED);
	b = "{\"code\":2011,\"message\":\"invalid presentation_definition\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_REJECTED);
	b = "{\"code\":\"35116\",\"message\":\"x\"}";
	assert_int_equal(wallet_parse_result(403, b, strlen(b), TX, &r), WALLET_REJECTED);
	b = "{\"code\":\"5001\",\"message\":\"資料庫異常\"}";
	assert_int_equal(wallet_parse_result(400, b, strlen(b), TX, &r), WALLET_UNAVAILABLE);
	assert_int_equal(wallet_parse_result(500, "", 0, TX, &r), WALLET_UNAVAILABLE);
	/* A "verified" answer whose code is not 0, or without data. */
	b = "{\"code\":\"2004\",\"verifyResult\":true,\"transactionId\":\"" TX "\",\"data\":[]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
	b = "{\"code\":\"0\",\"verifyResult\":true,\"transactionId\":\"" TX "\"}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
	b = "{\"code\":\"0\",\"verifyResult\":\"true\",\"transactionId\":\"" TX "\",\"data\":[]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
	/* The callback shape (DWVP-02-201) has no code: taken as "0". A code
	 * that is there but not a code is not. */
	b = "{\"verifyResult\":true,\"resultDescription\":\"success\",\"transactionId\":\"" TX "\","
	    "\"data\":[{\"credentialType\":\"42712608_visitor_card\",\"claims\":[{\"ename\":\"name\","
	    "\"cname\":\"姓名\",\"value\":\"黃ＯＯ\"}]}]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_OK);
	assert_string_equal(r.code, "0");
	assert_string_equal(wallet_claim(&r, "42712608_visitor_card", "name"), "黃ＯＯ");
	wallet_result_clear(&r);
	b = "{\"code\":null,\"verifyResult\":true,\"transactionId\":\"" TX "\",\"data\":[]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
}

static void
test_claims(void **state)
{
	struct wallet_result r;
	char big[8192];
	size_t i, n;
	const char *b;

	(void)state;
	/* Values: text, numbers, booleans kept; objects, arrays, null skipped. */
	b = "{\"code\":0,\"verifyResult\":true,\"transactionId\":\"" TX "\",\"holderDid\":\"did:key:z6Mk1\","
	    "\"data\":[{\"credentialType\":\"a\",\"claims\":[{\"ename\":\"age\",\"value\":42},"
	    "{\"ename\":\"adult\",\"cname\":\"成年\",\"value\":true},{\"ename\":\"addr\",\"value\":{\"city\":\"x\"}},"
	    "{\"ename\":\"n\",\"value\":null},{\"ename\":\"name\",\"value\":\"王小明\"}]},"
	    "{\"credentialType\":\"b\",\"claims\":[{\"ename\":\"name\",\"value\":\"王大明\"}]}]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_OK);
	assert_int_equal(r.nclaims, 4);
	assert_int_equal(r.skipped, 2);
	assert_string_equal(wallet_claim(&r, NULL, "age"), "42");
	assert_string_equal(wallet_claim(&r, NULL, "adult"), "true");
	assert_string_equal(r.holder_did, "did:key:z6Mk1");
	/* Two credentials disagree on the name: neither is believed. */
	assert_null(wallet_claim(&r, NULL, "name"));
	assert_string_equal(wallet_claim(&r, "a", "name"), "王小明");
	wallet_result_clear(&r);
	/* Bounds: a value over 1024 bytes, a bad ename, 65 claims. */
	n = (size_t)snprintf(big, sizeof(big), "{\"code\":\"0\",\"verifyResult\":true,\"transactionId\":\"" TX "\","
	                     "\"data\":[{\"credentialType\":\"a\",\"claims\":[{\"ename\":\"x\",\"value\":\"");
	memset(big + n, 'x', 1025);
	snprintf(big + n + 1025, sizeof(big) - n - 1025, "\"}]}]}");
	assert_int_equal(wallet_parse_result(200, big, strlen(big), TX, &r), WALLET_MALFORMED);
	assert_null(r.claims);
	b = "{\"code\":\"0\",\"verifyResult\":true,\"transactionId\":\"" TX "\",\"data\":[{\"credentialType\":\"a\","
	    "\"claims\":[{\"ename\":\"x y\",\"value\":\"1\"}]}]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
	n = (size_t)snprintf(big, sizeof(big), "{\"code\":\"0\",\"verifyResult\":true,\"transactionId\":\"" TX "\","
	                     "\"data\":[{\"credentialType\":\"a\",\"claims\":[");
	for (i = 0; i < 65; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"ename\":\"c%zu\",\"value\":\"v\"}", i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}]}");
	assert_int_equal(wallet_parse_result(200, big, strlen(big), TX, &r), WALLET_MALFORMED);
	assert_null(r.claims);
	/* Too deep. */
	b = "{\"code\":\"0\",\"verifyResult\":true,\"transactionId\":\"" TX "\",\"data\":[[[[[[[[[1]]]]]]]]]}";
	assert_int_equal(wallet_parse_result(200, b, strlen(b), TX, &r), WALLET_MALFORMED);
	assert_string_equal(wallet_status_name(WALLET_EXPIRED), "expired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_parse_qrcode),
		cmocka_unit_test(test_parse_result),
		cmocka_unit_test(test_claims),
	};

	return cmocka_run_group_tests_name("wallet_proto", tests, NULL, NULL);
}

/* tests/unit/test_oidc.c — the pure pieces of the OIDC layer: PKCE S256
 * (RFC 7636 Appendix B), scope word matching, bearer secrets, the pages' text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/oidc/oidc.h"
#include "../../authd/ui.h"
#include "fixture.h"

static const char *rfc_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char *rfc_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static void pkce_rfc7636_vector(void **state)
{
	(void)state;
	assert_true(pkce_challenge_ok(rfc_challenge));
	assert_true(pkce_verify_s256(rfc_challenge, rfc_verifier));
}

static void pkce_refuses_wrong_verifier(void **state)
{
	char v[64];

	(void)state;
	strcpy(v, rfc_verifier);
	v[0] = 'e';
	assert_false(pkce_verify_s256(rfc_challenge, v));
	/* plain method: verifier equal to the challenge must not pass */
	assert_false(pkce_verify_s256(rfc_challenge, rfc_challenge));
	assert_false(pkce_verify_s256(rfc_challenge, NULL));
	assert_false(pkce_verify_s256(rfc_challenge, ""));
}

static void pkce_refuses_bad_lengths_and_chars(void **state)
{
	char v[200];

	(void)state;
	memset(v, 'a', 42);
	v[42] = '\0';
	assert_false(pkce_verify_s256(rfc_challenge, v)); /* 42 < 43 */
	memset(v, 'a', 129);
	v[129] = '\0';
	assert_false(pkce_verify_s256(rfc_challenge, v)); /* 129 > 128 */
	strcpy(v, rfc_verifier);
	v[5] = '/';
	assert_false(pkce_verify_s256(rfc_challenge, v));
	assert_false(pkce_challenge_ok("short"));
	assert_false(pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
	assert_false(pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx"));
	assert_false(pkce_challenge_ok(NULL));
}

static void scope_words(void **state)
{
	(void)state;
	assert_true(scope_has("openid profile email", "openid"));
	assert_true(scope_has("openid profile email", "email"));
	assert_true(scope_has("  openid   profile ", "profile"));
	assert_false(scope_has("openid profile", "prof"));
	assert_false(scope_has("openid profiles", "profile"));
	assert_false(scope_has("", "openid"));
	assert_false(scope_has(NULL, "openid"));
}

static void secrets_are_fresh_and_hashed(void **state)
{
	char a[OIDC_SECRET_LEN + 1], b[OIDC_SECRET_LEN + 1], ka[65], kb[65];

	(void)state;
	assert_int_equal(secret_new(a), 0);
	assert_int_equal(secret_new(b), 0);
	assert_int_equal(strlen(a), OIDC_SECRET_LEN);
	assert_string_not_equal(a, b);
	secret_key_hex(a, ka);
	secret_key_hex(b, kb);
	assert_int_equal(strlen(ka), 64);
	assert_string_not_equal(ka, kb);
	assert_null(strstr(ka, a));
	/* SHA-256("abc") */
	secret_key_hex("abc", ka);
	assert_string_equal(ka, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void ui_text_in_both_languages(void **state)
{
	(void)state;
	/* The words are share/i18n's, loaded as authd loads them at start. */
	assert_int_equal(fx_pages_load(), 0);
	assert_string_equal(ui_t("en", "login.submit"), "Sign in");
	assert_string_equal(ui_t("zh-TW", "login.submit"), "登入");
	/* unknown users and wrong passwords share one message */
	assert_non_null(strstr(ui_t("en", "login.failed"), "username or password"));
	assert_string_equal(ui_t("en", "no.such.key"), "no.such.key");
	pages_fini();
}

/* end_session's id_token_hint: an ID token of ours, expired or not; never an
 * access token or anything short of an ID token's required claims. */
static void logout_hint_is_an_id_token(void **state)
{
	static const char *const iss = "https://sso.city.example";
	static const struct {
		const char *what, *json;
		int ok;
	} cases[] = {
		{ "a current ID token", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"sid\":\"s\"}", 1 },
		{ "expired long ago", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":10,\"exp\":20}", 1 },
		{ "aud as an array", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":[\"rp\",\"x\"],\"iat\":1000,\"exp\":1300}", 1 },
		{ "nbf within the leeway", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"nbf\":1020}", 1 },
		{ "an access token's claims", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"client_id\":\"rp\",\"scope\":\"openid\",\"jti\":\"f.x\",\"sid\":\"s\"}", 0 },
		{ "client_id alone", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"client_id\":\"rp\"}", 0 },
		{ "scope alone", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"scope\":\"openid\"}", 0 },
		{ "another issuer", "{\"iss\":\"https://sso.city.example/\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300}", 0 },
		{ "no sub", "{\"iss\":\"https://sso.city.example\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300}", 0 },
		{ "empty sub", "{\"iss\":\"https://sso.city.example\",\"sub\":\"\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300}", 0 },
		{ "no aud", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"iat\":1000,\"exp\":1300}", 0 },
		{ "empty aud array", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":[],\"iat\":1000,\"exp\":1300}", 0 },
		{ "aud of a number", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":[1],\"iat\":1000,\"exp\":1300}", 0 },
		{ "no exp", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000}", 0 },
		{ "exp a string", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":\"1300\"}", 0 },
		{ "no iat", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"exp\":1300}", 0 },
		{ "iat in the future", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1100,\"exp\":1300}", 0 },
		{ "nbf in the future", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"nbf\":1100}", 0 },
		{ "nbf a string", "{\"iss\":\"https://sso.city.example\",\"sub\":\"u1\",\"aud\":\"rp\",\"iat\":1000,\"exp\":1300,\"nbf\":\"1\"}", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *p = json_loads(cases[i].json, 0, NULL);

		assert_non_null(p);
		if (logout_hint_claims_ok(p, iss, 30, 1050) != cases[i].ok)
			fail_msg("%s: wanted %d", cases[i].what, cases[i].ok);
		json_decref(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pkce_rfc7636_vector),
		cmocka_unit_test(pkce_refuses_wrong_verifier),
		cmocka_unit_test(pkce_refuses_bad_lengths_and_chars),
		cmocka_unit_test(scope_words),
		cmocka_unit_test(secrets_are_fresh_and_hashed),
		cmocka_unit_test(ui_text_in_both_languages),
		cmocka_unit_test(logout_hint_is_an_id_token),
	};
	return cmocka_run_group_tests_name("oidc", tests, NULL, NULL);
}

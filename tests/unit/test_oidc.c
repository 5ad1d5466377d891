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
	assert_string_equal(ui_t("en", "login.submit"), "Sign in");
	assert_string_equal(ui_t("zh-TW", "login.submit"), "登入");
	/* unknown users and wrong passwords share one message */
	assert_non_null(strstr(ui_t("en", "login.failed"), "username or password"));
	assert_string_equal(ui_t("en", "no.such.key"), "no.such.key");
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
	};
	return cmocka_run_group_tests_name("oidc", tests, NULL, NULL);
}

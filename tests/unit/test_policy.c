/* tests/unit/test_policy.c — one test per assurance-level rule and for the
 * acr/amr names that go into tokens (authd/policy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/config.h"
#include "../../authd/policy.h"
#include "../../modules/method.h"

#define HW_PR (PROP_PHISHING_RESISTANT | PROP_HARDWARE)

static void
test_nothing_is_level_0(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(0, 0, 0), AAL_NONE);
	/* amr bits without a proven factor prove nothing */
	assert_int_equal(policy_level_of(AMR_PWD, 0, 0), AAL_NONE);
	assert_int_equal(policy_level_of(AMR_HWK | AMR_USER, 0, HW_PR), AAL_NONE);
}

static void
test_password_only_is_aal1(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_PWD, FACTOR_KNOW, 0), AAL1);
}

static void
test_otp_only_is_aal1(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_OTP, FACTOR_HAVE, 0), AAL1);
}

static void
test_pwd_and_otp_is_aal2(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_PWD | AMR_OTP, FACTOR_KNOW | FACTOR_HAVE, 0), AAL2);
}

static void
test_same_factor_twice_stays_aal1(void **state)
{
	(void)state;
	/* two KNOW methods are still one factor */
	assert_int_equal(policy_level_of(AMR_PWD | AMR_PIN, FACTOR_KNOW, 0), AAL1);
}

static void
test_hwk_without_uv_is_aal1(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_HWK, FACTOR_HAVE, HW_PR), AAL1);
}

static void
test_hwk_with_uv_is_aal3(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_HWK | AMR_USER, FACTOR_HAVE | FACTOR_ARE, HW_PR), AAL3);
	assert_int_equal(policy_level_of(AMR_HWK | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW, HW_PR), AAL3);
}

static void
test_password_plus_hardware_key_is_aal2(void **state)
{
	(void)state;
	/* The city's rule (DESIGN.md, issue 4): AAL3 needs the key itself to verify
	 * the person; a password plus a key without user verification is AAL2,
	 * stricter than SP 800-63B §4.3.1 allows. */
	assert_int_equal(policy_level_of(AMR_PWD | AMR_HWK, FACTOR_KNOW | FACTOR_HAVE, HW_PR), AAL2);
	/* with user verification on the key, the same pair is AAL3 */
	assert_int_equal(policy_level_of(AMR_PWD | AMR_HWK | AMR_USER,
	    FACTOR_KNOW | FACTOR_HAVE | FACTOR_ARE, HW_PR), AAL3);
}

static void
test_citizen_card_with_pin_is_aal3(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_SC | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW, HW_PR), AAL3);
}

static void
test_software_passkey_with_uv_is_aal2(void **state)
{
	(void)state;
	/* phishing-resistant but not hardware: not AAL3 */
	assert_int_equal(policy_level_of(AMR_SWK | AMR_USER, FACTOR_HAVE | FACTOR_ARE,
	    PROP_PHISHING_RESISTANT), AAL2);
}

static void
test_hardware_not_phishing_resistant_is_not_aal3(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_PWD | AMR_OTP, FACTOR_KNOW | FACTOR_HAVE,
	    PROP_HARDWARE), AAL2);
	assert_int_equal(policy_level_of(AMR_PWD | AMR_OTP, FACTOR_KNOW | FACTOR_HAVE,
	    PROP_PHISHING_RESISTANT), AAL2);
}

static void
test_multifactor_authenticator_is_aal2(void **state)
{
	(void)state;
	/* a HAVE authenticator unlocked by PIN or on-device verification */
	assert_int_equal(policy_level_of(AMR_SWK | AMR_USER, FACTOR_HAVE, 0), AAL2);
	assert_int_equal(policy_level_of(AMR_SC | AMR_PIN, FACTOR_HAVE, 0), AAL2);
}

static void
test_user_or_pin_without_have_is_aal1(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_USER, FACTOR_ARE, 0), AAL1);
	assert_int_equal(policy_level_of(AMR_PIN, FACTOR_KNOW, HW_PR), AAL1);
}

static void
test_hardware_without_second_factor_is_not_aal3(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_HWK | AMR_OTP, FACTOR_HAVE, HW_PR), AAL1);
}

static void
test_acr_names(void **state)
{
	(void)state;
	assert_string_equal(policy_acr_name(AAL1), "aal1");
	assert_string_equal(policy_acr_name(AAL2), "aal2");
	assert_string_equal(policy_acr_name(AAL3), "aal3");
	assert_null(policy_acr_name(0));
	assert_null(policy_acr_name(4));
	assert_null(policy_acr_name(-1));
	assert_int_equal(policy_acr_level("aal1"), AAL1);
	assert_int_equal(policy_acr_level("aal3"), AAL3);
	assert_int_equal(policy_acr_level("AAL3"), AAL_NONE);
	assert_int_equal(policy_acr_level("aal4"), AAL_NONE);
	assert_int_equal(policy_acr_level(""), AAL_NONE);
	assert_int_equal(policy_acr_level(NULL), AAL_NONE);
}

/* Compares a JSON array of strings with a space-separated expectation. */
static void
assert_amr(json_t *a, const char *want)
{
	char got[128] = "";
	size_t i;

	assert_non_null(a);
	assert_true(json_is_array(a));
	for (i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		assert_non_null(s);
		if (i > 0)
			strcat(got, " ");
		strcat(got, s);
	}
	assert_string_equal(got, want);
	json_decref(a);
}

static void
test_amr_json(void **state)
{
	(void)state;
	assert_amr(policy_amr_json(0, 0), "");
	assert_amr(policy_amr_json(AMR_PWD, FACTOR_KNOW), "pwd");
	assert_amr(policy_amr_json(AMR_OTP | AMR_PWD, FACTOR_KNOW | FACTOR_HAVE), "pwd otp mfa");
	assert_amr(policy_amr_json(AMR_HWK | AMR_USER, FACTOR_HAVE | FACTOR_ARE), "hwk user mfa");
	assert_amr(policy_amr_json(AMR_SC | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW), "sc pin mfa");
	/* one factor: no "mfa" even with two methods of it */
	assert_amr(policy_amr_json(AMR_PWD | AMR_PIN, FACTOR_KNOW), "pwd pin");
	/* an explicit mfa bit is named once */
	assert_amr(policy_amr_json(AMR_SWK | AMR_MFA, FACTOR_HAVE | FACTOR_ARE), "swk mfa");
	assert_amr(policy_amr_json(0xffffffffu, 0), "pwd otp hwk swk sc pin user mfa");
}

static struct conf
limits(void)
{
	struct conf c;

	memset(&c, 0, sizeof(c));
	c.session_ttl = 43200;
	c.session_idle = 3600;
	c.aal2_max_s = 43200;
	c.aal2_idle_s = 1800;
	c.aal3_max_s = 43200;
	c.aal3_idle_s = 900;
	return c;
}

/* AAL3 holds 15 min idle, AAL2 30 min (NIST SP 800-63B §4.2.3, §4.3.3). */
static void
test_effective_level_decays_with_idle_time(void **state)
{
	struct conf c = limits();
	const int64_t t0 = 1700000000;

	(void)state;
	assert_int_equal(policy_effective_level(&c, AAL3, t0, t0 + 100, t0, t0 + 100 + 900), AAL3);
	assert_int_equal(policy_effective_level(&c, AAL3, t0, t0 + 100, t0, t0 + 100 + 901), AAL2);
	assert_int_equal(policy_effective_level(&c, AAL3, t0, t0 + 100, t0, t0 + 100 + 1801), AAL1);
	assert_int_equal(policy_effective_level(&c, AAL2, t0, t0, t0, t0 + 1800), AAL2);
	assert_int_equal(policy_effective_level(&c, AAL2, t0, t0, t0, t0 + 1801), AAL1);
	assert_int_equal(policy_effective_level(&c, AAL1, t0, t0, t0, t0 + 3600), AAL1);
	assert_int_equal(policy_effective_level(&c, AAL1, t0, t0, t0, t0 + 3601), AAL_NONE);
}

static void
test_effective_level_decays_with_age(void **state)
{
	struct conf c = limits();
	const int64_t t0 = 1700000000, late = t0 + 43201;

	(void)state;
	/* used a minute ago, but signed in more than 12 h ago */
	assert_int_equal(policy_effective_level(&c, AAL3, t0, late - 60, t0, late), AAL_NONE);
	c.session_ttl = 86400;
	assert_int_equal(policy_effective_level(&c, AAL3, t0, late - 60, t0, late), AAL1);
	assert_int_equal(policy_effective_level(&c, AAL_NONE, t0, t0, t0, t0), AAL_NONE);
}

static void
test_acr_names_are_configurable(void **state)
{
	struct conf c = limits();

	(void)state;
	c.acr_aal2 = "urn:city:aal2";
	policy_configure(&c);
	assert_string_equal(policy_acr_name(AAL2), "urn:city:aal2");
	assert_int_equal(policy_acr_level("urn:city:aal2"), AAL2);
	assert_int_equal(policy_acr_level("aal2"), AAL_NONE);
	assert_string_equal(policy_acr_name(AAL1), "aal1");
	c.acr_aal2 = "aal2";
	policy_configure(&c);
	assert_string_equal(policy_acr_name(AAL2), "aal2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_is_level_0),
		cmocka_unit_test(test_password_only_is_aal1),
		cmocka_unit_test(test_otp_only_is_aal1),
		cmocka_unit_test(test_pwd_and_otp_is_aal2),
		cmocka_unit_test(test_same_factor_twice_stays_aal1),
		cmocka_unit_test(test_hwk_without_uv_is_aal1),
		cmocka_unit_test(test_hwk_with_uv_is_aal3),
		cmocka_unit_test(test_password_plus_hardware_key_is_aal2),
		cmocka_unit_test(test_citizen_card_with_pin_is_aal3),
		cmocka_unit_test(test_software_passkey_with_uv_is_aal2),
		cmocka_unit_test(test_hardware_not_phishing_resistant_is_not_aal3),
		cmocka_unit_test(test_multifactor_authenticator_is_aal2),
		cmocka_unit_test(test_user_or_pin_without_have_is_aal1),
		cmocka_unit_test(test_hardware_without_second_factor_is_not_aal3),
		cmocka_unit_test(test_acr_names),
		cmocka_unit_test(test_amr_json),
		cmocka_unit_test(test_effective_level_decays_with_idle_time),
		cmocka_unit_test(test_effective_level_decays_with_age),
		cmocka_unit_test(test_acr_names_are_configurable),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}

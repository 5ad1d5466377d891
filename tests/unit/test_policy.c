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
/* one such authenticator that verified the person itself */
#define HW_PR_UV (HW_PR | PROP_HW_VERIFIED)

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
	assert_int_equal(policy_level_of(AMR_HWK | AMR_USER, FACTOR_HAVE | FACTOR_ARE, HW_PR_UV), AAL3);
	assert_int_equal(policy_level_of(AMR_HWK | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW, HW_PR_UV), AAL3);
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
	    FACTOR_KNOW | FACTOR_HAVE | FACTOR_ARE, HW_PR_UV), AAL3);
}

static void
test_citizen_card_with_pin_is_aal3(void **state)
{
	(void)state;
	assert_int_equal(policy_level_of(AMR_SC | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW, HW_PR_UV), AAL3);
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


/* ---- the rule for changes to a person's credentials ---- */

/* What credentials show, as the methods report them (their reach callbacks). */
static const struct policy_cred C_PWD = { AMR_PWD, FACTOR_KNOW, 0 };
static const struct policy_cred C_OTP = { AMR_OTP, FACTOR_HAVE, 0 };
static const struct policy_cred C_PASSKEY_UV = { AMR_SWK | AMR_USER | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW,
	PROP_PHISHING_RESISTANT | PROP_REPLAY_RESISTANT };
static const struct policy_cred C_PASSKEY = { AMR_SWK, FACTOR_HAVE,
	PROP_PHISHING_RESISTANT | PROP_REPLAY_RESISTANT };
static const struct policy_cred C_KEY_UV = { AMR_HWK | AMR_USER | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW,
	HW_PR_UV | PROP_REPLAY_RESISTANT };
static const struct policy_cred C_KEY = { AMR_HWK, FACTOR_HAVE, HW_PR | PROP_REPLAY_RESISTANT };
static const struct policy_cred C_CARD_SIGN = { AMR_SC | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW,
	PROP_HARDWARE };
static const struct policy_cred C_CARD_TLS = { AMR_SC | AMR_PIN, FACTOR_HAVE | FACTOR_KNOW, HW_PR_UV };

static const int64_t T0 = 1700000000;

/* AAL3 is a property of ONE authenticator (DESIGN.md: phishing-resistant
 * hardware that itself verified the person), never of a mix: a card's
 * challenge signature (hardware, PIN, but phishable) plus a software passkey
 * with UV (phishing-resistant, not hardware), or a hardware key without UV plus
 * a passkey with UV, are AAL2. Found while merging issue 11's items 1 and 3. */
static void
test_aal3_from_one_authenticator_only(void **state)
{
	struct policy_cred mixed[2][2] = { { C_CARD_SIGN, C_PASSKEY_UV }, { C_KEY, C_PASSKEY_UV } };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct policy_cred a = mixed[i][0], b = mixed[i][1];

		assert_int_equal(policy_level_of(a.amr | b.amr, a.factors | b.factors, a.props | b.props),
		    AAL2);
		assert_int_equal(policy_reachable_level(mixed[i], 2), AAL2);
	}
	/* each of the real AAL3 authenticators alone, and with anything else */
	assert_int_equal(policy_level_of(C_KEY_UV.amr, C_KEY_UV.factors, C_KEY_UV.props), AAL3);
	assert_int_equal(policy_level_of(C_CARD_TLS.amr | C_PWD.amr, C_CARD_TLS.factors | C_PWD.factors,
	    C_CARD_TLS.props | C_PWD.props), AAL3);
}


/* A session that showed cred(s) at T0 and was last used at T0 + idle. */
static struct policy_session
sess(struct policy_cred a, struct policy_cred b, int64_t idle)
{
	struct policy_session s = { a.amr | b.amr, a.factors | b.factors, a.props | b.props,
		                    T0, T0 + idle, T0 };

	return s;
}

static const struct policy_cred NONE = { 0, 0, 0 };

#define REACH(...) policy_reachable_level((const struct policy_cred[]){ __VA_ARGS__ }, \
	sizeof((const struct policy_cred[]){ __VA_ARGS__ }) / sizeof(struct policy_cred))
#define NEEDS(c, s, now, ...) policy_change_needs(c, s, (const struct policy_cred[]){ __VA_ARGS__ }, \
	sizeof((const struct policy_cred[]){ __VA_ARGS__ }) / sizeof(struct policy_cred), now)

/* The level an account reaches is the level of everything its credentials
 * can show together in one sign-in. */
static void
test_reachable_level(void **state)
{
	(void)state;
	assert_int_equal(policy_reachable_level(NULL, 0), AAL_NONE);
	assert_int_equal(REACH(C_PWD), AAL1);
	assert_int_equal(REACH(C_OTP), AAL1);
	assert_int_equal(REACH(C_PWD, C_OTP), AAL2);
	assert_int_equal(REACH(C_PASSKEY_UV), AAL2);
	assert_int_equal(REACH(C_PWD, C_PASSKEY_UV), AAL2);
	assert_int_equal(REACH(C_PASSKEY), AAL1);
	assert_int_equal(REACH(C_PWD, C_PASSKEY), AAL2);
	assert_int_equal(REACH(C_KEY_UV), AAL3);
	assert_int_equal(REACH(C_PWD, C_OTP, C_KEY_UV), AAL3);
	/* a key without UV after a password: AAL2, the city's rule */
	assert_int_equal(REACH(C_PWD, C_KEY), AAL2);
	assert_int_equal(REACH(C_CARD_SIGN), AAL2);
	assert_int_equal(REACH(C_PWD, C_CARD_SIGN), AAL2);
	assert_int_equal(REACH(C_CARD_TLS), AAL3);
	assert_int_equal(REACH(C_PWD, C_OTP, C_CARD_TLS), AAL3);
	/* a UV passkey then a key without UV in one sign-in: what the session would hold */
	assert_int_equal(REACH(C_PASSKEY_UV, C_KEY), policy_level_of(C_PASSKEY_UV.amr | C_KEY.amr,
	    C_PASSKEY_UV.factors | C_KEY.factors, C_PASSKEY_UV.props | C_KEY.props));
	/* order does not matter */
	assert_int_equal(REACH(C_KEY_UV, C_PWD), REACH(C_PWD, C_KEY_UV));
}

/* An account with only a password reaches AAL1: a password session may add its
 * first second factor (nothing stronger to protect). */
static void
test_change_password_only_account(void **state)
{
	struct conf c = limits();
	struct policy_session pw = sess(C_PWD, NONE, 0);

	(void)state;
	assert_int_equal(NEEDS(&c, &pw, T0 + 60, C_PWD), AAL_NONE);
	/* ... within the session's limits only */
	assert_int_equal(NEEDS(&c, &pw, T0 + 3601, C_PWD), AAL1);
	/* a stronger session may too */
	pw = sess(C_PWD, C_OTP, 0);
	assert_int_equal(NEEDS(&c, &pw, T0 + 60, C_PWD), AAL_NONE);
	/* no session at all: a sign-in */
	assert_int_equal(NEEDS(&c, NULL, T0, C_PWD), AAL1);
	/* an account with nothing usable (its only card expired) still needs one */
	pw = sess(C_PWD, NONE, 0);
	assert_int_equal(policy_change_needs(&c, &pw, NULL, 0, T0 + 60), AAL_NONE);
	assert_int_equal(policy_change_needs(&c, NULL, NULL, 0, T0 + 60), AAL1);
}

/* The review's finding: the account reaches AAL2 with a passkey (or a card) and
 * has no TOTP; the password alone must not add the thief's TOTP. */
static void
test_change_needs_the_reachable_level(void **state)
{
	struct conf c = limits();
	struct policy_session pw = sess(C_PWD, NONE, 0), two = sess(C_PWD, C_OTP, 0);
	struct policy_session pk = sess(C_PASSKEY_UV, NONE, 0), card = sess(C_CARD_SIGN, NONE, 0);
	struct policy_session key = sess(C_KEY_UV, NONE, 0), tls = sess(C_CARD_TLS, NONE, 0);

	(void)state;
	assert_int_equal(NEEDS(&c, &pw, T0 + 60, C_PWD, C_PASSKEY_UV), AAL2);
	assert_int_equal(NEEDS(&c, &pk, T0 + 60, C_PWD, C_PASSKEY_UV), AAL_NONE);
	assert_int_equal(NEEDS(&c, &pw, T0 + 60, C_PWD, C_CARD_SIGN), AAL2);
	assert_int_equal(NEEDS(&c, &card, T0 + 60, C_PWD, C_CARD_SIGN), AAL_NONE);
	/* password + TOTP: AAL2 */
	assert_int_equal(NEEDS(&c, &pw, T0 + 60, C_PWD, C_OTP), AAL2);
	assert_int_equal(NEEDS(&c, &two, T0 + 60, C_PWD, C_OTP), AAL_NONE);
	/* a hardware key with UV, or the card over TLS: AAL3, and AAL2 is not enough */
	assert_int_equal(NEEDS(&c, &two, T0 + 60, C_PWD, C_OTP, C_KEY_UV), AAL3);
	assert_int_equal(NEEDS(&c, &key, T0 + 60, C_PWD, C_OTP, C_KEY_UV), AAL_NONE);
	assert_int_equal(NEEDS(&c, &card, T0 + 60, C_PWD, C_CARD_TLS), AAL3);
	assert_int_equal(NEEDS(&c, &tls, T0 + 60, C_PWD, C_CARD_TLS), AAL_NONE);
	/* the other strong method serves as well as the one being changed */
	assert_int_equal(NEEDS(&c, &tls, T0 + 60, C_PWD, C_KEY_UV, C_CARD_TLS), AAL_NONE);
	assert_int_equal(NEEDS(&c, &pk, T0 + 60, C_PWD, C_PASSKEY_UV, C_OTP), AAL_NONE);
	assert_int_equal(NEEDS(&c, &two, T0 + 60, C_PWD, C_PASSKEY_UV, C_OTP), AAL_NONE);
}

/* Fresh means within the held level's reauthentication limits: a session
 * whose level lapsed is under the level again. */
static void
test_change_needs_a_fresh_level(void **state)
{
	struct conf c = limits();
	struct policy_session two = sess(C_PWD, C_OTP, 0), key = sess(C_KEY_UV, NONE, 0);

	(void)state;
	/* AAL2: 30 min idle, 12 h since the sign-in */
	assert_int_equal(NEEDS(&c, &two, T0 + 1800, C_PWD, C_OTP), AAL_NONE);
	assert_int_equal(NEEDS(&c, &two, T0 + 1801, C_PWD, C_OTP), AAL2);
	two = sess(C_PWD, C_OTP, 43000);
	assert_int_equal(NEEDS(&c, &two, T0 + 43200, C_PWD, C_OTP), AAL_NONE);
	assert_int_equal(NEEDS(&c, &two, T0 + 43201, C_PWD, C_OTP), AAL2);
	/* AAL3: 15 min idle — then it holds AAL2, which serves an AAL2 account only */
	assert_int_equal(NEEDS(&c, &key, T0 + 900, C_PWD, C_KEY_UV), AAL_NONE);
	assert_int_equal(NEEDS(&c, &key, T0 + 901, C_PWD, C_KEY_UV), AAL3);
	assert_int_equal(NEEDS(&c, &key, T0 + 901, C_PWD, C_PASSKEY_UV), AAL_NONE);
	/* configured limits are the ones applied */
	c.aal3_idle_s = 60;
	assert_int_equal(NEEDS(&c, &key, T0 + 61, C_PWD, C_KEY_UV), AAL3);
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

/* The person's preference: once a second factor is enrolled (the account
 * reaches AAL2 or more), every sign-in reaches AAL2 even for an AAL1 app;
 * turned off, or with nothing but a password, the app's level decides; never
 * less than the app asks, never more than AAL2 because of the preference. */
static void
test_signin_level_asks_second_factor(void **state)
{
	(void)state;
	/* TOTP enrolled, preference on (the default): asked at an AAL1 app. */
	assert_int_equal(policy_signin_level(AAL1, AAL2, 1), AAL2);
	assert_int_equal(policy_signin_level(AAL1, AAL3, 1), AAL2);
	/* Turned off: the password alone for an AAL1 app. */
	assert_int_equal(policy_signin_level(AAL1, AAL2, 0), AAL1);
	/* Password only: nothing to ask. */
	assert_int_equal(policy_signin_level(AAL1, AAL1, 1), AAL1);
	assert_int_equal(policy_signin_level(AAL1, AAL_NONE, 1), AAL1);
	/* The app's own level stays whatever the preference. */
	assert_int_equal(policy_signin_level(AAL3, AAL3, 1), AAL3);
	assert_int_equal(policy_signin_level(AAL3, AAL3, 0), AAL3);
	assert_int_equal(policy_signin_level(AAL2, AAL1, 0), AAL2);
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
		cmocka_unit_test(test_reachable_level),
		cmocka_unit_test(test_aal3_from_one_authenticator_only),
		cmocka_unit_test(test_change_password_only_account),
		cmocka_unit_test(test_change_needs_the_reachable_level),
		cmocka_unit_test(test_change_needs_a_fresh_level),
		cmocka_unit_test(test_signin_level_asks_second_factor),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}

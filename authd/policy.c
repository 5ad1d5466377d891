/* authd/policy.c — decides the assurance level a session has reached and how it
 * is named in tokens (acr, amr). Methods only report what they proved; every
 * level decision in authd goes through policy_level_of(). */
#include "policy.h"

#include <string.h>

#include "../modules/method.h"
#include "config.h"

static int
popcount3(unsigned factors)
{
	factors &= FACTOR_KNOW | FACTOR_HAVE | FACTOR_ARE;
	return (int)((factors & FACTOR_KNOW) != 0) + (int)((factors & FACTOR_HAVE) != 0) +
	    (int)((factors & FACTOR_ARE) != 0);
}

int
policy_level_of(unsigned amr, unsigned factors, unsigned props)
{
	unsigned other = FACTOR_KNOW | FACTOR_ARE;
	int nfactors = popcount3(factors);

	if (nfactors == 0)
		return AAL_NONE;	/* an amr without a factor proves nothing */
	/* AAL3 (DESIGN.md, the city's rule): ONE hardware, phishing-resistant
	 * authenticator that itself verified the person (user verification or
	 * PIN on the key or card) — PROP_HW_VERIFIED, which a method sets for that
	 * one authenticator; the bits of several (a card's phishable signature and
	 * a software passkey) never add up to it. SP 800-63B §4.3.1 would also
	 * count a password plus a key without user verification; the city
	 * deliberately does not: that pair is AAL2 (the password is the phishable
	 * half). */
	if ((props & PROP_HW_VERIFIED) && (factors & FACTOR_HAVE) && (factors & other) &&
	    (amr & (AMR_USER | AMR_PIN)))
		return AAL3;
	if (nfactors >= 2)
		return AAL2;
	/* A multi-factor authenticator: something you have, unlocked by a PIN or
	 * by user verification on the device itself. */
	if ((factors & FACTOR_HAVE) && (amr & (AMR_USER | AMR_PIN)))
		return AAL2;
	return AAL1;
}

/* Set once at start (policy_configure) before any thread reads them. */
static const char *acr_names[] = { NULL, "aal1", "aal2", "aal3" };

void
policy_configure(const struct conf *c)
{
	if (c->acr_aal1 && *c->acr_aal1)
		acr_names[AAL1] = c->acr_aal1;
	if (c->acr_aal2 && *c->acr_aal2)
		acr_names[AAL2] = c->acr_aal2;
	if (c->acr_aal3 && *c->acr_aal3)
		acr_names[AAL3] = c->acr_aal3;
}

int
policy_effective_level(const struct conf *c, int level, int64_t auth_time, int64_t last_seen,
                       int64_t created, int64_t now)
{
	int64_t age = now - auth_time, idle = now - last_seen;

	if (level >= AAL3 && (age > c->aal3_max_s || idle > c->aal3_idle_s))
		level = AAL2;
	if (level >= AAL2 && (age > c->aal2_max_s || idle > c->aal2_idle_s))
		level = AAL1;
	if (level >= AAL1 && (now - created > c->session_ttl || idle > c->session_idle))
		level = AAL_NONE;
	return level;
}

const char *
policy_acr_name(int level)
{
	if (level < AAL1 || level > AAL3)
		return NULL;
	return acr_names[level];
}

int
policy_acr_level(const char *acr)
{
	int i;

	if (acr == NULL)
		return AAL_NONE;
	for (i = AAL1; i <= AAL3; i++)
		if (strcmp(acr, acr_names[i]) == 0)
			return i;
	return AAL_NONE;
}

int
policy_reachable_level(const struct policy_cred *creds, size_t n)
{
	unsigned amr = 0, factors = 0, props = 0;
	size_t i;

	for (i = 0; creds != NULL && i < n; i++) {
		amr |= creds[i].amr;
		factors |= creds[i].factors;
		props |= creds[i].props;
	}
	/* policy_level_of only rises with more bits, so no subset does better. */
	return policy_level_of(amr, factors, props);
}

int
policy_change_needs(const struct conf *c, const struct policy_session *s,
                    const struct policy_cred *creds, size_t n, int64_t now)
{
	int need = policy_reachable_level(creds, n), held;

	/* An account with nothing usable (its only card expired) still needs a
	 * signed-in person. */
	if (need < AAL1)
		need = AAL1;
	if (c == NULL || s == NULL)
		return need;
	held = policy_effective_level(c, policy_level_of(s->amr, s->factors, s->props),
	    s->auth_time, s->last_seen, s->created, now);
	return held >= need ? AAL_NONE : need;
}

int
policy_signin_level(int required, int reachable, int ask_second)
{
	if (ask_second && reachable >= AAL2 && required < AAL2)
		return AAL2;
	return required;
}

/* RFC 8176 §2 names, in the order they appear in tokens. */
static const struct {
	unsigned bit;
	const char *name;
} amr_names[] = {
	{ AMR_PWD, "pwd" }, { AMR_OTP, "otp" }, { AMR_HWK, "hwk" }, { AMR_SWK, "swk" },
	{ AMR_SC, "sc" },   { AMR_PIN, "pin" }, { AMR_USER, "user" },
};

json_t *
policy_amr_json(unsigned amr, unsigned factors)
{
	json_t *a;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(amr_names) / sizeof(amr_names[0]); i++) {
		if (!(amr & amr_names[i].bit))
			continue;
		if (json_array_append_new(a, json_string(amr_names[i].name)) != 0)
			goto fail;
	}
	if ((amr & AMR_MFA) || popcount3(factors) >= 2) {
		if (json_array_append_new(a, json_string("mfa")) != 0)
			goto fail;
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

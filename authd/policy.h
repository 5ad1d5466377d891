/* authd/policy.h — the single place that decides assurance levels
 * (DESIGN.md "Assurance levels", NIST SP 800-63B) and names them in tokens. */
#ifndef AUTHD_POLICY_H
#define AUTHD_POLICY_H

#include <jansson.h>

#define AAL_NONE 0
#define AAL1 1
#define AAL2 2
#define AAL3 3

/* Level reached by what a session has shown (AMR_*, FACTOR_*, PROP_* bits from
 * modules/method.h, accumulated over the session):
 *   AAL1 any one method;
 *   AAL2 two different factors, or one multi-factor authenticator (amr has
 *        AMR_USER or AMR_PIN together with a HAVE factor);
 *   AAL3 a phishing-resistant hardware authenticator with user verification
 *        (PROP_PHISHING_RESISTANT|PROP_HARDWARE, FACTOR_HAVE plus KNOW or ARE).
 * 0 when nothing was shown. */
int policy_level_of(unsigned amr, unsigned factors, unsigned props);

/* "aal1", "aal2", "aal3" for levels 1..3; NULL otherwise. */
const char *policy_acr_name(int level);
/* Level named by acr ("aal1".."aal3"), or 0 when unknown. */
int policy_acr_level(const char *acr);

/* RFC 8176 amr array (new reference) for the bit set, in a fixed order; adds
 * "mfa" when two or more factors were shown. NULL on allocation failure. */
json_t *policy_amr_json(unsigned amr, unsigned factors);

#endif

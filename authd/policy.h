/* authd/policy.h — the single place that decides assurance levels
 * (DESIGN.md "Assurance levels", NIST SP 800-63B) and names them in tokens. */
#ifndef AUTHD_POLICY_H
#define AUTHD_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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
 *        (PROP_HW_VERIFIED: one phishing-resistant hardware authenticator
 *        that verified the person itself; FACTOR_HAVE plus KNOW or ARE).
 * 0 when nothing was shown. */
int policy_level_of(unsigned amr, unsigned factors, unsigned props);

struct conf;
/* Takes the acr names from [policy] (call once at start, before threads). */
void policy_configure(const struct conf *c);
/* The level a session still holds now: a level whose reauthentication limits
 * ([policy] aalN_max_s / aalN_idle_s; [tokens] session_ttl / session_idle for
 * AAL1) have passed drops to the next one down; AAL_NONE means the session is over. */
int policy_effective_level(const struct conf *c, int level, int64_t auth_time, int64_t last_seen,
                           int64_t created, int64_t now);

/* "aal1", "aal2", "aal3" for levels 1..3 (or the configured names); NULL otherwise. */
const char *policy_acr_name(int level);
/* Level named by acr ("aal1".."aal3"), or 0 when unknown. */
int policy_acr_level(const char *acr);

/* ---- the rule for changes to a person's credentials ----
 *
 * Every change to how a person signs in — adding, removing or renaming a TOTP
 * authenticator, a passkey or security key, a citizen card; new recovery codes;
 * a new password; any later method — goes through policy_change_needs(): the
 * session must hold NOW (within its level's reauthentication limits) the
 * highest level the account can reach with the credentials it has before the
 * change. A stolen password alone (AAL1) therefore changes nothing on an account
 * that can do better; an account with only a password (AAL1) may add its first
 * second factor from a password session. authd/account.c applies it to every
 * account action (account_change_allowed). */

/* What one credential, or all of one method's credentials together, can show
 * at a sign-in: the AMR_*, FACTOR_* and PROP_* bits a proof would carry. */
struct policy_cred {
	unsigned amr, factors, props;
};

/* The highest level one sign-in can reach with these credentials. A sign-in may
 * use several of them in turn (each step adds its proof, as a step-up does), so
 * it is the level of everything they show together. AAL_NONE for none. */
int policy_reachable_level(const struct policy_cred *creds, size_t n);

/* A session as the rule sees it: everything it has shown, and its clock. */
struct policy_session {
	unsigned amr, factors, props;
	int64_t auth_time, last_seen, created;
};

/* The rule. creds: the account's usable credentials before the change (what
 * methods_reach() collects). Returns AAL_NONE when the session may make the
 * change now, else the level it must step up to (AAL1..AAL3). Pure: no store,
 * no clock but now. */
int policy_change_needs(const struct conf *c, const struct policy_session *s,
                        const struct policy_cred *creds, size_t n, int64_t now);

/* ---- the level one sign-in must reach ----
 *
 * required: what the app asks (its min_aal, acr_values, a step-up); reachable:
 * the highest level the person's account can reach (policy_reachable_level
 * over methods_reach); ask_second: the person's preference "ask my second
 * factor at every sign-in" (user_asks_second_factor: on by default). When the
 * preference is on and the account has a second factor (reachable AAL2 or
 * more), every sign-in must reach at least AAL2 — a person who enrolled TOTP or
 * a key is asked it even by an AAL1 app; never more than the app asks beyond
 * AAL2. Otherwise the app's level. Pure. */
int policy_signin_level(int required, int reachable, int ask_second);

/* RFC 8176 amr array (new reference) for the bit set, in a fixed order; adds
 * "mfa" when two or more factors were shown. NULL on allocation failure. */
json_t *policy_amr_json(unsigned amr, unsigned factors);

#endif

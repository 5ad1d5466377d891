/* modules/method.h — the authentication-method interface (DESIGN.md).
 *
 * One file per method fills one struct authd_method; methods.c lists them in one
 * NULL-terminated table. A method only proves things about a person (struct
 * proof); it never issues tokens and never decides assurance levels — the policy
 * (authd/policy.h) does. */
#ifndef AUTHD_METHOD_H
#define AUTHD_METHOD_H

#include <jansson.h>

#include "../authd/policy.h"
#include "../authd/status.h"
#include "../authd/store.h"
#include "../lib/form.h"
#include "../lib/tmpl.h"	/* TXT(): catalogue keys */

struct authd;
struct conf;

/* What one success proves (factors). */
#define FACTOR_KNOW 1u
#define FACTOR_HAVE 2u
#define FACTOR_ARE  4u
/* Properties of the authenticator. */
#define PROP_PHISHING_RESISTANT 1u
#define PROP_HARDWARE           2u
#define PROP_REPLAY_RESISTANT   4u
/* One authenticator that is phishing-resistant hardware AND itself verified the
 * person (UV or PIN on the key or card): on its own, AAL3. Set by the method for
 * that single authenticator, never derived from a mix of several (a card's
 * phishable signature plus a software passkey is not one such authenticator). */
#define PROP_HW_VERIFIED        8u
/* RFC 8176 amr values, as bits. */
#define AMR_PWD  1u
#define AMR_OTP  2u
#define AMR_HWK  4u
#define AMR_SWK  8u
#define AMR_SC   16u
#define AMR_PIN  32u
#define AMR_MFA  64u
#define AMR_USER 128u

/* A login attempt as the methods see it. */
struct login {
	struct authd *authd;
	struct store_txn *txn;     /* read view valid on the calling thread */
	const char *username;      /* as typed (may be NULL for usernameless methods) */
	json_t *user;              /* user record, or NULL when no such user */
	const char *ip;
	json_t *tx;                /* the login transaction record (T_LOGINS) */
	/* The method's own state in this transaction (tx member "m:<name>"): begin()
	 * sets it (e.g. a WebAuthn challenge or a card nonce; the caller stores it
	 * with the transaction and owns it afterwards); finish() reads it (NULL when
	 * begin never ran: answer METHOD_INVALID). The caller removes it from the
	 * transaction whenever finish() ran, success or not, so a challenge is used
	 * once. */
	json_t *state;
	/* TLS client certificate of this connection (PEM, NUL-terminated), when the
	 * request came through the client-certificate listener; else NULL. */
	const char *tls_peer_cert_pem;
};

struct proof {
	char user_id[33];
	unsigned amr;              /* AMR_* bits */
	unsigned factors;          /* FACTOR_* bits shown */
	unsigned props;            /* PROP_* bits shown */
	/* Optional credential rewrite to store with the login (e.g. a rehashed
	 * password): key in T_CREDS and the new record (owned). */
	char cred_key[128];
	json_t *cred_update;
	/* The credential record as it was verified (owned). The caller stores
	 * cred_update only while the stored record still equals it, so a password
	 * changed meanwhile by an administrator is never overwritten by a rehash. */
	json_t *cred_expect;
	/* 1: the login fails unless cred_update is stored (a TOTP step or a
	 * recovery code must be consumed atomically with the login: replay guard). */
	int cred_must_update;
	/* Extra audit event to record with the login, e.g. "totp.recovery_used"
	 * (also recorded beside login.failure when the step fails). */
	char audit_event[48];
	/* Fields added to audit_event's record (owned by the caller after finish;
	 * NULL: none), e.g. the card and its account for x509.revocation_unknown. */
	json_t *audit_extra;
	/* Store changes the method needs with the step's outcome that one
	 * credential update cannot say (a key whose signature counter went back is
	 * flagged, on failure). commit runs inside the sign-in core's one atomic
	 * write that records the step — passed 1 when the step is granted, 0 when
	 * it is counted as failed — with commit_arg (owned by the proof, released
	 * with it); never for a step that is refused, malformed or not committed.
	 * finish itself never writes the store. NULL: none. */
	int (*commit)(struct store_txn *t, const json_t *arg, int passed);
	json_t *commit_arg;
	/* Optional catalogue key (share/i18n/) of the text shown instead of the
	 * generic failure message when the step fails (why a certificate was
	 * refused, how to bind a card); a static string, never HTML. */
	const char *error_key;
};

/* Method results: ST_* (authd/status.h); METHOD_* are their old names, kept
 * while callers move to ST_*. */
#define METHOD_OK      ST_OK
#define METHOD_FAIL    ST_FAIL    /* wrong answer / unknown user: one message for all */
#define METHOD_INVALID ST_INVALID /* malformed input */
#define METHOD_ERROR   ST_ERROR   /* internal error */

/* flags: METHOD_FIRST — can start a sign-in and identify the person by itself
 * (password with a username, a passkey, a citizen card); METHOD_STEP — can be
 * asked for once the person is known (TOTP, a security key after a password);
 * METHOD_STEP_CERT — asked for as a later step only over a TLS client
 * certificate (the citizen card on the client-certificate listener), and only
 * when its reach is a verified phishing-resistant hardware authenticator
 * (PROP_HW_VERIFIED) that takes the sign-in to the level asked for: the browser
 * leads the person to that listener with the same transaction. */
#define METHOD_FIRST     1u
#define METHOD_STEP      2u
#define METHOD_STEP_CERT 4u

struct account;
struct method_admin;

struct authd_method {
	const char *name;          /* "password", "totp", "webauthn", "x509" */
	unsigned factors;
	unsigned props;
	unsigned amr;              /* AMR_* bits one success shows (for choosing a step-up) */
	unsigned flags;            /* METHOD_FIRST | METHOD_STEP | METHOD_STEP_CERT */
	/* Methods whose page needs a script (WebAuthn, the card's local sign server):
	 * the catalogue key of the button label (share/i18n/) and the template that
	 * loads the script with the texts it shows (share/templates/NAME.html, the
	 * script itself a file of share/static/). The sign-in page shows a button
	 * per such method; the script takes tx/csrf from the page's form, POSTs
	 * /login/begin, and posts /login with method=<name> and its answer. NULL
	 * for plain-form methods. authd refuses to start when either is missing. */
	const char *ui_label, *ui_script;
	/* The method's section of the account page (/account): the template
	 * (share/templates/NAME.html) and the data it is rendered with.
	 * account_view fills out (an empty object, owned by the caller) from the
	 * read txn t for user_id: data, never HTML. The template also sees the
	 * page's own data (csrf: the token of the page's forms, which post to the
	 * method's own routes; step_up: a change needs a stronger sign-in first).
	 * 0, or -1 on a store error (the page is then an error). account_view NULL:
	 * the template gets no data of its own. account_template NULL: no section.
	 * A method that is not available() has no section. */
	const char *account_template;
	int (*account_view)(struct store_txn *t, const char *user_id, json_t *out);
	/* Further templates the method's own pages render (NULL-terminated);
	 * checked at start like the above. NULL: none. */
	const char *const *ui_pages;
	/* 1 when the user has a usable credential of this method (read txn). The
	 * login flow asks only for methods that are enrolled and raise the level. */
	int (*enrolled)(struct store_txn *t, const char *user_id);
	/* What the user's usable credentials of this method can show at a sign-in,
	 * together (the policy's "highest level the account can reach" and the
	 * choice of a step-up use it): a credential that cannot sign in now (a
	 * pending TOTP, a key flagged as cloned, an expired card) is left out, and so
	 * is skip (a credential id of this method, the one about to be removed;
	 * NULL: none). 1 with *out filled, 0 when none is usable. NULL: enrolled()
	 * and the static bits above. Read txn. */
	int (*reach)(struct store_txn *t, const char *user_id, const char *skip,
	             struct policy_cred *out);
	/* 0 when the method is switched off in the config: no button, no begin.
	 * NULL: always available. */
	int (*available)(void);
	int (*init)(struct authd *, const struct conf *);
	/* Runs on an event loop: must not block. login->user is the person when a
	 * first factor already identified them, NULL at the first step. Fills
	 * challenge_out (sent to the page as JSON) and sets login->state. */
	int (*begin)(struct login *, json_t *challenge_out);
	/* May block (Argon2id): always called on a worker thread. */
	int (*finish)(struct login *, const struct form *, struct proof *);
	int (*enrol_begin)(struct account *, json_t *out);
	int (*enrol_finish)(struct account *, const struct form *);
	void (*fini)(void);
	/* authd --check-config: checks the method's configuration and the files
	 * it names as init would, but creates nothing and starts nothing; 0, or
	 * -1 with the reason in err. NULL: nothing beyond the config parser. */
	int (*check)(const struct conf *, char *err, size_t errsz);
	/* The method's admin commands (authctl NOUN VERB ...) and its part of
	 * authctl init (authd/admin.h), so authctl names no method. NULL: none. */
	const struct method_admin *admin;
};

extern const struct authd_method *const authd_methods[];
const struct authd_method *method_find(const char *name);
/* What m's usable credentials of user_id can show (its reach, or its static
 * bits when enrolled); skip as for reach. 1 with *out filled, 0 when none. */
int method_reach(const struct authd_method *m, struct store_txn *t, const char *user_id,
                 const char *skip, struct policy_cred *out);
/* Every method's entry for user_id (one per method with a usable credential)
 * into out (at most max); skip_ref leaves out one credential of skip_m, or all
 * of skip_m when skip_ref is NULL (skip_m NULL: nothing left out). The count. */
size_t methods_reach(struct store_txn *t, const char *user_id, const struct authd_method *skip_m,
                     const char *skip_ref, struct policy_cred *out, size_t max);
/* The highest level user_id's account can reach (policy_reachable_level over
 * methods_reach), e.g. before and after removing one credential. */
int methods_reachable_level(struct store_txn *t, const char *user_id,
                            const struct authd_method *skip_m, const char *skip_ref);
/* Calls every method's init (then fini at exit). 0 on success. */
int methods_init(struct authd *a);
/* Every method's check (authd --check-config); 0, or -1 with err. */
int methods_check(const struct conf *c, char *err, size_t errsz);
void methods_fini(void);

#endif

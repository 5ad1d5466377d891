/* authd/signin.h — the sign-in core: one step of one sign-in, for every front end.
 *
 * A front end (the browser pages, authd/oidc/login.c; host login for PAM,
 * authd/oidc/hostlogin.c) loads its handle (a login transaction, an mfa_token),
 * fills a struct signin and calls signin_run. The core then does, in this order
 * and nowhere else:
 *   1. a place in the worker queue for the address group and the account (the
 *      CPU class for a password, the STORE class for a code, a key or a card);
 *   2. the throttle reservation, in one durable write, before any secret is
 *      looked at (the handle must still exist; the front end's own check of the
 *      request, e.g. a client assertion used once, goes into the same write);
 *   3. the method's verification (finish) on a worker, while the lease holds;
 *   4. the same-person check (a later step must prove the person of the first)
 *      and the account check (signin_person: a disabled account fails here, the
 *      one place a sign-in asks), then the policy's level and what comes next;
 *   5. one atomic durable write: the credential update the method asked for,
 *      the handle consumed or advanced, the throttle released or cleared, the
 *      front end's result (a session and a code, an mfa_token), and the audit
 *      records — the method's own event on success and on failure alike;
 *   6. front->done(s) on the poster's thread, exactly once, with s->outcome.
 * The front end renders the outcome; it decides nothing the core decides.
 *
 * Ownership: a struct signin belongs to the front end, which allocates it (in
 * its own state), keeps it alive until front->done ran, and then calls
 * signin_clear. Pointers marked "borrowed" must stay valid until then; "owned"
 * members are released by signin_clear. */
#ifndef AUTHD_SIGNIN_H
#define AUTHD_SIGNIN_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/form.h"
#include "../modules/method.h"
#include "status.h"
#include "store.h"
#include "throttle.h"
#include "users.h"
#include "work.h"

struct authd;
struct conf;
struct signin;

/* What one step came to. */
enum signin_outcome {
	SIGNIN_DONE = 1, /* the level asked for is reached: committed, signed in */
	SIGNIN_NEXT,     /* this step passed; s->next is asked for next (committed) */
	SIGNIN_UNMET,    /* this step passed; no enrolled method reaches the level (committed) */
	SIGNIN_FAILED,   /* a wrong answer, an unknown or disabled person: counted, audited */
	SIGNIN_INVALID,  /* a malformed answer: nothing judged, nothing counted */
	SIGNIN_REFUSED,  /* refused before any secret was looked at: s->st says why —
	                    ST_BUSY / ST_FULL (worker queue), ST_THROTTLED (s->th.verdict,
	                    s->th.wait), ST_EXPIRED (the handle is gone or was used),
	                    or the front end's own refusal from front->reserve */
	SIGNIN_ERROR,    /* nothing granted: s->st says why — ST_UNAVAILABLE (the check could
	                    not start while its lease held), ST_SHUTDOWN (stopping),
	                    ST_CONFLICT (a later step proved another person), a store
	                    error, or the method's ST_ERROR */
};

/* A front end: how its handle and its result are stored, and where the outcome goes. */
struct signin_front {
	const char *via; /* "via" field of the audit records ("host"), or NULL */
	/* 1: UNMET still signs the person in at the level reached (the browser:
	 * a session to enrol more); 0: UNMET grants nothing (host login). */
	int unmet_signs_in;
	/* 1: a malformed answer is counted as a wrong one (host login: a host that
	 * falls back to local passwords when authd refuses must not be able to skip
	 * the second factor with a mistyped code). The audit reason says which. */
	int invalid_counts;
	/* Only continue to a method whose amr is exactly this (host login carries
	 * one-time codes only); 0: any method the policy proposes. */
	unsigned next_amr;
	/* In the reservation's write, before the throttle: ST_OK to go on, or
	 * another status to refuse (SIGNIN_REFUSED with that st; what the hook
	 * wrote is kept). NULL: nothing. */
	int (*reserve)(struct store_txn *t, struct signin *s);
	/* In the commit of a passed step (s->outcome DONE, NEXT or UNMET), after the
	 * core's own part and before the audit record: the front end's result (a
	 * session and a code; a new mfa_token). It may add fields to s->audit.
	 * ST_OK, or a status that rolls the whole commit back. NULL: nothing. */
	int (*commit)(struct store_txn *t, struct signin *s);
	/* The outcome, on the poster's thread (or at once, from signin_run, when
	 * the step could not even be queued). Required. */
	void (*done)(struct signin *s);
};

struct signin {
	/* ---- in: set by the front end before signin_run ---- */
	const struct signin_front *front; /* borrowed */
	void *ctx;                        /* the front end's own (borrowed) */
	struct store *store;              /* borrowed */
	const struct conf *conf;          /* borrowed */
	struct authd *authd;              /* borrowed; may be NULL (tests) — methods that
	                                     still write during finish need it */
	struct work_pool *pool;           /* borrowed: the check runs in its CPU class */
	work_post_fn post;                /* where completions run (NULL: on the thread */
	void *poster;                     /* that finished the job or the write) */
	const struct authd_method *m;     /* borrowed: the method of this step */
	char uname[USERNAME_MAX + 1];     /* throttle key (signin_throttle_name); "" while
	                                     a usernameless step has not named anyone */
	json_t *user;                     /* owned: the person named so far, or NULL */
	char tx_key[65];                  /* the handle's key in T_LOGINS, "" for none */
	json_t *tx;                       /* owned: the handle's record as loaded, or NULL */
	int later_step;                   /* 1: the person is known from an earlier step */
	unsigned amr, factors, props;     /* shown so far in this sign-in */
	int required;                     /* the level to reach */
	const char *ip, *source;          /* borrowed: address, its address group */
	const char *client_id;            /* borrowed: the app, or NULL */
	const char *tls_peer_cert_pem;    /* borrowed, or NULL */
	const struct form *answer;        /* borrowed: what the person sent */

	/* ---- out ---- */
	enum signin_outcome outcome;
	int st;                          /* ST_* detail of REFUSED / ERROR; ST_OK otherwise */
	int level;                       /* the level reached (passed steps) */
	const struct authd_method *next; /* NEXT: the method to ask for */
	int spent;                       /* FAILED: the handle's attempts are used up (deleted) */
	struct proof proof;         /* the method's proof (owned parts freed by signin_clear) */
	json_t *audit;              /* owned: fields the front end adds to the final record */
	struct throttle_attempt th; /* the reservation (verdict, wait) */

	/* ---- the core's own ---- */
	int result;                      /* the method's ST_* (or late) */
	const char *reason;              /* audit reason of a failure */
	int gone;                        /* the handle disappeared during the check */
	struct throttle_attempt th_held; /* the reservation before an outcome's write */
	uint64_t deadline_ns;
	struct work_slot *slot;
};

/* Runs one step (see the top of this file); front->done(s) follows exactly once.
 * s->m, s->front, s->store, s->conf, s->pool and s->source are required. */
void signin_run(struct signin *s);
/* Releases what s owns and wipes it (the proof, the user, the handle copy). */
void signin_clear(struct signin *s);

/* The one rule for who may sign in: user_id's record into *user (owned) when
 * the account exists and is not disabled. ST_OK, ST_NOTFOUND, ST_DENIED
 * (disabled: *user stays NULL), or a store error. Front ends use it when they
 * load a handle that names a person; the core after every passed step. */
int signin_person(struct store_txn *t, const char *user_id, json_t **user);

/* The method to ask for next: enrolled, not yet used in this sign-in (its amr not
 * in amr), and raising the level — preferably to required. A METHOD_STEP_CERT
 * method (the card over TLS) only when it reaches required phishing-resistantly
 * and no METHOD_STEP method reaches it. NULL when none can. */
const struct authd_method *signin_next_method(struct store_txn *t, const char *uid, unsigned amr,
    unsigned factors, unsigned props, int required);
/* Stores a proof's credential update when the stored record is still the one that
 * was verified (write txn). ST_OK; 1 when a required update lost the race (a
 * one-time code used twice: the step must fail); or a store error. */
int signin_cred_update(struct store_txn *t, const struct proof *p);
/* The throttle key for a typed name: its normal form, or, for a name that cannot
 * exist, its lower-cased prefix (still throttled and timed like an unknown user). */
void signin_throttle_name(const char *username, char out[USERNAME_MAX + 1]);
/* The throttle reservation for one step of method m: the kind of secret it
 * checks (a password, a code, or a key / card), for account (NULL while a
 * usernameless step has not named anyone), from address group prefix, in
 * transaction tx (NULL: none), a later step or the first. Pointers borrowed. */
void signin_reserve_init(struct throttle_attempt *th, const struct authd_method *m,
    const char *account, const char *prefix, const char *tx, int later_step);

#endif

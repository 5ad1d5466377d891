/* authd/account.h — the self-service account page (/account): who is signed
 * in, their sign-in methods, TOTP enrolment, confirmation and removal, new
 * recovery codes, and their recent security events; and the two things every
 * account action of every method shares: the gate (the one step-up rule of
 * policy.c) and the record of a change (audit + the person's security event). */
#ifndef AUTHD_ACCOUNT_H
#define AUTHD_ACCOUNT_H

#include <jansson.h>

#include "http.h"
#include "store.h"

/* GET and POST /account (form body). Without a valid session it starts a
 * sign-in that returns here. */
void account_page(struct http_req *r);

/* ---- the gate of every change to a person's credentials ----
 *
 * Every account action that adds, removes or renames a credential, makes new
 * recovery codes or sets a password (the password change on /account calls
 * these two with "password.change") asks the gate first, before it reads its
 * input or writes anything, and records the change with account_change_record
 * in the write that makes it. The rule itself is policy_change_needs
 * (policy.c); the account's credentials are what methods_reach collects. */

/* AAL_NONE when the session sess (session_find's record: borrowed) may change
 * user_id's credentials now; else the level it must step up to. t: read view. */
int account_change_level(struct http_req *r, struct store_txn *t, const json_t *sess,
                         const char *user_id);

/* 1 when the session may make the change: the caller goes on. 0 when it may
 * not: then the gate has answered — a script (json_reply) gets 200
 * {"step_up":true,"level":N,"acr":"aalN"}, a browser form a sign-in at level N
 * that comes back to return_to (a local path) — and records
 * account.step_up_required (action: e.g. "totp.add") in the audit log; the
 * caller changes nothing and must not use r again. t stays open (the caller
 * ends it); sess is borrowed. */
int account_change_allowed(struct http_req *r, struct store_txn *t, const json_t *sess,
                           const char *user_id, const char *action, const char *return_to,
                           int json_reply);

/* One change, as recorded: the audit event account.<method>.<action> and the
 * person's security event (secevents.h). method: "totp", "webauthn", "x509",
 * "recovery", "password"; action: "add", "remove", "rename", "regenerate",
 * "change". */
struct account_change {
	const char *user, *username, *ip;   /* ip: where the request came from */
	const char *method, *action;
	const char *label;                  /* the credential as the person knows it, or NULL */
	const char *cred;                   /* its id for the audit record, or NULL */
	int level;                          /* the level the session held */
	const char *reason;                 /* audit detail (e.g. how a key was judged), or NULL */
};
/* Both records, in the caller's write transaction t. */
int account_change_record(struct store_txn *t, const struct account_change *c);

#endif

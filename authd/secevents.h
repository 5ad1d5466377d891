/* authd/secevents.h — a person's recent security events: every change to how
 * they sign in, made by themselves on /account or by the help desk with
 * authctl, kept on their user record so that the account page can tell them
 * "a new sign-in method was added on <date> from <address>" — announced until
 * they acknowledge it (or for SECEV_NOTICE_S), listed for SECEV_KEEP_S — as
 * Google's, Keycloak's and Kanidm's account pages show recent security events.
 *
 * Owns the user record's "security_events" (newest first) and "security_seen"
 * members (and reads the older "notice":"totp_reset"); nothing else touches
 * them. Each event is written in the same transaction as the change it reports,
 * so there is no change without its event. Mail hooks in at secevent_add once
 * authd sends mail: one message per event to the person's address, queued in
 * that same transaction. */
#ifndef AUTHD_SECEVENTS_H
#define AUTHD_SECEVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SECEV_MAX 20                    /* kept per person */
#define SECEV_KEEP_S (30 * 86400)       /* listed on /account this long */
#define SECEV_NOTICE_S (14 * 86400)     /* announced, until acknowledged, this long */
#define SECEV_LABEL_MAX 255

struct secevent {
	int64_t at;                     /* unix seconds; 0: unknown (an older record) */
	char method[16];                /* "totp", "webauthn", "x509", "recovery", "password",
	                                   "signin" (the second-factor preference) */
	char action[16];                /* "add", "remove", "rename", "regenerate", "change",
	                                   "ask_on", "ask_off" */
	char label[SECEV_LABEL_MAX + 1]; /* the credential as the person knows it (a key's
	                                    name, a card holder's name), or "" */
	char ip[64];                    /* where the change came from; "" for the help desk */
	int by_admin;                   /* 1: the help desk (authctl) */
	int unseen;                     /* secevent_list: still to be announced */
};

/* Records e for user_id (write txn; e->at 0 means now; unseen is ignored),
 * dropping events older than SECEV_KEEP_S and beyond SECEV_MAX. STORE_INVALID
 * for an unknown method or action name. */
int secevent_add(struct store_txn *t, const char *user_id, const struct secevent *e);
/* The events still listed at now, newest first, into out (at most max); the
 * count. user is the user record (borrowed). */
size_t secevent_list(const json_t *user, int64_t now, struct secevent *out, size_t max);
/* How many of them are still to be announced. */
size_t secevent_unseen(const json_t *user, int64_t now);
/* The person has read them: nothing is announced any more (write txn).
 * STORE_OK also when there was nothing to acknowledge. */
int secevent_ack(struct store_txn *t, const char *user_id, int64_t now);

#endif

/* modules/password.h — the password method: NIST SP 800-63B rules, Argon2id
 * hashing (libsodium crypto_pwhash_str) and the credential record
 * "<user id>/password/0" in T_CREDS: {"hash", "created", "updated"}. */
#ifndef AUTHD_PASSWORD_H
#define AUTHD_PASSWORD_H

#include "../authd/store.h"
#include "method.h"

struct conf;

/* Longest password accepted before any hashing (bytes): bounds Argon2 input
 * and refuses request bodies built to waste CPU. */
#define PASSWORD_MAX_BYTES 4096

/* Loads the parameters, the common-password list and the rules' messages
 * (the catalogues of [ui] i18n) and makes the dummy hash used for unknown users. Idempotent: a second call with the same config is a
 * no-op; with a different config it reloads. 0 on success, -1 on bad config or
 * unreadable list. */
int password_init(const struct conf *c);
void password_fini(void);

enum pw_rule {
	PW_OK = 0,
	PW_TOO_SHORT,      /* fewer than min_length code points */
	PW_TOO_LONG,       /* more than max_length code points (or PASSWORD_MAX_BYTES bytes) */
	PW_COMMON,         /* in the common/breached list (case-insensitive) */
	PW_IS_USERNAME,    /* equal to the username (case-insensitive) */
	PW_BAD_TEXT,       /* not valid UTF-8, or contains control characters */
};

/* Checks a proposed password against the rules; username may be NULL.
 * password_init() must have succeeded. */
enum pw_rule password_check_rules(const char *pw, const char *username);
/* An actionable message for r in lang (a language of the catalogues,
 * share/i18n, matched as the pages match it; anything else gives [ui]
 * default_lang). The texts are the catalogues' password.rule.* keys, read by
 * password_init with the config's numbers filled in; valid until the next
 * password_init or password_fini. */
const char *password_rule_message(enum pw_rule r, const char *lang);

/* Validates the rules, hashes (Argon2id) and stores credential
 * "<user_id>/password/0" in T_CREDS inside write txn t (keeps "created" of an
 * existing record). Returns 0, the enum pw_rule value (> 0) when a rule
 * refuses, or -1 on hashing/store error.
 * A self-service change (/account, authd/account.c) is a change to the
 * person's credentials like any other: it asks account_change_allowed(...,
 * "password.change", ...) before it reads the form, and records itself in the
 * same write with account_change_record(method "password", action "change")
 * (authd/account.h). authctl user passwd records the help desk's. */
int password_set(struct store_txn *t, const char *user_id, const char *username, const char *pw);

/* ---- the self-service change (authd/account.c) ----
 * The account page reads the stored hash on its loop, checks the current
 * password and hashes the new one on a worker (Argon2id never on a loop or the
 * writer thread), and stores the new record in its write. */
#define PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */
/* user_id's stored hash into out: ST_OK, ST_NOTFOUND (no password), or a
 * store error. */
int password_hash_of(struct store_txn *t, const char *user_id, char out[PASSWORD_HASH_MAX]);
/* 1 when pw matches hash; 0 otherwise, after the same work when hash is empty
 * (the dummy). Worker thread. */
int password_matches(const char *hash, const char *pw);
/* Stores rec (password_record_new) as user_id's password in write txn t,
 * keeping the "created" of the record it replaces. ST_OK or a store error. */
int password_store(struct store_txn *t, const char *user_id, json_t *rec);

/* Builds a credential record {"hash","created","updated"} for pw with the
 * current parameters (no rule check: used for rehash). NULL on error. */
json_t *password_record_new(const char *pw, int64_t created, int64_t now);

/* 1 when the lowercased pw is in the loaded common-password list. */
int password_is_common(const char *pw);

extern const struct authd_method method_password;

#endif

/* authd/users.h — user accounts (T_USERS, T_USERNAMES).
 *
 * User record: {"id": 32 hex (random; the stable "sub"), "username", "display_name",
 * "email", "disabled": bool, "created": unix seconds, "groups": [names],
 * "ask_second_factor": bool (absent: true)}. Usernames are compared
 * after ASCII lower-casing; 1..64 characters of [A-Za-z0-9._@-]. */
#ifndef AUTHD_USERS_H
#define AUTHD_USERS_H

#include <jansson.h>

#include "store.h"

#define USER_ID_LEN 32
#define USERNAME_MAX 64

/* 1 when name is an acceptable username. norm (USERNAME_MAX+1) gets the lowercased form. */
int username_normalise(const char *name, char *norm);
int user_by_name(struct store_txn *t, const char *username, json_t **user);
int user_by_id(struct store_txn *t, const char *id, json_t **user);
/* 1 when the account is switched off ("disabled": true). The one reader of
 * that field: the sign-in core asks it through signin_person (signin.h), the
 * token, userinfo and account code through this. */
int user_is_disabled(const json_t *user);
/* The person's preference "ask my second factor at every sign-in"
 * ("ask_second_factor": bool): 1 unless they turned it off (false). It matters
 * only once a second factor is enrolled (policy_signin_level). */
int user_asks_second_factor(const json_t *user);
/* Creates the user (write txn). STORE_EXISTS when the name is taken. */
int user_create(struct store_txn *t, const char *username, const char *display_name,
                const char *email, char id_out[USER_ID_LEN + 1]);
/* "groups": at most USER_GROUPS_MAX distinct names of 1..64 [A-Za-z0-9._-]
 * (host access for pam_authd, the "groups" claim). 1 when acceptable. */
#define USER_GROUPS_MAX 64
int user_groups_ok(const json_t *groups);
/* Rewrites the record (write txn). */
int user_update(struct store_txn *t, const json_t *user);

#endif

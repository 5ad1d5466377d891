/* authd/clients.h — registered applications (T_CLIENTS).
 *
 * Client record: {"client_id", "name", "name_en", "redirect_uris": [...],
 * "post_logout_redirect_uris": [...], "grant_types": [...], "scopes": [...],
 * "token_endpoint_auth_method": "client_secret" (the shared secret by Basic
 * or in the form, either one: the default) | "client_secret_basic" |
 * "client_secret_post" (only that one) | "private_key_jwt" | "none",
 * "require_pkce": bool (absent: true; false only for a confidential client), "secret_hash": hex HMAC-SHA-256(server secret, secret),
 * "jwks": {...} (private_key_jwt), "min_aal": 1..3, "backchannel_logout_uri",
 * "audience", "id_token_signed_response_alg", "disabled": bool, "created",
 * "host": bool (a server that logs people in: pam_authd)}.
 * The shape of ../shared/data/city-apps.json entries is accepted as input. */
#ifndef AUTHD_CLIENTS_H
#define AUTHD_CLIENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define CLIENT_SECRET_LEN 43    /* 256 bits, base64url */

int client_get(struct store_txn *t, const char *client_id, json_t **out);
/* Checks a client record's shape (ids, https redirect URIs without fragments
 * — http only for localhost/127.0.0.1/[::1] loopback, known grant types and auth
 * methods, min_aal range). 0 ok, -1 with a message. */
int client_validate(const json_t *rec, char *err, size_t errsz);
/* Generates a new 256-bit secret (base64url) and its keyed hash. */
int client_secret_new(const uint8_t key[32], char secret[CLIENT_SECRET_LEN + 1], char hash_hex[65]);
void client_secret_hash(const uint8_t key[32], const char *secret, char hash_hex[65]);
/* Constant-time check of a presented secret against the record. 1 match, 0 not. */
int client_secret_check(const uint8_t key[32], const json_t *client, const char *secret);
/* 1 when the client record lists s in the array member (exact string match). */
int client_has(const json_t *client, const char *member, const char *s);
/* ---- registration: the rules every admin interface applies (authctl today,
 * an admin API later), on top of client_validate. -------------------------- */

/* A new record for client id with the defaults: name = id, no redirect URIs,
 * grants authorization_code and refresh_token, scopes openid profile email,
 * client_secret (Basic or form), min_aal 1, enabled. NULL when out of memory. Owned. */
json_t *client_defaults(const char *id);
/* What a registration must meet before it is stored: client_validate, text
 * members (client_id, name, name_en, audience) that are 1..512 bytes of text
 * without control characters, and a JWKS that is public (no private key
 * material), holds 1..16 keys and only keys usable for ES256, RS256 or EdDSA
 * signatures. 0, or -1 with the reason in err. */
int client_register_check(const json_t *rec, char *err, size_t errsz);
/* 1 when an administrator may give member name of a client (an import entry):
 * never the secret or its hash (secrets are generated here), nor the times the
 * store keeps. */
int client_input_member_ok(const char *name);
/* 1 when the token endpoint auth method authenticates with a shared secret. */
int client_auth_uses_secret(const char *method);
/* 1 unless the client is confidential and registered with require_pkce
 * false (older apps and the OpenID "Basic OP" plan send no PKCE); a public
 * client always needs PKCE. */
int client_requires_pkce(const json_t *client);
/* Before rec is stored (write txn): a client whose auth method uses a secret
 * and has none gets a fresh one — written to secret (shown once, then wiped
 * by the caller), its keyed hash to rec, *made = 1; a client whose method uses
 * none keeps no secret_hash. ST_OK, or why not (*need_init = 1 when the store
 * has no server secret yet: authctl init). */
int client_secret_provision(struct store_txn *t, json_t *rec, char secret[CLIENT_SECRET_LEN + 1],
    int *made, int *need_init);
/* After an update set rec's token_endpoint_auth_method (method_set) and, or
 * not, its jwks (jwks_set): a client moved away from private_key_jwt keeps no
 * stale keys. */
void client_after_update(json_t *rec, int method_set, int jwks_set);

/* 1 when the client is a host (a server that logs people in, pam_authd):
 * marked "host": true, or registered for host login (grant "password"). Its
 * device flow hands out no link with the code in it, and its approval page
 * names the host, the account, the address and the time. */
int client_is_host(const json_t *client);

#endif

/* authd/clients.h — registered applications (T_CLIENTS).
 *
 * Client record: {"client_id", "name", "name_en", "redirect_uris": [...],
 * "post_logout_redirect_uris": [...], "grant_types": [...], "scopes": [...],
 * "token_endpoint_auth_method": "client_secret_basic"|"client_secret_post"|
 * "private_key_jwt"|"none", "secret_hash": hex HMAC-SHA-256(server secret, secret),
 * "jwks": {...} (private_key_jwt), "min_aal": 1..3, "backchannel_logout_uri",
 * "audience", "id_token_signed_response_alg", "disabled": bool, "created",
 * "host": bool (a server that logs people in: pam_authd)}.
 * The shape of ../shared/data/city-apps.json entries is accepted as input. */
#ifndef AUTHD_CLIENTS_H
#define AUTHD_CLIENTS_H

#include <jansson.h>
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
/* 1 when the client is a host (a server that logs people in, pam_authd):
 * marked "host": true, or registered for host login (grant "password"). Its
 * device flow hands out no link with the code in it, and its approval page
 * names the host, the account, the address and the time. */
int client_is_host(const json_t *client);

#endif

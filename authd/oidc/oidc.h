/* authd/oidc/oidc.h — what the OpenID Connect endpoints share: handlers for the
 * routing table, client authentication, token minting, PKCE, redirects with errors.
 *
 * Bearer secrets handed out here (codes, refresh tokens, session ids, login
 * cookies) are 256-bit random base64url strings; only their SHA-256 is stored. */
#ifndef AUTHD_OIDC_H
#define AUTHD_OIDC_H

#include <jansson.h>
#include <stdint.h>

#include "../../lib/jose.h"
#include "../http.h"
#include "../records.h"
#include "../store.h"

#define OIDC_SECRET_LEN 43          /* 32 random bytes, base64url */
#define OIDC_MAX_STATE 512
#define OIDC_MAX_NONCE 256
#define OIDC_MAX_SCOPE 512

/* Cookie names. __Host- pins them to this origin, Path=/ and Secure. */
#define COOKIE_SESSION "__Host-authd_session"
#define COOKIE_LOGIN "__Host-authd_login"

/* s, or dflt when s is NULL. */
static inline const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* Handlers (routes.c). */
void oidc_discovery(struct http_req *r);
void oidc_jwks(struct http_req *r);
void oidc_authorize(struct http_req *r);
void oidc_login_page(struct http_req *r);   /* GET /login */
void oidc_login_post(struct http_req *r);   /* POST /login */
void oidc_login(struct http_req *r);        /* dispatches GET/POST /login */
void oidc_login_begin(struct http_req *r);  /* POST /login/begin: a method's challenge */
void oidc_token(struct http_req *r);
void oidc_userinfo(struct http_req *r);
void oidc_introspect(struct http_req *r);
void oidc_revoke(struct http_req *r);
void oidc_logout(struct http_req *r);
void oidc_device_authorization(struct http_req *r); /* POST /device_authorization */
void oidc_device(struct http_req *r);               /* GET/POST /device: the person's side */
void ui_static_css(struct http_req *r);

/* PKCE (RFC 7636): 1 when verifier (43..128 unreserved chars) hashes to challenge. */
int pkce_verify_s256(const char *challenge, const char *verifier);
/* 1 when s is a well-formed S256 challenge (43 base64url chars). */
int pkce_challenge_ok(const char *s);

/* Hex SHA-256 of a bearer secret: its key in the store. */
void secret_key_hex(const char *secret, char out[65]);
/* A fresh 256-bit bearer secret (base64url, 43 chars). */
int secret_new(char out[OIDC_SECRET_LEN + 1]);

/* Client authentication at /token, /introspect, /revoke (RFC 6749 §2.3,
 * OIDC Core §9). On success *client is the client record (new reference). When a
 * private_key_jwt assertion was used, jti/exp name it: the caller records it
 * (T_JTI, STORE_NOOVERWRITE) in its write so an assertion is used once.
 * On failure *err / *desc are static strings and the status is 400 or 401. */
struct client_auth {
	json_t *client;
	char jti[129];
	int64_t jti_exp;
	const char *err;
	const char *desc;
	int status;
};
int client_authenticate(struct http_req *r, struct store_txn *t, struct client_auth *out);
/* Replies with the failure of client_authenticate (401 adds WWW-Authenticate: Basic). */
void client_auth_reply_error(struct http_req *r, const struct client_auth *ca);
/* Records a used assertion jti in t (write txn). STORE_EXISTS when replayed. */
int client_auth_record(struct store_txn *t, const struct client_auth *ca);
/* After client_authenticate succeeded (so no one can spend another client's
 * budget): takes one request from the client's bucket ([tokens] client_rate,
 * ratelimit.h). 0: go on. -1: over the rate; the 429 reply is made, or queued
 * behind its audit record (at most one a minute per client): the caller only
 * releases what it holds (a read txn may stay open until then) and returns. */
int client_rate_check(struct http_req *r, const struct client_auth *ca);
/* The same as a record of the store's operations (records.h): the RK_JTI record
 * an insert-if-absent of which refuses a replayed assertion. ST_OK with *out (rec_clear
 * it), or ST_NOTFOUND when the client authenticated without an assertion. */
int client_auth_jti(const struct client_auth *ca, struct rec *out);
/* For the writers of refresh families still on store.h (logout, revocation):
 * marks fam (a T_FAMILIES record) revoked and bumps its version ("rv", see
 * records_lmdb.c), so a rotation that read the family before is refused. */
void family_mark_revoked(json_t *fam, int64_t now);

/* redirect_uri?key1=val1[&key2=val2][&state=..]&iss=.. (malloc'd; NULL on OOM). Only
 * for a redirect_uri already matched against the client's registration. */
char *redirect_back(struct http_req *r, const char *redirect_uri, const char *key1,
                    const char *val1, const char *key2, const char *val2, const char *state);
/* 1 when every word of the space-separated scope (each < 64 bytes) passes ok. */
int scope_all(const char *scope, int (*ok)(const char *word, void *ctx), void *ctx);
/* 1 when every scope word is one the client registered. */
int scope_client_allows(const json_t *client, const char *scope);
/* Redirect back to the client with an error (only after redirect_uri was validated). */
void oidc_redirect_error(struct http_req *r, const char *redirect_uri, const char *error,
                         const char *desc, const char *state);

/* Token minting (tokens.c). */
struct token_grant {
	const char *client_id;
	const char *user_id;        /* NULL for client_credentials */
	const char *scope;          /* space separated, already validated */
	const char *family;         /* refresh family id or NULL */
	const char *sid;            /* public session id or NULL */
	const char *nonce;          /* ID token only */
	int64_t auth_time;
	int level;                  /* 0 for client_credentials */
	unsigned amr, factors;
};
/* Signed RFC 9068 access token (malloc'd) and its lifetime. */
char *token_access(struct http_req *r, const struct token_grant *g, json_t *user, int *ttl);
/* Signed ID token for the client (its alg or the configured default). */
char *token_id(struct http_req *r, const struct token_grant *g, const json_t *client, json_t *user,
               const char *access_token);
/* Claims by scope for userinfo and the ID token (profile, email). Adds to obj. */
void token_user_claims(json_t *obj, const json_t *user, const char *scope);
/* 1 when space-separated list has word. */
int scope_has(const char *scope, const char *word);
/* Verifies one of our access tokens: signature, typ, iss, exp, and that neither its jti
 * nor its refresh family was revoked. *claims new reference on success. */
int token_access_check(struct http_req *r, struct store_txn *t, const char *token, json_t **claims);

/* Sessions (session.c). Record in T_SESSIONS keyed by hex sha256(cookie value):
 * {"user","sid","auth_time","amr","factors","props","created","last_seen","expires",
 *  "clients":[...],"families":[...]} */
/* The valid session of this request (cookie present, known, not expired, not idle
 * too long), or NULL. *key_out (65) gets its store key. */
json_t *session_find(struct http_req *r, struct store_txn *t, char key_out[65]);
/* CSRF token for a form of this session: hex HMAC(server secret, purpose:skey). */
void session_csrf(struct http_req *r, const char *skey, const char *purpose, char out[65]);
/* 1 when given is the session's CSRF token for purpose (constant time). */
int session_csrf_ok(struct http_req *r, const char *skey, const char *purpose, const char *given);
/* Starts a sign-in that is not for an app (e.g. the account page): a login
 * transaction whose success returns the browser to return_to (a local path)
 * with a session of at least level. Replies (redirect to /login) and frees r. */
void login_start(struct http_req *r, const char *return_to, int level);
/* Level the session's authentications reached (policy_level_of over its
 * amr/factors/props), and the level it still holds now after the
 * reauthentication limits (session_find stores it as "level"). */
int session_raw_level(const json_t *session);
int session_level(const json_t *session);

/* RP-initiated logout (logout.c): 1 when the verified claims p are those of an ID
 * token of issuer (iss, sub, aud, exp present, iat and nbf not in the future
 * beyond leeway, no access-token claims). exp may have passed. */
int logout_hint_claims_ok(const json_t *p, const char *issuer, long leeway, int64_t now);

/* The steps of a sign-in are the sign-in core's (authd/signin.h). */

/* Host login (hostlogin.c): grant_type=password and the mfa-otp grant at /token,
 * for confidential host clients (pam_authd). They take over ca (its client). */
#define GRANT_MFA_OTP "urn:authd:params:oauth:grant-type:mfa-otp"
#define GRANT_DEVICE_CODE "urn:ietf:params:oauth:grant-type:device_code"
void host_login_password(struct http_req *r, struct client_auth *ca);
void host_login_otp(struct http_req *r, struct client_auth *ca);

/* Login transactions and codes shared between authorize.c and login.c. */
/* After authentication (or SSO), issues a code: writes it in t with the request
 * parameters in tx; code_out gets the bearer code. */
int code_issue(struct store_txn *t, struct http_req *r, const json_t *tx, const json_t *session,
               char code_out[OIDC_SECRET_LEN + 1]);
/* The redirect_uri?code=..&state=..&iss=.. location (malloc'd). */
char *code_location(struct http_req *r, const json_t *tx, const char *code);

#endif

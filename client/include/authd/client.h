/* authd/client.h — libauthd-client: the public C API that city applications,
 * servers and pam_authd use to talk to authd and to verify its tokens.
 *
 * Style (after libfido2): opaque types made with *_new and released with
 * *_free, every call that can fail returns an int status (AUTHD_OK or one of
 * the AUTHD_ERR_* values, all negative), authd_strerror() names a status.
 *
 * Security properties the library keeps:
 *  - TLS verification of authd is always on (system store or the CA file set
 *    with authd_client_set_ca_file); only https:// URLs are followed, except
 *    when the issuer itself is http://127.0.0.1, http://[::1] or
 *    http://localhost (tests and local development).
 *  - Every network call is bounded by the client's timeout.
 *  - The signature algorithm is pinned to the key (from the JWK's kty/crv),
 *    never taken from the token header; "none" and HMAC are refused.
 *  - Passwords, OTPs, client secrets and tokens held or built by the library
 *    (including HTTP request bodies) are wiped before their memory is freed.
 *
 * Threads: configure an authd_client_t (setters) from one thread, then any
 * number of threads may call the other functions on it at the same time; the
 * JWKS cache is shared and locked internally. Objects returned to the caller
 * (claims, tokens, device, login) belong to that caller and are not
 * synchronised. */
#ifndef AUTHD_CLIENT_H
#define AUTHD_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(AUTHD_CLIENT_BUILD)
#define AUTHD_API __attribute__((visibility("default")))
#else
#define AUTHD_API
#endif

/* Library version this header describes. */
#define AUTHD_CLIENT_VERSION_MAJOR 1
#define AUTHD_CLIENT_VERSION_MINOR 0

/* Status codes. AUTHD_OK is 0; every error is negative. */
enum {
	AUTHD_OK                = 0,
	AUTHD_ERR_ARG           = -1,  /* NULL or out-of-range argument */
	AUTHD_ERR_NOMEM         = -2,  /* allocation failed */
	AUTHD_ERR_CONFIG        = -3,  /* client not configured for this call (no issuer,
	                                * no client id/secret, unsafe secret file, bad URL) */
	AUTHD_ERR_UNAVAILABLE   = -4,  /* authd cannot be reached: network, TLS, timeout,
	                                * HTTP 5xx. The only status that means "no answer":
	                                * every other one is an answer authd gave. */
	AUTHD_ERR_PROTOCOL      = -5,  /* authd answered with a success this library does
	                                * not understand (not the expected JSON), or
	                                * discovery names another issuer */
	AUTHD_ERR_FORMAT        = -6,  /* token is not a well-formed compact JWS */
	AUTHD_ERR_ALG           = -7,  /* header alg is none, HMAC, unknown or not the key's */
	AUTHD_ERR_KID           = -8,  /* no key with that kid, even after a JWKS refetch */
	AUTHD_ERR_SIGNATURE     = -9,  /* signature does not verify */
	AUTHD_ERR_TYP           = -10, /* header typ is not the one expected */
	AUTHD_ERR_EXPIRED       = -11, /* token exp passed (or missing); device code expired */
	AUTHD_ERR_NOT_YET_VALID = -12, /* nbf or iat in the future beyond the leeway */
	AUTHD_ERR_ISS           = -13, /* iss missing or not the configured issuer */
	AUTHD_ERR_AUD           = -14, /* aud missing or does not contain the expected one */
	AUTHD_ERR_NONCE         = -15, /* nonce missing or different */
	AUTHD_ERR_INACTIVE      = -16, /* introspection: token not active */
	AUTHD_ERR_PENDING       = -17, /* device flow: authorization_pending */
	AUTHD_ERR_SLOW_DOWN     = -18, /* device flow: slow_down (interval raised by 5 s) */
	AUTHD_ERR_DENIED        = -19, /* wrong password, unknown user, wrong or replayed OTP,
	                                * expired MFA step, device access_denied */
	AUTHD_ERR_MFA_REQUIRED  = -20, /* host login: a one-time code is needed next */
	AUTHD_ERR_THROTTLED     = -21, /* too many attempts; see authd_login_retry_after */
	AUTHD_ERR_UNMET         = -22, /* the account cannot reach the level the host requires */
	AUTHD_ERR_CLIENT_AUTH   = -23, /* authd refused this client's id/secret (invalid_client)
	                                * or the client may not use this grant */
	AUTHD_ERR_NOT_FOUND     = -24, /* claim absent or of another JSON type */
	AUTHD_ERR_TIMEOUT       = -25, /* authd_client_device_wait: deadline reached */
	AUTHD_ERR_REFUSED       = -26, /* authd refused the request with an error that has
	                                * no more precise status here (invalid_request,
	                                * invalid_scope, an error code of a later version,
	                                * any other 3xx/4xx answer): a refusal, never a
	                                * reason to treat authd as unavailable */
};

typedef struct authd_client authd_client_t;
typedef struct authd_claims authd_claims_t;
typedef struct authd_tokens authd_tokens_t;
typedef struct authd_device authd_device_t;
typedef struct authd_login  authd_login_t;

/* Static English text for a status; never NULL ("unknown error" for others). */
AUTHD_API const char *authd_strerror(int status);

/* ---- client --------------------------------------------------------------- */

/* New client with defaults: timeout 5000 ms, leeway 60 s, JWKS refetch min
 * interval 60 s, system CA store. NULL when out of memory. */
AUTHD_API authd_client_t *authd_client_new(void);
/* Frees the client, its cached metadata and keys, and wipes its secret.
 * *cp is set to NULL. NULL or *cp == NULL is fine. */
AUTHD_API void authd_client_free(authd_client_t **cp);

/* The issuer URL exactly as authd publishes it (e.g. "https://sso.example.gov.tw").
 * Required before any network call. https:// only, except loopback http for tests.
 * Resets discovery and the key cache. */
AUTHD_API int authd_client_set_issuer(authd_client_t *c, const char *issuer);
/* PEM file of the CA(s) that sign authd's TLS certificate; NULL = system store. */
AUTHD_API int authd_client_set_ca_file(authd_client_t *c, const char *path);
/* This application's client id (used for client authentication and as the
 * default audience of ID tokens and host-login access tokens). */
AUTHD_API int authd_client_set_client_id(authd_client_t *c, const char *client_id);
/* Client secret for confidential calls (client_secret_basic). Copied; the copy
 * is wiped on free. NULL clears it. */
AUTHD_API int authd_client_set_client_secret(authd_client_t *c, const char *secret);
/* Reads the client secret from the first line of a file. The file must be a
 * regular file not accessible by group or others (mode 0600 or 0400), at most
 * 1024 bytes; otherwise AUTHD_ERR_CONFIG. The read buffer is wiped. */
AUTHD_API int authd_client_set_secret_file(authd_client_t *c, const char *path);
/* Bound on every network call, connection included: 1..600000 ms. */
AUTHD_API int authd_client_set_timeout_ms(authd_client_t *c, int timeout_ms);
/* Clock skew allowed on exp/nbf/iat: 0..600 s. */
AUTHD_API int authd_client_set_leeway(authd_client_t *c, int seconds);
/* Smallest time between two JWKS fetches caused by unknown kids: 0..86400 s.
 * Protects authd from tokens carrying made-up kids. */
AUTHD_API int authd_client_set_jwks_min_interval(authd_client_t *c, int seconds);

/* Fetches issuer + "/.well-known/openid-configuration" and checks that its
 * "issuer" equals the configured issuer exactly. Other calls run discovery on
 * first use, so calling this is optional; it is a way to fail early. */
AUTHD_API int authd_client_discover(authd_client_t *c);
/* A string member of the discovery document ("token_endpoint", ...), or NULL
 * when discovery has not succeeded or the member is absent. Valid until the
 * client is freed or its issuer changes. */
AUTHD_API const char *authd_client_metadata(authd_client_t *c, const char *name);

/* ---- token verification ---------------------------------------------------- */

/* Verifies an RFC 9068 access token: header typ "at+jwt", signature by a key
 * of authd's JWKS (fetched on first use, refetched at most once per min
 * interval when the kid is unknown), alg pinned to that key, iss equal to the
 * issuer, aud containing expected_aud (required), exp/iat present, exp/nbf/iat
 * within the leeway. On AUTHD_OK *out holds the claims (free with
 * authd_claims_free); otherwise *out is NULL. */
AUTHD_API int authd_client_verify_access_token(authd_client_t *c, const char *token,
                                               const char *expected_aud,
                                               authd_claims_t **out);
/* Verifies an OpenID Connect ID token: typ "JWT" or absent, aud containing
 * client_id (NULL: the configured client id), and when nonce is not NULL a
 * nonce claim equal to it (constant-time compare); other checks as above. */
AUTHD_API int authd_client_verify_id_token(authd_client_t *c, const char *token,
                                           const char *client_id, const char *nonce,
                                           authd_claims_t **out);

/* ---- claims ------------------------------------------------------------------ */

/* A string claim, or NULL when absent or not a string. Valid until free. */
AUTHD_API const char *authd_claims_string(const authd_claims_t *cl, const char *name);
/* An integer claim into *out: AUTHD_OK, or AUTHD_ERR_NOT_FOUND. */
AUTHD_API int authd_claims_int(const authd_claims_t *cl, const char *name, int64_t *out);
/* 1 when claim `name` is an array holding the string `value` (or is that string
 * itself, as "aud" may be), 0 otherwise. For "groups", "amr", "aud". */
AUTHD_API int authd_claims_array_has(const authd_claims_t *cl, const char *name,
                                     const char *value);
/* All claims as compact JSON (keys sorted), or NULL when out of memory. */
AUTHD_API const char *authd_claims_json(authd_claims_t *cl);
AUTHD_API void authd_claims_free(authd_claims_t **clp);

/* ---- confidential calls ------------------------------------------------------ */

/* RFC 7662 introspection with the client's credentials: AUTHD_OK and *out the
 * returned claims when the token is active, AUTHD_ERR_INACTIVE when not. */
AUTHD_API int authd_client_introspect(authd_client_t *c, const char *token,
                                      authd_claims_t **out);
/* client_credentials grant. scope may be NULL. *access_token is malloc'd:
 * release it with authd_string_free (which wipes it). expires_in may be NULL. */
AUTHD_API int authd_client_credentials(authd_client_t *c, const char *scope,
                                       char **access_token, int *expires_in);
/* Wipes and frees a string returned by the library. NULL is fine. */
AUTHD_API void authd_string_free(char *s);

/* ---- tokens ------------------------------------------------------------------- */

/* Getters return NULL when authd did not return that token. */
AUTHD_API const char *authd_tokens_access_token(const authd_tokens_t *t);
AUTHD_API const char *authd_tokens_id_token(const authd_tokens_t *t);
AUTHD_API const char *authd_tokens_refresh_token(const authd_tokens_t *t);
AUTHD_API const char *authd_tokens_scope(const authd_tokens_t *t);
AUTHD_API int authd_tokens_expires_in(const authd_tokens_t *t);
/* Wipes every token, frees, sets *tp to NULL. */
AUTHD_API void authd_tokens_free(authd_tokens_t **tp);

/* ---- device authorization grant (RFC 8628) --------------------------------- */

/* POST device_authorization_endpoint with this client's id (and secret when
 * set). On AUTHD_OK *dev holds the codes to show the person. */
AUTHD_API int authd_client_device_start(authd_client_t *c, const char *scope,
                                        authd_device_t **dev);
/* The same for a host login (pam_authd mode=device): login_hint is the account
 * the host will log in (1..64 of A-Z a-z 0-9 . _ @ -) and remote_addr, NULL or
 * 1..255 printable characters without spaces, where the login comes from (PAM's
 * rhost). authd shows both on the page where the person approves. */
AUTHD_API int authd_client_device_start_host(authd_client_t *c, const char *scope,
                                             const char *login_hint, const char *remote_addr,
                                             authd_device_t **dev);
AUTHD_API const char *authd_device_user_code(const authd_device_t *d);
AUTHD_API const char *authd_device_verification_uri(const authd_device_t *d);
/* NULL when authd did not send verification_uri_complete. */
AUTHD_API const char *authd_device_verification_uri_complete(const authd_device_t *d);
/* Seconds to wait between polls (5 when authd gave none; raised by slow_down). */
AUTHD_API int authd_device_interval(const authd_device_t *d);
AUTHD_API int authd_device_expires_in(const authd_device_t *d);
/* Wipes the device code, frees, sets *dp to NULL. */
AUTHD_API void authd_device_free(authd_device_t **dp);

/* One poll of the token endpoint: AUTHD_OK (*out set), AUTHD_ERR_PENDING,
 * AUTHD_ERR_SLOW_DOWN (the device's interval is raised by 5 s),
 * AUTHD_ERR_EXPIRED, AUTHD_ERR_DENIED, or a transport/protocol error. */
AUTHD_API int authd_client_device_poll(authd_client_t *c, authd_device_t *dev,
                                       authd_tokens_t **out);
/* Polls every interval until success, a final answer, the device code's
 * expiry or timeout_ms (AUTHD_ERR_TIMEOUT), whichever comes first. Never
 * sleeps past the deadline. */
AUTHD_API int authd_client_device_wait(authd_client_t *c, authd_device_t *dev,
                                       int timeout_ms, authd_tokens_t **out);

/* ---- host login (password, then OTP when needed) -------------------------- */

/* Resource-owner password grant as a confidential client (PAM on a server).
 * Returns AUTHD_OK (tokens and verified access-token claims in *out),
 * AUTHD_ERR_MFA_REQUIRED (*out set: call authd_client_otp_login with it),
 * AUTHD_ERR_THROTTLED (*out set: authd_login_retry_after), AUTHD_ERR_DENIED,
 * AUTHD_ERR_UNMET, AUTHD_ERR_CLIENT_AUTH, AUTHD_ERR_REFUSED,
 * AUTHD_ERR_UNAVAILABLE, AUTHD_ERR_PROTOCOL, or a verification error for a bad
 * access token. For other results *out is NULL. The password is never kept.
 * Only AUTHD_ERR_UNAVAILABLE (and AUTHD_ERR_TIMEOUT, AUTHD_ERR_NOMEM) says
 * that authd gave no answer; every other failure is authd's refusal. */
AUTHD_API int authd_client_password_login(authd_client_t *c, const char *username,
                                          const char *password, const char *scope,
                                          authd_login_t **out);
/* Second step after AUTHD_ERR_MFA_REQUIRED: sends the one-time code with the
 * login's mfa_token. AUTHD_OK (login now holds tokens and claims),
 * AUTHD_ERR_DENIED (wrong/replayed code of any shape, or expired MFA step),
 * AUTHD_ERR_THROTTLED, AUTHD_ERR_REFUSED, or a transport/protocol error. The
 * OTP is never kept. */
AUTHD_API int authd_client_otp_login(authd_client_t *c, authd_login_t *login,
                                     const char *otp);
/* Tokens after a successful login, else NULL. Owned by the login. */
AUTHD_API const authd_tokens_t *authd_login_tokens(const authd_login_t *l);
/* Verified access-token claims after a successful login, else NULL. */
AUTHD_API const authd_claims_t *authd_login_claims(const authd_login_t *l);
/* 1 when authd offered MFA method `name` ("otp"), 0 otherwise. */
AUTHD_API int authd_login_has_mfa_method(const authd_login_t *l, const char *name);
/* Seconds from authd's Retry-After after AUTHD_ERR_THROTTLED, else 0. */
AUTHD_API int authd_login_retry_after(const authd_login_t *l);
/* Wipes tokens and the MFA token, frees, sets *lp to NULL. */
AUTHD_API void authd_login_free(authd_login_t **lp);

#ifdef __cplusplus
}
#endif

#endif

/* client/src/internal.h — what the libauthd-client sources share and nothing
 * outside client/ may use: the client structure, the JWKS cache, the HTTPS
 * transport on libcurl and the token/claims objects. */
#ifndef AUTHD_CLIENT_INTERNAL_H
#define AUTHD_CLIENT_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "authd/client.h"
#include "../../lib/buf.h"
#include "../../lib/jose.h"

/* Largest response body accepted from authd; discovery and JWKS documents are
 * a few KiB, so this only stops a hostile or broken server. */
#define CLIENT_MAX_BODY (256 * 1024)
#define CLIENT_MAX_URL 2048
#define CLIENT_MAX_SECRET 1024
#define CLIENT_MAX_PARAM 4096

/* An immutable key set shared between verifying threads. A thread takes a
 * reference under c->lock, drops the lock and verifies; a refetch swaps the
 * pointer and the last reference frees the old set. */
struct ks_ref {
	int refs;                  /* changed only with __atomic builtins */
	struct jose_keyset *ks;
};

struct authd_client {
	char *issuer;
	char *ca_file;
	char *client_id;
	char *secret;              /* wiped on change and free */
	long timeout_ms;
	long leeway;
	long jwks_min_interval;    /* seconds */
	int allow_http;            /* issuer is loopback http:// (tests) */

	/* Discovery: done once under disc_lock (which is held across the fetch so
	 * concurrent first users wait for one request); meta is immutable once set. */
	pthread_mutex_t disc_lock;
	json_t *meta;

	/* JWKS cache. Invariant: ks, gen, fetching and last_fetch_ns change only
	 * under lock; one fetch at a time (fetching), others wait on fetched. */
	pthread_mutex_t lock;
	pthread_cond_t fetched;
	struct ks_ref *ks;
	uint64_t gen;              /* bumped each time ks is replaced */
	int fetching;
	uint64_t last_fetch_ns;    /* monotonic start of the last fetch, 0 = never */
	unsigned long fetch_count; /* JWKS fetches done (tests and metrics) */
};

struct authd_claims {
	json_t *j;
	char *compact;             /* authd_claims_json cache */
};

struct authd_tokens {
	char *access_token, *id_token, *refresh_token, *scope;
	int expires_in;
};

struct authd_device {
	char *device_code;
	char *user_code, *verification_uri, *verification_uri_complete;
	int interval, expires_in;
	uint64_t start_ns;
};

struct authd_login {
	authd_tokens_t *tokens;
	authd_claims_t *claims;
	char *mfa_token;
	json_t *mfa_methods;
	int retry_after;
};

/* ---- transport (http.c) ---- */
struct chttp_resp {
	long status;
	struct buf body;
	int retry_after;           /* -1 when no Retry-After header */
};
void chttp_resp_free(struct chttp_resp *r);
/* GET url; AUTHD_OK when a complete HTTP response arrived (any status),
 * AUTHD_ERR_UNAVAILABLE for transport failures. timeout_ms <= 0: client's. */
int chttp_get(authd_client_t *c, const char *url, long timeout_ms, struct chttp_resp *r);
/* POST a form body (application/x-www-form-urlencoded). The body buffer is
 * the caller's (wiped by the caller); with basic != 0 the client's id and
 * secret go in an Authorization: Basic header that is wiped after the call. */
int chttp_post_form(authd_client_t *c, const char *url, const struct buf *body,
                    int basic, long timeout_ms, struct chttp_resp *r);
/* Parses r->body as a JSON object; NULL when it is not one. */
json_t *chttp_json(const struct chttp_resp *r);
/* Process-wide libcurl initialisation (once). */
int chttp_global_init(void);

/* ---- client.c ---- */
/* Discovery if not done yet; AUTHD_OK when c->meta is set. */
int client_ensure_meta(authd_client_t *c);
/* Endpoint URL from discovery (must be a string), or NULL. */
const char *client_endpoint(authd_client_t *c, const char *name);

/* ---- verify.c ---- */
int client_verify(authd_client_t *c, const char *token, int access, const char *aud,
                  const char *nonce, authd_claims_t **out);
void client_ks_release(struct ks_ref *r);
authd_claims_t *claims_wrap(json_t *j);

/* ---- grants.c ---- */
/* Maps a token-endpoint error response (status, body, Retry-After) to a status. */
int grant_error_status(const struct chttp_resp *r, const json_t *j);
authd_tokens_t *tokens_from_json(const json_t *j);

#endif

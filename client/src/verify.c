/* client/src/verify.c — the JWKS cache and token verification: fetch authd's
 * keys, share them between threads without holding a lock during crypto,
 * refetch on an unknown kid at most once per interval, and check access and ID
 * tokens with lib/jose (alg pinned to the key). Also the claims accessors. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/util.h"

void
client_ks_release(struct ks_ref *r)
{
	if (r == NULL)
		return;
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		jose_keyset_free(r->ks);
		free(r);
	}
}

/* Current set with a reference taken, and its generation. Caller holds c->lock. */
static struct ks_ref *
ks_take_locked(authd_client_t *c, uint64_t *gen)
{
	if (c->ks != NULL)
		__atomic_add_fetch(&c->ks->refs, 1, __ATOMIC_RELAXED);
	*gen = c->gen;
	return c->ks;
}

static int
jwks_download(authd_client_t *c, struct jose_keyset **out)
{
	struct chttp_resp r;
	const char *uri;
	json_t *j;
	int rc;

	*out = NULL;
	if ((rc = client_ensure_meta(c)) != AUTHD_OK)
		return rc;
	if ((uri = client_endpoint(c, "jwks_uri")) == NULL)
		return AUTHD_ERR_PROTOCOL;
	if ((rc = chttp_get(c, uri, 0, &r)) != AUTHD_OK)
		return rc;
	j = r.status == 200 ? chttp_json(&r) : NULL;
	chttp_resp_free(&r);
	if (j == NULL)
		return AUTHD_ERR_PROTOCOL;
	*out = jose_keyset_from_jwks(j);
	json_decref(j);
	if (*out == NULL)
		return AUTHD_ERR_PROTOCOL;
	return AUTHD_OK;
}

/* Makes sure a key set newer than `seen` exists, fetching one if allowed.
 * force: the caller saw an unknown kid (rate-limited); otherwise a fetch only
 * happens when there is no key set at all. One fetch at a time: others wait
 * for it and use its result. Returns AUTHD_OK when a newer set is available. */
static int
jwks_refresh(authd_client_t *c, uint64_t seen, int force)
{
	struct jose_keyset *ks = NULL;
	struct ks_ref *nr;
	uint64_t now;
	int rc;

	pthread_mutex_lock(&c->lock);
	/* Bounded: each fetch ends within the client's timeout. */
	while (c->fetching)
		pthread_cond_wait(&c->fetched, &c->lock);
	if (c->gen != seen && c->ks != NULL) {
		pthread_mutex_unlock(&c->lock);
		return AUTHD_OK;
	}
	now = mono_ns();
	if (c->ks != NULL && (!force ||
	    (c->last_fetch_ns != 0 &&
	     now - c->last_fetch_ns < (uint64_t)c->jwks_min_interval * 1000000000ull))) {
		pthread_mutex_unlock(&c->lock);
		return AUTHD_ERR_KID;
	}
	c->fetching = 1;
	c->last_fetch_ns = now;
	c->fetch_count++;
	pthread_mutex_unlock(&c->lock);

	rc = jwks_download(c, &ks);
	nr = NULL;
	if (rc == AUTHD_OK && (nr = malloc(sizeof(*nr))) == NULL) {
		jose_keyset_free(ks);
		rc = AUTHD_ERR_NOMEM;
	}

	pthread_mutex_lock(&c->lock);
	if (rc == AUTHD_OK) {
		struct ks_ref *old = c->ks;

		nr->refs = 1;
		nr->ks = ks;
		c->ks = nr;
		c->gen++;
		client_ks_release(old);
	}
	c->fetching = 0;
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int
map_jose(enum jose_err e)
{
	switch (e) {
	case JOSE_OK: return AUTHD_OK;
	case JOSE_ERR_FORMAT: return AUTHD_ERR_FORMAT;
	case JOSE_ERR_ALG: return AUTHD_ERR_ALG;
	case JOSE_ERR_KID: return AUTHD_ERR_KID;
	case JOSE_ERR_SIG: return AUTHD_ERR_SIGNATURE;
	case JOSE_ERR_TYP: return AUTHD_ERR_TYP;
	case JOSE_ERR_EXPIRED: return AUTHD_ERR_EXPIRED;
	case JOSE_ERR_NBF: return AUTHD_ERR_NOT_YET_VALID;
	case JOSE_ERR_IAT: return AUTHD_ERR_NOT_YET_VALID;
	case JOSE_ERR_ISS: return AUTHD_ERR_ISS;
	case JOSE_ERR_AUD: return AUTHD_ERR_AUD;
	case JOSE_ERR_NONCE: return AUTHD_ERR_NONCE;
	case JOSE_ERR_NOMEM: return AUTHD_ERR_NOMEM;
	case JOSE_ERR_KEY: return AUTHD_ERR_FORMAT;
	}
	return AUTHD_ERR_FORMAT;
}

/* Signature check against the cached set, with at most one refetch when the
 * kid is unknown. */
static int
verify_sig(authd_client_t *c, const char *token, const char *typ, json_t **hdr,
           json_t **payload)
{
	struct ks_ref *ref;
	uint64_t gen;
	enum jose_err e;
	int rc, tries;

	pthread_mutex_lock(&c->lock);
	ref = ks_take_locked(c, &gen);
	pthread_mutex_unlock(&c->lock);
	if (ref == NULL) {
		if ((rc = jwks_refresh(c, gen, 0)) != AUTHD_OK)
			return rc;
		pthread_mutex_lock(&c->lock);
		ref = ks_take_locked(c, &gen);
		pthread_mutex_unlock(&c->lock);
		if (ref == NULL)
			return AUTHD_ERR_UNAVAILABLE;
	}
	for (tries = 0;; tries++) {
		e = jose_verify(token, ref->ks, typ, hdr, payload);
		client_ks_release(ref);
		if (e != JOSE_ERR_KID || tries == 1)
			return map_jose(e);
		if ((rc = jwks_refresh(c, gen, 1)) != AUTHD_OK)
			return rc == AUTHD_ERR_KID ? AUTHD_ERR_KID : rc;
		pthread_mutex_lock(&c->lock);
		ref = ks_take_locked(c, &gen);
		pthread_mutex_unlock(&c->lock);
		if (ref == NULL)
			return AUTHD_ERR_KID;
	}
}

/* An ID token's typ is "JWT" or absent (OIDC Core); anything else, "at+jwt"
 * above all, is another kind of token presented in the wrong place. */
static int
id_typ_ok(const json_t *hdr)
{
	const json_t *t = json_object_get(hdr, "typ");
	const char *s;

	if (t == NULL)
		return 1;
	if ((s = json_string_value(t)) == NULL)
		return 0;
	if (strncasecmp(s, "application/", 12) == 0)
		s += 12;
	return strcasecmp(s, "JWT") == 0;
}

authd_claims_t *
claims_wrap(json_t *j)
{
	authd_claims_t *cl;

	if (j == NULL)
		return NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		json_decref(j);
		return NULL;
	}
	cl->j = j;
	return cl;
}

int
client_verify(authd_client_t *c, const char *token, int access, const char *aud,
              const char *nonce, authd_claims_t **out)
{
	struct jose_claims_want want;
	json_t *hdr = NULL, *payload = NULL;
	int rc;

	*out = NULL;
	if (strnlen(token, JOSE_MAX_TOKEN + 1) > JOSE_MAX_TOKEN)
		return AUTHD_ERR_FORMAT;
	if (c->issuer == NULL)
		return AUTHD_ERR_CONFIG;
	rc = verify_sig(c, token, access ? "at+jwt" : NULL, &hdr, &payload);
	if (rc != AUTHD_OK)
		goto out;
	if (!access && !id_typ_ok(hdr)) {
		rc = AUTHD_ERR_TYP;
		goto out;
	}
	memset(&want, 0, sizeof(want));
	want.iss = c->issuer;
	want.aud = aud;
	want.nonce = nonce;
	want.leeway = c->leeway;
	if ((rc = map_jose(jose_check_claims(payload, &want))) != AUTHD_OK)
		goto out;
	if ((*out = claims_wrap(payload)) == NULL)
		rc = AUTHD_ERR_NOMEM;
	payload = NULL;
out:
	json_decref(hdr);
	json_decref(payload);
	return rc;
}

int
authd_client_verify_access_token(authd_client_t *c, const char *token,
                                 const char *expected_aud, authd_claims_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (c == NULL || token == NULL || expected_aud == NULL || *expected_aud == '\0' ||
	    out == NULL)
		return AUTHD_ERR_ARG;
	return client_verify(c, token, 1, expected_aud, NULL, out);
}

int
authd_client_verify_id_token(authd_client_t *c, const char *token, const char *client_id,
                             const char *nonce, authd_claims_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (c == NULL || token == NULL || out == NULL)
		return AUTHD_ERR_ARG;
	if (client_id == NULL)
		client_id = c->client_id;
	if (client_id == NULL || *client_id == '\0')
		return AUTHD_ERR_CONFIG;
	return client_verify(c, token, 0, client_id, nonce, out);
}

const char *
authd_claims_string(const authd_claims_t *cl, const char *name)
{
	if (cl == NULL || name == NULL)
		return NULL;
	return json_string_value(json_object_get(cl->j, name));
}

int
authd_claims_int(const authd_claims_t *cl, const char *name, int64_t *out)
{
	const json_t *v;

	if (cl == NULL || name == NULL || out == NULL)
		return AUTHD_ERR_ARG;
	v = json_object_get(cl->j, name);
	if (!json_is_integer(v))
		return AUTHD_ERR_NOT_FOUND;
	*out = (int64_t)json_integer_value(v);
	return AUTHD_OK;
}

int
authd_claims_array_has(const authd_claims_t *cl, const char *name, const char *value)
{
	const json_t *v, *e;
	size_t i;

	if (cl == NULL || name == NULL || value == NULL)
		return 0;
	v = json_object_get(cl->j, name);
	if (json_is_string(v))
		return strcmp(json_string_value(v), value) == 0;
	json_array_foreach(v, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), value) == 0)
			return 1;
	return 0;
}

const char *
authd_claims_json(authd_claims_t *cl)
{
	if (cl == NULL)
		return NULL;
	if (cl->compact == NULL)
		cl->compact = json_dumps(cl->j, JSON_COMPACT | JSON_SORT_KEYS);
	return cl->compact;
}

void
authd_claims_free(authd_claims_t **clp)
{
	authd_claims_t *cl;

	if (clp == NULL || (cl = *clp) == NULL)
		return;
	json_decref(cl->j);
	free(cl->compact);
	free(cl);
	*clp = NULL;
}

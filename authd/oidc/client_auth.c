/* authd/oidc/client_auth.c — who is calling /token, /introspect and /revoke:
 * client_secret_basic, client_secret_post, private_key_jwt (RFC 7523) and "none"
 * for public clients. A client uses the method it registered — "client_secret"
 * (the default) is the shared secret by Basic or in the form, as the client's
 * library prefers (openid-client sends it in the form, most others by Basic);
 * presenting two methods at once is refused (RFC 6749 §2.3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/b64.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../metrics.h"
#include "../ratelimit.h"
#include "oidc.h"

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ASSERTION_MAX_LIFETIME 3600

static int fail(struct client_auth *ca, int status, const char *err, const char *desc)
{
	json_decref(ca->client);
	ca->client = NULL;
	ca->status = status;
	ca->err = err;
	ca->desc = desc;
	return -1;
}

static const char *client_method(const json_t *c)
{
	const char *m = json_string_value(json_object_get(c, "token_endpoint_auth_method"));
	return m ? m : "client_secret";
}

static int check_assertion(struct http_req *r, struct client_auth *ca, const char *assertion)
{
	json_t *payload = NULL;
	struct jose_keyset *ks;
	const char *id = json_string_value(json_object_get(ca->client, "client_id"));
	char token_url[512];
	int rc;

	ks = jose_keyset_from_jwks(json_object_get(ca->client, "jwks"));
	if (!ks || jose_keyset_count(ks) == 0) {
		jose_keyset_free(ks);
		return fail(ca, 401, "invalid_client", "client has no usable jwks");
	}
	rc = jose_verify(assertion, ks, NULL, NULL, &payload);
	jose_keyset_free(ks);
	if (rc != JOSE_OK)
		return fail(ca, 401, "invalid_client", "client assertion signature invalid");

	/* aud: the issuer or the endpoint it was sent to (RFC 7523 §3, OIDC Core §9). */
	struct jose_claims_want want = { .iss = id, .leeway = r->authd->conf->leeway };
	snprintf(token_url, sizeof(token_url), "%s%s", r->authd->conf->issuer, r->path);
	want.aud = r->authd->conf->issuer;
	rc = jose_check_claims(payload, &want);
	if (rc == JOSE_ERR_AUD) {
		want.aud = token_url;
		rc = jose_check_claims(payload, &want);
	}
	const char *sub = json_string_value(json_object_get(payload, "sub"));
	const char *jti = json_string_value(json_object_get(payload, "jti"));
	json_int_t exp = json_integer_value(json_object_get(payload, "exp"));
	if (rc == JOSE_OK && (!sub || strcmp(sub, id) != 0))
		rc = JOSE_ERR_ISS;
	if (rc == JOSE_OK && (!jti || !*jti || strlen(jti) >= sizeof(ca->jti)))
		rc = JOSE_ERR_FORMAT;
	if (rc == JOSE_OK && exp > now_s() + ASSERTION_MAX_LIFETIME)
		rc = JOSE_ERR_EXPIRED;
	if (rc != JOSE_OK) {
		json_decref(payload);
		return fail(ca, 401, "invalid_client", "client assertion claims invalid");
	}
	snprintf(ca->jti, sizeof(ca->jti), "%s", jti);
	ca->jti_exp = exp;
	json_decref(payload);
	return 0;
}

int client_authenticate(struct http_req *r, struct store_txn *t, struct client_auth *ca)
{
	const char *authz = http_header(r, "Authorization");
	const char *form_id = http_param(r, "client_id");
	const char *form_secret = http_param(r, "client_secret");
	const char *atype = http_param(r, "client_assertion_type");
	const char *assertion = http_param(r, "client_assertion");
	char *basic = NULL, *basic_secret = NULL;
	const char *id = form_id, *method;
	int used = 0, rc = -1;

	memset(ca, 0, sizeof(*ca));
	if (authz && strncasecmp(authz, "Basic ", 6) == 0) {
		size_t n = strlen(authz + 6), dl;
		basic = malloc(n + 1);
		if (!basic || n > 1024 || b64std_decode((uint8_t *)basic, &dl, authz + 6, n) != 0) {
			free(basic);
			return fail(ca, 401, "invalid_client", "malformed Basic authorization header");
		}
		basic[dl] = '\0';
		char *colon = strchr(basic, ':');
		if (!colon || strlen(basic) != dl) {
			free_secret_str(basic);
			return fail(ca, 401, "invalid_client", "malformed Basic authorization header");
		}
		*colon = '\0';
		basic_secret = colon + 1;
		if (form_decode_inplace(basic) != 0 || form_decode_inplace(basic_secret) != 0) {
			free_secret_str(basic);
			return fail(ca, 401, "invalid_client", "malformed Basic authorization header");
		}
		if (form_id && strcmp(form_id, basic) != 0) {
			free_secret_str(basic);
			return fail(ca, 400, "invalid_request", "client_id differs from the Basic credentials");
		}
		id = basic;
		used++;
	}
	if (form_secret)
		used++;
	if (atype || assertion)
		used++;
	if (used > 1) {
		free_secret_str(basic);
		return fail(ca, 400, "invalid_request", "more than one client authentication method");
	}
	if (assertion && !form_id) {
		/* RFC 7523 lets client_id be omitted: it is the assertion's sub, checked below. */
		json_t *p = NULL;
		const char *d1 = strchr(assertion, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
		if (d1 && d2 && d2 - d1 - 1 < 4096) {
			size_t pl;
			uint8_t *raw = b64url_decode_alloc(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
			if (raw)
				p = json_loadb((const char *)raw, pl, JSON_REJECT_DUPLICATES, NULL);
			free(raw);
		}
		const char *sub = json_string_value(json_object_get(p, "sub"));
		if (sub && strlen(sub) < sizeof(ca->jti))
			snprintf(ca->jti, sizeof(ca->jti), "%s", sub);
		json_decref(p);
		id = ca->jti[0] ? ca->jti : NULL;
	}
	if (!id || !*id) {
		free_secret_str(basic);
		return fail(ca, 401, "invalid_client", "client authentication required");
	}
	if (client_get(t, id, &ca->client) != STORE_OK ||
	    json_is_true(json_object_get(ca->client, "disabled"))) {
		/* Same work as a known client, so unknown ids are not told apart by time. */
		client_secret_check(r->authd->secret_key, NULL, basic_secret ? basic_secret : "x");
		free_secret_str(basic);
		ca->jti[0] = '\0';
		return fail(ca, 401, "invalid_client", "unknown client or bad credentials");
	}
	ca->jti[0] = '\0';
	method = client_method(ca->client);

	if (strcmp(method, "client_secret_basic") == 0) {
		if (basic_secret && client_secret_check(r->authd->secret_key, ca->client, basic_secret))
			rc = 0;
		else
			fail(ca, 401, "invalid_client", "unknown client or bad credentials");
	} else if (strcmp(method, "client_secret") == 0) {
		/* used <= 1 above: exactly one of the two carries the secret. */
		const char *secret = basic_secret ? basic_secret : form_secret;
		if (secret && client_secret_check(r->authd->secret_key, ca->client, secret))
			rc = 0;
		else
			fail(ca, 401, "invalid_client", "unknown client or bad credentials");
	} else if (strcmp(method, "client_secret_post") == 0) {
		if (form_secret && !basic &&
		    client_secret_check(r->authd->secret_key, ca->client, form_secret))
			rc = 0;
		else
			fail(ca, 401, "invalid_client", "unknown client or bad credentials");
	} else if (strcmp(method, "private_key_jwt") == 0) {
		if (!atype || strcmp(atype, ASSERTION_TYPE) != 0 || !assertion)
			fail(ca, 401, "invalid_client", "client_assertion of type jwt-bearer required");
		else
			rc = check_assertion(r, ca, assertion);
	} else if (strcmp(method, "none") == 0) {
		if (used == 0)
			rc = 0;
		else
			fail(ca, 401, "invalid_client", "public client must not send credentials");
	} else {
		fail(ca, 401, "invalid_client", "client authentication method not supported");
	}
	free_secret_str(basic);
	return rc;
}

int client_auth_record(struct store_txn *t, const struct client_auth *ca)
{
	char key[160];
	json_t *v;
	int rc;

	if (!ca->jti[0])
		return STORE_OK;
	snprintf(key, sizeof(key), "assertion:%s:%s",
	         json_string_value(json_object_get(ca->client, "client_id")), ca->jti);
	v = json_pack("{sI}", "exp", (json_int_t)ca->jti_exp);
	rc = store_puts(t, T_JTI, key, v, STORE_NOOVERWRITE);
	json_decref(v);
	return rc;
}

int
client_auth_jti(const struct client_auth *ca, struct rec *out)
{
	char id[160];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ca->jti[0])
		return ST_NOTFOUND;
	/* The id client_auth_record uses: both paths share one replay space. */
	snprintf(id, sizeof(id), "assertion:%s:%s",
	    json_string_value(json_object_get(ca->client, "client_id")), ca->jti);
	if ((rc = rec_init(out, RK_JTI, id)) != ST_OK)
		return rc;
	out->expires = ca->jti_exp;
	out->body = json_object();
	return out->body ? ST_OK : ST_ERROR;
}

void client_auth_reply_error(struct http_req *r, const struct client_auth *ca)
{
	/* RFC 6749 §5.2: a 401 names the scheme the client can authenticate with. */
	if (ca->status == 401)
		http_add_header(r, "WWW-Authenticate", "Basic realm=\"authd\", charset=\"UTF-8\"");
	http_reply_oauth_error(r, ca->status, ca->err, ca->desc);
}

/* ---- the client's request rate ---------------------------------------------------- */

struct rate_refusal {
	struct http_req *r;
	char client[RATELIMIT_KEY_MAX + 1];
	const char *endpoint;
	long retry_after, refused;
};

/* 429 with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3) and error "slow_down".
 * Why slow_down and not invalid_request: it is the registered token-endpoint
 * error for "you are asking too often" (RFC 8628 §3.5, IANA OAuth Extensions
 * Error registry); device-flow pollers already back off on it (interval + 5 s),
 * and every other OAuth client, which does not know it, still sees an error and
 * the HTTP 429 that generic retry logic honours. invalid_request would tell the
 * client its request is malformed: a library logs a bug and never retries. */
static void
rate_reply(struct http_req *r, long retry_after)
{
	char ra[24];

	snprintf(ra, sizeof(ra), "%ld", retry_after);
	http_add_header(r, "Retry-After", ra);
	http_reply_oauth_error(r, 429, "slow_down",
	    "too many requests from this client; retry after Retry-After seconds");
}

static int
rate_audit_write(struct store_txn *t, void *arg)
{
	struct rate_refusal *q = arg;
	json_t *f = json_pack("{s:s s:s s:s s:I s:I}", "client", q->client, "ip", q->r->peer,
	    "endpoint", q->endpoint, "refused", (json_int_t)q->refused, "retry_after",
	    (json_int_t)q->retry_after);
	int rc = f ? audit_append(t, "client.rate_limited", f) : STORE_IO;

	json_decref(f);
	return rc;
}

static void
rate_audit_done(int rc, void *arg)
{
	struct rate_refusal *q = arg;

	(void)rc; /* refused either way */
	rate_reply(q->r, q->retry_after);
	free(q);
}

static const char *
rate_endpoint(const struct http_req *r)
{
	static const char *const names[] = { "token", "introspect", "revoke",
		"device_authorization" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (r->path && r->path[0] == '/' && strcmp(r->path + 1, names[i]) == 0)
			return names[i];
	return "other";
}

int
client_rate_check(struct http_req *r, const struct client_auth *ca)
{
	const char *id = json_string_value(json_object_get(ca->client, "client_id"));
	struct ratelimit_verdict v;
	struct rate_refusal *q;

	ratelimit_take(r->authd->client_rate, id, mono_ns(), &v);
	if (v.retry_after == 0)
		return 0;
	metrics_rate_limited(rate_endpoint(r));
	if (v.audit_due && (q = calloc(1, sizeof(*q))) != NULL) {
		q->r = r;
		snprintf(q->client, sizeof(q->client), "%s", id);
		q->endpoint = rate_endpoint(r);
		q->retry_after = v.retry_after;
		q->refused = v.refused;
		if (http_store_write(r, rate_audit_write, rate_audit_done, q) == STORE_OK)
			return -1;
		free(q);
	}
	rate_reply(r, v.retry_after);
	return -1;
}

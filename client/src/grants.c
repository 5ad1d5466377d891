/* client/src/grants.c — calls to authd's token-side endpoints as a client:
 * introspection (RFC 7662), client_credentials, the device authorization grant
 * (RFC 8628) and the host login (password, then OTP) that pam_authd uses.
 * Every request body is built in a buffer of ours and wiped after the call;
 * every token received is wiped when its holder is freed. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/util.h"

#define MFA_OTP_GRANT "urn:authd:params:oauth:grant-type:mfa-otp"
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static void
body_wipe_free(struct buf *b)
{
	if (b->p != NULL)
		wipe(b->p, b->cap);
	buf_free(b);
}

static void
form_add(struct buf *b, const char *key, const char *val)
{
	if (val == NULL)
		return;
	if (b->len > 0)
		buf_adds(b, "&");
	buf_adds(b, key);
	buf_adds(b, "=");
	buf_add_urlenc(b, val);
}

static int
param_ok(const char *s)
{
	return s != NULL && *s != '\0' && strnlen(s, CLIENT_MAX_PARAM + 1) <= CLIENT_MAX_PARAM;
}

static char *
json_strdup(const json_t *j, const char *name)
{
	const char *s = json_string_value(json_object_get(j, name));

	return s != NULL ? strdup(s) : NULL;
}

/* Every answer that reaches here came from authd (the transport turned a 5xx
 * into AUTHD_ERR_UNAVAILABLE already), so every one is some refusal: an
 * error code this library does not know, a 4xx without an OAuth body, a
 * redirect. A caller that falls back to something else when authd cannot be
 * reached (pam_authd under authinfo_unavail=ignore) must never do so because
 * authd said no in a way it did not expect. */
int
grant_error_status(const struct chttp_resp *r, const json_t *j)
{
	const char *e = json_string_value(json_object_get(j, "error"));

	if (r->status < 300)
		return AUTHD_ERR_PROTOCOL;   /* a success that is not one: fail closed */
	if (r->status == 429)
		return AUTHD_ERR_THROTTLED;
	if (e == NULL)
		return r->status == 401 ? AUTHD_ERR_CLIENT_AUTH : AUTHD_ERR_REFUSED;
	if (strcmp(e, "invalid_client") == 0 || strcmp(e, "unauthorized_client") == 0)
		return AUTHD_ERR_CLIENT_AUTH;
	/* authd answers a throttled login with invalid_grant plus Retry-After. */
	if (strcmp(e, "invalid_grant") == 0)
		return r->retry_after >= 0 ? AUTHD_ERR_THROTTLED : AUTHD_ERR_DENIED;
	if (strcmp(e, "access_denied") == 0)
		return AUTHD_ERR_DENIED;
	if (strcmp(e, "mfa_required") == 0)
		return AUTHD_ERR_MFA_REQUIRED;
	if (strcmp(e, "unmet_authentication_requirements") == 0)
		return AUTHD_ERR_UNMET;
	if (strcmp(e, "authorization_pending") == 0)
		return AUTHD_ERR_PENDING;
	if (strcmp(e, "slow_down") == 0)
		return AUTHD_ERR_SLOW_DOWN;
	if (strcmp(e, "expired_token") == 0)
		return AUTHD_ERR_EXPIRED;
	/* invalid_request, invalid_scope, unsupported_grant_type, and also
	 * temporarily_unavailable with a 4xx: the status decides, not the name. */
	return AUTHD_ERR_REFUSED;
}

/* ---- tokens ---- */

authd_tokens_t *
tokens_from_json(const json_t *j)
{
	authd_tokens_t *t;
	const json_t *e;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->access_token = json_strdup(j, "access_token");
	t->id_token = json_strdup(j, "id_token");
	t->refresh_token = json_strdup(j, "refresh_token");
	t->scope = json_strdup(j, "scope");
	e = json_object_get(j, "expires_in");
	if (json_is_integer(e) && json_integer_value(e) > 0 && json_integer_value(e) < 100000000)
		t->expires_in = (int)json_integer_value(e);
	if (t->access_token == NULL) {
		authd_tokens_free(&t);
		return NULL;
	}
	return t;
}

const char *authd_tokens_access_token(const authd_tokens_t *t) { return t ? t->access_token : NULL; }
const char *authd_tokens_id_token(const authd_tokens_t *t) { return t ? t->id_token : NULL; }
const char *authd_tokens_refresh_token(const authd_tokens_t *t) { return t ? t->refresh_token : NULL; }
const char *authd_tokens_scope(const authd_tokens_t *t) { return t ? t->scope : NULL; }
int authd_tokens_expires_in(const authd_tokens_t *t) { return t ? t->expires_in : 0; }

void
authd_tokens_free(authd_tokens_t **tp)
{
	authd_tokens_t *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	free_secret_str(t->access_token);
	free_secret_str(t->id_token);
	free_secret_str(t->refresh_token);
	free(t->scope);
	free(t);
	*tp = NULL;
}

/* POSTs body to the named endpoint; on AUTHD_OK *j is the JSON object of a
 * 200 answer, else the error status (with *r kept for the caller to read
 * Retry-After when asked). Always wipes and frees body. */
static int
post_endpoint(authd_client_t *c, const char *endpoint, struct buf *body, int basic,
              long timeout_ms, json_t **j, int *retry_after)
{
	struct chttp_resp r;
	const char *url;
	int rc;

	*j = NULL;
	if (retry_after != NULL)
		*retry_after = 0;
	if ((rc = client_ensure_meta(c)) != AUTHD_OK)
		goto out;
	if ((url = client_endpoint(c, endpoint)) == NULL) {
		rc = AUTHD_ERR_PROTOCOL;
		goto out;
	}
	if ((rc = chttp_post_form(c, url, body, basic, timeout_ms, &r)) != AUTHD_OK)
		goto out;
	*j = chttp_json(&r);
	if (r.status == 200) {
		rc = *j != NULL ? AUTHD_OK : AUTHD_ERR_PROTOCOL;
	} else {
		rc = grant_error_status(&r, *j);
		if (retry_after != NULL && r.retry_after > 0)
			*retry_after = r.retry_after;
		if (rc != AUTHD_ERR_MFA_REQUIRED) {
			json_decref(*j);
			*j = NULL;
		}
	}
	chttp_resp_free(&r);
out:
	body_wipe_free(body);
	return rc;
}

static int
need_secret(const authd_client_t *c)
{
	return c->client_id != NULL && c->secret != NULL;
}

/* ---- introspection, client_credentials ---- */

int
authd_client_introspect(authd_client_t *c, const char *token, authd_claims_t **out)
{
	struct buf body;
	json_t *j;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || !param_ok(token) || out == NULL)
		return AUTHD_ERR_ARG;
	if (!need_secret(c))
		return AUTHD_ERR_CONFIG;
	buf_init(&body);
	form_add(&body, "token", token);
	if ((rc = post_endpoint(c, "introspection_endpoint", &body, 1, 0, &j, NULL)) != AUTHD_OK)
		return rc;
	if (!json_is_boolean(json_object_get(j, "active"))) {
		json_decref(j);
		return AUTHD_ERR_PROTOCOL;
	}
	if (!json_is_true(json_object_get(j, "active"))) {
		json_decref(j);
		return AUTHD_ERR_INACTIVE;
	}
	if ((*out = claims_wrap(j)) == NULL)
		return AUTHD_ERR_NOMEM;
	return AUTHD_OK;
}

int
authd_client_credentials(authd_client_t *c, const char *scope, char **access_token,
                         int *expires_in)
{
	struct buf body;
	authd_tokens_t *t;
	json_t *j;
	int rc;

	if (access_token != NULL)
		*access_token = NULL;
	if (c == NULL || access_token == NULL || (scope != NULL && !param_ok(scope)))
		return AUTHD_ERR_ARG;
	if (!need_secret(c))
		return AUTHD_ERR_CONFIG;
	buf_init(&body);
	form_add(&body, "grant_type", "client_credentials");
	form_add(&body, "scope", scope);
	if ((rc = post_endpoint(c, "token_endpoint", &body, 1, 0, &j, NULL)) != AUTHD_OK)
		return rc;
	t = tokens_from_json(j);
	json_decref(j);
	if (t == NULL)
		return AUTHD_ERR_PROTOCOL;
	*access_token = t->access_token;
	t->access_token = NULL;
	if (expires_in != NULL)
		*expires_in = t->expires_in;
	authd_tokens_free(&t);
	return AUTHD_OK;
}

/* ---- device authorization grant ---- */

/* A user name as authd accepts one: 1..64 of [A-Za-z0-9._@-]. */
static int
login_hint_ok(const char *s)
{
	size_t i, n = s != NULL ? strnlen(s, 65) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._@-", s[i]) != NULL))
			return 0;
	return 1;
}

/* An address or host name as PAM's rhost holds it: 1..255 printable ASCII
 * characters, no space. */
static int
remote_addr_ok(const char *s)
{
	size_t i, n = s != NULL ? strnlen(s, 256) : 0;

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
device_start(authd_client_t *c, const char *scope, const char *login_hint,
             const char *remote_addr, authd_device_t **dev)
{
	struct buf body;
	authd_device_t *d;
	const json_t *v;
	json_t *j;
	int rc;

	if (c->client_id == NULL)
		return AUTHD_ERR_CONFIG;
	buf_init(&body);
	/* A public client names itself in the body; a confidential one authenticates. */
	if (c->secret == NULL)
		form_add(&body, "client_id", c->client_id);
	form_add(&body, "scope", scope);
	form_add(&body, "login_hint", login_hint);
	form_add(&body, "remote_addr", remote_addr);
	rc = post_endpoint(c, "device_authorization_endpoint", &body, c->secret != NULL, 0,
	                   &j, NULL);
	if (rc != AUTHD_OK)
		return rc;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		json_decref(j);
		return AUTHD_ERR_NOMEM;
	}
	d->device_code = json_strdup(j, "device_code");
	d->user_code = json_strdup(j, "user_code");
	d->verification_uri = json_strdup(j, "verification_uri");
	d->verification_uri_complete = json_strdup(j, "verification_uri_complete");
	v = json_object_get(j, "interval");
	d->interval = json_is_integer(v) && json_integer_value(v) > 0 &&
	              json_integer_value(v) <= 3600 ? (int)json_integer_value(v) : 5;
	v = json_object_get(j, "expires_in");
	d->expires_in = json_is_integer(v) && json_integer_value(v) > 0 &&
	                json_integer_value(v) <= 86400 ? (int)json_integer_value(v) : 0;
	d->start_ns = mono_ns();
	json_decref(j);
	if (d->device_code == NULL || d->user_code == NULL || d->verification_uri == NULL ||
	    d->expires_in == 0) {
		authd_device_free(&d);
		return AUTHD_ERR_PROTOCOL;
	}
	*dev = d;
	return AUTHD_OK;
}

int
authd_client_device_start(authd_client_t *c, const char *scope, authd_device_t **dev)
{
	if (dev != NULL)
		*dev = NULL;
	if (c == NULL || dev == NULL || (scope != NULL && !param_ok(scope)))
		return AUTHD_ERR_ARG;
	return device_start(c, scope, NULL, NULL, dev);
}

int
authd_client_device_start_host(authd_client_t *c, const char *scope, const char *login_hint,
                               const char *remote_addr, authd_device_t **dev)
{
	if (dev != NULL)
		*dev = NULL;
	if (c == NULL || dev == NULL || (scope != NULL && !param_ok(scope)) ||
	    !login_hint_ok(login_hint) || (remote_addr != NULL && !remote_addr_ok(remote_addr)))
		return AUTHD_ERR_ARG;
	return device_start(c, scope, login_hint, remote_addr, dev);
}

const char *authd_device_user_code(const authd_device_t *d) { return d ? d->user_code : NULL; }
const char *authd_device_verification_uri(const authd_device_t *d) { return d ? d->verification_uri : NULL; }
const char *authd_device_verification_uri_complete(const authd_device_t *d) { return d ? d->verification_uri_complete : NULL; }
int authd_device_interval(const authd_device_t *d) { return d ? d->interval : 0; }
int authd_device_expires_in(const authd_device_t *d) { return d ? d->expires_in : 0; }

void
authd_device_free(authd_device_t **dp)
{
	authd_device_t *d;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	free_secret_str(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	free(d);
	*dp = NULL;
}

static int
device_poll_bounded(authd_client_t *c, authd_device_t *dev, long timeout_ms,
                    authd_tokens_t **out)
{
	struct buf body;
	json_t *j;
	int rc;

	if (dev->expires_in > 0 &&
	    mono_ns() - dev->start_ns >= (uint64_t)dev->expires_in * 1000000000ull)
		return AUTHD_ERR_EXPIRED;
	buf_init(&body);
	form_add(&body, "grant_type", DEVICE_GRANT);
	form_add(&body, "device_code", dev->device_code);
	if (c->secret == NULL)
		form_add(&body, "client_id", c->client_id);
	rc = post_endpoint(c, "token_endpoint", &body, c->secret != NULL, timeout_ms, &j, NULL);
	if (rc == AUTHD_ERR_SLOW_DOWN && dev->interval <= 3600)
		dev->interval += 5; /* RFC 8628 §3.5 */
	if (rc != AUTHD_OK)
		return rc;
	*out = tokens_from_json(j);
	json_decref(j);
	return *out != NULL ? AUTHD_OK : AUTHD_ERR_PROTOCOL;
}

int
authd_client_device_poll(authd_client_t *c, authd_device_t *dev, authd_tokens_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (c == NULL || dev == NULL || out == NULL)
		return AUTHD_ERR_ARG;
	if (c->client_id == NULL)
		return AUTHD_ERR_CONFIG;
	return device_poll_bounded(c, dev, 0, out);
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
authd_client_device_wait(authd_client_t *c, authd_device_t *dev, int timeout_ms,
                         authd_tokens_t **out)
{
	uint64_t deadline, now, left_ms, step;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || dev == NULL || out == NULL || timeout_ms <= 0)
		return AUTHD_ERR_ARG;
	if (c->client_id == NULL)
		return AUTHD_ERR_CONFIG;
	deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	/* Bounded: each round sleeps at least min(interval, time left) and the
	 * loop ends at the deadline. */
	for (;;) {
		now = mono_ns();
		if (now >= deadline)
			return AUTHD_ERR_TIMEOUT;
		left_ms = (deadline - now) / 1000000ull;
		if (left_ms == 0)
			return AUTHD_ERR_TIMEOUT;
		rc = device_poll_bounded(c, dev, (long)left_ms, out);
		if (rc != AUTHD_ERR_PENDING && rc != AUTHD_ERR_SLOW_DOWN)
			return rc;
		now = mono_ns();
		if (now >= deadline)
			return AUTHD_ERR_TIMEOUT;
		step = (uint64_t)dev->interval * 1000ull;
		left_ms = (deadline - now) / 1000000ull;
		if (step >= left_ms) {
			/* The next poll would come after the deadline. */
			sleep_ms(left_ms);
			return AUTHD_ERR_TIMEOUT;
		}
		sleep_ms(step);
	}
}

/* ---- host login ---- */

const authd_tokens_t *authd_login_tokens(const authd_login_t *l) { return l ? l->tokens : NULL; }
const authd_claims_t *authd_login_claims(const authd_login_t *l) { return l ? l->claims : NULL; }
int authd_login_retry_after(const authd_login_t *l) { return l ? l->retry_after : 0; }

int
authd_login_has_mfa_method(const authd_login_t *l, const char *name)
{
	const json_t *e;
	size_t i;

	if (l == NULL || name == NULL)
		return 0;
	json_array_foreach(l->mfa_methods, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), name) == 0)
			return 1;
	return 0;
}

void
authd_login_free(authd_login_t **lp)
{
	authd_login_t *l;

	if (lp == NULL || (l = *lp) == NULL)
		return;
	authd_tokens_free(&l->tokens);
	authd_claims_free(&l->claims);
	free_secret_str(l->mfa_token);
	json_decref(l->mfa_methods);
	free(l);
	*lp = NULL;
}

/* A 200 from the token endpoint: keep the tokens and verify the access token
 * for this host (aud = our client id) so the caller can trust its claims. */
static int
login_take_tokens(authd_client_t *c, authd_login_t *l, json_t *j)
{
	authd_tokens_t *t = tokens_from_json(j);
	authd_claims_t *cl = NULL;
	int rc;

	json_decref(j);
	if (t == NULL)
		return AUTHD_ERR_PROTOCOL;
	if ((rc = client_verify(c, t->access_token, 1, c->client_id, NULL, &cl)) != AUTHD_OK) {
		authd_tokens_free(&t);
		return rc;
	}
	authd_tokens_free(&l->tokens);
	authd_claims_free(&l->claims);
	l->tokens = t;
	l->claims = cl;
	free_secret_str(l->mfa_token);
	l->mfa_token = NULL;
	return AUTHD_OK;
}

int
authd_client_password_login(authd_client_t *c, const char *username, const char *password,
                            const char *scope, authd_login_t **out)
{
	struct buf body;
	authd_login_t *l;
	json_t *j;
	int rc, retry;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL || !param_ok(username) || password == NULL ||
	    strnlen(password, CLIENT_MAX_PARAM + 1) > CLIENT_MAX_PARAM ||
	    (scope != NULL && !param_ok(scope)))
		return AUTHD_ERR_ARG;
	if (!need_secret(c))
		return AUTHD_ERR_CONFIG;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return AUTHD_ERR_NOMEM;
	buf_init(&body);
	form_add(&body, "grant_type", "password");
	form_add(&body, "username", username);
	form_add(&body, "password", password);
	form_add(&body, "scope", scope);
	rc = post_endpoint(c, "token_endpoint", &body, 1, 0, &j, &retry);
	switch (rc) {
	case AUTHD_OK:
		rc = login_take_tokens(c, l, j);
		break;
	case AUTHD_ERR_MFA_REQUIRED: {
		const char *mt = json_string_value(json_object_get(j, "mfa_token"));
		json_t *m = json_object_get(j, "mfa_methods");

		if (mt == NULL || strlen(mt) > 512 || (l->mfa_token = strdup(mt)) == NULL) {
			rc = mt == NULL || strlen(mt) > 512 ? AUTHD_ERR_PROTOCOL : AUTHD_ERR_NOMEM;
		} else if (json_is_array(m)) {
			l->mfa_methods = json_incref(m);
		}
		json_decref(j);
		break;
	}
	case AUTHD_ERR_THROTTLED:
		l->retry_after = retry > 0 ? retry : 1;
		break;
	default:
		break;
	}
	if (rc == AUTHD_OK || rc == AUTHD_ERR_MFA_REQUIRED || rc == AUTHD_ERR_THROTTLED)
		*out = l;
	else
		authd_login_free(&l);
	return rc;
}

int
authd_client_otp_login(authd_client_t *c, authd_login_t *login, const char *otp)
{
	struct buf body;
	json_t *j;
	int rc, retry;

	if (c == NULL || login == NULL || !param_ok(otp) || strlen(otp) > 64)
		return AUTHD_ERR_ARG;
	if (login->mfa_token == NULL)
		return AUTHD_ERR_ARG;
	if (!need_secret(c))
		return AUTHD_ERR_CONFIG;
	buf_init(&body);
	form_add(&body, "grant_type", MFA_OTP_GRANT);
	form_add(&body, "mfa_token", login->mfa_token);
	form_add(&body, "otp", otp);
	rc = post_endpoint(c, "token_endpoint", &body, 1, 0, &j, &retry);
	if (rc == AUTHD_OK)
		return login_take_tokens(c, login, j);
	json_decref(j);
	if (rc == AUTHD_ERR_THROTTLED)
		login->retry_after = retry > 0 ? retry : 1;
	return rc;
}

/* authd/oidc/hostlogin.c — host login: how a Linux server (pam_authd) checks a
 * person's password and one-time code with authd.
 *
 * The host is a confidential client registered with the "password" grant; no other
 * client may use it. POST /token grant_type=password checks the password; when the
 * host's min_aal needs more, the answer is 400 mfa_required with a short-lived,
 * single-use mfa_token bound to this client and this person, and the host sends
 * the code with grant_type=urn:authd:params:oauth:grant-type:mfa-otp. Each step
 * runs in the sign-in core (authd/signin.h), the same as the browser's: one
 * message for unknown user and wrong password at the same cost, the throttle
 * reservation before the secret is checked (at most [throttle]
 * login_max_attempts wrong codes per mfa_token), a one-time code consumed
 * atomically with the login, every step audited with the method's own event.
 * This file is the adapter: it checks the client and loads the mfa_token,
 * records the client assertion once in the reservation, stores the next
 * mfa_token in the commit, and answers in the token endpoint's words. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../config.h"
#include "../metrics.h"
#include "../policy.h"
#include "../signin.h"
#include "../throttle.h"
#include "../users.h"
#include "oidc.h"

#define MFA_TTL 300

struct hl {
	struct signin s; /* the step (s.ctx = this) */
	struct http_req *r;
	struct client_auth ca;
	const char *client_id;
	char scope[OIDC_MAX_SCOPE + 1];
	char mfa_token[OIDC_SECRET_LEN + 1];
};

static void hl_free(struct hl *h)
{
	json_decref(h->ca.client);
	signin_clear(&h->s);
	wipe(h, sizeof(*h));
	free(h);
}

static struct hl *hl_new(struct http_req *r, struct client_auth *ca)
{
	struct hl *h = calloc(1, sizeof(*h));

	if (!h) {
		json_decref(ca->client);
		ca->client = NULL;
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return NULL;
	}
	h->r = r;
	h->ca = *ca;
	ca->client = NULL;
	h->client_id = json_string_value(json_object_get(h->ca.client, "client_id"));
	h->s.required = (int)json_integer_value(json_object_get(h->ca.client, "min_aal"));
	if (h->s.required < 1)
		h->s.required = 1;
	return h;
}

static void refuse(struct hl *h, int status, const char *err, const char *desc)
{
	http_reply_oauth_error(h->r, status, err, desc);
	hl_free(h);
}

/* A private_key_jwt assertion is good for one request (its jti is recorded, in
 * the reservation: the first write of the request). */
static int
host_reserve(struct store_txn *t, struct signin *s)
{
	struct hl *h = s->ctx;

	return client_auth_record(t, &h->ca) == STORE_OK ? ST_OK : ST_DENIED;
}

/* The host's part of a passed step's commit: the mfa_token for the code. */
static int
host_commit(struct store_txn *t, struct signin *s)
{
	struct hl *h = s->ctx;
	char key[65];
	int rc;

	if (s->outcome != SIGNIN_NEXT)
		return ST_OK;
	json_t *mfa = json_pack("{s:s s:s s:s s:{s:s s:I s:I s:I} s:i s:I}", "kind", "host",
	    "client_id", h->client_id, "scope", h->scope, "partial", "user", s->proof.user_id,
	    "amr", (json_int_t)s->amr, "factors", (json_int_t)s->factors, "props",
	    (json_int_t)s->props, "level", s->required, "expires", (json_int_t)(now_s() + MFA_TTL));
	if (!mfa || secret_new(h->mfa_token) != 0) {
		json_decref(mfa);
		return ST_IO;
	}
	secret_key_hex(h->mfa_token, key);
	rc = store_puts(t, T_LOGINS, key, mfa, STORE_NOOVERWRITE);
	json_decref(mfa);
	return rc;
}

static void
grant(struct hl *h)
{
	struct http_req *r = h->r;
	struct signin *s = &h->s;
	struct token_grant tg = {
		.client_id = h->client_id,
		.user_id = s->proof.user_id,
		.scope = h->scope,
		.auth_time = now_s(),
		.level = s->level,
		.amr = s->amr,
		.factors = s->factors,
	};
	int ttl = 0;
	char *at = token_access(r, &tg, s->user, &ttl), *idt = NULL;
	if (at && scope_has(h->scope, "openid"))
		idt = token_id(r, &tg, h->ca.client, s->user, at);
	if (!at || (scope_has(h->scope, "openid") && !idt)) {
		free(at);
		free(idt);
		refuse(h, 500, "server_error", "token signing failed");
		return;
	}
	json_t *o = json_pack("{s:s s:s s:i s:s}", "access_token", at, "token_type", "Bearer",
	                      "expires_in", ttl, "scope", h->scope);
	if (idt)
		json_object_set_new(o, "id_token", json_string(idt));
	free_secret_str(at);
	free_secret_str(idt);
	metrics_token("password");
	http_reply_json(r, 200, o);
	hl_free(h);
}

static void
refused(struct hl *h)
{
	struct signin *s = &h->s;
	char ra[24];

	switch (s->st) {
	case ST_DENIED:
		refuse(h, 401, "invalid_client", "client assertion already used");
		return;
	case ST_EXPIRED:
		refuse(h, 400, "invalid_grant", "mfa_token unknown, expired or already used");
		return;
	case ST_BUSY:
		http_add_header(h->r, "Retry-After", "1");
		refuse(
		    h, 429, "temporarily_unavailable", "too many attempts in progress; try again");
		return;
	case ST_THROTTLED:
		break;
	default:
		http_add_header(h->r, "Retry-After", "1");
		refuse(h, 503, "temporarily_unavailable", "busy; try again");
		return;
	}
	switch (s->th.verdict) {
	case THROTTLE_SPENT:
		refuse(h, 400, "invalid_grant", "too many wrong one-time codes; start the login again");
		return;
	case THROTTLE_BUSY:
		/* Another check for this account or mfa_token is running: at once, not queued. */
		snprintf(ra, sizeof(ra), "%ld", s->th.wait);
		http_add_header(h->r, "Retry-After", ra);
		refuse(h, 429, "temporarily_unavailable", "another attempt for this account is being checked");
		return;
	default:
		snprintf(ra, sizeof(ra), "%ld", s->th.wait);
		http_add_header(h->r, "Retry-After", ra);
		refuse(h, 400, "invalid_grant", "too many failed attempts; try again after Retry-After seconds");
		return;
	}
}

/* The core's answer, on the request's loop, in the token endpoint's words. */
static void
host_done(struct signin *s)
{
	struct hl *h = s->ctx;

	switch (s->outcome) {
	case SIGNIN_DONE:
		grant(h);
		return;
	case SIGNIN_NEXT: {
		json_t *o = json_pack("{s:s s:s s:s s:[s]}", "error", "mfa_required",
		    "error_description", "a one-time code is required", "mfa_token", h->mfa_token,
		    "mfa_methods", "otp");
		http_reply_json(h->r, 400, o);
		hl_free(h);
		return;
	}
	case SIGNIN_UNMET:
		refuse(h, 400, "unmet_authentication_requirements",
		    "this account has no enrolled method that reaches the level this host requires");
		return;
	case SIGNIN_FAILED:
	case SIGNIN_INVALID: /* counted as a wrong answer (invalid_counts): not reached */
		if (s->spent)
			refuse(h, 400, "invalid_grant",
			    "too many wrong one-time codes; start the login again");
		else
			refuse(h, 400, "invalid_grant",
			    s->later_step ? "one-time code wrong or already used"
			                  : "wrong username or password");
		return;
	case SIGNIN_REFUSED:
		refused(h);
		return;
	default:
		if (s->st == ST_UNAVAILABLE) {
			http_add_header(h->r, "Retry-After", "5");
			refuse(h, 503, "temporarily_unavailable", "busy; try again");
		} else if (s->st == ST_SHUTDOWN) {
			refuse(h, 503, "temporarily_unavailable", "shutting down");
		} else if (s->st == ST_ERROR || s->st == ST_CONFLICT) {
			refuse(h, 500, "server_error", "the check failed");
		} else {
			refuse(h, 500, "server_error", "the login could not be recorded");
		}
		return;
	}
}

/* A credential of a shape that cannot be right (a code that is not six digits,
 * a recovery code where the code goes, an empty or oversized password) is a
 * wrong credential: answered invalid_grant, counted and audited like any other.
 * A host falls back to local passwords only when authd gives no answer;
 * answering these as malformed requests let a mistyped code skip the second
 * factor on such a stack. The host protocol carries one-time codes only. */
static const struct signin_front host_front = {
	.via = "host",
	.unmet_signs_in = 0,
	.invalid_counts = 1,
	.next_amr = AMR_OTP,
	.reserve = host_reserve,
	.commit = host_commit,
	.done = host_done,
};

/* Starts the step in the core. */
static void
hl_run(struct hl *h, struct store_txn *t)
{
	struct http_req *r = h->r;
	struct signin *s = &h->s;

	store_read_end(t);
	s->ctx = h;
	s->front = &host_front;
	s->store = r->authd->store;
	s->conf = r->authd->conf;
	s->authd = r->authd;
	s->pool = http_work_pool(r);
	s->post = loop_post;
	s->poster = http_loop_poster(r);
	s->ip = r->peer;
	s->source = r->peer_prefix;
	s->client_id = h->client_id;
	s->answer = r->form;
	signin_run(s);
}

/* Host login hands out short-lived tokens only: no offline_access. */
static int host_scope(const char *w, void *client)
{
	return client_has(client, "scopes", w) && strcmp(w, "offline_access") != 0;
}

static int scope_ok(struct hl *h, const char *scope)
{
	if (scope && strlen(scope) > OIDC_MAX_SCOPE)
		return 0;
	snprintf(h->scope, sizeof(h->scope), "%s", scope ? scope : "openid");
	return scope_all(h->scope, host_scope, h->ca.client);
}

void host_login_password(struct http_req *r, struct client_auth *ca)
{
	const char *username = http_param(r, "username");
	const char *password = http_param(r, "password");
	struct store_txn *t;
	struct hl *h;

	if (!(h = hl_new(r, ca)))
		return;
	/* Only a missing parameter is a malformed request; an empty password is a
	 * wrong one. */
	if (!username || !*username || !password) {
		refuse(h, 400, "invalid_request", "username and password are required");
		return;
	}
	if (!scope_ok(h, http_param(r, "scope"))) {
		refuse(h, 400, "invalid_scope", "scope not allowed for this client");
		return;
	}
	if (!(h->s.m = method_find("password")) || !(t = store_read_begin(r->authd->store))) {
		refuse(h, 500, "server_error", "store unavailable");
		return;
	}
	signin_throttle_name(username, h->s.uname);
	if (user_by_name(t, h->s.uname, &h->s.user) != STORE_OK)
		h->s.user = NULL;
	hl_run(h, t);
}

void host_login_otp(struct http_req *r, struct client_auth *ca)
{
	const char *token = http_param(r, "mfa_token");
	struct store_txn *t;
	struct hl *h;
	const char *why = NULL;

	if (!(h = hl_new(r, ca)))
		return;
	if (!token || strlen(token) != OIDC_SECRET_LEN || !http_param(r, "otp")) {
		refuse(h, 400, "invalid_request", "mfa_token and otp are required");
		return;
	}
	if (!(t = store_read_begin(r->authd->store))) {
		refuse(h, 500, "server_error", "store unavailable");
		return;
	}
	struct signin *s = &h->s;
	const json_t *p = NULL;
	secret_key_hex(token, s->tx_key);
	if (store_gets(t, T_LOGINS, s->tx_key, &s->tx) != STORE_OK ||
	    !json_is_string(json_object_get(s->tx, "kind")) ||
	    strcmp(json_string_value(json_object_get(s->tx, "kind")), "host") != 0 ||
	    strcmp(str_or(json_string_value(json_object_get(s->tx, "client_id")), ""),
	        h->client_id) != 0 ||
	    json_integer_value(json_object_get(s->tx, "expires")) <= now_s())
		why = "mfa_token unknown, expired or already used";
	else if (!(p = json_object_get(s->tx, "partial")) ||
	    signin_person(t, json_string_value(json_object_get(p, "user")), &s->user) != ST_OK)
		why = "account not available";
	if (!why) {
		s->amr = (unsigned)json_integer_value(json_object_get(p, "amr"));
		s->factors = (unsigned)json_integer_value(json_object_get(p, "factors"));
		s->props = (unsigned)json_integer_value(json_object_get(p, "props"));
		s->required = (int)json_integer_value(json_object_get(s->tx, "level"));
		s->later_step = 1;
		snprintf(h->scope, sizeof(h->scope), "%s",
		    str_or(json_string_value(json_object_get(s->tx, "scope")), "openid"));
		s->m = signin_next_method(t, json_string_value(json_object_get(p, "user")), s->amr,
		    s->factors, s->props, s->required);
		if (!s->m || s->m->amr != AMR_OTP)
			why = "no one-time code method is enrolled";
	}
	if (why) {
		store_read_end(t);
		refuse(h, 400, "invalid_grant", why);
		return;
	}
	signin_throttle_name(json_string_value(json_object_get(s->user, "username")), s->uname);
	hl_run(h, t);
}

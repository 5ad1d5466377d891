/* authd/oidc/resource.c — endpoints that act on issued tokens: userinfo
 * (OIDC Core §5.3), introspection (RFC 7662) and revocation (RFC 7009).
 * A client may introspect or revoke only tokens issued to it (or, for
 * introspection, access tokens naming it in aud); anything else is reported as
 * inactive, so token holders cannot probe each other's tokens. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/util.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../keys.h"
#include "../users.h"
#include "oidc.h"

static int is_jwt(const char *s)
{
	const char *d = strchr(s, '.');
	return d && strchr(d + 1, '.');
}

static int aud_has(const json_t *claims, const char *who)
{
	const json_t *aud = json_object_get(claims, "aud");
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), who) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), who) == 0)
			return 1;
	return 0;
}

static void bearer_error(struct http_req *r, const char *err, const char *desc)
{
	char h[256];

	snprintf(h, sizeof(h), "Bearer error=\"%s\", error_description=\"%s\"", err, desc);
	http_add_header(r, "WWW-Authenticate", h);
	http_reply_json(r, 401, json_pack("{s:s s:s}", "error", err, "error_description", desc));
}

void oidc_userinfo(struct http_req *r)
{
	const char *authz = http_header(r, "Authorization");
	struct store_txn *t;
	json_t *claims = NULL, *user = NULL, *out;

	if (!authz || strncasecmp(authz, "Bearer ", 7) != 0 || !authz[7]) {
		http_add_header(r, "WWW-Authenticate", "Bearer");
		http_reply_json(r, 401, json_pack("{s:s s:s}", "error", "invalid_request",
		                                  "error_description", "Bearer access token required"));
		return;
	}
	if (!(t = store_read_begin(r->authd->store))) {
		http_reply_oauth_error(r, 500, "server_error", "store unavailable");
		return;
	}
	if (token_access_check(r, t, authz + 7, &claims) != 0) {
		store_read_end(t);
		bearer_error(r, "invalid_token", "access token invalid, expired or revoked");
		return;
	}
	const char *scope = json_string_value(json_object_get(claims, "scope"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *cid = json_string_value(json_object_get(claims, "client_id"));
	if (!scope || !scope_has(scope, "openid") || !sub || (cid && strcmp(sub, cid) == 0)) {
		store_read_end(t);
		json_decref(claims);
		http_add_header(r, "WWW-Authenticate", "Bearer error=\"insufficient_scope\", scope=\"openid\"");
		http_reply_json(r, 403, json_pack("{s:s s:s}", "error", "insufficient_scope",
		                                  "error_description", "the openid scope is required"));
		return;
	}
	if (user_by_id(t, sub, &user) != STORE_OK || user_is_disabled(user)) {
		store_read_end(t);
		json_decref(claims);
		json_decref(user);
		bearer_error(r, "invalid_token", "the account is no longer active");
		return;
	}
	store_read_end(t);
	out = json_pack("{s:s}", "sub", sub);
	token_user_claims(out, user, scope);
	json_decref(claims);
	json_decref(user);
	http_reply_json(r, 200, out);
}

static json_t *inactive(void)
{
	return json_pack("{s:b}", "active", 0);
}

/* The common start of /introspect and /revoke (RFC 7662 §2.1, RFC 7009 §2.1): a
 * form body, an authenticated client, a token. Returns the open read view, or
 * NULL after replying. */
static struct store_txn *token_request_begin(struct http_req *r, struct client_auth *ca,
                                             const char **token)
{
	struct store_txn *t;

	*token = http_param(r, "token");
	if (!r->form) {
		http_reply_oauth_error(r, 400, "invalid_request", "form-encoded POST body required");
		return NULL;
	}
	if (!(t = store_read_begin(r->authd->store))) {
		http_reply_oauth_error(r, 500, "server_error", "store unavailable");
		return NULL;
	}
	if (client_authenticate(r, t, ca) != 0) {
		store_read_end(t);
		client_auth_reply_error(r, ca);
		return NULL;
	}
	if (client_rate_check(r, ca) != 0) {
		store_read_end(t);
		json_decref(ca->client);
		return NULL;
	}
	if (!*token || !**token) {
		store_read_end(t);
		json_decref(ca->client);
		http_reply_oauth_error(r, 400, "invalid_request", "token missing");
		return NULL;
	}
	return t;
}

void oidc_introspect(struct http_req *r)
{
	const char *token;
	struct client_auth ca;
	struct store_txn *t;
	json_t *out = NULL;

	if (!(t = token_request_begin(r, &ca, &token)))
		return;
	const char *caller = json_string_value(json_object_get(ca.client, "client_id"));
	if (is_jwt(token)) {
		json_t *claims = NULL;
		if (token_access_check(r, t, token, &claims) == 0) {
			const char *cid = json_string_value(json_object_get(claims, "client_id"));
			if ((cid && strcmp(cid, caller) == 0) || aud_has(claims, caller)) {
				out = claims;
				claims = NULL;
				json_object_set_new(out, "active", json_true());
				json_object_set_new(out, "token_type", json_string("Bearer"));
			}
		}
		json_decref(claims);
	} else if (strlen(token) == OIDC_SECRET_LEN) {
		char key[65];
		json_t *rt = NULL, *fam = NULL;
		secret_key_hex(token, key);
		if (store_gets(t, T_REFRESH, key, &rt) == STORE_OK &&
		    store_gets(t, T_FAMILIES, json_string_value(json_object_get(rt, "family")), &fam) == STORE_OK &&
		    !json_is_true(json_object_get(fam, "revoked")) &&
		    json_integer_value(json_object_get(fam, "gen")) == json_integer_value(json_object_get(rt, "gen")) &&
		    json_integer_value(json_object_get(fam, "expires")) > now_s() &&
		    strcmp(json_string_value(json_object_get(fam, "client")), caller) == 0) {
			out = json_pack("{s:b s:s s:O s:O s:O s:s s:O s:s}", "active", 1, "client_id", caller,
			                "sub", json_object_get(fam, "user"), "scope", json_object_get(fam, "scope"),
			                "exp", json_object_get(fam, "expires"), "iss", r->authd->conf->issuer,
			                "iat", json_object_get(fam, "created"), "token_type", "refresh_token");
		}
		json_decref(rt);
		json_decref(fam);
	}
	store_read_end(t);
	json_decref(ca.client);
	http_reply_json(r, 200, out ? out : inactive());
}

struct revocation {
	struct http_req *r;
	char client_id[65];
	char family[32];        /* refresh token: revoke this family */
	char jti[160];          /* access token: deny-list this jti */
	int64_t exp;
};

static int revoke_write(struct store_txn *t, void *arg)
{
	struct revocation *v = arg;
	json_t *rec, *f;
	int rc = STORE_OK;

	if (v->family[0]) {
		if (store_gets(t, T_FAMILIES, v->family, &rec) != STORE_OK)
			return STORE_OK;
		family_mark_revoked(rec, now_s());
		rc = store_puts(t, T_FAMILIES, v->family, rec, 0);
		json_decref(rec);
	} else if (v->jti[0]) {
		char key[170];
		snprintf(key, sizeof(key), "at:%s", v->jti);
		rec = json_pack("{s:I}", "exp", (json_int_t)v->exp);
		rc = store_puts(t, T_JTI, key, rec, 0);
		json_decref(rec);
	} else {
		return STORE_OK;
	}
	if (rc != STORE_OK)
		return rc;
	f = json_pack("{s:s s:s s:s}", "client", v->client_id, "ip", v->r->peer, "token_type",
	              v->family[0] ? "refresh_token" : "access_token");
	if (v->family[0])
		json_object_set_new(f, "family", json_string(v->family));
	rc = audit_append(t, "token.revoke", f);
	json_decref(f);
	return rc;
}

static void revoke_done(int rc, void *arg)
{
	struct revocation *v = arg;

	if (rc != STORE_OK)
		http_reply_oauth_error(v->r, 503, "temporarily_unavailable", "revocation could not be recorded");
	else
		http_reply(v->r, 200, "application/json", "", 0);
	free(v);
}

void oidc_revoke(struct http_req *r)
{
	const char *token;
	struct client_auth ca;
	struct store_txn *t;
	struct revocation *v;

	if (!(t = token_request_begin(r, &ca, &token)))
		return;
	if (!(v = calloc(1, sizeof(*v)))) {
		store_read_end(t);
		json_decref(ca.client);
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	v->r = r;
	const char *caller = json_string_value(json_object_get(ca.client, "client_id"));
	snprintf(v->client_id, sizeof(v->client_id), "%s", caller);
	if (is_jwt(token)) {
		json_t *p = NULL;
		keys_refresh(r->authd, t);
		/* Signature only: an expired token needs no revocation, but is harmless to list. */
		if (jose_verify(token, keys_verify_set(r->authd), "at+jwt", NULL, &p) == JOSE_OK) {
			const char *cid = json_string_value(json_object_get(p, "client_id"));
			const char *jti = json_string_value(json_object_get(p, "jti"));
			if (cid && jti && strcmp(cid, caller) == 0 && strlen(jti) < sizeof(v->jti)) {
				snprintf(v->jti, sizeof(v->jti), "%s", jti);
				v->exp = json_integer_value(json_object_get(p, "exp"));
			}
		}
		json_decref(p);
	} else if (strlen(token) == OIDC_SECRET_LEN) {
		char key[65];
		json_t *rt = NULL, *fam = NULL;
		secret_key_hex(token, key);
		if (store_gets(t, T_REFRESH, key, &rt) == STORE_OK) {
			const char *fid = json_string_value(json_object_get(rt, "family"));
			if (fid && store_gets(t, T_FAMILIES, fid, &fam) == STORE_OK &&
			    strcmp(json_string_value(json_object_get(fam, "client")), caller) == 0)
				snprintf(v->family, sizeof(v->family), "%s", fid);
		}
		json_decref(rt);
		json_decref(fam);
	}
	store_read_end(t);
	json_decref(ca.client);
	/* RFC 7009 §2.2: unknown or foreign tokens get the same 200 answer. */
	if (http_store_write(r, revoke_write, revoke_done, v) != STORE_OK) {
		free(v);
		http_reply_oauth_error(r, 503, "temporarily_unavailable", "shutting down");
	}
}

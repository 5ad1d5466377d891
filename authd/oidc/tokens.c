/* authd/oidc/tokens.c — mints and checks the JWTs authd issues: RFC 9068 access
 * tokens (typ at+jwt) and OpenID Connect ID tokens.
 *
 * Access-token jti is "<family>.<random>" when the token came from an
 * authorization code or a refresh token, so revoking the family (refresh reuse,
 * code reuse, logout) also makes its access tokens inactive at introspection. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../authd.h"
#include "../keys.h"
#include "../policy.h"
#include "../users.h"
#include "oidc.h"

static json_t *base_claims(struct http_req *r, const struct token_grant *g, int ttl)
{
	int64_t now = now_s();

	return json_pack("{ss sI sI}", "iss", r->authd->conf->issuer, "iat", (json_int_t)now,
	                 "exp", (json_int_t)(now + ttl));
}

static void add_level(json_t *c, const struct token_grant *g)
{
	if (g->level <= 0)
		return;
	json_object_set_new(c, "acr", json_string(policy_acr_name(g->level)));
	json_object_set_new(c, "amr", policy_amr_json(g->amr, g->factors));
	json_object_set_new(c, "auth_time", json_integer(g->auth_time));
}

static char *sign(struct http_req *r, const char *alg_name, const char *typ, json_t *claims)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	enum jose_alg alg = jose_alg_from_name(alg_name);
	const struct jose_key *k;
	char *jws;

	if (t) {
		keys_refresh(r->authd, t);
		store_read_end(t);
	}
	if (alg == JOSE_ALG_UNKNOWN)
		alg = JOSE_ALG_ES256;
	k = keys_signing(r->authd, alg);
	jws = k ? jose_sign(k, typ, claims) : NULL;
	json_decref(claims);
	return jws;
}

char *token_access(struct http_req *r, const struct token_grant *g, json_t *user, int *ttl)
{
	char rnd[32], jti[96];
	json_t *c;

	*ttl = r->authd->conf->access_ttl;
	c = base_claims(r, g, *ttl);
	if (!c || rand_token(rnd, sizeof(rnd), 16) != 0) {
		json_decref(c);
		return NULL;
	}
	snprintf(jti, sizeof(jti), "%s%s%s", g->family ? g->family : "", g->family ? "." : "", rnd);
	json_object_set_new(c, "sub", json_string(g->user_id ? g->user_id : g->client_id));
	json_object_set_new(c, "aud", json_string(g->client_id));
	json_object_set_new(c, "client_id", json_string(g->client_id));
	json_object_set_new(c, "jti", json_string(jti));
	if (g->scope && *g->scope)
		json_object_set_new(c, "scope", json_string(g->scope));
	if (g->sid)
		json_object_set_new(c, "sid", json_string(g->sid));
	add_level(c, g);
	/* Resource servers (and pam_authd's account check) read groups from the token. */
	if (user && g->scope && scope_has(g->scope, "groups")) {
		const json_t *gr = json_object_get(user, "groups");
		json_object_set_new(c, "groups", json_is_array(gr) ? json_deep_copy(gr) : json_array());
	}
	return sign(r, r->authd->conf->signing_alg, "at+jwt", c);
}

void token_user_claims(json_t *obj, const json_t *user, const char *scope)
{
	const char *v;

	if (scope_has(scope, "profile")) {
		if ((v = json_string_value(json_object_get(user, "username"))))
			json_object_set_new(obj, "preferred_username", json_string(v));
		if ((v = json_string_value(json_object_get(user, "display_name"))) && *v)
			json_object_set_new(obj, "name", json_string(v));
	}
	if (scope_has(scope, "groups")) {
		const json_t *g = json_object_get(user, "groups");
		json_object_set_new(obj, "groups", json_is_array(g) ? json_deep_copy(g) : json_array());
	}
	if (scope_has(scope, "email") && (v = json_string_value(json_object_get(user, "email"))) && *v) {
		json_object_set_new(obj, "email", json_string(v));
		/* Addresses are entered by administrators, not proven by the user. */
		json_object_set_new(obj, "email_verified", json_false());
	}
}

char *token_id(struct http_req *r, const struct token_grant *g, const json_t *client, json_t *user,
               const char *access_token)
{
	const char *alg = json_string_value(json_object_get(client, "id_token_signed_response_alg"));
	json_t *c = base_claims(r, g, r->authd->conf->id_ttl);

	(void)access_token;
	if (!c)
		return NULL;
	json_object_set_new(c, "sub", json_string(g->user_id));
	json_object_set_new(c, "aud", json_string(g->client_id));
	if (g->nonce && *g->nonce)
		json_object_set_new(c, "nonce", json_string(g->nonce));
	if (g->sid)
		json_object_set_new(c, "sid", json_string(g->sid));
	add_level(c, g);
	if (user)
		token_user_claims(c, user, g->scope);
	return sign(r, alg ? alg : r->authd->conf->signing_alg, "JWT", c);
}

int token_access_check(struct http_req *r, struct store_txn *t, const char *token, json_t **claims)
{
	json_t *p = NULL, *rec = NULL;
	char key[200];
	const char *jti, *dot;
	int rc;

	*claims = NULL;
	keys_refresh(r->authd, t);
	if (jose_verify(token, keys_verify_set(r->authd), "at+jwt", NULL, &p) != JOSE_OK)
		return -1;
	struct jose_claims_want want = { .iss = r->authd->conf->issuer, .leeway = r->authd->conf->leeway };
	if (jose_check_claims(p, &want) != JOSE_OK)
		goto bad;
	jti = json_string_value(json_object_get(p, "jti"));
	if (!jti || strlen(jti) > 150)
		goto bad;
	snprintf(key, sizeof(key), "at:%s", jti);
	if (store_gets(t, T_JTI, key, &rec) == STORE_OK) {
		json_decref(rec);
		goto bad;
	}
	if ((dot = strchr(jti, '.'))) {
		char fam[64];
		size_t n = (size_t)(dot - jti);
		if (n >= sizeof(fam))
			goto bad;
		memcpy(fam, jti, n);
		fam[n] = '\0';
		rc = store_gets(t, T_FAMILIES, fam, &rec);
		int revoked = rc != STORE_OK || json_is_true(json_object_get(rec, "revoked"));
		json_decref(rec);
		if (revoked)
			goto bad;
	}
	/* A token for a person stops working when the account is disabled. */
	const char *sub = json_string_value(json_object_get(p, "sub"));
	const char *cid = json_string_value(json_object_get(p, "client_id"));
	if (sub && cid && strcmp(sub, cid) != 0) {
		json_t *u = NULL;
		int gone = user_by_id(t, sub, &u) != STORE_OK || user_is_disabled(u);
		json_decref(u);
		if (gone)
			goto bad;
	}
	*claims = p;
	return 0;
bad:
	json_decref(p);
	return -1;
}

/* authd/oidc/discovery.c — /.well-known/openid-configuration and /jwks: what a
 * standard OIDC library reads to talk to authd. */
#include <string.h>

#include "../authd.h"
#include "../keys.h"
#include "../policy.h"
#include "../web/pages.h"
#include "oidc.h"

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();

	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static void url(json_t *o, const char *key, const char *issuer, const char *path)
{
	char u[600];

	snprintf(u, sizeof(u), "%s%s", issuer, path);
	json_object_set_new(o, key, json_string(u));
}

/* The languages of the pages (share/i18n), the default first. */
static json_t *locales(struct http_req *r)
{
	const char *def = pages_lang(r->authd->conf->default_lang);
	json_t *a = json_array();
	size_t i;

	if (a && def)
		json_array_append_new(a, json_string(def));
	for (i = 0; a && i < pages_lang_count(); i++)
		if (!def || strcmp(pages_lang_at(i), def) != 0)
			json_array_append_new(a, json_string(pages_lang_at(i)));
	return a;
}

void oidc_discovery(struct http_req *r)
{
	static const char *const algs[] = { "ES256", "RS256", "EdDSA", NULL };
	static const char *const auth[] = { "client_secret_basic", "client_secret_post",
		                            "private_key_jwt", "none", NULL };
	static const char *const grants[] = { "authorization_code", "refresh_token",
		                              "client_credentials",
		                              "urn:ietf:params:oauth:grant-type:device_code", NULL };
	static const char *const scopes[] = { "openid", "profile", "email", "groups", "offline_access", NULL };
	static const char *const claims[] = { "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
		                              "acr", "amr", "sid", "preferred_username", "name",
		                              "email", "email_verified", "groups", NULL };
	const char *iss = r->authd->conf->issuer;
	json_t *o = json_object();

	json_object_set_new(o, "issuer", json_string(iss));
	url(o, "authorization_endpoint", iss, "/authorize");
	url(o, "token_endpoint", iss, "/token");
	url(o, "userinfo_endpoint", iss, "/userinfo");
	url(o, "jwks_uri", iss, "/jwks");
	url(o, "end_session_endpoint", iss, "/logout");
	url(o, "introspection_endpoint", iss, "/introspect");
	url(o, "revocation_endpoint", iss, "/revoke");
	url(o, "device_authorization_endpoint", iss, "/device_authorization");
	json_object_set_new(o, "response_types_supported", json_pack("[s]", "code"));
	json_object_set_new(o, "response_modes_supported", json_pack("[s]", "query"));
	json_object_set_new(o, "grant_types_supported", strings(grants));
	json_object_set_new(o, "subject_types_supported", json_pack("[s]", "public"));
	json_object_set_new(o, "id_token_signing_alg_values_supported", strings(algs));
	json_object_set_new(o, "token_endpoint_auth_methods_supported", strings(auth));
	json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported", strings(algs));
	json_object_set_new(o, "introspection_endpoint_auth_methods_supported", strings(auth));
	json_object_set_new(o, "revocation_endpoint_auth_methods_supported", strings(auth));
	json_object_set_new(o, "code_challenge_methods_supported", json_pack("[s]", "S256"));
	json_object_set_new(o, "scopes_supported", strings(scopes));
	json_object_set_new(o, "claims_supported", strings(claims));
	json_object_set_new(o, "acr_values_supported",
	                    json_pack("[sss]", policy_acr_name(1), policy_acr_name(2), policy_acr_name(3)));
	json_object_set_new(o, "prompt_values_supported", json_pack("[ss]", "none", "login"));
	json_object_set_new(o, "ui_locales_supported", locales(r));
	json_object_set_new(o, "claims_parameter_supported", json_false());
	json_object_set_new(o, "request_parameter_supported", json_false());
	json_object_set_new(o, "request_uri_parameter_supported", json_false());
	json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
	http_add_header(r, "Access-Control-Allow-Origin", "*");
	http_reply_json(r, 200, o);
}

void oidc_jwks(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);

	if (t) {
		keys_refresh(r->authd, t);
		store_read_end(t);
	}
	http_add_header(r, "Access-Control-Allow-Origin", "*");
	http_reply_json(r, 200, keys_jwks(r->authd));
}

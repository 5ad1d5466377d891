/* tests/unit/test_clients.c — client records: every entry of the city's app list
 * validates, each rule refuses what it should, secrets are checked in constant
 * time against their keyed hash, and records round-trip through the store; the
 * rules of a registration by an administrator (defaults, bounded text, a public
 * JWKS, the members an import may give, the secret provisioned or dropped, no
 * stale keys after an update) hold in the one place every admin interface uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../authd/clients.h"
#include "../../authd/keys.h"
#include "../../lib/util.h"
#include "fixture.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";

/* Tests run from the repository root; the shared folder sits beside it. */
static json_t *
load_city_apps(void)
{
	const char *dir = getenv("AUTHD_SHARED");
	char path[512];
	json_error_t e;
	json_t *root, *clients;

	snprintf(path, sizeof(path), "%s/data/city-apps.json", dir != NULL ? dir : "../shared");
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL)
		fail_msg("cannot read %s: %s", path, e.text);
	clients = json_incref(json_object_get(root, "clients"));
	json_decref(root);
	return clients;
}

static json_t *
base_client(void)
{
	json_t *c = json_loads("{\"client_id\":\"rdec-1999\",\"name\":\"派工系統\","
	                       "\"name_en\":\"Dispatch\",\"min_aal\":2,"
	                       "\"redirect_uris\":[\"https://1999.rdec.city.example/oidc/callback\"],"
	                       "\"post_logout_redirect_uris\":[\"https://1999.rdec.city.example/\"],"
	                       "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
	                       "\"scopes\":[\"openid\",\"profile\"],"
	                       "\"token_endpoint_auth_method\":\"client_secret_basic\","
	                       "\"backchannel_logout_uri\":\"https://1999.rdec.city.example/bcl\","
	                       "\"audience\":\"staff\"}", 0, NULL);

	assert_non_null(c);
	return c;
}

static int
validate(const json_t *c)
{
	char err[256] = "";
	int rc = client_validate(c, err, sizeof(err));

	if (rc != 0)
		assert_true(err[0] != '\0');   /* every refusal says why */
	return rc;
}

static void
test_city_apps_all_valid(void **state)
{
	json_t *clients = load_city_apps(), *c;
	size_t i;
	char err[256];

	(void)state;
	assert_true(json_is_array(clients));
	assert_int_equal(json_array_size(clients), 115);
	json_array_foreach(clients, i, c) {
		err[0] = '\0';
		if (client_validate(c, err, sizeof(err)) != 0)
			fail_msg("entry %zu (%s): %s", i,
			         json_string_value(json_object_get(c, "client_id")), err);
	}
	json_decref(clients);
}

/* Sets member to the JSON text v (or removes it when v is NULL) and validates. */
static int
with(const char *member, const char *v)
{
	json_t *c = base_client();
	int rc;

	if (v == NULL) {
		json_object_del(c, member);
	} else {
		json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

		assert_non_null(j);
		assert_int_equal(json_object_set_new(c, member, j), 0);
	}
	rc = validate(c);
	json_decref(c);
	return rc;
}

static void
test_redirect_uris(void **state)
{
	static const char *ok[] = {
		"[\"https://app.city.example/cb\"]",
		"[\"https://app.city.example:8443/cb?x=1\"]",
		"[\"http://localhost/cb\"]",
		"[\"http://127.0.0.1:51004/cb\"]",
		"[\"http://[::1]:8080/cb\"]",
		"[\"https://[2001:db8::1]/cb\"]",
	};
	static const char *bad[] = {
		"[\"http://app.city.example/cb\"]",         /* http to a non-loopback host */
		"[\"http://127.0.0.2/cb\"]",
		"[\"http://localhost.evil.example/cb\"]",
		"[\"https://app.city.example/cb#frag\"]",   /* fragment */
		"[\"https://*.city.example/cb\"]",          /* wildcard */
		"[\"https://app.city.example/*\"]",
		"[\"/relative/cb\"]",
		"[\"app.city.example/cb\"]",
		"[\"javascript:alert(1)\"]",
		"[\"https://user@app.city.example/cb\"]",   /* userinfo */
		"[\"https://app.city.example:0/cb\"]",
		"[\"https://app.city.example:70000/cb\"]",
		"[\"https://app.city.example:8x/cb\"]",
		"[\"https:///cb\"]",
		"[\"https://app.city.example/c b\"]",
		"[\"https://app..example/cb\"]",
		"[]",
		"\"https://app.city.example/cb\"",
		"[1]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (with("redirect_uris", ok[i]) != 0)
			fail_msg("refused %s", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (with("redirect_uris", bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
	/* An embedded NUL would let C code see only a harmless-looking prefix. */
	{
		json_t *c = base_client();

		json_object_set_new(c, "redirect_uris",
		                    json_pack("[o]", json_stringn("https://a.example/\0@evil", 24)));
		assert_int_equal(validate(c), -1);
		json_object_set_new(c, "redirect_uris", json_pack("[s]", "https://a.example/"));
		json_object_set_new(c, "client_id", json_stringn("app\0x", 5));
		assert_int_equal(validate(c), -1);
		json_decref(c);
	}
	/* The code flow needs somewhere to redirect. */
	assert_int_equal(with("redirect_uris", NULL), -1);
	/* Logout and back-channel URIs follow the same rules. */
	assert_int_equal(with("post_logout_redirect_uris", "[\"http://city.example/\"]"), -1);
	assert_int_equal(with("backchannel_logout_uri", "\"https://a.example/x#y\""), -1);
	assert_int_equal(with("backchannel_logout_uri", "null"), 0);
	assert_int_equal(with("backchannel_logout_uri", "42"), -1);
}

static void
test_grants_and_methods(void **state)
{
	json_t *c;

	(void)state;
	assert_int_equal(with("grant_types", "[\"implicit\"]"), -1);
	/* host login (pam_authd): a confidential client may hold the password grant */
	assert_int_equal(with("grant_types", "[\"password\"]"), 0);
	assert_int_equal(with("grant_types", "[]"), -1);
	assert_int_equal(with("grant_types", "[\"authorization_code\",\"authorization_code\"]"), -1);
	assert_int_equal(with("grant_types", "[\"refresh_token\"]"), -1);
	assert_int_equal(with("grant_types", "[\"authorization_code\","
	                      "\"urn:ietf:params:oauth:grant-type:device_code\"]"), 0);
	assert_int_equal(with("token_endpoint_auth_method", "\"client_secret_jwt\""), -1);
	assert_int_equal(with("token_endpoint_auth_method", "\"client_secret_post\""), 0);
	assert_int_equal(with("token_endpoint_auth_method", "\"client_secret\""), 0);
	assert_int_equal(with("token_endpoint_auth_method", "\"client_secret_any\""), -1);
	assert_int_equal(with("min_aal", "4"), -1);
	assert_int_equal(with("min_aal", "0"), -1);
	assert_int_equal(with("min_aal", "\"2\""), -1);
	assert_int_equal(with("min_aal", "3"), 0);
	assert_int_equal(with("id_token_signed_response_alg", "\"none\""), -1);
	assert_int_equal(with("id_token_signed_response_alg", "\"HS256\""), -1);
	assert_int_equal(with("id_token_signed_response_alg", "\"EdDSA\""), 0);
	assert_int_equal(with("scopes", "[\"open id\"]"), -1);
	assert_int_equal(with("disabled", "\"no\""), -1);
	assert_int_equal(with("secret_hash", "\"zz\""), -1);
	assert_int_equal(with("name", "\"\""), -1);
	assert_int_equal(with("name", NULL), -1);
	/* Typos and plaintext secrets do not slip into a record. */
	assert_int_equal(with("redirect_uri", "\"https://a.example/cb\""), -1);
	assert_int_equal(with("client_secret", "\"hunter2\""), -1);

	/* client_credentials alone needs no redirect URI. */
	c = json_loads("{\"client_id\":\"health-api\",\"name\":\"API\",\"min_aal\":1,"
	               "\"grant_types\":[\"client_credentials\"],\"scopes\":[\"api.read\"],"
	               "\"token_endpoint_auth_method\":\"client_secret_basic\"}", 0, NULL);
	assert_int_equal(validate(c), 0);
	json_decref(c);
}

static void
test_public_and_private_key_jwt(void **state)
{
	json_t *c = base_client();

	(void)state;
	/* PKCE: on unless a confidential client is registered without it. */
	assert_true(client_requires_pkce(c));
	json_object_set_new(c, "require_pkce", json_false());
	assert_int_equal(validate(c), 0);
	assert_false(client_requires_pkce(c));
	json_object_set_new(c, "require_pkce", json_string("no"));
	assert_int_equal(validate(c), -1);
	json_object_set_new(c, "require_pkce", json_false());
	json_object_set_new(c, "token_endpoint_auth_method", json_string("none"));
	assert_int_equal(validate(c), -1);    /* never for a public client */
	assert_true(client_requires_pkce(c)); /* and not honoured if stored anyway */
	json_object_del(c, "require_pkce");
	assert_int_equal(validate(c), 0);
	json_object_set_new(c, "require_pkce", json_true());
	assert_int_equal(validate(c), 0);
	json_object_set_new(c, "grant_types", json_pack("[s,s]", "authorization_code",
	                                                "client_credentials"));
	assert_int_equal(validate(c), -1);   /* a public client cannot act on its own */
	json_object_set_new(c, "grant_types", json_pack("[s]", "authorization_code"));
	json_object_set_new(c, "secret_hash", json_string("00000000000000000000000000000000"
	                                                  "00000000000000000000000000000000"));
	assert_int_equal(validate(c), -1);   /* nor hold a secret */
	json_object_del(c, "secret_hash");

	json_object_set_new(c, "token_endpoint_auth_method", json_string("private_key_jwt"));
	assert_int_equal(validate(c), -1);   /* no jwks */
	json_object_set_new(c, "jwks", json_pack("{s:[]}", "keys"));
	assert_int_equal(validate(c), -1);
	json_object_set_new(c, "jwks", json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "EC",
	                                         "crv", "P-256", "x", "AAAA", "y", "AAAA"));
	assert_int_equal(validate(c), 0);
	json_decref(c);
}

static void
test_client_id_rules(void **state)
{
	(void)state;
	assert_int_equal(with("client_id", "\"a\""), 0);
	assert_int_equal(with("client_id", "\"App.v2_x-1\""), 0);
	assert_int_equal(with("client_id", "\"\""), -1);
	assert_int_equal(with("client_id", "\"has space\""), -1);
	assert_int_equal(with("client_id", "\"slash/x\""), -1);
	assert_int_equal(with("client_id", "\"colon:x\""), -1);
	assert_int_equal(with("client_id", "\"客戶\""), -1);
	assert_int_equal(with("client_id", "7"), -1);
	assert_int_equal(with("client_id", NULL), -1);
	assert_int_equal(with("client_id",
	                      "\"x123456789012345678901234567890123456789012345678901234567890123\""), 0);
	assert_int_equal(with("client_id",
	                      "\"x1234567890123456789012345678901234567890123456789012345678901234\""), -1);
	{
		json_t *a = json_array();

		assert_int_equal(client_validate(a, NULL, 0), -1);
		json_decref(a);
	}
}

static void
test_secrets(void **state)
{
	char secret[CLIENT_SECRET_LEN + 1], hash[65], again[65], other[CLIENT_SECRET_LEN + 1];
	uint8_t key2[32];
	json_t *c = base_client();

	(void)state;
	assert_int_equal(client_secret_new(key, secret, hash), 0);
	assert_int_equal(strlen(secret), CLIENT_SECRET_LEN);
	assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                "0123456789-_"), CLIENT_SECRET_LEN);
	assert_int_equal(strlen(hash), 64);
	client_secret_hash(key, secret, again);
	assert_string_equal(hash, again);
	assert_int_equal(client_secret_new(key, other, again), 0);
	assert_string_not_equal(secret, other);

	json_object_set_new(c, "secret_hash", json_string(hash));
	assert_int_equal(validate(c), 0);
	assert_int_equal(client_secret_check(key, c, secret), 1);
	assert_int_equal(client_secret_check(key, c, other), 0);
	assert_int_equal(client_secret_check(key, c, ""), 0);
	assert_int_equal(client_secret_check(key, c, NULL), 0);
	secret[5] ^= 1;
	assert_int_equal(client_secret_check(key, c, secret), 0);
	secret[5] ^= 1;
	/* Another server key: the same secret no longer matches. */
	memcpy(key2, key, sizeof(key2));
	key2[0] ^= 0x80;
	assert_int_equal(client_secret_check(key2, c, secret), 0);
	/* No stored hash (public client) never matches anything. */
	json_object_del(c, "secret_hash");
	assert_int_equal(client_secret_check(key, c, secret), 0);
	json_decref(c);
}

static void
test_client_has(void **state)
{
	json_t *c = base_client();

	(void)state;
	assert_int_equal(client_has(c, "redirect_uris", "https://1999.rdec.city.example/oidc/callback"), 1);
	assert_int_equal(client_has(c, "redirect_uris", "https://1999.rdec.city.example/oidc/callback/"), 0);
	assert_int_equal(client_has(c, "redirect_uris", "HTTPS://1999.rdec.city.example/oidc/callback"), 0);
	assert_int_equal(client_has(c, "grant_types", "refresh_token"), 1);
	assert_int_equal(client_has(c, "grant_types", "client_credentials"), 0);
	assert_int_equal(client_has(c, "nope", "x"), 0);
	assert_int_equal(client_has(c, "scopes", NULL), 0);
	json_decref(c);
}

static int
put_client_fn(struct store_txn *t, void *ctx)
{
	const json_t *c = ctx;

	return store_puts(t, T_CLIENTS, json_string_value(json_object_get(c, "client_id")), c,
	                  STORE_NOOVERWRITE);
}

static void
test_import_and_get(void **state)
{
	char dir[FX_DIR_MAX];
	struct store *s = NULL;
	struct store_txn *t;
	json_t *clients = load_city_apps(), *c, *got;
	size_t i;

	(void)state;
	assert_int_equal(fx_store_make(dir, &s, "clients", 16, 0), 0);
	json_array_foreach(clients, i, c)
		assert_int_equal(store_write_sync(s, put_client_fn, c), STORE_OK);
	t = store_read_begin(s);
	assert_int_equal(store_count(t, T_CLIENTS), 115);
	json_array_foreach(clients, i, c) {
		assert_int_equal(client_get(t, json_string_value(json_object_get(c, "client_id")), &got),
		                 STORE_OK);
		assert_true(json_equal(c, got));
		json_decref(got);
	}
	assert_int_equal(client_get(t, "no-such-app", &got), STORE_NOTFOUND);
	assert_int_equal(client_get(t, "bad id/", &got), STORE_NOTFOUND);
	assert_null(got);
	store_read_end(t);
	assert_int_equal(fx_store_remove(dir, s), 0);
	json_decref(clients);
}

/* A registration: client_validate plus what an administrator's input must be. */
static int
register_check(const json_t *c, char *err, size_t errsz)
{
	int rc = client_register_check(c, err, errsz);

	if (rc != 0)
		assert_true(err[0] != '\0');
	return rc;
}

static void
test_registration_rules(void **state)
{
	json_t *c = client_defaults("web"), *d;
	char err[256];

	(void)state;
	assert_non_null(c);
	/* The defaults: a code client still needs its redirect URI. */
	assert_string_equal(json_string_value(json_object_get(c, "name")), "web");
	/* Basic or form: whichever the app's library sends by default. */
	assert_string_equal(
	    json_string_value(json_object_get(c, "token_endpoint_auth_method")), "client_secret");
	assert_null(json_object_get(c, "require_pkce"));
	assert_true(client_requires_pkce(c));
	assert_int_equal(json_integer_value(json_object_get(c, "min_aal")), 1);
	assert_true(json_is_false(json_object_get(c, "disabled")));
	assert_int_equal(register_check(c, err, sizeof(err)), -1);
	assert_string_equal(err, "redirect_uris must not be empty");
	json_object_set_new(c, "redirect_uris", json_pack("[s]", "https://web.city.example/cb"));
	assert_int_equal(register_check(c, err, sizeof(err)), 0);

	/* Operator text: no control character at all (client_validate alone lets
	 * DEL through), whichever text member. */
	d = json_copy(c);
	json_object_set_new(d, "name", json_string("a\177b"));
	assert_int_equal(client_validate(d, NULL, 0), 0);
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	assert_string_equal(err, "name must be 1-512 bytes of text");
	json_object_set_new(d, "name", json_string("ok"));
	json_object_set_new(d, "audience", json_string("tab\there"));
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	assert_string_equal(err, "audience must be 1-512 bytes of text");
	json_object_set_new(d, "audience", json_integer(7));
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	json_decref(d);

	/* private_key_jwt: keys, public, usable. */
	d = json_copy(c);
	json_object_set_new(d, "token_endpoint_auth_method", json_string("private_key_jwt"));
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	assert_string_equal(err, "private_key_jwt needs a jwks object with keys");
	json_object_set_new(d, "jwks",
	    json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "EC", "crv", "P-256", "x",
	        "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
	        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"));
	assert_int_equal(register_check(d, err, sizeof(err)), 0);
	json_object_set_new(json_array_get(json_object_get(json_object_get(d, "jwks"), "keys"), 0),
	    "d", json_string("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"));
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	assert_string_equal(err, "jwks key 0 holds private key material; give the public JWKS");
	json_object_set_new(
	    d, "jwks", json_pack("{s:[{s:s,s:s}]}", "keys", "kty", "oct", "k", "AAAA"));
	assert_int_equal(register_check(d, err, sizeof(err)), -1);
	json_decref(d);

	/* What an import entry may give. */
	assert_true(client_input_member_ok("client_id"));
	assert_true(client_input_member_ok("redirect_uris"));
	assert_true(client_input_member_ok("host"));
	assert_true(client_input_member_ok("disabled"));
	assert_false(client_input_member_ok("secret_hash"));
	assert_false(client_input_member_ok("client_secret"));
	assert_false(client_input_member_ok("created"));
	assert_false(client_input_member_ok("updated"));
	assert_false(client_input_member_ok("frob"));
	assert_false(client_input_member_ok(NULL));

	assert_true(client_auth_uses_secret("client_secret"));
	assert_true(client_auth_uses_secret("client_secret_basic"));
	assert_true(client_auth_uses_secret("client_secret_post"));
	assert_false(client_auth_uses_secret("private_key_jwt"));
	assert_false(client_auth_uses_secret("none"));
	assert_false(client_auth_uses_secret(NULL));

	/* No stale keys once a client leaves private_key_jwt without new ones. */
	d = json_pack("{s:s, s:{}}", "token_endpoint_auth_method", "client_secret_basic", "jwks");
	client_after_update(d, 0, 0);
	assert_non_null(json_object_get(d, "jwks")); /* the method was not changed */
	client_after_update(d, 1, 1);
	assert_non_null(json_object_get(d, "jwks")); /* keys were given with it */
	client_after_update(d, 1, 0);
	assert_null(json_object_get(d, "jwks"));
	json_object_set_new(d, "token_endpoint_auth_method", json_string("private_key_jwt"));
	json_object_set_new(d, "jwks", json_object());
	client_after_update(d, 1, 0);
	assert_non_null(json_object_get(d, "jwks"));
	json_decref(d);
	json_decref(c);
}

struct provision {
	json_t *rec;
	char secret[CLIENT_SECRET_LEN + 1];
	int made, need_init, rc;
	uint8_t key[32];
};

static int
provision_fn(struct store_txn *t, void *ctx)
{
	struct provision *p = ctx;

	p->made = p->need_init = 0;
	p->rc = client_secret_provision(t, p->rec, p->secret, &p->made, &p->need_init);
	if (p->rc == ST_OK)
		keys_secret_load(t, p->key);
	return p->rc;
}

static int
ensure_fn(struct store_txn *t, void *ctx)
{
	(void)ctx;
	return keys_ensure(t);
}

static void
test_secret_provision(void **state)
{
	char dir[FX_DIR_MAX], first[65];
	struct store *s = NULL;
	struct provision p = { 0 };

	(void)state;
	assert_int_equal(fx_store_make(dir, &s, "clients-secret", 16, 0), 0);
	p.rec = client_defaults("web");
	/* No server secret yet: authctl init first, nothing made. */
	assert_int_equal(store_write_sync(s, provision_fn, &p), ST_NOTFOUND);
	assert_true(p.need_init);
	assert_false(p.made);
	assert_null(json_object_get(p.rec, "secret_hash"));
	assert_int_equal(store_write_sync(s, ensure_fn, NULL), ST_OK);
	/* A secret method: a fresh secret, only its keyed hash in the record. */
	assert_int_equal(store_write_sync(s, provision_fn, &p), ST_OK);
	assert_true(p.made);
	assert_false(p.need_init);
	assert_int_equal(strlen(p.secret), CLIENT_SECRET_LEN);
	assert_true(client_secret_check(p.key, p.rec, p.secret));
	snprintf(
	    first, sizeof(first), "%s", json_string_value(json_object_get(p.rec, "secret_hash")));
	/* It has one: kept, nothing new. */
	assert_int_equal(store_write_sync(s, provision_fn, &p), ST_OK);
	assert_false(p.made);
	assert_string_equal(json_string_value(json_object_get(p.rec, "secret_hash")), first);
	/* Public or private_key_jwt: no secret kept. */
	json_object_set_new(p.rec, "token_endpoint_auth_method", json_string("none"));
	assert_int_equal(store_write_sync(s, provision_fn, &p), ST_OK);
	assert_false(p.made);
	assert_null(json_object_get(p.rec, "secret_hash"));
	json_decref(p.rec);
	wipe(p.secret, sizeof(p.secret));
	wipe(p.key, sizeof(p.key));
	assert_int_equal(fx_store_remove(dir, s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_city_apps_all_valid),
		cmocka_unit_test(test_redirect_uris),
		cmocka_unit_test(test_grants_and_methods),
		cmocka_unit_test(test_public_and_private_key_jwt),
		cmocka_unit_test(test_client_id_rules),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_client_has),
		cmocka_unit_test(test_import_and_get),
		cmocka_unit_test(test_registration_rules),
		cmocka_unit_test(test_secret_provision),
	};

	return cmocka_run_group_tests_name("clients", tests, NULL, NULL);
}

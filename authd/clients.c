/* authd/clients.c — registered applications: the shape a client record must have
 * (client_validate), the rules of a registration by an administrator (defaults,
 * bounded text, a public JWKS, the secret provisioned or dropped: one place for
 * authctl and any admin API), lookup, and client secrets (generated, stored only
 * as a keyed hash, checked in constant time).
 *
 * Secrets are 256 random bits, so a keyed HMAC-SHA-256 is enough: there is nothing
 * for a slow password hash to protect that brute force could find. The key is the
 * server secret (T_META "secret"), so a stolen database alone does not allow even
 * offline checks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/jose.h"
#include "../lib/util.h"
#include "admin.h"
#include "clients.h"
#include "keys.h"

#define CLIENT_ID_MAX    64
#define URI_MAX          2048
#define URIS_MAX         32      /* per list */
#define SCOPE_MAX        64
#define SCOPES_MAX       64
#define NAME_MAX_BYTES   256
#define SECRET_INPUT_MAX 256     /* longest presented secret worth hashing */

static const char *const grant_types[] = {
	"authorization_code", "refresh_token", "client_credentials",
	"urn:ietf:params:oauth:grant-type:device_code",
	"password",     /* host login (pam_authd): confidential host clients only */
	NULL,
};
static const char *const auth_methods[] = {
	"client_secret",
	"client_secret_basic",
	"client_secret_post",
	"private_key_jwt",
	"none",
	NULL,
};
static const char *const sig_algs[] = { "ES256", "RS256", "EdDSA", NULL };
/* Every member a record may carry; anything else is a typo or an attack on a
 * later reader, and is refused. */
static const char *const members[] = {
	"client_id", "name", "name_en", "min_aal", "redirect_uris", "post_logout_redirect_uris",
	"grant_types", "scopes", "token_endpoint_auth_method", "secret_hash", "jwks",
	"backchannel_logout_uri", "audience", "id_token_signed_response_alg", "disabled",
	"created", "updated", "require_pkce", "host", NULL,
};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}


static int
client_id_ok(const char *id)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= CLIENT_ID_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Host part of an authority (no port): a DNS name or IPv4 literal, or an IPv6
 * literal in brackets. Loopback is reported for http's sake (RFC 8252 §7.3). */
static int
host_ok(const char *h, size_t n, int *loopback)
{
	size_t i;

	*loopback = 0;
	if (n == 0)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (i = 1; i < n - 1; i++)
			if (!(is_digit(h[i]) || (h[i] >= 'a' && h[i] <= 'f') ||
			      (h[i] >= 'A' && h[i] <= 'F') || h[i] == ':' || h[i] == '.'))
				return 0;
		*loopback = n == 5 && memcmp(h, "[::1]", 5) == 0;
		return 1;
	}
	if (h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || h[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') || is_digit(h[i]) ||
		      h[i] == '-' || h[i] == '.'))
			return 0;
		if (h[i] == '.' && h[i + 1] == '.')
			return 0;
	}
	*loopback = (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	            (n == 9 && memcmp(h, "127.0.0.1", 9) == 0);
	return 1;
}

/* An absolute https URI (http only to a loopback host), printable ASCII, no
 * fragment, no wildcard, no userinfo. Redirect URIs are later matched exactly,
 * so anything a browser or proxy might read differently is refused here. */
static int
uri_ok(const char *u, char *err, size_t errsz, const char *what)
{
	const char *auth, *end, *host_end, *p;
	size_t n;
	int https, loopback;

	if (u == NULL || (n = strlen(u)) == 0 || n > URI_MAX)
		return errf(err, errsz, "%s: empty or longer than %d bytes", what, URI_MAX);
	for (p = u; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '\\' || *p == '"' || *p == '<' || *p == '>')
			return errf(err, errsz, "%s: character not allowed in a URI: %s", what, u);
	if (strchr(u, '#') != NULL)
		return errf(err, errsz, "%s: fragment not allowed: %s", what, u);
	if (strchr(u, '*') != NULL)
		return errf(err, errsz, "%s: wildcard not allowed: %s", what, u);
	if (strncmp(u, "https://", 8) == 0) {
		https = 1;
		auth = u + 8;
	} else if (strncmp(u, "http://", 7) == 0) {
		https = 0;
		auth = u + 7;
	} else {
		return errf(err, errsz, "%s: must be an absolute https URI: %s", what, u);
	}
	end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return errf(err, errsz, "%s: userinfo not allowed: %s", what, u);
	host_end = end;
	if (auth < end && auth[0] == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		host_end = rb != NULL ? rb + 1 : end;
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));

		if (colon != NULL)
			host_end = colon;
	}
	if (host_end < end) {
		/* :port, 1..65535 */
		unsigned long port = 0;

		if (*host_end != ':' || host_end + 1 == end || end - host_end > 6)
			return errf(err, errsz, "%s: bad port: %s", what, u);
		for (p = host_end + 1; p < end; p++) {
			if (!is_digit(*p))
				return errf(err, errsz, "%s: bad port: %s", what, u);
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return errf(err, errsz, "%s: bad port: %s", what, u);
	}
	if (!host_ok(auth, (size_t)(host_end - auth), &loopback))
		return errf(err, errsz, "%s: bad host: %s", what, u);
	if (!https && !loopback)
		return errf(err, errsz, "%s: http is allowed only for loopback hosts: %s", what, u);
	return 0;
}

/* A JSON string without embedded NUL (jansson can hold one under JSON_ALLOW_NUL;
 * C code would then check and compare only a prefix). */
static int
plain_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static int
uri_list_ok(const json_t *rec, const char *member, int required, char *err, size_t errsz)
{
	const json_t *a = json_object_get(rec, member), *v;
	size_t i;

	if (a == NULL)
		return required ? errf(err, errsz, "%s is required", member) : 0;
	if (!json_is_array(a) || json_array_size(a) > URIS_MAX)
		return errf(err, errsz, "%s must be an array of at most %d URIs", member, URIS_MAX);
	if (required && json_array_size(a) == 0)
		return errf(err, errsz, "%s must not be empty", member);
	json_array_foreach(a, i, v) {
		if (!plain_string(v))
			return errf(err, errsz, "%s must hold strings", member);
		if (uri_ok(json_string_value(v), err, errsz, member) != 0)
			return -1;
	}
	return 0;
}

static int
text_ok(const json_t *v, size_t max)
{
	size_t n;

	return plain_string(v) && (n = json_string_length(v)) > 0 && n <= max &&
	       utf8_valid(json_string_value(v), n) &&
	       strpbrk(json_string_value(v), "\r\n\t") == NULL;
}

/* RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E */
static int
scope_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= SCOPE_MAX || s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return i > 0;
}

int
client_validate(const json_t *rec, char *err, size_t errsz)
{
	const json_t *v, *grants, *scopes;
	const char *key, *method;
	size_t i, j;
	int has_code = 0, has_cc = 0, has_refresh = 0, has_device = 0, has_password = 0;

	if (!json_is_object(rec))
		return errf(err, errsz, "client record must be a JSON object");
	json_object_foreach((json_t *)rec, key, v) {
		if (strcmp(key, "client_secret") == 0)
			return errf(err, errsz, "client_secret must not be stored; keep only secret_hash");
		if (!in_list(members, key))
			return errf(err, errsz, "unknown member \"%.64s\"", key);
	}

	v = json_object_get(rec, "client_id");
	if (!plain_string(v) || !client_id_ok(json_string_value(v)))
		return errf(err, errsz, "client_id must be 1..%d characters of [A-Za-z0-9._-]",
		            CLIENT_ID_MAX);
	if (!text_ok(json_object_get(rec, "name"), NAME_MAX_BYTES))
		return errf(err, errsz, "name must be 1..%d bytes of text", NAME_MAX_BYTES);
	if ((v = json_object_get(rec, "name_en")) != NULL && !text_ok(v, NAME_MAX_BYTES))
		return errf(err, errsz, "name_en must be 1..%d bytes of text", NAME_MAX_BYTES);
	v = json_object_get(rec, "min_aal");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3)
		return errf(err, errsz, "min_aal must be 1, 2 or 3");

	v = json_object_get(rec, "token_endpoint_auth_method");
	if (!json_is_string(v) || !in_list(auth_methods, json_string_value(v)))
		return errf(err, errsz,
		    "token_endpoint_auth_method must be one of client_secret, "
		    "client_secret_basic, client_secret_post, private_key_jwt, none");
	method = json_string_value(v);

	grants = json_object_get(rec, "grant_types");
	if (!json_is_array(grants) || json_array_size(grants) == 0 || json_array_size(grants) > 8)
		return errf(err, errsz, "grant_types must be a non-empty array");
	json_array_foreach(grants, i, v) {
		const char *g = plain_string(v) ? json_string_value(v) : NULL;

		if (g == NULL || !in_list(grant_types, g))
			return errf(err, errsz, "unknown grant type \"%.80s\"", g != NULL ? g : "?");
		for (j = 0; j < i; j++)
			if (strcmp(g, json_string_value(json_array_get(grants, j))) == 0)
				return errf(err, errsz, "grant type \"%s\" listed twice", g);
		has_code |= strcmp(g, "authorization_code") == 0;
		has_refresh |= strcmp(g, "refresh_token") == 0;
		has_cc |= strcmp(g, "client_credentials") == 0;
		has_device |= strcmp(g, "urn:ietf:params:oauth:grant-type:device_code") == 0;
		has_password |= strcmp(g, "password") == 0;
	}
	if (has_refresh && !has_code && !has_device)
		return errf(err, errsz, "refresh_token needs authorization_code or device_code");

	/* Only browser-based flows redirect; a client_credentials or device client
	 * has no redirect URI to register. */
	if (uri_list_ok(rec, "redirect_uris", has_code, err, errsz) != 0 ||
	    uri_list_ok(rec, "post_logout_redirect_uris", 0, err, errsz) != 0)
		return -1;
	v = json_object_get(rec, "backchannel_logout_uri");
	if (v != NULL && !json_is_null(v)) {
		if (!plain_string(v))
			return errf(err, errsz, "backchannel_logout_uri must be a string");
		if (uri_ok(json_string_value(v), err, errsz, "backchannel_logout_uri") != 0)
			return -1;
	}

	if ((scopes = json_object_get(rec, "scopes")) != NULL) {
		if (!json_is_array(scopes) || json_array_size(scopes) > SCOPES_MAX)
			return errf(err, errsz, "scopes must be an array of at most %d scopes", SCOPES_MAX);
		json_array_foreach(scopes, i, v)
			if (!plain_string(v) || !scope_ok(json_string_value(v)))
				return errf(err, errsz, "bad scope at index %zu", i);
	}
	v = json_object_get(rec, "audience");
	if (v != NULL && !json_is_null(v) && !text_ok(v, 128))
		return errf(err, errsz, "audience must be a short string");
	v = json_object_get(rec, "id_token_signed_response_alg");
	if (v != NULL && (!json_is_string(v) || !in_list(sig_algs, json_string_value(v))))
		return errf(err, errsz, "id_token_signed_response_alg must be ES256, RS256 or EdDSA");
	if ((v = json_object_get(rec, "disabled")) != NULL && !json_is_boolean(v))
		return errf(err, errsz, "disabled must be true or false");
	if ((v = json_object_get(rec, "host")) != NULL && !json_is_boolean(v))
		return errf(err, errsz, "host must be true or false");
	if (((v = json_object_get(rec, "created")) != NULL && !json_is_integer(v)) ||
	    ((v = json_object_get(rec, "updated")) != NULL && !json_is_integer(v)))
		return errf(err, errsz, "created/updated must be unix seconds");
	v = json_object_get(rec, "secret_hash");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) != 64))
		return errf(err, errsz, "secret_hash must be 64 hex characters");
	if (v != NULL) {
		uint8_t h[SHA256_LEN];

		if (hex_decode(h, sizeof(h), json_string_value(v)) != 0)
			return errf(err, errsz, "secret_hash must be 64 hex characters");
	}

	if (strcmp(method, "none") == 0) {
		/* A public client cannot keep a secret: it gets only the code flow with
		 * PKCE (and the device flow), never tokens on its own behalf. */
		if (has_cc)
			return errf(err, errsz, "a public client (auth method none) cannot use client_credentials");
		if (has_password)
			return errf(err, errsz, "host login (grant password) needs a confidential client");
		if (!has_code && !has_device)
			return errf(err, errsz, "a public client needs authorization_code or device_code");
		v = json_object_get(rec, "require_pkce");
		if (v != NULL && !json_is_true(v))
			return errf(err, errsz, "a public client must use PKCE");
		if (json_object_get(rec, "secret_hash") != NULL)
			return errf(err, errsz, "a public client has no secret");
	} else if ((v = json_object_get(rec, "require_pkce")) != NULL && !json_is_boolean(v)) {
		return errf(err, errsz, "require_pkce must be true or false");
	}
	v = json_object_get(rec, "jwks");
	if (strcmp(method, "private_key_jwt") == 0) {
		const json_t *keys = json_object_get(v, "keys");

		if (!json_is_object(v) || !json_is_array(keys) || json_array_size(keys) == 0)
			return errf(err, errsz, "private_key_jwt needs a jwks object with keys");
		json_array_foreach(keys, i, v)
			if (!json_is_object(v) || !json_is_string(json_object_get(v, "kty")))
				return errf(err, errsz, "jwks key %zu has no kty", i);
		if (json_object_get(rec, "secret_hash") != NULL)
			return errf(err, errsz, "a private_key_jwt client has no shared secret");
	} else if (v != NULL && !json_is_object(v)) {
		return errf(err, errsz, "jwks must be an object");
	}
	return 0;
}

int
client_get(struct store_txn *t, const char *client_id, json_t **out)
{
	*out = NULL;
	if (!client_id_ok(client_id))
		return STORE_NOTFOUND;
	return store_gets(t, T_CLIENTS, client_id, out);
}

void
client_secret_hash(const uint8_t key[32], const char *secret, char hash_hex[65])
{
	uint8_t mac[SHA256_LEN];

	hmac_sha256(key, 32, secret, strlen(secret), mac);
	hex_encode(hash_hex, mac, sizeof(mac));
	wipe(mac, sizeof(mac));
}

int
client_secret_new(const uint8_t key[32], char secret[CLIENT_SECRET_LEN + 1], char hash_hex[65])
{
	if (rand_token(secret, CLIENT_SECRET_LEN + 1, 32) != 0 ||
	    strlen(secret) != CLIENT_SECRET_LEN) {
		wipe(secret, CLIENT_SECRET_LEN + 1);
		return -1;
	}
	client_secret_hash(key, secret, hash_hex);
	return 0;
}

int
client_secret_check(const uint8_t key[32], const json_t *client, const char *secret)
{
	const char *stored = json_string_value(json_object_get(client, "secret_hash"));
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	size_t n;
	int ok;

	if (stored == NULL || secret == NULL || (n = strnlen(secret, SECRET_INPUT_MAX + 1)) == 0 ||
	    n > SECRET_INPUT_MAX)
		return 0;
	if (strlen(stored) != 64 || hex_decode(want, sizeof(want), stored) != 0)
		return 0;
	hmac_sha256(key, 32, secret, n, got);
	ok = ct_equal(want, got, sizeof(got));
	wipe(got, sizeof(got));
	return ok;
}

int
client_is_host(const json_t *client)
{
	return json_is_true(json_object_get(client, "host")) ||
	       client_has(client, "grant_types", "password");
}

int
client_has(const json_t *client, const char *member, const char *s)
{
	const json_t *a = json_object_get(client, member), *v;
	size_t i;

	if (s == NULL || !json_is_array(a))
		return 0;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* ---- registration ---------------------------------------------------------- */

/* Members an administrator may give (an import entry); the rest are the store's. */
static const char *const input_members[] = { "client_id", "name", "name_en", "redirect_uris",
	"post_logout_redirect_uris", "grant_types", "scopes", "token_endpoint_auth_method", "jwks",
	"min_aal", "backchannel_logout_uri", "audience", "id_token_signed_response_alg", "disabled",
	"require_pkce", "host", NULL };

json_t *
client_defaults(const char *id)
{
	return json_pack("{s:s, s:s, s:[], s:[], s:[ss], s:[sss], s:s, s:i, s:b}", "client_id", id,
	    "name", id, "redirect_uris", "post_logout_redirect_uris", "grant_types",
	    "authorization_code", "refresh_token", "scopes", "openid", "profile", "email",
	    "token_endpoint_auth_method", "client_secret", "min_aal", 1, "disabled", 0);
}

int
client_input_member_ok(const char *name)
{
	return name != NULL && in_list(input_members, name);
}

int
client_auth_uses_secret(const char *m)
{
	return m != NULL &&
	    (strcmp(m, "client_secret") == 0 || strcmp(m, "client_secret_basic") == 0 ||
	        strcmp(m, "client_secret_post") == 0);
}

int
client_requires_pkce(const json_t *client)
{
	const char *m = json_string_value(json_object_get(client, "token_endpoint_auth_method"));

	/* client_validate refuses require_pkce false for a public client; this is
	 * the second lock on the same door. */
	if (m == NULL || strcmp(m, "none") == 0)
		return 1;
	return !json_is_false(json_object_get(client, "require_pkce"));
}

/* Checks a client's public JWKS: bounded, every key usable by jose, and no
 * private key material (an operator handing over the app's private key by
 * mistake must not have it stored). */
static int
jwks_check(const json_t *jwks, char *err, size_t errsz)
{
	const json_t *keys = json_object_get(jwks, "keys"), *k;
	struct jose_keyset *ks;
	size_t i, n;

	if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 16) {
		snprintf(err, errsz, "jwks must be {\"keys\":[1..16 keys]}");
		return -1;
	}
	json_array_foreach(keys, i, k) {
		if (json_object_get(k, "d") != NULL || json_object_get(k, "p") != NULL) {
			snprintf(err, errsz, "jwks key %zu holds private key material; give the public JWKS", i);
			return -1;
		}
	}
	if ((ks = jose_keyset_from_jwks(jwks)) == NULL) {
		snprintf(err, errsz, "jwks cannot be read");
		return -1;
	}
	n = jose_keyset_count(ks);
	jose_keyset_free(ks);
	if (n != json_array_size(keys)) {
		snprintf(err, errsz, "jwks has keys that are not ES256, RS256 or EdDSA signing keys");
		return -1;
	}
	return 0;
}

/* client_validate already refuses a private_key_jwt client without keys and an
 * id_token_signed_response_alg other than ES256, RS256 or EdDSA. */
int
client_register_check(const json_t *rec, char *err, size_t errsz)
{
	const char *text[] = { "client_id", "name", "name_en", "audience" };
	const json_t *jwks = json_object_get(rec, "jwks");
	size_t i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		const json_t *v = json_object_get(rec, text[i]);
		if (v != NULL && (!json_is_string(v) || !admin_text_ok(json_string_value(v)))) {
			snprintf(
			    err, errsz, "%s must be 1-%d bytes of text", text[i], ADMIN_FIELD_MAX);
			return -1;
		}
	}
	if (client_validate(rec, err, errsz) != 0)
		return -1;
	if (jwks != NULL && jwks_check(jwks, err, errsz) != 0)
		return -1;
	return 0;
}

int
client_secret_provision(
    struct store_txn *t, json_t *rec, char secret[CLIENT_SECRET_LEN + 1], int *made, int *need_init)
{
	const char *m = json_string_value(json_object_get(rec, "token_endpoint_auth_method"));
	uint8_t key[32];
	char hash[65];
	int rc;

	*made = 0;
	if (!client_auth_uses_secret(m)) {
		json_object_del(rec, "secret_hash");
		return ST_OK;
	}
	if (json_is_string(json_object_get(rec, "secret_hash")))
		return ST_OK;
	if ((rc = keys_secret_load(t, key)) != ST_OK) {
		*need_init = rc == ST_NOTFOUND;
		return rc;
	}
	rc = client_secret_new(key, secret, hash) == 0 ? ST_OK : ST_IO;
	wipe(key, sizeof(key));
	if (rc == ST_OK && json_object_set_new(rec, "secret_hash", json_string(hash)) != 0)
		rc = ST_IO;
	*made = rc == ST_OK;
	return rc;
}

void
client_after_update(json_t *rec, int method_set, int jwks_set)
{
	const char *m = json_string_value(json_object_get(rec, "token_endpoint_auth_method"));

	if (method_set && !jwks_set && (m == NULL || strcmp(m, "private_key_jwt") != 0))
		json_object_del(rec, "jwks");
}

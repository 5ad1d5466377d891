/* authd/oidc/common.c — small pieces every endpoint uses: PKCE, bearer secrets,
 * scope words, and error redirects back to a validated redirect_uri. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/b64.h"
#include "../../lib/buf.h"
#include "../../lib/util.h"
#include "../authd.h"
#include "../clients.h"
#include "oidc.h"

static int unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int pkce_challenge_ok(const char *s)
{
	size_t n;

	if (!s || (n = strlen(s)) != 43)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!unreserved((unsigned char)s[i]) || s[i] == '.' || s[i] == '~')
			return 0;
	return 1;
}

int pkce_verify_s256(const char *challenge, const char *verifier)
{
	uint8_t h[SHA256_LEN];
	char enc[48];
	size_t n;

	if (!pkce_challenge_ok(challenge) || !verifier)
		return 0;
	n = strlen(verifier);
	if (n < 43 || n > 128) /* RFC 7636 §4.1 */
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!unreserved((unsigned char)verifier[i]))
			return 0;
	sha256(verifier, n, h);
	b64url_encode(enc, h, sizeof(h));
	return ct_equal(enc, challenge, 43);
}

void secret_key_hex(const char *secret, char out[65])
{
	uint8_t h[SHA256_LEN];

	sha256(secret, strlen(secret), h);
	hex_encode(out, h, sizeof(h));
}

void
family_mark_revoked(json_t *fam, int64_t now)
{
	json_int_t rv = json_integer_value(json_object_get(fam, "rv"));

	json_object_set_new(fam, "revoked", json_true());
	json_object_set_new(fam, "revoked_at", json_integer(now));
	json_object_set_new(fam, "rv", json_integer(rv > 0 ? rv + 1 : 2));
}

int secret_new(char out[OIDC_SECRET_LEN + 1])
{
	return rand_token(out, OIDC_SECRET_LEN + 1, 32);
}

int scope_has(const char *scope, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = scope; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == wl && l && memcmp(p, word, l) == 0)
			return 1;
		p += l;
	}
	return 0;
}

char *redirect_back(struct http_req *r, const char *redirect_uri, const char *key1,
                    const char *val1, const char *key2, const char *val2, const char *state)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, redirect_uri);
	buf_adds(&b, strchr(redirect_uri, '?') ? "&" : "?");
	buf_adds(&b, key1);
	buf_adds(&b, "=");
	buf_add_urlenc(&b, val1);
	if (key2 && val2) {
		buf_adds(&b, "&");
		buf_adds(&b, key2);
		buf_adds(&b, "=");
		buf_add_urlenc(&b, val2);
	}
	if (state) {
		buf_adds(&b, "&state=");
		buf_add_urlenc(&b, state);
	}
	/* RFC 9207: the issuer in every authorization response. */
	buf_adds(&b, "&iss=");
	buf_add_urlenc(&b, r->authd->conf->issuer);
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

void oidc_redirect_error(struct http_req *r, const char *redirect_uri, const char *error,
                         const char *desc, const char *state)
{
	char *loc = redirect_back(r, redirect_uri, "error", error, "error_description", desc, state);

	if (!loc) {
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	http_redirect(r, loc);
	free(loc);
}

int scope_all(const char *scope, int (*ok)(const char *word, void *ctx), void *ctx)
{
	char w[64];

	for (const char *p = scope ? scope : ""; *p;) {
		while (*p == ' ')
			p++;
		size_t l = strcspn(p, " ");
		if (l == 0)
			break;
		if (l >= sizeof(w))
			return 0;
		memcpy(w, p, l);
		w[l] = '\0';
		if (!ok(w, ctx))
			return 0;
		p += l;
	}
	return 1;
}

static int in_client_scopes(const char *w, void *client)
{
	return client_has(client, "scopes", w);
}

int scope_client_allows(const json_t *client, const char *scope)
{
	return scope_all(scope, in_client_scopes, (void *)client);
}

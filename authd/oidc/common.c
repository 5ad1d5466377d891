/* authd/oidc/common.c — small pieces every endpoint uses: PKCE, bearer secrets,
 * scope words, and error redirects back to a validated redirect_uri. */
#include <string.h>

#include "../../lib/b64.h"
#include "../../lib/buf.h"
#include "../../lib/util.h"
#include "../authd.h"
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

void oidc_redirect_error(struct http_req *r, const char *redirect_uri, const char *error,
                         const char *desc, const char *state)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, redirect_uri);
	buf_adds(&b, strchr(redirect_uri, '?') ? "&" : "?");
	buf_adds(&b, "error=");
	buf_add_urlenc(&b, error);
	if (desc) {
		buf_adds(&b, "&error_description=");
		buf_add_urlenc(&b, desc);
	}
	if (state) {
		buf_adds(&b, "&state=");
		buf_add_urlenc(&b, state);
	}
	buf_adds(&b, "&iss=");
	buf_add_urlenc(&b, r->authd->conf->issuer);
	if (b.oom) {
		buf_free(&b);
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	http_redirect(r, buf_str(&b));
	buf_free(&b);
}

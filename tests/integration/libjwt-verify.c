/* tests/integration/libjwt-verify.c — an independent verifier of authd's JWTs,
 * built on Debian's libjwt 1.10.2 rather than on our lib/jose, so a bug shared by
 * our signer and our verifier cannot hide itself.
 *
 * usage: libjwt-verify JWKS.json TOKEN
 * Looks up the token's kid in the JWKS, turns that JWK into a PEM public key with
 * OpenSSL, and verifies with libjwt using the algorithm the JWK names. Prints the
 * payload (JSON) and exits 0 when the signature holds; exits 1 otherwise.
 *
 * libjwt 1.10.2 takes the algorithm from the token header and would treat a PEM
 * public key as an HMAC secret for an HS256 token. The algorithm is therefore
 * pinned to the key: the header must name exactly the JWK's algorithm before
 * jwt_decode runs, and the decoded object must report it afterwards.
 *
 * libjwt 1.10.2 also refuses any header "typ" other than "JWT", so it can check
 * ID tokens but not RFC 9068 access tokens (typ "at+jwt"); those are verified
 * independently by jose in the node tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define MAX_TOKEN 16384         /* far above any token authd issues */
#define MAX_JWKS (256 * 1024)

static void
fail(const char *what)
{
	fprintf(stderr, "libjwt-verify: %s\n", what);
}

/* base64url (no padding) -> bytes. Returns a malloc'd buffer or NULL. */
static unsigned char *
b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	size_t padded = (inlen + 3) / 4 * 4, i;
	char *tmp;
	unsigned char *out;
	int n, pad = (int)(padded - inlen);

	if (inlen == 0 || inlen % 4 == 1)
		return NULL;
	if ((tmp = malloc(padded + 1)) == NULL)
		return NULL;
	for (i = 0; i < inlen; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=') {
			free(tmp);      /* not base64url */
			return NULL;
		}
		tmp[i] = c;
	}
	for (; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	if ((out = malloc(padded / 4 * 3 + 1)) == NULL) {
		free(tmp);
		return NULL;
	}
	n = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
	free(tmp);
	if (n < 0 || n < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)(n - pad);
	return out;
}

static unsigned char *
jwk_member(json_t *jwk, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	if (s == NULL)
		return NULL;
	return b64url_decode(s, strlen(s), len);
}

/* The algorithm a JWK is for: its "alg" when present, else what kty/crv imply.
 * Returns NULL for keys libjwt 1.10.2 cannot verify (EdDSA) or odd ones. */
static const char *
jwk_alg(json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	const char *implied = NULL;

	if (kty == NULL)
		return NULL;
	if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		implied = "ES256";
	else if (strcmp(kty, "RSA") == 0)
		implied = alg != NULL && strcmp(alg, "RS256") != 0 ? NULL : "RS256";
	if (implied == NULL)
		return NULL;
	if (alg != NULL && strcmp(alg, implied) != 0)
		return NULL;
	return implied;
}

/* JWK (EC P-256 or RSA public) -> PEM SubjectPublicKeyInfo, malloc'd, NUL-ended. */
static char *
jwk_to_pem(json_t *jwk, const char *alg)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *a = NULL, *b = NULL, point[65];
	size_t alen = 0, blen = 0;
	char *pem = NULL, *data;
	long plen;
	int ok = 0;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (strcmp(alg, "ES256") == 0) {
		if ((a = jwk_member(jwk, "x", &alen)) == NULL || alen != 32 ||
		    (b = jwk_member(jwk, "y", &blen)) == NULL || blen != 32)
			goto out;
		point[0] = 0x04; /* uncompressed point: 04 || x || y */
		memcpy(point + 1, a, 32);
		memcpy(point + 33, b, 32);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		    "prime256v1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
		    point, sizeof(point)))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		if ((a = jwk_member(jwk, "n", &alen)) == NULL || alen < 256 ||
		    alen > 1024 || (b = jwk_member(jwk, "e", &blen)) == NULL ||
		    blen > 8)
			goto out;
		if ((n = BN_bin2bn(a, (int)alen, NULL)) == NULL ||
		    (e = BN_bin2bn(b, (int)blen, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	}
	if (ctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PUBKEY(bio, pkey))
		goto out;
	if ((plen = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (pem = malloc((size_t)plen + 1)) == NULL)
		goto out;
	memcpy(pem, data, (size_t)plen);
	pem[plen] = '\0';
	ok = 1;
out:
	if (!ok) {
		free(pem);
		pem = NULL;
	}
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(a);
	free(b);
	return pem;
}

static json_t *
token_header(const char *token)
{
	const char *dot = strchr(token, '.');
	unsigned char *raw;
	size_t len;
	json_t *h;

	if (dot == NULL || strchr(dot + 1, '.') == NULL)
		return NULL;
	if ((raw = b64url_decode(token, (size_t)(dot - token), &len)) == NULL)
		return NULL;
	h = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (h != NULL && !json_is_object(h)) {
		json_decref(h);
		h = NULL;
	}
	return h;
}

int
main(int argc, char **argv)
{
	json_t *jwks = NULL, *hdr = NULL, *keys, *jwk = NULL, *k;
	const char *token, *kid, *halg, *alg;
	char *pem = NULL, *payload = NULL;
	jwt_t *jwt = NULL;
	size_t i;
	int rc = 1, err;

	if (argc != 3) {
		fprintf(stderr, "usage: libjwt-verify JWKS.json TOKEN\n");
		return 1;
	}
	token = argv[2];
	if (strlen(token) > MAX_TOKEN) {
		fail("token too long");
		return 1;
	}
	if ((jwks = json_load_file(argv[1], JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(keys = json_object_get(jwks, "keys"))) {
		fail("cannot read the JWKS");
		goto out;
	}
	if ((hdr = token_header(token)) == NULL) {
		fail("malformed token header");
		goto out;
	}
	kid = json_string_value(json_object_get(hdr, "kid"));
	halg = json_string_value(json_object_get(hdr, "alg"));
	if (kid == NULL || halg == NULL) {
		fail("token header lacks kid or alg");
		goto out;
	}
	json_array_foreach(keys, i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));

		if (kk != NULL && strcmp(kk, kid) == 0) {
			if (jwk != NULL) {
				fail("kid appears twice in the JWKS");
				goto out;
			}
			jwk = k;
		}
	}
	if (jwk == NULL) {
		fail("kid not in the JWKS");
		goto out;
	}
	if ((alg = jwk_alg(jwk)) == NULL) {
		fail("key type not verifiable with libjwt 1.10.2");
		goto out;
	}
	/* The pin: a header asking for any other algorithm (HS256 with the public
	 * key as secret, "none") is refused before libjwt sees it. */
	if (strcmp(halg, alg) != 0) {
		fail("header alg differs from the key's alg");
		goto out;
	}
	if ((pem = jwk_to_pem(jwk, alg)) == NULL) {
		fail("cannot convert the JWK to PEM");
		goto out;
	}
	if ((err = jwt_decode(&jwt, token, (const unsigned char *)pem,
	    (int)strlen(pem))) != 0 || jwt == NULL) {
		fprintf(stderr, "libjwt-verify: jwt_decode: %s\n", strerror(err));
		goto out;
	}
	if (jwt_get_alg(jwt) != jwt_str_alg(alg)) {
		fail("libjwt verified with another algorithm");
		goto out;
	}
	if ((payload = jwt_get_grants_json(jwt, NULL)) == NULL) {
		fail("cannot read the payload");
		goto out;
	}
	printf("%s\n", payload);
	rc = 0;
out:
	free(payload);
	jwt_free(jwt);
	free(pem);
	json_decref(hdr);
	json_decref(jwks);
	return rc;
}

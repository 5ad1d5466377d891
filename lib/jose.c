/* lib/jose.c — compact JWS sign/verify, JWK import/export, RFC 7638 thumbprints
 * and JWT claim checks, on OpenSSL 3 EVP and jansson.
 *
 * Invariant: a key's algorithm is fixed when the key is made (from its type and
 * curve) and verification uses it alone; the token header can only be refused
 * for disagreeing with it, never choose it. Keys are parsed once into an
 * EVP_PKEY that is never modified afterwards, so one key signs and verifies
 * from many threads, each call with its own EVP_MD_CTX (copied from one the
 * thread prepared once per key: see sign_ctx). */
#include "jose.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "b64.h"
#include "util.h"

#define ES256_COORD 32          /* P-256 field element / scalar size */
#define ED25519_LEN 32
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192       /* bounds the cost of one verification */
#define MAX_SIG 1024            /* RSA_MAX_BITS / 8: the largest signature */
#define MAX_KID 256
#define MAX_TYP 64
#define MAX_HDR_PREFIX (32 + 6 * MAX_KID) /* {"alg":"EdDSA","kid":"<escaped>" + NUL */
#define MAX_KEYSET 64           /* a JWKS with more keys than this is not an IdP's */

struct jose_key {
	EVP_PKEY *pk;
	uint64_t serial; /* unique in the process: names it in sign caches */
	enum jose_alg alg;
	int has_private;
	atomic_int refs;
	char kid[MAX_KID + 1];
	/* The signing header up to (not including) the closing brace, built
	 * once so jose_sign does no JSON work for it. */
	char hdr_prefix[MAX_HDR_PREFIX];
	size_t hdr_prefix_len;
};

struct jose_keyset {
	struct jose_key *k[MAX_KEYSET];
	size_t n;
};

const char *
jose_alg_name(enum jose_alg alg)
{
	switch (alg) {
	case JOSE_ALG_ES256: return "ES256";
	case JOSE_ALG_RS256: return "RS256";
	case JOSE_ALG_EDDSA: return "EdDSA";
	case JOSE_ALG_UNKNOWN: break;
	}
	return NULL;
}

enum jose_alg
jose_alg_from_name(const char *name)
{
	/* Exact, case-sensitive (RFC 7515 §4.1.1 names are case-sensitive); "none"
	 * and the HMAC family are deliberately not ours and map to UNKNOWN. */
	if (name == NULL)
		return JOSE_ALG_UNKNOWN;
	if (strcmp(name, "ES256") == 0)
		return JOSE_ALG_ES256;
	if (strcmp(name, "RS256") == 0)
		return JOSE_ALG_RS256;
	if (strcmp(name, "EdDSA") == 0)
		return JOSE_ALG_EDDSA;
	return JOSE_ALG_UNKNOWN;
}

const char *
jose_strerror(enum jose_err e)
{
	switch (e) {
	case JOSE_OK: return "ok";
	case JOSE_ERR_FORMAT: return "malformed token";
	case JOSE_ERR_ALG: return "algorithm not allowed for this key";
	case JOSE_ERR_KID: return "unknown key id";
	case JOSE_ERR_SIG: return "bad signature";
	case JOSE_ERR_TYP: return "unexpected token type";
	case JOSE_ERR_EXPIRED: return "token expired or without exp";
	case JOSE_ERR_NBF: return "token not yet valid";
	case JOSE_ERR_IAT: return "token issued in the future or without iat";
	case JOSE_ERR_ISS: return "wrong issuer";
	case JOSE_ERR_AUD: return "wrong audience";
	case JOSE_ERR_NONCE: return "wrong nonce";
	case JOSE_ERR_KEY: return "bad key";
	case JOSE_ERR_NOMEM: return "out of memory";
	}
	return "unknown jose error";
}

/* ---- keys ---------------------------------------------------------------- */

/* The alg a key may be used with, from its type and size/curve alone.
 * UNKNOWN for everything we do not sign or verify with. */
static enum jose_alg
alg_of_pkey(const EVP_PKEY *pk)
{
	if (EVP_PKEY_is_a(pk, "EC")) {
		char group[32];
		size_t len = 0;

		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof(group), &len) != 1)
			return JOSE_ALG_UNKNOWN;
		return strcmp(group, "prime256v1") == 0 ? JOSE_ALG_ES256 : JOSE_ALG_UNKNOWN;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);

		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return JOSE_ALG_UNKNOWN;
		return JOSE_ALG_RS256;
	}
	if (EVP_PKEY_is_a(pk, "ED25519"))
		return JOSE_ALG_EDDSA;
	return JOSE_ALG_UNKNOWN;
}

/* Deterministic sanity checks of an RSA public key. OpenSSL's public check
 * runs Miller-Rabin with random bases, so a crafted modulus can pass on one
 * call and fail on the next; a JWKS must import the same way every time. */
static int
rsa_public_ok(const EVP_PKEY *pk)
{
	BIGNUM *n = NULL, *e = NULL;
	BN_CTX *ctx = NULL;
	BN_ULONG d;
	int ok = 0;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto out;
	/* SP 800-56B §6.2.1: odd e with 65537 <= e < 2^256; n odd. */
	if (!BN_is_odd(n) || !BN_is_odd(e) || BN_num_bits(e) < 17 || BN_num_bits(e) > 256)
		goto out;
	/* No small factors (any odd divisor below 1000 implies a prime one). */
	for (d = 3; d < 1000; d += 2)
		if (BN_mod_word(n, d) == 0)
			goto out;
	/* A prime modulus gives away the private exponent (phi = n - 1). A prime
	 * always passes Miller-Rabin, so this refusal is deterministic. */
	if ((ctx = BN_CTX_new()) == NULL || BN_check_prime(n, ctx, NULL) != 0)
		goto out;
	ok = 1;
out:
	BN_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return ok;
}

/* Checks the public part (on-curve point, sane RSA modulus) and, when there is
 * a private part, that it matches. 0 when the key is usable. */
static int
pkey_check(EVP_PKEY *pk, int has_private)
{
	EVP_PKEY_CTX *c;
	int r;

	if (EVP_PKEY_is_a(pk, "RSA") && !has_private) {
		r = rsa_public_ok(pk);
		ERR_clear_error();
		return r ? 0 : -1;
	}
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
		return -1;
	r = EVP_PKEY_public_check(c);
	/* -2: the provider has no such check (Ed25519 public keys are checked by
	 * the verification itself). */
	if (r == 1 || r == -2)
		r = has_private ? EVP_PKEY_pairwise_check(c) : 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return (r == 1 || r == -2) ? 0 : -1;
}

/* Appends a JSON string literal for s (ASCII/UTF-8 kept, quotes, backslash and
 * controls escaped). Returns bytes written or 0 when it does not fit. */
static size_t
json_quote(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 3)
		return 0;
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (cap - o < 8)
			return 0;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static atomic_uint_fast64_t key_serials;

/* Takes ownership of pk. kid NULL or empty: the RFC 7638 thumbprint, so every
 * key has a stable kid. */
static struct jose_key *
key_new(EVP_PKEY *pk, int has_private, const char *kid, enum jose_err *err)
{
	struct jose_key *k;
	size_t n;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pk);
		*err = JOSE_ERR_NOMEM;
		return NULL;
	}
	k->pk = pk;
	k->serial = atomic_fetch_add(&key_serials, 1) + 1;
	k->has_private = has_private;
	atomic_init(&k->refs, 1);
	if ((k->alg = alg_of_pkey(pk)) == JOSE_ALG_UNKNOWN ||
	    pkey_check(pk, has_private) != 0) {
		*err = JOSE_ERR_KEY;
		goto fail;
	}
	if (kid != NULL && kid[0] != '\0') {
		if (strlen(kid) > MAX_KID || !utf8_valid(kid, strlen(kid))) {
			*err = JOSE_ERR_KEY;
			goto fail;
		}
		memcpy(k->kid, kid, strlen(kid) + 1);
	} else {
		char tp[44];

		if (jose_key_thumbprint(k, tp) != 0) {
			*err = JOSE_ERR_KEY;
			goto fail;
		}
		memcpy(k->kid, tp, sizeof(tp));
	}
	n = (size_t)snprintf(k->hdr_prefix, sizeof(k->hdr_prefix), "{\"alg\":\"%s\",\"kid\":",
	    jose_alg_name(k->alg));
	k->hdr_prefix_len = n + json_quote(k->hdr_prefix + n, sizeof(k->hdr_prefix) - n, k->kid);
	if (k->hdr_prefix_len == n) {
		*err = JOSE_ERR_KEY;
		goto fail;
	}
	*err = JOSE_OK;
	return k;
fail:
	jose_key_free(k);
	return NULL;
}

struct jose_key *
jose_key_generate(enum jose_alg alg, const char *kid)
{
	EVP_PKEY *pk = NULL;
	enum jose_err err;

	switch (alg) {
	case JOSE_ALG_ES256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case JOSE_ALG_RS256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_MIN_BITS);
		break;
	case JOSE_ALG_EDDSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case JOSE_ALG_UNKNOWN:
		break;
	}
	if (pk == NULL) {
		ERR_clear_error();
		return NULL;
	}
	return key_new(pk, 1, kid, &err);
}

/* An encrypted PEM must fail, not prompt on the daemon's terminal. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

struct jose_key *
jose_key_from_pem(const char *pem, size_t len, const char *kid)
{
	BIO *bio;
	EVP_PKEY *pk;
	int priv = 1;
	enum jose_err err;

	if (pem == NULL || len == 0 || len > INT_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (pk == NULL) {
		priv = 0;
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
			return NULL;
		pk = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (pk == NULL)
		return NULL;
	return key_new(pk, priv, kid, &err);
}

char *
jose_key_to_pem(const struct jose_key *k, int want_private)
{
	BIO *bio;
	BUF_MEM *mem = NULL;
	char *out = NULL;
	int ok;

	if (k == NULL || (want_private && !k->has_private))
		return NULL;
	/* The secure-memory BIO clears its buffer when freed. */
	if ((bio = BIO_new(want_private ? BIO_s_secmem() : BIO_s_mem())) == NULL)
		return NULL;
	if (want_private)
		ok = PEM_write_bio_PrivateKey(bio, k->pk, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, k->pk);
	if (ok == 1 && BIO_get_mem_ptr(bio, &mem) == 1 && mem != NULL &&
	    (out = malloc(mem->length + 1)) != NULL) {
		memcpy(out, mem->data, mem->length);
		out[mem->length] = '\0';
	}
	BIO_free(bio);
	ERR_clear_error();
	return out;
}

/* Decodes a base64url JWK member into out; exact length when want > 0,
 * otherwise 1..cap bytes. 0 on success. */
static int
jwk_bytes(const json_t *jwk, const char *name, uint8_t *out, size_t cap, size_t want,
          size_t *outlen)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s;
	size_t n, len;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > b64url_len(cap))
		return -1;
	if (b64url_decode(out, &len, s, n) != 0 || len == 0 || len > cap)
		return -1;
	if (want > 0 && len != want)
		return -1;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
jwk_ec(const json_t *jwk)
{
	uint8_t pt[1 + 2 * ES256_COORD];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pk = NULL;

	if (!json_is_string(json_object_get(jwk, "crv")) ||
	    strcmp(json_string_value(json_object_get(jwk, "crv")), "P-256") != 0)
		return NULL;
	/* RFC 7518 §6.2.1.2: x and y are exactly the field size, zero-padded. */
	pt[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (jwk_bytes(jwk, "x", pt + 1, ES256_COORD, ES256_COORD, NULL) != 0 ||
	    jwk_bytes(jwk, "y", pt + 1 + ES256_COORD, ES256_COORD, ES256_COORD, NULL) != 0)
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) == 1)
		pk = pkey_from_params("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

static EVP_PKEY *
jwk_rsa(const json_t *jwk)
{
	uint8_t n[RSA_MAX_BITS / 8], e[8];
	size_t nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (jwk_bytes(jwk, "n", n, sizeof(n), 0, &nlen) != 0 ||
	    jwk_bytes(jwk, "e", e, sizeof(e), 0, &elen) != 0)
		return NULL;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		pk = pkey_from_params("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static EVP_PKEY *
jwk_okp(const json_t *jwk)
{
	uint8_t x[ED25519_LEN];

	if (!json_is_string(json_object_get(jwk, "crv")) ||
	    strcmp(json_string_value(json_object_get(jwk, "crv")), "Ed25519") != 0)
		return NULL;
	if (jwk_bytes(jwk, "x", x, sizeof(x), ED25519_LEN, NULL) != 0)
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, sizeof(x));
}

struct jose_key *
jose_key_from_jwk(const json_t *jwk, enum jose_err *errp)
{
	enum jose_err dummy, *err = errp ? errp : &dummy;
	const json_t *kty, *v;
	const char *kid = NULL;
	EVP_PKEY *pk = NULL;
	struct jose_key *k;

	*err = JOSE_ERR_KEY;
	if (!json_is_object(jwk) || !json_is_string(kty = json_object_get(jwk, "kty")))
		return NULL;
	if ((v = json_object_get(jwk, "use")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		return NULL;
	if ((v = json_object_get(jwk, "key_ops")) != NULL) {
		size_t i;
		int verify = 0;

		if (!json_is_array(v))
			return NULL;
		for (i = 0; i < json_array_size(v); i++)
			if (json_is_string(json_array_get(v, i)) &&
			    strcmp(json_string_value(json_array_get(v, i)), "verify") == 0)
				verify = 1;
		if (!verify)
			return NULL;
	}
	if ((v = json_object_get(jwk, "kid")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) > MAX_KID)
			return NULL;
		kid = json_string_value(v);
	}
	/* Private members ("d", "p", ...) are never read: this makes a verifying
	 * key only, whatever the JWK carries. */
	if (strcmp(json_string_value(kty), "EC") == 0)
		pk = jwk_ec(jwk);
	else if (strcmp(json_string_value(kty), "RSA") == 0)
		pk = jwk_rsa(jwk);
	else if (strcmp(json_string_value(kty), "OKP") == 0)
		pk = jwk_okp(jwk);
	ERR_clear_error();
	if (pk == NULL)
		return NULL;
	if ((k = key_new(pk, 0, kid, err)) == NULL)
		return NULL;
	if ((v = json_object_get(jwk, "alg")) != NULL &&
	    (!json_is_string(v) || jose_alg_from_name(json_string_value(v)) != k->alg)) {
		jose_key_free(k);
		*err = JOSE_ERR_ALG;
		return NULL;
	}
	*err = JOSE_OK;
	return k;
}

/* Base64url of a big number's minimal big-endian bytes (RFC 7518 §6.3.1). */
static char *
bn_param_b64(const EVP_PKEY *pk, const char *name, size_t pad)
{
	BIGNUM *bn = NULL;
	uint8_t b[RSA_MAX_BITS / 8];
	int len;
	char *out = NULL;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return NULL;
	if (BN_num_bytes(bn) <= (int)sizeof(b)) {
		len = pad ? BN_bn2binpad(bn, b, (int)pad) : BN_bn2bin(bn, b);
		if (len > 0)
			out = b64url_encode_alloc(b, (size_t)len);
	}
	BN_free(bn);
	return out;
}

/* The public members as malloc'd base64url strings: EC a=x b=y; RSA a=e b=n;
 * OKP a=x (b stays NULL). */
static int
key_public_members(const struct jose_key *k, char **a, char **b)
{
	uint8_t raw[ED25519_LEN];
	size_t len = sizeof(raw);

	*a = *b = NULL;
	switch (k->alg) {
	case JOSE_ALG_ES256:
		*a = bn_param_b64(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, ES256_COORD);
		*b = bn_param_b64(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, ES256_COORD);
		break;
	case JOSE_ALG_RS256:
		*a = bn_param_b64(k->pk, OSSL_PKEY_PARAM_RSA_E, 0);
		*b = bn_param_b64(k->pk, OSSL_PKEY_PARAM_RSA_N, 0);
		break;
	case JOSE_ALG_EDDSA:
		if (EVP_PKEY_get_raw_public_key(k->pk, raw, &len) == 1 && len == ED25519_LEN)
			*a = b64url_encode_alloc(raw, len);
		if (*a == NULL)
			break;
		return 0;
	case JOSE_ALG_UNKNOWN:
		break;
	}
	if (*a != NULL && *b != NULL)
		return 0;
	free(*a);
	free(*b);
	*a = *b = NULL;
	return -1;
}

json_t *
jose_key_to_jwk(const struct jose_key *k)
{
	char *a, *b;
	json_t *j = NULL;

	if (k == NULL || key_public_members(k, &a, &b) != 0)
		return NULL;
	switch (k->alg) {
	case JOSE_ALG_ES256:
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
		    "crv", "P-256", "x", a, "y", b, "kid", k->kid, "alg", "ES256", "use", "sig");
		break;
	case JOSE_ALG_RS256:
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n", b, "e", a,
		    "kid", k->kid, "alg", "RS256", "use", "sig");
		break;
	case JOSE_ALG_EDDSA:
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519",
		    "x", a, "kid", k->kid, "alg", "EdDSA", "use", "sig");
		break;
	case JOSE_ALG_UNKNOWN:
		break;
	}
	free(a);
	free(b);
	return j;
}

int
jose_key_thumbprint(const struct jose_key *k, char out[44])
{
	char *a, *b;
	char json[64 + 2 * (RSA_MAX_BITS / 6 + 4)];
	uint8_t h[SHA256_LEN];
	int n = -1;

	if (k == NULL || key_public_members(k, &a, &b) != 0)
		return -1;
	/* RFC 7638 §3.2: required members only, lexicographic order, no spaces.
	 * The values are base64url, so no JSON escaping is needed. */
	switch (k->alg) {
	case JOSE_ALG_ES256:
		n = snprintf(json, sizeof(json),
		    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", a, b);
		break;
	case JOSE_ALG_RS256:
		n = snprintf(json, sizeof(json), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
		break;
	case JOSE_ALG_EDDSA:
		n = snprintf(json, sizeof(json), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", a);
		break;
	case JOSE_ALG_UNKNOWN:
		break;
	}
	free(a);
	free(b);
	if (n < 0 || (size_t)n >= sizeof(json))
		return -1;
	sha256(json, (size_t)n, h);
	b64url_encode(out, h, sizeof(h));
	return 0;
}

const char *
jose_key_kid(const struct jose_key *k)
{
	return k ? k->kid : NULL;
}

enum jose_alg
jose_key_alg(const struct jose_key *k)
{
	return k ? k->alg : JOSE_ALG_UNKNOWN;
}

int
jose_key_has_private(const struct jose_key *k)
{
	return k ? k->has_private : 0;
}

struct jose_key *
jose_key_ref(const struct jose_key *ck)
{
	/* The count is the only mutable part of a key; casting away const for
	 * it keeps every other use of a shared key read-only. */
	struct jose_key *k = (struct jose_key *)ck;

	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

void
jose_key_free(struct jose_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

/* ---- signing ------------------------------------------------------------- */

/* Each thread keeps, for the last few keys it signed with, a signing context
 * made ready once (EVP_DigestSignInit: the digest and the key's signature
 * method fetched, the key checked) and copies it for every signature, which
 * is cheaper than preparing a context anew. A cache slot names its key by
 * serial, never by address (a freed key's address may come back for another
 * key), and holds a reference to the key's EVP_PKEY through its context. No
 * randomness lives in a context (ECDSA's nonce comes from OpenSSL's DRBG when
 * signing), so a forked child may use its copy as it is. */
#define SIGN_SLOTS 4

struct sign_slot {
	uint64_t serial;
	EVP_MD_CTX *ready;
};

struct sign_cache {
	struct sign_slot slot[SIGN_SLOTS];
	unsigned next;
	EVP_MD_CTX *work;
};

static pthread_key_t sign_cache_key;
static pthread_once_t sign_cache_once = PTHREAD_ONCE_INIT;
static int sign_cache_ok;

static void
sign_cache_free(void *p)
{
	struct sign_cache *c = p;
	int i;

	for (i = 0; i < SIGN_SLOTS; i++)
		EVP_MD_CTX_free(c->slot[i].ready);
	EVP_MD_CTX_free(c->work);
	free(c);
}

static void
sign_cache_init(void)
{
	sign_cache_ok = pthread_key_create(&sign_cache_key, sign_cache_free) == 0;
}

static int
sign_init(EVP_MD_CTX *ctx, const struct jose_key *k)
{
	return EVP_DigestSignInit(
	           ctx, NULL, k->alg == JOSE_ALG_EDDSA ? NULL : util_sha256_md(), NULL, k->pk) == 1
	    ? 0
	    : -1;
}

/* A context ready to sign one message with k: the thread's copy of its
 * prepared context (*owned 0: the caller leaves it to the cache), or a new one
 * when the cache cannot serve (*owned 1: the caller frees it). NULL: no memory
 * or the key refused. */
static EVP_MD_CTX *
sign_ctx(const struct jose_key *k, int *owned)
{
	struct sign_cache *c = NULL;
	struct sign_slot *sl = NULL;
	EVP_MD_CTX *ctx;
	int i;

	pthread_once(&sign_cache_once, sign_cache_init);
	if (sign_cache_ok && (c = pthread_getspecific(sign_cache_key)) == NULL &&
	    (c = calloc(1, sizeof(*c))) != NULL && pthread_setspecific(sign_cache_key, c) != 0) {
		free(c);
		c = NULL;
	}
	if (c != NULL && c->work == NULL)
		c->work = EVP_MD_CTX_new();
	if (c != NULL && c->work != NULL) {
		for (i = 0; i < SIGN_SLOTS && sl == NULL; i++)
			if (c->slot[i].serial == k->serial && c->slot[i].ready != NULL)
				sl = &c->slot[i];
		if (sl == NULL) {
			sl = &c->slot[c->next++ % SIGN_SLOTS];
			EVP_MD_CTX_free(sl->ready);
			sl->serial = 0;
			if ((sl->ready = EVP_MD_CTX_new()) != NULL &&
			    sign_init(sl->ready, k) == 0) {
				sl->serial = k->serial;
			} else {
				EVP_MD_CTX_free(sl->ready);
				sl->ready = NULL;
				sl = NULL;
			}
		}
		if (sl != NULL && EVP_MD_CTX_copy_ex(c->work, sl->ready) == 1) {
			*owned = 0;
			return c->work;
		}
		ERR_clear_error();
	}
	/* No cache (or a context that cannot be copied): prepare one now. */
	if ((ctx = EVP_MD_CTX_new()) == NULL || sign_init(ctx, k) != 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	*owned = 1;
	return ctx;
}

/* Raw signature of msg into sig (MAX_SIG bytes); ES256 comes back as R||S. */
static int
sign_raw(const struct jose_key *k, const void *msg, size_t n, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx;
	uint8_t der[80];                /* DER ECDSA-Sig-Value for P-256 is at most 72 */
	size_t len;
	int ok = 0, owned = 0;

	if ((ctx = sign_ctx(k, &owned)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (k->alg == JOSE_ALG_ES256) {
		const unsigned char *p = der;
		ECDSA_SIG *es;
		const BIGNUM *r, *s;

		len = sizeof(der);
		if (EVP_DigestSign(ctx, der, &len, msg, n) != 1)
			goto out;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
			goto out;
		ECDSA_SIG_get0(es, &r, &s);
		ok = BN_bn2binpad(r, sig, ES256_COORD) == ES256_COORD &&
		     BN_bn2binpad(s, sig + ES256_COORD, ES256_COORD) == ES256_COORD;
		ECDSA_SIG_free(es);
		*siglen = 2 * ES256_COORD;
	} else {
		len = MAX_SIG;
		ok = EVP_DigestSign(ctx, sig, &len, msg, n) == 1;
		*siglen = len;
	}
out:
	if (owned)
		EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* typ is a media type we write into the header verbatim; keep it to the
 * characters media types use so no escaping is ever needed. */
static int
typ_ok(const char *typ)
{
	size_t i, n = strlen(typ);

	if (n == 0 || n > MAX_TYP)
		return 0;
	for (i = 0; i < n; i++) {
		char c = typ[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("+-./_", c) != NULL))
			return 0;
	}
	return 1;
}

char *
jose_sign(const struct jose_key *k, const char *typ, const json_t *payload)
{
	char hdr[MAX_HDR_PREFIX + MAX_TYP + 16];
	size_t hlen, plen, siglen, need, o;
	char *body = NULL, *out = NULL;
	uint8_t sig[MAX_SIG];

	if (k == NULL || !k->has_private || !json_is_object(payload))
		return NULL;
	if (typ != NULL && !typ_ok(typ))
		return NULL;
	memcpy(hdr, k->hdr_prefix, k->hdr_prefix_len);
	hlen = k->hdr_prefix_len;
	if (typ != NULL)
		hlen += (size_t)snprintf(hdr + hlen, sizeof(hdr) - hlen, ",\"typ\":\"%s\"", typ);
	hdr[hlen++] = '}';

	/* Insertion order is kept (no JSON_SORT_KEYS): claims read as written. */
	if ((body = json_dumps(payload, JSON_COMPACT)) == NULL)
		return NULL;
	plen = strlen(body);
	if (plen > JOSE_MAX_TOKEN * 4)
		goto out;
	need = b64url_len(hlen) + 1 + b64url_len(plen) + 1 + b64url_len(MAX_SIG) + 1;
	if ((out = malloc(need)) == NULL)
		goto out;
	o = b64url_encode(out, (const uint8_t *)hdr, hlen);
	out[o++] = '.';
	o += b64url_encode(out + o, (const uint8_t *)body, plen);
	if (sign_raw(k, out, o, sig, &siglen) != 0) {
		free(out);
		out = NULL;
		goto out;
	}
	out[o++] = '.';
	b64url_encode(out + o, sig, siglen);
out:
	/* Payloads may carry personal data; do not leave copies in the heap. */
	wipe(body, plen);
	free(body);
	return out;
}

/* ---- key sets ------------------------------------------------------------ */

struct jose_keyset *
jose_keyset_new(void)
{
	return calloc(1, sizeof(struct jose_keyset));
}

int
jose_keyset_add(struct jose_keyset *ks, struct jose_key *k)
{
	/* Ownership passes even on failure, so callers have one rule. A second
	 * key with the same kid would make kid lookup ambiguous. */
	if (ks == NULL || k == NULL || ks->n == MAX_KEYSET ||
	    jose_keyset_find(ks, k->kid) != NULL) {
		jose_key_free(k);
		return -1;
	}
	ks->k[ks->n++] = k;
	return 0;
}

struct jose_keyset *
jose_keyset_from_jwks(const json_t *jwks)
{
	struct jose_keyset *ks;
	const json_t *keys = json_object_get(jwks, "keys");
	size_t i;

	if (!json_is_array(keys) || (ks = jose_keyset_new()) == NULL)
		return NULL;
	for (i = 0; i < json_array_size(keys); i++) {
		struct jose_key *k = jose_key_from_jwk(json_array_get(keys, i), NULL);

		/* Keys we cannot use (other algs, encryption keys) are skipped;
		 * add frees duplicates. */
		if (k != NULL)
			(void)jose_keyset_add(ks, k);
	}
	return ks;
}

const struct jose_key *
jose_keyset_find(const struct jose_keyset *ks, const char *kid)
{
	size_t i;

	if (ks == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->k[i]->kid, kid) == 0)
			return ks->k[i];
	return NULL;
}

size_t
jose_keyset_count(const struct jose_keyset *ks)
{
	return ks ? ks->n : 0;
}

void
jose_keyset_free(struct jose_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		jose_key_free(ks->k[i]);
	free(ks);
}

/* ---- verification -------------------------------------------------------- */

static int
verify_raw(const struct jose_key *k, const void *msg, size_t n, const uint8_t *sig,
           size_t siglen)
{
	EVP_MD_CTX *ctx;
	uint8_t der[80];
	const uint8_t *s = sig;
	size_t slen = siglen;
	int ok = 0;

	if (k->alg == JOSE_ALG_ES256) {
		/* RFC 7518 §3.4: exactly R||S, 32 bytes each; DER here is refused. */
		ECDSA_SIG *es;
		BIGNUM *r, *ss;
		unsigned char *p = der;
		int dlen;

		if (siglen != 2 * ES256_COORD || (es = ECDSA_SIG_new()) == NULL)
			return -1;
		r = BN_bin2bn(sig, ES256_COORD, NULL);
		ss = BN_bin2bn(sig + ES256_COORD, ES256_COORD, NULL);
		if (r == NULL || ss == NULL || ECDSA_SIG_set0(es, r, ss) != 1) {
			BN_free(r);
			BN_free(ss);
			ECDSA_SIG_free(es);
			return -1;
		}
		dlen = i2d_ECDSA_SIG(es, NULL);
		if (dlen <= 0 || dlen > (int)sizeof(der) || i2d_ECDSA_SIG(es, &p) != dlen) {
			ECDSA_SIG_free(es);
			return -1;
		}
		ECDSA_SIG_free(es);
		s = der;
		slen = (size_t)dlen;
	} else if (k->alg == JOSE_ALG_EDDSA && siglen != 64) {
		return -1;
	} else if (k->alg == JOSE_ALG_RS256 &&
	           siglen != (size_t)EVP_PKEY_get_size(k->pk)) {
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit(ctx, NULL, k->alg == JOSE_ALG_EDDSA ? NULL : util_sha256_md(),
	    NULL, k->pk) == 1)
		ok = EVP_DigestVerify(ctx, s, slen, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static json_t *
parse_segment(const char *s, size_t n)
{
	uint8_t *raw;
	size_t len;
	json_t *j;

	if ((raw = b64url_decode_alloc(s, n, &len)) == NULL)
		return NULL;
	/* Duplicate members are how parser-differential attacks start. */
	j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	wipe(raw, len);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
typ_matches(const char *got, const char *want)
{
	if (strncasecmp(got, "application/", 12) == 0)
		got += 12;
	if (strncasecmp(want, "application/", 12) == 0)
		want += 12;
	return strcasecmp(got, want) == 0;
}

enum jose_err
jose_verify(const char *token, const struct jose_keyset *ks, const char *expect_typ,
            json_t **header, json_t **payload)
{
	const char *dot1, *dot2;
	size_t len, siglen;
	json_t *hdr = NULL, *pl = NULL, *v;
	const struct jose_key *k;
	enum jose_alg alg;
	uint8_t sig[MAX_SIG];
	enum jose_err err = JOSE_ERR_FORMAT;

	if (header != NULL)
		*header = NULL;
	if (payload != NULL)
		*payload = NULL;
	if (token == NULL || ks == NULL || payload == NULL)
		return JOSE_ERR_FORMAT;
	if ((len = strnlen(token, JOSE_MAX_TOKEN + 1)) > JOSE_MAX_TOKEN)
		return JOSE_ERR_FORMAT;
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return JOSE_ERR_FORMAT;

	if ((hdr = parse_segment(token, (size_t)(dot1 - token))) == NULL)
		return JOSE_ERR_FORMAT;
	/* RFC 7515 §4.1.11: we implement no extensions, so any "crit" is one we
	 * do not understand and the token must be refused. */
	if (json_object_get(hdr, "crit") != NULL)
		goto out;
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v) ||
	    (alg = jose_alg_from_name(json_string_value(v))) == JOSE_ALG_UNKNOWN) {
		err = JOSE_ERR_ALG;
		goto out;
	}
	v = json_object_get(hdr, "kid");
	if (v != NULL) {
		if (!json_is_string(v))
			goto out;
		if ((k = jose_keyset_find(ks, json_string_value(v))) == NULL) {
			err = JOSE_ERR_KID;
			goto out;
		}
	} else if (jose_keyset_count(ks) == 1) {
		k = ks->k[0];
	} else {
		err = JOSE_ERR_KID;
		goto out;
	}
	if (k->alg != alg) {
		err = JOSE_ERR_ALG;
		goto out;
	}
	if (expect_typ != NULL) {
		v = json_object_get(hdr, "typ");
		if (!json_is_string(v) || !typ_matches(json_string_value(v), expect_typ)) {
			err = JOSE_ERR_TYP;
			goto out;
		}
	}

	siglen = len - (size_t)(dot2 + 1 - token);
	if (siglen == 0 || siglen > b64url_len(MAX_SIG) ||
	    b64url_decode(sig, &siglen, dot2 + 1, siglen) != 0)
		goto out;
	if (verify_raw(k, token, (size_t)(dot2 - token), sig, siglen) != 0) {
		err = JOSE_ERR_SIG;
		goto out;
	}
	/* Only a signed payload is parsed. */
	if ((pl = parse_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		goto out;
	*payload = pl;
	if (header != NULL)
		*header = hdr;
	else
		json_decref(hdr);
	return JOSE_OK;
out:
	json_decref(hdr);
	return err;
}

/* NumericDate (RFC 7519 §2) as whole seconds; 0 when present and sane. */
static int
numeric_date(const json_t *payload, const char *name, long long *out)
{
	const json_t *v = json_object_get(payload, name);

	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!(d > -1e15 && d < 1e15))
			return -1;
		*out = (long long)d;
	} else {
		return -1;
	}
	/* Far beyond any real date; keeps the arithmetic below from overflowing. */
	if (*out < -(1LL << 50) || *out > (1LL << 50))
		return -1;
	return 0;
}

enum jose_err
jose_check_claims(const json_t *payload, const struct jose_claims_want *want)
{
	long long now, leeway, exp, nbf, iat;
	const json_t *v;

	if (!json_is_object(payload) || want == NULL)
		return JOSE_ERR_FORMAT;
	now = want->now ? (long long)want->now : (long long)now_s();
	/* Skew beyond a day is a broken clock, not skew; do not let a config
	 * typo make expired tokens valid for years. */
	leeway = want->leeway > 0 ? want->leeway : 0;
	if (leeway > 86400)
		leeway = 86400;

	if (numeric_date(payload, "exp", &exp) != 0 || exp <= now - leeway)
		return JOSE_ERR_EXPIRED;
	if (json_object_get(payload, "nbf") != NULL &&
	    (numeric_date(payload, "nbf", &nbf) != 0 || nbf > now + leeway))
		return JOSE_ERR_NBF;
	if (numeric_date(payload, "iat", &iat) != 0 || iat > now + leeway)
		return JOSE_ERR_IAT;
	if (want->iss != NULL) {
		v = json_object_get(payload, "iss");
		if (!json_is_string(v) || strcmp(json_string_value(v), want->iss) != 0)
			return JOSE_ERR_ISS;
	}
	if (want->aud != NULL) {
		int found = 0;

		v = json_object_get(payload, "aud");
		if (json_is_string(v)) {
			found = strcmp(json_string_value(v), want->aud) == 0;
		} else if (json_is_array(v)) {
			size_t i;

			for (i = 0; i < json_array_size(v) && !found; i++) {
				const json_t *a = json_array_get(v, i);

				found = json_is_string(a) && strcmp(json_string_value(a), want->aud) == 0;
			}
		}
		if (!found)
			return JOSE_ERR_AUD;
	}
	if (want->nonce != NULL) {
		v = json_object_get(payload, "nonce");
		if (!json_is_string(v) || !ct_streq(want->nonce, json_string_value(v)))
			return JOSE_ERR_NONCE;
	}
	return JOSE_OK;
}

/* lib/jose.h — JWS/JWK on OpenSSL EVP: ES256, RS256, EdDSA (Ed25519).
 *
 * Invariant: the algorithm used to verify is the key's own (fixed when the key
 * is made or imported from kty/crv), never the token header's; a header whose
 * "alg" differs from the key's is refused before any signature check. "none"
 * and every HMAC alg are refused everywhere. Keys are parsed once and kept as
 * EVP_PKEY. */
#ifndef AUTHD_LIB_JOSE_H
#define AUTHD_LIB_JOSE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

enum jose_alg {
	JOSE_ALG_UNKNOWN = 0,
	JOSE_ALG_ES256,
	JOSE_ALG_RS256,
	JOSE_ALG_EDDSA,
};

enum jose_err {
	JOSE_OK = 0,
	JOSE_ERR_FORMAT,   /* not a compact JWS, bad base64url, bad JSON, too large */
	JOSE_ERR_ALG,      /* header alg missing, none, HMAC, or not the key's alg */
	JOSE_ERR_KID,      /* no key with that kid */
	JOSE_ERR_SIG,      /* signature does not verify */
	JOSE_ERR_TYP,      /* header typ is not the expected one */
	JOSE_ERR_EXPIRED,  /* exp in the past (beyond leeway) or missing */
	JOSE_ERR_NBF,      /* nbf in the future (beyond leeway) */
	JOSE_ERR_IAT,      /* iat missing or in the future (beyond leeway) */
	JOSE_ERR_ISS,      /* iss missing or different */
	JOSE_ERR_AUD,      /* aud missing or does not contain the expected audience */
	JOSE_ERR_NONCE,    /* nonce missing or different */
	JOSE_ERR_KEY,      /* bad key material */
	JOSE_ERR_NOMEM,
};

/* Largest compact token accepted by jose_verify (bytes). */
#define JOSE_MAX_TOKEN 16384

struct jose_key;
struct jose_keyset;

const char *jose_alg_name(enum jose_alg alg);      /* "ES256", "RS256", "EdDSA" */
enum jose_alg jose_alg_from_name(const char *name); /* JOSE_ALG_UNKNOWN if not ours */
const char *jose_strerror(enum jose_err e);

/* New private key: P-256 for ES256, RSA-2048 for RS256, Ed25519 for EdDSA. */
struct jose_key *jose_key_generate(enum jose_alg alg, const char *kid);
/* From PEM (private "PRIVATE KEY" or public "PUBLIC KEY"); alg derived from the key. */
struct jose_key *jose_key_from_pem(const char *pem, size_t len, const char *kid);
/* malloc'd PEM (PKCS#8 for private); NULL if want_private and the key has none. */
char *jose_key_to_pem(const struct jose_key *k, int want_private);
/* From a public JWK object: kty/crv decide the alg; a present "alg" member must
 * agree; "use" if present must be "sig". kid is taken from the JWK. */
struct jose_key *jose_key_from_jwk(const json_t *jwk, enum jose_err *err);
/* Public JWK: kty, crv/x/y or n/e, kid, alg, use="sig". */
json_t *jose_key_to_jwk(const struct jose_key *k);
const char *jose_key_kid(const struct jose_key *k);
enum jose_alg jose_key_alg(const struct jose_key *k);
int jose_key_has_private(const struct jose_key *k);
/* Keys are reference-counted: jose_key_ref adds a reference (so one key can sit
 * in a key set and be kept for signing), jose_key_free drops one. Thread-safe. */
struct jose_key *jose_key_ref(const struct jose_key *k);
void jose_key_free(struct jose_key *k);

/* Signs payload with k: header {"alg":k.alg,"kid":k.kid,"typ":typ} (typ omitted
 * when NULL). Returns a malloc'd compact JWS or NULL. Thread-safe for one k. */
char *jose_sign(const struct jose_key *k, const char *typ, const json_t *payload);

/* Key sets hold references; jose_keyset_add takes ownership of k (also when it
 * fails: a full set or a kid already present; then k is freed and -1 returned).
 * A key set is read-only once built and may be shared between threads. */
struct jose_keyset *jose_keyset_new(void);
int jose_keyset_add(struct jose_keyset *ks, struct jose_key *k);
/* From a JWKS object {"keys":[...]}; keys it cannot use are skipped. */
struct jose_keyset *jose_keyset_from_jwks(const json_t *jwks);
const struct jose_key *jose_keyset_find(const struct jose_keyset *ks, const char *kid);
size_t jose_keyset_count(const struct jose_keyset *ks);
void jose_keyset_free(struct jose_keyset *ks);

/* Verifies a compact JWS against ks: kid required when ks holds more than one
 * key; the key's alg must equal the header alg; when expect_typ is not NULL the
 * header typ must match it (case-insensitive, "application/" prefix allowed).
 * On success *payload (and *header when not NULL) are new references. */
enum jose_err jose_verify(const char *token, const struct jose_keyset *ks,
                          const char *expect_typ, json_t **header, json_t **payload);

/* Claim checks after signature verification. Unset (NULL/0) fields are not checked,
 * except exp and iat which are always required. */
struct jose_claims_want {
	const char *iss;
	const char *aud;    /* aud may be a string or an array containing it */
	const char *nonce;
	time_t now;         /* 0: time(NULL) */
	long leeway;        /* seconds allowed for clock skew */
};
enum jose_err jose_check_claims(const json_t *payload, const struct jose_claims_want *want);

/* RFC 7638 JWK thumbprint (SHA-256, base64url) of k's public key into out[44]. */
int jose_key_thumbprint(const struct jose_key *k, char out[44]);

#endif

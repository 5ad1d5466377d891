/* tests/unit/test_jose.c — lib/jose: sign/verify for every alg, JWK/PEM round
 * trips, RFC vectors, and a refusal test for each attack jose_verify stops. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../lib/b64.h"
#include "../../lib/jose.h"
#include "../../lib/util.h"

#define NOW 1700000000

/* Keys are slow to make (RSA); one of each for the whole file. */
static struct jose_key *key_es, *key_rs, *key_ed;

static int
setup(void **state)
{
	(void)state;
	key_es = jose_key_generate(JOSE_ALG_ES256, "es-1");
	key_rs = jose_key_generate(JOSE_ALG_RS256, "rs-1");
	key_ed = jose_key_generate(JOSE_ALG_EDDSA, "ed-1");
	return key_es && key_rs && key_ed ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	jose_key_free(key_es);
	jose_key_free(key_rs);
	jose_key_free(key_ed);
	return 0;
}

static json_t *
claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://sso.example.gov.tw",
	    "sub", "u-42", "aud", "app-1", "exp", (json_int_t)NOW + 300, "iat", (json_int_t)NOW,
	    "nonce", "n-0S6_WzA2Mj");
}

/* A key set holding only the public half of k, reached through its JWK. */
static struct jose_keyset *
public_set(const struct jose_key *k)
{
	json_t *jwk = jose_key_to_jwk(k);
	enum jose_err err;
	struct jose_key *pub;
	struct jose_keyset *ks;

	assert_non_null(jwk);
	pub = jose_key_from_jwk(jwk, &err);
	json_decref(jwk);
	assert_non_null(pub);
	assert_int_equal(err, JOSE_OK);
	assert_false(jose_key_has_private(pub));
	assert_non_null(ks = jose_keyset_new());
	assert_int_equal(jose_keyset_add(ks, pub), 0);
	return ks;
}

/* Compact JWS from raw header JSON, payload JSON and signature bytes. */
static char *
make_token(const char *hdr, const char *payload, const uint8_t *sig, size_t siglen)
{
	char *h = b64url_encode_alloc((const uint8_t *)hdr, strlen(hdr));
	char *p = b64url_encode_alloc((const uint8_t *)payload, strlen(payload));
	char *s = b64url_encode_alloc(sig, siglen);
	char *out = NULL;

	assert_non_null(h);
	assert_non_null(p);
	assert_non_null(s);
	assert_true(asprintf(&out, "%s.%s.%s", h, p, s) > 0);
	free(h);
	free(p);
	free(s);
	return out;
}

/* Attack tokens need a real signature over a header of our choosing, which
 * jose_sign will not make; sign with OpenSSL directly from the key's PEM. */
static size_t
raw_sign(const struct jose_key *k, const char *input, uint8_t *sig, size_t cap, int es_raw)
{
	char *pem = jose_key_to_pem(k, 1);
	BIO *bio;
	EVP_PKEY *pk;
	EVP_MD_CTX *ctx;
	size_t len = cap;

	assert_non_null(pem);
	bio = BIO_new_mem_buf(pem, -1);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free_secret_str(pem);
	assert_non_null(pk);
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(ctx, NULL,
	    jose_key_alg(k) == JOSE_ALG_EDDSA ? NULL : EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const uint8_t *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (es_raw && jose_key_alg(k) == JOSE_ALG_ES256) {
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		const BIGNUM *r, *s;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
		len = 64;
	}
	return len;
}

/* A token with header hdr and payload pl signed by k (ES256 as R||S or DER). */
static char *
signed_token(const struct jose_key *k, const char *hdr, const char *pl, int es_raw)
{
	char *h = b64url_encode_alloc((const uint8_t *)hdr, strlen(hdr));
	char *p = b64url_encode_alloc((const uint8_t *)pl, strlen(pl));
	char *input = NULL, *s, *out = NULL;
	uint8_t sig[1024];
	size_t n;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	n = raw_sign(k, input, sig, sizeof(sig), es_raw);
	s = b64url_encode_alloc(sig, n);
	assert_true(asprintf(&out, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

static const char *PL =
    "{\"iss\":\"https://sso.example.gov.tw\",\"aud\":\"app-1\",\"exp\":1700000300,\"iat\":1700000000}";

static void
round_trip(struct jose_key *k, const char *alg)
{
	json_t *pl = claims(), *hdr = NULL, *got = NULL;
	struct jose_keyset *ks = public_set(k);
	char *tok = jose_sign(k, "at+jwt", pl);
	struct jose_claims_want want = { .iss = "https://sso.example.gov.tw", .aud = "app-1",
	    .nonce = "n-0S6_WzA2Mj", .now = NOW, .leeway = 30 };

	assert_non_null(tok);
	assert_int_equal(jose_verify(tok, ks, "at+jwt", &hdr, &got), JOSE_OK);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), jose_key_kid(k));
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
	assert_true(json_equal(got, pl));
	assert_int_equal(jose_check_claims(got, &want), JOSE_OK);
	/* "application/" prefix and case are allowed for typ (RFC 7515 §4.1.9). */
	json_decref(got);
	assert_int_equal(jose_verify(tok, ks, "application/AT+JWT", NULL, &got), JOSE_OK);
	json_decref(got);
	/* A different expected typ is refused (an ID token is not an access token). */
	assert_int_equal(jose_verify(tok, ks, "JWT", NULL, &got), JOSE_ERR_TYP);
	assert_null(got);
	free(tok);
	json_decref(hdr);
	json_decref(pl);
	jose_keyset_free(ks);
}

static void
test_roundtrip_es256(void **state) { (void)state; round_trip(key_es, "ES256"); }
static void
test_roundtrip_rs256(void **state) { (void)state; round_trip(key_rs, "RS256"); }
static void
test_roundtrip_eddsa(void **state) { (void)state; round_trip(key_ed, "EdDSA"); }

/* A thread signs from a context it prepared once per key (lib/jose.c
 * sign_ctx). Many keys in turn, more than the thread keeps, each signature
 * checked against its own key only; and a key made after another was freed
 * (maybe at the same address) signs with its own key, not the freed one's. */
static void
test_sign_cache_per_key(void **state)
{
	struct jose_key *keys[6];
	json_t *pl = claims(), *got = NULL;
	int i, round;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_non_null(keys[i] = jose_key_generate(JOSE_ALG_ES256, NULL));
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 6; i++) {
			struct jose_keyset *own = public_set(keys[i]);
			struct jose_keyset *other = public_set(keys[(i + 1) % 6]);
			char *tok = jose_sign(keys[i], "at+jwt", pl);

			assert_non_null(tok);
			assert_int_equal(jose_verify(tok, own, "at+jwt", NULL, &got), JOSE_OK);
			json_decref(got);
			got = NULL;
			assert_int_not_equal(
			    jose_verify(tok, other, "at+jwt", NULL, &got), JOSE_OK);
			assert_null(got);
			free(tok);
			jose_keyset_free(own);
			jose_keyset_free(other);
		}
	}
	for (i = 0; i < 6; i++) {
		struct jose_keyset *old = public_set(keys[i]), *fresh;
		char *tok;

		jose_key_free(keys[i]);
		assert_non_null(keys[i] = jose_key_generate(JOSE_ALG_ES256, NULL));
		fresh = public_set(keys[i]);
		assert_non_null(tok = jose_sign(keys[i], NULL, pl));
		assert_int_equal(jose_verify(tok, fresh, NULL, NULL, &got), JOSE_OK);
		json_decref(got);
		got = NULL;
		assert_int_not_equal(jose_verify(tok, old, NULL, NULL, &got), JOSE_OK);
		free(tok);
		jose_keyset_free(old);
		jose_keyset_free(fresh);
	}
	for (i = 0; i < 6; i++)
		jose_key_free(keys[i]);
	json_decref(pl);
}

/* After fork, parent and child each sign the same payload with the context the
 * parent prepared before forking: both verify, and the signatures differ
 * (ECDSA's nonce is drawn afresh on each side, the prepared context holds no
 * randomness). */
static void
test_sign_cache_across_fork(void **state)
{
	json_t *pl = claims(), *got = NULL;
	struct jose_keyset *ks = public_set(key_es);
	char *tok = jose_sign(key_es, NULL, pl), child_tok[1024];
	int fds[2], status;
	ssize_t n, got_n = 0;
	pid_t pid;

	(void)state;
	assert_non_null(tok);
	free(tok);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *t = jose_sign(key_es, NULL, pl);

		close(fds[0]);
		if (t == NULL || write(fds[1], t, strlen(t)) != (ssize_t)strlen(t))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	tok = jose_sign(key_es, NULL, pl);
	while ((n = read(fds[0], child_tok + got_n, sizeof(child_tok) - 1 - (size_t)got_n)) > 0)
		got_n += n;
	close(fds[0]);
	child_tok[got_n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(tok);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &got), JOSE_OK);
	json_decref(got);
	got = NULL;
	assert_int_equal(jose_verify(child_tok, ks, NULL, NULL, &got), JOSE_OK);
	json_decref(got);
	assert_string_not_equal(tok, child_tok);
	free(tok);
	jose_keyset_free(ks);
	json_decref(pl);
}

static void
test_payload_order_kept(void **state)
{
	json_t *pl = json_pack("{s:s, s:s, s:I, s:I}", "sub", "a", "iss", "b", "exp",
	    (json_int_t)NOW + 1, "iat", (json_int_t)NOW);
	char *tok = jose_sign(key_ed, NULL, pl), *dot, *dot2;
	uint8_t *raw;
	size_t n;

	(void)state;
	assert_non_null(tok);
	dot = strchr(tok, '.');
	dot2 = strchr(dot + 1, '.');
	raw = b64url_decode_alloc(dot + 1, (size_t)(dot2 - dot - 1), &n);
	assert_non_null(raw);
	assert_string_equal((char *)raw,
	    "{\"sub\":\"a\",\"iss\":\"b\",\"exp\":1700000001,\"iat\":1700000000}");
	free(raw);
	/* No typ: header has only alg and kid. */
	raw = b64url_decode_alloc(tok, (size_t)(dot - tok), &n);
	assert_string_equal((char *)raw, "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\"}");
	free(raw);
	free(tok);
	json_decref(pl);
}

static void
test_pem_round_trip(void **state)
{
	struct jose_key *ks[3] = { key_es, key_rs, key_ed };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		char *priv = jose_key_to_pem(ks[i], 1), *pub = jose_key_to_pem(ks[i], 0), *tok;
		struct jose_key *kp, *kq;
		struct jose_keyset *set;
		json_t *pl = claims(), *got = NULL;

		assert_non_null(priv);
		assert_non_null(strstr(priv, "-----BEGIN PRIVATE KEY-----"));
		assert_non_null(pub);
		assert_non_null(strstr(pub, "-----BEGIN PUBLIC KEY-----"));
		kp = jose_key_from_pem(priv, strlen(priv), "again");
		kq = jose_key_from_pem(pub, strlen(pub), "again");
		assert_non_null(kp);
		assert_non_null(kq);
		assert_true(jose_key_has_private(kp));
		assert_false(jose_key_has_private(kq));
		assert_int_equal(jose_key_alg(kp), jose_key_alg(ks[i]));
		/* A public key cannot sign or give out a private PEM. */
		assert_null(jose_key_to_pem(kq, 1));
		assert_null(jose_sign(kq, NULL, pl));
		tok = jose_sign(kp, "JWT", pl);
		set = jose_keyset_new();
		assert_int_equal(jose_keyset_add(set, kq), 0);
		assert_int_equal(jose_verify(tok, set, "JWT", NULL, &got), JOSE_OK);
		json_decref(got);
		free(tok);
		jose_keyset_free(set);
		jose_key_free(kp);
		json_decref(pl);
		free_secret_str(priv);
		free(pub);
	}
	/* Garbage and an empty PEM are refused. */
	{
		static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

		assert_null(jose_key_from_pem(junk, sizeof(junk) - 1, NULL));
	}
	assert_null(jose_key_from_pem("", 0, NULL));
}

static void
test_kid_defaults_to_thumbprint(void **state)
{
	struct jose_key *k = jose_key_generate(JOSE_ALG_ES256, NULL);
	char tp[44];

	(void)state;
	assert_non_null(k);
	assert_int_equal(jose_key_thumbprint(k, tp), 0);
	assert_int_equal(strlen(tp), 43);
	assert_string_equal(jose_key_kid(k), tp);
	jose_key_free(k);
}

/* RFC 7638 §3.1 worked example. */
static void
test_thumbprint_rfc7638(void **state)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA",
	    "n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
	    "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
	enum jose_err err;
	struct jose_key *k = jose_key_from_jwk(jwk, &err);
	char tp[44];

	(void)state;
	assert_non_null(k);
	assert_int_equal(jose_key_thumbprint(k, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_string_equal(jose_key_kid(k), "2011-04-29");
	jose_key_free(k);
	json_decref(jwk);
}

/* RFC 7515 Appendix A.3: the spec's own ES256 JWS verifies with our code. */
static void
test_rfc7515_a3(void **state)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
	    "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
	    "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
	    "d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
	const char *jws = "eyJhbGciOiJFUzI1NiJ9"
	    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
	enum jose_err err;
	struct jose_key *k = jose_key_from_jwk(jwk, &err);
	struct jose_keyset *ks = jose_keyset_new();
	json_t *pl = NULL;
	char *bad;

	(void)state;
	assert_non_null(k);
	/* "d" is ignored: an imported JWK is only ever a verifying key. */
	assert_false(jose_key_has_private(k));
	assert_int_equal(jose_keyset_add(ks, k), 0);
	assert_int_equal(jose_verify(jws, ks, NULL, NULL, &pl), JOSE_OK);
	assert_string_equal(json_string_value(json_object_get(pl, "iss")), "joe");
	assert_int_equal(json_integer_value(json_object_get(pl, "exp")), 1300819380);
	assert_true(json_is_true(json_object_get(pl, "http://example.com/is_root")));
	json_decref(pl);
	/* One flipped signature bit must fail. */
	bad = strdup(jws);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(jose_verify(bad, ks, NULL, NULL, &pl), JOSE_ERR_SIG);
	free(bad);
	jose_keyset_free(ks);
	json_decref(jwk);
}

static void
test_refuse_alg_none(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	char hdr[128];
	char *tok;
	json_t *pl = NULL;

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"kid\":\"%s\"}", jose_key_kid(key_es));
	tok = make_token(hdr, PL, (const uint8_t *)"", 0);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	assert_null(pl);
	free(tok);
	tok = make_token("{\"alg\":\"NONE\"}", PL, (const uint8_t *)"x", 1);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	/* No alg at all, and alg of the wrong JSON type. */
	tok = make_token("{\"kid\":\"es-1\"}", PL, (const uint8_t *)"x", 1);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	tok = make_token("{\"alg\":[\"ES256\"]}", PL, (const uint8_t *)"x", 1);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	assert_int_equal(jose_alg_from_name("none"), JOSE_ALG_UNKNOWN);
	assert_int_equal(jose_alg_from_name("HS256"), JOSE_ALG_UNKNOWN);
	assert_int_equal(jose_alg_from_name("es256"), JOSE_ALG_UNKNOWN);
	jose_keyset_free(ks);
}

/* The libjwt 1.10 confusion: an HS256 token whose HMAC key is the public key
 * (PEM text, or the JWK text) must never verify. */
static void
hs256_with_secret(const struct jose_keyset *ks, const char *secret)
{
	const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"es-1\",\"typ\":\"JWT\"}";
	char *h = b64url_encode_alloc((const uint8_t *)hdr, strlen(hdr));
	char *p = b64url_encode_alloc((const uint8_t *)PL, strlen(PL));
	char *input = NULL, *tok;
	uint8_t mac[SHA256_LEN];
	json_t *pl = NULL;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	hmac_sha256(secret, strlen(secret), input, strlen(input), mac);
	tok = make_token(hdr, PL, mac, sizeof(mac));
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	assert_null(pl);
	free(tok);
	free(input);
	free(h);
	free(p);
}

static void
test_refuse_hs256_key_confusion(void **state)
{
	char *pem = jose_key_to_pem(key_es, 0);
	json_t *jwk = jose_key_to_jwk(key_es);
	char *jwk_text = json_dumps(jwk, JSON_COMPACT);
	struct jose_keyset *ks = public_set(key_es);

	(void)state;
	assert_non_null(pem);
	assert_non_null(jwk_text);
	hs256_with_secret(ks, pem);
	hs256_with_secret(ks, jwk_text);
	free(pem);
	free(jwk_text);
	json_decref(jwk);
	jose_keyset_free(ks);
}

static void
test_refuse_rs256_header_on_es256_key(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	char *tok;
	json_t *pl = NULL;

	(void)state;
	/* Properly RS256-signed by the RSA key, but naming the EC key's kid. */
	tok = signed_token(key_rs, "{\"alg\":\"RS256\",\"kid\":\"es-1\"}", PL, 0);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	/* Same without kid (single-key set). */
	tok = signed_token(key_rs, "{\"alg\":\"RS256\"}", PL, 0);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	/* EdDSA header on the EC key. */
	tok = signed_token(key_ed, "{\"alg\":\"EdDSA\",\"kid\":\"es-1\"}", PL, 0);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_ALG);
	free(tok);
	assert_null(pl);
	jose_keyset_free(ks);
}

static void
test_kid_selection(void **state)
{
	struct jose_keyset *one = public_set(key_es), *two = public_set(key_es);
	json_t *jwk = jose_key_to_jwk(key_ed), *pl = NULL;
	char *tok;

	(void)state;
	assert_int_equal(jose_keyset_add(two, jose_key_from_jwk(jwk, NULL)), 0);
	assert_int_equal(jose_keyset_count(two), 2);
	/* Wrong kid. */
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-2\"}", PL, 1);
	assert_int_equal(jose_verify(tok, one, NULL, NULL, &pl), JOSE_ERR_KID);
	free(tok);
	/* No kid: fine with one key, refused with two. */
	tok = signed_token(key_es, "{\"alg\":\"ES256\"}", PL, 1);
	assert_int_equal(jose_verify(tok, one, NULL, NULL, &pl), JOSE_OK);
	json_decref(pl);
	pl = NULL;
	assert_int_equal(jose_verify(tok, two, NULL, NULL, &pl), JOSE_ERR_KID);
	free(tok);
	/* The right kid picks the right key among two. */
	tok = signed_token(key_ed, "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\"}", PL, 0);
	assert_int_equal(jose_verify(tok, two, NULL, NULL, &pl), JOSE_OK);
	json_decref(pl);
	free(tok);
	/* A key with a kid already present is refused (and freed). */
	assert_int_equal(jose_keyset_add(two, jose_key_from_jwk(jwk, NULL)), -1);
	assert_int_equal(jose_keyset_count(two), 2);
	assert_null(jose_keyset_find(two, "nope"));
	assert_non_null(jose_keyset_find(two, "ed-1"));
	json_decref(jwk);
	jose_keyset_free(one);
	jose_keyset_free(two);
}

static void
test_refuse_tampering(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	json_t *pl = claims(), *got = NULL;
	char *tok = jose_sign(key_es, NULL, pl), *evil, *dot1, *dot2;
	json_t *changed = claims();
	char *other;

	(void)state;
	/* Tampered payload: splice another payload under the same signature. */
	json_object_set_new(changed, "sub", json_string("admin"));
	other = jose_sign(key_es, NULL, changed);
	dot1 = strchr(other, '.');
	dot2 = strchr(dot1 + 1, '.');
	evil = NULL;
	assert_true(asprintf(&evil, "%.*s%.*s%s", (int)(strchr(tok, '.') - tok), tok,
	    (int)(dot2 - dot1), dot1, strrchr(tok, '.')) > 0);
	assert_int_equal(jose_verify(evil, ks, NULL, NULL, &got), JOSE_ERR_SIG);
	assert_null(got);
	free(evil);
	/* Tampered signature. */
	evil = strdup(tok);
	evil[strlen(evil) - 10] = evil[strlen(evil) - 10] == 'x' ? 'y' : 'x';
	assert_int_equal(jose_verify(evil, ks, NULL, NULL, &got), JOSE_ERR_SIG);
	free(evil);
	/* Signature of the right key over other bytes, stripped entirely. */
	evil = strdup(tok);
	*(strrchr(evil, '.') + 1) = '\0';
	assert_int_equal(jose_verify(evil, ks, NULL, NULL, &got), JOSE_ERR_FORMAT);
	free(evil);
	free(tok);
	free(other);
	json_decref(pl);
	json_decref(changed);
	jose_keyset_free(ks);
}

static void
test_refuse_es256_sig_length(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	json_t *pl = NULL;
	char *tok;
	char *s;
	uint8_t sig[64];
	size_t n;

	(void)state;
	/* A valid signature in DER (what OpenSSL emits) is not a JWS signature. */
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\"}", PL, 0);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_SIG);
	free(tok);
	/* R||S with one byte missing. */
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\"}", PL, 1);
	s = strrchr(tok, '.') + 1;
	assert_int_equal(b64url_decode(sig, &n, s, strlen(s)), 0);
	assert_int_equal(n, 64);
	b64url_encode(s, sig, 63);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_SIG);
	free(tok);
	assert_null(pl);
	jose_keyset_free(ks);
}

static void
test_refuse_crit(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	json_t *pl = NULL;
	char *tok = signed_token(key_es,
	    "{\"alg\":\"ES256\",\"kid\":\"es-1\",\"crit\":[\"exp\"],\"exp\":1}", PL, 1);

	(void)state;
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_FORMAT);
	assert_null(pl);
	free(tok);
	jose_keyset_free(ks);
}

static void
test_refuse_typ(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	json_t *pl = NULL;
	char *tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\"}", PL, 1);

	(void)state;
	/* typ expected but absent. */
	assert_int_equal(jose_verify(tok, ks, "JWT", NULL, &pl), JOSE_ERR_TYP);
	free(tok);
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\",\"typ\":\"logout+jwt\"}", PL, 1);
	assert_int_equal(jose_verify(tok, ks, "at+jwt", NULL, &pl), JOSE_ERR_TYP);
	assert_int_equal(jose_verify(tok, ks, "application/logout+jwt", NULL, &pl), JOSE_OK);
	json_decref(pl);
	free(tok);
	/* jose_sign refuses a typ that would need escaping. */
	pl = claims();
	assert_null(jose_sign(key_es, "a\"b", pl));
	assert_null(jose_sign(key_es, "", pl));
	json_decref(pl);
	jose_keyset_free(ks);
}

static void
test_refuse_oversized_and_garbage(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	json_t *pl = NULL;
	char *big, *tok, *pad;
	size_t i;
	static const char *garbage[] = {
		"", ".", "..", "...", "a", "a.b", "a.b.c", "a.b.c.d", "\xff.\xff.\xff",
		"eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJFUzI1NiJ9..", "eyJhbGciOiJFUzI1NiJ9.e30.",
		"eyJhbGciOiJFUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJFUzI1NiJ9.e30=.AAAA",
		"eyJhbGciOiJFUzI1NiJ9.e30.AA AA", "eyJhbGciOiJFUzI1NiJ9.e30.AA+/",
		"WyJFUzI1NiJd.e30.AAAA",             /* header is an array */
		"bnVsbA.e30.AAAA",                   /* header is null */
		"eyJhbGciOiJFUzI1NiIsImFsZyI6IkVTMjU2In0.e30.AAAA", /* duplicate alg */
		"eyJhbGciOiJFUzI1NiIsImtpZCI6NX0.e30.AAAA",         /* kid is a number */
	};

	(void)state;
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		enum jose_err e = jose_verify(garbage[i], ks, NULL, NULL, &pl);

		assert_int_not_equal(e, JOSE_OK);
		assert_null(pl);
	}
	assert_int_equal(jose_verify("a.b.c.d", ks, NULL, NULL, &pl), JOSE_ERR_FORMAT);
	assert_int_equal(jose_verify(NULL, ks, NULL, NULL, &pl), JOSE_ERR_FORMAT);
	assert_int_equal(jose_verify("a.b.c", NULL, NULL, NULL, &pl), JOSE_ERR_FORMAT);

	/* A payload that is not an object, validly signed, is still refused. */
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\"}", "[1,2]", 1);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_FORMAT);
	free(tok);

	/* Validly signed but longer than JOSE_MAX_TOKEN. */
	pad = malloc(JOSE_MAX_TOKEN);
	memset(pad, 'a', JOSE_MAX_TOKEN - 1);
	pad[JOSE_MAX_TOKEN - 1] = '\0';
	big = NULL;
	assert_true(asprintf(&big, "{\"exp\":1,\"pad\":\"%s\"}", pad) > 0);
	tok = signed_token(key_es, "{\"alg\":\"ES256\",\"kid\":\"es-1\"}", big, 1);
	assert_true(strlen(tok) > JOSE_MAX_TOKEN);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &pl), JOSE_ERR_FORMAT);
	assert_null(pl);
	free(tok);
	free(big);
	free(pad);
	jose_keyset_free(ks);
}

static void
test_jwk_import_refusals(void **state)
{
	json_t *good = jose_key_to_jwk(key_es), *j;
	enum jose_err err;
	char y[64];
	uint8_t raw[32];
	size_t n;
	struct jose_key *k;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(good, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(good, "alg")), "ES256");
	/* Point off the curve: y + 1. */
	j = json_deep_copy(good);
	assert_int_equal(b64url_decode(raw, &n, json_string_value(json_object_get(j, "y")), 43), 0);
	raw[31] ^= 1;
	b64url_encode(y, raw, 32);
	json_object_set_new(j, "y", json_string(y));
	assert_null(jose_key_from_jwk(j, &err));
	assert_int_equal(err, JOSE_ERR_KEY);
	json_decref(j);
	/* Short coordinate. */
	j = json_deep_copy(good);
	b64url_encode(y, raw, 31);
	json_object_set_new(j, "y", json_string(y));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	/* Other curve, other kty, encryption use, key_ops without verify. */
	j = json_deep_copy(good);
	json_object_set_new(j, "crv", json_string("P-384"));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	j = json_deep_copy(good);
	json_object_set_new(j, "kty", json_string("oct"));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	j = json_deep_copy(good);
	json_object_set_new(j, "use", json_string("enc"));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	j = json_deep_copy(good);
	json_object_set_new(j, "key_ops", json_pack("[s]", "encrypt"));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	/* alg disagreeing with the key type. */
	j = json_deep_copy(good);
	json_object_set_new(j, "alg", json_string("HS256"));
	assert_null(jose_key_from_jwk(j, &err));
	assert_int_equal(err, JOSE_ERR_ALG);
	json_decref(j);
	j = json_deep_copy(good);
	json_object_set_new(j, "alg", json_string("RS256"));
	assert_null(jose_key_from_jwk(j, &err));
	assert_int_equal(err, JOSE_ERR_ALG);
	json_decref(j);
	/* Padding in a coordinate is not base64url. */
	j = json_deep_copy(good);
	snprintf(y, sizeof(y), "%s=", json_string_value(json_object_get(good, "y")));
	json_object_set_new(j, "y", json_string(y));
	assert_null(jose_key_from_jwk(j, &err));
	json_decref(j);
	assert_null(jose_key_from_jwk(NULL, &err));
	j = json_string("x");
	assert_null(jose_key_from_jwk(j, NULL));
	json_decref(j);
	/* And the untouched JWK still imports. */
	k = jose_key_from_jwk(good, &err);
	assert_non_null(k);
	jose_key_free(k);
	json_decref(good);
}

static void
test_rsa_small_refused(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	char *pem;
	json_t *jwk;
	enum jose_err err;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[128], eb[8];
	char *n64, *e64;
	int nlen, elen;

	(void)state;
	assert_non_null(pk);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	BIO_get_mem_ptr(bio, &mem);
	pem = strndup(mem->data, mem->length);
	assert_null(jose_key_from_pem(pem, strlen(pem), NULL));
	free(pem);
	BIO_free(bio);
	EVP_PKEY_get_bn_param(pk, "n", &n);
	EVP_PKEY_get_bn_param(pk, "e", &e);
	nlen = BN_bn2bin(n, nb);
	elen = BN_bn2bin(e, eb);
	n64 = b64url_encode_alloc(nb, (size_t)nlen);
	e64 = b64url_encode_alloc(eb, (size_t)elen);
	jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n64, "e", e64);
	assert_null(jose_key_from_jwk(jwk, &err));
	assert_int_equal(err, JOSE_ERR_KEY);
	json_decref(jwk);
	free(n64);
	free(e64);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pk);
}

/* A JWK from n and e as big numbers. */
static json_t *
rsa_jwk(const BIGNUM *n, const BIGNUM *e)
{
	uint8_t nb[1100], eb[40];
	int nlen = BN_bn2bin(n, nb), elen = BN_bn2bin(e, eb);
	char *n64 = b64url_encode_alloc(nb, (size_t)nlen), *e64 = b64url_encode_alloc(eb, (size_t)elen);
	json_t *j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n64, "e", e64);

	free(n64);
	free(e64);
	return j;
}

/* Big number from a base64url JWK member. */
static BIGNUM *
jwk_bn(const json_t *jwk, const char *name)
{
	const char *v = json_string_value(json_object_get(jwk, name));
	size_t len;
	uint8_t *raw = b64url_decode_alloc(v, strlen(v), &len);
	BIGNUM *bn;

	assert_non_null(raw);
	bn = BN_bin2bn(raw, (int)len, NULL);
	free(raw);
	assert_non_null(bn);
	return bn;
}

/* Imports a JWK made from n and e; 1 when accepted. */
static int
rsa_imports(const BIGNUM *n, const BIGNUM *e)
{
	json_t *jwk = rsa_jwk(n, e);
	struct jose_key *k = jose_key_from_jwk(jwk, NULL);
	int ok = k != NULL;

	jose_key_free(k);
	json_decref(jwk);
	return ok;
}

/* RSA public keys are checked deterministically: the same JWK must import the
 * same way every time (a fuzzer found a modulus OpenSSL's randomized check
 * accepted nine times in ten). */
static void
test_rsa_public_checks(void **state)
{
	json_t *good = jose_key_to_jwk(key_rs);
	BIGNUM *n = jwk_bn(good, "n"), *e = jwk_bn(good, "e");
	BIGNUM *x = BN_new(), *small_e = BN_new(), *p = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_true(rsa_imports(n, e));
	/* e = 3 and an even e are refused. */
	assert_int_equal(BN_set_word(small_e, 3), 1);
	assert_false(rsa_imports(n, small_e));
	assert_int_equal(BN_set_word(small_e, 65538), 1);
	assert_false(rsa_imports(n, small_e));
	/* An even modulus. */
	assert_int_equal(BN_add_word(BN_copy(x, n), 1), 1);
	assert_false(rsa_imports(x, e));
	/* A modulus with a small factor (953, as the fuzzer's), every time. */
	assert_int_equal(BN_mul_word(BN_copy(x, n), 953), 1);
	for (i = 0; i < 10; i++)
		assert_false(rsa_imports(x, e));
	/* A prime modulus: anyone could compute d. */
	assert_int_equal(BN_generate_prime_ex2(p, 2048, 0, NULL, NULL, NULL, ctx), 1);
	assert_false(rsa_imports(p, e));
	BN_free(n);
	BN_free(e);
	BN_free(x);
	BN_free(small_e);
	BN_free(p);
	BN_CTX_free(ctx);
	json_decref(good);
}

static void
test_jwks(void **state)
{
	json_t *jwks = json_pack("{s:[o, o, o, {s:s, s:s}, s]}", "keys",
	    jose_key_to_jwk(key_es), jose_key_to_jwk(key_rs), jose_key_to_jwk(key_ed),
	    "kty", "oct", "k", "c2VjcmV0", "junk");
	struct jose_keyset *ks = jose_keyset_from_jwks(jwks);
	json_t *pl = claims(), *got = NULL;
	char *tok = jose_sign(key_rs, NULL, pl);

	(void)state;
	assert_non_null(ks);
	/* The oct key and the string are skipped. */
	assert_int_equal(jose_keyset_count(ks), 3);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &got), JOSE_OK);
	json_decref(got);
	free(tok);
	json_decref(pl);
	jose_keyset_free(ks);
	json_decref(jwks);
	assert_null(jose_keyset_from_jwks(NULL));
	jwks = json_pack("{s:s}", "keys", "x");
	assert_null(jose_keyset_from_jwks(jwks));
	json_decref(jwks);
}

static void
test_key_refcount(void **state)
{
	struct jose_keyset *ks = jose_keyset_new();
	struct jose_key *k = jose_key_generate(JOSE_ALG_EDDSA, "shared");
	json_t *pl = claims(), *got = NULL;
	char *tok;

	(void)state;
	assert_int_equal(jose_keyset_add(ks, jose_key_ref(k)), 0);
	jose_key_free(k); /* the set still holds it */
	tok = jose_sign(jose_keyset_find(ks, "shared"), NULL, pl);
	assert_non_null(tok);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &got), JOSE_OK);
	json_decref(got);
	free(tok);
	json_decref(pl);
	jose_keyset_free(ks);
}

/* One loaded key signs from many threads at once (each call has its own
 * EVP_MD_CTX); every token must verify. */
static void *
sign_many(void *arg)
{
	struct jose_keyset *ks = arg;
	json_t *pl = claims(), *got;
	int i, bad = 0;

	for (i = 0; i < 200; i++) {
		char *tok = jose_sign(key_es, "JWT", pl);

		got = NULL;
		if (tok == NULL || jose_verify(tok, ks, "JWT", NULL, &got) != JOSE_OK)
			bad++;
		json_decref(got);
		free(tok);
	}
	json_decref(pl);
	return bad ? (void *)1 : NULL;
}

static void
test_sign_threads(void **state)
{
	struct jose_keyset *ks = public_set(key_es);
	pthread_t th[4];
	void *ret;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sign_many, ks), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	jose_keyset_free(ks);
}

static void
test_sign_refusals(void **state)
{
	json_t *arr = json_pack("[i]", 1), *pl = claims();
	char longkid[300];

	(void)state;
	assert_null(jose_sign(key_es, NULL, arr));
	assert_null(jose_sign(NULL, NULL, pl));
	assert_null(jose_key_generate(JOSE_ALG_UNKNOWN, "x"));
	assert_null(jose_alg_name(JOSE_ALG_UNKNOWN));
	assert_string_equal(jose_alg_name(JOSE_ALG_EDDSA), "EdDSA");
	assert_string_equal(jose_strerror(JOSE_ERR_ALG), "algorithm not allowed for this key");
	/* kid longer than 256 bytes is refused. */
	memset(longkid, 'k', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	assert_null(jose_key_generate(JOSE_ALG_EDDSA, longkid));
	json_decref(arr);
	json_decref(pl);
}

/* A kid with characters that need JSON escaping still yields a valid header. */
static void
test_kid_escaped(void **state)
{
	struct jose_key *k = jose_key_generate(JOSE_ALG_EDDSA, "a\"b\\c\t\xe5\x8f\xb0");
	struct jose_keyset *ks = jose_keyset_new();
	json_t *pl = claims(), *hdr = NULL, *got = NULL;
	char *tok;

	(void)state;
	assert_non_null(k);
	tok = jose_sign(k, NULL, pl);
	assert_int_equal(jose_keyset_add(ks, jose_key_ref(k)), 0);
	assert_int_equal(jose_verify(tok, ks, NULL, &hdr, &got), JOSE_OK);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "a\"b\\c\t\xe5\x8f\xb0");
	json_decref(hdr);
	json_decref(got);
	json_decref(pl);
	free(tok);
	jose_key_free(k);
	jose_keyset_free(ks);
}

/* ---- claims ---- */

static enum jose_err
check(const char *json, const struct jose_claims_want *w)
{
	json_t *j = json_loads(json, 0, NULL);
	enum jose_err e;

	assert_non_null(j);
	e = jose_check_claims(j, w);
	json_decref(j);
	return e;
}

static void
test_claims(void **state)
{
	struct jose_claims_want w = { .now = NOW, .leeway = 60 };
	struct jose_claims_want full = { .iss = "https://sso", .aud = "app-1", .nonce = "abc",
	    .now = NOW, .leeway = 60 };
	static const struct {
		const char *claims;
		enum jose_err want;
	} who[] = {
		{ "\"iss\":\"https://sso\",\"aud\":\"app-1\",\"nonce\":\"abc\"", JOSE_OK },
		{ "\"iss\":\"https://sso/\",\"aud\":\"app-1\",\"nonce\":\"abc\"", JOSE_ERR_ISS },
		{ "\"aud\":\"app-1\",\"nonce\":\"abc\"", JOSE_ERR_ISS },
		{ "\"iss\":\"https://sso\",\"aud\":\"app-2\",\"nonce\":\"abc\"", JOSE_ERR_AUD },
		{ "\"iss\":\"https://sso\",\"aud\":[\"app-0\",\"app-1\"],\"nonce\":\"abc\"", JOSE_OK },
		{ "\"iss\":\"https://sso\",\"aud\":[\"app-0\",\"app-11\"],\"nonce\":\"abc\"", JOSE_ERR_AUD },
		{ "\"iss\":\"https://sso\",\"nonce\":\"abc\"", JOSE_ERR_AUD },
		{ "\"iss\":\"https://sso\",\"aud\":\"app-1\",\"nonce\":\"abd\"", JOSE_ERR_NONCE },
		{ "\"iss\":\"https://sso\",\"aud\":\"app-1\",\"nonce\":\"ab\"", JOSE_ERR_NONCE },
		{ "\"iss\":\"https://sso\",\"aud\":\"app-1\"", JOSE_ERR_NONCE },
	};
	char json[256];
	size_t i;

	(void)state;
	assert_int_equal(check("{\"exp\":1700000100,\"iat\":1700000000}", &w), JOSE_OK);
	/* Expired, beyond and within leeway. */
	assert_int_equal(check("{\"exp\":1699999900,\"iat\":1699999000}", &w), JOSE_ERR_EXPIRED);
	assert_int_equal(check("{\"exp\":1699999940,\"iat\":1699999000}", &w), JOSE_ERR_EXPIRED);
	assert_int_equal(check("{\"exp\":1699999941,\"iat\":1699999000}", &w), JOSE_OK);
	/* Missing exp, exp of the wrong type. */
	assert_int_equal(check("{\"iat\":1700000000}", &w), JOSE_ERR_EXPIRED);
	assert_int_equal(check("{\"exp\":\"1800000000\",\"iat\":1700000000}", &w), JOSE_ERR_EXPIRED);
	/* nbf in the future. */
	assert_int_equal(check("{\"exp\":1700000900,\"iat\":1700000000,\"nbf\":1700000100}", &w),
	    JOSE_ERR_NBF);
	assert_int_equal(check("{\"exp\":1700000900,\"iat\":1700000000,\"nbf\":1700000060}", &w),
	    JOSE_OK);
	assert_int_equal(check("{\"exp\":1700000900,\"iat\":1700000000,\"nbf\":null}", &w),
	    JOSE_ERR_NBF);
	/* iat in the future, iat missing. */
	assert_int_equal(check("{\"exp\":1700000900,\"iat\":1700000100}", &w), JOSE_ERR_IAT);
	assert_int_equal(check("{\"exp\":1700000900}", &w), JOSE_ERR_IAT);
	/* Real NumericDates are allowed. */
	assert_int_equal(check("{\"exp\":1700000100.5,\"iat\":1700000000.25}", &w), JOSE_OK);

	/* iss, aud and nonce against full, with good times around each. */
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		snprintf(json, sizeof(json), "{\"exp\":1700000100,\"iat\":1700000000,%s}", who[i].claims);
		if (check(json, &full) != who[i].want)
			fail_msg("%s: got %d, want %d", json, check(json, &full), who[i].want);
	}
	assert_int_equal(jose_check_claims(NULL, &w), JOSE_ERR_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_es256),
		cmocka_unit_test(test_roundtrip_rs256),
		cmocka_unit_test(test_roundtrip_eddsa),
		cmocka_unit_test(test_payload_order_kept),
		cmocka_unit_test(test_pem_round_trip),
		cmocka_unit_test(test_kid_defaults_to_thumbprint),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_rfc7515_a3),
		cmocka_unit_test(test_refuse_alg_none),
		cmocka_unit_test(test_refuse_hs256_key_confusion),
		cmocka_unit_test(test_refuse_rs256_header_on_es256_key),
		cmocka_unit_test(test_kid_selection),
		cmocka_unit_test(test_refuse_tampering),
		cmocka_unit_test(test_refuse_es256_sig_length),
		cmocka_unit_test(test_refuse_crit),
		cmocka_unit_test(test_refuse_typ),
		cmocka_unit_test(test_refuse_oversized_and_garbage),
		cmocka_unit_test(test_jwk_import_refusals),
		cmocka_unit_test(test_rsa_small_refused),
		cmocka_unit_test(test_rsa_public_checks),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_key_refcount),
		cmocka_unit_test(test_sign_threads),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_kid_escaped),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_sign_cache_per_key),
		cmocka_unit_test(test_sign_cache_across_fork),
	};

	return cmocka_run_group_tests_name("jose", tests, setup, teardown);
}

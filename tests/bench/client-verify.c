/* tests/bench/client-verify.c — how close libauthd-client's access-token
 * verification comes to the bare signature check: ES256 tokens verified through
 * authd_client_verify_access_token (JWKS cached, claims checked) against raw
 * OpenSSL EVP_DigestVerify of the same signature with the key already loaded.
 * The JWKS comes from a small plain-HTTP loopback server in this process (a
 * loopback http issuer is allowed for tests). Prints rates and their ratio
 * (target >= 0.9); exit status 0 when the run worked, whatever the ratio. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "authd/client.h"
#include "../../lib/b64.h"
#include "../../lib/jose.h"
#include "../../lib/util.h"

static char issuer[64], *jwks_doc;
static struct event_base *base;

static void
serve(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	if (strcmp(path, "/.well-known/openid-configuration") == 0)
		evbuffer_add_printf(out, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}", issuer, issuer);
	else
		evbuffer_add(out, jwks_doc, strlen(jwks_doc));
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void *
loop(void *arg)
{
	(void)arg;
	event_base_dispatch(base);
	return NULL;
}

/* Raw r||s (64 bytes) to the DER ECDSA-Sig-Value OpenSSL verifies. */
static int
sig_to_der(const uint8_t *raw, unsigned char **der, int *derlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *ss = BN_bin2bn(raw + 32, 32, NULL);

	*der = NULL;
	if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1)
		return -1;
	*derlen = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return *derlen > 0 ? 0 : -1;
}

static double
seconds(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e9;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	struct jose_key *k;
	json_t *keys, *doc, *claims;
	char *tok, *pem, *dot;
	uint8_t rawsig[80];
	size_t rawlen;
	unsigned char *der;
	int derlen, rc = 1;
	EVP_PKEY *pk;
	BIO *bio;
	authd_client_t *c;
	struct evhttp *http;
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t th;
	double best_lib = 0, best_raw = 0;

	if (n < 100 || n > 10000000)
		n = 20000;
	evthread_use_pthreads();
	k = jose_key_generate(JOSE_ALG_ES256, "bench-1");
	keys = json_array();
	json_array_append_new(keys, jose_key_to_jwk(k));
	doc = json_pack("{s:o}", "keys", keys);
	jwks_doc = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);

	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, serve, NULL);
	if ((bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) == NULL)
		return 1;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
	snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	pthread_create(&th, NULL, loop, NULL);

	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[s]}", "iss", issuer, "sub", "u-42",
	    "aud", "api", "exp", (json_int_t)time(NULL) + 3600, "iat", (json_int_t)time(NULL),
	    "client_id", "app", "groups", "staff");
	tok = jose_sign(k, "at+jwt", claims);
	json_decref(claims);

	/* The raw side: same key as EVP_PKEY, same signing input, DER signature. */
	pem = jose_key_to_pem(k, 0);
	bio = BIO_new_mem_buf(pem, -1);
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	dot = strrchr(tok, '.');
	if (pk == NULL || b64url_decode(rawsig, &rawlen, dot + 1, strlen(dot + 1)) != 0 ||
	    rawlen != 64 || sig_to_der(rawsig, &der, &derlen) != 0) {
		fprintf(stderr, "client-verify: setup failed\n");
		return 1;
	}

	c = authd_client_new();
	if (authd_client_set_issuer(c, issuer) != AUTHD_OK) {
		fprintf(stderr, "client-verify: issuer refused\n");
		return 1;
	}
	/* Warm up: the first call fetches discovery and the JWKS. */
	{
		authd_claims_t *cl = NULL;
		int r = authd_client_verify_access_token(c, tok, "api", &cl);

		if (r != AUTHD_OK) {
			fprintf(stderr, "client-verify: %s\n", authd_strerror(r));
			return 1;
		}
		authd_claims_free(&cl);
	}

	/* Alternate three rounds each and keep the best, so a noisy neighbour
	 * hurts both sides alike. */
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = mono_ns();

		for (long i = 0; i < n; i++) {
			authd_claims_t *cl = NULL;

			if (authd_client_verify_access_token(c, tok, "api", &cl) != AUTHD_OK)
				goto out;
			authd_claims_free(&cl);
		}
		if (n / seconds(t0, mono_ns()) > best_lib)
			best_lib = n / seconds(t0, mono_ns());
		t0 = mono_ns();
		for (long i = 0; i < n; i++) {
			EVP_MD_CTX *md = EVP_MD_CTX_new();

			if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
			    EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)tok,
			                     (size_t)(dot - tok)) != 1) {
				EVP_MD_CTX_free(md);
				goto out;
			}
			EVP_MD_CTX_free(md);
		}
		if (n / seconds(t0, mono_ns()) > best_raw)
			best_raw = n / seconds(t0, mono_ns());
	}
	printf("client-verify: ES256 access tokens, %ld per round, best of 3, 1 thread\n", n);
	printf("client-verify: library  %10.0f /s\n", best_lib);
	printf("client-verify: raw EVP  %10.0f /s\n", best_raw);
	printf("client-verify: ratio    %10.3f (target >= 0.90) %s\n", best_lib / best_raw,
	       best_lib / best_raw >= 0.9 ? "met" : "MISSED");
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "client-verify: a verification failed\n");
	authd_client_free(&c);
	event_base_loopbreak(base);
	pthread_join(th, NULL);
	evhttp_free(http);
	event_base_free(base);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	free(pem);
	free(tok);
	free(jwks_doc);
	jose_key_free(k);
	return rc;
}

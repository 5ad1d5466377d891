/* tests/fuzz/fuzz_jose.c — libFuzzer target for jose_verify and
 * jose_check_claims. The key set holds the RFC 7515 A.3 public key so the seed
 * token (that RFC's JWS) verifies and mutations explore the paths after it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jose_keyset *ks;

static void
init(void)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
	    "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
	    "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");

	ks = jose_keyset_new();
	if (jwk == NULL || ks == NULL || jose_keyset_add(ks, jose_key_from_jwk(jwk, NULL)) != 0)
		abort();
	json_decref(jwk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok;
	json_t *hdr = NULL, *pl = NULL;
	struct jose_claims_want want = { .iss = "joe", .aud = "app", .nonce = "n",
	    .now = 1300819000, .leeway = 60 };
	enum jose_err e;

	if (ks == NULL)
		init();
	if (size > JOSE_MAX_TOKEN + 16)
		return 0;
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	e = jose_verify(tok, ks, (size & 1) ? "JWT" : NULL, &hdr, &pl);
	if (e == JOSE_OK) {
		if (!json_is_object(pl) || !json_is_object(hdr))
			abort();
		(void)jose_check_claims(pl, &want);
	} else if (pl != NULL || hdr != NULL) {
		abort();
	}
	json_decref(hdr);
	json_decref(pl);
	free(tok);
	return 0;
}

/* tests/fuzz/fuzz_jwk.c — libFuzzer target for JWK/JWKS import and claim
 * checks on arbitrary JSON. An imported key must export, thumbprint, and
 * re-import to the same thumbprint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_key(const struct jose_key *k)
{
	char a[44], b[44];
	json_t *jwk;
	struct jose_key *again;

	if (jose_key_has_private(k) || jose_key_thumbprint(k, a) != 0)
		abort();
	if ((jwk = jose_key_to_jwk(k)) == NULL)
		abort();
	if ((again = jose_key_from_jwk(jwk, NULL)) == NULL || jose_key_thumbprint(again, b) != 0 ||
	    strcmp(a, b) != 0 || jose_key_alg(again) != jose_key_alg(k))
		abort();
	jose_key_free(again);
	json_decref(jwk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;
	struct jose_key *k;
	struct jose_keyset *ks;
	struct jose_claims_want want = { .iss = "i", .aud = "a", .nonce = "n", .now = 1000,
	    .leeway = 5 };
	size_t i;

	if (size > 1 << 16)
		return 0;
	if ((j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	if ((k = jose_key_from_jwk(j, NULL)) != NULL) {
		check_key(k);
		jose_key_free(k);
	}
	if ((ks = jose_keyset_from_jwks(j)) != NULL) {
		const json_t *keys = json_object_get(j, "keys");

		/* Every usable key is findable by its kid. */
		for (i = 0; i < json_array_size(keys); i++) {
			const json_t *kid = json_object_get(json_array_get(keys, i), "kid");

			/* An empty kid is replaced by the thumbprint, so skip it. */
			if (!json_is_string(kid) || json_string_length(kid) == 0 ||
			    jose_keyset_find(ks, json_string_value(kid)) != NULL)
				continue;
			/* Usable but absent is only legitimate when the set is full. */
			if ((k = jose_key_from_jwk(json_array_get(keys, i), NULL)) != NULL) {
				if (jose_keyset_count(ks) < 64)
					abort();
				jose_key_free(k);
			}
		}
		jose_keyset_free(ks);
	}
	(void)jose_check_claims(j, &want);
	json_decref(j);
	return 0;
}

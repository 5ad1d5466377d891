/* tests/fuzz/fuzz_json.c — libFuzzer target for the JSON that reaches authd
 * from outside the HTTP form path: a client record or import entry
 * (client_validate, as `authctl client import` and `client add --jwks` feed it),
 * the JWKS of a private_key_jwt client (jose_keyset_from_jwks, the keys its
 * assertions are checked against) and a user's groups (user_groups_ok).
 * jansson parses with the flags authd uses (no duplicate keys) under the depth
 * bound it enforces. Whatever is accepted must hold up: every key found in an
 * accepted JWKS is public and exports again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "jose.h"
#include "users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_jwks(const json_t *j)
{
	struct jose_keyset *ks = jose_keyset_from_jwks(j);
	const json_t *keys = json_object_get(j, "keys");
	size_t i;

	if (ks == NULL)
		return;
	if (jose_keyset_count(ks) > json_array_size(keys))
		abort();
	for (i = 0; i < json_array_size(keys); i++) {
		const char *kid = json_string_value(json_object_get(json_array_get(keys, i), "kid"));
		const struct jose_key *k = kid ? jose_keyset_find(ks, kid) : NULL;
		json_t *out;

		if (k == NULL)
			continue;
		if (jose_key_has_private(k) || (out = jose_key_to_jwk(k)) == NULL)
			abort();
		if (json_object_get(out, "d") != NULL)
			abort();
		json_decref(out);
	}
	jose_keyset_free(ks);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	char err[256];
	json_t *j;

	/* The import file bound in authctl is 4 MiB; inputs here stay small so
	 * the fuzzer explores shapes rather than sizes. */
	if (size > 65536)
		return 0;
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		return 0;
	err[0] = '\0';
	if (client_validate(j, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
	} else {
		/* An accepted record names itself and has somewhere to send codes. */
		if (json_string_value(json_object_get(j, "client_id")) == NULL)
			abort();
	}
	if (json_is_array(j))
		(void)user_groups_ok(j);
	else
		(void)user_groups_ok(json_object_get(j, "groups"));
	check_jwks(j);
	check_jwks(json_object_get(j, "jwks"));
	json_decref(j);
	return 0;
}

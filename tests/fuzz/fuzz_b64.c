/* tests/fuzz/fuzz_b64.c — libFuzzer target for lib/b64 decoders. Beyond "no
 * crash" it checks canonicity: whatever decodes must re-encode to the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	uint8_t *out;
	char *re;
	size_t n;

	if (size > 1 << 16)
		return 0;
	if ((out = malloc(size * 3 / 4 + 3)) == NULL)
		return 0;
	if (b64url_decode(out, &n, in, size) == 0) {
		if ((re = b64url_encode_alloc(out, n)) != NULL) {
			if (strlen(re) != size || memcmp(re, in, size) != 0)
				abort();
			free(re);
		}
	}
	if (b64std_decode(out, &n, in, size) == 0) {
		if ((re = malloc(n / 3 * 4 + 5)) != NULL) {
			if (b64std_encode(re, out, n) != size || memcmp(re, in, size) != 0)
				abort();
			free(re);
		}
	}
	free(out);
	return 0;
}

/* tests/fuzz/fuzz_wallet.c — libFuzzer target for the 數位憑證皮夾 verifier
 * answer parsers (wallet_parse_qrcode, wallet_parse_result) on arbitrary
 * bytes under each HTTP status class. Accepted answers must hold up: a QR is
 * a PNG data URL and a deep link of an allowed scheme; claims are within the
 * documented bounds and findable by their ename. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wallet_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TX "129e6f5d-6e2a-4e9b-99e8-8ded5f2886c6"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 200, 400, 403, 500 };
	struct wallet_qrcode q;
	struct wallet_result r;
	size_t i, k;

	if (size > 65536)
		return 0;
	for (k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
		if (wallet_parse_qrcode(statuses[k], (const char *)data, size, TX, &q) == WALLET_OK) {
			if (statuses[k] != 200 || strncmp(q.qrcode_image, "data:image/png;base64,", 22) != 0 ||
			    q.auth_uri == NULL || strlen(q.auth_uri) > WALLET_URI_MAX)
				abort();
		}
		wallet_qrcode_clear(&q);
		if (wallet_parse_result(statuses[k], (const char *)data, size, TX, &r) == WALLET_OK) {
			if (statuses[k] != 200 || r.nclaims > WALLET_CLAIMS_MAX)
				abort();
			for (i = 0; i < r.nclaims; i++) {
				if (strlen(r.claims[i].value) > WALLET_VALUE_MAX ||
				    wallet_claim(&r, r.claims[i].credential_type, r.claims[i].ename) == NULL)
					abort();
			}
		} else if (r.claims != NULL) {
			abort();
		}
		wallet_result_clear(&r);
	}
	return 0;
}

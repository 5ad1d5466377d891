/* tests/fuzz/fuzz_twfido.c — libFuzzer target for the TW FidO answer
 * parsers (twfido_parse_ticket, twfido_parse_result), the checksum verifier
 * and the code classifier.
 *
 * A checksum under a fixed key is out of a mutator's reach, so the input is
 * used three ways: (1) as a whole answer body (the gate: JSON, codes,
 * checksum); (2) as the payload JSON of an sp_ticket that the harness wraps
 * the way the service does (base64url payload "." base64url SHA-256 of it)
 * and answers with a correct idp_checksum, so the ticket checks behind the
 * gate run on fuzzed payloads; (3) split at the first NUL into hashed_id_num
 * and signed_response of a correctly checksummed result answer. Whatever is
 * accepted must hold up, and nothing is handed out on failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "b64.h"
#include "twfido_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[TWFIDO_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t iv[TWFIDO_IV_LEN];
#define TX "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
#define SID "7b2c7f94-9f7b-481a-89a8-56b883dea695"

/* A correctly checksummed success answer with the given result members. */
static char *
answer(const char *const *fields, size_t n, const char *k1, const char *v1, const char *k2, const char *v2)
{
	char sum[TWFIDO_CHECKSUM_HEX_LEN + 1], *out;
	json_t *res, *j;

	if (twfido_checksum(key, iv, fields, n, sum) != 0)
		return NULL;
	res = json_pack("{s:s, s:s}", k1, v1, "idp_checksum", sum);
	if (res != NULL && k2 != NULL)
		json_object_set_new(res, k2, json_string(v2));
	j = json_pack("{s:s, s:s, s:o}", "error_code", "0", "error_message", "", "result", res);
	out = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return out;
}

static void
whole_body(const uint8_t *data, size_t size)
{
	struct twfido_ticket t;
	struct twfido_result r;
	enum twfido_status st;

	st = twfido_parse_ticket(200, (const char *)data, size, key, TX, SID, &t);
	if (st == TWFIDO_OK) {
		if (t.sp_ticket == NULL || t.sp_ticket_id[0] == '\0' || strchr(t.sp_ticket, '.') == NULL)
			abort();
	} else if (t.sp_ticket != NULL) {
		abort();
	}
	twfido_ticket_clear(&t);
	st = twfido_parse_result(200, (const char *)data, size, key, TX, NULL, &r);
	if (st == TWFIDO_OK && (r.hashed_id_num[0] == '\0' || strcmp(r.error_code, "0") != 0))
		abort();
	if (st != TWFIDO_OK && (r.signed_response != NULL || r.cert != NULL))
		abort();
	twfido_result_clear(&r);
	(void)twfido_parse_result(429, (const char *)data, size, key, TX, "x", &r);
	twfido_result_clear(&r);
}

static void
ticket_payload(const uint8_t *data, size_t size)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct twfido_ticket t;
	char *p, *h, *ticket, *body;
	size_t lp, lh;

	if ((p = b64url_encode_alloc(data, size)) == NULL)
		return;
	lp = strlen(p);
	SHA256((const unsigned char *)p, lp, md);
	h = b64url_encode_alloc(md, sizeof(md));
	lh = h != NULL ? strlen(h) : 0;
	if (h != NULL && (ticket = malloc(lp + 1 + lh + 1)) != NULL) {
		memcpy(ticket, p, lp);
		ticket[lp] = '.';
		memcpy(ticket + lp + 1, h, lh + 1);
		{
			const char *f[3] = { TX, "0", ticket };

			if ((body = answer(f, 3, "sp_ticket", ticket, NULL, NULL)) != NULL) {
				if (twfido_parse_ticket(200, body, strlen(body), key, TX, SID, &t) == TWFIDO_OK) {
					if (strcmp(t.sp_ticket, ticket) != 0 || t.sp_ticket_id[0] == '\0' ||
					    strlen(t.sp_ticket_id) > TWFIDO_TICKET_ID_MAX ||
					    strlen(t.hashed_id_num) > TWFIDO_HASHED_MAX)
						abort();
				} else if (t.sp_ticket != NULL) {
					abort();
				}
				twfido_ticket_clear(&t);
				free(body);
			}
		}
		free(ticket);
	}
	free(h);
	free(p);
}

static void
result_fields(const uint8_t *data, size_t size)
{
	struct twfido_result r;
	const char *nul;
	char *s, *body;

	if ((s = malloc(size + 2)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = s[size + 1] = '\0';
	nul = s + strlen(s) + 1;  /* hashed_id_num, then signed_response */
	{
		const char *f[4] = { TX, "0", s, nul };

		if ((body = answer(f, 4, "hashed_id_num", s, "signed_response", nul)) != NULL) {
			if (twfido_parse_result(200, body, strlen(body), key, TX, NULL, &r) == TWFIDO_OK) {
				if (strcmp(r.hashed_id_num, s) != 0 || r.signed_response == NULL ||
				    strcmp(r.signed_response, nul) != 0)
					abort();
			} else if (r.signed_response != NULL || r.cert != NULL) {
				abort();
			}
			twfido_result_clear(&r);
			if (twfido_parse_result(200, body, strlen(body), key, TX, "someone-else", &r) == TWFIDO_OK &&
			    strcmp(s, "someone-else") != 0)
				abort();
			twfido_result_clear(&r);
			free(body);
		}
	}
	{
		const char *f[2] = { TX, s };

		(void)twfido_checksum_verify(key, f, 2, s);
	}
	if (twfido_classify(s) == TWFIDO_OK && strcmp(s, "0") != 0)
		abort();
	(void)twfido_id_num_valid(s);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	whole_body(data, size);
	ticket_payload(data, size);
	result_fields(data, size);
	return 0;
}

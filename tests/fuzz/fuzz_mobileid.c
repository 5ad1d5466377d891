/* tests/fuzz/fuzz_mobileid.c — libFuzzer target for the Mobile ID (TWCA)
 * code: IdentifyNo over arbitrary bytes (UTF-8 → UTF-16LE), the JSON answer
 * parser and the return-POST parser (through lib/form, as the ReturnURL
 * handler will feed it).
 *
 * An IdentifyNo under the HashKey is out of a mutator's reach, so the input
 * is also used as the OutputParams of an answer and of a return POST that the
 * harness signs correctly (ResultCode S, ReturnCode 0): the OutputParams
 * reader (MemberNo, Token, MIDOutputParams, the carrier's MIDResp) runs on
 * fuzzed text. Accepted input must hold up: an IdentifyNo is 64 lower-case
 * hex digits; an accepted answer or return names a member only in the ID
 * character set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "form.h"
#include "mobileid_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mobileid_config cfg = { "42712608", "1.0", "1", "Zx9#hash-key" };
#define VN "20260501a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define RP "state-1"

static int
member_ok(const struct mobileid_result *r)
{
	const char *p;

	for (p = r->member_no; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
			return 0;
	return 1;
}

static void
whole_input(const char *s, size_t size)
{
	struct mobileid_result r;
	struct form *f = NULL;
	char out[MOBILEID_IDENTIFY_LEN + 1];
	size_t i;
	const char *fields[2] = { s, "x" };

	if (mobileid_identify_no(fields, 2, "key", out) == 0) {
		if (strlen(out) != MOBILEID_IDENTIFY_LEN)
			abort();
		for (i = 0; i < MOBILEID_IDENTIFY_LEN; i++)
			if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f')))
				abort();
		if (!mobileid_identify_ok(fields, 2, "key", out))
			abort();
	}
	if (mobileid_parse_answer(200, s, size, &cfg, VN, NULL, &r) == MOBILEID_OK &&
	    (strcmp(r.return_code, "0") != 0 || !member_ok(&r)))
		abort();
	if (form_parse(s, size, &f) == FORM_OK) {
		if (mobileid_parse_return(f, &cfg, VN, RP, &r) == MOBILEID_OK &&
		    (strcmp(r.result_code, "S") != 0 || strcmp(r.return_code, "0") != 0 || !member_ok(&r)))
			abort();
		form_free(f);
	}
}

/* A correctly signed answer and return with OutputParams = s. */
static void
signed_output(const char *s)
{
	struct mobileid_result r;
	struct form *f = NULL;
	struct buf b;
	char idn[MOBILEID_IDENTIFY_LEN + 1], *body;
	enum mobileid_status st;
	json_t *j;

	{
		const char *fl[7] = { cfg.business_no, cfg.api_version, cfg.hash_key_no, VN, "S", "0", s };

		if (mobileid_identify_no(fl, 7, cfg.hash_key, idn) != 0)
			return;  /* not UTF-8: TWCA never sends it */
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BusinessNo", cfg.business_no, "ApiVersion",
	              cfg.api_version, "HashKeyNo", cfg.hash_key_no, "VerifyNo", VN, "ResultCode", "S",
	              "ReturnCode", "0", "OutputParams", s, "IdentifyNo", idn);
	if (j != NULL && (body = json_dumps(j, JSON_COMPACT)) != NULL) {
		st = mobileid_parse_answer(200, body, strlen(body), &cfg, VN, NULL, &r);
		if (st == MOBILEID_OK && !member_ok(&r))
			abort();
		if (st == MOBILEID_BAD_IDENTIFY || st == MOBILEID_MISMATCH)
			abort();  /* it was signed correctly and is ours */
		free(body);
	}
	json_decref(j);

	{
		const char *fl[8] = { cfg.business_no, cfg.api_version, cfg.hash_key_no, VN, "S", "0", RP, s };

		if (mobileid_identify_no(fl, 8, cfg.hash_key, idn) != 0)
			return;
	}
	buf_init(&b);
	buf_printf(&b, "BusinessNo=%s&ApiVersion=%s&HashKeyNo=%s&VerifyNo=%s&ResultCode=S&ReturnCode=0"
	           "&ReturnParams=%s&IdentifyNo=%s&OutputParams=", cfg.business_no, cfg.api_version,
	           cfg.hash_key_no, VN, RP, idn);
	buf_add_urlenc(&b, s);
	if (buf_str(&b) != NULL && form_parse(buf_str(&b), strlen(buf_str(&b)), &f) == FORM_OK) {
		st = mobileid_parse_return(f, &cfg, VN, RP, &r);
		if (st == MOBILEID_OK && !member_ok(&r))
			abort();
		if (st == MOBILEID_MISMATCH)
			abort();
		form_free(f);
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 65536)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	whole_input(s, size);
	signed_output(s);
	free(s);
	return 0;
}

/* tests/sim/proto_driver.c — a command-line front to the C protocol code
 * (modules/twfido_proto, mobileid_proto, wallet_proto) for
 * tests/sim/interop.test.py, which has it talk to the simulators: what the
 * C code builds must be accepted by the simulator, and what the simulator
 * answers must be judged by the C code as the simulator meant it. Built by
 * that test against build/libauthd-core.a (not by the Makefile).
 *
 * Builders print the request; parsers read an answer body on stdin and print
 * "STATUS field...". Keys are hex on the command line (test keys only).
 *
 *   twfido-build KEYHEX SID TXID IDNUM ATH|SIGN PUSH|ISCAN SIGNDATA  -> method \n json
 *   twfido-poll KEYHEX SID TXID TICKETID                              -> json
 *   twfido-ticket KEYHEX SID TXID HTTPSTATUS                          -> status ticket_id hashed
 *   twfido-result KEYHEX TXID EXPECTED_HASHED HTTPSTATUS              -> status hashed signed_response
 *   mid-login BIZ HASHKEY VERIFYNO RETURNURL RETURNPARAMS MEMBER      -> form
 *   mid-do BIZ HASHKEY VERIFYNO TOKEN                                 -> form
 *   mid-confirm BIZ HASHKEY VERIFYNO MEMBER TOKEN                     -> form
 *   mid-answer BIZ HASHKEY VERIFYNO MEMBER|"" HTTPSTATUS              -> status result return member token
 *   mid-return BIZ HASHKEY VERIFYNO RETURNPARAMS                      -> status result return member token
 *   wallet-path REF TXID                                              -> path
 *   wallet-body TXID                                                  -> json
 *   wallet-qrcode TXID HTTPSTATUS                                     -> status auth_uri
 *   wallet-result TXID HTTPSTATUS                                     -> status code ename=value...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/form.h"
#include "../../modules/mobileid_proto.h"
#include "../../modules/twfido_proto.h"
#include "../../modules/wallet_proto.h"

#define BODY_MAX (1024 * 1024)

static char *
read_stdin(size_t *n)
{
	char *b = malloc(BODY_MAX + 1);

	if (b == NULL)
		exit(2);
	*n = fread(b, 1, BODY_MAX, stdin);
	b[*n] = '\0';
	return b;
}

static void
key_from_hex(const char *h, uint8_t key[TWFIDO_KEY_LEN])
{
	size_t i;
	unsigned v;

	if (strlen(h) != 2 * TWFIDO_KEY_LEN)
		exit(2);
	for (i = 0; i < TWFIDO_KEY_LEN; i++) {
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			exit(2);
		key[i] = (uint8_t)v;
	}
}

static int
print_json(json_t *j)
{
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

static int
print_form(int rc, struct mobileid_form *f)
{
	char *s;

	if (rc != 0 || (s = mobileid_form_encode(f)) == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	mobileid_form_clear(f);
	return 0;
}

static const char *
dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static int
twfido(int argc, char **argv)
{
	static const uint8_t iv[TWFIDO_IV_LEN];  /* zero IV: the spec's sample; the service reads it */
	uint8_t key[TWFIDO_KEY_LEN];
	char err[200];
	size_t n;

	if (!strcmp(argv[1], "twfido-build") && argc == 9) {
		struct twfido_request r;
		const char *method;
		json_t *j;

		key_from_hex(argv[2], key);
		memset(&r, 0, sizeof(r));
		r.sp_service_id = argv[3];
		r.transaction_id = argv[4];
		r.id_num = argv[5];
		r.op = !strcmp(argv[6], "SIGN") ? TWFIDO_OP_SIGN : TWFIDO_OP_ATH;
		r.mode = !strcmp(argv[7], "PUSH") ? TWFIDO_MODE_PUSH : TWFIDO_MODE_ISCAN;
		r.hint = "臺北市政府登入";
		r.time_limit = 60;
		if (r.op == TWFIDO_OP_SIGN) {
			r.sign_data = argv[8];
			r.sign_type = "PKCS#7";
			r.hash_alg = "SHA256";
			r.tbs_base64 = 1;
		}
		if ((j = twfido_build_auth(&r, key, iv, &method, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s\n", method);
		return print_json(j);
	}
	if (!strcmp(argv[1], "twfido-poll") && argc == 6) {
		key_from_hex(argv[2], key);
		return print_json(twfido_build_result(argv[4], argv[3], argv[5], key, iv));
	}
	if (!strcmp(argv[1], "twfido-ticket") && argc == 6) {
		struct twfido_ticket t;
		enum twfido_status st;
		char *b;

		key_from_hex(argv[2], key);
		b = read_stdin(&n);
		st = twfido_parse_ticket(atoi(argv[5]), b, n, key, argv[4], argv[3], &t);
		printf("%s %s %s\n", twfido_status_name(st), dash(t.sp_ticket_id), dash(t.hashed_id_num));
		twfido_ticket_clear(&t);
		free(b);
		return 0;
	}
	if (!strcmp(argv[1], "twfido-result") && argc == 6) {
		struct twfido_result r;
		enum twfido_status st;
		char *b;

		key_from_hex(argv[2], key);
		b = read_stdin(&n);
		st = twfido_parse_result(atoi(argv[5]), b, n, key, argv[3], argv[4], &r);
		printf("%s %s %s\n", twfido_status_name(st), dash(r.hashed_id_num), dash(r.signed_response));
		twfido_result_clear(&r);
		free(b);
		return 0;
	}
	return 2;
}

static int
mobileid(int argc, char **argv)
{
	struct mobileid_config c = { argv[2], "1.0", "1", argv[3] };
	struct mobileid_form f;
	struct mobileid_result r;
	enum mobileid_status st;
	char err[200], *b;
	size_t n;

	if (!strcmp(argv[1], "mid-login") && argc == 8) {
		if (mobileid_build_login(&c, argv[4], argv[5], argv[6], argv[7], &f, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		return print_form(0, &f);
	}
	if (!strcmp(argv[1], "mid-do") && argc == 6)
		return print_form(mobileid_build_do(&c, argv[4], argv[5], &f), &f);
	if (!strcmp(argv[1], "mid-confirm") && argc == 7)
		return print_form(mobileid_build_confirm(&c, argv[4], argv[5], argv[6], &f), &f);
	if (!strcmp(argv[1], "mid-answer") && argc == 7) {
		b = read_stdin(&n);
		st = mobileid_parse_answer(atoi(argv[6]), b, n, &c, argv[4], *argv[5] ? argv[5] : NULL, &r);
	} else if (!strcmp(argv[1], "mid-return") && argc == 6) {
		struct form *fo = NULL;

		b = read_stdin(&n);
		if (form_parse(b, n, &fo) != FORM_OK) {
			printf("form-error\n");
			free(b);
			return 0;
		}
		st = mobileid_parse_return(fo, &c, argv[4], argv[5], &r);
		form_free(fo);
	} else {
		return 2;
	}
	printf("%s %s %s %s %s\n", mobileid_status_name(st), dash(r.result_code), dash(r.return_code),
	       dash(r.member_no), dash(r.token));
	free(b);
	return 0;
}

static int
wallet(int argc, char **argv)
{
	char *s, *b;
	size_t n, i;

	if (!strcmp(argv[1], "wallet-path") && argc == 4) {
		s = wallet_qrcode_path(argv[2], argv[3]);
	} else if (!strcmp(argv[1], "wallet-body") && argc == 3) {
		s = wallet_result_body(argv[2]);
	} else if (!strcmp(argv[1], "wallet-qrcode") && argc == 4) {
		struct wallet_qrcode q;
		enum wallet_status st;

		b = read_stdin(&n);
		st = wallet_parse_qrcode(atoi(argv[3]), b, n, argv[2], &q);
		printf("%s %s\n", wallet_status_name(st), dash(q.auth_uri));
		wallet_qrcode_clear(&q);
		free(b);
		return 0;
	} else if (!strcmp(argv[1], "wallet-result") && argc == 4) {
		struct wallet_result r;
		enum wallet_status st;

		b = read_stdin(&n);
		st = wallet_parse_result(atoi(argv[3]), b, n, argv[2], &r);
		printf("%s %s", wallet_status_name(st), dash(r.code));
		for (i = 0; i < r.nclaims; i++)
			printf(" %s=%s", r.claims[i].ename, r.claims[i].value);
		printf("\n");
		wallet_result_clear(&r);
		free(b);
		return 0;
	} else {
		return 2;
	}
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strncmp(argv[1], "twfido-", 7))
		return twfido(argc, argv);
	if (!strncmp(argv[1], "mid-", 4) && argc >= 4)
		return mobileid(argc, argv);
	if (!strncmp(argv[1], "wallet-", 7))
		return wallet(argc, argv);
	return 2;
}

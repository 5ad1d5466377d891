/* modules/twfido_proto.c — TW FidO relying-party API: checksums, request
 * bodies, answer checks, result codes. See twfido_proto.h for the contract and
 * docs/taiwan-methods.md for the sources. */
#include "twfido_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../lib/b64.h"
#include "../lib/buf.h"
#include "../lib/util.h"
#include "proto_util.h"

#define SHA_HEX_LEN 64
#define TICKET_MAX 8192
#define SIGNED_MAX (96 * 1024)
#define CERT_MAX (32 * 1024)
#define JSON_DEPTH 8

/* The lowercase hex SHA-256 of the fields concatenated (UTF-8 bytes as given). */
static int
payload_hex(const char *const *fields, size_t n, char hex[SHA_HEX_LEN + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[SHA256_LEN];
	unsigned int mdlen = 0;
	size_t i;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, util_sha256_md(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		if (fields[i] != NULL)
			ok = EVP_DigestUpdate(ctx, fields[i], strlen(fields[i])) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	hex_encode(hex, md, SHA256_LEN);
	return 0;
}

/* AES-256-GCM over len bytes; enc 1 encrypts (tag out), 0 decrypts (tag in,
 * checked). 0, or -1 (including a tag mismatch). */
static int
gcm(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out,
    uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0, ok;

	if (ctx == NULL || len > 1024)
		goto fail;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TWFIDO_IV_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) == 1 &&
	     EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1 && (size_t)outl == len;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TWFIDO_TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + outl, &fin) == 1 && fin == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TWFIDO_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return -1;
}

int
twfido_checksum(const uint8_t key[TWFIDO_KEY_LEN], const uint8_t iv[TWFIDO_IV_LEN],
                const char *const *fields, size_t n, char *out)
{
	char hex[SHA_HEX_LEN + 1];
	uint8_t raw[TWFIDO_IV_LEN + SHA_HEX_LEN + TWFIDO_TAG_LEN];

	if (key == NULL || iv == NULL || out == NULL || payload_hex(fields, n, hex) != 0)
		return -1;
	memcpy(raw, iv, TWFIDO_IV_LEN);
	if (gcm(1, key, iv, (const uint8_t *)hex, SHA_HEX_LEN, raw + TWFIDO_IV_LEN,
	        raw + TWFIDO_IV_LEN + SHA_HEX_LEN) != 0)
		return -1;
	hex_encode(out, raw, sizeof(raw));
	return 0;
}

int
twfido_checksum_verify(const uint8_t key[TWFIDO_KEY_LEN], const char *const *fields, size_t n,
                       const char *hex)
{
	uint8_t raw[TWFIDO_IV_LEN + SHA_HEX_LEN + TWFIDO_TAG_LEN];
	uint8_t plain[SHA_HEX_LEN];
	char want[SHA_HEX_LEN + 1];
	int ok;

	if (key == NULL || hex == NULL || strlen(hex) != TWFIDO_CHECKSUM_HEX_LEN ||
	    hex_decode(raw, sizeof(raw), hex) != 0 || payload_hex(fields, n, want) != 0)
		return 0;
	if (gcm(0, key, raw, raw + TWFIDO_IV_LEN, SHA_HEX_LEN, plain, raw + TWFIDO_IV_LEN + SHA_HEX_LEN) != 0)
		return 0;
	ok = ct_equal(plain, want, SHA_HEX_LEN);
	wipe(plain, sizeof(plain));
	return ok;
}

int
twfido_id_num_valid(const char *s)
{
	static const char letters[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
	const char *p;
	int v, sum, i;

	if (s == NULL || strlen(s) != 10 || (p = strchr(letters, s[0])) == NULL || s[0] == '\0')
		return 0;
	if (s[1] != '1' && s[1] != '2' && s[1] != '8' && s[1] != '9')
		return 0;
	for (i = 1; i < 10; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	v = (int)(p - letters) + 10;
	sum = v / 10 + (v % 10) * 9;
	for (i = 1; i <= 8; i++)
		sum += (s[i] - '0') * (9 - i);
	sum += s[9] - '0';
	return sum % 10 == 0;
}

static const char *
mode_name(enum twfido_mode m)
{
	switch (m) {
	case TWFIDO_MODE_ISCAN: return "I-SCAN";
	case TWFIDO_MODE_APP2APP: return "APP2APP";
	case TWFIDO_MODE_MWEB2APP: return "MWEB2APP";
	case TWFIDO_MODE_PUSH: break;
	}
	return "PUSH";
}

static int
text_ok(const char *s, size_t max)
{
	return s == NULL || (strlen(s) <= max && utf8_valid(s, strlen(s)));
}

static int
base64_ok(const char *s)
{
	size_t n = strlen(s), outlen;
	uint8_t *tmp;
	int ok;

	if (n == 0 || n > TWFIDO_SIGN_DATA_MAX)
		return 0;
	if ((tmp = malloc(n)) == NULL)
		return 0;
	ok = b64std_decode(tmp, &outlen, s, n) == 0;
	free(tmp);
	return ok;
}

static int
set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v != NULL ? v : "")) == 0;
}

json_t *
twfido_build_auth(const struct twfido_request *r, const uint8_t key[TWFIDO_KEY_LEN],
                  const uint8_t iv[TWFIDO_IV_LEN], const char **method, char *err, size_t errsz)
{
	char sum[TWFIDO_CHECKSUM_HEX_LEN + 1];
	const char *f[7], *id, *op, *sign = "";
	int push;
	json_t *o, *si;

	if (r == NULL || key == NULL || iv == NULL || method == NULL) {
		errf(err, errsz, "missing argument");
		return NULL;
	}
	push = r->mode == TWFIDO_MODE_PUSH;
	id = r->id_num != NULL ? r->id_num : "";
	op = r->op == TWFIDO_OP_SIGN ? "SIGN" : "ATH";
	if (r->transaction_id == NULL || strlen(r->transaction_id) > TWFIDO_TXID_MAX ||
	    !proto_charset(r->transaction_id, "-_")) {
		errf(err, errsz, "transaction_id must be 1-100 letters, digits, '-' or '_'");
		return NULL;
	}
	if (r->sp_service_id == NULL || strlen(r->sp_service_id) > 100 ||
	    !proto_charset(r->sp_service_id, "-_.")) {
		errf(err, errsz, "bad sp_service_id");
		return NULL;
	}
	if ((push || *id != '\0') && !twfido_id_num_valid(id)) {
		errf(err, errsz, "id_num is not a valid national ID");
		return NULL;
	}
	if ((r->device != NULL && !push) || !text_ok(r->device, 100) || !text_ok(r->hint, 256)) {
		errf(err, errsz, "bad device or hint");
		return NULL;
	}
	if (r->time_limit < TWFIDO_TIME_LIMIT_MIN || r->time_limit > TWFIDO_TIME_LIMIT_MAX) {
		errf(err, errsz, "time_limit must be %d-%d seconds", TWFIDO_TIME_LIMIT_MIN,
		     TWFIDO_TIME_LIMIT_MAX);
		return NULL;
	}
	if (r->op == TWFIDO_OP_SIGN) {
		int raw = r->sign_type != NULL && strcmp(r->sign_type, "RAW") == 0;

		if (r->sign_data == NULL || *r->sign_data == '\0' ||
		    strlen(r->sign_data) > TWFIDO_SIGN_DATA_MAX || !utf8_valid(r->sign_data, strlen(r->sign_data)) ||
		    (r->tbs_base64 && !base64_ok(r->sign_data))) {
			errf(err, errsz, "sign_data must be 1-1024 characters (base64 when tbs_base64)");
			return NULL;
		}
		if (r->sign_type == NULL || (!raw && strcmp(r->sign_type, "PKCS#7") != 0 &&
		                             strcmp(r->sign_type, "PKCS#1") != 0) ||
		    (raw && !r->tbs_base64)) {
			errf(err, errsz, "sign_type must be PKCS#7, PKCS#1 or RAW (RAW needs base64)");
			return NULL;
		}
		if (!raw && (r->hash_alg == NULL || (strcmp(r->hash_alg, "SHA1") != 0 &&
		                                     strcmp(r->hash_alg, "SHA256") != 0 &&
		                                     strcmp(r->hash_alg, "SHA384") != 0 &&
		                                     strcmp(r->hash_alg, "SHA512") != 0))) {
			errf(err, errsz, "bad hash_algorithm");
			return NULL;
		}
		sign = r->sign_data;
	}
	/* The fields each checksum covers, in the spec's order (§參 of the API
	 * specification, as public clients transcribe it). */
	f[0] = r->transaction_id;
	f[1] = r->sp_service_id;
	f[2] = id;
	if (push) {
		f[3] = r->device != NULL ? r->device : "";
		f[4] = op;
	} else {
		f[3] = op;
		f[4] = mode_name(r->mode);
	}
	f[5] = r->hint != NULL ? r->hint : "";
	f[6] = sign;
	if (twfido_checksum(key, iv, f, 7, sum) != 0) {
		errf(err, errsz, "checksum failed");
		return NULL;
	}
	if ((o = json_object()) == NULL)
		goto oom;
	if (!set_str(o, "transaction_id", r->transaction_id) || !set_str(o, "sp_service_id", r->sp_service_id) ||
	    !set_str(o, "sp_checksum", sum) || !set_str(o, "id_num", id) || !set_str(o, "op_code", op) ||
	    !set_str(o, "hint", f[5]) ||
	    json_object_set_new(o, "time_limit", json_integer(r->time_limit)) != 0)
		goto oom;
	if (!push && !set_str(o, "op_mode", mode_name(r->mode)))
		goto oom;
	if (push && r->device != NULL && !set_str(o, "device_user_def_desc", r->device))
		goto oom;
	if (r->op == TWFIDO_OP_SIGN) {
		if ((si = json_object()) == NULL || json_object_set_new(o, "sign_info", si) != 0)
			goto oom;
		if (!set_str(si, "sign_type", r->sign_type) || !set_str(si, "sign_data", r->sign_data) ||
		    !set_str(si, "tbs_encoding", r->tbs_base64 ? "base64" : "NONE"))
			goto oom;
		if (strcmp(r->sign_type, "RAW") != 0 && !set_str(si, "hash_algorithm", r->hash_alg))
			goto oom;
	}
	*method = push ? "requestAthOrSignPush" : "getSpTicket";
	return o;
oom:
	json_decref(o);
	errf(err, errsz, "out of memory");
	return NULL;
}

json_t *
twfido_build_result(const char *transaction_id, const char *sp_service_id, const char *sp_ticket_id,
                    const uint8_t key[TWFIDO_KEY_LEN], const uint8_t iv[TWFIDO_IV_LEN])
{
	char sum[TWFIDO_CHECKSUM_HEX_LEN + 1];
	const char *f[3] = { transaction_id, sp_service_id, sp_ticket_id };
	json_t *o;

	if (transaction_id == NULL || strlen(transaction_id) > TWFIDO_TXID_MAX ||
	    !proto_charset(transaction_id, "-_") || sp_service_id == NULL || strlen(sp_service_id) > 100 ||
	    !proto_charset(sp_service_id, "-_.") || sp_ticket_id == NULL ||
	    strlen(sp_ticket_id) > TWFIDO_TICKET_ID_MAX || !proto_charset(sp_ticket_id, "-_"))
		return NULL;
	if (twfido_checksum(key, iv, f, 3, sum) != 0 || (o = json_object()) == NULL)
		return NULL;
	if (!set_str(o, "transaction_id", transaction_id) || !set_str(o, "sp_service_id", sp_service_id) ||
	    !set_str(o, "sp_checksum", sum) || !set_str(o, "sp_ticket_id", sp_ticket_id)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *
twfido_status_name(enum twfido_status s)
{
	switch (s) {
	case TWFIDO_OK: return "ok";
	case TWFIDO_PENDING: return "pending";
	case TWFIDO_SLOW_DOWN: return "slow_down";
	case TWFIDO_DENIED: return "denied";
	case TWFIDO_EXPIRED: return "expired";
	case TWFIDO_NOT_ENROLLED: return "not_enrolled";
	case TWFIDO_REPLAYED: return "replayed";
	case TWFIDO_WRONG_PERSON: return "wrong_person";
	case TWFIDO_REJECTED: return "rejected";
	case TWFIDO_UNAVAILABLE: return "unavailable";
	case TWFIDO_BAD_CHECKSUM: return "bad_checksum";
	case TWFIDO_MALFORMED: break;
	}
	return "malformed";
}

static int
in_list(const char *code, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(code, *list) == 0)
			return 1;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum twfido_status
twfido_classify(const char *error_code)
{
	static const char *const pending[] = { "20002", "20003", "SPTKTID_TXNLOG_NF", NULL };
	static const char *const denied[] = { "APP_USER_CANCEL", "APP_SIGN_FAILURE", "APP_DECODE_FAIL",
		"APP_DATA_NULL", "DEVID_SPTKT_MISMATCH", "IDNUM_DEVID_MISMATCH", "PM_INV_SG", "PM_SIGDATA_ERR",
		"PM_SIGNDATA_NULL", "CERT_SIGNDATA_MISMATCH", "CERT_SIGNDATA_ERR", NULL };
	static const char *const expired[] = { "SPTKT_OVD", "NFCNONCE_EXPIRED", "OTP_EXPIRED", NULL };
	static const char *const enrolled[] = { "IDNUM_USERPROF_NF", "IDNUM_DEVPROF_NF", "DEVID_DEVPROF_NF",
		"DEV_DESC_MISMATCH", "PS_FCM_NOT_FOUND", NULL };
	const char *c = error_code;
	int dashes = 0;

	if (c == NULL || *c == '\0')
		return TWFIDO_MALFORMED;
	if (strcmp(c, "0") == 0)
		return TWFIDO_OK;
	/* "SP-API-ATH-02-SPTKT_OVD": the code follows the interface number. */
	if (strncmp(c, "SP-API-", 7) == 0) {
		for (c = error_code; *c != '\0' && dashes < 4; c++)
			if (*c == '-')
				dashes++;
		if (dashes < 4 || *c == '\0')
			return TWFIDO_REJECTED;
	}
	if (in_list(c, pending))
		return TWFIDO_PENDING;
	if (in_list(c, denied))
		return TWFIDO_DENIED;
	if (in_list(c, expired))
		return TWFIDO_EXPIRED;
	if (in_list(c, enrolled))
		return TWFIDO_NOT_ENROLLED;
	if (strcmp(c, "SPTKTID_SPTKT_RDM") == 0)
		return TWFIDO_REPLAYED;
	if (strcmp(c, "TXNLOG_INS_ERR") == 0)  /* a reused transaction_id: our mistake */
		return TWFIDO_REJECTED;
	if (strncmp(c, "DB_", 3) == 0 || strncmp(c, "PS_", 3) == 0 || strcmp(c, "UNDEFINED") == 0 ||
	    ends_with(c, "_INS_ERR") || ends_with(c, "_DEL_ERR") || ends_with(c, "_UPD_ERR") ||
	    ends_with(c, "_DBSQL"))
		return TWFIDO_UNAVAILABLE;
	return TWFIDO_REJECTED;
}

static enum twfido_status
http_status_class(int http_status)
{
	if (http_status == 429)
		return TWFIDO_SLOW_DOWN;
	if (http_status >= 500 && http_status <= 599)
		return TWFIDO_UNAVAILABLE;
	if (http_status >= 400 && http_status <= 499)
		return TWFIDO_REJECTED;
	return TWFIDO_MALFORMED;
}

/* Loads the answer and its error_code. NULL with *st set when the answer ends
 * here (not 200, not JSON, no code). */
static json_t *
load_answer(int http_status, const char *body, size_t len, char *code, size_t codesz,
            enum twfido_status *st)
{
	json_t *j;

	code[0] = '\0';
	if (http_status != 200) {
		*st = http_status_class(http_status);
		return NULL;
	}
	if ((j = proto_json_load(body, len, TWFIDO_BODY_MAX, JSON_DEPTH)) == NULL || !json_is_object(j) ||
	    proto_code(j, "error_code", code, codesz) != 0) {
		json_decref(j);
		*st = TWFIDO_MALFORMED;
		return NULL;
	}
	return j;
}

/* Decodes and checks an sp_ticket; fills the ids. */
static enum twfido_status
check_ticket(const char *ticket, const char *transaction_id, const char *sp_service_id,
             struct twfido_ticket *out)
{
	const char *dot = strchr(ticket, '.'), *s;
	size_t seglen;
	uint8_t *payload = NULL, md[SHA256_LEN];
	char want[64];
	size_t plen;
	json_t *j = NULL;
	enum twfido_status st = TWFIDO_MALFORMED;

	if (dot == NULL || strchr(dot + 1, '.') != NULL || (seglen = (size_t)(dot - ticket)) == 0)
		return TWFIDO_MALFORMED;
	/* The second segment is BASE64URL(SHA-256(first segment)): integrity of
	 * the ticket as text, not a signature (anyone can recompute it). */
	sha256(ticket, seglen, md);
	b64url_encode(want, md, SHA256_LEN);
	if (strcmp(want, dot + 1) != 0)
		return TWFIDO_MALFORMED;
	if ((payload = b64url_decode_alloc(ticket, seglen, &plen)) == NULL)
		return TWFIDO_MALFORMED;
	if ((j = proto_json_load((const char *)payload, plen, TICKET_MAX, 4)) == NULL || !json_is_object(j))
		goto out;
	if ((s = proto_str(j, "transaction_id", TWFIDO_TXID_MAX)) == NULL || strcmp(s, transaction_id) != 0)
		goto out;
	if ((s = proto_str(j, "sp_service_id", 100)) == NULL || strcmp(s, sp_service_id) != 0)
		goto out;
	s = proto_str(j, "sp_ticket_id", TWFIDO_TICKET_ID_MAX);
	if (!proto_charset(s, "-_") || proto_copy(out->sp_ticket_id, sizeof(out->sp_ticket_id), s) != 0)
		goto out;
	s = proto_str(j, "hashed_id_num", TWFIDO_HASHED_MAX);
	if (json_object_get(j, "hashed_id_num") != NULL && s == NULL)
		goto out;
	if (s != NULL && *s != '\0' && !proto_charset(s, "+/=_-"))
		goto out;
	if (proto_copy(out->hashed_id_num, sizeof(out->hashed_id_num), s != NULL ? s : "") != 0)
		goto out;
	s = proto_str(j, "op_code", 7);
	if (s != NULL && proto_charset(s, NULL))
		proto_copy(out->op_code, sizeof(out->op_code), s);
	st = TWFIDO_OK;
out:
	json_decref(j);
	free(payload);
	return st;
}

enum twfido_status
twfido_parse_ticket(int http_status, const char *body, size_t len, const uint8_t key[TWFIDO_KEY_LEN],
                    const char *transaction_id, const char *sp_service_id, struct twfido_ticket *out)
{
	struct twfido_ticket t;
	enum twfido_status st;
	const json_t *res;
	const char *ticket, *sum;
	json_t *j;

	if (out == NULL)
		return TWFIDO_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (key == NULL || transaction_id == NULL || sp_service_id == NULL)
		return TWFIDO_MALFORMED;
	memset(&t, 0, sizeof(t));
	if ((j = load_answer(http_status, body, len, out->error_code, sizeof(out->error_code), &st)) == NULL)
		return st;
	st = twfido_classify(out->error_code);
	if (st != TWFIDO_OK) {
		json_decref(j);
		/* A ticket call is never "pending"; such an answer is not the protocol. */
		return st == TWFIDO_PENDING ? TWFIDO_MALFORMED : st;
	}
	res = json_object_get(j, "result");
	ticket = proto_str(res, "sp_ticket", TICKET_MAX);
	sum = proto_str(res, "idp_checksum", TWFIDO_CHECKSUM_HEX_LEN);
	if (ticket == NULL || *ticket == '\0') {
		st = TWFIDO_MALFORMED;
	} else {
		const char *f[3] = { transaction_id, "0", ticket };

		if (sum == NULL || !twfido_checksum_verify(key, f, 3, sum))
			st = TWFIDO_BAD_CHECKSUM;
		else
			st = check_ticket(ticket, transaction_id, sp_service_id, &t);
	}
	if (st == TWFIDO_OK && (t.sp_ticket = strdup(ticket)) == NULL)
		st = TWFIDO_MALFORMED;
	json_decref(j);
	if (st == TWFIDO_OK) {
		memcpy(t.error_code, out->error_code, sizeof(t.error_code));
		*out = t;
	}
	return st;
}

void
twfido_ticket_clear(struct twfido_ticket *t)
{
	if (t == NULL)
		return;
	free(t->sp_ticket);
	memset(t, 0, sizeof(*t));
}

enum twfido_status
twfido_parse_result(int http_status, const char *body, size_t len, const uint8_t key[TWFIDO_KEY_LEN],
                    const char *transaction_id, const char *expected_hashed, struct twfido_result *out)
{
	enum twfido_status st;
	const json_t *res;
	const char *hashed, *signed_resp, *cert, *sum;
	json_t *j;

	if (out == NULL)
		return TWFIDO_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (key == NULL || transaction_id == NULL)
		return TWFIDO_MALFORMED;
	if ((j = load_answer(http_status, body, len, out->error_code, sizeof(out->error_code), &st)) == NULL)
		return st;
	if ((st = twfido_classify(out->error_code)) != TWFIDO_OK) {
		json_decref(j);
		return st;
	}
	res = json_object_get(j, "result");
	hashed = proto_str(res, "hashed_id_num", TWFIDO_HASHED_MAX);
	signed_resp = proto_str(res, "signed_response", SIGNED_MAX);
	cert = proto_str(res, "cert", CERT_MAX);
	sum = proto_str(res, "idp_checksum", TWFIDO_CHECKSUM_HEX_LEN);
	if (!json_is_object(res) || !proto_charset(hashed, "+/=_-") ||
	    (json_object_get(res, "signed_response") != NULL && !proto_charset(signed_resp, "+/=_-")) ||
	    (json_object_get(res, "cert") != NULL && !proto_charset(cert, "+/=_-"))) {
		st = TWFIDO_MALFORMED;
		goto out;
	}
	{
		const char *f[4] = { transaction_id, "0", hashed, signed_resp != NULL ? signed_resp : "" };

		if (sum == NULL || !twfido_checksum_verify(key, f, 4, sum)) {
			st = TWFIDO_BAD_CHECKSUM;
			goto out;
		}
	}
	if (expected_hashed != NULL && *expected_hashed != '\0' && strcmp(expected_hashed, hashed) != 0) {
		st = TWFIDO_WRONG_PERSON;
		goto out;
	}
	proto_copy(out->hashed_id_num, sizeof(out->hashed_id_num), hashed);
	if ((signed_resp != NULL && (out->signed_response = strdup(signed_resp)) == NULL) ||
	    (cert != NULL && (out->cert = strdup(cert)) == NULL)) {
		twfido_result_clear(out);
		st = TWFIDO_MALFORMED;
	}
out:
	json_decref(j);
	if (st != TWFIDO_OK) {
		char code[sizeof(out->error_code)];

		memcpy(code, out->error_code, sizeof(code));
		twfido_result_clear(out);
		memcpy(out->error_code, code, sizeof(code));
	}
	return st;
}

void
twfido_result_clear(struct twfido_result *r)
{
	if (r == NULL)
		return;
	free(r->signed_response);
	free(r->cert);
	memset(r, 0, sizeof(*r));
}

char *
twfido_app_link(int from_web, const char *sp_ticket, const char *rtn_url, const char *rtn_val)
{
	struct buf b;
	char *u, *v, *out = NULL;

	if (sp_ticket == NULL || rtn_url == NULL || strlen(sp_ticket) > TICKET_MAX || strlen(rtn_url) > 2048 ||
	    (rtn_val != NULL && strlen(rtn_val) > 2048))
		return NULL;
	u = b64url_encode_alloc((const uint8_t *)rtn_url, strlen(rtn_url));
	v = b64url_encode_alloc((const uint8_t *)(rtn_val ? rtn_val : ""), rtn_val ? strlen(rtn_val) : 0);
	if (u != NULL && v != NULL) {
		buf_init(&b);
		buf_adds(&b, from_web ? "mobilemoica://moica.moi.gov.tw/w2a/verifySign?sp_ticket="
		                      : "mobilemoica://moica.moi.gov.tw/a2a/verifySign?sp_ticket=");
		buf_add_urlenc(&b, sp_ticket);
		buf_adds(&b, "&rtn_url=");
		buf_adds(&b, u);
		buf_adds(&b, "&rtn_val=");
		buf_adds(&b, v);
		if (buf_str(&b) != NULL)
			out = strdup(buf_str(&b));
		buf_free(&b);
	}
	free(u);
	free(v);
	return out;
}

/* modules/wallet_proto.c — the 數位憑證皮夾 verifier API: requests and the
 * bounded parsing of answers. See wallet_proto.h. */
#include "wallet_proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "proto_util.h"

#define JSON_DEPTH 8

int
wallet_transaction_id_new(char *out)
{
	uint8_t r[16];
	char h[33];

	if (out == NULL || rand_bytes(r, sizeof(r)) != 0)
		return -1;
	r[6] = (uint8_t)((r[6] & 0x0F) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3F) | 0x80);
	hex_encode(h, r, sizeof(r));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
	return 0;
}

static int
txid_ok(const char *t)
{
	return t != NULL && strlen(t) <= WALLET_TXID_MAX && proto_charset(t, "-_");
}

char *
wallet_qrcode_path(const char *ref, const char *transaction_id)
{
	struct buf b;
	char *out = NULL;

	if (ref == NULL || strlen(ref) > 128 || !proto_charset(ref, "_.-") || !txid_ok(transaction_id))
		return NULL;
	buf_init(&b);
	buf_adds(&b, "/api/oidvp/qrcode?ref=");
	buf_add_urlenc(&b, ref);
	buf_adds(&b, "&transactionId=");
	buf_add_urlenc(&b, transaction_id);
	if (buf_str(&b) != NULL)
		out = strdup(buf_str(&b));
	buf_free(&b);
	return out;
}

char *
wallet_result_body(const char *transaction_id)
{
	json_t *o;
	char *s;

	if (!txid_ok(transaction_id) || (o = json_pack("{s:s}", "transactionId", transaction_id)) == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

const char *
wallet_status_name(enum wallet_status s)
{
	switch (s) {
	case WALLET_OK: return "ok";
	case WALLET_PENDING: return "pending";
	case WALLET_FAILED: return "failed";
	case WALLET_EXPIRED: return "expired";
	case WALLET_REJECTED: return "rejected";
	case WALLET_UNAVAILABLE: return "unavailable";
	case WALLET_MALFORMED: break;
	}
	return "malformed";
}

/* The code of an error answer: {"code", "message"}; some deployments wrap it
 * as {"params": "{\"code\":4002,…}"} (one integrator's observation). */
static int
error_code(const json_t *j, char *code, size_t codesz)
{
	const char *p;
	json_t *inner;
	int rc;

	if (proto_code(j, "code", code, codesz) == 0)
		return 0;
	if ((p = proto_str(j, "params", 4096)) == NULL ||
	    (inner = proto_json_load(p, strlen(p), 4096, 2)) == NULL)
		return -1;
	rc = json_is_object(inner) ? proto_code(inner, "code", code, codesz) : -1;
	json_decref(inner);
	return rc;
}

/* The status of an answer that is not 200. */
static enum wallet_status
error_status(int http_status, const json_t *j, char *code, size_t codesz)
{
	if (http_status >= 500 && http_status <= 599) {
		if (j != NULL)
			error_code(j, code, codesz);
		return WALLET_UNAVAILABLE;
	}
	if (http_status < 400 || http_status > 499 || j == NULL || error_code(j, code, codesz) != 0)
		return WALLET_MALFORMED;
	if (strcmp(code, "4002") == 0)
		return WALLET_PENDING;
	if (strcmp(code, "4003") == 0)
		return WALLET_EXPIRED;
	if (strcmp(code, "5001") == 0)
		return WALLET_UNAVAILABLE;
	return WALLET_REJECTED;
}

static int
vp_failure(const char *code)
{
	long n;
	char *end;

	if (code[0] != '2' || strlen(code) != 4)
		return 0;
	n = strtol(code, &end, 10);
	return *end == '\0' && n >= 2000 && n <= 2019 && n != 2011;
}

static int
uri_ok(const char *u)
{
	const char *p;

	if (u == NULL || strlen(u) > WALLET_URI_MAX)
		return 0;
	if (strncmp(u, "modadigitalwallet://", 20) != 0 && strncmp(u, "openid4vp://", 12) != 0 &&
	    strncmp(u, "https://", 8) != 0)
		return 0;
	/* It goes into an href and a QR: printable ASCII, no quotes or brackets. */
	for (p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("\"'<>\\`", *p) != NULL)
			return 0;
	return 1;
}

static int
image_ok(const char *s)
{
	static const char prefix[] = "data:image/png;base64,";

	return s != NULL && strlen(s) <= WALLET_IMAGE_MAX && strncmp(s, prefix, sizeof(prefix) - 1) == 0 &&
	       proto_charset(s + sizeof(prefix) - 1, "+/=");
}

enum wallet_status
wallet_parse_qrcode(int http_status, const char *body, size_t len, const char *transaction_id,
                    struct wallet_qrcode *out)
{
	enum wallet_status st = WALLET_MALFORMED;
	const char *tx, *img, *uri;
	json_t *j;

	if (out == NULL)
		return WALLET_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (!txid_ok(transaction_id))
		return WALLET_MALFORMED;
	j = proto_json_load(body, len, WALLET_BODY_MAX, JSON_DEPTH);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	if (http_status != 200) {
		st = error_status(http_status, j, out->code, sizeof(out->code));
		/* 4002/4003 mean nothing for a QR request: only a refusal. */
		if (st == WALLET_PENDING || st == WALLET_EXPIRED)
			st = WALLET_REJECTED;
		goto out;
	}
	if (j == NULL)
		goto out;
	if (json_object_get(j, "code") != NULL &&
	    (proto_code(j, "code", out->code, sizeof(out->code)) != 0 || strcmp(out->code, "0") != 0))
		goto out;
	tx = proto_str(j, "transactionId", WALLET_TXID_MAX);
	img = proto_str(j, "qrcodeImage", WALLET_IMAGE_MAX);
	uri = proto_str(j, "authUri", WALLET_URI_MAX);
	/* The answer must be about our transaction (when it says which). */
	if ((json_object_get(j, "transactionId") != NULL && (tx == NULL || strcmp(tx, transaction_id) != 0)) ||
	    !image_ok(img) || !uri_ok(uri))
		goto out;
	if ((out->qrcode_image = strdup(img)) == NULL || (out->auth_uri = strdup(uri)) == NULL) {
		wallet_qrcode_clear(out);
		goto out;
	}
	st = WALLET_OK;
out:
	json_decref(j);
	return st;
}

void
wallet_qrcode_clear(struct wallet_qrcode *q)
{
	if (q == NULL)
		return;
	free(q->qrcode_image);
	free(q->auth_uri);
	memset(q, 0, sizeof(*q));
}

/* A claim value as text: strings as they are, numbers and booleans written
 * out; NULL for objects, arrays and null (not kept). */
static char *
value_text(const json_t *v)
{
	char tmp[64];

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (json_string_length(v) != strlen(s) || json_string_length(v) > WALLET_VALUE_MAX)
			return NULL;
		return strdup(s);
	}
	if (json_is_integer(v))
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(tmp, sizeof(tmp), "%s", json_is_true(v) ? "true" : "false");
	else
		return NULL;
	return strdup(tmp);
}

static void
claim_free(struct wallet_claim *c)
{
	free(c->credential_type);
	free(c->ename);
	free(c->cname);
	free_secret_str(c->value);  /* personal data */
}

/* Reads data[] into r. 0, or -1 when a bound is passed or the shape is wrong. */
static int
read_claims(const json_t *data, struct wallet_result *r)
{
	size_t i, k;

	if (!json_is_array(data) || json_array_size(data) == 0 || json_array_size(data) > WALLET_CREDENTIALS_MAX)
		return -1;
	if ((r->claims = calloc(WALLET_CLAIMS_MAX, sizeof(*r->claims))) == NULL)
		return -1;
	for (i = 0; i < json_array_size(data); i++) {
		const json_t *cred = json_array_get(data, i), *claims = json_object_get(cred, "claims");
		const char *type = proto_str(cred, "credentialType", 128);

		if (!json_is_object(cred) || type == NULL || !proto_charset(type, "_.-:") || !json_is_array(claims))
			return -1;
		for (k = 0; k < json_array_size(claims); k++) {
			const json_t *cl = json_array_get(claims, k), *v = json_object_get(cl, "value");
			const char *en = proto_str(cl, "ename", 64), *cn = proto_str(cl, "cname", 128);
			struct wallet_claim *c;

			if (!json_is_object(cl) || en == NULL || !proto_charset(en, "_.-") ||
			    (json_object_get(cl, "cname") != NULL && cn == NULL))
				return -1;
			if (v == NULL || json_is_object(v) || json_is_array(v) || json_is_null(v)) {
				r->skipped++;
				continue;
			}
			if (r->nclaims >= WALLET_CLAIMS_MAX)
				return -1;
			c = &r->claims[r->nclaims];
			if ((c->value = value_text(v)) == NULL)
				return -1;
			r->nclaims++;
			if ((c->credential_type = strdup(type)) == NULL || (c->ename = strdup(en)) == NULL ||
			    (c->cname = strdup(cn != NULL ? cn : "")) == NULL)
				return -1;
		}
	}
	return 0;
}

enum wallet_status
wallet_parse_result(int http_status, const char *body, size_t len, const char *transaction_id,
                    struct wallet_result *out)
{
	enum wallet_status st = WALLET_MALFORMED;
	const json_t *vr;
	const char *tx, *desc, *did;
	json_t *j;

	if (out == NULL)
		return WALLET_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (!txid_ok(transaction_id))
		return WALLET_MALFORMED;
	j = proto_json_load(body, len, WALLET_BODY_MAX, JSON_DEPTH);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	if (http_status != 200) {
		st = error_status(http_status, j, out->code, sizeof(out->code));
		/* The module's own handler answers a presentation that failed its
		 * checks (2000-2019: vp validate fail, claim not found, ...) with
		 * HTTP 400 or 500 rather than 200 verifyResult false; that is the
		 * person's presentation failing, not an outage. 2011 (invalid
		 * presentation_definition) is our configuration. */
		if ((st == WALLET_UNAVAILABLE || st == WALLET_REJECTED) && vp_failure(out->code))
			st = WALLET_FAILED;
		goto out;
	}
	/* DWVP-01-201 carries code "0"; the callback shape (DWVP-02-201) has
	 * none, so an absent code is taken as "0", a present one must be. */
	if (j == NULL ||
	    (json_object_get(j, "code") != NULL && proto_code(j, "code", out->code, sizeof(out->code)) != 0))
		goto out;
	if (json_object_get(j, "code") == NULL)
		proto_copy(out->code, sizeof(out->code), "0");
	vr = json_object_get(j, "verifyResult");
	tx = proto_str(j, "transactionId", WALLET_TXID_MAX);
	desc = proto_str(j, "resultDescription", 512);
	did = proto_str(j, "holderDid", 512);
	/* Whatever it says, it must be about our transaction. */
	if (!json_is_boolean(vr) || tx == NULL || strcmp(tx, transaction_id) != 0)
		goto out;
	if (desc != NULL && utf8_valid(desc, strlen(desc)) && (out->description = strdup(desc)) == NULL)
		goto out;
	if (json_is_false(vr)) {
		st = WALLET_FAILED;
		goto out;
	}
	if (strcmp(out->code, "0") != 0)
		goto out;
	if (did != NULL && (!proto_charset(did, ":._-%") || (out->holder_did = strdup(did)) == NULL))
		goto fail;
	if (read_claims(json_object_get(j, "data"), out) != 0)
		goto fail;
	st = WALLET_OK;
	goto out;
fail:
	{
		char code[sizeof(out->code)];

		memcpy(code, out->code, sizeof(code));
		wallet_result_clear(out);
		memcpy(out->code, code, sizeof(code));
	}
out:
	json_decref(j);
	return st;
}

void
wallet_result_clear(struct wallet_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->claims != NULL) {
		for (i = 0; i < WALLET_CLAIMS_MAX; i++)
			claim_free(&r->claims[i]);
		free(r->claims);
	}
	free(r->description);
	free(r->holder_did);
	memset(r, 0, sizeof(*r));
}

const char *
wallet_claim(const struct wallet_result *r, const char *credential_type, const char *ename)
{
	const char *found = NULL;
	size_t i;

	if (r == NULL || ename == NULL)
		return NULL;
	for (i = 0; i < r->nclaims; i++) {
		const struct wallet_claim *c = &r->claims[i];

		if (strcmp(c->ename, ename) != 0 ||
		    (credential_type != NULL && strcmp(c->credential_type, credential_type) != 0))
			continue;
		if (found != NULL && strcmp(found, c->value) != 0)
			return NULL;  /* two credentials disagree: neither is believed */
		found = c->value;
	}
	return found;
}

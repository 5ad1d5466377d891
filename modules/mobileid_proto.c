/* modules/mobileid_proto.c — TWCA Mobile ID: IdentifyNo over UTF-16LE, the
 * form fields of each call, the checks of answers and returns. See
 * mobileid_proto.h and docs/taiwan-methods.md. */
#include "mobileid_proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "proto_util.h"

#define INPUT_MAX (64 * 1024)
#define OUTPUT_MAX (16 * 1024)

/* Appends the UTF-16LE encoding of the UTF-8 text s (n bytes) to out. -1 on
 * invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF, truncation). */
static int
utf16le(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		uint32_t cp;
		int len, i;

		if (p[0] < 0x80) {
			cp = p[0];
			len = 1;
		} else if ((p[0] & 0xE0) == 0xC0) {
			cp = p[0] & 0x1F;
			len = 2;
		} else if ((p[0] & 0xF0) == 0xE0) {
			cp = p[0] & 0x0F;
			len = 3;
		} else if ((p[0] & 0xF8) == 0xF0) {
			cp = p[0] & 0x07;
			len = 4;
		} else {
			return -1;
		}
		if (end - p < len)
			return -1;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			unsigned char u[4] = { (unsigned char)((0xD800 | (v >> 10)) & 0xFF),
			                       (unsigned char)((0xD800 | (v >> 10)) >> 8),
			                       (unsigned char)((0xDC00 | (v & 0x3FF)) & 0xFF),
			                       (unsigned char)((0xDC00 | (v & 0x3FF)) >> 8) };

			buf_add(out, u, 4);
		} else {
			unsigned char u[2] = { (unsigned char)(cp & 0xFF), (unsigned char)(cp >> 8) };

			buf_add(out, u, 2);
		}
		p += len;
	}
	return 0;
}

int
mobileid_identify_no(const char *const *fields, size_t n, const char *hash_key, char *out)
{
	struct buf b;
	size_t i, total = 0;
	uint8_t md[SHA256_LEN];
	int rc = -1;

	if (out == NULL || hash_key == NULL)
		return -1;
	buf_init(&b);
	for (i = 0; i <= n; i++) {
		const char *s = i < n ? fields[i] : hash_key;
		size_t len = s != NULL ? strlen(s) : 0;

		if ((total += len) > INPUT_MAX || utf16le(&b, s != NULL ? s : "", len) != 0)
			goto out;
	}
	if (b.oom)
		goto out;
	sha256(b.p != NULL ? b.p : "", b.len, md);
	hex_encode(out, md, SHA256_LEN);
	rc = 0;
out:
	wipe(b.p, b.cap);  /* held the HashKey */
	buf_free(&b);
	return rc;
}

int
mobileid_identify_ok(const char *const *fields, size_t n, const char *hash_key, const char *given)
{
	char want[MOBILEID_IDENTIFY_LEN + 1];
	size_t i;

	if (given == NULL || strlen(given) != MOBILEID_IDENTIFY_LEN)
		return 0;
	for (i = 0; i < MOBILEID_IDENTIFY_LEN; i++)
		if (!((given[i] >= '0' && given[i] <= '9') || (given[i] >= 'a' && given[i] <= 'f')))
			return 0;
	if (mobileid_identify_no(fields, n, hash_key, want) != 0)
		return 0;
	return ct_equal(want, given, MOBILEID_IDENTIFY_LEN);
}

static int
config_ok(const struct mobileid_config *c)
{
	return c != NULL && proto_charset(c->business_no, NULL) && strlen(c->business_no) <= 32 &&
	       c->api_version != NULL && strcmp(c->api_version, "1.0") == 0 &&
	       proto_charset(c->hash_key_no, NULL) && strlen(c->hash_key_no) <= 8 &&
	       c->hash_key != NULL && *c->hash_key != '\0' && strlen(c->hash_key) <= 256;
}

static int
add(struct mobileid_form *f, const char *name, const char *value)
{
	if (f->n >= MOBILEID_FIELDS_MAX || (f->f[f->n].value = strdup(value != NULL ? value : "")) == NULL)
		return -1;
	f->f[f->n].name = name;
	f->n++;
	return 0;
}

static const char *
get(const struct mobileid_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return "";
}

/* Adds IdentifyNo over the named fields, in order. */
static int
add_identify(struct mobileid_form *f, const struct mobileid_config *c, const char *const *names, size_t n)
{
	const char *vals[8];
	char idn[MOBILEID_IDENTIFY_LEN + 1];
	size_t i;

	if (n > 8)
		return -1;
	for (i = 0; i < n; i++)
		vals[i] = get(f, names[i]);
	if (mobileid_identify_no(vals, n, c->hash_key, idn) != 0)
		return -1;
	return add(f, "IdentifyNo", idn);
}

static int
verify_no_ok(const char *v)
{
	return proto_charset(v, NULL) && strlen(v) <= MOBILEID_VERIFY_NO_MAX;
}

static int
system_fields(struct mobileid_form *f, const struct mobileid_config *c, const char *verify_no)
{
	return add(f, "BusinessNo", c->business_no) || add(f, "ApiVersion", c->api_version) ||
	       add(f, "HashKeyNo", c->hash_key_no) || add(f, "VerifyNo", verify_no) ? -1 : 0;
}

int
mobileid_build_login(const struct mobileid_config *c, const char *verify_no, const char *return_url,
                     const char *return_params, const char *member_no, struct mobileid_form *out,
                     char *err, size_t errsz)
{
	static const char *const names[] = { "BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo",
		"ReturnParams", "InputParams" };
	json_t *in = NULL;
	char *inp = NULL;
	int rc = -1;

	if (out == NULL)
		return errf(err, errsz, "missing argument");
	memset(out, 0, sizeof(*out));
	if (!config_ok(c))
		return errf(err, errsz, "bad Mobile ID configuration");
	if (!verify_no_ok(verify_no))
		return errf(err, errsz, "VerifyNo must be 1-50 letters or digits");
	if (return_url == NULL || strlen(return_url) > 2048 || strncmp(return_url, "https://", 8) != 0 ||
	    !utf8_valid(return_url, strlen(return_url)) || strpbrk(return_url, " \"<>") != NULL)
		return errf(err, errsz, "ReturnURL must be an https URL");
	if (return_params == NULL || strlen(return_params) > 512 || !utf8_valid(return_params, strlen(return_params)))
		return errf(err, errsz, "bad ReturnParams");
	/* MemberNo is the national ID the person typed: checked here so a typo
	 * never leaves the city; the caller must not store or log it. */
	if (member_no == NULL || strlen(member_no) != 10 || !proto_charset(member_no, NULL))
		return errf(err, errsz, "MemberNo must be a 10-character ID");
	if ((in = json_pack("{s:s, s:s}", "MemberNo", member_no, "Action", "Login")) == NULL ||
	    (inp = json_dumps(in, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	if (system_fields(out, c, verify_no) != 0 || add(out, "ReturnURL", return_url) != 0 ||
	    add(out, "ReturnParams", return_params) != 0 || add(out, "InputParams", inp) != 0 ||
	    add_identify(out, c, names, 6) != 0)
		goto out;
	rc = 0;
out:
	json_decref(in);
	free_secret_str(inp);
	if (rc != 0) {
		mobileid_form_clear(out);
		errf(err, errsz, "out of memory");
	}
	return rc;
}

int
mobileid_build_do(const struct mobileid_config *c, const char *verify_no, const char *token,
                  struct mobileid_form *out)
{
	static const char *const names[] = { "BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "Token" };

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!config_ok(c) || !verify_no_ok(verify_no) || token == NULL || strlen(token) > MOBILEID_TOKEN_MAX ||
	    !proto_charset(token, "-_.") || system_fields(out, c, verify_no) != 0 || add(out, "Token", token) != 0 ||
	    add_identify(out, c, names, 5) != 0) {
		mobileid_form_clear(out);
		return -1;
	}
	return 0;
}

int
mobileid_build_confirm(const struct mobileid_config *c, const char *verify_no, const char *member_no,
                       const char *token, struct mobileid_form *out)
{
	static const char *const names[] = { "BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "MemberNo",
		"Token" };

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!config_ok(c) || !verify_no_ok(verify_no) || member_no == NULL || strlen(member_no) != 10 ||
	    !proto_charset(member_no, NULL) || token == NULL || strlen(token) > MOBILEID_TOKEN_MAX ||
	    !proto_charset(token, "-_.") || system_fields(out, c, verify_no) != 0 ||
	    add(out, "MemberNo", member_no) != 0 || add(out, "Token", token) != 0 ||
	    add_identify(out, c, names, 6) != 0) {
		mobileid_form_clear(out);
		return -1;
	}
	return 0;
}

char *
mobileid_form_encode(const struct mobileid_form *f)
{
	struct buf b;
	size_t i;
	char *out = NULL;

	if (f == NULL)
		return NULL;
	buf_init(&b);
	for (i = 0; i < f->n; i++) {
		if (i > 0)
			buf_adds(&b, "&");
		buf_add_urlenc(&b, f->f[i].name);
		buf_adds(&b, "=");
		buf_add_urlenc(&b, f->f[i].value);
	}
	if (buf_str(&b) != NULL)
		out = strdup(buf_str(&b));
	wipe(b.p, b.cap);
	buf_free(&b);
	return out;
}

void
mobileid_form_clear(struct mobileid_form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n && i < MOBILEID_FIELDS_MAX; i++)
		free_secret_str(f->f[i].value);
	memset(f, 0, sizeof(*f));
}

int
mobileid_verify_no_new(char *out)
{
	uint8_t r[16];
	time_t t = now_s();
	struct tm tm;

	if (out == NULL || gmtime_r(&t, &tm) == NULL || rand_bytes(r, sizeof(r)) != 0)
		return -1;
	if (strftime(out, 9, "%Y%m%d", &tm) != 8)
		return -1;
	hex_encode(out + 8, r, sizeof(r));
	return 0;
}

const char *
mobileid_status_name(enum mobileid_status s)
{
	switch (s) {
	case MOBILEID_OK: return "ok";
	case MOBILEID_DENIED: return "denied";
	case MOBILEID_FAILED: return "failed";
	case MOBILEID_MISMATCH: return "mismatch";
	case MOBILEID_BAD_IDENTIFY: return "bad_identify";
	case MOBILEID_UNAVAILABLE: return "unavailable";
	case MOBILEID_MALFORMED: break;
	}
	return "malformed";
}

/* Reads OutputParams (a JSON text) into out. 0, or -1 when it is not the
 * expected shape. "" is fine (a failure carries none). */
static int
read_output(const char *output, struct mobileid_result *out)
{
	json_t *j, *mid, *resp = NULL;
	const char *s;
	int rc = -1;

	if (*output == '\0')
		return 0;
	if ((j = proto_json_load(output, strlen(output), OUTPUT_MAX, 6)) == NULL || !json_is_object(j))
		goto out;
	s = proto_str(j, "MemberNo", 15);
	if (s != NULL && (!proto_charset(s, NULL) || proto_copy(out->member_no, sizeof(out->member_no), s) != 0))
		goto out;
	s = proto_str(j, "Token", MOBILEID_TOKEN_MAX);
	if (s != NULL && (!proto_charset(s, "-_.") || proto_copy(out->token, sizeof(out->token), s) != 0))
		goto out;
	mid = json_object_get(j, "MIDOutputParams");
	if (mid != NULL) {
		if (!json_is_object(mid))
			goto out;
		s = proto_str(mid, "VerifyCode", 15);
		if (s != NULL && proto_charset(s, NULL))
			proto_copy(out->verify_code, sizeof(out->verify_code), s);
		/* MIDResp is the carrier's answer, itself a JSON text. */
		s = proto_str(mid, "MIDResp", 8192);
		if (s != NULL && *s != '\0') {
			if ((resp = proto_json_load(s, strlen(s), 8192, 4)) == NULL || !json_is_object(resp))
				goto out;
			s = proto_str(resp, "msisdn", 19);
			if (s != NULL && *s != '\0' && proto_charset(s, "+"))
				proto_copy(out->msisdn, sizeof(out->msisdn), s);
		}
	}
	rc = 0;
out:
	json_decref(resp);
	json_decref(j);
	return rc;
}

/* The decision once IdentifyNo is good: codes, then the member. */
static enum mobileid_status
decide(struct mobileid_result *out, const char *member_no)
{
	if (strcmp(out->result_code, "S") == 0 && strcmp(out->return_code, "0") == 0) {
		if (member_no != NULL && strcmp(out->member_no, member_no) != 0)
			return MOBILEID_MISMATCH;
		return MOBILEID_OK;
	}
	if (strcmp(out->result_code, "S") == 0)
		return MOBILEID_MALFORMED;  /* a success must say 0 */
	if (strncmp(out->return_code, "364", 3) == 0)
		return MOBILEID_DENIED;
	return MOBILEID_FAILED;
}

enum mobileid_status
mobileid_parse_answer(int http_status, const char *body, size_t len, const struct mobileid_config *c,
                      const char *verify_no, const char *member_no, struct mobileid_result *out)
{
	const char *bn, *av, *kn, *vn, *rc, *ret, *op, *idn;
	enum mobileid_status st = MOBILEID_MALFORMED;
	json_t *j;

	if (out == NULL)
		return MOBILEID_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (!config_ok(c) || verify_no == NULL)
		return MOBILEID_MALFORMED;
	if (http_status >= 500 && http_status <= 599)
		return MOBILEID_UNAVAILABLE;
	if (http_status != 200)
		return MOBILEID_MALFORMED;
	if ((j = proto_json_load(body, len, MOBILEID_BODY_MAX, 4)) == NULL || !json_is_object(j))
		goto out;
	bn = proto_str(j, "BusinessNo", 32);
	av = proto_str(j, "ApiVersion", 8);
	kn = proto_str(j, "HashKeyNo", 8);
	vn = proto_str(j, "VerifyNo", MOBILEID_VERIFY_NO_MAX);
	rc = proto_str(j, "ResultCode", 2);
	ret = proto_str(j, "ReturnCode", sizeof(out->return_code) - 1);
	op = proto_str(j, "OutputParams", OUTPUT_MAX);
	idn = proto_str(j, "IdentifyNo", MOBILEID_IDENTIFY_LEN);
	if (bn == NULL || av == NULL || kn == NULL || vn == NULL || rc == NULL || ret == NULL || op == NULL ||
	    !proto_charset(rc, NULL) || !proto_charset(ret, "-"))
		goto out;
	proto_copy(out->result_code, sizeof(out->result_code), rc);
	proto_copy(out->return_code, sizeof(out->return_code), ret);
	{
		const char *f[7] = { bn, av, kn, vn, rc, ret, op };

		if (!mobileid_identify_ok(f, 7, c->hash_key, idn)) {
			st = MOBILEID_BAD_IDENTIFY;
			goto out;
		}
	}
	if (strcmp(bn, c->business_no) != 0 || strcmp(kn, c->hash_key_no) != 0 || strcmp(vn, verify_no) != 0) {
		st = MOBILEID_MISMATCH;
		goto out;
	}
	if (read_output(op, out) != 0)
		goto out;
	st = decide(out, member_no);
out:
	json_decref(j);
	return st;
}

enum mobileid_status
mobileid_parse_return(const struct form *f, const struct mobileid_config *c, const char *verify_no,
                      const char *return_params, struct mobileid_result *out)
{
	const char *bn, *av, *kn, *vn, *rc, *ret, *rp, *op, *idn;

	if (out == NULL)
		return MOBILEID_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (f == NULL || !config_ok(c) || verify_no == NULL || return_params == NULL)
		return MOBILEID_MALFORMED;
	bn = form_get(f, "BusinessNo");
	av = form_get(f, "ApiVersion");
	kn = form_get(f, "HashKeyNo");
	vn = form_get(f, "VerifyNo");
	rc = form_get(f, "ResultCode");
	ret = form_get(f, "ReturnCode");
	rp = form_get(f, "ReturnParams");
	op = form_get(f, "OutputParams");
	idn = form_get(f, "IdentifyNo");
	if (bn == NULL || av == NULL || kn == NULL || vn == NULL || rc == NULL || ret == NULL || rp == NULL ||
	    op == NULL || strlen(rc) > 2 || !proto_charset(rc, NULL) || strlen(ret) >= sizeof(out->return_code) ||
	    !proto_charset(ret, "-") || strlen(op) > OUTPUT_MAX)
		return MOBILEID_MALFORMED;
	proto_copy(out->result_code, sizeof(out->result_code), rc);
	proto_copy(out->return_code, sizeof(out->return_code), ret);
	{
		const char *fl[8] = { bn, av, kn, vn, rc, ret, rp, op };

		if (!mobileid_identify_ok(fl, 8, c->hash_key, idn))
			return MOBILEID_BAD_IDENTIFY;
	}
	/* Verified, but is it this browser's login? The caller's state holds
	 * the VerifyNo and ReturnParams it sent. */
	if (strcmp(bn, c->business_no) != 0 || strcmp(kn, c->hash_key_no) != 0 || strcmp(vn, verify_no) != 0 ||
	    strcmp(rp, return_params) != 0)
		return MOBILEID_MISMATCH;
	if (read_output(op, out) != 0)
		return MOBILEID_MALFORMED;
	return decide(out, NULL);
}

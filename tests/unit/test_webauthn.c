/* tests/unit/test_webauthn.c — the WebAuthn verifier and method
 * (modules/webauthn.c) against a software authenticator made here: OpenSSL
 * keys (ES256, EdDSA, RS256) sign authData || SHA-256(clientDataJSON), libcbor
 * builds the attestation objects (none, packed self, packed x5c, fido-u2f).
 * Good registrations and assertions pass; each rule refuses its attack:
 * wrong challenge, origin, type, rpIdHash, UP, UV when required, tampered
 * signatures, counter regression (which flags the key and audits), unknown
 * credential, replayed challenge, malformed CBOR. Also the records, the
 * proof's amr/factors/props and what the policy makes of them. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../authd/audit.h"
#include "../../authd/authd.h"
#include "../../authd/config.h"
#include "../../authd/oidc/oidc.h"
#include "../../authd/policy.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/b64.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/webauthn.h"
#include "fixture.h"

#define ORIGIN "https://sso.city.example:8443"
#define RP_ID "sso.city.example"

/* ---------------------------------------------------------------- the soft authenticator */

struct authr {
	EVP_PKEY *key;
	int alg;
	uint8_t cred_id[32];
	uint32_t count;
	int counting;              /* 0: always reports 0, as most passkeys */
};

static EVP_PKEY *
keygen(int alg)
{
	EVP_PKEY *k = NULL;

	if (alg == -7)
		k = EVP_EC_gen("P-256");
	else if (alg == -8)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (alg == -257)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	return k;
}

static void
authr_init(struct authr *a, int alg, int counting)
{
	memset(a, 0, sizeof(*a));
	a->alg = alg;
	a->key = keygen(alg);
	a->counting = counting;
	assert_int_equal(rand_bytes(a->cred_id, sizeof(a->cred_id)), 0);
}

static void
authr_free(struct authr *a)
{
	EVP_PKEY_free(a->key);
	a->key = NULL;
}

static void
bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
	BN_free(bn);
}

static void
map_add(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v)
{
	assert_true(cbor_map_add(m, (struct cbor_pair){ .key = cbor_move(k), .value = cbor_move(v) }));
}

/* Canonical (shortest) encoding, as authenticators send and libfido2 expects. */
static cbor_item_t *
cbor_neg(long v)
{
	long m = -1 - v;

	return m < 24 || m <= 0xff ? cbor_build_negint8((uint8_t)m) : cbor_build_negint16((uint16_t)m);
}

/* COSE_Key of the authenticator's public key (RFC 9053). */
static cbor_item_t *
cose_key(EVP_PKEY *k, int alg)
{
	cbor_item_t *m;
	uint8_t x[32], y[32], n[256], e[3];
	size_t xl = sizeof(x);

	if (alg == -7) {
		m = cbor_new_definite_map(5);
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, x, 32);
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32);
		map_add(m, cbor_build_uint8(1), cbor_build_uint8(2));
		map_add(m, cbor_build_uint8(3), cbor_neg(-7));
		map_add(m, cbor_neg(-1), cbor_build_uint8(1));
		map_add(m, cbor_neg(-2), cbor_build_bytestring(x, 32));
		map_add(m, cbor_neg(-3), cbor_build_bytestring(y, 32));
	} else if (alg == -8) {
		m = cbor_new_definite_map(4);
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, x, &xl), 1);
		map_add(m, cbor_build_uint8(1), cbor_build_uint8(1));
		map_add(m, cbor_build_uint8(3), cbor_neg(-8));
		map_add(m, cbor_neg(-1), cbor_build_uint8(6));
		map_add(m, cbor_neg(-2), cbor_build_bytestring(x, 32));
	} else {
		m = cbor_new_definite_map(4);
		bn_param(k, OSSL_PKEY_PARAM_RSA_N, n, 256);
		bn_param(k, OSSL_PKEY_PARAM_RSA_E, e, 3);
		map_add(m, cbor_build_uint8(1), cbor_build_uint8(3));
		map_add(m, cbor_build_uint8(3), cbor_neg(-257));
		map_add(m, cbor_neg(-1), cbor_build_bytestring(n, 256));
		map_add(m, cbor_neg(-2), cbor_build_bytestring(e, 3));
	}
	return m;
}

static size_t
cbor_out(cbor_item_t *it, uint8_t **out)
{
	size_t sz = 0, n = cbor_serialize_alloc(it, out, &sz);

	assert_true(n > 0);
	cbor_decref(&it);
	return n;
}

/* authData: rpIdHash, flags, counter [, AAGUID, credential id, COSE key]. */
static size_t
authdata(struct authr *a, const char *rp_id, uint8_t flags, int with_cred, uint8_t *out)
{
	size_t n = 0;

	sha256(rp_id, strlen(rp_id), out);
	n = 32;
	out[n++] = flags | (with_cred ? WA_FLAG_AT : 0);
	out[n++] = (uint8_t)(a->count >> 24);
	out[n++] = (uint8_t)(a->count >> 16);
	out[n++] = (uint8_t)(a->count >> 8);
	out[n++] = (uint8_t)a->count;
	if (with_cred) {
		uint8_t *cose;
		size_t cl;

		memset(out + n, 0xa5, 16);	/* AAGUID */
		n += 16;
		out[n++] = 0;
		out[n++] = sizeof(a->cred_id);
		memcpy(out + n, a->cred_id, sizeof(a->cred_id));
		n += sizeof(a->cred_id);
		cl = cbor_out(cose_key(a->key, a->alg), &cose);
		memcpy(out + n, cose, cl);
		n += cl;
		free(cose);
	}
	return n;
}

static size_t
sign(EVP_PKEY *k, const uint8_t *m, size_t n, uint8_t *sig)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t sl = 512;
	int ed = EVP_PKEY_is_a(k, "ED25519");

	assert_int_equal(EVP_DigestSignInit(c, NULL, ed ? NULL : EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &sl, m, n), 1);
	EVP_MD_CTX_free(c);
	return sl;
}

static char *
b64(const void *p, size_t n)
{
	char *s = b64url_encode_alloc(p, n);

	assert_non_null(s);
	return s;
}

static char *
client_data(const char *type, const char *challenge, const char *origin, const char *extra)
{
	char j[1024];

	snprintf(j, sizeof(j), "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\","
	    "\"crossOrigin\":false%s}", type, challenge, origin, extra != NULL ? extra : "");
	return b64(j, strlen(j));
}

/* The subject of Chromium's virtual authenticator's self-signed "batch"
 * attestation certificate (device/fido/virtual_fido_device.cc). */
#define CHROMIUM_BATCH "C=US/O=Chromium/OU=Authenticator Attestation/CN=Batch Certificate"

/* A self-signed attestation certificate for key k (DER), subject "C=../O=..". */
static size_t
att_cert_named(EVP_PKEY *k, const char *subject, uint8_t **der)
{
	X509 *x = X509_new();
	X509_NAME *nm;
	char buf[256], *part, *save = NULL;
	int n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	nm = X509_get_subject_name(x);
	snprintf(buf, sizeof(buf), "%s", subject);
	for (part = strtok_r(buf, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');

		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, part, MBSTRING_UTF8,
		    (const unsigned char *)eq + 1, -1, -1, 0), 1);
	}
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509(x, der);
	assert_true(n > 0);
	X509_free(x);
	return (size_t)n;
}

static size_t
att_cert(EVP_PKEY *k, uint8_t **der)
{
	return att_cert_named(k, "CN=Test Batch", der);
}

/* WA_SEED_DIR=tests/fuzz/corpus/webauthn: each attestation object made here
 * is also written there, as seeds for tests/fuzz/fuzz_webauthn.c. */
static void
seed_write(const uint8_t *p, size_t n)
{
	const char *dir = getenv("WA_SEED_DIR");
	static int seq;
	char path[512];
	FILE *fp;

	if (dir == NULL || *dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/att-%03d.cbor", dir, seq++);
	if ((fp = fopen(path, "wb")) != NULL) {
		fwrite(p, 1, n, fp);
		fclose(fp);
	}
}

enum fmt { F_NONE, F_SELF, F_X5C, F_U2F };

struct reg_opts {
	enum fmt fmt;
	const char *type, *challenge, *origin, *rp_id;
	const char *subject;       /* F_X5C: the self-signed certificate's subject */
	uint8_t flags;
	int tamper_sig;
};

/* A registration as the browser posts it: client_data and attestation_object (base64url). */
static void
make_reg(struct authr *a, const struct reg_opts *o, char **cd_out, char **ao_out)
{
	uint8_t ad[2048], msg[2200], cdh[32], sig[512], *der = NULL, *ao;
	size_t adl, sl = 0, dl = 0, aol, cdl = 0;
	char *cd = client_data(o->type ? o->type : "webauthn.create", o->challenge,
	    o->origin ? o->origin : ORIGIN, ",\"other_keys_can_be_added_here\":\"x\"");
	uint8_t *cdraw = b64url_decode_alloc(cd, strlen(cd), &cdl);
	cbor_item_t *m = cbor_new_definite_map(3), *st;
	EVP_PKEY *ak = NULL;

	sha256(cdraw, cdl, cdh);
	free(cdraw);
	adl = authdata(a, o->rp_id ? o->rp_id : RP_ID, o->flags, 1, ad);
	memcpy(msg, ad, adl);
	memcpy(msg + adl, cdh, 32);
	switch (o->fmt) {
	case F_NONE:
		st = cbor_new_definite_map(0);
		break;
	case F_SELF:
		sl = sign(a->key, msg, adl + 32, sig);
		st = cbor_new_definite_map(2);
		map_add(st, cbor_build_string("alg"), cbor_neg(a->alg));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		break;
	case F_X5C:
		ak = keygen(-7);
		dl = o->subject != NULL ? att_cert_named(ak, o->subject, &der) : att_cert(ak, &der);
		sl = sign(ak, msg, adl + 32, sig);
		st = cbor_new_definite_map(3);
		map_add(st, cbor_build_string("alg"), cbor_neg(-7));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		{
			cbor_item_t *arr = cbor_new_definite_array(1);

			assert_true(cbor_array_push(arr, cbor_move(cbor_build_bytestring(der, dl))));
			map_add(st, cbor_build_string("x5c"), arr);
		}
		break;
	default: {
		/* FIDO U2F: 0x00 || rpIdHash || cdh || credId || 0x04 || x || y */
		uint8_t u[1 + 32 + 32 + 32 + 65];
		size_t un = 0;

		ak = keygen(-7);
		dl = att_cert(ak, &der);
		u[un++] = 0;
		memcpy(u + un, ad, 32);
		un += 32;
		memcpy(u + un, cdh, 32);
		un += 32;
		memcpy(u + un, a->cred_id, 32);
		un += 32;
		u[un++] = 4;
		bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, u + un, 32);
		bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, u + un + 32, 32);
		un += 64;
		sl = sign(ak, u, un, sig);
		st = cbor_new_definite_map(2);
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		{
			cbor_item_t *arr = cbor_new_definite_array(1);

			assert_true(cbor_array_push(arr, cbor_move(cbor_build_bytestring(der, dl))));
			map_add(st, cbor_build_string("x5c"), arr);
		}
		break;
	}
	}
	if (o->tamper_sig && sl > 0) {
		/* rebuild with one flipped byte in the signature */
		cbor_item_t *k = cbor_map_handle(st)[o->fmt == F_U2F ? 0 : 1].value;

		cbor_bytestring_handle(k)[cbor_bytestring_length(k) / 2] ^= 1;
	}
	map_add(m, cbor_build_string("fmt"), cbor_build_string(o->fmt == F_NONE ? "none" :
	    o->fmt == F_U2F ? "fido-u2f" : "packed"));
	map_add(m, cbor_build_string("attStmt"), st);
	map_add(m, cbor_build_string("authData"), cbor_build_bytestring(ad, adl));
	aol = cbor_out(m, &ao);
	seed_write(ao, aol);
	*cd_out = cd;
	*ao_out = b64(ao, aol);
	free(ao);
	OPENSSL_free(der);
	EVP_PKEY_free(ak);
}

struct get_opts {
	const char *type, *challenge, *origin, *rp_id;
	uint8_t flags;
	int tamper_sig;
};

/* An assertion: client_data, authenticator_data, signature (base64url). */
static void
make_get(struct authr *a, const struct get_opts *o, char **cd_out, char **ad_out, char **sig_out)
{
	uint8_t ad[256], msg[300], sig[512];
	size_t adl, sl, cdl = 0;
	char *cd = client_data(o->type ? o->type : "webauthn.get", o->challenge,
	    o->origin ? o->origin : ORIGIN, NULL);
	uint8_t *cdraw = b64url_decode_alloc(cd, strlen(cd), &cdl);

	if (a->counting)
		a->count++;
	adl = authdata(a, o->rp_id ? o->rp_id : RP_ID, o->flags, 0, ad);
	memcpy(msg, ad, adl);
	sha256(cdraw, cdl, msg + adl);
	free(cdraw);
	sl = sign(a->key, msg, adl + 32, sig);
	if (o->tamper_sig)
		sig[sl / 2] ^= 1;
	*cd_out = cd;
	*ad_out = b64(ad, adl);
	*sig_out = b64(sig, sl);
}

/* ---------------------------------------------------------------- fixture */

struct fx {
	char dir[FX_DIR_MAX];
	struct conf conf;
	struct authd authd;
	struct store *s;
	char uid[USER_ID_LEN + 1];
	char challenge[64];
};

static void
conf_default(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->issuer = (char *)ORIGIN;
	c->webauthn_rp_name = (char *)"City SSO";
	c->webauthn_uv = (char *)"preferred";
	c->webauthn_attestation = (char *)"direct";
	c->webauthn_timeout_ms = 60000;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	webauthn_fini();
	return rc;
}

/* The verifier configured for ORIGIN, a store with one user, a fresh challenge. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t ch[32];
	char err[256];

	if (f == NULL)
		return -1;
	*state = f;
	conf_default(&f->conf);
	if (webauthn_configure(&f->conf, err, sizeof(err)) != 0 ||
	    fx_store_make(f->dir, &f->s, "wa", 16, 0) != 0 ||
	    fx_user_create(f->s, "chen.wei", "陳偉", NULL, f->uid) != STORE_OK)
		goto fail;
	f->authd.conf = &f->conf;
	f->authd.store = f->s;
	rand_bytes(ch, sizeof(ch));
	b64url_encode(f->challenge, ch, sizeof(ch));
	return 0;
fail:
	teardown(state);
	return -1;
}

static int
reg(struct fx *f, struct authr *a, struct reg_opts o, int uv_required, json_t **rec)
{
	char *cd, *ao;
	int rc;

	if (o.challenge == NULL)
		o.challenge = f->challenge;
	make_reg(a, &o, &cd, &ao);
	rc = webauthn_register_verify(cd, ao, f->challenge, uv_required, rec);
	free(cd);
	free(ao);
	return rc;
}

static int
get(struct fx *f, struct authr *a, const json_t *rec, struct get_opts o, int uv_required,
    uint32_t *count)
{
	char *cd, *ad, *sig;
	uint8_t flags = 0;
	int rc;

	if (o.challenge == NULL)
		o.challenge = f->challenge;
	make_get(a, &o, &cd, &ad, &sig);
	rc = webauthn_assert_verify(rec, cd, ad, sig, f->challenge, uv_required, &flags, count);
	free(cd);
	free(ad);
	free(sig);
	return rc;
}

/* ---------------------------------------------------------------- registration */

static void
test_register_formats(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;
	static const int algs[] = { -7, -8, -257 };
	size_t i;

	for (i = 0; i < 3; i++) {
		authr_init(&a, algs[i], 1);
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		assert_int_equal(json_integer_value(json_object_get(rec, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "none");
		assert_false(json_is_true(json_object_get(rec, "attested")));
		assert_string_equal(json_string_value(json_object_get(rec, "aaguid")),
		    "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
		json_decref(rec);
		/* packed self attestation: signed by the credential key, still "swk" */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_SELF, .flags = WA_FLAG_UP |
		    WA_FLAG_UV }, 1, &rec), WA_OK);
		assert_false(json_is_true(json_object_get(rec, "attested")));
		assert_true(json_is_true(json_object_get(rec, "uv")));
		json_decref(rec);
		/* packed with an attestation certificate */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_X5C, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		assert_true(json_is_true(json_object_get(rec, "attested")));
		json_decref(rec);
		authr_free(&a);
	}
	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_U2F, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	assert_true(json_is_true(json_object_get(rec, "attested")));
	assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "fido-u2f");
	json_decref(rec);
	authr_free(&a);
}

static void
test_register_refusals(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;
	char *cd, *ao;

	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .challenge = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, 0, &rec), WA_CHALLENGE);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .origin = "https://sso.city.example.evil.test" }, 0, &rec), WA_ORIGIN);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .origin = "http://sso.city.example:8443" }, 0, &rec), WA_ORIGIN);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .type = "webauthn.get" }, 0, &rec), WA_TYPE);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .rp_id = "evil.example" }, 0, &rec), WA_RP);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = 0 }, 0, &rec), WA_UP);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 1, &rec),
	    WA_UV);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_X5C, .flags = WA_FLAG_UP,
	    .tamper_sig = 1 }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_SELF, .flags = WA_FLAG_UP,
	    .tamper_sig = 1 }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_U2F, .flags = WA_FLAG_UP,
	    .tamper_sig = 1 }, 0, &rec), WA_ATTESTATION);
	assert_null(rec);

	/* crossOrigin true: a call from another site's frame */
	{
		struct reg_opts o = { .fmt = F_NONE, .flags = WA_FLAG_UP, .challenge = f->challenge };
		char j[512], *bad;

		make_reg(&a, &o, &cd, &ao);
		snprintf(j, sizeof(j), "{\"type\":\"webauthn.create\",\"challenge\":\"%s\","
		    "\"origin\":\"" ORIGIN "\",\"crossOrigin\":true}", f->challenge);
		bad = b64(j, strlen(j));
		assert_int_equal(webauthn_register_verify(bad, ao, f->challenge, 0, &rec), WA_ORIGIN);
		free(bad);
		/* duplicate members are not JSON we accept */
		snprintf(j, sizeof(j), "{\"type\":\"webauthn.create\",\"type\":\"webauthn.create\","
		    "\"challenge\":\"%s\",\"origin\":\"" ORIGIN "\"}", f->challenge);
		bad = b64(j, strlen(j));
		assert_int_equal(webauthn_register_verify(bad, ao, f->challenge, 0, &rec), WA_MALFORMED);
		free(bad);
		/* not base64url, empty, missing */
		assert_int_equal(webauthn_register_verify("!!", ao, f->challenge, 0, &rec), WA_MALFORMED);
		assert_int_equal(webauthn_register_verify(cd, "", f->challenge, 0, &rec), WA_MALFORMED);
		assert_int_equal(webauthn_register_verify(cd, NULL, f->challenge, 0, &rec), WA_MALFORMED);
		free(cd);
		free(ao);
	}
	authr_free(&a);
}

static void
test_malformed_cbor(void **state)
{
	struct fx *f = *state;
	struct reg_opts o = { .fmt = F_X5C, .flags = WA_FLAG_UP, .challenge = f->challenge };
	struct authr a;
	struct wa_att att;
	struct wa_authdata ad;
	json_t *rec = NULL;
	char *cd, *ao, *bad;
	uint8_t *raw, *cut;
	size_t n = 0, i;

	authr_init(&a, -7, 1);
	make_reg(&a, &o, &cd, &ao);
	raw = b64url_decode_alloc(ao, strlen(ao), &n);
	assert_int_equal(webauthn_att_parse(raw, n, &att), WA_OK);
	assert_string_equal(att.fmt, "packed");
	assert_int_equal(webauthn_authdata_parse(att.authdata, att.authdata_len, &ad), WA_OK);
	assert_int_equal(ad.cred_id_len, 32);
	assert_memory_equal(ad.cred_id, a.cred_id, 32);
	assert_int_equal(ad.alg, -7);
	/* authData with a byte too many, or cut inside the COSE key */
	assert_int_equal(webauthn_authdata_parse(att.authdata, att.authdata_len - 1, &ad), WA_MALFORMED);
	assert_int_equal(webauthn_authdata_parse(att.authdata, 36, &ad), WA_MALFORMED);
	webauthn_att_free(&att);
	/* every truncation of the attestation object is refused */
	for (i = 0; i < n; i += 7) {
		assert_int_equal(webauthn_att_parse(raw, i, &att), WA_MALFORMED);
		cut = malloc(i + 1);
		memcpy(cut, raw, i);
		bad = b64(cut, i > 0 ? i : 1);
		assert_int_not_equal(webauthn_register_verify(cd, bad, f->challenge, 0, &rec), WA_OK);
		free(bad);
		free(cut);
	}
	/* a trailing byte after the one CBOR item */
	cut = malloc(n + 1);
	memcpy(cut, raw, n);
	cut[n] = 0;
	assert_int_equal(webauthn_att_parse(cut, n + 1, &att), WA_MALFORMED);
	bad = b64(cut, n + 1);
	assert_int_equal(webauthn_register_verify(cd, bad, f->challenge, 0, &rec), WA_MALFORMED);
	free(bad);
	free(cut);
	/* headers that declare more than the input holds (libcbor would size its
	 * allocation from them), indefinite lengths, and deep nesting */
	{
		static const uint8_t huge_map[] = { 0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		static const uint8_t huge_arr[] = { 0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01 };
		static const uint8_t huge_bytes[] = { 0x5a, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02 };
		static const uint8_t indefinite[] = { 0xbf, 0x63, 'f', 'm', 't', 0x01, 0xff };
		uint8_t deep[40];

		memset(deep, 0x81, sizeof(deep));
		deep[sizeof(deep) - 1] = 0x01;
		assert_int_equal(webauthn_att_parse(huge_map, sizeof(huge_map), &att), WA_MALFORMED);
		assert_int_equal(webauthn_att_parse(huge_arr, sizeof(huge_arr), &att), WA_MALFORMED);
		assert_int_equal(webauthn_att_parse(huge_bytes, sizeof(huge_bytes), &att), WA_MALFORMED);
		assert_int_equal(webauthn_att_parse(indefinite, sizeof(indefinite), &att), WA_MALFORMED);
		assert_int_equal(webauthn_att_parse(deep, sizeof(deep), &att), WA_MALFORMED);
	}
	/* not a map, an unknown member */
	{
		uint8_t arr[] = { 0x83, 0x01, 0x02, 0x03 };
		uint8_t m[] = { 0xa1, 0x63, 'f', 'o', 'o', 0x01 };

		assert_int_equal(webauthn_att_parse(arr, sizeof(arr), &att), WA_MALFORMED);
		assert_int_equal(webauthn_att_parse(m, sizeof(m), &att), WA_MALFORMED);
	}
	assert_null(rec);
	free(raw);
	free(cd);
	free(ao);
	authr_free(&a);
}

/* ---------------------------------------------------------------- assertions */

static void
test_assert_rules(void **state)
{
	struct fx *f = *state;
	static const int algs[] = { -7, -8, -257 };
	struct authr a;
	json_t *rec = NULL;
	uint32_t count = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		authr_init(&a, algs[i], 1);
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV },
		    1, &count), WA_OK);
		assert_int_equal(count, a.count);
		assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP,
		    .tamper_sig = 1 }, 0, &count), WA_SIGNATURE);
		json_decref(rec);
		authr_free(&a);
	}
	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP,
	    .challenge = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" }, 0, &count), WA_CHALLENGE);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP,
	    .origin = "https://evil.example" }, 0, &count), WA_ORIGIN);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP,
	    .type = "webauthn.create" }, 0, &count), WA_TYPE);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP,
	    .rp_id = "evil.example" }, 0, &count), WA_RP);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = 0 }, 0, &count), WA_UP);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 1, &count), WA_UV);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count), WA_OK);
	/* malformed answers */
	{
		uint8_t flags;

		assert_int_equal(webauthn_assert_verify(rec, "***", "AA", "AA", f->challenge, 0, &flags,
		    &count), WA_MALFORMED);
		assert_int_equal(webauthn_assert_verify(rec, NULL, NULL, NULL, f->challenge, 0, &flags,
		    &count), WA_MALFORMED);
	}
	json_decref(rec);
	authr_free(&a);
}

static void
test_counter(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;
	uint32_t count = 0;

	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	json_object_set_new(rec, "sign_count", json_integer(10));
	a.count = 10;	/* the next assertion says 11 */
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count), WA_OK);
	assert_int_equal(count, 11);
	a.count = 9;	/* a copy of the key, behind: says 10 */
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count),
	    WA_COUNTER);
	a.count = 0;
	a.counting = 0;	/* says 0 while we have seen 10 */
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count),
	    WA_COUNTER);
	/* both 0: a key without a counter is fine */
	json_object_set_new(rec, "sign_count", json_integer(0));
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count), WA_OK);
	/* a suspicious key is unknown */
	json_object_set_new(rec, "suspicious", json_true());
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP }, 0, &count),
	    WA_UNKNOWN);
	json_decref(rec);
	authr_free(&a);
}

/* ---------------------------------------------------------------- records and the method */

struct add_ctx {
	struct fx *f;
	json_t *rec;
	const char *name;
	int rc;
};

static int
w_add(struct store_txn *t, void *arg)
{
	struct add_ctx *c = arg;
	char h[WA_REF_LEN + 1], again[WA_REF_LEN + 1];

	/* as the registration's begin does: the handle is made once and kept */
	if (webauthn_user_handle(t, c->f->uid, 1, h) != STORE_OK ||
	    webauthn_user_handle(t, c->f->uid, 1, again) != STORE_OK || strcmp(h, again) != 0)
		return STORE_CONFLICT;
	c->rc = webauthn_cred_add(t, c->f->uid, c->rec, c->name, "usb,nfc,bogus");
	return c->rc == STORE_OK ? STORE_OK : STORE_CONFLICT;
}

static json_t *
enrol_opts(struct fx *f, struct authr *a, struct reg_opts o)
{
	struct add_ctx c = { .f = f, .name = "Office key" };
	json_t *rec = NULL;

	assert_int_equal(reg(f, a, o, 0, &rec), WA_OK);
	c.rec = rec;
	assert_int_equal(store_write_sync(f->s, w_add, &c), STORE_OK);
	return rec;
}

static json_t *
enrol(struct fx *f, struct authr *a, enum fmt fmt, uint8_t flags)
{
	return enrol_opts(f, a, (struct reg_opts){ .fmt = fmt, .flags = flags });
}

/* Runs begin (as /login/begin does) and finish with the stored state. */
static int
login_with(struct fx *f, struct authr *a, json_t *user, struct get_opts o, const char *user_handle,
           json_t **state_io, struct proof *p)
{
	struct login l = { .authd = &f->authd, .user = user, .ip = "127.0.0.1" };
	json_t *out = json_object();
	struct form *form = NULL;
	char *cd, *ad, *sig, *body, id[64];
	const char *ch;
	int rc;
	size_t n;

	if (*state_io == NULL) {
		assert_int_equal(method_webauthn.begin(&l, out), METHOD_OK);
		*state_io = l.state;
	}
	ch = json_string_value(json_object_get(*state_io, "challenge"));
	if (o.challenge == NULL)
		o.challenge = ch;
	make_get(a, &o, &cd, &ad, &sig);
	b64url_encode(id, a->cred_id, sizeof(a->cred_id));
	n = strlen(cd) + strlen(ad) + strlen(sig) + 512;
	body = malloc(n);
	snprintf(body, n, "credential_id=%s&client_data=%s&authenticator_data=%s&signature=%s"
	    "&user_handle=%s", id, cd, ad, sig, user_handle ? user_handle : "");
	assert_int_equal(form_parse(body, strlen(body), &form), FORM_OK);
	l.state = *state_io;
	l.txn = store_read_begin(f->s);
	rc = method_webauthn.finish(&l, form, p);
	store_read_end(l.txn);
	form_free(form);
	free(body);
	free(cd);
	free(ad);
	free(sig);
	json_decref(out);
	return rc;
}

static void
proof_clear(struct proof *p)
{
	json_decref(p->cred_update);
	json_decref(p->cred_expect);
	memset(p, 0, sizeof(*p));
}

static int
w_store_update(struct store_txn *t, void *arg)
{
	return cred_update_store(t, arg) == STORE_OK ? STORE_OK : STORE_CONFLICT;
}

static void
test_method_first_and_later_step(void **state)
{
	struct fx *f = *state;
	struct authr hw, sw;
	struct proof p = { 0 };
	json_t *user = NULL, *st = NULL, *rec;
	struct store_txn *t;
	char handle[WA_REF_LEN + 1];

	authr_init(&hw, -7, 1);
	authr_init(&sw, -8, 0);
	json_decref(enrol(f, &hw, F_X5C, WA_FLAG_UP | WA_FLAG_UV));
	json_decref(enrol(f, &sw, F_NONE, WA_FLAG_UP));
	t = store_read_begin(f->s);
	assert_true(method_webauthn.enrolled(t, f->uid));
	assert_int_equal(user_by_id(t, f->uid, &user), STORE_OK);
	rec = webauthn_cred_list(t, f->uid);
	assert_int_equal(json_array_size(rec), 2);
	/* "bogus" transport dropped */
	assert_int_equal(json_array_size(json_object_get(json_array_get(rec, 0), "transports")), 2);
	json_decref(rec);
	store_read_end(t);

	/* usernameless: the credential names the person; hardware key with UV */
	assert_int_equal(login_with(f, &hw, NULL, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV },
	    NULL, &st, &p), METHOD_OK);
	assert_string_equal(p.user_id, f->uid);
	assert_int_equal(p.amr, AMR_HWK | AMR_USER | AMR_PIN);
	assert_int_equal(p.factors, FACTOR_HAVE | FACTOR_KNOW);
	assert_int_equal(p.props, PROP_PHISHING_RESISTANT | PROP_HARDWARE | PROP_REPLAY_RESISTANT);
	assert_int_equal(policy_level_of(p.amr, p.factors, p.props), AAL3);
	assert_int_equal(p.cred_must_update, 1);	/* a counting key */
	assert_int_equal(json_integer_value(json_object_get(p.cred_update, "sign_count")), hw.count);
	assert_int_equal(store_write_sync(f->s, w_store_update, &p), STORE_OK);
	proof_clear(&p);
	/* the caller drops the state after finish: a replay has none -> invalid */
	json_decref(st);
	st = NULL;
	{
		struct login l = { .authd = &f->authd, .state = NULL };
		struct form *form = NULL;

		static const char body[] = "credential_id=AA&client_data=AA&authenticator_data=AA&"
		    "signature=AA";

		assert_int_equal(form_parse(body, sizeof(body) - 1, &form), FORM_OK);
		l.txn = store_read_begin(f->s);
		assert_int_equal(method_webauthn.finish(&l, form, &p), METHOD_INVALID);
		store_read_end(l.txn);
		form_free(form);
	}

	/* a passkey with the account's user handle; without UV it is one factor */
	t = store_read_begin(f->s);
	assert_int_equal(webauthn_user_handle(t, f->uid, 0, handle), STORE_OK);
	store_read_end(t);
	assert_int_equal(login_with(f, &sw, NULL, (struct get_opts){ .flags = WA_FLAG_UP }, handle,
	    &st, &p), METHOD_OK);
	assert_int_equal(p.amr, AMR_SWK);
	assert_int_equal(p.props, PROP_PHISHING_RESISTANT | PROP_REPLAY_RESISTANT);
	assert_int_equal(p.cred_must_update, 0);
	assert_int_equal(policy_level_of(p.amr, p.factors, p.props), AAL1);
	/* password + this key without UV: two factors, AAL2 */
	assert_int_equal(policy_level_of(p.amr | AMR_PWD, p.factors | FACTOR_KNOW, p.props), AAL2);
	/* password + hardware key without UV: AAL2 by the city's rule (issue 4,
	 * DESIGN.md: AAL3 needs the key itself to verify the person), stricter
	 * than NIST SP 800-63B §4.3.1. */
	assert_int_equal(policy_level_of(AMR_PWD | AMR_HWK, FACTOR_KNOW | FACTOR_HAVE,
	    PROP_PHISHING_RESISTANT | PROP_HARDWARE), AAL2);
	proof_clear(&p);
	json_decref(st);
	st = NULL;
	/* a wrong user handle is refused */
	assert_int_equal(login_with(f, &sw, NULL, (struct get_opts){ .flags = WA_FLAG_UP },
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &st, &p), METHOD_FAIL);
	json_decref(st);
	st = NULL;

	/* a later step: begin lists the user's keys; another person's key fails */
	{
		struct login l = { .authd = &f->authd, .user = user };
		json_t *out = json_object();
		json_t *allow;

		assert_int_equal(method_webauthn.begin(&l, out), METHOD_OK);
		allow = json_object_get(json_object_get(out, "publicKey"), "allowCredentials");
		assert_int_equal(json_array_size(allow), 2);
		assert_string_equal(json_string_value(json_object_get(json_object_get(out, "publicKey"),
		    "rpId")), RP_ID);
		json_decref(out);
		json_decref(l.state);
	}
	assert_int_equal(login_with(f, &sw, user, (struct get_opts){ .flags = WA_FLAG_UP }, NULL, &st,
	    &p), METHOD_OK);
	proof_clear(&p);
	json_decref(st);
	st = NULL;
	/* unknown credential */
	{
		struct authr stranger;

		authr_init(&stranger, -7, 1);
		assert_int_equal(login_with(f, &stranger, NULL, (struct get_opts){ .flags = WA_FLAG_UP },
		    NULL, &st, &p), METHOD_FAIL);
		json_decref(st);
		st = NULL;
		assert_int_equal(login_with(f, &stranger, user, (struct get_opts){ .flags = WA_FLAG_UP },
		    NULL, &st, &p), METHOD_FAIL);
		json_decref(st);
		st = NULL;
		authr_free(&stranger);
	}
	/* wrong challenge through the method */
	assert_int_equal(login_with(f, &hw, NULL, (struct get_opts){ .flags = WA_FLAG_UP,
	    .challenge = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC" }, NULL, &st, &p), METHOD_FAIL);
	json_decref(st);
	st = NULL;
	json_decref(user);
	authr_free(&hw);
	authr_free(&sw);
}

/* Regression (issue 11, item 3): Chromium's virtual authenticator signs its
 * packed statement with a self-signed "batch" certificate (C=US, O=Chromium,
 * OU=Authenticator Attestation). Nothing chains it to a root anyone trusts,
 * so it is a passkey (swk) however well its signature verifies: with UV it
 * reaches AAL2, never AAL3, alone or as the account's best method. */
static void
test_selfsigned_batch_is_passkey(void **state)
{
	struct fx *f = *state;
	struct authr a;
	struct proof p = { 0 };
	json_t *st = NULL;
	struct store_txn *t;

	authr_init(&a, -7, 0);
	json_decref(enrol_opts(f, &a, (struct reg_opts){ .fmt = F_X5C, .subject = CHROMIUM_BATCH,
	    .flags = WA_FLAG_UP | WA_FLAG_UV }));
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV },
	    NULL, &st, &p), METHOD_OK);
	assert_true(p.amr & AMR_SWK);
	assert_false(p.amr & AMR_HWK);
	assert_false(p.props & PROP_HARDWARE);
	assert_int_equal(policy_level_of(p.amr, p.factors, p.props), AAL2);
	proof_clear(&p);
	json_decref(st);
	t = store_read_begin(f->s);
	assert_int_equal(webauthn_reachable_level(t, f->uid, NULL), AAL2);
	store_read_end(t);
	authr_free(&a);
}

struct audit_find {
	const char *event;
	int found;
};

static int
audit_cb(const void *key, size_t klen, json_t *v, void *ctx)
{
	struct audit_find *af = ctx;
	const char *e = json_string_value(json_object_get(v, "event"));

	(void)key;
	(void)klen;
	if (e != NULL && strcmp(e, af->event) == 0)
		af->found++;
	return 0;
}

static void
test_method_counter_regression(void **state)
{
	struct fx *f = *state;
	struct authr a;
	struct proof p = { 0 };
	json_t *st = NULL, *list;
	struct store_txn *t;
	struct audit_find af = { "webauthn.counter_regression", 0 };

	authr_init(&a, -7, 1);
	a.count = 40;
	json_decref(enrol(f, &a, F_X5C, WA_FLAG_UP));
	a.count = 20;	/* a clone behind the original */
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP }, NULL, &st,
	    &p), METHOD_FAIL);
	/* the holder is told what happened and what to do */
	assert_non_null(p.error_en);
	assert_non_null(strstr(p.error_en, "IT desk"));
	assert_non_null(p.error_zh);
	json_decref(st);
	st = NULL;
	t = store_read_begin(f->s);
	list = webauthn_cred_list(t, f->uid);
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "suspicious")));
	assert_false(method_webauthn.enrolled(t, f->uid));
	assert_int_equal(store_iter(t, T_AUDIT, NULL, 0, audit_cb, &af), STORE_OK);
	assert_int_equal(af.found, 1);
	json_decref(list);
	store_read_end(t);
	/* even the right counter cannot use it now */
	a.count = 100;
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP }, NULL, &st,
	    &p), METHOD_FAIL);
	json_decref(st);
	authr_free(&a);
}

struct rr_ctx {
	const char *uid, *ref, *name;
	int rc;
};

static int
w_rename(struct store_txn *t, void *arg)
{
	struct rr_ctx *c = arg;

	c->rc = webauthn_cred_rename(t, c->uid, c->ref, c->name);
	return c->rc == STORE_OK ? STORE_OK : STORE_CONFLICT;
}

static int
w_remove(struct store_txn *t, void *arg)
{
	struct rr_ctx *c = arg;

	c->rc = webauthn_cred_remove(t, c->uid, c->ref);
	return c->rc == STORE_OK ? STORE_OK : STORE_CONFLICT;
}

static void
test_records(void **state)
{
	struct fx *f = *state;
	struct authr a;
	struct add_ctx c = { .f = f, .name = "again" };
	struct rr_ctx rr = { .uid = f->uid };
	json_t *rec, *list;
	struct store_txn *t;
	char ref[WA_REF_LEN + 1], id[64];
	int before, after;

	authr_init(&a, -7, 1);
	rec = enrol(f, &a, F_X5C, WA_FLAG_UP | WA_FLAG_UV);
	/* the same credential id twice: refused */
	c.rec = json_deep_copy(rec);
	assert_int_not_equal(store_write_sync(f->s, w_add, &c), STORE_OK);
	assert_int_equal(c.rc, STORE_EXISTS);
	json_decref(c.rec);
	json_decref(rec);
	b64url_encode(id, a.cred_id, sizeof(a.cred_id));
	assert_int_equal(webauthn_cred_ref(id, ref), 0);
	assert_int_equal(webauthn_cred_ref("not base64!", ref), -1);
	/* names */
	assert_true(webauthn_name_ok("辦公室 YubiKey"));
	assert_false(webauthn_name_ok(""));
	assert_false(webauthn_name_ok("a\nb"));
	assert_false(webauthn_name_ok("0123456789012345678901234567890123456789012345678901234567890123456789"));
	rr.ref = ref;
	rr.name = "Desk key";
	assert_int_equal(store_write_sync(f->s, w_rename, &rr), STORE_OK);
	rr.name = "bad\x01name";
	assert_int_not_equal(store_write_sync(f->s, w_rename, &rr), STORE_OK);
	assert_int_equal(rr.rc, STORE_INVALID);
	t = store_read_begin(f->s);
	list = webauthn_cred_list(t, f->uid);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
	    "Desk key");
	json_decref(list);
	/* the policy view of a removal: without its only UV hardware key the
	 * account (password only in this store: none) drops */
	before = webauthn_reachable_level(t, f->uid, NULL);
	after = webauthn_reachable_level(t, f->uid, ref);
	assert_int_equal(before, AAL3);
	assert_true(after < before);
	store_read_end(t);
	assert_int_equal(store_write_sync(f->s, w_remove, &rr), STORE_OK);
	assert_int_not_equal(store_write_sync(f->s, w_remove, &rr), STORE_OK);
	assert_int_equal(rr.rc, STORE_NOTFOUND);
	rr.ref = "../../etc";
	assert_int_not_equal(store_write_sync(f->s, w_remove, &rr), STORE_OK);
	assert_int_equal(rr.rc, STORE_INVALID);
	t = store_read_begin(f->s);
	assert_false(method_webauthn.enrolled(t, f->uid));
	store_read_end(t);
	authr_free(&a);
}

static void
test_config(void **state)
{
	struct fx *f = *state;
	struct conf c;
	char err[256];
	struct authr a;
	json_t *rec = NULL;

	conf_default(&c);
	c.webauthn_uv = (char *)"always";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "user_verification"));
	conf_default(&c);
	c.webauthn_rp_id = (char *)"sso.city.example:8443";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), -1);
	conf_default(&c);
	c.webauthn_origins = (char *)"ftp://x";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), -1);
	conf_default(&c);
	c.webauthn_attestation = (char *)"indirect";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), -1);
	/* two origins, and a registrable parent domain as rp id */
	conf_default(&c);
	c.webauthn_rp_id = (char *)"city.example";
	c.webauthn_origins = (char *)"https://sso.city.example:8443, https://login.city.example";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), 0);
	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP,
	    .origin = "https://login.city.example", .rp_id = "city.example" }, 0, &rec), WA_OK);
	json_decref(rec);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_RP);	/* signed for the old rp id */
	authr_free(&a);
	/* uv required from the config reaches begin */
	conf_default(&c);
	c.webauthn_uv = (char *)"required";
	assert_int_equal(webauthn_configure(&c, err, sizeof(err)), 0);
	{
		struct login l = { .authd = &f->authd };
		json_t *out = json_object();

		assert_int_equal(method_webauthn.begin(&l, out), METHOD_OK);
		assert_string_equal(json_string_value(json_object_get(json_object_get(out, "publicKey"),
		    "userVerification")), "required");
		assert_true(json_is_true(json_object_get(l.state, "uv")));
		json_decref(out);
		json_decref(l.state);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_cbor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assert_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_first_and_later_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selfsigned_batch_is_passkey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_counter_regression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests_name("webauthn", tests, NULL, NULL);
}

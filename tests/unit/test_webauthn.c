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
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../authd/audit.h"
#include "../../authd/authd.h"
#include "../../authd/config.h"
#include "../../authd/oidc/oidc.h"
#include "../../authd/signin.h"
#include "../../authd/policy.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/b64.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/fido_mds.h"
#include "../../modules/webauthn.h"
#include "../../modules/webauthn_attest.h"
#include "../../modules/webauthn_trust.h"
#include "fixture.h"

#define ORIGIN "https://sso.city.example:8443"
#define RP_ID "sso.city.example"

/* ---------------------------------------------------------------- the soft authenticator */

struct authr {
	EVP_PKEY *key;
	int alg;
	uint8_t cred_id[32];
	uint8_t aaguid[16];        /* the model; a5a5... unless a test says */
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
	memset(a->aaguid, 0xa5, sizeof(a->aaguid));
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

		memcpy(out + n, a->aaguid, 16);
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

/* ---------------------------------------------------------------- a test PKI */

/* The subject of Chromium's virtual authenticator's self-signed "batch"
 * attestation certificate (device/fido/virtual_fido_device.cc). */
#define CHROMIUM_BATCH "C=US/O=Chromium/OU=Authenticator Attestation/CN=Batch Certificate"
#define PACKED_SUBJECT "C=TW/O=Test Vendor/OU=Authenticator Attestation/CN=Test Key Series 1"

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

/* An attestation signer: its key and its chain (leaf first). */
struct signer {
	EVP_PKEY *key;
	X509 *chain[3];
	int n;
	const uint8_t *aaguid;     /* the model its certificate names, or NULL */
};

struct cert_opts {
	const char *subject;       /* "C=../O=../OU=../CN=.."; "" for an empty subject */
	int ca;                    /* Basic Constraints CA:TRUE (else CA:FALSE) */
	int no_bc;                 /* no Basic Constraints at all */
	const uint8_t *aaguid;     /* id-fido-gen-ce-aaguid */
	const char *eku;           /* one extendedKeyUsage OID */
	int tpm_san;               /* a TPM SAN (manufacturer, model, version) */
	const char *ext_oid;       /* one more extension, its DER value */
	const uint8_t *ext_der;
	size_t ext_der_len;
	long not_before, not_after;/* seconds from now; both 0: -1 h .. +1 year */
};

static void
ext_raw(X509 *x, const char *oid, int crit, const uint8_t *der, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(obj);
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)n), 1);
	e = X509_EXTENSION_create_by_OBJ(NULL, obj, crit, os);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static void
name_add(X509_NAME *nm, const char *spec)
{
	char buf[256], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (part = strtok_r(buf, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');

		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, part, MBSTRING_UTF8,
		    (const unsigned char *)eq + 1, -1, -1, 0), 1);
	}
}

/* A certificate for key over o's subject, issued by issuer (NULL: self-signed). */
static X509 *
cert_issue(const struct ca *issuer, EVP_PKEY *key, const struct cert_opts *o)
{
	static long serial = 100;
	X509 *x = X509_new();
	BASIC_CONSTRAINTS *bc;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), o->not_before || o->not_after ? o->not_before : -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), o->not_before || o->not_after ? o->not_after :
	    3600L * 24 * 365);
	name_add(X509_get_subject_name(x), o->subject);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->cert) :
	    X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (!o->no_bc) {
		bc = BASIC_CONSTRAINTS_new();
		bc->ca = o->ca ? 0xff : 0;
		assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT), 1);
		BASIC_CONSTRAINTS_free(bc);
	}
	if (o->ca)
		assert_int_equal(fx_cert_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign"), 0);
	if (o->aaguid != NULL) {
		uint8_t v[18] = { 0x04, 16 };

		memcpy(v + 2, o->aaguid, 16);
		ext_raw(x, "1.3.6.1.4.1.45724.1.1.4", 0, v, sizeof(v));
	}
	if (o->eku != NULL) {
		EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();

		sk_ASN1_OBJECT_push(eku, OBJ_txt2obj(o->eku, 1));
		assert_int_equal(X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT), 1);
		sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	}
	if (o->tpm_san) {
		GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
		GENERAL_NAME *g = GENERAL_NAME_new();
		X509_NAME *dn = X509_NAME_new();

		assert_int_equal(X509_NAME_add_entry_by_txt(dn, "2.23.133.2.1", MBSTRING_UTF8,
		    (const unsigned char *)"id:414D4400", -1, -1, 0), 1);
		assert_int_equal(X509_NAME_add_entry_by_txt(dn, "2.23.133.2.2", MBSTRING_UTF8,
		    (const unsigned char *)"Test TPM", -1, -1, 0), 1);
		assert_int_equal(X509_NAME_add_entry_by_txt(dn, "2.23.133.2.3", MBSTRING_UTF8,
		    (const unsigned char *)"id:13", -1, -1, 0), 1);
		GENERAL_NAME_set0_value(g, GEN_DIRNAME, dn);
		sk_GENERAL_NAME_push(gens, g);
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT), 1);
		GENERAL_NAMES_free(gens);
	}
	if (o->ext_oid != NULL)
		ext_raw(x, o->ext_oid, 0, o->ext_der, o->ext_der_len);
	assert_true(X509_sign(x, issuer != NULL ? issuer->key : key,
	    EVP_PKEY_is_a(issuer != NULL ? issuer->key : key, "ED25519") ? NULL : EVP_sha256()) > 0);
	return x;
}

static void
ca_make(struct ca *ca, const char *cn)
{
	char subject[128];

	ca->key = keygen(-7);
	snprintf(subject, sizeof(subject), "C=TW/O=Test PKI/CN=%s", cn);
	ca->cert = cert_issue(NULL, ca->key, &(struct cert_opts){ .subject = subject, .ca = 1 });
}

static void
ca_free(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	memset(ca, 0, sizeof(*ca));
}

static size_t
der_of(X509 *x, uint8_t **der)
{
	int n;

	*der = NULL;
	n = i2d_X509(x, der);
	assert_true(n > 0);
	return (size_t)n;
}

/* The AAGUIDs of the test models. */
static const uint8_t AAGUID_VENDOR[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
	0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x01 };
static const uint8_t AAGUID_MDS[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
	0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x02 };
static const uint8_t AAGUID_REVOKED[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
	0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x03 };
static const uint8_t AAGUID_CHROMIUM[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

/* Made once for the whole run (RSA keys are slow). */
static struct pki {
	struct ca vendor_root, other_root, tpm_root, android_root, apple_root, mds_root, mds_vendor;
	struct signer vendor, untrusted, mds_model, mds_revoked, mds_noext, expired;
	EVP_PKEY *aik_key;
	X509 *aik, *aik_no_eku;
	EVP_PKEY *mds_signer_key;
	X509 *mds_signer;
} pki;

static void
signer_make(struct signer *s, const struct ca *issuer, const uint8_t *aaguid, long nb, long na)
{
	s->key = keygen(-7);
	s->aaguid = aaguid;
	s->chain[0] = cert_issue(issuer, s->key, &(struct cert_opts){ .subject = PACKED_SUBJECT,
	    .aaguid = aaguid, .not_before = nb, .not_after = na });
	s->chain[1] = X509_dup(issuer->cert);
	s->n = 2;
}

static void
signer_free(struct signer *s)
{
	int i;

	EVP_PKEY_free(s->key);
	for (i = 0; i < s->n; i++)
		X509_free(s->chain[i]);
	memset(s, 0, sizeof(*s));
}

static int
pki_setup(void **state)
{
	(void)state;
	ca_make(&pki.vendor_root, "Test Vendor Attestation Root");
	ca_make(&pki.other_root, "Someone Else's Root");
	ca_make(&pki.tpm_root, "Test TPM Root");
	ca_make(&pki.android_root, "Test Android Root");
	ca_make(&pki.apple_root, "Test Apple WebAuthn Root");
	ca_make(&pki.mds_root, "Test FIDO MDS Root");
	ca_make(&pki.mds_vendor, "Test MDS-listed Vendor Root");
	signer_make(&pki.vendor, &pki.vendor_root, AAGUID_VENDOR, 0, 0);
	signer_make(&pki.untrusted, &pki.other_root, NULL, 0, 0);
	signer_make(&pki.mds_model, &pki.mds_vendor, AAGUID_MDS, 0, 0);
	signer_make(&pki.mds_revoked, &pki.mds_vendor, AAGUID_REVOKED, 0, 0);
	signer_make(&pki.mds_noext, &pki.mds_vendor, NULL, 0, 0);
	signer_make(&pki.expired, &pki.vendor_root, NULL, -7200, -3600);
	pki.aik_key = keygen(-257);
	pki.aik = cert_issue(&pki.tpm_root, pki.aik_key, &(struct cert_opts){ .subject = "",
	    .eku = "2.23.133.8.3", .tpm_san = 1 });
	pki.aik_no_eku = cert_issue(&pki.tpm_root, pki.aik_key, &(struct cert_opts){ .subject = "",
	    .tpm_san = 1 });
	pki.mds_signer_key = keygen(-7);
	pki.mds_signer = cert_issue(&pki.mds_root, pki.mds_signer_key, &(struct cert_opts){
	    .subject = "C=US/O=Test FIDO Alliance/CN=mds.test" });
	return 0;
}

static int
pki_teardown(void **state)
{
	(void)state;
	ca_free(&pki.vendor_root);
	ca_free(&pki.other_root);
	ca_free(&pki.tpm_root);
	ca_free(&pki.android_root);
	ca_free(&pki.apple_root);
	ca_free(&pki.mds_root);
	ca_free(&pki.mds_vendor);
	signer_free(&pki.vendor);
	signer_free(&pki.untrusted);
	signer_free(&pki.mds_model);
	signer_free(&pki.mds_revoked);
	signer_free(&pki.mds_noext);
	signer_free(&pki.expired);
	EVP_PKEY_free(pki.aik_key);
	X509_free(pki.aik);
	X509_free(pki.aik_no_eku);
	EVP_PKEY_free(pki.mds_signer_key);
	X509_free(pki.mds_signer);
	return 0;
}

/* A self-signed attestation certificate for key k (DER), subject "C=../O=..". */
static size_t
att_cert_named(EVP_PKEY *k, const char *subject, uint8_t **der)
{
	X509 *x = cert_issue(NULL, k, &(struct cert_opts){ .subject = subject });
	size_t n = der_of(x, der);

	X509_free(x);
	return n;
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

/* ---------------------------------------------------------------- statement builders */

/* A DER TLV with a one- or two-byte length into out; its length. */
static size_t
tlv(uint8_t *out, const uint8_t *tag, size_t tl, const uint8_t *val, size_t n)
{
	size_t k = 0;

	memcpy(out, tag, tl);
	k = tl;
	if (n < 128) {
		out[k++] = (uint8_t)n;
	} else {
		assert_true(n < 256);
		out[k++] = 0x81;
		out[k++] = (uint8_t)n;
	}
	if (n > 0)
		memmove(out + k, val, n);
	return k + n;
}

enum android_variant { AK_TEE, AK_SOFTWARE, AK_ALL_APPS, AK_OTHER_CHALLENGE };

/* Android's KeyDescription for a key made for challenge cdh. */
static size_t
android_kd(const uint8_t cdh[32], enum android_variant v, uint8_t *out)
{
	static const uint8_t seq[] = { 0x30 }, set[] = { 0x31 }, ctx1[] = { 0xa1 },
	    ctx702[] = { 0xbf, 0x85, 0x3e }, ctx600[] = { 0xbf, 0x84, 0x58 }, os[] = { 0x04 };
	static const uint8_t sign_purpose[] = { 0x02, 0x01, 0x02 }, generated[] = { 0x02, 0x01, 0x00 },
	    null[] = { 0x05, 0x00 };
	uint8_t list[64], sw[96], tee[96], body[256], t[32], challenge[32];
	size_t ln = 0, swn = 0, teen = 0, n = 0, k;

	memcpy(challenge, cdh, 32);
	if (v == AK_OTHER_CHALLENGE)
		challenge[0] ^= 1;
	/* the list that says: a signing key generated in the keystore */
	k = tlv(t, set, 1, sign_purpose, sizeof(sign_purpose));
	ln += tlv(list + ln, ctx1, 1, t, k);
	ln += tlv(list + ln, ctx702, 3, generated, sizeof(generated));
	if (v == AK_ALL_APPS)
		ln += tlv(list + ln, ctx600, 3, null, sizeof(null));
	swn = tlv(sw, seq, 1, v == AK_SOFTWARE ? list : NULL, v == AK_SOFTWARE ? ln : 0);
	teen = tlv(tee, seq, 1, v == AK_SOFTWARE ? NULL : list, v == AK_SOFTWARE ? 0 : ln);
	memcpy(body + n, "\x02\x01\x03\x0a\x01", 5);	/* attestationVersion 3, level: */
	n += 5;
	body[n++] = v == AK_SOFTWARE ? 0 : 1;		/* Software / TrustedEnvironment */
	memcpy(body + n, "\x02\x01\x04\x0a\x01", 5);
	n += 5;
	body[n++] = v == AK_SOFTWARE ? 0 : 1;
	n += tlv(body + n, os, 1, challenge, 32);
	n += tlv(body + n, os, 1, NULL, 0);		/* uniqueId */
	memcpy(body + n, sw, swn);
	n += swn;
	memcpy(body + n, tee, teen);
	n += teen;
	return tlv(out, seq, 1, body, n);
}

static void
be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* TPMT_PUBLIC of the credential key (RSA-2048 or P-256). */
static size_t
tpm_pub_area(EVP_PKEY *k, uint8_t *out)
{
	size_t n = 0;
	int rsa = EVP_PKEY_is_a(k, "RSA");

	be16(out, rsa ? 0x0001 : 0x0023);
	be16(out + 2, 0x000b);			/* nameAlg SHA-256 */
	memcpy(out + 4, "\x00\x06\x04\x72", 4);	/* objectAttributes */
	be16(out + 8, 0);			/* authPolicy: empty */
	n = 10;
	be16(out + n, 0x0010);			/* symmetric: null */
	be16(out + n + 2, 0x0010);		/* scheme: null */
	n += 4;
	if (rsa) {
		be16(out + n, 2048);
		memset(out + n + 2, 0, 4);	/* exponent 0: 65537 */
		be16(out + n + 6, 256);
		bn_param(k, OSSL_PKEY_PARAM_RSA_N, out + n + 8, 256);
		n += 8 + 256;
	} else {
		be16(out + n, 0x0003);		/* NIST P-256 */
		be16(out + n + 2, 0x0010);	/* kdf: null */
		be16(out + n + 4, 32);
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, out + n + 6, 32);
		be16(out + n + 38, 32);
		bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, out + n + 40, 32);
		n += 72;
	}
	return n;
}

enum tpm_variant { TPM_GOOD, TPM_OTHER_EXTRA, TPM_OTHER_KEY, TPM_NO_EKU };

/* TPMS_ATTEST certifying pub_area, over attToBeSigned (msg). */
static size_t
tpm_cert_info(const uint8_t *msg, size_t mn, const uint8_t *pub, size_t pn, enum tpm_variant v,
              uint8_t *out)
{
	size_t n = 0;

	memcpy(out, "\xff\x54\x43\x47\x80\x17", 6);	/* TPM_GENERATED_VALUE, ATTEST_CERTIFY */
	n = 6;
	be16(out + n, 34);				/* qualifiedSigner */
	be16(out + n + 2, 0x000b);
	memset(out + n + 4, 0x5a, 32);
	n += 36;
	be16(out + n, 32);				/* extraData = SHA-256(attToBeSigned) */
	sha256(msg, mn, out + n + 2);
	if (v == TPM_OTHER_EXTRA)
		out[n + 2] ^= 1;
	n += 34;
	memset(out + n, 0, 17 + 8);			/* clockInfo, firmwareVersion */
	n += 25;
	be16(out + n, 34);				/* name = nameAlg || SHA-256(pubArea) */
	be16(out + n + 2, 0x000b);
	sha256(pub, pn, out + n + 4);
	n += 36;
	be16(out + n, 34);				/* qualifiedName */
	be16(out + n + 2, 0x000b);
	memset(out + n + 4, 0x6b, 32);
	n += 36;
	return n;
}

/* A certificate of the credential key itself, issued by issuer, carrying
 * one extension (Android's key description, Apple's nonce). */
static size_t
cred_cert(EVP_PKEY *key, const struct ca *issuer, const char *oid, const uint8_t *der, size_t dn,
          uint8_t **out)
{
	X509 *x = cert_issue(issuer, key, &(struct cert_opts){ .subject = "CN=Credential",
	    .ext_oid = oid, .ext_der = der, .ext_der_len = dn });
	size_t n = der_of(x, out);

	X509_free(x);
	return n;
}

static cbor_item_t *
x5c_of(uint8_t *const *der, const size_t *len, int n)
{
	cbor_item_t *arr = cbor_new_definite_array((size_t)n);
	int i;

	for (i = 0; i < n; i++)
		assert_true(cbor_array_push(arr, cbor_move(cbor_build_bytestring(der[i], len[i]))));
	return arr;
}

enum fmt { F_NONE, F_SELF, F_X5C, F_U2F, F_CHAIN, F_TPM, F_ANDROID, F_APPLE, F_SAFETYNET };

struct reg_opts {
	enum fmt fmt;
	const char *type, *challenge, *origin, *rp_id;
	const char *subject;       /* F_X5C: the self-signed certificate's subject */
	const struct signer *signer; /* F_CHAIN: who signs, and the chain sent */
	const uint8_t *aaguid;     /* the model (default: the authenticator's) */
	enum tpm_variant tpm;
	enum android_variant android;
	int apple_other_nonce, other_key;
	uint8_t flags;
	int tamper_sig;
};

/* A registration as the browser posts it: client_data and attestation_object (base64url). */
static void
make_reg(struct authr *a, const struct reg_opts *o, char **cd_out, char **ao_out)
{
	uint8_t ad[2048], msg[2200], cdh[32], sig[512], *der[3] = { NULL }, *ao;
	size_t adl, sl = 0, dl[3] = { 0 }, aol, cdl = 0;
	char *cd = client_data(o->type ? o->type : "webauthn.create", o->challenge,
	    o->origin ? o->origin : ORIGIN, ",\"other_keys_can_be_added_here\":\"x\"");
	uint8_t *cdraw = b64url_decode_alloc(cd, strlen(cd), &cdl);
	cbor_item_t *m = cbor_new_definite_map(3), *st;
	EVP_PKEY *ak = NULL;
	const char *fmt = "packed";
	int nder = 0, i;

	sha256(cdraw, cdl, cdh);
	free(cdraw);
	if (o->aaguid != NULL)
		memcpy(a->aaguid, o->aaguid, 16);
	else if (o->fmt == F_CHAIN && o->signer->aaguid != NULL)
		memcpy(a->aaguid, o->signer->aaguid, 16);
	adl = authdata(a, o->rp_id ? o->rp_id : RP_ID, o->flags, 1, ad);
	memcpy(msg, ad, adl);
	memcpy(msg + adl, cdh, 32);
	switch (o->fmt) {
	case F_NONE:
		fmt = "none";
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
		dl[0] = o->subject != NULL ? att_cert_named(ak, o->subject, &der[0]) : att_cert(ak, &der[0]);
		nder = 1;
		sl = sign(ak, msg, adl + 32, sig);
		st = cbor_new_definite_map(3);
		map_add(st, cbor_build_string("alg"), cbor_neg(-7));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, 1));
		break;
	case F_CHAIN:
		for (nder = 0; nder < o->signer->n; nder++)
			dl[nder] = der_of(o->signer->chain[nder], &der[nder]);
		sl = sign(o->signer->key, msg, adl + 32, sig);
		st = cbor_new_definite_map(3);
		map_add(st, cbor_build_string("alg"), cbor_neg(-7));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, nder));
		break;
	case F_TPM: {
		uint8_t pub[400], info[300];
		size_t pn, in;
		EVP_PKEY *other = o->tpm == TPM_OTHER_KEY ? keygen(a->alg) : NULL;

		fmt = "tpm";
		pn = tpm_pub_area(other != NULL ? other : a->key, pub);
		EVP_PKEY_free(other);
		in = tpm_cert_info(msg, adl + 32, pub, pn, o->tpm, info);
		sl = sign(pki.aik_key, info, in, sig);
		dl[0] = der_of(o->tpm == TPM_NO_EKU ? pki.aik_no_eku : pki.aik, &der[0]);
		dl[1] = der_of(pki.tpm_root.cert, &der[1]);
		nder = 2;
		st = cbor_new_definite_map(6);
		map_add(st, cbor_build_string("ver"), cbor_build_string("2.0"));
		map_add(st, cbor_build_string("alg"), cbor_neg(-257));
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, nder));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		map_add(st, cbor_build_string("certInfo"), cbor_build_bytestring(info, in));
		map_add(st, cbor_build_string("pubArea"), cbor_build_bytestring(pub, pn));
		break;
	}
	case F_ANDROID: {
		uint8_t kd[300];
		size_t kn = android_kd(cdh, o->android, kd);
		EVP_PKEY *other = o->other_key ? keygen(a->alg) : NULL;

		fmt = "android-key";
		dl[0] = cred_cert(other != NULL ? other : a->key, &pki.android_root,
		    "1.3.6.1.4.1.11129.2.1.17", kd, kn, &der[0]);
		EVP_PKEY_free(other);
		dl[1] = der_of(pki.android_root.cert, &der[1]);
		nder = 2;
		sl = sign(a->key, msg, adl + 32, sig);
		st = cbor_new_definite_map(3);
		map_add(st, cbor_build_string("alg"), cbor_neg(a->alg));
		map_add(st, cbor_build_string("sig"), cbor_build_bytestring(sig, sl));
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, nder));
		break;
	}
	case F_APPLE: {
		uint8_t ext[38] = { 0x30, 36, 0xa1, 34, 0x04, 32 };
		EVP_PKEY *other = o->other_key ? keygen(a->alg) : NULL;

		fmt = "apple";
		sha256(msg, adl + 32, ext + 6);
		if (o->apple_other_nonce)
			ext[6] ^= 1;
		dl[0] = cred_cert(other != NULL ? other : a->key, &pki.apple_root,
		    "1.2.840.113635.100.8.2", ext, sizeof(ext), &der[0]);
		EVP_PKEY_free(other);
		dl[1] = der_of(pki.apple_root.cert, &der[1]);
		nder = 2;
		st = cbor_new_definite_map(1);
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, nder));
		break;
	}
	case F_SAFETYNET:
		fmt = "android-safetynet";
		st = cbor_new_definite_map(2);
		map_add(st, cbor_build_string("ver"), cbor_build_string("12345"));
		map_add(st, cbor_build_string("response"), cbor_build_bytestring((const uint8_t *)"e30.e30.AA", 10));
		break;
	default: {
		/* FIDO U2F: 0x00 || rpIdHash || cdh || credId || 0x04 || x || y */
		uint8_t u[1 + 32 + 32 + 32 + 65];
		size_t un = 0;

		fmt = "fido-u2f";
		ak = keygen(-7);
		dl[0] = att_cert(ak, &der[0]);
		nder = 1;
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
		map_add(st, cbor_build_string("x5c"), x5c_of(der, dl, 1));
		break;
	}
	}
	if (o->tamper_sig && sl > 0) {
		/* one flipped byte in the signature */
		struct cbor_pair *pp = cbor_map_handle(st);
		size_t k;

		for (k = 0; k < cbor_map_size(st); k++)
			if (cbor_isa_string(pp[k].key) && cbor_string_length(pp[k].key) == 3 &&
			    memcmp(cbor_string_handle(pp[k].key), "sig", 3) == 0)
				cbor_bytestring_handle(pp[k].value)[cbor_bytestring_length(pp[k].value) / 2] ^= 1;
	}
	map_add(m, cbor_build_string("fmt"), cbor_build_string(fmt));
	map_add(m, cbor_build_string("attStmt"), st);
	map_add(m, cbor_build_string("authData"), cbor_build_bytestring(ad, adl));
	aol = cbor_out(m, &ao);
	seed_write(ao, aol);
	*cd_out = cd;
	*ao_out = b64(ao, aol);
	free(ao);
	for (i = 0; i < 3; i++)
		OPENSSL_free(der[i]);
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

/* The trust configuration of a test: which roots (NULL-terminated) are in
 * attestation_roots, and the other [webauthn] trust keys. */
struct trust_opts {
	const struct ca *roots[4];
	const char *mds_blob, *mds_root, *hardware, *denied, *synced;
};

static int
trust(struct fx *f, const struct trust_opts *t, char *err, size_t errsz)
{
	char path[FX_DIR_MAX + 32];
	FILE *fp;
	int i, rc;

	conf_default(&f->conf);
	if (t->roots[0] != NULL) {
		snprintf(path, sizeof(path), "%s/roots.pem", f->dir);
		assert_non_null(fp = fopen(path, "w"));
		for (i = 0; i < 4 && t->roots[i] != NULL; i++)
			assert_int_equal(PEM_write_X509(fp, t->roots[i]->cert), 1);
		fclose(fp);
		f->conf.webauthn_attestation_roots = strdup(path);
	}
	f->conf.webauthn_mds_blob = (char *)t->mds_blob;
	f->conf.webauthn_mds_root = (char *)t->mds_root;
	f->conf.webauthn_hardware_aaguids = (char *)t->hardware;
	f->conf.webauthn_denied_aaguids = (char *)t->denied;
	f->conf.webauthn_synced_passkeys = (char *)t->synced;
	rc = webauthn_configure(&f->conf, err, errsz);
	free(f->conf.webauthn_attestation_roots);
	f->conf.webauthn_attestation_roots = NULL;
	return rc;
}

static void
trust_ok(struct fx *f, const struct trust_opts *t)
{
	char err[512] = "";

	if (trust(f, t, err, sizeof(err)) != 0)
		fail_msg("webauthn_configure: %s", err);
}

static char *
b64std(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 4 / 3 + 8);

	assert_non_null(s);
	b64std_encode(s, p, n);
	return s;
}

static char *
cert_b64std(X509 *x)
{
	uint8_t *der;
	size_t n = der_of(x, &der);
	char *s = b64std(der, n);

	OPENSSL_free(der);
	return s;
}

/* "YYYY-MM-DD" days from today (UTC). */
static void
date_in(long days, char out[11])
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

enum blob_variant { BLOB_GOOD, BLOB_BAD_SIG, BLOB_STALE, BLOB_OTHER_ROOT };

/* An MDS3 BLOB (ES256 JWT, x5c = the test MDS signer) listing the test
 * models: AAGUID_MDS certified, AAGUID_REVOKED revoked, both rooted at the
 * MDS-listed vendor root; written to DIR/mds.jwt, its root to DIR/mds-root.pem. */
static void
blob_write(struct fx *f, enum blob_variant v, char path[FX_DIR_MAX + 32], char root[FX_DIR_MAX + 32])
{
	char next[11], hex1[33], hex2[33], *vroot = cert_b64std(pki.mds_vendor.cert);
	char *signer = cert_b64std(pki.mds_signer), *hdr, *pay, *input, *sig64, *jwt;
	uint8_t der[128], raw[64];
	size_t dl = sizeof(der);
	json_t *h, *p;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	const unsigned char *dp = der;
	FILE *fp;
	struct ca *r = v == BLOB_OTHER_ROOT ? &pki.other_root : &pki.mds_root;

	date_in(v == BLOB_STALE ? -3 : 30, next);
	hex_encode(hex1, AAGUID_MDS, 16);
	hex_encode(hex2, AAGUID_REVOKED, 16);
	/* the AAGUIDs in their dashed form, as the MDS writes them */
	h = json_pack("{s:s, s:s, s:[s]}", "alg", "ES256", "typ", "JWT", "x5c", signer);
	p = json_pack("{s:s, s:i, s:s, s:[{s:s, s:{s:s, s:[s]}, s:[{s:s, s:s}]},"
	    " {s:s, s:{s:s, s:[s]}, s:[{s:s, s:s}, {s:s, s:s}]}, {s:s, s:[]}]}",
	    "legalHeader", "test", "no", 42, "nextUpdate", next, "entries",
	    "aaguid", hex1, "metadataStatement", "description", "Test MDS Key",
	    "attestationRootCertificates", vroot, "statusReports", "status", "FIDO_CERTIFIED_L1",
	    "effectiveDate", "2020-01-01",
	    "aaguid", hex2, "metadataStatement", "description", "Test Revoked Key",
	    "attestationRootCertificates", vroot, "statusReports", "status", "FIDO_CERTIFIED_L1",
	    "effectiveDate", "2020-01-01", "status", "REVOKED", "effectiveDate", "2021-06-01",
	    "aaid", "4e4e#4005", "statusReports");
	assert_non_null(h);
	assert_non_null(p);
	{
		/* dashes: 8-4-4-4-12 */
		json_t *e = json_array_get(json_object_get(p, "entries"), 0);
		char d[37];

		snprintf(d, sizeof(d), "%.8s-%.4s-%.4s-%.4s-%.12s", hex1, hex1 + 8, hex1 + 12,
		    hex1 + 16, hex1 + 20);
		json_object_set_new(e, "aaguid", json_string(d));
	}
	hdr = json_dumps(h, JSON_COMPACT);
	pay = json_dumps(p, JSON_COMPACT);
	{
		char *h64 = b64((const uint8_t *)hdr, strlen(hdr)), *p64 = b64((const uint8_t *)pay,
		    strlen(pay));

		input = malloc(strlen(h64) + strlen(p64) + 2);
		sprintf(input, "%s.%s", h64, p64);
		free(h64);
		free(p64);
	}
	assert_int_equal(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, pki.mds_signer_key), 1);
	assert_int_equal(EVP_DigestSign(c, der, &dl, (const uint8_t *)input, strlen(input)), 1);
	EVP_MD_CTX_free(c);
	es = d2i_ECDSA_SIG(NULL, &dp, (long)dl);
	assert_non_null(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ECDSA_SIG_free(es);
	if (v == BLOB_BAD_SIG)
		raw[10] ^= 1;
	sig64 = b64(raw, 64);
	jwt = malloc(strlen(input) + strlen(sig64) + 3);
	sprintf(jwt, "%s.%s\n", input, sig64);
	snprintf(path, FX_DIR_MAX + 32, "%s/mds.jwt", f->dir);
	snprintf(root, FX_DIR_MAX + 32, "%s/mds-root.pem", f->dir);
	assert_int_equal(fx_write_file(path, jwt), 0);
	assert_non_null(fp = fopen(root, "w"));
	assert_int_equal(PEM_write_X509(fp, r->cert), 1);
	fclose(fp);
	free(jwt);
	free(sig64);
	free(input);
	free(hdr);
	free(pay);
	free(signer);
	free(vroot);
	json_decref(h);
	json_decref(p);
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

static const char *
att_of(const json_t *rec)
{
	return json_string_value(json_object_get(rec, "att"));
}

/* Every format registers and records its evidence; with no trusted root
 * configured, none of them is hardware. */
static void
test_register_formats(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;
	static const int algs[] = { -7, -8, -257 };
	const char *why = NULL;
	size_t i;

	for (i = 0; i < 3; i++) {
		authr_init(&a, algs[i], 1);
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		assert_int_equal(json_integer_value(json_object_get(rec, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "none");
		assert_string_equal(att_of(rec), "none");
		assert_null(json_object_get(rec, "x5c"));
		assert_false(json_is_true(json_object_get(rec, "be")));
		assert_false(json_is_true(json_object_get(rec, "bs")));
		assert_string_equal(json_string_value(json_object_get(rec, "aaguid")),
		    "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
		assert_false(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "none");
		json_decref(rec);
		/* packed self attestation: signed by the credential key, still "swk" */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_SELF, .flags = WA_FLAG_UP |
		    WA_FLAG_UV }, 1, &rec), WA_OK);
		assert_string_equal(att_of(rec), "self");
		assert_true(json_is_true(json_object_get(rec, "uv")));
		assert_false(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "self");
		json_decref(rec);
		/* packed with a chain: kept as the evidence; no root trusted here */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
		    .flags = WA_FLAG_UP }, 0, &rec), WA_OK);
		assert_string_equal(att_of(rec), "basic");
		assert_int_equal(json_array_size(json_object_get(rec, "x5c")), 2);
		assert_false(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "nochain");
		json_decref(rec);
		/* a self-signed certificate that breaks §8.2.1 (no C, O, OU): the
		 * signature is good, the statement vouches for nothing */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_X5C, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		assert_string_equal(att_of(rec), "unverified");
		assert_non_null(strstr(json_string_value(json_object_get(rec, "att_note")), "subject"));
		assert_false(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "unverified");
		json_decref(rec);
		authr_free(&a);
	}
	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_U2F, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	assert_string_equal(att_of(rec), "basic");
	assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "fido-u2f");
	assert_false(webauthn_cred_hardware(rec, NULL));
	json_decref(rec);
	/* a format authd does not verify registers as an unattested passkey, with a note */
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_SAFETYNET, .flags = WA_FLAG_UP }, 0,
	    &rec), WA_OK);
	assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "android-safetynet");
	assert_string_equal(att_of(rec), "unverified");
	assert_non_null(strstr(json_string_value(json_object_get(rec, "att_note")), "not verified"));
	assert_false(webauthn_cred_hardware(rec, NULL));
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

static int
w_fail_commit(struct store_txn *t, void *arg)
{
	struct proof *p = arg;

	return p->commit(t, p->commit_arg, 0);
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
	/* What the method asked to store with a failed step, as the sign-in core
	 * does in the write that records it. */
	if (rc == METHOD_FAIL && p->commit != NULL)
		assert_int_equal(store_write_sync(f->s, w_fail_commit, p), STORE_OK);
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
	json_decref(p->commit_arg);
	memset(p, 0, sizeof(*p));
}

static int
w_store_update(struct store_txn *t, void *arg)
{
	return signin_cred_update(t, arg) == STORE_OK ? STORE_OK : STORE_CONFLICT;
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

	/* a security key whose attestation chains to a root the operator trusts */
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&hw, -7, 1);
	authr_init(&sw, -8, 0);
	json_decref(enrol_opts(f, &hw, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .flags = WA_FLAG_UP | WA_FLAG_UV }));
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
	assert_int_equal(p.props, PROP_PHISHING_RESISTANT | PROP_HARDWARE | PROP_REPLAY_RESISTANT |
	    PROP_HW_VERIFIED);
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
	    .aaguid = AAGUID_CHROMIUM, .flags = WA_FLAG_UP | WA_FLAG_UV }));
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


/* ---------------------------------------------------------------- what counts as hardware */

/* login_with's proof for a's key with UV (and extra flags): the level it
 * gives alone. */
static int
level_alone_flags(struct fx *f, struct authr *a, uint8_t extra, unsigned *amr)
{
	struct proof p = { 0 };
	json_t *st = NULL;
	int level;

	assert_int_equal(login_with(f, a, NULL, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV |
	    extra }, NULL, &st, &p), METHOD_OK);
	level = policy_level_of(p.amr, p.factors, p.props);
	if (amr != NULL)
		*amr = p.amr;
	proof_clear(&p);
	json_decref(st);
	return level;
}

static int
level_alone(struct fx *f, struct authr *a, unsigned *amr)
{
	return level_alone_flags(f, a, 0, amr);
}

/* A statement from a test root listed in attestation_roots: hardware (hwk),
 * AAL3 alone with UV. One from a root nobody listed: a passkey, AAL2. */
static void
test_trusted_root_is_hardware(void **state)
{
	struct fx *f = *state;
	struct authr a, b;
	json_t *rec;
	const char *why = NULL;
	unsigned amr = 0;

	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&a, -7, 1);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .aaguid = AAGUID_VENDOR, .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_true(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "root");
	json_decref(rec);
	assert_int_equal(level_alone(f, &a, &amr), AAL3);
	assert_true(amr & AMR_HWK);
	assert_false(amr & AMR_SWK);

	authr_init(&b, -7, 1);
	rec = enrol_opts(f, &b, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.untrusted,
	    .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "nochain");
	json_decref(rec);
	assert_int_equal(level_alone(f, &b, &amr), AAL2);
	assert_true(amr & AMR_SWK);
	authr_free(&b);

	/* an attestation certificate already expired when registered */
	authr_init(&b, -7, 1);
	rec = enrol_opts(f, &b, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.expired,
	    .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "nochain");
	json_decref(rec);
	authr_free(&b);

	/* The virtual authenticator's self-signed batch certificate counts only
	 * when the operator lists that very certificate (what the e2e test does
	 * to reach AAL3 with it). */
	{
		struct signer self = { .key = keygen(-7), .n = 1 };
		struct ca as_root;

		self.chain[0] = cert_issue(NULL, self.key, &(struct cert_opts){ .subject = CHROMIUM_BATCH });
		as_root.cert = self.chain[0];
		authr_init(&b, -7, 0);
		rec = enrol_opts(f, &b, (struct reg_opts){ .fmt = F_CHAIN, .signer = &self,
		    .aaguid = AAGUID_CHROMIUM, .flags = WA_FLAG_UP | WA_FLAG_UV });
		assert_false(webauthn_cred_hardware(rec, NULL));
		trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root, &as_root } });
		assert_true(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "root");
		assert_int_equal(level_alone(f, &b, NULL), AAL3);
		json_decref(rec);
		authr_free(&b);
		signer_free(&self);
	}
	authr_free(&a);
}

/* The verdict is made from the record every time: keys registered under one
 * trust configuration are judged by the next (a root withdrawn; a model left
 * off hardware_aaguids), and records from before chains were kept (marked
 * "attested") are passkeys. */
static void
test_reevaluated_on_load(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec, *old;
	const char *why = NULL;
	char hex[33], list[80];
	struct store_txn *t;

	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&a, -7, 1);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .aaguid = AAGUID_VENDOR, .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_int_equal(level_alone(f, &a, NULL), AAL3);
	/* the root is withdrawn: the same stored key is a passkey now */
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.other_root } });
	assert_int_equal(level_alone(f, &a, NULL), AAL2);
	t = store_read_begin(f->s);
	assert_int_equal(webauthn_reachable_level(t, f->uid, NULL), AAL2);
	store_read_end(t);
	/* only listed models count as hardware */
	hex_encode(hex, AAGUID_MDS, 16);
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root }, .hardware = hex });
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "notlisted");
	assert_int_equal(level_alone(f, &a, NULL), AAL2);
	hex_encode(hex, AAGUID_VENDOR, 16);
	snprintf(list, sizeof(list), "%.8s-%.4s-%.4s-%.4s-%.12s, 00000000000000000000000000000001",
	    hex, hex + 8, hex + 12, hex + 16, hex + 20);
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root }, .hardware = list });
	assert_true(webauthn_cred_hardware(rec, &why));
	assert_int_equal(level_alone(f, &a, NULL), AAL3);
	/* a record written before this change: "attested" and no chain */
	old = json_deep_copy(rec);
	json_object_del(old, "att");
	json_object_del(old, "x5c");
	json_object_set_new(old, "attested", json_true());
	assert_false(webauthn_cred_hardware(old, &why));
	assert_string_equal(why, "legacy");
	json_decref(old);
	json_decref(rec);
	authr_free(&a);
}

/* An AAGUID on denied_aaguids: refused at registration with a clear message,
 * whatever the statement; a key of that model registered before the deny
 * cannot sign in any more (its holder is told why) and no longer counts. */
static void
test_denied_aaguid(void **state)
{
	struct fx *f = *state;
	struct authr a;
	struct proof p = { 0 };
	json_t *rec = NULL, *st = NULL;
	char hex[33];
	struct store_txn *t;

	hex_encode(hex, AAGUID_VENDOR, 16);
	authr_init(&a, -7, 1);
	/* registered while the model was fine */
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	json_decref(enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .aaguid = AAGUID_VENDOR, .flags = WA_FLAG_UP | WA_FLAG_UV }));
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root }, .denied = hex });
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .aaguid = AAGUID_VENDOR, .flags = WA_FLAG_UP | WA_FLAG_UV }, 0, &rec), WA_DENIED);
	assert_null(rec);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_NONE, .aaguid = AAGUID_VENDOR,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_DENIED);
	assert_string_equal(webauthn_strerror(WA_DENIED), "this model of key is denied");
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV },
	    NULL, &st, &p), METHOD_FAIL);
	assert_non_null(p.error_key);
	assert_non_null(strstr(fx_text("en", p.error_key), "no longer accepted"));
	assert_string_not_equal(fx_text("zh-TW", p.error_key), p.error_key);
	json_decref(st);
	t = store_read_begin(f->s);
	assert_false(method_webauthn.enrolled(t, f->uid));
	assert_int_equal(webauthn_reachable_level(t, f->uid, NULL), AAL_NONE);
	store_read_end(t);
	/* other models are not affected */
	{
		struct authr b;

		authr_init(&b, -7, 1);
		assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0,
		    &rec), WA_OK);
		json_decref(rec);
		authr_free(&b);
	}
	authr_free(&a);
}

/* Backup eligible (BE) credentials are synced passkeys: never hardware, even
 * with a trusted chain; synced_passkeys = aal1 does not count their UV, and
 * refuse refuses them. BS without BE, or a BE that changed since
 * registration, is refused (WebAuthn L3 §7.1, §7.2). */
static void
test_synced_passkeys(void **state)
{
	struct fx *f = *state;
	struct authr a, b;
	json_t *rec = NULL, *st = NULL;
	struct proof p = { 0 };
	const char *why = NULL;
	uint32_t count = 0;
	unsigned amr = 0;

	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&a, -7, 0);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .flags = WA_FLAG_UP | WA_FLAG_UV | WA_FLAG_BE | WA_FLAG_BS });
	assert_true(json_is_true(json_object_get(rec, "be")));
	assert_true(json_is_true(json_object_get(rec, "bs")));
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "synced");
	/* BS off now (no longer backed up): fine, and recorded */
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV |
	    WA_FLAG_BE }, NULL, &st, &p), METHOD_OK);
	assert_int_equal(policy_level_of(p.amr, p.factors, p.props), AAL2);
	assert_false(json_is_true(json_object_get(p.cred_update, "bs")));
	assert_true(json_is_true(json_object_get(p.cred_update, "be")));
	proof_clear(&p);
	json_decref(st);
	st = NULL;
	/* BE cleared in an assertion: not the credential that was registered */
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_UV }, 0,
	    &count), WA_BACKUP);
	assert_int_equal(get(f, &a, rec, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_BE |
	    WA_FLAG_BS }, 0, &count), WA_OK);
	json_decref(rec);
	/* a key registered without BE that later claims it */
	authr_init(&b, -7, 0);
	assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	assert_int_equal(get(f, &b, rec, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_BE }, 0,
	    &count), WA_BACKUP);
	json_decref(rec);
	/* a record from before BE was kept learns it at its next sign-in */
	assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	json_object_del(rec, "be");
	json_object_del(rec, "bs");
	assert_int_equal(get(f, &b, rec, (struct get_opts){ .flags = WA_FLAG_UP | WA_FLAG_BE }, 0,
	    &count), WA_OK);
	json_decref(rec);
	authr_free(&b);
	/* BS without BE */
	authr_init(&b, -7, 0);
	assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP |
	    WA_FLAG_BS }, 0, &rec), WA_BACKUP);
	authr_free(&b);

	/* aal1: the synced passkey's UV is not counted; alone it is AAL1 */
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root }, .synced = "aal1" });
	assert_int_equal(level_alone_flags(f, &a, WA_FLAG_BE, &amr), AAL1);
	assert_false(amr & (AMR_USER | AMR_PIN));
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	assert_int_equal(level_alone_flags(f, &a, WA_FLAG_BE, &amr), AAL2);
	/* refuse: no new synced passkey */
	trust_ok(f, &(struct trust_opts){ .synced = "refuse" });
	authr_init(&b, -7, 0);
	assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP |
	    WA_FLAG_BE }, 0, &rec), WA_SYNCED);
	assert_int_equal(reg(f, &b, (struct reg_opts){ .fmt = F_NONE, .flags = WA_FLAG_UP }, 0, &rec),
	    WA_OK);
	json_decref(rec);
	authr_free(&b);
	authr_free(&a);
}

/* tpm (§8.3): the AIK signed a TPM quote over this registration that
 * certifies the credential key; chained to a trusted TPM root it is hardware. */
static void
test_tpm(void **state)
{
	struct fx *f = *state;
	static const int algs[] = { -257, -7 };
	struct authr a;
	json_t *rec = NULL;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < 2; i++) {
		authr_init(&a, algs[i], 1);
		trust_ok(f, &(struct trust_opts){ .roots = { 0 } });
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_TPM, .flags = WA_FLAG_UP |
		    WA_FLAG_UV }, 0, &rec), WA_OK);
		assert_string_equal(json_string_value(json_object_get(rec, "fmt")), "tpm");
		assert_string_equal(att_of(rec), "basic");
		assert_false(webauthn_cred_hardware(rec, &why));
		json_decref(rec);
		trust_ok(f, &(struct trust_opts){ .roots = { &pki.tpm_root } });
		json_decref(enrol_opts(f, &a, (struct reg_opts){ .fmt = F_TPM, .flags = WA_FLAG_UP |
		    WA_FLAG_UV }));
		assert_int_equal(level_alone(f, &a, NULL), AAL3);
		/* a quote over another registration, or of another key: false */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_TPM, .tpm = TPM_OTHER_EXTRA,
		    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_TPM, .tpm = TPM_OTHER_KEY,
		    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_TPM, .tamper_sig = 1,
		    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
		/* an AIK certificate without the AIK key usage: an unattested passkey */
		assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_TPM, .tpm = TPM_NO_EKU,
		    .flags = WA_FLAG_UP }, 0, &rec), WA_OK);
		assert_string_equal(att_of(rec), "unverified");
		assert_non_null(strstr(json_string_value(json_object_get(rec, "att_note")), "tpm:"));
		assert_false(webauthn_cred_hardware(rec, &why));
		assert_string_equal(why, "unverified");
		json_decref(rec);
		authr_free(&a);
	}
	/* the parsers read exactly their input */
	{
		uint8_t pub[400], info[300], msg[64] = { 0 };
		size_t pn, in, k;
		struct wa_tpm_public tp;
		struct wa_tpm_attest ta;
		EVP_PKEY *key = keygen(-7);

		pn = tpm_pub_area(key, pub);
		in = tpm_cert_info(msg, sizeof(msg), pub, pn, TPM_GOOD, info);
		assert_int_equal(wa_tpm_public_parse(pub, pn, &tp), 0);
		assert_int_equal(tp.curve, 3);
		assert_int_equal(tp.unique1_len, 32);
		assert_int_equal(wa_tpm_attest_parse(info, in, &ta), 0);
		assert_int_equal(ta.name_len, 34);
		for (k = 0; k < pn; k++)
			assert_int_equal(wa_tpm_public_parse(pub, k, &tp), -1);
		for (k = 0; k < in; k++)
			assert_int_equal(wa_tpm_attest_parse(info, k, &ta), -1);
		assert_int_equal(wa_tpm_public_parse(pub, pn + 1, &tp), -1);
		EVP_PKEY_free(key);
	}
}

/* android-key (§8.4): the credential key's own certificate, with Android's
 * key description made for this registration, from the secure hardware. */
static void
test_android_key(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;
	const char *why = NULL;

	authr_init(&a, -7, 1);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .flags = WA_FLAG_UP |
	    WA_FLAG_UV }, 0, &rec), WA_OK);
	assert_string_equal(att_of(rec), "basic");
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "nochain");
	json_decref(rec);
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.android_root } });
	json_decref(enrol_opts(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .flags = WA_FLAG_UP |
	    WA_FLAG_UV }));
	assert_int_equal(level_alone(f, &a, NULL), AAL3);
	/* kept in software: registers, but as an unattested passkey */
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .android = AK_SOFTWARE,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_OK);
	assert_string_equal(att_of(rec), "unverified");
	assert_non_null(strstr(json_string_value(json_object_get(rec, "att_note")), "software"));
	assert_false(webauthn_cred_hardware(rec, NULL));
	json_decref(rec);
	/* made for another challenge, usable by every app, another key's
	 * certificate, a bad signature: false statements */
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .android = AK_OTHER_CHALLENGE,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .android = AK_ALL_APPS,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .other_key = 1,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_ANDROID, .tamper_sig = 1,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	/* the key description parser */
	{
		uint8_t kd[300], cdh[32] = { 7 };
		size_t n = android_kd(cdh, AK_TEE, kd), k;
		struct wa_android_kd d;

		assert_int_equal(wa_android_kd_parse(kd, n, &d), 0);
		assert_int_equal(d.attestation_security_level, 1);
		assert_true(d.tee_origin_generated && d.tee_purpose_sign);
		assert_false(d.sw_origin_generated || d.all_applications);
		assert_memory_equal(d.challenge, cdh, 32);
		for (k = 0; k < n; k++)
			assert_int_equal(wa_android_kd_parse(kd, k, &d), -1);
	}
	authr_free(&a);
}

/* apple (§8.8): the anonymisation CA's certificate for the credential key
 * carries SHA-256(authData || clientDataHash). */
static void
test_apple(void **state)
{
	struct fx *f = *state;
	struct authr a;
	json_t *rec = NULL;

	authr_init(&a, -7, 0);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_APPLE, .flags = WA_FLAG_UP |
	    WA_FLAG_UV }, 0, &rec), WA_OK);
	assert_string_equal(att_of(rec), "anonca");
	assert_false(webauthn_cred_hardware(rec, NULL));
	json_decref(rec);
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.apple_root } });
	json_decref(enrol_opts(f, &a, (struct reg_opts){ .fmt = F_APPLE, .flags = WA_FLAG_UP |
	    WA_FLAG_UV }));
	assert_int_equal(level_alone(f, &a, NULL), AAL3);
	/* iCloud Keychain passkeys are synced: never hardware, whatever vouches */
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_APPLE, .flags = WA_FLAG_UP |
	    WA_FLAG_UV | WA_FLAG_BE | WA_FLAG_BS }, 0, &rec), WA_OK);
	assert_false(webauthn_cred_hardware(rec, NULL));
	json_decref(rec);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_APPLE, .apple_other_nonce = 1,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	assert_int_equal(reg(f, &a, (struct reg_opts){ .fmt = F_APPLE, .other_key = 1,
	    .flags = WA_FLAG_UP }, 0, &rec), WA_ATTESTATION);
	authr_free(&a);
}

/* The FIDO MDS BLOB: a good one vouches for its models through their own
 * roots and their status; a bad signature, a stale nextUpdate or a chain to
 * another root stops the configuration with a clear reason. */
static void
test_mds(void **state)
{
	struct fx *f = *state;
	char blob[FX_DIR_MAX + 32], root[FX_DIR_MAX + 32], err[512];
	struct authr a;
	json_t *rec;
	const char *why = NULL;
	struct wa_verdict v;

	blob_write(f, BLOB_GOOD, blob, root);
	trust_ok(f, &(struct trust_opts){ .mds_blob = blob, .mds_root = root });
	authr_init(&a, -7, 1);
	/* a listed model, chained to its MDS roots: hardware */
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.mds_model,
	    .aaguid = AAGUID_MDS, .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_true(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "mds");
	wa_trust_eval(rec, time(NULL), &v);
	assert_non_null(strstr(v.detail, "Test MDS Key"));
	json_decref(rec);
	assert_int_equal(level_alone(f, &a, NULL), AAL3);
	authr_free(&a);
	/* the same root does not vouch for another model (AAGUID) */
	authr_init(&a, -7, 1);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.mds_noext,
	    .aaguid = AAGUID_VENDOR, .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "nochain");
	json_decref(rec);
	authr_free(&a);
	/* a revoked model: not hardware, even if an operator root also vouches */
	trust_ok(f, &(struct trust_opts){ .roots = { &pki.mds_vendor }, .mds_blob = blob,
	    .mds_root = root });
	authr_init(&a, -7, 1);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.mds_revoked,
	    .aaguid = AAGUID_REVOKED, .flags = WA_FLAG_UP | WA_FLAG_UV });
	assert_false(webauthn_cred_hardware(rec, &why));
	assert_string_equal(why, "mds_status");
	wa_trust_eval(rec, time(NULL), &v);
	assert_non_null(strstr(v.detail, "REVOKED"));
	json_decref(rec);
	assert_int_equal(level_alone(f, &a, NULL), AAL2);
	authr_free(&a);

	/* refusals at configuration time (start-up and --check-config) */
	blob_write(f, BLOB_BAD_SIG, blob, root);
	assert_int_equal(trust(f, &(struct trust_opts){ .mds_blob = blob, .mds_root = root }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "signature does not verify"));
	assert_non_null(strstr(err, "mds_blob"));
	blob_write(f, BLOB_STALE, blob, root);
	assert_int_equal(trust(f, &(struct trust_opts){ .mds_blob = blob, .mds_root = root }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "out of date"));
	assert_non_null(strstr(err, "nextUpdate"));
	blob_write(f, BLOB_OTHER_ROOT, blob, root);
	assert_int_equal(trust(f, &(struct trust_opts){ .mds_blob = blob, .mds_root = root }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not chain to mds_root"));
	assert_int_equal(fx_write_file(blob, "not a jwt\n"), 0);
	assert_int_equal(trust(f, &(struct trust_opts){ .mds_blob = blob, .mds_root = root }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a JWT"));
	assert_int_equal(trust(f, &(struct trust_opts){ .mds_blob = blob,
	    .mds_root = "/nonexistent/fido-mds-root.pem" }, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mds_root"));
	/* the method's --check-config hook says the same */
	blob_write(f, BLOB_STALE, blob, root);
	conf_default(&f->conf);
	f->conf.webauthn_mds_blob = blob;
	f->conf.webauthn_mds_root = root;
	assert_non_null(method_webauthn.check);
	assert_int_equal(method_webauthn.check(&f->conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of date"));
	assert_int_equal(methods_check(&f->conf, err, sizeof(err)), -1);
	f->conf.webauthn_mds_blob = NULL;
	f->conf.webauthn_mds_root = NULL;
	assert_int_equal(method_webauthn.check(&f->conf, err, sizeof(err)), 0);
}

/* The MDS payload rules: status in force, compromise, unreadable entries,
 * U2F key identifiers, dates. */
static void
test_mds_payload(void **state)
{
	struct fido_mds *m = NULL;
	char err[256], next[11], json[2048];
	const struct fido_mds_entry *e;
	static const uint8_t a1[16] = { 0xa1 }, a2[16] = { 0xa2 }, a3[16] = { 0xa3 }, a4[16] = { 0xa4 };
	uint8_t kid[20];
	time_t now = time(NULL);

	(void)state;
	date_in(10, next);
	snprintf(json, sizeof(json), "{\"no\":3,\"nextUpdate\":\"%s\",\"entries\":["
	    /* fixed later: UPDATE_AVAILABLE after USER_VERIFICATION_BYPASS */
	    "{\"aaguid\":\"a1000000000000000000000000000000\",\"statusReports\":["
	    "{\"status\":\"USER_VERIFICATION_BYPASS\",\"effectiveDate\":\"2020-01-01\"},"
	    "{\"status\":\"FIDO_CERTIFIED_L2\",\"effectiveDate\":\"2021-01-01\"}]},"
	    /* attestation key compromised once: never trusted again */
	    "{\"aaguid\":\"a2000000000000000000000000000000\",\"statusReports\":["
	    "{\"status\":\"ATTESTATION_KEY_COMPROMISE\",\"effectiveDate\":\"2020-01-01\"},"
	    "{\"status\":\"FIDO_CERTIFIED\",\"effectiveDate\":\"2021-01-01\"}]},"
	    /* a status announced for the future is not in force yet */
	    "{\"aaguid\":\"a3000000-0000-0000-0000-000000000000\",\"statusReports\":["
	    "{\"status\":\"FIDO_CERTIFIED\",\"effectiveDate\":\"2020-01-01\"},"
	    "{\"status\":\"USER_KEY_REMOTE_COMPROMISE\",\"effectiveDate\":\"2999-01-01\"}]},"
	    /* status reports that cannot be read: fail closed */
	    "{\"aaguid\":\"a4000000000000000000000000000000\",\"statusReports\":[{\"status\":7}]},"
	    "{\"attestationCertificateKeyIdentifiers\":[\"%s\"],\"statusReports\":["
	    "{\"status\":\"FIDO_CERTIFIED\"}]},"
	    "{\"aaid\":\"4e4e#4005\",\"statusReports\":[]}]}", next,
	    "00112233445566778899aabbccddeeff00112233");
	assert_int_equal(fido_mds_from_payload(json, strlen(json), now, &m, err, sizeof(err)), 0);
	assert_int_equal(fido_mds_count(m), 5);
	assert_int_equal(fido_mds_serial(m), 3);
	assert_true(fido_mds_current(m, now));
	assert_non_null(e = fido_mds_find_aaguid(m, a1));
	assert_false(e->compromised);
	assert_string_equal(e->status, "FIDO_CERTIFIED_L2");
	assert_non_null(e = fido_mds_find_aaguid(m, a2));
	assert_true(e->compromised);
	assert_non_null(e = fido_mds_find_aaguid(m, a3));
	assert_false(e->compromised);
	assert_string_equal(e->status, "FIDO_CERTIFIED");
	assert_non_null(e = fido_mds_find_aaguid(m, a4));
	assert_true(e->compromised);
	assert_int_equal(hex_decode(kid, 20, "00112233445566778899aabbccddeeff00112233"), 0);
	assert_non_null(fido_mds_find_keyid(m, kid));
	kid[0] ^= 1;
	assert_null(fido_mds_find_keyid(m, kid));
	assert_false(fido_mds_current(m, now + 12 * 86400));
	fido_mds_free(m);
	/* malformed payloads */
	assert_int_equal(fido_mds_from_payload("[]", 2, now, &m, err, sizeof(err)), -1);
	{
		static const char soon[] = "{\"no\":1,\"nextUpdate\":\"soon\",\"entries\":[]}";

		assert_int_equal(fido_mds_from_payload(soon, sizeof(soon) - 1, now, &m, err,
		    sizeof(err)), -1);
	}
	assert_non_null(strstr(err, "not a date"));
	assert_null(m);
	/* dates */
	assert_int_equal(fido_mds_date("1970-01-02"), 86400);
	assert_int_equal(fido_mds_date("2024-13-01"), -1);
	assert_int_equal(fido_mds_date("2024-1-01x"), -1);
	assert_int_equal(fido_mds_date(NULL), -1);
}

/* The trust keys are checked when the method is configured. */
static void
test_trust_config(void **state)
{
	struct fx *f = *state;
	char err[512];
	uint8_t (*list)[16] = NULL;
	size_t n = 0;

	assert_int_equal(trust(f, &(struct trust_opts){ .synced = "sometimes" }, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "synced_passkeys"));
	assert_int_equal(trust(f, &(struct trust_opts){ .denied = "not-an-aaguid" }, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "denied_aaguids"));
	assert_int_equal(trust(f, &(struct trust_opts){ .hardware = "0123" }, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hardware_aaguids"));
	conf_default(&f->conf);
	f->conf.webauthn_attestation_roots = (char *)"/nonexistent/roots.pem";
	assert_int_equal(webauthn_configure(&f->conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "attestation_roots"));
	f->conf.webauthn_attestation_roots = NULL;
	assert_int_equal(wa_aaguid_list("  ", &list, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(wa_aaguid_list("cb69481e-8ff7-4039-93ec-0a2729a154a8,"
	    "ee882879721c491397753dfcce97072a", &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[1][0], 0xee);
	free(list);
	assert_int_equal(wa_aaguid_list("cb69481e-8ff7-4039-93ec-0a2729a154a8a", &list, &n), -1);
}

/* Choosing a step-up (signin_next_method): after a passkey sign-in (swk),
 * WebAuthn is not asked for again for an AAL3 app unless one of the
 * person's keys is verified hardware — before, a passkey-only person was sent
 * round the same step forever instead of to the unmet-level page. */
static void
test_step_up_choice(void **state)
{
	struct fx *f = *state;
	struct authr pk, hw;
	struct store_txn *t;
	const unsigned amr = AMR_SWK | AMR_USER | AMR_PIN, factors = FACTOR_HAVE | FACTOR_KNOW;
	const unsigned props = PROP_PHISHING_RESISTANT | PROP_REPLAY_RESISTANT;

	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&pk, -7, 0);
	json_decref(enrol(f, &pk, F_NONE, WA_FLAG_UP | WA_FLAG_UV));
	t = store_read_begin(f->s);
	assert_null(signin_next_method(t, f->uid, amr, factors, props, AAL3));
	/* after a password, the passkey still raises to AAL2 */
	assert_ptr_equal(
	    signin_next_method(t, f->uid, AMR_PWD, FACTOR_KNOW, 0, AAL2), &method_webauthn);
	store_read_end(t);
	authr_init(&hw, -7, 1);
	json_decref(enrol_opts(f, &hw, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .flags = WA_FLAG_UP | WA_FLAG_UV }));
	t = store_read_begin(f->s);
	assert_ptr_equal(
	    signin_next_method(t, f->uid, amr, factors, props, AAL3), &method_webauthn);
	store_read_end(t);
	/* the root withdrawn: the hardware key is a passkey too, nothing to ask */
	trust_ok(f, &(struct trust_opts){ .roots = { 0 } });
	t = store_read_begin(f->s);
	assert_null(signin_next_method(t, f->uid, amr, factors, props, AAL3));
	store_read_end(t);
	authr_free(&pk);
	authr_free(&hw);
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
	assert_non_null(p.error_key);
	assert_non_null(strstr(fx_text("en", p.error_key), "IT desk"));
	assert_string_not_equal(fx_text("zh-TW", p.error_key), p.error_key);
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
	proof_clear(&p);
	/* even the right counter cannot use it now */
	a.count = 100;
	assert_int_equal(login_with(f, &a, NULL, (struct get_opts){ .flags = WA_FLAG_UP }, NULL, &st,
	    &p), METHOD_FAIL);
	proof_clear(&p);
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

	trust_ok(f, &(struct trust_opts){ .roots = { &pki.vendor_root } });
	authr_init(&a, -7, 1);
	rec = enrol_opts(f, &a, (struct reg_opts){ .fmt = F_CHAIN, .signer = &pki.vendor,
	    .flags = WA_FLAG_UP | WA_FLAG_UV });
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
		cmocka_unit_test_setup_teardown(test_trusted_root_is_hardware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reevaluated_on_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_aaguid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synced_passkeys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tpm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_android_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mds, setup, teardown),
		cmocka_unit_test(test_mds_payload),
		cmocka_unit_test_setup_teardown(test_trust_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_up_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_counter_regression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests_name("webauthn", tests, pki_setup, pki_teardown);
}

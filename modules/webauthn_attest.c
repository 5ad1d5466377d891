/* modules/webauthn_attest.c — verifies attestation statements (WebAuthn
 * Level 3 §8): packed (with x5c, or self), fido-u2f, tpm, android-key, apple
 * and none, with OpenSSL. What each proves and what is refused is in
 * webauthn_attest.h; the trust decision (does the chain end at a root we
 * trust?) is webauthn_trust.c's.
 *
 * Everything read here came from the network: every length is checked
 * against what is left of its input before use, and the parsers of the
 * TPM and Android structures read exactly their input or fail. */
#include "webauthn_attest.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../lib/util.h"

/* COSE algorithm identifiers (IANA) an attestation signature may use. */
#define COSE_ES256 (-7)
#define COSE_EDDSA (-8)
#define COSE_ES384 (-35)
#define COSE_ES512 (-36)
#define COSE_PS256 (-37)
#define COSE_PS384 (-38)
#define COSE_PS512 (-39)
#define COSE_RS256 (-257)
#define COSE_RS384 (-258)
#define COSE_RS512 (-259)
#define COSE_RS1 (-65535)

/* TPM 2.0 constants (TPM 2.0 Part 2). */
#define TPM_GENERATED_VALUE 0xff544347u
#define TPM_ST_ATTEST_CERTIFY 0x8017
#define TPM_ALG_RSA 0x0001
#define TPM_ALG_SHA1 0x0004
#define TPM_ALG_SHA256 0x000b
#define TPM_ALG_SHA384 0x000c
#define TPM_ALG_SHA512 0x000d
#define TPM_ALG_NULL 0x0010
#define TPM_ALG_ECC 0x0023
#define TPM_ECC_NIST_P256 0x0003

#define OID_FIDO_AAGUID "1.3.6.1.4.1.45724.1.1.4"
#define OID_ANDROID_KD "1.3.6.1.4.1.11129.2.1.17"
#define OID_APPLE_NONCE "1.2.840.113635.100.8.2"
#define OID_TCG_KP_AIK "2.23.133.8.3"
#define OID_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TPM_MODEL "2.23.133.2.2"
#define OID_TPM_VERSION "2.23.133.2.3"

static const char *const type_names[] = { "none", "self", "basic", "anonca", "unverified" };

const char *
wa_att_type_name(enum wa_att_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "unverified";
}

int
wa_att_type_from_name(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------- keys */

struct cose {
	long kty, alg, crv;
	uint8_t a[512], b[66];        /* EC2: x, y; OKP: x; RSA: n, e */
	size_t a_len, b_len;
};

static int
cose_int(const cbor_item_t *it, long *out)
{
	uint64_t v;

	if (!cbor_isa_uint(it) && !cbor_isa_negint(it))
		return -1;
	v = cbor_get_int(it);
	if (v > 0x7fffffff)
		return -1;
	*out = cbor_isa_uint(it) ? (long)v : -1 - (long)v;
	return 0;
}

static int
cose_bytes(const cbor_item_t *it, uint8_t *out, size_t max, size_t *len)
{
	size_t n;

	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it) ||
	    (n = cbor_bytestring_length(it)) == 0 || n > max)
		return -1;
	memcpy(out, cbor_bytestring_handle(it), n);
	*len = n;
	return 0;
}

/* The members of a COSE_Key (RFC 9052 §7, RFC 9053): kty 1, alg 3, and -1,
 * -2, -3, whose meaning depends on kty (EC2: crv, x, y; OKP: crv, x; RSA: n,
 * e), so they are read after the loop, once kty is known. */
static int
cose_read(const uint8_t *p, size_t n, struct cose *k)
{
	struct cbor_load_result res;
	cbor_item_t *it, *m1 = NULL, *m2 = NULL, *m3 = NULL;
	struct cbor_pair *pairs;
	size_t i;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (p == NULL || n == 0 || webauthn_cbor_item_len(p, n) != n ||
	    (it = cbor_load(p, n, &res)) == NULL)
		return -1;	/* the shape first: cbor_load sizes arrays from headers */
	if (res.error.code != CBOR_ERR_NONE || res.read != n || !cbor_isa_map(it) ||
	    !cbor_map_is_definite(it))
		goto out;
	pairs = cbor_map_handle(it);
	for (i = 0; i < cbor_map_size(it); i++) {
		long label;

		if (cose_int(pairs[i].key, &label) != 0)
			continue;	/* text labels: not ours */
		if ((label == 1 && cose_int(pairs[i].value, &k->kty) != 0) ||
		    (label == 3 && cose_int(pairs[i].value, &k->alg) != 0))
			goto out;
		if (label == -1)
			m1 = pairs[i].value;
		else if (label == -2)
			m2 = pairs[i].value;
		else if (label == -3)
			m3 = pairs[i].value;
	}
	if (k->kty == 3) {
		if (m1 == NULL || m2 == NULL || cose_bytes(m1, k->a, sizeof(k->a), &k->a_len) != 0 ||
		    cose_bytes(m2, k->b, 8, &k->b_len) != 0)
			goto out;
	} else if (k->kty == 1 || k->kty == 2) {
		if (m1 == NULL || m2 == NULL || cose_int(m1, &k->crv) != 0 ||
		    cose_bytes(m2, k->a, 66, &k->a_len) != 0 ||
		    (k->kty == 2 && (m3 == NULL || cose_bytes(m3, k->b, sizeof(k->b), &k->b_len) != 0)))
			goto out;
	} else {
		goto out;
	}
	rc = 0;
out:
	cbor_decref(&it);
	return rc;
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *
ec_p256_pkey(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl)
{
	uint8_t pt[65];
	OSSL_PARAM params[3];

	if (xl != 32 || yl != 32)
		return NULL;
	pt[0] = 4;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	return pkey_from_params("EC", params);
}

static EVP_PKEY *
rsa_pkey(const uint8_t *n, size_t nl, const uint8_t *e, size_t el)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
	EVP_PKEY *pk = NULL;

	if (bld != NULL && bn != NULL && be != NULL && nl >= 256 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		pk = pkey_from_params("RSA", params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static EVP_PKEY *
cose_to_pkey(const struct cose *k)
{
	if (k->kty == 2 && k->crv == 1)
		return ec_p256_pkey(k->a, k->a_len, k->b, k->b_len);
	if (k->kty == 1 && k->crv == 6 && k->a_len == 32)
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->a, 32);
	if (k->kty == 3 && k->a_len > 0 && k->b_len > 0)
		return rsa_pkey(k->a, k->a_len, k->b, k->b_len);
	return NULL;
}

EVP_PKEY *
wa_cose_pkey(const uint8_t *cose, size_t n)
{
	struct cose k;

	if (cose_read(cose, n, &k) != 0)
		return NULL;
	return cose_to_pkey(&k);
}

/* ---------------------------------------------------------------- signatures */

static const EVP_MD *
alg_md(long alg)
{
	switch (alg) {
	case COSE_ES256: case COSE_RS256: case COSE_PS256: return EVP_sha256();
	case COSE_ES384: case COSE_RS384: case COSE_PS384: return EVP_sha384();
	case COSE_ES512: case COSE_RS512: case COSE_PS512: return EVP_sha512();
	case COSE_RS1: return EVP_sha1();
	default: return NULL;
	}
}

/* The key must be of the algorithm's type (and curve): an ES256 signature
 * from a P-384 key is not ES256. */
static int
key_fits(EVP_PKEY *pk, long alg)
{
	char group[32];
	size_t gl = 0;

	switch (alg) {
	case COSE_ES256: case COSE_ES384: case COSE_ES512:
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &gl) != 1)
			return 0;
		return strcmp(group, alg == COSE_ES256 ? "prime256v1" : alg == COSE_ES384 ?
		    "secp384r1" : "secp521r1") == 0 || strcmp(group, alg == COSE_ES256 ? "P-256" :
		    alg == COSE_ES384 ? "P-384" : "P-521") == 0;
	case COSE_RS256: case COSE_RS384: case COSE_RS512: case COSE_RS1:
	case COSE_PS256: case COSE_PS384: case COSE_PS512:
		return EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) >= 2048;
	case COSE_EDDSA:
		return EVP_PKEY_is_a(pk, "ED25519");
	default:
		return 0;
	}
}

static int
is_pss(long alg)
{
	return alg == COSE_PS256 || alg == COSE_PS384 || alg == COSE_PS512;
}

/* 1 when sig is pk's signature over msg with COSE algorithm alg (ECDSA as
 * DER, as WebAuthn sends it). RS1 only where the caller allows it (TPM). */
static int
sig_ok(EVP_PKEY *pk, long alg, const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = alg == COSE_EDDSA ? NULL : alg_md(alg);
	int ok = 0;

	if (pk == NULL || sig == NULL || siglen == 0 || !key_fits(pk, alg) ||
	    (md == NULL && alg != COSE_EDDSA) || (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pk) == 1 &&
	    (!is_pss(alg) || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)))
		ok = EVP_DigestVerify(ctx, sig, siglen, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* authData || clientDataHash, the message of packed, android-key and tpm. */
static uint8_t *
to_be_signed(const struct wa_att *att, const uint8_t cdh[32], size_t *n)
{
	uint8_t *m = malloc(att->authdata_len + 32);

	if (m == NULL)
		return NULL;
	memcpy(m, att->authdata, att->authdata_len);
	memcpy(m + att->authdata_len, cdh, 32);
	*n = att->authdata_len + 32;
	return m;
}

/* ---------------------------------------------------------------- certificates */

static X509 *
cert_at(const struct wa_att *att, int i)
{
	const unsigned char *p;
	X509 *x;

	if (i >= att->n_x5c || att->x5c[i] == NULL)
		return NULL;
	p = att->x5c[i];
	x = d2i_X509(NULL, &p, (long)att->x5c_len[i]);
	if (x != NULL && p != att->x5c[i] + att->x5c_len[i]) {
		X509_free(x);	/* trailing bytes after the certificate */
		return NULL;
	}
	return x;
}

/* The DER value (inside the extension's OCTET STRING) of the extension with
 * this OID; NULL when absent. *critical says whether it was marked so. */
static const ASN1_OCTET_STRING *
ext_value(X509 *x, const char *oid, int *critical)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_EXTENSION *e;
	int i;

	if (obj == NULL)
		return NULL;
	i = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OBJECT_free(obj);
	if (i < 0 || (e = X509_get_ext(x, i)) == NULL)
		return NULL;
	if (critical != NULL)
		*critical = X509_EXTENSION_get_critical(e);
	return X509_EXTENSION_get_data(e);
}

/* id-fido-gen-ce-aaguid: absent (1), or a non-critical OCTET STRING of the
 * AAGUID (1); anything else, or another AAGUID (0). */
static int
aaguid_ext_ok(X509 *x, const uint8_t aaguid[16])
{
	int crit = 0;
	const ASN1_OCTET_STRING *v = ext_value(x, OID_FIDO_AAGUID, &crit);
	const uint8_t *p;

	if (v == NULL)
		return 1;
	p = ASN1_STRING_get0_data(v);
	return !crit && ASN1_STRING_length(v) == 18 && p[0] == 0x04 && p[1] == 16 &&
	    memcmp(p + 2, aaguid, 16) == 0;
}

/* Basic Constraints present with CA false. */
static int
not_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	int ok = bc != NULL && !bc->ca;

	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

static int
name_has(const X509_NAME *nm, int nid, const char *want)
{
	int i = X509_NAME_get_index_by_NID(nm, nid, -1);
	const ASN1_STRING *s;

	if (i < 0 || (s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i))) == NULL ||
	    ASN1_STRING_length(s) == 0)
		return 0;
	return want == NULL || ((size_t)ASN1_STRING_length(s) == strlen(want) &&
	    memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0);
}

/* §8.2.1: version 3; subject C (two letters), O, OU "Authenticator
 * Attestation", CN; Basic Constraints CA false. */
static const char *
packed_cert_problem(X509 *x)
{
	const X509_NAME *nm = X509_get_subject_name(x);
	int i;

	if (X509_get_version(x) != 2)
		return "packed: the attestation certificate is not version 3";
	if (!name_has(nm, NID_countryName, NULL) || !name_has(nm, NID_organizationName, NULL) ||
	    !name_has(nm, NID_organizationalUnitName, "Authenticator Attestation") ||
	    !name_has(nm, NID_commonName, NULL))
		return "packed: the attestation certificate's subject lacks C, O, "
		    "OU=Authenticator Attestation or CN";
	i = X509_NAME_get_index_by_NID(nm, NID_countryName, -1);
	if (ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i))) != 2)
		return "packed: the attestation certificate's country is not an ISO 3166 code";
	if (!not_ca(x))
		return "packed: the attestation certificate is not marked CA:FALSE";
	return NULL;
}

static int
eku_has(X509 *x, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
	int i, found = 0;

	for (i = 0; eku != NULL && want != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0)
			found = 1;
	ASN1_OBJECT_free(want);
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

static int
dirname_has(const X509_NAME *nm, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = o != NULL ? X509_NAME_get_index_by_OBJ(nm, o, -1) : -1;

	ASN1_OBJECT_free(o);
	return i >= 0;
}

/* §8.3.1: version 3; empty subject; a Subject Alternative Name naming the
 * TPM's manufacturer, model and version (TPMv2-EK-Profile §3.2.9); EKU
 * tcg-kp-AIKCertificate; Basic Constraints CA false. */
static const char *
tpm_cert_problem(X509 *x)
{
	GENERAL_NAMES *san;
	int i, found = 0;

	if (X509_get_version(x) != 2)
		return "tpm: the AIK certificate is not version 3";
	if (X509_NAME_entry_count(X509_get_subject_name(x)) != 0)
		return "tpm: the AIK certificate's subject is not empty";
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);

		if (g->type == GEN_DIRNAME && dirname_has(g->d.dirn, OID_TPM_MANUFACTURER) &&
		    dirname_has(g->d.dirn, OID_TPM_MODEL) && dirname_has(g->d.dirn, OID_TPM_VERSION))
			found = 1;
	}
	GENERAL_NAMES_free(san);
	if (!found)
		return "tpm: the AIK certificate does not name the TPM's manufacturer, model "
		    "and version";
	if (!eku_has(x, OID_TCG_KP_AIK))
		return "tpm: the AIK certificate lacks the tcg-kp-AIKCertificate key usage";
	if (!not_ca(x))
		return "tpm: the AIK certificate is not marked CA:FALSE";
	return NULL;
}

/* ---------------------------------------------------------------- TPM structures */

struct rd {
	const uint8_t *p;
	size_t n;
};

static int
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->n < 2)
		return -1;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->n -= 2;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int
rd_skip(struct rd *r, size_t k)
{
	if (r->n < k)
		return -1;
	r->p += k;
	r->n -= k;
	return 0;
}

/* A TPM2B: a 16-bit size and that many bytes. */
static int
rd_2b(struct rd *r, const uint8_t **p, size_t *len)
{
	uint16_t sz;

	if (rd_u16(r, &sz) != 0 || r->n < sz)
		return -1;
	*p = r->p;
	*len = sz;
	r->p += sz;
	r->n -= sz;
	return 0;
}

/* A scheme (TPMT_SYM_DEF_OBJECT, TPMT_*_SCHEME, TPMT_KDF_SCHEME): an
 * algorithm and, unless it is TPM_ALG_NULL, `extra` more bytes. */
static int
rd_scheme(struct rd *r, size_t extra)
{
	uint16_t alg;

	if (rd_u16(r, &alg) != 0)
		return -1;
	return alg == TPM_ALG_NULL ? 0 : rd_skip(r, extra);
}

/* TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4) of an RSA or ECC key. */
int
wa_tpm_public_parse(const uint8_t *p, size_t n, struct wa_tpm_public *out)
{
	struct rd r = { p, n };
	const uint8_t *policy;
	size_t plen;
	uint16_t bits;

	memset(out, 0, sizeof(*out));
	if (p == NULL || rd_u16(&r, &out->type) != 0 || rd_u16(&r, &out->name_alg) != 0 ||
	    rd_u32(&r, &out->attributes) != 0 || rd_2b(&r, &policy, &plen) != 0)
		return -1;
	if (out->type == TPM_ALG_RSA) {
		/* TPMS_RSA_PARMS: symmetric (alg [keyBits mode]), scheme (alg
		 * [hash]), keyBits, exponent; unique: TPM2B_PUBLIC_KEY_RSA. */
		if (rd_scheme(&r, 4) != 0 || rd_scheme(&r, 2) != 0 || rd_u16(&r, &bits) != 0 ||
		    rd_u32(&r, &out->exponent) != 0 ||
		    rd_2b(&r, &out->unique1, &out->unique1_len) != 0)
			return -1;
	} else if (out->type == TPM_ALG_ECC) {
		/* TPMS_ECC_PARMS: symmetric, scheme, curveID, kdf; unique:
		 * TPMS_ECC_POINT (two TPM2B coordinates). */
		if (rd_scheme(&r, 4) != 0 || rd_scheme(&r, 2) != 0 || rd_u16(&r, &out->curve) != 0 ||
		    rd_scheme(&r, 2) != 0 || rd_2b(&r, &out->unique1, &out->unique1_len) != 0 ||
		    rd_2b(&r, &out->unique2, &out->unique2_len) != 0)
			return -1;
	} else {
		return -1;
	}
	return r.n == 0 ? 0 : -1;
}

/* TPMS_ATTEST (Part 2 §10.12.8) of type TPM_ST_ATTEST_CERTIFY. */
int
wa_tpm_attest_parse(const uint8_t *p, size_t n, struct wa_tpm_attest *out)
{
	struct rd r = { p, n };
	const uint8_t *signer, *qname;
	size_t slen, qlen;

	memset(out, 0, sizeof(*out));
	if (p == NULL || rd_u32(&r, &out->magic) != 0 || rd_u16(&r, &out->type) != 0 ||
	    rd_2b(&r, &signer, &slen) != 0 || rd_2b(&r, &out->extra_data, &out->extra_data_len) != 0 ||
	    rd_skip(&r, 17) != 0 /* clockInfo */ || rd_skip(&r, 8) != 0 /* firmwareVersion */)
		return -1;
	if (out->type != TPM_ST_ATTEST_CERTIFY)
		return -1;
	/* TPMS_CERTIFY_INFO: name, qualifiedName */
	if (rd_2b(&r, &out->name, &out->name_len) != 0 || rd_2b(&r, &qname, &qlen) != 0)
		return -1;
	return r.n == 0 ? 0 : -1;
}

static const EVP_MD *
tpm_md(uint16_t alg)
{
	switch (alg) {
	case TPM_ALG_SHA1: return EVP_sha1();
	case TPM_ALG_SHA256: return EVP_sha256();
	case TPM_ALG_SHA384: return EVP_sha384();
	case TPM_ALG_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* pubArea's key is the credential key: same RSA modulus and exponent, or the
 * same P-256 point. */
static int
tpm_key_matches(const struct wa_tpm_public *pub, const struct cose *k)
{
	if (pub->type == TPM_ALG_RSA && k->kty == 3) {
		uint8_t e[4];
		uint32_t ex = pub->exponent ? pub->exponent : 65537;
		size_t el = 0, i;

		/* the COSE e without leading zeros against the TPM's 32-bit one */
		for (i = 0; i < 4; i++) {
			uint8_t b = (uint8_t)(ex >> (8 * (3 - i)));

			if (el > 0 || b != 0)
				e[el++] = b;
		}
		i = 0;
		while (i < k->b_len && k->b[i] == 0)
			i++;
		return pub->unique1_len == k->a_len && memcmp(pub->unique1, k->a, k->a_len) == 0 &&
		    k->b_len - i == el && memcmp(k->b + i, e, el) == 0;
	}
	if (pub->type == TPM_ALG_ECC && k->kty == 2 && k->crv == 1 &&
	    pub->curve == TPM_ECC_NIST_P256)
		return pub->unique1_len == k->a_len && pub->unique2_len == k->b_len &&
		    memcmp(pub->unique1, k->a, k->a_len) == 0 &&
		    memcmp(pub->unique2, k->b, k->b_len) == 0;
	return 0;
}

/* ---------------------------------------------------------------- DER (Android) */

/* One DER TLV of what is left in r: class, constructed bit, tag number (high
 * tag numbers included), definite length only. */
static int
der_next(struct rd *r, unsigned *cls, int *cons, unsigned long *tag, struct rd *val)
{
	size_t len = 0, k;
	uint8_t b;

	if (r->n < 2)
		return -1;
	b = r->p[0];
	*cls = b >> 6;
	*cons = (b & 0x20) != 0;
	*tag = b & 0x1f;
	rd_skip(r, 1);
	if (*tag == 0x1f) {
		*tag = 0;
		for (k = 0;; k++) {
			if (r->n == 0 || k == 4)
				return -1;
			b = r->p[0];
			rd_skip(r, 1);
			*tag = *tag << 7 | (b & 0x7f);
			if (!(b & 0x80))
				break;
		}
	}
	if (r->n == 0)
		return -1;
	b = r->p[0];
	rd_skip(r, 1);
	if (b < 0x80) {
		len = b;
	} else {
		k = b & 0x7f;
		if (k == 0 || k > 4 || r->n < k)
			return -1;	/* indefinite, or absurdly long */
		while (k-- > 0) {
			len = len << 8 | r->p[0];
			rd_skip(r, 1);
		}
	}
	if (len > r->n)
		return -1;
	val->p = r->p;
	val->n = len;
	rd_skip(r, len);
	return 0;
}

/* An INTEGER or ENUMERATED of at most 4 bytes, not negative. */
static int
der_small(const struct rd *v, long *out)
{
	size_t i;
	long x = 0;

	if (v->n == 0 || v->n > 4 || (v->p[0] & 0x80))
		return -1;
	for (i = 0; i < v->n; i++)
		x = x << 8 | v->p[i];
	*out = x;
	return 0;
}

/* An AuthorizationList: purpose [1] SET OF INTEGER, allApplications [600]
 * NULL, origin [702] INTEGER; everything else is skipped. */
static int
auth_list(struct rd l, int *origin_generated, int *purpose_sign, int *all_apps)
{
	unsigned cls;
	int cons;
	unsigned long tag;
	struct rd v, in;
	long x;

	while (l.n > 0) {
		if (der_next(&l, &cls, &cons, &tag, &v) != 0)
			return -1;
		if (cls != 2)
			return -1;	/* every member is [n] EXPLICIT */
		if (tag == 600) {
			*all_apps = 1;
		} else if (tag == 1) {
			unsigned c2;
			int k2;
			unsigned long t2;

			if (der_next(&v, &c2, &k2, &t2, &in) != 0 || c2 != 0 || t2 != 17)
				return -1;	/* SET */
			while (in.n > 0) {
				struct rd iv;

				if (der_next(&in, &c2, &k2, &t2, &iv) != 0 || c2 != 0 || t2 != 2 ||
				    der_small(&iv, &x) != 0)
					return -1;
				if (x == 2)	/* KM_PURPOSE_SIGN */
					*purpose_sign = 1;
			}
		} else if (tag == 702) {
			unsigned c2;
			int k2;
			unsigned long t2;

			if (der_next(&v, &c2, &k2, &t2, &in) != 0 || c2 != 0 || t2 != 2 ||
			    der_small(&in, &x) != 0)
				return -1;
			if (x == 0)	/* KM_ORIGIN_GENERATED */
				*origin_generated = 1;
		}
	}
	return 0;
}

/* KeyDescription ::= SEQUENCE { attestationVersion INTEGER,
 * attestationSecurityLevel ENUMERATED, keymasterVersion INTEGER,
 * keymasterSecurityLevel ENUMERATED, attestationChallenge OCTET STRING,
 * uniqueId OCTET STRING, softwareEnforced AuthorizationList,
 * teeEnforced AuthorizationList, ... } */
int
wa_android_kd_parse(const uint8_t *p, size_t n, struct wa_android_kd *out)
{
	struct rd r = { p, n }, seq, v, sw, tee;
	unsigned cls;
	int cons;
	unsigned long tag;
	long x;

	memset(out, 0, sizeof(*out));
	if (p == NULL || der_next(&r, &cls, &cons, &tag, &seq) != 0 || r.n != 0 || cls != 0 ||
	    tag != 16 || !cons)
		return -1;
	if (der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 2 || der_small(&v, &x) != 0)
		return -1;
	if (der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 10 || der_small(&v, &x) != 0)
		return -1;
	out->attestation_security_level = x;
	if (der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 2 ||
	    der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 10)
		return -1;
	if (der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 4)
		return -1;
	out->challenge = v.p;
	out->challenge_len = v.n;
	if (der_next(&seq, &cls, &cons, &tag, &v) != 0 || tag != 4)
		return -1;
	if (der_next(&seq, &cls, &cons, &tag, &sw) != 0 || tag != 16 || cls != 0 ||
	    der_next(&seq, &cls, &cons, &tag, &tee) != 0 || tag != 16 || cls != 0)
		return -1;
	if (auth_list(sw, &out->sw_origin_generated, &out->sw_purpose_sign,
	    &out->all_applications) != 0 ||
	    auth_list(tee, &out->tee_origin_generated, &out->tee_purpose_sign,
	    &out->all_applications) != 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- the formats */

static int
unverified(struct wa_evidence *ev, const char *note)
{
	ev->type = WA_ATT_UNVERIFIED;
	ev->note = note;
	return WA_OK;
}

static int
packed(const struct wa_att *att, const struct wa_authdata *ad, const uint8_t cdh[32],
       const struct cose *ck, struct wa_evidence *ev)
{
	uint8_t *m;
	size_t n = 0;
	X509 *leaf = NULL;
	EVP_PKEY *pk = NULL;
	const char *problem;
	int rc = WA_ATTESTATION;

	if (att->ecdaa)
		return unverified(ev, "packed: ECDAA attestation is not supported");
	if (att->sig == NULL || att->alg == 0 || att->ver[0] || att->cert_info || att->pub_area)
		return WA_ATTESTATION;
	if ((m = to_be_signed(att, cdh, &n)) == NULL)
		return WA_INTERNAL;
	if (att->n_x5c == 0) {
		/* Self attestation: the credential key signed, with its own alg. */
		if (att->alg == ad->alg && (pk = cose_to_pkey(ck)) != NULL &&
		    sig_ok(pk, att->alg, m, n, att->sig, att->sig_len)) {
			ev->type = WA_ATT_SELF;
			rc = WA_OK;
		}
		goto out;
	}
	if ((leaf = cert_at(att, 0)) == NULL || (pk = X509_get_pubkey(leaf)) == NULL ||
	    att->alg == COSE_RS1 || !sig_ok(pk, att->alg, m, n, att->sig, att->sig_len))
		goto out;
	rc = WA_OK;
	if ((problem = packed_cert_problem(leaf)) != NULL)
		unverified(ev, problem);
	else if (!aaguid_ext_ok(leaf, ad->aaguid))
		unverified(ev, "packed: the certificate's AAGUID extension names another model");
	else
		ev->type = WA_ATT_BASIC;
out:
	EVP_PKEY_free(pk);
	X509_free(leaf);
	free(m);
	return rc;
}

static int
fido_u2f(const struct wa_att *att, const struct wa_authdata *ad, const uint8_t cdh[32],
         const struct cose *ck, struct wa_evidence *ev)
{
	uint8_t m[1 + 32 + 32 + WA_CRED_ID_MAX + 65];
	size_t n = 0;
	X509 *leaf = NULL;
	EVP_PKEY *pk = NULL;
	int rc = WA_ATTESTATION;

	if (att->sig == NULL || att->n_x5c != 1 || att->alg != 0 || att->ecdaa || att->ver[0] ||
	    att->cert_info || att->pub_area || ck->kty != 2 || ck->crv != 1 || ck->a_len != 32 ||
	    ck->b_len != 32)
		return WA_ATTESTATION;
	/* 0x00 || rpIdHash || clientDataHash || credentialId || 0x04 || x || y */
	m[n++] = 0;
	memcpy(m + n, ad->rp_id_hash, 32);
	n += 32;
	memcpy(m + n, cdh, 32);
	n += 32;
	memcpy(m + n, ad->cred_id, ad->cred_id_len);
	n += ad->cred_id_len;
	m[n++] = 4;
	memcpy(m + n, ck->a, 32);
	memcpy(m + n + 32, ck->b, 32);
	n += 64;
	if ((leaf = cert_at(att, 0)) != NULL && (pk = X509_get_pubkey(leaf)) != NULL &&
	    sig_ok(pk, COSE_ES256, m, n, att->sig, att->sig_len)) {
		ev->type = WA_ATT_BASIC;
		rc = WA_OK;
	}
	EVP_PKEY_free(pk);
	X509_free(leaf);
	return rc;
}

static int
tpm(const struct wa_att *att, const struct wa_authdata *ad, const uint8_t cdh[32],
    const struct cose *ck, struct wa_evidence *ev)
{
	struct wa_tpm_public pub;
	struct wa_tpm_attest info;
	uint8_t *m = NULL, h[EVP_MAX_MD_SIZE], name[2 + EVP_MAX_MD_SIZE];
	unsigned hl = 0, nl = 0;
	size_t n = 0;
	const EVP_MD *md, *nmd;
	X509 *aik = NULL;
	EVP_PKEY *pk = NULL;
	const char *problem;
	int rc = WA_ATTESTATION;

	if (strcmp(att->ver, "2.0") != 0 || att->sig == NULL || att->cert_info == NULL ||
	    att->pub_area == NULL || att->alg == 0)
		return WA_ATTESTATION;
	if (att->ecdaa || att->n_x5c == 0)
		return unverified(ev, "tpm: ECDAA attestation is not supported");
	/* The credential key is the key the TPM describes in pubArea. */
	if (wa_tpm_public_parse(att->pub_area, att->pub_area_len, &pub) != 0 ||
	    !tpm_key_matches(&pub, ck))
		return WA_ATTESTATION;
	/* certInfo is signed by the AIK... */
	if ((aik = cert_at(att, 0)) == NULL || (pk = X509_get_pubkey(aik)) == NULL ||
	    !sig_ok(pk, att->alg, att->cert_info, att->cert_info_len, att->sig, att->sig_len))
		goto out;
	/* ...was made by the TPM, over this registration (extraData), and
	 * certifies this pubArea (its Name: nameAlg || H_nameAlg(pubArea)). */
	if (wa_tpm_attest_parse(att->cert_info, att->cert_info_len, &info) != 0 ||
	    info.magic != TPM_GENERATED_VALUE || (md = alg_md(att->alg)) == NULL ||
	    (m = to_be_signed(att, cdh, &n)) == NULL || EVP_Digest(m, n, h, &hl, md, NULL) != 1 ||
	    info.extra_data_len != hl || !ct_equal(info.extra_data, h, hl))
		goto out;
	if ((nmd = tpm_md(pub.name_alg)) == NULL)
		goto out;
	name[0] = (uint8_t)(pub.name_alg >> 8);
	name[1] = (uint8_t)pub.name_alg;
	if (EVP_Digest(att->pub_area, att->pub_area_len, name + 2, &nl, nmd, NULL) != 1 ||
	    info.name_len != 2 + nl || memcmp(info.name, name, 2 + nl) != 0)
		goto out;
	rc = WA_OK;
	if ((problem = tpm_cert_problem(aik)) != NULL)
		unverified(ev, problem);
	else if (!aaguid_ext_ok(aik, ad->aaguid))
		unverified(ev, "tpm: the AIK certificate's AAGUID extension names another model");
	else
		ev->type = WA_ATT_BASIC;
out:
	free(m);
	EVP_PKEY_free(pk);
	X509_free(aik);
	return rc;
}

static int
android_key(const struct wa_att *att, const struct wa_authdata *ad, const uint8_t cdh[32],
            const struct cose *ck, struct wa_evidence *ev)
{
	struct wa_android_kd kd;
	const ASN1_OCTET_STRING *ext;
	uint8_t *m = NULL;
	size_t n = 0;
	X509 *leaf = NULL;
	EVP_PKEY *pk = NULL, *cred = NULL;
	int rc = WA_ATTESTATION;

	(void)ad;
	if (att->sig == NULL || att->alg == 0 || att->n_x5c == 0 || att->ecdaa || att->ver[0] ||
	    att->cert_info || att->pub_area)
		return WA_ATTESTATION;
	if ((m = to_be_signed(att, cdh, &n)) == NULL)
		return WA_INTERNAL;
	/* The credential key signed, and the certificate is for that key. */
	if ((leaf = cert_at(att, 0)) == NULL || (pk = X509_get_pubkey(leaf)) == NULL ||
	    att->alg == COSE_RS1 || !sig_ok(pk, att->alg, m, n, att->sig, att->sig_len) ||
	    (cred = cose_to_pkey(ck)) == NULL || EVP_PKEY_eq(pk, cred) != 1)
		goto out;
	/* Android's key description: made for this registration, not usable by
	 * every app on the phone, generated in the keystore, a signing key. */
	if ((ext = ext_value(leaf, OID_ANDROID_KD, NULL)) == NULL ||
	    wa_android_kd_parse(ASN1_STRING_get0_data(ext), (size_t)ASN1_STRING_length(ext),
	    &kd) != 0 || kd.challenge_len != 32 || !ct_equal(kd.challenge, cdh, 32) ||
	    kd.all_applications)
		goto out;
	if (kd.tee_origin_generated && kd.tee_purpose_sign && kd.attestation_security_level != 0) {
		ev->type = WA_ATT_BASIC;
		rc = WA_OK;
	} else if ((kd.tee_origin_generated || kd.sw_origin_generated) &&
	    (kd.tee_purpose_sign || kd.sw_purpose_sign)) {
		rc = unverified(ev, "android-key: the key is kept in software, not in the "
		    "phone's secure hardware");
	}
out:
	free(m);
	EVP_PKEY_free(cred);
	EVP_PKEY_free(pk);
	X509_free(leaf);
	return rc;
}

static int
apple(const struct wa_att *att, const uint8_t cdh[32], const struct cose *ck,
      struct wa_evidence *ev)
{
	uint8_t *m = NULL, nonce[32];
	size_t n = 0;
	const ASN1_OCTET_STRING *ext;
	const uint8_t *p;
	X509 *leaf = NULL;
	EVP_PKEY *pk = NULL, *cred = NULL;
	int rc = WA_ATTESTATION;

	if (att->n_x5c == 0 || att->sig != NULL || att->alg != 0 || att->ecdaa || att->ver[0] ||
	    att->cert_info || att->pub_area)
		return WA_ATTESTATION;
	if ((m = to_be_signed(att, cdh, &n)) == NULL)
		return WA_INTERNAL;
	sha256(m, n, nonce);
	/* The CA put SHA-256(authData || clientDataHash) in the credential's
	 * certificate: SEQUENCE { [1] EXPLICIT OCTET STRING (32) }. */
	if ((leaf = cert_at(att, 0)) == NULL ||
	    (ext = ext_value(leaf, OID_APPLE_NONCE, NULL)) == NULL)
		goto out;
	p = ASN1_STRING_get0_data(ext);
	if (ASN1_STRING_length(ext) != 38 || p[0] != 0x30 || p[1] != 36 || p[2] != 0xa1 ||
	    p[3] != 34 || p[4] != 0x04 || p[5] != 32 || !ct_equal(p + 6, nonce, 32))
		goto out;
	if ((pk = X509_get_pubkey(leaf)) == NULL || (cred = cose_to_pkey(ck)) == NULL ||
	    EVP_PKEY_eq(pk, cred) != 1)
		goto out;
	ev->type = WA_ATT_ANONCA;
	rc = WA_OK;
out:
	free(m);
	EVP_PKEY_free(cred);
	EVP_PKEY_free(pk);
	X509_free(leaf);
	return rc;
}

int
wa_attest_verify(const struct wa_att *att, const struct wa_authdata *ad, const uint8_t cdh[32],
                 struct wa_evidence *ev)
{
	struct cose ck;

	memset(ev, 0, sizeof(*ev));
	if (att == NULL || ad == NULL || !ad->has_cred)
		return WA_INTERNAL;
	if (strcmp(att->fmt, "none") == 0) {
		ev->type = WA_ATT_NONE;
		return WA_OK;
	}
	if (att->unparsed)
		return unverified(ev, "this attestation format is not verified by authd");
	if (cose_read(ad->cose, ad->cose_len, &ck) != 0)
		return WA_ATTESTATION;
	if (strcmp(att->fmt, "packed") == 0)
		return packed(att, ad, cdh, &ck, ev);
	if (strcmp(att->fmt, "fido-u2f") == 0)
		return fido_u2f(att, ad, cdh, &ck, ev);
	if (strcmp(att->fmt, "tpm") == 0)
		return tpm(att, ad, cdh, &ck, ev);
	if (strcmp(att->fmt, "android-key") == 0)
		return android_key(att, ad, cdh, &ck, ev);
	if (strcmp(att->fmt, "apple") == 0)
		return apple(att, cdh, &ck, ev);
	return unverified(ev, "this attestation format is not verified by authd");
}

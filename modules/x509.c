/* modules/x509.c — the citizen certificate (自然人憑證, MOICA) as a sign-in
 * method: loading the trust anchors and intermediates, verifying a CMS
 * SignedData made by the card over authd's one-time nonce, validating a card
 * certificate (chain through a configured MOICA intermediate, validity, key
 * usage, key size, policy, revocation), reading the holder's identity (CN and
 * the last four ID digits, never the whole ID), and the card bindings in the
 * store. The account page part and the page script are in x509_ui.c, the
 * revocation checks in x509_revocation.c.
 *
 * State (xc) is built by x509_setup() before worker threads start and is
 * read-only afterwards; X509_STORE and the certificate stack are only read. */
#include "x509.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../authd/audit.h"
#include "../authd/authd.h"
#include "../authd/config.h"
#include "../authd/log.h"
#include "../authd/users.h"
#include "../lib/b64.h"
#include "../lib/util.h"
#include "method.h"

struct x509_cfg {
	int enabled;
	int fail_open;
	int unbound_create;
	int tls;                           /* a TLS client-certificate path exists (AAL3) */
	X509_STORE *anchors;
	STACK_OF(X509) *inter;
	STACK_OF(ASN1_OBJECT) *policies;   /* empty: any policy */
	char origin[256];                  /* the local sign server the page calls */
};

static struct x509_cfg *xc;

const char *
x509_strerror(enum x509_err e)
{
	switch (e) {
	case X509E_OK: return "ok";
	case X509E_DISABLED: return "citizen certificate sign-in is not enabled";
	case X509E_MALFORMED: return "malformed signature or certificate";
	case X509E_SIGNATURE: return "signature does not verify over this sign-in's challenge";
	case X509E_CHAIN: return "certificate not issued by a trusted MOICA CA";
	case X509E_EXPIRED: return "certificate expired or not yet valid";
	case X509E_USAGE: return "certificate not usable for signing";
	case X509E_POLICY: return "certificate policy not accepted";
	case X509E_REVOKED: return "certificate revoked";
	case X509E_REV_UNKNOWN: return "revocation status unknown";
	case X509E_INTERNAL: return "internal error";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- set-up */

static void
cfg_free(struct x509_cfg *c)
{
	if (c == NULL)
		return;
	X509_STORE_free(c->anchors);
	sk_X509_pop_free(c->inter, X509_free);
	sk_ASN1_OBJECT_pop_free(c->policies, ASN1_OBJECT_free);
	free(c);
}

/* Every certificate of a PEM bundle; NULL when the file holds none. */
static STACK_OF(X509) *
pem_bundle(const char *path)
{
	STACK_OF(X509) *sk;
	BIO *bio;
	X509 *x;

	if (path == NULL || (bio = BIO_new_file(path, "r")) == NULL)
		return NULL;
	if ((sk = sk_X509_new_null()) == NULL) {
		BIO_free(bio);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();	/* the end of the file reads as an error */
	BIO_free(bio);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

static int
policies_parse(const char *list, STACK_OF(ASN1_OBJECT) *out, char *err, size_t errsz)
{
	char tmp[1024], *save = NULL, *tok;

	if (list == NULL || list[0] == '\0')
		return 0;
	if (strlen(list) >= sizeof(tmp)) {
		snprintf(err, errsz, "[x509] policy_oids is too long");
		return -1;
	}
	strcpy(tmp, list);
	for (tok = strtok_r(tmp, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		ASN1_OBJECT *o = OBJ_txt2obj(tok, 1);	/* numeric form only */

		if (o == NULL || sk_ASN1_OBJECT_push(out, o) <= 0) {
			ASN1_OBJECT_free(o);
			snprintf(err, errsz, "[x509] policy_oids: \"%s\" is not a dotted OID", tok);
			return -1;
		}
	}
	return 0;
}

/* An origin as browsers serialise it: scheme "http" or "https", "://", a
 * host of letters, digits, '.', '-' (or a bracketed IPv6 address), an
 * optional ":port", nothing more. */
static int
origin_ok(const char *o)
{
	const char *h;
	size_t i, n;

	if (strncmp(o, "http://", 7) == 0)
		h = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		h = o + 8;
	else
		return 0;
	n = strlen(h);
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
			return 0;
		if (isupper(ch))
			return 0; /* browsers lower-case the host */
	}
	return h[0] != ':' && h[n - 1] != ':';
}

int
x509_setup(const struct conf *c, char *err, size_t errsz)
{
	struct x509_cfg *n;
	STACK_OF(X509) *roots = NULL;
	int i;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (c == NULL)
		return -1;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	if (!c->x509_enabled) {
		x509_teardown();
		xc = n;
		return 0;
	}
	n->fail_open = c->x509_fail_open;
	/* The card over TLS (the client-certificate listener, or a proxy that
	 * hands the certificate on) is phishing-resistant: such accounts reach AAL3. */
	n->tls = (c->x509_tls_listen != NULL && c->x509_tls_listen[0] != '\0') ||
	    (c->x509_proxy_header != NULL && c->x509_proxy_header[0] != '\0' &&
	    c->n_trusted_proxies > 0);
	if (c->x509_unbound != NULL && strcmp(c->x509_unbound, "create") == 0) {
		n->unbound_create = 1;
	} else if (c->x509_unbound != NULL && strcmp(c->x509_unbound, "refuse") != 0) {
		snprintf(err, errsz, "[x509] unbound must be \"refuse\" or \"create\"");
		goto fail;
	}
	snprintf(n->origin, sizeof(n->origin), "%s",
	    c->x509_local_sign_origin != NULL ? c->x509_local_sign_origin : "");
	if (!origin_ok(n->origin)) {
		/* The page compares event.origin with it exactly. */
		snprintf(err, errsz,
		    "[x509] local_sign_origin must be http[s]://host[:port] with no path, "
		    "as the browser writes an origin (for example http://localhost:61161)");
		goto fail;
	}
	if ((roots = pem_bundle(c->x509_trust_anchors)) == NULL) {
		snprintf(err, errsz, "[x509] trust_anchors: no PEM certificate in %s (the GRCA root)",
		    c->x509_trust_anchors != NULL ? c->x509_trust_anchors : "(not set)");
		goto fail;
	}
	if ((n->inter = pem_bundle(c->x509_intermediates)) == NULL) {
		snprintf(err, errsz, "[x509] intermediates: no PEM certificate in %s (the MOICA CAs)",
		    c->x509_intermediates != NULL ? c->x509_intermediates : "(not set)");
		goto fail;
	}
	if ((n->anchors = X509_STORE_new()) == NULL)
		goto fail;
	for (i = 0; i < sk_X509_num(roots); i++)
		if (X509_STORE_add_cert(n->anchors, sk_X509_value(roots, i)) != 1)
			goto fail;
	if ((n->policies = sk_ASN1_OBJECT_new_null()) == NULL ||
	    policies_parse(c->x509_policy_oids, n->policies, err, errsz) != 0)
		goto fail;
	if (x509_revocation_setup(c, n->anchors, err, errsz) != 0)
		goto fail;
	sk_X509_pop_free(roots, X509_free);
	n->enabled = 1;
	cfg_free(xc);	/* the revocation state was already renewed above */
	xc = n;
	return 0;
fail:
	if (err != NULL && errsz > 0 && err[0] == '\0')
		snprintf(err, errsz, "[x509] cannot set up (out of memory)");
	sk_X509_pop_free(roots, X509_free);
	cfg_free(n);
	return -1;
}

void
x509_teardown(void)
{
	x509_revocation_teardown();
	cfg_free(xc);
	xc = NULL;
}

int
x509_enabled(void)
{
	return xc != NULL && xc->enabled;
}

/* ---------------------------------------------------------------- identity */

/* One DER TLV at *p (single-byte tags, definite lengths up to 2^24). */
static int
der_next(const uint8_t **p, const uint8_t *end, unsigned *tag, const uint8_t **val, size_t *len)
{
	const uint8_t *q = *p;
	size_t l, i, nb;

	if (end - q < 2)
		return -1;
	*tag = q[0];
	if ((q[0] & 0x1f) == 0x1f)
		return -1;
	l = q[1];
	q += 2;
	if (l & 0x80) {
		nb = l & 0x7f;
		if (nb == 0 || nb > 3 || (size_t)(end - q) < nb)
			return -1;	/* indefinite or absurd lengths are not DER */
		for (l = 0, i = 0; i < nb; i++)
			l = (l << 8) | q[i];
		q += nb;
	}
	if ((size_t)(end - q) < l)
		return -1;
	*val = q;
	*len = l;
	*p = q + l;
	return 0;
}

/* 2.16.886.1.100.2.51, DER content octets. */
static const uint8_t oid_tw_id[] = { 0x60, 0x86, 0x76, 0x01, 0x64, 0x02, 0x33 };

int
x509_sda_last4(const uint8_t *der, size_t len, char last4[5])
{
	const uint8_t *p = der, *end = der + len, *seq, *v;
	size_t seql, vl;
	unsigned tag;
	int found = 0;
	/* last4 is written only on success: a refusal leaves it "" (fuzz_x509
	 * found "A1260b39" leaving "0" unterminated, and a malformed attribute
	 * after the ID would have left the digits in place). */
	char digits[5] = "";

	last4[0] = '\0';
	if (der == NULL || der_next(&p, end, &tag, &seq, &seql) != 0 || tag != 0x30 || p != end)
		return -1;
	p = seq;
	end = seq + seql;
	if (p == end)
		return -1;	/* SIZE (1..MAX) */
	while (p < end) {
		const uint8_t *a, *ae, *oid, *set, *s, *se;
		size_t al, oidl, setl;
		unsigned t, st;
		size_t i;

		if (der_next(&p, end, &tag, &a, &al) != 0 || tag != 0x30)
			return -1;
		ae = a + al;
		if (der_next(&a, ae, &t, &oid, &oidl) != 0 || t != 0x06 ||
		    der_next(&a, ae, &t, &set, &setl) != 0 || t != 0x31 || a != ae || setl == 0)
			return -1;
		if (found || oidl != sizeof(oid_tw_id) || memcmp(oid, oid_tw_id, oidl) != 0)
			continue;
		s = set;
		se = set + setl;
		if (der_next(&s, se, &st, &v, &vl) != 0)
			return -1;
		/* PrintableString, UTF8String, IA5String or NumericString: the whole
		 * ID (A123456789) or only its last four digits. */
		if (st != 0x13 && st != 0x0c && st != 0x16 && st != 0x12)
			return -1;
		if (vl < 4 || vl > 32)
			return -1;
		for (i = 0; i < vl; i++)
			if (!isalnum(v[i]))
				return -1;
		for (i = vl - 4; i < vl; i++)
			if (!isdigit(v[i]))
				return -1;
		memcpy(digits, v + vl - 4, 4);
		found = 1;
	}
	if (found)
		memcpy(last4, digits, 5);
	return found ? 0 : 1;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
x509_ident_of(X509 *cert, struct x509_ident *out)
{
	const ASN1_OCTET_STRING *aki;
	const ASN1_INTEGER *sn;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	X509_NAME *subj;
	int idx, rc = -1;
	struct tm tm;

	memset(out, 0, sizeof(*out));
	if (cert == NULL)
		return -1;
	aki = X509_get0_authority_key_id(cert);
	if (aki == NULL || ASN1_STRING_length(aki) < 1 ||
	    ASN1_STRING_length(aki) > X509_AKI_HEX_MAX / 2)
		return -1;
	hex_encode(out->aki, ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki));
	sn = X509_get0_serialNumber(cert);
	if (sn == NULL || (bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL || BN_is_negative(bn) ||
	    (hex = BN_bn2hex(bn)) == NULL || strlen(hex) > X509_SERIAL_HEX_MAX)
		goto out;
	snprintf(out->serial, sizeof(out->serial), "%s", hex);
	lower(out->serial);
	snprintf(out->cred_id, sizeof(out->cred_id), "%s:%s", out->aki, out->serial);

	subj = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (idx >= 0) {
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));

		if (ul > 0 && (size_t)ul < sizeof(out->cn) && utf8_valid((const char *)u, (size_t)ul)) {
			int i, ok = 1;

			for (i = 0; i < ul; i++)
				if (u[i] < 0x20 || u[i] == 0x7f)
					ok = 0;
			if (ok)
				memcpy(out->cn, u, (size_t)ul);
		}
		OPENSSL_free(u);
	}
	idx = X509_get_ext_by_NID(cert, NID_subject_directory_attributes, -1);
	if (idx >= 0) {
		ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(cert, idx));

		if (x509_sda_last4(ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d),
		    out->last4) < 0)
			goto out;	/* a malformed extension: refuse the certificate */
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		goto out;
	out->not_after = (int64_t)timegm(&tm);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

X509 *
x509_from_pem(const char *pem)
{
	X509 *x;
	BIO *bio;
	size_t n;

	if (pem == NULL || (n = strnlen(pem, X509_PEM_MAX + 1)) == 0 || n > X509_PEM_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/* ---------------------------------------------------------------- signature */

/* The base64 the local sign server returns, without line breaks, decoded. */
static uint8_t *
b64_loose_decode(const char *in, size_t *outlen)
{
	size_t n = strnlen(in, X509_PKCS7_MAX + 1), i, k = 0;
	char *clean;
	uint8_t *out;

	if (n == 0 || n > X509_PKCS7_MAX || (clean = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (in[i] != '\r' && in[i] != '\n' && in[i] != ' ')
			clean[k++] = in[i];
	clean[k] = '\0';
	if (k == 0 || (out = malloc(k / 4 * 3 + 3)) == NULL) {
		free(clean);
		return NULL;
	}
	if (b64std_decode(out, outlen, clean, k) != 0 || *outlen == 0) {
		free(clean);
		free(out);
		return NULL;
	}
	free(clean);
	return out;
}

static int
digest_strong(const X509_ALGOR *dig)
{
	int nid = dig != NULL ? OBJ_obj2nid(dig->algorithm) : NID_undef;

	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

enum x509_err
x509_verify_signature(const char *b64, const char *nonce, X509 **signer)
{
	return x509_verify_signature_cert(b64, NULL, nonce, signer);
}

/* The certificate of certb64 (base64 DER, nothing trailing) in a new stack;
 * NULL when certb64 is empty; *bad set when it is not a certificate. */
static STACK_OF(X509) * side_cert(const char *certb64, int *bad)
{
	STACK_OF(X509) *sk = NULL;
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;

	*bad = 0;
	if (certb64 == NULL || certb64[0] == '\0')
		return NULL;
	*bad = 1;
	if (strlen(certb64) > X509_PKCS7_MAX || (der = b64_loose_decode(certb64, &len)) == NULL)
		return NULL;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len ||
	    (sk = sk_X509_new_null()) == NULL || sk_X509_push(sk, x) <= 0) {
		X509_free(x);
		sk_X509_free(sk);
		free(der);
		return NULL;
	}
	free(der);
	*bad = 0;
	return sk;
}

enum x509_err
x509_verify_signature_cert(const char *b64, const char *certb64, const char *nonce, X509 **signer)
{
	STACK_OF(X509) *side = NULL;
	int bad_side = 0;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *signers = NULL;
	X509_ALGOR *dig = NULL, *sig = NULL;
	EVP_PKEY *pk = NULL;
	X509 *scert = NULL;
	BIO *dcont = NULL, *out = NULL;
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t derlen = 0, nlen;
	enum x509_err rc = X509E_MALFORMED;
	char *got;
	long gotlen;

	*signer = NULL;
	if (b64 == NULL || nonce == NULL || (nlen = strlen(nonce)) == 0)
		return X509E_MALFORMED;
	if ((side = side_cert(certb64, &bad_side)) == NULL && bad_side)
		return X509E_MALFORMED;
	if ((der = b64_loose_decode(b64, &derlen)) == NULL) {
		sk_X509_pop_free(side, X509_free);
		return X509E_MALFORMED;
	}
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen);
	if (cms == NULL || p != der + derlen)	/* nothing may trail the DER */
		goto out;
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
		goto out;
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1)
		goto out;	/* one card, one signature */
	rc = X509E_SIGNATURE;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), &pk, &scert, &dig, &sig);
	if (!digest_strong(dig))
		goto out;
	if (CMS_is_detached(cms) &&
	    (dcont = BIO_new_mem_buf(nonce, (int)nlen)) == NULL) {
		rc = X509E_INTERNAL;
		goto out;
	}
	if ((out = BIO_new(BIO_s_mem())) == NULL) {
		rc = X509E_INTERNAL;
		goto out;
	}
	/* The chain is checked afterwards by x509_validate, with our own anchors
	 * and rules; here only the signature by the carried certificate, or by
	 * the one that came beside it (certb64) when the PKCS#7 carries none. */
	if (CMS_verify(cms, side, NULL, dcont, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
		goto out;
	gotlen = BIO_get_mem_data(out, &got);
	if (gotlen < 0 || (size_t)gotlen != nlen || !ct_equal(got, nonce, nlen))
		goto out;	/* signed something else than this sign-in's nonce */
	if ((signers = CMS_get0_signers(cms)) == NULL || sk_X509_num(signers) != 1)
		goto out;
	*signer = sk_X509_value(signers, 0);
	X509_up_ref(*signer);
	rc = X509E_OK;
out:
	ERR_clear_error();
	sk_X509_free(signers);
	sk_X509_pop_free(side, X509_free);
	BIO_free(dcont);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	free(der);
	return rc;
}

/* ---------------------------------------------------------------- validation */

static int
in_intermediates(X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(xc->inter); i++)
		if (X509_cmp(sk_X509_value(xc->inter, i), x) == 0)
			return 1;
	return 0;
}

static enum x509_err
map_verify_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return X509E_EXPIRED;
	case X509_V_ERR_NO_EXPLICIT_POLICY:
	case X509_V_ERR_INVALID_POLICY_EXTENSION:
		return X509E_POLICY;
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return X509E_USAGE;
	default:
		return X509E_CHAIN;
	}
}

static int
key_ok(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (k == NULL)
		return 0;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(k) >= 2048;
	case EVP_PKEY_EC:
		return EVP_PKEY_get_bits(k) >= 256;
	default:
		return 0;
	}
}

enum x509_err
x509_validate(X509 *cert, int check_revocation, int *rev_unknown)
{
	return x509_validate_why(cert, check_revocation, rev_unknown, NULL, 0);
}

enum x509_err
x509_validate_why(X509 *cert, int check_revocation, int *rev_unknown, char *why, size_t whysz)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	STACK_OF(X509) *chain = NULL;
	enum x509_err rc = X509E_CHAIN;

	if (rev_unknown != NULL)
		*rev_unknown = 0;
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (!x509_enabled())
		return X509E_DISABLED;
	if (cert == NULL)
		return X509E_MALFORMED;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, xc->anchors, cert, xc->inter) != 1) {
		rc = X509E_INTERNAL;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	/* 112-bit security: RSA >= 2048, no SHA-1 signatures in the chain. */
	X509_VERIFY_PARAM_set_auth_level(param, 2);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (sk_ASN1_OBJECT_num(xc->policies) > 0) {
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_POLICY_CHECK |
		    X509_V_FLAG_EXPLICIT_POLICY);
		if (X509_VERIFY_PARAM_set1_policies(param, xc->policies) != 1) {
			rc = X509E_INTERNAL;
			goto out;
		}
	}
	if (X509_verify_cert(ctx) != 1) {
		rc = map_verify_error(X509_STORE_CTX_get_error(ctx));
		goto out;
	}
	chain = X509_STORE_CTX_get1_chain(ctx);
	/* GRCA signs many CAs (GCA, XCA, HCA ...): only the MOICA ones configured
	 * as intermediates may issue a citizen's certificate. */
	if (chain == NULL || sk_X509_num(chain) < 3 || !in_intermediates(sk_X509_value(chain, 1))) {
		rc = X509E_CHAIN;
		goto out;
	}
	if (X509_check_ca(cert) != 0 || !key_ok(cert) ||
	    !(X509_get_extension_flags(cert) & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE)) {
		rc = X509E_USAGE;
		goto out;
	}
	rc = X509E_OK;
	if (check_revocation) {
		switch (x509_revocation_check(cert, sk_X509_value(chain, 1), chain, why, whysz)) {
		case X509_REV_GOOD:
			break;
		case X509_REV_REVOKED:
			rc = X509E_REVOKED;
			break;
		default:
			if (rev_unknown != NULL)
				*rev_unknown = 1;
			if (!xc->fail_open)
				rc = X509E_REV_UNKNOWN;
			break;
		}
	}
out:
	ERR_clear_error();
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(ctx);
	return rc;
}

json_t *
x509_rev_unknown_fields(struct store_txn *t, X509 *cert, const char *why, int accepted)
{
	struct x509_ident id;
	char uid[USER_ID_LEN + 1];
	json_t *f;

	if (x509_ident_of(cert, &id) != 0)
		snprintf(id.cred_id, sizeof(id.cred_id), "-");
	f = json_pack("{s:s s:s s:s}", "card", id.cred_id, "reason", why != NULL && why[0] ? why : "-",
	    "outcome", accepted ? "accepted (fail_open)" : "refused");
	if (f != NULL && t != NULL && id.cred_id[0] != '-' &&
	    x509_lookup(t, id.cred_id, uid, sizeof(uid)) == STORE_OK)
		json_object_set_new(f, "user", json_string(uid));
	return f;
}

/* ---------------------------------------------------------------- bindings */

static int
cred_id_ok(const char *id)
{
	size_t n, i, colon = 0;

	if (id == NULL || (n = strnlen(id, X509_CRED_ID_MAX + 1)) == 0 || n > X509_CRED_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (id[i] == ':')
			colon++;
		else if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return 0;
	}
	return colon == 1 && id[0] != ':' && id[n - 1] != ':';
}

static int
uid_ok(const char *uid)
{
	return uid != NULL && strlen(uid) == USER_ID_LEN;
}

int
x509_lookup(struct store_txn *t, const char *cred_id, char *user_out, size_t outsz)
{
	char key[16 + X509_CRED_ID_MAX];
	json_t *ix = NULL;
	const char *u;
	int rc;

	if (!cred_id_ok(cred_id) || user_out == NULL || outsz < USER_ID_LEN + 1)
		return STORE_INVALID;
	snprintf(key, sizeof(key), "x509/%s", cred_id);
	if ((rc = store_gets(t, T_CRED_INDEX, key, &ix)) != STORE_OK)
		return rc;
	u = json_string_value(json_object_get(ix, "user"));
	rc = uid_ok(u) ? STORE_OK : STORE_CORRUPT;
	if (rc == STORE_OK)
		snprintf(user_out, outsz, "%s", u);
	json_decref(ix);
	return rc;
}

int
x509_bind(struct store_txn *t, const char *user_id, const struct x509_ident *id)
{
	char ikey[16 + X509_CRED_ID_MAX], ckey[64 + X509_CRED_ID_MAX], other[USER_ID_LEN + 1];
	json_t *rec, *ix;
	int rc;

	if (!uid_ok(user_id) || id == NULL || !cred_id_ok(id->cred_id))
		return STORE_INVALID;
	rc = x509_lookup(t, id->cred_id, other, sizeof(other));
	if (rc == STORE_OK && strcmp(other, user_id) != 0)
		return STORE_EXISTS;	/* one card, one account */
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return rc;
	snprintf(ikey, sizeof(ikey), "x509/%s", id->cred_id);
	snprintf(ckey, sizeof(ckey), "%s/x509/%s", user_id, id->cred_id);
	rec = json_pack("{s:s s:s s:s s:s s:I s:I}", "aki", id->aki, "serial", id->serial,
	    "cn", id->cn, "last4", id->last4, "not_after", (json_int_t)id->not_after,
	    "bound", (json_int_t)now_s());
	ix = json_pack("{s:s s:s}", "user", user_id, "cred", id->cred_id);
	if (rec == NULL || ix == NULL)
		rc = STORE_IO;
	else if ((rc = store_puts(t, T_CREDS, ckey, rec, 0)) == STORE_OK)
		rc = store_puts(t, T_CRED_INDEX, ikey, ix, 0);
	json_decref(rec);
	json_decref(ix);
	return rc;
}

struct collect {
	char prefix[48];
	size_t plen;
	json_t *list;        /* records */
	json_t *keys;        /* their cred ids */
};

static int
collect_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct collect *c = ctx;

	if (klen < c->plen || memcmp(key, c->prefix, c->plen) != 0)
		return 1;	/* past our prefix: stop */
	if (klen - c->plen > X509_CRED_ID_MAX)
		return 0;
	json_array_append(c->list, value);
	json_array_append_new(c->keys, json_stringn((const char *)key + c->plen, klen - c->plen));
	return 0;
}

static int
collect(struct store_txn *t, const char *user_id, struct collect *c)
{
	int rc;

	c->plen = (size_t)snprintf(c->prefix, sizeof(c->prefix), "%s/x509/", user_id);
	c->list = json_array();
	c->keys = json_array();
	if (c->list == NULL || c->keys == NULL)
		return STORE_IO;
	rc = store_iter(t, T_CREDS, c->prefix, c->plen, collect_cb, c);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

json_t *
x509_list(struct store_txn *t, const char *user_id)
{
	struct collect c = { .list = NULL };
	size_t i;
	json_t *v;

	if (!uid_ok(user_id))
		return NULL;
	if (collect(t, user_id, &c) != STORE_OK) {
		json_decref(c.list);
		json_decref(c.keys);
		return NULL;
	}
	json_array_foreach(c.list, i, v)
		json_object_set(v, "id", json_array_get(c.keys, i));
	json_decref(c.keys);
	return c.list;
}

int
x509_unbind(struct store_txn *t, const char *user_id, const char *cred_id)
{
	struct collect c = { .list = NULL };
	char key[64 + X509_CRED_ID_MAX];
	int rc, n = 0;
	size_t i;
	json_t *v;

	if (!uid_ok(user_id) || (cred_id != NULL && !cred_id_ok(cred_id)))
		return STORE_INVALID;
	if ((rc = collect(t, user_id, &c)) != STORE_OK)
		goto out;
	json_array_foreach(c.keys, i, v) {
		const char *id = json_string_value(v);
		char owner[USER_ID_LEN + 1];

		if (cred_id != NULL && strcmp(id, cred_id) != 0)
			continue;
		snprintf(key, sizeof(key), "%s/x509/%s", user_id, id);
		if ((rc = store_dels(t, T_CREDS, key)) != STORE_OK)
			goto out;
		/* The index entry goes only when it still names this user. */
		if (cred_id_ok(id) && x509_lookup(t, id, owner, sizeof(owner)) == STORE_OK &&
		    strcmp(owner, user_id) == 0) {
			snprintf(key, sizeof(key), "x509/%s", id);
			if ((rc = store_dels(t, T_CRED_INDEX, key)) != STORE_OK)
				goto out;
		}
		n++;
	}
	rc = n > 0 ? STORE_OK : STORE_NOTFOUND;
out:
	json_decref(c.list);
	json_decref(c.keys);
	return rc;
}

/* ---------------------------------------------------------------- the method */

/* Why a card was refused, as the sign-in page says it (share/i18n). */
static void
say_err(struct proof *p, enum x509_err e)
{
	switch (e) {
	case X509E_MALFORMED: p->error_key = TXT("x509.login.malformed"); break;
	case X509E_SIGNATURE: p->error_key = TXT("x509.login.signature"); break;
	case X509E_REVOKED: p->error_key = TXT("x509.login.revoked"); break;
	case X509E_EXPIRED: p->error_key = TXT("x509.login.expired"); break;
	case X509E_REV_UNKNOWN: p->error_key = TXT("x509.login.unknown"); break;
	case X509E_CHAIN: case X509E_USAGE: case X509E_POLICY:
		p->error_key = TXT("x509.login.untrusted");
		break;
	default:
		break;
	}
}

static int
x509_method_init(struct authd *a, const struct conf *c)
{
	char err[512];

	(void)a;
	if (x509_setup(c, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, "citizen certificate sign-in cannot start", "reason", err, NULL);
		return -1;
	}
	return 0;
}

static int
x509_begin(struct login *l, json_t *out)
{
	uint8_t raw[X509_NONCE_BYTES];
	char nonce[((X509_NONCE_BYTES + 2) / 3) * 4 + 1];

	if (!x509_enabled())
		return METHOD_FAIL;
	if (rand_bytes(raw, sizeof(raw)) != 0)
		return METHOD_ERROR;
	b64std_encode(nonce, raw, sizeof(raw));
	if ((l->state = json_pack("{s:s s:I}", "nonce", nonce,
	    "exp", (json_int_t)(now_s() + X509_NONCE_TTL))) == NULL)
		return METHOD_ERROR;
	/* On the client-certificate listener the page posts mode=tls at once. */
	if (json_object_set_new(out, "nonce", json_string(nonce)) != 0 ||
	    json_object_set_new(out, "mode", json_string(l->tls_peer_cert_pem ? "tls" : "sign")) != 0 ||
	    json_object_set_new(out, "origin", json_string(xc->origin)) != 0 ||
	    json_object_set_new(out, "hashAlgorithm", json_string("SHA256")) != 0 ||
	    json_object_set_new(out, "signatureType", json_string("PKCS7")) != 0)
		return METHOD_ERROR;
	return METHOD_OK;
}

struct create {
	const struct x509_ident *id;
	char uid[USER_ID_LEN + 1];
	const char *ip;
};

/* First sign-in with an unbound card, [x509] unbound = create: a citizen
 * account named after the card, bound to it, in one durable write. */
static int
create_write(struct store_txn *t, void *arg)
{
	struct create *c = arg;
	char name[USERNAME_MAX + 1];
	json_t *f;
	int rc;

	/* Someone may have bound the card meanwhile: then that account it is. */
	if (x509_lookup(t, c->id->cred_id, c->uid, sizeof(c->uid)) == STORE_OK)
		return STORE_OK;
	snprintf(name, sizeof(name), "card-%.8s-%s", c->id->aki, c->id->serial);
	if ((rc = user_create(t, name, c->id->cn[0] ? c->id->cn : name, NULL, c->uid)) != STORE_OK)
		return rc;
	if ((rc = x509_bind(t, c->uid, c->id)) != STORE_OK)
		return rc;
	f = json_pack("{s:s s:s s:s s:s}", "user", c->uid, "username", name, "card", c->id->cred_id,
	    "ip", c->ip != NULL ? c->ip : "-");
	rc = f != NULL ? audit_append(t, "x509.account_created", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
x509_finish(struct login *l, const struct form *f, struct proof *proof)
{
	const char *mode = form_get(f, "mode"), *b64, *nonce;
	struct x509_ident id;
	enum x509_err e;
	X509 *cert = NULL;
	int tls, unknown = 0, result = METHOD_FAIL;
	char uid[USER_ID_LEN + 1], why[512];

	memset(proof, 0, sizeof(*proof));
	if (!x509_enabled())
		return METHOD_FAIL;
	tls = mode != NULL && strcmp(mode, "tls") == 0;
	if (tls) {
		/* The TLS handshake proved the key; no nonce is involved. */
		if (l->tls_peer_cert_pem == NULL) {
			proof->error_key = TXT("x509.login.nocert");
			return METHOD_FAIL;
		}
		if ((cert = x509_from_pem(l->tls_peer_cert_pem)) == NULL) {
			proof->error_key = TXT("x509.login.malformed");
			return METHOD_INVALID;
		}
	} else {
		if (mode != NULL && strcmp(mode, "sign") != 0)
			return METHOD_INVALID;
		nonce = json_string_value(json_object_get(l->state, "nonce"));
		if (nonce == NULL) {
			proof->error_key = TXT("x509.login.signature");
			return METHOD_INVALID;	/* no challenge, or already used */
		}
		if (json_integer_value(json_object_get(l->state, "exp")) < now_s()) {
			proof->error_key = TXT("x509.login.signature");
			return METHOD_FAIL;
		}
		if ((b64 = form_get(f, "pkcs7")) == NULL || b64[0] == '\0') {
			proof->error_key = TXT("x509.login.malformed");
			return METHOD_INVALID;
		}
		e = x509_verify_signature_cert(b64, form_get(f, "certb64"), nonce, &cert);
		if (e != X509E_OK) {
			say_err(proof, e);
			return e == X509E_MALFORMED ? METHOD_INVALID : e == X509E_INTERNAL ?
			    METHOD_ERROR : METHOD_FAIL;
		}
	}
	e = x509_validate_why(cert, 1, &unknown, why, sizeof(why));
	if (unknown) {
		/* The record names the card and the account it is bound to (the
		 * failure record beside it names no user), and why. */
		snprintf(proof->audit_event, sizeof(proof->audit_event), "x509.revocation_unknown");
		proof->audit_extra = x509_rev_unknown_fields(l->txn, cert, why, e == X509E_OK);
	}
	if (e != X509E_OK) {
		say_err(proof, e);
		result = e == X509E_INTERNAL ? METHOD_ERROR : METHOD_FAIL;
		goto out;
	}
	if (x509_ident_of(cert, &id) != 0) {
		proof->error_key = TXT("x509.login.malformed");
		goto out;
	}
	switch (x509_lookup(l->txn, id.cred_id, uid, sizeof(uid))) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		if (!xc->unbound_create) {
			proof->error_key = TXT("x509.login.unbound");
			goto out;
		} else {
			struct create c = { .id = &id, .ip = l->ip };

			if (l->authd == NULL || store_write_sync(l->authd->store, create_write, &c) !=
			    STORE_OK) {
				result = METHOD_ERROR;
				goto out;
			}
			snprintf(uid, sizeof(uid), "%s", c.uid);
		}
		break;
	default:
		result = METHOD_ERROR;
		goto out;
	}
	snprintf(proof->user_id, sizeof(proof->user_id), "%s", uid);
	/* The card signs only after its PIN: something held and something known.
	 * Challenge signing through a page is phishable (a look-alike site can
	 * relay the nonce); a TLS client certificate is bound to this origin's
	 * handshake, so it is not. */
	proof->amr = AMR_SC | AMR_PIN;
	proof->factors = FACTOR_HAVE | FACTOR_KNOW;
	proof->props = PROP_HARDWARE | (tls ? PROP_PHISHING_RESISTANT | PROP_HW_VERIFIED : 0);
	result = METHOD_OK;
out:
	X509_free(cert);
	return result;
}

static int
x509_is_enrolled(struct store_txn *t, const char *user_id)
{
	json_t *l;
	int n;

	if (!x509_enabled() || (l = x509_list(t, user_id)) == NULL)
		return 0;
	n = json_array_size(l) > 0;
	json_decref(l);
	return n;
}

/* The method's reach: a bound card that is still valid shows card + PIN on
 * hardware; phishing-resistant too when this deployment offers the TLS path.
 * skip is a card id ("<aki>:<serial>"). */
static int
x509_reach(struct store_txn *t, const char *user_id, const char *skip, struct policy_cred *out)
{
	json_t *l, *v;
	int64_t now = now_s();
	size_t i;
	int n = 0;

	memset(out, 0, sizeof(*out));
	if (!x509_enabled() || (l = x509_list(t, user_id)) == NULL)
		return 0;
	json_array_foreach(l, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));

		if (json_integer_value(json_object_get(v, "not_after")) <= now ||
		    (skip != NULL && id != NULL && strcmp(id, skip) == 0))
			continue;
		n = 1;
	}
	json_decref(l);
	if (n) {
		out->amr = AMR_SC | AMR_PIN;
		out->factors = FACTOR_HAVE | FACTOR_KNOW;
		out->props = PROP_HARDWARE | (xc->tls ? PROP_PHISHING_RESISTANT | PROP_HW_VERIFIED : 0);
	}
	return n;
}

static int
x509_available(void)
{
	return x509_enabled();
}

const struct authd_method method_x509 = {
	.name = "x509",
	.factors = FACTOR_HAVE | FACTOR_KNOW,
	.props = PROP_HARDWARE,
	.amr = AMR_SC | AMR_PIN,
	/* A later step only on the client-certificate path (AAL3 apps). */
	.flags = METHOD_FIRST | METHOD_STEP_CERT,
	.ui_label = TXT("x509.button"),
	.ui_script = "x509-script", /* share/static/x509.js and its texts */
	.account_template = "account-x509",
	.account_view = x509_account_view,
	.enrolled = x509_is_enrolled,
	.reach = x509_reach,
	.available = x509_available,
	.init = x509_method_init,
	.begin = x509_begin,
	.finish = x509_finish,
	.fini = x509_teardown,
	.admin = &x509_admin,
};

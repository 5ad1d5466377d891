/* tests/fuzz/fuzz_x509.c — libFuzzer target for what the citizen-certificate
 * method parses from the network: the CMS/DER signature posted by the page
 * (through x509_verify_signature, which base64-decodes and parses it), the
 * subjectDirectoryAttributes extension, a certificate's identity, and a CRL
 * (downloaded over plain HTTP: its issuer checks, its scope against a card's
 * distribution point, its fit as a delta to itself). The first byte picks the
 * parser (0 sda, 1 CMS, 2 certificate, 3 CRL); the rest is the input. Checks
 * the promises of x509.h: a refused signature yields no certificate, last4 is
 * four digits or empty, a CRL in scope covers some reasons and one out of
 * scope none. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_last4(const char l4[5])
{
	size_t i, n = strlen(l4);

	if (n != 0 && n != 4)
		abort();
	for (i = 0; i < n; i++)
		if (l4[i] < '0' || l4[i] > '9')
			abort();
}

/* A MOICA-like CA (the test PKI's DN) and a card of it whose CDP is the test
 * PKI's part 1 address (tests/fuzz/corpus/x509/crl-* are that PKI's CRLs). */
static X509 *fz_ca, *fz_card;

static X509 *
fz_cert(const char *subject_ou, EVP_PKEY *k, int ca, const char *cdp)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"TW", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"行政院", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)subject_ou, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(fz_ca != NULL ? fz_ca : x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, fz_ca != NULL ? fz_ca : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE")) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash")) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (cdp != NULL && (e = X509V3_EXT_conf_nid(NULL, &ctx, NID_crl_distribution_points, cdp)) != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, k, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static void
fz_setup(void)
{
	EVP_PKEY *k;

	if (fz_card != NULL)
		return;
	if ((k = EVP_EC_gen("P-256")) == NULL)
		abort();
	fz_ca = fz_cert("內政部憑證管理中心", k, 1, NULL);
	fz_card = fz_cert("card", k, 0, "URI:http://127.0.0.1:2/g2-part1.crl");
	EVP_PKEY_free(k);
	if (fz_ca == NULL || fz_card == NULL)
		abort();
}

static void
fz_crl(const uint8_t *d, size_t n)
{
	const unsigned char *p = d;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
	STACK_OF(DIST_POINT) *dps;
	enum x509_crl_verdict v;
	unsigned reasons = 12345;

	if (crl == NULL)
		return;
	fz_setup();
	dps = X509_get_ext_d2i(fz_card, NID_crl_distribution_points, NULL, NULL);
	(void)x509_crl_check_issuer(crl, fz_ca, 0);
	(void)x509_crl_check_issuer(crl, fz_ca, 1);
	(void)x509_crl_current(crl, 1800000000);
	v = x509_crl_scope(crl, fz_card, dps != NULL ? sk_DIST_POINT_value(dps, 0) : NULL, &reasons);
	if ((v == X509_CRL_OK) != (reasons != 0) || (reasons & ~X509_REASONS_ALL) != 0)
		abort();
	v = x509_crl_scope(crl, fz_ca, NULL, &reasons);
	if ((v == X509_CRL_OK) != (reasons != 0))
		abort();
	(void)x509_crl_delta_fits(crl, crl);
	if (x509_crl_verdict_str(v) == NULL)
		abort();
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_CRL_free(crl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char l4[5];

	if (size < 1 || size > 48 * 1024)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		int rc = x509_sda_last4(data + 1, size - 1, l4);

		if (rc < -1 || rc > 1 || (rc == 0 && strlen(l4) != 4) || (rc != 0 && l4[0] != '\0'))
			abort();
		check_last4(l4);
		break;
	}
	case 1: {
		char *b64 = malloc(((size + 2) / 3) * 4 + 1);
		X509 *signer = NULL;
		enum x509_err e;

		if (b64 == NULL)
			return 0;
		b64std_encode(b64, data + 1, size - 1);
		e = x509_verify_signature(b64, "fuzz-nonce-0123456789", &signer);
		if ((e == X509E_OK) != (signer != NULL))
			abort();
		X509_free(signer);
		free(b64);
		break;
	}
	case 3:
		fz_crl(data + 1, size - 1);
		break;
	default: {
		const unsigned char *p = data + 1;
		X509 *x = d2i_X509(NULL, &p, (long)(size - 1));
		struct x509_ident id;

		if (x != NULL && x509_ident_of(x, &id) == 0)
			check_last4(id.last4);
		X509_free(x);
		break;
	}
	}
	return 0;
}

/* tests/fuzz/fuzz_mds.c — libFuzzer target for the FIDO MDS3 BLOB reader
 * (modules/fido_mds.c). The input goes in twice: as a whole BLOB (the JWS
 * splitting, header JSON, x5c certificates, chain check against a fixed
 * root, signature), and as a payload after the signature (the entries, status
 * reports, dates, AAGUIDs and key identifiers, attestation root certificates,
 * the indexes). Whatever is accepted must be consistent: every entry found
 * by its AAGUID has that AAGUID and a root list, and nothing is found in an
 * empty index. The fixed root is a fresh self-signed certificate, so no
 * fuzzed BLOB can chain to it: reaching the payload from a whole BLOB is not
 * expected, the payload entry point covers that part. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fido_mds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static STACK_OF(X509) *anchors;

static void
setup(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;

	if (k == NULL || x == NULL || (anchors = sk_X509_new_null()) == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz root", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	if (X509_sign(x, k, EVP_sha256()) == 0 || !sk_X509_push(anchors, x))
		abort();
	EVP_PKEY_free(k);
}

static void
check(const struct fido_mds *m, const uint8_t *data, size_t size)
{
	uint8_t probe[20] = { 0 };
	const struct fido_mds_entry *e;
	size_t i;

	if (fido_mds_count(m) > FIDO_MDS_MAX_ENTRIES)
		abort();
	/* look up every 16-byte window of the input as an AAGUID */
	for (i = 0; i + 16 <= size && i < 4096; i += 16) {
		if ((e = fido_mds_find_aaguid(m, data + i)) != NULL &&
		    (!e->has_aaguid || memcmp(e->aaguid, data + i, 16) != 0 || e->roots == NULL ||
		    sk_X509_num(e->roots) > FIDO_MDS_MAX_ROOTS || strlen(e->status) >= sizeof(e->status)))
			abort();
	}
	e = fido_mds_find_keyid(m, probe);
	if (e != NULL && e->roots == NULL)
		abort();
	if (fido_mds_count(m) == 0 && fido_mds_find_aaguid(m, probe) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a fixed "now" inside the dates the seeds use, so runs are repeatable */
	const time_t now = 1767225600;	/* 2026-01-01 */
	struct fido_mds *m = NULL;
	char err[256];

	if (anchors == NULL)
		setup();
	if (size > 1 << 20)
		return 0;
	if (fido_mds_parse((const char *)data, size, anchors, NULL, now, &m, err, sizeof(err)) == 0) {
		check(m, data, size);
		fido_mds_free(m);
		m = NULL;
	}
	if (fido_mds_from_payload((const char *)data, size, now, &m, err, sizeof(err)) == 0) {
		check(m, data, size);
		fido_mds_free(m);
	} else if (m != NULL) {
		abort();	/* a refusal leaves nothing behind */
	}
	return 0;
}

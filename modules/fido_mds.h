/* modules/fido_mds.h — the FIDO Metadata Service (MDS3) BLOB, read from a
 * file the operator downloads (https://mds3.fidoalliance.org/); authd never
 * fetches it.
 *
 * The BLOB is a JWS (compact JWT) whose x5c header carries the signing
 * certificate and its chain; it is trusted only when that chain ends at the
 * configured root (the FIDO Alliance's: GlobalSign Root CA - R3, see
 * docs/webauthn.md), optionally checked against CRLs the operator downloaded
 * with it, and its signature verifies with the first certificate
 * (RS256, ES256 or PS256, pinned to that certificate's key type). A BLOB past
 * its nextUpdate date is refused at load and stops vouching at run time
 * (fido_mds_current).
 *
 * From the payload authd keeps, per authenticator model (AAGUID, or for U2F
 * keys the attestation certificate key identifiers): the attestation root
 * certificates of its metadata statement, its current status and whether that
 * status means it is compromised (see fido_mds_entry). The index is read-only
 * once loaded and may be shared between threads. */
#ifndef AUTHD_FIDO_MDS_H
#define AUTHD_FIDO_MDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define FIDO_MDS_MAX_BYTES (64u << 20)   /* the BLOB file; today's is about 5 MB */
#define FIDO_MDS_MAX_ENTRIES 20000
#define FIDO_MDS_MAX_ROOTS 16            /* attestation roots per entry */

struct fido_mds;

struct fido_mds_entry {
	uint8_t aaguid[16];
	int has_aaguid;
	STACK_OF(X509) *roots;     /* metadataStatement.attestationRootCertificates */
	char status[40];           /* the status report in force (latest effective) */
	/* 1 when the model must not be trusted: the status in force is REVOKED,
	 * USER_VERIFICATION_BYPASS, ATTESTATION_KEY_COMPROMISE,
	 * USER_KEY_REMOTE_COMPROMISE or USER_KEY_PHYSICAL_COMPROMISE; or REVOKED
	 * or ATTESTATION_KEY_COMPROMISE was ever reported (a later firmware cannot
	 * make old attestation keys safe); or the entry could not be read. */
	int compromised;
	char description[96];
};

/* Reads and checks the BLOB at blob_path against the root certificate(s) in
 * root_path (PEM) and, when crl_path is not NULL, the CRLs in it (PEM). now:
 * the time to check validity and nextUpdate at. 0 with *out, or -1 with a
 * message for the operator in err. */
int fido_mds_load(const char *blob_path, const char *root_path, const char *crl_path, time_t now,
                  struct fido_mds **out, char *err, size_t errsz);

/* The same from memory, with the anchors (and CRLs, may be NULL) given;
 * the caller keeps what it passed in. */
int fido_mds_parse(const char *blob, size_t n, STACK_OF(X509) *anchors,
                   STACK_OF(X509_CRL) *crls, time_t now, struct fido_mds **out, char *err,
                   size_t errsz);

/* The payload alone, after its signature was checked (the fuzzer's way in). */
int fido_mds_from_payload(const char *json, size_t n, time_t now, struct fido_mds **out,
                          char *err, size_t errsz);

void fido_mds_free(struct fido_mds *m);

/* 1 while now is on or before the BLOB's nextUpdate date (UTC). */
int fido_mds_current(const struct fido_mds *m, time_t now);
time_t fido_mds_next_update(const struct fido_mds *m);
long long fido_mds_serial(const struct fido_mds *m);
size_t fido_mds_count(const struct fido_mds *m);

/* The entry for an AAGUID, or for a U2F attestation certificate's key
 * identifier (SHA-1 of its subjectPublicKey); NULL when not listed. The
 * entry (and its roots) belongs to m: borrowed until fido_mds_free(m). */
const struct fido_mds_entry *fido_mds_find_aaguid(const struct fido_mds *m, const uint8_t aaguid[16]);
const struct fido_mds_entry *fido_mds_find_keyid(const struct fido_mds *m, const uint8_t keyid[20]);

/* "YYYY-MM-DD" as the UTC midnight starting that day; -1 when malformed. */
time_t fido_mds_date(const char *s);

#endif

/* modules/webauthn_attest.h — the attestation statement formats of WebAuthn
 * (Level 3 §8): what a statement proves about the key that made it.
 *
 * wa_attest_verify() checks a decoded statement (struct wa_att, webauthn.h)
 * against authenticator data and the client data hash: the signature (or the
 * nonce of an anonymisation CA), the binding between the attested key and the
 * credential key, and the format's certificate rules. It does not decide
 * whether the key is hardware: that needs the certificate chain to end at a
 * root the operator trusts, which webauthn_trust.c decides from the record,
 * with the trust configuration of the moment.
 *
 * Results: WA_OK with *ev filled; WA_ATTESTATION when the statement is false
 * (a signature or nonce that does not verify, an attested key that is not the
 * credential key, a TPM quote over something else) — the registration is then
 * refused; WA_INTERNAL. A statement that is genuine but cannot be vouched for
 * (a format authd does not verify, a certificate that breaks its format's
 * rules, an Android key kept in software) is WA_OK with type
 * WA_ATT_UNVERIFIED and a note: the key registers as an unattested passkey. */
#ifndef AUTHD_WEBAUTHN_ATTEST_H
#define AUTHD_WEBAUTHN_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "webauthn.h"

enum wa_att_type {
	WA_ATT_NONE,        /* "none": nothing to verify */
	WA_ATT_SELF,        /* packed self attestation: signed by the credential key */
	WA_ATT_BASIC,       /* a certificate chain: Basic or AttCA (packed, fido-u2f, tpm, android-key) */
	WA_ATT_ANONCA,      /* an anonymisation CA's chain (apple) */
	WA_ATT_UNVERIFIED,  /* a statement authd cannot vouch for; see note */
};

struct wa_evidence {
	enum wa_att_type type;
	const char *note;   /* static English text for WA_ATT_UNVERIFIED, else NULL */
};

/* The names kept in a record's "att" member, and back (-1: unknown). */
const char *wa_att_type_name(enum wa_att_type t);
int wa_att_type_from_name(const char *s);

int wa_attest_verify(const struct wa_att *att, const struct wa_authdata *ad,
                     const uint8_t cdh[32], struct wa_evidence *ev);

/* From webauthn.c: the length of the one well-formed CBOR item at p, by a
 * bounded walk of its shape before libcbor allocates anything (declared
 * lengths must fit the input, nesting <= 8, no indefinite lengths); 0 when
 * there is none. Every CBOR input goes through it before cbor_load. */
size_t webauthn_cbor_item_len(const uint8_t *p, size_t n);

/* The credential public key of a COSE_Key (EC2 P-256, OKP Ed25519 or RSA), as
 * an EVP_PKEY the caller frees; NULL when it is none of those. */
EVP_PKEY *wa_cose_pkey(const uint8_t *cose, size_t n);

/* Parsers of the binary structures inside statements, exposed for the tests
 * and the fuzzer. Each reads exactly n bytes or fails (-1). */
struct wa_tpm_public {
	uint16_t type, name_alg;       /* TPM_ALG_RSA / TPM_ALG_ECC; the Name's hash */
	uint32_t attributes;
	uint32_t exponent;             /* RSA; 0 means 65537 */
	uint16_t curve;                /* ECC: TPM_ECC_NIST_P256 = 3 */
	const uint8_t *unique1, *unique2; /* RSA: n, -; ECC: x, y (into the input) */
	size_t unique1_len, unique2_len;
};
int wa_tpm_public_parse(const uint8_t *p, size_t n, struct wa_tpm_public *out);

struct wa_tpm_attest {
	uint32_t magic;
	uint16_t type;
	const uint8_t *extra_data, *name; /* TPM2B contents (into the input) */
	size_t extra_data_len, name_len;
};
int wa_tpm_attest_parse(const uint8_t *p, size_t n, struct wa_tpm_attest *out);

/* The Android key attestation extension (OID 1.3.6.1.4.1.11129.2.1.17). */
struct wa_android_kd {
	long attestation_security_level;  /* 0 software, 1 TEE, 2 StrongBox */
	const uint8_t *challenge;
	size_t challenge_len;
	int all_applications;             /* in either list */
	int tee_origin_generated, tee_purpose_sign;
	int sw_origin_generated, sw_purpose_sign;
};
int wa_android_kd_parse(const uint8_t *p, size_t n, struct wa_android_kd *out);

#endif

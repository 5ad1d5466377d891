/* modules/webauthn.h — FIDO2 / WebAuthn: security keys and passkeys.
 *
 * Verification is split from storage so it can be tested with software-made
 * registrations: webauthn_register_verify() and webauthn_assert_verify() take
 * what the browser sent (base64url, as posted by the page script) and the
 * challenge we issued, decode the CBOR with libcbor, verify the attestation
 * statement (webauthn_attest.c) and assertion signatures (libfido2).
 *
 * Whether a key is hardware is never stored as a verdict: the record keeps
 * the evidence (format, attestation type, certificate chain, AAGUID, backup
 * flags) and webauthn_trust.c judges it against the trust configuration of
 * the moment, every time the key is used or shown (docs/webauthn.md).
 *
 * Records (docs/webauthn.md):
 *  T_CREDS "<uid>/webauthn/<ref>" -> {"credential_id": b64url, "alg": COSE alg,
 *      "cose": b64url COSE_Key, "pk": b64url key in libfido2's form, "sign_count",
 *      "aaguid": hex, "fmt", "att": "none"|"self"|"basic"|"anonca"|"unverified",
 *      "att_note": why a statement was not verified (absent when it was),
 *      "x5c": [b64url DER, leaf first] (basic, anonca), "be", "bs": backup
 *      eligible / backed up, "uv": bool (UV seen at registration),
 *      "transports": [..], "name", "created", "last_used", "suspicious": bool}
 *      Records written before attestation chains were kept have "attested"
 *      instead of "att"/"x5c": they count as passkeys (webauthn_trust.c).
 *  T_CREDS "<uid>/webauthn-user/0" -> {"handle": b64url}: the opaque user.id
 *  T_CRED_INDEX "webauthn/<ref>" -> {"user", "cred": ref}
 *  T_CRED_INDEX "webauthn-user/<handle>" -> {"user"}
 * <ref> is base64url(SHA-256(credential id)): credential ids may be 1023 bytes,
 * more than an LMDB key holds. */
#ifndef AUTHD_WEBAUTHN_H
#define AUTHD_WEBAUTHN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../authd/store.h"
#include "method.h"

struct conf;
struct http_req;

#define WA_CHALLENGE_BYTES 32
#define WA_CRED_ID_MAX 1023          /* WebAuthn §5.8.3 */
#define WA_CDJ_MAX 4096              /* clientDataJSON bytes */
#define WA_ATT_MAX 16384             /* attestationObject bytes */
#define WA_AUTHDATA_MAX 4096         /* authenticatorData bytes in an assertion */
#define WA_SIG_MAX 1024
#define WA_NAME_MAX 64               /* a credential's user-given name, bytes */
#define WA_REF_LEN 43                /* base64url of a SHA-256 */
#define WA_MAX_CREDS 32              /* per user */
#define WA_MAX_ORIGINS 8
#define WA_X5C_MAX 8                 /* certificates in an attestation chain */
#define WA_CERT_MAX 8192             /* bytes of one certificate */
#define WA_TPM_MAX 2048              /* bytes of a TPM certInfo or pubArea */

/* Authenticator data flags (WebAuthn §6.1). */
#define WA_FLAG_UP 0x01
#define WA_FLAG_UV 0x04
#define WA_FLAG_BE 0x08              /* backup eligible: a multi-device (synced) credential */
#define WA_FLAG_BS 0x10              /* backed up now */
#define WA_FLAG_AT 0x40
#define WA_FLAG_ED 0x80

enum wa_err {
	WA_OK = 0,
	WA_MALFORMED,       /* bad base64url, JSON or CBOR, or a field out of bounds */
	WA_TYPE,            /* clientDataJSON type is not the expected one */
	WA_CHALLENGE,       /* not the challenge we issued */
	WA_ORIGIN,          /* origin not configured, or a cross-origin call */
	WA_RP,              /* rpIdHash is not SHA-256 of our rp id */
	WA_UP,              /* user presence flag missing */
	WA_UV,              /* user verification required but not done */
	WA_ATTESTATION,     /* attestation statement does not verify / unsupported format */
	WA_ALG,             /* public key algorithm not ES256, EdDSA or RS256 */
	WA_SIGNATURE,       /* assertion signature does not verify */
	WA_COUNTER,         /* signature counter did not increase: a cloned key? */
	WA_UNKNOWN,         /* no such credential (or it is marked suspicious) */
	WA_DENIED,          /* the key's model (AAGUID) is on [webauthn] denied_aaguids */
	WA_SYNCED,          /* a synced passkey where synced_passkeys = refuse */
	WA_BACKUP,          /* backup flags inconsistent, or backup eligibility changed */
	WA_INTERNAL,
};
const char *webauthn_strerror(int err);

/* Takes [webauthn] from the config (rp id and origins default to the issuer's
 * host and origin). Called by the method's init before threads start; tests
 * call it directly. 0, or -1 with a message in err. */
int webauthn_configure(const struct conf *c, char *err, size_t errsz);
void webauthn_fini(void);

/* Decoded authenticator data; pointers point into the input. */
struct wa_authdata {
	const uint8_t *rp_id_hash;   /* 32 bytes */
	uint8_t flags;
	uint32_t sign_count;
	int has_cred;                /* attested credential data present */
	const uint8_t *aaguid;       /* 16 bytes */
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose;         /* the COSE_Key, cose_len bytes */
	size_t cose_len;
	int alg;                     /* COSE alg of the key (when has_cred) */
};
int webauthn_authdata_parse(const uint8_t *p, size_t n, struct wa_authdata *out);

/* Decoded attestation object; authdata and the attStmt members are copies.
 * For the formats authd verifies (none, packed, fido-u2f, tpm, android-key,
 * apple) attStmt must hold only that format's members; for any other format
 * (android-safetynet, compound, ...) it is not read (unparsed = 1) and the key
 * registers as an unattested passkey. */
struct wa_att {
	char fmt[32];
	uint8_t *authdata;
	size_t authdata_len;
	int alg;                     /* attStmt alg, 0 when absent */
	uint8_t *sig;
	size_t sig_len;
	uint8_t *x5c[WA_X5C_MAX];    /* the certificate chain (DER), leaf first */
	size_t x5c_len[WA_X5C_MAX];
	int n_x5c;
	char ver[8];                 /* tpm: "2.0" */
	uint8_t *cert_info;          /* tpm: TPMS_ATTEST */
	size_t cert_info_len;
	uint8_t *pub_area;           /* tpm: TPMT_PUBLIC */
	size_t pub_area_len;
	int ecdaa;                   /* ecdaaKeyId present (ECDAA: not supported) */
	int unparsed;                /* a format whose attStmt authd does not read */
};
/* Parses the CBOR attestationObject {fmt, attStmt, authData}; the whole input
 * must be one item. WA_OK or WA_MALFORMED. Free with webauthn_att_free. */
int webauthn_att_parse(const uint8_t *p, size_t n, struct wa_att *out);
void webauthn_att_free(struct wa_att *a);

/* Verifies a registration (navigator.credentials.create) against the challenge
 * we issued (base64url). On WA_OK *rec is the new credential record (without
 * name/created/transports; owned by the caller). A key whose model is denied,
 * or a synced passkey where the policy refuses them, gives WA_DENIED /
 * WA_SYNCED; every attestation format registers (an unverifiable statement
 * as an unattested passkey, its record saying why in "att_note"). */
int webauthn_register_verify(const char *client_data_b64, const char *att_obj_b64,
                             const char *challenge, int uv_required, json_t **rec);

/* Verifies an assertion (navigator.credentials.get) made with credential rec.
 * *flags and *count get the authenticator's flags and counter on WA_OK. A key
 * whose model is now denied gives WA_DENIED; a BE flag other than the one
 * registered gives WA_BACKUP (WebAuthn L3 §7.2 step 18). */
int webauthn_assert_verify(const json_t *rec, const char *client_data_b64,
                           const char *authdata_b64, const char *sig_b64, const char *challenge,
                           int uv_required, uint8_t *flags, uint32_t *count);

/* ref = base64url(SHA-256(credential id)) from the base64url credential id;
 * -1 when it is not valid base64url of 1..WA_CRED_ID_MAX bytes. */
int webauthn_cred_ref(const char *cred_id_b64, char ref[WA_REF_LEN + 1]);

/* Storage (t: a write txn for the changing ones). */
/* The user's opaque handle (user.id), made and indexed when create is set. */
int webauthn_user_handle(struct store_txn *t, const char *uid, int create,
                         char out[WA_REF_LEN + 1]);
/* Adds a verified credential (rec from webauthn_register_verify) with its
 * name and transports. STORE_EXISTS when the credential id is registered
 * already (to anyone), STORE_FULL past WA_MAX_CREDS. */
int webauthn_cred_add(struct store_txn *t, const char *uid, json_t *rec, const char *name,
                      const char *transports);
/* The user's credentials as [{"ref", ...record}] (new reference; empty array
 * when none). NULL on a store error. */
json_t *webauthn_cred_list(struct store_txn *t, const char *uid);
int webauthn_cred_remove(struct store_txn *t, const char *uid, const char *ref);
int webauthn_cred_rename(struct store_txn *t, const char *uid, const char *ref,
                         const char *name);
/* Marks a credential suspicious (it can no longer sign in) and audits why. */
int webauthn_cred_flag(struct store_txn *t, const char *uid, const char *ref,
                       const char *event);
/* 1 when name is an acceptable credential name (1..WA_NAME_MAX bytes of UTF-8,
 * no control characters). */
int webauthn_name_ok(const char *name);

/* The highest level the user's enrolled methods can reach together, leaving
 * out credential skip_ref (NULL: none) — to warn before a removal. */
int webauthn_reachable_level(struct store_txn *t, const char *uid, const char *skip_ref);

/* What a stored credential counts as under the trust configuration of the
 * moment (webauthn_trust.c): 1 for verified hardware. why gets a short reason
 * name ("root", "mds", "none", "nochain", "synced", ...; see docs/webauthn.md)
 * when not NULL. */
int webauthn_cred_hardware(const json_t *rec, const char **why);

/* HTTP: POST /account/webauthn (actions begin, finish, rename, remove). The
 * page script is share/static/webauthn.js. */
void webauthn_account(struct http_req *r);

extern const struct authd_method method_webauthn;
/* authctl webauthn ... (webauthn_admin.c) */
extern const struct method_admin webauthn_admin;

#endif

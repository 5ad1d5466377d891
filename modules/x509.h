/* modules/x509.h — the citizen digital certificate (自然人憑證, MOICA): the
 * "x509" method (challenge signing through the HiPKI Local Sign Server, and TLS
 * client-certificate login), certificate validation (chain to the configured
 * GRCA/MOICA anchors, key usage, policy, revocation by OCSP with a CRL
 * fallback), the identity read from a card certificate, and card bindings.
 *
 * Binding: T_CRED_INDEX "x509/<aki>:<serial>" -> {"user", "cred"} and T_CREDS
 * "<uid>/x509/<aki>:<serial>" -> {"aki", "serial", "cn", "last4", "not_after",
 * "bound"}. aki is the hex of the certificate's Authority Key Identifier (it
 * tells the MOICA generations apart: they share one issuer DN), serial the hex
 * of its serial number, both lower case. The full national ID is never stored,
 * logged or returned: only its last four digits. docs/citizen-certificate.md. */
#ifndef AUTHD_X509_H
#define AUTHD_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../authd/store.h"

struct conf;
struct authd;

extern const struct authd_method method_x509;
/* authctl x509 ... (x509_admin.c) */
extern const struct method_admin x509_admin;

#define X509_NONCE_BYTES 32
#define X509_NONCE_TTL 300          /* seconds a sign-in nonce stays usable */
#define X509_PKCS7_MAX 65536        /* base64 characters of a posted signature */
#define X509_PEM_MAX 16384          /* characters of a client certificate (PEM) */
#define X509_AKI_HEX_MAX 64         /* 32-byte key identifier */
#define X509_SERIAL_HEX_MAX 40      /* RFC 5280: at most 20 octets */
#define X509_CRED_ID_MAX (X509_AKI_HEX_MAX + 1 + X509_SERIAL_HEX_MAX)

/* What a card certificate says about its holder. */
struct x509_ident {
	char aki[X509_AKI_HEX_MAX + 1];
	char serial[X509_SERIAL_HEX_MAX + 1];
	char cred_id[X509_CRED_ID_MAX + 1];   /* "<aki>:<serial>" */
	char cn[256];                          /* subject CN (UTF-8) */
	char last4[5];                         /* last four digits of the ID, "" when absent */
	int64_t not_after;
};

/* Reasons a certificate or signature is refused (x509_strerror gives text). */
enum x509_err {
	X509E_OK = 0,
	X509E_DISABLED,       /* [x509] enabled = false */
	X509E_MALFORMED,      /* not base64 / not DER CMS / not a certificate */
	X509E_SIGNATURE,      /* CMS signature wrong, not over our nonce, weak digest */
	X509E_CHAIN,          /* does not chain to the anchors through a configured intermediate */
	X509E_EXPIRED,        /* outside its validity period */
	X509E_USAGE,          /* no digitalSignature key usage, weak key */
	X509E_POLICY,         /* none of the configured certificate policies */
	X509E_REVOKED,
	X509E_REV_UNKNOWN,    /* neither OCSP nor CRL gave an answer (and fail_open is off) */
	X509E_INTERNAL,
};
const char *x509_strerror(enum x509_err e);

/* Loads anchors, intermediates and policies from c ([x509]); also used by
 * authctl. With enabled = false it succeeds and the method refuses everything.
 * Returns 0, or -1 with err set for the operator. */
int x509_setup(const struct conf *c, char *err, size_t errsz);
void x509_teardown(void);
/* 1 when [x509] is enabled and set up. */
int x509_enabled(void);

/* Parses the subjectDirectoryAttributes extension value (DER, RFC 3739 §3.2.2):
 * last4 gets the last four digits of the ID attribute (OID 2.16.886.1.100.2.51)
 * when present. 0 found, 1 absent, -1 malformed. The ID itself is not kept. */
int x509_sda_last4(const uint8_t *der, size_t len, char last4[5]);
/* Identity of a certificate. 0, or -1 (no AKI, oversize serial, ...). */
int x509_ident_of(X509 *cert, struct x509_ident *out);

/* Verifies a base64 CMS SignedData (PKCS#7) over exactly nonce (attached or
 * detached content), signed with SHA-256 or stronger by a certificate carried
 * in the signature. *signer gets that certificate (caller frees). */
enum x509_err x509_verify_signature(const char *b64, const char *nonce, X509 **signer);
/* The same, where the signer's certificate may come beside the signature:
 * certb64 (base64 DER, as the HiPKI local sign server returns it in its
 * "certb64" field; NULL or "" for none) is searched for the certificate the
 * SignerInfo names when the PKCS#7 does not carry it (real cards' signatures
 * usually do not). It is only a candidate: it must match the SignerInfo's
 * issuer and serial (or key identifier) and verify the signature, and the
 * chain is then validated as for any signer. */
enum x509_err
x509_verify_signature_cert(const char *b64, const char *certb64, const char *nonce, X509 **signer);
/* Chain, validity, key usage, policy, then revocation (when check_revocation).
 * *rev_unknown is set to 1 when revocation could not be determined (so the
 * caller audits it), whatever the fail_open setting made of it. */
enum x509_err x509_validate(X509 *cert, int check_revocation, int *rev_unknown);
/* The same; when revocation could not be determined, why[whysz] says why (see
 * x509_revocation_check), else it is "". */
enum x509_err x509_validate_why(X509 *cert, int check_revocation, int *rev_unknown, char *why,
                                size_t whysz);
/* The fields of an x509.revocation_unknown audit record: the card (issuer key
 * id:serial), the account it is bound to when t is given and it is bound, why,
 * and whether it was let in (fail_open). Nothing else about the holder. New
 * object, or NULL. */
json_t *x509_rev_unknown_fields(struct store_txn *t, X509 *cert, const char *why, int accepted);
/* A certificate from PEM text (bounded). NULL when malformed. */
X509 *x509_from_pem(const char *pem);

/* ---- revocation (modules/x509_revocation.c) */
enum x509_rev { X509_REV_GOOD = 0, X509_REV_REVOKED, X509_REV_UNKNOWN };
/* OCSP (responder from the AIA, answers cached until nextUpdate), then the
 * CRLs of the CDP (RFC 5280 §6.3.3: each CRL must cover the certificate and
 * the distribution point it came from; a delta CRL only with its base; cached
 * per partition on disk and in memory until nextUpdate). why (may be NULL)
 * gets, when the answer is UNKNOWN, what went wrong, for the operator: the
 * addresses and what was wrong with their answers, never personal data. */
enum x509_rev x509_revocation_check(X509 *cert, X509 *issuer, STACK_OF(X509) *chain,
                                    char *why, size_t whysz);
/* Where the CRL of url issued by issuer is cached on disk: crl_cache/<hex of
 * SHA-256 over the kind (complete or delta), the issuer key's hash and url>.crl.
 * 0, or -1 without a cache folder. */
int x509_crl_cache_path(const char *url, X509 *issuer, int delta, char *out, size_t outsz);
int x509_revocation_setup(const struct conf *c, X509_STORE *anchors, char *err, size_t errsz);
void x509_revocation_teardown(void);

/* What is wrong with a CRL for the use at hand (x509_crl_verdict_str gives
 * text). The checks below are the pieces of x509_revocation_check, exported
 * for the unit tests and the fuzzer. */
enum x509_crl_verdict {
	X509_CRL_OK = 0,
	X509_CRL_UNAVAILABLE,  /* not downloaded (network, HTTP status, size, time) */
	X509_CRL_UNPARSABLE,   /* not a DER or PEM CRL */
	X509_CRL_ISSUER,       /* issuer name, authority key identifier or signature not the CA's */
	X509_CRL_CRITICAL,     /* a critical CRL or entry extension authd does not process */
	X509_CRL_MALFORMED,    /* an extension that does not decode, or is repeated; IDP with two only* */
	X509_CRL_STALE,        /* lastUpdate ahead, nextUpdate missing or past */
	X509_CRL_OLDER,        /* older than one already seen for this address (a replay) */
	X509_CRL_DELTA,        /* a delta CRL (deltaCRLIndicator) where a complete CRL is needed */
	X509_CRL_NOT_DELTA,    /* a complete CRL where the delta CRL is needed */
	X509_CRL_PARTITION,    /* its issuingDistributionPoint names other distribution points */
	X509_CRL_KIND,         /* only CA or attribute certificates (or only users' for a CA) */
	X509_CRL_INDIRECT,     /* an indirect CRL (indirectCRL, certificateIssuer entries) */
	X509_CRL_REASONS,      /* the CRLs found cover only some revocation reasons */
	X509_CRL_BASE,         /* a delta that does not fit the base (CRL numbers, scope, issuer) */
};
const char *x509_crl_verdict_str(enum x509_crl_verdict v);

/* RFC 5280 ReasonFlags as bits 1..8 (unused bit 0 excluded). */
#define X509_REASONS_ALL 0x1feu

/* The CRL as a document: issued and signed by issuer (name, AKI, key), no
 * critical extension authd does not process (in the CRL or its entries), no
 * certificateIssuer entries, well-formed extensions, and of the kind wanted
 * (delta 1: a delta CRL, 0: a complete one). Not its dates (x509_crl_current). */
enum x509_crl_verdict x509_crl_check_issuer(X509_CRL *crl, X509 *issuer, int delta);
/* lastUpdate not ahead of now (5 min skew) and nextUpdate present and after now. */
enum x509_crl_verdict x509_crl_current(X509_CRL *crl, time_t now);
/* Whether the complete CRL crl covers cert as the CRL of its distribution point
 * dp (one of cert's CDP entries; NULL: none): not a delta, not indirect; an
 * issuingDistributionPoint's names must meet dp's names (relative names are
 * taken under the CRL's issuer) and its only* flags must admit cert
 * (basicConstraints cA). *reasons gets the reasons it covers (X509_REASONS_ALL
 * without onlySomeReasons): fewer than all can say "revoked", never alone
 * "good". */
enum x509_crl_verdict x509_crl_scope(X509_CRL *crl, X509 *cert, const DIST_POINT *dp,
                                     unsigned *reasons);
/* Whether delta can be used with the complete CRL base (RFC 5280 §5.2.4):
 * deltaCRLIndicator <= base's cRLNumber < delta's cRLNumber, the same issuer,
 * issuingDistributionPoint and authority key identifier. */
enum x509_crl_verdict x509_crl_delta_fits(X509_CRL *base, X509_CRL *delta);

/* ---- bindings (write txns unless noted) */
/* Binds cert's identity to user_id: STORE_EXISTS when it is bound to another
 * user (nothing changes); binding it again to the same user refreshes it. */
int x509_bind(struct store_txn *t, const char *user_id, const struct x509_ident *id);
/* Removes one binding (cred_id) or, with cred_id NULL, all of user_id's.
 * STORE_NOTFOUND when there was none. */
int x509_unbind(struct store_txn *t, const char *user_id, const char *cred_id);
/* The user's bound cards as a JSON array of credential records (read txn). */
json_t *x509_list(struct store_txn *t, const char *user_id);
/* The user bound to a card, user_out USER_ID_LEN+1 (read txn). */
int x509_lookup(struct store_txn *t, const char *cred_id, char *user_out, size_t outsz);

/* The account route (POST /account/x509); the page script is
 * share/static/x509.js. */
struct http_req;
void x509_account_post(struct http_req *r);
/* The data of the account page's section (method.h account_view). */
int x509_account_view(struct store_txn *t, const char *user_id, json_t *out);

#endif

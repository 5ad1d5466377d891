/* modules/wallet_proto.h — the 數位憑證皮夾 (TW digital wallet) verifier
 * module's REST API as a relying party uses it (DWVP-01: the verifier shows a
 * QR code): the request of GET /api/oidvp/qrcode and POST /api/oidvp/result,
 * and the bounded parsing of their answers into a status and the disclosed
 * claims. Pure functions over lib/ and jansson; the HTTP call (with the
 * Access-Token header) is the caller's. Sources and open questions:
 * docs/taiwan-methods.md. */
#ifndef AUTHD_MODULES_WALLET_PROTO_H
#define AUTHD_MODULES_WALLET_PROTO_H

#include <stddef.h>

#define WALLET_TXID_MAX 50            /* the module's limit on transactionId */
#define WALLET_BODY_MAX (256 * 1024)
#define WALLET_IMAGE_MAX (96 * 1024)  /* the data: URL of the QR PNG */
#define WALLET_URI_MAX 4096
#define WALLET_CREDENTIALS_MAX 16
#define WALLET_CLAIMS_MAX 64
#define WALLET_VALUE_MAX 1024

/* A new transactionId: a random UUID v4 (36 characters). out: 37 bytes. */
int wallet_transaction_id_new(char *out);

/* "/api/oidvp/qrcode?ref=…&transactionId=…" (percent-encoded); malloc'd, or
 * NULL when ref (1-128 of [A-Za-z0-9_.-]) or transaction_id is not acceptable. */
char *wallet_qrcode_path(const char *ref, const char *transaction_id);

/* The JSON body of POST /api/oidvp/result; malloc'd, or NULL. */
char *wallet_result_body(const char *transaction_id);

enum wallet_status {
	WALLET_OK = 0,        /* qrcode: created; result: verifyResult true with claims */
	WALLET_PENDING,       /* result: 4002 — nothing presented yet (or an unknown transaction) */
	WALLET_FAILED,        /* result: verifyResult false — the presentation did not verify */
	WALLET_EXPIRED,       /* result: 4003 — the QR's session ended */
	WALLET_REJECTED,      /* our call was refused: Access-Token (35116), parameters, ref */
	WALLET_UNAVAILABLE,   /* HTTP 5xx, 5001 */
	WALLET_MALFORMED,     /* not the protocol, over a bound, or not our transaction */
};

const char *wallet_status_name(enum wallet_status s);

struct wallet_qrcode {
	char *qrcode_image;   /* "data:image/png;base64,…" */
	char *auth_uri;       /* the wallet deep link (modadigitalwallet://, openid4vp:// or https://) */
	char code[16];        /* the module's code, for the audit log */
};

/* Checks the answer of GET /api/oidvp/qrcode for transaction_id. Fills out on
 * WALLET_OK; code always (clear with wallet_qrcode_clear). */
enum wallet_status wallet_parse_qrcode(int http_status, const char *body, size_t len,
                                       const char *transaction_id, struct wallet_qrcode *out);
void wallet_qrcode_clear(struct wallet_qrcode *q);

struct wallet_claim {
	char *credential_type;
	char *ename;          /* the claim's key in the VC template */
	char *cname;          /* its display name (may be "") */
	char *value;          /* as text (numbers and booleans are written out) */
};

struct wallet_result {
	char code[16];
	char *description;    /* resultDescription, or NULL */
	char *holder_did;     /* holderDid when the module sends it, or NULL */
	size_t nclaims;
	struct wallet_claim *claims;
	size_t skipped;       /* claims whose value was an object or array (not kept) */
};

/* Checks the answer of POST /api/oidvp/result for transaction_id. On
 * WALLET_OK the claims are filled; description and code on the others too.
 * Clear with wallet_result_clear. */
enum wallet_status wallet_parse_result(int http_status, const char *body, size_t len,
                                       const char *transaction_id, struct wallet_result *out);
void wallet_result_clear(struct wallet_result *r);

/* The value of claim ename (of credential_type, or of any when NULL); NULL
 * when absent or when two credentials disagree. Borrowed from r. */
const char *wallet_claim(const struct wallet_result *r, const char *credential_type, const char *ename);

#endif

/* modules/twfido_proto.h — the arithmetic of the TW FidO (台灣行動身分識別 /
 * 行動自然人憑證, 內政部) relying-party API: the sp_checksum / idp_checksum,
 * the request bodies of getSpTicket, requestAthOrSignPush and
 * getAthOrSignResult, the checks of their answers (idp_checksum, sp_ticket,
 * bounds) and the classification of result codes. Pure functions: no I/O, no
 * store, no HTTP; lib/, OpenSSL and jansson only. The protocol and what is
 * known or uncertain about it: docs/taiwan-methods.md.
 *
 * Trust: the checksum is AES-GCM under a key shared with the service, often
 * with a fixed IV, so it is integrity against accidents and strangers, not a
 * signature. TLS to the configured host carries the trust; a SIGN result's
 * signed_response must still be verified against the MOICA chain. */
#ifndef AUTHD_MODULES_TWFIDO_PROTO_H
#define AUTHD_MODULES_TWFIDO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TWFIDO_KEY_LEN 32
#define TWFIDO_IV_LEN 12
#define TWFIDO_TAG_LEN 16
/* hex( IV(12) || AES-256-GCM( 64 hex chars of SHA-256 ) (64) || tag(16) ) */
#define TWFIDO_CHECKSUM_HEX_LEN (2 * (TWFIDO_IV_LEN + 64 + TWFIDO_TAG_LEN))
#define TWFIDO_TXID_MAX 100      /* transaction_id: the spec's limit */
#define TWFIDO_TICKET_ID_MAX 100
#define TWFIDO_HASHED_MAX 128
#define TWFIDO_SIGN_DATA_MAX 1024
#define TWFIDO_TIME_LIMIT_MIN 30
#define TWFIDO_TIME_LIMIT_MAX 600
#define TWFIDO_POLL_MIN_MS 4000  /* the spec's recommended minimum between polls */
#define TWFIDO_BODY_MAX (256 * 1024)

/* The checksum of fields[0..n) concatenated (a NULL field counts as ""):
 * hex(iv || AES-256-GCM_key(lowercase hex SHA-256 of the UTF-8 bytes) || tag).
 * The caller picks the IV (random, or the zero IV of the spec's sample code;
 * the service reads it from the checksum). out: TWFIDO_CHECKSUM_HEX_LEN + 1
 * bytes. 0, or -1 on failure. */
int twfido_checksum(const uint8_t key[TWFIDO_KEY_LEN], const uint8_t iv[TWFIDO_IV_LEN],
                    const char *const *fields, size_t n, char *out);

/* 1 when hex is a checksum of fields under key (whatever its IV), 0 otherwise
 * (wrong length, not hex, tag mismatch, other content). The final comparison
 * is constant-time. */
int twfido_checksum_verify(const uint8_t key[TWFIDO_KEY_LEN], const char *const *fields, size_t n,
                           const char *hex);

/* 1 when s is a Taiwan national ID (A123456789) or a resident certificate
 * number of the 2021 format (A800000014) with a correct check digit. */
int twfido_id_num_valid(const char *s);

enum twfido_op {
	TWFIDO_OP_ATH,   /* authenticate */
	TWFIDO_OP_SIGN,  /* sign sign_data with the person's mobile MOICA certificate */
};

enum twfido_mode {
	TWFIDO_MODE_PUSH,      /* requestAthOrSignPush: a push to the phones of id_num */
	TWFIDO_MODE_ISCAN,     /* getSpTicket op_mode I-SCAN: the person scans a QR */
	TWFIDO_MODE_APP2APP,   /* getSpTicket op_mode APP2APP: a deep link on the same phone */
	TWFIDO_MODE_MWEB2APP,  /* getSpTicket op_mode MWEB2APP: from the phone's browser */
};

/* What the caller asks for. Strings are borrowed. */
struct twfido_request {
	const char *transaction_id;  /* 1..100 [A-Za-z0-9-], unique per request (a UUID) */
	const char *sp_service_id;
	const char *id_num;          /* PUSH: required; QR / app modes: optional (NULL or "") */
	const char *device;          /* PUSH only: device_user_def_desc, optional */
	enum twfido_op op;
	enum twfido_mode mode;
	const char *hint;            /* shown on the phone; may be NULL */
	int time_limit;              /* seconds, 30..600 */
	/* SIGN only: */
	const char *sign_data;       /* as sent: base64 when tbs_base64, else text; <= 1024 chars */
	const char *sign_type;       /* "PKCS#7", "PKCS#1" or "RAW" */
	const char *hash_alg;        /* "SHA1", "SHA256", "SHA384", "SHA512" (not for RAW) */
	int tbs_base64;              /* 1: tbs_encoding "base64", 0: "NONE" */
};

/* The JSON body (with sp_checksum) of requestAthOrSignPush (mode PUSH) or
 * getSpTicket (the other modes); *method is set to that method name (the
 * path is {api}/{method}). NULL, with err filled, on bad input. The caller
 * owns the result. */
json_t *twfido_build_auth(const struct twfido_request *r, const uint8_t key[TWFIDO_KEY_LEN],
                          const uint8_t iv[TWFIDO_IV_LEN], const char **method, char *err, size_t errsz);

/* The JSON body of getAthOrSignResult. NULL on bad input. Caller owns it. */
json_t *twfido_build_result(const char *transaction_id, const char *sp_service_id,
                            const char *sp_ticket_id, const uint8_t key[TWFIDO_KEY_LEN],
                            const uint8_t iv[TWFIDO_IV_LEN]);

enum twfido_status {
	TWFIDO_OK = 0,        /* success, idp_checksum verified, bound to our request */
	TWFIDO_PENDING,       /* 20002, 20003, SPTKTID_TXNLOG_NF: not done yet, poll again */
	TWFIDO_SLOW_DOWN,     /* HTTP 429: polled sooner than the service allows */
	TWFIDO_DENIED,        /* the person cancelled, or the app could not sign */
	TWFIDO_EXPIRED,       /* the ticket's time_limit passed (SPTKT_OVD) */
	TWFIDO_NOT_ENROLLED,  /* no app / device / push route for that ID */
	TWFIDO_REPLAYED,      /* the ticket's result was already fetched (SPTKTID_SPTKT_RDM) */
	TWFIDO_WRONG_PERSON,  /* the result names someone else than the ticket did */
	TWFIDO_REJECTED,      /* our request was refused (checksum, service id, parameters) */
	TWFIDO_UNAVAILABLE,   /* the service's own failure (database, push module, HTTP 5xx) */
	TWFIDO_BAD_CHECKSUM,  /* a success whose idp_checksum is missing or wrong */
	TWFIDO_MALFORMED,     /* not the protocol: bad JSON, bounds, ticket not ours */
};

/* A short English name of s, for logs ("ok", "pending", ...). */
const char *twfido_status_name(enum twfido_status s);

/* Classifies a result code as the service returns it: "0", "20002", or
 * "{interface}-{code}" such as "SP-API-ATH-02-SPTKT_OVD" (the bare code is
 * accepted too). Never returns TWFIDO_OK for anything but "0". */
enum twfido_status twfido_classify(const char *error_code);

/* A ticket from getSpTicket / requestAthOrSignPush. */
struct twfido_ticket {
	char *sp_ticket;                                /* as received; goes into the QR / deep link */
	char sp_ticket_id[TWFIDO_TICKET_ID_MAX + 1];
	char hashed_id_num[TWFIDO_HASHED_MAX + 1];      /* "" for a QR ticket that names nobody */
	char op_code[8];
	char error_code[64];                            /* the answer's code, for the audit log */
};

/* Checks an answer of getSpTicket / requestAthOrSignPush: on "0" the
 * idp_checksum over transaction_id + "0" + sp_ticket (our transaction_id,
 * never one read from the answer), and the sp_ticket: BASE64URL(JSON) "."
 * BASE64URL(SHA-256(first segment)) whose payload names our transaction_id
 * and sp_service_id. Fills out (which the caller clears with
 * twfido_ticket_clear) only on TWFIDO_OK; error_code always. */
enum twfido_status twfido_parse_ticket(int http_status, const char *body, size_t len,
                                       const uint8_t key[TWFIDO_KEY_LEN], const char *transaction_id,
                                       const char *sp_service_id, struct twfido_ticket *out);
void twfido_ticket_clear(struct twfido_ticket *t);

/* A result from getAthOrSignResult. */
struct twfido_result {
	char hashed_id_num[TWFIDO_HASHED_MAX + 1];  /* the person's stable identifier */
	char *signed_response;                      /* base64 (SIGN), else NULL; caller verifies it */
	char *cert;                                 /* base64 DER of the signing certificate, or NULL */
	char error_code[64];
};

/* Checks an answer of getAthOrSignResult: HTTP status, code, and on "0" the
 * idp_checksum over transaction_id + "0" + hashed_id_num + signed_response
 * (or ""). expected_hashed (the ticket's hashed_id_num; NULL or "" when the
 * ticket named nobody) must equal the result's. Other answers carry no
 * checksum: they can only fail the sign-in, never succeed it. Fills out on
 * TWFIDO_OK (clear with twfido_result_clear); error_code always. */
enum twfido_status twfido_parse_result(int http_status, const char *body, size_t len,
                                       const uint8_t key[TWFIDO_KEY_LEN], const char *transaction_id,
                                       const char *expected_hashed, struct twfido_result *out);
void twfido_result_clear(struct twfido_result *r);

/* The deep link that opens the 行動自然人憑證 app on the same phone (APP-API-01):
 * mobilemoica://moica.moi.gov.tw/{w2a|a2a}/verifySign?sp_ticket=…&rtn_url=
 * BASE64URL(rtn_url)&rtn_val=BASE64URL(rtn_val). from_web: 1 for a page in
 * the phone's browser (w2a, ticket op_mode MWEB2APP), 0 for an app (a2a,
 * APP2APP). malloc'd, or NULL. */
char *twfido_app_link(int from_web, const char *sp_ticket, const char *rtn_url, const char *rtn_val);

#endif

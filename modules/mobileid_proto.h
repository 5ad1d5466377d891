/* modules/mobileid_proto.h — the arithmetic of TWCA's Mobile ID (行動身分識別,
 * 電信認證) "TWID Portal" API: IdentifyNo, the form fields of the Login call,
 * of the browser's form POST to TWCA's page and of the server-to-server
 * confirmation, and the checks of the JSON answers and of the form TWCA posts
 * back to the ReturnURL. Pure functions over lib/, OpenSSL and jansson. The
 * protocol and what is certain or not: docs/taiwan-methods.md.
 *
 * IdentifyNo = lower-case hex SHA-256 over the UTF-16LE bytes of the listed
 * fields concatenated in a fixed order, followed by the secret HashKey that
 * HashKeyNo names. The ReturnURL and IdentifyNo itself are never included.
 * A return POST arrives through the person's browser: IdentifyNo shows it was
 * made with the HashKey, but only the caller's one-time login state (bound to
 * the browser) and the server-to-server confirmation make it a sign-in. */
#ifndef AUTHD_MODULES_MOBILEID_PROTO_H
#define AUTHD_MODULES_MOBILEID_PROTO_H

#include <stddef.h>

#include "../lib/form.h"

#define MOBILEID_IDENTIFY_LEN 64   /* hex chars */
#define MOBILEID_VERIFY_NO_MAX 50
#define MOBILEID_TOKEN_MAX 128
#define MOBILEID_FIELDS_MAX 10
#define MOBILEID_BODY_MAX (64 * 1024)

/* IdentifyNo of fields[0..n) (NULL counts as "") and hash_key, into out
 * (MOBILEID_IDENTIFY_LEN + 1 bytes). -1 when a field is not valid UTF-8 or
 * the input is over 64 KiB. */
int mobileid_identify_no(const char *const *fields, size_t n, const char *hash_key, char *out);

/* 1 when given is the IdentifyNo of fields and hash_key (exactly: 64
 * lower-case hex digits), compared in constant time; 0 otherwise. */
int mobileid_identify_ok(const char *const *fields, size_t n, const char *hash_key, const char *given);

/* What the city was given when it registered (strings borrowed). */
struct mobileid_config {
	const char *business_no;   /* BusinessNo (應用平台代號) */
	const char *api_version;   /* "1.0" */
	const char *hash_key_no;   /* HashKeyNo: which HashKey */
	const char *hash_key;      /* the secret */
};

/* An ordered list of form fields (name, value); values malloc'd. */
struct mobileid_form {
	size_t n;
	struct {
		const char *name;
		char *value;
	} f[MOBILEID_FIELDS_MAX];
};

/* The fields of the Login call (POST {api}/IDPortal/Login): BusinessNo,
 * ApiVersion, HashKeyNo, VerifyNo, ReturnURL, ReturnParams, InputParams
 * ({"MemberNo":…,"Action":"Login"}), IdentifyNo over BusinessNo + ApiVersion +
 * HashKeyNo + VerifyNo + ReturnParams + InputParams. 0, or -1 (err filled). */
int mobileid_build_login(const struct mobileid_config *c, const char *verify_no, const char *return_url,
                         const char *return_params, const char *member_no, struct mobileid_form *out,
                         char *err, size_t errsz);

/* The fields the browser form-POSTs to TWCA's page: BusinessNo, ApiVersion,
 * HashKeyNo, VerifyNo, Token, IdentifyNo over the first five. */
int mobileid_build_do(const struct mobileid_config *c, const char *verify_no, const char *token,
                      struct mobileid_form *out);

/* The server-to-server confirmation (POST {api}/IDPortal/ServerSideVerifyResult):
 * BusinessNo, ApiVersion, HashKeyNo, VerifyNo, MemberNo, Token, IdentifyNo. */
int mobileid_build_confirm(const struct mobileid_config *c, const char *verify_no, const char *member_no,
                           const char *token, struct mobileid_form *out);

/* application/x-www-form-urlencoded text of the form; malloc'd, or NULL. */
char *mobileid_form_encode(const struct mobileid_form *f);
/* Frees the values (wiped: they may carry the member's ID). */
void mobileid_form_clear(struct mobileid_form *f);

/* A new VerifyNo: yyyymmdd + 32 random hex digits (40 characters, unique).
 * out: 41 bytes. 0 or -1. */
int mobileid_verify_no_new(char *out);

enum mobileid_status {
	MOBILEID_OK = 0,         /* ResultCode S, ReturnCode 0, IdentifyNo verified, ours */
	MOBILEID_DENIED,         /* the carrier's answer: the number is not the member's (364xxxx) */
	MOBILEID_FAILED,         /* another ResultCode F: refused, expired, cancelled, not done */
	MOBILEID_MISMATCH,       /* verified, but for another VerifyNo / BusinessNo / ReturnParams / member */
	MOBILEID_BAD_IDENTIFY,   /* IdentifyNo missing or wrong: forged or altered */
	MOBILEID_UNAVAILABLE,    /* HTTP 5xx */
	MOBILEID_MALFORMED,      /* not the protocol */
};

const char *mobileid_status_name(enum mobileid_status s);

/* What an answer or a return tells. */
struct mobileid_result {
	char result_code[4];           /* "S" / "F" */
	char return_code[32];          /* "0", "3645011", ... */
	char member_no[16];            /* OutputParams.MemberNo (a national ID) */
	char token[MOBILEID_TOKEN_MAX + 1];
	char msisdn[20];               /* the verified number, when the carrier's answer has it */
	char verify_code[16];          /* MIDOutputParams.VerifyCode */
};

/* Checks a JSON answer of Login / ServerSideVerifyResult /
 * ServerSideTransaction: HTTP status, BusinessNo / HashKeyNo / VerifyNo are
 * ours, IdentifyNo over BusinessNo + ApiVersion + HashKeyNo + VerifyNo +
 * ResultCode + ReturnCode + OutputParams, and (when member_no is not NULL) that
 * OutputParams names that member. Fills out as far as known. */
enum mobileid_status mobileid_parse_answer(int http_status, const char *body, size_t len,
                                           const struct mobileid_config *c, const char *verify_no,
                                           const char *member_no, struct mobileid_result *out);

/* Checks the form TWCA's page posted to the ReturnURL: VerifyNo and
 * ReturnParams are the ones this browser's login state holds, BusinessNo /
 * HashKeyNo ours, IdentifyNo over BusinessNo + ApiVersion + HashKeyNo +
 * VerifyNo + ResultCode + ReturnCode + ReturnParams + OutputParams. A success
 * here still needs mobileid_parse_answer() of the confirmation. */
enum mobileid_status mobileid_parse_return(const struct form *f, const struct mobileid_config *c,
                                           const char *verify_no, const char *return_params,
                                           struct mobileid_result *out);

#endif

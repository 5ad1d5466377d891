/* modules/totp.h — TOTP second factor (RFC 6238) through liboath.
 *
 * Credential "<uid>/totp/0" in T_CREDS: {"state": "pending"|"active",
 * "secret": base64 of the secret sealed with the TOTP key (libsodium
 * crypto_aead_xchacha20poly1305_ietf, additional data = user id), "alg": "SHA1",
 * "digits": 6, "period": 30, "last_step": n (highest time step accepted; a step
 * <= last_step is refused: replay guard), "recovery": [hex SHA-256 of each unused
 * recovery code], "created", "activated"}.
 * The sealing key comes from the config ([totp] key_file), never from LMDB. */
#ifndef AUTHD_TOTP_H
#define AUTHD_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "../authd/store.h"

struct conf;

#define TOTP_SECRET_BYTES 20      /* 160 bits */
#define TOTP_RECOVERY_CODES 10
#define TOTP_RECOVERY_LEN 12      /* "xxxx-xxxx-xxxx" without dashes: 12 chars of the 31-symbol TOTP_RECOVERY_ALPHABET (~59 bits) */

enum totp_hash { TOTP_SHA1 = 0, TOTP_SHA256, TOTP_SHA512 };

extern const struct authd_method method_totp;
/* authctl totp ... (totp_admin.c) */
extern const struct method_admin totp_admin;

/* Recovery codes are drawn from this alphabet: digits and capitals without the
 * look-alikes 0/O, 1/I/L (31 symbols, drawn uniformly: ~59 bits per code). */
#define TOTP_RECOVERY_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
/* Longest otpauth URI totp_enrol_begin builds (issuer and username encoded). */
#define TOTP_URI_MAX 768

/* Loads the sealing key from conf ([totp] key_file). 0 on success. */
int totp_init(const struct conf *c);
/* As totp_init; on failure err gets a message for the operator (why, and what
 * to do). When the key file was absent and has been created, *created is 1. */
int totp_init_err(const struct conf *c, char *err, size_t errsz, int *created);
void totp_fini(void);

/* Seals a secret for user_id (base64 of nonce || ciphertext, malloc'd) and
 * opens it again (0, or -1 for a wrong key, user id or tampered text). */
char *totp_secret_seal(const uint8_t *secret, size_t len, const char *user_id);
int totp_secret_open(const char *sealed, const char *user_id, uint8_t out[TOTP_SECRET_BYTES]);

/* "abcd-EFGH 2345" -> "ABCDEFGH2345": 0 when in is a well-formed recovery code
 * (12 alphabet characters, dashes and spaces ignored, any case), else -1. */
int totp_recovery_normalise(const char *in, char out[TOTP_RECOVERY_LEN + 1]);

/* RFC 6238 code for secret at unix time t. out must hold digits+1. 0 on success. */
int totp_code(const uint8_t *secret, size_t len, enum totp_hash h, unsigned digits,
              unsigned period, time_t t, char *out);
/* Checks code against steps t/period-window .. +window. Returns the matching
 * step (>= 0) or -1. Non-numeric or wrong-length codes are -1. */
long totp_match(const uint8_t *secret, size_t len, enum totp_hash h, unsigned digits,
                unsigned period, time_t t, int window, const char *code);

/* 1 when the user has an active TOTP credential (read txn). */
int totp_active(struct store_txn *t, const char *user_id);
/* {"totp": "none"|"pending"|"active", "recovery_codes_left": n, "created",
 * "activated"} for status displays (new reference), NULL on store error. */
json_t *totp_status(struct store_txn *t, const char *user_id);

/* Enrolment, step 1 (write txn): a new random secret stored as "pending"
 * (replacing an earlier pending one, never an active one: STORE_EXISTS).
 * uri_out gets the otpauth:// URI (issuer label from conf), which the caller
 * shows as a QR code and text. */
int totp_enrol_begin(struct store_txn *t, const char *user_id, const char *username,
                     char *uri_out, size_t uri_sz);
/* Step 2 (write txn): a valid code activates the credential and returns ten
 * recovery codes to show once (formatted "xxxx-xxxx-xxxx"). A wrong code is
 * counted in the pending record (keep the write to count it): -1, or -2 for the
 * TOTP_ENROL_MAX_TRIES-th, which also removes the pending enrolment (set-up
 * starts again with a new secret). STORE_* on store errors. */
#define TOTP_ENROL_MAX_TRIES 5
int totp_enrol_finish(struct store_txn *t, const char *user_id, const char *code,
                      char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3]);
/* The URI of a pending enrolment again (to show the QR code beside an error
 * on the confirmation form). STORE_NOTFOUND when nothing is pending. */
int totp_pending_uri(struct store_txn *t, const char *user_id, const char *username,
                     char *uri_out, size_t uri_sz);
/* The person removes their own credential (write txn). STORE_NOTFOUND when none. */
int totp_remove(struct store_txn *t, const char *user_id);
/* Help desk (write txn): removes the credential (authctl records the person's
 * security event in the same write, so they are told on /account).
 * STORE_NOTFOUND when the user has no TOTP credential (nothing changes). */
int totp_reset(struct store_txn *t, const char *user_id);
/* New recovery codes for an active TOTP (write txn): the old ones stop working
 * in the same write; the new ones go to recovery, formatted, to show once.
 * STORE_NOTFOUND when no TOTP is active. */
int totp_recovery_regenerate(struct store_txn *t, const char *user_id,
                             char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3]);

/* The otpauth URI as a QR code (libqrencode): *d (malloc'd; it encodes the
 * secret: wipe it) gets the data of one SVG path of unit squares, *modules
 * the side of the code with its quiet zone. 0, or -1 (URI too long, no memory). */
int totp_qr_path(const char *uri, char **d, int *modules);
/* The same for a terminal (UTF-8 half blocks), malloc'd. */
char *totp_qr_text(const char *uri);

#endif

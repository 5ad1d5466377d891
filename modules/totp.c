/* modules/totp.c — the TOTP second factor (RFC 6238): codes through liboath,
 * secrets sealed at rest with a key kept outside the store, enrolment with a
 * confirmation code, single-use recovery codes, the replay guard (a time step
 * accepted once is refused after), and the QR code of the otpauth URI.
 *
 * State (sealing key, issuer, window) is set by totp_init() before any worker
 * thread starts and is read-only afterwards, so finish() needs no lock. */
#include "totp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "../authd/config.h"
#include "../authd/log.h"
#include "../authd/users.h"
#include "../lib/b64.h"
#include "../lib/buf.h"
#include "../lib/util.h"
#include "method.h"

#define KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEALED_BYTES (NONCE_BYTES + TOTP_SECRET_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
/* base64 with padding of SEALED_BYTES, plus NUL. */
#define SEALED_B64 (((SEALED_BYTES + 2) / 3) * 4 + 1)
#define DEFAULT_DIGITS 6
#define DEFAULT_PERIOD 30
#define ISSUER_MAX 128
/* RFC 4226 codes have 6 to 8 digits (the RFC 6238 vectors use 8). */
#define OTP_MAX_DIGITS 8

struct totp_state {
	uint8_t key[KEY_BYTES];
	char issuer[ISSUER_MAX + 1];
	int window;
};

static struct totp_state *ts;
static int oath_up;



void
totp_fini(void)
{
	if (ts != NULL) {
		wipe(ts, sizeof(*ts));
		free(ts);
		ts = NULL;
	}
	if (oath_up) {
		oath_done();
		oath_up = 0;
	}
}

/* Creates the key file with a fresh random key, readable by the owner only.
 * O_EXCL: two processes starting at once never overwrite each other's key. */
static int
key_file_create(const char *path, char *err, size_t errsz)
{
	uint8_t key[KEY_BYTES];
	char hex[2 * KEY_BYTES + 2];
	size_t off = 0, len;
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return errf(err, errsz, "cannot create TOTP key file %s: %s", path, strerror(errno));
	randombytes_buf(key, sizeof(key));
	hex_encode(hex, key, sizeof(key));
	wipe(key, sizeof(key));
	len = strlen(hex);
	hex[len++] = '\n';
	while (off < len) {
		ssize_t n = write(fd, hex + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == len && fsync(fd) == 0)
		rc = 0;
	wipe(hex, sizeof(hex));
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0) {
		unlink(path);	/* a half-written key must not be loaded next time */
		return errf(err, errsz, "cannot write TOTP key file %s: %s", path, strerror(errno));
	}
	return 0;
}

/* Reads 64 hex characters (and an optional newline) from a file that only its
 * owner may read. */
static int
key_file_load(const char *path, uint8_t key[KEY_BYTES], char *err, size_t errsz)
{
	char buf[2 * KEY_BYTES + 3];
	struct stat st;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errf(err, errsz, "cannot open TOTP key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, errsz, "TOTP key file %s is not a regular file", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return errf(err, errsz, "TOTP key file %s must not be accessible by group or others "
		    "(it decrypts every TOTP secret); run: chmod 600 %s", path, path);
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == 2 * KEY_BYTES + 1 && buf[len - 1] == '\n')
		len--;
	if (len == 2 * KEY_BYTES) {
		buf[len] = '\0';
		rc = hex_decode(key, KEY_BYTES, buf);
	}
	wipe(buf, sizeof(buf));
	if (rc != 0)
		return errf(err, errsz, "TOTP key file %s must hold exactly 64 hex characters "
		    "(and an optional newline)", path);
	return 0;
}

int
totp_init_err(const struct conf *c, char *err, size_t errsz, int *created)
{
	struct totp_state *s;
	struct stat st;
	const char *path;

	if (created != NULL)
		*created = 0;
	if (c == NULL || c->totp_key_file == NULL || c->totp_key_file[0] == '\0')
		return errf(err, errsz, "[totp] key_file is not set");
	if (c->totp_window < 0 || c->totp_window > 3)
		return errf(err, errsz, "[totp] window must be 0..3");
	if (c->totp_issuer != NULL && strlen(c->totp_issuer) > ISSUER_MAX)
		return errf(err, errsz, "[totp] issuer is longer than 128 bytes");
	if (sodium_init() < 0)
		return errf(err, errsz, "libsodium did not initialise");
	path = c->totp_key_file;
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			return errf(err, errsz, "cannot read TOTP key file %s: %s", path, strerror(errno));
		if (key_file_create(path, err, errsz) != 0)
			return -1;
		if (created != NULL)
			*created = 1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return errf(err, errsz, "out of memory");
	if (key_file_load(path, s->key, err, errsz) != 0) {
		free(s);
		return -1;
	}
	snprintf(s->issuer, sizeof(s->issuer), "%s",
	    c->totp_issuer != NULL && c->totp_issuer[0] != '\0' ? c->totp_issuer : "City SSO");
	s->window = c->totp_window;
	if (!oath_up) {
		if (oath_init() != OATH_OK) {
			wipe(s, sizeof(*s));
			free(s);
			return errf(err, errsz, "liboath did not initialise");
		}
		oath_up = 1;
	}
	/* Swap only when complete: a failed reload keeps the old key. */
	if (ts != NULL) {
		wipe(ts, sizeof(*ts));
		free(ts);
	}
	ts = s;
	return 0;
}

int
totp_init(const struct conf *c)
{
	char err[512] = "";
	int created = 0;

	if (totp_init_err(c, err, sizeof(err), &created) != 0) {
		log_msg(LOG_ERROR, "TOTP cannot start", "reason", err, NULL);
		return -1;
	}
	if (created)
		log_msg(LOG_INFO, "created a new TOTP key file (back it up with the store)",
		    "path", c->totp_key_file, NULL);
	return 0;
}

/* ---------------------------------------------------------------- codes */

static int
oath_flags(enum totp_hash h)
{
	switch (h) {
	case TOTP_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case TOTP_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	default:
		return 0;
	}
}

static int
params_ok(const uint8_t *secret, size_t len, enum totp_hash h, unsigned digits, unsigned period)
{
	return secret != NULL && len > 0 && len <= 64 && (h == TOTP_SHA1 || h == TOTP_SHA256 ||
	    h == TOTP_SHA512) && digits >= 6 && digits <= OTP_MAX_DIGITS && period >= 1 &&
	    period <= 300;
}

int
totp_code(const uint8_t *secret, size_t len, enum totp_hash h, unsigned digits,
          unsigned period, time_t t, char *out)
{
	if (out == NULL || !params_ok(secret, len, h, digits, period) || t < 0)
		return -1;
	if (!oath_up) {
		if (oath_init() != OATH_OK)
			return -1;
		oath_up = 1;
	}
	if (oath_totp_generate2((const char *)secret, len, t, period, 0, digits, oath_flags(h),
	    out) != OATH_OK)
		return -1;
	return 0;
}

/* liboath compares candidates with this: constant time, so the time taken
 * does not tell how many leading digits were right. */
static int
ct_otp_cmp(void *handle, const char *test_otp)
{
	const char *given = handle;
	size_t n = strlen(given);

	if (strlen(test_otp) != n)
		return 1;
	return ct_equal(given, test_otp, n) ? 0 : 1;
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

long
totp_match(const uint8_t *secret, size_t len, enum totp_hash h, unsigned digits,
           unsigned period, time_t t, int window, const char *code)
{
	uint64_t counter = 0;
	int pos = 0, rc;

	if (code == NULL || !params_ok(secret, len, h, digits, period) || t < 0 || window < 0 ||
	    window > 10)
		return -1;
	if (strnlen(code, digits + 1) != digits || !all_digits(code, digits))
		return -1;
	if (!oath_up) {
		if (oath_init() != OATH_OK)
			return -1;
		oath_up = 1;
	}
	rc = oath_totp_validate4_callback((const char *)secret, len, t, period, 0, digits,
	    (size_t)window, &pos, &counter, oath_flags(h), ct_otp_cmp, (void *)code);
	if (rc < 0)
		return -1;
	return (long)counter;
}

/* ---------------------------------------------------------------- sealing */

char *
totp_secret_seal(const uint8_t *secret, size_t len, const char *user_id)
{
	uint8_t sealed[SEALED_BYTES];
	unsigned long long clen = 0;
	char *out;

	if (ts == NULL || secret == NULL || len != TOTP_SECRET_BYTES || user_id == NULL)
		return NULL;
	randombytes_buf(sealed, NONCE_BYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + NONCE_BYTES, &clen, secret, len,
	    (const unsigned char *)user_id, strlen(user_id), NULL, sealed, ts->key) != 0 ||
	    clen != SEALED_BYTES - NONCE_BYTES)
		return NULL;
	if ((out = malloc(SEALED_B64)) == NULL)
		return NULL;
	b64std_encode(out, sealed, sizeof(sealed));
	return out;
}

int
totp_secret_open(const char *sealed_b64, const char *user_id, uint8_t out[TOTP_SECRET_BYTES])
{
	uint8_t sealed[SEALED_B64];
	size_t n = 0, slen;
	unsigned long long mlen = 0;

	if (ts == NULL || sealed_b64 == NULL || user_id == NULL)
		return -1;
	slen = strnlen(sealed_b64, SEALED_B64);
	if (slen != SEALED_B64 - 1 || b64std_decode(sealed, &n, sealed_b64, slen) != 0 ||
	    n != SEALED_BYTES)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, sealed + NONCE_BYTES,
	    n - NONCE_BYTES, (const unsigned char *)user_id, strlen(user_id), sealed,
	    ts->key) != 0 || mlen != TOTP_SECRET_BYTES) {
		wipe(out, TOTP_SECRET_BYTES);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- records */

static int
cred_key(char *out, size_t outsz, const char *user_id)
{
	int n;

	if (user_id == NULL || strlen(user_id) != USER_ID_LEN)
		return -1;
	n = snprintf(out, outsz, "%s/totp/0", user_id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
cred_get(struct store_txn *t, const char *user_id, json_t **rec)
{
	char key[128];

	*rec = NULL;
	if (cred_key(key, sizeof(key), user_id) != 0)
		return STORE_INVALID;
	return store_gets(t, T_CREDS, key, rec);
}

static int
rec_state_is(const json_t *rec, const char *state)
{
	const char *s = json_string_value(json_object_get(rec, "state"));

	return s != NULL && strcmp(s, state) == 0;
}

/* Reads the parameters of a record; -1 when they are not ones we made. */
static int
rec_params(const json_t *rec, enum totp_hash *h, unsigned *digits, unsigned *period)
{
	const char *alg = json_string_value(json_object_get(rec, "alg"));
	json_int_t d = json_integer_value(json_object_get(rec, "digits"));
	json_int_t p = json_integer_value(json_object_get(rec, "period"));

	if (alg == NULL || d < 6 || d > OTP_MAX_DIGITS || p < 1 || p > 300)
		return -1;
	if (strcmp(alg, "SHA1") == 0)
		*h = TOTP_SHA1;
	else if (strcmp(alg, "SHA256") == 0)
		*h = TOTP_SHA256;
	else if (strcmp(alg, "SHA512") == 0)
		*h = TOTP_SHA512;
	else
		return -1;
	*digits = (unsigned)d;
	*period = (unsigned)p;
	return 0;
}

int
totp_active(struct store_txn *t, const char *user_id)
{
	json_t *rec = NULL;
	int active;

	if (cred_get(t, user_id, &rec) != STORE_OK)
		return 0;
	active = rec_state_is(rec, "active");
	json_decref(rec);
	return active;
}

json_t *
totp_status(struct store_txn *t, const char *user_id)
{
	json_t *rec = NULL, *out;
	int rc = cred_get(t, user_id, &rec);

	if (rc == STORE_NOTFOUND)
		return json_pack("{s:s, s:i}", "totp", "none", "recovery_codes_left", 0);
	if (rc != STORE_OK)
		return NULL;
	out = json_pack("{s:s, s:I, s:O?, s:O?}",
	    "totp", rec_state_is(rec, "active") ? "active" : "pending",
	    "recovery_codes_left", (json_int_t)json_array_size(json_object_get(rec, "recovery")),
	    "created", json_object_get(rec, "created"),
	    "activated", json_object_get(rec, "activated"));
	json_decref(rec);
	return out;
}

/* The otpauth URI (Key Uri Format as read by Google Authenticator, FreeOTP,
 * Microsoft Authenticator): the label's parts are percent-encoded, the colon
 * between them is literal. */
static int
build_uri(const uint8_t *secret, const char *username, char *uri_out, size_t uri_sz)
{
	struct buf b;
	char *b32 = NULL;
	size_t b32len = 0;
	int rc = -1;

	if (oath_base32_encode((const char *)secret, TOTP_SECRET_BYTES, &b32, &b32len) != OATH_OK)
		return -1;
	buf_init(&b);
	buf_adds(&b, "otpauth://totp/");
	buf_add_urlenc(&b, ts->issuer);
	buf_adds(&b, ":");
	buf_add_urlenc(&b, username);
	buf_adds(&b, "?secret=");
	buf_add(&b, b32, b32len);
	buf_adds(&b, "&issuer=");
	buf_add_urlenc(&b, ts->issuer);
	buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", DEFAULT_DIGITS, DEFAULT_PERIOD);
	if (!b.oom && b.len < uri_sz) {
		memcpy(uri_out, b.p, b.len + 1);
		rc = 0;
	}
	wipe(b32, b32len);
	free(b32);
	if (b.p != NULL)
		wipe(b.p, b.cap);
	buf_free(&b);
	return rc;
}

int
totp_enrol_begin(struct store_txn *t, const char *user_id, const char *username,
                 char *uri_out, size_t uri_sz)
{
	uint8_t secret[TOTP_SECRET_BYTES];
	char key[128];
	char *sealed = NULL;
	json_t *old = NULL, *rec = NULL;
	int rc;

	if (ts == NULL || t == NULL || username == NULL || uri_out == NULL || uri_sz == 0 ||
	    cred_key(key, sizeof(key), user_id) != 0)
		return STORE_INVALID;
	rc = store_gets(t, T_CREDS, key, &old);
	if (rc == STORE_OK) {
		/* An active credential is replaced only after it was removed, so a
		 * stolen session cannot silently swap the person's second factor. */
		rc = rec_state_is(old, "active") ? STORE_EXISTS : STORE_OK;
		json_decref(old);
		if (rc != STORE_OK)
			return rc;
	} else if (rc != STORE_NOTFOUND) {
		return rc;
	}
	randombytes_buf(secret, sizeof(secret));
	if ((sealed = totp_secret_seal(secret, sizeof(secret), user_id)) == NULL ||
	    build_uri(secret, username, uri_out, uri_sz) != 0) {
		rc = STORE_IO;
		goto out;
	}
	rec = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:[], s:I}", "state", "pending",
	    "secret", sealed, "alg", "SHA1", "digits", DEFAULT_DIGITS, "period", DEFAULT_PERIOD,
	    "last_step", (json_int_t)0, "recovery", "created", (json_int_t)now_s());
	rc = rec != NULL ? store_puts(t, T_CREDS, key, rec, 0) : STORE_IO;
out:
	if (rc != STORE_OK)
		wipe(uri_out, uri_sz);
	wipe(secret, sizeof(secret));
	json_decref(rec);
	free(sealed);
	return rc;
}

int
totp_pending_uri(struct store_txn *t, const char *user_id, const char *username,
                 char *uri_out, size_t uri_sz)
{
	uint8_t secret[TOTP_SECRET_BYTES];
	json_t *rec = NULL;
	int rc;

	if (ts == NULL || username == NULL || uri_out == NULL)
		return STORE_INVALID;
	if ((rc = cred_get(t, user_id, &rec)) != STORE_OK)
		return rc;
	if (!rec_state_is(rec, "pending")) {
		json_decref(rec);
		return STORE_NOTFOUND;	/* never shown again once active */
	}
	rc = totp_secret_open(json_string_value(json_object_get(rec, "secret")), user_id,
	    secret) == 0 && build_uri(secret, username, uri_out, uri_sz) == 0 ? STORE_OK :
	    STORE_CORRUPT;
	wipe(secret, sizeof(secret));
	json_decref(rec);
	return rc;
}

/* One recovery code: 12 characters drawn uniformly from the alphabet. */
static void
recovery_code_new(char code[TOTP_RECOVERY_LEN + 1])
{
	static const char alpha[] = TOTP_RECOVERY_ALPHABET;
	size_t i;

	for (i = 0; i < TOTP_RECOVERY_LEN; i++)
		code[i] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
	code[TOTP_RECOVERY_LEN] = '\0';
}

static void
recovery_hash(const char *norm, char hex[2 * SHA256_LEN + 1])
{
	uint8_t h[SHA256_LEN];

	sha256(norm, strlen(norm), h);
	hex_encode(hex, h, sizeof(h));
}

int
totp_recovery_normalise(const char *in, char out[TOTP_RECOVERY_LEN + 1])
{
	size_t i, n = 0;

	if (in == NULL)
		return -1;
	for (i = 0; in[i] != '\0' && i < 64; i++) {
		char ch = in[i];

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (n == TOTP_RECOVERY_LEN || strchr(TOTP_RECOVERY_ALPHABET, ch) == NULL)
			goto bad;
		out[n++] = ch;
	}
	if (in[i] != '\0' || n != TOTP_RECOVERY_LEN)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	wipe(out, TOTP_RECOVERY_LEN + 1);
	return -1;
}

/* TOTP_RECOVERY_CODES new codes: shown (formatted) in out, their hashes as the
 * list to store (new reference); NULL on allocation failure (out wiped). */
static json_t *
recovery_new(char out[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3])
{
	char norm[TOTP_RECOVERY_LEN + 1], hex[2 * SHA256_LEN + 1];
	json_t *list = json_array();
	size_t i;

	for (i = 0; list != NULL && i < TOTP_RECOVERY_CODES; i++) {
		recovery_code_new(norm);
		recovery_hash(norm, hex);
		snprintf(out[i], TOTP_RECOVERY_LEN + 3, "%.4s-%.4s-%.4s", norm, norm + 4, norm + 8);
		wipe(norm, sizeof(norm));
		if (json_array_append_new(list, json_string(hex)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (list == NULL)
		wipe(out, sizeof(out[0]) * TOTP_RECOVERY_CODES);
	return list;
}

int
totp_recovery_regenerate(struct store_txn *t, const char *user_id,
                         char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3])
{
	char key[128];
	json_t *rec = NULL, *list;
	int rc;

	if (recovery == NULL || cred_key(key, sizeof(key), user_id) != 0)
		return STORE_INVALID;
	if ((rc = store_gets(t, T_CREDS, key, &rec)) != STORE_OK)
		return rc;
	if (!rec_state_is(rec, "active")) {
		json_decref(rec);
		return STORE_NOTFOUND;	/* codes belong to an active TOTP only */
	}
	if ((list = recovery_new(recovery)) == NULL) {
		json_decref(rec);
		return STORE_IO;
	}
	/* The old codes go in the same write: none of them works afterwards. */
	rc = json_object_set_new(rec, "recovery", list) == 0 ?
	    store_puts(t, T_CREDS, key, rec, 0) : STORE_IO;
	if (rc != STORE_OK)
		wipe(recovery, sizeof(recovery[0]) * TOTP_RECOVERY_CODES);
	json_decref(rec);
	return rc;
}

int
totp_enrol_finish(struct store_txn *t, const char *user_id, const char *code,
                  char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3])
{
	uint8_t secret[TOTP_SECRET_BYTES];
	char key[128];
	json_t *rec = NULL, *list = NULL;
	enum totp_hash h;
	unsigned digits, period;
	long step;
	int rc;

	if (ts == NULL || code == NULL || recovery == NULL || cred_key(key, sizeof(key), user_id) != 0)
		return STORE_INVALID;
	if ((rc = store_gets(t, T_CREDS, key, &rec)) != STORE_OK)
		return rc;
	if (!rec_state_is(rec, "pending")) {
		json_decref(rec);
		return STORE_EXISTS;	/* already active: nothing to confirm */
	}
	if (rec_params(rec, &h, &digits, &period) != 0 ||
	    totp_secret_open(json_string_value(json_object_get(rec, "secret")), user_id, secret) != 0) {
		json_decref(rec);
		return STORE_CORRUPT;
	}
	step = totp_match(secret, sizeof(secret), h, digits, period, now_s(), ts->window, code);
	wipe(secret, sizeof(secret));
	if (step < 0) {
		/* Counted in this write: after TOTP_ENROL_MAX_TRIES wrong codes the
		 * pending secret is gone and set-up starts again with a new one. */
		json_int_t tries = json_integer_value(json_object_get(rec, "tries")) + 1;

		if (tries >= TOTP_ENROL_MAX_TRIES) {
			json_decref(rec);
			rc = store_dels(t, T_CREDS, key);
			return rc == STORE_OK ? -2 : rc;
		}
		rc = json_object_set_new(rec, "tries", json_integer(tries)) == 0 ?
		     store_puts(t, T_CREDS, key, rec, 0) : STORE_IO;
		json_decref(rec);
		return rc == STORE_OK ? -1 : rc;
	}
	if ((list = recovery_new(recovery)) == NULL) {
		json_decref(rec);
		return STORE_IO;
	}
	/* The confirming code's step is used up: it cannot sign in afterwards. */
	if (json_object_set_new(rec, "state", json_string("active")) != 0 ||
	    json_object_set_new(rec, "last_step", json_integer(step)) != 0 ||
	    json_object_set(rec, "recovery", list) != 0 ||
	    json_object_set_new(rec, "activated", json_integer(now_s())) != 0) {
		rc = STORE_IO;
		goto out;
	}
	rc = store_puts(t, T_CREDS, key, rec, 0);
out:
	if (rc != STORE_OK)
		wipe(recovery, sizeof(recovery[0]) * TOTP_RECOVERY_CODES);
	json_decref(list);
	json_decref(rec);
	return rc;
}

int
totp_remove(struct store_txn *t, const char *user_id)
{
	char key[128];

	if (cred_key(key, sizeof(key), user_id) != 0)
		return STORE_INVALID;
	return store_dels(t, T_CREDS, key);
}

int
totp_reset(struct store_txn *t, const char *user_id)
{
	/* The person learns of it from the security event authctl records with it. */
	return totp_remove(t, user_id);
}

/* ---------------------------------------------------------------- QR codes */

static QRcode *
qr_encode(const char *uri)
{
	if (uri == NULL || strlen(uri) > TOTP_URI_MAX)
		return NULL;
	return QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

#define QR_QUIET 4	/* ISO/IEC 18004 quiet zone, in modules */

/* The QR code as the data of one SVG path of horizontal runs of dark modules
 * ("M4 4h7v1h-7z..."), the quiet zone included in *modules; the page draws it
 * (share/templates/account-enrol.html): attributes only, no style, and it
 * scales crisply at any size. */
int
totp_qr_path(const char *uri, char **d, int *modules)
{
	QRcode *q = qr_encode(uri);
	struct buf b;
	int x, y, w;

	*d = NULL;
	if (q == NULL)
		return -1;
	w = q->width;
	buf_init(&b);
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x++) {
			int run = 0;

			while (x + run < w && (q->data[y * w + x + run] & 1))
				run++;
			if (run > 0) {
				buf_printf(&b, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
				x += run;
			}
		}
	}
	QRcode_free(q);
	if (b.oom || buf_str(&b) == NULL) {
		buf_free(&b);
		return -1;
	}
	*d = b.p;	/* handed over; buf_free not called */
	*modules = w + 2 * QR_QUIET;
	return 0;
}

#define QR_TEXT_QUIET 2

/* Two module rows per text line with half blocks. Light modules are drawn
 * (terminals are dark by default), so the quiet zone is drawn too. */
char *
totp_qr_text(const char *uri)
{
	QRcode *q = qr_encode(uri);
	struct buf b;
	int x, y, w, size;

	if (q == NULL)
		return NULL;
	w = q->width;
	size = w + 2 * QR_TEXT_QUIET;
	buf_init(&b);
	for (y = 0; y < size; y += 2) {
		for (x = 0; x < size; x++) {
			int mx = x - QR_TEXT_QUIET, my = y - QR_TEXT_QUIET;
			int top = mx >= 0 && mx < w && my >= 0 && my < w && (q->data[my * w + mx] & 1);
			int bot = mx >= 0 && mx < w && my + 1 >= 0 && my + 1 < w &&
			    (q->data[(my + 1) * w + mx] & 1);

			/* Past the last row is quiet zone (light). */
			if (y + 1 >= size)
				bot = 0;
			if (!top && !bot)
				buf_adds(&b, "\u2588");	/* both light */
			else if (!top)
				buf_adds(&b, "\u2580");	/* upper light */
			else if (!bot)
				buf_adds(&b, "\u2584");	/* lower light */
			else
				buf_adds(&b, " ");
		}
		buf_adds(&b, "\n");
	}
	QRcode_free(q);
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

/* ---------------------------------------------------------------- the method */

/* "123 456" -> "123456"; -1 when anything but digits and spaces, or not exactly
 * digits digits. */
static int
otp_normalise(const char *in, unsigned digits, char out[OTP_MAX_DIGITS + 1])
{
	size_t i, n = 0;

	for (i = 0; in[i] != '\0' && i < 32; i++) {
		if (in[i] == ' ')
			continue;
		if (in[i] < '0' || in[i] > '9' || n == digits)
			return -1;
		out[n++] = in[i];
	}
	if (in[i] != '\0' || n != digits)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Removes the matching hash from list (all entries compared in constant time,
 * no early exit). 1 when one was found and removed. */
static int
recovery_consume(json_t *list, const char *hex)
{
	size_t i, found = (size_t)-1;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && strlen(s) == 2 * SHA256_LEN && ct_equal(s, hex, 2 * SHA256_LEN))
			found = i;
	}
	if (found == (size_t)-1)
		return 0;
	return json_array_remove(list, found) == 0;
}

static int
totp_finish(struct login *l, const struct form *f, struct proof *proof)
{
	const char *otp, *rc_in, *uid;
	char key[128], code[OTP_MAX_DIGITS + 1], norm[TOTP_RECOVERY_LEN + 1];
	char hex[2 * SHA256_LEN + 1];
	uint8_t secret[TOTP_SECRET_BYTES];
	json_t *rec = NULL, *upd = NULL;
	enum totp_hash h;
	unsigned digits, period;
	json_int_t last;
	long step;
	int result = METHOD_FAIL;

	memset(proof, 0, sizeof(*proof));	/* nothing proved unless we say so */
	if (ts == NULL)
		return METHOD_ERROR;
	otp = form_get(f, "otp");
	rc_in = form_get(f, "recovery_code");
	if (otp != NULL && otp[0] == '\0')
		otp = NULL;
	if (rc_in != NULL && rc_in[0] == '\0')
		rc_in = NULL;
	if ((otp == NULL) == (rc_in == NULL))
		return METHOD_INVALID;	/* exactly one of the two */
	if (rc_in != NULL && totp_recovery_normalise(rc_in, norm) != 0)
		return METHOD_INVALID;

	if (l->user == NULL || l->txn == NULL)
		goto out; /* a disabled account: the sign-in core refuses it */
	uid = json_string_value(json_object_get(l->user, "id"));
	if (cred_key(key, sizeof(key), uid) != 0 || store_gets(l->txn, T_CREDS, key, &rec) != STORE_OK)
		goto out;
	if (!rec_state_is(rec, "active")) {
		result = METHOD_FAIL;
		goto out;
	}
	if (rec_params(rec, &h, &digits, &period) != 0) {
		result = METHOD_ERROR;
		goto out;
	}
	if ((upd = json_deep_copy(rec)) == NULL) {
		result = METHOD_ERROR;
		goto out;
	}
	if (otp != NULL) {
		if (otp_normalise(otp, digits, code) != 0) {
			result = METHOD_INVALID;
			goto out;
		}
		if (totp_secret_open(json_string_value(json_object_get(rec, "secret")), uid,
		    secret) != 0) {
			result = METHOD_ERROR;	/* wrong key file or tampered record */
			goto out;
		}
		step = totp_match(secret, sizeof(secret), h, digits, period, now_s(), ts->window, code);
		wipe(secret, sizeof(secret));
		wipe(code, sizeof(code));
		last = json_integer_value(json_object_get(rec, "last_step"));
		/* A step at or before the last one accepted is a replay (or an older
		 * code seen over a shoulder): refused like a wrong code. */
		if (step < 0 || (json_int_t)step <= last)
			goto out;
		if (json_object_set_new(upd, "last_step", json_integer(step)) != 0) {
			result = METHOD_ERROR;
			goto out;
		}
	} else {
		recovery_hash(norm, hex);
		if (!recovery_consume(json_object_get(upd, "recovery"), hex))
			goto out;
		snprintf(proof->audit_event, sizeof(proof->audit_event), "totp.recovery_used");
	}
	snprintf(proof->user_id, sizeof(proof->user_id), "%s", uid);
	snprintf(proof->cred_key, sizeof(proof->cred_key), "%s", key);
	proof->amr = AMR_OTP;
	proof->factors = FACTOR_HAVE;
	proof->props = 0;
	proof->cred_update = upd;
	proof->cred_expect = rec;
	proof->cred_must_update = 1;	/* the step / code is consumed with the login */
	upd = rec = NULL;
	result = METHOD_OK;
out:
	wipe(norm, sizeof(norm));
	wipe(code, sizeof(code));
	json_decref(upd);
	json_decref(rec);
	return result;
}

/* conf_load always names a key file, so only a hand-built conf lacks one;
 * then the method stays down and fails closed (finish: METHOD_ERROR, enrolment:
 * STORE_INVALID) rather than stopping the other methods. */
static int
totp_method_init(struct authd *a, const struct conf *c)
{
	(void)a;
	if (c != NULL && c->totp_key_file == NULL) {
		log_msg(LOG_WARN, "[totp] key_file not set: TOTP sign-in is unavailable", NULL);
		return 0;
	}
	return totp_init(c);
}

/* The code form needs nothing from the server beforehand. */
static int
totp_begin(struct login *l, json_t *challenge_out)
{
	(void)l;
	(void)challenge_out;
	return METHOD_OK;
}

static int
totp_enrolled(struct store_txn *t, const char *user_id)
{
	return totp_active(t, user_id);
}

/* The section of /account (share/templates/account-totp.html): active,
 * pending or neither, and the recovery codes left. */
static int
totp_account_view(struct store_txn *t, const char *user_id, json_t *out)
{
	json_t *st = totp_status(t, user_id);
	const char *state = json_string_value(json_object_get(st, "totp"));
	int rc;

	if (state == NULL) {
		json_decref(st);
		return -1;
	}
	rc = json_object_set_new(out, "active", json_boolean(strcmp(state, "active") == 0)) |
	    json_object_set_new(out, "pending", json_boolean(strcmp(state, "pending") == 0)) |
	    json_object_set_new(out, "recovery_left",
	    json_integer(json_integer_value(json_object_get(st, "recovery_codes_left"))));
	json_decref(st);
	return rc == 0 ? 0 : -1;
}

const struct authd_method method_totp = {
	.name = "totp",
	.factors = FACTOR_HAVE,
	.props = 0, /* not replay-resistant in NIST's sense: a phished code works once */
	.amr = AMR_OTP,
	.flags = METHOD_STEP,
	.account_template = "account-totp",
	.account_view = totp_account_view,
	.enrolled = totp_enrolled,
	.init = totp_method_init,
	.begin = totp_begin,
	.finish = totp_finish,
	.enrol_begin = NULL, /* enrolment goes through totp_enrol_begin/finish */
	.enrol_finish = NULL,
	.fini = totp_fini,
	.admin = &totp_admin,
};

/* tests/unit/test_totp.c — the TOTP method (modules/totp.c): RFC 6238 vectors,
 * the ±1 window, the key file (created 0600, refused when others can read it),
 * sealing (AD = user id), enrolment (a wrong confirmation changes nothing),
 * finish() with its replay guard and refusals, single-use recovery codes, the
 * help-desk reset and the QR renderings — on a real store in a temporary folder. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <liboath/oath.h>

#include "../../authd/authd.h"
#include "../../authd/config.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/b64.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/totp.h"
#include "fixture.h"

struct fx {
	char dir[FX_DIR_MAX];
	char keypath[96];
	struct conf conf;
	struct store *s;
	char id[USER_ID_LEN + 1];
	uint8_t secret[TOTP_SECRET_BYTES];	/* of the enrolment in progress */
};

static void
conf_for(struct fx *f, const char *keypath)
{
	memset(&f->conf, 0, sizeof(f->conf));
	f->conf.totp_key_file = (char *)keypath;
	f->conf.totp_issuer = (char *)"City SSO";
	f->conf.totp_window = 1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	totp_fini();
	return rc;
}

/* A folder holding the TOTP key file and a store with one user in it. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, "totp") != 0)
		goto fail;
	snprintf(f->keypath, sizeof(f->keypath), "%s/totp.key", f->dir);
	conf_for(f, f->keypath);
	if (totp_init(&f->conf) != 0 || fx_store_open(&f->s, f->dir, 16, 0) != STORE_OK ||
	    fx_user_create(f->s, "Lin.Meiling", "林美玲", NULL, f->id) != STORE_OK)
		goto fail;
	return 0;
fail:
	teardown(state);
	return -1;
}

/* ---- codes ---- */

static void
test_rfc6238_vectors(void **state)
{
	static const char *seed1 = "12345678901234567890";
	static const char *seed256 = "12345678901234567890123456789012";
	static const char *seed512 =
	    "1234567890123456789012345678901234567890123456789012345678901234";
	static const struct {
		time_t t;
		const char *sha1, *sha256, *sha512;
	} v[] = {
		{ 59, "94287082", "46119246", "90693936" },
		{ 1111111109, "07081804", "68084774", "25091201" },
		{ 1111111111, "14050471", "67062674", "99943326" },
		{ 1234567890, "89005924", "91819424", "93441116" },
		{ 2000000000, "69279037", "90698825", "38618901" },
		{ 20000000000, "65353130", "77737706", "47863826" },
	};
	char out[9];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_code((const uint8_t *)seed1, 20, TOTP_SHA1, 8, 30, v[i].t, out), 0);
		assert_string_equal(out, v[i].sha1);
		assert_int_equal(totp_code((const uint8_t *)seed256, 32, TOTP_SHA256, 8, 30, v[i].t, out), 0);
		assert_string_equal(out, v[i].sha256);
		assert_int_equal(totp_code((const uint8_t *)seed512, 64, TOTP_SHA512, 8, 30, v[i].t, out), 0);
		assert_string_equal(out, v[i].sha512);
		/* and the matcher finds the vector's own step */
		assert_int_equal(totp_match((const uint8_t *)seed512, 64, TOTP_SHA512, 8, 30, v[i].t, 0,
		    v[i].sha512), (long)(v[i].t / 30));
	}
	/* refusals: bad digits, period, hash, negative time */
	assert_int_equal(totp_code((const uint8_t *)seed1, 20, TOTP_SHA1, 5, 30, 59, out), -1);
	assert_int_equal(totp_code((const uint8_t *)seed1, 20, TOTP_SHA1, 9, 30, 59, out), -1);
	assert_int_equal(totp_code((const uint8_t *)seed1, 20, TOTP_SHA1, 6, 0, 59, out), -1);
	assert_int_equal(totp_code((const uint8_t *)seed1, 20, (enum totp_hash)7, 6, 30, 59, out), -1);
	assert_int_equal(totp_code((const uint8_t *)seed1, 20, TOTP_SHA1, 6, 30, -1, out), -1);
}

static void
test_match_window(void **state)
{
	const uint8_t *s = (const uint8_t *)"12345678901234567890";
	const time_t t = 1700000015;	/* mid-step */
	char c[7];

	(void)state;
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t, c), 0);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), t / 30);
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t - 30, c), 0);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), t / 30 - 1);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 0, c), -1);	/* no window */
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t + 30, c), 0);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), t / 30 + 1);
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t - 60, c), 0);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), -1);
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t + 60, c), 0);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), -1);
	/* malformed codes never match */
	assert_int_equal(totp_code(s, 20, TOTP_SHA1, 6, 30, t, c), 0);
	c[5] = 'a';
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, c), -1);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, "12345"), -1);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, "1234567"), -1);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, ""), -1);
	assert_int_equal(totp_match(s, 20, TOTP_SHA1, 6, 30, t, 1, NULL), -1);
}

/* ---- key file and sealing ---- */

static void
test_key_file(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char path[128], err[512];
	int created = -1;

	/* setup created it: owner-only, 64 hex + newline */
	assert_int_equal(stat(f->keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);

	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	conf_for(f, path);
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), 0);
	assert_int_equal(created, 0);	/* loaded, not replaced */

	/* readable by group: refused with a message naming the fix */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(totp_init(&f->conf), -1);

	/* malformed contents */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(fx_write_file(path, "not-hex\n"), 0);
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), -1);
	assert_non_null(strstr(err, "64 hex"));
	/* 64 hex without newline is fine */
	assert_int_equal(fx_write_file(path,
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0);
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), 0);
	/* a bad window is refused */
	f->conf.totp_window = 4;
	assert_int_equal(totp_init_err(&f->conf, err, sizeof(err), &created), -1);
}

static void
test_seal(void **state)
{
	struct fx *f = *state;
	const uint8_t secret[TOTP_SECRET_BYTES] = "0123456789abcdefghij";
	uint8_t back[TOTP_SECRET_BYTES], raw[128];
	char other[128], *sealed, *sealed2, secret_b64[64];
	size_t n = 0;

	sealed = totp_secret_seal(secret, sizeof(secret), f->id);
	assert_non_null(sealed);
	/* neither the raw bytes nor their base64 appear */
	assert_int_equal(b64std_decode(raw, &n, sealed, strlen(sealed)), 0);
	assert_null(memmem(raw, n, secret, sizeof(secret)));
	b64std_encode(secret_b64, secret, sizeof(secret));
	assert_null(strstr(sealed, secret_b64));
	/* a fresh nonce each time */
	sealed2 = totp_secret_seal(secret, sizeof(secret), f->id);
	assert_non_null(sealed2);
	assert_string_not_equal(sealed, sealed2);

	assert_int_equal(totp_secret_open(sealed, f->id, back), 0);
	assert_memory_equal(back, secret, sizeof(secret));
	/* another user id (AD) */
	assert_int_equal(totp_secret_open(sealed, "0123456789abcdef0123456789abcdef", back), -1);
	/* tampered */
	sealed2[10] = sealed2[10] == 'A' ? 'B' : 'A';
	assert_int_equal(totp_secret_open(sealed2, f->id, back), -1);
	assert_int_equal(totp_secret_open("", f->id, back), -1);
	assert_int_equal(totp_secret_open(NULL, f->id, back), -1);
	/* another key */
	snprintf(other, sizeof(other), "%s/other.key", f->dir);
	conf_for(f, other);
	assert_int_equal(totp_init(&f->conf), 0);
	assert_int_equal(totp_secret_open(sealed, f->id, back), -1);
	free(sealed);
	free(sealed2);
}

/* ---- enrolment ---- */

struct wctx {
	struct fx *f;
	const char *code;
	char uri[TOTP_URI_MAX];
	char rec[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
	int rc;
	json_t *key_val;	/* proof store: expected and new record */
	json_t *expect;
	const char *cred_key;
};

static int
w_begin(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->rc = totp_enrol_begin(t, w->f->id, "lin.meiling", w->uri, sizeof(w->uri));
	return w->rc;
}

static int
w_finish(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->rc = totp_enrol_finish(t, w->f->id, w->code, w->rec);
	return w->rc == 0 ? STORE_OK : STORE_CONFLICT;
}

/* As the account page does: a wrong code's write is kept, so it is counted. */
static int
w_finish_keep(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->rc = totp_enrol_finish(t, w->f->id, w->code, w->rec);
	return w->rc == 0 || w->rc == -1 || w->rc == -2 ? STORE_OK : STORE_CONFLICT;
}

static int
w_reset(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->rc = totp_reset(t, w->f->id);
	return w->rc;
}

/* What the login code does with a proof: store cred_update only while the
 * stored record still equals cred_expect. */
static int
w_store_proof(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;
	json_t *cur = NULL;
	int rc;

	if ((rc = store_gets(t, T_CREDS, w->cred_key, &cur)) != STORE_OK)
		return rc;
	rc = json_equal(cur, w->expect) ? store_puts(t, T_CREDS, w->cred_key, w->key_val, 0) :
	    STORE_CONFLICT;
	json_decref(cur);
	return rc;
}

static json_t *
status(struct fx *f)
{
	struct store_txn *t = store_read_begin(f->s);
	json_t *st = totp_status(t, f->id);

	store_read_end(t);
	assert_non_null(st);
	return st;
}

static void
assert_state(struct fx *f, const char *want)
{
	json_t *st = status(f);

	assert_string_equal(json_string_value(json_object_get(st, "totp")), want);
	json_decref(st);
}

/* Begins an enrolment and keeps the secret from the URI, as an app would. */
static void
begin(struct fx *f)
{
	struct wctx w = { .f = f };
	const char *p, *e;
	char b32[64];
	char *bin = NULL;
	size_t binlen = 0;

	assert_int_equal(store_write_sync(f->s, w_begin, &w), STORE_OK);
	assert_int_equal(strncmp(w.uri, "otpauth://totp/City%20SSO:lin.meiling?secret=", 45), 0);
	assert_non_null(strstr(w.uri, "&issuer=City%20SSO&algorithm=SHA1&digits=6&period=30"));
	p = w.uri + 45;
	e = strchr(p, '&');
	assert_non_null(e);
	assert_int_equal(e - p, 32);	/* 160 bits in base32 */
	memcpy(b32, p, (size_t)(e - p));
	b32[e - p] = '\0';
	assert_int_equal(oath_base32_decode(b32, strlen(b32), &bin, &binlen), OATH_OK);
	assert_int_equal(binlen, TOTP_SECRET_BYTES);
	memcpy(f->secret, bin, binlen);
	free(bin);
}

/* A 6-digit code matching none of the steps around now. */
static void
wrong_code(struct fx *f, char out[7])
{
	char c[3][7];
	time_t now = now_s();
	unsigned v;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30,
		    now + (i - 1) * 30, c[i]), 0);
	for (v = 0;; v++) {
		snprintf(out, 7, "%06u", v);
		if (strcmp(out, c[0]) != 0 && strcmp(out, c[1]) != 0 && strcmp(out, c[2]) != 0)
			return;
	}
}

static void
activate(struct fx *f, char rec[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3])
{
	struct wctx w = { .f = f };
	char code[7];

	begin(f);
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	w.code = code;
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_OK);
	assert_int_equal(w.rc, 0);
	if (rec != NULL)
		memcpy(rec, w.rec, sizeof(w.rec));
}

static void
test_enrolment(void **state)
{
	struct fx *f = *state;
	struct wctx w = { .f = f };
	struct store_txn *t;
	char code[7], uri[TOTP_URI_MAX], key[128];
	json_t *before = NULL, *after = NULL;
	int i, j;

	assert_state(f, "none");
	begin(f);
	assert_state(f, "pending");
	t = store_read_begin(f->s);
	assert_int_equal(totp_active(t, f->id), 0);
	assert_int_equal(totp_pending_uri(t, f->id, "lin.meiling", uri, sizeof(uri)), STORE_OK);
	snprintf(key, sizeof(key), "%s/totp/0", f->id);
	assert_int_equal(store_gets(t, T_CREDS, key, &before), STORE_OK);
	store_read_end(t);

	/* wrong code: -1, and nothing changes */
	wrong_code(f, code);
	w.code = code;
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_CONFLICT);
	assert_int_equal(w.rc, -1);
	w.code = "abcdef";
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_CONFLICT);
	assert_int_equal(w.rc, -1);
	t = store_read_begin(f->s);
	assert_int_equal(store_gets(t, T_CREDS, key, &after), STORE_OK);
	store_read_end(t);
	assert_true(json_equal(before, after));
	json_decref(after);
	assert_state(f, "pending");

	/* right code: active, ten distinct well-formed codes, stored hashed */
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	w.code = code;
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_OK);
	assert_int_equal(w.rc, 0);
	assert_state(f, "active");
	for (i = 0; i < TOTP_RECOVERY_CODES; i++) {
		char norm[TOTP_RECOVERY_LEN + 1];

		assert_int_equal(strlen(w.rec[i]), 14);
		assert_int_equal(w.rec[i][4], '-');
		assert_int_equal(w.rec[i][9], '-');
		assert_int_equal(totp_recovery_normalise(w.rec[i], norm), 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(w.rec[i], w.rec[j]);
	}
	t = store_read_begin(f->s);
	assert_int_equal(totp_active(t, f->id), 1);
	/* the URI is never shown again once active */
	assert_int_equal(totp_pending_uri(t, f->id, "lin.meiling", uri, sizeof(uri)), STORE_NOTFOUND);
	assert_int_equal(store_gets(t, T_CREDS, key, &after), STORE_OK);
	store_read_end(t);
	assert_int_equal(json_array_size(json_object_get(after, "recovery")), TOTP_RECOVERY_CODES);
	{
		char *dump = json_dumps(after, 0), norm[TOTP_RECOVERY_LEN + 1];

		assert_non_null(dump);
		assert_int_equal(totp_recovery_normalise(w.rec[0], norm), 0);
		assert_null(strstr(dump, norm));	/* codes are stored hashed only */
		free(dump);
	}
	assert_true(json_integer_value(json_object_get(after, "last_step")) > 0);
	json_decref(before);
	json_decref(after);
	{
		json_t *st = status(f);

		assert_int_equal(json_integer_value(json_object_get(st, "recovery_codes_left")), 10);
		json_decref(st);
	}

	/* an active credential is not replaced by a new enrolment */
	assert_int_equal(store_write_sync(f->s, w_begin, &w), STORE_EXISTS);
	/* and there is nothing left to confirm */
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_CONFLICT);
	assert_int_equal(w.rc, STORE_EXISTS);
}

/* The confirmation code is a secret checked: TOTP_ENROL_MAX_TRIES wrong ones
 * and the pending secret is gone (set-up starts again with a new one). */
static void
test_enrol_tries_counted(void **state)
{
	struct fx *f = *state;
	struct wctx w = { .f = f };
	struct store_txn *t;
	char code[7], key[128];
	json_t *rec = NULL;
	int i;

	begin(f);
	snprintf(key, sizeof(key), "%s/totp/0", f->id);
	wrong_code(f, code);
	w.code = code;
	for (i = 1; i < TOTP_ENROL_MAX_TRIES; i++) {
		assert_int_equal(store_write_sync(f->s, w_finish_keep, &w), STORE_OK);
		assert_int_equal(w.rc, -1);
		t = store_read_begin(f->s);
		assert_int_equal(store_gets(t, T_CREDS, key, &rec), STORE_OK);
		store_read_end(t);
		assert_int_equal(json_integer_value(json_object_get(rec, "tries")), i);
		json_decref(rec);
		assert_state(f, "pending");
	}
	assert_int_equal(store_write_sync(f->s, w_finish_keep, &w), STORE_OK);
	assert_int_equal(w.rc, -2);
	assert_state(f, "none");
	/* the right code for the discarded secret now finds nothing */
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	assert_int_equal(store_write_sync(f->s, w_finish_keep, &w), STORE_CONFLICT);
	assert_int_equal(w.rc, STORE_NOTFOUND);
	/* a new set-up starts with a new count */
	begin(f);
	wrong_code(f, code);
	assert_int_equal(store_write_sync(f->s, w_finish_keep, &w), STORE_OK);
	assert_int_equal(w.rc, -1);
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	assert_int_equal(store_write_sync(f->s, w_finish_keep, &w), STORE_OK);
	assert_int_equal(w.rc, 0);
	assert_state(f, "active");
}

static void
test_begin_replaces_pending(void **state)
{
	struct fx *f = *state;
	uint8_t first[TOTP_SECRET_BYTES];
	struct wctx w = { .f = f };
	char code[7];

	begin(f);
	memcpy(first, f->secret, sizeof(first));
	begin(f);
	assert_memory_not_equal(first, f->secret, sizeof(first));
	/* a code of the first secret no longer confirms */
	assert_int_equal(totp_code(first, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	w.code = code;
	assert_int_equal(store_write_sync(f->s, w_finish, &w), STORE_CONFLICT);
	assert_int_equal(w.rc, -1);
	assert_state(f, "pending");
}

/* ---- finish() ---- */

static int
try_finish(struct fx *f, const char *field, const char *value, const char *field2,
           const char *value2, struct proof *p)
{
	struct login l = { 0 };
	struct form form = { 0 };
	json_t *user = NULL;
	int rc;

	l.txn = store_read_begin(f->s);
	assert_non_null(l.txn);
	assert_int_equal(user_by_id(l.txn, f->id, &user), STORE_OK);
	l.user = user;
	l.username = "lin.meiling";
	l.ip = "127.0.0.1";
	if (field != NULL) {
		form.f[form.n].key = (char *)field;
		form.f[form.n++].value = (char *)value;
	}
	if (field2 != NULL) {
		form.f[form.n].key = (char *)field2;
		form.f[form.n++].value = (char *)value2;
	}
	rc = method_totp.finish(&l, &form, p);
	json_decref(user);
	store_read_end(l.txn);
	return rc;
}

static void
store_proof(struct fx *f, struct proof *p)
{
	struct wctx w = { .f = f, .key_val = p->cred_update, .expect = p->cred_expect,
	    .cred_key = p->cred_key };

	assert_int_equal(store_write_sync(f->s, w_store_proof, &w), STORE_OK);
}

static void
proof_free(struct proof *p)
{
	json_decref(p->cred_update);
	json_decref(p->cred_expect);
	memset(p, 0, sizeof(*p));
}

static void
test_finish_and_replay(void **state)
{
	struct fx *f = *state;
	struct proof p;
	char code[7], spaced[8], key[128];
	time_t t;

	activate(f, NULL);
	/* the confirming code's step is used up */
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	assert_int_equal(try_finish(f, "otp", code, NULL, NULL, &p), METHOD_FAIL);
	assert_null(p.cred_update);
	assert_string_equal(p.user_id, "");

	/* the next step's code (inside the window), with a space as apps show it */
	t = now_s();
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, t + 30, code), 0);
	snprintf(spaced, sizeof(spaced), "%.3s %.3s", code, code + 3);
	assert_int_equal(try_finish(f, "otp", spaced, NULL, NULL, &p), METHOD_OK);
	assert_string_equal(p.user_id, f->id);
	assert_int_equal(p.amr, AMR_OTP);
	assert_int_equal(p.factors, FACTOR_HAVE);
	assert_int_equal(p.props, 0);
	assert_int_equal(p.cred_must_update, 1);
	snprintf(key, sizeof(key), "%s/totp/0", f->id);
	assert_string_equal(p.cred_key, key);
	assert_non_null(p.cred_expect);
	assert_non_null(p.cred_update);
	assert_int_equal(json_integer_value(json_object_get(p.cred_update, "last_step")),
	    (t + 30) / 30);
	assert_string_equal(p.audit_event, "");
	store_proof(f, &p);
	proof_free(&p);

	/* the same code a second time: replay, refused */
	assert_int_equal(try_finish(f, "otp", code, NULL, NULL, &p), METHOD_FAIL);
	assert_null(p.cred_update);
	assert_int_equal(p.amr, 0);
}

static void
test_finish_refuses_malformed(void **state)
{
	struct fx *f = *state;
	struct proof p;

	activate(f, NULL);
	assert_int_equal(try_finish(f, "otp", "12345", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "otp", "1234567", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "otp", "12a456", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "otp", "12345６", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "otp", "-12345", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "otp", "", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, NULL, NULL, NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "recovery_code", "ABCD-EFGH", NULL, NULL, &p), METHOD_INVALID);
	assert_int_equal(try_finish(f, "recovery_code", "ABCD-EFGH-JK0M", NULL, NULL, &p),
	    METHOD_INVALID);	/* 0 is not in the alphabet */
	assert_int_equal(try_finish(f, "recovery_code", "ABCD-EFGH-JKMNP", NULL, NULL, &p),
	    METHOD_INVALID);
	/* both at once is ambiguous */
	assert_int_equal(try_finish(f, "otp", "123456", "recovery_code", "ABCD-EFGH-JKMN", &p),
	    METHOD_INVALID);
	assert_null(p.cred_update);
	/* well-formed but wrong */
	assert_int_equal(try_finish(f, "recovery_code", "ABCD-EFGH-JKMN", NULL, NULL, &p), METHOD_FAIL);
}

static void
test_finish_without_active_credential(void **state)
{
	struct fx *f = *state;
	struct proof p;
	char code[7];

	assert_int_equal(try_finish(f, "otp", "123456", NULL, NULL, &p), METHOD_FAIL);
	begin(f);	/* pending is not usable for sign-in */
	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code), 0);
	assert_int_equal(try_finish(f, "otp", code, NULL, NULL, &p), METHOD_FAIL);
	assert_null(p.cred_update);
}

static void
test_recovery_code_once(void **state)
{
	struct fx *f = *state;
	char rec[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3], typed[16];
	struct proof p;
	size_t i, j;

	activate(f, rec);
	/* typed lower-case without dashes */
	for (i = 0, j = 0; rec[3][i] != '\0'; i++)
		if (rec[3][i] != '-')
			typed[j++] = (char)(rec[3][i] >= 'A' && rec[3][i] <= 'Z' ? rec[3][i] + 32 : rec[3][i]);
	typed[j] = '\0';
	assert_int_equal(try_finish(f, "recovery_code", typed, NULL, NULL, &p), METHOD_OK);
	assert_string_equal(p.audit_event, "totp.recovery_used");
	assert_int_equal(p.amr, AMR_OTP);
	assert_int_equal(p.cred_must_update, 1);
	assert_int_equal(json_array_size(json_object_get(p.cred_update, "recovery")), 9);
	assert_int_equal(json_array_size(json_object_get(p.cred_expect, "recovery")), 10);
	store_proof(f, &p);
	proof_free(&p);
	assert_int_equal(try_finish(f, "recovery_code", rec[3], NULL, NULL, &p), METHOD_FAIL);
	assert_null(p.cred_update);
	/* the others still work */
	assert_int_equal(try_finish(f, "recovery_code", rec[4], NULL, NULL, &p), METHOD_OK);
	proof_free(&p);
}

static void
test_reset(void **state)
{
	struct fx *f = *state;
	struct wctx w = { .f = f };
	struct store_txn *t;
	json_t *u = NULL;

	activate(f, NULL);
	assert_int_equal(store_write_sync(f->s, w_reset, &w), STORE_OK);
	assert_state(f, "none");
	/* The person's notice is authctl's security event now, not a flag here. */
	t = store_read_begin(f->s);
	assert_int_equal(user_by_id(t, f->id, &u), STORE_OK);
	store_read_end(t);
	assert_null(json_object_get(u, "notice"));
	json_decref(u);
	/* nothing to reset a second time */
	assert_int_equal(store_write_sync(f->s, w_reset, &w), STORE_NOTFOUND);
	/* and enrolment starts afresh */
	activate(f, NULL);
	assert_state(f, "active");
}

static int
w_regen(struct store_txn *t, void *ctx)
{
	struct wctx *w = ctx;

	w->rc = totp_recovery_regenerate(t, w->f->id, w->rec);
	return w->rc;
}

/* New recovery codes replace the old ones in one write: every old code stops
 * working, the ten new ones work once each; nothing without an active TOTP. */
static void
test_recovery_regenerate(void **state)
{
	struct fx *f = *state;
	struct wctx w = { .f = f };
	char old[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
	struct proof p;
	json_t *st;
	int i, j;

	/* none, then only pending: nothing to replace */
	assert_int_equal(store_write_sync(f->s, w_regen, &w), STORE_NOTFOUND);
	begin(f);
	assert_int_equal(store_write_sync(f->s, w_regen, &w), STORE_NOTFOUND);
	assert_state(f, "pending");
	activate(f, old);
	/* one old code used: 9 left */
	assert_int_equal(try_finish(f, "recovery_code", old[0], NULL, NULL, &p), METHOD_OK);
	store_proof(f, &p);
	proof_free(&p);
	assert_int_equal(store_write_sync(f->s, w_regen, &w), STORE_OK);
	st = status(f);
	assert_int_equal(json_integer_value(json_object_get(st, "recovery_codes_left")), 10);
	assert_string_equal(json_string_value(json_object_get(st, "totp")), "active");
	json_decref(st);
	for (i = 0; i < TOTP_RECOVERY_CODES; i++) {
		assert_int_equal(strlen(w.rec[i]), TOTP_RECOVERY_LEN + 2);
		for (j = 0; j < TOTP_RECOVERY_CODES; j++)
			assert_string_not_equal(w.rec[i], old[j]);
	}
	/* the old ones are gone, the new ones work */
	assert_int_equal(try_finish(f, "recovery_code", old[1], NULL, NULL, &p), METHOD_FAIL);
	proof_free(&p);
	assert_int_equal(try_finish(f, "recovery_code", w.rec[9], NULL, NULL, &p), METHOD_OK);
	proof_free(&p);
}

/* ---- QR codes and the table ---- */

static void
test_qr(void **state)
{
	const char *uri = "otpauth://totp/City%20SSO:lin.meiling?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	    "&issuer=City%20SSO&algorithm=SHA1&digits=6&period=30";
	char *d, *txt, *big;
	int modules = 0;
	size_t i;

	(void)state;
	/* The path data the enrolment page draws (share/templates/account-enrol.html):
	 * unit squares "Mx yhNv1h-Nz" only, inside the quiet zone of 4. */
	assert_int_equal(totp_qr_path(uri, &d, &modules), 0);
	assert_non_null(d);
	assert_true(modules >= 21 + 8 && (modules - 8 - 17) % 4 == 0);	/* version 1..40 */
	assert_int_equal(strncmp(d, "M", 1), 0);
	assert_int_equal(d[strlen(d) - 1], 'z');
	for (i = 0; d[i] != '\0'; i++)
		assert_non_null(strchr("Mhvz0123456789 -", d[i]));
	assert_null(strstr(d, "M0 "));	/* nothing in the quiet zone */
	free(d);
	txt = totp_qr_text(uri);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "\xe2\x96\x88"));	/* full block */
	assert_non_null(strchr(txt, '\n'));
	free(txt);
	assert_int_equal(totp_qr_path(NULL, &d, &modules), -1);
	assert_null(d);
	big = calloc(1, TOTP_URI_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', TOTP_URI_MAX + 1);
	assert_int_equal(totp_qr_path(big, &d, &modules), -1);
	assert_null(totp_qr_text(big));
	free(big);
}

static void
test_recovery_normalise(void **state)
{
	char out[TOTP_RECOVERY_LEN + 1];

	(void)state;
	assert_int_equal(totp_recovery_normalise("abcd-efgh-jkmn", out), 0);
	assert_string_equal(out, "ABCDEFGHJKMN");
	assert_int_equal(totp_recovery_normalise("ABCDEFGHJKMN", out), 0);
	assert_int_equal(totp_recovery_normalise("ABCD EFGH JKMN", out), 0);
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKMO", out), -1);	/* O */
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKM1", out), -1);	/* 1 */
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKML", out), -1);	/* L */
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKMI", out), -1);	/* I */
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKM", out), -1);
	assert_int_equal(totp_recovery_normalise("ABCD-EFGH-JKMNP", out), -1);
	assert_int_equal(totp_recovery_normalise("ABCD_EFGH_JKMN", out), -1);
	assert_int_equal(totp_recovery_normalise(NULL, out), -1);
	assert_int_equal(strlen(TOTP_RECOVERY_ALPHABET), 31);
}

static void
test_method_table(void **state)
{
	(void)state;
	assert_ptr_equal(method_find("totp"), &method_totp);
	assert_string_equal(method_totp.name, "totp");
	assert_int_equal(method_totp.factors, FACTOR_HAVE);
	assert_int_equal(method_totp.props, 0);
	assert_non_null(method_totp.finish);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_match_window),
		cmocka_unit_test(test_qr),
		cmocka_unit_test(test_recovery_normalise),
		cmocka_unit_test(test_method_table),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrolment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrol_tries_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_begin_replaces_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_refuses_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_without_active_credential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_code_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_regenerate, setup, teardown),
	};

	return cmocka_run_group_tests_name("totp", tests, NULL, NULL);
}

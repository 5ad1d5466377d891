/* tests/unit/fixture.h — the fixtures the unit tests share: a private temporary
 * folder removed with everything in it, an LMDB store opened in one, a file
 * written (a config file loaded), a user created through a write transaction,
 * a self-signed certificate for an in-process TLS server.
 * Header-only (static inline, so a test that uses part of it still builds under
 * -Werror): each tests/unit/test_*.c stays one binary built by the Makefile's
 * one rule. Every helper returns a status; the tests assert on it. */
#ifndef AUTHD_TESTS_UNIT_FIXTURE_H
#define AUTHD_TESTS_UNIT_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../authd/config.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../authd/web/pages.h"

/* Room for "/tmp/authd-test-NAME-XXXXXX" with a short NAME. */
#define FX_DIR_MAX 64

/* fx_store_open() flags. Test stores skip fsync unless a test asks for it. */
#define FX_SYNC      0x1	/* fsync each commit, as production does */
#define FX_NO_WRITER 0x2	/* no writer thread, as authctl opens it */

/* Makes a fresh folder /tmp/authd-test-NAME-XXXXXX (mode 0700) into dir.
 * 0, or -1 with dir empty. */
static inline int
fx_tmpdir(char dir[FX_DIR_MAX], const char *name)
{
	int n = snprintf(dir, FX_DIR_MAX, "/tmp/authd-test-%s-XXXXXX", name);

	if (n < 0 || n >= FX_DIR_MAX || mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

static inline int
fx_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it, without following links. Only folders
 * under /tmp/ are touched, so a fixture bug cannot remove anything else; an
 * empty dir (a setup that failed early) is nothing to do. 0 or -1. */
static inline int
fx_rmtree(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return 0;
	if (strncmp(dir, "/tmp/", 5) != 0 || strstr(dir, "..") != NULL)
		return -1;
	return nftw(dir, fx_rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Writes text to path, replacing what was there. 0 or -1. */
static inline int
fx_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Writes text as the config file at path and loads it: conf_load's result
 * (0 or -1 with err set), or -1 with err saying the file could not be written. */
static inline int
fx_conf_load(struct conf *c, const char *path, const char *text, char *err, size_t errsz)
{
	if (fx_write_file(path, text) != 0) {
		memset(c, 0, sizeof(*c));
		snprintf(err, errsz, "cannot write %s", path);
		return -1;
	}
	return conf_load(c, path, err, errsz);
}

/* Opens a store of map_mib MiB in dir (made if absent): STORE_OK or the error. */
static inline int
fx_store_open(struct store **s, const char *dir, size_t map_mib, int flags)
{
	struct store_opts o = {
		.map_size = map_mib << 20,
		.nosync = !(flags & FX_SYNC),
		.no_writer = !!(flags & FX_NO_WRITER),
	};

	*s = NULL;
	return store_open(s, dir, &o);
}

/* A fresh folder for NAME with a store open in it. 0, or -1 with nothing left
 * behind (dir empty, *s NULL). */
static inline int
fx_store_make(char dir[FX_DIR_MAX], struct store **s, const char *name, size_t map_mib,
    int flags)
{
	*s = NULL;
	if (fx_tmpdir(dir, name) != 0)
		return -1;
	if (fx_store_open(s, dir, map_mib, flags) != STORE_OK) {
		fx_rmtree(dir);
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Closes s (may be NULL) and removes its folder. 0 or -1. */
static inline int
fx_store_remove(const char *dir, struct store *s)
{
	store_close(s);
	return fx_rmtree(dir);
}

/* The fixture of the tests that need only a store: cmocka setup and teardown
 * through fx_store_setup()/fx_store_teardown(), *state a struct fx_store. */
struct fx_store {
	char dir[FX_DIR_MAX];
	struct store *s;
};

static inline int
fx_store_setup(void **state, const char *name, size_t map_mib, int flags)
{
	struct fx_store *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_make(f->dir, &f->s, name, map_mib, flags) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int
fx_store_teardown(void **state)
{
	struct fx_store *f = *state;
	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	return rc;
}

struct fx_user_args {
	const char *username, *display, *email;
	char id[USER_ID_LEN + 1];
};

static inline int
fx_user_create_fn(struct store_txn *t, void *ctx)
{
	struct fx_user_args *a = ctx;

	return user_create(t, a->username, a->display, a->email, a->id);
}

/* Creates a user in its own write transaction: user_create's status; its id
 * into id when id is not NULL. */
static inline int
fx_user_create(struct store *s, const char *username, const char *display, const char *email,
    char id[USER_ID_LEN + 1])
{
	struct fx_user_args a = { .username = username, .display = display, .email = email };
	int rc = store_write_sync(s, fx_user_create_fn, &a);

	if (id != NULL)
		memcpy(id, a.id, sizeof(a.id));
	return rc;
}

/* Adds the extension nid = value (X509V3 config syntax) to x: 0 or -1. */
static inline int
fx_cert_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A self-signed certificate for cn over key k, valid from a minute ago for an
 * hour. With san (e.g. "IP:127.0.0.1,DNS:localhost") it also names those and is
 * CA:TRUE, so a client can be given it as its CA file. NULL on failure. */
static inline X509 *
fx_self_signed_cert(EVP_PKEY *k, const char *cn, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *n;

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	if (X509_set_pubkey(x, k) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1)
		goto fail;
	if (san != NULL && (fx_cert_ext(x, NID_subject_alt_name, san) != 0 ||
	    fx_cert_ext(x, NID_basic_constraints, "critical,CA:TRUE") != 0))
		goto fail;
	if (X509_sign(x, k, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* Writes x and/or k (either may be NULL) to path as PEM: 0 or -1. */
static inline int
fx_write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = (x == NULL || PEM_write_X509(f, x) == 1) &&
	     (k == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* The pages of share/ (templates, catalogues, static files), loaded as authd
 * loads them (pages_init) for a test that checks what a person reads. They
 * stay loaded until pages_fini(). 0 or -1. */
static inline int
fx_pages_load(void)
{
	struct conf c;
	char err[512];

	if (pages_set() != NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	c.default_lang = (char *)"zh-TW";
	if (pages_init(&c, err, sizeof(err)) != 0) {
		fprintf(stderr, "# pages: %s\n", err);
		return -1;
	}
	return 0;
}

/* The text people read for catalogue key in lang ("" for a NULL key or when
 * the pages cannot be loaded: an assertion on it then fails). */
static inline const char *
fx_text(const char *lang, const char *key)
{
	if (key == NULL || fx_pages_load() != 0)
		return "";
	return pages_text(lang, key);
}

#endif

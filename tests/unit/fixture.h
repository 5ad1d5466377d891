/* tests/unit/fixture.h — the fixtures the unit tests share: a private temporary
 * folder removed with everything in it, an LMDB store opened in one, a file
 * written (a config file loaded), a user created through a write transaction.
 * Header-only (static inline, so a test that uses part of it still builds under
 * -Werror): each tests/unit/test_*.c stays one binary built by the Makefile's
 * one rule. Every helper returns a status; the tests assert on it. */
#ifndef AUTHD_TESTS_UNIT_FIXTURE_H
#define AUTHD_TESTS_UNIT_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../authd/config.h"
#include "../../authd/store.h"
#include "../../authd/users.h"

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

#endif

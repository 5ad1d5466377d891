/* authd/authctl/init.c — authctl init: the store, the signing key ring and the
 * server secret when absent (safe to run again), then every method's part of
 * it (struct method_admin.init, e.g. the TOTP key file beside the config). */
#include <stdio.h>
#include <string.h>

#include "../../modules/method.h"
#include "../keys.h"
#include "authctl.h"

const char usage_init[] =
    "usage: authctl [-c FILE] init\n"
    "  Creates the store, the signing key ring (ES256, RS256, EdDSA: current and next)\n"
    "  and the server secret when absent. Safe to run again.\n";

struct init_ctx {
	const struct admin_ctx *c;
	int created_ring, created_secret;
};

static int
init_cb(struct store_txn *t, void *arg)
{
	struct init_ctx *x = arg;
	json_t *v = NULL, *f;
	int rc;

	x->created_ring = store_gets(t, T_META, "keyring", &v) == STORE_NOTFOUND;
	json_decref(v);
	v = NULL;
	x->created_secret = store_gets(t, T_META, "secret", &v) == STORE_NOTFOUND;
	json_decref(v);
	if ((rc = keys_ensure(t)) != STORE_OK)
		return rc;
	if (!x->created_ring && !x->created_secret)
		return STORE_OK;
	f = json_pack("{s:b, s:b}", "keyring", x->created_ring, "secret", x->created_secret);
	rc = f != NULL ? admin_audit(x->c, t, "admin.store.init", f) : STORE_IO;
	json_decref(f);
	return rc;
}

int
cmd_init(struct admin_ctx *c, int argc, char **argv)
{
	struct init_ctx x = { .c = c };
	size_t i;
	int rc;

	if (argc != 0) {
		admin_usage_error(c, usage_init, "init takes no arguments");
		return EXIT_USAGE;
	}
	if (admin_open_store(c, 1) != 0)
		return EXIT_REFUSED;
	if ((rc = store_write_sync(c->store, init_cb, &x)) != STORE_OK)
		return admin_store_failure(c, "init", rc);
	/* What the methods keep outside the store (the TOTP sealing key beside
	 * the config). */
	for (i = 0; authd_methods[i] != NULL; i++) {
		const struct method_admin *ma = authd_methods[i]->admin;

		if (ma != NULL && ma->init != NULL && (rc = ma->init(c)) != 0)
			return rc;
	}
	if (x.created_ring || x.created_secret)
		fprintf(c->err, "authctl: initialised store %s\n", c->store_dir);
	else
		fprintf(c->err, "authctl: store %s already initialised\n", c->store_dir);
	return 0;
}

/* authd/authctl/key.c — authctl key rotate|list: the signing key ring (a
 * running authd picks a rotation up on its next request). */
#include <stdio.h>
#include <string.h>

#include "../keys.h"
#include "authctl.h"

const char usage_key[] =
    "usage: authctl [-c FILE] key rotate\n"
    "       authctl [-c FILE] key list\n"
    "  rotate: for each algorithm next -> current, current -> retired, a new next;\n"
    "  retired keys are dropped once every token they signed has expired.\n";

struct key_ctx {
	const struct admin_ctx *c;
	long max_ttl;
	json_int_t generation;
	int need_init;
};

static int
key_rotate_cb(struct store_txn *t, void *arg)
{
	struct key_ctx *x = arg;
	json_t *g = NULL, *f;
	int rc;

	if ((rc = keys_rotate(t, x->max_ttl)) != STORE_OK) {
		x->need_init = rc == STORE_NOTFOUND;
		return rc;
	}
	if ((rc = store_gets(t, T_META, "keyring_generation", &g)) != STORE_OK)
		return rc;
	x->generation = json_integer_value(json_object_get(g, "generation"));
	json_decref(g);
	f = json_pack("{s:I}", "generation", x->generation);
	rc = f != NULL ? admin_audit(x->c, t, "admin.key.rotate", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
key_list_print(struct admin_ctx *c)
{
	struct store_txn *t;
	json_t *list = NULL, *k;
	size_t i;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return admin_store_failure(c, "read", STORE_IO);
	rc = keys_list(t, &list);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		fprintf(c->err, "authctl: no key ring (run: authctl -c %s init)\n", c->config_path);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return admin_store_failure(c, "key list", rc);
	json_array_foreach(list, i, k)
		admin_print_json(c, k);
	json_decref(list);
	return 0;
}

int
cmd_key(struct admin_ctx *c, int argc, char **argv)
{
	struct key_ctx x = { .c = c };
	long ttl;
	int rc;

	if (argc != 1 || (strcmp(argv[0], "rotate") != 0 && strcmp(argv[0], "list") != 0)) {
		if (argc < 1)
			admin_usage_error(c, usage_key, "key: which action?");
		else
			admin_usage_error(c, usage_key,
			    "key: unknown action or extra argument after '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (admin_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if (strcmp(argv[0], "list") == 0)
		return key_list_print(c);
	/* Retired keys must outlive every JWT they signed: the longest JWT
	 * lifetime plus the clock skew verifiers allow. */
	ttl = c->conf.access_ttl > c->conf.id_ttl ? c->conf.access_ttl : c->conf.id_ttl;
	x.max_ttl = ttl + (c->conf.leeway > 0 ? c->conf.leeway : 0);
	rc = store_write_sync(c->store, key_rotate_cb, &x);
	if (rc != STORE_OK) {
		if (x.need_init) {
			fprintf(c->err, "authctl: no key ring (run: authctl -c %s init)\n",
			    c->config_path);
			return EXIT_REFUSED;
		}
		return admin_store_failure(c, "key rotate", rc);
	}
	fprintf(c->err,
	    "authctl: keys rotated (generation %lld); a running authd picks them up "
	    "on its next request\n",
	    (long long)x.generation);
	return key_list_print(c);
}

/* authd/authctl/client.c — authctl client add|update|list|show|remove|import:
 * registered applications. The command line becomes a record here; the rules a
 * record must meet, its defaults and its secret are authd/clients.c's (one place
 * for every admin interface). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/util.h"
#include "../clients.h"
#include "authctl.h"

/* Bounds on operator input: a client import file and a JWKS file. */
#define IMPORT_MAX_BYTES (8UL << 20)
#define IMPORT_MAX_CLIENTS 10000
#define JWKS_MAX_BYTES (256UL << 10)
#define FIELD_MAX          ADMIN_FIELD_MAX

const char usage_client[] =
    "usage: authctl [-c FILE] client add ID --redirect-uri URI [OPTIONS]\n"
    "       authctl [-c FILE] client update ID [OPTIONS]\n"
    "       authctl [-c FILE] client list\n"
    "       authctl [-c FILE] client show ID\n"
    "       authctl [-c FILE] client remove ID\n"
    "       authctl [-c FILE] client import FILE.json [--secrets-out FILE]\n"
    "options (repeatable ones marked +; on update, a given option replaces the value):\n"
    "  --redirect-uri URI +             --post-logout-redirect-uri URI +\n"
    "  --grant G +                      --scope S +\n"
    "  --public                         --auth-method M\n"
    "  --min-aal 1|2|3                  --name N          --name-en N\n"
    "  --jwks-file F                    --backchannel-logout-uri URI\n"
    "  --audience A                     --id-token-alg ES256|RS256|EdDSA\n"
    "  --require-pkce | --no-require-pkce  PKCE is required (the default); only a\n"
    "                                   confidential client may go without (audited,\n"
    "                                   warned at every start of authd)\n"
    "  --host | --no-host               a server that logs people in (pam_authd): its\n"
    "                                   device flow gives no link with the code, and\n"
    "                                   the approval page names host, account, address\n"
    "                                   and time (implied by --grant password)\n"
    "defaults: grants authorization_code refresh_token, scopes openid profile email,\n"
    "client_secret (Basic or form), min_aal 1, PKCE required. A new confidential client's secret is printed\n"
    "once as \"client_secret: ...\"; only its keyed hash is stored.\n";

struct client_opts {
	json_t *redirect_uris, *post_logout, *grants, *scopes; /* NULL: not given */
	const char *name, *name_en, *auth_method, *jwks_file, *backchannel, *audience, *id_alg;
	int public_client;
	int host;              /* 1 --host, -1 --no-host, 0: not given */
	int pkce;              /* 1 --require-pkce, -1 --no-require-pkce, 0: not given */
	int min_aal;           /* 0: not given */
	const char *id;
};

static void
client_opts_free(struct client_opts *o)
{
	json_decref(o->redirect_uris);
	json_decref(o->post_logout);
	json_decref(o->grants);
	json_decref(o->scopes);
}

static int
append_opt(json_t **arr, const char *v)
{
	if (*arr == NULL && (*arr = json_array()) == NULL)
		return -1;
	return json_array_append_new(*arr, json_string(v));
}

/* Parses ID and the client options; 0 ok, EXIT_USAGE with a message. */
static int
parse_client_opts(struct admin_ctx *c, int argc, char **argv, struct client_opts *o)
{
	int i, m;

	for (i = 0; i < argc; i++) {
		const char *v = NULL;

		if ((m = admin_opt_arg(c, argc, argv, &i, "--redirect-uri", &v)) != 0) {
			if (m < 0 || append_opt(&o->redirect_uris, v) != 0)
				return EXIT_USAGE;
		} else if ((m = admin_opt_arg(
		                c, argc, argv, &i, "--post-logout-redirect-uri", &v)) != 0) {
			if (m < 0 || append_opt(&o->post_logout, v) != 0)
				return EXIT_USAGE;
		} else if ((m = admin_opt_arg(c, argc, argv, &i, "--grant", &v)) != 0) {
			if (m < 0 || append_opt(&o->grants, v) != 0)
				return EXIT_USAGE;
		} else if ((m = admin_opt_arg(c, argc, argv, &i, "--scope", &v)) != 0) {
			if (m < 0 || append_opt(&o->scopes, v) != 0)
				return EXIT_USAGE;
		} else if ((m = admin_opt_arg(c, argc, argv, &i, "--min-aal", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0 && strcmp(v, "3") != 0) {
				admin_usage_error(
				    c, usage_client, "--min-aal must be 1, 2 or 3, not '%s'", v);
				return EXIT_USAGE;
			}
			o->min_aal = v[0] - '0';
		} else if ((m = admin_opt_arg(c, argc, argv, &i, "--name-en", &o->name_en)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--name", &o->name)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--auth-method", &o->auth_method)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--jwks-file", &o->jwks_file)) != 0 ||
		    (m = admin_opt_arg(
		         c, argc, argv, &i, "--backchannel-logout-uri", &o->backchannel)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--audience", &o->audience)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--id-token-alg", &o->id_alg)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "--public") == 0) {
			o->public_client = 1;
		} else if (strcmp(argv[i], "--require-pkce") == 0) {
			o->pkce = 1;
		} else if (strcmp(argv[i], "--no-require-pkce") == 0) {
			o->pkce = -1;
		} else if (strcmp(argv[i], "--host") == 0) {
			o->host = 1;
		} else if (strcmp(argv[i], "--no-host") == 0) {
			o->host = -1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			admin_usage_error(c, usage_client, "client: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (o->id == NULL) {
			o->id = argv[i];
		} else {
			admin_usage_error(
			    c, usage_client, "client: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (o->id == NULL) {
		admin_usage_error(c, usage_client, "client: an ID is needed");
		return EXIT_USAGE;
	}
	if (o->public_client && o->auth_method != NULL && strcmp(o->auth_method, "none") != 0) {
		admin_usage_error(
		    c, usage_client, "--public conflicts with --auth-method %s", o->auth_method);
		return EXIT_USAGE;
	}
	if (o->public_client)
		o->auth_method = "none";
	return 0;
}

static json_t *
load_json_file(const char *path, size_t max, char *err, size_t errsz)
{
	json_error_t je;
	struct stat st;
	json_t *v;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		snprintf(err, errsz, "%s: not a regular file of at most %zu bytes", path, max);
		fclose(f);
		return NULL;
	}
	v = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (v == NULL)
		snprintf(err, errsz, "%s:%d: %s", path, je.line, je.text);
	return v;
}

/* Fills the members given in o into rec (replacing them). */
static int
client_apply_opts(json_t *rec, const struct client_opts *o, json_t *jwks)
{
	int rc = 0;

	if (o->redirect_uris != NULL)
		rc |= json_object_set(rec, "redirect_uris", o->redirect_uris);
	if (o->post_logout != NULL)
		rc |= json_object_set(rec, "post_logout_redirect_uris", o->post_logout);
	if (o->grants != NULL)
		rc |= json_object_set(rec, "grant_types", o->grants);
	if (o->scopes != NULL)
		rc |= json_object_set(rec, "scopes", o->scopes);
	if (o->name != NULL)
		rc |= json_object_set_new(rec, "name", json_string(o->name));
	if (o->name_en != NULL)
		rc |= json_object_set_new(rec, "name_en", json_string(o->name_en));
	if (o->auth_method != NULL)
		rc |= json_object_set_new(rec, "token_endpoint_auth_method", json_string(o->auth_method));
	if (o->min_aal != 0)
		rc |= json_object_set_new(rec, "min_aal", json_integer(o->min_aal));
	if (o->host != 0)
		rc |= json_object_set_new(rec, "host", json_boolean(o->host > 0));
	if (o->pkce != 0)
		rc |= json_object_set_new(rec, "require_pkce", json_boolean(o->pkce > 0));
	if (o->backchannel != NULL)
		rc |= json_object_set_new(rec, "backchannel_logout_uri", json_string(o->backchannel));
	if (o->audience != NULL)
		rc |= json_object_set_new(rec, "audience", json_string(o->audience));
	if (o->id_alg != NULL)
		rc |= json_object_set_new(rec, "id_token_signed_response_alg", json_string(o->id_alg));
	if (jwks != NULL)
		rc |= json_object_set(rec, "jwks", jwks);
	return rc == 0 ? 0 : -1;
}

/* What client list/show print: the record without its secret hash. */
static json_t *
client_public(const json_t *rec)
{
	json_t *p = json_copy((json_t *)rec);

	if (p != NULL)
		json_object_del(p, "secret_hash");
	return p;
}

struct secret_out {
	char id[FIELD_MAX + 1];
	char secret[CLIENT_SECRET_LEN + 1];
};

struct client_ctx {
	const struct admin_ctx *c;
	json_t *rec;               /* add/update: the record (update: the options) */
	const struct client_opts *o;
	json_t *jwks;
	json_t *changed;           /* update: names of members given */
	char err[256];
	int need_init;
	int have_secret;
	char secret[CLIENT_SECRET_LEN + 1];
	/* import */
	json_t *recs;
	size_t n_new, n_updated;
	struct secret_out *secrets;
	size_t n_secrets;
	const char *secrets_path;
	int secrets_created;
};

static int
client_add_cb(struct store_txn *t, void *arg)
{
	struct client_ctx *x = arg;
	json_t *f;
	int rc;

	if (json_object_set_new(x->rec, "created", json_integer(now_s())) != 0)
		return STORE_IO;
	rc = client_secret_provision(t, x->rec, x->secret, &x->have_secret, &x->need_init);
	if (rc != STORE_OK)
		return rc;
	if ((rc = store_puts(t, T_CLIENTS, x->o->id, x->rec, STORE_NOOVERWRITE)) != STORE_OK)
		return rc;
	f = json_pack("{s:s, s:O, s:b}", "client", x->o->id, "auth_method",
	    json_object_get(x->rec, "token_endpoint_auth_method"), "require_pkce",
	    client_requires_pkce(x->rec));
	rc = f != NULL ? admin_audit(x->c, t, "admin.client.add", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
client_update_cb(struct store_txn *t, void *arg)
{
	struct client_ctx *x = arg;
	json_t *rec = NULL, *f;
	int rc;

	if ((rc = client_get(t, x->o->id, &rec)) != STORE_OK)
		return rc;
	if (client_apply_opts(rec, x->o, x->jwks) != 0) {
		json_decref(rec);
		return STORE_IO;
	}
	client_after_update(rec, x->o->auth_method != NULL, x->jwks != NULL);
	if (client_register_check(rec, x->err, sizeof(x->err)) != 0) {
		json_decref(rec);
		return STORE_CONFLICT;
	}
	rc = client_secret_provision(t, rec, x->secret, &x->have_secret, &x->need_init);
	if (rc == STORE_OK && json_object_set_new(rec, "updated", json_integer(now_s())) != 0)
		rc = STORE_IO;
	if (rc == STORE_OK)
		rc = store_puts(t, T_CLIENTS, x->o->id, rec, 0);
	if (rc == STORE_OK) {
		f = json_pack("{s:s, s:O, s:b, s:b}", "client", x->o->id, "changed", x->changed,
		    "new_secret", x->have_secret, "require_pkce", client_requires_pkce(rec));
		rc = f != NULL ? admin_audit(x->c, t, "admin.client.update", f) : STORE_IO;
		json_decref(f);
	}
	json_decref(rec);
	return rc;
}

static int
client_remove_cb(struct store_txn *t, void *arg)
{
	struct client_ctx *x = arg;
	json_t *f;
	int rc;

	if ((rc = store_dels(t, T_CLIENTS, x->o->id)) != STORE_OK)
		return rc;
	f = json_pack("{s:s}", "client", x->o->id);
	rc = f != NULL ? admin_audit(x->c, t, "admin.client.remove", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static void
print_secret_once(struct client_ctx *x)
{
	const struct admin_ctx *c = x->c;

	if (!x->have_secret)
		return;
	fprintf(c->out, "client_secret: %s\n", x->secret);
	fflush(c->out);
	wipe(x->secret, sizeof(x->secret));
	fprintf(c->err, "authctl: the secret is shown once; only its keyed hash is stored\n");
}

/* Records the names of the options given to client update, for the audit record. */
static json_t *
changed_members(const struct client_opts *o)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
#define CHANGED(cond, name) if (cond) json_array_append_new(a, json_string(name))
	CHANGED(o->redirect_uris, "redirect_uris");
	CHANGED(o->post_logout, "post_logout_redirect_uris");
	CHANGED(o->grants, "grant_types");
	CHANGED(o->scopes, "scopes");
	CHANGED(o->name, "name");
	CHANGED(o->name_en, "name_en");
	CHANGED(o->auth_method, "token_endpoint_auth_method");
	CHANGED(o->min_aal, "min_aal");
	CHANGED(o->host, "host");
	CHANGED(o->pkce, "require_pkce");
	CHANGED(o->jwks_file, "jwks");
	CHANGED(o->backchannel, "backchannel_logout_uri");
	CHANGED(o->audience, "audience");
	CHANGED(o->id_alg, "id_token_signed_response_alg");
#undef CHANGED
	return a;
}

static int
client_write_result(struct admin_ctx *c, struct client_ctx *x, const char *what, int rc)
{
	if (rc == STORE_OK)
		return 0;
	if (x->need_init) {
		fprintf(c->err, "authctl: store not initialised (run: authctl -c %s init)\n",
		    c->config_path);
		return EXIT_REFUSED;
	}
	if (rc == STORE_EXISTS) {
		admin_refuse(c, "client exists", x->o->id);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		admin_refuse(c, "no such client", x->o->id);
		return EXIT_REFUSED;
	}
	if (rc == STORE_CONFLICT && x->err[0] != '\0') {
		admin_refuse(c, "client refused", x->err);
		return EXIT_REFUSED;
	}
	return admin_store_failure(c, what, rc);
}

static int
client_list_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct admin_ctx *c = ctx;
	json_t *p = client_public(value);
	int rc = p != NULL ? admin_print_json(c, p) : -1;

	json_decref(p);
	return rc;
}

static int
client_read_cmd(struct admin_ctx *c, const char *verb, const char *id)
{
	struct store_txn *t;
	json_t *rec = NULL, *p;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return admin_store_failure(c, "read", STORE_IO);
	if (id == NULL) {
		rc = store_iter(t, T_CLIENTS, NULL, 0, client_list_cb, c);
		store_read_end(t);
		return rc == 0 ? 0 : admin_store_failure(c, "client list", STORE_IO);
	}
	rc = client_get(t, id, &rec);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		admin_refuse(c, "no such client", id);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return admin_store_failure(c, verb, rc);
	p = client_public(rec);
	rc = p != NULL ? admin_print_json(c, p) : -1;
	json_decref(p);
	json_decref(rec);
	return rc == 0 ? 0 : EXIT_REFUSED;
}

/* ---- import */

/* Builds a record from one import entry; NULL with err set when invalid. */
static json_t *
import_entry(const json_t *e, size_t idx, char *err, size_t errsz)
{
	const char *id = json_string_value(json_object_get(e, "client_id"));
	const char *k;
	json_t *rec, *v;
	char why[200];

	if (!json_is_object(e)) {
		snprintf(err, errsz, "entry %zu: not an object", idx);
		return NULL;
	}
	if (id == NULL || !admin_text_ok(id)) {
		snprintf(err, errsz, "entry %zu: client_id missing or not text", idx);
		return NULL;
	}
	json_object_foreach((json_t *)e, k, v) {
		if (!client_input_member_ok(k)) {
			/* Secrets are generated here, never imported; anything else
			 * unknown is most likely a typo that would be silently lost. */
			snprintf(err, errsz, "entry %zu (%s): member \"%.40s\" not accepted", idx, id, k);
			return NULL;
		}
	}
	if ((rec = client_defaults(id)) == NULL || json_object_update(rec, (json_t *)e) != 0) {
		json_decref(rec);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (client_register_check(rec, why, sizeof(why)) != 0) {
		snprintf(err, errsz, "entry %zu (%s): %s", idx, id, why);
		json_decref(rec);
		return NULL;
	}
	/* Left unset so a re-import cannot quietly re-enable an application an
	 * administrator disabled; client_import_cb fills it in. */
	if (json_object_get(e, "disabled") == NULL)
		json_object_del(rec, "disabled");
	return rec;
}

static int
write_secrets_file(struct client_ctx *x)
{
	size_t i;
	int fd, rc = 0;

	/* O_EXCL: never truncate an earlier file that may hold the only copy of
	 * other secrets. O_NOFOLLOW: no writing through a planted symlink. */
	fd = open(x->secrets_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(x->err, sizeof(x->err), "%s: %s", x->secrets_path, strerror(errno));
		return -1;
	}
	x->secrets_created = 1;
	if (fchmod(fd, 0600) != 0)
		rc = -1;
	for (i = 0; rc == 0 && i < x->n_secrets; i++)
		if (dprintf(fd, "%s\t%s\n", x->secrets[i].id, x->secrets[i].secret) < 0)
			rc = -1;
	if (rc == 0 && fsync(fd) != 0)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0)
		snprintf(x->err, sizeof(x->err), "%s: %s", x->secrets_path, strerror(errno));
	return rc;
}

static int
client_import_cb(struct store_txn *t, void *arg)
{
	struct client_ctx *x = arg;
	json_t *rec, *old, *f;
	size_t i;
	int rc, made;

	x->n_new = x->n_updated = x->n_secrets = 0;
	json_array_foreach(x->recs, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "client_id"));
		json_t *put = json_copy(rec);

		if (put == NULL)
			return STORE_IO;
		old = NULL;
		rc = client_get(t, id, &old);
		if (rc == STORE_OK) {
			/* Re-import is an update: the app keeps its secret and age. */
			if (json_object_get(old, "secret_hash") != NULL)
				json_object_set(put, "secret_hash", json_object_get(old, "secret_hash"));
			json_object_set(put, "created", json_object_get(old, "created"));
			json_object_set_new(put, "updated", json_integer(now_s()));
			if (json_object_get(put, "disabled") == NULL)
				json_object_set_new(put, "disabled",
				    json_boolean(json_is_true(json_object_get(old, "disabled"))));
			x->n_updated++;
		} else if (rc == STORE_NOTFOUND) {
			json_object_set_new(put, "created", json_integer(now_s()));
			if (json_object_get(put, "disabled") == NULL)
				json_object_set_new(put, "disabled", json_false());
			x->n_new++;
		} else {
			json_decref(put);
			return rc;
		}
		rc = client_secret_provision(
		    t, put, x->secrets[x->n_secrets].secret, &made, &x->need_init);
		if (rc == STORE_OK && made) {
			snprintf(x->secrets[x->n_secrets].id, sizeof(x->secrets[0].id), "%s", id);
			x->n_secrets++;
		}
		if (rc == STORE_OK)
			rc = store_puts(t, T_CLIENTS, id, put, 0);
		json_decref(put);
		if (rc == STORE_OK) {
			f = json_pack("{s:s, s:s, s:b}", "client", id, "result",
			    old != NULL ? "updated" : "new", "new_secret", made);
			rc = f != NULL ? admin_audit(x->c, t, "admin.client.import", f) : STORE_IO;
			json_decref(f);
		}
		json_decref(old);
		if (rc != STORE_OK)
			return rc;
	}
	/* Written last and fsync'd inside the transaction: if it fails, nothing
	 * is imported, so no client is left with a secret nobody has. */
	if (x->secrets_path != NULL && x->n_secrets > 0 && write_secrets_file(x) != 0)
		return STORE_CONFLICT;
	return STORE_OK;
}

int
cmd_client_import(struct admin_ctx *c, int argc, char **argv)
{
	struct client_ctx x = { .c = c };
	struct client_opts dummy = { 0 };
	const char *file = NULL;
	char err[512];
	json_t *doc, *list, *e;
	size_t i, j, n_bad = 0;
	int rc, m;

	for (i = 0; i < (size_t)argc; i++) {
		int ii = (int)i;
		if ((m = admin_opt_arg(c, argc, argv, &ii, "--secrets-out", &x.secrets_path)) !=
		    0) {
			if (m < 0)
				return EXIT_USAGE;
			i = (size_t)ii;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			admin_usage_error(
			    c, usage_client, "client import: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (file == NULL) {
			file = argv[i];
		} else {
			admin_usage_error(
			    c, usage_client, "client import: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (file == NULL) {
		admin_usage_error(c, usage_client, "client import needs FILE.json");
		return EXIT_USAGE;
	}
	if (x.secrets_path != NULL && access(x.secrets_path, F_OK) == 0) {
		admin_refuse(c, "secrets file exists; name a new one", x.secrets_path);
		return EXIT_REFUSED;
	}
	if ((doc = load_json_file(file, IMPORT_MAX_BYTES, err, sizeof(err))) == NULL) {
		admin_refuse(c, "import refused", err);
		return EXIT_REFUSED;
	}
	list = json_object_get(doc, "clients");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > IMPORT_MAX_CLIENTS) {
		admin_refuse(
		    c, "import refused", "expected {\"clients\": [1..10000 client objects]}");
		json_decref(doc);
		return EXIT_REFUSED;
	}
	/* Every entry is checked before anything is written; all problems are
	 * listed so the operator fixes the file in one pass. */
	x.recs = json_array();
	json_array_foreach(list, i, e) {
		json_t *rec = import_entry(e, i, err, sizeof(err));
		const char *id;

		if (rec == NULL) {
			if (n_bad++ < 20)
				admin_refuse(c, "invalid", err);
			continue;
		}
		id = json_string_value(json_object_get(rec, "client_id"));
		for (j = 0; j < json_array_size(x.recs); j++) {
			if (strcmp(id, json_string_value(json_object_get(json_array_get(x.recs, j),
			    "client_id"))) == 0) {
				if (n_bad++ < 20)
					fprintf(c->err,
					    "authctl: invalid: entry %zu: duplicate client_id %s\n",
					    i, id);
				break;
			}
		}
		json_array_append_new(x.recs, rec);
	}
	json_decref(doc);
	if (n_bad > 0) {
		fprintf(c->err, "authctl: import refused: %zu invalid entr%s; nothing written\n",
		    n_bad, n_bad == 1 ? "y" : "ies");
		json_decref(x.recs);
		return EXIT_REFUSED;
	}
	if (admin_open_store(c, 0) != 0) {
		json_decref(x.recs);
		return EXIT_REFUSED;
	}
	x.o = &dummy;
	x.secrets = calloc(json_array_size(x.recs), sizeof(*x.secrets));
	if (x.secrets == NULL) {
		json_decref(x.recs);
		admin_refuse(c, "out of memory", NULL);
		return EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, client_import_cb, &x);
	if (rc != STORE_OK && x.secrets_created)
		unlink(x.secrets_path);
	if (rc == STORE_OK && x.secrets_path == NULL) {
		for (i = 0; i < x.n_secrets; i++)
			fprintf(c->out, "%s\t%s\n", x.secrets[i].id, x.secrets[i].secret);
		fflush(c->out);
	}
	wipe(x.secrets, json_array_size(x.recs) * sizeof(*x.secrets));
	free(x.secrets);
	json_decref(x.recs);
	if (rc != STORE_OK) {
		if (x.need_init) {
			fprintf(c->err,
			    "authctl: store not initialised (run: authctl -c %s init)\n",
			    c->config_path);
			return EXIT_REFUSED;
		}
		if (rc == STORE_CONFLICT && x.err[0] != '\0') {
			admin_refuse(c, "import failed, nothing written", x.err);
			return EXIT_REFUSED;
		}
		return admin_store_failure(c, "import failed, nothing written", rc);
	}
	fprintf(c->err, "imported %zu new, %zu updated\n", x.n_new, x.n_updated);
	if (x.secrets_path != NULL && x.n_secrets > 0)
		fprintf(c->err, "authctl: %zu secret%s written to %s (mode 0600)\n", x.n_secrets,
		    x.n_secrets == 1 ? "" : "s", x.secrets_path);
	return 0;
}

int
cmd_client(struct admin_ctx *c, int argc, char **argv)
{
	struct client_opts o = { 0 };
	struct client_ctx x = { .c = c, .o = &o };
	const char *verb;
	char err[512];
	int rc;

	if (argc < 1) {
		admin_usage_error(c, usage_client, "client: which action?");
		return EXIT_USAGE;
	}
	verb = argv[0];
	if (strcmp(verb, "import") == 0)
		return cmd_client_import(c, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0) {
		if (argc != 1) {
			admin_usage_error(c, usage_client, "client list takes no arguments");
			return EXIT_USAGE;
		}
		if (admin_open_store(c, 0) != 0)
			return EXIT_REFUSED;
		return client_read_cmd(c, verb, NULL);
	}
	if (strcmp(verb, "show") == 0 || strcmp(verb, "remove") == 0) {
		if (argc != 2 || argv[1][0] == '-') {
			admin_usage_error(c, usage_client, "client %s needs exactly one ID", verb);
			return EXIT_USAGE;
		}
		o.id = argv[1];
		if (admin_open_store(c, 0) != 0)
			return EXIT_REFUSED;
		if (strcmp(verb, "show") == 0)
			return client_read_cmd(c, verb, o.id);
		rc = store_write_sync(c->store, client_remove_cb, &x);
		if ((rc = client_write_result(c, &x, verb, rc)) == 0)
			fprintf(c->err, "authctl: client %s removed\n", o.id);
		return rc;
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "update") != 0) {
		admin_usage_error(c, usage_client, "client: unknown action '%s'", verb);
		return EXIT_USAGE;
	}
	if ((rc = parse_client_opts(c, argc - 1, argv + 1, &o)) != 0) {
		client_opts_free(&o);
		return rc;
	}
	if (o.jwks_file != NULL) {
		if ((x.jwks = load_json_file(o.jwks_file, JWKS_MAX_BYTES, err, sizeof(err))) == NULL) {
			admin_refuse(c, "--jwks-file refused", err);
			client_opts_free(&o);
			return EXIT_REFUSED;
		}
	}
	rc = EXIT_REFUSED;
	if (strcmp(verb, "add") == 0) {
		if ((x.rec = client_defaults(o.id)) == NULL ||
		    client_apply_opts(x.rec, &o, x.jwks) != 0) {
			admin_refuse(c, "out of memory", NULL);
			goto out;
		}
		if (client_register_check(x.rec, err, sizeof(err)) != 0) {
			admin_refuse(c, "client refused", err);
			goto out;
		}
		if (admin_open_store(c, 0) != 0)
			goto out;
		rc = store_write_sync(c->store, client_add_cb, &x);
	} else {
		if ((x.changed = changed_members(&o)) == NULL) {
			admin_refuse(c, "out of memory", NULL);
			goto out;
		}
		if (json_array_size(x.changed) == 0) {
			admin_usage_error(
			    c, usage_client, "client update %s: nothing to change", o.id);
			rc = EXIT_USAGE;
			goto out;
		}
		if (admin_open_store(c, 0) != 0)
			goto out;
		rc = store_write_sync(c->store, client_update_cb, &x);
	}
	if ((rc = client_write_result(c, &x, verb, rc)) == 0) {
		print_secret_once(&x);
		fprintf(c->err, "authctl: client %s %s\n", o.id,
		    strcmp(verb, "add") == 0 ? "added" : "updated");
	}
out:
	wipe(x.secret, sizeof(x.secret));
	json_decref(x.rec);
	json_decref(x.jwks);
	json_decref(x.changed);
	client_opts_free(&o);
	return rc;
}

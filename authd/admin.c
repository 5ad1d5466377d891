/* authd/admin.c — the shared part of every admin command (admin.h): messages,
 * option parsing and validation, opening the store, the person named on the
 * command line, and the audit record and security event of a help-desk change. */
#include "admin.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/util.h"
#include "audit.h"
#include "secevents.h"

void
admin_usage_error(struct admin_ctx *ctx, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("authctl: ", ctx->err);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	fputs(usage, ctx->err);
}

void
admin_refuse(struct admin_ctx *ctx, const char *what, const char *detail)
{
	if (detail != NULL)
		fprintf(ctx->err, "authctl: %s: %s\n", what, detail);
	else
		fprintf(ctx->err, "authctl: %s\n", what);
}

int
admin_store_failure(struct admin_ctx *ctx, const char *what, int rc)
{
	if (rc == ST_NOTFOUND && what == NULL)
		what = "not found";
	fprintf(ctx->err, "authctl: %s: %s\n", what != NULL ? what : "store", store_strerror(rc));
	return ADMIN_EXIT_REFUSED;
}

int
admin_print_json(struct admin_ctx *ctx, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	if (s == NULL)
		return -1;
	fputs(s, ctx->out);
	fputc('\n', ctx->out);
	free(s);
	return 0;
}

int
admin_opt_arg(
    struct admin_ctx *ctx, int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(ctx->err, "authctl: %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int
admin_text_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > ADMIN_FIELD_MAX || !utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
admin_username_ok(struct admin_ctx *ctx, const char *name)
{
	char norm[USERNAME_MAX + 1];

	if (username_normalise(name, norm))
		return 1;
	admin_refuse(ctx, "invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", name);
	return 0;
}

int
admin_open_store(struct admin_ctx *ctx, int create)
{
	struct store_opts o = { 0 };
	struct stat st;
	int rc;

	if (!create && stat(ctx->store_dir, &st) != 0) {
		fprintf(ctx->err, "authctl: no store at %s (run: authctl -c %s init)\n",
		    ctx->store_dir, ctx->config_path);
		return -1;
	}
	o.map_size = ctx->conf.store_map_mb > 0 ? ctx->conf.store_map_mb << 20 : 0;
	o.nosync = ctx->conf.store_nosync;
	o.no_writer = 1;
	if ((rc = store_open(&ctx->store, ctx->store_dir, &o)) != ST_OK) {
		fprintf(ctx->err, "authctl: cannot open store %s: %s\n", ctx->store_dir,
		    store_strerror(rc));
		ctx->store = NULL;
		return -1;
	}
	return 0;
}

void
admin_close(struct admin_ctx *ctx)
{
	if (ctx->store != NULL)
		store_close(ctx->store);
	ctx->store = NULL;
	free(ctx->store_dir);
	ctx->store_dir = NULL;
	if (ctx->conf_loaded)
		conf_free(&ctx->conf);
	ctx->conf_loaded = 0;
}

int
admin_user_lookup(struct store_txn *t, struct admin_user *u)
{
	json_t *rec = NULL;
	const char *id, *uname;
	int rc;

	if ((rc = user_by_name(t, u->name, &rec)) != ST_OK) {
		u->no_user = rc == ST_NOTFOUND;
		return rc;
	}
	id = json_string_value(json_object_get(rec, "id"));
	uname = json_string_value(json_object_get(rec, "username"));
	if (id == NULL || uname == NULL || strlen(id) != USER_ID_LEN ||
	    strlen(uname) > USERNAME_MAX) {
		json_decref(rec);
		return ST_CORRUPT;
	}
	memcpy(u->id, id, USER_ID_LEN + 1);
	snprintf(u->username, sizeof(u->username), "%s", uname);
	json_decref(rec);
	return ST_OK;
}

int
admin_audit(
    const struct admin_ctx *ctx, struct store_txn *t, const char *event, const json_t *fields)
{
	json_t *f = fields != NULL ? json_copy((json_t *)fields) : json_object();
	int rc;

	if (f == NULL)
		return ST_IO;
	if (json_object_set_new(f, "actor", json_string("authctl")) != 0 ||
	    json_object_set_new(f, "unix_user", json_string(ctx->unix_user)) != 0 ||
	    json_object_set_new(f, "uid", json_integer(ctx->uid)) != 0) {
		json_decref(f);
		return ST_IO;
	}
	rc = audit_append(t, event, f);
	json_decref(f);
	return rc;
}

int
admin_secevent(struct store_txn *t, const char *user_id, const char *method, const char *action,
    const char *label)
{
	struct secevent e;

	memset(&e, 0, sizeof(e));
	snprintf(e.method, sizeof(e.method), "%s", method);
	snprintf(e.action, sizeof(e.action), "%s", action);
	if (label != NULL)
		snprintf(e.label, sizeof(e.label), "%s", label);
	e.by_admin = 1;
	return secevent_add(t, user_id, &e);
}

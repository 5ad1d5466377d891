/* modules/totp_admin.c — the TOTP method's admin commands (authctl totp
 * enrol|reset|status, declared in method_totp.admin) and its part of authctl
 * init (the sealing key file beside the config). The help desk enrols a person
 * at the counter (URI and QR code on stdout, one code read back, ten recovery
 * codes shown once) or resets a lost phone; the person is told on /account. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../authd/admin.h"
#include "../lib/util.h"
#include "totp.h"

static const char usage[] =
    "usage: authctl [-c FILE] totp enrol NAME [--code-stdin]\n"
    "       authctl [-c FILE] totp reset NAME\n"
    "       authctl [-c FILE] totp status NAME\n"
    "  enrol prints the otpauth:// URI and a QR code, then reads one code from the\n"
    "  person's app (prompting on a terminal; --code-stdin reads it without a prompt)\n"
    "  and prints ten recovery codes once. reset (help desk) removes the TOTP and tells\n"
    "  the person at their next sign-in.\n";

struct totp_ctx {
	const struct admin_ctx *c;
	struct admin_user u; /* the person named (no_user: the name is unknown, vs. no TOTP) */
	char code[8];
	char uri[TOTP_URI_MAX];
	char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
	int wrong_code;
};

static int
totp_audit(struct totp_ctx *x, struct store_txn *t, const char *event, const char *state)
{
	json_t *f = state != NULL
	    ? json_pack(
	          "{s:s, s:s, s:s}", "user", x->u.id, "username", x->u.username, "state", state)
	    : json_pack("{s:s, s:s}", "user", x->u.id, "username", x->u.username);
	int rc = f != NULL ? admin_audit(x->c, t, event, f) : ST_IO;

	json_decref(f);
	return rc;
}

static int
totp_begin_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	if ((rc = totp_enrol_begin(t, x->u.id, x->u.username, x->uri, sizeof(x->uri))) != ST_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.enrol", "pending");
}

static int
totp_finish_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	rc = totp_enrol_finish(t, x->u.id, x->code, x->recovery);
	if (rc == -1 || rc == -2) {	/* rolled back: the operator's tries are not counted */
		x->wrong_code = 1;
		return ST_CONFLICT;
	}
	if (rc != ST_OK)
		return rc;
	if ((rc = admin_secevent(t, x->u.id, "totp", "add", NULL)) != ST_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.enrol", "active");
}

static int
totp_reset_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	if ((rc = totp_reset(t, x->u.id)) != ST_OK)
		return rc;
	if ((rc = admin_secevent(t, x->u.id, "totp", "remove", NULL)) != ST_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.reset", NULL);
}

/* One code from stdin: "123456" or "123 456". 0 ok, -1 refused (message printed). */
static int
read_code(struct admin_ctx *c, char out[8], int prompt)
{
	char line[32];
	size_t len = 0, i, n = 0;

	if (prompt && isatty(STDIN_FILENO)) {
		fputs("Code shown by the app: ", c->err);
		fflush(c->err);
	}
	for (;;) {
		ssize_t r;

		if (len == sizeof(line) - 1) {
			admin_refuse(c, "code refused", "longer than a code");
			return -1;
		}
		r = read(STDIN_FILENO, line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			admin_refuse(c, "cannot read the code", strerror(errno));
			return -1;
		}
		if (r == 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	for (i = 0; i < len; i++) {
		if (line[i] == ' ')
			continue;
		if (line[i] < '0' || line[i] > '9' || n == 6) {
			admin_refuse(c, "code refused", "it must be the 6 digits shown by the app");
			return -1;
		}
		out[n++] = line[i];
	}
	out[n] = '\0';
	if (n != 6) {
		admin_refuse(c, "code refused", "it must be the 6 digits shown by the app");
		return -1;
	}
	return 0;
}

static int
totp_write_failure(struct admin_ctx *c, struct totp_ctx *x, const char *verb, int rc)
{
	if (x->u.no_user) {
		admin_refuse(c, "no such user", x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	if (rc == ST_EXISTS) {
		fprintf(c->err,
		    "authctl: %s already has an active TOTP; to replace it run: "
		    "authctl -c %s totp reset %s\n",
		    x->u.name, c->config_path, x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	if (rc == ST_NOTFOUND && strcmp(verb, "reset") == 0) {
		fprintf(c->err, "authctl: %s has no TOTP; nothing to reset\n", x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	if (rc == ST_NOTFOUND) {
		fprintf(c->err,
		    "authctl: the enrolment of %s is gone (reset meanwhile?); "
		    "run totp enrol again\n",
		    x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	return admin_store_failure(c, verb, rc);
}

static int
totp_enrol_cmd(struct admin_ctx *c, struct totp_ctx *x, int code_stdin)
{
	char err[512];
	char *qr;
	size_t i;
	int rc;

	if (totp_init_err(&c->conf, err, sizeof(err), NULL) != 0) {
		admin_refuse(c, "TOTP unavailable", err);
		return ADMIN_EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, totp_begin_cb, x);
	if (rc != ST_OK)
		return totp_write_failure(c, x, "enrol", rc);
	/* The URI carries the secret: stdout only, for the person's app. */
	fprintf(c->out, "%s\n", x->uri);
	if ((qr = totp_qr_text(x->uri)) != NULL) {
		fputs(qr, c->out);
		wipe(qr, strlen(qr));
		free(qr);
	}
	fflush(c->out);
	wipe(x->uri, sizeof(x->uri));
	if (!code_stdin)
		fprintf(c->err,
		    "authctl: scan the QR code (or add the URI) in the authenticator "
		    "app, then type the code it shows.\n");
	if (read_code(c, x->code, !code_stdin) != 0) {
		fprintf(c->err, "authctl: TOTP of %s not activated (still pending)\n", x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, totp_finish_cb, x);
	wipe(x->code, sizeof(x->code));
	if (rc != ST_OK && x->wrong_code) {
		fprintf(c->err,
		    "authctl: code refused: not valid for this secret now (check the "
		    "phone's clock); TOTP of %s not activated\n",
		    x->u.name);
		return ADMIN_EXIT_REFUSED;
	}
	if (rc != ST_OK)
		return totp_write_failure(c, x, "enrol", rc);
	fprintf(c->err,
	    "authctl: TOTP of %s is active. Recovery codes (shown once; each works "
	    "once; hand them to the person):\n",
	    x->u.name);
	for (i = 0; i < TOTP_RECOVERY_CODES; i++)
		fprintf(c->out, "%s\n", x->recovery[i]);
	fflush(c->out);
	return 0;
}

/* authctl totp enrol|reset|status NAME: argv[0] is the verb (authctl checked it). */
static int
totp_admin_run(struct admin_ctx *c, int argc, char **argv)
{
	struct totp_ctx x = { .c = c };
	const char *verb;
	int i, code_stdin = 0, rc;

	verb = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(verb, "enrol") == 0 && strcmp(argv[i], "--code-stdin") == 0) {
			code_stdin = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			admin_usage_error(c, usage, "totp %s: unknown option '%s'", verb, argv[i]);
			return ADMIN_EXIT_USAGE;
		} else if (x.u.name == NULL) {
			x.u.name = argv[i];
		} else {
			admin_usage_error(
			    c, usage, "totp %s: unexpected argument '%s'", verb, argv[i]);
			return ADMIN_EXIT_USAGE;
		}
	}
	if (x.u.name == NULL) {
		admin_usage_error(c, usage, "totp %s needs a NAME", verb);
		return ADMIN_EXIT_USAGE;
	}
	if (!admin_username_ok(c, x.u.name))
		return ADMIN_EXIT_REFUSED;
	if (admin_open_store(c, 0) != 0)
		return ADMIN_EXIT_REFUSED;
	if (strcmp(verb, "enrol") == 0) {
		rc = totp_enrol_cmd(c, &x, code_stdin);
	} else if (strcmp(verb, "reset") == 0) {
		rc = store_write_sync(c->store, totp_reset_cb, &x);
		if (rc == ST_OK) {
			fprintf(c->err,
			    "authctl: TOTP of %s removed; they will be told at their next "
			    "sign-in and can set it up again on their account page\n",
			    x.u.name);
			rc = 0;
		} else {
			rc = totp_write_failure(c, &x, "reset", rc);
		}
	} else {
		struct store_txn *t;
		json_t *u = NULL, *st = NULL;

		if ((t = store_read_begin(c->store)) == NULL)
			return admin_store_failure(c, "read", ST_IO);
		rc = user_by_name(t, x.u.name, &u);
		if (rc == ST_OK)
			st = totp_status(t, json_string_value(json_object_get(u, "id")));
		store_read_end(t);
		if (rc == ST_NOTFOUND) {
			admin_refuse(c, "no such user", x.u.name);
			return ADMIN_EXIT_REFUSED;
		}
		if (rc != ST_OK || st == NULL) {
			json_decref(u);
			return admin_store_failure(c, "totp status", rc != ST_OK ? rc : ST_IO);
		}
		json_object_set(st, "username", json_object_get(u, "username"));
		rc = admin_print_json(c, st) == 0 ? 0 : ADMIN_EXIT_REFUSED;
		json_decref(st);
		json_decref(u);
	}
	wipe(&x, sizeof(x));
	return rc;
}

/* authctl init: the TOTP sealing key lives beside the config, never in the store. */
static int
totp_admin_init(struct admin_ctx *c)
{
	char err[512];
	int created = 0;

	if (totp_init_err(&c->conf, err, sizeof(err), &created) != 0) {
		admin_refuse(c, "init", err);
		return ADMIN_EXIT_REFUSED;
	}
	if (created)
		fprintf(c->err,
		    "authctl: created TOTP key file %s (mode 0600; back it up with the "
		    "store)\n",
		    c->conf.totp_key_file);
	return 0;
}

static const struct method_admin_cmd cmds[] = {
	{ "enrol", totp_admin_run },
	{ "reset", totp_admin_run },
	{ "status", totp_admin_run },
	{ NULL, NULL },
};

const struct method_admin totp_admin = {
	.noun = "totp",
	.summary = "totp enrol|reset|status   two-step verification (TOTP) of a user",
	.usage = usage,
	.cmds = cmds,
	.init = totp_admin_init,
};

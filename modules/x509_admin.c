/* modules/x509_admin.c — the citizen certificate's admin commands (authctl
 * x509 bind|unbind|list, declared in method_x509.admin): the help desk links a
 * card to an account after checking its certificate as a sign-in would (chain,
 * validity, key usage, policy, revocation), unlinks every card of an account, or
 * lists them (the full national ID is never shown). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../authd/admin.h"
#include "x509.h"

static const char usage[] =
    "usage: authctl [-c FILE] x509 bind NAME CERT.pem\n"
    "       authctl [-c FILE] x509 unbind NAME\n"
    "       authctl [-c FILE] x509 list NAME\n"
    "  bind: checks the card's certificate as a sign-in would (chain to [x509]\n"
    "  trust_anchors, validity, key usage, policy, revocation) and links it to NAME.\n"
    "  unbind removes every card of NAME. The full national ID is never shown.\n";

struct x509_ctx {
	const struct admin_ctx *c;
	struct admin_user u; /* the person named */
	struct x509_ident id;
	int bind, exists;
	json_t *rev_unknown;   /* the x509.revocation_unknown fields, when it was */
};

/* x509.revocation_unknown for the card being bound to the named user (the
 * audit names the account the administrator meant, bound or not). */
static int
x509_unknown_audit(struct store_txn *t, struct x509_ctx *x)
{
	int rc;

	if (x->rev_unknown == NULL)
		return ST_OK;
	if (json_object_set_new(x->rev_unknown, "user", json_string(x->u.id)) != 0 ||
	    json_object_set_new(x->rev_unknown, "username", json_string(x->u.username)) != 0 ||
	    json_object_set_new(x->rev_unknown, "by", json_string("admin")) != 0)
		return ST_IO;
	rc = admin_audit(x->c, t, "x509.revocation_unknown", x->rev_unknown);
	return rc;
}

static int
x509_unknown_cb(struct store_txn *t, void *arg)
{
	struct x509_ctx *x = arg;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	return x509_unknown_audit(t, x);
}

static int
x509_write_cb(struct store_txn *t, void *arg)
{
	struct x509_ctx *x = arg;
	json_t *f;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	rc = x->bind ? x509_bind(t, x->u.id, &x->id) : x509_unbind(t, x->u.id, NULL);
	if (rc != ST_OK) {
		x->exists = rc == ST_EXISTS;
		return rc;
	}
	if ((rc = admin_secevent(t, x->u.id, "x509", x->bind ? "add" : "remove",
	         x->bind ? x->id.cn : NULL)) != ST_OK)
		return rc;
	f = json_pack("{s:s s:s s:s}", "user", x->u.id, "username", x->u.username,
	    "card", x->bind ? x->id.cred_id : "*");
	rc = f != NULL ? admin_audit(x->c, t, x->bind ? "admin.x509.bind" : "admin.x509.unbind", f)
	               : ST_IO;
	json_decref(f);
	if (rc == ST_OK && x->bind)
		rc = x509_unknown_audit(t, x);	/* let in by fail_open */
	return rc;
}

static int
x509_bind_cmd(struct admin_ctx *c, struct x509_ctx *x, const char *path)
{
	char err[512], *pem, why[512];
	enum x509_err e;
	FILE *fp;
	X509 *cert;
	size_t n;
	int unknown = 0;

	if (x509_setup(&c->conf, err, sizeof(err)) != 0 || !x509_enabled()) {
		admin_refuse(c, "citizen certificates are not set up",
		    err[0] ? err : "[x509] enabled = false");
		return ADMIN_EXIT_REFUSED;
	}
	if ((fp = fopen(path, "r")) == NULL || (pem = calloc(1, X509_PEM_MAX + 1)) == NULL) {
		if (fp != NULL)
			fclose(fp);
		admin_refuse(c, "cannot read the certificate", path);
		return ADMIN_EXIT_REFUSED;
	}
	n = fread(pem, 1, X509_PEM_MAX, fp);
	fclose(fp);
	cert = n > 0 ? x509_from_pem(pem) : NULL;
	free(pem);
	if (cert == NULL) {
		admin_refuse(c, "not a PEM certificate", path);
		return ADMIN_EXIT_REFUSED;
	}
	e = x509_validate_why(cert, 1, &unknown, why, sizeof(why));
	if (unknown)
		x->rev_unknown = x509_rev_unknown_fields(NULL, cert, why, e == X509E_OK);
	if (e == X509E_OK && x509_ident_of(cert, &x->id) != 0)
		e = X509E_MALFORMED;
	X509_free(cert);
	if (e != X509E_OK) {
		if (x->rev_unknown != NULL &&
		    store_write_sync(c->store, x509_unknown_cb, x) != ST_OK)
			fprintf(c->err,
			    "authctl: the audit record of the unknown revocation status was not written\n");
		if (e == X509E_REV_UNKNOWN && why[0] != '\0') {
			char detail[700];

			snprintf(detail, sizeof(detail), "%s (%s)", x509_strerror(e), why);
			admin_refuse(c, "certificate refused", detail);
		} else {
			admin_refuse(c, "certificate refused", x509_strerror(e));
		}
		return ADMIN_EXIT_REFUSED;
	}
	return 0;
}

/* authctl x509 bind|unbind|list NAME [CERT.pem]: argv[0] is the verb (authctl
 * checked it). */
static int
x509_admin_run(struct admin_ctx *c, int argc, char **argv)
{
	struct x509_ctx x = { .c = c };
	const char *verb;
	int rc, want = 2;

	verb = argv[0];
	x.bind = strcmp(verb, "bind") == 0;
	if (x.bind)
		want = 3;
	if (argc != want) {
		admin_usage_error(c, usage, "x509 %s: wrong number of arguments", verb);
		return ADMIN_EXIT_USAGE;
	}
	x.u.name = argv[1];
	if (!admin_username_ok(c, x.u.name))
		return ADMIN_EXIT_REFUSED;
	if (admin_open_store(c, 0) != 0)
		return ADMIN_EXIT_REFUSED;
	if (x.bind && (rc = x509_bind_cmd(c, &x, argv[2])) != 0) {
		json_decref(x.rev_unknown);
		return rc;
	}
	if (strcmp(verb, "list") == 0) {
		struct store_txn *t = store_read_begin(c->store);
		json_t *l = NULL;

		if (t == NULL)
			return admin_store_failure(c, "read", ST_IO);
		rc = admin_user_lookup(t, &x.u);
		if (rc == ST_OK && (l = x509_list(t, x.u.id)) == NULL)
			rc = ST_IO;
		store_read_end(t);
		if (rc == ST_NOTFOUND) {
			admin_refuse(c, "no such user", x.u.name);
			return ADMIN_EXIT_REFUSED;
		}
		if (rc != ST_OK)
			return admin_store_failure(c, "x509 list", rc);
		rc = admin_print_json(c, l) == 0 ? 0 : ADMIN_EXIT_REFUSED;
		json_decref(l);
		return rc;
	}
	rc = store_write_sync(c->store, x509_write_cb, &x);
	json_decref(x.rev_unknown);
	x.rev_unknown = NULL;
	x509_teardown();
	if (rc == ST_OK) {
		if (x.bind)
			fprintf(c->err, "authctl: card %s (%s, ID ending %s) linked to %s\n",
			    x.id.cred_id, x.id.cn, x.id.last4[0] ? x.id.last4 : "-", x.u.name);
		else
			fprintf(c->err, "authctl: every citizen certificate of %s unlinked\n",
			    x.u.name);
		return 0;
	}
	if (x.u.no_user) {
		admin_refuse(c, "no such user", x.u.name);
		return ADMIN_EXIT_REFUSED;
	}
	if (x.exists) {
		admin_refuse(c, "this card is linked to another account (unbind it there first)",
		    x.id.cred_id);
		return ADMIN_EXIT_REFUSED;
	}
	if (rc == ST_NOTFOUND) {
		admin_refuse(c, "no citizen certificate is linked to", x.u.name);
		return ADMIN_EXIT_REFUSED;
	}
	return admin_store_failure(c, "x509", rc);
}

static const struct method_admin_cmd cmds[] = {
	{ "bind", x509_admin_run },
	{ "unbind", x509_admin_run },
	{ "list", x509_admin_run },
	{ NULL, NULL },
};

const struct method_admin x509_admin = {
	.noun = "x509",
	.summary = "x509 bind|unbind|list      citizen certificate (MOICA) cards of a user",
	.usage = usage,
	.cmds = cmds,
};

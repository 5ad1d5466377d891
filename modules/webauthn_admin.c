/* modules/webauthn_admin.c — the security keys' and passkeys' admin commands
 * (authctl webauthn list|remove, declared in method_webauthn.admin): what an
 * administrator needs to see of a person's keys, and what each counts as under
 * the trust configuration in force; taking a lost key out of use at once (the
 * person is told on /account and can register a new one there). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../authd/admin.h"
#include "../authd/policy.h"
#include "webauthn.h"
#include "webauthn_trust.h"

static const char usage[] =
    "usage: authctl [-c FILE] webauthn list NAME\n"
    "       authctl [-c FILE] webauthn remove NAME CRED_ID\n"
    "  list prints one JSON line per security key or passkey of NAME (its CRED_ID\n"
    "  is \"ref\"); remove takes one out of use at once, e.g. a lost key (the\n"
    "  person can register a new one on the account page). CRED_ID is the ref\n"
    "  from list or the credential id itself (base64url).\n";

struct wa_ctx {
	const struct admin_ctx *c;
	struct admin_user u; /* the person named */
	char ref[WA_REF_LEN + 1];
	int level_before, level_after;
};

/* The name the person gave the key (for their notice); ST_NOTFOUND when
 * they have no such key. */
static int
wa_name_of(struct store_txn *t, const char *uid, const char *ref, char *out, size_t n)
{
	json_t *list = webauthn_cred_list(t, uid), *c;
	size_t i;
	int rc = ST_NOTFOUND;

	if (list == NULL)
		return ST_IO;
	json_array_foreach(list, i, c) {
		const char *r = json_string_value(json_object_get(c, "ref"));
		const char *nm = json_string_value(json_object_get(c, "name"));

		if (r != NULL && strcmp(r, ref) == 0) {
			snprintf(out, n, "%s", nm != NULL ? nm : "");
			rc = ST_OK;
		}
	}
	json_decref(list);
	return rc;
}

static int
wa_remove_cb(struct store_txn *t, void *arg)
{
	struct wa_ctx *x = arg;
	char name[WA_NAME_MAX + 1];
	json_t *f;
	int rc;

	if ((rc = admin_user_lookup(t, &x->u)) != ST_OK)
		return rc;
	x->level_before = webauthn_reachable_level(t, x->u.id, NULL);
	if ((rc = wa_name_of(t, x->u.id, x->ref, name, sizeof(name))) != ST_OK ||
	    (rc = webauthn_cred_remove(t, x->u.id, x->ref)) != ST_OK)
		return rc;
	if ((rc = admin_secevent(t, x->u.id, "webauthn", "remove", name)) != ST_OK)
		return rc;
	x->level_after = webauthn_reachable_level(t, x->u.id, NULL);
	f = json_pack("{s:s s:s s:s}", "user", x->u.id, "username", x->u.username, "cred", x->ref);
	rc = f != NULL ? admin_audit(x->c, t, "admin.webauthn.remove", f) : ST_IO;
	json_decref(f);
	return rc;
}

/* The fields an administrator needs, and what the key counts as under the
 * trust configuration in force (hardware, and why); the key material and the
 * attestation chain stay in the store. */
static int
wa_list_print(struct admin_ctx *c, const char *username, json_t *list)
{
	static const char *const keep[] = { "name", "fmt", "att", "att_note", "uv", "be", "bs",
		"aaguid", "transports", "sign_count", "created", "last_used", "suspicious", NULL };
	struct wa_verdict v;
	json_t *cred, *o;
	size_t i, k;

	json_array_foreach (list, i, cred) {
		wa_trust_eval(cred, time(NULL), &v);
		if ((o = json_pack("{s:s s:O s:b s:s s:s}", "username", username, "ref",
		         json_object_get(cred, "ref"), "hardware", v.hardware, "trust",
		         wa_why_name(v.why), "trust_detail", v.detail)) == NULL)
			return -1;
		for (k = 0; keep[k] != NULL; k++)
			if (json_object_get(cred, keep[k]) != NULL)
				json_object_set(o, keep[k], json_object_get(cred, keep[k]));
		if (admin_print_json(c, o) != 0) {
			json_decref(o);
			return -1;
		}
		json_decref(o);
	}
	return 0;
}

static int
wa_cmd(struct admin_ctx *c, int argc, char **argv)
{
	struct wa_ctx x = { .c = c };
	int rm, want, rc;

	rm = strcmp(argv[0], "remove") == 0;
	want = rm ? 3 : 2;
	if (argc != want || argv[1][0] == '-' || (rm && argv[2][0] == '-')) {
		admin_usage_error(c, usage,
		    rm ? "webauthn remove needs NAME and CRED_ID" : "webauthn list needs a NAME");
		return ADMIN_EXIT_USAGE;
	}
	x.u.name = argv[1];
	if (!admin_username_ok(c, x.u.name))
		return ADMIN_EXIT_REFUSED;
	if (rm) {
		/* The ref from list (43 characters), or the credential id itself. */
		if (strlen(argv[2]) == WA_REF_LEN)
			snprintf(x.ref, sizeof(x.ref), "%s", argv[2]);
		else if (webauthn_cred_ref(argv[2], x.ref) != 0) {
			admin_refuse(
			    c, "invalid CRED_ID (the ref shown by webauthn list)", argv[2]);
			return ADMIN_EXIT_REFUSED;
		}
	}
	if (admin_open_store(c, 0) != 0)
		return ADMIN_EXIT_REFUSED;
	{
		/* Hardware or passkey depends on [webauthn]'s trust keys, as in authd. */
		char err[512];

		if (webauthn_configure(&c->conf, err, sizeof(err)) != 0) {
			admin_refuse(c, "[webauthn] is not usable", err);
			return ADMIN_EXIT_REFUSED;
		}
	}
	if (rm) {
		rc = store_write_sync(c->store, wa_remove_cb, &x);
		if (rc == ST_OK) {
			fprintf(c->err, "authctl: security key %s of %s removed", x.ref, x.u.name);
			if (x.level_after < x.level_before)
				fprintf(c->err, "; the account now reaches %s at most (was %s)",
				    x.level_after > 0 ? policy_acr_name(x.level_after) : "no level",
				    policy_acr_name(x.level_before));
			fputc('\n', c->err);
			return 0;
		}
		if (x.u.no_user) {
			admin_refuse(c, "no such user", x.u.name);
			return ADMIN_EXIT_REFUSED;
		}
		if (rc == ST_NOTFOUND || rc == ST_INVALID) {
			admin_refuse(
			    c, "no such security key for this user (see webauthn list)", argv[2]);
			return ADMIN_EXIT_REFUSED;
		}
		return admin_store_failure(c, "webauthn remove", rc);
	} else {
		struct store_txn *t;
		json_t *u = NULL, *list = NULL;

		if ((t = store_read_begin(c->store)) == NULL)
			return admin_store_failure(c, "read", ST_IO);
		rc = user_by_name(t, x.u.name, &u);
		if (rc == ST_OK)
			list = webauthn_cred_list(t, json_string_value(json_object_get(u, "id")));
		store_read_end(t);
		if (rc == ST_NOTFOUND) {
			admin_refuse(c, "no such user", x.u.name);
			return ADMIN_EXIT_REFUSED;
		}
		if (rc != ST_OK || list == NULL) {
			json_decref(u);
			return admin_store_failure(c, "webauthn list", rc != ST_OK ? rc : ST_IO);
		}
		rc = wa_list_print(c, json_string_value(json_object_get(u, "username")), list) == 0
		    ? 0
		    : ADMIN_EXIT_REFUSED;
		json_decref(list);
		json_decref(u);
		return rc;
	}
}

/* authctl webauthn list|remove NAME [CRED_ID]: argv[0] is the verb (authctl
 * checked it). */
static int
webauthn_admin_run(struct admin_ctx *c, int argc, char **argv)
{
	int rc = wa_cmd(c, argc, argv);

	webauthn_fini();
	return rc;
}

static const struct method_admin_cmd cmds[] = {
	{ "list", webauthn_admin_run },
	{ "remove", webauthn_admin_run },
	{ NULL, NULL },
};

const struct method_admin webauthn_admin = {
	.noun = "webauthn",
	.summary = "webauthn list|remove       security keys and passkeys of a user",
	.usage = usage,
	.cmds = cmds,
};

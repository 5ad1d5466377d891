/* authd/authctl.c — the admin command line: store initialisation, users,
 * clients (applications), TOTP enrolment and help-desk reset, the signing key
 * ring and the audit log.
 *
 * authctl opens the daemon's store without a writer thread and makes each change
 * in one durable transaction of its own (store_write_sync); LMDB serialises it
 * against a running authd, which sees the change on its next read (keys through
 * keys_refresh). Every change appends its audit record in the same transaction.
 *
 * Exit codes: 0 success, 1 refused or failed, 2 usage error. Messages go to
 * stderr, data (JSON lines, the one-time client secret) to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/jose.h"
#include "../lib/util.h"
#include "../modules/password.h"
#include "../modules/totp.h"
#include "../modules/webauthn.h"
#include "../modules/webauthn_trust.h"
#include "policy.h"
#include "../modules/x509.h"
#include "audit.h"
#include "authd.h"
#include "clients.h"
#include "config.h"
#include "keys.h"
#include "secevents.h"
#include "store.h"
#include "users.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

#define DEFAULT_CONFIG "/etc/authd/authd.conf"
/* Bounds on operator input: a client import file and a JWKS file. */
#define IMPORT_MAX_BYTES (8UL << 20)
#define IMPORT_MAX_CLIENTS 10000
#define JWKS_MAX_BYTES (256UL << 10)
#define FIELD_MAX 512
#define AUDIT_SHOW_DEFAULT 50

struct ctl {
	const char *config_path;
	struct conf conf;
	int conf_loaded;
	char *store_dir;
	struct store *store;
	char unix_user[64];
	long uid;
	const char *lang;
};

static const char usage_main[] =
    "usage: authctl [-c FILE] COMMAND [ARGS]\n"
    "       authctl --help | --version\n"
    "\n"
    "  -c, --config FILE   authd's configuration (default " DEFAULT_CONFIG
    ", or $AUTHD_CONFIG)\n"
    "\n"
    "commands:\n"
    "  init                       create the store, signing key ring and server secret\n"
    "  user add|list|show|disable|enable|passwd|groups\n"
    "  client add|update|list|show|remove|import\n"
    "  totp enrol|reset|status   two-step verification (TOTP) of a user\n"
    "  webauthn list|remove       security keys and passkeys of a user\n"
    "  x509 bind|unbind|list      citizen certificate (自然人憑證) cards of a user\n"
    "  key rotate|list\n"
    "  audit verify|show\n"
    "\n"
    "authctl COMMAND --help shows a command's options. Exit status: 0 success,\n"
    "1 refused or failed, 2 usage error.\n";

static const char usage_init[] =
    "usage: authctl [-c FILE] init\n"
    "  Creates the store, the signing key ring (ES256, RS256, EdDSA: current and next)\n"
    "  and the server secret when absent. Safe to run again.\n";

static const char usage_user[] =
    "usage: authctl [-c FILE] user add NAME [--email E] [--display-name N] [--group G ...]\n"
    "                                 --password-stdin\n"
    "       authctl [-c FILE] user list\n"
    "       authctl [-c FILE] user show NAME\n"
    "       authctl [-c FILE] user disable NAME\n"
    "       authctl [-c FILE] user enable NAME\n"
    "       authctl [-c FILE] user passwd NAME --password-stdin\n"
    "       authctl [-c FILE] user groups NAME [G ...]\n"
    "  --password-stdin reads one line (at most 4096 bytes) from standard input;\n"
    "  on a terminal it prompts without echo.\n"
    "  --group (repeatable) and user groups set the \"groups\" claim that hosts\n"
    "  running pam_authd check (group=...): at most 64 distinct names of 1-64\n"
    "  characters A-Z a-z 0-9 . _ -. user groups NAME with no G clears the list.\n";

static const char usage_client[] =
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
    "  --host | --no-host               a server that logs people in (pam_authd): its\n"
    "                                   device flow gives no link with the code, and\n"
    "                                   the approval page names host, account, address\n"
    "                                   and time (implied by --grant password)\n"
    "defaults: grants authorization_code refresh_token, scopes openid profile email,\n"
    "client_secret_basic, min_aal 1. A new confidential client's secret is printed\n"
    "once as \"client_secret: ...\"; only its keyed hash is stored.\n";

static const char usage_x509[] =
    "usage: authctl [-c FILE] x509 bind NAME CERT.pem\n"
    "       authctl [-c FILE] x509 unbind NAME\n"
    "       authctl [-c FILE] x509 list NAME\n"
    "  bind: checks the card's certificate as a sign-in would (chain to [x509]\n"
    "  trust_anchors, validity, key usage, policy, revocation) and links it to NAME.\n"
    "  unbind removes every card of NAME. The full national ID is never shown.\n";

static const char usage_webauthn[] =
    "usage: authctl [-c FILE] webauthn list NAME\n"
    "       authctl [-c FILE] webauthn remove NAME CRED_ID\n"
    "  list prints one JSON line per security key or passkey of NAME (its CRED_ID\n"
    "  is \"ref\"); remove takes one out of use at once, e.g. a lost key (the\n"
    "  person can register a new one on the account page). CRED_ID is the ref\n"
    "  from list or the credential id itself (base64url).\n";

static const char usage_totp[] =
    "usage: authctl [-c FILE] totp enrol NAME [--code-stdin]\n"
    "       authctl [-c FILE] totp reset NAME\n"
    "       authctl [-c FILE] totp status NAME\n"
    "  enrol prints the otpauth:// URI and a QR code, then reads one code from the\n"
    "  person's app (prompting on a terminal; --code-stdin reads it without a prompt)\n"
    "  and prints ten recovery codes once. reset (help desk) removes the TOTP and tells\n"
    "  the person at their next sign-in.\n";

static const char usage_key[] =
    "usage: authctl [-c FILE] key rotate\n"
    "       authctl [-c FILE] key list\n"
    "  rotate: for each algorithm next -> current, current -> retired, a new next;\n"
    "  retired keys are dropped once every token they signed has expired.\n";

static const char usage_audit[] =
    "usage: authctl [-c FILE] audit verify\n"
    "       authctl [-c FILE] audit show [--last N]\n";

static void usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("authctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
}

static void
refuse(const char *what, const char *detail)
{
	if (detail != NULL)
		fprintf(stderr, "authctl: %s: %s\n", what, detail);
	else
		fprintf(stderr, "authctl: %s\n", what);
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past the
 * value. 1 matched, 0 another argument, -1 value missing. */
static int
opt_arg(int argc, char **argv, int *i, const char *name, const char **val)
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
		fprintf(stderr, "authctl: %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* Operator text that ends up in records and pages: bounded, valid UTF-8, no
 * control characters. */
static int
text_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > FIELD_MAX || !utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
print_json_line(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	if (s == NULL)
		return -1;
	puts(s);
	free(s);
	return 0;
}

/* ---------------------------------------------------------------- setup */

static const char *
message_lang(void)
{
	const char *vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v != NULL && v[0] != '\0')
			return strncmp(v, "zh", 2) == 0 ? "zh-TW" : "en";
	}
	return "en";
}

static int
ctl_load_conf(struct ctl *c)
{
	char err[512] = "";

	if (conf_load(&c->conf, c->config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "authctl: %s: %s\n", c->config_path, err[0] ? err : "cannot load");
		return -1;
	}
	c->conf_loaded = 1;
	if ((c->store_dir = conf_path(&c->conf, c->conf.store_path)) == NULL) {
		refuse("out of memory", NULL);
		return -1;
	}
	return 0;
}

/* Opens the store; every command but init needs one that exists already, so a
 * typo in the config cannot silently create an empty store elsewhere. */
static int
ctl_open_store(struct ctl *c, int create)
{
	struct store_opts o = { 0 };
	struct stat st;
	int rc;

	if (!create && stat(c->store_dir, &st) != 0) {
		fprintf(stderr, "authctl: no store at %s (run: authctl -c %s init)\n", c->store_dir,
		    c->config_path);
		return -1;
	}
	o.map_size = c->conf.store_map_mb > 0 ? c->conf.store_map_mb << 20 : 0;
	o.nosync = c->conf.store_nosync;
	o.no_writer = 1;
	if ((rc = store_open(&c->store, c->store_dir, &o)) != STORE_OK) {
		fprintf(stderr, "authctl: cannot open store %s: %s\n", c->store_dir, store_strerror(rc));
		c->store = NULL;
		return -1;
	}
	return 0;
}

static void
ctl_close(struct ctl *c)
{
	if (c->store != NULL)
		store_close(c->store);
	free(c->store_dir);
	if (c->conf_loaded)
		conf_free(&c->conf);
}

/* Appends "admin.<noun>.<verb>" with who did it; fields is borrowed. */
static int
audit_admin(const struct ctl *c, struct store_txn *t, const char *event, const json_t *fields)
{
	json_t *f = fields != NULL ? json_copy((json_t *)fields) : json_object();
	int rc;

	if (f == NULL)
		return STORE_IO;
	if (json_object_set_new(f, "actor", json_string("authctl")) != 0 ||
	    json_object_set_new(f, "unix_user", json_string(c->unix_user)) != 0 ||
	    json_object_set_new(f, "uid", json_integer(c->uid)) != 0) {
		json_decref(f);
		return STORE_IO;
	}
	rc = audit_append(t, event, f);
	json_decref(f);
	return rc;
}

/* The person's security event for a change the help desk made to how they sign
 * in (shown on /account like their own changes). label may be NULL. */
static int
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

/* Prints the refusal for a store result; returns the exit code. */
static int
store_failure(const char *what, int rc)
{
	if (rc == STORE_NOTFOUND && what == NULL)
		what = "not found";
	fprintf(stderr, "authctl: %s: %s\n", what != NULL ? what : "store", store_strerror(rc));
	return EXIT_REFUSED;
}

/* ---------------------------------------------------------------- passwords */

/* Reads one line from stdin into buf (PASSWORD_MAX_BYTES + 2 bytes) without
 * stdio, so no copy is left in a FILE buffer. On a terminal, prompts on stderr
 * with echo off. 0 ok, -1 refused (message printed). */
static int
read_password(char *buf, size_t cap, const char *prompt)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restored = 1;
	size_t len = 0;
	int rc = 0;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			quiet.c_lflag |= ECHONL;
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
				restored = 0;
		}
	}
	for (;;) {
		ssize_t n;

		if (len == cap - 1) {
			rc = -1;
			refuse("password refused", "longer than 4096 bytes");
			break;
		}
		n = read(STDIN_FILENO, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -1;
			refuse("cannot read the password", strerror(errno));
			break;
		}
		if (n == 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (!restored)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	buf[len] = '\0';
	if (rc == 0 && len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (rc == 0 && len == 0) {
		refuse("password refused", "empty (give it on standard input)");
		rc = -1;
	}
	if (rc == 0 && len > PASSWORD_MAX_BYTES) {
		refuse("password refused", "longer than 4096 bytes");
		rc = -1;
	}
	if (rc != 0)
		wipe(buf, cap);
	return rc;
}

/* Reads the password and applies the rules before the store is touched. */
static int
password_from_stdin(struct ctl *c, const char *username, char *pw, size_t cap)
{
	enum pw_rule r;

	if (password_init(&c->conf) != 0) {
		refuse("cannot load the password rules (see [password] breached_list)", NULL);
		return EXIT_REFUSED;
	}
	if (read_password(pw, cap, "Password: ") != 0)
		return EXIT_REFUSED;
	if ((r = password_check_rules(pw, username)) != PW_OK) {
		refuse("password refused", password_rule_message(r, c->lang));
		wipe(pw, cap);
		return EXIT_REFUSED;
	}
	return 0;
}

/* ---------------------------------------------------------------- init */

struct init_ctx {
	const struct ctl *c;
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
	rc = f != NULL ? audit_admin(x->c, t, "admin.store.init", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
cmd_init(struct ctl *c, int argc, char **argv)
{
	struct init_ctx x = { .c = c };
	char err[512];
	int rc, created = 0;

	if (argc != 0) {
		usage_error(usage_init, "init takes no arguments");
		return EXIT_USAGE;
	}
	if (ctl_open_store(c, 1) != 0)
		return EXIT_REFUSED;
	if ((rc = store_write_sync(c->store, init_cb, &x)) != STORE_OK)
		return store_failure("init", rc);
	/* The TOTP sealing key lives beside the config, never in the store. */
	if (totp_init_err(&c->conf, err, sizeof(err), &created) != 0) {
		refuse("init", err);
		return EXIT_REFUSED;
	}
	if (created)
		fprintf(stderr, "authctl: created TOTP key file %s (mode 0600; back it up with the "
		    "store)\n", c->conf.totp_key_file);
	if (x.created_ring || x.created_secret)
		fprintf(stderr, "authctl: initialised store %s\n", c->store_dir);
	else
		fprintf(stderr, "authctl: store %s already initialised\n", c->store_dir);
	return 0;
}

/* ---------------------------------------------------------------- users */

static json_t *
user_public(const json_t *u)
{
	json_t *g = json_object_get(u, "groups");

	/* Accounts made before groups existed show an empty list, like the claim.
	 * "o" steals, so the empty list made here is owned by the result alone. */
	return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:o}",
	    "id", json_object_get(u, "id"), "username", json_object_get(u, "username"),
	    "display_name", json_object_get(u, "display_name"), "email", json_object_get(u, "email"),
	    "disabled", json_object_get(u, "disabled"), "created", json_object_get(u, "created"),
	    "groups", g != NULL ? json_incref(g) : json_array());
}

struct user_ctx {
	const struct ctl *c;
	const char *name, *email, *display_name;
	const char *pw;
	json_t *groups;        /* user add --group, user groups: the new list (NULL: none given) */
	int enable;            /* user enable/disable: the wanted state */
	int changed;
	int pw_rule;           /* password_set refusal */
	char id[USER_ID_LEN + 1];
};

static int
user_add_cb(struct store_txn *t, void *arg)
{
	struct user_ctx *x = arg;
	json_t *f;
	int rc;

	if ((rc = user_create(t, x->name, x->display_name, x->email, x->id)) != STORE_OK)
		return rc;
	if ((rc = password_set(t, x->id, x->name, x->pw)) != 0) {
		x->pw_rule = rc > 0 ? rc : 0;
		return rc > 0 ? STORE_CONFLICT : STORE_IO;
	}
	if (x->groups != NULL && json_array_size(x->groups) > 0) {
		json_t *u = NULL;

		/* Same transaction: the account never exists without its groups. */
		if ((rc = user_by_id(t, x->id, &u)) != STORE_OK)
			return rc;
		rc = json_object_set(u, "groups", x->groups) == 0 ? user_update(t, u) : STORE_IO;
		json_decref(u);
		if (rc != STORE_OK)
			return rc;
	}
	/* "o" steals: the caller's list gets a reference of its own, and the
	 * empty one made here is owned by f alone (with "O" it leaked). */
	f = json_pack("{s:s, s:s, s:o}", "user", x->id, "username", x->name,
	    "groups", x->groups != NULL ? json_incref(x->groups) : json_array());
	rc = f != NULL ? audit_admin(x->c, t, "admin.user.add", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
user_groups_cb(struct store_txn *t, void *arg)
{
	struct user_ctx *x = arg;
	json_t *u = NULL, *f;
	int rc;

	if ((rc = user_by_name(t, x->name, &u)) != STORE_OK)
		return rc;
	if (json_object_set(u, "groups", x->groups) != 0) {
		json_decref(u);
		return STORE_IO;
	}
	if ((rc = user_update(t, u)) == STORE_OK) {
		f = json_pack("{s:O?, s:O?, s:O}", "user", json_object_get(u, "id"),
		    "username", json_object_get(u, "username"), "groups", x->groups);
		rc = f != NULL ? audit_admin(x->c, t, "admin.user.groups", f) : STORE_IO;
		json_decref(f);
	}
	json_decref(u);
	return rc;
}

/* Appends one group name given on the command line; -1 when out of memory or
 * not UTF-8 (the name rules are checked on the whole list by user_groups_ok). */
static int
user_group_append(json_t **groups, const char *g)
{
	if (*groups == NULL && (*groups = json_array()) == NULL)
		return -1;
	return json_array_append_new(*groups, json_string(g));
}

static int
user_passwd_cb(struct store_txn *t, void *arg)
{
	struct user_ctx *x = arg;
	json_t *u = NULL, *f;
	const char *id, *uname;
	int rc;

	if ((rc = user_by_name(t, x->name, &u)) != STORE_OK)
		return rc;
	id = json_string_value(json_object_get(u, "id"));
	uname = json_string_value(json_object_get(u, "username"));
	if (id == NULL || uname == NULL) {
		json_decref(u);
		return STORE_CORRUPT;
	}
	if ((rc = password_set(t, id, uname, x->pw)) != 0) {
		json_decref(u);
		x->pw_rule = rc > 0 ? rc : 0;
		return rc > 0 ? STORE_CONFLICT : STORE_IO;
	}
	f = json_pack("{s:s, s:s}", "user", id, "username", uname);
	rc = f != NULL ? audit_admin(x->c, t, "admin.user.passwd", f) : STORE_IO;
	json_decref(f);
	if (rc == STORE_OK)
		rc = admin_secevent(t, id, "password", "change", NULL);
	json_decref(u);
	return rc;
}

static int
user_enable_cb(struct store_txn *t, void *arg)
{
	struct user_ctx *x = arg;
	json_t *u = NULL, *f;
	int rc;

	if ((rc = user_by_name(t, x->name, &u)) != STORE_OK)
		return rc;
	x->changed = json_is_true(json_object_get(u, "disabled")) == x->enable;
	if (!x->changed) {
		json_decref(u);
		return STORE_OK;
	}
	if (json_object_set_new(u, "disabled", json_boolean(!x->enable)) != 0) {
		json_decref(u);
		return STORE_IO;
	}
	if ((rc = user_update(t, u)) == STORE_OK) {
		f = json_pack("{s:O?, s:O?}", "user", json_object_get(u, "id"),
		    "username", json_object_get(u, "username"));
		rc = f != NULL ? audit_admin(x->c, t, x->enable ? "admin.user.enable" :
		    "admin.user.disable", f) : STORE_IO;
		json_decref(f);
	}
	json_decref(u);
	return rc;
}

static int
user_list_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	json_t *p = user_public(value);
	int rc = p != NULL ? print_json_line(p) : -1;

	json_decref(p);
	return rc;
}

static int
user_read_cmd(struct ctl *c, const char *verb, const char *name)
{
	struct store_txn *t;
	json_t *u = NULL, *p;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return store_failure("read", STORE_IO);
	if (strcmp(verb, "list") == 0) {
		rc = store_iter(t, T_USERS, NULL, 0, user_list_cb, NULL);
		store_read_end(t);
		return rc == 0 ? 0 : store_failure("user list", STORE_IO);
	}
	rc = user_by_name(t, name, &u);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		refuse("no such user", name);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return store_failure("user show", rc);
	p = user_public(u);
	rc = p != NULL ? print_json_line(p) : -1;
	json_decref(p);
	json_decref(u);
	return rc == 0 ? 0 : EXIT_REFUSED;
}

static int
user_cmd(struct ctl *c, int argc, char **argv, struct user_ctx *xp)
{
	struct user_ctx x = *xp;
	char pw[PASSWORD_MAX_BYTES + 2];
	char norm[USERNAME_MAX + 1];
	const char *verb, *name = NULL, *g;
	int i, want_pw = 0, rc, m;

	if (argc < 1) {
		usage_error(usage_user, "user: which action?");
		return EXIT_USAGE;
	}
	verb = argv[0];
	if (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 &&
	    strcmp(verb, "disable") != 0 && strcmp(verb, "enable") != 0 &&
	    strcmp(verb, "passwd") != 0 && strcmp(verb, "groups") != 0) {
		usage_error(usage_user, "user: unknown action '%s'", verb);
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(verb, "add") == 0 &&
		    ((m = opt_arg(argc, argv, &i, "--email", &x.email)) != 0 ||
		     (m = opt_arg(argc, argv, &i, "--display-name", &x.display_name)) != 0)) {
			if (m < 0)
				return EXIT_USAGE;
		} else if (strcmp(verb, "add") == 0 &&
		    (m = opt_arg(argc, argv, &i, "--group", &g)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			if (user_group_append(&xp->groups, g) != 0) {
				refuse("invalid --group", NULL);
				return EXIT_REFUSED;
			}
		} else if ((strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) &&
		    strcmp(argv[i], "--password-stdin") == 0) {
			want_pw = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage_error(usage_user, "user: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (name == NULL) {
			name = argv[i];
		} else if (strcmp(verb, "groups") == 0) {
			if (user_group_append(&xp->groups, argv[i]) != 0) {
				refuse("invalid group name", NULL);
				return EXIT_REFUSED;
			}
		} else {
			usage_error(usage_user, "user: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if ((strcmp(verb, "list") == 0) != (name == NULL)) {
		if (strcmp(verb, "list") == 0)
			usage_error(usage_user, "user list takes no NAME");
		else
			usage_error(usage_user, "user %s needs a NAME", verb);
		return EXIT_USAGE;
	}
	if ((strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) && !want_pw) {
		usage_error(usage_user, "user %s needs --password-stdin", verb);
		return EXIT_USAGE;
	}
	if (name != NULL && !username_normalise(name, norm)) {
		refuse("invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", name);
		return EXIT_REFUSED;
	}
	if ((x.email != NULL && (!text_ok(x.email) || strchr(x.email, '@') == NULL ||
	    strlen(x.email) > 254)) || (x.display_name != NULL && !text_ok(x.display_name))) {
		refuse("invalid --email or --display-name", NULL);
		return EXIT_REFUSED;
	}
	/* "user groups NAME" alone clears the list. */
	if (strcmp(verb, "groups") == 0 && xp->groups == NULL && (xp->groups = json_array()) == NULL)
		return EXIT_REFUSED;
	if (xp->groups != NULL && !user_groups_ok(xp->groups)) {
		refuse("invalid groups (at most 64 distinct names of 1-64 of A-Z a-z 0-9 . _ -)",
		    NULL);
		return EXIT_REFUSED;
	}
	x.groups = xp->groups;
	x.name = name;
	if (ctl_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0)
		return user_read_cmd(c, verb, name);

	if (strcmp(verb, "groups") == 0) {
		rc = store_write_sync(c->store, user_groups_cb, &x);
		if (rc == STORE_NOTFOUND) {
			refuse("no such user", name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return store_failure(verb, rc);
		fprintf(stderr, "authctl: groups of %s set (%zu)\n", name,
		    json_array_size(x.groups));
		return 0;
	}

	if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
		x.enable = strcmp(verb, "enable") == 0;
		rc = store_write_sync(c->store, user_enable_cb, &x);
		if (rc == STORE_NOTFOUND) {
			refuse("no such user", name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return store_failure(verb, rc);
		fprintf(stderr, "authctl: user %s %s%s\n", name, x.changed ? "" : "was already ",
		    x.enable ? "enabled" : "disabled");
		return 0;
	}

	if ((rc = password_from_stdin(c, name, pw, sizeof(pw))) != 0)
		return rc;
	x.pw = pw;
	rc = store_write_sync(c->store, strcmp(verb, "add") == 0 ? user_add_cb : user_passwd_cb, &x);
	wipe(pw, sizeof(pw));
	if (rc == STORE_EXISTS) {
		refuse("user exists", name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		refuse("no such user", name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_CONFLICT && x.pw_rule > 0) {
		refuse("password refused", password_rule_message((enum pw_rule)x.pw_rule, c->lang));
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return store_failure(verb, rc);
	if (strcmp(verb, "add") == 0) {
		json_t *out = json_pack("{s:s, s:s}", "id", x.id, "username", name);
		if (out != NULL)
			print_json_line(out);
		json_decref(out);
		fprintf(stderr, "authctl: user %s added\n", name);
	} else {
		fprintf(stderr, "authctl: password of %s changed\n", name);
	}
	return 0;
}

static int
cmd_user(struct ctl *c, int argc, char **argv)
{
	struct user_ctx x = { .c = c };
	int rc;

	rc = user_cmd(c, argc, argv, &x);
	json_decref(x.groups);
	return rc;
}

/* ---------------------------------------------------------------- clients */

struct client_opts {
	json_t *redirect_uris, *post_logout, *grants, *scopes; /* NULL: not given */
	const char *name, *name_en, *auth_method, *jwks_file, *backchannel, *audience, *id_alg;
	int public_client;
	int host;              /* 1 --host, -1 --no-host, 0: not given */
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
parse_client_opts(int argc, char **argv, struct client_opts *o)
{
	int i, m;

	for (i = 0; i < argc; i++) {
		const char *v = NULL;

		if ((m = opt_arg(argc, argv, &i, "--redirect-uri", &v)) != 0) {
			if (m < 0 || append_opt(&o->redirect_uris, v) != 0)
				return EXIT_USAGE;
		} else if ((m = opt_arg(argc, argv, &i, "--post-logout-redirect-uri", &v)) != 0) {
			if (m < 0 || append_opt(&o->post_logout, v) != 0)
				return EXIT_USAGE;
		} else if ((m = opt_arg(argc, argv, &i, "--grant", &v)) != 0) {
			if (m < 0 || append_opt(&o->grants, v) != 0)
				return EXIT_USAGE;
		} else if ((m = opt_arg(argc, argv, &i, "--scope", &v)) != 0) {
			if (m < 0 || append_opt(&o->scopes, v) != 0)
				return EXIT_USAGE;
		} else if ((m = opt_arg(argc, argv, &i, "--min-aal", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0 && strcmp(v, "3") != 0) {
				usage_error(usage_client, "--min-aal must be 1, 2 or 3, not '%s'", v);
				return EXIT_USAGE;
			}
			o->min_aal = v[0] - '0';
		} else if ((m = opt_arg(argc, argv, &i, "--name-en", &o->name_en)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--name", &o->name)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--auth-method", &o->auth_method)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--jwks-file", &o->jwks_file)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--backchannel-logout-uri", &o->backchannel)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--audience", &o->audience)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--id-token-alg", &o->id_alg)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "--public") == 0) {
			o->public_client = 1;
		} else if (strcmp(argv[i], "--host") == 0) {
			o->host = 1;
		} else if (strcmp(argv[i], "--no-host") == 0) {
			o->host = -1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage_error(usage_client, "client: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (o->id == NULL) {
			o->id = argv[i];
		} else {
			usage_error(usage_client, "client: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (o->id == NULL) {
		usage_error(usage_client, "client: an ID is needed");
		return EXIT_USAGE;
	}
	if (o->public_client && o->auth_method != NULL && strcmp(o->auth_method, "none") != 0) {
		usage_error(usage_client, "--public conflicts with --auth-method %s", o->auth_method);
		return EXIT_USAGE;
	}
	if (o->public_client)
		o->auth_method = "none";
	return 0;
}

static int
method_uses_secret(const char *m)
{
	return m != NULL && (strcmp(m, "client_secret_basic") == 0 ||
	    strcmp(m, "client_secret_post") == 0);
}

/* Checks a client's public JWKS: bounded, every key usable by jose, and no
 * private key material (an operator handing over the app's private key by
 * mistake must not have it stored). */
static int
jwks_check(const json_t *jwks, char *err, size_t errsz)
{
	const json_t *keys = json_object_get(jwks, "keys"), *k;
	struct jose_keyset *ks;
	size_t i, n;

	if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 16) {
		snprintf(err, errsz, "jwks must be {\"keys\":[1..16 keys]}");
		return -1;
	}
	json_array_foreach(keys, i, k) {
		if (json_object_get(k, "d") != NULL || json_object_get(k, "p") != NULL) {
			snprintf(err, errsz, "jwks key %zu holds private key material; give the public JWKS", i);
			return -1;
		}
	}
	if ((ks = jose_keyset_from_jwks(jwks)) == NULL) {
		snprintf(err, errsz, "jwks cannot be read");
		return -1;
	}
	n = jose_keyset_count(ks);
	jose_keyset_free(ks);
	if (n != json_array_size(keys)) {
		snprintf(err, errsz, "jwks has keys that are not ES256, RS256 or EdDSA signing keys");
		return -1;
	}
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

/* Rules authctl adds on top of client_validate: text fields are bounded text,
 * private_key_jwt has keys, the JWKS is public. */
static int
client_check(const json_t *rec, char *err, size_t errsz)
{
	const char *text[] = { "client_id", "name", "name_en", "audience" };
	const char *m = json_string_value(json_object_get(rec, "token_endpoint_auth_method"));
	const json_t *jwks = json_object_get(rec, "jwks");
	const char *alg = json_string_value(json_object_get(rec, "id_token_signed_response_alg"));
	size_t i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		const json_t *v = json_object_get(rec, text[i]);
		if (v != NULL && (!json_is_string(v) || !text_ok(json_string_value(v)))) {
			snprintf(err, errsz, "%s must be 1-%d bytes of text", text[i], FIELD_MAX);
			return -1;
		}
	}
	if (client_validate(rec, err, errsz) != 0)
		return -1;
	if (m != NULL && strcmp(m, "private_key_jwt") == 0 && jwks == NULL) {
		snprintf(err, errsz, "private_key_jwt needs the client's public keys (--jwks-file)");
		return -1;
	}
	if (jwks != NULL && jwks_check(jwks, err, errsz) != 0)
		return -1;
	if (json_object_get(rec, "id_token_signed_response_alg") != NULL &&
	    (alg == NULL || jose_alg_from_name(alg) == JOSE_ALG_UNKNOWN)) {
		snprintf(err, errsz, "id_token_signed_response_alg must be ES256, RS256 or EdDSA");
		return -1;
	}
	return 0;
}

/* Members a stored client record may hold (clients.h). */
static const char *const client_members[] = {
	"client_id", "name", "name_en", "redirect_uris", "post_logout_redirect_uris",
	"grant_types", "scopes", "token_endpoint_auth_method", "jwks", "min_aal",
	"backchannel_logout_uri", "audience", "id_token_signed_response_alg", "disabled",
	"require_pkce", "host", NULL,
};

/* A new record with the defaults, for client add and import. */
static json_t *
client_defaults(const char *id)
{
	return json_pack("{s:s, s:s, s:[], s:[], s:[ss], s:[sss], s:s, s:i, s:b}",
	    "client_id", id, "name", id, "redirect_uris", "post_logout_redirect_uris",
	    "grant_types", "authorization_code", "refresh_token",
	    "scopes", "openid", "profile", "email",
	    "token_endpoint_auth_method", "client_secret_basic", "min_aal", 1, "disabled", 0);
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
	const struct ctl *c;
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

/* Gives rec a fresh secret when its method uses one and it has none. */
static int
client_maybe_secret(struct store_txn *t, json_t *rec, char secret[CLIENT_SECRET_LEN + 1],
    int *made, int *need_init)
{
	const char *m = json_string_value(json_object_get(rec, "token_endpoint_auth_method"));
	uint8_t key[32];
	char hash[65];
	int rc;

	*made = 0;
	if (!method_uses_secret(m)) {
		json_object_del(rec, "secret_hash");
		return STORE_OK;
	}
	if (json_is_string(json_object_get(rec, "secret_hash")))
		return STORE_OK;
	if ((rc = keys_secret_load(t, key)) != STORE_OK) {
		*need_init = rc == STORE_NOTFOUND;
		return rc;
	}
	rc = client_secret_new(key, secret, hash) == 0 ? STORE_OK : STORE_IO;
	wipe(key, sizeof(key));
	if (rc == STORE_OK && json_object_set_new(rec, "secret_hash", json_string(hash)) != 0)
		rc = STORE_IO;
	*made = rc == STORE_OK;
	return rc;
}

static int
client_add_cb(struct store_txn *t, void *arg)
{
	struct client_ctx *x = arg;
	json_t *f;
	int rc;

	if (json_object_set_new(x->rec, "created", json_integer(now_s())) != 0)
		return STORE_IO;
	rc = client_maybe_secret(t, x->rec, x->secret, &x->have_secret, &x->need_init);
	if (rc != STORE_OK)
		return rc;
	if ((rc = store_puts(t, T_CLIENTS, x->o->id, x->rec, STORE_NOOVERWRITE)) != STORE_OK)
		return rc;
	f = json_pack("{s:s, s:O}", "client", x->o->id, "auth_method",
	    json_object_get(x->rec, "token_endpoint_auth_method"));
	rc = f != NULL ? audit_admin(x->c, t, "admin.client.add", f) : STORE_IO;
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
	/* A client moved away from private_key_jwt keeps no stale keys. */
	if (x->o->auth_method != NULL && strcmp(x->o->auth_method, "private_key_jwt") != 0 &&
	    x->jwks == NULL)
		json_object_del(rec, "jwks");
	if (client_check(rec, x->err, sizeof(x->err)) != 0) {
		json_decref(rec);
		return STORE_CONFLICT;
	}
	rc = client_maybe_secret(t, rec, x->secret, &x->have_secret, &x->need_init);
	if (rc == STORE_OK && json_object_set_new(rec, "updated", json_integer(now_s())) != 0)
		rc = STORE_IO;
	if (rc == STORE_OK)
		rc = store_puts(t, T_CLIENTS, x->o->id, rec, 0);
	if (rc == STORE_OK) {
		f = json_pack("{s:s, s:O, s:b}", "client", x->o->id, "changed", x->changed,
		    "new_secret", x->have_secret);
		rc = f != NULL ? audit_admin(x->c, t, "admin.client.update", f) : STORE_IO;
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
	rc = f != NULL ? audit_admin(x->c, t, "admin.client.remove", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static void
print_secret_once(struct client_ctx *x)
{
	if (!x->have_secret)
		return;
	printf("client_secret: %s\n", x->secret);
	fflush(stdout);
	wipe(x->secret, sizeof(x->secret));
	fprintf(stderr, "authctl: the secret is shown once; only its keyed hash is stored\n");
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
	CHANGED(o->jwks_file, "jwks");
	CHANGED(o->backchannel, "backchannel_logout_uri");
	CHANGED(o->audience, "audience");
	CHANGED(o->id_alg, "id_token_signed_response_alg");
#undef CHANGED
	return a;
}

static int
client_write_result(struct ctl *c, struct client_ctx *x, const char *what, int rc)
{
	if (rc == STORE_OK)
		return 0;
	if (x->need_init) {
		fprintf(stderr, "authctl: store not initialised (run: authctl -c %s init)\n",
		    c->config_path);
		return EXIT_REFUSED;
	}
	if (rc == STORE_EXISTS) {
		refuse("client exists", x->o->id);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		refuse("no such client", x->o->id);
		return EXIT_REFUSED;
	}
	if (rc == STORE_CONFLICT && x->err[0] != '\0') {
		refuse("client refused", x->err);
		return EXIT_REFUSED;
	}
	return store_failure(what, rc);
}

static int
client_list_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	json_t *p = client_public(value);
	int rc = p != NULL ? print_json_line(p) : -1;

	json_decref(p);
	return rc;
}

static int
client_read_cmd(struct ctl *c, const char *verb, const char *id)
{
	struct store_txn *t;
	json_t *rec = NULL, *p;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return store_failure("read", STORE_IO);
	if (id == NULL) {
		rc = store_iter(t, T_CLIENTS, NULL, 0, client_list_cb, NULL);
		store_read_end(t);
		return rc == 0 ? 0 : store_failure("client list", STORE_IO);
	}
	rc = client_get(t, id, &rec);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		refuse("no such client", id);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return store_failure(verb, rc);
	p = client_public(rec);
	rc = p != NULL ? print_json_line(p) : -1;
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
	size_t i;

	if (!json_is_object(e)) {
		snprintf(err, errsz, "entry %zu: not an object", idx);
		return NULL;
	}
	if (id == NULL || !text_ok(id)) {
		snprintf(err, errsz, "entry %zu: client_id missing or not text", idx);
		return NULL;
	}
	json_object_foreach((json_t *)e, k, v) {
		for (i = 0; client_members[i] != NULL; i++)
			if (strcmp(k, client_members[i]) == 0)
				break;
		if (client_members[i] == NULL) {
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
	if (client_check(rec, why, sizeof(why)) != 0) {
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
		rc = client_maybe_secret(t, put, x->secrets[x->n_secrets].secret, &made, &x->need_init);
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
			rc = f != NULL ? audit_admin(x->c, t, "admin.client.import", f) : STORE_IO;
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

static int
cmd_client_import(struct ctl *c, int argc, char **argv)
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
		if ((m = opt_arg(argc, argv, &ii, "--secrets-out", &x.secrets_path)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			i = (size_t)ii;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage_error(usage_client, "client import: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (file == NULL) {
			file = argv[i];
		} else {
			usage_error(usage_client, "client import: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (file == NULL) {
		usage_error(usage_client, "client import needs FILE.json");
		return EXIT_USAGE;
	}
	if (x.secrets_path != NULL && access(x.secrets_path, F_OK) == 0) {
		refuse("secrets file exists; name a new one", x.secrets_path);
		return EXIT_REFUSED;
	}
	if ((doc = load_json_file(file, IMPORT_MAX_BYTES, err, sizeof(err))) == NULL) {
		refuse("import refused", err);
		return EXIT_REFUSED;
	}
	list = json_object_get(doc, "clients");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > IMPORT_MAX_CLIENTS) {
		refuse("import refused", "expected {\"clients\": [1..10000 client objects]}");
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
				refuse("invalid", err);
			continue;
		}
		id = json_string_value(json_object_get(rec, "client_id"));
		for (j = 0; j < json_array_size(x.recs); j++) {
			if (strcmp(id, json_string_value(json_object_get(json_array_get(x.recs, j),
			    "client_id"))) == 0) {
				if (n_bad++ < 20)
					fprintf(stderr, "authctl: invalid: entry %zu: duplicate client_id %s\n", i, id);
				break;
			}
		}
		json_array_append_new(x.recs, rec);
	}
	json_decref(doc);
	if (n_bad > 0) {
		fprintf(stderr, "authctl: import refused: %zu invalid entr%s; nothing written\n", n_bad,
		    n_bad == 1 ? "y" : "ies");
		json_decref(x.recs);
		return EXIT_REFUSED;
	}
	if (ctl_open_store(c, 0) != 0) {
		json_decref(x.recs);
		return EXIT_REFUSED;
	}
	x.o = &dummy;
	x.secrets = calloc(json_array_size(x.recs), sizeof(*x.secrets));
	if (x.secrets == NULL) {
		json_decref(x.recs);
		refuse("out of memory", NULL);
		return EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, client_import_cb, &x);
	if (rc != STORE_OK && x.secrets_created)
		unlink(x.secrets_path);
	if (rc == STORE_OK && x.secrets_path == NULL) {
		for (i = 0; i < x.n_secrets; i++)
			printf("%s\t%s\n", x.secrets[i].id, x.secrets[i].secret);
		fflush(stdout);
	}
	wipe(x.secrets, json_array_size(x.recs) * sizeof(*x.secrets));
	free(x.secrets);
	json_decref(x.recs);
	if (rc != STORE_OK) {
		if (x.need_init) {
			fprintf(stderr, "authctl: store not initialised (run: authctl -c %s init)\n",
			    c->config_path);
			return EXIT_REFUSED;
		}
		if (rc == STORE_CONFLICT && x.err[0] != '\0') {
			refuse("import failed, nothing written", x.err);
			return EXIT_REFUSED;
		}
		return store_failure("import failed, nothing written", rc);
	}
	fprintf(stderr, "imported %zu new, %zu updated\n", x.n_new, x.n_updated);
	if (x.secrets_path != NULL && x.n_secrets > 0)
		fprintf(stderr, "authctl: %zu secret%s written to %s (mode 0600)\n", x.n_secrets,
		    x.n_secrets == 1 ? "" : "s", x.secrets_path);
	return 0;
}

static int
cmd_client(struct ctl *c, int argc, char **argv)
{
	struct client_opts o = { 0 };
	struct client_ctx x = { .c = c, .o = &o };
	const char *verb;
	char err[512];
	int rc;

	if (argc < 1) {
		usage_error(usage_client, "client: which action?");
		return EXIT_USAGE;
	}
	verb = argv[0];
	if (strcmp(verb, "import") == 0)
		return cmd_client_import(c, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0) {
		if (argc != 1) {
			usage_error(usage_client, "client list takes no arguments");
			return EXIT_USAGE;
		}
		if (ctl_open_store(c, 0) != 0)
			return EXIT_REFUSED;
		return client_read_cmd(c, verb, NULL);
	}
	if (strcmp(verb, "show") == 0 || strcmp(verb, "remove") == 0) {
		if (argc != 2 || argv[1][0] == '-') {
			usage_error(usage_client, "client %s needs exactly one ID", verb);
			return EXIT_USAGE;
		}
		o.id = argv[1];
		if (ctl_open_store(c, 0) != 0)
			return EXIT_REFUSED;
		if (strcmp(verb, "show") == 0)
			return client_read_cmd(c, verb, o.id);
		rc = store_write_sync(c->store, client_remove_cb, &x);
		if ((rc = client_write_result(c, &x, verb, rc)) == 0)
			fprintf(stderr, "authctl: client %s removed\n", o.id);
		return rc;
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "update") != 0) {
		usage_error(usage_client, "client: unknown action '%s'", verb);
		return EXIT_USAGE;
	}
	if ((rc = parse_client_opts(argc - 1, argv + 1, &o)) != 0) {
		client_opts_free(&o);
		return rc;
	}
	if (o.jwks_file != NULL) {
		if ((x.jwks = load_json_file(o.jwks_file, JWKS_MAX_BYTES, err, sizeof(err))) == NULL) {
			refuse("--jwks-file refused", err);
			client_opts_free(&o);
			return EXIT_REFUSED;
		}
	}
	rc = EXIT_REFUSED;
	if (strcmp(verb, "add") == 0) {
		if ((x.rec = client_defaults(o.id)) == NULL ||
		    client_apply_opts(x.rec, &o, x.jwks) != 0) {
			refuse("out of memory", NULL);
			goto out;
		}
		if (client_check(x.rec, err, sizeof(err)) != 0) {
			refuse("client refused", err);
			goto out;
		}
		if (ctl_open_store(c, 0) != 0)
			goto out;
		rc = store_write_sync(c->store, client_add_cb, &x);
	} else {
		if ((x.changed = changed_members(&o)) == NULL) {
			refuse("out of memory", NULL);
			goto out;
		}
		if (json_array_size(x.changed) == 0) {
			usage_error(usage_client, "client update %s: nothing to change", o.id);
			rc = EXIT_USAGE;
			goto out;
		}
		if (ctl_open_store(c, 0) != 0)
			goto out;
		rc = store_write_sync(c->store, client_update_cb, &x);
	}
	if ((rc = client_write_result(c, &x, verb, rc)) == 0) {
		print_secret_once(&x);
		fprintf(stderr, "authctl: client %s %s\n", o.id, strcmp(verb, "add") == 0 ? "added" :
		    "updated");
	}
out:
	wipe(x.secret, sizeof(x.secret));
	json_decref(x.rec);
	json_decref(x.jwks);
	json_decref(x.changed);
	client_opts_free(&o);
	return rc;
}

/* ---------------------------------------------------------------- totp */

struct totp_ctx {
	const struct ctl *c;
	const char *name;
	char id[USER_ID_LEN + 1];
	char username[USERNAME_MAX + 1];
	char code[8];
	char uri[TOTP_URI_MAX];
	char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
	int no_user;           /* the name is unknown (vs. no TOTP) */
	int wrong_code;
};

/* Looks the user up inside the write transaction (LMDB serialises authctl
 * against authd: decide from what this transaction sees). */
static int
totp_user(struct store_txn *t, struct totp_ctx *x)
{
	json_t *u = NULL;
	const char *id, *uname;
	int rc;

	if ((rc = user_by_name(t, x->name, &u)) != STORE_OK) {
		x->no_user = rc == STORE_NOTFOUND;
		return rc;
	}
	id = json_string_value(json_object_get(u, "id"));
	uname = json_string_value(json_object_get(u, "username"));
	if (id == NULL || uname == NULL || strlen(id) != USER_ID_LEN || strlen(uname) > USERNAME_MAX) {
		json_decref(u);
		return STORE_CORRUPT;
	}
	memcpy(x->id, id, USER_ID_LEN + 1);
	snprintf(x->username, sizeof(x->username), "%s", uname);
	json_decref(u);
	return STORE_OK;
}

static int
totp_audit(struct totp_ctx *x, struct store_txn *t, const char *event, const char *state)
{
	json_t *f = state != NULL ?
	    json_pack("{s:s, s:s, s:s}", "user", x->id, "username", x->username, "state", state) :
	    json_pack("{s:s, s:s}", "user", x->id, "username", x->username);
	int rc = f != NULL ? audit_admin(x->c, t, event, f) : STORE_IO;

	json_decref(f);
	return rc;
}

static int
totp_begin_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = totp_user(t, x)) != STORE_OK)
		return rc;
	if ((rc = totp_enrol_begin(t, x->id, x->username, x->uri, sizeof(x->uri))) != STORE_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.enrol", "pending");
}

static int
totp_finish_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = totp_user(t, x)) != STORE_OK)
		return rc;
	rc = totp_enrol_finish(t, x->id, x->code, x->recovery);
	if (rc == -1 || rc == -2) {	/* rolled back: the operator's tries are not counted */
		x->wrong_code = 1;
		return STORE_CONFLICT;
	}
	if (rc != STORE_OK)
		return rc;
	if ((rc = admin_secevent(t, x->id, "totp", "add", NULL)) != STORE_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.enrol", "active");
}

static int
totp_reset_cb(struct store_txn *t, void *arg)
{
	struct totp_ctx *x = arg;
	int rc;

	if ((rc = totp_user(t, x)) != STORE_OK)
		return rc;
	if ((rc = totp_reset(t, x->id)) != STORE_OK)
		return rc;
	if ((rc = admin_secevent(t, x->id, "totp", "remove", NULL)) != STORE_OK)
		return rc;
	return totp_audit(x, t, "admin.totp.reset", NULL);
}

/* One code from stdin: "123456" or "123 456". 0 ok, -1 refused (message printed). */
static int
read_code(char out[8], int prompt)
{
	char line[32];
	size_t len = 0, i, n = 0;

	if (prompt && isatty(STDIN_FILENO)) {
		fputs("Code shown by the app: ", stderr);
		fflush(stderr);
	}
	for (;;) {
		ssize_t r;

		if (len == sizeof(line) - 1) {
			refuse("code refused", "longer than a code");
			return -1;
		}
		r = read(STDIN_FILENO, line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			refuse("cannot read the code", strerror(errno));
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
			refuse("code refused", "it must be the 6 digits shown by the app");
			return -1;
		}
		out[n++] = line[i];
	}
	out[n] = '\0';
	if (n != 6) {
		refuse("code refused", "it must be the 6 digits shown by the app");
		return -1;
	}
	return 0;
}

static int
totp_write_failure(const struct ctl *c, struct totp_ctx *x, const char *verb, int rc)
{
	if (x->no_user) {
		refuse("no such user", x->name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_EXISTS) {
		fprintf(stderr, "authctl: %s already has an active TOTP; to replace it run: "
		    "authctl -c %s totp reset %s\n", x->name, c->config_path, x->name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND && strcmp(verb, "reset") == 0) {
		fprintf(stderr, "authctl: %s has no TOTP; nothing to reset\n", x->name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "authctl: the enrolment of %s is gone (reset meanwhile?); "
		    "run totp enrol again\n", x->name);
		return EXIT_REFUSED;
	}
	return store_failure(verb, rc);
}

static int
totp_enrol_cmd(struct ctl *c, struct totp_ctx *x, int code_stdin)
{
	char err[512];
	char *qr;
	size_t i;
	int rc;

	if (totp_init_err(&c->conf, err, sizeof(err), NULL) != 0) {
		refuse("TOTP unavailable", err);
		return EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, totp_begin_cb, x);
	if (rc != STORE_OK)
		return totp_write_failure(c, x, "enrol", rc);
	/* The URI carries the secret: stdout only, for the person's app. */
	printf("%s\n", x->uri);
	if ((qr = totp_qr_text(x->uri)) != NULL) {
		fputs(qr, stdout);
		wipe(qr, strlen(qr));
		free(qr);
	}
	fflush(stdout);
	wipe(x->uri, sizeof(x->uri));
	if (!code_stdin)
		fprintf(stderr, "authctl: scan the QR code (or add the URI) in the authenticator "
		    "app, then type the code it shows.\n");
	if (read_code(x->code, !code_stdin) != 0) {
		fprintf(stderr, "authctl: TOTP of %s not activated (still pending)\n", x->name);
		return EXIT_REFUSED;
	}
	rc = store_write_sync(c->store, totp_finish_cb, x);
	wipe(x->code, sizeof(x->code));
	if (rc != STORE_OK && x->wrong_code) {
		fprintf(stderr, "authctl: code refused: not valid for this secret now (check the "
		    "phone's clock); TOTP of %s not activated\n", x->name);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return totp_write_failure(c, x, "enrol", rc);
	fprintf(stderr, "authctl: TOTP of %s is active. Recovery codes (shown once; each works "
	    "once; hand them to the person):\n", x->name);
	for (i = 0; i < TOTP_RECOVERY_CODES; i++)
		printf("%s\n", x->recovery[i]);
	fflush(stdout);
	return 0;
}

static int
cmd_totp(struct ctl *c, int argc, char **argv)
{
	struct totp_ctx x = { .c = c };
	char norm[USERNAME_MAX + 1];
	const char *verb;
	int i, code_stdin = 0, rc;

	if (argc < 1 || (strcmp(argv[0], "enrol") != 0 && strcmp(argv[0], "reset") != 0 &&
	    strcmp(argv[0], "status") != 0)) {
		if (argc < 1)
			usage_error(usage_totp, "totp: which action?");
		else
			usage_error(usage_totp, "totp: unknown action '%s'", argv[0]);
		return EXIT_USAGE;
	}
	verb = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(verb, "enrol") == 0 && strcmp(argv[i], "--code-stdin") == 0) {
			code_stdin = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage_error(usage_totp, "totp %s: unknown option '%s'", verb, argv[i]);
			return EXIT_USAGE;
		} else if (x.name == NULL) {
			x.name = argv[i];
		} else {
			usage_error(usage_totp, "totp %s: unexpected argument '%s'", verb, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (x.name == NULL) {
		usage_error(usage_totp, "totp %s needs a NAME", verb);
		return EXIT_USAGE;
	}
	if (!username_normalise(x.name, norm)) {
		refuse("invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", x.name);
		return EXIT_REFUSED;
	}
	if (ctl_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if (strcmp(verb, "enrol") == 0) {
		rc = totp_enrol_cmd(c, &x, code_stdin);
	} else if (strcmp(verb, "reset") == 0) {
		rc = store_write_sync(c->store, totp_reset_cb, &x);
		if (rc == STORE_OK) {
			fprintf(stderr, "authctl: TOTP of %s removed; they will be told at their next "
			    "sign-in and can set it up again on their account page\n", x.name);
			rc = 0;
		} else {
			rc = totp_write_failure(c, &x, "reset", rc);
		}
	} else {
		struct store_txn *t;
		json_t *u = NULL, *st = NULL;

		if ((t = store_read_begin(c->store)) == NULL)
			return store_failure("read", STORE_IO);
		rc = user_by_name(t, x.name, &u);
		if (rc == STORE_OK)
			st = totp_status(t, json_string_value(json_object_get(u, "id")));
		store_read_end(t);
		if (rc == STORE_NOTFOUND) {
			refuse("no such user", x.name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK || st == NULL) {
			json_decref(u);
			return store_failure("totp status", rc != STORE_OK ? rc : STORE_IO);
		}
		json_object_set(st, "username", json_object_get(u, "username"));
		rc = print_json_line(st) == 0 ? 0 : EXIT_REFUSED;
		json_decref(st);
		json_decref(u);
	}
	wipe(&x, sizeof(x));
	return rc;
}

/* ---------------------------------------------------------------- x509 */

struct x509_ctx {
	const struct ctl *c;
	struct totp_ctx u;     /* the user lookup is the same as for TOTP */
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
		return STORE_OK;
	if (json_object_set_new(x->rev_unknown, "user", json_string(x->u.id)) != 0 ||
	    json_object_set_new(x->rev_unknown, "username", json_string(x->u.username)) != 0 ||
	    json_object_set_new(x->rev_unknown, "by", json_string("admin")) != 0)
		return STORE_IO;
	rc = audit_admin(x->c, t, "x509.revocation_unknown", x->rev_unknown);
	return rc;
}

static int
x509_unknown_cb(struct store_txn *t, void *arg)
{
	struct x509_ctx *x = arg;
	int rc;

	if ((rc = totp_user(t, &x->u)) != STORE_OK)
		return rc;
	return x509_unknown_audit(t, x);
}

static int
x509_write_cb(struct store_txn *t, void *arg)
{
	struct x509_ctx *x = arg;
	json_t *f;
	int rc;

	if ((rc = totp_user(t, &x->u)) != STORE_OK)
		return rc;
	rc = x->bind ? x509_bind(t, x->u.id, &x->id) : x509_unbind(t, x->u.id, NULL);
	if (rc != STORE_OK) {
		x->exists = rc == STORE_EXISTS;
		return rc;
	}
	if ((rc = admin_secevent(t, x->u.id, "x509", x->bind ? "add" : "remove",
	    x->bind ? x->id.cn : NULL)) != STORE_OK)
		return rc;
	f = json_pack("{s:s s:s s:s}", "user", x->u.id, "username", x->u.username,
	    "card", x->bind ? x->id.cred_id : "*");
	rc = f != NULL ? audit_admin(x->c, t, x->bind ? "admin.x509.bind" : "admin.x509.unbind", f) :
	    STORE_IO;
	json_decref(f);
	if (rc == STORE_OK && x->bind)
		rc = x509_unknown_audit(t, x);	/* let in by fail_open */
	return rc;
}

static int
x509_bind_cmd(struct ctl *c, struct x509_ctx *x, const char *path)
{
	char err[512], *pem, why[512];
	enum x509_err e;
	FILE *fp;
	X509 *cert;
	size_t n;
	int unknown = 0;

	if (x509_setup(&c->conf, err, sizeof(err)) != 0 || !x509_enabled()) {
		refuse("citizen certificates are not set up", err[0] ? err : "[x509] enabled = false");
		return EXIT_REFUSED;
	}
	if ((fp = fopen(path, "r")) == NULL || (pem = calloc(1, X509_PEM_MAX + 1)) == NULL) {
		if (fp != NULL)
			fclose(fp);
		refuse("cannot read the certificate", path);
		return EXIT_REFUSED;
	}
	n = fread(pem, 1, X509_PEM_MAX, fp);
	fclose(fp);
	cert = n > 0 ? x509_from_pem(pem) : NULL;
	free(pem);
	if (cert == NULL) {
		refuse("not a PEM certificate", path);
		return EXIT_REFUSED;
	}
	e = x509_validate_why(cert, 1, &unknown, why, sizeof(why));
	if (unknown)
		x->rev_unknown = x509_rev_unknown_fields(NULL, cert, why, e == X509E_OK);
	if (e == X509E_OK && x509_ident_of(cert, &x->id) != 0)
		e = X509E_MALFORMED;
	X509_free(cert);
	if (e != X509E_OK) {
		if (x->rev_unknown != NULL && store_write_sync(c->store, x509_unknown_cb, x) != STORE_OK)
			fprintf(stderr, "authctl: the audit record of the unknown revocation status was not written\n");
		if (e == X509E_REV_UNKNOWN && why[0] != '\0') {
			char detail[700];

			snprintf(detail, sizeof(detail), "%s (%s)", x509_strerror(e), why);
			refuse("certificate refused", detail);
		} else {
			refuse("certificate refused", x509_strerror(e));
		}
		return EXIT_REFUSED;
	}
	return 0;
}

static int
cmd_x509(struct ctl *c, int argc, char **argv)
{
	struct x509_ctx x = { .c = c };
	char norm[USERNAME_MAX + 1];
	const char *verb;
	int rc, want = 2;

	x.u.c = c;
	if (argc < 1 || (strcmp(argv[0], "bind") != 0 && strcmp(argv[0], "unbind") != 0 &&
	    strcmp(argv[0], "list") != 0)) {
		usage_error(usage_x509, argc < 1 ? "x509: which action?" : "x509: unknown action");
		return EXIT_USAGE;
	}
	verb = argv[0];
	x.bind = strcmp(verb, "bind") == 0;
	if (x.bind)
		want = 3;
	if (argc != want) {
		usage_error(usage_x509, "x509 %s: wrong number of arguments", verb);
		return EXIT_USAGE;
	}
	x.u.name = argv[1];
	if (!username_normalise(x.u.name, norm)) {
		refuse("invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", x.u.name);
		return EXIT_REFUSED;
	}
	if (ctl_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if (x.bind && (rc = x509_bind_cmd(c, &x, argv[2])) != 0) {
		json_decref(x.rev_unknown);
		return rc;
	}
	if (strcmp(verb, "list") == 0) {
		struct store_txn *t = store_read_begin(c->store);
		json_t *l = NULL;

		if (t == NULL)
			return store_failure("read", STORE_IO);
		rc = totp_user(t, &x.u);
		if (rc == STORE_OK && (l = x509_list(t, x.u.id)) == NULL)
			rc = STORE_IO;
		store_read_end(t);
		if (rc == STORE_NOTFOUND) {
			refuse("no such user", x.u.name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return store_failure("x509 list", rc);
		rc = print_json_line(l) == 0 ? 0 : EXIT_REFUSED;
		json_decref(l);
		return rc;
	}
	rc = store_write_sync(c->store, x509_write_cb, &x);
	json_decref(x.rev_unknown);
	x.rev_unknown = NULL;
	x509_teardown();
	if (rc == STORE_OK) {
		if (x.bind)
			fprintf(stderr, "authctl: card %s (%s, ID ending %s) linked to %s\n", x.id.cred_id,
			    x.id.cn, x.id.last4[0] ? x.id.last4 : "-", x.u.name);
		else
			fprintf(stderr, "authctl: every citizen certificate of %s unlinked\n", x.u.name);
		return 0;
	}
	if (x.u.no_user) {
		refuse("no such user", x.u.name);
		return EXIT_REFUSED;
	}
	if (x.exists) {
		refuse("this card is linked to another account (unbind it there first)", x.id.cred_id);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		refuse("no citizen certificate is linked to", x.u.name);
		return EXIT_REFUSED;
	}
	return store_failure("x509", rc);
}

/* ---------------------------------------------------------------- keys */

struct key_ctx {
	const struct ctl *c;
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
	rc = f != NULL ? audit_admin(x->c, t, "admin.key.rotate", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static int
key_list_print(struct ctl *c)
{
	struct store_txn *t;
	json_t *list = NULL, *k;
	size_t i;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return store_failure("read", STORE_IO);
	rc = keys_list(t, &list);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "authctl: no key ring (run: authctl -c %s init)\n", c->config_path);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return store_failure("key list", rc);
	json_array_foreach(list, i, k)
		print_json_line(k);
	json_decref(list);
	return 0;
}

static int
cmd_key(struct ctl *c, int argc, char **argv)
{
	struct key_ctx x = { .c = c };
	long ttl;
	int rc;

	if (argc != 1 || (strcmp(argv[0], "rotate") != 0 && strcmp(argv[0], "list") != 0)) {
		if (argc < 1)
			usage_error(usage_key, "key: which action?");
		else
			usage_error(usage_key, "key: unknown action or extra argument after '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (ctl_open_store(c, 0) != 0)
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
			fprintf(stderr, "authctl: no key ring (run: authctl -c %s init)\n", c->config_path);
			return EXIT_REFUSED;
		}
		return store_failure("key rotate", rc);
	}
	fprintf(stderr, "authctl: keys rotated (generation %lld); a running authd picks them up "
	    "on its next request\n", (long long)x.generation);
	return key_list_print(c);
}

/* ---------------------------------------------------------------- audit */

static int
audit_print_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	return print_json_line(value);
}

static int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	struct audit_verify_result res = { 0 };
	struct store_txn *t;
	unsigned long long last = AUDIT_SHOW_DEFAULT;
	int i, m, rc;

	if (argc < 1 || (strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "show") != 0)) {
		if (argc < 1)
			usage_error(usage_audit, "audit: which action?");
		else
			usage_error(usage_audit, "audit: unknown action '%s'", argv[0]);
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		const char *v;
		char *end;

		if (strcmp(argv[0], "show") == 0 &&
		    (m = opt_arg(argc, argv, &i, "--last", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			errno = 0;
			last = strtoull(v, &end, 10);
			if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9' || last == 0 ||
			    last > 1000000) {
				usage_error(usage_audit, "--last needs a number 1..1000000, not '%s'", v);
				return EXIT_USAGE;
			}
		} else {
			usage_error(usage_audit, "audit: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (ctl_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if ((t = store_read_begin(c->store)) == NULL)
		return store_failure("read", STORE_IO);
	if (strcmp(argv[0], "verify") == 0) {
		rc = audit_verify(t, &res);
		store_read_end(t);
		if (rc == STORE_OK) {
			printf("audit chain ok: %llu records\n", (unsigned long long)res.records);
			return 0;
		}
		printf("audit chain broken at seq %llu: %s\n", (unsigned long long)res.first_bad,
		    res.problem != NULL ? res.problem : store_strerror(rc));
		return EXIT_REFUSED;
	} else {
		const void *k, *v;
		size_t klen, vlen;
		uint64_t seq = 0, from;
		uint8_t fromkey[8];

		rc = store_last_raw(t, T_AUDIT, &k, &klen, &v, &vlen);
		if (rc == STORE_NOTFOUND) {
			store_read_end(t);
			return 0;
		}
		if (rc != STORE_OK || klen != 8) {
			store_read_end(t);
			return store_failure("audit show", rc == STORE_OK ? STORE_CORRUPT : rc);
		}
		for (i = 0; i < 8; i++)
			seq = seq << 8 | ((const uint8_t *)k)[i];
		from = seq >= last ? seq - last + 1 : 0;
		for (i = 7; i >= 0; i--, from >>= 8)
			fromkey[i] = (uint8_t)(from & 0xff);
		rc = store_iter(t, T_AUDIT, fromkey, sizeof(fromkey), audit_print_cb, NULL);
		store_read_end(t);
		return rc == 0 ? 0 : store_failure("audit show", STORE_IO);
	}
}

/* ---------------------------------------------------------------- webauthn */

struct wa_ctx {
	struct totp_ctx u;     /* the user lookup is the same as for TOTP */
	char ref[WA_REF_LEN + 1];
	int level_before, level_after;
};

/* The name the person gave the key (for their notice); STORE_NOTFOUND when
 * they have no such key. */
static int
wa_name_of(struct store_txn *t, const char *uid, const char *ref, char *out, size_t n)
{
	json_t *list = webauthn_cred_list(t, uid), *c;
	size_t i;
	int rc = STORE_NOTFOUND;

	if (list == NULL)
		return STORE_IO;
	json_array_foreach(list, i, c) {
		const char *r = json_string_value(json_object_get(c, "ref"));
		const char *nm = json_string_value(json_object_get(c, "name"));

		if (r != NULL && strcmp(r, ref) == 0) {
			snprintf(out, n, "%s", nm != NULL ? nm : "");
			rc = STORE_OK;
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

	if ((rc = totp_user(t, &x->u)) != STORE_OK)
		return rc;
	x->level_before = webauthn_reachable_level(t, x->u.id, NULL);
	if ((rc = wa_name_of(t, x->u.id, x->ref, name, sizeof(name))) != STORE_OK ||
	    (rc = webauthn_cred_remove(t, x->u.id, x->ref)) != STORE_OK)
		return rc;
	if ((rc = admin_secevent(t, x->u.id, "webauthn", "remove", name)) != STORE_OK)
		return rc;
	x->level_after = webauthn_reachable_level(t, x->u.id, NULL);
	f = json_pack("{s:s s:s s:s}", "user", x->u.id, "username", x->u.username, "cred", x->ref);
	rc = f != NULL ? audit_admin(x->u.c, t, "admin.webauthn.remove", f) : STORE_IO;
	json_decref(f);
	return rc;
}

/* The fields an administrator needs, and what the key counts as under the
 * trust configuration in force (hardware, and why); the key material and the
 * attestation chain stay in the store. */
static int
wa_list_print(const char *username, json_t *list)
{
	static const char *const keep[] = { "name", "fmt", "att", "att_note", "uv", "be", "bs",
		"aaguid", "transports", "sign_count", "created", "last_used", "suspicious", NULL };
	struct wa_verdict v;
	json_t *c, *o;
	size_t i, k;

	json_array_foreach(list, i, c) {
		wa_trust_eval(c, time(NULL), &v);
		if ((o = json_pack("{s:s s:O s:b s:s s:s}", "username", username, "ref",
		    json_object_get(c, "ref"), "hardware", v.hardware, "trust", wa_why_name(v.why),
		    "trust_detail", v.detail)) == NULL)
			return -1;
		for (k = 0; keep[k] != NULL; k++)
			if (json_object_get(c, keep[k]) != NULL)
				json_object_set(o, keep[k], json_object_get(c, keep[k]));
		if (print_json_line(o) != 0) {
			json_decref(o);
			return -1;
		}
		json_decref(o);
	}
	return 0;
}

static int
wa_cmd(struct ctl *c, int argc, char **argv)
{
	struct wa_ctx x = { .u = { .c = c } };
	char norm[USERNAME_MAX + 1];
	int rm, want, rc;

	if (argc < 1 || (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "remove") != 0)) {
		if (argc < 1)
			usage_error(usage_webauthn, "webauthn: which action?");
		else
			usage_error(usage_webauthn, "webauthn: unknown action '%s'", argv[0]);
		return EXIT_USAGE;
	}
	rm = strcmp(argv[0], "remove") == 0;
	want = rm ? 3 : 2;
	if (argc != want || argv[1][0] == '-' || (rm && argv[2][0] == '-')) {
		usage_error(usage_webauthn, rm ? "webauthn remove needs NAME and CRED_ID" :
		    "webauthn list needs a NAME");
		return EXIT_USAGE;
	}
	x.u.name = argv[1];
	if (!username_normalise(x.u.name, norm)) {
		refuse("invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", x.u.name);
		return EXIT_REFUSED;
	}
	if (rm) {
		/* The ref from list (43 characters), or the credential id itself. */
		if (strlen(argv[2]) == WA_REF_LEN)
			snprintf(x.ref, sizeof(x.ref), "%s", argv[2]);
		else if (webauthn_cred_ref(argv[2], x.ref) != 0) {
			refuse("invalid CRED_ID (the ref shown by webauthn list)", argv[2]);
			return EXIT_REFUSED;
		}
	}
	if (ctl_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	{
		/* Hardware or passkey depends on [webauthn]'s trust keys, as in authd. */
		char err[512];

		if (webauthn_configure(&c->conf, err, sizeof(err)) != 0) {
			refuse("[webauthn] is not usable", err);
			return EXIT_REFUSED;
		}
	}
	if (rm) {
		rc = store_write_sync(c->store, wa_remove_cb, &x);
		if (rc == STORE_OK) {
			fprintf(stderr, "authctl: security key %s of %s removed", x.ref, x.u.name);
			if (x.level_after < x.level_before)
				fprintf(stderr, "; the account now reaches %s at most (was %s)",
				    x.level_after > 0 ? policy_acr_name(x.level_after) : "no level",
				    policy_acr_name(x.level_before));
			fputc('\n', stderr);
			return 0;
		}
		if (x.u.no_user) {
			refuse("no such user", x.u.name);
			return EXIT_REFUSED;
		}
		if (rc == STORE_NOTFOUND || rc == STORE_INVALID) {
			refuse("no such security key for this user (see webauthn list)", argv[2]);
			return EXIT_REFUSED;
		}
		return store_failure("webauthn remove", rc);
	} else {
		struct store_txn *t;
		json_t *u = NULL, *list = NULL;

		if ((t = store_read_begin(c->store)) == NULL)
			return store_failure("read", STORE_IO);
		rc = user_by_name(t, x.u.name, &u);
		if (rc == STORE_OK)
			list = webauthn_cred_list(t, json_string_value(json_object_get(u, "id")));
		store_read_end(t);
		if (rc == STORE_NOTFOUND) {
			refuse("no such user", x.u.name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK || list == NULL) {
			json_decref(u);
			return store_failure("webauthn list", rc != STORE_OK ? rc : STORE_IO);
		}
		rc = wa_list_print(json_string_value(json_object_get(u, "username")), list) == 0 ? 0 :
		    EXIT_REFUSED;
		json_decref(list);
		json_decref(u);
		return rc;
	}
}

static int
cmd_webauthn(struct ctl *c, int argc, char **argv)
{
	int rc = wa_cmd(c, argc, argv);

	webauthn_fini();
	return rc;
}

/* ---------------------------------------------------------------- main */

struct command {
	const char *name;
	int (*run)(struct ctl *, int, char **);
	const char *usage;
};

static const struct command commands[] = {
	{ "init", cmd_init, usage_init },
	{ "user", cmd_user, usage_user },
	{ "client", cmd_client, usage_client },
	{ "totp", cmd_totp, usage_totp },
	{ "webauthn", cmd_webauthn, usage_webauthn },
	{ "x509", cmd_x509, usage_x509 },
	{ "key", cmd_key, usage_key },
	{ "audit", cmd_audit, usage_audit },
	{ NULL, NULL, NULL },
};

static void
who_am_i(struct ctl *c)
{
	struct passwd *pw;
	uid_t uid = getuid();

	c->uid = (long)uid;
	if ((pw = getpwuid(uid)) != NULL && strlen(pw->pw_name) < sizeof(c->unix_user))
		snprintf(c->unix_user, sizeof(c->unix_user), "%s", pw->pw_name);
	else
		snprintf(c->unix_user, sizeof(c->unix_user), "uid:%ld", c->uid);
}

int
main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const struct command *cmd;
	const char *v;
	int i, j, m, rc;

	c.config_path = getenv("AUTHD_CONFIG");
	if (c.config_path == NULL || c.config_path[0] == '\0')
		c.config_path = DEFAULT_CONFIG;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_main, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("authctl %s\n", AUTHD_VERSION);
			return 0;
		}
		if ((m = opt_arg(argc, argv, &i, "-c", &v)) != 0 ||
		    (m = opt_arg(argc, argv, &i, "--config", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			c.config_path = v;
			continue;
		}
		usage_error(usage_main, "unknown option '%s'", argv[i]);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		usage_error(usage_main, "a command is needed");
		return EXIT_USAGE;
	}
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[i]) == 0)
			break;
	if (cmd->name == NULL) {
		usage_error(usage_main, "unknown command '%s'", argv[i]);
		return EXIT_USAGE;
	}
	for (j = i + 1; j < argc; j++) {
		if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
			fputs(cmd->usage, stdout);
			return 0;
		}
	}
	who_am_i(&c);
	c.lang = message_lang();
	/* Files authctl creates (store, secrets) are for the service account only. */
	umask(077);
	if (ctl_load_conf(&c) != 0) {
		ctl_close(&c);
		return EXIT_REFUSED;
	}
	rc = cmd->run(&c, argc - i - 1, argv + i + 1);
	password_fini();
	totp_fini();
	ctl_close(&c);
	return rc;
}

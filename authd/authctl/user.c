/* authd/authctl/user.c — authctl user add|list|show|disable|enable|passwd|second-factor|
 * groups: accounts, their password (read from stdin, never an argument) and
 * their groups (the claim pam_authd's hosts check). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../../lib/util.h"
#include "../../modules/password.h"
#include "../users.h"
#include "authctl.h"

const char usage_user[] =
    "usage: authctl [-c FILE] user add NAME [--email E] [--display-name N] [--group G ...]\n"
    "                                 --password-stdin | --no-password\n"
    "       authctl [-c FILE] user list\n"
    "       authctl [-c FILE] user show NAME\n"
    "       authctl [-c FILE] user disable NAME\n"
    "       authctl [-c FILE] user enable NAME\n"
    "       authctl [-c FILE] user passwd NAME --password-stdin\n"
    "       authctl [-c FILE] user groups NAME [G ...]\n"
    "       authctl [-c FILE] user second-factor NAME on|off\n"
    "  --password-stdin reads one line (at most 4096 bytes) from standard input;\n"
    "  on a terminal it prompts without echo.\n"
    "  --no-password makes an account with no password (a card-only citizen:\n"
    "  link the card next with authctl x509 bind NAME CERT).\n"
    "  --group (repeatable) and user groups set the \"groups\" claim that hosts\n"
    "  running pam_authd check (group=...): at most 64 distinct names of 1-64\n"
    "  characters A-Z a-z 0-9 . _ -. user groups NAME with no G clears the list.\n"
    "  user second-factor sets the person's \"ask my second factor at every\n"
    "  sign-in\" (on by default; the person sees the change on /account).\n";

/* Reads one line from stdin into buf (PASSWORD_MAX_BYTES + 2 bytes) without
 * stdio, so no copy is left in a FILE buffer. On a terminal, prompts on stderr
 * with echo off. 0 ok, -1 refused (message printed). */
static int
read_password(struct admin_ctx *c, char *buf, size_t cap, const char *prompt)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restored = 1;
	size_t len = 0;
	int rc = 0;

	if (tty) {
		fputs(prompt, c->err);
		fflush(c->err);
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
			admin_refuse(c, "password refused", "longer than 4096 bytes");
			break;
		}
		n = read(STDIN_FILENO, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -1;
			admin_refuse(c, "cannot read the password", strerror(errno));
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
		admin_refuse(c, "password refused", "empty (give it on standard input)");
		rc = -1;
	}
	if (rc == 0 && len > PASSWORD_MAX_BYTES) {
		admin_refuse(c, "password refused", "longer than 4096 bytes");
		rc = -1;
	}
	if (rc != 0)
		wipe(buf, cap);
	return rc;
}

/* Reads the password and applies the rules before the store is touched. */
static int
password_from_stdin(struct admin_ctx *c, const char *username, char *pw, size_t cap)
{
	enum pw_rule r;

	if (password_init(&c->conf) != 0) {
		admin_refuse(
		    c, "cannot load the password rules (see [password] breached_list)", NULL);
		return EXIT_REFUSED;
	}
	if (read_password(c, pw, cap, "Password: ") != 0)
		return EXIT_REFUSED;
	if ((r = password_check_rules(pw, username)) != PW_OK) {
		admin_refuse(c, "password refused", password_rule_message(r, c->lang));
		wipe(pw, cap);
		return EXIT_REFUSED;
	}
	return 0;
}

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
	const struct admin_ctx *c;
	const char *name, *email, *display_name;
	const char *pw;
	json_t *groups;        /* user add --group, user groups: the new list (NULL: none given) */
	int enable;            /* user enable/disable, second-factor: the wanted state */
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
	if (x->pw != NULL && (rc = password_set(t, x->id, x->name, x->pw)) != 0) {
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
	f = json_pack("{s:s, s:s, s:o, s:b}", "user", x->id, "username", x->name, "groups",
	    x->groups != NULL ? json_incref(x->groups) : json_array(), "password", x->pw != NULL);
	rc = f != NULL ? admin_audit(x->c, t, "admin.user.add", f) : STORE_IO;
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
		rc = f != NULL ? admin_audit(x->c, t, "admin.user.groups", f) : STORE_IO;
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
	rc = f != NULL ? admin_audit(x->c, t, "admin.user.passwd", f) : STORE_IO;
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
		rc = f != NULL ? admin_audit(x->c, t,
		                     x->enable ? "admin.user.enable" : "admin.user.disable", f)
		               : STORE_IO;
		json_decref(f);
	}
	json_decref(u);
	return rc;
}

/* user second-factor: the preference, audited and shown to the person as the
 * help desk's change. */
static int
user_second_cb(struct store_txn *t, void *arg)
{
	struct user_ctx *x = arg;
	json_t *u = NULL, *f;
	const char *id;
	int rc;

	if ((rc = user_by_name(t, x->name, &u)) != STORE_OK)
		return rc;
	x->changed = user_asks_second_factor(u) != x->enable;
	id = json_string_value(json_object_get(u, "id"));
	if (!x->changed || id == NULL) {
		json_decref(u);
		return id == NULL ? STORE_IO : STORE_OK;
	}
	if (x->enable)
		json_object_del(u, "ask_second_factor");
	else if (json_object_set_new(u, "ask_second_factor", json_false()) != 0) {
		json_decref(u);
		return STORE_IO;
	}
	if ((rc = user_update(t, u)) == STORE_OK) {
		f = json_pack(
		    "{s:s, s:O?}", "user", id, "username", json_object_get(u, "username"));
		rc = f != NULL ? admin_audit(x->c, t,
		                     x->enable ? "admin.user.ask_on" : "admin.user.ask_off", f)
		               : STORE_IO;
		json_decref(f);
		if (rc == STORE_OK)
			rc =
			    admin_secevent(t, id, "signin", x->enable ? "ask_on" : "ask_off", NULL);
	}
	json_decref(u);
	return rc;
}

static int
user_list_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct admin_ctx *c = ctx;
	json_t *p = user_public(value);
	int rc = p != NULL ? admin_print_json(c, p) : -1;

	json_decref(p);
	return rc;
}

static int
user_read_cmd(struct admin_ctx *c, const char *verb, const char *name)
{
	struct store_txn *t;
	json_t *u = NULL, *p;
	int rc;

	if ((t = store_read_begin(c->store)) == NULL)
		return admin_store_failure(c, "read", STORE_IO);
	if (strcmp(verb, "list") == 0) {
		rc = store_iter(t, T_USERS, NULL, 0, user_list_cb, c);
		store_read_end(t);
		return rc == 0 ? 0 : admin_store_failure(c, "user list", STORE_IO);
	}
	rc = user_by_name(t, name, &u);
	store_read_end(t);
	if (rc == STORE_NOTFOUND) {
		admin_refuse(c, "no such user", name);
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return admin_store_failure(c, "user show", rc);
	p = user_public(u);
	rc = p != NULL ? admin_print_json(c, p) : -1;
	json_decref(p);
	json_decref(u);
	return rc == 0 ? 0 : EXIT_REFUSED;
}

static int
user_cmd(struct admin_ctx *c, int argc, char **argv, struct user_ctx *xp)
{
	struct user_ctx x = *xp;
	char pw[PASSWORD_MAX_BYTES + 2];
	char norm[USERNAME_MAX + 1];
	const char *verb, *name = NULL, *g, *onoff = NULL;
	int i, want_pw = 0, no_pw = 0, rc, m;

	if (argc < 1) {
		admin_usage_error(c, usage_user, "user: which action?");
		return EXIT_USAGE;
	}
	verb = argv[0];
	if (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 &&
	    strcmp(verb, "disable") != 0 && strcmp(verb, "enable") != 0 &&
	    strcmp(verb, "passwd") != 0 && strcmp(verb, "groups") != 0 &&
	    strcmp(verb, "second-factor") != 0) {
		admin_usage_error(c, usage_user, "user: unknown action '%s'", verb);
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(verb, "add") == 0 &&
		    ((m = admin_opt_arg(c, argc, argv, &i, "--email", &x.email)) != 0 ||
		        (m = admin_opt_arg(c, argc, argv, &i, "--display-name", &x.display_name)) !=
		            0)) {
			if (m < 0)
				return EXIT_USAGE;
		} else if (strcmp(verb, "add") == 0 &&
		    (m = admin_opt_arg(c, argc, argv, &i, "--group", &g)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			if (user_group_append(&xp->groups, g) != 0) {
				admin_refuse(c, "invalid --group", NULL);
				return EXIT_REFUSED;
			}
		} else if ((strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) &&
		    strcmp(argv[i], "--password-stdin") == 0) {
			want_pw = 1;
		} else if (strcmp(verb, "add") == 0 && strcmp(argv[i], "--no-password") == 0) {
			no_pw = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			admin_usage_error(c, usage_user, "user: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (name == NULL) {
			name = argv[i];
		} else if (strcmp(verb, "second-factor") == 0 && onoff == NULL) {
			onoff = argv[i];
		} else if (strcmp(verb, "groups") == 0) {
			if (user_group_append(&xp->groups, argv[i]) != 0) {
				admin_refuse(c, "invalid group name", NULL);
				return EXIT_REFUSED;
			}
		} else {
			admin_usage_error(c, usage_user, "user: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if ((strcmp(verb, "list") == 0) != (name == NULL)) {
		if (strcmp(verb, "list") == 0)
			admin_usage_error(c, usage_user, "user list takes no NAME");
		else
			admin_usage_error(c, usage_user, "user %s needs a NAME", verb);
		return EXIT_USAGE;
	}
	if (want_pw && no_pw) {
		admin_usage_error(
		    c, usage_user, "user add: --password-stdin or --no-password, not both");
		return EXIT_USAGE;
	}
	if (strcmp(verb, "add") == 0 && !want_pw && !no_pw) {
		admin_usage_error(
		    c, usage_user, "user add needs --password-stdin or --no-password");
		return EXIT_USAGE;
	}
	if (strcmp(verb, "second-factor") == 0 &&
	    (onoff == NULL || (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0))) {
		admin_usage_error(c, usage_user, "user second-factor NAME needs on or off");
		return EXIT_USAGE;
	}
	if (strcmp(verb, "passwd") == 0 && !want_pw) {
		admin_usage_error(c, usage_user, "user %s needs --password-stdin", verb);
		return EXIT_USAGE;
	}
	if (name != NULL && !username_normalise(name, norm)) {
		admin_refuse(c, "invalid username (1-64 of A-Z a-z 0-9 . _ @ -)", name);
		return EXIT_REFUSED;
	}
	if ((x.email != NULL &&
	        (!admin_text_ok(x.email) || strchr(x.email, '@') == NULL ||
	            strlen(x.email) > 254)) ||
	    (x.display_name != NULL && !admin_text_ok(x.display_name))) {
		admin_refuse(c, "invalid --email or --display-name", NULL);
		return EXIT_REFUSED;
	}
	/* "user groups NAME" alone clears the list. */
	if (strcmp(verb, "groups") == 0 && xp->groups == NULL && (xp->groups = json_array()) == NULL)
		return EXIT_REFUSED;
	if (xp->groups != NULL && !user_groups_ok(xp->groups)) {
		admin_refuse(c,
		    "invalid groups (at most 64 distinct names of 1-64 of A-Z a-z 0-9 . _ -)",
		    NULL);
		return EXIT_REFUSED;
	}
	x.groups = xp->groups;
	x.name = name;
	if (admin_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0)
		return user_read_cmd(c, verb, name);

	if (strcmp(verb, "groups") == 0) {
		rc = store_write_sync(c->store, user_groups_cb, &x);
		if (rc == STORE_NOTFOUND) {
			admin_refuse(c, "no such user", name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return admin_store_failure(c, verb, rc);
		fprintf(
		    c->err, "authctl: groups of %s set (%zu)\n", name, json_array_size(x.groups));
		return 0;
	}

	if (strcmp(verb, "second-factor") == 0) {
		x.enable = strcmp(onoff, "on") == 0;
		rc = store_write_sync(c->store, user_second_cb, &x);
		if (rc == STORE_NOTFOUND) {
			admin_refuse(c, "no such user", name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return admin_store_failure(c, verb, rc);
		fprintf(c->err, "authctl: %s: second factor at every sign-in %s%s\n", name,
		    x.changed ? "" : "was already ", x.enable ? "on" : "off");
		return 0;
	}

	if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
		x.enable = strcmp(verb, "enable") == 0;
		rc = store_write_sync(c->store, user_enable_cb, &x);
		if (rc == STORE_NOTFOUND) {
			admin_refuse(c, "no such user", name);
			return EXIT_REFUSED;
		}
		if (rc != STORE_OK)
			return admin_store_failure(c, verb, rc);
		fprintf(c->err, "authctl: user %s %s%s\n", name, x.changed ? "" : "was already ",
		    x.enable ? "enabled" : "disabled");
		return 0;
	}

	if (no_pw) {
		x.pw = NULL; /* a card-only account: no password to sign in with */
	} else {
		if ((rc = password_from_stdin(c, name, pw, sizeof(pw))) != 0)
			return rc;
		x.pw = pw;
	}
	rc = store_write_sync(c->store, strcmp(verb, "add") == 0 ? user_add_cb : user_passwd_cb, &x);
	wipe(pw, sizeof(pw));
	if (rc == STORE_EXISTS) {
		admin_refuse(c, "user exists", name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_NOTFOUND) {
		admin_refuse(c, "no such user", name);
		return EXIT_REFUSED;
	}
	if (rc == STORE_CONFLICT && x.pw_rule > 0) {
		admin_refuse(
		    c, "password refused", password_rule_message((enum pw_rule)x.pw_rule, c->lang));
		return EXIT_REFUSED;
	}
	if (rc != STORE_OK)
		return admin_store_failure(c, verb, rc);
	if (strcmp(verb, "add") == 0) {
		json_t *out = json_pack("{s:s, s:s}", "id", x.id, "username", name);
		if (out != NULL)
			admin_print_json(c, out);
		json_decref(out);
		fprintf(c->err, "authctl: user %s added\n", name);
	} else {
		fprintf(c->err, "authctl: password of %s changed\n", name);
	}
	return 0;
}

int
cmd_user(struct admin_ctx *c, int argc, char **argv)
{
	struct user_ctx x = { .c = c };
	int rc;

	rc = user_cmd(c, argc, argv, &x);
	json_decref(x.groups);
	return rc;
}

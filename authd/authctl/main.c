/* authd/authctl/main.c — the admin command line: global options, the table of
 * nouns and the dispatch to them. authctl's own nouns are init, user, client,
 * key, audit and store (one file each); every other noun is an admin table a method
 * declares (struct method_admin in modules/method.h: totp, webauthn, x509, ...),
 * found by iterating the methods, so nothing here names a method.
 *
 * authctl opens the daemon's store without a writer thread and makes each change
 * in one durable transaction of its own (store_write_sync); LMDB serialises it
 * against a running authd, which sees the change on its next read (keys through
 * keys_refresh). Every change appends its audit record in the same transaction.
 *
 * Exit codes: 0 success, 1 refused or failed, 2 usage error. Messages go to
 * stderr, data (JSON lines, the one-time client secret) to stdout. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../modules/method.h"
#include "../authd.h"
#include "authctl.h"

#define DEFAULT_CONFIG "/etc/authd/authd.conf"
#define NOUNS_MAX      32

/* authctl --help: the methods' nouns go between client and key, in the order
 * of their names. */
static const char usage_head[] =
    "usage: authctl [-c FILE] COMMAND [ARGS]\n"
    "       authctl --help | --version\n"
    "\n"
    "  -c, --config FILE   authd's configuration (default " DEFAULT_CONFIG ", or $AUTHD_CONFIG)\n"
    "\n"
    "commands:\n"
    "  init                       create the store, signing key ring and server secret\n"
    "  user add|list|show|disable|enable|passwd|groups\n"
    "  client add|update|list|show|remove|import\n";
static const char usage_tail[] =
    "  key rotate|list\n"
    "  audit verify|show\n"
    "  store migrate              bring a PostgreSQL store's schema to this version\n"
    "\n"
    "authctl COMMAND --help shows a command's options. Exit status: 0 success,\n"
    "1 refused or failed, 2 usage error.\n";

/* A noun: one of authctl's own (run) or one a method declares (admin). */
struct noun {
	const char *name;
	int (*run)(struct admin_ctx *, int, char **);
	const char *usage;
	const struct method_admin *admin;
};

static const struct noun own_nouns[] = {
	{ "init", cmd_init, usage_init, NULL },
	{ "user", cmd_user, usage_user, NULL },
	{ "client", cmd_client, usage_client, NULL },
	{ "key", cmd_key, usage_key, NULL },
	{ "audit", cmd_audit, usage_audit, NULL },
	{ "store", cmd_store, usage_store, NULL },
};

static struct noun nouns[NOUNS_MAX];
static size_t n_nouns;
static char *usage_main;

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct noun *)a)->name, ((const struct noun *)b)->name);
}

/* The nouns (own, then the methods' in name order) and authctl --help's text.
 * 0, or -1 when out of memory or the table is too small. */
static int
nouns_build(void)
{
	size_t i, first, len;
	char *p;

	for (i = 0; i < sizeof(own_nouns) / sizeof(own_nouns[0]); i++)
		nouns[n_nouns++] = own_nouns[i];
	first = n_nouns;
	for (i = 0; authd_methods[i] != NULL; i++) {
		const struct method_admin *ma = authd_methods[i]->admin;

		if (ma == NULL || ma->noun == NULL)
			continue;
		if (n_nouns == NOUNS_MAX)
			return -1;
		nouns[n_nouns++] = (struct noun){ ma->noun, NULL, ma->usage, ma };
	}
	qsort(nouns + first, n_nouns - first, sizeof(nouns[0]), by_name);
	len = sizeof(usage_head) + sizeof(usage_tail);
	for (i = first; i < n_nouns; i++)
		len += strlen(nouns[i].admin->summary) + 3;
	if ((usage_main = malloc(len)) == NULL)
		return -1;
	p = stpcpy(usage_main, usage_head);
	for (i = first; i < n_nouns; i++) {
		p = stpcpy(p, "  ");
		p = stpcpy(p, nouns[i].admin->summary);
		p = stpcpy(p, "\n");
	}
	stpcpy(p, usage_tail);
	return 0;
}

/* authctl NOUN VERB ... for a method's noun. */
static int
run_method_noun(struct admin_ctx *c, const struct method_admin *ma, int argc, char **argv)
{
	const struct method_admin_cmd *cmd;

	if (argc < 1) {
		admin_usage_error(c, ma->usage, "%s: which action?", ma->noun);
		return EXIT_USAGE;
	}
	for (cmd = ma->cmds; cmd != NULL && cmd->verb != NULL; cmd++)
		if (strcmp(cmd->verb, argv[0]) == 0)
			return cmd->run(c, argc, argv);
	admin_usage_error(c, ma->usage, "%s: unknown action '%s'", ma->noun, argv[0]);
	return EXIT_USAGE;
}

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
ctl_load_conf(struct admin_ctx *c)
{
	char err[512] = "";

	if (conf_load(&c->conf, c->config_path, err, sizeof(err)) != 0) {
		fprintf(c->err, "authctl: %s: %s\n", c->config_path, err[0] ? err : "cannot load");
		return -1;
	}
	c->conf_loaded = 1;
	if ((c->store_dir = conf_path(&c->conf, c->conf.store_path)) == NULL) {
		admin_refuse(c, "out of memory", NULL);
		return -1;
	}
	return 0;
}

static void
who_am_i(struct admin_ctx *c)
{
	struct passwd *pw;
	uid_t uid = getuid();

	c->uid = (long)uid;
	if ((pw = getpwuid(uid)) != NULL && strlen(pw->pw_name) < sizeof(c->unix_user))
		snprintf(c->unix_user, sizeof(c->unix_user), "%s", pw->pw_name);
	else
		snprintf(c->unix_user, sizeof(c->unix_user), "uid:%ld", c->uid);
}

static int
ctl_main(struct admin_ctx *c, int argc, char **argv)
{
	const struct noun *cmd = NULL;
	const char *v;
	size_t k;
	int i, j, m, rc;

	c->config_path = getenv("AUTHD_CONFIG");
	if (c->config_path == NULL || c->config_path[0] == '\0')
		c->config_path = DEFAULT_CONFIG;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_main, c->out);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			fprintf(c->out, "authctl %s\n", AUTHD_VERSION);
			return 0;
		}
		if ((m = admin_opt_arg(c, argc, argv, &i, "-c", &v)) != 0 ||
		    (m = admin_opt_arg(c, argc, argv, &i, "--config", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			c->config_path = v;
			continue;
		}
		admin_usage_error(c, usage_main, "unknown option '%s'", argv[i]);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		admin_usage_error(c, usage_main, "a command is needed");
		return EXIT_USAGE;
	}
	for (k = 0; k < n_nouns && cmd == NULL; k++)
		if (strcmp(nouns[k].name, argv[i]) == 0)
			cmd = &nouns[k];
	if (cmd == NULL) {
		admin_usage_error(c, usage_main, "unknown command '%s'", argv[i]);
		return EXIT_USAGE;
	}
	for (j = i + 1; j < argc; j++) {
		if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
			fputs(cmd->usage, c->out);
			return 0;
		}
	}
	who_am_i(c);
	c->lang = message_lang();
	/* Files authctl creates (store, secrets) are for the service account only. */
	umask(077);
	if (ctl_load_conf(c) != 0)
		return EXIT_REFUSED;
	if (cmd->admin != NULL)
		rc = run_method_noun(c, cmd->admin, argc - i - 1, argv + i + 1);
	else
		rc = cmd->run(c, argc - i - 1, argv + i + 1);
	return rc;
}

int
main(int argc, char **argv)
{
	struct admin_ctx c = { 0 };
	size_t k;
	int rc;

	c.out = stdout;
	c.err = stderr;
	if (nouns_build() != 0) {
		admin_refuse(&c, "out of memory", NULL);
		return EXIT_REFUSED;
	}
	rc = ctl_main(&c, argc, argv);
	/* Whatever a command set up for a method (the password rules, the TOTP
	 * key, a trust store) is released by the method's fini. */
	for (k = 0; authd_methods[k] != NULL; k++)
		if (authd_methods[k]->fini != NULL)
			authd_methods[k]->fini();
	admin_close(&c);
	free(usage_main);
	return rc;
}

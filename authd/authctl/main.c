/* authd/authctl/main.c — the admin command line: global options, the table of
 * nouns (one file each) and the dispatch to them.
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

#include "../../modules/password.h"
#include "../../modules/totp.h"
#include "../authd.h"
#include "authctl.h"

#define DEFAULT_CONFIG "/etc/authd/authd.conf"

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

struct command {
	const char *name;
	int (*run)(struct admin_ctx *, int, char **);
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

int
main(int argc, char **argv)
{
	struct admin_ctx c = { .out = stdout, .err = stderr };
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
		if ((m = admin_opt_arg(&c, argc, argv, &i, "-c", &v)) != 0 ||
		    (m = admin_opt_arg(&c, argc, argv, &i, "--config", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			c.config_path = v;
			continue;
		}
		admin_usage_error(&c, usage_main, "unknown option '%s'", argv[i]);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		admin_usage_error(&c, usage_main, "a command is needed");
		return EXIT_USAGE;
	}
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[i]) == 0)
			break;
	if (cmd->name == NULL) {
		admin_usage_error(&c, usage_main, "unknown command '%s'", argv[i]);
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
		admin_close(&c);
		return EXIT_REFUSED;
	}
	rc = cmd->run(&c, argc - i - 1, argv + i + 1);
	password_fini();
	totp_fini();
	admin_close(&c);
	return rc;
}

/* authd/authctl/authctl.h — the admin command line's own nouns, one file each
 * (init.c, user.c, client.c, key.c, audit.c, store.c), and main.c's dispatch. The
 * methods add their nouns (totp, webauthn, x509, ...) through struct
 * method_admin (admin.h), so nothing here names a method. What every command
 * shares — messages, option parsing and validation, the store, the person named
 * on the command line, the audit record — is authd/admin.c.
 *
 * Exit codes: 0 success, 1 refused or failed, 2 usage error. Messages go to
 * stderr, data (JSON lines, the one-time client secret) to stdout. */
#ifndef AUTHD_AUTHCTL_AUTHCTL_H
#define AUTHD_AUTHCTL_AUTHCTL_H

#include "../admin.h"

#define EXIT_REFUSED ADMIN_EXIT_REFUSED
#define EXIT_USAGE   ADMIN_EXIT_USAGE

/* Each noun: its usage (authctl NOUN --help) and its command; argv[0] is the
 * first word after the noun. Returns the exit status. */
extern const char usage_init[], usage_user[], usage_client[], usage_key[], usage_audit[],
    usage_store[];
int cmd_init(struct admin_ctx *c, int argc, char **argv);
int cmd_user(struct admin_ctx *c, int argc, char **argv);
int cmd_client(struct admin_ctx *c, int argc, char **argv);
int cmd_key(struct admin_ctx *c, int argc, char **argv);
int cmd_audit(struct admin_ctx *c, int argc, char **argv);
int cmd_store(struct admin_ctx *c, int argc, char **argv);

#endif

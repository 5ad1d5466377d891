/* authd/admin.h — what an administrative command needs, whoever declares it:
 * authctl's own nouns (authd/authctl/) and the admin commands the methods
 * declare (struct method_admin, modules/NAME_admin.c), and any future admin API.
 *
 * An admin command runs in its own process (authctl), opens the daemon's store
 * without a writer thread and makes each change in one durable transaction of
 * its own (store_write_sync), with its audit record "admin.<noun>.<verb>" (or
 * the method's own event) in the same transaction. LMDB serialises it against a
 * running authd, which sees the change on its next read.
 *
 * Conventions every command keeps (docs/authctl.md): exit status 0 success,
 * ADMIN_EXIT_REFUSED (1) refused or failed, ADMIN_EXIT_USAGE (2) usage error;
 * messages to ctx->err as "authctl: WHAT[: DETAIL]", data (JSON lines, one-time
 * secrets) to ctx->out. */
#ifndef AUTHD_ADMIN_H
#define AUTHD_ADMIN_H

#include <jansson.h>
#include <stdio.h>

#include "config.h"
#include "status.h"
#include "store.h"
#include "users.h"

#define ADMIN_EXIT_REFUSED 1
#define ADMIN_EXIT_USAGE   2
/* Operator text that ends up in records and pages is at most this long. */
#define ADMIN_FIELD_MAX 512

/* The context of one admin command. authctl fills it before the command runs
 * (config loaded, who is acting); the command opens the store when it needs it
 * (admin_open_store) so usage errors never touch it. */
struct admin_ctx {
	const char *config_path;
	struct conf conf; /* loaded */
	int conf_loaded;
	char *store_dir;     /* owned */
	struct store *store; /* NULL until admin_open_store */
	char unix_user[64];  /* who acts, for the audit record */
	long uid;
	const char *lang; /* "zh-TW" or "en", for messages shared with pages */
	FILE *out, *err;  /* data; messages */
};

/* One admin command declared by a method: authctl NOUN VERB ARGS... (authctl
 * has no per-method code). A method lists its commands in a table ended by an
 * entry with a NULL verb (modules/method.h: struct authd_method.admin). */
struct method_admin_cmd {
	const char *verb; /* "reset" */
	/* Runs the command: argv[0] is the verb, argv[1..argc-1] its arguments
	 * (--help is answered before). Returns the exit status. */
	int (*run)(struct admin_ctx *ctx, int argc, char **argv);
};
struct method_admin {
	const char *noun;    /* "totp" */
	const char *summary; /* its line in authctl --help, after two spaces */
	const char *usage;   /* authctl NOUN --help, and after a usage error */
	const struct method_admin_cmd *cmds;
	/* The method's part of authctl init (e.g. a key file beside the config),
	 * after the store is initialised; its exit status. NULL: none. */
	int (*init)(struct admin_ctx *ctx);
};
/* authctl calls every method's fini (method.h) before it exits, whatever ran:
 * what a command set up (a trust store, the TOTP key) is released there. */

/* ---- messages ------------------------------------------------------------ */

/* "authctl: <fmt>\n" then the usage text, on ctx->err. */
void admin_usage_error(struct admin_ctx *ctx, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "authctl: what: detail\n" (or "authctl: what\n" when detail is NULL). */
void admin_refuse(struct admin_ctx *ctx, const char *what, const char *detail);
/* Prints the refusal for a store result ("authctl: what: <store_strerror>");
 * what NULL: "store", or "not found" for ST_NOTFOUND. Returns ADMIN_EXIT_REFUSED. */
int admin_store_failure(struct admin_ctx *ctx, const char *what, int rc);
/* One compact JSON line on ctx->out. 0, or -1 when v cannot be written. */
int admin_print_json(struct admin_ctx *ctx, const json_t *v);

/* ---- arguments ----------------------------------------------------------- */

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past the
 * value. 1 matched (*val borrowed from argv), 0 another argument, -1 value
 * missing (message printed: a usage error). */
int admin_opt_arg(
    struct admin_ctx *ctx, int argc, char **argv, int *i, const char *name, const char **val);
/* Operator text that ends up in records and pages: 1..ADMIN_FIELD_MAX bytes of
 * valid UTF-8 without control characters. 1 when s is such text. */
int admin_text_ok(const char *s);
/* 1 when name is a valid username; otherwise refuses it ("invalid username
 * (1-64 of A-Z a-z 0-9 . _ @ -)") and returns 0. */
int admin_username_ok(struct admin_ctx *ctx, const char *name);

/* ---- the store ----------------------------------------------------------- */

/* Opens ctx->store without a writer thread. create 0: the store must exist
 * already (a typo in the config must not create an empty store elsewhere).
 * 0, or -1 with the message printed. */
int admin_open_store(struct admin_ctx *ctx, int create);
/* Closes the store and frees the config. */
void admin_close(struct admin_ctx *ctx);

/* A person named on the command line, looked up inside the caller's
 * transaction (decide from what this transaction sees: LMDB serialises authctl
 * against authd). */
struct admin_user {
	const char *name; /* as given (borrowed) */
	char id[USER_ID_LEN + 1];
	char username[USERNAME_MAX + 1]; /* as stored */
	int no_user;                     /* the lookup found nobody (vs. failed) */
};
/* ST_OK with u->id and u->username; ST_NOTFOUND with u->no_user set; ST_CORRUPT
 * for a record without a usable id or name; other store results as they are. */
int admin_user_lookup(struct store_txn *t, struct admin_user *u);

/* Appends the audit record event with who acted (actor "authctl", unix_user,
 * uid) added to fields (borrowed; NULL: none). Write txn. ST_OK or why not. */
int admin_audit(
    const struct admin_ctx *ctx, struct store_txn *t, const char *event, const json_t *fields);
/* The person's security event for a change the help desk made to how they sign
 * in (shown on /account like their own changes). label may be NULL. Write txn. */
int admin_secevent(struct store_txn *t, const char *user_id, const char *method, const char *action,
    const char *label);

#endif

/* tests/unit/test_admin.c — what every admin command shares (authd/admin.c) and
 * the admin commands the methods declare (struct method_admin): the tables are
 * well formed and never take a noun of authctl's own; option parsing, operator
 * text and usernames are checked in one place; the store opens only where it
 * exists (unless init creates it); the person named is looked up in the
 * caller's transaction; the audit record names who acted; and a method's
 * command runs through its table with the context's store, config and output
 * streams (what authctl prints, byte for byte). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../authd/admin.h"
#include "../../modules/method.h"
#include "fixture.h"

struct fx {
	char dir[FX_DIR_MAX];
	struct admin_ctx ctx;
	char *out, *err;
	size_t outn, errn;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[FX_DIR_MAX + 32], text[256], err[256];

	if (f == NULL || fx_tmpdir(f->dir, "admin") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/authd.conf", f->dir);
	snprintf(text, sizeof(text),
	    "[server]\nissuer = https://127.0.0.1:1\n[store]\n"
	    "path = %s/data\nnosync = 1\n",
	    f->dir);
	if (fx_conf_load(&f->ctx.conf, path, text, err, sizeof(err)) != 0)
		return -1;
	f->ctx.conf_loaded = 1;
	f->ctx.config_path = "/etc/authd/test.conf";
	f->ctx.store_dir = conf_path(&f->ctx.conf, f->ctx.conf.store_path);
	snprintf(f->ctx.unix_user, sizeof(f->ctx.unix_user), "helpdesk");
	f->ctx.uid = 1234;
	f->ctx.lang = "en";
	f->ctx.out = open_memstream(&f->out, &f->outn);
	f->ctx.err = open_memstream(&f->err, &f->errn);
	if (f->ctx.store_dir == NULL || f->ctx.out == NULL || f->ctx.err == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; authd_methods[i] != NULL; i++)
		if (authd_methods[i]->fini != NULL)
			authd_methods[i]->fini();
	admin_close(&f->ctx);
	fclose(f->ctx.out);
	fclose(f->ctx.err);
	free(f->out);
	free(f->err);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

/* What the command printed since the last call (the streams start anew). */
static void
take(struct fx *f, char **out, char **err)
{
	fclose(f->ctx.out);
	fclose(f->ctx.err);
	*out = f->out;
	*err = f->err;
	f->out = f->err = NULL;
	f->ctx.out = open_memstream(&f->out, &f->outn);
	f->ctx.err = open_memstream(&f->err, &f->errn);
	assert_non_null(f->ctx.out);
	assert_non_null(f->ctx.err);
}

static void
expect(struct fx *f, const char *want_out, const char *want_err)
{
	char *out, *err;

	take(f, &out, &err);
	if (want_out != NULL)
		assert_string_equal(out, want_out);
	if (want_err != NULL)
		assert_string_equal(err, want_err);
	free(out);
	free(err);
}

static const struct method_admin *
admin_of(const char *noun)
{
	size_t i;

	for (i = 0; authd_methods[i] != NULL; i++)
		if (authd_methods[i]->admin != NULL &&
		    strcmp(authd_methods[i]->admin->noun, noun) == 0)
			return authd_methods[i]->admin;
	return NULL;
}

/* Runs NOUN VERB ARGS through the method's table, as authctl does. */
static int
run(struct fx *f, const char *noun, int argc, char **argv)
{
	const struct method_admin *ma = admin_of(noun);
	const struct method_admin_cmd *c;

	assert_non_null(ma);
	for (c = ma->cmds; c->verb != NULL; c++)
		if (strcmp(c->verb, argv[0]) == 0)
			return c->run(&f->ctx, argc, argv);
	fail_msg("no verb %s %s", noun, argv[0]);
	return -1;
}

static void
test_method_tables(void **state)
{
	static const char *const own[] = { "init", "user", "client", "key", "audit", NULL };
	size_t i, j, k, n = 0;

	(void)state;
	for (i = 0; authd_methods[i] != NULL; i++) {
		const struct method_admin *ma = authd_methods[i]->admin;
		char prefix[64];
		const char *p;

		if (ma == NULL)
			continue;
		n++;
		assert_non_null(ma->noun);
		for (k = 0; own[k] != NULL; k++)
			assert_string_not_equal(ma->noun, own[k]);
		for (j = 0; j < i; j++)
			if (authd_methods[j]->admin != NULL)
				assert_string_not_equal(ma->noun, authd_methods[j]->admin->noun);
		/* authctl --help's line starts with the noun and lists the verbs. */
		assert_int_equal(strncmp(ma->summary, ma->noun, strlen(ma->noun)), 0);
		snprintf(prefix, sizeof(prefix), "usage: authctl [-c FILE] %s ", ma->noun);
		assert_int_equal(strncmp(ma->usage, prefix, strlen(prefix)), 0);
		assert_non_null(ma->cmds);
		assert_non_null(ma->cmds[0].verb);
		p = ma->summary + strlen(ma->noun) + 1;
		for (j = 0; ma->cmds[j].verb != NULL; j++) {
			size_t vl = strlen(ma->cmds[j].verb);

			assert_non_null(ma->cmds[j].run);
			for (k = 0; k < j; k++)
				assert_string_not_equal(ma->cmds[j].verb, ma->cmds[k].verb);
			assert_int_equal(strncmp(p, ma->cmds[j].verb, vl), 0);
			p += vl;
			assert_true(*p == '|' || *p == ' ');
			p++;
		}
	}
	assert_int_equal(n, 3); /* totp, webauthn, x509 */
	assert_non_null(admin_of("totp"));
	assert_non_null(admin_of("webauthn"));
	assert_non_null(admin_of("x509"));
}

static void
test_options_and_text(void **state)
{
	struct fx *f = *state;
	char *argv[] = { "--last=5", "--last", "7", "--lastly", "--name" };
	const char *v = NULL;
	char big[ADMIN_FIELD_MAX + 2];
	int i;

	i = 0;
	assert_int_equal(admin_opt_arg(&f->ctx, 5, argv, &i, "--last", &v), 1);
	assert_string_equal(v, "5");
	assert_int_equal(i, 0);
	i = 1;
	assert_int_equal(admin_opt_arg(&f->ctx, 5, argv, &i, "--last", &v), 1);
	assert_string_equal(v, "7");
	assert_int_equal(i, 2);
	i = 3;
	assert_int_equal(admin_opt_arg(&f->ctx, 5, argv, &i, "--last", &v), 0);
	i = 4;
	assert_int_equal(admin_opt_arg(&f->ctx, 5, argv, &i, "--name", &v), -1);
	expect(f, "", "authctl: --name needs a value\n");

	assert_true(admin_text_ok("Taipei City Hall 臺北市政府"));
	assert_false(admin_text_ok(""));
	assert_false(admin_text_ok("tab\there"));
	assert_false(admin_text_ok("del\x7f"));
	assert_false(admin_text_ok("\xff\xfe"));
	memset(big, 'a', sizeof(big) - 1);
	big[ADMIN_FIELD_MAX] = '\0';
	assert_true(admin_text_ok(big));
	big[ADMIN_FIELD_MAX] = 'a';
	big[ADMIN_FIELD_MAX + 1] = '\0';
	assert_false(admin_text_ok(big));

	assert_true(admin_username_ok(&f->ctx, "lin.meiling@city"));
	expect(f, "", "");
	assert_false(admin_username_ok(&f->ctx, "bad name"));
	expect(f, "", "authctl: invalid username (1-64 of A-Z a-z 0-9 . _ @ -): bad name\n");

	admin_usage_error(&f->ctx, "usage: x\n", "x %s: wrong", "y");
	expect(f, "", "authctl: x y: wrong\nusage: x\n");
	assert_int_equal(admin_store_failure(&f->ctx, NULL, ST_NOTFOUND), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: not found: not found\n");
	assert_int_equal(admin_store_failure(&f->ctx, "key list", ST_IO), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: key list: storage backend failure\n");
}

struct lookup {
	struct admin_user u;
	const struct admin_ctx *ctx;
};

static int
audit_fn(struct store_txn *t, void *arg)
{
	struct lookup *l = arg;
	json_t *f;
	int rc;

	if ((rc = admin_user_lookup(t, &l->u)) != ST_OK)
		return rc;
	f = json_pack("{s:s}", "user", l->u.id);
	rc = admin_audit(l->ctx, t, "admin.test.thing", f);
	json_decref(f);
	return rc;
}

static void
test_store_lookup_and_audit(void **state)
{
	struct fx *f = *state;
	struct lookup l = { .ctx = &f->ctx };
	struct store_txn *t;
	const void *k, *v;
	size_t kl, vl;
	char id[USER_ID_LEN + 1], *rec;

	/* Only init creates a store. */
	assert_int_equal(admin_open_store(&f->ctx, 0), -1);
	{
		char *out, *err, want[256];

		take(f, &out, &err);
		snprintf(want, sizeof(want),
		    "authctl: no store at %s (run: authctl -c "
		    "/etc/authd/test.conf init)\n",
		    f->ctx.store_dir);
		assert_string_equal(err, want);
		free(out);
		free(err);
	}
	assert_null(f->ctx.store);
	assert_int_equal(admin_open_store(&f->ctx, 1), 0);
	assert_int_equal(fx_user_create(f->ctx.store, "Alice", "Alice Lin", NULL, id), ST_OK);

	l.u.name = "nobody";
	assert_int_equal(store_write_sync(f->ctx.store, audit_fn, &l), ST_NOTFOUND);
	assert_true(l.u.no_user);
	memset(&l.u, 0, sizeof(l.u));
	l.u.name = "ALICE";
	assert_int_equal(store_write_sync(f->ctx.store, audit_fn, &l), ST_OK);
	assert_false(l.u.no_user);
	assert_string_equal(l.u.id, id);
	assert_string_equal(l.u.username, "alice");

	t = store_read_begin(f->ctx.store);
	assert_non_null(t);
	assert_int_equal(store_last_raw(t, T_AUDIT, &k, &kl, &v, &vl), ST_OK);
	rec = strndup((const char *)v + 1, vl - 1);
	store_read_end(t);
	assert_non_null(strstr(rec, "\"event\":\"admin.test.thing\""));
	assert_non_null(strstr(rec, "\"actor\":\"authctl\""));
	assert_non_null(strstr(rec, "\"unix_user\":\"helpdesk\""));
	assert_non_null(strstr(rec, "\"uid\":1234"));
	free(rec);
}

/* A method's command through its table: the store, config and streams of the
 * context; what it prints is what authctl printed before the move. */
static void
test_method_commands(void **state)
{
	struct fx *f = *state;
	char *status[] = { "status", "alice" }, *nobody[] = { "status", "nobody" };
	char *reset[] = { "reset", "alice" }, *noname[] = { "status" };
	char *x509_list[] = { "list", "alice" }, *wa_list[] = { "list", "alice" };
	char *wa_rm[] = { "remove", "alice", "not/base64!" };
	char *bad[] = { "status", "bad name" };

	assert_int_equal(admin_open_store(&f->ctx, 1), 0);
	assert_int_equal(fx_user_create(f->ctx.store, "alice", NULL, NULL, NULL), ST_OK);
	/* The commands open the store themselves. */
	store_close(f->ctx.store);
	f->ctx.store = NULL;

	assert_int_equal(run(f, "totp", 2, status), 0);
	expect(f, "{\"totp\":\"none\",\"recovery_codes_left\":0,\"username\":\"alice\"}\n", "");
	store_close(f->ctx.store);
	f->ctx.store = NULL;
	assert_int_equal(run(f, "totp", 2, nobody), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: no such user: nobody\n");
	store_close(f->ctx.store);
	f->ctx.store = NULL;
	assert_int_equal(run(f, "totp", 2, reset), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: alice has no TOTP; nothing to reset\n");
	store_close(f->ctx.store);
	f->ctx.store = NULL;
	assert_int_equal(run(f, "totp", 1, noname), ADMIN_EXIT_USAGE);
	{
		char *out, *err;

		const char *want = "authctl: totp status needs a NAME\n"
		                   "usage: authctl [-c FILE] totp enrol NAME";

		take(f, &out, &err);
		assert_int_equal(strncmp(err, want, strlen(want)), 0);
		free(out);
		free(err);
	}
	assert_int_equal(run(f, "totp", 2, bad), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: invalid username (1-64 of A-Z a-z 0-9 . _ @ -): bad name\n");
	assert_int_equal(run(f, "x509", 2, x509_list), 0);
	expect(f, "[]\n", "");
	store_close(f->ctx.store);
	f->ctx.store = NULL;
	assert_int_equal(run(f, "webauthn", 2, wa_list), 0);
	expect(f, "", "");
	store_close(f->ctx.store);
	f->ctx.store = NULL;
	assert_int_equal(run(f, "webauthn", 3, wa_rm), ADMIN_EXIT_REFUSED);
	expect(f, "", "authctl: invalid CRED_ID (the ref shown by webauthn list): not/base64!\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_tables),
		cmocka_unit_test_setup_teardown(test_options_and_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_lookup_and_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_commands, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

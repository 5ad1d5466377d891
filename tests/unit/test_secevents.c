/* tests/unit/test_secevents.c — a person's recent security events
 * (authd/secevents.c) on a real store: recorded with the change's details,
 * listed newest first, announced until acknowledged or SECEV_NOTICE_S, kept
 * SECEV_KEEP_S and at most SECEV_MAX, the older "notice" flag still shown, and
 * bad input refused with nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/secevents.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/util.h"
#include "fixture.h"

struct fx {
	char dir[FX_DIR_MAX];
	struct store *s;
	char id[USER_ID_LEN + 1];
};

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc = fx_store_remove(f->dir, f->s);

	free(f);
	return rc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, "secev") != 0 || fx_store_open(&f->s, f->dir, 16, 0) != STORE_OK ||
	    fx_user_create(f->s, "lin", "林美玲", NULL, f->id) != STORE_OK) {
		teardown(state);
		return -1;
	}
	return 0;
}

struct w {
	struct fx *f;
	struct secevent e;
	int64_t now;
	int rc;
};

static int
w_add(struct store_txn *t, void *ctx)
{
	struct w *w = ctx;

	return w->rc = secevent_add(t, w->f->id, &w->e);
}

static int
w_ack(struct store_txn *t, void *ctx)
{
	struct w *w = ctx;

	return w->rc = secevent_ack(t, w->f->id, w->now);
}

static int
add(struct fx *f, int64_t at, const char *method, const char *action, const char *label,
    const char *ip, int admin)
{
	struct w w = { .f = f };

	w.e.at = at;
	snprintf(w.e.method, sizeof(w.e.method), "%s", method);
	snprintf(w.e.action, sizeof(w.e.action), "%s", action);
	snprintf(w.e.label, sizeof(w.e.label), "%s", label != NULL ? label : "");
	snprintf(w.e.ip, sizeof(w.e.ip), "%s", ip != NULL ? ip : "");
	w.e.by_admin = admin;
	return store_write_sync(f->s, w_add, &w);
}

static json_t *
user(struct fx *f)
{
	struct store_txn *t = store_read_begin(f->s);
	json_t *u = NULL;

	assert_non_null(t);
	assert_int_equal(user_by_id(t, f->id, &u), STORE_OK);
	store_read_end(t);
	return u;
}

static size_t
list(struct fx *f, int64_t now, struct secevent *out, size_t max)
{
	json_t *u = user(f);
	size_t n = secevent_list(u, now, out, max);

	json_decref(u);
	return n;
}

static const int64_t T0 = 1800000000;

static void
test_recorded_and_listed(void **state)
{
	struct fx *f = *state;
	struct secevent e[SECEV_MAX + 1];

	assert_int_equal(add(f, T0, "webauthn", "add", "辦公室 YubiKey", "203.0.113.7", 0), STORE_OK);
	assert_int_equal(add(f, T0 + 60, "totp", "remove", NULL, NULL, 1), STORE_OK);
	assert_int_equal(list(f, T0 + 120, e, SECEV_MAX + 1), 2);
	/* newest first */
	assert_string_equal(e[0].method, "totp");
	assert_string_equal(e[0].action, "remove");
	assert_int_equal(e[0].by_admin, 1);
	assert_string_equal(e[0].ip, "");
	assert_int_equal(e[0].at, T0 + 60);
	assert_string_equal(e[1].method, "webauthn");
	assert_string_equal(e[1].label, "辦公室 YubiKey");
	assert_string_equal(e[1].ip, "203.0.113.7");
	assert_int_equal(e[1].by_admin, 0);
	assert_true(e[0].unseen && e[1].unseen);
	/* max bounds what is written out */
	assert_int_equal(list(f, T0 + 120, e, 1), 1);
	assert_string_equal(e[0].method, "totp");
}

static void
test_acknowledged(void **state)
{
	struct fx *f = *state;
	struct secevent e[SECEV_MAX + 1];
	struct w w = { .f = f, .now = T0 + 100 };
	json_t *u;

	assert_int_equal(add(f, T0, "x509", "add", "王小明", "192.0.2.1", 0), STORE_OK);
	u = user(f);
	assert_int_equal(secevent_unseen(u, T0 + 10), 1);
	json_decref(u);
	assert_int_equal(store_write_sync(f->s, w_ack, &w), STORE_OK);
	u = user(f);
	assert_int_equal(secevent_unseen(u, T0 + 110), 0);
	json_decref(u);
	/* still listed, no longer announced */
	assert_int_equal(list(f, T0 + 110, e, SECEV_MAX + 1), 1);
	assert_false(e[0].unseen);
	/* a later change is announced again, the acknowledged one is not */
	assert_int_equal(add(f, T0 + 200, "x509", "remove", "王小明", "192.0.2.1", 0), STORE_OK);
	assert_int_equal(list(f, T0 + 210, e, SECEV_MAX + 1), 2);
	assert_true(e[0].unseen);
	assert_false(e[1].unseen);
	/* acknowledging twice is fine */
	w.now = T0 + 300;
	assert_int_equal(store_write_sync(f->s, w_ack, &w), STORE_OK);
	assert_int_equal(store_write_sync(f->s, w_ack, &w), STORE_OK);
}

/* Announced for SECEV_NOTICE_S, listed for SECEV_KEEP_S, then dropped at the
 * next write; at most SECEV_MAX kept. */
static void
test_ages_and_bounds(void **state)
{
	struct fx *f = *state;
	struct secevent e[SECEV_MAX + 5];
	json_t *u;
	int i;

	assert_int_equal(add(f, T0, "password", "change", NULL, "192.0.2.9", 0), STORE_OK);
	assert_int_equal(list(f, T0 + SECEV_NOTICE_S - 1, e, SECEV_MAX), 1);
	assert_true(e[0].unseen);
	assert_int_equal(list(f, T0 + SECEV_NOTICE_S, e, SECEV_MAX), 1);
	assert_false(e[0].unseen);
	assert_int_equal(list(f, T0 + SECEV_KEEP_S - 1, e, SECEV_MAX), 1);
	assert_int_equal(list(f, T0 + SECEV_KEEP_S, e, SECEV_MAX), 0);
	/* a later write drops it from the record */
	assert_int_equal(add(f, T0 + SECEV_KEEP_S, "recovery", "regenerate", NULL, "192.0.2.9", 0),
	    STORE_OK);
	u = user(f);
	assert_int_equal(json_array_size(json_object_get(u, "security_events")), 1);
	json_decref(u);
	for (i = 0; i < SECEV_MAX + 3; i++)
		assert_int_equal(add(f, T0 + SECEV_KEEP_S + 1 + i, "webauthn", "rename", "k", "::1", 0),
		    STORE_OK);
	u = user(f);
	assert_int_equal(json_array_size(json_object_get(u, "security_events")), SECEV_MAX);
	json_decref(u);
	assert_int_equal(list(f, T0 + SECEV_KEEP_S + 100, e, SECEV_MAX + 5), SECEV_MAX);
	assert_int_equal(e[0].at, T0 + SECEV_KEEP_S + 1 + SECEV_MAX + 2);
}

static void
test_refuses_unknown_names(void **state)
{
	struct fx *f = *state;
	json_t *before = user(f), *after;

	assert_int_equal(add(f, T0, "sms", "add", NULL, NULL, 0), STORE_INVALID);
	assert_int_equal(add(f, T0, "totp", "replace", NULL, NULL, 0), STORE_INVALID);
	assert_int_equal(add(f, T0, "", "add", NULL, NULL, 0), STORE_INVALID);
	after = user(f);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	/* a user that does not exist */
	memcpy(f->id, "0123456789abcdef0123456789abcdef", USER_ID_LEN + 1);
	assert_int_equal(add(f, T0, "totp", "add", NULL, NULL, 0), STORE_NOTFOUND);
}

/* A label cut inside a UTF-8 sequence is left out, not the whole event. */
static void
test_broken_label(void **state)
{
	struct fx *f = *state;
	struct secevent e[2];

	assert_int_equal(add(f, T0, "x509", "add", "\xe7\x8e", "192.0.2.1", 0), STORE_OK);
	assert_int_equal(list(f, T0 + 1, e, 2), 1);
	assert_string_equal(e[0].label, "");
	assert_string_equal(e[0].method, "x509");
}

static int
w_legacy(struct store_txn *t, void *ctx)
{
	struct w *w = ctx;
	json_t *u = NULL;
	int rc;

	if ((rc = user_by_id(t, w->f->id, &u)) != STORE_OK)
		return rc;
	json_object_set_new(u, "notice", json_string("totp_reset"));
	rc = user_update(t, u);
	json_decref(u);
	return rc;
}

/* What older code left on the record ("notice": "totp_reset") is still shown
 * as the help desk's removal, until acknowledged. */
static void
test_older_notice(void **state)
{
	struct fx *f = *state;
	struct secevent e[2];
	struct w w = { .f = f, .now = T0 };
	json_t *u;

	assert_int_equal(store_write_sync(f->s, w_legacy, &w), STORE_OK);
	assert_int_equal(list(f, T0, e, 2), 1);
	assert_string_equal(e[0].method, "totp");
	assert_string_equal(e[0].action, "remove");
	assert_true(e[0].by_admin && e[0].unseen);
	assert_int_equal(e[0].at, 0);
	assert_int_equal(store_write_sync(f->s, w_ack, &w), STORE_OK);
	u = user(f);
	assert_null(json_object_get(u, "notice"));
	assert_int_equal(secevent_unseen(u, T0), 0);
	json_decref(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recorded_and_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acknowledged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ages_and_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unknown_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_notice, setup, teardown),
	};

	return cmocka_run_group_tests_name("secevents", tests, NULL, NULL);
}

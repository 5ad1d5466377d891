/* tests/unit/test_audit.c — the hash-chained audit log: append and verify, tampering
 * found at the altered record, gaps and cut tails found, pruning behind an anchor,
 * reserved field names refused, appends from a second process chaining in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../authd/audit.h"
#include "../../lib/util.h"
#include "fixture.h"

static int
setup(void **state)
{
	return fx_store_setup(state, "audit", 64, 0);
}

static void
seq_key(uint8_t k[8], uint64_t seq)
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (uint8_t)seq;
}

struct append_args {
	const char *event;
	json_t *fields;
	int n;                     /* how many */
	int result;                /* what the write returns after appending */
};

static int
append_fn(struct store_txn *t, void *ctx)
{
	struct append_args *a = ctx;
	int rc;

	for (int i = 0; i < a->n; i++)
		if ((rc = audit_append(t, a->event, a->fields)) != STORE_OK)
			return rc;
	return a->result;
}

static int
append_n(struct store *s, int n)
{
	json_t *f = json_pack("{s:s,s:s,s:s}", "user", "0123456789abcdef0123456789abcdef",
	                      "ip", "192.0.2.7", "result", "success");
	struct append_args a = { .event = "login", .fields = f, .n = n, .result = STORE_OK };
	int rc = store_write_sync(s, append_fn, &a);

	json_decref(f);
	return rc;
}

static int
verify(struct store *s, struct audit_verify_result *r)
{
	struct store_txn *t = store_read_begin(s);
	int rc;

	assert_non_null(t);
	rc = audit_verify(t, r);
	store_read_end(t);
	return rc;
}

/* Copies record seq's stored bytes out (caller frees). */
static uint8_t *
raw_copy(struct store *s, uint64_t seq, size_t *len)
{
	struct store_txn *t = store_read_begin(s);
	const void *v;
	uint8_t k[8], *out;

	seq_key(k, seq);
	assert_int_equal(store_get_raw(t, T_AUDIT, k, 8, &v, len), STORE_OK);
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, v, *len);
	store_read_end(t);
	return out;
}

struct raw_put {
	uint64_t seq;
	const uint8_t *val;
	size_t len;
	int del;
};

static int
raw_put_fn(struct store_txn *t, void *ctx)
{
	struct raw_put *p = ctx;
	uint8_t k[8];

	seq_key(k, p->seq);
	if (p->del)
		return store_del(t, T_AUDIT, k, 8);
	return store_put_raw(t, T_AUDIT, k, 8, p->val, p->len);
}

static void
test_append_and_verify(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	struct store_txn *t;
	uint8_t *r1, h[SHA256_LEN], k[8];
	char hex[65];
	size_t len;
	json_t *rec;

	assert_int_equal(verify(f->s, &r), STORE_OK);   /* empty chain is intact */
	assert_int_equal(r.records, 0);
	assert_int_equal(append_n(f->s, 10), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 10);
	assert_int_equal(r.first_bad, 0);
	assert_null(r.problem);

	t = store_read_begin(f->s);
	seq_key(k, 1);
	assert_int_equal(store_get(t, T_AUDIT, k, 8, &rec), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 1);
	assert_true(json_integer_value(json_object_get(rec, "ts")) >= now_s() - 60);
	assert_string_equal(json_string_value(json_object_get(rec, "event")), "login");
	assert_string_equal(json_string_value(json_object_get(rec, "ip")), "192.0.2.7");
	assert_string_equal(json_string_value(json_object_get(rec, "prev")),
	                    "0000000000000000000000000000000000000000000000000000000000000000");
	json_decref(rec);
	store_read_end(t);

	/* Record 2 chains to the exact stored bytes of record 1. */
	r1 = raw_copy(f->s, 1, &len);
	sha256(r1, len, h);
	hex_encode(hex, h, sizeof(h));
	free(r1);
	t = store_read_begin(f->s);
	seq_key(k, 2);
	assert_int_equal(store_get(t, T_AUDIT, k, 8, &rec), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(rec, "prev")), hex);
	json_decref(rec);
	store_read_end(t);
}

static void
test_tamper_found_at_that_record(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	uint8_t *orig, *bad;
	size_t len;
	/* Offsets to alter: version byte, inside a field value, inside "prev". */
	size_t where[3];

	assert_int_equal(append_n(f->s, 9), STORE_OK);
	orig = raw_copy(f->s, 5, &len);
	bad = malloc(len);
	assert_non_null(bad);
	where[0] = 0;
	where[1] = (size_t)((uint8_t *)strstr((char *)orig + 1, "192.0.2.7") - orig) + 2;
	where[2] = len - 5;    /* ...last hex digits of prev, before "} */
	for (int i = 0; i < 3; i++) {
		struct raw_put p = { .seq = 5, .val = bad, .len = len };
		struct raw_put undo = { .seq = 5, .val = orig, .len = len };

		memcpy(bad, orig, len);
		bad[where[i]] = bad[where[i]] == '1' ? '2' : '1';
		assert_int_equal(store_write_sync(f->s, raw_put_fn, &p), STORE_OK);
		assert_int_equal(verify(f->s, &r), STORE_CORRUPT);
		assert_int_equal(r.first_bad, 5);
		assert_non_null(r.problem);
		assert_int_equal(store_write_sync(f->s, raw_put_fn, &undo), STORE_OK);
		assert_int_equal(verify(f->s, &r), STORE_OK);
	}
	free(orig);

	/* The newest record has no successor; the head mark still catches it. */
	free(bad);
	orig = raw_copy(f->s, 9, &len);
	bad = malloc(len);
	assert_non_null(bad);
	{
		struct raw_put p = { .seq = 9, .val = bad, .len = len };

		memcpy(bad, orig, len);
		bad[len / 2] = bad[len / 2] == 'a' ? 'b' : 'a';
		assert_int_equal(store_write_sync(f->s, raw_put_fn, &p), STORE_OK);
		assert_int_equal(verify(f->s, &r), STORE_CORRUPT);
		assert_int_equal(r.first_bad, 9);
	}
	free(orig);
	free(bad);
}

static void
test_deleted_record_is_a_gap(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	struct raw_put del4 = { .seq = 4, .del = 1 };
	struct raw_put del8 = { .seq = 8, .del = 1 };

	assert_int_equal(append_n(f->s, 8), STORE_OK);
	assert_int_equal(store_write_sync(f->s, raw_put_fn, &del8), STORE_OK);
	/* Cutting off the newest record is found through the head mark. */
	assert_int_equal(verify(f->s, &r), STORE_CORRUPT);
	assert_int_equal(r.first_bad, 8);
	assert_int_equal(store_write_sync(f->s, raw_put_fn, &del4), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_CORRUPT);
	assert_int_equal(r.first_bad, 4);
	assert_non_null(strstr(r.problem, "gap"));
	assert_int_equal(r.records, 3);
}

static int
prune_fn(struct store_txn *t, void *ctx)
{
	return audit_prune(t, *(int64_t *)ctx);
}

static void
test_prune_then_verify(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	struct store_txn *t;
	const void *k, *v;
	size_t kl, vl;
	int64_t t0, cutoff;
	json_t *anchor;

	assert_int_equal(append_n(f->s, 5), STORE_OK);
	t0 = now_s();
	/* Wait (bounded) for the next second so the second batch is younger. */
	for (int i = 0; i < 60 && now_s() <= t0; i++) {
		struct timespec ts = { 0, 50000000L };

		nanosleep(&ts, NULL);
	}
	assert_true(now_s() > t0);
	assert_int_equal(append_n(f->s, 5), STORE_OK);
	cutoff = t0 + 1;
	assert_int_equal(store_write_sync(f->s, prune_fn, &cutoff), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 5);

	t = store_read_begin(f->s);
	assert_int_equal(store_count(t, T_AUDIT), 5);
	assert_int_equal(store_gets(t, T_META, "audit_anchor", &anchor), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(anchor, "seq")), 5);
	json_decref(anchor);
	store_read_end(t);

	/* The chain goes on from the anchor. */
	assert_int_equal(append_n(f->s, 2), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 7);

	/* Pruning everything still leaves a verifiable (empty) chain that continues. */
	cutoff = now_s() + 10;
	assert_int_equal(store_write_sync(f->s, prune_fn, &cutoff), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 0);
	assert_int_equal(append_n(f->s, 1), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	t = store_read_begin(f->s);
	assert_int_equal(store_last_raw(t, T_AUDIT, &k, &kl, &v, &vl), STORE_OK);
	assert_int_equal(kl, 8);
	assert_int_equal(((const uint8_t *)k)[7], 13);
	store_read_end(t);

	/* Pruning nothing changes nothing. */
	cutoff = 0;
	assert_int_equal(store_write_sync(f->s, prune_fn, &cutoff), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 1);
}

static void
test_reserved_and_bad_input_refused(void **state)
{
	static const char *reserved[] = { "seq", "ts", "event", "prev" };
	static const char *bad_events[] = {
		"", "has space", "new\nline", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct fx_store *f = *state;
	struct audit_verify_result r;
	struct store_txn *t;

	for (size_t i = 0; i < 4; i++) {
		json_t *fl = json_pack("{s:s,s:i}", "user", "x", reserved[i], 1);
		struct append_args a = { .event = "login", .fields = fl, .n = 1 };

		assert_int_equal(store_write_sync(f->s, append_fn, &a), STORE_INVALID);
		json_decref(fl);
	}
	for (size_t i = 0; i < 4; i++) {
		struct append_args a = { .event = bad_events[i], .n = 1 };

		assert_int_equal(store_write_sync(f->s, append_fn, &a), STORE_INVALID);
	}
	{
		json_t *arr = json_array();
		struct append_args a = { .event = "login", .fields = arr, .n = 1 };
		struct append_args nul = { .event = NULL, .n = 1 };

		assert_int_equal(store_write_sync(f->s, append_fn, &a), STORE_INVALID);
		assert_int_equal(store_write_sync(f->s, append_fn, &nul), STORE_INVALID);
		json_decref(arr);
	}
	t = store_read_begin(f->s);
	assert_int_equal(store_count(t, T_AUDIT), 0);
	store_read_end(t);
	/* No fields at all is fine. */
	{
		struct append_args a = { .event = "server.start", .n = 1 };

		assert_int_equal(store_write_sync(f->s, append_fn, &a), STORE_OK);
	}
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 1);
}

static void
test_rolled_back_with_its_action(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	struct append_args a = { .event = "token.issue", .n = 3, .result = STORE_CONFLICT };

	assert_int_equal(append_n(f->s, 2), STORE_OK);
	/* The action failed: its audit records go with it, and the chain is intact. */
	assert_int_equal(store_write_sync(f->s, append_fn, &a), STORE_CONFLICT);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 2);
	assert_int_equal(append_n(f->s, 1), STORE_OK);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 3);
}

static void
test_second_process_chains_in(void **state)
{
	struct fx_store *f = *state;
	struct audit_verify_result r;
	pid_t pid;
	int status;

	assert_int_equal(append_n(f->s, 3), STORE_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *c = NULL;
		int bad = 0;

		if (fx_store_open(&c, f->dir, 64, FX_SYNC | FX_NO_WRITER) != STORE_OK)
			_exit(2);
		for (int i = 0; i < 10; i++)
			bad |= append_n(c, 2) != STORE_OK;
		store_close(c);
		_exit(bad ? 3 : 0);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(append_n(f->s, 2), STORE_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(verify(f->s, &r), STORE_OK);
	assert_int_equal(r.records, 43);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_verify, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_found_at_that_record, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_record_is_a_gap, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_then_verify, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_reserved_and_bad_input_refused, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_with_its_action, setup, fx_store_teardown),
		cmocka_unit_test_setup_teardown(test_second_process_chains_in, setup, fx_store_teardown),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}

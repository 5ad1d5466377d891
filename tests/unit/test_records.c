/* tests/unit/test_records.c — the store's operations (records.h) on each engine:
 * get, insert-if-absent, put-if-version, take-once (alone, with an owner, expired,
 * and raced by several threads: exactly one wins), counters with expiry, an atomic
 * batch that rolls back whole, audit append, expiry and bad arguments.
 *
 * LMDB always (a store in a temporary folder, fsync on as in production). The
 * same tests run against PostgreSQL when AUTHD_TEST_PG_CONNINFO names one
 * (tests/ha/records.test.sh starts a throwaway cluster and sets it), with the
 * PostgreSQL-only ones: migrations, an unreachable server, a pool of one; ids
 * carry a random run prefix so runs never see each other's records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../authd/audit.h"
#include "../../authd/records.h"
#include "../../lib/util.h"
#include "fixture.h"

#define RACERS 8

struct engine {
	char dir[FX_DIR_MAX];
	struct store *st; /* LMDB only */
	struct records *r;
	char run[24]; /* id prefix of this run */
};

static const char *pg_conninfo;

static void
run_prefix(struct engine *e)
{
	char t[12];

	assert_int_equal(rand_token(t, sizeof(t), 6), 0);
	snprintf(e->run, sizeof(e->run), "%s-", t);
}

static int
setup_lmdb(void **state)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL || fx_store_make(e->dir, &e->st, "records", 64, FX_SYNC) != 0)
		return -1;
	if (records_open_lmdb(e->st, &e->r) != ST_OK)
		return -1;
	run_prefix(e);
	*state = e;
	return 0;
}

static int
setup_pg(void **state)
{
	struct records_pg_opts o = { .conninfo = pg_conninfo, .pool = 4, .deadline_ms = 5000 };
	struct engine *e = calloc(1, sizeof(*e));
	int from, to;

	if (e == NULL || records_pg_migrate(pg_conninfo, &from, &to) != ST_OK)
		return -1;
	if (records_open_pg(&o, &e->r) != ST_OK)
		return -1;
	run_prefix(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct engine *e = *state;

	records_close(e->r);
	if (e->st != NULL)
		fx_store_remove(e->dir, e->st);
	free(e);
	return 0;
}

/* "<run>name" into id. */
static const char *
idf(const struct engine *e, char *id, size_t n, const char *name)
{
	snprintf(id, n, "%s%s", e->run, name);
	return id;
}

/* A record of kind with body {"n": n}, expiring in ttl seconds (0: never). */
static void
rec_make(struct rec *r, enum rec_kind kind, const char *id, const char *owner, int n, int ttl)
{
	assert_int_equal(rec_init(r, kind, id), ST_OK);
	if (owner != NULL)
		snprintf(r->owner, sizeof(r->owner), "%s", owner);
	r->body = json_pack("{s:i}", "n", n);
	r->expires = ttl ? now_s() + ttl : 0;
}

static void
test_insert_get(void **state)
{
	struct engine *e = *state;
	struct rec r, got, again;
	char id[64];

	rec_make(&r, RK_FAMILY, idf(e, id, sizeof(id), "fam1"), "client-a", 7, 600);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	assert_int_equal(r.version, 1);
	assert_int_equal(records_get(e->r, RK_FAMILY, id, &got), ST_OK);
	assert_int_equal(got.version, 1);
	assert_string_equal(got.owner, "client-a");
	assert_int_equal(got.expires, r.expires);
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 7);
	/* Only the body's own fields come back in the body. */
	assert_int_equal(json_object_size(got.body), 1);
	/* insert-if-absent: a second insert changes nothing. */
	rec_make(&again, RK_FAMILY, id, "client-b", 8, 600);
	assert_int_equal(records_insert(e->r, &again), ST_EXISTS);
	rec_clear(&got);
	assert_int_equal(records_get(e->r, RK_FAMILY, id, &got), ST_OK);
	assert_string_equal(got.owner, "client-a");
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 7);
	rec_clear(&got);
	rec_clear(&again);
	rec_clear(&r);
	assert_int_equal(
	    records_get(e->r, RK_FAMILY, idf(e, id, sizeof(id), "none"), &got), ST_NOTFOUND);
	rec_clear(&got);
}

static void
test_put_if_version(void **state)
{
	struct engine *e = *state;
	struct rec r, stale, got;
	char id[64];

	rec_make(&r, RK_FAMILY, idf(e, id, sizeof(id), "cas"), "c", 1, 600);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	/* Two readers saw version 1; the first write wins, the second is refused. */
	rec_make(&stale, RK_FAMILY, id, "c", 99, 600);
	json_object_set_new(r.body, "n", json_integer(2));
	assert_int_equal(records_put_if_version(e->r, &r, 1), ST_OK);
	assert_int_equal(r.version, 2);
	assert_int_equal(records_put_if_version(e->r, &stale, 1), ST_CONFLICT);
	assert_int_equal(records_get(e->r, RK_FAMILY, id, &got), ST_OK);
	assert_int_equal(got.version, 2);
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 2);
	rec_clear(&got);
	/* Absent: not found, nothing made. */
	rec_clear(&stale);
	rec_make(&stale, RK_FAMILY, idf(e, id, sizeof(id), "cas-none"), "c", 1, 600);
	assert_int_equal(records_put_if_version(e->r, &stale, 1), ST_NOTFOUND);
	assert_int_equal(records_get(e->r, RK_FAMILY, id, &got), ST_NOTFOUND);
	rec_clear(&got);
	rec_clear(&stale);
	rec_clear(&r);
}

static void
test_take_once(void **state)
{
	struct engine *e = *state;
	struct rec r, got;
	char id[64];

	/* A code is kept as a spent tombstone: a second take says "spent". */
	rec_make(&r, RK_CODE, idf(e, id, sizeof(id), "code1"), "client-a", 5, 60);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	assert_int_equal(records_take(e->r, RK_CODE, id, "client-a", &got), ST_OK);
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 5);
	assert_int_equal(got.spent, 1);
	rec_clear(&got);
	assert_int_equal(records_take(e->r, RK_CODE, id, "client-a", &got), ST_CONFLICT);
	assert_int_equal(got.spent, 1);
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 5);
	rec_clear(&got);
	rec_clear(&r);
	/* A transaction is deleted: a second take finds nothing. */
	rec_make(&r, RK_TXN, idf(e, id, sizeof(id), "txn1"), NULL, 6, 60);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	assert_int_equal(records_take(e->r, RK_TXN, id, NULL, &got), ST_OK);
	assert_int_equal(json_integer_value(json_object_get(got.body, "n")), 6);
	rec_clear(&got);
	assert_int_equal(records_take(e->r, RK_TXN, id, NULL, &got), ST_NOTFOUND);
	assert_int_equal(records_get(e->r, RK_TXN, id, &got), ST_NOTFOUND);
	rec_clear(&got);
	rec_clear(&r);
}

static void
test_take_owner_and_expiry(void **state)
{
	struct engine *e = *state;
	struct rec r, got;
	char id[64];

	rec_make(&r, RK_CODE, idf(e, id, sizeof(id), "code-owned"), "client-a", 1, 60);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	/* Another client: refused, told nothing, and the code is not burnt. */
	assert_int_equal(records_take(e->r, RK_CODE, id, "client-b", &got), ST_DENIED);
	assert_null(got.body);
	rec_clear(&got);
	assert_int_equal(records_get(e->r, RK_CODE, id, &got), ST_OK);
	assert_int_equal(got.spent, 0);
	rec_clear(&got);
	assert_int_equal(records_take(e->r, RK_CODE, id, "client-a", &got), ST_OK);
	rec_clear(&got);
	rec_clear(&r);
	/* Expired: refused as expired, nothing consumed. */
	rec_make(&r, RK_CODE, idf(e, id, sizeof(id), "code-old"), "client-a", 1, 0);
	r.expires = now_s() - 5;
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	assert_int_equal(records_take(e->r, RK_CODE, id, "client-a", &got), ST_EXPIRED);
	rec_clear(&got);
	assert_int_equal(records_get(e->r, RK_CODE, id, &got), ST_EXPIRED);
	assert_int_equal(got.spent, 0);
	rec_clear(&got);
	/* An expired record does not block a new one under its id, and a writer
	 * still holding the old version cannot overwrite the new record. */
	rec_clear(&r);
	rec_make(&r, RK_CODE, id, "client-a", 2, 60);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	assert_int_equal(r.version, 2);
	assert_int_equal(records_put_if_version(e->r, &r, 1), ST_CONFLICT);
	rec_clear(&r);
}

struct racer {
	struct records *r;
	enum rec_kind kind;
	const char *id;
	int rc;
	pthread_barrier_t *go;
};

static void *
racer_take(void *arg)
{
	struct racer *x = arg;
	struct rec got;

	pthread_barrier_wait(x->go);
	x->rc = records_take(x->r, x->kind, x->id, x->kind == RK_CODE ? "client-a" : NULL, &got);
	rec_clear(&got);
	return NULL;
}

/* Several threads take the same code (and the same transaction) at once:
 * exactly one is told it won, the others that it was spent or is gone. */
static void
test_take_race(void **state)
{
	struct engine *e = *state;
	static const enum rec_kind race_kinds[] = { RK_CODE, RK_TXN };

	for (int round = 0; round < 10; round++) {
		enum rec_kind kind = race_kinds[round % 2];
		pthread_t th[RACERS];
		struct racer x[RACERS];
		pthread_barrier_t go;
		struct rec r;
		char id[64], name[16];
		int won = 0, lost = 0;

		snprintf(name, sizeof(name), "race%d", round);
		rec_make(&r, kind, idf(e, id, sizeof(id), name),
		    kind == RK_CODE ? "client-a" : NULL, round, 60);
		assert_int_equal(records_insert(e->r, &r), ST_OK);
		rec_clear(&r);
		pthread_barrier_init(&go, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			x[i] = (struct racer){ .r = e->r, .kind = kind, .id = id, .go = &go };
			assert_int_equal(pthread_create(&th[i], NULL, racer_take, &x[i]), 0);
		}
		for (int i = 0; i < RACERS; i++) {
			pthread_join(th[i], NULL);
			won += x[i].rc == ST_OK;
			lost += x[i].rc == (kind == RK_CODE ? ST_CONFLICT : ST_NOTFOUND);
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(won, 1);
		assert_int_equal(lost, RACERS - 1);
	}
}

struct cas_racer {
	struct records *r;
	const char *id;
	int wins;
	pthread_barrier_t *go;
};

/* Read, add one, write if unchanged; a refused write reads again. */
static void *
racer_cas(void *arg)
{
	struct cas_racer *x = arg;

	pthread_barrier_wait(x->go);
	for (int i = 0; i < 10; i++) {
		struct rec cur;
		int rc;

		assert_int_equal(records_get(x->r, RK_FAMILY, x->id, &cur), ST_OK);
		json_object_set_new(cur.body, "n",
		    json_integer(json_integer_value(json_object_get(cur.body, "n")) + 1));
		rc = records_put_if_version(x->r, &cur, cur.version);
		if (rc == ST_OK)
			x->wins++;
		else
			assert_int_equal(rc, ST_CONFLICT);
		rec_clear(&cur);
	}
	return NULL;
}

/* Lost updates are impossible: the counter in the body equals the number of
 * writes that were told they won, and the version one more than that. */
static void
test_cas_race(void **state)
{
	struct engine *e = *state;
	pthread_t th[4];
	struct cas_racer x[4];
	pthread_barrier_t go;
	struct rec r;
	char id[64];
	int wins = 0;

	rec_make(&r, RK_FAMILY, idf(e, id, sizeof(id), "cas-race"), "c", 0, 600);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	rec_clear(&r);
	pthread_barrier_init(&go, NULL, 4);
	for (int i = 0; i < 4; i++) {
		x[i] = (struct cas_racer){ .r = e->r, .id = id, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, racer_cas, &x[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wins += x[i].wins;
	}
	pthread_barrier_destroy(&go);
	assert_true(wins >= 10);
	assert_int_equal(records_get(e->r, RK_FAMILY, id, &r), ST_OK);
	assert_int_equal(json_integer_value(json_object_get(r.body, "n")), wins);
	assert_int_equal(r.version, (uint64_t)wins + 1);
	rec_clear(&r);
}

static void
test_counter(void **state)
{
	struct engine *e = *state;
	int64_t now = now_s(), v;
	char id[64];

	idf(e, id, sizeof(id), "u:alice");
	assert_int_equal(records_count_get(e->r, id, now, &v), ST_OK);
	assert_int_equal(v, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(records_count(e->r, id, now, 60, &v), ST_OK);
		assert_int_equal(v, i);
	}
	assert_int_equal(records_count_get(e->r, id, now + 59, &v), ST_OK);
	assert_int_equal(v, 3);
	/* The window ended: the counter reads 0 and the next event starts anew. */
	assert_int_equal(records_count_get(e->r, id, now + 60, &v), ST_OK);
	assert_int_equal(v, 0);
	assert_int_equal(records_count(e->r, id, now + 61, 60, &v), ST_OK);
	assert_int_equal(v, 1);
	assert_int_equal(records_count(e->r, id, now, 0, &v), ST_INVALID);
}

/* A batch is kept whole or not at all: a take that fails undoes the insert
 * before it, and the failing op's index is reported. */
static void
test_batch_atomic(void **state)
{
	struct engine *e = *state;
	struct rec a, missing, got, code, fam;
	char id[64], id2[64], id3[64];
	size_t failed = 99;
	json_t *f = json_pack("{s:s}", "why", "test");

	rec_make(&a, RK_JTI, idf(e, id, sizeof(id), "jti-batch"), NULL, 1, 600);
	rec_init(&missing, RK_TXN, idf(e, id2, sizeof(id2), "txn-missing"));
	struct rec_op ops[] = {
		{ .type = ROP_INSERT, .rec = &a },
		{ .type = ROP_AUDIT, .event = "test.batch", .fields = f },
		{ .type = ROP_TAKE, .rec = &missing },
	};
	assert_int_equal(records_batch(e->r, ops, 3, &failed), ST_NOTFOUND);
	assert_int_equal(failed, 2);
	assert_int_equal(records_get(e->r, RK_JTI, id, &got), ST_NOTFOUND);
	rec_clear(&got);
	/* The commit of a grant: take the code, make the family, audit. */
	rec_make(&code, RK_CODE, idf(e, id2, sizeof(id2), "code-batch"), "client-a", 1, 60);
	assert_int_equal(records_insert(e->r, &code), ST_OK);
	rec_clear(&code);
	rec_init(&code, RK_CODE, id2);
	snprintf(code.owner, sizeof(code.owner), "client-a");
	rec_make(&fam, RK_FAMILY, idf(e, id3, sizeof(id3), "fam-batch"), "client-a", 1, 600);
	struct rec_op grant[] = {
		{ .type = ROP_TAKE, .rec = &code, .owner_check = 1 },
		{ .type = ROP_INSERT, .rec = &fam },
		{ .type = ROP_AUDIT, .event = "test.grant", .fields = f },
	};
	assert_int_equal(records_batch(e->r, grant, 3, &failed), ST_OK);
	assert_int_equal(fam.version, 1);
	assert_int_equal(records_get(e->r, RK_FAMILY, id3, &got), ST_OK);
	rec_clear(&got);
	/* Replayed: the take refuses, the insert after it is not tried. */
	rec_clear(&code);
	rec_init(&code, RK_CODE, id2);
	snprintf(code.owner, sizeof(code.owner), "client-a");
	assert_int_equal(records_batch(e->r, grant, 3, &failed), ST_CONFLICT);
	assert_int_equal(failed, 0);
	rec_clear(&code);
	rec_clear(&fam);
	rec_clear(&a);
	rec_clear(&missing);
	json_decref(f);
	/* The LMDB chain is verifiable after the batches. */
	if (e->st != NULL) {
		struct audit_verify_result res;
		struct store_txn *t = store_read_begin(e->st);

		assert_non_null(t);
		assert_int_equal(audit_verify(t, &res), ST_OK);
		assert_int_equal(res.records, 1);
		store_read_end(t);
	}
}

static void
test_expire(void **state)
{
	struct engine *e = *state;
	struct rec r, got;
	char id[64], name[16];
	long removed = 0, total = 0;

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "old%d", i);
		rec_make(&r, RK_TXN, idf(e, id, sizeof(id), name), NULL, i, 0);
		r.expires = now_s() - 100;
		assert_int_equal(records_insert(e->r, &r), ST_OK);
		rec_clear(&r);
	}
	rec_make(&r, RK_TXN, idf(e, id, sizeof(id), "young"), NULL, 1, 600);
	assert_int_equal(records_insert(e->r, &r), ST_OK);
	rec_clear(&r);
	/* Bounded: at most budget per call; again until nothing is left. */
	assert_int_equal(records_expire(e->r, RK_TXN, now_s() - 50, 3, &removed), ST_OK);
	assert_true(removed <= 3 && removed > 0);
	total = removed;
	while (removed > 0) {
		assert_int_equal(records_expire(e->r, RK_TXN, now_s() - 50, 3, &removed), ST_OK);
		total += removed;
	}
	assert_true(total >= 5);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "old%d", i);
		assert_int_equal(
		    records_get(e->r, RK_TXN, idf(e, id, sizeof(id), name), &got), ST_NOTFOUND);
		rec_clear(&got);
	}
	assert_int_equal(records_get(e->r, RK_TXN, idf(e, id, sizeof(id), "young"), &got), ST_OK);
	rec_clear(&got);
}

static void
test_invalid(void **state)
{
	struct engine *e = *state;
	struct rec r, got;
	char big[REC_ID_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rec_init(&r, RK_CODE, ""), ST_INVALID);
	assert_int_equal(rec_init(&r, RK_CODE, big), ST_INVALID);
	assert_int_equal(rec_init(&r, RK__COUNT, "x"), ST_INVALID);
	assert_int_equal(records_get(e->r, RK_CODE, "", &got), ST_INVALID);
	assert_int_equal(records_take(e->r, RK_CODE, big, NULL, &got), ST_INVALID);
	/* A body that is not an object, and put-if-version 0, are refused. */
	rec_init(&r, RK_FAMILY, "x");
	r.body = json_integer(1);
	assert_int_equal(records_insert(e->r, &r), ST_INVALID);
	json_decref(r.body);
	r.body = json_object();
	assert_int_equal(records_put_if_version(e->r, &r, 0), ST_INVALID);
	struct rec_op none[REC_BATCH_MAX + 1];
	memset(none, 0, sizeof(none));
	assert_int_equal(records_batch(e->r, none, REC_BATCH_MAX + 1, NULL), ST_INVALID);
	rec_clear(&r);
}

static void
test_secret_id(void **state)
{
	char id[65];

	(void)state;
	/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
	rec_secret_id("abc", id);
	assert_string_equal(id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Migrations are idempotent: a second run finds the schema current. */
static void
test_pg_migrate(void **state)
{
	int from, to;

	(void)state;
	assert_int_equal(records_pg_migrate(pg_conninfo, &from, &to), ST_OK);
	assert_int_equal(to, records_pg_schema_version());
	assert_int_equal(records_pg_migrate(pg_conninfo, &from, &to), ST_OK);
	assert_int_equal(from, records_pg_schema_version());
	assert_int_equal(to, records_pg_schema_version());
}

/* Nobody listening: refused as unavailable within the deadline, never a hang
 * and never an answer of the data. */
static void
test_pg_unreachable(void **state)
{
	struct records_pg_opts o = { .conninfo = "host=127.0.0.1 port=1 dbname=x connect_timeout=2",
		.deadline_ms = 2000 };
	struct records *r = NULL;

	(void)state;
	assert_int_equal(records_open_pg(&o, &r), ST_UNAVAILABLE);
	assert_null(r);
}

/* A pool of one, held by a batch that waits on a row lock held by nobody else:
 * two threads share one connection in turn and both finish. */
static void
test_pg_pool_of_one(void **state)
{
	struct records_pg_opts o = { .conninfo = pg_conninfo, .pool = 1, .deadline_ms = 5000 };
	struct engine e = { 0 };
	pthread_t th[RACERS];
	struct racer x[RACERS];
	pthread_barrier_t go;
	struct rec r;
	char id[64];
	int won = 0;

	(void)state;
	assert_int_equal(records_open_pg(&o, &e.r), ST_OK);
	run_prefix(&e);
	rec_make(&r, RK_CODE, idf(&e, id, sizeof(id), "pool1"), "client-a", 1, 60);
	assert_int_equal(records_insert(e.r, &r), ST_OK);
	rec_clear(&r);
	pthread_barrier_init(&go, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		x[i] = (struct racer){ .r = e.r, .kind = RK_CODE, .id = id, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, racer_take, &x[i]), 0);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		won += x[i].rc == ST_OK;
		assert_true(x[i].rc == ST_OK || x[i].rc == ST_CONFLICT);
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(won, 1);
	records_close(e.r);
}

#define ENGINE_TESTS(setup)                                                               \
	cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_put_if_version, setup, teardown),        \
	    cmocka_unit_test_setup_teardown(test_take_once, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_take_owner_and_expiry, setup, teardown), \
	    cmocka_unit_test_setup_teardown(test_take_race, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_cas_race, setup, teardown),              \
	    cmocka_unit_test_setup_teardown(test_counter, setup, teardown),               \
	    cmocka_unit_test_setup_teardown(test_batch_atomic, setup, teardown),          \
	    cmocka_unit_test_setup_teardown(test_expire, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_invalid, setup, teardown)

int
main(void)
{
	const struct CMUnitTest lmdb[] = {
		cmocka_unit_test(test_secret_id),
		ENGINE_TESTS(setup_lmdb),
	};
	int failed = cmocka_run_group_tests_name("records on lmdb", lmdb, NULL, NULL);

	pg_conninfo = getenv("AUTHD_TEST_PG_CONNINFO");
	if (pg_conninfo == NULL || *pg_conninfo == '\0') {
		printf("# records on postgresql: not run (AUTHD_TEST_PG_CONNINFO unset;"
		       " tests/ha/records.test.sh sets it)\n");
		return failed;
	}
	const struct CMUnitTest pg[] = {
		cmocka_unit_test(test_pg_migrate),
		cmocka_unit_test(test_pg_unreachable),
		cmocka_unit_test(test_pg_pool_of_one),
		ENGINE_TESTS(setup_pg),
	};
	return failed + cmocka_run_group_tests_name("records on postgresql", pg, NULL, NULL);
}

/* authd/records_lmdb.c — records.h on LMDB: each batch is one write function
 * handed to store.h's writer thread (store_write_sync), so it is one nested
 * transaction of a group commit, answered only after the batch's fsync. Reads
 * use the calling thread's read view.
 *
 * Invariants:
 *  - Every check an operation depends on (absent, version, spent, owner) is
 *    made inside the write transaction that writes: LMDB has one writer per
 *    environment (authctl's writes are serialised by its mutex), so a check and
 *    its write can never be separated by another write.
 *  - Records stay in the tables (and the JSON layout) the rest of authd reads
 *    while it moves: the kind's expiry, owner and spent fields keep their old
 *    names, and "rv" carries the version (a record written without one, by a
 *    caller not yet moved, reads as version 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "audit.h"
#include "records.h"
#include "store.h"

#define LMDB_EXPIRE_SCAN 10000 /* entries one records_expire call looks at, at most */

/* Where each kind lives and what its fields are called there. */
static const struct kind_map {
	enum store_table tab;
	const char *prefix;    /* key prefix inside a shared table */
	const char *exp_field; /* expiry (unix seconds) */
	const char *owner;     /* owner field, NULL: none */
	int keep_taken;        /* take marks it spent ("used") instead of deleting */
} kinds[RK__COUNT] = {
	[RK_CODE] = { T_CODES, "", "expires", "client_id", 1 },
	[RK_REFRESH] = { T_REFRESH, "", "exp", NULL, 0 },
	[RK_FAMILY] = { T_FAMILIES, "", "expires", "client", 0 },
	[RK_JTI] = { T_JTI, "", "exp", NULL, 0 },
	[RK_TXN] = { T_LOGINS, "t:", "expires", NULL, 0 },
};

#define COUNTER_PREFIX "c:" /* counters in T_THROTTLE, apart from throttle.c's keys */

struct lmdb_records {
	struct store *st;
};

static int
key_of(enum rec_kind kind, const char *id, char *key, size_t n)
{
	int w = snprintf(key, n, "%s%s", kinds[kind].prefix, id);

	return w > 0 && (size_t)w < n ? ST_OK : ST_INVALID;
}

/* Stored JSON -> record (out->kind and out->id already set). */
static int
decode(json_t *v, struct rec *out)
{
	const struct kind_map *m = &kinds[out->kind];
	json_t *rv, *owner;

	if (!json_is_object(v))
		return ST_CORRUPT;
	rv = json_object_get(v, "rv");
	out->version = json_is_integer(rv) && json_integer_value(rv) > 0
	    ? (uint64_t)json_integer_value(rv)
	    : 1;
	out->expires = json_integer_value(json_object_get(v, m->exp_field));
	out->spent = m->keep_taken && json_is_true(json_object_get(v, "used"));
	out->owner[0] = '\0';
	if (m->owner != NULL && json_is_string(owner = json_object_get(v, m->owner)) &&
	    strlen(json_string_value(owner)) <= REC_OWNER_MAX)
		memcpy(out->owner, json_string_value(owner), strlen(json_string_value(owner)) + 1);
	json_decref(out->body);
	if ((out->body = json_copy(v)) == NULL)
		return ST_ERROR;
	json_object_del(out->body, "rv");
	json_object_del(out->body, m->exp_field);
	if (m->owner != NULL)
		json_object_del(out->body, m->owner);
	if (m->keep_taken)
		json_object_del(out->body, "used");
	return ST_OK;
}

/* Record -> stored JSON (a new object). */
static json_t *
encode(const struct rec *r, uint64_t version)
{
	const struct kind_map *m = &kinds[r->kind];
	json_t *v = r->body != NULL ? json_copy(r->body) : json_object();

	if (v == NULL)
		return NULL;
	json_object_set_new(v, "rv", json_integer((json_int_t)version));
	if (r->expires > 0)
		json_object_set_new(v, m->exp_field, json_integer(r->expires));
	else
		json_object_del(v, m->exp_field);
	if (m->owner != NULL && r->owner[0] != '\0')
		json_object_set_new(v, m->owner, json_string(r->owner));
	if (m->keep_taken)
		json_object_set_new(v, "used", json_boolean(r->spent));
	return v;
}

static int
load(struct store_txn *t, enum rec_kind kind, const char *id, struct rec *out)
{
	char key[REC_ID_MAX + 8];
	json_t *v = NULL;
	int rc;

	if ((rc = key_of(kind, id, key, sizeof(key))) != ST_OK)
		return rc;
	if ((rc = store_gets(t, kinds[kind].tab, key, &v)) != ST_OK)
		return rc;
	rc = decode(v, out);
	json_decref(v);
	return rc;
}

static int
save(struct store_txn *t, const struct rec *r, uint64_t version)
{
	char key[REC_ID_MAX + 8];
	json_t *v;
	int rc;

	if ((rc = key_of(r->kind, r->id, key, sizeof(key))) != ST_OK)
		return rc;
	if ((v = encode(r, version)) == NULL)
		return ST_ERROR;
	rc = store_puts(t, kinds[r->kind].tab, key, v, 0);
	json_decref(v);
	return rc;
}

static int
lmdb_get(void *impl, enum rec_kind kind, const char *id, struct rec *out)
{
	struct lmdb_records *l = impl;
	struct store_txn *t;
	int rc;

	if ((t = store_read_begin(l->st)) == NULL)
		return ST_IO;
	rc = load(t, kind, id, out);
	store_read_end(t);
	if (rc == ST_OK && rec_expired(out, now_s()))
		rc = ST_EXPIRED;
	return rc;
}

/* ---- the batch, on the writer thread ---- */

struct batch {
	struct rec_op *ops;
	size_t n, failed;
	int64_t now;
};

static int
op_insert(struct store_txn *t, struct rec *r, int64_t now)
{
	struct rec cur;
	uint64_t version = 1;
	int rc;

	rec_init(&cur, r->kind, r->id);
	rc = load(t, r->kind, r->id, &cur);
	if (rc == ST_OK && !rec_expired(&cur, now)) {
		rec_clear(&cur);
		return ST_EXISTS;
	}
	/* Replacing an expired record: versions only grow, so a writer still
	 * holding the old one cannot overwrite the new one. */
	if (rc == ST_OK)
		version = cur.version + 1;
	rec_clear(&cur);
	if (rc != ST_OK && rc != ST_NOTFOUND)
		return rc;
	if ((rc = save(t, r, version)) == ST_OK)
		r->version = version;
	return rc;
}

static int
op_put(struct store_txn *t, struct rec *r, uint64_t expect)
{
	struct rec cur;
	int rc;

	rec_init(&cur, r->kind, r->id);
	rc = load(t, r->kind, r->id, &cur);
	if (rc == ST_OK && cur.version != expect)
		rc = ST_CONFLICT;
	rec_clear(&cur);
	if (rc != ST_OK)
		return rc;
	if ((rc = save(t, r, expect + 1)) == ST_OK)
		r->version = expect + 1;
	return rc;
}

static int
op_take(struct store_txn *t, struct rec *r, int owner_check, int64_t now)
{
	char owner[REC_OWNER_MAX + 1], key[REC_ID_MAX + 8];
	int rc;

	memcpy(owner, r->owner, sizeof(owner));
	if ((rc = load(t, r->kind, r->id, r)) != ST_OK)
		return rc;
	/* Whose it is comes first: a wrong owner learns nothing and burns nothing. */
	if ((rc = rec_take_refusal(r, owner, owner_check, now)) != ST_OK)
		return rc;
	if (kinds[r->kind].keep_taken) {
		r->spent = 1;
		if ((rc = save(t, r, r->version + 1)) == ST_OK)
			r->version++;
		return rc;
	}
	if ((rc = key_of(r->kind, r->id, key, sizeof(key))) != ST_OK)
		return rc;
	return store_dels(t, kinds[r->kind].tab, key);
}

static int
op_delete(struct store_txn *t, const struct rec *r)
{
	char key[REC_ID_MAX + 8];
	int rc;

	if ((rc = key_of(r->kind, r->id, key, sizeof(key))) != ST_OK)
		return rc;
	rc = store_dels(t, kinds[r->kind].tab, key);
	return rc == ST_NOTFOUND ? ST_OK : rc;
}

static int
batch_write(struct store_txn *t, void *ctx)
{
	struct batch *b = ctx;

	for (size_t i = 0; i < b->n; i++) {
		struct rec_op *op = &b->ops[i];
		int rc;

		switch (op->type) {
		case ROP_INSERT:
			rc = op_insert(t, op->rec, b->now);
			break;
		case ROP_PUT_IF_VERSION:
			rc = op_put(t, op->rec, op->expect);
			break;
		case ROP_TAKE:
			rc = op_take(t, op->rec, op->owner_check, b->now);
			break;
		case ROP_DELETE:
			rc = op_delete(t, op->rec);
			break;
		case ROP_AUDIT:
			rc = audit_append(t, op->event, op->fields);
			break;
		default:
			rc = ST_INVALID;
		}
		if (rc != ST_OK) {
			/* Returning it rolls the whole batch back (its nested txn). */
			b->failed = i;
			return rc;
		}
	}
	return ST_OK;
}

static int
lmdb_batch(void *impl, struct rec_op *ops, size_t n, size_t *failed)
{
	struct lmdb_records *l = impl;
	struct batch b = { .ops = ops, .n = n, .now = now_s() };
	int rc;

	rc = store_write_sync(l->st, batch_write, &b);
	if (failed != NULL)
		*failed = b.failed;
	if (rc != ST_OK) {
		/* A failed commit wrote nothing: versions set above are not true. */
		for (size_t i = 0; i < n; i++)
			if ((ops[i].type == ROP_INSERT || ops[i].type == ROP_PUT_IF_VERSION) &&
			    i >= b.failed && ops[i].rec != NULL)
				ops[i].rec->version = 0;
	}
	return rc;
}

/* ---- counters ---- */

struct counter {
	const char *id;
	int64_t now;
	int window_s;
	int64_t value;
};

static int
count_write(struct store_txn *t, void *ctx)
{
	struct counter *c = ctx;
	char key[REC_ID_MAX + 8];
	json_t *v = NULL;
	int64_t n = 0, exp = 0;
	int rc;

	snprintf(key, sizeof(key), COUNTER_PREFIX "%s", c->id);
	rc = store_gets(t, T_THROTTLE, key, &v);
	if (rc == ST_OK) {
		n = json_integer_value(json_object_get(v, "n"));
		exp = json_integer_value(json_object_get(v, "exp"));
		json_decref(v);
	} else if (rc != ST_NOTFOUND) {
		return rc;
	}
	if (exp <= c->now) {
		/* No window, or it ended: a fresh one starts with this event. */
		n = 0;
		exp = c->now + c->window_s;
	}
	c->value = n + 1;
	v = json_pack("{s:I s:I}", "n", (json_int_t)c->value, "exp", (json_int_t)exp);
	if (v == NULL)
		return ST_ERROR;
	rc = store_puts(t, T_THROTTLE, key, v, 0);
	json_decref(v);
	return rc;
}

static int
lmdb_count(void *impl, const char *id, int64_t now, int window_s, int64_t *value)
{
	struct lmdb_records *l = impl;
	struct counter c = { .id = id, .now = now, .window_s = window_s };
	int rc;

	if ((rc = store_write_sync(l->st, count_write, &c)) == ST_OK)
		*value = c.value;
	return rc;
}

static int
lmdb_count_get(void *impl, const char *id, int64_t now, int64_t *value)
{
	struct lmdb_records *l = impl;
	struct store_txn *t;
	char key[REC_ID_MAX + 8];
	json_t *v = NULL;
	int rc;

	snprintf(key, sizeof(key), COUNTER_PREFIX "%s", id);
	if ((t = store_read_begin(l->st)) == NULL)
		return ST_IO;
	rc = store_gets(t, T_THROTTLE, key, &v);
	store_read_end(t);
	if (rc == ST_NOTFOUND)
		return ST_OK;
	if (rc != ST_OK)
		return rc;
	if (json_integer_value(json_object_get(v, "exp")) > now)
		*value = json_integer_value(json_object_get(v, "n"));
	json_decref(v);
	return ST_OK;
}

/* ---- expiry: LMDB has no expiry index; a bounded scan in one write ---- */

struct expire {
	enum rec_kind kind;
	int64_t cutoff;
	size_t budget, seen, ndoomed;
	char (*doomed)[REC_ID_MAX + 8];
};

static int
expire_scan(const void *key, size_t klen, json_t *v, void *ctx)
{
	struct expire *e = ctx;
	const struct kind_map *m = &kinds[e->kind];
	size_t plen = strlen(m->prefix);
	int64_t exp;

	if (klen < plen || memcmp(key, m->prefix, plen) != 0)
		return plen > 0 ? 1 : 0; /* past the prefix: done */
	exp = json_integer_value(json_object_get(v, m->exp_field));
	if (exp > 0 && exp < e->cutoff && klen < sizeof(e->doomed[0])) {
		memcpy(e->doomed[e->ndoomed], key, klen);
		e->doomed[e->ndoomed][klen] = '\0';
		e->ndoomed++;
	}
	return ++e->seen >= LMDB_EXPIRE_SCAN || e->ndoomed >= e->budget;
}

static int
expire_write(struct store_txn *t, void *ctx)
{
	struct expire *e = ctx;
	const char *prefix = kinds[e->kind].prefix;
	int rc;

	e->seen = e->ndoomed = 0;
	rc = store_iter(
	    t, kinds[e->kind].tab, *prefix ? prefix : NULL, strlen(prefix), expire_scan, e);
	if (rc != ST_OK && rc != 1)
		return rc;
	for (size_t i = 0; i < e->ndoomed; i++)
		if ((rc = store_dels(t, kinds[e->kind].tab, e->doomed[i])) != ST_OK)
			return rc;
	return ST_OK;
}

static int
lmdb_expire(void *impl, enum rec_kind kind, int64_t cutoff, size_t budget, long *removed)
{
	struct lmdb_records *l = impl;
	struct expire e = { .kind = kind, .cutoff = cutoff, .budget = budget };
	int rc;

	if (budget > LMDB_EXPIRE_SCAN)
		e.budget = budget = LMDB_EXPIRE_SCAN;
	if ((e.doomed = calloc(budget, sizeof(*e.doomed))) == NULL)
		return ST_ERROR;
	if ((rc = store_write_sync(l->st, expire_write, &e)) == ST_OK)
		*removed = (long)e.ndoomed;
	free(e.doomed);
	return rc;
}

static void
lmdb_close(void *impl)
{
	free(impl);
}

static const struct records_backend lmdb_backend = {
	.name = "lmdb",
	.get = lmdb_get,
	.batch = lmdb_batch,
	.count = lmdb_count,
	.count_get = lmdb_count_get,
	.expire = lmdb_expire,
	.close = lmdb_close,
};

int
records_open_lmdb(struct store *st, struct records **out)
{
	struct lmdb_records *l;
	int rc;

	*out = NULL;
	if (st == NULL)
		return ST_INVALID;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ST_ERROR;
	l->st = st;
	if ((rc = records_wrap(&lmdb_backend, l, out)) != ST_OK)
		free(l);
	return rc;
}

/* authd/audit.c — the hash-chained audit log: append inside the caller's write
 * transaction, verify the whole chain, prune old records behind an anchor.
 *
 * Stored in T_AUDIT under the 8-byte big-endian sequence; each record's "prev" is
 * the hex SHA-256 of the previous record's exact stored bytes. Two marks in T_META
 * close the ends of the chain, which a backward hash chain alone cannot protect:
 *   "audit_anchor" {"seq","hash"}: the last record removed by audit_prune, so the
 *                  first remaining record still has something to chain to;
 *   "audit_head"   {"seq","hash"}: the last record appended, so altering the
 *                  newest record or cutting records off the end is detected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "audit.h"

#define AUDIT_MAX_RECORD   16384   /* bytes; records are small, fields are bounded by callers */
#define AUDIT_MAX_EVENT    64
#define AUDIT_ANCHOR_KEY   "audit_anchor"
#define AUDIT_HEAD_KEY     "audit_head"

static const char zero_hash[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static void
be64_put(uint8_t k[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (uint8_t)v;
}

static uint64_t
be64_get(const uint8_t k[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | k[i];
	return v;
}

static void
hash_hex(const void *val, size_t vlen, char out[65])
{
	uint8_t h[SHA256_LEN];

	sha256(val, vlen, h);
	hex_encode(out, h, sizeof(h));
}

/* Reads a {"seq","hash"} mark from T_META. */
static int
mark_load(struct store_txn *t, const char *name, uint64_t *seq, char hash[65])
{
	json_t *m, *js, *jh;
	int rc;

	if ((rc = store_gets(t, T_META, name, &m)) != STORE_OK)
		return rc;
	js = json_object_get(m, "seq");
	jh = json_object_get(m, "hash");
	if (!json_is_integer(js) || json_integer_value(js) < 0 || !json_is_string(jh) ||
	    json_string_length(jh) != 64) {
		json_decref(m);
		return STORE_CORRUPT;
	}
	*seq = (uint64_t)json_integer_value(js);
	memcpy(hash, json_string_value(jh), 65);
	json_decref(m);
	return STORE_OK;
}

static int
mark_store(struct store_txn *t, const char *name, uint64_t seq, const char hash[65])
{
	json_t *m = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "hash", hash);
	int rc;

	if (m == NULL)
		return STORE_IO;
	rc = store_puts(t, T_META, name, m, 0);
	json_decref(m);
	return rc;
}

static int
reserved_field(const char *k)
{
	return strcmp(k, "seq") == 0 || strcmp(k, "ts") == 0 || strcmp(k, "event") == 0 ||
	       strcmp(k, "prev") == 0;
}

static int
event_name_ok(const char *e)
{
	size_t n;

	if (e == NULL || (n = strlen(e)) == 0 || n > AUDIT_MAX_EVENT)
		return 0;
	for (; *e != '\0'; e++)
		if (!((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
		      (*e >= '0' && *e <= '9') || *e == '.' || *e == '_' || *e == '-' || *e == ':'))
			return 0;
	return 1;
}

int
audit_append(struct store_txn *t, const char *event, const json_t *fields)
{
	const void *k, *v;
	size_t klen, vlen, n;
	uint64_t seq;
	char prev[65], head[65];
	uint8_t key[8];
	const char *name;
	json_t *rec, *val;
	unsigned char *raw;
	char *js;
	int rc;

	if (!event_name_ok(event) || (fields != NULL && !json_is_object(fields)))
		return STORE_INVALID;
	json_object_foreach((json_t *)fields, name, val)
		if (reserved_field(name))
			return STORE_INVALID;

	/* The predecessor is read in this same write txn, so appends from another
	 * process (authctl) and from the daemon interleave into one chain. */
	rc = store_last_raw(t, T_AUDIT, &k, &klen, &v, &vlen);
	if (rc == STORE_OK) {
		if (klen != 8)
			return STORE_CORRUPT;
		seq = be64_get(k) + 1;
		hash_hex(v, vlen, prev);
	} else if (rc == STORE_NOTFOUND) {
		rc = mark_load(t, AUDIT_ANCHOR_KEY, &seq, prev);
		if (rc == STORE_NOTFOUND) {
			seq = 0;
			memcpy(prev, zero_hash, sizeof(prev));
		} else if (rc != STORE_OK) {
			return rc;
		}
		seq++;
	} else {
		return rc;
	}

	rec = json_pack("{s:I,s:I,s:s}", "seq", (json_int_t)seq, "ts", (json_int_t)now_s(),
	                "event", event);
	if (rec == NULL)
		return STORE_IO;
	if (fields != NULL && json_object_update(rec, (json_t *)fields) != 0)
		goto nomem;
	if (json_object_set_new(rec, "prev", json_string(prev)) != 0)
		goto nomem;
	js = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (js == NULL)
		return STORE_INVALID;
	n = strlen(js);
	if (n + 1 > AUDIT_MAX_RECORD || (raw = malloc(n + 1)) == NULL) {
		free(js);
		return STORE_INVALID;
	}
	raw[0] = STORE_RECORD_V1;
	memcpy(raw + 1, js, n);
	free(js);
	be64_put(key, seq);
	if ((rc = store_put_raw(t, T_AUDIT, key, sizeof(key), raw, n + 1)) == STORE_OK) {
		hash_hex(raw, n + 1, head);
		rc = mark_store(t, AUDIT_HEAD_KEY, seq, head);
	}
	free(raw);
	return rc;
nomem:
	json_decref(rec);
	return STORE_IO;
}

struct verify_state {
	uint64_t base;             /* anchor seq (0 without pruning) */
	uint64_t expect;           /* next sequence expected */
	char prev[65];             /* hash the next record's "prev" must hold */
	uint64_t records;
	uint64_t pending;          /* record whose prev mismatched, awaiting its successor */
	char pending_hash[65];
	uint64_t first_bad;
	const char *problem;
};

static void
verify_fail(struct verify_state *st, uint64_t seq, const char *problem)
{
	st->first_bad = seq;
	st->problem = problem;
}

/* Record p's "prev" did not match the hash of p-1. Either p-1 was altered, or p's
 * own "prev" was. If p's successor (or the head mark) still vouches for p's bytes,
 * p is intact and the alteration is in p-1. */
static void
verify_resolve(struct verify_state *st, int successor_confirms)
{
	if (successor_confirms && st->pending - 1 > st->base)
		verify_fail(st, st->pending - 1,
		            "record altered: its hash does not match the next record's prev");
	else
		verify_fail(st, st->pending, "prev does not match the hash of the previous record");
}

/* 0 and fills prev/seq when the stored bytes are a readable audit record. */
static int
parse_record(const void *val, size_t vlen, uint64_t *seq, char prev[65])
{
	json_t *j, *js, *jp;
	int ok;

	if (vlen < 2 || ((const unsigned char *)val)[0] != STORE_RECORD_V1)
		return -1;
	j = json_loadb((const char *)val + 1, vlen - 1, JSON_REJECT_DUPLICATES, NULL);
	js = json_object_get(j, "seq");
	jp = json_object_get(j, "prev");
	ok = json_is_object(j) && json_is_integer(js) && json_integer_value(js) > 0 &&
	     json_is_string(jp) && json_string_length(jp) == 64;
	if (ok) {
		*seq = (uint64_t)json_integer_value(js);
		memcpy(prev, json_string_value(jp), 65);
	}
	json_decref(j);
	return ok ? 0 : -1;
}

static int
verify_cb(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct verify_state *st = ctx;
	uint64_t seq, inner;
	char prev[65], h[65];

	if (klen != 8) {
		if (st->pending)
			verify_resolve(st, 0);
		else
			verify_fail(st, st->expect, "record key is not an 8-byte sequence");
		return 1;
	}
	seq = be64_get(key);
	if (seq != st->expect) {
		if (st->pending)
			verify_resolve(st, 0);
		else if (seq > st->expect)
			verify_fail(st, st->expect, "gap in sequence: record missing");
		else
			verify_fail(st, seq, "record at or before the pruning anchor");
		return 1;
	}
	st->records++;
	if (parse_record(val, vlen, &inner, prev) != 0) {
		if (st->pending)
			verify_resolve(st, 0);
		else
			verify_fail(st, seq, "unreadable record (bad version byte or JSON)");
		return 1;
	}
	if (st->pending) {
		verify_resolve(st, strcmp(prev, st->pending_hash) == 0);
		return 1;
	}
	if (inner != seq) {
		verify_fail(st, seq, "seq member does not match the record's key");
		return 1;
	}
	hash_hex(val, vlen, h);
	if (strcmp(prev, st->prev) != 0) {
		st->pending = seq;
		memcpy(st->pending_hash, h, sizeof(h));
	}
	memcpy(st->prev, h, sizeof(h));
	st->expect = seq + 1;
	return 0;
}

int
audit_verify(struct store_txn *t, struct audit_verify_result *res)
{
	struct verify_state st;
	uint64_t head_seq;
	char head[65];
	int rc, have_head;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	rc = mark_load(t, AUDIT_ANCHOR_KEY, &st.base, st.prev);
	if (rc == STORE_NOTFOUND) {
		st.base = 0;
		memcpy(st.prev, zero_hash, sizeof(st.prev));
	} else if (rc != STORE_OK) {
		res->problem = "pruning anchor unreadable";
		res->first_bad = 1;
		return STORE_CORRUPT;
	}
	st.expect = st.base + 1;

	rc = mark_load(t, AUDIT_HEAD_KEY, &head_seq, head);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		res->problem = "head mark unreadable";
		res->first_bad = 1;
		return STORE_CORRUPT;
	}
	have_head = rc == STORE_OK;

	rc = store_iter_raw(t, T_AUDIT, NULL, 0, verify_cb, &st);
	if (rc != STORE_OK && rc != 1)
		return rc;
	if (st.first_bad == 0 && st.pending)
		verify_resolve(&st, have_head && head_seq == st.pending &&
		                    strcmp(head, st.pending_hash) == 0);
	if (st.first_bad == 0 && have_head) {
		if (head_seq >= st.expect)
			verify_fail(&st, st.expect, "records missing at the end of the chain");
		else if (head_seq + 1 < st.expect)
			verify_fail(&st, head_seq + 1, "records beyond the recorded head");
		else if (strcmp(head, st.prev) != 0)
			verify_fail(&st, head_seq, "last record altered (does not match the recorded head)");
	} else if (st.first_bad == 0 && st.expect != st.base + 1) {
		verify_fail(&st, st.expect - 1, "head mark missing");
	}
	res->records = st.records;
	res->first_bad = st.first_bad;
	res->problem = st.problem;
	return st.first_bad == 0 ? STORE_OK : STORE_CORRUPT;
}

struct prune_state {
	int64_t cutoff;
	uint64_t first, last;
	int found;
};

static int
prune_cb(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct prune_state *ps = ctx;
	json_t *j, *ts;
	int64_t when;

	if (klen != 8 || vlen < 2 || ((const unsigned char *)val)[0] != STORE_RECORD_V1)
		return STORE_CORRUPT;
	j = json_loadb((const char *)val + 1, vlen - 1, 0, NULL);
	ts = json_object_get(j, "ts");
	if (!json_is_integer(ts)) {
		json_decref(j);
		return STORE_CORRUPT;
	}
	when = json_integer_value(ts);
	json_decref(j);
	/* Stop at the first record young enough: the remaining chain stays contiguous
	 * even if the clock once stepped back. */
	if (when >= ps->cutoff)
		return 1;
	if (!ps->found)
		ps->first = be64_get(key);
	ps->last = be64_get(key);
	ps->found = 1;
	return 0;
}

int
audit_prune(struct store_txn *t, int64_t cutoff)
{
	struct prune_state ps = { .cutoff = cutoff };
	const void *v;
	size_t vlen;
	uint8_t key[8];
	char h[65];
	int rc;

	rc = store_iter_raw(t, T_AUDIT, NULL, 0, prune_cb, &ps);
	if (rc != STORE_OK && rc != 1)
		return rc;
	if (!ps.found)
		return STORE_OK;
	be64_put(key, ps.last);
	if ((rc = store_get_raw(t, T_AUDIT, key, sizeof(key), &v, &vlen)) != STORE_OK)
		return rc;
	hash_hex(v, vlen, h);
	/* Bounded by the records just seen (last - first + 1 of them). */
	for (uint64_t seq = ps.first; seq <= ps.last; seq++) {
		be64_put(key, seq);
		rc = store_del(t, T_AUDIT, key, sizeof(key));
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return rc;
	}
	return mark_store(t, AUDIT_ANCHOR_KEY, ps.last, h);
}

/* authd/records.c — the engine-independent half of records.h: record helpers,
 * argument checks, and each single operation as a batch of one, so an engine
 * implements only get, batch, count and expire. */
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "records.h"

struct records {
	const struct records_backend *be;
	void *impl;
};

static const char *const kind_names[RK__COUNT] = {
	[RK_CODE] = "code",
	[RK_REFRESH] = "refresh",
	[RK_FAMILY] = "family",
	[RK_JTI] = "jti",
	[RK_TXN] = "txn",
};

const char *
rec_kind_name(enum rec_kind kind)
{
	return (unsigned)kind < RK__COUNT ? kind_names[kind] : "unknown";
}

static int
id_ok(const char *id)
{
	size_t n;

	if (id == NULL)
		return 0;
	n = strlen(id);
	return n > 0 && n <= REC_ID_MAX;
}

int
rec_init(struct rec *r, enum rec_kind kind, const char *id)
{
	memset(r, 0, sizeof(*r));
	if ((unsigned)kind >= RK__COUNT || !id_ok(id))
		return ST_INVALID;
	r->kind = kind;
	memcpy(r->id, id, strlen(id) + 1);
	return ST_OK;
}

void
rec_clear(struct rec *r)
{
	if (r == NULL)
		return;
	json_decref(r->body);
	memset(r, 0, sizeof(*r));
}

void
rec_secret_id(const char *secret, char id[65])
{
	uint8_t h[SHA256_LEN];

	sha256(secret, strlen(secret), h);
	hex_encode(id, h, sizeof(h));
	wipe(h, sizeof(h));
}

int
rec_expired(const struct rec *r, int64_t now)
{
	return r->expires > 0 && r->expires <= now;
}

int
rec_take_refusal(struct rec *r, const char *owner, int owner_check, int64_t now)
{
	if (owner_check && strcmp(owner, r->owner) != 0) {
		json_decref(r->body);
		r->body = NULL;
		r->owner[0] = '\0';
		return ST_DENIED;
	}
	if (r->spent)
		return ST_CONFLICT;
	if (rec_expired(r, now))
		return ST_EXPIRED;
	return ST_OK;
}

int
records_wrap(const struct records_backend *be, void *impl, struct records **out)
{
	struct records *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ST_ERROR;
	s->be = be;
	s->impl = impl;
	*out = s;
	return ST_OK;
}

void
records_close(struct records *s)
{
	if (s == NULL)
		return;
	s->be->close(s->impl);
	free(s);
}

const char *
records_backend_name(const struct records *s)
{
	return s->be->name;
}

/* A record an engine may write: a known kind, an id, an owner that fits and a
 * JSON object body. */
static int
rec_writable(const struct rec *r)
{
	return r != NULL && (unsigned)r->kind < RK__COUNT && id_ok(r->id) &&
	    strlen(r->owner) <= REC_OWNER_MAX && (r->body == NULL || json_is_object(r->body)) &&
	    r->expires >= 0;
}

int
records_get(struct records *s, enum rec_kind kind, const char *id, struct rec *out)
{
	int rc;

	if ((rc = rec_init(out, kind, id)) != ST_OK)
		return rc;
	return s->be->get(s->impl, kind, id, out);
}

int
records_batch(struct records *s, struct rec_op *ops, size_t n, size_t *failed)
{
	if (failed != NULL)
		*failed = 0;
	if (s == NULL || ops == NULL || n == 0 || n > REC_BATCH_MAX)
		return ST_INVALID;
	for (size_t i = 0; i < n; i++) {
		int ok;

		switch (ops[i].type) {
		case ROP_INSERT:
		case ROP_PUT_IF_VERSION:
			ok = rec_writable(ops[i].rec) &&
			    (ops[i].type == ROP_INSERT || ops[i].expect > 0);
			break;
		case ROP_TAKE:
		case ROP_DELETE:
			ok = ops[i].rec != NULL && (unsigned)ops[i].rec->kind < RK__COUNT &&
			    id_ok(ops[i].rec->id);
			break;
		case ROP_AUDIT:
			ok = ops[i].event != NULL && *ops[i].event != '\0' &&
			    (ops[i].fields == NULL || json_is_object(ops[i].fields));
			break;
		default:
			ok = 0;
		}
		if (!ok) {
			if (failed != NULL)
				*failed = i;
			return ST_INVALID;
		}
	}
	return s->be->batch(s->impl, ops, n, failed);
}

int
records_insert(struct records *s, struct rec *r)
{
	struct rec_op op = { .type = ROP_INSERT, .rec = r };

	return records_batch(s, &op, 1, NULL);
}

int
records_put_if_version(struct records *s, struct rec *r, uint64_t expect)
{
	struct rec_op op = { .type = ROP_PUT_IF_VERSION, .rec = r, .expect = expect };

	return records_batch(s, &op, 1, NULL);
}

int
records_take(
    struct records *s, enum rec_kind kind, const char *id, const char *owner, struct rec *out)
{
	struct rec_op op = { .type = ROP_TAKE, .rec = out, .owner_check = owner != NULL };
	int rc;

	if ((rc = rec_init(out, kind, id)) != ST_OK)
		return rc;
	if (owner != NULL) {
		if (strlen(owner) > REC_OWNER_MAX)
			return ST_INVALID;
		memcpy(out->owner, owner, strlen(owner) + 1);
	}
	return records_batch(s, &op, 1, NULL);
}

int
records_audit(struct records *s, const char *event, const json_t *fields)
{
	struct rec_op op = { .type = ROP_AUDIT, .event = event, .fields = fields };

	return records_batch(s, &op, 1, NULL);
}

int
records_count(struct records *s, const char *id, int64_t now, int window_s, int64_t *value)
{
	*value = 0;
	if (s == NULL || !id_ok(id) || window_s <= 0)
		return ST_INVALID;
	return s->be->count(s->impl, id, now, window_s, value);
}

int
records_count_get(struct records *s, const char *id, int64_t now, int64_t *value)
{
	*value = 0;
	if (s == NULL || !id_ok(id))
		return ST_INVALID;
	return s->be->count_get(s->impl, id, now, value);
}

int
records_expire(struct records *s, enum rec_kind kind, int64_t cutoff, size_t budget, long *removed)
{
	*removed = 0;
	if (s == NULL || (unsigned)kind >= RK__COUNT || budget == 0)
		return ST_INVALID;
	return s->be->expire(s->impl, kind, cutoff, budget, removed);
}

/* authd/fairq.c — the worker pool's fair queue (fairq.h): per-source and
 * per-account places, and round-robin between sources.
 *
 * Invariants: a source is on the ring exactly when it has queued jobs; an
 * entry (source or account) exists exactly while it holds places (held > 0);
 * q->held is the sum of the sources' held. Entries are found through a small
 * chained hash; there are never more of them than places (q->total). */
#include "fairq.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 128
#define BUCKETS 256

struct fairq_src {
	char key[KEY_LEN];
	unsigned held;
	struct fairq_job *head, *tail;   /* queued, FIFO */
	struct fairq_src *ring_next;     /* on the ring when head != NULL */
	struct fairq_src *hnext;
};

struct fairq_acct {
	char key[KEY_LEN];
	unsigned held;
	struct fairq_acct *hnext;
};

struct fairq {
	unsigned per_source, per_account, total;
	size_t held, queued;
	struct fairq_src *ring_head, *ring_tail;
	struct fairq_src *src[BUCKETS];
	struct fairq_acct *acct[BUCKETS];
};

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a: keys are ours, not chosen to collide */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

static void
key_copy(char dst[KEY_LEN], const char *src)
{
	size_t n = strlen(src);

	if (n >= KEY_LEN)
		n = KEY_LEN - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct fairq *
fairq_new(unsigned per_source, unsigned per_account, unsigned total)
{
	struct fairq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->per_source = per_source > 0 ? per_source : 1;
	q->per_account = per_account > 0 ? per_account : 1;
	q->total = total > 0 ? total : 1;
	return q;
}

void
fairq_free(struct fairq *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < BUCKETS; i++) {
		struct fairq_src *s, *sn;
		struct fairq_acct *a, *an;

		for (s = q->src[i]; s != NULL; s = sn) {
			struct fairq_job *j, *jn;

			sn = s->hnext;
			for (j = s->head; j != NULL; j = jn) {
				jn = j->next;
				free(j);
			}
			free(s);
		}
		for (a = q->acct[i]; a != NULL; a = an) {
			an = a->hnext;
			free(a);
		}
	}
	free(q);
}

static struct fairq_src *
src_find(struct fairq *q, const char *key, int create)
{
	char k[KEY_LEN];
	unsigned h;
	struct fairq_src *s;

	key_copy(k, key);
	h = hash(k);
	for (s = q->src[h]; s != NULL; s = s->hnext)
		if (strcmp(s->key, k) == 0)
			return s;
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	memcpy(s->key, k, sizeof(k));
	s->hnext = q->src[h];
	q->src[h] = s;
	return s;
}

static struct fairq_acct *
acct_find(struct fairq *q, const char *key, int create)
{
	char k[KEY_LEN];
	unsigned h;
	struct fairq_acct *a;

	key_copy(k, key);
	h = hash(k);
	for (a = q->acct[h]; a != NULL; a = a->hnext)
		if (strcmp(a->key, k) == 0)
			return a;
	if (!create || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	memcpy(a->key, k, sizeof(k));
	a->hnext = q->acct[h];
	q->acct[h] = a;
	return a;
}

static void
src_drop(struct fairq *q, struct fairq_src *s)
{
	struct fairq_src **pp = &q->src[hash(s->key)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			free(s);
			return;
		}
}

static void
acct_drop(struct fairq *q, struct fairq_acct *a)
{
	struct fairq_acct **pp = &q->acct[hash(a->key)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == a) {
			*pp = a->hnext;
			free(a);
			return;
		}
}

int
fairq_admit(struct fairq *q, const char *source, const char *account, struct fairq_job **out)
{
	struct fairq_src *s;
	struct fairq_acct *a = NULL;
	struct fairq_job *j;

	*out = NULL;
	if (source == NULL)
		source = "";
	if (q->held >= q->total)
		return FAIRQ_FULL;
	s = src_find(q, source, 0);
	if (s != NULL && s->held >= q->per_source)
		return FAIRQ_SOURCE_FULL;
	if (account != NULL) {
		a = acct_find(q, account, 0);
		if (a != NULL && a->held >= q->per_account)
			return FAIRQ_ACCOUNT_FULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return FAIRQ_NOMEM;
	if (s == NULL && (s = src_find(q, source, 1)) == NULL) {
		free(j);
		return FAIRQ_NOMEM;
	}
	if (account != NULL && a == NULL && (a = acct_find(q, account, 1)) == NULL) {
		if (s->held == 0)
			src_drop(q, s);
		free(j);
		return FAIRQ_NOMEM;
	}
	s->held++;
	if (a != NULL)
		a->held++;
	q->held++;
	j->src = s;
	j->acct = a;
	*out = j;
	return FAIRQ_OK;
}

void
fairq_submit(struct fairq *q, struct fairq_job *j)
{
	struct fairq_src *s = j->src;

	j->next = NULL;
	if (s->tail != NULL) {
		s->tail->next = j;
		s->tail = j;
	} else {
		s->head = s->tail = j;
		/* the source had nothing queued: it joins the end of the ring */
		s->ring_next = NULL;
		if (q->ring_tail != NULL)
			q->ring_tail->ring_next = s;
		else
			q->ring_head = s;
		q->ring_tail = s;
	}
	q->queued++;
}

/* Gives back j's places and frees it. */
static void
release(struct fairq *q, struct fairq_job *j)
{
	struct fairq_src *s = j->src;
	struct fairq_acct *a = j->acct;

	if (--s->held == 0 && s->head == NULL)
		src_drop(q, s);
	if (a != NULL && --a->held == 0)
		acct_drop(q, a);
	q->held--;
	free(j);
}

void
fairq_cancel(struct fairq *q, struct fairq_job *j)
{
	if (j != NULL)
		release(q, j);
}

struct fairq_job *
fairq_next(struct fairq *q)
{
	struct fairq_src *s = q->ring_head;
	struct fairq_job *j;

	if (s == NULL)
		return NULL;
	j = s->head;
	s->head = j->next;
	j->next = NULL;
	q->queued--;
	/* off the front of the ring; back at its end while it has more queued */
	q->ring_head = s->ring_next;
	if (q->ring_head == NULL)
		q->ring_tail = NULL;
	s->ring_next = NULL;
	if (s->head != NULL) {
		if (q->ring_tail != NULL)
			q->ring_tail->ring_next = s;
		else
			q->ring_head = s;
		q->ring_tail = s;
	} else {
		s->tail = NULL;
	}
	return j;
}

void
fairq_finish(struct fairq *q, struct fairq_job *j)
{
	if (j != NULL)
		release(q, j);
}

size_t
fairq_held(const struct fairq *q)
{
	return q->held;
}

size_t
fairq_queued(const struct fairq *q)
{
	return q->queued;
}

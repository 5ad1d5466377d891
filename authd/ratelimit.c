/* authd/ratelimit.c — the per-client token buckets (ratelimit.h): the bucket
 * arithmetic and the lock-striped table that holds one bucket per client.
 *
 * Invariant: a bucket is only read or changed under its stripe's mutex; the
 * arithmetic itself is pure (times are passed in), so it is tested alone. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

long
ratelimit_bucket_take(struct ratelimit_bucket *b, double rate, double burst, uint64_t now_ns)
{
	double wait;

	if (rate <= 0)
		return 0;
	if (burst < 1)
		burst = 1;
	if (b->last_ns == 0) {
		b->tokens = burst; /* a client not seen yet starts with its whole burst */
	} else if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	if (now_ns > b->last_ns || b->last_ns == 0)
		b->last_ns = now_ns ? now_ns : 1;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	/* Whole seconds, rounded up: a client that waits Retry-After is served. */
	wait = ceil((1 - b->tokens) / rate);
	return wait < 1 ? 1 : wait > 86400 ? 86400 : (long)wait;
}

struct slot {
	uint64_t hash;
	char key[RATELIMIT_KEY_MAX + 1];
	struct ratelimit_bucket b;
	uint64_t audited_ns; /* last audit record for this client; 0: none */
	long refused;        /* refusals since then */
};

struct stripe {
	pthread_mutex_t mu;
	struct slot slots[RATELIMIT_SLOTS];
};

struct ratelimit {
	double rate, burst;
	struct stripe stripes[RATELIMIT_STRIPES];
};

struct ratelimit *
ratelimit_new(double rate, double burst)
{
	struct ratelimit *rl;
	size_t i;

	if (rate <= 0 || !(rl = calloc(1, sizeof(*rl))))
		return NULL;
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	for (i = 0; i < RATELIMIT_STRIPES; i++) {
		if (pthread_mutex_init(&rl->stripes[i].mu, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&rl->stripes[i].mu);
			free(rl);
			return NULL;
		}
	}
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (!rl)
		return;
	for (i = 0; i < RATELIMIT_STRIPES; i++)
		pthread_mutex_destroy(&rl->stripes[i].mu);
	free(rl);
}

/* FNV-1a, 64 bits: client ids are registered names, not chosen by an attacker
 * at request time (they are authenticated first), so no keyed hash is needed. */
static uint64_t
hash_of(const char *k, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1; /* 0 marks a free slot */
}

void
ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ns, struct ratelimit_verdict *v)
{
	size_t n, i;
	uint64_t h;
	struct stripe *st;
	struct slot *s = NULL, *oldest = NULL;

	memset(v, 0, sizeof(*v));
	if (!rl || !key)
		return;
	n = strnlen(key, RATELIMIT_KEY_MAX);
	h = hash_of(key, n);
	st = &rl->stripes[h % RATELIMIT_STRIPES];
	pthread_mutex_lock(&st->mu);
	/* Slots are taken in order and never freed, only reused: the first free
	 * one ends the used ones. */
	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		struct slot *c = &st->slots[i];

		if (c->hash == 0) {
			oldest = c;
			break;
		}
		if (c->hash == h && strncmp(c->key, key, n) == 0 && c->key[n] == '\0') {
			s = c;
			break;
		}
		if (!oldest || c->b.last_ns < oldest->b.last_ns)
			oldest = c;
	}
	if (!s) {
		/* a free slot, else the one idle longest (full again, or nearly) */
		s = oldest;
		memset(s, 0, sizeof(*s));
		s->hash = h;
		memcpy(s->key, key, n);
		s->key[n] = '\0';
	}
	v->retry_after = ratelimit_bucket_take(&s->b, rl->rate, rl->burst, now_ns);
	if (v->retry_after > 0) {
		s->refused++;
		if (s->audited_ns == 0 || now_ns < s->audited_ns ||
		    now_ns - s->audited_ns >= (uint64_t)RATELIMIT_AUDIT_S * 1000000000ull) {
			v->audit_due = 1;
			v->refused = s->refused;
			s->refused = 0;
			s->audited_ns = now_ns ? now_ns : 1;
		}
	}
	pthread_mutex_unlock(&st->mu);
}

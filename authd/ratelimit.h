/* authd/ratelimit.h — the per-client request rate at /token, /introspect,
 * /revoke and /device_authorization (config [tokens] client_rate, client_burst;
 * docs/security.md): a token bucket per client_id, in this process's memory.
 *
 * Per node and not in the store on purpose: a durable counter would add a
 * store write to every grant, the very load the limit is there to cap. With
 * several nodes a client gets the rate on each node.
 *
 * One table shared by every event-loop thread, lock-striped: a client's bucket
 * sits in the stripe its id hashes to, and only that stripe's mutex is taken
 * (the full rate per client, not the rate divided by threads). Bounded memory:
 * RATELIMIT_STRIPES x RATELIMIT_SLOTS buckets; keys are registered client ids
 * (checked before), and when a stripe is full the bucket idle longest is
 * reused — one idle for burst/rate seconds is full anyway, so nothing is lost. */
#ifndef AUTHD_RATELIMIT_H
#define AUTHD_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_STRIPES 64
#define RATELIMIT_SLOTS   64 /* per stripe: 4096 clients before any reuse */
#define RATELIMIT_KEY_MAX 64 /* a client_id (clients.c CLIENT_ID_MAX) */
#define RATELIMIT_AUDIT_S 60 /* a refused client is audited at most once a minute */

/* ---- the pure bucket ------------------------------------------------------------ */

struct ratelimit_bucket {
	double tokens;    /* requests that may be made now */
	uint64_t last_ns; /* when tokens was computed; 0: never used (full) */
};

/* Takes one request from b at now_ns (a monotonic clock): it refills at rate
 * per second up to burst. Returns 0 when taken, else the seconds until one
 * request is available again (>= 1, for Retry-After). rate <= 0: no limit (0).
 * A clock that went back refills nothing. */
long ratelimit_bucket_take(struct ratelimit_bucket *b, double rate, double burst, uint64_t now_ns);

/* ---- the table ------------------------------------------------------------------ */

struct ratelimit;

/* A table for rate per second and burst (burst < 1: one request). NULL when out
 * of memory or when rate <= 0 (no limit: ratelimit_take on NULL always goes). */
struct ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(struct ratelimit *rl);

struct ratelimit_verdict {
	long retry_after; /* 0: go; else seconds (>= 1) */
	int audit_due;    /* refused, and the first refusal of this client in
	                         * RATELIMIT_AUDIT_S: the caller writes one audit record */
	long refused;     /* with audit_due: refusals since the last record, this one included */
};

/* Takes one request for key (a client_id; a longer one is cut) at now_ns.
 * Thread-safe. rl NULL: always go. */
void
ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ns, struct ratelimit_verdict *v);

#endif

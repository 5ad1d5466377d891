/* authd/work.h — the worker pool: jobs that may block (Argon2id, a durable
 * store write, an outbound call with a timeout) run here, never on an event loop.
 *
 * Two classes of jobs, each with its own threads and its own fair queue
 * (fairq.h), so that one kind can never starve the other (docs/decisions/0007):
 *   WORK_CPU   — CPU-bound jobs: Argon2id above all, and today every method's
 *                check. [server] workers threads (0: one per core), because more
 *                would only make each hash slower.
 *   WORK_STORE — jobs that mostly wait: durable store writes (store_write_sync),
 *                short checks (a TOTP code, a signature). Their own threads, so a
 *                flood of password checks never delays them by more than the CPU
 *                it shares with them.
 * A job runs in one class from start to end: it never waits on a job of the
 * other class (a STORE job waiting for a CPU job would bring the starvation back).
 * Choose the class by what dominates the job.
 *
 * Fair admission: a job first takes a place for its source (the client's
 * address group) and, when it is for one, an account — at most [server]
 * worker_queue_per_source / _per_account / _max places in its class — and keeps
 * it until it has run. Queued jobs run round-robin between sources, FIFO within
 * one. A caller may admit before a store write and submit after it.
 *
 * Threads: admission, submission and cancellation are thread-safe and never
 * block. done(arg) runs where post(poster, ...) puts it (an event loop:
 * loop_post), or on the worker itself when post is NULL.
 * Ownership: the pool owns a slot from work_admit until work_submit (then until
 * the job ran) or work_cancel; arg stays the caller's throughout. */
#ifndef AUTHD_WORK_H
#define AUTHD_WORK_H

#include "status.h"

enum work_class { WORK_CPU = 0, WORK_STORE = 1 };
#define WORK_CLASSES 2

/* Puts fn(arg) on the poster's thread; the same shape as store_post_fn. */
typedef void (*work_post_fn)(void *poster, void (*fn)(void *), void *arg);

struct work_opts {
	int threads[WORK_CLASSES]; /* per class; 0: one per core (at least 2 for WORK_STORE) */
	unsigned per_source;       /* places per source and class; 0: 16 */
	unsigned per_account;      /* places per account and class; 0: 4 */
	unsigned total;            /* places per class; 0: 256 */
};

struct work_pool;
struct work_slot;

/* Starts the threads of both classes. ST_OK with *out, or ST_ERROR. */
int work_pool_start(struct work_pool **out, const struct work_opts *o);
/* Refuses new jobs from now on (ST_SHUTDOWN), runs every job already queued
 * (their done is posted as usual) and joins the threads. The pool stays valid
 * for callers that still hold it (they are refused) until work_pool_free.
 * NULL is fine; a second call does nothing. */
void work_pool_stop(struct work_pool *p);
/* Stops the pool if it still runs, and frees it. NULL is fine. */
void work_pool_free(struct work_pool *p);

/* Takes a place in class c for source (required) and account (NULL: none);
 * done will be posted with post(poster, ...). ST_OK with *out, or why not,
 * to be answered at once: ST_BUSY (this source or account holds its places:
 * 429), ST_FULL (every place of the class is taken: 503), ST_SHUTDOWN,
 * ST_ERROR. Refusals are counted in /metrics (authd_work_refused_total). */
int work_admit(struct work_pool *p, enum work_class c, const char *source, const char *account,
    work_post_fn post, void *poster, struct work_slot **out);
/* Queues work(arg) on an admitted slot; done(arg) is posted after it ran (done
 * may be NULL). ST_OK, or ST_SHUTDOWN when the pool is stopping: the slot is
 * then given back, and neither work nor done runs. */
int work_submit(struct work_slot *slot, void (*work)(void *), void (*done)(void *), void *arg);
/* Gives back a slot that will not be submitted. NULL is fine. */
void work_cancel(struct work_slot *slot);

/* Places held and jobs queued (not yet running) in class c (tests, metrics). */
unsigned long work_held(struct work_pool *p, enum work_class c);
unsigned long work_queued(struct work_pool *p, enum work_class c);

#endif

/* authd/fairq.h — the worker pool's admission and order (no threads, no locks:
 * work.c holds its mutex around every call).
 *
 * A job is admitted for a source (the client's address prefix) and optionally
 * an account before it is queued, and holds its place from admission until it
 * has run (or is cancelled): at most per_source places per source, per_account
 * per account, total in all. Beyond those the caller answers at once (429 or
 * 503), so no source can fill the queue in front of others. Queued jobs are
 * taken round-robin between sources — one job of each source with work in
 * turn, FIFO within a source — so one busy address delays another by at most
 * one job per other waiting source.
 *
 * Memory: the queue owns each job from fairq_admit until fairq_finish or
 * fairq_cancel; a source or account entry lives while it holds a place. */
#ifndef AUTHD_FAIRQ_H
#define AUTHD_FAIRQ_H

#include <stddef.h>

struct fairq;
struct fairq_job {
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
	/* where done runs: post(poster, done, arg), or on the worker when post is
	 * NULL; owner: the work.c class the job belongs to (work.c) */
	void (*post)(void *poster, void (*fn)(void *), void *arg);
	void *poster;
	void *owner;
	/* the queue's own */
	struct fairq_src *src;
	struct fairq_acct *acct;
	struct fairq_job *next;
};

enum fairq_rc {
	FAIRQ_OK = 0,
	FAIRQ_SOURCE_FULL,          /* this source holds per_source places */
	FAIRQ_ACCOUNT_FULL,         /* this account holds per_account places */
	FAIRQ_FULL,                 /* total places taken */
	FAIRQ_NOMEM,
};

struct fairq *fairq_new(unsigned per_source, unsigned per_account, unsigned total);
/* Frees the queue and every job still queued (their done is not called).
 * Jobs admitted and not submitted, or taken by fairq_next, must have been
 * cancelled or finished before. */
void fairq_free(struct fairq *q);
/* Takes a place for source (required) and account (NULL: none). Keys longer
 * than 127 bytes are cut (callers' keys are far shorter). */
int fairq_admit(struct fairq *q, const char *source, const char *account, struct fairq_job **out);
/* Queues an admitted job (work, done, arg, post, poster set by the caller). */
void fairq_submit(struct fairq *q, struct fairq_job *j);
/* Gives back the place of an admitted job that will not be submitted. */
void fairq_cancel(struct fairq *q, struct fairq_job *j);
/* The next job to run (round-robin between sources), still holding its place;
 * NULL when nothing is queued. */
struct fairq_job *fairq_next(struct fairq *q);
/* After a job taken by fairq_next ran: gives back its place and frees it. */
void fairq_finish(struct fairq *q, struct fairq_job *j);
/* Places held / jobs queued (not yet taken). */
size_t fairq_held(const struct fairq *q);
size_t fairq_queued(const struct fairq *q);

#endif

/* authd/work.c — the worker pool (work.h): per class, a fair queue (fairq.h)
 * under one mutex and the threads that take jobs from it round-robin between
 * sources.
 *
 * Invariants: a job holds its place from admission until it ran (or was
 * cancelled), so a source's places bound its running jobs too; a class's
 * threads stop only when it is stopping AND its queue is empty, so every job
 * submitted before work_pool_stop runs and has its done posted. */
#include "work.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "fairq.h"
#include "metrics.h"

struct work_class_q {
	pthread_mutex_t mu; /* guards fq and stop */
	pthread_cond_t cv;
	struct fairq *fq;
	int stop;
	int nthreads;
	pthread_t *threads;
};

struct work_pool {
	struct work_class_q q[WORK_CLASSES];
};

static int
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void *
worker_main(void *arg)
{
	struct work_class_q *q = arg;
	struct fairq_job *j;

	for (;;) {
		void (*done)(void *);
		void *jarg, *poster;
		work_post_fn post;

		pthread_mutex_lock(&q->mu);
		while ((j = fairq_next(q->fq)) == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
		if (j == NULL) /* stopping and drained */
			break;
		j->work(j->arg);
		done = j->done;
		jarg = j->arg;
		post = j->post;
		poster = j->poster;
		pthread_mutex_lock(&q->mu);
		fairq_finish(q->fq, j);
		pthread_mutex_unlock(&q->mu);
		if (done == NULL)
			continue;
		if (post != NULL)
			post(poster, done, jarg);
		else
			done(jarg);
	}
	return NULL;
}

/* Stops and joins one class's threads (after its queue drained). */
static void
class_stop(struct work_class_q *q)
{
	int i;

	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	q->nthreads = 0;
}

static void
class_free(struct work_class_q *q)
{
	free(q->threads);
	fairq_free(q->fq);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

int
work_pool_start(struct work_pool **out, const struct work_opts *o)
{
	struct work_pool *p;
	int c, i, ready = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ST_ERROR;
	for (c = 0; c < WORK_CLASSES; c++) {
		struct work_class_q *q = &p->q[c];
		int n = o->threads[c] > 0 ? o->threads[c] : ncpu();

		/* Store jobs mostly wait: two of them can always overlap a commit. */
		if (c == WORK_STORE && o->threads[c] <= 0 && n < 2)
			n = 2;
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		ready = c + 1;
		q->fq = fairq_new(o->per_source > 0 ? o->per_source : 16,
		    o->per_account > 0 ? o->per_account : 4, o->total > 0 ? o->total : 256);
		if (q->fq == NULL || (q->threads = calloc((size_t)n, sizeof(*q->threads))) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			if (pthread_create(&q->threads[i], NULL, worker_main, q) != 0)
				goto fail;
			q->nthreads = i + 1;
		}
	}
	*out = p;
	return ST_OK;
fail:
	for (c = 0; c < ready; c++) {
		class_stop(&p->q[c]);
		class_free(&p->q[c]);
	}
	free(p);
	return ST_ERROR;
}

void
work_pool_stop(struct work_pool *p)
{
	int c;

	if (p == NULL)
		return;
	for (c = 0; c < WORK_CLASSES; c++)
		class_stop(&p->q[c]);
}

void
work_pool_free(struct work_pool *p)
{
	int c;

	if (p == NULL)
		return;
	work_pool_stop(p);
	for (c = 0; c < WORK_CLASSES; c++)
		class_free(&p->q[c]);
	free(p);
}

int
work_admit(struct work_pool *p, enum work_class c, const char *source, const char *account,
    work_post_fn post, void *poster, struct work_slot **out)
{
	struct work_class_q *q;
	struct fairq_job *j = NULL;
	int rc;

	*out = NULL;
	if (p == NULL || (unsigned)c >= WORK_CLASSES || source == NULL)
		return ST_ERROR;
	q = &p->q[c];
	pthread_mutex_lock(&q->mu);
	rc = q->stop ? -1 : fairq_admit(q->fq, source, account, &j);
	pthread_mutex_unlock(&q->mu);
	switch (rc) {
	case FAIRQ_OK:
		j->post = post;
		j->poster = poster;
		j->owner = q;
		*out = (struct work_slot *)j;
		return ST_OK;
	case FAIRQ_SOURCE_FULL:
		metrics_work_refused("source");
		return ST_BUSY;
	case FAIRQ_ACCOUNT_FULL:
		metrics_work_refused("account");
		return ST_BUSY;
	case FAIRQ_FULL:
		metrics_work_refused("total");
		return ST_FULL;
	case -1:
		return ST_SHUTDOWN;
	default:
		return ST_ERROR;
	}
}

int
work_submit(struct work_slot *slot, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct fairq_job *j = (struct fairq_job *)slot;
	struct work_class_q *q = j->owner;

	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mu);
	if (q->stop) {
		fairq_cancel(q->fq, j);
		pthread_mutex_unlock(&q->mu);
		return ST_SHUTDOWN;
	}
	fairq_submit(q->fq, j);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return ST_OK;
}

void
work_cancel(struct work_slot *slot)
{
	struct fairq_job *j = (struct fairq_job *)slot;
	struct work_class_q *q;

	if (j == NULL)
		return;
	q = j->owner;
	pthread_mutex_lock(&q->mu);
	fairq_cancel(q->fq, j);
	pthread_mutex_unlock(&q->mu);
}

unsigned long
work_held(struct work_pool *p, enum work_class c)
{
	unsigned long n;

	pthread_mutex_lock(&p->q[c].mu);
	n = (unsigned long)fairq_held(p->q[c].fq);
	pthread_mutex_unlock(&p->q[c].mu);
	return n;
}

unsigned long
work_queued(struct work_pool *p, enum work_class c)
{
	unsigned long n;

	pthread_mutex_lock(&p->q[c].mu);
	n = (unsigned long)fairq_queued(p->q[c].fq);
	pthread_mutex_unlock(&p->q[c].mu);
	return n;
}

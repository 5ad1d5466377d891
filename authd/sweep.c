/* authd/sweep.c — the expiry sweeper. Each pass is one ordinary store write, so
 * it is atomic and never races the request path; its scan is bounded per table
 * so the writer is never held for long, resuming from a cursor. Deleting an
 * expired record changes nothing a client can observe: every reader already
 * treats it as absent. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/util.h"
#include "audit.h"
#include "authd.h"
#include "log.h"
#include "sweep.h"

#define SWEEP_GRACE 60          /* keep records a minute past expiry (clock skew, reuse detection) */

struct scan {
	int64_t now;
	int throttle_keep_s;
	enum store_table tab;
	size_t seen, budget;
	char (*doomed)[128];
	size_t *doomed_len;
	size_t ndoomed;
	char last[128];
	size_t last_len;
};

static int64_t expiry_of(enum store_table tab, json_t *v, int throttle_keep_s)
{
	switch (tab) {
	case T_CODES:
	case T_LOGINS:
	case T_FAMILIES:
	case T_DEVICE:
		return json_integer_value(json_object_get(v, "expires"));
	case T_SESSIONS: {
		int64_t e = json_integer_value(json_object_get(v, "expires"));
		return e;
	}
	case T_REFRESH:
	case T_JTI:
		return json_integer_value(json_object_get(v, "exp"));
	case T_THROTTLE:
		/* Counters say how long they matter ("exp", throttle.c); older
		 * records ({"fails","last"}) are kept throttle_keep_s after their last failure. */
		if (json_is_integer(json_object_get(v, "exp")))
			return json_integer_value(json_object_get(v, "exp"));
		return json_integer_value(json_object_get(v, "last")) + throttle_keep_s;
	default:
		return INT64_MAX;
	}
}

static int scan_one(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct scan *s = ctx;
	int64_t exp;

	if (klen >= sizeof(s->last))
		return 0; /* longer than any key we write; leave it */
	memcpy(s->last, key, klen);
	s->last_len = klen;
	exp = expiry_of(s->tab, value, s->throttle_keep_s);
	if (exp > 0 && exp + SWEEP_GRACE < s->now) {
		memcpy(s->doomed[s->ndoomed], key, klen);
		s->doomed_len[s->ndoomed++] = klen;
	}
	return ++s->seen >= s->budget;
}

long sweep_pass(struct store_txn *t, struct sweep_cursor *cur, int64_t now, size_t budget,
                int throttle_keep_s)
{
	static const enum store_table tabs[] = { T_CODES, T_LOGINS, T_SESSIONS, T_FAMILIES,
		                                 T_REFRESH, T_JTI, T_THROTTLE, T_DEVICE };
	long deleted = 0;

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		enum store_table tab = tabs[i];
		struct scan s = { .now = now, .throttle_keep_s = throttle_keep_s, .tab = tab,
			          .budget = budget };
		s.doomed = malloc(budget * sizeof(*s.doomed));
		s.doomed_len = malloc(budget * sizeof(*s.doomed_len));
		if (!s.doomed || !s.doomed_len) {
			free(s.doomed);
			free(s.doomed_len);
			return -1;
		}
		int rc = store_iter(t, tab, cur->klen[tab] ? cur->key[tab] : NULL, cur->klen[tab],
		                    scan_one, &s);
		/* rc 1 is our own "budget used" stop; any other failure (an unreadable
		 * record) must not stall the other tables: skip this one this time. */
		if (rc != STORE_OK && rc != 1) {
			free(s.doomed);
			free(s.doomed_len);
			cur->klen[tab] = 0;
			continue;
		}
		/* Resume after the last key seen, or from the start when the table ended. */
		if (s.seen >= budget) {
			memcpy(cur->key[tab], s.last, s.last_len);
			cur->klen[tab] = s.last_len;
		} else {
			cur->klen[tab] = 0;
		}
		for (size_t k = 0; k < s.ndoomed; k++) {
			if (store_del(t, tab, s.doomed[k], s.doomed_len[k]) == STORE_OK)
				deleted++;
		}
		free(s.doomed);
		free(s.doomed_len);
	}
	return deleted;
}

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, stop;
	struct authd *a;
	int interval_s;
	struct sweep_cursor cur;
	long last_deleted;
} sw = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int sweep_write(struct store_txn *t, void *ctx)
{
	const struct conf *c = sw.a->conf;
	int keep = c->address_window_s > c->account_window_s ? c->address_window_s : c->account_window_s;

	(void)ctx;
	sw.last_deleted = sweep_pass(t, &sw.cur, now_s(), 2000, keep);
	if (sw.last_deleted < 0)
		return STORE_IO;
	/* Audit retention ([audit] retention_days, at least 6 months): older records
	 * leave the start of the chain, whose anchor keeps the rest verifiable. */
	return audit_prune(t, now_s() - (int64_t)c->audit_retention_days * 86400);
}

static void *sweep_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sw.mu);
	while (!sw.stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sw.interval_s;
		while (!sw.stop && pthread_cond_timedwait(&sw.cv, &sw.mu, &until) == 0)
			;
		if (sw.stop)
			break;
		pthread_mutex_unlock(&sw.mu);
		int rc = store_write_sync(sw.a->store, sweep_write, NULL);
		if (rc != STORE_OK)
			log_msg(LOG_WARN, "expiry sweep failed", "error", store_strerror(rc), NULL);
		else if (sw.last_deleted > 0 && log_enabled(LOG_DEBUG)) {
			char n[24];
			snprintf(n, sizeof(n), "%ld", sw.last_deleted);
			log_msg(LOG_DEBUG, "expired records removed", "count", n, NULL);
		}
		pthread_mutex_lock(&sw.mu);
	}
	pthread_mutex_unlock(&sw.mu);
	return NULL;
}

int sweep_start(struct authd *a, int interval_s)
{
	sw.a = a;
	sw.interval_s = interval_s > 0 ? interval_s : 60;
	sw.stop = 0;
	if (pthread_create(&sw.thread, NULL, sweep_main, NULL) != 0)
		return -1;
	sw.running = 1;
	return 0;
}

void sweep_stop(void)
{
	if (!sw.running)
		return;
	pthread_mutex_lock(&sw.mu);
	sw.stop = 1;
	pthread_cond_signal(&sw.cv);
	pthread_mutex_unlock(&sw.mu);
	pthread_join(sw.thread, NULL);
	sw.running = 0;
}

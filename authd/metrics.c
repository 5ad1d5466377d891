/* authd/metrics.c — the process counters behind /metrics (metrics.h).
 *
 * Label values (route, method, grant) come from a small fixed set of static
 * strings, so each family is a fixed array of slots claimed once with a
 * compare-and-swap and counted with relaxed atomics: no lock on the request path.
 * A value that does not fit (more distinct labels than slots) is counted under
 * "other", so a caller can never grow memory through labels. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define ROUTE_SLOTS 48
#define LABEL_SLOTS 16

static const int status_codes[] = {
	200, 201, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 409, 413,
	415, 429, 431, 500, 501, 503,
};
#define N_STATUS (sizeof(status_codes) / sizeof(status_codes[0]))
#define STATUS_OTHER N_STATUS       /* index for codes not listed */

static const double buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const char *const login_results[] = { "success", "failure", "throttled", "other" };
#define N_RESULTS 4

struct route_slot {
	_Atomic(const char *) name;
	atomic_ullong count[N_STATUS + 1];
	atomic_ullong bucket[N_BUCKETS];   /* non-cumulative; summed when rendered */
	atomic_ullong observations;
	atomic_ullong sum_us;              /* latency sum in microseconds */
};

struct label_slot {
	_Atomic(const char *) name;
	atomic_ullong count[N_RESULTS];
};

static struct route_slot routes[ROUTE_SLOTS];
static struct label_slot logins[LABEL_SLOTS];
static struct label_slot tokens[LABEL_SLOTS];
static struct label_slot checks[LABEL_SLOTS];
static struct label_slot refusals[LABEL_SLOTS];
static struct label_slot limited[LABEL_SLOTS];
static struct timespec started;

/* Process start, taken before main() so uptime covers initialisation too. */
__attribute__((constructor)) static void
metrics_start_clock(void)
{
	clock_gettime(CLOCK_MONOTONIC, &started);
}

/* Finds or claims the slot for name; the last slot is the shared "other". */
static size_t
slot_find(_Atomic(const char *) *names, size_t stride, size_t nslots, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < nslots; i++) {
		_Atomic(const char *) *p =
		    (_Atomic(const char *) *)((char *)names + i * stride);
		const char *cur = atomic_load_explicit(p, memory_order_acquire);

		if (cur == NULL) {
			const char *expect = NULL;

			if (atomic_compare_exchange_strong(p, &expect, name))
				return i;
			cur = expect;
		}
		if (cur == name || strcmp(cur, name) == 0)
			return i;
	}
	return nslots - 1;
}

static size_t
status_index(int status)
{
	size_t i;

	for (i = 0; i < N_STATUS; i++)
		if (status_codes[i] == status)
			return i;
	return STATUS_OTHER;
}

void
metrics_request(const char *route, int status, uint64_t latency_ns)
{
	struct route_slot *s;
	double secs = (double)latency_ns / 1e9;
	size_t i;

	if (route == NULL)
		route = "unmatched";
	s = &routes[slot_find(&routes[0].name, sizeof(routes[0]), ROUTE_SLOTS, route)];
	atomic_fetch_add_explicit(&s->count[status_index(status)], 1, memory_order_relaxed);
	for (i = 0; i < N_BUCKETS; i++)
		if (secs <= buckets[i])
			break;
	if (i < N_BUCKETS)
		atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->observations, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, latency_ns / 1000, memory_order_relaxed);
}

static void
label_count(struct label_slot *slots, const char *name, size_t result)
{
	struct label_slot *s;

	if (name == NULL)
		name = "other";
	s = &slots[slot_find(&slots[0].name, sizeof(slots[0]), LABEL_SLOTS, name)];
	atomic_fetch_add_explicit(&s->count[result], 1, memory_order_relaxed);
}

void
metrics_login(const char *method, const char *result)
{
	size_t r;

	for (r = 0; r + 1 < N_RESULTS; r++)
		if (result != NULL && strcmp(result, login_results[r]) == 0)
			break;
	label_count(logins, method, r);
}

void
metrics_token(const char *grant)
{
	label_count(tokens, grant, 0);
}

void
metrics_secret_check(const char *method)
{
	label_count(checks, method, 0);
}

void
metrics_work_refused(const char *reason)
{
	label_count(refusals, reason, 0);
}

void
metrics_rate_limited(const char *endpoint)
{
	label_count(limited, endpoint, 0);
}

/* Label values are our own static names, but escape anyway so the exposition
 * can never be broken by a caller. */
static void
add_label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_add(out, "\\", 1);
		if (*v == '\n')
			buf_adds(out, "\\n");
		else
			buf_add(out, v, 1);
	}
}

static const char *
slot_name(_Atomic(const char *) *p, size_t i, size_t nslots)
{
	const char *n = atomic_load_explicit(p, memory_order_acquire);

	if (i == nslots - 1)
		return "other";
	return n;
}

static void
render_requests(struct buf *out)
{
	size_t i, j;

	buf_adds(out, "# HELP authd_requests_total HTTP requests by route and status.\n"
	    "# TYPE authd_requests_total counter\n");
	for (i = 0; i < ROUTE_SLOTS; i++) {
		const char *name = slot_name(&routes[i].name, i, ROUTE_SLOTS);

		if (name == NULL)
			continue;
		for (j = 0; j <= N_STATUS; j++) {
			unsigned long long c = atomic_load_explicit(&routes[i].count[j],
			    memory_order_relaxed);

			if (c == 0)
				continue;
			buf_adds(out, "authd_requests_total{route=\"");
			add_label(out, name);
			if (j == STATUS_OTHER)
				buf_printf(out, "\",status=\"other\"} %llu\n", c);
			else
				buf_printf(out, "\",status=\"%d\"} %llu\n", status_codes[j], c);
		}
	}

	buf_adds(out, "# HELP authd_request_duration_seconds Time from request read to reply.\n"
	    "# TYPE authd_request_duration_seconds histogram\n");
	for (i = 0; i < ROUTE_SLOTS; i++) {
		const char *name = slot_name(&routes[i].name, i, ROUTE_SLOTS);
		unsigned long long cum = 0, n, sum_us;

		if (name == NULL)
			continue;
		n = atomic_load_explicit(&routes[i].observations, memory_order_relaxed);
		if (n == 0)
			continue;
		for (j = 0; j < N_BUCKETS; j++) {
			cum += atomic_load_explicit(&routes[i].bucket[j], memory_order_relaxed);
			buf_adds(out, "authd_request_duration_seconds_bucket{route=\"");
			add_label(out, name);
			buf_printf(out, "\",le=\"%g\"} %llu\n", buckets[j], cum);
		}
		buf_adds(out, "authd_request_duration_seconds_bucket{route=\"");
		add_label(out, name);
		buf_printf(out, "\",le=\"+Inf\"} %llu\n", n);
		sum_us = atomic_load_explicit(&routes[i].sum_us, memory_order_relaxed);
		buf_adds(out, "authd_request_duration_seconds_sum{route=\"");
		add_label(out, name);
		buf_printf(out, "\"} %.6f\n", (double)sum_us / 1e6);
		buf_adds(out, "authd_request_duration_seconds_count{route=\"");
		add_label(out, name);
		buf_printf(out, "\"} %llu\n", n);
	}
}

static void
render_labels(struct buf *out, struct label_slot *slots, const char *metric,
    const char *help, const char *label, int with_result)
{
	size_t i, r;

	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
	for (i = 0; i < LABEL_SLOTS; i++) {
		const char *name = slot_name(&slots[i].name, i, LABEL_SLOTS);

		if (name == NULL)
			continue;
		for (r = 0; r < (with_result ? N_RESULTS : 1); r++) {
			unsigned long long c = atomic_load_explicit(&slots[i].count[r],
			    memory_order_relaxed);

			if (c == 0)
				continue;
			buf_printf(out, "%s{%s=\"", metric, label);
			add_label(out, name);
			if (with_result)
				buf_printf(out, "\",result=\"%s", login_results[r]);
			buf_printf(out, "\"} %llu\n", c);
		}
	}
}

/* Resident set size in bytes from /proc/self/statm (pages); 0 if unreadable. */
static unsigned long long
rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

void
metrics_render(struct buf *out)
{
	struct timespec now;
	double up;

	render_requests(out);
	render_labels(out, logins, "authd_logins_total",
	    "Login attempts by method and result.", "method", 1);
	render_labels(out, tokens, "authd_tokens_issued_total",
	    "Tokens issued by grant type.", "grant", 0);
	render_labels(out, checks, "authd_secret_checks_total",
	    "Secrets actually verified (after the throttle reserved the attempt), by method.",
	    "method", 0);
	render_labels(out, refusals, "authd_worker_refused_total",
	    "Jobs the worker pool refused at once, by the place that was full.", "reason", 0);
	render_labels(out, limited, "authd_token_rate_limited_total",
	    "Requests refused with 429 because the client was over [tokens] client_rate, by endpoint.",
	    "endpoint", 0);

	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (double)(now.tv_sec - started.tv_sec) +
	    (double)(now.tv_nsec - started.tv_nsec) / 1e9;
	buf_printf(out, "# HELP authd_uptime_seconds Seconds since the process started.\n"
	    "# TYPE authd_uptime_seconds gauge\nauthd_uptime_seconds %.3f\n", up);
	buf_printf(out, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
	    rss_bytes());
}

void
metrics_render_store(struct buf *out, const struct store_stats *st)
{
	buf_printf(out, "# HELP authd_store_commits_total Group commits by the store writer.\n"
	    "# TYPE authd_store_commits_total counter\nauthd_store_commits_total %llu\n",
	    (unsigned long long)st->commits);
	buf_printf(out, "# HELP authd_store_writes_total Write functions run by the store writer.\n"
	    "# TYPE authd_store_writes_total counter\nauthd_store_writes_total %llu\n",
	    (unsigned long long)st->writes);
	buf_printf(out,
	    "# HELP authd_store_failed_writes_total Writes rolled back because the storage failed.\n"
	    "# TYPE authd_store_failed_writes_total counter\nauthd_store_failed_writes_total %llu\n",
	    (unsigned long long)st->failed_writes);
	buf_printf(out,
	    "# HELP authd_store_refused_writes_total Writes rolled back by their own rule "
	    "(a wrong code, a record that exists).\n"
	    "# TYPE authd_store_refused_writes_total counter\nauthd_store_refused_writes_total %llu\n",
	    (unsigned long long)st->refused_writes);
}

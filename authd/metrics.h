/* authd/metrics.h — process counters for /metrics (Prometheus text format 0.0.4).
 * Lock-free: relaxed atomics, one set per process. */
#ifndef AUTHD_METRICS_H
#define AUTHD_METRICS_H

#include <stdint.h>

#include "../lib/buf.h"

/* Called by http.c for every reply: route name, status and latency. */
void metrics_request(const char *route, int status, uint64_t latency_ns);
/* method: "password", "totp", ...; result: "success", "failure", "throttled". */
void metrics_login(const char *method, const char *result);
/* One secret checked (a method's verification ran): "password", "totp", ... */
void metrics_secret_check(const char *method);
/* The worker pool refused a job at admission: "source", "account", "total". */
void metrics_work_refused(const char *reason);
/* grant: "authorization_code", "refresh_token", "client_credentials", ... */
void metrics_token(const char *grant);
/* A client over its request rate was refused (429): endpoint "token",
 * "introspect", "revoke", "device_authorization". */
void metrics_rate_limited(const char *endpoint);
/* Appends the exposition text (also gauges: uptime, resident memory). */
void metrics_render(struct buf *out);
/* Appends the store counters (commits, writes, failed writes) from store_get_stats. */
struct store_stats;
void metrics_render_store(struct buf *out, const struct store_stats *st);

#endif

/* authd/ops.c — the operational endpoints: /healthz for load balancers and
 * systemd watchdogs, /metrics for Prometheus. Neither reveals anything about
 * users, clients or keys; /metrics still says how busy and how healthy the
 * service is, so only the addresses in [server] metrics_allow (by default
 * loopback) may read it. */
#include "ops.h"

#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "authd.h"
#include "metrics.h"
#include "store.h"

void
ops_healthz(struct http_req *r)
{
	struct store_txn *t;
	json_t *v = NULL;
	int rc = STORE_IO;

	/* Healthy means a request could be served: the store gives a read view
	 * and answers a lookup (absent is fine, an I/O or format error is not). */
	if (r->authd->store != NULL && (t = store_read_begin(r->authd->store)) != NULL) {
		rc = store_gets(t, T_META, "schema", &v);
		json_decref(v);
		store_read_end(t);
	}
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		http_reply_json(r, 503, json_pack("{s:s,s:s}", "status", "unavailable",
		    "reason", "store not readable"));
		return;
	}
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* r->peer is the client after a trusted proxy's X-Forwarded-For: a scraper
 * reaching authd through the city's proxy is judged by its own address. */
static int
metrics_allowed(const struct conf *c, const char *peer)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };
	int i;

	if (c->n_metrics_allow == 0)
		return cidr_contains(loopback[0], peer) || cidr_contains(loopback[1], peer);
	for (i = 0; i < c->n_metrics_allow; i++)
		if (cidr_contains(c->metrics_allow[i], peer))
			return 1;
	return 0;
}

void
ops_metrics(struct http_req *r)
{
	struct buf b;
	struct store_stats st;

	if (!metrics_allowed(r->authd->conf, r->peer)) {
		http_add_header(r, "Cache-Control", "no-store");
		http_reply(r, 403, "text/plain; charset=utf-8", "forbidden\n", 10);
		return;
	}

	buf_init(&b);
	metrics_render(&b);
	if (r->authd->store != NULL) {
		memset(&st, 0, sizeof(st));
		store_get_stats(r->authd->store, &st);
		metrics_render_store(&b, &st);
	}
	if (b.oom) {
		buf_free(&b);
		http_reply(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
		return;
	}
	http_add_header(r, "Cache-Control", "no-store");
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
	buf_free(&b);
}

/* authd/routes.c — the routing table: one line per endpoint (exact path,
 * allowed methods, handler, metrics name, form-body rule). http.c serves it. */
#include "http.h"
#include "ops.h"

const struct http_route http_routes[] = {
	{ "/healthz", HTTP_GET, ops_healthz, "healthz", 0 },
	{ "/metrics", HTTP_GET, ops_metrics, "metrics", 0 },
	{ NULL, 0, NULL, NULL, 0 },
};

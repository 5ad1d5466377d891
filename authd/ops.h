/* authd/ops.h — operational endpoints: /healthz and /metrics (ops.c). */
#ifndef AUTHD_OPS_H
#define AUTHD_OPS_H

#include "http.h"

/* GET /healthz: 200 {"status":"ok"} when the store answers a read, else 503. */
void ops_healthz(struct http_req *r);
/* GET /metrics: Prometheus text exposition 0.0.4. */
void ops_metrics(struct http_req *r);

#endif

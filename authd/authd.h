/* authd/authd.h — the process-wide context shared by every part of the daemon. */
#ifndef AUTHD_AUTHD_H
#define AUTHD_AUTHD_H

#include <stdatomic.h>

#include "config.h"
#include "store.h"

#define AUTHD_VERSION "0.1.0"

struct keyring;
struct records;
struct http_server;
struct work_pool;
struct ratelimit;

struct authd {
	struct conf *conf;
	struct store *store;
	/* The store's operations (records.h) on the same engine; the callers that
	 * moved (token grants) use it from worker threads only. */
	struct records *records;
	struct keyring *keys;        /* signing keys (keys.h), reloaded when T_META changes */
	struct http_server *http;    /* owned by http.c */
	/* The worker pool (work.h): started by http_start, refused to new jobs
	 * and cleared by http_stop. A request's handlers reach it through http.h. */
	struct work_pool *work;
	/* per-client request rate at the client-authenticated endpoints
	 * (ratelimit.h); NULL: no limit */
	struct ratelimit *client_rate;
	atomic_int stopping;         /* set on SIGTERM/SIGINT */
	uint8_t secret_key[32];      /* keyed hash for client secrets (from T_META "secret") */
};

#endif

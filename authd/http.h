/* authd/http.h — the HTTP(S) server: N event-loop threads (libevent evhttp over
 * OpenSSL bufferevents, one SO_REUSEPORT listener each), request limits, routing,
 * responses, cookies, and the ways back onto a loop from other threads.
 * Implemented in authd/http/: server.c (listeners, TLS, loops, start and stop),
 * intake.c (request reading, limits, peer, language, routing, the request
 * accessors) and reply.c (the reply, header and cookie calls, the access log).
 *
 * Threading rule: a struct http_req belongs to the loop thread that accepted it.
 * Handlers run on that thread and must not block (no Argon2, no fsync, no network).
 * Slow work goes to the worker pool (http_work, work.h) or the store writer
 * (http_store_write); their completions run back on the request's loop, where the
 * handler finally calls exactly one http_reply* function. If the client went away
 * meanwhile, the reply is dropped safely (the http_req stays valid until replied). */
#ifndef AUTHD_HTTP_H
#define AUTHD_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/form.h"
#include "status.h"
#include "store.h"

struct authd;
struct loop;

enum http_method { HTTP_GET = 1, HTTP_POST = 2, HTTP_HEAD = 4, HTTP_OPTIONS = 8 };

struct http_req {
	struct authd *authd;
	struct loop *loop;
	void *ev;                   /* struct evhttp_request * (owned by http.c) */
	enum http_method method;
	const char *path;           /* decoded path, no query; never contains ".." segments */
	struct form *query;         /* parsed query string (empty form when none) */
	struct form *form;          /* parsed body for application/x-www-form-urlencoded POST, else NULL */
	const char *body;           /* raw body (NUL-terminated copy), body_len bytes */
	size_t body_len;
	char peer[64];              /* client address (after trusted-proxy X-Forwarded-For), no port */
	char peer_prefix[64];       /* its address group ([throttle] ipv4_prefix / ipv6_prefix):
	                               the key of every per-address limit (throttle_prefix) */
	const char *lang;           /* "zh-TW" or "en": ?lang=, the "lang" cookie, Accept-Language, default */
	int route;                  /* index of the matched route, for metrics */
	uint64_t start_ns;
	int tls_client_cert; /* 1 on the client-certificate listener ([x509] tls_listen) */
	const char *tls_peer_cert_pem; /* client certificate (PEM) on the client-certificate
	                                  listener, or from a trusted proxy's header; else NULL */
	void *udata;                /* the handler's own state while a reply is pending */
};

typedef void (*http_handler)(struct http_req *req);

struct http_route {
	const char *path;           /* exact match; ending in '/': that path and everything below */
	unsigned methods;           /* HTTP_GET | HTTP_POST ... (HEAD follows GET) */
	http_handler handler;
	const char *name;           /* metrics label, e.g. "token" */
	int form_body;              /* 1: POST bodies must be form-urlencoded (else 415) */
};

/* The routing table lives in authd/routes.c (NULL-path terminated; the
 * terminator's handler, when set, answers every unknown path, any method). */
extern const struct http_route http_routes[];
/* Serves another table instead of http_routes (tests); NULL restores http_routes.
 * Call before http_start. */
void http_set_routes(const struct http_route *routes);

/* Request accessors. Header names are case-insensitive. */
const char *http_header(struct http_req *r, const char *name);
/* Value of a cookie from the Cookie header, or NULL. Returned string lives as long as r. */
const char *http_cookie(struct http_req *r, const char *name);
/* A request parameter: for a POST from its form body only (NULL when the body
 * is not a form), for GET/HEAD from the URL query. A POST's URL query is never
 * read here; a credential in any query string (password, client_secret, code,
 * csrf, ...) is refused by http.c with 400 before a handler runs. Values of
 * password, otp and recovery_code may hold controls or invalid UTF-8 (never
 * NUL): compare them as bytes, never show or log them. */
const char *http_param(struct http_req *r, const char *key);
/* A parameter of the URL query, whatever the method (e.g. ?lang=). */
const char *http_query(struct http_req *r, const char *key);

/* Response building: headers added before the reply call are sent with it. */
void http_add_header(struct http_req *r, const char *name, const char *value);
/* Set-Cookie: name=value; Path=/; Secure; HttpOnly; SameSite=Lax [; Max-Age=max_age]
 * max_age < 0: session cookie; max_age == 0: delete. Secure is omitted only when
 * the server runs without TLS. */
void http_set_cookie(struct http_req *r, const char *name, const char *value, int max_age);

/* Each of these sends the reply and frees r (r must not be used afterwards).
 * All responses get: X-Content-Type-Options, Referrer-Policy: no-referrer,
 * Strict-Transport-Security (TLS), and the metrics/log line. */
void http_reply(struct http_req *r, int status, const char *content_type,
                const void *body, size_t len);
/* JSON body, Cache-Control: no-store, Pragma: no-cache. Steals the reference. */
void http_reply_json(struct http_req *r, int status, json_t *body);
/* {"error":error,"error_description":desc} with no-store; 401 adds WWW-Authenticate. */
void http_reply_oauth_error(struct http_req *r, int status, const char *error, const char *desc);
/* HTML with CSP (default-src 'none'; style-src 'self'; script-src 'self';
 * img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'),
 * X-Frame-Options: DENY and Cache-Control: no-store. */
void http_reply_html(struct http_req *r, int status, const char *html, size_t len);
/* 303 See Other to location (already fully encoded). */
void http_redirect(struct http_req *r, const char *location);

/* Runs fn(arg) on the given loop's thread. Thread-safe; never blocks. Matches store_post_fn. */
void loop_post(void *loop, void (*fn)(void *), void *arg);

/* The worker pool (authd/work.h) for a request: its jobs are CPU-class jobs of
 * the request's address group (r->peer_prefix) and, when given, an account;
 * done(arg) runs on the request's loop. A place is held from admission until
 * the job ran, so a caller may admit before a store write and submit after it.
 * http_work_admit: HTTP_WORK_OK with *slot, or why not (answer at once: 429 for
 * SOURCE_FULL / ACCOUNT_FULL, 503 for anything else). These are the ST_* values
 * work_admit returns (SOURCE_FULL and ACCOUNT_FULL are both ST_BUSY). */
struct http_slot;
#define HTTP_WORK_OK           ST_OK
#define HTTP_WORK_SOURCE_FULL  ST_BUSY
#define HTTP_WORK_ACCOUNT_FULL ST_BUSY
#define HTTP_WORK_FULL         ST_FULL
#define HTTP_WORK_ERROR        ST_ERROR
int http_work_admit(struct http_req *r, const char *account, struct http_slot **slot);
/* Queues work(arg) on the slot; done(arg) runs on the admitting request's loop
 * afterwards. 0, or -1 when the pool is stopping (the slot is given back). */
int http_work_submit(struct http_slot *slot, void (*work)(void *), void (*done)(void *), void *arg);
/* Gives back a slot that will not be submitted. NULL is fine. */
void http_work_cancel(struct http_slot *slot);
/* admit (no account) + submit: runs work(arg) on a worker thread, then
 * done(arg) on r's loop. -1 when refused or stopping. */
int http_work(struct http_req *r, void (*work)(void *), void (*done)(void *), void *arg);
/* The pool behind http_work_admit and r's loop as a poster for it (loop_post):
 * for code that admits its own jobs (the sign-in core, signin.h). */
struct work_pool;
struct work_pool *http_work_pool(const struct http_req *r);
void *http_loop_poster(const struct http_req *r);
/* As http_work, but a STORE-class job (work.h): one that mostly waits on the
 * store's operations (records.h), never on a CPU-class job. */
int http_store_work(struct http_req *r, void (*work)(void *), void (*done)(void *), void *arg);
/* store_write_async whose completion runs on r's loop. */
int http_store_write(struct http_req *r, store_write_fn fn, store_done_fn done, void *ctx);

/* Server life cycle (called by main). */
int http_start(struct authd *a);       /* bind all listeners, start loop and worker threads */
void http_stop(struct authd *a);       /* stop accepting, finish in-flight requests, join */
/* How long http_stop waits for in-flight requests before closing their
 * connections (default 10000 ms; their late replies are then dropped). */
void http_set_stop_grace(int ms);
/* The port listen address i (conf order) is bound to: the configured one, or the
 * one the kernel chose for port 0. -1 when not started or i is out of range. */
int http_bound_port(struct authd *a, int i);
/* The port of the client-certificate listener ([x509] tls_listen), -1 when off. */
int http_bound_cc_port(struct authd *a);

#endif

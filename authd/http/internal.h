/* authd/http/internal.h — what the three parts of the HTTP server share, and
 * nothing outside authd/http/ includes: server.c (listeners, TLS contexts,
 * loops, connection guard, start and stop), intake.c (a request from the wire
 * to its handler: reading, limits, peer, language, routing) and reply.c (the
 * answer, headers and cookies, the access log). The public API is authd/http.h.
 *
 * The seam for issue 16 (a new transport): intake.c and reply.c see a request as
 * an evhttp_request on an evhttp_connection; everything TLS (contexts, SSL
 * objects, the deadline timer kept with them) stays in server.c behind the
 * conn_* functions below.
 *
 * Lifetime invariant: a struct http_req lives from intake_request until exactly
 * one http_reply* call. If the connection goes away first, the close callback
 * (intake.c) marks it dead (and notes whether libevent still frees the
 * evhttp_request or left it to us); the late reply then only releases memory. */
#ifndef AUTHD_HTTP_INTERNAL_H
#define AUTHD_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "../config.h"
#include "../http.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct ssl_ctx_st; /* SSL_CTX: server.c only */
struct work_pool;

#define CC_SLOT CONF_MAX_LISTEN
/* Longest client certificate (PEM) taken from a TLS session or a proxy header. */
#define PEER_PEM_MAX 16384

struct post {
	void (*fn)(void *);
	void *arg;
	struct post *next;
};

struct loop {
	struct http_server *srv;
	int idx;
	pthread_t thread;
	int started;
	struct event_base *base;
	struct evhttp *http;
	struct event *post_ev;
	pthread_mutex_t mu;          /* guards head/tail/closed */
	struct post *head, *tail;
	int closed;                  /* thread gone: posts run inline (see loop_post) */
	struct evhttp_bound_socket *bound[CONF_MAX_LISTEN];
	int nbound;
	/* The client-certificate listener ([x509] tls_listen), when configured:
	 * its own evhttp so its connections use the context that asks for a
	 * certificate, and intake knows where a request came in. */
	struct evhttp *cc_http;
	struct evhttp_bound_socket *cc_bound;
};

struct http_server {
	struct authd *a;
	struct ssl_ctx_st *ssl;    /* SSL_CTX: server.c only */
	struct ssl_ctx_st *cc_ssl; /* the client-certificate listener's context, or NULL */
	int tls;                   /* the main listeners speak TLS (ssl != NULL) */
	/* Listen addresses; slot CC_SLOT is the client-certificate listener. */
	struct sockaddr_storage addr[CONF_MAX_LISTEN + 1];
	socklen_t addrlen[CONF_MAX_LISTEN + 1];
	int port[CONF_MAX_LISTEN + 1];
	int nloops;
	struct loop *loops;
	struct work_pool *work;      /* the worker pool (work.h), stopped before the loops */
	atomic_int conns;            /* open TLS connections (the max_connections cap) */
	atomic_int inflight;         /* 1 (the server's own reference) + http_req not yet replied */
	atomic_int stopping;
	int secure_cookies;
};

struct alloc {
	struct alloc *next;
	char s[];
};

struct hreq {
	struct http_req r;           /* first member: struct http_req * is a struct hreq * */
	struct evhttp_request *ev;   /* NULL once libevent freed it */
	struct evhttp_connection *evcon;
	int dead;                    /* connection closed before the reply */
	int orphan;                  /* libevent detached ev and left freeing it to us */
	const struct http_route *rt;
	char *path;
	char *body;
	char *peer_pem;              /* client certificate (PEM) for r.tls_peer_cert_pem */
	struct alloc *allocs;        /* strings handed out by http_cookie */
};

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- server.c: the connection, for intake.c and reply.c ---------------- */

/* A request has fully arrived on evcon: its deadline stops (answering it is
 * our business). TCP_NODELAY is the listener's, inherited once. */
void conn_request_begins(struct evhttp_connection *evcon);
/* The reply went out: the next request on evcon has its own deadline. */
void conn_next_request(struct http_server *s, struct evhttp_connection *evcon);
/* evhttp has queued a reply on evcon: write it in this turn of the loop. */
void conn_reply_sent(struct evhttp_connection *evcon);
/* 1 when evcon is a TLS connection. */
int conn_is_tls(struct evhttp_connection *evcon);
/* The certificate the client presented in evcon's TLS handshake, as PEM
 * (malloc'd, the caller frees it; at most PEER_PEM_MAX bytes), or NULL. */
char *conn_peer_cert_pem(struct evhttp_connection *evcon);
/* One request of s fewer (reply.c, after its last use of s): the last reply
 * of a server stopped with requests pending frees the server. */
void server_release(struct http_server *s);

/* ---- intake.c: the evhttp callbacks of the listeners ------------------- */

/* Every request of a loop's listeners (arg: its struct loop); _cc: of the
 * client-certificate listener. */
void intake_request(struct evhttp_request *ev, void *arg);
void intake_request_cc(struct evhttp_request *ev, void *arg);

#endif

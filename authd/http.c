/* authd/http.c — the HTTP(S) server (http.h): N event-loop threads, each with
 * its own event_base, evhttp and SO_REUSEPORT listeners; one OpenSSL context;
 * request limits; the generic callback that builds struct http_req and routes
 * it; replies with security headers, metrics and the access log; loop_post and
 * the worker pool that bring slow work back onto the request's loop; graceful
 * start and stop.
 *
 * Lifetime invariant: a struct http_req lives from the generic callback until
 * exactly one http_reply* call. If the connection goes away first, the close
 * callback marks it dead (and notes whether libevent still frees the
 * evhttp_request or left it to us); the late reply then only releases memory. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../lib/util.h"
#include "authd.h"
#include "fairq.h"
#include "log.h"
#include "metrics.h"
#include "throttle.h"
#include "web/pages.h"

#define LISTEN_BACKLOG 1024
#define CC_SLOT CONF_MAX_LISTEN
/* Longest client certificate (PEM) taken from a TLS session or a proxy header. */
#define PEER_PEM_MAX 16384
/* How long http_stop waits for in-flight requests (ms). */
static int stop_grace_ms = 10000;

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
	 * certificate, and handle() knows where a request came in. */
	struct evhttp *cc_http;
	struct evhttp_bound_socket *cc_bound;
};

struct http_server {
	struct authd *a;
	SSL_CTX *ssl;
	SSL_CTX *cc_ssl;             /* the client-certificate listener's context, or NULL */
	/* Listen addresses; slot CC_SLOT is the client-certificate listener. */
	struct sockaddr_storage addr[CONF_MAX_LISTEN + 1];
	socklen_t addrlen[CONF_MAX_LISTEN + 1];
	int port[CONF_MAX_LISTEN + 1];
	int nloops;
	struct loop *loops;
	int nworkers;
	pthread_t *workers;
	pthread_mutex_t wmu;         /* guards fq and wstop */
	pthread_cond_t wcv;
	struct fairq *fq;            /* admission and round-robin order (fairq.h) */
	int wstop;
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

static const struct http_route *routes_override;
static int ssl_conn_idx = -1, ssl_refuse_idx = -1, ssl_guard_idx = -1;

/* Request deadlines (see struct guard below). */
struct guard;
static struct guard *guard_of(struct evhttp_connection *evcon);
static void guard_arm(struct guard *g, int seconds);
static void guard_pause(struct guard *g);
static pthread_once_t ssl_idx_once = PTHREAD_ONCE_INIT;

void
http_set_routes(const struct http_route *routes)
{
	routes_override = routes;
}

static const struct http_route *
route_table(void)
{
	return routes_override ? routes_override : http_routes;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static const char *
method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_HEAD: return "HEAD";
	case HTTP_OPTIONS: return "OPTIONS";
	}
	return "-";
}

/* ---- posting onto a loop ---------------------------------------------- */

static void
post_run(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	struct post *p, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&l->mu);
	p = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->mu);
	for (; p != NULL; p = next) {
		next = p->next;
		p->fn(p->arg);
		free(p);
	}
}

void
loop_post(void *loopp, void (*fn)(void *), void *arg)
{
	struct loop *l = loopp;
	struct post *p;
	int closed;

	pthread_mutex_lock(&l->mu);
	closed = l->closed;
	pthread_mutex_unlock(&l->mu);
	if (closed) {
		/* The loop thread has ended (http_stop). Every request still
		 * pending is dead by then, so its completion only frees memory
		 * and may run here. */
		fn(arg);
		return;
	}
	if ((p = malloc(sizeof(*p))) == NULL) {
		/* Running it here would break the threading rule; losing it
		 * leaks one request. The lesser evil, loudly. */
		log_msg(LOG_ERROR, "loop_post: out of memory, completion dropped", NULL);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&l->mu);
	if (l->closed) {
		pthread_mutex_unlock(&l->mu);
		free(p);
		fn(arg);
		return;
	}
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	pthread_mutex_unlock(&l->mu);
	/* event_active is thread-safe once evthread_use_pthreads() ran. */
	event_active(l->post_ev, EV_READ, 0);
}

/* ---- worker pool --------------------------------------------------------- */

/* Jobs are taken round-robin between sources (fairq.h). A job keeps its place
 * while it runs, so a source's places bound its running jobs too. */
static void *
worker_main(void *arg)
{
	struct http_server *s = arg;
	struct fairq_job *j;

	for (;;) {
		void (*done)(void *);
		void *jarg;
		struct loop *l;

		pthread_mutex_lock(&s->wmu);
		while ((j = fairq_next(s->fq)) == NULL && !s->wstop)
			pthread_cond_wait(&s->wcv, &s->wmu);
		pthread_mutex_unlock(&s->wmu);
		if (j == NULL)          /* stopping and drained */
			break;
		j->work(j->arg);
		done = j->done;
		jarg = j->arg;
		l = j->loop;
		pthread_mutex_lock(&s->wmu);
		fairq_finish(s->fq, j);
		pthread_mutex_unlock(&s->wmu);
		loop_post(l, done, jarg);
	}
	return NULL;
}

int
http_work_admit(struct http_req *r, const char *account, struct http_slot **out)
{
	struct http_server *s = r->loop->srv;
	struct fairq_job *j = NULL;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&s->wmu);
	rc = s->wstop ? -1 : fairq_admit(s->fq, r->peer_prefix, account, &j);
	pthread_mutex_unlock(&s->wmu);
	switch (rc) {
	case FAIRQ_OK:
		j->loop = r->loop;
		*out = (struct http_slot *)j;
		return HTTP_WORK_OK;
	case FAIRQ_SOURCE_FULL:
		metrics_work_refused("source");
		return HTTP_WORK_SOURCE_FULL;
	case FAIRQ_ACCOUNT_FULL:
		metrics_work_refused("account");
		return HTTP_WORK_ACCOUNT_FULL;
	case FAIRQ_FULL:
		metrics_work_refused("total");
		return HTTP_WORK_FULL;
	default:
		return HTTP_WORK_ERROR;
	}
}

int
http_work_submit(struct http_slot *slot, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct fairq_job *j = (struct fairq_job *)slot;
	struct http_server *s = ((struct loop *)j->loop)->srv;

	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&s->wmu);
	if (s->wstop) {
		fairq_cancel(s->fq, j);
		pthread_mutex_unlock(&s->wmu);
		return -1;
	}
	fairq_submit(s->fq, j);
	pthread_cond_signal(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
	return 0;
}

void
http_work_cancel(struct http_slot *slot)
{
	struct fairq_job *j = (struct fairq_job *)slot;
	struct http_server *s;

	if (j == NULL)
		return;
	s = ((struct loop *)j->loop)->srv;
	pthread_mutex_lock(&s->wmu);
	fairq_cancel(s->fq, j);
	pthread_mutex_unlock(&s->wmu);
}

int
http_work(struct http_req *r, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct http_slot *slot;

	if (http_work_admit(r, NULL, &slot) != HTTP_WORK_OK)
		return -1;
	return http_work_submit(slot, work, done, arg);
}

int
http_store_write(struct http_req *r, store_write_fn fn, store_done_fn done, void *ctx)
{
	return store_write_async(r->authd->store, fn, done, ctx, loop_post, r->loop);
}

/* ---- request accessors ------------------------------------------------- */

const char *
http_header(struct http_req *r, const char *name)
{
	struct hreq *h = (struct hreq *)r;

	if (h->ev == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(h->ev), name);
}

/* Every line of header name, in the order received, joined with ", " into out
 * (RFC 9110 §5.3: repeated lines are one comma-separated list). Returns the
 * number of lines, or -1 when the joined list does not fit in n bytes. */
static int
header_lines(struct hreq *h, const char *name, char *out, size_t n)
{
	const struct evkeyval *kv;
	size_t len = 0;
	int lines = 0;

	out[0] = '\0';
	if (h->ev == NULL)
		return 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(h->ev), next) {
		size_t vl;

		if (strcasecmp(kv->key, name) != 0)
			continue;
		vl = strlen(kv->value);
		if (len + (lines ? 2 : 0) + vl >= n)
			return -1;
		if (lines++) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, kv->value, vl + 1);
		len += vl;
	}
	return lines;
}

/* How many lines of header name the request carries. */
static int
header_count(struct hreq *h, const char *name)
{
	const struct evkeyval *kv;
	int lines = 0;

	if (h->ev == NULL)
		return 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(h->ev), next)
		lines += strcasecmp(kv->key, name) == 0;
	return lines;
}

static char *
req_strdup(struct hreq *h, const char *s, size_t n)
{
	struct alloc *a = malloc(sizeof(*a) + n + 1);

	if (a == NULL)
		return NULL;
	memcpy(a->s, s, n);
	a->s[n] = '\0';
	a->next = h->allocs;
	h->allocs = a;
	return a->s;
}

const char *
http_cookie(struct http_req *r, const char *name)
{
	const char *c = http_header(r, "Cookie"), *p, *end, *eq;
	size_t nl = strlen(name);

	if (c == NULL)
		return NULL;
	for (p = c; *p; p = *end ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || (size_t)(eq - p) != nl || memcmp(p, name, nl) != 0)
			continue;
		eq++;
		{
			const char *ve = end;

			while (ve > eq && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - eq >= 2 && *eq == '"' && ve[-1] == '"') {
				eq++;
				ve--;
			}
			return req_strdup((struct hreq *)r, eq, (size_t)(ve - eq));
		}
	}
	return NULL;
}

/* A POST's parameters are in its body, never in its URL (RFC 6749 §2.3.1,
 * §3.2): reading them from the query "when the body lacks them" let a client
 * put client_secret or password in a URL, and an attacker's link or form put
 * anything there. */
const char *
http_param(struct http_req *r, const char *key)
{
	return form_get(r->method == HTTP_POST ? r->form : r->query, key);
}

const char *
http_query(struct http_req *r, const char *key)
{
	return form_get(r->query, key);
}

/* Parameters that carry a credential or a secret. In a URL they end up in
 * access logs, proxies, browser history and Referer headers (RFC 6749 §2.3.1,
 * RFC 6750 §2.3, RFC 9700 §2.4), so a query string naming one is refused with
 * nothing done, whatever the method... */
static const char *const url_secrets[] = {
	"password", "client_secret", "client_assertion", "refresh_token", "access_token",
	"device_code", "code_verifier", "mfa_token", "otp", "recovery_code", NULL,
};
/* ... and in a POST these as well, which a GET query may carry for a reason
 * (an authorization code coming back to a redirect URI). */
static const char *const post_url_secrets[] = { "code", "token", "csrf", NULL };
/* Values compared as bytes with a stored secret and never shown or logged: a
 * control byte or invalid UTF-8 in them makes a wrong credential (answered as
 * such by the handler), not a malformed request (form_parse_secrets). */
static const char *const body_secrets[] = { "password", "otp", "recovery_code", NULL };

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* The first credential parameter in r's query string, or NULL. */
static const char *
query_secret(const struct http_req *r)
{
	size_t i;

	for (i = 0; r->query != NULL && i < r->query->n; i++) {
		const char *k = r->query->f[i].key;

		if (in_list(url_secrets, k) || (r->method == HTTP_POST && in_list(post_url_secrets, k)))
			return k;
	}
	return NULL;
}

/* ---- replies ------------------------------------------------------------ */

void
http_add_header(struct http_req *r, const char *name, const char *value)
{
	struct hreq *h = (struct hreq *)r;

	if (h->dead || h->ev == NULL)
		return;
	/* evhttp refuses CR/LF in values, so no header injection gets through. */
	if (evhttp_add_header(evhttp_request_get_output_headers(h->ev), name, value) != 0)
		log_msg(LOG_WARN, "refused response header", "name", name, NULL);
}

static int
cookie_token_ok(const char *s, int value)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == ';' || *p == ',' || *p == '"' ||
		    *p == '\\')
			return 0;
		if (!value && (*p == '=' || *p == '(' || *p == ')' || *p == '<' || *p == '>' ||
		    *p == '@' || *p == ':' || *p == '/' || *p == '[' || *p == ']' ||
		    *p == '?' || *p == '{' || *p == '}'))
			return 0;
	}
	return 1;
}

void
http_set_cookie(struct http_req *r, const char *name, const char *value, int max_age)
{
	char buf[4096];
	int n;

	if (!*name || !cookie_token_ok(name, 0) || !cookie_token_ok(value, 1)) {
		log_msg(LOG_ERROR, "refused to set a malformed cookie", "name", name, NULL);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%s=%s; Path=/;%s HttpOnly; SameSite=Lax", name,
	    max_age == 0 ? "" : value, r->loop->srv->secure_cookies ? " Secure;" : "");
	if (n > 0 && (size_t)n < sizeof(buf) && max_age >= 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; Max-Age=%d", max_age);
	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		log_msg(LOG_ERROR, "cookie too large", "name", name, NULL);
		return;
	}
	http_add_header(r, "Set-Cookie", buf);
}

static void server_destroy(struct http_server *s);

static void
req_free(struct hreq *h)
{
	struct alloc *a, *next;
	struct http_server *s = h->r.loop->srv;

	for (a = h->allocs; a != NULL; a = next) {
		next = a->next;
		wipe(a->s, strlen(a->s));
		free(a);
	}
	form_free(h->r.query);
	form_free(h->r.form);
	if (h->body != NULL) {
		/* Bodies carry passwords and codes. */
		wipe(h->body, h->r.body_len);
		free(h->body);
	}
	free(h->path);
	free(h->peer_pem);
	free(h);
	/* The last reply of a server stopped with requests pending frees it. */
	if (atomic_fetch_sub(&s->inflight, 1) == 1)
		server_destroy(s);
}

static void
access_log(struct hreq *h, int status, uint64_t ns)
{
	char st[8], ms[32];

	snprintf(st, sizeof(st), "%d", status);
	snprintf(ms, sizeof(ms), "%.3f", (double)ns / 1e6);
	log_msg(LOG_INFO, "request", "method", method_name(h->r.method),
	    "path", h->path ? h->path : "-", "status", st, "ms", ms,
	    "peer", h->r.peer, h->dead ? "dropped" : NULL, "client gone", NULL);
}

void
http_reply(struct http_req *r, int status, const char *content_type,
    const void *body, size_t len)
{
	struct hreq *h = (struct hreq *)r;
	struct http_server *s = r->loop->srv;
	uint64_t ns = now_ns() - r->start_ns;
	struct evkeyvalq *out;
	struct evbuffer *b;

	metrics_request(h->rt ? h->rt->name : "unmatched", status, ns);
	access_log(h, status, ns);

	if (h->dead) {
		if (h->orphan && h->ev != NULL)
			evhttp_request_free(h->ev);
		req_free(h);
		return;
	}
	/* From here on libevent owns ev again; no close notice for this request. */
	if (h->evcon != NULL) {
		evhttp_connection_set_closecb(h->evcon, NULL, NULL);
		/* The next request on this connection has its own deadline. */
		guard_arm(guard_of(h->evcon), s->a->conf->read_timeout_s);
	}
	out = evhttp_request_get_output_headers(h->ev);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	if (s->ssl != NULL)
		evhttp_add_header(out, "Strict-Transport-Security", "max-age=31536000");
	if (content_type != NULL)
		evhttp_add_header(out, "Content-Type", content_type);
	if (atomic_load(&s->stopping))
		evhttp_add_header(out, "Connection", "close");
	b = evbuffer_new();
	if (b != NULL && len > 0 && evbuffer_add(b, body, len) != 0) {
		evbuffer_free(b);
		b = NULL;
	}
	if (b == NULL && len > 0) {
		evhttp_send_error(h->ev, 500, NULL);
	} else {
		evhttp_send_reply(h->ev, status, reason_phrase(status), b);
	}
	if (b != NULL)
		evbuffer_free(b);
	h->ev = NULL;
	req_free(h);
}

void
http_reply_json(struct http_req *r, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (s == NULL) {
		http_add_header(r, "Cache-Control", "no-store");
		http_reply(r, 500, "application/json", "{\"error\":\"server_error\"}", 24);
		return;
	}
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Pragma", "no-cache");
	http_reply(r, status, "application/json", s, strlen(s));
	free(s);
}

void
http_reply_oauth_error(struct http_req *r, int status, const char *error, const char *desc)
{
	struct hreq *h = (struct hreq *)r;
	json_t *j = json_pack("{s:s}", "error", error);

	if (j != NULL && desc != NULL)
		json_object_set_new(j, "error_description", json_string(desc));
	if (status == 401 && h->ev != NULL && !h->dead &&
	    evhttp_find_header(evhttp_request_get_output_headers(h->ev),
	    "WWW-Authenticate") == NULL) {
		char v[160];

		/* error codes are fixed ASCII tokens of ours; never user input. */
		snprintf(v, sizeof(v), "Bearer error=\"%s\"", error);
		http_add_header(r, "WWW-Authenticate", v);
	}
	http_reply_json(r, status, j);
}

void
http_reply_html(struct http_req *r, int status, const char *html, size_t len)
{
	char csp[512];

	/* No form-action: browsers apply it to the redirect after the sign-in form,
	 * which goes to the app's own origin. connect-src lets the page scripts call
	 * /login/begin, and the citizen-card script the local sign server. */
	snprintf(csp, sizeof(csp), "default-src 'none'; style-src 'self'; script-src 'self'; "
	    "img-src 'self' data:; connect-src 'self'%s%s; frame-ancestors 'none'; base-uri 'none'",
	    r->authd->conf->x509_enabled ? " " : "",
	    r->authd->conf->x509_enabled ? r->authd->conf->x509_local_sign_origin : "");
	http_add_header(r, "Content-Security-Policy", csp);
	http_add_header(r, "X-Frame-Options", "DENY");
	http_add_header(r, "Cache-Control", "no-store");
	http_reply(r, status, "text/html; charset=utf-8", html, len);
}

void
http_redirect(struct http_req *r, const char *location)
{
	http_add_header(r, "Location", location);
	http_add_header(r, "Cache-Control", "no-store");
	http_reply(r, 303, NULL, NULL, 0);
}

static void
reply_error(struct http_req *r, int status, const char *error, const char *desc)
{
	http_reply_oauth_error(r, status, error, desc);
}

/* ---- the generic callback ---------------------------------------------- */

/* The connection is going away. If libevent still lists ev on it, libevent
 * frees ev right after this call; if it already detached ev (EOF/timeout while
 * the handler works), freeing ev is ours. Either way the reply is now dropped. */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hreq *h = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	h->dead = 1;
	h->evcon = NULL;
	if (h->ev != NULL && evhttp_request_get_connection(h->ev) == NULL)
		h->orphan = 1;
	else
		h->ev = NULL;
	h->r.ev = h->ev;
}

static int
peer_trusted(struct http_server *s, const char *peer)
{
	int i;

	for (i = 0; i < s->a->conf->n_trusted_proxies; i++)
		if (strcmp(s->a->conf->trusted_proxies[i], peer) == 0)
			return 1;
	return 0;
}

static int
ip_valid(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The client address: the TCP peer, or, when the peer is a trusted proxy, the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy (entries
 * further left are whatever the client chose to send). */
static void
set_peer(struct hreq *h)
{
	struct http_server *s = h->r.loop->srv;
	const struct sockaddr *sa = evhttp_connection_get_addr(h->evcon);
	char tmp[1024];

	strcpy(h->r.peer, "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, h->r.peer,
		    sizeof(h->r.peer));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, h->r.peer,
		    sizeof(h->r.peer));
	if (s->a->conf->n_trusted_proxies == 0 || !peer_trusted(s, h->r.peer))
		return;
	/* A proxy appends its line after any the client sent (HAProxy's option
	 * forwardfor): read them all, in order, as one list, and walk it from the
	 * right. A list too long to read leaves the proxy's own address. */
	if (header_lines(h, "X-Forwarded-For", tmp, sizeof(tmp)) <= 0)
		return;
	for (;;) {
		char *comma = strrchr(tmp, ','), *e = comma ? comma + 1 : tmp, *end;

		while (*e == ' ' || *e == '\t')
			e++;
		end = e + strlen(e);
		while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		/* ip_valid bounds e to an address, which fits peer. */
		if (strlen(e) >= sizeof(h->r.peer) || !ip_valid(e))
			return;
		if (!peer_trusted(s, e) || comma == NULL) {
			memcpy(h->r.peer, e, strlen(e) + 1);
			return;
		}
		*comma = '\0';
	}
}

/* One of the languages of share/i18n (web/pages.h), or NULL. */
static const char *
lang_norm(const char *v)
{
	return pages_lang(v);
}

static const char *
pick_lang(struct hreq *h)
{
	const char *l, *al;
	char tag[16];

	if ((l = lang_norm(form_get(h->r.query, "lang"))) != NULL)
		return l;
	if ((l = lang_norm(http_cookie(&h->r, "lang"))) != NULL)
		return l;
	/* Accept-Language: the first tag we serve, in the order given. */
	if ((al = http_header(&h->r, "Accept-Language")) != NULL) {
		while (*al) {
			size_t n = 0;

			while (*al == ' ' || *al == ',')
				al++;
			while (al[n] && al[n] != ',' && al[n] != ';' && n < sizeof(tag) - 1) {
				tag[n] = al[n];
				n++;
			}
			tag[n] = '\0';
			if ((l = lang_norm(tag)) != NULL)
				return l;
			al = strchr(al, ',');
			if (al == NULL)
				break;
		}
	}
	l = pages_lang(h->r.loop->srv->a->conf->default_lang);
	return l != NULL ? l : "zh-TW";
}

static int
is_form_type(const char *ct)
{
	size_t n = strlen("application/x-www-form-urlencoded");

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void
allow_header(struct http_req *r, unsigned methods)
{
	char allow[48] = "";

	if (methods & HTTP_GET)
		strcat(allow, "GET, HEAD, ");
	if (methods & HTTP_POST)
		strcat(allow, "POST, ");
	strcat(allow, "OPTIONS");
	http_add_header(r, "Allow", allow);
}

/* The TCP peer (not the X-Forwarded-For client) is a trusted proxy. */
static int
tcp_peer_trusted(struct hreq *h)
{
	const struct sockaddr *sa = evhttp_connection_get_addr(h->evcon);
	char a[64] = "";

	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
	return a[0] != '\0' && peer_trusted(h->r.loop->srv, a);
}

/* On the client-certificate listener: the certificate the client presented in
 * this connection's handshake (the handshake proved its key), as PEM. */
static void
peer_cert_from_tls(struct hreq *h)
{
	SSL *ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(h->evcon));
	X509 *x = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	BIO *bio;
	char *p;
	long n;

	h->r.tls_client_cert = 1;
	if (x == NULL)
		return;
	if ((bio = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(bio, x) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 && n <= PEER_PEM_MAX &&
	    (h->peer_pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(h->peer_pem, p, (size_t)n);
		h->peer_pem[n] = '\0';
		h->r.tls_peer_cert_pem = h->peer_pem;
	}
	BIO_free(bio);
	X509_free(x);
}

/* Behind a TLS-terminating proxy: the client certificate in [x509]
 * proxy_header (URL-encoded PEM, nginx $ssl_client_escaped_cert), believed
 * only when the TCP peer is a trusted proxy. Anyone else could type it. */
static void
peer_cert_from_proxy(struct hreq *h)
{
	const struct conf *c = h->r.loop->srv->a->conf;
	const char *v;
	char *pem;
	size_t n = 0;

	if (!c->x509_enabled || c->x509_proxy_header == NULL || c->x509_proxy_header[0] == '\0' ||
	    (v = http_header(&h->r, c->x509_proxy_header)) == NULL || v[0] == '\0')
		return;
	if (!tcp_peer_trusted(h)) {
		log_msg(LOG_WARN, "client certificate header from an untrusted address ignored",
		    "peer", h->r.peer, "header", c->x509_proxy_header, NULL);
		return;
	}
	/* The proxy sets this header once; a second line is one the client sent
	 * and the proxy let through: which one is the proxy's cannot be known. */
	if (header_count(h, c->x509_proxy_header) != 1) {
		log_msg(LOG_WARN, "client certificate header sent more than once: ignored",
		    "peer", h->r.peer, "header", c->x509_proxy_header, NULL);
		return;
	}
	if (strlen(v) > 3 * PEER_PEM_MAX || (pem = evhttp_uridecode(v, 0, &n)) == NULL)
		return;
	if (n == 0 || n > PEER_PEM_MAX || strlen(pem) != n ||
	    strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0) {
		free(pem);
		return;
	}
	h->peer_pem = pem;
	h->r.tls_peer_cert_pem = pem;
}

static void
handle_req(struct evhttp_request *ev, struct loop *l, int cc)
{
	struct http_server *s = l->srv;
	struct hreq *h;
	struct http_req *r;
	const struct evhttp_uri *uri;
	const struct http_route *rt;
	struct evbuffer *in;
	const char *raw, *q, *ct;
	size_t plen;
	enum form_err fe;
	int fd;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		evhttp_send_error(ev, 503, NULL);
		return;
	}
	atomic_fetch_add(&s->inflight, 1);
	r = &h->r;
	r->authd = s->a;
	r->loop = l;
	r->ev = ev;
	r->start_ns = now_ns();
	r->route = -1;
	h->ev = ev;
	h->evcon = evhttp_request_get_connection(ev);
	evhttp_connection_set_closecb(h->evcon, conn_closed, h);
	/* The request has arrived in time; answering it is our business. */
	guard_pause(guard_of(h->evcon));

	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(h->evcon));
	if (fd >= 0) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	set_peer(h);
	throttle_prefix(h->r.peer, h->r.authd->conf->ipv4_prefix, h->r.authd->conf->ipv6_prefix,
	                h->r.peer_prefix);
	if (cc)
		peer_cert_from_tls(h);
	else
		peer_cert_from_proxy(h);

	switch (evhttp_request_get_command(ev)) {
	case EVHTTP_REQ_GET: r->method = HTTP_GET; break;
	case EVHTTP_REQ_POST: r->method = HTTP_POST; break;
	case EVHTTP_REQ_HEAD: r->method = HTTP_HEAD; break;
	case EVHTTP_REQ_OPTIONS: r->method = HTTP_OPTIONS; break;
	default:
		reply_error(r, 405, "invalid_request", "method not allowed");
		return;
	}
	/* A TLS listener only ever serves TLS bufferevents (see make_bev). */
	if (s->ssl != NULL &&
	    bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(h->evcon)) == NULL) {
		http_add_header(r, "Connection", "close");
		reply_error(r, 400, "invalid_request", "TLS required");
		return;
	}

	uri = evhttp_request_get_evhttp_uri(ev);
	raw = uri ? evhttp_uri_get_path(uri) : NULL;
	if (raw == NULL || *raw == '\0')
		raw = "/";
	h->path = evhttp_uridecode(raw, 0, &plen);
	if (h->path == NULL || plen != strlen(h->path) || !utf8_valid(h->path, plen) ||
	    h->path[0] != '/' || strstr(h->path, "..") != NULL) {
		free(h->path);
		h->path = NULL;
		reply_error(r, 400, "invalid_request", "invalid request path");
		return;
	}
	r->path = h->path;

	q = uri ? evhttp_uri_get_query(uri) : NULL;
	fe = form_parse(q ? q : "", q ? strlen(q) : 0, &r->query);
	if (fe != FORM_OK) {
		char d[96];

		snprintf(d, sizeof(d), "query string: %s", form_strerror(fe));
		reply_error(r, 400, "invalid_request", d);
		return;
	}

	in = evhttp_request_get_input_buffer(ev);
	r->body_len = evbuffer_get_length(in);
	if ((h->body = malloc(r->body_len + 1)) == NULL) {
		reply_error(r, 503, "temporarily_unavailable", "out of memory");
		return;
	}
	if (r->body_len > 0)
		evbuffer_remove(in, h->body, r->body_len);
	h->body[r->body_len] = '\0';
	r->body = h->body;
	r->lang = pick_lang(h);

	/* Exact paths; a route ending in '/' takes every path below it (the
	 * static files: the handler looks the rest up in its allow-list). */
	for (rt = route_table(); rt->path != NULL; rt++) {
		size_t n = strlen(rt->path);

		if (strcmp(rt->path, r->path) == 0 ||
		    (n > 1 && rt->path[n - 1] == '/' && strncmp(rt->path, r->path, n) == 0))
			break;
	}
	if (rt->path == NULL) {
		reply_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	h->rt = rt;
	r->route = (int)(rt - route_table());
	if (!(rt->methods & r->method) &&
	    !(r->method == HTTP_HEAD && (rt->methods & HTTP_GET))) {
		allow_header(r, rt->methods);
		if (r->method == HTTP_OPTIONS) {
			http_reply(r, 204, NULL, NULL, 0);
			return;
		}
		reply_error(r, 405, "invalid_request", "method not allowed");
		return;
	}
	if (r->method != HTTP_OPTIONS && (q = query_secret(r)) != NULL) {
		char d[160];

		snprintf(d, sizeof(d), "%s must not be sent in the URL query string; send it in "
		    "the request body (POST) or a header", q);
		reply_error(r, 400, "invalid_request", d);
		return;
	}
	if (r->method == HTTP_POST) {
		ct = http_header(r, "Content-Type");
		if (is_form_type(ct)) {
			fe = form_parse_secrets(h->body, r->body_len, body_secrets, &r->form);
			if (fe != FORM_OK) {
				reply_error(r, 400, "invalid_request", form_strerror(fe));
				return;
			}
		} else if (rt->form_body) {
			reply_error(r, 415, "invalid_request",
			    "Content-Type must be application/x-www-form-urlencoded");
			return;
		}
	}
	rt->handler(r);
}

static void
handle(struct evhttp_request *ev, void *arg)
{
	handle_req(ev, arg, 0);
}

static void
handle_cc(struct evhttp_request *ev, void *arg)
{
	handle_req(ev, arg, 1);
}

/* ---- TLS ----------------------------------------------------------------- */

static void
conn_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct http_server *s = ptr;

	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	if (s != NULL)
		atomic_fetch_sub(&s->conns, 1);
}

/* The request deadline. evhttp's timeout restarts with every byte received, so
 * a client dripping a byte a second would keep its connection (and a slot of
 * max_connections) forever: slowloris. Each TLS connection therefore has a
 * timer: its next request must have fully arrived read_timeout_s after the
 * connection opened or after the previous reply, or the socket is shut down
 * (evhttp then sees the end of the stream and frees the connection itself, on
 * its own loop). The timer is off while a request is being answered. */
struct guard {
	struct event *timer;
	struct bufferevent *bev;
};

static void
guard_fire(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	evutil_socket_t sock = bufferevent_getfd(g->bev);

	(void)fd; (void)what;
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

static void
guard_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct guard *g = ptr;

	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	if (g != NULL) {
		event_free(g->timer);
		free(g);
	}
}

/* The guard of the connection carrying ev, or NULL (plain HTTP, gone). */
static struct guard *
guard_of(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, ssl_guard_idx) : NULL;
}

static void
guard_arm(struct guard *g, int seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

	if (g != NULL)
		evtimer_add(g->timer, &tv);
}

static void
guard_pause(struct guard *g)
{
	if (g != NULL)
		evtimer_del(g->timer);
}

static void
ssl_idx_init(void)
{
	ssl_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_gone);
	ssl_refuse_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ssl_guard_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, guard_gone);
}

/* Connections over the cap are accepted by the kernel but refused at the
 * ClientHello, before any work on their behalf. */
static int
client_hello(SSL *ssl, int *al, void *arg)
{
	(void)arg;
	if (SSL_get_ex_data(ssl, ssl_refuse_idx) != NULL) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* HTTP/1.1 only: evhttp does not speak h2. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	unsigned char *sel;

	(void)ssl; (void)arg;
	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int
ssl_setup(struct http_server *s, SSL_CTX **slot)
{
	const struct conf *c = s->a->conf;
	SSL_CTX *ctx;
	unsigned long e;
	char eb[256];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	*slot = ctx;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* TLS 1.2: forward-secret AEAD suites only. TLS 1.3 suites are all AEAD. */
	if (!SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	    "ECDHE-RSA-CHACHA20-POLY1305"))
		goto fail;
	if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384"))
		goto fail;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_client_hello_cb(ctx, client_hello, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, eb, sizeof(eb));
		log_msg(LOG_ERROR, "cannot load TLS certificate chain", "file", c->tls_cert,
		    "error", eb, NULL);
		goto fail_quiet;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, eb, sizeof(eb));
		log_msg(LOG_ERROR, "cannot load TLS key (or it does not match the certificate)",
		    "file", c->tls_key, "error", eb, NULL);
		goto fail_quiet;
	}
	return 0;
fail:
	e = ERR_get_error();
	ERR_error_string_n(e, eb, sizeof(eb));
	log_msg(LOG_ERROR, "TLS setup failed", "error", eb, NULL);
fail_quiet:
	ERR_clear_error();
	return -1;
}

/* Accept any certificate at the handshake: the x509 method validates it later
 * (chain, policy, revocation) and explains a refusal on a page, which a failed
 * handshake could not. The handshake still proves the client holds the key. */
static int
cc_verify(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

/* The client-certificate listener's context: as the main one, and it asks
 * (never requires) for a certificate, naming the MOICA CAs and the root so
 * browsers offer the card's certificate. */
static int
cc_ssl_setup(struct http_server *s)
{
	const struct conf *c = s->a->conf;
	STACK_OF(X509_NAME) *names;

	if (ssl_setup(s, &s->cc_ssl) != 0)
		return -1;
	SSL_CTX_set_verify(s->cc_ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, cc_verify);
	/* Resumed sessions keep their peer certificate; the id context is required. */
	if (SSL_CTX_set_session_id_context(s->cc_ssl, (const unsigned char *)"authd-x509", 10) != 1)
		return -1;
	if ((names = sk_X509_NAME_new_null()) == NULL)
		return -1;
	if (c->x509_intermediates != NULL)
		SSL_add_file_cert_subjects_to_stack(names, c->x509_intermediates);
	if (c->x509_trust_anchors != NULL)
		SSL_add_file_cert_subjects_to_stack(names, c->x509_trust_anchors);
	ERR_clear_error();
	SSL_CTX_set_client_CA_list(s->cc_ssl, names);
	return 0;
}

static struct bufferevent *
bev_for(struct event_base *base, struct loop *l, SSL_CTX *ctx)
{
	struct http_server *s = l->srv;
	struct bufferevent *bev;
	SSL *ssl;
	int n;

	if (ctx == NULL)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(ctx)) == NULL)
		goto plain;
	n = atomic_fetch_add(&s->conns, 1) + 1;
	SSL_set_ex_data(ssl, ssl_conn_idx, s);     /* conn_gone() undoes the count */
	if (n > s->a->conf->max_connections)
		SSL_set_ex_data(ssl, ssl_refuse_idx, s);
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		goto plain;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	struct guard *g = calloc(1, sizeof(*g));
	if (g != NULL && (g->timer = evtimer_new(base, guard_fire, g)) != NULL) {
		g->bev = bev;
		SSL_set_ex_data(ssl, ssl_guard_idx, g);   /* guard_gone() frees it with the SSL */
		guard_arm(g, s->a->conf->read_timeout_s);
	} else {
		free(g);
	}
	return bev;
plain:
	/* Returning NULL would make evhttp build a plain bufferevent anyway;
	 * handle() refuses every request on such a connection. */
	log_msg(LOG_ERROR, "cannot set up a TLS connection", NULL);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct loop *l = arg;

	return bev_for(base, l, l->srv->ssl);
}

static struct bufferevent *
make_bev_cc(struct event_base *base, void *arg)
{
	struct loop *l = arg;

	return bev_for(base, l, l->srv->cc_ssl);
}

/* ---- listeners and threads --------------------------------------------- */

static int
resolve_listen(struct http_server *s, int i, const char *spec)
{
	char host[256], port[8];
	const char *colon;
	struct addrinfo hints, *res = NULL;
	size_t hl;
	int rc;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL)
			return -1;
		hl = (size_t)(close - spec - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hl);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	if (*colon != ':' || strlen(colon + 1) >= sizeof(port))
		return -1;
	strcpy(port, colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL) {
		log_msg(LOG_ERROR, "cannot resolve listen address", "addr", spec,
		    "error", gai_strerror(rc), NULL);
		return -1;
	}
	memcpy(&s->addr[i], res->ai_addr, res->ai_addrlen);
	s->addrlen[i] = (socklen_t)res->ai_addrlen;
	s->port[i] = atoi(port);
	freeaddrinfo(res);
	return 0;
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int
open_listener(struct http_server *s, int i, const char *spec)
{
	int fd, one = 1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char err[128];

	set_port(&s->addr[i], s->port[i]);
	fd = socket(s->addr[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	/* Accepted sockets inherit TCP_NODELAY on Linux; handle() sets it again. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->addr[i].ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&s->addr[i], s->addrlen[i]) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	if (s->port[i] == 0) {
		/* Port 0: the first socket gets a port from the kernel, the other
		 * loops' sockets share it through SO_REUSEPORT. */
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			goto fail;
		s->port[i] = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
fail:
	snprintf(err, sizeof(err), "%s", strerror(errno));
	log_msg(LOG_ERROR, "cannot listen", "addr", spec, "error", err, NULL);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
loop_setup(struct http_server *s, struct loop *l)
{
	const struct conf *c = s->a->conf;
	int i, fd;

	pthread_mutex_init(&l->mu, NULL);
	if ((l->base = event_base_new()) == NULL || (l->http = evhttp_new(l->base)) == NULL)
		return -1;
	if ((l->post_ev = event_new(l->base, -1, 0, post_run, l)) == NULL)
		return -1;
	evhttp_set_max_headers_size(l->http, (ev_ssize_t)c->max_header_bytes);
	evhttp_set_max_body_size(l->http, (ev_ssize_t)c->max_body_bytes);
	/* Read (and drop) an oversized body before answering 413, so the client
	 * gets the answer instead of a reset mid-upload; the request deadline
	 * bounds how long that may take. */
	evhttp_set_flags(l->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_timeout(l->http, c->read_timeout_s);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(l->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(l->http, handle, l);
	evhttp_set_bevcb(l->http, make_bev, l);
	for (i = 0; i < c->n_listen; i++) {
		if ((fd = open_listener(s, i, c->listen[i])) < 0)
			return -1;
		if ((l->bound[i] = evhttp_accept_socket_with_handle(l->http, fd)) == NULL) {
			close(fd);
			return -1;
		}
		l->nbound = i + 1;
	}
	if (s->cc_ssl != NULL) {
		if ((l->cc_http = evhttp_new(l->base)) == NULL)
			return -1;
		evhttp_set_max_headers_size(l->cc_http, (ev_ssize_t)c->max_header_bytes);
		evhttp_set_max_body_size(l->cc_http, (ev_ssize_t)c->max_body_bytes);
		evhttp_set_flags(l->cc_http, EVHTTP_SERVER_LINGERING_CLOSE);
		evhttp_set_timeout(l->cc_http, c->read_timeout_s);
		evhttp_set_allowed_methods(l->cc_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
		    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
		evhttp_set_default_content_type(l->cc_http, "text/plain; charset=utf-8");
		evhttp_set_gencb(l->cc_http, handle_cc, l);
		evhttp_set_bevcb(l->cc_http, make_bev_cc, l);
		if ((fd = open_listener(s, CC_SLOT, c->x509_tls_listen)) < 0)
			return -1;
		if ((l->cc_bound = evhttp_accept_socket_with_handle(l->cc_http, fd)) == NULL) {
			close(fd);
			return -1;
		}
	}
	return 0;
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;

	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void server_free(struct http_server *s);

int
http_start(struct authd *a)
{
	const struct conf *c = a->conf;
	struct http_server *s;
	int i;

	if (evthread_use_pthreads() != 0)
		return -1;
	pthread_once(&ssl_idx_once, ssl_idx_init);
	if (ssl_conn_idx < 0 || ssl_refuse_idx < 0 || ssl_guard_idx < 0)
		return -1;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->a = a;
	atomic_init(&s->inflight, 1);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_cond_init(&s->wcv, NULL);
	/* Behind a TLS proxy the browser still sees https, so cookies stay
	 * Secure unless the issuer itself is plain http (loopback development). */
	s->secure_cookies = c->tls || strncmp(c->issuer ? c->issuer : "", "http://", 7) != 0;
	if (c->tls && ssl_setup(s, &s->ssl) != 0)
		goto fail;
	if (c->x509_enabled && c->x509_tls_listen != NULL && c->x509_tls_listen[0] != '\0') {
		if (!c->tls) {
			log_msg(LOG_ERROR, "[x509] tls_listen needs TLS ([server] tls_cert and tls_key)",
			    NULL);
			goto fail;
		}
		if (cc_ssl_setup(s) != 0 || resolve_listen(s, CC_SLOT, c->x509_tls_listen) != 0)
			goto fail;
	}
	for (i = 0; i < c->n_listen; i++)
		if (resolve_listen(s, i, c->listen[i]) != 0)
			goto fail;
	s->nloops = c->threads > 0 ? c->threads : ncpu();
	s->nworkers = c->workers > 0 ? c->workers : ncpu();
	s->fq = fairq_new(c->worker_queue_per_source > 0 ? (unsigned)c->worker_queue_per_source : 16,
	                  c->worker_queue_per_account > 0 ? (unsigned)c->worker_queue_per_account : 4,
	                  c->worker_queue_max > 0 ? (unsigned)c->worker_queue_max : 256);
	if (s->fq == NULL ||
	    (s->loops = calloc((size_t)s->nloops, sizeof(*s->loops))) == NULL ||
	    (s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers))) == NULL)
		goto fail;
	a->http = s;
	for (i = 0; i < s->nloops; i++) {
		s->loops[i].srv = s;
		s->loops[i].idx = i;
		if (loop_setup(s, &s->loops[i]) != 0)
			goto fail;
	}
	for (i = 0; i < s->nworkers; i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
			s->nworkers = i;
			goto fail;
		}
	}
	for (i = 0; i < s->nloops; i++) {
		if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0)
			goto fail;
		s->loops[i].started = 1;
	}
	return 0;
fail:
	a->http = NULL;
	server_free(s);
	return -1;
}

int
http_bound_cc_port(struct authd *a)
{
	if (a->http == NULL || a->http->cc_ssl == NULL)
		return -1;
	return a->http->port[CC_SLOT];
}

int
http_bound_port(struct authd *a, int i)
{
	if (a->http == NULL || i < 0 || i >= a->conf->n_listen)
		return -1;
	return a->http->port[i];
}

static void
unbind(void *arg)
{
	struct loop *l = arg;
	int i;

	for (i = 0; i < l->nbound; i++)
		evhttp_del_accept_socket(l->http, l->bound[i]);
	l->nbound = 0;
	if (l->cc_bound != NULL)
		evhttp_del_accept_socket(l->cc_http, l->cc_bound);
	l->cc_bound = NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Stops workers and loops (joined) and frees what is safe to free. */
static void
server_free(struct http_server *s)
{
	struct post *p, *next;
	int i, pending;

	pthread_mutex_lock(&s->wmu);
	s->wstop = 1;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
	for (i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	for (i = 0; s->loops != NULL && i < s->nloops; i++) {
		struct loop *l = &s->loops[i];

		if (l->started) {
			event_base_loopexit(l->base, NULL);
			pthread_join(l->thread, NULL);
			l->started = 0;
		}
		/* Completions posted before the thread ended run now; later ones
		 * run inline (loop_post). */
		pthread_mutex_lock(&l->mu);
		l->closed = 1;
		p = l->head;
		l->head = l->tail = NULL;
		pthread_mutex_unlock(&l->mu);
		for (; p != NULL; p = next) {
			next = p->next;
			p->fn(p->arg);
			free(p);
		}
		if (l->http != NULL)
			evhttp_free(l->http);   /* closes connections: pending requests turn dead */
		l->http = NULL;
		if (l->cc_http != NULL)
			evhttp_free(l->cc_http);
		l->cc_http = NULL;
	}
	/* Drop the server's own reference. A store write still holding requests
	 * replies later through these loops (inline, to dead requests); the last
	 * such reply frees the server instead. */
	pending = atomic_fetch_sub(&s->inflight, 1) - 1;
	if (pending > 0) {
		char n[16];

		snprintf(n, sizeof(n), "%d", pending);
		log_msg(LOG_WARN, "stopped with requests still pending", "count", n, NULL);
		return;
	}
	server_destroy(s);
}

static void
server_destroy(struct http_server *s)
{
	int i;

	for (i = 0; s->loops != NULL && i < s->nloops; i++) {
		struct loop *l = &s->loops[i];

		if (l->post_ev != NULL)
			event_free(l->post_ev);
		if (l->base != NULL)
			event_base_free(l->base);
		pthread_mutex_destroy(&l->mu);
	}
	free(s->loops);
	free(s->workers);
	fairq_free(s->fq);
	if (s->ssl != NULL)
		SSL_CTX_free(s->ssl);
	if (s->cc_ssl != NULL)
		SSL_CTX_free(s->cc_ssl);
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcv);
	free(s);
}

void
http_set_stop_grace(int ms)
{
	stop_grace_ms = ms < 0 ? 0 : ms;
}

void
http_stop(struct authd *a)
{
	struct http_server *s = a->http;
	int i, waited;

	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	for (i = 0; i < s->nloops; i++)
		loop_post(&s->loops[i], unbind, &s->loops[i]);
	for (waited = 0; waited < stop_grace_ms && atomic_load(&s->inflight) > 1; waited += 10)
		sleep_ms(10);
	a->http = NULL;
	server_free(s);
}

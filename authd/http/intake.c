/* authd/http/intake.c — a request from the wire to its handler (http.h): the
 * evhttp callback builds struct http_req — method, decoded path, query, body and
 * its form, the client's address (X-Forwarded-For from trusted proxies only),
 * its address group, the client certificate (the TLS session's on the
 * client-certificate listener, else a trusted proxy's header), the language —
 * refuses what is malformed or carries a credential in the URL, and routes it;
 * and the request accessors handlers read it with. TLS is seen only through
 * server.c's conn_* functions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../../lib/util.h"
#include "../authd.h"
#include "../log.h"
#include "../throttle.h"
#include "../web/pages.h"
#include "internal.h"

static const struct http_route *routes_override;

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
	h->r.tls_client_cert = 1;
	if ((h->peer_pem = conn_peer_cert_pem(h->evcon)) != NULL)
		h->r.tls_peer_cert_pem = h->peer_pem;
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
	conn_request_begins(h->evcon);
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
	if (s->tls && !conn_is_tls(h->evcon)) {
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
		/* The terminator may name who answers an unknown path (a page for
		 * a browser, JSON for a program); its name is the metrics label. */
		if (rt->handler != NULL) {
			h->rt = rt;
			rt->handler(r);
		} else {
			reply_error(r, 404, "not_found", "no such endpoint");
		}
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

void
intake_request(struct evhttp_request *ev, void *arg)
{
	handle_req(ev, arg, 0);
}

void
intake_request_cc(struct evhttp_request *ev, void *arg)
{
	handle_req(ev, arg, 1);
}

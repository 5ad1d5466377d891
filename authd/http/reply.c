/* authd/http/reply.c — the answer to a request (http.h): response headers and
 * cookies, the reply calls with the security headers every response gets (and
 * the CSP of pages), the metrics and access-log line, and freeing the request
 * once it is answered (or its client went away). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../../lib/util.h"
#include "../authd.h"
#include "../log.h"
#include "../metrics.h"
#include "internal.h"

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
	server_release(s);
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
		conn_next_request(s, h->evcon);
	}
	out = evhttp_request_get_output_headers(h->ev);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	if (s->tls)
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
	if (h->evcon != NULL)
		conn_reply_sent(h->evcon);
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
	 * /login/begin. The citizen-card script reaches the local sign server only
	 * through its popup (window.open + postMessage), which connect-src does not
	 * govern: the server sends no CORS headers, so a fetch could never read it. */
	snprintf(csp, sizeof(csp),
	    "default-src 'none'; style-src 'self'; script-src 'self'; "
	    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
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

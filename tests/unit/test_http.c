/* tests/unit/test_http.c — http.c against a real TLS client: the server runs
 * in-process on 127.0.0.1 and [::1] (kernel-chosen port) with a certificate made
 * here, a route table of the test's own, and a real LMDB store for /healthz.
 * Covers routing, limits, refusals, deferred replies, client disconnects before
 * a deferred reply, loop_post from another thread and graceful stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../authd/authd.h"
#include "../../authd/http.h"
#include "../../authd/log.h"
#include "../../authd/ops.h"
#include "fixture.h"

static char dir[FX_DIR_MAX];
static char certfile[FX_DIR_MAX + 16], keyfile[FX_DIR_MAX + 16], storedir[FX_DIR_MAX + 16];
static X509 *cert;
static struct conf conf;
static struct authd authd;
static int port4, port6;

static atomic_int slow_done;        /* deferred replies that ran */
static atomic_int post_ran_on_loop; /* loop_post callbacks that ran on the loop thread */

/* ---- handlers of the test's route table -------------------------------- */

static void
h_echo(struct http_req *r)
{
	const char *pw = http_param(r, "password");
	json_t *j = json_pack("{s:s?,s:s?,s:s,s:s,s:s,s:I,s:I,s:b}", "a", http_param(r, "a"), "qa",
	    http_query(r, "a"), "lang", r->lang, "peer", r->peer, "prefix", r->peer_prefix,
	    "body_len", (json_int_t)r->body_len,
	    "pw_len", (json_int_t)(pw != NULL ? (json_int_t)strlen(pw) : -1),
	    "cert", r->tls_peer_cert_pem != NULL);

	http_reply_json(r, 200, j);
}

struct slow {
	struct http_req *r;
	int ms;
};

static void
slow_work(void *arg)
{
	struct slow *s = arg;
	struct timespec ts = { s->ms / 1000, (long)(s->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
slow_done_cb(void *arg)
{
	struct slow *s = arg;

	atomic_fetch_add(&slow_done, 1);
	http_reply(s->r, 200, "text/plain", "slow", 4);
	free(s);
}

static void
h_slow(struct http_req *r)
{
	struct slow *s = malloc(sizeof(*s));
	const char *ms = http_param(r, "ms");

	assert_non_null(s);
	s->r = r;
	s->ms = ms ? atoi(ms) : 300;
	if (http_work(r, slow_work, slow_done_cb, s) != 0) {
		free(s);
		http_reply(r, 503, "text/plain", "busy", 4);
	}
}

struct poster {
	struct http_req *r;
	pthread_t loop_thread;
};

static void
posted(void *arg)
{
	struct poster *p = arg;

	if (pthread_equal(pthread_self(), p->loop_thread))
		atomic_fetch_add(&post_ran_on_loop, 1);
	http_reply(p->r, 200, "text/plain", "posted", 6);
	free(p);
}

static void *
post_thread(void *arg)
{
	struct poster *p = arg;

	loop_post(p->r->loop, posted, p);
	return NULL;
}

static void
h_post(struct http_req *r)
{
	struct poster *p = malloc(sizeof(*p));
	pthread_t t;

	assert_non_null(p);
	p->r = r;
	p->loop_thread = pthread_self();
	assert_int_equal(pthread_create(&t, NULL, post_thread, p), 0);
	pthread_detach(t);
}

static void
h_cookie(struct http_req *r)
{
	const char *v = http_cookie(r, "sid");

	http_set_cookie(r, "__Host-t", "v1", 60);
	http_reply(r, 200, "text/plain", v ? v : "-", v ? strlen(v) : 1);
}

/* Keeps the request without replying: the test replies after http_stop. */
static struct http_req *_Atomic held;

static void
h_hold(struct http_req *r)
{
	atomic_store(&held, r);
}

static const struct http_route test_routes[] = {
	{ "/hold", HTTP_GET, h_hold, "hold", 0 },
	{ "/healthz", HTTP_GET, ops_healthz, "healthz", 0 },
	{ "/echo", HTTP_GET | HTTP_POST, h_echo, "echo", 1 },
	{ "/slow", HTTP_GET, h_slow, "slow", 0 },
	{ "/post", HTTP_GET, h_post, "post", 0 },
	{ "/cookie", HTTP_GET, h_cookie, "cookie", 0 },
	{ NULL, 0, NULL, NULL, 0 },
};

/* ---- certificate, server, client --------------------------------------- */

static int
make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	int rc = -1;

	if (k != NULL && (cert = fx_self_signed_cert(k, "localhost", NULL)) != NULL &&
	    fx_write_pem(certfile, cert, NULL) == 0 && fx_write_pem(keyfile, NULL, k) == 0)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

static int
group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	if (fx_tmpdir(dir, "http") != 0)
		return -1;
	snprintf(certfile, sizeof(certfile), "%s/tls.crt", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/tls.key", dir);
	snprintf(storedir, sizeof(storedir), "%s/data", dir);
	if (make_cert() != 0)
		return -1;
	if (fx_store_open(&authd.store, storedir, 16, 0) != STORE_OK)
		return -1;
	memset(&conf, 0, sizeof(conf));
	conf.issuer = "https://127.0.0.1";
	conf.listen[0] = "127.0.0.1:0";
	conf.listen[1] = "[::1]:0";
	conf.n_listen = 2;
	conf.tls_cert = certfile;
	conf.tls_key = keyfile;
	conf.tls = 1;
	conf.threads = 2;
	conf.workers = 2;
	conf.max_header_bytes = 4096;
	conf.max_body_bytes = 2048;
	conf.read_timeout_s = 5;
	conf.max_connections = 64;
	conf.trusted_proxies[0] = "127.0.0.1";
	conf.n_trusted_proxies = 1;
	conf.x509_enabled = 1;	/* for the client certificate header from the proxy */
	conf.x509_proxy_header = "X-Client-Cert";
	conf.default_lang = "zh-TW";
	authd.conf = &conf;
	http_set_routes(test_routes);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(cert);
	http_set_routes(NULL);
	return fx_store_remove(dir, authd.store);
}

static int
start(void **state)
{
	(void)state;
	if (http_start(&authd) != 0)
		return -1;
	port4 = http_bound_port(&authd, 0);
	port6 = http_bound_port(&authd, 1);
	return port4 > 0 && port6 > 0 ? 0 : -1;
}

static int
stop(void **state)
{
	(void)state;
	http_stop(&authd);
	return 0;
}

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int
tls_open(struct conn *c, int v6)
{
	struct sockaddr_storage ss;
	struct timeval tv = { 5, 0 };
	socklen_t sl;

	memset(c, 0, sizeof(*c));
	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port6);
		inet_pton(AF_INET6, "::1", &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port4);
		inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
		sl = sizeof(*s4);
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0)
		return -1;
	c->ctx = SSL_CTX_new(TLS_client_method());
	/* Trust exactly the test certificate. */
	X509_STORE_add_cert(SSL_CTX_get_cert_store(c->ctx), cert);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static void
tls_close(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends req and reads until the server closes (or 5 s pass). Returns the
 * status code; *closed tells whether the server closed the connection. */
static int
exchange(int v6, const char *req, size_t reqlen, char *out, size_t outsz, int *closed)
{
	struct conn c;
	size_t got = 0;
	int n, status = -1;

	if (tls_open(&c, v6) != 0) {
		tls_close(&c);
		return -1;
	}
	if (SSL_write(c.ssl, req, (int)reqlen) != (int)reqlen) {
		tls_close(&c);
		return -1;
	}
	*closed = 0;
	while (got + 1 < outsz) {
		n = SSL_read(c.ssl, out + got, (int)(outsz - 1 - got));
		if (n <= 0) {
			int e = SSL_get_error(c.ssl, n);

			/* A read timeout is the only way to end here with the
			 * connection still open; EOF with or without close_notify
			 * means the server closed it. */
			*closed = e != SSL_ERROR_WANT_READ &&
			    !(e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	if (got > 12 && strncmp(out, "HTTP/1.1 ", 9) == 0)
		status = atoi(out + 9);
	tls_close(&c);
	ERR_clear_error();
	return status;
}

static int
get(const char *path, char *out, size_t outsz)
{
	char req[512];
	int closed;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\n\r\n", path);
	return exchange(0, req, strlen(req), out, outsz, &closed);
}

static const char *
body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* ---- tests --------------------------------------------------------------- */

static void
test_healthz(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(get("/healthz", out, sizeof(out)), 200);
	assert_string_equal(body_of(out), "{\"status\":\"ok\"}");
	assert_non_null(strstr(out, "X-Content-Type-Options: nosniff"));
	assert_non_null(strstr(out, "Referrer-Policy: no-referrer"));
	assert_non_null(strstr(out, "Strict-Transport-Security: max-age="));
	assert_non_null(strstr(out, "Cache-Control: no-store"));
}

static void
test_not_found_and_methods(void **state)
{
	char out[4096];
	int closed;
	const char *post = "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Length: 0\r\n\r\n";
	const char *put = "PUT /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Length: 0\r\n\r\n";
	const char *opt = "OPTIONS /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	(void)state;
	assert_int_equal(get("/nope", out, sizeof(out)), 404);
	assert_non_null(strstr(body_of(out), "\"error\":\"not_found\""));
	assert_int_equal(get("/healthz/", out, sizeof(out)), 404);
	assert_int_equal(exchange(0, post, strlen(post), out, sizeof(out), &closed), 405);
	assert_non_null(strstr(out, "Allow: GET, HEAD, OPTIONS"));
	assert_int_equal(exchange(0, opt, strlen(opt), out, sizeof(out), &closed), 204);
	assert_non_null(strstr(out, "Allow: GET, HEAD, OPTIONS"));
	/* Methods outside GET/POST/HEAD/OPTIONS never reach a handler. */
	assert_true(exchange(0, put, strlen(put), out, sizeof(out), &closed) >= 400);
}

static void
test_path_refused(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(get("/../etc/passwd", out, sizeof(out)), 400);
	assert_int_equal(get("/a/%2e%2e/echo", out, sizeof(out)), 400);
	assert_int_equal(get("/echo%00x", out, sizeof(out)), 400);
	assert_int_equal(get("/%ff%fe", out, sizeof(out)), 400);
	assert_non_null(strstr(body_of(out), "invalid_request"));
}

static void
test_query_and_form(void **state)
{
	char out[4096], req[1024];
	int closed;

	(void)state;
	assert_int_equal(get("/echo?a=x%20y&lang=en", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"a\":\"x y\""));
	assert_non_null(strstr(body_of(out), "\"lang\":\"en\""));
	assert_int_equal(get("/echo?a=1&a=2", out, sizeof(out)), 400);
	assert_non_null(strstr(body_of(out), "query string"));
	assert_int_equal(get("/echo?a=%zz", out, sizeof(out)), 400);

	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
	    "Content-Length: 7\r\n\r\na=hello");
	assert_int_equal(exchange(0, req, strlen(req), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"a\":\"hello\""));
	assert_non_null(strstr(body_of(out), "\"body_len\":7"));

	/* Repeated parameter in a form body: 400 naming the problem. */
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 7\r\n\r\na=1&a=2");
	assert_int_equal(exchange(0, req, strlen(req), out, sizeof(out), &closed), 400);
	assert_non_null(strstr(body_of(out), "error_description"));

	/* A form route refuses other content types. */
	snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
	assert_int_equal(exchange(0, req, strlen(req), out, sizeof(out), &closed), 415);
}

/* POST <path> with a form body; the status, the answer in out. */
static int
post_form(const char *path, const char *body, char *out, size_t outsz)
{
	char req[2048];
	int closed;

	snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
	    path, strlen(body), body);
	return exchange(0, req, strlen(req), out, outsz, &closed);
}

/* Parameters of a POST come from its body only; the URL query of a POST is
 * never read by http_param (RFC 6749 §2.3.1, §3.2: credentials in the body). */
static void
test_post_reads_the_body_only(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(post_form("/echo?a=from-query", "b=1", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"a\":null"));
	/* ... unless the handler asks for the query by name. */
	assert_non_null(strstr(body_of(out), "\"qa\":\"from-query\""));
	assert_int_equal(post_form("/echo?a=from-query", "a=from-body", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"a\":\"from-body\""));
	/* GET keeps its query parameters. */
	assert_int_equal(get("/echo?a=from-query", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"a\":\"from-query\""));
}

/* A credential in the URL of a POST is refused before any handler runs: the URL
 * ends up in logs, proxies and browser history. */
static void
test_credentials_in_query_refused(void **state)
{
	static const char *const post_keys[] = {
		"password", "client_secret", "client_assertion", "code", "code_verifier",
		"refresh_token", "device_code", "token", "access_token", "otp", "recovery_code",
		"mfa_token", "csrf",
	};
	static const char *const get_keys[] = {
		"password", "client_secret", "client_assertion", "refresh_token", "access_token",
		"otp", "recovery_code", "mfa_token", "device_code", "code_verifier",
	};
	char out[4096], path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(post_keys) / sizeof(post_keys[0]); i++) {
		snprintf(path, sizeof(path), "/echo?%s=x", post_keys[i]);
		if (post_form(path, "a=1", out, sizeof(out)) != 400 ||
		    strstr(body_of(out), "\"invalid_request\"") == NULL ||
		    strstr(body_of(out), post_keys[i]) == NULL ||
		    strstr(body_of(out), "query") == NULL)
			fail_msg("POST %s: %.300s", path, out);
	}
	for (i = 0; i < sizeof(get_keys) / sizeof(get_keys[0]); i++) {
		snprintf(path, sizeof(path), "/echo?%s=x", get_keys[i]);
		if (get(path, out, sizeof(out)) != 400 || strstr(body_of(out), get_keys[i]) == NULL)
			fail_msg("GET %s: %.300s", path, out);
	}
	/* Not credentials in a GET: a code coming back to a redirect URI, a user code. */
	assert_int_equal(get("/echo?code=x&user_code=BCDF-GHJK&csrf=y&token=z", out, sizeof(out)), 200);
	/* The same names in the body of a POST are what a client must do. */
	assert_int_equal(post_form("/echo", "password=x&client_secret=y&code=z", out, sizeof(out)), 200);
}

/* Secret values (password, otp, recovery_code) are compared as bytes and
 * never shown, so a control byte or invalid UTF-8 in them makes a wrong
 * credential, not a malformed request; NUL is still refused, as is the same
 * byte in any other field. */
static void
test_secret_values_are_opaque(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(post_form("/echo", "password=%08%0A%0D%7FINCORRECT", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"pw_len\":13"));
	assert_int_equal(post_form("/echo", "password=%FF%FEx", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"pw_len\":3"));
	assert_int_equal(post_form("/echo", "otp=12%01", out, sizeof(out)), 200);
	assert_int_equal(post_form("/echo", "recovery_code=%1B%5B31m", out, sizeof(out)), 200);
	assert_int_equal(post_form("/echo", "password=a%00b", out, sizeof(out)), 400);
	assert_int_equal(post_form("/echo", "a=%01", out, sizeof(out)), 400);
	assert_int_equal(post_form("/echo", "username=%08x&password=y", out, sizeof(out)), 400);
	/* Only in a body: a query string keeps the strict rule for every key. */
	assert_int_equal(get("/echo?otp=%01", out, sizeof(out)), 400);
}

static void
test_oversized_header_closes(void **state)
{
	static char req[16384];
	char out[4096];
	int closed = 0, n;

	(void)state;
	/* No "Connection: close": the server itself must drop the connection. */
	n = snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', 8000);
	n += 8000;
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n\r\n");
	errno = 0;
	n = exchange(0, req, (size_t)n, out, sizeof(out), &closed);
	if (!(n == 400 || n == 413 || n == 431))
		fail_msg("status %d: %.200s", n, out);
	assert_true(closed);
}

static void
test_oversized_body(void **state)
{
	static char req[8192];
	char out[4096];
	int closed, n;

	(void)state;
	n = snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\na=");
	memset(req + n, 'b', 3998);
	n += 3998;
	assert_int_equal(exchange(0, req, (size_t)n, out, sizeof(out), &closed), 413);
}

static void
test_peer_and_forwarded_for(void **state)
{
	char out[4096];
	int closed;
	const char *xff = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 192.0.2.66, 198.51.100.7\r\n\r\n";
	const char *bad = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: not-an-address\r\n\r\n";

	(void)state;
	/* 127.0.0.1 is a trusted proxy: the right-most forwarded address counts. */
	assert_int_equal(exchange(0, xff, strlen(xff), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"peer\":\"198.51.100.7\""));
	assert_int_equal(exchange(0, bad, strlen(bad), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"peer\":\"127.0.0.1\""));
	/* ::1 is not trusted: its X-Forwarded-For is ignored (and IPv6 works). */
	assert_int_equal(exchange(1, xff, strlen(xff), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"peer\":\"::1\""));
	assert_non_null(strstr(body_of(out), "\"prefix\":\"6:::/64\""));
}

/* Every per-address limit keys on the address group: an IPv6 client by its /64
 * however it writes the address, an IPv4 one by its /32. */
static void
test_peer_prefix(void **state)
{
	char out[4096];
	int closed;
	const char *v6 = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 2001:DB8:7:7:0:0:1:2\r\n\r\n";
	const char *v4 = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 198.51.100.7\r\n\r\n";

	(void)state;
	assert_int_equal(exchange(0, v6, strlen(v6), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"prefix\":\"6:2001:db8:7:7::/64\""));
	assert_int_equal(exchange(0, v4, strlen(v4), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"prefix\":\"4:198.51.100.7/32\""));
}

/* A proxy appends its own X-Forwarded-For line after the client's: all lines
 * are one list, read from the right (not the client's first line). */
static void
test_forwarded_for_lines(void **state)
{
	char out[4096];
	int closed;
	const char *two = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 203.0.113.66\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n";
	const char *spread = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 203.0.113.66, 192.0.2.1\r\nx-forwarded-for: 198.51.100.8, 127.0.0.1\r\n\r\n";

	(void)state;
	assert_int_equal(exchange(0, two, strlen(two), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"peer\":\"198.51.100.7\""));
	assert_int_equal(exchange(0, spread, strlen(spread), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"peer\":\"198.51.100.8\""));
}

/* The proxy's client-certificate header counts only when it came once. */
static void
test_proxy_cert_header_once(void **state)
{
	static char one[4096], twice[8192];
	char out[4096], *pem = NULL, *enc;
	int closed;
	BIO *b = BIO_new(BIO_s_mem());
	long n;

	(void)state;
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, cert), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	enc = evhttp_uriencode(pem, n, 0);
	assert_non_null(enc);
	snprintf(one, sizeof(one), "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Client-Cert: %s\r\n\r\n", enc);
	snprintf(twice, sizeof(twice), "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Client-Cert: %s\r\nX-Client-Cert: %s\r\n\r\n", enc, enc);
	free(enc);
	BIO_free(b);
	assert_int_equal(exchange(0, one, strlen(one), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"cert\":true"));
	assert_int_equal(exchange(0, twice, strlen(twice), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"cert\":false"));
}

static void
test_lang_and_cookies(void **state)
{
	char out[4096];
	int closed;
	const char *al = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Accept-Language: fr-FR, en-US;q=0.8\r\n\r\n";
	const char *ck = "GET /cookie HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Cookie: a=1; sid=s3cr3t; lang=en\r\n\r\n";

	(void)state;
	assert_int_equal(get("/echo", out, sizeof(out)), 200);
	assert_non_null(strstr(body_of(out), "\"lang\":\"zh-TW\""));
	assert_int_equal(exchange(0, al, strlen(al), out, sizeof(out), &closed), 200);
	assert_non_null(strstr(body_of(out), "\"lang\":\"en\""));
	assert_int_equal(exchange(0, ck, strlen(ck), out, sizeof(out), &closed), 200);
	assert_string_equal(body_of(out), "s3cr3t");
	assert_non_null(strstr(out, "Set-Cookie: __Host-t=v1; Path=/; Secure; HttpOnly; "
	    "SameSite=Lax; Max-Age=60"));
}

static void
test_deferred_work(void **state)
{
	char out[4096];
	int before = atomic_load(&slow_done);

	(void)state;
	assert_int_equal(get("/slow?ms=50", out, sizeof(out)), 200);
	assert_string_equal(body_of(out), "slow");
	assert_int_equal(atomic_load(&slow_done), before + 1);
}

static void
test_disconnect_before_deferred_reply(void **state)
{
	const char *req = "GET /slow?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[4096];
	struct conn c;
	int before = atomic_load(&slow_done), i;

	(void)state;
	assert_int_equal(tls_open(&c, 0), 0);
	assert_int_equal(SSL_write(c.ssl, req, (int)strlen(req)), (int)strlen(req));
	/* Give the server time to hand the request to a worker, then vanish. */
	usleep(100 * 1000);
	tls_close(&c);
	for (i = 0; i < 100 && atomic_load(&slow_done) == before; i++)
		usleep(20 * 1000);
	assert_int_equal(atomic_load(&slow_done), before + 1);
	/* The late reply was dropped safely; the server still answers. */
	assert_int_equal(get("/healthz", out, sizeof(out)), 200);
}

static void
test_loop_post_from_thread(void **state)
{
	char out[4096];
	int before = atomic_load(&post_ran_on_loop);

	(void)state;
	assert_int_equal(get("/post", out, sizeof(out)), 200);
	assert_string_equal(body_of(out), "posted");
	assert_int_equal(atomic_load(&post_ran_on_loop), before + 1);
}

struct bg {
	const char *path;
	int status;
	char out[4096];
};

/* GETs b->path from another thread, so the test can stop the server meanwhile. */
static void *
bg_get(void *arg)
{
	struct bg *b = arg;

	b->status = get(b->path, b->out, sizeof(b->out));
	return NULL;
}

static void
test_graceful_stop_finishes_inflight(void **state)
{
	struct bg b = { .path = "/slow?ms=500" };
	pthread_t t;
	char out[256];
	int before = atomic_load(&slow_done);

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, bg_get, &b), 0);
	usleep(150 * 1000);
	http_stop(&authd);      /* must wait for the request in flight */
	pthread_join(t, NULL);
	assert_int_equal(b.status, 200);
	assert_string_equal(body_of(b.out), "slow");
	assert_int_equal(atomic_load(&slow_done), before + 1);
	/* Nothing listens any more. */
	assert_int_equal(get("/healthz", out, sizeof(out)), -1);
}

/* A request still pending when the grace period ends: its connection is
 * closed, and the reply that comes later (here from this thread, as a store
 * completion would after the loops ended) is dropped without touching freed
 * memory; the last such reply frees the server (ASan checks both). */
static void
test_stop_timeout_then_late_reply(void **state)
{
	struct bg b = { .path = "/hold" };
	pthread_t t;
	struct http_req *r;
	int i;

	(void)state;
	atomic_store(&held, NULL);
	assert_int_equal(pthread_create(&t, NULL, bg_get, &b), 0);
	for (i = 0; i < 250 && atomic_load(&held) == NULL; i++)
		usleep(20 * 1000);
	r = atomic_load(&held);
	assert_non_null(r);
	http_set_stop_grace(100);
	http_stop(&authd);
	http_set_stop_grace(10000);
	pthread_join(t, NULL);
	assert_int_equal(b.status, -1);          /* closed without an answer */
	http_add_header(r, "X-Late", "1");
	http_set_cookie(r, "late", "1", -1);
	assert_null(http_header(r, "Host"));
	http_reply(r, 200, "text/plain", "late", 4);
}

/* ---- the lean transport (docs/decisions/0010-lean-transport.md) ---------- */

/* TLS records of application data received on a connection, counted by the
 * client's message callback (every record's 5-byte header). */
static atomic_int records_in;

static void
count_records(
    int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)ssl;
	(void)arg;
	if (!write_p && content_type == SSL3_RT_HEADER && len >= 1 &&
	    ((const unsigned char *)buf)[0] == SSL3_RT_APPLICATION_DATA)
		atomic_fetch_add(&records_in, 1);
}

/* The last response ka_read read. */
static char ka_last[8192];

/* Reads one response on a keep-alive connection (headers and Content-Length
 * body) into ka_last; out (outsz bytes) keeps what was read after it (*have
 * bytes: a pipelined next response). Returns the status, or -1. */
static int
ka_read(struct conn *c, char *out, size_t outsz, size_t *have)
{
	for (;;) {
		char *end = out ? strstr(out, "\r\n\r\n") : NULL;
		int n;

		if (end != NULL) {
			const char *cl = strstr(out, "Content-Length: ");
			size_t head = (size_t)(end - out) + 4, total;
			int status = atoi(out + 9);

			total = head + (cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
			if (*have >= total && total < sizeof(ka_last)) {
				memcpy(ka_last, out, total);
				ka_last[total] = '\0';
				memmove(out, out + total, *have - total + 1);
				*have -= total;
				return status;
			}
		}
		if (*have + 1 >= outsz)
			return -1;
		n = SSL_read(c->ssl, out + *have, (int)(outsz - 1 - *have));
		if (n <= 0)
			return -1;
		*have += (size_t)n;
		out[*have] = '\0';
	}
}

/* Each request on a kept-alive connection is answered in one TLS record, be it
 * answered at once, after worker-pool work or from another thread. */
static void
test_reply_is_one_record(void **state)
{
	static const char *const paths[] = { "/healthz", "/slow?ms=20", "/post", "/healthz" };
	char out[8192], req[256];
	size_t have = 0, i;
	struct conn c;

	(void)state;
	assert_int_equal(tls_open(&c, 0), 0);
	SSL_set_msg_callback(c.ssl, count_records);
	/* The first exchange also brings TLS 1.3 session tickets: not counted. */
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(SSL_write(c.ssl, req, (int)strlen(req)), (int)strlen(req));
	out[0] = '\0';
	assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
		atomic_store(&records_in, 0);
		assert_int_equal(SSL_write(c.ssl, req, (int)strlen(req)), (int)strlen(req));
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_int_equal(have, 0);
		assert_int_equal(atomic_load(&records_in), 1);
	}
	tls_close(&c);
}

/* Writes a and b as two TLS records that reach the server in one TCP send, so
 * that one read(2) of the server takes both (read-ahead leaves the second
 * inside OpenSSL, where no readiness announces it). */
static int
two_records_one_send(struct conn *c, const char *a, size_t an, const char *b, size_t bn)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok;

	if (mem == NULL)
		return -1;
	SSL_set0_wbio(c->ssl, mem);
	ok = SSL_write(c->ssl, a, (int)an) == (int)an && SSL_write(c->ssl, b, (int)bn) == (int)bn;
	n = BIO_get_mem_data(mem, &p);
	ok = ok && n > 0 && send(c->fd, p, (size_t)n, 0) == n;
	SSL_set0_wbio(c->ssl, BIO_new_socket(c->fd, BIO_NOCLOSE));
	return ok ? 0 : -1;
}

/* However the client cuts its requests into TLS records and writes, every one
 * is read and answered in order: two requests in one record; a POST whose
 * headers and body are two records sent at once; two records of a request each
 * sent at once; a request arriving while a slow one is answered. */
static void
test_pipelined_and_split_records(void **state)
{
	const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	                  "GET /echo?a=second HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Type: application/x-www-form-urlencoded\r\n"
	                   "Content-Length: 9\r\n\r\n";
	const char *slow_then = "GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *then = "GET /echo?a=after-slow HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[8192];
	size_t have = 0;
	struct conn c;
	int round;

	(void)state;
	out[0] = '\0';
	assert_int_equal(tls_open(&c, 0), 0);
	assert_int_equal(SSL_write(c.ssl, two, (int)strlen(two)), (int)strlen(two));
	assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
	assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
	assert_non_null(strstr(ka_last, "\"qa\":\"second\""));
	for (round = 0; round < 20; round++) {
		assert_int_equal(SSL_write(c.ssl, head, (int)strlen(head)), (int)strlen(head));
		assert_int_equal(SSL_write(c.ssl, "a=in-body", 9), 9);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_non_null(strstr(ka_last, "\"a\":\"in-body\""));
		assert_int_equal(SSL_write(c.ssl, two, 20), 20);
		assert_int_equal(
		    SSL_write(c.ssl, two + 20, (int)strlen(two) - 20), (int)strlen(two) - 20);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_non_null(strstr(ka_last, "\"qa\":\"second\""));
	}
	for (round = 0; round < 5; round++) {
		assert_int_equal(two_records_one_send(&c, head, strlen(head), "a=in-body", 9), 0);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_non_null(strstr(ka_last, "\"a\":\"in-body\""));
		assert_int_equal(two_records_one_send(&c, two, 34, two + 34, strlen(two) - 34), 0);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_non_null(strstr(ka_last, "\"qa\":\"second\""));
		/* The second request waits inside OpenSSL while the first is
		 * answered by a worker. */
		assert_int_equal(
		    two_records_one_send(&c, slow_then, strlen(slow_then), then, strlen(then)), 0);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_int_equal(strncmp(body_of(ka_last), "slow", 4), 0);
		assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
		assert_non_null(strstr(ka_last, "\"qa\":\"after-slow\""));
	}
	assert_int_equal(
	    SSL_write(c.ssl, slow_then, (int)strlen(slow_then)), (int)strlen(slow_then));
	usleep(30 * 1000);
	assert_int_equal(SSL_write(c.ssl, then, (int)strlen(then)), (int)strlen(then));
	assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
	assert_int_equal(strncmp(body_of(ka_last), "slow", 4), 0);
	assert_int_equal(ka_read(&c, out, sizeof(out), &have), 200);
	assert_non_null(strstr(ka_last, "\"qa\":\"after-slow\""));
	tls_close(&c);
}

static void
test_start_refuses_bad_cert(void **state)
{
	struct conf saved = conf;

	(void)state;
	conf.tls_cert = "/nonexistent/cert.pem";
	assert_int_equal(http_start(&authd), -1);
	assert_null(authd.http);
	conf = saved;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthz, start, stop),
		cmocka_unit_test_setup_teardown(test_not_found_and_methods, start, stop),
		cmocka_unit_test_setup_teardown(test_path_refused, start, stop),
		cmocka_unit_test_setup_teardown(test_query_and_form, start, stop),
		cmocka_unit_test_setup_teardown(test_post_reads_the_body_only, start, stop),
		cmocka_unit_test_setup_teardown(test_credentials_in_query_refused, start, stop),
		cmocka_unit_test_setup_teardown(test_secret_values_are_opaque, start, stop),
		cmocka_unit_test_setup_teardown(test_oversized_header_closes, start, stop),
		cmocka_unit_test_setup_teardown(test_oversized_body, start, stop),
		cmocka_unit_test_setup_teardown(test_peer_and_forwarded_for, start, stop),
		cmocka_unit_test_setup_teardown(test_forwarded_for_lines, start, stop),
		cmocka_unit_test_setup_teardown(test_proxy_cert_header_once, start, stop),
		cmocka_unit_test_setup_teardown(test_peer_prefix, start, stop),
		cmocka_unit_test_setup_teardown(test_lang_and_cookies, start, stop),
		cmocka_unit_test_setup_teardown(test_deferred_work, start, stop),
		cmocka_unit_test_setup_teardown(test_disconnect_before_deferred_reply, start, stop),
		cmocka_unit_test_setup_teardown(test_loop_post_from_thread, start, stop),
		cmocka_unit_test_setup(test_graceful_stop_finishes_inflight, start),
		cmocka_unit_test_setup(test_stop_timeout_then_late_reply, start),
		cmocka_unit_test_setup_teardown(test_reply_is_one_record, start, stop),
		cmocka_unit_test_setup_teardown(test_pipelined_and_split_records, start, stop),
		cmocka_unit_test(test_start_refuses_bad_cert),
	};

	return cmocka_run_group_tests_name("http", tests, group_setup, group_teardown);
}

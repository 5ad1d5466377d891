/* authd/http/server.c — the HTTP(S) server's machinery (http.h): N event-loop
 * threads, each with its own event_base, evhttp and SO_REUSEPORT listeners; the
 * OpenSSL contexts (and the client-certificate listener's); the connection cap
 * and the per-connection request deadline (the guard); loop_post, which brings
 * slow work back onto a request's loop, and the request-side names of the worker
 * pool (work.h, whose life cycle follows the server's); graceful start and stop.
 * Requests themselves are intake.c's and reply.c's. */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../authd.h"
#include "../log.h"
#include "../work.h"
#include "internal.h"

#define LISTEN_BACKLOG 1024
/* How long http_stop waits for in-flight requests (ms). */
static int stop_grace_ms = 10000;

static int ssl_conn_idx = -1, ssl_refuse_idx = -1, ssl_guard_idx = -1;

static pthread_once_t ssl_idx_once = PTHREAD_ONCE_INIT;

static void server_destroy(struct http_server *s);

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

/* ---- the worker pool (work.h), for requests ------------------------------ */

/* The request-side names of work.h: a request's jobs are CPU-class jobs of its
 * address group, and their done runs on the request's loop. */
int
http_work_admit(struct http_req *r, const char *account, struct http_slot **out)
{
	return work_admit(r->loop->srv->work, WORK_CPU, r->peer_prefix, account, loop_post, r->loop,
	    (struct work_slot **)out);
}

struct work_pool *
http_work_pool(const struct http_req *r)
{
	return r->loop->srv->work;
}

void *
http_loop_poster(const struct http_req *r)
{
	return r->loop;
}

int
http_work_submit(struct http_slot *slot, void (*work)(void *), void (*done)(void *), void *arg)
{
	return work_submit((struct work_slot *)slot, work, done, arg) == ST_OK ? 0 : -1;
}

void
http_work_cancel(struct http_slot *slot)
{
	work_cancel((struct work_slot *)slot);
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
http_store_work(struct http_req *r, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct work_slot *slot;

	if (work_admit(r->loop->srv->work, WORK_STORE, r->peer_prefix, NULL, loop_post, r->loop,
	        &slot) != ST_OK)
		return -1;
	return work_submit(slot, work, done, arg) == ST_OK ? 0 : -1;
}

int
http_store_write(struct http_req *r, store_write_fn fn, store_done_fn done, void *ctx)
{
	return store_write_async(r->authd->store, fn, done, ctx, loop_post, r->loop);
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
	struct event *kick; /* see kick_fire */
	struct event *hold; /* see hold_fire */
	int held;
	int fresh; /* a request just came in: see hold_fire */
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
		if (g->hold != NULL)
			event_free(g->hold);
		if (g->kick != NULL)
			event_free(g->kick);
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

/* The read interest, held. evhttp takes a connection's read interest away
 * while it answers a request and gives it back after the reply, which is two
 * epoll_ctl calls per request (one when the changelist nets them out within a
 * turn of the loop: del then add is still a MOD). A second, persistent read
 * event on the same socket keeps the socket in the epoll set throughout, so
 * evhttp's toggling changes nothing the kernel sees. The hold does no reading:
 * when it fires while evhttp does not read (data or the end of the stream
 * arrived during an answer), it lets go, so the loop does not spin on a
 * readable socket, and is taken again with the next reply. Its first firing
 * after a request came in is the readiness that brought the request (both
 * events fire on it), and says nothing about what is left: the socket is
 * level-triggered, so anything left fires it again in the next turn. */
static void
hold_fire(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;

	(void)fd;
	(void)what;
	if (bufferevent_get_enabled(g->bev) & EV_READ)
		return;
	if (g->fresh) {
		g->fresh = 0;
		return;
	}
	event_del(g->hold);
	g->held = 0;
}

static void
hold_take(struct guard *g)
{
	evutil_socket_t fd;

	if (g == NULL || g->held)
		return;
	if (g->hold == NULL) {
		if ((fd = bufferevent_getfd(g->bev)) < 0)
			return;
		g->hold =
		    event_new(bufferevent_get_base(g->bev), fd, EV_READ | EV_PERSIST, hold_fire, g);
		if (g->hold == NULL)
			return;
	}
	if (event_add(g->hold, NULL) == 0)
		g->held = 1;
}

/* ---- the connection, for intake.c and reply.c ---------------------------- */

void
conn_request_begins(struct evhttp_connection *evcon)
{
	struct guard *g = guard_of(evcon);

	guard_pause(g);
	hold_take(g);
	if (g != NULL)
		g->fresh = 1;
}

void
conn_next_request(struct http_server *s, struct evhttp_connection *evcon)
{
	struct guard *g = guard_of(evcon);

	guard_arm(g, s->a->conf->read_timeout_s);
	hold_take(g);
	if (g != NULL)
		g->fresh = 0;
}

/* The lean hot path (docs/decisions/0010-lean-transport.md). evhttp turns the
 * connection's read interest off while a request is answered and its write
 * interest on for the reply, then back; and a bufferevent writes only once the
 * loop has seen the socket writable. With the loops' epoll changelist (which
 * applies only the net change of an iteration, see loop_setup) and the write
 * started here, in the same iteration, a reply made at once costs no epoll_ctl
 * and leaves in the same turn of the loop. If the socket cannot take it all,
 * the bufferevent's write event, still armed, finishes the job. */
void
conn_reply_sent(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);

	if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		event_active(&bev->ev_write, EV_WRITE, 1);
}

/* The whole answer in one piece: evhttp writes the status line and headers,
 * then appends the body as its own chain, and a bufferevent hands each chain
 * to its own SSL_write (one TLS record and one write(2) each). Keeping the
 * output contiguous makes a reply one record and one write. Answers beyond
 * COALESCE_MAX are left in chains: their records are full anyway. */
#define COALESCE_MAX 65536

/* One read(2) per request: a TLS connection reads ahead (SSL_set_read_ahead),
 * so OpenSSL takes all the socket has in one read instead of a record's
 * 5-byte header and then its body. What it read beyond one record is then
 * inside OpenSSL, not in the socket, and no readiness will announce it; the
 * bufferevent only drains what SSL_pending counts (a decrypted record). So
 * whenever such bytes may wait — after data came in, after a reply left (evhttp
 * reads again then), after the handshake (a client's first request often
 * travels with its Finished) — the connection's read event is run once more in
 * this turn of the loop, which reads them without a system call. */
static void
kick_now(struct guard *g)
{
	SSL *ssl = bufferevent_openssl_get_ssl(g->bev);

	if (ssl != NULL && SSL_has_pending(ssl))
		event_active(&g->bev->ev_read, EV_READ, 1);
}

/* Run from the loop after the handshake's own callbacks are done (the
 * bufferevent sets up its read event for the open connection only then). */
static void
kick_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kick_now(arg);
}

static void
ssl_info(const SSL *ssl, int where, int ret)
{
	struct guard *g;

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_DONE) && (g = SSL_get_ex_data(ssl, ssl_guard_idx)) != NULL &&
	    g->kick != NULL)
		event_active(g->kick, EV_TIMEOUT, 1);
}

static void
in_pending(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	if (info->n_added > 0)
		kick_now(arg);
}

static void
out_coalesce(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	size_t n = evbuffer_get_length(buf);

	if (info->n_added > 0 && n <= COALESCE_MAX)
		evbuffer_pullup(buf, -1);
	else if (n == 0 && info->n_deleted > 0 && arg != NULL)
		kick_now(arg);
}

int
conn_is_tls(struct evhttp_connection *evcon)
{
	return bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon)) != NULL;
}

char *
conn_peer_cert_pem(struct evhttp_connection *evcon)
{
	SSL *ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon));
	X509 *x = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	BIO *bio;
	char *p, *pem = NULL;
	long n;

	if (x == NULL)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(bio, x) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 && n <= PEER_PEM_MAX &&
	    (pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(pem, p, (size_t)n);
		pem[n] = '\0';
	}
	BIO_free(bio);
	X509_free(x);
	return pem;
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
	SSL_CTX_set_info_callback(ctx, ssl_info);
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
	/* [x509] tls_max_version = 1.2: for cards that cannot sign RSA-PSS (TLS 1.3
	 * asks a client certificate for it); the main listener keeps TLS 1.3. */
	if (strcmp(c->x509_tls_max_version, "1.2") == 0 &&
	    !SSL_CTX_set_max_proto_version(s->cc_ssl, TLS1_2_VERSION))
		return -1;
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

/* g: the TLS connection's guard with its kick event (read-ahead on), or NULL. */
static struct bufferevent *
bev_lean(struct bufferevent *bev, struct guard *g)
{
	if (bev != NULL)
		evbuffer_add_cb(bufferevent_get_output(bev), out_coalesce, g);
	if (bev != NULL && g != NULL)
		evbuffer_add_cb(bufferevent_get_input(bev), in_pending, g);
	return bev;
}

static struct bufferevent *
bev_for(struct event_base *base, struct loop *l, SSL_CTX *ctx)
{
	struct http_server *s = l->srv;
	struct bufferevent *bev;
	SSL *ssl;
	int n;

	if (ctx == NULL)
		return bev_lean(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE), NULL);
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
		/* Read-ahead only with the kick that finds what it left inside OpenSSL. */
		if ((g->kick = event_new(base, -1, 0, kick_fire, g)) != NULL)
			SSL_set_read_ahead(ssl, 1);
	} else {
		free(g);
		g = NULL;
	}
	return bev_lean(bev, g != NULL && g->kick != NULL ? g : NULL);
plain:
	/* Returning NULL would make evhttp build a plain bufferevent anyway;
	 * intake refuses every request on such a connection. */
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
	/* Accepted sockets inherit TCP_NODELAY on Linux: set once here, never per
	 * request (a reply leaves in one write, so Nagle has nothing to merge). */
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

	struct event_config *cfg;

	pthread_mutex_init(&l->mu, NULL);
	/* The changelist: the epoll backend applies, before each wait, only the
	 * net change of each socket's interest in that turn of the loop. */
	if ((cfg = event_config_new()) == NULL)
		return -1;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (l->base == NULL || (l->http = evhttp_new(l->base)) == NULL)
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
	evhttp_set_gencb(l->http, intake_request, l);
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
		evhttp_set_gencb(l->cc_http, intake_request_cc, l);
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
	struct work_opts wo = { .threads = { 0 } };
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
	/* Behind a TLS proxy the browser still sees https, so cookies stay
	 * Secure unless the issuer itself is plain http (loopback development). */
	s->secure_cookies = c->tls || strncmp(c->issuer ? c->issuer : "", "http://", 7) != 0;
	if (c->tls && ssl_setup(s, &s->ssl) != 0)
		goto fail;
	s->tls = s->ssl != NULL;
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
	if ((s->loops = calloc((size_t)s->nloops, sizeof(*s->loops))) == NULL)
		goto fail;
	a->http = s;
	for (i = 0; i < s->nloops; i++) {
		s->loops[i].srv = s;
		s->loops[i].idx = i;
		if (loop_setup(s, &s->loops[i]) != 0)
			goto fail;
	}
	wo.threads[WORK_CPU] = c->workers;
	wo.per_source = c->worker_queue_per_source > 0 ? (unsigned)c->worker_queue_per_source : 0;
	wo.per_account =
	    c->worker_queue_per_account > 0 ? (unsigned)c->worker_queue_per_account : 0;
	wo.total = c->worker_queue_max > 0 ? (unsigned)c->worker_queue_max : 0;
	if (work_pool_start(&s->work, &wo) != ST_OK)
		goto fail;
	a->work = s->work;
	for (i = 0; i < s->nloops; i++) {
		if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0)
			goto fail;
		s->loops[i].started = 1;
	}
	return 0;
fail:
	a->http = NULL;
	a->work = NULL;
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

	/* Jobs still queued run now; their completions reach the loops, which
	 * still run. Admissions from now on are refused (the pool lives on until
	 * server_destroy, for requests that still hold it). */
	work_pool_stop(s->work);
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
	work_pool_free(s->work);
	if (s->ssl != NULL)
		SSL_CTX_free(s->ssl);
	if (s->cc_ssl != NULL)
		SSL_CTX_free(s->cc_ssl);
	free(s);
}

void
server_release(struct http_server *s)
{
	/* The last reply of a server stopped with requests pending frees it. */
	if (atomic_fetch_sub(&s->inflight, 1) == 1)
		server_destroy(s);
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
	a->work = NULL;
	server_free(s);
}

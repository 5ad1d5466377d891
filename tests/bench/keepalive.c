/* tests/bench/keepalive.c — a fixed number of keep-alive requests over TLS, for
 * counting the server's system calls per request (tests/bench/run.sh attaches
 * `strace -c -f` to the daemon around the counted part only).
 *
 * usage: keepalive HOST PORT CONNS REQUESTS PATH [BASIC]
 *   Opens CONNS TLS connections (certificate not checked: loopback bench) and
 *   sends one warm-up request on each (handshake, first allocations), then
 *   prints "ready" and waits for a line on stdin; then sends REQUESTS requests
 *   per connection, one at a time per connection, all connections in turn (so
 *   the server sees CONNS requests in flight), checks each answer is a 200,
 *   prints "done N" and waits for another line before closing (so the closes
 *   are not counted). With BASIC (base64 of id:secret), each request is the
 *   client_credentials grant: POST PATH with that HTTP Basic authorization. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_CONNS 256

struct conn {
	int fd;
	SSL *ssl;
	char buf[16384];
	size_t have;
};

static char req[2048];
static size_t req_len;

static int
dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Reads one response (headers with a Content-Length, and the body); 0 if 200. */
static int
one_response(struct conn *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->have, "\r\n\r\n", 4), *cl;
		size_t head, body = 0, total;
		int n;

		if (end != NULL) {
			head = (size_t)(end - c->buf) + 4;
			c->buf[head - 1] = '\0';
			cl = strcasestr(c->buf, "\r\nContent-Length:");
			if (cl != NULL)
				body = strtoul(cl + 17, NULL, 10);
			total = head + body;
			if (c->have >= total) {
				int ok = strncmp(c->buf, "HTTP/1.1 200 ", 13) == 0;

				memmove(c->buf, c->buf + total, c->have - total);
				c->have -= total;
				return ok ? 0 : -1;
			}
			c->buf[head - 1] = '\n';
		}
		if (c->have == sizeof(c->buf))
			return -1;
		n = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have));
		if (n <= 0)
			return -1;
		c->have += (size_t)n;
	}
}

static int
send_req(struct conn *c)
{
	return SSL_write(c->ssl, req, (int)req_len) == (int)req_len ? 0 : -1;
}

static void
wait_line(void)
{
	char line[16];

	if (fgets(line, sizeof(line), stdin) == NULL)
		exit(1);
}

int
main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	SSL_CTX *ctx;
	int nconns, nreq, i, k;
	long done = 0;

	if (argc < 6 || (nconns = atoi(argv[3])) < 1 || nconns > MAX_CONNS ||
	    (nreq = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: keepalive HOST PORT CONNS REQUESTS PATH [BASIC]\n");
		return 2;
	}
	if (argc > 6)
		req_len = (size_t)snprintf(req, sizeof(req),
		    "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"
		    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\n"
		    "grant_type=client_credentials",
		    argv[5], argv[1], argv[6]);
	else
		req_len = (size_t)snprintf(
		    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", argv[5], argv[1]);
	if (req_len >= sizeof(req) || (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if ((c->fd = dial(argv[1], argv[2])) < 0 || (c->ssl = SSL_new(ctx)) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1 ||
		    send_req(c) != 0 || one_response(c) != 0) {
			fprintf(stderr, "keepalive: connection %d failed\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	wait_line();
	for (k = 0; k < nreq; k++) {
		for (i = 0; i < nconns; i++)
			if (send_req(&conns[i]) != 0)
				return 1;
		for (i = 0; i < nconns; i++) {
			if (one_response(&conns[i]) != 0) {
				fprintf(stderr, "keepalive: request %d on connection %d failed\n",
				    k, i);
				return 1;
			}
			done++;
		}
	}
	printf("done %ld\n", done);
	fflush(stdout);
	wait_line();
	for (i = 0; i < nconns; i++) {
		SSL_shutdown(conns[i].ssl);
		SSL_free(conns[i].ssl);
		close(conns[i].fd);
	}
	SSL_CTX_free(ctx);
	return 0;
}

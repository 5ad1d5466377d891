/* tests/fuzz/fuzz_http.c — libFuzzer target for the whole HTTP request path:
 * raw bytes on a connection → evhttp → http.c (limits, path, query, cookies,
 * language, form body) → the real route table (routes.c) → every OIDC, login,
 * account and ops handler, with a real LMDB store, signing keys, methods and the
 * worker pool. The server runs in this process (so the fuzzer sees its
 * coverage) on a kernel-chosen loopback port, plain HTTP, one loop thread; each
 * input is one connection: written, half-closed, and read to the end.
 *
 * The store holds one user (alice) and three clients so that grants get past
 * client authentication: rp-web (client_secret_basic, secret "fuzz-secret"),
 * rp-post (client_secret_post, same secret) and svc-jwt (private_key_jwt with
 * the RFC 7515 A.3 P-256 key). The seeds in corpus/http use them.
 * The daemon must answer every input with a well-formed HTTP response (or close
 * the connection when evhttp refuses it) and must never crash, hang or leak. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authd.h"
#include "clients.h"
#include "config.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "method.h"
#include "password.h"
#include "policy.h"
#include "store.h"
#include "users.h"
#include "web/pages.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf conf;
static struct authd authd;
static int port;
static char dir[] = "/tmp/authd-fuzz-http-XXXXXX";

#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_PASSWORD "Taipei-101-observatory"

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_http: setup failed: %s\n", what);
	abort();
}

static int
init_cb(struct store_txn *t, void *arg)
{
	(void)arg;
	return keys_ensure(t);
}

static int
put_client(struct store_txn *t, const char *id, const char *method, const char *grants[],
    json_t *jwks)
{
	char hash[65];
	json_t *rec, *g = json_array();
	int rc, i;

	for (i = 0; grants[i] != NULL; i++)
		json_array_append_new(g, json_string(grants[i]));
	client_secret_hash(authd.secret_key, FUZZ_SECRET, hash);
	rec = json_pack("{s:s, s:s, s:[s], s:o, s:[s,s,s,s], s:s, s:s, s:i, s:b, s:I}",
	    "client_id", id, "name", id, "redirect_uris", "https://rp.city.example/cb",
	    "grant_types", g, "scopes", "openid", "profile", "email", "offline_access",
	    "token_endpoint_auth_method", method, "secret_hash", hash, "min_aal", 1,
	    "disabled", 0, "created", (json_int_t)time(NULL));
	if (rec == NULL)
		return STORE_IO;
	if (jwks != NULL)
		json_object_set(rec, "jwks", jwks);
	rc = store_puts(t, T_CLIENTS, id, rec, 0);
	json_decref(rec);
	return rc;
}

static int
seed_cb(struct store_txn *t, void *arg)
{
	static const char *code[] = { "authorization_code", "refresh_token",
	    "urn:ietf:params:oauth:grant-type:device_code", NULL };
	static const char *cc[] = { "client_credentials", "authorization_code", NULL };
	char id[USER_ID_LEN + 1];
	json_t *jwks;
	int rc;

	(void)arg;
	if ((rc = user_create(t, "alice", "Alice Chen", "alice@city.example", id)) != STORE_OK)
		return rc;
	if ((rc = password_set(t, id, "alice", FUZZ_PASSWORD)) != STORE_OK)
		return rc;
	if ((rc = put_client(t, "rp-web", "client_secret_basic", code, NULL)) != STORE_OK ||
	    (rc = put_client(t, "rp-post", "client_secret_post", code, NULL)) != STORE_OK)
		return rc;
	jwks = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "crv", "P-256",
	    "kid", "a3", "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
	    "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
	rc = jwks ? put_client(t, "svc-jwt", "private_key_jwt", cc, jwks) : STORE_IO;
	json_decref(jwks);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

/* libFuzzer ends with exit(): the instance folder goes with it. Removing
 * the files of the open store is safe on Linux; the map stays valid. */
static void
cleanup(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_opts so = { 0 };
	char path[128], err[1024], share[4096];
	ssize_t n;
	FILE *f;

	(void)argc; (void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	/* The checkout's pages: this program is CHECKOUT/build-fuzz/fuzz_http. */
	n = readlink("/proc/self/exe", share, sizeof(share) - 16);
	if (n <= 0)
		die("readlink");
	share[n] = '\0';
	*strrchr(share, '/') = '\0';
	*strrchr(share, '/') = '\0';
	strcat(share, "/share");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/common-passwords.txt", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("breached list");
	fputs("password\n123456\nqwerty123\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/authd.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("config");
	/* Fast hashing and no address delays: the fuzzer should spend its time
	 * in parsing and handlers, not in Argon2 or sleeping throttles. */
	fprintf(f, "[server]\nissuer = http://127.0.0.1:8080\nlisten = 127.0.0.1:0\n"
	    "threads = 1\nworkers = 1\nread_timeout_s = 5\n"
	    "[store]\npath = data\nnosync = 1\nmap_mb = 4096\n"
	    "[password]\nargon2_memory_kib = 8192\nargon2_ops = 1\n"
	    "breached_list = common-passwords.txt\n"
	    "[throttle]\naddress_free_failures = 100000\naddress_base_delay_ms = 0\n"
	    "account_max_failures = 1000\naccount_lockout_s = 1\n"
	    "[log]\nlevel = 0\n"
	    "[ui]\ntemplates = %s/templates\ni18n = %s/i18n\nstatic = %s/static\n", share, share, share);
	fclose(f);
	if (conf_load(&conf, path, err, sizeof(err)) != 0)
		die(err);
	log_set_level(conf.log_level);
	authd.conf = &conf;
	so.map_size = conf.store_map_mb * 1024 * 1024;
	so.nosync = 1;
	if (store_open(&authd.store, conf.store_path, &so) != STORE_OK)
		die("store_open");
	if (store_write_sync(authd.store, init_cb, NULL) != STORE_OK)
		die("keys_ensure");
	if (keys_init(&authd) != 0)
		die("keys_init");
	policy_configure(&conf);
	if (methods_init(&authd) != 0)
		die("methods_init");
	if (pages_init(&conf, err, sizeof(err)) != 0)
		die(err);
	if (store_write_sync(authd.store, seed_cb, NULL) != STORE_OK)
		die("seed");
	if (http_start(&authd) != 0 || (port = http_bound_port(&authd, 0)) <= 0)
		die("http_start");
	/* The server lives until the process exits: libFuzzer has no
	 * finalisation hook, and the kernel reclaims the socket and the map. */
	return 0;
}

/* Checks the start of a response: "HTTP/<version> NNN ". evhttp answers in
 * the version the request named, as its sscanf read it: "HTTP/0.1", "HTTP/1.12",
 * and "HTTP/1.-1" for an overflowing number all come back (a libevent quirk,
 * reported; the request is still handled as HTTP/1.x). So the version is only
 * checked to be digits, dots and minus signs; the status must be 100..599. */
static int
status_line_ok(const char *b, size_t n)
{
	size_t i;

	if (n < 5 || memcmp(b, "HTTP/", 5) != 0)
		return 0;
	for (i = 5; i < n && ((b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == '-'); i++)
		;
	if (i == 5 || i + 5 > n || b[i] != ' ' || b[i + 4] != ' ')
		return 0;
	return b[i + 1] >= '1' && b[i + 1] <= '5' && b[i + 2] >= '0' && b[i + 2] <= '9' &&
	    b[i + 3] >= '0' && b[i + 3] <= '9';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	char buf[4096], head[32];
	size_t got = 0, off = 0;
	ssize_t n;
	int fd, waited = 0;

	/* Above max_header_bytes + max_body_bytes evhttp refuses by size;
	 * bigger inputs only slow the fuzzer down. */
	if (size > 96 * 1024)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Thousands of connections a second can run the client out of local ports
	 * for a moment: that is the harness, not the server, so wait (bounded)
	 * rather than report a crash. A refused connection is a real failure. */
	for (int tries = 0;; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			abort();
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		int e = errno;
		close(fd);
		if ((e != EADDRNOTAVAIL && e != EAGAIN && e != EINTR) || tries >= 500) {
			fprintf(stderr, "fuzz_http: connect: %s\n", strerror(e));
			abort();
		}
		usleep(10000);
	}
	while (off < size) {
		n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;      /* the server may refuse and close early */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* Read to EOF. A request that never completes is closed by the server at
	 * read_timeout_s (5 s); 15 s without EOF means the server is stuck. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int pr = poll(&pfd, 1, 100);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			if (++waited > 150) {
				fprintf(stderr, "fuzz_http: no end of response after 15 s\n");
				abort();
			}
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(head))
			memcpy(head + got, buf, (size_t)n < sizeof(head) - got ? (size_t)n :
			    sizeof(head) - got);
		got += (size_t)n;
	}
	/* Reset instead of TIME_WAIT: keeps the local port range free. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if (got > 0 && !status_line_ok(head, got < sizeof(head) ? got : sizeof(head))) {
		fprintf(stderr, "fuzz_http: malformed status line: %.*s\n",
		    (int)(got < sizeof(head) ? got : sizeof(head)), head);
		abort();
	}
	return 0;
}

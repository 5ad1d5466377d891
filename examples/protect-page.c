/* examples/protect-page.c — the smallest useful app protected by authd: an HTTP
 * server (libevent evhttp, plain HTTP on 127.0.0.1; in production it sits
 * behind a TLS proxy) that serves /private only to requests carrying a valid
 * "Authorization: Bearer <access token>" issued by authd for its audience.
 * Everything security-relevant is one library call:
 * authd_client_verify_access_token.
 *
 *   protect-page ISSUER AUDIENCE [PORT] [CA_FILE]
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/private
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <authd/client.h>

static authd_client_t *client;
static const char *audience;

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (code == 401)
		/* RFC 6750 §3: tell the caller which scheme and why. */
		evhttp_add_header(h, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
on_private(struct evhttp_request *req, void *arg)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                      "Authorization");
	authd_claims_t *claims = NULL;
	char body[512];
	int rc;

	(void)arg;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		reply(req, 401, "Unauthorized", "a bearer token is required\n");
		return;
	}
	rc = authd_client_verify_access_token(client, auth + 7, audience, &claims);
	if (rc == AUTHD_ERR_UNAVAILABLE) {
		/* authd's keys could not be fetched: our problem, not the caller's. */
		reply(req, 503, "Service Unavailable", "cannot check tokens right now\n");
		return;
	}
	if (rc != AUTHD_OK) {
		fprintf(stderr, "protect-page: token refused: %s\n", authd_strerror(rc));
		reply(req, 401, "Unauthorized", "invalid token\n");
		return;
	}
	snprintf(body, sizeof(body), "hello %s, staff: %s\n",
	         authd_claims_string(claims, "sub") ? authd_claims_string(claims, "sub") : "?",
	         authd_claims_array_has(claims, "groups", "staff") ? "yes" : "no");
	authd_claims_free(&claims);
	reply(req, 200, "OK", body);
}

static void
on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	reply(req, 404, "Not Found", "try /private\n");
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct evhttp *http;
	int port = 8081, rc;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: protect-page ISSUER AUDIENCE [PORT] [CA_FILE]\n");
		return 2;
	}
	audience = argv[2];
	if (argc > 3 && ((port = atoi(argv[3])) < 0 || port > 65535)) {
		fprintf(stderr, "protect-page: bad port\n");
		return 2;
	}
	if ((client = authd_client_new()) == NULL)
		return 1;
	if ((rc = authd_client_set_issuer(client, argv[1])) != AUTHD_OK ||
	    (argc > 4 && (rc = authd_client_set_ca_file(client, argv[4])) != AUTHD_OK) ||
	    (rc = authd_client_discover(client)) != AUTHD_OK) {
		fprintf(stderr, "protect-page: %s: %s\n", argv[1], authd_strerror(rc));
		authd_client_free(&client);
		return 1;
	}
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_max_headers_size(http, 16384);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, 10);
	evhttp_set_cb(http, "/private", on_private, NULL);
	evhttp_set_gencb(http, on_other, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
		fprintf(stderr, "protect-page: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	printf("protect-page: http://127.0.0.1:%d/private for audience %s\n", port, audience);
	fflush(stdout);
	/* Verification is synchronous: a JWKS refetch blocks this loop for at
	 * most the client's timeout, which is fine for an example; a busy app
	 * would verify on worker threads (the library is thread-safe). */
	event_base_dispatch(base);
	evhttp_free(http);
	event_base_free(base);
	authd_client_free(&client);
	return 0;
}

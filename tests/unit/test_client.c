/* tests/unit/test_client.c — libauthd-client against a tiny HTTPS server run
 * inside the test (libevent evhttp over OpenSSL, self-signed certificate for
 * 127.0.0.1 that the client trusts through its CA file). The server publishes
 * discovery and a JWKS made from lib/jose keys, counts JWKS fetches, and plays
 * authd's token, introspection and device endpoints from a script, so each
 * rule of the library has a test that accepts the good case and refuses the
 * bad ones. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "authd/client.h"
#include "../../client/src/internal.h"
#include "../../lib/b64.h"
#include "../../lib/jose.h"
#include "../../lib/util.h"
#include "fixture.h"

#define HOST_ID "host-1"
#define HOST_SECRET "s3cret:with&odd=chars"
#define MFA_TOKEN "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"

static struct jose_key *k_es, *k_rs, *k_ed, *k_es2, *k_other;
static char dir[FX_DIR_MAX], certfile[FX_DIR_MAX + 16];
static char issuer[64], issuer_hang[64];
static SSL_CTX *srv_ctx;
static struct event_base *srv_base;
static struct evhttp *srv_http;
static pthread_t srv_thread;
static int srv_port, hang_fd = -1;

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static char *srv_jwks;            /* under srv_lock */
static int jwks_hits, disc_hits;  /* __atomic */
static int otp_used;              /* replay guard of the fake authd */

/* ---- keys, tokens ---------------------------------------------------------- */

static char *
jwks_of(struct jose_key *a, struct jose_key *b, struct jose_key *c)
{
	json_t *keys = json_array(), *doc;
	char *s;

	json_array_append_new(keys, jose_key_to_jwk(a));
	if (b != NULL)
		json_array_append_new(keys, jose_key_to_jwk(b));
	if (c != NULL)
		json_array_append_new(keys, jose_key_to_jwk(c));
	doc = json_pack("{s:o}", "keys", keys);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static void
publish(char *jwks)
{
	pthread_mutex_lock(&srv_lock);
	free(srv_jwks);
	srv_jwks = jwks;
	pthread_mutex_unlock(&srv_lock);
}

static json_t *
base_claims(const char *aud, long exp_off)
{
	time_t now = time(NULL);

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[s,s], s:[s]}", "iss", issuer,
	    "sub", "u-42", "aud", aud, "exp", (json_int_t)(now + exp_off), "iat",
	    (json_int_t)now, "client_id", "app", "groups", "ssh-users", "staff", "amr", "pwd");
}

static char *
sign_claims(struct jose_key *k, const char *typ, json_t *cl)
{
	char *t = jose_sign(k, typ, cl);

	json_decref(cl);
	return t;
}

static char *
access_token(struct jose_key *k, const char *aud)
{
	return sign_claims(k, "at+jwt", base_claims(aud, 300));
}

/* A compact JWS with any header, signed by nobody or with HMAC: the forgeries. */
static char *
forge(const char *header, const json_t *payload, const void *hkey, size_t hkeylen)
{
	char *p = json_dumps(payload, JSON_COMPACT), *h64, *p64, *out;
	struct buf b;
	uint8_t mac[SHA256_LEN];

	h64 = b64url_encode_alloc((const uint8_t *)header, strlen(header));
	p64 = b64url_encode_alloc((const uint8_t *)p, strlen(p));
	buf_init(&b);
	buf_printf(&b, "%s.%s", h64, p64);
	if (hkey != NULL) {
		char *m64;

		hmac_sha256(hkey, hkeylen, b.p, b.len, mac);
		m64 = b64url_encode_alloc(mac, sizeof(mac));
		buf_printf(&b, ".%s", m64);
		free(m64);
	} else {
		buf_adds(&b, ".");
	}
	out = strdup(buf_str(&b));
	buf_free(&b);
	free(h64);
	free(p64);
	free(p);
	return out;
}

/* ---- the fake authd ---------------------------------------------------------- */

static void
reply_json(struct evhttp_request *req, int status, const char *body)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", out);
	evbuffer_free(out);
}

static void
reply_jsonf(struct evhttp_request *req, int status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	reply_json(req, status, s);
	free(s);
	json_decref(j);
}

static void
discovery(struct evhttp_request *req, const char *iss, const char *jwks_uri)
{
	char ep[4][128];

	snprintf(ep[0], sizeof(ep[0]), "%s/token", issuer);
	snprintf(ep[1], sizeof(ep[1]), "%s/introspect", issuer);
	snprintf(ep[2], sizeof(ep[2]), "%s/device_authorization", issuer);
	snprintf(ep[3], sizeof(ep[3]), "%s/jwks", issuer);
	__atomic_add_fetch(&disc_hits, 1, __ATOMIC_RELAXED);
	reply_jsonf(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "issuer", iss,
	    "jwks_uri", jwks_uri != NULL ? jwks_uri : ep[3], "token_endpoint", ep[0],
	    "introspection_endpoint", ep[1], "device_authorization_endpoint", ep[2]));
}

static int
basic_ok(struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                   "Authorization");
	/* base64("host-1:s3cret%3Awith%26odd%3Dchars"): id and secret form-encoded
	 * first, as RFC 6749 §2.3.1 asks. */
	static const char want[] = "Basic aG9zdC0xOnMzY3JldCUzQXdpdGglMjZvZGQlM0RjaGFycw==";

	return h != NULL && strcmp(h, want) == 0;
}

static void
oauth_error(struct evhttp_request *req, int status, const char *err)
{
	reply_jsonf(req, status, json_pack("{s:s}", "error", err));
}

static void
tokens_reply(struct evhttp_request *req, const char *aud)
{
	char *at = access_token(k_es, aud);

	reply_jsonf(req, 200, json_pack("{s:s, s:s, s:s, s:i, s:s}", "access_token", at,
	    "id_token", "idt", "token_type", "Bearer", "expires_in", 300, "scope", "openid"));
	free(at);
}

static void
token_endpoint(struct evhttp_request *req, struct evkeyvalq *f)
{
	const char *gt = evhttp_find_header(f, "grant_type");
	const char *u = evhttp_find_header(f, "username"), *p = evhttp_find_header(f, "password");

	if (gt == NULL)
		return oauth_error(req, 400, "invalid_request");
	if (strcmp(gt, "urn:ietf:params:oauth:grant-type:device_code") == 0) {
		const char *dc = evhttp_find_header(f, "device_code");
		const char *cid = evhttp_find_header(f, "client_id");

		if (dc == NULL || cid == NULL || strcmp(cid, "tv") != 0)
			return oauth_error(req, 401, "invalid_client");
		if (strcmp(dc, "dc-ok") == 0)
			return tokens_reply(req, "tv");
		if (strcmp(dc, "dc-slow") == 0)
			return oauth_error(req, 400, "slow_down");
		if (strcmp(dc, "dc-expired") == 0)
			return oauth_error(req, 400, "expired_token");
		if (strcmp(dc, "dc-denied") == 0)
			return oauth_error(req, 400, "access_denied");
		return oauth_error(req, 400, "authorization_pending");
	}
	if (!basic_ok(req))
		return oauth_error(req, 401, "invalid_client");
	if (strcmp(gt, "client_credentials") == 0)
		return tokens_reply(req, "api");
	if (strcmp(gt, "password") == 0 && u != NULL && p != NULL) {
		if (strcmp(u, "alice") == 0 && strcmp(p, "pw&=+ü") == 0)
			return tokens_reply(req, HOST_ID);
		if (strcmp(u, "wrongaud") == 0)
			return tokens_reply(req, "someone-else");
		if (strcmp(u, "bob") == 0 && strcmp(p, "pw") == 0)
			return reply_json(req, 400, "{\"error\":\"mfa_required\",\"mfa_token\":\""
			                  MFA_TOKEN "\",\"mfa_methods\":[\"otp\"]}");
		if (strcmp(u, "carol") == 0)
			return oauth_error(req, 400, "unmet_authentication_requirements");
		if (strcmp(u, "mallory") == 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "30");
			return oauth_error(req, 400, "invalid_grant");
		}
		/* Answers authd (or a proxy in front of it) could give that name no
		 * specific outcome: each is still an answer, never "unavailable". */
		if (strcmp(u, "badreq") == 0)
			return oauth_error(req, 400, "invalid_request");
		if (strcmp(u, "newerr") == 0)
			return oauth_error(req, 400, "some_error_of_a_later_version");
		if (strcmp(u, "tempun") == 0)
			return oauth_error(req, 400, "temporarily_unavailable");
		if (strcmp(u, "noerror") == 0)
			return reply_json(req, 400, "{}");
		if (strcmp(u, "html404") == 0)
			return reply_json(req, 404, "<html>not here</html>");
		if (strcmp(u, "forbidden") == 0)
			return reply_json(req, 403, "");
		if (strcmp(u, "moved") == 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/elsewhere");
			return reply_json(req, 302, "");
		}
		if (strcmp(u, "r429") == 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "7");
			return reply_json(req, 429, "slow down");
		}
		if (strcmp(u, "r503") == 0)
			return oauth_error(req, 503, "temporarily_unavailable");
		if (strcmp(u, "r500") == 0)
			return reply_json(req, 500, "");
		if (strcmp(u, "garbage") == 0)
			return reply_json(req, 200, "this is not JSON");
		if (strcmp(u, "unauth") == 0)
			return oauth_error(req, 400, "unauthorized_client");
		return oauth_error(req, 400, "invalid_grant");
	}
	if (strcmp(gt, "urn:authd:params:oauth:grant-type:mfa-otp") == 0) {
		const char *mt = evhttp_find_header(f, "mfa_token"), *otp = evhttp_find_header(f, "otp");

		if (mt != NULL && otp != NULL && strcmp(mt, MFA_TOKEN) == 0 &&
		    strcmp(otp, "123456") == 0 &&
		    __atomic_exchange_n(&otp_used, 1, __ATOMIC_ACQ_REL) == 0)
			return tokens_reply(req, HOST_ID);
		/* An older authd answered a malformed code as a malformed request. */
		if (otp != NULL && strcmp(otp, "1234567") == 0)
			return oauth_error(req, 400, "invalid_request");
		return oauth_error(req, 400, "invalid_grant");
	}
	oauth_error(req, 400, "unsupported_grant_type");
}

static void
device_endpoint(struct evhttp_request *req, struct evkeyvalq *f)
{
	const char *scope = evhttp_find_header(f, "scope");
	const char *hint = evhttp_find_header(f, "login_hint");
	const char *ra = evhttp_find_header(f, "remote_addr");
	char dc[32];

	/* A host login names the account and the connection it is for. */
	if (scope != NULL && strcmp(scope, "host") == 0) {
		if (hint == NULL || strcmp(hint, "alice") != 0 || ra == NULL ||
		    strcmp(ra, "192.0.2.7") != 0)
			return oauth_error(req, 400, "invalid_request");
		return reply_jsonf(req, 200, json_pack("{s:s, s:s, s:s, s:i, s:i}", "device_code",
		    "dc-pending", "user_code", "BCDF-GHJK", "verification_uri", "https://sso/device",
		    "interval", 1, "expires_in", 600));
	}
	if (hint != NULL || ra != NULL)
		return oauth_error(req, 400, "invalid_request");
	snprintf(dc, sizeof(dc), "dc-%s", scope != NULL ? scope : "pending");
	reply_jsonf(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "device_code", dc,
	    "user_code", "BCDF-GHJK", "verification_uri", "https://sso/device",
	    "verification_uri_complete", "https://sso/device?user_code=BCDF-GHJK",
	    "interval", 1, "expires_in", 600));
}

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq form;
	char body[8192], alt[128];
	size_t n = evbuffer_get_length(in);

	(void)arg;
	if (n >= sizeof(body))
		return oauth_error(req, 413, "too_large");
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	memset(&form, 0, sizeof(form));
	evhttp_parse_query_str(body, &form);

	if (strcmp(path, "/.well-known/openid-configuration") == 0) {
		discovery(req, issuer, NULL);
	} else if (strcmp(path, "/other/.well-known/openid-configuration") == 0) {
		discovery(req, issuer, NULL); /* names the other issuer: a mix-up */
	} else if (strcmp(path, "/plain/.well-known/openid-configuration") == 0) {
		snprintf(alt, sizeof(alt), "%s/plain", issuer);
		discovery(req, alt, "http://127.0.0.1:1/jwks"); /* downgrade attempt */
	} else if (strcmp(path, "/big/.well-known/openid-configuration") == 0) {
		struct evbuffer *out = evbuffer_new();
		static char chunk[4096];

		memset(chunk, ' ', sizeof(chunk));
		evbuffer_add(out, "{\"x\":\"", 6);
		for (int i = 0; i < 80; i++)
			evbuffer_add(out, chunk, sizeof(chunk));
		evbuffer_add(out, "\"}", 2);
		evhttp_send_reply(req, 200, "OK", out);
		evbuffer_free(out);
	} else if (strcmp(path, "/jwks") == 0) {
		char *j;

		__atomic_add_fetch(&jwks_hits, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&srv_lock);
		j = strdup(srv_jwks);
		pthread_mutex_unlock(&srv_lock);
		reply_json(req, 200, j);
		free(j);
	} else if (strcmp(path, "/token") == 0) {
		token_endpoint(req, &form);
	} else if (strcmp(path, "/introspect") == 0) {
		const char *t = evhttp_find_header(&form, "token");

		if (!basic_ok(req))
			oauth_error(req, 401, "invalid_client");
		else if (t != NULL && strcmp(t, "active-token") == 0)
			reply_json(req, 200, "{\"active\":true,\"sub\":\"svc\",\"scope\":\"read\","
			                     "\"exp\":4102444800,\"groups\":[\"ops\"]}");
		else
			reply_json(req, 200, "{\"active\":false}");
	} else if (strcmp(path, "/device_authorization") == 0) {
		device_endpoint(req, &form);
	} else {
		oauth_error(req, 404, "not_found");
	}
	evhttp_clear_headers(&form);
}

static struct bufferevent *
srv_bev(struct event_base *base, void *arg)
{
	(void)arg;
	return bufferevent_openssl_socket_new(base, -1, SSL_new(srv_ctx),
	                                      BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void *
srv_run(void *arg)
{
	(void)arg;
	event_base_dispatch(srv_base);
	return NULL;
}

/* The server's certificate for 127.0.0.1, also the CA file the client trusts. */
static int
make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = NULL;
	int rc = -1;

	if (k == NULL || (x = fx_self_signed_cert(k, "authd test", "IP:127.0.0.1,DNS:localhost")) == NULL ||
	    fx_write_pem(certfile, x, NULL) != 0)
		goto out;
	srv_ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate(srv_ctx, x) != 1 || SSL_CTX_use_PrivateKey(srv_ctx, k) != 1)
		goto out;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

static int
setup(void **state)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	(void)state;
	evthread_use_pthreads();
	k_es = jose_key_generate(JOSE_ALG_ES256, "es-1");
	k_rs = jose_key_generate(JOSE_ALG_RS256, "rs-1");
	k_ed = jose_key_generate(JOSE_ALG_EDDSA, "ed-1");
	k_es2 = jose_key_generate(JOSE_ALG_ES256, "es-2");
	k_other = jose_key_generate(JOSE_ALG_ES256, "es-1"); /* same kid, other key */
	if (!k_es || !k_rs || !k_ed || !k_es2 || !k_other)
		return -1;
	publish(jwks_of(k_es, k_rs, k_ed));
	if (fx_tmpdir(dir, "client") != 0)
		return -1;
	snprintf(certfile, sizeof(certfile), "%s/ca.pem", dir);
	if (make_cert() != 0)
		return -1;
	srv_base = event_base_new();
	srv_http = evhttp_new(srv_base);
	evhttp_set_bevcb(srv_http, srv_bev, NULL);
	evhttp_set_gencb(srv_http, srv_cb, NULL);
	if ((bs = evhttp_bind_socket_with_handle(srv_http, "127.0.0.1", 0)) == NULL)
		return -1;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
	srv_port = ntohs(sa.sin_port);
	snprintf(issuer, sizeof(issuer), "https://127.0.0.1:%d", srv_port);

	/* A server that never answers: listening, never accepting, so the TCP
	 * handshake completes in the kernel and TLS waits forever. */
	hang_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(hang_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(hang_fd, 16) != 0)
		return -1;
	sl = sizeof(sa);
	getsockname(hang_fd, (struct sockaddr *)&sa, &sl);
	snprintf(issuer_hang, sizeof(issuer_hang), "https://127.0.0.1:%d", ntohs(sa.sin_port));
	return pthread_create(&srv_thread, NULL, srv_run, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	event_base_loopbreak(srv_base);
	pthread_join(srv_thread, NULL);
	evhttp_free(srv_http);
	event_base_free(srv_base);
	SSL_CTX_free(srv_ctx);
	close(hang_fd);
	jose_key_free(k_es);
	jose_key_free(k_rs);
	jose_key_free(k_ed);
	jose_key_free(k_es2);
	jose_key_free(k_other);
	free(srv_jwks);
	return fx_rmtree(dir);
}

/* A configured client; each test starts with a fresh JWKS on the server. */
static authd_client_t *
client(void)
{
	authd_client_t *c = authd_client_new();

	assert_non_null(c);
	assert_int_equal(authd_client_set_issuer(c, issuer), AUTHD_OK);
	assert_int_equal(authd_client_set_ca_file(c, certfile), AUTHD_OK);
	assert_int_equal(authd_client_set_client_id(c, HOST_ID), AUTHD_OK);
	assert_int_equal(authd_client_set_client_secret(c, HOST_SECRET), AUTHD_OK);
	assert_int_equal(authd_client_set_timeout_ms(c, 3000), AUTHD_OK);
	publish(jwks_of(k_es, k_rs, k_ed));
	return c;
}

static int
hits(void)
{
	return __atomic_load_n(&jwks_hits, __ATOMIC_RELAXED);
}

static void
expect_access(authd_client_t *c, const char *tok, const char *aud, int want)
{
	authd_claims_t *cl = (authd_claims_t *)0x1;
	int rc = authd_client_verify_access_token(c, tok, aud, &cl);

	if (rc != want)
		fail_msg("verify: got %d (%s), want %d (%s)", rc, authd_strerror(rc), want,
		         authd_strerror(want));
	if (want == AUTHD_OK)
		assert_non_null(cl);
	else
		assert_null(cl);
	authd_claims_free(&cl);
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_settings_refuse_bad_input(void **state)
{
	authd_client_t *c = authd_client_new();

	(void)state;
	assert_int_equal(authd_client_set_issuer(c, "http://sso.example.gov.tw"), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, "http://127.0.0.1.evil.com"), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, "ftp://x.example"), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, "https://a b.example"), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, "https://x.example/?q"), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, NULL), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_issuer(c, "http://127.0.0.1:8080"), AUTHD_OK);
	assert_int_equal(authd_client_set_issuer(c, "http://localhost"), AUTHD_OK);
	assert_int_equal(authd_client_set_issuer(c, "https://sso.example.gov.tw"), AUTHD_OK);
	assert_int_equal(authd_client_set_timeout_ms(c, 0), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_timeout_ms(c, 600001), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_leeway(c, -1), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_leeway(c, 601), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_jwks_min_interval(c, -1), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_client_secret(c, ""), AUTHD_ERR_ARG);
	assert_int_equal(authd_client_set_client_id(c, NULL), AUTHD_ERR_ARG);
	assert_string_equal(authd_strerror(AUTHD_ERR_MFA_REQUIRED), "one-time code required");
	assert_string_equal(authd_strerror(12345), "unknown error");
	/* Calls that need a secret say so instead of sending an anonymous request. */
	{
		char *at = NULL;

		assert_int_equal(authd_client_credentials(c, NULL, &at, NULL), AUTHD_ERR_CONFIG);
		assert_null(at);
	}
	authd_client_free(&c);
	assert_null(c);
	authd_client_free(&c);
}

static void
test_secret_file(void **state)
{
	authd_client_t *c = authd_client_new();
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(fx_write_file(path, "file-secret\n"), 0);
	chmod(path, 0644);
	assert_int_equal(authd_client_set_secret_file(c, path), AUTHD_ERR_CONFIG);
	chmod(path, 0640);
	assert_int_equal(authd_client_set_secret_file(c, path), AUTHD_ERR_CONFIG);
	chmod(path, 0600);
	assert_int_equal(authd_client_set_secret_file(c, path), AUTHD_OK);
	assert_string_equal(c->secret, "file-secret");
	assert_int_equal(authd_client_set_secret_file(c, "/nonexistent/x"), AUTHD_ERR_CONFIG);
	assert_int_equal(authd_client_set_secret_file(c, dir), AUTHD_ERR_CONFIG);
	assert_int_equal(fx_write_file(path, "\n"), 0);
	assert_int_equal(authd_client_set_secret_file(c, path), AUTHD_ERR_CONFIG);
	authd_client_free(&c);
}

static void
test_discovery(void **state)
{
	authd_client_t *c = client();
	char other[96];

	(void)state;
	assert_int_equal(authd_client_discover(c), AUTHD_OK);
	assert_non_null(strstr(authd_client_metadata(c, "token_endpoint"), "/token"));
	assert_null(authd_client_metadata(c, "nope"));
	/* A document naming another issuer is refused. */
	snprintf(other, sizeof(other), "%s/other", issuer);
	assert_int_equal(authd_client_set_issuer(c, other), AUTHD_OK);
	assert_int_equal(authd_client_discover(c), AUTHD_ERR_PROTOCOL);
	assert_null(authd_client_metadata(c, "token_endpoint"));
	/* A response larger than the bound is refused, not buffered. */
	snprintf(other, sizeof(other), "%s/big", issuer);
	assert_int_equal(authd_client_set_issuer(c, other), AUTHD_OK);
	assert_int_equal(authd_client_discover(c), AUTHD_ERR_PROTOCOL);
	authd_client_free(&c);
}

static void
test_discovery_refuses_plain_http_jwks(void **state)
{
	authd_client_t *c = client();
	char plain[96], *t = access_token(k_es, "api");

	(void)state;
	snprintf(plain, sizeof(plain), "%s/plain", issuer);
	assert_int_equal(authd_client_set_issuer(c, plain), AUTHD_OK);
	assert_int_equal(authd_client_discover(c), AUTHD_OK);
	/* https issuer, http jwks_uri: the fetch is refused by protocol. */
	expect_access(c, t, "api", AUTHD_ERR_CONFIG);
	free(t);
	authd_client_free(&c);
}

static void
test_tls_verification_is_on(void **state)
{
	authd_client_t *c = client();

	(void)state;
	/* Without the test CA the self-signed server is not trusted. */
	assert_int_equal(authd_client_set_ca_file(c, NULL), AUTHD_OK);
	assert_int_equal(authd_client_discover(c), AUTHD_ERR_UNAVAILABLE);
	authd_client_free(&c);
}

static void
test_accepts_good_access_tokens(void **state)
{
	authd_client_t *c = client();
	authd_claims_t *cl = NULL;
	struct jose_key *keys[3] = { k_es, k_rs, k_ed };
	int64_t exp;

	(void)state;
	for (int i = 0; i < 3; i++) {
		char *t = access_token(keys[i], "api");

		assert_int_equal(authd_client_verify_access_token(c, t, "api", &cl), AUTHD_OK);
		assert_string_equal(authd_claims_string(cl, "sub"), "u-42");
		assert_null(authd_claims_string(cl, "groups"));
		assert_int_equal(authd_claims_int(cl, "exp", &exp), AUTHD_OK);
		assert_true(exp > time(NULL));
		assert_int_equal(authd_claims_int(cl, "sub", &exp), AUTHD_ERR_NOT_FOUND);
		assert_int_equal(authd_claims_int(cl, "missing", &exp), AUTHD_ERR_NOT_FOUND);
		assert_int_equal(authd_claims_array_has(cl, "groups", "ssh-users"), 1);
		assert_int_equal(authd_claims_array_has(cl, "groups", "ssh"), 0);
		assert_int_equal(authd_claims_array_has(cl, "amr", "pwd"), 1);
		assert_int_equal(authd_claims_array_has(cl, "aud", "api"), 1);
		assert_non_null(strstr(authd_claims_json(cl), "\"sub\":\"u-42\""));
		authd_claims_free(&cl);
		free(t);
	}
	authd_client_free(&c);
}

static void
test_accepts_good_id_tokens(void **state)
{
	authd_client_t *c = client();
	authd_claims_t *cl = NULL;
	struct jose_key *keys[3] = { k_es, k_rs, k_ed };

	(void)state;
	for (int i = 0; i < 3; i++) {
		json_t *p = base_claims("app", 300);
		char *t;

		json_object_set_new(p, "nonce", json_string("n-0S6_WzA2Mj"));
		t = sign_claims(keys[i], i == 2 ? NULL : "JWT", p);
		assert_int_equal(authd_client_verify_id_token(c, t, "app", "n-0S6_WzA2Mj", &cl),
		                 AUTHD_OK);
		assert_string_equal(authd_claims_string(cl, "nonce"), "n-0S6_WzA2Mj");
		authd_claims_free(&cl);
		/* Nonce not asked for: not checked. */
		assert_int_equal(authd_client_verify_id_token(c, t, "app", NULL, &cl), AUTHD_OK);
		authd_claims_free(&cl);
		free(t);
	}
	authd_client_free(&c);
}

static void
test_refuses_forgeries(void **state)
{
	authd_client_t *c = client();
	json_t *p = base_claims("api", 300);
	char *pem = jose_key_to_pem(k_es, 0), *t, *good;
	authd_claims_t *cl = NULL;

	(void)state;
	good = access_token(k_es, "api");
	expect_access(c, good, "api", AUTHD_OK);
	t = forge("{\"alg\":\"none\",\"kid\":\"es-1\",\"typ\":\"at+jwt\"}", p, NULL, 0);
	expect_access(c, t, "api", AUTHD_ERR_ALG);
	free(t);
	/* HS/RS confusion: HMAC keyed with the published public key. */
	t = forge("{\"alg\":\"HS256\",\"kid\":\"es-1\",\"typ\":\"at+jwt\"}", p, pem, strlen(pem));
	expect_access(c, t, "api", AUTHD_ERR_ALG);
	free(t);
	/* RS256 header on the ES key: the key decides the alg, not the header. */
	t = forge("{\"alg\":\"RS256\",\"kid\":\"es-1\",\"typ\":\"at+jwt\"}", p, pem, strlen(pem));
	expect_access(c, t, "api", AUTHD_ERR_ALG);
	free(t);
	/* Same kid, another key: the signature does not verify. */
	t = access_token(k_other, "api");
	expect_access(c, t, "api", AUTHD_ERR_SIGNATURE);
	free(t);
	/* A flipped payload under the good signature. */
	t = strdup(good);
	t[strchr(t, '.') - t + 5] ^= 1;
	assert_int_not_equal(authd_client_verify_access_token(c, t, "api", &cl), AUTHD_OK);
	assert_null(cl);
	free(t);
	expect_access(c, "not.a.token", "api", AUTHD_ERR_FORMAT);
	expect_access(c, "", "api", AUTHD_ERR_FORMAT);
	/* Oversized input is refused before parsing. */
	t = malloc(JOSE_MAX_TOKEN + 10);
	memset(t, 'a', JOSE_MAX_TOKEN + 9);
	t[JOSE_MAX_TOKEN + 9] = '\0';
	expect_access(c, t, "api", AUTHD_ERR_FORMAT);
	free(t);
	assert_int_equal(authd_client_verify_access_token(c, good, NULL, &cl), AUTHD_ERR_ARG);
	free(good);
	free(pem);
	json_decref(p);
	authd_client_free(&c);
}

static void
test_refuses_bad_claims(void **state)
{
	authd_client_t *c = client();
	json_t *p;
	char *t;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(authd_client_set_leeway(c, 30), AUTHD_OK);
	/* expired beyond leeway; inside leeway still fine */
	t = sign_claims(k_es, "at+jwt", base_claims("api", -31));
	expect_access(c, t, "api", AUTHD_ERR_EXPIRED);
	free(t);
	t = sign_claims(k_es, "at+jwt", base_claims("api", -10));
	expect_access(c, t, "api", AUTHD_OK);
	free(t);
	p = base_claims("api", 300);
	json_object_del(p, "exp");
	t = sign_claims(k_es, "at+jwt", p);
	expect_access(c, t, "api", AUTHD_ERR_EXPIRED);
	free(t);
	p = base_claims("api", 300);
	json_object_set_new(p, "nbf", json_integer(now + 120));
	t = sign_claims(k_es, "at+jwt", p);
	expect_access(c, t, "api", AUTHD_ERR_NOT_YET_VALID);
	free(t);
	p = base_claims("api", 300);
	json_object_set_new(p, "iat", json_integer(now + 120));
	t = sign_claims(k_es, "at+jwt", p);
	expect_access(c, t, "api", AUTHD_ERR_NOT_YET_VALID);
	free(t);
	/* wrong audience, issuer */
	t = access_token(k_es, "api");
	expect_access(c, t, "other-api", AUTHD_ERR_AUD);
	free(t);
	p = base_claims("api", 300);
	json_object_set_new(p, "iss", json_string("https://evil.example"));
	t = sign_claims(k_es, "at+jwt", p);
	expect_access(c, t, "api", AUTHD_ERR_ISS);
	free(t);
	p = base_claims("api", 300);
	json_object_set_new(p, "iss", json_sprintf("%s/", issuer));
	t = sign_claims(k_es, "at+jwt", p);
	expect_access(c, t, "api", AUTHD_ERR_ISS);
	free(t);
	authd_client_free(&c);
}

static void
test_refuses_wrong_typ_and_nonce(void **state)
{
	authd_client_t *c = client();
	authd_claims_t *cl = NULL;
	json_t *p;
	char *t;

	(void)state;
	/* An ID token presented as an access token, and the reverse. */
	t = sign_claims(k_es, "JWT", base_claims("api", 300));
	expect_access(c, t, "api", AUTHD_ERR_TYP);
	free(t);
	t = sign_claims(k_es, NULL, base_claims("api", 300));
	expect_access(c, t, "api", AUTHD_ERR_TYP);
	free(t);
	p = base_claims("app", 300);
	json_object_set_new(p, "nonce", json_string("n-1"));
	t = sign_claims(k_es, "at+jwt", p);
	assert_int_equal(authd_client_verify_id_token(c, t, "app", "n-1", &cl), AUTHD_ERR_TYP);
	free(t);
	p = base_claims("app", 300);
	json_object_set_new(p, "nonce", json_string("n-1"));
	t = sign_claims(k_es, "JWT", p);
	assert_int_equal(authd_client_verify_id_token(c, t, "app", "n-2", &cl), AUTHD_ERR_NONCE);
	assert_int_equal(authd_client_verify_id_token(c, t, "app", "n-", &cl), AUTHD_ERR_NONCE);
	assert_int_equal(authd_client_verify_id_token(c, t, "other", "n-1", &cl), AUTHD_ERR_AUD);
	/* NULL client id: the configured one ("host-1") is the audience. */
	assert_int_equal(authd_client_verify_id_token(c, t, NULL, "n-1", &cl), AUTHD_ERR_AUD);
	assert_null(cl);
	free(t);
	t = sign_claims(k_es, "JWT", base_claims("app", 300)); /* no nonce claim */
	assert_int_equal(authd_client_verify_id_token(c, t, "app", "n-1", &cl), AUTHD_ERR_NONCE);
	free(t);
	authd_client_free(&c);
}

static void
test_jwks_cache_and_unknown_kid(void **state)
{
	authd_client_t *c = client();
	char *t = access_token(k_es, "api"), *u = access_token(k_es2, "api");
	int h0 = hits();

	(void)state;
	assert_int_equal(authd_client_set_jwks_min_interval(c, 1), AUTHD_OK);
	expect_access(c, t, "api", AUTHD_OK);
	assert_int_equal(hits(), h0 + 1);
	/* Cached: the second verification fetches nothing. */
	expect_access(c, t, "api", AUTHD_OK);
	assert_int_equal(hits(), h0 + 1);
	/* Unknown kid within the interval: no fetch at all (rate limit). */
	expect_access(c, u, "api", AUTHD_ERR_KID);
	expect_access(c, u, "api", AUTHD_ERR_KID);
	assert_int_equal(hits(), h0 + 1);
	assert_int_equal(c->fetch_count, 1);
	/* After the interval: exactly one refetch, then refused. */
	usleep(1100 * 1000);
	expect_access(c, u, "api", AUTHD_ERR_KID);
	assert_int_equal(hits(), h0 + 2);
	expect_access(c, u, "api", AUTHD_ERR_KID);
	expect_access(c, u, "api", AUTHD_ERR_KID);
	assert_int_equal(hits(), h0 + 2);
	/* Known keys keep working without fetches meanwhile. */
	expect_access(c, t, "api", AUTHD_OK);
	assert_int_equal(hits(), h0 + 2);
	free(t);
	free(u);
	authd_client_free(&c);
}

static void
test_key_rotation(void **state)
{
	authd_client_t *c = client();
	char *t = access_token(k_es, "api"), *u = access_token(k_es2, "api");
	int h0 = hits();

	(void)state;
	assert_int_equal(authd_client_set_jwks_min_interval(c, 1), AUTHD_OK);
	expect_access(c, t, "api", AUTHD_OK);
	/* authd rotates: es-2 current, es-1 retired and removed. */
	publish(jwks_of(k_es2, k_rs, NULL));
	usleep(1100 * 1000);
	expect_access(c, u, "api", AUTHD_OK);
	assert_int_equal(hits(), h0 + 2);
	expect_access(c, u, "api", AUTHD_OK);
	assert_int_equal(hits(), h0 + 2);
	/* The removed key is no longer trusted once the new set is in. */
	expect_access(c, t, "api", AUTHD_ERR_KID);
	free(t);
	free(u);
	authd_client_free(&c);
}

static void
test_timeout_unavailable(void **state)
{
	authd_client_t *c = client();
	char *t = access_token(k_es, "api");
	uint64_t t0;

	(void)state;
	assert_int_equal(authd_client_set_issuer(c, issuer_hang), AUTHD_OK);
	assert_int_equal(authd_client_set_timeout_ms(c, 300), AUTHD_OK);
	t0 = mono_ns();
	assert_int_equal(authd_client_discover(c), AUTHD_ERR_UNAVAILABLE);
	assert_true(mono_ns() - t0 < 800ull * 1000000);
	t0 = mono_ns();
	expect_access(c, t, "api", AUTHD_ERR_UNAVAILABLE);
	assert_true(mono_ns() - t0 < 800ull * 1000000);
	/* Nobody listening at all: refused quickly, same code. */
	assert_int_equal(authd_client_set_issuer(c, "https://127.0.0.1:1"), AUTHD_OK);
	assert_int_equal(authd_client_discover(c), AUTHD_ERR_UNAVAILABLE);
	free(t);
	authd_client_free(&c);
}

/* ---- concurrency ---- */

#define THREADS 8
#define ROUNDS 500

static authd_client_t *shared_c;
static char *tok_old, *tok_new;
static int rotated, errors, used_new, done_n; /* __atomic */

static void *
verifier(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		authd_claims_t *cl = NULL;
		const char *t = __atomic_load_n(&rotated, __ATOMIC_ACQUIRE) && (i & 1) ? tok_new
		                                                                       : tok_old;

		if (t == tok_new)
			__atomic_add_fetch(&used_new, 1, __ATOMIC_RELAXED);
		if (authd_client_verify_access_token(shared_c, t, "api", &cl) != AUTHD_OK ||
		    strcmp(authd_claims_string(cl, "sub"), "u-42") != 0)
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		authd_claims_free(&cl);
		__atomic_add_fetch(&done_n, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void
test_concurrent_verification_with_rotation(void **state)
{
	pthread_t th[THREADS];
	int h0;

	(void)state;
	shared_c = client();
	/* 0: every unknown kid may refetch; the single-flight fetch keeps it to
	 * one request per rotation anyway. */
	assert_int_equal(authd_client_set_jwks_min_interval(shared_c, 0), AUTHD_OK);
	tok_old = access_token(k_es, "api");
	tok_new = access_token(k_es2, "api");
	h0 = hits();
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, verifier, NULL), 0);
	/* Bounded wait until a tenth of the work is done. */
	for (int i = 0; i < 5000 && __atomic_load_n(&done_n, __ATOMIC_RELAXED) < THREADS * ROUNDS / 10; i++)
		usleep(1000);
	/* Mid-run: authd publishes the next key and starts using it. */
	publish(jwks_of(k_es, k_es2, NULL));
	__atomic_store_n(&rotated, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(errors, 0);
	/* The rotation really happened mid-run: new-key tokens were verified. */
	assert_true(used_new > 0 && used_new < THREADS * ROUNDS / 2);
	/* One initial fetch plus at most a few around the rotation, never one per call. */
	assert_true(hits() - h0 >= 1 && hits() - h0 <= 1 + THREADS);
	free(tok_old);
	free(tok_new);
	authd_client_free(&shared_c);
}

/* ---- confidential calls ---- */

static void
test_introspection(void **state)
{
	authd_client_t *c = client();
	authd_claims_t *cl = NULL;

	(void)state;
	assert_int_equal(authd_client_introspect(c, "active-token", &cl), AUTHD_OK);
	assert_string_equal(authd_claims_string(cl, "sub"), "svc");
	assert_int_equal(authd_claims_array_has(cl, "groups", "ops"), 1);
	authd_claims_free(&cl);
	assert_int_equal(authd_client_introspect(c, "revoked-token", &cl), AUTHD_ERR_INACTIVE);
	assert_null(cl);
	assert_int_equal(authd_client_set_client_secret(c, "wrong"), AUTHD_OK);
	assert_int_equal(authd_client_introspect(c, "active-token", &cl), AUTHD_ERR_CLIENT_AUTH);
	assert_int_equal(authd_client_introspect(c, "", &cl), AUTHD_ERR_ARG);
	authd_client_free(&c);
}

static void
test_client_credentials(void **state)
{
	authd_client_t *c = client();
	authd_claims_t *cl = NULL;
	char *at = NULL;
	int exp = 0;

	(void)state;
	assert_int_equal(authd_client_credentials(c, "read", &at, &exp), AUTHD_OK);
	assert_int_equal(exp, 300);
	assert_int_equal(authd_client_verify_access_token(c, at, "api", &cl), AUTHD_OK);
	authd_claims_free(&cl);
	authd_string_free(at);
	at = NULL;
	assert_int_equal(authd_client_set_client_secret(c, "wrong"), AUTHD_OK);
	assert_int_equal(authd_client_credentials(c, NULL, &at, NULL), AUTHD_ERR_CLIENT_AUTH);
	assert_null(at);
	authd_client_free(&c);
}

static void
test_password_login(void **state)
{
	authd_client_t *c = client();
	authd_login_t *l = NULL;

	(void)state;
	assert_int_equal(authd_client_password_login(c, "alice", "pw&=+ü", "openid", &l), AUTHD_OK);
	assert_non_null(authd_tokens_access_token(authd_login_tokens(l)));
	assert_string_equal(authd_tokens_id_token(authd_login_tokens(l)), "idt");
	assert_null(authd_tokens_refresh_token(authd_login_tokens(l)));
	assert_int_equal(authd_tokens_expires_in(authd_login_tokens(l)), 300);
	assert_int_equal(authd_claims_array_has(authd_login_claims(l), "groups", "ssh-users"), 1);
	authd_login_free(&l);
	assert_null(l);
	assert_int_equal(authd_client_password_login(c, "alice", "nope", NULL, &l), AUTHD_ERR_DENIED);
	assert_null(l);
	assert_int_equal(authd_client_password_login(c, "nobody", "pw", NULL, &l), AUTHD_ERR_DENIED);
	assert_int_equal(authd_client_password_login(c, "carol", "pw", NULL, &l), AUTHD_ERR_UNMET);
	assert_null(l);
	assert_int_equal(authd_client_password_login(c, "mallory", "pw", NULL, &l),
	                 AUTHD_ERR_THROTTLED);
	assert_int_equal(authd_login_retry_after(l), 30);
	authd_login_free(&l);
	/* A token for another audience is not a login to this host. */
	assert_int_equal(authd_client_password_login(c, "wrongaud", "pw", NULL, &l), AUTHD_ERR_AUD);
	assert_null(l);
	assert_int_equal(authd_client_password_login(c, "", "pw", NULL, &l), AUTHD_ERR_ARG);
	authd_client_free(&c);
}

/* Every answer authd gave is a refusal of some kind; only a failed transport
 * or a 5xx is AUTHD_ERR_UNAVAILABLE (what pam_authd turns into
 * PAM_AUTHINFO_UNAVAIL, the fallback stack's "try the local password"). */
static void
test_login_answers_are_refusals(void **state)
{
	static const struct {
		const char *user;
		int want;
	} cases[] = {
		{ "badreq", AUTHD_ERR_REFUSED },
		{ "newerr", AUTHD_ERR_REFUSED },
		{ "tempun", AUTHD_ERR_REFUSED },
		{ "noerror", AUTHD_ERR_REFUSED },
		{ "html404", AUTHD_ERR_REFUSED },
		{ "forbidden", AUTHD_ERR_REFUSED },
		{ "moved", AUTHD_ERR_REFUSED },
		{ "unauth", AUTHD_ERR_CLIENT_AUTH },
		{ "garbage", AUTHD_ERR_PROTOCOL },
		{ "r503", AUTHD_ERR_UNAVAILABLE },
		{ "r500", AUTHD_ERR_UNAVAILABLE },
	};
	authd_client_t *c = client();
	authd_login_t *l = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = authd_client_password_login(c, cases[i].user, "pw", NULL, &l);

		if (rc != cases[i].want)
			fail_msg("%s: %d (%s), wanted %d (%s)", cases[i].user, rc, authd_strerror(rc),
			    cases[i].want, authd_strerror(cases[i].want));
		assert_null(l);
	}
	/* 429 with Retry-After and no OAuth body: throttled, with the delay. */
	assert_int_equal(authd_client_password_login(c, "r429", "pw", NULL, &l), AUTHD_ERR_THROTTLED);
	assert_int_equal(authd_login_retry_after(l), 7);
	authd_login_free(&l);
	/* A wrong code of any shape at the second step: a refusal too. */
	__atomic_store_n(&otp_used, 1, __ATOMIC_RELEASE);
	assert_int_equal(authd_client_password_login(c, "bob", "pw", NULL, &l),
	                 AUTHD_ERR_MFA_REQUIRED);
	assert_int_equal(authd_client_otp_login(c, l, "1234567"), AUTHD_ERR_REFUSED);
	assert_int_equal(authd_client_otp_login(c, l, "abcdef"), AUTHD_ERR_DENIED);
	authd_login_free(&l);
	assert_string_equal(authd_strerror(AUTHD_ERR_REFUSED), "authd refused the request");
	authd_client_free(&c);
}

static void
test_client_auth_refused(void **state)
{
	authd_client_t *c = client();
	authd_login_t *l = NULL;

	(void)state;
	assert_int_equal(authd_client_set_client_secret(c, "wrong"), AUTHD_OK);
	assert_int_equal(authd_client_password_login(c, "alice", "pw&=+ü", NULL, &l),
	                 AUTHD_ERR_CLIENT_AUTH);
	authd_client_free(&c);
}

static void
test_otp_login(void **state)
{
	authd_client_t *c = client();
	authd_login_t *l = NULL, *l2 = NULL;

	(void)state;
	__atomic_store_n(&otp_used, 0, __ATOMIC_RELEASE);
	assert_int_equal(authd_client_password_login(c, "bob", "pw", NULL, &l),
	                 AUTHD_ERR_MFA_REQUIRED);
	assert_int_equal(authd_login_has_mfa_method(l, "otp"), 1);
	assert_int_equal(authd_login_has_mfa_method(l, "webauthn"), 0);
	assert_null(authd_login_tokens(l));
	assert_int_equal(authd_client_otp_login(c, l, "000000"), AUTHD_ERR_DENIED);
	assert_int_equal(authd_client_otp_login(c, l, "123456"), AUTHD_OK);
	assert_int_equal(authd_claims_array_has(authd_login_claims(l), "groups", "staff"), 1);
	/* The MFA token is spent and wiped after success. */
	assert_int_equal(authd_client_otp_login(c, l, "123456"), AUTHD_ERR_ARG);
	/* Replayed code in a new login: refused by authd, one code for it. */
	assert_int_equal(authd_client_password_login(c, "bob", "pw", NULL, &l2),
	                 AUTHD_ERR_MFA_REQUIRED);
	assert_int_equal(authd_client_otp_login(c, l2, "123456"), AUTHD_ERR_DENIED);
	assert_int_equal(authd_client_otp_login(c, l2, ""), AUTHD_ERR_ARG);
	authd_login_free(&l);
	authd_login_free(&l2);
	authd_client_free(&c);
}

static void
test_device_flow(void **state)
{
	authd_client_t *c = client();
	authd_device_t *d = NULL;
	authd_tokens_t *t = NULL;
	uint64_t t0;

	(void)state;
	/* A public device client: no secret, client_id in the body. */
	assert_int_equal(authd_client_set_client_id(c, "tv"), AUTHD_OK);
	assert_int_equal(authd_client_set_client_secret(c, NULL), AUTHD_OK);
	assert_int_equal(authd_client_device_start(c, "pending", &d), AUTHD_OK);
	assert_string_equal(authd_device_user_code(d), "BCDF-GHJK");
	assert_string_equal(authd_device_verification_uri(d), "https://sso/device");
	assert_non_null(authd_device_verification_uri_complete(d));
	assert_int_equal(authd_device_interval(d), 1);
	assert_int_equal(authd_device_expires_in(d), 600);
	assert_int_equal(authd_client_device_poll(c, d, &t), AUTHD_ERR_PENDING);
	assert_null(t);
	/* wait: bounded by its own deadline, never sleeping past it */
	t0 = mono_ns();
	assert_int_equal(authd_client_device_wait(c, d, 1500, &t), AUTHD_ERR_TIMEOUT);
	assert_true(mono_ns() - t0 < 2500ull * 1000000);
	authd_device_free(&d);

	assert_int_equal(authd_client_device_start(c, "slow", &d), AUTHD_OK);
	assert_int_equal(authd_client_device_poll(c, d, &t), AUTHD_ERR_SLOW_DOWN);
	assert_int_equal(authd_device_interval(d), 6);
	authd_device_free(&d);
	assert_int_equal(authd_client_device_start(c, "expired", &d), AUTHD_OK);
	assert_int_equal(authd_client_device_wait(c, d, 5000, &t), AUTHD_ERR_EXPIRED);
	authd_device_free(&d);
	assert_int_equal(authd_client_device_start(c, "denied", &d), AUTHD_OK);
	assert_int_equal(authd_client_device_poll(c, d, &t), AUTHD_ERR_DENIED);
	authd_device_free(&d);
	/* A host login: the account and the connection it is for go to authd,
	 * which shows them on the page where the person approves. */
	assert_int_equal(authd_client_device_start_host(c, "host", "alice", "192.0.2.7", &d),
	                 AUTHD_OK);
	assert_null(authd_device_verification_uri_complete(d));
	authd_device_free(&d);
	assert_int_equal(authd_client_device_start_host(c, "host", "bad name", NULL, &d),
	                 AUTHD_ERR_ARG);
	assert_int_equal(authd_client_device_start_host(c, "host", "alice", "bad\naddr", &d),
	                 AUTHD_ERR_ARG);
	assert_null(d);
	assert_int_equal(authd_client_device_start(c, "ok", &d), AUTHD_OK);
	assert_int_equal(authd_client_device_wait(c, d, 5000, &t), AUTHD_OK);
	assert_non_null(authd_tokens_access_token(t));
	assert_string_equal(authd_tokens_scope(t), "openid");
	authd_tokens_free(&t);
	assert_null(t);
	authd_device_free(&d);
	assert_null(d);
	authd_client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_refuse_bad_input),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_discovery_refuses_plain_http_jwks),
		cmocka_unit_test(test_tls_verification_is_on),
		cmocka_unit_test(test_accepts_good_access_tokens),
		cmocka_unit_test(test_accepts_good_id_tokens),
		cmocka_unit_test(test_refuses_forgeries),
		cmocka_unit_test(test_refuses_bad_claims),
		cmocka_unit_test(test_refuses_wrong_typ_and_nonce),
		cmocka_unit_test(test_jwks_cache_and_unknown_kid),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_timeout_unavailable),
		cmocka_unit_test(test_concurrent_verification_with_rotation),
		cmocka_unit_test(test_introspection),
		cmocka_unit_test(test_client_credentials),
		cmocka_unit_test(test_password_login),
		cmocka_unit_test(test_login_answers_are_refusals),
		cmocka_unit_test(test_client_auth_refused),
		cmocka_unit_test(test_otp_login),
		cmocka_unit_test(test_device_flow),
	};

	return cmocka_run_group_tests_name("client", tests, setup, teardown);
}

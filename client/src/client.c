/* client/src/client.c — the authd_client_t object: construction, settings,
 * the client-secret file reader, OpenID discovery (issuer checked exactly) and
 * status names. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/util.h"

static const struct {
	int status;
	const char *text;
} status_names[] = {
	{ AUTHD_OK, "success" },
	{ AUTHD_ERR_ARG, "invalid argument" },
	{ AUTHD_ERR_NOMEM, "out of memory" },
	{ AUTHD_ERR_CONFIG, "client not configured for this call" },
	{ AUTHD_ERR_UNAVAILABLE, "authd cannot be reached" },
	{ AUTHD_ERR_PROTOCOL, "unexpected answer from authd" },
	{ AUTHD_ERR_FORMAT, "malformed token" },
	{ AUTHD_ERR_ALG, "token algorithm refused" },
	{ AUTHD_ERR_KID, "token signed by an unknown key" },
	{ AUTHD_ERR_SIGNATURE, "bad token signature" },
	{ AUTHD_ERR_TYP, "wrong token type" },
	{ AUTHD_ERR_EXPIRED, "expired" },
	{ AUTHD_ERR_NOT_YET_VALID, "token not yet valid" },
	{ AUTHD_ERR_ISS, "wrong token issuer" },
	{ AUTHD_ERR_AUD, "wrong token audience" },
	{ AUTHD_ERR_NONCE, "wrong nonce" },
	{ AUTHD_ERR_INACTIVE, "token not active" },
	{ AUTHD_ERR_PENDING, "authorization pending" },
	{ AUTHD_ERR_SLOW_DOWN, "slow down" },
	{ AUTHD_ERR_DENIED, "access denied" },
	{ AUTHD_ERR_MFA_REQUIRED, "one-time code required" },
	{ AUTHD_ERR_THROTTLED, "too many attempts, try later" },
	{ AUTHD_ERR_UNMET, "authentication requirements cannot be met" },
	{ AUTHD_ERR_CLIENT_AUTH, "client authentication refused" },
	{ AUTHD_ERR_NOT_FOUND, "not found" },
	{ AUTHD_ERR_TIMEOUT, "timed out" },
	{ AUTHD_ERR_REFUSED, "authd refused the request" },
};

const char *
authd_strerror(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (status_names[i].status == status)
			return status_names[i].text;
	return "unknown error";
}

void
authd_string_free(char *s)
{
	free_secret_str(s);
}

authd_client_t *
authd_client_new(void)
{
	authd_client_t *c;

	if (chttp_global_init() != AUTHD_OK)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->timeout_ms = 5000;
	c->leeway = 60;
	c->jwks_min_interval = 60;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (pthread_mutex_init(&c->disc_lock, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	if (pthread_cond_init(&c->fetched, NULL) != 0) {
		pthread_mutex_destroy(&c->disc_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

/* Drops discovery and keys; used when the issuer changes and on free. */
static void
client_reset(authd_client_t *c)
{
	json_decref(c->meta);
	c->meta = NULL;
	client_ks_release(c->ks);
	c->ks = NULL;
	c->gen++;
	c->last_fetch_ns = 0;
}

void
authd_client_free(authd_client_t **cp)
{
	authd_client_t *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	client_reset(c);
	free(c->issuer);
	free(c->ca_file);
	free(c->client_id);
	free_secret_str(c->secret);
	pthread_cond_destroy(&c->fetched);
	pthread_mutex_destroy(&c->disc_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* Loopback http is allowed only so tests and local development can run authd
 * without TLS; the host part must be exactly a loopback name. */
static int
is_loopback_http(const char *u)
{
	static const char *const pfx[] = { "http://127.0.0.1", "http://[::1]", "http://localhost" };
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(pfx[i]);
		if (strncasecmp(u, pfx[i], n) == 0 &&
		    (u[n] == '\0' || u[n] == ':' || u[n] == '/'))
			return 1;
	}
	return 0;
}

static int
url_chars_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
authd_client_set_issuer(authd_client_t *c, const char *issuer)
{
	size_t n;
	char *dup;
	int http;

	if (c == NULL || issuer == NULL)
		return AUTHD_ERR_ARG;
	n = strlen(issuer);
	if (n < 9 || n > 512 || !url_chars_ok(issuer, n) || strchr(issuer, '?') != NULL ||
	    strchr(issuer, '#') != NULL)
		return AUTHD_ERR_ARG;
	http = is_loopback_http(issuer);
	if (!http && strncasecmp(issuer, "https://", 8) != 0)
		return AUTHD_ERR_ARG;
	if ((dup = strdup(issuer)) == NULL)
		return AUTHD_ERR_NOMEM;
	pthread_mutex_lock(&c->disc_lock);
	pthread_mutex_lock(&c->lock);
	client_reset(c);
	free(c->issuer);
	c->issuer = dup;
	c->allow_http = http;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->disc_lock);
	return AUTHD_OK;
}

static int
set_str(char **dst, const char *v, size_t max)
{
	char *dup = NULL;

	if (v != NULL) {
		if (strlen(v) == 0 || strlen(v) > max)
			return AUTHD_ERR_ARG;
		if ((dup = strdup(v)) == NULL)
			return AUTHD_ERR_NOMEM;
	}
	free(*dst);
	*dst = dup;
	return AUTHD_OK;
}

int
authd_client_set_ca_file(authd_client_t *c, const char *path)
{
	if (c == NULL)
		return AUTHD_ERR_ARG;
	return set_str(&c->ca_file, path, 4096);
}

int
authd_client_set_client_id(authd_client_t *c, const char *client_id)
{
	if (c == NULL || client_id == NULL)
		return AUTHD_ERR_ARG;
	return set_str(&c->client_id, client_id, 256);
}

int
authd_client_set_client_secret(authd_client_t *c, const char *secret)
{
	char *dup = NULL;

	if (c == NULL)
		return AUTHD_ERR_ARG;
	if (secret != NULL) {
		size_t n = strlen(secret);

		if (n == 0 || n > CLIENT_MAX_SECRET)
			return AUTHD_ERR_ARG;
		if ((dup = strdup(secret)) == NULL)
			return AUTHD_ERR_NOMEM;
	}
	free_secret_str(c->secret);
	c->secret = dup;
	return AUTHD_OK;
}

int
authd_client_set_secret_file(authd_client_t *c, const char *path)
{
	char buf[CLIENT_MAX_SECRET + 2];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd, rc;

	if (c == NULL || path == NULL)
		return AUTHD_ERR_ARG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return AUTHD_ERR_CONFIG;
	/* Same rule as ssh for private keys: a secret others can read is no secret. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0077) != 0 ||
	    st.st_size > CLIENT_MAX_SECRET + 1) {
		close(fd);
		return AUTHD_ERR_CONFIG;
	}
	while (len < sizeof(buf) - 1) {
		got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) == 0 || strlen(buf) > CLIENT_MAX_SECRET)
		rc = AUTHD_ERR_CONFIG;
	else
		rc = authd_client_set_client_secret(c, buf);
	wipe(buf, sizeof(buf));
	return rc;
}

int
authd_client_set_timeout_ms(authd_client_t *c, int timeout_ms)
{
	if (c == NULL || timeout_ms < 1 || timeout_ms > 600000)
		return AUTHD_ERR_ARG;
	c->timeout_ms = timeout_ms;
	return AUTHD_OK;
}

int
authd_client_set_leeway(authd_client_t *c, int seconds)
{
	if (c == NULL || seconds < 0 || seconds > 600)
		return AUTHD_ERR_ARG;
	c->leeway = seconds;
	return AUTHD_OK;
}

int
authd_client_set_jwks_min_interval(authd_client_t *c, int seconds)
{
	if (c == NULL || seconds < 0 || seconds > 86400)
		return AUTHD_ERR_ARG;
	c->jwks_min_interval = seconds;
	return AUTHD_OK;
}

static int
discover_locked(authd_client_t *c)
{
	struct chttp_resp r;
	struct buf url;
	json_t *j;
	const char *iss;
	int rc;

	if (c->meta != NULL)
		return AUTHD_OK;
	if (c->issuer == NULL)
		return AUTHD_ERR_CONFIG;
	buf_init(&url);
	/* An issuer with a trailing slash keeps it in the "issuer" value but
	 * must not double it in the URL (OIDC Discovery §4). */
	buf_add(&url, c->issuer, strlen(c->issuer) - (c->issuer[strlen(c->issuer) - 1] == '/'));
	buf_adds(&url, "/.well-known/openid-configuration");
	if (url.oom) {
		buf_free(&url);
		return AUTHD_ERR_NOMEM;
	}
	rc = chttp_get(c, buf_str(&url), 0, &r);
	buf_free(&url);
	if (rc != AUTHD_OK)
		return rc;
	if (r.status != 200 || (j = chttp_json(&r)) == NULL) {
		chttp_resp_free(&r);
		return AUTHD_ERR_PROTOCOL;
	}
	chttp_resp_free(&r);
	iss = json_string_value(json_object_get(j, "issuer"));
	/* Exact match (OIDC Discovery §4.3): a document naming another issuer
	 * is a mix-up or a hijack, never "close enough". */
	if (iss == NULL || strcmp(iss, c->issuer) != 0 ||
	    !json_is_string(json_object_get(j, "jwks_uri"))) {
		json_decref(j);
		return AUTHD_ERR_PROTOCOL;
	}
	c->meta = j;
	return AUTHD_OK;
}

int
client_ensure_meta(authd_client_t *c)
{
	int rc;

	pthread_mutex_lock(&c->disc_lock);
	rc = discover_locked(c);
	pthread_mutex_unlock(&c->disc_lock);
	return rc;
}

int
authd_client_discover(authd_client_t *c)
{
	if (c == NULL)
		return AUTHD_ERR_ARG;
	return client_ensure_meta(c);
}

const char *
client_endpoint(authd_client_t *c, const char *name)
{
	const char *v;

	pthread_mutex_lock(&c->disc_lock);
	v = c->meta != NULL ? json_string_value(json_object_get(c->meta, name)) : NULL;
	pthread_mutex_unlock(&c->disc_lock);
	return v;
}

const char *
authd_client_metadata(authd_client_t *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	return client_endpoint(c, name);
}

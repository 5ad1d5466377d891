/* client/src/http.c — libauthd-client's only way onto the network: HTTPS GET and
 * form POST on libcurl with TLS verification always on, https-only protocols
 * (loopback http allowed only for a loopback http issuer), a bounded response
 * body, no redirects, and every call bounded by a total and a connect timeout.
 * Client credentials travel in a header this file builds and wipes. */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "../../lib/b64.h"
#include "../../lib/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc = -1;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
chttp_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_rc == 0 ? AUTHD_OK : AUTHD_ERR_NOMEM;
}

void
chttp_resp_free(struct chttp_resp *r)
{
	if (r == NULL)
		return;
	/* Bodies carry tokens; wipe the whole allocation, not just len. */
	if (r->body.p != NULL)
		wipe(r->body.p, r->body.cap);
	buf_free(&r->body);
	r->status = 0;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct chttp_resp *r = arg;
	size_t n = size * nmemb;

	if (n > CLIENT_MAX_BODY || r->body.len + n > CLIENT_MAX_BODY)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	buf_add(&r->body, data, n);
	return r->body.oom ? 0 : n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct chttp_resp *r = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t i = sizeof(name) - 1;
		long v = 0;
		int digits = 0;

		while (i < n && (data[i] == ' ' || data[i] == '\t'))
			i++;
		/* Delay-seconds only; an HTTP-date is read as "some time". */
		while (i < n && isdigit((unsigned char)data[i]) && digits < 7) {
			v = v * 10 + (data[i] - '0');
			i++;
			digits++;
		}
		r->retry_after = digits > 0 ? (int)v : 1;
	}
	return n;
}

/* Basic credentials per RFC 6749 §2.3.1: id and secret form-urlencoded, then
 * base64. The header string is returned in *hdr (caller wipes and frees). */
static int
basic_header(const authd_client_t *c, char **hdr)
{
	struct buf raw;
	char *out;
	size_t need;
	static const char pfx[] = "Authorization: Basic ";

	if (c->client_id == NULL || c->secret == NULL)
		return AUTHD_ERR_CONFIG;
	buf_init(&raw);
	buf_add_urlenc(&raw, c->client_id);
	buf_adds(&raw, ":");
	buf_add_urlenc(&raw, c->secret);
	if (raw.oom) {
		buf_free(&raw);
		return AUTHD_ERR_NOMEM;
	}
	need = sizeof(pfx) + (raw.len + 2) / 3 * 4 + 1;
	if ((out = malloc(need)) == NULL) {
		wipe(raw.p, raw.cap);
		buf_free(&raw);
		return AUTHD_ERR_NOMEM;
	}
	memcpy(out, pfx, sizeof(pfx) - 1);
	b64std_encode(out + sizeof(pfx) - 1, (const uint8_t *)raw.p, raw.len);
	wipe(raw.p, raw.cap);
	buf_free(&raw);
	*hdr = out;
	return AUTHD_OK;
}

static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int
perform(authd_client_t *c, const char *url, const struct buf *post, int basic,
        long timeout_ms, struct chttp_resp *r)
{
	CURL *h;
	CURLcode cc;
	struct curl_slist *hdrs = NULL, *tmp;
	char *auth = NULL;
	int rc = AUTHD_OK;

	buf_init(&r->body);
	r->status = 0;
	r->retry_after = -1;
	if (url == NULL || strlen(url) > CLIENT_MAX_URL)
		return AUTHD_ERR_CONFIG;
	if (chttp_global_init() != AUTHD_OK)
		return AUTHD_ERR_NOMEM;
	if (timeout_ms <= 0 || timeout_ms > c->timeout_ms)
		timeout_ms = c->timeout_ms;
	if ((h = curl_easy_init()) == NULL)
		return AUTHD_ERR_NOMEM;
	if ((tmp = curl_slist_append(hdrs, "Accept: application/json")) == NULL) {
		rc = AUTHD_ERR_NOMEM;
		goto out;
	}
	hdrs = tmp;
	if (basic) {
		if ((rc = basic_header(c, &auth)) != AUTHD_OK)
			goto out;
		tmp = curl_slist_append(hdrs, auth);
		free_secret_str(auth);
		if (tmp == NULL) {
			rc = AUTHD_ERR_NOMEM;
			goto out;
		}
		hdrs = tmp;
	}

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	/* No signals: the library runs inside threaded servers and PAM stacks. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long)CLIENT_MAX_BODY);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "libauthd-client/1");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (post != NULL) {
		/* POSTFIELDS points at the caller's buffer (no copy in curl), so the
		 * caller's wipe covers the only copy of the secrets in it. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post->p != NULL ? post->p : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)post->len);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = r->body.oom ? AUTHD_ERR_NOMEM : AUTHD_ERR_PROTOCOL;
		goto out;
	}
	if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT) {
		rc = AUTHD_ERR_CONFIG;
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = AUTHD_ERR_UNAVAILABLE;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 500)
		rc = AUTHD_ERR_UNAVAILABLE;
out:
	curl_easy_cleanup(h);
	slist_wipe_free(hdrs);
	if (rc != AUTHD_OK)
		chttp_resp_free(r);
	return rc;
}

int
chttp_get(authd_client_t *c, const char *url, long timeout_ms, struct chttp_resp *r)
{
	return perform(c, url, NULL, 0, timeout_ms, r);
}

int
chttp_post_form(authd_client_t *c, const char *url, const struct buf *body, int basic,
                long timeout_ms, struct chttp_resp *r)
{
	if (body == NULL || body->oom)
		return AUTHD_ERR_NOMEM;
	return perform(c, url, body, basic, timeout_ms, r);
}

json_t *
chttp_json(const struct chttp_resp *r)
{
	json_t *j;

	if (r->body.len == 0 || r->body.p == NULL)
		return NULL;
	j = json_loadb(r->body.p, r->body.len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* modules/x509_revocation.c — is a card certificate revoked? OCSP first (the
 * responder named in the certificate's AIA, with a request nonce; the answer's
 * signature, responder authority, status and thisUpdate/nextUpdate checked;
 * good answers cached in memory until nextUpdate), then the CRL named in the
 * CDP (downloaded with libcurl up to crl_max_bytes, checked against the
 * issuer's key, cached on disk in crl_cache and parsed once into memory until
 * its nextUpdate: a 20 MB MOICA CRL is never parsed per sign-in).
 *
 * Locking: rmu guards both caches (short critical sections only); fetch_mu
 * serialises CRL downloads so a burst of sign-ins after nextUpdate fetches the
 * CRL once. A cached X509_CRL is handed out with a reference (X509_CRL_up_ref)
 * so a refresh never frees one in use. Network calls never hold rmu. */
#include "x509.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../authd/config.h"
#include "../authd/log.h"
#include "../lib/util.h"

#define OCSP_RESP_MAX 65536
#define OCSP_CACHE_SLOTS 1024
#define OCSP_CACHE_MAX_S 86400        /* never trust a cached good answer for longer */
#define OCSP_SKEW_S 300
#define OCSP_NO_NONCE_MAX_AGE_S 3600  /* a responder that ignores nonces: answer must be fresh */
#define CRL_SLOTS 16
#define CRL_TIMEOUT_MS 30000

struct ocsp_slot {
	uint8_t key[SHA256_LEN];
	time_t until;
};

struct crl_slot {
	char url_hash[2 * SHA256_LEN + 1];
	uint8_t issuer_key[SHA256_LEN];  /* SHA-256 of the key that verified it */
	X509_CRL *crl;
	time_t next;
};

struct rev_cfg {
	int ocsp, crl;
	long ocsp_timeout_ms;
	size_t crl_max;
	char *cache_dir;
	X509_STORE *anchors;             /* borrowed from x509.c */
};

static struct rev_cfg rc_cfg;
static int rev_up;
static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fetch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ocsp_slot ocsp_cache[OCSP_CACHE_SLOTS];
static struct crl_slot crl_cache[CRL_SLOTS];

int
x509_revocation_setup(const struct conf *c, X509_STORE *anchors, char *err, size_t errsz)
{
	x509_revocation_teardown();
	memset(&rc_cfg, 0, sizeof(rc_cfg));
	rc_cfg.ocsp = c->x509_ocsp;
	rc_cfg.crl = c->x509_crl;
	rc_cfg.ocsp_timeout_ms = c->x509_ocsp_timeout_ms > 0 ? c->x509_ocsp_timeout_ms : 3000;
	rc_cfg.crl_max = c->x509_crl_max_bytes;
	rc_cfg.anchors = anchors;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsz, "libcurl did not initialise");
		return -1;
	}
	if (c->x509_crl_cache != NULL && (rc_cfg.cache_dir = strdup(c->x509_crl_cache)) == NULL) {
		curl_global_cleanup();
		return -1;
	}
	if (rc_cfg.cache_dir != NULL && mkdir(rc_cfg.cache_dir, 0700) != 0 && errno != EEXIST)
		log_msg(LOG_WARN, "[x509] crl_cache cannot be created: CRLs are kept in memory only",
		    "path", rc_cfg.cache_dir, "error", strerror(errno), NULL);
	rev_up = 1;
	return 0;
}

void
x509_revocation_teardown(void)
{
	int i;

	if (!rev_up)
		return;
	pthread_mutex_lock(&rmu);
	for (i = 0; i < CRL_SLOTS; i++) {
		X509_CRL_free(crl_cache[i].crl);
		memset(&crl_cache[i], 0, sizeof(crl_cache[i]));
	}
	memset(ocsp_cache, 0, sizeof(ocsp_cache));
	pthread_mutex_unlock(&rmu);
	free(rc_cfg.cache_dir);
	memset(&rc_cfg, 0, sizeof(rc_cfg));
	curl_global_cleanup();
	rev_up = 0;
}

/* ---------------------------------------------------------------- HTTP */

struct sink {
	uint8_t *p;
	size_t len, max;
	int over;
};

static size_t
sink_write(char *d, size_t sz, size_t n, void *u)
{
	struct sink *s = u;
	size_t add = sz * n;
	uint8_t *np;

	if (add > s->max - s->len) {
		s->over = 1;
		return 0;	/* aborts the transfer */
	}
	if ((np = realloc(s->p, s->len + add + 1)) == NULL)
		return 0;
	s->p = np;
	memcpy(s->p + s->len, d, add);
	s->len += add;
	return add;
}

/* GET (post NULL) or POST url; the body, at most max bytes, into *out. */
static int
http_fetch(const char *url, const void *post, size_t plen, const char *ctype, long timeout_ms,
           size_t max, uint8_t **out, size_t *outlen)
{
	struct sink s = { .max = max };
	struct curl_slist *hdr = NULL;
	char h[96];
	long code = 0;
	CURL *c;
	CURLcode cc;

	*out = NULL;
	*outlen = 0;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "authd");
	if (post != NULL) {
		snprintf(h, sizeof(h), "Content-Type: %s", ctype);
		hdr = curl_slist_append(NULL, h);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plen);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK || code != 200 || s.over || s.len == 0) {
		if (s.over)
			log_msg(LOG_WARN, "[x509] response larger than allowed", "url", url, NULL);
		free(s.p);
		return -1;
	}
	*out = s.p;
	*outlen = s.len;
	return 0;
}

/* ---------------------------------------------------------------- OCSP */

static int
url_ok(const char *u)
{
	return u != NULL && strlen(u) < 1024 &&
	    (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

static int
ocsp_url(X509 *cert, char *out, size_t outsz)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
	int i, rc = -1;

	for (i = 0; urls != NULL && i < sk_OPENSSL_STRING_num(urls); i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);

		if (url_ok(u)) {
			snprintf(out, outsz, "%s", u);
			rc = 0;
			break;
		}
	}
	X509_email_free(urls);
	return rc;
}

static int
certid_key(OCSP_CERTID *id, uint8_t key[SHA256_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_CERTID(id, &der);

	if (n <= 0)
		return -1;
	sha256(der, (size_t)n, key);
	OPENSSL_free(der);
	return 0;
}

static int
ocsp_cached(const uint8_t key[SHA256_LEN])
{
	time_t now = now_s();
	int i, hit = 0;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < OCSP_CACHE_SLOTS; i++)
		if (ocsp_cache[i].until > now && memcmp(ocsp_cache[i].key, key, SHA256_LEN) == 0) {
			hit = 1;
			break;
		}
	pthread_mutex_unlock(&rmu);
	return hit;
}

static void
ocsp_remember(const uint8_t key[SHA256_LEN], time_t until)
{
	int i, victim = 0;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < OCSP_CACHE_SLOTS; i++) {
		if (memcmp(ocsp_cache[i].key, key, SHA256_LEN) == 0) {
			victim = i;
			break;
		}
		if (ocsp_cache[i].until < ocsp_cache[victim].until)
			victim = i;	/* expired or soonest to expire */
	}
	memcpy(ocsp_cache[victim].key, key, SHA256_LEN);
	ocsp_cache[victim].until = until;
	pthread_mutex_unlock(&rmu);
}

static time_t
asn1_time_t(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static enum x509_rev
ocsp_check(X509 *cert, X509 *issuer, STACK_OF(X509) *chain)
{
	OCSP_CERTID *id = NULL, *id2 = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	enum x509_rev res = X509_REV_UNKNOWN;
	unsigned char *rder = NULL;
	const unsigned char *p;
	uint8_t key[SHA256_LEN], *body = NULL;
	size_t blen = 0;
	char url[1024];
	int n, status = -1, reason = -1, nonce;

	if (ocsp_url(cert, url, sizeof(url)) != 0)
		return X509_REV_UNKNOWN;
	if ((id = OCSP_cert_to_id(NULL, cert, issuer)) == NULL || certid_key(id, key) != 0)
		goto out;
	if (ocsp_cached(key)) {
		res = X509_REV_GOOD;
		goto out;
	}
	if ((id2 = OCSP_CERTID_dup(id)) == NULL || (req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL)
		goto out;
	id = NULL;	/* owned by req now */
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1 || (n = i2d_OCSP_REQUEST(req, &rder)) <= 0)
		goto out;
	if (http_fetch(url, rder, (size_t)n, "application/ocsp-request", rc_cfg.ocsp_timeout_ms,
	    OCSP_RESP_MAX, &body, &blen) != 0) {
		log_msg(LOG_WARN, "[x509] OCSP responder did not answer", "url", url, NULL);
		goto out;
	}
	p = body;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen)) == NULL ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL) {
		log_msg(LOG_WARN, "[x509] OCSP answer unusable", "url", url, NULL);
		goto out;
	}
	/* 1: our nonce echoed. -1: the responder sends none (pre-produced
	 * answers); then only a fresh answer is believed. 0 or 3: a replay. */
	nonce = OCSP_check_nonce(req, bs);
	if (nonce != 1 && nonce != -1) {
		log_msg(LOG_WARN, "[x509] OCSP nonce mismatch (replayed answer?)", "url", url, NULL);
		goto out;
	}
	if (OCSP_basic_verify(bs, chain, rc_cfg.anchors, 0) <= 0) {
		log_msg(LOG_WARN, "[x509] OCSP answer not signed by the issuer or its responder",
		    "url", url, NULL);
		goto out;
	}
	if (OCSP_resp_find_status(bs, id2, &status, &reason, &rev, &thisupd, &nextupd) != 1 ||
	    OCSP_check_validity(thisupd, nextupd, OCSP_SKEW_S,
	    nonce == 1 ? -1 : OCSP_NO_NONCE_MAX_AGE_S) != 1)
		goto out;
	if (status == V_OCSP_CERTSTATUS_GOOD) {
		time_t nu = asn1_time_t(nextupd), cap = now_s() + OCSP_CACHE_MAX_S;

		res = X509_REV_GOOD;
		if (nu > now_s())
			ocsp_remember(key, nu < cap ? nu : cap);
	} else if (status == V_OCSP_CERTSTATUS_REVOKED) {
		res = X509_REV_REVOKED;
	}
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	OCSP_CERTID_free(id2);
	OPENSSL_free(rder);
	free(body);
	return res;
}

/* ---------------------------------------------------------------- CRL */

static int
crl_url(X509 *cert, char *out, size_t outsz)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	int i, j, rc = -1;

	for (i = 0; dps != NULL && rc != 0 && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const char *u;

			if (gn->type != GEN_URI)
				continue;
			u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			if ((size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier) == strlen(u) &&
			    url_ok(u)) {
				snprintf(out, outsz, "%s", u);
				rc = 0;
				break;
			}
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rc;
}

int
x509_crl_cache_path(const char *url, char *out, size_t outsz)
{
	uint8_t h[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int n;

	if (url == NULL || rc_cfg.cache_dir == NULL)
		return -1;
	sha256(url, strlen(url), h);
	hex_encode(hex, h, sizeof(h));
	n = snprintf(out, outsz, "%s/%s.crl", rc_cfg.cache_dir, hex);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static void
key_hash(X509 *issuer, uint8_t out[SHA256_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(X509_get0_pubkey(issuer), &der);

	memset(out, 0, SHA256_LEN);
	if (n > 0)
		sha256(der, (size_t)n, out);
	OPENSSL_free(der);
}

/* Parsed, signed by issuer, current (nextUpdate in the future). */
static X509_CRL *
crl_parse(const uint8_t *d, size_t n, X509 *issuer, time_t *next)
{
	const unsigned char *p = d;
	X509_CRL *crl = NULL;
	time_t now = now_s(), last;
	X509_REVOKED *rv = NULL;
	ASN1_INTEGER *probe;

	if (n > 11 && memcmp(d, "-----BEGIN ", 11) == 0) {
		BIO *b = BIO_new_mem_buf(d, (int)n);

		crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)n);
	}
	if (crl == NULL)
		goto bad;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		goto bad;
	last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	*next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));
	if (last == 0 || last > now + OCSP_SKEW_S || *next <= now)
		goto bad;	/* stale: a CRL past nextUpdate proves nothing */
	/* Sort the revoked list now (first lookup sorts it) rather than during a sign-in. */
	if ((probe = ASN1_INTEGER_new()) != NULL) {
		X509_CRL_get0_by_serial(crl, &rv, probe);
		ASN1_INTEGER_free(probe);
	}
	ERR_clear_error();
	return crl;
bad:
	ERR_clear_error();
	X509_CRL_free(crl);
	return NULL;
}

static uint8_t *
file_read(const char *path, size_t max, size_t *len)
{
	struct stat st;
	uint8_t *d;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max || (d = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, d + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	if (off != (size_t)st.st_size) {
		free(d);
		return NULL;
	}
	*len = off;
	return d;
}

/* Atomically: a reader sees the old CRL or the new one, never half of one. */
static void
file_write(const char *path, const uint8_t *d, size_t n)
{
	char tmp[1200];
	size_t off = 0;
	int fd, ok = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return;
	while (off < n) {
		ssize_t w = write(fd, d + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	ok = off == n && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
}

/* The memory slot for url_hash verified with issuer_key, with a reference. */
static X509_CRL *
crl_mem_get(const char *url_hash, const uint8_t issuer_key[SHA256_LEN])
{
	X509_CRL *crl = NULL;
	time_t now = now_s();
	int i;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < CRL_SLOTS; i++) {
		struct crl_slot *s = &crl_cache[i];

		if (s->crl != NULL && s->next > now && strcmp(s->url_hash, url_hash) == 0 &&
		    memcmp(s->issuer_key, issuer_key, SHA256_LEN) == 0) {
			X509_CRL_up_ref(s->crl);
			crl = s->crl;
			break;
		}
	}
	pthread_mutex_unlock(&rmu);
	return crl;
}

static void
crl_mem_put(const char *url_hash, const uint8_t issuer_key[SHA256_LEN], X509_CRL *crl, time_t next)
{
	int i, victim = -1;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < CRL_SLOTS; i++) {
		struct crl_slot *s = &crl_cache[i];

		if (s->crl != NULL && strcmp(s->url_hash, url_hash) == 0 &&
		    memcmp(s->issuer_key, issuer_key, SHA256_LEN) == 0) {
			victim = i;
			break;
		}
		if (victim < 0 && s->crl == NULL)
			victim = i;
	}
	if (victim < 0) {	/* full: drop the one that goes stale first */
		victim = 0;
		for (i = 1; i < CRL_SLOTS; i++)
			if (crl_cache[i].next < crl_cache[victim].next)
				victim = i;
	}
	X509_CRL_free(crl_cache[victim].crl);	/* holders keep their own reference */
	X509_CRL_up_ref(crl);
	crl_cache[victim].crl = crl;
	crl_cache[victim].next = next;
	memcpy(crl_cache[victim].issuer_key, issuer_key, SHA256_LEN);
	snprintf(crl_cache[victim].url_hash, sizeof(crl_cache[victim].url_hash), "%s", url_hash);
	pthread_mutex_unlock(&rmu);
}

static X509_CRL *
crl_get(const char *url, X509 *issuer)
{
	uint8_t uh[SHA256_LEN], ik[SHA256_LEN], *d = NULL;
	char url_hash[2 * SHA256_LEN + 1], path[1100];
	X509_CRL *crl;
	time_t next = 0;
	size_t n = 0;
	int have_path;

	sha256(url, strlen(url), uh);
	hex_encode(url_hash, uh, sizeof(uh));
	key_hash(issuer, ik);
	if ((crl = crl_mem_get(url_hash, ik)) != NULL)
		return crl;
	pthread_mutex_lock(&fetch_mu);
	if ((crl = crl_mem_get(url_hash, ik)) != NULL)	/* another thread just loaded it */
		goto out;
	have_path = x509_crl_cache_path(url, path, sizeof(path)) == 0;
	if (have_path && (d = file_read(path, rc_cfg.crl_max, &n)) != NULL) {
		crl = crl_parse(d, n, issuer, &next);
		free(d);
		d = NULL;
	}
	if (crl == NULL) {
		if (http_fetch(url, NULL, 0, NULL, CRL_TIMEOUT_MS, rc_cfg.crl_max, &d, &n) != 0) {
			log_msg(LOG_WARN, "[x509] CRL download failed", "url", url, NULL);
			goto out;
		}
		if ((crl = crl_parse(d, n, issuer, &next)) == NULL) {
			log_msg(LOG_WARN, "[x509] CRL unusable (signature, issuer or nextUpdate)",
			    "url", url, NULL);
			goto out;
		}
		if (have_path)
			file_write(path, d, n);
	}
	crl_mem_put(url_hash, ik, crl, next);
out:
	pthread_mutex_unlock(&fetch_mu);
	free(d);
	return crl;
}

static enum x509_rev
crl_check(X509 *cert, X509 *issuer)
{
	X509_REVOKED *rv = NULL;
	X509_CRL *crl;
	char url[1024];
	int r;

	if (crl_url(cert, url, sizeof(url)) != 0 || (crl = crl_get(url, issuer)) == NULL)
		return X509_REV_UNKNOWN;
	r = X509_CRL_get0_by_serial(crl, &rv, (ASN1_INTEGER *)X509_get0_serialNumber(cert));
	X509_CRL_free(crl);
	ERR_clear_error();
	/* 1: listed; 2: listed as removeFromCRL (no longer on hold). */
	return r == 1 ? X509_REV_REVOKED : X509_REV_GOOD;
}

enum x509_rev
x509_revocation_check(X509 *cert, X509 *issuer, STACK_OF(X509) *chain)
{
	enum x509_rev r = X509_REV_UNKNOWN;

	if (!rev_up || cert == NULL || issuer == NULL)
		return X509_REV_UNKNOWN;
	if (rc_cfg.ocsp)
		r = ocsp_check(cert, issuer, chain);
	if (r == X509_REV_UNKNOWN && rc_cfg.crl)
		r = crl_check(cert, issuer);
	return r;
}

/* modules/x509_revocation.c — is a card certificate revoked? OCSP first (the
 * responder named in the certificate's AIA, with a request nonce; the answer's
 * signature, responder authority, status and thisUpdate/nextUpdate checked;
 * good answers cached in memory until nextUpdate), then the CRLs named in the
 * CDP, judged as RFC 5280 §6.3.3 says: each CRL must be issued and signed by
 * the card's CA and cover the card *and* the distribution point it was fetched
 * for (issuingDistributionPoint names, only* flags, reasons; no indirect CRL),
 * a delta CRL is used only with its base, and anything else leaves the status
 * unknown. MOICA partitions its CRLs, so the cache is per partition: keyed by
 * (kind, issuer key, URL), in memory (crl_cache_entries / crl_cache_bytes, least
 * recently used out first) and on disk (crl_cache/, the same count), each CRL
 * parsed once and reused until its nextUpdate; downloads are bounded by
 * crl_max_bytes and, per check, crl_timeout_ms. A download older than the
 * newest CRL seen for its key is a replay and is refused.
 *
 * Locking: rmu guards both caches and the in-flight table (short critical
 * sections only). A download holds an in-flight entry for its key, so a burst
 * of sign-ins after nextUpdate fetches a partition once while other partitions
 * download in parallel (at most CRL_INFLIGHT at a time). A cached X509_CRL is
 * handed out with a reference (X509_CRL_up_ref) so an eviction or a refresh
 * never frees one in use. Network calls never hold rmu. */
#include "x509.h"

#include <dirent.h>
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
#define CRL_INFLIGHT 16               /* CRL downloads at the same time */
#define CRL_MAX_URLS 8                /* CRL addresses looked at for one certificate */
#define CRL_TMP_MAX_AGE_S 3600        /* a .tmp left by a crash is removed after this */
#define DELTA_DOWN_S 60               /* a delta address that failed slowly rests this long */
#define DELTA_SLOW_MS 1000            /* (a quick failure, e.g. 404, costs nothing: no rest) */

struct ocsp_slot {
	uint8_t key[SHA256_LEN];
	time_t until;
};

/* One CRL of one partition of one CA: key = crl_key(kind, issuer key, URL). */
struct crl_slot {
	uint8_t key[SHA256_LEN];
	X509_CRL *crl;                   /* NULL: a free slot */
	time_t next;                     /* its nextUpdate */
	time_t last;                     /* its lastUpdate: an older download is a replay */
	time_t used;                     /* last hit: the least recently used goes first */
	size_t bytes;                    /* encoded size, counted against crl_cache_bytes */
};

struct rev_cfg {
	int ocsp, crl;
	long ocsp_timeout_ms;
	long crl_timeout_ms;
	size_t crl_max;
	size_t cache_entries;
	size_t cache_bytes;
	char *cache_dir;
	X509_STORE *anchors;             /* borrowed from x509.c */
};

static struct rev_cfg rc_cfg;
static int rev_up;
static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fetch_cv = PTHREAD_COND_INITIALIZER;
static struct ocsp_slot ocsp_cache[OCSP_CACHE_SLOTS];
static struct crl_slot *crl_cache;   /* cache_entries slots */
static size_t crl_cache_used;        /* sum of bytes over the slots in use */
static struct {
	uint8_t key[SHA256_LEN];
	int busy;
} inflight[CRL_INFLIGHT];
/* Delta CRL addresses whose download failed after DELTA_SLOW_MS or more: not
 * tried again for DELTA_DOWN_S, so a stalled delta server (the base decides
 * alone meanwhile) does not cost every sign-in up to crl_timeout_ms. Keyed
 * like the cache; a ring. */
static struct {
	uint8_t key[SHA256_LEN];
	time_t until;
} delta_down[CRL_INFLIGHT];
static unsigned delta_down_next;

static void disk_prune(void);

int
x509_revocation_setup(const struct conf *c, X509_STORE *anchors, char *err, size_t errsz)
{
	x509_revocation_teardown();
	memset(&rc_cfg, 0, sizeof(rc_cfg));
	rc_cfg.ocsp = c->x509_ocsp;
	rc_cfg.crl = c->x509_crl;
	rc_cfg.ocsp_timeout_ms = c->x509_ocsp_timeout_ms > 0 ? c->x509_ocsp_timeout_ms : 3000;
	rc_cfg.crl_timeout_ms = c->x509_crl_timeout_ms > 0 ? c->x509_crl_timeout_ms : 30000;
	rc_cfg.crl_max = c->x509_crl_max_bytes;
	rc_cfg.cache_entries = c->x509_crl_cache_entries > 0 ? (size_t)c->x509_crl_cache_entries : 1024;
	rc_cfg.cache_bytes = c->x509_crl_cache_bytes > 0 ? c->x509_crl_cache_bytes : 268435456;
	rc_cfg.anchors = anchors;
	if ((crl_cache = calloc(rc_cfg.cache_entries, sizeof(*crl_cache))) == NULL) {
		snprintf(err, errsz, "[x509] crl_cache_entries: out of memory");
		return -1;
	}
	crl_cache_used = 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsz, "libcurl did not initialise");
		free(crl_cache);
		crl_cache = NULL;
		return -1;
	}
	if (c->x509_crl_cache != NULL && (rc_cfg.cache_dir = strdup(c->x509_crl_cache)) == NULL) {
		curl_global_cleanup();
		free(crl_cache);
		crl_cache = NULL;
		return -1;
	}
	if (rc_cfg.cache_dir != NULL && mkdir(rc_cfg.cache_dir, 0700) != 0 && errno != EEXIST)
		log_msg(LOG_WARN, "[x509] crl_cache cannot be created: CRLs are kept in memory only",
		    "path", rc_cfg.cache_dir, "error", strerror(errno), NULL);
	rev_up = 1;
	disk_prune();
	return 0;
}

/* Only when no check runs (start-up, reload, shutdown: no worker is inside). */
void
x509_revocation_teardown(void)
{
	size_t i;

	if (!rev_up)
		return;
	pthread_mutex_lock(&rmu);
	for (i = 0; i < rc_cfg.cache_entries; i++)
		X509_CRL_free(crl_cache[i].crl);
	free(crl_cache);
	crl_cache = NULL;
	crl_cache_used = 0;
	memset(ocsp_cache, 0, sizeof(ocsp_cache));
	memset(inflight, 0, sizeof(inflight));
	memset(delta_down, 0, sizeof(delta_down));
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

/* ---------------------------------------------------------------- CRL: what a CRL says */

const char *
x509_crl_verdict_str(enum x509_crl_verdict v)
{
	/* Each reads after "the CRL at <URL> ". */
	switch (v) {
	case X509_CRL_OK: return "is usable";
	case X509_CRL_UNAVAILABLE:
		return "could not be downloaded (network, HTTP status, size or time limit)";
	case X509_CRL_UNPARSABLE: return "is not a CRL";
	case X509_CRL_ISSUER:
		return "is not issued and signed by the certificate's CA (name, key identifier or signature)";
	case X509_CRL_CRITICAL: return "carries a critical extension authd does not process";
	case X509_CRL_MALFORMED: return "has a malformed or repeated extension";
	case X509_CRL_STALE: return "is not current (lastUpdate ahead, nextUpdate missing or past)";
	case X509_CRL_OLDER: return "is older than one already seen for this address (replayed?)";
	case X509_CRL_DELTA: return "is a delta CRL, served where the complete CRL belongs";
	case X509_CRL_NOT_DELTA: return "is not a delta CRL";
	case X509_CRL_PARTITION:
		return "covers another partition (its issuingDistributionPoint names other distribution points)";
	case X509_CRL_KIND:
		return "covers other kinds of certificates (onlyContainsCACerts/AttributeCerts)";
	case X509_CRL_INDIRECT: return "is an indirect CRL (not supported)";
	case X509_CRL_REASONS: return "covers only some revocation reasons (onlySomeReasons)";
	case X509_CRL_BASE:
		return "is a delta CRL that does not fit its base CRL (CRL numbers, scope or issuer)";
	}
	return "unknown";
}

/* ReasonFlags as X509_REASONS_ALL bits; absent: every reason. */
static unsigned
reason_bits(const ASN1_BIT_STRING *bs)
{
	unsigned r = 0;
	int i;

	if (bs == NULL)
		return X509_REASONS_ALL;
	for (i = 1; i <= 8; i++)
		if (ASN1_BIT_STRING_get_bit(bs, i))
			r |= 1u << i;
	return r;
}

static int
crl_has_ext(const X509_CRL *crl, int nid)
{
	return X509_CRL_get_ext_by_NID(crl, nid, -1) >= 0;
}

enum x509_crl_verdict
x509_crl_check_issuer(X509_CRL *crl, X509 *issuer, int delta)
{
	STACK_OF(X509_REVOKED) *rv;
	AUTHORITY_KEYID *akid;
	EVP_PKEY *key;
	int i, j, n, crit, ok;

	if (crl == NULL || issuer == NULL)
		return X509_CRL_UNPARSABLE;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
		return X509_CRL_ISSUER;
	/* Each extension once; critical ones only those we act on (the others
	 * would change what the CRL means: RFC 5280 §5.2). */
	n = X509_CRL_get_ext_count(crl);
	for (i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		int nid = OBJ_obj2nid(o);

		if (X509_CRL_get_ext_by_OBJ(crl, o, i) >= 0)
			return X509_CRL_MALFORMED;
		if (X509_EXTENSION_get_critical(e) && nid != NID_issuing_distribution_point &&
		    nid != NID_delta_crl)
			return X509_CRL_CRITICAL;
	}
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	if (akid == NULL && crit != -1)
		return X509_CRL_MALFORMED;
	/* MOICA G2 and G3 share one DN: the key identifier and the signature tell
	 * them apart. (X509_check_akid compares with the issuer's cached
	 * extensions: have them computed first.) */
	X509_get_extension_flags(issuer);
	ok = akid == NULL || X509_check_akid(issuer, akid) == X509_V_OK;
	AUTHORITY_KEYID_free(akid);
	if (!ok || (key = X509_get0_pubkey(issuer)) == NULL || X509_CRL_verify(crl, key) != 1)
		return X509_CRL_ISSUER;
	/* certificateIssuer entries belong to indirect CRLs; any other critical
	 * entry extension is one we do not process (§5.3: then the CRL is not used). */
	rv = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(rv); i++) {
		const STACK_OF(X509_EXTENSION) *ex = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(rv, i));

		for (j = 0; j < sk_X509_EXTENSION_num(ex); j++) {
			X509_EXTENSION *e = sk_X509_EXTENSION_value(ex, j);

			if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_certificate_issuer)
				return X509_CRL_INDIRECT;
			if (X509_EXTENSION_get_critical(e))
				return X509_CRL_CRITICAL;
		}
	}
	if (delta && !crl_has_ext(crl, NID_delta_crl))
		return X509_CRL_NOT_DELTA;
	if (!delta && crl_has_ext(crl, NID_delta_crl))
		return X509_CRL_DELTA;
	return X509_CRL_OK;
}

enum x509_crl_verdict
x509_crl_current(X509_CRL *crl, time_t now)
{
	time_t last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	time_t next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));

	/* a CRL past nextUpdate (or without one) proves nothing */
	if (last == 0 || last > now + OCSP_SKEW_S || next <= now || next < last)
		return X509_CRL_STALE;
	return X509_CRL_OK;
}

static int
is_ca(X509 *x)
{
	uint32_t f = X509_get_extension_flags(x);

	return (f & EXFLAG_BCONS) != 0 && (f & EXFLAG_CA) != 0;
}

/* The names of a distribution point name: its full name, or its relative name
 * appended to issuer, as a directory name (RFC 5280 §4.2.1.13). New, or NULL. */
static GENERAL_NAMES *
dpn_names(const DIST_POINT_NAME *dpn, const X509_NAME *issuer)
{
	GENERAL_NAMES *out = NULL;
	GENERAL_NAME *gn = NULL;
	X509_NAME *nm;
	int i;

	if (dpn == NULL)
		return NULL;
	if (dpn->type == 0)
		return sk_GENERAL_NAME_deep_copy(dpn->name.fullname, GENERAL_NAME_dup, GENERAL_NAME_free);
	if (dpn->type != 1 || issuer == NULL || (nm = X509_NAME_dup(issuer)) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_NAME_ENTRY_num(dpn->name.relativename); i++)
		if (X509_NAME_add_entry(nm, sk_X509_NAME_ENTRY_value(dpn->name.relativename, i), -1,
		    i == 0 ? 0 : -1) != 1)
			goto fail;
	if ((out = sk_GENERAL_NAME_new_null()) == NULL || (gn = GENERAL_NAME_new()) == NULL)
		goto fail;
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, nm);
	nm = NULL;
	if (sk_GENERAL_NAME_push(out, gn) <= 0)
		goto fail;
	return out;
fail:
	X509_NAME_free(nm);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(out);
	return NULL;
}

/* 1 when a name of a is a name of b (exact: a URI is compared byte for byte). */
static int
names_meet(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	int i, j;

	for (i = 0; i < sk_GENERAL_NAME_num(a); i++)
		for (j = 0; j < sk_GENERAL_NAME_num(b); j++)
			if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i), sk_GENERAL_NAME_value(b, j)) == 0)
				return 1;
	return 0;
}

enum x509_crl_verdict
x509_crl_scope(X509_CRL *crl, X509 *cert, const DIST_POINT *dp, unsigned *reasons)
{
	ISSUING_DIST_POINT *idp;
	GENERAL_NAMES *have = NULL, *want = NULL;
	enum x509_crl_verdict v = X509_CRL_OK;
	int crit, only;

	*reasons = 0;
	if (crl == NULL || cert == NULL)
		return X509_CRL_UNPARSABLE;
	if (crl_has_ext(crl, NID_delta_crl))
		return X509_CRL_DELTA;	/* a delta only with its base (x509_crl_delta_fits) */
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	if (idp == NULL) {
		if (crit != -1)
			return X509_CRL_MALFORMED;
		/* No IDP: the CA's complete CRL, for every certificate it issued. */
		*reasons = X509_REASONS_ALL;
		return X509_CRL_OK;
	}
	only = (idp->onlyuser != 0) + (idp->onlyCA != 0) + (idp->onlyattr != 0);
	if (only > 1) {
		v = X509_CRL_MALFORMED;	/* at most one may be set (§5.2.5) */
	} else if (idp->indirectCRL) {
		v = X509_CRL_INDIRECT;
	} else if (idp->onlyattr || (idp->onlyuser && is_ca(cert)) || (idp->onlyCA && !is_ca(cert))) {
		v = X509_CRL_KIND;
	} else if (idp->distpoint != NULL) {
		/* §6.3.3 (b)(2)(i): one of the IDP's names is one of the names of
		 * the distribution point the CRL was fetched for. */
		if (dp == NULL || dp->distpoint == NULL ||
		    (have = dpn_names(idp->distpoint, X509_CRL_get_issuer(crl))) == NULL ||
		    (want = dpn_names(dp->distpoint, X509_get_issuer_name(cert))) == NULL ||
		    !names_meet(have, want))
			v = X509_CRL_PARTITION;
	}
	if (v == X509_CRL_OK && (*reasons = reason_bits(idp->onlysomereasons)) == 0)
		v = X509_CRL_REASONS;
	if (v != X509_CRL_OK)
		*reasons = 0;
	GENERAL_NAMES_free(have);
	GENERAL_NAMES_free(want);
	ISSUING_DIST_POINT_free(idp);
	return v;
}

/* 1 when the extension nid is absent from both or present in both with the same value. */
static int
same_ext(const X509_CRL *a, const X509_CRL *b, int nid)
{
	int ia = X509_CRL_get_ext_by_NID(a, nid, -1), ib = X509_CRL_get_ext_by_NID(b, nid, -1);

	if (ia < 0 || ib < 0)
		return ia < 0 && ib < 0;
	return ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(X509_CRL_get_ext(a, ia)),
	    X509_EXTENSION_get_data(X509_CRL_get_ext(b, ib))) == 0;
}

enum x509_crl_verdict
x509_crl_delta_fits(X509_CRL *base, X509_CRL *delta)
{
	ASN1_INTEGER *from, *bnum = NULL, *dnum = NULL;
	enum x509_crl_verdict v = X509_CRL_BASE;

	if (base == NULL || delta == NULL)
		return X509_CRL_UNPARSABLE;
	if (crl_has_ext(base, NID_delta_crl))
		return X509_CRL_DELTA;
	if ((from = X509_CRL_get_ext_d2i(delta, NID_delta_crl, NULL, NULL)) == NULL)
		return X509_CRL_NOT_DELTA;
	bnum = X509_CRL_get_ext_d2i(base, NID_crl_number, NULL, NULL);
	dnum = X509_CRL_get_ext_d2i(delta, NID_crl_number, NULL, NULL);
	/* The delta lists changes since CRL number `from`: our base must be at
	 * least that new, and the delta newer than our base (else it says less). */
	if (bnum != NULL && dnum != NULL && ASN1_INTEGER_cmp(from, bnum) <= 0 &&
	    ASN1_INTEGER_cmp(bnum, dnum) < 0 &&
	    X509_NAME_cmp(X509_CRL_get_issuer(base), X509_CRL_get_issuer(delta)) == 0 &&
	    same_ext(base, delta, NID_issuing_distribution_point) &&
	    same_ext(base, delta, NID_authority_key_identifier))
		v = X509_CRL_OK;
	ASN1_INTEGER_free(from);
	ASN1_INTEGER_free(bnum);
	ASN1_INTEGER_free(dnum);
	return v;
}

/* ---------------------------------------------------------------- CRL: the caches */

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

/* The cache key of one partition's CRL: kind, issuer key and URL. MOICA G2 and
 * G3 share a DN; two CAs never share a slot, and a delta never takes its base's.
 * 0, or -1 when the digest failed. */
static int
crl_key(int delta, const uint8_t ik[SHA256_LEN], const char *url, uint8_t out[SHA256_LEN])
{
	static const char full[16] = "authd-crl-full", del[16] = "authd-crl-delta";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned n = 0;
	int ok;

	ok = md != NULL && EVP_DigestInit_ex(md, util_sha256_md(), NULL) == 1 &&
	    EVP_DigestUpdate(md, delta ? del : full, 16) == 1 &&
	    EVP_DigestUpdate(md, ik, SHA256_LEN) == 1 &&
	    EVP_DigestUpdate(md, url, strlen(url)) == 1 &&
	    EVP_DigestFinal_ex(md, out, &n) == 1 && n == SHA256_LEN;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static int
disk_path(const uint8_t key[SHA256_LEN], char *out, size_t outsz)
{
	char hex[2 * SHA256_LEN + 1];
	int n;

	if (rc_cfg.cache_dir == NULL)
		return -1;
	hex_encode(hex, key, SHA256_LEN);
	n = snprintf(out, outsz, "%s/%s.crl", rc_cfg.cache_dir, hex);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

int
x509_crl_cache_path(const char *url, X509 *issuer, int delta, char *out, size_t outsz)
{
	uint8_t ik[SHA256_LEN], key[SHA256_LEN];

	if (url == NULL || issuer == NULL || !rev_up)
		return -1;
	key_hash(issuer, ik);
	if (crl_key(delta, ik, url, key) != 0)
		return -1;
	return disk_path(key, out, outsz);
}

/* The memory slot of key while current, with a reference; *last (may be NULL)
 * gets the lastUpdate of the newest CRL seen for key, current or not (0: none). */
static X509_CRL *
mem_get(const uint8_t key[SHA256_LEN], time_t *last)
{
	X509_CRL *crl = NULL;
	time_t now = now_s();
	size_t i;

	if (last != NULL)
		*last = 0;
	pthread_mutex_lock(&rmu);
	for (i = 0; i < rc_cfg.cache_entries; i++) {
		struct crl_slot *s = &crl_cache[i];

		if (s->crl == NULL || memcmp(s->key, key, SHA256_LEN) != 0)
			continue;
		if (last != NULL)
			*last = s->last;
		if (s->next > now) {
			X509_CRL_up_ref(s->crl);
			crl = s->crl;
			s->used = now;
		}
		break;
	}
	pthread_mutex_unlock(&rmu);
	return crl;
}

static void
slot_drop(struct crl_slot *s)
{
	X509_CRL_free(s->crl);	/* holders keep their own reference */
	crl_cache_used -= s->bytes;
	memset(s, 0, sizeof(*s));
}

/* The slot to give up: a stale one first, else the least recently used;
 * never keep. NULL when only keep is in use. Under rmu. */
static struct crl_slot *
slot_victim(time_t now, const struct crl_slot *keep)
{
	struct crl_slot *v = NULL;
	size_t i;

	for (i = 0; i < rc_cfg.cache_entries; i++) {
		struct crl_slot *s = &crl_cache[i];

		if (s->crl == NULL || s == keep)
			continue;
		if (v == NULL || (s->next <= now && v->next > now) ||
		    ((s->next <= now) == (v->next <= now) && s->used < v->used))
			v = s;
	}
	return v;
}

static void
mem_put(const uint8_t key[SHA256_LEN], X509_CRL *crl, size_t bytes)
{
	struct crl_slot *s = NULL, *v;
	time_t now = now_s();
	size_t i;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < rc_cfg.cache_entries && s == NULL; i++)
		if (crl_cache[i].crl != NULL && memcmp(crl_cache[i].key, key, SHA256_LEN) == 0)
			s = &crl_cache[i];
	for (i = 0; i < rc_cfg.cache_entries && s == NULL; i++)
		if (crl_cache[i].crl == NULL)
			s = &crl_cache[i];
	if (s == NULL)
		s = slot_victim(now, NULL);
	if (s == NULL) {
		pthread_mutex_unlock(&rmu);
		return;
	}
	if (s->crl != NULL)
		slot_drop(s);
	X509_CRL_up_ref(crl);
	memcpy(s->key, key, SHA256_LEN);
	s->crl = crl;
	s->next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));
	s->last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	s->used = now;
	s->bytes = bytes;
	crl_cache_used += bytes;
	/* Over the memory budget: the others go, least recently used first. One
	 * CRL larger than the budget stays alone rather than be fetched per use. */
	while (crl_cache_used > rc_cfg.cache_bytes && (v = slot_victim(now, s)) != NULL)
		slot_drop(v);
	pthread_mutex_unlock(&rmu);
}

/* Claims the download of key: waits while another thread downloads it (or
 * while CRL_INFLIGHT downloads run). Returns the entry for inflight_end. */
static int
inflight_begin(const uint8_t key[SHA256_LEN])
{
	int i, mine;

	pthread_mutex_lock(&rmu);
	for (;;) {
		int same = 0;

		mine = -1;
		for (i = 0; i < CRL_INFLIGHT; i++) {
			if (inflight[i].busy && memcmp(inflight[i].key, key, SHA256_LEN) == 0)
				same = 1;
			else if (!inflight[i].busy && mine < 0)
				mine = i;
		}
		if (!same && mine >= 0)
			break;
		pthread_cond_wait(&fetch_cv, &rmu);
	}
	inflight[mine].busy = 1;
	memcpy(inflight[mine].key, key, SHA256_LEN);
	pthread_mutex_unlock(&rmu);
	return mine;
}

static void
inflight_end(int i)
{
	pthread_mutex_lock(&rmu);
	inflight[i].busy = 0;
	pthread_cond_broadcast(&fetch_cv);
	pthread_mutex_unlock(&rmu);
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

struct cached_file {
	char name[2 * SHA256_LEN + 5];
	time_t mtime;
};

static int
older_first(const void *a, const void *b)
{
	const struct cached_file *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

static int
cache_file_name(const char *n, size_t *len)
{
	size_t i;

	*len = strlen(n);
	if (*len != 2 * SHA256_LEN + 4 || strcmp(n + 2 * SHA256_LEN, ".crl") != 0)
		return 0;
	for (i = 0; i < 2 * SHA256_LEN; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return 0;
	return 1;
}

/* The disk cache keeps at most crl_cache_entries CRLs: the oldest written go
 * first. Files of other names are left alone, except our own .tmp files that a
 * crash left behind. */
static void
disk_prune(void)
{
	struct cached_file *list = NULL, *np;
	size_t n = 0, cap = 0, len, i;
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (rc_cfg.cache_dir == NULL || (d = opendir(rc_cfg.cache_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0 && strstr(e->d_name, ".crl.") != NULL) {
			if (st.st_mtime < now_s() - CRL_TMP_MAX_AGE_S)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (!cache_file_name(e->d_name, &len))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((np = realloc(list, cap * sizeof(*list))) == NULL)
				break;
			list = np;
		}
		memcpy(list[n].name, e->d_name, len + 1);
		list[n].mtime = st.st_mtime;
		n++;
	}
	if (n > rc_cfg.cache_entries) {
		qsort(list, n, sizeof(*list), older_first);
		for (i = 0; i < n - rc_cfg.cache_entries; i++)
			unlinkat(dirfd(d), list[i].name, 0);
	}
	closedir(d);
	free(list);
}

/* ---------------------------------------------------------------- CRL: getting one */

/* A CRL (DER, or PEM) from d, checked as a document against issuer
 * (x509_crl_check_issuer). NULL with *why set. */
static X509_CRL *
crl_load(const uint8_t *d, size_t n, X509 *issuer, int delta, enum x509_crl_verdict *why)
{
	const unsigned char *p = d;
	X509_CRL *crl = NULL;
	X509_REVOKED *rv = NULL;
	ASN1_INTEGER *probe;

	if (n > 11 && memcmp(d, "-----BEGIN ", 11) == 0) {
		BIO *b = BIO_new_mem_buf(d, (int)n);

		crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	} else if ((crl = d2i_X509_CRL(NULL, &p, (long)n)) != NULL && p != d + n) {
		X509_CRL_free(crl);	/* nothing may trail the DER */
		crl = NULL;
	}
	*why = X509_CRL_UNPARSABLE;
	if (crl == NULL || (*why = x509_crl_check_issuer(crl, issuer, delta)) != X509_CRL_OK) {
		ERR_clear_error();
		X509_CRL_free(crl);
		return NULL;
	}
	/* Sort the revoked list now (the first lookup sorts it) rather than during a sign-in. */
	if ((probe = ASN1_INTEGER_new()) != NULL) {
		X509_CRL_get0_by_serial(crl, &rv, probe);
		ASN1_INTEGER_free(probe);
	}
	ERR_clear_error();
	return crl;
}

static int
delta_resting(const uint8_t key[SHA256_LEN])
{
	time_t now = now_s();
	int i, r = 0;

	pthread_mutex_lock(&rmu);
	for (i = 0; i < CRL_INFLIGHT && !r; i++)
		r = delta_down[i].until > now && memcmp(delta_down[i].key, key, SHA256_LEN) == 0;
	pthread_mutex_unlock(&rmu);
	return r;
}

static void
delta_rest(const uint8_t key[SHA256_LEN])
{
	pthread_mutex_lock(&rmu);
	memcpy(delta_down[delta_down_next].key, key, SHA256_LEN);
	delta_down[delta_down_next].until = now_s() + DELTA_DOWN_S;
	delta_down_next = (delta_down_next + 1) % CRL_INFLIGHT;
	pthread_mutex_unlock(&rmu);
}

/* Decides whether a CRL is the one wanted here (scope, fit to a base), and
 * whether it may be cached (*keep): a CRL that covers only some of the reasons
 * may say "revoked" now but must not stand in for the address's full answer. */
typedef enum x509_crl_verdict (*crl_accept_fn)(X509_CRL *crl, void *arg, int *keep);

/* The current CRL at url issued by issuer (delta: a delta CRL) that accept
 * takes: from memory, else the disk cache, else downloaded before deadline
 * (mono_ns). Only a CRL accept took and let keep is cached, so a CRL of another
 * scope served once never sticks; a download older than the newest CRL seen
 * for this key (in memory or on disk) is refused. NULL with *why set. */
static X509_CRL *
crl_get(const char *url, X509 *issuer, int delta, crl_accept_fn accept, void *arg,
        uint64_t deadline, enum x509_crl_verdict *why)
{
	uint8_t ik[SHA256_LEN], key[SHA256_LEN], *d = NULL;
	char path[1100];
	X509_CRL *crl, *c;
	time_t mark = 0, last;
	uint64_t now;
	size_t n = 0;
	int fl, have_path, keep = 0;

	key_hash(issuer, ik);
	*why = X509_CRL_UNAVAILABLE;
	if (crl_key(delta, ik, url, key) != 0)
		return NULL;
	/* A cached complete CRL that does not cover this certificate is the
	 * address's answer (downloading again would give the same); a cached delta
	 * that does not fit the base may be older than it: look for a newer one. */
	if ((crl = mem_get(key, NULL)) != NULL) {
		if ((*why = accept(crl, arg, &keep)) == X509_CRL_OK)
			return crl;
		X509_CRL_free(crl);
		if (!delta)
			return NULL;
	}
	if (delta && delta_resting(key))
		return NULL;
	fl = inflight_begin(key);
	if ((crl = mem_get(key, &mark)) != NULL) {	/* another thread just loaded it */
		if ((*why = accept(crl, arg, &keep)) == X509_CRL_OK)
			goto out;
		X509_CRL_free(crl);
		crl = NULL;
		if (!delta)
			goto out;
	}
	have_path = disk_path(key, path, sizeof(path)) == 0;
	if (have_path && (d = file_read(path, rc_cfg.crl_max, &n)) != NULL) {
		c = crl_load(d, n, issuer, delta, why);
		free(d);
		d = NULL;
		if (c != NULL) {
			if ((last = asn1_time_t(X509_CRL_get0_lastUpdate(c))) > mark)
				mark = last;
			if (x509_crl_current(c, now_s()) == X509_CRL_OK &&
			    accept(c, arg, &keep) == X509_CRL_OK && keep) {
				mem_put(key, c, n);
				crl = c;
				*why = X509_CRL_OK;
				goto out;
			}
			X509_CRL_free(c);
		}
	}
	now = mono_ns();
	*why = X509_CRL_UNAVAILABLE;
	if (now >= deadline || (deadline - now) / 1000000 < 50)
		goto out;
	if (http_fetch(url, NULL, 0, NULL, (long)((deadline - now) / 1000000), rc_cfg.crl_max, &d,
	    &n) != 0) {
		if (delta && mono_ns() - now >= (uint64_t)DELTA_SLOW_MS * 1000000u)
			delta_rest(key);
		goto out;
	}
	if ((c = crl_load(d, n, issuer, delta, why)) == NULL)
		goto out;
	if ((*why = x509_crl_current(c, now_s())) == X509_CRL_OK &&
	    asn1_time_t(X509_CRL_get0_lastUpdate(c)) < mark)
		*why = X509_CRL_OLDER;
	if (*why == X509_CRL_OK)
		*why = accept(c, arg, &keep);
	if (*why != X509_CRL_OK) {
		X509_CRL_free(c);
		goto out;
	}
	if (keep && have_path) {
		file_write(path, d, n);
		disk_prune();
	}
	if (keep)
		mem_put(key, c, n);
	crl = c;
out:
	inflight_end(fl);
	free(d);
	return crl;
}

struct scope_arg {
	X509 *cert;
	const DIST_POINT *dp;
	unsigned want;       /* the reasons the distribution point is for */
	unsigned reasons;    /* the reasons the CRL covers */
};

static enum x509_crl_verdict
scope_accept(X509_CRL *crl, void *arg, int *keep)
{
	struct scope_arg *a = arg;
	enum x509_crl_verdict v = x509_crl_scope(crl, a->cert, a->dp, &a->reasons);

	*keep = v == X509_CRL_OK && (a->reasons & a->want) == a->want;
	return v;
}

static enum x509_crl_verdict
delta_accept(X509_CRL *crl, void *base, int *keep)
{
	*keep = 1;
	return x509_crl_delta_fits(base, crl);
}

/* The http(s) URL of a GeneralName, or NULL. */
static const char *
gn_url(const GENERAL_NAME *gn)
{
	const char *u;

	if (gn->type != GEN_URI)
		return NULL;
	u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
	if ((size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier) != strlen(u) || !url_ok(u))
		return NULL;
	return u;
}

/* The card as the audit and the log name it: "<aki hex>:<serial hex>". */
static void
card_of(X509 *cert, char *out, size_t outsz)
{
	struct x509_ident id;

	snprintf(out, outsz, "%s", x509_ident_of(cert, &id) == 0 ? id.cred_id : "-");
}

/* Appends "what" to why (bounded; "; " between parts). */
static void
why_add(char *why, size_t whysz, const char *url, const char *what)
{
	size_t l;

	if (why == NULL || whysz == 0)
		return;
	l = strnlen(why, whysz);
	if (l + 1 >= whysz)
		return;
	if (url != NULL)
		snprintf(why + l, whysz - l, "%sthe CRL at %s %s", l ? "; " : "", url, what);
	else
		snprintf(why + l, whysz - l, "%s%s", l ? "; " : "", what);
}

/* The delta CRL for base: from base's freshestCRL, else the certificate's. A
 * delta that is missing or does not fit leaves base alone to decide (it is
 * current: the CA vouches for it until its nextUpdate). */
static X509_CRL *
delta_get(X509_CRL *base, X509 *cert, X509 *issuer, uint64_t deadline, int *urls)
{
	STACK_OF(DIST_POINT) *fresh = X509_CRL_get_ext_d2i(base, NID_freshest_crl, NULL, NULL);
	X509_CRL *delta = NULL;
	enum x509_crl_verdict v;
	char card[X509_CRED_ID_MAX + 1];
	int i, j;

	if (fresh == NULL)
		fresh = X509_get_ext_d2i(cert, NID_freshest_crl, NULL, NULL);
	for (i = 0; fresh != NULL && delta == NULL && i < sk_DIST_POINT_num(fresh); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(fresh, i);

		if (dp->CRLissuer != NULL || dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; delta == NULL && j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			const char *u = gn_url(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j));

			if (u == NULL || *urls >= CRL_MAX_URLS)
				continue;
			(*urls)++;
			if ((delta = crl_get(u, issuer, 1, delta_accept, base, deadline, &v)) == NULL) {
				card_of(cert, card, sizeof(card));
				log_msg(LOG_WARN, "[x509] delta CRL not used (the base CRL decides alone)",
				    "url", u, "reason", x509_crl_verdict_str(v), "card", card, NULL);
			}
		}
	}
	sk_DIST_POINT_pop_free(fresh, DIST_POINT_free);
	return delta;
}

/* 1: listed as revoked; 2: listed as removeFromCRL (a hold released); 0: not listed. */
static int
crl_lists(X509_CRL *crl, X509 *cert)
{
	X509_REVOKED *rv = NULL;
	int r = X509_CRL_get0_by_serial(crl, &rv, (ASN1_INTEGER *)X509_get0_serialNumber(cert));

	ERR_clear_error();
	return r == 1 || r == 2 ? r : 0;
}

/* RFC 5280 §6.3.3 for the CDP of cert: every distribution point in turn (those
 * with a cRLIssuer would need indirect CRLs: skipped), each of its http(s)
 * URLs until a CRL that covers cert *for that distribution point* is found;
 * revoked as soon as one lists it (or its delta does); good only when the CRLs
 * used cover every reason. */
static enum x509_rev
crl_check(X509 *cert, X509 *issuer, char *why, size_t whysz)
{
	STACK_OF(DIST_POINT) *dps;
	enum x509_rev res = X509_REV_UNKNOWN;
	enum x509_crl_verdict v;
	uint64_t deadline = mono_ns() + (uint64_t)rc_cfg.crl_timeout_ms * 1000000u;
	unsigned covered = 0;
	char card[X509_CRED_ID_MAX + 1];
	int i, j, crit, urls = 0;

	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, &crit, NULL);
	if (dps == NULL) {
		why_add(why, whysz, NULL, crit == -1 ? "the certificate names no CRL distribution point" :
		    "the certificate's CRL distribution points do not decode");
		return X509_REV_UNKNOWN;
	}
	card_of(cert, card, sizeof(card));
	for (i = 0; i < sk_DIST_POINT_num(dps) && covered != X509_REASONS_ALL; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		unsigned want = dp->reasons != NULL ? reason_bits(dp->reasons) : X509_REASONS_ALL;

		if (dp->CRLissuer != NULL || dp->distpoint == NULL || dp->distpoint->type != 0) {
			why_add(why, whysz, NULL, "a CRL distribution point with a cRLIssuer or "
			    "without a URL (not supported)");
			continue;
		}
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) &&
		    (want & ~covered) != 0; j++) {
			const char *u = gn_url(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j));
			struct scope_arg sa = { .cert = cert, .dp = dp, .want = want };
			X509_CRL *crl, *delta;
			int r;

			if (u == NULL || urls >= CRL_MAX_URLS)
				continue;
			urls++;
			if ((crl = crl_get(u, issuer, 0, scope_accept, &sa, deadline, &v)) == NULL) {
				if (v == X509_CRL_UNAVAILABLE)
					log_msg(LOG_WARN, "[x509] CRL download failed", "url", u, "card", card, NULL);
				else
					log_msg(LOG_WARN, "[x509] CRL refused", "url", u, "reason",
					    x509_crl_verdict_str(v), "card", card, NULL);
				why_add(why, whysz, u, x509_crl_verdict_str(v));
				continue;
			}
			delta = delta_get(crl, cert, issuer, deadline, &urls);
			r = delta != NULL ? crl_lists(delta, cert) : 0;
			if (r == 0)
				r = crl_lists(crl, cert);
			X509_CRL_free(delta);
			X509_CRL_free(crl);
			if (r == 1) {
				res = X509_REV_REVOKED;
				goto out;
			}
			covered |= want & sa.reasons;
		}
	}
	if (covered == X509_REASONS_ALL)
		res = X509_REV_GOOD;
	else if (covered != 0)
		why_add(why, whysz, NULL, "the CRLs found cover only some revocation reasons (onlySomeReasons)");
out:
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return res;
}

enum x509_rev
x509_revocation_check(X509 *cert, X509 *issuer, STACK_OF(X509) *chain, char *why, size_t whysz)
{
	enum x509_rev r = X509_REV_UNKNOWN;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (!rev_up || cert == NULL || issuer == NULL)
		return X509_REV_UNKNOWN;
	if (rc_cfg.ocsp)
		r = ocsp_check(cert, issuer, chain);
	if (r == X509_REV_UNKNOWN && rc_cfg.crl)
		r = crl_check(cert, issuer, why, whysz);
	if (r == X509_REV_UNKNOWN && why != NULL && whysz > 0 && why[0] == '\0')
		snprintf(why, whysz, "%s", rc_cfg.ocsp ? (rc_cfg.crl ? "OCSP and CRL gave no answer" :
		    "OCSP gave no answer and CRL checking is off") : rc_cfg.crl ? "CRL gave no answer" :
		    "OCSP and CRL checking are off");
	if (r != X509_REV_UNKNOWN && why != NULL && whysz > 0)
		why[0] = '\0';
	return r;
}

/* modules/fido_mds.c — loads and checks a FIDO MDS3 BLOB (fido_mds.h): the
 * JWS header's certificate chain against the configured root (and CRLs),
 * the signature, nextUpdate, and an index of the entries by AAGUID and by
 * U2F key identifier. FIDO Metadata Service 3.0 §3.1.7 ("Metadata BLOB object
 * processing rules"); nothing is fetched: the operator downloads the BLOB
 * (and the CRLs) and restarts authd.
 *
 * The payload is signed by the FIDO Alliance, but it is still parsed as input
 * that may be malformed: bounded sizes and counts, and an entry that cannot
 * be read is kept as "compromised" (its model is then never trusted) rather
 * than dropped, so a damaged status report cannot make a revoked model look
 * clean. */
#include "fido_mds.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509_vfy.h>

#include "../lib/b64.h"
#include "../lib/util.h"

#define HEADER_MAX 65536
#define X5C_MAX 5
#define CERT_MAX 16384

struct keyid_ix {
	uint8_t keyid[20];
	size_t entry;
};

struct aaguid_ix {
	uint8_t aaguid[16];
	size_t entry;
};

struct fido_mds {
	struct fido_mds_entry *e;
	size_t n;
	struct aaguid_ix *by_aaguid; /* sorted by AAGUID */
	size_t n_aaguid;
	struct keyid_ix *by_keyid; /* sorted by keyid */
	size_t n_keyid;
	long long serial;          /* "no" */
	time_t next_update;        /* UTC midnight of nextUpdate */
};

static int
fail(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---------------------------------------------------------------- small parts */

time_t
fido_mds_date(const char *s)
{
	struct tm tm;
	int y, mo, d;
	char tail;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 || y < 1970 || y > 9999 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	return timegm(&tm);
}

/* "b1e2...-..." (36, with dashes at 8, 13, 18, 23) or 32 hex digits. */
static int
aaguid_parse(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t i, k = 0, n = s != NULL ? strlen(s) : 0;

	if (n != 32 && n != 36)
		return -1;
	for (i = 0; i < n; i++) {
		if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (k == 32 || !isxdigit((unsigned char)s[i]))
			return -1;
		hex[k++] = s[i];
	}
	hex[k] = '\0';
	return k == 32 && hex_decode(out, 16, hex) == 0 ? 0 : -1;
}

static X509 *
der_cert(const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	X509 *x;

	if (n == 0 || n > CERT_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)n);
	if (x != NULL && p != der + n) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A certificate as standard base64 of DER (JWS x5c, MDS roots). */
static X509 *
b64_cert(const char *s)
{
	uint8_t *der;
	size_t n, len = 0;
	X509 *x;

	if (s == NULL || (n = strlen(s)) == 0 || n > CERT_MAX * 4 / 3 + 4 ||
	    (der = malloc(n)) == NULL)
		return NULL;
	if (b64std_decode(der, &len, s, n) != 0) {
		free(der);
		return NULL;
	}
	x = der_cert(der, len);
	free(der);
	return x;
}

/* ---------------------------------------------------------------- the payload */

static const char *const bad_status[] = {
	"REVOKED", "USER_VERIFICATION_BYPASS", "ATTESTATION_KEY_COMPROMISE",
	"USER_KEY_REMOTE_COMPROMISE", "USER_KEY_PHYSICAL_COMPROMISE", NULL
};

static int
status_bad(const char *s)
{
	size_t i;

	for (i = 0; bad_status[i] != NULL; i++)
		if (strcmp(s, bad_status[i]) == 0)
			return 1;
	return 0;
}

/* The status in force: of the reports already effective, the one with the
 * latest effectiveDate (the later one in the list on a tie; a report without
 * a date counts as effective at the start). See fido_mds_entry for what
 * makes a model compromised. -1 when the reports cannot be read. */
static int
status_of(const json_t *reports, time_t now, struct fido_mds_entry *e)
{
	time_t best = -2;
	size_t i;
	json_t *r;

	if (!json_is_array(reports) || json_array_size(reports) > 1000)
		return -1;
	json_array_foreach(reports, i, r) {
		const char *st = json_string_value(json_object_get(r, "status"));
		const char *ed = json_string_value(json_object_get(r, "effectiveDate"));
		time_t t = ed != NULL ? fido_mds_date(ed) : -1;

		if (st == NULL || (ed != NULL && t < 0))
			return -1;
		if (strcmp(st, "REVOKED") == 0 || strcmp(st, "ATTESTATION_KEY_COMPROMISE") == 0)
			e->compromised = 1;
		if (t > now)
			continue;	/* announced for later */
		if (t >= best) {
			best = t;
			snprintf(e->status, sizeof(e->status), "%s", st);
		}
	}
	if (e->status[0] != '\0' && status_bad(e->status))
		e->compromised = 1;
	return 0;
}

static int
entry_read(const json_t *j, time_t now, struct fido_mds_entry *e, json_t **keyids)
{
	const json_t *ms = json_object_get(j, "metadataStatement"), *roots, *r;
	const char *s;
	size_t i;

	memset(e, 0, sizeof(*e));
	*keyids = NULL;
	if ((s = json_string_value(json_object_get(j, "aaguid"))) != NULL) {
		if (aaguid_parse(s, e->aaguid) != 0)
			return -1;
		e->has_aaguid = 1;
	}
	*keyids = json_object_get(j, "attestationCertificateKeyIdentifiers");
	if (*keyids != NULL && !json_is_array(*keyids))
		return -1;
	if (!e->has_aaguid && json_array_size(*keyids) == 0)
		return 1;	/* a UAF authenticator (aaid): nothing for WebAuthn */
	if ((e->roots = sk_X509_new_null()) == NULL)
		return -1;
	if (status_of(json_object_get(j, "statusReports"), now, e) != 0) {
		/* Fail closed: a model whose status cannot be read is never trusted. */
		e->compromised = 1;
		snprintf(e->status, sizeof(e->status), "UNREADABLE");
	}
	if ((s = json_string_value(json_object_get(ms, "description"))) != NULL) {
		snprintf(e->description, sizeof(e->description), "%s", s);
		for (i = 0; e->description[i]; i++)
			if ((unsigned char)e->description[i] < 0x20)
				e->description[i] = ' ';
	}
	roots = json_object_get(ms, "attestationRootCertificates");
	json_array_foreach(roots, i, r) {
		X509 *x;

		if (i >= FIDO_MDS_MAX_ROOTS)
			break;
		if ((x = b64_cert(json_string_value(r))) == NULL)
			continue;	/* a root we cannot read vouches for nothing */
		if (!sk_X509_push(e->roots, x)) {
			X509_free(x);
			return -1;
		}
	}
	return 0;
}

static void
entry_free(struct fido_mds_entry *e)
{
	sk_X509_pop_free(e->roots, X509_free);
	e->roots = NULL;
}

void
fido_mds_free(struct fido_mds *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		entry_free(&m->e[i]);
	free(m->e);
	free(m->by_aaguid);
	free(m->by_keyid);
	free(m);
}

static int
cmp_aaguid(const void *a, const void *b)
{
	return memcmp(((const struct aaguid_ix *)a)->aaguid, ((const struct aaguid_ix *)b)->aaguid, 16);
}

static int
cmp_keyid(const void *a, const void *b)
{
	return memcmp(((const struct keyid_ix *)a)->keyid, ((const struct keyid_ix *)b)->keyid, 20);
}

/* Sorted indexes. A model listed twice is compromised in every copy when it
 * is in one (the lookups may find either copy). */
static int
index_build(struct fido_mds *m, json_t *all_keyids)
{
	size_t i, k;

	if ((m->by_aaguid = calloc(m->n + 1, sizeof(*m->by_aaguid))) == NULL)
		return -1;
	for (i = 0; i < m->n; i++)
		if (m->e[i].has_aaguid) {
			memcpy(m->by_aaguid[m->n_aaguid].aaguid, m->e[i].aaguid, 16);
			m->by_aaguid[m->n_aaguid++].entry = i;
		}
	qsort(m->by_aaguid, m->n_aaguid, sizeof(*m->by_aaguid), cmp_aaguid);
	for (i = 1; i < m->n_aaguid; i++) {
		struct fido_mds_entry *a = &m->e[m->by_aaguid[i - 1].entry];
		struct fido_mds_entry *b = &m->e[m->by_aaguid[i].entry];

		if (memcmp(a->aaguid, b->aaguid, 16) == 0 && (a->compromised || b->compromised)) {
			if (!a->compromised)
				memcpy(a->status, b->status, sizeof(a->status));
			else if (!b->compromised)
				memcpy(b->status, a->status, sizeof(b->status));
			a->compromised = b->compromised = 1;
		}
	}
	if ((m->by_keyid = calloc(json_array_size(all_keyids) + 1, sizeof(*m->by_keyid))) == NULL)
		return -1;
	for (k = 0; k < json_array_size(all_keyids); k++) {
		json_t *pair = json_array_get(all_keyids, k);
		const char *hex = json_string_value(json_array_get(pair, 0));

		if (hex == NULL || strlen(hex) != 40 ||
		    hex_decode(m->by_keyid[m->n_keyid].keyid, 20, hex) != 0)
			continue;
		m->by_keyid[m->n_keyid++].entry = (size_t)json_integer_value(json_array_get(pair, 1));
	}
	qsort(m->by_keyid, m->n_keyid, sizeof(*m->by_keyid), cmp_keyid);
	for (k = 1; k < m->n_keyid; k++) {
		struct fido_mds_entry *a = &m->e[m->by_keyid[k - 1].entry];
		struct fido_mds_entry *b = &m->e[m->by_keyid[k].entry];

		if (memcmp(m->by_keyid[k - 1].keyid, m->by_keyid[k].keyid, 20) == 0 &&
		    (a->compromised || b->compromised))
			a->compromised = b->compromised = 1;
	}
	return 0;
}

int
fido_mds_from_payload(const char *json, size_t n, time_t now, struct fido_mds **out, char *err,
                      size_t errsz)
{
	json_t *j, *entries, *ent, *all_keyids = NULL;
	json_error_t jerr;
	struct fido_mds *m = NULL;
	const char *nu;
	size_t i;
	int rc = -1;

	*out = NULL;
	if ((j = json_loadb(json, n, 0, &jerr)) == NULL)
		return fail(err, errsz, "its payload is not JSON (%s)", jerr.text);
	entries = json_object_get(j, "entries");
	nu = json_string_value(json_object_get(j, "nextUpdate"));
	if (!json_is_object(j) || !json_is_integer(json_object_get(j, "no")) ||
	    json_integer_value(json_object_get(j, "no")) < 0 || nu == NULL || !json_is_array(entries)) {
		fail(err, errsz, "its payload lacks no, nextUpdate or entries");
		goto out;
	}
	if (json_array_size(entries) > FIDO_MDS_MAX_ENTRIES) {
		fail(err, errsz, "it has more than %u entries", FIDO_MDS_MAX_ENTRIES);
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->e = calloc(json_array_size(entries) + 1, sizeof(*m->e))) == NULL ||
	    (all_keyids = json_array()) == NULL) {
		fail(err, errsz, "out of memory");
		goto out;
	}
	m->serial = json_integer_value(json_object_get(j, "no"));
	if ((m->next_update = fido_mds_date(nu)) < 0) {
		fail(err, errsz, "its nextUpdate \"%.20s\" is not a date (YYYY-MM-DD)", nu);
		goto out;
	}
	if (!fido_mds_current(m, now)) {
		fail(err, errsz, "it is out of date: its nextUpdate was %s; download a fresh one "
		    "from https://mds3.fidoalliance.org/", nu);
		goto out;
	}
	json_array_foreach(entries, i, ent) {
		struct fido_mds_entry *e = &m->e[m->n];
		json_t *kids = NULL, *kid;
		size_t k;
		int r = entry_read(ent, now, e, &kids);

		if (r == 1) {
			entry_free(e);
			continue;
		}
		if (r < 0) {
			/* An entry that names a model but cannot be read marks the model
			 * as not to be trusted. */
			if (!e->has_aaguid && json_array_size(kids) == 0) {
				entry_free(e);
				continue;
			}
			e->compromised = 1;
			snprintf(e->status, sizeof(e->status), "UNREADABLE");
			if (e->roots == NULL && (e->roots = sk_X509_new_null()) == NULL) {
				fail(err, errsz, "out of memory");
				goto out;
			}
		}
		json_array_foreach(kids, k, kid)
			if (json_array_append_new(all_keyids, json_pack("[O, I]", kid,
			    (json_int_t)m->n)) != 0) {
				fail(err, errsz, "out of memory");
				goto out;
			}
		m->n++;
	}
	if (index_build(m, all_keyids) != 0) {
		fail(err, errsz, "out of memory");
		goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	json_decref(all_keyids);
	json_decref(j);
	fido_mds_free(m);
	return rc;
}

/* ---------------------------------------------------------------- the JWS */

static int
jws_sig_ok(X509 *leaf, const char *alg, const char *input, size_t n, const uint8_t *sig,
           size_t siglen)
{
	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int derlen = 0, ok = 0, pss = strcmp(alg, "PS256") == 0;

	if (pk == NULL || ctx == NULL)
		goto out;
	if (strcmp(alg, "ES256") == 0) {
		/* JWS carries r || s; OpenSSL wants DER. */
		ECDSA_SIG *es;
		BIGNUM *r, *s;

		if (!EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_get_bits(pk) != 256 || siglen != 64 ||
		    (es = ECDSA_SIG_new()) == NULL)
			goto out;
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			goto out;
		}
		derlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (derlen <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	} else if (strcmp(alg, "RS256") == 0 || pss) {
		if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < 2048)
			goto out;
	} else {
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pk) != 1 ||
	    (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)))
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, n) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static uint8_t *
b64url_part(const char *p, size_t n, size_t max, size_t *len)
{
	uint8_t *out;

	if (n == 0 || n > max / 3 * 4 + 4)
		return NULL;
	if ((out = b64url_decode_alloc(p, n, len)) == NULL)
		return NULL;
	return out;
}

int
fido_mds_parse(const char *blob, size_t n, STACK_OF(X509) *anchors, STACK_OF(X509_CRL) *crls,
               time_t now, struct fido_mds **out, char *err, size_t errsz)
{
	const char *d1, *d2, *alg;
	uint8_t *hdr = NULL, *sig = NULL, *payload = NULL;
	size_t hl = 0, sl = 0, pl = 0;
	json_t *h = NULL, *x5c, *v;
	STACK_OF(X509) *chain = NULL;
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	size_t i;
	int rc = -1;

	*out = NULL;
	while (n > 0 && isspace((unsigned char)blob[n - 1]))
		n--;
	if (n == 0 || n > FIDO_MDS_MAX_BYTES || memchr(blob, '\0', n) != NULL ||
	    (d1 = memchr(blob, '.', n)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - blob))) == NULL ||
	    memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - blob)) != NULL)
		return fail(err, errsz, "it is not a JWT (three base64url parts joined by dots)");
	if ((hdr = b64url_part(blob, (size_t)(d1 - blob), HEADER_MAX, &hl)) == NULL ||
	    (h = json_loadb((const char *)hdr, hl, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(h)) {
		fail(err, errsz, "its JWT header is not base64url JSON");
		goto out;
	}
	alg = json_string_value(json_object_get(h, "alg"));
	x5c = json_object_get(h, "x5c");
	if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0 &&
	    strcmp(alg, "PS256") != 0)) {
		fail(err, errsz, "its JWT alg is not RS256, ES256 or PS256");
		goto out;
	}
	if (json_object_get(h, "crit") != NULL) {
		fail(err, errsz, "its JWT header has critical parameters authd does not know");
		goto out;
	}
	if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > X5C_MAX) {
		fail(err, errsz, "its JWT header has no x5c certificate chain (x5u is not "
		    "supported: authd does not fetch)");
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		goto out;
	json_array_foreach(x5c, i, v) {
		X509 *x = b64_cert(json_string_value(v));

		if (x == NULL || !sk_X509_push(chain, x)) {
			X509_free(x);
			fail(err, errsz, "certificate %zu of its x5c header cannot be read", i + 1);
			goto out;
		}
	}
	/* The chain first: only a certificate that ends at the FIDO root may
	 * speak for the Alliance. */
	if ((st = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	for (i = 0; anchors != NULL && i < (size_t)sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(anchors, (int)i)) != 1)
			goto out;
	for (i = 0; crls != NULL && i < (size_t)sk_X509_CRL_num(crls); i++)
		if (X509_STORE_add_crl(st, sk_X509_CRL_value(crls, (int)i)) != 1)
			goto out;
	if (X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), chain) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	if (crls != NULL && sk_X509_CRL_num(crls) > 0)
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
		    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	if (X509_verify_cert(ctx) != 1) {
		fail(err, errsz, "its signing certificate does not chain to mds_root: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if ((sig = b64url_part(d2 + 1, n - (size_t)(d2 + 1 - blob), 1024, &sl)) == NULL ||
	    !jws_sig_ok(sk_X509_value(chain, 0), alg, blob, (size_t)(d2 - blob), sig, sl)) {
		fail(err, errsz, "its signature does not verify with its signing certificate "
		    "(a damaged or altered file)");
		goto out;
	}
	if ((payload = b64url_part(d1 + 1, (size_t)(d2 - d1 - 1), FIDO_MDS_MAX_BYTES, &pl)) == NULL) {
		fail(err, errsz, "its payload is not base64url");
		goto out;
	}
	rc = fido_mds_from_payload((const char *)payload, pl, now, out, err, errsz);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(chain, X509_free);
	json_decref(h);
	free(hdr);
	free(sig);
	free(payload);
	return rc;
}

/* ---------------------------------------------------------------- files */

static char *
file_read(const char *path, size_t max, size_t *len, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *buf;

	if (f == NULL) {
		fail(err, errsz, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0 ||
	    (size_t)sb.st_size > max) {
		fclose(f);
		fail(err, errsz, "%s is not a regular file of at most %zu bytes", path, max);
		return NULL;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL ||
	    fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		free(buf);
		fclose(f);
		fail(err, errsz, "cannot read %s", path);
		return NULL;
	}
	fclose(f);
	buf[sb.st_size] = '\0';
	*len = (size_t)sb.st_size;
	return buf;
}

int
fido_mds_load(const char *blob_path, const char *root_path, const char *crl_path, time_t now,
              struct fido_mds **out, char *err, size_t errsz)
{
	STACK_OF(X509) *anchors = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	char *blob = NULL, why[384];
	size_t n = 0;
	BIO *bio = NULL;
	X509 *x;
	X509_CRL *c;
	int rc = -1;

	*out = NULL;
	if ((anchors = sk_X509_new_null()) == NULL)
		return fail(err, errsz, "out of memory");
	if (root_path == NULL || (bio = BIO_new_file(root_path, "r")) == NULL) {
		fail(err, errsz, "[webauthn] mds_root: cannot read %s (the FIDO Alliance root "
		    "certificate, see docs/webauthn.md)", root_path != NULL ? root_path : "(unset)");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(anchors, x)) {
			X509_free(x);
			goto out;
		}
	ERR_clear_error();
	BIO_free(bio);
	bio = NULL;
	if (sk_X509_num(anchors) == 0) {
		fail(err, errsz, "[webauthn] mds_root: no PEM certificate in %s", root_path);
		goto out;
	}
	if (crl_path != NULL) {
		if ((crls = sk_X509_CRL_new_null()) == NULL || (bio = BIO_new_file(crl_path, "r")) == NULL) {
			fail(err, errsz, "[webauthn] mds_crls: cannot read %s", crl_path);
			goto out;
		}
		while ((c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
			if (!sk_X509_CRL_push(crls, c)) {
				X509_CRL_free(c);
				goto out;
			}
		ERR_clear_error();
		if (sk_X509_CRL_num(crls) == 0) {
			fail(err, errsz, "[webauthn] mds_crls: no PEM CRL in %s", crl_path);
			goto out;
		}
	}
	if ((blob = file_read(blob_path, FIDO_MDS_MAX_BYTES, &n, why, sizeof(why))) == NULL) {
		fail(err, errsz, "[webauthn] mds_blob: %s", why);
		goto out;
	}
	if (fido_mds_parse(blob, n, anchors, crls, now, out, why, sizeof(why)) != 0) {
		fail(err, errsz, "[webauthn] mds_blob %s refused: %s", blob_path, why);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	free(blob);
	sk_X509_pop_free(anchors, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

/* ---------------------------------------------------------------- lookups */

int
fido_mds_current(const struct fido_mds *m, time_t now)
{
	/* Through the last second of the nextUpdate day (UTC). */
	return m != NULL && now < m->next_update + 86400;
}

time_t
fido_mds_next_update(const struct fido_mds *m)
{
	return m != NULL ? m->next_update : 0;
}

long long
fido_mds_serial(const struct fido_mds *m)
{
	return m != NULL ? m->serial : 0;
}

size_t
fido_mds_count(const struct fido_mds *m)
{
	return m != NULL ? m->n : 0;
}

const struct fido_mds_entry *
fido_mds_find_aaguid(const struct fido_mds *m, const uint8_t aaguid[16])
{
	size_t lo = 0, hi;

	if (m == NULL)
		return NULL;
	hi = m->n_aaguid;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->by_aaguid[mid].aaguid, aaguid, 16);

		if (c == 0)
			return &m->e[m->by_aaguid[mid].entry];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct fido_mds_entry *
fido_mds_find_keyid(const struct fido_mds *m, const uint8_t keyid[20])
{
	size_t lo = 0, hi;

	if (m == NULL)
		return NULL;
	hi = m->n_keyid;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->by_keyid[mid].keyid, keyid, 20);

		if (c == 0)
			return &m->e[m->by_keyid[mid].entry];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* tests/unit/test_x509.c — the citizen certificate method (modules/x509*.c):
 * subjectDirectoryAttributes parsing, CMS over the nonce (attached, detached,
 * another nonce, weak digest, garbage), chain to G2 and G3 (same issuer DN),
 * forged issuer, expiry, policy, revocation from a cached CRL file (fail closed
 * and fail open), identity, bindings, and finish(): single use, expiry,
 * unbound cards, TLS mode; the CRL checks of RFC 5280 §6.3.3 on CRLs built
 * here with OpenSSL (scope: partitions, kinds, indirect, reasons, deltas;
 * issuer, key identifier, critical extensions, dates; a delta's fit to its
 * base), partitioned CRLs of the test PKI through the caches (a swapped
 * partition, a delta, two CDP URLs), the cache limits, and the audit fields of
 * an unknown status. The test PKI comes from certs/make-test-pki.sh
 * (cached in $X509_TEST_PKI or /tmp/authd-test-pki3-UID: "pki3", the layout
 * with partitioned CRLs, so that a checkout with the older script keeps its
 * own folder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <time.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../../authd/authd.h"
#include "../../authd/config.h"
#include "../../authd/policy.h"
#include "../../authd/signin.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../lib/b64.h"
#include "../../lib/buf.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/x509.h"
#include "fixture.h"

static char pki[512];

struct fx {
	char dir[FX_DIR_MAX];
	char cache[128];
	struct conf conf;
	struct store *s;
	struct authd a;
	char uid[USER_ID_LEN + 1];
};

static const char *
pki_path(const char *name)
{
	static char p[4][640];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", pki, name);
	return p[i];
}

static X509 *
load_cert(const char *name)
{
	FILE *f = fopen(pki_path(name), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const char *name)
{
	FILE *f = fopen(pki_path(name), "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static char *
sign_b64_flags(const char *who, const char *data, int detached, const EVP_MD *md, unsigned extra);

/* base64 of a CMS SignedData over data by the named certificate (malloc'd). */
static char *
sign_b64(const char *who, const char *data, int detached, const EVP_MD *md)
{
	return sign_b64_flags(who, data, detached, md, 0);
}

/* The same with more CMS flags (CMS_NOCERTS: the signer certificate left
 * out, as real cards' PKCS#7 from HiCOS). */
static char *
sign_b64_flags(const char *who, const char *data, int detached, const EVP_MD *md, unsigned extra)
{
	char crt[64], key[64];
	X509 *x;
	EVP_PKEY *k;
	BIO *in;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	char *out;
	int n;
	unsigned flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0) | extra;

	snprintf(crt, sizeof(crt), "%s.crt", who);
	snprintf(key, sizeof(key), "%s.key", who);
	x = load_cert(crt);
	k = load_key(key);
	in = BIO_new_mem_buf(data, (int)strlen(data));
	cms = CMS_sign(NULL, NULL, NULL, in, flags);
	assert_non_null(cms);
	assert_non_null(CMS_add1_signer(cms, x, k, md, flags));
	BIO_free(in);
	in = BIO_new_mem_buf(data, (int)strlen(data));
	assert_int_equal(CMS_final(cms, in, NULL, flags), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	out = malloc((size_t)n * 2 + 8);
	b64std_encode(out, der, (size_t)n);
	OPENSSL_free(der);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

static void
conf_for(struct fx *f)
{
	memset(&f->conf, 0, sizeof(f->conf));
	f->conf.x509_enabled = 1;
	f->conf.x509_trust_anchors = strdup(pki_path("anchors.pem"));
	f->conf.x509_intermediates = strdup(pki_path("intermediates.pem"));
	f->conf.x509_policy_oids = (char *)"";
	f->conf.x509_ocsp = 0;	/* no responder in unit tests */
	f->conf.x509_crl = 1;
	f->conf.x509_crl_cache = f->cache;
	f->conf.x509_fail_open = 0;
	f->conf.x509_unbound = (char *)"refuse";
	f->conf.x509_local_sign_origin = (char *)"http://127.0.0.1:61161";
	f->conf.x509_ocsp_timeout_ms = 300;
	f->conf.x509_crl_max_bytes = 1 << 20;
}

static int
group_setup(void **state)
{
	const char *env = getenv("X509_TEST_PKI");
	char cmd[1200];

	(void)state;
	if (env != NULL && env[0] != '\0')
		snprintf(pki, sizeof(pki), "%s", env);
	else
		snprintf(pki, sizeof(pki), "/tmp/authd-test-pki3-%ld", (long)getuid());
	/* Ports nothing listens on: revocation comes from the cached CRL file. */
	snprintf(cmd, sizeof(cmd), "sh certs/make-test-pki.sh '%s' 1 2 >/dev/null", pki);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	x509_teardown();
	rc = fx_store_remove(f->dir, f->s);
	free(f->conf.x509_intermediates);
	free(f->conf.x509_trust_anchors);
	free(f);
	return rc;
}

/* The method configured on the test PKI with its CRL cache in a fresh folder,
 * and a store with one user. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	if (fx_tmpdir(f->dir, "x509") != 0)
		goto fail;
	snprintf(f->cache, sizeof(f->cache), "%s/crl", f->dir);
	conf_for(f);
	if (x509_setup(&f->conf, NULL, 0) != 0 || fx_store_open(&f->s, f->dir, 16, 0) != STORE_OK ||
	    fx_user_create(f->s, "wang.xiaoming", "王小明", NULL, f->uid) != STORE_OK)
		goto fail;
	f->a.conf = &f->conf;
	f->a.store = f->s;
	return 0;
fail:
	teardown(state);
	return -1;
}

/* Re-reads the config after a change to it. */
static void
reload(struct fx *f)
{
	x509_teardown();
	assert_int_equal(x509_setup(&f->conf, NULL, 0), 0);
}

/* The MOICA-like CA (g2 or g3) that issued cert. */
static X509 *
issuer_of(X509 *cert)
{
	const char *cas[] = { "g2.crt", "g3.crt" };
	size_t i;

	for (i = 0; i < sizeof(cas) / sizeof(cas[0]); i++) {
		X509 *ca = load_cert(cas[i]);

		if (X509_check_issued(ca, cert) == X509_V_OK)
			return ca;
		X509_free(ca);
	}
	fail_msg("no test CA issued this certificate");
	return NULL;
}

/* Puts crlname where the revocation code caches the CRL of url issued by
 * cert's CA (delta: as a delta CRL). */
static void
cache_crl_at(const char *cert, const char *url, int delta, const char *crlname)
{
	X509 *x = load_cert(cert), *ca = issuer_of(x);
	char path[1200], cmd[2600];

	assert_int_equal(x509_crl_cache_path(url, ca, delta, path, sizeof(path)), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", pki_path(crlname), path);
	assert_int_equal(system(cmd), 0);
	X509_free(ca);
	X509_free(x);
}

/* The URL number i of cert's first CDP entry (static storage). */
static const char *
cdp_url(const char *cert, int i)
{
	static char url[512];
	X509 *x = load_cert(cert);
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	GENERAL_NAME *gn;

	assert_non_null(dps);
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, i);
	assert_non_null(gn);
	snprintf(url, sizeof(url), "%s", (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_free(x);
	return url;
}

/* Puts the issuer's CRL where the revocation code caches the CDP's copy. */
static void
cache_crl(struct fx *f, const char *cert, const char *crlname)
{
	(void)f;
	cache_crl_at(cert, cdp_url(cert, 0), 0, crlname);
}

/* ---- subjectDirectoryAttributes ---- */

static void
test_sda_parse(void **state)
{
	/* SEQ { SEQ { OID 2.16.886.1.100.2.51, SET { PrintableString "A123456789" } } } */
	static const uint8_t full[] = { 0x30, 0x17, 0x30, 0x15, 0x06, 0x07, 0x60, 0x86, 0x76, 0x01,
		0x64, 0x02, 0x33, 0x31, 0x0a, 0x13, 0x08, 'A', '1', '2', '3', '6', '7', '8', '9' };
	static const uint8_t four[] = { 0x30, 0x13, 0x30, 0x11, 0x06, 0x07, 0x60, 0x86, 0x76, 0x01,
		0x64, 0x02, 0x33, 0x31, 0x06, 0x13, 0x04, '4', '3', '2', '1' };
	/* another attribute only (2.5.4.3 = "x") */
	static const uint8_t other[] = { 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x31, 0x03, 0x13, 0x01, 'x' };
	static const uint8_t letters[] = { 0x30, 0x13, 0x30, 0x11, 0x06, 0x07, 0x60, 0x86, 0x76,
		0x01, 0x64, 0x02, 0x33, 0x31, 0x06, 0x13, 0x04, '4', '3', '2', 'X' };
	static const uint8_t bmp[] = { 0x30, 0x13, 0x30, 0x11, 0x06, 0x07, 0x60, 0x86, 0x76, 0x01,
		0x64, 0x02, 0x33, 0x31, 0x06, 0x1e, 0x04, '4', '3', '2', '1' };
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t empty_set[] = { 0x30, 0x0d, 0x30, 0x0b, 0x06, 0x07, 0x60, 0x86, 0x76,
		0x01, 0x64, 0x02, 0x33, 0x31, 0x00 };
	char l4[5];

	(void)state;
	assert_int_equal(x509_sda_last4(full, sizeof(full), l4), 0);
	assert_string_equal(l4, "6789");
	assert_int_equal(x509_sda_last4(four, sizeof(four), l4), 0);
	assert_string_equal(l4, "4321");
	assert_int_equal(x509_sda_last4(other, sizeof(other), l4), 1);
	assert_string_equal(l4, "");
	assert_int_equal(x509_sda_last4(letters, sizeof(letters), l4), -1);
	assert_int_equal(x509_sda_last4(bmp, sizeof(bmp), l4), -1);
	assert_int_equal(x509_sda_last4(indefinite, sizeof(indefinite), l4), -1);
	assert_int_equal(x509_sda_last4(empty_set, sizeof(empty_set), l4), -1);
	/* every truncation of a good value is refused */
	for (size_t n = 0; n < sizeof(full); n++)
		assert_int_equal(x509_sda_last4(full, n, l4), -1);
	/* trailing bytes after the outer SEQUENCE */
	{
		uint8_t t[sizeof(full) + 1];

		memcpy(t, full, sizeof(full));
		t[sizeof(full)] = 0;
		assert_int_equal(x509_sda_last4(t, sizeof(t), l4), -1);
	}
}

static void
test_identity(void **state)
{
	struct x509_ident id;
	X509 *x = load_cert("good-g2.crt");

	(void)state;
	assert_int_equal(x509_ident_of(x, &id), 0);
	assert_string_equal(id.cn, "王小明");
	assert_string_equal(id.last4, "6789");
	assert_int_equal(strlen(id.aki), 40);
	assert_non_null(strchr(id.cred_id, ':'));
	assert_true(id.not_after > 0);
	/* the full ID is nowhere in what we keep */
	assert_null(memmem(&id, sizeof(id), "A123456789", 10));
	X509_free(x);
}

/* ---- CMS over the nonce ---- */

static void
test_signature_attached_detached(void **state)
{
	const char *nonce = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
	char *att = sign_b64("good-g2", nonce, 0, EVP_sha256());
	char *det = sign_b64("good-g3", nonce, 1, EVP_sha256());
	X509 *signer = NULL;

	(void)state;
	assert_int_equal(x509_verify_signature(att, nonce, &signer), X509E_OK);
	assert_non_null(signer);
	X509_free(signer);
	assert_int_equal(x509_verify_signature(det, nonce, &signer), X509E_OK);
	X509_free(signer);
	/* signed over another nonce: refused, both forms */
	assert_int_equal(x509_verify_signature(att, "another-nonce", &signer), X509E_SIGNATURE);
	assert_null(signer);
	assert_int_equal(x509_verify_signature(det, "another-nonce", &signer), X509E_SIGNATURE);
	free(att);
	free(det);
}

static void
test_signature_refuses(void **state)
{
	const char *nonce = "nonce-123";
	char *sha1 = sign_b64("good-g2", nonce, 0, EVP_sha1());
	char *ok = sign_b64("good-g2", nonce, 0, EVP_sha256());
	char *trail;
	X509 *signer = NULL;
	size_t n;

	(void)state;
	assert_int_equal(x509_verify_signature(sha1, nonce, &signer), X509E_SIGNATURE);
	assert_int_equal(x509_verify_signature("not base64 at all!", nonce, &signer), X509E_MALFORMED);
	assert_int_equal(x509_verify_signature("", nonce, &signer), X509E_MALFORMED);
	assert_int_equal(x509_verify_signature("aGVsbG8gd29ybGQ=", nonce, &signer), X509E_MALFORMED);
	/* DER followed by anything is not a signature we accept */
	n = strlen(ok);
	trail = malloc(n + 5);
	memcpy(trail, ok, n);
	/* re-encode with two extra zero bytes appended */
	{
		uint8_t *d = malloc(n), *e = malloc(n + 8);
		size_t dl = 0;

		assert_int_equal(b64std_decode(d, &dl, ok, n), 0);
		memcpy(e, d, dl);
		e[dl] = 0;
		e[dl + 1] = 0;
		free(trail);
		trail = malloc((dl + 2) * 2 + 8);
		b64std_encode(trail, e, dl + 2);
		free(d);
		free(e);
	}
	assert_int_equal(x509_verify_signature(trail, nonce, &signer), X509E_MALFORMED);
	/* line breaks (as some signers send them) are fine */
	{
		char *wrapped = malloc(n + n / 64 + 2);
		size_t i, k = 0;

		for (i = 0; i < n; i++) {
			wrapped[k++] = ok[i];
			if (i % 64 == 63)
				wrapped[k++] = '\n';
		}
		wrapped[k] = '\0';
		assert_int_equal(x509_verify_signature(wrapped, nonce, &signer), X509E_OK);
		X509_free(signer);
		free(wrapped);
	}
	free(trail);
	free(sha1);
	free(ok);
}

/* A PKCS#7 without the signer certificate (what HiCOS returns for real
 * cards) verifies only with the certificate that came beside it (certb64),
 * and only with the right one. */
static void
test_signature_certb64(void **state)
{
	const char *nonce = "nonce-456";
	char *bare = sign_b64_flags("good-g2", nonce, 0, EVP_sha256(), CMS_NOCERTS);
	char *full = sign_b64("good-g2", nonce, 0, EVP_sha256());
	X509 *g2 = load_cert("good-g2.crt"), *g3 = load_cert("good-g3.crt"), *signer = NULL;
	unsigned char *der = NULL;
	char *c2, *c3;
	int n;

	(void)state;
	n = i2d_X509(g2, &der);
	assert_true(n > 0);
	c2 = malloc((size_t)n * 2 + 8);
	b64std_encode(c2, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509(g3, &der);
	assert_true(n > 0);
	c3 = malloc((size_t)n * 2 + 8);
	b64std_encode(c3, der, (size_t)n);
	OPENSSL_free(der);

	/* no certificate anywhere: refused */
	assert_int_equal(x509_verify_signature(bare, nonce, &signer), X509E_SIGNATURE);
	assert_null(signer);
	/* with certb64: the signer is that certificate */
	assert_int_equal(x509_verify_signature_cert(bare, c2, nonce, &signer), X509E_OK);
	assert_non_null(signer);
	assert_int_equal(X509_cmp(signer, g2), 0);
	X509_free(signer);
	signer = NULL;
	/* another card's certificate beside it: the SignerInfo names another */
	assert_int_equal(x509_verify_signature_cert(bare, c3, nonce, &signer), X509E_SIGNATURE);
	assert_null(signer);
	/* certb64 that is no certificate: malformed */
	assert_int_equal(
	    x509_verify_signature_cert(bare, "aGVsbG8=", nonce, &signer), X509E_MALFORMED);
	assert_int_equal(x509_verify_signature_cert(bare, "%%%", nonce, &signer), X509E_MALFORMED);
	/* a PKCS#7 carrying its certificate: a foreign certb64 does not replace it */
	assert_int_equal(x509_verify_signature_cert(full, c3, nonce, &signer), X509E_OK);
	assert_int_equal(X509_cmp(signer, g2), 0);
	X509_free(signer);
	/* an empty certb64 is none */
	signer = NULL;
	assert_int_equal(x509_verify_signature_cert(bare, "", nonce, &signer), X509E_SIGNATURE);
	free(bare);
	free(full);
	free(c2);
	free(c3);
	X509_free(g2);
	X509_free(g3);
}

/* ---- chains ---- */

static void
test_chain_g2_g3_and_refusals(void **state)
{
	struct fx *f = *state;
	X509 *g2 = load_cert("good-g2.crt"), *g3 = load_cert("good-g3.crt");
	X509 *other = load_cert("other.crt"), *expired = load_cert("expired.crt");
	X509 *ocsp = load_cert("ocsp-g2.crt"), *inter = load_cert("g2.crt");

	assert_int_equal(x509_validate(g2, 0, NULL), X509E_OK);
	assert_int_equal(x509_validate(g3, 0, NULL), X509E_OK);
	/* same issuer DN as MOICA, other key: told apart by the key identifier */
	assert_int_equal(x509_validate(other, 0, NULL), X509E_CHAIN);
	assert_int_equal(x509_validate(expired, 0, NULL), X509E_EXPIRED);
	/* the OCSP responder's certificate has no nonRepudiation but has
	 * digitalSignature; it is still no citizen card: its policy is absent */
	f->conf.x509_policy_oids = (char *)"2.16.886.101.0.3.3";
	reload(f);
	assert_int_equal(x509_validate(g2, 0, NULL), X509E_OK);
	assert_int_equal(x509_validate(g3, 0, NULL), X509E_OK);
	assert_int_equal(x509_validate(ocsp, 0, NULL), X509E_POLICY);
	f->conf.x509_policy_oids = (char *)"1.2.3.4";
	reload(f);
	assert_int_equal(x509_validate(g2, 0, NULL), X509E_POLICY);
	/* a CA certificate itself is not a card */
	f->conf.x509_policy_oids = (char *)"";
	reload(f);
	assert_int_not_equal(x509_validate(inter, 0, NULL), X509E_OK);
	/* a bad policy list stops set-up */
	f->conf.x509_policy_oids = (char *)"not-an-oid";
	x509_teardown();
	assert_int_equal(x509_setup(&f->conf, NULL, 0), -1);
	f->conf.x509_policy_oids = (char *)"";
	reload(f);
	X509_free(g2);
	X509_free(g3);
	X509_free(other);
	X509_free(expired);
	X509_free(ocsp);
	X509_free(inter);
}

/* local_sign_origin is compared with event.origin exactly: set-up takes only
 * what a browser would write as an origin. */
static void
test_local_sign_origin(void **state)
{
	struct fx *f = *state;
	const char *good[] = { "http://localhost:61161", "http://127.0.0.1:61161",
		"https://[::1]:61161" };
	const char *bad[] = { "http://localhost:61161/", "localhost:61161",
		"http://localhost:61161/popupForm", "http://LocalHost:61161",
		"ftp://localhost:61161", "http://", "", "http://a b" };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->conf.x509_local_sign_origin = (char *)good[i];
		x509_teardown();
		if (x509_setup(&f->conf, err, sizeof(err)) != 0)
			fail_msg("%s refused: %s", good[i], err);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->conf.x509_local_sign_origin = (char *)bad[i];
		x509_teardown();
		err[0] = '\0';
		if (x509_setup(&f->conf, err, sizeof(err)) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(err, "local_sign_origin"));
	}
	f->conf.x509_local_sign_origin = (char *)"http://127.0.0.1:61161";
	reload(f);
}

/* Out of the box (no policy_oids in the file) only MOICA's policy, GPKI class
 * 3 2.16.886.101.0.3.3, is accepted: a card of the test PKI carrying it
 * passes, one carrying another GPKI policy (class 1) is refused. */
static void
test_policy_default_moica(void **state)
{
	struct fx *f = *state;
	struct conf c;
	char path[FX_DIR_MAX + 32], text[2048], err[512] = "";
	X509 *g2 = load_cert("good-g2.crt"), *g3 = load_cert("good-g3.crt");
	X509 *other = load_cert("other-policy.crt");

	snprintf(path, sizeof(path), "%s/authd.conf", f->dir);
	snprintf(text, sizeof(text),
	    "[server]\nissuer = https://sso.city.example\n[x509]\nenabled = true\n"
	    "trust_anchors = %s\nintermediates = %s\nocsp = false\ncrl = false\n",
	    pki_path("anchors.pem"), pki_path("intermediates.pem"));
	assert_int_equal(fx_conf_load(&c, path, text, err, sizeof(err)), 0);
	assert_string_equal(c.x509_policy_oids, "2.16.886.101.0.3.3");
	x509_teardown();
	assert_int_equal(x509_setup(&c, err, sizeof(err)), 0);
	assert_int_equal(x509_validate(g2, 0, NULL), X509E_OK);
	assert_int_equal(x509_validate(g3, 0, NULL), X509E_OK);
	assert_int_equal(x509_validate(other, 0, NULL), X509E_POLICY);
	/* the old documented value (.3.2) is no MOICA policy: with it every
	 * card of the test PKI, like every real card, is refused */
	x509_teardown();
	free(c.x509_policy_oids);
	c.x509_policy_oids = strdup("2.16.886.101.0.3.2");
	assert_int_equal(x509_setup(&c, err, sizeof(err)), 0);
	assert_int_equal(x509_validate(g2, 0, NULL), X509E_POLICY);
	x509_teardown();
	conf_free(&c);
	reload(f);
	X509_free(g2);
	X509_free(g3);
	X509_free(other);
}

static void
test_revocation_crl_file(void **state)
{
	struct fx *f = *state;
	X509 *good = load_cert("good-g2.crt"), *rev = load_cert("revoked.crt");
	X509 *g3 = load_cert("good-g3.crt");
	int unknown = 0;

	cache_crl(f, "good-g2.crt", "g2.crl");
	assert_int_equal(x509_validate(good, 1, &unknown), X509E_OK);
	assert_int_equal(unknown, 0);
	assert_int_equal(x509_validate(rev, 1, &unknown), X509E_REVOKED);
	/* G3's CRL is nowhere and nothing answers: fail closed, flagged */
	assert_int_equal(x509_validate(g3, 1, &unknown), X509E_REV_UNKNOWN);
	assert_int_equal(unknown, 1);
	/* fail open: accepted, still flagged for the audit record */
	f->conf.x509_fail_open = 1;
	reload(f);
	assert_int_equal(x509_validate(g3, 1, &unknown), X509E_OK);
	assert_int_equal(unknown, 1);
	/* the other CA's CRL under G3's URL is refused (wrong issuer key) */
	f->conf.x509_fail_open = 0;
	reload(f);
	cache_crl(f, "good-g3.crt", "g2.crl");
	assert_int_equal(x509_validate(g3, 1, &unknown), X509E_REV_UNKNOWN);
	cache_crl(f, "good-g3.crt", "g3.crl");
	assert_int_equal(x509_validate(g3, 1, &unknown), X509E_OK);
	X509_free(good);
	X509_free(rev);
	X509_free(g3);
}

/* Partitioned CRLs (issue 11): a genuine G2 CRL of another scope at a card's
 * CRL address says nothing about the card; the partition's own CRL does. */
static void
test_revocation_partitions(void **state)
{
	struct fx *f = *state;
	X509 *rev = load_cert("part1-revoked.crt"), *good = load_cert("part1-good.crt");
	X509 *p2 = load_cert("part2-good.crt");
	const char *other[] = { "g2-part2.crl", "g2-part1-delta.crl", "g2-part1-onlyca.crl",
		"g2-part1-indirect.crl", "g2-part1-reasons.crl", "g3.crl", NULL };
	int unknown = 0, i;

	for (i = 0; other[i] != NULL; i++) {
		reload(f);	/* nothing parsed in memory */
		cache_crl(f, "part1-revoked.crt", other[i]);
		assert_int_equal(x509_validate(rev, 1, &unknown), X509E_REV_UNKNOWN);
		assert_int_equal(unknown, 1);
		assert_int_equal(x509_validate(good, 1, &unknown), X509E_REV_UNKNOWN);
	}
	reload(f);
	cache_crl(f, "part1-revoked.crt", "g2-part1.crl");
	assert_int_equal(x509_validate(rev, 1, &unknown), X509E_REVOKED);
	assert_int_equal(x509_validate(good, 1, &unknown), X509E_OK);
	assert_int_equal(unknown, 0);
	/* part 2's card: part 1's CRL at its address does not cover it */
	cache_crl(f, "part2-good.crt", "g2-part1.crl");
	assert_int_equal(x509_validate(p2, 1, &unknown), X509E_REV_UNKNOWN);
	reload(f);
	cache_crl(f, "part2-good.crt", "g2-part2.crl");
	assert_int_equal(x509_validate(p2, 1, &unknown), X509E_OK);
	X509_free(rev);
	X509_free(good);
	X509_free(p2);
}

/* ---- bindings ---- */

struct bw {
	struct x509_ident id;
	const char *uid;
	int rc;
};

static int
w_bind(struct store_txn *t, void *ctx)
{
	struct bw *b = ctx;

	b->rc = x509_bind(t, b->uid, &b->id);
	return STORE_OK;
}

static int
w_unbind(struct store_txn *t, void *ctx)
{
	struct bw *b = ctx;

	b->rc = x509_unbind(t, b->uid, b->id.cred_id[0] ? b->id.cred_id : NULL);
	return STORE_OK;
}

static void
bind_cert(struct fx *f, const char *cert, const char *uid, int want)
{
	struct bw b = { .uid = uid };
	X509 *x = load_cert(cert);

	assert_int_equal(x509_ident_of(x, &b.id), 0);
	assert_int_equal(store_write_sync(f->s, w_bind, &b), STORE_OK);
	assert_int_equal(b.rc, want);
	X509_free(x);
}

static void
test_bindings(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	struct bw u = { .uid = f->uid };
	json_t *l;

	bind_cert(f, "good-g2.crt", f->uid, STORE_OK);
	bind_cert(f, "good-g3.crt", f->uid, STORE_OK);
	bind_cert(f, "good-g2.crt", f->uid, STORE_OK);	/* again: refreshed */
	bind_cert(f, "good-g2.crt", "0123456789abcdef0123456789abcdef", STORE_EXISTS);
	t = store_read_begin(f->s);
	l = x509_list(t, f->uid);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "last4")),
	    json_string_value(json_object_get(json_array_get(l, 0), "last4")));
	json_decref(l);
	store_read_end(t);
	assert_int_equal(store_write_sync(f->s, w_unbind, &u), STORE_OK);
	assert_int_equal(u.rc, STORE_OK);
	assert_int_equal(store_write_sync(f->s, w_unbind, &u), STORE_OK);
	assert_int_equal(u.rc, STORE_NOTFOUND);
	t = store_read_begin(f->s);
	l = x509_list(t, f->uid);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	store_read_end(t);
}

/* The method's reach (the highest level the account can reach, for the
 * step-up rule of account changes): a valid bound card shows card + PIN on
 * hardware (AAL2); phishing-resistant (AAL3) only where the card can sign in
 * over TLS; an expired card and the one being removed count for nothing. */
static void
test_reach(void **state)
{
	struct fx *f = *state;
	struct bw old = { .uid = f->uid };
	struct policy_cred c;
	struct store_txn *t;
	X509 *x = load_cert("good-g3.crt");
	char g2[X509_CRED_ID_MAX + 1];

	t = store_read_begin(f->s);
	assert_int_equal(method_reach(&method_x509, t, f->uid, NULL, &c), 0);
	store_read_end(t);
	bind_cert(f, "good-g2.crt", f->uid, STORE_OK);
	t = store_read_begin(f->s);
	assert_int_equal(method_reach(&method_x509, t, f->uid, NULL, &c), 1);
	assert_int_equal(c.amr, AMR_SC | AMR_PIN);
	assert_int_equal(c.factors, FACTOR_HAVE | FACTOR_KNOW);
	assert_int_equal(c.props, PROP_HARDWARE);
	assert_int_equal(methods_reachable_level(t, f->uid, NULL, NULL), AAL2);
	store_read_end(t);
	/* with the client-certificate listener: AAL3 */
	f->conf.x509_tls_listen = (char *)"127.0.0.1:1";
	reload(f);
	t = store_read_begin(f->s);
	assert_int_equal(method_reach(&method_x509, t, f->uid, NULL, &c), 1);
	assert_int_equal(c.props, PROP_HARDWARE | PROP_PHISHING_RESISTANT | PROP_HW_VERIFIED);
	assert_int_equal(methods_reachable_level(t, f->uid, NULL, NULL), AAL3);
	/* leaving out the only card (a removal): nothing left */
	{
		json_t *l = x509_list(t, f->uid);

		snprintf(g2, sizeof(g2), "%s", json_string_value(json_object_get(json_array_get(l, 0),
		    "id")));
		json_decref(l);
	}
	assert_int_equal(method_reach(&method_x509, t, f->uid, g2, &c), 0);
	assert_int_equal(methods_reachable_level(t, f->uid, &method_x509, g2), AAL_NONE);
	assert_int_equal(methods_reachable_level(t, f->uid, &method_x509, NULL), AAL_NONE);
	store_read_end(t);
	/* an expired card signs nobody in: it does not count */
	assert_int_equal(x509_ident_of(x, &old.id), 0);
	old.id.not_after = now_s() - 1;
	assert_int_equal(store_write_sync(f->s, w_bind, &old), STORE_OK);
	assert_int_equal(old.rc, STORE_OK);
	t = store_read_begin(f->s);
	assert_int_equal(method_reach(&method_x509, t, f->uid, g2, &c), 0);
	assert_int_equal(method_reach(&method_x509, t, f->uid, NULL, &c), 1);
	store_read_end(t);
	/* switched off: no card counts */
	f->conf.x509_tls_listen = (char *)"";
	f->conf.x509_enabled = 0;
	reload(f);
	t = store_read_begin(f->s);
	assert_int_equal(method_reach(&method_x509, t, f->uid, NULL, &c), 0);
	store_read_end(t);
	X509_free(x);
}

/* The step after a password (issue 14): the card over TLS is asked for only
 * when it reaches the level asked for phishing-resistantly — an account with a
 * bound card, where the TLS path exists; never as a mere raise; never for an
 * account without a card; never twice. */
static void
test_next_step_card(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	char other[USER_ID_LEN + 1];

	assert_int_equal(fx_user_create(f->s, "chen", "陳", NULL, other), STORE_OK);
	bind_cert(f, "good-g2.crt", f->uid, STORE_OK);
	/* no TLS path: the card's challenge signature is phishable (AAL2), so an
	 * AAL3 app has nothing to ask for: unmet, as before */
	t = store_read_begin(f->s);
	assert_null(signin_next_method(t, f->uid, AMR_PWD, FACTOR_KNOW, 0, AAL3));
	assert_null(signin_next_method(t, f->uid, AMR_PWD, FACTOR_KNOW, 0, AAL2));
	store_read_end(t);
	/* the client-certificate listener: the card over TLS reaches AAL3 */
	f->conf.x509_tls_listen = (char *)"127.0.0.1:1";
	reload(f);
	t = store_read_begin(f->s);
	assert_ptr_equal(
	    signin_next_method(t, f->uid, AMR_PWD, FACTOR_KNOW, 0, AAL3), &method_x509);
	/* an account without a card: nothing, as before */
	assert_null(signin_next_method(t, other, AMR_PWD, FACTOR_KNOW, 0, AAL3));
	/* the card already shown in this sign-in: not asked again */
	assert_null(signin_next_method(
	    t, f->uid, AMR_PWD | AMR_SC | AMR_PIN, FACTOR_KNOW | FACTOR_HAVE, PROP_HARDWARE, AAL3));
	store_read_end(t);
	/* a proxy that hands the certificate on is a TLS path too */
	f->conf.x509_tls_listen = (char *)"";
	f->conf.x509_proxy_header = (char *)"X-SSL-Client-Cert";
	f->conf.n_trusted_proxies = 1;
	reload(f);
	t = store_read_begin(f->s);
	assert_ptr_equal(
	    signin_next_method(t, f->uid, AMR_PWD, FACTOR_KNOW, 0, AAL3), &method_x509);
	store_read_end(t);
	f->conf.x509_proxy_header = (char *)"";
	f->conf.n_trusted_proxies = 0;
}

/* ---- the method ---- */

static int
run_finish(struct fx *f, json_t *st, const char *body, const char *pem, struct proof *p)
{
	struct form *fm = NULL;
	struct login l = { .authd = &f->a, .ip = "127.0.0.1", .state = st, .tls_peer_cert_pem = pem };
	int rc;

	assert_int_equal(form_parse(body, strlen(body), &fm), FORM_OK);
	l.txn = store_read_begin(f->s);
	rc = method_x509.finish(&l, fm, p);
	store_read_end(l.txn);
	form_free(fm);
	json_decref(p->cred_update);
	json_decref(p->cred_expect);
	json_decref(p->audit_extra);
	p->audit_extra = NULL;
	return rc;
}

static char *
form_with(const char *pkcs7)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "method=x509&mode=sign&pkcs7=");
	buf_add_urlenc(&b, pkcs7);
	return b.p;
}

static void
test_finish_sign(void **state)
{
	struct fx *f = *state;
	struct login l = { .authd = &f->a };
	json_t *out = json_object(), *st;
	struct proof p;
	const char *nonce;
	char *sig, *body, *other, *obody;

	cache_crl(f, "good-g2.crt", "g2.crl");
	cache_crl(f, "good-g3.crt", "g3.crl");
	assert_int_equal(method_x509.begin(&l, out), METHOD_OK);
	st = l.state;
	nonce = json_string_value(json_object_get(st, "nonce"));
	assert_int_equal(strlen(nonce), 44);
	assert_string_equal(json_string_value(json_object_get(out, "mode")), "sign");
	sig = sign_b64("good-g2", nonce, 0, EVP_sha256());
	body = form_with(sig);

	/* unbound: refused with the how-to-bind text */
	assert_int_equal(run_finish(f, st, body, NULL, &p), METHOD_FAIL);
	assert_non_null(p.error_key);
	assert_non_null(strstr(fx_text("en", p.error_key), "not linked"));
	bind_cert(f, "good-g2.crt", f->uid, STORE_OK);
	assert_int_equal(run_finish(f, st, body, NULL, &p), METHOD_OK);
	assert_string_equal(p.user_id, f->uid);
	assert_int_equal(p.amr, AMR_SC | AMR_PIN);
	assert_int_equal(p.factors, FACTOR_HAVE | FACTOR_KNOW);
	assert_int_equal(p.props, PROP_HARDWARE);
	/* the caller drops the state after finish: a replay finds none */
	assert_int_equal(run_finish(f, NULL, body, NULL, &p), METHOD_INVALID);
	/* a signature over another nonce */
	other = sign_b64("good-g2", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, EVP_sha256());
	obody = form_with(other);
	assert_int_equal(run_finish(f, st, obody, NULL, &p), METHOD_FAIL);
	/* garbage: malformed, with a clear message */
	assert_int_equal(run_finish(f, st, "method=x509&pkcs7=%25%25%25", NULL, &p), METHOD_INVALID);
	assert_non_null(strstr(fx_text("en", p.error_key), "malformed"));
	assert_int_equal(run_finish(f, st, "method=x509", NULL, &p), METHOD_INVALID);
	/* an expired challenge */
	json_object_set_new(st, "exp", json_integer(1));
	assert_int_equal(run_finish(f, st, body, NULL, &p), METHOD_FAIL);
	free(sig);
	free(body);
	free(other);
	free(obody);
	json_decref(st);
	json_decref(out);
}

/* unbound = create: the first sign-in with an unknown card makes its account. */
static void
test_finish_unbound_create(void **state)
{
	struct fx *f = *state;
	struct login l = { .authd = &f->a };
	json_t *out = json_object(), *st, *u = NULL;
	struct proof p;
	struct store_txn *t;
	char *sig, *body, uid[USER_ID_LEN + 1];

	cache_crl(f, "good-g3.crt", "g3.crl");
	f->conf.x509_unbound = (char *)"create";
	reload(f);
	cache_crl(f, "good-g3.crt", "g3.crl");
	assert_int_equal(method_x509.begin(&l, out), METHOD_OK);
	st = l.state;
	sig = sign_b64("good-g3", json_string_value(json_object_get(st, "nonce")), 1, EVP_sha256());
	body = form_with(sig);
	assert_int_equal(run_finish(f, st, body, NULL, &p), METHOD_OK);
	assert_string_not_equal(p.user_id, f->uid);
	t = store_read_begin(f->s);
	assert_int_equal(user_by_id(t, p.user_id, &u), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(u, "display_name")), "陳美麗");
	assert_int_equal(strncmp(json_string_value(json_object_get(u, "username")), "card-", 5), 0);
	{
		X509 *x = load_cert("good-g3.crt");
		struct x509_ident id;

		assert_int_equal(x509_ident_of(x, &id), 0);
		assert_int_equal(x509_lookup(t, id.cred_id, uid, sizeof(uid)), STORE_OK);
		assert_string_equal(uid, p.user_id);
		X509_free(x);
	}
	store_read_end(t);
	/* the same card again signs in to that account, no second one */
	assert_int_equal(run_finish(f, st, body, NULL, &p), METHOD_OK);
	assert_string_equal(p.user_id, uid);
	f->conf.x509_unbound = (char *)"refuse";
	reload(f);
	json_decref(u);
	json_decref(st);
	json_decref(out);
	free(sig);
	free(body);
}

/* ---- CRL scope (RFC 5280 §5.2.4, §5.2.5, §6.3.3) on CRLs built here ---- */

struct crlspec {
	const char *key;            /* signing key: "g2.key" (default) or "g3.key" */
	const char *issuer;         /* the CA whose subject is the CRL's issuer: "g2.crt" (default) */
	int idp;                    /* add an issuingDistributionPoint */
	const char *uris[3];        /* its full name (URIs); none: no distribution point name */
	const char *rdn;            /* or its relative name: "CN=..." under the issuer */
	int only_user, only_ca, only_attr, indirect;
	unsigned some_reasons;      /* onlySomeReasons bits (X509_REASONS_ALL style) */
	int dup_idp;                /* the IDP twice */
	long delta_base;            /* > 0: deltaCRLIndicator with this base CRL number */
	long number;                /* > 0: cRLNumber */
	const char *aki_of;         /* authorityKeyIdentifier = this CA's subjectKeyIdentifier */
	int critical_unknown;       /* a critical extension nobody knows */
	const char *revoked;        /* a certificate listed as revoked */
	int entry_issuer;           /* its entry carries certificateIssuer (indirect CRLs) */
	int entry_critical;         /* its entry carries an unknown critical extension */
	long last, next;            /* lastUpdate/nextUpdate relative to now (0: -60 / +3600; next -1: none) */
};

static X509_EXTENSION *
unknown_ext(int critical)
{
	ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(o);
	assert_int_equal(ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2), 1);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, critical, v);
	assert_non_null(e);
	ASN1_OBJECT_free(o);
	ASN1_OCTET_STRING_free(v);
	return e;
}

static GENERAL_NAME *
uri_name(const char *u)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	assert_int_equal(ASN1_STRING_set(s, u, (int)strlen(u)), 1);
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

static DIST_POINT_NAME *
dpname(const char *const uris[3], const char *rdn)
{
	DIST_POINT_NAME *n = DIST_POINT_NAME_new();
	int i;

	if (rdn != NULL) {
		n->type = 1;
		n->name.relativename = sk_X509_NAME_ENTRY_new_null();
		sk_X509_NAME_ENTRY_push(n->name.relativename,
		    X509_NAME_ENTRY_create_by_txt(NULL, "CN", MBSTRING_UTF8, (const unsigned char *)rdn + 3, -1));
		return n;
	}
	n->type = 0;
	n->name.fullname = GENERAL_NAMES_new();
	for (i = 0; i < 3 && uris[i] != NULL; i++)
		sk_GENERAL_NAME_push(n->name.fullname, uri_name(uris[i]));
	return n;
}

static X509_CRL *
make_crl(const struct crlspec *s)
{
	X509_CRL *crl = X509_CRL_new();
	X509 *ca = load_cert(s->issuer ? s->issuer : "g2.crt");
	EVP_PKEY *k = load_key(s->key ? s->key : "g2.key");
	ASN1_TIME *t = ASN1_TIME_new();
	time_t now = time(NULL);

	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)), 1);
	ASN1_TIME_set(t, now + (s->last ? s->last : -60));
	X509_CRL_set1_lastUpdate(crl, t);
	if (s->next != -1) {
		ASN1_TIME_set(t, now + (s->next ? s->next : 3600));
		X509_CRL_set1_nextUpdate(crl, t);
	}
	if (s->idp) {
		ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

		if (s->uris[0] != NULL || s->rdn != NULL)
			idp->distpoint = dpname(s->uris, s->rdn);
		idp->onlyuser = s->only_user ? 0xff : 0;
		idp->onlyCA = s->only_ca ? 0xff : 0;
		idp->onlyattr = s->only_attr ? 0xff : 0;
		idp->indirectCRL = s->indirect ? 0xff : 0;
		if (s->some_reasons) {
			int i;

			idp->onlysomereasons = ASN1_BIT_STRING_new();
			for (i = 1; i <= 8; i++)
				if (s->some_reasons & (1u << i))
					ASN1_BIT_STRING_set_bit(idp->onlysomereasons, i, 1);
		}
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
		    X509V3_ADD_DEFAULT), 1);
		if (s->dup_idp)
			assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
			    X509V3_ADD_APPEND), 1);
		ISSUING_DIST_POINT_free(idp);
	}
	if (s->delta_base > 0) {
		ASN1_INTEGER *b = ASN1_INTEGER_new();

		ASN1_INTEGER_set(b, s->delta_base);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_delta_crl, b, 1, X509V3_ADD_DEFAULT), 1);
		ASN1_INTEGER_free(b);
	}
	if (s->number > 0) {
		ASN1_INTEGER *n = ASN1_INTEGER_new();

		ASN1_INTEGER_set(n, s->number);
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, X509V3_ADD_DEFAULT), 1);
		ASN1_INTEGER_free(n);
	}
	if (s->aki_of != NULL) {
		X509 *a = load_cert(s->aki_of);
		AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();

		ak->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(a));
		assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, ak, 0,
		    X509V3_ADD_DEFAULT), 1);
		AUTHORITY_KEYID_free(ak);
		X509_free(a);
	}
	if (s->critical_unknown) {
		X509_EXTENSION *e = unknown_ext(1);

		assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	if (s->revoked != NULL) {
		X509 *x = load_cert(s->revoked);
		X509_REVOKED *r = X509_REVOKED_new();

		X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)X509_get0_serialNumber(x));
		ASN1_TIME_set(t, now - 120);
		X509_REVOKED_set_revocationDate(r, t);
		if (s->entry_issuer) {
			GENERAL_NAMES *gns = GENERAL_NAMES_new();
			GENERAL_NAME *gn = GENERAL_NAME_new();

			GENERAL_NAME_set0_value(gn, GEN_DIRNAME, X509_NAME_dup(X509_get_subject_name(ca)));
			sk_GENERAL_NAME_push(gns, gn);
			assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_certificate_issuer, gns, 1, 0), 1);
			GENERAL_NAMES_free(gns);
		}
		if (s->entry_critical) {
			X509_EXTENSION *e = unknown_ext(1);

			assert_int_equal(X509_REVOKED_add_ext(r, e, -1), 1);
			X509_EXTENSION_free(e);
		}
		assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
		X509_free(x);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	EVP_PKEY_free(k);
	X509_free(ca);
	return crl;
}

/* cert's first CDP entry (caller frees the stack *dps). */
static const DIST_POINT *
first_dp(X509 *cert, STACK_OF(DIST_POINT) **dps)
{
	*dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(*dps);
	return sk_DIST_POINT_value(*dps, 0);
}

/* x509_crl_scope of the CRL spec for cert and dp; *reasons as it says. */
static enum x509_crl_verdict
scope_of(const struct crlspec *s, X509 *cert, const DIST_POINT *dp, unsigned *reasons)
{
	X509_CRL *crl = make_crl(s);
	enum x509_crl_verdict v = x509_crl_scope(crl, cert, dp, reasons);

	X509_CRL_free(crl);
	return v;
}

static void
test_crl_scope(void **state)
{
	X509 *card = load_cert("part1-good.crt"), *ca = load_cert("g2.crt");
	STACK_OF(DIST_POINT) *dps = NULL;
	const DIST_POINT *dp = first_dp(card, &dps);
	char p1[512], p2[512];
	unsigned r;

	(void)state;
	snprintf(p1, sizeof(p1), "%s", cdp_url("part1-good.crt", 0));
	snprintf(p2, sizeof(p2), "%s", cdp_url("part2-good.crt", 0));
	/* no IDP: the CA's complete CRL covers everything it issued */
	assert_int_equal(scope_of(&(struct crlspec){ 0 }, card, dp, &r), X509_CRL_OK);
	assert_int_equal(r, X509_REASONS_ALL);
	/* the partition's own CRL; one of several names is enough */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1 }, card, dp, &r),
	    X509_CRL_OK);
	assert_int_equal(r, X509_REASONS_ALL);
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { "http://a.example/x.crl", p1 } },
	    card, dp, &r), X509_CRL_OK);
	/* another partition: the swapped CRL of the review */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p2 }, .only_user = 1 }, card, dp, &r),
	    X509_CRL_PARTITION);
	assert_int_equal(r, 0);
	/* names are compared exactly (no case folding, no trailing slash games) */
	{
		char up[512];
		size_t i;

		snprintf(up, sizeof(up), "%s", p1);
		for (i = 0; up[i]; i++)
			if (up[i] >= 'a' && up[i] <= 'z')
				up[i] = (char)(up[i] - 'a' + 'A');
		assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { up } }, card, dp, &r),
		    X509_CRL_PARTITION);
	}
	/* IDP names present, but no distribution point to meet them */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 } }, card, NULL, &r),
	    X509_CRL_PARTITION);
	/* an IDP without names: only the flags count */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .only_user = 1 }, card, dp, &r), X509_CRL_OK);
	/* kinds of certificates */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .only_ca = 1 }, card, dp, &r),
	    X509_CRL_KIND);
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .only_attr = 1 }, card, dp, &r),
	    X509_CRL_KIND);
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .only_user = 1 }, ca, NULL, &r), X509_CRL_KIND);
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .only_ca = 1 }, ca, NULL, &r), X509_CRL_OK);
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .only_user = 1, .only_ca = 1 }, card, dp, &r),
	    X509_CRL_MALFORMED);
	/* indirect CRLs are not used */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .indirect = 1 }, card, dp, &r),
	    X509_CRL_INDIRECT);
	/* some reasons only: in scope, but it covers just those */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .some_reasons = 1u << 1 },
	    card, dp, &r), X509_CRL_OK);
	assert_int_equal(r, 1u << 1);
	/* a delta CRL is never a complete one */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .delta_base = 1, .number = 2 },
	    card, dp, &r), X509_CRL_DELTA);
	assert_int_equal(scope_of(&(struct crlspec){ .delta_base = 1, .number = 2 }, card, dp, &r),
	    X509_CRL_DELTA);
	/* a repeated IDP does not decode as one */
	assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .dup_idp = 1 }, card, dp, &r),
	    X509_CRL_MALFORMED);
	/* relative names are taken under the issuer's name */
	{
		const char *none[3] = { NULL };
		DIST_POINT *rel = DIST_POINT_new(), *other = DIST_POINT_new(), *full = DIST_POINT_new();
		X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(ca));
		GENERAL_NAME *gn = GENERAL_NAME_new();

		rel->distpoint = dpname(none, "CN=Part 7");
		other->distpoint = dpname(none, "CN=Part 8");
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"Part 7", -1, -1, 0);
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, nm);
		full->distpoint = DIST_POINT_NAME_new();
		full->distpoint->type = 0;
		full->distpoint->name.fullname = GENERAL_NAMES_new();
		sk_GENERAL_NAME_push(full->distpoint->name.fullname, gn);
		assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .rdn = "CN=Part 7" }, card, rel, &r),
		    X509_CRL_OK);
		assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .rdn = "CN=Part 7" }, card, other, &r),
		    X509_CRL_PARTITION);
		assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .rdn = "CN=Part 7" }, card, full, &r),
		    X509_CRL_OK);
		assert_int_equal(scope_of(&(struct crlspec){ .idp = 1, .rdn = "CN=Part 7" }, card, dp, &r),
		    X509_CRL_PARTITION);
		DIST_POINT_free(rel);
		DIST_POINT_free(other);
		DIST_POINT_free(full);
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_free(card);
	X509_free(ca);
}

static enum x509_crl_verdict
issuer_check_of(const struct crlspec *s, const char *ca_name, int delta)
{
	X509_CRL *crl = make_crl(s);
	X509 *ca = load_cert(ca_name);
	enum x509_crl_verdict v = x509_crl_check_issuer(crl, ca, delta);

	X509_CRL_free(crl);
	X509_free(ca);
	return v;
}

static void
test_crl_issuer_and_time(void **state)
{
	X509_CRL *crl;

	(void)state;
	assert_int_equal(issuer_check_of(&(struct crlspec){ .aki_of = "g2.crt", .number = 3,
	    .revoked = "part1-revoked.crt" }, "g2.crt", 0), X509_CRL_OK);
	/* G3's key, G2's name (MOICA's generations share one DN) */
	assert_int_equal(issuer_check_of(&(struct crlspec){ .key = "g3.key" }, "g2.crt", 0), X509_CRL_ISSUER);
	/* G2's signature but G3's key identifier */
	assert_int_equal(issuer_check_of(&(struct crlspec){ .aki_of = "g3.crt" }, "g2.crt", 0), X509_CRL_ISSUER);
	/* another issuer name */
	assert_int_equal(issuer_check_of(&(struct crlspec){ .issuer = "root.crt" }, "g2.crt", 0),
	    X509_CRL_ISSUER);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .critical_unknown = 1 }, "g2.crt", 0),
	    X509_CRL_CRITICAL);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .revoked = "part1-revoked.crt", .entry_issuer = 1 },
	    "g2.crt", 0), X509_CRL_INDIRECT);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .revoked = "part1-revoked.crt",
	    .entry_critical = 1 }, "g2.crt", 0), X509_CRL_CRITICAL);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .idp = 1, .only_user = 1, .dup_idp = 1 }, "g2.crt", 0),
	    X509_CRL_MALFORMED);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .delta_base = 2, .number = 3 }, "g2.crt", 0),
	    X509_CRL_DELTA);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .delta_base = 2, .number = 3 }, "g2.crt", 1),
	    X509_CRL_OK);
	assert_int_equal(issuer_check_of(&(struct crlspec){ .number = 3 }, "g2.crt", 1), X509_CRL_NOT_DELTA);
	/* dates */
	crl = make_crl(&(struct crlspec){ 0 });
	assert_int_equal(x509_crl_current(crl, time(NULL)), X509_CRL_OK);
	assert_int_equal(x509_crl_current(crl, time(NULL) + 7200), X509_CRL_STALE);
	X509_CRL_free(crl);
	crl = make_crl(&(struct crlspec){ .last = 3600, .next = 7200 });
	assert_int_equal(x509_crl_current(crl, time(NULL)), X509_CRL_STALE);
	X509_CRL_free(crl);
	crl = make_crl(&(struct crlspec){ .next = -1 });
	assert_int_equal(x509_crl_current(crl, time(NULL)), X509_CRL_STALE);
	X509_CRL_free(crl);
}

static enum x509_crl_verdict
fits_of(const struct crlspec *b, const struct crlspec *d)
{
	X509_CRL *base = make_crl(b), *delta = make_crl(d);
	enum x509_crl_verdict v = x509_crl_delta_fits(base, delta);

	X509_CRL_free(base);
	X509_CRL_free(delta);
	return v;
}

static void
test_crl_delta_fits(void **state)
{
	char p1[512], p2[512];
	struct crlspec base = { .idp = 1, .only_user = 1, .number = 5, .aki_of = "g2.crt" };

	(void)state;
	snprintf(p1, sizeof(p1), "%s", cdp_url("part1-good.crt", 0));
	snprintf(p2, sizeof(p2), "%s", cdp_url("part2-good.crt", 0));
	base.uris[0] = p1;
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .delta_base = 5, .number = 6, .aki_of = "g2.crt" }), X509_CRL_OK);
	/* a base newer than the delta's starting point is fine */
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .delta_base = 4, .number = 6, .aki_of = "g2.crt" }), X509_CRL_OK);
	/* a delta for a newer base than ours */
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .delta_base = 6, .number = 7, .aki_of = "g2.crt" }), X509_CRL_BASE);
	/* a delta not newer than the base */
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .delta_base = 4, .number = 5, .aki_of = "g2.crt" }), X509_CRL_BASE);
	/* another scope (partition), or another key identifier */
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p2 }, .only_user = 1,
	    .delta_base = 5, .number = 6, .aki_of = "g2.crt" }), X509_CRL_BASE);
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .delta_base = 5, .number = 6 }), X509_CRL_BASE);
	/* not a delta; a base without a CRL number; a delta as the base */
	assert_int_equal(fits_of(&base, &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1,
	    .number = 6, .aki_of = "g2.crt" }), X509_CRL_NOT_DELTA);
	assert_int_equal(fits_of(&(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1 },
	    &(struct crlspec){ .idp = 1, .uris = { p1 }, .only_user = 1, .delta_base = 1, .number = 6 }),
	    X509_CRL_BASE);
	assert_int_equal(fits_of(&(struct crlspec){ .delta_base = 1, .number = 2 },
	    &(struct crlspec){ .delta_base = 1, .number = 3 }), X509_CRL_DELTA);
}

/* Through x509_validate with the caches: a delta only with its base, a card
 * whose CDP has two URLs, reasons, and why the status is unknown. */
static void
test_revocation_delta_mirror_reasons(void **state)
{
	struct fx *f = *state;
	X509 *late = load_cert("part1-late.crt"), *mirror = load_cert("part1-mirror.crt");
	X509 *good = load_cert("part1-good.crt");
	int unknown = 0;
	char why[512];

	/* part1-late was revoked after the base: the base alone says good ... */
	cache_crl(f, "part1-late.crt", "g2-part1.crl");
	assert_int_equal(x509_validate(late, 1, &unknown), X509E_OK);
	/* ... and with its delta (at the base's freshestCRL) revoked */
	cache_crl_at("part1-late.crt", cdp_url("part1-late.crt", 0), 0, "g2-part1.crl");
	{
		char durl[512];

		snprintf(durl, sizeof(durl), "%s", cdp_url("part1-late.crt", 0));
		memcpy(strstr(durl, "part1.crl"), "part1-delta.crl", sizeof("part1-delta.crl"));
		cache_crl_at("part1-late.crt", durl, 1, "g2-part1-delta.crl");
	}
	reload(f);
	assert_int_equal(x509_validate(late, 1, &unknown), X509E_REVOKED);
	assert_int_equal(x509_validate(good, 1, &unknown), X509E_OK);
	/* two URLs: another partition's CRL at the first is not used, the second decides */
	reload(f);
	cache_crl_at("part1-mirror.crt", cdp_url("part1-mirror.crt", 0), 0, "g2-part2.crl");
	cache_crl_at("part1-mirror.crt", cdp_url("part1-mirror.crt", 1), 0, "g2-part1.crl");
	assert_int_equal(x509_validate(mirror, 1, &unknown), X509E_REVOKED);
	reload(f);
	cache_crl_at("part1-mirror.crt", cdp_url("part1-mirror.crt", 1), 0, "g2-part2.crl");
	assert_int_equal(x509_validate_why(mirror, 1, &unknown, why, sizeof(why)), X509E_REV_UNKNOWN);
	assert_int_equal(unknown, 1);
	/* (here nothing is downloaded: the cached copies stand in for the server) */
	assert_non_null(strstr(why, "g2-part1-mirror.crl"));
	assert_non_null(strstr(why, "g2-part1.crl"));
	/* a CRL of some reasons only cannot say good alone */
	reload(f);
	cache_crl(f, "part1-good.crt", "g2-part1-reasons.crl");
	assert_int_equal(x509_validate_why(good, 1, &unknown, why, sizeof(why)), X509E_REV_UNKNOWN);
	assert_int_equal(unknown, 1);
	X509_free(late);
	X509_free(mirror);
	X509_free(good);
}

/* The caches are bounded: crl_cache_entries and crl_cache_bytes in memory
 * (least recently used out first), crl_cache_entries on disk (oldest out). */
static void
test_crl_cache_limits(void **state)
{
	struct fx *f = *state;
	X509 *p1 = load_cert("part1-good.crt"), *p2 = load_cert("part2-good.crt");
	X509 *ca = load_cert("g2.crt");
	char path[1200], other[1200], hex[80];
	struct stat st;
	int unknown = 0, i;

	/* one slot: part 2 pushes part 1 out of memory */
	f->conf.x509_crl_cache_entries = 1;
	reload(f);
	cache_crl(f, "part1-good.crt", "g2-part1.crl");
	cache_crl(f, "part2-good.crt", "g2-part2.crl");
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_OK);
	assert_int_equal(x509_validate(p2, 1, &unknown), X509E_OK);
	assert_int_equal(x509_crl_cache_path(cdp_url("part1-good.crt", 0), ca, 0, path, sizeof(path)), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_REV_UNKNOWN);
	/* two slots: both stay in memory, the disk copy is not needed */
	f->conf.x509_crl_cache_entries = 2;
	reload(f);
	cache_crl(f, "part1-good.crt", "g2-part1.crl");
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_OK);
	assert_int_equal(x509_validate(p2, 1, &unknown), X509E_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_OK);
	/* two slots but room for one CRL's bytes: the least recently used goes */
	f->conf.x509_crl_cache_bytes = 1024;
	reload(f);
	cache_crl(f, "part1-good.crt", "g2-part1.crl");
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_OK);
	assert_int_equal(x509_validate(p2, 1, &unknown), X509E_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(x509_validate(p1, 1, &unknown), X509E_REV_UNKNOWN);
	/* on disk: at most crl_cache_entries CRLs, the oldest go; other files stay */
	snprintf(other, sizeof(other), "rm -f '%s'/*.crl", f->cache);
	assert_int_equal(system(other), 0);
	for (i = 0; i < 5; i++) {
		struct timespec ts[2] = { { .tv_sec = 1000000000 + i }, { .tv_sec = 1000000000 + i } };
		FILE *fp;

		snprintf(hex, sizeof(hex), "%064x", i);
		snprintf(other, sizeof(other), "%s/%s.crl", f->cache, hex);
		assert_non_null(fp = fopen(other, "w"));
		fputs("x", fp);
		fclose(fp);
		assert_int_equal(utimensat(AT_FDCWD, other, ts, 0), 0);
	}
	snprintf(other, sizeof(other), "%s/README", f->cache);
	{
		FILE *fp = fopen(other, "w");

		assert_non_null(fp);
		fclose(fp);
	}
	reload(f);	/* setup prunes */
	for (i = 0; i < 5; i++) {
		snprintf(hex, sizeof(hex), "%064x", i);
		snprintf(path, sizeof(path), "%s/%s.crl", f->cache, hex);
		assert_int_equal(stat(path, &st) == 0, i >= 3);
	}
	assert_int_equal(stat(other, &st), 0);
	f->conf.x509_crl_cache_entries = 1024;
	f->conf.x509_crl_cache_bytes = 268435456;
	X509_free(p1);
	X509_free(p2);
	X509_free(ca);
}

/* The audit record of an unknown status names the card and its account, and why. */
static void
test_finish_rev_unknown_audit(void **state)
{
	struct fx *f = *state;
	struct login l = { .authd = &f->a, .ip = "127.0.0.1" };
	json_t *out = json_object(), *st;
	struct form *fm = NULL;
	struct proof p;
	X509 *x = load_cert("part1-revoked.crt");
	struct x509_ident id;
	char *sig, *body;

	bind_cert(f, "part1-revoked.crt", f->uid, STORE_OK);
	cache_crl(f, "part1-revoked.crt", "g2-part2.crl");
	assert_int_equal(method_x509.begin(&l, out), METHOD_OK);
	st = l.state;
	sig = sign_b64("part1-revoked", json_string_value(json_object_get(st, "nonce")), 0, EVP_sha256());
	body = form_with(sig);
	assert_int_equal(form_parse(body, strlen(body), &fm), FORM_OK);
	l.state = st;
	l.txn = store_read_begin(f->s);
	memset(&p, 0, sizeof(p));
	assert_int_equal(method_x509.finish(&l, fm, &p), METHOD_FAIL);
	store_read_end(l.txn);
	assert_string_equal(p.audit_event, "x509.revocation_unknown");
	assert_non_null(p.audit_extra);
	assert_int_equal(x509_ident_of(x, &id), 0);
	assert_string_equal(json_string_value(json_object_get(p.audit_extra, "card")), id.cred_id);
	assert_string_equal(json_string_value(json_object_get(p.audit_extra, "user")), f->uid);
	assert_non_null(strstr(json_string_value(json_object_get(p.audit_extra, "reason")), "g2-part1.crl"));
	assert_string_equal(json_string_value(json_object_get(p.audit_extra, "outcome")), "refused");
	assert_null(json_object_get(p.audit_extra, "cn"));
	assert_null(json_object_get(p.audit_extra, "last4"));
	assert_non_null(strstr(fx_text("en", p.error_key), "cannot be checked"));
	json_decref(p.audit_extra);
	form_free(fm);
	free(sig);
	free(body);
	json_decref(st);
	json_decref(out);
	X509_free(x);
}

static char *
read_file(const char *name)
{
	FILE *fp = fopen(pki_path(name), "r");
	char *s = calloc(1, 16384);

	assert_non_null(fp);
	assert_true(fread(s, 1, 16383, fp) > 0);
	fclose(fp);
	return s;
}

static void
test_finish_tls(void **state)
{
	struct fx *f = *state;
	struct proof p;
	char *g3 = read_file("good-g3.crt"), *rev = read_file("revoked.crt");

	cache_crl(f, "good-g2.crt", "g2.crl");
	cache_crl(f, "good-g3.crt", "g3.crl");
	/* no certificate on the connection: a clear refusal */
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", NULL, &p), METHOD_FAIL);
	assert_non_null(strstr(fx_text("en", p.error_key), "No client certificate"));
	bind_cert(f, "good-g3.crt", f->uid, STORE_OK);
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", g3, &p), METHOD_OK);
	assert_int_equal(p.props, PROP_HARDWARE | PROP_PHISHING_RESISTANT | PROP_HW_VERIFIED);
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", rev, &p), METHOD_FAIL);
	assert_non_null(strstr(fx_text("en", p.error_key), "revoked"));
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", "-----BEGIN CERTIFICATE-----\nAAAA\n", &p),
	    METHOD_INVALID);
	free(g3);
	free(rev);
}

static void
test_disabled_refuses(void **state)
{
	struct fx *f = *state;
	struct login l = { .authd = &f->a };
	json_t *out = json_object();
	struct proof p;
	X509 *g2 = load_cert("good-g2.crt");

	f->conf.x509_enabled = 0;
	reload(f);
	assert_false(x509_enabled());
	assert_int_equal(method_x509.available(), 0);
	assert_int_not_equal(method_x509.begin(&l, out), METHOD_OK);
	assert_int_equal(x509_validate(g2, 0, NULL), X509E_DISABLED);
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", NULL, &p), METHOD_FAIL);
	f->conf.x509_enabled = 1;
	reload(f);
	json_decref(out);
	X509_free(g2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sda_parse),
		cmocka_unit_test(test_identity),
		cmocka_unit_test_setup_teardown(test_signature_attached_detached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_certb64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_g2_g3_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_default_moica, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_sign_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_crl_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_partitions, setup, teardown),
		cmocka_unit_test(test_crl_scope),
		cmocka_unit_test(test_crl_issuer_and_time),
		cmocka_unit_test(test_crl_delta_fits),
		cmocka_unit_test_setup_teardown(
		    test_revocation_delta_mirror_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_cache_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_step_card, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_unbound_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_rev_unknown_audit, setup, teardown),
	};

	return cmocka_run_group_tests_name("x509", tests, group_setup, NULL);
}

/* tests/unit/test_x509.c — the citizen certificate method (modules/x509*.c):
 * subjectDirectoryAttributes parsing, CMS over the nonce (attached, detached,
 * another nonce, weak digest, garbage), chain to G2 and G3 (same issuer DN),
 * forged issuer, expiry, policy, revocation from a cached CRL file (fail closed
 * and fail open), identity, bindings, and finish(): single use, expiry,
 * unbound cards, TLS mode. The test PKI comes from certs/make-test-pki.sh
 * (cached in $X509_TEST_PKI or /tmp/authd-test-pki-UID). */
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
#include <openssl/cms.h>
#include <openssl/pem.h>

#include "../../authd/authd.h"
#include "../../authd/config.h"
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

/* base64 of a CMS SignedData over data by the named certificate (malloc'd). */
static char *
sign_b64(const char *who, const char *data, int detached, const EVP_MD *md)
{
	char crt[64], key[64];
	X509 *x;
	EVP_PKEY *k;
	BIO *in;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	char *out;
	int n;
	unsigned flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0);

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
		snprintf(pki, sizeof(pki), "/tmp/authd-test-pki-%ld", (long)getuid());
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

/* Puts the issuer's CRL where the revocation code caches the CDP's copy. */
static void
cache_crl(struct fx *f, const char *cert, const char *crlname)
{
	X509 *x = load_cert(cert);
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	GENERAL_NAME *gn;
	char path[1200], cmd[2600];

	(void)f;
	assert_non_null(dps);
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
	assert_int_equal(x509_crl_cache_path((const char *)ASN1_STRING_get0_data(
	    gn->d.uniformResourceIdentifier), path, sizeof(path)), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", pki_path(crlname), path);
	assert_int_equal(system(cmd), 0);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_free(x);
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
	f->conf.x509_policy_oids = (char *)"2.16.886.101.0.3.2";
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
	assert_int_equal(c.props, PROP_HARDWARE | PROP_PHISHING_RESISTANT);
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
	assert_non_null(p.error_en);
	assert_non_null(strstr(p.error_en, "not linked"));
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
	assert_non_null(strstr(p.error_en, "malformed"));
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
	assert_non_null(strstr(p.error_en, "No client certificate"));
	bind_cert(f, "good-g3.crt", f->uid, STORE_OK);
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", g3, &p), METHOD_OK);
	assert_int_equal(p.props, PROP_HARDWARE | PROP_PHISHING_RESISTANT);
	assert_int_equal(run_finish(f, NULL, "method=x509&mode=tls", rev, &p), METHOD_FAIL);
	assert_non_null(strstr(p.error_en, "revoked"));
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
		cmocka_unit_test_setup_teardown(test_chain_g2_g3_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_crl_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_unbound_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_refuses, setup, teardown),
	};

	return cmocka_run_group_tests_name("x509", tests, group_setup, NULL);
}

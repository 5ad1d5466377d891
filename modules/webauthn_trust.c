/* modules/webauthn_trust.c — the trust configuration of [webauthn]
 * (attestation_roots, the FIDO MDS BLOB, hardware_aaguids, denied_aaguids,
 * synced_passkeys) and the verdict on a stored credential: hardware or
 * passkey, and why (webauthn_trust.h).
 *
 * Invariant: the only way to "hardware" is an attestation chain, kept in the
 * record at registration, that X509_verify_cert accepts against the
 * operator's roots or the MDS roots of the key's own model, checked at the
 * time the key was registered (attestation certificates may expire later;
 * Apple's last days). Everything else in the record is evidence against. */
#include "webauthn_trust.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../authd/config.h"
#include "../authd/log.h"
#include "../lib/b64.h"
#include "../lib/util.h"
#include "fido_mds.h"
#include "webauthn.h"
#include "webauthn_attest.h"

#define AAGUID_LIST_MAX 1024

struct trust {
	STACK_OF(X509) *roots;             /* attestation_roots; NULL when unset */
	struct fido_mds *mds;              /* mds_blob; NULL when unset */
	uint8_t (*hardware)[16];           /* hardware_aaguids */
	size_t n_hardware;
	uint8_t (*denied)[16];             /* denied_aaguids */
	size_t n_denied;
	enum wa_synced synced;
};

static struct trust *tc;

static const char *const why_names[] = { "root", "mds", "none", "self", "unverified", "nochain",
	"notlisted", "mds_status", "synced", "legacy", "denied" };

const char *
wa_why_name(enum wa_why why)
{
	return (unsigned)why < sizeof(why_names) / sizeof(why_names[0]) ? why_names[why] : "?";
}

static void
trust_free(struct trust *t)
{
	if (t == NULL)
		return;
	sk_X509_pop_free(t->roots, X509_free);
	fido_mds_free(t->mds);
	free(t->hardware);
	free(t->denied);
	free(t);
}

void
wa_trust_fini(void)
{
	trust_free(tc);
	tc = NULL;
}

int
wa_aaguid_list(const char *s, uint8_t (**out)[16], size_t *n)
{
	uint8_t (*a)[16] = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	while (s != NULL && *s) {
		char hex[33];
		size_t len, i, k = 0;

		s += strspn(s, " ,\t");
		len = strcspn(s, " ,\t");
		if (len == 0)
			break;
		for (i = 0; i < len; i++) {
			if (s[i] == '-')
				continue;
			if (k == 32 || !isxdigit((unsigned char)s[i]))
				goto bad;
			hex[k++] = s[i];
		}
		hex[k] = '\0';
		if (k != 32 || *n == AAGUID_LIST_MAX)
			goto bad;
		if (*n == cap) {
			void *grown = realloc(a, (cap = cap ? cap * 2 : 8) * sizeof(*a));

			if (grown == NULL)
				goto bad;
			a = grown;
		}
		if (hex_decode(a[*n], 16, hex) != 0)
			goto bad;
		(*n)++;
		s += len;
	}
	*out = a;
	return 0;
bad:
	free(a);
	*n = 0;
	return -1;
}

static int
listed(uint8_t (*list)[16], size_t n, const uint8_t aaguid[16])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(list[i], aaguid, 16) == 0)
			return 1;
	return 0;
}

int
wa_trust_denied(const uint8_t aaguid[16])
{
	return tc != NULL && listed(tc->denied, tc->n_denied, aaguid);
}

void
wa_trust_summary(struct wa_trust_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (tc == NULL)
		return;
	s->roots = tc->roots != NULL ? sk_X509_num(tc->roots) : 0;
	s->mds_serial = fido_mds_serial(tc->mds);
	s->mds_models = fido_mds_count(tc->mds);
	s->mds_next_update = fido_mds_next_update(tc->mds);
	s->hardware_aaguids = tc->n_hardware;
	s->denied_aaguids = tc->n_denied;
}

enum wa_synced
wa_trust_synced(void)
{
	return tc != NULL ? tc->synced : WA_SYNCED_AAL2;
}

static int
err_out(char *err, size_t errsz, const char *msg)
{
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s", msg);
	return -1;
}

/* The certificates of a PEM bundle, each with its extensions cached now, so
 * that threads only ever read them. */
static STACK_OF(X509) *
pem_certs(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_file(path, "r");
	X509 *x;

	if (sk == NULL || b == NULL) {
		BIO_free(b);
		sk_X509_free(sk);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		X509_check_purpose(x, -1, 0);
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

int
wa_trust_configure(const struct conf *c, time_t now, char *err, size_t errsz)
{
	struct trust *n = calloc(1, sizeof(*n));
	const char *s;
	char msg[512];

	if (n == NULL)
		return err_out(err, errsz, "out of memory");
	s = c->webauthn_synced_passkeys != NULL ? c->webauthn_synced_passkeys : "aal2";
	if (strcmp(s, "aal2") == 0)
		n->synced = WA_SYNCED_AAL2;
	else if (strcmp(s, "aal1") == 0)
		n->synced = WA_SYNCED_AAL1;
	else if (strcmp(s, "refuse") == 0)
		n->synced = WA_SYNCED_REFUSE;
	else {
		trust_free(n);
		return err_out(err, errsz, "[webauthn] synced_passkeys must be aal2, aal1 or refuse");
	}
	if (wa_aaguid_list(c->webauthn_hardware_aaguids, &n->hardware, &n->n_hardware) != 0) {
		trust_free(n);
		return err_out(err, errsz, "[webauthn] hardware_aaguids: a list of AAGUIDs "
		    "(32 hexadecimal digits each, dashes allowed), at most 1024");
	}
	if (wa_aaguid_list(c->webauthn_denied_aaguids, &n->denied, &n->n_denied) != 0) {
		trust_free(n);
		return err_out(err, errsz, "[webauthn] denied_aaguids: a list of AAGUIDs "
		    "(32 hexadecimal digits each, dashes allowed), at most 1024");
	}
	if (c->webauthn_attestation_roots != NULL &&
	    (n->roots = pem_certs(c->webauthn_attestation_roots)) == NULL) {
		snprintf(msg, sizeof(msg), "[webauthn] attestation_roots: no PEM certificate in %s",
		    c->webauthn_attestation_roots);
		trust_free(n);
		return err_out(err, errsz, msg);
	}
	if (c->webauthn_mds_blob != NULL &&
	    fido_mds_load(c->webauthn_mds_blob, c->webauthn_mds_root, c->webauthn_mds_crls, now,
	    &n->mds, msg, sizeof(msg)) != 0) {
		trust_free(n);
		return err_out(err, errsz, msg);
	}
	wa_trust_fini();
	tc = n;
	return 0;
}

/* ---------------------------------------------------------------- the verdict */

static void subject_cn(X509 *x, char *out, size_t n);

/* 1 when leaf (with the untrusted rest) chains to one of anchors at time at;
 * why gets the anchor's CN, or the reason it does not chain. Partial chains
 * are allowed: an MDS entry or an operator may name an intermediate as the
 * anchor. */
static int
chain_ok(X509 *leaf, STACK_OF(X509) *rest, STACK_OF(X509) *anchors, time_t at, char *why,
         size_t whysz)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *built;
	int ok = 0;

	if (st != NULL && ctx != NULL && X509_STORE_CTX_init(ctx, st, leaf, rest) == 1) {
		X509_STORE_CTX_set0_trusted_stack(ctx, anchors);
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			snprintf(why, whysz, "%s",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		else if ((built = X509_STORE_CTX_get0_chain(ctx)) != NULL && sk_X509_num(built) > 0)
			subject_cn(sk_X509_value(built, sk_X509_num(built) - 1), why, whysz);
	}
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* Once per process: the BLOB went stale while authd ran. Keys it vouched
 * for are passkeys from now on (fail closed) until a fresh one is loaded. */
static void
mds_stale_warn(void)
{
	static atomic_int said;

	if (atomic_exchange(&said, 1) == 0)
		log_msg(LOG_ERROR, "the FIDO MDS BLOB passed its nextUpdate: its models no longer "
		    "count as hardware; download a fresh BLOB (docs/webauthn.md) and restart authd",
		    NULL);
}

/* The record's "x5c" (base64url DER, leaf first) as certificates. */
static STACK_OF(X509) *
rec_chain(const json_t *rec)
{
	const json_t *a = json_object_get(rec, "x5c"), *v;
	STACK_OF(X509) *sk;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > WA_X5C_MAX ||
	    (sk = sk_X509_new_null()) == NULL)
		return NULL;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		uint8_t *der;
		const unsigned char *p;
		size_t n = 0;
		X509 *x = NULL;

		if (s != NULL && strlen(s) <= (WA_CERT_MAX * 4 + 2) / 3 &&
		    (der = b64url_decode_alloc(s, strlen(s), &n)) != NULL) {
			p = der;
			x = d2i_X509(NULL, &p, (long)n);
			if (x != NULL && p != der + n) {
				X509_free(x);
				x = NULL;
			}
			free(der);
		}
		if (x == NULL || !sk_X509_push(sk, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			return NULL;
		}
	}
	return sk;
}

static void
subject_cn(X509 *x, char *out, size_t n)
{
	const X509_NAME *nm = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	const ASN1_STRING *s = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)) : NULL;

	snprintf(out, n, "%.*s", s != NULL ? ASN1_STRING_length(s) : 0,
	    s != NULL ? (const char *)ASN1_STRING_get0_data(s) : "");
}

void
wa_trust_eval(const json_t *rec, time_t now, struct wa_verdict *v)
{
	static const uint8_t zero[16];
	uint8_t aaguid[16] = { 0 }, keyid[20];
	unsigned kl = 0;
	const char *hex = json_string_value(json_object_get(rec, "aaguid"));
	const struct fido_mds_entry *e = NULL;
	STACK_OF(X509) *chain = NULL, *rest = NULL;
	X509 *leaf;
	json_int_t created = json_integer_value(json_object_get(rec, "created"));
	time_t at = created > 0 ? (time_t)created : now;
	char why[128] = "no trusted attestation root is configured";
	int att, ok_root = 0, ok_mds = 0;

	memset(v, 0, sizeof(*v));
	if (hex == NULL || hex_decode(aaguid, 16, hex) != 0)
		memset(aaguid, 0, sizeof(aaguid));
	if (tc != NULL && listed(tc->denied, tc->n_denied, aaguid)) {
		v->denied = 1;
		v->why = WA_WHY_DENIED;
		snprintf(v->detail, sizeof(v->detail), "AAGUID %s is on denied_aaguids",
		    hex != NULL ? hex : "?");
		return;
	}
	if (json_is_true(json_object_get(rec, "be"))) {
		v->why = WA_WHY_SYNCED;
		snprintf(v->detail, sizeof(v->detail), "backup eligible (a synced passkey)");
		return;
	}
	att = wa_att_type_from_name(json_string_value(json_object_get(rec, "att")));
	if (att < 0) {
		/* Written before chains were kept: "attested" said only that some
		 * certificate signed; nothing left to check it against a root. */
		v->why = json_object_get(rec, "attested") != NULL ? WA_WHY_LEGACY : WA_WHY_NONE;
		snprintf(v->detail, sizeof(v->detail), "%s", v->why == WA_WHY_LEGACY ?
		    "registered before attestation chains were checked" : "no attestation");
		return;
	}
	if (att == WA_ATT_NONE || att == WA_ATT_SELF || att == WA_ATT_UNVERIFIED) {
		const char *note = json_string_value(json_object_get(rec, "att_note"));

		v->why = att == WA_ATT_NONE ? WA_WHY_NONE : att == WA_ATT_SELF ? WA_WHY_SELF :
		    WA_WHY_UNVERIFIED;
		snprintf(v->detail, sizeof(v->detail), "%s", att == WA_ATT_UNVERIFIED ?
		    (note != NULL ? note : "not verified") :
		    att == WA_ATT_SELF ? "self attestation" : "no attestation");
		return;
	}
	v->why = WA_WHY_NOCHAIN;
	if ((chain = rec_chain(rec)) == NULL || (rest = sk_X509_dup(chain)) == NULL) {
		snprintf(v->detail, sizeof(v->detail), "its attestation chain cannot be read");
		goto out;
	}
	leaf = sk_X509_shift(rest);
	/* The model: by AAGUID, or (U2F keys have none) by the attestation
	 * certificate's key identifier. */
	if (tc != NULL && tc->mds != NULL) {
		if (memcmp(aaguid, zero, 16) != 0)
			e = fido_mds_find_aaguid(tc->mds, aaguid);
		else if (X509_pubkey_digest(leaf, EVP_sha1(), keyid, &kl) == 1 && kl == 20)
			e = fido_mds_find_keyid(tc->mds, keyid);
	}
	if (e != NULL && e->compromised) {
		v->why = WA_WHY_MDS_STATUS;
		snprintf(v->detail, sizeof(v->detail), "FIDO MDS status %.39s%s%.60s", e->status,
		    e->description[0] ? " for " : "", e->description);
		goto out;
	}
	if (tc != NULL && tc->roots != NULL)
		ok_root = chain_ok(leaf, rest, tc->roots, at, why, sizeof(why));
	if (!ok_root && e != NULL && sk_X509_num(e->roots) > 0) {
		if (!fido_mds_current(tc->mds, now)) {
			snprintf(why, sizeof(why), "the FIDO MDS BLOB is past its nextUpdate");
			mds_stale_warn();
		}
		else
			ok_mds = chain_ok(leaf, rest, e->roots, at, why, sizeof(why));
	}
	if (!ok_root && !ok_mds) {
		snprintf(v->detail, sizeof(v->detail), "does not chain to a trusted root: %.90s", why);
		goto out;
	}
	if (tc->n_hardware > 0 && !listed(tc->hardware, tc->n_hardware, aaguid)) {
		v->why = WA_WHY_NOTLISTED;
		snprintf(v->detail, sizeof(v->detail), "AAGUID %s is not on hardware_aaguids",
		    hex != NULL ? hex : "?");
		goto out;
	}
	v->hardware = 1;
	v->why = ok_root ? WA_WHY_ROOT : WA_WHY_MDS;
	if (ok_mds && e->description[0])
		snprintf(v->detail, sizeof(v->detail), "FIDO MDS: %.60s (root %.40s)", e->description,
		    why);
	else
		snprintf(v->detail, sizeof(v->detail), "chains to %s root %.80s",
		    ok_root ? "the attestation_roots" : "the FIDO MDS", why);
out:
	sk_X509_free(rest);
	sk_X509_pop_free(chain, X509_free);
}

/* modules/webauthn.c — FIDO2 / WebAuthn security keys and passkeys: the
 * verifier (clientDataJSON with jansson, attestation objects and authenticator
 * data with libcbor, attestations and assertion signatures with libfido2), the
 * credential records and their indexes, the sign-in method (a first step with
 * discoverable credentials, or a later step with allowCredentials), the
 * account-page section's data (share/templates/account-webauthn.html) and its
 * POST /account/webauthn. The page script is share/static/webauthn.js.
 *
 * Configuration (struct wa_cfg) is set by webauthn_configure() before worker
 * threads start and is read-only afterwards, so the verifier needs no lock.
 *
 * What a success proves (docs/webauthn.md): always possession of the key
 * (FACTOR_HAVE) bound to our origin (PROP_PHISHING_RESISTANT) by a signature
 * over a fresh challenge (PROP_REPLAY_RESISTANT). "hwk" and PROP_HARDWARE only
 * for a key that webauthn_trust.c judges verified hardware at the time of use:
 * its attestation chain ends at a root the operator trusts (attestation_roots
 * or the FIDO MDS roots of its model) and it is not a synced passkey;
 * otherwise "swk", whatever the key claims. UV set: "user" and "pin", and
 * FACTOR_KNOW (a PIN or a biometric unlocked the key; we cannot tell which,
 * and every UV-capable security key has a PIN) — except for a synced passkey
 * under synced_passkeys = aal1, whose UV is not counted. */
#include "webauthn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>

#include "../authd/account.h"
#include "../authd/audit.h"
#include "../authd/authd.h"
#include "../authd/config.h"
#include "../authd/log.h"
#include "../authd/oidc/oidc.h"
#include "../authd/policy.h"
#include "../authd/ui.h"
#include "../authd/users.h"
#include "../lib/b64.h"
#include "../lib/util.h"
#include "webauthn_attest.h"
#include "webauthn_trust.h"

enum wa_uv { UV_DISCOURAGED, UV_PREFERRED, UV_REQUIRED };

struct wa_cfg {
	char rp_id[256];
	char rp_name[128];
	char *origins[WA_MAX_ORIGINS];
	int n_origins;
	enum wa_uv uv;
	int attestation_direct;
	int timeout_ms;
};

static struct wa_cfg *cfg;

const char *
webauthn_strerror(int err)
{
	switch (err) {
	case WA_OK: return "ok";
	case WA_MALFORMED: return "malformed";
	case WA_TYPE: return "wrong clientData type";
	case WA_CHALLENGE: return "wrong challenge";
	case WA_ORIGIN: return "origin not allowed";
	case WA_RP: return "wrong rpIdHash";
	case WA_UP: return "user presence missing";
	case WA_UV: return "user verification missing";
	case WA_ATTESTATION: return "attestation does not verify";
	case WA_ALG: return "unsupported algorithm";
	case WA_SIGNATURE: return "signature does not verify";
	case WA_COUNTER: return "signature counter did not increase";
	case WA_UNKNOWN: return "unknown credential";
	case WA_DENIED: return "this model of key is denied";
	case WA_SYNCED: return "synced passkeys are refused";
	case WA_BACKUP: return "backup flags inconsistent or changed";
	default: return "internal error";
	}
}

/* ---------------------------------------------------------------- config */

static void
cfg_free(struct wa_cfg *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_origins; i++)
		free(c->origins[i]);
	free(c);
}

void
webauthn_fini(void)
{
	cfg_free(cfg);
	cfg = NULL;
	wa_trust_fini();
}

/* The issuer's origin (scheme://host[:port]) and host, from a checked issuer. */
static int
issuer_parts(const char *iss, char *origin, size_t osz, char *host, size_t hsz)
{
	const char *p = strstr(iss, "://"), *h, *end, *hend;

	if (p == NULL)
		return -1;
	h = p + 3;
	end = h + strcspn(h, "/");
	if ((size_t)(end - iss) >= osz)
		return -1;
	memcpy(origin, iss, (size_t)(end - iss));
	origin[end - iss] = '\0';
	if (*h == '[') {
		hend = strchr(h, ']');
		if (hend == NULL || hend > end)
			return -1;
		hend++;
	} else {
		hend = h + strcspn(h, ":/");
	}
	if (hend == h || (size_t)(hend - h) >= hsz)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	return 0;
}

static int
cfg_err(char *err, size_t errsz, const char *msg)
{
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s", msg);
	return -1;
}

int
webauthn_configure(const struct conf *c, char *err, size_t errsz)
{
	char origin[512], host[256];
	struct wa_cfg *n;
	const char *s;

	if (c == NULL || c->issuer == NULL ||
	    issuer_parts(c->issuer, origin, sizeof(origin), host, sizeof(host)) != 0)
		return cfg_err(err, errsz, "[webauthn] needs a valid [server] issuer");
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return cfg_err(err, errsz, "out of memory");
	s = c->webauthn_rp_id != NULL && *c->webauthn_rp_id ? c->webauthn_rp_id : host;
	if (strlen(s) >= sizeof(n->rp_id) || strpbrk(s, "/:[] ") != NULL) {
		cfg_free(n);
		return cfg_err(err, errsz, "[webauthn] rp_id must be a host name (no scheme, port or path)");
	}
	snprintf(n->rp_id, sizeof(n->rp_id), "%s", s);
	snprintf(n->rp_name, sizeof(n->rp_name), "%s",
	    c->webauthn_rp_name != NULL && *c->webauthn_rp_name ? c->webauthn_rp_name : "City SSO");
	if (c->webauthn_origins != NULL && *c->webauthn_origins) {
		const char *p = c->webauthn_origins;

		while (*p) {
			size_t len;

			p += strspn(p, " ,");
			len = strcspn(p, ",");
			while (len > 0 && p[len - 1] == ' ')
				len--;
			if (len == 0)
				break;
			if (n->n_origins == WA_MAX_ORIGINS || len > 255 ||
			    (strncmp(p, "https://", 8) != 0 && strncmp(p, "http://localhost", 16) != 0)) {
				cfg_free(n);
				return cfg_err(err, errsz, "[webauthn] origins: at most 8 origins, each "
				    "https://host[:port] (or http://localhost[:port])");
			}
			if ((n->origins[n->n_origins] = strndup(p, len)) == NULL) {
				cfg_free(n);
				return cfg_err(err, errsz, "out of memory");
			}
			n->n_origins++;
			p += len;
			p += strcspn(p, ",");
		}
	}
	if (n->n_origins == 0) {
		if ((n->origins[0] = strdup(origin)) == NULL) {
			cfg_free(n);
			return cfg_err(err, errsz, "out of memory");
		}
		n->n_origins = 1;
	}
	s = c->webauthn_uv != NULL ? c->webauthn_uv : "preferred";
	if (strcmp(s, "required") == 0)
		n->uv = UV_REQUIRED;
	else if (strcmp(s, "preferred") == 0)
		n->uv = UV_PREFERRED;
	else if (strcmp(s, "discouraged") == 0)
		n->uv = UV_DISCOURAGED;
	else {
		cfg_free(n);
		return cfg_err(err, errsz, "[webauthn] user_verification must be required, preferred or discouraged");
	}
	s = c->webauthn_attestation != NULL ? c->webauthn_attestation : "direct";
	if (strcmp(s, "direct") != 0 && strcmp(s, "none") != 0) {
		cfg_free(n);
		return cfg_err(err, errsz, "[webauthn] attestation must be direct or none");
	}
	n->attestation_direct = strcmp(s, "direct") == 0;
	n->timeout_ms = c->webauthn_timeout_ms > 0 ? c->webauthn_timeout_ms : 120000;
	/* The trust configuration last: it reads files (the MDS BLOB is checked
	 * here, so a bad or stale one stops authd with the reason). */
	if (wa_trust_configure(c, now_s(), err, errsz) != 0) {
		cfg_free(n);
		return -1;
	}
	cfg_free(cfg);
	cfg = n;
	return 0;
}

/* ---------------------------------------------------------------- parsing */

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of the one CBOR item at p, or 0 when it is not well formed within n
 * bytes. Run before libcbor sees any input: every declared length must fit in
 * what is left (an array of k items needs at least k bytes), so libcbor never
 * allocates for more items than the input holds (cbor_load sizes arrays and
 * maps from the header); nesting is at most 8 deep and indefinite lengths are
 * refused (CTAP2 canonical CBOR has none). The work is bounded by n. */
static size_t
cbor_item_len(const uint8_t *p, size_t n, int depth)
{
	uint8_t mt, ai;
	uint64_t v = 0;
	size_t off = 1, i, l;

	if (n == 0 || depth > 8)
		return 0;
	mt = p[0] >> 5;
	ai = p[0] & 31;
	if (ai < 24) {
		v = ai;
	} else if (ai <= 27) {
		size_t w = (size_t)1 << (ai - 24);

		if (n - 1 < w)
			return 0;
		for (i = 0; i < w; i++)
			v = v << 8 | p[1 + i];
		off += w;
	} else {
		return 0;
	}
	switch (mt) {
	case 0:
	case 1:
	case 7:
		return off;
	case 2:
	case 3:
		return v <= n - off ? off + (size_t)v : 0;
	case 4:
	case 5:
		if (v > (n - off) / (mt == 5 ? 2 : 1))
			return 0;
		for (i = 0; i < (size_t)v * (mt == 5 ? 2 : 1); i++) {
			if ((l = cbor_item_len(p + off, n - off, depth + 1)) == 0)
				return 0;
			off += l;
		}
		return off;
	default:	/* 6: a tag and its item */
		l = cbor_item_len(p + off, n - off, depth + 1);
		return l != 0 ? off + l : 0;
	}
}

size_t
webauthn_cbor_item_len(const uint8_t *p, size_t n)
{
	return p != NULL ? cbor_item_len(p, n, 0) : 0;
}

/* cbor_load of exactly the one item at p (whose length the walker checked). */
static cbor_item_t *
cbor_load_one(const uint8_t *p, size_t n, size_t *len)
{
	struct cbor_load_result res;
	cbor_item_t *it;
	size_t l = cbor_item_len(p, n, 0);

	if (l == 0)
		return NULL;
	it = cbor_load(p, l, &res);
	if (it != NULL && (res.error.code != CBOR_ERR_NONE || res.read != l)) {
		cbor_decref(&it);
		return NULL;
	}
	if (it != NULL)
		*len = l;
	return it;
}

/* A CBOR integer as a signed value; -1 when it is not an integer in range. */
static int
cbor_int(const cbor_item_t *it, long *out)
{
	uint64_t v;

	if (cbor_isa_uint(it)) {
		v = cbor_get_int(it);
		if (v > 0x7fffffff)
			return -1;
		*out = (long)v;
		return 0;
	}
	if (cbor_isa_negint(it)) {
		v = cbor_get_int(it);
		if (v > 0x7fffffff)
			return -1;
		*out = -1 - (long)v;
		return 0;
	}
	return -1;
}

static int
cbor_text_is(const cbor_item_t *it, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
	    memcmp(cbor_string_handle(it), s, n) == 0;
}

static int
cbor_bytes(const cbor_item_t *it, uint8_t **out, size_t *len, size_t max)
{
	size_t n;

	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return -1;
	n = cbor_bytestring_length(it);
	if (n == 0 || n > max || (*out = malloc(n)) == NULL)
		return -1;
	memcpy(*out, cbor_bytestring_handle(it), n);
	*len = n;
	return 0;
}

/* The COSE key's alg (label 3); the key must be a definite map. */
static int
cose_alg(const cbor_item_t *key, int *alg)
{
	struct cbor_pair *pairs;
	size_t i;
	long label, v;

	if (!cbor_isa_map(key) || !cbor_map_is_definite(key))
		return -1;
	pairs = cbor_map_handle(key);
	for (i = 0; i < cbor_map_size(key); i++) {
		if (cbor_int(pairs[i].key, &label) == 0 && label == 3) {
			if (cbor_int(pairs[i].value, &v) != 0)
				return -1;
			*alg = (int)v;
			return 0;
		}
	}
	return -1;
}

int
webauthn_authdata_parse(const uint8_t *p, size_t n, struct wa_authdata *out)
{
	cbor_item_t *it;
	size_t off = 37, len = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL || n < 37)
		return WA_MALFORMED;
	out->rp_id_hash = p;
	out->flags = p[32];
	out->sign_count = be32(p + 33);
	if (out->flags & WA_FLAG_AT) {
		size_t idlen;
		int alg = 0;

		if (n - off < 18)
			return WA_MALFORMED;
		out->aaguid = p + off;
		idlen = (size_t)p[off + 16] << 8 | p[off + 17];
		off += 18;
		if (idlen == 0 || idlen > WA_CRED_ID_MAX || n - off < idlen)
			return WA_MALFORMED;
		out->cred_id = p + off;
		out->cred_id_len = idlen;
		off += idlen;
		if (off >= n)
			return WA_MALFORMED;
		if ((it = cbor_load_one(p + off, n - off, &len)) == NULL)
			return WA_MALFORMED;
		if (cose_alg(it, &alg) != 0) {
			cbor_decref(&it);
			return WA_MALFORMED;
		}
		cbor_decref(&it);
		out->cose = p + off;
		out->cose_len = len;
		out->alg = alg;
		out->has_cred = 1;
		off += len;
	}
	if (out->flags & WA_FLAG_ED) {
		/* Extension outputs: one CBOR map, and nothing after it. */
		if (off >= n)
			return WA_MALFORMED;
		if ((it = cbor_load_one(p + off, n - off, &len)) == NULL)
			return WA_MALFORMED;
		if (!cbor_isa_map(it)) {
			cbor_decref(&it);
			return WA_MALFORMED;
		}
		cbor_decref(&it);
		off += len;
	}
	return off == n ? WA_OK : WA_MALFORMED;
}

void
webauthn_att_free(struct wa_att *a)
{
	int i;

	if (a == NULL)
		return;
	free(a->authdata);
	free(a->sig);
	for (i = 0; i < a->n_x5c; i++)
		free(a->x5c[i]);
	free(a->cert_info);
	free(a->pub_area);
	memset(a, 0, sizeof(*a));
}

/* The formats whose attStmt authd reads (webauthn_attest.c verifies them). */
static int
fmt_known(const char *fmt)
{
	static const char *const known[] = { "packed", "fido-u2f", "tpm", "android-key", "apple",
		NULL };
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(fmt, known[i]) == 0)
			return 1;
	return 0;
}

/* attStmt of a known format: the members of WebAuthn §8 (alg, sig, x5c, ver,
 * certInfo, pubArea, ecdaaKeyId), each at most once; anything else is refused.
 * Which members a format needs is checked by its verifier. */
static int
att_stmt_parse(const cbor_item_t *st, struct wa_att *a)
{
	struct cbor_pair *pairs;
	size_t i, k;
	long v;

	if (!cbor_isa_map(st) || !cbor_map_is_definite(st))
		return -1;
	pairs = cbor_map_handle(st);
	for (i = 0; i < cbor_map_size(st); i++) {
		const cbor_item_t *key = pairs[i].key, *val = pairs[i].value;

		if (cbor_text_is(key, "alg")) {
			if (a->alg != 0 || cbor_int(val, &v) != 0 || v == 0)
				return -1;
			a->alg = (int)v;
		} else if (cbor_text_is(key, "sig")) {
			if (a->sig != NULL || cbor_bytes(val, &a->sig, &a->sig_len, WA_SIG_MAX) != 0)
				return -1;
		} else if (cbor_text_is(key, "x5c")) {
			if (a->n_x5c != 0 || !cbor_isa_array(val) || !cbor_array_is_definite(val) ||
			    cbor_array_size(val) < 1 || cbor_array_size(val) > WA_X5C_MAX)
				return -1;
			for (k = 0; k < cbor_array_size(val); k++) {
				if (cbor_bytes(cbor_array_handle(val)[k], &a->x5c[k], &a->x5c_len[k],
				    WA_CERT_MAX) != 0)
					return -1;
				a->n_x5c++;
			}
		} else if (cbor_text_is(key, "ver")) {
			size_t n;

			if (a->ver[0] || !cbor_isa_string(val) || !cbor_string_is_definite(val) ||
			    (n = cbor_string_length(val)) == 0 || n >= sizeof(a->ver) ||
			    memchr(cbor_string_handle(val), '\0', n) != NULL)
				return -1;
			memcpy(a->ver, cbor_string_handle(val), n);
			a->ver[n] = '\0';
		} else if (cbor_text_is(key, "certInfo")) {
			if (a->cert_info != NULL ||
			    cbor_bytes(val, &a->cert_info, &a->cert_info_len, WA_TPM_MAX) != 0)
				return -1;
		} else if (cbor_text_is(key, "pubArea")) {
			if (a->pub_area != NULL ||
			    cbor_bytes(val, &a->pub_area, &a->pub_area_len, WA_TPM_MAX) != 0)
				return -1;
		} else if (cbor_text_is(key, "ecdaaKeyId")) {
			if (a->ecdaa || !cbor_isa_bytestring(val))
				return -1;
			a->ecdaa = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

int
webauthn_att_parse(const uint8_t *p, size_t n, struct wa_att *out)
{
	cbor_item_t *it = NULL, *stmt = NULL;
	struct cbor_pair *pairs;
	int have_fmt = 0, rc = WA_MALFORMED;
	size_t i, len = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL || n == 0 || n > WA_ATT_MAX)
		return WA_MALFORMED;
	it = cbor_load_one(p, n, &len);
	if (it == NULL || len != n || !cbor_isa_map(it) ||
	    !cbor_map_is_definite(it) || cbor_map_size(it) != 3)
		goto out;
	pairs = cbor_map_handle(it);
	for (i = 0; i < 3; i++) {
		const cbor_item_t *k = pairs[i].key, *v = pairs[i].value;

		if (cbor_text_is(k, "fmt")) {
			size_t flen;

			if (have_fmt || !cbor_isa_string(v) || !cbor_string_is_definite(v) ||
			    (flen = cbor_string_length(v)) == 0 || flen >= sizeof(out->fmt))
				goto out;
			memcpy(out->fmt, cbor_string_handle(v), flen);
			out->fmt[flen] = '\0';
			if (strlen(out->fmt) != flen || strspn(out->fmt,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != flen)
				goto out;	/* an embedded NUL, or not a format name */
			have_fmt = 1;
		} else if (cbor_text_is(k, "authData")) {
			if (out->authdata != NULL ||
			    cbor_bytes(v, &out->authdata, &out->authdata_len, WA_ATT_MAX) != 0)
				goto out;
		} else if (cbor_text_is(k, "attStmt")) {
			if (stmt != NULL)
				goto out;
			stmt = (cbor_item_t *)v;
		} else {
			goto out;
		}
	}
	if (!have_fmt || out->authdata == NULL || stmt == NULL)
		goto out;
	if (strcmp(out->fmt, "none") == 0) {
		if (!cbor_isa_map(stmt) || cbor_map_size(stmt) != 0)
			goto out;
	} else if (!fmt_known(out->fmt)) {
		/* android-safetynet, compound, or one from the future: a well-formed
		 * map or array that authd does not read. */
		if (!cbor_isa_map(stmt) && !cbor_isa_array(stmt))
			goto out;
		out->unparsed = 1;
	} else if (att_stmt_parse(stmt, out) != 0) {
		goto out;
	}
	rc = WA_OK;
out:
	if (it != NULL)
		cbor_decref(&it);
	if (rc != WA_OK)
		webauthn_att_free(out);
	return rc;
}

/* ---------------------------------------------------------------- verifying */

static uint8_t *
b64_field(const char *s, size_t max, size_t *len)
{
	uint8_t *p;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > (max * 4 + 2) / 3)
		return NULL;
	if ((p = b64url_decode_alloc(s, n, len)) == NULL)
		return NULL;
	if (*len == 0 || *len > max) {
		free(p);
		return NULL;
	}
	return p;
}

static int
origin_allowed(const char *o)
{
	int i;

	for (i = 0; i < cfg->n_origins; i++)
		if (strcmp(cfg->origins[i], o) == 0)
			return 1;
	return 0;
}

/* clientDataJSON (WebAuthn §5.8.1): parsed as JSON, since browsers add
 * members (and may order them as they like); unknown members are ignored. */
static int
client_data_check(const uint8_t *cdj, size_t n, const char *type, const char *challenge)
{
	json_t *j;
	const char *t, *ch, *o;
	json_t *co;
	int rc;

	if ((j = json_loadb((const char *)cdj, n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return WA_MALFORMED;
	t = json_string_value(json_object_get(j, "type"));
	ch = json_string_value(json_object_get(j, "challenge"));
	o = json_string_value(json_object_get(j, "origin"));
	co = json_object_get(j, "crossOrigin");
	if (!json_is_object(j) || t == NULL || ch == NULL || o == NULL)
		rc = WA_MALFORMED;
	else if (strcmp(t, type) != 0)
		rc = WA_TYPE;
	else if (challenge == NULL || strlen(ch) != strlen(challenge) ||
	    !ct_equal(ch, challenge, strlen(challenge)))
		rc = WA_CHALLENGE;
	else if (!origin_allowed(o) || (co != NULL && !json_is_false(co)))
		rc = WA_ORIGIN;	/* a call from an embedded frame of another site */
	else
		rc = WA_OK;
	json_decref(j);
	return rc;
}

static int
flags_check(const struct wa_authdata *ad, int uv_required)
{
	uint8_t h[SHA256_LEN];

	sha256(cfg->rp_id, strlen(cfg->rp_id), h);
	if (memcmp(h, ad->rp_id_hash, SHA256_LEN) != 0)
		return WA_RP;
	if (!(ad->flags & WA_FLAG_UP))
		return WA_UP;
	if (uv_required && !(ad->flags & WA_FLAG_UV))
		return WA_UV;
	return WA_OK;
}

static int
alg_ok(int alg)
{
	return alg == COSE_ES256 || alg == COSE_EDDSA || alg == COSE_RS256;
}

static int
set_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = b64url_encode_alloc(p, n);
	int rc;

	if (s == NULL)
		return -1;
	rc = json_object_set_new(o, key, json_string(s));
	free(s);
	return rc;
}

static int
set_x5c(json_t *o, const struct wa_att *att)
{
	json_t *a = json_array();
	int i;

	if (a == NULL)
		return -1;
	for (i = 0; i < att->n_x5c; i++) {
		char *b = b64url_encode_alloc(att->x5c[i], att->x5c_len[i]);

		if (b == NULL || json_array_append_new(a, json_string(b)) != 0) {
			free(b);
			json_decref(a);
			return -1;
		}
		free(b);
	}
	return json_object_set_new(o, "x5c", a);
}

/* 1 when the record's model (AAGUID) is on denied_aaguids now. */
static int
cred_denied(const json_t *rec)
{
	uint8_t aaguid[16];
	const char *hex = json_string_value(json_object_get(rec, "aaguid"));

	return hex != NULL && hex_decode(aaguid, 16, hex) == 0 && wa_trust_denied(aaguid);
}

/* WebAuthn L3 §7.1 step 16 / §7.2 step 17: BS only with BE. */
static int
backup_flags_ok(uint8_t flags)
{
	return (flags & WA_FLAG_BE) || !(flags & WA_FLAG_BS);
}

int
webauthn_register_verify(const char *client_data_b64, const char *att_obj_b64,
                         const char *challenge, int uv_required, json_t **rec)
{
	uint8_t *cdj = NULL, *ao = NULL, cdh[SHA256_LEN];
	size_t cdj_len = 0, ao_len = 0;
	struct wa_att att = { 0 };
	struct wa_authdata ad;
	struct wa_evidence ev;
	struct wa_verdict v;
	fido_cred_t *c = NULL;
	json_t *r = NULL;
	char hex[33];
	int rc, keep_chain;

	*rec = NULL;
	if (cfg == NULL)
		return WA_INTERNAL;
	if ((cdj = b64_field(client_data_b64, WA_CDJ_MAX, &cdj_len)) == NULL ||
	    (ao = b64_field(att_obj_b64, WA_ATT_MAX, &ao_len)) == NULL) {
		rc = WA_MALFORMED;
		goto out;
	}
	if ((rc = client_data_check(cdj, cdj_len, "webauthn.create", challenge)) != WA_OK)
		goto out;
	if ((rc = webauthn_att_parse(ao, ao_len, &att)) != WA_OK)
		goto out;
	if ((rc = webauthn_authdata_parse(att.authdata, att.authdata_len, &ad)) != WA_OK)
		goto out;
	if (!ad.has_cred) {
		rc = WA_MALFORMED;
		goto out;
	}
	if ((rc = flags_check(&ad, uv_required)) != WA_OK)
		goto out;
	if (!backup_flags_ok(ad.flags)) {
		rc = WA_BACKUP;
		goto out;
	}
	if (!alg_ok(ad.alg)) {
		rc = WA_ALG;
		goto out;
	}
	sha256(cdj, cdj_len, cdh);
	/* libfido2 decodes the credential key into the form the assertions are
	 * verified with (the type first: it reads the COSE key by it). */
	if ((c = fido_cred_new()) == NULL) {
		rc = WA_INTERNAL;
		goto out;
	}
	if (fido_cred_set_type(c, ad.alg) != FIDO_OK) {
		rc = WA_INTERNAL;
		goto out;
	}
	if (fido_cred_set_authdata_raw(c, att.authdata, att.authdata_len) != FIDO_OK ||
	    fido_cred_pubkey_len(c) == 0) {
		rc = WA_MALFORMED;	/* a COSE key libfido2 cannot use */
		goto out;
	}
	if ((rc = wa_attest_verify(&att, &ad, cdh, &ev)) != WA_OK)
		goto out;
	/* The chain is the evidence webauthn_trust.c judges, now and later. */
	keep_chain = ev.type == WA_ATT_BASIC || ev.type == WA_ATT_ANONCA;
	hex_encode(hex, ad.aaguid, 16);
	if ((r = json_pack("{s:i, s:I, s:s, s:s, s:s, s:b, s:b, s:b, s:b}", "alg", ad.alg,
	    "sign_count", (json_int_t)ad.sign_count, "aaguid", hex, "fmt", att.fmt,
	    "att", wa_att_type_name(ev.type), "be", (ad.flags & WA_FLAG_BE) != 0,
	    "bs", (ad.flags & WA_FLAG_BS) != 0, "uv", (ad.flags & WA_FLAG_UV) != 0,
	    "suspicious", 0)) == NULL ||
	    (ev.note != NULL && json_object_set_new(r, "att_note", json_string(ev.note)) != 0) ||
	    (keep_chain && set_x5c(r, &att) != 0) ||
	    set_b64(r, "credential_id", ad.cred_id, ad.cred_id_len) != 0 ||
	    set_b64(r, "cose", ad.cose, ad.cose_len) != 0 ||
	    set_b64(r, "pk", fido_cred_pubkey_ptr(c), fido_cred_pubkey_len(c)) != 0) {
		json_decref(r);
		rc = WA_INTERNAL;
		goto out;
	}
	/* Refused outright: a denied model; a synced passkey where the city's
	 * policy wants none. */
	wa_trust_eval(r, now_s(), &v);
	if (v.denied || ((ad.flags & WA_FLAG_BE) && wa_trust_synced() == WA_SYNCED_REFUSE)) {
		json_decref(r);
		rc = v.denied ? WA_DENIED : WA_SYNCED;
		goto out;
	}
	*rec = r;
	rc = WA_OK;
out:
	fido_cred_free(&c);
	webauthn_att_free(&att);
	free(cdj);
	free(ao);
	return rc;
}

/* Verifies sig over authData || cdh with the stored key (libfido2's form). */
static int
assert_sig_verify(int alg, const uint8_t *pk, size_t pklen, const uint8_t *ad, size_t adlen,
                  const uint8_t cdh[SHA256_LEN], const uint8_t *sig, size_t siglen, int uv_required)
{
	fido_assert_t *a = NULL;
	es256_pk_t *es = NULL;
	rs256_pk_t *rs = NULL;
	eddsa_pk_t *ed = NULL;
	const void *key = NULL;
	int rc = WA_INTERNAL;

	switch (alg) {
	case COSE_ES256:
		if ((es = es256_pk_new()) != NULL && es256_pk_from_ptr(es, pk, pklen) == FIDO_OK)
			key = es;
		break;
	case COSE_RS256:
		if ((rs = rs256_pk_new()) != NULL && rs256_pk_from_ptr(rs, pk, pklen) == FIDO_OK)
			key = rs;
		break;
	case COSE_EDDSA:
		if ((ed = eddsa_pk_new()) != NULL && eddsa_pk_from_ptr(ed, pk, pklen) == FIDO_OK)
			key = ed;
		break;
	default:
		break;
	}
	if (key == NULL)
		goto out;
	if ((a = fido_assert_new()) == NULL || fido_assert_set_count(a, 1) != FIDO_OK ||
	    fido_assert_set_rp(a, cfg->rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(a, cdh, SHA256_LEN) != FIDO_OK ||
	    fido_assert_set_up(a, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_assert_set_uv(a, uv_required ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK)
		goto out;
	if (fido_assert_set_authdata_raw(a, 0, ad, adlen) != FIDO_OK ||
	    fido_assert_set_sig(a, 0, sig, siglen) != FIDO_OK) {
		rc = WA_MALFORMED;
		goto out;
	}
	rc = fido_assert_verify(a, 0, alg, key) == FIDO_OK ? WA_OK : WA_SIGNATURE;
out:
	fido_assert_free(&a);
	es256_pk_free(&es);
	rs256_pk_free(&rs);
	eddsa_pk_free(&ed);
	return rc;
}

int
webauthn_assert_verify(const json_t *rec, const char *client_data_b64, const char *authdata_b64,
                       const char *sig_b64, const char *challenge, int uv_required,
                       uint8_t *flags, uint32_t *count)
{
	uint8_t *cdj = NULL, *ad = NULL, *sig = NULL, *pk = NULL, cdh[SHA256_LEN];
	size_t cdj_len = 0, ad_len = 0, sig_len = 0, pk_len = 0;
	struct wa_authdata d;
	json_int_t stored;
	int rc, alg;

	if (cfg == NULL || rec == NULL)
		return WA_INTERNAL;
	if (json_is_true(json_object_get(rec, "suspicious")))
		return WA_UNKNOWN;	/* a counter regression took it out of use */
	alg = (int)json_integer_value(json_object_get(rec, "alg"));
	stored = json_integer_value(json_object_get(rec, "sign_count"));
	if (!alg_ok(alg) || (pk = b64_field(json_string_value(json_object_get(rec, "pk")), 1024,
	    &pk_len)) == NULL) {
		rc = WA_INTERNAL;	/* a record we did not write */
		goto out;
	}
	if ((cdj = b64_field(client_data_b64, WA_CDJ_MAX, &cdj_len)) == NULL ||
	    (ad = b64_field(authdata_b64, WA_AUTHDATA_MAX, &ad_len)) == NULL ||
	    (sig = b64_field(sig_b64, WA_SIG_MAX, &sig_len)) == NULL) {
		rc = WA_MALFORMED;
		goto out;
	}
	if ((rc = client_data_check(cdj, cdj_len, "webauthn.get", challenge)) != WA_OK)
		goto out;
	if ((rc = webauthn_authdata_parse(ad, ad_len, &d)) != WA_OK)
		goto out;
	if ((rc = flags_check(&d, uv_required)) != WA_OK)
		goto out;
	sha256(cdj, cdj_len, cdh);
	if ((rc = assert_sig_verify(alg, pk, pk_len, ad, ad_len, cdh, sig, sig_len,
	    uv_required)) != WA_OK)
		goto out;
	/* L3 §7.2 steps 17-18: BS only with BE, and BE as it was at registration
	 * (it never changes for a credential; records from before BE was kept
	 * learn it at their next sign-in). */
	if (!backup_flags_ok(d.flags) || (json_is_boolean(json_object_get(rec, "be")) &&
	    json_is_true(json_object_get(rec, "be")) != ((d.flags & WA_FLAG_BE) != 0))) {
		rc = WA_BACKUP;
		goto out;
	}
	/* Its model was denied after it was registered. Checked after the
	 * signature: only the key's holder learns it (and is told what to do). */
	if (cred_denied(rec)) {
		rc = WA_DENIED;
		goto out;
	}
	/* §6.1.1: when either counter is non-zero the new one must be greater;
	 * otherwise two copies of the key exist. Checked only after the signature,
	 * so nobody without the key can get a credential flagged. */
	if ((d.sign_count != 0 || stored != 0) && (json_int_t)d.sign_count <= stored) {
		rc = WA_COUNTER;
		goto out;
	}
	*flags = d.flags;
	*count = d.sign_count;
	rc = WA_OK;
out:
	free(cdj);
	free(ad);
	free(sig);
	free(pk);
	return rc;
}

/* ---------------------------------------------------------------- records */

int
webauthn_cred_ref(const char *cred_id_b64, char ref[WA_REF_LEN + 1])
{
	uint8_t *id, h[SHA256_LEN];
	size_t n = 0;

	if ((id = b64_field(cred_id_b64, WA_CRED_ID_MAX, &n)) == NULL)
		return -1;
	sha256(id, n, h);
	free(id);
	b64url_encode(ref, h, sizeof(h));
	return 0;
}

static int
ref_ok(const char *ref)
{
	uint8_t h[SHA256_LEN + 1];
	size_t n = 0;

	return ref != NULL && strlen(ref) == WA_REF_LEN &&
	    b64url_decode(h, &n, ref, WA_REF_LEN) == 0 && n == SHA256_LEN;
}

static int
cred_key(char out[128], const char *uid, const char *ref)
{
	if (uid == NULL || strlen(uid) != USER_ID_LEN || !ref_ok(ref))
		return -1;
	snprintf(out, 128, "%s/webauthn/%s", uid, ref);
	return 0;
}

int
webauthn_name_ok(const char *name)
{
	size_t n;

	return name != NULL && (n = strlen(name)) > 0 && n <= WA_NAME_MAX && utf8_valid(name, n) &&
	    strpbrk(name, "\t\r\n") == NULL;
}

int
webauthn_user_handle(struct store_txn *t, const char *uid, int create, char out[WA_REF_LEN + 1])
{
	char key[96], ikey[64];
	uint8_t rnd[32];
	json_t *rec = NULL, *idx;
	const char *h;
	int rc;

	if (uid == NULL || strlen(uid) != USER_ID_LEN)
		return STORE_INVALID;
	snprintf(key, sizeof(key), "%s/webauthn-user/0", uid);
	rc = store_gets(t, T_CREDS, key, &rec);
	if (rc == STORE_OK) {
		h = json_string_value(json_object_get(rec, "handle"));
		rc = h != NULL && strlen(h) == WA_REF_LEN ? STORE_OK : STORE_CORRUPT;
		if (rc == STORE_OK)
			memcpy(out, h, WA_REF_LEN + 1);
		json_decref(rec);
		return rc;
	}
	if (rc != STORE_NOTFOUND || !create)
		return rc;
	/* Random, not derived from the user id: the authenticator keeps it and
	 * may show it to anyone holding the key. */
	if (rand_bytes(rnd, sizeof(rnd)) != 0)
		return STORE_IO;
	b64url_encode(out, rnd, sizeof(rnd));
	snprintf(ikey, sizeof(ikey), "webauthn-user/%s", out);
	if ((rec = json_pack("{s:s}", "handle", out)) == NULL)
		return STORE_IO;
	if ((idx = json_pack("{s:s}", "user", uid)) == NULL) {
		json_decref(rec);
		return STORE_IO;
	}
	rc = store_puts(t, T_CRED_INDEX, ikey, idx, STORE_NOOVERWRITE);
	if (rc == STORE_OK)
		rc = store_puts(t, T_CREDS, key, rec, STORE_NOOVERWRITE);
	json_decref(rec);
	json_decref(idx);
	return rc;
}

struct list_ctx {
	char prefix[64];
	size_t plen;
	json_t *out;
	int err;
};

static int
list_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct list_ctx *lc = ctx;
	json_t *c;

	if (klen < lc->plen || memcmp(key, lc->prefix, lc->plen) != 0)
		return 1;	/* past this user's credentials */
	if (klen - lc->plen != WA_REF_LEN || json_array_size(lc->out) >= 4 * WA_MAX_CREDS)
		return 0;
	if ((c = json_deep_copy(value)) == NULL ||
	    json_object_set_new(c, "ref", json_stringn((const char *)key + lc->plen, WA_REF_LEN)) != 0 ||
	    json_array_append_new(lc->out, c) != 0) {
		lc->err = 1;
		return 1;
	}
	return 0;
}

json_t *
webauthn_cred_list(struct store_txn *t, const char *uid)
{
	struct list_ctx lc;
	int rc;

	if (uid == NULL || strlen(uid) != USER_ID_LEN)
		return NULL;
	memset(&lc, 0, sizeof(lc));
	lc.plen = (size_t)snprintf(lc.prefix, sizeof(lc.prefix), "%s/webauthn/", uid);
	if ((lc.out = json_array()) == NULL)
		return NULL;
	rc = store_iter(t, T_CREDS, lc.prefix, lc.plen, list_cb, &lc);
	if (lc.err || (rc != STORE_OK && rc != 1 && rc != STORE_NOTFOUND)) {
		json_decref(lc.out);
		return NULL;
	}
	return lc.out;
}

/* Transports the browser reported (getTransports()), filtered to known names. */
static json_t *
transports_json(const char *s)
{
	static const char *const known[] = { "usb", "nfc", "ble", "internal", "hybrid",
		"smart-card", NULL };
	json_t *a = json_array();
	size_t i;

	while (a != NULL && s != NULL && *s) {
		size_t len = strcspn(s, ",");

		for (i = 0; known[i] != NULL; i++)
			if (strlen(known[i]) == len && strncmp(known[i], s, len) == 0)
				json_array_append_new(a, json_string(known[i]));
		s += len;
		s += *s == ',';
	}
	return a;
}

int
webauthn_cred_add(struct store_txn *t, const char *uid, json_t *rec, const char *name,
                  const char *transports)
{
	char ref[WA_REF_LEN + 1], key[128], ikey[64];
	json_t *list, *idx;
	size_t n;
	int rc;

	if (rec == NULL || !webauthn_name_ok(name) ||
	    webauthn_cred_ref(json_string_value(json_object_get(rec, "credential_id")), ref) != 0 ||
	    cred_key(key, uid, ref) != 0)
		return STORE_INVALID;
	if ((list = webauthn_cred_list(t, uid)) == NULL)
		return STORE_IO;
	n = json_array_size(list);
	json_decref(list);
	if (n >= WA_MAX_CREDS)
		return STORE_FULL;
	snprintf(ikey, sizeof(ikey), "webauthn/%s", ref);
	if ((idx = json_pack("{s:s, s:s}", "user", uid, "cred", ref)) == NULL)
		return STORE_IO;
	/* One credential id belongs to one account: registering a key already
	 * known (to anyone) is refused rather than moved. */
	rc = store_puts(t, T_CRED_INDEX, ikey, idx, STORE_NOOVERWRITE);
	json_decref(idx);
	if (rc != STORE_OK)
		return rc;
	if (json_object_set_new(rec, "name", json_string(name)) != 0 ||
	    json_object_set_new(rec, "transports", transports_json(transports)) != 0 ||
	    json_object_set_new(rec, "created", json_integer(now_s())) != 0 ||
	    json_object_set_new(rec, "last_used", json_integer(0)) != 0)
		return STORE_IO;
	return store_puts(t, T_CREDS, key, rec, STORE_NOOVERWRITE);
}

int
webauthn_cred_remove(struct store_txn *t, const char *uid, const char *ref)
{
	char key[128], ikey[64];
	int rc;

	if (cred_key(key, uid, ref) != 0)
		return STORE_INVALID;
	if ((rc = store_dels(t, T_CREDS, key)) != STORE_OK)
		return rc;
	snprintf(ikey, sizeof(ikey), "webauthn/%s", ref);
	rc = store_dels(t, T_CRED_INDEX, ikey);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

static int
cred_modify(struct store_txn *t, const char *uid, const char *ref, const char *member,
            json_t *value)
{
	char key[128];
	json_t *rec = NULL;
	int rc;

	if (value == NULL)
		return STORE_IO;
	if (cred_key(key, uid, ref) != 0) {
		json_decref(value);
		return STORE_INVALID;
	}
	if ((rc = store_gets(t, T_CREDS, key, &rec)) != STORE_OK) {
		json_decref(value);
		return rc;
	}
	rc = json_object_set_new(rec, member, value) == 0 ? store_puts(t, T_CREDS, key, rec, 0) :
	    STORE_IO;
	json_decref(rec);
	return rc;
}

int
webauthn_cred_rename(struct store_txn *t, const char *uid, const char *ref, const char *name)
{
	if (!webauthn_name_ok(name))
		return STORE_INVALID;
	return cred_modify(t, uid, ref, "name", json_string(name));
}

int
webauthn_cred_flag(struct store_txn *t, const char *uid, const char *ref, const char *event)
{
	json_t *f;
	int rc;

	if ((rc = cred_modify(t, uid, ref, "suspicious", json_true())) != STORE_OK)
		return rc;
	if ((f = json_pack("{s:s, s:s, s:s}", "user", uid, "cred", ref, "result", "failure")) == NULL)
		return STORE_IO;
	rc = audit_append(t, event, f);
	json_decref(f);
	return rc;
}

int
webauthn_cred_hardware(const json_t *rec, const char **why)
{
	struct wa_verdict v;

	wa_trust_eval(rec, now_s(), &v);
	if (why != NULL)
		*why = wa_why_name(v.why);
	return v.hardware;
}

/* What a credential shows when it signs in (see the top of the file): uv from
 * the assertion's flags; synced when the credential is backup eligible. */
static void
cred_bits(const json_t *rec, int uv, int synced, unsigned *amr, unsigned *factors,
          unsigned *props)
{
	int hw = webauthn_cred_hardware(rec, NULL);

	*amr = hw ? AMR_HWK : AMR_SWK;
	*factors = FACTOR_HAVE;
	*props = PROP_PHISHING_RESISTANT | PROP_REPLAY_RESISTANT | (hw ? PROP_HARDWARE : 0);
	if (uv && !(synced && wa_trust_synced() == WA_SYNCED_AAL1)) {
		*amr |= AMR_USER | AMR_PIN;
		*factors |= FACTOR_KNOW;
		if (hw)
			*props |= PROP_HW_VERIFIED;	/* this key, verified hardware, verified the person */
	}
}

/* The method's reach: every usable key's bits together; skip is a ref. */
static int
wa_reach(struct store_txn *t, const char *uid, const char *skip, struct policy_cred *out)
{
	unsigned a, f, p;
	json_t *list, *c;
	size_t i;
	int n = 0;

	memset(out, 0, sizeof(*out));
	if ((list = webauthn_cred_list(t, uid)) == NULL)
		return 0;
	json_array_foreach(list, i, c) {
		const char *ref = json_string_value(json_object_get(c, "ref"));

		if (json_is_true(json_object_get(c, "suspicious")) || cred_denied(c) ||
		    (skip != NULL && ref != NULL && strcmp(ref, skip) == 0))
			continue;
		cred_bits(c, json_is_true(json_object_get(c, "uv")),
		    json_is_true(json_object_get(c, "be")), &a, &f, &p);
		out->amr |= a;
		out->factors |= f;
		out->props |= p;
		n = 1;
	}
	json_decref(list);
	return n;
}

int
webauthn_reachable_level(struct store_txn *t, const char *uid, const char *skip_ref)
{
	return methods_reachable_level(t, uid, skip_ref != NULL ? &method_webauthn : NULL, skip_ref);
}

/* ---------------------------------------------------------------- the method */

static int
uv_required(void)
{
	return cfg->uv == UV_REQUIRED;
}

static const char *
uv_name(void)
{
	return cfg->uv == UV_REQUIRED ? "required" : cfg->uv == UV_PREFERRED ? "preferred" :
	    "discouraged";
}

/* [{type, id, transports}] of the user's usable credentials; for a sign-in
 * (skip_denied) without those whose model is denied now. */
static json_t *
descriptors_for(struct store_txn *t, const char *uid, int skip_denied)
{
	json_t *list = webauthn_cred_list(t, uid), *out = json_array(), *c;
	size_t i;

	if (list == NULL || out == NULL) {
		json_decref(list);
		json_decref(out);
		return NULL;
	}
	json_array_foreach(list, i, c) {
		if (json_is_true(json_object_get(c, "suspicious")) || (skip_denied && cred_denied(c)))
			continue;
		json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "type", "public-key",
		    "id", json_object_get(c, "credential_id"), "transports",
		    json_object_get(c, "transports")));
	}
	json_decref(list);
	return out;
}

/* Registration's excludeCredentials: every key the person has. */
static json_t *
descriptors(struct store_txn *t, const char *uid)
{
	return descriptors_for(t, uid, 0);
}

static int
new_challenge(char out[WA_REF_LEN + 1])
{
	uint8_t ch[WA_CHALLENGE_BYTES];

	if (rand_bytes(ch, sizeof(ch)) != 0)
		return -1;
	b64url_encode(out, ch, sizeof(ch));
	return 0;
}

/* PublicKeyCredentialRequestOptions (base64url for the binary members; the
 * script converts). At a later step allowCredentials lists the person's keys;
 * at the first step it is empty, so the browser offers discoverable
 * credentials (passkeys) and the answer names the person. */
static int
wa_begin(struct login *l, json_t *out)
{
	const char *uid = json_string_value(json_object_get(l->user, "id"));
	char ch[WA_REF_LEN + 1];
	struct store_txn *t = NULL;
	json_t *allow = NULL;

	if (cfg == NULL || new_challenge(ch) != 0)
		return METHOD_ERROR;
	if (uid != NULL) {
		/* The caller holds no view here; a read view never blocks. */
		if ((t = l->txn) == NULL && (t = store_read_begin(l->authd->store)) == NULL)
			return METHOD_ERROR;
		allow = descriptors_for(t, uid, 1);
		if (l->txn == NULL)
			store_read_end(t);
		if (allow == NULL)
			return METHOD_ERROR;
	} else if ((allow = json_array()) == NULL) {
		return METHOD_ERROR;
	}
	if (json_object_set_new(out, "publicKey", json_pack("{s:s, s:s, s:i, s:s, s:o}",
	    "challenge", ch, "rpId", cfg->rp_id, "timeout", cfg->timeout_ms,
	    "userVerification", uv_name(), "allowCredentials", allow)) != 0)
		return METHOD_ERROR;
	l->state = json_pack("{s:s, s:s?, s:I, s:b}", "challenge", ch, "user", uid, "expires",
	    (json_int_t)(now_s() + cfg->timeout_ms / 1000 + 30), "uv", uv_required());
	return l->state != NULL ? METHOD_OK : METHOD_ERROR;
}

/* Flags a credential after a counter regression: run by the sign-in core in
 * the write that records the failed step (proof->commit), so the flag and the
 * failure are durable together; the step itself grants nothing. */
static int
flag_commit(struct store_txn *t, const json_t *arg, int passed)
{
	const char *uid = json_string_value(json_object_get(arg, "user"));
	const char *ref = json_string_value(json_object_get(arg, "cred"));

	(void)passed;
	if (uid == NULL || ref == NULL)
		return STORE_INVALID;
	return webauthn_cred_flag(t, uid, ref, "webauthn.counter_regression");
}

static int
wa_finish(struct login *l, const struct form *f, struct proof *proof)
{
	const char *id = form_get(f, "credential_id"), *cd = form_get(f, "client_data");
	const char *ad = form_get(f, "authenticator_data"), *sig = form_get(f, "signature");
	const char *uh = form_get(f, "user_handle");
	const char *ch = json_string_value(json_object_get(l->state, "challenge"));
	const char *suid = json_string_value(json_object_get(l->state, "user"));
	char ref[WA_REF_LEN + 1], key[128], handle[WA_REF_LEN + 1], uid[USER_ID_LEN + 1];
	json_t *idx = NULL, *rec = NULL, *upd = NULL;
	uint8_t flags = 0;
	uint32_t count = 0;
	unsigned amr, factors, props;
	int rc, result = METHOD_FAIL;

	memset(proof, 0, sizeof(*proof));
	if (cfg == NULL || l->txn == NULL)
		return METHOD_ERROR;
	if (l->state == NULL || ch == NULL ||
	    json_integer_value(json_object_get(l->state, "expires")) < now_s())
		return METHOD_INVALID;	/* no challenge of ours, or an old one */
	if (uh != NULL && *uh == '\0')
		uh = NULL;
	if (webauthn_cred_ref(id, ref) != 0 || cd == NULL || ad == NULL || sig == NULL)
		return METHOD_INVALID;
	if (l->user != NULL) {
		/* A later step: only this person's keys count. */
		const char *u = json_string_value(json_object_get(l->user, "id"));

		if (u == NULL || strlen(u) != USER_ID_LEN || (suid != NULL && strcmp(u, suid) != 0))
			return METHOD_FAIL;
		memcpy(uid, u, sizeof(uid));
	} else {
		char ikey[64];
		const char *u;

		snprintf(ikey, sizeof(ikey), "webauthn/%s", ref);
		if (store_gets(l->txn, T_CRED_INDEX, ikey, &idx) != STORE_OK)
			goto out;
		u = json_string_value(json_object_get(idx, "user"));
		if (u == NULL || strlen(u) != USER_ID_LEN)
			goto out;
		memcpy(uid, u, sizeof(uid));
	}
	if (cred_key(key, uid, ref) != 0 || store_gets(l->txn, T_CREDS, key, &rec) != STORE_OK)
		goto out;	/* unknown credential */
	/* A passkey also returns the user handle it was made for: it must be
	 * this account's (a key re-registered elsewhere would not match). */
	if (uh != NULL && (webauthn_user_handle(l->txn, uid, 0, handle) != STORE_OK ||
	    strlen(uh) != WA_REF_LEN || !ct_equal(uh, handle, WA_REF_LEN)))
		goto out;
	rc = webauthn_assert_verify(rec, cd, ad, sig, ch,
	    json_is_true(json_object_get(l->state, "uv")), &flags, &count);
	if (rc == WA_DENIED) {
		proof->error_key = TXT("webauthn.login.denied");
	}
	if (rc == WA_COUNTER || (rc == WA_UNKNOWN && json_is_true(json_object_get(rec, "suspicious")))) {
		/* Only the holder of the key gets here (the signature verified, or
		 * the key was flagged before): tell them what to do. */
		proof->error_key = TXT("webauthn.login.cloned");
	}
	if (rc == WA_COUNTER) {
		proof->commit = flag_commit;
		proof->commit_arg = json_pack("{s:s, s:s}", "user", uid, "cred", ref);
		if (proof->commit_arg == NULL) {
			proof->commit = NULL;
			result = METHOD_ERROR;
			goto out;
		}
		log_msg(LOG_WARN, "WebAuthn signature counter went back: credential flagged "
		    "(cloned key?)", "user", uid, NULL);
		goto out;
	}
	if (rc == WA_MALFORMED) {
		result = METHOD_INVALID;
		goto out;
	}
	if (rc == WA_INTERNAL) {
		result = METHOD_ERROR;
		goto out;
	}
	if (rc != WA_OK)
		goto out;
	/* BE is fixed for a credential's life (checked above; a record from
	 * before BE was kept learns it now); BS may change. */
	if ((upd = json_deep_copy(rec)) == NULL ||
	    json_object_set_new(upd, "sign_count", json_integer(count)) != 0 ||
	    json_object_set_new(upd, "last_used", json_integer(now_s())) != 0 ||
	    json_object_set_new(upd, "be", json_boolean(flags & WA_FLAG_BE)) != 0 ||
	    json_object_set_new(upd, "bs", json_boolean(flags & WA_FLAG_BS)) != 0) {
		result = METHOD_ERROR;
		goto out;
	}
	cred_bits(upd, (flags & WA_FLAG_UV) != 0, (flags & WA_FLAG_BE) != 0, &amr, &factors, &props);
	snprintf(proof->user_id, sizeof(proof->user_id), "%s", uid);
	snprintf(proof->cred_key, sizeof(proof->cred_key), "%s", key);
	proof->amr = amr;
	proof->factors = factors;
	proof->props = props;
	/* A counting key's new counter must be stored with the login, or two
	 * logins could accept the same counter value; keys that always say 0
	 * (most passkeys) only update last_used. */
	proof->cred_must_update = count != 0;
	proof->cred_update = upd;
	proof->cred_expect = rec;
	upd = rec = NULL;
	result = METHOD_OK;
out:
	json_decref(idx);
	json_decref(rec);
	json_decref(upd);
	return result;
}

static int
wa_enrolled(struct store_txn *t, const char *uid)
{
	json_t *list = webauthn_cred_list(t, uid), *c;
	size_t i;
	int n = 0;

	json_array_foreach(list, i, c)
		if (!json_is_true(json_object_get(c, "suspicious")) && !cred_denied(c))
			n++;
	json_decref(list);
	return n > 0;
}

static int
wa_check(const struct conf *c, char *err, size_t errsz)
{
	int rc = webauthn_configure(c, err, errsz);

	webauthn_fini();
	return rc;
}

static int
wa_init(struct authd *a, const struct conf *c)
{
	char err[256];

	(void)a;
	fido_init(0);
	if (webauthn_configure(c, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, "WebAuthn cannot start", "reason", err, NULL);
		return -1;
	}
	{
		struct wa_trust_summary ts;
		char roots[16], models[24], next[16] = "-";
		struct tm tm;

		wa_trust_summary(&ts);
		snprintf(roots, sizeof(roots), "%d", ts.roots);
		snprintf(models, sizeof(models), "%zu", ts.mds_models);
		if (ts.mds_next_update > 0 && gmtime_r(&ts.mds_next_update, &tm) != NULL)
			strftime(next, sizeof(next), "%Y-%m-%d", &tm);
		if (ts.roots == 0 && ts.mds_models == 0)
			log_msg(LOG_WARN, "WebAuthn: no attestation_roots and no mds_blob, so no key "
			    "counts as verified hardware (passkeys reach AAL2 at most); see "
			    "docs/webauthn.md", NULL);
		else
			log_msg(LOG_INFO, "WebAuthn hardware trust", "attestation_roots", roots,
			    "mds_models", models, "mds_next_update", next, NULL);
	}
	if (strspn(cfg->rp_id, "0123456789.") == strlen(cfg->rp_id) || strchr(cfg->rp_id, ':'))
		log_msg(LOG_WARN, "[webauthn] rp_id is an IP address: browsers refuse WebAuthn "
		    "there; set [server] issuer or [webauthn] rp_id to a host name", "rp_id",
		    cfg->rp_id, NULL);
	return 0;
}

/* ---------------------------------------------------------------- the account section */

/* Why a key does not count as hardware, as the page says it (share/i18n). */
static const struct {
	const char *why, *key;
} why_keys[] = {
	{ "none", TXT("webauthn.why.none") },
	{ "self", TXT("webauthn.why.self") },
	{ "unverified", TXT("webauthn.why.unverified") },
	{ "nochain", TXT("webauthn.why.nochain") },
	{ "notlisted", TXT("webauthn.why.notlisted") },
	{ "mds_status", TXT("webauthn.why.mds_status") },
	{ "synced", TXT("webauthn.why.synced") },
	{ "legacy", TXT("webauthn.why.legacy") },
	{ "denied", TXT("webauthn.why.denied") },
};

static const char *
why_key(const char *why)
{
	size_t i;

	if (strcmp(why, "synced") == 0 && wa_trust_synced() == WA_SYNCED_AAL1)
		return TXT("webauthn.why.synced1");
	for (i = 0; i < sizeof(why_keys) / sizeof(why_keys[0]); i++)
		if (strcmp(why, why_keys[i].why) == 0)
			return why_keys[i].key;
	return NULL;
}

/* A time as the page shows it ("2025-03-01 14:05", local), or "" for none. */
static void
day_time(json_int_t ts, char d[32])
{
	struct tm tm;
	time_t tt = (time_t)ts;

	d[0] = '\0';
	if (ts <= 0 || localtime_r(&tt, &tm) == NULL || strftime(d, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		d[0] = '\0';
}

/* The data of the account page's section (share/templates/account-webauthn.html):
 * each key with its kind, why it is not hardware, its dates and a
 * counter-regression warning. */
static int
wa_account_view(struct store_txn *t, const char *uid, json_t *out)
{
	json_t *list = webauthn_cred_list(t, uid), *keys = json_array(), *c;
	size_t i;

	if (list == NULL || keys == NULL) {
		json_decref(list);
		json_decref(keys);
		return -1;
	}
	json_array_foreach(list, i, c) {
		const char *why = NULL;
		int hw = webauthn_cred_hardware(c, &why);
		json_int_t lu = json_integer_value(json_object_get(c, "last_used"));
		char created[32], last[32];

		day_time(json_integer_value(json_object_get(c, "created")), created);
		day_time(lu, last);
		if (json_array_append_new(keys, json_pack("{s:s?, s:s?, s:b, s:s?, s:b, s:s, s:s?, s:b}",
		    "name", json_string_value(json_object_get(c, "name")),
		    "ref", json_string_value(json_object_get(c, "ref")), "hw", hw,
		    "why", hw ? NULL : why_key(why), "denied", !hw && strcmp(why, "denied") == 0,
		    "created", created, "last_used", lu > 0 ? last : NULL,
		    "suspicious", json_is_true(json_object_get(c, "suspicious")))) != 0) {
			json_decref(list);
			json_decref(keys);
			return -1;
		}
	}
	json_decref(list);
	json_object_set_new(out, "has_keys", json_boolean(json_array_size(keys) > 0));
	return json_object_set_new(out, "keys", keys) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- /account/webauthn */

enum wa_action { A_BEGIN, A_FINISH, A_RENAME, A_REMOVE };

struct wreq {
	struct http_req *r;
	enum wa_action action;
	char uid[USER_ID_LEN + 1];
	char username[USERNAME_MAX + 1];
	char display[128];
	char skey[65];
	char reg[32];
	char ref[WA_REF_LEN + 1];
	char name[WA_NAME_MAX + 1];
	char transports[128];
	char *client_data, *att_obj;
	json_t *state;             /* the registration challenge (begin: new; finish: as read) */
	json_t *rec;               /* verified credential (finish) */
	json_t *out;               /* begin: the options */
	int verr;                  /* finish: WA_* */
	int store_rc;
	int level;                 /* the level the session held */
};

static void
wreq_free(struct wreq *w)
{
	free(w->client_data);
	free(w->att_obj);
	json_decref(w->state);
	json_decref(w->rec);
	json_decref(w->out);
	free(w);
}

static void
fail_page(struct http_req *r, int status, const char *msg_key)
{
	ui_page(r, status, "webauthn-fail", TXT("webauthn.fail.title"), json_pack("{s:s}", "msg", msg_key));
}

static int
audit_acct(struct store_txn *t, const struct wreq *w, const char *event, const char *reason)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "user", w->uid, "username",
	    w->username, "ip", w->r->peer, "cred", w->ref[0] ? w->ref : NULL, "reason", reason);
	int rc = f != NULL ? audit_append(t, event, f) : STORE_IO;

	json_decref(f);
	return rc;
}

/* A change to the person's keys: its audit record and their security event. */
static int
record(struct store_txn *t, const struct wreq *w, const char *action, const char *ref,
       const char *reason)
{
	struct account_change c = { .user = w->uid, .username = w->username, .ip = w->r->peer,
		                    .method = "webauthn", .action = action, .label = w->name,
		                    .cred = ref, .level = w->level, .reason = reason };

	return account_change_record(t, &c);
}

static int
w_begin(struct store_txn *t, void *arg)
{
	struct wreq *w = arg;
	char handle[WA_REF_LEN + 1];
	json_t *exclude, *pk;
	int rc;

	if ((rc = webauthn_user_handle(t, w->uid, 1, handle)) != STORE_OK)
		return rc;
	if ((exclude = descriptors(t, w->uid)) == NULL)
		return STORE_IO;
	pk = json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}],"
	    " s:i, s:o, s:{s:s, s:b, s:s}, s:s}",
	    "rp", "id", cfg->rp_id, "name", cfg->rp_name,
	    "user", "id", handle, "name", w->username, "displayName",
	    w->display[0] ? w->display : w->username,
	    "challenge", json_string_value(json_object_get(w->state, "challenge")),
	    "pubKeyCredParams", "type", "public-key", "alg", COSE_ES256, "type", "public-key", "alg",
	    COSE_EDDSA, "type", "public-key", "alg", COSE_RS256,
	    "timeout", cfg->timeout_ms, "excludeCredentials", exclude,
	    "authenticatorSelection", "residentKey", "preferred", "requireResidentKey", 0,
	    "userVerification", uv_name(),
	    "attestation", cfg->attestation_direct ? "direct" : "none");
	if (pk == NULL || (w->out = json_pack("{s:s, s:o}", "reg", w->reg, "publicKey", pk)) == NULL)
		return STORE_IO;
	return store_puts(t, T_LOGINS, w->reg, w->state, STORE_NOOVERWRITE);
}

static void
begin_done(int rc, void *arg)
{
	struct wreq *w = arg;

	if (rc == STORE_OK) {
		http_reply_json(w->r, 200, w->out);
		w->out = NULL;
	} else {
		log_msg(LOG_ERROR, "WebAuthn registration could not start", "reason",
		    store_strerror(rc), NULL);
		http_reply_json(w->r, 500, json_pack("{s:s, s:s}", "error", "server_error",
		    "error_description", ui_t(w->r->lang, "err.server")));
	}
	wreq_free(w);
}

/* Worker thread: the signatures. The challenge is consumed by the write that
 * follows, whatever the verdict. */
static void
finish_work(void *arg)
{
	struct wreq *w = arg;

	w->verr = webauthn_register_verify(w->client_data, w->att_obj,
	    json_string_value(json_object_get(w->state, "challenge")),
	    json_is_true(json_object_get(w->state, "uv")), &w->rec);
}

static int
w_finish(struct store_txn *t, void *arg)
{
	struct wreq *w = arg;
	json_t *cur = NULL;
	int rc;

	/* Single use: the challenge must still be there, and leaves now. */
	if (store_gets(t, T_LOGINS, w->reg, &cur) != STORE_OK || !json_equal(cur, w->state)) {
		json_decref(cur);
		w->store_rc = STORE_CONFLICT;
		return STORE_CONFLICT;
	}
	json_decref(cur);
	if ((rc = store_dels(t, T_LOGINS, w->reg)) != STORE_OK)
		return rc;
	if (w->verr != WA_OK) {
		w->store_rc = STORE_OK;
		return audit_acct(t, w, "account.webauthn.refused", webauthn_strerror(w->verr));
	}
	rc = webauthn_cred_add(t, w->uid, w->rec, w->name, w->transports);
	w->store_rc = rc;
	if (rc == STORE_EXISTS || rc == STORE_FULL)
		return audit_acct(t, w, "account.webauthn.refused", rc == STORE_EXISTS ?
		    "already registered" : "too many keys");
	if (rc != STORE_OK)
		return rc;
	if (webauthn_cred_ref(json_string_value(json_object_get(w->rec, "credential_id")), w->ref) != 0)
		return STORE_CORRUPT;
	{
		/* What the key was judged at registration, for the audit trail. */
		const char *why = NULL;
		int hw = webauthn_cred_hardware(w->rec, &why);
		char reason[96];

		snprintf(reason, sizeof(reason), "%s, %s (%s)", json_string_value(json_object_get(
		    w->rec, "fmt")), hw ? "hardware" : "passkey", why);
		return record(t, w, "add", w->ref, reason);
	}
}

static void
finish_done(int rc, void *arg)
{
	struct wreq *w = arg;
	struct http_req *r = w->r;

	if (rc == STORE_CONFLICT)
		fail_page(r, 400, TXT("webauthn.fail.expired"));
	else if (rc != STORE_OK)
		ui_error(r, 500, "err.title", "err.server", NULL);
	else if (w->verr == WA_UV)
		fail_page(r, 400, TXT("webauthn.fail.uv"));
	else if (w->verr == WA_DENIED)
		fail_page(r, 400, TXT("webauthn.fail.denied"));
	else if (w->verr == WA_SYNCED)
		fail_page(r, 400, TXT("webauthn.fail.synced"));
	else if (w->verr != WA_OK)
		fail_page(r, 400, TXT("webauthn.fail.verify"));
	else if (w->store_rc == STORE_EXISTS)
		fail_page(r, 409, TXT("webauthn.fail.exists"));
	else if (w->store_rc == STORE_FULL)
		fail_page(r, 409, TXT("webauthn.fail.full"));
	else
		http_redirect(r, "/account");
	wreq_free(w);
}

static void
finish_verified(void *arg)
{
	struct wreq *w = arg;

	if (http_store_write(w->r, w_finish, finish_done, w) != STORE_OK) {
		ui_error(w->r, 503, "err.title", "err.server", NULL);
		wreq_free(w);
	}
}

static int
w_rename(struct store_txn *t, void *arg)
{
	struct wreq *w = arg;
	int rc = webauthn_cred_rename(t, w->uid, w->ref, w->name);

	return rc == STORE_OK ? record(t, w, "rename", w->ref, NULL) : rc;
}

static int
w_remove(struct store_txn *t, void *arg)
{
	struct wreq *w = arg;
	int rc = webauthn_cred_remove(t, w->uid, w->ref);

	return rc == STORE_OK ? record(t, w, "remove", w->ref, NULL) : rc;
}

static void
change_done(int rc, void *arg)
{
	struct wreq *w = arg;

	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		http_redirect(w->r, "/account");
	else
		ui_error(w->r, 500, "err.title", "err.server", NULL);
	wreq_free(w);
}

static void
remove_ask(struct http_req *r, const char *csrf, const char *ref, int after)
{
	ui_page(r, 200, "webauthn-remove", TXT("webauthn.remove.title"), json_pack("{s:s, s:s?, s:s?}",
	    "after", after > 0 ? policy_acr_name(after) : "-", "csrf", csrf, "ref", ref));
}

static char *
dup_field(struct http_req *r, const char *key)
{
	const char *v = http_param(r, key);

	return v != NULL && *v ? strdup(v) : NULL;
}

/* POST /account/webauthn. Every change (begin and finish of a registration,
 * rename, remove) passes the account gate first (account_change_allowed: the
 * session holds the highest level the account can reach); a removal that
 * lowers the level the account can reach asks first and names the level left. */
void
webauthn_account(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *action = http_param(r, "action"), *csrf = http_param(r, "csrf");
	const char *uid, *s;
	json_t *sess = NULL, *user = NULL;
	struct wreq *w = NULL;
	int json_reply = action != NULL && strcmp(action, "begin") == 0;
	int with, without;
	char skey[65];

	if (t == NULL || cfg == NULL) {
		if (t != NULL)
			store_read_end(t);
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	sess = session_find(r, t, skey);
	uid = json_string_value(json_object_get(sess, "user"));
	if (uid == NULL || strlen(uid) != USER_ID_LEN || user_by_id(t, uid, &user) != STORE_OK ||
	    user_is_disabled(user)) {
		json_decref(sess);
		json_decref(user);
		store_read_end(t);
		if (json_reply)
			http_reply_json(r, 401, json_pack("{s:s, s:s}", "error", "login_required",
			    "error_description", ui_t(r->lang, "err.csrf")));
		else
			login_start(r, "/account", AAL1);
		return;
	}
	if (!session_csrf_ok(r, skey, "account", csrf)) {
		json_decref(sess);
		json_decref(user);
		store_read_end(t);
		if (json_reply)
			http_reply_json(r, 403, json_pack("{s:s, s:s}", "error", "access_denied",
			    "error_description", ui_t(r->lang, "err.csrf")));
		else
			ui_error(r, 403, "err.title", "err.csrf", NULL);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		json_decref(sess);
		goto server_error;
	}
	w->r = r;
	memcpy(w->uid, uid, USER_ID_LEN + 1);
	uid = w->uid;	/* it pointed into the session record */
	w->level = session_level(sess);
	memcpy(w->skey, skey, sizeof(w->skey));
	snprintf(w->username, sizeof(w->username), "%s",
	    str_or(json_string_value(json_object_get(user, "username")), ""));
	s = json_string_value(json_object_get(user, "display_name"));
	if (s != NULL && strlen(s) < sizeof(w->display))
		snprintf(w->display, sizeof(w->display), "%s", s);
	json_decref(user);
	user = NULL;

	if (action == NULL) {
		json_decref(sess);
		goto bad_request;
	} else if (strcmp(action, "step_up") == 0) {
		/* The script's way to the sign-in the gate asked for. */
		int need = account_change_level(r, t, sess, uid);

		json_decref(sess);
		store_read_end(t);
		wreq_free(w);
		if (need != AAL_NONE)
			login_start(r, "/account", need);
		else
			http_redirect(r, "/account");	/* already at the level */
		return;
	} else if (strcmp(action, "begin") == 0) {
		char ch[WA_REF_LEN + 1], tok[24];

		if (!account_change_allowed(r, t, sess, uid, "webauthn.add", "/account", 1)) {
			json_decref(sess);
			store_read_end(t);
			wreq_free(w);
			return;
		}
		json_decref(sess);
		store_read_end(t);
		if (new_challenge(ch) != 0 || rand_token(tok, sizeof(tok), 16) != 0)
			goto server_error_noread;
		snprintf(w->reg, sizeof(w->reg), "wr.%s", tok);
		/* "expires" lets the sweeper remove it; "skey" binds it to this session. */
		w->state = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "kind", "webauthn.register",
		    "skey", skey, "user", uid, "challenge", ch, "uv", uv_required(),
		    "expires", (json_int_t)(now_s() + cfg->timeout_ms / 1000 + 30));
		if (w->state == NULL)
			goto server_error_noread;
		w->action = A_BEGIN;
		if (http_store_write(r, w_begin, begin_done, w) != STORE_OK) {
			http_reply_json(r, 503, json_pack("{s:s}", "error", "temporarily_unavailable"));
			wreq_free(w);
		}
		return;
	} else if (strcmp(action, "finish") == 0) {
		const char *reg = http_param(r, "reg"), *name = http_param(r, "name");
		const char *tr = http_param(r, "transports");
		const char *suser, *sskey, *kind;

		/* Again here: the session may have lapsed since begin. */
		if (!account_change_allowed(r, t, sess, uid, "webauthn.add", "/account", 0)) {
			json_decref(sess);
			store_read_end(t);
			wreq_free(w);
			return;
		}
		json_decref(sess);
		if (reg == NULL || strlen(reg) >= sizeof(w->reg) || strncmp(reg, "wr.", 3) != 0 ||
		    store_gets(t, T_LOGINS, reg, &w->state) != STORE_OK) {
			store_read_end(t);
			fail_page(r, 400, TXT("webauthn.fail.expired"));
			wreq_free(w);
			return;
		}
		store_read_end(t);
		kind = json_string_value(json_object_get(w->state, "kind"));
		suser = json_string_value(json_object_get(w->state, "user"));
		sskey = json_string_value(json_object_get(w->state, "skey"));
		if (kind == NULL || strcmp(kind, "webauthn.register") != 0 || suser == NULL ||
		    strcmp(suser, uid) != 0 || sskey == NULL || strlen(sskey) != 64 ||
		    !ct_equal(sskey, skey, 64) ||
		    json_integer_value(json_object_get(w->state, "expires")) < now_s()) {
			fail_page(r, 400, TXT("webauthn.fail.expired"));
			wreq_free(w);
			return;
		}
		if (!webauthn_name_ok(name)) {
			fail_page(r, 400, TXT("webauthn.fail.name"));
			wreq_free(w);
			return;
		}
		snprintf(w->reg, sizeof(w->reg), "%s", reg);
		snprintf(w->name, sizeof(w->name), "%s", name);
		snprintf(w->transports, sizeof(w->transports), "%s", tr != NULL && strlen(tr) <
		    sizeof(w->transports) ? tr : "");
		w->client_data = dup_field(r, "client_data");
		w->att_obj = dup_field(r, "attestation_object");
		w->action = A_FINISH;
		/* Missing fields are a malformed answer: verify says so, and the
		 * challenge is still consumed. */
		if (http_work(r, finish_work, finish_verified, w) != 0) {
			ui_error(r, 503, "err.title", "err.server", NULL);
			wreq_free(w);
		}
		return;
	} else if (strcmp(action, "rename") == 0 || strcmp(action, "remove") == 0) {
		const char *ref = http_param(r, "ref"), *name = http_param(r, "name");
		int rename = action[2] == 'n';
		char key[128];
		json_t *rec = NULL;

		if (!account_change_allowed(r, t, sess, uid, rename ? "webauthn.rename" :
		    "webauthn.remove", "/account", 0)) {
			json_decref(sess);
			store_read_end(t);
			wreq_free(w);
			return;
		}
		json_decref(sess);
		if (cred_key(key, uid, ref) != 0 || store_gets(t, T_CREDS, key, &rec) != STORE_OK) {
			json_decref(rec);
			store_read_end(t);
			change_done(STORE_NOTFOUND, w);	/* gone already: back to the list */
			return;
		}
		snprintf(w->ref, sizeof(w->ref), "%s", ref);
		/* The name the person knows it by, for their notice of the removal. */
		snprintf(w->name, sizeof(w->name), "%s",
		    str_or(json_string_value(json_object_get(rec, "name")), ""));
		json_decref(rec);
		if (rename) {
			store_read_end(t);
			if (!webauthn_name_ok(name)) {
				fail_page(r, 400, TXT("webauthn.fail.name"));
				wreq_free(w);
				return;
			}
			snprintf(w->name, sizeof(w->name), "%s", name);
			w->action = A_RENAME;
			if (http_store_write(r, w_rename, change_done, w) != STORE_OK)
				goto server_error_noread;
			return;
		}
		with = webauthn_reachable_level(t, uid, NULL);
		without = webauthn_reachable_level(t, uid, ref);
		store_read_end(t);
		s = http_param(r, "confirm");
		if (without < with && (s == NULL || strcmp(s, "1") != 0)) {
			char c[65];

			session_csrf(r, skey, "account", c);
			remove_ask(r, c, ref, without);
			wreq_free(w);
			return;
		}
		w->action = A_REMOVE;
		if (http_store_write(r, w_remove, change_done, w) != STORE_OK)
			goto server_error_noread;
		return;
	} else if (strcmp(action, "register") == 0) {
		json_decref(sess);
		store_read_end(t);
		fail_page(r, 400, TXT("webauthn.fail.js"));	/* the form was posted without the script */
		wreq_free(w);
		return;
	}
	json_decref(sess);
bad_request:
	store_read_end(t);
	ui_error(r, 400, "err.title", "err.bad_request", NULL);
	wreq_free(w);
	return;
server_error:
	store_read_end(t);
	json_decref(user);
server_error_noread:
	if (w != NULL)
		wreq_free(w);
	if (json_reply)
		http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
	else
		ui_error(r, 500, "err.title", "err.server", NULL);
}

/* The templates of the method's own pages (checked at start). */
static const char *const wa_pages[] = { "webauthn-fail", "webauthn-remove", NULL };

const struct authd_method method_webauthn = {
	.name = "webauthn",
	.factors = FACTOR_HAVE,
	/* What a registered hardware key shows; a passkey's proof says swk. */
	.props = PROP_PHISHING_RESISTANT | PROP_HARDWARE | PROP_REPLAY_RESISTANT,
	.amr = AMR_HWK,
	.flags = METHOD_FIRST | METHOD_STEP,
	.ui_label = TXT("webauthn.button"),
	.ui_script = "webauthn-script",	/* share/static/webauthn.js and its texts */
	.account_template = "account-webauthn",
	.account_view = wa_account_view,
	.ui_pages = wa_pages,
	.enrolled = wa_enrolled,
	.reach = wa_reach,
	.init = wa_init,
	.begin = wa_begin,
	.finish = wa_finish,
	.enrol_begin = NULL, /* registration runs through POST /account/webauthn */
	.enrol_finish = NULL,
	.fini = webauthn_fini,
	.check = wa_check,
	.admin = &webauthn_admin,
};

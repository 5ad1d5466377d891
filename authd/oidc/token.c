/* authd/oidc/token.c — the token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3):
 * authorization_code (PKCE S256 required), refresh_token (rotation with reuse
 * detection) and client_credentials.
 *
 * Invariants, each decided by the store itself so concurrent requests (on
 * this node or another) cannot both win — authorization_code and refresh_token
 * on the store's operations (records.h: take-once of the code, put-if-version
 * of the family's generation, each in one atomic batch with the new records and
 * the audit record, run on a STORE worker); device_code and client_credentials
 * still inside one store.h write transaction:
 *  - a code is redeemed at most once; a second redemption by the client it was
 *    issued to revokes the refresh family (and so every access token) the first
 *    one produced; the same code from another client is refused and changes
 *    nothing (whose a code is, is checked before anything is done with it);
 *  - a refresh token is used at most once; presenting a superseded one revokes
 *    its whole family;
 *  - tokens are signed and sent only after the write recording them is durable.
 * Write functions and grant runners return ST_OK whenever their changes must be
 * kept (a revocation, an audit record) and report protocol errors through the
 * context. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../metrics.h"
#include "../policy.h"
#include "../users.h"
#include "oidc.h"

struct grant {
	struct http_req *r;
	struct client_auth ca;
	const char *grant_type;
	const char *client_id;
	char key[65];                    /* store key of the presented code / refresh token */
	char family[32];
	char refresh[OIDC_SECRET_LEN + 1];
	char scope[OIDC_MAX_SCOPE + 1];
	char nonce[OIDC_MAX_NONCE + 1];
	char sid[32];
	char user_id[USER_ID_LEN + 1];
	int64_t auth_time;
	unsigned amr, factors, props;
	int held;                        /* level the session held at issuance (0: no cap) */
	json_t *user;
	/* Grants on the store's operations: the engine, the request's parameters
	 * (borrowed from the parked request, read on the worker), the result. */
	struct records *rs;
	int (*run)(struct grant *g);
	const char *verifier, *redirect_uri, *want_scope;
	int rc;
	const char *err, *desc;
	int status;
};

static void grant_free(struct grant *g)
{
	json_decref(g->ca.client);
	json_decref(g->user);
	wipe(g->refresh, sizeof(g->refresh));
	free(g);
}

static int refuse(struct grant *g, int status, const char *err, const char *desc)
{
	g->status = status;
	g->err = err;
	g->desc = desc;
	return STORE_OK;
}

static int audit_grant(struct store_txn *t, struct grant *g, const char *event, const char *reason)
{
	json_t *f = json_pack("{s:s s:s s:s}", "client", g->client_id, "grant", g->grant_type,
	                      "ip", g->r->peer);
	int rc;

	if (g->user_id[0])
		json_object_set_new(f, "user", json_string(g->user_id));
	if (g->family[0])
		json_object_set_new(f, "family", json_string(g->family));
	if (reason)
		json_object_set_new(f, "reason", json_string(reason));
	rc = audit_append(t, event, f);
	json_decref(f);
	return rc;
}

static int copy_str(char *dst, size_t n, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) >= n) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Stores a new refresh token of generation gen for the family. Superseded tokens
 * stay until the family expires (exp), so their reuse is still recognised. */
static int refresh_store(struct store_txn *t, struct grant *g, json_int_t gen, json_int_t exp)
{
	char key[65];
	json_t *rt;
	int rc;

	if (secret_new(g->refresh) != 0)
		return STORE_IO;
	secret_key_hex(g->refresh, key);
	rt = json_pack("{s:s s:I s:I}", "family", g->family, "gen", gen, "exp", exp);
	rc = store_puts(t, T_REFRESH, key, rt, STORE_NOOVERWRITE);
	json_decref(rt);
	return rc;
}

/* A new refresh token of generation gen for g->family, as a record (its
 * secret into g->refresh, only its hash into the record). */
static int
refresh_record(struct grant *g, json_int_t gen, int64_t exp, struct rec *out)
{
	char id[65];
	int rc;

	memset(out, 0, sizeof(*out));
	if (secret_new(g->refresh) != 0)
		return ST_IO;
	rec_secret_id(g->refresh, id);
	if ((rc = rec_init(out, RK_REFRESH, id)) != ST_OK)
		return rc;
	out->expires = exp;
	out->body = json_pack("{s:s s:I}", "family", g->family, "gen", gen);
	return out->body ? ST_OK : ST_ERROR;
}

/* The refresh family for a grant made for a person (g->family already chosen),
 * and its first refresh token when the client may refresh. session: the store
 * key of the browser session it came from (logout revokes it), or NULL. */
static int family_create(struct store_txn *t, struct grant *g, const char *session)
{
	const struct conf *c = g->r->authd->conf;
	int64_t now = now_s();
	json_t *fam;
	int rc;

	fam = json_pack("{s:s s:s s:s s:s? s:I s:I s:I s:I s:I s:I s:b s:I s:I s:s?}",
	                "client", g->client_id, "user", g->user_id, "scope", g->scope,
	                "sid", g->sid[0] ? g->sid : NULL,
	                "auth_time", (json_int_t)g->auth_time, "amr", (json_int_t)g->amr,
	                "factors", (json_int_t)g->factors, "props", (json_int_t)g->props,
	                "held", (json_int_t)g->held,
	                "gen", (json_int_t)1, "revoked", 0, "created", (json_int_t)now,
	                "expires", (json_int_t)(now + c->refresh_ttl), "session", session);
	if (!fam)
		return STORE_IO;
	rc = store_puts(t, T_FAMILIES, g->family, fam, STORE_NOOVERWRITE);
	json_decref(fam);
	if (rc == STORE_OK && client_has(g->ca.client, "grant_types", "refresh_token"))
		rc = refresh_store(t, g, 1, (json_int_t)(now + c->refresh_ttl));
	return rc;
}

static int load_user(struct store_txn *t, struct grant *g)
{
	if (user_by_id(t, g->user_id, &g->user) != STORE_OK || user_is_disabled(g->user))
		return -1;
	return 0;
}

/* ---- grants on the store's operations (records.h), run on a STORE worker ----
 * Each grant reads what it decides from, then commits one atomic batch whose
 * own conditions (take-once of the code, put-if-version of the family) make a
 * concurrent or replayed request lose: the database decides, not this process. */

/* The fields of a grant's audit record (a new object). */
static json_t *
grant_fields(struct grant *g, const char *reason)
{
	json_t *f = json_pack(
	    "{s:s s:s s:s}", "client", g->client_id, "grant", g->grant_type, "ip", g->r->peer);

	if (f && g->user_id[0])
		json_object_set_new(f, "user", json_string(g->user_id));
	if (f && g->family[0])
		json_object_set_new(f, "family", json_string(g->family));
	if (f && reason)
		json_object_set_new(f, "reason", json_string(reason));
	return f;
}

/* Commits ops[0..n) with the client assertion's jti (insert-if-absent, first)
 * and the audit record (last) in one batch. A replayed assertion refuses the
 * whole grant (401) and ST_OK is returned with g->err set. Otherwise the
 * batch's status; *failed (when not NULL) is the index in ops of the op that
 * refused. */
static int
grant_commit(struct grant *g, struct rec_op *ops, size_t n, const char *event, const char *reason,
    size_t *failed)
{
	struct rec_op all[REC_BATCH_MAX];
	struct rec jti;
	size_t k = 0, bad = 0;
	int has_jti, rc;
	json_t *f;

	if (n + 2 > REC_BATCH_MAX)
		return ST_INVALID;
	has_jti = client_auth_jti(&g->ca, &jti) == ST_OK;
	if (has_jti)
		all[k++] = (struct rec_op){ .type = ROP_INSERT, .rec = &jti };
	for (size_t i = 0; i < n; i++)
		all[k++] = ops[i];
	if (!(f = grant_fields(g, reason))) {
		rec_clear(&jti);
		return ST_ERROR;
	}
	all[k++] = (struct rec_op){ .type = ROP_AUDIT, .event = event, .fields = f };
	rc = records_batch(g->rs, all, k, &bad);
	json_decref(f);
	rec_clear(&jti);
	if (rc == ST_EXISTS && has_jti && bad == 0)
		return refuse(g, 401, "invalid_client", "client assertion already used");
	if (failed)
		*failed = bad >= (size_t)has_jti ? bad - (size_t)has_jti : 0;
	return rc;
}

/* A refusal worth an audit record (and the jti of its assertion). */
static int
grant_refuse(struct grant *g, int status, const char *err, const char *desc, const char *event,
    const char *reason)
{
	refuse(g, status, err, desc);
	return grant_commit(g, NULL, 0, event, reason, NULL);
}

/* Revokes g->family and records event, as one batch; a family changed
 * meanwhile (a rotation) is read again. An unknown family leaves only the
 * audit record. */
static int
family_revoke_commit(struct grant *g, const char *event, const char *reason)
{
	for (int tries = 0; tries < 8; tries++) {
		struct rec fam;
		struct rec_op op;
		size_t failed = 0;
		int rc;

		if (!g->family[0])
			return grant_commit(g, NULL, 0, event, reason, NULL);
		rc = records_get(g->rs, RK_FAMILY, g->family, &fam);
		if (rc == ST_NOTFOUND) {
			rec_clear(&fam);
			return grant_commit(g, NULL, 0, event, reason, NULL);
		}
		if (rc != ST_OK && rc != ST_EXPIRED) {
			rec_clear(&fam);
			return rc;
		}
		json_object_set_new(fam.body, "revoked", json_true());
		json_object_set_new(fam.body, "revoked_at", json_integer(now_s()));
		op = (struct rec_op){
			.type = ROP_PUT_IF_VERSION, .rec = &fam, .expect = fam.version
		};
		rc = grant_commit(g, &op, 1, event, reason, &failed);
		rec_clear(&fam);
		if (rc != ST_CONFLICT)
			return rc;
	}
	return ST_CONFLICT;
}

static int
load_user_now(struct grant *g)
{
	struct store_txn *t = store_read_begin(g->r->authd->store);
	int rc;

	if (!t)
		return ST_IO;
	rc = load_user(t, g) == 0 ? ST_OK : ST_DENIED;
	store_read_end(t);
	return rc;
}

/* The browser session a code came from lists the families its codes made, so
 * logout can revoke them. Written before the grant's batch: a listed family
 * that never came to be is skipped by logout, a made one is never unlisted.
 * (Sessions are still on store.h; they move with the sign-in flow.) */
struct session_link {
	const char *skey, *family;
};

static int
session_link_write(struct store_txn *t, void *arg)
{
	struct session_link *l = arg;
	json_t *sess = NULL, *fams;
	int rc;

	if (store_gets(t, T_SESSIONS, l->skey, &sess) != STORE_OK)
		return STORE_OK; /* logged out meanwhile: nothing to list it in */
	fams = json_object_get(sess, "families");
	if (!json_is_array(fams)) {
		json_decref(sess);
		return STORE_OK;
	}
	json_array_append_new(fams, json_string(l->family));
	rc = store_puts(t, T_SESSIONS, l->skey, sess, 0);
	json_decref(sess);
	return rc;
}

/* The refresh family record (and the first refresh token when the client may
 * refresh) of a grant for a person; g->family chosen, g's fields filled. */
static int
family_records(struct grant *g, const char *session, struct rec *fam, struct rec *rt)
{
	const struct conf *c = g->r->authd->conf;
	int64_t now = now_s();
	int rc;

	memset(rt, 0, sizeof(*rt));
	if ((rc = rec_init(fam, RK_FAMILY, g->family)) != ST_OK)
		return rc;
	snprintf(fam->owner, sizeof(fam->owner), "%s", g->client_id);
	fam->expires = now + c->refresh_ttl;
	fam->body = json_pack("{s:s s:s s:s? s:I s:I s:I s:I s:I s:I s:b s:I s:s?}", "user",
	    g->user_id, "scope", g->scope, "sid", g->sid[0] ? g->sid : NULL, "auth_time",
	    (json_int_t)g->auth_time, "amr", (json_int_t)g->amr, "factors", (json_int_t)g->factors,
	    "props", (json_int_t)g->props, "held", (json_int_t)g->held, "gen", (json_int_t)1,
	    "revoked", 0, "created", (json_int_t)now, "session", session);
	if (!fam->body)
		return ST_ERROR;
	if (!client_has(g->ca.client, "grant_types", "refresh_token"))
		return ST_OK;
	return refresh_record(g, 1, fam->expires, rt);
}

static int
code_grant(struct grant *g)
{
	struct rec code, fam, rt;
	struct rec_op ops[3];
	size_t n = 0, failed = 0;
	int rc;

	rc = records_get(g->rs, RK_CODE, g->key, &code);
	if (rc == ST_NOTFOUND) {
		rec_clear(&code);
		return grant_refuse(g, 400, "invalid_grant",
		    "unknown or expired authorization code", "token.failure", "unknown code");
	}
	if (rc != ST_OK && rc != ST_EXPIRED) {
		rec_clear(&code);
		return rc;
	}
	/* Whose code it is comes first: another client presenting a code it
	 * stole or guessed must not be able to revoke the tokens its rightful
	 * client got (the reuse rule below), nor learn anything about them. */
	if (strcmp(code.owner, g->client_id) != 0) {
		rec_clear(&code);
		return grant_refuse(g, 400, "invalid_grant",
		    "unknown or expired authorization code", "token.failure",
		    "code was issued to another client");
	}
	copy_str(g->family, sizeof(g->family), json_object_get(code.body, "family"));
	copy_str(g->user_id, sizeof(g->user_id), json_object_get(code.body, "user"));
	if (code.spent) {
		/* Replay: whoever holds this code may be an attacker; undo the first use. */
		rec_clear(&code);
		refuse(g, 400, "invalid_grant", "authorization code already used; tokens issued from it are revoked");
		return family_revoke_commit(g, "token.code_reuse", "code reused");
	}
	const char *why = NULL;
	const char *challenge = json_string_value(json_object_get(code.body, "code_challenge"));
	if (rc == ST_EXPIRED)
		why = "authorization code expired";
	else if (!g->redirect_uri ||
	    strcmp(g->redirect_uri,
	        str_or(json_string_value(json_object_get(code.body, "redirect_uri")), "")) != 0)
		why = "redirect_uri does not match the authorization request";
	else if (challenge == NULL && client_requires_pkce(g->ca.client))
		why = "code issued without code_challenge; the client now requires PKCE";
	else if (challenge == NULL && g->verifier != NULL)
		/* RFC 9700 §2.1.1: a verifier for a code issued without a challenge is
		 * a downgrade attempt, not a harmless extra. */
		why = "code_verifier given for a code issued without code_challenge";
	else if (challenge != NULL && (!g->verifier || !pkce_verify_s256(challenge, g->verifier)))
		why = "code_verifier does not match code_challenge (PKCE)";
	if (why) {
		rec_clear(&code);
		return grant_refuse(g, 400, "invalid_grant", why, "token.failure", why);
	}
	copy_str(g->scope, sizeof(g->scope), json_object_get(code.body, "scope"));
	copy_str(g->nonce, sizeof(g->nonce), json_object_get(code.body, "nonce"));
	copy_str(g->sid, sizeof(g->sid), json_object_get(code.body, "sid"));
	g->auth_time = json_integer_value(json_object_get(code.body, "auth_time"));
	g->amr = (unsigned)json_integer_value(json_object_get(code.body, "amr"));
	g->factors = (unsigned)json_integer_value(json_object_get(code.body, "factors"));
	g->props = (unsigned)json_integer_value(json_object_get(code.body, "props"));
	g->held = (int)json_integer_value(json_object_get(code.body, "held"));
	const char *skey = json_string_value(json_object_get(code.body, "session"));
	char session[80] = "";
	if (skey)
		snprintf(session, sizeof(session), "%s", skey);
	/* The take names only what it needs: kind, id and owner. */
	rec_clear(&code);
	rec_init(&code, RK_CODE, g->key);
	snprintf(code.owner, sizeof(code.owner), "%s", g->client_id);
	ops[n++] = (struct rec_op){ .type = ROP_TAKE, .rec = &code, .owner_check = 1 };
	if ((rc = load_user_now(g)) != ST_OK) {
		if (rc != ST_DENIED) {
			rec_clear(&code);
			return rc;
		}
		/* The code is spent all the same, as before any token. */
		refuse(g, 400, "invalid_grant", "account disabled");
		rc = grant_commit(g, ops, n, "token.failure", "account disabled", &failed);
		rec_clear(&code);
		return rc == ST_CONFLICT && failed == 0 ? ST_OK : rc;
	}
	if (session[0]) {
		struct session_link l = { .skey = session, .family = g->family };
		if ((rc = store_write_sync(g->r->authd->store, session_link_write, &l)) !=
		    STORE_OK) {
			rec_clear(&code);
			return rc;
		}
	}
	/* Every code gets a family record so a replay can revoke what it produced. */
	if ((rc = family_records(g, session[0] ? session : NULL, &fam, &rt)) != ST_OK) {
		rec_clear(&code);
		rec_clear(&fam);
		rec_clear(&rt);
		return rc;
	}
	ops[n++] = (struct rec_op){ .type = ROP_INSERT, .rec = &fam };
	if (rt.body)
		ops[n++] = (struct rec_op){ .type = ROP_INSERT, .rec = &rt };
	rc = grant_commit(g, ops, n, "token.issue", NULL, &failed);
	rec_clear(&fam);
	rec_clear(&rt);
	rec_clear(&code);
	if (rc != ST_OK || g->err)
		wipe(g->refresh, sizeof(g->refresh));
	if (rc == ST_CONFLICT && failed == 0) {
		/* Redeemed by a concurrent request (another node, perhaps) between our
		 * read and our take: the same replay as above. */
		refuse(g, 400, "invalid_grant",
		    "authorization code already used; tokens issued from it are revoked");
		return family_revoke_commit(g, "token.code_reuse", "code reused");
	}
	return rc;
}

static int in_granted(const char *w, void *granted)
{
	return scope_has(granted, w);
}

/* A machine's own token: registered scopes, but nothing about a person. */
static int machine_scope(const char *w, void *client)
{
	return client_has(client, "scopes", w) && strcmp(w, "openid") != 0 &&
	       strcmp(w, "offline_access") != 0;
}

static int
refresh_grant(struct grant *g)
{
	int64_t now = now_s();
	int rc = ST_CONFLICT;

	/* A refused put-if-version means the family changed after we read it: read
	 * again and decide from what is there now (usually: a reuse, revoked). */
	for (int tries = 0; tries < 4; tries++) {
		struct rec rt, fam, next;
		struct rec_op ops[2];
		size_t failed = 0;

		rc = records_get(g->rs, RK_REFRESH, g->key, &rt);
		if (rc == ST_NOTFOUND || rc == ST_EXPIRED) {
			rec_clear(&rt);
			return grant_refuse(g, 400, "invalid_grant", "unknown refresh token",
			    "token.failure", "unknown refresh token");
		}
		if (rc != ST_OK) {
			rec_clear(&rt);
			return rc;
		}
		copy_str(g->family, sizeof(g->family), json_object_get(rt.body, "family"));
		json_int_t gen = json_integer_value(json_object_get(rt.body, "gen"));
		rec_clear(&rt);
		rc = records_get(g->rs, RK_FAMILY, g->family, &fam);
		if (rc == ST_NOTFOUND) {
			rec_clear(&fam);
			return grant_refuse(g, 400, "invalid_grant", "unknown refresh token",
			    "token.failure", "family missing");
		}
		if (rc != ST_OK && rc != ST_EXPIRED) {
			rec_clear(&fam);
			return rc;
		}
		copy_str(g->user_id, sizeof(g->user_id), json_object_get(fam.body, "user"));
		const char *why = NULL;
		if (strcmp(fam.owner, g->client_id) != 0)
			why = "refresh token was issued to another client";
		else if (json_is_true(json_object_get(fam.body, "revoked")))
			why = "refresh token revoked";
		else if (rc == ST_EXPIRED)
			why = "refresh token expired";
		if (why) {
			rec_clear(&fam);
			return grant_refuse(g, 400, "invalid_grant", why, "token.failure", why);
		}
		if (gen != json_integer_value(json_object_get(fam.body, "gen"))) {
			/* An old token came back: it was stolen or the client is broken. Revoke all. */
			rec_clear(&fam);
			refuse(g, 400, "invalid_grant",
			    "refresh token already used; the whole token family is revoked");
			return family_revoke_commit(
			    g, "token.refresh_reuse", "refresh token reused");
		}
		copy_str(g->scope, sizeof(g->scope), json_object_get(fam.body, "scope"));
		if (g->want_scope) {
			/* A narrower scope may be asked for (RFC 6749 §6), never a wider one. */
			if (!scope_all(g->want_scope, in_granted, g->scope)) {
				rec_clear(&fam);
				return refuse(
				    g, 400, "invalid_scope", "scope wider than the original grant");
			}
			snprintf(g->scope, sizeof(g->scope), "%s", g->want_scope);
		}
		copy_str(g->sid, sizeof(g->sid), json_object_get(fam.body, "sid"));
		g->auth_time = json_integer_value(json_object_get(fam.body, "auth_time"));
		g->amr = (unsigned)json_integer_value(json_object_get(fam.body, "amr"));
		g->factors = (unsigned)json_integer_value(json_object_get(fam.body, "factors"));
		g->props = (unsigned)json_integer_value(json_object_get(fam.body, "props"));
		g->held = (int)json_integer_value(json_object_get(fam.body, "held"));
		if ((rc = load_user_now(g)) != ST_OK) {
			rec_clear(&fam);
			if (rc != ST_DENIED)
				return rc;
			refuse(g, 400, "invalid_grant", "account disabled");
			return family_revoke_commit(g, "token.failure", "account disabled");
		}
		/* The rotation: generation gen + 1, if nobody changed the family since we read it. */
		json_object_set_new(fam.body, "gen", json_integer(gen + 1));
		json_object_set_new(fam.body, "last_used", json_integer(now));
		if ((rc = refresh_record(g, gen + 1, fam.expires, &next)) != ST_OK) {
			rec_clear(&fam);
			rec_clear(&next);
			return rc;
		}
		ops[0] = (struct rec_op){
			.type = ROP_PUT_IF_VERSION, .rec = &fam, .expect = fam.version
		};
		ops[1] = (struct rec_op){ .type = ROP_INSERT, .rec = &next };
		rc = grant_commit(g, ops, 2, "token.refresh", NULL, &failed);
		rec_clear(&fam);
		rec_clear(&next);
		if (rc != ST_OK || g->err)
			wipe(g->refresh, sizeof(g->refresh));
		if (!(rc == ST_CONFLICT && failed == 0))
			return rc;
	}
	return rc;
}

/* RFC 8628 §3.4/3.5: the device polls; the answer follows the record's state. */
static int device_write(struct store_txn *t, void *arg)
{
	struct grant *g = arg;
	json_t *d = NULL;
	char key[80];
	int64_t now = now_s();
	int rc;

	if (client_auth_record(t, &g->ca) != STORE_OK)
		return refuse(g, 401, "invalid_client", "client assertion already used");
	snprintf(key, sizeof(key), "dc:%s", g->key);
	if (store_gets(t, T_DEVICE, key, &d) != STORE_OK)
		return refuse(g, 400, "invalid_grant", "unknown device_code");
	const char *why = NULL, *err = NULL;
	if (strcmp(str_or(json_string_value(json_object_get(d, "client_id")), ""), g->client_id) != 0) {
		err = "invalid_grant";
		why = "device_code was issued to another client";
	} else if (json_integer_value(json_object_get(d, "expires")) <= now) {
		err = "expired_token";
		why = "the device code expired; start again";
	}
	if (err) {
		json_decref(d);
		return refuse(g, 400, err, why);
	}
	json_int_t interval = json_integer_value(json_object_get(d, "interval"));
	json_int_t last = json_integer_value(json_object_get(d, "last_poll"));
	const char *status = str_or(json_string_value(json_object_get(d, "status")), "");
	json_object_set_new(d, "last_poll", json_integer(now));
	if (last && now - last < interval) {
		/* Polling too fast: every further poll waits 5 s longer (§3.5). */
		json_object_set_new(d, "interval", json_integer(interval + 5));
		rc = store_puts(t, T_DEVICE, key, d, 0);
		json_decref(d);
		return rc != STORE_OK ? rc : refuse(g, 400, "slow_down", "polling too fast; wait longer between requests");
	}
	if (strcmp(status, "pending") == 0) {
		rc = store_puts(t, T_DEVICE, key, d, 0);
		json_decref(d);
		return rc != STORE_OK ? rc : refuse(g, 400, "authorization_pending", "waiting for the person to approve");
	}
	/* Approved or denied: the answer is given once, then the code is gone. */
	char ukey[40];
	snprintf(ukey, sizeof(ukey), "uc:%s", str_or(json_string_value(json_object_get(d, "user_code")), ""));
	if ((rc = store_dels(t, T_DEVICE, key)) != STORE_OK) {
		json_decref(d);
		return rc;
	}
	store_dels(t, T_DEVICE, ukey);
	if (strcmp(status, "approved") != 0) {
		json_decref(d);
		refuse(g, 400, "access_denied", "the person denied the request");
		return audit_grant(t, g, "token.failure", "device request denied");
	}
	copy_str(g->user_id, sizeof(g->user_id), json_object_get(d, "user"));
	copy_str(g->scope, sizeof(g->scope), json_object_get(d, "scope"));
	copy_str(g->sid, sizeof(g->sid), json_object_get(d, "sid"));
	g->auth_time = json_integer_value(json_object_get(d, "auth_time"));
	g->amr = (unsigned)json_integer_value(json_object_get(d, "amr"));
	g->factors = (unsigned)json_integer_value(json_object_get(d, "factors"));
	g->props = (unsigned)json_integer_value(json_object_get(d, "props"));
	g->held = (int)json_integer_value(json_object_get(d, "held"));
	json_decref(d);
	if (load_user(t, g) != 0) {
		refuse(g, 400, "invalid_grant", "account disabled");
		return audit_grant(t, g, "token.failure", "account disabled");
	}
	if (rand_token(g->family, sizeof(g->family), 16) != 0)
		return STORE_IO;
	if ((rc = family_create(t, g, NULL)) != STORE_OK)
		return rc;
	return audit_grant(t, g, "token.issue", NULL);
}

static int cc_write(struct store_txn *t, void *arg)
{
	struct grant *g = arg;

	if (client_auth_record(t, &g->ca) != STORE_OK)
		return refuse(g, 401, "invalid_client", "client assertion already used");
	return audit_grant(t, g, "token.issue", NULL);
}

static void grant_done(int rc, void *arg)
{
	struct grant *g = arg;
	struct http_req *r = g->r;
	char *at = NULL, *idt = NULL;
	int ttl = 0;

	if (rc != STORE_OK) {
		if (rc == ST_SHUTDOWN || rc == ST_UNAVAILABLE || rc == ST_BUSY)
			http_reply_oauth_error(r, 503, "temporarily_unavailable",
			    "the grant could not be recorded now; try again");
		else
			http_reply_oauth_error(
			    r, 500, "server_error", "the grant could not be recorded");
		grant_free(g);
		return;
	}
	if (g->err) {
		if (g->status == 401)
			http_add_header(r, "WWW-Authenticate", "Basic realm=\"authd\", charset=\"UTF-8\"");
		http_reply_oauth_error(r, g->status, g->err, g->desc);
		grant_free(g);
		return;
	}
	int level = g->user_id[0] ? policy_level_of(g->amr, g->factors, g->props) : 0;
	if (g->held > 0 && g->held < level)
		level = g->held; /* the session's level had decayed when the grant was made */
	struct token_grant tg = {
		.client_id = g->client_id,
		.user_id = g->user_id[0] ? g->user_id : NULL,
		.scope = g->scope,
		.family = g->family[0] ? g->family : NULL,
		.sid = g->sid[0] ? g->sid : NULL,
		.nonce = g->nonce[0] ? g->nonce : NULL,
		.auth_time = g->auth_time,
		.level = level,
		.amr = g->amr,
		.factors = g->factors,
	};
	at = token_access(r, &tg, g->user, &ttl);
	if (at && tg.user_id && scope_has(g->scope, "openid"))
		idt = token_id(r, &tg, g->ca.client, g->user, at);
	if (!at || (tg.user_id && scope_has(g->scope, "openid") && !idt)) {
		free(at);
		free(idt);
		http_reply_oauth_error(r, 500, "server_error", "token signing failed");
		grant_free(g);
		return;
	}
	json_t *o = json_pack("{s:s s:s s:i}", "access_token", at, "token_type", "Bearer",
	                      "expires_in", ttl);
	if (idt)
		json_object_set_new(o, "id_token", json_string(idt));
	if (g->refresh[0])
		json_object_set_new(o, "refresh_token", json_string(g->refresh));
	if (g->scope[0])
		json_object_set_new(o, "scope", json_string(g->scope));
	metrics_token(g->grant_type);
	free(at);
	free(idt);
	http_reply_json(r, 200, o);
	grant_free(g);
}

static void
grant_work(void *arg)
{
	struct grant *g = arg;

	g->rc = g->run(g);
}

static void
grant_work_done(void *arg)
{
	struct grant *g = arg;

	grant_done(g->rc, g);
}

void oidc_token(struct http_req *r)
{
	struct store_txn *t;
	struct grant *g;
	store_write_fn fn;
	const char *gt = http_param(r, "grant_type");

	if (!r->form) {
		http_reply_oauth_error(r, 400, "invalid_request", "form-encoded POST body required");
		return;
	}
	if (!gt) {
		http_reply_oauth_error(r, 400, "invalid_request", "grant_type missing");
		return;
	}
	if (!(g = calloc(1, sizeof(*g)))) {
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	g->r = r;
	if (!(t = store_read_begin(r->authd->store))) {
		grant_free(g);
		http_reply_oauth_error(r, 500, "server_error", "store unavailable");
		return;
	}
	int authn = client_authenticate(r, t, &g->ca);
	store_read_end(t);
	if (authn != 0) {
		client_auth_reply_error(r, &g->ca);
		grant_free(g);
		return;
	}
	if (client_rate_check(r, &g->ca) != 0) {
		grant_free(g);
		return;
	}
	g->client_id = json_string_value(json_object_get(g->ca.client, "client_id"));

	if (strcmp(gt, "password") == 0 || strcmp(gt, GRANT_MFA_OTP) == 0) {
		/* Host login: only for confidential clients registered for it. */
		if (!client_has(g->ca.client, "grant_types", "password")) {
			http_reply_oauth_error(r, 400, "unauthorized_client", "client may not use this grant type");
			grant_free(g);
			return;
		}
		struct client_auth ca = g->ca;
		g->ca.client = NULL;
		grant_free(g);
		if (strcmp(gt, "password") == 0)
			host_login_password(r, &ca);
		else
			host_login_otp(r, &ca);
		return;
	}
	if (strcmp(gt, "authorization_code") == 0) {
		const char *code = http_param(r, "code");
		if (!code || strlen(code) != OIDC_SECRET_LEN) {
			http_reply_oauth_error(r, 400, code ? "invalid_grant" : "invalid_request",
			                       code ? "unknown or expired authorization code" : "code missing");
			grant_free(g);
			return;
		}
		if (!http_param(r, "code_verifier") && client_requires_pkce(g->ca.client)) {
			http_reply_oauth_error(r, 400, "invalid_request", "code_verifier missing (PKCE is required)");
			grant_free(g);
			return;
		}
		secret_key_hex(code, g->key);
		g->grant_type = "authorization_code";
		g->verifier = http_param(r, "code_verifier");
		g->redirect_uri = http_param(r, "redirect_uri");
		g->run = code_grant;
		fn = NULL;
	} else if (strcmp(gt, "refresh_token") == 0) {
		const char *rt = http_param(r, "refresh_token");
		if (!rt || strlen(rt) != OIDC_SECRET_LEN) {
			http_reply_oauth_error(r, 400, rt ? "invalid_grant" : "invalid_request",
			                       rt ? "unknown refresh token" : "refresh_token missing");
			grant_free(g);
			return;
		}
		secret_key_hex(rt, g->key);
		g->grant_type = "refresh_token";
		g->want_scope = http_param(r, "scope");
		g->run = refresh_grant;
		fn = NULL;
	} else if (strcmp(gt, GRANT_DEVICE_CODE) == 0) {
		const char *dc = http_param(r, "device_code");
		if (!dc || strlen(dc) != OIDC_SECRET_LEN) {
			http_reply_oauth_error(r, 400, dc ? "invalid_grant" : "invalid_request",
			                       dc ? "unknown device_code" : "device_code missing");
			grant_free(g);
			return;
		}
		secret_key_hex(dc, g->key);
		g->grant_type = GRANT_DEVICE_CODE;
		fn = device_write;
	} else if (strcmp(gt, "client_credentials") == 0) {
		const char *sc = http_param(r, "scope");
		g->grant_type = "client_credentials";
		if (sc && strlen(sc) > OIDC_MAX_SCOPE) {
			http_reply_oauth_error(r, 400, "invalid_scope", "scope too long");
			grant_free(g);
			return;
		}
		snprintf(g->scope, sizeof(g->scope), "%s", sc ? sc : "");
		if (!scope_all(g->scope, machine_scope, g->ca.client)) {
			http_reply_oauth_error(r, 400, "invalid_scope", "scope not allowed for this client");
			grant_free(g);
			return;
		}
		fn = cc_write;
	} else {
		http_reply_oauth_error(r, 400, "unsupported_grant_type", "grant_type not supported");
		grant_free(g);
		return;
	}
	if (!client_has(g->ca.client, "grant_types", g->grant_type)) {
		http_reply_oauth_error(r, 400, "unauthorized_client", "client may not use this grant type");
		grant_free(g);
		return;
	}
	if (strcmp(g->grant_type, "client_credentials") == 0 &&
	    strcmp(str_or(json_string_value(json_object_get(g->ca.client, "token_endpoint_auth_method")), ""), "none") == 0) {
		http_reply_oauth_error(r, 400, "unauthorized_client", "public clients cannot use client_credentials");
		grant_free(g);
		return;
	}
	if (g->run) {
		/* Synchronous store operations: on a STORE worker, never on this loop. */
		g->rs = r->authd->records;
		if (http_store_work(r, grant_work, grant_work_done, g) != 0) {
			http_reply_oauth_error(
			    r, 503, "temporarily_unavailable", "server busy; try again");
			grant_free(g);
		}
		return;
	}
	if (http_store_write(r, fn, grant_done, g) != STORE_OK) {
		http_reply_oauth_error(r, 503, "temporarily_unavailable", "shutting down");
		grant_free(g);
	}
}

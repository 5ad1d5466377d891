/* authd/oidc/logout.c — RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 *
 * A logout is carried out without asking only when the request proves it comes
 * from an app of this session (an id_token_hint we signed naming this session's
 * sid); otherwise the person confirms with a form whose CSRF token is bound to the
 * session. post_logout_redirect_uri must exactly match one the client registered.
 * An id_token_hint must be an ID token of ours (typ JWT, the claims an ID token
 * has and an access token does not); of its checks only expiry is waived, as
 * RP-Initiated Logout 1.0 §2 allows. Anything else is refused with nothing
 * logged out: an access token also carries sid, and is handed to every
 * resource server the app calls.
 * Logging out deletes the session and revokes the refresh families it produced,
 * except offline_access ones, which outlive the browser session by design. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/util.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../keys.h"
#include "../ui.h"
#include "oidc.h"

struct logout {
	struct http_req *r;
	char skey[65];
	char redirect[1024];    /* validated post_logout_redirect_uri with state, or "" */
};

int logout_hint_claims_ok(const json_t *p, const char *issuer, long leeway, int64_t now)
{
	const json_t *aud = json_object_get(p, "aud"), *v;
	const json_t *iat = json_object_get(p, "iat"), *nbf = json_object_get(p, "nbf");
	const char *s;
	size_t i;

	if (!(s = json_string_value(json_object_get(p, "iss"))) || strcmp(s, issuer) != 0)
		return 0;
	if (!(s = json_string_value(json_object_get(p, "sub"))) || !*s)
		return 0;
	if (json_is_array(aud)) {
		if (json_array_size(aud) == 0)
			return 0;
		json_array_foreach(aud, i, v)
			if (!json_is_string(v) || !*json_string_value(v))
				return 0;
	} else if (!json_is_string(aud) || !*json_string_value(aud)) {
		return 0;
	}
	/* exp must be there (an ID token always has it) but may have passed. */
	if (!json_is_integer(json_object_get(p, "exp")) || !json_is_integer(iat) ||
	    json_integer_value(iat) > now + leeway)
		return 0;
	if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > now + leeway))
		return 0;
	/* The shape of an access token (RFC 9068): never an ID token of ours. */
	if (json_object_get(p, "client_id") || json_object_get(p, "scope"))
		return 0;
	return 1;
}

static int logout_write(struct store_txn *t, void *arg)
{
	struct logout *l = arg;
	json_t *s = NULL, *fams, *v, *f;
	size_t i;
	int rc;

	if (store_gets(t, T_SESSIONS, l->skey, &s) != STORE_OK)
		return STORE_OK; /* already gone */
	fams = json_object_get(s, "families");
	json_array_foreach(fams, i, v) {
		json_t *fam = NULL;
		const char *id = json_string_value(v);
		if (!id || store_gets(t, T_FAMILIES, id, &fam) != STORE_OK)
			continue;
		if (!scope_has(json_string_value(json_object_get(fam, "scope")), "offline_access")) {
			family_mark_revoked(fam, now_s());
			rc = store_puts(t, T_FAMILIES, id, fam, 0);
			if (rc != STORE_OK) {
				json_decref(fam);
				json_decref(s);
				return rc;
			}
		}
		json_decref(fam);
	}
	if ((rc = store_dels(t, T_SESSIONS, l->skey)) != STORE_OK) {
		json_decref(s);
		return rc;
	}
	f = json_pack("{s:O s:O s:s}", "user", json_object_get(s, "user"), "sid",
	              json_object_get(s, "sid"), "ip", l->r->peer);
	rc = audit_append(t, "logout", f);
	json_decref(f);
	json_decref(s);
	return rc;
}

static void finish(struct logout *l)
{
	struct http_req *r = l->r;

	http_set_cookie(r, COOKIE_SESSION, "", 0);
	if (l->redirect[0])
		http_redirect(r, l->redirect);
	else
		ui_message(r, 200, "logout.title", "logout.done", NULL, NULL, NULL);
	free(l);
}

static void logout_done(int rc, void *arg)
{
	struct logout *l = arg;

	if (rc != STORE_OK) {
		ui_error(l->r, 500, "err.title", "err.server", NULL);
		free(l);
		return;
	}
	finish(l);
}

void oidc_logout(struct http_req *r)
{
	const char *hint = http_param(r, "id_token_hint");
	const char *plru = http_param(r, "post_logout_redirect_uri");
	const char *state = http_param(r, "state");
	const char *client_id = http_param(r, "client_id");
	json_t *claims = NULL, *client = NULL, *session;
	struct store_txn *t = store_read_begin(r->authd->store);
	struct logout *l;
	char hint_client[128] = "", hint_sid[64] = "";

	if (!t) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		store_read_end(t);
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	l->r = r;
	if (hint) {
		keys_refresh(r->authd, t);
		/* An ID token of ours: signature, typ JWT (not at+jwt) and its claims;
		 * it may have expired (OIDC RP-Initiated Logout §2). */
		if (jose_verify(hint, keys_verify_set(r->authd), "JWT", NULL, &claims) != JOSE_OK ||
		    !logout_hint_claims_ok(claims, r->authd->conf->issuer, r->authd->conf->leeway,
		                           now_s())) {
			json_decref(claims);
			store_read_end(t);
			free(l);
			ui_error(r, 400, "logout.title", "logout.bad_hint", "id_token_hint");
			return;
		}
		const json_t *aud = json_object_get(claims, "aud");
		if (json_is_array(aud))
			aud = json_array_get(aud, 0);
		snprintf(hint_client, sizeof(hint_client), "%s", json_string_value(aud) ? json_string_value(aud) : "");
		snprintf(hint_sid, sizeof(hint_sid), "%s",
		         str_or(json_string_value(json_object_get(claims, "sid")), ""));
		json_decref(claims);
		if (client_id && strcmp(client_id, hint_client) != 0) {
			store_read_end(t);
			free(l);
			ui_error(r, 400, "err.title", "err.bad_request", "client_id");
			return;
		}
		client_id = hint_client;
	}
	if (plru) {
		if (!client_id || client_get(t, client_id, &client) != STORE_OK ||
		    !client_has(client, "post_logout_redirect_uris", plru) || strlen(plru) > 700) {
			json_decref(client);
			store_read_end(t);
			free(l);
			ui_error(r, 400, "err.title", "err.redirect_uri", "post_logout_redirect_uri");
			return;
		}
		json_decref(client);
		struct buf b;
		buf_init(&b);
		buf_adds(&b, plru);
		if (state && strlen(state) <= OIDC_MAX_STATE) {
			buf_adds(&b, strchr(plru, '?') ? "&state=" : "?state=");
			buf_add_urlenc(&b, state);
		}
		if (!b.oom && b.len < sizeof(l->redirect))
			memcpy(l->redirect, b.p, b.len + 1);
		buf_free(&b);
	}
	session = session_find(r, t, l->skey);
	store_read_end(t);
	if (!session) {
		finish(l); /* nothing to end */
		return;
	}
	const char *sid = json_string_value(json_object_get(session, "sid"));
	int proven = hint_sid[0] && sid && strcmp(sid, hint_sid) == 0;
	json_decref(session);

	char csrf[65];
	session_csrf(r, l->skey, "logout", csrf);
	if (!proven) {
		const char *given = r->method == HTTP_POST ? http_param(r, "csrf") : NULL;
		if (!session_csrf_ok(r, l->skey, "logout", given)) {
			if (r->method == HTTP_POST && given) {
				free(l);
				ui_error(r, 403, "err.title", "err.csrf", NULL);
				return;
			}
			free(l);
			ui_message(r, 200, "logout.title", "logout.confirm", "/logout", csrf, "logout.button");
			return;
		}
	}
	if (http_store_write(r, logout_write, logout_done, l) != STORE_OK) {
		free(l);
		ui_error(r, 503, "err.title", "err.server", NULL);
	}
}

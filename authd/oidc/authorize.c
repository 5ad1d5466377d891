/* authd/oidc/authorize.c — the authorization endpoint (OIDC Core §3.1.2).
 *
 * Order matters: until client_id and redirect_uri are proven (exact match with a
 * registered URI) every error is a page, never a redirect, so authd cannot be
 * used as an open redirector. After that, errors go back to the client.
 * A browser whose session already meets the client's level gets its code at once
 * (SSO); otherwise a login transaction (T_LOGINS) records the request and the
 * browser is sent to /login. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../log.h"
#include "../policy.h"
#include "../ui.h"
#include "../users.h"
#include "oidc.h"

#define TX_ID_BYTES 16

struct authz {
	struct http_req *r;
	json_t *tx;                 /* the validated request */
	json_t *session;            /* SSO path */
	char skey[65];
	char code[OIDC_SECRET_LEN + 1];
	char tx_id[32];
	char browser[OIDC_SECRET_LEN + 1];
	int new_browser;
};

static void authz_free(struct authz *z)
{
	json_decref(z->tx);
	json_decref(z->session);
	wipe(z->code, sizeof(z->code));
	wipe(z->browser, sizeof(z->browser));
	free(z);
}

/* Highest aalN asked for in acr_values (0 when none we know). */
static int acr_level(const char *acr)
{
	int lvl = 0;

	for (int i = 1; i <= 3; i++)
		if (acr && scope_has(acr, policy_acr_name(i)))
			lvl = i;
	return lvl;
}

int code_issue(struct store_txn *t, struct http_req *r, const json_t *tx, const json_t *session,
               char code_out[OIDC_SECRET_LEN + 1])
{
	char key[65], family[32];
	int64_t now = now_s();
	json_t *c;
	int rc;

	if (secret_new(code_out) != 0 || rand_token(family, sizeof(family), 16) != 0)
		return STORE_IO;
	secret_key_hex(code_out, key);
	c = json_pack("{s:O s:O s:O? s:O s:O s:O? s:O s:O s:O? s:O? s:O? s:I s:b s:s}", "client_id",
	    json_object_get(tx, "client_id"), "redirect_uri", json_object_get(tx, "redirect_uri"),
	    "code_challenge", json_object_get(tx, "code_challenge"), "scope",
	    json_object_get(tx, "scope"), "user", json_object_get(session, "user"), "sid",
	    json_object_get(session, "sid"), "auth_time", json_object_get(session, "auth_time"),
	    "amr", json_object_get(session, "amr"), "factors", json_object_get(session, "factors"),
	    "props", json_object_get(session, "props"), "session", json_object_get(session, "key"),
	    "expires", (json_int_t)(now + r->authd->conf->code_ttl), "used", 0, "family", family);
	if (!c)
		return STORE_IO;
	if (json_object_get(tx, "nonce"))
		json_object_set(c, "nonce", json_object_get(tx, "nonce"));
	/* The level the session holds now (it decays with idle time): tokens from
	 * this code never claim more (acr). */
	json_object_set_new(c, "held", json_integer(session_level(session)));
	rc = store_puts(t, T_CODES, key, c, STORE_NOOVERWRITE);
	json_decref(c);
	return rc;
}

char *code_location(struct http_req *r, const json_t *tx, const char *code)
{
	return redirect_back(r, json_string_value(json_object_get(tx, "redirect_uri")), "code", code,
	                     NULL, NULL, json_string_value(json_object_get(tx, "state")));
}

/* SSO: the session is good enough; issue a code and note the client in the session. */
static int sso_write(struct store_txn *t, void *arg)
{
	struct authz *z = arg;
	json_t *s = NULL, *clients;
	const char *client_id = json_string_value(json_object_get(z->tx, "client_id"));
	int rc;

	/* Re-read inside the transaction: a logout may have happened meanwhile. */
	if (store_gets(t, T_SESSIONS, z->skey, &s) != STORE_OK)
		return STORE_CONFLICT;
	json_object_set_new(s, "last_seen", json_integer(now_s()));
	clients = json_object_get(s, "clients");
	if (json_is_array(clients) && !client_has(s, "clients", client_id))
		json_array_append_new(clients, json_string(client_id));
	if ((rc = store_puts(t, T_SESSIONS, z->skey, s, 0)) != STORE_OK) {
		json_decref(s);
		return rc;
	}
	json_object_set_new(s, "key", json_string(z->skey));
	json_object_set(s, "level", json_object_get(z->session, "level"));
	if ((rc = code_issue(t, z->r, z->tx, s, z->code)) != STORE_OK) {
		json_decref(s);
		return rc;
	}
	json_t *ev = json_pack("{s:O s:s s:s s:s}", "user", json_object_get(s, "user"),
	                       "client", client_id, "ip", z->r->peer, "method", "sso");
	rc = audit_append(t, "login.sso", ev);
	json_decref(ev);
	json_decref(s);
	return rc;
}

static void sso_done(int rc, void *arg)
{
	struct authz *z = arg;
	struct http_req *r = z->r;

	if (rc != STORE_OK) {
		/* The session vanished (logout) between read and write: log in again. */
		log_msg(LOG_INFO, "sso code not issued", "reason", store_strerror(rc), NULL);
		ui_error(r, rc == STORE_CONFLICT ? 400 : 500, "err.title",
		         rc == STORE_CONFLICT ? "err.tx_expired" : "err.server", NULL);
	} else {
		char *loc = code_location(r, z->tx, z->code);
		if (loc)
			http_redirect(r, loc);
		else
			http_reply_oauth_error(r, 500, "server_error", "out of memory");
		free(loc);
	}
	authz_free(z);
}

static int tx_write(struct store_txn *t, void *arg)
{
	struct authz *z = arg;

	return store_puts(t, T_LOGINS, z->tx_id, z->tx, STORE_NOOVERWRITE);
}

static void tx_done(int rc, void *arg)
{
	struct authz *z = arg;
	struct http_req *r = z->r;
	char loc[128];

	if (rc != STORE_OK) {
		ui_error(r, 500, "err.title", "err.server", NULL);
	} else {
		if (z->new_browser)
			http_set_cookie(r, COOKIE_LOGIN, z->browser, -1);
		snprintf(loc, sizeof(loc), "/login?tx=%s", z->tx_id);
		http_redirect(r, loc);
	}
	authz_free(z);
}

/* Records z->tx as a login transaction bound to this browser (the login cookie)
 * and sends the browser to the sign-in page. Replies and frees z. */
static void tx_begin(struct authz *z)
{
	struct http_req *r = z->r;
	const char *bc = http_cookie(r, COOKIE_LOGIN);
	char bhash[65], csrf[OIDC_SECRET_LEN + 1];

	if (bc && strlen(bc) == OIDC_SECRET_LEN) {
		snprintf(z->browser, sizeof(z->browser), "%s", bc);
	} else {
		z->new_browser = 1;
		if (secret_new(z->browser) != 0)
			goto fail;
	}
	if (rand_token(z->tx_id, sizeof(z->tx_id), TX_ID_BYTES) != 0 || secret_new(csrf) != 0)
		goto fail;
	secret_key_hex(z->browser, bhash);
	json_object_set_new(z->tx, "browser", json_string(bhash));
	json_object_set_new(z->tx, "csrf", json_string(csrf));
	json_object_set_new(z->tx, "lang", json_string(r->lang));
	json_object_set_new(z->tx, "expires", json_integer(now_s() + r->authd->conf->login_ttl));
	wipe(csrf, sizeof(csrf));
	if (http_store_write(r, tx_write, tx_done, z) != STORE_OK) {
		authz_free(z);
		http_reply_oauth_error(r, 503, "temporarily_unavailable", "shutting down");
	}
	return;
fail:
	authz_free(z);
	ui_error(r, 500, "err.title", "err.server", NULL);
}

/* 1 when later steps by the person's own enrolled methods can take session s
 * to level (what it has shown plus what they can show). */
static int step_reaches(struct store_txn *t, const json_t *s, int level)
{
	const char *uid = json_string_value(json_object_get(s, "user"));
	struct policy_cred c[16];
	size_t n = 0;

	c[n].amr = (unsigned)json_integer_value(json_object_get(s, "amr"));
	c[n].factors = (unsigned)json_integer_value(json_object_get(s, "factors"));
	c[n].props = (unsigned)json_integer_value(json_object_get(s, "props"));
	n++;
	for (const struct authd_method *const *mp = authd_methods; uid && *mp && n < 16; mp++)
		if (((*mp)->flags & METHOD_STEP) && method_reach(*mp, t, uid, NULL, &c[n]))
			n++;
	return policy_reachable_level(c, n) >= level;
}

void login_start(struct http_req *r, const char *return_to, int level)
{
	struct authz *z = calloc(1, sizeof(*z));

	/* Only local paths: never an open redirect. */
	if (!z || !return_to || return_to[0] != '/' || return_to[1] == '/' || return_to[1] == '\\' ||
	    strlen(return_to) > 200) {
		free(z);
		ui_error(r, 400, "err.title", "err.bad_request", NULL);
		return;
	}
	z->r = r;
	z->tx = json_pack("{s:s s:i}", "return_to", return_to, "level", level < 1 ? 1 : level);
	/* A session that proved less than needed is stepped up, not replaced — when
	 * the later-step methods can get it there; otherwise (the level needs a
	 * method that only starts a sign-in, such as the citizen card) a new sign-in. */
	struct store_txn *t = store_read_begin(r->authd->store);
	json_t *s = t ? session_find(r, t, z->skey) : NULL;
	if (s && session_raw_level(s) == session_level(s) && session_level(s) < level &&
	    step_reaches(t, s, level))
		json_object_set_new(z->tx, "partial",
		                    json_pack("{s:O s:O s:O s:O}", "user", json_object_get(s, "user"),
		                              "amr", json_object_get(s, "amr"),
		                              "factors", json_object_get(s, "factors"),
		                              "props", json_object_get(s, "props")));
	json_decref(s);
	if (t)
		store_read_end(t);
	tx_begin(z);
}

static int prompt_known(const char *w, void *ctx)
{
	(void)ctx;
	return !strcmp(w, "none") || !strcmp(w, "login") || !strcmp(w, "consent") ||
	       !strcmp(w, "select_account");
}

static int prompt_is_none(const char *w, void *ctx)
{
	(void)ctx;
	return !strcmp(w, "none");
}

/* Checks the parameters after the redirect_uri is trusted. Returns the OAuth error
 * code (and *desc) or NULL when the request is acceptable. */
static const char *check_params(struct http_req *r, const json_t *client, const char **desc)
{
	const char *v;

	if (http_param(r, "request")) {
		*desc = "request objects are not supported";
		return "request_not_supported";
	}
	if (http_param(r, "request_uri")) {
		*desc = "request_uri is not supported";
		return "request_uri_not_supported";
	}
	v = http_param(r, "response_type");
	if (!v || strcmp(v, "code") != 0) {
		*desc = "only response_type=code is supported";
		return v ? "unsupported_response_type" : "invalid_request";
	}
	v = http_param(r, "response_mode");
	if (v && strcmp(v, "query") != 0) {
		*desc = "only response_mode=query is supported";
		return "invalid_request";
	}
	if (!client_has(client, "grant_types", "authorization_code")) {
		*desc = "client may not use the authorization code grant";
		return "unauthorized_client";
	}
	v = http_param(r, "scope");
	if (!v || !*v || strlen(v) > OIDC_MAX_SCOPE || !scope_client_allows(client, v)) {
		*desc = "scope missing or not allowed for this client";
		return "invalid_scope";
	}
	v = http_param(r, "code_challenge");
	if (!v && !http_param(r, "code_challenge_method") && !client_requires_pkce(client)) {
		/* Registered without PKCE (audited, warned at start-up): no challenge. */
	} else if (!v) {
		*desc = "PKCE required: code_challenge with code_challenge_method=S256";
		return "invalid_request";
	} else if (!pkce_challenge_ok(v)) {
		*desc = "code_challenge must be 43 base64url characters (S256)";
		return "invalid_request";
	} else if (!(v = http_param(r, "code_challenge_method")) || strcmp(v, "S256") != 0) {
		*desc = "code_challenge_method must be S256";
		return "invalid_request";
	}
	v = http_param(r, "nonce");
	if (v && strlen(v) > OIDC_MAX_NONCE) {
		*desc = "nonce too long";
		return "invalid_request";
	}
	v = http_param(r, "prompt");
	if (v && !scope_all(v, prompt_known, NULL)) {
		*desc = "unsupported prompt value";
		return "invalid_request";
	}
	if (v && scope_has(v, "none") && !scope_all(v, prompt_is_none, NULL)) {
		*desc = "prompt=none cannot be combined with other values";
		return "invalid_request";
	}
	v = http_param(r, "max_age");
	if (v) {
		char *end;
		long m = strtol(v, &end, 10);
		if (!*v || *end || m < 0) {
			*desc = "max_age must be a non-negative integer";
			return "invalid_request";
		}
	}
	v = http_param(r, "login_hint");
	if (v && strlen(v) > 256) {
		*desc = "login_hint too long";
		return "invalid_request";
	}
	return NULL;
}

static json_t *tx_from_request(struct http_req *r, int level)
{
	static const char *const keep[] = { "client_id", "redirect_uri", "state", "nonce",
		                            "code_challenge", "scope", "prompt", "login_hint",
		                            "acr_values", NULL };
	json_t *tx = json_object();

	for (int i = 0; keep[i]; i++) {
		const char *v = http_param(r, keep[i]);
		if (v)
			json_object_set_new(tx, keep[i], json_string(v));
	}
	const char *ma = http_param(r, "max_age");
	if (ma)
		json_object_set_new(tx, "max_age", json_integer(strtol(ma, NULL, 10)));
	json_object_set_new(tx, "level", json_integer(level));
	return tx;
}

void oidc_authorize(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *client_id = http_param(r, "client_id");
	const char *ru = http_param(r, "redirect_uri");
	const char *state = http_param(r, "state");
	const char *err, *desc = NULL;
	json_t *client = NULL, *user = NULL;
	struct authz *z;
	int level, min;

	if (!t) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	if (!client_id || client_get(t, client_id, &client) != STORE_OK ||
	    json_is_true(json_object_get(client, "disabled"))) {
		store_read_end(t);
		json_decref(client);
		ui_error(r, 400, "err.title", "err.unknown_client", client_id ? "client_id" : "client_id missing");
		return;
	}
	if (!ru || !client_has(client, "redirect_uris", ru)) {
		store_read_end(t);
		json_decref(client);
		ui_error(r, 400, "err.title", "err.redirect_uri", "redirect_uri");
		return;
	}
	if (state && strlen(state) > OIDC_MAX_STATE) {
		state = NULL; /* never reflect oversized input */
		err = "invalid_request";
		desc = "state too long";
	} else {
		err = check_params(r, client, &desc);
	}
	if (err) {
		store_read_end(t);
		json_decref(client);
		oidc_redirect_error(r, ru, err, desc, state);
		return;
	}

	min = (int)json_integer_value(json_object_get(client, "min_aal"));
	level = acr_level(http_param(r, "acr_values"));
	if (level < min)
		level = min;
	if (level < 1)
		level = 1;

	z = calloc(1, sizeof(*z));
	if (!z) {
		store_read_end(t);
		json_decref(client);
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	z->r = r;
	z->tx = tx_from_request(r, level);

	const char *prompt = http_param(r, "prompt");
	int want_login = prompt && scope_has(prompt, "login");
	int none = prompt && scope_has(prompt, "none");
	int stepup = 0;
	z->session = session_find(r, t, z->skey);
	if (z->session) {
		const char *uid = json_string_value(json_object_get(z->session, "user"));
		int ok = uid && user_by_id(t, uid, &user) == STORE_OK && !user_is_disabled(user);
		json_t *ma = json_object_get(z->tx, "max_age");
		int64_t auth_time = json_integer_value(json_object_get(z->session, "auth_time"));
		if (ok && ma && now_s() - auth_time > json_integer_value(ma))
			ok = 0;
		if (ok && !want_login && session_level(z->session) < level &&
		    session_raw_level(z->session) == session_level(z->session)) {
			/* Step-up: keep what the session proved, ask only for what is missing.
			 * (A session whose level decayed by time signs in again from scratch.) */
			json_object_set_new(z->tx, "partial",
			                    json_pack("{s:s s:O s:O s:O}", "user", uid,
			                              "amr", json_object_get(z->session, "amr"),
			                              "factors", json_object_get(z->session, "factors"),
			                              "props", json_object_get(z->session, "props")));
			ok = 0;
			stepup = 1;
		} else if (ok && session_level(z->session) < level) {
			ok = 0;
		}
		if (!ok || want_login) {
			json_decref(z->session);
			z->session = NULL;
		}
		json_decref(user);
	}
	store_read_end(t);
	json_decref(client);

	if (z->session) {
		json_object_set_new(z->session, "key", json_string(z->skey));
		if (http_store_write(r, sso_write, sso_done, z) != STORE_OK) {
			authz_free(z);
			http_reply_oauth_error(r, 503, "temporarily_unavailable", "shutting down");
		}
		return;
	}
	if (none) {
		authz_free(z);
		oidc_redirect_error(r, ru, stepup ? "interaction_required" : "login_required",
		                    stepup ? "a stronger sign-in is needed" :
		                             "no session that satisfies the request", state);
		return;
	}

	tx_begin(z);
}


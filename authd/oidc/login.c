/* authd/oidc/login.c — the sign-in page and its form (GET/POST /login).
 *
 * A login transaction (T_LOGINS) is usable only by the browser that started it
 * (the login cookie's hash is in the record) and only with its CSRF token. The
 * password check runs on a worker thread; unknown users cost the same Argon2id
 * time as known ones and get the same message. Throttling is per account name
 * (existing or not) and per address. Success always creates a new session id
 * (no fixation), consumes the transaction, and issues the code in one durable
 * write together with the audit record. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../log.h"
#include "../metrics.h"
#include "../policy.h"
#include "../throttle.h"
#include "../ui.h"
#include "../users.h"
#include "oidc.h"

struct attempt {
	struct http_req *r;
	json_t *tx;
	char tx_id[32];
	char uname[USERNAME_MAX + 1];    /* normalised (or lower-cased raw) name: throttle key */
	char client_name[256];
	json_t *user;                    /* NULL when unknown */
	struct proof proof;
	int result;                      /* METHOD_* */
	int level;                       /* reached by this login */
	int level_met;                   /* ... and it is what the transaction asked for */
	long wait;                       /* throttled: seconds */
	char sess_cookie[OIDC_SECRET_LEN + 1];
	char old_skey[65];
	char code[OIDC_SECRET_LEN + 1];
};

static void attempt_free(struct attempt *a)
{
	json_decref(a->tx);
	json_decref(a->user);
	json_decref(a->proof.cred_update);
	json_decref(a->proof.cred_expect);
	wipe(a, sizeof(*a));
	free(a);
}

/* Loads the transaction named by "tx" and checks that this browser started it.
 * On failure replies with a page and returns NULL. */
static json_t *tx_load(struct http_req *r, struct store_txn *t, const char *tx_id)
{
	const char *bc = http_cookie(r, COOKIE_LOGIN);
	json_t *tx = NULL;
	char bhash[65];

	if (!tx_id || strlen(tx_id) > 31 || store_gets(t, T_LOGINS, tx_id, &tx) != STORE_OK ||
	    json_integer_value(json_object_get(tx, "expires")) <= now_s()) {
		json_decref(tx);
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
		return NULL;
	}
	const char *want = json_string_value(json_object_get(tx, "browser"));
	if (!bc || strlen(bc) != OIDC_SECRET_LEN || !want) {
		json_decref(tx);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		return NULL;
	}
	secret_key_hex(bc, bhash);
	if (!ct_equal(bhash, want, 64)) {
		json_decref(tx);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		return NULL;
	}
	return tx;
}

static void client_name(struct http_req *r, struct store_txn *t, const json_t *tx, char *out,
                        size_t n)
{
	json_t *c = NULL;
	const char *id = json_string_value(json_object_get(tx, "client_id"));

	out[0] = '\0';
	if (id && client_get(t, id, &c) == STORE_OK) {
		const char *nm = json_string_value(json_object_get(c, strcmp(r->lang, "en") == 0 ?
		                                                         "name_en" : "name"));
		if (!nm || !*nm)
			nm = json_string_value(json_object_get(c, "name"));
		snprintf(out, n, "%s", nm && *nm ? nm : id);
	}
	json_decref(c);
}

static void show_form(struct http_req *r, int status, const json_t *tx, const char *tx_id,
                      const char *cname, const char *username, const char *err, int wait)
{
	struct ui_login l = {
		.tx = tx_id,
		.csrf = json_string_value(json_object_get(tx, "csrf")),
		.client_name = cname && *cname ? cname : NULL,
		.username = username,
		.error_text = err,
		.retry_after = wait,
	};
	ui_login_form(r, status, &l);
}

void oidc_login_page(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx");
	char cname[256];
	json_t *tx;

	if (!t) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	if (!(tx = tx_load(r, t, tx_id))) {
		store_read_end(t);
		return;
	}
	client_name(r, t, tx, cname, sizeof(cname));
	store_read_end(t);
	show_form(r, 200, tx, tx_id, cname, json_string_value(json_object_get(tx, "login_hint")), NULL, 0);
	json_decref(tx);
}

/* Worker thread: the password check (Argon2id). */
static void check_work(void *arg)
{
	struct attempt *a = arg;
	const struct authd_method *m = method_find("password");
	struct login l = {
		.authd = a->r->authd,
		.username = a->uname,
		.user = a->user,
		.ip = a->r->peer,
		.tx = a->tx,
	};

	l.txn = store_read_begin(a->r->authd->store);
	a->result = m && l.txn ? m->finish(&l, a->r->form, &a->proof) : METHOD_ERROR;
	if (l.txn)
		store_read_end(l.txn);
}

static json_t *audit_fields(struct attempt *a, const char *result)
{
	json_t *f = json_pack("{s:s s:s s:s s:s}", "username", a->uname, "ip", a->r->peer,
	                      "method", "password", "result", result);
	const char *cid = json_string_value(json_object_get(a->tx, "client_id"));

	if (cid)
		json_object_set_new(f, "client", json_string(cid));
	if (a->proof.user_id[0])
		json_object_set_new(f, "user", json_string(a->proof.user_id));
	return f;
}

static int fail_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	int64_t now = now_s();
	json_t *f;
	int rc;

	if (a->wait == 0 &&
	    (rc = throttle_fail(t, a->r->authd->conf, a->uname, a->r->peer, now)) != STORE_OK)
		return rc;
	f = audit_fields(a, a->wait ? "throttled" : "failure");
	rc = audit_append(t, a->wait ? "login.throttled" : "login.failure", f);
	json_decref(f);
	return rc;
}

static void fail_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;

	if (rc != STORE_OK) {
		ui_error(r, 500, "err.title", "err.server", NULL);
	} else if (a->wait) {
		show_form(r, 429, a->tx, a->tx_id, a->client_name, http_param(r, "username"),
		          ui_t(r->lang, "login.throttled"), (int)a->wait);
	} else {
		show_form(r, 401, a->tx, a->tx_id, a->client_name, http_param(r, "username"),
		          ui_t(r->lang, "login.failed"), 0);
	}
	attempt_free(a);
}

static int success_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	const struct conf *c = a->r->authd->conf;
	int64_t now = now_s();
	char skey[65], sid[32];
	json_t *tx = NULL, *s, *f;
	int rc;

	/* Single use: the transaction must still exist, and goes now. */
	if (store_gets(t, T_LOGINS, a->tx_id, &tx) != STORE_OK)
		return STORE_CONFLICT;
	json_decref(tx);
	if ((rc = store_dels(t, T_LOGINS, a->tx_id)) != STORE_OK)
		return rc;
	if ((rc = throttle_success(t, a->uname, a->r->peer)) != STORE_OK)
		return rc;
	if (a->proof.cred_update) {
		/* Rehash only the credential we verified; a newer one (changed by an
		 * administrator meanwhile) stays. */
		json_t *cur = NULL;
		int same = store_gets(t, T_CREDS, a->proof.cred_key, &cur) == STORE_OK &&
		           json_equal(cur, a->proof.cred_expect);
		json_decref(cur);
		if (same &&
		    (rc = store_puts(t, T_CREDS, a->proof.cred_key, a->proof.cred_update, 0)) != STORE_OK)
			return rc;
	}
	/* A new session id at every login: an id planted before login is worthless. */
	if (a->old_skey[0])
		store_dels(t, T_SESSIONS, a->old_skey);
	if (secret_new(a->sess_cookie) != 0 || rand_token(sid, sizeof(sid), 16) != 0)
		return STORE_IO;
	secret_key_hex(a->sess_cookie, skey);
	s = json_pack("{s:s s:s s:I s:I s:I s:I s:I s:I s:I s:[s] s:[]}",
	              "user", a->proof.user_id, "sid", sid, "auth_time", (json_int_t)now,
	              "amr", (json_int_t)a->proof.amr, "factors", (json_int_t)a->proof.factors,
	              "props", (json_int_t)a->proof.props, "created", (json_int_t)now,
	              "last_seen", (json_int_t)now, "expires", (json_int_t)(now + c->session_ttl),
	              "clients", json_string_value(json_object_get(a->tx, "client_id")),
	              "families");
	if (!s)
		return STORE_IO;
	rc = store_puts(t, T_SESSIONS, skey, s, STORE_NOOVERWRITE);
	a->level_met = a->level >= (int)json_integer_value(json_object_get(a->tx, "level"));
	if (rc == STORE_OK && a->level_met && json_object_get(a->tx, "client_id")) {
		json_object_set_new(s, "key", json_string(skey));
		rc = code_issue(t, a->r, a->tx, s, a->code);
	}
	json_decref(s);
	if (rc != STORE_OK)
		return rc;
	f = audit_fields(a, "success");
	json_object_set_new(f, "sid", json_string(sid));
	rc = audit_append(t, "login.success", f);
	json_decref(f);
	return rc;
}

static void success_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;

	if (rc == STORE_CONFLICT) {
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
	} else if (rc != STORE_OK) {
		ui_error(r, 500, "err.title", "err.server", NULL);
	} else {
		http_set_cookie(r, COOKIE_SESSION, a->sess_cookie, -1);
		http_set_cookie(r, COOKIE_LOGIN, "", 0);
		const char *back = json_string_value(json_object_get(a->tx, "return_to"));
		if (!a->level_met) {
			/* Signed in, but below the level this app requires. */
			ui_error(r, 403, "err.title", "err.level", NULL);
		} else if (back) {
			http_redirect(r, back); /* a local path, checked by login_start */
		} else {
			char *loc = code_location(r, a->tx, a->code);
			if (loc)
				http_redirect(r, loc);
			else
				http_reply_oauth_error(r, 500, "server_error", "out of memory");
			free(loc);
		}
	}
	attempt_free(a);
}

static void check_done(void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;
	store_write_fn fn = fail_write;
	store_done_fn done = fail_done;

	switch (a->result) {
	case METHOD_OK:
		a->level = policy_level_of(a->proof.amr, a->proof.factors, a->proof.props);
		metrics_login("password", "success");
		fn = success_write;
		done = success_done;
		break;
	case METHOD_FAIL:
		metrics_login("password", "failure");
		break;
	case METHOD_INVALID:
		metrics_login("password", "invalid");
		show_form(r, 400, a->tx, a->tx_id, a->client_name, http_param(r, "username"),
		          ui_t(r->lang, "login.invalid"), 0);
		attempt_free(a);
		return;
	default:
		metrics_login("password", "error");
		ui_error(r, 500, "err.title", "err.server", NULL);
		attempt_free(a);
		return;
	}
	if (http_store_write(r, fn, done, a) != STORE_OK) {
		ui_error(r, 503, "err.title", "err.server", NULL);
		attempt_free(a);
	}
}

void oidc_login_post(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx");
	const char *csrf = http_param(r, "csrf");
	const char *username = http_param(r, "username");
	const char *password = http_param(r, "password");
	struct attempt *a;
	json_t *tx;
	char skey[65];

	if (!t) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	if (!r->form) {
		store_read_end(t);
		ui_error(r, 400, "err.title", "err.bad_request", NULL);
		return;
	}
	if (!(tx = tx_load(r, t, tx_id))) {
		store_read_end(t);
		return;
	}
	const char *want = json_string_value(json_object_get(tx, "csrf"));
	if (!csrf || !want || strlen(csrf) != strlen(want) || !ct_equal(csrf, want, strlen(want))) {
		store_read_end(t);
		json_decref(tx);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		return;
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		store_read_end(t);
		json_decref(tx);
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	a->r = r;
	a->tx = tx;
	snprintf(a->tx_id, sizeof(a->tx_id), "%s", tx_id);
	client_name(r, t, tx, a->client_name, sizeof(a->client_name));
	if (!username || !*username || !password || !*password) {
		store_read_end(t);
		show_form(r, 400, tx, a->tx_id, a->client_name, username, ui_t(r->lang, "login.invalid"), 0);
		attempt_free(a);
		return;
	}
	if (!username_normalise(username, a->uname)) {
		/* Not a possible name: still throttled and timed like an unknown user. */
		size_t i;
		for (i = 0; username[i] && i < USERNAME_MAX; i++)
			a->uname[i] = (username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i];
		a->uname[i] = '\0';
	} else if (user_by_name(t, a->uname, &a->user) != STORE_OK) {
		a->user = NULL;
	}
	json_decref(session_find(r, t, skey));
	snprintf(a->old_skey, sizeof(a->old_skey), "%s", skey);
	a->wait = throttle_check(t, r->authd->conf, a->uname, r->peer, now_s());
	store_read_end(t);

	if (a->wait > 0) {
		metrics_login("password", "throttled");
		if (http_store_write(r, fail_write, fail_done, a) != STORE_OK) {
			ui_error(r, 503, "err.title", "err.server", NULL);
			attempt_free(a);
		}
		return;
	}
	if (http_work(r, check_work, check_done, a) != 0) {
		ui_error(r, 503, "err.title", "err.server", NULL);
		attempt_free(a);
	}
}

void oidc_login(struct http_req *r)
{
	if (r->method == HTTP_POST)
		oidc_login_post(r);
	else
		oidc_login_page(r);
}

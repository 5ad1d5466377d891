/* authd/oidc/login.c — the sign-in pages and their forms (GET/POST /login).
 *
 * A login transaction (T_LOGINS) is usable only by the browser that started it
 * (the login cookie's hash is in the record) and only with its CSRF token. A
 * sign-in is a sequence of method steps: each step's proof is added to what the
 * transaction already holds ("partial"), the policy computes the level, and the
 * person is asked only for a method that is enrolled, not yet used, and raises
 * the level, until the level the app requires is reached (step-up). Method
 * checks run on a worker thread; unknown users cost the same Argon2id time as
 * known ones and get the same message.
 *
 * Each step runs in the sign-in core (authd/signin.h): throttle reservation
 * before the secret is looked at, the method's check on a worker, the
 * same-person and account checks, the policy, and one atomic durable commit
 * with its audit records. This file is the browser's adapter: it loads and
 * checks the transaction (this browser, its CSRF token), fills the step, adds
 * its own result to the commit (a new session id — no fixation — and the
 * code for the app) and renders the outcome. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../log.h"
#include "../config.h"
#include "../metrics.h"
#include "../policy.h"
#include "../signin.h"
#include "../throttle.h"
#include "../ui.h"
#include "../users.h"
#include "oidc.h"

/* One POST /login: the core's step and what the browser adds to it. */
struct attempt {
	struct signin s; /* the step (s.ctx = this) */
	struct http_req *r;
	char client_name[256];
	char sess_cookie[OIDC_SECRET_LEN + 1];
	char old_skey[65];
	char code[OIDC_SECRET_LEN + 1];
};

/* Transaction member holding method m's state ("m:<name>"). */
static void state_key(const struct authd_method *m, char out[40])
{
	snprintf(out, 40, "m:%s", m->name);
}

static void attempt_free(struct attempt *a)
{
	signin_clear(&a->s);
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

/* Where "back to the app" goes when the level cannot be reached. malloc'd or NULL. */
static char *unmet_back(struct http_req *r, const json_t *tx)
{
	const char *ru = json_string_value(json_object_get(tx, "redirect_uri"));

	return ru ? redirect_back(r, ru, "error", "unmet_authentication_requirements", "error_description",
	                          "no enrolled authentication method reaches the required level",
	                          json_string_value(json_object_get(tx, "state"))) : NULL;
}

static void show_unmet(struct http_req *r, const json_t *tx)
{
	char *back = unmet_back(r, tx);

	ui_unmet(r, back, (int)json_integer_value(json_object_get(tx, "level")));
	free(back);
}

/* The same sign-in (tx_id) on the client-certificate listener: the issuer's
 * host — the name this browser uses, so its login cookie (per host, not per
 * port) goes along — and that listener's port. 0, or -1 when there is none. */
static int
cert_path_url(struct http_req *r, const char *tx_id, char *out, size_t n)
{
	const char *iss = r->authd->conf->issuer, *h, *e;
	int port = http_bound_cc_port(r->authd);

	if (port <= 0 || !iss || strncmp(iss, "https://", 8) != 0)
		return -1;
	h = iss + 8;
	e = *h == '[' ? strchr(h, ']') : h + strcspn(h, ":/");
	if (!e || e == h)
		return -1;
	if (*h == '[')
		e++;
	if (snprintf(out, n, "https://%.*s:%d/login?tx=%s", (int)(e - h), h, port, tx_id) >= (int)n)
		return -1;
	return 0;
}

/* 1 when step m needs the client-certificate listener and this request is not on it. */
static int
cert_elsewhere(const struct http_req *r, const struct authd_method *m)
{
	return m && !(m->flags & METHOD_STEP) && (m->flags & METHOD_STEP_CERT) &&
	    !r->tls_client_cert && !r->tls_peer_cert_pem;
}

/* Renders the form of method m (the first step when m is NULL or password). */
static void show_form(struct http_req *r, int status, const struct authd_method *m,
                      const json_t *tx, const char *tx_id, const char *cname, const char *username,
                      const char *err, int wait)
{
	struct ui_login l = {
		.tx = tx_id,
		.csrf = json_string_value(json_object_get(tx, "csrf")),
		.client_name = cname && *cname ? cname : NULL,
		.username = username,
		.error_text = err,
		.retry_after = wait,
		.expires_in = (long)(json_integer_value(json_object_get(tx, "expires")) - now_s()),
	};
	if (m && strcmp(m->name, "totp") == 0)
		ui_otp_form(r, status, &l);
	else if (m && m->ui_script && !(m->flags & METHOD_FIRST && !json_object_get(tx, "partial")))
		ui_method_step(r, status, m->name, &l);
	else
		ui_login_form(r, status, &l);
}

/* Bits already shown in this sign-in (from an earlier step or the session). */
static void partial_bits(const json_t *tx, unsigned *amr, unsigned *factors, unsigned *props)
{
	const json_t *p = json_object_get(tx, "partial");

	*amr = (unsigned)json_integer_value(json_object_get(p, "amr"));
	*factors = (unsigned)json_integer_value(json_object_get(p, "factors"));
	*props = (unsigned)json_integer_value(json_object_get(p, "props"));
}

/* For a transaction with a partial sign-in: the user and the method to ask next.
 * Returns 0, or -1 after replying (unmet page / error). */
static int partial_next(struct http_req *r, struct store_txn *t, const json_t *tx, json_t **user,
                        const struct authd_method **m)
{
	const char *uid = json_string_value(json_object_get(json_object_get(tx, "partial"), "user"));
	unsigned amr, factors, props;

	*user = NULL;
	*m = NULL;
	if (signin_person(t, uid, user) != ST_OK) {
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
		return -1;
	}
	partial_bits(tx, &amr, &factors, &props);
	*m = signin_next_method(
	    t, uid, amr, factors, props, (int)json_integer_value(json_object_get(tx, "level")));
	if (!*m) {
		show_unmet(r, tx);
		json_decref(*user);
		*user = NULL;
		return -1;
	}
	return 0;
}

void oidc_login_page(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx");
	const struct authd_method *m = NULL;
	json_t *tx, *user = NULL;
	char cname[256];

	if (!t) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	if (!(tx = tx_load(r, t, tx_id))) {
		store_read_end(t);
		return;
	}
	client_name(r, t, tx, cname, sizeof(cname));
	if (json_object_get(tx, "partial") && partial_next(r, t, tx, &user, &m) != 0) {
		store_read_end(t);
		json_decref(tx);
		return;
	}
	store_read_end(t);
	const char *who = user ? json_string_value(json_object_get(user, "username")) :
	                         json_string_value(json_object_get(tx, "login_hint"));
	char url[512];
	if (cert_elsewhere(r, m) && cert_path_url(r, tx_id, url, sizeof(url)) == 0) {
		/* The card over TLS (an AAL3 app): say what to do, then the same
		 * sign-in on the listener that asks for the certificate. */
		struct ui_login l = {
			.tx = tx_id,
			.client_name = *cname ? cname : NULL,
			.username = who,
			.expires_in =
			    (long)(json_integer_value(json_object_get(tx, "expires")) - now_s()),
		};
		ui_cert_step(r, &l, url);
	} else {
		show_form(r, 200, m, tx, tx_id, cname, who, NULL, 0);
	}
	json_decref(user);
	json_decref(tx);
}

/* The method's explanation of a failure when it gave one (its key). */
static const char *fail_text(const struct attempt *a, const char *lang, const char *key)
{
	return ui_t(lang, a->s.proof.error_key ? a->s.proof.error_key : key);
}

/* The message for a failed answer: passwords and codes have their own. */
static const char *failed_key(const struct authd_method *m)
{
	if (strcmp(m->name, "password") == 0)
		return TXT("login.failed");
	if (strcmp(m->name, "totp") == 0)
		return TXT("otp.failed");
	return TXT("method.failed");
}

static const char *
invalid_key(const struct authd_method *m)
{
	if (strcmp(m->name, "password") == 0)
		return TXT("login.invalid");
	if (strcmp(m->name, "totp") == 0)
		return TXT("otp.invalid");
	return TXT("method.invalid");
}

/* The browser's part of a passed step's commit: the session and the code. */
static int
browser_commit(struct store_txn *t, struct signin *s)
{
	struct attempt *a = s->ctx;
	int64_t now = now_s();
	char skey[65], sid[32];
	json_t *sess;
	int rc;

	if (s->outcome == SIGNIN_NEXT) { /* the core keeps what was shown in the transaction */
		/* The record says where the person is led (the card over TLS, say). */
		if (s->next)
			json_object_set_new(s->audit, "next", json_string(s->next->name));
		return ST_OK;
	}
	/* A new session id at every sign-in and step-up: an id planted or seen before is worthless. */
	if (a->old_skey[0])
		store_dels(t, T_SESSIONS, a->old_skey);
	if (secret_new(a->sess_cookie) != 0 || rand_token(sid, sizeof(sid), 16) != 0)
		return ST_IO;
	secret_key_hex(a->sess_cookie, skey);
	sess = json_pack("{s:s s:s s:I s:I s:I s:I s:I s:I s:I s:[] s:[]}", "user",
	    s->proof.user_id, "sid", sid, "auth_time", (json_int_t)now, "amr", (json_int_t)s->amr,
	    "factors", (json_int_t)s->factors, "props", (json_int_t)s->props, "created",
	    (json_int_t)now, "last_seen", (json_int_t)now, "expires",
	    (json_int_t)(now + s->conf->session_ttl), "clients", "families");
	if (!sess)
		return ST_IO;
	if (s->client_id)
		json_array_append_new(json_object_get(sess, "clients"), json_string(s->client_id));
	rc = store_puts(t, T_SESSIONS, skey, sess, STORE_NOOVERWRITE);
	if (rc == ST_OK && s->outcome == SIGNIN_DONE && s->client_id) {
		json_object_set_new(sess, "key", json_string(skey));
		rc = code_issue(t, a->r, s->tx, sess, a->code);
	}
	json_decref(sess);
	if (rc == ST_OK)
		json_object_set_new(s->audit, "sid", json_string(sid));
	return rc;
}

/* The name shown again in the form after a failed or refused step. */
static const char *
shown_name(const struct attempt *a)
{
	return strcmp(a->s.m->name, "password") == 0
	    ? http_param(a->r, "username")
	    : json_string_value(json_object_get(a->s.user, "username"));
}

/* The form to show again: a failed first step by another method shows the first page. */
static const struct authd_method *
again(const struct attempt *a)
{
	return json_object_get(a->s.tx, "partial") ? a->s.m : method_find("password");
}

static void
show_passed(struct attempt *a)
{
	struct http_req *r = a->r;
	const json_t *tx = a->s.tx;

	if (a->s.outcome == SIGNIN_NEXT) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/login?tx=%s", a->s.tx_key);
		http_redirect(r, loc);
		return;
	}
	http_set_cookie(r, COOKIE_SESSION, a->sess_cookie, -1);
	http_set_cookie(r, COOKIE_LOGIN, "", 0);
	const char *back = json_string_value(json_object_get(tx, "return_to"));
	if (a->s.outcome == SIGNIN_UNMET) {
		show_unmet(r, tx);
	} else if (back) {
		http_redirect(r, back); /* a local path, checked by login_start */
	} else {
		char *loc = code_location(r, tx, a->code);
		if (loc)
			http_redirect(r, loc);
		else
			http_reply_oauth_error(r, 500, "server_error", "out of memory");
		free(loc);
	}
}

static void
show_refused(struct attempt *a)
{
	struct http_req *r = a->r;
	struct signin *s = &a->s;
	char ra[24];

	switch (s->st) {
	case ST_BUSY: /* this address (or account) has its share of the worker queue */
		http_add_header(r, "Retry-After", "1");
		ui_error(r, 429, "err.title", "login.busy", NULL);
		return;
	case ST_EXPIRED:
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
		return;
	case ST_THROTTLED:
		break;
	default: /* the whole queue is full, or stopping */
		http_add_header(r, "Retry-After", "1");
		ui_error(r, 503, "err.title", "login.busy", NULL);
		return;
	}
	if (s->th.verdict == THROTTLE_SPENT) {
		ui_error(r, 400, "err.title", "login.spent", NULL);
	} else if (s->th.verdict == THROTTLE_BUSY) {
		/* another check for this account or sign-in runs: at once, not queued */
		snprintf(ra, sizeof(ra), "%ld", s->th.wait);
		http_add_header(r, "Retry-After", ra);
		show_form(r, 429, again(a), s->tx, s->tx_key, a->client_name, shown_name(a),
		    ui_t(r->lang, "login.in_flight"), 0);
	} else {
		show_form(r, 429, again(a), s->tx, s->tx_key, a->client_name, shown_name(a),
		    ui_t(r->lang, "login.throttled"), (int)s->th.wait);
	}
}

/* The core's answer, on the request's loop: render it. */
static void
browser_done(struct signin *s)
{
	struct attempt *a = s->ctx;
	struct http_req *r = a->r;

	switch (s->outcome) {
	case SIGNIN_DONE:
	case SIGNIN_NEXT:
	case SIGNIN_UNMET:
		show_passed(a);
		break;
	case SIGNIN_FAILED:
		if (s->spent)
			ui_error(r, 401, "err.title", "login.spent", NULL);
		else
			show_form(r, 401, again(a), s->tx, s->tx_key, a->client_name, shown_name(a),
			    fail_text(a, r->lang, failed_key(s->m)), 0);
		break;
	case SIGNIN_INVALID:
		show_form(r, 400, again(a), s->tx, s->tx_key, a->client_name, shown_name(a),
		    fail_text(a, r->lang, invalid_key(s->m)), 0);
		break;
	case SIGNIN_REFUSED:
		show_refused(a);
		break;
	default:
		if (s->st == ST_UNAVAILABLE) {
			http_add_header(r, "Retry-After", "5");
			ui_error(r, 503, "err.title", "login.busy", NULL);
		} else {
			ui_error(
			    r, s->st == ST_SHUTDOWN ? 503 : 500, "err.title", "err.server", NULL);
		}
		break;
	}
	attempt_free(a);
}

static const struct signin_front browser_front = {
	.unmet_signs_in = 1,
	.commit = browser_commit,
	.done = browser_done,
};

void oidc_login_post(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx");
	const char *csrf = http_param(r, "csrf");
	const char *method = http_param(r, "method");
	struct attempt *a;
	struct signin *s;
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
	s = &a->s;
	a->r = r;
	s->ctx = a;
	s->front = &browser_front;
	s->tx = tx;
	s->required = (int)json_integer_value(json_object_get(tx, "level"));
	snprintf(s->tx_key, sizeof(s->tx_key), "%s", tx_id);
	client_name(r, t, tx, a->client_name, sizeof(a->client_name));

	if (json_object_get(tx, "partial")) {
		/* A later step: the person is known; only the method asked for is accepted. */
		if (partial_next(r, t, tx, &s->user, &s->m) != 0) {
			store_read_end(t);
			attempt_free(a);
			return;
		}
		if (method && strcmp(method, s->m->name) != 0) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
		partial_bits(tx, &s->amr, &s->factors, &s->props);
		s->later_step = 1;
		signin_throttle_name(
		    json_string_value(json_object_get(s->user, "username")), s->uname);
	} else if (method && strcmp(method, "password") != 0) {
		/* A first step that names the person itself (a passkey, a citizen card). */
		s->m = method_find(method);
		if (!s->m || !(s->m->flags & METHOD_FIRST)) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
	} else {
		const char *username = http_param(r, "username");
		const char *password = http_param(r, "password");
		s->m = method_find("password");
		if (!s->m) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
		if (!username || !*username || !password || !*password) {
			store_read_end(t);
			show_form(r, 400, s->m, tx, s->tx_key, a->client_name, username,
			    ui_t(r->lang, "login.invalid"), 0);
			attempt_free(a);
			return;
		}
		signin_throttle_name(username, s->uname);
		if (user_by_name(t, s->uname, &s->user) != STORE_OK)
			s->user = NULL;
	}
	json_decref(session_find(r, t, skey));
	snprintf(a->old_skey, sizeof(a->old_skey), "%s", skey);
	store_read_end(t);
	s->store = r->authd->store;
	s->conf = r->authd->conf;
	s->authd = r->authd;
	s->pool = http_work_pool(r);
	s->post = loop_post;
	s->poster = http_loop_poster(r);
	s->ip = r->peer;
	s->source = r->peer_prefix;
	s->client_id = json_string_value(json_object_get(tx, "client_id"));
	s->tls_peer_cert_pem = r->tls_peer_cert_pem;
	s->answer = r->form;
	signin_run(s);
}

struct begin {
	struct http_req *r;
	char tx_id[32];
	char sk[40];
	json_t *state;
	json_t *out;
};

static void begin_free(struct begin *b)
{
	json_decref(b->state);
	json_decref(b->out);
	free(b);
}

static int begin_write(struct store_txn *t, void *arg)
{
	struct begin *b = arg;
	json_t *tx = NULL;
	int rc;

	/* Re-read: only this method's member changes; a newer challenge replaces the older. */
	if (store_gets(t, T_LOGINS, b->tx_id, &tx) != STORE_OK)
		return STORE_CONFLICT;
	json_object_set(tx, b->sk, b->state);
	rc = store_puts(t, T_LOGINS, b->tx_id, tx, 0);
	json_decref(tx);
	return rc;
}

static void begin_done(int rc, void *arg)
{
	struct begin *b = arg;

	if (rc == STORE_CONFLICT)
		http_reply_json(b->r, 400, json_pack("{s:s s:s}", "error", "invalid_request",
		                                     "error_description", ui_t(b->r->lang, "err.tx_expired")));
	else if (rc != STORE_OK)
		http_reply_json(b->r, 500, json_pack("{s:s}", "error", "server_error"));
	else {
		http_reply_json(b->r, 200, b->out);
		b->out = NULL;
	}
	begin_free(b);
}

/* POST /login/begin (tx, csrf, method): the challenge a method's page script needs
 * (WebAuthn options, a card nonce). The method's state is stored with the
 * transaction, so the answer is checked against exactly this challenge, once. */
void oidc_login_begin(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx"), *csrf = http_param(r, "csrf");
	const char *method = http_param(r, "method");
	const struct authd_method *m = method ? method_find(method) : NULL;
	json_t *tx, *user = NULL;
	struct begin *b;

	if (!t) {
		http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
		return;
	}
	if (!(tx = tx_load(r, t, tx_id))) {
		store_read_end(t);
		return;
	}
	const char *want = json_string_value(json_object_get(tx, "csrf"));
	if (!csrf || !want || strlen(csrf) != strlen(want) || !ct_equal(csrf, want, strlen(want)) ||
	    !m || !m->begin || (m->available && !m->available())) {
		store_read_end(t);
		json_decref(tx);
		http_reply_json(r, 403, json_pack("{s:s s:s}", "error", "access_denied",
		                                  "error_description", ui_t(r->lang, "err.csrf")));
		return;
	}
	const char *puid = json_string_value(json_object_get(json_object_get(tx, "partial"), "user"));
	int allowed = puid ? (m->flags & (METHOD_STEP | METHOD_STEP_CERT)) && m->enrolled &&
	        m->enrolled(t, puid) && signin_person(t, puid, &user) == ST_OK
	                   : (m->flags & METHOD_FIRST) != 0;
	store_read_end(t);
	if (!allowed || !(b = calloc(1, sizeof(*b)))) {
		json_decref(tx);
		json_decref(user);
		http_reply_json(r, 400, json_pack("{s:s s:s}", "error", "invalid_request",
		                                  "error_description", "method not available at this step"));
		return;
	}
	struct login l = { .authd = r->authd, .user = user, .ip = r->peer, .tx = tx,
		           .tls_peer_cert_pem = r->tls_peer_cert_pem };
	b->r = r;
	b->out = json_object();
	snprintf(b->tx_id, sizeof(b->tx_id), "%s", tx_id);
	state_key(m, b->sk);
	int rc = m->begin(&l, b->out);
	b->state = l.state;
	json_decref(tx);
	json_decref(user);
	if (rc != METHOD_OK || !b->state) {
		begin_free(b);
		http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
		return;
	}
	if (http_store_write(r, begin_write, begin_done, b) != STORE_OK) {
		begin_free(b);
		http_reply_json(r, 503, json_pack("{s:s}", "error", "temporarily_unavailable"));
	}
}

void oidc_login(struct http_req *r)
{
	if (r->method == HTTP_POST)
		oidc_login_post(r);
	else
		oidc_login_page(r);
}

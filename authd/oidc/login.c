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
 * Every attempt is reserved before its secret is looked at (throttle.h): a
 * place in the fair worker queue for this address prefix and account, then one
 * durable write that checks the counters and counts the attempt as failed and
 * leases it (one verification in flight per account and per transaction);
 * only then does the method run, and its outcome releases the reservation
 * (failure kept, or taken back) or clears the counters (sign-in complete) in
 * the write that records it. Completion creates a new session id
 * (no fixation), consumes the transaction, stores credential updates (a TOTP step
 * is consumed here, atomically: replay guard), and issues the code, in one
 * durable write with its audit records. */
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
#include "../throttle.h"
#include "../ui.h"
#include "../users.h"
#include "oidc.h"

enum outcome { OUT_DONE, OUT_NEXT, OUT_UNMET };

/* The worker found the reservation's lease too old to start the check. */
#define METHOD_LATE (-100)

struct attempt {
	struct http_req *r;
	json_t *tx;
	char tx_id[32];
	const struct authd_method *m;
	char uname[USERNAME_MAX + 1];    /* normalised (or lower-cased raw) name: throttle key */
	char client_name[256];
	json_t *user;                    /* NULL when unknown */
	struct proof proof;
	int result;                      /* METHOD_* */
	unsigned amr, factors, props;    /* everything shown in this sign-in so far */
	int level, required;
	enum outcome outcome;
	struct throttle_attempt th;      /* the reservation (borrows uname, tx_id, r->peer_prefix) */
	struct http_slot *slot;          /* the place in the worker queue, from admission to
	                                    the reservation's answer (then submitted or given back) */
	uint64_t deadline_ns;            /* the check must start before this (lease) */
	int spent;                       /* this failure used up the transaction's attempts */
	int gone;                        /* the transaction disappeared during the check */
	char sess_cookie[OIDC_SECRET_LEN + 1];
	char old_skey[65];
	char code[OIDC_SECRET_LEN + 1];
};

/* The throttle key, or NULL while a usernameless method has not named anyone. */
static const char *uname_of(const struct attempt *a)
{
	return a->uname[0] ? a->uname : NULL;
}

/* Transaction member holding method m's state ("m:<name>"). */
static void state_key(const struct authd_method *m, char out[40])
{
	snprintf(out, 40, "m:%s", m->name);
}

static void attempt_free(struct attempt *a)
{
	json_decref(a->tx);
	json_decref(a->user);
	json_decref(a->proof.cred_update);
	json_decref(a->proof.cred_expect);
	json_decref(a->proof.audit_extra);
	wipe(a, sizeof(*a));
	free(a);
}

const struct authd_method *login_next_method(struct store_txn *t, const char *uid, unsigned amr,
                                              unsigned factors, unsigned props, int required)
{
	const struct authd_method *raises = NULL;
	int now = policy_level_of(amr, factors, props);

	for (const struct authd_method *const *mp = authd_methods; *mp; mp++) {
		const struct authd_method *m = *mp;
		struct policy_cred c;
		if (!(m->flags & METHOD_STEP) || !m->enrolled || !m->enrolled(t, uid))
			continue;
		/* What this person's own credentials of m show (a key with user
		 * verification reaches more than the method's static bits say; a
		 * passkey never shows hwk). Asked again only when it can show
		 * something not shown yet: a verified hardware key after a passkey. */
		if (!method_reach(m, t, uid, NULL, &c) || (c.amr & ~amr) == 0)
			continue;
		int l = policy_level_of(amr | c.amr, factors | c.factors, props | c.props);
		if (l >= required)
			return m;
		if (l > now && !raises)
			raises = m;
	}
	return raises;
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

	ui_unmet(r, back);
	free(back);
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
	if (!uid || user_by_id(t, uid, user) != STORE_OK ||
	    json_is_true(json_object_get(*user, "disabled"))) {
		json_decref(*user);
		*user = NULL;
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
		return -1;
	}
	partial_bits(tx, &amr, &factors, &props);
	*m = login_next_method(t, uid, amr, factors, props,
	                 (int)json_integer_value(json_object_get(tx, "level")));
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
	show_form(r, 200, m, tx, tx_id, cname, who, NULL, 0);
	json_decref(user);
	json_decref(tx);
}

/* Worker thread: the method's check (Argon2id for passwords). */
static void check_work(void *arg)
{
	struct attempt *a = arg;
	struct login l = {
		.authd = a->r->authd,
		.username = uname_of(a),
		.user = a->user,
		.ip = a->r->peer,
		.tx = a->tx,
	};
	char sk[40];

	if (mono_ns() > a->deadline_ns) {
		a->result = METHOD_LATE;	/* the lease may have run out: check nothing */
		return;
	}
	metrics_secret_check(a->m->name);
	state_key(a->m, sk);
	l.state = json_object_get(a->tx, sk);
	l.tls_peer_cert_pem = a->r->tls_peer_cert_pem;
	l.txn = store_read_begin(a->r->authd->store);
	a->result = l.txn ? a->m->finish(&l, a->r->form, &a->proof) : METHOD_ERROR;
	if (l.txn)
		store_read_end(l.txn);
}

static json_t *audit_fields(struct attempt *a, const char *result)
{
	json_t *f = json_pack("{s:s? s:s s:s s:s}", "username", uname_of(a), "ip", a->r->peer,
	                      "method", a->m->name, "result", result);
	const char *cid = json_string_value(json_object_get(a->tx, "client_id"));
	const char *uid = a->proof.user_id[0] ? a->proof.user_id :
	                  json_string_value(json_object_get(a->user, "id"));

	if (cid)
		json_object_set_new(f, "client", json_string(cid));
	if (uid && a->result == METHOD_OK)
		json_object_set_new(f, "user", json_string(uid));
	return f;
}

/* A method's challenge is good for one answer: after finish() ran, its state
 * leaves the stored transaction (and the copy we may store again). */
static int state_drop(struct store_txn *t, struct attempt *a)
{
	json_t *tx = NULL;
	char sk[40];
	int rc;

	state_key(a->m, sk);
	json_object_del(a->tx, sk);
	if (store_gets(t, T_LOGINS, a->tx_id, &tx) != STORE_OK)
		return STORE_OK;
	if (json_object_get(tx, sk) == NULL) {
		json_decref(tx);
		return STORE_OK;
	}
	json_object_del(tx, sk);
	rc = store_puts(t, T_LOGINS, a->tx_id, tx, 0);
	json_decref(tx);
	return rc;
}

/* A checked answer was wrong: the reserved count stays, the leases go; at the
 * transaction's last allowed attempt the transaction itself goes too. */
static int record_failure(struct store_txn *t, struct attempt *a, const char *reason)
{
	const struct conf *c = a->r->authd->conf;
	json_t *f;
	int rc;

	if ((rc = throttle_release(t, c, &a->th, 1, now_s())) != STORE_OK)
		return rc;
	if ((rc = state_drop(t, a)) != STORE_OK)
		return rc;
	if (a->th.later_step && throttle_tx_spent(t, c, a->tx_id)) {
		rc = store_dels(t, T_LOGINS, a->tx_id);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return rc;
		a->spent = 1;
	}
	f = audit_fields(a, "failure");
	if (reason)
		json_object_set_new(f, "reason", json_string(reason));
	if (a->spent)
		json_object_set_new(f, "transaction", json_string("spent"));
	rc = audit_append(t, "login.failure", f);
	json_decref(f);
	return rc;
}

static int fail_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	json_t *f;
	int rc = record_failure(t, a, NULL);

	/* A method's own event (e.g. x509.revocation_unknown) is audited on failure too. */
	if (rc != STORE_OK || !a->proof.audit_event[0])
		return rc;
	f = audit_fields(a, "failure");
	if (f && a->proof.audit_extra)
		json_object_update(f, a->proof.audit_extra);
	rc = audit_append(t, a->proof.audit_event, f);
	json_decref(f);
	return rc;
}

/* The method's own explanation of a failure when it gave one (its key). */
static const char *fail_text(const struct attempt *a, const char *lang, const char *key)
{
	return ui_t(lang, a->proof.error_key ? a->proof.error_key : key);
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

static void fail_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;
	int pw = strcmp(a->m->name, "password") == 0;
	const char *who = pw ? http_param(r, "username") :
	                       json_string_value(json_object_get(a->user, "username"));
	/* A failed first step by another method shows the first page again. */
	const struct authd_method *m = json_object_get(a->tx, "partial") ? a->m : method_find("password");

	if (rc != STORE_OK)
		ui_error(r, 500, "err.title", "err.server", NULL);
	else if (a->spent)
		ui_error(r, 401, "err.title", "login.spent", NULL);
	else
		show_form(r, 401, m, a->tx, a->tx_id, a->client_name, who, fail_text(a, r->lang, failed_key(a->m)), 0);
	attempt_free(a);
}

int cred_update_store(struct store_txn *t, const struct proof *p)
{
	json_t *cur = NULL;
	int same;

	if (!p->cred_update)
		return p->cred_must_update ? 1 : 0;
	same = store_gets(t, T_CREDS, p->cred_key, &cur) == STORE_OK && json_equal(cur, p->cred_expect);
	json_decref(cur);
	if (!same)
		return p->cred_must_update ? 1 : 0;
	return store_puts(t, T_CREDS, p->cred_key, p->cred_update, 0);
}

/* Common start of every successful step: the transaction still exists (and is
 * deleted when the sign-in completes), counters reset, credential consumed. */
static int step_commit(struct store_txn *t, struct attempt *a, int finishing)
{
	json_t *tx = NULL, *f;
	int rc;

	if (store_gets(t, T_LOGINS, a->tx_id, &tx) != STORE_OK) {
		/* Gone meanwhile (expired): nothing is granted, the reservation goes. */
		a->gone = 1;
		return throttle_release(t, a->r->authd->conf, &a->th, 0, now_s());
	}
	json_decref(tx);
	if ((rc = state_drop(t, a)) != STORE_OK)
		return rc;
	if ((rc = cred_update_store(t, &a->proof)) == 1) {
		a->result = METHOD_FAIL;
		return record_failure(t, a, "one-time code already used");
	}
	if (rc != STORE_OK)
		return rc;
	if (finishing && (rc = store_dels(t, T_LOGINS, a->tx_id)) != STORE_OK)
		return rc;
	/* A passed step takes its reservation back; the counters are cleared only
	 * when the whole sign-in succeeds (a known password must not buy unlimited
	 * guesses at the second factor: those are counted on their own). */
	rc = finishing ? throttle_succeed(t, a->r->authd->conf, &a->th, now_s()) :
	                 throttle_release(t, a->r->authd->conf, &a->th, 0, now_s());
	if (rc != STORE_OK)
		return rc;
	if (a->proof.audit_event[0]) {
		f = audit_fields(a, "success");
		if (f && a->proof.audit_extra)
			json_object_update(f, a->proof.audit_extra);
		rc = audit_append(t, a->proof.audit_event, f);
		json_decref(f);
	}
	return rc;
}

/* A factor passed but more are needed: remember it in the transaction. */
static int next_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	json_t *f;
	int rc;

	if ((rc = step_commit(t, a, 0)) != STORE_OK || a->gone || a->result != METHOD_OK)
		return rc;
	json_object_set_new(a->tx, "partial",
	                    json_pack("{s:s s:I s:I s:I}", "user", a->proof.user_id,
	                              "amr", (json_int_t)a->amr, "factors", (json_int_t)a->factors,
	                              "props", (json_int_t)a->props));
	if ((rc = store_puts(t, T_LOGINS, a->tx_id, a->tx, 0)) != STORE_OK)
		return rc;
	f = audit_fields(a, "success");
	json_object_set_new(f, "step", json_string("partial"));
	rc = audit_append(t, "login.factor", f);
	json_decref(f);
	return rc;
}

static int success_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	const struct conf *c = a->r->authd->conf;
	int64_t now = now_s();
	char skey[65], sid[32];
	json_t *s, *f;
	int rc;

	if ((rc = step_commit(t, a, 1)) != STORE_OK || a->gone || a->result != METHOD_OK)
		return rc;
	/* A new session id at every sign-in and step-up: an id planted or seen before is worthless. */
	if (a->old_skey[0])
		store_dels(t, T_SESSIONS, a->old_skey);
	if (secret_new(a->sess_cookie) != 0 || rand_token(sid, sizeof(sid), 16) != 0)
		return STORE_IO;
	secret_key_hex(a->sess_cookie, skey);
	s = json_pack("{s:s s:s s:I s:I s:I s:I s:I s:I s:I s:[] s:[]}",
	              "user", a->proof.user_id, "sid", sid, "auth_time", (json_int_t)now,
	              "amr", (json_int_t)a->amr, "factors", (json_int_t)a->factors,
	              "props", (json_int_t)a->props, "created", (json_int_t)now,
	              "last_seen", (json_int_t)now, "expires", (json_int_t)(now + c->session_ttl),
	              "clients", "families");
	if (!s)
		return STORE_IO;
	const char *cid = json_string_value(json_object_get(a->tx, "client_id"));
	if (cid)
		json_array_append_new(json_object_get(s, "clients"), json_string(cid));
	rc = store_puts(t, T_SESSIONS, skey, s, STORE_NOOVERWRITE);
	if (rc == STORE_OK && a->outcome == OUT_DONE && cid) {
		json_object_set_new(s, "key", json_string(skey));
		rc = code_issue(t, a->r, a->tx, s, a->code);
	}
	json_decref(s);
	if (rc != STORE_OK)
		return rc;
	f = audit_fields(a, "success");
	json_object_set_new(f, "sid", json_string(sid));
	json_object_set_new(f, "acr", json_string(policy_acr_name(a->level)));
	if (a->outcome == OUT_UNMET)
		json_object_set_new(f, "unmet_level", json_integer(a->required));
	rc = audit_append(t, "login.success", f);
	json_decref(f);
	return rc;
}

static void step_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;

	if (rc == STORE_CONFLICT || (rc == STORE_OK && a->gone)) {
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
	} else if (rc != STORE_OK) {
		ui_error(r, 500, "err.title", "err.server", NULL);
	} else if (a->result != METHOD_OK) {
		fail_done(rc, a); /* the one-time code lost a race: a replay */
		return;
	} else if (a->outcome == OUT_NEXT) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/login?tx=%s", a->tx_id);
		http_redirect(r, loc);
	} else {
		http_set_cookie(r, COOKIE_SESSION, a->sess_cookie, -1);
		http_set_cookie(r, COOKIE_LOGIN, "", 0);
		const char *back = json_string_value(json_object_get(a->tx, "return_to"));
		if (a->outcome == OUT_UNMET) {
			show_unmet(r, a->tx);
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

static int unreserve_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;

	return throttle_release(t, a->r->authd->conf, &a->th, 0, now_s());
}

static void unreserve_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;

	if (a->result == METHOD_INVALID && rc == STORE_OK) {
		show_form(r, 400, json_object_get(a->tx, "partial") ? a->m : method_find("password"),
		          a->tx, a->tx_id, a->client_name,
		          strcmp(a->m->name, "password") ? json_string_value(json_object_get(a->user, "username")) :
		                                          http_param(r, "username"),
		          fail_text(a, r->lang, strcmp(a->m->name, "password") == 0 ? TXT("login.invalid") :
		                        strcmp(a->m->name, "totp") == 0 ? TXT("otp.invalid") : TXT("method.invalid")), 0);
	} else if (a->result == METHOD_LATE && rc == STORE_OK) {
		http_add_header(r, "Retry-After", "5");
		ui_error(r, 503, "err.title", "login.busy", NULL);
	} else {
		ui_error(r, 500, "err.title", "err.server", NULL);
	}
	attempt_free(a);
}

static void check_done(void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;
	store_write_fn fn = fail_write;
	store_done_fn done = fail_done;
	const char *result = "failure";

	const char *puid = json_string_value(json_object_get(json_object_get(a->tx, "partial"), "user"));
	if (a->result == METHOD_OK && puid && strcmp(puid, a->proof.user_id) != 0)
		a->result = METHOD_ERROR; /* a later step must prove the same person */
	if (a->result == METHOD_OK && !a->user) {
		/* A usernameless first step named the person: load them for the rest. */
		struct store_txn *t = store_read_begin(r->authd->store);
		if (!t || user_by_id(t, a->proof.user_id, &a->user) != STORE_OK ||
		    json_is_true(json_object_get(a->user, "disabled")))
			a->result = METHOD_FAIL;
		else
			login_throttle_name(json_string_value(json_object_get(a->user, "username")), a->uname);
		if (t)
			store_read_end(t);
		a->th.account = uname_of(a);	/* for clearing its counters when the sign-in completes */
	}
	switch (a->result) {
	case METHOD_OK: {
		a->amr |= a->proof.amr;
		a->factors |= a->proof.factors;
		a->props |= a->proof.props;
		a->level = policy_level_of(a->amr, a->factors, a->props);
		a->outcome = OUT_DONE;
		if (a->level < a->required) {
			struct store_txn *t = store_read_begin(r->authd->store);
			const struct authd_method *m =
			        t ? login_next_method(t, a->proof.user_id, a->amr, a->factors, a->props,
			                        a->required) : NULL;
			if (t)
				store_read_end(t);
			a->outcome = m ? OUT_NEXT : OUT_UNMET;
		}
		result = "success";
		fn = a->outcome == OUT_NEXT ? next_write : success_write;
		done = step_done;
		break;
	}
	case METHOD_FAIL:
		break;
	default:
		/* Malformed, late, or an internal error: no secret was judged, so the
		 * reservation is taken back before the answer. */
		metrics_login(a->m->name, a->result == METHOD_INVALID ? "invalid" : "error");
		if (http_store_write(r, unreserve_write, unreserve_done, a) != STORE_OK) {
			ui_error(r, 503, "err.title", "err.server", NULL);
			attempt_free(a);
		}
		return;
	}
	metrics_login(a->m->name, result);
	if (http_store_write(r, fn, done, a) != STORE_OK) {
		ui_error(r, 503, "err.title", "err.server", NULL);
		attempt_free(a);
	}
}

void login_throttle_name(const char *username, char out[USERNAME_MAX + 1])
{
	size_t i;

	if (username_normalise(username, out))
		return;
	for (i = 0; username[i] && i < USERNAME_MAX; i++)
		out[i] = (username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i];
	out[i] = '\0';
}

static void login_admit(struct attempt *a);

void oidc_login_post(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *tx_id = http_param(r, "tx");
	const char *csrf = http_param(r, "csrf");
	const char *method = http_param(r, "method");
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
	a->required = (int)json_integer_value(json_object_get(tx, "level"));
	snprintf(a->tx_id, sizeof(a->tx_id), "%s", tx_id);
	client_name(r, t, tx, a->client_name, sizeof(a->client_name));

	if (json_object_get(tx, "partial")) {
		/* A later step: the person is known; only the method asked for is accepted. */
		if (partial_next(r, t, tx, &a->user, &a->m) != 0) {
			store_read_end(t);
			attempt_free(a);
			return;
		}
		if (method && strcmp(method, a->m->name) != 0) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
		partial_bits(tx, &a->amr, &a->factors, &a->props);
		login_throttle_name(json_string_value(json_object_get(a->user, "username")), a->uname);
	} else if (method && strcmp(method, "password") != 0) {
		/* A first step that names the person itself (a passkey, a citizen card). */
		a->m = method_find(method);
		if (!a->m || !(a->m->flags & METHOD_FIRST)) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
	} else {
		const char *username = http_param(r, "username");
		const char *password = http_param(r, "password");
		a->m = method_find("password");
		if (!a->m) {
			store_read_end(t);
			ui_error(r, 400, "err.title", "err.bad_request", "method");
			attempt_free(a);
			return;
		}
		if (!username || !*username || !password || !*password) {
			store_read_end(t);
			show_form(r, 400, a->m, tx, a->tx_id, a->client_name, username,
			          ui_t(r->lang, "login.invalid"), 0);
			attempt_free(a);
			return;
		}
		login_throttle_name(username, a->uname);
		if (user_by_name(t, a->uname, &a->user) != STORE_OK)
			a->user = NULL;
	}
	json_decref(session_find(r, t, skey));
	snprintf(a->old_skey, sizeof(a->old_skey), "%s", skey);
	store_read_end(t);
	login_reserve_init(&a->th, a->m, uname_of(a), r->peer_prefix, a->tx_id,
	                   json_object_get(tx, "partial") != NULL);
	login_admit(a);
}

/* The kind of secret a method checks, for the throttle: a memorised secret, a
 * code, or a key or card (which a password back-off must not stop). */
void login_reserve_init(struct throttle_attempt *th, const struct authd_method *m,
                        const char *account, const char *prefix, const char *tx, int later_step)
{
	memset(th, 0, sizeof(*th));
	th->kind = m->factors == FACTOR_KNOW ? THROTTLE_PASSWORD :
	           (m->amr & AMR_OTP) ? THROTTLE_CODE : THROTTLE_PHISHRES;
	th->account = account;
	th->prefix = prefix;
	th->tx = tx;
	th->later_step = later_step;
}

/* Answers a refusal of the worker queue at once: this address (or account) has
 * its share in the queue already (429), or the whole queue is full (503). */
static void busy_reply(struct http_req *r, int why)
{
	http_add_header(r, "Retry-After", "1");
	ui_error(r, why == HTTP_WORK_SOURCE_FULL || why == HTTP_WORK_ACCOUNT_FULL ? 429 : 503,
	         "err.title", "login.busy", NULL);
}

static int reserve_write(struct store_txn *t, void *arg)
{
	struct attempt *a = arg;
	json_t *tx = NULL, *f;
	int rc;

	/* The transaction is still there (a spent one is gone). */
	if (store_gets(t, T_LOGINS, a->tx_id, &tx) != STORE_OK)
		return STORE_CONFLICT;
	json_decref(tx);
	if ((rc = throttle_reserve(t, a->r->authd->conf, &a->th, now_s())) != STORE_OK ||
	    a->th.verdict == THROTTLE_GO)
		return rc;
	/* Refused before anything was checked: audited, nothing counted. */
	if (a->th.verdict == THROTTLE_SPENT && (rc = store_dels(t, T_LOGINS, a->tx_id)) != STORE_OK)
		return rc;
	f = audit_fields(a, "throttled");
	json_object_set_new(f, "reason", json_string(a->th.verdict == THROTTLE_WAIT ? "back-off" :
	                                             a->th.verdict == THROTTLE_BUSY ? "in flight" :
	                                                                               "attempts used up"));
	rc = audit_append(t, "login.throttled", f);
	json_decref(f);
	return rc;
}

static void reserve_done(int rc, void *arg)
{
	struct attempt *a = arg;
	struct http_req *r = a->r;
	struct http_slot *slot = a->slot;
	const struct authd_method *first = json_object_get(a->tx, "partial") ? a->m : method_find("password");
	const char *who = strcmp(a->m->name, "password") == 0 ?
	                  http_param(r, "username") : json_string_value(json_object_get(a->user, "username"));

	/* The queue place goes back before any reply: a reply may be the last
	 * thing keeping a stopping server (and its queue) alive. */
	a->slot = NULL;
	if (rc != STORE_OK || a->th.verdict != THROTTLE_GO)
		http_work_cancel(slot);
	if (rc == STORE_CONFLICT) {
		ui_error(r, 400, "err.title", "err.tx_expired", NULL);
	} else if (rc != STORE_OK) {
		ui_error(r, 500, "err.title", "err.server", NULL);
	} else if (a->th.verdict == THROTTLE_SPENT) {
		metrics_login(a->m->name, "throttled");
		ui_error(r, 400, "err.title", "login.spent", NULL);
	} else if (a->th.verdict == THROTTLE_BUSY) {
		char ra[24];

		/* another check for this account or sign-in runs: at once, not queued */
		metrics_login(a->m->name, "throttled");
		snprintf(ra, sizeof(ra), "%ld", a->th.wait);
		http_add_header(r, "Retry-After", ra);
		show_form(r, 429, first, a->tx, a->tx_id, a->client_name, who,
		          ui_t(r->lang, "login.in_flight"), 0);
	} else if (a->th.verdict != THROTTLE_GO) {
		metrics_login(a->m->name, "throttled");
		show_form(r, 429, first, a->tx, a->tx_id, a->client_name, who,
		          ui_t(r->lang, "login.throttled"), (int)a->th.wait);
	} else {
		/* Reserved: the check must start while the lease certainly holds. The
		 * slot is the pool's now, until the check ran (or it is given back). */
		a->deadline_ns = mono_ns() + (uint64_t)r->authd->conf->lease_s * 500000000u;
		if (http_work_submit(slot, check_work, check_done, a) == 0)
			return;
		ui_error(r, 503, "err.title", "err.server", NULL);
	}
	attempt_free(a);
}

/* A place in the worker queue, then the reservation write. */
static void login_admit(struct attempt *a)
{
	struct http_req *r = a->r;
	int why = http_work_admit(r, uname_of(a), &a->slot);

	if (why != HTTP_WORK_OK) {
		metrics_login(a->m->name, "throttled");
		busy_reply(r, why);
		attempt_free(a);
		return;
	}
	if (http_store_write(r, reserve_write, reserve_done, a) != STORE_OK) {
		http_work_cancel(a->slot);
		a->slot = NULL;
		ui_error(r, 503, "err.title", "err.server", NULL);
		attempt_free(a);
	}
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
	int allowed = puid ? (m->flags & METHOD_STEP) && m->enrolled && m->enrolled(t, puid) &&
	                             user_by_id(t, puid, &user) == STORE_OK :
	                     (m->flags & METHOD_FIRST) != 0;
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

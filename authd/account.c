/* authd/account.c — the self-service account page (GET/POST /account): the
 * signed-in person, their sign-in methods, TOTP set-up (QR code, manual key,
 * confirmation by one code, recovery codes shown once), new recovery codes and
 * removal, each method's section (its template and the data its account_view
 * gives), and their recent security events. The pages are templates
 * (share/templates/account*.html); C hands them data and catalogue keys. Also
 * the gate and the change record every method's account actions use
 * (account.h).
 *
 * Every POST carries a CSRF token bound to the session, checked first. Every
 * change to a credential passes the gate (policy_change_needs: the session
 * holds, now, the highest level the account can reach) before it reads its
 * input; a session below gets a step-up and nothing changes. Each change is one
 * durable write together with its audit record and the person's security
 * event; the page is answered only after that write. A secret is shown while
 * an enrolment is pending and never again once it is active. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "../lib/util.h"
#include "../modules/method.h"
#include "../modules/password.h"
#include "../modules/totp.h"
#include "audit.h"
#include "authd.h"
#include "log.h"
#include "oidc/oidc.h"
#include "policy.h"
#include "secevents.h"
#include "signin.h"
#include "throttle.h"
#include "ui.h"
#include "users.h"

/* A password change in flight: the secrets (wiped with the request), what the
 * worker made of them, the throttle reservation, the other sessions to end. */
struct pwc {
	char cur[PASSWORD_MAX_BYTES + 1];
	char nw[PASSWORD_MAX_BYTES + 1];
	char hash[PASSWORD_HASH_MAX];
	char tname[USERNAME_MAX + 1];
	char skey[65];    /* this session: the one that stays */
	int need_current; /* the current password is checked (and throttled) */
	int signout;      /* end the person's other sessions */
	int matched;      /* the worker: the current password was right */
	int signed_out;   /* how many sessions ended */
	json_t *rec;      /* the worker: the new credential record */
	struct throttle_attempt th;
	struct http_slot *slot;
};

/* What a pending request carries from the handler to its write and back. */
enum acct_view { V_HOME, V_ENROL, V_CODES, V_REMOVE_ASK };

struct acct {
	struct http_req *r;
	char uid[USER_ID_LEN + 1];
	char username[USERNAME_MAX + 1];
	char *display_name;
	char csrf[65];
	char code[8];
	int totp_state;            /* 0 none, 1 pending, 2 active */
	int recovery_left;
	int ask_second;            /* the person's preference (user_asks_second_factor) */
	int result;                /* totp_enrol_finish: -1 wrong code */
	int level;                 /* the level the session holds now */
	struct policy_session ps;  /* the session, for the gate on the home page */
	const char *notice_key;    /* catalogue key shown on the home view */
	const char *error_key;
	const char *error_text;    /* a rule's message (password_rule_message), or NULL */
	const char *codes_title;   /* catalogue key of the recovery codes page's title */
	char uri[TOTP_URI_MAX];
	char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
	struct pwc *pw; /* password_change only */
};

static void
acct_free(struct acct *a)
{
	if (a->pw != NULL) {
		http_work_cancel(a->pw->slot);
		json_decref(a->pw->rec);
		wipe(a->pw, sizeof(*a->pw));
		free(a->pw);
	}
	free(a->display_name);
	wipe(a, sizeof(*a));	/* uri and recovery codes are secrets */
	free(a);
}

/* ---------------------------------------------------------------- the gate */

static void
session_of(const json_t *sess, struct policy_session *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->amr = (unsigned)json_integer_value(json_object_get(sess, "amr"));
	ps->factors = (unsigned)json_integer_value(json_object_get(sess, "factors"));
	ps->props = (unsigned)json_integer_value(json_object_get(sess, "props"));
	ps->auth_time = json_integer_value(json_object_get(sess, "auth_time"));
	ps->last_seen = json_integer_value(json_object_get(sess, "last_seen"));
	ps->created = json_integer_value(json_object_get(sess, "created"));
}

static int
change_level(struct http_req *r, struct store_txn *t, const struct policy_session *ps,
             const char *user_id)
{
	struct policy_cred c[16];
	size_t n = methods_reach(t, user_id, NULL, NULL, c, sizeof(c) / sizeof(c[0]));

	return policy_change_needs(r->authd->conf, ps, c, n, now_s());
}

int
account_change_level(struct http_req *r, struct store_txn *t, const json_t *sess,
                     const char *user_id)
{
	struct policy_session ps;

	session_of(sess, &ps);
	return change_level(r, t, sess != NULL ? &ps : NULL, user_id);
}

struct gate {
	struct http_req *r;
	char uid[USER_ID_LEN + 1];
	char action[40];
	char return_to[201];
	int held, need, json;
};

static int
w_gate(struct store_txn *t, void *ctx)
{
	struct gate *g = ctx;
	json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:i}", "user", g->uid, "ip", g->r->peer,
	    "action", g->action, "held", g->held, "need", g->need);
	int rc = f != NULL ? audit_append(t, "account.step_up_required", f) : STORE_IO;

	json_decref(f);
	return rc;
}

static void
gate_done(int rc, void *ctx)
{
	struct gate *g = ctx;
	struct http_req *r = g->r;

	if (rc != STORE_OK && g->json)
		http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
	else if (rc != STORE_OK)
		ui_error(r, 500, "err.title", "err.server", NULL);
	else if (g->json)
		http_reply_json(r, 200, json_pack("{s:b, s:i, s:s?}", "step_up", 1, "level", g->need,
		    "acr", policy_acr_name(g->need)));
	else
		login_start(r, g->return_to, g->need);	/* a sign-in at the level, then back */
	free(g);
}

int
account_change_allowed(struct http_req *r, struct store_txn *t, const json_t *sess,
                       const char *user_id, const char *action, const char *return_to,
                       int json_reply)
{
	int need = account_change_level(r, t, sess, user_id);
	struct gate *g;

	if (need == AAL_NONE)
		return 1;
	if ((g = calloc(1, sizeof(*g))) == NULL || user_id == NULL ||
	    strlen(user_id) != USER_ID_LEN || strlen(return_to) >= sizeof(g->return_to)) {
		free(g);
		if (json_reply)
			http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
		else
			ui_error(r, 500, "err.title", "err.server", NULL);
		return 0;
	}
	g->r = r;
	memcpy(g->uid, user_id, USER_ID_LEN + 1);
	snprintf(g->action, sizeof(g->action), "%s", action);
	snprintf(g->return_to, sizeof(g->return_to), "%s", return_to);
	g->held = session_level(sess);
	g->need = need;
	g->json = json_reply;
	if (http_store_write(r, w_gate, gate_done, g) != STORE_OK) {
		free(g);
		if (json_reply)
			http_reply_json(r, 503, json_pack("{s:s}", "error", "temporarily_unavailable"));
		else
			ui_error(r, 503, "err.title", "err.server", NULL);
	}
	return 0;
}

int
account_change_record(struct store_txn *t, const struct account_change *c)
{
	struct secevent e;
	char event[64];
	json_t *f;
	int rc;

	snprintf(event, sizeof(event), "account.%s.%s", c->method, c->action);
	f = json_pack("{s:s, s:s?, s:s, s:i, s:s?, s:s?}", "user", c->user, "username",
	    c->username, "ip", c->ip, "level", c->level, "cred", c->cred, "reason", c->reason);
	rc = f != NULL ? audit_append(t, event, f) : STORE_IO;
	json_decref(f);
	if (rc != STORE_OK)
		return rc;
	memset(&e, 0, sizeof(e));
	snprintf(e.method, sizeof(e.method), "%s", c->method);
	snprintf(e.action, sizeof(e.action), "%s", c->action);
	if (c->label != NULL)
		snprintf(e.label, sizeof(e.label), "%s", c->label);
	snprintf(e.ip, sizeof(e.ip), "%s", c->ip != NULL ? c->ip : "");
	return secevent_add(t, c->user, &e);
}

/* ---------------------------------------------------------------- pages */

/* The sentence of each kind of security event, and what it names; an event
 * this build does not know (written by a newer one) is not shown. */
static const struct {
	const char *action, *self, *admin;
} ev_keys[] = {
	{ "add", TXT("account.ev.add.self"), TXT("account.ev.add.admin") },
	{ "remove", TXT("account.ev.remove.self"), TXT("account.ev.remove.admin") },
	{ "rename", TXT("account.ev.rename.self"), TXT("account.ev.rename.admin") },
	{ "regenerate", TXT("account.ev.regenerate.self"), TXT("account.ev.regenerate.admin") },
	{ "change", TXT("account.ev.change.self"), TXT("account.ev.change.admin") },
	{ "ask_on", TXT("account.ev.ask_on.self"), TXT("account.ev.ask_on.admin") },
	{ "ask_off", TXT("account.ev.ask_off.self"), TXT("account.ev.ask_off.admin") },
};
static const struct {
	const char *method, *key;
} what_keys[] = {
	{ "totp", TXT("account.what.totp") },
	{ "webauthn", TXT("account.what.webauthn") },
	{ "x509", TXT("account.what.x509") },
	{ "recovery", TXT("account.what.recovery") },
	{ "password", TXT("account.what.password") },
	{ "signin", TXT("account.what.signin") },
};

/* One security event as the page's data: the sentence's key and what it
 * fills in; NULL when this build has no sentence for it. */
static json_t *
event_json(const struct secevent *e)
{
	const char *key = NULL, *what = NULL;
	char d[32] = "", iso[32] = "";
	time_t at = (time_t)e->at;
	struct tm tm;
	size_t i;

	if (e->at <= 0)	/* recorded before events had dates: the help desk's TOTP reset */
		return json_pack("{s:b, s:b}", "reset", 1, "unseen", e->unseen != 0);
	for (i = 0; i < sizeof(ev_keys) / sizeof(ev_keys[0]); i++)
		if (strcmp(e->action, ev_keys[i].action) == 0)
			key = e->by_admin ? ev_keys[i].admin : ev_keys[i].self;
	for (i = 0; i < sizeof(what_keys) / sizeof(what_keys[0]); i++)
		if (strcmp(e->method, what_keys[i].method) == 0)
			what = what_keys[i].key;
	if (key == NULL || what == NULL)
		return NULL;
	if (localtime_r(&at, &tm) != NULL) {
		strftime(d, sizeof(d), "%Y-%m-%d %H:%M", &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M%z", &tm);
	}
	return json_pack("{s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:s}", "reset", 0, "unseen",
	    e->unseen != 0, "key", key, "what", what, "date", d, "iso", iso, "ip", e->ip, "label",
	    e->label);
}

/* The events of the last SECEV_KEEP_S into d: events (newest first),
 * has_events, and unseen_count (the changes to announce); user is the
 * person's record as now stored (NULL: none). */
static int
add_events(json_t *d, const json_t *user)
{
	struct secevent ev[SECEV_MAX + 1];
	size_t i, n = secevent_list(user, now_s(), ev, SECEV_MAX + 1), unseen = 0;
	json_t *list = json_array(), *e;

	for (i = 0; list != NULL && i < n; i++) {
		if ((e = event_json(&ev[i])) == NULL)
			continue;
		unseen += ev[i].unseen != 0;
		if (json_array_append_new(list, e) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (list == NULL)
		return -1;
	json_object_set_new(d, "has_events", json_boolean(json_array_size(list) > 0));
	json_object_set_new(d, "unseen_count", json_integer((json_int_t)unseen));
	return json_object_set_new(d, "events", list);
}

/* Every available method's section of the page: its template and its data. */
static json_t *
sections(struct store_txn *t, const char *uid)
{
	json_t *out = json_array();

	for (const struct authd_method *const *mp = authd_methods; out != NULL && *mp; mp++) {
		const struct authd_method *m = *mp;
		json_t *sec;

		if (m->account_template == NULL || (m->available != NULL && !m->available()))
			continue;
		if ((sec = json_object()) == NULL ||
		    (m->account_view != NULL && m->account_view(t, uid, sec) != 0) ||
		    json_object_set_new(sec, "template", json_string(m->account_template)) != 0 ||
		    json_array_append_new(out, sec) != 0) {
			if (sec != NULL)
				log_msg(LOG_ERROR, "account page: a method's section failed", "method", m->name,
				    NULL);
			json_decref(sec);
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

static void
send_home(struct acct *a, int status)
{
	struct http_req *r = a->r;
	struct store_txn *t = store_read_begin(r->authd->store);
	json_t *user = NULL, *d, *secs = json_array();
	int need = AAL_NONE, second = 0;

	/* Read again: the page shows what a change made a moment ago. */
	if (t != NULL) {
		if (user_by_id(t, a->uid, &user) != STORE_OK)
			user = NULL;
		need = change_level(r, t, &a->ps, a->uid);
		/* The preference can be kept when a step after the password reaches
		 * AAL2 (TOTP, a key): a citizen card is a first step, never asked after
		 * a password, so for it the page would promise what is not done. */
		second = signin_next_method(t, a->uid, AMR_PWD, FACTOR_KNOW, 0, AAL2) != NULL;
		json_decref(secs);
		secs = sections(t, a->uid);
		store_read_end(t);
	}
	d = json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s, s:b, s:o?}", "notice", a->notice_key,
	    "error", a->error_key, "error_text", a->error_text, "username", a->username,
	    "display_name",
	    a->display_name != NULL && a->display_name[0] != '\0' ? a->display_name : NULL, "csrf",
	    a->csrf, "step_up", need != AAL_NONE, "sections", secs);
	/* The preference shows once there is a second factor to ask (it reads the
	 * stored record: the state a change made a moment ago). */
	if (d != NULL && second)
		json_object_set_new(d, "second_factor",
		    json_pack("{s:b}", "on", user == NULL || user_asks_second_factor(user)));
	if (d == NULL || secs == NULL || add_events(d, user) != 0) {
		json_decref(d);
		json_decref(user);
		ui_error(r, 500, "err.title", "err.server", NULL);
		a->r = NULL;
		return;
	}
	json_decref(user);
	ui_page(r, status, "account", TXT("account.title"), d);
	a->r = NULL;
}

/* The key of the URI in groups of four, for typing by hand (out: 64+16). */
static void
secret_groups(const char *uri, char *out, size_t outsz)
{
	const char *p = strstr(uri, "?secret="), *e;
	size_t i, n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 8;
	e = strchr(p, '&');
	if (e == NULL)
		e = p + strlen(p);
	for (i = 0; p + i < e && n + 2 < outsz; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = ' ';
		out[n++] = p[i];
	}
	out[n] = '\0';
}

static void
send_enrol(struct acct *a, int status)
{
	struct http_req *r = a->r;
	char groups[TOTP_URI_MAX];
	char *path = NULL;
	int size;
	json_t *d;

	/* The QR code is drawn by the template from its path data: no markup here. */
	if (totp_qr_path(a->uri, &path, &size) != 0) {
		ui_error(r, 500, "err.title", "err.server", NULL);	/* cannot happen for our URIs */
		a->r = NULL;
		return;
	}
	secret_groups(a->uri, groups, sizeof(groups));
	d = json_pack("{s:s?, s:{s:i, s:i, s:s}, s:s, s:s}", "error", a->error_key, "qr", "size", size,
	    "px", size * 5, "d", path, "secret", groups, "csrf", a->csrf);
	wipe(path, strlen(path));	/* it encodes the secret */
	free(path);
	wipe(groups, sizeof(groups));
	ui_page_secret(r, status, "account-enrol", TXT("account.enrol.title"), d);
	a->r = NULL;
}

/* Appends s percent-encoded (all but A-Z a-z 0-9 - . _ ~) to out; 0, or -1
 * when it does not fit. */
static int
pct_append(char *out, size_t outsz, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (*n + 1 >= outsz)
				return -1;
			out[(*n)++] = (char)c;
		} else {
			if (*n + 3 >= outsz)
				return -1;
			out[(*n)++] = '%';
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 15];
		}
	}
	out[*n] = '\0';
	return 0;
}

/* The codes page, right after the codes were made (the only time they
 * exist outside their hashes): the list, and the same as a text file to
 * download (a data: URL: the codes never travel in another request) or
 * print. The file holds the account name and the codes, one a line. */
static void
send_codes(struct acct *a)
{
	char text[USERNAME_MAX * 3 + TOTP_RECOVERY_CODES * (TOTP_RECOVERY_LEN + 3 + 6) * 3 + 16];
	json_t *codes = json_array(), *d = NULL;
	size_t i, n = 0;
	int ok = pct_append(text, sizeof(text), &n, a->username) == 0 &&
	    pct_append(text, sizeof(text), &n, "\r\n\r\n") == 0;

	for (i = 0; codes != NULL && i < TOTP_RECOVERY_CODES; i++) {
		json_array_append_new(codes, json_string(a->recovery[i]));
		ok = ok && pct_append(text, sizeof(text), &n, a->recovery[i]) == 0 &&
		    pct_append(text, sizeof(text), &n, "\r\n") == 0;
	}
	if (codes != NULL)
		d = json_pack("{s:o, s:s?}", "codes", codes, "download", ok ? text : NULL);
	wipe(text, sizeof(text));
	ui_page_secret(a->r, 200, "account-codes",
	    a->codes_title != NULL ? a->codes_title : TXT("account.codes.title"), d);
	a->r = NULL;
}

/* "Are you sure?" before a change that cannot be undone. */
static void
send_ask(struct acct *a, const char *title, const char *text, const char *action,
    const char *button, int destructive)
{
	ui_page(a->r, 200, "account-confirm", title,
	    json_pack("{s:s, s:s, s:s, s:s, s:b}", "text", text, "action", action, "button", button,
	        "csrf", a->csrf, "destructive", destructive));
	a->r = NULL;
}

/* ---------------------------------------------------------------- writes */

static int
record(struct store_txn *t, const struct acct *a, const char *method, const char *action)
{
	struct account_change c = { .user = a->uid, .username = a->username, .ip = a->r->peer,
		                    .method = method, .action = action, .level = a->level };

	return account_change_record(t, &c);
}

/* An account event that changes no credential (audited, not announced). */
static int
audit_account(struct store_txn *t, const struct acct *a, const char *event)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:i}", "user", a->uid, "username", a->username,
	    "ip", a->r->peer, "level", a->level);
	int rc = f != NULL ? audit_append(t, event, f) : STORE_IO;

	json_decref(f);
	return rc;
}

static int
w_begin(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_enrol_begin(t, a->uid, a->username, a->uri, sizeof(a->uri));

	if (rc != STORE_OK)
		return rc;
	/* Pending is not a credential yet: audited, not announced. */
	return audit_account(t, a, "account.totp.begin");
}

static int
w_confirm(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_enrol_finish(t, a->uid, a->code, a->recovery);

	a->result = rc;
	if (rc == -1 || rc == -2) {
		/* The wrong code was counted (kept by this write); -2 ended the set-up.
		 * Read the pending URI to show the form again. */
		if (rc == -2 || totp_pending_uri(t, a->uid, a->username, a->uri, sizeof(a->uri)) != STORE_OK)
			a->uri[0] = '\0';
		return audit_account(t, a, "account.totp.confirm_failed");
	}
	return rc == STORE_OK ? record(t, a, "totp", "add") : rc;
}

static int
w_remove(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_remove(t, a->uid);

	return rc == STORE_OK ? record(t, a, "totp", "remove") : rc;
}

static int
w_regen(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_recovery_regenerate(t, a->uid, a->recovery);

	a->result = rc;
	return rc == STORE_OK ? record(t, a, "recovery", "regenerate") : rc;
}

/* "Ask my second factor at every sign-in": on (the default, the field
 * removed) or off (false). Recorded like a credential change: it decides
 * what a stolen password alone can do. */
static int
w_pref(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	json_t *u = NULL;
	int rc = user_by_id(t, a->uid, &u);

	if (rc != STORE_OK)
		return rc;
	if (a->ask_second)
		json_object_del(u, "ask_second_factor");
	else
		json_object_set_new(u, "ask_second_factor", json_false());
	rc = user_update(t, u);
	json_decref(u);
	if (rc != STORE_OK)
		return rc;
	return record(t, a, "signin", a->ask_second ? "ask_on" : "ask_off");
}

/* The person has read the announced changes. */
static int
w_ack(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	json_t *f;
	int rc = secevent_ack(t, a->uid, now_s());

	if (rc != STORE_OK)
		return rc;
	f = json_pack("{s:s, s:s, s:s}", "user", a->uid, "username", a->username, "ip", a->r->peer);
	rc = f != NULL ? audit_append(t, "account.events.ack", f) : STORE_IO;
	json_decref(f);
	return rc;
}

static void
server_error(struct acct *a, int status)
{
	ui_error(a->r, status, "err.title", "err.server", NULL);
	acct_free(a);
}

static void
begin_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc == STORE_EXISTS) {
		a->totp_state = 2;
		a->error_key = TXT("account.enrol.exists");
		send_home(a, 409);
	} else if (rc != STORE_OK) {
		server_error(a, 500);
		return;
	} else {
		send_enrol(a, 200);
	}
	acct_free(a);
}

static void
confirm_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc == STORE_OK && a->result == STORE_OK) {
		send_codes(a);
	} else if (rc == STORE_OK && a->result == -1 && a->uri[0] != '\0') {
		a->error_key = TXT("account.enrol.wrong");
		send_enrol(a, 400);
	} else if (rc == STORE_OK && a->result == -2) {
		a->totp_state = 0;
		a->error_key = TXT("account.enrol.spent");
		send_home(a, 400);
	} else if (a->result == STORE_NOTFOUND || a->result == STORE_EXISTS) {
		a->totp_state = a->result == STORE_EXISTS ? 2 : 0;
		a->error_key = a->result == STORE_EXISTS ? TXT("account.enrol.exists") :
		    TXT("account.enrol.gone");
		send_home(a, 409);
	} else {
		server_error(a, 500);
		return;
	}
	acct_free(a);
}

static void
remove_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc == STORE_OK || rc == STORE_NOTFOUND) {
		a->totp_state = 0;
		a->notice_key = rc == STORE_OK ? TXT("account.remove.done") : NULL;
		send_home(a, 200);
		acct_free(a);
		return;
	}
	server_error(a, 500);
}

static void
regen_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc == STORE_OK) {
		a->codes_title = TXT("account.regen.done");
		send_codes(a);
	} else if (a->result == STORE_NOTFOUND) {
		a->totp_state = 0;
		send_home(a, 409);	/* TOTP was removed meanwhile */
	} else {
		server_error(a, 500);
		return;
	}
	acct_free(a);
}

static void
pref_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc != STORE_OK) {
		server_error(a, 500);
		return;
	}
	a->notice_key =
	    a->ask_second ? TXT("account.second.done_on") : TXT("account.second.done_off");
	send_home(a, 200);
	acct_free(a);
}

static void
ack_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc != STORE_OK) {
		server_error(a, 500);
		return;
	}
	http_redirect(a->r, "/account");
	acct_free(a);
}

/* ---------------------------------------------------------------- password */

/* The password change (action password_change), after the gate and the
 * checks that judge no secret (the two new fields alike, the rules):
 *   1. a place on the worker pool for the address group and the account;
 *   2. with the current password: the throttle reservation, a durable write
 *      before the password is looked at — the same counters as a sign-in;
 *   3. on a worker: the current password checked, the new one hashed;
 *   4. one write: a wrong current password counted (kept) and audited; or the
 *      new record, the throttle cleared, the other sessions ended when asked
 *      (as a logout ends one: its refresh tokens without offline_access too),
 *      account.password.change and the person's security event. */

static void queue(struct acct *a, store_write_fn fn, store_done_fn done);

struct others {
	const char *uid, *keep;
	json_t *keys;
};

static int
others_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct others *o = ctx;
	const char *u = json_string_value(json_object_get(value, "user"));
	char k[65];

	if (u == NULL || strcmp(u, o->uid) != 0 || klen >= sizeof(k))
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (strcmp(k, o->keep) == 0)
		return 0;
	return json_array_append_new(o->keys, json_string(k)) == 0 ? 0 : -1;
}

/* Ends every session of uid but keep (write txn); *n gets how many. */
static int
end_other_sessions(struct store_txn *t, const char *uid, const char *keep, int *n)
{
	struct others o = { .uid = uid, .keep = keep, .keys = json_array() };
	json_t *v;
	size_t i;
	int rc = o.keys != NULL ? STORE_OK : STORE_IO;

	*n = 0;
	if (rc == STORE_OK && store_iter(t, T_SESSIONS, NULL, 0, others_cb, &o) != 0)
		rc = STORE_IO;
	json_array_foreach (o.keys, i, v) {
		json_t *sess = NULL, *fv;
		size_t j;

		if (rc != STORE_OK)
			break;
		if (store_gets(t, T_SESSIONS, json_string_value(v), &sess) != STORE_OK)
			continue;
		json_array_foreach (json_object_get(sess, "families"), j, fv) {
			json_t *fam = NULL;
			const char *id = json_string_value(fv);

			if (id == NULL || store_gets(t, T_FAMILIES, id, &fam) != STORE_OK)
				continue;
			if (!scope_has(json_string_value(json_object_get(fam, "scope")),
			        "offline_access")) {
				family_mark_revoked(fam, now_s());
				rc = store_puts(t, T_FAMILIES, id, fam, 0);
			}
			json_decref(fam);
			if (rc != STORE_OK)
				break;
		}
		json_decref(sess);
		if (rc == STORE_OK &&
		    (rc = store_dels(t, T_SESSIONS, json_string_value(v))) == STORE_OK)
			(*n)++;
	}
	json_decref(o.keys);
	return rc;
}

static int
w_pw_reserve(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;

	return throttle_reserve(t, a->r->authd->conf, &a->pw->th, now_s());
}

static int
w_pw_commit(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	struct pwc *p = a->pw;
	const struct conf *c = a->r->authd->conf;
	json_t *f;
	int rc;

	if (p->need_current && !p->matched) {
		/* A wrong guess at the password: it stays counted, as at a sign-in. */
		if ((rc = throttle_release(t, c, &p->th, 1, now_s())) != STORE_OK)
			return rc;
		f = json_pack("{s:s, s:s, s:s, s:i, s:s}", "user", a->uid, "username", a->username,
		    "ip", a->r->peer, "level", a->level, "reason", "wrong current password");
		rc = f != NULL ? audit_append(t, "account.password.change_failed", f) : STORE_IO;
		json_decref(f);
		return rc;
	}
	if (p->rec == NULL)
		return STORE_IO;
	if ((rc = password_store(t, a->uid, p->rec)) != STORE_OK)
		return rc;
	if (p->need_current && (rc = throttle_succeed(t, c, &p->th, now_s())) != STORE_OK)
		return rc;
	if (p->signout && (rc = end_other_sessions(t, a->uid, p->skey, &p->signed_out)) != STORE_OK)
		return rc;
	return record(t, a, "password", "change");
}

static void
pw_commit_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc != STORE_OK) {
		server_error(a, 500);
		return;
	}
	if (a->pw->need_current && !a->pw->matched) {
		a->error_key = TXT("account.pw.wrong");
		send_home(a, 400);
	} else {
		a->notice_key =
		    a->pw->signout ? TXT("account.pw.done_signout") : TXT("account.pw.done");
		send_home(a, 200);
	}
	acct_free(a);
}

/* On a worker: Argon2id twice at most, never on a loop or the writer. */
static void
pw_work(void *arg)
{
	struct acct *a = arg;
	struct pwc *p = a->pw;

	if (p->need_current)
		p->matched = password_matches(p->hash, p->cur);
	wipe(p->cur, sizeof(p->cur));
	if (!p->need_current || p->matched)
		p->rec = password_record_new(p->nw, now_s(), now_s());
	wipe(p->nw, sizeof(p->nw));
}

static void
pw_work_done(void *arg)
{
	struct acct *a = arg;

	a->pw->slot = NULL; /* the job ran: the place is given back */
	queue(a, w_pw_commit, pw_commit_done);
}

static void
pw_submit(struct acct *a)
{
	struct http_slot *slot = a->pw->slot;

	a->pw->slot = NULL;
	if (http_work_submit(slot, pw_work, pw_work_done, a) != 0)
		server_error(a, 503);
}

static void
pw_reserve_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc != STORE_OK) {
		server_error(a, 500);
		return;
	}
	if (a->pw->th.verdict != THROTTLE_GO) {
		a->error_key = TXT("account.pw.throttled");
		send_home(a, 429);
		acct_free(a);
		return;
	}
	pw_submit(a);
}

/* The handler's part: t (read view) is ended here; a is answered and freed on
 * every path. */
static void
pw_change(struct acct *a, struct store_txn *t, const char *skey)
{
	struct http_req *r = a->r;
	const char *cur = http_param(r, "current"), *nw = http_param(r, "new");
	const char *cf = http_param(r, "confirm"), *so = http_param(r, "signout_others");
	enum pw_rule rule;
	struct pwc *p;
	int rc;

	if ((p = a->pw = calloc(1, sizeof(*p))) == NULL) {
		store_read_end(t);
		server_error(a, 500);
		return;
	}
	if (nw == NULL || cf == NULL || nw[0] == '\0' || strcmp(nw, cf) != 0) {
		store_read_end(t);
		a->error_key = TXT("account.pw.mismatch");
		send_home(a, 400);
		acct_free(a);
		return;
	}
	if ((rule = password_check_rules(nw, a->username)) != PW_OK) {
		store_read_end(t);
		a->error_text = password_rule_message(rule, r->lang);
		send_home(a, 400);
		acct_free(a);
		return;
	}
	/* The current password, unless the session itself holds AAL2 or more now
	 * (the gate above made sure it holds the account's highest level): a
	 * fresh second step proves more than the password would. */
	rc = password_hash_of(t, a->uid, p->hash);
	store_read_end(t);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		server_error(a, 500);
		return;
	}
	p->need_current = a->level < AAL2;
	if (p->need_current && (cur == NULL || cur[0] == '\0')) {
		a->error_key = TXT("account.pw.current_missing");
		send_home(a, 400);
		acct_free(a);
		return;
	}
	if (p->need_current && strlen(cur) > PASSWORD_MAX_BYTES) {
		a->error_key = TXT("account.pw.wrong"); /* longer than any password */
		send_home(a, 400);
		acct_free(a);
		return;
	}
	if (p->need_current)
		snprintf(p->cur, sizeof(p->cur), "%s", cur);
	snprintf(p->nw, sizeof(p->nw), "%s", nw);
	snprintf(p->skey, sizeof(p->skey), "%s", skey);
	p->signout = so != NULL && strcmp(so, "1") == 0;
	signin_throttle_name(a->username, p->tname);
	if (http_work_admit(r, p->tname, &p->slot) != HTTP_WORK_OK) {
		p->slot = NULL;
		a->error_key = TXT("account.pw.busy");
		send_home(a, 429);
		acct_free(a);
		return;
	}
	if (!p->need_current) {
		pw_submit(a);
		return;
	}
	signin_reserve_init(&p->th, &method_password, p->tname, r->peer_prefix, NULL, 0);
	queue(a, w_pw_reserve, pw_reserve_done);
}

/* ---------------------------------------------------------------- handler */

static void
queue(struct acct *a, store_write_fn fn, store_done_fn done)
{
	if (http_store_write(a->r, fn, done, a) != STORE_OK)
		server_error(a, 503);
}

/* "123 456" -> "123456"; 0 when exactly six digits remain. */
static int
code_from_form(const char *in, char out[8])
{
	size_t i, n = 0;

	if (in == NULL)
		return -1;
	for (i = 0; in[i] != '\0' && i < 16; i++) {
		if (in[i] == ' ')
			continue;
		if (in[i] < '0' || in[i] > '9' || n == 6)
			return -1;
		out[n++] = in[i];
	}
	if (in[i] != '\0' || n != 6)
		return -1;
	out[n] = '\0';
	return 0;
}

/* The gate for a form action of this page: 1 to go on; 0 when it answered
 * (the read view is ended and a freed either way on 0). */
static int
gate(struct acct *a, struct store_txn *t, const json_t *sess, const char *action)
{
	if (account_change_allowed(a->r, t, sess, a->uid, action, "/account", 0))
		return 1;
	store_read_end(t);
	acct_free(a);
	return 0;
}

static void
post(struct acct *a, struct store_txn *t, const json_t *sess, const char *skey)
{
	struct http_req *r = a->r;
	const char *action = http_param(r, "action");
	const char *confirm = http_param(r, "confirm");
	int confirmed = confirm != NULL && strcmp(confirm, "1") == 0;

	if (!session_csrf_ok(r, skey, "account", http_param(r, "csrf"))) {
		store_read_end(t);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		acct_free(a);
		return;
	}
	if (action == NULL)
		action = "";
	if (strcmp(action, "totp_begin") == 0) {
		if (!gate(a, t, sess, "totp.add"))
			return;
		store_read_end(t);
		queue(a, w_begin, begin_done);
	} else if (strcmp(action, "totp_confirm") == 0) {
		if (!gate(a, t, sess, "totp.add"))
			return;
		if (code_from_form(http_param(r, "otp"), a->code) != 0) {
			/* Malformed: answer like a wrong code, without a write. */
			if (totp_pending_uri(t, a->uid, a->username, a->uri, sizeof(a->uri)) != STORE_OK) {
				store_read_end(t);
				a->error_key = TXT("account.enrol.gone");
				send_home(a, 400);
				acct_free(a);
				return;
			}
			store_read_end(t);
			a->error_key = TXT("account.enrol.wrong");
			send_enrol(a, 400);
			acct_free(a);
			return;
		}
		store_read_end(t);
		queue(a, w_confirm, confirm_done);
	} else if (strcmp(action, "totp_remove") == 0 || strcmp(action, "recovery_regen") == 0) {
		int remove = action[0] == 't';

		if (a->totp_state != 2) {
			store_read_end(t);
			send_home(a, 200);	/* nothing to remove or replace */
			acct_free(a);
			return;
		}
		if (!gate(a, t, sess, remove ? "totp.remove" : "recovery.regenerate"))
			return;
		store_read_end(t);
		if (!confirmed) {
			if (remove)
				send_ask(a, TXT("account.remove.title"),
				    TXT("account.remove.confirm"), "totp_remove",
				    TXT("account.remove.button"), 1);
			else
				send_ask(a, TXT("account.regen.title"),
				    TXT("account.regen.confirm"), "recovery_regen",
				    TXT("account.regen.button"), 0);
			acct_free(a);
			return;
		}
		if (remove)
			queue(a, w_remove, remove_done);
		else
			queue(a, w_regen, regen_done);
	} else if (strcmp(action, "second_factor") == 0) {
		const char *ask = http_param(r, "ask");

		if (ask == NULL || (strcmp(ask, "on") != 0 && strcmp(ask, "off") != 0)) {
			store_read_end(t);
			ui_error(r, 400, TXT("account.title"), TXT("account.bad_request"), NULL);
			acct_free(a);
			return;
		}
		a->ask_second = ask[1] == 'n';
		/* Asking more needs no proof; asking less is a credential-security
		 * change: the one rule of policy.c. */
		if (!a->ask_second && !gate(a, t, sess, "second_factor.off"))
			return;
		store_read_end(t);
		queue(a, w_pref, pref_done);
	} else if (strcmp(action, "password_change") == 0) {
		if (!gate(a, t, sess, "password.change"))
			return;
		pw_change(a, t, skey);
	} else if (strcmp(action, "events_ack") == 0) {
		/* Reading a notice changes no credential: no step-up. */
		store_read_end(t);
		queue(a, w_ack, ack_done);
	} else if (strcmp(action, "step_up") == 0) {
		int need = account_change_level(r, t, sess, a->uid);

		store_read_end(t);
		acct_free(a);
		if (need != AAL_NONE)
			login_start(r, "/account", need);
		else
			http_redirect(r, "/account");	/* already at the level */
	} else {
		store_read_end(t);
		ui_error(r, 400, TXT("account.title"), TXT("account.bad_request"), NULL);
		acct_free(a);
	}
}

void
account_page(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	char skey[65];
	json_t *sess, *user = NULL, *st;
	const char *uid, *uname, *dn, *state;
	struct acct *a;

	if (t == NULL) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	sess = session_find(r, t, skey);
	uid = json_string_value(json_object_get(sess, "user"));
	if (sess == NULL || uid == NULL || user_by_id(t, uid, &user) != STORE_OK ||
	    user_is_disabled(user)) {
		json_decref(sess);
		json_decref(user);
		store_read_end(t);
		login_start(r, "/account", AAL1);
		return;
	}
	uname = json_string_value(json_object_get(user, "username"));
	dn = json_string_value(json_object_get(user, "display_name"));
	if ((a = calloc(1, sizeof(*a))) == NULL || uname == NULL || strlen(uid) != USER_ID_LEN ||
	    strlen(uname) > USERNAME_MAX || (dn != NULL && (a->display_name = strdup(dn)) == NULL)) {
		if (a != NULL)
			acct_free(a);
		json_decref(sess);
		json_decref(user);
		store_read_end(t);
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	a->r = r;
	memcpy(a->uid, uid, USER_ID_LEN + 1);
	snprintf(a->username, sizeof(a->username), "%s", uname);
	session_csrf(r, skey, "account", a->csrf);
	session_of(sess, &a->ps);
	a->level = session_level(sess);
	st = totp_status(t, uid);
	state = json_string_value(json_object_get(st, "totp"));
	a->totp_state = state == NULL ? 0 : strcmp(state, "active") == 0 ? 2 :
	    strcmp(state, "pending") == 0 ? 1 : 0;
	a->recovery_left = (int)json_integer_value(json_object_get(st, "recovery_codes_left"));
	json_decref(st);
	json_decref(user);

	if (r->method == HTTP_POST) {
		post(a, t, sess, skey);
		json_decref(sess);
		return;
	}
	json_decref(sess);
	store_read_end(t);
	send_home(a, 200);
	acct_free(a);
}

/* modules/x509_ui.c — the citizen certificate's pages: its section of the
 * account page (bound cards, "link my citizen certificate", unlink), the
 * account route POST /account/x509 (bind_begin, bind, unbind, step_up). The
 * page script that talks to the HiPKI Local Sign Server is share/static/x509.js;
 * the section is share/templates/account-x509.html (x509_account_view gives
 * its data).
 *
 * A bind nonce lives in the session record ("x509_bind": {nonce, exp}) and is
 * consumed by the write that binds, so it works once and only for the session
 * that asked for it. Linking and unlinking a card pass the account gate first
 * (account_change_allowed: the session holds, now, the highest level the
 * account can reach), so a stolen password cannot add a card that then signs
 * in at AAL2, nor take away the card that protects the account. */
#include "x509.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../authd/account.h"
#include "../authd/audit.h"
#include "../authd/authd.h"
#include "../authd/config.h"
#include "../authd/http.h"
#include "../authd/oidc/oidc.h"
#include "../authd/policy.h"
#include "../authd/ui.h"
#include "../authd/users.h"
#include "../lib/b64.h"
#include "../lib/util.h"
#include "method.h"

/* The data of the account page's section (share/templates/account-x509.html):
 * the linked cards. Whether linking needs a step-up first is the page's own
 * step_up. */
int
x509_account_view(struct store_txn *t, const char *user_id, json_t *out)
{
	json_t *list = x509_list(t, user_id), *cards = json_array(), *v;
	size_t i;

	if (cards == NULL) {
		json_decref(list);
		return -1;
	}
	json_array_foreach(list, i, v) {
		time_t na = (time_t)json_integer_value(json_object_get(v, "not_after"));
		const char *l4 = json_string_value(json_object_get(v, "last4"));
		char day[16] = "";
		struct tm tm;

		if (gmtime_r(&na, &tm) != NULL)
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		if (json_array_append_new(cards, json_pack("{s:s?, s:s?, s:s, s:s?}",
		    "cn", json_string_value(json_object_get(v, "cn")),
		    "last4", l4 != NULL && l4[0] != '\0' ? l4 : NULL, "day", day,
		    "id", json_string_value(json_object_get(v, "id")))) != 0) {
			json_decref(list);
			json_decref(cards);
			return -1;
		}
	}
	json_decref(list);
	json_object_set_new(out, "has_cards", json_boolean(json_array_size(cards) > 0));
	return json_object_set_new(out, "cards", cards) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- POST /account/x509 */

#define X509_CN_LABEL 256

struct job {
	struct http_req *r;
	char uid[USER_ID_LEN + 1];
	char skey[65];
	char nonce[64];
	char *pkcs7;
	char *certb64; /* the signer's certificate beside it (HiCOS "certb64"), or NULL */
	char cred[X509_CRED_ID_MAX + 1];
	struct x509_ident id;
	enum x509_err err;
	int rev_unknown;
	json_t *unknown;       /* x509.revocation_unknown fields, when it was */
	int exists;
	int level;                 /* the level the session held */
	char username[USERNAME_MAX + 1];
	char label[X509_CN_LABEL];  /* the card holder's name, for the person's notice */
};

static void
job_free(struct job *j)
{
	free(j->pkcs7);
	free(j->certb64);
	json_decref(j->unknown);
	wipe(j, sizeof(*j));
	free(j);
}

static void
fail_page(struct http_req *r, int status, const char *msg_key)
{
	ui_error(r, status, "err.title", msg_key, NULL);
}

static void
err_page(struct http_req *r, enum x509_err e)
{
	switch (e) {
	case X509E_REVOKED:
		fail_page(r, 400, TXT("x509.bind.revoked"));
		break;
	case X509E_EXPIRED:
		fail_page(r, 400, TXT("x509.bind.expired"));
		break;
	case X509E_REV_UNKNOWN:
		fail_page(r, 503, TXT("x509.bind.unknown"));
		break;
	case X509E_MALFORMED:
		fail_page(r, 400, TXT("x509.bind.malformed"));
		break;
	case X509E_SIGNATURE:
		fail_page(r, 400, TXT("x509.bind.signature"));
		break;
	default:
		fail_page(r, 400, TXT("x509.bind.untrusted"));
		break;
	}
}

/* A change to the person's cards: its audit record and their security event. */
static int
record(struct store_txn *t, const struct job *j, const char *action, const char *card)
{
	struct account_change c = { .user = j->uid, .username = j->username, .ip = j->r->peer,
		                    .method = "x509",
		                    .action = action, .label = j->label, .cred = card,
		                    .level = j->level };

	return account_change_record(t, &c);
}

static int
w_nonce(struct store_txn *t, void *arg)
{
	struct job *j = arg;
	json_t *s = NULL;
	int rc;

	if ((rc = store_gets(t, T_SESSIONS, j->skey, &s)) != STORE_OK)
		return STORE_CONFLICT;
	json_object_set_new(s, "x509_bind", json_pack("{s:s s:I}", "nonce", j->nonce,
	    "exp", (json_int_t)(now_s() + X509_NONCE_TTL)));
	rc = store_puts(t, T_SESSIONS, j->skey, s, 0);
	json_decref(s);
	return rc;
}

static void
nonce_done(int rc, void *arg)
{
	struct job *j = arg;

	if (rc != STORE_OK)
		http_reply_json(j->r, 500, json_pack("{s:s}", "error", "server_error"));
	else
		http_reply_json(j->r, 200, json_pack("{s:s s:s s:s s:s s:s}", "nonce", j->nonce,
		    "mode", "sign", "origin", j->r->authd->conf->x509_local_sign_origin,
		    "hashAlgorithm", "SHA256", "signatureType", "PKCS7"));
	job_free(j);
}

/* Worker: the signature over the session's nonce, then the certificate. */
static void
bind_work(void *arg)
{
	struct job *j = arg;
	X509 *cert = NULL;

	char why[512];

	j->err = x509_verify_signature_cert(j->pkcs7, j->certb64, j->nonce, &cert);
	if (j->err == X509E_OK)
		j->err = x509_validate_why(cert, 1, &j->rev_unknown, why, sizeof(why));
	if (j->rev_unknown)
		j->unknown = x509_rev_unknown_fields(NULL, cert, why, j->err == X509E_OK);
	if (j->err == X509E_OK && x509_ident_of(cert, &j->id) != 0)
		j->err = X509E_MALFORMED;
	X509_free(cert);
}

/* x509.revocation_unknown for the card this account tried to link (the
 * account is the session's, bound or not). */
static int
w_unknown(struct store_txn *t, void *arg)
{
	struct job *j = arg;

	if (j->unknown == NULL)
		return STORE_OK;
	if (json_object_set_new(j->unknown, "user", json_string(j->uid)) != 0 ||
	    json_object_set_new(j->unknown, "ip", json_string(j->r->peer)) != 0 ||
	    json_object_set_new(j->unknown, "by", json_string("self")) != 0)
		return STORE_IO;
	return audit_append(t, "x509.revocation_unknown", j->unknown);
}

static void
unknown_done(int rc, void *arg)
{
	struct job *j = arg;

	(void)rc;	/* the card is refused whether or not the record was written */
	err_page(j->r, j->err);
	job_free(j);
}

static int
w_bind(struct store_txn *t, void *arg)
{
	struct job *j = arg;
	json_t *s = NULL;
	const char *n;
	int rc;

	/* The nonce is consumed here: it must still be the one we verified. */
	if (store_gets(t, T_SESSIONS, j->skey, &s) != STORE_OK)
		return STORE_CONFLICT;
	n = json_string_value(json_object_get(json_object_get(s, "x509_bind"), "nonce"));
	if (n == NULL || strlen(n) != strlen(j->nonce) || !ct_equal(n, j->nonce, strlen(n))) {
		json_decref(s);
		return STORE_CONFLICT;
	}
	json_object_del(s, "x509_bind");
	rc = store_puts(t, T_SESSIONS, j->skey, s, 0);
	json_decref(s);
	if (rc != STORE_OK)
		return rc;
	if ((rc = x509_bind(t, j->uid, &j->id)) == STORE_EXISTS) {
		j->exists = 1;
		return STORE_CONFLICT;
	}
	if (rc != STORE_OK)
		return rc;
	snprintf(j->label, sizeof(j->label), "%s", j->id.cn);
	rc = record(t, j, "add", j->id.cred_id);
	return rc == STORE_OK ? w_unknown(t, j) : rc;
}

static void
bind_done(int rc, void *arg)
{
	struct job *j = arg;

	if (rc == STORE_OK)
		http_redirect(j->r, "/account");
	else if (j->exists)
		fail_page(j->r, 409, TXT("x509.bind.taken"));
	else if (rc == STORE_CONFLICT)
		err_page(j->r, X509E_SIGNATURE);
	else
		ui_error(j->r, 500, "err.title", "err.server", NULL);
	job_free(j);
}

static void
bind_checked(void *arg)
{
	struct job *j = arg;

	if (j->err != X509E_OK && j->unknown != NULL &&
	    http_store_write(j->r, w_unknown, unknown_done, j) == STORE_OK)
		return;
	if (j->err != X509E_OK) {
		err_page(j->r, j->err);
		job_free(j);
		return;
	}
	if (http_store_write(j->r, w_bind, bind_done, j) != STORE_OK) {
		ui_error(j->r, 503, "err.title", "err.server", NULL);
		job_free(j);
	}
}

static int
w_unbind(struct store_txn *t, void *arg)
{
	struct job *j = arg;
	json_t *l, *v;
	size_t i;
	int rc;

	/* The holder's name, as the card list shows it, for the notice. */
	l = x509_list(t, j->uid);
	json_array_foreach(l, i, v)
		if (strcmp(str_or(json_string_value(json_object_get(v, "id")), ""), j->cred) == 0)
			snprintf(j->label, sizeof(j->label), "%s",
			    str_or(json_string_value(json_object_get(v, "cn")), ""));
	json_decref(l);
	if ((rc = x509_unbind(t, j->uid, j->cred)) != STORE_OK)
		return rc;
	return record(t, j, "remove", j->cred);
}

static void
unbind_done(int rc, void *arg)
{
	struct job *j = arg;

	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		http_redirect(j->r, "/account");
	else if (rc == STORE_INVALID)
		ui_error(j->r, 400, "err.title", "err.bad_request", NULL);	/* not a card id */
	else
		ui_error(j->r, 500, "err.title", "err.server", NULL);
	job_free(j);
}

void
x509_account_post(struct http_req *r)
{
	struct store_txn *t = store_read_begin(r->authd->store);
	const char *action = http_param(r, "action"), *uid;
	json_t *sess = NULL, *st;
	struct job *j = NULL;
	char skey[65];
	int json_reply = action != NULL && strcmp(action, "bind_begin") == 0;

	if (t == NULL) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	sess = session_find(r, t, skey);
	uid = json_string_value(json_object_get(sess, "user"));
	if (sess == NULL || uid == NULL || strlen(uid) != USER_ID_LEN) {
		store_read_end(t);
		json_decref(sess);
		if (json_reply)
			http_reply_json(r, 401, json_pack("{s:s}", "error", "login_required"));
		else
			login_start(r, "/account", AAL1);
		return;
	}
	if (!session_csrf_ok(r, skey, "account", http_param(r, "csrf")) || !x509_enabled() ||
	    action == NULL || (j = calloc(1, sizeof(*j))) == NULL) {
		store_read_end(t);
		json_decref(sess);
		if (json_reply)
			http_reply_json(r, 403, json_pack("{s:s}", "error", "access_denied"));
		else
			ui_error(r, 403, "err.title", "err.csrf", NULL);
		return;
	}
	j->r = r;
	memcpy(j->uid, uid, USER_ID_LEN + 1);
	memcpy(j->skey, skey, sizeof(j->skey));
	j->level = session_level(sess);
	{
		json_t *u = NULL;

		if (user_by_id(t, j->uid, &u) == STORE_OK)
			snprintf(j->username, sizeof(j->username), "%s",
			    str_or(json_string_value(json_object_get(u, "username")), ""));
		json_decref(u);
	}
	if (strcmp(action, "step_up") == 0) {
		int need = account_change_level(r, t, sess, j->uid);

		store_read_end(t);
		json_decref(sess);
		job_free(j);
		if (need != AAL_NONE)
			login_start(r, "/account", need);
		else
			http_redirect(r, "/account");	/* already at the level */
		return;
	}
	if (strcmp(action, "unbind") != 0 && strcmp(action, "bind_begin") != 0 &&
	    strcmp(action, "bind") != 0) {
		store_read_end(t);
		json_decref(sess);
		job_free(j);
		ui_error(r, 400, "err.title", "err.bad_request", NULL);
		return;
	}
	/* Every change to the cards: the gate first, before any input is read. */
	if (!account_change_allowed(r, t, sess, j->uid, strcmp(action, "unbind") == 0 ?
	    "x509.remove" : "x509.add", "/account", json_reply)) {
		store_read_end(t);
		json_decref(sess);
		job_free(j);
		return;
	}
	if (strcmp(action, "unbind") == 0) {
		const char *cred = http_param(r, "cred");

		store_read_end(t);
		json_decref(sess);
		if (cred == NULL || strlen(cred) > X509_CRED_ID_MAX) {
			job_free(j);
			ui_error(r, 400, "err.title", "err.bad_request", NULL);
			return;
		}
		snprintf(j->cred, sizeof(j->cred), "%s", cred);
		if (http_store_write(r, w_unbind, unbind_done, j) != STORE_OK) {
			job_free(j);
			ui_error(r, 503, "err.title", "err.server", NULL);
		}
		return;
	}
	if (json_reply) {
		uint8_t raw[X509_NONCE_BYTES];

		store_read_end(t);
		json_decref(sess);
		if (rand_bytes(raw, sizeof(raw)) != 0) {
			job_free(j);
			http_reply_json(r, 500, json_pack("{s:s}", "error", "server_error"));
			return;
		}
		b64std_encode(j->nonce, raw, sizeof(raw));
		if (http_store_write(r, w_nonce, nonce_done, j) != STORE_OK) {
			job_free(j);
			http_reply_json(r, 503, json_pack("{s:s}", "error", "temporarily_unavailable"));
		}
		return;
	}
	/* action=bind: the session's nonce, if still fresh. */
	st = json_object_get(sess, "x509_bind");
	if (json_string_value(json_object_get(st, "nonce")) == NULL ||
	    strlen(json_string_value(json_object_get(st, "nonce"))) >= sizeof(j->nonce) ||
	    json_integer_value(json_object_get(st, "exp")) < now_s() ||
	    http_param(r, "pkcs7") == NULL ||
	    (j->pkcs7 = strndup(http_param(r, "pkcs7"), X509_PKCS7_MAX + 1)) == NULL) {
		store_read_end(t);
		json_decref(sess);
		job_free(j);
		err_page(r, X509E_SIGNATURE);
		return;
	}
	snprintf(j->nonce, sizeof(j->nonce), "%s", json_string_value(json_object_get(st, "nonce")));
	if (http_param(r, "certb64") != NULL && http_param(r, "certb64")[0] != '\0' &&
	    (j->certb64 = strndup(http_param(r, "certb64"), X509_PKCS7_MAX + 1)) == NULL) {
		store_read_end(t);
		json_decref(sess);
		job_free(j);
		ui_error(r, 503, "err.title", "err.server", NULL);
		return;
	}
	store_read_end(t);
	json_decref(sess);
	if (http_work(r, bind_work, bind_checked, j) != 0) {
		job_free(j);
		ui_error(r, 503, "err.title", "err.server", NULL);
	}
}

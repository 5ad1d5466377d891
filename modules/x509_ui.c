/* modules/x509_ui.c — the citizen certificate's pages: its section of the
 * account page (bound cards, "link my citizen certificate", unlink), the
 * account route POST /account/x509 (bind_begin, bind, unbind, step_up), and the
 * page script /static/x509.js that talks to the HiPKI Local Sign Server.
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
#include "../lib/buf.h"
#include "../lib/util.h"
#include "method.h"

static const char *
tr(const char *lang, const char *zh, const char *en)
{
	return lang != NULL && strcmp(lang, "en") == 0 ? en : zh;
}

void x509_account_section(struct buf *b, struct http_req *r, struct store_txn *t,
                          const char *user_id, const char *csrf);

void
x509_account_section(struct buf *b, struct http_req *r, struct store_txn *t,
                     const char *user_id, const char *csrf)
{
	const char *lang = r->lang;
	json_t *list, *v, *sess;
	char skey[65];
	size_t i;
	int step;

	if (!x509_enabled())
		return;
	buf_adds(b, "<h3>");
	buf_add_html(b, tr(lang, "自然人憑證", "Citizen certificate"));
	buf_adds(b, "</h3>\n");
	list = x509_list(t, user_id);
	if (list == NULL || json_array_size(list) == 0) {
		buf_adds(b, "<p class=\"status\">");
		buf_add_html(b, tr(lang, "尚未連結自然人憑證。", "No citizen certificate is linked."));
		buf_adds(b, "</p>\n");
	} else {
		buf_adds(b, "<ul class=\"cards\">\n");
		json_array_foreach(list, i, v) {
			time_t na = (time_t)json_integer_value(json_object_get(v, "not_after"));
			const char *l4 = json_string_value(json_object_get(v, "last4"));
			char day[16] = "";
			struct tm tm;

			if (gmtime_r(&na, &tm) != NULL)
				strftime(day, sizeof(day), "%Y-%m-%d", &tm);
			buf_adds(b, "<li>");
			buf_add_html(b, json_string_value(json_object_get(v, "cn")));
			if (l4 != NULL && l4[0] != '\0') {
				buf_adds(b, " (");
				buf_add_html(b, tr(lang, "身分證末四碼 ", "ID ending "));
				buf_add_html(b, l4);
				buf_adds(b, ")");
			}
			buf_adds(b, " — ");
			buf_add_html(b, tr(lang, "有效至 ", "valid until "));
			buf_add_html(b, day);
			buf_adds(b, "\n<form method=\"post\" action=\"/account/x509\">"
			    "<input type=\"hidden\" name=\"csrf\" value=\"");
			buf_add_html(b, csrf);
			buf_adds(b, "\"><input type=\"hidden\" name=\"action\" value=\"unbind\">"
			    "<input type=\"hidden\" name=\"cred\" value=\"");
			buf_add_html(b, json_string_value(json_object_get(v, "id")));
			buf_adds(b, "\"><button type=\"submit\" class=\"alt\">");
			buf_add_html(b, tr(lang, "取消連結", "Unlink"));
			buf_adds(b, "</button></form></li>\n");
		}
		buf_adds(b, "</ul>\n");
	}
	json_decref(list);
	sess = session_find(r, t, skey);
	step = sess != NULL && account_change_level(r, t, sess, user_id) != AAL_NONE;
	json_decref(sess);
	buf_adds(b, "<form method=\"post\" action=\"/account/x509\" id=\"x509-form\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_add_html(b, csrf);
	if (step) {
		/* Below the account's level (account.h): step up first, then back here. */
		buf_adds(b, "\"><input type=\"hidden\" name=\"action\" value=\"step_up\">"
		    "<button type=\"submit\">");
		buf_add_html(b, tr(lang, "先再驗證一次身分，再連結自然人憑證",
		    "Confirm it is you to link a citizen certificate"));
		buf_adds(b, "</button></form>\n");
		return;
	}
	buf_adds(b, "\"></form>\n<p><button type=\"button\" class=\"alt\" id=\"method-x509\" "
	    "data-mode=\"bind\">");
	buf_add_html(b, tr(lang, "連結我的自然人憑證", "Link my citizen certificate"));
	buf_adds(b, "</button></p>\n<p role=\"status\" id=\"x509-status\" class=\"error\"></p>\n"
	    "<script src=\"/static/x509.js\" defer></script>\n");
}

/* ---------------------------------------------------------------- POST /account/x509 */

#define X509_CN_LABEL 256

struct job {
	struct http_req *r;
	char uid[USER_ID_LEN + 1];
	char skey[65];
	char nonce[64];
	char *pkcs7;
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
	json_decref(j->unknown);
	wipe(j, sizeof(*j));
	free(j);
}

static void
fail_page(struct http_req *r, int status, const char *zh, const char *en)
{
	/* ui_t passes unknown keys through: our text is shown as given. */
	ui_error(r, status, "err.title", tr(r->lang, zh, en), NULL);
}

static void
err_page(struct http_req *r, enum x509_err e)
{
	switch (e) {
	case X509E_REVOKED:
		fail_page(r, 400, "這張憑證已被廢止，無法連結。", "This certificate is revoked and cannot be linked.");
		break;
	case X509E_EXPIRED:
		fail_page(r, 400, "這張憑證已過期或尚未生效。", "This certificate has expired or is not yet valid.");
		break;
	case X509E_REV_UNKNOWN:
		fail_page(r, 503, "目前無法確認憑證是否已被廢止，請稍後再試。",
		    "The certificate's revocation status cannot be checked now. Try again later.");
		break;
	case X509E_MALFORMED:
		fail_page(r, 400, "收到的簽章資料格式錯誤，請重新插卡再試一次。",
		    "The signature received is malformed. Re-insert the card and try again.");
		break;
	case X509E_SIGNATURE:
		fail_page(r, 400, "簽章與這次的挑戰值不符或已逾時，請回到帳號頁面重試。",
		    "The signature does not match the challenge, or it timed out. Try again from the account page.");
		break;
	default:
		fail_page(r, 400, "這張憑證不是由受信任的內政部憑證管理中心簽發，無法連結。",
		    "This certificate was not issued by a trusted MOICA CA and cannot be linked.");
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

	j->err = x509_verify_signature(j->pkcs7, j->nonce, &cert);
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
		fail_page(j->r, 409, "這張自然人憑證已連結到另一個帳號。請先從該帳號取消連結，或洽服務台。",
		    "This citizen certificate is linked to another account. Unlink it there first, or ask the help desk.");
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
	store_read_end(t);
	json_decref(sess);
	if (http_work(r, bind_work, bind_checked, j) != 0) {
		job_free(j);
		ui_error(r, 503, "err.title", "err.server", NULL);
	}
}

/* ---------------------------------------------------------------- /static/x509.js */

/* The HiPKI Local Sign Server (HiCOS client) listens on 127.0.0.1:61161:
 * GET /pkcs11info?withcert=true lists readers/cards; POST /sign with the form
 * field tbsPackage = JSON {tbs, tbsEncoding, hashAlgorithm, withCardSN, pin,
 * nonce, func: "MakeSignature", signatureType: "PKCS7"} answers JSON
 * {ret_code (0 = ok), last_error, signature (base64 PKCS#7), certb64}.
 * docs/citizen-certificate.md says where this shape comes from and what is
 * uncertain. The PIN goes from this page to the local server only. */
static const char x509_js[] =
"/* x509.js: citizen certificate sign-in and card linking (authd). */\n"
"(function () {\n"
"  'use strict';\n"
"  var btn = document.getElementById('method-x509');\n"
"  if (!btn) { return; }\n"
"  var en = (document.documentElement.lang || '').indexOf('en') === 0;\n"
"  var out = document.getElementById('x509-status') || document.getElementById('method-status');\n"
"  var bind = btn.getAttribute('data-mode') === 'bind';\n"
"  var pinBox = null;\n"
"  function say(zh, e) { if (out) { out.textContent = en ? e : zh; } }\n"
"  function val(n) { var i = document.querySelector('input[name=\"' + n + '\"]'); return i ? i.value : ''; }\n"
"  function enc(o) { return Object.keys(o).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(o[k]); }).join('&'); }\n"
"  function submit(action, fields) {\n"
"    var f = document.createElement('form');\n"
"    f.method = 'post'; f.action = action;\n"
"    Object.keys(fields).forEach(function (k) {\n"
"      var i = document.createElement('input');\n"
"      i.type = 'hidden'; i.name = k; i.value = fields[k]; f.appendChild(i);\n"
"    });\n"
"    document.body.appendChild(f); f.submit();\n"
"  }\n"
"  function postForm(url, fields, cors) {\n"
"    return fetch(url, { method: 'POST', credentials: cors ? 'omit' : 'same-origin',\n"
"      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: enc(fields) });\n"
"  }\n"
"  function askPin() {\n"
"    var p = document.createElement('p');\n"
"    var l = document.createElement('label');\n"
"    l.setAttribute('for', 'x509-pin');\n"
"    l.textContent = en ? 'Card PIN' : '\\u6191\\u8b49\\u5361 PIN \\u78bc';\n"
"    pinBox = document.createElement('input');\n"
"    pinBox.type = 'password'; pinBox.id = 'x509-pin'; pinBox.autocomplete = 'off';\n"
"    pinBox.inputMode = 'numeric'; pinBox.maxLength = 16;\n"
"    p.appendChild(l); p.appendChild(pinBox);\n"
"    btn.parentNode.insertBefore(p, btn);\n"
"    pinBox.focus();\n"
"    say('\\u8acb\\u63d2\\u5165\\u81ea\\u7136\\u4eba\\u6191\\u8b49\\u3001\\u8f38\\u5165 PIN \\u78bc\\u5f8c\\u518d\\u6309\\u4e00\\u6b21\\u6309\\u9215\\u3002',\n"
"        'Insert your citizen certificate card, type its PIN, then press the button again.');\n"
"  }\n"
"  function fail(zh, e) { btn.disabled = false; if (pinBox) { pinBox.value = ''; } say(zh, e); }\n"
"  function run(ch) {\n"
"    if (ch.mode === 'tls') {\n"
"      submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'tls' });\n"
"      return;\n"
"    }\n"
"    var origin = ch.origin;\n"
"    return fetch(origin + '/pkcs11info?withcert=true', { credentials: 'omit' })\n"
"      .then(function (r) { return r.json(); }, function () { throw { local: true }; })\n"
"      .then(function (info) {\n"
"        if (!info || info.ret_code !== 0) { throw { card: info ? info.last_error : '' }; }\n"
"        var pkg = JSON.stringify({ tbs: ch.nonce, tbsEncoding: 'NONE', hashAlgorithm: ch.hashAlgorithm,\n"
"          withCardSN: 'false', pin: pinBox.value, nonce: '', func: 'MakeSignature', signatureType: ch.signatureType });\n"
"        pinBox.value = '';\n"
"        return postForm(origin + '/sign', { tbsPackage: pkg }, true);\n"
"      })\n"
"      .then(function (r) { return r.json(); })\n"
"      .then(function (res) {\n"
"        if (!res || res.ret_code !== 0 || !res.signature) { throw { card: res ? res.last_error : '' }; }\n"
"        say('\\u9a57\\u8b49\\u4e2d\\u2026', 'Checking\\u2026');\n"
"        if (bind) { submit('/account/x509', { csrf: val('csrf'), action: 'bind', pkcs7: res.signature }); }\n"
"        else { submit('/login', { tx: val('tx'), csrf: val('csrf'), method: 'x509', mode: 'sign', pkcs7: res.signature }); }\n"
"      });\n"
"  }\n"
"  btn.addEventListener('click', function () {\n"
"    if (!pinBox) { askPin(); return; }\n"
"    if (!/^[0-9]{6,12}$/.test(pinBox.value)) {\n"
"      say('PIN \\u78bc\\u61c9\\u70ba 6 \\u5230 12 \\u4f4d\\u6578\\u5b57\\u3002', 'The PIN is 6 to 12 digits.');\n"
"      return;\n"
"    }\n"
"    btn.disabled = true;\n"
"    say('\\u8acb\\u7a0d\\u5019\\uff0c\\u6b63\\u5728\\u4ee5\\u6191\\u8b49\\u5361\\u7c3d\\u7ae0\\u2026', 'Signing with your card\\u2026');\n"
"    var begin = bind ? postForm('/account/x509', { csrf: val('csrf'), action: 'bind_begin' })\n"
"                     : postForm('/login/begin', { tx: val('tx'), csrf: val('csrf'), method: 'x509' });\n"
"    begin.then(function (r) { if (!r.ok) { throw { server: r.status }; } return r.json(); })\n"
"      .then(function (ch) {\n"
"        if (ch && ch.step_up) {\n"
"          say('\\u8acb\\u5148\\u518d\\u9a57\\u8b49\\u4e00\\u6b21\\u8eab\\u5206\\u2026', 'Confirm it is you first\\u2026');\n"
"          submit('/account/x509', { csrf: val('csrf'), action: 'step_up' });\n"
"          return;\n"
"        }\n"
"        return run(ch);\n"
"      })\n"
"      .catch(function (e) {\n"
"        if (e && e.local) {\n"
"          fail('\\u627e\\u4e0d\\u5230 HiPKI \\u672c\\u6a5f\\u7c3d\\u7ae0\\u5143\\u4ef6\\uff08HiCOS\\uff09\\u3002\\u8acb\\u5b89\\u88dd\\u4e26\\u555f\\u52d5\\u5f8c\\u518d\\u8a66\\u3002',\n"
"               'The HiPKI Local Sign Server (HiCOS client) is not reachable. Install and start it, then try again.');\n"
"        } else if (e && e.card !== undefined) {\n"
"          fail('\\u8b80\\u5361\\u6216\\u7c3d\\u7ae0\\u5931\\u6557\\uff08PIN \\u78bc\\u932f\\u8aa4\\u6216\\u672a\\u63d2\\u5361\\uff09\\u3002' + (e.card || ''),\n"
"               'The card could not sign (wrong PIN, or no card in the reader). ' + (e.card || ''));\n"
"        } else {\n"
"          fail('\\u767b\\u5165\\u9801\\u9762\\u5df2\\u903e\\u6642\\uff0c\\u8acb\\u91cd\\u65b0\\u6574\\u7406\\u5f8c\\u518d\\u8a66\\u3002',\n"
"               'This page has expired. Reload it and try again.');\n"
"        }\n"
"      });\n"
"  });\n"
"}());\n";

void
x509_static_js(struct http_req *r)
{
	http_add_header(r, "Cache-Control", "public, max-age=3600");
	http_reply(r, 200, "text/javascript; charset=utf-8", x509_js, sizeof(x509_js) - 1);
}

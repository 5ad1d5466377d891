/* authd/account.c — the self-service account page (GET/POST /account): the
 * signed-in person, their sign-in methods, and TOTP set-up (QR code, manual
 * key, confirmation by one code, recovery codes shown once) and removal. Owns
 * its wording in zh-TW and English.
 *
 * Every POST carries a CSRF token bound to the session. Each change is one
 * durable write together with its audit record; the page is answered only
 * after that write. A secret is shown while an enrolment is pending and never
 * again once it is active. Removing an active TOTP needs an AAL2 session, so a
 * stolen password alone cannot take the second factor away. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../modules/method.h"
#include "../modules/totp.h"
#include "audit.h"
#include "authd.h"
#include "oidc/oidc.h"
#include "policy.h"
#include "ui.h"
#include "users.h"

static const struct ui_text texts[] = {
	{ "title", "我的帳號", "My account" },
	{ "username", "帳號", "Username" },
	{ "display_name", "姓名", "Name" },
	{ "methods", "登入方式", "Sign-in methods" },
	{ "password", "密碼", "Password" },
	{ "password.set", "已設定", "Set" },
	{ "totp", "兩步驟驗證（驗證器 App 動態密碼）", "Two-step verification (authenticator app codes)" },
	{ "totp.active", "已啟用", "On" },
	{ "totp.none", "尚未設定", "Not set up" },
	{ "totp.pending", "設定尚未完成", "Set-up not finished" },
	{ "totp.why", "啟用後，登入時除了密碼還需要手機上驗證器 App 顯示的 6 位數字，即使密碼外洩，他人也無法登入。部分系統（如稅務、社福）要求使用。",
	  "With it on, signing in asks for the 6-digit code from the authenticator app on your phone as well as your password, so a leaked password alone is not enough. Some services (such as tax and social welfare) require it." },
	{ "totp.setup", "設定兩步驟驗證", "Set up two-step verification" },
	{ "totp.continue", "繼續設定", "Continue set-up" },
	{ "totp.remove", "移除兩步驟驗證", "Remove two-step verification" },
	{ "notice.reset", "服務台已重設您的兩步驟驗證。如果這不是您提出的要求，請立即撥 1999 或洽資訊窗口。您可以在下方重新設定。",
	  "The help desk reset your two-step verification. If you did not ask for this, call 1999 or your IT desk now. You can set it up again below." },
	{ "enrol.title", "設定兩步驟驗證", "Set up two-step verification" },
	{ "enrol.step1", "在手機安裝驗證器 App（例如 Google Authenticator、Microsoft Authenticator 或 FreeOTP）。",
	  "Install an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or FreeOTP)." },
	{ "enrol.step2", "在 App 中新增帳號，掃描下方的 QR Code。", "In the app, add an account and scan this QR code." },
	{ "enrol.manual", "無法掃描時，請在 App 中手動輸入這組金鑰（以時間為準，30 秒）：",
	  "If you cannot scan it, type this key into the app instead (time-based, 30 seconds):" },
	{ "enrol.qr_label", "兩步驟驗證設定用 QR Code", "QR code for setting up two-step verification" },
	{ "enrol.step3", "輸入 App 顯示的 6 位數字以完成設定。", "Enter the 6-digit code the app shows to finish." },
	{ "enrol.code", "驗證碼（6 位數字）", "Code (6 digits)" },
	{ "enrol.confirm", "完成設定", "Finish set-up" },
	{ "enrol.wrong", "驗證碼不正確。請確認手機時間正確，並輸入 App 上最新的 6 位數字。",
	  "That code is not correct. Check that your phone's clock is right and type the newest 6-digit code from the app." },
	{ "enrol.gone", "這次設定已失效或已完成，請重新開始。", "This set-up has expired or is already finished. Start again." },
	{ "enrol.spent", "驗證碼錯誤太多次，這次設定已取消。請重新開始設定，並掃描新的 QR Code。",
	  "Too many wrong codes, so this set-up was cancelled. Start again and scan the new QR code." },
	{ "enrol.exists", "兩步驟驗證已經啟用。若要更換手機，請先移除再重新設定。",
	  "Two-step verification is already on. To move to a new phone, remove it first and set it up again." },
	{ "cancel", "取消，回到我的帳號", "Cancel and go back to my account" },
	{ "back", "回到我的帳號", "Back to my account" },
	{ "codes.title", "兩步驟驗證已啟用", "Two-step verification is on" },
	{ "codes.intro", "以下是 10 組備用碼，每組只能使用一次。手機遺失或無法使用 App 時，可以用備用碼登入。這些備用碼只會顯示這一次：請列印或抄寫後存放在安全的地方，不要存在手機裡。",
	  "These are 10 backup codes; each works once. Use one to sign in if you lose your phone or cannot use the app. They are shown only this once: print or write them down and keep them somewhere safe, not on your phone." },
	{ "codes.done", "我已保存備用碼", "I have saved the codes" },
	{ "remove.title", "移除兩步驟驗證", "Remove two-step verification" },
	{ "remove.confirm", "確定要移除嗎？移除後登入只需要密碼，需要兩步驟驗證的系統將無法使用，直到您重新設定。",
	  "Remove it? Signing in will then need only your password, and services that require two-step verification will be unavailable until you set it up again." },
	{ "remove.button", "移除", "Remove" },
	{ "remove.done", "已移除兩步驟驗證。", "Two-step verification was removed." },
	{ "signout", "登出", "Sign out" },
	{ "bad_request", "這個表單無效，請回到我的帳號重新操作。", "This form was not valid. Go back to your account and try again." },
	{ NULL, NULL, NULL }
};

const char *
account_t(const char *lang, const char *key)
{
	return ui_text_in(texts, lang, key);
}

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
	int result;                /* totp_enrol_finish: -1 wrong code */
	const char *notice_key;    /* account_t key shown on the home view */
	const char *error_key;
	char uri[TOTP_URI_MAX];
	char recovery[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
};

static void
acct_free(struct acct *a)
{
	free(a->display_name);
	wipe(a, sizeof(*a));	/* uri and recovery codes are secrets */
	free(a);
}

/* ---------------------------------------------------------------- pages */

/* ui_t hands back a key it does not know unchanged, so our own translated
 * title goes through ui_page_begin as it is. */
static void
page_begin(struct buf *b, struct http_req *r, const char *key)
{
	ui_page_begin(b, r->lang, account_t(r->lang, key));
}

static void
text_p(struct buf *b, const char *lang, const char *key, const char *attrs)
{
	buf_printf(b, "<p%s>", attrs != NULL ? attrs : "");
	buf_add_html(b, account_t(lang, key));
	buf_adds(b, "</p>\n");
}

/* A one-button POST form back to /account. */
static void
action_form(struct buf *b, const struct acct *a, const char *action, int confirm,
            const char *button_key)
{
	buf_adds(b, "<form method=\"post\" action=\"/account\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_add_html(b, a->csrf);
	buf_printf(b, "\">\n<input type=\"hidden\" name=\"action\" value=\"%s\">\n", action);
	if (confirm)
		buf_adds(b, "<input type=\"hidden\" name=\"confirm\" value=\"1\">\n");
	buf_adds(b, "<button type=\"submit\">");
	buf_add_html(b, account_t(a->r->lang, button_key));
	buf_adds(b, "</button>\n</form>\n");
}

static void
back_link(struct buf *b, const char *lang, const char *key)
{
	buf_adds(b, "<p><a href=\"/account\">");
	buf_add_html(b, account_t(lang, key));
	buf_adds(b, "</a></p>\n");
}

static void
send_home(struct acct *a, int status)
{
	struct http_req *r = a->r;
	const char *lang = r->lang;
	struct buf b;

	buf_init(&b);
	page_begin(&b, r, "title");
	if (a->notice_key != NULL)
		text_p(&b, lang, a->notice_key, " role=\"status\" class=\"notice\"");
	if (a->error_key != NULL)
		text_p(&b, lang, a->error_key, " role=\"alert\" class=\"error\"");
	buf_adds(&b, "<dl>\n<dt>");
	buf_add_html(&b, account_t(lang, "username"));
	buf_adds(&b, "</dt><dd>");
	buf_add_html(&b, a->username);
	buf_adds(&b, "</dd>\n");
	if (a->display_name != NULL && a->display_name[0] != '\0') {
		buf_adds(&b, "<dt>");
		buf_add_html(&b, account_t(lang, "display_name"));
		buf_adds(&b, "</dt><dd>");
		buf_add_html(&b, a->display_name);
		buf_adds(&b, "</dd>\n");
	}
	buf_adds(&b, "</dl>\n<h2>");
	buf_add_html(&b, account_t(lang, "methods"));
	buf_adds(&b, "</h2>\n<h3>");
	buf_add_html(&b, account_t(lang, "password"));
	buf_adds(&b, "</h3>\n");
	text_p(&b, lang, "password.set", NULL);
	buf_adds(&b, "<h3>");
	buf_add_html(&b, account_t(lang, "totp"));
	buf_adds(&b, "</h3>\n");
	text_p(&b, lang, a->totp_state == 2 ? "totp.active" : a->totp_state == 1 ? "totp.pending" :
	    "totp.none", " class=\"status\"");
	if (a->totp_state == 2) {
		action_form(&b, a, "totp_remove", 0, "totp.remove");
	} else {
		text_p(&b, lang, "totp.why", " class=\"help\"");
		action_form(&b, a, "totp_begin", 0, a->totp_state == 1 ? "totp.continue" : "totp.setup");
	}
	/* Methods with their own account pages (security keys, the citizen card). */
	struct store_txn *t = store_read_begin(r->authd->store);
	for (const struct authd_method *const *mp = authd_methods; t && *mp; mp++)
		if ((*mp)->account_section)
			(*mp)->account_section(&b, r, t, a->uid, a->csrf);
	if (t)
		store_read_end(t);
	buf_adds(&b, "<p><a href=\"/logout\">");
	buf_add_html(&b, account_t(lang, "signout"));
	buf_adds(&b, "</a></p>\n");
	ui_page_end(&b, r);
	ui_page_send(r, status, &b);
	a->r = NULL;
}

/* The key of the URI in groups of four, for typing by hand. */
static void
add_secret_groups(struct buf *b, const char *uri)
{
	const char *p = strstr(uri, "?secret="), *e;
	size_t i;

	if (p == NULL)
		return;
	p += 8;
	e = strchr(p, '&');
	if (e == NULL)
		e = p + strlen(p);
	for (i = 0; p + i < e; i++) {
		if (i > 0 && i % 4 == 0)
			buf_adds(b, " ");
		buf_add(b, p + i, 1);
	}
}

/* Puts the translated label on the SVG's aria-label (ours is generic). */
static void
add_qr(struct buf *b, const char *lang, const char *uri)
{
	static const char generic[] = "aria-label=\"QR code\"";
	char *svg = totp_qr_svg(uri);
	const char *at;

	if (svg == NULL) {
		b->oom = 1;	/* cannot happen for our URIs; fail the page, not silently */
		return;
	}
	at = strstr(svg, generic);
	if (at != NULL) {
		buf_add(b, svg, (size_t)(at - svg));
		buf_adds(b, "aria-label=\"");
		buf_add_html(b, account_t(lang, "enrol.qr_label"));
		buf_adds(b, "\"");
		buf_adds(b, at + sizeof(generic) - 1);
	} else {
		buf_adds(b, svg);
	}
	wipe(svg, strlen(svg));	/* it encodes the secret */
	free(svg);
}

static void
send_enrol(struct acct *a, int status)
{
	struct http_req *r = a->r;
	const char *lang = r->lang;
	struct buf b;

	buf_init(&b);
	page_begin(&b, r, "enrol.title");
	if (a->error_key != NULL)
		text_p(&b, lang, a->error_key, " role=\"alert\" class=\"error\" id=\"otp-error\"");
	buf_adds(&b, "<ol>\n<li>");
	buf_add_html(&b, account_t(lang, "enrol.step1"));
	buf_adds(&b, "</li>\n<li>");
	buf_add_html(&b, account_t(lang, "enrol.step2"));
	buf_adds(&b, "<div class=\"qr\">");
	add_qr(&b, lang, a->uri);
	buf_adds(&b, "</div>\n<p>");
	buf_add_html(&b, account_t(lang, "enrol.manual"));
	buf_adds(&b, "</p>\n<p><code class=\"secret\">");
	add_secret_groups(&b, a->uri);
	buf_adds(&b, "</code></p></li>\n<li>");
	buf_add_html(&b, account_t(lang, "enrol.step3"));
	buf_adds(&b, "</li>\n</ol>\n<form method=\"post\" action=\"/account\">\n"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_add_html(&b, a->csrf);
	buf_adds(&b, "\">\n<input type=\"hidden\" name=\"action\" value=\"totp_confirm\">\n"
	    "<label for=\"otp\">");
	buf_add_html(&b, account_t(lang, "enrol.code"));
	buf_adds(&b, "</label>\n<input id=\"otp\" name=\"otp\" type=\"text\" autocomplete=\"one-time-code\" "
	    "inputmode=\"numeric\" pattern=\"[0-9]*\" minlength=\"6\" maxlength=\"6\" required autofocus");
	if (a->error_key != NULL)
		buf_adds(&b, " aria-invalid=\"true\" aria-describedby=\"otp-error\"");
	buf_adds(&b, ">\n<button type=\"submit\">");
	buf_add_html(&b, account_t(lang, "enrol.confirm"));
	buf_adds(&b, "</button>\n</form>\n");
	back_link(&b, lang, "cancel");
	ui_page_end(&b, r);
	ui_page_send(r, status, &b);	/* a failed QR made b.oom: a 500, not a page without it */
	a->r = NULL;
}

static void
send_codes(struct acct *a)
{
	struct http_req *r = a->r;
	const char *lang = r->lang;
	struct buf b;
	size_t i;

	buf_init(&b);
	page_begin(&b, r, "codes.title");
	text_p(&b, lang, "codes.intro", NULL);
	buf_adds(&b, "<ol class=\"codes\">\n");
	for (i = 0; i < TOTP_RECOVERY_CODES; i++) {
		buf_adds(&b, "<li><code>");
		buf_add_html(&b, a->recovery[i]);
		buf_adds(&b, "</code></li>\n");
	}
	buf_adds(&b, "</ol>\n");
	back_link(&b, lang, "codes.done");
	ui_page_end(&b, r);
	ui_page_send(r, 200, &b);
	a->r = NULL;
}

static void
send_remove_ask(struct acct *a)
{
	struct http_req *r = a->r;
	struct buf b;

	buf_init(&b);
	page_begin(&b, r, "remove.title");
	text_p(&b, r->lang, "remove.confirm", NULL);
	action_form(&b, a, "totp_remove", 1, "remove.button");
	back_link(&b, r->lang, "cancel");
	ui_page_end(&b, r);
	ui_page_send(r, 200, &b);
	a->r = NULL;
}

/* ---------------------------------------------------------------- writes */

static int
audit_account(struct store_txn *t, const struct acct *a, const char *event)
{
	json_t *f = json_pack("{s:s, s:s, s:s}", "user", a->uid, "username", a->username,
	    "ip", a->r->peer);
	int rc = f != NULL ? audit_append(t, event, f) : STORE_IO;

	json_decref(f);
	return rc;
}

static int
w_begin(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_enrol_begin(t, a->uid, a->username, a->uri, sizeof(a->uri));

	return rc == STORE_OK ? audit_account(t, a, "account.totp.enrol") : rc;
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
	return rc == STORE_OK ? audit_account(t, a, "account.totp.activate") : rc;
}

static int
w_remove(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	int rc = totp_remove(t, a->uid);

	return rc == STORE_OK ? audit_account(t, a, "account.totp.remove") : rc;
}

/* Clears the help desk's notice once it has been shown. */
static int
w_notice(struct store_txn *t, void *ctx)
{
	struct acct *a = ctx;
	json_t *u = NULL;
	int rc;

	if ((rc = user_by_id(t, a->uid, &u)) != STORE_OK)
		return rc;
	if (json_object_get(u, "notice") == NULL) {
		json_decref(u);
		return STORE_OK;	/* another tab cleared it already */
	}
	json_object_del(u, "notice");
	rc = user_update(t, u);
	json_decref(u);
	return rc == STORE_OK ? audit_account(t, a, "account.notice.shown") : rc;
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
		a->error_key = "enrol.exists";
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
		a->error_key = "enrol.wrong";
		send_enrol(a, 400);
	} else if (rc == STORE_OK && a->result == -2) {
		a->totp_state = 0;
		a->error_key = "enrol.spent";
		send_home(a, 400);
	} else if (a->result == STORE_NOTFOUND || a->result == STORE_EXISTS) {
		a->totp_state = a->result == STORE_EXISTS ? 2 : 0;
		a->error_key = a->result == STORE_EXISTS ? "enrol.exists" : "enrol.gone";
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
		a->notice_key = rc == STORE_OK ? "remove.done" : NULL;
		send_home(a, 200);
		acct_free(a);
		return;
	}
	server_error(a, 500);
}

static void
notice_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	/* The notice is shown even if clearing it failed: it comes back next time. */
	(void)rc;
	send_home(a, 200);
	acct_free(a);
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

static void
post(struct acct *a, struct store_txn *t, const json_t *sess, const char *skey)
{
	struct http_req *r = a->r;
	const char *action = http_param(r, "action");

	if (!session_csrf_ok(r, skey, "account", http_param(r, "csrf"))) {
		store_read_end(t);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		acct_free(a);
		return;
	}
	if (action != NULL && strcmp(action, "totp_begin") == 0) {
		store_read_end(t);
		queue(a, w_begin, begin_done);
	} else if (action != NULL && strcmp(action, "totp_confirm") == 0) {
		if (code_from_form(http_param(r, "otp"), a->code) != 0) {
			/* Malformed: answer like a wrong code, without a write. */
			if (totp_pending_uri(t, a->uid, a->username, a->uri, sizeof(a->uri)) != STORE_OK) {
				store_read_end(t);
				a->error_key = "enrol.gone";
				send_home(a, 400);
				acct_free(a);
				return;
			}
			store_read_end(t);
			a->error_key = "enrol.wrong";
			send_enrol(a, 400);
			acct_free(a);
			return;
		}
		store_read_end(t);
		queue(a, w_confirm, confirm_done);
	} else if (action != NULL && strcmp(action, "totp_remove") == 0) {
		const char *confirm = http_param(r, "confirm");

		if (a->totp_state != 2) {
			store_read_end(t);
			send_home(a, 200);	/* nothing to remove */
			acct_free(a);
			return;
		}
		if (session_level(sess) < AAL2) {
			/* Prove the second factor first; the browser comes back here. */
			store_read_end(t);
			acct_free(a);
			login_start(r, "/account", AAL2);
			return;
		}
		store_read_end(t);
		if (confirm == NULL || strcmp(confirm, "1") != 0) {
			send_remove_ask(a);
			acct_free(a);
			return;
		}
		queue(a, w_remove, remove_done);
	} else {
		store_read_end(t);
		/* ui_t passes our translated text through as it passes unknown keys */
		ui_error(r, 400, account_t(r->lang, "title"), account_t(r->lang, "bad_request"), NULL);
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
	int notice;

	if (t == NULL) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	sess = session_find(r, t, skey);
	uid = json_string_value(json_object_get(sess, "user"));
	if (sess == NULL || uid == NULL || user_by_id(t, uid, &user) != STORE_OK ||
	    json_is_true(json_object_get(user, "disabled"))) {
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
	st = totp_status(t, uid);
	state = json_string_value(json_object_get(st, "totp"));
	a->totp_state = state == NULL ? 0 : strcmp(state, "active") == 0 ? 2 :
	    strcmp(state, "pending") == 0 ? 1 : 0;
	json_decref(st);
	notice = json_is_string(json_object_get(user, "notice")) &&
	    strcmp(json_string_value(json_object_get(user, "notice")), "totp_reset") == 0;
	json_decref(user);

	if (r->method == HTTP_POST) {
		post(a, t, sess, skey);
		json_decref(sess);
		return;
	}
	json_decref(sess);
	store_read_end(t);
	if (notice) {
		a->notice_key = "notice.reset";
		queue(a, w_notice, notice_done);
		return;
	}
	send_home(a, 200);
	acct_free(a);
}

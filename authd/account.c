/* authd/account.c — the self-service account page (GET/POST /account): the
 * signed-in person, their sign-in methods, TOTP set-up (QR code, manual key,
 * confirmation by one code, recovery codes shown once), new recovery codes and
 * removal, and their recent security events. Owns its wording in zh-TW and
 * English. Also the gate and the change record every method's account actions
 * use (account.h).
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

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../modules/method.h"
#include "../modules/totp.h"
#include "audit.h"
#include "authd.h"
#include "oidc/oidc.h"
#include "policy.h"
#include "secevents.h"
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
	{ "recovery.left", "剩餘備用碼：", "Backup codes left: " },
	{ "recovery.regen", "產生新的備用碼", "Make new backup codes" },
	{ "regen.title", "產生新的備用碼", "Make new backup codes" },
	{ "regen.confirm", "新的備用碼會立即取代舊的：舊的備用碼從此無法使用。確定要繼續嗎？",
	  "New backup codes replace the old ones at once: the old codes stop working. Go on?" },
	{ "regen.button", "產生新的備用碼", "Make new codes" },
	{ "regen.done", "新的備用碼", "Your new backup codes" },
	{ "stepup.need", "變更登入方式之前，請先用您帳號最強的登入方式再驗證一次身分。",
	  "Before you change how you sign in, confirm it is you once more with the strongest sign-in method of your account." },
	{ "stepup.button", "再驗證一次身分", "Confirm it is me" },
	{ "notice.title", "您的登入方式最近有變更", "Recent changes to how you sign in" },
	{ "notice.check", "如果這些不是您本人（或您請服務台）做的，請立即撥 1999 或洽資訊窗口。",
	  "If you (or the help desk at your request) did not make these changes, call 1999 or your IT desk now." },
	{ "notice.ack", "這些變更是我做的", "I made these changes" },
	{ "events.title", "最近的安全性活動", "Recent security activity" },
	{ "events.help", "最近 30 天內登入方式的變更。", "Changes to how you sign in during the last 30 days." },
	{ "events.none", "最近 30 天內沒有變更。", "No changes in the last 30 days." },
	{ "ev.add.self", "{date} 從 {ip} 新增了登入方式：{what}。", "A new sign-in method was added on {date} from {ip}: {what}." },
	{ "ev.remove.self", "{date} 從 {ip} 移除了登入方式：{what}。", "A sign-in method was removed on {date} from {ip}: {what}." },
	{ "ev.rename.self", "{date} 從 {ip} 重新命名了登入方式：{what}。", "A sign-in method was renamed on {date} from {ip}: {what}." },
	{ "ev.regenerate.self", "{date} 從 {ip} 產生了新的備用碼，舊的備用碼已失效。",
	  "New backup codes were made on {date} from {ip}; the old ones no longer work." },
	{ "ev.change.self", "{date} 從 {ip} 變更了密碼。", "Your password was changed on {date} from {ip}." },
	{ "ev.add.admin", "{date} 服務台為您新增了登入方式：{what}。", "The help desk added a sign-in method on {date}: {what}." },
	{ "ev.remove.admin", "{date} 服務台移除了您的登入方式：{what}。", "The help desk removed a sign-in method on {date}: {what}." },
	{ "ev.rename.admin", "{date} 服務台重新命名了您的登入方式：{what}。", "The help desk renamed a sign-in method on {date}: {what}." },
	{ "ev.regenerate.admin", "{date} 服務台為您產生了新的備用碼，舊的備用碼已失效。",
	  "The help desk made new backup codes on {date}; the old ones no longer work." },
	{ "ev.change.admin", "{date} 服務台為您設定了新密碼。", "The help desk set a new password on {date}." },
	{ "what.totp", "兩步驟驗證（驗證器 App）", "two-step verification (authenticator app)" },
	{ "what.webauthn", "安全金鑰或通行密鑰「{label}」", "security key or passkey “{label}”" },
	{ "what.x509", "自然人憑證（{label}）", "citizen certificate ({label})" },
	{ "what.recovery", "備用碼", "backup codes" },
	{ "what.password", "密碼", "password" },
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
	int recovery_left;
	int result;                /* totp_enrol_finish: -1 wrong code */
	int level;                 /* the level the session holds now */
	struct policy_session ps;  /* the session, for the gate on the home page */
	const char *notice_key;    /* account_t key shown on the home view */
	const char *error_key;
	const char *codes_title;   /* account_t key of the recovery codes page */
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

/* The text of template tpl with {date}, {ip}, {what} and {label} filled in,
 * each escaped; {what} is itself a template (for {label}). */
static void
add_filled(struct buf *b, const char *tpl, const struct secevent *e, const char *what)
{
	const char *p = tpl, *o;

	while ((o = strchr(p, '{')) != NULL) {
		const char *c = strchr(o, '}');

		if (c == NULL)
			break;
		buf_add_html_n(b, p, (size_t)(o - p));
		if ((size_t)(c - o) == 5 && strncmp(o, "{date}", 6) == 0) {
			char d[32] = "", iso[32] = "";
			time_t at = (time_t)e->at;
			struct tm tm;

			if (localtime_r(&at, &tm) != NULL) {
				strftime(d, sizeof(d), "%Y-%m-%d %H:%M", &tm);
				strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M%z", &tm);
			}
			buf_adds(b, "<time datetime=\"");
			buf_add_html(b, iso);
			buf_adds(b, "\">");
			buf_add_html(b, d);
			buf_adds(b, "</time>");
		} else if ((size_t)(c - o) == 3 && strncmp(o, "{ip}", 4) == 0) {
			buf_add_html(b, e->ip);
		} else if ((size_t)(c - o) == 5 && strncmp(o, "{what}", 6) == 0 && what != NULL) {
			add_filled(b, what, e, NULL);
		} else if ((size_t)(c - o) == 6 && strncmp(o, "{label}", 7) == 0) {
			buf_add_html(b, e->label);
		} else {
			buf_add_html_n(b, o, (size_t)(c - o) + 1);
		}
		p = c + 1;
	}
	buf_add_html(b, p);
}

/* One security event as a sentence in lang. */
static void
add_event(struct buf *b, const char *lang, const struct secevent *e)
{
	char key[48], wkey[32];

	if (e->at <= 0) {	/* recorded before events had dates: the help desk's TOTP reset */
		buf_add_html(b, account_t(lang, "notice.reset"));
		return;
	}
	snprintf(key, sizeof(key), "ev.%s.%s", e->action, e->by_admin ? "admin" : "self");
	snprintf(wkey, sizeof(wkey), "what.%s", e->method);
	add_filled(b, account_t(lang, key), e, account_t(lang, wkey));
}

/* The announcement of changes not acknowledged yet, and the list of the last
 * SECEV_KEEP_S; user is the person's record as now stored. */
static void
add_events(struct buf *b, const struct acct *a, const json_t *user, int notice)
{
	struct secevent ev[SECEV_MAX + 1];
	const char *lang = a->r->lang;
	size_t i, n = secevent_list(user, now_s(), ev, SECEV_MAX + 1), unseen = 0;

	for (i = 0; i < n; i++)
		unseen += ev[i].unseen != 0;
	if (notice) {
		if (unseen == 0)
			return;
		buf_adds(b, "<section id=\"security-notice\" class=\"notice\" role=\"alert\" "
		    "aria-labelledby=\"security-notice-h\">\n<h2 id=\"security-notice-h\">");
		buf_add_html(b, account_t(lang, "notice.title"));
		buf_adds(b, "</h2>\n<ul>\n");
		for (i = 0; i < n; i++) {
			if (!ev[i].unseen)
				continue;
			buf_adds(b, "<li>");
			add_event(b, lang, &ev[i]);
			buf_adds(b, "</li>\n");
		}
		buf_adds(b, "</ul>\n");
		text_p(b, lang, "notice.check", NULL);
		action_form(b, a, "events_ack", 0, "notice.ack");
		buf_adds(b, "</section>\n");
		return;
	}
	buf_adds(b, "<h2>");
	buf_add_html(b, account_t(lang, "events.title"));
	buf_adds(b, "</h2>\n");
	text_p(b, lang, n > 0 ? "events.help" : "events.none", " class=\"help\"");
	if (n == 0)
		return;
	buf_adds(b, "<ul id=\"security-events\">\n");
	for (i = 0; i < n; i++) {
		buf_adds(b, "<li>");
		add_event(b, lang, &ev[i]);
		buf_adds(b, "</li>\n");
	}
	buf_adds(b, "</ul>\n");
}

static void
send_home(struct acct *a, int status)
{
	struct http_req *r = a->r;
	const char *lang = r->lang;
	struct store_txn *t = store_read_begin(r->authd->store);
	json_t *user = NULL;
	int need = AAL_NONE;
	struct buf b;

	/* Read again: the page shows what a change made a moment ago. */
	if (t != NULL) {
		if (user_by_id(t, a->uid, &user) != STORE_OK)
			user = NULL;
		need = change_level(r, t, &a->ps, a->uid);
	}
	buf_init(&b);
	page_begin(&b, r, "title");
	if (a->notice_key != NULL)
		text_p(&b, lang, a->notice_key, " role=\"status\" class=\"notice\"");
	if (a->error_key != NULL)
		text_p(&b, lang, a->error_key, " role=\"alert\" class=\"error\"");
	add_events(&b, a, user, 1);
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
	buf_adds(&b, "</h2>\n");
	if (need != AAL_NONE) {
		/* Every change below will ask for this first; say so up front. */
		text_p(&b, lang, "stepup.need", " class=\"notice\" id=\"step-up-needed\"");
		action_form(&b, a, "step_up", 0, "stepup.button");
	}
	buf_adds(&b, "<h3>");
	buf_add_html(&b, account_t(lang, "password"));
	buf_adds(&b, "</h3>\n");
	text_p(&b, lang, "password.set", NULL);
	buf_adds(&b, "<h3>");
	buf_add_html(&b, account_t(lang, "totp"));
	buf_adds(&b, "</h3>\n");
	text_p(&b, lang, a->totp_state == 2 ? "totp.active" : a->totp_state == 1 ? "totp.pending" :
	    "totp.none", " class=\"status\"");
	if (a->totp_state == 2) {
		buf_adds(&b, "<p>");
		buf_add_html(&b, account_t(lang, "recovery.left"));
		buf_printf(&b, "%d</p>\n", a->recovery_left);
		action_form(&b, a, "recovery_regen", 0, "recovery.regen");
		action_form(&b, a, "totp_remove", 0, "totp.remove");
	} else {
		text_p(&b, lang, "totp.why", " class=\"help\"");
		action_form(&b, a, "totp_begin", 0, a->totp_state == 1 ? "totp.continue" : "totp.setup");
	}
	/* Methods with their own account pages (security keys, the citizen card). */
	for (const struct authd_method *const *mp = authd_methods; t && *mp; mp++)
		if ((*mp)->account_section)
			(*mp)->account_section(&b, r, t, a->uid, a->csrf);
	add_events(&b, a, user, 0);
	if (t)
		store_read_end(t);
	json_decref(user);
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
	page_begin(&b, r, a->codes_title != NULL ? a->codes_title : "codes.title");
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

/* "Are you sure?" before a change that cannot be undone. */
static void
send_ask(struct acct *a, const char *title, const char *text, const char *action, const char *button)
{
	struct http_req *r = a->r;
	struct buf b;

	buf_init(&b);
	page_begin(&b, r, title);
	text_p(&b, r->lang, text, NULL);
	action_form(&b, a, action, 1, button);
	back_link(&b, r->lang, "cancel");
	ui_page_end(&b, r);
	ui_page_send(r, 200, &b);
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
regen_done(int rc, void *ctx)
{
	struct acct *a = ctx;

	if (rc == STORE_OK) {
		a->codes_title = "regen.done";
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
				send_ask(a, "remove.title", "remove.confirm", "totp_remove", "remove.button");
			else
				send_ask(a, "regen.title", "regen.confirm", "recovery_regen", "regen.button");
			acct_free(a);
			return;
		}
		if (remove)
			queue(a, w_remove, remove_done);
		else
			queue(a, w_regen, regen_done);
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

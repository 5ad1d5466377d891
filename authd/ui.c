/* authd/ui.c — renders the pages people see and owns their wording in zh-TW and
 * English. Every value that comes from a request or the store is HTML-escaped. */
#include <string.h>

#include "../modules/method.h"
#include "oidc/oidc.h"
#include "ui.h"

static const struct ui_text texts[] = {
	{ "site", "市政府單一登入", "City Single Sign-On" },
	{ "login.title", "登入", "Sign in" },
	{ "login.to", "登入以繼續使用", "Sign in to continue to" },
	{ "login.username", "帳號", "Username" },
	{ "login.password", "密碼", "Password" },
	{ "login.submit", "登入", "Sign in" },
	{ "login.failed", "帳號或密碼不正確。請再試一次；若忘記密碼，請洽各機關資訊窗口或 1999。",
	  "The username or password is incorrect. Try again; if you forgot your password, contact your agency's IT desk or call 1999." },
	{ "login.throttled", "嘗試次數過多，為保護帳號已暫停登入。請於下列時間後再試：",
	  "Too many attempts. To protect the account, sign-in is paused. Try again after:" },
	{ "login.busy", "目前有太多登入要求正在處理，請稍候幾秒再試一次。",
	  "Too many sign-in requests are being handled right now. Wait a few seconds and try again." },
	{ "login.in_flight", "這個帳號的另一次登入正在驗證中，請稍候再試一次。",
	  "Another sign-in for this account is being checked right now. Wait a moment and try again." },
	{ "login.spent", "這次登入的錯誤嘗試次數已達上限，這次登入已經結束。請回到原本的網站重新登入。",
	  "This sign-in had too many wrong attempts and has ended. Go back to the website and sign in again." },
	{ "login.minutes", "分鐘", "minutes" },
	{ "login.seconds", "秒", "seconds" },
	{ "login.invalid", "表單內容不完整或格式錯誤，請重新輸入。", "The form was incomplete or malformed. Please fill it in again." },
	{ "login.help", "請勿在公用電腦上儲存密碼。使用完畢請登出。", "Do not save your password on a shared computer. Sign out when you are done." },
	{ "lang.switch", "English", "中文" },
	{ "err.title", "無法完成登入", "Sign-in could not be completed" },
	{ "err.bad_request", "這個登入要求無效。請回到原本的網站重新操作。",
	  "This sign-in request is not valid. Go back to the website you came from and start again." },
	{ "err.unknown_client", "這個應用程式尚未向單一登入服務註冊，請聯絡該應用程式的管理者。",
	  "This application is not registered with the sign-in service. Contact the application's administrator." },
	{ "err.redirect_uri", "應用程式提供的返回網址（redirect_uri）與註冊資料不符，為了安全已停止。請聯絡該應用程式的管理者。",
	  "The return address (redirect_uri) sent by the application does not match its registration, so sign-in was stopped for your safety. Contact the application's administrator." },
	{ "err.tx_expired", "登入頁面已逾時或已使用過。請回到原本的網站重新登入。",
	  "This sign-in page has expired or was already used. Go back to the website and sign in again." },
	{ "err.csrf", "無法確認這個表單來自本網站（可能是瀏覽器封鎖了 Cookie 或頁面開太久）。請重新整理後再試。",
	  "We could not confirm that this form came from this site (cookies may be blocked, or the page was open too long). Reload and try again." },
	{ "err.level", "這個應用程式要求更高等級的身分驗證（例如兩步驟驗證或安全金鑰），而您的帳號尚未設定可達到該等級的驗證方式。請先登入帳號頁面設定，或洽資訊窗口。",
	  "This application requires a stronger sign-in (such as two-step verification or a security key), and your account has no method that reaches that level yet. Set one up on your account page first, or contact your IT desk." },
	{ "err.server", "系統暫時無法處理，請稍後再試。若持續發生，請撥 1999。",
	  "The service could not handle this right now. Try again in a moment; if it keeps happening, call 1999." },
	{ "err.not_found", "找不到這個頁面。", "This page does not exist." },
	{ "logout.title", "登出", "Sign out" },
	{ "logout.confirm", "要登出單一登入服務嗎？所有使用這個登入的應用程式都需要重新登入。",
	  "Sign out of the sign-in service? Every application using this sign-in will ask you to sign in again." },
	{ "logout.button", "登出", "Sign out" },
	{ "logout.done", "您已登出。為了安全，請關閉瀏覽器。", "You are signed out. For safety, close the browser." },
	{ "logout.bad_hint", "應用程式的登出要求所附的不是本服務核發的 ID 權杖，因此沒有登出任何帳號。請回到應用程式再試一次。",
	  "The application's sign-out request did not carry an ID token issued by this service, so nothing was signed out. Go back to the application and try again." },
	{ "otp.title", "兩步驟驗證", "Two-step verification" },
	{ "otp.prompt", "請輸入驗證器 App（例如 Google Authenticator、Microsoft Authenticator）顯示的 6 位數驗證碼。",
	  "Enter the 6-digit code shown by your authenticator app (such as Google Authenticator or Microsoft Authenticator)." },
	{ "otp.label", "驗證碼", "Code" },
	{ "otp.submit", "驗證", "Verify" },
	{ "otp.recovery", "手機不在身邊？改用救援碼", "No phone with you? Use a recovery code" },
	{ "otp.recovery_label", "救援碼（格式 xxxx-xxxx-xxxx，每組只能用一次）",
	  "Recovery code (xxxx-xxxx-xxxx; each works once)" },
	{ "otp.failed", "驗證碼不正確或已經用過。請等下一組驗證碼出現後再試。",
	  "The code is wrong or was already used. Wait for the next code to appear and try again." },
	{ "otp.invalid", "請輸入 6 位數字的驗證碼，或一組救援碼。", "Enter the 6-digit code, or a recovery code." },
	{ "login.as", "登入帳號：", "Signing in as: " },
	{ "method.failed", "驗證未成功。請再試一次，或改用其他方式登入。", "That did not work. Try again, or sign in another way." },
	{ "method.invalid", "驗證資料不完整或格式錯誤，請再試一次。", "The answer was incomplete or malformed. Try again." },
	{ "step.title", "再驗證一次", "One more step" },
	{ "unmet.enrol", "前往帳號設定兩步驟驗證", "Set up two-step verification on your account page" },
	{ "unmet.back", "返回應用程式", "Back to the application" },
	{ "device.title", "在其他裝置登入", "Sign in on another device" },
	{ "device.enter", "請輸入裝置（例如伺服器的 SSH 連線畫面）上顯示的 8 碼代碼。",
	  "Enter the 8-character code shown on the device (for example in an SSH session)." },
	{ "device.code_label", "裝置代碼", "Device code" },
	{ "device.continue", "繼續", "Continue" },
	{ "device.confirm", "是否允許下列應用程式以您的身分登入？請確認代碼與裝置上顯示的相同；若不是您本人發起，請按「拒絕」。",
	  "Allow this application to sign in as you? Check that the code matches the one on the device; if you did not start this, choose Deny." },
	{ "device.app", "應用程式：", "Application: " },
	{ "device.code", "代碼：", "Code: " },
	{ "device.approve", "允許", "Allow" },
	{ "device.deny", "拒絕", "Deny" },
	{ "device.approved", "已允許。您可以回到原本的裝置繼續操作。", "Allowed. You can go back to your device now." },
	{ "device.denied", "已拒絕，該裝置將無法登入。", "Denied. The device will not be signed in." },
	{ "device.bad_code", "代碼不正確或已過期。請確認裝置上的代碼後重新輸入。",
	  "The code is wrong or has expired. Check the code on the device and enter it again." },
	{ "device.throttled", "錯誤次數過多，請 10 分鐘後再試。", "Too many wrong codes. Try again in 10 minutes." },
	{ "device.host_title", "登入伺服器", "Log in to a server" },
	{ "device.host_confirm", "是否允許以下的伺服器登入？請確認每一項：伺服器、帳號與時間都必須是您本人剛剛發起的登入。",
	  "Allow this login to a server? Check every line: the server, the account and the time must all be a login you yourself have just started." },
	{ "device.host", "伺服器：", "Server: " },
	{ "device.account", "將登入的帳號：", "Account to be logged in: " },
	{ "device.account_unknown", "（伺服器未指明）", "(not named by the server)" },
	{ "device.from", "要求來自位址：", "Request came from address: " },
	{ "device.remote", "伺服器回報的連線來源：", "Connection reported by the server from: " },
	{ "device.time", "要求時間：", "Requested at: " },
	{ "device.host_warning", "若這不是您本人剛剛在伺服器上發起的登入（例如有人傳代碼或連結給您，請您按「允許」），請按「拒絕」。",
	  "If this is not a login you yourself have just started on the server (for example, someone sent you a code or a link and asked you to allow it), choose Deny." },
	{ "device.other_account", "伺服器要登入的帳號與您目前登入的帳號不同，因此只能拒絕。您目前登入的帳號是：",
	  "The server asks to log in another account than the one you are signed in with, so you can only deny it. You are signed in as: " },
	{ "device.other_account_refused", "伺服器要登入的帳號與您目前登入的帳號不同，因此沒有允許這次登入。",
	  "The server asked to log in another account than the one you are signed in with, so this login was not allowed." },
	{ NULL, NULL, NULL }
};

const char *ui_text_in(const struct ui_text *table, const char *lang, const char *key)
{
	int en = lang && strcmp(lang, "en") == 0;

	for (const struct ui_text *t = table; t->key; t++)
		if (strcmp(t->key, key) == 0)
			return en ? t->en : t->zh;
	return key;
}

const char *ui_t(const char *lang, const char *key)
{
	return ui_text_in(texts, lang, key);
}

void ui_page_begin(struct buf *b, const char *lang, const char *title_key)
{
	int en = lang && strcmp(lang, "en") == 0;

	buf_printf(b, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	           "<meta name=\"referrer\" content=\"no-referrer\"><title>",
	           en ? "en" : "zh-Hant-TW");
	buf_add_html(b, ui_t(lang, title_key));
	buf_adds(b, " — ");
	buf_add_html(b, ui_t(lang, "site"));
	buf_adds(b, "</title><link rel=\"stylesheet\" href=\"/static/authd.css\"></head>\n<body><main>"
	            "<p class=\"site\">");
	buf_add_html(b, ui_t(lang, "site"));
	buf_adds(b, "</p><h1>");
	buf_add_html(b, ui_t(lang, title_key));
	buf_adds(b, "</h1>\n");
}

/* The language switch keeps the current query (it may carry tx) and sets lang. */
void ui_page_end(struct buf *b, struct http_req *r)
{
	int en = r->lang && strcmp(r->lang, "en") == 0;

	buf_adds(b, "<nav class=\"lang\"><a href=\"");
	buf_add_html(b, r->path);
	buf_adds(b, "?");
	for (size_t i = 0; r->query && i < r->query->n; i++) {
		if (strcmp(r->query->f[i].key, "lang") == 0)
			continue;
		buf_add_urlenc(b, r->query->f[i].key);
		buf_adds(b, "=");
		buf_add_urlenc(b, r->query->f[i].value);
		buf_adds(b, "&amp;");
	}
	buf_printf(b, "lang=%s\" hreflang=\"%s\" lang=\"%s\">", en ? "zh-TW" : "en",
	           en ? "zh-Hant-TW" : "en", en ? "zh-Hant-TW" : "en");
	buf_add_html(b, ui_t(r->lang, "lang.switch"));
	buf_adds(b, "</a></nav></main></body></html>\n");
}

void ui_page_send(struct http_req *r, int status, struct buf *b)
{
	if (b->oom) {
		buf_free(b);
		http_reply(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
		return;
	}
	http_reply_html(r, status, b->p, b->len);
	buf_free(b);
}

void ui_error(struct http_req *r, int status, const char *title_key, const char *msg_key,
              const char *detail)
{
	struct buf b;

	buf_init(&b);
	ui_page_begin(&b, r->lang, title_key);
	buf_adds(&b, "<p role=\"alert\" class=\"error\">");
	buf_add_html(&b, ui_t(r->lang, msg_key));
	buf_adds(&b, "</p>\n");
	if (detail) {
		buf_adds(&b, "<p class=\"detail\"><code>");
		buf_add_html(&b, detail);
		buf_adds(&b, "</code></p>\n");
	}
	ui_page_end(&b, r);
	ui_page_send(r, status, &b);
}

/* A button (and its script) for each method of the given kind that signs in
 * through a page script; only (one method) when only is not NULL. The scripts
 * find tx/csrf in the page's form (hidden inputs) or in the data-* attributes. */
static void method_buttons(struct buf *b, const char *lang, unsigned kind, const char *only)
{
	int en = lang && strcmp(lang, "en") == 0;

	for (const struct authd_method *const *mp = authd_methods; *mp; mp++) {
		const struct authd_method *m = *mp;
		if (!m->ui_script || !(m->flags & kind) || (only && strcmp(only, m->name) != 0) ||
		    (m->available && !m->available()))
			continue;
		buf_adds(b, "<p><button type=\"button\" class=\"alt\" data-method=\"");
		buf_add_html(b, m->name);
		buf_adds(b, "\" id=\"method-");
		buf_add_html(b, m->name);
		buf_adds(b, "\">");
		buf_add_html(b, en ? m->ui_label_en : m->ui_label_zh);
		buf_adds(b, "</button></p>\n<script src=\"");
		buf_add_html(b, m->ui_script);
		buf_adds(b, "\" defer></script>\n");
	}
	buf_adds(b, "<p role=\"status\" id=\"method-status\" class=\"error\"></p>\n");
}

/* What every sign-in step page starts with: the app being signed in to, the
 * account already identified (later steps), and the error of the last answer
 * (with how long to wait when throttled). */
static void step_intro(struct buf *b, const char *lang, const struct ui_login *l, int show_user)
{
	if (l->client_name) {
		buf_adds(b, "<p class=\"app\">");
		buf_add_html(b, ui_t(lang, "login.to"));
		buf_adds(b, " <strong>");
		buf_add_html(b, l->client_name);
		buf_adds(b, "</strong></p>\n");
	}
	if (show_user && l->username) {
		buf_adds(b, "<p>");
		buf_add_html(b, ui_t(lang, "login.as"));
		buf_adds(b, "<strong>");
		buf_add_html(b, l->username);
		buf_adds(b, "</strong></p>\n");
	}
	if (l->error_text || l->retry_after > 0) {
		buf_adds(b, "<p role=\"alert\" class=\"error\" id=\"login-error\">");
		buf_add_html(b, l->error_text);
		if (l->retry_after >= 60)
			buf_printf(b, " %d %s", (l->retry_after + 59) / 60, ui_t(lang, "login.minutes"));
		else if (l->retry_after > 0)
			buf_printf(b, " %d %s", l->retry_after, ui_t(lang, "login.seconds"));
		buf_adds(b, "</p>\n");
	}
}

/* The opening of the step's form: tx and csrf bind the answer to this browser's
 * transaction; method names the step (omitted for the script-driven page). */
static void step_form_open(struct buf *b, const struct ui_login *l, const char *method,
                           const char *form_id)
{
	buf_adds(b, "<form method=\"post\" action=\"/login\"");
	if (form_id)
		buf_printf(b, " id=\"%s\"", form_id);
	buf_adds(b, ">\n<input type=\"hidden\" name=\"tx\" value=\"");
	buf_add_html(b, l->tx);
	buf_adds(b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
	buf_add_html(b, l->csrf);
	buf_adds(b, "\">\n");
	if (method)
		buf_printf(b, "<input type=\"hidden\" name=\"method\" value=\"%s\">\n", method);
}

static void step_send(struct http_req *r, int status, const struct ui_login *l, struct buf *b)
{
	ui_page_end(b, r);
	if (l->retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%d", l->retry_after);
		http_add_header(r, "Retry-After", ra);
	}
	ui_page_send(r, status, b);
}

void ui_login_form(struct http_req *r, int status, const struct ui_login *l)
{
	struct buf b;
	const char *lang = r->lang;

	buf_init(&b);
	ui_page_begin(&b, lang, "login.title");
	step_intro(&b, lang, l, 0);
	step_form_open(&b, l, "password", NULL);
	buf_adds(&b, "<label for=\"username\">");
	buf_add_html(&b, ui_t(lang, "login.username"));
	buf_adds(&b, "</label>\n<input id=\"username\" name=\"username\" type=\"text\" "
	             "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
	             "maxlength=\"64\" required");
	if (l->error_text)
		buf_adds(&b, " aria-describedby=\"login-error\"");
	if (l->username && *l->username) {
		buf_adds(&b, " value=\"");
		buf_add_html(&b, l->username);
		buf_adds(&b, "\">\n");
	} else {
		buf_adds(&b, " autofocus>\n");
	}
	buf_adds(&b, "<label for=\"password\">");
	buf_add_html(&b, ui_t(lang, "login.password"));
	buf_adds(&b, "</label>\n<input id=\"password\" name=\"password\" type=\"password\" "
	             "autocomplete=\"current-password\" maxlength=\"4096\" required");
	if (l->username && *l->username)
		buf_adds(&b, " autofocus");
	buf_adds(&b, ">\n<button type=\"submit\">");
	buf_add_html(&b, ui_t(lang, "login.submit"));
	buf_adds(&b, "</button>\n</form>\n");
	method_buttons(&b, lang, METHOD_FIRST, NULL);
	buf_adds(&b, "<p class=\"help\">");
	buf_add_html(&b, ui_t(lang, "login.help"));
	buf_adds(&b, "</p>\n");
	step_send(r, status, l, &b);
}

void ui_otp_form(struct http_req *r, int status, const struct ui_login *l)
{
	struct buf b;
	const char *lang = r->lang;

	buf_init(&b);
	ui_page_begin(&b, lang, "otp.title");
	step_intro(&b, lang, l, 1);
	buf_adds(&b, "<p>");
	buf_add_html(&b, ui_t(lang, "otp.prompt"));
	buf_adds(&b, "</p>\n");
	step_form_open(&b, l, "totp", NULL);
	buf_adds(&b, "<label for=\"otp\">");
	buf_add_html(&b, ui_t(lang, "otp.label"));
	buf_adds(&b, "</label>\n<input id=\"otp\" name=\"otp\" type=\"text\" autocomplete=\"one-time-code\" "
	             "inputmode=\"numeric\" pattern=\"[0-9 ]*\" maxlength=\"8\" autofocus");
	if (l->error_text)
		buf_adds(&b, " aria-describedby=\"login-error\"");
	buf_adds(&b, ">\n<details><summary>");
	buf_add_html(&b, ui_t(lang, "otp.recovery"));
	buf_adds(&b, "</summary>\n<label for=\"recovery_code\">");
	buf_add_html(&b, ui_t(lang, "otp.recovery_label"));
	buf_adds(&b, "</label>\n<input id=\"recovery_code\" name=\"recovery_code\" type=\"text\" "
	             "autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"20\">\n"
	             "</details>\n<button type=\"submit\">");
	buf_add_html(&b, ui_t(lang, "otp.submit"));
	buf_adds(&b, "</button>\n</form>\n");
	step_send(r, status, l, &b);
}

void ui_method_step(struct http_req *r, int status, const char *method, const struct ui_login *l)
{
	struct buf b;
	const char *lang = r->lang;

	buf_init(&b);
	ui_page_begin(&b, lang, "step.title");
	step_intro(&b, lang, l, 1);
	/* The script posts /login with these; no visible fields. */
	step_form_open(&b, l, NULL, "step-form");
	buf_adds(&b, "</form>\n");
	method_buttons(&b, lang, METHOD_STEP, method);
	step_send(r, status, l, &b);
}

void ui_unmet(struct http_req *r, const char *back_url)
{
	struct buf b;

	buf_init(&b);
	ui_page_begin(&b, r->lang, "err.title");
	buf_adds(&b, "<p role=\"alert\" class=\"error\">");
	buf_add_html(&b, ui_t(r->lang, "err.level"));
	buf_adds(&b, "</p>\n<p><a href=\"/account\">");
	buf_add_html(&b, ui_t(r->lang, "unmet.enrol"));
	buf_adds(&b, "</a></p>\n");
	if (back_url) {
		buf_adds(&b, "<p><a href=\"");
		buf_add_html(&b, back_url);
		buf_adds(&b, "\">");
		buf_add_html(&b, ui_t(r->lang, "unmet.back"));
		buf_adds(&b, "</a></p>\n");
	}
	ui_page_end(&b, r);
	ui_page_send(r, 403, &b);
}

void ui_message(struct http_req *r, int status, const char *title_key, const char *msg_key,
                const char *form_action, const char *csrf, const char *button_key)
{
	struct buf b;

	buf_init(&b);
	ui_page_begin(&b, r->lang, title_key);
	buf_adds(&b, "<p>");
	buf_add_html(&b, ui_t(r->lang, msg_key));
	buf_adds(&b, "</p>\n");
	if (form_action) {
		buf_adds(&b, "<form method=\"post\" action=\"");
		buf_add_html(&b, form_action);
		buf_adds(&b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
		buf_add_html(&b, csrf);
		buf_adds(&b, "\">\n");
		/* Carry the end_session parameters through the confirmation. */
		static const char *const keep[] = { "post_logout_redirect_uri", "state", "client_id",
			                            "id_token_hint", NULL };
		for (int i = 0; keep[i]; i++) {
			const char *v = http_param(r, keep[i]);
			if (!v)
				continue;
			buf_printf(&b, "<input type=\"hidden\" name=\"%s\" value=\"", keep[i]);
			buf_add_html(&b, v);
			buf_adds(&b, "\">\n");
		}
		buf_adds(&b, "<button type=\"submit\">");
		buf_add_html(&b, ui_t(r->lang, button_key));
		buf_adds(&b, "</button>\n</form>\n");
	}
	ui_page_end(&b, r);
	ui_page_send(r, status, &b);
}

static const char css[] =
	":root{color-scheme:light dark;--fg:#1b1b1b;--bg:#f6f7f9;--card:#fff;--accent:#0b5cad;--err:#a4000f}"
	"@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#15171a;--card:#20242a;--accent:#7db8ff;--err:#ff8a8a}}"
	"body{margin:0;font:16px/1.6 system-ui,\"Noto Sans TC\",\"PingFang TC\",\"Microsoft JhengHei\",sans-serif;"
	"color:var(--fg);background:var(--bg)}"
	"main{max-width:26rem;margin:3rem auto;padding:2rem;background:var(--card);border-radius:8px;"
	"box-shadow:0 1px 4px rgba(0,0,0,.15)}"
	".site{margin:0;color:var(--accent);font-weight:600}h1{font-size:1.5rem;margin:.25rem 0 1rem}"
	"label{display:block;margin-top:1rem;font-weight:600}"
	"input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;"
	"border:1px solid #888;border-radius:4px;background:transparent;color:inherit}"
	"input:focus,button:focus,a:focus{outline:3px solid var(--accent);outline-offset:2px}"
	"button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;"
	"background:var(--accent);border:0;border-radius:4px;cursor:pointer}"
	"button.alt{margin-top:.5rem;color:var(--accent);background:transparent;border:2px solid var(--accent)}"
	".error{color:var(--err);font-weight:600}.help,.detail{font-size:.9rem;opacity:.85}"
	".notice{border-left:4px solid var(--accent);padding:.1rem .75rem;margin:1rem 0}"
	".lang{margin-top:1.5rem;text-align:right}a{color:var(--accent)}\n";

void ui_static_css(struct http_req *r)
{
	http_add_header(r, "Cache-Control", "public, max-age=86400");
	http_reply(r, 200, "text/css; charset=utf-8", css, sizeof(css) - 1);
}

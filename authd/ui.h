/* authd/ui.h — the server-rendered pages people see (login, errors, logout), in
 * zh-TW (default) and English. Plain accessible HTML, no inline script or style
 * (the CSP forbids both); one stylesheet at /static/authd.css. */
#ifndef AUTHD_UI_H
#define AUTHD_UI_H

#include "../lib/buf.h"
#include "http.h"

/* Wording tables: {key, zh-TW, English}, ended by a NULL key. Pages of other
 * parts (account, methods) keep their own table and look up with ui_text_in. */
struct ui_text {
	const char *key, *zh, *en;
};
const char *ui_text_in(const struct ui_text *table, const char *lang, const char *key);
/* Text for key in lang ("zh-TW" or "en") from the sign-in pages' table; the key
 * itself if unknown. */
const char *ui_t(const char *lang, const char *key);

/* Building blocks for other pages (account.c): the document head with the site
 * name and an <h1> of title_key; the language switch and closing tags; sending
 * (frees b, replies and frees r). */
void ui_page_begin(struct buf *b, const char *lang, const char *title_key);
void ui_page_end(struct buf *b, struct http_req *r);
void ui_page_send(struct http_req *r, int status, struct buf *b);

/* Error page: a title, a message telling what happened and what to do, and an
 * optional detail line (escaped). Replies and frees r. */
void ui_error(struct http_req *r, int status, const char *title_key, const char *msg_key,
              const char *detail);

/* The login form. error_text (already translated) may be NULL. */
struct ui_login {
	const char *tx;             /* login transaction id */
	const char *csrf;
	const char *client_name;    /* app name in the page's language */
	const char *username;       /* prefill (login_hint or what was typed) */
	const char *error_text;
	int retry_after;            /* > 0: throttled; the form says how long */
};
void ui_login_form(struct http_req *r, int status, const struct ui_login *l);

/* The one-time-code step (TOTP, with a recovery-code alternative). l->username
 * names the account already identified by the first factor. */
void ui_otp_form(struct http_req *r, int status, const struct ui_login *l);
/* A later step by a method that works through a page script (a security key):
 * the form carries tx/csrf; the method's button and script do the rest. */
void ui_method_step(struct http_req *r, int status, const char *method, const struct ui_login *l);
/* The app needs a level this account cannot reach yet: how to enrol, and a link
 * back to the app (already carrying error=unmet_authentication_requirements). */
void ui_unmet(struct http_req *r, const char *back_url);

/* A short page with a title and a message (logged out, confirmations). When
 * form_action is set, a POST form with csrf and one button labelled button_key. */
void ui_message(struct http_req *r, int status, const char *title_key, const char *msg_key,
                const char *form_action, const char *csrf, const char *button_key);

#endif

/* authd/ui.h — the server-rendered pages people see (sign-in, errors, logout,
 * and the building block of the account and device pages), in every language
 * of share/i18n (zh-TW default, English). The HTML is in share/templates, the
 * words in share/i18n (authd/web/pages.h loads them); C code hands over a
 * template name, catalogue keys and data, never HTML. Values are escaped by
 * the template engine (lib/tmpl.h). No inline script or style (the CSP
 * forbids both); one stylesheet, share/static/authd.css. */
#ifndef AUTHD_UI_H
#define AUTHD_UI_H

#include <jansson.h>

#include "http.h"
#include "web/pages.h"

/* Text of a catalogue key in lang, as plain text (for JSON replies or a value
 * handed to a page); the key itself if unknown. Borrowed. */
const char *ui_t(const char *lang, const char *key);

/* Replies with template name (share/templates/NAME.html) rendered with data
 * (stolen; may be NULL for none) and what every page gets: title (the
 * catalogue key title_key) and langs (the language switch: this page in the
 * other languages). A template that cannot be rendered is logged and
 * answered with a 500 page. Replies and frees r. */
void ui_page(struct http_req *r, int status, const char *name, const char *title_key, json_t *data);
/* The same for a page that carries a secret (a TOTP key, recovery codes):
 * the data's strings are wiped before they are freed. */
void ui_page_secret(struct http_req *r, int status, const char *name, const char *title_key,
    json_t *data);

/* An unknown path: an HTML page (lang, title, what to do, a way back) for a
 * browser — a request whose Accept names text/html — and the JSON error
 * {"error":"not_found"} for a program. */
void ui_not_found(struct http_req *r);
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
	long expires_in;            /* > 0: seconds until the sign-in expires (warned before) */
};
void ui_login_form(struct http_req *r, int status, const struct ui_login *l);

/* The one-time-code step (TOTP, with a recovery-code alternative). l->username
 * names the account already identified by the first factor. */
void ui_otp_form(struct http_req *r, int status, const struct ui_login *l);
/* A later step by a method that works through a page script (a security key):
 * the form carries tx/csrf; the method's button and script do the rest. */
void ui_method_step(struct http_req *r, int status, const char *method, const struct ui_login *l);
/* A later step by the citizen card over TLS, which only the client-certificate
 * listener can ask for: what to do (insert the card; the browser asks for the
 * certificate and the PIN) and a link to url, the same sign-in on that listener. */
void ui_cert_step(struct http_req *r, const struct ui_login *l, const char *url);
/* The app needs a level this account cannot reach yet: how to enrol (for level
 * AAL3: a security key with user verification, or the card where the TLS path
 * exists), and a link back to the app (already carrying
 * error=unmet_authentication_requirements). */
void ui_unmet(struct http_req *r, const char *back_url, int level);

/* A short page with a title and a message (logged out, confirmations). When
 * form_action is set, a POST form with csrf and one button labelled button_key. */
void ui_message(struct http_req *r, int status, const char *title_key, const char *msg_key,
                const char *form_action, const char *csrf, const char *button_key);

#endif

/* authd/ui.c — renders the pages of ui.h: the data each page needs, handed to
 * its template (share/templates) with the page's language; the words are the
 * catalogues' (share/i18n). Every value that comes from a request or the
 * store is escaped by the template engine. */
#include "ui.h"

#include <stdio.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/tmpl.h"
#include "../modules/method.h"
#include "authd.h"
#include "config.h"
#include "log.h"

const char *ui_t(const char *lang, const char *key)
{
	return pages_text(lang, key);
}

/* This page in each other language: the path and query, lang replaced. */
static json_t *lang_links(struct http_req *r)
{
	json_t *out = json_array();
	size_t i, j, n = pages_lang_count();

	for (i = 0; out && i < n; i++) {
		const char *code = pages_lang_at(i);
		struct buf h;

		if (r->lang && strcmp(code, r->lang) == 0)
			continue;
		buf_init(&h);
		buf_adds(&h, r->path);
		buf_adds(&h, "?");
		for (j = 0; r->query && j < r->query->n; j++) {
			if (strcmp(r->query->f[j].key, "lang") == 0)
				continue;
			buf_add_urlenc(&h, r->query->f[j].key);
			buf_adds(&h, "=");
			buf_add_urlenc(&h, r->query->f[j].value);
			buf_adds(&h, "&");
		}
		buf_adds(&h, "lang=");
		buf_add_urlenc(&h, code);
		if (h.oom || json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "href", buf_str(&h),
		    "tag", pages_text(code, "lang.tag"), "name", pages_text(code, "lang.name"))) != 0) {
			json_decref(out);
			out = NULL;
		}
		buf_free(&h);
	}
	return out;
}

/* Page scripts that open a window of another origin and talk to it by
 * postMessage: x509.js opens the HiPKI local sign server's /popupForm
 * (docs/citizen-certificate.md). A page that loads one is sent with
 * Cross-Origin-Opener-Policy: same-origin-allow-popups, which keeps the popup's
 * window.opener; no other page gets that header. */
static const char *const popup_scripts[] = { "x509.js", NULL };

static int
opens_popup(const struct buf *b)
{
	for (const char *const *s = popup_scripts; *s; s++) {
		const char *url = pages_static_url(*s);

		if (url && memmem(b->p, b->len, url, strlen(url)) != NULL)
			return 1;
	}
	return 0;
}

/* [branding] for the page's head and footer; values absent when not set. */
static json_t *
brand(struct http_req *r)
{
	const struct conf *c = r->authd->conf;
	const char *name = c->brand_name;

	if (c->brand_name_en != NULL && r->lang != NULL && strncmp(r->lang, "zh", 2) != 0)
		name = c->brand_name_en;
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b}", "name", name,
	    "logo", pages_static_url(c->brand_logo), "css", pages_static_url(c->brand_stylesheet),
	    "privacy", c->brand_privacy_url, "security", c->brand_security_url, "accessibility",
	    c->brand_accessibility_url, "contact", c->brand_contact, "contact_url",
	    c->brand_contact_url, "links",
	    c->brand_privacy_url || c->brand_security_url || c->brand_accessibility_url ||
	        c->brand_contact);
}

static void page(struct http_req *r, int status, const char *name, const char *title_key,
                 json_t *data, int secret)
{
	char err[256] = "out of memory";
	struct buf b;
	int rc = -1;

	buf_init(&b);
	if (data == NULL)
		data = json_object();
	if (data != NULL && json_object_set_new(data, "title", json_string(title_key)) == 0 &&
	    json_object_set_new(data, "langs", lang_links(r)) == 0 &&
	    json_object_set_new(data, "brand", brand(r)) == 0)
		rc = pages_render(name, r->lang, data, &b, err, sizeof(err));
	if (secret)
		tmpl_json_wipe(data);
	json_decref(data);
	if (rc != 0 || b.oom) {
		buf_free(&b);
		log_msg(LOG_ERROR, "a page could not be rendered", "template", name, "error", err, NULL);
		if (strcmp(name, "error") != 0)
			ui_error(r, 500, "err.title", "err.server", NULL);
		else
			http_reply(r, 500, "text/plain; charset=utf-8", "server error\n", 13);
		return;
	}
	if (opens_popup(&b))
		http_add_header(r, "Cross-Origin-Opener-Policy", "same-origin-allow-popups");
	http_reply_html(r, status, b.p, b.len);
	buf_free(&b);
}

void ui_page(struct http_req *r, int status, const char *name, const char *title_key, json_t *data)
{
	page(r, status, name, title_key, data, 0);
}

void ui_page_secret(struct http_req *r, int status, const char *name, const char *title_key,
                    json_t *data)
{
	page(r, status, name, title_key, data, 1);
}

void
ui_not_found(struct http_req *r)
{
	const char *accept = http_header(r, "Accept");

	if (accept != NULL && strstr(accept, "text/html") != NULL)
		ui_error(r, 404, "err.not_found.title", "err.not_found", NULL);
	else
		http_reply_oauth_error(r, 404, "not_found", "no such endpoint");
}

void ui_error(struct http_req *r, int status, const char *title_key, const char *msg_key,
              const char *detail)
{
	ui_page(r, status, "error", title_key, json_pack("{s:s, s:s?}", "msg", msg_key, "detail", detail));
}

/* A button (and its script template) for each method of the given kind that
 * signs in through a page script; only (one method) when only is not NULL. */
static json_t *method_buttons(unsigned kind, const char *only)
{
	json_t *out = json_array();

	for (const struct authd_method *const *mp = authd_methods; out && *mp; mp++) {
		const struct authd_method *m = *mp;
		if (!m->ui_script || !(m->flags & kind) || (only && strcmp(only, m->name) != 0) ||
		    (m->available && !m->available()))
			continue;
		if (json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "name", m->name, "label",
		    m->ui_label, "script", m->ui_script)) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

/* What every sign-in step page shows: the app being signed in to, the
 * account already identified (later steps), the error of the last answer
 * (with how long to wait when throttled), and the form's binding. */
static json_t *step_data(const struct ui_login *l, int show_user, const char *method,
                         const char *form_id)
{
	json_t *d = json_pack("{s:s?, s:b, s:s?, s:s?, s:b, s:s?, s:s?, s:s?, s:s?}",
	    "client", l->client_name, "show_user", show_user && l->username, "username", l->username,
	    "error", l->error_text, "alert", l->error_text || l->retry_after > 0, "tx", l->tx,
	    "csrf", l->csrf, "method", method, "form_id", form_id);

	if (d && l->expires_in > 0)
		json_object_set_new(d, "expires_in", json_integer(l->expires_in));
	if (d && l->retry_after >= 60)
		json_object_set_new(d, "retry_min", json_integer((l->retry_after + 59) / 60));
	else if (d && l->retry_after > 0)
		json_object_set_new(d, "retry_sec", json_integer(l->retry_after));
	return d;
}

static void step_send(struct http_req *r, int status, const struct ui_login *l, const char *name,
                      const char *title_key, json_t *d)
{
	if (l->retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%d", l->retry_after);
		http_add_header(r, "Retry-After", ra);
	}
	ui_page(r, status, name, title_key, d);
}

void ui_login_form(struct http_req *r, int status, const struct ui_login *l)
{
	json_t *d = step_data(l, 0, "password", NULL);

	if (d)
		json_object_set_new(d, "methods", method_buttons(METHOD_FIRST, NULL));
	step_send(r, status, l, "login", TXT("login.title"), d);
}

void ui_otp_form(struct http_req *r, int status, const struct ui_login *l)
{
	step_send(r, status, l, "otp", TXT("otp.title"), step_data(l, 1, "totp", NULL));
}

void ui_method_step(struct http_req *r, int status, const char *method, const struct ui_login *l)
{
	/* The script posts /login with the form's tx and csrf; no visible fields. */
	json_t *d = step_data(l, 1, NULL, "step-form");

	if (d)
		json_object_set_new(
		    d, "methods", method_buttons(METHOD_STEP | METHOD_STEP_CERT, method));
	step_send(r, status, l, "step", TXT("step.title"), d);
}

void
ui_cert_step(struct http_req *r, const struct ui_login *l, const char *url)
{
	json_t *d = step_data(l, 1, NULL, NULL);

	if (d)
		json_object_set_new(d, "url", json_string(url));
	step_send(r, 200, l, "step-cert", TXT("cert_step.title"), d);
}

void
ui_unmet(struct http_req *r, const char *back_url, int level)
{
	ui_page(r, 403, "unmet", "err.title",
	    json_pack("{s:s? s:b}", "back", back_url, "aal3", level >= 3));
}

void ui_message(struct http_req *r, int status, const char *title_key, const char *msg_key,
                const char *form_action, const char *csrf, const char *button_key)
{
	/* A confirmation carries the end_session parameters through. */
	static const char *const keep[] = { "post_logout_redirect_uri", "state", "client_id",
		                            "id_token_hint", NULL };
	json_t *d = json_pack("{s:s}", "msg", msg_key), *hidden;

	if (d && form_action) {
		hidden = json_array();
		for (int i = 0; hidden && keep[i]; i++) {
			const char *v = http_param(r, keep[i]);
			if (v)
				json_array_append_new(hidden, json_pack("{s:s, s:s}", "name", keep[i], "value", v));
		}
		json_object_set_new(d, "form", json_pack("{s:s, s:s?, s:o?, s:s}", "action", form_action,
		    "csrf", csrf, "hidden", hidden, "button", button_key));
	}
	ui_page(r, status, "message", title_key, d);
}

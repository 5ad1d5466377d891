/* tests/unit/test_pages.c — the shipped pages (share/): every catalogue holds
 * exactly the same keys; every key the C code names (TXT("..."), and the keys
 * and templates handed to ui_t, ui_error, ui_message, ui_page) and every key a
 * template names exists; every key is used; the pages load as authd loads them
 * and render in both languages; the static files' allow-list. */
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/tmpl.h"
#include "../../modules/method.h"
#include "fixture.h"

static char root[1024];	/* the checkout: three folders above this test */

/* Keys and templates found in the sources, with where. */
struct ref {
	char name[128];
	char where[160];
	int tmpl;	/* a template name, not a key */
};
static struct ref refs[4096];
static size_t nrefs;

static int
setup(void **state)
{
	ssize_t n = readlink("/proc/self/exe", root, sizeof(root) - 1);
	int i;

	(void)state;
	if (n <= 0)
		return -1;
	root[n] = '\0';
	for (i = 0; i < 3; i++)
		*strrchr(root, '/') = '\0';
	return fx_pages_load();
}

static int
teardown(void **state)
{
	(void)state;
	pages_fini();
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p != NULL) {
		p[n] = '\0';
		*len = (size_t)n;
	}
	return p;
}

/* ---------------------------------------------------------------- catalogues */

static json_t *
catalogue(const char *lang)
{
	char path[1100];
	json_error_t je;
	json_t *c;

	snprintf(path, sizeof(path), "%s/share/i18n/%s.json", root, lang);
	c = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (c == NULL)
		fail_msg("%s:%d: %s", path, je.line, je.text);
	return c;
}

static void
test_catalogues_hold_the_same_keys(void **state)
{
	json_t *zh = catalogue("zh-TW"), *en = catalogue("en"), *v;
	const char *k;
	int missing = 0;

	(void)state;
	json_object_foreach(zh, k, v)
		if (json_object_get(en, k) == NULL) {
			print_error("en.json lacks %s\n", k);
			missing++;
		}
	json_object_foreach(en, k, v)
		if (json_object_get(zh, k) == NULL) {
			print_error("zh-TW.json lacks %s\n", k);
			missing++;
		}
	assert_int_equal(missing, 0);
	assert_true(json_object_size(zh) > 200);
	/* every value is text, and no text is left untranslated by accident */
	json_object_foreach(zh, k, v) {
		assert_true(json_is_string(v));
		assert_true(json_string_length(v) > 0);
	}
	assert_string_equal(json_string_value(json_object_get(zh, "lang.tag")), "zh-Hant-TW");
	assert_string_equal(json_string_value(json_object_get(en, "lang.tag")), "en");
	json_decref(zh);
	json_decref(en);
}

/* ---------------------------------------------------------------- the C sources */

/* src with comments blanked out (string and character literals kept). */
static void
blank_comments(char *s)
{
	char *p = s;

	while (*p != '\0') {
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			while (*p != '\0' && *p != q) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
			if (*p != '\0')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			while (*p != '\0' && !(p[0] == '*' && p[1] == '/'))
				*p++ = ' ';
			if (*p != '\0')
				p[0] = p[1] = ' ', p += 2;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p != '\0' && *p != '\n')
				*p++ = ' ';
		} else {
			p++;
		}
	}
}

static int
is_key(const char *s)
{
	static regex_t re;
	static int ready;

	if (!ready) {
		assert_int_equal(regcomp(&re, "^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)+$",
		    REG_EXTENDED | REG_NOSUB), 0);
		ready = 1;
	}
	return regexec(&re, s, 0, NULL, 0) == 0;
}

static void
add_ref(const char *name, size_t n, const char *file, int line, int tmpl)
{
	struct ref *r;

	assert_true(nrefs < sizeof(refs) / sizeof(refs[0]));
	r = &refs[nrefs++];
	snprintf(r->name, sizeof(r->name), "%.*s", (int)n, name);
	snprintf(r->where, sizeof(r->where), "%s:%d", file + strlen(root) + 1, line);
	r->tmpl = tmpl;
}

static int
line_of(const char *start, const char *at)
{
	int l = 1;

	for (; start < at; start++)
		l += *start == '\n';
	return l;
}

/* The string literals from p to the end of the statement (the next ';' outside
 * a literal): dotted ones are keys; with first_tmpl, the first is a template. */
static void
statement_refs(const char *src, const char *p, const char *file, int first_tmpl)
{
	int first = 1;

	while (*p != '\0' && *p != ';') {
		if (*p == '"') {
			const char *e = p + 1;
			char lit[160];
			size_t n;

			while (*e != '\0' && *e != '"')
				e += *e == '\\' ? 2 : 1;
			n = (size_t)(e - p - 1);
			snprintf(lit, sizeof(lit), "%.*s", (int)n, p + 1);
			if (first && first_tmpl)
				add_ref(lit, strlen(lit), file, line_of(src, p), 1);
			else if (is_key(lit))
				add_ref(lit, strlen(lit), file, line_of(src, p), 0);
			first = 0;
			p = *e != '\0' ? e + 1 : e;
		} else {
			p++;
		}
	}
}

static int
scan_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	static const struct {
		const char *call;
		int first_tmpl;
	} calls[] = {
		{ "ui_t(", 0 }, { "ui_error(", 0 }, { "ui_message(", 0 }, { "ui_page(", 1 },
		{ "ui_page_secret(", 1 }, { "pages_text(", 0 },
	};
	size_t len, i, n = strlen(path);
	char *src, *p;

	(void)sb;
	(void)ftw;
	if (flag != FTW_F || n < 3 || (strcmp(path + n - 2, ".c") != 0 && strcmp(path + n - 2, ".h") != 0))
		return 0;
	src = slurp(path, &len);
	assert_non_null(src);
	blank_comments(src);
	for (p = src; (p = strstr(p, "TXT(\"")) != NULL; p += 5) {
		const char *e = strchr(p + 5, '"');

		if (p > src && (p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z')))
			continue;
		if (strncmp(p - 8 > src ? p - 8 : src, "#define ", 8) == 0)
			continue;
		add_ref(p + 5, (size_t)(e - p - 5), path, line_of(src, p), 0);
	}
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		size_t cl = strlen(calls[i].call);

		for (p = src; (p = strstr(p, calls[i].call)) != NULL; p += cl) {
			if (p > src && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
			    (p[-1] >= '0' && p[-1] <= '9')))
				continue;	/* another name ending in this one */
			statement_refs(src, p + cl, path, calls[i].first_tmpl);
		}
	}
	free(src);
	return 0;
}

static void
scan_sources(void)
{
	char dir[1100];

	if (nrefs > 0)
		return;
	snprintf(dir, sizeof(dir), "%s/authd", root);
	assert_int_equal(nftw(dir, scan_file, 16, FTW_PHYS), 0);
	snprintf(dir, sizeof(dir), "%s/modules", root);
	assert_int_equal(nftw(dir, scan_file, 16, FTW_PHYS), 0);
}

static void
test_every_key_the_code_names_exists(void **state)
{
	const struct tmpl_set *s = pages_set();
	size_t i, keys = 0, tmpls = 0;
	int missing = 0;

	(void)state;
	scan_sources();
	for (i = 0; i < nrefs; i++) {
		if (refs[i].tmpl ? tmpl_has(s, refs[i].name) : tmpl_has_key(s, refs[i].name)) {
			refs[i].tmpl ? tmpls++ : keys++;
			continue;
		}
		print_error("%s: no %s \"%s\" in share/\n", refs[i].where,
		    refs[i].tmpl ? "template" : "catalogue key", refs[i].name);
		missing++;
	}
	assert_int_equal(missing, 0);
	/* the scan found what the code names (a broken scan would pass trivially) */
	assert_true(keys > 100);
	assert_true(tmpls > 10);
	/* and every method's label, script and section (as pages_init checks) */
	for (const struct authd_method *const *mp = authd_methods; *mp; mp++) {
		if ((*mp)->ui_label != NULL)
			assert_true(tmpl_has_key(s, (*mp)->ui_label));
		if ((*mp)->ui_script != NULL)
			assert_true(tmpl_has(s, (*mp)->ui_script));
		if ((*mp)->account_template != NULL)
			assert_true(tmpl_has(s, (*mp)->account_template));
	}
}

/* Every key is used: by a template ({{@key}}), a message, or the C code. */
static void
test_every_key_is_used(void **state)
{
	json_t *en = catalogue("en"), *v;
	char path[4096], *all = NULL, needle[160];
	size_t total = 0, i, len;
	const char *k;
	FILE *ls;
	int unused = 0;

	(void)state;
	scan_sources();
	/* all templates and all messages, as one text */
	snprintf(path, sizeof(path), "cat %s/share/templates/*.html %s/share/i18n/en.json", root, root);
	ls = popen(path, "r");
	assert_non_null(ls);
	for (;;) {
		char chunk[4096];
		size_t got = fread(chunk, 1, sizeof(chunk), ls);

		if (got == 0)
			break;
		all = realloc(all, total + got + 1);
		assert_non_null(all);
		memcpy(all + total, chunk, got);
		total += got;
	}
	pclose(ls);
	assert_non_null(all);
	all[total] = '\0';
	json_object_foreach(en, k, v) {
		int used = strncmp(k, "lang.", 5) == 0;	/* the language switch reads them */

		snprintf(needle, sizeof(needle), "{{@%s}}", k);
		used = used || strstr(all, needle) != NULL;
		for (i = 0; !used && i < nrefs; i++)
			used = !refs[i].tmpl && strcmp(refs[i].name, k) == 0;
		(void)len;
		if (!used) {
			print_error("share/i18n: key %s is used nowhere\n", k);
			unused++;
		}
	}
	free(all);
	json_decref(en);
	assert_int_equal(unused, 0);
}

/* ---------------------------------------------------------------- rendering */

static char *
page(const char *name, const char *lang, const char *data)
{
	json_t *d = json_loads(data, 0, NULL);
	char err[512] = "";
	struct buf b;
	char *out;

	assert_non_null(d);
	buf_init(&b);
	if (pages_render(name, lang, d, &b, err, sizeof(err)) != 0)
		fail_msg("%s (%s): %s", name, lang, err);
	out = strdup(buf_str(&b));
	buf_free(&b);
	json_decref(d);
	/* a whole document, every tag of the engine gone */
	assert_int_equal(strncmp(out, "<!doctype html>\n<html lang=\"", 28), 0);
	assert_non_null(strstr(out, "</html>\n"));
	assert_null(strstr(out, "{{"));
	assert_null(strstr(out, "}}"));
	return out;
}

static void
test_pages_render_in_both_languages(void **state)
{
	static const struct {
		const char *name, *data;
	} pages[] = {
		{ "error",
		    "{\"title\": \"err.title\", \"msg\": \"err.csrf\", \"detail\": \"<x>\"}" },
		{ "message",
		    "{\"title\": \"logout.title\", \"msg\": \"logout.confirm\", \"form\": {\"action\": "
		    "\"/logout\", \"csrf\": \"c\", \"hidden\": [{\"name\": \"state\", \"value\": \"s\"}], "
		    "\"button\": \"logout.button\"}}" },
		{ "login",
		    "{\"title\": \"login.title\", \"tx\": \"t\", \"csrf\": \"c\", \"method\": \"password\", "
		    "\"error\": \"bad\", \"alert\": true, \"retry_min\": 15, \"expires_in\": 540, \"methods\": [{\"name\": \"webauthn\", "
		    "\"label\": \"webauthn.button\", \"script\": \"webauthn-script\"}, {\"name\": \"x509\", \"label\": "
		    "\"x509.button\", \"script\": \"x509-script\"}]}" },
		{ "otp",
		    "{\"title\": \"otp.title\", \"tx\": \"t\", \"csrf\": \"c\", \"method\": \"totp\", "
		    "\"show_user\": true, \"username\": \"lin\"}" },
		{ "step",
		    "{\"title\": \"step.title\", \"tx\": \"t\", \"csrf\": \"c\", \"form_id\": \"step-form\"}" },
		{ "unmet",
		    "{\"title\": \"err.title\", \"back\": \"https://app.example/cb?error=x\"}" },
		{ "device-enter",
		    "{\"title\": \"device.title\", \"error\": \"device.bad_code\", \"typed\": \"t\"}" },
		{ "device-confirm",
		    "{\"title\": \"device.title\", \"client\": \"App\", \"shown\": \"ABCD-EFGH\", "
		    "\"code\": \"ABCDEFGH\", \"csrf\": \"c\"}" },
		{ "device-host",
		    "{\"title\": \"device.host_title\", \"host\": \"h1\", \"from\": \"1.2.3.4\", "
		    "\"time\": \"-\", \"shown\": \"ABCD-EFGH\", \"other\": true, \"account\": \"lin\"}" },
		{ "account",
		    "{\"title\": \"account.title\", \"username\": \"lin\", \"csrf\": \"c\", \"step_up\": true,"
		    " \"unseen_count\": 1, \"has_events\": true, \"events\": [{\"unseen\": true, \"reset\": false, "
		    "\"key\": \"account.ev.add.self\", \"what\": \"account.what.webauthn\", \"label\": \"Key\", \"ip\":"
		    " \"1.2.3.4\", \"date\": \"2025-01-01 10:00\", \"iso\": \"2025-01-01T10:00+0800\"}, {\"reset\": "
		    "true, \"unseen\": false}], \"sections\": [{\"template\": \"account-password\"}, {\"template\": "
		    "\"account-totp\", \"active\": true, \"pending\": false, \"recovery_left\": 9}, {\"template\": "
		    "\"account-x509\", \"has_cards\": true, \"cards\": [{\"cn\": \"林\", \"last4\": \"1234\", \"day\": "
		    "\"2030-01-01\", \"id\": \"a:b\"}]}, {\"template\": \"account-webauthn\", \"has_keys\": true, "
		    "\"keys\": [{\"name\": \"K\", \"ref\": \"r\", \"hw\": false, \"why\": \"webauthn.why.synced\", "
		    "\"denied\": false, \"created\": \"2025-01-01 10:00\", \"last_used\": null, \"suspicious\": true}]}],"
		    " \"second_factor\": {\"on\": true}}" },
		{ "account-enrol",
		    "{\"title\": \"account.enrol.title\", \"error\": \"account.enrol.wrong\", \"qr\": "
		    "{\"size\": 29, \"px\": 145, \"d\": \"M4 4h7v1h-7z\"}, \"secret\": \"ABCD EFGH\", \"csrf\": \"c\"}" },
		{ "account-codes",
		    "{\"title\": \"account.codes.title\", \"codes\": [\"a\", \"b\"], \"download\": "
		    "\"lin%0D%0A%0D%0Aa%0D%0Ab%0D%0A\"}" },
		{ "account-confirm",
		    "{\"title\": \"account.remove.title\", \"text\": \"account.remove.confirm\", "
		    "\"action\": \"totp_remove\", \"button\": \"account.remove.button\", \"csrf\": \"c\", "
		    "\"destructive\": true}" },
		{ "webauthn-fail",
		    "{\"title\": \"webauthn.fail.title\", \"msg\": \"webauthn.fail.full\"}" },
		{ "webauthn-remove",
		    "{\"title\": \"webauthn.remove.title\", \"after\": \"aal1\", \"csrf\": \"c\", "
		    "\"ref\": \"r\"}" },
	};
	static const char *const langs[] = { "zh-TW", "en" };
	size_t i, l;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		for (l = 0; l < 2; l++)
			free(page(pages[i].name, langs[l], pages[i].data));
	/* what the sign-in page says and carries */
	out = page("login", "en", pages[2].data);
	assert_non_null(strstr(out, "<html lang=\"en\">"));
	assert_non_null(strstr(out, "<title>Sign in — City Single Sign-On</title>"));
	assert_non_null(strstr(out,
	    "<p role=\"alert\" class=\"error\" id=\"login-error\">bad Try again in 15 minutes.</p>"));
	/* the warning before the sign-in expires: a live region and its script */
	assert_non_null(
	    strstr(out, "<p id=\"expiry\" role=\"status\" aria-live=\"polite\" data-left=\"540\""));
	assert_non_null(strstr(out, "data-soon=\"This sign-in page expires in 2 minutes."));
	assert_non_null(strstr(out, "<script src=\"/static/expiry.js?v="));
	/* no [branding]: no city name, logo or footer */
	assert_null(strstr(out, "<footer>"));
	assert_null(strstr(out, "class=\"logo\""));
	assert_non_null(strstr(out, "aria-describedby=\"login-error\""));
	assert_non_null(strstr(out, "id=\"method-webauthn\">Sign in with a security key or passkey</button>"));
	assert_non_null(strstr(out, "data-cancelled=\"Cancelled or timed out."));
	assert_non_null(strstr(out, "<link rel=\"stylesheet\" href=\"/static/authd.css?v="));
	free(out);
	out = page("login", "zh-TW", pages[2].data);
	assert_non_null(strstr(out, "<html lang=\"zh-Hant-TW\">"));
	assert_non_null(strstr(out, ">使用安全金鑰或通行密鑰登入</button>"));
	assert_non_null(strstr(out, "bad 請於 15 分鐘後再試。</p>"));
	free(out);
	/* the account page: an event as a sentence, each section, the warning */
	out = page("account", "en", pages[9].data);
	assert_non_null(strstr(out, "A new sign-in method was added on <time datetime=\"2025-01-01T10:00+0800\">"
	    "2025-01-01 10:00</time> from 1.2.3.4: security key or passkey \xe2\x80\x9cKey\xe2\x80\x9d.</li>"));
	assert_non_null(strstr(out, "The help desk reset your two-step verification."));
	assert_non_null(strstr(out, "林 (ID ending 1234) — valid until 2030-01-01"));
	assert_non_null(strstr(out, "<span class=\"key-note\">A synced passkey"));
	assert_non_null(strstr(out, "This key&#39;s counter went backwards"));
	assert_non_null(strstr(out, "Recovery codes left: 9</p>"));
	/* what is true of TOTP: every sign-in asks it while the preference is on */
	assert_non_null(strstr(out, "On: every sign-in asks for your second step</p>"));
	assert_non_null(strstr(out, "Someone who learns only your password cannot sign in."));
	assert_null(strstr(out, "still sign you in with the password alone"));
	assert_non_null(strstr(out,
	    "<input type=\"hidden\" name=\"ask\" value=\"off\">\n"
	    "<button type=\"submit\" class=\"secondary\">Ask only where a service requires it"));
	assert_null(strstr(out, "AAL"));
	assert_non_null(strstr(out, "id=\"step-up-needed\""));
	free(out);
	/* ...and off: the password alone opens the services that do not require it */
	{
		json_t *d = json_loads(pages[9].data, 0, NULL);
		char *off;

		assert_non_null(d);
		json_object_set_new(d, "second_factor", json_pack("{s:b}", "on", 0));
		off = json_dumps(d, 0);
		json_decref(d);
		assert_non_null(off);
		out = page("account", "en", off);
		free(off);
		assert_non_null(
		    strstr(out, "Off: only services that require it ask for your second step"));
		assert_non_null(strstr(out, "Other services sign you in with your password alone"));
		assert_null(strstr(out, "On: every sign-in asks"));
		free(out);
	}
	out = page("account", "zh-TW", pages[9].data);
	assert_non_null(strstr(out, "已開啟：每次登入都會要求第二步驟"));
	free(out);
	/* new recovery codes: shown once, with a text download and a print button */
	out = page("account-codes", "en", pages[11].data);
	assert_non_null(strstr(out,
	    "<a id=\"download-codes\" href=\"data:text/plain;charset=utf-8,"
	    "lin%0D%0A%0D%0Aa%0D%0Ab%0D%0A\" download=\"recovery-codes.txt\">"));
	assert_non_null(strstr(out, "id=\"print-codes\" hidden>Print the codes</button>"));
	assert_non_null(strstr(out, "<script src=\"/static/print.js?v="));
	free(out);
	/* a removal's confirmation: the button styled as destructive */
	out = page("account-confirm", "en", pages[12].data);
	assert_non_null(strstr(out, "<button type=\"submit\" class=\"secondary\">Remove</button>"));
	free(out);
}

/* What issue 15 asked of the pages: errors with a way back and whom to ask,
 * Deny unlike Allow, no promise logout cannot keep, no SSH for citizens, and
 * the city's [branding] on every page when configured. */
static void
test_pages_tell_the_truth(void **state)
{
	char *out;

	(void)state;
	out = page(
	    "error", "zh-TW", "{\"title\": \"err.not_found.title\", \"msg\": \"err.not_found\"}");
	assert_non_null(strstr(out, "<html lang=\"zh-Hant-TW\">"));
	assert_non_null(strstr(out, "<title>找不到這個頁面 — "));
	assert_non_null(strstr(out, "<a href=\"/account\">前往我的帳號</a>"));
	assert_non_null(strstr(out, "1999"));
	free(out);
	out = page("device-confirm", "en",
	    "{\"title\": \"device.title\", \"client\": \"App\", "
	    "\"shown\": \"ABCD-EFGH\", \"code\": \"ABCDEFGH\", \"csrf\": \"c\"}");
	assert_non_null(strstr(out, "value=\"deny\" class=\"secondary\">Deny</button>"));
	assert_null(strstr(out, "value=\"approve\" class="));
	free(out);
	out = page("device-enter", "en", "{\"title\": \"device.title\", \"typed\": \"t\"}");
	assert_null(strstr(out, "SSH"));
	free(out);
	out = page("device-enter", "zh-TW", "{\"title\": \"device.title\", \"typed\": \"t\"}");
	assert_null(strstr(out, "SSH"));
	assert_null(strstr(out, "8 碼"));
	free(out);
	out = page("message", "en", "{\"title\": \"logout.title\", \"msg\": \"logout.confirm\"}");
	assert_null(strstr(out, "Every application"));
	assert_non_null(strstr(out, "Applications you already have open are not signed out"));
	free(out);
	out =
	    page("message", "zh-TW", "{\"title\": \"logout.title\", \"msg\": \"logout.confirm\"}");
	assert_null(strstr(out, "所有使用這個登入的應用程式"));
	free(out);
	out = page("error", "en",
	    "{\"title\": \"err.title\", \"msg\": \"err.csrf\", \"brand\": {\"name\": "
	    "\"Taipei City Government\", \"logo\": \"/static/authd.css?v=1\", \"css\": \"/static/c.css?v=2\", "
	    "\"privacy\": \"https://city.example/privacy\", \"contact\": \"1999\", \"contact_url\": "
	    "\"tel:1999\", \"links\": true}}");
	assert_non_null(strstr(out,
	    "<title>Sign-in could not be completed — Taipei City Government City Single "
	    "Sign-On</title>"));
	assert_non_null(strstr(out, "<link rel=\"stylesheet\" href=\"/static/c.css?v=2\">"));
	assert_non_null(strstr(out, "<img class=\"logo\" src=\"/static/authd.css?v=1\" alt=\"\">"));
	assert_non_null(
	    strstr(out, "<li><a href=\"https://city.example/privacy\">Privacy policy</a></li>"));
	assert_non_null(strstr(out, "<li>Citizen hotline: <a href=\"tel:1999\">1999</a></li>"));
	assert_null(strstr(out, "Security policy"));
	free(out);
}

/* ---------------------------------------------------------------- static files */

static void
test_static_allow_list(void **state)
{
	static const char *const shipped[] = { "authd.css", "webauthn.js", "x509.js", NULL };
	size_t i;

	(void)state;
	for (i = 0; shipped[i] != NULL; i++) {
		const char *u = pages_static_url(shipped[i]);

		assert_non_null(u);
		assert_int_equal(strncmp(u, "/static/", 8), 0);
		assert_int_equal(strlen(u), 8 + strlen(shipped[i]) + 3 + 16);
	}
	assert_null(pages_static_url("../authd.conf"));
	assert_null(pages_static_url("authd.css/"));
	assert_null(pages_static_url(""));
	assert_null(pages_static_url(NULL));
	assert_null(pages_static_url("README.md"));
}

/* ---------------------------------------------------------------- start-up */

/* A deployment's folder with a broken template, a missing key or no default
 * language: pages_init refuses and names the file. */
static void
test_init_refuses_broken_pages(void **state)
{
	char dir[FX_DIR_MAX], cmd[8192], path[2048], err[1024];
	struct conf c;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, "pages"), 0);
	snprintf(cmd, sizeof(cmd), "cp -r %s/share/templates %s/share/i18n %s/share/static %s/", root, root,
	    root, dir);
	assert_int_equal(system(cmd), 0);
	memset(&c, 0, sizeof(c));
	c.default_lang = (char *)"zh-TW";
	snprintf(path, sizeof(path), "%s/templates", dir);
	c.ui_templates = strdup(path);
	snprintf(path, sizeof(path), "%s/i18n", dir);
	c.ui_i18n = strdup(path);
	snprintf(path, sizeof(path), "%s/static", dir);
	c.ui_static = strdup(path);
	/* the copy loads */
	assert_int_equal(pages_check(&c, err, sizeof(err)), 0);
	/* a template that does not parse */
	snprintf(path, sizeof(path), "%s/templates/unmet.html", dir);
	assert_int_equal(fx_write_file(path, "{{> _head}}\n<p>\n{{#back}}\n{{> _foot}}\n"), 0);
	assert_int_equal(pages_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unmet.html:3"));
	/* a page authd renders is missing */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pages_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unmet.html"));
	snprintf(cmd, sizeof(cmd), "cp %s/share/templates/unmet.html %s/templates/", root, dir);
	assert_int_equal(system(cmd), 0);
	/* a key one catalogue lacks */
	snprintf(path, sizeof(path), "%s/i18n/en.json", dir);
	assert_int_equal(fx_write_file(path, "{\"site\": \"x\"}\n"), 0);
	assert_int_equal(pages_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "en.json"));
	/* a third language that is complete is just a file */
	snprintf(cmd, sizeof(cmd), "cp %s/share/i18n/en.json %s/i18n/en.json && "
	    "sed 's/\"lang.tag\": \"en\"/\"lang.tag\": \"ja\"/' %s/share/i18n/en.json > %s/i18n/ja.json",
	    root, dir, root, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pages_check(&c, err, sizeof(err)), 0);
	c.default_lang = (char *)"fr";
	assert_int_equal(pages_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "default_lang"));
	c.default_lang = (char *)"zh-TW";
	/* a file in static/ authd would not serve */
	snprintf(path, sizeof(path), "%s/static/notes.md", dir);
	assert_int_equal(fx_write_file(path, "x"), 0);
	assert_int_equal(pages_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "notes.md"));
	free(c.ui_templates);
	free(c.ui_i18n);
	free(c.ui_static);
	assert_int_equal(fx_rmtree(dir), 0);
	/* the shipped pages are loaded again for the other tests */
	assert_int_equal(fx_pages_load(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogues_hold_the_same_keys),
		cmocka_unit_test(test_every_key_the_code_names_exists),
		cmocka_unit_test(test_every_key_is_used),
		cmocka_unit_test(test_pages_render_in_both_languages),
		cmocka_unit_test(test_pages_tell_the_truth),
		cmocka_unit_test(test_static_allow_list),
		cmocka_unit_test(test_init_refuses_broken_pages),
	};

	return cmocka_run_group_tests_name("pages", tests, setup, teardown);
}

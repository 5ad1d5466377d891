/* tests/unit/test_tmpl.c — the page template engine (lib/tmpl.h): escaping in
 * every context a value may stand in, the contexts it may not stand in, URL
 * attributes, sections and loops over JSON, includes, messages in two
 * languages, raw values only when marked safe, and every kind of malformed
 * template or catalogue refused with its file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/tmpl.h"
#include "fixture.h"

static const char zh_cat[] =
	"{\"hello\": \"你好 & <再見>\", \"greet\": \"歡迎 {{name}}\", \"when\": \"於 {{>time}} 完成\","
	" \"what.key\": \"金鑰「{{label}}」\", \"said\": \"{{@[what]}}已新增\", \"lang.name\": \"中文\"}";
static const char en_cat[] =
	"{\"hello\": \"Hello & <bye>\", \"greet\": \"Welcome {{name}}\", \"when\": \"done on {{>time}}\","
	" \"what.key\": \"key \\u201c{{label}}\\u201d\", \"said\": \"{{@[what]}} was added\", \"lang.name\": \"English\"}";

/* A compiled set of the two catalogues, one static file and the templates
 * given as name, text pairs (NULL-terminated); NULL with err on a refusal. */
static struct tmpl_set *
mk(const char *const *t, char *err, size_t errsz)
{
	struct tmpl_set *s = tmpl_set_new();
	size_t i;

	assert_non_null(s);
	assert_int_equal(tmpl_add_catalogue(s, "zh-TW", "zh-TW.json", zh_cat, strlen(zh_cat), err,
	    errsz), 0);
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", en_cat, strlen(en_cat), err, errsz), 0);
	assert_int_equal(tmpl_add_asset(s, "a.css", "/static/a.css?v=1234", err, errsz), 0);
	for (i = 0; t[i] != NULL && strcmp(t[i], "time") != 0; i += 2)
		;
	if (t[i] == NULL)	/* the catalogues' "when" includes it */
		assert_int_equal(tmpl_add_template(s, "time", "time.html", "<time>{{date}}</time>\n", 22, err,
		    errsz), 0);
	for (i = 0; t[i] != NULL; i += 2) {
		char origin[64];

		snprintf(origin, sizeof(origin), "%s.html", t[i]);
		if (tmpl_add_template(s, t[i], origin, t[i + 1], strlen(t[i + 1]), err, errsz) != 0) {
			tmpl_set_free(s);
			return NULL;
		}
	}
	if (tmpl_compile(s, err, errsz) != 0) {
		tmpl_set_free(s);
		return NULL;
	}
	return s;
}

/* The output of template name in lang with data (JSON text, may be NULL),
 * malloc'd; NULL with err when rendering failed. */
static char *
render(const struct tmpl_set *s, const char *name, const char *lang, const char *data, char *err,
    size_t errsz)
{
	json_t *d = data != NULL ? json_loads(data, 0, NULL) : NULL;
	struct buf b;
	char *out = NULL;

	if (data != NULL)
		assert_non_null(d);
	buf_init(&b);
	if (tmpl_render(s, name, lang, d, &b, err, errsz) == 0)
		out = strdup(b.len > 0 ? buf_str(&b) : "");
	buf_free(&b);
	json_decref(d);
	return out;
}

/* One template "t", rendered in en with data: the output (malloc'd). */
static char *
one(const char *tpl, const char *data)
{
	const char *t[] = { "t", tpl, NULL };
	char err[512] = "";
	struct tmpl_set *s = mk(t, err, sizeof(err));
	char *out;

	if (s == NULL)
		fail_msg("compile: %s", err);
	out = render(s, "t", "en", data, err, sizeof(err));
	if (out == NULL)
		fail_msg("render: %s", err);
	tmpl_set_free(s);
	return out;
}

static void
expect(const char *tpl, const char *data, const char *want)
{
	char *got = one(tpl, data);

	if (strcmp(got, want) != 0)
		fail_msg("template %s\n got: %s\nwant: %s", tpl, got, want);
	free(got);
}

/* The template is refused at compile, with an error that holds each part. */
static void
refused(const char *tpl, const char *part1, const char *part2)
{
	const char *t[] = { "t", tpl, NULL };
	char err[512] = "";
	struct tmpl_set *s = mk(t, err, sizeof(err));

	if (s != NULL) {
		tmpl_set_free(s);
		fail_msg("template %s was accepted", tpl);
	}
	if (strstr(err, part1) == NULL || (part2 != NULL && strstr(err, part2) == NULL))
		fail_msg("template %s: error \"%s\" lacks \"%s\" / \"%s\"", tpl, err, part1,
		    part2 ? part2 : "");
}

/* ---------------------------------------------------------------- escaping */

static void
test_escape_every_context(void **state)
{
	const char *evil = "{\"v\": \"<script>alert(\\\"x\\\")</script>'&\"}";
	const char *esc = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;";
	char want[512];

	(void)state;
	/* element text, a double- and a single-quoted attribute, <title>, <textarea> */
	snprintf(want, sizeof(want), "<p>%s</p>", esc);
	expect("<p>{{v}}</p>", evil, want);
	snprintf(want, sizeof(want), "<p title=\"%s\">", esc);
	expect("<p title=\"{{v}}\">", evil, want);
	snprintf(want, sizeof(want), "<p title='%s'>", esc);
	expect("<p title='{{v}}'>", evil, want);
	snprintf(want, sizeof(want), "<title>%s</title>", esc);
	expect("<title>{{v}}</title>", evil, want);
	snprintf(want, sizeof(want), "<textarea>%s</textarea>", esc);
	expect("<textarea>{{v}}</textarea>", evil, want);
	/* after other text in a URL attribute: escaped, not checked */
	expect("<a href=\"/go?u={{v}}\">", "{\"v\": \"javascript:x&y\"}",
	    "<a href=\"/go?u=javascript:x&amp;y\">");
	/* numbers, booleans; objects and null render nothing */
	expect("{{i}} {{r}} {{t}} {{f}} [{{o}}{{n}}]",
	    "{\"i\": -42, \"r\": 1.5, \"t\": true, \"f\": false, \"o\": {\"a\": 1}, \"n\": null}",
	    "-42 1.5 true false []");
	/* a message's own text is escaped, and so are its values */
	expect("<p>{{@hello}}</p><p>{{@greet}}</p>", "{\"name\": \"<b>\"}",
	    "<p>Hello &amp; &lt;bye&gt;</p><p>Welcome &lt;b&gt;</p>");
	expect("<input value=\"{{@greet}}\">", "{\"name\": \"\\\"x\"}",
	    "<input value=\"Welcome &quot;x\">");
}

static void
test_url_attributes(void **state)
{
	static const char *const blocked[] = { "javascript:alert(1)", "JaVaScRiPt:alert(1)",
		" javascript:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd", NULL };
	static const char *const kept[] = { "/account", "https://app.example/cb?a=1", "http://x",
		"?lang=en", "#top", "mailto:it@city.example", "tel:1999", "relative/path:x", NULL };
	char data[256], want[256];
	size_t i;

	(void)state;
	for (i = 0; blocked[i] != NULL; i++) {
		snprintf(data, sizeof(data), "{\"u\": \"%s\"}", blocked[i]);
		expect("<a href=\"{{u}}\">", data, "<a href=\"about:invalid#blocked\">");
		expect("<form action='{{u}}'>", data, "<form action='about:invalid#blocked'>");
		expect("<img src=\"{{u}}\">", data, "<img src=\"about:invalid#blocked\">");
	}
	for (i = 0; kept[i] != NULL; i++) {
		snprintf(data, sizeof(data), "{\"u\": \"%s\"}", kept[i]);
		snprintf(want, sizeof(want), "<a href=\"%s\">", kept[i]);
		expect("<a href=\"{{u}}\">", data, want);
	}
	/* a static file's URL is ours */
	expect("<link rel=\"stylesheet\" href=\"{{%a.css}}\">", NULL,
	    "<link rel=\"stylesheet\" href=\"/static/a.css?v=1234\">");
	refused("<a href=\"{{@hello}}\">", "t.html:1", "may not begin a URL");
}

static void
test_refused_contexts(void **state)
{
	(void)state;
	refused("<a href={{u}}>", "t.html:1", "unquoted");
	refused("<p class=x{{u}}>", "t.html:1", "unquoted");
	refused("<{{t}}>", "t.html:1", "inside a tag");
	refused("<p {{a}}=\"1\">", "t.html:1", "inside a tag");
	refused("<p>\n<script>var a = \"{{v}}\";</script>", "t.html:2", "<script>");
	refused("<style>p{color:{{c}}}</style>", "t.html:1", "<style>");
	refused("<p onclick=\"go('{{v}}')\">", "t.html:1", "event-handler");
	refused("<p OnMouseOver=\"{{v}}\">", "t.html:1", "event-handler");
	refused("<p style=\"color:{{c}}\">", "t.html:1", "style");
	refused("<!-- {{v}} -->", "t.html:1", "comment");
	refused("<p>{{@[k]}}<script src=\"x\">{{@hello}}</script>", "t.html:1", "<script>");
	refused("<p>{{> t2}}", "t.html", "no template \"t2\"");
	refused("<p class=\"{{> t}}\">", "t.html:1", "element text");
	refused("<p title=\"{{{raw}}}\">", "t.html:1", "element text");
	refused("<p title=\"{{@when}}\">", "t.html:1", "cannot stand in an attribute");
	refused("<p", "t.html:1", "ends inside a tag");
	refused("<script>", "t.html:1", "ends inside");
	/* a section must end in the context it began in */
	refused("<p{{#a}} class=\"x{{/a}}\">", "t.html:1", "another HTML context");
	/* </script> of another element does not end a script; its own does */
	expect("<script src=\"x\"></script><p>{{v}}</p>", "{\"v\": 1}", "<script src=\"x\"></script><p>1</p>");
	expect("<style>a{}</style>{{v}}", "{\"v\": 1}", "<style>a{}</style>1");
	expect("<!-- a > b -->{{v}}<!---->{{v}}", "{\"v\": 2}", "<!-- a > b -->2<!---->2");
	expect("<!doctype html><p data-long-attribute-name-here=\"{{v}}\">", "{\"v\": 3}",
	    "<!doctype html><p data-long-attribute-name-here=\"3\">");
}

/* ---------------------------------------------------------------- sections */

static void
test_sections_and_loops(void **state)
{
	(void)state;
	/* an array of objects, an array of strings, an object pushed, a true value */
	expect("{{#keys}}[{{name}}:{{#hw}}hw{{/hw}}{{^hw}}sw{{/hw}}]{{/keys}}",
	    "{\"keys\": [{\"name\": \"a\", \"hw\": true}, {\"name\": \"b\", \"hw\": false}]}",
	    "[a:hw][b:sw]");
	expect("<ol>{{#codes}}<li>{{.}}</li>{{/codes}}</ol>", "{\"codes\": [\"x\", \"y\"]}",
	    "<ol><li>x</li><li>y</li></ol>");
	expect("{{#user}}{{name}}/{{id}}{{/user}}", "{\"user\": {\"name\": \"n\"}, \"id\": 7}", "n/7");
	expect("{{#n}}n={{n}}{{/n}}", "{\"n\": 5}", "n=5");
	/* false: missing, null, false, "", 0, [] */
	expect("{{#a}}A{{/a}}{{#b}}B{{/b}}{{#c}}C{{/c}}{{#d}}D{{/d}}{{#e}}E{{/e}}{{#f}}F{{/f}}|"
	    "{{^a}}a{{/a}}{{^b}}b{{/b}}{{^c}}c{{/c}}{{^d}}d{{/d}}{{^e}}e{{/e}}{{^f}}f{{/f}}",
	    "{\"b\": null, \"c\": false, \"d\": \"\", \"e\": 0, \"f\": []}", "|abcdef");
	/* nested loops; names found in the nearest context, then outwards */
	expect("{{#rows}}{{#cells}}{{v}}{{sep}}{{/cells}};{{/rows}}",
	    "{\"sep\": \",\", \"rows\": [{\"cells\": [{\"v\": 1}, {\"v\": 2, \"sep\": \"!\"}]}, {\"cells\": []}]}",
	    "1,2!;;");
	/* dotted names */
	expect("{{qr.size}}x{{qr.px}} {{qr.no.such}}{{no.such}}", "{\"qr\": {\"size\": 29, \"px\": 145}}",
	    "29x145 ");
	/* a null member hides an outer one of the same name */
	expect("{{#k}}{{why}}{{/k}}", "{\"why\": \"outer\", \"k\": [{\"why\": null}]}", "");
	/* a line holding only a section or comment tag goes away with its line end */
	expect("<ul>\n{{#l}}\n<li>{{.}}</li>\n{{/l}}\n</ul>\n{{! note }}\nend\n",
	    "{\"l\": [\"a\", \"b\"]}", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\nend\n");
	expect("  {{#l}}  \r\nx\n  {{/l}}\n", "{\"l\": [1]}", "x\n");
	/* not alone on its line: kept */
	expect("a {{#l}}\nx{{/l}} b", "{\"l\": true}", "a \nx b");
}

static void
test_includes(void **state)
{
	const char *t[] = {
		"page", "{{> head}}\n<p>{{@when}}</p>\n{{#sections}}\n{{>[template]}}\n{{/sections}}\n{{> foot}}\n",
		"head", "<h1>{{title}}</h1>\n",
		"foot", "<footer>{{@lang.name}}</footer>\n",
		"time", "<time datetime=\"{{iso}}\">{{date}}</time>\n",
		"sec-a", "<h3>A {{n}}</h3>\n",
		"sec-b", "<h3>B {{title}}</h3>\n",
		NULL,
	};
	const char *data = "{\"title\": \"T\", \"iso\": \"2025-01-02T03:04+0800\", \"date\": \"2025-01-02\","
	    " \"sections\": [{\"template\": \"sec-a\", \"n\": 1}, {\"template\": \"sec-b\"}]}";
	char err[512] = "", *out;
	struct tmpl_set *s = mk(t, err, sizeof(err));

	(void)state;
	if (s == NULL)
		fail_msg("%s", err);
	out = render(s, "page", "en", data, err, sizeof(err));
	assert_non_null(out);
	/* a partial alone on its line takes the line's place; inside a line it
	 * drops its last line end; a section's data sees the outer data */
	assert_string_equal(out, "<h1>T</h1>\n<p>done on <time datetime=\"2025-01-02T03:04+0800\">"
	    "2025-01-02</time></p>\n<h3>A 1</h3>\n<h3>B T</h3>\n<footer>English</footer>\n");
	free(out);
	out = render(s, "page", "zh-TW", data, err, sizeof(err));
	assert_non_null(strstr(out, "<p>於 <time datetime="));
	assert_non_null(strstr(out, "<footer>中文</footer>"));
	free(out);
	/* a dynamic include that names no template: refused at rendering */
	out = render(s, "page", "en", "{\"sections\": [{\"template\": \"nope\"}]}", err, sizeof(err));
	assert_null(out);
	assert_non_null(strstr(err, "no template \"nope\""));
	out = render(s, "page", "en", "{\"sections\": [{\"template\": 5}]}", err, sizeof(err));
	assert_null(out);
	/* unknown template or language */
	assert_null(render(s, "nope", "en", NULL, err, sizeof(err)));
	assert_null(render(s, "page", "fr", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "fr"));
	assert_true(tmpl_has(s, "sec-a"));
	assert_false(tmpl_has(s, "sec-c"));
	tmpl_set_free(s);
}

static void
test_include_cycles(void **state)
{
	const char *loop[] = { "a", "{{> b}}", "b", "x{{#s}}{{> a}}{{/s}}", NULL };
	const char *self[] = { "a", "{{> a}}", NULL };
	const char *dyn[] = { "a", "{{#s}}{{>[t]}}{{/s}}", NULL };
	char err[512] = "", *out;
	struct tmpl_set *s;

	(void)state;
	assert_null(mk(loop, err, sizeof(err)));
	assert_non_null(strstr(err, "includes itself"));
	assert_null(mk(self, err, sizeof(err)));
	assert_non_null(strstr(err, "includes itself"));
	/* a cycle only the data makes stops at the depth limit, not the stack */
	s = mk(dyn, err, sizeof(err));
	assert_non_null(s);
	out = render(s, "a", "en", "{\"s\": true, \"t\": \"a\"}", err, sizeof(err));
	assert_null(out);
	assert_non_null(strstr(err, "too deep"));
	tmpl_set_free(s);
}

/* ---------------------------------------------------------------- messages */

static void
test_messages(void **state)
{
	const char *t[] = {
		"t", "{{@hello}}|{{@[k]}}|{{@said}}",
		"time", "<time>{{date}}</time>\n",
		NULL,
	};
	char err[512] = "", *out;
	struct tmpl_set *s = mk(t, err, sizeof(err));

	(void)state;
	assert_non_null(s);
	out = render(s, "t", "en", "{\"k\": \"greet\", \"name\": \"Lin\", \"what\": \"what.key\","
	    " \"label\": \"<Office>\"}", err, sizeof(err));
	assert_string_equal(out, "Hello &amp; &lt;bye&gt;|Welcome Lin|key \xe2\x80\x9c&lt;Office&gt;"
	    "\xe2\x80\x9d was added");
	free(out);
	out = render(s, "t", "zh-TW", "{\"k\": \"hello\", \"what\": \"what.key\", \"label\": \"A\"}", err,
	    sizeof(err));
	assert_string_equal(out, "你好 &amp; &lt;再見&gt;|你好 &amp; &lt;再見&gt;|金鑰「A」已新增");
	free(out);
	/* a key the data names that does not exist: refused, not shown as a key */
	assert_null(render(s, "t", "en", "{\"k\": \"no.such\"}", err, sizeof(err)));
	assert_non_null(strstr(err, "no message \"no.such\""));
	/* a message naming itself through the data: the depth limit */
	assert_null(render(s, "t", "en", "{\"k\": \"said\", \"what\": \"said\"}", err, sizeof(err)));
	assert_non_null(strstr(err, "too deep"));
	/* the plain text, for JSON replies */
	assert_string_equal(tmpl_text(s, "en", "hello"), "Hello & <bye>");
	assert_string_equal(tmpl_text(s, "zh-TW", "greet"), "歡迎 {{name}}");
	assert_null(tmpl_text(s, "en", "nope"));
	assert_null(tmpl_text(s, "fr", "hello"));
	assert_true(tmpl_has_key(s, "what.key"));
	assert_false(tmpl_has_key(s, "what"));
	tmpl_set_free(s);
	/* a key no catalogue has: refused at compile, with the template's line */
	refused("x\n\n{{@no.such.key}}", "t.html:3", "no message \"no.such.key\"");
}

static void
test_catalogues_must_agree(void **state)
{
	struct tmpl_set *s;
	char err[512] = "";
	const char *a = "{\"a\": \"1\", \"b\": \"2\"}", *b = "{\"a\": \"1\"}", *c = "{\"a\": \"1\", \"c\": \"3\"}";

	(void)state;
	s = tmpl_set_new();
	assert_int_equal(tmpl_add_catalogue(s, "zh-TW", "i18n/zh-TW.json", a, strlen(a), err,
	    sizeof(err)), 0);
	assert_int_equal(tmpl_add_catalogue(s, "en", "i18n/en.json", b, strlen(b), err, sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "i18n/en.json"));
	assert_non_null(strstr(err, "\"b\" is missing"));
	tmpl_set_free(s);
	s = tmpl_set_new();
	assert_int_equal(tmpl_add_catalogue(s, "zh-TW", "zh.json", a, strlen(a), err, sizeof(err)), 0);
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", c, strlen(c), err, sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"b\" is missing"));
	tmpl_set_free(s);
	/* no catalogue at all */
	s = tmpl_set_new();
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	tmpl_set_free(s);
}

static void
test_malformed_catalogues(void **state)
{
	static const struct {
		const char *json, *part;
	} bad[] = {
		{ "{\"a\": \"1\",\n\"b\": }", "x.json:2" },
		{ "[\"a\"]", "one JSON object" },
		{ "{\"a\": 1}", "must be a string" },
		{ "{\"a\": {\"b\": \"c\"}}", "must be a string" },
		{ "{\"a\": \"1\", \"a\": \"2\"}", "x.json:1" },
		{ "{\"bad key\": \"1\"}", "bad key" },
		{ "{\"a..b\": \"1\"}", "bad key" },
		{ "{\"a\": \"x\\u0000y\"}", "NUL" },
		{ NULL, NULL },
	};
	struct tmpl_set *s = tmpl_set_new();
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; bad[i].json != NULL; i++) {
		err[0] = '\0';
		assert_int_equal(tmpl_add_catalogue(s, "en", "x.json", bad[i].json, strlen(bad[i].json), err,
		    sizeof(err)), -1);
		if (strstr(err, bad[i].part) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].part);
	}
	assert_int_equal(tmpl_add_catalogue(s, "english!", "x.json", "{}", 2, err, sizeof(err)), -1);
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", "{}", 2, err, sizeof(err)), 0);
	assert_int_equal(tmpl_add_catalogue(s, "EN", "EN.json", "{}", 2, err, sizeof(err)), -1);
	tmpl_set_free(s);
	/* a message that does not parse names its key */
	s = tmpl_set_new();
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", "{\"k\": \"a {{b\"}", strlen("{\"k\": \"a {{b\"}"), err, sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "en.json: key \"k\""));
	tmpl_set_free(s);
	s = tmpl_set_new();
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", "{\"k\": \"{{#a}}x{{/a}}\"}",
	    strlen("{\"k\": \"{{#a}}x{{/a}}\"}"), err,
	    sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "may not hold a section"));
	tmpl_set_free(s);
}

static void
test_malformed_templates(void **state)
{
	(void)state;
	refused("a\nb {{x", "t.html:2", "never closed");
	refused("{{#a}}\n\n", "t.html:1", "{{#a}} is never closed");
	refused("x\n{{/a}}", "t.html:2", "closes no section");
	refused("{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", "t.html:3", "closes {{#b}} of line 2");
	refused("{{}}", "t.html:1", "empty tag");
	refused("{{ }}", "t.html:1", "empty tag");
	refused("{{a b}}", "t.html:1", "bad name");
	refused("{{a..b}}", "t.html:1", "bad name");
	refused("{{#.}}x{{/.}}", "t.html:1", "bad section name");
	refused("{{>a/b}}", "t.html:1", "bad include");
	refused("{{%../etc/passwd}}", "t.html:1", "bad file name");
	refused("{{%b.css}}", "t.html:1", "no static file");
	refused("{{@}}", "t.html:1", "bad name");
	refused("{{{x}", "t.html:1", "never closed");
	refused("\xff\xfe", "t.html", "UTF-8");
}

static void
test_template_names_and_sizes(void **state)
{
	struct tmpl_set *s = tmpl_set_new();
	char err[512], *big;

	(void)state;
	assert_int_equal(tmpl_add_template(s, "../x", "x", "a", 1, err, sizeof(err)), -1);
	assert_int_equal(tmpl_add_template(s, "", "x", "a", 1, err, sizeof(err)), -1);
	assert_int_equal(tmpl_add_template(s, "ok", "x", "a", 1, err, sizeof(err)), 0);
	assert_int_equal(tmpl_add_template(s, "ok", "y", "b", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	big = malloc(TMPL_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', TMPL_FILE_MAX + 1);
	assert_int_equal(tmpl_add_template(s, "big", "big.html", big, TMPL_FILE_MAX + 1, err,
	    sizeof(err)), -1);
	free(big);
	assert_int_equal(tmpl_add_template(s, "nul", "nul.html", "a\0b", 3, err, sizeof(err)), -1);
	assert_int_equal(tmpl_add_asset(s, "x.css", "/s?a=\"b\"", err, sizeof(err)), -1);
	tmpl_set_free(s);
}

/* ---------------------------------------------------------------- raw values */

static void
test_raw_only_when_marked(void **state)
{
	const char *t[] = { "t", "<div>{{{svg}}}</div>|{{svg}}", NULL };
	char err[512] = "", fake[96];
	struct tmpl_set *s = mk(t, err, sizeof(err));
	json_t *d;
	struct buf b;

	(void)state;
	assert_non_null(s);
	/* marked by the C caller: raw where {{{ }}} stands, escaped where {{ }} does */
	d = json_pack("{s:o}", "svg", tmpl_safe("<svg><path d=\"M0 0\"/></svg>"));
	buf_init(&b);
	assert_int_equal(tmpl_render(s, "t", "en", d, &b, err, sizeof(err)), 0);
	assert_string_equal(buf_str(&b), "<div><svg><path d=\"M0 0\"/></svg></div>|"
	    "&lt;svg&gt;&lt;path d=&quot;M0 0&quot;/&gt;&lt;/svg&gt;");
	buf_free(&b);
	json_decref(d);
	/* a plain string, or an object that only looks like a marked one: escaped */
	d = json_pack("{s:s}", "svg", "<script>x</script>");
	buf_init(&b);
	assert_int_equal(tmpl_render(s, "t", "en", d, &b, err, sizeof(err)), 0);
	assert_null(strstr(buf_str(&b), "<script>"));
	buf_free(&b);
	json_decref(d);
	snprintf(fake, sizeof(fake), "{\"svg\": {\"tmpl-safe-%032d\": \"<script>x</script>\"}}", 0);
	d = json_loads(fake, 0, NULL);
	assert_non_null(d);
	buf_init(&b);
	assert_int_equal(tmpl_render(s, "t", "en", d, &b, err, sizeof(err)), 0);
	assert_null(strstr(buf_str(&b), "<script>"));
	buf_free(&b);
	json_decref(d);
	tmpl_set_free(s);
	/* messages never write raw */
	s = tmpl_set_new();
	assert_int_equal(tmpl_add_catalogue(s, "en", "en.json", "{\"k\": \"{{{x}}}\"}",
	    strlen("{\"k\": \"{{{x}}}\"}"), err,
	    sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	tmpl_set_free(s);
}

static void
test_wipe(void **state)
{
	json_t *d = json_pack("{s:s, s:[s]}", "secret", "JBSWY3DPEHPK3PXP", "codes", "abcd-efgh-ijkl");
	const char *p = json_string_value(json_object_get(d, "secret"));
	const char *q = json_string_value(json_array_get(json_object_get(d, "codes"), 0));

	(void)state;
	tmpl_json_wipe(d);
	assert_int_equal(p[0], 0);
	assert_int_equal(q[5], 0);
	json_decref(d);
}

/* ---------------------------------------------------------------- languages */

static void
test_lang_match(void **state)
{
	const char *t[] = { NULL };
	char err[512] = "";
	struct tmpl_set *s = mk(t, err, sizeof(err));

	(void)state;
	assert_non_null(s);
	assert_string_equal(tmpl_lang_match(s, "zh-TW"), "zh-TW");
	assert_string_equal(tmpl_lang_match(s, "zh-tw"), "zh-TW");
	assert_string_equal(tmpl_lang_match(s, "zh_TW"), "zh-TW");
	assert_string_equal(tmpl_lang_match(s, "zh"), "zh-TW");
	assert_string_equal(tmpl_lang_match(s, "zh-Hant-HK"), "zh-TW");
	assert_string_equal(tmpl_lang_match(s, "en-US"), "en");
	assert_string_equal(tmpl_lang_match(s, "EN"), "en");
	assert_null(tmpl_lang_match(s, "fr"));
	assert_null(tmpl_lang_match(s, "e"));
	assert_null(tmpl_lang_match(s, ""));
	assert_null(tmpl_lang_match(s, NULL));
	assert_int_equal(tmpl_lang_count(s), 2);
	assert_string_equal(tmpl_lang_at(s, 0), "zh-TW");
	assert_null(tmpl_lang_at(s, 2));
	tmpl_set_free(s);
}

static void
test_text_fill(void **state)
{
	json_t *d = json_pack("{s:i, s:s}", "min", 8, "who", "<Lin & co>");
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(tmpl_text_fill("at least {{min}} for {{who}}; {{other}} {{#x}} {{", d, &b), 0);
	/* not HTML: nothing escaped; what is not a value stays as written */
	assert_string_equal(buf_str(&b), "at least 8 for <Lin & co>; {{other}} {{#x}} {{");
	buf_free(&b);
	json_decref(d);
}

/* ---------------------------------------------------------------- files */

static void
test_load_from_folders(void **state)
{
	char dir[FX_DIR_MAX], sub[128], err[512], path[160];
	struct tmpl_set *s;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, "tmpl"), 0);
	snprintf(sub, sizeof(sub), "%s/templates", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/i18n", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/i18n/en.json", dir);
	assert_int_equal(fx_write_file(path, "{\"k\": \"v\"}\n"), 0);
	snprintf(path, sizeof(path), "%s/i18n/README", dir);	/* not a catalogue: left alone */
	assert_int_equal(fx_write_file(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/templates/page.html", dir);
	assert_int_equal(fx_write_file(path, "<p>{{@k}}</p>\n<p>\n{{x</p>\n"), 0);

	s = tmpl_set_new();
	snprintf(sub, sizeof(sub), "%s/i18n", dir);
	assert_int_equal(tmpl_load_catalogues(s, sub, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/templates", dir);
	assert_int_equal(tmpl_load_templates(s, sub, err, sizeof(err)), 0);
	/* the error names the file and the line */
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/templates/page.html:3:", dir);
	if (strstr(err, path) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, path);
	tmpl_set_free(s);

	snprintf(path, sizeof(path), "%s/templates/page.html", dir);
	assert_int_equal(fx_write_file(path, "<p>{{@k}}</p>\n"), 0);
	s = tmpl_set_new();
	snprintf(sub, sizeof(sub), "%s/i18n", dir);
	assert_int_equal(tmpl_load_catalogues(s, sub, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/templates", dir);
	assert_int_equal(tmpl_load_templates(s, sub, err, sizeof(err)), 0);
	assert_int_equal(tmpl_compile(s, err, sizeof(err)), 0);
	tmpl_set_free(s);

	/* a missing folder, an empty one */
	s = tmpl_set_new();
	snprintf(sub, sizeof(sub), "%s/none", dir);
	assert_int_equal(tmpl_load_templates(s, sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/none"));
	snprintf(sub, sizeof(sub), "%s/empty", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(tmpl_load_catalogues(s, sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no *.json"));
	tmpl_set_free(s);
	assert_int_equal(fx_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_every_context),
		cmocka_unit_test(test_url_attributes),
		cmocka_unit_test(test_refused_contexts),
		cmocka_unit_test(test_sections_and_loops),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_include_cycles),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_catalogues_must_agree),
		cmocka_unit_test(test_malformed_catalogues),
		cmocka_unit_test(test_malformed_templates),
		cmocka_unit_test(test_template_names_and_sizes),
		cmocka_unit_test(test_raw_only_when_marked),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_lang_match),
		cmocka_unit_test(test_text_fill),
		cmocka_unit_test(test_load_from_folders),
	};

	return cmocka_run_group_tests_name("tmpl", tests, NULL, NULL);
}

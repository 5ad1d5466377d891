/* tests/fuzz/fuzz_tmpl.c — libFuzzer target for lib/tmpl (the page template
 * engine). The input is TEMPLATE \0 DATA-JSON \0 CATALOGUE-JSON (the later
 * parts optional). The template is compiled against two fixed catalogues and
 * a few fixed includes and, when accepted, rendered in both languages with
 * the data; the catalogue is compiled on its own and its texts filled.
 * Besides the sanitizers, it checks the escaping promise: a template with no
 * markup of its own and no include, raw value or message renders the data
 * without a single < > " or ' character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char zh[] = "{\"hello\": \"你好 & <再見>\", \"greet\": \"歡迎 {{name}}\", "
	"\"when\": \"於 {{>time}} 完成\", \"what.key\": \"金鑰「{{label}}」\", \"said\": \"{{@[what]}}已新增\"}";
static const char en[] = "{\"hello\": \"Hello & <bye>\", \"greet\": \"Welcome {{name}}\", "
	"\"when\": \"done on {{>time}}\", \"what.key\": \"key {{label}}\", \"said\": \"{{@[what]}} was added\"}";
static const char *const parts[] = {
	"time", "<time datetime=\"{{iso}}\">{{date}}</time>\n",
	"head", "<!doctype html>\n<html lang=\"{{@hello}}\"><title>{{title}}</title>\n",
	"item", "<li>{{#hw}}<b>{{name}}</b>{{/hw}}{{^hw}}{{name}}{{/hw}}</li>\n",
	NULL,
};

/* The part of buf from *at to the next NUL (or the end); moves *at past it. */
static const char *
part(const uint8_t *d, size_t size, size_t *at, size_t *len)
{
	const char *p = (const char *)d + *at;
	const uint8_t *z;

	if (*at > size)
		return NULL;
	z = memchr(d + *at, 0, size - *at);
	*len = z != NULL ? (size_t)(z - (d + *at)) : size - *at;
	*at += *len + 1;
	return p;
}

/* No markup of its own, and no tag that writes anything but an escaped value:
 * no include, raw value, message or static-file URL. */
static int
plain(const char *t, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (strchr("<>\"'", t[i]) != NULL)
			return 0;
		if (t[i] == '{' && i + 1 < n && t[i + 1] == '{') {
			for (k = i + 2; k < n && strchr(" \t\r\n\f", t[k]) != NULL; k++)
				;
			if (k < n && strchr("{>@%", t[k]) != NULL)
				return 0;
		}
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0, tn = 0, dn = 0, cn = 0, i;
	const char *t = part(data, size, &at, &tn), *d = part(data, size, &at, &dn),
	    *c = part(data, size, &at, &cn);
	struct tmpl_set *s = tmpl_set_new();
	json_t *j = d != NULL ? json_loadb(d, dn, 0, NULL) : NULL;
	char err[512];
	struct buf b;

	if (s == NULL)
		abort();
	if (tmpl_add_catalogue(s, "zh-TW", "zh", zh, sizeof(zh) - 1, err, sizeof(err)) != 0 ||
	    tmpl_add_catalogue(s, "en", "en", en, sizeof(en) - 1, err, sizeof(err)) != 0 ||
	    tmpl_add_asset(s, "a.css", "/static/a.css?v=1", err, sizeof(err)) != 0)
		abort();
	for (i = 0; parts[i] != NULL; i += 2)
		if (tmpl_add_template(s, parts[i], parts[i], parts[i + 1], strlen(parts[i + 1]), err,
		    sizeof(err)) != 0)
			abort();
	if (tmpl_add_template(s, "t", "t", t, tn, err, sizeof(err)) == 0 &&
	    tmpl_compile(s, err, sizeof(err)) == 0) {
		static const char *const langs[] = { "zh-TW", "en" };

		for (i = 0; i < 2; i++) {
			buf_init(&b);
			if (tmpl_render(s, "t", langs[i], j, &b, err, sizeof(err)) == 0 && b.len > 0 &&
			    plain(t, tn) && strpbrk(buf_str(&b), "<>\"'") != NULL)
				abort();	/* a value got out unescaped */
			buf_free(&b);
		}
		if (memchr(t, 0, tn) == NULL) {
			char *tag = strndup(t, tn);

			(void)tmpl_lang_match(s, tag);	/* a C string, as a browser's tag is */
			free(tag);
		}
	}
	tmpl_set_free(s);

	/* the text a terminal gets: nothing escaped, nothing lost */
	if (tn > 0 && memchr(t, 0, tn) == NULL) {
		char *text = strndup(t, tn);

		buf_init(&b);
		if (text != NULL && tmpl_text_fill(text, j, &b) == 0 && strstr(text, "{{") == NULL &&
		    strcmp(buf_str(&b) ? buf_str(&b) : "", text) != 0)
			abort();
		buf_free(&b);
		free(text);
	}

	/* a catalogue of its own */
	if (c != NULL && cn > 0) {
		s = tmpl_set_new();
		if (s == NULL)
			abort();
		if (tmpl_add_catalogue(s, "en", "c", c, cn, err, sizeof(err)) == 0 &&
		    tmpl_compile(s, err, sizeof(err)) == 0)
			(void)tmpl_text(s, "en", "hello");
		tmpl_set_free(s);
	}
	json_decref(j);
	return 0;
}

/* authd/web/pages.h — the page layer: the templates, message catalogues and
 * static files under share/ (share/README.md), loaded and checked once at
 * start, and the static-file route. ui.h builds pages on top of it.
 *
 * Loaded once by pages_init() before the listeners start, read-only after
 * (any thread may render); a changed file takes effect at the next start, as
 * the configuration does (authd has no reload). */
#ifndef AUTHD_WEB_PAGES_H
#define AUTHD_WEB_PAGES_H

#include <jansson.h>
#include <stddef.h>

#include "../../lib/tmpl.h"	/* TXT() */

struct buf;
struct conf;
struct http_req;
struct tmpl_set;

/* Loads share/static (every file, into memory), share/i18n and
 * share/templates as the data-path rule finds them ([ui] static, i18n,
 * templates), compiles them, and checks what the C code needs: every page
 * template, every method's label key, script and account templates, the
 * default language. 0, or -1 with err naming the file (and line). */
int pages_init(const struct conf *c, char *err, size_t errsz);
void pages_fini(void);
/* authd --check-config: pages_init then pages_fini. */
int pages_check(const struct conf *c, char *err, size_t errsz);

/* The loaded set (borrowed; NULL before pages_init). */
const struct tmpl_set *pages_set(void);
/* The language of ours a browser's tag names ("zh", "en-US"), or NULL.
 * Before pages_init (transport unit tests): the shipped zh-TW and en. */
const char *pages_lang(const char *tag);
/* Languages in catalogue order (borrowed codes). */
size_t pages_lang_count(void);
const char *pages_lang_at(size_t i);
/* The message key in lang as plain text (not escaped; for JSON replies and
 * values handed to a template); the key itself when unknown. Borrowed. */
const char *pages_text(const char *lang, const char *key);
/* Appends template name rendered with data (borrowed) to out. 0 or -1 with err. */
int pages_render(const char *name, const char *lang, const json_t *data, struct buf *out, char *err,
    size_t errsz);

/* GET /static/<name>: a file of the allow-list (the files of share/static at
 * start), from memory, with its Content-Type, an ETag (If-None-Match: 304)
 * and Cache-Control: immutable for a year when ?v= carries the content hash
 * the pages link (pages_static_url), else 5 minutes. Anything else: 404. */
void pages_static(struct http_req *r);
/* "/static/NAME?v=HASH" for a file of the allow-list, or NULL. Borrowed. */
const char *pages_static_url(const char *name);

#endif

/* lib/tmpl.h — the page template engine: logic-less templates (a Mustache
 * dialect) and message catalogues, parsed and checked once, rendered many times.
 *
 * A set (struct tmpl_set) holds named templates, one catalogue of messages per
 * language and a map of static-file URLs. Sources are added, then
 * tmpl_compile() parses and checks all of them together; after that the set is
 * read-only and may be rendered from any number of threads at once.
 *
 * Template syntax (share/README.md is the reference for template authors):
 *   {{name}}  {{a.b}}  {{.}}   a value of the data, HTML-escaped (buf_add_html)
 *   {{{name}}}                 a value the C caller marked safe (tmpl_safe), raw;
 *                              any other value is escaped all the same
 *   {{#name}}...{{/name}}      section: once per array element, once with an
 *                              object pushed, once for another true value
 *   {{^name}}...{{/name}}      inverted: when the value is missing or false
 *   {{>name}}                  include template name (checked at compile)
 *   {{>[name]}}                include the template the value name names
 *   {{@key}}                   the message key in the page's language (checked
 *                              at compile); {{@[name]}}: the key the value names
 *   {{%file}}                  URL of static file (checked at compile)
 *   {{! comment }}
 * False: missing, null, false, "", 0, []. A missing value renders nothing.
 * A line holding only a section, inverted, closing, comment or include tag
 * disappears with its line end (an include's content takes its place); an
 * include inside a line of text drops the last line end of what it includes.
 *
 * Contexts are checked at compile: a value may stand in element text, in
 * <title>/<textarea>, or in a quoted attribute value; never in a tag or
 * attribute name, an unquoted value, an on* or style attribute, a <script> or
 * <style> element or a comment. A value that starts a URL attribute (href,
 * src, action, ...) must be relative or http(s)/mailto/tel, else it renders as
 * "about:invalid#blocked".
 *
 * Messages are text: their own characters are escaped on output. A message may
 * hold {{name}}, {{@key}}, {{@[name]}} (filled from the data in view where it
 * is used) and {{>name}} (only where the message stands in element text).
 * Every catalogue must hold exactly the same keys. */
#ifndef AUTHD_LIB_TMPL_H
#define AUTHD_LIB_TMPL_H

#include <jansson.h>
#include <stddef.h>

struct buf;
struct tmpl_set;

/* Limits: bigger inputs are refused with an error, never truncated. */
#define TMPL_FILE_MAX     (256u * 1024)   /* one template file */
#define TMPL_CATALOGUE_MAX (1024u * 1024) /* one catalogue file */
#define TMPL_DEPTH_MAX    32              /* nested includes/messages while rendering */
#define TMPL_STACK_MAX    64              /* nested sections while rendering */

/* A new empty set; NULL when out of memory. The caller owns it. */
struct tmpl_set *tmpl_set_new(void);
void tmpl_set_free(struct tmpl_set *s);

/* Adds template NAME ([A-Za-z0-9_-]+) from TEXT (LEN bytes, copied); ORIGIN
 * (copied) is how errors name it, e.g. its path. 0, or -1 with err. */
int tmpl_add_template(struct tmpl_set *s, const char *name, const char *origin, const char *text,
    size_t len, char *err, size_t errsz);
/* Adds the catalogue of language LANG (a BCP 47 tag such as "zh-TW") from
 * JSON (one object: "dotted.key": "text"). 0, or -1 with err naming origin
 * and line. */
int tmpl_add_catalogue(struct tmpl_set *s, const char *lang, const char *origin, const char *json,
    size_t len, char *err, size_t errsz);
/* {{%name}} becomes url (both copied). 0, or -1 with err. */
int tmpl_add_asset(struct tmpl_set *s, const char *name, const char *url, char *err, size_t errsz);
/* Every NAME.html in dir as template NAME; every LANG.json in dir as the
 * catalogue of LANG (in file-name order). Other files are left alone. */
int tmpl_load_templates(struct tmpl_set *s, const char *dir, char *err, size_t errsz);
int tmpl_load_catalogues(struct tmpl_set *s, const char *dir, char *err, size_t errsz);

/* Parses and checks everything added: syntax, contexts, includes and message
 * keys that exist, no include cycle, the same keys in every catalogue. 0, or
 * -1 with err "ORIGIN:LINE: what is wrong". Once only. A set of catalogues
 * without templates is for tmpl_text only: its messages' includes are not
 * looked for. */
int tmpl_compile(struct tmpl_set *s, char *err, size_t errsz);

/* After a successful compile: */
int tmpl_has(const struct tmpl_set *s, const char *name);
int tmpl_has_key(const struct tmpl_set *s, const char *key);
/* The message as written in the catalogue (plain text, not escaped, {{...}}
 * left as is), for non-HTML replies; NULL when lang or key is unknown.
 * Borrowed from the set. */
const char *tmpl_text(const struct tmpl_set *s, const char *lang, const char *key);
/* Languages in catalogue order; the codes are borrowed from the set. */
size_t tmpl_lang_count(const struct tmpl_set *s);
const char *tmpl_lang_at(const struct tmpl_set *s, size_t i);
/* The set's language for a tag as browsers send it ("zh-tw", "en_US", "zh"):
 * the exact code, else the first with the same primary subtag; NULL if none. */
const char *tmpl_lang_match(const struct tmpl_set *s, const char *tag);

/* Appends template name rendered in lang with data (borrowed; may be NULL)
 * to out. 0, or -1 with err (unknown template or language, a {{@[x]}} or
 * {{>[x]}} naming nothing, too deep, out of memory); out may then hold part. */
int tmpl_render(const struct tmpl_set *s, const char *name, const char *lang, const json_t *data,
    struct buf *out, char *err, size_t errsz);

/* For output that is not HTML (a terminal, a log, JSON): appends text with
 * each {{name}} replaced by data's member name (a string or an integer),
 * NOT escaped; any other tag is copied as it is. 0, or -1 out of memory. */
int tmpl_text_fill(const char *text, const json_t *data, struct buf *out);

/* Marks a catalogue key in C code (a key passed around before it is shown):
 * tests/unit/test_pages.c finds every TXT("...") in authd/ and modules/ and
 * checks that the catalogues hold it. */
#define TXT(key) ("" key "")

/* A value {{{x}}} writes without escaping: html, which the caller vouches
 * for. New reference; NULL when out of memory. */
json_t *tmpl_safe(const char *html);
/* Overwrites every string in v (recursively) before it is freed: data that
 * carried a secret (a TOTP key, recovery codes). */
void tmpl_json_wipe(json_t *v);

#endif

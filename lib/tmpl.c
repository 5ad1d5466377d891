/* lib/tmpl.c — the template engine of lib/tmpl.h: a parser that turns each
 * template and message into a flat node list (sections know where they end),
 * an HTML context tracker run over the literal text at compile time, and a
 * renderer that walks the nodes with a stack of data contexts.
 *
 * Invariant: after tmpl_compile() succeeded nothing in the set changes, so
 * rendering needs no lock; every include and literal message key a node names
 * was resolved to an index then. */
#include "tmpl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define TMPL_NAME_MAX 64
#define TMPL_FILES_MAX 512
#define TMPL_LANGS_MAX 32

/* ---------------------------------------------------------------- types */

enum nkind {
	N_TEXT,		/* literal template text, written as is */
	N_ETEXT,	/* literal message text, escaped */
	N_VAR,		/* {{x}} */
	N_RAW,		/* {{{x}}} */
	N_SEC,		/* {{#x}} ... */
	N_INV,		/* {{^x}} ... */
	N_PART,		/* {{>x}} */
	N_DPART,	/* {{>[x]}} */
	N_MSG,		/* {{@k}} */
	N_DMSG,		/* {{@[x]}} */
};

/* Where a value lands in the HTML (decided at compile). */
enum vctx { V_TEXT, V_ATTR, V_URL };

struct node {
	unsigned char kind;	/* enum nkind */
	unsigned char ctx;	/* enum vctx; includes: 1 when inside a line */
	int line;
	const char *s;		/* text: into the source; names: own copy */
	size_t n;
	size_t end;		/* sections: index after the body */
	int ref;		/* N_PART: template index; N_MSG: key index; -1 */
};

struct nodes {
	struct node *v;
	size_t n, cap;
	int has_part;		/* holds {{>x}} or {{>[x]}} (messages) */
};

struct tpl {
	char *name, *origin, *text;
	size_t len;
	struct nodes nodes;
	int mark;		/* cycle search */
};

struct msg {
	char *key, *text;
	struct nodes nodes;
};

struct cat {
	char *lang, *origin;
	struct msg *m;		/* sorted by key after compile */
	size_t n, cap;
};

struct asset {
	char *name, *url;
};

struct tmpl_set {
	struct tpl *t;
	size_t nt, capt;
	struct cat c[TMPL_LANGS_MAX];
	size_t nc;
	struct asset *a;
	size_t na, capa;
	int compiled;
	char **keys;		/* the catalogues' common key set, sorted (borrowed) */
	size_t nkeys;
	int *kmark;		/* cycle search over keys */
};

/* ---------------------------------------------------------------- small helpers */

static int
fail(char *err, size_t errsz, const char *origin, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
fail(char *err, size_t errsz, const char *origin, int line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err == NULL || errsz == 0)
		return -1;
	if (origin != NULL && line > 0)
		snprintf(err, errsz, "%s:%d: %s", origin, line, msg);
	else if (origin != NULL)
		snprintf(err, errsz, "%s: %s", origin, msg);
	else
		snprintf(err, errsz, "%s", msg);
	return -1;
}

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (c > ((size_t)-1) / size)
		return -1;
	if ((p = realloc(*v, c * size)) == NULL)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

/* [A-Za-z0-9_-]+ */
static int
word_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TMPL_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Words joined by single dots ("a.b-c.d"); with dot_alone, "." too. */
static int
path_ok(const char *s, size_t n, int dot_alone)
{
	size_t i, start = 0;

	if (dot_alone && n == 1 && s[0] == '.')
		return 1;
	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!word_ok(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

/* A static file name: [A-Za-z0-9._-]+, not starting with a dot. */
static int
file_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TMPL_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* A language tag: 2-8 letters, then -subtags of 1-8 letters/digits. */
static int
lang_ok(const char *s)
{
	size_t i = 0, k;

	while (isalpha((unsigned char)s[i]))
		i++;
	if (i < 2 || i > 8)
		return 0;
	while (s[i] == '-') {
		for (k = 0, i++; isalnum((unsigned char)s[i]); i++, k++)
			;
		if (k < 1 || k > 8)
			return 0;
	}
	return s[i] == '\0';
}

static int
read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz)
{
	struct stat st;
	char *p;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*out = NULL;
	if (fd < 0)
		return fail(err, errsz, path, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errsz, path, 0, "not a regular file");
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return fail(err, errsz, path, 0, "bigger than %zu bytes", max);
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return fail(err, errsz, path, 0, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(p);
			close(fd);
			return fail(err, errsz, path, 0, "cannot read: %s", r < 0 ? strerror(errno) : "short");
		}
		got += (size_t)r;
	}
	close(fd);
	p[got] = '\0';
	*out = p;
	*len = got;
	return 0;
}

/* ---------------------------------------------------------------- the safe marker */

/* {{{x}}} writes x raw only when x is an object whose single member has this
 * key: random per process, so no stored or typed data can spell it. */
static char safe_key[48];
static pthread_once_t safe_once = PTHREAD_ONCE_INIT;

static void
safe_init(void)
{
	uint8_t r[16];
	char hex[33];

	if (rand_bytes(r, sizeof(r)) != 0)
		abort();	/* no randomness: nothing else in authd works either */
	hex_encode(hex, r, sizeof(r));
	snprintf(safe_key, sizeof(safe_key), "tmpl-safe-%s", hex);
}

json_t *
tmpl_safe(const char *html)
{
	pthread_once(&safe_once, safe_init);
	return html != NULL ? json_pack("{s:s}", safe_key, html) : NULL;
}

static const char *
safe_html(const json_t *v)
{
	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	pthread_once(&safe_once, safe_init);
	return json_string_value(json_object_get(v, safe_key));
}

void
tmpl_json_wipe(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_string(v)) {
		/* The string's own bytes: jansson frees them as they are. */
		wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			tmpl_json_wipe(x);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			tmpl_json_wipe(x);
	}
}

/* ---------------------------------------------------------------- HTML contexts */

enum hstate {
	H_DATA, H_TAG_OPEN, H_TAG_NAME, H_END_TAG, H_IN_TAG, H_ATTR_NAME, H_AFTER_ATTR,
	H_BEFORE_VAL, H_VAL_DQ, H_VAL_SQ, H_VAL_UNQ, H_BANG, H_COMMENT, H_DECL, H_RCDATA,
	H_RAWTEXT,
};

struct hctx {
	enum hstate st;
	char tag[12];		/* current or raw-text element name, lower case */
	size_t tagn;
	char attr[32];		/* current attribute name, lower case (its start, when long) */
	size_t attrn;
	int attr_long;		/* the name did not fit: not one we know */
	size_t vlen;		/* characters of the current value so far */
	int dashes;		/* comments: '-' just seen; <!-: '-' count */
	size_t endmatch;	/* raw text: characters of "</tag" matched */
};

/* The state family a section must end in as it began. */
static int
hclass(enum hstate s)
{
	return s == H_TAG_NAME || s == H_ATTR_NAME || s == H_AFTER_ATTR ? H_IN_TAG : (int)s;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void
tag_end(struct hctx *h)
{
	h->tag[h->tagn < sizeof(h->tag) ? h->tagn : sizeof(h->tag) - 1] = '\0';
	if (strcmp(h->tag, "script") == 0 || strcmp(h->tag, "style") == 0) {
		h->st = H_RAWTEXT;
	} else if (strcmp(h->tag, "title") == 0 || strcmp(h->tag, "textarea") == 0) {
		h->st = H_RCDATA;
	} else {
		h->st = H_DATA;
		return;
	}
	h->endmatch = 0;
}

static void
html_feed(struct hctx *h, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];
		char lc = (char)tolower((unsigned char)c);

		switch (h->st) {
		case H_DATA:
			if (c == '<')
				h->st = H_TAG_OPEN;
			break;
		case H_TAG_OPEN:
			if (c == '!') {
				h->st = H_BANG;
				h->dashes = 0;
			} else if (c == '/') {
				h->st = H_END_TAG;
			} else if (isalpha((unsigned char)c)) {
				h->st = H_TAG_NAME;
				h->tag[0] = lc;
				h->tagn = 1;
			} else {
				h->st = H_DATA;
			}
			break;
		case H_BANG:
			if (c == '-' && ++h->dashes == 2)
				h->st = H_COMMENT, h->dashes = 0;
			else if (c != '-')
				h->st = c == '>' ? H_DATA : H_DECL;
			break;
		case H_COMMENT:
			if (c == '>' && h->dashes >= 2)
				h->st = H_DATA;
			h->dashes = c == '-' ? h->dashes + 1 : 0;
			break;
		case H_DECL:
		case H_END_TAG:
			if (c == '>')
				h->st = H_DATA;
			break;
		case H_TAG_NAME:
			if (is_space(c) || c == '/') {
				h->st = H_IN_TAG;
			} else if (c == '>') {
				tag_end(h);
			} else if (h->tagn < sizeof(h->tag) - 1) {
				h->tag[h->tagn++] = lc;
			} else {
				h->tagn = sizeof(h->tag) - 1;	/* long: no element we treat specially */
				h->tag[0] = '-';
			}
			break;
		case H_IN_TAG:
		case H_AFTER_ATTR:
			if (c == '>') {
				tag_end(h);
			} else if (c == '=' && h->st == H_AFTER_ATTR) {
				h->st = H_BEFORE_VAL;
			} else if (!is_space(c) && c != '/') {
				h->st = H_ATTR_NAME;
				h->attr[0] = lc;
				h->attrn = 1;
				h->attr_long = 0;
				h->attr[1] = '\0';
			}
			break;
		case H_ATTR_NAME:
			if (c == '=') {
				h->st = H_BEFORE_VAL;
			} else if (is_space(c)) {
				h->st = H_AFTER_ATTR;
			} else if (c == '>') {
				tag_end(h);
			} else if (c == '/') {
				h->st = H_IN_TAG;
			} else if (h->attrn < sizeof(h->attr) - 1) {
				h->attr[h->attrn++] = lc;
				h->attr[h->attrn] = '\0';
			} else {
				h->attr_long = 1;
			}
			break;
		case H_BEFORE_VAL:
			h->vlen = 0;
			if (c == '"')
				h->st = H_VAL_DQ;
			else if (c == '\'')
				h->st = H_VAL_SQ;
			else if (c == '>')
				tag_end(h);
			else if (!is_space(c))
				h->st = H_VAL_UNQ;
			break;
		case H_VAL_DQ:
		case H_VAL_SQ:
			if (c == (h->st == H_VAL_DQ ? '"' : '\''))
				h->st = H_IN_TAG;
			else
				h->vlen++;
			break;
		case H_VAL_UNQ:
			if (is_space(c))
				h->st = H_IN_TAG;
			else if (c == '>')
				tag_end(h);
			break;
		case H_RCDATA:
		case H_RAWTEXT: {
			/* Only "</" + this element's name ends it. */
			char want = h->endmatch == 0 ? '<' : h->endmatch == 1 ? '/' :
			    h->tag[h->endmatch - 2];

			if (h->endmatch >= 2 && h->tag[h->endmatch - 2] == '\0') {
				if (is_space(c) || c == '>' || c == '/')
					h->st = c == '>' ? H_DATA : H_END_TAG;
				else
					h->endmatch = c == '<' ? 1 : 0;
				if (h->st != H_RCDATA && h->st != H_RAWTEXT)
					h->endmatch = 0;
			} else if (lc == want) {
				h->endmatch++;
			} else {
				h->endmatch = c == '<' ? 1 : 0;
			}
			break;
		}
		}
	}
}

/* Attributes whose value is a URL: a value starting one is scheme-checked. */
static int
url_attr(const struct hctx *h)
{
	static const char *const names[] = { "href", "src", "action", "formaction", "poster",
		                             "cite", "background", "xlink:href", "data", NULL };
	size_t i;

	if (h->attr_long)
		return 0;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(h->attr, names[i]) == 0)
			return 1;
	return 0;
}

/* Where a value may stand: its context, or -1 with why not in *why. */
static int
value_ctx(const struct hctx *h, const char **why)
{
	switch (h->st) {
	case H_DATA:
	case H_RCDATA:
		return V_TEXT;
	case H_VAL_DQ:
	case H_VAL_SQ:
		if (strncmp(h->attr, "on", 2) == 0 || (!h->attr_long && strcmp(h->attr, "style") == 0)) {
			*why = "in an event-handler or style attribute";
			return -1;
		}
		return url_attr(h) && h->vlen == 0 ? V_URL : V_ATTR;
	case H_VAL_UNQ:
	case H_BEFORE_VAL:
		*why = "in an unquoted attribute value (quote it)";
		return -1;
	case H_RAWTEXT:
		*why = "in a <script> or <style> element";
		return -1;
	case H_COMMENT:
	case H_BANG:
	case H_DECL:
		*why = "in a comment or declaration";
		return -1;
	default:
		*why = "inside a tag (a tag or attribute name)";
		return -1;
	}
}

/* ---------------------------------------------------------------- parsing */

struct parse {
	struct tmpl_set *set;
	const char *origin;
	const char *text;
	size_t len;
	int msg;		/* a message: text escaped, no sections/raw/assets */
	struct nodes *out;
	struct hctx h;
	char *err;
	size_t errsz;
};

static struct node *
add_node(struct parse *p, enum nkind k, int line)
{
	struct node *n;

	if (grow((void **)&p->out->v, &p->out->cap, p->out->n, sizeof(*n)) != 0)
		return NULL;
	n = &p->out->v[p->out->n++];
	memset(n, 0, sizeof(*n));
	n->kind = (unsigned char)k;
	n->line = line;
	n->ref = -1;
	return n;
}

static int
add_text(struct parse *p, const char *s, size_t n, int line)
{
	struct node *t;

	if (n == 0)
		return 0;
	if (!p->msg)
		html_feed(&p->h, s, n);
	if ((t = add_node(p, p->msg ? N_ETEXT : N_TEXT, line)) == NULL)
		return fail(p->err, p->errsz, p->origin, line, "out of memory");
	t->s = s;
	t->n = n;
	return 0;
}

static int
count_lines(const char *s, size_t n)
{
	int l = 0;
	size_t i;

	for (i = 0; i < n; i++)
		l += s[i] == '\n';
	return l;
}

struct open_sec {
	size_t node;
	const char *name;
	size_t namen;
	int line;
	int hclass;
};

static int
parse_src(struct parse *p)
{
	struct open_sec stack[TMPL_STACK_MAX];
	size_t depth = 0, pos = 0, len = p->len;
	const char *t = p->text;
	int line = 1;

	memset(&p->h, 0, sizeof(p->h));
	while (pos < len) {
		const char *open = memmem(t + pos, len - pos, "{{", 2), *body, *close;
		size_t bodyn, after, text_end, ls;
		int triple, tagline, standalone = 0;
		char sig;
		struct node *n;
		const char *why = NULL;

		if (open == NULL) {
			if (add_text(p, t + pos, len - pos, line) != 0)
				return -1;
			break;
		}
		tagline = line + count_lines(t + pos, (size_t)(open - (t + pos)));
		triple = open + 2 < t + len && open[2] == '{';
		body = open + (triple ? 3 : 2);
		close = memmem(body, (size_t)(t + len - body), triple ? "}}}" : "}}", triple ? 3 : 2);
		if (close == NULL)
			return fail(p->err, p->errsz, p->origin, tagline, "\"{{\" is never closed");
		after = (size_t)(close - t) + (triple ? 3 : 2);
		bodyn = (size_t)(close - body);
		while (bodyn > 0 && is_space(*body))
			body++, bodyn--;
		while (bodyn > 0 && is_space(body[bodyn - 1]))
			bodyn--;
		if (bodyn == 0)
			return fail(p->err, p->errsz, p->origin, tagline, "empty tag");
		sig = triple ? '{' : body[0];
		if (!triple && strchr("#^/!>@%", sig) != NULL) {
			body++, bodyn--;
			while (bodyn > 0 && is_space(*body))
				body++, bodyn--;
		} else if (!triple) {
			sig = '=';	/* a plain value */
		}

		/* A line holding only this tag (no value tag) goes away; an include
		 * there puts its content, line end and all, in the line's place. */
		text_end = (size_t)(open - t);
		if (sig == '#' || sig == '^' || sig == '/' || sig == '!' || (sig == '>' && !p->msg)) {
			size_t e = after;

			ls = text_end;
			while (ls > pos && (t[ls - 1] == ' ' || t[ls - 1] == '\t'))
				ls--;
			if (ls == 0 || t[ls - 1] == '\n') {
				while (e < len && (t[e] == ' ' || t[e] == '\t' || t[e] == '\r'))
					e++;
				if (e == len || t[e] == '\n') {
					standalone = 1;
					text_end = ls;
					if (e < len)
						e++;
					after = e;
				}
			}
		}
		if (add_text(p, t + pos, text_end - pos, line) != 0)
			return -1;

		switch (sig) {
		case '!':
			break;
		case '#':
		case '^':
			if (p->msg)
				return fail(p->err, p->errsz, p->origin, 0,
				    "a message may not hold a section ({{%c%.*s}})", sig, (int)bodyn, body);
			if (!path_ok(body, bodyn, 0))
				return fail(p->err, p->errsz, p->origin, tagline, "bad section name \"%.*s\"",
				    (int)bodyn, body);
			if (depth == TMPL_STACK_MAX)
				return fail(p->err, p->errsz, p->origin, tagline, "sections nested too deep");
			if ((n = add_node(p, sig == '#' ? N_SEC : N_INV, tagline)) == NULL)
				return fail(p->err, p->errsz, p->origin, tagline, "out of memory");
			if ((n->s = dupn(body, bodyn)) == NULL)
				return fail(p->err, p->errsz, p->origin, tagline, "out of memory");
			n->n = bodyn;
			stack[depth].node = p->out->n - 1;
			stack[depth].name = body;
			stack[depth].namen = bodyn;
			stack[depth].line = tagline;
			stack[depth].hclass = hclass(p->h.st);
			depth++;
			break;
		case '/':
			if (depth == 0)
				return fail(p->err, p->errsz, p->origin, tagline,
				    "{{/%.*s}} closes no section", (int)bodyn, body);
			depth--;
			if (stack[depth].namen != bodyn || memcmp(stack[depth].name, body, bodyn) != 0)
				return fail(p->err, p->errsz, p->origin, tagline,
				    "{{/%.*s}} closes {{#%.*s}} of line %d", (int)bodyn, body,
				    (int)stack[depth].namen, stack[depth].name, stack[depth].line);
			if (!p->msg && hclass(p->h.st) != stack[depth].hclass)
				return fail(p->err, p->errsz, p->origin, tagline,
				    "section {{#%.*s}} of line %d ends in another HTML context than it began "
				    "(a tag or attribute opened and not closed inside it)",
				    (int)bodyn, body, stack[depth].line);
			p->out->v[stack[depth].node].end = p->out->n;
			break;
		case '>': {
			int dyn = bodyn >= 2 && body[0] == '[' && body[bodyn - 1] == ']';
			const char *nm = dyn ? body + 1 : body;
			size_t nn = dyn ? bodyn - 2 : bodyn;

			if (dyn ? !path_ok(nm, nn, 0) : !word_ok(nm, nn))
				return fail(p->err, p->errsz, p->origin, tagline, "bad include \"%.*s\"",
				    (int)bodyn, body);
			if (p->msg && dyn)
				return fail(p->err, p->errsz, p->origin, 0, "a message may not hold {{>[...]}}");
			if (!p->msg && p->h.st != H_DATA)
				return fail(p->err, p->errsz, p->origin, tagline,
				    "{{>%.*s}} may stand only in element text", (int)bodyn, body);
			if ((n = add_node(p, dyn ? N_DPART : N_PART, tagline)) == NULL ||
			    (n->s = dupn(nm, nn)) == NULL)
				return fail(p->err, p->errsz, p->origin, tagline, "out of memory");
			n->n = nn;
			n->ctx = !standalone;	/* inside a line: its last line end is dropped */
			p->out->has_part = 1;
			break;
		}
		case '%': {
			size_t i;

			if (p->msg)
				return fail(p->err, p->errsz, p->origin, 0, "a message may not hold {{%%...}}");
			if (!file_ok(body, bodyn))
				return fail(p->err, p->errsz, p->origin, tagline, "bad file name \"%.*s\"",
				    (int)bodyn, body);
			if (value_ctx(&p->h, &why) < 0)
				return fail(p->err, p->errsz, p->origin, tagline, "{{%%%.*s}} may not stand %s",
				    (int)bodyn, body, why);
			for (i = 0; i < p->set->na; i++)
				if (strlen(p->set->a[i].name) == bodyn &&
				    memcmp(p->set->a[i].name, body, bodyn) == 0)
					break;
			if (i == p->set->na)
				return fail(p->err, p->errsz, p->origin, tagline,
				    "no static file \"%.*s\"", (int)bodyn, body);
			/* Our own URL: written as text (it needs no escaping). */
			if ((n = add_node(p, N_TEXT, tagline)) == NULL)
				return fail(p->err, p->errsz, p->origin, tagline, "out of memory");
			n->s = p->set->a[i].url;
			n->n = strlen(n->s);
			html_feed(&p->h, n->s, n->n);
			break;
		}
		case '@':
		case '=':
		case '{': {
			int dyn = sig == '@' && bodyn >= 2 && body[0] == '[' && body[bodyn - 1] == ']';
			const char *nm = dyn ? body + 1 : body;
			size_t nn = dyn ? bodyn - 2 : bodyn;
			int ctx = V_TEXT;
			enum nkind k = sig == '{' ? N_RAW : sig == '=' ? N_VAR : dyn ? N_DMSG : N_MSG;

			if (!path_ok(nm, nn, k == N_VAR || k == N_RAW))
				return fail(p->err, p->errsz, p->origin, tagline, "bad name \"%.*s\"",
				    (int)bodyn, body);
			if (p->msg && k == N_RAW)
				return fail(p->err, p->errsz, p->origin, 0, "a message may not hold {{{...}}}");
			if (!p->msg) {
				if ((ctx = value_ctx(&p->h, &why)) < 0)
					return fail(p->err, p->errsz, p->origin, tagline,
					    "{{%s%.*s}} may not stand %s", sig == '@' ? "@" : sig == '{' ? "{" : "",
					    (int)bodyn, body, why);
				if (k == N_RAW && p->h.st != H_DATA)
					return fail(p->err, p->errsz, p->origin, tagline,
					    "{{{%.*s}}} may stand only in element text", (int)nn, nm);
				if ((k == N_MSG || k == N_DMSG) && ctx == V_URL)
					return fail(p->err, p->errsz, p->origin, tagline,
					    "a message may not begin a URL attribute");
			}
			if ((n = add_node(p, k, tagline)) == NULL || (n->s = dupn(nm, nn)) == NULL)
				return fail(p->err, p->errsz, p->origin, tagline, "out of memory");
			n->n = nn;
			n->ctx = (unsigned char)ctx;
			if (p->h.st == H_VAL_DQ || p->h.st == H_VAL_SQ)
				p->h.vlen++;	/* what follows no longer starts the value */
			break;
		}
		default:
			return fail(p->err, p->errsz, p->origin, tagline, "unknown tag");
		}
		line = tagline + count_lines(open, (size_t)(t + after - open));
		pos = after;
	}
	if (depth > 0)
		return fail(p->err, p->errsz, p->origin, p->msg ? 0 : stack[depth - 1].line,
		    "{{#%.*s}} is never closed", (int)stack[depth - 1].namen, stack[depth - 1].name);
	if (!p->msg && p->h.st != H_DATA)
		return fail(p->err, p->errsz, p->origin, line,
		    "the template ends inside a tag, comment, <script>, <style> or <title>");
	return 0;
}

/* ---------------------------------------------------------------- the set */

struct tmpl_set *
tmpl_set_new(void)
{
	return calloc(1, sizeof(struct tmpl_set));
}

static void
nodes_free(struct nodes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (ns->v[i].kind != N_TEXT && ns->v[i].kind != N_ETEXT)
			free((char *)ns->v[i].s);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

void
tmpl_set_free(struct tmpl_set *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->nt; i++) {
		nodes_free(&s->t[i].nodes);
		free(s->t[i].name);
		free(s->t[i].origin);
		free(s->t[i].text);
	}
	free(s->t);
	for (i = 0; i < s->nc; i++) {
		for (j = 0; j < s->c[i].n; j++) {
			nodes_free(&s->c[i].m[j].nodes);
			free(s->c[i].m[j].key);
			free(s->c[i].m[j].text);
		}
		free(s->c[i].m);
		free(s->c[i].lang);
		free(s->c[i].origin);
	}
	for (i = 0; i < s->na; i++) {
		free(s->a[i].name);
		free(s->a[i].url);
	}
	free(s->a);
	free(s->keys);
	free(s->kmark);
	free(s);
}

static int
tpl_index(const struct tmpl_set *s, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < s->nt; i++)
		if (strlen(s->t[i].name) == n && memcmp(s->t[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

int
tmpl_add_template(struct tmpl_set *s, const char *name, const char *origin, const char *text,
    size_t len, char *err, size_t errsz)
{
	struct tpl *t;

	if (s->compiled)
		return fail(err, errsz, origin, 0, "the set is already compiled");
	if (name == NULL || !word_ok(name, strlen(name)))
		return fail(err, errsz, origin, 0, "bad template name \"%s\"", name ? name : "");
	if (tpl_index(s, name, strlen(name)) >= 0)
		return fail(err, errsz, origin, 0, "template \"%s\" given twice", name);
	if (len > TMPL_FILE_MAX)
		return fail(err, errsz, origin, 0, "bigger than %u bytes", TMPL_FILE_MAX);
	if (memchr(text, '\0', len) != NULL || !utf8_valid(text, len))
		return fail(err, errsz, origin, 0, "not UTF-8 text");
	if (s->nt >= TMPL_FILES_MAX || grow((void **)&s->t, &s->capt, s->nt, sizeof(*t)) != 0)
		return fail(err, errsz, origin, 0, "too many templates or out of memory");
	t = &s->t[s->nt];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->origin = strdup(origin != NULL ? origin : name);
	t->text = dupn(text, len);
	t->len = len;
	if (t->name == NULL || t->origin == NULL || t->text == NULL) {
		free(t->name);
		free(t->origin);
		free(t->text);
		return fail(err, errsz, origin, 0, "out of memory");
	}
	s->nt++;
	return 0;
}

static int
msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msg *)a)->key, ((const struct msg *)b)->key);
}

int
tmpl_add_catalogue(struct tmpl_set *s, const char *lang, const char *origin, const char *json,
    size_t len, char *err, size_t errsz)
{
	json_error_t je;
	json_t *root, *v;
	const char *k;
	struct cat *c;
	size_t i;

	if (s->compiled)
		return fail(err, errsz, origin, 0, "the set is already compiled");
	if (lang == NULL || !lang_ok(lang))
		return fail(err, errsz, origin, 0, "\"%s\" is not a language tag (e.g. zh-TW, en)",
		    lang ? lang : "");
	for (i = 0; i < s->nc; i++)
		if (strcasecmp(s->c[i].lang, lang) == 0)
			return fail(err, errsz, origin, 0, "language %s given twice", lang);
	if (s->nc == TMPL_LANGS_MAX)
		return fail(err, errsz, origin, 0, "more than %d languages", TMPL_LANGS_MAX);
	if (len > TMPL_CATALOGUE_MAX)
		return fail(err, errsz, origin, 0, "bigger than %u bytes", TMPL_CATALOGUE_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return fail(err, errsz, origin, je.line, "%s", je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errsz, origin, 1, "a catalogue is one JSON object of \"key\": \"text\"");
	}
	c = &s->c[s->nc];
	memset(c, 0, sizeof(*c));
	json_object_foreach(root, k, v) {
		struct msg *m;

		if (!path_ok(k, strlen(k), 0)) {
			fail(err, errsz, origin, 0, "bad key \"%s\" (words of A-Z a-z 0-9 _ - joined by dots)", k);
			goto bad;
		}
		if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v))) {
			fail(err, errsz, origin, 0, "key \"%s\": the value must be a string (without NUL)", k);
			goto bad;
		}
		if (grow((void **)&c->m, &c->cap, c->n, sizeof(*m)) != 0) {
			fail(err, errsz, origin, 0, "out of memory");
			goto bad;
		}
		m = &c->m[c->n];
		memset(m, 0, sizeof(*m));
		if ((m->key = strdup(k)) == NULL || (m->text = strdup(json_string_value(v))) == NULL) {
			free(m->key);
			fail(err, errsz, origin, 0, "out of memory");
			goto bad;
		}
		c->n++;
	}
	json_decref(root);
	if (c->n > 0)
		qsort(c->m, c->n, sizeof(*c->m), msg_cmp);
	if ((c->lang = strdup(lang)) == NULL || (c->origin = strdup(origin ? origin : lang)) == NULL) {
		free(c->lang);
		c->lang = NULL;
		fail(err, errsz, origin, 0, "out of memory");
		goto bad_nojson;
	}
	s->nc++;
	return 0;
bad:
	json_decref(root);
bad_nojson:
	for (i = 0; i < c->n; i++) {
		free(c->m[i].key);
		free(c->m[i].text);
	}
	free(c->m);
	memset(c, 0, sizeof(*c));
	return -1;
}

int
tmpl_add_asset(struct tmpl_set *s, const char *name, const char *url, char *err, size_t errsz)
{
	struct asset *a;
	size_t i;

	if (s->compiled)
		return fail(err, errsz, NULL, 0, "the set is already compiled");
	if (name == NULL || !file_ok(name, strlen(name)) || url == NULL)
		return fail(err, errsz, NULL, 0, "bad static file name \"%s\"", name ? name : "");
	for (i = 0; url[i] != '\0'; i++)
		if (strchr("&<>\"' \t\r\n", url[i]) != NULL)
			return fail(err, errsz, NULL, 0, "static file %s: URL needs escaping", name);
	for (i = 0; i < s->na; i++)
		if (strcmp(s->a[i].name, name) == 0)
			return fail(err, errsz, NULL, 0, "static file %s given twice", name);
	if (grow((void **)&s->a, &s->capa, s->na, sizeof(*a)) != 0)
		return fail(err, errsz, NULL, 0, "out of memory");
	a = &s->a[s->na];
	if ((a->name = strdup(name)) == NULL || (a->url = strdup(url)) == NULL) {
		free(a->name);
		return fail(err, errsz, NULL, 0, "out of memory");
	}
	s->na++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir ending in ext, sorted; *n of them. -1 with err. */
static int
list_dir(const char *dir, const char *ext, char ***out, size_t *n, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0, el = strlen(ext);

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return fail(err, errsz, dir, 0, "cannot open the folder: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l <= el || e->d_name[0] == '.' || strcmp(e->d_name + l - el, ext) != 0)
			continue;
		if (*n >= TMPL_FILES_MAX || grow((void **)&v, &cap, *n, sizeof(*v)) != 0 ||
		    (v[*n] = strdup(e->d_name)) == NULL) {
			closedir(d);
			while (*n > 0)
				free(v[--*n]);
			free(v);
			return fail(err, errsz, dir, 0, "too many files or out of memory");
		}
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return 0;
}

static int
load_dir(struct tmpl_set *s, const char *dir, int catalogues, char *err, size_t errsz)
{
	const char *ext = catalogues ? ".json" : ".html";
	char **names, path[4096], *text;
	size_t n, i, len = 0;
	int rc = 0;

	if (list_dir(dir, ext, &names, &n, err, errsz) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		size_t bl = strlen(names[i]) - strlen(ext);

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
			rc = fail(err, errsz, dir, 0, "path too long");
			break;
		}
		names[i][bl] = '\0';
		if (read_file(path, catalogues ? TMPL_CATALOGUE_MAX : TMPL_FILE_MAX, &text, &len, err,
		    errsz) != 0) {
			rc = -1;
			break;
		}
		rc = catalogues ? tmpl_add_catalogue(s, names[i], path, text, len, err, errsz) :
		    tmpl_add_template(s, names[i], path, text, len, err, errsz);
		free(text);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && n == 0)
		return fail(err, errsz, dir, 0, "holds no *%s file", ext);
	return rc;
}

int
tmpl_load_templates(struct tmpl_set *s, const char *dir, char *err, size_t errsz)
{
	return load_dir(s, dir, 0, err, errsz);
}

int
tmpl_load_catalogues(struct tmpl_set *s, const char *dir, char *err, size_t errsz)
{
	return load_dir(s, dir, 1, err, errsz);
}

/* ---------------------------------------------------------------- compile */

static int
key_index(const struct tmpl_set *s, const char *key, size_t n)
{
	size_t lo = 0, hi = s->nkeys;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(s->keys[mid], key, n);

		if (c == 0 && s->keys[mid][n] != '\0')
			c = 1;
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Resolves the includes and literal keys of ns; attr: messages standing in
 * attributes must not include templates. */
static int
resolve(struct tmpl_set *s, struct nodes *ns, const char *origin, const char *key, char *err,
    size_t errsz)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		struct node *n = &ns->v[i];

		if (n->kind == N_PART) {
			if ((n->ref = tpl_index(s, n->s, n->n)) < 0)
				return key ? fail(err, errsz, origin, 0, "key \"%s\": no template \"%s\"", key, n->s) :
				    fail(err, errsz, origin, n->line, "no template \"%s\"", n->s);
		} else if (n->kind == N_MSG) {
			if ((n->ref = key_index(s, n->s, n->n)) < 0)
				return key ? fail(err, errsz, origin, 0, "key \"%s\": no message \"%s\"", key, n->s) :
				    fail(err, errsz, origin, n->line, "no message \"%s\" in the catalogues", n->s);
		}
	}
	return 0;
}

/* Depth-first search for an include cycle through templates and messages.
 * Marks: 0 new, 1 on the path, 2 done. */
static int visit_key(struct tmpl_set *s, int k, char *err, size_t errsz);

static int
visit_nodes(struct tmpl_set *s, const struct nodes *ns, char *err, size_t errsz)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		const struct node *n = &ns->v[i];
		int rc = 0;

		if (n->kind == N_PART) {
			struct tpl *t = &s->t[n->ref];

			if (t->mark == 1)
				return fail(err, errsz, t->origin, 0, "includes itself (through {{>%s}})", t->name);
			if (t->mark == 0) {
				t->mark = 1;
				rc = visit_nodes(s, &t->nodes, err, errsz);
				t->mark = 2;
			}
		} else if (n->kind == N_MSG) {
			rc = visit_key(s, n->ref, err, errsz);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
visit_key(struct tmpl_set *s, int k, char *err, size_t errsz)
{
	size_t c;

	if (s->kmark[k] == 1)
		return fail(err, errsz, NULL, 0, "message \"%s\" includes itself", s->keys[k]);
	if (s->kmark[k] == 2)
		return 0;
	s->kmark[k] = 1;
	for (c = 0; c < s->nc; c++)
		if (visit_nodes(s, &s->c[c].m[k].nodes, err, errsz) != 0)
			return -1;
	s->kmark[k] = 2;
	return 0;
}

/* Literal messages in attribute values must not include templates. */
static int
check_msg_ctx(const struct tmpl_set *s, const struct tpl *t, char *err, size_t errsz)
{
	size_t i, c;

	for (i = 0; i < t->nodes.n; i++) {
		const struct node *n = &t->nodes.v[i];

		if (n->kind != N_MSG || n->ctx == V_TEXT)
			continue;
		for (c = 0; c < s->nc; c++)
			if (s->c[c].m[n->ref].nodes.has_part)
				return fail(err, errsz, t->origin, n->line,
				    "message \"%s\" includes a template and cannot stand in an attribute", n->s);
	}
	return 0;
}

int
tmpl_compile(struct tmpl_set *s, char *err, size_t errsz)
{
	struct parse p;
	size_t i, j;

	if (s->compiled)
		return fail(err, errsz, NULL, 0, "the set is already compiled");
	if (s->nc == 0)
		return fail(err, errsz, NULL, 0, "no message catalogue");
	/* Every catalogue holds the same keys (sorted: compare in step). */
	for (i = 1; i < s->nc; i++) {
		const struct cat *a = &s->c[0], *b = &s->c[i];

		for (j = 0; j < a->n || j < b->n; j++) {
			int c = j >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->m[j].key, b->m[j].key);

			if (c < 0)
				return fail(err, errsz, b->origin, 0, "key \"%s\" is missing (%s has it)",
				    a->m[j].key, a->origin);
			if (c > 0)
				return fail(err, errsz, a->origin, 0, "key \"%s\" is missing (%s has it)",
				    b->m[j].key, b->origin);
		}
	}
	s->nkeys = s->c[0].n;
	if ((s->keys = calloc(s->nkeys + 1, sizeof(*s->keys))) == NULL ||
	    (s->kmark = calloc(s->nkeys + 1, sizeof(*s->kmark))) == NULL)
		return fail(err, errsz, NULL, 0, "out of memory");
	for (j = 0; j < s->nkeys; j++)
		s->keys[j] = s->c[0].m[j].key;

	memset(&p, 0, sizeof(p));
	p.set = s;
	p.err = err;
	p.errsz = errsz;
	for (i = 0; i < s->nc; i++) {
		for (j = 0; j < s->c[i].n; j++) {
			struct msg *m = &s->c[i].m[j];
			char where[512];

			snprintf(where, sizeof(where), "%s: key \"%s\"", s->c[i].origin, m->key);
			p.origin = where;
			p.text = m->text;
			p.len = strlen(m->text);
			p.msg = 1;
			p.out = &m->nodes;
			if (parse_src(&p) != 0)
				return -1;
			p.origin = NULL;
		}
	}
	for (i = 0; i < s->nt; i++) {
		p.origin = s->t[i].origin;
		p.text = s->t[i].text;
		p.len = s->t[i].len;
		p.msg = 0;
		p.out = &s->t[i].nodes;
		if (parse_src(&p) != 0)
			return -1;
	}
	/* A set of catalogues alone (for text, tmpl_text) has nothing to include. */
	for (i = 0; s->nt > 0 && i < s->nc; i++)
		for (j = 0; j < s->c[i].n; j++)
			if (resolve(s, &s->c[i].m[j].nodes, s->c[i].origin, s->c[i].m[j].key, err, errsz) != 0)
				return -1;
	for (i = 0; i < s->nt; i++)
		if (resolve(s, &s->t[i].nodes, s->t[i].origin, NULL, err, errsz) != 0 ||
		    check_msg_ctx(s, &s->t[i], err, errsz) != 0)
			return -1;
	for (i = 0; i < s->nt; i++) {
		if (s->t[i].mark != 0)
			continue;
		s->t[i].mark = 1;
		if (visit_nodes(s, &s->t[i].nodes, err, errsz) != 0)
			return -1;
		s->t[i].mark = 2;
	}
	for (j = 0; s->nt > 0 && j < s->nkeys; j++)
		if (visit_key(s, (int)j, err, errsz) != 0)
			return -1;
	s->compiled = 1;
	return 0;
}

/* ---------------------------------------------------------------- lookups */

int
tmpl_has(const struct tmpl_set *s, const char *name)
{
	return s != NULL && s->compiled && name != NULL && tpl_index(s, name, strlen(name)) >= 0;
}

int
tmpl_has_key(const struct tmpl_set *s, const char *key)
{
	return s != NULL && s->compiled && key != NULL && key_index(s, key, strlen(key)) >= 0;
}

static int
lang_index(const struct tmpl_set *s, const char *lang)
{
	size_t i;

	for (i = 0; lang != NULL && i < s->nc; i++)
		if (strcmp(s->c[i].lang, lang) == 0)
			return (int)i;
	return -1;
}

const char *
tmpl_text(const struct tmpl_set *s, const char *lang, const char *key)
{
	int l, k;

	if (s == NULL || !s->compiled || key == NULL || (l = lang_index(s, lang)) < 0 ||
	    (k = key_index(s, key, strlen(key))) < 0)
		return NULL;
	return s->c[l].m[k].text;
}

size_t
tmpl_lang_count(const struct tmpl_set *s)
{
	return s != NULL ? s->nc : 0;
}

const char *
tmpl_lang_at(const struct tmpl_set *s, size_t i)
{
	return s != NULL && i < s->nc ? s->c[i].lang : NULL;
}

/* Length of the primary subtag of t ("zh" of "zh-TW" or "zh_tw"). */
static size_t
primary_len(const char *t)
{
	size_t n = 0;

	while (t[n] != '\0' && t[n] != '-' && t[n] != '_')
		n++;
	return n;
}

const char *
tmpl_lang_match(const struct tmpl_set *s, const char *tag)
{
	size_t i, j, pl;

	if (s == NULL || tag == NULL || tag[0] == '\0' || strlen(tag) > 35)
		return NULL;
	for (i = 0; i < s->nc; i++) {
		const char *c = s->c[i].lang;

		for (j = 0; c[j] != '\0' && tag[j] != '\0'; j++)
			if (tolower((unsigned char)c[j]) != tolower((unsigned char)tag[j]) &&
			    !(c[j] == '-' && tag[j] == '_'))
				break;
		if (c[j] == '\0' && tag[j] == '\0')
			return c;
	}
	pl = primary_len(tag);
	for (i = 0; pl > 0 && i < s->nc; i++)
		if (primary_len(s->c[i].lang) == pl && strncasecmp(s->c[i].lang, tag, pl) == 0)
			return s->c[i].lang;
	return NULL;
}

/* ---------------------------------------------------------------- render */

struct rend {
	const struct tmpl_set *s;
	int lang;
	const json_t *stack[TMPL_STACK_MAX];
	int depth;		/* data contexts on the stack */
	int nest;		/* includes and messages being rendered */
	struct buf *out;
	char *err;
	size_t errsz;
};

static const json_t *
lookup(const struct rend *r, const char *name)
{
	const char *dot;
	size_t first;
	const json_t *v = NULL;
	int i;

	if (strcmp(name, ".") == 0)
		return r->depth > 0 ? r->stack[r->depth - 1] : NULL;
	dot = strchr(name, '.');
	first = dot ? (size_t)(dot - name) : strlen(name);
	for (i = r->depth - 1; i >= 0 && v == NULL; i--)
		if (json_is_object(r->stack[i]))
			v = json_object_getn(r->stack[i], name, first);
	while (v != NULL && dot != NULL) {
		const char *seg = dot + 1;

		dot = strchr(seg, '.');
		v = json_is_object(v) ? json_object_getn(v, seg, dot ? (size_t)(dot - seg) : strlen(seg)) :
		    NULL;
	}
	return v;
}

static int
truthy(const json_t *v)
{
	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return 1;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_TRUE: return 1;
	default: return 0;
	}
}

/* A URL that may start an attribute: relative, or one of these schemes. */
static int
url_safe(const char *u)
{
	static const char *const ok[] = { "http:", "https:", "mailto:", "tel:", NULL };
	size_t i, n = strcspn(u, ":/?#");

	if (u[n] != ':')
		return 1;	/* no scheme: relative */
	for (i = 0; ok[i] != NULL; i++)
		if (strncasecmp(u, ok[i], strlen(ok[i])) == 0)
			return 1;
	return 0;
}

static void
put_value(struct rend *r, const json_t *v, int ctx)
{
	char num[48];

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		if (ctx == V_URL && !url_safe(json_string_value(v)))
			buf_adds(r->out, "about:invalid#blocked");
		else
			buf_add_html_n(r->out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		buf_adds(r->out, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		buf_adds(r->out, num);
		break;
	case JSON_TRUE:
		buf_adds(r->out, "true");
		break;
	case JSON_FALSE:
		buf_adds(r->out, "false");
		break;
	case JSON_OBJECT: {
		const char *h = safe_html(v);	/* escaped all the same here */

		if (h != NULL)
			buf_add_html(r->out, h);
		break;
	}
	default:
		break;
	}
}

static int render_nodes(struct rend *r, const struct nodes *ns, size_t from, size_t to, int ctx);

static int
push(struct rend *r, const json_t *v)
{
	if (r->depth == TMPL_STACK_MAX)
		return fail(r->err, r->errsz, NULL, 0, "data nested too deep");
	r->stack[r->depth++] = v;
	return 0;
}

static int
render_msg(struct rend *r, int k, int ctx)
{
	const struct nodes *ns = &r->s->c[r->lang].m[k].nodes;
	int rc;

	if (ctx != V_TEXT && ns->has_part)
		return fail(r->err, r->errsz, NULL, 0, "message \"%s\" includes a template and "
		    "cannot stand in an attribute", r->s->keys[k]);
	if (++r->nest > TMPL_DEPTH_MAX)
		return fail(r->err, r->errsz, NULL, 0, "messages and includes nested too deep");
	rc = render_nodes(r, ns, 0, ns->n, ctx);
	r->nest--;
	return rc;
}

/* inline: the include stands inside a line, so the file's last line end
 * is not written. */
static int
render_tpl(struct rend *r, int t, int inl)
{
	size_t before = r->out->len;
	int rc;

	if (++r->nest > TMPL_DEPTH_MAX)
		return fail(r->err, r->errsz, NULL, 0, "messages and includes nested too deep");
	rc = render_nodes(r, &r->s->t[t].nodes, 0, r->s->t[t].nodes.n, V_TEXT);
	r->nest--;
	if (rc == 0 && inl && !r->out->oom && r->out->len > before && r->out->p[r->out->len - 1] == '\n')
		r->out->p[--r->out->len] = '\0';
	return rc;
}

/* ctx: where a message's values land (V_TEXT for templates: nodes carry their own). */
static int
render_nodes(struct rend *r, const struct nodes *ns, size_t from, size_t to, int ctx)
{
	size_t i = from;

	while (i < to) {
		const struct node *n = &ns->v[i];
		const json_t *v;
		const char *name;
		int vctx = n->kind == N_ETEXT || ctx != V_TEXT ? ctx : n->ctx;
		int k;

		if (r->out->oom)
			return fail(r->err, r->errsz, NULL, 0, "out of memory");
		switch (n->kind) {
		case N_TEXT:
			buf_add(r->out, n->s, n->n);
			break;
		case N_ETEXT:
			buf_add_html_n(r->out, n->s, n->n);
			break;
		case N_VAR:
			put_value(r, lookup(r, n->s), vctx);
			break;
		case N_RAW:
			v = lookup(r, n->s);
			if (safe_html(v) != NULL)
				buf_adds(r->out, safe_html(v));
			else
				put_value(r, v, V_TEXT);
			break;
		case N_SEC:
			v = lookup(r, n->s);
			if (json_is_array(v)) {
				size_t j;
				json_t *e;

				json_array_foreach(v, j, e) {
					if (push(r, e) != 0 || render_nodes(r, ns, i + 1, n->end, ctx) != 0)
						return -1;
					r->depth--;
				}
			} else if (truthy(v)) {
				if (push(r, v) != 0 || render_nodes(r, ns, i + 1, n->end, ctx) != 0)
					return -1;
				r->depth--;
			}
			i = n->end;
			continue;
		case N_INV:
			if (!truthy(lookup(r, n->s)) && render_nodes(r, ns, i + 1, n->end, ctx) != 0)
				return -1;
			i = n->end;
			continue;
		case N_PART:
			if (render_tpl(r, n->ref, n->ctx) != 0)
				return -1;
			break;
		case N_DPART:
			name = json_string_value(lookup(r, n->s));
			if (name == NULL || (k = tpl_index(r->s, name, strlen(name))) < 0)
				return fail(r->err, r->errsz, NULL, 0, "{{>[%s]}}: no template \"%s\"", n->s,
				    name ? name : "");
			if (render_tpl(r, k, n->ctx) != 0)
				return -1;
			break;
		case N_MSG:
			if (render_msg(r, n->ref, vctx) != 0)
				return -1;
			break;
		case N_DMSG:
			name = json_string_value(lookup(r, n->s));
			if (name == NULL || (k = key_index(r->s, name, strlen(name))) < 0)
				return fail(r->err, r->errsz, NULL, 0, "{{@[%s]}}: no message \"%s\"", n->s,
				    name ? name : "");
			if (render_msg(r, k, vctx) != 0)
				return -1;
			break;
		}
		i++;
	}
	return r->out->oom ? fail(r->err, r->errsz, NULL, 0, "out of memory") : 0;
}

int
tmpl_render(const struct tmpl_set *s, const char *name, const char *lang, const json_t *data,
    struct buf *out, char *err, size_t errsz)
{
	struct rend r;
	int t;

	if (s == NULL || !s->compiled)
		return fail(err, errsz, NULL, 0, "templates not loaded");
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.out = out;
	r.err = err;
	r.errsz = errsz;
	if ((r.lang = lang_index(s, lang)) < 0)
		return fail(err, errsz, NULL, 0, "no catalogue for language \"%s\"", lang ? lang : "");
	if (name == NULL || (t = tpl_index(s, name, strlen(name))) < 0)
		return fail(err, errsz, NULL, 0, "no template \"%s\"", name ? name : "");
	if (data != NULL)
		r.stack[r.depth++] = data;
	return render_tpl(&r, t, 0);
}

int
tmpl_text_fill(const char *text, const json_t *data, struct buf *out)
{
	const char *p = text, *o, *c;

	while ((o = strstr(p, "{{")) != NULL && (c = strstr(o + 2, "}}")) != NULL) {
		const char *name = o + 2;
		size_t n = (size_t)(c - name);
		const json_t *v = word_ok(name, n) ? json_object_getn(data, name, n) : NULL;
		char num[32];

		buf_add(out, p, (size_t)(o - p));
		if (json_is_string(v)) {
			buf_add(out, json_string_value(v), json_string_length(v));
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			buf_adds(out, num);
		} else {
			buf_add(out, o, (size_t)(c + 2 - o));
		}
		p = c + 2;
	}
	buf_adds(out, p);
	return out->oom ? -1 : 0;
}

/* lib/buf.c — growable byte buffer used to build HTTP bodies and HTML, with
 * HTML escaping and URL query encoding. A failed allocation latches b->oom. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Responses are small; a buffer past this is a bug or an attack, not a page. */
#define BUF_MAX (64u * 1024 * 1024)

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		/* Buffers carry tokens and form values; do not leave them in the heap. */
		wipe(b->p, b->cap);
		free(b->p);
	}
	buf_init(b);
}

/* Makes room for n more bytes plus a NUL. 0 on success. */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (n > BUF_MAX || b->len > BUF_MAX - n - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	/* Grow by copy so the old contents can be wiped, not left behind by realloc. */
	if ((p = malloc(cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (n == 0 || buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	if (s != NULL)
		buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if (buf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_add_html_n(struct buf *b, const char *s, size_t n)
{
	const char *run, *end;

	if (s == NULL)
		return;
	end = s + n;
	for (run = s; s < end; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

void
buf_add_html(struct buf *b, const char *s)
{
	if (s != NULL)
		buf_add_html_n(b, s, strlen(s));
}

void
buf_add_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			buf_add(b, &c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			buf_add(b, e, 3);
		}
	}
}

const char *
buf_str(struct buf *b)
{
	if (b->oom)
		return NULL;
	if (b->p == NULL && buf_reserve(b, 0) == 0)
		b->p[0] = '\0';
	return b->oom ? NULL : b->p;
}

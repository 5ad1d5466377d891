/* lib/buf.h — growable byte buffer for building responses and HTML.
 * A buf that failed to grow stays failed (buf.oom) and further appends are no-ops,
 * so callers check once at the end. */
#ifndef AUTHD_LIB_BUF_H
#define AUTHD_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s HTML-escaped (& < > " ' escaped): safe in element text and in a
 * quoted attribute value (either quote). The one HTML escaper of the project
 * (lib/tmpl.c uses it for every value). NULL appends nothing. */
void buf_add_html(struct buf *b, const char *s);
/* The same for the n bytes at s (may hold NUL-free text without a terminator). */
void buf_add_html_n(struct buf *b, const char *s, size_t n);
/* Appends s percent-encoded for a URL query component (RFC 3986 unreserved kept). */
void buf_add_urlenc(struct buf *b, const char *s);
/* NUL-terminated contents (never NULL unless oom). */
const char *buf_str(struct buf *b);

#endif

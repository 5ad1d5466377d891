/* authd/log.c — JSON-lines logging on stderr (log.h): one object per line,
 * ISO-8601 UTC timestamps with milliseconds, values JSON-escaped, each line
 * written with a single write(2) so lines from several threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A line longer than this is cut (values are truncated, never the closing brace):
 * bounded output even if a caller passes something huge. */
#define LOG_LINE_MAX 4096

static atomic_int log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(int level)
{
	if (level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
log_enabled(int level)
{
	return level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	size_t limit;   /* room kept back for the closing "}\n" */
};

static void
line_raw(struct line *l, const char *s, size_t n)
{
	if (n > l->limit - l->len)
		n = l->limit - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Length of a well-formed UTF-8 sequence at s (at most n bytes), 0 if malformed:
 * a JSON line must stay valid UTF-8 whatever the caller passed. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2; cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3; cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4; cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void
line_str(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), k;
	char esc[6];

	line_raw(l, "\"", 1);
	/* Whole tokens only, one byte kept for the closing quote, so a cut value
	 * still leaves valid JSON. */
	while (n > 0) {
		const char *tok = (const char *)p;
		size_t toklen, adv;

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\'; esc[1] = (char)*p;
			tok = esc; toklen = 2; adv = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 15];
			tok = esc; toklen = 6; adv = 1;
		} else if ((k = utf8_seq(p, n)) == 0) {
			tok = "\\ufffd"; toklen = 6; adv = 1;
		} else {
			toklen = adv = k;
		}
		if (toklen > l->limit - 1 - l->len)
			break;
		line_raw(l, tok, toklen);
		p += adv; n -= adv;
	}
	line_raw(l, "\"", 1);
}

void
log_msg(int level, const char *msg, ...)
{
	struct line l;
	struct timespec ts;
	struct tm tm;
	char tsbuf[96];
	const char *k, *v;
	va_list ap;
	int saved_errno = errno;
	ssize_t w;
	size_t off;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ts.tv_nsec / 1000000));

	l.len = 0;
	l.limit = sizeof(l.buf) - 3;
	line_raw(&l, "{\"ts\":\"", 7);
	line_raw(&l, tsbuf, strlen(tsbuf));
	line_raw(&l, "\",\"level\":\"", 11);
	line_raw(&l, level_names[level < 0 ? 0 : level > 3 ? 3 : level],
	    strlen(level_names[level < 0 ? 0 : level > 3 ? 3 : level]));
	line_raw(&l, "\",\"msg\":", 8);
	line_str(&l, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		/* Room for ,"key":"" at least; otherwise the line ends here. */
		if (strlen(k) + 8 > l.limit - l.len)
			break;
		line_raw(&l, ",", 1);
		line_str(&l, k);
		line_raw(&l, ":", 1);
		line_str(&l, v);
	}
	va_end(ap);
	l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';

	for (off = 0; off < l.len; off += (size_t)w) {
		w = write(STDERR_FILENO, l.buf + off, l.len - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			break;
	}
	errno = saved_errno;
}

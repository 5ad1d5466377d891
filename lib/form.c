/* lib/form.c — strict application/x-www-form-urlencoded parser for query
 * strings and POST bodies: '+' is space, %XX decoding, no repeats, bounded
 * field count and value size, UTF-8 checked after decoding. Values are wiped
 * on free because they carry passwords and codes. */
#include "form.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"


/* Decodes s[0..n) into a new NUL-terminated string. Decoding never grows the
 * text, so n bounds the output; the value limit is checked on decoded size.
 * opaque: the value is a secret compared as bytes (form_parse_secrets), so only
 * NUL is refused, not other controls or invalid UTF-8. */
static enum form_err
decode(const char *s, size_t n, size_t max, int opaque, char **out)
{
	char *d;
	size_t i, o = 0;

	*out = NULL;
	if ((d = malloc(n + 1)) == NULL)
		return FORM_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (n - i < 3 || (hi = hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) < 0) {
				wipe(d, n + 1);
				free(d);
				return FORM_ERR_SYNTAX;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		d[o++] = c;
	}
	d[o] = '\0';
	if (o > max) {
		wipe(d, n + 1);
		free(d);
		return FORM_ERR_TOO_LONG;
	}
	/* utf8_valid also refuses NUL (which would cut the C string short) and
	 * C0 controls other than tab/CR/LF. A secret may hold any other byte, but
	 * never NUL: "pass\0word" must not become "pass". */
	if (opaque ? memchr(d, '\0', o) != NULL : !utf8_valid(d, o)) {
		wipe(d, n + 1);
		free(d);
		return FORM_ERR_UTF8;
	}
	*out = d;
	return FORM_OK;
}

static int
listed(const char *const *keys, const char *k)
{
	for (; keys != NULL && *keys != NULL; keys++)
		if (strcmp(*keys, k) == 0)
			return 1;
	return 0;
}

enum form_err
form_parse(const char *s, size_t n, struct form **out)
{
	return form_parse_secrets(s, n, NULL, out);
}

enum form_err
form_parse_secrets(const char *s, size_t n, const char *const *secret_keys, struct form **out)
{
	struct form *f;
	size_t pos = 0;
	enum form_err e = FORM_OK;

	if (out == NULL)
		return FORM_ERR_SYNTAX;
	*out = NULL;
	if (s == NULL && n > 0)
		return FORM_ERR_SYNTAX;
	/* Worst case is FORM_MAX_FIELDS values of FORM_MAX_VALUE, each 3x when
	 * fully percent-encoded, plus keys; anything longer cannot be valid. */
	if (n > (size_t)FORM_MAX_FIELDS * (3 * FORM_MAX_VALUE + 3 * FORM_MAX_VALUE + 2))
		return FORM_ERR_TOO_LONG;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return FORM_ERR_NOMEM;

	while (pos < n) {
		const char *amp = memchr(s + pos, '&', n - pos);
		size_t end = amp ? (size_t)(amp - s) : n;
		const char *eq = memchr(s + pos, '=', end - pos);
		size_t keyend = eq ? (size_t)(eq - s) : end;
		char *key = NULL, *val = NULL;
		size_t i;

		/* Empty pairs ("a=1&&b=2", trailing '&') carry nothing; skip them
		 * as browsers and every server do. */
		if (end == pos) {
			pos = end + 1;
			continue;
		}
		if (keyend == pos) {
			e = FORM_ERR_SYNTAX;
			goto fail;
		}
		if (f->n == FORM_MAX_FIELDS) {
			e = FORM_ERR_TOO_MANY;
			goto fail;
		}
		/* Keys are names like "client_id"; the value bound is ample for them. */
		if ((e = decode(s + pos, keyend - pos, FORM_MAX_VALUE, 0, &key)) != FORM_OK)
			goto fail;
		if (key[0] == '\0') {
			free(key);
			e = FORM_ERR_SYNTAX;
			goto fail;
		}
		for (i = 0; i < f->n; i++) {
			if (strcmp(f->f[i].key, key) == 0) {
				free(key);
				e = FORM_ERR_REPEATED;
				goto fail;
			}
		}
		if (eq != NULL)
			e = decode(eq + 1, end - keyend - 1, FORM_MAX_VALUE, listed(secret_keys, key),
			    &val);
		else
			e = decode("", 0, FORM_MAX_VALUE, 0, &val);
		if (e != FORM_OK) {
			free(key);
			goto fail;
		}
		f->f[f->n].key = key;
		f->f[f->n].value = val;
		f->n++;
		pos = end + 1;
	}
	*out = f;
	return FORM_OK;
fail:
	form_free(f);
	return e;
}

const char *
form_get(const struct form *f, const char *key)
{
	size_t i;

	if (f == NULL || key == NULL)
		return NULL;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].key, key) == 0)
			return f->f[i].value;
	return NULL;
}

void
form_free(struct form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->f[i].key);
		free_secret_str(f->f[i].value);
	}
	wipe(f, sizeof(*f));
	free(f);
}

const char *
form_strerror(enum form_err e)
{
	switch (e) {
	case FORM_OK: return "ok";
	case FORM_ERR_SYNTAX: return "malformed form encoding";
	case FORM_ERR_UTF8: return "invalid UTF-8 or control character";
	case FORM_ERR_REPEATED: return "repeated parameter";
	case FORM_ERR_TOO_MANY: return "too many parameters";
	case FORM_ERR_TOO_LONG: return "parameter too long";
	case FORM_ERR_NOMEM: return "out of memory";
	}
	return "unknown form error";
}

int
form_decode_inplace(char *s)
{
	char *o = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*o++ = *s == '+' ? ' ' : *s;
			continue;
		}
		if ((hi = hex_digit((unsigned char)s[1])) < 0 ||
		    (lo = hex_digit((unsigned char)s[2])) < 0 || (hi | lo) == 0)
			return -1;
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return 0;
}

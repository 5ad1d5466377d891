/* modules/proto_util.c — bounded JSON loading and string reading for the
 * external verifiers' protocol files. */
#include "proto_util.h"

#include <stdio.h>
#include <string.h>

json_t *
proto_json_load(const char *s, size_t n, size_t max_len, int max_depth)
{
	size_t i;
	int depth = 0, in_str = 0, esc = 0;

	if (s == NULL || n == 0 || n > max_len)
		return NULL;
	/* Depth is counted before jansson sees the text: its own limit is far
	 * above anything these protocols need. */
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\0')
			return NULL;
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return NULL;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
}

const char *
proto_str(const json_t *obj, const char *key, size_t max_len)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	/* jansson allows \u0000 inside a string: its length then differs. */
	if (json_string_length(v) != strlen(s) || json_string_length(v) > max_len)
		return NULL;
	return s;
}

int
proto_code(const json_t *obj, const char *key, char *out, size_t outsz)
{
	const json_t *v = json_object_get(obj, key);
	int n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (json_is_integer(v)) {
		n = snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
		if (n < 0 || (size_t)n >= outsz) {
			out[0] = '\0';
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v) || proto_copy(out, outsz, proto_str(obj, key, outsz - 1)) != 0)
		return -1;
	if (!proto_charset(out, "_#-")) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
proto_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n;

	if (dstsz == 0)
		return -1;
	dst[0] = '\0';
	if (src == NULL || (n = strlen(src)) >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
proto_charset(const char *s, const char *extra)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
			continue;
		if (extra == NULL || strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

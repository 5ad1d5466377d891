/* modules/proto_util.h — what the protocol files of the external verifiers
 * (twfido_proto, mobileid_proto, wallet_proto) share: loading an answer's
 * JSON under a size and depth bound, and reading bounded, well-formed strings
 * out of it. Pure functions over lib/ and jansson; no I/O. */
#ifndef AUTHD_MODULES_PROTO_UTIL_H
#define AUTHD_MODULES_PROTO_UTIL_H

#include <stddef.h>

#include <jansson.h>

/* Parses n bytes as one JSON value: refuses more than max_len bytes, NUL
 * bytes, nesting deeper than max_depth, duplicate keys and trailing data.
 * Returns a new reference (caller json_decref's it) or NULL. */
json_t *proto_json_load(const char *s, size_t n, size_t max_len, int max_depth);

/* The string at key of obj when it is a JSON string of at most max_len bytes
 * without an embedded NUL; NULL when absent, not a string, or too long. The
 * pointer is borrowed from obj. */
const char *proto_str(const json_t *obj, const char *key, size_t max_len);

/* A result code given as a JSON string or integer (both occur), written to
 * out as text. Only [0-9A-Za-z_#-] are accepted. 0, or -1 when absent or bad. */
int proto_code(const json_t *obj, const char *key, char *out, size_t outsz);

/* Copies src (NUL-terminated) to dst when it fits; -1 otherwise (dst = ""). */
int proto_copy(char *dst, size_t dstsz, const char *src);

/* 1 when s is non-empty and every byte is an ASCII letter or digit or one of
 * extra; 0 otherwise. */
int proto_charset(const char *s, const char *extra);

#endif

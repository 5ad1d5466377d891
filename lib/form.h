/* lib/form.h — bounded application/x-www-form-urlencoded parser (query strings
 * and POST bodies). Refuses repeated parameters (OAuth 2.0 §3.1), invalid
 * percent-encoding, invalid UTF-8, NUL bytes, and more than FORM_MAX_FIELDS
 * fields or FORM_MAX_VALUE bytes in one value. */
#ifndef AUTHD_LIB_FORM_H
#define AUTHD_LIB_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 64
#define FORM_MAX_VALUE 8192

enum form_err {
	FORM_OK = 0,
	FORM_ERR_SYNTAX,    /* bad percent-encoding or empty key */
	FORM_ERR_UTF8,      /* not valid UTF-8, or NUL / control characters */
	FORM_ERR_REPEATED,  /* the same key twice */
	FORM_ERR_TOO_MANY,  /* more than FORM_MAX_FIELDS fields */
	FORM_ERR_TOO_LONG,  /* a value longer than FORM_MAX_VALUE */
	FORM_ERR_NOMEM,
};

struct form_field {
	char *key;
	char *value;
};

struct form {
	struct form_field f[FORM_MAX_FIELDS];
	size_t n;
};

/* Parses n bytes of s into *out (which it allocates). On error *out is NULL. */
enum form_err form_parse(const char *s, size_t n, struct form **out);
/* The same, except that the values of the keys in secret_keys (NULL-terminated;
 * NULL for none) are secrets compared as bytes and never shown or logged: they
 * may hold controls and invalid UTF-8 (a wrong password, not a malformed
 * request), never NUL. Their keys follow the usual rules. */
enum form_err form_parse_secrets(const char *s, size_t n, const char *const *secret_keys,
                                 struct form **out);
/* Value of key, or NULL when absent. */
const char *form_get(const struct form *f, const char *key);
/* Frees the form, wiping values (they may hold passwords). NULL is fine. */
void form_free(struct form *f);
const char *form_strerror(enum form_err e);
/* Decodes one form-urlencoded component in place ('+' is space, %XX); refuses
 * bad escapes and %00. 0 on success, -1 on bad input. */
int form_decode_inplace(char *s);

#endif

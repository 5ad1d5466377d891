/* lib/b64.h — base64url (RFC 4648 §5, no padding) and standard base64. */
#ifndef AUTHD_LIB_B64_H
#define AUTHD_LIB_B64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, without the NUL. */
size_t b64url_len(size_t n);
/* Encodes n bytes into out (b64url_len(n)+1 bytes), NUL-terminated; returns length. */
size_t b64url_encode(char *out, const uint8_t *in, size_t n);
/* Returns a malloc'd NUL-terminated encoding, or NULL on allocation failure. */
char *b64url_encode_alloc(const uint8_t *in, size_t n);
/* Decodes n chars; refuses padding, whitespace, non-alphabet characters and
 * non-canonical trailing bits. *outlen is set to the decoded size. out must
 * hold n*3/4+1 bytes. 0 on success, -1 on bad input. */
int b64url_decode(uint8_t *out, size_t *outlen, const char *in, size_t n);
/* As above into a malloc'd buffer (NUL-terminated for convenience). */
uint8_t *b64url_decode_alloc(const char *in, size_t n, size_t *outlen);

/* Standard base64 with padding (RFC 4648 §4), for HTTP Basic and PEM-ish input. */
int b64std_decode(uint8_t *out, size_t *outlen, const char *in, size_t n);
size_t b64std_encode(char *out, const uint8_t *in, size_t n);

#endif

/* lib/util.h — small shared helpers: constant-time compare, randomness,
 * SHA-256, hex, time. Used by authd, authctl, the client library and PAM. */
#ifndef AUTHD_LIB_UTIL_H
#define AUTHD_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SHA256_LEN 32

/* 1 when equal, 0 otherwise; time depends only on n (CRYPTO_memcmp). */
int ct_equal(const void *a, const void *b, size_t n);
/* Constant-time compare of two NUL-terminated strings of possibly different
 * length: time depends on the length of `known` only. */
int ct_streq(const char *known, const char *given);

/* Cryptographically secure random bytes (RAND_bytes); 0 on success, -1 on failure. */
int rand_bytes(void *out, size_t n);
/* n random bytes, base64url-encoded without padding into out (size >= 4*n/3+2).
 * 1 <= nbytes <= 256; -1 when out is too small or nbytes out of range. */
int rand_token(char *out, size_t outsz, size_t nbytes);

void sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);
/* HMAC-SHA-256 of data under key. */
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                 uint8_t out[SHA256_LEN]);

/* SHA-256 fetched once from the default provider (OpenSSL 3 would look it up
 * by name on every use otherwise). Never NULL. */
typedef struct evp_md_st EVP_MD;
const EVP_MD *util_sha256_md(void);

/* Lowercase hex; out must hold 2*n+1 bytes. */
void hex_encode(char *out, const uint8_t *in, size_t n);
/* Value of one hex digit (either case), or -1. */
int hex_digit(int c);
/* Formats a message into err (when not NULL) and returns -1: the one way
 * validators report what is wrong. */
int errf(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 0 on success, -1 on bad input. strlen(in) must be 2*n. */
int hex_decode(uint8_t *out, size_t n, const char *in);

/* Wipe memory the compiler may not elide (OPENSSL_cleanse). */
void wipe(void *p, size_t n);
/* Wipe then free a NUL-terminated string. NULL is fine. */
void free_secret_str(char *s);

/* Wall clock (seconds) and monotonic clock (nanoseconds). */
time_t now_s(void);
uint64_t mono_ns(void);

/* 1 when s is valid UTF-8 without NUL and without C0 controls other than
 * tab/CR/LF, 0 otherwise. n bytes are checked. */
int utf8_valid(const char *s, size_t n);

/* An address range "ADDR/BITS" (IPv4 /0../32, IPv6 /0../128) or one address
 * (all its bits). 1 when cidr is one, 0 otherwise. */
int cidr_valid(const char *cidr);
/* 1 when the address addr (text, no port) lies in cidr; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is compared as the IPv4 address. 0 otherwise,
 * including when either does not parse. */
int cidr_contains(const char *cidr, const char *addr);

#endif

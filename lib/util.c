/* lib/util.c — constant-time compare, randomness, SHA-256/HMAC, hex, wiping,
 * clocks and the UTF-8 validator every parser in authd relies on. */
#include "util.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64.h"

int
ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return 1;
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
ct_streq(const char *known, const char *given)
{
	size_t klen, i;
	unsigned char diff = 0;
	int given_done = 0;

	if (known == NULL || given == NULL)
		return 0;
	klen = strlen(known);
	/* Walk `known` only: once `given` ends we keep comparing against NUL, so
	 * the loop length never depends on the attacker's input. */
	for (i = 0; i < klen; i++) {
		unsigned char g = given_done ? 0 : (unsigned char)given[i];
		given_done |= (g == 0);
		diff |= (unsigned char)known[i] ^ g;
	}
	/* given must end exactly where known does. */
	if (!given_done)
		diff |= (unsigned char)given[klen];
	else
		diff |= 1;
	return diff == 0;
}

int
rand_bytes(void *out, size_t n)
{
	if (n == 0)
		return 0;
	if (n > (size_t)0x7fffffff)
		return -1;
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

int
rand_token(char *out, size_t outsz, size_t nbytes)
{
	uint8_t raw[256];

	if (out == NULL || nbytes == 0 || nbytes > sizeof(raw))
		return -1;
	if (outsz < b64url_len(nbytes) + 1)
		return -1;
	if (rand_bytes(raw, nbytes) != 0)
		return -1;
	b64url_encode(out, raw, nbytes);
	wipe(raw, nbytes);
	return 0;
}

/* OpenSSL 3 looks a digest up by name (under a lock) on every use of
 * EVP_sha256() or HMAC(); fetching it once keeps that off the hot path of every
 * token, audit record and client check. */
static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *
util_sha256_md(void)
{
	pthread_once(&md_once, md_fetch);
	return md_sha256 != NULL ? md_sha256 : EVP_sha256();
}

void
sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;

	/* EVP_Digest cannot fail on valid arguments; on a broken library we
	 * still hand back a defined value. */
	if (EVP_Digest(data, n, out, &len, util_sha256_md(), NULL) != 1)
		memset(out, 0, SHA256_LEN);
}

/* HMAC (RFC 2104) over SHA-256 with the fetched digest. */
void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
            uint8_t out[SHA256_LEN])
{
	uint8_t k0[64], pad[64], inner[SHA256_LEN];
	unsigned int len = SHA256_LEN;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = util_sha256_md();
	int ok;
	size_t i;

	memset(k0, 0, sizeof(k0));
	if (keylen > sizeof(k0))
		sha256(key, keylen, k0);
	else if (keylen > 0)
		memcpy(k0, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k0[i] ^ 0x36;
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, pad, sizeof(pad)) == 1 &&
	    (n == 0 || EVP_DigestUpdate(ctx, data, n) == 1) &&
	    EVP_DigestFinal_ex(ctx, inner, &len) == 1;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k0[i] ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, pad, sizeof(pad)) == 1 &&
	    EVP_DigestUpdate(ctx, inner, sizeof(inner)) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &len) == 1;
	if (!ok)
		memset(out, 0, SHA256_LEN);
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}

void
hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(uint8_t *out, size_t n, const char *in)
{
	size_t i;

	if (in == NULL || strlen(in) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hex_digit((unsigned char)in[2 * i]), lo = hex_digit((unsigned char)in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
free_secret_str(char *s)
{
	if (s == NULL)
		return;
	wipe(s, strlen(s));
	free(s);
}

time_t
now_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return time(NULL);
	return ts.tv_sec;
}

uint64_t
mono_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (n > 0 && s == NULL)
		return 0;
	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len, k;

		if (c < 0x80) {
			/* NUL and C0 controls smuggle log lines and truncate C strings;
			 * only tab, CR and LF have a place in text we accept. DEL is
			 * harmless and left alone. */
			if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			/* 0x80-0xc1 (continuation or overlong 2-byte lead) and
			 * 0xf5-0xff (beyond U+10FFFF) never start a character. */
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
			return 0; /* overlong */
		if (cp >= 0xd800 && cp <= 0xdfff)
			return 0; /* UTF-16 surrogate */
		if (cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

int
errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Parses "ADDR[/BITS]" into family, 16 address bytes and a prefix length. */
static int
cidr_parse(const char *cidr, int *family, unsigned char a[16], int *bits)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	long b;

	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, cidr, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, host, a) == 1)
		*family = AF_INET6;
	else
		return -1;
	*bits = *family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		b = strtol(slash + 1, &end, 10);
		if (*end != '\0' || b < 0 || b > *bits || end - (slash + 1) > 3)
			return -1;
		*bits = (int)b;
	}
	return 0;
}

int
cidr_valid(const char *cidr)
{
	unsigned char a[16];
	int family, bits;

	return cidr != NULL && cidr_parse(cidr, &family, a, &bits) == 0;
}

int
cidr_contains(const char *cidr, const char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char net[16], ip[16];
	int nf, bits, af, i;

	if (cidr == NULL || addr == NULL || cidr_parse(cidr, &nf, net, &bits) != 0)
		return 0;
	if (inet_pton(AF_INET, addr, ip) == 1) {
		af = AF_INET;
	} else if (inet_pton(AF_INET6, addr, ip) == 1) {
		af = AF_INET6;
		if (nf == AF_INET && memcmp(ip, mapped, sizeof(mapped)) == 0) {
			memmove(ip, ip + 12, 4);
			af = AF_INET;
		}
	} else {
		return 0;
	}
	if (af != nf)
		return 0;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (net[i] != ip[i])
			return 0;
	if (bits > 0) {
		unsigned char m = (unsigned char)(0xff << (8 - bits));

		if ((net[i] & m) != (ip[i] & m))
			return 0;
	}
	return 1;
}

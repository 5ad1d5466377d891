/* lib/b64.c — strict base64url (RFC 4648 §5, unpadded, canonical) for JOSE and
 * bearer tokens, and standard padded base64 (§4) for HTTP Basic. */
#include "b64.h"

#include <stdlib.h>
#include <string.h>

static const char url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Reverse tables: 0..63 or 0xff for "not in this alphabet". Built as constants
 * so decoding needs no initialisation and is safe from any thread. */
#define R 0xff
static const uint8_t url_rev[256] = {
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, 62, R, R,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, R, R, R, R, R, R,
	R, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, R, R, R, R, 63,
	R, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
};
static const uint8_t std_rev[256] = {
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, 62, R, R, R, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, R, R, R, R, R, R,
	R, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, R, R, R, R, R,
	R, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
	R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
};
#undef R

size_t
b64url_len(size_t n)
{
	return (n / 3) * 4 + ((n % 3) ? (n % 3) + 1 : 0);
}

static size_t
encode(char *out, const uint8_t *in, size_t n, const char *alpha, int pad)
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t
b64url_encode(char *out, const uint8_t *in, size_t n)
{
	return encode(out, in, n, url_alpha, 0);
}

char *
b64url_encode_alloc(const uint8_t *in, size_t n)
{
	char *out;

	if (n > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	if ((out = malloc(b64url_len(n) + 1)) == NULL)
		return NULL;
	b64url_encode(out, in, n);
	return out;
}

/* Decodes unpadded input n chars long. A tail of 1 char is impossible; the
 * unused low bits of a 2- or 3-char tail must be zero, so every byte string has
 * exactly one accepted encoding (no malleable tokens). */
static int
decode(uint8_t *out, size_t *outlen, const char *in, size_t n, const uint8_t *rev)
{
	size_t i, o = 0;
	size_t full = n / 4 * 4, tail = n % 4;

	if (tail == 1)
		return -1;
	for (i = 0; i < full; i += 4) {
		uint8_t a = rev[(uint8_t)in[i]], b = rev[(uint8_t)in[i + 1]];
		uint8_t c = rev[(uint8_t)in[i + 2]], d = rev[(uint8_t)in[i + 3]];
		uint32_t v;

		if ((a | b | c | d) & 0x80)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	if (tail == 2) {
		uint8_t a = rev[(uint8_t)in[i]], b = rev[(uint8_t)in[i + 1]];

		if ((a | b) & 0x80 || (b & 0x0f) != 0)
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
	} else if (tail == 3) {
		uint8_t a = rev[(uint8_t)in[i]], b = rev[(uint8_t)in[i + 1]];
		uint8_t c = rev[(uint8_t)in[i + 2]];

		if ((a | b | c) & 0x80 || (c & 0x03) != 0)
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)(b << 4 | c >> 2);
	}
	*outlen = o;
	return 0;
}

int
b64url_decode(uint8_t *out, size_t *outlen, const char *in, size_t n)
{
	if (out == NULL || outlen == NULL || (in == NULL && n > 0))
		return -1;
	return decode(out, outlen, in, n, url_rev);
}

uint8_t *
b64url_decode_alloc(const char *in, size_t n, size_t *outlen)
{
	uint8_t *out;
	size_t len;

	if (outlen == NULL || (in == NULL && n > 0))
		return NULL;
	if ((out = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;
	if (decode(out, &len, in, n, url_rev) != 0) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	*outlen = len;
	return out;
}

int
b64std_decode(uint8_t *out, size_t *outlen, const char *in, size_t n)
{
	size_t npad = 0, body;

	if (out == NULL || outlen == NULL || (in == NULL && n > 0))
		return -1;
	/* Padded form only: length a multiple of 4, at most two '=' at the end. */
	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		npad++;
	if (n > 1 && in[n - 2] == '=')
		npad++;
	body = n - npad;
	return decode(out, outlen, in, body, std_rev);
}

size_t
b64std_encode(char *out, const uint8_t *in, size_t n)
{
	return encode(out, in, n, std_alpha, 1);
}

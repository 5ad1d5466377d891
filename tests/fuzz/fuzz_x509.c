/* tests/fuzz/fuzz_x509.c — libFuzzer target for what the citizen-certificate
 * method parses from the network: the CMS/DER signature posted by the page
 * (through x509_verify_signature, which base64-decodes and parses it), the
 * subjectDirectoryAttributes extension, and a certificate's identity. The first
 * byte picks the parser; the rest is the input. Checks the promises of x509.h:
 * a refused signature yields no certificate, last4 is four digits or empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "b64.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_last4(const char l4[5])
{
	size_t i, n = strlen(l4);

	if (n != 0 && n != 4)
		abort();
	for (i = 0; i < n; i++)
		if (l4[i] < '0' || l4[i] > '9')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char l4[5];

	if (size < 1 || size > 48 * 1024)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		int rc = x509_sda_last4(data + 1, size - 1, l4);

		if (rc < -1 || rc > 1 || (rc == 0 && strlen(l4) != 4) || (rc != 0 && l4[0] != '\0'))
			abort();
		check_last4(l4);
		break;
	}
	case 1: {
		char *b64 = malloc(((size + 2) / 3) * 4 + 1);
		X509 *signer = NULL;
		enum x509_err e;

		if (b64 == NULL)
			return 0;
		b64std_encode(b64, data + 1, size - 1);
		e = x509_verify_signature(b64, "fuzz-nonce-0123456789", &signer);
		if ((e == X509E_OK) != (signer != NULL))
			abort();
		X509_free(signer);
		free(b64);
		break;
	}
	default: {
		const unsigned char *p = data + 1;
		X509 *x = d2i_X509(NULL, &p, (long)(size - 1));
		struct x509_ident id;

		if (x != NULL && x509_ident_of(x, &id) == 0)
			check_last4(id.last4);
		X509_free(x);
		break;
	}
	}
	return 0;
}

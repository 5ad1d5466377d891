/* tests/fuzz/fuzz_form.c — libFuzzer target for lib/form. Checks the promises
 * of form.h on every accepted input: bounded, valid UTF-8 (except the values of
 * secret keys, which hold no NUL and may hold anything else), no repeats; and
 * that form_parse_secrets accepts everything form_parse accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const secrets[] = { "password", "otp", NULL };

static int
is_secret(const char *k)
{
	return strcmp(k, "password") == 0 || strcmp(k, "otp") == 0;
}

/* The secrets parse: the same promises, with the secret keys' values opaque
 * (strlen is their length: no NUL inside, so nothing was cut short). */
static void
check_secrets(const uint8_t *data, size_t size, int plain_ok)
{
	struct form *f = NULL;
	size_t i;

	if (form_parse_secrets((const char *)data, size, secrets, &f) != FORM_OK) {
		if (f != NULL || plain_ok)
			abort();
		return;
	}
	for (i = 0; i < f->n; i++) {
		size_t kl = strlen(f->f[i].key), vl = strlen(f->f[i].value);

		if (kl == 0 || vl > FORM_MAX_VALUE || !utf8_valid(f->f[i].key, kl) ||
		    (!is_secret(f->f[i].key) && !utf8_valid(f->f[i].value, vl)))
			abort();
	}
	form_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form *f = NULL;
	size_t i, j;

	if (form_parse((const char *)data, size, &f) != FORM_OK) {
		if (f != NULL)
			abort();
		check_secrets(data, size, 0);
		return 0;
	}
	check_secrets(data, size, 1);
	if (f->n > FORM_MAX_FIELDS)
		abort();
	for (i = 0; i < f->n; i++) {
		size_t kl = strlen(f->f[i].key), vl = strlen(f->f[i].value);

		if (kl == 0 || vl > FORM_MAX_VALUE || !utf8_valid(f->f[i].key, kl) ||
		    !utf8_valid(f->f[i].value, vl))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(f->f[i].key, f->f[j].key) == 0)
				abort();
		if (form_get(f, f->f[i].key) != f->f[i].value)
			abort();
	}
	form_free(f);
	return 0;
}

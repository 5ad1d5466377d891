/* tests/fuzz/fuzz_form.c — libFuzzer target for lib/form. Checks the promises
 * of form.h on every accepted input: bounded, valid UTF-8, no repeats. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form *f = NULL;
	size_t i, j;

	if (form_parse((const char *)data, size, &f) != FORM_OK) {
		if (f != NULL)
			abort();
		return 0;
	}
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

/* modules/methods.c — the table of authentication methods. A new method is a
 * new file in modules/ plus one line here; nothing else names a method. */
#include <string.h>

#include "../authd/authd.h"
#include "method.h"
#include "password.h"
#include "totp.h"
#include "x509.h"
#include "webauthn.h"

const struct authd_method *const authd_methods[] = {
	&method_password,
	&method_totp,
	&method_x509,
	&method_webauthn,
	NULL,
};

/* How many methods methods_init() brought up, so fini undoes exactly those. */
static size_t methods_up;

const struct authd_method *
method_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; authd_methods[i] != NULL; i++)
		if (strcmp(authd_methods[i]->name, name) == 0)
			return authd_methods[i];
	return NULL;
}

int
method_reach(const struct authd_method *m, struct store_txn *t, const char *user_id,
             const char *skip, struct policy_cred *out)
{
	memset(out, 0, sizeof(*out));
	if (m->available != NULL && !m->available())
		return 0;	/* switched off: it cannot sign anyone in */
	if (m->reach != NULL)
		return m->reach(t, user_id, skip, out);
	if (m->enrolled == NULL || !m->enrolled(t, user_id))
		return 0;
	out->amr = m->amr;
	out->factors = m->factors;
	out->props = m->props;
	return 1;
}

size_t
methods_reach(struct store_txn *t, const char *user_id, const struct authd_method *skip_m,
              const char *skip_ref, struct policy_cred *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; authd_methods[i] != NULL && n < max; i++) {
		const struct authd_method *m = authd_methods[i];

		if (m == skip_m && skip_ref == NULL)
			continue;
		if (method_reach(m, t, user_id, m == skip_m ? skip_ref : NULL, &out[n]))
			n++;
	}
	return n;
}

int
methods_reachable_level(struct store_txn *t, const char *user_id,
                        const struct authd_method *skip_m, const char *skip_ref)
{
	struct policy_cred c[16];

	return policy_reachable_level(c, methods_reach(t, user_id, skip_m, skip_ref, c,
	    sizeof(c) / sizeof(c[0])));
}

void
methods_fini(void)
{
	while (methods_up > 0) {
		const struct authd_method *m = authd_methods[--methods_up];

		if (m->fini != NULL)
			m->fini();
	}
}

int
methods_check(const struct conf *c, char *err, size_t errsz)
{
	size_t i;

	for (i = 0; authd_methods[i] != NULL; i++)
		if (authd_methods[i]->check != NULL && authd_methods[i]->check(c, err, errsz) != 0)
			return -1;
	return 0;
}

int
methods_init(struct authd *a)
{
	size_t i;

	if (a == NULL || a->conf == NULL)
		return -1;
	methods_fini();	/* re-init starts clean */
	for (i = 0; authd_methods[i] != NULL; i++) {
		if (authd_methods[i]->init != NULL && authd_methods[i]->init(a, a->conf) != 0) {
			methods_fini();	/* unwind the ones already up */
			return -1;
		}
		methods_up = i + 1;
	}
	return 0;
}

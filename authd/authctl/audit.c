/* authd/authctl/audit.c — authctl audit verify|show: the hash-chained audit
 * log, verified from end to end, or its last records as JSON lines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit.h"
#include "authctl.h"

#define AUDIT_SHOW_DEFAULT 50

const char usage_audit[] = "usage: authctl [-c FILE] audit verify\n"
                           "       authctl [-c FILE] audit show [--last N]\n";

static int
audit_print_cb(const void *key, size_t klen, json_t *value, void *ctx)
{
	return admin_print_json(ctx, value);
}

int
cmd_audit(struct admin_ctx *c, int argc, char **argv)
{
	struct audit_verify_result res = { 0 };
	struct store_txn *t;
	unsigned long long last = AUDIT_SHOW_DEFAULT;
	int i, m, rc;

	if (argc < 1 || (strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "show") != 0)) {
		if (argc < 1)
			admin_usage_error(c, usage_audit, "audit: which action?");
		else
			admin_usage_error(c, usage_audit, "audit: unknown action '%s'", argv[0]);
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		const char *v;
		char *end;

		if (strcmp(argv[0], "show") == 0 &&
		    (m = admin_opt_arg(c, argc, argv, &i, "--last", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			errno = 0;
			last = strtoull(v, &end, 10);
			if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9' || last == 0 ||
			    last > 1000000) {
				admin_usage_error(c, usage_audit,
				    "--last needs a number 1..1000000, not '%s'", v);
				return EXIT_USAGE;
			}
		} else {
			admin_usage_error(
			    c, usage_audit, "audit: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (admin_open_store(c, 0) != 0)
		return EXIT_REFUSED;
	if ((t = store_read_begin(c->store)) == NULL)
		return admin_store_failure(c, "read", STORE_IO);
	if (strcmp(argv[0], "verify") == 0) {
		rc = audit_verify(t, &res);
		store_read_end(t);
		if (rc == STORE_OK) {
			fprintf(c->out, "audit chain ok: %llu records\n",
			    (unsigned long long)res.records);
			return 0;
		}
		fprintf(c->out, "audit chain broken at seq %llu: %s\n",
		    (unsigned long long)res.first_bad,
		    res.problem != NULL ? res.problem : store_strerror(rc));
		return EXIT_REFUSED;
	} else {
		const void *k, *v;
		size_t klen, vlen;
		uint64_t seq = 0, from;
		uint8_t fromkey[8];

		rc = store_last_raw(t, T_AUDIT, &k, &klen, &v, &vlen);
		if (rc == STORE_NOTFOUND) {
			store_read_end(t);
			return 0;
		}
		if (rc != STORE_OK || klen != 8) {
			store_read_end(t);
			return admin_store_failure(
			    c, "audit show", rc == STORE_OK ? STORE_CORRUPT : rc);
		}
		for (i = 0; i < 8; i++)
			seq = seq << 8 | ((const uint8_t *)k)[i];
		from = seq >= last ? seq - last + 1 : 0;
		for (i = 7; i >= 0; i--, from >>= 8)
			fromkey[i] = (uint8_t)(from & 0xff);
		rc = store_iter(t, T_AUDIT, fromkey, sizeof(fromkey), audit_print_cb, c);
		store_read_end(t);
		return rc == 0 ? 0 : admin_store_failure(c, "audit show", STORE_IO);
	}
}

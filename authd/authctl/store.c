/* authd/authctl/store.c — authctl store migrate: brings a PostgreSQL store's
 * schema to this build's version (records_pg.c holds the steps; each runs in one
 * transaction under an advisory lock, so nodes starting together cannot collide).
 * An LMDB store has no schema to migrate. */
#include <stdio.h>
#include <string.h>

#include "../records.h"
#include "authctl.h"

const char usage_store[] = "usage: authctl [-c FILE] store migrate\n";

int
cmd_store(struct admin_ctx *c, int argc, char **argv)
{
	int from = 0, to = 0, rc;

	if (argc != 1 || strcmp(argv[0], "migrate") != 0) {
		if (argc < 1)
			admin_usage_error(c, usage_store, "store: which action?");
		else
			admin_usage_error(c, usage_store, "store: unknown action '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (strcmp(c->conf.store_backend, "postgresql") != 0) {
		fprintf(c->out, "store: [store] backend is %s: no schema to migrate\n",
		    c->conf.store_backend);
		return 0;
	}
	rc = records_pg_migrate(c->conf.store_conninfo, &from, &to);
	if (rc == ST_CONFLICT && from > records_pg_schema_version()) {
		fprintf(c->err,
		    "authctl: store migrate: the database's schema (version %d) is newer than this "
		    "authctl's (%d): refused, nothing changed\n",
		    from, records_pg_schema_version());
		return EXIT_REFUSED;
	}
	if (rc != ST_OK) {
		/* Never the conninfo: it may hold a password. */
		fprintf(c->err, "authctl: store migrate: %s; nothing changed\n", st_strerror(rc));
		return EXIT_REFUSED;
	}
	if (from == to)
		fprintf(c->out, "store schema version %d is current\n", to);
	else
		fprintf(c->out, "store schema migrated from version %d to %d\n", from, to);
	return 0;
}

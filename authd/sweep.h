/* authd/sweep.h — removes expired records (codes, login transactions, sessions,
 * refresh families and tokens, used jtis, stale throttle counters) so the store
 * does not grow without bound. */
#ifndef AUTHD_SWEEP_H
#define AUTHD_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct authd;

/* One bounded pass inside write txn t: looks at up to budget records per table,
 * resuming where the previous pass stopped (cursor), deletes those expired at
 * now. Returns the number deleted, or -1 on a store error. */
struct sweep_cursor {
	char key[T__COUNT][128];
	size_t klen[T__COUNT];
};
long sweep_pass(struct store_txn *t, struct sweep_cursor *cur, int64_t now, size_t budget,
                int throttle_keep_s);

/* A thread that runs one pass every interval_s seconds through the store writer. */
int sweep_start(struct authd *a, int interval_s);
void sweep_stop(void);

#endif

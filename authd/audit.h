/* authd/audit.h — the hash-chained audit log (table T_AUDIT).
 *
 * Invariant: record n is stored as the exact bytes V(n) = version byte + JSON
 * whose "prev" member is hex(SHA-256(V(n-1))) (64 zeros for the first record),
 * keyed by the 8-byte big-endian sequence n (starting at 1). Appends happen inside
 * the same write transaction as the action they record, so an action and its
 * audit record are durable together or not at all. No secret may be passed in. */
#ifndef AUTHD_AUDIT_H
#define AUTHD_AUDIT_H

#include "store.h"
#include <stdint.h>

/* Appends {"seq","ts","event",..fields..,"prev"} . fields is borrowed (may be NULL);
 * typical members: "user", "username", "client", "ip", "result", "method", "reason". */
int audit_append(struct store_txn *t, const char *event, const json_t *fields);

struct audit_verify_result {
	uint64_t records;      /* records checked */
	uint64_t first_bad;    /* 0 when the chain is intact; else the first bad sequence */
	const char *problem;   /* static text describing the first problem, or NULL */
};
/* Walks the whole chain. STORE_OK when intact; STORE_CORRUPT with details otherwise. */
int audit_verify(struct store_txn *t, struct audit_verify_result *res);

/* Deletes records older than cutoff (unix seconds) from the start of the chain,
 * keeping a "chain_anchor" in T_META (seq and hash of the last removed record) so
 * audit_verify still checks the rest. */
int audit_prune(struct store_txn *t, int64_t cutoff);

#endif

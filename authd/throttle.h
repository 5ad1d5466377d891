/* authd/throttle.h — sign-in throttling (config [throttle]; policy and numbers in
 * docs/security.md): a few atomic operations on counters in T_THROTTLE, and the
 * pure arithmetic they decide with.
 *
 * Every attempt to check a secret is *reserved* before the secret is looked at:
 * throttle_reserve() reads the counters that apply, and either refuses (nothing
 * written) or counts the attempt as a failure and takes an in-flight lease, in
 * the caller's write transaction — so the count is durable before any
 * verification starts, and two attempts can never both see "one failure left".
 * After the verification the caller runs, again in a write transaction, exactly
 * one of: throttle_release() (the attempt failed: the count stays; or no secret
 * was checked / the step passed: the count is taken back) or throttle_succeed()
 * (the whole sign-in completed: the account's counters are cleared). Leases
 * carry an expiry, so a process that dies mid-verification blocks nobody for
 * longer than [throttle] lease_s.
 *
 * Counters (each {"n","last","exp"}; "exp" is when the sweeper may drop it):
 *   pa:<prefix>@<account>  password failures of one account from one address
 *                          prefix: exponential back-off (item 6: a burst from
 *                          one place does not lock the owner out elsewhere);
 *                          "ok" = last completed sign-in from there (a known place)
 *   pw:<account>           password failures of one account from everywhere:
 *                          the soft ceiling (slower, never locked)
 *   cd:<account>           wrong one-time / recovery codes: back-off, separate
 *                          from the password
 *   ad:<prefix>            password failures from one prefix, all accounts
 *                          (spraying): back-off
 *   pr:<prefix>            failed passkey / security key / card steps from one
 *                          prefix: back-off of their own, so a password
 *                          back-off never stops a phishing-resistant sign-in
 *   tx:<transaction>       failed steps after the first factor in one login
 *                          transaction; at login_max_attempts it is spent; also
 *                          the transaction's in-flight lease ("until")
 *   ls:<account>           the account's in-flight lease ("until"): one
 *                          verification at a time per account
 *   dv:<prefix>            wrong device user codes (throttle_device_*)
 * Names are kept whether or not the account exists (no enumeration). */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct conf;

/* Longest address prefix key: "6:" + an IPv6 address + "/128", or "x:" + an
 * unparsable peer string. */
#define THROTTLE_PREFIX_MAX 64

/* ---- pure arithmetic --------------------------------------------------------- */

/* The key of the address group ip belongs to: IPv4 (and IPv4-mapped IPv6) by
 * v4_bits ("4:198.51.100.0/24"), IPv6 by v6_bits ("6:2001:db8:7:7::/64"), in
 * canonical form whatever the spelling (bits 0: 32 and 64). Anything that does not parse is its
 * own group ("x:" + the text, cut to fit). Returns out. */
char *throttle_prefix(const char *ip, int v4_bits, int v6_bits, char out[THROTTLE_PREFIX_MAX]);

/* Exponential back-off: after `free` failures the next attempt waits base_ms,
 * doubling with each further failure, at most max_s; a count whose last
 * failure is window_s old (window_s > 0) is forgotten. Seconds still to wait
 * after n failures, the last at `last` (0 = go). Times are whole seconds, so
 * one second less than now - last is taken as passed: a wait is never shorter
 * than configured. A last failure in the future (clock stepped back) counts
 * from now. Never overflows. */
struct throttle_backoff {
	long free, base_ms, max_s, window_s;
};
long throttle_backoff_wait(const struct throttle_backoff *b, long n, int64_t last, int64_t now);
/* Soft ceiling: below `ceiling` failures nothing; from there on, one attempt
 * per interval_s (counted from the last one). Forgotten after window_s. */
long throttle_soft_wait(long ceiling, long interval_s, long window_s, long n, int64_t last,
                        int64_t now);
/* A lease until `until` is held at now; one claiming more than lease_s ahead
 * (clock stepped back) is stale and not held. */
int throttle_lease_held(int64_t until, int64_t now, long lease_s);

/* ---- the operations ------------------------------------------------------------ */

enum throttle_kind {
	THROTTLE_PASSWORD,  /* a password (first factor) */
	THROTTLE_CODE,      /* a one-time code or a recovery code */
	THROTTLE_PHISHRES,  /* a passkey, security key or citizen card */
};

enum throttle_verdict {
	THROTTLE_GO = 0,    /* reserved: go and verify */
	THROTTLE_WAIT,      /* a back-off is running: wait seconds */
	THROTTLE_BUSY,      /* another verification for this account or transaction is in flight */
	THROTTLE_SPENT,     /* the transaction used up its attempts: start again */
};

struct throttle_attempt {
	/* in (borrowed; live until the last operation on this attempt) */
	enum throttle_kind kind;
	const char *account;   /* normalised account name; NULL while unknown (usernameless) */
	const char *prefix;    /* throttle_prefix() of the client address */
	const char *tx;        /* login transaction key (T_LOGINS); NULL: none */
	int later_step;        /* 1: a step after the first factor: the transaction's cap applies */
	/* out of throttle_reserve */
	enum throttle_verdict verdict;
	long wait;             /* seconds, for WAIT and BUSY (Retry-After) */
	unsigned took;         /* what the reservation counted and leased (for release) */
};

/* Write txn. Decides from the counters as stored now; on THROTTLE_GO counts the
 * attempt as failed everywhere it applies and takes the leases; on any other
 * verdict writes nothing. STORE_OK (read a->verdict) or a store error; a
 * damaged counter is refused as a wait (fail closed), never as a go. */
int throttle_reserve(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                     int64_t now);
/* Write txn, after a reserved attempt. failed = 1: the secret was checked and
 * was wrong (the count stays); 0: nothing was checked, or this step passed and
 * another is due (the count is taken back). Drops the leases either way. */
int throttle_release(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                     int failed, int64_t now);
/* Write txn, when the whole sign-in of a->account completed: drops the leases;
 * clears the account's password counter for this prefix (and marks the prefix
 * as a known place), its soft ceiling and its code counter; takes back this
 * attempt's address count (the address keeps its other failures: one valid
 * account must not launder a spraying run); forgets the transaction. */
int throttle_succeed(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                     int64_t now);
/* Write txn, at start-up of the process that owns the store (LMDB: the only
 * one): no check can be in flight, so every lease left by a process that died
 * is dropped at once instead of after lease_s. Counts stay. *n gets how many. */
int throttle_leases_clear(struct store_txn *t, int64_t now, long *n);
/* 1 when the transaction's counter shows it spent (read or write txn). */
int throttle_tx_spent(struct store_txn *t, const struct conf *c, const char *tx);

/* Device user codes (RFC 8628 /device), per address prefix: reserve before the
 * code is looked up (write txn): STORE_OK with *wait 0 (counted) or > 0
 * (refused, nothing written). throttle_device_release takes the count back
 * when the code was right. */
int throttle_device_reserve(struct store_txn *t, const struct conf *c, const char *prefix,
                            int64_t now, long *wait);
int throttle_device_release(struct store_txn *t, const struct conf *c, const char *prefix,
                            int64_t now);

#endif

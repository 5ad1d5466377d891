/* authd/throttle.h — login throttling per account name and per client address
 * (config [throttle]); records in T_THROTTLE: "u:<name>" / "a:<ip>" ->
 * {"fails": n, "last": unix seconds}.
 *
 * Account: after account_max_failures consecutive failures the name waits
 * account_lockout_s from the last failure; a success resets. Counters are kept
 * per username string whether or not the account exists, so a lockout never
 * reveals whether it exists.
 * Address: the first address_free_failures failures cost nothing; then a delay
 * of address_base_delay_ms doubling per further failure, capped at
 * address_max_delay_s. Counters older than address_window_s are forgotten. */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include <stdint.h>

#include "store.h"

struct conf;

/* Pure arithmetic: seconds still to wait (0 = go) given the stored counters. */
long throttle_account_wait(const struct conf *c, long fails, int64_t last_fail, int64_t now);
long throttle_address_wait(const struct conf *c, long fails, int64_t last_fail, int64_t now);

/* Seconds the caller must wait before trying again (0 = go): the max of the
 * account wait for username_norm and the address wait for ip. Either may be
 * NULL (not checked). Read txn. A missing record means no failures; any other
 * store error returns the longest configured wait, so the throttle fails closed. */
long throttle_check(struct store_txn *t, const struct conf *c, const char *username_norm,
                    const char *ip, int64_t now);
/* Records one failure for both (write txn). 0 or a store error. */
int throttle_fail(struct store_txn *t, const struct conf *c, const char *username_norm,
                  const char *ip, int64_t now);
/* Resets the account counter (write txn). The address counter is deliberately
 * left alone: an attacker holding one valid account must not be able to wipe
 * the record of a password-spraying run by logging in between guesses; it
 * expires after address_window_s instead. ip is part of the contract for that
 * reason and is otherwise unused. 0 or a store error. */
int throttle_success(struct store_txn *t, const char *username_norm, const char *ip);

#endif

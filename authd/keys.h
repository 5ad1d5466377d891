/* authd/keys.h — the signing key ring (T_META "keyring") and the server secret
 * (T_META "secret").
 *
 * Ring record: {"generation": n, "keys": [{"kid","alg","state":"current"|"next"|"retired",
 * "pem": PKCS#8 private key, "created", "retired_at"}]}. For each algorithm (ES256,
 * RS256, EdDSA) there is exactly one "current" key (signs) and one "next" key
 * (published in the JWKS ahead of use so caches hold it before rotation).
 * Rotation: next -> current, current -> retired, a new next. Retired keys stay in
 * the JWKS until every token they signed has expired (max token lifetime) and are
 * then dropped by the next rotation.
 *
 * The daemon holds a loaded ring (jose keys parsed once) and swaps in a new one when
 * the stored generation changes (authctl key rotate while running). Old rings are
 * kept until exit, so a pointer obtained from keys_* stays valid for the process. */
#ifndef AUTHD_KEYS_H
#define AUTHD_KEYS_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/jose.h"
#include "store.h"

struct authd;

/* Creates the ring and the server secret if absent (durable write), loads both into a. */
int keys_init(struct authd *a);
/* Reloads the ring when its stored generation changed. Cheap when it did not
 * (one read of a small record); call it before signing from a request. */
int keys_refresh(struct authd *a, struct store_txn *t);
/* The current signing key for alg (never NULL after keys_init for ES256/RS256/EdDSA). */
const struct jose_key *keys_signing(struct authd *a, enum jose_alg alg);
/* Public keys of every key in the ring (current, next, retired): what /jwks serves.
 * A new reference (a copy the caller owns and json_decref()s). */
json_t *keys_jwks(struct authd *a);
/* The same keys as a key set, for verifying tokens authd issued (introspection,
 * id_token_hint). */
const struct jose_keyset *keys_verify_set(struct authd *a);
void keys_fini(struct authd *a);

/* Admin (write txn): rotate every algorithm's keys; max_token_ttl bounds how long
 * retired keys are kept. Audited by the caller. */
int keys_rotate(struct store_txn *t, long max_token_ttl);
/* The ring without private material: [{"kid","alg","state","created","retired_at"}]. */
int keys_list(struct store_txn *t, json_t **out);
/* Creates the ring / the server secret in t if absent (used by keys_init and authctl init). */
int keys_ensure(struct store_txn *t);
/* Reads the server secret (T_META "secret") into key: STORE_NOTFOUND before
 * keys_ensure, STORE_CORRUPT when malformed. For authctl, which hashes client
 * secrets inside its own write txn; the caller wipes key. */
int keys_secret_load(struct store_txn *t, uint8_t key[32]);

#endif

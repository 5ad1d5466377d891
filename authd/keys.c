/* authd/keys.c — owns the signing key ring (T_META "keyring" plus the small
 * "keyring_generation" record that keys_refresh polls) and the server secret
 * (T_META "secret"): creating them, rotating keys, and the loaded in-memory ring
 * the daemon signs with and publishes as its JWKS.
 *
 * Invariant: a loaded struct keyring is immutable. A newer one is swapped in
 * with one atomic pointer store and the old one is chained behind it (never
 * freed before keys_fini), so a key or key set pointer handed out stays valid
 * for the life of the process without any lock on the signing path. */
#include "keys.h"

#include <pthread.h>
#include <string.h>

#include "../lib/util.h"
#include "authd.h"

#define RING_KEY "keyring"
#define RING_GEN_KEY "keyring_generation"
#define SECRET_KEY "secret"
#define KID_RANDOM_BYTES 9
#define KID_MAX 64
#define RING_MAX_KEYS 64

struct keyring {
	json_int_t generation;
	struct jose_keyset *ks;                          /* owns every key */
	const struct jose_key *signing[JOSE_ALG_EDDSA + 1]; /* borrowed from ks */
	json_t *jwks;                                    /* {"keys":[public JWKs]} */
	struct keyring *older;                           /* rings replaced by this one */
};

static const enum jose_alg ring_algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256, JOSE_ALG_EDDSA };
#define N_RING_ALGS (sizeof(ring_algs) / sizeof(ring_algs[0]))

/* Serialises ring swaps so two threads that see a new generation at once do not
 * both link a ring (the loser's would be lost). Signing never takes it. */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;
/* The last stored generation that failed to load: refresh reports it without
 * parsing the ring again on every request until a newer generation appears. */
static json_int_t failed_generation;

static const char *
kid_prefix(enum jose_alg alg)
{
	switch (alg) {
	case JOSE_ALG_ES256: return "es-";
	case JOSE_ALG_RS256: return "rs-";
	case JOSE_ALG_EDDSA: return "ed-";
	default: return NULL;
	}
}

/* Overwrites the private PEMs held in a ring record before it is released: the
 * record is a heap copy of key material we own. */
static void
wipe_array_pems(json_t *keys)
{
	json_t *k, *pem;
	size_t i;

	json_array_foreach(keys, i, k) {
		pem = json_object_get(k, "pem");
		if (json_is_string(pem))
			wipe((char *)json_string_value(pem), json_string_length(pem));
	}
}

static void
ring_wipe(json_t *rec)
{
	if (rec != NULL)
		wipe_array_pems(json_object_get(rec, "keys"));
}

static void
ring_record_free(json_t *rec)
{
	ring_wipe(rec);
	json_decref(rec);
}

static int
kid_in_array(const json_t *keys, const char *kid)
{
	const json_t *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		const char *s = json_string_value(json_object_get(k, "kid"));
		if (s != NULL && strcmp(s, kid) == 0)
			return 1;
	}
	return 0;
}

/* A new key record {"kid","alg","state","pem","created"}; the kid is unique in keys. */
static json_t *
key_record_new(enum jose_alg alg, const char *state, json_int_t now, const json_t *keys)
{
	char kid[KID_MAX], rnd[24];
	struct jose_key *k;
	json_t *rec = NULL;
	char *pem;
	int tries;

	/* 72 random bits make a clash practically impossible; the bounded retry
	 * only guards against a ring that already holds the drawn kid. */
	for (tries = 0; tries < 4; tries++) {
		if (rand_token(rnd, sizeof(rnd), KID_RANDOM_BYTES) != 0)
			return NULL;
		snprintf(kid, sizeof(kid), "%s%s", kid_prefix(alg), rnd);
		if (keys == NULL || !kid_in_array(keys, kid))
			break;
	}
	if (tries == 4)
		return NULL;
	if ((k = jose_key_generate(alg, kid)) == NULL)
		return NULL;
	pem = jose_key_to_pem(k, 1);
	jose_key_free(k);
	if (pem == NULL)
		return NULL;
	rec = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kid", kid, "alg", jose_alg_name(alg),
	    "state", state, "pem", pem, "created", now);
	free_secret_str(pem);
	return rec;
}

/* Checks the shape the rest of the file relies on: generation >= 1, at most
 * RING_MAX_KEYS keys with string members, known algs and states, unique kids,
 * and exactly one current and one next key per algorithm. */
static int
ring_check_shape(const json_t *rec)
{
	const json_t *keys, *k;
	int n_current[JOSE_ALG_EDDSA + 1] = { 0 }, n_next[JOSE_ALG_EDDSA + 1] = { 0 };
	size_t i, j;

	if (!json_is_object(rec) || !json_is_integer(json_object_get(rec, "generation")) ||
	    json_integer_value(json_object_get(rec, "generation")) < 1)
		return STORE_CORRUPT;
	keys = json_object_get(rec, "keys");
	if (!json_is_array(keys) || json_array_size(keys) > RING_MAX_KEYS)
		return STORE_CORRUPT;
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *alg = json_string_value(json_object_get(k, "alg"));
		const char *state = json_string_value(json_object_get(k, "state"));
		enum jose_alg a;

		if (kid == NULL || kid[0] == '\0' || strlen(kid) >= KID_MAX || alg == NULL ||
		    state == NULL || !json_is_string(json_object_get(k, "pem")))
			return STORE_CORRUPT;
		if ((a = jose_alg_from_name(alg)) == JOSE_ALG_UNKNOWN)
			return STORE_CORRUPT;
		if (strcmp(state, "current") == 0)
			n_current[a]++;
		else if (strcmp(state, "next") == 0)
			n_next[a]++;
		else if (strcmp(state, "retired") != 0)
			return STORE_CORRUPT;
		for (j = 0; j < i; j++) {
			const char *other = json_string_value(json_object_get(json_array_get(keys, j), "kid"));
			if (strcmp(other, kid) == 0)
				return STORE_CORRUPT;
		}
	}
	for (i = 0; i < N_RING_ALGS; i++)
		if (n_current[ring_algs[i]] != 1 || n_next[ring_algs[i]] != 1)
			return STORE_CORRUPT;
	return STORE_OK;
}

static void
keyring_free_one(struct keyring *r)
{
	jose_keyset_free(r->ks);
	json_decref(r->jwks);
	free(r);
}

/* Appends to jwks the public JWK of every key in ring record rec whose state is
 * state; current keys go first so naive clients that take the first key of an
 * alg pick the signing one. */
static int
jwks_add_state(json_t *arr, const json_t *rec, const struct jose_keyset *ks, const char *state)
{
	const json_t *k;
	size_t i;

	json_array_foreach(json_object_get(rec, "keys"), i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const struct jose_key *jk;
		json_t *jwk;

		if (strcmp(json_string_value(json_object_get(k, "state")), state) != 0)
			continue;
		if ((jk = jose_keyset_find(ks, kid)) == NULL)
			return STORE_CORRUPT;
		if ((jwk = jose_key_to_jwk(jk)) == NULL || json_array_append_new(arr, jwk) != 0)
			return STORE_IO;
	}
	return STORE_OK;
}

/* Parses a ring record into a loaded ring (every PEM parsed once). */
static int
keyring_from_record(const json_t *rec, struct keyring **out)
{
	struct keyring *r;
	const json_t *k;
	json_t *arr;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = ring_check_shape(rec)) != STORE_OK)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return STORE_IO;
	r->generation = json_integer_value(json_object_get(rec, "generation"));
	if ((r->ks = jose_keyset_new()) == NULL) {
		free(r);
		return STORE_IO;
	}
	json_array_foreach(json_object_get(rec, "keys"), i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const json_t *pem = json_object_get(k, "pem");
		enum jose_alg alg = jose_alg_from_name(json_string_value(json_object_get(k, "alg")));
		struct jose_key *jk;

		jk = jose_key_from_pem(json_string_value(pem), json_string_length(pem), kid);
		/* The stored alg label must agree with the key itself: a P-256 key
		 * filed as "RS256" would otherwise sign under the wrong name. */
		if (jk == NULL || jose_key_alg(jk) != alg || !jose_key_has_private(jk)) {
			jose_key_free(jk);
			keyring_free_one(r);
			return STORE_CORRUPT;
		}
		if (jose_keyset_add(r->ks, jk) != 0) {
			keyring_free_one(r);
			return STORE_IO;
		}
		if (strcmp(json_string_value(json_object_get(k, "state")), "current") == 0)
			r->signing[alg] = jose_keyset_find(r->ks, kid);
	}
	r->jwks = json_object();
	arr = json_array();
	if (r->jwks == NULL || arr == NULL || json_object_set_new(r->jwks, "keys", arr) != 0) {
		keyring_free_one(r);
		return STORE_IO;
	}
	if ((rc = jwks_add_state(arr, rec, r->ks, "current")) != STORE_OK ||
	    (rc = jwks_add_state(arr, rec, r->ks, "next")) != STORE_OK ||
	    (rc = jwks_add_state(arr, rec, r->ks, "retired")) != STORE_OK) {
		keyring_free_one(r);
		return rc;
	}
	*out = r;
	return STORE_OK;
}

static int
put_generation(struct store_txn *t, json_int_t gen)
{
	json_t *g = json_pack("{s:I}", "generation", gen);
	int rc;

	if (g == NULL)
		return STORE_IO;
	rc = store_puts(t, T_META, RING_GEN_KEY, g, 0);
	json_decref(g);
	return rc;
}

static int
put_ring(struct store_txn *t, json_t *rec)
{
	int rc = store_puts(t, T_META, RING_KEY, rec, 0);

	if (rc != STORE_OK)
		return rc;
	return put_generation(t, json_integer_value(json_object_get(rec, "generation")));
}

static int
ring_create(struct store_txn *t)
{
	json_t *rec, *keys;
	json_int_t now = (json_int_t)now_s();
	size_t i;
	int rc = STORE_IO;

	keys = json_array();
	rec = json_pack("{s:I, s:o}", "generation", (json_int_t)1, "keys", keys);
	if (rec == NULL)
		return STORE_IO;
	for (i = 0; i < N_RING_ALGS; i++) {
		json_t *cur = key_record_new(ring_algs[i], "current", now, keys);
		if (cur == NULL || json_array_append_new(keys, cur) != 0)
			goto out;
		json_t *next = key_record_new(ring_algs[i], "next", now, keys);
		if (next == NULL || json_array_append_new(keys, next) != 0)
			goto out;
	}
	rc = put_ring(t, rec);
out:
	ring_record_free(rec);
	return rc;
}

static int
secret_create(struct store_txn *t)
{
	uint8_t key[32];
	char hex[65];
	json_t *rec;
	int rc;

	if (rand_bytes(key, sizeof(key)) != 0)
		return STORE_IO;
	hex_encode(hex, key, sizeof(key));
	wipe(key, sizeof(key));
	rec = json_pack("{s:s}", "client_secret_key", hex);
	wipe(hex, sizeof(hex));
	if (rec == NULL)
		return STORE_IO;
	rc = store_puts(t, T_META, SECRET_KEY, rec, 0);
	wipe((char *)json_string_value(json_object_get(rec, "client_secret_key")), 64);
	json_decref(rec);
	return rc;
}

int
keys_ensure(struct store_txn *t)
{
	json_t *rec = NULL;
	int rc;

	rc = store_gets(t, T_META, RING_KEY, &rec);
	if (rc == STORE_NOTFOUND) {
		if ((rc = ring_create(t)) != STORE_OK)
			return rc;
	} else if (rc != STORE_OK) {
		return rc;
	} else {
		json_t *gen = NULL;

		if ((rc = ring_check_shape(rec)) == STORE_OK) {
			/* A ring written before the generation record existed (or by a
			 * crash-free but partial tool) gets its poll record back. */
			rc = store_gets(t, T_META, RING_GEN_KEY, &gen);
			if (rc == STORE_NOTFOUND)
				rc = put_generation(t, json_integer_value(json_object_get(rec, "generation")));
			json_decref(gen);
		}
		ring_record_free(rec);
		if (rc != STORE_OK)
			return rc;
	}
	rec = NULL;
	rc = store_gets(t, T_META, SECRET_KEY, &rec);
	if (rc == STORE_NOTFOUND)
		return secret_create(t);
	if (rec != NULL)
		wipe((char *)json_string_value(json_object_get(rec, "client_secret_key")),
		    json_string_length(json_object_get(rec, "client_secret_key")));
	json_decref(rec);
	return rc;
}

static int
ensure_cb(struct store_txn *t, void *ctx)
{
	(void)ctx;
	return keys_ensure(t);
}

int
keys_secret_load(struct store_txn *t, uint8_t key[32])
{
	json_t *rec = NULL, *hex;
	int rc;

	if ((rc = store_gets(t, T_META, SECRET_KEY, &rec)) != STORE_OK)
		return rc;
	hex = json_object_get(rec, "client_secret_key");
	rc = STORE_CORRUPT;
	if (json_is_string(hex) && json_string_length(hex) == 64 &&
	    hex_decode(key, 32, json_string_value(hex)) == 0)
		rc = STORE_OK;
	if (json_is_string(hex))
		wipe((char *)json_string_value(hex), json_string_length(hex));
	json_decref(rec);
	return rc;
}

static struct keyring *
ring_current(struct authd *a)
{
	return __atomic_load_n(&a->keys, __ATOMIC_ACQUIRE);
}

/* Links r in front of the current ring and publishes it. Caller holds swap_lock. */
static void
ring_publish(struct authd *a, struct keyring *r)
{
	r->older = ring_current(a);
	__atomic_store_n(&a->keys, r, __ATOMIC_RELEASE);
}

int
keys_init(struct authd *a)
{
	struct store_txn *t;
	struct keyring *r = NULL;
	json_t *rec = NULL;
	uint8_t key[32];
	int rc;

	if (a == NULL || a->store == NULL)
		return STORE_IO;
	/* Write only when something is missing: the usual start needs no write txn. */
	if ((t = store_read_begin(a->store)) == NULL)
		return STORE_IO;
	rc = store_gets(t, T_META, RING_KEY, &rec);
	if (rc == STORE_OK) {
		ring_record_free(rec);
		rec = NULL;
		json_t *s = NULL;
		rc = store_gets(t, T_META, SECRET_KEY, &s);
		if (s != NULL)
			wipe((char *)json_string_value(json_object_get(s, "client_secret_key")),
			    json_string_length(json_object_get(s, "client_secret_key")));
		json_decref(s);
		if (rc == STORE_OK)
			rc = store_gets(t, T_META, RING_GEN_KEY, &s);
		json_decref(s);
	}
	store_read_end(t);
	if (rc == STORE_NOTFOUND)
		rc = store_write_sync(a->store, ensure_cb, NULL);
	if (rc != STORE_OK)
		return rc;

	if ((t = store_read_begin(a->store)) == NULL)
		return STORE_IO;
	rc = store_gets(t, T_META, RING_KEY, &rec);
	if (rc == STORE_OK)
		rc = keyring_from_record(rec, &r);
	ring_record_free(rec);
	if (rc == STORE_OK)
		rc = keys_secret_load(t, key);
	store_read_end(t);
	if (rc != STORE_OK) {
		if (r != NULL)
			keyring_free_one(r);
		wipe(key, sizeof(key));
		return rc;
	}
	memcpy(a->secret_key, key, sizeof(key));
	wipe(key, sizeof(key));
	pthread_mutex_lock(&swap_lock);
	ring_publish(a, r);
	pthread_mutex_unlock(&swap_lock);
	return STORE_OK;
}

static int
stored_generation(struct store_txn *t, json_int_t *gen)
{
	json_t *g = NULL;
	int rc;

	if ((rc = store_gets(t, T_META, RING_GEN_KEY, &g)) != STORE_OK)
		return rc;
	rc = STORE_CORRUPT;
	if (json_is_integer(json_object_get(g, "generation"))) {
		*gen = json_integer_value(json_object_get(g, "generation"));
		rc = STORE_OK;
	}
	json_decref(g);
	return rc;
}

int
keys_refresh(struct authd *a, struct store_txn *t)
{
	struct keyring *cur = ring_current(a), *r = NULL;
	json_t *rec = NULL;
	json_int_t gen;
	int rc;

	if (cur == NULL || t == NULL)
		return STORE_IO;
	if ((rc = stored_generation(t, &gen)) != STORE_OK)
		return rc;
	/* Only move forward: a reader holding an older view must not swap an
	 * older ring back in. */
	if (gen <= cur->generation)
		return STORE_OK;
	if (gen == __atomic_load_n(&failed_generation, __ATOMIC_RELAXED))
		return STORE_CORRUPT;
	pthread_mutex_lock(&swap_lock);
	cur = ring_current(a);
	if (gen > cur->generation) {
		rc = store_gets(t, T_META, RING_KEY, &rec);
		if (rc == STORE_OK)
			rc = keyring_from_record(rec, &r);
		ring_record_free(rec);
		if (rc == STORE_OK && r->generation > cur->generation)
			ring_publish(a, r);
		else if (r != NULL)
			keyring_free_one(r);
		if (rc == STORE_CORRUPT)
			__atomic_store_n(&failed_generation, gen, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&swap_lock);
	return rc;
}

const struct jose_key *
keys_signing(struct authd *a, enum jose_alg alg)
{
	struct keyring *r = ring_current(a);

	if (r == NULL || alg <= JOSE_ALG_UNKNOWN || alg > JOSE_ALG_EDDSA)
		return NULL;
	return r->signing[alg];
}

/* A new reference (a deep copy): callers may modify or serialise it on any
 * thread while another thread swaps rings. */
json_t *
keys_jwks(struct authd *a)
{
	struct keyring *r = ring_current(a);

	if (r == NULL)
		return NULL;
	return json_deep_copy(r->jwks);
}

const struct jose_keyset *
keys_verify_set(struct authd *a)
{
	struct keyring *r = ring_current(a);

	return r == NULL ? NULL : r->ks;
}

void
keys_fini(struct authd *a)
{
	struct keyring *r, *older;

	if (a == NULL)
		return;
	pthread_mutex_lock(&swap_lock);
	r = __atomic_exchange_n(&a->keys, NULL, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&swap_lock);
	for (; r != NULL; r = older) {
		older = r->older;
		keyring_free_one(r);
	}
	wipe(a->secret_key, sizeof(a->secret_key));
}

int
keys_rotate(struct store_txn *t, long max_token_ttl)
{
	json_t *rec = NULL, *old, *keys = NULL, *k;
	json_int_t now = (json_int_t)now_s(), gen;
	size_t i;
	int rc;

	if (max_token_ttl < 0)
		max_token_ttl = 0;
	if ((rc = store_gets(t, T_META, RING_KEY, &rec)) != STORE_OK)
		return rc;
	if ((rc = ring_check_shape(rec)) != STORE_OK)
		goto out;
	rc = STORE_IO;
	old = json_object_get(rec, "keys");
	if ((keys = json_array()) == NULL)
		goto out;
	json_array_foreach(old, i, k) {
		const char *state = json_string_value(json_object_get(k, "state"));
		json_t *copy;

		if (strcmp(state, "retired") == 0) {
			json_t *ra = json_object_get(k, "retired_at");
			/* Every token this key signed has expired: stop publishing it. */
			if (json_is_integer(ra) && json_integer_value(ra) + max_token_ttl < now)
				continue;
		}
		if ((copy = json_copy(k)) == NULL || json_array_append_new(keys, copy) != 0)
			goto out;
		if (strcmp(state, "current") == 0) {
			if (json_object_set_new(copy, "state", json_string("retired")) != 0 ||
			    json_object_set_new(copy, "retired_at", json_integer(now)) != 0)
				goto out;
		} else if (strcmp(state, "next") == 0) {
			if (json_object_set_new(copy, "state", json_string("current")) != 0)
				goto out;
		}
	}
	for (i = 0; i < N_RING_ALGS; i++) {
		json_t *next = key_record_new(ring_algs[i], "next", now, keys);
		if (next == NULL || json_array_append_new(keys, next) != 0)
			goto out;
	}
	if (json_array_size(keys) > RING_MAX_KEYS) {
		/* Rotating faster than tokens expire would grow the JWKS without
		 * bound; refuse rather than publish an oversized set. */
		rc = STORE_CONFLICT;
		goto out;
	}
	gen = json_integer_value(json_object_get(rec, "generation")) + 1;
	if (json_object_set_new(rec, "generation", json_integer(gen)) != 0)
		goto out;
	/* The shallow copies share PEM strings with the old array; keep it alive
	 * so every old PEM (kept or dropped) is wiped after the write. */
	json_incref(old);
	if (json_object_set(rec, "keys", keys) == 0)
		rc = put_ring(t, rec);
	ring_wipe(rec);
	wipe_array_pems(old);
	json_decref(old);
out:
	wipe_array_pems(keys);
	json_decref(keys);
	ring_record_free(rec);
	return rc;
}

int
keys_list(struct store_txn *t, json_t **out)
{
	json_t *rec = NULL, *arr, *k;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = store_gets(t, T_META, RING_KEY, &rec)) != STORE_OK)
		return rc;
	if ((rc = ring_check_shape(rec)) != STORE_OK) {
		ring_record_free(rec);
		return rc;
	}
	if ((arr = json_array()) == NULL) {
		ring_record_free(rec);
		return STORE_IO;
	}
	json_array_foreach(json_object_get(rec, "keys"), i, k) {
		json_t *e = json_pack("{s:O, s:O, s:O, s:O}", "kid", json_object_get(k, "kid"),
		    "alg", json_object_get(k, "alg"), "state", json_object_get(k, "state"),
		    "created", json_object_get(k, "created") ? json_object_get(k, "created") : json_null());
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			ring_record_free(rec);
			return STORE_IO;
		}
		if (json_object_get(k, "retired_at") != NULL &&
		    json_object_set(e, "retired_at", json_object_get(k, "retired_at")) != 0) {
			json_decref(arr);
			ring_record_free(rec);
			return STORE_IO;
		}
	}
	ring_record_free(rec);
	*out = arr;
	return STORE_OK;
}

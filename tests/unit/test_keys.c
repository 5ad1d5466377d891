/* tests/unit/test_keys.c — the signing key ring (authd/keys.c): creation and
 * loading, the JWKS, signing per algorithm, rotation, pick-up of a rotation made
 * by another process (as authctl does), dropping expired retired keys, and
 * refusal of damaged ring records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../authd/authd.h"
#include "../../authd/keys.h"
#include "../../authd/store.h"
#include "../../lib/jose.h"
#include "../../lib/util.h"
#include "fixture.h"

struct fx {
	char dir[FX_DIR_MAX];
	struct store *s;
	struct authd a;
};

static const enum jose_alg algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256, JOSE_ALG_EDDSA };

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fx_store_make(f->dir, &f->s, "keys", 64, 0), 0);
	f->a.store = f->s;
	assert_int_equal(keys_init(&f->a), STORE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	keys_fini(&f->a);
	assert_int_equal(fx_store_remove(f->dir, f->s), 0);
	free(f);
	return 0;
}

static int
rotate_cb(struct store_txn *t, void *ctx)
{
	return keys_rotate(t, *(long *)ctx);
}

static json_int_t
stored_generation(struct store *s)
{
	struct store_txn *t = store_read_begin(s);
	json_t *rec = NULL;
	json_int_t g;

	assert_non_null(t);
	assert_int_equal(store_gets(t, T_META, "keyring", &rec), STORE_OK);
	g = json_integer_value(json_object_get(rec, "generation"));
	json_decref(rec);
	store_read_end(t);
	return g;
}

/* kid of the key in state for alg, from keys_list (copied into out). */
static void
listed_kid(struct store *s, enum jose_alg alg, const char *state, char out[64])
{
	struct store_txn *t = store_read_begin(s);
	json_t *list = NULL, *k;
	size_t i;
	int found = 0;

	assert_non_null(t);
	assert_int_equal(keys_list(t, &list), STORE_OK);
	json_array_foreach(list, i, k) {
		if (strcmp(json_string_value(json_object_get(k, "alg")), jose_alg_name(alg)) == 0 &&
		    strcmp(json_string_value(json_object_get(k, "state")), state) == 0) {
			snprintf(out, 64, "%s", json_string_value(json_object_get(k, "kid")));
			found++;
		}
		/* The list never carries private material. */
		assert_null(json_object_get(k, "pem"));
	}
	assert_int_equal(found, 1);
	json_decref(list);
	store_read_end(t);
}

static char *
sign_test_token(const struct jose_key *k)
{
	time_t now = time(NULL);
	json_t *p = json_pack("{s:s, s:I, s:I}", "sub", "test", "iat", (json_int_t)now,
	    "exp", (json_int_t)now + 300);
	char *tok = jose_sign(k, "JWT", p);

	json_decref(p);
	assert_non_null(tok);
	return tok;
}

static void
assert_verifies(const char *tok, const json_t *jwks)
{
	struct jose_keyset *ks = jose_keyset_from_jwks(jwks);
	json_t *payload = NULL;

	assert_non_null(ks);
	assert_int_equal(jose_verify(tok, ks, NULL, NULL, &payload), JOSE_OK);
	assert_string_equal(json_string_value(json_object_get(payload, "sub")), "test");
	json_decref(payload);
	jose_keyset_free(ks);
}

static void
test_init_creates_ring_and_secret(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	json_t *sec = NULL, *jwks, *k;
	const char *hex;
	uint8_t zero[32] = { 0 };
	size_t i, j;

	t = store_read_begin(f->s);
	assert_int_equal(store_gets(t, T_META, "secret", &sec), STORE_OK);
	hex = json_string_value(json_object_get(sec, "client_secret_key"));
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", hex[i]));
	json_decref(sec);
	store_read_end(t);
	assert_false(ct_equal(f->a.secret_key, zero, 32));
	assert_int_equal(stored_generation(f->s), 1);

	jwks = keys_jwks(&f->a);
	assert_non_null(jwks);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 6);
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *alg = json_string_value(json_object_get(k, "alg"));

		assert_non_null(kid);
		/* The family prefix, then 9 random bytes in base64url. */
		assert_int_equal(strlen(kid), 3 + 12);
		if (strcmp(alg, "ES256") == 0)
			assert_memory_equal(kid, "es-", 3);
		else if (strcmp(alg, "RS256") == 0)
			assert_memory_equal(kid, "rs-", 3);
		else
			assert_memory_equal(kid, "ed-", 3);
		/* Public JWKs only. */
		assert_null(json_object_get(k, "d"));
		assert_null(json_object_get(k, "p"));
		for (j = 0; j < i; j++)
			assert_string_not_equal(kid, json_string_value(json_object_get(
			    json_array_get(json_object_get(jwks, "keys"), j), "kid")));
	}
	json_decref(jwks);
}

static void
test_init_is_idempotent(void **state)
{
	struct fx *f = *state;
	struct authd b = { .store = f->s };
	char kid[64];

	listed_kid(f->s, JOSE_ALG_ES256, "current", kid);
	assert_int_equal(keys_init(&b), STORE_OK);
	assert_string_equal(jose_key_kid(keys_signing(&b, JOSE_ALG_ES256)), kid);
	assert_memory_equal(b.secret_key, f->a.secret_key, 32);
	assert_int_equal(stored_generation(f->s), 1);
	keys_fini(&b);
}

static void
test_signing_key_per_alg_verifies(void **state)
{
	struct fx *f = *state;
	json_t *jwks = keys_jwks(&f->a);
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const struct jose_key *k = keys_signing(&f->a, algs[i]);
		char kid[64], *tok;
		json_t *payload = NULL;

		assert_non_null(k);
		assert_int_equal(jose_key_alg(k), algs[i]);
		listed_kid(f->s, algs[i], "current", kid);
		assert_string_equal(jose_key_kid(k), kid);
		tok = sign_test_token(k);
		assert_verifies(tok, jwks);
		assert_int_equal(jose_verify(tok, keys_verify_set(&f->a), NULL, NULL, &payload), JOSE_OK);
		json_decref(payload);
		free(tok);
	}
	assert_null(keys_signing(&f->a, JOSE_ALG_UNKNOWN));
	json_decref(jwks);
}

static void
test_rotate_moves_states(void **state)
{
	struct fx *f = *state;
	char cur[3][64], next[3][64], now_cur[64], retired[64];
	char *tok[3];
	long ttl = 3600;
	struct store_txn *t;
	json_t *jwks;
	size_t i;

	for (i = 0; i < 3; i++) {
		listed_kid(f->s, algs[i], "current", cur[i]);
		listed_kid(f->s, algs[i], "next", next[i]);
		tok[i] = sign_test_token(keys_signing(&f->a, algs[i]));
	}
	assert_int_equal(store_write_sync(f->s, rotate_cb, &ttl), STORE_OK);
	assert_int_equal(stored_generation(f->s), 2);
	t = store_read_begin(f->s);
	assert_int_equal(keys_refresh(&f->a, t), STORE_OK);
	store_read_end(t);

	jwks = keys_jwks(&f->a);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 9);
	for (i = 0; i < 3; i++) {
		char new_next[64];

		listed_kid(f->s, algs[i], "current", now_cur);
		assert_string_equal(now_cur, next[i]);
		listed_kid(f->s, algs[i], "next", new_next);
		assert_string_not_equal(new_next, next[i]);
		assert_string_not_equal(new_next, cur[i]);
		assert_string_equal(jose_key_kid(keys_signing(&f->a, algs[i])), next[i]);
		/* A token signed by the old current key still verifies. */
		assert_verifies(tok[i], jwks);
		free(tok[i]);
	}
	/* The old current key is retired with a timestamp. */
	t = store_read_begin(f->s);
	{
		json_t *list = NULL, *k;
		int n_retired = 0;

		assert_int_equal(keys_list(t, &list), STORE_OK);
		json_array_foreach(list, i, k) {
			if (strcmp(json_string_value(json_object_get(k, "state")), "retired") != 0)
				continue;
			n_retired++;
			assert_true(json_is_integer(json_object_get(k, "retired_at")));
			snprintf(retired, sizeof(retired), "%s", json_string_value(json_object_get(k, "kid")));
			assert_true(strcmp(retired, cur[0]) == 0 || strcmp(retired, cur[1]) == 0 ||
			    strcmp(retired, cur[2]) == 0);
		}
		assert_int_equal(n_retired, 3);
		json_decref(list);
	}
	store_read_end(t);
	json_decref(jwks);
}

static void
test_refresh_unchanged_is_noop(void **state)
{
	struct fx *f = *state;
	const struct jose_keyset *before = keys_verify_set(&f->a);
	struct store_txn *t = store_read_begin(f->s);

	assert_int_equal(keys_refresh(&f->a, t), STORE_OK);
	store_read_end(t);
	assert_ptr_equal(keys_verify_set(&f->a), before);
}

/* What authctl does: another process opens the store without a writer thread,
 * rotates in its own transaction, and exits. */
static void
test_refresh_picks_up_rotation_by_other_handle(void **state)
{
	struct fx *f = *state;
	const struct jose_key *old_es = keys_signing(&f->a, JOSE_ALG_ES256);
	char next_es[64], *tok;
	struct store_txn *t;
	pid_t pid;
	int status;

	listed_kid(f->s, JOSE_ALG_ES256, "next", next_es);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s2 = NULL;
		long ttl = 3600;
		int rc = fx_store_open(&s2, f->dir, 64, FX_NO_WRITER);

		if (rc == STORE_OK)
			rc = store_write_sync(s2, rotate_cb, &ttl);
		if (s2 != NULL)
			store_close(s2);
		_exit(rc == STORE_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(stored_generation(f->s), 2);

	t = store_read_begin(f->s);
	assert_int_equal(keys_refresh(&f->a, t), STORE_OK);
	store_read_end(t);
	assert_string_equal(jose_key_kid(keys_signing(&f->a, JOSE_ALG_ES256)), next_es);
	/* The replaced ring is kept: a key pointer taken before the swap still signs. */
	tok = sign_test_token(old_es);
	{
		json_t *jwks = keys_jwks(&f->a);
		assert_verifies(tok, jwks);
		json_decref(jwks);
	}
	free(tok);
}

static int
age_retired_cb(struct store_txn *t, void *ctx)
{
	json_t *rec = NULL, *k;
	size_t i;
	int rc;

	if ((rc = store_gets(t, T_META, "keyring", &rec)) != STORE_OK)
		return rc;
	json_array_foreach(json_object_get(rec, "keys"), i, k)
		if (json_object_get(k, "retired_at") != NULL)
			json_object_set_new(k, "retired_at", json_integer(*(json_int_t *)ctx));
	rc = store_puts(t, T_META, "keyring", rec, 0);
	json_decref(rec);
	return rc;
}

static size_t
listed_count(struct store *s)
{
	struct store_txn *t = store_read_begin(s);
	json_t *list = NULL;
	size_t n;

	assert_int_equal(keys_list(t, &list), STORE_OK);
	n = json_array_size(list);
	json_decref(list);
	store_read_end(t);
	return n;
}

static void
test_retired_dropped_after_max_ttl(void **state)
{
	struct fx *f = *state;
	long ttl = 3600;
	json_int_t long_ago = (json_int_t)time(NULL) - 7200, recent = (json_int_t)time(NULL) - 60;

	assert_int_equal(store_write_sync(f->s, rotate_cb, &ttl), STORE_OK);
	assert_int_equal(listed_count(f->s), 9);
	/* Retired a minute ago with one hour of tokens outstanding: kept. */
	assert_int_equal(store_write_sync(f->s, age_retired_cb, &recent), STORE_OK);
	assert_int_equal(store_write_sync(f->s, rotate_cb, &ttl), STORE_OK);
	assert_int_equal(listed_count(f->s), 12);
	/* Retired two hours ago: every token they signed has expired. */
	assert_int_equal(store_write_sync(f->s, age_retired_cb, &long_ago), STORE_OK);
	assert_int_equal(store_write_sync(f->s, rotate_cb, &ttl), STORE_OK);
	assert_int_equal(listed_count(f->s), 9);
	assert_int_equal(stored_generation(f->s), 4);
}

static int
put_ring_cb(struct store_txn *t, void *ctx)
{
	json_t *rec = ctx;
	json_t *g = json_pack("{s:O}", "generation", json_object_get(rec, "generation"));
	int rc = store_puts(t, T_META, "keyring", rec, 0);

	if (rc == STORE_OK)
		rc = store_puts(t, T_META, "keyring_generation", g, 0);
	json_decref(g);
	return rc;
}

static json_t *
stored_ring(struct store *s)
{
	struct store_txn *t = store_read_begin(s);
	json_t *rec = NULL;

	assert_int_equal(store_gets(t, T_META, "keyring", &rec), STORE_OK);
	store_read_end(t);
	return rec;
}

/* A damaged ring (two current ES256 keys) is refused by rotate and refresh,
 * and the daemon keeps signing with the ring it has. */
static void
test_refuses_two_current_keys(void **state)
{
	struct fx *f = *state;
	const struct jose_keyset *before = keys_verify_set(&f->a);
	json_t *rec = stored_ring(f->s), *k;
	struct store_txn *t;
	long ttl = 3600;
	size_t i;

	json_array_foreach(json_object_get(rec, "keys"), i, k)
		if (strcmp(json_string_value(json_object_get(k, "alg")), "ES256") == 0)
			json_object_set_new(k, "state", json_string("current"));
	json_object_set_new(rec, "generation", json_integer(7));
	assert_int_equal(store_write_sync(f->s, put_ring_cb, rec), STORE_OK);
	json_decref(rec);

	assert_int_equal(store_write_sync(f->s, rotate_cb, &ttl), STORE_CORRUPT);
	t = store_read_begin(f->s);
	assert_int_equal(keys_refresh(&f->a, t), STORE_CORRUPT);
	store_read_end(t);
	assert_ptr_equal(keys_verify_set(&f->a), before);
	assert_non_null(keys_signing(&f->a, JOSE_ALG_ES256));
}

/* A key whose stored alg label disagrees with the key material is refused, so
 * an RSA key can never be published or used under another algorithm's name. */
static void
test_refuses_mislabelled_key(void **state)
{
	struct fx *f = *state;
	json_t *rec = stored_ring(f->s), *k;
	struct store_txn *t;
	struct authd b = { .store = f->s };
	size_t i;

	json_array_foreach(json_object_get(rec, "keys"), i, k) {
		const char *alg = json_string_value(json_object_get(k, "alg"));
		if (strcmp(alg, "RS256") == 0)
			json_object_set_new(k, "alg", json_string("ES256"));
		else if (strcmp(alg, "ES256") == 0)
			json_object_set_new(k, "alg", json_string("RS256"));
	}
	json_object_set_new(rec, "generation", json_integer(9));
	assert_int_equal(store_write_sync(f->s, put_ring_cb, rec), STORE_OK);
	json_decref(rec);

	t = store_read_begin(f->s);
	assert_int_equal(keys_refresh(&f->a, t), STORE_CORRUPT);
	store_read_end(t);
	assert_int_equal(jose_key_alg(keys_signing(&f->a, JOSE_ALG_RS256)), JOSE_ALG_RS256);
	/* A fresh start refuses to load it too. */
	assert_int_equal(keys_init(&b), STORE_CORRUPT);
	keys_fini(&b);
}

/* Bad PEM text in the ring is refused rather than skipped. */
static void
test_refuses_bad_pem(void **state)
{
	struct fx *f = *state;
	json_t *rec = stored_ring(f->s);
	struct authd b = { .store = f->s };

	json_object_set_new(json_array_get(json_object_get(rec, "keys"), 0), "pem",
	    json_string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
	assert_int_equal(store_write_sync(f->s, put_ring_cb, rec), STORE_OK);
	json_decref(rec);
	assert_int_equal(keys_init(&b), STORE_CORRUPT);
	keys_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_creates_ring_and_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_key_per_alg_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_moves_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_unchanged_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_picks_up_rotation_by_other_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retired_dropped_after_max_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_two_current_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_mislabelled_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_pem, setup, teardown),
	};

	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}

/* authd/throttle.c — login throttling: the arithmetic of account lockout and
 * per-address back-off, and the T_THROTTLE counters they are computed from.
 *
 * Invariant: throttle_fail() reads the counter it increments inside its own
 * write transaction (store.h: other processes may write concurrently), so two
 * failures can never be counted as one. */
#include "throttle.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

/* Longest key we store: "u:" + a normalised username (64) or "a:" + an IPv6
 * address with zone; anything longer is refused rather than truncated, so two
 * names can never share a counter. */
#define THROTTLE_KEY_MAX 128

long
throttle_account_wait(const struct conf *c, long fails, int64_t last_fail, int64_t now)
{
	int64_t since;

	if (c->account_max_failures <= 0 || c->account_lockout_s <= 0)
		return 0;	/* account lockout switched off */
	if (fails < c->account_max_failures)
		return 0;
	/* A last failure in the future (clock stepped back) still locks for at
	 * most one full lockout period. */
	if (last_fail > now)
		return c->account_lockout_s;
	since = now - last_fail;	/* both are real timestamps: no overflow */
	if (since >= c->account_lockout_s)
		return 0;
	return (long)(c->account_lockout_s - since);
}

/* Delay in seconds owed after `over` failures beyond the free ones:
 * base_ms * 2^(over-1), rounded up to whole seconds, capped at max_s. The
 * doubling is done against the cap so it can never overflow. */
static long
address_delay_s(const struct conf *c, long over)
{
	int64_t cap_ms = (int64_t)c->address_max_delay_s * 1000;
	int64_t d = c->address_base_delay_ms;
	long i;

	if (over <= 0 || d <= 0 || cap_ms <= 0)
		return 0;
	for (i = 1; i < over && d < cap_ms; i++)
		d *= 2;	/* d < cap_ms <= 2^41 here, so d*2 fits */
	if (d > cap_ms)
		d = cap_ms;
	return (long)((d + 999) / 1000);
}

long
throttle_address_wait(const struct conf *c, long fails, int64_t last_fail, int64_t now)
{
	long delay;
	int64_t since;

	if (fails <= c->address_free_failures)
		return 0;
	if (last_fail > now) {
		since = 0;	/* clock stepped back: count from now */
	} else {
		since = now - last_fail;
		if (c->address_window_s > 0 && since >= c->address_window_s)
			return 0;	/* forgotten */
	}
	delay = address_delay_s(c, fails - c->address_free_failures);
	if (since >= delay)
		return 0;
	return (long)(delay - since);
}

static int
make_key(char *out, const char *prefix, const char *name)
{
	int n;

	if (name == NULL || name[0] == '\0')
		return -1;
	n = snprintf(out, THROTTLE_KEY_MAX, "%s%s", prefix, name);
	if (n < 0 || n >= THROTTLE_KEY_MAX)
		return -1;
	return 0;
}

/* Reads {"fails","last"}; a missing record is zero failures. */
static int
read_counter(struct store_txn *t, const char *key, long *fails, int64_t *last)
{
	json_t *rec = NULL, *f, *l;
	int rc;

	*fails = 0;
	*last = 0;
	rc = store_gets(t, T_THROTTLE, key, &rec);
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	f = json_object_get(rec, "fails");
	l = json_object_get(rec, "last");
	if (!json_is_integer(f) || !json_is_integer(l) || json_integer_value(f) < 0) {
		json_decref(rec);
		return STORE_CORRUPT;
	}
	*fails = (long)json_integer_value(f);
	*last = (int64_t)json_integer_value(l);
	json_decref(rec);
	return STORE_OK;
}

static long
longest_wait(const struct conf *c)
{
	long a = c->account_lockout_s > 0 ? c->account_lockout_s : 0;
	long b = c->address_max_delay_s > 0 ? c->address_max_delay_s : 0;

	a = a > b ? a : b;
	return a > 0 ? a : 1;
}

long
throttle_check(struct store_txn *t, const struct conf *c, const char *username_norm,
               const char *ip, int64_t now)
{
	char key[THROTTLE_KEY_MAX];
	long fails, w, wait = 0;
	int64_t last;

	if (username_norm != NULL) {
		if (make_key(key, "u:", username_norm) != 0 ||
		    read_counter(t, key, &fails, &last) != STORE_OK)
			return longest_wait(c);
		w = throttle_account_wait(c, fails, last, now);
		wait = w > wait ? w : wait;
	}
	if (ip != NULL) {
		if (make_key(key, "a:", ip) != 0 || read_counter(t, key, &fails, &last) != STORE_OK)
			return longest_wait(c);
		w = throttle_address_wait(c, fails, last, now);
		wait = w > wait ? w : wait;
	}
	return wait;
}

/* A counter is forgotten once it is older than the window and no longer
 * locking: otherwise a slip a month ago would count towards today's lockout,
 * and names typed once would be kept forever. */
static int
counter_expired(const struct conf *c, int64_t last, int64_t now, long keep_s)
{
	int64_t horizon = c->address_window_s > keep_s ? c->address_window_s : keep_s;

	return horizon > 0 && last <= now && now - last >= horizon;
}

static int
bump(struct store_txn *t, const struct conf *c, const char *key, long keep_s, int64_t now)
{
	json_t *rec;
	long fails;
	int64_t last;
	int rc;

	rc = read_counter(t, key, &fails, &last);
	if (rc == STORE_CORRUPT)
		fails = 0;	/* overwrite a damaged counter rather than block logins on it */
	else if (rc != STORE_OK)
		return rc;
	if (counter_expired(c, last, now, keep_s))
		fails = 0;
	if (fails < 1000000)	/* saturate: the waits are capped long before this */
		fails++;
	rec = json_pack("{s:I,s:I}", "fails", (json_int_t)fails, "last", (json_int_t)now);
	if (rec == NULL)
		return STORE_IO;
	rc = store_puts(t, T_THROTTLE, key, rec, 0);
	json_decref(rec);
	return rc;
}

int
throttle_fail(struct store_txn *t, const struct conf *c, const char *username_norm,
              const char *ip, int64_t now)
{
	char key[THROTTLE_KEY_MAX];
	int rc;

	if (username_norm != NULL) {
		if (make_key(key, "u:", username_norm) != 0)
			return STORE_CONFLICT;
		if ((rc = bump(t, c, key, c->account_lockout_s, now)) != STORE_OK)
			return rc;
	}
	if (ip != NULL) {
		if (make_key(key, "a:", ip) != 0)
			return STORE_CONFLICT;
		if ((rc = bump(t, c, key, c->address_max_delay_s, now)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

int
throttle_success(struct store_txn *t, const char *username_norm, const char *ip)
{
	char key[THROTTLE_KEY_MAX];
	int rc;

	(void)ip;	/* see throttle.h: the address counter only expires */
	if (username_norm == NULL)
		return STORE_OK;
	if (make_key(key, "u:", username_norm) != 0)
		return STORE_CONFLICT;
	rc = store_dels(t, T_THROTTLE, key);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

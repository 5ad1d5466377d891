/* authd/throttle.c — sign-in throttling (throttle.h): the address-prefix key,
 * the back-off arithmetic, and the reserve / release / succeed operations on the
 * T_THROTTLE counters.
 *
 * Invariants:
 *  - Every operation reads what it decides from inside the caller's write
 *    transaction (store.h: other processes may write concurrently), so two
 *    reservations can never both see "one failure left".
 *  - A reservation writes nothing unless it returns THROTTLE_GO; then it has
 *    counted the attempt as a failure in every counter that applies (a->took
 *    says which), so a crash before the answer leaves the attempt counted.
 *  - Counts never go below zero; a lease that claims more than lease_s ahead
 *    is stale (clock stepped back), never a lock. */
#include "throttle.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define KEY_MAX 192             /* "pw:" + 64-byte name + "@" + prefix key fits */
#define COUNT_MAX 1000000       /* saturate: every wait is capped long before */

/* What a reservation took (a->took). */
#define TOOK_PAIR    0x01u
#define TOOK_SOFT    0x02u
#define TOOK_ADDR    0x04u
#define TOOK_CODE    0x08u
#define TOOK_PR      0x10u
#define TOOK_TXN     0x20u
#define LEASE_ACCT   0x40u
#define LEASE_TX     0x80u

/* ---- the address-prefix key --------------------------------------------------- */

static void
mask(unsigned char *a, size_t len, int bits)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int keep = bits - (int)i * 8;

		if (keep >= 8)
			continue;
		a[i] = keep <= 0 ? 0 : (unsigned char)(a[i] & (0xffu << (8 - keep)));
	}
}

char *
throttle_prefix(const char *ip, int v4_bits, int v6_bits, char out[THROTTLE_PREFIX_MAX])
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];

	/* 0 (a hand-built conf): the defaults */
	v4_bits = v4_bits <= 0 ? 32 : v4_bits > 32 ? 32 : v4_bits;
	v6_bits = v6_bits <= 0 ? 64 : v6_bits > 128 ? 128 : v6_bits;
	if (ip != NULL && inet_pton(AF_INET, ip, a) == 1) {
		mask(a, 4, v4_bits);
		inet_ntop(AF_INET, a, txt, sizeof(txt));
		snprintf(out, THROTTLE_PREFIX_MAX, "4:%s/%d", txt, v4_bits);
		return out;
	}
	if (ip != NULL && inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			/* ::ffff:198.51.100.7 is the IPv4 client it names */
			mask(a + 12, 4, v4_bits);
			inet_ntop(AF_INET, a + 12, txt, sizeof(txt));
			snprintf(out, THROTTLE_PREFIX_MAX, "4:%s/%d", txt, v4_bits);
			return out;
		}
		mask(a, 16, v6_bits);
		inet_ntop(AF_INET6, a, txt, sizeof(txt));
		snprintf(out, THROTTLE_PREFIX_MAX, "6:%s/%d", txt, v6_bits);
		return out;
	}
	/* "-" (no address) or a zone-scoped string: a group of its own, cut to fit
	 * (a peer string is at most 63 bytes, so nothing real is cut). */
	snprintf(out, THROTTLE_PREFIX_MAX, "x:%.*s", THROTTLE_PREFIX_MAX - 3, ip ? ip : "-");
	return out;
}

/* ---- arithmetic ------------------------------------------------------------------ */

long
throttle_backoff_wait(const struct throttle_backoff *b, long n, int64_t last, int64_t now)
{
	int64_t cap_ms = (int64_t)b->max_s * 1000, d = b->base_ms, since;
	long over, i;

	if (n <= 0 || n < b->free || d <= 0 || cap_ms <= 0)
		return 0;
	if (last > now) {
		since = 0;	/* clock stepped back: count from now */
	} else {
		since = now - last;	/* both real timestamps: no overflow */
		if (b->window_s > 0 && since >= b->window_s)
			return 0;	/* forgotten */
		/* Whole seconds: the last failure may have come at the very end of
		 * its second, so a second less has surely passed. A wait is never
		 * shorter than configured (at most a second longer). */
		if (since > 0)
			since--;
	}
	over = n - b->free;	/* 0 for the first wait */
	for (i = 0; i < over && d < cap_ms; i++)
		d *= 2;	/* d < cap_ms <= 2^46 here, so d*2 fits */
	if (d > cap_ms)
		d = cap_ms;
	d = (d + 999) / 1000;
	return since >= d ? 0 : (long)(d - since);
}

long
throttle_soft_wait(long ceiling, long interval_s, long window_s, long n, int64_t last,
                   int64_t now)
{
	int64_t since;

	if (ceiling <= 0 || interval_s <= 0 || n < ceiling)
		return 0;
	if (last > now)
		return interval_s;
	since = now - last;
	if (window_s > 0 && since >= window_s)
		return 0;
	if (since > 0)
		since--;	/* whole seconds: see throttle_backoff_wait */
	return since >= interval_s ? 0 : (long)(interval_s - since);
}

int
throttle_lease_held(int64_t until, int64_t now, long lease_s)
{
	return until > now && until - now <= (int64_t)lease_s;
}

/* ---- counters ---------------------------------------------------------------------- */

struct counter {
	long n;
	int64_t last, ok, until, exp;
};

static int
key_of(char out[KEY_MAX], const char *tag, const char *a, const char *b)
{
	int n;

	if (a == NULL || a[0] == '\0')
		return -1;
	n = snprintf(out, KEY_MAX, "%s:%s%s%s", tag, a, b ? "@" : "", b ? b : "");
	return n < 0 || n >= KEY_MAX ? -1 : 0;
}

/* A missing record is a zero counter; a damaged one is STORE_CORRUPT. */
static int
counter_get(struct store_txn *t, const char *key, struct counter *c)
{
	json_t *rec = NULL, *v;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = store_gets(t, T_THROTTLE, key, &rec);
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	v = json_object_get(rec, "n");
	if ((v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) ||
	    (json_object_get(rec, "last") != NULL && !json_is_integer(json_object_get(rec, "last")))) {
		json_decref(rec);
		return STORE_CORRUPT;
	}
	c->n = (long)json_integer_value(v);
	c->last = (int64_t)json_integer_value(json_object_get(rec, "last"));
	c->ok = (int64_t)json_integer_value(json_object_get(rec, "ok"));
	c->until = (int64_t)json_integer_value(json_object_get(rec, "until"));
	c->exp = (int64_t)json_integer_value(json_object_get(rec, "exp"));
	json_decref(rec);
	return STORE_OK;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Writes c under key, to be kept until exp; deletes it when nothing is left. */
static int
counter_put(struct store_txn *t, const char *key, const struct counter *c, int64_t exp, int64_t now)
{
	json_t *rec;
	int rc;

	if (c->n <= 0 && c->ok == 0 && c->until <= now) {
		rc = store_dels(t, T_THROTTLE, key);
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	}
	rec = json_pack("{s:I s:I s:I}", "n", (json_int_t)(c->n > 0 ? c->n : 0),
	                "last", (json_int_t)c->last, "exp", (json_int_t)max64(exp, c->until));
	if (rec == NULL)
		return STORE_IO;
	if ((c->ok != 0 && json_object_set_new(rec, "ok", json_integer(c->ok)) != 0) ||
	    (c->until > now && json_object_set_new(rec, "until", json_integer(c->until)) != 0)) {
		json_decref(rec);
		return STORE_IO;
	}
	rc = store_puts(t, T_THROTTLE, key, rec, 0);
	json_decref(rec);
	return rc;
}

static long
longest(const struct conf *c)
{
	long w = c->account_lockout_s;

	if (c->code_max_delay_s > w)
		w = c->code_max_delay_s;
	if (c->address_max_delay_s > w)
		w = c->address_max_delay_s;
	return w > 0 ? w : 1;
}

static struct throttle_backoff
pair_policy(const struct conf *c)
{
	return (struct throttle_backoff){ c->account_max_failures, (long)c->account_base_delay_s * 1000,
		                          c->account_lockout_s, c->account_window_s };
}

static struct throttle_backoff
code_policy(const struct conf *c)
{
	return (struct throttle_backoff){ c->code_max_failures, (long)c->code_base_delay_s * 1000,
		                          c->code_max_delay_s, c->account_window_s };
}

static struct throttle_backoff
address_policy(const struct conf *c)
{
	return (struct throttle_backoff){ c->address_free_failures, c->address_base_delay_ms,
		                          c->address_max_delay_s, c->address_window_s };
}

/* How long a counter of each kind is worth keeping after its last failure. */
static int64_t
keep_of(const struct conf *c, const struct throttle_backoff *b)
{
	int64_t k = b->window_s > 0 ? b->window_s : 0;

	return max64(k, b->max_s);
}

/* The keys an attempt touches, built once. */
struct keys {
	char pair[KEY_MAX], soft[KEY_MAX], code[KEY_MAX], addr[KEY_MAX], pr[KEY_MAX];
	char tx[KEY_MAX], lease[KEY_MAX];
	unsigned want;   /* TOOK_* / LEASE_* that apply */
};

static int
keys_of(const struct throttle_attempt *a, struct keys *k)
{
	int acct = a->account != NULL && a->account[0] != '\0';

	memset(k, 0, sizeof(*k));
	if (a->prefix == NULL || a->prefix[0] == '\0')
		return -1;
	switch (a->kind) {
	case THROTTLE_PASSWORD:
		if (!acct || key_of(k->pair, "pa", a->prefix, a->account) != 0 ||
		    key_of(k->soft, "pw", a->account, NULL) != 0 ||
		    key_of(k->addr, "ad", a->prefix, NULL) != 0)
			return -1;
		k->want |= TOOK_PAIR | TOOK_SOFT | TOOK_ADDR;
		break;
	case THROTTLE_CODE:
		if (!acct || key_of(k->code, "cd", a->account, NULL) != 0)
			return -1;
		k->want |= TOOK_CODE;
		break;
	case THROTTLE_PHISHRES:
		if (key_of(k->pr, "pr", a->prefix, NULL) != 0)
			return -1;
		k->want |= TOOK_PR;
		break;
	default:
		return -1;
	}
	if (acct) {
		if (key_of(k->lease, "ls", a->account, NULL) != 0)
			return -1;
		k->want |= LEASE_ACCT;
	}
	if (a->tx != NULL) {
		if (key_of(k->tx, "tx", a->tx, NULL) != 0)
			return -1;
		k->want |= LEASE_TX | (a->later_step ? TOOK_TXN : 0);
	}
	return 0;
}

/* The counter as it counts now: one forgotten by its window is zero. */
static long
live_n(const struct counter *c, long window_s, int64_t now)
{
	if (window_s > 0 && c->last <= now && now - c->last >= window_s)
		return 0;
	return c->n;
}

/* n + delta (+1 to count, -1 to take back), saturating at both ends. */
static int
bump(struct store_txn *t, const char *key, int delta, long window_s, int64_t keep, int64_t now)
{
	struct counter c;
	int rc = counter_get(t, key, &c);

	if (rc == STORE_CORRUPT)
		memset(&c, 0, sizeof(c));	/* rewrite a damaged counter rather than block on it */
	else if (rc != STORE_OK)
		return rc;
	c.n = live_n(&c, window_s, now);
	if (delta > 0) {
		if (c.n < COUNT_MAX)
			c.n++;
		c.last = now;
	} else if (c.n > 0) {
		c.n--;
	}
	return counter_put(t, key, &c, max64(c.last, now) + keep, now);
}

static int
lease_set(struct store_txn *t, const char *key, int64_t until, int64_t now)
{
	struct counter c;
	int rc = counter_get(t, key, &c);

	if (rc == STORE_CORRUPT)
		memset(&c, 0, sizeof(c));
	else if (rc != STORE_OK)
		return rc;
	c.until = until;
	return counter_put(t, key, &c, max64(c.exp, until), now);
}

/* What the counters say, folded into one verdict: a spent transaction first,
 * then the longest back-off, then an attempt in flight. */
struct verdict {
	int spent, busy;
	long wait;
};

static void
wait_at_least(struct verdict *v, long w)
{
	if (w > v->wait)
		v->wait = w;
}
int
throttle_reserve(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                 int64_t now)
{
	struct throttle_backoff pair = pair_policy(c), code = code_policy(c), addr = address_policy(c);
	struct verdict d = { 0, 0, 0 };
	struct counter v;
	struct keys k;
	int rc;

	a->verdict = THROTTLE_GO;
	a->wait = 0;
	a->took = 0;
	if (keys_of(a, &k) != 0) {
		a->verdict = THROTTLE_WAIT;	/* no key: fail closed */
		a->wait = longest(c);
		return STORE_OK;
	}
	/* A damaged counter refuses with the longest wait (fail closed). */
#define READ(key)                                         \
	do {                                              \
		rc = counter_get(t, (key), &v);           \
		if (rc == STORE_CORRUPT) {                \
			a->verdict = THROTTLE_WAIT;       \
			a->wait = longest(c);             \
			return STORE_OK;                  \
		}                                         \
		if (rc != STORE_OK)                       \
			return rc;                        \
	} while (0)
	if (k.want & LEASE_TX) {
		READ(k.tx);
		/* With a check in flight the transaction may still succeed (or the
		 * check take its count back): busy, and that check decides. */
		if (throttle_lease_held(v.until, now, c->lease_s))
			d.busy = 1;
		else if ((k.want & TOOK_TXN) && c->login_max_attempts > 0 && v.n >= c->login_max_attempts)
			d.spent = 1;
	}
	if (k.want & LEASE_ACCT) {
		READ(k.lease);
		if (throttle_lease_held(v.until, now, c->lease_s))
			d.busy = 1;
	}
	if (k.want & TOOK_PAIR) {
		int known;

		READ(k.pair);
		wait_at_least(&d, throttle_backoff_wait(&pair, v.n, v.last, now));
		/* A place where this account completed a sign-in lately is the owner's:
		 * the soft ceiling (everyone else's failures) does not slow it. */
		known = v.ok > 0 && v.ok <= now && now - v.ok < (int64_t)c->known_address_days * 86400;
		READ(k.soft);
		if (!known)
			wait_at_least(&d, throttle_soft_wait(c->account_soft_failures, c->account_soft_interval_s,
			                                     c->account_window_s, v.n, v.last, now));
	}
	if (k.want & TOOK_ADDR) {
		READ(k.addr);
		wait_at_least(&d, throttle_backoff_wait(&addr, v.n, v.last, now));
	}
	if (k.want & TOOK_CODE) {
		READ(k.code);
		wait_at_least(&d, throttle_backoff_wait(&code, v.n, v.last, now));
	}
	if (k.want & TOOK_PR) {
		READ(k.pr);
		wait_at_least(&d, throttle_backoff_wait(&addr, v.n, v.last, now));
	}
#undef READ
	if (d.spent || d.wait > 0 || d.busy) {
		a->verdict = d.spent ? THROTTLE_SPENT : d.wait > 0 ? THROTTLE_WAIT : THROTTLE_BUSY;
		a->wait = d.spent ? 0 : d.wait > 0 ? d.wait : 1;
		return STORE_OK;
	}

	/* Go: count the attempt as failed, everywhere it applies, and lease. */
	if ((k.want & TOOK_PAIR) &&
	    (rc = bump(t, k.pair, 1, pair.window_s, max64(keep_of(c, &pair),
	                                                  (int64_t)c->known_address_days * 86400), now)) != STORE_OK)
		return rc;
	if ((k.want & TOOK_SOFT) &&
	    (rc = bump(t, k.soft, 1, c->account_window_s, max64(c->account_window_s, c->account_soft_interval_s), now)) != STORE_OK)
		return rc;
	if ((k.want & TOOK_ADDR) && (rc = bump(t, k.addr, 1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
		return rc;
	if ((k.want & TOOK_CODE) && (rc = bump(t, k.code, 1, code.window_s, keep_of(c, &code), now)) != STORE_OK)
		return rc;
	if ((k.want & TOOK_PR) && (rc = bump(t, k.pr, 1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
		return rc;
	/* The transaction's counter lives as long as a transaction can. */
	if ((k.want & TOOK_TXN) && (rc = bump(t, k.tx, 1, 0, c->login_ttl + 60, now)) != STORE_OK)
		return rc;
	if ((k.want & LEASE_TX) && (rc = lease_set(t, k.tx, now + c->lease_s, now)) != STORE_OK)
		return rc;
	if ((k.want & LEASE_ACCT) && (rc = lease_set(t, k.lease, now + c->lease_s, now)) != STORE_OK)
		return rc;
	a->took = k.want;
	return STORE_OK;
}

static int
leases_drop(struct store_txn *t, const struct keys *k, unsigned took, int64_t now)
{
	int rc;

	if ((took & LEASE_TX) && (rc = lease_set(t, k->tx, 0, now)) != STORE_OK)
		return rc;
	if ((took & LEASE_ACCT) && (rc = lease_set(t, k->lease, 0, now)) != STORE_OK)
		return rc;
	return STORE_OK;
}

int
throttle_release(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                 int failed, int64_t now)
{
	struct throttle_backoff pair = pair_policy(c), code = code_policy(c), addr = address_policy(c);
	struct keys k;
	unsigned took = a->took;
	int rc;

	if (took == 0)
		return STORE_OK;
	if (keys_of(a, &k) != 0)
		return STORE_INVALID;
	if ((rc = leases_drop(t, &k, took, now)) != STORE_OK)
		return rc;
	a->took = 0;
	if (failed)
		return STORE_OK;
	/* Nothing was checked, or the step passed: this attempt was no failure. */
	if ((took & TOOK_PAIR) &&
	    (rc = bump(t, k.pair, -1, pair.window_s, max64(keep_of(c, &pair), (int64_t)c->known_address_days * 86400), now)) != STORE_OK)
		return rc;
	if ((took & TOOK_SOFT) && (rc = bump(t, k.soft, -1, c->account_window_s, c->account_window_s, now)) != STORE_OK)
		return rc;
	if ((took & TOOK_ADDR) && (rc = bump(t, k.addr, -1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
		return rc;
	if ((took & TOOK_CODE) && (rc = bump(t, k.code, -1, code.window_s, keep_of(c, &code), now)) != STORE_OK)
		return rc;
	if ((took & TOOK_PR) && (rc = bump(t, k.pr, -1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
		return rc;
	if ((took & TOOK_TXN) && (rc = bump(t, k.tx, -1, 0, c->login_ttl + 60, now)) != STORE_OK)
		return rc;
	return STORE_OK;
}

static int
del_key(struct store_txn *t, const char *key)
{
	int rc = store_dels(t, T_THROTTLE, key);

	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
throttle_succeed(struct store_txn *t, const struct conf *c, struct throttle_attempt *a,
                 int64_t now)
{
	struct throttle_backoff addr = address_policy(c);
	struct keys k;
	struct counter v;
	char key[KEY_MAX];
	unsigned took = a->took;
	int rc;

	/* This attempt's own address / passkey count goes back; the rest stays. */
	if (took != 0 && keys_of(a, &k) == 0) {
		if ((rc = leases_drop(t, &k, took, now)) != STORE_OK)
			return rc;
		if ((took & TOOK_ADDR) && (rc = bump(t, k.addr, -1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
			return rc;
		if ((took & TOOK_PR) && (rc = bump(t, k.pr, -1, addr.window_s, keep_of(c, &addr), now)) != STORE_OK)
			return rc;
	}
	a->took = 0;
	if (a->tx != NULL && key_of(key, "tx", a->tx, NULL) == 0 && (rc = del_key(t, key)) != STORE_OK)
		return rc;
	if (a->account == NULL || a->account[0] == '\0' || a->prefix == NULL)
		return STORE_OK;
	/* The owner got in: their consecutive failures start again from zero. */
	if (key_of(key, "pw", a->account, NULL) == 0 && (rc = del_key(t, key)) != STORE_OK)
		return rc;
	if (key_of(key, "cd", a->account, NULL) == 0 && (rc = del_key(t, key)) != STORE_OK)
		return rc;
	if (key_of(key, "pa", a->prefix, a->account) != 0)
		return STORE_OK;
	if ((rc = counter_get(t, key, &v)) != STORE_OK && rc != STORE_CORRUPT)
		return rc;
	memset(&v, 0, sizeof(v));
	v.ok = now;	/* a known place for this account from now on */
	v.last = now;
	return counter_put(t, key, &v, now + (int64_t)c->known_address_days * 86400, now);
}

struct lease_scan {
	const char *tag;
	size_t taglen;
	char (*keys)[KEY_MAX];
	size_t n, max;
};

/* Collects the keys of tag's range that carry a lease (deleted afterwards:
 * never while the cursor walks). */
static int
lease_scan_one(const void *key, size_t klen, json_t *value, void *ctx)
{
	struct lease_scan *ls = ctx;

	if (klen < ls->taglen || memcmp(key, ls->tag, ls->taglen) != 0)
		return 1;	/* past the range */
	if (klen >= KEY_MAX || !json_is_integer(json_object_get(value, "until")))
		return 0;
	if (ls->n == ls->max)
		return 2;	/* full: the caller runs another round */
	memcpy(ls->keys[ls->n], key, klen);
	ls->keys[ls->n][klen] = '\0';
	ls->n++;
	return 0;
}

int
throttle_leases_clear(struct store_txn *t, int64_t now, long *n)
{
	static const char *const tags[] = { "ls:", "tx:" };
	struct lease_scan ls = { .max = 256 };
	size_t i, k;
	int rc;

	*n = 0;
	if ((ls.keys = malloc(ls.max * sizeof(*ls.keys))) == NULL)
		return STORE_IO;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		ls.tag = tags[i];
		ls.taglen = strlen(tags[i]);
		do {
			ls.n = 0;
			rc = store_iter(t, T_THROTTLE, ls.tag, ls.taglen, lease_scan_one, &ls);
			if (rc != STORE_OK && rc != 1 && rc != 2)
				goto out;
			for (k = 0; k < ls.n; k++) {
				int r = lease_set(t, ls.keys[k], 0, now);

				if (r != STORE_OK) {
					rc = r;
					goto out;
				}
				(*n)++;
			}
		} while (rc == 2);
	}
	rc = STORE_OK;
out:
	free(ls.keys);
	return rc;
}

int
throttle_tx_spent(struct store_txn *t, const struct conf *c, const char *tx)
{
	struct counter v;
	char key[KEY_MAX];

	if (tx == NULL || c->login_max_attempts <= 0 || key_of(key, "tx", tx, NULL) != 0)
		return 0;
	if (counter_get(t, key, &v) != STORE_OK)
		return 1;	/* damaged: fail closed */
	return v.n >= c->login_max_attempts;
}

int
throttle_device_reserve(struct store_txn *t, const struct conf *c, const char *prefix,
                        int64_t now, long *wait)
{
	struct counter v;
	char key[KEY_MAX];
	long n;
	int rc;

	*wait = c->device_code_window_s > 0 ? c->device_code_window_s : 1;
	if (key_of(key, "dv", prefix, NULL) != 0)
		return STORE_OK;	/* refused: fail closed */
	rc = counter_get(t, key, &v);
	if (rc == STORE_CORRUPT)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	n = live_n(&v, c->device_code_window_s, now);
	if (c->device_code_max_failures > 0 && n >= c->device_code_max_failures) {
		/* until the window after the last wrong code has passed */
		*wait = v.last > now ? c->device_code_window_s :
		        (long)(v.last + c->device_code_window_s - now);
		if (*wait < 1)
			*wait = 1;
		return STORE_OK;
	}
	*wait = 0;
	return bump(t, key, 1, c->device_code_window_s, c->device_code_window_s, now);
}

int
throttle_device_release(struct store_txn *t, const struct conf *c, const char *prefix, int64_t now)
{
	char key[KEY_MAX];

	if (key_of(key, "dv", prefix, NULL) != 0)
		return STORE_INVALID;
	return bump(t, key, -1, c->device_code_window_s, c->device_code_window_s, now);
}

/* tests/unit/test_signin.c — the sign-in core (authd/signin.h) driven without
 * HTTP: a real LMDB store with its writer thread, a real worker pool, the real
 * throttle and policy and the real TOTP method, and a front end of the test's
 * own whose completions run on the test's thread, as an event loop's would.
 *
 * The first step of each sign-in is a small method defined here ("demo": the
 * answer says what it proves), so that each outcome and failure path can be
 * reached on purpose; the second step is the real TOTP method with a real code. */
#include <oath.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../authd/audit.h"
#include "../../authd/config.h"
#include "../../authd/policy.h"
#include "../../authd/signin.h"
#include "../../authd/store.h"
#include "../../authd/users.h"
#include "../../authd/work.h"
#include "../../lib/form.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../../modules/totp.h"
#include "fixture.h"

/* ---- the test's event loop: completions are posted here and run by the test ---- */

struct item {
	void (*fn)(void *);
	void *arg;
	struct item *next;
};

struct loopq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *head, *tail;
};

static void
q_post(void *poster, void (*fn)(void *), void *arg)
{
	struct loopq *q = poster;
	struct item *it = calloc(1, sizeof(*it));

	assert_non_null(it);
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Runs posted completions until *flag is set (by the front end's done). */
static void
q_run_until(struct loopq *q, const int *flag)
{
	while (!*flag) {
		struct item *it;

		pthread_mutex_lock(&q->mu);
		while (!q->head)
			pthread_cond_wait(&q->cv, &q->mu);
		it = q->head;
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		it->fn(it->arg);
		free(it);
	}
}

/* ---- the demo method: its answer says what it proves ---- */

static int demo_calls;           /* finish() runs: a refused step must not reach it */
static struct store *demo_store; /* for the answer that removes the handle meanwhile */
static char demo_handle[65];

static int
w_drop_handle(struct store_txn *t, void *ctx)
{
	(void)ctx;
	return store_dels(t, T_LOGINS, demo_handle);
}

/* answer=right&uid=ID: proves ID (a password's bits); wrong: a wrong answer with
 * the method's own audit event; bad: malformed; boom: internal error; gone:
 * proves uid but the handle disappears during the check; cred=1: asks for a
 * credential update that must be stored with the step (a one-time code's guard),
 * cred=stale: the same, but verified against a record that changed meanwhile. */
/* The method's own change, stored by the core with the step (proof->commit). */
static int
demo_mark(struct store_txn *t, const json_t *arg, int passed)
{
	json_t *v = json_pack("{s:i}", "passed", passed);
	int rc = store_puts(t, T_CREDS, json_string_value(json_object_get(arg, "key")), v, 0);

	json_decref(v);
	return rc;
}

static void
demo_ask_mark(struct proof *p, const char *uid)
{
	char key[128];

	snprintf(key, sizeof(key), "%s/demo/mark", uid);
	p->commit = demo_mark;
	p->commit_arg = json_pack("{s:s}", "key", key);
}

static int
demo_finish(struct login *l, const struct form *f, struct proof *p)
{
	const char *a = form_get(f, "answer"), *uid = form_get(f, "uid"),
	           *cred = form_get(f, "cred");

	(void)l;
	demo_calls++;
	memset(p, 0, sizeof(*p));
	if (!a)
		return ST_INVALID;
	if (strcmp(a, "wrong") == 0) {
		snprintf(p->audit_event, sizeof(p->audit_event), "demo.refused");
		p->audit_extra = json_pack("{s:s}", "detail", "why it was refused");
		if (form_get(f, "mark") && uid)
			demo_ask_mark(p, uid);
		return ST_FAIL;
	}
	if (strcmp(a, "bad") == 0)
		return ST_INVALID;
	if (strcmp(a, "boom") == 0)
		return ST_ERROR;
	if (strcmp(a, "gone") == 0 && store_write_sync(demo_store, w_drop_handle, NULL) != ST_OK)
		return ST_ERROR;
	if ((strcmp(a, "right") != 0 && strcmp(a, "gone") != 0) || !uid)
		return ST_INVALID;
	snprintf(p->user_id, sizeof(p->user_id), "%s", uid);
	if (form_get(f, "mark"))
		demo_ask_mark(p, uid);
	p->amr = form_get(f, "key") ? AMR_HWK : AMR_PWD;
	p->factors = form_get(f, "key") ? FACTOR_HAVE : FACTOR_KNOW;
	if (cred) {
		snprintf(p->cred_key, sizeof(p->cred_key), "%s/demo/0", uid);
		p->cred_expect = json_pack("{s:i}", "used", strcmp(cred, "stale") == 0 ? 7 : 0);
		p->cred_update = json_pack("{s:i}", "used", 1);
		p->cred_must_update = 1;
		snprintf(p->audit_event, sizeof(p->audit_event), "demo.used");
	}
	return ST_OK;
}

static const struct authd_method demo = {
	.name = "demo",
	.factors = FACTOR_KNOW,
	.amr = AMR_PWD,
	.flags = METHOD_FIRST,
	.finish = demo_finish,
};

/* The same as a key that names its person (usernameless, like a passkey): the
 * throttle counts it as a key, the account becomes known from the proof. */
static const struct authd_method demo_key = {
	.name = "demo_key",
	.factors = FACTOR_HAVE,
	.amr = AMR_HWK,
	.flags = METHOD_FIRST,
	.finish = demo_finish,
};

/* ---- the front end ---- */

struct front_ctx {
	int done;
	int commits;     /* front->commit ran (a passed step) */
	int fail_commit; /* make the front end's part of the commit fail */
	int refuse;      /* front->reserve refuses with this status */
};

static int
t_reserve(struct store_txn *t, struct signin *s)
{
	struct front_ctx *c = s->ctx;

	(void)t;
	return c->refuse ? c->refuse : ST_OK;
}

/* Writes a "session" named after the step, then fails when asked to: the whole
 * commit must then be rolled back. */
static int
t_commit(struct store_txn *t, struct signin *s)
{
	struct front_ctx *c = s->ctx;
	json_t *sess = json_pack("{s:s}", "user", s->proof.user_id);
	int rc;

	c->commits++;
	rc = store_puts(t, T_SESSIONS, "test-session", sess, 0);
	json_decref(sess);
	if (rc != ST_OK)
		return rc;
	json_object_set_new(s->audit, "sid", json_string("test-sid"));
	return c->fail_commit ? ST_IO : ST_OK;
}

static void
t_done(struct signin *s)
{
	struct front_ctx *c = s->ctx;

	c->done = 1;
}

static const struct signin_front browser_like = {
	.unmet_signs_in = 1,
	.reserve = t_reserve,
	.commit = t_commit,
	.done = t_done,
};

static const struct signin_front host_like = {
	.via = "host",
	.invalid_counts = 1,
	.next_amr = AMR_OTP,
	.reserve = t_reserve,
	.commit = t_commit,
	.done = t_done,
};

/* ---- the fixture ---- */

struct fx {
	char dir[FX_DIR_MAX];
	char keypath[96];
	struct conf conf;
	struct store *s;
	struct work_pool *pool;
	struct loopq q;
	char lin[USER_ID_LEN + 1];  /* Lin.Meiling, with TOTP */
	char chen[USER_ID_LEN + 1]; /* Chen.Wei, password only */
	uint8_t secret[TOTP_SECRET_BYTES];
};

static void
conf_for(struct fx *f)
{
	struct conf *c = &f->conf;

	memset(c, 0, sizeof(*c));
	c->account_max_failures = 3;
	c->account_base_delay_s = 60;
	c->account_lockout_s = 900;
	c->account_window_s = 86400;
	c->account_soft_failures = 100;
	c->account_soft_interval_s = 60;
	c->known_address_days = 30;
	c->code_max_failures = 5;
	c->code_base_delay_s = 30;
	c->code_max_delay_s = 900;
	c->login_max_attempts = 3;
	c->address_free_failures = 100;
	c->address_base_delay_ms = 1000;
	c->address_max_delay_s = 900;
	c->address_window_s = 3600;
	c->ipv4_prefix = 32;
	c->ipv6_prefix = 64;
	c->lease_s = 30;
	c->login_ttl = 600;
	c->session_ttl = 3600;
	c->totp_key_file = f->keypath;
	c->totp_issuer = (char *)"City SSO";
	c->totp_window = 1;
}

struct wtotp {
	const char *id;
	char uri[TOTP_URI_MAX];
	const char *code;
	char rec[TOTP_RECOVERY_CODES][TOTP_RECOVERY_LEN + 3];
};

static int
w_totp_begin(struct store_txn *t, void *ctx)
{
	struct wtotp *w = ctx;

	return totp_enrol_begin(t, w->id, "lin.meiling", w->uri, sizeof(w->uri));
}

static int
w_totp_finish(struct store_txn *t, void *ctx)
{
	struct wtotp *w = ctx;

	return totp_enrol_finish(t, w->id, w->code, w->rec) == 0 ? ST_OK : ST_CONFLICT;
}

/* Lin.Meiling gets an active TOTP; its secret is kept for codes. */
static int
enrol_totp(struct fx *f)
{
	struct wtotp w = { .id = f->lin };
	const char *p, *e;
	char b32[64], code[7];
	char *bin = NULL;
	size_t binlen = 0;

	if (store_write_sync(f->s, w_totp_begin, &w) != ST_OK || !(p = strstr(w.uri, "secret=")))
		return -1;
	p += 7;
	if (!(e = strchr(p, '&')) || e - p >= (long)sizeof(b32))
		return -1;
	memcpy(b32, p, (size_t)(e - p));
	b32[e - p] = '\0';
	if (oath_base32_decode(b32, strlen(b32), &bin, &binlen) != OATH_OK ||
	    binlen != TOTP_SECRET_BYTES) {
		free(bin);
		return -1;
	}
	memcpy(f->secret, bin, binlen);
	free(bin);
	if (totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s(), code) != 0)
		return -1;
	w.code = code;
	return store_write_sync(f->s, w_totp_finish, &w) == ST_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	work_pool_free(f->pool);
	rc = fx_store_remove(f->dir, f->s);
	totp_fini();
	pthread_mutex_destroy(&f->q.mu);
	pthread_cond_destroy(&f->q.cv);
	free(f);
	return rc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct work_opts wo = {
		.threads = { 2, 2 }, .per_source = 4, .per_account = 4, .total = 16
	};

	if (f == NULL)
		return -1;
	*state = f;
	pthread_mutex_init(&f->q.mu, NULL);
	pthread_cond_init(&f->q.cv, NULL);
	if (fx_tmpdir(f->dir, "signin") != 0)
		goto fail;
	snprintf(f->keypath, sizeof(f->keypath), "%s/totp.key", f->dir);
	conf_for(f);
	if (totp_init(&f->conf) != 0 || fx_store_open(&f->s, f->dir, 16, 0) != ST_OK ||
	    fx_user_create(f->s, "Lin.Meiling", "林美玲", NULL, f->lin) != ST_OK ||
	    fx_user_create(f->s, "Chen.Wei", "陳偉", NULL, f->chen) != ST_OK ||
	    work_pool_start(&f->pool, &wo) != ST_OK || enrol_totp(f) != 0)
		goto fail;
	demo_store = f->s;
	demo_calls = 0;
	return 0;
fail:
	teardown(state);
	return -1;
}

/* ---- helpers ---- */

struct handle_args {
	const char *key;
	json_t *rec;
};

static int
w_put_handle(struct store_txn *t, void *ctx)
{
	struct handle_args *h = ctx;

	return store_puts(t, T_LOGINS, h->key, h->rec, 0);
}

/* A login transaction: for partial_user (NULL: a first step), with amr shown. */
static void
put_handle(struct fx *f, const char *key, const char *partial_user, unsigned amr, unsigned factors)
{
	struct handle_args h = { .key = key };

	h.rec = json_pack("{s:I s:s}", "expires", (json_int_t)(now_s() + 600), "client_id", "app");
	if (partial_user)
		json_object_set_new(h.rec, "partial",
		    json_pack("{s:s s:I s:I s:I}", "user", partial_user, "amr", (json_int_t)amr,
		        "factors", (json_int_t)factors, "props", (json_int_t)0));
	assert_int_equal(store_write_sync(f->s, w_put_handle, &h), ST_OK);
	json_decref(h.rec);
}

static json_t *
get(struct fx *f, enum store_table tab, const char *key)
{
	struct store_txn *t = store_read_begin(f->s);
	json_t *v = NULL;

	assert_non_null(t);
	if (store_gets(t, tab, key, &v) != ST_OK)
		v = NULL;
	store_read_end(t);
	return v;
}

static int
has(struct fx *f, enum store_table tab, const char *key)
{
	json_t *v = get(f, tab, key);

	json_decref(v);
	return v != NULL;
}

struct count_args {
	const char *event;
	const char *field, *value; /* NULL: any */
	int n;
};

static int
count_cb(const void *key, size_t klen, json_t *rec, void *ctx)
{
	struct count_args *c = ctx;
	const char *ev = json_string_value(json_object_get(rec, "event"));

	(void)key;
	(void)klen;
	if (ev && strcmp(ev, c->event) == 0 &&
	    (!c->field ||
	        (json_string_value(json_object_get(rec, c->field)) &&
	            strcmp(json_string_value(json_object_get(rec, c->field)), c->value) == 0)))
		c->n++;
	return 0;
}

/* How many audit records of event (with field = value, when given) there are. */
static int
audits(struct fx *f, const char *event, const char *field, const char *value)
{
	struct count_args c = { .event = event, .field = field, .value = value };
	struct store_txn *t = store_read_begin(f->s);
	struct audit_verify_result vr;

	assert_non_null(t);
	assert_int_equal(store_iter(t, T_AUDIT, NULL, 0, count_cb, &c), 0);
	assert_int_equal(audit_verify(t, &vr), ST_OK); /* the chain stays whole */
	store_read_end(t);
	return c.n;
}

struct run {
	struct signin s;
	struct front_ctx c;
	struct form *form;
};

/* One step through the core, as a front end runs it; the caller reads r->s and
 * then calls run_end. */
static void
run_step(struct fx *f, struct run *r, const struct signin_front *front,
    const struct authd_method *m, const char *handle, const char *uid_known, const char *answer)
{
	struct signin *s = &r->s;
	json_t *tx = NULL;

	r->c.done = 0;
	assert_int_equal(form_parse(answer, strlen(answer), &r->form), FORM_OK);
	s->ctx = &r->c;
	s->front = front;
	s->store = f->s;
	s->conf = &f->conf;
	s->pool = f->pool;
	s->post = q_post;
	s->poster = &f->q;
	s->m = m;
	s->ip = "192.0.2.7";
	s->source = "192.0.2.7";
	s->client_id = "app";
	s->answer = r->form;
	if (handle) {
		snprintf(s->tx_key, sizeof(s->tx_key), "%s", handle);
		snprintf(demo_handle, sizeof(demo_handle), "%s", handle);
		s->tx = get(f, T_LOGINS, handle);
		tx = json_object_get(s->tx, "partial");
	}
	if (tx) {
		s->later_step = 1;
		s->amr = (unsigned)json_integer_value(json_object_get(tx, "amr"));
		s->factors = (unsigned)json_integer_value(json_object_get(tx, "factors"));
	}
	if (uid_known) {
		struct store_txn *t = store_read_begin(f->s);

		assert_int_equal(signin_person(t, uid_known, &s->user), ST_OK);
		store_read_end(t);
		signin_throttle_name(
		    json_string_value(json_object_get(s->user, "username")), s->uname);
	}
	if (!s->required)
		s->required = 1;
	signin_run(s);
	q_run_until(&f->q, &r->c.done);
	if (getenv("SIGNIN_DEBUG"))
		fprintf(
		    stderr, "# outcome %d st %d verdict %d\n", s->outcome, s->st, s->th.verdict);
}

static void
run_end(struct run *r)
{
	signin_clear(&r->s);
	form_free(r->form);
	memset(r, 0, sizeof(*r));
}

/* "answer=right&uid=<id>" and the like. */
static const char *
ans(const char *what, const char *uid, const char *extra)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "answer=%s%s%s%s", what, uid ? "&uid=" : "", uid ? uid : "",
	    extra ? extra : "");
	return buf;
}

static const char *
otp_answer(struct fx *f, int64_t at)
{
	static char buf[32];
	char code[7];

	assert_int_equal(totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, at, code), 0);
	snprintf(buf, sizeof(buf), "otp=%s", code);
	return buf;
}

/* ---- the outcomes ---- */

/* One usernameless step reaching the level: committed with the front end's
 * result, the handle consumed, login.success with the level. */
static void
test_done(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };

	put_handle(f, "tx-done", NULL, 0, 0);
	run_step(f, &r, &browser_like, &demo_key, "tx-done", NULL, ans("right", f->chen, "&key=1"));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.st, ST_OK);
	assert_int_equal(r.s.level, 1);
	assert_int_equal(r.c.commits, 1);
	assert_string_equal(r.s.uname, "chen.wei"); /* the usernameless step named the person */
	assert_false(has(f, T_LOGINS, "tx-done"));
	assert_true(has(f, T_SESSIONS, "test-session"));
	assert_int_equal(audits(f, "login.success", "sid", "test-sid"), 1);
	assert_int_equal(audits(f, "login.success", "acr", policy_acr_name(1)), 1);
	assert_int_equal(demo_calls, 1);
	run_end(&r);
}

/* A password-like first step for a person with TOTP at AAL2: NEXT (TOTP), the
 * transaction keeps what was shown; then the real TOTP step: DONE at AAL2. A
 * second use of the same code is a replay: FAILED. */
static void
test_next_then_done(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	json_t *tx;

	put_handle(f, "tx-next", NULL, 0, 0);
	r.s.required = 2;
	run_step(f, &r, &browser_like, &demo, "tx-next", f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_NEXT);
	assert_ptr_equal(r.s.next, &method_totp);
	assert_int_equal(r.c.commits, 1);
	assert_int_equal(audits(f, "login.factor", "step", "partial"), 1);
	assert_int_equal(audits(f, "login.success", NULL, NULL), 0);
	run_end(&r);
	tx = get(f, T_LOGINS, "tx-next");
	assert_non_null(tx);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(tx, "partial"), "user")), f->lin);
	json_decref(tx);

	r.s.required = 2;
	run_step(
	    f, &r, &browser_like, &method_totp, "tx-next", f->lin, otp_answer(f, now_s() + 30));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.level, 2);
	assert_int_equal(r.s.amr & (AMR_PWD | AMR_OTP), AMR_PWD | AMR_OTP);
	assert_false(has(f, T_LOGINS, "tx-next"));
	assert_int_equal(audits(f, "login.success", "acr", policy_acr_name(2)), 1);
	run_end(&r);

	/* The same code again (the next step's: enrolment used this one's), in a new
	 * sign-in: already consumed by the commit above. */
	put_handle(f, "tx-replay", f->lin, AMR_PWD, FACTOR_KNOW);
	r.s.required = 2;
	run_step(
	    f, &r, &browser_like, &method_totp, "tx-replay", f->lin, otp_answer(f, now_s() + 30));
	assert_int_equal(r.s.outcome, SIGNIN_FAILED);
	assert_int_equal(r.c.commits, 0);
	run_end(&r);
}

/* No enrolled method reaches the level: UNMET. The browser-like front end signs
 * the person in at the level reached; the host-like one grants nothing. */
static void
test_unmet(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };

	put_handle(f, "tx-unmet", NULL, 0, 0);
	r.s.required = 2;
	run_step(f, &r, &browser_like, &demo, "tx-unmet", f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_UNMET);
	assert_null(r.s.next);
	assert_int_equal(r.c.commits, 1);
	assert_false(has(f, T_LOGINS, "tx-unmet"));
	assert_int_equal(audits(f, "login.success", "sid", "test-sid"), 1);
	run_end(&r);

	r.s.required = 3;
	run_step(f, &r, &host_like, &demo, NULL, f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_UNMET);
	assert_int_equal(audits(f, "login.factor", "step", "unmet"), 1);
	assert_int_equal(audits(f, "login.factor", "via", "host"), 1);
	assert_int_equal(audits(f, "login.success", NULL, NULL), 1); /* still only the first */
	run_end(&r);
}

/* A wrong answer is counted and audited with the method's own event; after the
 * account's allowance the next attempt is refused before the method runs. */
static void
test_failed_counted_then_throttled(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	int i, calls;

	put_handle(f, "tx-fail", NULL, 0, 0);
	for (i = 0; i < (int)f->conf.account_max_failures; i++) {
		run_step(f, &r, &browser_like, &demo, "tx-fail", f->chen, ans("wrong", NULL, NULL));
		assert_int_equal(r.s.outcome, SIGNIN_FAILED);
		assert_int_equal(r.c.commits, 0);
		run_end(&r);
	}
	assert_int_equal(
	    audits(f, "login.failure", "username", "chen.wei"), f->conf.account_max_failures);
	assert_int_equal(audits(f, "demo.refused", "detail", "why it was refused"),
	    f->conf.account_max_failures);

	calls = demo_calls;
	run_step(f, &r, &browser_like, &demo, "tx-fail", f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_REFUSED);
	assert_int_equal(r.s.st, ST_THROTTLED);
	assert_int_equal(r.s.th.verdict, THROTTLE_WAIT);
	assert_true(r.s.th.wait > 0);
	assert_int_equal(demo_calls, calls); /* refused before any check */
	assert_int_equal(r.c.commits, 0);
	assert_int_equal(audits(f, "login.throttled", "reason", "back-off"), 1);
	assert_false(has(f, T_SESSIONS, "test-session"));
	run_end(&r);
}

/* A malformed answer is not a guess: many of them never throttle the account,
 * and the right answer afterwards signs in. An internal error is not either. */
static void
test_invalid_not_counted(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	int i;

	put_handle(f, "tx-inv", NULL, 0, 0);
	for (i = 0; i < 3 * (int)f->conf.account_max_failures; i++) {
		run_step(f, &r, &browser_like, &demo, "tx-inv", f->chen,
		    ans(i % 2 ? "bad" : "boom", NULL, NULL));
		assert_int_equal(r.s.outcome, i % 2 ? SIGNIN_INVALID : SIGNIN_ERROR);
		if (!(i % 2))
			assert_int_equal(r.s.st, ST_ERROR);
		run_end(&r);
	}
	assert_int_equal(audits(f, "login.failure", NULL, NULL), 0);
	run_step(f, &r, &browser_like, &demo, "tx-inv", f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	run_end(&r);
}

/* Host login counts a malformed answer as a wrong one, with its reason. */
static void
test_invalid_counted_for_host(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };

	run_step(f, &r, &host_like, &demo, NULL, f->chen, ans("bad", NULL, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_FAILED);
	assert_int_equal(audits(f, "login.failure", "reason", "malformed password"), 1);
	assert_int_equal(audits(f, "login.failure", "via", "host"), 1);
	run_end(&r);
}

/* A disabled account: the method may verify the answer, the core refuses the
 * person, counted and audited like a wrong answer; nothing is committed. */
static int
w_disable(struct store_txn *t, void *ctx)
{
	const char *id = ctx;
	json_t *u = NULL;
	int rc;

	if ((rc = user_by_id(t, id, &u)) != ST_OK)
		return rc;
	json_object_set_new(u, "disabled", json_true());
	rc = user_update(t, u);
	json_decref(u);
	return rc;
}

static void
test_disabled_account(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	struct store_txn *t;
	json_t *u = NULL;

	assert_int_equal(store_write_sync(f->s, w_disable, f->chen), ST_OK);
	t = store_read_begin(f->s);
	assert_int_equal(signin_person(t, f->chen, &u), ST_DENIED);
	assert_null(u);
	assert_int_equal(signin_person(t, "no-such-person-0000000000000000", &u), ST_NOTFOUND);
	store_read_end(t);

	put_handle(f, "tx-dis", NULL, 0, 0);
	run_step(f, &r, &browser_like, &demo_key, "tx-dis", NULL, ans("right", f->chen, "&key=1"));
	assert_int_equal(r.s.outcome, SIGNIN_FAILED);
	assert_int_equal(r.c.commits, 0);
	assert_true(has(f, T_LOGINS, "tx-dis"));
	assert_false(has(f, T_SESSIONS, "test-session"));
	assert_int_equal(audits(f, "login.failure", "reason", "account disabled"), 1);
	assert_int_equal(audits(f, "login.success", NULL, NULL), 0);
	run_end(&r);
}

/* A later step that proves someone else: an error, nothing granted, the
 * reservation taken back (the next attempt is not "in flight"). */
static void
test_same_person(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };

	put_handle(f, "tx-other", f->lin, AMR_OTP, FACTOR_HAVE);
	r.s.required = 2;
	run_step(f, &r, &browser_like, &demo, "tx-other", f->lin, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_ERROR);
	assert_int_equal(r.s.st, ST_CONFLICT);
	assert_int_equal(r.c.commits, 0);
	assert_true(has(f, T_LOGINS, "tx-other"));
	assert_int_equal(audits(f, "login.success", NULL, NULL), 0);
	run_end(&r);

	r.s.required = 2;
	run_step(f, &r, &browser_like, &demo, "tx-other", f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.level, 2);
	run_end(&r);
}

/* The front end's part of the commit fails: the whole write is rolled back —
 * no session, the credential update not stored, the handle still there, no
 * success audited — and the status says why. */
static int
w_put_cred(struct store_txn *t, void *ctx)
{
	const char *key = ctx;
	json_t *v = json_pack("{s:i}", "used", 0);
	int rc = store_puts(t, T_CREDS, key, v, 0);

	json_decref(v);
	return rc;
}

static void
test_store_failure(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	char key[128];
	json_t *cred;

	snprintf(key, sizeof(key), "%s/demo/0", f->chen);
	assert_int_equal(store_write_sync(f->s, w_put_cred, key), ST_OK);
	put_handle(f, "tx-io", NULL, 0, 0);
	r.c.fail_commit = 1;
	run_step(f, &r, &browser_like, &demo, "tx-io", f->chen, ans("right", f->chen, "&cred=1"));
	assert_int_equal(r.s.outcome, SIGNIN_ERROR);
	assert_int_equal(r.s.st, ST_IO);
	assert_int_equal(r.c.commits, 1);
	assert_false(has(f, T_SESSIONS, "test-session"));
	assert_true(has(f, T_LOGINS, "tx-io"));
	cred = get(f, T_CREDS, key);
	assert_int_equal(json_integer_value(json_object_get(cred, "used")), 0);
	json_decref(cred);
	assert_int_equal(audits(f, "login.success", NULL, NULL), 0);
	assert_int_equal(audits(f, "demo.used", NULL, NULL), 0);
	run_end(&r);

	/* The same step again without the failure: committed with its update. */
	run_step(f, &r, &browser_like, &demo, "tx-io", f->chen, ans("right", f->chen, "&cred=1"));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	cred = get(f, T_CREDS, key);
	assert_int_equal(json_integer_value(json_object_get(cred, "used")), 1);
	json_decref(cred);
	assert_int_equal(audits(f, "demo.used", "result", "success"), 1);
	run_end(&r);

	/* A required update verified against a record that changed meanwhile: a replay. */
	put_handle(f, "tx-stale", NULL, 0, 0);
	run_step(
	    f, &r, &browser_like, &demo, "tx-stale", f->chen, ans("right", f->chen, "&cred=stale"));
	assert_int_equal(r.s.outcome, SIGNIN_FAILED);
	assert_int_equal(r.c.commits, 0);
	assert_int_equal(audits(f, "login.failure", "reason", "one-time code already used"), 1);
	run_end(&r);
}

/* What a method asks to store with its step (proof->commit) is stored by the
 * core in the write that records the step — on failure and on success — and
 * not at all when that write is rolled back. */
static void
test_method_commit(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	char key[128];
	json_t *v;

	snprintf(key, sizeof(key), "%s/demo/mark", f->chen);
	put_handle(f, "tx-mark", NULL, 0, 0);
	run_step(f, &r, &browser_like, &demo, "tx-mark", f->chen, ans("wrong", f->chen, "&mark=1"));
	assert_int_equal(r.s.outcome, SIGNIN_FAILED);
	v = get(f, T_CREDS, key);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "passed")), 0);
	json_decref(v);
	run_end(&r);

	r.c.fail_commit = 1;
	run_step(f, &r, &browser_like, &demo, "tx-mark", f->chen, ans("right", f->chen, "&mark=1"));
	assert_int_equal(r.s.outcome, SIGNIN_ERROR);
	v = get(f, T_CREDS, key);
	assert_int_equal(json_integer_value(json_object_get(v, "passed")), 0); /* rolled back */
	json_decref(v);
	run_end(&r);

	run_step(f, &r, &browser_like, &demo, "tx-mark", f->chen, ans("right", f->chen, "&mark=1"));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	v = get(f, T_CREDS, key);
	assert_int_equal(json_integer_value(json_object_get(v, "passed")), 1);
	json_decref(v);
	run_end(&r);
}

/* The handle disappears while the method checks (expired, used by a parallel
 * step): nothing is granted; the answer is "expired". A handle already gone
 * is refused before any check. */
static void
test_handle_gone(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	int calls;

	put_handle(f, "tx-gone", NULL, 0, 0);
	run_step(f, &r, &browser_like, &demo, "tx-gone", f->chen, ans("gone", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_REFUSED);
	assert_int_equal(r.s.st, ST_EXPIRED);
	assert_int_equal(r.c.commits, 0);
	assert_false(has(f, T_SESSIONS, "test-session"));
	run_end(&r);

	calls = demo_calls;
	run_step(f, &r, &browser_like, &demo, "tx-gone", f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_REFUSED);
	assert_int_equal(r.s.st, ST_EXPIRED);
	assert_int_equal(demo_calls, calls);
	run_end(&r);
}

/* Refusals before any check: the front end's own (a client assertion seen
 * before), and a full worker queue for this address. */
static void
test_refused_before_check(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	struct work_slot *held[4];
	int calls = demo_calls, i;

	r.c.refuse = ST_DENIED;
	run_step(f, &r, &host_like, &demo, NULL, f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_REFUSED);
	assert_int_equal(r.s.st, ST_DENIED);
	assert_int_equal(demo_calls, calls);
	run_end(&r);

	for (i = 0; i < 4; i++)
		assert_int_equal(
		    work_admit(f->pool, WORK_CPU, "192.0.2.7", NULL, q_post, &f->q, &held[i]),
		    ST_OK);
	run_step(f, &r, &host_like, &demo, NULL, f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_REFUSED);
	assert_int_equal(r.s.st, ST_BUSY);
	assert_int_equal(demo_calls, calls);
	run_end(&r);
	for (i = 0; i < 4; i++)
		work_cancel(held[i]);

	run_step(f, &r, &host_like, &demo, NULL, f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(audits(f, "login.success", "via", "host"), 1);
	run_end(&r);
}

/* A later step's transaction allows login_max_attempts wrong answers, then it
 * is spent: deleted, and the step says so. */
static void
test_later_step_spent(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };
	int i, spent = 0;

	put_handle(f, "tx-spent", f->lin, AMR_PWD, FACTOR_KNOW);
	for (i = 0; i < (int)f->conf.login_max_attempts; i++) {
		r.s.required = 2;
		run_step(
		    f, &r, &browser_like, &method_totp, "tx-spent", f->lin, "recovery_code=short");
		/* not a recovery code's shape: malformed, not counted */
		assert_int_equal(r.s.outcome, SIGNIN_INVALID);
		run_end(&r);
	}
	for (i = 0; i < (int)f->conf.login_max_attempts && !spent; i++) {
		char wrong[16];
		char code[7];

		assert_int_equal(
		    totp_code(f->secret, TOTP_SECRET_BYTES, TOTP_SHA1, 6, 30, now_s() + 3600, code),
		    0);
		snprintf(wrong, sizeof(wrong), "otp=%s", code);
		r.s.required = 2;
		run_step(f, &r, &browser_like, &method_totp, "tx-spent", f->lin, wrong);
		assert_int_equal(r.s.outcome, SIGNIN_FAILED);
		spent = r.s.spent;
		run_end(&r);
	}
	assert_true(spent);
	assert_false(has(f, T_LOGINS, "tx-spent"));
	assert_int_equal(audits(f, "login.failure", "transaction", "spent"), 1);
}

static int
w_pref_off(struct store_txn *t, void *ctx)
{
	const char *uid = ctx;
	json_t *u = NULL;
	int rc = user_by_id(t, uid, &u);

	if (rc == ST_OK) {
		json_object_set_new(u, "ask_second_factor", json_false());
		rc = user_update(t, u);
	}
	json_decref(u);
	return rc;
}

/* A person with TOTP signing in to an AAL1 app: by default the core asks the
 * second factor (NEXT, TOTP) and the sign-in ends at AAL2; with the preference
 * turned off, the password-like step alone is DONE at AAL1. A person without a
 * second factor is never asked for one. */
static void
test_second_factor_by_default(void **state)
{
	struct fx *f = *state;
	struct run r = { 0 };

	put_handle(f, "tx-pref", NULL, 0, 0);
	r.s.required = 1;
	run_step(f, &r, &browser_like, &demo, "tx-pref", f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_NEXT);
	assert_ptr_equal(r.s.next, &method_totp);
	assert_int_equal(r.s.required, 2);
	assert_int_equal(audits(f, "login.success", NULL, NULL), 0);
	run_end(&r);
	r.s.required = 1;
	run_step(
	    f, &r, &browser_like, &method_totp, "tx-pref", f->lin, otp_answer(f, now_s() + 30));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.level, 2);
	assert_int_equal(audits(f, "login.success", "acr", policy_acr_name(2)), 1);
	run_end(&r);

	/* Host login asks one-time codes itself: the same rule applies there. */
	r.s.required = 1;
	run_step(f, &r, &host_like, &demo, NULL, f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_NEXT);
	run_end(&r);

	/* chen has only the demo method: nothing more to ask. */
	put_handle(f, "tx-chen", NULL, 0, 0);
	r.s.required = 1;
	run_step(f, &r, &browser_like, &demo, "tx-chen", f->chen, ans("right", f->chen, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.level, 1);
	run_end(&r);

	/* Turned off: the first step alone signs lin in to the AAL1 app... */
	assert_int_equal(store_write_sync(f->s, w_pref_off, (void *)f->lin), ST_OK);
	put_handle(f, "tx-off", NULL, 0, 0);
	r.s.required = 1;
	run_step(f, &r, &browser_like, &demo, "tx-off", f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_DONE);
	assert_int_equal(r.s.level, 1);
	assert_false(has(f, T_LOGINS, "tx-off"));
	run_end(&r);
	/* ...while an AAL2 app still asks the code. */
	put_handle(f, "tx-off2", NULL, 0, 0);
	r.s.required = 2;
	run_step(f, &r, &browser_like, &demo, "tx-off2", f->lin, ans("right", f->lin, NULL));
	assert_int_equal(r.s.outcome, SIGNIN_NEXT);
	run_end(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_then_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_factor_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmet, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_counted_then_throttled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_counted_for_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_person, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_before_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_step_spent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* authd/signin.c — the sign-in core (signin.h): throttle reservation, the
 * method's check on a worker, the same-person and account checks, the policy's
 * decision and one atomic durable commit with its audit records, for every
 * front end. It knows no HTTP, no page and no OIDC: a front end hands it a
 * struct signin and renders the outcome.
 *
 * Invariants: no method's finish runs before the reservation's write is durable
 * and while its lease may have run out (deadline_ns: half the lease); every
 * reservation is released exactly once (counted as a failure, taken back, or
 * cleared by a complete sign-in) in the write that records the outcome; a step
 * is granted only in a write that also finds its handle still there and stores
 * the method's required credential update (a one-time code used once). */
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "audit.h"
#include "config.h"
#include "metrics.h"
#include "policy.h"
#include "signin.h"

/* The worker found the reservation's lease too old to start the check. */
#define RESULT_LATE (-100)

static void
finish(struct signin *s, enum signin_outcome o, int st)
{
	s->outcome = o;
	s->st = st;
	s->front->done(s);
}

/* ---- the rules shared with the front ends ---- */

int
signin_person(struct store_txn *t, const char *user_id, json_t **user)
{
	int rc;

	*user = NULL;
	if (!user_id || strlen(user_id) != USER_ID_LEN)
		return ST_NOTFOUND;
	if ((rc = user_by_id(t, user_id, user)) != ST_OK) {
		*user = NULL;
		return rc;
	}
	if (user_is_disabled(*user)) {
		json_decref(*user);
		*user = NULL;
		return ST_DENIED;
	}
	return ST_OK;
}

const struct authd_method *
signin_next_method(struct store_txn *t, const char *uid, unsigned amr, unsigned factors,
    unsigned props, int required)
{
	const struct authd_method *raises = NULL, *cert = NULL;
	int now = policy_level_of(amr, factors, props);

	for (const struct authd_method *const *mp = authd_methods; *mp; mp++) {
		const struct authd_method *m = *mp;
		struct policy_cred c;
		if (!(m->flags & (METHOD_STEP | METHOD_STEP_CERT)) || !m->enrolled ||
		    !m->enrolled(t, uid))
			continue;
		/* What this person's own credentials of m show (a key with user
		 * verification reaches more than the method's static bits say; a
		 * passkey never shows hwk). Asked again only when it can show
		 * something not shown yet: a verified hardware key after a passkey. */
		if (!method_reach(m, t, uid, NULL, &c) || (c.amr & ~amr) == 0)
			continue;
		int l = policy_level_of(amr | c.amr, factors | c.factors, props | c.props);
		/* A step over a client certificate (the card on its own listener)
		 * only when it is phishing-resistant here and reaches the level
		 * (an AAL3 app), never as a mere raise, and only when no step on
		 * this page reaches it (a security key is asked for in place). */
		if (!(m->flags & METHOD_STEP)) {
			if ((c.props & PROP_HW_VERIFIED) && l >= required && !cert)
				cert = m;
			continue;
		}
		if (l >= required)
			return m;
		if (l > now && !raises)
			raises = m;
	}
	return cert ? cert : raises;
}

int
signin_cred_update(struct store_txn *t, const struct proof *p)
{
	json_t *cur = NULL;
	int same;

	if (!p->cred_update)
		return p->cred_must_update ? 1 : ST_OK;
	same =
	    store_gets(t, T_CREDS, p->cred_key, &cur) == ST_OK && json_equal(cur, p->cred_expect);
	json_decref(cur);
	if (!same)
		return p->cred_must_update ? 1 : ST_OK;
	return store_puts(t, T_CREDS, p->cred_key, p->cred_update, 0);
}

void
signin_throttle_name(const char *username, char out[USERNAME_MAX + 1])
{
	size_t i;

	if (username_normalise(username, out))
		return;
	for (i = 0; username[i] && i < USERNAME_MAX; i++)
		out[i] =
		    (username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i];
	out[i] = '\0';
}

void
signin_reserve_init(struct throttle_attempt *th, const struct authd_method *m, const char *account,
    const char *prefix, const char *tx, int later_step)
{
	memset(th, 0, sizeof(*th));
	th->kind = m->factors == FACTOR_KNOW ? THROTTLE_PASSWORD
	    : (m->amr & AMR_OTP)             ? THROTTLE_CODE
	                                     : THROTTLE_PHISHRES;
	th->account = account;
	th->prefix = prefix;
	th->tx = tx;
	th->later_step = later_step;
}

void
signin_clear(struct signin *s)
{
	json_decref(s->tx);
	json_decref(s->user);
	json_decref(s->audit);
	json_decref(s->proof.cred_update);
	json_decref(s->proof.cred_expect);
	json_decref(s->proof.audit_extra);
	json_decref(s->proof.commit_arg);
	wipe(s, sizeof(*s));
}

/* ---- audit ---- */

static const char *
uname_of(const struct signin *s)
{
	return s->uname[0] ? s->uname : NULL;
}

static json_t *
audit_fields(const struct signin *s, const char *result)
{
	json_t *f = json_pack("{s:s? s:s? s:s s:s}", "username", uname_of(s), "ip", s->ip, "method",
	    s->m->name, "result", result);
	const char *uid = s->proof.user_id[0] ? s->proof.user_id
	                                      : json_string_value(json_object_get(s->user, "id"));

	if (!f)
		return NULL;
	if (s->client_id)
		json_object_set_new(f, "client", json_string(s->client_id));
	if (s->front->via)
		json_object_set_new(f, "via", json_string(s->front->via));
	if (uid && s->result == ST_OK)
		json_object_set_new(f, "user", json_string(uid));
	return f;
}

static int
audit_put(struct store_txn *t, const char *event, json_t *f)
{
	int rc;

	if (!f)
		return ST_IO;
	rc = audit_append(t, event, f);
	json_decref(f);
	return rc;
}

/* The method's own event (e.g. totp.recovery_used, x509.revocation_unknown),
 * recorded with the step's outcome, success or failure. */
static int
audit_method_event(struct store_txn *t, struct signin *s, const char *result)
{
	json_t *f;

	if (!s->proof.audit_event[0])
		return ST_OK;
	f = audit_fields(s, result);
	if (f && s->proof.audit_extra)
		json_object_update(f, s->proof.audit_extra);
	return audit_put(t, s->proof.audit_event, f);
}

/* ---- the handle ---- */

static void
state_key(const struct authd_method *m, char out[40])
{
	snprintf(out, 40, "m:%s", m->name);
}

/* A method's challenge is good for one answer: after finish() ran, its state
 * leaves the stored handle (and the copy that may be stored again). */
static int
state_drop(struct store_txn *t, struct signin *s)
{
	json_t *tx = NULL;
	char sk[40];
	int rc;

	if (!s->tx_key[0])
		return ST_OK;
	state_key(s->m, sk);
	json_object_del(s->tx, sk);
	if (store_gets(t, T_LOGINS, s->tx_key, &tx) != ST_OK)
		return ST_OK;
	if (json_object_get(tx, sk) == NULL) {
		json_decref(tx);
		return ST_OK;
	}
	json_object_del(tx, sk);
	rc = store_puts(t, T_LOGINS, s->tx_key, tx, 0);
	json_decref(tx);
	return rc;
}

static int
handle_present(struct store_txn *t, const struct signin *s)
{
	json_t *tx = NULL;

	if (!s->tx_key[0])
		return 1;
	if (store_gets(t, T_LOGINS, s->tx_key, &tx) != ST_OK)
		return 0;
	json_decref(tx);
	return 1;
}

/* ---- 5. the commit ---- */

/* A checked answer was wrong: the reserved count stays, the leases go; at a
 * later step's last allowed attempt the handle itself goes too. */
static int
record_failure(struct store_txn *t, struct signin *s, const char *reason)
{
	json_t *f;
	int rc;

	if ((rc = throttle_release(t, s->conf, &s->th, 1, now_s())) != ST_OK)
		return rc;
	if ((rc = state_drop(t, s)) != ST_OK)
		return rc;
	if (s->proof.commit && (rc = s->proof.commit(t, s->proof.commit_arg, 0)) != ST_OK)
		return rc;
	if (s->later_step && s->tx_key[0] && throttle_tx_spent(t, s->conf, s->tx_key)) {
		rc = store_dels(t, T_LOGINS, s->tx_key);
		if (rc != ST_OK && rc != ST_NOTFOUND)
			return rc;
		s->spent = 1;
	}
	if (!(f = audit_fields(s, "failure")))
		return ST_IO;
	if (reason)
		json_object_set_new(f, "reason", json_string(reason));
	if (s->spent)
		json_object_set_new(f, "transaction", json_string("spent"));
	return audit_put(t, "login.failure", f);
}

static int
fail_write(struct store_txn *t, void *arg)
{
	struct signin *s = arg;
	int rc;

	s->spent = 0;
	if ((rc = record_failure(t, s, s->reason)) != ST_OK)
		return rc;
	return audit_method_event(t, s, "failure");
}

static void uncommit(struct signin *s, enum signin_outcome o, int st);

static void
fail_done(int rc, void *arg)
{
	struct signin *s = arg;

	if (rc != ST_OK)
		uncommit(s, SIGNIN_ERROR, rc);
	else
		finish(s, SIGNIN_FAILED, ST_OK);
}

static int
commit_write(struct store_txn *t, void *arg)
{
	struct signin *s = arg;
	int complete =
	    s->outcome == SIGNIN_DONE || (s->outcome == SIGNIN_UNMET && s->front->unmet_signs_in);
	json_t *f;
	int rc;

	s->gone = 0;
	s->spent = 0;
	json_decref(s->audit);
	s->audit = json_object();
	if (!s->audit)
		return ST_IO;
	if (!handle_present(t, s)) {
		/* Gone meanwhile (expired, or used by a parallel step): nothing is
		 * granted, the reservation goes back. */
		s->gone = 1;
		return throttle_release(t, s->conf, &s->th, 0, now_s());
	}
	if ((rc = state_drop(t, s)) != ST_OK)
		return rc;
	if ((rc = signin_cred_update(t, &s->proof)) == 1) {
		s->result = ST_FAIL;
		return record_failure(t, s, "one-time code already used");
	}
	if (rc != ST_OK)
		return rc;
	if (s->proof.commit && (rc = s->proof.commit(t, s->proof.commit_arg, 1)) != ST_OK)
		return rc;
	/* The handle is consumed once the step ends the sign-in; a NEXT step keeps it
	 * with what was shown so far. */
	if (s->tx_key[0] && s->outcome != SIGNIN_NEXT &&
	    (rc = store_dels(t, T_LOGINS, s->tx_key)) != ST_OK)
		return rc;
	if (s->tx_key[0] && s->outcome == SIGNIN_NEXT) {
		json_object_set_new(s->tx, "partial",
		    json_pack("{s:s s:I s:I s:I}", "user", s->proof.user_id, "amr",
		        (json_int_t)s->amr, "factors", (json_int_t)s->factors, "props",
		        (json_int_t)s->props));
		if ((rc = store_puts(t, T_LOGINS, s->tx_key, s->tx, 0)) != ST_OK)
			return rc;
	}
	/* A passed step takes its reservation back; the counters are cleared only
	 * when the whole sign-in succeeds (a known password must not buy unlimited
	 * guesses at the second factor: those are counted on their own). */
	rc = complete ? throttle_succeed(t, s->conf, &s->th, now_s())
	              : throttle_release(t, s->conf, &s->th, 0, now_s());
	if (rc != ST_OK)
		return rc;
	if ((rc = audit_method_event(t, s, "success")) != ST_OK)
		return rc;
	if (s->front->commit && (rc = s->front->commit(t, s)) != ST_OK)
		return rc;
	if (!(f = audit_fields(s, "success")))
		return ST_IO;
	json_object_update(f, s->audit);
	if (complete) {
		json_object_set_new(f, "acr", json_string(policy_acr_name(s->level)));
		if (s->outcome == SIGNIN_UNMET)
			json_object_set_new(f, "unmet_level", json_integer(s->required));
		return audit_put(t, "login.success", f);
	}
	json_object_set_new(
	    f, "step", json_string(s->outcome == SIGNIN_NEXT ? "partial" : "unmet"));
	return audit_put(t, "login.factor", f);
}

static int unreserve_write(struct store_txn *t, void *arg);

/* The commit was rolled back: nothing was granted. The reservation goes back
 * in a write of its own (else its lease would block the account until it runs
 * out); the answer keeps the commit's status. */
static void
uncommit_done(int rc, void *arg)
{
	struct signin *s = arg;

	(void)rc;
	finish(s, s->outcome, s->st);
}

/* After a rolled-back outcome write: the reservation as it was before it. */
static void
uncommit(struct signin *s, enum signin_outcome o, int st)
{
	s->th = s->th_held;
	s->outcome = o;
	s->st = st;
	if (store_write_async(s->store, unreserve_write, uncommit_done, s, s->post, s->poster) !=
	    ST_OK)
		finish(s, o, st);
}

static void
commit_done(int rc, void *arg)
{
	struct signin *s = arg;

	if (rc == ST_OK && s->gone)
		finish(s, SIGNIN_REFUSED, ST_EXPIRED);
	else if (rc == ST_CONFLICT) /* the handle was used meanwhile (a parallel step) */
		uncommit(s, SIGNIN_REFUSED, ST_EXPIRED);
	else if (rc != ST_OK)
		uncommit(s, SIGNIN_ERROR, rc);
	else if (s->result != ST_OK) {
		finish(s, SIGNIN_FAILED, ST_OK); /* the one-time code lost a race: a replay */
	} else {
		finish(s, s->outcome, ST_OK);
	}
}

static int
unreserve_write(struct store_txn *t, void *arg)
{
	struct signin *s = arg;

	return throttle_release(t, s->conf, &s->th, 0, now_s());
}

static void
unreserve_done(int rc, void *arg)
{
	struct signin *s = arg;

	if (rc != ST_OK)
		finish(s, SIGNIN_ERROR, rc);
	else if (s->result == ST_INVALID)
		finish(s, SIGNIN_INVALID, ST_OK);
	else if (s->result == RESULT_LATE)
		finish(s, SIGNIN_ERROR, ST_UNAVAILABLE);
	else if (s->result == ST_CONFLICT)
		finish(s, SIGNIN_ERROR, ST_CONFLICT);
	else
		finish(s, SIGNIN_ERROR, ST_ERROR);
}

static void
write_or_finish(struct signin *s, store_write_fn fn, store_done_fn done)
{
	s->th_held = s->th; /* a rolled-back write may have changed it */
	if (store_write_async(s->store, fn, done, s, s->post, s->poster) != ST_OK)
		finish(s, SIGNIN_ERROR, ST_SHUTDOWN);
}

/* ---- 3. and 4.: the check, then the decision ---- */

static void
verify_work(void *arg)
{
	struct signin *s = arg;
	struct login l = {
		.authd = s->authd,
		.username = uname_of(s),
		.user = s->user,
		.ip = s->ip,
		.tx = s->tx,
		.tls_peer_cert_pem = s->tls_peer_cert_pem,
	};
	char sk[40];

	if (mono_ns() > s->deadline_ns) {
		s->result = RESULT_LATE; /* the lease may have run out: check nothing */
		return;
	}
	metrics_secret_check(s->m->name);
	state_key(s->m, sk);
	l.state = json_object_get(s->tx, sk);
	l.txn = store_read_begin(s->store);
	s->result = l.txn ? s->m->finish(&l, s->answer, &s->proof) : ST_ERROR;
	if (l.txn)
		store_read_end(l.txn);
}

/* A passed step: the person (same as before, allowed to sign in), then the level. */
static void
decide(struct signin *s)
{
	const char *puid =
	    json_string_value(json_object_get(json_object_get(s->tx, "partial"), "user"));
	struct store_txn *t;
	struct policy_cred c[16];
	json_t *user = NULL;
	size_t n;
	int rc, app;

	if (s->later_step && (!puid || strcmp(puid, s->proof.user_id) != 0)) {
		s->result = ST_CONFLICT; /* a later step must prove the same person */
		return;
	}
	if (!(t = store_read_begin(s->store))) {
		s->result = ST_ERROR;
		return;
	}
	rc = signin_person(t, s->proof.user_id, &user);
	if (rc == ST_NOTFOUND || rc == ST_DENIED) {
		/* A disabled account is refused like a wrong answer, after the same work. */
		s->result = ST_FAIL;
		s->reason = rc == ST_DENIED ? "account disabled" : "account unknown";
		store_read_end(t);
		return;
	}
	if (rc != ST_OK) {
		s->result = ST_ERROR;
		store_read_end(t);
		return;
	}
	json_decref(s->user);
	s->user = user;
	if (!s->uname[0]) {
		/* A usernameless first step named the person: their account's counters. */
		signin_throttle_name(
		    json_string_value(json_object_get(user, "username")), s->uname);
		s->th.account = s->uname;
	}
	s->amr |= s->proof.amr;
	s->factors |= s->proof.factors;
	s->props |= s->proof.props;
	s->level = policy_level_of(s->amr, s->factors, s->props);
	s->outcome = SIGNIN_DONE;
	s->next = NULL;
	/* The person's preference: a second factor at every sign-in once one is
	 * enrolled (policy_signin_level), whatever the app asks. */
	app = s->required;
	n = methods_reach(t, s->proof.user_id, NULL, NULL, c, sizeof(c) / sizeof(c[0]) - 1);
	/* What this sign-in has shown is the person's too (a method outside the
	 * table, in tests; a credential changed since). */
	c[n++] = (struct policy_cred){ s->amr, s->factors, s->props };
	s->required =
	    policy_signin_level(app, policy_reachable_level(c, n), user_asks_second_factor(user));
	if (s->level < s->required) {
		const struct authd_method *m = signin_next_method(
		    t, s->proof.user_id, s->amr, s->factors, s->props, s->required);
		if (m && s->front->next_amr && m->amr != s->front->next_amr)
			m = NULL;
		/* The preference raises with a step on this page only: the card on
		 * its own listener is asked for when the app needs it, not for the
		 * preference (/account promises a code or a key, nothing else). */
		if (m && !(m->flags & METHOD_STEP) && s->level >= app)
			m = NULL;
		if (!m && s->level >= app) {
			/* Only the preference asked for more, and no method this front end
			 * can ask reaches it (host login carries one-time codes only; a
			 * citizen card is a first step): the app's level decides. */
			s->required = app;
		} else {
			s->next = m;
			s->outcome = m ? SIGNIN_NEXT : SIGNIN_UNMET;
		}
	}
	store_read_end(t);
}

static void
verify_done(void *arg)
{
	struct signin *s = arg;

	if (s->result == ST_OK)
		decide(s);
	if (s->result == ST_INVALID && s->front->invalid_counts) {
		metrics_login(s->m->name, "invalid");
		if (!s->reason)
			s->reason =
			    s->later_step ? "malformed one-time code" : "malformed password";
		s->result = ST_FAIL;
		write_or_finish(s, fail_write, fail_done);
		return;
	}
	switch (s->result) {
	case ST_OK:
		metrics_login(s->m->name, "success");
		write_or_finish(s, commit_write, commit_done);
		return;
	case ST_FAIL:
		metrics_login(s->m->name, "failure");
		write_or_finish(s, fail_write, fail_done);
		return;
	default:
		/* Malformed, late, not the same person, or an internal error: no secret
		 * was judged, so the reservation is taken back before the answer. */
		metrics_login(s->m->name, s->result == ST_INVALID ? "invalid" : "error");
		write_or_finish(s, unreserve_write, unreserve_done);
		return;
	}
}

/* ---- 1. and 2.: the queue place and the reservation ---- */

static int
reserve_write(struct store_txn *t, void *arg)
{
	struct signin *s = arg;
	int rc;

	s->st = ST_OK;
	if (s->front->reserve && (rc = s->front->reserve(t, s)) != ST_OK) {
		s->st = rc;
		return ST_OK;
	}
	/* The handle is still there (a spent one is gone). */
	if (!handle_present(t, s))
		return ST_CONFLICT;
	if ((rc = throttle_reserve(t, s->conf, &s->th, now_s())) != ST_OK ||
	    s->th.verdict == THROTTLE_GO)
		return rc;
	/* Refused before anything was checked: audited, nothing counted. */
	if (s->th.verdict == THROTTLE_SPENT && s->tx_key[0] &&
	    (rc = store_dels(t, T_LOGINS, s->tx_key)) != ST_OK && rc != ST_NOTFOUND)
		return rc;
	json_t *f = audit_fields(s, "throttled");
	if (!f)
		return ST_IO;
	json_object_set_new(f, "reason",
	    json_string(s->th.verdict == THROTTLE_WAIT ? "back-off"
	            : s->th.verdict == THROTTLE_BUSY   ? "in flight"
	                                               : "attempts used up"));
	return audit_put(t, "login.throttled", f);
}

static void
reserve_done(int rc, void *arg)
{
	struct signin *s = arg;
	struct work_slot *slot = s->slot;

	/* The queue place goes back before any answer: an answer may be the last
	 * thing keeping a stopping server (and its queue) alive. */
	s->slot = NULL;
	if (rc != ST_OK || s->st != ST_OK || s->th.verdict != THROTTLE_GO)
		work_cancel(slot);
	if (rc == ST_CONFLICT) {
		finish(s, SIGNIN_REFUSED, ST_EXPIRED);
	} else if (rc != ST_OK) {
		finish(s, SIGNIN_ERROR, rc);
	} else if (s->st != ST_OK) {
		finish(s, SIGNIN_REFUSED, s->st);
	} else if (s->th.verdict != THROTTLE_GO) {
		metrics_login(s->m->name, "throttled");
		finish(s, SIGNIN_REFUSED, ST_THROTTLED);
	} else {
		/* Reserved: the check must start while the lease certainly holds. The
		 * slot is the pool's now, until the check ran. */
		s->deadline_ns = mono_ns() + (uint64_t)s->conf->lease_s * 500000000u;
		if (work_submit(slot, verify_work, verify_done, s) != ST_OK) {
			/* Nothing was checked: the reservation's lease runs out on its own
			 * (the pool is stopping, and so is the writer). */
			finish(s, SIGNIN_ERROR, ST_SHUTDOWN);
		}
	}
}

void
signin_run(struct signin *s)
{
	int rc;

	s->outcome = 0;
	s->st = ST_OK;
	s->result = ST_OK;
	s->reason = NULL;
	signin_reserve_init(
	    &s->th, s->m, uname_of(s), s->source, s->tx_key[0] ? s->tx_key : NULL, s->later_step);
	/* The class of what dominates the step (decision 0007): a memorised secret
	 * is an Argon2id hash; a code, a key or a card is a short check or a wait. */
	rc = work_admit(s->pool, s->th.kind == THROTTLE_PASSWORD ? WORK_CPU : WORK_STORE, s->source,
	    uname_of(s), s->post, s->poster, &s->slot);
	if (rc != ST_OK) {
		metrics_login(s->m->name, "throttled");
		finish(s, SIGNIN_REFUSED, rc == ST_BUSY || rc == ST_SHUTDOWN ? rc : ST_FULL);
		return;
	}
	if (store_write_async(s->store, reserve_write, reserve_done, s, s->post, s->poster) !=
	    ST_OK) {
		work_cancel(s->slot);
		s->slot = NULL;
		finish(s, SIGNIN_ERROR, ST_SHUTDOWN);
	}
}

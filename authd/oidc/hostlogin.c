/* authd/oidc/hostlogin.c — host login: how a Linux server (pam_authd) checks a
 * person's password and one-time code with authd.
 *
 * The host is a confidential client registered with the "password" grant; no other
 * client may use it. POST /token grant_type=password checks the password; when the
 * host's min_aal needs more, the answer is 400 mfa_required with a short-lived,
 * single-use mfa_token bound to this client and this person, and the host sends
 * the code with grant_type=urn:authd:params:oauth:grant-type:mfa-otp. The same
 * rules as the browser sign-in hold: one message for unknown user and wrong
 * password at the same cost, every attempt reserved with the throttle before its
 * secret is checked (a place in the fair worker queue, then one write that counts
 * it and leases it: one check in flight per account and per mfa_token, and at
 * most [throttle] login_max_attempts wrong codes per mfa_token), a one-time code
 * consumed atomically with the login, every step audited. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../config.h"
#include "../metrics.h"
#include "../policy.h"
#include "../throttle.h"
#include "../users.h"
#include "oidc.h"

#define MFA_TTL 300

enum hl_outcome { HL_DONE, HL_MFA, HL_UNMET };

#define METHOD_LATE (-100)	/* the reservation's lease was too old to start the check */

struct hl {
	struct http_req *r;
	struct client_auth ca;
	const char *client_id;
	const struct authd_method *m;
	json_t *user;
	json_t *tx;                        /* the mfa transaction (otp step) */
	char tx_key[65];
	char uname[USERNAME_MAX + 1];
	char scope[OIDC_MAX_SCOPE + 1];
	struct proof proof;
	int result;
	unsigned amr, factors, props;
	int level, required;
	enum hl_outcome outcome;
	struct throttle_attempt th;        /* the reservation (borrows uname, tx_key, r->peer_prefix) */
	struct http_slot *slot;            /* the place in the worker queue until the reservation's answer */
	uint64_t deadline_ns;
	int spent;                         /* this failure used up the mfa_token's attempts */
	int gone;                          /* the mfa_token disappeared during the check */
	char mfa_token[OIDC_SECRET_LEN + 1];
	const char *mfa_method;
	const char *reason;                /* audit reason of a failure, or NULL */
	int replayed_assertion;            /* private_key_jwt assertion seen before */
};

static void hl_free(struct hl *h)
{
	json_decref(h->ca.client);
	json_decref(h->user);
	json_decref(h->tx);
	json_decref(h->proof.cred_update);
	json_decref(h->proof.cred_expect);
	json_decref(h->proof.audit_extra);
	wipe(h, sizeof(*h));
	free(h);
}

static struct hl *hl_new(struct http_req *r, struct client_auth *ca)
{
	struct hl *h = calloc(1, sizeof(*h));

	if (!h) {
		json_decref(ca->client);
		ca->client = NULL;
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return NULL;
	}
	h->r = r;
	h->ca = *ca;
	ca->client = NULL;
	h->client_id = json_string_value(json_object_get(h->ca.client, "client_id"));
	h->required = (int)json_integer_value(json_object_get(h->ca.client, "min_aal"));
	if (h->required < 1)
		h->required = 1;
	return h;
}

static void refuse(struct hl *h, int status, const char *err, const char *desc)
{
	http_reply_oauth_error(h->r, status, err, desc);
	hl_free(h);
}

static json_t *audit_fields(struct hl *h, const char *result)
{
	json_t *f = json_pack("{s:s s:s s:s s:s s:s s:s}", "username", h->uname, "ip", h->r->peer,
	                      "method", h->m ? h->m->name : "password", "result", result,
	                      "client", h->client_id, "via", "host");
	if (h->result == METHOD_OK && h->proof.user_id[0])
		json_object_set_new(f, "user", json_string(h->proof.user_id));
	return f;
}

/* A checked answer was wrong: the reserved count stays, the leases go; at the
 * mfa_token's last allowed attempt the token goes too. */
static int record_failure(struct store_txn *t, struct hl *h, const char *reason)
{
	const struct conf *c = h->r->authd->conf;
	json_t *f;
	int rc;

	if ((rc = throttle_release(t, c, &h->th, 1, now_s())) != STORE_OK)
		return rc;
	if (h->tx && throttle_tx_spent(t, c, h->tx_key)) {
		rc = store_dels(t, T_LOGINS, h->tx_key);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return rc;
		h->spent = 1;
	}
	f = audit_fields(h, "failure");
	if (reason)
		json_object_set_new(f, "reason", json_string(reason));
	if (h->spent)
		json_object_set_new(f, "transaction", json_string("spent"));
	rc = audit_append(t, "login.failure", f);
	json_decref(f);
	return rc;
}

/* A private_key_jwt assertion is good for one request (its jti is recorded, in
 * the reservation: the first write of the request). */
static int assertion_once(struct store_txn *t, struct hl *h)
{
	if (client_auth_record(t, &h->ca) == STORE_OK)
		return 0;
	h->replayed_assertion = 1;
	return -1;
}

static int fail_write(struct store_txn *t, void *arg)
{
	struct hl *h = arg;

	return record_failure(t, h, h->reason);
}

static void fail_done(int rc, void *arg)
{
	struct hl *h = arg;

	if (rc != STORE_OK)
		refuse(h, 500, "server_error", "the attempt could not be recorded");
	else if (h->spent)
		refuse(h, 400, "invalid_grant", "too many wrong one-time codes; start the login again");
	else
		refuse(h, 400, "invalid_grant", h->tx ? "one-time code wrong or already used" :
		                                        "wrong username or password");
}

static int success_write(struct store_txn *t, void *arg)
{
	struct hl *h = arg;
	json_t *f, *tx = NULL;
	int rc;

	if (h->tx) {
		/* The mfa_token is single use: it must still be there, and goes now.
		 * Gone meanwhile (expired): nothing is granted, the reservation goes. */
		if (store_gets(t, T_LOGINS, h->tx_key, &tx) != STORE_OK) {
			h->gone = 1;
			return throttle_release(t, h->r->authd->conf, &h->th, 0, now_s());
		}
		json_decref(tx);
		if ((rc = store_dels(t, T_LOGINS, h->tx_key)) != STORE_OK)
			return rc;
	}
	if ((rc = cred_update_store(t, &h->proof)) == 1) {
		h->result = METHOD_FAIL;
		return record_failure(t, h, "one-time code already used");
	}
	if (rc != STORE_OK)
		return rc;
	/* A passed step takes its reservation back; counters are cleared only on a
	 * complete login (wrong codes are counted on their own). */
	rc = h->outcome == HL_DONE ? throttle_succeed(t, h->r->authd->conf, &h->th, now_s()) :
	                             throttle_release(t, h->r->authd->conf, &h->th, 0, now_s());
	if (rc != STORE_OK)
		return rc;
	if (h->proof.audit_event[0]) {
		f = audit_fields(h, "success");
		if (f && h->proof.audit_extra)
			json_object_update(f, h->proof.audit_extra);
		rc = audit_append(t, h->proof.audit_event, f);
		json_decref(f);
		if (rc != STORE_OK)
			return rc;
	}
	if (h->outcome == HL_MFA) {
		json_t *mfa = json_pack("{s:s s:s s:s s:{s:s s:I s:I s:I} s:i s:I}", "kind", "host",
		                        "client_id", h->client_id, "scope", h->scope, "partial",
		                        "user", h->proof.user_id, "amr", (json_int_t)h->amr,
		                        "factors", (json_int_t)h->factors, "props", (json_int_t)h->props,
		                        "level", h->required, "expires", (json_int_t)(now_s() + MFA_TTL));
		char key[65];
		if (!mfa || secret_new(h->mfa_token) != 0) {
			json_decref(mfa);
			return STORE_IO;
		}
		secret_key_hex(h->mfa_token, key);
		rc = store_puts(t, T_LOGINS, key, mfa, STORE_NOOVERWRITE);
		json_decref(mfa);
		if (rc != STORE_OK)
			return rc;
	}
	f = audit_fields(h, "success");
	if (h->outcome != HL_DONE)
		json_object_set_new(f, "step", json_string(h->outcome == HL_MFA ? "partial" : "unmet"));
	else
		json_object_set_new(f, "acr", json_string(policy_acr_name(h->level)));
	rc = audit_append(t, h->outcome == HL_DONE ? "login.success" : "login.factor", f);
	json_decref(f);
	return rc;
}

static void success_done(int rc, void *arg)
{
	struct hl *h = arg;
	struct http_req *r = h->r;

	if (rc == STORE_CONFLICT || (rc == STORE_OK && h->gone)) {
		refuse(h, 400, "invalid_grant", "mfa_token unknown, expired or already used");
		return;
	}
	if (rc != STORE_OK) {
		refuse(h, 500, "server_error", "the login could not be recorded");
		return;
	}
	if (h->result != METHOD_OK) {
		fail_done(STORE_OK, h);
		return;
	}
	if (h->outcome == HL_UNMET) {
		refuse(h, 400, "unmet_authentication_requirements",
		       "this account has no enrolled method that reaches the level this host requires");
		return;
	}
	if (h->outcome == HL_MFA) {
		json_t *o = json_pack("{s:s s:s s:s s:[s]}", "error", "mfa_required",
		                      "error_description", "a one-time code is required",
		                      "mfa_token", h->mfa_token, "mfa_methods", h->mfa_method);
		http_reply_json(r, 400, o);
		hl_free(h);
		return;
	}
	struct token_grant tg = {
		.client_id = h->client_id,
		.user_id = h->proof.user_id,
		.scope = h->scope,
		.auth_time = now_s(),
		.level = h->level,
		.amr = h->amr,
		.factors = h->factors,
	};
	int ttl = 0;
	char *at = token_access(r, &tg, h->user, &ttl), *idt = NULL;
	if (at && scope_has(h->scope, "openid"))
		idt = token_id(r, &tg, h->ca.client, h->user, at);
	if (!at || (scope_has(h->scope, "openid") && !idt)) {
		free(at);
		free(idt);
		refuse(h, 500, "server_error", "token signing failed");
		return;
	}
	json_t *o = json_pack("{s:s s:s s:i s:s}", "access_token", at, "token_type", "Bearer",
	                      "expires_in", ttl, "scope", h->scope);
	if (idt)
		json_object_set_new(o, "id_token", json_string(idt));
	free_secret_str(at);
	free_secret_str(idt);
	metrics_token("password");
	http_reply_json(r, 200, o);
	hl_free(h);
}

static void check_work(void *arg)
{
	struct hl *h = arg;
	struct login l = {
		.authd = h->r->authd,
		.username = h->uname,
		.user = h->user,
		.ip = h->r->peer,
		.tx = h->tx,
	};

	if (mono_ns() > h->deadline_ns) {
		h->result = METHOD_LATE;	/* the lease may have run out: check nothing */
		return;
	}
	metrics_secret_check(h->m->name);
	l.txn = store_read_begin(h->r->authd->store);
	h->result = l.txn ? h->m->finish(&l, h->r->form, &h->proof) : METHOD_ERROR;
	if (l.txn)
		store_read_end(l.txn);
}

static int unreserve_write(struct store_txn *t, void *arg)
{
	struct hl *h = arg;

	return throttle_release(t, h->r->authd->conf, &h->th, 0, now_s());
}

static void unreserve_done(int rc, void *arg)
{
	struct hl *h = arg;

	if (rc == STORE_OK && h->result == METHOD_LATE) {
		http_add_header(h->r, "Retry-After", "5");
		refuse(h, 503, "temporarily_unavailable", "busy; try again");
	} else {
		refuse(h, 500, "server_error", "the check failed");
	}
}

static void check_done(void *arg)
{
	struct hl *h = arg;
	const char *puid = json_string_value(json_object_get(json_object_get(h->tx, "partial"), "user"));

	if (h->result == METHOD_OK && puid && strcmp(puid, h->proof.user_id) != 0)
		h->result = METHOD_ERROR;
	if (h->result != METHOD_OK && h->result != METHOD_FAIL && h->result != METHOD_INVALID) {
		/* Late, or an internal error: nothing was judged, the reservation
		 * is taken back before the answer. */
		metrics_login(h->m->name, "error");
		if (http_store_write(h->r, unreserve_write, unreserve_done, h) != STORE_OK)
			refuse(h, 503, "temporarily_unavailable", "shutting down");
		return;
	}
	/* A credential of a shape that cannot be right (a code that is not six
	 * digits, a recovery code where the code goes, an empty or oversized
	 * password) is a wrong credential: answered invalid_grant, counted and
	 * audited like any other. A host falls back to local passwords only when
	 * authd gives no answer; answering these as malformed requests let a
	 * mistyped code skip the second factor on such a stack. */
	if (h->result == METHOD_FAIL || h->result == METHOD_INVALID) {
		metrics_login(h->m->name, h->result == METHOD_FAIL ? "failure" : "invalid");
		if (h->result == METHOD_INVALID)
			h->reason = h->tx ? "malformed one-time code" : "malformed password";
		h->result = METHOD_FAIL;
		if (http_store_write(h->r, fail_write, fail_done, h) != STORE_OK)
			refuse(h, 503, "temporarily_unavailable", "shutting down");
		return;
	}
	metrics_login(h->m->name, "success");
	h->amr |= h->proof.amr;
	h->factors |= h->proof.factors;
	h->props |= h->proof.props;
	h->level = policy_level_of(h->amr, h->factors, h->props);
	h->outcome = HL_DONE;
	if (h->level < h->required) {
		struct store_txn *t = store_read_begin(h->r->authd->store);
		const struct authd_method *m =
		        t && !h->tx ? login_next_method(t, h->proof.user_id, h->amr, h->factors, h->props,
		                                        h->required) : NULL;
		if (t)
			store_read_end(t);
		/* The host protocol carries one-time codes only. */
		h->outcome = m && m->amr == AMR_OTP ? HL_MFA : HL_UNMET;
		h->mfa_method = "otp";
	}
	if (http_store_write(h->r, success_write, success_done, h) != STORE_OK)
		refuse(h, 503, "temporarily_unavailable", "shutting down");
}

static int reserve_write(struct store_txn *t, void *arg)
{
	struct hl *h = arg;
	json_t *f, *tx = NULL;
	int rc;

	if (assertion_once(t, h) != 0)
		return STORE_OK;
	/* The mfa_token is still there (a spent one is gone). */
	if (h->tx) {
		if (store_gets(t, T_LOGINS, h->tx_key, &tx) != STORE_OK)
			return STORE_CONFLICT;
		json_decref(tx);
	}
	if ((rc = throttle_reserve(t, h->r->authd->conf, &h->th, now_s())) != STORE_OK ||
	    h->th.verdict == THROTTLE_GO)
		return rc;
	if (h->th.verdict == THROTTLE_SPENT && (rc = store_dels(t, T_LOGINS, h->tx_key)) != STORE_OK)
		return rc;
	f = audit_fields(h, "throttled");
	json_object_set_new(f, "reason", json_string(h->th.verdict == THROTTLE_WAIT ? "back-off" :
	                                             h->th.verdict == THROTTLE_BUSY ? "in flight" :
	                                                                               "attempts used up"));
	rc = audit_append(t, "login.throttled", f);
	json_decref(f);
	return rc;
}

static void reserve_done(int rc, void *arg)
{
	struct hl *h = arg;
	struct http_slot *slot = h->slot;
	char ra[24];

	/* The queue place goes back before any reply (see login.c). */
	h->slot = NULL;
	if (rc != STORE_OK || h->replayed_assertion || h->th.verdict != THROTTLE_GO)
		http_work_cancel(slot);

	if (rc == STORE_CONFLICT) {
		refuse(h, 400, "invalid_grant", "mfa_token unknown, expired or already used");
		return;
	}
	if (rc != STORE_OK) {
		refuse(h, 500, "server_error", "the attempt could not be recorded");
		return;
	}
	if (h->replayed_assertion) {
		refuse(h, 401, "invalid_client", "client assertion already used");
		return;
	}
	if (h->th.verdict != THROTTLE_GO)
		metrics_login(h->m->name, "throttled");
	switch (h->th.verdict) {
	case THROTTLE_GO:
		/* the slot is the pool's now, until the check ran */
		h->deadline_ns = mono_ns() + (uint64_t)h->r->authd->conf->lease_s * 500000000u;
		if (http_work_submit(slot, check_work, check_done, h) != 0)
			refuse(h, 503, "temporarily_unavailable", "shutting down");
		return;
	case THROTTLE_SPENT:
		refuse(h, 400, "invalid_grant", "too many wrong one-time codes; start the login again");
		return;
	case THROTTLE_BUSY:
		/* Another check for this account or mfa_token is running: at once, not queued. */
		snprintf(ra, sizeof(ra), "%ld", h->th.wait);
		http_add_header(h->r, "Retry-After", ra);
		refuse(h, 429, "temporarily_unavailable", "another attempt for this account is being checked");
		return;
	default:
		snprintf(ra, sizeof(ra), "%ld", h->th.wait);
		http_add_header(h->r, "Retry-After", ra);
		refuse(h, 400, "invalid_grant", "too many failed attempts; try again after Retry-After seconds");
		return;
	}
}

/* Starts the attempt: a place in the worker queue, then the reservation. */
static void hl_run(struct hl *h, struct store_txn *t)
{
	int why;

	store_read_end(t);
	login_reserve_init(&h->th, h->m, h->uname, h->r->peer_prefix, h->tx ? h->tx_key : NULL,
	                   h->tx != NULL);
	why = http_work_admit(h->r, h->uname, &h->slot);
	if (why != HTTP_WORK_OK) {
		metrics_login(h->m->name, "throttled");
		http_add_header(h->r, "Retry-After", "1");
		if (why == HTTP_WORK_SOURCE_FULL || why == HTTP_WORK_ACCOUNT_FULL)
			refuse(h, 429, "temporarily_unavailable", "too many attempts in progress; try again");
		else
			refuse(h, 503, "temporarily_unavailable", "busy; try again");
		return;
	}
	if (http_store_write(h->r, reserve_write, reserve_done, h) != STORE_OK) {
		http_work_cancel(h->slot);
		h->slot = NULL;
		refuse(h, 503, "temporarily_unavailable", "shutting down");
	}
}

/* Host login hands out short-lived tokens only: no offline_access. */
static int host_scope(const char *w, void *client)
{
	return client_has(client, "scopes", w) && strcmp(w, "offline_access") != 0;
}

static int scope_ok(struct hl *h, const char *scope)
{
	if (scope && strlen(scope) > OIDC_MAX_SCOPE)
		return 0;
	snprintf(h->scope, sizeof(h->scope), "%s", scope ? scope : "openid");
	return scope_all(h->scope, host_scope, h->ca.client);
}

void host_login_password(struct http_req *r, struct client_auth *ca)
{
	const char *username = http_param(r, "username");
	const char *password = http_param(r, "password");
	struct store_txn *t;
	struct hl *h;

	if (!(h = hl_new(r, ca)))
		return;
	/* Only a missing parameter is a malformed request; an empty password is a
	 * wrong one. */
	if (!username || !*username || !password) {
		refuse(h, 400, "invalid_request", "username and password are required");
		return;
	}
	if (!scope_ok(h, http_param(r, "scope"))) {
		refuse(h, 400, "invalid_scope", "scope not allowed for this client");
		return;
	}
	if (!(h->m = method_find("password")) || !(t = store_read_begin(r->authd->store))) {
		refuse(h, 500, "server_error", "store unavailable");
		return;
	}
	login_throttle_name(username, h->uname);
	if (user_by_name(t, h->uname, &h->user) != STORE_OK)
		h->user = NULL;
	hl_run(h, t);
}

void host_login_otp(struct http_req *r, struct client_auth *ca)
{
	const char *token = http_param(r, "mfa_token");
	struct store_txn *t;
	struct hl *h;
	const char *why = NULL;

	if (!(h = hl_new(r, ca)))
		return;
	if (!token || strlen(token) != OIDC_SECRET_LEN || !http_param(r, "otp")) {
		refuse(h, 400, "invalid_request", "mfa_token and otp are required");
		return;
	}
	if (!(t = store_read_begin(r->authd->store))) {
		refuse(h, 500, "server_error", "store unavailable");
		return;
	}
	secret_key_hex(token, h->tx_key);
	const json_t *p = NULL;
	if (store_gets(t, T_LOGINS, h->tx_key, &h->tx) != STORE_OK ||
	    !json_is_string(json_object_get(h->tx, "kind")) ||
	    strcmp(json_string_value(json_object_get(h->tx, "kind")), "host") != 0 ||
	    strcmp(str_or(json_string_value(json_object_get(h->tx, "client_id")), ""), h->client_id) != 0 ||
	    json_integer_value(json_object_get(h->tx, "expires")) <= now_s())
		why = "mfa_token unknown, expired or already used";
	else if (!(p = json_object_get(h->tx, "partial")) ||
	         user_by_id(t, str_or(json_string_value(json_object_get(p, "user")), ""), &h->user) != STORE_OK ||
	         json_is_true(json_object_get(h->user, "disabled")))
		why = "account not available";
	if (!why) {
		h->amr = (unsigned)json_integer_value(json_object_get(p, "amr"));
		h->factors = (unsigned)json_integer_value(json_object_get(p, "factors"));
		h->props = (unsigned)json_integer_value(json_object_get(p, "props"));
		h->required = (int)json_integer_value(json_object_get(h->tx, "level"));
		snprintf(h->scope, sizeof(h->scope), "%s", str_or(json_string_value(json_object_get(h->tx, "scope")), "openid"));
		h->m = login_next_method(t, json_string_value(json_object_get(p, "user")), h->amr,
		                         h->factors, h->props, h->required);
		if (!h->m || h->m->amr != AMR_OTP)
			why = "no one-time code method is enrolled";
	}
	if (why) {
		store_read_end(t);
		refuse(h, 400, "invalid_grant", why);
		return;
	}
	login_throttle_name(json_string_value(json_object_get(h->user, "username")), h->uname);
	hl_run(h, t);
}

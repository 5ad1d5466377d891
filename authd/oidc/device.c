/* authd/oidc/device.c — the device authorization grant (RFC 8628): the device's
 * side (POST /device_authorization) and the person's side (/device), where the
 * user code is entered, the person signs in at the level the app requires, and
 * approves or denies. The device polls /token (token.c, device_write).
 *
 * T_DEVICE holds "dc:<sha256(device_code)>" → the request and its state, and
 * "uc:<user code>" → the device key. User codes are 8 letters from an alphabet
 * without vowels or look-alikes (20^8 ≈ 2.6·10^10), shown as XXXX-XXXX. Every
 * code entered is counted against the client's address prefix ([throttle]
 * device_code_max_failures within device_code_window_s) in the same write that
 * looks it up, before anyone learns whether it was right, and the count is taken
 * back when it was: parallel guesses cannot outrun the limit, and rotating
 * addresses inside one IPv6 /64 does not reset it.
 *
 * Host clients (client_is_host: pam_authd in device mode) log a person in to a
 * server, and whoever runs `ssh alice@host` gets a code for Alice's login: a
 * one-click approval behind a link would let him phish it (RFC 8628 §5.4). So
 * for them there is no verification_uri_complete, a code reaches the approval
 * only when it was typed into this site's form in this browser (a token bound
 * to a cookie set with the form; a link carrying the code counts as a wrong
 * code), and the approval page names the host, the account it will log in
 * (login_hint), the address the request came from (and the one the host says
 * the login comes from, remote_addr) and the time. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../lib/util.h"
#include "../audit.h"
#include "../authd.h"
#include "../clients.h"
#include "../config.h"
#include "../throttle.h"
#include "../ui.h"
#include "../users.h"
#include "oidc.h"

#define DEVICE_TTL 600
#define DEVICE_INTERVAL 5
#define USER_CODE_LEN 8
#define COOKIE_DEVICE "__Host-authd_device"
#define DEVICE_COOKIE_TTL 900   /* the form's cookie outlives a code (DEVICE_TTL) */
#define REMOTE_ADDR_MAX 255

static const char alphabet[] = "BCDFGHJKLMNPQRSTVWXZ";

/* Upper-cases and drops dashes and spaces; 0 when the result is a possible code. */
static int user_code_norm(const char *in, char out[USER_CODE_LEN + 1])
{
	size_t n = 0;

	for (; in && *in; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		int c = toupper((unsigned char)*in);
		if (n == USER_CODE_LEN || !strchr(alphabet, c) || c == 0)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n == USER_CODE_LEN ? 0 : -1;
}

static void user_code_show(const char *code, char out[USER_CODE_LEN + 2])
{
	memcpy(out, code, 4);
	out[4] = '-';
	memcpy(out + 5, code + 4, 4);
	out[9] = '\0';
}

/* ---- the device's side ---- */

struct start {
	struct http_req *r;
	struct client_auth ca;
	char device_code[OIDC_SECRET_LEN + 1];
	char user_code[USER_CODE_LEN + 1];
	char scope[OIDC_MAX_SCOPE + 1];
	char login_hint[USERNAME_MAX + 1];          /* "" when not given */
	char remote_addr[REMOTE_ADDR_MAX + 1];      /* "" when not given */
};

/* Where a host says its login comes from (PAM's rhost): an address or a host
 * name, 1..255 printable ASCII characters without spaces. */
static int remote_addr_ok(const char *s)
{
	size_t i, n = strnlen(s, REMOTE_ADDR_MAX + 1);

	if (n == 0 || n > REMOTE_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static void start_free(struct start *s)
{
	json_decref(s->ca.client);
	wipe(s, sizeof(*s));
	free(s);
}

static int start_write(struct store_txn *t, void *arg)
{
	struct start *s = arg;
	const char *cid = json_string_value(json_object_get(s->ca.client, "client_id"));
	char dkey[80], ukey[16], h[65];
	int64_t now = now_s();
	int rc = STORE_EXISTS;

	if (client_auth_record(t, &s->ca) != STORE_OK)
		return STORE_CONFLICT;
	if (secret_new(s->device_code) != 0)
		return STORE_IO;
	secret_key_hex(s->device_code, h);
	snprintf(dkey, sizeof(dkey), "dc:%s", h);
	/* A fresh user code; on the rare collision with a live one, draw again. */
	for (int tries = 0; tries < 8 && rc == STORE_EXISTS; tries++) {
		for (int i = 0; i < USER_CODE_LEN;) {
			uint8_t b;
			if (rand_bytes(&b, 1) != 0)
				return STORE_IO;
			if (b < 240) /* 240 = 12 * 20: no letter more likely than another */
				s->user_code[i++] = alphabet[b % (sizeof(alphabet) - 1)];
		}
		s->user_code[USER_CODE_LEN] = '\0';
		snprintf(ukey, sizeof(ukey), "uc:%s", s->user_code);
		json_t *u = json_pack("{s:s s:I}", "device", h, "expires", (json_int_t)(now + DEVICE_TTL));
		rc = store_puts(t, T_DEVICE, ukey, u, STORE_NOOVERWRITE);
		json_decref(u);
		if (rc == STORE_EXISTS) {
			json_t *old = NULL;
			/* An expired code may be reused. */
			if (store_gets(t, T_DEVICE, ukey, &old) == STORE_OK &&
			    json_integer_value(json_object_get(old, "expires")) <= now) {
				store_dels(t, T_DEVICE, ukey);
			}
			json_decref(old);
		}
	}
	if (rc != STORE_OK)
		return rc;
	json_t *d = json_pack("{s:s s:s s:s s:s s:I s:I s:I s:s s:I}", "client_id", cid, "scope", s->scope,
	                      "user_code", s->user_code, "status", "pending",
	                      "expires", (json_int_t)(now + DEVICE_TTL), "interval", (json_int_t)DEVICE_INTERVAL,
	                      "last_poll", (json_int_t)0, "ip", s->r->peer, "created", (json_int_t)now);
	if (d && s->login_hint[0])
		json_object_set_new(d, "login_hint", json_string(s->login_hint));
	if (d && s->remote_addr[0])
		json_object_set_new(d, "remote_addr", json_string(s->remote_addr));
	rc = store_puts(t, T_DEVICE, dkey, d, STORE_NOOVERWRITE);
	json_decref(d);
	if (rc != STORE_OK)
		return rc;
	json_t *f = json_pack("{s:s s:s}", "client", cid, "ip", s->r->peer);
	rc = audit_append(t, "device.start", f);
	json_decref(f);
	return rc;
}

static void start_done(int rc, void *arg)
{
	struct start *s = arg;
	struct http_req *r = s->r;
	const char *iss = r->authd->conf->issuer;
	char uri[600], full[640], shown[USER_CODE_LEN + 2];

	if (rc == STORE_CONFLICT) {
		http_reply_oauth_error(r, 401, "invalid_client", "client assertion already used");
		start_free(s);
		return;
	}
	if (rc != STORE_OK) {
		http_reply_oauth_error(r, 500, "server_error", "the request could not be recorded");
		start_free(s);
		return;
	}
	snprintf(uri, sizeof(uri), "%s/device", iss);
	user_code_show(s->user_code, shown);
	json_t *o = json_pack("{s:s s:s s:s s:i s:i}", "device_code", s->device_code,
	                      "user_code", shown, "verification_uri", uri, "expires_in", DEVICE_TTL,
	                      "interval", DEVICE_INTERVAL);
	/* A host's person types the code: no link with the code in it. */
	if (o && !client_is_host(s->ca.client)) {
		snprintf(full, sizeof(full), "%s?user_code=%s", uri, shown);
		json_object_set_new(o, "verification_uri_complete", json_string(full));
	}
	http_reply_json(r, 200, o);
	start_free(s);
}

void oidc_device_authorization(struct http_req *r)
{
	const char *scope = http_param(r, "scope");
	const char *hint = http_param(r, "login_hint"), *ra = http_param(r, "remote_addr");
	struct store_txn *t;
	struct start *s;

	if (!r->form) {
		http_reply_oauth_error(r, 400, "invalid_request", "form-encoded POST body required");
		return;
	}
	if (hint && !username_normalise(hint, NULL)) {
		http_reply_oauth_error(r, 400, "invalid_request", "login_hint must be a user name");
		return;
	}
	if (ra && !remote_addr_ok(ra)) {
		http_reply_oauth_error(r, 400, "invalid_request",
		                       "remote_addr must be 1-255 printable characters without spaces");
		return;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		http_reply_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	s->r = r;
	if (hint)
		username_normalise(hint, s->login_hint);
	if (ra)
		snprintf(s->remote_addr, sizeof(s->remote_addr), "%s", ra);
	if (!(t = store_read_begin(r->authd->store))) {
		free(s);
		http_reply_oauth_error(r, 500, "server_error", "store unavailable");
		return;
	}
	int authn = client_authenticate(r, t, &s->ca);
	store_read_end(t);
	if (authn != 0) {
		client_auth_reply_error(r, &s->ca);
		start_free(s);
		return;
	}
	if (client_rate_check(r, &s->ca) != 0) {
		start_free(s);
		return;
	}
	if (!client_has(s->ca.client, "grant_types", GRANT_DEVICE_CODE)) {
		http_reply_oauth_error(r, 400, "unauthorized_client", "client may not use the device flow");
		start_free(s);
		return;
	}
	snprintf(s->scope, sizeof(s->scope), "%s", scope ? scope : "openid");
	int ok = (!scope || strlen(scope) <= OIDC_MAX_SCOPE) && scope_client_allows(s->ca.client, s->scope);
	if (!ok) {
		http_reply_oauth_error(r, 400, "invalid_scope", "scope not allowed for this client");
		start_free(s);
		return;
	}
	if (http_store_write(r, start_write, start_done, s) != STORE_OK) {
		http_reply_oauth_error(r, 503, "temporarily_unavailable", "shutting down");
		start_free(s);
	}
}

/* ---- the person's side ---- */

/* The proof that a code was typed into this site's form in this browser: an
 * HMAC of the form's cookie, sent back with the code as "typed". */
static int typed_ok(struct http_req *r)
{
	const char *c = http_cookie(r, COOKIE_DEVICE);
	char key[65];
	int ok;

	if (!c || strlen(c) != OIDC_SECRET_LEN)
		return 0;
	secret_key_hex(c, key);
	ok = session_csrf_ok(r, key, "device-typed", http_param(r, "typed"));
	wipe(key, sizeof(key));
	return ok;
}

/* The code entry form. Each one gets a fresh cookie and the token that goes
 * with it, so a token seen in an old URL is worth nothing. */
static void enter_page(struct http_req *r, int status, const char *err_key, const char *value)
{
	char cookie[OIDC_SECRET_LEN + 1], key[65], typed[65] = "";

	if (secret_new(cookie) == 0) {
		secret_key_hex(cookie, key);
		session_csrf(r, key, "device-typed", typed);
		http_set_cookie(r, COOKIE_DEVICE, cookie, DEVICE_COOKIE_TTL);
		wipe(cookie, sizeof(cookie));
		wipe(key, sizeof(key));
	}
	ui_page(r, status, "device-enter", "device.title", json_pack("{s:s?, s:b, s:s?, s:s}", "error",
	    err_key, "has_value", value != NULL, "value", value, "typed", typed));
}

/* The approval page for a host: who asks to log whom in, from where, when.
 * account is the signed-in person's user name; when the host named another
 * account the page says so and offers only Deny. */
static void host_confirm_page(struct http_req *r, const char *host_name, const json_t *rec,
                              const char *code, const char *csrf, const char *typed,
                              const char *account)
{
	const char *hint = json_string_value(json_object_get(rec, "login_hint"));
	const char *ra = json_string_value(json_object_get(rec, "remote_addr"));
	time_t at = (time_t)json_integer_value(json_object_get(rec, "created"));
	int other = hint && account && strcasecmp(hint, account) != 0;
	char shown[USER_CODE_LEN + 2], when[64] = "";
	struct tm tm;

	user_code_show(code, shown);
	if (at > 0 && localtime_r(&at, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S (UTC%z)", &tm);
	ui_page(r, 200, "device-host", "device.host_title",
	    json_pack("{s:s?, s:s?, s:s, s:s?, s:s, s:s, s:b, s:s?, s:s, s:s?, s:s}", "host", host_name,
	    "hint", hint, "from", str_or(json_string_value(json_object_get(rec, "ip")), "-"), "remote", ra,
	    "time", when[0] ? when : "-", "shown", shown, "other", other, "account", account, "code", code,
	    "csrf", csrf, "typed", typed));
}

static void confirm_page(struct http_req *r, const char *client_name, const char *code,
                         const char *csrf)
{
	char shown[USER_CODE_LEN + 2];

	user_code_show(code, shown);
	ui_page(r, 200, "device-confirm", "device.title", json_pack("{s:s?, s:s, s:s, s:s?}", "client",
	    client_name, "shown", shown, "code", code, "csrf", csrf));
}

struct decide {
	struct http_req *r;
	char code[USER_CODE_LEN + 1];
	char skey[65];
	int approve;
	int malformed;         /* not a possible code: a wrong guess all the same */
	int found;             /* the code named a pending request */
	int typed;             /* typed_ok(): the code came from our form in this browser */
	int untyped;           /* a host's code that did not: counted as a wrong code */
	int bad_code;          /* approve/deny: the code was gone by then */
	long wait;             /* throttled: seconds */
	json_t *session;
};

static void decide_free(struct decide *d)
{
	json_decref(d->session);
	free(d);
}

static int bad_code_audit(struct store_txn *t, struct decide *d)
{
	json_t *g = json_pack("{s:s s:s}", "ip", d->r->peer, "reason", "wrong user code");
	int rc = g ? audit_append(t, "device.bad_code", g) : STORE_IO;

	json_decref(g);
	return rc;
}

/* Looks the code up. Returns the device record (new ref) with *client, or NULL. */
static json_t *lookup(struct store_txn *t, const char *code, json_t **client, char dkey[80])
{
	json_t *u = NULL, *d = NULL;
	char ukey[16];

	*client = NULL;
	snprintf(ukey, sizeof(ukey), "uc:%s", code);
	if (store_gets(t, T_DEVICE, ukey, &u) != STORE_OK)
		return NULL;
	snprintf(dkey, 80, "dc:%s", str_or(json_string_value(json_object_get(u, "device")), ""));
	json_decref(u);
	if (store_gets(t, T_DEVICE, dkey, &d) != STORE_OK)
		return NULL;
	if (strcmp(str_or(json_string_value(json_object_get(d, "status")), ""), "pending") != 0 ||
	    json_integer_value(json_object_get(d, "expires")) <= now_s() ||
	    client_get(t, str_or(json_string_value(json_object_get(d, "client_id")), ""), client) != STORE_OK) {
		json_decref(d);
		json_decref(*client);
		*client = NULL;
		return NULL;
	}
	return d;
}

static int decide_write(struct store_txn *t, void *arg)
{
	struct decide *d = arg;
	json_t *rec, *client = NULL, *f;
	char dkey[80];
	int rc;

	if (!(rec = lookup(t, d->code, &client, dkey))) {
		/* Expired or decided meanwhile: counted like a wrong code (the limit
		 * may refuse the count; the code is wrong either way). */
		long wait;
		int rc2 = throttle_device_reserve(t, d->r->authd->conf, d->r->peer_prefix, now_s(), &wait);

		d->bad_code = 1;
		return rc2 != STORE_OK ? rc2 : bad_code_audit(t, d);
	}
	json_decref(client);
	if (d->approve) {
		json_object_set_new(rec, "status", json_string("approved"));
		json_object_set(rec, "user", json_object_get(d->session, "user"));
		json_object_set(rec, "sid", json_object_get(d->session, "sid"));
		json_object_set(rec, "amr", json_object_get(d->session, "amr"));
		json_object_set(rec, "factors", json_object_get(d->session, "factors"));
		json_object_set(rec, "props", json_object_get(d->session, "props"));
		json_object_set(rec, "auth_time", json_object_get(d->session, "auth_time"));
		json_object_set(rec, "held", json_object_get(d->session, "level"));
	} else {
		json_object_set_new(rec, "status", json_string("denied"));
	}
	rc = store_puts(t, T_DEVICE, dkey, rec, 0);
	f = json_pack("{s:O s:O s:s}", "user", json_object_get(d->session, "user"), "client",
	              json_object_get(rec, "client_id"), "ip", d->r->peer);
	json_decref(rec);
	if (rc == STORE_OK)
		rc = audit_append(t, d->approve ? "device.approve" : "device.deny", f);
	json_decref(f);
	return rc;
}

static void decide_done(int rc, void *arg)
{
	struct decide *d = arg;

	if (rc != STORE_OK)
		ui_error(d->r, 500, "err.title", "err.server", NULL);
	else if (d->bad_code)
		enter_page(d->r, 400, TXT("device.bad_code"), NULL);
	else
		ui_message(d->r, 200, "device.title", d->approve ? "device.approved" : "device.denied",
		           NULL, NULL, NULL);
	decide_free(d);
}

/* The code, counted before it is looked up (one write): refused when this
 * address prefix has used up its wrong codes; else looked up, and the count
 * taken back when it named a pending request. */
static int code_write(struct store_txn *t, void *arg)
{
	struct decide *d = arg;
	json_t *rec, *client = NULL;
	char dkey[80];
	int rc;

	rc = throttle_device_reserve(t, d->r->authd->conf, d->r->peer_prefix, now_s(), &d->wait);
	if (rc != STORE_OK || d->wait > 0)
		return rc;
	if (!d->malformed && (rec = lookup(t, d->code, &client, dkey)) != NULL) {
		int host = client_is_host(client);

		json_decref(rec);
		json_decref(client);
		if (host && !d->typed) {
			/* A host's code that was not typed into our form here: a link
			 * (or a form) someone else made. Counted and answered like a
			 * wrong code, so it tells nothing about the code. */
			d->untyped = 1;
			return bad_code_audit(t, d);
		}
		d->found = 1;
		return throttle_device_release(t, d->r->authd->conf, d->r->peer_prefix, now_s());
	}
	return bad_code_audit(t, d);
}

static void device_found(struct decide *d);

static void code_done(int rc, void *arg)
{
	struct decide *d = arg;
	char ra[24];

	if (rc != STORE_OK) {
		ui_error(d->r, 500, "err.title", "err.server", NULL);
	} else if (d->wait > 0) {
		snprintf(ra, sizeof(ra), "%ld", d->wait);
		http_add_header(d->r, "Retry-After", ra);
		enter_page(d->r, 429, TXT("device.throttled"), NULL);
	} else if (d->untyped && d->r->method == HTTP_POST) {
		ui_error(d->r, 403, "err.title", "err.csrf", NULL);
	} else if (!d->found) {
		enter_page(d->r, 400, TXT("device.bad_code"), NULL);
	} else {
		device_found(d);
		return;
	}
	decide_free(d);
}

void oidc_device(struct http_req *r)
{
	const char *given = http_param(r, "user_code");
	struct decide *d;

	if (!given && r->method == HTTP_GET) {
		enter_page(r, 200, NULL, NULL);
		return;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		return;
	}
	d->r = r;
	d->malformed = user_code_norm(given, d->code) != 0;
	d->typed = typed_ok(r);	/* read here, on the request's loop */
	if (http_store_write(r, code_write, code_done, d) != STORE_OK) {
		ui_error(r, 503, "err.title", "err.server", NULL);
		decide_free(d);
	}
}

/* The code named a pending request: sign in first, show it, or decide. */
static void device_found(struct decide *d)
{
	struct http_req *r = d->r;
	struct store_txn *t;
	json_t *rec, *client = NULL;
	char dkey[80];

	if (!(t = store_read_begin(r->authd->store))) {
		ui_error(r, 500, "err.title", "err.server", NULL);
		decide_free(d);
		return;
	}
	if (!(rec = lookup(t, d->code, &client, dkey))) {
		/* decided or expired between the two reads */
		store_read_end(t);
		enter_page(r, 400, TXT("device.bad_code"), NULL);
		decide_free(d);
		return;
	}
	int host = client_is_host(client);
	if (host && !d->typed) {
		/* code_write counted it as a wrong code already; a request that
		 * got here regardless is refused. */
		store_read_end(t);
		json_decref(rec);
		json_decref(client);
		decide_free(d);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		return;
	}
	int need = (int)json_integer_value(json_object_get(client, "min_aal"));
	char account[USERNAME_MAX + 1] = "";
	d->session = session_find(r, t, d->skey);
	if (d->session && host) {
		json_t *u = NULL;
		if (user_by_id(t, str_or(json_string_value(json_object_get(d->session, "user")), ""), &u) == STORE_OK)
			snprintf(account, sizeof(account), "%s", str_or(json_string_value(json_object_get(u, "username")), ""));
		json_decref(u);
	}
	store_read_end(t);
	if (!d->session || session_level(d->session) < (need < 1 ? 1 : need)) {
		/* Sign in (or step up) first, then come back to this code (with the
		 * proof that it was typed here, for a host). */
		char back[160];
		if (host)
			snprintf(back, sizeof(back), "/device?user_code=%s&typed=%s", d->code,
			         str_or(http_param(r, "typed"), ""));
		else
			snprintf(back, sizeof(back), "/device?user_code=%s", d->code);
		json_decref(rec);
		json_decref(client);
		decide_free(d);
		login_start(r, back, need);
		return;
	}
	const char *hint = json_string_value(json_object_get(rec, "login_hint"));
	int other = host && hint && strcasecmp(hint, account) != 0;
	if (r->method == HTTP_GET) {
		char csrf[65];
		const char *nm = json_string_value(json_object_get(client, strcmp(r->lang, "en") == 0 ? "name_en" : "name"));
		session_csrf(r, d->skey, "device", csrf);
		if (!nm || !*nm)
			nm = json_string_value(json_object_get(client, "name"));
		nm = nm && *nm ? nm : json_string_value(json_object_get(client, "client_id"));
		if (host)
			host_confirm_page(r, nm, rec, d->code, csrf, http_param(r, "typed"), account);
		else
			confirm_page(r, nm, d->code, csrf);
		json_decref(rec);
		json_decref(client);
		decide_free(d);
		return;
	}
	json_decref(rec);
	json_decref(client);
	const char *action = http_param(r, "action");
	if (!session_csrf_ok(r, d->skey, "device", http_param(r, "csrf")) || !action ||
	    (strcmp(action, "approve") != 0 && strcmp(action, "deny") != 0)) {
		decide_free(d);
		ui_error(r, 403, "err.title", "err.csrf", NULL);
		return;
	}
	d->approve = strcmp(action, "approve") == 0;
	if (d->approve && other) {
		/* The host asked to log in another account than the one signed in
		 * here: approving could only fail at the host, or be a trick. */
		decide_free(d);
		ui_error(r, 403, "device.host_title", "device.other_account_refused", NULL);
		return;
	}
	if (http_store_write(r, decide_write, decide_done, d) != STORE_OK) {
		ui_error(r, 503, "err.title", "err.server", NULL);
		decide_free(d);
	}
}

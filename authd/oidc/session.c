/* authd/oidc/session.c — the SSO session a browser holds after signing in.
 * The cookie carries a 256-bit random id; the store keeps only its SHA-256.
 * A session ends at its absolute expiry, after session_idle seconds without
 * use, at logout, or when its user is disabled. */
#include <string.h>

#include "../../lib/util.h"
#include "../authd.h"
#include "../policy.h"
#include "oidc.h"

json_t *session_find(struct http_req *r, struct store_txn *t, char key_out[65])
{
	const char *cookie = http_cookie(r, COOKIE_SESSION);
	json_t *s = NULL;
	int64_t now = now_s();

	key_out[0] = '\0';
	if (!cookie || strlen(cookie) != OIDC_SECRET_LEN)
		return NULL;
	secret_key_hex(cookie, key_out);
	if (store_gets(t, T_SESSIONS, key_out, &s) != STORE_OK)
		return NULL;
	json_int_t exp = json_integer_value(json_object_get(s, "expires"));
	int raw = session_raw_level(s);
	int eff = policy_effective_level(r->authd->conf, raw,
	                                 json_integer_value(json_object_get(s, "auth_time")),
	                                 json_integer_value(json_object_get(s, "last_seen")),
	                                 json_integer_value(json_object_get(s, "created")), now);
	if (exp <= now || eff < 1) {
		json_decref(s);
		return NULL;
	}
	/* What the session still proves now; not stored (it depends on the clock). */
	json_object_set_new(s, "level", json_integer(eff));
	return s;
}

int session_raw_level(const json_t *s)
{
	return policy_level_of((unsigned)json_integer_value(json_object_get(s, "amr")),
	                       (unsigned)json_integer_value(json_object_get(s, "factors")),
	                       (unsigned)json_integer_value(json_object_get(s, "props")));
}

int session_level(const json_t *s)
{
	const json_t *l = json_object_get(s, "level");

	return l ? (int)json_integer_value(l) : session_raw_level(s);
}

void session_csrf(struct http_req *r, const char *skey, const char *purpose, char out[65])
{
	uint8_t mac[SHA256_LEN];
	char msg[160];

	snprintf(msg, sizeof(msg), "%s:%s", purpose, skey);
	hmac_sha256(r->authd->secret_key, sizeof(r->authd->secret_key), msg, strlen(msg), mac);
	hex_encode(out, mac, sizeof(mac));
	wipe(mac, sizeof(mac));
}

int session_csrf_ok(struct http_req *r, const char *skey, const char *purpose, const char *given)
{
	char want[65];
	int ok;

	if (!given || strlen(given) != 64)
		return 0;
	session_csrf(r, skey, purpose, want);
	ok = ct_equal(want, given, 64);
	wipe(want, sizeof(want));
	return ok;
}

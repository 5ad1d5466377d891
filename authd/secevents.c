/* authd/secevents.c — a person's recent security events (secevents.h): the
 * "security_events" list and the "security_seen" mark on the user record.
 *
 * Record: "security_events": [{"at", "method", "action", "label"?, "ip"?,
 * "by": "self"|"admin"}, ...] newest first, at most SECEV_MAX, none older than
 * SECEV_KEEP_S; "security_seen": the time the person last acknowledged them.
 * An event is announced while it is newer than both security_seen and
 * SECEV_NOTICE_S. */
#include "secevents.h"

#include <string.h>

#include "../lib/util.h"
#include "users.h"

static const char *const methods[] = { "totp", "webauthn", "x509", "recovery", "password", "signin",
	NULL };
static const char *const actions[] = { "add", "remove", "rename", "regenerate", "change", "ask_on",
	"ask_off", NULL };

static int
known(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static int
copy(char *dst, size_t n, const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) >= n)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* One stored event into e; -1 when it is not one of ours. */
static int
event_read(const json_t *v, struct secevent *e)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(v) || copy(e->method, sizeof(e->method), json_object_get(v, "method")) != 0 ||
	    copy(e->action, sizeof(e->action), json_object_get(v, "action")) != 0 ||
	    !known(methods, e->method) || !known(actions, e->action))
		return -1;
	e->at = json_integer_value(json_object_get(v, "at"));
	if (json_object_get(v, "label") != NULL)
		copy(e->label, sizeof(e->label), json_object_get(v, "label"));
	if (json_object_get(v, "ip") != NULL)
		copy(e->ip, sizeof(e->ip), json_object_get(v, "ip"));
	e->by_admin = json_is_string(json_object_get(v, "by")) &&
	    strcmp(json_string_value(json_object_get(v, "by")), "admin") == 0;
	return 0;
}

/* The help desk's TOTP reset as older code recorded it (no date). */
static int
legacy_reset(const json_t *user)
{
	const char *n = json_string_value(json_object_get(user, "notice"));

	return n != NULL && strcmp(n, "totp_reset") == 0;
}

int
secevent_add(struct store_txn *t, const char *user_id, const struct secevent *e)
{
	json_t *u = NULL, *old, *list, *ev, *v;
	int64_t at = e->at > 0 ? e->at : now_s();
	size_t i;
	int rc;

	if (!known(methods, e->method) || !known(actions, e->action))
		return STORE_INVALID;
	if ((rc = user_by_id(t, user_id, &u)) != STORE_OK)
		return rc;
	ev = json_pack("{s:I, s:s, s:s, s:s}", "at", (json_int_t)at, "method", e->method,
	    "action", e->action, "by", e->by_admin ? "admin" : "self");
	list = json_array();
	/* A label cut short inside a UTF-8 sequence is not a JSON string: then
	 * the event goes without it rather than not at all. */
	if (ev != NULL && e->label[0] != '\0' && (v = json_string(e->label)) != NULL)
		json_object_set_new(ev, "label", v);
	if (ev == NULL || list == NULL ||
	    (e->ip[0] != '\0' && json_object_set_new(ev, "ip", json_string(e->ip)) != 0)) {
		rc = STORE_IO;
		goto out;
	}
	rc = json_array_append_new(list, ev);	/* takes ev, also when it fails */
	ev = NULL;
	if (rc != 0) {
		rc = STORE_IO;
		goto out;
	}
	old = json_object_get(u, "security_events");
	json_array_foreach(old, i, v) {
		if (json_array_size(list) >= SECEV_MAX)
			break;
		if (json_integer_value(json_object_get(v, "at")) <= at - SECEV_KEEP_S)
			continue;
		if (json_array_append(list, v) != 0) {
			rc = STORE_IO;
			goto out;
		}
	}
	if (json_object_set(u, "security_events", list) != 0) {
		rc = STORE_IO;
		goto out;
	}
	rc = user_update(t, u);
out:
	json_decref(ev);
	json_decref(list);
	json_decref(u);
	return rc;
}

size_t
secevent_list(const json_t *user, int64_t now, struct secevent *out, size_t max)
{
	int64_t seen = json_integer_value(json_object_get(user, "security_seen"));
	json_t *v;
	size_t i, n = 0;

	json_array_foreach(json_object_get(user, "security_events"), i, v) {
		if (n >= max)
			break;
		if (event_read(v, &out[n]) != 0 || out[n].at <= now - SECEV_KEEP_S)
			continue;
		out[n].unseen = out[n].at > seen && out[n].at > now - SECEV_NOTICE_S;
		n++;
	}
	if (n < max && legacy_reset(user)) {
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].method, sizeof(out[n].method), "totp");
		snprintf(out[n].action, sizeof(out[n].action), "remove");
		out[n].by_admin = 1;
		out[n].unseen = 1;
		n++;
	}
	return n;
}

size_t
secevent_unseen(const json_t *user, int64_t now)
{
	struct secevent e[SECEV_MAX + 1];
	size_t i, n = secevent_list(user, now, e, SECEV_MAX + 1), k = 0;

	for (i = 0; i < n; i++)
		k += e[i].unseen != 0;
	return k;
}

int
secevent_ack(struct store_txn *t, const char *user_id, int64_t now)
{
	json_t *u = NULL;
	int rc;

	if ((rc = user_by_id(t, user_id, &u)) != STORE_OK)
		return rc;
	if (secevent_unseen(u, now) == 0) {
		json_decref(u);
		return STORE_OK;	/* another tab acknowledged them already */
	}
	json_object_del(u, "notice");
	rc = json_object_set_new(u, "security_seen", json_integer(now)) == 0 ? user_update(t, u) :
	    STORE_IO;
	json_decref(u);
	return rc;
}

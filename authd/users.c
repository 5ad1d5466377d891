/* authd/users.c — user accounts: the username rules, lookup by name or id, and
 * creation/update that keep T_USERS and the T_USERNAMES index in step.
 *
 * Invariant: every T_USERNAMES entry (lowercased name) points at the T_USERS
 * record whose "username" is that same lowercased name, and the reverse. Both are
 * changed only inside one write transaction, so they never disagree on disk. */
#include <string.h>

#include "../lib/util.h"
#include "users.h"

#define DISPLAY_NAME_MAX 256   /* bytes of UTF-8 */
#define EMAIL_MAX        254   /* RFC 5321 path limit */

int
username_normalise(const char *name, char *norm)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= USERNAME_MAX)
			return 0;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		           c == '_' || c == '@' || c == '-'))
			return 0;
		if (norm != NULL)
			norm[i] = c;
	}
	if (i == 0)
		return 0;
	if (norm != NULL)
		norm[i] = '\0';
	return 1;
}

/* 32 lowercase hex characters, as user_create makes them. */
static int
user_id_ok(const char *id)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; id[i] != '\0'; i++)
		if (i >= USER_ID_LEN || !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == USER_ID_LEN;
}

static int
display_name_ok(const char *s)
{
	size_t n;

	return s != NULL && (n = strlen(s)) > 0 && n <= DISPLAY_NAME_MAX && utf8_valid(s, n) &&
	       strpbrk(s, "\r\n\t") == NULL;
}

/* A plausible address (local@domain, printable ASCII, no spaces); deliverability
 * is the mail system's business. */
static int
email_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL || (n = strlen(s)) < 3 || n > EMAIL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '<' || s[i] == '>' || s[i] == '"' ||
		    s[i] == '\\')
			return 0;
	at = strchr(s, '@');
	return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

int
user_by_id(struct store_txn *t, const char *id, json_t **user)
{
	*user = NULL;
	if (!user_id_ok(id))
		return STORE_NOTFOUND;
	return store_gets(t, T_USERS, id, user);
}

int
user_is_disabled(const json_t *user)
{
	return json_is_true(json_object_get(user, "disabled"));
}

int
user_asks_second_factor(const json_t *user)
{
	return !json_is_false(json_object_get(user, "ask_second_factor"));
}

int
user_by_name(struct store_txn *t, const char *username, json_t **user)
{
	char norm[USERNAME_MAX + 1];
	json_t *ix;
	int rc;

	*user = NULL;
	if (!username_normalise(username, norm))
		return STORE_NOTFOUND;
	if ((rc = store_gets(t, T_USERNAMES, norm, &ix)) != STORE_OK)
		return rc;
	rc = user_by_id(t, json_string_value(json_object_get(ix, "id")), user);
	json_decref(ix);
	/* An index entry without its user is damage, not absence. */
	return rc == STORE_NOTFOUND ? STORE_CORRUPT : rc;
}

int
user_create(struct store_txn *t, const char *username, const char *display_name,
            const char *email, char id_out[USER_ID_LEN + 1])
{
	char norm[USERNAME_MAX + 1], id[USER_ID_LEN + 1];
	uint8_t rnd[USER_ID_LEN / 2];
	json_t *ix, *rec;
	int rc, tries;

	if (!username_normalise(username, norm))
		return STORE_INVALID;
	if (display_name != NULL && !display_name_ok(display_name))
		return STORE_INVALID;
	if (email != NULL && *email != '\0' && !email_ok(email))
		return STORE_INVALID;

	/* 128 random bits never collide in practice; the retry is for the proof. */
	for (tries = 0; tries < 4; tries++) {
		json_t *old;

		if (rand_bytes(rnd, sizeof(rnd)) != 0)
			return STORE_IO;
		hex_encode(id, rnd, sizeof(rnd));
		if ((rc = store_gets(t, T_USERS, id, &old)) == STORE_NOTFOUND)
			break;
		json_decref(old);
		if (rc != STORE_OK)
			return rc;
	}
	if (tries == 4)
		return STORE_CONFLICT;

	if ((ix = json_pack("{s:s}", "id", id)) == NULL)
		return STORE_IO;
	rc = store_puts(t, T_USERNAMES, norm, ix, STORE_NOOVERWRITE);
	json_decref(ix);
	if (rc != STORE_OK)
		return rc;
	rec = json_pack("{s:s,s:s,s:s,s:b,s:I}", "id", id, "username", norm, "display_name",
	                display_name != NULL ? display_name : norm, "disabled", 0, "created",
	                (json_int_t)now_s());
	if (rec == NULL)
		return STORE_IO;
	if (email != NULL && *email != '\0' &&
	    json_object_set_new(rec, "email", json_string(email)) != 0) {
		json_decref(rec);
		return STORE_IO;
	}
	rc = store_puts(t, T_USERS, id, rec, STORE_NOOVERWRITE);
	json_decref(rec);
	if (rc == STORE_OK && id_out != NULL)
		memcpy(id_out, id, sizeof(id));
	return rc;
}

int
user_groups_ok(const json_t *groups)
{
	size_t i, j, n;
	json_t *v;

	if (!json_is_array(groups) || json_array_size(groups) > USER_GROUPS_MAX)
		return 0;
	json_array_foreach(groups, i, v) {
		const char *g = json_string_value(v);
		if (g == NULL || (n = strlen(g)) == 0 || n > 64 || n != json_string_length(v))
			return 0;
		for (j = 0; j < n; j++)
			if (!((g[j] >= 'a' && g[j] <= 'z') || (g[j] >= 'A' && g[j] <= 'Z') ||
			      (g[j] >= '0' && g[j] <= '9') || g[j] == '-' || g[j] == '_' || g[j] == '.'))
				return 0;
		for (j = 0; j < i; j++)
			if (strcmp(g, json_string_value(json_array_get(groups, j))) == 0)
				return 0;
	}
	return 1;
}

int
user_update(struct store_txn *t, const json_t *user)
{
	char norm[USERNAME_MAX + 1], oldnorm[USERNAME_MAX + 1];
	const char *id, *s;
	json_t *old = NULL, *rec = NULL, *ix = NULL, *v;
	int rc;

	if (!json_is_object(user))
		return STORE_INVALID;
	id = json_string_value(json_object_get(user, "id"));
	if (!user_id_ok(id) || !username_normalise(json_string_value(json_object_get(user, "username")), norm))
		return STORE_INVALID;
	/* The checks read C strings: a member with an embedded NUL is refused whole. */
	if ((v = json_object_get(user, "display_name")) != NULL &&
	    (!json_is_string(v) || !display_name_ok(json_string_value(v)) ||
	     strlen(json_string_value(v)) != json_string_length(v)))
		return STORE_INVALID;
	if ((v = json_object_get(user, "email")) != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || !email_ok(json_string_value(v)) ||
	     strlen(json_string_value(v)) != json_string_length(v)))
		return STORE_INVALID;
	v = json_object_get(user, "username");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return STORE_INVALID;
	if ((v = json_object_get(user, "disabled")) != NULL && !json_is_boolean(v))
		return STORE_INVALID;
	if ((v = json_object_get(user, "groups")) != NULL && !user_groups_ok(v))
		return STORE_INVALID;

	if ((rc = store_gets(t, T_USERS, id, &old)) != STORE_OK)
		return rc;
	s = json_string_value(json_object_get(old, "username"));
	if (!username_normalise(s, oldnorm)) {
		rc = STORE_CORRUPT;
		goto out;
	}
	if (strcmp(oldnorm, norm) != 0) {
		/* Rename: claim the new name first so a taken name changes nothing. */
		if ((ix = json_pack("{s:s}", "id", id)) == NULL) {
			rc = STORE_IO;
			goto out;
		}
		if ((rc = store_puts(t, T_USERNAMES, norm, ix, STORE_NOOVERWRITE)) != STORE_OK)
			goto out;
		rc = store_dels(t, T_USERNAMES, oldnorm);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			goto out;
	}
	if ((rec = json_deep_copy(user)) == NULL ||
	    json_object_set_new(rec, "username", json_string(norm)) != 0) {
		rc = STORE_IO;
		goto out;
	}
	rc = store_puts(t, T_USERS, id, rec, 0);
out:
	json_decref(old);
	json_decref(rec);
	json_decref(ix);
	return rc;
}

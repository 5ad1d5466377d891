/* modules/password.c — the password method: the NIST SP 800-63B password
 * rules (length in code points, common-password list, not the username), Argon2id
 * hashing with libsodium, and verification for a login (finish()).
 *
 * State (parameters, list, dummy hash, messages) is built by password_init()
 * before any worker thread starts and is read-only afterwards, so finish() and
 * the rule checks need no lock. */
#include "password.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>

#include "../authd/config.h"
#include "../authd/datafile.h"
#include "../authd/log.h"
#include "../authd/users.h"
#include "../lib/buf.h"
#include "../lib/tmpl.h"
#include "../lib/util.h"

/* The shipped list, when [password] breached_list names none (datafile.h). */
#define PASSWORD_LIST_NAME "common-passwords.txt"
/* A list bigger than this is a configuration mistake, not a password list. */
#define PASSWORD_LIST_MAX_BYTES (1024UL * 1024 * 1024)
/* Lines longer than this cannot be a password anyone types; skipped. */
#define PASSWORD_LIST_MAX_LINE 256
/* Hard ceiling for max_length (what config.c accepts). A code point is at
 * least one byte, so PASSWORD_MAX_BYTES still bounds the input whatever this is. */
#define PASSWORD_MAX_CODEPOINTS PASSWORD_MAX_BYTES
#define MSG_MAX 256

struct pw_state {
	unsigned long long ops;
	size_t mem;
	int min_len, max_len;
	char *list_path;	/* resolved path the list was read from */
	char *list_buf;		/* the file, NUL-split into lowercased entries */
	char **list;		/* sorted, unique */
	size_t n_list;
	char dummy[crypto_pwhash_STRBYTES];
	/* The rule messages in each language of the catalogues (share/i18n),
	 * with this configuration's numbers filled in; [PW_RULES] is the one
	 * for an unknown rule. def: the language for any other. */
	struct pw_msgs *msgs;
	size_t n_msgs, def;
};

#define PW_RULES (PW_BAD_TEXT + 1)

struct pw_msgs {
	char lang[36];
	char msg[PW_RULES + 1][MSG_MAX];
};

/* The catalogue key of each rule's message, and of the unknown rule's. */
static const char *const rule_keys[PW_RULES + 1] = {
	[PW_OK] = TXT("password.rule.ok"),
	[PW_TOO_SHORT] = TXT("password.rule.too_short"),
	[PW_TOO_LONG] = TXT("password.rule.too_long"),
	[PW_COMMON] = TXT("password.rule.common"),
	[PW_IS_USERNAME] = TXT("password.rule.is_username"),
	[PW_BAD_TEXT] = TXT("password.rule.bad_text"),
	[PW_RULES] = TXT("password.rule.invalid"),
};

static struct pw_state *pw;

static void
state_free(struct pw_state *s)
{
	if (s == NULL)
		return;
	free(s->list_path);
	free(s->list_buf);
	free(s->list);
	free(s->msgs);
	wipe(s, sizeof(*s));
	free(s);
}

void
password_fini(void)
{
	state_free(pw);
	pw = NULL;
}

/* ASCII lowercase in place; other bytes (UTF-8 sequences) are left alone, so
 * the result is still valid UTF-8. */
static void
ascii_lower(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A configured list (relative to the config folder), else the shipped one. */
static char *
resolve_list_path(const struct conf *c)
{
	const char *p = c->breached_list;
	char *configured = NULL, *path;

	if (p != NULL && p[0] != '\0' && (configured = conf_path(c, p)) == NULL)
		return NULL;
	path = datafile_path(configured, PASSWORD_LIST_NAME);
	free(configured);
	return path;
}

/* Reads the whole list into s->list_buf and builds the sorted, deduplicated
 * pointer array. One entry per line; CR is ignored; empty and over-long lines
 * are skipped. */
static int
load_list(struct pw_state *s)
{
	FILE *f;
	struct stat st;
	size_t len, i, n, start, cap = 0, out;
	char *buf;

	if ((f = fopen(s->list_path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long)st.st_size > PASSWORD_LIST_MAX_BYTES) {
		fclose(f);
		return -1;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, len, f) != len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[len] = '\0';
	s->list_buf = buf;

	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			cap++;
	cap++;
	if ((s->list = calloc(cap, sizeof(*s->list))) == NULL)
		return -1;
	n = 0;
	for (start = 0, i = 0; i <= len; i++) {
		size_t l;

		if (i < len && buf[i] != '\n')
			continue;
		buf[i] = '\0';
		l = i - start;
		if (l > 0 && buf[start + l - 1] == '\r')
			buf[start + --l] = '\0';
		if (l > 0 && l <= PASSWORD_LIST_MAX_LINE && n < cap) {
			ascii_lower(buf + start, l);
			s->list[n++] = buf + start;
		}
		start = i + 1;
	}
	qsort(s->list, n, sizeof(*s->list), cmp_str);
	for (out = 0, i = 0; i < n; i++)
		if (out == 0 || strcmp(s->list[out - 1], s->list[i]) != 0)
			s->list[out++] = s->list[i];
	s->n_list = out;
	return 0;
}

/* Reads the rule messages of every catalogue ([ui] i18n, else share/i18n as
 * authd/paths.h finds it) and fills in min and max. 0, or -1 (logged). */
static int
load_messages(struct pw_state *s, const struct conf *c)
{
	char *dir = datafile_path(c->ui_i18n, "i18n"), err[512] = "out of memory";
	const char *def = c->default_lang != NULL ? c->default_lang : "zh-TW";	/* config.c's default */
	struct tmpl_set *set = tmpl_set_new();
	json_t *nums = json_pack("{s:i, s:i}", "min", s->min_len, "max", s->max_len);
	size_t i, r;
	int rc = -1;

	if (dir == NULL || set == NULL || nums == NULL ||
	    tmpl_load_catalogues(set, dir, err, sizeof(err)) != 0 || tmpl_compile(set, err, sizeof(err)) != 0)
		goto out;
	s->n_msgs = tmpl_lang_count(set);
	if ((s->msgs = calloc(s->n_msgs, sizeof(*s->msgs))) == NULL)
		goto out;
	for (i = 0; i < s->n_msgs; i++) {
		const char *lang = tmpl_lang_at(set, i);

		snprintf(s->msgs[i].lang, sizeof(s->msgs[i].lang), "%s", lang);
		if (strcmp(lang, def) == 0)
			s->def = i;
		for (r = 0; r <= PW_RULES; r++) {
			const char *text = tmpl_text(set, lang, rule_keys[r]);
			struct buf b;

			if (text == NULL) {
				snprintf(err, sizeof(err), "%s: no message %s", dir, rule_keys[r]);
				goto out;
			}
			buf_init(&b);
			if (tmpl_text_fill(text, nums, &b) != 0) {
				buf_free(&b);
				goto out;
			}
			snprintf(s->msgs[i].msg[r], MSG_MAX, "%s", buf_str(&b));
			buf_free(&b);
		}
	}
	rc = 0;
out:
	if (rc != 0)
		log_msg(LOG_ERROR, "cannot read the password rules' messages", "error", err, NULL);
	json_decref(nums);
	tmpl_set_free(set);
	free(dir);
	return rc;
}

/* Refuses parameters libsodium would reject at hashing time, so a bad config
 * stops the daemon at start instead of failing every login. */
static int
check_conf(const struct conf *c)
{
	if (c->argon2_ops < crypto_pwhash_OPSLIMIT_MIN || c->argon2_ops > crypto_pwhash_OPSLIMIT_MAX)
		return -1;
	if (c->argon2_memory_kib > SIZE_MAX / 1024 ||
	    c->argon2_memory_kib * 1024 < crypto_pwhash_MEMLIMIT_MIN ||
	    c->argon2_memory_kib * 1024 > crypto_pwhash_MEMLIMIT_MAX)
		return -1;
	/* SP 800-63B §5.1.1.2: at least 8, and allow at least 64. */
	if (c->min_length < 8 || c->max_length < 64 || c->max_length > PASSWORD_MAX_CODEPOINTS ||
	    c->min_length > c->max_length)
		return -1;
	return 0;
}

int
password_init(const struct conf *c)
{
	struct pw_state *s;
	uint8_t rnd[32];
	char *path;

	if (c == NULL || check_conf(c) != 0)
		return -1;
	if (sodium_init() < 0)
		return -1;
	if ((path = resolve_list_path(c)) == NULL)
		return -1;
	if (pw != NULL && pw->ops == c->argon2_ops && pw->mem == c->argon2_memory_kib * 1024 &&
	    pw->min_len == c->min_length && pw->max_len == c->max_length &&
	    strcmp(pw->list_path, path) == 0) {
		free(path);
		return 0;	/* already initialised with this configuration */
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		free(path);
		return -1;
	}
	s->list_path = path;
	s->ops = c->argon2_ops;
	s->mem = c->argon2_memory_kib * 1024;
	s->min_len = c->min_length;
	s->max_len = c->max_length;
	if (load_list(s) != 0) {
		/* The path is what an operator needs: which rule of datafile.h picked it. */
		log_msg(LOG_ERROR, "cannot read the common-password list ([password] breached_list)",
		    "path", s->list_path, NULL);
		goto fail;
	}
	/* The dummy hash has the same parameters as real ones, so verifying an
	 * unknown user costs exactly what a known user costs. Its password is
	 * random and forgotten: nothing verifies against it. */
	if (rand_bytes(rnd, sizeof(rnd)) != 0)
		goto fail;
	if (crypto_pwhash_str(s->dummy, (const char *)rnd, sizeof(rnd), s->ops, s->mem) != 0) {
		wipe(rnd, sizeof(rnd));
		goto fail;
	}
	wipe(rnd, sizeof(rnd));
	if (load_messages(s, c) != 0)
		goto fail;
	/* Swap only when complete: a failed reload keeps the old state. */
	state_free(pw);
	pw = s;
	return 0;
fail:
	state_free(s);
	return -1;
}

int
password_is_common(const char *p)
{
	char tmp[PASSWORD_LIST_MAX_LINE + 1];
	const char *key = tmp;
	size_t n;
	int found;

	if (pw == NULL || p == NULL)
		return 0;
	n = strlen(p);
	if (n == 0 || n > PASSWORD_LIST_MAX_LINE)
		return 0;	/* no list entry is that long */
	memcpy(tmp, p, n + 1);
	ascii_lower(tmp, n);
	found = bsearch(&key, pw->list, pw->n_list, sizeof(*pw->list), cmp_str) != NULL;
	wipe(tmp, sizeof(tmp));
	return found;
}

/* Code points in valid UTF-8: every byte that is not a continuation byte. */
static size_t
utf8_count(const char *s, size_t n)
{
	size_t i, cp = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cp++;
	return cp;
}

static int
ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return *a == *b;
}

enum pw_rule
password_check_rules(const char *p, const char *username)
{
	size_t n, cp, i;

	if (p == NULL || pw == NULL)
		return PW_BAD_TEXT;
	n = strnlen(p, PASSWORD_MAX_BYTES + 1);
	if (n > PASSWORD_MAX_BYTES)
		return PW_TOO_LONG;
	if (!utf8_valid(p, n))
		return PW_BAD_TEXT;
	/* utf8_valid lets tab/CR/LF through (they are fine in text fields); in a
	 * password they are always a paste or keyboard accident. DEL too. */
	for (i = 0; i < n; i++)
		if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == 0x7f)
			return PW_BAD_TEXT;
	cp = utf8_count(p, n);
	if (cp < (size_t)pw->min_len)
		return PW_TOO_SHORT;
	if (cp > (size_t)pw->max_len)
		return PW_TOO_LONG;
	if (username != NULL && ascii_caseeq(p, username))
		return PW_IS_USERNAME;
	if (password_is_common(p))
		return PW_COMMON;
	return PW_OK;
}

const char *
password_rule_message(enum pw_rule r, const char *lang)
{
	size_t i, l, pl;

	if (pw == NULL || pw->n_msgs == 0)
		return "This password cannot be used.";	/* not initialised: a caller's bug */
	if ((int)r < PW_OK || r > PW_BAD_TEXT)
		r = (enum pw_rule)PW_RULES;
	/* The language asked for (exactly, else by its primary subtag: "en-US"
	 * is en), else the default one. */
	l = pw->def;
	pl = lang != NULL ? strcspn(lang, "-_") : 0;
	for (i = 0; lang != NULL && i < pw->n_msgs; i++)
		if (strcasecmp(pw->msgs[i].lang, lang) == 0)
			return pw->msgs[i].msg[r];
	for (i = 0; pl > 0 && i < pw->n_msgs; i++)
		if (strcspn(pw->msgs[i].lang, "-") == pl && strncasecmp(pw->msgs[i].lang, lang, pl) == 0) {
			l = i;
			break;
		}
	return pw->msgs[l].msg[r];
}

json_t *
password_record_new(const char *p, int64_t created, int64_t now)
{
	char hash[crypto_pwhash_STRBYTES];
	json_t *rec;
	size_t n;

	if (pw == NULL || p == NULL)
		return NULL;
	n = strnlen(p, PASSWORD_MAX_BYTES + 1);
	if (n > PASSWORD_MAX_BYTES)
		return NULL;
	if (crypto_pwhash_str(hash, p, n, pw->ops, pw->mem) != 0)
		return NULL;	/* out of memory for Argon2 */
	rec = json_pack("{s:s,s:I,s:I}", "hash", hash, "created", (json_int_t)created,
	    "updated", (json_int_t)now);
	wipe(hash, sizeof(hash));
	return rec;
}

static int
cred_key(char *out, size_t outsz, const char *user_id)
{
	int n;

	if (user_id == NULL || strlen(user_id) != USER_ID_LEN)
		return -1;
	n = snprintf(out, outsz, "%s/password/0", user_id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
password_set(struct store_txn *t, const char *user_id, const char *username, const char *p)
{
	char key[128];
	json_t *old = NULL, *rec;
	int64_t now = (int64_t)now_s(), created = now;
	enum pw_rule r;
	int rc;

	if ((r = password_check_rules(p, username)) != PW_OK)
		return (int)r;
	if (cred_key(key, sizeof(key), user_id) != 0)
		return -1;
	rc = store_gets(t, T_CREDS, key, &old);
	if (rc == STORE_OK) {
		json_t *cr = json_object_get(old, "created");

		if (json_is_integer(cr))
			created = (int64_t)json_integer_value(cr);
		json_decref(old);
	} else if (rc != STORE_NOTFOUND) {
		return -1;
	}
	if ((rec = password_record_new(p, created, now)) == NULL)
		return -1;
	rc = store_puts(t, T_CREDS, key, rec, 0);
	json_decref(rec);
	return rc == STORE_OK ? 0 : -1;
}

int
password_hash_of(struct store_txn *t, const char *user_id, char out[PASSWORD_HASH_MAX])
{
	char key[128];
	json_t *rec = NULL;
	const char *h;
	int rc;

	out[0] = '\0';
	if (cred_key(key, sizeof(key), user_id) != 0)
		return STORE_NOTFOUND;
	if ((rc = store_gets(t, T_CREDS, key, &rec)) != STORE_OK)
		return rc;
	h = json_string_value(json_object_get(rec, "hash"));
	rc = h != NULL && strlen(h) < PASSWORD_HASH_MAX ? STORE_OK : STORE_NOTFOUND;
	if (rc == STORE_OK)
		snprintf(out, PASSWORD_HASH_MAX, "%s", h);
	json_decref(rec);
	return rc;
}

int
password_matches(const char *hash, const char *p)
{
	size_t n = p != NULL ? strnlen(p, PASSWORD_MAX_BYTES + 1) : 0;

	if (pw == NULL || n == 0 || n > PASSWORD_MAX_BYTES)
		return 0;
	if (hash == NULL || hash[0] == '\0') {
		int spent = crypto_pwhash_str_verify(pw->dummy, p, n); /* the same work */

		(void)spent; /* never 0: the dummy's password was random */
		return 0;
	}
	return crypto_pwhash_str_verify(hash, p, n) == 0;
}

int
password_store(struct store_txn *t, const char *user_id, json_t *rec)
{
	char key[128];
	json_t *old = NULL, *cr;
	int rc;

	if (cred_key(key, sizeof(key), user_id) != 0 || rec == NULL)
		return STORE_IO;
	rc = store_gets(t, T_CREDS, key, &old);
	if (rc == STORE_OK) {
		cr = json_object_get(old, "created");
		if (json_is_integer(cr))
			json_object_set(rec, "created", cr);
		json_decref(old);
	} else if (rc != STORE_NOTFOUND) {
		return rc;
	}
	return store_puts(t, T_CREDS, key, rec, 0);
}

/* The stored hash of the user, or NULL (then the dummy is used).
 * *rec receives the credential record to release. */
static const char *
stored_hash(struct login *l, char *key, size_t keysz, json_t **rec)
{
	json_t *u = l->user, *h;
	const char *id, *hash;

	*rec = NULL;
	if (u == NULL || l->txn == NULL)
		return NULL;
	/* A disabled account is the sign-in core's to refuse (signin_person),
	 * after the same work as any other. */
	id = json_string_value(json_object_get(u, "id"));
	if (cred_key(key, keysz, id) != 0)
		return NULL;
	if (store_gets(l->txn, T_CREDS, key, rec) != STORE_OK)
		return NULL;
	h = json_object_get(*rec, "hash");
	hash = json_string_value(h);
	if (hash == NULL || strlen(hash) >= crypto_pwhash_STRBYTES)
		return NULL;
	return hash;
}

static int
pw_finish(struct login *l, const struct form *f, struct proof *proof)
{
	char key[128];
	json_t *rec = NULL;
	const char *p, *hash;
	size_t n;
	int ok;

	memset(proof, 0, sizeof(*proof));	/* nothing proved unless we say so */
	if (pw == NULL)
		return METHOD_ERROR;
	p = form_get(f, "password");
	if (p == NULL)
		return METHOD_INVALID;
	/* Bound the work before Argon2 sees the input. */
	n = strnlen(p, PASSWORD_MAX_BYTES + 1);
	if (n == 0 || n > PASSWORD_MAX_BYTES)
		return METHOD_INVALID;

	hash = stored_hash(l, key, sizeof(key), &rec);
	if (hash == NULL) {
		/* Unknown, disabled or password-less: same cost, same answer. */
		int spent = crypto_pwhash_str_verify(pw->dummy, p, n);

		(void)spent;	/* never 0: the dummy's password was random */
		json_decref(rec);
		return METHOD_FAIL;
	}
	ok = crypto_pwhash_str_verify(hash, p, n) == 0;
	if (!ok) {
		json_decref(rec);
		return METHOD_FAIL;
	}

	snprintf(proof->user_id, sizeof(proof->user_id), "%s",
	    json_string_value(json_object_get(l->user, "id")));
	proof->amr = AMR_PWD;
	proof->factors = FACTOR_KNOW;
	proof->props = 0;
	/* Parameters raised since this hash was made: rehash now, while we hold
	 * the password, and let the caller store it with the login. A failed
	 * rehash does not fail a correct login. */
	if (crypto_pwhash_str_needs_rehash(hash, pw->ops, pw->mem) != 0) {
		json_t *cr = json_object_get(rec, "created");
		int64_t now = (int64_t)now_s();
		int64_t created = json_is_integer(cr) ? (int64_t)json_integer_value(cr) : now;

		proof->cred_update = password_record_new(p, created, now);
		if (proof->cred_update != NULL) {
			snprintf(proof->cred_key, sizeof(proof->cred_key), "%s", key);
			proof->cred_expect = json_incref(rec);
		}
	}
	json_decref(rec);
	return METHOD_OK;
}

static int
pw_method_init(struct authd *a, const struct conf *c)
{
	(void)a;
	return password_init(c);
}

/* The password method shows nothing before the form: the page asks for it. */
static int
pw_begin(struct login *l, json_t *challenge_out)
{
	(void)l;
	(void)challenge_out;
	return METHOD_OK;
}

static int
pw_enrolled(struct store_txn *t, const char *user_id)
{
	char key[128];
	json_t *rec = NULL;
	int ok;

	if (cred_key(key, sizeof(key), user_id) != 0)
		return 0;
	ok = store_gets(t, T_CREDS, key, &rec) == STORE_OK;
	json_decref(rec);
	return ok;
}

const struct authd_method method_password = {
	.name = "password",
	.factors = FACTOR_KNOW,
	.props = 0,
	.amr = AMR_PWD,
	.flags = METHOD_FIRST,
	.account_template = "account-password",	/* "Password: set"; no data of its own */
	.enrolled = pw_enrolled,
	.init = pw_method_init,
	.begin = pw_begin,
	.finish = pw_finish,
	.enrol_begin = NULL,	/* passwords are set through password_set() */
	.enrol_finish = NULL,
	.fini = password_fini,
};

/* authd/web/pages.c — loads share/static, share/i18n and share/templates
 * once (pages.h), checks that they hold everything the C code names, and
 * serves the static files from memory.
 *
 * Invariant: set and files are written by pages_init before any listener
 * runs and only read afterwards, so request threads read them unlocked. */
#include "pages.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/tmpl.h"
#include "../../lib/util.h"
#include "../../modules/method.h"
#include "../config.h"
#include "../http.h"
#include "../datafile.h"

/* What a deployment may put in share/static: these types only. */
static const struct {
	const char *ext, *type;
} types[] = {
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".webp", "image/webp" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
};

#define STATIC_FILES_MAX 64
#define STATIC_FILE_MAX  (1024u * 1024)
#define STATIC_TOTAL_MAX (16u * 1024 * 1024)

struct sfile {
	char name[65];
	const char *type;
	char *body;
	size_t len;
	char hash[17];          /* first 64 bits of SHA-256, hex */
	char etag[20];          /* "\"" hash "\"" */
	char url[128];          /* /static/NAME?v=HASH */
};

/* The templates every page of the core renders (ui.c, account.c, device.c);
 * methods name theirs in struct authd_method. */
static const char *const core_pages[] = {
	"error",
	"message",
	"login",
	"otp",
	"step",
	"step-cert",
	"unmet",
	"device-enter",
	"device-confirm",
	"device-host",
	"account",
	"account-enrol",
	"account-codes",
	"account-confirm",
	NULL,
};

static struct tmpl_set *set;
static struct sfile files[STATIC_FILES_MAX];
static size_t nfiles;

/* ---------------------------------------------------------------- static files */

static const char *
type_of(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (n > e && strcasecmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

static int
name_ok(const char *n)
{
	size_t i;

	if (n[0] == '\0' || n[0] == '.' || strlen(n) > 64)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		    (n[i] >= '0' && n[i] <= '9') || n[i] == '.' || n[i] == '-' || n[i] == '_'))
			return 0;
	return 1;
}

static void
files_free(void)
{
	size_t i;

	for (i = 0; i < nfiles; i++)
		free(files[i].body);
	memset(files, 0, sizeof(files));
	nfiles = 0;
}

static int
file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sfile *)a)->name, ((const struct sfile *)b)->name);
}

/* Reads every file of dir into files[] (sorted by name). Skips dot files and
 * editor backups (NAME~); any other name or type is an error, so a file an
 * operator puts there is either served or named at start. */
static int
static_load(const char *dir, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t total = 0;

	if (d == NULL)
		return errf(err, errsz, "%s: cannot open the static-file folder: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		struct sfile *f;
		struct stat st;
		char path[4096];
		uint8_t h[SHA256_LEN];
		char hash[17];
		ssize_t got;
		int fd;

		if (n[0] == '.' || n[strlen(n) - 1] == '~')
			continue;
		if (!name_ok(n) || type_of(n) == NULL) {
			/* n lives in d: the message first, then closedir */
			errf(err, errsz, "%s/%s: not a static file authd serves (names of "
			    "A-Z a-z 0-9 . - _; types .css .js .svg .png .jpg .webp .ico .woff2 .txt)", dir, n);
			closedir(d);
			return -1;
		}
		if (nfiles == STATIC_FILES_MAX) {
			closedir(d);
			return errf(err, errsz, "%s: more than %d files", dir, STATIC_FILES_MAX);
		}
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_size > (off_t)STATIC_FILE_MAX ||
		    total + (size_t)st.st_size > STATIC_TOTAL_MAX) {
			if (fd >= 0)
				close(fd);
			closedir(d);
			return errf(err, errsz, "%s: not a readable regular file of at most %u bytes "
			    "(%u in all)", path, STATIC_FILE_MAX, STATIC_TOTAL_MAX);
		}
		f = &files[nfiles];
		memset(f, 0, sizeof(*f));
		memcpy(f->name, n, strlen(n) + 1);	/* name_ok: at most 64 bytes */
		f->type = type_of(n);
		f->len = (size_t)st.st_size;
		if ((f->body = malloc(f->len + 1)) == NULL) {
			close(fd);
			closedir(d);
			return errf(err, errsz, "out of memory");
		}
		got = f->len > 0 ? read(fd, f->body, f->len) : 0;
		close(fd);
		if (got < 0 || (size_t)got != f->len) {
			free(f->body);
			closedir(d);
			return errf(err, errsz, "%s: cannot read", path);
		}
		nfiles++;
		total += f->len;
		sha256(f->body, f->len, h);
		hex_encode(hash, h, 8);
		memcpy(f->hash, hash, sizeof(f->hash));
		snprintf(f->etag, sizeof(f->etag), "\"%s\"", hash);
		/* "/static/" NAME "?v=" HASH: 8 + 64 + 3 + 16 bytes at most */
		memcpy(f->url, "/static/", 8);
		memcpy(f->url + 8, n, strlen(n));
		memcpy(f->url + 8 + strlen(n), "?v=", 3);
		memcpy(f->url + 11 + strlen(n), hash, sizeof(hash));
	}
	closedir(d);
	qsort(files, nfiles, sizeof(files[0]), file_cmp);
	return 0;
}

static const struct sfile *
file_find(const char *name)
{
	size_t lo = 0, hi = nfiles;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(files[mid].name, name);

		if (c == 0)
			return &files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
pages_static_url(const char *name)
{
	const struct sfile *f = name != NULL ? file_find(name) : NULL;

	return f != NULL ? f->url : NULL;
}

/* The name is looked up in the table, never opened: no path can leave it. */
void
pages_static(struct http_req *r)
{
	const char *name = r->path + strlen("/static/"), *v, *inm;
	const struct sfile *f;

	if (strncmp(r->path, "/static/", 8) != 0 || (f = file_find(name)) == NULL) {
		http_reply_oauth_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	v = http_query(r, "v");
	http_add_header(r, "ETag", f->etag);
	http_add_header(r, "Cache-Control", v != NULL && strcmp(v, f->hash) == 0 ?
	    "public, max-age=31536000, immutable" : "public, max-age=300");
	inm = http_header(r, "If-None-Match");
	if (inm != NULL && strstr(inm, f->etag) != NULL) {
		http_reply(r, 304, NULL, NULL, 0);
		return;
	}
	http_reply(r, 200, f->type, f->body, f->len);
}

/* ---------------------------------------------------------------- the set */

const struct tmpl_set *
pages_set(void)
{
	return set;
}

const char *
pages_lang(const char *tag)
{
	static const char *const shipped[] = { "zh-TW", "en" };
	size_t i;

	if (set != NULL)
		return tmpl_lang_match(set, tag);
	/* Not loaded (transport unit tests): the shipped languages by their
	 * primary subtag, as tmpl_lang_match would. */
	for (i = 0; tag != NULL && i < 2; i++)
		if (strncasecmp(tag, shipped[i], 2) == 0 &&
		    (tag[2] == '\0' || tag[2] == '-' || tag[2] == '_'))
			return shipped[i];
	return NULL;
}

size_t
pages_lang_count(void)
{
	return tmpl_lang_count(set);
}

const char *
pages_lang_at(size_t i)
{
	return tmpl_lang_at(set, i);
}

const char *
pages_text(const char *lang, const char *key)
{
	const char *t = tmpl_text(set, lang, key);

	return t != NULL ? t : key;
}

int
pages_render(const char *name, const char *lang, const json_t *data, struct buf *out, char *err,
    size_t errsz)
{
	return tmpl_render(set, name, lang, data, out, err, errsz);
}

/* Everything the C code names must be there. */
static int
check_names(const struct tmpl_set *s, const struct conf *c, char *err, size_t errsz)
{
	const struct authd_method *const *mp;
	size_t i;

	for (i = 0; core_pages[i] != NULL; i++)
		if (!tmpl_has(s, core_pages[i]))
			return errf(err, errsz, "templates: no %s.html (authd renders it)", core_pages[i]);
	for (mp = authd_methods; *mp != NULL; mp++) {
		const struct authd_method *m = *mp;

		if (m->ui_label != NULL && !tmpl_has_key(s, m->ui_label))
			return errf(err, errsz, "catalogues: no key %s (the %s button)", m->ui_label, m->name);
		if (m->ui_script != NULL && !tmpl_has(s, m->ui_script))
			return errf(err, errsz, "templates: no %s.html (the %s script)", m->ui_script, m->name);
		if (m->account_template != NULL && !tmpl_has(s, m->account_template))
			return errf(err, errsz, "templates: no %s.html (the %s account section)",
			    m->account_template, m->name);
		for (i = 0; m->ui_pages != NULL && m->ui_pages[i] != NULL; i++)
			if (!tmpl_has(s, m->ui_pages[i]))
				return errf(err, errsz, "templates: no %s.html (a %s page)", m->ui_pages[i],
				    m->name);
	}
	if (tmpl_lang_match(s, c->default_lang) == NULL ||
	    strcmp(tmpl_lang_match(s, c->default_lang), c->default_lang) != 0)
		return errf(err, errsz, "[ui] default_lang = %s: no catalogue %s.json", c->default_lang,
		    c->default_lang);
	return 0;
}

/* The folders as the data-path rule finds them (datafile.h). */
static int
folders(const struct conf *c, char **stat_dir, char **i18n_dir, char **tmpl_dir)
{
	*stat_dir = datafile_path(c->ui_static, "static");
	*i18n_dir = datafile_path(c->ui_i18n, "i18n");
	*tmpl_dir = datafile_path(c->ui_templates, "templates");
	return *stat_dir != NULL && *i18n_dir != NULL && *tmpl_dir != NULL ? 0 : -1;
}

int
pages_init(const struct conf *c, char *err, size_t errsz)
{
	char *sd = NULL, *id = NULL, *td = NULL, e[768];
	struct tmpl_set *s = NULL;
	size_t i;
	int rc = -1;

	pages_fini();
	if (folders(c, &sd, &id, &td) != 0 || (s = tmpl_set_new()) == NULL) {
		errf(err, errsz, "out of memory");
		goto out;
	}
	if (static_load(sd, e, sizeof(e)) != 0) {
		errf(err, errsz, "%s", e);
		goto out;
	}
	for (i = 0; i < nfiles; i++)
		if (tmpl_add_asset(s, files[i].name, files[i].url, e, sizeof(e)) != 0) {
			errf(err, errsz, "%s", e);
			goto out;
		}
	/* [branding] names files of this folder: a typo stops the start, not a page. */
	if ((c->brand_logo != NULL && file_find(c->brand_logo) == NULL) ||
	    (c->brand_stylesheet != NULL && file_find(c->brand_stylesheet) == NULL)) {
		errf(err, errsz, "%s: no file %s for [branding] %s", sd,
		    c->brand_logo != NULL && file_find(c->brand_logo) == NULL ? c->brand_logo
		                                                              : c->brand_stylesheet,
		    c->brand_logo != NULL && file_find(c->brand_logo) == NULL ? "logo"
		                                                              : "stylesheet");
		goto out;
	}
	if (tmpl_load_catalogues(s, id, e, sizeof(e)) != 0 || tmpl_load_templates(s, td, e, sizeof(e)) != 0 ||
	    tmpl_compile(s, e, sizeof(e)) != 0 || check_names(s, c, e, sizeof(e)) != 0) {
		errf(err, errsz, "%s", e);
		goto out;
	}
	set = s;
	s = NULL;
	rc = 0;
out:
	if (rc != 0)
		files_free();
	tmpl_set_free(s);
	free(sd);
	free(id);
	free(td);
	return rc;
}

void
pages_fini(void)
{
	tmpl_set_free(set);
	set = NULL;
	files_free();
}

int
pages_check(const struct conf *c, char *err, size_t errsz)
{
	int rc = pages_init(c, err, errsz);

	pages_fini();
	return rc;
}

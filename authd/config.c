/* authd/config.c — loads the INI configuration (config.h) with inih: defaults
 * for every key, strict parsing (unknown section/key, bad numbers, repeated
 * keys are errors naming file:line), relative paths resolved against the config
 * file's folder, and the checks that keep a deployment safe (issuer form, audit
 * retention). */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../lib/util.h"
#include "datafile.h"

enum kind {
	K_STR,
	K_PATH,
	K_INT,
	K_SIZE,
	K_ULONG,
	K_BOOL,
	K_LISTEN,
	K_PROXY,
	K_CIDR,
	K_LEVEL,
	K_ALG,
	K_LANG
};

struct key {
	const char *section, *name;
	enum kind kind;
	size_t off;
	long long min, max;
};

#define O(m) offsetof(struct conf, m)
static const struct key keys[] = {
	{ "server", "issuer", K_STR, O(issuer), 0, 0 },
	{ "server", "listen", K_LISTEN, 0, 0, 0 },
	{ "server", "tls_cert", K_PATH, O(tls_cert), 0, 0 },
	{ "server", "tls_key", K_PATH, O(tls_key), 0, 0 },
	{ "server", "threads", K_INT, O(threads), 0, 256 },
	{ "server", "workers", K_INT, O(workers), 0, 256 },
	{ "server", "worker_queue_per_source", K_INT, O(worker_queue_per_source), 1, 100000 },
	{ "server", "worker_queue_per_account", K_INT, O(worker_queue_per_account), 1, 100000 },
	{ "server", "worker_queue_max", K_INT, O(worker_queue_max), 1, 1000000 },
	{ "server", "max_header_bytes", K_SIZE, O(max_header_bytes), 1024, 1 << 20 },
	{ "server", "max_body_bytes", K_SIZE, O(max_body_bytes), 1024, 16 << 20 },
	{ "server", "read_timeout_s", K_INT, O(read_timeout_s), 1, 600 },
	{ "server", "max_connections", K_INT, O(max_connections), 1, 1000000 },
	{ "server", "user", K_STR, O(user), 0, 0 },
	{ "server", "trusted_proxies", K_PROXY, 0, 0, 0 },
	{ "server", "metrics_allow", K_CIDR, 0, 0, 0 },
	{ "store", "path", K_PATH, O(store_path), 0, 0 },
	{ "store", "map_mb", K_SIZE, O(store_map_mb), 16, 1 << 20 },
	{ "store", "nosync", K_BOOL, O(store_nosync), 0, 1 },
	{ "store", "backend", K_STR, O(store_backend), 0, 0 },
	{ "store", "conninfo", K_STR, O(store_conninfo), 0, 0 },
	{ "store", "pool", K_INT, O(store_pool), 1, 64 },
	{ "store", "deadline_ms", K_INT, O(store_deadline_ms), 100, 60000 },
	{ "tokens", "access_ttl", K_INT, O(access_ttl), 30, 86400 },
	{ "tokens", "id_ttl", K_INT, O(id_ttl), 30, 86400 },
	{ "tokens", "refresh_ttl", K_INT, O(refresh_ttl), 60, 31536000 },
	{ "tokens", "code_ttl", K_INT, O(code_ttl), 10, 600 },
	{ "tokens", "login_ttl", K_INT, O(login_ttl), 60, 3600 },
	{ "tokens", "session_ttl", K_INT, O(session_ttl), 60, 2592000 },
	{ "tokens", "session_idle", K_INT, O(session_idle), 60, 2592000 },
	{ "tokens", "leeway", K_INT, O(leeway), 0, 300 },
	{ "tokens", "signing_alg", K_ALG, O(signing_alg), 0, 0 },
	{ "tokens", "client_rate", K_INT, O(client_rate), 0, 1000000 },
	{ "tokens", "client_burst", K_INT, O(client_burst), 1, 1000000 },
	{ "password", "argon2_memory_kib", K_ULONG, O(argon2_memory_kib), 8192, 4194304 },
	{ "password", "argon2_ops", K_ULONG, O(argon2_ops), 1, 32 },
	{ "password", "min_length", K_INT, O(min_length), 8, 128 },
	{ "password", "max_length", K_INT, O(max_length), 64, 4096 },
	{ "password", "breached_list", K_PATH, O(breached_list), 0, 0 },
	{ "throttle", "account_max_failures", K_INT, O(account_max_failures), 1, 1000 },
	{ "throttle", "account_base_delay_s", K_INT, O(account_base_delay_s), 1, 86400 },
	{ "throttle", "account_lockout_s", K_INT, O(account_lockout_s), 1, 86400 },
	{ "throttle", "account_window_s", K_INT, O(account_window_s), 60, 2592000 },
	{ "throttle", "account_soft_failures", K_INT, O(account_soft_failures), 1, 1000000 },
	{ "throttle", "account_soft_interval_s", K_INT, O(account_soft_interval_s), 1, 3600 },
	{ "throttle", "known_address_days", K_INT, O(known_address_days), 0, 365 },
	{ "throttle", "code_max_failures", K_INT, O(code_max_failures), 1, 1000 },
	{ "throttle", "code_base_delay_s", K_INT, O(code_base_delay_s), 1, 86400 },
	{ "throttle", "code_max_delay_s", K_INT, O(code_max_delay_s), 1, 86400 },
	{ "throttle", "login_max_attempts", K_INT, O(login_max_attempts), 1, 100 },
	{ "throttle", "address_free_failures", K_INT, O(address_free_failures), 0, 100000 },
	{ "throttle", "address_base_delay_ms", K_INT, O(address_base_delay_ms), 0, 60000 },
	{ "throttle", "address_max_delay_s", K_INT, O(address_max_delay_s), 0, 86400 },
	{ "throttle", "address_window_s", K_INT, O(address_window_s), 60, 604800 },
	{ "throttle", "ipv4_prefix", K_INT, O(ipv4_prefix), 8, 32 },
	{ "throttle", "ipv6_prefix", K_INT, O(ipv6_prefix), 32, 128 },
	{ "throttle", "lease_s", K_INT, O(lease_s), 5, 600 },
	{ "throttle", "device_code_max_failures", K_INT, O(device_code_max_failures), 1, 1000 },
	{ "throttle", "device_code_window_s", K_INT, O(device_code_window_s), 60, 86400 },
	{ "log", "level", K_LEVEL, O(log_level), 0, 3 },
	{ "ui", "default_lang", K_LANG, O(default_lang), 0, 0 },
	{ "ui", "templates", K_PATH, O(ui_templates), 0, 0 },
	{ "ui", "i18n", K_PATH, O(ui_i18n), 0, 0 },
	{ "ui", "static", K_PATH, O(ui_static), 0, 0 },
	{ "audit", "retention_days", K_INT, O(audit_retention_days), 1, 36500 },
	{ "policy", "acr_aal1", K_STR, O(acr_aal1), 0, 0 },
	{ "policy", "acr_aal2", K_STR, O(acr_aal2), 0, 0 },
	{ "policy", "acr_aal3", K_STR, O(acr_aal3), 0, 0 },
	{ "policy", "aal2_max_s", K_INT, O(aal2_max_s), 5, 2592000 },
	{ "policy", "aal2_idle_s", K_INT, O(aal2_idle_s), 5, 2592000 },
	{ "policy", "aal3_max_s", K_INT, O(aal3_max_s), 5, 2592000 },
	{ "policy", "aal3_idle_s", K_INT, O(aal3_idle_s), 5, 2592000 },
	{ "totp", "key_file", K_PATH, O(totp_key_file), 0, 0 },
	{ "totp", "issuer", K_STR, O(totp_issuer), 0, 0 },
	{ "totp", "window", K_INT, O(totp_window), 0, 3 },
	{ "webauthn", "rp_id", K_STR, O(webauthn_rp_id), 0, 0 },
	{ "webauthn", "rp_name", K_STR, O(webauthn_rp_name), 0, 0 },
	{ "webauthn", "origins", K_STR, O(webauthn_origins), 0, 0 },
	{ "webauthn", "user_verification", K_STR, O(webauthn_uv), 0, 0 },
	{ "webauthn", "attestation", K_STR, O(webauthn_attestation), 0, 0 },
	{ "webauthn", "timeout_ms", K_INT, O(webauthn_timeout_ms), 10000, 600000 },
	{ "webauthn", "attestation_roots", K_PATH, O(webauthn_attestation_roots), 0, 0 },
	{ "webauthn", "mds_blob", K_PATH, O(webauthn_mds_blob), 0, 0 },
	{ "webauthn", "mds_root", K_PATH, O(webauthn_mds_root), 0, 0 },
	{ "webauthn", "mds_crls", K_PATH, O(webauthn_mds_crls), 0, 0 },
	{ "webauthn", "hardware_aaguids", K_STR, O(webauthn_hardware_aaguids), 0, 0 },
	{ "webauthn", "denied_aaguids", K_STR, O(webauthn_denied_aaguids), 0, 0 },
	{ "webauthn", "synced_passkeys", K_STR, O(webauthn_synced_passkeys), 0, 0 },
	{ "x509", "enabled", K_BOOL, O(x509_enabled), 0, 1 },
	{ "x509", "trust_anchors", K_PATH, O(x509_trust_anchors), 0, 0 },
	{ "x509", "intermediates", K_PATH, O(x509_intermediates), 0, 0 },
	{ "branding", "name", K_STR, O(brand_name), 0, 0 },
	{ "branding", "name_en", K_STR, O(brand_name_en), 0, 0 },
	{ "branding", "logo", K_STR, O(brand_logo), 0, 0 },
	{ "branding", "stylesheet", K_STR, O(brand_stylesheet), 0, 0 },
	{ "branding", "privacy_url", K_STR, O(brand_privacy_url), 0, 0 },
	{ "branding", "security_url", K_STR, O(brand_security_url), 0, 0 },
	{ "branding", "accessibility_url", K_STR, O(brand_accessibility_url), 0, 0 },
	{ "branding", "contact", K_STR, O(brand_contact), 0, 0 },
	{ "branding", "contact_url", K_STR, O(brand_contact_url), 0, 0 },
	{ "x509", "policy_oids", K_STR, O(x509_policy_oids), 0, 0 },
	{ "x509", "ocsp", K_BOOL, O(x509_ocsp), 0, 1 },
	{ "x509", "crl", K_BOOL, O(x509_crl), 0, 1 },
	{ "x509", "crl_cache", K_PATH, O(x509_crl_cache), 0, 0 },
	{ "x509", "fail_open", K_BOOL, O(x509_fail_open), 0, 1 },
	{ "x509", "unbound", K_STR, O(x509_unbound), 0, 0 },
	{ "x509", "tls_listen", K_STR, O(x509_tls_listen), 0, 0 },
	{ "x509", "proxy_header", K_STR, O(x509_proxy_header), 0, 0 },
	{ "x509", "tls_max_version", K_STR, O(x509_tls_max_version), 0, 0 },
	{ "x509", "local_sign_origin", K_STR, O(x509_local_sign_origin), 0, 0 },
	{ "x509", "ocsp_timeout_ms", K_INT, O(x509_ocsp_timeout_ms), 100, 60000 },
	{ "x509", "crl_max_bytes", K_SIZE, O(x509_crl_max_bytes), 1024, 1073741824 },
	{ "x509", "crl_timeout_ms", K_INT, O(x509_crl_timeout_ms), 100, 300000 },
	{ "x509", "crl_cache_entries", K_INT, O(x509_crl_cache_entries), 1, 100000 },
	{ "x509", "crl_cache_bytes", K_SIZE, O(x509_crl_cache_bytes), 1024, 17179869184LL },
};
#undef O
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Where the FIDO Alliance's MDS root goes (docs/webauthn.md says how to get it). */
#define DEFAULT_MDS_ROOT "/etc/authd/fido-mds-root.pem"

struct parse {
	struct conf *c;
	char err[512];          /* first error, without file:line */
	unsigned char seen[N_KEYS];
	int failed;
};

static void
perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

static char **
str_at(struct conf *c, size_t off)
{
	return (char **)((char *)c + off);
}

char *
conf_path(const struct conf *c, const char *p)
{
	char *out;
	size_t n;

	if (p == NULL)
		return NULL;
	if (p[0] == '/' || c->dir == NULL)
		return strdup(p);
	n = strlen(c->dir) + 1 + strlen(p) + 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	snprintf(out, n, "%s/%s", c->dir, p);
	return out;
}

static int
parse_ll(const char *v, long long *out)
{
	char *end;
	long long x;

	if (*v == '\0')
		return -1;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v)
		return -1;
	*out = x;
	return 0;
}

/* "host:port" or "[v6]:port" with a numeric port; the host is resolved at bind. */
static int
listen_valid(const char *s)
{
	const char *colon;
	long long port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char host[64];
		unsigned char a6[16];

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return 0;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, host, a6) != 1)
			return 0;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return 0;
	}
	if (parse_ll(colon + 1, &port) != 0 || port < 0 || port > 65535)
		return 0;
	return 1;
}

static int
proxy_valid(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* [branding]: text without control characters, at most 256 bytes; links that
 * are https:// (or tel: for the contact); static file names without a path. */
static int
brand_text_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 256 || !utf8_valid(v, n))
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

static int
brand_check(const struct conf *c, const char *path, char *err, size_t errsz)
{
	const struct {
		const char *name, *v;
		int kind; /* 0 text, 1 https URL, 2 https or tel URL, 3 static file name */
	} f[] = {
		{ "name", c->brand_name, 0 },
		{ "name_en", c->brand_name_en, 0 },
		{ "contact", c->brand_contact, 0 },
		{ "privacy_url", c->brand_privacy_url, 1 },
		{ "security_url", c->brand_security_url, 1 },
		{ "accessibility_url", c->brand_accessibility_url, 1 },
		{ "contact_url", c->brand_contact_url, 2 },
		{ "logo", c->brand_logo, 3 },
		{ "stylesheet", c->brand_stylesheet, 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = f[i].v;
		int ok;

		if (v == NULL)
			continue;
		ok = brand_text_ok(v) && strpbrk(v, "\"<>") == NULL;
		if (f[i].kind == 1)
			ok =
			    ok && strncmp(v, "https://", 8) == 0 && v[8] != '\0' && !strchr(v, ' ');
		else if (f[i].kind == 2)
			ok = ok &&
			    ((strncmp(v, "https://", 8) == 0 && v[8] != '\0') ||
			        (strncmp(v, "tel:", 4) == 0 && v[4] != '\0')) &&
			    !strchr(v, ' ');
		else if (f[i].kind == 3)
			ok = ok && strchr(v, '/') == NULL && v[0] != '.';
		if (!ok) {
			snprintf(err, errsz, "%s: [branding] %s = \"%s\": %s", path, f[i].name, v,
			    f[i].kind == 0
			        ? "1-256 bytes of text without control characters or <>\""
			        : f[i].kind == 1 ? "must be an https:// URL"
			        : f[i].kind == 2
			        ? "must be an https:// or tel: URL"
			        : "must name a file of the [ui] static folder (no path)");
			return -1;
		}
	}
	return 0;
}

/* Splits a comma list into the array, trimming blanks. */
static int
add_list(struct parse *p, const char *name, const char *v, char **arr, int *n, int max,
    int (*valid)(const char *))
{
	char *copy = strdup(v), *save = NULL, *tok;
	int rc = 0;

	if (copy == NULL) {
		perr(p, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *e;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*tok == '\0')
			continue;
		if (!valid(tok)) {
			perr(p, "%s: invalid value \"%s\"", name, tok);
			rc = -1;
			break;
		}
		if (*n >= max) {
			perr(p, "%s: more than %d entries", name, max);
			rc = -1;
			break;
		}
		if ((arr[*n] = strdup(tok)) == NULL) {
			perr(p, "out of memory");
			rc = -1;
			break;
		}
		(*n)++;
	}
	free(copy);
	return rc;
}

static int
set_str(struct parse *p, char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL) {
		perr(p, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct conf *c = p->c;
	const struct key *k = NULL;
	int sect_known = 0;
	long long x;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		sect_known = 1;
		if (strcmp(keys[i].name, name) == 0) {
			k = &keys[i];
			break;
		}
	}
	if (!sect_known) {
		perr(p, "unknown section [%s] (key \"%s\")", section, name);
		return 0;
	}
	if (k == NULL) {
		perr(p, "unknown key \"%s\" in [%s]", name, section);
		return 0;
	}
	/* Lists accumulate; any other key given twice is almost always a mistake
	 * (which one wins?), so it is refused. */
	if (k->kind != K_LISTEN && k->kind != K_PROXY && k->kind != K_CIDR && p->seen[i]) {
		perr(p, "key \"%s\" in [%s] given twice", name, section);
		return 0;
	}
	p->seen[i] = 1;

	switch (k->kind) {
	case K_STR:
		return set_str(p, str_at(c, k->off), value) == 0;
	case K_PATH:
		if (*value == '\0') {
			perr(p, "%s: empty path", name);
			return 0;
		}
		return set_str(p, str_at(c, k->off), value) == 0;
	case K_LISTEN:
		return add_list(p, name, value, c->listen, &c->n_listen, CONF_MAX_LISTEN,
		    listen_valid) == 0;
	case K_PROXY:
		return add_list(p, name, value, c->trusted_proxies, &c->n_trusted_proxies,
		    CONF_MAX_PROXIES, proxy_valid) == 0;
	case K_CIDR:
		return add_list(p, name, value, c->metrics_allow, &c->n_metrics_allow,
		           CONF_MAX_METRICS_ALLOW, cidr_valid) == 0;
	case K_INT:
	case K_SIZE:
	case K_ULONG:
		if (parse_ll(value, &x) != 0) {
			perr(p, "%s: \"%s\" is not a number", name, value);
			return 0;
		}
		if (x < k->min || x > k->max) {
			perr(p, "%s: %lld is out of range (%lld..%lld)", name, x, k->min, k->max);
			return 0;
		}
		if (k->kind == K_INT)
			*(int *)((char *)c + k->off) = (int)x;
		else if (k->kind == K_SIZE)
			*(size_t *)((char *)c + k->off) = (size_t)x;
		else
			*(unsigned long *)((char *)c + k->off) = (unsigned long)x;
		return 1;
	case K_BOOL:
		if (!strcasecmp(value, "1") || !strcasecmp(value, "yes") || !strcasecmp(value, "true"))
			*(int *)((char *)c + k->off) = 1;
		else if (!strcasecmp(value, "0") || !strcasecmp(value, "no") || !strcasecmp(value, "false"))
			*(int *)((char *)c + k->off) = 0;
		else {
			perr(p, "%s: \"%s\" is not a boolean (yes/no)", name, value);
			return 0;
		}
		return 1;
	case K_LEVEL: {
		static const char *const names[] = { "error", "warn", "info", "debug" };

		for (i = 0; i < 4; i++)
			if (!strcasecmp(value, names[i]) || (value[0] == (char)('0' + i) && !value[1])) {
				*(int *)((char *)c + k->off) = (int)i;
				return 1;
			}
		perr(p, "%s: \"%s\" is not one of error, warn, info, debug", name, value);
		return 0;
	}
	case K_ALG:
		if (strcmp(value, "ES256") && strcmp(value, "RS256") && strcmp(value, "EdDSA")) {
			perr(p, "%s: \"%s\" is not one of ES256, RS256, EdDSA", name, value);
			return 0;
		}
		return set_str(p, str_at(c, k->off), value) == 0;
	case K_LANG:
		/* A tag of the form of the catalogues' file names; whether one
		 * exists is checked once [ui] i18n is known (lang_check). */
		if (strlen(value) > 35 || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-") != strlen(value) || value[0] == '-' || value[0] == '\0') {
			perr(p, "%s: \"%s\" is not a language tag such as zh-TW or en", name, value);
			return 0;
		}
		return set_str(p, str_at(c, k->off), value) == 0;
	}
	return 0;
}

static int
defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 0;
	c->workers = 0;
	c->worker_queue_per_source = 16;
	c->worker_queue_per_account = 4;
	c->worker_queue_max = 256;
	c->max_header_bytes = 8192;
	c->max_body_bytes = 65536;
	c->read_timeout_s = 10;
	c->max_connections = 4096;
	c->store_map_mb = 1024;
	c->store_pool = 8;
	c->store_deadline_ms = 5000;
	c->access_ttl = 300;
	c->id_ttl = 300;
	c->refresh_ttl = 2592000;
	c->code_ttl = 60;
	c->login_ttl = 600;
	c->session_ttl = 43200;
	c->session_idle = 1800;
	c->leeway = 30;
	c->client_rate = 50;
	c->client_burst = 100;
	c->argon2_memory_kib = 19456;
	c->argon2_ops = 2;
	c->min_length = 8;
	c->max_length = 128;
	c->account_max_failures = 5;
	c->account_base_delay_s = 60;
	c->account_lockout_s = 900;
	c->account_window_s = 86400;
	c->account_soft_failures = 100;
	c->account_soft_interval_s = 60;
	c->known_address_days = 30;
	c->code_max_failures = 5;
	c->code_base_delay_s = 30;
	c->code_max_delay_s = 900;
	c->login_max_attempts = 5;
	c->address_free_failures = 10;
	c->address_base_delay_ms = 1000;
	c->address_max_delay_s = 900;
	c->address_window_s = 3600;
	c->ipv4_prefix = 32;
	c->ipv6_prefix = 64;
	c->lease_s = 30;
	c->device_code_max_failures = 10;
	c->device_code_window_s = 600;
	c->log_level = 2;
	c->audit_retention_days = 200;
	c->aal2_max_s = 43200;
	c->aal2_idle_s = 1800;
	c->aal3_max_s = 43200;
	c->aal3_idle_s = 900;
	c->totp_window = 1;
	c->webauthn_timeout_ms = 120000;
	c->x509_ocsp = 1;
	c->x509_crl = 1;
	c->x509_ocsp_timeout_ms = 3000;
	c->x509_crl_max_bytes = 33554432;
	c->x509_crl_timeout_ms = 30000;
	c->x509_crl_cache_entries = 1024;
	c->x509_crl_cache_bytes = 268435456;
	if ((c->webauthn_rp_name = strdup("City SSO")) == NULL ||
	    (c->webauthn_uv = strdup("preferred")) == NULL ||
	    (c->webauthn_attestation = strdup("direct")) == NULL ||
	    (c->x509_unbound = strdup("refuse")) == NULL ||
	    (c->webauthn_synced_passkeys = strdup("aal2")) == NULL ||
	    (c->x509_tls_listen = strdup("")) == NULL ||
	    (c->x509_proxy_header = strdup("")) == NULL ||
	    (c->x509_tls_max_version = strdup("1.3")) == NULL ||
	    /* MOICA's certificate policy, GPKI class 3 (the MOICA FAQ) */
	    (c->x509_policy_oids = strdup("2.16.886.101.0.3.3")) == NULL ||
	    (c->x509_local_sign_origin = strdup("http://localhost:61161")) == NULL)
		return -1;
	if ((c->acr_aal1 = strdup("aal1")) == NULL || (c->acr_aal2 = strdup("aal2")) == NULL ||
	    (c->acr_aal3 = strdup("aal3")) == NULL || (c->totp_issuer = strdup("City SSO")) == NULL)
		return -1;
	if ((c->signing_alg = strdup("ES256")) == NULL ||
	    (c->default_lang = strdup("zh-TW")) == NULL ||
	    (c->user = strdup("")) == NULL)
		return -1;
	return 0;
}

static int
loopback_host(const char *h, size_t n)
{
	return (n == 9 && !strncasecmp(h, "localhost", 9)) ||
	    (n == 9 && !strncmp(h, "127.0.0.1", 9)) ||
	    (n == 5 && !strncmp(h, "[::1]", 5));
}

/* https://host[:port][/path], no trailing slash, no query, fragment or userinfo
 * (OIDC Discovery §3: the issuer is compared byte for byte by clients).
 * http:// only for loopback hosts (local development). */
static int
issuer_check(const char *iss, char *err, size_t errsz)
{
	const char *host, *end, *hostend;
	size_t i, n = strlen(iss);
	int https;

	if (!strncmp(iss, "https://", 8)) {
		https = 1;
		host = iss + 8;
	} else if (!strncmp(iss, "http://", 7)) {
		https = 0;
		host = iss + 7;
	} else {
		snprintf(err, errsz, "issuer must start with https://");
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)iss[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '@' || ch == '\\') {
			snprintf(err, errsz, "issuer must be a plain URL without query, fragment, "
			    "user info or spaces");
			return -1;
		}
	}
	if (n > 0 && iss[n - 1] == '/') {
		snprintf(err, errsz, "issuer must not end with a slash");
		return -1;
	}
	end = strchr(host, '/');
	if (end == NULL)
		end = host + strlen(host);
	if (end == host) {
		snprintf(err, errsz, "issuer has no host");
		return -1;
	}
	if (host[0] == '[') {
		hostend = memchr(host, ']', (size_t)(end - host));
		if (hostend == NULL) {
			snprintf(err, errsz, "issuer has a bad IPv6 host");
			return -1;
		}
		hostend++;
	} else {
		hostend = memchr(host, ':', (size_t)(end - host));
		if (hostend == NULL)
			hostend = end;
	}
	if (hostend == host) {
		snprintf(err, errsz, "issuer has no host");
		return -1;
	}
	if (hostend < end) {
		long long port;
		char pbuf[8];
		size_t pl = (size_t)(end - hostend - 1);

		if (*hostend != ':' || pl == 0 || pl >= sizeof(pbuf)) {
			snprintf(err, errsz, "issuer has a bad port");
			return -1;
		}
		memcpy(pbuf, hostend + 1, pl);
		pbuf[pl] = '\0';
		if (parse_ll(pbuf, &port) != 0 || port < 1 || port > 65535) {
			snprintf(err, errsz, "issuer has a bad port");
			return -1;
		}
	}
	if (!https && !loopback_host(host, (size_t)(hostend - host))) {
		snprintf(err, errsz, "issuer must use https:// (http:// is allowed only for "
		    "localhost, 127.0.0.1 and [::1])");
		return -1;
	}
	return 0;
}

/* [ui] default_lang names a catalogue of the i18n folder (datafile.h finds
 * it as the page layer will): LANG.json must be there. 0, or -1 with err
 * listing the languages there are. authd checks it again when it loads the
 * pages (authd/web/pages.c). */
static int
lang_check(const struct conf *c, char *err, size_t errsz)
{
	char *dir = datafile_path(c->ui_i18n, "i18n"), *file = NULL, have[256] = "";
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = -1;

	if (dir == NULL || asprintf(&file, "%s/%s.json", dir, c->default_lang) < 0) {
		file = NULL;
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	/* No folder at all: nothing to check here (authctl needs none; authd's
	 * page layer names the missing folder when it starts). */
	if ((stat(file, &st) == 0 && S_ISREG(st.st_mode)) || stat(dir, &st) != 0) {
		rc = 0;
		goto out;
	}
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name);

			if (n > 5 && e->d_name[0] != '.' && strcmp(e->d_name + n - 5, ".json") == 0 &&
			    strlen(have) + n < sizeof(have) - 2)
				snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%.*s",
				    have[0] ? ", " : "", (int)(n - 5), e->d_name);
		}
		closedir(d);
	}
	snprintf(err, errsz, "%s: [ui] default_lang: no catalogue %s.json in %s (languages: %s)",
	    c->path, c->default_lang, dir, have[0] ? have : "none");
out:
	free(file);
	free(dir);
	return rc;
}

static int
resolve(struct conf *c, char **p)
{
	char *abs;

	if (*p == NULL || (*p)[0] == '/')
		return 0;
	if ((abs = conf_path(c, *p)) == NULL)
		return -1;
	free(*p);
	*p = abs;
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errsz)
{
	struct parse p;
	char *slash, dirbuf[PATH_MAX];
	FILE *f;
	int line;

	if (defaults(c) != 0) {
		snprintf(err, errsz, "out of memory");
		conf_free(c);
		return -1;
	}
	if ((c->path = strdup(path)) == NULL)
		goto oom;
	if (realpath(path, dirbuf) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	slash = strrchr(dirbuf, '/');
	if (slash == dirbuf)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if ((c->dir = strdup(dirbuf)) == NULL)
		goto oom;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	memset(&p, 0, sizeof(p));
	p.c = c;
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line != 0) {
		if (line < 0)
			snprintf(err, errsz, "%s: cannot read", path);
		else if (p.failed)
			snprintf(err, errsz, "%s:%d: %s", path, line, p.err);
		else
			snprintf(err, errsz, "%s:%d: syntax error", path, line);
		goto fail;
	}

	if (c->issuer == NULL) {
		snprintf(err, errsz, "%s: [server] issuer is required", path);
		goto fail;
	}
	{
		char why[160];

		if (issuer_check(c->issuer, why, sizeof(why)) != 0) {
			snprintf(err, errsz, "%s: [server] issuer \"%s\": %s", path, c->issuer, why);
			goto fail;
		}
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		snprintf(err, errsz, "%s: [server] tls_cert and tls_key must be set together", path);
		goto fail;
	}
	c->tls = c->tls_cert != NULL;
	if (c->audit_retention_days < 183) {
		snprintf(err, errsz, "%s: [audit] retention_days = %d is too short: the Cyber "
		    "Security Management Act (資通安全管理法) requires keeping logs at least "
		    "6 months (183 days)", path, c->audit_retention_days);
		goto fail;
	}
	if (c->session_idle > c->session_ttl) {
		snprintf(err, errsz, "%s: [tokens] session_idle must not exceed session_ttl", path);
		goto fail;
	}
	if (c->min_length > c->max_length) {
		snprintf(err, errsz, "%s: [password] min_length must not exceed max_length", path);
		goto fail;
	}
	if (c->store_backend == NULL && (c->store_backend = strdup("lmdb")) == NULL)
		goto oom;
	if (strcmp(c->store_backend, "lmdb") != 0 && strcmp(c->store_backend, "postgresql") != 0) {
		snprintf(err, errsz, "%s: [store] backend must be lmdb or postgresql", path);
		goto fail;
	}
	if ((strcmp(c->store_backend, "postgresql") == 0) != (c->store_conninfo != NULL)) {
		snprintf(err, errsz,
		    "%s: [store] conninfo is needed with backend = postgresql, "
		    "and only then",
		    path);
		goto fail;
	}
	/* Some cards cannot sign RSA-PSS, which TLS 1.3 requires of a client
	 * certificate: the card listener alone may stop at TLS 1.2. */
	if (strcmp(c->x509_tls_max_version, "1.2") != 0 &&
	    strcmp(c->x509_tls_max_version, "1.3") != 0) {
		snprintf(err, errsz, "%s: [x509] tls_max_version must be 1.2 or 1.3", path);
		goto fail;
	}
	if (c->n_listen == 0 && (c->listen[c->n_listen++] = strdup("127.0.0.1:8443")) == NULL)
		goto oom;
	if (c->store_path == NULL && (c->store_path = strdup("data")) == NULL)
		goto oom;
	if (c->totp_key_file == NULL && (c->totp_key_file = strdup("totp.key")) == NULL)
		goto oom;
	if (c->x509_crl_cache == NULL && (c->x509_crl_cache = strdup("crl-cache")) == NULL)
		goto oom;
	if (c->webauthn_mds_root == NULL && (c->webauthn_mds_root = strdup(DEFAULT_MDS_ROOT)) == NULL)
		goto oom;
	if (resolve(c, &c->tls_cert) || resolve(c, &c->tls_key) ||
	    resolve(c, &c->store_path) || resolve(c, &c->breached_list) ||
	    resolve(c, &c->totp_key_file) || resolve(c, &c->x509_crl_cache) ||
	    (c->x509_trust_anchors && resolve(c, &c->x509_trust_anchors)) ||
	    (c->x509_intermediates && resolve(c, &c->x509_intermediates)) ||
	    (c->webauthn_attestation_roots && resolve(c, &c->webauthn_attestation_roots)) ||
	    (c->webauthn_mds_blob && resolve(c, &c->webauthn_mds_blob)) ||
	    resolve(c, &c->webauthn_mds_root) ||
	    (c->webauthn_mds_crls && resolve(c, &c->webauthn_mds_crls)) ||
	    (c->ui_templates && resolve(c, &c->ui_templates)) ||
	    (c->ui_i18n && resolve(c, &c->ui_i18n)) ||
	    (c->ui_static && resolve(c, &c->ui_static)))
		goto oom;
	if (lang_check(c, err, errsz) != 0 || brand_check(c, path, err, errsz) != 0)
		goto fail;
	return 0;
oom:
	snprintf(err, errsz, "out of memory");
fail:
	conf_free(c);
	return -1;
}

void
conf_free(struct conf *c)
{
	int i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	free(c->issuer);
	for (i = 0; i < c->n_listen; i++)
		free(c->listen[i]);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->user);
	for (i = 0; i < c->n_trusted_proxies; i++)
		free(c->trusted_proxies[i]);
	for (i = 0; i < c->n_metrics_allow; i++)
		free(c->metrics_allow[i]);
	free(c->store_path);
	free(c->store_backend);
	free_secret_str(c->store_conninfo); /* it may hold a password */
	free(c->signing_alg);
	free(c->breached_list);
	free(c->default_lang);
	free(c->ui_templates);
	free(c->ui_i18n);
	free(c->ui_static);
	free(c->acr_aal1);
	free(c->acr_aal2);
	free(c->acr_aal3);
	free(c->totp_key_file);
	free(c->totp_issuer);
	free(c->webauthn_rp_id);
	free(c->webauthn_rp_name);
	free(c->webauthn_origins);
	free(c->webauthn_uv);
	free(c->webauthn_attestation);
	free(c->webauthn_attestation_roots);
	free(c->webauthn_mds_blob);
	free(c->webauthn_mds_root);
	free(c->webauthn_mds_crls);
	free(c->webauthn_hardware_aaguids);
	free(c->webauthn_denied_aaguids);
	free(c->webauthn_synced_passkeys);
	free(c->x509_trust_anchors);
	free(c->x509_intermediates);
	free(c->x509_policy_oids);
	free(c->x509_crl_cache);
	free(c->brand_name);
	free(c->brand_name_en);
	free(c->brand_logo);
	free(c->brand_stylesheet);
	free(c->brand_privacy_url);
	free(c->brand_security_url);
	free(c->brand_accessibility_url);
	free(c->brand_contact);
	free(c->brand_contact_url);
	free(c->x509_unbound);
	free(c->x509_tls_listen);
	free(c->x509_proxy_header);
	free(c->x509_tls_max_version);
	free(c->x509_local_sign_origin);
	memset(c, 0, sizeof(*c));
}

/* pam/pam_authd.c — pam_authd.so: Linux hosts accept authd identities.
 *
 * auth     mode=password: "Password: " (then "One-time code: " when the host's
 *          level needs it) sent to authd's token endpoint by libauthd-client,
 *          the host authenticating as a confidential client.
 *          mode=device: RFC 8628; the person approves in a browser.
 *          Either way the access token (aud = this host) and the ID token are
 *          verified, and the ID token's preferred_username must be PAM_USER.
 * account  group=G: the verified "groups" claim from auth must hold G.
 *
 * Trust: the config file and the secret file must belong to root and not be
 * writable (config) or readable (secret) by anyone else, since whoever can
 * change them decides who logs in. Nothing secret (password, code, token,
 * client secret) is ever logged, and every one is wiped after use.
 * Bounds: every call to authd carries a timeout; a step never talks to authd
 * longer than the configured timeout (time spent by the person at a prompt is
 * not counted; the device wait is the whole timeout). */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authd/client.h"
#include "../lib/util.h"

#define PAM_AUTHD_DATA "pam_authd_claims"
#define DEFAULT_CONFIG "/etc/authd/pam.conf"
#define DEFAULT_SCOPE "openid profile groups"
#define DEFAULT_TIMEOUT_MS 10000         /* password mode: per step */
#define DEFAULT_DEVICE_TIMEOUT_MS 180000 /* device mode: the whole wait */
#define MAX_TIMEOUT_MS 600000
#define CONF_MAX_BYTES 65536
#define SECRET_MAX 1024
#define PASSWORD_MAX 4096
#define OTP_MAX 64
#define USER_MAX 64
#define GROUP_MAX 64
#define FIELD_MAX 1024

enum pam_authd_mode { MODE_PASSWORD, MODE_DEVICE };

struct pam_authd_conf {
	/* from the arguments */
	const char *config_path;
	enum pam_authd_mode mode;
	char group[GROUP_MAX + 1];
	int timeout_arg_ms;      /* 0: not given */
	int debug, use_first_pass, try_first_pass;
	/* from the config file */
	char issuer[FIELD_MAX + 1];
	char client_id[FIELD_MAX + 1];
	char secret_file[PATH_MAX];
	char ca_file[PATH_MAX];
	char scope[FIELD_MAX + 1];
	int timeout_ms;          /* 0: not given */
	int bad_line;            /* ini: first refused line */
	char bad_key[64];
};

/* Who is logging in, for the syslog lines: PAM_USER and PAM_RHOST (printable
 * ASCII only, bounded), and whether authd has answered in this attempt. */
struct who {
	const char *user;
	char rhost[256];
	int answered;            /* authd gave an answer earlier in this attempt */
};

/* What auth leaves for account: the verified access-token claims. */
struct pam_authd_state {
	char user[USER_MAX + 1];
	authd_claims_t *claims;
};

/* ---- arguments and configuration ---- */

static int
copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap);

	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* "1".."600" seconds, or 1..600000 ms: -1 when not a number in range. */
static int
parse_bounded(const char *s, long max)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	return (int)v;
}

/* Group names as authd accepts them: 1..64 of [A-Za-z0-9._-]. */
static int
group_name_ok(const char *g)
{
	size_t i, n = strnlen(g, GROUP_MAX + 1);

	if (n == 0 || n > GROUP_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)g[i]) && g[i] != '.' && g[i] != '_' && g[i] != '-')
			return 0;
	return 1;
}

/* Usernames as authd accepts them: 1..64 of [A-Za-z0-9._@-]. Anything else
 * cannot be an authd account, so it is never sent. */
static int
user_name_ok(const char *u)
{
	size_t i, n;

	if (u == NULL || (n = strnlen(u, USER_MAX + 1)) == 0 || n > USER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) && u[i] != '.' && u[i] != '_' && u[i] != '-' &&
		    u[i] != '@')
			return 0;
	return 1;
}

static int
parse_args(pam_handle_t *ph, int argc, const char **argv, struct pam_authd_conf *cf)
{
	int i, v;

	memset(cf, 0, sizeof(*cf));
	cf->config_path = DEFAULT_CONFIG;
	cf->mode = MODE_PASSWORD;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "config=", 7) == 0 && a[7] == '/') {
			cf->config_path = a + 7;
		} else if (strcmp(a, "mode=password") == 0) {
			cf->mode = MODE_PASSWORD;
		} else if (strcmp(a, "mode=device") == 0) {
			cf->mode = MODE_DEVICE;
		} else if (strncmp(a, "group=", 6) == 0 && group_name_ok(a + 6)) {
			memcpy(cf->group, a + 6, strlen(a + 6) + 1);
		} else if (strncmp(a, "timeout=", 8) == 0 &&
		    (v = parse_bounded(a + 8, MAX_TIMEOUT_MS / 1000)) > 0) {
			cf->timeout_arg_ms = v * 1000;
		} else if (strcmp(a, "debug") == 0) {
			cf->debug = 1;
		} else if (strcmp(a, "use_first_pass") == 0) {
			cf->use_first_pass = 1;
		} else if (strcmp(a, "try_first_pass") == 0) {
			cf->try_first_pass = 1;
		} else {
			/* An argument we do not understand may be a typo of group=:
			 * refusing is safer than ignoring it. */
			pam_syslog(ph, LOG_ERR, "bad module argument: %.64s", a);
			return -1;
		}
	}
	return 0;
}

static int
conf_line(void *user, const char *section, const char *name, const char *value)
{
	struct pam_authd_conf *cf = user;
	int rc = -1, v;

	if (*section != '\0' && strcmp(section, "authd") != 0)
		rc = -1;
	else if (strcmp(name, "issuer") == 0)
		rc = copy_field(cf->issuer, sizeof(cf->issuer), value);
	else if (strcmp(name, "client_id") == 0)
		rc = copy_field(cf->client_id, sizeof(cf->client_id), value);
	else if (strcmp(name, "secret_file") == 0)
		rc = *value == '/' ? copy_field(cf->secret_file, sizeof(cf->secret_file), value) : -1;
	else if (strcmp(name, "ca_file") == 0)
		rc = *value == '/' ? copy_field(cf->ca_file, sizeof(cf->ca_file), value) : -1;
	else if (strcmp(name, "scope") == 0)
		rc = copy_field(cf->scope, sizeof(cf->scope), value);
	else if (strcmp(name, "timeout_ms") == 0 && (v = parse_bounded(value, MAX_TIMEOUT_MS)) > 0)
		cf->timeout_ms = v, rc = 0;
	if (rc != 0 && cf->bad_key[0] == '\0')
		snprintf(cf->bad_key, sizeof(cf->bad_key), "%s", name);
	return rc == 0;
}

/* Opens a file only root may have written: regular, owned by uid 0, not a
 * symlink, not writable by group or others; when secret, not readable by them
 * either (mode 0600 or 0400). Returns the fd or -1 with why set. */
static int
open_trusted(const char *path, int secret, off_t max, const char **why)
{
	struct stat st;
	mode_t m;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto bad;
	}
	m = st.st_mode & 07777;
	if (st.st_uid != 0) {
		*why = "not owned by root";
		goto bad;
	}
	if (secret ? (m != 0600 && m != 0400) : (m & 022) != 0) {
		*why = secret ? "mode must be 0600 or 0400" : "writable by group or others";
		goto bad;
	}
	if (st.st_size > max) {
		*why = "too large";
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

static int
load_config(pam_handle_t *ph, struct pam_authd_conf *cf)
{
	const char *why = NULL;
	FILE *f;
	int fd, rc;

	if ((fd = open_trusted(cf->config_path, 0, CONF_MAX_BYTES, &why)) < 0) {
		pam_syslog(ph, LOG_ERR, "config %s refused: %s", cf->config_path, why);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		pam_syslog(ph, LOG_ERR, "config %s: %s", cf->config_path, strerror(errno));
		return -1;
	}
	rc = ini_parse_file(f, conf_line, cf);
	fclose(f);
	if (rc != 0) {
		pam_syslog(ph, LOG_ERR, "config %s: line %d refused (%s)", cf->config_path, rc,
		    cf->bad_key[0] ? cf->bad_key : "syntax");
		return -1;
	}
	if (cf->issuer[0] == '\0' || cf->client_id[0] == '\0' || cf->secret_file[0] == '\0') {
		pam_syslog(ph, LOG_ERR, "config %s: issuer, client_id and secret_file are required",
		    cf->config_path);
		return -1;
	}
	if (cf->scope[0] == '\0')
		memcpy(cf->scope, DEFAULT_SCOPE, sizeof(DEFAULT_SCOPE));
	return 0;
}

/* The per-step network budget: the argument wins over the file. */
static int
timeout_of(const struct pam_authd_conf *cf)
{
	if (cf->timeout_arg_ms > 0)
		return cf->timeout_arg_ms;
	if (cf->timeout_ms > 0)
		return cf->timeout_ms;
	return cf->mode == MODE_DEVICE ? DEFAULT_DEVICE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS;
}

/* Reads the client secret through the fd that was checked, so the file cannot
 * be swapped between the check and the read. */
static int
load_secret(pam_handle_t *ph, const struct pam_authd_conf *cf, authd_client_t *c)
{
	char buf[SECRET_MAX + 2];
	const char *why = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if ((fd = open_trusted(cf->secret_file, 1, SECRET_MAX + 1, &why)) < 0) {
		pam_syslog(ph, LOG_ERR, "secret file %s refused: %s", cf->secret_file, why);
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	rc = buf[0] != '\0' && authd_client_set_client_secret(c, buf) == AUTHD_OK ? 0 : -1;
	wipe(buf, sizeof(buf));
	if (rc != 0)
		pam_syslog(ph, LOG_ERR, "secret file %s: no usable secret on its first line",
		    cf->secret_file);
	return rc;
}

static int
client_setup(pam_handle_t *ph, const struct pam_authd_conf *cf, authd_client_t **out)
{
	authd_client_t *c;
	int rc;

	*out = NULL;
	if ((c = authd_client_new()) == NULL)
		return PAM_BUF_ERR;
	if ((rc = authd_client_set_issuer(c, cf->issuer)) != AUTHD_OK ||
	    (rc = authd_client_set_client_id(c, cf->client_id)) != AUTHD_OK ||
	    (cf->ca_file[0] != '\0' && (rc = authd_client_set_ca_file(c, cf->ca_file)) != AUTHD_OK) ||
	    (rc = authd_client_set_timeout_ms(c, timeout_of(cf))) != AUTHD_OK) {
		pam_syslog(ph, LOG_ERR, "config %s: %s", cf->config_path, authd_strerror(rc));
		authd_client_free(&c);
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (load_secret(ph, cf, c) != 0) {
		authd_client_free(&c);
		return PAM_AUTHINFO_UNAVAIL;
	}
	*out = c;
	return PAM_SUCCESS;
}

/* ---- time ---- */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Before a library call that may make up to `requests` HTTP requests (e.g.
 * token then JWKS), shares the time left until the step's deadline between
 * them, so the step as a whole ends by its deadline. */
static int
budget(authd_client_t *c, uint64_t deadline, int requests)
{
	uint64_t now = mono_ms(), ms;

	if (now >= deadline)
		return AUTHD_ERR_TIMEOUT;
	ms = (deadline - now) / (uint64_t)requests;
	return authd_client_set_timeout_ms(c, ms < 1 ? 1 : (int)ms);
}

/* ---- results ---- */

static void
who_init(pam_handle_t *ph, const char *user, struct who *w)
{
	const void *item = NULL;
	const char *h;
	size_t i;

	memset(w, 0, sizeof(*w));
	w->user = user;
	if (pam_get_item(ph, PAM_RHOST, &item) != PAM_SUCCESS || item == NULL)
		return;
	/* Set by the application (sshd: the client's address); bounded and made
	 * printable so that it cannot forge a log line. */
	h = item;
	for (i = 0; h[i] != '\0' && i < sizeof(w->rhost) - 1; i++)
		w->rhost[i] = h[i] > 0x20 && h[i] < 0x7f ? h[i] : '?';
	w->rhost[i] = '\0';
}

/* One place maps library results to PAM codes, with a syslog line that says
 * why (never a secret) and names user and rhost, as pam_unix's lines do.
 *
 * The rule that keeps the fallback stack of docs/pam.md safe: only "authd gave
 * no answer" (transport failure, timeout, 5xx) is PAM_AUTHINFO_UNAVAIL, which
 * such a stack reads as "try the local password". Every answer authd gave is
 * a refusal, PAM_AUTH_ERR (PAM_MAXTRIES when throttled), whatever its shape:
 * an error code this module does not know, a configuration problem it names at
 * error level, a success it cannot use. And once authd has answered in this
 * attempt (the password was right, a code is asked for; the device code was
 * given), a later failure to reach it is a refusal too: otherwise whoever can
 * slow authd down between the two steps would skip the second factor. */
static int
pam_result(pam_handle_t *ph, const struct who *w, const char *step, int rc, int retry_after)
{
	switch (rc) {
	case AUTHD_OK:
		return PAM_SUCCESS;
	case AUTHD_ERR_DENIED:
		pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: %s refused",
		    w->user, w->rhost, step);
		return PAM_AUTH_ERR;
	case AUTHD_ERR_THROTTLED:
		pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: too many "
		    "attempts; authd asks to retry after %d s", w->user, w->rhost, retry_after);
		return PAM_MAXTRIES;
	case AUTHD_ERR_UNMET:
		pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: the account "
		    "cannot reach the level this host requires (e.g. no one-time code enrolled)",
		    w->user, w->rhost);
		return PAM_AUTH_ERR;
	case AUTHD_ERR_NOMEM:
		return PAM_BUF_ERR;
	case AUTHD_ERR_UNAVAILABLE:
	case AUTHD_ERR_TIMEOUT:
		if (w->answered) {
			pam_syslog(ph, LOG_ERR, "authentication failure for %s rhost=%s: authd "
			    "answered the first step but not the %s (%s); refused, not unavailable",
			    w->user, w->rhost, step, authd_strerror(rc));
			return PAM_AUTH_ERR;
		}
		pam_syslog(ph, LOG_ERR, "authd unavailable during %s for %s rhost=%s: %s", step,
		    w->user, w->rhost, authd_strerror(rc));
		return PAM_AUTHINFO_UNAVAIL;
	case AUTHD_ERR_CONFIG:
	case AUTHD_ERR_CLIENT_AUTH:
		pam_syslog(ph, LOG_ERR, "authentication failure for %s rhost=%s: authd refused this "
		    "host's client credentials during %s (%s): check client_id, secret_file and "
		    "the client's grants in authd", w->user, w->rhost, step, authd_strerror(rc));
		return PAM_AUTH_ERR;
	case AUTHD_ERR_REFUSED:
	case AUTHD_ERR_PROTOCOL:
		pam_syslog(ph, LOG_ERR, "authentication failure for %s rhost=%s: authd refused the "
		    "%s with an answer this module does not expect (%s)", w->user, w->rhost, step,
		    authd_strerror(rc));
		return PAM_AUTH_ERR;
	default:
		/* Tokens that do not verify, bad arguments: fail closed. */
		pam_syslog(ph, LOG_ERR, "authentication failure for %s rhost=%s during %s: %s",
		    w->user, w->rhost, step, authd_strerror(rc));
		return PAM_AUTH_ERR;
	}
}

static void
state_cleanup(pam_handle_t *ph, void *data, int error_status)
{
	struct pam_authd_state *st = data;

	(void)ph;
	(void)error_status;
	if (st == NULL)
		return;
	authd_claims_free(&st->claims);
	wipe(st, sizeof(*st));
	free(st);
}

/* Checks that the tokens name PAM_USER and keeps their claims for account.
 * The access token is verified for this host (aud = client_id); the user
 * name comes from the ID token (scope openid profile), whose sub must be the
 * access token's. */
static int
accept_tokens(pam_handle_t *ph, const struct pam_authd_conf *cf, authd_client_t *c,
    uint64_t deadline, const struct who *w, const authd_tokens_t *tok,
    const authd_claims_t *verified_at)
{
	authd_claims_t *at = NULL, *id = NULL;
	struct pam_authd_state *st = NULL;
	const char *sub_at, *sub_id, *pu, *idt, *user = w->user;
	int rc;

	/* Keys are cached by now; a refetch for an unknown kid is one request. */
	if ((rc = budget(c, deadline, 1)) != AUTHD_OK)
		return pam_result(ph, w, "token verification", rc, 0);
	if (verified_at == NULL) {
		rc = authd_client_verify_access_token(c, authd_tokens_access_token(tok), cf->client_id,
		    &at);
		if (rc != AUTHD_OK)
			return pam_result(ph, w, "access token verification", rc, 0);
	}
	if ((idt = authd_tokens_id_token(tok)) == NULL) {
		pam_syslog(ph, LOG_ERR, "no ID token for %s: scope must include openid and profile",
		    user);
		rc = PAM_AUTH_ERR;
		goto out;
	}
	if ((rc = authd_client_verify_id_token(c, idt, NULL, NULL, &id)) != AUTHD_OK) {
		rc = pam_result(ph, w, "ID token verification", rc, 0);
		goto out;
	}
	sub_at = authd_claims_string(verified_at != NULL ? verified_at : at, "sub");
	sub_id = authd_claims_string(id, "sub");
	pu = authd_claims_string(id, "preferred_username");
	if (pu == NULL) {
		pam_syslog(ph, LOG_ERR, "no preferred_username for %s: scope must include profile",
		    user);
		rc = PAM_AUTH_ERR;
		goto out;
	}
	if (sub_at == NULL || sub_id == NULL || strcmp(sub_at, sub_id) != 0 ||
	    strcasecmp(pu, user) != 0) {
		/* Someone approved (or logged in) as another account. */
		pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: authd vouched "
		    "for %.64s instead", user, w->rhost, pu);
		rc = PAM_AUTH_ERR;
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	memcpy(st->user, user, strlen(user) + 1);
	if (verified_at != NULL) {
		/* The login owns its claims; account needs its own copy. */
		if ((rc = authd_client_verify_access_token(c, authd_tokens_access_token(tok),
		    cf->client_id, &st->claims)) != AUTHD_OK) {
			rc = pam_result(ph, w, "access token verification", rc, 0);
			goto out;
		}
	} else {
		st->claims = at;
		at = NULL;
	}
	if (pam_set_data(ph, PAM_AUTHD_DATA, st, state_cleanup) != PAM_SUCCESS) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	st = NULL;
	rc = PAM_SUCCESS;
out:
	if (st != NULL)
		state_cleanup(ph, st, 0);
	authd_claims_free(&at);
	authd_claims_free(&id);
	return rc;
}

/* ---- auth ---- */

/* Prompts without echo; *out is malloc'd (wipe and free it) or NULL. */
static int
ask(pam_handle_t *ph, const char *prompt, size_t max, char **out)
{
	char *resp = NULL;
	int rc;

	*out = NULL;
	rc = pam_prompt(ph, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);
	if (rc != PAM_SUCCESS || resp == NULL) {
		free_secret_str(resp);
		return PAM_CONV_ERR;
	}
	if (strnlen(resp, max + 1) > max) {
		free_secret_str(resp);
		return PAM_AUTH_ERR;
	}
	*out = resp;
	return PAM_SUCCESS;
}

static int
auth_password(pam_handle_t *ph, const struct pam_authd_conf *cf, authd_client_t *c,
    struct who *w)
{
	const char *user = w->user;
	const void *item = NULL;
	authd_login_t *login = NULL;
	char *pw = NULL, *otp = NULL;
	const char *use;
	uint64_t deadline;
	int rc, prc;

	if ((cf->use_first_pass || cf->try_first_pass) &&
	    pam_get_item(ph, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL) {
		use = item;
	} else if (cf->use_first_pass) {
		pam_syslog(ph, LOG_ERR, "use_first_pass for %s but no earlier module read a password",
		    user);
		return PAM_AUTH_ERR;
	} else {
		if ((prc = ask(ph, "Password: ", PASSWORD_MAX, &pw)) != PAM_SUCCESS)
			return prc;
		/* Later modules in the stack may reuse it (try_first_pass). */
		pam_set_item(ph, PAM_AUTHTOK, pw);
		use = pw;
	}
	deadline = mono_ms() + (uint64_t)timeout_of(cf);
	/* Discovery, then the token request and the JWKS fetch that verifies it. */
	if ((rc = budget(c, deadline, 1)) == AUTHD_OK &&
	    (rc = authd_client_discover(c)) == AUTHD_OK &&
	    (rc = budget(c, deadline, 2)) == AUTHD_OK)
		rc = authd_client_password_login(c, user, use, cf->scope, &login);
	free_secret_str(pw);
	pw = NULL;
	if (rc == AUTHD_ERR_MFA_REQUIRED) {
		w->answered = 1;
		if (!authd_login_has_mfa_method(login, "otp")) {
			pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: authd asks "
			    "for a second factor this module cannot ask for", user, w->rhost);
			authd_login_free(&login);
			return PAM_AUTH_ERR;
		}
		if ((prc = ask(ph, "One-time code: ", OTP_MAX, &otp)) != PAM_SUCCESS) {
			authd_login_free(&login);
			return prc;
		}
		/* A new step: the person's typing time is not the network's. */
		deadline = mono_ms() + (uint64_t)timeout_of(cf);
		if (otp[0] == '\0')
			rc = AUTHD_ERR_DENIED;
		else if ((rc = budget(c, deadline, 2)) == AUTHD_OK)
			rc = authd_client_otp_login(c, login, otp);
		free_secret_str(otp);
		prc = pam_result(ph, w, "one-time code", rc, authd_login_retry_after(login));
	} else {
		prc = pam_result(ph, w, "password", rc, authd_login_retry_after(login));
	}
	if (prc == PAM_SUCCESS) {
		w->answered = 1;
		prc = accept_tokens(ph, cf, c, deadline, w, authd_login_tokens(login),
		    authd_login_claims(login));
	}
	authd_login_free(&login);
	return prc;
}

static int
auth_device(pam_handle_t *ph, const struct pam_authd_conf *cf, authd_client_t *c,
    struct who *w)
{
	authd_device_t *dev = NULL;
	authd_tokens_t *tok = NULL;
	const char *user = w->user;
	uint64_t deadline = mono_ms() + (uint64_t)timeout_of(cf), left;
	int rc, prc;

	/* Discovery and the device authorization request, naming the account to
	 * be logged in and where the login comes from: authd shows both where the
	 * person approves. A host name that is not one (spaces, controls) is left
	 * out rather than refused. */
	if ((rc = budget(c, deadline, 2)) != AUTHD_OK ||
	    (rc = authd_client_device_start_host(c, cf->scope, user,
	    w->rhost[0] != '\0' && strchr(w->rhost, '?') == NULL ? w->rhost : NULL,
	    &dev)) != AUTHD_OK)
		return pam_result(ph, w, "device authorization", rc, 0);
	w->answered = 1;
	/* Only the address and the code, never a link with the code in it
	 * (verification_uri_complete): the person types the code, so a link sent
	 * by someone else cannot approve this login in one click. */
	rc = pam_info(ph, "Open %s and enter code %s", authd_device_verification_uri(dev),
	    authd_device_user_code(dev));
	/* sshd's keyboard-interactive holds info messages until the next prompt,
	 * so a prompt is what puts the code on the person's screen. Its answer
	 * means nothing: the wait below decides. */
	if (rc == PAM_SUCCESS) {
		char *resp = NULL;

		rc = pam_prompt(ph, PAM_PROMPT_ECHO_ON, &resp, "Press Enter once you have approved: ");
		free_secret_str(resp);
	}
	if (rc != PAM_SUCCESS) {
		authd_device_free(&dev);
		return PAM_CONV_ERR;
	}
	if (cf->debug)
		pam_syslog(ph, LOG_DEBUG, "device code shown to %s; waiting up to %d ms", user,
		    timeout_of(cf));
	/* The whole wait, polls included, ends at the deadline. */
	left = mono_ms();
	left = left < deadline ? deadline - left : 0;
	if (left == 0 || budget(c, deadline, 1) != AUTHD_OK)
		rc = AUTHD_ERR_TIMEOUT;
	else
		rc = authd_client_device_wait(c, dev, (int)left, &tok);
	authd_device_free(&dev);
	if (rc == AUTHD_ERR_TIMEOUT || rc == AUTHD_ERR_EXPIRED) {
		pam_syslog(ph, LOG_NOTICE, "authentication failure for %s rhost=%s: nobody approved "
		    "the device code in time", user, w->rhost);
		return PAM_AUTH_ERR;
	}
	if ((prc = pam_result(ph, w, "device approval", rc, 0)) == PAM_SUCCESS)
		prc = accept_tokens(ph, cf, c, deadline, w, tok, NULL);
	authd_tokens_free(&tok);
	return prc;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	struct pam_authd_conf cf;
	authd_client_t *c = NULL;
	const char *user = NULL;
	struct who w;
	int rc;

	(void)flags;
	/* Claims of an earlier attempt must not outlive this one. */
	pam_set_data(ph, PAM_AUTHD_DATA, NULL, NULL);
	if (parse_args(ph, argc, argv, &cf) != 0)
		return PAM_SERVICE_ERR;
	if ((rc = pam_get_user(ph, &user, NULL)) != PAM_SUCCESS)
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	who_init(ph, user, &w);
	if (!user_name_ok(user)) {
		/* A pure syntax rule, public knowledge: no account is revealed. */
		pam_syslog(ph, LOG_NOTICE, "authentication failure rhost=%s: user name not "
		    "acceptable to authd; not asked", w.rhost);
		return PAM_USER_UNKNOWN;
	}
	if (load_config(ph, &cf) != 0)
		return PAM_AUTHINFO_UNAVAIL;
	if ((rc = client_setup(ph, &cf, &c)) != PAM_SUCCESS)
		return rc;
	if (cf.debug)
		pam_syslog(ph, LOG_DEBUG, "%s login for %s at %s as %s", cf.mode == MODE_DEVICE ?
		    "device" : "password", user, cf.issuer, cf.client_id);
	rc = cf.mode == MODE_DEVICE ? auth_device(ph, &cf, c, &w) : auth_password(ph, &cf, c, &w);
	authd_client_free(&c);
	if (rc == PAM_SUCCESS)
		pam_syslog(ph, LOG_INFO, "%s authenticated by authd (%s)", user,
		    cf.mode == MODE_DEVICE ? "device" : "password");
	else
		pam_set_data(ph, PAM_AUTHD_DATA, NULL, NULL);
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)ph;
	(void)flags;
	(void)argc;
	(void)argv;
	/* authd gives no Unix credentials; the session's tokens are not kept. */
	return PAM_SUCCESS;
}

/* ---- account ---- */

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	struct pam_authd_conf cf;
	const struct pam_authd_state *st = NULL;
	const void *data = NULL;
	const char *user = NULL;

	(void)flags;
	if (parse_args(ph, argc, argv, &cf) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_user(ph, &user, NULL) != PAM_SUCCESS || user == NULL)
		return PAM_USER_UNKNOWN;
	if (pam_get_data(ph, PAM_AUTHD_DATA, &data) == PAM_SUCCESS)
		st = data;
	if (st == NULL) {
		if (cf.group[0] == '\0')
			return PAM_IGNORE;
		pam_syslog(ph, LOG_NOTICE, "access denied for %s: group %s required but the user "
		    "was not authenticated by pam_authd", user, cf.group);
		return PAM_PERM_DENIED;
	}
	if (strcasecmp(st->user, user) != 0) {
		pam_syslog(ph, LOG_NOTICE, "access denied for %s: authenticated as %s", user,
		    st->user);
		return PAM_PERM_DENIED;
	}
	if (cf.group[0] != '\0' && !authd_claims_array_has(st->claims, "groups", cf.group)) {
		pam_syslog(ph, LOG_NOTICE, "access denied for %s: not in group %s (scope must "
		    "include groups)", user, cf.group);
		return PAM_PERM_DENIED;
	}
	if (cf.debug)
		pam_syslog(ph, LOG_DEBUG, "account ok for %s", user);
	return PAM_SUCCESS;
}

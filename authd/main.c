/* authd/main.c — the daemon's entry point: command line, start-up order
 * (config, store, keys, methods, listeners, privilege drop), the signal wait and
 * the orderly shutdown. Exit codes: 0 ok, 1 failure, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/util.h"
#include "../modules/method.h"
#include "authd.h"
#include "clients.h"
#include "config.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "policy.h"
#include "ratelimit.h"
#include "records.h"
#include "store.h"
#include "sweep.h"
#include "throttle.h"
#include "web/pages.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authd -c FILE            run in the foreground (logs on stderr)\n"
	    "       authd --check-config -c FILE\n"
	    "       authd --version\n"
	    "       authd -h | --help\n");
}

/* Root only binds; everything after runs as conf->user. Verified, not assumed:
 * if root can be regained the process refuses to continue. */
/* The data the daemon keeps writing must belong to the user it runs as, so a
 * later start directly as that user (systemd User=) can open it. */
static void own_data(const struct conf *c, uid_t uid, gid_t gid)
{
	const char *names[] = { "", "/data.mdb", "/lock.mdb" };
	char path[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", c->store_path, names[i]);
		if (chown(path, uid, gid) != 0 && errno != ENOENT)
			log_msg(LOG_WARN, "cannot hand the store to [server] user", "path", path,
			    "error", strerror(errno), NULL);
	}
	if (c->totp_key_file && chown(c->totp_key_file, uid, gid) != 0 && errno != ENOENT)
		log_msg(LOG_WARN, "cannot hand the TOTP key to [server] user", "path",
		    c->totp_key_file, "error", strerror(errno), NULL);
	if (c->x509_crl_cache && chown(c->x509_crl_cache, uid, gid) != 0 && errno != ENOENT)
		log_msg(LOG_WARN, "cannot hand the CRL cache to [server] user", "path",
		    c->x509_crl_cache, "error", strerror(errno), NULL);
}

static int
drop_privileges(const struct conf *c)
{
	const char *user = c->user;
	struct passwd *pw;
	gid_t gid;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (user == NULL || *user == '\0') {
		log_msg(LOG_WARN, "running as root: set [server] user to drop privileges", NULL);
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_msg(LOG_ERROR, "unknown user in [server] user", "user", user, NULL);
		return -1;
	}
	gid = pw->pw_gid;
	if (pw->pw_uid == 0) {
		log_msg(LOG_ERROR, "[server] user must not be root", "user", user, NULL);
		return -1;
	}
	own_data(c, pw->pw_uid, gid);
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_msg(LOG_ERROR, "cannot drop privileges", "user", user,
		    "error", strerror(errno), NULL);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 || geteuid() == 0 ||
	    getegid() != gid) {
		log_msg(LOG_ERROR, "privileges could be regained after dropping them", NULL);
		return -1;
	}
	/* Defence in depth: nothing this process could ever run may gain
	 * privileges again (setuid binaries, file capabilities). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_msg(LOG_ERROR, "cannot set no_new_privs", "error", strerror(errno), NULL);
		return -1;
	}
	log_msg(LOG_INFO, "dropped privileges", "user", user, NULL);
	return 0;
}

/* For a person who started authd by hand: where it answers. Only when stderr
 * is a terminal — under systemd the journal gets the JSON log lines and
 * nothing else. */
static void
banner(struct authd *a)
{
	const struct conf *c = a->conf;
	int i;

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "authd %s — 單一登入服務 / single sign-on\n", AUTHD_VERSION);
	fprintf(stderr, "  Issuer:     %s\n", c->issuer);
	fprintf(stderr, "  Discovery:  %s/.well-known/openid-configuration\n", c->issuer);
	fprintf(stderr, "  Data:       %s\n", c->store_path);
	for (i = 0; i < c->n_listen; i++) {
		const char *spec = c->listen[i], *colon = strrchr(spec, ':');

		fprintf(stderr, "  Listening:  %s://%.*s:%d\n", c->tls ? "https" : "http",
		    (int)(colon - spec), spec, http_bound_port(a, i));
	}
	fprintf(stderr, "Press Ctrl-C to stop.\n");
}

/* Every start names the clients registered without PKCE, so that an exception
 * made for an old application stays in sight. */
static int
pkce_warn_one(const void *key, size_t klen, json_t *rec, void *ctx)
{
	(void)ctx;
	if (!client_requires_pkce(rec)) {
		char id[128];

		snprintf(id, sizeof(id), "%.*s", (int)(klen < 127 ? klen : 127), (const char *)key);
		log_msg(LOG_WARN, "client registered without PKCE (require_pkce false)", "client",
		    id, NULL);
	}
	return 0;
}

static void
pkce_warn(struct store *s)
{
	struct store_txn *t = store_read_begin(s);

	if (t == NULL)
		return;
	(void)store_iter(t, T_CLIENTS, NULL, 0, pkce_warn_one, NULL);
	store_read_end(t);
}

/* This process owns the store: nothing is being verified yet, so the leases a
 * killed predecessor left behind are stale now, not only after lease_s. */
static int
leases_clear(struct store_txn *t, void *ctx)
{
	long n = 0;
	int rc = throttle_leases_clear(t, now_s(), &n);

	(void)ctx;
	if (rc == STORE_OK && n > 0) {
		char num[24];

		snprintf(num, sizeof(num), "%ld", n);
		log_msg(LOG_INFO, "in-flight leases of a previous run dropped", "count", num, NULL);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct authd a;
	struct conf conf;
	struct store_opts so;
	const char *path = NULL;
	char err[1024];
	sigset_t set;
	int ch, check = 0, sig = 0, rc = 1;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'C': check = 1; break;
		case 'V': printf("authd %s\n", AUTHD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || path == NULL) {
		usage(stderr);
		return 2;
	}
	if (conf_load(&conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "authd: %s\n", err);
		return 1;
	}
	if (check) {
		/* What the methods would refuse at start (a stale FIDO MDS BLOB, a
		 * missing root file) and the pages (a template that does not parse,
		 * a missing catalogue key) are refused here too. */
		if (methods_check(&conf, err, sizeof(err)) != 0 ||
		    pages_check(&conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "authd: %s\n", err);
			conf_free(&conf);
			return 1;
		}
		printf("config ok\n");
		conf_free(&conf);
		return 0;
	}
	log_set_level(conf.log_level);
	umask(077);

	/* Block the stop signals before any thread exists, so every thread
	 * inherits the mask and only sigwait() below sees them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&a, 0, sizeof(a));
	a.conf = &conf;
	/* The PostgreSQL engine passes the operation tests (tests/ha/records.test.sh),
	 * but the sign-in flow still writes through store.h's LMDB transactions:
	 * running the token endpoint on one engine and sign-ins on another would
	 * split codes from their grants. Refuse until the sign-in flow has moved. */
	if (strcmp(conf.store_backend, "lmdb") != 0) {
		log_msg(LOG_ERROR,
		    "[store] backend = postgresql is not served by authd yet: the "
		    "sign-in flow still writes through LMDB (issue 13); use backend = lmdb",
		    NULL);
		goto out_conf;
	}
	memset(&so, 0, sizeof(so));
	so.map_size = conf.store_map_mb * 1024 * 1024;
	so.nosync = conf.store_nosync;
	if ((ch = store_open(&a.store, conf.store_path, &so)) != STORE_OK) {
		log_msg(LOG_ERROR, "cannot open the store", "path", conf.store_path,
		    "error", store_strerror(ch), NULL);
		goto out_conf;
	}
	if ((ch = records_open_lmdb(a.store, &a.records)) != ST_OK) {
		log_msg(LOG_ERROR, "cannot open the store's operations", "error", st_strerror(ch),
		    NULL);
		goto out_store;
	}
	if ((ch = store_write_sync(a.store, leases_clear, NULL)) != STORE_OK) {
		log_msg(LOG_ERROR, "cannot clear the throttle's in-flight leases", "error",
		    store_strerror(ch), NULL);
		goto out_store;
	}
	if (keys_init(&a) != 0) {
		log_msg(LOG_ERROR, "cannot load the signing keys", NULL);
		goto out_store;
	}
	policy_configure(&conf);
	if (conf.client_rate > 0 &&
	    !(a.client_rate = ratelimit_new(conf.client_rate, conf.client_burst))) {
		log_msg(LOG_ERROR, "cannot allocate the client rate limit", NULL);
		goto out_keys;
	}
	if (methods_init(&a) != 0) {
		log_msg(LOG_ERROR, "cannot initialise the authentication methods", NULL);
		goto out_keys;
	}
	/* Templates, catalogues and static files: read once, before any request. */
	if (pages_init(&conf, err, sizeof(err)) != 0) {
		log_msg(LOG_ERROR, "cannot load the pages", "error", err, NULL);
		goto out_methods;
	}
	if (http_start(&a) != 0) {
		log_msg(LOG_ERROR, "cannot start the HTTP server", NULL);
		goto out_pages;
	}
	if (drop_privileges(&conf) != 0)
		goto out_http;
	if (sweep_start(&a, 60) != 0) {
		log_msg(LOG_ERROR, "cannot start the expiry sweeper", NULL);
		goto out_http;
	}

	pkce_warn(a.store);
	banner(&a);
	log_msg(LOG_INFO, "ready", "issuer", conf.issuer, "version", AUTHD_VERSION, NULL);

	/* SIGHUP (a terminal closing, or `systemctl reload`) must not kill the
	 * service: configuration is read at start; say so and keep running. */
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		log_msg(LOG_WARN, "SIGHUP ignored: authd has no reload; restart it to apply a new config", NULL);
	}
	atomic_store(&a.stopping, 1);
	log_msg(LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
	rc = 0;
	sweep_stop();
out_http:
	http_stop(&a);
out_pages:
	pages_fini();
out_methods:
	methods_fini();
out_keys:
	keys_fini(&a);
out_store:
	ratelimit_free(a.client_rate);
	records_close(a.records);
	store_close(a.store);
out_conf:
	wipe(a.secret_key, sizeof(a.secret_key));
	if (rc == 0)
		log_msg(LOG_INFO, "stopped", NULL);
	conf_free(&conf);
	return rc;
}

/* tests/fuzz/fuzz_conf.c — libFuzzer target for conf_load (authd/config.c over
 * inih): each input is written to a temporary file and loaded. An accepted
 * configuration must keep the promises of config.h (issuer set, paths made
 * absolute, limits in range); a refused one must leave a message and nothing
 * allocated (LeakSanitizer checks the latter). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/authd-fuzz-conf-XXXXXX";
static char path[64];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void
init(void)
{
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/authd.conf", dir);
	atexit(cleanup);
}

static void
check_accepted(const struct conf *c)
{
	int i;

	if (c->issuer == NULL || c->dir == NULL || c->n_listen < 1 ||
	    c->n_listen > CONF_MAX_LISTEN || c->n_trusted_proxies > CONF_MAX_PROXIES)
		abort();
	for (i = 0; i < c->n_listen; i++)
		if (c->listen[i] == NULL)
			abort();
	if (c->store_path == NULL || c->store_path[0] != '/' ||
	    c->totp_key_file == NULL || c->totp_key_file[0] != '/' ||
	    (c->tls_cert != NULL && c->tls_cert[0] != '/'))
		abort();
	if ((c->tls_cert == NULL) != (c->tls_key == NULL) || c->tls != (c->tls_cert != NULL))
		abort();
	if (c->audit_retention_days < 183 || c->session_idle > c->session_ttl ||
	    c->min_length > c->max_length || c->max_header_bytes < 1024 ||
	    c->max_body_bytes < 1024 || c->read_timeout_s < 1 || c->max_connections < 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[1024];
	FILE *f;

	if (path[0] == '\0')
		init();
	/* Real configuration files are a few kilobytes. */
	if (size > 16384)
		return 0;
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	err[0] = '\0';
	if (conf_load(&c, path, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	check_accepted(&c);
	conf_free(&c);
	return 0;
}

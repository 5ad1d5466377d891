/* tests/unit/test_config.c — config.c: defaults, every key, listen lists,
 * relative paths, and the refusals (unknown key with its line, bad numbers,
 * bad issuers, audit retention under 6 months). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../authd/config.h"
#include "fixture.h"

static char dir[FX_DIR_MAX];
static char file[FX_DIR_MAX + 16];

static int
load(struct conf *c, const char *text, char *err, size_t errsz)
{
	return fx_conf_load(c, file, text, err, errsz);
}

static void
refused(const char *text, const char *expect_in_err)
{
	struct conf c;
	char err[1024] = "";

	assert_int_equal(load(&c, text, err, sizeof(err)), -1);
	if (strstr(err, expect_in_err) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, expect_in_err);
	/* conf_load left nothing allocated: c is zeroed. */
	assert_null(c.issuer);
}

static void
test_defaults(void **state)
{
	struct conf c;
	char err[512], want[512];

	(void)state;
	assert_int_equal(load(&c, "[server]\nissuer = https://sso.city.example\n", err,
	    sizeof(err)), 0);
	assert_string_equal(c.issuer, "https://sso.city.example");
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0], "127.0.0.1:8443");
	assert_int_equal(c.tls, 0);
	assert_null(c.tls_cert);
	assert_int_equal(c.threads, 0);
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.max_header_bytes, 8192);
	assert_int_equal(c.max_body_bytes, 65536);
	assert_int_equal(c.read_timeout_s, 10);
	assert_int_equal(c.max_connections, 4096);
	assert_string_equal(c.user, "");
	assert_int_equal(c.n_trusted_proxies, 0);
	assert_int_equal(c.n_metrics_allow, 0); /* loopback only (authd/ops.c) */
	snprintf(want, sizeof(want), "%s/data", dir);
	assert_string_equal(c.store_path, want);
	assert_int_equal(c.store_map_mb, 1024);
	assert_int_equal(c.store_nosync, 0);
	assert_int_equal(c.access_ttl, 300);
	assert_int_equal(c.id_ttl, 300);
	assert_int_equal(c.refresh_ttl, 2592000);
	assert_int_equal(c.code_ttl, 60);
	assert_int_equal(c.login_ttl, 600);
	assert_int_equal(c.session_ttl, 43200);
	assert_int_equal(c.session_idle, 1800);
	assert_int_equal(c.leeway, 30);
	assert_string_equal(c.signing_alg, "ES256");
	assert_int_equal(c.argon2_memory_kib, 19456);
	assert_int_equal(c.argon2_ops, 2);
	assert_int_equal(c.min_length, 8);
	assert_int_equal(c.max_length, 128);
	assert_null(c.breached_list);		/* the shipped list, found by datafile.h */
	assert_int_equal(c.account_max_failures, 5);
	assert_int_equal(c.account_lockout_s, 900);
	assert_int_equal(c.address_free_failures, 10);
	assert_int_equal(c.address_base_delay_ms, 1000);
	assert_int_equal(c.address_max_delay_s, 900);
	assert_int_equal(c.address_window_s, 3600);
	assert_int_equal(c.account_base_delay_s, 60);
	assert_int_equal(c.account_window_s, 86400);
	assert_int_equal(c.account_soft_failures, 100);
	assert_int_equal(c.account_soft_interval_s, 60);
	assert_int_equal(c.known_address_days, 30);
	assert_int_equal(c.code_max_failures, 5);
	assert_int_equal(c.code_base_delay_s, 30);
	assert_int_equal(c.code_max_delay_s, 900);
	assert_int_equal(c.login_max_attempts, 5);
	assert_int_equal(c.ipv4_prefix, 32);
	assert_int_equal(c.ipv6_prefix, 64);
	assert_int_equal(c.lease_s, 30);
	assert_int_equal(c.device_code_max_failures, 10);
	assert_int_equal(c.device_code_window_s, 600);
	assert_int_equal(c.worker_queue_per_source, 16);
	assert_int_equal(c.worker_queue_per_account, 4);
	assert_int_equal(c.worker_queue_max, 256);
	assert_int_equal(c.log_level, 2);
	assert_string_equal(c.default_lang, "zh-TW");
	assert_int_equal(c.audit_retention_days, 200);
	assert_string_equal(c.dir, dir);
	conf_free(&c);
}

static void
test_every_key(void **state)
{
	struct conf c;
	char err[512], want[512];

	(void)state;
	assert_int_equal(
	    load(&c,
	        "; every key, none at its default\n"
	        "[server]\n"
	        "issuer = https://sso.city.example/auth\n"
	        "listen = 0.0.0.0:443\n"
	        "tls_cert = tls/cert.pem\n"
	        "tls_key = /etc/authd/key.pem\n"
	        "threads = 3\nworkers = 5\n"
	        "worker_queue_per_source = 8\nworker_queue_per_account = 2\nworker_queue_max = 100\n"
	        "max_header_bytes = 4096\nmax_body_bytes = 32768\n"
	        "read_timeout_s = 7\nmax_connections = 100\n"
	        "user = authd\n"
	        "trusted_proxies = 10.0.0.1, ::1\n"
	        "metrics_allow = 10.20.0.0/16, fd00::/8\nmetrics_allow = 192.0.2.9\n"
	        "[store]\npath = /var/lib/authd\nmap_mb = 2048\nnosync = yes\n"
	        "[tokens]\naccess_ttl = 600\nid_ttl = 120\nrefresh_ttl = 86400\n"
	        "code_ttl = 30\nlogin_ttl = 300\nsession_ttl = 7200\nsession_idle = 900\n"
	        "leeway = 5\nsigning_alg = EdDSA\n"
	        "[password]\nargon2_memory_kib = 65536\nargon2_ops = 3\nmin_length = 12\n"
	        "max_length = 256\nbreached_list = lists/common.txt\n"
	        "[throttle]\naccount_max_failures = 3\naccount_lockout_s = 60\n"
	        "address_free_failures = 20\naddress_base_delay_ms = 500\n"
	        "address_max_delay_s = 60\naddress_window_s = 7200\n"
	        "account_base_delay_s = 10\naccount_window_s = 3600\naccount_soft_failures = 50\n"
	        "account_soft_interval_s = 30\nknown_address_days = 7\ncode_max_failures = 4\n"
	        "code_base_delay_s = 20\ncode_max_delay_s = 600\nlogin_max_attempts = 3\n"
	        "ipv4_prefix = 24\nipv6_prefix = 56\nlease_s = 20\ndevice_code_max_failures = 8\n"
	        "device_code_window_s = 300\n"
	        "[log]\nlevel = debug\n"
	        "[ui]\ndefault_lang = en\n"
	        "[branding]\nname = 臺北市政府\nname_en = Taipei City Government\nlogo = city.svg\n"
	        "privacy_url = https://city.example/privacy\ncontact = 1999\ncontact_url = tel:1999\n"
	        "[audit]\nretention_days = 400\n",
	        err, sizeof(err)),
	    0);
	assert_string_equal(c.brand_name, "臺北市政府");
	assert_string_equal(c.brand_name_en, "Taipei City Government");
	assert_string_equal(c.brand_logo, "city.svg");
	assert_string_equal(c.brand_contact_url, "tel:1999");
	assert_null(c.brand_security_url);
	assert_string_equal(c.issuer, "https://sso.city.example/auth");
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0], "0.0.0.0:443");
	snprintf(want, sizeof(want), "%s/tls/cert.pem", dir);
	assert_string_equal(c.tls_cert, want);
	assert_string_equal(c.tls_key, "/etc/authd/key.pem");
	assert_int_equal(c.tls, 1);
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.workers, 5);
	assert_int_equal(c.max_header_bytes, 4096);
	assert_int_equal(c.max_body_bytes, 32768);
	assert_int_equal(c.read_timeout_s, 7);
	assert_int_equal(c.max_connections, 100);
	assert_string_equal(c.user, "authd");
	assert_int_equal(c.n_trusted_proxies, 2);
	assert_string_equal(c.trusted_proxies[0], "10.0.0.1");
	assert_string_equal(c.trusted_proxies[1], "::1");
	assert_int_equal(c.n_metrics_allow, 3); /* a list: lines add up */
	assert_string_equal(c.metrics_allow[0], "10.20.0.0/16");
	assert_string_equal(c.metrics_allow[2], "192.0.2.9");
	assert_string_equal(c.store_path, "/var/lib/authd");
	assert_int_equal(c.store_map_mb, 2048);
	assert_int_equal(c.store_nosync, 1);
	assert_int_equal(c.access_ttl, 600);
	assert_int_equal(c.id_ttl, 120);
	assert_int_equal(c.refresh_ttl, 86400);
	assert_int_equal(c.code_ttl, 30);
	assert_int_equal(c.login_ttl, 300);
	assert_int_equal(c.session_ttl, 7200);
	assert_int_equal(c.session_idle, 900);
	assert_int_equal(c.leeway, 5);
	assert_string_equal(c.signing_alg, "EdDSA");
	assert_int_equal(c.argon2_memory_kib, 65536);
	assert_int_equal(c.argon2_ops, 3);
	assert_int_equal(c.min_length, 12);
	assert_int_equal(c.max_length, 256);
	snprintf(want, sizeof(want), "%s/lists/common.txt", dir);
	assert_string_equal(c.breached_list, want);
	assert_int_equal(c.account_max_failures, 3);
	assert_int_equal(c.account_lockout_s, 60);
	assert_int_equal(c.address_free_failures, 20);
	assert_int_equal(c.address_base_delay_ms, 500);
	assert_int_equal(c.address_max_delay_s, 60);
	assert_int_equal(c.address_window_s, 7200);
	assert_int_equal(c.account_base_delay_s, 10);
	assert_int_equal(c.account_window_s, 3600);
	assert_int_equal(c.account_soft_failures, 50);
	assert_int_equal(c.account_soft_interval_s, 30);
	assert_int_equal(c.known_address_days, 7);
	assert_int_equal(c.code_max_failures, 4);
	assert_int_equal(c.code_base_delay_s, 20);
	assert_int_equal(c.code_max_delay_s, 600);
	assert_int_equal(c.login_max_attempts, 3);
	assert_int_equal(c.ipv4_prefix, 24);
	assert_int_equal(c.ipv6_prefix, 56);
	assert_int_equal(c.lease_s, 20);
	assert_int_equal(c.device_code_max_failures, 8);
	assert_int_equal(c.device_code_window_s, 300);
	assert_int_equal(c.worker_queue_per_source, 8);
	assert_int_equal(c.worker_queue_per_account, 2);
	assert_int_equal(c.worker_queue_max, 100);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.default_lang, "en");
	assert_int_equal(c.audit_retention_days, 400);
	conf_free(&c);
}

static void
test_listen_lists(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	assert_int_equal(load(&c, "[server]\nissuer = https://a.example\n"
	    "listen = 127.0.0.1:8443, [::1]:8443\nlisten = 192.0.2.1:443\n", err,
	    sizeof(err)), 0);
	assert_int_equal(c.n_listen, 3);
	assert_string_equal(c.listen[0], "127.0.0.1:8443");
	assert_string_equal(c.listen[1], "[::1]:8443");
	assert_string_equal(c.listen[2], "192.0.2.1:443");
	conf_free(&c);
	refused("[server]\nissuer = https://a.example\nlisten = 8443\n", "listen");
	refused("[server]\nissuer = https://a.example\nlisten = ::1:8443\n", "listen");
	refused("[server]\nissuer = https://a.example\nlisten = 127.0.0.1:70000\n", "listen");
	refused("[server]\nissuer = https://a.example\nlisten = [zz]:1\n", "listen");
	refused("[server]\nissuer = https://a.example\nlisten = a:1,b:2,c:3,d:4,e:5,f:6,"
	    "g:7,h:8,i:9\n", "more than 8");
}

static void
test_conf_path(void **state)
{
	struct conf c;
	char err[512], want[512], *p;

	(void)state;
	assert_int_equal(load(&c, "[server]\nissuer = https://a.example\n", err, sizeof(err)), 0);
	p = conf_path(&c, "x/y");
	snprintf(want, sizeof(want), "%s/x/y", dir);
	assert_string_equal(p, want);
	free(p);
	p = conf_path(&c, "/abs");
	assert_string_equal(p, "/abs");
	free(p);
	conf_free(&c);
}

static void
test_unknown_key_refused(void **state)
{
	struct conf c;
	char err[1024], want[600];

	(void)state;
	assert_int_equal(load(&c, "[server]\nissuer = https://a.example\n\nlisen = 1.2.3.4:5\n",
	    err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:4:", file);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "lisen"));
	refused("[server]\nissuer = https://a.example\n[sever]\nthreads = 1\n", "[sever]");
	refused("[server]\nissuer = https://a.example\nthreads = 1\nthreads = 2\n", "twice");
	refused("[server]\nissuer = https://a.example\nthis is not ini\n", ":3:");
}

static void
test_bad_numbers_refused(void **state)
{
	(void)state;
	refused("[server]\nissuer = https://a.example\nthreads = many\n", "not a number");
	refused("[server]\nissuer = https://a.example\nthreads = 4x\n", "not a number");
	refused("[server]\nissuer = https://a.example\nthreads = -1\n", "out of range");
	refused("[server]\nissuer = https://a.example\nmax_body_bytes = 99999999999999999999\n",
	    "not a number");
	refused("[tokens]\naccess_ttl = 0\n[server]\nissuer = https://a.example\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[store]\nnosync = maybe\n", "boolean");
	refused("[server]\nissuer = https://a.example\n[log]\nlevel = loud\n", "level");
	refused("[server]\nissuer = https://a.example\n[tokens]\nsigning_alg = HS256\n", "ES256");
	refused("[server]\nissuer = https://a.example\n[ui]\ndefault_lang = fr\n", "zh-TW");
	refused("[server]\nissuer = https://a.example\ntrusted_proxies = proxy.example\n",
	    "trusted_proxies");
	refused(
	    "[server]\nissuer = https://a.example\nmetrics_allow = 10.0.0.0/33\n", "metrics_allow");
	/* [branding]: links are https (tel: for the contact), files have no path */
	refused(
	    "[server]\nissuer = https://a.example\n[branding]\nprivacy_url = http://city.example/p\n",
	    "https://");
	refused(
	    "[server]\nissuer = https://a.example\n[branding]\nprivacy_url = javascript:alert(1)\n",
	    "privacy_url");
	refused(
	    "[server]\nissuer = https://a.example\n[branding]\ncontact_url = sms:1999\n", "tel:");
	refused(
	    "[server]\nissuer = https://a.example\n[branding]\nlogo = ../etc/passwd\n", "no path");
	refused("[server]\nissuer = https://a.example\n[branding]\nname = a<b\n", "name");
	refused("[server]\nissuer = https://a.example\n[branding]\nname = \n", "name");
	refused("[server]\nissuer = https://a.example\nmetrics_allow = monitoring.example\n",
	    "metrics_allow");
	refused("[server]\nissuer = https://a.example\ntls_cert = a.pem\n", "together");
	refused("[server]\nissuer = https://a.example\n[password]\nmin_length = 7\n", "range");
	/* an IPv6 group wider than a /32 or an IPv4 one wider than a /8 would put
	 * whole providers in one bucket */
	refused("[server]\nissuer = https://a.example\n[throttle]\nipv6_prefix = 16\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[throttle]\nipv4_prefix = 33\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[throttle]\nlease_s = 1\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[server]\nworker_queue_max = 0\n", "out of range");
}

static void
test_bad_issuer_refused(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	refused("[server]\nthreads = 1\n", "issuer is required");
	refused("[server]\nissuer = http://sso.city.example\n", "https://");
	refused("[server]\nissuer = ftp://sso.city.example\n", "https://");
	refused("[server]\nissuer = https://sso.city.example/\n", "slash");
	refused("[server]\nissuer = https://sso.city.example?x=1\n", "query");
	refused("[server]\nissuer = https://sso.city.example#f\n", "fragment");
	refused("[server]\nissuer = https://user@sso.city.example\n", "user info");
	refused("[server]\nissuer = https://\n", "slash");
	refused("[server]\nissuer = https://:443\n", "no host");
	refused("[server]\nissuer = https://a.example:99999\n", "port");
	refused("[server]\nissuer = http://localhost.evil.example\n", "https://");
	/* http:// is fine on loopback (development). */
	assert_int_equal(load(&c, "[server]\nissuer = http://127.0.0.1:8080\n", err,
	    sizeof(err)), 0);
	conf_free(&c);
	assert_int_equal(load(&c, "[server]\nissuer = http://[::1]:8080\n", err, sizeof(err)), 0);
	conf_free(&c);
	assert_int_equal(load(&c, "[server]\nissuer = http://localhost\n", err, sizeof(err)), 0);
	conf_free(&c);
}

static void
test_retention_refused(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	refused("[server]\nissuer = https://a.example\n[audit]\nretention_days = 182\n",
	    "資通安全管理法");
	refused("[server]\nissuer = https://a.example\n[audit]\nretention_days = 30\n",
	    "6 months");
	assert_int_equal(load(&c, "[server]\nissuer = https://a.example\n[audit]\n"
	    "retention_days = 183\n", err, sizeof(err)), 0);
	assert_int_equal(c.audit_retention_days, 183);
	conf_free(&c);
}

/* [x509] CRL limits (issue 11): fetch time, cache entries and bytes. */
static void
test_x509_crl_limits(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	assert_int_equal(load(&c, "[server]\nissuer = https://sso.city.example\n", err, sizeof(err)), 0);
	assert_int_equal(c.x509_crl_timeout_ms, 30000);
	assert_int_equal(c.x509_crl_cache_entries, 1024);
	assert_true(c.x509_crl_cache_bytes == 268435456);
	conf_free(&c);
	assert_int_equal(load(&c, "[server]\nissuer = https://sso.city.example\n[x509]\n"
	    "crl_timeout_ms = 5000\ncrl_cache_entries = 20000\ncrl_cache_bytes = 1073741824\n", err,
	    sizeof(err)), 0);
	assert_int_equal(c.x509_crl_timeout_ms, 5000);
	assert_int_equal(c.x509_crl_cache_entries, 20000);
	assert_true(c.x509_crl_cache_bytes == 1073741824);
	conf_free(&c);
	refused("[server]\nissuer = https://a.example\n[x509]\ncrl_cache_entries = 0\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[x509]\ncrl_timeout_ms = 50\n", "out of range");
	refused("[server]\nissuer = https://a.example\n[x509]\ncrl_cache_bytes = 10\n", "out of range");
}

/* [x509] tls_max_version (issue 14): the card listener's highest TLS, 1.3 or 1.2. */
static void
test_x509_tls_max_version(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	assert_int_equal(
	    load(&c, "[server]\nissuer = https://sso.city.example\n", err, sizeof(err)), 0);
	assert_string_equal(c.x509_tls_max_version, "1.3");
	conf_free(&c);
	assert_int_equal(load(&c,
	                     "[server]\nissuer = https://sso.city.example\n[x509]\n"
	                     "tls_max_version = 1.2\n",
	                     err, sizeof(err)),
	    0);
	assert_string_equal(c.x509_tls_max_version, "1.2");
	conf_free(&c);
	refused("[server]\nissuer = https://a.example\n[x509]\ntls_max_version = 1.1\n",
	    "tls_max_version must be 1.2 or 1.3");
	refused("[server]\nissuer = https://a.example\n[x509]\ntls_max_version = \n",
	    "tls_max_version must be 1.2 or 1.3");
}

static void
test_missing_file_refused(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	assert_int_equal(conf_load(&c, "/nonexistent/authd.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/authd.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_listen_lists),
		cmocka_unit_test(test_conf_path),
		cmocka_unit_test(test_unknown_key_refused),
		cmocka_unit_test(test_bad_numbers_refused),
		cmocka_unit_test(test_bad_issuer_refused),
		cmocka_unit_test(test_retention_refused),
		cmocka_unit_test(test_missing_file_refused),
		cmocka_unit_test(test_x509_crl_limits),
		cmocka_unit_test(test_x509_tls_max_version),
	};
	int rc;

	if (fx_tmpdir(dir, "config") != 0)
		return 1;
	snprintf(file, sizeof(file), "%s/authd.conf", dir);
	rc = cmocka_run_group_tests_name("config", tests, NULL, NULL);
	fx_rmtree(dir);
	return rc;
}

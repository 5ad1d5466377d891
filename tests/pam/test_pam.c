/* tests/pam/test_pam.c — pam_authd.so through the real libpam, loaded by
 * pam_wrapper (LD_PRELOAD, PAM_WRAPPER_SERVICE_DIR) and driven by libpamtest,
 * against the real authd that tests/pam/run.sh starts. run.sh writes the PAM
 * service files (pam_wrapper copies that folder once, when it loads), with the
 * variable configs at PAM_AUTHD_WORK/NAME.conf that the tests here write. The
 * environment names the module, the host configs, the users and the TOTP
 * secret of the user with TOTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "test_pam: %s is not set (run tests/pam/run.sh)\n", name);
		exit(2);
	}
	return v;
}

static void
write_file(const char *path, mode_t mode, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The TOTP code of the next time step: the enrolment used up the current one
 * and authd accepts steps within its window ([totp] window = 3 in run.sh). */
static void
totp_code(char out[16], int ahead_steps)
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "oathtool --totp -N 'now + %d seconds' -b '%s'",
	    30 * ahead_steps, env("AUTHD_TOTP2"));
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, 16, p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(strlen(out), 6);
}

/* auth, then account; both results checked. */
static void
auth_account(const char *svc, const char *user, const char **answers, int want_auth,
    int want_account)
{
	struct pamtest_conv_data conv = { .in_echo_off = answers };
	struct pam_testcase both[] = {
		pam_test(PAMTEST_AUTHENTICATE, want_auth),
		pam_test(PAMTEST_ACCOUNT, want_account),
	};
	struct pam_testcase one[] = {
		pam_test(PAMTEST_AUTHENTICATE, want_auth),
	};
	enum pamtest_err perr;

	if (want_auth == PAM_SUCCESS)
		perr = run_pamtest(svc, user, &conv, both, NULL);
	else
		perr = run_pamtest(svc, user, &conv, one, NULL);
	if (perr == PAMTEST_ERR_CASE) {
		const struct pam_testcase *f = want_auth == PAM_SUCCESS ?
		    pamtest_failed_case(both) : pamtest_failed_case(one);
		fail_msg("op %d returned %d (%s), wanted %d", f->pam_operation, f->op_rv,
		    pam_strerror(NULL, f->op_rv), f->expected_rv);
	}
	assert_int_equal(perr, PAMTEST_ERR_OK);
}

/* ---- password (AAL1 host) ---- */

static void
right_password_succeeds_and_group_admits(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };

	(void)state;
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_SUCCESS, PAM_SUCCESS);
}

static void
user_name_case_does_not_matter(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };
	char upper[128];
	size_t i;

	(void)state;
	snprintf(upper, sizeof(upper), "%s", env("AUTHD_USER"));
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	auth_account("authd-aal1", upper, answers, PAM_SUCCESS, PAM_SUCCESS);
}

static void
wrong_password_is_auth_err(void **state)
{
	const char *answers[] = { "Not-The-Password-42", NULL };

	(void)state;
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
}

static void
unknown_user_is_auth_err_not_user_unknown(void **state)
{
	const char *answers[] = { "Whatever-Password-42", NULL };

	(void)state;
	/* authd does not say whether an account exists. */
	auth_account("authd-aal1", "nobody-here", answers, PAM_AUTH_ERR, 0);
}

static void
impossible_user_name_is_refused_locally(void **state)
{
	const char *answers[] = { "Whatever-Password-42", NULL };

	(void)state;
	auth_account("authd-aal1", "bad name/..", answers, PAM_USER_UNKNOWN, 0);
}

static void
account_without_group_is_denied(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD3"), NULL };

	(void)state;
	auth_account("authd-aal1", env("AUTHD_USER3"), answers, PAM_SUCCESS, PAM_PERM_DENIED);
}

static void
account_without_our_auth_is_denied_or_ignored(void **state)
{
	struct pamtest_conv_data conv = { 0 };
	struct pam_testcase denied[] = { pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED) };
	struct pam_testcase ignored[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };

	(void)state;
	/* group= but no auth by pam_authd in this handle: refused. */
	assert_int_equal(run_pamtest("authd-aal1", env("AUTHD_USER"), &conv, denied, NULL),
	    PAMTEST_ERR_OK);
	/* Without group= the module stands aside (PAM_IGNORE); pam_permit decides. */
	assert_int_equal(run_pamtest("authd-acct-ignore", env("AUTHD_USER"), &conv, ignored, NULL),
	    PAMTEST_ERR_OK);
}

static void
no_conversation_answer_is_conv_err(void **state)
{
	const char *answers[] = { NULL };

	(void)state;
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_CONV_ERR, 0);
}

static void
use_first_pass_without_earlier_password_is_refused(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };

	(void)state;
	auth_account("authd-first-pass", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
}

/* ---- OTP (AAL2 host, user with TOTP) ---- */

static void
otp_right_succeeds_then_replay_is_refused(void **state)
{
	char code[16];
	const char *answers[] = { env("AUTHD_PASSWORD2"), code, NULL };

	(void)state;
	totp_code(code, 1);
	auth_account("authd-aal2", env("AUTHD_USER2"), answers, PAM_SUCCESS, PAM_SUCCESS);
	/* The same code again: authd's replay guard refuses it. */
	auth_account("authd-aal2", env("AUTHD_USER2"), answers, PAM_AUTH_ERR, 0);
}

static void
otp_wrong_is_auth_err(void **state)
{
	char code[16];
	const char *answers[] = { env("AUTHD_PASSWORD2"), code, NULL };

	(void)state;
	totp_code(code, 1);
	/* A different six digits: off by one in the last digit. */
	code[5] = (char)('0' + (code[5] - '0' + 1) % 10);
	auth_account("authd-aal2", env("AUTHD_USER2"), answers, PAM_AUTH_ERR, 0);
}

/* Whatever the shape of a wrong code, authd's answer is a refusal: never
 * PAM_AUTHINFO_UNAVAIL, which the fallback stack of docs/pam.md reads as "authd
 * cannot be reached, try the local password". */
static void
malformed_otp_is_auth_err_not_unavail(void **state)
{
	/* Four: each is a failure counted against the account ([throttle]
	 * account_max_failures = 5 in run.sh), so none of them is throttled. */
	static const char *const codes[] = { "1234567", "abcdef", "abcd-efgh-jkmn", "12\00134",
		NULL };
	size_t i;

	(void)state;
	for (i = 0; codes[i] != NULL; i++) {
		const char *answers[] = { env("AUTHD_PASSWORD4"), codes[i], NULL };

		print_message("one-time code answer %zu\n", i);
		auth_account("authd-aal2", env("AUTHD_USER4"), answers, PAM_AUTH_ERR, 0);
	}
}

static void
password_with_control_byte_is_auth_err_not_unavail(void **state)
{
	char pw[256];
	const char *answers[] = { pw, NULL };

	(void)state;
	snprintf(pw, sizeof(pw), "%s\001", env("AUTHD_PASSWORD"));
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
	snprintf(pw, sizeof(pw), "\xff\xfe%s", env("AUTHD_PASSWORD"));
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
}

/* What sshd sends for a name that is not a local account. */
static void
sshd_fake_password_is_auth_err_not_unavail(void **state)
{
	const char *answers[] = { "\b\n\r\177INCORRECT", NULL };

	(void)state;
	auth_account("authd-aal1", "nobody-local", answers, PAM_AUTH_ERR, 0);
	auth_account("authd-aal1", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
}

static void
aal2_host_without_otp_answer_is_conv_err(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD2"), NULL };

	(void)state;
	auth_account("authd-aal2", env("AUTHD_USER2"), answers, PAM_CONV_ERR, 0);
}

/* ---- authd unreachable ---- */

/* The services authd-down and authd-silent say timeout=2. */
static void
down_within_timeout(const char *svc, int timeout_s)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };
	double t0, dt;

	t0 = now_s();
	auth_account(svc, env("AUTHD_USER"), answers, PAM_AUTHINFO_UNAVAIL, 0);
	dt = now_s() - t0;
	print_message("authd down: PAM_AUTHINFO_UNAVAIL after %.3f s (timeout %d s)\n", dt,
	    timeout_s);
	assert_true(dt < timeout_s + 1.0);
}

static void
closed_port_is_authinfo_unavail(void **state)
{
	(void)state;
	down_within_timeout("authd-down", 2);
}

/* A listener that never answers: only the timeout ends the wait. */
static void
silent_server_is_authinfo_unavail_within_timeout(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char conf[4096];
	double t0;
	int s;

	(void)state;
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 16), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	snprintf(conf, sizeof(conf), "%s/silent.conf", env("PAM_AUTHD_WORK"));
	write_file(conf, 0644, "issuer = https://127.0.0.1:%u\nclient_id = %s\nsecret_file = %s\n"
	    "ca_file = %s\n", ntohs(sa.sin_port), env("PAM_AUTHD_CLIENT_AAL1"),
	    env("PAM_AUTHD_SECRET_AAL1"), env("AUTHD_CA"));
	t0 = now_s();
	down_within_timeout("authd-silent", 2);
	/* It did wait: the failure came from the timeout, not a refused connection. */
	assert_true(now_s() - t0 >= 1.5);
	close(s);
}

/* authd answered the password step (mfa_required) and then gave no answer
 * (503): a refusal, not "unavailable" - else slowing authd down between the
 * steps would skip the code on the fallback stack. The server is run.sh's
 * flaky-authd.mjs. */
static void
unavailable_after_an_answer_is_auth_err(void **state)
{
	const char *answers[] = { "Any-Password-42", "123456", NULL };

	(void)state;
	auth_account("authd-flaky", "flaky", answers, PAM_AUTH_ERR, 0);
}

/* The control: no answer at the first step is "unavailable". */
static void
unavailable_at_the_first_step_is_authinfo_unavail(void **state)
{
	const char *answers[] = { "Any-Password-42", NULL };

	(void)state;
	auth_account("authd-flaky", "down", answers, PAM_AUTHINFO_UNAVAIL, 0);
}

/* ---- refusals of unsafe or broken configuration ---- */

static void
refused_config(const char *name, mode_t conf_mode, mode_t secret_mode, const char *extra,
    int want)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };
	char conf[4096], secret[4096], svc[128];
	char buf[1100] = "";
	FILE *f;

	snprintf(secret, sizeof(secret), "%s/%s.secret", env("PAM_AUTHD_WORK"), name);
	f = fopen(env("PAM_AUTHD_SECRET_AAL1"), "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	write_file(secret, secret_mode, "%s", buf);
	snprintf(conf, sizeof(conf), "%s/%s.conf", env("PAM_AUTHD_WORK"), name);
	write_file(conf, conf_mode, "issuer = %s\nclient_id = %s\nsecret_file = %s\nca_file = %s\n%s",
	    env("AUTHD_ISSUER"), env("PAM_AUTHD_CLIENT_AAL1"), secret, env("AUTHD_CA"), extra);
	snprintf(svc, sizeof(svc), "authd-%s", name);
	auth_account(svc, env("AUTHD_USER"), answers, want, 0);
}

static void
copied_config_works(void **state)
{
	(void)state;
	/* The control: the same files with safe modes are accepted. */
	refused_config("control", 0644, 0600, "", PAM_SUCCESS);
}

static void
secret_file_readable_by_others_is_refused(void **state)
{
	(void)state;
	refused_config("secret-0644", 0644, 0644, "", PAM_AUTHINFO_UNAVAIL);
}

static void
secret_file_group_readable_is_refused(void **state)
{
	(void)state;
	refused_config("secret-0640", 0644, 0640, "", PAM_AUTHINFO_UNAVAIL);
}

static void
config_writable_by_others_is_refused(void **state)
{
	(void)state;
	refused_config("conf-0666", 0666, 0600, "", PAM_AUTHINFO_UNAVAIL);
}

static void
config_unknown_key_is_refused(void **state)
{
	(void)state;
	refused_config("conf-key", 0644, 0600, "insecure = yes\n", PAM_AUTHINFO_UNAVAIL);
}

static void
config_without_openid_profile_scope_is_refused(void **state)
{
	(void)state;
	/* No ID token, so no preferred_username to match PAM_USER: fail closed. */
	refused_config("conf-scope", 0644, 0600, "scope = groups\n", PAM_AUTH_ERR);
}

/* authd answered (invalid_client): a configuration error, logged as one, and a
 * refusal, not a reason to fall back to local passwords. */
static void
wrong_client_secret_is_auth_err_not_unavail(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };
	char conf[4096], secret[4096];

	(void)state;
	snprintf(secret, sizeof(secret), "%s/badsecret.secret", env("PAM_AUTHD_WORK"));
	write_file(secret, 0600, "not-the-secret-of-this-host\n");
	snprintf(conf, sizeof(conf), "%s/badsecret.conf", env("PAM_AUTHD_WORK"));
	write_file(conf, 0644, "issuer = %s\nclient_id = %s\nsecret_file = %s\nca_file = %s\n",
	    env("AUTHD_ISSUER"), env("PAM_AUTHD_CLIENT_AAL1"), secret, env("AUTHD_CA"));
	auth_account("authd-badsecret", env("AUTHD_USER"), answers, PAM_AUTH_ERR, 0);
}

static void
missing_config_is_authinfo_unavail(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };

	(void)state;
	auth_account("authd-missing", env("AUTHD_USER"), answers, PAM_AUTHINFO_UNAVAIL, 0);
}

static void
bad_module_argument_is_service_err(void **state)
{
	const char *answers[] = { env("AUTHD_PASSWORD"), NULL };

	(void)state;
	/* A typo (grup=ops) must not silently drop the group restriction. */
	auth_account("authd-badarg", env("AUTHD_USER"), answers, PAM_SERVICE_ERR, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(right_password_succeeds_and_group_admits),
		cmocka_unit_test(user_name_case_does_not_matter),
		cmocka_unit_test(wrong_password_is_auth_err),
		cmocka_unit_test(unknown_user_is_auth_err_not_user_unknown),
		cmocka_unit_test(impossible_user_name_is_refused_locally),
		cmocka_unit_test(account_without_group_is_denied),
		cmocka_unit_test(account_without_our_auth_is_denied_or_ignored),
		cmocka_unit_test(no_conversation_answer_is_conv_err),
		cmocka_unit_test(use_first_pass_without_earlier_password_is_refused),
		cmocka_unit_test(otp_right_succeeds_then_replay_is_refused),
		cmocka_unit_test(otp_wrong_is_auth_err),
		cmocka_unit_test(malformed_otp_is_auth_err_not_unavail),
		cmocka_unit_test(password_with_control_byte_is_auth_err_not_unavail),
		cmocka_unit_test(sshd_fake_password_is_auth_err_not_unavail),
		cmocka_unit_test(aal2_host_without_otp_answer_is_conv_err),
		cmocka_unit_test(closed_port_is_authinfo_unavail),
		cmocka_unit_test(silent_server_is_authinfo_unavail_within_timeout),
		cmocka_unit_test(unavailable_after_an_answer_is_auth_err),
		cmocka_unit_test(unavailable_at_the_first_step_is_authinfo_unavail),
		cmocka_unit_test(copied_config_works),
		cmocka_unit_test(secret_file_readable_by_others_is_refused),
		cmocka_unit_test(secret_file_group_readable_is_refused),
		cmocka_unit_test(config_writable_by_others_is_refused),
		cmocka_unit_test(config_unknown_key_is_refused),
		cmocka_unit_test(config_without_openid_profile_scope_is_refused),
		cmocka_unit_test(wrong_client_secret_is_auth_err_not_unavail),
		cmocka_unit_test(missing_config_is_authinfo_unavail),
		cmocka_unit_test(bad_module_argument_is_service_err),
	};

	return cmocka_run_group_tests_name("pam", tests, NULL, NULL);
}

/* tests/pam/bench_pam.c — PAM password+OTP login latency against a local authd:
 * bench_pam SERVICE USERS-FILE. Each line of USERS-FILE is "user password
 * totp-secret"; every user logs in once (pam_authenticate through libpam and
 * pam_wrapper, "Password:" then "One-time code:"), so each login has a fresh
 * TOTP step. The code is computed before the clock starts; the time measured is
 * pam_start .. pam_end. Prints n, p50, p99, mean and max in ms; exits 1 when a
 * login fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#define MAX_LOGINS 1000

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
totp_next(const char *secret, char out[16])
{
	char cmd[256];
	FILE *p;
	int ok;

	if (strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != strlen(secret))
		return -1;
	snprintf(cmd, sizeof(cmd), "oathtool --totp -N 'now + 30 seconds' -b '%s'", secret);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	ok = fgets(out, 16, p) != NULL;
	if (pclose(p) != 0 || !ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return strlen(out) == 6 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static double ms[MAX_LOGINS];
	char line[512], user[80], pw[200], secret[120], code[16];
	double sum = 0;
	size_t n = 0;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_pam SERVICE USERS-FILE\n");
		return 2;
	}
	if ((f = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	while (n < MAX_LOGINS && fgets(line, sizeof(line), f) != NULL) {
		const char *answers[] = { pw, code, NULL };
		struct pamtest_conv_data conv = { .in_echo_off = answers };
		struct pam_testcase tc[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
		enum pamtest_err perr;
		double t0;

		if (sscanf(line, "%79s %199s %119s", user, pw, secret) != 3)
			continue;
		if (totp_next(secret, code) != 0) {
			fprintf(stderr, "bench_pam: oathtool failed for %s\n", user);
			fclose(f);
			return 1;
		}
		t0 = now_ms();
		perr = run_pamtest(argv[1], user, &conv, tc, NULL);
		ms[n] = now_ms() - t0;
		if (perr != PAMTEST_ERR_OK) {
			fprintf(stderr, "bench_pam: login %zu (%s) failed: %s, pam %d\n", n, user,
			    pamtest_strerror(perr), tc[0].op_rv);
			fclose(f);
			return 1;
		}
		sum += ms[n++];
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "bench_pam: no users in %s\n", argv[2]);
		return 1;
	}
	qsort(ms, n, sizeof(ms[0]), cmp_double);
	printf("pam password+otp logins: n=%zu p50=%.2f ms p99=%.2f ms mean=%.2f ms max=%.2f ms\n",
	    n, ms[(n - 1) / 2], ms[(n * 99 + 99) / 100 - 1], sum / (double)n, ms[n - 1]);
	return 0;
}

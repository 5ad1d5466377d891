/* tests/unit/test_datafile.c — authd/datafile: the one rule for finding a
 * shipped file (configured path, else the build tree's share/, else the
 * installed folder), on build trees made in /tmp and on this checkout. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "../../authd/datafile.h"

#define INSTALLED "/opt/authd-test/share/authd"

/* TOP/BUILD/bin/authd in a fresh /tmp folder, with TOP/BUILD/libauthd-core.a
 * when marked; its path in exe, TOP in top. */
static void
make_tree(char top[FX_DIR_MAX], char *exe, size_t cap, const char *build, int marked)
{
	char p[PATH_MAX];

	assert_int_equal(fx_tmpdir(top, "datafile"), 0);
	snprintf(p, sizeof(p), "%s/%s", top, build);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/bin", top, build);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/share", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(exe, cap, "%s/%s/bin/authd", top, build);
	assert_int_equal(fx_write_file(exe, "#!/bin/false\n"), 0);
	if (marked) {
		snprintf(p, sizeof(p), "%s/%s/libauthd-core.a", top, build);
		assert_int_equal(fx_write_file(p, "!<arch>\n"), 0);
	}
}

static void
expect_path(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_configured_wins(void **state)
{
	char top[FX_DIR_MAX], exe[PATH_MAX];

	(void)state;
	make_tree(top, exe, sizeof(exe), "build", 1);
	expect_path(datafile_resolve("/etc/authd/list.txt", "common-passwords.txt", exe, INSTALLED),
	    "/etc/authd/list.txt");
	expect_path(datafile_resolve("/etc/authd/list.txt", "common-passwords.txt", NULL, INSTALLED),
	    "/etc/authd/list.txt");
	assert_int_equal(fx_rmtree(top), 0);
}

static void
test_build_tree_share(void **state)
{
	char top[FX_DIR_MAX], exe[PATH_MAX], want[PATH_MAX];

	(void)state;
	make_tree(top, exe, sizeof(exe), "build", 1);
	snprintf(want, sizeof(want), "%s/share/common-passwords.txt", top);
	expect_path(datafile_resolve(NULL, "common-passwords.txt", exe, INSTALLED), want);
	expect_path(datafile_resolve("", "common-passwords.txt", exe, INSTALLED), want);	/* "" = none */
	snprintf(want, sizeof(want), "%s/share/templates/login.html", top);
	expect_path(datafile_resolve(NULL, "templates/login.html", exe, INSTALLED), want);
	/* The place is chosen by the tree, not by the file: missing in share/
	 * names share/, never an installed (maybe older) copy. */
	snprintf(want, sizeof(want), "%s/share/no-such-file", top);
	expect_path(datafile_resolve(NULL, "no-such-file", exe, INSTALLED), want);
	assert_int_equal(fx_rmtree(top), 0);

	make_tree(top, exe, sizeof(exe), "build-asan", 1);	/* any build folder name */
	snprintf(want, sizeof(want), "%s/share/common-passwords.txt", top);
	expect_path(datafile_resolve(NULL, "common-passwords.txt", exe, INSTALLED), want);
	assert_int_equal(fx_rmtree(top), 0);
}

static void
test_installed(void **state)
{
	char top[FX_DIR_MAX], exe[PATH_MAX], p[PATH_MAX];

	(void)state;
	/* TOP/build/bin/authd without the Makefile's archive beside bin/: a copy,
	 * not a build tree. */
	make_tree(top, exe, sizeof(exe), "build", 0);
	expect_path(datafile_resolve(NULL, "common-passwords.txt", exe, INSTALLED),
	    INSTALLED "/common-passwords.txt");
	/* The archive beside sbin/ is not a build tree either: only BUILD/bin/. */
	snprintf(p, sizeof(p), "%s/build/sbin", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/build/libauthd-core.a", top);
	assert_int_equal(fx_write_file(p, "!<arch>\n"), 0);
	snprintf(exe, sizeof(exe), "%s/build/sbin/authd", top);
	expect_path(datafile_resolve(NULL, "common-passwords.txt", exe, INSTALLED),
	    INSTALLED "/common-passwords.txt");
	assert_int_equal(fx_rmtree(top), 0);

	expect_path(datafile_resolve(NULL, "x.txt", "/usr/local/sbin/authd", INSTALLED),
	    INSTALLED "/x.txt");
	expect_path(datafile_resolve(NULL, "x.txt", "/authd", INSTALLED), INSTALLED "/x.txt");
	expect_path(datafile_resolve(NULL, "x.txt", "authd", INSTALLED), INSTALLED "/x.txt");
	expect_path(datafile_resolve(NULL, "x.txt", "", INSTALLED), INSTALLED "/x.txt");
	expect_path(datafile_resolve(NULL, "x.txt", NULL, INSTALLED), INSTALLED "/x.txt");
}

/* This test program is BUILD/tests/test_datafile: a build tree too (the
 * unit tests load the pages from the checkout), never the installed folder. */
static void
test_path_of_this_program(void **state)
{
	char *got = datafile_path(NULL, "common-passwords.txt");

	(void)state;
	assert_non_null(got);
	assert_true(strncmp(got, AUTHD_DATADIR, strlen(AUTHD_DATADIR)) != 0);
	assert_non_null(strstr(got, "/share/common-passwords.txt"));
	assert_int_equal(access(got, R_OK), 0);
	free(got);
	expect_path(datafile_path("/srv/list.txt", "common-passwords.txt"), "/srv/list.txt");
}

/* The real checkout: authd in BUILD/bin/ beside this program's BUILD/tests/
 * finds the list the repository ships. */
static void
test_this_checkout(void **state)
{
	char self[PATH_MAX], exe[PATH_MAX + 16], *slash, *got;
	ssize_t n;
	struct stat st;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	assert_non_null(slash = strrchr(self, '/'));
	*slash = '\0';					/* BUILD/tests */
	assert_non_null(slash = strrchr(self, '/'));
	*slash = '\0';					/* BUILD */
	snprintf(exe, sizeof(exe), "%s/bin/authd", self);
	got = datafile_resolve(NULL, "common-passwords.txt", exe, INSTALLED);
	assert_non_null(got);
	assert_non_null(strstr(got, "/share/common-passwords.txt"));
	assert_int_equal(stat(got, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size > 0);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configured_wins),
		cmocka_unit_test(test_build_tree_share),
		cmocka_unit_test(test_installed),
		cmocka_unit_test(test_path_of_this_program),
		cmocka_unit_test(test_this_checkout),
	};

	return cmocka_run_group_tests_name("datafile", tests, NULL, NULL);
}

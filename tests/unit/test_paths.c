/* tests/unit/test_paths.c — where authd finds share/ (authd/datafile.h): the
 * configured folder, else the checkout of a build tree, else the installed
 * copy; an installed program is never mistaken for a build tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../authd/datafile.h"
#include "fixture.h"

#define INSTALLED "/usr/local/share/authd"

static void
mk(const char *dir, const char *rel)
{
	char p[256], *s;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	for (s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	if (p[strlen(p) - 1] != '/')
		assert_int_equal(fx_write_file(p, ""), 0);
}

static void
expect(const char *configured, const char *name, const char *exe, const char *want)
{
	char *got = datafile_resolve(configured, name, exe, INSTALLED);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("exe %s: got %s, want %s", exe ? exe : "(none)", got, want);
	free(got);
}

static void
test_rule(void **state)
{
	char dir[FX_DIR_MAX], exe[160], want[192];

	(void)state;
	assert_int_equal(fx_tmpdir(dir, "paths"), 0);
	/* a checkout: TOP/build/libauthd-core.a beside bin/ and tests/ */
	mk(dir, "top/build/libauthd-core.a");
	mk(dir, "top/build/bin/");
	mk(dir, "top/build/tests/");
	mk(dir, "top/share/templates/");
	/* an installed program, with a /usr/share/i18n of glibc's beside it */
	mk(dir, "root/usr/local/sbin/");
	mk(dir, "root/usr/share/i18n/locales/C");
	mk(dir, "root/usr/share/templates/x.html");

	/* 1. the configured path wins, as given */
	snprintf(exe, sizeof(exe), "%s/top/build/bin/authd", dir);
	expect("/etc/authd/ui/i18n", "i18n", exe, "/etc/authd/ui/i18n");
	/* 2. a build tree's program and its tests: the checkout's share/ */
	snprintf(want, sizeof(want), "%s/top/share/templates", dir);
	expect(NULL, "templates", exe, want);
	expect("", "templates", exe, want);
	snprintf(exe, sizeof(exe), "%s/top/build/tests/test_pages", dir);
	expect(NULL, "templates", exe, want);
	/* 3. an installed program: the installed copy, never /usr/share/i18n
	 * (glibc's locales) two folders above /usr/local/sbin */
	snprintf(exe, sizeof(exe), "%s/root/usr/local/sbin/authd", dir);
	expect(NULL, "i18n", exe, INSTALLED "/i18n");
	expect(NULL, "templates", exe, INSTALLED "/templates");
	/* 4. a build tree never falls back to the installed copy: its own place */
	snprintf(exe, sizeof(exe), "%s/top/build/bin/authd", dir);
	snprintf(want, sizeof(want), "%s/top/share/i18n", dir);
	expect(NULL, "i18n", exe, want);
	/* unknown or relative program path, a program at the root */
	expect(NULL, "static", NULL, INSTALLED "/static");
	expect(NULL, "static", "build/bin/authd", INSTALLED "/static");
	expect(NULL, "static", "/authd", INSTALLED "/static");
	assert_int_equal(fx_rmtree(dir), 0);
}

/* This test program runs from the build tree: it finds the checkout's share/. */
static void
test_this_program(void **state)
{
	char *p = datafile_path(NULL, "i18n/en.json");
	struct stat st;

	(void)state;
	assert_non_null(p);
	assert_int_equal(stat(p, &st), 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_this_program),
	};

	return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}

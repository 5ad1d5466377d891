/* authd/paths.c — the data-path rule of paths.h. Called while starting up. */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AUTHD_DATADIR
#define AUTHD_DATADIR "/usr/local/share/authd"
#endif

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *out = malloc(n);

	if (out != NULL)
		snprintf(out, n, "%s/%s", dir, name);
	return out;
}

/* 1 with the checkout in top when exe is TOP/BUILD/DIR/PROGRAM (bin/authd,
 * tests/test_x) and TOP/BUILD/libauthd-core.a exists, which only the Makefile
 * puts there: an installed /usr/local/sbin/authd must not take /usr/share/
 * (Debian's /usr/share/i18n is glibc's) for a checkout. */
static int
build_tree_top(const char *exe, char *top, size_t cap)
{
	char probe[PATH_MAX];
	struct stat st;
	char *slash;
	int up;

	if (exe[0] != '/' || strlen(exe) >= cap)
		return 0;
	memcpy(top, exe, strlen(exe) + 1);
	for (up = 0; up < 2; up++) {	/* PROGRAM, then DIR */
		if ((slash = strrchr(top, '/')) == NULL || slash == top)
			return 0;
		*slash = '\0';
	}
	if ((size_t)snprintf(probe, sizeof(probe), "%s/libauthd-core.a", top) >= sizeof(probe) ||
	    stat(probe, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((slash = strrchr(top, '/')) == NULL)	/* BUILD */
		return 0;
	*slash = '\0';
	return 1;
}

char *
authd_data_resolve(const char *configured, const char *name, const char *exe,
    const char *installed)
{
	char top[PATH_MAX], *share, *p;

	if (configured != NULL && configured[0] != '\0')
		return strdup(configured);
	/* The rule picks a place, it does not look for the file: a build tree
	 * never falls back to an installed (possibly older) copy. */
	if (exe != NULL && build_tree_top(exe, top, sizeof(top))) {
		if ((share = join(top, "share")) == NULL)
			return NULL;
		p = join(share, name);
		free(share);
		return p;
	}
	return join(installed, name);
}

char *
authd_data_path(const char *configured, const char *name)
{
	char exe[PATH_MAX];
	ssize_t n;

	/* The kernel's answer has every symlink resolved. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return authd_data_resolve(configured, name, NULL, AUTHD_DATADIR);
	exe[n] = '\0';
	return authd_data_resolve(configured, name, exe, AUTHD_DATADIR);
}

/* authd/datafile.c — the one rule for finding the files authd ships (see
 * datafile.h). Called while starting up, before the privilege drop. */
#include "datafile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AUTHD_DATADIR
#error "AUTHD_DATADIR (the installed data folder) comes from the Makefile"
#endif

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *out;

	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s/%s", dir, name);
	return out;
}

/* Cuts the last "/component" off path in place; returns the component, or
 * NULL when path has no slash. "/x" leaves "" (the root). */
static const char *
cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return slash + 1;
}

/* 0 and the checkout folder in top when exe is TOP/BUILD/bin/PROGRAM and
 * TOP/BUILD/libauthd-core.a exists. */
static int
build_tree_top(const char *exe, char *top, size_t cap)
{
	char probe[PATH_MAX];
	const char *dir;
	struct stat st;
	int n;

	if (exe[0] != '/' || strlen(exe) >= cap)
		return -1;
	memcpy(top, exe, strlen(exe) + 1);
	if (cut_last(top) == NULL)			/* PROGRAM */
		return -1;
	/* BUILD/bin/ (authd, authctl) and BUILD/tests/ (the unit tests, which
	 * load the pages): both only the Makefile makes. */
	if ((dir = cut_last(top)) == NULL || (strcmp(dir, "bin") != 0 && strcmp(dir, "tests") != 0))
		return -1;
	n = snprintf(probe, sizeof(probe), "%s/libauthd-core.a", top);	/* top is TOP/BUILD */
	if (n < 0 || (size_t)n >= sizeof(probe) || stat(probe, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return cut_last(top) == NULL ? -1 : 0;		/* BUILD */
}

char *
datafile_resolve(const char *configured, const char *name, const char *exe,
    const char *installed)
{
	char top[PATH_MAX], *share, *out;

	if (configured != NULL && configured[0] != '\0')
		return strdup(configured);
	if (exe != NULL && build_tree_top(exe, top, sizeof(top)) == 0) {
		if ((share = join(top, "share")) == NULL)
			return NULL;
		out = join(share, name);
		free(share);
		return out;
	}
	return join(installed, name);
}

char *
datafile_path(const char *configured, const char *name)
{
	char exe[PATH_MAX];
	ssize_t n;

	/* The kernel's answer has every symlink resolved, so a link to a build
	 * tree's binary (~/bin/authctl) still finds that tree's share/. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return datafile_resolve(configured, name, NULL, AUTHD_DATADIR);
	exe[n] = '\0';
	return datafile_resolve(configured, name, exe, AUTHD_DATADIR);
}

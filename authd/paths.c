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

char *
authd_data_path(const char *configured, const char *name)
{
	char exe[PATH_MAX], *slash, *p;
	struct stat st;
	ssize_t n;
	int up;

	if (configured != NULL && configured[0] != '\0')
		return strdup(configured);
	/* The kernel's answer has every symlink resolved. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && (size_t)n < sizeof(exe) - 1) {
		exe[n] = '\0';
		for (up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++)
			*slash = '\0';	/* PROGRAM, bin (or tests), BUILD */
		if (up == 3 && strlen(exe) + sizeof("/share") < sizeof(exe)) {
			strcat(exe, "/share");
			if ((p = join(exe, name)) == NULL)
				return NULL;
			if (stat(p, &st) == 0)
				return p;
			free(p);
		}
	}
	return join(AUTHD_DATADIR, name);
}

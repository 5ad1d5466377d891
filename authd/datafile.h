/* authd/datafile.h — where authd and authctl find the files authd ships under
 * share/ (the common-password list today; page templates, message catalogues
 * and static files as they come). One rule for every such file, first match:
 *   1. the path the configuration names, when it names one;
 *   2. run from a build tree (TOP/BUILD/bin/PROGRAM or TOP/BUILD/tests/PROGRAM, where TOP/BUILD holds
 *      libauthd-core.a, which only the Makefile puts there): TOP/share/NAME,
 *      the checkout's own copy, found from /proc/self/exe;
 *   3. otherwise the installed copy, AUTHD_DATADIR/NAME ($(PREFIX)/share/authd,
 *      compiled in by the Makefile; `make install` puts the files there).
 * The rule picks a place, it does not look for the file: a build tree never
 * falls back to an installed (possibly older) copy. docs/operations.md says the
 * same for operators. */
#ifndef AUTHD_DATAFILE_H
#define AUTHD_DATAFILE_H

/* The path of data file NAME ("common-passwords.txt", "templates/login.html")
 * for this program; CONFIGURED (borrowed, may be NULL or "") wins when set.
 * The caller owns and frees the result; NULL only when out of memory. */
char *datafile_path(const char *configured, const char *name);

/* The same rule with the program's path EXE (absolute, symlinks resolved; NULL
 * when unknown) and the installed folder INSTALLED given: what datafile_path
 * does with /proc/self/exe and AUTHD_DATADIR. For the unit tests. */
char *datafile_resolve(const char *configured, const char *name, const char *exe,
    const char *installed);

#endif

/* authd/paths.h — where authd finds the files it ships under share/ (page
 * templates, message catalogues, static files). One rule, first match:
 *   1. the path the configuration names, when it names one;
 *   2. share/NAME of the checkout, when the program runs from its build tree:
 *      it is TOP/BUILD/DIR/PROGRAM (/proc/self/exe: build/bin/authd,
 *      build/tests/test_x) and TOP/BUILD/libauthd-core.a exists;
 *   3. otherwise the installed copy, AUTHD_DATADIR/NAME
 *      (/usr/local/share/authd; `make install` puts share/ there).
 * The rule picks a place, it does not look for the file: a build tree never
 * falls back to an installed (possibly older) copy.
 * Issue 10 brings the same rule for every shipped file (authd/datafile.c on
 * its branch); this is the minimal copy the page layer needs until then, with
 * the same call shape so the two merge into one. */
#ifndef AUTHD_PATHS_H
#define AUTHD_PATHS_H

/* The path of data file or folder NAME ("templates", "i18n/en.json");
 * CONFIGURED (borrowed; NULL or "" for none) wins when set. The caller frees
 * the result; NULL only when out of memory. */
char *authd_data_path(const char *configured, const char *name);

/* The same rule with the program's path EXE (absolute, symlinks resolved; NULL
 * when unknown) and the installed folder INSTALLED given: what
 * authd_data_path does with /proc/self/exe and AUTHD_DATADIR. For the tests. */
char *authd_data_resolve(const char *configured, const char *name, const char *exe,
    const char *installed);

#endif

/* authd/paths.h — where authd finds the files it ships under share/ (page
 * templates, message catalogues, static files). One rule, first match:
 *   1. the path the configuration names, when it names one;
 *   2. share/NAME of the checkout the program was built in: the folder two
 *      levels above the program (/proc/self/exe: build/bin/authd,
 *      build/tests/test_x), when that share/NAME exists;
 *   3. the installed copy, AUTHD_DATADIR/NAME (/usr/local/share/authd;
 *      `make install` puts share/ there).
 * Issue 10 brings the same rule for every shipped file (authd/datafile.c on
 * its branch); this is the minimal copy the page layer needs until then, with
 * the same call shape so the two merge into one. */
#ifndef AUTHD_PATHS_H
#define AUTHD_PATHS_H

/* The path of data file or folder NAME ("templates", "i18n/en.json");
 * CONFIGURED (borrowed; NULL or "" for none) wins when set. The caller frees
 * the result; NULL only when out of memory. */
char *authd_data_path(const char *configured, const char *name);

#endif

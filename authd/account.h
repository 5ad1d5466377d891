/* authd/account.h — the self-service account page (/account): who is signed
 * in, their sign-in methods, and TOTP enrolment, confirmation and removal. */
#ifndef AUTHD_ACCOUNT_H
#define AUTHD_ACCOUNT_H

#include "http.h"

/* GET and POST /account (form body). Without a valid session it starts a
 * sign-in that returns here. */
void account_page(struct http_req *r);

/* Text of the account pages in lang ("zh-TW" or "en"); the key if unknown. */
const char *account_t(const char *lang, const char *key);

#endif

/* authd/status.h — one status for the store, the core and the methods.
 *
 * Every function of those layers that can fail returns an int holding one of
 * these: ST_OK (0) or a reason, never a negative number. A caller tests
 * `rc != ST_OK` and then, where it matters, the reason. The numbers are fixed:
 * ST_OK..ST_INVALID keep the values STORE_* always had (write functions return
 * them through store_done_fn), the rest follow; new ones go before ST__COUNT.
 *
 * During issue 12's migration STORE_* (store.h) and METHOD_* (modules/method.h)
 * are aliases of these; code is moved to ST_* as it is rewritten and the
 * aliases go when nothing uses them. */
#ifndef AUTHD_STATUS_H
#define AUTHD_STATUS_H

enum st {
	ST_OK = 0,
	ST_NOTFOUND,    /* no such record, person or thing */
	ST_EXISTS,      /* already there (an insert-if-absent found one) */
	ST_CONFLICT,    /* refused by a write's own rule, or changed meanwhile */
	ST_FULL,        /* storage full */
	ST_CORRUPT,     /* a stored record that cannot be read (unknown version, bad JSON) */
	ST_IO,          /* any other storage or system failure */
	ST_SHUTDOWN,    /* stopping: nothing was done */
	ST_INVALID,     /* malformed input or a bad argument: nothing was done */
	ST_FAIL,        /* a wrong answer or an unknown person: one message for all */
	ST_THROTTLED,   /* too many attempts: try again later */
	ST_BUSY,        /* no place free now (queue full, an attempt in flight) */
	ST_PENDING,     /* an external verifier has not decided yet */
	ST_DENIED,      /* not allowed (a disabled account, refused by the person) */
	ST_EXPIRED,     /* too old: a transaction, a challenge, a code */
	ST_UNAVAILABLE, /* an external service is down or did not answer in time */
	ST_STEP_UP,     /* allowed only after a stronger sign-in */
	ST_ERROR,       /* an internal error (a bug, out of memory) */
	ST__COUNT
};

/* A short English description of st for logs and admin messages (static
 * string; never NULL: "unknown status" for a value outside the enum). */
const char *st_strerror(int st);

#endif

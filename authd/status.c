/* authd/status.c — descriptions of the status values (status.h). */
#include "status.h"

const char *
st_strerror(int st)
{
	static const char *const text[ST__COUNT] = {
		[ST_OK] = "ok",
		[ST_NOTFOUND] = "not found",
		[ST_EXISTS] = "already exists",
		[ST_CONFLICT] = "conflict (refused by a rule, or changed meanwhile)",
		[ST_FULL] = "storage full",
		[ST_CORRUPT] = "corrupt record (unknown version or bad JSON)",
		[ST_IO] = "storage or system failure",
		[ST_SHUTDOWN] = "shutting down",
		[ST_INVALID] = "invalid input",
		[ST_FAIL] = "failed (wrong answer or unknown person)",
		[ST_THROTTLED] = "too many attempts",
		[ST_BUSY] = "busy",
		[ST_PENDING] = "not decided yet",
		[ST_DENIED] = "denied",
		[ST_EXPIRED] = "expired",
		[ST_UNAVAILABLE] = "service unavailable",
		[ST_STEP_UP] = "a stronger sign-in is needed",
		[ST_ERROR] = "internal error",
	};

	if (st < 0 || st >= ST__COUNT)
		return "unknown status";
	return text[st];
}

/* authd/log.h — JSON lines on stderr: {"ts":"...","level":"info","msg":"...",...}.
 * Never pass secrets (passwords, codes, tokens, session ids) to these calls. */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(int level);
int log_enabled(int level);
/* msg is a fixed message; the varargs are key, value string pairs ending in NULL:
 *   log_msg(LOG_INFO, "listening", "addr", "127.0.0.1:8443", NULL);
 * Values are JSON-escaped. Thread-safe (one write(2) per line). */
void log_msg(int level, const char *msg, ...) __attribute__((sentinel));

#endif

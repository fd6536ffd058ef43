/* Logging and error context shared by every module.
 *
 * Libraries report an error once, where the context is known
 * ("qcow2: vmhost.img: L2 table at 0x... beyond end of file"), then return
 * -errno; only main() decides to exit. The last error message of the calling
 * thread is kept so tests can assert on it and callers can re-use it. */
#ifndef MINIVMM_LOG_H
#define MINIVMM_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Silence stderr output (tests); the last error is still recorded. */
void log_set_quiet(bool quiet);
bool log_get_quiet(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The text of the last log_error() made by this thread ("" if none). */
const char *log_last_error(void);
void log_clear_last_error(void);

#endif

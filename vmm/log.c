#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_INFO;
static bool quiet;
static _Thread_local char last_error[512];

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }
void log_set_quiet(bool q) { quiet = q; }
bool log_get_quiet(void) { return quiet; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[sizeof(last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (level == LOG_ERROR)
		memcpy(last_error, buf, sizeof(last_error));
	if (quiet || level > current_level)
		return;
	/* One write per line so lines from several threads do not interleave;
	 * "\r\n" because the terminal may be in raw mode while a VM runs. */
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	fprintf(stderr, "minivmm: %s%s\r\n", prefix[level], buf);
}

const char *log_last_error(void) { return last_error; }
void log_clear_last_error(void) { last_error[0] = '\0'; }

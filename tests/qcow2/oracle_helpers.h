/* Running qemu-img / qemu-io from the oracle tests. */
#ifndef MINIVMM_TEST_QCOW2_ORACLE_H
#define MINIVMM_TEST_QCOW2_ORACLE_H

#include "test_helpers.h"

#include <stdarg.h>
#include <sys/wait.h>

/* Run a shell command; returns its exit status (-1 if it did not exit). */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Run a command and capture its stdout (up to LEN-1 bytes). */
static inline int sh_out(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int sh_out(char *out, size_t len, const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline uint8_t *th_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

#endif

/* Shared helpers for the qcow2 tests: temp dirs, byte patching, models. */
#ifndef MINIVMM_TEST_QCOW2_HELPERS_H
#define MINIVMM_TEST_QCOW2_HELPERS_H

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* An assertion for hot loops: Check records every passing ck_assert through
 * a pipe, which is far too slow per byte. */
#define th_check(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)

/* The current test's temp dir; also removed at exit when a failed
 * assertion ends the test process before its teardown. */
static char th_current_dir[4096];

static inline void th_rm_current(void)
{
	char cmd[4200];
	if (!th_current_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", th_current_dir);
	th_current_dir[0] = '\0';
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", cmd + 7);
}

/* A fresh temp dir under $TMPDIR (or /tmp), removed by th_rmdir(). */
static inline void th_mkdir(char *out, size_t len)
{
	static bool registered;
	const char *t = getenv("TMPDIR");
	snprintf(out, len, "%s/qcow2test.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(out));
	snprintf(th_current_dir, sizeof(th_current_dir), "%s", out);
	if (!registered)
		registered = atexit(th_rm_current) == 0;
}

static inline void th_rmdir(const char *dir)
{
	(void)dir;
	th_rm_current();
}

static inline void th_path(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static inline void th_patch(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static inline void th_patch_be64(const char *path, uint64_t off, uint64_t v)
{
	uint64_t be = htobe64(v);
	th_patch(path, off, &be, 8);
}

static inline void th_patch_be32(const char *path, uint64_t off, uint32_t v)
{
	uint32_t be = htobe32(v);
	th_patch(path, off, &be, 4);
}

static inline uint64_t th_read_be64(const char *path, uint64_t off)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &v, 8, (off_t)off), 8);
	close(fd);
	return be64toh(v);
}

/* A 1 MiB qcow2 image (64 KiB clusters) whose first 4 KiB were written
 * (0x42): header, L1, one L2 table, refcounts and one data cluster, the
 * layout the byte-patching tests start from. */
static inline void th_make_one_cluster_image(const char *path)
{
	struct qcow2_create_opts co = {.size = 1u << 20};
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR};
	struct qcow2 *q;
	uint8_t buf[4096];

	ck_assert_int_eq(qcow2_create(path, &co), 0);
	memset(buf, 0x42, sizeof(buf));
	ck_assert_int_eq(qcow2_open(path, &o, &q), 0);
	ck_assert_int_eq(qcow2_write(q, 0, buf, sizeof(buf)), 0);
	ck_assert_int_eq(qcow2_close(q), 0);
}

/* xorshift64*: deterministic from a printed seed. */
static inline uint64_t th_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

#endif

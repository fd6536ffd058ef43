/* The qcow2 disk backend (disk_qcow2.c) on images made by qemu-img: an
 * overlay over a compressed base read, written, zeroed through disk_ops;
 * backing files locked read-only; `qemu-img check` clean afterwards and the
 * base unchanged. Needs qemu-img/qemu-io (Debian qemu-utils): exit 77
 * (skip) without them, failure when CI=true. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/disk.h"
#include "vmm/log.h"

#define MIB (1u << 20)

static char dir[] = "/tmp/minivmm-dq-XXXXXX";
static char base[96], top[96];

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static unsigned long file_sum(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	unsigned long s = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		s = s * 31 + (unsigned)c;
	fclose(f);
	return s;
}

static void setup(void)
{
	log_set_quiet(true);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char raw[96];
	snprintf(raw, sizeof(raw), "%s/base.raw", dir);
	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	sh("qemu-img create -q -f raw %s 4M && qemu-io -f raw -c 'write -P 0x5a 0 4M' %s "
	   ">/dev/null", raw, raw);
	sh("qemu-img convert -c -f raw -O qcow2 %s %s", raw, base);
	sh("qemu-img create -q -f qcow2 -F qcow2 -b %s %s", base, top);
}

static void teardown(void)
{
	sh("rm -rf %s%s", dir, "");
	strcpy(dir, "/tmp/minivmm-dq-XXXXXX");
}

static void expect_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(p[i] == v, "byte %zu is 0x%02x, want 0x%02x", i, p[i], v);
}

START_TEST(overlay_over_compressed_base)
{
	static uint8_t buf[2][65536];
	struct disk *d, *other;
	struct disk_opts o = { .path = top };
	unsigned long base_sum = file_sum(base);

	ck_assert_int_eq(disk_open(&o, &d), 0);
	ck_assert_str_eq(d->ops->format, "qcow2");
	ck_assert_uint_eq(d->size, 4 * MIB);
	struct iovec one = { buf[0], sizeof(buf[0]) };
	ck_assert_int_eq(d->ops->preadv(d, 0, &one, 1), 0);
	expect_bytes(buf[0], sizeof(buf[0]), 0x5a);		/* from the base */

	memset(buf[0], 0x55, 4096);
	memset(buf[1], 0x56, 4096);
	struct iovec two[2] = { { buf[0], 4096 }, { buf[1], 4096 } };
	ck_assert_int_eq(d->ops->pwritev(d, MIB + 512, two, 2), 0);
	ck_assert_int_eq(d->ops->flush(d), 0);
	ck_assert_int_eq(d->ops->write_zeroes(d, 2 * MIB, 65536, true), 0);
	ck_assert_int_eq(d->ops->discard(d, 3 * MIB, 65536), 0);

	/* The base and the overlay are locked while open. */
	struct disk_opts ob = { .path = base, .format = DISK_FORMAT_QCOW2 };
	ck_assert_int_eq(disk_open(&ob, &other), -EBUSY);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "locked by another process"));
	ck_assert_int_eq(disk_open(&o, &other), -EBUSY);
	ob.readonly = true;					/* sharing reads is fine */
	ck_assert_int_eq(disk_open(&ob, &other), 0);
	disk_close(other);
	disk_close(d);

	/* What qemu sees afterwards. */
	sh("qemu-img check -q %s%s", top, "");
	sh("qemu-io -f qcow2 -c 'read -P 0x5a 0 1M' -c 'read -P 0x55 1049088 4096' "
	   "-c 'read -P 0x56 1053184 4096' %s | grep -q 'verification failed' && exit 1 || "
	   "exit 0%s", top, "");
	sh("qemu-io -f qcow2 -c 'read -P 0 2M 64k' -c 'read -P 0 3M 64k' -c 'read -P 0x5a 1M 512' "
	   "%s | grep -q 'verification failed' && exit 1 || exit 0%s", top, "");
	ck_assert_uint_eq(file_sum(base), base_sum);
}
END_TEST

START_TEST(missing_backing_file)
{
	struct disk *d;
	char moved[112];
	snprintf(moved, sizeof(moved), "%s.moved", base);
	ck_assert_int_eq(rename(base, moved), 0);
	struct disk_opts o = { .path = top };
	ck_assert_int_lt(disk_open(&o, &d), 0);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "base.qcow2"));
}
END_TEST

int main(void)
{
	if (system("command -v qemu-img >/dev/null && command -v qemu-io >/dev/null") != 0) {
		const char *ci = getenv("CI");
		fprintf(stderr, "test_disk_qcow2: qemu-img/qemu-io not found (Debian qemu-utils)\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	Suite *s = suite_create("disk_qcow2");
	TCase *tc = tcase_create("disk_qcow2");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, overlay_over_compressed_base);
	tcase_add_test(tc, missing_backing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

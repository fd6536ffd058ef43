/* Disk layer: format probing, option parsing, image locking, raw ops. */
#include "devices/virtio/disk.h"
#include "tests/virtio/vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[256];

/* A file of 'size' bytes, the first bytes set to 'head'. */
static void make_image(const char *name, uint64_t size, const void *head, size_t head_len)
{
	int fd;
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (head_len)
		ck_assert_int_eq(pwrite(fd, head, head_len, 0), (ssize_t)head_len);
	close(fd);
}

static void fx_setup(void)
{
	log_set_quiet(true);
	log_clear_last_error();
}

static int open_disk(enum disk_format f, bool ro, struct disk **d)
{
	struct disk_opts o = { .path = path, .format = f, .readonly = ro };
	return disk_open(&o, d);
}

START_TEST(probe_formats)
{
	int fd;
	make_image("q.img", 1 << 20, "QFI\xfb\0\0\0\3", 8);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(disk_probe_format(fd, path), DISK_FORMAT_QCOW2);
	close(fd);
	make_image("r.img", 1 << 20, "QFI\xfa", 4);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(disk_probe_format(fd, path), DISK_FORMAT_RAW);
	close(fd);
	make_image("short.img", 3, "QFI", 3);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(disk_probe_format(fd, path), DISK_FORMAT_RAW);
	close(fd);
}
END_TEST

START_TEST(format_raw_is_never_probed)
{
	struct disk *d;
	make_image("looks-qcow2.img", 1 << 20, "QFI\xfb", 4);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &d), 0);
	ck_assert_str_eq(d->ops->format, "raw");
	ck_assert(!d->format_probed);
	ck_assert_uint_eq(d->size, 1 << 20);
	disk_close(d);
}
END_TEST

/* The magic alone sends the file to the qcow2 backend, whose engine
 * rejects the bogus header (naming the file). */
START_TEST(auto_qcow2_bogus_header)
{
	struct disk *d = (void *)1;
	make_image("auto.qcow2", 1 << 20, "QFI\xfb", 4);
	ck_assert_int_lt(open_disk(DISK_FORMAT_AUTO, false, &d), 0);
	ck_assert_ptr_null(d);
	ck_assert_last_error("auto.qcow2");
}
END_TEST

START_TEST(auto_raw_is_marked_probed)
{
	struct disk *d;
	struct iovec forge = { .iov_base = "QFI\xfb", .iov_len = 4 };
	struct iovec other = { .iov_base = "QFI\xfa", .iov_len = 4 };
	make_image("plain.img", 1 << 20, "hello", 5);
	ck_assert_int_eq(open_disk(DISK_FORMAT_AUTO, false, &d), 0);
	ck_assert(d->format_probed);
	ck_assert(disk_write_forges_header(d, 0, &forge, 1));
	ck_assert(!disk_write_forges_header(d, 0, &other, 1));
	ck_assert(!disk_write_forges_header(d, 512, &forge, 1));
	disk_close(d);
}
END_TEST

START_TEST(missing_file)
{
	struct disk *d;
	snprintf(path, sizeof(path), "%s/nope.img", test_tmpdir());
	ck_assert_int_eq(open_disk(DISK_FORMAT_AUTO, false, &d), -ENOENT);
	ck_assert_last_error("nope.img: cannot open for writing");
}
END_TEST

START_TEST(parse_options)
{
	char a[] = "disk.img,readonly,format=raw,direct";
	char b[] = "x.qcow2,format=qcow2";
	char c[] = "x.img,bogus";
	char e[] = ",readonly";
	struct disk_opts o;
	ck_assert_int_eq(disk_opts_parse(a, &o), 0);
	ck_assert_str_eq(o.path, "disk.img");
	ck_assert(o.readonly && o.direct);
	ck_assert_int_eq(o.format, DISK_FORMAT_RAW);
	ck_assert_int_eq(disk_opts_parse(b, &o), 0);
	ck_assert_int_eq(o.format, DISK_FORMAT_QCOW2);
	ck_assert(!o.readonly);
	ck_assert_int_eq(disk_opts_parse(c, &o), -EINVAL);
	ck_assert_last_error("unknown option 'bogus'");
	ck_assert_int_eq(disk_opts_parse(e, &o), -EINVAL);
}
END_TEST

/* OFD locks belong to the open file description: a second open in the
 * same process conflicts like a second process would. */
START_TEST(lock_second_writer)
{
	struct disk *a, *b;
	make_image("locked.img", 1 << 20, NULL, 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &a), 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &b), -EBUSY);
	ck_assert_last_error("locked.img: image is locked by another process");
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, true, &b), -EBUSY);
	disk_close(a);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &b), 0);
	disk_close(b);
}
END_TEST

START_TEST(lock_readers_share)
{
	struct disk *a, *b, *c;
	make_image("shared.img", 1 << 20, NULL, 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, true, &a), 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, true, &b), 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &c), -EBUSY);
	ck_assert_last_error("shared.img");
	disk_close(a);
	disk_close(b);
}
END_TEST

/* Interoperates with QEMU's locking: qemu-io cannot write our image. */
START_TEST(lock_against_qemu)
{
	struct disk *a;
	char cmd[600];
	int st;
	if (system("command -v qemu-io >/dev/null 2>&1") != 0) {
		ck_assert_msg(!getenv("CI") || strcmp(getenv("CI"), "true"),
			      "qemu-io missing (package qemu-utils) and CI=true");
		fprintf(stderr, "SKIP lock_against_qemu: qemu-io not installed\n");
		return;
	}
	make_image("qemu.img", 1 << 20, NULL, 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &a), 0);
	snprintf(cmd, sizeof(cmd), "qemu-io -f raw -c 'write 0 512' '%s' >/dev/null 2>&1", path);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	disk_close(a);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/* And the other way: while qemu-io has the image open for writing, we
 * cannot open it, neither writable nor read-only. */
START_TEST(lock_held_by_qemu)
{
	struct disk *a = NULL;
	char cmd[600];
	FILE *q;
	int r = 0;
	if (system("command -v qemu-io >/dev/null 2>&1") != 0) {
		ck_assert_msg(!getenv("CI") || strcmp(getenv("CI"), "true"),
			      "qemu-io missing (package qemu-utils) and CI=true");
		fprintf(stderr, "SKIP lock_held_by_qemu: qemu-io not installed\n");
		return;
	}
	make_image("held.img", 1 << 20, NULL, 0);
	snprintf(cmd, sizeof(cmd), "exec qemu-io -f raw '%s' >/dev/null 2>&1", path);
	q = popen(cmd, "w");	/* qemu-io waits for commands on stdin */
	ck_assert_ptr_nonnull(q);
	for (int i = 0; i < 500 && (r = open_disk(DISK_FORMAT_RAW, false, &a)) == 0; i++) {
		disk_close(a);	/* qemu-io has not opened it yet */
		usleep(10000);
	}
	ck_assert_int_eq(r, -EBUSY);
	ck_assert_last_error("held.img: image is locked by another process");
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, true, &a), -EBUSY);
	pclose(q);	/* EOF: qemu-io quits and drops its locks */
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &a), 0);
	disk_close(a);
}
END_TEST

START_TEST(raw_ops_bounds_and_readonly)
{
	struct disk *d;
	char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	make_image("ops.img", (1 << 20) + 100, NULL, 0);	/* tail not visible */
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &d), 0);
	ck_assert_uint_eq(d->size, 1 << 20);
	ck_assert_uint_eq(d->block_size, 512);
	ck_assert_int_eq(d->ops->preadv(d, (1 << 20) - 512, &iov, 1), 0);
	ck_assert_int_eq(d->ops->preadv(d, (1 << 20) - 511, &iov, 1), -EINVAL);
	ck_assert_int_eq(d->ops->discard(d, 1 << 20, 1), -EINVAL);
	ck_assert_int_eq(d->ops->write_zeroes(d, UINT64_MAX - 10, 512, false), -EINVAL);
	disk_close(d);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, true, &d), 0);
	ck_assert_int_eq(d->ops->pwritev(d, 0, &iov, 1), -EROFS);
	ck_assert_int_eq(d->ops->write_zeroes(d, 0, 512, false), -EROFS);
	ck_assert_int_eq(d->ops->discard(d, 0, 512), -EROFS);
	disk_close(d);
}
END_TEST

START_TEST(raw_write_zeroes_both_modes)
{
	struct disk *d;
	static char buf[8192];
	struct iovec iov = { buf, sizeof(buf) };
	make_image("wz.img", 1 << 20, NULL, 0);
	ck_assert_int_eq(open_disk(DISK_FORMAT_RAW, false, &d), 0);
	memset(buf, 0xab, sizeof(buf));
	ck_assert_int_eq(d->ops->pwritev(d, 4096, &iov, 1), 0);
	ck_assert_int_eq(d->ops->write_zeroes(d, 4096, 1024, false), 0);
	ck_assert_int_eq(d->ops->write_zeroes(d, 8192, 2048, true), 0);
	ck_assert_int_eq(d->ops->preadv(d, 4096, &iov, 1), 0);
	for (int i = 0; i < 8192; i++) {
		bool zero = i < 1024 || (i >= 4096 && i < 6144);
		ck_assert_int_eq((unsigned char)buf[i], zero ? 0 : 0xab);
	}
	ck_assert_int_eq(d->ops->flush(d), 0);
	disk_close(d);
}
END_TEST

TCase *tcase_disk(void)
{
	TCase *tc = tcase_create("disk");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, fx_setup, NULL);
	tcase_add_test(tc, probe_formats);
	tcase_add_test(tc, format_raw_is_never_probed);
	tcase_add_test(tc, auto_qcow2_bogus_header);
	tcase_add_test(tc, auto_raw_is_marked_probed);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, parse_options);
	tcase_add_test(tc, lock_second_writer);
	tcase_add_test(tc, lock_readers_share);
	tcase_add_test(tc, lock_against_qemu);
	tcase_add_test(tc, lock_held_by_qemu);
	tcase_add_test(tc, raw_ops_bounds_and_readonly);
	tcase_add_test(tc, raw_write_zeroes_both_modes);
	return tc;
}

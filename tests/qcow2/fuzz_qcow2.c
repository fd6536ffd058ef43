/* libFuzzer target: open (read-only and writable), read, write and check
 * an arbitrary byte string as a qcow2 image. Built with clang
 * -fsanitize=fuzzer,address,undefined (see meson.build). */
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t buf[256 * 1024];

static void exercise(const char *path, uint64_t pick, bool writable)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_NO_BACKING | (writable ? QCOW2_O_RDWR : 0),
				    .l2_cache_bytes = 4096,
				    .refcount_cache_bytes = 4096,
				    .decomp_cache_clusters = 2};
	struct qcow2_info info;

	if (qcow2_open(path, &o, &q))
		return;
	qcow2_get_info(q, &info);
	if (info.virtual_size) {
		for (int i = 0; i < 4; i++) {
			uint64_t off = (pick >> (i * 16)) % info.virtual_size;
			size_t len = sizeof(buf) / 4;
			if (len > info.virtual_size - off)
				len = info.virtual_size - off;
			if (writable && i == 1) {
				memset(buf, 0x5a, len);
				qcow2_write(q, off, buf, len);
			} else if (writable && i == 3) {
				qcow2_discard(q, off, len);
			} else {
				qcow2_read(q, off, buf, len);
			}
			struct qcow2_extent e;
			qcow2_map(q, off, len, &e);
		}
	}
	qcow2_close(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct qcow2_check_result r;
	uint64_t pick = 0x9e3779b97f4a7c15ull;
	int fd = memfd_create("fuzz.qcow2", 0);

	log_set_quiet(true);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < size && i < 64; i++)
		pick = (pick ^ data[size - 1 - i]) * 0x100000001b3ull;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	exercise(path, pick, false);
	qcow2_check(path, &r, false);
	if (pick & 1) { /* half the inputs: repair, then use the repaired image */
		struct qcow2_check_result after;
		qcow2_repair(path, (pick & 2) ? QCOW2_REPAIR_ALL : QCOW2_REPAIR_LEAKS, &r, &after,
			     false);
	}
	exercise(path, pick, true);
	close(fd);
	return 0;
}

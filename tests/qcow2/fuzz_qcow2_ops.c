/* libFuzzer target, differential: the input picks an image geometry and a
 * sequence of writes / write-zeroes / discards; they go to our engine and to
 * a flat in-memory model. The image must read back exactly like the model
 * and our checker must find neither corruption nor leaks. */
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DISK (1u << 20)

static uint8_t model[DISK], back[DISK], buf[DISK];

static unsigned take(const uint8_t **p, size_t *n, unsigned bytes)
{
	unsigned v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (*n ? **p : 0);
		if (*n) {
			(*p)++;
			(*n)--;
		}
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct qcow2 *q;
	struct qcow2_check_result r;
	unsigned cfg = take(&data, &size, 2);
	struct qcow2_create_opts co = {
	    .size = DISK - (cfg >> 12 & 7) * 512,
	    .cluster_size = 512u << (cfg % 8),
	    .refcount_bits = 1u << (cfg / 8 % 7),
	    .version = (cfg >> 6 & 3) == 0 ? 2 : 3,
	};
	if (co.version == 3 && (cfg >> 8 & 1) && co.cluster_size >= 16384)
		co.extended_l2 = true;
	if (co.version == 2)
		co.refcount_bits = 16;

	log_set_quiet(true);
	int fd = memfd_create("ops.qcow2", 0);
	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (qcow2_create(path, &co))
		__builtin_trap();
	struct qcow2_open_opts o = {
	    .flags = QCOW2_O_RDWR, .l2_cache_bytes = 2048, .refcount_cache_bytes = 2048};
	if (qcow2_open(path, &o, &q))
		__builtin_trap();
	memset(model, 0, sizeof(model));
	for (int i = 0; i < 64 && size >= 6; i++) {
		unsigned kind = take(&data, &size, 1);
		uint64_t off = take(&data, &size, 3) % co.size;
		uint64_t len = 1 + take(&data, &size, 2) * 4 % (co.size - off);
		int ret;
		if (kind % 4 < 2) {
			memset(buf, kind | 1, len);
			ret = qcow2_write(q, off, buf, len);
			memset(model + off, kind | 1, len);
		} else {
			ret = kind % 4 == 2 ? qcow2_write_zeroes(q, off, len, 0)
					    : qcow2_discard(q, off, len);
			memset(model + off, 0, len);
		}
		if (ret)
			__builtin_trap();
	}
	if (qcow2_read(q, 0, back, co.size) || memcmp(back, model, co.size))
		__builtin_trap();
	if (qcow2_close(q) || qcow2_check(path, &r, false) || r.corruptions || r.leaks)
		__builtin_trap();
	close(fd);
	return 0;
}

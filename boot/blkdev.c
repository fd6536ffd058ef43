/* The memory-buffer block device (tests and the fuzzer). */
#include "boot/blkdev.h"

#include <string.h>

int blkdev_mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct blkdev_mem *m = ctx;
	memcpy(buf, m->data + off, len);
	return 0;
}

static int blkdev_slice_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct blkdev_slice *s = ctx;
	return blkdev_read(s->parent, s->off + off, buf, len);
}

void blkdev_slice_init(const struct blkdev *parent, uint64_t off, uint64_t size,
		       struct blkdev_slice *slice, struct blkdev *out)
{
	if (off > parent->size)
		off = parent->size;
	if (size > parent->size - off)
		size = parent->size - off;
	*slice = (struct blkdev_slice){ .parent = parent, .off = off };
	*out = (struct blkdev){ .read = blkdev_slice_read, .ctx = slice, .size = size,
				.name = parent->name };
}

/* A read-only byte source the disk-boot code reads from: the first --disk
 * through devices/virtio/disk.h in minivmm, a memory buffer in tests and
 * the fuzzer. Every read is bounds-checked against size here, so parsers
 * cannot read outside the image whatever the image says. */
#ifndef MINIVMM_BOOT_BLKDEV_H
#define MINIVMM_BOOT_BLKDEV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct blkdev {
	/* Reads exactly len bytes at off (already checked against size). */
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size;		/* bytes */
	const char *name;	/* the image, for messages */
};

/* 0, -ERANGE if [off, off+len) is not inside the device, or the read's
 * -errno. */
static inline int blkdev_read(const struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	if (off > d->size || len > d->size - off)
		return -ERANGE;
	return len ? d->read(d->ctx, off, buf, len) : 0;
}

/* Little-endian fields of on-disk structures. */
static inline uint32_t blk_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t blk_le64(const uint8_t *p)
{
	return (uint64_t)blk_le32(p) | (uint64_t)blk_le32(p + 4) << 32;
}

/* A device over a memory buffer (tests, fuzzer). */
struct blkdev_mem {
	const uint8_t *data;
};
int blkdev_mem_read(void *ctx, uint64_t off, void *buf, size_t len);

/* A window [off, off+size) of a parent device (a partition); *out reads
 * through slice, which must live as long as *out. size is clipped to the
 * parent. */
struct blkdev_slice {
	const struct blkdev *parent;
	uint64_t off;
};
void blkdev_slice_init(const struct blkdev *parent, uint64_t off, uint64_t size,
		       struct blkdev_slice *slice, struct blkdev *out);

#endif

/* Raw images: guest offset X is file offset X. */
#include "devices/virtio/disk.h"

#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAW_MAX_IOV 1024	/* IOV_MAX */

static bool in_range(const struct disk *d, uint64_t off, uint64_t len)
{
	return off <= d->size && len <= d->size - off;
}

/* Advance an iovec array by n bytes (the part already transferred). */
static int iov_skip(struct iovec *iov, int cnt, size_t n, int *first)
{
	int i = *first;

	while (i < cnt && n >= iov[i].iov_len)
		n -= iov[i++].iov_len;
	if (i < cnt) {
		iov[i].iov_base = (char *)iov[i].iov_base + n;
		iov[i].iov_len -= n;
	}
	*first = i;
	return cnt - i;
}

static uint64_t iov_bytes(const struct iovec *iov, int cnt)
{
	uint64_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

static int raw_rw(struct disk *d, bool write, uint64_t off, const struct iovec *iov_in, int cnt)
{
	struct iovec iov[RAW_MAX_IOV];
	uint64_t total = iov_bytes(iov_in, cnt);
	int first = 0;

	if (cnt < 0 || cnt > RAW_MAX_IOV || !in_range(d, off, total))
		return -EINVAL;
	memcpy(iov, iov_in, sizeof(*iov) * cnt);
	while (total) {
		ssize_t n = write ? pwritev(d->fd, iov + first, cnt - first, (off_t)off)
				  : preadv(d->fd, iov + first, cnt - first, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			log_error("disk: %s: %s of %llu bytes at %llu failed: %s", d->path,
				  write ? "write" : "read", (unsigned long long)total,
				  (unsigned long long)off, strerror(e));
			return -e;
		}
		if (n == 0) {
			if (write)
				return -EIO;
			/* The file shrank under us: the rest reads as zeros. */
			for (int i = first; i < cnt; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		total -= (uint64_t)n;
		off += (uint64_t)n;
		iov_skip(iov, cnt, (size_t)n, &first);
	}
	return 0;
}

static int raw_preadv(struct disk *d, uint64_t off, const struct iovec *iov, int cnt)
{
	return raw_rw(d, false, off, iov, cnt);
}

static int raw_pwritev(struct disk *d, uint64_t off, const struct iovec *iov, int cnt)
{
	if (d->readonly)
		return -EROFS;
	return raw_rw(d, true, off, iov, cnt);
}

static int raw_flush(struct disk *d)
{
	if (fdatasync(d->fd) < 0) {
		int e = errno;
		log_error("disk: %s: fdatasync failed: %s", d->path, strerror(e));
		return -e;
	}
	return 0;
}

static int raw_discard(struct disk *d, uint64_t off, uint64_t len)
{
	if (d->readonly)
		return -EROFS;
	if (!in_range(d, off, len))
		return -EINVAL;
	/* Advisory: a file system without hole punching keeps the data. */
	if (len && fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)off, (off_t)len) < 0 && errno != EOPNOTSUPP) {
		int e = errno;
		log_error("disk: %s: discard at %llu failed: %s", d->path,
			  (unsigned long long)off, strerror(e));
		return -e;
	}
	return 0;
}

static int write_zero_buffers(struct disk *d, uint64_t off, uint64_t len)
{
	static const char zeros[65536] __attribute__((aligned(4096)));
	int r = 0;

	while (len && !r) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		struct iovec iov = { .iov_base = (void *)zeros, .iov_len = n };

		r = raw_rw(d, true, off, &iov, 1);
		off += n;
		len -= n;
	}
	return r;
}

static int raw_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	int mode = may_unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;

	if (d->readonly)
		return -EROFS;
	if (!in_range(d, off, len))
		return -EINVAL;
	if (!len || fallocate(d->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	int e = errno;
	if (e == EOPNOTSUPP || e == EINVAL)
		return write_zero_buffers(d, off, len);
	log_error("disk: %s: write-zeroes at %llu failed: %s", d->path,
		  (unsigned long long)off, strerror(e));
	return -e;
}

static int raw_passthrough_fd(struct disk *d)
{
	return d->fd;
}

static const struct disk_ops raw_ops = {
	.format = "raw",
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.passthrough_fd = raw_passthrough_fd,
};

static int raw_size(struct disk *d, uint64_t *size)
{
	struct stat st;

	if (fstat(d->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(d->fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

int disk_raw_open(struct disk *d)
{
	uint64_t size;
	int r = raw_size(d, &size);

	if (r < 0) {
		log_error("disk: %s: not a regular file or block device, or no size: %s",
			  d->path, strerror(-r));
		return r;
	}
	if (size % 512)
		log_warn("disk: %s: size %llu is not a multiple of 512; the tail is not visible",
			 d->path, (unsigned long long)size);
	d->ops = &raw_ops;
	d->size = size - size % 512;
	/* O_DIRECT needs aligned buffers and offsets; 4096 covers 4Kn disks. */
	d->block_size = d->direct ? 4096 : 512;
	return 0;
}

/* qcow2 images under virtio-blk: the qcow2 engine (qcow2/qcow2.h) behind
 * struct disk_ops. The engine serializes calls on an image. The I/O thread
 * asks map() first: reads of allocated clusters and writes into clusters
 * this image owns alone go to io_uring on the image file; everything else
 * (zeros, backing, compressed, allocating writes, discard) runs these ops
 * synchronously on the I/O thread, after its in-flight I/O completed.
 *
 * disk.c already opened and locked the image file itself; the engine opens
 * its own descriptors. Every backing file is locked read-only (QEMU's
 * shared-read lock), so no writer can change a base under a running VM. */
#include "devices/virtio/disk.h"
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QCOW2_MAX_CHAIN 16

struct qcow2_disk {
	struct qcow2 *q;
	int backing_fd[QCOW2_MAX_CHAIN];	/* hold the read-only locks */
	unsigned nbacking;
};

static struct qcow2 *engine(struct disk *d) { return ((struct qcow2_disk *)d->priv)->q; }

static int q_preadv(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		int r = qcow2_read(engine(d), off, iov[i].iov_base, iov[i].iov_len);
		if (r < 0)
			return r;
		off += iov[i].iov_len;
	}
	return 0;
}

static int q_pwritev(struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		int r = qcow2_write(engine(d), off, iov[i].iov_base, iov[i].iov_len);
		if (r < 0)
			return r;
		off += iov[i].iov_len;
	}
	return 0;
}

static int q_flush(struct disk *d) { return qcow2_flush(engine(d)); }

static int q_discard(struct disk *d, uint64_t off, uint64_t len)
{
	return qcow2_discard(engine(d), off, len);
}

static int q_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	return qcow2_write_zeroes(engine(d), off, len, may_unmap ? QCOW2_ZERO_MAY_UNMAP : 0);
}

/* Data I/O in place only on clusters of this image alone (refcount 1),
 * and only when one host-contiguous extent covers the whole request. */
static int q_map(struct disk *d, uint64_t off, uint64_t len, bool write, int *fd,
		 uint64_t *host_off)
{
	struct qcow2_extent e;
	int r = qcow2_map(engine(d), off, len, &e);

	if (r < 0)
		return r;
	if (e.kind != QCOW2_MAP_DATA || e.len < len || (write && !e.writable))
		return 0;
	*fd = qcow2_fd(engine(d));
	*host_off = e.host_off;
	return 1;
}

static void q_close(struct disk *d)
{
	struct qcow2_disk *p = d->priv;
	if (!p)
		return;
	if (p->q)
		qcow2_close(p->q);
	for (unsigned i = 0; i < p->nbacking; i++)
		close(p->backing_fd[i]);
	free(p);
	d->priv = NULL;
}

static const struct disk_ops qcow2_ops = {
	.format = "qcow2",
	.preadv = q_preadv, .pwritev = q_pwritev, .flush = q_flush,
	.discard = q_discard, .write_zeroes = q_write_zeroes, .close = q_close, .map = q_map,
};

/* Lock 'path' read-only and find the next file of the chain. */
static int lock_backing(struct qcow2_disk *p, const char *path, char *next, size_t next_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		log_error("disk: backing file %s: cannot open: %s", path, strerror(e));
		return -e;
	}
	p->backing_fd[p->nbacking++] = fd;
	int r = disk_lock_image(fd, path, false);
	if (r < 0)
		return r;
	next[0] = '\0';
	if (disk_probe_format(fd, path) != DISK_FORMAT_QCOW2)
		return 0;	/* a raw base ends the chain */
	struct qcow2 *q;
	struct qcow2_open_opts o = { .flags = QCOW2_O_NO_BACKING | QCOW2_O_SHARED };
	if ((r = qcow2_open(path, &o, &q)) < 0)
		return r;
	struct qcow2_info *info = malloc(sizeof(*info));
	if (info) {
		qcow2_get_info(q, info);
		snprintf(next, next_len, "%s", info->backing_full);
	}
	bool ok = info != NULL;
	free(info);
	qcow2_close(q);
	return ok ? 0 : -ENOMEM;
}

static int lock_chain(struct qcow2_disk *p, const char *first)
{
	char path[4096], next[4096];
	snprintf(path, sizeof(path), "%s", first);
	while (path[0]) {
		if (p->nbacking == QCOW2_MAX_CHAIN) {
			log_error("disk: %s: backing chain longer than %d files", first,
				  QCOW2_MAX_CHAIN);
			return -ELOOP;
		}
		int r = lock_backing(p, path, next, sizeof(next));
		if (r < 0)
			return r;
		memcpy(path, next, sizeof(path));
	}
	return 0;
}

int disk_qcow2_open(struct disk *d)
{
	struct qcow2_disk *p = calloc(1, sizeof(*p));
	struct qcow2_info *info = calloc(1, sizeof(*info));
	int r = -ENOMEM;
	d->priv = p;		/* from here disk_close() -> q_close() frees it */
	d->ops = &qcow2_ops;
	if (!p || !info) {
		log_error("disk: %s: out of memory", d->path);
		goto out;
	}
	/* disk.c and lock_chain() hold the QEMU-style locks on the image and
	 * every backing file; the engine taking its own on other descriptors
	 * of the same files would conflict with ours. */
	struct qcow2_open_opts o = {
		.flags = (d->readonly ? 0 : QCOW2_O_RDWR) | QCOW2_O_SHARED,
	};
	if ((r = qcow2_open(d->path, &o, &p->q)) < 0)
		goto out;	/* logged by the engine */
	qcow2_get_info(p->q, info);
	if ((r = lock_chain(p, info->backing_full)) < 0)
		goto out;
	d->size = info->virtual_size - info->virtual_size % 512;
	d->block_size = 512;
	r = 0;
out:
	free(info);
	return r;
}

/* virtio-blk requests: parse a chain (header, data, status), check it,
 * run it synchronously if needed, complete it. Every popped chain is
 * completed here, with an error status if it is malformed. */
#include "devices/virtio/blk_internal.h"

#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((format(printf, 3, 4)))
req_fail(struct blk_req *r, uint8_t status, const char *fmt, ...)
{
	struct vblk *b = r->b;
	char msg[200];
	va_list ap;

	r->op = BLK_OP_NONE;
	r->result = status;
	if (!ratelimit_ok(&b->rl))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("virtio-blk: %s: request %u: %s", b->name, r->chain.head, msg);
}

/* The status is the last byte of the last buffer, which must be writable. */
static bool find_status(struct blk_req *r, unsigned *nbufs)
{
	struct virtq_seg *last;

	*nbufs = r->chain.nseg;
	if (*nbufs == 0)
		return false;
	last = &r->seg[*nbufs - 1];
	if (!last->writable || last->len == 0 || !last->hva)
		return false;
	r->status = (volatile uint8_t *)last->hva + last->len - 1;
	return true;
}

/* Copy the 16-byte header out of the readable buffers (it may be split);
 * returns the number of bytes of the chain it used, 0 if it is short. */
static uint32_t read_header(struct blk_req *r, unsigned nbufs, struct virtio_blk_req_hdr *h)
{
	uint8_t *dst = (uint8_t *)h;
	uint32_t got = 0;

	for (unsigned i = 0; i < nbufs && got < sizeof(*h); i++) {
		const struct virtq_seg *s = &r->seg[i];
		uint32_t n = s->len < sizeof(*h) - got ? s->len : (uint32_t)sizeof(*h) - got;

		if (s->writable)
			return 0;
		memcpy(dst + got, s->hva, n);
		got += n;
	}
	__asm__ __volatile__("" ::: "memory");	/* one read of guest memory */
	return got == sizeof(*h) ? got : 0;
}

/* Data = the buffers between the header and the status byte, all writable
 * (want_writable) or all readable. False if the direction is wrong. */
static bool collect_data(struct blk_req *r, unsigned nbufs, uint32_t skip, bool want_writable)
{
	r->iovcnt = 0;
	r->len = 0;
	for (unsigned i = 0; i < nbufs; i++) {
		const struct virtq_seg *s = &r->seg[i];
		uint32_t start = 0, len = s->len;

		if (i == nbufs - 1)
			len--;	/* the status byte */
		if (skip) {
			start = skip < len ? skip : len;
			skip -= start;
		}
		if (len == start)
			continue;
		if (s->writable != want_writable)
			return false;
		r->iov[r->iovcnt].iov_base = (uint8_t *)s->hva + start;
		r->iov[r->iovcnt++].iov_len = len - start;
		r->len += len - start;
	}
	return true;
}

static bool feature(const struct vblk *b, unsigned bit)
{
	return b->features & VIRTIO_BIT(bit);
}

static bool iov_aligned(const struct blk_req *r, uintptr_t align)
{
	for (int i = 0; i < r->iovcnt; i++)
		if ((uintptr_t)r->iov[i].iov_base % align || r->iov[i].iov_len % align)
			return false;
	return true;
}

static void parse_rw(struct vblk *b, struct blk_req *r, uint64_t sector, bool write)
{
	uint64_t cap = b->disk->size;

	if (write && b->disk->readonly)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "write to a read-only disk");
	if (r->len % VIRTIO_BLK_SECTOR)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "length %llu not a multiple of 512",
				(unsigned long long)r->len);
	/* Hold the driver to the size_max it was offered: the bounce path
	 * below allocates r->len bytes, and a chain may name one guest buffer
	 * many times, so a small guest could otherwise make us allocate GiBs. */
	for (int i = 0; i < r->iovcnt; i++)
		if (r->iov[i].iov_len > VBLK_SIZE_MAX)
			return req_fail(r, VIRTIO_BLK_S_IOERR,
					"data segment of %zu bytes over size_max %u",
					r->iov[i].iov_len, VBLK_SIZE_MAX);
	if (sector > cap / VIRTIO_BLK_SECTOR || r->len > cap - sector * VIRTIO_BLK_SECTOR)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "sector %llu + %llu bytes beyond capacity %llu",
				(unsigned long long)sector, (unsigned long long)r->len,
				(unsigned long long)cap / VIRTIO_BLK_SECTOR);
	r->off = sector * VIRTIO_BLK_SECTOR;
	r->op = write ? BLK_OP_WRITE : BLK_OP_READ;
	/* Bounce through an aligned private copy: the first sector of a
	 * probed raw image (checked on the copy, so the guest cannot change it
	 * between check and write), and O_DIRECT with unaligned buffers. */
	if ((write && r->off == 0 && b->disk->format_probed) ||
	    (b->disk->direct && !iov_aligned(r, b->disk->block_size)))
		r->op = BLK_OP_SYNC;
	/* A driver without FLUSH expects a write-through cache (5.2.5). */
	if (write && !feature(b, VIRTIO_BLK_F_FLUSH))
		r->op = BLK_OP_SYNC;
}

/* Discard and write-zeroes: copy the ranges out of guest memory once,
 * check the copy now, run the copy in exec. */
static void parse_dwz(struct vblk *b, struct blk_req *r)
{
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t cap = b->disk->size / VIRTIO_BLK_SECTOR;
	const uint8_t *p;

	r->ndwz = 0;
	if (!feature(b, wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
		return req_fail(r, VIRTIO_BLK_S_UNSUPP, "%s not negotiated",
				wz ? "write-zeroes" : "discard");
	if (b->disk->readonly)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "discard/write-zeroes on a read-only disk");
	if (r->iovcnt != 1 || r->len == 0 || r->len % sizeof(r->dwz[0]) ||
	    r->len / sizeof(r->dwz[0]) > VBLK_DWZ_SEG_MAX)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "bad range list (%llu bytes in %d buffers)",
				(unsigned long long)r->len, r->iovcnt);
	p = r->iov[0].iov_base;
	r->ndwz = (unsigned)(r->len / sizeof(r->dwz[0]));
	memcpy(r->dwz, p, r->ndwz * sizeof(r->dwz[0]));
	__asm__ __volatile__("" ::: "memory");	/* one read of guest memory */
	for (unsigned i = 0; i < r->ndwz; i++) {
		const struct virtio_blk_discard_write_zeroes *seg = &r->dwz[i];
		if (seg->flags & ~(wz ? VIRTIO_BLK_DWZ_F_UNMAP : 0u))
			return req_fail(r, VIRTIO_BLK_S_UNSUPP, "range flags 0x%x", seg->flags);
		if (seg->sector > cap || seg->num_sectors > cap - seg->sector)
			return req_fail(r, VIRTIO_BLK_S_IOERR, "range %llu+%u beyond capacity %llu",
					(unsigned long long)seg->sector, seg->num_sectors,
					(unsigned long long)cap);
	}
	r->op = BLK_OP_SYNC;
}

static void parse_type(struct vblk *b, struct blk_req *r, unsigned nbufs, uint32_t hdr_len,
		       uint64_t sector)
{
	bool to_guest = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;

	if (!collect_data(r, nbufs, hdr_len, to_guest))
		return req_fail(r, VIRTIO_BLK_S_IOERR, "data buffers of type %u in the wrong direction",
				r->type);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return parse_rw(b, r, sector, false);
	case VIRTIO_BLK_T_OUT:
		return parse_rw(b, r, sector, true);
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		return;
	case VIRTIO_BLK_T_GET_ID:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (r->type != VIRTIO_BLK_T_GET_ID)
			return parse_dwz(b, r);
		r->op = BLK_OP_SYNC;
		return;
	default:
		b->stats.unsupported++;
		return req_fail(r, VIRTIO_BLK_S_UNSUPP, "unsupported type %u", r->type);
	}
}

void blk_req_parse(struct vblk *b, struct blk_req *r)
{
	struct virtio_blk_req_hdr h;
	unsigned nbufs;
	uint32_t hdr_len;

	r->op = BLK_OP_NONE;
	r->result = VIRTIO_BLK_S_OK;
	r->status = NULL;
	r->written = 0;
	r->iovcnt = 0;
	r->len = 0;
	r->ndwz = 0;
	b->stats.requests++;
	if (!find_status(r, &nbufs))
		return req_fail(r, VIRTIO_BLK_S_IOERR, "no writable status byte at the end");
	if (r->chain.fault)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "malformed buffers (see above)");
	hdr_len = read_header(r, nbufs, &h);
	if (!hdr_len)
		return req_fail(r, VIRTIO_BLK_S_IOERR, "header shorter than 16 readable bytes");
	r->type = h.type;
	parse_type(b, r, nbufs, hdr_len, h.sector);
}

/* GET_ID: up to 20 bytes of serial into the data buffers. */
static void exec_get_id(struct blk_req *r)
{
	const char *id = r->b->serial;
	uint32_t left = VIRTIO_BLK_ID_BYTES;

	for (int i = 0; i < r->iovcnt && left; i++) {
		uint32_t n = r->iov[i].iov_len < left ? (uint32_t)r->iov[i].iov_len : left;

		memcpy(r->iov[i].iov_base, id, n);
		id += n;
		left -= n;
		r->written += n;
	}
}

/* IN/OUT through an aligned private buffer (see parse_rw). */
static int exec_bounced(struct blk_req *r)
{
	struct disk *d = r->b->disk;
	struct iovec iov = { .iov_len = r->len };
	bool write = r->type == VIRTIO_BLK_T_OUT;
	size_t at = 0;
	int err;

	if (posix_memalign(&iov.iov_base, 4096, r->len ? r->len : 1))
		return -ENOMEM;
	for (int i = 0; write && i < r->iovcnt; at += r->iov[i].iov_len, i++)
		memcpy((uint8_t *)iov.iov_base + at, r->iov[i].iov_base, r->iov[i].iov_len);
	if (!write)
		err = d->ops->preadv(d, r->off, &iov, 1);
	else if (disk_write_forges_header(d, r->off, &iov, 1)) {
		req_fail(r, VIRTIO_BLK_S_IOERR, "write of a qcow2 header to a probed raw image "
			 "refused (open it with format=raw to allow)");
		err = -EPERM;
	} else {
		err = d->ops->pwritev(d, r->off, &iov, 1);
		if (!err && !feature(r->b, VIRTIO_BLK_F_FLUSH))
			err = d->ops->flush(d);
	}
	for (int i = 0; !write && !err && i < r->iovcnt; at += r->iov[i].iov_len, i++)
		memcpy(r->iov[i].iov_base, (uint8_t *)iov.iov_base + at, r->iov[i].iov_len);
	free(iov.iov_base);
	return err;
}

/* The ranges parse_dwz copied and checked: never re-read from the guest. */
static int exec_dwz(struct blk_req *r)
{
	struct disk *d = r->b->disk;
	int err = 0;

	for (unsigned i = 0; i < r->ndwz && !err; i++) {
		const struct virtio_blk_discard_write_zeroes *seg = &r->dwz[i];
		uint64_t off = seg->sector * VIRTIO_BLK_SECTOR;
		uint64_t len = (uint64_t)seg->num_sectors * VIRTIO_BLK_SECTOR;
		if (r->type == VIRTIO_BLK_T_DISCARD)
			err = d->ops->discard(d, off, len);
		else
			err = d->ops->write_zeroes(d, off, len, seg->flags & VIRTIO_BLK_DWZ_F_UNMAP);
	}
	return err;
}

void blk_req_exec_sync(struct blk_req *r)
{
	struct disk *d = r->b->disk;
	int err = 0;

	switch (r->op) {
	case BLK_OP_READ:
		err = d->ops->preadv(d, r->off, r->iov, r->iovcnt);
		break;
	case BLK_OP_WRITE:
		err = d->ops->pwritev(d, r->off, r->iov, r->iovcnt);
		break;
	case BLK_OP_FLUSH:
		err = d->readonly ? 0 : d->ops->flush(d);
		break;
	case BLK_OP_SYNC:
		if (r->type == VIRTIO_BLK_T_GET_ID)
			exec_get_id(r);
		else if (r->type == VIRTIO_BLK_T_OUT || r->type == VIRTIO_BLK_T_IN)
			err = exec_bounced(r);
		else
			err = exec_dwz(r);
		break;
	case BLK_OP_NONE:
		return;
	}
	blk_req_set_io_result(r, err);
}

void blk_req_set_io_result(struct blk_req *r, int err)
{
	if (err) {
		r->result = VIRTIO_BLK_S_IOERR;
		return;
	}
	r->result = VIRTIO_BLK_S_OK;
	if (r->type == VIRTIO_BLK_T_IN)
		r->written = (uint32_t)r->len;
}

/* The per-type counters of vm_get_stats() (`minivmm stats`). */
static void blk_req_count_ok(struct vblk *b, const struct blk_req *r)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		b->stats.rd_reqs++;
		b->stats.rd_bytes += r->len;
		break;
	case VIRTIO_BLK_T_OUT:
		b->stats.wr_reqs++;
		b->stats.wr_bytes += r->len;
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flush_reqs++;
		break;
	default:
		break;
	}
}

void blk_req_complete(struct blk_req *r)
{
	struct vblk *b = r->b;
	uint32_t len = r->written;

	if (r->result != VIRTIO_BLK_S_OK)
		b->stats.errors++;
	else
		blk_req_count_ok(b, r);
	if (r->status) {
		*r->status = r->result;
		len++;
	}
	/* A failed push means the queue was reset or broken meanwhile. */
	virtq_push(r->q->vq, r->chain.head, len);
	b->stats.completed++;
	blk_req_free(r);
}

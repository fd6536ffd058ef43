/* virtio-blk: features, configuration space, life cycle. */
#include "devices/virtio/blk_internal.h"

#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill_config(struct vblk *b)
{
	struct virtio_blk_config *c = &b->cfg;
	uint32_t bs = b->disk->block_size;

	memset(c, 0, sizeof(*c));
	c->capacity = b->disk->size / VIRTIO_BLK_SECTOR;
	c->size_max = VBLK_SIZE_MAX;
	c->seg_max = VBLK_SEG_MAX;
	c->blk_size = bs;
	c->num_queues = (uint16_t)b->nq;
	c->max_discard_sectors = UINT32_MAX;
	c->max_discard_seg = VBLK_DWZ_SEG_MAX;
	c->discard_sector_alignment = bs / VIRTIO_BLK_SECTOR;
	c->max_write_zeroes_sectors = UINT32_MAX;
	c->max_write_zeroes_seg = VBLK_DWZ_SEG_MAX;
	c->write_zeroes_may_unmap = 1;
}

static uint64_t offered_features(const struct disk *d, unsigned nq)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		     VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	if (nq > 1)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	if (d->readonly)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static void set_serial(struct vblk *b, const char *serial)
{
	const char *base;

	if (!serial) {
		base = strrchr(b->disk->path, '/');
		serial = base ? base + 1 : b->disk->path;
	}
	/* Exactly 20 bytes, NUL-padded; not NUL-terminated if 20 long. */
	memset(b->serial, 0, sizeof(b->serial));
	memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
}

struct vblk *vblk_create(struct disk *disk, const struct vblk_opts *opts,
			 const struct virtio_hooks *hooks)
{
	struct vblk *b = calloc(1, sizeof(*b));
	unsigned nq = opts && opts->num_queues ? opts->num_queues : 1;

	if (!b)
		return NULL;
	b->disk = disk;
	snprintf(b->name, sizeof(b->name), "%s", opts && opts->name ? opts->name : "vblk");
	if (nq > VBLK_MAX_QUEUES) {
		log_error("virtio-blk: %s: %u queues asked for, at most %u", b->name, nq,
			  VBLK_MAX_QUEUES);
		free(b);
		return NULL;
	}
	b->nq = nq;
	for (unsigned i = 0; i < nq; i++) {
		char qname[64];

		snprintf(qname, sizeof(qname), "%s: queue %u", b->name, i);
		b->q[i] = (struct vblk_queue){ .b = b, .index = i, .vq = virtq_create(qname) };
		if (!b->q[i].vq) {
			vblk_destroy(b);
			return NULL;
		}
	}
	if (hooks)
		b->hooks = *hooks;
	b->force_sync = opts && opts->force_sync;
	b->poll_us = opts && opts->poll_us ? opts->poll_us : VBLK_POLL_US_DEFAULT;
	set_serial(b, opts ? opts->serial : NULL);
	fill_config(b);
	b->offered = offered_features(disk, nq);
	return b;
}

void vblk_destroy(struct vblk *b)
{
	if (!b)
		return;
	if (b->q[0].vq)
		vblk_reset(b);
	for (unsigned i = 0; i < b->nq; i++) {
		virtq_destroy(b->q[i].vq);
		free(b->q[i].reqs);
	}
	free(b);
}

uint64_t vblk_features(const struct vblk *b) { return b->offered; }
unsigned vblk_num_queues(const struct vblk *b) { return b->nq; }
unsigned vblk_queue_max_size(const struct vblk *b) { (void)b; return VBLK_QUEUE_SIZE; }
uint32_t vblk_config_size(void) { return sizeof(struct virtio_blk_config); }

void vblk_config_read(const struct vblk *b, uint32_t off, void *buf, uint32_t len)
{
	const uint8_t *cfg = (const uint8_t *)&b->cfg;

	memset(buf, 0, len);
	if (off >= sizeof(b->cfg))
		return;
	if (len > sizeof(b->cfg) - off)
		len = sizeof(b->cfg) - off;
	memcpy(buf, cfg + off, len);
}

/* All of q's requests free; they are allocated the first time q is used
 * (a queue the driver never enables costs no memory). */
static int reset_requests(struct vblk_queue *q)
{
	if (!q->reqs && !(q->reqs = calloc(VBLK_QUEUE_SIZE, sizeof(*q->reqs))))
		return -ENOMEM;
	/* The top of the stack is request 0: the same few are reused. */
	for (unsigned i = 0; i < VBLK_QUEUE_SIZE; i++)
		q->free_idx[i] = (uint16_t)(VBLK_QUEUE_SIZE - 1 - i);
	q->nfree = VBLK_QUEUE_SIZE;
	q->inflight = 0;
	return 0;
}

static int start_queue(struct vblk *b, struct vblk_queue *q, const struct guest_mem *gm,
		       const struct virtio_queue_layout *l, uint64_t features)
{
	int r;

	if (!l->size)
		return 0;	/* not enabled: the driver does not use it */
	if (l->size > VBLK_QUEUE_SIZE) {
		log_error("virtio-blk: %s: queue %u size %u above the maximum %u", b->name,
			  q->index, l->size, VBLK_QUEUE_SIZE);
		return -EINVAL;
	}
	if ((r = reset_requests(q)))
		return r;
	if ((r = virtq_setup(q->vq, gm, l->size, l->desc, l->avail, l->used, features)))
		return r;
	q->active = true;
	return 0;
}

static void reset_queues(struct vblk *b)
{
	for (unsigned i = 0; i < b->nq; i++) {
		virtq_reset(b->q[i].vq);
		b->q[i].active = false;
	}
}

int vblk_start(struct vblk *b, const struct guest_mem *gm, uint64_t features,
	       const struct virtio_queue_layout *queues, const int *kick_fds)
{
	int r;

	vblk_reset(b);
	if (!(features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || (features & ~b->offered)) {
		log_error("virtio-blk: %s: driver accepted features 0x%llx (offered 0x%llx, "
			  "VERSION_1 required)", b->name, (unsigned long long)features,
			  (unsigned long long)b->offered);
		return -EINVAL;
	}
	for (unsigned i = 0; i < b->nq; i++)
		if ((r = start_queue(b, &b->q[i], gm, &queues[i], features))) {
			reset_queues(b);
			return r;
		}
	b->features = features;
	b->reset_requested = false;
	if (kick_fds) {
		r = blk_io_start(b, kick_fds);
		if (r) {
			reset_queues(b);
			return r;
		}
	}
	b->started = true;
	return 0;
}

void vblk_reset(struct vblk *b)
{
	if (b->io)
		blk_io_stop(b);	/* waits for in-flight I/O into guest memory */
	reset_queues(b);
	b->features = 0;
	b->started = false;
}

int vblk_process(struct vblk *b)
{
	if (!b->started || b->io)
		return 0;
	return blk_drain_sync(b);
}

void vblk_get_stats(const struct vblk *b, struct vblk_stats *o)
{
	o->requests = b->stats.requests;
	o->completed = b->stats.completed;
	o->errors = b->stats.errors;
	o->unsupported = b->stats.unsupported;
	o->notifies = b->stats.notifies;
	o->broken_rings = b->stats.broken_rings;
	o->inline_reads = b->stats.inline_reads;
	o->inline_rw = b->stats.inline_rw;
	o->nowait_misses = b->stats.nowait_misses;
	o->polls_hit = b->stats.polls_hit;
	o->mapped = b->stats.mapped;
	o->barriers = b->stats.barriers;
	o->rd_reqs = b->stats.rd_reqs;
	o->rd_bytes = b->stats.rd_bytes;
	o->wr_reqs = b->stats.wr_reqs;
	o->wr_bytes = b->stats.wr_bytes;
	o->flush_reqs = b->stats.flush_reqs;
}

struct blk_req *blk_req_alloc(struct vblk_queue *q)
{
	struct blk_req *r;

	if (!q->nfree)
		return NULL;
	r = &q->reqs[q->free_idx[--q->nfree]];
	r->b = q->b;
	r->q = q;
	r->chain.seg = r->seg;
	r->chain.max_seg = VBLK_MAX_BUFFERS;
	q->inflight++;
	return r;
}

void blk_req_free(struct blk_req *r)
{
	struct vblk_queue *q = r->q;

	q->free_idx[q->nfree++] = (uint16_t)(r - q->reqs);
	q->inflight--;
}

unsigned blk_inflight(const struct vblk *b)
{
	unsigned n = 0;

	for_each_active(b, i)
		n += b->q[i].inflight;
	return n;
}

void blk_ring_broken(struct vblk *b)
{
	if (b->reset_requested)
		return;
	b->reset_requested = true;
	b->stats.broken_rings++;
	log_error("virtio-blk: %s: the driver broke the request ring; device needs reset", b->name);
	if (b->hooks.needs_reset)
		b->hooks.needs_reset(b->hooks.opaque);
}

void blk_maybe_notify(struct vblk_queue *q)
{
	if (!virtq_should_notify(q->vq))
		return;
	q->b->stats.notifies++;
	if (q->b->hooks.notify)
		q->b->hooks.notify(q->b->hooks.opaque, q->index);
}

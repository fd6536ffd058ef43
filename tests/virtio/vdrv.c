/* Fake virtio driver; see vdrv.h. */
#include "tests/virtio/vdrv.h"

#include "devices/virtio/virtio_blk.h"
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vdrv_init(struct vdrv *d, uint64_t mem_size, unsigned qsize)
{
	memset(d, 0, sizeof(*d));
	if (posix_memalign((void **)&d->mem, 4096, mem_size))
		return -ENOMEM;
	memset(d->mem, 0, mem_size);
	d->mem_size = mem_size;
	d->gm = gmem_wrap(d->mem, mem_size);
	if (!d->gm) {
		free(d->mem);
		return -ENOMEM;
	}
	d->qsize = qsize;
	d->desc_gpa = 0;
	d->avail_gpa = virtq_desc_bytes(qsize);
	d->used_gpa = (d->avail_gpa + virtq_avail_bytes(qsize) + 4095) & ~4095ull;
	d->heap = (d->used_gpa + virtq_used_bytes(qsize) + 4095) & ~4095ull;
	return 0;
}

void vdrv_init_sibling(struct vdrv *q, struct vdrv *d, unsigned qsize, uint64_t heap_bytes)
{
	*q = *d;
	q->qsize = qsize;
	q->avail_idx = q->last_used = 0;
	q->desc_gpa = vdrv_alloc(d, virtq_desc_bytes(qsize), 16);
	q->avail_gpa = vdrv_alloc(d, virtq_avail_bytes(qsize), 2);
	q->used_gpa = vdrv_alloc(d, virtq_used_bytes(qsize), 4096);
	q->heap = vdrv_alloc(d, heap_bytes, 4096);
	q->mem_size = q->heap + heap_bytes;	/* its allocations stay in its part */
}

void vdrv_fini(struct vdrv *d)
{
	gmem_destroy(d->gm);
	free(d->mem);
	d->mem = NULL;
}

uint64_t vdrv_alloc(struct vdrv *d, uint64_t len, uint64_t align)
{
	uint64_t gpa = (d->heap + align - 1) & ~(align - 1);

	if (gpa + len > d->mem_size)
		abort();	/* a test sized its RAM wrong */
	memset(d->mem + gpa, 0, len);
	d->heap = gpa + len;
	return gpa;
}

void vdrv_heap_reset(struct vdrv *d)
{
	d->heap = (d->used_gpa + virtq_used_bytes(d->qsize) + 4095) & ~4095ull;
}

void *vdrv_hva(struct vdrv *d, uint64_t gpa) { return d->mem + gpa; }

struct virtq_desc *vdrv_desc(struct vdrv *d, unsigned i)
{
	return (struct virtq_desc *)(d->mem + d->desc_gpa) + i;
}

void vdrv_set_desc(struct vdrv *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next)
{
	*vdrv_desc(d, i) = (struct virtq_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static uint16_t *avail(struct vdrv *d) { return (uint16_t *)(d->mem + d->avail_gpa); }
static uint16_t *used(struct vdrv *d) { return (uint16_t *)(d->mem + d->used_gpa); }

void vdrv_publish(struct vdrv *d, uint16_t head)
{
	__atomic_store_n(&avail(d)[2 + (d->avail_idx % d->qsize)], head, __ATOMIC_RELAXED);
	d->avail_idx++;
	__atomic_store_n(&avail(d)[1], d->avail_idx, __ATOMIC_RELEASE);
}

void vdrv_set_avail_idx(struct vdrv *d, uint16_t idx)
{
	d->avail_idx = idx;
	__atomic_store_n(&avail(d)[1], idx, __ATOMIC_RELEASE);
}

uint16_t *vdrv_avail_flags(struct vdrv *d) { return &avail(d)[0]; }
uint16_t *vdrv_used_event(struct vdrv *d) { return &avail(d)[2 + d->qsize]; }
uint16_t *vdrv_used_flags(struct vdrv *d) { return &used(d)[0]; }
uint16_t *vdrv_avail_event(struct vdrv *d) { return &used(d)[2 + 4 * d->qsize]; }
uint16_t vdrv_used_idx(struct vdrv *d) { return __atomic_load_n(&used(d)[1], __ATOMIC_ACQUIRE); }

bool vdrv_get_used(struct vdrv *d, uint32_t *id, uint32_t *len)
{
	const uint32_t *elem;

	if (vdrv_used_idx(d) == d->last_used)
		return false;
	elem = (const uint32_t *)(used(d) + 2) + 2 * (d->last_used % d->qsize);
	*id = elem[0];
	*len = elem[1];
	d->last_used++;
	/* Like Linux's virtqueue_enable_cb: interrupt me for the next one. */
	__atomic_store_n(vdrv_used_event(d), d->last_used, __ATOMIC_RELAXED);
	return true;
}

uint64_t vdrv_blk_chain(struct vdrv *d, unsigned first, uint32_t type, uint64_t sector,
			uint64_t data_gpa, uint32_t data_len, bool data_writable)
{
	uint64_t hdr = vdrv_alloc(d, sizeof(struct virtio_blk_req_hdr), 16);
	uint64_t status = vdrv_alloc(d, 1, 1);
	struct virtio_blk_req_hdr *h = vdrv_hva(d, hdr);
	unsigned n = first;

	h->type = type;
	h->sector = sector;
	*(uint8_t *)vdrv_hva(d, status) = 0xff;
	vdrv_set_desc(d, n, hdr, sizeof(*h), VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
	n++;
	if (data_len) {
		if (!data_gpa)
			data_gpa = vdrv_alloc(d, data_len, 512);
		vdrv_set_desc(d, n, data_gpa, data_len,
			      VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0),
			      (uint16_t)(n + 1));
		n++;
	}
	vdrv_set_desc(d, n, status, 1, VIRTQ_DESC_F_WRITE, 0);
	return status;
}

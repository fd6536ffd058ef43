/* Split virtqueue, device side. See virtq.h for the error model. */
#include "devices/virtio/virtq.h"

#include "devices/virtio/ratelimit.h"
#include "devices/virtio/virtio.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct virtq {
	char name[48];
	const struct guest_mem *gm;
	unsigned size;
	bool ready;
	bool broken;
	bool event_idx;
	bool indirect;
	const struct virtq_desc *desc;	/* size entries */
	uint16_t *avail;		/* flags, idx, ring[size], used_event */
	uint16_t *used;			/* flags, idx, elems..., avail_event */
	uint16_t last_avail;		/* next avail ring slot to consume */
	uint16_t shadow_avail;		/* avail->idx last read (and checked) */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last notify decision */
	bool signalled_valid;
	bool kicks_disabled;
	struct ratelimit rl;
};

/* Shared ring words: one access each, never torn, never re-read by the
 * compiler. Ordering is by the explicit fences below. */
static inline uint16_t ld16(const uint16_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void st16(uint16_t *p, uint16_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

#define AVAIL_FLAGS(vq) (&(vq)->avail[0])
#define AVAIL_IDX(vq) (&(vq)->avail[1])
#define AVAIL_RING(vq, i) (&(vq)->avail[2 + (i)])
#define USED_EVENT(vq) (&(vq)->avail[2 + (vq)->size])
#define USED_FLAGS(vq) (&(vq)->used[0])
#define USED_IDX(vq) (&(vq)->used[1])
#define USED_ELEM(vq, i) ((uint32_t *)((vq)->used + 2) + 2 * (i))
#define AVAIL_EVENT(vq) (&(vq)->used[2 + 4 * (vq)->size])

static void __attribute__((format(printf, 2, 3))) vq_complain(struct virtq *vq, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!ratelimit_ok(&vq->rl))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("virtio: %s: %s", vq->name, msg);
}

/* A structural error: nothing more is taken from this queue until reset. */
static int vq_break(struct virtq *vq)
{
	vq->broken = true;
	return -EIO;
}

struct virtq *virtq_create(const char *name)
{
	struct virtq *vq = calloc(1, sizeof(*vq));

	if (!vq)
		return NULL;
	snprintf(vq->name, sizeof(vq->name), "%s", name ? name : "virtqueue");
	return vq;
}

void virtq_destroy(struct virtq *vq)
{
	free(vq);
}

void virtq_reset(struct virtq *vq)
{
	struct ratelimit rl = vq->rl;
	char name[sizeof(vq->name)];

	memcpy(name, vq->name, sizeof(name));
	memset(vq, 0, sizeof(*vq));
	memcpy(vq->name, name, sizeof(name));
	vq->rl = rl;
}

static void *vq_area(struct virtq *vq, const char *what, uint64_t gpa, uint64_t len, uint64_t align)
{
	void *p;

	if (gpa % align) {
		vq_complain(vq, "%s at 0x%llx not %llu-byte aligned", what,
			    (unsigned long long)gpa, (unsigned long long)align);
		return NULL;
	}
	p = gmem_ptr(vq->gm, gpa, len);
	if (!p)
		vq_complain(vq, "%s at 0x%llx (+0x%llx) outside guest RAM", what,
			    (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int virtq_setup(struct virtq *vq, const struct guest_mem *gm, unsigned size,
		uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	virtq_reset(vq);
	vq->gm = gm;
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1))) {
		vq_complain(vq, "queue size %u is not a power of two in 1..%u", size, VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	vq->size = size;
	vq->desc = vq_area(vq, "descriptor table", desc_gpa, virtq_desc_bytes(size), 16);
	vq->avail = vq_area(vq, "available ring", avail_gpa, virtq_avail_bytes(size), 2);
	vq->used = vq_area(vq, "used ring", used_gpa, virtq_used_bytes(size), 4);
	if (!vq->desc || !vq->avail || !vq->used) {
		virtq_reset(vq);
		return -EINVAL;
	}
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	/* Both indices start at 0 when the driver enables a queue; the
	 * device owns used->idx and the suppression fields from now on. */
	vq->used_idx = vq->last_avail = vq->shadow_avail = 0;
	st16(USED_FLAGS(vq), 0);
	st16(USED_IDX(vq), 0);
	if (vq->event_idx)
		st16(AVAIL_EVENT(vq), 0);
	vq->ready = true;
	return 0;
}

bool virtq_ready(const struct virtq *vq) { return vq->ready; }
bool virtq_broken(const struct virtq *vq) { return vq->broken; }
unsigned virtq_size(const struct virtq *vq) { return vq->size; }
const char *virtq_name(const struct virtq *vq) { return vq->name; }

/* Copy one descriptor out of shared memory. The compiler barrier makes the
 * local the only copy used afterwards (no re-read of guest memory). */
static void read_desc(const void *src, struct virtq_desc *d)
{
	memcpy(d, src, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

/* Where the walk is: the queue's table or one indirect table. */
struct walk {
	const uint8_t *table;
	unsigned entries;
	unsigned visited;
	bool in_indirect;
};

static int enter_indirect(struct virtq *vq, struct walk *w, const struct virtq_desc *d, uint16_t head)
{
	if (!vq->indirect)
		vq_complain(vq, "chain %u: indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", head);
	else if (w->in_indirect)
		vq_complain(vq, "chain %u: indirect descriptor inside an indirect table", head);
	else if (w->visited != 1)
		vq_complain(vq, "chain %u: indirect descriptor reached through a NEXT chain", head);
	else if (d->flags & VIRTQ_DESC_F_NEXT)
		vq_complain(vq, "chain %u: indirect descriptor with NEXT set", head);
	else if (d->len == 0 || d->len % sizeof(struct virtq_desc))
		vq_complain(vq, "chain %u: indirect table length %u not a non-zero multiple of 16",
			    head, d->len);
	else if (d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
		/* No chain may be longer than a queue can be; this also bounds
		 * the walk (a 4 GiB table would be 268M descriptors). */
		vq_complain(vq, "chain %u: indirect table of %u entries (more than %u)", head,
			    d->len / 16, VIRTQ_MAX_SIZE);
	else if (!(w->table = gmem_ptr(vq->gm, d->addr, d->len)))
		vq_complain(vq, "chain %u: indirect table at 0x%llx (+0x%x) outside guest RAM",
			    head, (unsigned long long)d->addr, d->len);
	else {
		w->entries = d->len / sizeof(struct virtq_desc);
		w->visited = 0;
		w->in_indirect = true;
		return 0;
	}
	return vq_break(vq);
}

/* Record one data buffer; buffer-level problems only set c->fault. */
static void add_buffer(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	struct virtq_seg seg = { .len = d->len, .writable = writable };

	seg.hva = gmem_ptr(vq->gm, d->addr, d->len);
	if (!seg.hva) {
		vq_complain(vq, "chain %u: buffer 0x%llx (+0x%x) outside guest RAM", c->head,
			    (unsigned long long)d->addr, d->len);
		c->fault = true;
	}
	if (!writable && c->writable_bytes) {
		vq_complain(vq, "chain %u: device-readable buffer after a device-writable one", c->head);
		c->fault = true;
	}
	if (writable)
		c->writable_bytes += d->len;
	else
		c->readable_bytes += d->len;
	if (c->readable_bytes + c->writable_bytes > UINT32_MAX && !c->fault) {
		vq_complain(vq, "chain %u: total length over 4 GiB", c->head);
		c->fault = true;
	}
	if (c->nseg == c->max_seg) {
		if (!c->fault)
			vq_complain(vq, "chain %u: more than %u buffers", c->head, c->max_seg);
		c->fault = true;
		c->seg[c->max_seg - 1] = seg;	/* keep the last one: the status */
		return;
	}
	c->seg[c->nseg++] = seg;
}

static int walk_chain(struct virtq *vq, struct virtq_chain *c)
{
	struct walk w = { .table = (const uint8_t *)vq->desc, .entries = vq->size };
	unsigned idx = c->head;
	struct virtq_desc d;

	for (;;) {
		if (++w.visited > w.entries) {
			vq_complain(vq, "chain %u: longer than its table (%u entries): loop?",
				    c->head, w.entries);
			return vq_break(vq);
		}
		read_desc(w.table + idx * sizeof(d), &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (enter_indirect(vq, &w, &d, c->head))
				return -EIO;
			idx = 0;
			continue;
		}
		add_buffer(vq, c, &d);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= w.entries) {
			vq_complain(vq, "chain %u: next index %u beyond table of %u", c->head, idx,
				    w.entries);
			return vq_break(vq);
		}
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx, pending, head;

	c->nseg = 0;
	c->fault = false;
	c->readable_bytes = c->writable_bytes = 0;
	if (vq->broken)
		return -EIO;
	if (!vq->ready || c->max_seg == 0)
		return 0;
	if (vq->shadow_avail == vq->last_avail) {
		/* Re-read the shared index only when the last one is used up:
		 * fewer cache-line transfers from the driver's CPU. */
		avail_idx = ld16(AVAIL_IDX(vq));
		pending = (uint16_t)(avail_idx - vq->last_avail);
		if (pending == 0)
			return 0;
		if (pending > vq->size) {
			vq_complain(vq, "avail idx %u is %u entries ahead of %u (queue size %u)",
				    avail_idx, pending, vq->last_avail, vq->size);
			return vq_break(vq);
		}
		vq->shadow_avail = avail_idx;
		/* Read ring entries only after seeing the index that covers them. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	}
	head = ld16(AVAIL_RING(vq, vq->last_avail & (vq->size - 1)));
	vq->last_avail++;
	if (head >= vq->size) {
		vq_complain(vq, "avail ring entry %u out of range (queue size %u)", head, vq->size);
		return vq_break(vq);
	}
	c->head = head;
	if (walk_chain(vq, c))
		return -EIO;
	return 1;
}

bool virtq_pending(const struct virtq *vq)
{
	return vq->ready && !vq->broken &&
	       (vq->shadow_avail != vq->last_avail || ld16(AVAIL_IDX(vq)) != vq->last_avail);
}

int virtq_fill(struct virtq *vq, unsigned offset, uint16_t head, uint32_t len)
{
	uint32_t *elem;

	if (!vq->ready || vq->broken || head >= vq->size || offset >= vq->size)
		return -EIO;
	elem = USED_ELEM(vq, (uint16_t)(vq->used_idx + offset) & (vq->size - 1));
	__atomic_store_n(&elem[0], (uint32_t)head, __ATOMIC_RELAXED);
	__atomic_store_n(&elem[1], len, __ATOMIC_RELAXED);
	return 0;
}

int virtq_flush(struct virtq *vq, unsigned count)
{
	if (!vq->ready || vq->broken || count > vq->size)
		return -EIO;
	vq->used_idx = (uint16_t)(vq->used_idx + count);
	/* The elements must be visible before the index that publishes them. */
	__atomic_store_n(USED_IDX(vq), vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	int ret = virtq_fill(vq, 0, head, len);
	return ret ? ret : virtq_flush(vq, 1);
}

void virtq_unpop(struct virtq *vq, unsigned count)
{
	/* The chains stay where they are in the avail ring (and were checked
	 * once already); popping them again walks them again. */
	vq->last_avail = (uint16_t)(vq->last_avail - count);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vq->ready)
		return false;
	/* Our used idx store must be ordered before reading the driver's
	 * suppression fields, or we may miss its update (spec 2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ld16(AVAIL_FLAGS(vq)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	event = ld16(USED_EVENT(vq));
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	return !valid || vring_need_event(event, vq->used_idx, old);
}

void virtq_disable_notify(struct virtq *vq)
{
	if (!vq->ready)
		return;
	/* With EVENT_IDX the driver kicks when it moves its index past
	 * avail_event; an event one behind what we consumed is never crossed
	 * (the driver cannot be more than a queue size ahead), so no kicks
	 * until virtq_enable_notify(). A stale value is not enough: after an
	 * enable it equals last_avail, which the next publish crosses. */
	if (vq->event_idx)
		st16(AVAIL_EVENT(vq), (uint16_t)(vq->last_avail - 1));
	else
		st16(USED_FLAGS(vq), VIRTQ_USED_F_NO_NOTIFY);
	vq->kicks_disabled = true;
}

bool virtq_enable_notify_new(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	uint16_t seen = ld16(AVAIL_IDX(vq));
	if (vq->event_idx)
		st16(AVAIL_EVENT(vq), seen);
	else
		st16(USED_FLAGS(vq), 0);
	vq->kicks_disabled = false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* as virtq_enable_notify() */
	return ld16(AVAIL_IDX(vq)) != seen;
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx)
		st16(AVAIL_EVENT(vq), vq->last_avail);
	else
		st16(USED_FLAGS(vq), 0);
	vq->kicks_disabled = false;
	/* Publish the re-enable before looking for work the driver added
	 * while kicks were off; otherwise both sides may wait. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(AVAIL_IDX(vq)) != vq->last_avail;
}

/* Split virtqueue (virtio 1.x, 2.7), device side, transport-independent.
 *
 * The driver places the descriptor table, available and used rings at
 * guest addresses; the transport hands them to virtq_setup(). Every ring
 * field and descriptor is hostile: each is read once into a local, then
 * checked; guest memory is reached only through gmem_ptr().
 *
 * Two kinds of errors:
 *  - a malformed *buffer* (address outside RAM, addr+len wrap, total over
 *    4 GiB, readable after writable, more segments than the device takes):
 *    virtq_pop() still returns the chain with 'fault' set, so the device can
 *    complete it with an error status;
 *  - a malformed *ring or chain structure* (avail idx too far ahead, head
 *    or next index out of range, loop, bad indirect table): the queue is
 *    marked broken, virtq_pop() returns -EIO, and the device must set
 *    NEEDS_RESET. Nothing is processed on a broken queue until reset.
 * Both are logged, rate-limited, with the queue name.
 *
 * One thread at a time per queue (the device's I/O thread). */
#ifndef MINIVMM_VIRTQ_H
#define MINIVMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;
struct virtq;

/* One guest buffer of a chain, already translated to a host pointer. */
struct virtq_seg {
	void *hva;		/* NULL if the buffer is not guest RAM (chain faulted) */
	uint32_t len;
	bool writable;		/* device-writable (VIRTQ_DESC_F_WRITE) */
};

/* A popped descriptor chain. The caller provides seg[] and max_seg. If the
 * chain has more buffers than max_seg, 'fault' is set and the last slot
 * holds the chain's last buffer (where devices put their status). */
struct virtq_chain {
	struct virtq_seg *seg;
	unsigned max_seg;
	unsigned nseg;
	uint16_t head;		/* id to give back to virtq_push() */
	bool fault;		/* some buffer is unusable: complete with an error */
	uint64_t readable_bytes;
	uint64_t writable_bytes;
};

/* 'name' is used in log lines ("vda: queue 0"). NULL on ENOMEM. */
struct virtq *virtq_create(const char *name);
void virtq_destroy(struct virtq *vq);

/* Enable the queue with the driver's layout. Checks: size a power of two
 * in 1..32768, alignments (16/2/4), each area wholly in guest RAM.
 * 'features' are the negotiated ones (INDIRECT_DESC, EVENT_IDX matter).
 * 0 or -EINVAL (logged). */
int virtq_setup(struct virtq *vq, const struct guest_mem *gm, unsigned size,
		uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);
/* Back to the disabled state (device reset). */
void virtq_reset(struct virtq *vq);

bool virtq_ready(const struct virtq *vq);
bool virtq_broken(const struct virtq *vq);
unsigned virtq_size(const struct virtq *vq);
const char *virtq_name(const struct virtq *vq);

/* Take the next available chain: 1 = got one (check c->fault), 0 = none
 * (or queue not ready), -EIO = the queue is broken (device NEEDS_RESET). */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);
/* True if the driver has published chains not yet popped (for polling;
 * virtq_pop() does the checking). */
bool virtq_pending(const struct virtq *vq);
/* Hand a chain back: 'len' bytes were written into its writable buffers.
 * 0, or -EIO if the queue is not usable or head is out of range. */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);
/* The same in two steps, for a device that hands back several chains as
 * one unit (virtio-net's mergeable RX buffers: the driver must see all of a
 * frame's buffers at once): virtq_fill() writes the used element OFFSET
 * places past the last published one, virtq_flush() publishes COUNT
 * elements. -EIO as virtq_push(), or if OFFSET/COUNT exceed the size. */
int virtq_fill(struct virtq *vq, unsigned offset, uint16_t head, uint32_t len);
int virtq_flush(struct virtq *vq, unsigned count);
/* Give back the last COUNT popped chains, not yet pushed (a device that
 * found too few buffers for a frame): the next virtq_pop() returns them
 * again. */
void virtq_unpop(struct virtq *vq, unsigned count);
/* After one or more pushes: must the driver be interrupted? Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT or, with EVENT_IDX, used_event. */
bool virtq_should_notify(struct virtq *vq);

/* Suppress driver kicks while the device is busy draining the queue. */
void virtq_disable_notify(struct virtq *vq);
/* Re-enable kicks; true if chains arrived meanwhile (drain again). */
bool virtq_enable_notify(struct virtq *vq);
/* Re-enable kicks for chains published from now on (a device that found
 * too few of the chains already there, and gave them back); true if some
 * were published meanwhile. */
bool virtq_enable_notify_new(struct virtq *vq);

#endif

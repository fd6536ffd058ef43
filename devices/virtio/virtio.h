/* Constants of the virtio 1.x specification shared by devices and transports:
 * feature bits, device status bits, and the split-ring layout. */
#ifndef MINIVMM_VIRTIO_H
#define MINIVMM_VIRTIO_H

#include <stdint.h>

/* Device-independent feature bits. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_BIT(b) (UINT64_C(1) << (b))

/* What a device (virtio-blk, virtio-net) asks of its transport; the I/O
 * threads call these. */
struct virtio_hooks {
	void (*notify)(void *opaque, unsigned queue);	/* used buffers for the driver */
	void (*needs_reset)(void *opaque);		/* ring broken by the driver */
	void *opaque;
};

/* One queue as the driver laid it out (common config of virtio-pci);
 * size 0: the driver did not enable it (unused). */
struct virtio_queue_layout {
	unsigned size;
	uint64_t desc, avail, used;
};

/* Device status (written by the driver; NEEDS_RESET set by the device). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Split virtqueue, little-endian on the wire (x86 hosts only, so the
 * fields are used as they are; le*toh() would be no-ops). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

#define VIRTQ_MAX_SIZE 32768

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes");

/* Sizes of the three areas for a queue of n entries (event index included). */
static inline uint64_t virtq_desc_bytes(unsigned n) { return 16ull * n; }
static inline uint64_t virtq_avail_bytes(unsigned n) { return 6ull + 2ull * n; }
static inline uint64_t virtq_used_bytes(unsigned n) { return 6ull + 8ull * n; }

/* True if moving the index from old to new_idx crossed event_idx (spec
 * 2.7.7.2 / 2.7.10): all arithmetic is modulo 2^16. */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif

/* A fake virtio driver for host-side tests, the fuzzer and the benchmark:
 * it owns a buffer wrapped as guest RAM (gmem_wrap), lays out one split
 * virtqueue in it, writes descriptors and publishes chains the way a
 * guest driver would, and reads back the used ring. */
#ifndef MINIVMM_TEST_VDRV_H
#define MINIVMM_TEST_VDRV_H

#include "devices/virtio/virtio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem;

struct vdrv {
	uint8_t *mem;
	uint64_t mem_size;
	struct guest_mem *gm;
	unsigned qsize;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint64_t heap;		/* next free byte for buffers */
	uint16_t avail_idx;	/* driver's shadow of avail->idx */
	uint16_t last_used;	/* next used element to read */
};

/* mem_size bytes of "RAM" (page-aligned), rings at the start. 0 / -ENOMEM. */
int vdrv_init(struct vdrv *d, uint64_t mem_size, unsigned qsize);
void vdrv_fini(struct vdrv *d);
/* Another queue in d's RAM (a multi-queue device): rings and heap_bytes
 * of buffers carved out of d's heap. Not to be passed to vdrv_fini. */
void vdrv_init_sibling(struct vdrv *q, struct vdrv *d, unsigned qsize, uint64_t heap_bytes);

/* Bump-allocate a buffer in guest RAM (zeroed); returns its GPA. */
uint64_t vdrv_alloc(struct vdrv *d, uint64_t len, uint64_t align);
void vdrv_heap_reset(struct vdrv *d);	/* free all buffers */
void *vdrv_hva(struct vdrv *d, uint64_t gpa);

struct virtq_desc *vdrv_desc(struct vdrv *d, unsigned i);
void vdrv_set_desc(struct vdrv *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next);
/* Put head in the avail ring and bump avail->idx (release order). */
void vdrv_publish(struct vdrv *d, uint16_t head);
/* Write avail->idx directly (hostile jumps). */
void vdrv_set_avail_idx(struct vdrv *d, uint16_t idx);

uint16_t *vdrv_avail_flags(struct vdrv *d);
uint16_t *vdrv_used_event(struct vdrv *d);
uint16_t *vdrv_used_flags(struct vdrv *d);
uint16_t *vdrv_avail_event(struct vdrv *d);
uint16_t vdrv_used_idx(struct vdrv *d);

/* Take the next used element: true and id/len if there is one; then ask
 * for an interrupt at the next used element (used_event). */
bool vdrv_get_used(struct vdrv *d, uint32_t *id, uint32_t *len);

/* virtio-blk: one chain at descriptors first..first+2: header (readable),
 * data (writable for IN/GET_ID, absent if data_len is 0), status
 * (writable). Buffers come from the heap unless data_gpa is given (!= 0).
 * Returns the status byte's GPA (initialised to 0xff). Not published. */
uint64_t vdrv_blk_chain(struct vdrv *d, unsigned first, uint32_t type, uint64_t sector,
			uint64_t data_gpa, uint32_t data_len, bool data_writable);

#endif

/* The split-virtqueue tests' fixture: the fake driver's RAM (VQ_MEM
 * bytes, defined before including), one queue of QS entries set up with
 * indirect descriptors and event index, and a chain with room for 16
 * buffers. Static state: each test file that includes it has its own. */
#ifndef MINIVMM_TEST_VQ_FIXTURE_H
#define MINIVMM_TEST_VQ_FIXTURE_H

#include "devices/virtio/virtq.h"
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"

#ifndef VQ_MEM
#error "define VQ_MEM (the fake RAM's size) before including vq_fixture.h"
#endif

#define QS 8
#define F_INDIRECT VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)

static struct vdrv d;
static struct virtq *vq;
static struct virtq_seg segs[16];
static struct virtq_chain ch;

static void setup_q(uint64_t features)
{
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, d.desc_gpa, d.avail_gpa, d.used_gpa, features), 0);
	ch = (struct virtq_chain){ .seg = segs, .max_seg = 16 };
}

static void fx_setup(void)
{
	log_set_quiet(true);
	log_clear_last_error();
	ck_assert_int_eq(vdrv_init(&d, VQ_MEM, QS), 0);
	vq = virtq_create("test: queue 0");
	ck_assert_ptr_nonnull(vq);
	setup_q(F_INDIRECT | F_EVENT);
}

static void fx_teardown(void)
{
	virtq_destroy(vq);
	vdrv_fini(&d);
}

#endif

/* Split virtqueue against crafted rings: setup checks, valid chains,
 * wrap-around, and every malformed case of virtq.h. */
#include "devices/virtio/virtq.h"
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdlib.h>

#define VQ_MEM (1u << 20)
#include "tests/virtio/vq_fixture.h"

/* ---- setup ---- */

START_TEST(setup_sizes)
{
	static const unsigned bad[] = { 0, 3, 6, 100, 65536, 32769 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		log_clear_last_error();
		ck_assert_int_eq(virtq_setup(vq, d.gm, bad[i], 0, 0x10000, 0x20000, 0), -EINVAL);
		ck_assert_last_error("not a power of two");
		ck_assert(!virtq_ready(vq));
	}
	ck_assert_int_eq(virtq_setup(vq, d.gm, 1, 0, 0x10000, 0x20000, 0), 0);
	ck_assert_int_eq(virtq_setup(vq, d.gm, 32768, 0, 0x80000, 0xa0000, 0), 0);
	ck_assert_uint_eq(virtq_size(vq), 32768);
	ck_assert(virtq_ready(vq));
}
END_TEST

START_TEST(setup_alignment)
{
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 8, 0x1000, 0x2000, 0), -EINVAL);
	ck_assert_last_error("descriptor table at 0x8 not 16-byte aligned");
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 0, 0x1001, 0x2000, 0), -EINVAL);
	ck_assert_last_error("available ring");
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 0, 0x1000, 0x2002, 0), -EINVAL);
	ck_assert_last_error("used ring at 0x2002 not 4-byte aligned");
}
END_TEST

START_TEST(setup_outside_ram)
{
	/* The used ring's last byte one past RAM: refused. */
	uint64_t used_end = (VQ_MEM - virtq_used_bytes(QS)) & ~3ull;
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 0, 0x1000, used_end + 4, 0), -EINVAL);
	ck_assert_last_error("used ring");
	ck_assert_last_error("outside guest RAM");
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 0, 0x1000, used_end, 0), 0);
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, UINT64_MAX - 15, 0x1000, 0x2000, 0), -EINVAL);
	ck_assert_int_eq(virtq_setup(vq, d.gm, QS, 0, VQ_MEM, 0x2000, 0), -EINVAL);
}
END_TEST

START_TEST(not_ready_pops_nothing)
{
	virtq_reset(vq);
	vdrv_set_desc(&d, 0, 0x8000, 16, 0, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 0);
	ck_assert_int_eq(virtq_push(vq, 0, 0), -EIO);
}
END_TEST

TCase *tcase_virtq_setup(void)
{
	TCase *tc = tcase_create("virtq_setup");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, setup_sizes);
	tcase_add_test(tc, setup_alignment);
	tcase_add_test(tc, setup_outside_ram);
	tcase_add_test(tc, not_ready_pops_nothing);
	return tc;
}

/* ---- valid chains ---- */

START_TEST(empty_queue)
{
	ck_assert_int_eq(virtq_pop(vq, &ch), 0);
}
END_TEST

START_TEST(readable_then_writable)
{
	vdrv_set_desc(&d, 3, 0x8000, 16, VIRTQ_DESC_F_NEXT, 5);
	vdrv_set_desc(&d, 5, 0x9000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vdrv_set_desc(&d, 1, 0xa000, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 3);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_uint_eq(ch.head, 3);
	ck_assert(!ch.fault);
	ck_assert_uint_eq(ch.nseg, 3);
	ck_assert_ptr_eq(segs[0].hva, d.mem + 0x8000);
	ck_assert(!segs[0].writable);
	ck_assert_ptr_eq(segs[1].hva, d.mem + 0x9000);
	ck_assert_uint_eq(segs[1].len, 512);
	ck_assert(segs[1].writable && segs[2].writable);
	ck_assert_uint_eq(ch.readable_bytes, 16);
	ck_assert_uint_eq(ch.writable_bytes, 513);
	ck_assert_int_eq(virtq_pop(vq, &ch), 0);
}
END_TEST

START_TEST(push_fills_used_ring)
{
	uint32_t id, len;
	vdrv_set_desc(&d, 2, 0x8000, 16, 0, 0);
	vdrv_publish(&d, 2);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_int_eq(virtq_push(vq, ch.head, 77), 0);
	ck_assert_uint_eq(vdrv_used_idx(&d), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 2);
	ck_assert_uint_eq(len, 77);
	ck_assert_int_eq(virtq_push(vq, QS, 0), -EIO);	/* head out of range */
}
END_TEST

START_TEST(chain_of_queue_size)
{
	for (unsigned i = 0; i < QS; i++)
		vdrv_set_desc(&d, i, 0x8000 + 64 * i, 64, i + 1 < QS ? VIRTQ_DESC_F_NEXT : 0,
			      (uint16_t)(i + 1));
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(!ch.fault);
	ck_assert_uint_eq(ch.nseg, QS);
	ck_assert_uint_eq(ch.readable_bytes, 64 * QS);
}
END_TEST

START_TEST(zero_length_buffer)
{
	vdrv_set_desc(&d, 0, 0x8000, 0, 0, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(!ch.fault);
	ck_assert_uint_eq(ch.nseg, 1);
	ck_assert_uint_eq(segs[0].len, 0);
}
END_TEST

/* 70,000 requests through a 8-entry queue: both 16-bit indices wrap. */
START_TEST(index_wraparound)
{
	uint32_t id, len;
	for (unsigned i = 0; i < QS; i++)
		vdrv_set_desc(&d, i, 0x8000, 8, 0, 0);
	for (unsigned n = 0; n < 70000; n++) {
		uint16_t head = (uint16_t)(n % QS);
		vdrv_publish(&d, head);
		if (n % 3 == 0)
			continue;	/* keep some backlog: up to 3 outstanding */
		while (virtq_pop(vq, &ch) == 1)
			ck_assert_int_eq(virtq_push(vq, ch.head, ch.head), 0);
		while (vdrv_get_used(&d, &id, &len))
			ck_assert_uint_eq(id, len);
	}
	while (virtq_pop(vq, &ch) == 1)
		ck_assert_int_eq(virtq_push(vq, ch.head, ch.head), 0);
	ck_assert_uint_eq(d.avail_idx, (uint16_t)70000);
	ck_assert_uint_eq(vdrv_used_idx(&d), (uint16_t)70000);
	ck_assert(!virtq_broken(vq));
}
END_TEST

TCase *tcase_virtq_chain(void)
{
	TCase *tc = tcase_create("virtq_chain");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, empty_queue);
	tcase_add_test(tc, readable_then_writable);
	tcase_add_test(tc, push_fills_used_ring);
	tcase_add_test(tc, chain_of_queue_size);
	tcase_add_test(tc, zero_length_buffer);
	tcase_add_test(tc, index_wraparound);
	return tc;
}

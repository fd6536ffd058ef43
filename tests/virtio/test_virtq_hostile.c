/* Hostile rings and chains: each malformed case on its own. */
#include "devices/virtio/virtq.h"
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdlib.h>

#define VQ_MEM (4u << 20)
#include "tests/virtio/vq_fixture.h"

/* The queue must now refuse everything: pop and push fail with -EIO. */
static void assert_broken(const char *why)
{
	ck_assert_int_eq(virtq_pop(vq, &ch), -EIO);
	ck_assert_last_error(why);
	ck_assert(virtq_broken(vq));
	ck_assert_int_eq(virtq_pop(vq, &ch), -EIO);
	ck_assert_int_eq(virtq_push(vq, 0, 0), -EIO);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
}

/* The chain comes back (so it can be completed) but marked faulty. */
static void assert_fault(const char *why)
{
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(ch.fault);
	ck_assert_last_error(why);
	ck_assert(!virtq_broken(vq));
}

START_TEST(buffer_outside_ram)
{
	vdrv_set_desc(&d, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, VQ_MEM - 8, 16, VIRTQ_DESC_F_WRITE, 0);	/* straddles the end */
	vdrv_publish(&d, 0);
	assert_fault("outside guest RAM");
	ck_assert_uint_eq(ch.nseg, 2);
	ck_assert_ptr_null(segs[1].hva);
	ck_assert_uint_eq(ch.head, 0);
}
END_TEST

START_TEST(buffer_address_wraps)
{
	vdrv_set_desc(&d, 0, UINT64_MAX - 10, 100, 0, 0);
	vdrv_publish(&d, 0);
	assert_fault("outside guest RAM");
	ck_assert_ptr_null(segs[0].hva);
}
END_TEST

START_TEST(buffer_far_outside_ram)
{
	vdrv_set_desc(&d, 0, 1ull << 40, 4096, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 0);
	assert_fault("0x10000000000");
}
END_TEST

START_TEST(readable_after_writable)
{
	vdrv_set_desc(&d, 0, 0x8000, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, 0x9000, 16, 0, 0);
	vdrv_publish(&d, 0);
	assert_fault("device-readable buffer after a device-writable one");
}
END_TEST

START_TEST(more_buffers_than_device_takes)
{
	ch.max_seg = 4;
	for (unsigned i = 0; i < QS; i++)
		vdrv_set_desc(&d, i, 0x8000 + 16 * i, 16,
			      i + 1 < QS ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1));
	vdrv_publish(&d, 0);
	assert_fault("more than 4 buffers");
	ck_assert_uint_eq(ch.nseg, 4);
	/* The last slot holds the chain's last buffer (the status). */
	ck_assert_ptr_eq(segs[3].hva, d.mem + 0x8000 + 16 * (QS - 1));
	ck_assert(segs[3].writable);
}
END_TEST

/* 4097 buffers of 1 MiB through an indirect table: 4 GiB + 1 MiB. */
START_TEST(total_length_over_4g)
{
	unsigned n = 4097;
	uint64_t table = vdrv_alloc(&d, 16ull * n, 16);
	uint64_t buf = vdrv_alloc(&d, 1u << 20, 4096);
	struct virtq_seg *big = calloc(n, sizeof(*big));
	struct virtq_desc *t = vdrv_hva(&d, table);

	for (unsigned i = 0; i < n; i++)
		t[i] = (struct virtq_desc){ buf, 1u << 20, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
					    (uint16_t)(i + 1) };
	vdrv_set_desc(&d, 0, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	ch = (struct virtq_chain){ .seg = big, .max_seg = n };
	assert_fault("total length over 4 GiB");
	free(big);
}
END_TEST

START_TEST(loop_two_descriptors)
{
	vdrv_set_desc(&d, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, 0x8000, 16, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&d, 0);
	assert_broken("loop?");
}
END_TEST

START_TEST(loop_self)
{
	vdrv_set_desc(&d, 5, 0x8000, 16, VIRTQ_DESC_F_NEXT, 5);
	vdrv_publish(&d, 5);
	assert_broken("longer than its table (8 entries)");
}
END_TEST

START_TEST(next_out_of_range)
{
	vdrv_set_desc(&d, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, QS);
	vdrv_publish(&d, 0);
	assert_broken("next index 8 beyond table of 8");
}
END_TEST

START_TEST(head_out_of_range)
{
	vdrv_publish(&d, 0xffff);
	assert_broken("avail ring entry 65535 out of range");
}
END_TEST

START_TEST(avail_idx_jumps_ahead)
{
	vdrv_set_avail_idx(&d, QS + 1);
	assert_broken("9 entries ahead");
}
END_TEST

START_TEST(avail_idx_goes_backwards)
{
	vdrv_set_avail_idx(&d, 0xffff);	/* -1: 65535 ahead */
	assert_broken("65535 entries ahead");
}
END_TEST

START_TEST(avail_idx_full_queue_ok)
{
	for (unsigned i = 0; i < QS; i++) {
		vdrv_set_desc(&d, i, 0x8000, 16, 0, 0);
		vdrv_publish(&d, (uint16_t)i);
	}
	for (unsigned i = 0; i < QS; i++)
		ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_int_eq(virtq_pop(vq, &ch), 0);
}
END_TEST

TCase *tcase_virtq_hostile(void)
{
	TCase *tc = tcase_create("virtq_hostile");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, buffer_outside_ram);
	tcase_add_test(tc, buffer_address_wraps);
	tcase_add_test(tc, buffer_far_outside_ram);
	tcase_add_test(tc, readable_after_writable);
	tcase_add_test(tc, more_buffers_than_device_takes);
	tcase_add_test(tc, total_length_over_4g);
	tcase_add_test(tc, loop_two_descriptors);
	tcase_add_test(tc, loop_self);
	tcase_add_test(tc, next_out_of_range);
	tcase_add_test(tc, head_out_of_range);
	tcase_add_test(tc, avail_idx_jumps_ahead);
	tcase_add_test(tc, avail_idx_goes_backwards);
	tcase_add_test(tc, avail_idx_full_queue_ok);
	return tc;
}

/* ---- indirect descriptors ---- */

static uint64_t make_table(unsigned n)
{
	uint64_t t = vdrv_alloc(&d, 16ull * n, 16);
	struct virtq_desc *td = vdrv_hva(&d, t);
	for (unsigned i = 0; i < n; i++)
		td[i] = (struct virtq_desc){ 0x8000 + 0x100 * i, 0x100,
					     (uint16_t)(i + 1 < n ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE),
					     (uint16_t)(i + 1) };
	return t;
}

START_TEST(indirect_valid)
{
	uint64_t t = make_table(3);
	vdrv_set_desc(&d, 4, t, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 4);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(!ch.fault);
	ck_assert_uint_eq(ch.head, 4);
	ck_assert_uint_eq(ch.nseg, 3);
	ck_assert_ptr_eq(segs[2].hva, d.mem + 0x8200);
	ck_assert(!segs[0].writable && segs[2].writable);	/* WRITE on the table ignored */
}
END_TEST

START_TEST(indirect_without_feature)
{
	setup_q(F_EVENT);
	vdrv_set_desc(&d, 0, make_table(2), 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("without VIRTIO_RING_F_INDIRECT_DESC");
}
END_TEST

START_TEST(indirect_len_not_multiple)
{
	vdrv_set_desc(&d, 0, make_table(2), 24, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("length 24 not a non-zero multiple of 16");
}
END_TEST

START_TEST(indirect_len_zero)
{
	vdrv_set_desc(&d, 0, make_table(2), 0, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("length 0 not a non-zero multiple");
}
END_TEST

START_TEST(indirect_nested)
{
	uint64_t t = make_table(2);
	struct virtq_desc *td = vdrv_hva(&d, t);
	td[1] = (struct virtq_desc){ make_table(2), 32, VIRTQ_DESC_F_INDIRECT, 0 };
	vdrv_set_desc(&d, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("indirect descriptor inside an indirect table");
}
END_TEST

START_TEST(indirect_with_next)
{
	vdrv_set_desc(&d, 0, make_table(2), 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, 0x9000, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 0);
	assert_broken("indirect descriptor with NEXT set");
}
END_TEST

START_TEST(indirect_after_next)
{
	vdrv_set_desc(&d, 0, 0x9000, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, make_table(2), 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("reached through a NEXT chain");
}
END_TEST

START_TEST(indirect_table_outside_ram)
{
	vdrv_set_desc(&d, 0, VQ_MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("indirect table at");
}
END_TEST

START_TEST(indirect_loop)
{
	uint64_t t = make_table(4);
	struct virtq_desc *td = vdrv_hva(&d, t);
	td[3].flags = VIRTQ_DESC_F_NEXT;
	td[3].next = 1;
	vdrv_set_desc(&d, 0, t, 64, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("longer than its table (4 entries)");
}
END_TEST

START_TEST(indirect_next_beyond_table)
{
	uint64_t t = make_table(2);
	struct virtq_desc *td = vdrv_hva(&d, t);
	td[1].flags = VIRTQ_DESC_F_NEXT;
	td[1].next = 2;	/* within the queue size, beyond the table */
	vdrv_set_desc(&d, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("next index 2 beyond table of 2");
}
END_TEST

START_TEST(indirect_table_too_long)
{
	uint64_t t = vdrv_alloc(&d, 16u * (VIRTQ_MAX_SIZE + 1), 16);
	vdrv_set_desc(&d, 0, t, 16u * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	assert_broken("indirect table of 32769 entries");
}
END_TEST

START_TEST(indirect_long_table)
{
	/* Longer than the queue: fine, the table is the limit. */
	uint64_t t = make_table(12);
	vdrv_set_desc(&d, 0, t, 16 * 12, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(!ch.fault);
	ck_assert_uint_eq(ch.nseg, 12);
}
END_TEST

TCase *tcase_virtq_indirect(void)
{
	TCase *tc = tcase_create("virtq_indirect");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, indirect_valid);
	tcase_add_test(tc, indirect_without_feature);
	tcase_add_test(tc, indirect_len_not_multiple);
	tcase_add_test(tc, indirect_len_zero);
	tcase_add_test(tc, indirect_nested);
	tcase_add_test(tc, indirect_with_next);
	tcase_add_test(tc, indirect_after_next);
	tcase_add_test(tc, indirect_table_outside_ram);
	tcase_add_test(tc, indirect_loop);
	tcase_add_test(tc, indirect_next_beyond_table);
	tcase_add_test(tc, indirect_table_too_long);
	tcase_add_test(tc, indirect_long_table);
	return tc;
}

/* virtio-net RX delivery (devices/virtio/net_rx.c) on crafted rings:
 * one chain per frame, mergeable buffers, too few buffers, and the
 * hostile cases (readable or out-of-RAM buffers, small buffers, runts). */
#define VQ_MEM (1u << 20)
#include "tests/virtio/vq_fixture.h"

#include "devices/virtio/net_rx.h"

#include <errno.h>

static struct net_rx_stats st;
static uint8_t frame[3000];

/* Posts a one-buffer writable chain of LEN bytes at descriptor I;
 * returns its GPA. */
static uint64_t post(unsigned i, uint32_t len)
{
	uint64_t gpa = vdrv_alloc(&d, len, 16);
	vdrv_set_desc(&d, i, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, (uint16_t)i);
	return gpa;
}

static void make_frame(size_t len)
{
	memset(frame, 0, NET_HDR_LEN);
	frame[0] = 1; /* flags: NEEDS_CSUM, kept as the TAP gave it */
	for (size_t i = NET_HDR_LEN; i < len; i++)
		frame[i] = (uint8_t)(i * 7 + 3);
}

static void rx_setup(void)
{
	fx_setup();
	memset(&st, 0, sizeof(st));
}

static uint16_t num_buffers(uint64_t gpa)
{
	uint8_t *h = vdrv_hva(&d, gpa);
	return (uint16_t)(h[NET_HDR_NUM_BUFFERS] | h[NET_HDR_NUM_BUFFERS + 1] << 8);
}

START_TEST(one_chain_holds_frame)
{
	uint32_t id, len;
	uint64_t gpa = post(0, 1526);

	make_frame(1000);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 1000, false, &st), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 1000);
	ck_assert_uint_eq(num_buffers(gpa), 1);
	ck_assert_mem_eq((uint8_t *)vdrv_hva(&d, gpa) + NET_HDR_LEN, frame + NET_HDR_LEN, 988);
	ck_assert_uint_eq(((uint8_t *)vdrv_hva(&d, gpa))[0], 1);
	ck_assert_uint_eq(st.frames, 1);
	ck_assert_uint_eq(st.bytes, 988);
}
END_TEST

START_TEST(split_header_and_data)
{
	/* Header and data in separate descriptors of one chain (any layout). */
	uint32_t id, len;
	uint64_t h = vdrv_alloc(&d, 6, 16), b = vdrv_alloc(&d, 2000, 16);

	vdrv_set_desc(&d, 0, h, 6, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, b, 2000, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 0);
	make_frame(100);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 100, true, &st), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(len, 100);
	uint8_t *p = vdrv_hva(&d, b);
	ck_assert_uint_eq(p[NET_HDR_NUM_BUFFERS - 6], 1);
	ck_assert_uint_eq(p[NET_HDR_NUM_BUFFERS - 6 + 1], 0);
	ck_assert_mem_eq(p + 6, frame + NET_HDR_LEN, 88);
}
END_TEST

START_TEST(mergeable_spans_chains)
{
	uint32_t id, len;
	uint64_t g0 = post(0, 1024), g1 = post(1, 1024), g2 = post(2, 1024);

	make_frame(2500);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), 1);
	/* all three published at once */
	ck_assert_uint_eq(vdrv_used_idx(&d), 3);
	ck_assert_uint_eq(num_buffers(g0), 3);
	uint32_t want[3] = {1024, 1024, 452};
	for (unsigned i = 0; i < 3; i++) {
		ck_assert(vdrv_get_used(&d, &id, &len));
		ck_assert_uint_eq(id, i);
		ck_assert_uint_eq(len, want[i]);
	}
	ck_assert_mem_eq((uint8_t *)vdrv_hva(&d, g0) + NET_HDR_LEN, frame + NET_HDR_LEN, 1012);
	ck_assert_mem_eq(vdrv_hva(&d, g1), frame + 1024, 1024);
	ck_assert_mem_eq(vdrv_hva(&d, g2), frame + 2048, 452);
}
END_TEST

START_TEST(too_few_buffers_waits)
{
	uint32_t id, len;

	post(0, 1024);
	make_frame(2500);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), -EAGAIN);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
	/* the driver posts more: the same chain comes back, and the frame fits */
	post(1, 2048);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 1024);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(len, 1476);
	/* nothing posted at all */
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), -EAGAIN);
	ck_assert_uint_eq(st.frames, 1);
}
END_TEST

START_TEST(frame_larger_than_queue_dropped)
{
	/* 8 chains of 64 bytes cannot hold 2500 bytes: dropped, chains kept. */
	for (unsigned i = 0; i < QS; i++)
		post(i, 64);
	make_frame(2500);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), 0);
	ck_assert_uint_eq(st.small_buffers, 1);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
	make_frame(100);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 100, true, &st), 1);
	ck_assert_uint_eq(vdrv_used_idx(&d), 2);
}
END_TEST

START_TEST(small_buffer_without_mergeable)
{
	uint32_t id, len;

	post(0, 100);
	post(1, 1600);
	make_frame(1000);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 1000, false, &st), 0);
	ck_assert_uint_eq(st.small_buffers, 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 0);
	/* the next frame flows */
	ck_assert_int_eq(net_rx_deliver(vq, frame, 1000, false, &st), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(len, 1000);
}
END_TEST

START_TEST(hostile_chains_dropped)
{
	uint32_t id, len;
	uint64_t g = vdrv_alloc(&d, 2048, 16);

	/* readable buffer, buffer outside RAM, buffer too small for a header,
	 * then a good one */
	vdrv_set_desc(&d, 0, g, 2048, 0, 0);
	vdrv_publish(&d, 0);
	vdrv_set_desc(&d, 1, VQ_MEM - 16, 4096, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 1);
	vdrv_set_desc(&d, 2, g, 8, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 2);
	uint64_t good = post(3, 2048);
	make_frame(600);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(net_rx_deliver(vq, frame, 600, true, &st), 0);
		ck_assert(vdrv_get_used(&d, &id, &len));
		ck_assert_uint_eq(id, (unsigned)i);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert_uint_eq(st.bad_buffers, 3);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 600, true, &st), 1);
	ck_assert(vdrv_get_used(&d, &id, &len));
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(len, 600);
	ck_assert_mem_eq((uint8_t *)vdrv_hva(&d, good) + NET_HDR_LEN, frame + NET_HDR_LEN, 588);
}
END_TEST

START_TEST(bad_chain_mid_frame_returns_all_empty)
{
	uint32_t id, len;

	post(0, 1024);
	uint64_t g = vdrv_alloc(&d, 2048, 16);
	vdrv_set_desc(&d, 1, g, 2048, 0, 0); /* readable: hostile */
	vdrv_publish(&d, 1);
	make_frame(2500);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 2500, true, &st), 0);
	ck_assert_uint_eq(st.bad_buffers, 1);
	ck_assert_uint_eq(vdrv_used_idx(&d), 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert(vdrv_get_used(&d, &id, &len));
		ck_assert_uint_eq(id, i);
		ck_assert_uint_eq(len, 0);
	}
}
END_TEST

START_TEST(runts_and_broken_ring)
{
	post(0, 2048);
	make_frame(100);
	ck_assert_int_eq(net_rx_deliver(vq, frame, NET_HDR_LEN + NET_ETH_HLEN - 1, true, &st), 0);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 0, false, &st), 0);
	ck_assert_uint_eq(st.runts, 2);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
	/* an avail index far ahead breaks the ring: -EIO, nothing written */
	vdrv_set_avail_idx(&d, 100);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 100, true, &st), -EIO);
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
}
END_TEST

START_TEST(queue_not_ready_waits)
{
	virtq_reset(vq);
	make_frame(100);
	ck_assert_int_eq(net_rx_deliver(vq, frame, 100, true, &st), -EAGAIN);
	ck_assert_uint_eq(st.small_buffers + st.bad_buffers + st.frames, 0);
}
END_TEST

TCase *tcase_net_rx(void)
{
	TCase *t = tcase_create("net_rx");
	tcase_add_checked_fixture(t, rx_setup, fx_teardown);
	tcase_add_test(t, one_chain_holds_frame);
	tcase_add_test(t, split_header_and_data);
	tcase_add_test(t, mergeable_spans_chains);
	tcase_add_test(t, too_few_buffers_waits);
	tcase_add_test(t, frame_larger_than_queue_dropped);
	tcase_add_test(t, small_buffer_without_mergeable);
	tcase_add_test(t, hostile_chains_dropped);
	tcase_add_test(t, bad_chain_mid_frame_returns_all_empty);
	tcase_add_test(t, runts_and_broken_ring);
	tcase_add_test(t, queue_not_ready_waits);
	return t;
}

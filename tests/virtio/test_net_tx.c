/* virtio-net TX (devices/virtio/net_tx.c) on crafted rings: a good frame
 * comes out as the guest's own buffers; hostile chains are handed back,
 * counted, and the next good frame still comes out. */
#define VQ_MEM (1u << 20)
#include "tests/virtio/vq_fixture.h"

#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_tx.h"

#include <errno.h>

static struct net_tx_stats st;
static struct iovec iov[16];

static void tx_setup(void)
{
	fx_setup();
	memset(&st, 0, sizeof(st));
}

/* A readable one-buffer chain of LEN bytes at descriptor I. */
static uint64_t post(unsigned i, uint32_t len, uint16_t flags)
{
	uint64_t gpa = vdrv_alloc(&d, len ? len : 1, 16);
	vdrv_set_desc(&d, i, gpa, len, flags, 0);
	vdrv_publish(&d, (uint16_t)i);
	return gpa;
}

START_TEST(good_frame_zero_copy)
{
	uint16_t head;
	uint64_t h = vdrv_alloc(&d, NET_HDR_LEN, 16), b = vdrv_alloc(&d, 1500, 16);

	vdrv_set_desc(&d, 0, h, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&d, 1, b, 1500, 0, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(net_tx_next(vq, iov, 16, 65550, &head, &st), 2);
	ck_assert_uint_eq(head, 0);
	ck_assert_ptr_eq(iov[0].iov_base, vdrv_hva(&d, h));
	ck_assert_uint_eq(iov[0].iov_len, NET_HDR_LEN);
	ck_assert_ptr_eq(iov[1].iov_base, vdrv_hva(&d, b));
	ck_assert_uint_eq(iov[1].iov_len, 1500);
	ck_assert_uint_eq(st.frames, 1);
	ck_assert_uint_eq(st.bytes, 1500);
	/* not handed back until the caller has written it */
	ck_assert_uint_eq(vdrv_used_idx(&d), 0);
	ck_assert_int_eq(net_tx_next(vq, iov, 16, 65550, &head, &st), 0);
}
END_TEST

START_TEST(hostile_chains_skipped)
{
	uint16_t head;
	uint32_t id, len;

	post(0, 100, VIRTQ_DESC_F_WRITE);		/* writable */
	post(1, NET_HDR_LEN + NET_ETH_HLEN - 1, 0);	/* runt */
	post(2, 9000, 0);				/* over the maximum below */
	vdrv_set_desc(&d, 3, VQ_MEM - 8, 64, 0, 0);	/* beyond RAM */
	vdrv_publish(&d, 3);
	/* more segments than the caller takes */
	for (unsigned i = 4; i < 7; i++)
		vdrv_set_desc(&d, i, vdrv_alloc(&d, 64, 16), 64, i < 6 ? VIRTQ_DESC_F_NEXT : 0,
			      (uint16_t)(i + 1));
	vdrv_publish(&d, 4);
	post(7, 60, 0);					/* good */
	ck_assert_int_eq(net_tx_next(vq, iov, 2, 1526, &head, &st), 1);
	ck_assert_uint_eq(head, 7);
	ck_assert_uint_eq(st.bad_chains, 3);
	ck_assert_uint_eq(st.runts, 1);
	ck_assert_uint_eq(st.oversized, 1);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert(vdrv_get_used(&d, &id, &len));
		ck_assert_uint_eq(id, i);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert(!vdrv_get_used(&d, &id, &len));
}
END_TEST

START_TEST(broken_ring)
{
	uint16_t head;

	vdrv_set_avail_idx(&d, 200);
	ck_assert_int_eq(net_tx_next(vq, iov, 16, 1526, &head, &st), -EIO);
	ck_assert_uint_eq(st.frames, 0);
}
END_TEST

TCase *tcase_net_tx(void)
{
	TCase *t = tcase_create("net_tx");
	tcase_add_checked_fixture(t, tx_setup, fx_teardown);
	tcase_add_test(t, good_frame_zero_copy);
	tcase_add_test(t, hostile_chains_skipped);
	tcase_add_test(t, broken_ring);
	return t;
}

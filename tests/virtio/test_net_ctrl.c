/* virtio-net control commands (devices/virtio/net_ctrl.c) in chains laid
 * out as Linux's driver sends them, and malformed ones. */
#define VQ_MEM (1u << 20)
#include "tests/virtio/vq_fixture.h"

#include "devices/virtio/net_ctrl.h"

static struct net_ctrl_state st;
static uint64_t ack_gpa;

static void ctrl_setup(void)
{
	fx_setup();
	memset(&st, 0, sizeof(st));
	st.queue_pairs = 1;
	st.max_queue_pairs = 4;
	memcpy(st.mac, "\x52\x54\x00\x01\x02\x03", 6);
}

/* Header (class, cmd) in one buffer, DATA in a second (if any), ack last:
 * Linux's layout. Pops it into ch and runs it; returns the ack byte. */
static int send_cmd(uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint64_t h = vdrv_alloc(&d, 2, 16), b = len ? vdrv_alloc(&d, len, 16) : 0;
	unsigned i = 0;

	ack_gpa = vdrv_alloc(&d, 1, 16);
	((uint8_t *)vdrv_hva(&d, h))[0] = class;
	((uint8_t *)vdrv_hva(&d, h))[1] = cmd;
	*(uint8_t *)vdrv_hva(&d, ack_gpa) = 0xee;
	vdrv_set_desc(&d, i, h, 2, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	i++;
	if (len) {
		memcpy(vdrv_hva(&d, b), data, len);
		vdrv_set_desc(&d, i, b, len, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
		i++;
	}
	vdrv_set_desc(&d, i, ack_gpa, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_uint_eq(net_ctrl_handle(&ch, &st), 1);
	vdrv_heap_reset(&d);
	return *(uint8_t *)vdrv_hva(&d, ack_gpa);
}

START_TEST(rx_mode_and_mac)
{
	uint8_t on = 1, off = 0;

	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), 0);
	ck_assert(st.promisc);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1), 0);
	ck_assert(st.allmulti);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1), 0);
	ck_assert(!st.promisc);
	ck_assert_int_eq(
	    send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, "\x02\x11\x22\x33\x44\x55", 6),
	    0);
	ck_assert_mem_eq(st.mac, "\x02\x11\x22\x33\x44\x55", 6);
	/* a table of one unicast and two multicast addresses */
	uint8_t table[4 + 6 + 4 + 12] = {1, 0, 0, 0, 0x02, 1, 2, 3, 4, 5, 2, 0, 0, 0,
					 0x01, 0, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1};
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
				  sizeof(table)),
			 0);
	uint8_t empty[8] = {0};
	ck_assert_int_eq(
	    send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, empty, sizeof(empty)), 0);
	ck_assert_uint_eq(st.bad_commands, 0);
}
END_TEST

START_TEST(queue_pairs)
{
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x04\x00", 2),
			 0);
	ck_assert_uint_eq(st.queue_pairs, 4);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x05\x00", 2),
			 1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x00\x00", 2),
			 1);
	ck_assert_uint_eq(st.queue_pairs, 4);
	ck_assert_uint_eq(st.bad_commands, 2);
}
END_TEST

START_TEST(malformed_commands_refused)
{
	uint8_t two[2] = {1, 1};
	/* wrong data sizes, unknown class/command, bad MACs, lying tables */
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2), 1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0), 1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_RX, 9, two, 1), 1);
	ck_assert_int_eq(send_cmd(77, 0, two, 1), 1);
	ck_assert_int_eq(
	    send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, "\x01\x00\x5e\x00\x00\x01", 6),
	    1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, "\0\0\0\0\0\0", 6),
			 1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, "\x02\1\2\3\4", 5),
			 1);
	uint8_t lying[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	ck_assert_int_eq(
	    send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lying, sizeof(lying)), 1);
	uint8_t trailing[9] = {0};
	ck_assert_int_eq(
	    send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, trailing, sizeof(trailing)),
	    1);
	ck_assert_int_eq(send_cmd(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lying, 3), 1);
	ck_assert(!st.promisc);
	ck_assert_mem_eq(st.mac, "\x52\x54\x00\x01\x02\x03", 6);
	ck_assert_uint_eq(st.bad_commands, 10);
}
END_TEST

START_TEST(bad_layouts_write_nothing_outside)
{
	uint64_t h = vdrv_alloc(&d, 3, 16), a = vdrv_alloc(&d, 1, 16);
	uint8_t *hb = vdrv_hva(&d, h);

	hb[0] = VIRTIO_NET_CTRL_RX;
	hb[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	hb[2] = 1;
	/* no ack buffer at all */
	vdrv_set_desc(&d, 0, h, 3, 0, 0);
	vdrv_publish(&d, 0);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_uint_eq(net_ctrl_handle(&ch, &st), 0);
	/* ack before the data (writable then readable): refused, ack ERR not written */
	*(uint8_t *)vdrv_hva(&d, a) = 0xee;
	vdrv_set_desc(&d, 1, a, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	vdrv_set_desc(&d, 2, h, 3, 0, 0);
	vdrv_publish(&d, 1);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert(ch.fault); /* readable after writable */
	ck_assert_uint_eq(net_ctrl_handle(&ch, &st), 0);
	/* the data out of RAM */
	vdrv_set_desc(&d, 3, VQ_MEM - 1, 3, VIRTQ_DESC_F_NEXT, 4);
	vdrv_set_desc(&d, 4, a, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 3);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_uint_eq(net_ctrl_handle(&ch, &st), 0);
	ck_assert(!st.promisc);
	ck_assert_uint_eq(st.bad_commands, 3);
	/* a command longer than we read: ERR */
	uint64_t big = vdrv_alloc(&d, 5000, 16);
	memcpy(vdrv_hva(&d, big), hb, 3);
	vdrv_set_desc(&d, 5, big, 5000, VIRTQ_DESC_F_NEXT, 6);
	vdrv_set_desc(&d, 6, a, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&d, 5);
	ck_assert_int_eq(virtq_pop(vq, &ch), 1);
	ck_assert_uint_eq(net_ctrl_handle(&ch, &st), 1);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&d, a), VIRTIO_NET_ERR);
	ck_assert(!st.promisc);
}
END_TEST

TCase *tcase_net_ctrl(void)
{
	TCase *t = tcase_create("net_ctrl");
	tcase_add_checked_fixture(t, ctrl_setup, fx_teardown);
	tcase_add_test(t, rx_mode_and_mac);
	tcase_add_test(t, queue_pairs);
	tcase_add_test(t, malformed_commands_refused);
	tcase_add_test(t, bad_layouts_write_nothing_outside);
	return t;
}

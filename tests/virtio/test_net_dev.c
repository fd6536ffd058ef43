/* The virtio-net device (devices/virtio/net.c, net_io.c) with a fake
 * driver's rings and a SOCK_SEQPACKET socketpair standing in for the TAP
 * (one frame per read or write, as a TAP): features and config, frames
 * both ways without and with the I/O thread, a frame kept while the guest
 * has no RX buffers, hostile chains counted while good frames still flow,
 * a broken ring (NEEDS_RESET, then working again after a reset), control
 * commands, queue pairs attached and detached, TAP offloads set and reset. */
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"

#include "devices/virtio/net.h"
#include "devices/virtio/net_ctrl.h"
#include "devices/virtio/net_offload.h"
#include "devices/virtio/net_rx.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define QSZ 16
#define MAC "\x52\x54\x00\x12\x34\x56"
#define F(b) VIRTIO_BIT(b)

static struct vdrv ram, rxd[2], txd[2], ctd;
static struct vnet *n;
static int peer[2];		/* our end of each pair's "TAP" */
static int kick[5];
static atomic_uint notified[5], resets;
static unsigned offload_calls, offload_mask, queue_calls[2], queue_attached[2];
static int tap_ends[2];

static void hook_notify(void *o, unsigned q) { (void)o; atomic_fetch_add(&notified[q], 1); }
static void hook_reset(void *o) { (void)o; atomic_fetch_add(&resets, 1); }

static int fake_offload(int fd, unsigned mask)
{
	ck_assert_int_eq(fd, tap_ends[0]);
	offload_calls++;
	offload_mask = mask;
	return 0;
}

static int fake_queue(int fd, bool attach)
{
	unsigned i = fd == tap_ends[1] ? 1 : 0;
	queue_calls[i]++;
	queue_attached[i] = attach;
	return 0;
}

/* A device with PAIRS queue pairs, each "TAP" one end of a socketpair. */
static void make(unsigned pairs, unsigned offload)
{
	int fds[2];
	log_set_quiet(true);
	ck_assert_int_eq(vdrv_init(&ram, 4 << 20, QSZ), 0);
	for (unsigned i = 0; i < pairs; i++) {
		int sv[2];
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		/* room for a few large frames queued before the device reads */
		int big = 1 << 20;
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		fds[i] = tap_ends[i] = sv[0];
		peer[i] = sv[1];
		if (i)
			vdrv_init_sibling(&rxd[i], &ram, QSZ, 256 << 10);
		vdrv_init_sibling(&txd[i], &ram, QSZ, 256 << 10);
	}
	vdrv_init_sibling(&ctd, &ram, QSZ, 64 << 10);
	rxd[0] = ram;	/* ram's own rings; its heap after the siblings' */
	for (unsigned q = 0; q < 5; q++)
		atomic_store(&notified[q], 0);
	atomic_store(&resets, 0);
	offload_calls = offload_mask = 0;
	memset(queue_calls, 0, sizeof(queue_calls));
	struct vnet_opts o = { .name = "test", .pairs = pairs, .tap_fds = fds,
			       .tap_offload = offload, .set_offload = offload ? fake_offload : NULL,
			       .set_queue = fake_queue };
	memcpy(o.mac, MAC, 6);
	struct virtio_hooks h = { .notify = hook_notify, .needs_reset = hook_reset };
	n = vnet_create(&o, &h);
	ck_assert_ptr_nonnull(n);
}

static struct virtio_queue_layout lay(const struct vdrv *q)
{
	return (struct virtio_queue_layout){ QSZ, q->desc_gpa, q->avail_gpa, q->used_gpa };
}

/* DRIVER_OK with FEATURES; THREADS: with kick eventfds and I/O threads. */
static int start(uint64_t features, unsigned pairs, bool threads)
{
	struct virtio_queue_layout l[5] = { lay(&rxd[0]), lay(&txd[0]) };
	if (pairs > 1) {
		l[2] = lay(&rxd[1]);
		l[3] = lay(&txd[1]);
	}
	l[2 * pairs] = lay(&ctd);
	for (unsigned q = 0; q < 5; q++) {
		if (kick[q] > 0)
			close(kick[q]);
		kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	return vnet_start(n, ram.gm, features | F(VIRTIO_F_VERSION_1), l, threads ? kick : NULL);
}

static void teardown(void)
{
	vnet_destroy(n);
	for (unsigned q = 0; q < 5; q++) {
		if (kick[q] > 0)
			close(kick[q]);
		kick[q] = -1;
	}
	close(peer[0]);
	if (peer[1] > 0)
		close(peer[1]);
	peer[1] = -1;
	vdrv_fini(&ram);
}

static void do_kick(unsigned q) { ck_assert_int_eq(write(kick[q], &(uint64_t){ 1 }, 8), 8); }

/* A TX chain: vnet header (zeros) then an Ethernet frame of LEN bytes
 * filled with SEED, in two descriptors from FIRST. */
static void post_tx(struct vdrv *q, unsigned first, uint32_t len, uint8_t seed, uint16_t flags2)
{
	uint64_t h = vdrv_alloc(q, NET_HDR_LEN, 16), b = vdrv_alloc(q, len, 16);
	memset(vdrv_hva(q, b), seed, len);
	vdrv_set_desc(q, first, h, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(first + 1));
	vdrv_set_desc(q, first + 1, b, len, flags2, 0);
	vdrv_publish(q, (uint16_t)first);
}

static uint64_t post_rx(struct vdrv *q, unsigned i, uint32_t len, uint16_t flags)
{
	uint64_t b = vdrv_alloc(q, len, 16);
	vdrv_set_desc(q, i, b, len, flags, 0);
	vdrv_publish(q, (uint16_t)i);
	return b;
}

/* The next frame the device wrote to the "TAP", or -1 after TIMEOUT_MS. */
static ssize_t tap_read(int fd, uint8_t *buf, size_t size, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return read(fd, buf, size);
}

static void tap_write(int fd, uint32_t len, uint8_t seed)
{
	static uint8_t f[NET_HDR_LEN + 9000];
	memset(f, 0, NET_HDR_LEN);
	memset(f + NET_HDR_LEN, seed, len);
	ck_assert_int_eq(write(fd, f, NET_HDR_LEN + len), NET_HDR_LEN + len);
}

static bool wait_used(struct vdrv *q, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < 2000; i++) {
		if (vdrv_get_used(q, id, len))
			return true;
		usleep(1000);
	}
	return false;
}

START_TEST(features_and_config)
{
	make(1, 0);
	uint64_t f = vnet_features(n);
	uint64_t want = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MTU) |
			F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
			F(VIRTIO_NET_F_CTRL_MAC_ADDR) | F(VIRTIO_RING_F_EVENT_IDX) |
			F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_F_VERSION_1);
	ck_assert_uint_eq(f & want, want);
	ck_assert(!(f & F(VIRTIO_NET_F_MQ)));		/* one pair */
	ck_assert(!(f & F(VIRTIO_NET_F_GUEST_CSUM)));	/* the TAP takes no offloads */
	ck_assert(!(f & F(VIRTIO_NET_F_CSUM)));
	ck_assert_uint_eq(vnet_num_queues(n), 3);
	uint8_t c[32];
	vnet_config_read(n, 0, c, sizeof(c));
	ck_assert_mem_eq(c, MAC, 6);
	ck_assert_uint_eq(c[6] | c[7] << 8, 1);		/* link up */
	ck_assert_uint_eq(c[8] | c[9] << 8, 1);		/* max_virtqueue_pairs */
	ck_assert_uint_eq(c[10] | c[11] << 8, 1500);	/* mtu */
	ck_assert_uint_eq(c[24], 0);			/* beyond the struct: zeros */
	vnet_config_read(n, 3, c, 2);
	ck_assert_mem_eq(c, "\x12\x34", 2);
	vnet_config_read(n, 1000, c, 4);
	ck_assert_mem_eq(c, "\0\0\0\0", 4);
	/* features never offered are refused at DRIVER_OK */
	ck_assert_int_eq(start(F(VIRTIO_NET_F_GUEST_TSO4), 1, false), -EINVAL);
	teardown();
}
END_TEST

/* Without threads: vnet_process() moves a TX frame to the TAP and a TAP
 * frame into the RX buffer, num_buffers set. */
START_TEST(frames_both_ways_sync)
{
	uint8_t buf[2048];
	uint32_t id, len;

	make(1, 0);
	ck_assert_int_eq(start(F(VIRTIO_NET_F_MRG_RXBUF), 1, false), 0);
	post_tx(&txd[0], 0, 60, 0xa5, 0);
	ck_assert_int_eq(vnet_process(n), 0);
	ck_assert_int_eq(tap_read(peer[0], buf, sizeof(buf), 1000), NET_HDR_LEN + 60);
	ck_assert_uint_eq(buf[NET_HDR_LEN], 0xa5);
	ck_assert(vdrv_get_used(&txd[0], &id, &len));
	ck_assert_uint_eq(id, 0);

	uint64_t b = post_rx(&rxd[0], 0, 1526, VIRTQ_DESC_F_WRITE);
	tap_write(peer[0], 100, 0x3c);
	ck_assert_int_eq(vnet_process(n), 0);
	ck_assert(vdrv_get_used(&rxd[0], &id, &len));
	ck_assert_uint_eq(len, NET_HDR_LEN + 100);
	uint8_t *p = vdrv_hva(&rxd[0], b);
	ck_assert_uint_eq(p[NET_HDR_NUM_BUFFERS], 1);
	ck_assert_uint_eq(p[NET_HDR_LEN + 99], 0x3c);
	struct vnet_stats s;
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.tx_frames, 1);
	ck_assert_uint_eq(s.rx_frames, 1);
	ck_assert_uint_eq(s.rx_bytes, 100);
	teardown();
}
END_TEST

/* With the I/O thread: a frame that comes while no RX buffer is posted
 * waits (not dropped) until the driver posts one and kicks; hostile TX
 * chains are counted and the next good frame still goes out. */
START_TEST(thread_rx_wait_and_hostile_tx)
{
	uint8_t buf[2048];
	uint32_t id, len;

	make(1, 0);
	ck_assert_int_eq(start(F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX), 1, true), 0);
	tap_write(peer[0], 200, 0x11);
	usleep(50 * 1000);
	ck_assert(!vdrv_get_used(&rxd[0], &id, &len));
	post_rx(&rxd[0], 0, 1526, VIRTQ_DESC_F_WRITE);
	do_kick(0);
	ck_assert(wait_used(&rxd[0], &id, &len));
	ck_assert_uint_eq(len, NET_HDR_LEN + 200);
	ck_assert_uint_gt(atomic_load(&notified[0]), 0);

	/* a chain with a device-writable buffer, a runt, one beyond RAM */
	post_tx(&txd[0], 0, 64, 1, VIRTQ_DESC_F_WRITE);
	post_tx(&txd[0], 2, 4, 2, 0);
	vdrv_set_desc(&txd[0], 4, (4 << 20) - 8, 64, 0, 0);
	vdrv_publish(&txd[0], 4);
	post_tx(&txd[0], 5, 64, 0x77, 0);
	do_kick(1);
	ck_assert_int_eq(tap_read(peer[0], buf, sizeof(buf), 2000), NET_HDR_LEN + 64);
	ck_assert_uint_eq(buf[NET_HDR_LEN], 0x77);
	for (int i = 0; i < 4; i++)
		ck_assert(wait_used(&txd[0], &id, &len));
	ck_assert_int_eq(tap_read(peer[0], buf, sizeof(buf), 50), -1);	/* nothing else */
	vnet_reset(n);
	struct vnet_stats s;
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.tx_bad_chains, 2);
	ck_assert_uint_eq(s.tx_runts, 1);
	ck_assert_uint_eq(s.tx_frames, 1);
	ck_assert_uint_ge(s.rx_waits, 1);
	ck_assert_uint_eq(atomic_load(&resets), 0);
	teardown();
}
END_TEST

/* A ring the driver breaks (avail idx a queue ahead): NEEDS_RESET once,
 * nothing else moves on that pair; after reset and DRIVER_OK it works. */
START_TEST(broken_ring_then_reset)
{
	uint8_t buf[256];
	uint32_t id, len;

	make(1, 0);
	ck_assert_int_eq(start(0, 1, true), 0);
	vdrv_set_avail_idx(&txd[0], QSZ + 5);
	do_kick(1);
	for (int i = 0; i < 2000 && !atomic_load(&resets); i++)
		usleep(1000);
	ck_assert_uint_eq(atomic_load(&resets), 1);
	vnet_reset(n);
	struct vnet_stats s;
	vnet_get_stats(n, &s);
	ck_assert_uint_eq(s.broken_rings, 1);

	/* the driver re-initialises its rings */
	memset(vdrv_hva(&txd[0], txd[0].avail_gpa), 0, virtq_avail_bytes(QSZ));
	memset(vdrv_hva(&txd[0], txd[0].used_gpa), 0, virtq_used_bytes(QSZ));
	txd[0].avail_idx = txd[0].last_used = 0;
	ck_assert_int_eq(start(0, 1, true), 0);
	post_tx(&txd[0], 0, 60, 0x42, 0);
	do_kick(1);
	ck_assert_int_eq(tap_read(peer[0], buf, sizeof(buf), 2000), NET_HDR_LEN + 60);
	ck_assert(wait_used(&txd[0], &id, &len));
	teardown();
}
END_TEST

/* Control queue (run by pair 0's thread): MAC_ADDR_SET shows in config;
 * VQ_PAIRS_SET attaches TAP queue 1, and queue 1 is detached again at
 * DRIVER_OK (one pair until the driver asks, 5.1.6.5.5). */
static uint8_t send_ctrl(unsigned desc0, uint8_t class, uint8_t cmd, const void *data,
			 uint32_t dlen, unsigned ctrl_queue)
{
	uint64_t h = vdrv_alloc(&ctd, 2, 16), b = vdrv_alloc(&ctd, dlen, 16);
	uint64_t ack = vdrv_alloc(&ctd, 1, 16);
	uint32_t id, len;

	((uint8_t *)vdrv_hva(&ctd, h))[0] = class;
	((uint8_t *)vdrv_hva(&ctd, h))[1] = cmd;
	memcpy(vdrv_hva(&ctd, b), data, dlen);
	*(uint8_t *)vdrv_hva(&ctd, ack) = 0xee;
	vdrv_set_desc(&ctd, desc0, h, 2, VIRTQ_DESC_F_NEXT, (uint16_t)(desc0 + 1));
	vdrv_set_desc(&ctd, desc0 + 1, b, dlen, VIRTQ_DESC_F_NEXT, (uint16_t)(desc0 + 2));
	vdrv_set_desc(&ctd, desc0 + 2, ack, 1, VIRTQ_DESC_F_WRITE, 0);
	uint16_t old = ctd.avail_idx;
	vdrv_publish(&ctd, (uint16_t)desc0);
	/* Kick only as a driver with EVENT_IDX would (Linux's spins on the
	 * answer: a kick it does not send is a hang). */
	if (vring_need_event(*vdrv_avail_event(&ctd), ctd.avail_idx, old))
		do_kick(ctrl_queue);
	ck_assert(wait_used(&ctd, &id, &len));
	ck_assert_uint_eq(len, 1);
	return *(uint8_t *)vdrv_hva(&ctd, ack);
}

START_TEST(control_queue_and_pairs)
{
	uint8_t c[6];

	make(2, 0);
	ck_assert(vnet_features(n) & F(VIRTIO_NET_F_MQ));
	ck_assert_uint_eq(vnet_num_queues(n), 5);
	uint64_t f = F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		     F(VIRTIO_RING_F_EVENT_IDX);
	ck_assert_int_eq(start(f, 2, true), 0);
	ck_assert_uint_eq(queue_calls[1], 1);		/* detached at DRIVER_OK */
	ck_assert(!queue_attached[1]);
	ck_assert_uint_eq(send_ctrl(0, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
				    "\x02\x00\x00\xaa\xbb\xcc", 6, 4), VIRTIO_NET_OK);
	vnet_config_read(n, 0, c, 6);
	ck_assert_mem_eq(c, "\x02\x00\x00\xaa\xbb\xcc", 6);
	uint16_t pairs = 2;
	/* the second command after the first: the driver's kick must come
	 * (EVENT_IDX: avail_event follows what the device consumed) */
	ck_assert_uint_eq(send_ctrl(3, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				    2, 4), VIRTIO_NET_OK);
	ck_assert_uint_eq(queue_calls[1], 2);
	ck_assert(queue_attached[1]);
	pairs = 3;	/* more than the device has */
	ck_assert_uint_eq(send_ctrl(6, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				    2, 4), VIRTIO_NET_ERR);
	ck_assert_uint_eq(queue_calls[1], 2);
	ck_assert_uint_eq(queue_calls[0], 0);		/* queue 0 is never detached */
	teardown();
}
END_TEST

/* TUNSETOFFLOAD follows the acked features and is cleared at reset. */
START_TEST(offloads_follow_features)
{
	make(1, NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN);
	uint64_t f = vnet_features(n);
	ck_assert(f & F(VIRTIO_NET_F_GUEST_TSO4));
	ck_assert(f & F(VIRTIO_NET_F_HOST_TSO4));
	ck_assert(!(f & F(VIRTIO_NET_F_GUEST_UFO)));	/* not in what the TAP took */
	ck_assert_int_eq(start(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4), 1, false), 0);
	ck_assert_uint_eq(offload_mask, NET_TUN_F_CSUM | NET_TUN_F_TSO4);
	vnet_reset(n);
	ck_assert_uint_eq(offload_mask, 0);
	unsigned calls = offload_calls;
	vnet_reset(n);	/* already off: not asked again */
	ck_assert_uint_eq(offload_calls, calls);
	teardown();
}
END_TEST

TCase *tcase_net_dev(void)
{
	TCase *tc = tcase_create("net_dev");
	tcase_add_test(tc, features_and_config);
	tcase_add_test(tc, frames_both_ways_sync);
	tcase_add_test(tc, thread_rx_wait_and_hostile_tx);
	tcase_add_test(tc, broken_ring_then_reset);
	tcase_add_test(tc, control_queue_and_pairs);
	tcase_add_test(tc, offloads_follow_features);
	tcase_set_timeout(tc, 30);
	return tc;
}

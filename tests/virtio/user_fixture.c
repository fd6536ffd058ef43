/* The --net user fixture (user_fixture.h): a real libslirp behind a
 * virtio-net device, the fake driver's rings. */
#include "tests/virtio/user_fixture.h"

#include "devices/virtio/net.h"
#include "devices/virtio/net_rx.h"
#include "devices/virtio/net_offload.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/net_user.h"
#include "devices/virtio/net_user_opts.h"
#include "devices/virtio/virtq.h"
#include "vmm/log.h"

#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t slirp_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

struct vdrv ram, rxd, txd, ctd;
struct vnet *n;
struct vnet_user *user;
int kick[3] = { -1, -1, -1 };
uint64_t rx_gpa[QSZ];	/* each RX descriptor's buffer */

const struct vnet_user_identity test_ident = {
	.instance_id = "5f1c0de4-9a3b-4c2d-8e7f-0123456789ab",
};

void make(const char *spec) { make_with(spec, &test_ident); }

void make_with(const char *spec, const struct vnet_user_identity *ident)
{
	struct net_user_opts o;
	struct vnet_user *u;

	log_set_quiet(true);
	ck_assert_int_eq(net_user_opts_parse(spec, &o), 0);
	ck_assert_int_eq(vnet_user_create("eth0", spec, &o, ident, &u), 0);
	user = u;
	ck_assert_int_eq(vdrv_init(&ram, 8 << 20, QSZ), 0);
	vdrv_init_sibling(&txd, &ram, QSZ, 1 << 20);
	vdrv_init_sibling(&ctd, &ram, QSZ, 64 << 10);
	rxd = ram;
	struct vnet_opts vo = { .name = "eth0", .pairs = 1, .user = u };
	memcpy(vo.mac, guest_mac, 6);
	n = vnet_create(&vo, NULL);
	ck_assert_ptr_nonnull(n);
}

static struct virtio_queue_layout lay(const struct vdrv *q)
{
	return (struct virtio_queue_layout){ QSZ, q->desc_gpa, q->avail_gpa, q->used_gpa };
}

void start(bool threads)
{
	struct virtio_queue_layout l[3] = { lay(&rxd), lay(&txd), lay(&ctd) };
	for (unsigned q = 0; q < 3; q++)
		kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(vnet_start(n, ram.gm, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF),
				    l, threads ? kick : NULL), 0);
}

void teardown(void)
{
	vnet_destroy(n);
	for (unsigned q = 0; q < 3; q++)
		if (kick[q] >= 0)
			close(kick[q]);
	vdrv_fini(&ram);
}

void do_kick(unsigned q) { ck_assert_int_eq(write(kick[q], &(uint64_t){ 1 }, 8), 8); }

void post_rx(unsigned i)
{
	if (!rx_gpa[i])
		rx_gpa[i] = vdrv_alloc(&rxd, RXBUF, 16);
	vdrv_set_desc(&rxd, i, rx_gpa[i], RXBUF, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&rxd, (uint16_t)i);
}

/* A TX chain at descriptors 2I, 2I+1: a zeroed vnet header, then FRAME. */
void post_tx(unsigned i, const void *frame, uint32_t len)
{
	uint64_t h = vdrv_alloc(&txd, NET_HDR_LEN, 16), b = vdrv_alloc(&txd, len, 16);
	memcpy(vdrv_hva(&txd, b), frame, len);
	vdrv_set_desc(&txd, 2 * i, h, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * i + 1));
	vdrv_set_desc(&txd, 2 * i + 1, b, len, 0, 0);
	vdrv_publish(&txd, (uint16_t)(2 * i));
}

uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The next frame in the RX ring (Ethernet header first), within MS ms;
 * IPv6 ones (slirp's router advertisements, on its timer) only if V6. */
const uint8_t *wait_rx_any(uint32_t *len, int ms, bool v6)
{
	uint32_t id;
	for (int i = 0; i <= ms; i++) {
		if (vdrv_get_used(&rxd, &id, len)) {
			ck_assert_uint_lt(id, QSZ);
			ck_assert_uint_ge(*len, NET_HDR_LEN + 14);
			*len -= NET_HDR_LEN;
			const uint8_t *f = (const uint8_t *)vdrv_hva(&rxd, rx_gpa[id]) + NET_HDR_LEN;
			if (!v6 && get16(f + 12) == 0x86dd) {
				post_rx(id);	/* the buffer back to the ring */
				continue;
			}
			return f;
		}
		if (i < ms)
			usleep(1000);
	}
	return NULL;
}

const uint8_t *wait_rx(uint32_t *len, int ms) { return wait_rx_any(len, ms, false); }

void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
}

/* ARP (OP 1 request, 2 reply) from the guest (SIP) about TIP. */
size_t arp(uint8_t *f, uint16_t op, const char *sip, const char *tip, const uint8_t *tha)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	memset(f, 0, 42);
	eth(f, op == 1 ? bcast : tha, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, guest_mac, 6);
	inet_pton(AF_INET, sip, f + 28);
	if (tha)
		memcpy(f + 32, tha, 6);
	inet_pton(AF_INET, tip, f + 38);
	return 42;
}

uint16_t ip_sum(const uint8_t *h, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2)
		s += get16(h + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A polled virtio-net driver for the test guest, for hostile chains and
 * buffers (vnet.h). The frames it exchanges with vnet_peer.py:
 *   request  dst ff:..:ff, src our MAC, type 0x88b5, "MVNQ", seq (be16),
 *            replies wanted (u8), their frame size (be16), then byte i of
 *            the frame = i * 7 + seq;
 *   reply    dst our MAC, type 0x88b5, "MVNR", seq, index (u8), size
 *            (be16), then byte i = i * 13 + seq + index.
 * Every step waits for its answer before the next one, so each used entry
 * and each device counter belongs to one known chain. */
#include "console.h"
#include "guest.h"
#include "io.h"
#include "vnet.h"
#include "vpci.h"

#define QSZ 128		/* room for a chain of 65 buffers */
#define F_VERSION_1 (1ull << 32)
#define F_MAC (1ull << 5)
#define F_MRG_RXBUF (1ull << 15)
#define F_CTRL_VQ (1ull << 17)
#define F_CTRL_RX (1ull << 18)
#define HDR_LEN 12	/* struct virtio_net_hdr_v1 */
#define ETH_TYPE 0x88b5	/* IEEE local experimental */
#define BODY 23		/* where the pattern starts */
#define FRAME_MAX 1514	/* MTU 1500 + Ethernet header */
#define RX_BUFS 8
#define RX_BUF_LEN 2048

struct used_elem { uint32_t id, len; };
struct gq {
	struct vq_desc desc[QSZ];
	struct { uint16_t flags, idx, ring[QSZ], used_event; } avail;
	struct { uint16_t flags, idx; struct used_elem ring[QSZ]; uint16_t avail_event; } used
		__attribute__((aligned(4)));
	uint64_t notify;
	uint16_t index, last_used;
};

static struct gq rxq __attribute__((aligned(4096))), txq __attribute__((aligned(4096))),
	ctlq __attribute__((aligned(4096)));
static uint8_t rxmem[RX_BUFS][RX_BUF_LEN] __attribute__((aligned(4096)));
static uint8_t txhdr[HDR_LEN], txframe[RX_BUF_LEN];
static uint8_t frame[RX_BUF_LEN];	/* a received frame, reassembled */
static struct vpci_dev dev;
static uint8_t mac[6];
static uint64_t features;
static uint16_t seq;
static unsigned sent, received;	/* good frames, for the device's counters */

static int check(const char *what, bool ok)
{
	kprintf("vnet: %s: %s\n", what, ok ? "ok" : "WRONG");
	return ok ? 0 : 1;
}

static int gq_init(struct gq *q, uint16_t index)
{
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->notify = vpci_queue_setup(&dev, index, QSZ, q->desc, &q->avail, &q->used);
	return q->notify ? 0 : -1;
}

/* Publishes the chain at HEAD (STEP: how far avail idx moves). */
static void gq_post(struct gq *q, uint16_t head, uint16_t step)
{
	q->avail.ring[q->avail.idx % QSZ] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->avail.idx = (uint16_t)(q->avail.idx + step);
}

static void gq_kick(struct gq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mmio_write16(q->notify, q->index);
}

/* N more used entries into U: 0; 1 when the device needs a reset; -1
 * after about SECS seconds without them. */
static int gq_wait(struct gq *q, unsigned n, struct used_elem *u, unsigned secs)
{
	uint64_t end = rdtsc() + tsc_ticks_for_seconds(secs);

	while ((uint16_t)(*(volatile uint16_t *)&q->used.idx - q->last_used) < n) {
		if (vpci_status(&dev) & VPCI_ST_NEEDS_RESET)
			return 1;
		if (rdtsc() > end)
			return -1;
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++)
		u[i] = q->used.ring[q->last_used++ % QSZ];
	return 0;
}

static bool gq_idle(struct gq *q)
{
	return *(volatile uint16_t *)&q->used.idx == q->last_used;
}

static int dev_init(uint64_t want)
{
	features = want;
	if (vpci_reset(&dev) || vpci_negotiate(&dev, want))
		return -1;
	for (unsigned i = 0; i < 6; i++)
		mac[i] = mmio_read8(dev.devcfg + i);
	if (gq_init(&rxq, 0) || gq_init(&txq, 1) || ((want & F_CTRL_VQ) && gq_init(&ctlq, 2)))
		return -1;
	return vpci_driver_ok(&dev);
}

static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* A request for COUNT replies of SIZE bytes, LEN bytes long, in txframe. */
static void make_request(unsigned len, unsigned count, unsigned size)
{
	seq++;
	memset(txframe, 0xff, 6);
	memcpy(txframe + 6, mac, 6);
	put_be16(txframe + 12, ETH_TYPE);
	memcpy(txframe + 14, "MVNQ", 4);
	put_be16(txframe + 18, seq);
	txframe[20] = (uint8_t)count;
	put_be16(txframe + 21, (uint16_t)size);
	for (unsigned i = BODY; i < len; i++)
		txframe[i] = (uint8_t)(i * 7 + seq);
}

/* Descriptors FIRST, FIRST + 1: the vnet header and the request. */
static void request_chain(uint16_t first, unsigned len)
{
	memset(txhdr, 0, sizeof(txhdr));
	txq.desc[first] = (struct vq_desc){ (uintptr_t)txhdr, HDR_LEN, VQ_F_NEXT, (uint16_t)(first + 1) };
	txq.desc[first + 1] = (struct vq_desc){ (uintptr_t)txframe, len, 0, 0 };
}

/* Sends a request of LEN bytes; 0 when the device gave the chain back. */
static int send_request(unsigned len, unsigned count, unsigned size)
{
	struct used_elem u;

	make_request(len, count, size);
	request_chain(0, len);
	gq_post(&txq, 0, 1);
	gq_kick(&txq);
	if (gq_wait(&txq, 1, &u, 5) || u.id != 0)
		return -1;
	sent++;
	return 0;
}

/* RX buffer I (rxmem[I], LEN bytes, FLAGS) posted as a chain of its own. */
static void rx_post(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	rxq.desc[i] = (struct vq_desc){ addr, len, flags, 0 };
	gq_post(&rxq, i, 1);
}

static void rx_post_good(unsigned n, uint32_t len)
{
	for (uint16_t i = 0; i < n; i++)
		rx_post(i, (uintptr_t)rxmem[i], len, VQ_F_WRITE);
	gq_kick(&rxq);
}

/* One frame from the RX queue into frame[]: its length, or -1. With
 * MRG_RXBUF it may take several buffers (num_buffers in the first). */
static int rx_frame(void)
{
	struct used_elem u[RX_BUFS];

	if (gq_wait(&rxq, 1, u, 5) || u[0].id >= RX_BUFS || u[0].len < HDR_LEN)
		return -1;
	const uint8_t *hdr = rxmem[u[0].id];
	unsigned nbuf = (unsigned)(hdr[10] | hdr[11] << 8);
	if (nbuf < 1 || nbuf > RX_BUFS || (!(features & F_MRG_RXBUF) && nbuf != 1))
		return -1;
	if (nbuf > 1 && gq_wait(&rxq, nbuf - 1, u + 1, 1))
		return -1;
	unsigned len = 0;
	for (unsigned i = 0; i < nbuf; i++) {
		unsigned skip = i ? 0 : HDR_LEN;
		if (u[i].id >= RX_BUFS || u[i].len < skip || len + u[i].len - skip > sizeof(frame))
			return -1;
		memcpy(frame + len, rxmem[u[i].id] + skip, u[i].len - skip);
		len += u[i].len - skip;
	}
	return (int)len;
}

/* Is frame[] (LEN bytes) reply INDEX to request SEQ, of SIZE bytes? */
static bool reply_ok(int len, unsigned index, unsigned size)
{
	if (len != (int)size || memcmp(frame, mac, 6) || get_be16(frame + 12) != ETH_TYPE ||
	    memcmp(frame + 14, "MVNR", 4) || get_be16(frame + 18) != seq || frame[20] != index ||
	    get_be16(frame + 21) != size)
		return false;
	for (unsigned i = BODY; i < size; i++)
		if (frame[i] != (uint8_t)(i * 13 + seq + index))
			return false;
	return true;
}

static bool replies_ok(unsigned count, unsigned size)
{
	for (unsigned i = 0; i < count; i++) {
		int len = rx_frame();
		if (!reply_ok(len, i, size)) {
			kprintf("vnet: reply %u of request %u: %d bytes, want %u (bad)\n", i, seq, len,
				size);
			return false;
		}
		received++;
	}
	return true;
}

/* A request of LEN bytes, COUNT replies of SIZE bytes into buffers of
 * BUFLEN bytes (NBUF of them posted), all checked. */
static int exchange(const char *what, unsigned len, unsigned count, unsigned size, unsigned nbuf,
		    uint32_t buflen)
{
	rx_post_good(nbuf, buflen);
	bool ok = send_request(len, count, size) == 0 && replies_ok(count, size);
	return check(what, ok && gq_idle(&rxq) && gq_idle(&txq));
}

/* One hostile TX chain at head 0 (made by the caller): handed back with
 * length 0, and nothing else happens. */
static int tx_bad(const char *what)
{
	struct used_elem u;

	gq_post(&txq, 0, 1);
	gq_kick(&txq);
	int r = gq_wait(&txq, 1, &u, 5);
	return check(what, r == 0 && u.id == 0 && u.len == 0);
}

static int tx_hostile_cases(void)
{
	int bad = 0;

	make_request(60, 0, 0);
	txq.desc[0] = (struct vq_desc){ VPCI_NOT_RAM, 60, 0, 0 };
	bad |= tx_bad("TX buffer outside RAM, handed back");
	txq.desc[0] = (struct vq_desc){ 0xfffffffffffffff0ull, 64, 0, 0 };
	bad |= tx_bad("TX buffer address + length wraps, handed back");
	request_chain(0, 60);
	txq.desc[1].flags = VQ_F_WRITE;
	bad |= tx_bad("TX chain with a device-writable buffer, handed back");
	/* The header, then the frame one byte a buffer: 65 buffers. */
	txq.desc[0] = (struct vq_desc){ (uintptr_t)txhdr, HDR_LEN, VQ_F_NEXT, 1 };
	for (uint16_t i = 1; i <= 64; i++)
		txq.desc[i] = (struct vq_desc){ (uintptr_t)&txframe[i - 1], 1,
						i < 64 ? VQ_F_NEXT : 0, (uint16_t)(i + 1) };
	bad |= tx_bad("TX chain of 65 buffers, handed back");
	request_chain(0, 13);
	bad |= tx_bad("TX runt (header + 13 bytes), handed back");
	/* NEEDS_CSUM with csum_start (le16 at 6) past the frame: the TAP
	 * refuses it (EINVAL); not a frame sent. */
	request_chain(0, 60);
	txhdr[0] = 1;
	txhdr[6] = 2000 & 0xff;
	txhdr[7] = 2000 >> 8;
	bad |= tx_bad("TX header with csum_start past the frame, refused by the TAP");
	make_request(FRAME_MAX + 5, 0, 0);	/* 1519 > MTU + Ethernet + VLAN headers */
	request_chain(0, FRAME_MAX + 5);
	bad |= tx_bad("TX frame over MTU + headers without GSO, handed back");
	/* A bad chain and a good request in one kick: the request still goes. */
	rx_post_good(1, RX_BUF_LEN);
	make_request(60, 1, 60);
	txq.desc[0] = (struct vq_desc){ VPCI_NOT_RAM, 60, 0, 0 };
	request_chain(1, 60);
	gq_post(&txq, 0, 1);
	gq_post(&txq, 1, 1);
	gq_kick(&txq);
	struct used_elem u[2];
	bool ok = gq_wait(&txq, 2, u, 5) == 0 && u[0].id == 0 && u[1].id == 1;
	if (ok)
		sent++;
	bad |= check("bad TX chain then a request in one kick: request answered",
		     ok && replies_ok(1, 60));
	return bad;
}

/* RX buffer 0 as given: the next reply must come back in it with length
 * 0 (the frame dropped), a device-readable buffer untouched. */
static int rx_bad(const char *what, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct used_elem u;

	memset(rxmem[0], 0xa5, RX_BUF_LEN);
	rx_post(0, addr, len, flags);
	gq_kick(&rxq);
	bool ok = send_request(60, 1, 200) == 0 && gq_wait(&rxq, 1, &u, 5) == 0 && u.id == 0 &&
		  u.len == 0;
	for (unsigned i = 0; ok && !(flags & VQ_F_WRITE) && i < RX_BUF_LEN; i++)
		ok = rxmem[0][i] == 0xa5;
	return check(what, ok);
}

static int rx_hostile_cases(void)
{
	int bad = 0;

	bad |= rx_bad("RX buffer too small for the frame, dropped", (uintptr_t)rxmem[0], 64,
		      VQ_F_WRITE);
	bad |= rx_bad("RX buffer device-readable, dropped, untouched", (uintptr_t)rxmem[0],
		      RX_BUF_LEN, 0);
	bad |= rx_bad("RX buffer outside RAM, dropped", VPCI_NOT_RAM, RX_BUF_LEN, VQ_F_WRITE);
	bad |= rx_bad("RX buffer shorter than the vnet header, dropped", (uintptr_t)rxmem[0], 8,
		      VQ_F_WRITE);
	return bad;
}

/* One RX chain of two buffers with the vnet header across them (its
 * num_buffers in the second): a frame fills both. */
static int split_header_case(void)
{
	rxq.desc[0] = (struct vq_desc){ (uintptr_t)rxmem[0], 4, VQ_F_WRITE | VQ_F_NEXT, 1 };
	rxq.desc[1] = (struct vq_desc){ (uintptr_t)rxmem[0] + 4, RX_BUF_LEN - 4, VQ_F_WRITE, 0 };
	gq_post(&rxq, 0, 1);
	gq_kick(&rxq);
	bool ok = send_request(60, 1, 200) == 0 && replies_ok(1, 200);
	return check("reply into a chain of two buffers, header across both", ok && gq_idle(&rxq));
}

/* A control command: CLASS, CMD, one data byte; the ack byte, or -1. */
static int ctrl_command(uint8_t class, uint8_t cmd, uint8_t data)
{
	static uint8_t out[3];
	static volatile uint8_t ack;
	struct used_elem u;

	out[0] = class;
	out[1] = cmd;
	out[2] = data;
	ack = 0xee;
	ctlq.desc[0] = (struct vq_desc){ (uintptr_t)out, 3, VQ_F_NEXT, 1 };
	ctlq.desc[1] = (struct vq_desc){ (uintptr_t)&ack, 1, VQ_F_WRITE, 0 };
	gq_post(&ctlq, 0, 1);
	gq_kick(&ctlq);
	if (gq_wait(&ctlq, 1, &u, 5) || u.id != 0 || u.len != 1)
		return -1;
	return ack;
}

/* A broken ring (the chain or avail index set up by the caller, posted
 * with STEP, on Q): NEEDS_RESET; then reset, set up again, frames flow. */
static int broken_ring(const char *what, struct gq *q, uint16_t step, bool via_rx)
{
	struct used_elem u;

	gq_post(q, 0, step);
	gq_kick(q);
	if (via_rx)	/* the device looks at RX buffers only when a frame comes */
		(void)send_request(60, 1, 60);
	int r = gq_wait(q, 1, &u, 5);
	int bad = check(what, r == 1);
	bad |= check("reset and set up again", dev_init(features) == 0);
	return bad | exchange("frames flow after the reset", 60, 1, 60, 1, RX_BUF_LEN);
}

static int broken_ring_cases(void)
{
	int bad = 0;

	make_request(60, 0, 0);
	request_chain(0, 60);
	txq.desc[1] = (struct vq_desc){ (uintptr_t)txframe, 60, VQ_F_NEXT, 0 };
	bad |= broken_ring("TX descriptor loop: NEEDS_RESET", &txq, 1, false);
	request_chain(0, 60);
	txq.desc[1] = (struct vq_desc){ (uintptr_t)txframe, 60, VQ_F_NEXT, QSZ + 3 };
	bad |= broken_ring("TX next index out of range: NEEDS_RESET", &txq, 1, false);
	rxq.desc[0] = (struct vq_desc){ (uintptr_t)rxmem[0], RX_BUF_LEN, VQ_F_WRITE, 0 };
	bad |= broken_ring("RX avail index past the queue: NEEDS_RESET", &rxq, QSZ + 5, true);
	return bad;
}

/* MRG_RXBUF: a frame over several buffers, a frame that waits for
 * buffers, a frame whose second buffer is device-readable. */
static int mergeable_cases(void)
{
	int bad = exchange("1000-byte reply over four 300-byte buffers", 60, 1, 1000, 4, 300);

	rx_post_good(1, 300);
	bool ok = send_request(60, 1, 1000) == 0;
	delay_us(300000);
	ok = ok && gq_idle(&rxq);	/* one buffer is too few: the frame waits */
	for (uint16_t i = 1; i < 4; i++)
		rx_post(i, (uintptr_t)rxmem[i], 300, VQ_F_WRITE);
	gq_kick(&rxq);
	bad |= check("a frame waits for buffers, then arrives", ok && replies_ok(1, 1000));

	struct used_elem u[2];
	rx_post(0, (uintptr_t)rxmem[0], 300, VQ_F_WRITE);
	rx_post(1, (uintptr_t)rxmem[1], 300, 0);
	gq_kick(&rxq);
	ok = send_request(60, 1, 1000) == 0 && gq_wait(&rxq, 2, u, 5) == 0 && u[0].len == 0 &&
	     u[1].len == 0;
	bad |= check("second buffer of a frame device-readable: both back empty", ok);
	bad |= rx_bad("RX buffer outside RAM, dropped", VPCI_NOT_RAM, RX_BUF_LEN, VQ_F_WRITE);
	return bad | exchange("1514-byte frames each way over 300-byte buffers", FRAME_MAX, 1,
			      FRAME_MAX, 6, 300);
}

int vnet_hostile(bool mergeable)
{
	uint64_t want = F_VERSION_1 | F_MAC |
			(mergeable ? F_MRG_RXBUF : F_CTRL_VQ | F_CTRL_RX);

	if (vpci_find("vnet", 0x10411af4, &dev) || dev_init(want)) {
		kprintf("vnet: device setup failed\n");
		return 1;
	}
	char text[18];
	for (unsigned i = 0; i < 6; i++) {
		text[3 * i] = "0123456789abcdef"[mac[i] >> 4];
		text[3 * i + 1] = "0123456789abcdef"[mac[i] & 15];
		text[3 * i + 2] = i < 5 ? ':' : '\0';
	}
	kprintf("vnet: MAC %s, MRG_RXBUF %s, %u queues\n", text, mergeable ? "on" : "off",
		vpci_num_queues(&dev));
	int bad = exchange("first request answered", 60, 1, 60, 1, RX_BUF_LEN);
	if (mergeable) {
		bad |= mergeable_cases();
	} else {
		bad |= split_header_case();
		bad |= check("control command PROMISC off acked OK", ctrl_command(0, 0, 0) == 0);
		bad |= check("control command of class 0x55 acked ERR", ctrl_command(0x55, 0, 0) == 1);
		bad |= tx_hostile_cases();
		bad |= rx_hostile_cases();
		bad |= broken_ring_cases();
		bad |= exchange("1514-byte frames each way, 3 replies", FRAME_MAX, 3, FRAME_MAX, 3,
				RX_BUF_LEN);
	}
	kprintf("vnet: good frames: sent %u, received %u\n", sent, received);
	kprintf("vnet: %s\n", bad ? "some answers were WRONG" : "every hostile chain handled, frames flow");
	return bad;
}

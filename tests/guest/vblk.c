/* A polled virtio-blk driver for the test guest, for hostile requests. */
#include "console.h"
#include "guest.h"
#include "io.h"
#include "vblk.h"

#define QSZ 16
#define NO_VECTOR 0xffff
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64
#define F_NEXT 1
#define F_WRITE 2
#define T_IN 0
#define S_OK 0
#define S_IOERR 1
#define NOT_RAM 0xf0000000ull	/* in the PCI hole, below any BAR we get */

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct blk_hdr { uint32_t type, reserved; uint64_t sector; };

static struct desc ring_desc[QSZ] __attribute__((aligned(4096)));
static struct { uint16_t flags, idx, ring[QSZ], used_event; } avail __attribute__((aligned(64)));
static struct {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSZ];
	uint16_t avail_event;
} used __attribute__((aligned(64)));
static struct blk_hdr hdr;
static uint8_t data[4096] __attribute__((aligned(4096)));
static volatile uint8_t status;
static uint16_t last_used;

static uint64_t common, notify, devcfg;	/* MMIO addresses */
static uint32_t common_off, notify_off, devcfg_off;	/* the same, in BAR 0 */
static unsigned pci_dev, win_cap;	/* the PCI_CFG capability, 0: none */

static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t cfg32(unsigned dev, unsigned reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

static void cfg32_write(unsigned dev, unsigned reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	outl(0xcfc, v);
}

static uint8_t cfg8(unsigned dev, unsigned reg) { return (uint8_t)(cfg32(dev, reg) >> (8 * (reg & 3))); }

static uint16_t cfg16(unsigned dev, unsigned reg)
{
	uint16_t v;
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"((uint16_t)(0xcfc + (reg & 2))));
	return v;
}

static void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
static void w16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static uint8_t r8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static uint16_t r16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static uint32_t r32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }

/* Finds the device and its common and notify structures in BAR 0. */
static int probe(void)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		if (cfg32(dev, 0) != 0x10421af4)
			continue;
		uint64_t bar = (cfg32(dev, 0x10) & ~0xfu) | (uint64_t)cfg32(dev, 0x14) << 32;
		cfg32_write(dev, 0x04, 0x6);		/* memory decode, bus master */
		for (unsigned p = cfg8(dev, 0x34), n = 0; p && n < 48; p = cfg8(dev, p + 1), n++) {
			if (cfg8(dev, p) != 0x09 || cfg8(dev, p + 4) != 0)
				continue;		/* vendor caps in BAR 0 only */
			uint32_t off = cfg32(dev, p + 8);
			if (cfg8(dev, p + 3) == 1)
				common = bar + (common_off = off);
			if (cfg8(dev, p + 3) == 2)
				notify = bar + (notify_off = off);	/* queue 0: notify_off 0 */
			if (cfg8(dev, p + 3) == 4)
				devcfg = bar + (devcfg_off = off);
			if (cfg8(dev, p + 3) == 5 && !win_cap)
				win_cap = p;	/* struct virtio_pci_cfg_cap */
		}
		pci_dev = dev;
		kprintf("vblk: 1af4:1042 at 00:%s%x.0, BAR 0 0x%lx\n", dev < 16 ? "0" : "", dev,
			(unsigned long)bar);
		return common && notify ? 0 : -1;
	}
	kprintf("vblk: no virtio-blk on bus 0\n");
	return -1;
}

static int setup(void)
{
	w8(common + 0x14, 0);				/* reset */
	if (r8(common + 0x14) != 0)
		return -1;
	w8(common + 0x14, ST_ACK | ST_DRIVER);
	*(volatile uint32_t *)(uintptr_t)(common + 0x08) = 1;	/* driver feature select 1 */
	*(volatile uint32_t *)(uintptr_t)(common + 0x0c) = 1;	/* VERSION_1 only */
	w8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(r8(common + 0x14) & ST_FEATURES_OK))
		return -1;
	w16(common + 0x16, 0);
	w16(common + 0x18, QSZ);
	w16(common + 0x1a, NO_VECTOR);
	*(volatile uint64_t *)(uintptr_t)(common + 0x20) = (uintptr_t)ring_desc;
	*(volatile uint64_t *)(uintptr_t)(common + 0x28) = (uintptr_t)&avail;
	*(volatile uint64_t *)(uintptr_t)(common + 0x30) = (uintptr_t)&used;
	w16(common + 0x1c, 1);
	memset(&avail, 0, sizeof(avail));
	memset(&used, 0, sizeof(used));
	last_used = 0;
	w8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return r8(common + 0x14) == (ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK) ? 0 : -1;
}

/* The VIRTIO_PCI_CAP_PCI_CFG window (virtio spec 4.1.4.9): cap.bar at +4,
 * cap.offset +8, cap.length +12, pci_cfg_data +16 (all in whole dwords:
 * the bytes next to cap.bar are read-only). */
static void win_set(uint8_t bar, uint32_t off, uint32_t len)
{
	cfg32_write(pci_dev, win_cap + 4, bar);
	cfg32_write(pci_dev, win_cap + 8, off);
	cfg32_write(pci_dev, win_cap + 12, len);
}

static uint32_t win_read(uint8_t bar, uint32_t off, uint32_t len)
{
	win_set(bar, off, len);
	return len == 2 ? cfg16(pci_dev, win_cap + 16) : cfg32(pci_dev, win_cap + 16);
}

static void win_write(uint32_t off, uint32_t len, uint32_t v)
{
	win_set(0, off, len);
	cfg32_write(pci_dev, win_cap + 16, v);
}

static bool kick_through_window;

/* Publishes head (avail idx += step), kicks, polls for an answer.
 * Returns the status byte, or 0x100 + device status bits on NEEDS_RESET,
 * or -1 on a timeout. */
static int submit(uint16_t head, uint16_t step)
{
	status = 0xee;
	avail.ring[avail.idx % QSZ] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail.idx = (uint16_t)(avail.idx + step);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (kick_through_window)
		win_write(notify_off, 2, 0);	/* no ioeventfd sees this one */
	else
		w16(notify, 0);
	uint64_t end = rdtsc() + tsc_ticks_for_seconds(5);
	while (rdtsc() < end) {
		if (*(volatile uint16_t *)&used.idx != last_used) {
			last_used++;
			return status;
		}
		uint8_t st = r8(common + 0x14);
		if (st & ST_NEEDS_RESET)
			return 0x100 | st;
		cpu_relax();
	}
	return -1;
}

static void chain3(uint64_t data_addr, uint32_t data_len, uint16_t hdr_flags)
{
	hdr = (struct blk_hdr){ .type = T_IN, .sector = 0 };
	ring_desc[0] = (struct desc){ (uintptr_t)&hdr, sizeof(hdr), F_NEXT | hdr_flags, 1 };
	ring_desc[1] = (struct desc){ data_addr, data_len, F_NEXT | F_WRITE, 2 };
	ring_desc[2] = (struct desc){ (uintptr_t)&status, 1, F_WRITE, 0 };
}

static int expect(const char *what, int got, int want)
{
	kprintf("vblk: %s: 0x%x (%s)\n", what, (unsigned)got, got == want ? "ok" : "WRONG");
	return got == want ? 0 : 1;
}

static int broken_ring_case(const char *what, uint16_t step)
{
	int got = submit(0, step);
	int bad = expect(what, got >= 0x100 ? 0x100 : got, 0x100);
	return bad | expect("reset and set up again", setup(), 0);
}

/* The common and device config read through the PCI_CFG window must be
 * what the MMIO BAR shows; a write through it must reach the device. */
static int window_cases(void)
{
	if (!win_cap) {
		kprintf("vblk: no VIRTIO_PCI_CAP_PCI_CFG capability (WRONG)\n");
		return 1;
	}
	int bad = 0;
	uint32_t nq = win_read(0, common_off + 0x12, 2);
	bad |= expect("PCI_CFG window: num_queues as MMIO", nq == r16(common + 0x12) ? nq : 0xdead,
		      1);
	win_write(common_off + 0x00, 4, 1);		/* device_feature_select = 1 */
	uint32_t f_hi = win_read(0, common_off + 0x04, 4);
	bad |= expect("PCI_CFG window: device_feature_select written", r32(common + 0x00), 1);
	bad |= expect("PCI_CFG window: device_feature[63:32] as MMIO, VERSION_1",
		      f_hi == r32(common + 0x04) ? f_hi & 1 : 0xdead, 1);
	w32(common + 0x00, 0);
	uint32_t cap = win_read(0, devcfg_off, 4);
	bad |= expect("PCI_CFG window: capacity as MMIO", cap == r32(devcfg) ? 0 : 1, 0);
	/* Forbidden set-ups (4.1.4.9.2) read 0: BAR 2 (the MSI-X table,
	 * vector 0's control word is 1), a misaligned device config read. */
	bad |= expect("PCI_CFG window on BAR 2 refused", win_read(2, 12, 4), 0);
	bad |= expect("PCI_CFG window misaligned refused", win_read(0, devcfg_off + 1, 2), 0);
	return bad;
}

int vblk_hostile(void)
{
	if (probe() || setup()) {
		kprintf("vblk: device setup failed\n");
		return 1;
	}
	int bad = window_cases();
	chain3((uintptr_t)data, 512, 0);
	bad |= expect("valid read", submit(0, 1), S_OK);
	kick_through_window = true;
	chain3((uintptr_t)data, 512, 0);
	bad |= expect("valid read kicked through the PCI_CFG window", submit(0, 1), S_OK);
	kick_through_window = false;
	chain3(NOT_RAM, 512, 0);
	bad |= expect("buffer outside RAM", submit(0, 1), S_IOERR);
	chain3(0xfffffffffffffe00ull, 1024, 0);
	bad |= expect("buffer address + length wraps", submit(0, 1), S_IOERR);
	chain3((uintptr_t)data, 512, F_WRITE);
	bad |= expect("header in a device-writable buffer", submit(0, 1), S_IOERR);
	chain3((uintptr_t)data, 512, 0);
	ring_desc[1].flags = F_NEXT;
	bad |= expect("read into a device-readable buffer", submit(0, 1), S_IOERR);
	chain3((uintptr_t)data, 512, 0);
	ring_desc[2] = (struct desc){ (uintptr_t)&status, 1, F_WRITE | F_NEXT, 0 };
	bad |= broken_ring_case("descriptor loop: NEEDS_RESET", 1);
	chain3((uintptr_t)data, 512, 0);
	ring_desc[2].next = QSZ + 3;
	ring_desc[2].flags |= F_NEXT;
	bad |= broken_ring_case("next index out of range: NEEDS_RESET", 1);
	chain3((uintptr_t)data, 512, 0);
	bad |= broken_ring_case("avail index jumps past the queue: NEEDS_RESET", QSZ + 5);
	chain3((uintptr_t)data, 512, 0);
	bad |= expect("valid read after all that", submit(0, 1), S_OK);
	kprintf("vblk: %s\n", bad ? "some answers were WRONG" : "every hostile request answered, device alive");
	return bad;
}

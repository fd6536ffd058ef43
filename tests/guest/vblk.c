/* A polled virtio-blk driver for the test guest, for hostile requests. */
#include "console.h"
#include "guest.h"
#include "io.h"
#include "vblk.h"
#include "vpci.h"

#define QSZ 16
#define F_NEXT VQ_F_NEXT
#define F_WRITE VQ_F_WRITE
#define T_IN 0
#define S_OK 0
#define S_IOERR 1
#define NOT_RAM VPCI_NOT_RAM

struct blk_hdr { uint32_t type, reserved; uint64_t sector; };

static struct vq_desc ring_desc[QSZ] __attribute__((aligned(4096)));
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

static struct vpci_dev dev;
static uint64_t notify;	/* queue 0's notify address */

static int setup(void)
{
	if (vpci_reset(&dev) || vpci_negotiate(&dev, 1ull << 32))	/* VERSION_1 only */
		return -1;
	notify = vpci_queue_setup(&dev, 0, QSZ, ring_desc, &avail, &used);
	memset(&avail, 0, sizeof(avail));
	memset(&used, 0, sizeof(used));
	last_used = 0;
	return notify && vpci_driver_ok(&dev) == 0 ? 0 : -1;
}

/* The VIRTIO_PCI_CAP_PCI_CFG window (virtio spec 4.1.4.9): cap.bar at +4,
 * cap.offset +8, cap.length +12, pci_cfg_data +16 (all in whole dwords:
 * the bytes next to cap.bar are read-only). */
static void win_set(uint8_t bar, uint32_t off, uint32_t len)
{
	pci_cfg32_write(dev.slot, dev.win_cap + 4, bar);
	pci_cfg32_write(dev.slot, dev.win_cap + 8, off);
	pci_cfg32_write(dev.slot, dev.win_cap + 12, len);
}

static uint32_t win_read(uint8_t bar, uint32_t off, uint32_t len)
{
	win_set(bar, off, len);
	return len == 2 ? pci_cfg16(dev.slot, dev.win_cap + 16) : pci_cfg32(dev.slot, dev.win_cap + 16);
}

static void win_write(uint32_t off, uint32_t len, uint32_t v)
{
	win_set(0, off, len);
	pci_cfg32_write(dev.slot, dev.win_cap + 16, v);
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
		win_write(dev.notify_off, 2, 0);	/* no ioeventfd sees this one */
	else
		mmio_write16(notify, 0);
	uint64_t end = rdtsc() + tsc_ticks_for_seconds(5);
	while (rdtsc() < end) {
		if (*(volatile uint16_t *)&used.idx != last_used) {
			last_used++;
			return status;
		}
		uint8_t st = vpci_status(&dev);
		if (st & VPCI_ST_NEEDS_RESET)
			return 0x100 | st;
		cpu_relax();
	}
	return -1;
}

static void chain3(uint64_t data_addr, uint32_t data_len, uint16_t hdr_flags)
{
	hdr = (struct blk_hdr){ .type = T_IN, .sector = 0 };
	ring_desc[0] = (struct vq_desc){ (uintptr_t)&hdr, sizeof(hdr), F_NEXT | hdr_flags, 1 };
	ring_desc[1] = (struct vq_desc){ data_addr, data_len, F_NEXT | F_WRITE, 2 };
	ring_desc[2] = (struct vq_desc){ (uintptr_t)&status, 1, F_WRITE, 0 };
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
	if (!dev.win_cap) {
		kprintf("vblk: no VIRTIO_PCI_CAP_PCI_CFG capability (WRONG)\n");
		return 1;
	}
	int bad = 0;
	uint32_t nq = win_read(0, dev.common_off + 0x12, 2);
	bad |= expect("PCI_CFG window: num_queues as MMIO", nq == vpci_num_queues(&dev) ? nq : 0xdead,
		      1);
	win_write(dev.common_off + 0x00, 4, 1);		/* device_feature_select = 1 */
	uint32_t f_hi = win_read(0, dev.common_off + 0x04, 4);
	bad |= expect("PCI_CFG window: device_feature_select written", mmio_read32(dev.common + 0x00), 1);
	bad |= expect("PCI_CFG window: device_feature[63:32] as MMIO, VERSION_1",
		      f_hi == mmio_read32(dev.common + 0x04) ? f_hi & 1 : 0xdead, 1);
	mmio_write32(dev.common + 0x00, 0);
	uint32_t cap = win_read(0, dev.devcfg_off, 4);
	bad |= expect("PCI_CFG window: capacity as MMIO", cap == mmio_read32(dev.devcfg) ? 0 : 1, 0);
	/* Forbidden set-ups (4.1.4.9.2) read 0: BAR 2 (the MSI-X table,
	 * vector 0's control word is 1), a misaligned device config read. */
	bad |= expect("PCI_CFG window on BAR 2 refused", win_read(2, 12, 4), 0);
	bad |= expect("PCI_CFG window misaligned refused", win_read(0, dev.devcfg_off + 1, 2), 0);
	return bad;
}

int vblk_hostile(void)
{
	if (vpci_find("vblk", 0x10421af4, &dev) || setup()) {
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
	ring_desc[2] = (struct vq_desc){ (uintptr_t)&status, 1, F_WRITE | F_NEXT, 0 };
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

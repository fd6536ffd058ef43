/* The VIRTIO_PCI_CAP_PCI_CFG window (virtio spec 4.1.4.9) of the
 * virtio-pci transport, on the fake machine of vpci_fixture.h. */
#include "tests/virtio/vpci_fixture.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t win_cap(void)
{
	int c = find_cap(PCI_CAP_ID_VENDOR, VIRTIO_PCI_CAP_PCI_CFG);
	ck_assert_int_gt(c, 0);
	return (uint32_t)c;
}

#define WIN_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

static void win_set(uint8_t bar, uint32_t off, uint32_t len)
{
	uint32_t c = win_cap();
	cfg_wr(c + offsetof(struct virtio_pci_cap, bar), bar, 1);
	cfg_wr(c + offsetof(struct virtio_pci_cap, offset), off, 4);
	cfg_wr(c + offsetof(struct virtio_pci_cap, length), len, 4);
}

/* Config accesses must be 1, 2 or 4 bytes: other window lengths use 4. */
static uint32_t cfg_width(uint32_t len) { return len == 1 || len == 2 ? len : 4; }

static uint32_t win_rd(uint8_t bar, uint32_t off, uint32_t len)
{
	win_set(bar, off, len);
	return cfg_rd(win_cap() + WIN_DATA, cfg_width(len));
}

static void win_wr(uint8_t bar, uint32_t off, uint32_t v, uint32_t len)
{
	win_set(bar, off, len);
	cfg_wr(win_cap() + WIN_DATA, v, cfg_width(len));
}

START_TEST(pci_cfg_window_capability)
{
	uint32_t c = win_cap();
	ck_assert_uint_eq(cfg_rd(c + offsetof(struct virtio_pci_cap, cap_len), 1),
			  sizeof(struct virtio_pci_cfg_cap));
	ck_assert_uint_eq(c % 4, 0);			/* data is one aligned dword */
	ck_assert_uint_le(c + sizeof(struct virtio_pci_cfg_cap), PCI_CFG_SPACE_SIZE);
	/* The driver's fields are writable; the rest of the capability is not. */
	win_set(0, 0x1234, 2);
	ck_assert_uint_eq(cfg_rd(c + offsetof(struct virtio_pci_cap, offset), 4), 0x1234);
	ck_assert_uint_eq(cfg_rd(c + offsetof(struct virtio_pci_cap, length), 4), 2);
	cfg_wr(c + offsetof(struct virtio_pci_cap, bar), 5, 1);
	ck_assert_uint_eq(cfg_rd(c + offsetof(struct virtio_pci_cap, bar), 1), 5);
	cfg_wr(c, 0xffffffff, 4);			/* id, next, cap_len, cfg_type */
	ck_assert_uint_eq(cfg_rd(c, 1), PCI_CAP_ID_VENDOR);
	ck_assert_uint_eq(cfg_rd(c + 2, 1), sizeof(struct virtio_pci_cfg_cap));
	ck_assert_uint_eq(cfg_rd(c + 3, 1), VIRTIO_PCI_CAP_PCI_CFG);
	ck_assert_uint_eq(cfg_rd(c + offsetof(struct virtio_pci_cap, id), 1), 0);
	/* The other capabilities stay read-only (4.1.4.1). */
	int common = find_cap(PCI_CAP_ID_VENDOR, VIRTIO_PCI_CAP_COMMON_CFG);
	cfg_wr((uint32_t)common + offsetof(struct virtio_pci_cap, offset), 0x100, 4);
	ck_assert_uint_eq(cfg_rd((uint32_t)common + offsetof(struct virtio_pci_cap, offset), 4),
			  VPCI_COMMON_OFF);
}
END_TEST

START_TEST(pci_cfg_window_reads_like_mmio)
{
	/* Works with memory decode off: the BARs answer all-ones then. */
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 0xffff);
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + NUMQ, 2), 1);
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + QSIZE, 2), VBLK_QUEUE_SIZE);
	ck_assert_uint_eq(win_rd(0, VPCI_DEVCFG_OFF, 4), IMG_SIZE / 512);
	ck_assert_uint_eq(win_rd(0, VPCI_DEVCFG_OFF + 4, 4), 0);
	uint32_t f_lo = win_rd(0, VPCI_COMMON_OFF + DF, 4);
	win_wr(0, VPCI_COMMON_OFF + DFSEL, 1, 4);
	uint32_t f_hi = win_rd(0, VPCI_COMMON_OFF + DF, 4);
	enable_decode();
	ck_assert_uint_eq(f_lo | (uint64_t)f_hi << 32, offered());
	ck_assert_uint_eq(f_hi & 1, 1);				/* VERSION_1 */
	/* Any config width at any byte of pci_cfg_data: each read fetches
	 * cap.length bytes again and returns the bytes asked for. */
	uint32_t c = win_cap();
	win_set(0, VPCI_DEVCFG_OFF, 4);
	uint32_t cap = IMG_SIZE / 512;
	ck_assert_uint_eq(cfg_rd(c + WIN_DATA + 1, 1), (cap >> 8) & 0xff);
	ck_assert_uint_eq(cfg_rd(c + WIN_DATA + 2, 2), cap >> 16);
	ck_assert_uint_eq(cfg_rd(c + WIN_DATA + 3, 1), cap >> 24);
	/* A 1-byte window reads one byte; the rest of pci_cfg_data is 0. */
	win_set(0, VPCI_DEVCFG_OFF + 1, 1);
	ck_assert_uint_eq(cfg_rd(c + WIN_DATA, 4), (cap >> 8) & 0xff);
	/* The 64-bit queue fields as aligned dword halves. */
	driver_setup(VPCI_NO_VECTOR);
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + QDESC, 4), (uint32_t)drv.desc_gpa);
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + QDESC + 4, 4), drv.desc_gpa >> 32);
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + STATUS, 1), rd(CC(STATUS), 1));
}
END_TEST

START_TEST(pci_cfg_window_writes_like_mmio)
{
	win_wr(0, VPCI_COMMON_OFF + STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	enable_decode();
	ck_assert_uint_eq(rd(CC(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	win_wr(0, VPCI_COMMON_OFF + QMSIX, 1, 2);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), 1);
	win_wr(0, VPCI_COMMON_OFF + QDESC + 4, 0x12, 4);	/* high half */
	ck_assert_uint_eq(rd(CC(QDESC), 8), UINT64_C(0x12) << 32);
	/* Device config and ISR stay read-only through the window too. */
	uint64_t cap = rd(bar0 + VPCI_DEVCFG_OFF, 8);
	win_wr(0, VPCI_DEVCFG_OFF, 0, 4);
	ck_assert_uint_eq(rd(bar0 + VPCI_DEVCFG_OFF, 8), cap);
	/* Reset through the window. */
	win_wr(0, VPCI_COMMON_OFF + STATUS, 0, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), VPCI_NO_VECTOR);
}
END_TEST

/* No KVM catches this write: the window must signal the kick eventfd
 * itself, and the device must serve the request. */
START_TEST(pci_cfg_window_notify_kicks_the_queue)
{
	int kick = vpci_kick_fd(t, 0);
	win_wr(0, VPCI_NOTIFY_OFF, 0, 2);
	ck_assert(fd_signalled(kick, 0));
	win_wr(0, VPCI_NOTIFY_OFF, 0, 4);
	ck_assert(fd_signalled(kick, 0));
	/* A whole request, kicked through the window only, INTx interrupt. */
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK);
	uint64_t data = vdrv_alloc(&drv, 4096, 4096);
	uint64_t st = vdrv_blk_chain(&drv, 0, VIRTIO_BLK_T_IN, 16, data, 4096, true);
	vdrv_publish(&drv, 0);
	win_wr(0, VPCI_NOTIFY_OFF, 0, 2);
	/* The I/O thread raises the line. */
	for (int i = 0; i < 5000 && __atomic_load_n(&fm.intx_level, __ATOMIC_ACQUIRE) != 1; i++)
		usleep(1000);
	ck_assert_int_eq(__atomic_load_n(&fm.intx_level, __ATOMIC_ACQUIRE), 1);
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&drv, st), VIRTIO_BLK_S_OK);
	const uint8_t *buf = vdrv_hva(&drv, data);
	for (unsigned i = 0; i < 4096; i++)
		ck_assert_uint_eq(buf[i], pattern(16 * 512 + i));
	/* The ISR through the window: read clears it and lowers the line. */
	ck_assert_uint_eq(win_rd(0, VPCI_ISR_OFF, 1), 1);	/* queue interrupt */
	ck_assert_int_eq(fm.intx_level, 0);
	ck_assert_uint_eq(win_rd(0, VPCI_ISR_OFF, 1), 0);
}
END_TEST

/* 4.1.4.9.2 forbids all of these; the device touches no BAR, reads give
 * 0, writes are dropped. Each target would answer or change something
 * if the window let it through. */
struct win_case { uint8_t bar; uint32_t off, len; };

static const struct win_case bad_reads[] = {
	{ 1, VPCI_DEVCFG_OFF, 4 },		/* upper half of BAR 0 */
	{ 2, VPCI_MSIX_TABLE_OFF + 12, 4 },	/* ours, but no virtio structure */
	{ 5, VPCI_DEVCFG_OFF, 4 },
	{ 6, VPCI_DEVCFG_OFF, 4 },		/* no such BAR */
	{ 0xff, VPCI_DEVCFG_OFF, 4 },
	{ 0, VPCI_DEVCFG_OFF, 0 },
	{ 0, VPCI_DEVCFG_OFF, 3 },
	{ 0, VPCI_DEVCFG_OFF, 8 },
	{ 0, VPCI_DEVCFG_OFF, 0xffffffff },
	{ 0, VPCI_DEVCFG_OFF + 1, 2 },		/* misaligned */
	{ 0, VPCI_DEVCFG_OFF + 1, 4 },
	{ 0, VPCI_ISR_OFF, 2 },			/* the ISR structure is one byte */
	{ 0, VPCI_ISR_OFF, 4 },
	{ 0, VPCI_COMMON_OFF + VPCI_COMMON_LEN, 4 },	/* past the structures */
	{ 0, VPCI_DEVCFG_OFF + sizeof(struct virtio_blk_config), 4 },
	{ 0, VPCI_BAR0_SIZE, 4 },		/* beyond the BAR */
	{ 0, 0xfffffffc, 4 },			/* offset + length wraps */
	{ 0, 0xffffffff, 1 },
};

static const struct win_case bad_writes[] = {
	{ 1, VPCI_COMMON_OFF + DFSEL, 4 },
	{ 2, VPCI_MSIX_TABLE_OFF, 4 },
	{ 3, VPCI_COMMON_OFF + DFSEL, 4 },
	{ 0x80, VPCI_COMMON_OFF + DFSEL, 4 },
	{ 0, VPCI_COMMON_OFF + DFSEL, 0 },
	{ 0, VPCI_COMMON_OFF + DFSEL, 3 },
	{ 0, VPCI_COMMON_OFF + DFSEL, 8 },
	{ 0, VPCI_COMMON_OFF + DFSEL, 0x80000004 },
	{ 0, VPCI_NOTIFY_OFF, 8 },
	{ 0, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT, 2 },	/* queue 1 absent */
	{ 0, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * VPCI_MAX_QUEUES, 4 },
	{ 0, VPCI_BAR0_SIZE, 4 },
	{ 0, 0xfffffffc, 4 },
};

START_TEST(hostile_pci_cfg_window)
{
	int kick = vpci_kick_fd(t, 0);
	uint32_t c = win_cap();
	enable_decode();
	struct virtio_hooks h = vpci_device_hooks(t);
	h.notify(h.opaque, 0);				/* ISR bit 0 pending */
	for (unsigned i = 0; i < sizeof(bad_reads) / sizeof(bad_reads[0]); i++) {
		const struct win_case *w = &bad_reads[i];
		win_set(0, VPCI_DEVCFG_OFF, 4);		/* fill pci_cfg_data */
		ck_assert_uint_ne(cfg_rd(c + WIN_DATA, 4), 0);
		log_clear_last_error();
		ck_assert_msg(win_rd(w->bar, w->off, w->len) == 0, "read case %u not refused", i);
		ck_assert_uint_eq(cfg_rd(c + WIN_DATA + 1, 1), 0);
	}
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 1);	/* still pending: never read */
	for (unsigned i = 0; i < sizeof(bad_writes) / sizeof(bad_writes[0]); i++) {
		const struct win_case *w = &bad_writes[i];
		win_wr(w->bar, w->off, 0xffffffff, w->len);
		ck_assert_msg(rd(CC(DFSEL), 4) == 0, "write case %u: feature select changed", i);
		ck_assert_msg(rd(bar2 + VPCI_MSIX_TABLE_OFF, 4) == 0, "write case %u: MSI-X", i);
		ck_assert_msg(!fd_signalled(kick, 0), "write case %u: kicked", i);
	}
	/* Inside the notify structure, but not a notify the MMIO path takes. */
	win_wr(0, VPCI_NOTIFY_OFF + 2, 0, 2);
	win_wr(0, VPCI_NOTIFY_OFF, 0, 1);
	ck_assert(!fd_signalled(kick, 0));
	/* Afterwards the window works. */
	ck_assert_uint_eq(win_rd(0, VPCI_COMMON_OFF + NUMQ, 2), 1);
	win_wr(0, VPCI_COMMON_OFF + DFSEL, 1, 4);
	ck_assert_uint_eq(rd(CC(DFSEL), 4), 1);
}
END_TEST

/* Counts the lines naming the window that fn logs on stderr. */
static unsigned window_warnings(void (*fn)(void))
{
	char path[] = "/tmp/minivmm-vpci-log-XXXXXX", buf[4096];
	int fd = mkstemp(path), saved = dup(2);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	log_set_quiet(false);
	fn();
	fflush(stderr);
	log_set_quiet(true);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	unsigned count = 0;
	for (const char *p = buf; (p = strstr(p, "PCI_CFG window")); p++)
		count++;
	return count;
}

static void dump_config_space(void)
{
	for (uint32_t off = 0; off < PCI_CFG_SPACE_SIZE; off += 4)
		cfg_rd(off, 4);
}

static void refused_read(void) { win_rd(0, VPCI_DEVCFG_OFF, 3); }

/* A config-space dump (lspci -xxx) reads pci_cfg_data with no window set
 * up: it reads 0 without a warning each time; a refused window warns. */
START_TEST(pci_cfg_window_dump_is_quiet)
{
	ck_assert_uint_eq(window_warnings(dump_config_space), 0);
	ck_assert_uint_eq(cfg_rd(win_cap() + WIN_DATA, 4), 0);
	ck_assert_uint_eq(window_warnings(refused_read), 1);
}
END_TEST

TCase *tcase_vpci_window(void)
{
	TCase *tc = tcase_create("vpci_window");
	tcase_add_checked_fixture(tc, vpci_fx_setup, vpci_fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pci_cfg_window_capability);
	tcase_add_test(tc, pci_cfg_window_reads_like_mmio);
	tcase_add_test(tc, pci_cfg_window_writes_like_mmio);
	tcase_add_test(tc, pci_cfg_window_notify_kicks_the_queue);
	tcase_add_test(tc, hostile_pci_cfg_window);
	tcase_add_test(tc, pci_cfg_window_dump_is_quiet);
	return tc;
}

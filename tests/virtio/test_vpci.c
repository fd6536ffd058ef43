/* The virtio-pci transport without KVM: a fake machine records ioeventfds,
 * MSI routes and the INTx line; the test plays the guest driver through
 * PCI config accesses and the MMIO bus, with a real virtio-blk device on a
 * raw image and its I/O thread. Hostile values have tests of their own. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/pci_cfg.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/virtio/vdrv.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define IMG_SIZE (1u << 20)
#define QS 16
#define MSI_ADDR 0xfee00000u

struct fake_machine {
	unsigned ioeventfds, msi_adds, msi_sets;
	int ioeventfds_assigned;	/* assigned minus deassigned */
	bool fail_ioeventfd;		/* injected failures */
	unsigned fail_msi_add_nth;	/* 1: the first call fails; 0: none */
	uint64_t ioeventfd_gpa;
	uint32_t ioeventfd_len;
	int ioeventfd_fd;
	unsigned last_set_gsi;
	uint64_t last_set_addr;
	uint32_t last_set_data;
	int intx_level;
	unsigned intx_gsi, intx_calls;
};

static struct fake_machine fm;
static struct pci *pci;
static struct bus *mmio;
static struct vdrv drv;
static struct disk *disk;
static struct vpci *t;
static uint8_t slot;
static uint64_t bar0, bar2;
static char img_path[64];

static int fake_ioeventfd(void *o, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	(void)o;
	if (!assign) {
		fm.ioeventfds_assigned--;
		return 0;
	}
	if (fm.fail_ioeventfd)
		return -EEXIST;
	fm.ioeventfds_assigned++;
	fm.ioeventfds++;
	fm.ioeventfd_gpa = gpa;
	fm.ioeventfd_len = len;
	fm.ioeventfd_fd = fd;
	return 0;
}

static int fake_msi_add(void *o, int fd, unsigned *gsi)
{
	(void)o;
	ck_assert_int_ge(fd, 0);
	if (fm.fail_msi_add_nth && fm.msi_adds + 1 == fm.fail_msi_add_nth)
		return -ENOSPC;
	*gsi = 100 + fm.msi_adds++;
	return 0;
}

static int fake_msi_set(void *o, unsigned gsi, uint64_t addr, uint32_t data)
{
	(void)o;
	fm.msi_sets++;
	fm.last_set_gsi = gsi;
	fm.last_set_addr = addr;
	fm.last_set_data = data;
	return 0;
}

static void fake_intx(void *o, unsigned gsi, int level)
{
	(void)o;
	fm.intx_calls++;
	fm.intx_gsi = gsi;
	fm.intx_level = level;
}

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

static void make_image(void)
{
	static uint8_t buf[IMG_SIZE];
	snprintf(img_path, sizeof(img_path), "/tmp/minivmm-vpci-%d.img", getpid());
	for (uint64_t i = 0; i < IMG_SIZE; i++)
		buf[i] = pattern(i);
	int fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, IMG_SIZE), IMG_SIZE);
	close(fd);
}

static struct vpci_machine machine(void)
{
	return (struct vpci_machine){
		.pci = pci, .mmio = mmio, .gm = drv.gm, .ioeventfd = fake_ioeventfd,
		.msi_add = fake_msi_add, .msi_set = fake_msi_set, .set_intx = fake_intx,
	};
}

/* The machine without the device (plug-failure tests). */
static void setup_machine(void)
{
	log_set_quiet(true);
	log_clear_last_error();
	memset(&fm, 0, sizeof(fm));
	fm.intx_level = -1;
	make_image();
	struct disk_opts o = { .path = img_path, .format = DISK_FORMAT_RAW };
	ck_assert_int_eq(disk_open(&o, &disk), 0);
	ck_assert_int_eq(vdrv_init(&drv, 1 << 20, QS), 0);
	pci = pci_create();
	mmio = bus_create("mmio");
	ck_assert_ptr_nonnull(pci);
	ck_assert_ptr_nonnull(mmio);
	pci_set_mmio_window(pci, MEM_PCI_MMIO_START, MEM_PCI_MMIO_END);
	ck_assert_int_eq(pci_add_host_bridge(pci), 0);
	t = NULL;
}

static void setup(void)
{
	setup_machine();
	const struct vpci_machine m = machine();
	t = vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" });
	ck_assert_ptr_nonnull(t);
	slot = vpci_slot(t);
	bar0 = vpci_bar_base(t, 0);
	bar2 = vpci_bar_base(t, 2);
}

static void teardown(void)
{
	vpci_blk_destroy(t);
	bus_destroy(mmio);
	pci_destroy(pci);
	vdrv_fini(&drv);
	disk_close(disk);
	unlink(img_path);
}

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_config_read(pci, 0, slot, 0, off, &v, len);
	return v;
}

static void cfg_wr(uint32_t off, uint32_t v, uint32_t len)
{
	pci_config_write(pci, 0, slot, 0, off, &v, len);
}

static uint64_t rd(uint64_t addr, uint32_t len)
{
	uint64_t v = 0;
	ck_assert(bus_read(mmio, addr, &v, len));
	return v;
}

static void wr(uint64_t addr, uint64_t v, uint32_t len)
{
	ck_assert(bus_write(mmio, addr, &v, len));
}

#define CC(off) (bar0 + VPCI_COMMON_OFF + (off))
enum { DFSEL = 0, DF = 4, GFSEL = 8, GF = 0xc, MSIXCFG = 0x10, NUMQ = 0x12, STATUS = 0x14,
       QSEL = 0x16, QSIZE = 0x18, QMSIX = 0x1a, QEN = 0x1c, QNOFF = 0x1e, QDESC = 0x20,
       QDRV = 0x28, QDEV = 0x30 };

static bool fd_signalled(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	uint64_t v;
	ck_assert_int_eq(read(fd, &v, sizeof(v)), sizeof(v));
	return true;
}

static void enable_decode(void) { cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2); }

static int find_cap(uint8_t id, uint8_t vtype)
{
	unsigned ptr = cfg_rd(PCI_CAP_PTR, 1), hops = 0;
	while (ptr && hops++ < 48) {
		if (cfg_rd(ptr, 1) == id && (id != PCI_CAP_ID_VENDOR || cfg_rd(ptr + 3, 1) == vtype))
			return (int)ptr;
		ptr = cfg_rd(ptr + 1, 1);
	}
	return -1;
}

static uint64_t offered(void)
{
	wr(CC(DFSEL), 0, 4);
	uint64_t f = rd(CC(DF), 4);
	wr(CC(DFSEL), 1, 4);
	return f | rd(CC(DF), 4) << 32;
}

static void set_features(uint64_t f)
{
	wr(CC(GFSEL), 0, 4);
	wr(CC(GF), (uint32_t)f, 4);
	wr(CC(GFSEL), 1, 4);
	wr(CC(GF), f >> 32, 4);
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue 0 laid out, enabled. */
static void driver_setup(uint16_t qvec)
{
	enable_decode();
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_features(offered());
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	wr(CC(QSEL), 0, 2);
	wr(CC(QSIZE), QS, 2);
	wr(CC(QMSIX), qvec, 2);
	wr(CC(QDESC), (uint32_t)drv.desc_gpa, 4);
	wr(CC(QDESC) + 4, drv.desc_gpa >> 32, 4);
	wr(CC(QDRV), drv.avail_gpa, 8);
	wr(CC(QDEV), drv.used_gpa, 8);
	wr(CC(QEN), 1, 2);
}

static const uint8_t status_ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

START_TEST(config_space_and_capabilities)
{
	ck_assert_uint_eq(slot, 1);
	ck_assert_uint_eq(cfg_rd(PCI_VENDOR_ID, 4), 0x10421af4);
	ck_assert_uint_eq(cfg_rd(PCI_SUBSYS_ID, 2), 0x40);
	ck_assert_uint_eq(cfg_rd(PCI_REVISION_ID, 1), 1);
	ck_assert_uint_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	ck_assert_uint_eq(cfg_rd(PCI_INTERRUPT_LINE, 1), pci_intx_gsi(slot, 0));
	ck_assert_uint_eq(bar0, MEM_PCI_MMIO_START);
	ck_assert_uint_eq(cfg_rd(PCI_BAR0, 4), (uint32_t)bar0 | PCI_BAR_MEM_64);
	cfg_wr(PCI_BAR0, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(PCI_BAR0, 4), (uint32_t)~(VPCI_BAR0_SIZE - 1) | PCI_BAR_MEM_64);
	cfg_wr(PCI_BAR0 + 8, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(PCI_BAR0 + 8, 4), (uint32_t)~(VPCI_BAR2_SIZE - 1) | PCI_BAR_MEM_64);
	cfg_wr(PCI_BAR0, (uint32_t)bar0, 4);
	cfg_wr(PCI_BAR0 + 8, (uint32_t)bar2, 4);

	static const struct { uint8_t type; uint32_t off, len; } want[] = {
		{ 1, VPCI_COMMON_OFF, VPCI_COMMON_LEN }, { 3, VPCI_ISR_OFF, 1 },
		{ 4, VPCI_DEVCFG_OFF, sizeof(struct virtio_blk_config) }, { 2, VPCI_NOTIFY_OFF, 4 },
	};
	for (unsigned i = 0; i < 4; i++) {
		int c = find_cap(PCI_CAP_ID_VENDOR, want[i].type);
		ck_assert_int_gt(c, 0);
		ck_assert_uint_eq(cfg_rd((uint32_t)c + 4, 1), 0);	/* BAR 0 */
		ck_assert_uint_eq(cfg_rd((uint32_t)c + 8, 4), want[i].off);
		ck_assert_uint_eq(cfg_rd((uint32_t)c + 12, 4), want[i].len);
		if (want[i].type == 2)
			ck_assert_uint_eq(cfg_rd((uint32_t)c + 16, 4), VPCI_NOTIFY_MULT);
	}
	int mx = find_cap(PCI_CAP_ID_MSIX, 0);
	ck_assert_int_gt(mx, 0);
	ck_assert_uint_eq(cfg_rd((uint32_t)mx + 2, 2), 1);	/* 2 vectors */
	ck_assert_uint_eq(cfg_rd((uint32_t)mx + 4, 4), VPCI_MSIX_TABLE_OFF | 2);
	ck_assert_uint_eq(cfg_rd((uint32_t)mx + 8, 4), VPCI_MSIX_PBA_OFF | 2);

	ck_assert_uint_eq(fm.ioeventfds, 1);
	ck_assert_uint_eq(fm.ioeventfd_gpa, bar0 + VPCI_NOTIFY_OFF);
	ck_assert_uint_eq(fm.ioeventfd_len, 2);
	ck_assert_int_eq(fm.ioeventfd_fd, vpci_kick_fd(t, 0));
	ck_assert_uint_eq(fm.msi_adds, 2);

	enable_decode();
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 1);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), VBLK_QUEUE_SIZE);
	ck_assert_uint_eq(rd(CC(QNOFF), 2), 0);
	ck_assert(offered() & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* Device config: capacity in 512-byte sectors. */
	ck_assert_uint_eq(rd(bar0 + VPCI_DEVCFG_OFF, 8), IMG_SIZE / 512);
}
END_TEST

START_TEST(read_request_with_msix)
{
	int mx = find_cap(PCI_CAP_ID_MSIX, 0);
	driver_setup(1);
	wr(CC(MSIXCFG), 0, 2);
	ck_assert_uint_eq(rd(CC(MSIXCFG), 2), 0);
	/* MSI-X on, vector 1 programmed and unmasked. */
	cfg_wr((uint32_t)mx + 2, 0x8000, 2);
	wr(bar2 + 16, MSI_ADDR, 4);
	wr(bar2 + 20, 0, 4);
	wr(bar2 + 24, 0x4041, 4);
	wr(bar2 + 28, 0, 4);
	ck_assert_uint_eq(fm.msi_sets, 1);
	ck_assert_uint_eq(fm.last_set_gsi, 101);
	ck_assert_uint_eq(fm.last_set_addr, MSI_ADDR);
	ck_assert_uint_eq(fm.last_set_data, 0x4041);
	ck_assert_uint_eq(rd(bar2 + 16, 8), MSI_ADDR);

	wr(CC(STATUS), status_ok, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok);

	uint64_t data = vdrv_alloc(&drv, 4096, 4096);
	uint64_t st = vdrv_blk_chain(&drv, 0, VIRTIO_BLK_T_IN, 8, data, 4096, true);
	vdrv_publish(&drv, 0);
	wr(bar0 + VPCI_NOTIFY_OFF, 0, 2);	/* no KVM here: the MMIO path kicks */
	ck_assert_msg(fd_signalled(vpci_vector_fd(t, 1), 5000), "no MSI-X interrupt");
	ck_assert_uint_eq(*(uint8_t *)vdrv_hva(&drv, st), VIRTIO_BLK_S_OK);
	const uint8_t *buf = vdrv_hva(&drv, data);
	for (unsigned i = 0; i < 4096; i++)
		ck_assert_uint_eq(buf[i], pattern(8 * 512 + i));
	ck_assert_int_eq(fm.intx_level, -1);	/* INTx never used with MSI-X */

	/* Reset: everything back to the initial state. */
	wr(CC(STATUS), 0, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
	ck_assert_uint_eq(rd(CC(QEN), 2), 0);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), VPCI_NO_VECTOR);
	ck_assert_uint_eq(rd(CC(MSIXCFG), 2), VPCI_NO_VECTOR);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), VBLK_QUEUE_SIZE);
	ck_assert_uint_eq(rd(CC(QDESC), 8), 0);
	/* And it comes up again. */
	driver_setup(1);
	wr(CC(STATUS), status_ok, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok);
}
END_TEST

START_TEST(msix_masking_holds_interrupts_pending)
{
	int mx = find_cap(PCI_CAP_ID_MSIX, 0);
	struct vblk_hooks h = vpci_device_hooks(t);
	driver_setup(1);
	wr(CC(STATUS), status_ok, 1);
	cfg_wr((uint32_t)mx + 2, 0x8000, 2);
	wr(bar2 + 16, MSI_ADDR, 4);
	wr(bar2 + 24, 0x41, 4);		/* vector 1 stays masked (reset state) */
	h.notify(h.opaque, 0);
	ck_assert(!fd_signalled(vpci_vector_fd(t, 1), 0));
	ck_assert_uint_eq(rd(bar2 + VPCI_MSIX_PBA_OFF, 4), 2);	/* pending */
	wr(bar2 + VPCI_MSIX_PBA_OFF, 0, 4);			/* PBA is read-only */
	ck_assert_uint_eq(rd(bar2 + VPCI_MSIX_PBA_OFF, 4), 2);
	wr(bar2 + 28, 0, 4);					/* unmask: delivered */
	ck_assert(fd_signalled(vpci_vector_fd(t, 1), 0));
	ck_assert_uint_eq(rd(bar2 + VPCI_MSIX_PBA_OFF, 4), 0);
	/* Function mask. */
	cfg_wr((uint32_t)mx + 2, 0xc000, 2);
	h.notify(h.opaque, 0);
	ck_assert(!fd_signalled(vpci_vector_fd(t, 1), 0));
	cfg_wr((uint32_t)mx + 2, 0x8000, 2);
	ck_assert(fd_signalled(vpci_vector_fd(t, 1), 0));
	/* NO_VECTOR: nothing at all. */
	wr(CC(STATUS), 0, 1);
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), status_ok, 1);
	h.notify(h.opaque, 0);
	ck_assert(!fd_signalled(vpci_vector_fd(t, 0), 0));
	ck_assert(!fd_signalled(vpci_vector_fd(t, 1), 0));
	ck_assert_uint_eq(rd(bar2 + VPCI_MSIX_PBA_OFF, 4), 0);
}
END_TEST

START_TEST(intx_and_isr_read_to_clear)
{
	struct vblk_hooks h = vpci_device_hooks(t);
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), status_ok, 1);
	h.notify(h.opaque, 0);
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(fm.intx_gsi, pci_intx_gsi(slot, 0));
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 1);
	ck_assert_int_eq(fm.intx_level, 0);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 0);
	/* Config change (needs_reset from the device): ISR bit 1 + NEEDS_RESET. */
	h.needs_reset(h.opaque);
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok | VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 2);
	/* INTX_DISABLE in the command register keeps the line low. */
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	h.notify(h.opaque, 0);
	ck_assert_int_eq(fm.intx_level, 0);
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);		/* re-enabled: pending ISR */
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 1);
	ck_assert_int_eq(fm.intx_level, 0);
}
END_TEST

START_TEST(hostile_queue_values)
{
	enable_decode();
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(CC(QSEL), 0, 2);
	wr(CC(QSIZE), 3, 2);			/* not a power of two */
	ck_assert_uint_eq(rd(CC(QSIZE), 2), VBLK_QUEUE_SIZE);
	wr(CC(QSIZE), 0, 2);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), VBLK_QUEUE_SIZE);
	wr(CC(QSIZE), 2 * VBLK_QUEUE_SIZE, 2);	/* above the maximum */
	ck_assert_uint_eq(rd(CC(QSIZE), 2), VBLK_QUEUE_SIZE);
	wr(CC(QSIZE), 8, 2);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), 8);
	wr(CC(QMSIX), 2, 2);			/* 2 vectors: 0 and 1 */
	ck_assert_uint_eq(rd(CC(QMSIX), 2), VPCI_NO_VECTOR);
	wr(CC(QMSIX), 0x7fff, 2);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), VPCI_NO_VECTOR);
	wr(CC(MSIXCFG), 5, 2);
	ck_assert_uint_eq(rd(CC(MSIXCFG), 2), VPCI_NO_VECTOR);
	wr(CC(QMSIX), 1, 2);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), 1);
	/* A queue that does not exist: size 0, writes go nowhere. */
	wr(CC(QSEL), 7, 2);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), 0);
	wr(CC(QSIZE), 4, 2);
	wr(CC(QEN), 1, 2);
	ck_assert_uint_eq(rd(CC(QEN), 2), 0);
	wr(CC(QSEL), 0xffff, 2);
	ck_assert_uint_eq(rd(CC(QMSIX), 2), VPCI_NO_VECTOR);
	/* Queue fields are frozen once enabled; enable cannot be undone. */
	wr(CC(QSEL), 0, 2);
	wr(CC(QDESC), 0x1000, 8);
	wr(CC(QEN), 1, 2);
	wr(CC(QDESC), 0x2000, 8);
	wr(CC(QSIZE), 4, 2);
	wr(CC(QEN), 0, 2);
	ck_assert_uint_eq(rd(CC(QDESC), 8), 0x1000);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), 8);
	ck_assert_uint_eq(rd(CC(QEN), 2), 1);
}
END_TEST

START_TEST(hostile_features_and_status)
{
	enable_decode();
	uint8_t ad = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	wr(CC(STATUS), ad, 1);
	set_features(offered() | (UINT64_C(1) << 60));		/* never offered */
	wr(CC(STATUS), ad | VIRTIO_STATUS_FEATURES_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), ad);		/* refused */
	set_features(offered() & ~VIRTIO_BIT(VIRTIO_F_VERSION_1));	/* legacy */
	wr(CC(STATUS), ad | VIRTIO_STATUS_FEATURES_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), ad);
	wr(CC(STATUS), ad | VIRTIO_STATUS_DRIVER_OK, 1);	/* without FEATURES_OK */
	ck_assert_uint_eq(rd(CC(STATUS), 1), ad);
	wr(CC(GFSEL), 2, 4);					/* no third word */
	wr(CC(GF), 0xffffffff, 4);
	ck_assert_uint_eq(rd(CC(GF), 4), 0);
	wr(CC(DFSEL), 9, 4);
	ck_assert_uint_eq(rd(CC(DF), 4), 0);
	set_features(offered());
	wr(CC(STATUS), ad | VIRTIO_STATUS_FEATURES_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), ad | VIRTIO_STATUS_FEATURES_OK);
	set_features(0);				/* after FEATURES_OK: ignored */
	wr(CC(GFSEL), 1, 4);
	ck_assert_uint_eq(rd(CC(GF), 4) & 1, 1);	/* VERSION_1 still there */
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE, 1);	/* clearing bits: ignored */
	ck_assert_uint_eq(rd(CC(STATUS), 1), ad | VIRTIO_STATUS_FEATURES_OK);
	/* DRIVER_OK with the queue not enabled: NEEDS_RESET + config interrupt. */
	wr(CC(STATUS), status_ok, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok | VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 2);
	wr(CC(STATUS), 0, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
}
END_TEST

START_TEST(hostile_ring_addresses)
{
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), 0, 1);
	/* Misaligned descriptor table. */
	enable_decode();
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_features(offered());
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK, 1);
	wr(CC(QDESC), drv.desc_gpa + 8, 8);
	wr(CC(QDRV), drv.avail_gpa, 8);
	wr(CC(QDEV), drv.used_gpa, 8);
	wr(CC(QEN), 1, 2);
	wr(CC(STATUS), status_ok, 1);
	ck_assert(rd(CC(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
	wr(CC(STATUS), 0, 1);
	/* Used ring outside guest RAM. */
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_features(offered());
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK, 1);
	wr(CC(QDESC), drv.desc_gpa, 8);
	wr(CC(QDRV), drv.avail_gpa, 8);
	wr(CC(QDEV), 0xfffffffffffff000ull, 8);
	wr(CC(QEN), 1, 2);
	wr(CC(STATUS), status_ok, 1);
	ck_assert(rd(CC(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset recovers the device. */
	wr(CC(STATUS), 0, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), status_ok, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok);
}
END_TEST

START_TEST(hostile_access_widths)
{
	driver_setup(1);
	ck_assert_uint_eq(rd(CC(DF), 1), 0);		/* part of a 32-bit field */
	ck_assert_uint_eq(rd(CC(DF) + 1, 2), 0);
	ck_assert_uint_eq(rd(CC(QSIZE), 4), 0);	/* two fields at once */
	ck_assert_uint_eq(rd(CC(GF), 8), 0);
	wr(CC(QSEL), 0, 2);
	wr(CC(QSEL), 0x00010000, 4);		/* spans QSEL and QSIZE: dropped */
	ck_assert_uint_eq(rd(CC(QSEL), 2), 0);
	ck_assert_uint_eq(rd(CC(QSIZE), 2), QS);
	wr(CC(STATUS) - 1, 0xffff, 2);		/* straddles NUMQ/STATUS */
	ck_assert_uint_eq(rd(CC(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	ck_assert_uint_eq(rd(CC(VPCI_COMMON_LEN), 4), 0);	/* past the structure */
	ck_assert_uint_eq(rd(CC(QDESC) + 4, 4), drv.desc_gpa >> 32);	/* high half is fine */
	ck_assert_uint_eq(rd(CC(QDESC) + 2, 4), 0);			/* misaligned half */
	/* Notify: wrong widths, offsets and queues never kick. */
	int kick = vpci_kick_fd(t, 0);
	wr(bar0 + VPCI_NOTIFY_OFF, 0, 1);
	wr(bar0 + VPCI_NOTIFY_OFF + 1, 0, 2);
	wr(bar0 + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT, 1, 2);	/* queue 1 absent */
	wr(bar0 + VPCI_BAR0_SIZE - 8, 0, 8);
	ck_assert(!fd_signalled(kick, 0));
	wr(bar0 + VPCI_NOTIFY_OFF, 0, 4);
	ck_assert(fd_signalled(kick, 0));
	/* MSI-X table: aligned dwords/qwords only; beyond the vectors: 0. */
	wr(bar2 + 1, 0xffffffff, 4);
	wr(bar2 + 0, 0x1234, 2);
	ck_assert_uint_eq(rd(bar2, 4), 0);
	ck_assert_uint_eq(rd(bar2 + 2, 4), 0);
	wr(bar2 + 2 * 16, MSI_ADDR, 4);		/* vector 2 does not exist */
	ck_assert_uint_eq(rd(bar2 + 2 * 16, 4), 0);
	ck_assert_uint_eq(rd(bar2 + 12, 4), 1);	/* vector 0 masked */
	wr(bar2 + 12, 0xfffffffe, 4);		/* reserved bits stay 0 */
	ck_assert_uint_eq(rd(bar2 + 12, 4), 0);
	/* Device config is read-only; ISR read at other offsets: nothing. */
	uint64_t cap = rd(bar0 + VPCI_DEVCFG_OFF, 8);
	wr(bar0 + VPCI_DEVCFG_OFF, 0, 8);
	ck_assert_uint_eq(rd(bar0 + VPCI_DEVCFG_OFF, 8), cap);
	ck_assert_uint_eq(rd(bar0 + VPCI_DEVCFG_OFF + 0x1000 - 4, 4), 0);
}
END_TEST

START_TEST(bars_inert_without_memory_decode)
{
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 0xffff);	/* decode is off after reset */
	wr(CC(STATUS), VIRTIO_STATUS_ACKNOWLEDGE, 1);
	enable_decode();
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 1);
	/* The guest moves BAR 0: the old address stops answering. */
	cfg_wr(PCI_BAR0, (uint32_t)bar0 + 0x100000, 4);
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 0xffff);
	cfg_wr(PCI_BAR0, (uint32_t)bar0, 4);
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 1);
}
END_TEST

/* The VIRTIO_PCI_CAP_PCI_CFG window (spec 4.1.4.9). */
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
	wr(CC(STATUS), status_ok, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), status_ok);
	uint64_t data = vdrv_alloc(&drv, 4096, 4096);
	uint64_t st = vdrv_blk_chain(&drv, 0, VIRTIO_BLK_T_IN, 16, data, 4096, true);
	vdrv_publish(&drv, 0);
	win_wr(0, VPCI_NOTIFY_OFF, 0, 2);
	for (int i = 0; i < 5000 && fm.intx_level != 1; i++)
		usleep(1000);
	ck_assert_int_eq(fm.intx_level, 1);
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
	struct vblk_hooks h = vpci_device_hooks(t);
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

/* A plug that fails half-way must leave nothing pointing at the freed
 * transport: the BAR ranges, the slot and the ioeventfds are taken back.
 * (Without that, the accesses below touch freed memory: ASan aborts.) */
static void assert_nothing_left(void)
{
	uint32_t v;
	ck_assert(!bus_read(mmio, MEM_PCI_MMIO_START, &v, 4));			/* BAR 0 */
	ck_assert(!bus_read(mmio, MEM_PCI_MMIO_START + VPCI_BAR0_SIZE, &v, 4));	/* BAR 2 */
	ck_assert(!bus_write(mmio, MEM_PCI_MMIO_START + VPCI_NOTIFY_OFF, &v, 2));
	v = 0;
	pci_config_read(pci, 0, 1, 0, PCI_VENDOR_ID, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);					/* slot free */
	pci_config_write(pci, 0, 1, 0, PCI_COMMAND, &v, 2);
	ck_assert_int_eq(fm.ioeventfds_assigned, 0);
}

START_TEST(plug_fails_at_ioeventfd)
{
	const struct vpci_machine m = machine();
	fm.fail_ioeventfd = true;			/* after the BARs are mapped */
	ck_assert_ptr_null(vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" }));
	assert_nothing_left();
}
END_TEST

START_TEST(plug_fails_at_msi_route)
{
	const struct vpci_machine m = machine();
	fm.fail_msi_add_nth = 2;			/* after the slot is taken */
	ck_assert_ptr_null(vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" }));
	assert_nothing_left();
	/* The machine is usable: the next device gets the slot and works. */
	fm.fail_msi_add_nth = 0;
	t = vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" });
	ck_assert_ptr_nonnull(t);
	slot = vpci_slot(t);
	bar0 = vpci_bar_base(t, 0);
	ck_assert_uint_eq(slot, 1);
	ck_assert_int_eq(fm.ioeventfds_assigned, 1);
	enable_decode();
	ck_assert_uint_eq(rd(CC(NUMQ), 2), 1);
}
END_TEST

static void dummy_cfg_read(void *o, uint32_t off, void *data, uint32_t len)
{
	(void)o; (void)off;
	memset(data, 0, len);
}

static const struct pci_func_ops dummy_ops = { .cfg_read = dummy_cfg_read };

START_TEST(plug_fails_on_a_full_bus)
{
	const struct vpci_machine m = machine();
	for (uint8_t dev = 1; dev < PCI_MAX_DEVICES; dev++)
		ck_assert_int_eq(pci_add_function(pci, 0, dev, 0, &dummy_ops, NULL), 0);
	ck_assert_ptr_null(vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" }));
	ck_assert_msg(strstr(log_last_error(), "bus 0 is full"), "got: %s", log_last_error());
	uint32_t v;
	ck_assert(!bus_read(mmio, MEM_PCI_MMIO_START, &v, 4));
	ck_assert(!bus_read(mmio, MEM_PCI_MMIO_START + VPCI_BAR0_SIZE, &v, 4));
	ck_assert_int_eq(fm.ioeventfds_assigned, 0);
	pci_config_read(pci, 0, 1, 0, PCI_VENDOR_ID, &v, 4);
	ck_assert_uint_eq(v, 0);				/* still the dummy */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vpci");
	TCase *tc = tcase_create("vpci");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, config_space_and_capabilities);
	tcase_add_test(tc, read_request_with_msix);
	tcase_add_test(tc, msix_masking_holds_interrupts_pending);
	tcase_add_test(tc, intx_and_isr_read_to_clear);
	tcase_add_test(tc, hostile_queue_values);
	tcase_add_test(tc, hostile_features_and_status);
	tcase_add_test(tc, hostile_ring_addresses);
	tcase_add_test(tc, hostile_access_widths);
	tcase_add_test(tc, bars_inert_without_memory_decode);
	tcase_add_test(tc, pci_cfg_window_capability);
	tcase_add_test(tc, pci_cfg_window_reads_like_mmio);
	tcase_add_test(tc, pci_cfg_window_writes_like_mmio);
	tcase_add_test(tc, pci_cfg_window_notify_kicks_the_queue);
	tcase_add_test(tc, hostile_pci_cfg_window);
	suite_add_tcase(s, tc);
	TCase *tf = tcase_create("vpci_plug_failure");
	tcase_add_checked_fixture(tf, setup_machine, teardown);
	tcase_add_test(tf, plug_fails_at_ioeventfd);
	tcase_add_test(tf, plug_fails_at_msi_route);
	tcase_add_test(tf, plug_fails_on_a_full_bus);
	suite_add_tcase(s, tf);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

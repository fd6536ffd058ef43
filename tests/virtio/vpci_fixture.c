/* The virtio-pci tests' fake machine and driver helpers (vpci_fixture.h). */
#include "tests/virtio/vpci_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fake_machine fm;
struct pci *pci;
struct bus *mmio;
struct vdrv drv;
struct disk *disk;
struct vpci *t;
uint8_t slot;
uint64_t bar0, bar2;
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

struct vpci_machine machine(void)
{
	return (struct vpci_machine){
		.pci = pci, .mmio = mmio, .gm = drv.gm, .ioeventfd = fake_ioeventfd,
		.msi_add = fake_msi_add, .msi_set = fake_msi_set, .set_intx = fake_intx,
	};
}

/* The machine without the device (plug-failure tests). */
void vpci_fx_setup_machine(void)
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

void vpci_fx_setup(void)
{
	vpci_fx_setup_machine();
	const struct vpci_machine m = machine();
	t = vpci_blk_create(&m, disk, &(struct vblk_opts){ .name = "vda" });
	ck_assert_ptr_nonnull(t);
	slot = vpci_slot(t);
	bar0 = vpci_bar_base(t, 0);
	bar2 = vpci_bar_base(t, 2);
}

void vpci_fx_teardown(void)
{
	vpci_blk_destroy(t);
	bus_destroy(mmio);
	pci_destroy(pci);
	vdrv_fini(&drv);
	disk_close(disk);
	unlink(img_path);
}

uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_config_read(pci, 0, slot, 0, off, &v, len);
	return v;
}

void cfg_wr(uint32_t off, uint32_t v, uint32_t len)
{
	pci_config_write(pci, 0, slot, 0, off, &v, len);
}

uint64_t rd(uint64_t addr, uint32_t len)
{
	uint64_t v = 0;
	ck_assert(bus_read(mmio, addr, &v, len));
	return v;
}

void wr(uint64_t addr, uint64_t v, uint32_t len)
{
	ck_assert(bus_write(mmio, addr, &v, len));
}


bool fd_signalled(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	uint64_t v;
	ck_assert_int_eq(read(fd, &v, sizeof(v)), sizeof(v));
	return true;
}

void enable_decode(void) { cfg_wr(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2); }

int find_cap(uint8_t id, uint8_t vtype)
{
	unsigned ptr = cfg_rd(PCI_CAP_PTR, 1), hops = 0;
	while (ptr && hops++ < 48) {
		if (cfg_rd(ptr, 1) == id && (id != PCI_CAP_ID_VENDOR || cfg_rd(ptr + 3, 1) == vtype))
			return (int)ptr;
		ptr = cfg_rd(ptr + 1, 1);
	}
	return -1;
}

uint64_t offered(void)
{
	wr(CC(DFSEL), 0, 4);
	uint64_t f = rd(CC(DF), 4);
	wr(CC(DFSEL), 1, 4);
	return f | rd(CC(DF), 4) << 32;
}

void set_features(uint64_t f)
{
	wr(CC(GFSEL), 0, 4);
	wr(CC(GF), (uint32_t)f, 4);
	wr(CC(GFSEL), 1, 4);
	wr(CC(GF), f >> 32, 4);
}

void driver_setup(uint16_t qvec)
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

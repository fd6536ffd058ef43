/* Config-space helpers (header type 0, BAR sizing, capability list), the
 * BAR allocator, slot allocation and the host bridge, seen through the
 * 0xCF8/0xCFC ports as a guest sees them. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "devices/pci.h"
#include "devices/pci_cfg.h"
#include "tests/devices/fakes.h"
#include "vmm/layout.h"
#include "vmm/log.h"

static struct bus *pio;
static struct pci *pci;

static void setup(void)
{
	log_set_quiet(true);
	pio = bus_create("pio");
	pci = pci_create();
	ck_assert_ptr_nonnull(pio);
	ck_assert_ptr_nonnull(pci);
	ck_assert_int_eq(pci_register(pci, pio, PORT_PCI_CONFIG_ADDR, PORT_PCI_CONFIG_DATA), 0);
}

static void teardown(void)
{
	bus_destroy(pio);
	pci_destroy(pci);
}

static uint32_t cfg_in(unsigned dev, unsigned reg, unsigned len)
{
	uint32_t a = PCI_CONFIG_ENABLE | dev << 11 | (reg & 0xfc), v = 0;
	ck_assert(bus_write(pio, PORT_PCI_CONFIG_ADDR, &a, 4));
	ck_assert(bus_read(pio, PORT_PCI_CONFIG_DATA + (reg & 3), &v, len));
	return v;
}

static void cfg_out(unsigned dev, unsigned reg, uint32_t v, unsigned len)
{
	uint32_t a = PCI_CONFIG_ENABLE | dev << 11 | (reg & 0xfc);
	ck_assert(bus_write(pio, PORT_PCI_CONFIG_ADDR, &a, 4));
	ck_assert(bus_write(pio, PORT_PCI_CONFIG_DATA + (reg & 3), &v, len));
}

static void fwd_read(void *o, uint32_t off, void *d, uint32_t len) { pci_cfg_read(o, off, d, len); }
static void fwd_write(void *o, uint32_t off, const void *d, uint32_t len)
{
	pci_cfg_write(o, off, d, len);
}
static const struct pci_func_ops fwd_ops = { .cfg_read = fwd_read, .cfg_write = fwd_write };

static const struct pci_id test_id = {
	.vendor = 0x1af4, .device = 0x1042, .subsys_vendor = 0x1af4, .subsys_id = 0x40,
	.revision = 1, .class_code = 0x018000,
};

START_TEST(host_bridge_passes_linux_sanity_check)
{
	ck_assert_uint_eq(cfg_in(0, 0, 4), 0xffffffffu);	/* nothing yet */
	ck_assert_int_eq(pci_add_host_bridge(pci), 0);
	ck_assert_uint_eq(cfg_in(0, PCI_VENDOR_ID, 2), 0x1b36);
	ck_assert_uint_eq(cfg_in(0, PCI_CLASS_DEVICE, 2), 0x0600);	/* host bridge */
	ck_assert_uint_eq(cfg_in(0, PCI_HEADER_TYPE, 1), 0);
	cfg_out(0, PCI_VENDOR_ID, 0x12345678, 4);	/* ids are read-only */
	ck_assert_uint_eq(cfg_in(0, PCI_VENDOR_ID, 4), 0x00081b36);
	ck_assert_int_eq(pci_add_host_bridge(pci), -EEXIST);
}
END_TEST

START_TEST(header_and_command_mask)
{
	struct pci_cfg c;
	pci_cfg_init(&c, &test_id);
	uint8_t slot;
	ck_assert_int_eq(pci_add_device(pci, &fwd_ops, &c, &slot), 0);
	ck_assert_uint_eq(slot, 1);	/* slot 0 is the host bridge's */
	ck_assert_uint_eq(cfg_in(1, PCI_DEVICE_ID, 2), 0x1042);
	ck_assert_uint_eq(cfg_in(1, PCI_REVISION_ID, 4), 0x01800001);
	ck_assert_uint_eq(cfg_in(1, PCI_SUBSYS_VENDOR, 4), 0x00401af4);
	cfg_out(1, PCI_COMMAND, 0xffff, 2);
	ck_assert_uint_eq(cfg_in(1, PCI_COMMAND, 2), 0x0407);	/* IO, MEM, MASTER, INTX_DIS */
	ck_assert_uint_eq(cfg_in(1, PCI_STATUS, 2), 0);		/* not writable */
	ck_assert_uint_eq(cfg_in(1, PCI_CAP_PTR, 1), 0);	/* no capabilities */
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_MSIX), -ENOENT);
}
END_TEST

START_TEST(bar64_sizing_by_all_ones)
{
	struct pci_cfg c;
	uint64_t a0, a1;
	uint8_t slot;
	pci_set_mmio_window(pci, MEM_PCI_MMIO_START, MEM_PCI_MMIO_END);
	pci_cfg_init(&c, &test_id);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x4000, &a0), 0);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x1000, &a1), 0);
	ck_assert_uint_eq(a0, MEM_PCI_MMIO_START);
	ck_assert_uint_eq(a1, MEM_PCI_MMIO_START + 0x4000);
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 0, a0, 0x4000), 0);
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 2, a1, 0x1000), 0);
	ck_assert_int_eq(pci_add_device(pci, &fwd_ops, &c, &slot), 0);

	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0, 4), (uint32_t)a0 | PCI_BAR_MEM_64);
	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0 + 4, 4), 0);
	/* The spec's sizing: write all-ones, read back, restore. */
	cfg_out(slot, PCI_BAR0, 0xffffffff, 4);
	cfg_out(slot, PCI_BAR0 + 4, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0, 4), 0xffffc000u | PCI_BAR_MEM_64);
	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0 + 4, 4), 0xffffffffu);
	uint64_t size = ~((uint64_t)cfg_in(slot, PCI_BAR0 + 4, 4) << 32 |
			  (cfg_in(slot, PCI_BAR0, 4) & ~0xfu)) + 1;
	ck_assert_uint_eq(size, 0x4000);
	cfg_out(slot, PCI_BAR0 + 8, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0 + 8, 4), 0xfffff000u | PCI_BAR_MEM_64);
	cfg_out(slot, PCI_BAR0, (uint32_t)a0, 4);
	cfg_out(slot, PCI_BAR0 + 4, 0, 4);
	ck_assert_uint_eq(pci_cfg_bar_addr(&c, 0), a0);
	/* Unused BARs stay zero whatever is written. */
	cfg_out(slot, PCI_BAR0 + 16, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_in(slot, PCI_BAR0 + 16, 4), 0);
	/* The guest moves BAR 2 to a 64-bit address. */
	cfg_out(slot, PCI_BAR0 + 8, 0x10000000, 4);
	cfg_out(slot, PCI_BAR0 + 12, 0x1, 4);
	ck_assert_uint_eq(pci_cfg_bar_addr(&c, 2), 0x110000000ull);
}
END_TEST

START_TEST(bar_errors)
{
	struct pci_cfg c;
	uint64_t a;
	pci_cfg_init(&c, &test_id);
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 0, 0x1000, 0x3000), -EINVAL);	/* not 2^n */
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 0, 0x1000, 0x2000), -EINVAL);	/* misaligned */
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 0, 0, 0x800), -EINVAL);		/* < 4 KiB */
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 5, 0, 0x1000), -EINVAL);	/* no slot 6 */
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 1, 0, 0x1000), 0);
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 2, 0, 0x1000), -EINVAL);	/* overlaps 1-2 */
	ck_assert_int_eq(pci_cfg_set_bar64(&c, 0, 0, 0x1000), -EINVAL);

	pci_set_mmio_window(pci, 0x10000, 0x20000);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x1000, &a), 0);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x8000, &a), 0);
	ck_assert_uint_eq(a, 0x18000);		/* naturally aligned */
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x1000, &a), -ENOSPC);
	ck_assert_str_eq(log_last_error(), "pci: no room for a 0x1000-byte BAR in the MMIO window "
			 "[0x20000, 0x20000)");
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x1800, &a), -EINVAL);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0, &a), -EINVAL);
	pci_set_mmio_window(pci, 0xfffffffffffff000ull, UINT64_MAX);
	ck_assert_int_eq(pci_alloc_mmio(pci, 0x2000, &a), -ENOSPC);	/* would wrap */
}
END_TEST

/* Walks the list through the ports as a guest driver does. */
static int guest_find_cap(unsigned dev, uint8_t id)
{
	unsigned ptr = cfg_in(dev, PCI_CAP_PTR, 1), hops = 0;
	while (ptr && hops++ < 48) {
		if (cfg_in(dev, ptr, 1) == id)
			return (int)ptr;
		ptr = cfg_in(dev, ptr + 1, 1);
	}
	return -1;
}

START_TEST(capability_list)
{
	struct pci_cfg c;
	uint8_t slot;
	pci_cfg_init(&c, &test_id);
	int v1 = pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 16);
	int v2 = pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 19);	/* odd length */
	int mx = pci_cfg_add_cap(&c, PCI_CAP_ID_MSIX, 12);
	ck_assert_int_eq(v1, 0x40);
	ck_assert_int_eq(v2, 0x50);
	ck_assert_int_eq(mx, 0x64);		/* dword-aligned after 0x50 + 19 */
	pci_cfg_set_wmask(&c, (uint32_t)mx + 2, 0xc000, 2);
	ck_assert_int_eq(pci_add_device(pci, &fwd_ops, &c, &slot), 0);
	ck_assert_uint_eq(cfg_in(slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	ck_assert_int_eq(guest_find_cap(slot, PCI_CAP_ID_MSIX), mx);
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_MSIX), mx);
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_VENDOR), v1);
	ck_assert_int_eq(pci_cfg_find_cap(&c, 0x05), -ENOENT);		/* no MSI */
	/* Capability bodies are read-only except where the device says. */
	cfg_out(slot, (unsigned)mx, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_in(slot, (unsigned)mx, 4), 0xc0000000u | PCI_CAP_ID_MSIX);
	/* Full space. */
	for (int i = 0; i < 20; i++)
		pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 16);
	ck_assert_int_eq(pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 16), -ENOSPC);
}
END_TEST

START_TEST(hostile_capability_lists)
{
	struct pci_cfg c;
	pci_cfg_init(&c, &test_id);
	int a = pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 16);
	int b = pci_cfg_add_cap(&c, PCI_CAP_ID_VENDOR, 16);
	c.data[b + 1] = (uint8_t)a;			/* loop */
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_MSIX), -ELOOP);
	c.data[b + 1] = 0x10;				/* into the header */
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_MSIX), -ELOOP);
	c.data[b + 1] = 0xff;				/* unaligned: bits 1:0 ignored */
	c.data[0xfc] = 0x11;
	c.data[0xfd] = 0;
	ck_assert_int_eq(pci_cfg_find_cap(&c, PCI_CAP_ID_MSIX), 0xfc);
}
END_TEST

START_TEST(bad_accesses)
{
	struct pci_cfg c;
	uint32_t v = 0;
	pci_cfg_init(&c, &test_id);
	pci_cfg_read(&c, 0xfe, &v, 4);		/* past the end */
	ck_assert_uint_eq(v, 0xffffffffu);
	pci_cfg_read(&c, 0, &v, 3);
	ck_assert_uint_eq(v, 0xffffffffu);
	pci_cfg_write(&c, 0x100, &v, 1);	/* dropped, no crash under ASan */
	pci_cfg_write(&c, PCI_COMMAND, &v, 3);
	ck_assert_uint_eq(pci_cfg_get16(&c, PCI_COMMAND), 0);
}
END_TEST

START_TEST(slots_run_out)
{
	struct pci_cfg c;
	uint8_t slot = 0;
	pci_cfg_init(&c, &test_id);
	for (unsigned i = 1; i < PCI_MAX_DEVICES; i++) {
		ck_assert_int_eq(pci_add_device(pci, &fwd_ops, &c, &slot), 0);
		ck_assert_uint_eq(slot, i);
	}
	ck_assert_int_eq(pci_add_device(pci, &fwd_ops, &c, &slot), -ENOSPC);
	ck_assert_str_eq(log_last_error(), "pci: bus 0 is full (31 slots)");
}
END_TEST

START_TEST(intx_swizzle)
{
	ck_assert_uint_eq(pci_intx_gsi(1, 0), 17);
	ck_assert_uint_eq(pci_intx_gsi(7, 0), 23);
	ck_assert_uint_eq(pci_intx_gsi(8, 0), 16);
	ck_assert_uint_eq(pci_intx_gsi(31, 3), 18);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci_cfg");
	TCase *tc = tcase_create("pci_cfg");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, host_bridge_passes_linux_sanity_check);
	tcase_add_test(tc, header_and_command_mask);
	tcase_add_test(tc, bar64_sizing_by_all_ones);
	tcase_add_test(tc, bar_errors);
	tcase_add_test(tc, capability_list);
	tcase_add_test(tc, hostile_capability_lists);
	tcase_add_test(tc, bad_accesses);
	tcase_add_test(tc, slots_run_out);
	tcase_add_test(tc, intx_swizzle);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

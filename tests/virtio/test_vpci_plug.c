/* virtio-pci plugs that fail half-way (failures injected through the
 * fake machine of vpci_fixture.h, or a full PCI bus). */
#include "tests/virtio/vpci_fixture.h"

#include <string.h>

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

TCase *tcase_vpci_plug_failure(void)
{
	TCase *tc = tcase_create("vpci_plug_failure");
	tcase_add_checked_fixture(tc, vpci_fx_setup_machine, vpci_fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, plug_fails_at_ioeventfd);
	tcase_add_test(tc, plug_fails_at_msi_route);
	tcase_add_test(tc, plug_fails_on_a_full_bus);
	return tc;
}

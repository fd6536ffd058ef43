/* The virtio-pci transport without KVM: a fake machine records ioeventfds,
 * MSI routes and the INTx line; the test plays the guest driver through
 * PCI config accesses and the MMIO bus, with a real virtio-blk device on a
 * raw image and its I/O thread. Hostile values have tests of their own.
 * The PCI_CFG window and failed plugs: test_vpci_window.c, test_vpci_plug.c. */
#include "tests/virtio/vpci_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK);

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
	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK);
}
END_TEST

START_TEST(msix_masking_holds_interrupts_pending)
{
	int mx = find_cap(PCI_CAP_ID_MSIX, 0);
	struct virtio_hooks h = vpci_device_hooks(t);
	driver_setup(1);
	wr(CC(STATUS), STATUS_OK, 1);
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
	wr(CC(STATUS), STATUS_OK, 1);
	h.notify(h.opaque, 0);
	ck_assert(!fd_signalled(vpci_vector_fd(t, 0), 0));
	ck_assert(!fd_signalled(vpci_vector_fd(t, 1), 0));
	ck_assert_uint_eq(rd(bar2 + VPCI_MSIX_PBA_OFF, 4), 0);
}
END_TEST

START_TEST(intx_and_isr_read_to_clear)
{
	struct virtio_hooks h = vpci_device_hooks(t);
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), STATUS_OK, 1);
	h.notify(h.opaque, 0);
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(fm.intx_gsi, pci_intx_gsi(slot, 0));
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 1);
	ck_assert_int_eq(fm.intx_level, 0);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 0);
	/* Config change (needs_reset from the device): ISR bit 1 + NEEDS_RESET. */
	h.needs_reset(h.opaque);
	ck_assert_int_eq(fm.intx_level, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK | VIRTIO_STATUS_NEEDS_RESET);
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
	/* DRIVER_OK with the queue not enabled: a queue the driver does not
	 * use (spec 4.1.4.3): accepted, nothing to serve, no interrupt. */
	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK);
	ck_assert_int_ne(fm.intx_level, 1);
	ck_assert_uint_eq(rd(bar0 + VPCI_ISR_OFF, 1), 0);
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
	wr(CC(STATUS), STATUS_OK, 1);
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
	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert(rd(CC(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset recovers the device. */
	wr(CC(STATUS), 0, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), 0);
	driver_setup(VPCI_NO_VECTOR);
	wr(CC(STATUS), STATUS_OK, 1);
	ck_assert_uint_eq(rd(CC(STATUS), 1), STATUS_OK);
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

int main(void)
{
	Suite *s = suite_create("vpci");
	TCase *tc = tcase_create("vpci");
	tcase_add_checked_fixture(tc, vpci_fx_setup, vpci_fx_teardown);
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
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase_vpci_window());
	suite_add_tcase(s, tcase_vpci_plug_failure());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* PCI configuration mechanism #1: the address latch, "no device" answers,
 * and the function table that later holds the host bridge and virtio. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "devices/pci.h"
#include "tests/devices/fakes.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define ADDR PORT_PCI_CONFIG_ADDR
#define DATA PORT_PCI_CONFIG_DATA

static struct bus *pio;
static struct pci *pci;

static void setup(void)
{
	log_set_quiet(true);
	pio = bus_create("pio");
	pci = pci_create();
	ck_assert_ptr_nonnull(pio);
	ck_assert_ptr_nonnull(pci);
	ck_assert_int_eq(pci_register(pci, pio, ADDR, DATA), 0);
}

static void teardown(void)
{
	bus_destroy(pio);
	pci_destroy(pci);
}

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

/* A function with a 256-byte config space in memory. */
struct fake_fn {
	uint8_t space[PCI_CFG_SPACE_SIZE];
	unsigned reads, writes;
	uint32_t last_off, last_len;
};

static void fn_read(void *opaque, uint32_t off, void *data, uint32_t len)
{
	struct fake_fn *f = opaque;
	f->reads++;
	f->last_off = off;
	f->last_len = len;
	ck_assert_uint_le(off + len, PCI_CFG_SPACE_SIZE);
	memcpy(data, f->space + off, len);
}

static void fn_write(void *opaque, uint32_t off, const void *data, uint32_t len)
{
	struct fake_fn *f = opaque;
	f->writes++;
	f->last_off = off;
	f->last_len = len;
	ck_assert_uint_le(off + len, PCI_CFG_SPACE_SIZE);
	memcpy(f->space + off, data, len);
}

static const struct pci_func_ops fn_ops = { .cfg_read = fn_read, .cfg_write = fn_write };

static struct fake_fn *make_fn(void)
{
	static struct fake_fn f;
	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < PCI_CFG_SPACE_SIZE; i++)
		f.space[i] = (uint8_t)i;
	f.space[0] = 0xf4;	/* vendor 0x1af4 */
	f.space[1] = 0x1a;
	return &f;
}

START_TEST(latch_round_trip_as_linux_probes)
{
	/* pci_check_type1(): byte to 0xCFB, save, write enable, read back */
	outb(pio, ADDR + 3, 0x01);
	uint32_t saved = inl(pio, ADDR);
	outl(pio, ADDR, 0x80000000);
	ck_assert_uint_eq(inl(pio, ADDR), 0x80000000);
	outl(pio, ADDR, saved);
	ck_assert_uint_eq(inl(pio, ADDR), saved);
}
END_TEST

START_TEST(latch_keeps_only_real_bits)
{
	outl(pio, ADDR, 0xffffffff);
	ck_assert_uint_eq(inl(pio, ADDR), 0x80fffffc);
	outb(pio, ADDR, 0x00);			/* byte writes do not touch it */
	outw(pio, ADDR + 2, 0);
	ck_assert_uint_eq(inl(pio, ADDR), 0x80fffffc);
	ck_assert_uint_eq(inb(pio, ADDR), 0xff);	/* nor do byte reads see it */
	ck_assert_uint_eq(inw(pio, ADDR), 0xffff);
}
END_TEST

START_TEST(no_device_reads_all_ones_any_width)
{
	outl(pio, ADDR, cfg_addr(0, 0, 0, 0));
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
	ck_assert_uint_eq(inw(pio, DATA), 0xffff);
	ck_assert_uint_eq(inw(pio, DATA + 2), 0xffff);
	ck_assert_uint_eq(inb(pio, DATA + 3), 0xff);
	outl(pio, DATA, 0);			/* ignored */
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
	outl(pio, ADDR, cfg_addr(255, 31, 7, 0xfc));
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
}
END_TEST

START_TEST(function_answers_through_window)
{
	struct fake_fn *f = make_fn();
	ck_assert_int_eq(pci_add_function(pci, 0, 3, 0, &fn_ops, f), 0);
	outl(pio, ADDR, cfg_addr(0, 3, 0, 0));
	ck_assert_uint_eq(inw(pio, DATA), 0x1af4);
	ck_assert_uint_eq(inl(pio, DATA), 0x03021af4);
	outl(pio, ADDR, cfg_addr(0, 3, 0, 0x3c));
	ck_assert_uint_eq(inb(pio, DATA + 1), 0x3d);
	ck_assert_uint_eq(f->last_off, 0x3d);
	ck_assert_uint_eq(f->last_len, 1);
	ck_assert_uint_eq(inw(pio, DATA + 2), 0x3f3e);
	outb(pio, DATA + 2, 0x99);
	ck_assert_uint_eq(f->space[0x3e], 0x99);
	ck_assert_uint_eq(f->last_off, 0x3e);
	/* other functions of the same slot are still absent */
	outl(pio, ADDR, cfg_addr(0, 3, 1, 0));
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
	outl(pio, ADDR, cfg_addr(1, 3, 0, 0));
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
}
END_TEST

START_TEST(disabled_latch_reaches_nothing)
{
	struct fake_fn *f = make_fn();
	ck_assert_int_eq(pci_add_function(pci, 0, 0, 0, &fn_ops, f), 0);
	outl(pio, ADDR, cfg_addr(0, 0, 0, 0) & ~PCI_CONFIG_ENABLE);
	ck_assert_uint_eq(inl(pio, DATA), 0xffffffff);
	outl(pio, DATA, 0);
	ck_assert_uint_eq(f->reads + f->writes, 0);
}
END_TEST

START_TEST(add_function_rejects_bad_and_duplicate)
{
	struct fake_fn *f = make_fn();
	ck_assert_int_eq(pci_add_function(pci, 0, 32, 0, &fn_ops, f), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "pci: invalid function 00:20.0"));
	ck_assert_int_eq(pci_add_function(pci, 0, 0, 8, &fn_ops, f), -EINVAL);
	ck_assert_int_eq(pci_add_function(pci, 0, 0, 0, NULL, f), -EINVAL);
	ck_assert_int_eq(pci_add_function(pci, 0, 1, 2, &fn_ops, f), 0);
	ck_assert_int_eq(pci_add_function(pci, 0, 1, 2, &fn_ops, f), -EEXIST);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "00:01.2 already present"));
}
END_TEST

START_TEST(remove_function_frees_the_slot)
{
	struct fake_fn *f = make_fn();
	uint8_t slot;
	uint32_t v;
	ck_assert_int_eq(pci_add_device(pci, &fn_ops, f, &slot), 0);
	ck_assert_uint_eq(slot, 1);
	ck_assert_int_eq(pci_add_function(pci, 0, 2, 0, &fn_ops, f), 0);
	ck_assert_int_eq(pci_remove_function(pci, 0, 1, 1), -ENOENT);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "no function 00:01.1 to remove"));
	/* dev 33 must not alias slot 1 (the bdf keeps 5 bits of dev). */
	ck_assert_int_eq(pci_remove_function(pci, 0, 33, 0), -ENOENT);
	ck_assert_int_eq(pci_remove_function(pci, 0, 1, 8), -ENOENT);
	pci_config_read(pci, 0, 1, 0, 0, &v, 4);
	ck_assert_uint_eq(v & 0xffff, 0x1af4);
	ck_assert_int_eq(pci_remove_function(pci, 0, 1, 0), 0);
	unsigned reads = f->reads;
	pci_config_read(pci, 0, 1, 0, 0, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	pci_config_write(pci, 0, 1, 0, 4, &v, 4);
	ck_assert_uint_eq(f->reads, reads);
	pci_config_read(pci, 0, 2, 0, 0, &v, 4);		/* the other stays */
	ck_assert_uint_eq(v & 0xffff, 0x1af4);
	ck_assert_int_eq(pci_remove_function(pci, 0, 1, 0), -ENOENT);
	ck_assert_int_eq(pci_add_device(pci, &fn_ops, f, &slot), 0);	/* slot 1 again */
	ck_assert_uint_eq(slot, 1);
}
END_TEST

START_TEST(direct_access_checks_range_and_alignment)
{
	struct fake_fn *f = make_fn();
	ck_assert_int_eq(pci_add_function(pci, 0, 2, 0, &fn_ops, f), 0);
	uint32_t v = 0;
	pci_config_read(pci, 0, 2, 0, 0x08, &v, 4);
	ck_assert_uint_eq(v, 0x0b0a0908);
	pci_config_read(pci, 0, 2, 0, 0x0e, &v, 4);	/* crosses a dword */
	ck_assert_uint_eq(v, 0xffffffff);
	pci_config_read(pci, 0, 2, 0, 0x100, &v, 1);	/* beyond 256 bytes */
	ck_assert_uint_eq(v & 0xff, 0xff);
	pci_config_read(pci, 0, 2, 0, 0x10, &v, 3);	/* odd length */
	ck_assert_uint_eq(v & 0xffffff, 0xffffff);
	unsigned reads = f->reads;
	pci_config_write(pci, 0, 2, 0, 0xfe, &v, 4);
	pci_config_write(pci, 0, 40, 0, 0x00, &v, 4);
	ck_assert_uint_eq(f->writes, 0);
	ck_assert_uint_eq(f->reads, reads);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, latch_round_trip_as_linux_probes);
	tcase_add_test(tc, latch_keeps_only_real_bits);
	tcase_add_test(tc, no_device_reads_all_ones_any_width);
	tcase_add_test(tc, function_answers_through_window);
	tcase_add_test(tc, disabled_latch_reaches_nothing);
	tcase_add_test(tc, add_function_rejects_bad_and_duplicate);
	tcase_add_test(tc, direct_access_checks_range_and_alignment);
	tcase_add_test(tc, remove_function_frees_the_slot);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

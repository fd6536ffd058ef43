/* Shared PCI INTx lines: the pin is the OR of its sources. */
#include "devices/pci_intx.h"

#include <check.h>
#include <stdlib.h>

static int line[40];
static unsigned calls;

static void set_line(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	ck_assert_uint_lt(gsi, 40);
	line[gsi] = level;
	calls++;
}

START_TEST(shared_pin_stays_up_while_any_source_asserts)
{
	struct pci_intx x;

	pci_intx_init(&x, set_line, NULL);
	pci_intx_set(&x, 16, 1, 1);		/* slot 1 */
	ck_assert_int_eq(line[16], 1);
	pci_intx_set(&x, 16, 9, 1);		/* slot 9: same pin */
	ck_assert_int_eq(line[16], 1);
	pci_intx_set(&x, 16, 1, 0);		/* slot 1's ISR read */
	ck_assert_int_eq(line[16], 1);		/* slot 9 still asserts */
	pci_intx_set(&x, 16, 9, 0);
	ck_assert_int_eq(line[16], 0);
	/* Lowering twice, or a source that never asserted: stays low. */
	pci_intx_set(&x, 16, 9, 0);
	pci_intx_set(&x, 16, 3, 0);
	ck_assert_int_eq(line[16], 0);
	pci_intx_fini(&x);
}
END_TEST

START_TEST(pins_are_independent)
{
	struct pci_intx x;

	pci_intx_init(&x, set_line, NULL);
	pci_intx_set(&x, 16, 1, 1);
	pci_intx_set(&x, 17, 2, 1);
	pci_intx_set(&x, 16, 1, 0);
	ck_assert_int_eq(line[16], 0);
	ck_assert_int_eq(line[17], 1);
	pci_intx_set(&x, 17, 2, 0);
	ck_assert_int_eq(line[17], 0);
	pci_intx_fini(&x);
}
END_TEST

START_TEST(out_of_range_passes_through)
{
	struct pci_intx x;

	pci_intx_init(&x, set_line, NULL);
	calls = 0;
	pci_intx_set(&x, 30, 1, 1);		/* GSI beyond the IOAPIC pins */
	ck_assert_int_eq(line[30], 1);
	pci_intx_set(&x, 30, 1, 0);
	ck_assert_int_eq(line[30], 0);
	pci_intx_set(&x, 18, 40, 1);		/* source beyond the mask */
	ck_assert_int_eq(line[18], 1);
	ck_assert_uint_eq(x.asserted[18], 0);
	ck_assert_uint_eq(calls, 3);
	pci_intx_fini(&x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci_intx");
	TCase *tc = tcase_create("intx");
	tcase_add_test(tc, shared_pin_stays_up_while_any_source_asserts);
	tcase_add_test(tc, pins_are_independent);
	tcase_add_test(tc, out_of_range_passes_through);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

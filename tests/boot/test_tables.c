/* ACPI and MP tables: checksums, pointers and contents for several vCPU
 * counts, read back from guest RAM as a guest would find them. */
#include "helpers.h"

#include "devices/acpi_pm.h"
#include "devices/cmos.h"

#include <errno.h>

#define RAM_SIZE (32 * MIB)

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Find the RSDP the way Linux does: 16-byte steps through 0xE0000..0xFFFFF. */
static const uint8_t *find_rsdp(struct test_ram *ram)
{
	for (uint64_t a = 0xE0000; a < 0x100000; a += 16)
		if (!memcmp(ram_at(ram, a), "RSD PTR ", 8) && byte_sum(ram_at(ram, a), 20) == 0)
			return ram_at(ram, a);
	return NULL;
}

/* A table by signature through RSDP -> XSDT, checked on the way. */
static const uint8_t *find_table(struct test_ram *ram, const char sig[4])
{
	const uint8_t *rsdp = find_rsdp(ram);
	ck_assert_ptr_nonnull(rsdp);
	const uint8_t *xsdt = ram_at(ram, rd64(rsdp + 24));
	ck_assert_mem_eq(xsdt, "XSDT", 4);
	uint32_t len = rd32(xsdt + 4);
	ck_assert_uint_eq(byte_sum(xsdt, len), 0);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		const uint8_t *t = ram_at(ram, rd64(xsdt + off));
		if (!memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static void build(struct test_ram *ram, unsigned ncpus)
{
	uint64_t rsdp;
	ram_init(ram, RAM_SIZE);
	ck_assert_int_eq(acpi_build(ram->gm, ncpus, &rsdp), 0);
	ck_assert_uint_eq(rsdp, BOOT_ACPI_ADDR);
	ck_assert_int_eq(mptable_build(ram->gm, ncpus), 0);
}

START_TEST(rsdp_and_xsdt_checksums)
{
	struct test_ram ram;

	build(&ram, 2);
	const uint8_t *rsdp = find_rsdp(&ram);
	ck_assert_ptr_nonnull(rsdp);
	ck_assert_uint_eq(rsdp[15], 2);			/* revision: XSDT present */
	ck_assert_uint_eq(rd32(rsdp + 20), 36);
	ck_assert_uint_eq(byte_sum(rsdp, 36), 0);		/* extended checksum */
	const char *sigs[] = { "FACP", "APIC" };
	for (int i = 0; i < 2; i++) {
		const uint8_t *t = find_table(&ram, sigs[i]);
		ck_assert_msg(t != NULL, "no %s", sigs[i]);
		ck_assert_uint_eq(byte_sum(t, rd32(t + 4)), 0);
	}
	ram_fini(&ram);
}
END_TEST

START_TEST(madt_lists_every_vcpu)
{
	static const unsigned counts[] = { 1, 2, 4, 64 };

	for (unsigned c = 0; c < 4; c++) {
		struct test_ram ram;
		unsigned n = counts[c], lapics = 0, ioapics = 0, isos = 0;
		uint32_t irq0_gsi = 0;	/* identity unless overridden */
		build(&ram, n);
		const uint8_t *m = find_table(&ram, "APIC");
		ck_assert_ptr_nonnull(m);
		uint32_t len = rd32(m + 4);
		ck_assert_uint_eq(byte_sum(m, len), 0);
		ck_assert_uint_eq(rd32(m + 36), MEM_LAPIC_BASE);
		ck_assert_uint_eq(rd32(m + 40) & 1, 1);		/* PCAT_COMPAT: 8259s exist */
		for (uint32_t off = 44; off < len; off += m[off + 1]) {
			const uint8_t *e = m + off;
			ck_assert_uint_ge(e[1], 2);
			if (e[0] == 0) {
				ck_assert_uint_eq(e[3], lapics);	/* APIC IDs 0..n-1 */
				ck_assert_uint_eq(rd32(e + 4) & 1, 1);
				lapics++;
			} else if (e[0] == 1) {
				ck_assert_uint_eq(e[2], n);		/* IOAPIC id = ncpus */
				ck_assert_uint_eq(rd32(e + 4), MEM_IOAPIC_BASE);
				ck_assert_uint_eq(rd32(e + 8), 0);
				ioapics++;
			} else if (e[0] == 2) {
				if (e[3] == 0)
					irq0_gsi = rd32(e + 4);
				if (e[3] == ACPI_SCI_IRQ) {
					ck_assert_uint_eq(rd32(e + 4), ACPI_SCI_IRQ);
					ck_assert_uint_eq(rd16(e + 8), 0xd);	/* level, high */
				}
				isos++;
			}
		}
		ck_assert_uint_eq(lapics, n);
		ck_assert_uint_eq(ioapics, 1);
		/* the PIT lands where the VMM's GSI routing sends it */
		ck_assert_uint_eq(irq0_gsi, BOOT_PIT_GSI);
		ck_assert_uint_eq(isos, BOOT_PIT_GSI != 0 ? 2 : 1);
		ram_fini(&ram);
	}
}
END_TEST

START_TEST(fadt_pm1a_reset_and_dsdt)
{
	struct test_ram ram;

	build(&ram, 1);
	const uint8_t *f = find_table(&ram, "FACP");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(rd32(f + 4), 276);
	ck_assert_uint_eq(rd16(f + 46), ACPI_SCI_IRQ);		/* SCI_INT */
	ck_assert_uint_eq(rd32(f + 48), 0);			/* SMI_CMD: always in ACPI mode */
	ck_assert_uint_eq(rd32(f + 56), PORT_ACPI_PM1A_EVT);
	ck_assert_uint_eq(rd32(f + 64), PORT_ACPI_PM1A_CNT);
	ck_assert_uint_eq(f[88], 4);				/* PM1_EVT_LEN */
	ck_assert_uint_eq(f[89], 2);				/* PM1_CNT_LEN */
	ck_assert_uint_eq(rd32(f + 76), PORT_ACPI_PM_TMR);	/* PM_TMR_BLK */
	ck_assert_uint_eq(f[91], ACPI_PM_TMR_LEN);		/* PM_TMR_LEN */
	ck_assert_uint_eq(rd32(f + 112) & (1u << 8), 1u << 8);	/* TMR_VAL_EXT: 32 bits */
	ck_assert_uint_eq(f[208], 1);				/* X_PM_TMR_BLK: system I/O, */
	ck_assert_uint_eq(f[209], 32);				/* 32 bits, */
	ck_assert_uint_eq(f[211], 3);				/* dword access */
	ck_assert_uint_eq(rd64(f + 212), PORT_ACPI_PM_TMR);
	ck_assert_uint_eq(f[108], CMOS_REG_CENTURY);		/* CENTURY: the RTC's */
	ck_assert_uint_eq(rd32(f + 112) & (1u << 10), 1u << 10);	/* RESET_REG_SUP */
	ck_assert_uint_eq(rd32(f + 112) & (1u << 4), 0);	/* PWR_BUTTON clear: a fixed button */
	ck_assert_uint_eq(rd16(f + 109) & 2, 2);		/* 8042 present */
	ck_assert_uint_eq(f[116], 1);				/* RESET_REG: system I/O */
	ck_assert_uint_eq(f[117], 8);
	ck_assert_uint_eq(rd64(f + 120), PORT_ACPI_RESET);
	ck_assert_uint_eq(f[128], ACPI_RESET_VALUE);
	ck_assert_uint_eq(f[172], 1);				/* X_PM1a_CNT_BLK */
	ck_assert_uint_eq(f[173], 16);
	ck_assert_uint_eq(rd64(f + 176), PORT_ACPI_PM1A_CNT);
	ck_assert_uint_eq(rd64(f + 152), PORT_ACPI_PM1A_EVT);
	/* FACS 64-byte aligned */
	uint32_t facs = rd32(f + 36);
	ck_assert_uint_eq(facs % 64, 0);
	ck_assert_mem_eq(ram_at(&ram, facs), "FACS", 4);
	/* DSDT through both pointers, checksummed, with \_S5 = {5, ...} */
	uint32_t dsdt = rd32(f + 40);
	ck_assert_uint_eq(rd64(f + 140), dsdt);
	const uint8_t *d = ram_at(&ram, dsdt);
	ck_assert_mem_eq(d, "DSDT", 4);
	uint32_t len = rd32(d + 4);
	ck_assert_uint_eq(byte_sum(d, len), 0);
	const uint8_t *s5 = memmem(d + 36, len - 36, "\x08_S5_\x12", 6);
	ck_assert_ptr_nonnull(s5);
	ck_assert_uint_eq(s5[7], 4);				/* NumElements */
	ck_assert_uint_eq(s5[8], 0x0A);				/* BytePrefix */
	ck_assert_uint_eq(s5[9], ACPI_SLP_TYP_S5);
	ck_assert_ptr_nonnull(memmem(d + 36, len - 36, "PCI0", 4));
	ram_fini(&ram);
}
END_TEST

START_TEST(acpi_rejects_bad_vcpu_count)
{
	struct test_ram ram;
	uint64_t rsdp;

	ram_init(&ram, RAM_SIZE);
	log_clear_last_error();
	ck_assert_int_lt(acpi_build(ram.gm, 0, &rsdp), 0);
	ck_assert_int_lt(acpi_build(ram.gm, MAX_VCPUS + 1, &rsdp), 0);
	ck_assert_int_lt(mptable_build(ram.gm, MAX_VCPUS + 1), 0);
	ram_fini(&ram);
}
END_TEST

/* The MP floating pointer where Linux scans for it (0xF0000..0xFFFFF). */
static const uint8_t *find_mpf(struct test_ram *ram)
{
	for (uint64_t a = 0xF0000; a < 0x100000; a += 16)
		if (!memcmp(ram_at(ram, a), "_MP_", 4) && byte_sum(ram_at(ram, a), 16) == 0)
			return ram_at(ram, a);
	return NULL;
}

/* One MP I/O interrupt entry (type 3), checked by its source bus. */
struct mp_seen {
	unsigned isa_irqs, pci_irqs;
	bool pci_slot[32];
};

static void check_mp_intsrc(const uint8_t *e, unsigned ioapic_id, struct mp_seen *seen)
{
	ck_assert_uint_eq(e[1], 0);			/* INT, vectored */
	ck_assert_uint_eq(e[6], ioapic_id);		/* to the IOAPIC */
	if (e[4] == 1) {				/* ISA */
		ck_assert_uint_ne(e[5], 2);		/* no cascade */
		if (e[5] == 0)
			ck_assert_uint_eq(e[7], BOOT_PIT_GSI);
		else
			ck_assert_uint_eq(e[7], e[5]);
		if (e[5] == ACPI_SCI_IRQ)
			ck_assert_uint_eq(rd16(e + 2), 0xd);
		seen->isa_irqs++;
		return;
	}
	ck_assert_uint_eq(e[4], 0);			/* PCI bus 0 */
	unsigned slot = e[5] >> 2, pin = e[5] & 3;
	ck_assert_uint_eq(e[5] >> 7, 0);		/* bit 7 reserved */
	ck_assert_uint_ge(slot, 1);
	ck_assert_uint_eq(pin, 0);			/* INTA, as the DSDT's _PRT */
	ck_assert_msg(!seen->pci_slot[slot], "slot %u twice", slot);
	seen->pci_slot[slot] = true;
	ck_assert_uint_eq(e[7], pci_intx_gsi(slot, pin));
	ck_assert_uint_eq(rd16(e + 2), 0xf);		/* level, active low */
	seen->pci_irqs++;
}

START_TEST(mptable_contents)
{
	static const unsigned counts[] = { 1, 3, 64 };

	for (unsigned c = 0; c < 3; c++) {
		struct test_ram ram;
		struct mp_seen seen = { 0 };
		unsigned n = counts[c], cpus = 0, buses = 0, ioapics = 0, lints = 0;
		build(&ram, n);
		const uint8_t *mpf = find_mpf(&ram);
		ck_assert_ptr_nonnull(mpf);
		ck_assert_uint_eq(mpf[8], 1);		/* length in paragraphs */
		ck_assert_uint_eq(mpf[9], 4);		/* spec 1.4 */
		ck_assert_uint_eq(mpf[11], 0);		/* config table present */
		const uint8_t *mpc = ram_at(&ram, rd32(mpf + 4));
		ck_assert_mem_eq(mpc, "PCMP", 4);
		uint16_t len = rd16(mpc + 4), count = rd16(mpc + 34);
		ck_assert_uint_eq(byte_sum(mpc, len), 0);
		ck_assert_uint_le(rd32(mpf + 4) + len, 0x100000);	/* inside the scanned area */
		ck_assert_uint_eq(rd16(mpc + 40), 0);	/* no extended entries */
		ck_assert_uint_eq(rd32(mpc + 36), MEM_LAPIC_BASE);
		const uint8_t *e = mpc + 44;
		for (unsigned i = 0; i < count; i++) {
			ck_assert(e < mpc + len);
			switch (e[0]) {
			case 0:
				ck_assert_uint_eq(e[1], cpus);
				ck_assert_uint_eq(e[3], cpus == 0 ? 3 : 1);	/* EN, BP */
				cpus++;
				e += 20;
				continue;
			case 1:
				/* Linux finds PCI INTx by source bus id == PCI bus number. */
				ck_assert_uint_eq(e[1], buses);
				ck_assert_mem_eq(e + 2, buses == 0 ? "PCI   " : "ISA   ", 6);
				buses++;
				break;
			case 2:
				ck_assert_uint_eq(e[1], n);
				ck_assert_uint_eq(rd32(e + 4), MEM_IOAPIC_BASE);
				ioapics++;
				break;
			case 3:
				ck_assert_uint_eq(buses, 2);	/* buses come before their IRQs */
				check_mp_intsrc(e, n, &seen);
				break;
			case 4:
				lints++;
				break;
			default:
				ck_abort_msg("unknown MP entry type %u", e[0]);
			}
			e += 8;
		}
		ck_assert_ptr_eq(e, mpc + len);
		ck_assert_uint_eq(cpus, n);
		ck_assert_uint_eq(buses, 2);
		ck_assert_uint_eq(ioapics, 1);
		ck_assert_uint_eq(seen.isa_irqs, 15);
		ck_assert_uint_eq(seen.pci_irqs, 31);	/* every slot but the host bridge's */
		ck_assert_uint_eq(lints, 2);
		ram_fini(&ram);
	}
}
END_TEST

/* The MP table's PCI wiring agrees with the swizzle in vmm/layout.h at
 * the points other tests pin down (slot 1 -> 17, 7 -> 23, 8 -> 16). */
START_TEST(mptable_pci_gsis)
{
	static const struct { unsigned slot, gsi; } want[] = { { 1, 17 }, { 7, 23 }, { 8, 16 },
								 { 31, 23 } };
	struct test_ram ram;
	build(&ram, 2);
	const uint8_t *mpc = ram_at(&ram, rd32(find_mpf(&ram) + 4));
	uint16_t len = rd16(mpc + 4);
	for (unsigned w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		unsigned found = 0;
		for (const uint8_t *e = mpc + 44; e < mpc + len; e += e[0] == 0 ? 20 : 8)
			if (e[0] == 3 && e[4] == 0 && e[5] == (want[w].slot << 2)) {
				ck_assert_uint_eq(e[7], want[w].gsi);
				found++;
			}
		ck_assert_msg(found == 1, "slot %u: %u entries", want[w].slot, found);
	}
	ram_fini(&ram);
}
END_TEST

START_TEST(tables_inside_reserved_e820)
{
	struct test_ram ram;
	struct e820_entry e[8];

	build(&ram, 4);
	int n = e820_build(ram.gm, e, 8);
	ck_assert_int_eq(n, 3);
	const uint8_t *f = find_table(&ram, "FACP");
	uint64_t ends[] = { BOOT_ACPI_ADDR, rd32(f + 40), rd32(f + 36),
			    (uint64_t)(find_mpf(&ram) - ram_at(&ram, 0)) };
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_ge(ends[i], e[1].addr);
		ck_assert_uint_lt(ends[i], e[1].addr + e[1].size);
		ck_assert_uint_eq(e[1].type, E820_RESERVED);
	}
	ram_fini(&ram);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-tables");
	TCase *tc = tcase_create("tables");

	log_set_quiet(true);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, rsdp_and_xsdt_checksums);
	tcase_add_test(tc, madt_lists_every_vcpu);
	tcase_add_test(tc, fadt_pm1a_reset_and_dsdt);
	tcase_add_test(tc, acpi_rejects_bad_vcpu_count);
	tcase_add_test(tc, mptable_contents);
	tcase_add_test(tc, mptable_pci_gsis);
	tcase_add_test(tc, tables_inside_reserved_e820);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

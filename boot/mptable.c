/* Intel MultiProcessor Specification 1.4 tables: the floating pointer in
 * the BIOS ROM area (Linux scans 0xF0000..0xFFFFF) and a configuration table
 * listing every vCPU, the PCI and ISA buses, the IOAPIC, the ISA interrupt
 * wiring and the PCI INTx wiring. Linux prefers ACPI when it is present;
 * this is the fallback (acpi=off).
 *
 * The PCI bus's MP bus id is its PCI bus number (0): Linux looks a device's
 * INTx up by (PCI bus number, slot, pin) among the entries whose source bus
 * id is that number, so ISA takes the next id (1), as SeaBIOS does. */
#include "boot/boot_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>

struct mpf_intel {
	char signature[4];	/* "_MP_" */
	uint32_t physptr;
	uint8_t length;		/* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];	/* feature[0] == 0: a configuration table follows */
} __attribute__((packed));

struct mpc_table {
	char signature[4];	/* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;	/* number of entries */
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus { uint8_t type, busid; char bustype[6]; } __attribute__((packed));
struct mpc_ioapic { uint8_t type, apicid, apicver, flags; uint32_t apicaddr; } __attribute__((packed));
struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf size");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc size");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu size");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus size");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic size");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc size");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
#define MP_CPU_ENABLED   1
#define MP_CPU_BOOT      2
#define MP_APIC_VERSION  0x14
#define MP_IOAPIC_VER    0x11
#define MP_CPU_SIGNATURE 0x600			/* family 6 */
#define MP_CPU_FEATURES  ((1u << 0) | (1u << 9))	/* FPU, APIC */
#define MP_IRQ_LEVEL_HIGH 0x0D			/* polarity high, trigger level */
#define MP_IRQ_LEVEL_LOW 0x0F			/* polarity low, trigger level */
#define MP_ISA_IRQS      16
#define MP_BUS_PCI       0			/* = the PCI bus number */
#define MP_BUS_ISA       1
#define MP_PCI_SLOTS     32			/* slot 0 is the host bridge */
#define MP_PCI_PINS      1			/* INTA only, as the DSDT's _PRT */
#define MP_PCI_IRQS      ((MP_PCI_SLOTS - 1) * MP_PCI_PINS)
#define MP_ENTRIES_MAX   (MAX_VCPUS + 2 + 1 + MP_ISA_IRQS + MP_PCI_IRQS + 2)
#define MP_TABLE_MAX     (sizeof(struct mpc_table) + MAX_VCPUS * sizeof(struct mpc_cpu) + \
			  (MP_ENTRIES_MAX - MAX_VCPUS) * 8)
_Static_assert(BOOT_MPTABLE_ADDR + sizeof(struct mpf_intel) + MP_TABLE_MAX <= BOOT_SMBIOS_ADDR,
	       "the MP table must end before the SMBIOS tables (in the area Linux scans)");
_Static_assert(PCI_INTX_GSI_BASE + PCI_INTX_GSIS <= 24, "INTx GSIs are IOAPIC pins");

static void mp_put(uint8_t **p, const void *entry, size_t len, uint16_t *count)
{
	memcpy(*p, entry, len);
	*p += len;
	(*count)++;
}

/* An I/O (MP_INTSRC) or local (MP_LINTSRC) interrupt assignment. */
static void mp_put_irq(uint8_t **p, uint8_t kind, uint8_t type, uint16_t flag, uint8_t bus,
		       uint8_t irq, uint8_t apic, uint8_t pin, uint16_t *count)
{
	struct mpc_intsrc e = { kind, type, flag, bus, irq, apic, pin };
	mp_put(p, &e, sizeof(e), count);
}

/* Entries after the header; returns the count. */
static uint16_t mp_entries(uint8_t *p, unsigned ncpus)
{
	uint16_t n = 0;
	uint8_t ioapic_id = (uint8_t)ncpus;

	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu c = { MP_PROCESSOR, (uint8_t)i, MP_APIC_VERSION,
				     MP_CPU_ENABLED | (i == 0 ? MP_CPU_BOOT : 0),
				     MP_CPU_SIGNATURE, MP_CPU_FEATURES, { 0, 0 } };
		mp_put(&p, &c, sizeof(c), &n);
	}
	struct mpc_bus pci = { MP_BUS, MP_BUS_PCI, { 'P', 'C', 'I', ' ', ' ', ' ' } };
	mp_put(&p, &pci, sizeof(pci), &n);
	struct mpc_bus isa = { MP_BUS, MP_BUS_ISA, { 'I', 'S', 'A', ' ', ' ', ' ' } };
	mp_put(&p, &isa, sizeof(isa), &n);
	struct mpc_ioapic io = { MP_IOAPIC, ioapic_id, MP_IOAPIC_VER, 1,
				 (uint32_t)MEM_IOAPIC_BASE };
	mp_put(&p, &io, sizeof(io), &n);
	for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;	/* the 8259 cascade */
		uint16_t flag = irq == ACPI_SCI_IRQ ? MP_IRQ_LEVEL_HIGH : 0;
		uint8_t pin = irq == 0 ? BOOT_PIT_GSI : irq;
		mp_put_irq(&p, MP_INTSRC, MP_INT, flag, MP_BUS_ISA, irq, ioapic_id, pin, &n);
	}
	/* PCI INTx: the source IRQ is slot << 2 | pin (MP spec D.3); level,
	 * active low like the DSDT's GSI _PRT entries. KVM's IOAPIC takes
	 * KVM_IRQ_LINE level 1 as "asserted" whatever the polarity, so the
	 * flag only has to agree with what ACPI declares. */
	for (uint8_t slot = 1; slot < MP_PCI_SLOTS; slot++)
		for (uint8_t pin = 0; pin < MP_PCI_PINS; pin++)
			mp_put_irq(&p, MP_INTSRC, MP_INT, MP_IRQ_LEVEL_LOW, MP_BUS_PCI,
				   (uint8_t)(slot << 2 | pin), ioapic_id,
				   (uint8_t)pci_intx_gsi(slot, pin), &n);
	/* Local interrupts of every LAPIC (dstapic 0xff): the 8259 on LINT0, NMI on LINT1. */
	mp_put_irq(&p, MP_LINTSRC, MP_EXTINT, 0, MP_BUS_ISA, 0, 0xff, 0, &n);
	mp_put_irq(&p, MP_LINTSRC, MP_NMI, 0, MP_BUS_ISA, 0, 0xff, 1, &n);
	return n;
}

int mptable_build(struct guest_mem *gm, unsigned ncpus)
{
	uint64_t size = sizeof(struct mpf_intel) + MP_TABLE_MAX;
	uint8_t *base = gmem_ptr(gm, BOOT_MPTABLE_ADDR, size);

	if (!base || ncpus == 0 || ncpus > MAX_VCPUS) {
		log_error("boot: no room for the MP table at %#llx (%u vCPUs)",
			  (unsigned long long)BOOT_MPTABLE_ADDR, ncpus);
		return -ENOSPC;
	}
	memset(base, 0, size);
	struct mpf_intel *mpf = (struct mpf_intel *)base;
	struct mpc_table *mpc = (struct mpc_table *)(base + sizeof(*mpf));
	uint8_t *entries = (uint8_t *)(mpc + 1);

	mpc->oemcount = mp_entries(entries, ncpus);
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(sizeof(*mpc) + ncpus * sizeof(struct mpc_cpu) +
				 (mpc->oemcount - ncpus) * sizeof(struct mpc_intsrc));
	mpc->spec = 4;
	memcpy(mpc->oem, "MINIVMM ", 8);
	memcpy(mpc->productid, "MINIVMM     ", 12);
	mpc->lapic = (uint32_t)MEM_LAPIC_BASE;
	mpc->checksum = acpi_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(BOOT_MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = acpi_checksum(mpf, sizeof(*mpf));
	return 0;
}

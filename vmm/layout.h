/* The guest-physical and port-I/O map of a minivmm x86 machine: the one
 * place addresses are chosen. Devices and tables take their addresses from
 * here (or from an allocator), never invent them. */
#ifndef MINIVMM_LAYOUT_H
#define MINIVMM_LAYOUT_H

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

/* RAM up to MEM_HOLE_START is mapped from GPA 0; the rest starts at 4 GiB.
 * [MEM_HOLE_START, 4 GiB) is the 32-bit PCI/MMIO hole. */
#define MEM_HOLE_START      0xC0000000ULL
#define MEM_HIGH_START      0x100000000ULL
#define MEM_PCI_MMIO_START  0xC0000000ULL	/* BARs are allocated from here */
#define MEM_PCI_MMIO_END    0xFEC00000ULL
#define MEM_IOAPIC_BASE     0xFEC00000ULL
#define MEM_LAPIC_BASE      0xFEE00000ULL

/* Legacy low memory: the real-mode area Linux expects to be reserved. */
#define MEM_EBDA_START      0x9FC00ULL
#define MEM_BIOS_START      0xE0000ULL	/* RSDP and MP floating pointer live here */
#define MEM_BIOS_END        0x100000ULL
#define MEM_HIMEM_START     0x100000ULL	/* where kernels load (1 MiB) */

/* Smallest and largest RAM a user may ask for. */
#define MEM_MIN_SIZE        (16 * MIB)
#define MEM_MAX_SIZE        (1024 * GIB)

#define MAX_VCPUS 64

/* Legacy PC ports. */
#define PORT_COM1           0x3f8
#define IRQ_COM1            4
#define IRQ_KEYBOARD        1	/* i8042 keyboard port */
#define IRQ_RTC             8	/* MC146818 RTC */
#define PORT_I8042_DATA     0x60
#define PORT_I8042_CMD      0x64
#define PORT_CMOS_INDEX     0x70
#define PORT_CMOS_DATA      0x71
#define PORT_PCI_CONFIG_ADDR 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc

/* PCI INTx: pin p (0 = INTA) of slot s on bus 0 is wired to IOAPIC input
 * PCI_INTX_GSI_BASE + (s + p) % PCI_INTX_GSIS (level, active low), the
 * usual swizzle; the DSDT's _PRT says the same. */
#define PCI_INTX_GSI_BASE   16
#define PCI_INTX_GSIS       8
static inline unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin) % PCI_INTX_GSIS;
}

/* ACPI fixed hardware (described by the FADT). */
#define PORT_ACPI_PM1A_EVT  0x600	/* 4 bytes: PM1a status + enable */
#define PORT_ACPI_PM1A_CNT  0x604	/* 2 bytes: SLP_TYP/SLP_EN */
#define PORT_ACPI_RESET     0x608	/* 1 byte: write ACPI_RESET_VALUE */
#define PORT_ACPI_PM_TMR    0x60c	/* 4 bytes: 32-bit PM timer, 3.579545 MHz */
#define ACPI_RESET_VALUE    0x01
#define ACPI_SCI_IRQ        9
#define ACPI_SLP_TYP_S5     5	/* the value of \_S5 in our DSDT */

/* minivmm's debug-exit port: a byte written here ends the VM and becomes
 * minivmm's exit status (used by the tiny test guest). */
#define PORT_DEBUG_EXIT     0x501

#endif

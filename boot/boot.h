/* Loading a guest kernel: bzImage (64-bit boot protocol) or ELF vmlinux
 * (64-bit entry, or the PVH entry note), its initrd and command line, and
 * the firmware tables a PC guest expects (e820, ACPI, MP table).
 *
 * Order of use: boot_check() while validating flags (before /dev/kvm is
 * opened), then boot_load() into guest memory, then start the boot vCPU in
 * the state boot_entry describes. The other vCPUs are started by the guest
 * (INIT/SIPI) and need nothing from here.
 *
 * What a kernel must look like (a test guest's wrapper too):
 * - bzImage: boot flag 0xAA55 at 0x1fe, a short jmp at 0x200 (its target
 *   ends the header), "HdrS" at 0x202, protocol >= 2.12 with XLF_KERNEL_64
 *   in xloadflags, syssize * 16 <= payload bytes <= init_size, and either
 *   relocatable with a power-of-two kernel_alignment or pref_address >=
 *   1 MiB. Entered in 64-bit mode at load address + 0x200, rsi = zero page.
 * - ELF64 x86-64 (ET_EXEC or ET_DYN): PT_LOAD segments at p_paddr >= 1 MiB
 *   inside guest RAM, p_filesz <= p_memsz (the rest zeroed). Entered at
 *   e_entry (a physical address, or a virtual one inside a PT_LOAD) in
 *   64-bit mode with a zero page in rsi; or, with a Xen PHYS32_ENTRY note
 *   (PVH), at that entry in 32-bit protected mode with rbx = hvm_start_info.
 *
 * Interrupt wiring the tables declare (the VMM must match it): ISA IRQs
 * identity-mapped to IOAPIC pins (IRQ 0 on pin 0, which is what KVM's
 * default GSI routing does; see BOOT_PIT_GSI), SCI on IRQ 9 level/high,
 * IOAPIC id = ncpus at MEM_IOAPIC_BASE, LAPIC ids 0..ncpus-1.
 *
 * Guest memory used (boot/boot_internal.h): GDT 0x500, PVH start info
 * 0x6000, zero page 0x7000, page tables 0x9000-0xEFFF, command line
 * 0x20000, ACPI 0xE0000-0xEFFFF, MP table 0xF0000, SMBIOS 0xF1000-0xFFFFF
 * (all inside the e820 map's reserved EBDA..1 MiB window). */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <stdint.h>

#include "vmm/guest_mem.h"

struct boot_spec {
	const char *kernel_path;	/* bzImage, or ELF vmlinux (64-bit entry, or PVH note) */
	const char *initrd_path;	/* may be NULL */
	/* From memory instead of files (a kernel read out of a disk image):
	 * when kernel_data/initrd_data is set, the *_path only names it in
	 * messages. The buffers must outlive boot_check()/boot_load(). */
	const void *kernel_data;
	uint64_t kernel_size;
	const void *initrd_data;
	uint64_t initrd_size;
	const char *cmdline;		/* may be NULL/"" */
	unsigned ncpus;			/* 1..MAX_VCPUS; APIC IDs are 0..ncpus-1 */
	const uint8_t *uuid;		/* 16 bytes in text order, SMBIOS's system
					 * UUID; NULL: the nil UUID */
};

enum boot_cpu_mode { BOOT_CPU_LONG64, BOOT_CPU_PROT32 };

/* GDT selectors of the boot GDT (Linux's __BOOT_CS/__BOOT_DS). */
#define BOOT_SEL_CS  0x10
#define BOOT_SEL_DS  0x18
#define BOOT_SEL_TSS 0x20	/* a 32-bit busy TSS (VMX wants a usable TR) */

/* A segment register as the GDT descriptor at `selector` describes it,
 * already decoded so vmm/ can copy it into a struct kvm_segment. */
struct boot_segment {
	uint64_t base;
	uint32_t limit;		/* in bytes (granularity already applied) */
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g;
};

struct boot_entry {
	enum boot_cpu_mode mode;	/* LONG64: Linux 64-bit boot protocol; PROT32: PVH entry */
	uint64_t rip;
	uint64_t rsi;			/* LONG64: GPA of boot_params (zero page) */
	uint64_t rbx;			/* PROT32: GPA of hvm_start_info */
	uint64_t cr3;			/* LONG64: identity map of the low 4 GiB (2 MiB pages) */
	uint64_t gdt_base;
	uint16_t gdt_limit;		/* __BOOT_CS=0x10 (64-bit code for LONG64, 32-bit flat
					 * code for PROT32), __BOOT_DS=0x18 flat data, TSS 0x20 */
	/* Added for convenience: the control registers and segments that go
	 * with `mode` (CS from BOOT_SEL_CS; DS/ES/SS/FS/GS from BOOT_SEL_DS). */
	uint64_t cr0, cr4, efer;
	struct boot_segment cs, ds, tr;
};

/* Opens and validates kernel/initrd (format, magic, protocol version, flags,
 * sizes) and the command line length, with a clear error naming the file
 * and what is wrong. Touches no guest memory; call before /dev/kvm is opened.
 * 0 or -errno (after log_error). */
int boot_check(const struct boot_spec *spec);

/* Loads kernel, initrd (page aligned, as high as allowed below
 * initrd_addr_max and low RAM end), command line, zero page (setup header,
 * e820) or PVH start info, page tables, GDT, ACPI tables and MP table into
 * guest memory (and the SMBIOS tables) and fills *entry. 0 or -errno (after log_error). */
int boot_load(struct guest_mem *gm, const struct boot_spec *spec, struct boot_entry *entry);

#endif

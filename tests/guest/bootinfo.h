/* The two boot-information structures a loader hands the guest: Linux's
 * boot_params (zero page) and PVH's hvm_start_info. Only the fields the
 * guest reads are named. */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdint.h>

/* boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define BP_ACPI_RSDP_ADDR   0x070	/* u64 */
#define BP_EXT_CMD_LINE_PTR 0x0c8	/* u32: bits 32..63 of cmd_line_ptr */
#define BP_HDR_MAGIC        0x202	/* u32 "HdrS" */
#define BP_CMD_LINE_PTR     0x228	/* u32 */
#define BP_CMDLINE_SIZE     0x238	/* u32 (protocol >= 2.06) */

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;		/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");

#define CMDLINE_MAX 2048

struct boot_info {
	const char *entry;		/* "pvh", "linux32", "linux64" */
	uint64_t info_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_hint;		/* 0 if the loader gave none */
	char cmdline[CMDLINE_MAX];	/* a copy: SMP start-up may reuse low memory */
};

/* Reads the loader's structure at info (kind is BOOT_*). Returns 0, or -1
 * after printing what is wrong with it. */
int bootinfo_read(int kind, uint64_t info, struct boot_info *out);

#endif

/* Internals of boot/: on-memory structures of the Linux boot protocol and
 * PVH, and the loaders' pieces (exposed to tests/boot only). */
#ifndef MINIVMM_BOOT_INTERNAL_H
#define MINIVMM_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

/* Where boot/ puts its data in low RAM (below MEM_EBDA_START, so inside the
 * first e820 RAM range, which Linux keeps reserved during early boot).
 * boot-private; proposed to the lead for vmm/layout.h. */
#define BOOT_GDT_ADDR       0x500ULL
#define BOOT_PVH_INFO_ADDR  0x6000ULL	/* hvm_start_info + modlist + memmap */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_PML4_ADDR      0x9000ULL
#define BOOT_PDPT_ADDR      0xA000ULL
#define BOOT_PD_ADDR        0xB000ULL	/* 4 pages: 2 MiB pages for 0..4 GiB */
#define BOOT_MAPPED_END     0x100000000ULL	/* what those page tables map */
#define BOOT_CMDLINE_ADDR   0x20000ULL
#define BOOT_CMDLINE_MAX    2048	/* bytes with the NUL; Linux x86 COMMAND_LINE_SIZE */
#define BOOT_ACPI_ADDR      MEM_BIOS_START	/* RSDP first: scanned by Linux */
#define BOOT_ACPI_MAX       0x10000ULL
#define BOOT_MPTABLE_ADDR   0xF0000ULL	/* Linux scans 0xF0000..0xFFFFF for _MP_ */
#define BOOT_SMBIOS_ADDR    0xF1000ULL	/* ... and for _SM3_: the entry point, then
					 * the structure table, up to 1 MiB */
#define BOOT_SMBIOS_MAX     (MEM_BIOS_END - BOOT_SMBIOS_ADDR)

#define BOOT_PAGE 4096ULL

/* The IOAPIC pin (GSI) the PIT's ISA IRQ 0 arrives on. It must match the
 * VMM's KVM GSI routing: KVM's default routing (no KVM_SET_GSI_ROUTING)
 * sends GSI 0 to IOAPIC pin 0, so IRQ 0 is identity-mapped and the MADT has
 * no IRQ0 override. A VMM that re-routes GSI 0 to pin 2 (as QEMU does) sets
 * this to 2: the MADT then gets the IRQ0->GSI2 override and the MP table
 * the matching entry. Declaring pin 2 without that routing loses every
 * timer interrupt once Linux masks the 8259 (seen: the guest hangs). */
#define BOOT_PIT_GSI 0

/* ---- Linux boot protocol (Documentation/arch/x86/boot.rst) ---- */
#define SETUP_HDR_OFFSET   0x1f1
#define SETUP_HDR_MAGIC    0x53726448u	/* "HdrS" at 0x202 */
#define SETUP_BOOT_FLAG    0xAA55
#define LOADED_HIGH        0x01
#define CAN_USE_HEAP       0x80
#define XLF_KERNEL_64      0x01
#define BZ_MIN_VERSION     0x020c
#define E820_RAM           1
#define E820_RESERVED      2
#define E820_MAX_ENTRIES   128

struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));
_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup_header size");

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820_entry size");

/* The zero page; only the fields a loader writes are named. */
struct boot_params {
	uint8_t pad0[0x70];
	uint64_t acpi_rsdp_addr;		/* 0x070 */
	uint8_t pad1[0xc0 - 0x78];
	uint32_t ext_ramdisk_image;		/* 0x0c0 */
	uint32_t ext_ramdisk_size;		/* 0x0c4 */
	uint32_t ext_cmd_line_ptr;		/* 0x0c8 */
	uint8_t pad2[0x1e8 - 0xcc];
	uint8_t e820_entries;			/* 0x1e8 */
	uint8_t pad3[0x1f1 - 0x1e9];
	struct setup_header hdr;		/* 0x1f1 */
	uint8_t pad4[0x2d0 - 0x26c];
	struct e820_entry e820_table[E820_MAX_ENTRIES];	/* 0x2d0 */
	uint8_t pad5[0x1000 - 0xcd0];
} __attribute__((packed));
_Static_assert(sizeof(struct boot_params) == 4096, "boot_params size");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr offset");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820 offset");

/* ---- PVH (xen/include/public/arch-x86/hvm/start_info.h) ---- */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist size");

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "memmap size");

/* ---- loaders ---- */

/* A kernel file mapped read-only. */
struct boot_file {
	const char *path;
	const uint8_t *data;
	uint64_t size;
	bool borrowed;		/* data belongs to the caller: not unmapped */
};
int boot_file_map(struct boot_file *f, const char *path, const char *what);
void boot_file_unmap(struct boot_file *f);
/* Logs "boot: FILE: <message>" and returns -EINVAL: a kernel or initrd
 * that cannot be booted, and why. */
int boot_file_fail(const struct boot_file *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct bzimage_info {
	struct setup_header hdr;	/* as in the file, zero beyond its end */
	uint64_t setup_size;		/* bytes before the protected-mode payload */
	uint64_t payload_size;
	uint64_t init_size;		/* bytes the kernel needs from its load address */
	uint64_t cmdline_max;		/* longest command line (without NUL) */
	uint64_t initrd_max;		/* highest address an initrd byte may have */
};
bool bzimage_detect(const struct boot_file *f);
int bzimage_parse(const struct boot_file *f, struct bzimage_info *bz);
/* Where to load the payload with low RAM [0, low_end); 0 or -errno. */
int bzimage_place(const struct boot_file *f, const struct bzimage_info *bz,
		  uint64_t low_end, uint64_t *load_addr);
/* Fill the setup header of the zero page bp for a kernel at load_addr. */
void bzimage_fill_header(const struct bzimage_info *bz, struct boot_params *bp);

struct elf_info {
	uint64_t entry64;		/* physical 64-bit entry (e_entry translated) */
	uint32_t pvh_entry;		/* valid if has_pvh */
	bool has_pvh;
	uint64_t end;			/* end of the highest PT_LOAD (physical) */
};
bool elf_detect(const struct boot_file *f);
int elf_parse(const struct boot_file *f, struct elf_info *info);
/* Copy the PT_LOAD segments into gm (bounds-checked), zeroing bss. */
int elf_load(struct guest_mem *gm, const struct boot_file *f);

/* e820 map of gm's regions: RAM below EBDA, reserved EBDA..1 MiB, RAM
 * 1 MiB..low end, (hole), high RAM. Returns the entry count or -ENOSPC. */
int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max);
/* End of the RAM region at GPA 0 (low RAM, below the hole). */
uint64_t boot_low_ram_end(const struct guest_mem *gm);

/* Initrd placement: page-aligned, as high as possible with the last byte at
 * or below max_addr and below low_end, and at or above min_addr. */
int initrd_place(uint64_t size, uint64_t min_addr, uint64_t max_addr,
		 uint64_t low_end, uint64_t *addr);

/* ---- ACPI ---- */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "acpi_header size");

/* Fill signature, length, revision and minivmm's ids; checksum left 0. */
void acpi_header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev);

/* ACPI tables at BOOT_ACPI_ADDR; *rsdp gets the RSDP's GPA. */
int acpi_build(struct guest_mem *gm, unsigned ncpus, uint64_t *rsdp);
/* The DSDT (header + AML) into buf; returns its length or -ENOSPC. */
int acpi_dsdt_build(uint8_t *buf, size_t cap);
uint8_t acpi_checksum(const void *p, size_t len);

/* MP floating pointer + configuration table at BOOT_MPTABLE_ADDR. */
int mptable_build(struct guest_mem *gm, unsigned ncpus);

/* SMBIOS entry point and tables at BOOT_SMBIOS_ADDR for gm's RAM regions. */
int smbios_load(struct guest_mem *gm, unsigned ncpus, const uint8_t *uuid);

/* GDT, page tables; fills the mode-dependent parts of *entry. */
int entry_setup(struct guest_mem *gm, enum boot_cpu_mode mode, struct boot_entry *entry);

#endif

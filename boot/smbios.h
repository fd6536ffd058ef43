/* SMBIOS 3.0 (DMTF DSP0134): the tables Linux (/sys/class/dmi/id) and
 * dmidecode read, so a guest knows which VM it is: types 0 (BIOS), 1
 * (system: product "minivmm", the VM's UUID, and the serial
 * "ds=nocloud;s=http://169.254.169.254/nocloud/" that points stock
 * cloud-init at minivmm's metadata service), 3 (chassis), 4 (one per vCPU),
 * 16/17/19 (one memory array, one device of all RAM, one mapped range per
 * RAM region), 32 (boot status) and 127 (end).
 *
 * Only the 64-bit entry point ("_SM3_") is written: Linux scans
 * 0xF0000..0xFFFFF in 16-byte steps for it on a non-EFI boot
 * (drivers/firmware/dmi_scan.c, dmi_scan_machine), before looking for the
 * 32-bit "_SM_" one. */
#ifndef MINIVMM_BOOT_SMBIOS_H
#define MINIVMM_BOOT_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#define SMBIOS_UUID_LEN 16
#define SMBIOS_MAX_MEM_RANGES 4
/* The structure table follows the entry point at this offset of the blob;
 * it is also where `dmidecode --dump-bin` puts it, so a blob built for
 * base 0 is a dump file `dmidecode --from-dump` reads. */
#define SMBIOS_TABLE_OFFSET 0x20
#define SMBIOS_NOCLOUD_SERIAL "ds=nocloud;s=http://169.254.169.254/nocloud/"

struct smbios_mem_range {
	uint64_t start, size;	/* guest-physical bytes */
};

struct smbios_spec {
	/* The VM's UUID in the order it is written as text (RFC 9562:
	 * 00112233-4455-... is {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, ...}).
	 * Stored as SMBIOS 2.6+ wants it (first three fields little-endian),
	 * so the guest's /sys/class/dmi/id/product_uuid prints the same text. */
	uint8_t uuid[SMBIOS_UUID_LEN];
	unsigned ncpus;				/* 1..MAX_VCPUS */
	struct smbios_mem_range mem[SMBIOS_MAX_MEM_RANGES];
	unsigned nmem;				/* 1..SMBIOS_MAX_MEM_RANGES */
};

/* Builds the entry point (offset 0) and the structure table (offset
 * SMBIOS_TABLE_OFFSET) into buf, for a blob that will live at guest address
 * `base`. Returns the blob's length, -ENOSPC when cap is too small, or
 * -EINVAL for a spec out of range. Logs nothing (the caller names where). */
int smbios_build(uint8_t *buf, size_t cap, uint64_t base, const struct smbios_spec *spec);

#endif

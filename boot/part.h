/* Partition tables as a PC's firmware and Linux read them: MBR (four
 * primaries, logical partitions in an extended one's EBR chain) and GPT
 * (behind a protective MBR; header and entry-array CRC32s checked; the
 * backup header at the disk's last sector used when the primary is
 * damaged). 512-byte sectors. Everything read is hostile: entries that
 * reach outside the disk are skipped with a warning naming them. */
#ifndef MINIVMM_BOOT_PART_H
#define MINIVMM_BOOT_PART_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/blkdev.h"

#define PART_SECTOR 512u
#define PART_MAX 128

enum part_scheme { PART_NONE, PART_MBR, PART_GPT };

struct part {
	unsigned number;	/* as Linux names it: vda1..; MBR logicals from 5 */
	uint64_t start, size;	/* bytes */
	uint8_t mbr_type;	/* MBR system id; 0 on GPT */
	bool bootable;		/* MBR active flag, GPT legacy-BIOS-bootable attribute */
	uint8_t gpt_type[16];	/* GPT type GUID as stored; zero on MBR */
	char name[40];		/* GPT partition name (ASCII, others as '?') */
};

struct part_table {
	enum part_scheme scheme;
	bool gpt_backup_used;	/* primary GPT damaged: read from the backup */
	unsigned count;
	struct part parts[PART_MAX];
};

/* Reads dev's partition table into *t. 0 with t->scheme NONE when there is
 * none (no MBR signature or an MBR that is really a boot sector), 0 with
 * the partitions found otherwise, -EINVAL (logged) when a GPT is damaged
 * beyond repair, -errno on a read error. */
int part_scan(const struct blkdev *dev, struct part_table *t);

/* A short name of the partition's type: "EFI System", "BIOS boot",
 * "Linux", "Linux swap", "extended", or "type 0xNN" / "unknown". */
const char *part_type_name(const struct part *p, char *buf, unsigned len);

const char *part_scheme_name(enum part_scheme s);

#endif

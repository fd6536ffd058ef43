/* State shared by disk_boot.c (discovery) and disk_boot_files.c (reading
 * the chosen files, the fallbacks, the report). boot/ only. */
#ifndef MINIVMM_BOOT_DISK_BOOT_INTERNAL_H
#define MINIVMM_BOOT_DISK_BOOT_INTERNAL_H

#include "boot/bootcfg.h"
#include "boot/disk_boot.h"
#include "boot/extfs.h"
#include "boot/fsprobe.h"
#include "boot/part.h"

/* A place a file system may be: a partition, or the whole disk (number 0). */
struct db_cand {
	struct part p;
	struct blkdev dev;
	struct blkdev_slice slice;
	struct fs_probe fs;
	struct extfs *ext;
	bool ext_failed;
	char gname[BOOTCFG_DEV_MAX];	/* as GRUB 2 names it: "hd0,gpt1", "hd0,msdos5", "hd0" */
	char what[192];			/* "vmhost.img partition 1" */
};

struct disk_boot {
	const struct blkdev *dev;	/* while finding only */
	struct part_table table;
	struct db_cand cands[PART_MAX];
	unsigned ncands;
	const char *extra_cmdline;

	char image[256];
	char scheme[64];
	char partition[320];
	char config[BOOTCFG_PATH_MAX + 64];
	char entry[264];
	char why[512];
	char kernel_desc[2 * BOOTCFG_PATH_MAX + 128];
	char initrd_desc[4 * BOOTCFG_PATH_MAX];
	char console_note[160];
	char cmdline[BOOTCFG_CMDLINE_MAX + 1024];
	char kernel_name[256 + BOOTCFG_PATH_MAX + 2];
	char initrd_name[256 + BOOTCFG_PATH_MAX + 2];
	void *kernel;
	uint64_t kernel_size;
	void *initrd;
	uint64_t initrd_size;
	char searched[4096];
};

/* The partition's ext2/3/4 handle (opened on first use), or NULL. */
struct extfs *db_ext(struct disk_boot *b, struct db_cand *c);

enum {
	DB_SKIP_NONFILE = 1,	/* a directory/FIFO/device: warned, -ENOENT (search on) */
	DB_OPTIONAL = 2,	/* every failure only warned (the caller goes without) */
};

/* Reads the regular file path of c (at most max bytes, symlinks followed);
 * "path -> resolved (where, size)" goes to desc (may be NULL). 0, -ENOENT
 * (not there: not logged), or another -errno, logged naming the file and
 * why (log_warn with DB_OPTIONAL, else log_error). */
int db_read(struct disk_boot *b, struct db_cand *c, const char *path, uint64_t max,
	    unsigned flags, void **data, uint64_t *size, char *desc, size_t cap);

/* Loads the files `choice` names (devices resolved against the disk; cfg
 * is the partition the configuration came from), checks the kernel boots
 * on x86_64, and sets the command line. 0 or -errno (logged). */
int db_take_choice(struct disk_boot *b, struct db_cand *cfg, const struct bootcfg_choice *choice,
		   const char *cfg_path);

/* The fallbacks of step 3 on one partition: 0 (taken), -ENOENT (none
 * there), other -errno (logged). */
int db_fallbacks(struct disk_boot *b, struct db_cand *c);

/* Appends to b->searched ("; " between partitions). */
void db_note_searched(struct disk_boot *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

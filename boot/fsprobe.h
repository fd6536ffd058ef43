/* Which file system a partition holds, by its magic numbers (as blkid
 * finds them), so that minivmm can name one it does not read. */
#ifndef MINIVMM_BOOT_FSPROBE_H
#define MINIVMM_BOOT_FSPROBE_H

#include <stdbool.h>

#include "boot/blkdev.h"

struct fs_probe {
	const char *type;	/* "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", ...; NULL: unknown */
	bool readable;		/* minivmm reads it (ext2/3/4) */
	char label[17];		/* ext: volume name ("" if none) */
	char uuid[37];		/* ext: lower-case 8-4-4-4-12 ("" if none) */
};

/* Probes dev (a partition or a whole disk). 0 with p->type NULL when no
 * known signature is there; -errno only on a read error other than the
 * device being too small. */
int fs_probe(const struct blkdev *dev, struct fs_probe *p);

#endif

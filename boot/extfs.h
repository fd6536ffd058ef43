/* ext2/ext3/ext4, read-only, through e2fsprogs' libext2fs with an
 * io_manager over a struct blkdev (so a partition of a qcow2 overlay, a
 * compressed base or a raw image is read in place: no loop device, no
 * mount, no temporary copy). */
#ifndef MINIVMM_BOOT_EXTFS_H
#define MINIVMM_BOOT_EXTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/blkdev.h"

#define EXTFS_PATH_MAX 1024
#define EXTFS_SYMLINKS_MAX 40	/* as Linux's MAXSYMLINKS */

struct extfs;

/* Opens the file system on dev (which must outlive it); what names it in
 * messages ("vmhost.img partition 1"). 0 or -errno (a warning logged). */
int extfs_open(const struct blkdev *dev, const char *what, struct extfs **out);
void extfs_close(struct extfs *fs);

/* Resolves an absolute path, following symlinks in every component
 * (relative targets from the link's directory, absolute ones from this
 * file system's root); the path reached goes to resolved. 0, -ENOENT,
 * -ENOTDIR, -ELOOP (more than EXTFS_SYMLINKS_MAX links), -ENAMETOOLONG,
 * -EIO. Not logged: callers decide whether a missing file is an error. */
int extfs_resolve(struct extfs *fs, const char *path, char *resolved, size_t cap);

/* Reads the regular file at path (symlinks followed) into a malloc'd
 * buffer, refusing files over max bytes (-EFBIG) and non-files (-EISDIR,
 * -EINVAL). resolved (may be NULL) as for extfs_resolve. */
int extfs_read(struct extfs *fs, const char *path, uint64_t max, void **data, uint64_t *size,
	       char *resolved, size_t cap);

/* True if path resolves to a regular file. */
bool extfs_is_file(struct extfs *fs, const char *path);

/* Calls cb for each entry of directory dir but "." and "..". 0, or the
 * -errno of the lookup, or cb's first non-zero return. */
int extfs_list(struct extfs *fs, const char *dir,
	       int (*cb)(void *opaque, const char *name), void *opaque);

#endif

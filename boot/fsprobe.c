/* File system signatures (offsets as util-linux's libblkid uses them). */
#include "boot/fsprobe.h"

#include <stdio.h>
#include <string.h>

#define EXT_SB_OFF 1024
#define EXT_MAGIC 0xef53
#define EXT3_COMPAT_JOURNAL 0x0004
#define EXT4_INCOMPAT_EXT4_ONLY 0x02c0	/* extents, 64bit, flex_bg (and later ones below) */
#define EXT4_INCOMPAT_MORE 0xf000	/* ea_inode, dirdata, csum_seed, largedir */
#define EXT4_RO_COMPAT_EXT4_ONLY 0x0478	/* huge_file, gdt_csum, dir_nlink, extra_isize, metadata_csum */

/* A signature: `magic` of `len` bytes at byte `off`. */
static const struct { const char *type; uint64_t off; const char *magic; size_t len; } sigs[] = {
	{ "xfs", 0, "XFSB", 4 },
	{ "btrfs", 0x10040, "_BHRfS_M", 8 },
	{ "LVM2 physical volume", 0x218, "LVM2 001", 8 },
	{ "LUKS encrypted volume", 0, "LUKS\xba\xbe", 6 },
	{ "Linux swap", 4086, "SWAPSPACE2", 10 },
	{ "Linux swap", 4086, "SWAP-SPACE", 10 },
	{ "f2fs", 0x400, "\x10\x20\xf5\xf2", 4 },
	{ "squashfs", 0, "hsqs", 4 },
	{ "iso9660", 0x8001, "CD001", 5 },
	{ "zfs", 0x20000 + 0x1d8, "\x0c\xb1\xba\x00", 4 },	/* uberblock magic, LE */
	{ "vfat", 0x52, "FAT32   ", 8 },
	{ "vfat", 0x36, "FAT16   ", 8 },
	{ "vfat", 0x36, "FAT12   ", 8 },
	{ "ntfs", 3, "NTFS    ", 8 },
	{ "exfat", 3, "EXFAT   ", 8 },
};

static void ext_fill(const uint8_t *sb, struct fs_probe *p)
{
	uint32_t compat = blk_le32(sb + 0x5c), incompat = blk_le32(sb + 0x60), ro = blk_le32(sb + 0x64);
	if ((incompat & (EXT4_INCOMPAT_EXT4_ONLY | EXT4_INCOMPAT_MORE)) ||
	    (ro & EXT4_RO_COMPAT_EXT4_ONLY))
		p->type = "ext4";
	else
		p->type = compat & EXT3_COMPAT_JOURNAL ? "ext3" : "ext2";
	p->readable = true;
	size_t n = 0;
	for (; n < 16 && sb[0x78 + n]; n++)
		p->label[n] = (char)sb[0x78 + n];
	p->label[n] = '\0';
	const uint8_t *u = sb + 0x68;
	snprintf(p->uuid, sizeof(p->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

int fs_probe(const struct blkdev *dev, struct fs_probe *p)
{
	uint8_t sb[256];

	memset(p, 0, sizeof(*p));
	int r = blkdev_read(dev, EXT_SB_OFF, sb, sizeof(sb));
	if (r && r != -ERANGE)
		return r;
	if (r == 0 && (sb[0x38] | sb[0x39] << 8) == EXT_MAGIC) {
		ext_fill(sb, p);
		return 0;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		uint8_t buf[16];
		r = blkdev_read(dev, sigs[i].off, buf, sigs[i].len);
		if (r == -ERANGE)
			continue;
		if (r)
			return r;
		if (memcmp(buf, sigs[i].magic, sigs[i].len) == 0) {
			p->type = sigs[i].type;
			return 0;
		}
	}
	return 0;
}

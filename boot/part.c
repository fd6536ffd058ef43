/* MBR and GPT parsing (UEFI 2.10 §5.2-5.3; the MBR/EBR layout as Linux's
 * block/partitions/msdos.c reads it). */
#include "boot/part.h"
#include "vmm/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MBR_SIG_OFF 510
#define MBR_TABLE_OFF 446
#define MBR_TYPE_GPT_PROTECTIVE 0xee
#define EBR_CHAIN_MAX 64	/* logical partitions followed before calling it a loop */
#define GPT_ENTRIES_MAX_BYTES (1u << 20)
#define GPT_ATTR_LEGACY_BOOT (1ull << 2)

const char *part_scheme_name(enum part_scheme s)
{
	return s == PART_MBR ? "MBR" : s == PART_GPT ? "GPT" : "none";
}

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

/* Adds a partition of `sectors` at sector `lba` unless it leaves the disk. */
static void part_add(const struct blkdev *dev, struct part_table *t, const struct part *p,
		     uint64_t lba, uint64_t sectors, const char *what)
{
	uint64_t disk_sectors = dev->size / PART_SECTOR;
	if (sectors == 0)
		return;
	if (lba >= disk_sectors || sectors > disk_sectors - lba) {
		log_warn("boot: %s: %s partition %u (sectors %llu+%llu) ends beyond the disk "
			 "(%llu sectors): ignored", dev->name, what, p->number,
			 (unsigned long long)lba, (unsigned long long)sectors,
			 (unsigned long long)disk_sectors);
		return;
	}
	if (t->count == PART_MAX)
		return;
	struct part *q = &t->parts[t->count++];
	*q = *p;
	q->start = lba * PART_SECTOR;
	q->size = sectors * PART_SECTOR;
}

static void mbr_entry(const uint8_t *e, uint8_t *type, bool *active, uint32_t *lba,
		      uint32_t *sectors)
{
	*active = e[0] == 0x80;
	*type = e[4];
	*lba = blk_le32(e + 8);
	*sectors = blk_le32(e + 12);
}

/* Logical partitions: each EBR's first entry is a partition relative to
 * the EBR, its second links to the next EBR relative to the extended
 * partition's start. */
static int mbr_logicals(const struct blkdev *dev, struct part_table *t, uint64_t ext_lba,
			uint64_t ext_sectors)
{
	uint8_t ebr[PART_SECTOR];
	uint64_t ebr_lba = ext_lba;
	unsigned number = 5;

	for (unsigned hops = 0; hops < EBR_CHAIN_MAX; hops++) {
		int r = blkdev_read(dev, ebr_lba * PART_SECTOR, ebr, sizeof(ebr));
		if (r == -ERANGE) {
			log_warn("boot: %s: EBR at sector %llu is outside the disk: logical "
				 "partitions from %u ignored", dev->name,
				 (unsigned long long)ebr_lba, number);
			return 0;
		}
		if (r) {	/* the image cannot be read (a qcow2 I/O error): no guessing */
			log_error("boot: %s: cannot read the EBR at sector %llu (logical partition "
				  "%u): %s", dev->name, (unsigned long long)ebr_lba, number,
				  strerror(-r));
			return r;
		}
		if (ebr[MBR_SIG_OFF] != 0x55 || ebr[MBR_SIG_OFF + 1] != 0xaa)
			return 0;
		uint8_t type, ntype;
		bool active, nactive;
		uint32_t lba, sectors, nlba, nsectors;
		mbr_entry(ebr + MBR_TABLE_OFF, &type, &active, &lba, &sectors);
		mbr_entry(ebr + MBR_TABLE_OFF + 16, &ntype, &nactive, &nlba, &nsectors);
		if (type && !mbr_is_extended(type)) {
			struct part p = { .number = number, .mbr_type = type, .bootable = active };
			part_add(dev, t, &p, ebr_lba + lba, sectors, "logical");
		}
		number++;
		if (!mbr_is_extended(ntype) || nlba == 0)
			return 0;
		if (nlba >= ext_sectors) {
			log_warn("boot: %s: EBR link to sector %llu leaves the extended partition: "
				 "logical partitions from %u ignored", dev->name,
				 (unsigned long long)(ext_lba + nlba), number);
			return 0;
		}
		ebr_lba = ext_lba + nlba;
	}
	log_warn("boot: %s: more than %d logical partitions (an EBR loop?): the rest ignored",
		 dev->name, EBR_CHAIN_MAX);
	return 0;
}

/* An MBR is recognised as Linux does: signature 55 AA and every boot
 * indicator 0x00 or 0x80 (a FAT boot sector usually fails the latter). */
static bool mbr_valid(const uint8_t *mbr)
{
	if (mbr[MBR_SIG_OFF] != 0x55 || mbr[MBR_SIG_OFF + 1] != 0xaa)
		return false;
	for (int i = 0; i < 4; i++) {
		uint8_t b = mbr[MBR_TABLE_OFF + 16 * i];
		if (b != 0 && b != 0x80)
			return false;
	}
	return true;
}

static bool mbr_is_protective(const uint8_t *mbr)
{
	for (int i = 0; i < 4; i++)
		if (mbr[MBR_TABLE_OFF + 16 * i + 4] == MBR_TYPE_GPT_PROTECTIVE)
			return true;
	return false;
}

static int mbr_parse(const struct blkdev *dev, const uint8_t *mbr, struct part_table *t)
{
	t->scheme = PART_MBR;
	bool ext_seen = false;
	for (unsigned i = 0; i < 4; i++) {
		uint8_t type;
		bool active;
		uint32_t lba, sectors;
		mbr_entry(mbr + MBR_TABLE_OFF + 16 * i, &type, &active, &lba, &sectors);
		if (!type)
			continue;
		struct part p = { .number = i + 1, .mbr_type = type, .bootable = active };
		part_add(dev, t, &p, lba, sectors, "primary");
		if (mbr_is_extended(type) && !ext_seen) {
			ext_seen = true;	/* Linux follows only the first one */
			int r = mbr_logicals(dev, t, lba, sectors);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ---- GPT ---- */

struct gpt_header {
	uint64_t my_lba, alternate_lba, first_usable, last_usable, entries_lba;
	uint32_t entries, entry_size, entries_crc;
};

/* Checks the header at `lba` (signature, size, CRC, where it says it is,
 * the entry array inside the disk); 0 or a reason in why. */
static int gpt_read_header(const struct blkdev *dev, uint64_t lba, struct gpt_header *h,
			   const char **why)
{
	uint8_t b[PART_SECTOR];
	uint64_t disk_sectors = dev->size / PART_SECTOR;

	if (blkdev_read(dev, lba * PART_SECTOR, b, sizeof(b))) {
		*why = "cannot be read";
		return -EINVAL;
	}
	if (memcmp(b, "EFI PART", 8) != 0) {
		*why = "has no 'EFI PART' signature";
		return -EINVAL;
	}
	uint32_t hsize = blk_le32(b + 12), crc = blk_le32(b + 16);
	if (hsize < 92 || hsize > PART_SECTOR) {
		*why = "has a bad header size";
		return -EINVAL;
	}
	memset(b + 16, 0, 4);
	if ((uint32_t)crc32(0, b, hsize) != crc) {
		*why = "has a bad header CRC32";
		return -EINVAL;
	}
	*h = (struct gpt_header){ .my_lba = blk_le64(b + 24), .alternate_lba = blk_le64(b + 32),
		.first_usable = blk_le64(b + 40), .last_usable = blk_le64(b + 48),
		.entries_lba = blk_le64(b + 72), .entries = blk_le32(b + 80),
		.entry_size = blk_le32(b + 84), .entries_crc = blk_le32(b + 88) };
	if (h->my_lba != lba) {
		*why = "names another sector as its own";
		return -EINVAL;
	}
	if (h->entry_size < 128 || h->entry_size % 8 || h->entries == 0 ||
	    (uint64_t)h->entries * h->entry_size > GPT_ENTRIES_MAX_BYTES) {
		*why = "has a bad entry count or size";
		return -EINVAL;
	}
	uint64_t array_sectors = ((uint64_t)h->entries * h->entry_size + PART_SECTOR - 1) /
				 PART_SECTOR;
	if (h->entries_lba >= disk_sectors || array_sectors > disk_sectors - h->entries_lba) {
		*why = "has its entry array beyond the disk";
		return -EINVAL;
	}
	return 0;
}

static void gpt_name(const uint8_t *utf16, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < 72 && n + 1 < cap; i += 2) {
		unsigned c = utf16[i] | (unsigned)utf16[i + 1] << 8;
		if (!c)
			break;
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

static int gpt_read_entries(const struct blkdev *dev, const struct gpt_header *h,
			    uint8_t **out, const char **why)
{
	size_t bytes = (size_t)h->entries * h->entry_size;
	uint8_t *a = malloc(bytes);
	if (!a)
		return -ENOMEM;
	if (blkdev_read(dev, h->entries_lba * PART_SECTOR, a, bytes)) {
		free(a);
		*why = "entry array cannot be read";
		return -EINVAL;
	}
	if ((uint32_t)crc32(0, a, (uInt)bytes) != h->entries_crc) {
		free(a);
		*why = "entry array has a bad CRC32";
		return -EINVAL;
	}
	*out = a;
	return 0;
}

static void gpt_add_entries(const struct blkdev *dev, const struct gpt_header *h,
			    const uint8_t *a, struct part_table *t)
{
	static const uint8_t zero[16];
	for (uint32_t i = 0; i < h->entries; i++) {
		const uint8_t *e = a + (size_t)i * h->entry_size;
		if (memcmp(e, zero, 16) == 0)
			continue;
		struct part p = { .number = i + 1, .bootable = blk_le64(e + 48) & GPT_ATTR_LEGACY_BOOT };
		memcpy(p.gpt_type, e, 16);
		gpt_name(e + 56, p.name, sizeof(p.name));
		uint64_t first = blk_le64(e + 32), last = blk_le64(e + 40);
		if (last < first || last == UINT64_MAX) {
			log_warn("boot: %s: GPT entry %u ends (sector %llu) before it starts "
				 "(%llu): ignored", dev->name, i + 1, (unsigned long long)last,
				 (unsigned long long)first);
			continue;
		}
		part_add(dev, t, &p, first, last - first + 1, "GPT");
	}
}

/* Tries one header and its entries; 0 when both check out. */
static int gpt_try(const struct blkdev *dev, uint64_t lba, struct part_table *t,
		   const char **why)
{
	struct gpt_header h;
	uint8_t *a = NULL;
	int r = gpt_read_header(dev, lba, &h, why);
	if (r == 0)
		r = gpt_read_entries(dev, &h, &a, why);
	if (r)
		return r;
	t->scheme = PART_GPT;
	gpt_add_entries(dev, &h, a, t);
	free(a);
	return 0;
}

static int gpt_parse(const struct blkdev *dev, struct part_table *t)
{
	const char *why1 = "", *why2 = "";
	uint64_t last = dev->size / PART_SECTOR - 1;

	int r = gpt_try(dev, 1, t, &why1);
	if (r != -EINVAL)
		return r;
	r = gpt_try(dev, last, t, &why2);
	if (r == 0) {
		t->gpt_backup_used = true;
		log_warn("boot: %s: primary GPT header %s: using the backup at sector %llu",
			 dev->name, why1, (unsigned long long)last);
		return 0;
	}
	if (r == -EINVAL)
		log_error("boot: %s: protective MBR but no usable GPT: the primary header %s, "
			  "the backup at sector %llu %s", dev->name, why1,
			  (unsigned long long)last, why2);
	return r;
}

int part_scan(const struct blkdev *dev, struct part_table *t)
{
	uint8_t mbr[PART_SECTOR];

	memset(t, 0, sizeof(*t));
	if (dev->size < 2 * PART_SECTOR)
		return 0;
	int r = blkdev_read(dev, 0, mbr, sizeof(mbr));
	if (r) {
		log_error("boot: %s: cannot read sector 0: %s", dev->name, strerror(-r));
		return r;
	}
	if (!mbr_valid(mbr))
		return 0;
	if (mbr_is_protective(mbr))
		return gpt_parse(dev, t);
	return mbr_parse(dev, mbr, t);
}

static const struct { uint8_t guid[16]; const char *name; } gpt_types[] = {
	{ { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
	    0xc9, 0x3b }, "EFI System" },
	{ { 0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e, 0x74, 0x4e, 0x65, 0x65, 0x64, 0x45,
	    0x46, 0x49 }, "BIOS boot" },
	{ { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47,
	    0x7d, 0xe4 }, "Linux" },
	{ { 0x6d, 0xfd, 0x57, 0x06, 0xab, 0xa4, 0xc4, 0x43, 0x84, 0xe5, 0x09, 0x33, 0xc8, 0x4b,
	    0x4f, 0x4f }, "Linux swap" },
};

const char *part_type_name(const struct part *p, char *buf, unsigned len)
{
	if (p->mbr_type) {
		switch (p->mbr_type) {
		case 0x83: return "Linux";
		case 0x82: return "Linux swap";
		case 0xef: return "EFI System";
		case 0x8e: return "Linux LVM";
		case 0xfd: return "Linux RAID";
		case 0x05: case 0x0f: case 0x85: return "extended";
		default:
			snprintf(buf, len, "type 0x%02x", p->mbr_type);
			return buf;
		}
	}
	for (size_t i = 0; i < sizeof(gpt_types) / sizeof(gpt_types[0]); i++)
		if (memcmp(p->gpt_type, gpt_types[i].guid, 16) == 0)
			return gpt_types[i].name;
	return "unknown";
}

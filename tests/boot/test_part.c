/* Partition tables on crafted disks in memory: MBR primaries and logical
 * partitions, GPT (CRCs, damaged primary with a good backup, both bad),
 * entries outside the disk, EBR loops, garbage; file system signatures. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "boot/fsprobe.h"
#include "boot/part.h"
#include "vmm/log.h"

#define SECTORS 4096u	/* a 2 MiB disk */

static uint8_t disk[SECTORS * 512];
static struct blkdev_mem mem = { .data = disk };
static const struct blkdev dev = { .read = blkdev_mem_read, .ctx = &mem,
				   .size = sizeof(disk), .name = "test.img" };

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void mbr_entry(uint8_t *sector, int i, uint8_t status, uint8_t type, uint32_t lba,
		      uint32_t n)
{
	uint8_t *e = sector + 446 + 16 * i;
	e[0] = status;
	e[4] = type;
	put32(e + 8, lba);
	put32(e + 12, n);
	sector[510] = 0x55;
	sector[511] = 0xaa;
}

static const uint8_t linux_guid[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e,
	0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };
static const uint8_t esp_guid[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba,
	0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };

/* A GPT as sgdisk writes it: 128 entries of 128 bytes; primary at 1 with
 * entries at 2, backup at the last sector with entries just before it. */
static void gpt_write_header(uint64_t lba, uint64_t alt, uint64_t entries_lba)
{
	uint8_t *h = disk + lba * 512;
	memset(h, 0, 512);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x00010000);
	put32(h + 12, 92);
	put64(h + 24, lba);
	put64(h + 32, alt);
	put64(h + 40, 34);
	put64(h + 48, SECTORS - 34);
	put64(h + 72, entries_lba);
	put32(h + 80, 128);
	put32(h + 84, 128);
	put32(h + 88, (uint32_t)crc32(0, disk + entries_lba * 512, 128 * 128));
	put32(h + 16, (uint32_t)crc32(0, h, 92));
}

static void gpt_entry(unsigned idx, const uint8_t *type, uint64_t first, uint64_t last,
		      const char *name)
{
	for (int copy = 0; copy < 2; copy++) {
		uint8_t *e = disk + (copy ? (SECTORS - 33) : 2) * 512 + idx * 128;
		memcpy(e, type, 16);
		memset(e + 16, 0x11, 16);
		put64(e + 32, first);
		put64(e + 40, last);
		for (size_t i = 0; name[i]; i++)
			e[56 + 2 * i] = (uint8_t)name[i];
	}
}

static void gpt_finish(void)
{
	memset(disk, 0, 512);
	mbr_entry(disk, 0, 0, 0xee, 1, SECTORS - 1);
	gpt_write_header(1, SECTORS - 1, 2);
	gpt_write_header(SECTORS - 1, 1, SECTORS - 33);
}

static void gpt_cirros_like(void)
{
	memset(disk, 0, sizeof(disk));
	gpt_entry(14, esp_guid, 2048, 2048 + 511, "EFI");	/* p15 first on disk */
	gpt_entry(0, linux_guid, 2560, SECTORS - 34, "root");
	gpt_finish();
}

START_TEST(gpt_cirros_layout)
{
	struct part_table t;
	gpt_cirros_like();
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_int_eq(t.scheme, PART_GPT);
	ck_assert(!t.gpt_backup_used);
	ck_assert_uint_eq(t.count, 2);
	ck_assert_uint_eq(t.parts[0].number, 1);
	ck_assert_uint_eq(t.parts[0].start, 2560 * 512ull);
	ck_assert_uint_eq(t.parts[0].size, (SECTORS - 34 - 2560 + 1) * 512ull);
	ck_assert_str_eq(t.parts[0].name, "root");
	ck_assert_uint_eq(t.parts[1].number, 15);
	char buf[32];
	ck_assert_str_eq(part_type_name(&t.parts[1], buf, sizeof(buf)), "EFI System");
	ck_assert_str_eq(part_type_name(&t.parts[0], buf, sizeof(buf)), "Linux");
}
END_TEST

START_TEST(gpt_damaged_primary_uses_backup)
{
	struct part_table t;
	gpt_cirros_like();
	disk[512 + 30] ^= 0xff;		/* header CRC now wrong */
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert(t.gpt_backup_used);
	ck_assert_uint_eq(t.count, 2);
	/* Primary entries damaged, header fine: still the backup. */
	gpt_cirros_like();
	disk[2 * 512 + 40] ^= 1;
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert(t.gpt_backup_used);
	ck_assert_uint_eq(t.parts[0].size, (SECTORS - 34 - 2560 + 1) * 512ull);
	/* Both gone: one error naming both reasons. */
	disk[(SECTORS - 1) * 512] = 'X';
	log_clear_last_error();
	ck_assert_int_eq(part_scan(&dev, &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "entry array has a bad CRC32"));
	ck_assert_ptr_nonnull(strstr(log_last_error(), "no 'EFI PART' signature"));
}
END_TEST

START_TEST(gpt_entries_outside_disk)
{
	struct part_table t;
	memset(disk, 0, sizeof(disk));
	gpt_entry(0, linux_guid, 100, SECTORS + 5, "big");	/* past the end */
	gpt_entry(1, linux_guid, 200, 100, "backwards");
	gpt_entry(2, linux_guid, 300, 400, "ok");
	gpt_finish();
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_uint_eq(t.parts[0].number, 3);
	/* An entry array said to be beyond the disk, with a valid CRC. */
	memset(disk, 0, sizeof(disk));
	gpt_finish();
	put64(disk + 512 + 72, SECTORS * 2);
	memset(disk + 512 + 16, 0, 4);
	put32(disk + 512 + 16, (uint32_t)crc32(0, disk + 512, 92));
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert(t.gpt_backup_used);
}
END_TEST

START_TEST(mbr_primaries_and_logicals)
{
	struct part_table t;
	memset(disk, 0, sizeof(disk));
	mbr_entry(disk, 0, 0x00, 0x83, 63, 100);
	mbr_entry(disk, 1, 0x80, 0x83, 200, 100);
	mbr_entry(disk, 2, 0x00, 0x05, 1000, 2000);
	/* EBR 1 at 1000: logical at +10, link to the EBR at ext+500. */
	mbr_entry(disk + 1000 * 512, 0, 0, 0x83, 10, 300);
	mbr_entry(disk + 1000 * 512, 1, 0, 0x05, 500, 400);
	/* EBR 2 at 1500: logical at +20, end of chain. */
	mbr_entry(disk + 1500 * 512, 0, 0, 0x82, 20, 100);
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_int_eq(t.scheme, PART_MBR);
	ck_assert_uint_eq(t.count, 5);	/* 1, 2, 3 (extended), 5, 6 */
	ck_assert_uint_eq(t.parts[1].number, 2);
	ck_assert(t.parts[1].bootable);
	ck_assert_uint_eq(t.parts[3].number, 5);
	ck_assert_uint_eq(t.parts[3].start, 1010 * 512ull);
	ck_assert_uint_eq(t.parts[4].number, 6);
	ck_assert_uint_eq(t.parts[4].start, 1520 * 512ull);
	ck_assert_uint_eq(t.parts[4].mbr_type, 0x82);
}
END_TEST

START_TEST(mbr_hostile)
{
	struct part_table t;
	memset(disk, 0, sizeof(disk));
	mbr_entry(disk, 0, 0, 0x83, SECTORS - 10, 100);	/* ends past the disk */
	mbr_entry(disk, 1, 0, 0x0f, 100, 1000);
	/* An EBR that links to itself: followed a bounded number of times. */
	mbr_entry(disk + 100 * 512, 0, 0, 0x83, 1, 1);
	mbr_entry(disk + 100 * 512, 1, 0, 0x05, 0, 10);
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_uint_eq(t.count, 2);	/* the extended one and its logical */
	mbr_entry(disk + 100 * 512, 1, 0, 0x05, 50, 10);	/* 150 links to 150... */
	mbr_entry(disk + 150 * 512, 1, 0, 0x05, 50, 10);
	mbr_entry(disk + 150 * 512, 0, 0, 0x83, 1, 1);
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_uint_le(t.count, PART_MAX);
	/* Not an MBR: bad boot indicator (a FAT boot sector), or no 55 AA. */
	disk[446] = 0x12;
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_int_eq(t.scheme, PART_NONE);
	memset(disk, 0, 512);
	ck_assert_int_eq(part_scan(&dev, &t), 0);
	ck_assert_int_eq(t.scheme, PART_NONE);
}
END_TEST

START_TEST(garbage_never_crashes)
{
	struct part_table t;
	srand(1);
	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i < 64 * 512; i++)
			disk[i] = (uint8_t)rand();
		if (round % 3 == 0)
			mbr_entry(disk, round % 4, 0, round % 2 ? 0xee : 0x05, 1, SECTORS);
		if (round % 5 == 0)
			memcpy(disk + 512, "EFI PART", 8);
		int r = part_scan(&dev, &t);
		ck_assert(r == 0 || r == -EINVAL);
		for (unsigned i = 0; i < t.count; i++)
			ck_assert_uint_le(t.parts[i].start + t.parts[i].size, sizeof(disk));
	}
	/* A disk too small for any table. */
	struct blkdev tiny = dev;
	tiny.size = 100;
	ck_assert_int_eq(part_scan(&tiny, &t), 0);
	ck_assert_int_eq(t.scheme, PART_NONE);
}
END_TEST

START_TEST(fs_signatures)
{
	struct fs_probe p;
	memset(disk, 0, sizeof(disk));
	ck_assert_int_eq(fs_probe(&dev, &p), 0);
	ck_assert_ptr_null(p.type);
	memcpy(disk, "XFSB", 4);
	ck_assert_int_eq(fs_probe(&dev, &p), 0);
	ck_assert_str_eq(p.type, "xfs");
	ck_assert(!p.readable);
	memset(disk, 0, 8);
	memcpy(disk + 0x10040, "_BHRfS_M", 8);
	ck_assert_int_eq(fs_probe(&dev, &p), 0);
	ck_assert_str_eq(p.type, "btrfs");
	memset(disk, 0, sizeof(disk));
	uint8_t *sb = disk + 1024;
	sb[0x38] = 0x53;
	sb[0x39] = 0xef;
	put32(sb + 0x5c, 0x4);		/* has_journal */
	put32(sb + 0x64, 0x3);		/* sparse_super, large_file: still ext3 */
	memcpy(sb + 0x78, "cirros-rootfs", 13);
	sb[0x68] = 0xab;
	ck_assert_int_eq(fs_probe(&dev, &p), 0);
	ck_assert_str_eq(p.type, "ext3");
	ck_assert(p.readable);
	ck_assert_str_eq(p.label, "cirros-rootfs");
	ck_assert_str_eq(p.uuid, "ab000000-0000-0000-0000-000000000000");
	put32(sb + 0x60, 0x40);		/* extents */
	ck_assert_int_eq(fs_probe(&dev, &p), 0);
	ck_assert_str_eq(p.type, "ext4");
}
END_TEST

/* A read error on an EBR (a qcow2 cluster that cannot be read) is an
 * error naming the sector and the cause, not "outside the disk". */
static uint64_t failing_off;

static int failing_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	if (off <= failing_off && failing_off < off + len)
		return -EIO;
	return blkdev_mem_read(ctx, off, buf, len);
}

START_TEST(mbr_ebr_read_error)
{
	struct part_table t;
	memset(disk, 0, sizeof(disk));
	mbr_entry(disk, 0, 0, 0x83, 63, 100);
	mbr_entry(disk, 1, 0, 0x05, 1000, 2000);
	mbr_entry(disk + 1000 * 512, 0, 0, 0x83, 10, 300);
	struct blkdev bad = dev;
	bad.read = failing_read;
	failing_off = 1000 * 512;
	log_clear_last_error();
	ck_assert_int_eq(part_scan(&bad, &t), -EIO);
	const char *e = log_last_error();
	ck_assert_msg(strstr(e, "test.img: cannot read the EBR at sector 1000") &&
		      strstr(e, "Input/output error") && !strstr(e, "outside"), "error: %s", e);
	/* An EBR link past the disk end is still only a warning. */
	mbr_entry(disk, 1, 0, 0x05, SECTORS + 10, 2000);
	failing_off = UINT64_MAX;
	log_clear_last_error();
	ck_assert_int_eq(part_scan(&bad, &t), 0);
	ck_assert_str_eq(log_last_error(), "");
	ck_assert_uint_eq(t.count, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot-part");
	TCase *tc = tcase_create("tables");
	tcase_add_test(tc, gpt_cirros_layout);
	tcase_add_test(tc, gpt_damaged_primary_uses_backup);
	tcase_add_test(tc, gpt_entries_outside_disk);
	tcase_add_test(tc, mbr_primaries_and_logicals);
	tcase_add_test(tc, mbr_hostile);
	tcase_add_test(tc, mbr_ebr_read_error);
	tcase_add_test(tc, garbage_never_crashes);
	tcase_add_test(tc, fs_signatures);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

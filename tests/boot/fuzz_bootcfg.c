/* libFuzzer target: the partition-table reader and the boot configuration
 * parsers on arbitrary bytes. Each input is read as: a disk image (MBR or
 * whatever it is), a GPT (a protective MBR, then the input from sector 1
 * with its header and entry CRC32s made valid so the fuzzer gets past
 * them), a grub.cfg with the input also as grubenv, a menu.lst, an
 * extlinux.conf, and BLS entries (split at NUL bytes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "boot/bls.h"
#include "boot/extlinux.h"
#include "boot/grub1.h"
#include "boot/grub2.h"
#include "boot/part.h"
#include "vmm/log.h"

#define GPT_DISK_BYTES (64u * 512u)

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void scan(const uint8_t *data, size_t size)
{
	struct blkdev_mem mem = { .data = data };
	struct blkdev dev = { .read = blkdev_mem_read, .ctx = &mem, .size = size, .name = "fuzz" };
	static struct part_table t;
	part_scan(&dev, &t);
}

/* The input as a GPT disk whose CRCs hold (where the fields are in range). */
static void scan_gpt(const uint8_t *data, size_t size)
{
	static uint8_t disk[GPT_DISK_BYTES];
	memset(disk, 0, sizeof(disk));
	memcpy(disk + 512, data, size < sizeof(disk) - 512 ? size : sizeof(disk) - 512);
	disk[446 + 4] = 0xee;
	disk[510] = 0x55;
	disk[511] = 0xaa;
	uint8_t *h = disk + 512;
	uint64_t entries_lba = blk_le32(h + 72);
	uint64_t bytes = (uint64_t)blk_le32(h + 80) * blk_le32(h + 84);
	if (entries_lba < 64 && bytes <= sizeof(disk) - entries_lba * 512)
		wr32(h + 88, (uint32_t)crc32(0, disk + entries_lba * 512, (uInt)bytes));
	uint32_t hsize = blk_le32(h + 12);
	if (hsize >= 92 && hsize <= 512) {
		wr32(h + 16, 0);
		wr32(h + 16, (uint32_t)crc32(0, h, hsize));
	}
	scan(disk, sizeof(disk));
}

static int fuzz_search(void *opaque, enum grub2_search kind, const char *what, char *dev,
		       size_t cap)
{
	(void)opaque;
	(void)kind;
	if (what[0] == 'x')
		return -2;
	snprintf(dev, cap, "hd0,gpt%u", (unsigned)strlen(what) % 20);
	return 0;
}

static void configs(const char *text, size_t size)
{
	static struct bootcfg_choice ch;
	struct grub2_result res;
	struct grub2_env env = { .root = "hd0,gpt1", .grubenv = text, .grubenv_len = size,
				 .search = fuzz_search };
	grub2_choose(text, size, "fuzz.cfg", &env, &ch, &res);
	grub1_choose(text, size, "menu.lst", &ch);
	extlinux_choose(text, size, "extlinux.conf", "/boot", &ch);
	struct bls_file files[8];
	unsigned n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && n < 8; i++)
		if (i == size || text[i] == '\0') {
			files[n] = (struct bls_file){ .name = n % 2 ? "b-1.2.conf" : "a-1.10.conf",
				.text = text + start, .len = i - start };
			n++;
			start = i + 1;
		}
	bls_choose(files, n, "fuzz", text, size, &ch);
	char v[64];
	bootcfg_grubenv_get(text, size, "saved_entry", v, sizeof(v));
	bootcfg_dev_partition(text[0] == 'h' && memchr(text, '\0', size) ? text : "hd0,1",
			      BOOTCFG_DEV_GRUB1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_set_quiet(true);
		quiet = 1;
	}
	scan(data, size);
	scan_gpt(data, size);
	configs((const char *)data, size);
	return 0;
}

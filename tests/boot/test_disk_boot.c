/* disk_boot on whole images assembled here with sfdisk, mkfs.ext{2,3,4} -d
 * and qemu-img (compressed base + overlay): which partition, configuration,
 * entry, kernel, initrd and command line are chosen, in which order, and
 * the one-line errors. The kernel is tests/guest's guest.bzimage (a real
 * bzImage header, so boot/'s checks pass). Also `minivmm --boot-info`. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/disk_boot.h"
#include "vmm/log.h"

static char tmp[256];

static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[sizeof(cmd) + sizeof(tmp) + 128];
	snprintf(full, sizeof(full), "cd '%s' && set -e && { %s ; } >/dev/null 2>sh.err || "
		 "{ cat sh.err >&2; exit 1; }", tmp, cmd);
	ck_assert_msg(system(full) == 0, "command failed: %s", cmd);
}

/* A fresh root directory tree in $tmp/root with the kernel at `at`. */
static void root_reset(void)
{
	sh("rm -rf root && mkdir -p root/boot/grub");
}

static void root_kernel(const char *at)
{
	sh("cp '%s' 'root%s'", KERNEL, at);
}

static void root_file(const char *path, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/root%s", tmp, path);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* disk.img: a GPT or MBR ("gpt"/"dos"/"none") with the ext file system
 * made from root/ as partition `num` at sector 2048 (or the whole disk). */
static void make_disk(const char *label, const char *mkfs, unsigned num)
{
	sh("rm -f fs.img disk.img && %s -q -F -d root fs.img 16M", mkfs);
	if (!strcmp(label, "none")) {
		sh("mv fs.img disk.img");
		return;
	}
	sh("truncate -s 20M disk.img && printf 'label: %s\\ndisk.img%u : start=2048, size=32768, "
	   "type=%s\\n' | sfdisk -q disk.img && dd if=fs.img of=disk.img bs=512 seek=2048 "
	   "conv=notrunc status=none", label, num,
	   !strcmp(label, "gpt") ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "83");
}

static struct disk_boot *found;
static char info[8192];

static int find(const char *image, const char *extra)
{
	char spec[512];
	snprintf(spec, sizeof(spec), "%s/%s", tmp, image);
	disk_boot_free(found);
	found = NULL;
	info[0] = '\0';
	log_clear_last_error();
	int r = disk_boot_open(spec, extra, &found);
	if (r == 0) {
		FILE *f = fmemopen(info, sizeof(info), "w");
		disk_boot_print(found, f);
		fclose(f);
	}
	return r;
}

static void has(const char *line)
{
	ck_assert_msg(strstr(info, line) != NULL, "'%s' not in:\n%s", line, info);
}

static void error_has(const char *text)
{
	ck_assert_msg(strstr(log_last_error(), text) != NULL, "'%s' not in the error '%s'", text,
		      log_last_error());
}

static void cirros_like_root(void)
{
	root_reset();
	root_kernel("/boot/vmlinuz-5.15.0-117-generic");
	root_file("/boot/initrd.img-5.15.0-117-generic", "initramfs bytes\n");
	root_file("/boot/grub/menu.lst", "default 0\ntimeout 0\nhiddenmenu\n\ntitle Linux Kernel\n"
		  "root (hd0,0)\nkernel /vmlinuz LABEL=cirros-rootfs ro console=tty1 console=ttyS0\n"
		  "initrd /initrd.img\nEOF\n");
	sh("ln -s boot/vmlinuz-5.15.0-117-generic root/vmlinuz && "
	   "ln -s boot/initrd.img-5.15.0-117-generic root/initrd.img");
}

START_TEST(cirros_like_compressed_base_and_overlay)
{
	cirros_like_root();
	/* CirrOS's layout: p15 ESP at 2048, p1 ext3 (1 KiB blocks) at 18432. */
	sh("rm -f disk.img && mkfs.ext3 -q -F -b 1024 -L cirros-rootfs -d root fs.img 20M && "
	   "truncate -s 40M disk.img && printf 'label: gpt\\n"
	   "disk.img15 : start=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\\n"
	   "disk.img1 : start=18432, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n' | sfdisk -q disk.img"
	   " && dd if=fs.img of=disk.img bs=512 seek=18432 conv=notrunc status=none && "
	   "qemu-img convert -c -O qcow2 -o compat=1.1,cluster_size=65536 disk.img base.qcow2 && "
	   "rm -f vmhost.img && qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 vmhost.img 20G");
	ck_assert_int_eq(find("vmhost.img", "dslist=none"), 0);
	has("partition table: GPT\n");
	has("partition: 1 (Linux, bytes 9437184+");
	has("ext3, label 'cirros-rootfs'\n");
	has("configuration: /boot/grub/menu.lst (GRUB legacy)\n");
	has("entry: 'Linux Kernel'\n");
	has("kernel: /vmlinuz -> /boot/vmlinuz-5.15.0-117-generic (");
	has("initrd: /initrd.img -> /boot/initrd.img-5.15.0-117-generic (");
	has("command line: LABEL=cirros-rootfs ro console=tty1 console=ttyS0 dslist=none\n");
	has("console: the command line names a serial console\n");
	struct boot_spec spec = { .ncpus = 1 };
	disk_boot_spec(found, &spec);
	ck_assert_uint_eq(spec.initrd_size, strlen("initramfs bytes\n"));
	ck_assert_int_eq(memcmp(spec.initrd_data, "initramfs bytes\n", spec.initrd_size), 0);
	FILE *k = fopen(KERNEL, "rb");
	fseek(k, 0, SEEK_END);
	ck_assert_uint_eq(spec.kernel_size, (uint64_t)ftell(k));
	fclose(k);
	ck_assert_int_eq(boot_check(&spec), 0);
}
END_TEST

START_TEST(debian_like_grub2_search_by_uuid_on_mbr)
{
	root_reset();
	root_kernel("/boot/vmlinuz-6.1.0-13-cloud-amd64");
	root_file("/boot/initrd.img-6.1.0-13-cloud-amd64", "debian initrd");
	sh("cp '%s/debian12-grub.cfg' root/boot/grub/grub.cfg", SAMPLES_DIR);
	/* The sample's UUID, so `search --fs-uuid` finds this file system; the
	 * sample says hd0,gpt1 but the disk is MBR: search must win. */
	make_disk("dos", "mkfs.ext4 -U 8c44cf8e-9a4b-4d4e-9c1e-3c7b5f2a9d01", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("partition table: MBR\n");
	has("configuration: /boot/grub/grub.cfg (GRUB 2)\n");
	has("entry: 'Debian GNU/Linux'\n");
	has("kernel: /boot/vmlinuz-6.1.0-13-cloud-amd64 (");
	has("initrd: /boot/initrd.img-6.1.0-13-cloud-amd64 (");
	has("command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-cloud-amd64 root=PARTUUID=");
	has("console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0\n");
	/* grubenv's next_entry picks the recovery entry in the submenu. */
	sh("grub-editenv root/boot/grub/grubenv set next_entry='1>1' 2>/dev/null || "
	   "printf '# GRUB Environment Block\\nnext_entry=1>1\\n' > root/boot/grub/grubenv");
	make_disk("dos", "mkfs.ext4 -U 8c44cf8e-9a4b-4d4e-9c1e-3c7b5f2a9d01", 1);
	ck_assert_int_eq(find("disk.img", "quiet"), 0);
	has("(recovery mode)'\n");
	has(" ro single console=tty0");
	has("consoleblank=0 quiet\n");
}
END_TEST

START_TEST(order_grub2_before_legacy_and_bootable_first)
{
	root_reset();
	root_kernel("/boot/k-grub2");
	root_kernel("/boot/k-legacy");
	root_file("/boot/grub/grub.cfg", "menuentry one { linux /boot/k-grub2 ro }\n");
	root_file("/boot/grub/menu.lst", "title x\nkernel /boot/k-legacy\n");
	make_disk("none", "mkfs.ext2", 0);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("partition table: none\n");
	has("partition: whole disk (no partition table), ext2\n");
	has("kernel: /boot/k-grub2 (");
	has("command line: BOOT_IMAGE=/boot/k-grub2 ro console=ttyS0\n");
	has("console: console=ttyS0 added");
	/* initrd with several files: concatenated, each 4-byte aligned (cpio). */
	root_file("/boot/grub/grub.cfg", "menuentry one {\n linux /boot/k-grub2\n"
		  " initrd /boot/ucode.img /boot/main.img\n}\n");
	root_file("/boot/ucode.img", "abc");
	root_file("/boot/main.img", "XYZ");
	make_disk("none", "mkfs.ext2", 0);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("initrd: /boot/ucode.img (");
	has(" + /boot/main.img (");
	struct boot_spec spec = { .ncpus = 1 };
	disk_boot_spec(found, &spec);
	ck_assert_uint_eq(spec.initrd_size, 7);
	ck_assert_int_eq(memcmp(spec.initrd_data, "abc\0XYZ", 7), 0);
	/* Two partitions with a configuration each: the active one (2) wins. */
	root_reset();
	root_kernel("/boot/k1");
	root_file("/boot/grub/grub.cfg", "menuentry one { linux /boot/k1 }\n");
	sh("mkfs.ext4 -q -F -d root p1.img 8M");
	root_reset();
	root_kernel("/boot/k2");
	root_file("/boot/grub/grub.cfg", "menuentry two { linux /boot/k2 }\n");
	sh("mkfs.ext4 -q -F -d root p2.img 8M && rm -f disk.img && truncate -s 20M disk.img && "
	   "printf 'label: dos\\nstart=2048, size=16384, type=83\\n"
	   "start=18432, size=16384, type=83, bootable\\n' | sfdisk -q disk.img && "
	   "dd if=p1.img of=disk.img bs=512 seek=2048 conv=notrunc status=none && "
	   "dd if=p2.img of=disk.img bs=512 seek=18432 conv=notrunc status=none");
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("partition: 2 (Linux");
	has("kernel: /boot/k2 (");
}
END_TEST

START_TEST(fallbacks_newest_vmlinuz)
{
	root_reset();
	root_kernel("/boot/vmlinuz-5.10.0-9-amd64");
	root_kernel("/boot/vmlinuz-5.10.0-10-amd64");	/* newer by version, not by name */
	root_file("/boot/initrd.img-5.10.0-10-amd64", "i10");
	root_file("/boot/initrd.img-5.10.0-9-amd64", "i9");
	make_disk("gpt", "mkfs.ext4", 3);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("configuration: none found\n");
	has("chosen because: no boot configuration: the newest /boot/vmlinuz-* (5.10.0-10-amd64)\n");
	has("kernel: /boot/vmlinuz-5.10.0-10-amd64 (");
	has("initrd: /boot/initrd.img-5.10.0-10-amd64 (");
	has("command line: root=/dev/vda3 ro console=ttyS0\n");
	/* /vmlinuz + /initrd.img come before /boot/vmlinuz-*. */
	sh("ln -s boot/vmlinuz-5.10.0-9-amd64 root/vmlinuz");
	make_disk("gpt", "mkfs.ext4", 3);
	ck_assert_int_eq(find("disk.img", "console=ttyS0,9600"), 0);
	has("kernel: /vmlinuz -> /boot/vmlinuz-5.10.0-9-amd64 (");
	has("initrd: none\n");
	has("command line: root=/dev/vda3 ro console=ttyS0,9600\n");
}
END_TEST

START_TEST(extlinux_and_bls)
{
	root_reset();
	root_kernel("/boot/vmlinuz-virt");
	root_file("/boot/initramfs-virt", "alpine");
	sh("cp '%s/alpine-extlinux.conf' root/boot/extlinux.conf", SAMPLES_DIR);
	make_disk("dos", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("configuration: /boot/extlinux.conf (Syslinux)\n");
	has("entry: 'Linux virt'\n");
	has("kernel: /boot/vmlinuz-virt (");
	has("initrd: /boot/initramfs-virt (");
	/* Fedora: a separate /boot whose grub.cfg only runs blscfg. */
	root_reset();
	sh("mkdir -p root/grub2 root/loader/entries && rmdir root/boot/grub");
	root_kernel("/vmlinuz-6.5.6-300.fc39.x86_64");
	root_kernel("/vmlinuz-6.7.4-200.fc39.x86_64");
	root_file("/initramfs-6.7.4-200.fc39.x86_64.img", "f39");
	sh("cp '%s/fedora-grub.cfg' root/grub2/grub.cfg && "
	   "cp '%s/fedora39-bls-6.5.6.conf' root/loader/entries/ab12-6.5.6-300.fc39.x86_64.conf && "
	   "cp '%s/fedora39-bls-6.7.4.conf' root/loader/entries/ab12-6.7.4-200.fc39.x86_64.conf",
	   SAMPLES_DIR, SAMPLES_DIR, SAMPLES_DIR);
	make_disk("gpt", "mkfs.ext4", 2);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("configuration: /loader/entries/*.conf (Boot Loader Spec)\n");
	has("kernel: /vmlinuz-6.7.4-200.fc39.x86_64 (");
	has("initrd: /initramfs-6.7.4-200.fc39.x86_64.img (");
	/* The same entries on a root file system: /boot/loader/entries, the
	 * files under /boot. */
	sh("mkdir -p root2/boot && mv root/* root2/boot/ && rm -rf root && mv root2 root");
	make_disk("gpt", "mkfs.ext4", 2);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("configuration: /boot/loader/entries/*.conf (Boot Loader Spec)\n");
	has("kernel: /boot/vmlinuz-6.7.4-200.fc39.x86_64 (");
	has("initrd: /boot/initramfs-6.7.4-200.fc39.x86_64.img (");
}
END_TEST

START_TEST(logical_partition_and_damaged_gpt)
{
	/* MBR: p1 primary (empty ext4), p2 extended, p5 logical holding the
	 * grub.cfg that names its kernel on (hd0,msdos5). */
	root_reset();
	sh("mkfs.ext4 -q -F -d root p1.img 4M");
	root_kernel("/boot/vmlinuz-lg");
	root_file("/boot/grub/grub.cfg", "menuentry logical {\n linux (hd0,msdos5)/boot/vmlinuz-lg "
		  "root=/dev/vda5\n}\n");
	sh("mkfs.ext4 -q -F -d root p5.img 8M && rm -f disk.img && truncate -s 24M disk.img && "
	   "printf 'label: dos\nstart=2048, size=8192, type=83\nstart=10240, type=5\n"
	   "start=12288, size=16384, type=83\n' | sfdisk -q disk.img && "
	   "sfdisk -d disk.img | grep -q 'disk.img5 : start=       12288' && "
	   "dd if=p1.img of=disk.img bs=512 seek=2048 conv=notrunc status=none && "
	   "dd if=p5.img of=disk.img bs=512 seek=12288 conv=notrunc status=none");
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("partition: 5 (Linux");
	has("kernel: /boot/vmlinuz-lg (");
	has("command line: BOOT_IMAGE=(hd0,msdos5)/boot/vmlinuz-lg root=/dev/vda5 console=ttyS0\n");
	/* GPT whose primary header is overwritten: the backup still finds p1. */
	cirros_like_root();
	make_disk("gpt", "mkfs.ext3 -b 1024 -L cirros-rootfs", 1);
	sh("printf 'garbage!' | dd of=disk.img bs=1 seek=512 conv=notrunc status=none");
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("partition table: GPT (primary header damaged: backup used)\n");
	has("kernel: /vmlinuz -> /boot/vmlinuz-5.15.0-117-generic (");
}
END_TEST

/* A CirrOS-like disk with random bytes written over its file system's
 * metadata (superblock, group descriptors, inode tables, directories):
 * every run ends with a result or an error, never a crash (ASan/UBSan). */
START_TEST(corrupted_file_system_never_crashes)
{
	cirros_like_root();
	make_disk("gpt", "mkfs.ext3 -b 1024 -L cirros-rootfs", 1);
	char path[300];
	snprintf(path, sizeof(path), "%s/disk.img", tmp);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t img[20 << 20], work[20 << 20];
	size_t n = fread(img, 1, sizeof(img), f);
	fclose(f);
	ck_assert_uint_eq(n, 20u << 20);
	struct blkdev_mem mem = { .data = work };
	struct blkdev dev = { .read = blkdev_mem_read, .ctx = &mem, .size = n, .name = "fuzzed.img" };
	log_set_quiet(true);
	srand(7);
	unsigned ok = 0;
	for (int round = 0; round < 150; round++) {
		memcpy(work, img, n);
		/* The first 600 KiB of the partition hold the metadata. */
		for (int k = 0; k < 1 + round % 40; k++) {
			size_t at = 2048 * 512 + (size_t)rand() % (600 << 10);
			work[at] = (uint8_t)rand();
		}
		struct disk_boot *b = NULL;
		if (disk_boot_find(&dev, NULL, &b) == 0)
			ok++;
		disk_boot_free(b);
	}
	log_set_quiet(false);
	ck_assert_uint_gt(ok, 0);	/* most small damage still boots */
}
END_TEST

START_TEST(errors_are_one_clear_line)
{
	sh("rm -f disk.img && truncate -s 8M disk.img");
	ck_assert_int_eq(find("disk.img", NULL), -ENOENT);
	error_has("no partition table and no file system found");
	error_has("--kernel");
	/* A partition holding xfs (its signature only). */
	sh("printf 'label: gpt\\nstart=2048, size=8192\\n' | sfdisk -q disk.img && "
	   "printf 'XFSB' | dd of=disk.img bs=512 seek=2048 conv=notrunc status=none");
	ck_assert_int_eq(find("disk.img", NULL), -ENOTSUP);
	error_has("partition 1 (xfs): not read");
	error_has("--kernel works");
	/* ext4 without any kernel: what was searched. */
	root_reset();
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ENOENT);
	error_has("no kernel found; searched ");
	error_has("disk.img partition 1 (ext4): grub.cfg, menu.lst, extlinux.conf, syslinux.cfg, "
		  "loader/entries; then /boot/vmlinuz, /vmlinuz and /boot/vmlinuz-*");
	/* A symlink loop. */
	root_file("/boot/grub/menu.lst", "title loop\nkernel /vmlinuz ro\n");
	sh("ln -s vmlinuz2 root/vmlinuz && ln -s vmlinuz root/vmlinuz2");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ELOOP);
	error_has("/vmlinuz: too many levels of symbolic links");
	/* A configuration naming a partition the disk does not have. */
	root_reset();
	root_kernel("/vmlinuz");
	root_file("/boot/grub/menu.lst", "title far\nroot (hd0,6)\nkernel /vmlinuz\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ENXIO);
	error_has("(hd0,6), a partition outside the disk");
	root_file("/boot/grub/menu.lst", "title far\nroot (hd1,0)\nkernel /vmlinuz\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ENODEV);
	error_has("another disk (hd1,0)");
	/* A kernel that is not one. */
	root_file("/boot/grub/menu.lst", "title bad\nkernel /boot/notakernel\n");
	root_file("/boot/notakernel", "#!/bin/sh\necho hi\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -EINVAL);
	error_has("is not bootable on x86_64");
	/* A missing kernel named by the configuration. */
	root_file("/boot/grub/menu.lst", "title gone\nkernel /boot/nothere\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ENOEXEC);
	error_has("kernel /boot/nothere named by /boot/grub/menu.lst (GRUB legacy) does not exist");
}
END_TEST

/* `minivmm --disk disk.img --boot-info`: its exit status, stderr in err.txt. */
static int boot_info(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' --disk disk.img --boot-info > out.txt "
		 "2> err.txt", tmp, MINIVMM);
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void stderr_has(const char *text)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "grep -qF -- '%s' '%s/err.txt' || cat '%s/err.txt' >&2", text,
		 tmp, tmp);
	ck_assert_msg(system(cmd) == 0, "'%s' not on stderr (above)", text);
}

/* Files that are there but cannot be used: a FIFO grub.cfg, a directory
 * /boot/vmlinuz, a grubenv over 64 KiB are warned about and passed over;
 * a loop at /loader/entries and a BLS entry too long to boot as written
 * are one error naming the file (they used to exit 1 printing nothing). */
START_TEST(unusable_files_are_named)
{
	root_reset();
	root_kernel("/boot/k");
	sh("mkfifo root/boot/grub/grub.cfg");
	root_file("/boot/grub/menu.lst", "title legacy\nkernel /boot/k\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("configuration: /boot/grub/menu.lst (GRUB legacy)\n");
	ck_assert_int_eq(boot_info(), 0);
	stderr_has("disk.img partition 1: /boot/grub/grub.cfg: not a regular file: ignored");
	/* Fallbacks: a directory at /boot/vmlinuz, then /vmlinuz. */
	root_reset();
	sh("mkdir root/boot/vmlinuz");
	root_kernel("/vmlinuz");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("kernel: /vmlinuz (");
	ck_assert_int_eq(boot_info(), 0);
	stderr_has("/boot/vmlinuz: not a regular file: ignored");
	/* grubenv is read up to 64 KiB: a larger one is warned about, unused. */
	root_reset();
	root_kernel("/boot/ka");
	root_kernel("/boot/kb");
	root_file("/boot/grub/grub.cfg", "set default=saved\nmenuentry a { linux /boot/ka }\n"
		  "menuentry b { linux /boot/kb }\n");
	root_file("/boot/grub/grubenv", "saved_entry=1\n");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("kernel: /boot/kb (");
	sh("head -c 70000 /dev/zero | tr '\\0' '#' >> root/boot/grub/grubenv");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), 0);
	has("kernel: /boot/ka (");
	ck_assert_int_eq(boot_info(), 0);
	stderr_has("/boot/grub/grubenv: larger than 64 KiB: ignored");
	/* The default entry has no linux line (others do): said so. */
	root_file("/boot/grub/grub.cfg", "menuentry first { echo }\nmenuentry b { linux /boot/kb }\n");
	root_kernel("/boot/vmlinuz");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(boot_info(), 0);
	stderr_has("/boot/grub/grub.cfg: the chosen entry 'first' (default=0 (unset)) has no "
		   "linux line: ignored");
	/* A symlink loop at /loader/entries. */
	root_reset();
	sh("mkdir root/loader && ln -s e2 root/loader/entries && ln -s entries root/loader/e2");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -ELOOP);
	error_has("disk.img partition 1:/loader/entries: too many levels of symbolic links");
	ck_assert_int_eq(boot_info(), 1);
	sh("test \"$(wc -l < err.txt)\" = 1 && grep -q 'loader/entries: too many' err.txt");
	/* A BLS entry whose options do not fit in a command line. */
	root_reset();
	root_kernel("/vmlinuz-6");
	sh("mkdir -p root/loader/entries && { echo 'linux /vmlinuz-6'; for i in 1 2 3; do "
	   "printf 'options '; head -c 1500 /dev/zero | tr '\\0' o; echo; done; } "
	   "> root/loader/entries/f-6.conf");
	make_disk("gpt", "mkfs.ext4", 1);
	ck_assert_int_eq(find("disk.img", NULL), -EINVAL);
	error_has("disk.img partition 1:/loader/entries/f-6.conf: the options lines add up to");
	ck_assert_int_eq(boot_info(), 1);
	stderr_has("f-6.conf: the options lines");
}
END_TEST

START_TEST(minivmm_boot_info)
{
	cirros_like_root();
	make_disk("gpt", "mkfs.ext3 -b 1024 -L cirros-rootfs", 1);
	sh("'%s' --disk disk.img --boot-info > out.txt 2> err.txt && grep -qx "
	   "'command line: LABEL=cirros-rootfs ro console=tty1 console=ttyS0' out.txt && "
	   "grep -q '^kernel: /vmlinuz -> /boot/vmlinuz-5.15.0-117-generic' out.txt && "
	   "test ! -s err.txt", MINIVMM);
	/* Errors: exit 1, one line on stderr, nothing on stdout. */
	sh("rm -f empty.img && truncate -s 1M empty.img && "
	   "! '%s' --disk empty.img --boot-info > out.txt 2> err.txt && test ! -s out.txt && "
	   "test \"$(wc -l < err.txt)\" = 1 && grep -q 'no partition table' err.txt", MINIVMM);
}
END_TEST

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/minivmm-diskboot-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	disk_boot_free(found);
	found = NULL;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

int main(void)
{
	const char *need = "command -v sfdisk && command -v mkfs.ext4 && command -v qemu-img";
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "{ %s; } >/dev/null 2>&1", need);
	if (system(cmd) != 0) {
		const char *ci = getenv("CI");
		fprintf(stderr, "sfdisk, mkfs.ext4 or qemu-img missing (fdisk, e2fsprogs, "
			"qemu-utils): run scripts/setup.sh\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	Suite *s = suite_create("boot-disk");
	TCase *tc = tcase_create("images");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cirros_like_compressed_base_and_overlay);
	tcase_add_test(tc, debian_like_grub2_search_by_uuid_on_mbr);
	tcase_add_test(tc, order_grub2_before_legacy_and_bootable_first);
	tcase_add_test(tc, fallbacks_newest_vmlinuz);
	tcase_add_test(tc, extlinux_and_bls);
	tcase_add_test(tc, logical_partition_and_damaged_gpt);
	tcase_add_test(tc, corrupted_file_system_never_crashes);
	tcase_add_test(tc, errors_are_one_clear_line);
	tcase_add_test(tc, minivmm_boot_info);
	tcase_add_test(tc, unusable_files_are_named);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

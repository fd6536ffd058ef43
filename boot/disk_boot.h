/* Booting a disk with no --kernel: find the kernel, initrd and command
 * line inside the first disk the way its boot loader would, read them out
 * of the image (through devices/virtio/disk.h: raw, qcow2, overlays,
 * compressed clusters), and hand them to boot_load() from memory.
 *
 * Discovery order (what a BIOS-booted PC with the usual loaders finds):
 *  1. The partition table (boot/part.h): GPT behind a protective MBR
 *     (backup header if the primary is damaged), else MBR primaries and
 *     logicals, else the whole disk as one file system. Partitions are
 *     tried bootable first (MBR active flag, GPT legacy-BIOS-bootable
 *     attribute), then in table order; only ext2/3/4 is read.
 *  2. On each partition in that order, the first configuration found of:
 *     a. GRUB 2: /boot/grub/grub.cfg, /grub/grub.cfg, /boot/grub2/grub.cfg,
 *        /grub2/grub.cfg (grubenv beside it); a grub.cfg that only runs
 *        `blscfg` (Fedora) continues with the BLS entries (d).
 *     b. GRUB legacy: /boot/grub/menu.lst, /grub/menu.lst,
 *        /boot/grub/grub.conf, /grub/grub.conf.
 *     c. Syslinux: /boot/extlinux/extlinux.conf, /extlinux/extlinux.conf,
 *        /boot/extlinux.conf, /extlinux.conf, /boot/syslinux/syslinux.cfg,
 *        /syslinux/syslinux.cfg, /boot/syslinux.cfg, /syslinux.cfg.
 *     d. Boot Loader Spec: /loader/entries/NAME.conf, /boot/loader/entries/NAME.conf.
 *        (entries in /boot/loader/entries whose files are not at their path
 *        but under /boot, as when /boot is no partition of its own, get /boot).
 *     The configuration's default entry is booted; its files are looked up
 *     on the device it names ((hd0,gpt1), search --label/--fs-uuid/--file)
 *     or on the configuration's own partition.
 *  3. Failing any configuration, on each partition in the same order:
 *     /boot/vmlinuz + /boot/initrd.img, then /vmlinuz + /initrd.img (the
 *     initrd only if present), then the newest /boot/vmlinuz-VERSION (by
 *     version order) with initrd.img-VERSION, initrd-VERSION(.img) or
 *     initramfs-VERSION(.img) beside it. With no configuration there is no
 *     command line: it becomes "root=/dev/vdaN ro" (N: that partition).
 * Symlinks are followed (relative ones from their directory; loops are an
 * error). console=ttyS0 is appended when the chosen command line names no
 * serial console (console=ttyS*, console=uart*); --cmdline is appended
 * after that. */
#ifndef MINIVMM_BOOT_DISK_BOOT_H
#define MINIVMM_BOOT_DISK_BOOT_H

#include <stdint.h>
#include <stdio.h>

#include "boot/blkdev.h"

struct boot_spec;
struct disk_boot;

#define DISK_BOOT_KERNEL_MAX (256ull << 20)
#define DISK_BOOT_INITRD_MAX (1ull << 30)

/* Finds and reads the kernel on dev. extra_cmdline (may be NULL) is
 * --cmdline. 0 and *out, or -errno after one log_error line saying what
 * is wrong (no partition table and no file system, a file system not read,
 * no kernel found and what was searched, a kernel not bootable on x86_64,
 * a symlink loop, a configuration naming something outside the disk). */
int disk_boot_find(const struct blkdev *dev, const char *extra_cmdline, struct disk_boot **out);

/* The same on a --disk value ("FILE[,format=...]"), opened read-only
 * through the disk layer and closed again before returning. */
int disk_boot_open(const char *disk_spec, const char *extra_cmdline, struct disk_boot **out);

/* What was chosen and why, one "key: value" per line (--boot-info). */
void disk_boot_print(const struct disk_boot *b, FILE *out);

/* Fills spec's kernel/initrd (from memory, owned by b) and command line. */
void disk_boot_spec(const struct disk_boot *b, struct boot_spec *spec);

void disk_boot_free(struct disk_boot *b);

#endif

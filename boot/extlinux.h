/* extlinux.conf / syslinux.cfg (Syslinux 6, as Alpine's update-extlinux
 * writes it): LABEL entries with KERNEL/LINUX, APPEND (a global APPEND
 * applies to labels with none; "APPEND -" means no arguments), INITRD
 * (comma-separated files; initrd= in APPEND when there is no INITRD),
 * MENU LABEL, MENU DEFAULT; the entry chosen is ONTIMEOUT's label, else the
 * one marked MENU DEFAULT, else DEFAULT's label, else the first. Paths
 * without a leading '/' are relative to the configuration's directory;
 * the command line starts with BOOT_IMAGE=KERNEL as Syslinux makes it. */
#ifndef MINIVMM_BOOT_EXTLINUX_H
#define MINIVMM_BOOT_EXTLINUX_H

#include <stddef.h>

#include "boot/bootcfg.h"

/* 0 and *out; -ENOENT when no label has a kernel; -EINVAL (logged) on
 * paths or a command line too long. */
int extlinux_choose(const char *text, size_t len, const char *cfg_name, const char *cfg_dir,
		    struct bootcfg_choice *out);

#endif

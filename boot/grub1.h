/* GRUB legacy (0.97) menu.lst / grub.conf: `default N` (0-based; "saved"
 * means the first entry here), `title` starting each entry, and in it
 * `root (hdN,M)` (partitions from 0), `kernel PATH ARGS` (ARGS verbatim,
 * options like --type= before PATH skipped) and `initrd PATH`. Separators
 * may be blanks or '=' as GRUB legacy allows; unknown lines (CirrOS's
 * menu.lst ends with a stray `EOF`) are ignored as GRUB ignores them. */
#ifndef MINIVMM_BOOT_GRUB1_H
#define MINIVMM_BOOT_GRUB1_H

#include <stddef.h>

#include "boot/bootcfg.h"

/* 0 and *out; -ENOENT when no entry has a kernel line; -EINVAL (logged,
 * naming cfg_name and the line) on a malformed kernel/initrd/root. */
int grub1_choose(const char *text, size_t len, const char *cfg_name, struct bootcfg_choice *out);

#endif

/* Boot Loader Specification type #1 entries (/loader/entries/NAME.conf, as
 * Fedora's kernel-install writes them and GRUB's blscfg reads them):
 * title, version, linux, initrd (several lines or files), options
 * (several lines joined; $name expanded from grubenv, e.g. Fedora's
 * $kernelopts), sort-key. Order: sort-key ascending (entries without one
 * last), then version descending (newest first), then file name; the
 * default is grubenv's saved_entry (an entry's file name without .conf)
 * when it names one, else the first. The command line starts with
 * BOOT_IMAGE=LINUX as GRUB's loader makes it. */
#ifndef MINIVMM_BOOT_BLS_H
#define MINIVMM_BOOT_BLS_H

#include <stddef.h>

#include "boot/bootcfg.h"

struct bls_file {
	const char *name;	/* "abc-6.5.6-300.fc39.x86_64.conf" */
	const char *text;
	size_t len;
};

#define BLS_ENTRIES_MAX 64

/* 0 and *out; -ENOENT when no entry has a linux line; -EINVAL/-E2BIG
 * (logged as "boot: WHERE/FILE: why") when the chosen entry's paths or
 * command line do not fit (nothing is cut). where names the directory
 * ("vmhost.img partition 2:/loader/entries"). */
int bls_choose(const struct bls_file *files, unsigned n, const char *where, const char *grubenv,
	       size_t envlen, struct bootcfg_choice *out);

#endif

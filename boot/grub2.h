/* GRUB 2's grub.cfg, as grub-mkconfig writes it on Debian 12 and Ubuntu
 * 22.04 (and the hand-written ones CirrOS and cloud images ship): a small
 * interpreter for the part of GRUB script that decides what boots.
 *
 * Run: `set` (and NAME=value), `if/elif/else/fi` with `[ ... ]`/`test`
 * conditions (= == != -n -z -eq -ne -lt -gt -le -ge, !; file tests and
 * other commands are false), `search` (--label, --fs-uuid, --file;
 * --set[=VAR]; search.fs_label/fs_uuid/file), `menuentry` (--class, --id,
 * --users, --hotkey, ...), `submenu`, and, in the chosen entry, `linux`/
 * `linuxefi`/`linux16` and `initrd`/`initrdefi`/`initrd16` (several files
 * are concatenated). `function` bodies and for/while loops are skipped;
 * everything else (insmod, load_video, terminal_*, echo, ...) is ignored.
 * Variables GRUB 2.06's BIOS build defines (feature_*, grub_platform=pc)
 * are preset; grubenv's variables are visible from the start (load_env).
 *
 * `default` as GRUB reads it: a number, a title, an --id, or a path of
 * those joined by '>' through submenus; "saved" takes saved_entry from
 * grubenv; no match means the first entry. */
#ifndef MINIVMM_BOOT_GRUB2_H
#define MINIVMM_BOOT_GRUB2_H

#include <stddef.h>

#include "boot/bootcfg.h"

enum grub2_search { GRUB2_SEARCH_LABEL, GRUB2_SEARCH_FS_UUID, GRUB2_SEARCH_FILE };

struct grub2_env {
	const char *root;	/* the device grub.cfg is on ("hd0,gpt1") */
	const char *grubenv;	/* the grubenv block next to grub.cfg, or NULL */
	size_t grubenv_len;
	/* search: the device holding what is sought, as "hd0,gptN"; 0 or
	 * -ENOENT. NULL: every search fails. */
	int (*search)(void *opaque, enum grub2_search kind, const char *what, char *dev,
		      size_t cap);
	void *opaque;
};

struct grub2_result {
	unsigned entries;	/* menuentries seen (all levels) */
	bool blscfg;		/* the script ran `blscfg` (Fedora): entries are in BLS files */
};

/* 0 with *out filled; -ENOENT when the script defines no entry or the
 * chosen one has no `linux` line (res says whether blscfg ran); -EINVAL
 * on a malformed script (logged, naming cfg_name and the line). */
int grub2_choose(const char *text, size_t len, const char *cfg_name, const struct grub2_env *env,
		 struct bootcfg_choice *out, struct grub2_result *res);

#endif

/* What a boot configuration chose, whichever format it came from (GRUB 2,
 * GRUB legacy, extlinux/syslinux, Boot Loader Spec), and helpers the
 * parsers share. Parsers take the file's bytes (hostile: any length, any
 * content, no NUL needed) and never touch a disk: device names they meet
 * are kept as text for boot/disk_boot.c to resolve. */
#ifndef MINIVMM_BOOT_BOOTCFG_H
#define MINIVMM_BOOT_BOOTCFG_H

#include <stdbool.h>
#include <stddef.h>

#define BOOTCFG_PATH_MAX 1024
#define BOOTCFG_CMDLINE_MAX 4096
#define BOOTCFG_INITRD_MAX 8
#define BOOTCFG_DEV_MAX 64

/* A file as a boot loader names it: a path, and the device it is on (GRUB
 * syntax without parentheses: "hd0,gpt1", "hd0,msdos5", legacy "hd0,0";
 * "" = the partition holding the configuration). */
struct bootcfg_file {
	char dev[BOOTCFG_DEV_MAX];
	char path[BOOTCFG_PATH_MAX];
};

enum bootcfg_devsyntax {
	BOOTCFG_DEV_GRUB2,	/* (hd0,1), (hd0,gpt1), (hd0,msdos1): partitions from 1 */
	BOOTCFG_DEV_GRUB1,	/* (hd0,0): partitions from 0 */
};

struct bootcfg_choice {
	char title[256];
	char why[256];		/* how the entry was chosen ("default=0: the first entry") */
	enum bootcfg_devsyntax devsyntax;
	struct bootcfg_file kernel;
	struct bootcfg_file initrd[BOOTCFG_INITRD_MAX];
	unsigned ninitrd;
	char cmdline[BOOTCFG_CMDLINE_MAX];
};

/* "(dev)/path" -> dev (without parentheses) and path; a path with no
 * device keeps default_dev. -EINVAL when too long or unbalanced. */
int bootcfg_file_set(struct bootcfg_file *f, const char *default_dev, const char *text);

/* Appends s to the NUL-terminated buf (a space first if buf is not empty
 * and space is set). -E2BIG if it does not fit (buf unchanged). */
int bootcfg_append(char *buf, size_t cap, const char *s, bool space);

/* The number GRUB gives a partition in `dev` (hd0 only): 0 for the whole
 * disk "hd0", N for "hd0,N"/"hd0,gptN"/"hd0,msdosN" (GRUB 2) or
 * "hd0,N-1" (legacy). -ENODEV for another disk, -EINVAL for text that is
 * no device name. */
int bootcfg_dev_partition(const char *dev, enum bootcfg_devsyntax syntax);

/* Reads one variable from a GRUB environment block (grubenv: "name=value"
 * lines, '#' padding, backslash escapes; the last line of a name wins, as
 * GRUB's load_env sets them in order). 0 and value, or -ENOENT, -ENOMEM. */
int bootcfg_grubenv_get(const char *env, size_t len, const char *name, char *value, size_t cap);

/* The next "name=value" of a grubenv from *pos (advanced past it): false
 * at the end. Names of ncap characters or more are skipped; values are
 * unescaped and cut to vcap-1 bytes. One pass reads the whole block. */
bool bootcfg_grubenv_next(const char *env, size_t len, size_t *pos, char *name, size_t ncap,
			  char *value, size_t vcap);

/* Copies at most cap-1 bytes of the line starting at *pos in text[0..len)
 * (without its newline) to line, advances *pos past it. false at the end. */
bool bootcfg_next_line(const char *text, size_t len, size_t *pos, char *line, size_t cap);

/* Strips leading and trailing spaces/tabs/CR in place; returns the start. */
char *bootcfg_trim(char *s);

#endif

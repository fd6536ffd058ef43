/* Finding what a disk boots (the order is documented in disk_boot.h). */
#include "boot/disk_boot.h"
#include "boot/bls.h"
#include "boot/disk_boot_internal.h"
#include "boot/extlinux.h"
#include "boot/grub1.h"
#include "boot/grub2.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DB_CONFIG_MAX (1u << 20)
#define DB_GRUBENV_MAX (64u << 10)

static const char *const grub2_paths[] = { "/boot/grub/grub.cfg", "/grub/grub.cfg",
	"/boot/grub2/grub.cfg", "/grub2/grub.cfg" };
static const char *const grub1_paths[] = { "/boot/grub/menu.lst", "/grub/menu.lst",
	"/boot/grub/grub.conf", "/grub/grub.conf" };
static const char *const syslinux_paths[] = { "/boot/extlinux/extlinux.conf",
	"/extlinux/extlinux.conf", "/boot/extlinux.conf", "/extlinux.conf",
	"/boot/syslinux/syslinux.cfg", "/syslinux/syslinux.cfg", "/boot/syslinux.cfg",
	"/syslinux.cfg" };
static const char *const bls_dirs[] = { "/loader/entries", "/boot/loader/entries" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

void db_note_searched(struct disk_boot *b, const char *fmt, ...)
{
	size_t have = strlen(b->searched);
	va_list ap;
	va_start(ap, fmt);
	if (have < sizeof(b->searched))
		vsnprintf(b->searched + have, sizeof(b->searched) - have, fmt, ap);
	va_end(ap);
}

struct extfs *db_ext(struct disk_boot *b, struct db_cand *c)
{
	(void)b;
	if (!c->ext && !c->ext_failed && c->fs.readable)
		c->ext_failed = extfs_open(&c->dev, c->what, &c->ext) != 0;
	return c->ext;
}

static void db_add_cand(struct disk_boot *b, const struct part *p)
{
	struct db_cand *c = &b->cands[b->ncands++];
	memset(c, 0, sizeof(*c));
	c->p = *p;
	blkdev_slice_init(b->dev, p->start, p->size, &c->slice, &c->dev);
	const char *kind = b->table.scheme == PART_GPT ? "gpt" : "msdos";
	if (p->number)
		snprintf(c->gname, sizeof(c->gname), "hd0,%s%u", kind, p->number);
	else
		snprintf(c->gname, sizeof(c->gname), "hd0");
	if (p->number)
		snprintf(c->what, sizeof(c->what), "%s partition %u", b->dev->name, p->number);
	else
		snprintf(c->what, sizeof(c->what), "%s", b->dev->name);
	if (fs_probe(&c->dev, &c->fs))
		c->fs.type = NULL;
}

/* Candidates in boot order: bootable first, then table order. */
static int db_candidates(struct disk_boot *b)
{
	int r = part_scan(b->dev, &b->table);
	if (r)
		return r;
	if (b->table.scheme == PART_NONE) {
		struct part whole = { .number = 0, .start = 0, .size = b->dev->size };
		db_add_cand(b, &whole);
		return 0;
	}
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < b->table.count; i++) {
			const struct part *p = &b->table.parts[i];
			bool ext = p->mbr_type == 0x05 || p->mbr_type == 0x0f || p->mbr_type == 0x85;
			if (!ext && p->bootable == (pass == 0))
				db_add_cand(b, p);
		}
	return 0;
}

/* ---- configurations ---- */

/* A configuration file (at most max bytes): 0, -ENOENT (not there, or no
 * regular file: warned, the search goes on), other -errno (logged). */
static int db_read_text(struct disk_boot *b, struct db_cand *c, const char *path, uint64_t max,
			unsigned flags, char **text, uint64_t *len)
{
	void *data;
	int r = db_read(b, c, path, max, flags | DB_SKIP_NONFILE, &data, len, NULL, 0);
	if (r == 0)
		*text = data;
	return r;
}

static int db_search(void *opaque, enum grub2_search kind, const char *what, char *dev,
		     size_t cap)
{
	struct disk_boot *b = opaque;
	for (unsigned i = 0; i < b->ncands; i++) {
		struct db_cand *c = &b->cands[i];
		bool hit = kind == GRUB2_SEARCH_LABEL ? c->fs.readable && !strcmp(c->fs.label, what) :
			   kind == GRUB2_SEARCH_FS_UUID ? c->fs.readable && !strcasecmp(c->fs.uuid, what) :
			   db_ext(b, c) && extfs_is_file(c->ext, what);
		if (hit) {
			snprintf(dev, cap, "%s", c->gname);
			return 0;
		}
	}
	return -ENOENT;
}

struct bls_dir {
	struct disk_boot *b;
	struct db_cand *c;
	const char *dir;
	struct bls_file files[BLS_ENTRIES_MAX];
	unsigned n;
};

static int bls_collect(void *opaque, const char *name)
{
	struct bls_dir *d = opaque;
	size_t n = strlen(name);
	char path[BOOTCFG_PATH_MAX];
	char *text;
	uint64_t len;
	if (n < 6 || strcmp(name + n - 5, ".conf") || d->n == BLS_ENTRIES_MAX)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	/* One unreadable entry file does not hide the others. */
	if (db_read_text(d->b, d->c, path, DB_CONFIG_MAX, DB_OPTIONAL, &text, &len) == 0) {
		char *copy = strdup(name);
		if (!copy) {
			free(text);
			return -ENOMEM;
		}
		d->files[d->n++] = (struct bls_file){ .name = copy, .text = text, .len = len };
	}
	return 0;
}

/* Entries in /boot/loader/entries of a root file system name their files
 * from /boot's point of view when /boot is not a partition of its own: if
 * the kernel is not at its path but is under /boot, every path gets /boot. */
static void bls_under_boot(struct db_cand *c, struct bootcfg_choice *ch)
{
	char alt[BOOTCFG_PATH_MAX + 8];
	snprintf(alt, sizeof(alt), "/boot%s", ch->kernel.path);
	if (extfs_is_file(c->ext, ch->kernel.path) || !extfs_is_file(c->ext, alt))
		return;
	struct bootcfg_file *files[1 + BOOTCFG_INITRD_MAX] = { &ch->kernel };
	for (unsigned i = 0; i < ch->ninitrd; i++)
		files[1 + i] = &ch->initrd[i];
	for (unsigned i = 0; i < 1 + ch->ninitrd; i++) {
		snprintf(alt, sizeof(alt), "/boot%s", files[i]->path);
		if (strlen(alt) < sizeof(files[i]->path))
			strcpy(files[i]->path, alt);
	}
}

static int db_try_bls(struct disk_boot *b, struct db_cand *c, struct bootcfg_choice *ch,
		      const char *env, size_t envlen)
{
	for (size_t i = 0; i < NELEM(bls_dirs); i++) {
		struct bls_dir *d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		*d = (struct bls_dir){ .b = b, .c = c, .dir = bls_dirs[i] };
		char where[BOOTCFG_PATH_MAX + 16];
		snprintf(where, sizeof(where), "%s:%s", c->what, bls_dirs[i]);
		int r = extfs_list(c->ext, bls_dirs[i], bls_collect, d);
		if (r == 0 && d->n)
			r = bls_choose(d->files, d->n, where, env, envlen, ch);	/* logs */
		else if (r == 0 || r == -ENOENT || r == -ENOTDIR)
			r = -ENOENT;
		else if (r == -ELOOP)
			log_error("boot: %s: too many levels of symbolic links (a loop?)", where);
		else
			log_error("boot: %s: cannot list the directory: %s", where, strerror(-r));
		for (unsigned j = 0; j < d->n; j++) {
			free((void *)d->files[j].name);
			free((void *)d->files[j].text);
		}
		free(d);
		if (r == 0) {
			if (i == 1)
				bls_under_boot(c, ch);
			snprintf(where, sizeof(where), "%s/*.conf (Boot Loader Spec)", bls_dirs[i]);
			return db_take_choice(b, c, ch, where);
		}
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

static int db_try_grub2(struct disk_boot *b, struct db_cand *c, struct bootcfg_choice *ch)
{
	for (size_t i = 0; i < NELEM(grub2_paths); i++) {
		char *text = NULL, *env = NULL, envpath[64], name[BOOTCFG_PATH_MAX + 200];
		uint64_t len, envlen = 0;
		int r = db_read_text(b, c, grub2_paths[i], DB_CONFIG_MAX, 0, &text, &len);
		if (r == -ENOENT)
			continue;
		if (r)
			return r;
		snprintf(envpath, sizeof(envpath), "%.*s/grubenv",
			 (int)(strrchr(grub2_paths[i], '/') - grub2_paths[i]), grub2_paths[i]);
		if (db_read_text(b, c, envpath, DB_GRUBENV_MAX, DB_OPTIONAL, &env, &envlen))
			env = NULL, envlen = 0;
		snprintf(name, sizeof(name), "%s:%s", c->what, grub2_paths[i]);
		struct grub2_env ge = { .root = c->gname, .grubenv = env, .grubenv_len = envlen,
					.search = db_search, .opaque = b };
		struct grub2_result res;
		r = grub2_choose(text, len, name, &ge, ch, &res);
		if (r == 0) {
			char where[BOOTCFG_PATH_MAX + 32];
			snprintf(where, sizeof(where), "%s (GRUB 2)", grub2_paths[i]);
			r = db_take_choice(b, c, ch, where);
		} else if (r == -ENOENT && res.blscfg) {
			r = db_try_bls(b, c, ch, env, envlen);
		} else if (r == -ENOENT && !res.entries) {
			log_warn("boot: %s: %s has no menuentry: ignored", c->what, grub2_paths[i]);
		} else if (r == -ENOENT && ch->title[0]) {
			log_warn("boot: %s: %s: the chosen entry '%s' (%s) has no linux line: ignored",
				 c->what, grub2_paths[i], ch->title, ch->why);
		} else if (r == -ENOENT) {
			log_warn("boot: %s: %s: %u entries but none to boot (empty submenus?): "
				 "ignored", c->what, grub2_paths[i], res.entries);
		}
		free(text);
		free(env);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* One family of plain-text configurations (GRUB legacy, Syslinux). */
static int db_try_simple(struct disk_boot *b, struct db_cand *c, struct bootcfg_choice *ch,
			 const char *const *paths, size_t n, bool grub1)
{
	for (size_t i = 0; i < n; i++) {
		char *text, name[BOOTCFG_PATH_MAX + 200], dir[BOOTCFG_PATH_MAX];
		uint64_t len;
		int r = db_read_text(b, c, paths[i], DB_CONFIG_MAX, 0, &text, &len);
		if (r == -ENOENT)
			continue;
		if (r)
			return r;
		snprintf(name, sizeof(name), "%s:%s", c->what, paths[i]);
		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(paths[i], '/') - paths[i]), paths[i]);
		r = grub1 ? grub1_choose(text, len, name, ch) :
			    extlinux_choose(text, len, name, dir[0] ? dir : "/", ch);
		free(text);
		if (r == 0) {
			char where[BOOTCFG_PATH_MAX + 32];
			snprintf(where, sizeof(where), "%s (%s)", paths[i],
				 grub1 ? "GRUB legacy" : "Syslinux");
			return db_take_choice(b, c, ch, where);
		}
		if (r != -ENOENT)
			return r;
		log_warn("boot: %s: %s has no entry with a kernel: ignored", c->what, paths[i]);
	}
	return -ENOENT;
}

static int db_try_configs(struct disk_boot *b, struct db_cand *c)
{
	struct bootcfg_choice *ch = malloc(sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	int r = db_try_grub2(b, c, ch);
	if (r == -ENOENT)
		r = db_try_simple(b, c, ch, grub1_paths, NELEM(grub1_paths), true);
	if (r == -ENOENT)
		r = db_try_simple(b, c, ch, syslinux_paths, NELEM(syslinux_paths), false);
	if (r == -ENOENT)
		r = db_try_bls(b, c, ch, NULL, 0);
	free(ch);
	return r;
}

/* ---- the search ---- */

static void db_describe(struct disk_boot *b, const struct db_cand *c)
{
	char tbuf[32];
	if (!c->p.number) {
		snprintf(b->partition, sizeof(b->partition), "whole disk (no partition table), %s",
			 c->fs.type);
	} else {
		snprintf(b->partition, sizeof(b->partition), "%u (%s, bytes %llu+%llu), %s",
			 c->p.number, part_type_name(&c->p, tbuf, sizeof(tbuf)),
			 (unsigned long long)c->p.start, (unsigned long long)c->p.size, c->fs.type);
	}
	if (c->fs.label[0]) {
		size_t n = strlen(b->partition);
		snprintf(b->partition + n, sizeof(b->partition) - n, ", label '%s'", c->fs.label);
	}
}

static int db_no_kernel(struct disk_boot *b)
{
	bool readable = false;
	for (unsigned i = 0; i < b->ncands; i++)
		readable |= b->cands[i].fs.readable;
	if (b->table.scheme == PART_NONE && !b->cands[0].fs.type) {
		log_error("boot: %s: no partition table and no file system found: give the kernel "
			  "with --kernel", b->dev->name);
		return -ENOENT;
	}
	if (b->ncands == 0) {
		log_error("boot: %s: the %s partition table lists no partition: give the kernel "
			  "with --kernel", b->dev->name, part_scheme_name(b->table.scheme));
		return -ENOENT;
	}
	if (!readable) {
		log_error("boot: %s: no ext2/3/4 file system to read the kernel from (%s): "
			  "minivmm reads only ext2/3/4; --kernel works with any disk",
			  b->dev->name, b->searched);
		return -ENOTSUP;
	}
	log_error("boot: %s: no kernel found; searched %s; then /boot/vmlinuz, /vmlinuz and "
		  "/boot/vmlinuz-* on each ext2/3/4 file system (or give --kernel)", b->dev->name,
		  b->searched);
	return -ENOENT;
}

static int db_search_all(struct disk_boot *b)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < b->ncands; i++) {
			struct db_cand *c = &b->cands[i];
			if (pass == 0) {
				db_note_searched(b, "%s%s (%s)", b->searched[0] ? "; " : "", c->what,
						 c->fs.type ? c->fs.type : "no known file system");
				if (c->fs.type && !c->fs.readable)
					db_note_searched(b, ": not read");
			}
			if (!db_ext(b, c)) {
				if (pass == 0 && c->fs.readable)
					db_note_searched(b, ": cannot be read (damaged?)");
				continue;
			}
			db_describe(b, c);
			int r = pass == 0 ? db_try_configs(b, c) : db_fallbacks(b, c);
			if (pass == 0 && r == -ENOENT)
				db_note_searched(b, ": grub.cfg, menu.lst, extlinux.conf, syslinux.cfg, "
						 "loader/entries");
			if (r != -ENOENT)
				return r;
		}
	}
	return db_no_kernel(b);
}

int disk_boot_find(const struct blkdev *dev, const char *extra_cmdline, struct disk_boot **out)
{
	struct disk_boot *b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("boot: out of memory");
		return -ENOMEM;
	}
	b->dev = dev;
	b->extra_cmdline = extra_cmdline;
	snprintf(b->image, sizeof(b->image), "%s", dev->name);
	int r = db_candidates(b);
	if (r == 0)
		r = db_search_all(b);
	snprintf(b->scheme, sizeof(b->scheme), "%s%s", part_scheme_name(b->table.scheme),
		 b->table.gpt_backup_used ? " (primary header damaged: backup used)" : "");
	for (unsigned i = 0; i < b->ncands; i++) {
		extfs_close(b->cands[i].ext);
		b->cands[i].ext = NULL;
	}
	b->dev = NULL;
	if (r) {
		disk_boot_free(b);
		return r;
	}
	*out = b;
	return 0;
}

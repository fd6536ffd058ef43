/* Reading the chosen kernel and initrd out of the image, the fallbacks,
 * the command line, and what --boot-info prints. */
#include "boot/boot.h"
#include "boot/disk_boot_internal.h"
#include "vmm/log.h"

#include <stdlib.h>
#include <string.h>

/* The partition a boot loader's device name means. */
static int db_resolve_dev(struct disk_boot *b, struct db_cand *cfg, const struct bootcfg_choice *ch,
			  const char *dev, struct db_cand **out)
{
	char name[BOOTCFG_DEV_MAX];
	size_t n = strlen(dev);
	if (!n) {
		*out = cfg;
		return 0;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(dev[0] == '(' && dev[n - 1] == ')' ? n - 2 : n),
		 dev + (dev[0] == '(' && dev[n - 1] == ')'));
	int part = bootcfg_dev_partition(name, ch->devsyntax);
	if (part == -ENODEV) {
		log_error("boot: %s: the configuration names another disk (%s): minivmm reads only "
			  "the first --disk", b->dev->name, name);
		return part;
	}
	for (unsigned i = 0; part >= 0 && i < b->ncands; i++)
		if (b->cands[i].p.number == (unsigned)part) {
			*out = &b->cands[i];
			return 0;
		}
	log_error("boot: %s: the configuration names (%s), %s", b->dev->name, name,
		  part < 0 ? "which is no GRUB device name" : "a partition outside the disk's table");
	return part < 0 ? -EINVAL : -ENXIO;	/* not -ENOENT: the search stops here */
}

int db_read(struct disk_boot *b, struct db_cand *c, const char *path, uint64_t max,
	    unsigned flags, void **data, uint64_t *size, char *desc, size_t cap)
{
	char resolved[EXTFS_PATH_MAX];
	struct extfs *fs = db_ext(b, c);
	if (!fs) {
		log_error("boot: %s: %s is wanted from there, but it holds %s, which minivmm does "
			  "not read (only ext2/3/4); --kernel works", c->what, path,
			  c->fs.type ? c->fs.type : "no known file system");
		return -ENOTSUP;
	}
	int r = extfs_read(fs, path, max, data, size, resolved, sizeof(resolved));
	if (r == -ENOTDIR)
		r = -ENOENT;	/* a path component is a file: the path is not there */
	if (r == 0) {
		bool link = strcmp(path, resolved) != 0;
		if (desc)
			snprintf(desc, cap, "%s%s%s (%s, %llu bytes)", path, link ? " -> " : "",
				 link ? resolved : "", c->what, (unsigned long long)*size);
		return 0;
	}
	bool nonfile = r == -EISDIR || r == -EINVAL;	/* a directory, FIFO, device */
	enum log_level level = flags & (DB_OPTIONAL | (nonfile ? DB_SKIP_NONFILE : 0)) ?
			       LOG_WARN : LOG_ERROR;
	const char *tail = level == LOG_WARN ? ": ignored" : "";
	char big[32];
	snprintf(big, sizeof(big), max >= (1u << 20) ? "%llu MiB" : "%llu KiB",
		 (unsigned long long)(max >= (1u << 20) ? max >> 20 : max >> 10));
	if (nonfile)
		log_msg(level, "boot: %s: %s: not a regular file%s", c->what, path, tail);
	else if (r == -ELOOP)
		log_msg(level, "boot: %s: %s: too many levels of symbolic links (a loop?)%s",
			c->what, path, tail);
	else if (r == -EFBIG)
		log_msg(level, "boot: %s: %s: larger than %s%s", c->what, path, big, tail);
	else if (r != -ENOENT)
		log_msg(level, "boot: %s: %s: %s%s", c->what, path, strerror(-r), tail);
	return nonfile && (flags & DB_SKIP_NONFILE) ? -ENOENT : r;
}

static bool names_serial_console(const char *s)
{
	for (const char *p = s; (p = strstr(p, "console=")); p += 8)
		if ((p == s || p[-1] == ' ') &&
		    (!strncmp(p + 8, "ttyS", 4) || !strncmp(p + 8, "uart", 4)))
			return true;
	return false;
}

static int db_cmdline(struct disk_boot *b, const char *base)
{
	const char *extra = b->extra_cmdline ? b->extra_cmdline : "";
	bool serial = names_serial_console(base) || names_serial_console(extra);
	snprintf(b->console_note, sizeof(b->console_note), "%s", serial ?
		 "the command line names a serial console" :
		 "console=ttyS0 added (the command line names no serial console)");
	b->cmdline[0] = '\0';
	if (bootcfg_append(b->cmdline, sizeof(b->cmdline), base, false) ||
	    (!serial && bootcfg_append(b->cmdline, sizeof(b->cmdline), "console=ttyS0", true)) ||
	    bootcfg_append(b->cmdline, sizeof(b->cmdline), extra, true)) {
		log_error("boot: %s: the command line is longer than %zu bytes", b->dev->name,
			  sizeof(b->cmdline) - 1);
		return -E2BIG;
	}
	return 0;
}

/* Is the kernel one boot_load() can start? boot/'s checks say why not. */
static int db_check_kernel(struct disk_boot *b)
{
	struct boot_spec spec = { .kernel_path = b->kernel_name, .kernel_data = b->kernel,
				  .kernel_size = b->kernel_size, .cmdline = b->cmdline, .ncpus = 1 };
	/* One line: boot/'s own reason, folded into ours. */
	bool quiet = log_get_quiet();
	log_set_quiet(true);
	log_clear_last_error();
	int r = boot_check(&spec);
	log_set_quiet(quiet);
	if (r) {
		char why[512];
		snprintf(why, sizeof(why), "%s", log_last_error());
		log_error("boot: %s is not bootable on x86_64: %s", b->kernel_name,
			  strncmp(why, "boot: ", 6) ? why : why + 6);
	}
	return r;
}

static int db_append_initrd(struct disk_boot *b, const void *data, uint64_t size)
{
	/* Concatenated as GRUB does: each file starts 4-byte aligned (cpio). */
	uint64_t at = (b->initrd_size + 3) & ~3ull;
	if (size > DISK_BOOT_INITRD_MAX || at + size > DISK_BOOT_INITRD_MAX) {
		log_error("boot: %s: the initrd files add up to more than %llu MiB", b->dev->name,
			  (unsigned long long)(DISK_BOOT_INITRD_MAX >> 20));
		return -EFBIG;
	}
	void *p = realloc(b->initrd, at + size ? at + size : 1);
	if (!p)
		return -ENOMEM;
	memset((char *)p + b->initrd_size, 0, at - b->initrd_size);
	memcpy((char *)p + at, data, size);
	b->initrd = p;
	b->initrd_size = at + size;
	return 0;
}

static int db_take_initrds(struct disk_boot *b, struct db_cand *cfg,
			   const struct bootcfg_choice *ch)
{
	for (unsigned i = 0; i < ch->ninitrd; i++) {
		struct db_cand *c;
		void *data;
		uint64_t size;
		char desc[2 * BOOTCFG_PATH_MAX + 128];
		int r = db_resolve_dev(b, cfg, ch, ch->initrd[i].dev, &c);
		if (r == 0)
			r = db_read(b, c, ch->initrd[i].path, DISK_BOOT_INITRD_MAX, 0, &data, &size,
				    desc, sizeof(desc));
		if (r == -ENOENT)
			log_error("boot: %s: initrd %s named by the configuration does not exist",
				  cfg->what, ch->initrd[i].path);
		if (r)
			return r;
		r = db_append_initrd(b, data, size);
		free(data);
		if (r)
			return r;
		if (i)
			bootcfg_append(b->initrd_desc, sizeof(b->initrd_desc), " +", false);
		bootcfg_append(b->initrd_desc, sizeof(b->initrd_desc), desc, i > 0);
		snprintf(b->initrd_name, sizeof(b->initrd_name), "%s:%s", b->image,
			 ch->initrd[0].path);
	}
	return 0;
}

int db_take_choice(struct disk_boot *b, struct db_cand *cfg, const struct bootcfg_choice *ch,
		   const char *cfg_path)
{
	struct db_cand *c;
	int r = db_resolve_dev(b, cfg, ch, ch->kernel.dev, &c);
	if (r)
		return r;
	snprintf(b->config, sizeof(b->config), "%s", cfg_path);
	snprintf(b->entry, sizeof(b->entry), "'%s'", ch->title);
	snprintf(b->why, sizeof(b->why), "%s", ch->why);
	r = db_read(b, c, ch->kernel.path, DISK_BOOT_KERNEL_MAX, 0, &b->kernel, &b->kernel_size,
		    b->kernel_desc, sizeof(b->kernel_desc));
	if (r == -ENOENT)
		log_error("boot: %s: kernel %s named by %s does not exist", c->what,
			  ch->kernel.path, cfg_path);
	if (r)
		return r == -ENOENT ? -ENOEXEC : r;
	snprintf(b->kernel_name, sizeof(b->kernel_name), "%s:%s", b->image, ch->kernel.path);
	r = db_take_initrds(b, cfg, ch);
	if (r)
		return r == -ENOENT ? -ENOEXEC : r;
	r = db_cmdline(b, ch->cmdline);
	return r ? r : db_check_kernel(b);
}

/* ---- fallbacks ---- */

struct newest {
	char best[256];
};

static int newest_one(void *opaque, const char *name)
{
	struct newest *n = opaque;
	if (!strncmp(name, "vmlinuz-", 8) && name[8] && strlen(name) < sizeof(n->best) &&
	    (!n->best[0] || strverscmp(name + 8, n->best + 8) > 0))
		snprintf(n->best, sizeof(n->best), "%s", name);
	return 0;
}

static int db_fallback_pair(struct disk_boot *b, struct db_cand *c, const char *kernel,
			    const char *const *initrds, size_t n, const char *why)
{
	/* A directory or FIFO where a fallback kernel would be: the next one. */
	int r = db_read(b, c, kernel, DISK_BOOT_KERNEL_MAX, DB_SKIP_NONFILE, &b->kernel,
			&b->kernel_size, b->kernel_desc, sizeof(b->kernel_desc));
	if (r)
		return r;
	snprintf(b->config, sizeof(b->config), "none found");
	snprintf(b->entry, sizeof(b->entry), "-");
	snprintf(b->why, sizeof(b->why), "%s", why);
	snprintf(b->kernel_name, sizeof(b->kernel_name), "%s:%s", b->image, kernel);
	for (size_t i = 0; i < n; i++) {
		void *data;
		uint64_t size;
		r = db_read(b, c, initrds[i], DISK_BOOT_INITRD_MAX, DB_SKIP_NONFILE, &data, &size,
			    b->initrd_desc, sizeof(b->initrd_desc));
		if (r == -ENOENT)
			continue;
		if (r == 0) {
			r = db_append_initrd(b, data, size);
			free(data);
			snprintf(b->initrd_name, sizeof(b->initrd_name), "%s:%s", b->image, initrds[i]);
		}
		break;
	}
	/* No configuration gives a root=: the partition the kernel is on. */
	char root[64];
	if (c->p.number)
		snprintf(root, sizeof(root), "root=/dev/vda%u ro", c->p.number);
	else
		snprintf(root, sizeof(root), "root=/dev/vda ro");
	if (r == 0 || r == -ENOENT)
		r = db_cmdline(b, root);
	return r ? r : db_check_kernel(b);
}

int db_fallbacks(struct disk_boot *b, struct db_cand *c)
{
	static const char *const boot_initrd[] = { "/boot/initrd.img" };
	static const char *const root_initrd[] = { "/initrd.img" };
	int r = db_fallback_pair(b, c, "/boot/vmlinuz", boot_initrd, 1,
				 "no boot configuration: /boot/vmlinuz");
	if (r == -ENOENT)
		r = db_fallback_pair(b, c, "/vmlinuz", root_initrd, 1,
				     "no boot configuration: /vmlinuz");
	if (r != -ENOENT)
		return r;
	struct newest n = { .best = "" };
	if (extfs_list(db_ext(b, c), "/boot", newest_one, &n) || !n.best[0])
		return -ENOENT;
	const char *ver = n.best + 8;
	char k[300], i1[300], i2[300], i3[300], i4[300], i5[300], why[400];
	snprintf(k, sizeof(k), "/boot/%s", n.best);
	snprintf(i1, sizeof(i1), "/boot/initrd.img-%s", ver);
	snprintf(i2, sizeof(i2), "/boot/initrd-%s", ver);
	snprintf(i3, sizeof(i3), "/boot/initrd-%s.img", ver);
	snprintf(i4, sizeof(i4), "/boot/initramfs-%s", ver);
	snprintf(i5, sizeof(i5), "/boot/initramfs-%s.img", ver);
	const char *const initrds[] = { i1, i2, i3, i4, i5 };
	snprintf(why, sizeof(why), "no boot configuration: the newest /boot/vmlinuz-* (%s)", ver);
	return db_fallback_pair(b, c, k, initrds, 5, why);
}

/* ---- the result ---- */

void disk_boot_print(const struct disk_boot *b, FILE *out)
{
	fprintf(out, "disk: %s\n", b->image);
	fprintf(out, "partition table: %s\n", b->scheme);
	fprintf(out, "partition: %s\n", b->partition);
	fprintf(out, "configuration: %s\n", b->config);
	fprintf(out, "entry: %s\n", b->entry);
	fprintf(out, "chosen because: %s\n", b->why);
	fprintf(out, "kernel: %s\n", b->kernel_desc);
	fprintf(out, "initrd: %s\n", b->initrd_size ? b->initrd_desc : "none");
	fprintf(out, "command line: %s\n", b->cmdline);
	fprintf(out, "console: %s\n", b->console_note);
}

void disk_boot_spec(const struct disk_boot *b, struct boot_spec *spec)
{
	spec->kernel_path = b->kernel_name;
	spec->kernel_data = b->kernel;
	spec->kernel_size = b->kernel_size;
	spec->initrd_path = b->initrd_size ? b->initrd_name : NULL;
	spec->initrd_data = b->initrd_size ? b->initrd : NULL;
	spec->initrd_size = b->initrd_size;
	spec->cmdline = b->cmdline;
}

void disk_boot_free(struct disk_boot *b)
{
	if (!b)
		return;
	free(b->kernel);
	free(b->initrd);
	free(b);
}

/* Syslinux configuration files. */
#include "boot/extlinux.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XL_LABELS_MAX 64
#define XL_LINE_MAX 4200

struct xl_label {
	char name[128];
	char menu_label[128];
	char kernel[BOOTCFG_PATH_MAX];
	char initrd[BOOTCFG_PATH_MAX];
	char append[BOOTCFG_CMDLINE_MAX];
	bool has_append, menu_default;
};

struct xl {
	struct xl_label labels[XL_LABELS_MAX];
	unsigned n;
	char def[128], ontimeout[128];
	char append[BOOTCFG_CMDLINE_MAX];	/* global */
	bool in_text;				/* TEXT HELP ... ENDTEXT */
	bool full;				/* a LABEL past XL_LABELS_MAX is being skipped */
	const char *name;			/* the file, for messages */
};

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

static void xl_line(struct xl *x, char *line)
{
	line = bootcfg_trim(line);
	if (x->in_text) {
		x->in_text = strncasecmp(line, "endtext", 7) != 0;
		return;
	}
	if (!*line || *line == '#')
		return;
	char *rest = line + strcspn(line, " \t");
	if (*rest)
		*rest++ = '\0';
	rest = bootcfg_trim(rest);
	struct xl_label *l = x->n ? &x->labels[x->n - 1] : NULL;
	if (!strcasecmp(line, "label")) {
		if (x->n < XL_LABELS_MAX) {
			l = &x->labels[x->n++];
			memset(l, 0, sizeof(*l));
			copy(l->name, sizeof(l->name), rest);
		} else if (!x->full) {
			x->full = true;
			log_warn("boot: %s: more than %d labels: LABEL %s and the ones after it "
				 "ignored", x->name, XL_LABELS_MAX, rest);
		}
	} else if (!strcasecmp(line, "default")) {
		copy(x->def, sizeof(x->def), rest);
	} else if (!strcasecmp(line, "ontimeout")) {
		copy(x->ontimeout, sizeof(x->ontimeout), rest);
	} else if (!strcasecmp(line, "text") && !strncasecmp(rest, "help", 4)) {
		x->in_text = true;
	} else if (x->full) {
		/* KERNEL, APPEND, MENU ... of a skipped label: not the last kept one's. */
	} else if (!strcasecmp(line, "menu")) {
		char *sub = rest + strcspn(rest, " \t");
		if (*sub)
			*sub++ = '\0';
		if (l && !strcasecmp(rest, "default"))
			l->menu_default = true;
		else if (l && !strcasecmp(rest, "label"))
			copy(l->menu_label, sizeof(l->menu_label), bootcfg_trim(sub));
	} else if (!l) {
		if (!strcasecmp(line, "append"))
			copy(x->append, sizeof(x->append), strcmp(rest, "-") ? rest : "");
	} else if (!strcasecmp(line, "kernel") || !strcasecmp(line, "linux")) {
		copy(l->kernel, sizeof(l->kernel), rest);
	} else if (!strcasecmp(line, "initrd")) {
		copy(l->initrd, sizeof(l->initrd), rest);
	} else if (!strcasecmp(line, "append")) {
		copy(l->append, sizeof(l->append), strcmp(rest, "-") ? rest : "");
		l->has_append = true;
	}
}

static int xl_find(const struct xl *x, const char *name)
{
	for (unsigned i = 0; name[0] && i < x->n; i++)
		if (!strcmp(x->labels[i].name, name) && x->labels[i].kernel[0])
			return (int)i;
	return -1;
}

static int xl_pick(const struct xl *x, char *why, size_t cap)
{
	int i = xl_find(x, x->ontimeout);
	if (i >= 0) {
		snprintf(why, cap, "ONTIMEOUT %s", x->ontimeout);
		return i;
	}
	for (unsigned j = 0; j < x->n; j++)
		if (x->labels[j].menu_default && x->labels[j].kernel[0]) {
			snprintf(why, cap, "MENU DEFAULT (label %s)", x->labels[j].name);
			return (int)j;
		}
	if ((i = xl_find(x, x->def)) >= 0) {
		snprintf(why, cap, "DEFAULT %s", x->def);
		return i;
	}
	for (unsigned j = 0; j < x->n; j++)
		if (x->labels[j].kernel[0]) {
			snprintf(why, cap, "no DEFAULT label%s%s: the first label", x->def[0] ? " " : "",
				 x->def);
			return (int)j;
		}
	return -1;
}

/* A Syslinux path: relative ones from the configuration's directory. */
static int xl_path(struct bootcfg_file *f, const char *dir, const char *p)
{
	char full[BOOTCFG_PATH_MAX];
	int n = p[0] == '/' ? snprintf(full, sizeof(full), "%s", p) :
		snprintf(full, sizeof(full), "%s/%s", strcmp(dir, "/") ? dir : "", p);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -EINVAL;
	return bootcfg_file_set(f, "", full);
}

/* INITRD a,b or initrd=a,b in APPEND. */
static int xl_initrds(struct bootcfg_choice *o, const char *dir, const char *list)
{
	char buf[BOOTCFG_PATH_MAX];
	copy(buf, sizeof(buf), list);
	char *save, *p = strtok_r(buf, ",", &save);
	for (; p; p = strtok_r(NULL, ",", &save)) {
		if (o->ninitrd == BOOTCFG_INITRD_MAX || xl_path(&o->initrd[o->ninitrd++], dir, p))
			return -EINVAL;
	}
	return 0;
}

static int xl_fill(const struct xl *x, const struct xl_label *l, const char *dir,
		   struct bootcfg_choice *o)
{
	const char *args = l->has_append ? l->append : x->append;
	copy(o->title, sizeof(o->title), l->menu_label[0] ? l->menu_label : l->name);
	if (xl_path(&o->kernel, dir, l->kernel))
		return -EINVAL;
	int n = snprintf(o->cmdline, sizeof(o->cmdline), "BOOT_IMAGE=%s", l->kernel);
	if (n < 0 || (size_t)n >= sizeof(o->cmdline) ||
	    bootcfg_append(o->cmdline, sizeof(o->cmdline), args, true))
		return -EINVAL;
	if (l->initrd[0])
		return xl_initrds(o, dir, l->initrd);
	const char *in = strstr(args, "initrd=");
	if (in && (in == args || in[-1] == ' ')) {
		char list[BOOTCFG_PATH_MAX];
		copy(list, sizeof(list), in + 7);
		list[strcspn(list, " \t")] = '\0';
		return xl_initrds(o, dir, list);
	}
	return 0;
}

int extlinux_choose(const char *text, size_t len, const char *cfg_name, const char *cfg_dir,
		    struct bootcfg_choice *out)
{
	struct xl *x = calloc(1, sizeof(*x));
	char *line = malloc(XL_LINE_MAX);
	int r = -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->devsyntax = BOOTCFG_DEV_GRUB2;
	if (!x || !line)
		goto out;
	x->name = cfg_name;
	size_t pos = 0;
	while (bootcfg_next_line(text, len, &pos, line, XL_LINE_MAX))
		xl_line(x, line);
	int i = xl_pick(x, out->why, sizeof(out->why));
	r = -ENOENT;
	if (i < 0)
		goto out;
	r = xl_fill(x, &x->labels[i], cfg_dir, out);
	if (r)
		log_error("boot: %s: label %s: a path or the command line is too long", cfg_name,
			  x->labels[i].name);
out:
	free(line);
	free(x);
	return r;
}

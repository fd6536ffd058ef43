/* Boot Loader Spec entries. */
#include "boot/bls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLS_LINE_MAX 4200

struct bls_entry {
	const char *file;
	char id[256];		/* file name without .conf */
	char title[256], version[128], sort_key[128];
	char linux_path[BOOTCFG_PATH_MAX];
	char initrd[BOOTCFG_INITRD_MAX][BOOTCFG_PATH_MAX];
	unsigned ninitrd;
	char options[BOOTCFG_CMDLINE_MAX];
};

/* options with $name (or ${name}) replaced from grubenv. */
static void bls_expand(const char *s, const char *env, size_t envlen, char *out, size_t cap)
{
	size_t n = 0;
	while (*s && n + 1 < cap) {
		if (*s != '$') {
			out[n++] = *s++;
			continue;
		}
		bool brace = s[1] == '{';
		const char *name = s + 1 + brace;
		size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (!len || len >= 64 || (brace && name[len] != '}')) {
			out[n++] = *s++;
			continue;
		}
		char key[64], val[BOOTCFG_CMDLINE_MAX] = "";
		memcpy(key, name, len);
		key[len] = '\0';
		bootcfg_grubenv_get(env, envlen, key, val, sizeof(val));
		for (const char *v = val; *v && n + 1 < cap; v++)
			out[n++] = *v;
		s = name + len + brace;
	}
	out[n] = '\0';
}

static void bls_line(struct bls_entry *e, char *line)
{
	line = bootcfg_trim(line);
	if (!*line || *line == '#')
		return;
	char *val = line + strcspn(line, " \t");
	if (*val)
		*val++ = '\0';
	val = bootcfg_trim(val);
	if (!strcmp(line, "title")) {
		snprintf(e->title, sizeof(e->title), "%s", val);
	} else if (!strcmp(line, "version")) {
		snprintf(e->version, sizeof(e->version), "%s", val);
	} else if (!strcmp(line, "sort-key")) {
		snprintf(e->sort_key, sizeof(e->sort_key), "%s", val);
	} else if (!strcmp(line, "linux")) {
		snprintf(e->linux_path, sizeof(e->linux_path), "%s", val);
	} else if (!strcmp(line, "options")) {
		bootcfg_append(e->options, sizeof(e->options), val, true);
	} else if (!strcmp(line, "initrd")) {
		char *save, *p = strtok_r(val, " \t", &save);
		for (; p && e->ninitrd < BOOTCFG_INITRD_MAX; p = strtok_r(NULL, " \t", &save))
			snprintf(e->initrd[e->ninitrd++], BOOTCFG_PATH_MAX, "%s", p);
	}
}

static void bls_parse(const struct bls_file *f, struct bls_entry *e, char *line)
{
	size_t pos = 0, n = strlen(f->name);
	memset(e, 0, sizeof(*e));
	e->file = f->name;
	if (n > 5 && !strcmp(f->name + n - 5, ".conf"))
		n -= 5;
	snprintf(e->id, sizeof(e->id), "%.*s", (int)n, f->name);
	while (bootcfg_next_line(f->text, f->len, &pos, line, BLS_LINE_MAX))
		bls_line(e, line);
}

static int bls_cmp(const void *pa, const void *pb)
{
	const struct bls_entry *a = pa, *b = pb;
	if (a->sort_key[0] != b->sort_key[0] && (!a->sort_key[0] || !b->sort_key[0]))
		return a->sort_key[0] ? -1 : 1;
	int c = strcmp(a->sort_key, b->sort_key);
	if (c)
		return c;
	c = strverscmp(b->version[0] ? b->version : b->id, a->version[0] ? a->version : a->id);
	return c ? c : strcmp(a->file, b->file);
}

static int bls_fill(const struct bls_entry *e, const char *env, size_t envlen,
		    struct bootcfg_choice *out)
{
	snprintf(out->title, sizeof(out->title), "%s", e->title[0] ? e->title : e->id);
	if (bootcfg_file_set(&out->kernel, "", e->linux_path))
		return -EINVAL;
	for (unsigned i = 0; i < e->ninitrd; i++)
		if (bootcfg_file_set(&out->initrd[i], "", e->initrd[i]))
			return -EINVAL;
	out->ninitrd = e->ninitrd;
	char opts[BOOTCFG_CMDLINE_MAX];
	bls_expand(e->options, env, envlen, opts, sizeof(opts));
	snprintf(out->cmdline, sizeof(out->cmdline), "BOOT_IMAGE=%s", e->linux_path);
	return bootcfg_append(out->cmdline, sizeof(out->cmdline), bootcfg_trim(opts), true);
}

int bls_choose(const struct bls_file *files, unsigned n, const char *grubenv, size_t envlen,
	       struct bootcfg_choice *out)
{
	struct bls_entry *e = calloc(n < BLS_ENTRIES_MAX ? (n ? n : 1) : BLS_ENTRIES_MAX, sizeof(*e));
	char *line = malloc(BLS_LINE_MAX);
	unsigned count = 0;
	int r = -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->devsyntax = BOOTCFG_DEV_GRUB2;
	if (!e || !line)
		goto out;
	for (unsigned i = 0; i < n && count < BLS_ENTRIES_MAX; i++) {
		bls_parse(&files[i], &e[count], line);
		if (e[count].linux_path[0])
			count++;
	}
	r = -ENOENT;
	if (!count)
		goto out;
	qsort(e, count, sizeof(*e), bls_cmp);
	char saved[256];
	unsigned pick = 0;
	snprintf(out->why, sizeof(out->why), "the first of %u entries (newest version)", count);
	if (bootcfg_grubenv_get(grubenv, envlen, "saved_entry", saved, sizeof(saved)) == 0) {
		for (unsigned i = 0; i < count; i++)
			if (!strcmp(e[i].id, saved)) {
				pick = i;
				snprintf(out->why, sizeof(out->why), "grubenv saved_entry=%.200s", saved);
			}
	}
	r = bls_fill(&e[pick], grubenv, envlen, out);
out:
	free(line);
	free(e);
	return r;
}

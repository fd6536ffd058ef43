/* Boot Loader Spec entries. */
#include "boot/bls.h"
#include "vmm/log.h"

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
	const char *fault;	/* why the entry cannot be booted as written, or NULL */
};

/* options with $name (or ${name}) replaced from grubenv; -E2BIG when the
 * result does not fit in cap. */
static int bls_expand(const char *s, const char *env, size_t envlen, char *out, size_t cap)
{
	size_t n = 0;
	while (*s) {
		bool brace = s[1] == '{';
		const char *name = s + 1 + brace;
		size_t len = *s == '$' ? strspn(name, "abcdefghijklmnopqrstuvwxyz"
						"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") : 0;
		if (!len || len >= 64 || (brace && name[len] != '}')) {
			if (n + 1 >= cap)
				return -E2BIG;
			out[n++] = *s++;
			continue;
		}
		char key[64], val[BOOTCFG_CMDLINE_MAX] = "";
		memcpy(key, name, len);
		key[len] = '\0';
		bootcfg_grubenv_get(env, envlen, key, val, sizeof(val));
		size_t vlen = strlen(val);
		if (n + vlen + 1 > cap)
			return -E2BIG;
		memcpy(out + n, val, vlen);
		n += vlen;
		s = name + len + brace;
	}
	out[n] = '\0';
	return 0;
}

/* Copies val to a field of cap bytes; a value that does not fit is a fault
 * (a cut path or command line would boot something else). */
static void bls_copy(struct bls_entry *e, char *dst, size_t cap, const char *val,
		     const char *fault)
{
	if (strlen(val) >= cap && !e->fault)
		e->fault = fault;
	snprintf(dst, cap, "%s", val);
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
		bls_copy(e, e->linux_path, sizeof(e->linux_path), val,
			 "the linux path has 1024 characters or more");
	} else if (!strcmp(line, "options")) {
		if (bootcfg_append(e->options, sizeof(e->options), val, true) && !e->fault)
			e->fault = "the options lines add up to more than 4095 bytes";
	} else if (!strcmp(line, "initrd")) {
		char *save, *p = strtok_r(val, " \t", &save);
		for (; p; p = strtok_r(NULL, " \t", &save)) {
			if (e->ninitrd == BOOTCFG_INITRD_MAX) {
				e->fault = e->fault ? e->fault : "more than 8 initrd files";
				break;
			}
			bls_copy(e, e->initrd[e->ninitrd++], BOOTCFG_PATH_MAX, p,
				 "an initrd path has 1024 characters or more");
		}
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

static int bls_fill_fault(const struct bls_entry *e, const char *env, size_t envlen,
			  struct bootcfg_choice *out, const char **why)
{
	snprintf(out->title, sizeof(out->title), "%s", e->title[0] ? e->title : e->id);
	*why = e->fault;
	if (*why)
		return -EINVAL;
	*why = "the linux path is too long";
	if (bootcfg_file_set(&out->kernel, "", e->linux_path))
		return -EINVAL;
	*why = "an initrd path is too long";
	for (unsigned i = 0; i < e->ninitrd; i++)
		if (bootcfg_file_set(&out->initrd[i], "", e->initrd[i]))
			return -EINVAL;
	out->ninitrd = e->ninitrd;
	char opts[BOOTCFG_CMDLINE_MAX];
	*why = "the options with grubenv's variables expanded are longer than 4095 bytes";
	if (bls_expand(e->options, env, envlen, opts, sizeof(opts)))
		return -E2BIG;
	*why = "the command line (BOOT_IMAGE= and the options) is longer than 4095 bytes";
	int n = snprintf(out->cmdline, sizeof(out->cmdline), "BOOT_IMAGE=%s", e->linux_path);
	if (n < 0 || (size_t)n >= sizeof(out->cmdline))
		return -E2BIG;
	return bootcfg_append(out->cmdline, sizeof(out->cmdline), bootcfg_trim(opts), true);
}

static int bls_fill(const struct bls_entry *e, const char *where, const char *env,
		    size_t envlen, struct bootcfg_choice *out)
{
	const char *why;
	int r = bls_fill_fault(e, env, envlen, out, &why);
	if (r)
		log_error("boot: %s/%s: %s", where, e->file, why);
	return r;
}

int bls_choose(const struct bls_file *files, unsigned n, const char *where, const char *grubenv,
	       size_t envlen, struct bootcfg_choice *out)
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
	r = bls_fill(&e[pick], where, grubenv, envlen, out);
out:
	free(line);
	free(e);
	return r;
}

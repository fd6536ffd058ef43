/* GRUB legacy menu.lst. */
#include "boot/grub1.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G1_LINE_MAX 4200

struct g1 {
	const char *name;
	unsigned line;
	long want;		/* the default entry's index */
	long entry;		/* the entry being read, -1 before the first title */
	bool found;		/* the wanted entry has a kernel line */
	bool forced;		/* want is fixed: `default` lines are not read */
	char root[BOOTCFG_DEV_MAX];
	struct bootcfg_choice *out;
};

/* "cmd rest": splits at the first blank or '='. */
static char *g1_split(char *line, char **rest)
{
	size_t n = strcspn(line, " \t=");
	char *r = line + n;
	if (*r)
		*r++ = '\0';
	while (*r == ' ' || *r == '\t' || *r == '=')
		r++;
	*rest = r;
	return line;
}

static int g1_fail(const struct g1 *g, const char *what)
{
	log_error("boot: %s: line %u: %s", g->name, g->line, what);
	return -EINVAL;
}

static int g1_kernel(struct g1 *g, char *rest)
{
	struct bootcfg_choice *o = g->out;
	while (!strncmp(rest, "--", 2)) {	/* --type=..., --no-mem-option */
		rest += strcspn(rest, " \t");
		rest += strspn(rest, " \t");
	}
	size_t n = strcspn(rest, " \t");
	char *args = rest + n;
	if (*args)
		*args++ = '\0';
	args = bootcfg_trim(args);
	if (!*rest)
		return g1_fail(g, "kernel names no file");
	if (bootcfg_file_set(&o->kernel, g->root, rest))
		return g1_fail(g, "bad kernel path");
	if (strlen(args) >= sizeof(o->cmdline))
		return g1_fail(g, "command line too long");
	strcpy(o->cmdline, args);
	g->found = true;
	return 0;
}

static int g1_entry_cmd(struct g1 *g, const char *cmd, char *rest)
{
	struct bootcfg_choice *o = g->out;
	if (!strcmp(cmd, "root") || !strcmp(cmd, "rootnoverify")) {
		char *dev = strtok(rest, " \t");
		size_t n = dev ? strlen(dev) : 0;
		if (n < 3 || dev[0] != '(' || dev[n - 1] != ')' || n - 2 >= sizeof(g->root))
			return g1_fail(g, "root needs a device such as (hd0,0)");
		memcpy(g->root, dev + 1, n - 2);
		g->root[n - 2] = '\0';
		return 0;
	}
	if (!strcmp(cmd, "kernel"))
		return g1_kernel(g, rest);
	if (!strcmp(cmd, "initrd")) {
		char *path = strtok(rest, " \t");
		if (!path)
			return g1_fail(g, "initrd names no file");
		if (bootcfg_file_set(&o->initrd[0], g->root, path))
			return g1_fail(g, "bad initrd path");
		o->ninitrd = 1;
	}
	return 0;
}

static int g1_line(struct g1 *g, char *line)
{
	char *rest, *cmd;
	line = bootcfg_trim(line);
	if (!*line || *line == '#')
		return 0;
	cmd = g1_split(line, &rest);
	if (!strcmp(cmd, "title")) {
		if (g->found)
			return 1;	/* the wanted entry is complete */
		g->entry++;
		g->root[0] = '\0';
		if (g->entry == g->want)
			snprintf(g->out->title, sizeof(g->out->title), "%s", rest);
		return 0;
	}
	if (g->entry < 0) {
		if (!strcmp(cmd, "default") && !g->forced) {
			char *end;
			long n = strtol(rest, &end, 10);
			g->want = end != rest && n >= 0 ? n : 0;
			snprintf(g->out->why, sizeof(g->out->why), "default %s%s", rest,
				 end != rest ? "" : " (taken as 0)");
		}
		return 0;
	}
	if (g->entry != g->want)
		return 0;
	static const char *const known[] = { "root", "rootnoverify", "kernel", "initrd", "boot",
		"savedefault", "module", "modulenounzip", "chainloader", "makeactive", "uuid",
		"find", "map", "lock", "password", "quiet", "setkey" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(cmd, known[i]))
			return g1_entry_cmd(g, cmd, rest);
	log_debug("boot: %s: line %u: '%s' is no GRUB legacy command: ignored", g->name,
		  g->line, cmd);
	return 0;
}

static int g1_run(struct g1 *g, const char *text, size_t len)
{
	char *line = malloc(G1_LINE_MAX);
	size_t pos = 0;
	int r = 0;
	if (!line)
		return -ENOMEM;
	while (r == 0 && bootcfg_next_line(text, len, &pos, line, G1_LINE_MAX)) {
		g->line++;
		r = g1_line(g, line);
	}
	free(line);
	return r < 0 ? r : 0;
}

int grub1_choose(const char *text, size_t len, const char *cfg_name, struct bootcfg_choice *out)
{
	struct g1 g = { .name = cfg_name, .entry = -1, .out = out };
	memset(out, 0, sizeof(*out));
	out->devsyntax = BOOTCFG_DEV_GRUB1;
	snprintf(out->why, sizeof(out->why), "no default line: the first entry");
	int r = g1_run(&g, text, len);
	if (r == 0 && !g.found && g.want > 0) {
		/* Past the last entry: GRUB legacy boots the first. */
		char why[sizeof(out->why)];
		snprintf(why, sizeof(why), g.want <= g.entry ? "default %ld: that entry has no "
			 "kernel line, the first" : "default %ld: no such entry, the first", g.want);
		memset(out, 0, sizeof(*out));
		out->devsyntax = BOOTCFG_DEV_GRUB1;
		g = (struct g1){ .name = cfg_name, .entry = -1, .out = out, .forced = true };
		r = g1_run(&g, text, len);
		snprintf(out->why, sizeof(out->why), "%s", why);
	}
	if (r == 0 && !g.found)
		r = -ENOENT;
	return r;
}

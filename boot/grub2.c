/* The grub.cfg interpreter (see grub2.h for what it runs). Two passes, as
 * GRUB itself works: the script runs top to bottom defining the menu
 * (menuentry bodies are only scanned), then the chosen entry's body runs
 * with the variables the script left. */
#include "boot/grub2.h"
#include "boot/grub2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G2_ENTRIES_MAX 256
#define G2_DEPTH_MAX 24
#define G2_FUNCS_MAX 32
/* Commands one grub.cfg may run (or skip) in all: real ones run a few
 * hundred; nested functions calling each other several times would
 * otherwise run for ever (8 calls deep 20 levels: 8^20). */
#define G2_STEPS_MAX 100000u

enum { G2_RUN = 1, G2_DEFINE = 2 };	/* what a command list does */
enum { END_EOF, END_RBRACE, END_KW };	/* how a command list ended */

struct g2_entry {
	char title[256];
	char id[128];
	int parent;		/* -1: top level */
	bool submenu;
	size_t body;		/* offset just after '{' */
	unsigned body_line;
};

struct g2_func {
	char name[G2_NAME_MAX];
	size_t body;
	unsigned body_line;
};

struct g2 {
	struct g2_lex lx;
	struct g2_func funcs[G2_FUNCS_MAX];
	unsigned nfuncs;
	struct g2_vars vars;
	const struct grub2_env *env;
	const char *name;
	struct g2_entry entries[G2_ENTRIES_MAX];
	unsigned nentries;
	unsigned depth;
	unsigned steps;		/* commands run or skipped (G2_STEPS_MAX) */
	bool blscfg;
	bool in_entry, saw_linux;
	struct bootcfg_choice *out;
};

static int g2_list(struct g2 *g, unsigned flags, int parent, struct g2_cmd *end);

static int g2_fail(struct g2 *g, unsigned line, const char *what)
{
	log_error("boot: %s: line %u: %s", g->name, line, what);
	return -EINVAL;
}

static bool is_cmd(const struct g2_cmd *c, const char *name)
{
	return c->argc && !c->quoted[0] && strcmp(c->argv[0], name) == 0;
}

static int g2_expect_kw(struct g2 *g, int r, const struct g2_cmd *k, const char *want,
			unsigned line)
{
	char msg[96];
	if (r < 0)
		return r;
	if (r == END_KW && is_cmd(k, want))
		return 0;
	snprintf(msg, sizeof(msg), "'%s' expected (for the block opened on line %u)", want, line);
	return g2_fail(g, r == END_KW ? k->line : g->lx.line, msg);
}

static int g2_if(struct g2 *g, const struct g2_cmd *c, unsigned flags, int parent)
{
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	unsigned line = c->line;
	bool active = flags != 0, cond = active && g2_condition(c, 1), taken = cond;
	int r = g2_expect_kw(g, g2_list(g, 0, parent, k), k, "then", line);
	if (r == 0)
		r = g2_list(g, cond ? flags : 0, parent, k);
	while (r == END_KW && is_cmd(k, "elif")) {
		cond = active && !taken && g2_condition(k, 1);
		r = g2_expect_kw(g, g2_list(g, 0, parent, k), k, "then", line);
		if (r == 0)
			r = g2_list(g, cond ? flags : 0, parent, k);
		taken |= cond;
	}
	if (r == END_KW && is_cmd(k, "else"))
		r = g2_list(g, active && !taken ? flags : 0, parent, k);
	r = g2_expect_kw(g, r, k, "fi", line);
	free(k);
	return r;
}

/* A block whose '{' ended c (or comes as the next command). */
static int g2_open_block(struct g2 *g, const struct g2_cmd *c)
{
	if (c->term == G2_LBRACE)
		return 0;
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	int r = c->term == G2_SEP ? g2_read_cmd(&g->lx, k) : 0;
	if (r)
		r = g2_fail(g, g->lx.line, g->lx.err);
	else if (c->term != G2_SEP || k->argc || k->term != G2_LBRACE)
		r = g2_fail(g, c->line, "'{' expected");
	free(k);
	return r;
}

static int g2_block(struct g2 *g, const struct g2_cmd *c, unsigned flags, int parent)
{
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	int r = g2_open_block(g, c);
	if (r == 0) {
		r = g2_list(g, flags, parent, k);
		if (r >= 0 && r != END_RBRACE)
			r = g2_fail(g, c->line, "block has no closing '}'");
		else if (r >= 0)
			r = 0;
	}
	free(k);
	return r;
}

static void g2_entry_args(const struct g2_cmd *c, struct g2_entry *e)
{
	static const char *const with_value[] = { "--class", "--users", "--hotkey", "--id", "--source" };
	for (unsigned i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];
		bool valued = false;
		for (size_t j = 0; j < sizeof(with_value) / sizeof(with_value[0]); j++)
			valued |= strcmp(a, with_value[j]) == 0;
		if (valued && i + 1 < c->argc) {
			if (strcmp(a, "--id") == 0)
				snprintf(e->id, sizeof(e->id), "%s", c->argv[i + 1]);
			i++;
		} else if (strncmp(a, "--", 2) != 0 && !e->title[0]) {
			snprintf(e->title, sizeof(e->title), "%s", a);
		}
	}
}

static int g2_menuentry(struct g2 *g, const struct g2_cmd *c, unsigned flags, int parent)
{
	struct g2_entry e = { .parent = parent, .submenu = is_cmd(c, "submenu") };
	g2_entry_args(c, &e);
	int r = g2_open_block(g, c);
	if (r)
		return r;
	int idx = parent;
	if ((flags & G2_DEFINE) && g->nentries < G2_ENTRIES_MAX) {
		e.body = g->lx.pos;
		e.body_line = g->lx.line;
		idx = (int)g->nentries;
		g->entries[g->nentries++] = e;
	}
	struct g2_cmd nobrace = { .term = G2_LBRACE, .line = c->line };
	return g2_block(g, &nobrace, e.submenu ? flags & G2_DEFINE : 0, idx);
}

/* for/while/until ... do ... done: skipped. */
static int g2_loop(struct g2 *g, const struct g2_cmd *c, int parent)
{
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	int r = g2_expect_kw(g, g2_list(g, 0, parent, k), k, "do", c->line);
	if (r == 0)
		r = g2_expect_kw(g, g2_list(g, 0, parent, k), k, "done", c->line);
	free(k);
	return r;
}

static void g2_set(struct g2 *g, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[G2_NAME_MAX];
	size_t n = eq ? (size_t)(eq - arg) : 0;
	if (!eq || !g2_is_name(arg, n))
		return;
	memcpy(name, arg, n);
	name[n] = '\0';
	if (g2_var_set(&g->vars, name, eq + 1))
		log_warn("boot: %s: variable %s not set (too long, or too many variables)",
			 g->name, name);
}

static void g2_search(struct g2 *g, const struct g2_cmd *c)
{
	enum grub2_search kind = GRUB2_SEARCH_FILE;
	const char *var = NULL, *what = NULL, *cmd = c->argv[0];
	unsigned i = 1;
	if (!strcmp(cmd, "search.fs_uuid") || !strcmp(cmd, "search.fs_label") ||
	    !strcmp(cmd, "search.file")) {
		kind = !strcmp(cmd, "search.fs_uuid") ? GRUB2_SEARCH_FS_UUID :
		       !strcmp(cmd, "search.fs_label") ? GRUB2_SEARCH_LABEL : GRUB2_SEARCH_FILE;
		what = c->argc > 1 ? c->argv[1] : NULL;
		var = c->argc > 2 && strncmp(c->argv[2], "--", 2) ? c->argv[2] : "root";
		i = c->argc;
	}
	for (; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--label") || !strcmp(a, "-l"))
			kind = GRUB2_SEARCH_LABEL;
		else if (!strcmp(a, "--fs-uuid") || !strcmp(a, "-u"))
			kind = GRUB2_SEARCH_FS_UUID;
		else if (!strcmp(a, "--file") || !strcmp(a, "-f"))
			kind = GRUB2_SEARCH_FILE;
		else if (!strncmp(a, "--set=", 6))
			var = a + 6;
		else if ((!strcmp(a, "--set") || !strcmp(a, "-s")) && i + 1 < c->argc &&
			 g2_is_name(c->argv[i + 1], strlen(c->argv[i + 1])) && i + 2 < c->argc)
			var = c->argv[++i];
		else if (!strcmp(a, "--set") || !strcmp(a, "-s"))
			var = "root";
		else if (!strcmp(a, "--hint") && i + 1 < c->argc)
			i++;
		else if (a[0] != '-' && !what)
			what = a;
	}
	char dev[BOOTCFG_DEV_MAX];
	if (!what || !var || !g->env->search ||
	    g->env->search(g->env->opaque, kind, what, dev, sizeof(dev)))
		return;
	g2_var_set(&g->vars, var, dev);
}

/* Why bootcfg_file_set refused `text` (with $root as the default device). */
static int g2_bad_path(struct g2 *g, unsigned line, const char *kind, const char *root,
		       const char *text)
{
	char msg[256];
	const char *close = text[0] == '(' ? strchr(text, ')') : NULL;
	if (text[0] == '(' && !close)
		snprintf(msg, sizeof(msg), "bad %s path '%.64s': no ')' after its device", kind, text);
	else if (close && (size_t)(close - text - 1) >= BOOTCFG_DEV_MAX)
		snprintf(msg, sizeof(msg), "bad %s path: its device '(%.32s...' has %d characters "
			 "or more", kind, text + 1, BOOTCFG_DEV_MAX);
	else if (!close && root && strlen(root) >= BOOTCFG_DEV_MAX)
		snprintf(msg, sizeof(msg), "bad %s path: $root ('%.32s...') has %d characters or "
			 "more", kind, root, BOOTCFG_DEV_MAX);
	else
		snprintf(msg, sizeof(msg), "bad %s path '%.48s...': %d characters or more", kind,
			 close ? close + 1 : text, BOOTCFG_PATH_MAX - 1);
	return g2_fail(g, line, msg);
}

static int g2_linux(struct g2 *g, const struct g2_cmd *c, bool initrd)
{
	struct bootcfg_choice *o = g->out;
	const char *root = g2_var_get(&g->vars, "root");
	if (c->argc < 2)
		return g2_fail(g, c->line, initrd ? "initrd names no file" : "linux names no kernel");
	if (initrd) {
		o->ninitrd = 0;
		for (unsigned i = 1; i < c->argc; i++) {
			if (o->ninitrd == BOOTCFG_INITRD_MAX)
				return g2_fail(g, c->line, "too many initrd files");
			if (bootcfg_file_set(&o->initrd[o->ninitrd++], root, c->argv[i]))
				return g2_bad_path(g, c->line, "initrd", root, c->argv[i]);
		}
		return 0;
	}
	if (bootcfg_file_set(&o->kernel, root, c->argv[1]))
		return g2_bad_path(g, c->line, "kernel", root, c->argv[1]);
	/* GRUB's linux loader puts BOOT_IMAGE= (the path as written) first. */
	snprintf(o->cmdline, sizeof(o->cmdline), "BOOT_IMAGE=%s", c->argv[1]);
	for (unsigned i = 2; i < c->argc; i++)
		if (bootcfg_append(o->cmdline, sizeof(o->cmdline), c->argv[i], true))
			return g2_fail(g, c->line, "command line too long");
	g->saw_linux = true;
	return 0;
}

/* `function NAME { ... }`: remembered when run, its body skipped. */
static int g2_function(struct g2 *g, const struct g2_cmd *c, unsigned flags, int parent)
{
	int r = g2_open_block(g, c);
	if (r)
		return r;
	if ((flags & G2_RUN) && c->argc > 1 && g->nfuncs < G2_FUNCS_MAX &&
	    g2_is_name(c->argv[1], strlen(c->argv[1]))) {
		struct g2_func *f = &g->funcs[g->nfuncs++];
		snprintf(f->name, sizeof(f->name), "%s", c->argv[1]);
		f->body = g->lx.pos;
		f->body_line = g->lx.line;
	}
	struct g2_cmd nobrace = { .term = G2_LBRACE, .line = c->line };
	return g2_block(g, &nobrace, 0, parent);
}

/* A call of a script function: its body runs with $1.. set to the
 * arguments, then reading resumes after the call. */
static int g2_call(struct g2 *g, const struct g2_func *f, const struct g2_cmd *c, int parent)
{
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	size_t pos = g->lx.pos;
	unsigned line = g->lx.line;
	for (unsigned i = 1; i < 10; i++) {
		char n[2] = { (char)('0' + i), 0 };
		g2_var_set(&g->vars, n, i < c->argc ? c->argv[i] : "");
	}
	g->lx.pos = f->body;
	g->lx.line = f->body_line;
	int r = g2_list(g, G2_RUN, parent, k);
	free(k);
	g->lx.pos = pos;
	g->lx.line = line;
	if (r >= 0 && r != END_RBRACE)
		return g2_fail(g, f->body_line, "function has no closing '}'");
	return r < 0 ? r : 0;
}

static const struct g2_func *g2_find_func(const struct g2 *g, const char *name)
{
	for (unsigned i = 0; i < g->nfuncs; i++)
		if (strcmp(g->funcs[i].name, name) == 0)
			return &g->funcs[i];
	return NULL;
}

static int g2_exec(struct g2 *g, const struct g2_cmd *c, unsigned flags, int parent)
{
	const char *cmd = c->argv[0];
	if (++g->steps > G2_STEPS_MAX) {
		char msg[96];
		snprintf(msg, sizeof(msg), "script runs too long (more than %u commands)",
			 G2_STEPS_MAX);
		return g2_fail(g, c->line, msg);
	}
	if (is_cmd(c, "if"))
		return g2_if(g, c, flags, parent);
	if (is_cmd(c, "menuentry") || is_cmd(c, "submenu"))
		return g2_menuentry(g, c, flags, parent);
	if (is_cmd(c, "function"))
		return g2_function(g, c, flags, parent);
	if (is_cmd(c, "for") || is_cmd(c, "while") || is_cmd(c, "until"))
		return g2_loop(g, c, parent);
	if (c->term == G2_LBRACE)
		return g2_block(g, c, flags, parent);
	if (!(flags & G2_RUN))
		return 0;
	const struct g2_func *f = c->quoted[0] ? NULL : g2_find_func(g, cmd);
	if (f)
		return g2_call(g, f, c, parent);
	if (is_cmd(c, "set")) {
		for (unsigned i = 1; i < c->argc; i++)
			g2_set(g, c->argv[i]);
	} else if (c->argc == 1 && strchr(cmd, '=')) {	/* NAME=value, value maybe quoted */
		g2_set(g, cmd);
	} else if (!strncmp(cmd, "search", 6) && (!cmd[6] || cmd[6] == '.')) {
		g2_search(g, c);
	} else if (!strcmp(cmd, "blscfg")) {
		g->blscfg = true;
	} else if (g->in_entry && (!strcmp(cmd, "linux") || !strcmp(cmd, "linuxefi") ||
				   !strcmp(cmd, "linux16"))) {
		return g2_linux(g, c, false);
	} else if (g->in_entry && (!strcmp(cmd, "initrd") || !strcmp(cmd, "initrdefi") ||
				   !strcmp(cmd, "initrd16"))) {
		return g2_linux(g, c, true);
	}
	return 0;
}

static bool is_end_kw(const struct g2_cmd *c)
{
	static const char *const kw[] = { "then", "elif", "else", "fi", "do", "done" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (is_cmd(c, kw[i]))
			return true;
	return false;
}

/* Runs commands until EOF, an unmatched '}' or a keyword that ends a
 * block (left in *end for the caller). */
static int g2_list(struct g2 *g, unsigned flags, int parent, struct g2_cmd *end)
{
	if (++g->depth > G2_DEPTH_MAX) {
		g->depth--;
		return g2_fail(g, g->lx.line, "blocks nested too deeply");
	}
	int r;
	struct g2_cmd *c = malloc(sizeof(*c));
	if (!c) {
		g->depth--;
		return -ENOMEM;
	}
	for (;;) {
		if (g2_read_cmd(&g->lx, c)) {
			r = g2_fail(g, g->lx.line, g->lx.err);
			break;
		}
		if (c->argc == 0 && c->term != G2_LBRACE) {
			r = c->term == G2_RBRACE ? END_RBRACE : END_EOF;
			if (c->term == G2_SEP)
				continue;
			break;
		}
		if (c->argc && is_end_kw(c)) {
			memcpy(end, c, sizeof(*c));
			/* argv points into c->buf: re-point it into end->buf. */
			for (unsigned i = 0; i < c->argc; i++)
				end->argv[i] = end->buf + (c->argv[i] - c->buf);
			r = END_KW;
			break;
		}
		r = c->argc ? g2_exec(g, c, flags, parent) : g2_block(g, c, flags, parent);
		if (r < 0)
			break;
		if (c->argc && c->term == G2_RBRACE && !is_cmd(c, "menuentry") &&
		    !is_cmd(c, "submenu") && !is_cmd(c, "function")) {
			r = END_RBRACE;
			break;
		}
		if (c->term == G2_EOF) {
			r = END_EOF;
			break;
		}
	}
	free(c);
	g->depth--;
	return r;
}

/* ---- choosing the default entry ---- */

/* The entry of `parent` that one '>'-separated component of `default`
 * names: its position among parent's children, its --id or its title. */
static int g2_match(const struct g2 *g, int parent, const char *want)
{
	long n;
	bool numeric = g2_is_number(want, &n) && n >= 0;
	long pos = 0;
	for (unsigned i = 0; i < g->nentries; i++) {
		const struct g2_entry *e = &g->entries[i];
		if (e->parent != parent)
			continue;
		if (numeric ? pos == n : (!strcmp(e->id, want) || !strcmp(e->title, want)))
			return (int)i;
		pos++;
	}
	return -1;
}

static int g2_first_child(const struct g2 *g, int parent)
{
	for (unsigned i = 0; i < g->nentries; i++)
		if (g->entries[i].parent == parent)
			return (int)i;
	return -1;
}

/* A bootable entry (descending into submenus by their first entry). */
static int g2_leaf(const struct g2 *g, int idx)
{
	for (unsigned hops = 0; idx >= 0 && g->entries[idx].submenu && hops < G2_ENTRIES_MAX; hops++)
		idx = g2_first_child(g, idx);
	return idx;
}

static int g2_pick(struct g2 *g, char *why, size_t cap)
{
	char def[G2_VALUE_MAX];
	const char *d = g2_var_get(&g->vars, "default");
	snprintf(def, sizeof(def), "%s", d && *d ? d : "0");
	if (strcmp(def, "saved") == 0) {
		const char *s = g2_var_get(&g->vars, "saved_entry");
		snprintf(def, sizeof(def), "%s", s && *s ? s : "0");
	}
	int idx = -1, parent = -1;
	char *save, *part = strtok_r(def, ">", &save);
	while (part) {
		idx = g2_match(g, parent, part);
		if (idx < 0)
			break;
		parent = idx;
		part = strtok_r(NULL, ">", &save);
	}
	if (idx < 0) {
		snprintf(why, cap, "default '%s' names no entry: the first entry", d && *d ? d : "0");
		return g2_leaf(g, g2_first_child(g, -1));
	}
	snprintf(why, cap, "default=%s", d && *d ? d : "0 (unset)");
	return g2_leaf(g, idx);
}

static void g2_preset(struct g2 *g)
{
	/* What GRUB 2.06 for i386-pc defines before it reads grub.cfg. */
	static const char *const preset[][2] = {
		{ "feature_menuentry_id", "y" }, { "feature_default_font_path", "y" },
		{ "feature_all_video_module", "y" }, { "feature_platform_search_hint", "y" },
		{ "feature_timeout_style", "y" }, { "feature_chainloader_bpb", "y" },
		{ "feature_ntldr", "y" }, { "grub_platform", "pc" }, { "grub_cpu", "i386" },
	};
	for (size_t i = 0; i < sizeof(preset) / sizeof(preset[0]); i++)
		g2_var_set(&g->vars, preset[i][0], preset[i][1]);
	if (g->env->root) {
		char prefix[BOOTCFG_DEV_MAX + 16];
		g2_var_set(&g->vars, "root", g->env->root);
		snprintf(prefix, sizeof(prefix), "(%s)/boot/grub", g->env->root);
		g2_var_set(&g->vars, "prefix", prefix);
	}
	/* load_env's variables (saved_entry, next_entry, kernelopts, ...), in
	 * one pass over grubenv. */
	char name[G2_NAME_MAX], value[G2_VALUE_MAX];
	size_t pos = 0;
	while (bootcfg_grubenv_next(g->env->grubenv, g->env->grubenv_len, &pos, name,
				    sizeof(name), value, sizeof(value)))
		if (g2_is_name(name, strlen(name)))
			g2_var_set(&g->vars, name, value);
}

static int g2_run_entry(struct g2 *g, int idx)
{
	struct g2_cmd *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	g->lx.pos = g->entries[idx].body;
	g->lx.line = g->entries[idx].body_line;
	g->in_entry = true;
	int r = g2_list(g, G2_RUN, idx, k);
	free(k);
	if (r >= 0 && r != END_RBRACE)
		r = g2_fail(g, g->entries[idx].body_line, "menuentry has no closing '}'");
	return r < 0 ? r : 0;
}

int grub2_choose(const char *text, size_t len, const char *cfg_name, const struct grub2_env *env,
		 struct bootcfg_choice *out, struct grub2_result *res)
{
	struct g2 *g = calloc(1, sizeof(*g));
	struct g2_cmd *k = malloc(sizeof(*k));
	int r = -ENOMEM;
	memset(res, 0, sizeof(*res));
	memset(out, 0, sizeof(*out));
	if (!g || !k)
		goto out;
	*g = (struct g2){ .lx = { .s = text, .len = len, .line = 1 }, .env = env,
			  .name = cfg_name, .out = out };
	g->lx.vars = &g->vars;
	g2_preset(g);
	r = g2_list(g, G2_RUN | G2_DEFINE, -1, k);
	if (r == END_KW)
		r = g2_fail(g, k->line, "unexpected keyword outside a block");
	else if (r == END_RBRACE)
		r = g2_fail(g, g->lx.line, "'}' without a block");
	if (r < 0)
		goto out;
	res->entries = g->nentries;
	res->blscfg = g->blscfg;
	r = -ENOENT;
	int idx = g2_pick(g, out->why, sizeof(out->why));
	if (idx < 0)
		goto out;
	snprintf(out->title, sizeof(out->title), "%s", g->entries[idx].title);
	out->devsyntax = BOOTCFG_DEV_GRUB2;
	r = g2_run_entry(g, idx);
	if (r == 0 && !g->saw_linux)
		r = -ENOENT;
out:
	free(k);
	free(g);
	return r;
}
